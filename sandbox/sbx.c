/* sbx.c — the supervisor: sbx_open (clone, maps, handshake, taking the listener), the shared
 * poll round, sbx_close, sbx_kill_all. Runs in the caller's process and namespaces; never enters the
 * sandbox. Every fd created here is O_CLOEXEC, and init closes whatever it inherits. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"
#include "fakenet.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define SETUP_TIMEOUT_MS 120000   /* seed copies can be large */

/* ---- sbx_kill_all registry: pidfd + 1 per open sandbox, 0 = free ------------------------- */
#define MAX_OPEN 64
static atomic_int g_open[MAX_OPEN];

static int registry_add(int pidfd)
{
    for (int i = 0; i < MAX_OPEN; i++) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&g_open[i], &expected, pidfd + 1)) return i;
    }
    return -1;  /* still dies with us (pdeathsig), just not through sbx_kill_all */
}

void sbx_kill_all(void)
{
    int saved = errno;
    for (int i = 0; i < MAX_OPEN; i++) {
        int v = atomic_load(&g_open[i]);
        if (v > 0) syscall(SYS_pidfd_send_signal, v - 1, SIGKILL, NULL, 0);
    }
    errno = saved;
}

/* ---- events ---------------------------------------------------------------------------- */

void sbx_emit(struct sbx *sb, struct sbx_event *ev)
{
    if (!sb->on_event) return;
    ev->t_ns = sbx_now_ns() - sb->t0;
    sb->on_event(sb->event_ctx, ev);
}

static void emit_exit(struct sbx *sb, int pid, int status)
{
    struct sbx_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SBX_EV_PROC_EXIT;
    ev.pid = pid;
    if (WIFEXITED(status)) ev.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) ev.term_signal = WTERMSIG(status);
    sbx_emit(sb, &ev);
}

/* ---- the poll round ----------------------------------------------------------------------- */

static int notifier_poll_fd(const struct sbx *sb)
{
    return sb->notifier && !sb->notifier_done ? sbx_notifier_fd(sb->notifier) : -1;
}

/* init is gone: note how (its wait status, without reaping it: free_sbx does). */
static void mark_dead(struct sbx *sb)
{
    sb->dead = 1;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (sb->init_status || sb->init_pidfd < 0) return;
    if (waitid((idtype_t)P_PIDFD, (id_t)sb->init_pidfd, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0 && si.si_pid)
        sb->init_status = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : (si.si_status & 0x7f);
}

static int handle_report(struct sbx *sb, struct sbx_pump *pm, sbx_error *err)
{
    struct sbx_msg m = {0};
    if (sbx_msg_recv(sb->sock, &m, NULL, 0, NULL, NULL) < 0) {
        if (errno == EAGAIN || errno == EINTR) return 0;
        mark_dead(sb);
        return sbx_fail(err, SBX_E_INTERNAL, errno, "the sandbox's init is gone");
    }
    switch (m.type) {
    case SBX_MSG_STARTED:
        sb->busy = 1;
        if (pm) pm->started_pid = m.a ? m.a : -EPROTO;
        break;
    case SBX_MSG_EXIT:
        emit_exit(sb, m.a, m.b);
        if (pm && pm->on_exit) pm->on_exit(pm->ctx, m.a, m.b);
        break;
    case SBX_MSG_IDLE:
        sb->busy = 0;
        break;
    default:
        break;
    }
    return 0;
}

void sbx_keep_draining(struct sbx *sb, int fd)
{
    if (sb->nstale == SBX_MAX_STALE) {  /* bounded: the oldest one is closed */
        close(sb->stale[0]);
        memmove(sb->stale, sb->stale + 1, (SBX_MAX_STALE - 1) * sizeof sb->stale[0]);
        sb->nstale--;
    }
    sb->stale[sb->nstale++] = fd;
}

static void drain_stale(struct sbx *sb, const struct pollfd *pf)
{
    char buf[65536];
    int k = 0;
    for (int i = 0; i < sb->nstale; i++) {
        int fd = sb->stale[i];
        if (pf[i].revents) {
            ssize_t n;
            do n = read(fd, buf, sizeof buf);
            while (n > 0 || (n < 0 && errno == EINTR));
            if (n == 0 || (n < 0 && errno != EAGAIN)) { close(fd); continue; }
        }
        sb->stale[k++] = fd;
    }
    sb->nstale = k;
}

/* Only the listener is ready (or nothing but it): the pump may answer and poll again without
 * returning, and the open identity a plain open left on may stay across that poll. */
static int only_listener(const struct pollfd *pf, int nf, int listener_at)
{
    for (int i = 0; i < nf; i++)
        if (pf[i].revents && i != listener_at) return 0;
    return listener_at >= 0 && pf[listener_at].revents == POLLIN;
}

static int ms_left(uint64_t end)
{
    uint64_t now = sbx_now_ns();
    return end > now ? (int)((end - now + 999999) / 1000000) : 0;
}

int sbx_pump(struct sbx *sb, struct sbx_pump *pm, int timeout_ms, sbx_error *err)
{
    struct pollfd pf[4 + 4 + SBX_MAX_STALE];
    int nf = 0, nfd = notifier_poll_fd(sb);
    pf[nf++] = (struct pollfd){sb->init_pidfd, POLLIN, 0};
    pf[nf++] = (struct pollfd){sb->sock, POLLIN, 0};
    if (nfd >= 0) pf[nf++] = (struct pollfd){nfd, POLLIN, 0};
    int fpos = sb->fnet ? nf : -1;
    if (sb->fnet) pf[nf++] = (struct pollfd){sbx_fnet_fd(sb->fnet), POLLIN, 0};
    int base = nf;
    for (int i = 0; pm && i < pm->nextra && i < 4; i++) pf[nf++] = pm->extra[i];
    int sbase = nf;
    for (int i = 0; i < sb->nstale; i++) pf[nf++] = (struct pollfd){sb->stale[i], POLLIN, 0};
    uint64_t end = timeout_ms > 0 ? sbx_now_ns() + (uint64_t)timeout_ms * 1000000ull : 0;
    int n, wait = timeout_ms;
    /* Runs of notifications are answered here: a notified task makes its next call soon. */
    for (;;) {
        n = poll(pf, (nfds_t)nf, wait);
        if (n <= 0 || !only_listener(pf, nf, nfd >= 0 ? 2 : -1)) break;
        sbx_error ne = {0};
        if (sbx_notifier_handle(sb->notifier, &ne) < 0) {
            sb->notifier_done = 1;
            n = 0;
            break;
        }
        if (timeout_ms == 0 || (timeout_ms > 0 && (wait = ms_left(end)) == 0)) {
            n = 0;
            break;
        }
    }
    sbx_notifier_settle(sb->notifier);   /* what follows is not answering notifications */
    if (n < 0) {
        if (errno == EINTR) return 0;
        return sbx_fail(err, SBX_E_INTERNAL, errno, "poll: %s", strerror(errno));
    }
    for (int i = 0; pm && i < pm->nextra && i < 4; i++) pm->extra[i].revents = pf[base + i].revents;
    if (n == 0) return 0;
    if (sb->nstale) drain_stale(sb, pf + sbase);
    if (nfd >= 0 && pf[2].revents) {
        sbx_error ne = {0};
        if (pf[2].revents & POLLIN) {
            if (sbx_notifier_handle(sb->notifier, &ne) < 0) sb->notifier_done = 1;
            sbx_notifier_settle(sb->notifier);
        } else {
            sb->notifier_done = 1;  /* POLLHUP: no filtered task left, stop polling it */
        }
    }
    if (fpos >= 0 && pf[fpos].revents) sbx_fnet_handle(sb->fnet);
    /* Reports before init's death: the last exits arrive just before it. */
    if (pf[1].revents & POLLIN) {
        if (handle_report(sb, pm, err) < 0) return -1;
    } else if (pf[1].revents & (POLLHUP | POLLERR)) {
        mark_dead(sb);
        return sbx_fail(err, SBX_E_INTERNAL, EPIPE, "the sandbox's init is gone");
    }
    if (pf[0].revents && !(pf[1].revents & POLLIN)) {
        mark_dead(sb);
        return sbx_fail(err, SBX_E_INTERNAL, ECHILD, "the sandbox's init died");
    }
    return 0;
}

/* ---- sbx_open -------------------------------------------------------------------------- */

static int check_path(const char *what, const char *p, sbx_error *err)
{
    if (!p || p[0] != '/' || strlen(p) >= PATH_MAX || strstr(p, "/../") || strstr(p, "/./"))
        return sbx_fail(err, SBX_E_USAGE, EINVAL, "%s %s: must be an absolute, normalized path", what,
                        p ? p : "(null)");
    size_t l = strlen(p);
    if (l >= 3 && !strcmp(p + l - 3, "/..")) return sbx_fail(err, SBX_E_USAGE, EINVAL, "%s %s: '..'", what, p);
    return 0;
}

static int check_config(const struct sbx_config *cfg, sbx_error *err)
{
    if (!cfg) return sbx_fail(err, SBX_E_USAGE, EINVAL, "no configuration");
    if (cfg->hostname && (strlen(cfg->hostname) == 0 || strlen(cfg->hostname) > 64))
        return sbx_fail(err, SBX_E_USAGE, EINVAL, "hostname must be 1..64 characters");
    if (cfg->ntmpfs > 64 || cfg->nbinds > 64)
        return sbx_fail(err, SBX_E_USAGE, E2BIG, "at most 64 tmpfs areas and 64 binds");
    if ((cfg->ntmpfs && !cfg->tmpfs) || (cfg->nbinds && !cfg->binds) || (cfg->nfiles && !cfg->files))
        return sbx_fail(err, SBX_E_USAGE, EINVAL, "a count is set without its array");
    for (size_t i = 0; i < cfg->ntmpfs; i++)
        if (check_path("tmpfs", cfg->tmpfs[i].sandbox_path, err) < 0) return -1;
    for (size_t i = 0; i < cfg->nbinds; i++)
        if (check_path("bind", cfg->binds[i].sandbox_path, err) < 0 ||
            !cfg->binds[i].host_path)
            return err->kind ? -1 : sbx_fail(err, SBX_E_USAGE, EINVAL, "bind without a host path");
    for (size_t i = 0; i < cfg->nfiles; i++)
        if (check_path("file", cfg->files[i].sandbox_path, err) < 0) return -1;
    return 0;
}

static int open_seeds(const struct sbx_config *cfg, uid_t uid, gid_t gid, int *fds, sbx_error *err)
{
    for (size_t i = 0; i < cfg->ntmpfs; i++) fds[i] = -1;
    for (size_t i = 0; i < cfg->ntmpfs; i++) {
        const char *s = cfg->tmpfs[i].seed;
        if (!s) continue;
        fds[i] = open(s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fds[i] < 0)
            return sbx_fail(err, SBX_E_USAGE, errno, "seed folder %s: %s", s, strerror(errno));
        if (sbx_userns_check_readable(fds[i], s, uid, gid, err) < 0) return -1;
    }
    return 0;
}

/* Wait until init announces its filter (INSTALLING, with the private procfs fd) or fails. */
static int await_installing(struct sbx *sb, sbx_error *err)
{
    uint64_t deadline = sbx_now_ns() + (uint64_t)SETUP_TIMEOUT_MS * 1000000ull;
    for (;;) {
        struct pollfd pf[2] = {{sb->sock, POLLIN, 0}, {sb->init_pidfd, POLLIN, 0}};
        uint64_t now = sbx_now_ns();
        if (now >= deadline) return sbx_fail(err, SBX_E_SETUP, ETIMEDOUT, "sandbox setup timed out");
        int n = poll(pf, 2, (int)((deadline - now) / 1000000ull) + 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sbx_fail(err, SBX_E_INTERNAL, errno, "poll: %s", strerror(errno));
        if (pf[0].revents & POLLIN) {
            struct sbx_msg m = {0};
            int fds[1], nfds = 1;
            if (sbx_msg_recv(sb->sock, &m, NULL, 0, fds, &nfds) < 0)
                return sbx_fail(err, SBX_E_SETUP, errno, "sandbox init died during setup");
            if (m.type == SBX_MSG_ERROR) {
                for (int i = 0; i < nfds; i++) close(fds[i]);
                return sbx_fail(err, (sbx_errkind)m.kind, m.sys_errno, "%s", m.text);
            }
            if (m.type == SBX_MSG_INSTALLING) {
                sb->procfd = nfds ? fds[0] : -1;
                return 0;
            }
            for (int i = 0; i < nfds; i++) close(fds[i]);
        } else if (pf[0].revents || pf[1].revents) {
            return sbx_fail(err, SBX_E_SETUP, EPIPE, "sandbox init died during setup");
        }
    }
}

/* The listener's number in init's fd table (host /proc), or -1 while it is not there yet. */
static int listener_number(pid_t pid)
{
    char dir[64], target[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
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

/* init is loading its filter: wait (bounded) for the listener to appear in its fd table and take
 * it (pidfd_getfd). Fails closed: no listener, no sandbox. With SBX_TRACE_ALL init's next calls
 * wait for us; it asks nothing before GO. */
static int take_listener(struct sbx *sb, sbx_error *err)
{
    for (int tries = 0; tries < 5000; tries++) {
        int num = listener_number(sb->init_pid);
        if (num >= 0) {
            int fd = (int)syscall(SYS_pidfd_getfd, sb->init_pidfd, num, 0);
            if (fd < 0)
                return sbx_fail(err, SBX_E_SETUP, errno, "taking the sandbox's seccomp listener (pidfd_getfd): %s",
                                strerror(errno));
            return fd;
        }
        struct pollfd pf[2] = {{sb->sock, POLLIN, 0}, {sb->init_pidfd, POLLIN, 0}};
        if (poll(pf, 2, 1) > 0) {
            struct sbx_msg m = {0};
            if ((pf[0].revents & POLLIN) && sbx_msg_recv(sb->sock, &m, NULL, 0, NULL, NULL) >= 0 &&
                m.type == SBX_MSG_ERROR)
                return sbx_fail(err, (sbx_errkind)m.kind, m.sys_errno, "%s", m.text);
            return sbx_fail(err, SBX_E_SETUP, EPIPE, "sandbox init died while loading its filter");
        }
    }
    return sbx_fail(err, SBX_E_SETUP, ETIMEDOUT, "the sandbox's seccomp listener did not appear");
}

static void free_sbx(struct sbx *sb)
{
    if (!sb) return;
    if (sb->slot >= 0) atomic_store(&g_open[sb->slot], 0);
    if (sb->notifier) sbx_notifier_free(sb->notifier);
    sbx_fnet_free(sb->fnet);
    if (sb->init_pidfd >= 0) {
        syscall(SYS_pidfd_send_signal, sb->init_pidfd, SIGKILL, NULL, 0);
        siginfo_t si;
        while (waitid((idtype_t)P_PIDFD, (id_t)sb->init_pidfd, &si, WEXITED | __WALL) < 0 && errno == EINTR) {}
        close(sb->init_pidfd);
    }
    for (int i = 0; i < sb->nstale; i++) close(sb->stale[i]);
    if (sb->sock >= 0) close(sb->sock);
    if (sb->procfd >= 0) close(sb->procfd);
    free(sb);
}

static int start_init(struct sbx *sb, struct sbx_plan *plan, sbx_error *err)
{
    int isv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, isv) < 0)
        return sbx_fail(err, SBX_E_INTERNAL, errno, "socketpair: %s", strerror(errno));
    sb->sock = isv[0];
    plan->sock = isv[1];
    /* Raw clone, no CLONE_VM: the child gets a copy of our memory and stack (like fork) and never
     * returns from sbx_init_main. Exit signal 0: the caller's SIGCHLD handling never sees init. */
    int pidfd = -1;
    const unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
                                CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_PIDFD;
    /* init inherits our dumpability and must start dumpable (rootless, its /proc files, uid_map
     * among them, are ours to write only then); we, the supervisor, are not dumpable otherwise
     * (sandbox.h), so only for the clone itself. */
    (void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    long pid = syscall(SYS_clone, flags, NULL, &pidfd, NULL, 0UL);
    if (pid == 0) {
        close(isv[0]);
        sbx_init_main(plan);
    }
    int e = errno;
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    close(isv[1]);
    if (pid < 0) {
        sbx_fail(err, SBX_E_USERNS, e, "clone (new namespaces): %s", strerror(e));
        sbx_userns_diagnose(err);
        return -1;
    }
    sb->init_pid = (pid_t)pid;
    sb->init_pidfd = pidfd;
    sb->slot = registry_add(pidfd);
    return 0;
}

int sbx_open(const struct sbx_config *cfg, struct sbx **out, sbx_error *err)
{
    *out = NULL;
    if (check_config(cfg, err) < 0) return -1;
    struct sbx *sb = calloc(1, sizeof *sb);
    if (!sb) return sbx_fail(err, SBX_E_INTERNAL, ENOMEM, "out of memory");
    sb->t0 = sbx_now_ns();
    sb->init_pidfd = sb->sock = sb->procfd = -1;
    sb->slot = -1;
    sb->on_event = cfg->on_event;
    sb->event_ctx = cfg->event_ctx;
    struct sbx_plan plan = {.cfg = cfg, .hostname = cfg->hostname ? cfg->hostname : SBX_DEFAULT_HOSTNAME,
                            .payload_uid = cfg->payload_uid ? cfg->payload_uid : SBX_DEFAULT_PAYLOAD_ID,
                            .payload_gid = cfg->payload_gid ? cfg->payload_gid : SBX_DEFAULT_PAYLOAD_ID};
    sbx_limits_defaults(&cfg->limits, &plan.limits);
    sb->limits = plan.limits;
    uid_t ouid;
    gid_t ogid;
    sbx_userns_outer_ids(&ouid, &ogid, &plan.root_mode);
    int seed_fds[64];
    plan.seed_fds = seed_fds;
    int rc = open_seeds(cfg, ouid, ogid, seed_fds, err);
    if (rc == 0) rc = start_init(sb, &plan, err);
    for (size_t i = 0; i < cfg->ntmpfs; i++) if (seed_fds[i] >= 0) close(seed_fds[i]);
    if (rc < 0) { free_sbx(sb); return -1; }

    /* Outer maps: inside 0 -> the caller (rootless) or an anonymous uid (as host root). */
    struct sbx_msg go = {.type = SBX_MSG_GO};
    int listener = -1;
    if (sbx_userns_write_maps(sb->init_pid, 0, ouid, 0, ogid, !plan.root_mode, err) < 0) {
        sbx_userns_diagnose(err);
        goto fail;
    }
    if (sbx_msg_send(sb->sock, &go, NULL, 0, NULL, 0) < 0) {
        sbx_fail(err, SBX_E_SETUP, errno, "sandbox init died before setup");
        goto fail;
    }
    if (await_installing(sb, err) < 0 || (listener = take_listener(sb, err)) < 0) {
        if (err->sys_errno == EPERM || err->sys_errno == EACCES) sbx_userns_diagnose(err);
        goto fail;
    }
    /* The notifier owns the listener from here on (sbx_notifier_free closes it). */
    sb->notifier = sbx_notifier_new(listener, cfg->flags, sb->t0, cfg->on_event, cfg->event_ctx, err);
    if (!sb->notifier) { close(listener); goto fail; }
    if (cfg->fakenet.enabled) {
        sb->fnet = sbx_fnet_new(&cfg->fakenet, sb->t0, cfg->on_event, cfg->event_ctx, err);
        if (!sb->fnet) goto fail;
        /* While init is still dumpable: the proxy that makes the fake internet's sockets
         * becomes init's payload identity (rootless it needs ptrace access to init). */
        (void)sbx_notifier_fakenet(sb->notifier, sb->fnet, sb->init_pid);
    }
    if (sbx_msg_send(sb->sock, &go, NULL, 0, NULL, 0) < 0) {
        sbx_fail(err, SBX_E_SETUP, errno, "sandbox init died during setup");
        goto fail;
    }
    sb->note_cgroup = (cfg->limits.memory_bytes || cfg->limits.pids) ? 1 : 0;
    *out = sb;
    return 0;
fail:
    free_sbx(sb);
    return -1;
}

/* ---- sbx_close --------------------------------------------------------------------------- */

/* Payload processes: every pid of the sandbox's pid ns but init, read from the private procfs
 * init handed us (it has no hidepid). */
static int count_leftovers(struct sbx *sb)
{
    if (sb->procfd < 0) return -1;
    int fd = openat(sb->procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) { if (fd >= 0) close(fd); return -1; }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 1) continue;
        n++;
    }
    closedir(d);
    return n;
}

int sbx_close(struct sbx *sb, unsigned grace_ms, struct sbx_close_status *cs, sbx_error *err)
{
    if (cs) memset(cs, 0, sizeof *cs);
    if (!sb) return 0;
    int rc = 0;
    if (!sb->dead && sb->busy) {
        /* Leftovers get the grace period; we keep observing (events) meanwhile. */
        uint64_t deadline = sbx_now_ns() + (uint64_t)grace_ms * 1000000ull;
        struct sbx_pump pm = {0};
        while (sb->busy && !sb->dead) {
            uint64_t now = sbx_now_ns();
            if (now >= deadline) break;
            sbx_error pe = {0};
            if (sbx_pump(sb, &pm, (int)((deadline - now + 999999) / 1000000), &pe) < 0) break;
        }
        if (sb->busy && !sb->dead) {
            int n = count_leftovers(sb);
            if (cs) cs->leftovers = n > 0 ? n : 1;
        }
    }
    (void)err;
    /* Connections still open are recorded as they are. */
    if (sb->fnet) sbx_fnet_flush(sb->fnet);
    free_sbx(sb);  /* SIGKILL init: the pid namespace goes with it; wait until it is reaped */
    return rc;
}

int sbx_fakenet_forward(struct sbx *sb, const struct sbx_forward *t, size_t n, uint64_t max_bytes,
                        sbx_error *err)
{
    if (!sb || !sb->fnet)
        return sbx_fail(err, SBX_E_USAGE, 0, "forward mode needs the fake internet (cfg->fakenet.enabled)");
    if (n && !t) return sbx_fail(err, SBX_E_USAGE, 0, "forward targets missing");
    return sbx_fnet_forward(sb->fnet, t, n, max_bytes, err);
}
