/*
 * internal.h — contracts between libsbx's own files; not part of the public API.
 *
 * seccomp.c  builds and loads the payload's filter and exports it as text.
 * notify.c   is the supervisor's per-notification work: read arguments, emit an event, answer.
 * The rest (namespaces, mounts, init/zygote, limits, the poll loop) calls these.
 */
#ifndef SCRIPTBOX_SANDBOX_INTERNAL_H
#define SCRIPTBOX_SANDBOX_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "sandbox.h"

/* Fill err (kind, errno, printf message) and return -1. */
int sbx_fail(sbx_error *err, sbx_errkind kind, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t sbx_now_ns(void);

/*
 * Load the payload filter into the calling process. The caller has already set no_new_privs
 * and dropped every capability. On success *listener_fd is the notify listener (the caller hands
 * it to the supervisor without making any notified call first). flags: SBX_TRACE_* from the
 * config. Must be async-signal-safe enough to run in a freshly forked child (it may allocate).
 * Nothing runs between loading and returning. With SBX_TRACE_ALL every later call of the caller
 * is notified (write() included), so whoever takes the listener must find its number without
 * the caller's help: it is the fd whose /proc/PID/fd link reads "anon_inode:seccomp notify".
 */
int sbx_seccomp_install(unsigned flags, int *listener_fd, sbx_error *err);

struct sbx_notifier;

/* t0_ns is the sandbox's time origin (events carry t_ns relative to it). On success the
 * notifier owns listener_fd and sbx_notifier_free closes it; on failure the caller still owns it. */
struct sbx_notifier *sbx_notifier_new(int listener_fd, unsigned flags, uint64_t t0_ns,
                                      sbx_event_fn fn, void *ctx, sbx_error *err);
/* Handle every notification that is pending now (call when the listener polls readable).
 * Returns 0, or -1 when the listener is gone or broken. Never blocks for long.
 * Opens are performed for the target by a proxy process (see notify_openproxy.c): a child of
 * the calling process, forked at the first open, killed and reaped by sbx_notifier_free (do not
 * reap unknown children with waitpid(-1)). */
int sbx_notifier_handle(struct sbx_notifier *n, sbx_error *err);
/* The listener fd, for poll(). */
int sbx_notifier_fd(const struct sbx_notifier *n);
/* The supervising thread's own identity again, and events held meanwhile delivered: before
 * anything but polling for and answering notifications (notify.c, "Kept identity"). */
void sbx_notifier_settle(struct sbx_notifier *n);
void sbx_notifier_free(struct sbx_notifier *n);

struct sbx_fnet;
/* Fake internet (fakenet.h): from now on AF_INET/AF_INET6 connects and sends find a socket of
 * fnet's on their port (made through the proxy) and carry a conn_id. The proxy is started now
 * for `target` (init, while it is still dumpable) and the DNS sockets are made; 0, or -1 when
 * that failed (they are then made at the first connect to port 53). fnet must outlive n. */
int sbx_notifier_fakenet(struct sbx_notifier *n, struct sbx_fnet *fnet, pid_t target);

/* Time acceleration (timewarp.c): 1 when this native nanosleep/clock_nanosleep call would sleep
 * longer than SBX_TIMEWARP_MIN_NS and should be answered at once (detail says what was cut);
 * 0 when it should run as asked. Reads the caller's timespec; never blocks. */
#define SBX_TIMEWARP_MIN_NS 1000000000LL
struct seccomp_data;
int sbx_timewarp_check(pid_t tid, const struct seccomp_data *d, char *detail, size_t cap);

#endif
