/*
 * syscalls.h — the payload's seccomp policy as data, shared by the filter builder (seccomp.c)
 * and the supervisor (notify.c), so both always agree on what a call means.
 * Private to libsbx's seccomp and notify files.
 */
#ifndef SCRIPTBOX_SANDBOX_SYSCALLS_H
#define SCRIPTBOX_SANDBOX_SYSCALLS_H

#include <stddef.h>
#include <stdint.h>

/* What the policy does with a syscall. Anything not listed gets the default: ENOSYS, silently. */
enum sbx_sys_class {
    SBX_SYS_DEFAULT = 0,  /* ENOSYS, no event (unknown, newer, and clone3 on purpose) */
    SBX_SYS_ALLOW,        /* runs; notified only with SBX_TRACE_ALL */
    SBX_SYS_OBSERVE,      /* notified; logged, then allowed */
    SBX_SYS_DENY,         /* notified; logged, answered EPERM */
    SBX_SYS_ARGS,         /* decided by one argument (struct sbx_arg_policy) */
};

/* Verdict for one concrete call. */
enum sbx_verdict { SBX_V_ENOSYS, SBX_V_ALLOW, SBX_V_OBSERVE, SBX_V_DENY };

/*
 * An argument rule: one argument, one mask, single comparisons only (libseccomp 2.5.4 has a
 * published bug with complex chains). The filter gets disjoint SCMP_CMP_MASKED_EQ rules:
 *   DENY_BITS:    deny when any listed bit is set: one rule per bit, plus allow when none is.
 *   DENY_VALUES:  deny when (arg & mask) is a listed value; allow the complement (prefix cover).
 *   ALLOW_VALUES: allow when (arg & mask) is a listed value; deny the complement (prefix cover).
 */
enum sbx_arg_kind { SBX_ARG_DENY_BITS, SBX_ARG_DENY_VALUES, SBX_ARG_ALLOW_VALUES };

#define SBX_ARG_MAX_VALUES 8

struct sbx_arg_policy {
    const char *syscall;
    unsigned arg;
    enum sbx_arg_kind kind;
    uint64_t mask;                          /* compared bits (DENY_VALUES / ALLOW_VALUES) */
    size_t nvalues;
    uint64_t values[SBX_ARG_MAX_VALUES];    /* bits (DENY_BITS) or values */
    enum sbx_verdict allowed_as;            /* ALLOW or OBSERVE for the permitted side */
};

struct sbx_policy_tables {
    const char *const *allow;   size_t nallow;
    const char *const *observe; size_t nobserve;
    const char *const *deny;    size_t ndeny;
    const struct sbx_arg_policy *args; size_t nargs;
};

/* The one policy. */
const struct sbx_policy_tables *sbx_policy_tables(void);

/* Verdict of the socket() arguments (socket is always notified: see syscalls_policy.c). */
enum sbx_verdict sbx_socket_verdict(uint64_t family, uint64_t type, uint64_t protocol);

/* Verdict of an argument rule for a concrete argument value. */
enum sbx_verdict sbx_arg_verdict(const struct sbx_arg_policy *p, uint64_t value);

/* Syscall number for a name on the build architecture, or -1 (constant table). */
long sbx_syscall_number(const char *name);

#endif
