/* main.c — scriptbox entry point: dispatch to a subcommand, print the one error line, exit. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage_print(stderr);
        return SB_EXIT_INPUT;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage_print(stdout);
        return SB_EXIT_CLEAN;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("scriptbox %s\n", SCRIPTBOX_VERSION);
        return SB_EXIT_CLEAN;
    }
    int (*run)(int, char **, struct sb_error *) = NULL;
    if (!strcmp(cmd, "analyze")) run = cmd_analyze;
    else if (!strcmp(cmd, "sandbox")) run = cmd_sandbox;
    else if (!strcmp(cmd, "rules")) run = cmd_rules;
    else if (!strcmp(cmd, "ci")) run = cmd_ci;
    else if (!strcmp(cmd, "batch")) run = cmd_batch;
    else if (!strcmp(cmd, "diff")) run = cmd_diff;
    if (!run) {
        fprintf(stderr, "scriptbox: error[usage]: unknown command '%s'; fix: see 'scriptbox --help'\n", cmd);
        return SB_EXIT_INPUT;
    }
    struct sb_error err = {0};
    int rc = run(argc - 1, argv + 1, &err);
    if (rc < 0) {
        fprintf(stderr, "scriptbox: error[%s]: %s\n", err.code ? err.code : "internal", err.msg);
        return err.exit_code ? err.exit_code : SB_EXIT_SANDBOX;
    }
    return rc;
}
