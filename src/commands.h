/*
 * commands.h — the subcommands. Each returns the process exit code (>= 0) on a completed run,
 * or -1 with *err filled; main() prints the error and exits with err->exit_code.
 */
#ifndef SCRIPTBOX_COMMANDS_H
#define SCRIPTBOX_COMMANDS_H

#include <stdio.h>

#include "error.h"

void usage_print(FILE *out);
int cmd_analyze(int argc, char **argv, struct sb_error *err);
int cmd_sandbox(int argc, char **argv, struct sb_error *err);
int cmd_rules(int argc, char **argv, struct sb_error *err);
int cmd_ci(int argc, char **argv, struct sb_error *err);
int cmd_batch(int argc, char **argv, struct sb_error *err);
int cmd_diff(int argc, char **argv, struct sb_error *err);

#endif
