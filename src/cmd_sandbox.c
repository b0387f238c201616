/* cmd_sandbox.c — `scriptbox sandbox --print-policy`: show the seccomp policy for review. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

int cmd_sandbox(int argc, char **argv, struct sb_error *err)
{
    if (argc == 2 && !strcmp(argv[1], "--print-policy")) {
        sbx_error se = {0};
        if (sbx_policy_export(stdout, &se) < 0) return sb_from_sbx(err, &se);
        return SB_EXIT_CLEAN;
    }
    return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "usage: scriptbox sandbox --print-policy");
}
