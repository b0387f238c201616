/*
 * test_policy.c — golden-by-content checks on sbx_policy_export (libseccomp's PFC text):
 * the key decisions must be there, whatever the libseccomp version's exact layout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox.h"

#define NOTIFY "action 0x7fc00000"   /* SCMP_ACT_NOTIFY as libseccomp 2.5 prints it */

static char *export_policy(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    sbx_error err = {0};
    assert_int_equal(sbx_policy_export(f, &err), 0);
    fclose(f);
    assert_non_null(buf);
    return buf;
}

/* The text of one syscall's block: from its "filter for syscall" line to the next one. */
static char *block_of(const char *pfc, const char *name)
{
    char head[96];
    snprintf(head, sizeof head, "filter for syscall \"%s\"", name);
    const char *start = strstr(pfc, head);
    if (!start) return NULL;
    const char *end = strstr(start + 1, "filter for syscall");
    if (!end) end = strstr(start, "# default action");
    if (!end) end = start + strlen(start);
    return strndup(start, (size_t)(end - start));
}

static void expect_action(const char *pfc, const char *name, const char *action)
{
    char *b = block_of(pfc, name);
    if (!b) fail_msg("%s is not in the policy", name);
    if (!strstr(b, action)) fail_msg("%s: want \"%s\" in:\n%s", name, action, b);
    free(b);
}

static void denied_calls_are_notified(void **state)
{
    (void)state;
    char *pfc = export_policy();
    static const char *const names[] = {
        "ptrace", "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "bpf",
        "perf_event_open", "userfaultfd", "io_uring_setup", "keyctl", "add_key", "kexec_load",
        "init_module", "finit_module", "open_by_handle_at", "process_vm_readv",
        "process_vm_writev", "pidfd_getfd", "fsopen", "move_mount", "open_tree",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) expect_action(pfc, names[i], NOTIFY);
    free(pfc);
}

static void observed_calls_are_notified(void **state)
{
    (void)state;
    char *pfc = export_policy();
    static const char *const names[] = {
        "execve", "execveat", "open", "openat", "openat2", "creat", "unlink", "unlinkat",
        "rename", "renameat2", "link", "symlink", "chmod", "fchmodat", "mkdir", "mkdirat",
        "socket", "connect", "bind", "listen", "sendto", "sendmsg", "sendmmsg",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) expect_action(pfc, names[i], NOTIFY);
    free(pfc);
}

static void defaults_and_everyday_calls(void **state)
{
    (void)state;
    char *pfc = export_policy();
    /* default ENOSYS; clone3 is left to it on purpose (glibc then uses clone) */
    char *tail = strstr(pfc, "# default action");
    assert_non_null(tail);
    assert_non_null(strstr(tail, "action ERRNO(38)"));
    assert_null(block_of(pfc, "clone3"));
    /* foreign ABIs go to the notifier */
    assert_non_null(strstr(pfc, "# invalid architecture action\naction 0x7fc00000"));
    static const char *const allowed[] = {"read", "write", "mmap", "futex", "close", "fstat",
                                          "rt_sigaction", "wait4", "getrandom", "pipe2"};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        expect_action(pfc, allowed[i], "action ALLOW");
    free(pfc);
}

static void argument_rules_are_single_masked_comparisons(void **state)
{
    (void)state;
    char *pfc = export_policy();
    /* clone: one rule per CLONE_NEW* bit, allowed when none is set */
    char *b = block_of(pfc, "clone");
    assert_non_null(b);
    assert_non_null(strstr(b, "if ($a0.lo32 & 0x10000000 == 268435456)\n        " NOTIFY));
    assert_non_null(strstr(b, "if ($a0.lo32 & 0x00020000 == 131072)\n        " NOTIFY));
    assert_non_null(strstr(b, "if ($a0.lo32 & 0x7e020000 == 0)\n        action ALLOW"));
    free(b);
    /* ioctl: TIOCSTI and TIOCLINUX on the low 32 bits only; high bits are never compared */
    b = block_of(pfc, "ioctl");
    assert_non_null(b);
    assert_non_null(strstr(b, "if ($a1.lo32 & 0xffffffff == 21522)\n        " NOTIFY));
    assert_non_null(strstr(b, "if ($a1.lo32 & 0xffffffff == 21532)\n        " NOTIFY));
    assert_non_null(strstr(b, "if ($a1.hi32 & 0x00000000 == 0)"));
    free(b);
    /* personality: only the query and PER_LINUX pass */
    b = block_of(pfc, "personality");
    assert_non_null(b);
    assert_non_null(strstr(b, "if ($a0.lo32 & 0xffffffff == 0)\n        action ALLOW"));
    assert_non_null(strstr(b, "if ($a0.lo32 & 0xffffffff == 4294967295)\n        action ALLOW"));
    free(b);
    /* seccomp: a filter of its own is fine, a listener of its own is not */
    b = block_of(pfc, "seccomp");
    assert_non_null(b);
    assert_non_null(strstr(b, "if ($a1.lo32 & 0x00000008 == 8)\n        " NOTIFY));
    free(b);
    /* RLIMIT_CORE (4): setrlimit refused, prlimit64 notified (notify.c decides); others run */
    b = block_of(pfc, "setrlimit");
    assert_non_null(b);
    assert_non_null(strstr(b, "if ($a0.lo32 & 0xffffffff == 4)\n        " NOTIFY));
    assert_null(strstr(b, "if ($a0.lo32 & 0xffffffff == 4)\n        action ALLOW"));
    free(b);
    b = block_of(pfc, "prlimit64");
    assert_non_null(b);
    assert_non_null(strstr(b, "if ($a1.lo32 & 0xffffffff == 4)\n        " NOTIFY));
    assert_non_null(strstr(b, "action ALLOW"));
    free(b);
    free(pfc);
}

static void syscall_names_resolve(void **state)
{
    (void)state;
    assert_string_equal(sbx_syscall_name(0), "read");
    assert_string_equal(sbx_syscall_name(59), "execve");
    assert_string_equal(sbx_syscall_name(435), "clone3");
    assert_string_equal(sbx_syscall_name(452), "fchmodat2");
    assert_null(sbx_syscall_name(-1));
    assert_null(sbx_syscall_name(100000));
    assert_ptr_equal(sbx_syscall_name(2), sbx_syscall_name(2));   /* stable strings */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(denied_calls_are_notified),
        cmocka_unit_test(observed_calls_are_notified),
        cmocka_unit_test(defaults_and_everyday_calls),
        cmocka_unit_test(argument_rules_are_single_masked_comparisons),
        cmocka_unit_test(syscall_names_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
