/*
 * error.h — how scriptbox carries a failure up to the one place that prints it.
 *
 * Every fallible function in src/ returns 0 or -1 and fills a struct sb_error: the exit code the
 * run should end with, a short stable code (for JSON and scripts), errno if any, and a one-line
 * message naming the cause and, where there is one, the fix. Only main() prints it.
 */
#ifndef SCRIPTBOX_ERROR_H
#define SCRIPTBOX_ERROR_H

#include "sandbox.h"

/* Exit codes of the scriptbox command. */
enum sb_exit {
    SB_EXIT_CLEAN = 0,     /* no finding at or above --fail-on */
    SB_EXIT_FINDINGS = 1,  /* findings at or above --fail-on */
    SB_EXIT_INPUT = 2,     /* usage error, bad or hostile input, unreadable target or registry */
    SB_EXIT_SANDBOX = 3,   /* the sandbox could not be built here, or an internal error */
};

struct sb_error {
    int exit_code;       /* enum sb_exit */
    const char *code;    /* stable slug: "bad-tarball", "userns-blocked", ... */
    int sys_errno;
    char msg[640];
};

/* Fill err; the message is printf-formatted. Always returns -1 so callers can `return sb_fail(...)`. */
int sb_fail(struct sb_error *err, int exit_code, const char *code, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Prefix context to an existing message: "unpacking x.tgz: <old message>". Returns -1. */
int sb_context(struct sb_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Translate a sandbox library error into an sb_error. Returns -1. */
int sb_from_sbx(struct sb_error *err, const sbx_error *sbx);

#endif
