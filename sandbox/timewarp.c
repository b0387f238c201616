/*
 * timewarp.c — time acceleration for sleeps: code that waits minutes before acting (`sleep 600`
 * in a shell, a C or Python sleep) acts within the run.
 *
 * With SBX_TIMEWARP (cfg->flags; analyze sets it, libsbx alone does not), nanosleep and
 * clock_nanosleep, always notified (syscalls_policy.c), are judged here. A sleep that would last longer
 * than SBX_TIMEWARP_MIN_NS (relative, or TIMER_ABSTIME against the named clock now) is answered
 * at once with success: the caller sees a sleep that ran to its end (no remaining time is
 * written: on success the kernel writes none either). Shorter sleeps continue untouched.
 * The notifier never waits: the decision reads 16 bytes of the caller's memory and one clock.
 *
 * What it cannot do: the clocks themselves do not jump (the vDSO reads the host's clock), so code
 * that sleeps and then checks how much time passed sees little; node's timers sleep in
 * epoll_wait against CLOCK_MONOTONIC and are accelerated by the node preload instead
 * (src/timewarp_node.c). A caller whose memory cannot be read sleeps for real.
 */
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>

#include "decode.h"
#include "internal.h"

#ifndef TIMER_ABSTIME
#define TIMER_ABSTIME 1
#endif

static int64_t ts_ns(const struct timespec *ts)
{
    if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L) return -1;
    if (ts->tv_sec > (int64_t)(INT64_MAX / 1000000000LL) - 1) return INT64_MAX;
    return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

int sbx_timewarp_check(pid_t tid, const struct seccomp_data *d, char *detail, size_t cap)
{
    uint64_t req_addr;
    clockid_t clk = CLOCK_MONOTONIC;
    int abs = 0;
    const char *name;
    if (d->nr == SYS_nanosleep) {
        req_addr = d->args[0];
        name = "nanosleep";
    } else if (d->nr == SYS_clock_nanosleep) {
        clk = (clockid_t)d->args[0];
        abs = (d->args[1] & TIMER_ABSTIME) != 0;
        req_addr = d->args[2];
        name = "clock_nanosleep";
    } else {
        return 0;
    }
    struct timespec req = {0, 0};
    if (!req_addr || sbx_mem_read(tid, req_addr, &req, sizeof req) < 0) return 0;
    int64_t want = ts_ns(&req);
    if (want < 0) return 0;   /* EINVAL: the kernel says so */
    if (abs) {
        struct timespec now;
        if (clock_gettime(clk, &now) < 0) return 0;   /* a clock we cannot read: the kernel decides */
        int64_t n = ts_ns(&now);
        if (n < 0) return 0;
        want = want > n ? want - n : 0;
    }
    if (want <= SBX_TIMEWARP_MIN_NS) return 0;
    snprintf(detail, cap, "time accelerated: %s of %lld.%03lld s answered at once", name,
             (long long)(want / 1000000000LL), (long long)(want % 1000000000LL / 1000000LL));
    return 1;
}
