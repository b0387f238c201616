/* init.c — pid 1 of the sandbox, which is also the zygote (see zygote.c for its command loop).
 * Starts in the outer user ns (uid 0 there, capabilities only over the sandbox's own namespaces):
 * builds the root, then enters a nested user ns of its own, becomes the payload identity (no
 * capabilities, no_new_privs, seccomp filter) and serves commands. Being the init of its pid
 * namespace, it cannot be sent SIGKILL/SIGSTOP (or any signal it does not handle — it handles
 * none) from inside it, so the payload, which shares its kernel uid, cannot end it.
 * Runs on a raw clone() of the supervisor: single-threaded, no atfork state; never returns. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/keyctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"

#define MAX_KEEP_FDS 80

__attribute__((noreturn)) static void die(const struct sbx_plan *p, const sbx_error *e)
{
    struct sbx_msg m = {0};
    sbx_msg_from_error(&m, e);
    (void)!sbx_msg_write(p->sock, &m);  /* plain write: may run filtered */
    _exit(1);
}

static int cmp_int(const void *a, const void *b)
{
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/* Close every fd inherited from the supervisor except ours; put /dev/null on 0-2 so fds we
 * create later never land there (the caller's terminal must not reach the sandbox). */
static void close_inherited(const struct sbx_plan *p)
{
    int keep[MAX_KEEP_FDS];
    size_t n = 0;
    keep[n++] = p->sock;
    for (size_t i = 0; i < p->cfg->ntmpfs && n < MAX_KEEP_FDS; i++)
        if (p->seed_fds[i] >= 0) keep[n++] = p->seed_fds[i];
    qsort(keep, n, sizeof keep[0], cmp_int);
    unsigned lo = 0;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned)keep[i] > lo) syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
        lo = (unsigned)keep[i] + 1;
    }
    syscall(SYS_close_range, lo, ~0U, 0);
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0) continue;  /* one of ours */
        int nfd = open("/dev/null", O_RDWR);
        if (nfd >= 0 && nfd != fd) { dup2(nfd, fd); close(nfd); }
    }
}

/* Wait for GO with a plain read(): the second one arrives while the filter may notify every
 * call, and nothing but read() is made until it is there. */
static int await_go(int sock)
{
    struct sbx_msg m = {0};
    ssize_t n;
    do n = read(sock, &m, sizeof m);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof m) { errno = n == 0 ? EPIPE : EPROTO; return -1; }
    if (m.type != SBX_MSG_GO) { errno = EPROTO; return -1; }
    return 0;
}

static int become_root(const struct sbx_plan *p, sbx_error *err)
{
    /* The map only changes how ids read; our kernel ids stay the supervisor's until we set them
     * (as host root that would be host root!). */
    if (setresgid(0, 0, 0) < 0)
        return sbx_fail(err, SBX_E_USERNS, errno, "init: setresgid(0): %s", strerror(errno));
    if (p->root_mode && setgroups(0, NULL) < 0)  /* host root's groups (0!) must not stay */
        return sbx_fail(err, SBX_E_USERNS, errno, "init: setgroups: %s", strerror(errno));
    if (setresuid(0, 0, 0) < 0)
        return sbx_fail(err, SBX_E_USERNS, errno, "init: setresuid(0): %s", strerror(errno));
    return 0;
}

/* Credential changes clear the parent-death signal: set it (again) now, then make sure the
 * supervisor did not die before that (its socket end would have hung up). */
static int arm_pdeathsig(const struct sbx_plan *p, sbx_error *err)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "init: PR_SET_PDEATHSIG: %s", strerror(errno));
    struct pollfd pf = {p->sock, POLLIN, 0};
    if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR))) _exit(1);
    return 0;
}

/* Our argv area (a copy of the caller's: its program name and arguments, e.g. the package's
 * path) would be init's /proc/1/cmdline: overwrite it in place with "/sbin/init" (the
 * setproctitle trick). Hidden by hidepid anyway: defence in depth, and the host's ps shows what
 * the sandbox would. Best effort. The caller's configuration may point into that memory (a
 * tool passing argv strings as paths): called only once the last of it has been read. */
static void neutral_cmdline(void)
{
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return;
    unsigned long long start = 0, end = 0;
    /* after ") " comes field 3; arg_start and arg_end are fields 48 and 49 */
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
        field++;
        if (field == 48) start = strtoull(tok, NULL, 10);
        if (field == 49) {
            end = strtoull(tok, NULL, 10);
            break;
        }
    }
    static const char name[] = "/sbin/init";
    if (!start || end <= start || end - start < sizeof name) return;
    memset((void *)(uintptr_t)start, 0, (size_t)(end - start));
    memcpy((void *)(uintptr_t)start, name, sizeof name);
}

/* What the caller's process would otherwise hand down: its session keyring (the payload would
 * possess the caller's keys: kerberos tickets, fs keys), its session and terminal, personality
 * flags (e.g. ASLR off), the host's NIS domain name. */
static int detach_from_caller(sbx_error *err)
{
    if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS)
        return sbx_fail(err, SBX_E_SETUP, errno, "init: joining a new session keyring: %s", strerror(errno));
    if (setsid() < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "init: setsid: %s", strerror(errno));
    if (personality(PER_LINUX) < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "init: personality: %s", strerror(errno));
    if (setdomainname("(none)", 6) < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "init: setdomainname: %s", strerror(errno));
    return 0;
}

static int write_sysctl(const char *path, const char *v, sbx_error *err)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return sbx_fail(err, SBX_E_SETUP, errno, "open %s: %s", path, strerror(errno));
    ssize_t n = write(fd, v, strlen(v));
    int e = errno;
    close(fd);
    if (n < 0) return sbx_fail(err, SBX_E_SETUP, e, "write %s: %s", path, strerror(e));
    return 0;
}

static int write_at(int dirfd, const char *path, const char *v, sbx_error *err)
{
    int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return sbx_fail(err, SBX_E_USERNS, errno, "init: open %s: %s", path, strerror(errno));
    ssize_t n = write(fd, v, strlen(v));
    int e = errno;
    close(fd);
    if (n < 0) return sbx_fail(err, SBX_E_USERNS, e, "init: write %s: %s", path, strerror(e));
    return 0;
}

/* Our own nested user ns: payload uid/gid -> our (outer) 0, one line each, setgroups denied.
 * Written by ourselves through the detached procfs: /proc is read-only by now. The kernel lets a
 * process map its own euid/egid of the parent ns (and we hold CAP_SETUID/SETGID in the new ns;
 * mapping outer 0 needs CAP_SETFCAP at unshare time, which we had). */
static int map_self(const struct sbx_plan *p, int procfd, sbx_error *err)
{
    char map[64];
    if (unshare(CLONE_NEWUSER) < 0)
        return sbx_fail(err, SBX_E_USERNS, errno, "init: unshare(CLONE_NEWUSER): %s", strerror(errno));
    if (write_at(procfd, "self/setgroups", "deny", err) < 0) return -1;
    snprintf(map, sizeof map, "%u 0 1\n", p->payload_uid);
    if (write_at(procfd, "self/uid_map", map, err) < 0) return -1;
    snprintf(map, sizeof map, "%u 0 1\n", p->payload_gid);
    return write_at(procfd, "self/gid_map", map, err);
}

/* The ids already read as payload ones through the map, but the capabilities granted with the
 * new ns stay until dropped: bounding and ambient first (needs CAP_SETPCAP), then the rest. */
static int become_payload(const struct sbx_plan *p, sbx_error *err)
{
    if (sbx_caps_drop_bounding(err) < 0) return -1;
    if (setresgid(p->payload_gid, p->payload_gid, p->payload_gid) < 0 ||
        setresuid(p->payload_uid, p->payload_uid, p->payload_uid) < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "init: setresuid/gid(%u): %s", p->payload_uid, strerror(errno));
    if (sbx_caps_clear(err) < 0) return -1;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "init: no_new_privs: %s", strerror(errno));
    /* Dumpable until the supervisor has taken the listener: pidfd_getfd needs ptrace access,
     * and rootless the supervisor has no CAP_SYS_PTRACE over our memory's user ns (the host's:
     * we never exec'd). The payload does not exist yet. */
    prctl(PR_SET_DUMPABLE, 1);
    return arm_pdeathsig(p, err);
}

void sbx_init_main(const struct sbx_plan *p)
{
    sbx_error err = {0};
    /* Die with the supervisor from the very start; re-armed after every credential change. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close_inherited(p);
    if (await_go(p->sock) < 0) _exit(1);  /* supervisor gone or gave up */
    if (become_root(p, &err) < 0 || arm_pdeathsig(p, &err) < 0) die(p, &err);
    /* Not dumpable while we hold capabilities (and again once serving): the payload runs under
     * our kernel uid. */
    prctl(PR_SET_DUMPABLE, 0);
    if (detach_from_caller(&err) < 0) die(p, &err);
    umask(0);
    /* No handler for any signal, ever: pid 1 only receives, from inside its pid ns, the signals
     * it handles. SIGCHLD is blocked and read through a signalfd (blocked + SIG_DFL is not
     * "handled": the kernel still drops it for init unless blocked, and then only queues it). */
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_SETMASK, &chld, NULL);
    int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd < 0) { sbx_fail(&err, SBX_E_SETUP, errno, "init: signalfd: %s", strerror(errno)); die(p, &err); }
    if (sethostname(p->hostname, strlen(p->hostname)) < 0) {
        sbx_fail(&err, SBX_E_SETUP, errno, "init: sethostname: %s", strerror(errno));
        die(p, &err);
    }
    if (sbx_mounts_build(p, &err) < 0) die(p, &err);
    for (size_t i = 0; i < p->cfg->ntmpfs; i++)
        if (p->seed_fds[i] >= 0) close(p->seed_fds[i]);
    if (sbx_net_setup(p->cfg, &err) < 0) die(p, &err);
    /* A neutral name for pid 1 (hidden by hidepid anyway; never the caller's program name),
     * once the last of the caller's strings has been read (just above). The cmdline first:
     * whoever sees the name "init" sees "/sbin/init" as its command line too. */
    neutral_cmdline();
    (void)prctl(PR_SET_NAME, "init");
    /* The sandbox's /dev/null (0-2 were the host's, from before the pivot); before the filter:
     * not a notified open later. */
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) { sbx_fail(&err, SBX_E_SETUP, errno, "init: /dev/null: %s", strerror(errno)); die(p, &err); }
    for (int fd = 0; fd < 3; fd++) dup2(devnull, fd);
    /* No more user namespaces below ours than the one we are about to create. */
    if (write_sysctl("/proc/sys/user/max_user_namespaces", "1", &err) < 0) die(p, &err);
    int procfd = sbx_mounts_private_proc(&err);
    if (procfd < 0 || sbx_mounts_seal_proc(&err) < 0) die(p, &err);
    /* Our own /proc files (uid_map) are ours to open only while we are dumpable. */
    prctl(PR_SET_DUMPABLE, 1);
    if (map_self(p, procfd, &err) < 0 || become_payload(p, &err) < 0) die(p, &err);
    /* Announce the filter before loading it: once it is loaded every call may be notified (all
     * of them with SBX_TRACE_ALL) and nobody answers until the supervisor holds the listener, so
     * the supervisor finds it in our fd table itself. The procfd goes along (leftover count). */
    struct sbx_msg m = {.type = SBX_MSG_INSTALLING};
    if (sbx_msg_send(p->sock, &m, NULL, 0, &procfd, 1) < 0) _exit(1);
    close(procfd);
    int listener = -1;
    if (sbx_seccomp_install(p->cfg->flags, &listener, &err) < 0) die(p, &err);
    if (await_go(p->sock) < 0) _exit(1);
    if (listener >= 0) close(listener);  /* the payload must never hold it */
    /* The supervisor has taken the listener: from now on not dumpable, so the payload (same
     * kernel uid) cannot read or write our memory or forge our reports. */
    prctl(PR_SET_DUMPABLE, 0);
    sbx_zygote_serve(p, sigfd, devnull);
}
