/* init.c — pid 1 of the sandbox. Outer user ns (uid 0 there, capabilities only over the
 * sandbox's own namespaces). Builds the root, forks the zygote, maps its nested user ns, relays
 * the seccomp listener to the supervisor, then only reaps and answers the supervisor.
 * Runs on a raw clone() of the supervisor: single-threaded, no atfork state; never returns. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
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
    (void)!sbx_msg_send(p->init_sock, &m, NULL, 0, NULL, 0);
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
    keep[n++] = p->init_sock;
    keep[n++] = p->zyg_sock;
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

static int expect(int sock, uint32_t type, struct sbx_msg *m)
{
    ssize_t n = sbx_msg_recv(sock, m, NULL, 0, NULL, NULL);
    if (n < 0) return -1;
    if (m->type != type) { errno = EPROTO; return -1; }
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
    struct pollfd pf = {p->init_sock, POLLIN, 0};
    if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR))) _exit(1);
    return 0;
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

/* Payload processes: every pid in our pid ns but init and the zygote. */
static int count_procs(pid_t zygote)
{
    DIR *d = opendir("/proc");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == 1 || pid == zygote) continue;
        n++;
    }
    closedir(d);
    return n;
}

static pid_t start_zygote(const struct sbx_plan *p, int *link, int *pidfd, sbx_error *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "init: socketpair: %s", strerror(errno));
    pid_t z = sbx_raw_fork(pidfd);
    if (z < 0) return sbx_fail(err, SBX_E_SETUP, errno, "init: fork zygote: %s", strerror(errno));
    if (z == 0) {
        close(sv[0]);  /* everything else inherited is closed by the zygote itself */
        sbx_zygote_main(p, sv[1]);
    }
    close(sv[1]);
    *link = sv[0];
    return z;
}

/* The nested user ns: payload uid/gid -> our 0, one line, setgroups denied. Then no more user
 * namespaces below ours: the limit in our ns becomes what is in use (1). */
static int map_zygote(const struct sbx_plan *p, pid_t z, int link, sbx_error *err)
{
    struct sbx_msg m = {0};
    if (expect(link, SBX_MSG_UNSHARED, &m) < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "init: the zygote died before its user ns existed");
    if (sbx_userns_write_maps(z, p->payload_uid, 0, p->payload_gid, 0, 1, err) < 0) return -1;
    if (write_sysctl("/proc/sys/user/max_user_namespaces", "1", err) < 0) return -1;
    if (sbx_mounts_seal_proc(err) < 0) return -1;
    memset(&m, 0, sizeof m);
    m.type = SBX_MSG_MAPPED;
    if (sbx_msg_send(link, &m, NULL, 0, NULL, 0) < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "init: telling the zygote: %s", strerror(errno));
    return 0;
}

/* The listener's number in the zygote's fd table, or -1 while it is not there yet. */
static int listener_number(pid_t z)
{
    char dir[64], target[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)z);
    DIR *d = opendir(dir);
    if (!d) return -1;
    int found = -1;
    struct dirent *de;
    while (found < 0 && (de = readdir(d))) {
        ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = 0;
        if (!strcmp(target, "anon_inode:seccomp notify")) found = atoi(de->d_name);
    }
    closedir(d);
    return found;
}

/* Wait (bounded) until the zygote's filter is loaded, then take its listener. */
static int take_listener(pid_t z, int zpidfd, sbx_error *err)
{
    for (int tries = 0; tries < 5000; tries++) {
        int num = listener_number(z);
        if (num >= 0) {
            int fd = (int)syscall(SYS_pidfd_getfd, zpidfd, num, 0);
            if (fd < 0) return sbx_fail(err, SBX_E_SETUP, errno, "init: pidfd_getfd(listener): %s", strerror(errno));
            return fd;
        }
        struct pollfd pf = {zpidfd, POLLIN, 0};
        if (poll(&pf, 1, 1) > 0) return sbx_fail(err, SBX_E_SETUP, 0, "init: the zygote died while loading its filter");
    }
    return sbx_fail(err, SBX_E_SETUP, ETIMEDOUT, "init: the zygote's seccomp listener did not appear");
}

/* The zygote announced its filter; take the listener (pidfd_getfd) and pass it on. */
static int relay_listener(const struct sbx_plan *p, pid_t z, int zpidfd, int link, sbx_error *err)
{
    struct sbx_msg m = {0};
    if (expect(link, SBX_MSG_LISTENER, &m) < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "init: the zygote died before installing its filter");
    int fd = take_listener(z, zpidfd, err);
    if (fd < 0) return -1;
    memset(&m, 0, sizeof m);
    m.type = SBX_MSG_READY;
    m.a = z;
    int rc = sbx_msg_send(p->init_sock, &m, NULL, 0, &fd, fd >= 0 ? 1 : 0);
    int e = errno;
    if (fd >= 0) close(fd);  /* only the supervisor may hold it now */
    if (rc < 0) return sbx_fail(err, SBX_E_SETUP, e, "init: sending the listener: %s", strerror(e));
    return 0;
}

__attribute__((noreturn)) static void serve(const struct sbx_plan *p, pid_t z, int sigfd)
{
    struct pollfd pf[2] = {{p->init_sock, POLLIN, 0}, {sigfd, POLLIN, 0}};
    for (;;) {
        if (poll(pf, 2, -1) < 0) { if (errno == EINTR) continue; _exit(1); }
        if (pf[1].revents) {
            struct signalfd_siginfo si;
            while (read(sigfd, &si, sizeof si) > 0) {}
            int st;
            pid_t r;
            while ((r = waitpid(-1, &st, WNOHANG)) > 0)
                if (r == z) _exit(0);  /* the zygote is gone: so is the sandbox */
        }
        if (pf[0].revents) {
            struct sbx_msg m = {0};
            if (sbx_msg_recv(p->init_sock, &m, NULL, 0, NULL, NULL) < 0) {
                if (errno == EINTR || errno == EAGAIN) continue;
                _exit(0);  /* supervisor gone */
            }
            if (m.type == SBX_MSG_COUNT) {
                m.a = count_procs(z);
                (void)!sbx_msg_send(p->init_sock, &m, NULL, 0, NULL, 0);
            }
        }
    }
}

void sbx_init_main(const struct sbx_plan *p)
{
    sbx_error err = {0};
    struct sbx_msg m = {0};
    /* Die with the supervisor from the very start; re-armed after the credential change. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close_inherited(p);
    if (expect(p->init_sock, SBX_MSG_GO, &m) < 0) _exit(1);  /* supervisor gone or gave up */
    if (become_root(p, &err) < 0 || arm_pdeathsig(p, &err) < 0) die(p, &err);
    /* Not dumpable: the payload runs under our kernel uid, yet cannot ptrace us, read our memory
     * or even see us in /proc (hidepid). */
    prctl(PR_SET_DUMPABLE, 0);
    if (detach_from_caller(&err) < 0) die(p, &err);
    umask(0);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd < 0) { sbx_fail(&err, SBX_E_SETUP, errno, "init: signalfd: %s", strerror(errno)); die(p, &err); }
    if (sethostname(p->hostname, strlen(p->hostname)) < 0) {
        sbx_fail(&err, SBX_E_SETUP, errno, "init: sethostname: %s", strerror(errno));
        die(p, &err);
    }
    if (sbx_mounts_build(p, &err) < 0) die(p, &err);
    for (size_t i = 0; i < p->cfg->ntmpfs; i++)
        if (p->seed_fds[i] >= 0) close(p->seed_fds[i]);
    if (sbx_net_lo_up(&err) < 0) die(p, &err);
    int link = -1, zpidfd = -1;
    pid_t z = start_zygote(p, &link, &zpidfd, &err);
    if (z < 0) die(p, &err);
    close(p->zyg_sock);
    if (map_zygote(p, z, link, &err) < 0 || relay_listener(p, z, zpidfd, link, &err) < 0) {
        kill(z, SIGKILL);
        die(p, &err);
    }
    close(link);
    close(zpidfd);
    serve(p, z, sigfd);
}
