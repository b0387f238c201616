/* error.c — libsbx error filling and the time origin helper. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "internal.h"

int sbx_fail(sbx_error *err, sbx_errkind kind, int sys_errno, const char *fmt, ...)
{
    va_list ap;
    err->kind = kind;
    err->sys_errno = sys_errno;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

uint64_t sbx_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
