/* zygote.c — pid 2: the payload identity. Nested user ns (uid/gid 1000 by default), no
 * capabilities, no_new_privs, rlimits, child subreaper, seccomp filter. Forks every command
 * and reports every process it reaps. After "go" it makes no notified call: it talks with
 * plain read/write/recvmsg only. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"

struct zygote {
    const struct sbx_plan *p;
    int sock;      /* to the supervisor */
    int sigfd;
    int devnull;
    int busy;      /* we have children */
};

__attribute__((noreturn)) static void zdie(int sock, const sbx_error *e)
{
    struct sbx_msg m = {0};
    sbx_msg_from_error(&m, e);
    (void)!sbx_msg_write(sock, &m);
    _exit(1);
}

static void close_all_but(int a, int b)
{
    int lo = a < b ? a : b, hi = a < b ? b : a;
    if (lo > 3) syscall(SYS_close_range, 3U, (unsigned)lo - 1, 0);
    if (hi > lo + 1) syscall(SYS_close_range, (unsigned)lo + 1, (unsigned)hi - 1, 0);
    syscall(SYS_close_range, (unsigned)hi + 1, ~0U, 0);
}

static int send_simple(int sock, uint32_t type, int a, int b)
{
    struct sbx_msg m = {0};
    memset(&m, 0, sizeof m);
    m.type = type;
    m.a = a;
    m.b = b;
    return sbx_msg_write(sock, &m);
}

static int read_msg(int sock, uint32_t type)
{
    struct sbx_msg m = {0};
    ssize_t n;
    do n = read(sock, &m, sizeof m);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof m) { errno = n == 0 ? EPIPE : EPROTO; return -1; }
    if (m.type != type) { errno = EPROTO; return -1; }
    return 0;
}

/* Everything up to the filter; returns the listener fd (or -1 with the placeholder). */
static int become_payload(const struct sbx_plan *p, int sock, int link)
{
    sbx_error err = {0};
    /* Dumpable while init needs our /proc files (uid_map) and our fds (pidfd_getfd). */
    prctl(PR_SET_DUMPABLE, 1);
    if (unshare(CLONE_NEWUSER) < 0) {
        sbx_fail(&err, SBX_E_USERNS, errno, "zygote: unshare(CLONE_NEWUSER): %s", strerror(errno));
        zdie(sock, &err);
    }
    if (send_simple(link, SBX_MSG_UNSHARED, 0, 0) < 0 || read_msg(link, SBX_MSG_MAPPED) < 0) _exit(1);
    /* The ids already read as payload ones through the map, but the capabilities granted with the
     * new ns stay until dropped: bounding and ambient first (needs CAP_SETPCAP), then the rest. */
    if (sbx_caps_drop_bounding(&err) < 0) zdie(sock, &err);
    if (setresgid(p->payload_gid, p->payload_gid, p->payload_gid) < 0 ||
        setresuid(p->payload_uid, p->payload_uid, p->payload_uid) < 0) {
        sbx_fail(&err, SBX_E_SETUP, errno, "zygote: setresuid/gid(%u): %s", p->payload_uid, strerror(errno));
        zdie(sock, &err);
    }
    if (sbx_caps_clear(&err) < 0) zdie(sock, &err);
    prctl(PR_SET_DUMPABLE, 1);  /* credential changes reset it */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        sbx_fail(&err, SBX_E_SETUP, errno, "zygote: no_new_privs: %s", strerror(errno));
        zdie(sock, &err);
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
        sbx_fail(&err, SBX_E_SETUP, errno, "zygote: child subreaper: %s", strerror(errno));
        zdie(sock, &err);
    }
    /* Announce the filter before loading it: once it is loaded every call may be notified
     * (all of them with SBX_TRACE_ALL) and nobody answers until the supervisor holds the
     * listener, so init finds the listener in our fd table itself. */
    if (send_simple(link, SBX_MSG_LISTENER, 0, 0) < 0) _exit(1);
    int listener = -1;
    if (sbx_seccomp_install(p->cfg->flags, &listener, &err) < 0) zdie(sock, &err);
    if (read_msg(sock, SBX_MSG_GO) < 0) _exit(1);
    if (listener >= 0) close(listener);  /* the payload must never hold it */
    close(link);
    /* init has taken the listener: from now on not dumpable, so the payload (same kernel uid)
     * cannot read or write our memory or forge our reports. */
    prctl(PR_SET_DUMPABLE, 0);
    return 0;
}

/* ---- commands ---------------------------------------------------------------------------- */

struct cmd {
    const char *cwd;
    char **argv, **envp;
};

static int parse_cmd(char *buf, size_t len, struct cmd *c)
{
    uint32_t argc, envc;
    if (len < 8) return -1;
    memcpy(&argc, buf, 4);
    memcpy(&envc, buf + 4, 4);
    if (argc == 0 || argc > 65536 || envc > 65536) return -1;
    c->argv = calloc(argc + 1, sizeof *c->argv);
    c->envp = calloc(envc + 1, sizeof *c->envp);
    if (!c->argv || !c->envp) return -1;
    char *p = buf + 8, *end = buf + len;
    for (uint32_t i = 0; i < 1 + argc + envc; i++) {
        char *z = memchr(p, 0, (size_t)(end - p));
        if (!z) return -1;
        if (i == 0) c->cwd = p;
        else if (i <= argc) c->argv[i - 1] = p;
        else c->envp[i - 1 - argc] = p;
        p = z + 1;
    }
    return 0;
}

static const char *env_get(char **envp, const char *name)
{
    size_t n = strlen(name);
    for (; *envp; envp++)
        if (!strncmp(*envp, name, n) && (*envp)[n] == '=') return *envp + n + 1;
    return NULL;
}

__attribute__((noreturn)) static void exec_cmd(const struct cmd *c)
{
    const char *a0 = c->argv[0];
    int e = ENOENT;
    if (strchr(a0, '/')) {
        execve(a0, c->argv, c->envp);
        e = errno;
    } else if (*a0) {
        const char *path = env_get(c->envp, "PATH");
        if (!path) path = "/usr/local/bin:/usr/bin:/bin";
        char buf[4096];
        /* Look up with faccessat first: one execve (one exec event) per command. */
        for (const char *s = path;; ) {
            const char *colon = strchr(s, ':');
            size_t dl = colon ? (size_t)(colon - s) : strlen(s);
            if (snprintf(buf, sizeof buf, "%.*s/%s", (int)dl, dl ? s : ".", a0) < (int)sizeof buf &&
                faccessat(AT_FDCWD, buf, X_OK, AT_EACCESS) == 0) {
                struct stat st;
                if (stat(buf, &st) == 0 && S_ISREG(st.st_mode)) {
                    execve(buf, c->argv, c->envp);
                    e = errno;
                    break;
                }
            } else if (errno == EACCES) {
                e = EACCES;
            }
            if (!colon) break;
            s = colon + 1;
        }
    }
    dprintf(2, "scriptbox: cannot execute %s: %s\n", a0, strerror(e));
    _exit(127);
}

__attribute__((noreturn)) static void child(struct zygote *z, const struct cmd *c, int out, int err)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setsid();
    umask(022);  /* init builds the root with umask 0; commands get the usual one */
    if (dup2(z->devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(127);
    syscall(SYS_close_range, 3U, ~0U, 0);
    if (chdir(c->cwd && *c->cwd ? c->cwd : "/") < 0) {
        dprintf(2, "scriptbox: cannot enter %s: %s\n", c->cwd, strerror(errno));
        _exit(127);
    }
    /* Limits bind the command, not the zygote: our own (possibly sanitizer-instrumented) code
     * must not run out of address space serving later commands. */
    sbx_error lerr = {0};
    if (sbx_limits_apply(&z->p->limits, &lerr) < 0) {
        dprintf(2, "scriptbox: %s\n", lerr.msg);
        _exit(127);
    }
    /* Only now, holding nothing but 0-2: dumpable again so the supervisor can read our syscall
     * arguments (rootless) through /proc/PID/mem. execve keeps it that way. */
    prctl(PR_SET_DUMPABLE, 1);
    exec_cmd(c);
}

static void run_cmd(struct zygote *z, char *buf, size_t len, const int *fds, int nfds)
{
    struct cmd c = {0};
    if (nfds != 2 || parse_cmd(buf, len, &c) < 0) {
        send_simple(z->sock, SBX_MSG_STARTED, -EPROTO, 0);
        goto out;
    }
    pid_t pid = sbx_raw_fork(NULL);
    if (pid == 0) child(z, &c, fds[0], fds[1]);
    if (pid < 0) {
        send_simple(z->sock, SBX_MSG_STARTED, -errno, 0);
        goto out;
    }
    z->busy = 1;
    send_simple(z->sock, SBX_MSG_STARTED, pid, 0);
out:
    free(c.argv);
    free(c.envp);
}

static void reap(struct zygote *z)
{
    struct signalfd_siginfo si;
    while (read(z->sigfd, &si, sizeof si) > 0) {}
    for (;;) {
        int st;
        pid_t r = waitpid(-1, &st, WNOHANG);
        if (r > 0) { send_simple(z->sock, SBX_MSG_EXIT, r, st); continue; }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == ECHILD && z->busy) {
            z->busy = 0;
            send_simple(z->sock, SBX_MSG_IDLE, 0, 0);
        }
        break;
    }
}

void sbx_zygote_main(const struct sbx_plan *p, int link)
{
    struct zygote z = {.p = p, .sock = p->zyg_sock};
    close_all_but(link, p->zyg_sock);
    z.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);  /* before the filter: not a notified open */
    /* init's 0-2 are the host's /dev/null, from before the pivot: hold only the sandbox's. */
    for (int fd = 0; fd < 3 && z.devnull >= 0; fd++) dup2(z.devnull, fd);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    z.sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (z.devnull < 0 || z.sigfd < 0) {
        sbx_error err;
        sbx_fail(&err, SBX_E_SETUP, errno, "zygote: /dev/null or signalfd: %s", strerror(errno));
        zdie(z.sock, &err);
    }
    become_payload(p, z.sock, link);
    static char buf[SBX_MAX_CMD_BYTES];
    struct pollfd pf[2] = {{z.sock, POLLIN, 0}, {z.sigfd, POLLIN, 0}};
    for (;;) {
        if (poll(pf, 2, -1) < 0) { if (errno == EINTR) continue; _exit(1); }
        if (pf[1].revents) reap(&z);
        if (!pf[0].revents) continue;
        struct sbx_msg m = {0};
        int fds[2], nfds = 2;
        ssize_t n = sbx_msg_recv(z.sock, &m, buf, sizeof buf, fds, &nfds);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            _exit(0);  /* supervisor gone */
        }
        if (m.type == SBX_MSG_CMD) run_cmd(&z, buf, (size_t)n, fds, nfds);
        else if (m.type == SBX_MSG_KILL && m.a > 2) { kill(-m.a, SIGKILL); kill(m.a, SIGKILL); }
        for (int i = 0; i < nfds; i++) close(fds[i]);
    }
}
