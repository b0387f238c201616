/*
 * seccomp.c — build the payload's filter from the policy tables (syscalls_policy.c), load it
 * with a notify listener, and export it as text.
 *
 * Actions: allowed calls ALLOW (NOTIFY with SBX_TRACE_ALL); observed and denied calls NOTIFY
 * (notify.c answers CONTINUE or EPERM); everything else ERRNO(ENOSYS). Foreign ABIs (i386,
 * x32) take the bad-arch action NOTIFY so they are refused with EPERM and logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "syscalls.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

static int resolve(const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) nr = (int)sbx_syscall_number(name);  /* newer than libseccomp */
    return nr;
}

static int add_plain(scmp_filter_ctx ctx, const char *const *names, size_t n, uint32_t action,
                     sbx_error *err)
{
    for (size_t i = 0; i < n; i++) {
        int nr = resolve(names[i]);
        if (nr < 0) continue;   /* not on this architecture (e.g. a legacy call) */
        int rc = seccomp_rule_add(ctx, action, nr, 0);
        if (rc < 0)
            return sbx_fail(err, SBX_E_SETUP, -rc, "seccomp rule for %s: %s", names[i],
                            strerror(-rc));
    }
    return 0;
}

static int add_masked(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned arg, uint64_t mask,
                      uint64_t value)
{
    return seccomp_rule_add(ctx, action, nr, 1, SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, mask, value));
}

static int has_value(const struct sbx_arg_policy *p, uint64_t mask, uint64_t prefix)
{
    for (size_t i = 0; i < p->nvalues; i++)
        if ((p->values[i] & mask) == prefix) return 1;
    return 0;
}

/*
 * Rules for "(arg & p->mask) is not one of p->values": a prefix cover. Walking the mask's bits
 * from the top, each branch that no listed value shares becomes one MASKED_EQ rule; branches
 * that lead to a listed value are split further. The rules are disjoint by construction and
 * each is a single comparison.
 */
static int add_complement(scmp_filter_ctx ctx, uint32_t action, int nr,
                          const struct sbx_arg_policy *p, uint64_t mask, uint64_t prefix, int bit)
{
    while (bit >= 0 && !(p->mask & (1ull << bit))) bit--;
    if (!has_value(p, mask, prefix)) return add_masked(ctx, action, nr, p->arg, mask, prefix);
    if (bit < 0) return 0;  /* exactly a listed value */
    uint64_t b = 1ull << bit, m = mask | b;
    int rc = add_complement(ctx, action, nr, p, m, prefix, bit - 1);
    if (rc == 0) rc = add_complement(ctx, action, nr, p, m, prefix | b, bit - 1);
    return rc;
}

static int add_arg_rule(scmp_filter_ctx ctx, const struct sbx_arg_policy *p, uint32_t allow,
                        sbx_error *err)
{
    int nr = resolve(p->syscall), rc = 0;
    uint64_t all = 0;
    if (nr < 0) return 0;
    switch (p->kind) {
    case SBX_ARG_DENY_BITS:
        for (size_t i = 0; i < p->nvalues && rc == 0; i++) {
            rc = add_masked(ctx, SCMP_ACT_NOTIFY, nr, p->arg, p->values[i], p->values[i]);
            all |= p->values[i];
        }
        if (rc == 0) rc = add_masked(ctx, allow, nr, p->arg, all, 0);
        break;
    case SBX_ARG_DENY_VALUES:
        for (size_t i = 0; i < p->nvalues && rc == 0; i++)
            rc = add_masked(ctx, SCMP_ACT_NOTIFY, nr, p->arg, p->mask, p->values[i]);
        if (rc == 0) rc = add_complement(ctx, allow, nr, p, 0, 0, 63);
        break;
    case SBX_ARG_ALLOW_VALUES:
        for (size_t i = 0; i < p->nvalues && rc == 0; i++)
            rc = add_masked(ctx, allow, nr, p->arg, p->mask, p->values[i]);
        if (rc == 0) rc = add_complement(ctx, SCMP_ACT_NOTIFY, nr, p, 0, 0, 63);
        break;
    }
    if (rc < 0)
        return sbx_fail(err, SBX_E_SETUP, -rc, "seccomp argument rule for %s: %s", p->syscall,
                        strerror(-rc));
    return 0;
}

/* Foreign ABIs are refused through the notifier (EPERM + event); a libseccomp that refuses
 * NOTIFY as the bad-arch action gets KILL_PROCESS instead (the supervisor then sees SIGSYS). */
static int set_badarch(scmp_filter_ctx ctx, sbx_error *err)
{
    if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_NOTIFY) == 0) return 0;
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    return rc < 0 ? sbx_fail(err, SBX_E_SETUP, -rc, "seccomp bad-arch action: %s", strerror(-rc))
                  : 0;
}

static scmp_filter_ctx build_filter(unsigned flags, sbx_error *err)
{
    const struct sbx_policy_tables *t = sbx_policy_tables();
    uint32_t allow = (flags & SBX_TRACE_ALL) ? SCMP_ACT_NOTIFY : SCMP_ACT_ALLOW;
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
    if (!ctx) {
        sbx_fail(err, SBX_E_SETUP, ENOMEM, "seccomp_init failed");
        return NULL;
    }
    /* The caller already set no_new_privs; we load the program ourselves. */
    int ok = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) == 0 && set_badarch(ctx, err) == 0 &&
             add_plain(ctx, t->allow, t->nallow, allow, err) == 0 &&
             add_plain(ctx, t->observe, t->nobserve, SCMP_ACT_NOTIFY, err) == 0 &&
             add_plain(ctx, t->deny, t->ndeny, SCMP_ACT_NOTIFY, err) == 0;
    for (size_t i = 0; ok && i < t->nargs; i++) ok = add_arg_rule(ctx, &t->args[i], allow, err) == 0;
    if (!ok) {
        if (err->kind == SBX_E_NONE) sbx_fail(err, SBX_E_SETUP, 0, "seccomp filter attributes");
        seccomp_release(ctx);
        return NULL;
    }
    return ctx;
}

/* Run an export function into a memfd and return the fd rewound, or -1. */
static int export_to_memfd(scmp_filter_ctx ctx, int (*fn)(const scmp_filter_ctx, int),
                           sbx_error *err)
{
    int fd = memfd_create("sbx-seccomp", MFD_CLOEXEC);
    if (fd < 0) return sbx_fail(err, SBX_E_SETUP, errno, "memfd_create: %s", strerror(errno));
    int rc = fn(ctx, fd);
    if (rc < 0 || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return sbx_fail(err, SBX_E_SETUP, rc < 0 ? -rc : errno, "exporting the seccomp filter");
    }
    return fd;
}

static ssize_t read_all(int fd, void *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, (char *)buf + got, cap - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static int load_program(struct sock_fprog *prog, int *listener_fd, sbx_error *err)
{
    unsigned long base = SECCOMP_FILTER_FLAG_NEW_LISTENER;
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                      base | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, prog);
    if (fd < 0 && errno == EINVAL)   /* kernel older than 5.19 */
        fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, base, prog);
    if (fd < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "loading the seccomp filter: %s%s",
                        strerror(errno), errno == EACCES ? " (no_new_privs not set)" : "");
    *listener_fd = (int)fd;
    return 0;
}

/*
 * Nothing may run between loading the program and returning: with SBX_TRACE_ALL every call is
 * notified and nobody listens yet. So the program lives on the stack (no free() afterwards).
 */
int sbx_seccomp_install(unsigned flags, int *listener_fd, sbx_error *err)
{
    struct sock_filter insns[BPF_MAXINSNS];
    *listener_fd = -1;
    scmp_filter_ctx ctx = build_filter(flags, err);
    if (!ctx) return -1;
    int fd = export_to_memfd(ctx, seccomp_export_bpf, err);
    seccomp_release(ctx);
    if (fd < 0) return -1;
    struct stat st;
    ssize_t n = fstat(fd, &st) == 0 && (size_t)st.st_size <= sizeof insns
                    ? read_all(fd, insns, sizeof insns) : -1;
    close(fd);
    if (n <= 0 || (size_t)n % sizeof insns[0] != 0)
        return sbx_fail(err, SBX_E_SETUP, n < 0 ? errno : E2BIG,
                        "reading back the seccomp program (%zd bytes)", n);
    struct sock_fprog prog = {(unsigned short)((size_t)n / sizeof insns[0]), insns};
    return load_program(&prog, listener_fd, err);
}

int sbx_policy_export(FILE *out, sbx_error *err)
{
    scmp_filter_ctx ctx = build_filter(0, err);
    if (!ctx) return -1;
    int fd = export_to_memfd(ctx, seccomp_export_pfc, err);
    seccomp_release(ctx);
    if (fd < 0) return -1;
    char buf[8192];
    ssize_t n;
    int rc = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) { rc = -1; break; }
    if (n < 0 || rc < 0 || fflush(out) != 0)
        rc = sbx_fail(err, SBX_E_INTERNAL, errno, "writing the policy: %s", strerror(errno));
    close(fd);
    return rc;
}
