/* zygote.c — the command loop of the sandbox's init (pid 1, see init.c): the payload identity.
 * Forks every command and reports every process it reaps: as init of the pid ns it is the
 * parent of every orphan. After "go" it makes no notified call: it talks with plain
 * read/write/recvmsg only. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

static int send_simple(int sock, uint32_t type, int a, int b)
{
    struct sbx_msg m = {0};
    memset(&m, 0, sizeof m);
    m.type = type;
    m.a = a;
    m.b = b;
    return sbx_msg_write(sock, &m);
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
    umask(022);  /* the root was built with umask 0; commands get the usual one */
    if (dup2(z->devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(127);
    syscall(SYS_close_range, 3U, ~0U, 0);
    if (chdir(c->cwd && *c->cwd ? c->cwd : "/") < 0) {
        dprintf(2, "scriptbox: cannot enter %s: %s\n", c->cwd, strerror(errno));
        _exit(127);
    }
    /* Limits bind the command, not init: our own (possibly sanitizer-instrumented) code
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

void sbx_zygote_serve(const struct sbx_plan *p, int sigfd, int devnull)
{
    struct zygote z = {.p = p, .sock = p->sock, .sigfd = sigfd, .devnull = devnull};
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
        else if (m.type == SBX_MSG_KILL && m.a > 1) { kill(-m.a, SIGKILL); kill(m.a, SIGKILL); }
        for (int i = 0; i < nfds; i++) close(fds[i]);
    }
}
