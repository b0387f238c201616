/* cmd_analyze.c — placeholder; the pipeline lands with the foundation issue. */
#include "commands.h"

int cmd_analyze(int argc, char **argv, struct sb_error *err)
{
    (void)argc; (void)argv;
    return sb_fail(err, SB_EXIT_SANDBOX, "internal", 0, "analyze is not built yet");
}
