/*
 * test_notify_ns.c — the notifier and its open proxy against a sandbox-shaped target:
 * outer user+mount+pid namespaces, pivot_root into a tmpfs, a nested user namespace with uid
 * 1000, no capabilities, no_new_privs, the filter. Checks that emulated opens give exactly
 * the results the target gets natively (never more), that paths and pids are the ones seen
 * inside, and that /proc/self paths name the caller. Skips where user namespaces are blocked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

static const char *const probes[] = {
    "/etc/owned-by-init", "/proc/1/environ", "/proc/1/status", "/proc/self/status",
    "/proc/self/fd/1", "/proc/2/environ", "/usr/bin/true", "/nonexistent",
};
#define NPROBES (sizeof probes / sizeof probes[0])

static void write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)!write(fd, s, strlen(s));
        close(fd);
    }
}

static int probe(const char *path, int flags)
{
    int fd = open(path, flags);
    if (fd < 0) return -errno;
    close(fd);
    return 0;
}

/* pid 2 of the sandbox: uid 1000 in a nested user namespace, filtered. Exit code 0 when the
 * proxied opens matched the native ones. */
static int zygote(void *arg)
{
    int *sync = arg;
    char c;
    int native[NPROBES][2];
    if (read(sync[0], &c, 1) != 1) return 20;
    if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) return 21;
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    if (syscall(SYS_capset, &h, d)) return 22;
    for (size_t i = 0; i < NPROBES; i++) {
        native[i][0] = probe(probes[i], O_RDONLY);
        native[i][1] = probe(probes[i], O_WRONLY);
    }
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    sbx_error e;
    int listener;
    if (sbx_seccomp_install(0, &listener, &e)) return 23;
    /* From here every open goes through the supervisor, who found the listener itself. */
    for (size_t i = 0; i < NPROBES; i++)
        if (probe(probes[i], O_RDONLY) != native[i][0] || probe(probes[i], O_WRONLY) != native[i][1])
            return 30 + (int)i;
    if (chdir("/tmp")) return 24;
    int fd = open("made", O_WRONLY | O_CREAT | O_EXCL, 0666);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) || st.st_uid != 1000 || (st.st_mode & 0777) != 0644) return 25;
    pid_t p = fork();
    if (p == 0) {
        execl("/usr/bin/true", "true", "x", (char *)0);
        _exit(127);
    }
    int stt;
    if (waitpid(p, &stt, 0) != p || stt != 0) return 26;
    return 0;
}

static int mkdirs(const char *root)
{
    static const char *const dirs[] = {"usr", "tmp", "proc", "etc", "old"};
    char p[512];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        if (mkdir(p, 0755)) return -1;
    }
    static const char *const links[][2] = {{"usr/bin", "bin"}, {"usr/lib", "lib"}, {"usr/lib64", "lib64"}};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", root, links[i][1]);
        if (symlink(links[i][0], p)) return -1;
    }
    snprintf(p, sizeof p, "%s/tmp", root);
    chmod(p, 01777);
    snprintf(p, sizeof p, "%s/etc/owned-by-init", root);
    int fd = open(p, O_CREAT | O_WRONLY, 0600);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

/* pid 1: uid 0 of the outer user namespace; builds the root, starts the zygote. */
static int init_main(void *arg)
{
    const char *root = ((const char **)arg)[0];
    int *sync = (int *)((const char **)arg)[1];
    char c, p[512];
    static char stack[1 << 16];
    if (read(sync[0], &c, 1) != 1) return 10;
    if (setresgid(0, 0, 0) || setresuid(0, 0, 0)) return 11;
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) return 12;
    if (mount("tmpfs", root, "tmpfs", 0, "size=8m") || mkdirs(root)) return 13;
    snprintf(p, sizeof p, "%s/usr", root);
    if (mount("/usr", p, NULL, MS_BIND | MS_REC, NULL)) return 14;
    mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
    snprintf(p, sizeof p, "%s/proc", root);
    if (mount("proc", p, "proc", 0, "hidepid=invisible")) return 15;
    if (chdir(root) || syscall(SYS_pivot_root, ".", "old") || umount2("/old", MNT_DETACH) ||
        chdir("/"))
        return 16;
    int zsync[2];
    if (pipe(zsync)) return 17;
    pid_t z = clone(zygote, stack + sizeof stack, CLONE_NEWUSER | SIGCHLD, zsync);
    if (z < 0) return 18;
    snprintf(p, sizeof p, "/proc/%d/setgroups", z);
    write_file(p, "deny");
    snprintf(p, sizeof p, "/proc/%d/uid_map", z);
    write_file(p, "1000 0 1");
    snprintf(p, sizeof p, "/proc/%d/gid_map", z);
    write_file(p, "1000 0 1");
    (void)!write(zsync[1], "x", 1);
    int st;
    if (waitpid(z, &st, 0) != z) return 19;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

struct seen { int opens, self_rewritten, exec_ok, pids_ok, denied; };

static void on_event(void *ctx, const struct sbx_event *ev)
{
    struct seen *s = ctx;
    if (ev->kind == SBX_EV_DENIED) s->denied++;
    if (ev->kind == SBX_EV_OPEN) {
        s->opens++;
        if (ev->pid == 2 && ev->ppid == 1) s->pids_ok++;
        if (!strcmp(ev->path, "/proc/2/status") && ev->path2 && !strcmp(ev->path2, "/proc/self/status"))
            s->self_rewritten++;
    }
    if (ev->kind == SBX_EV_EXEC && !strcmp(ev->path, "/usr/bin/true") && ev->cwd &&
        !strcmp(ev->cwd, "/tmp") && ev->pid == 3 && ev->ppid == 2)
        s->exec_ok++;
}

/* The zygote's host pid and its listener fd, found from outside. */
static int find_listener(pid_t init, pid_t *zygote_pid)
{
    for (int t = 0; t < 5000; t++) {
        char p[128], buf[64] = {0};
        snprintf(p, sizeof p, "/proc/%d/task/%d/children", init, init);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            (void)!read(fd, buf, sizeof buf - 1);
            close(fd);
        }
        *zygote_pid = atoi(buf);
        for (int f = 0; *zygote_pid && f < 32; f++) {
            char l[64], target[64] = {0};
            snprintf(l, sizeof l, "/proc/%d/fd/%d", *zygote_pid, f);
            if (readlink(l, target, sizeof target - 1) > 0 && strstr(target, "seccomp notify")) return f;
        }
        usleep(1000);
    }
    return -1;
}

static void emulated_opens_match_native_inside_a_sandbox(void **state)
{
    (void)state;
    char *root = tu_mkdtemp();
    assert_non_null(root);
    int sync[2];
    assert_int_equal(pipe2(sync, O_CLOEXEC), 0);
    const char *args[2] = {root, (const char *)sync};
    static char stack[1 << 16];
    pid_t init = clone(init_main, stack + sizeof stack,
                       CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | SIGCHLD, args);
    if (init < 0) {
        free(root);
        skip();
    }
    char p[128], map[64];
    snprintf(map, sizeof map, "0 %d 1", getuid() == 0 ? 54321 : (int)getuid());
    snprintf(p, sizeof p, "/proc/%d/setgroups", init);
    write_file(p, "deny");
    snprintf(p, sizeof p, "/proc/%d/uid_map", init);
    write_file(p, map);
    snprintf(map, sizeof map, "0 %d 1", getuid() == 0 ? 54321 : (int)getgid());
    snprintf(p, sizeof p, "/proc/%d/gid_map", init);
    write_file(p, map);
    assert_int_equal(write(sync[1], "x", 1), 1);

    pid_t zpid = 0;
    int remote = find_listener(init, &zpid);
    int st;
    if (remote < 0) {
        kill(init, SIGKILL);
        waitpid(init, &st, 0);
        fail_msg("no listener (init status 0x%x)", st);
    }
    int pidfd = (int)syscall(SYS_pidfd_open, zpid, 0);
    int listener = (int)syscall(SYS_pidfd_getfd, pidfd, remote, 0);
    assert_true(listener >= 0);
    struct seen seen = {0};
    sbx_error err = {0};
    struct sbx_notifier *n = sbx_notifier_new(listener, 0, sbx_now_ns(), on_event, &seen, &err);
    assert_non_null(n);
    int init_fd = (int)syscall(SYS_pidfd_open, init, 0);
    for (;;) {
        struct pollfd pf[2] = {{listener, POLLIN, 0}, {init_fd, POLLIN, 0}};
        if (poll(pf, 2, 30000) <= 0) fail_msg("no progress for 30 s");
        if (pf[0].revents & POLLIN) {
            if (sbx_notifier_handle(n, &err)) {
                printf("# notifier: %s\n", err.msg);
                break;
            }
        } else if (pf[1].revents || pf[0].revents) {
            break;
        }
    }
    assert_int_equal(waitpid(init, &st, 0), init);
    sbx_notifier_free(n);
    close(listener);
    close(pidfd);
    close(init_fd);
    tu_rm_rf(root);
    free(root);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("sandbox side failed: status 0x%x", st);
    assert_int_equal(seen.denied, 0);
    assert_true(seen.opens >= (int)NPROBES * 2);
    assert_true(seen.pids_ok >= (int)NPROBES * 2);   /* pid 2, parent 1, as seen inside */
    assert_int_equal(seen.self_rewritten, 1);        /* the read probe (writing it is refused) */
    assert_int_equal(seen.exec_ok, 1);               /* path and cwd inside the sandbox */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(emulated_opens_match_native_inside_a_sandbox),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
