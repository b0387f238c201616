#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sb_fail(struct sb_error *err, int exit_code, const char *code, int sys_errno, const char *fmt, ...)
{
    va_list ap;
    err->exit_code = exit_code;
    err->code = code;
    err->sys_errno = sys_errno;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int sb_context(struct sb_error *err, const char *fmt, ...)
{
    char prefix[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* Truncation is acceptable here: the message is one line for a person. */
    size_t n = strnlen(prefix, sizeof prefix);
    if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t room = sizeof err->msg - n - 3;
    size_t m = strnlen(old, room);
    memcpy(err->msg + n + 2, old, m);
    err->msg[n + 2 + m] = 0;
    return -1;
}

int sb_from_sbx(struct sb_error *err, const sbx_error *sbx)
{
    static const char *const codes[] = {
        [SBX_E_NONE] = "internal", [SBX_E_USAGE] = "internal", [SBX_E_USERNS] = "userns-blocked",
        [SBX_E_SETUP] = "sandbox-setup", [SBX_E_EXEC] = "sandbox-exec", [SBX_E_INTERNAL] = "internal",
    };
    const char *code = (unsigned)sbx->kind < sizeof codes / sizeof *codes ? codes[sbx->kind] : "internal";
    return sb_fail(err, SB_EXIT_SANDBOX, code, sbx->sys_errno, "%s", sbx->msg);
}
