/* exec.c — sbx_exec: send one command to the sandbox's init, capture its output (bounded), enforce its
 * timeout, return when its main process has exited.
 *
 * Output: the command's stdout/stderr are pipes read here. At most limits.capture_bytes per
 * stream are kept; the rest is read and counted (total), so a chatty script never blocks. When
 * the main process has exited we keep reading until both pipes reach EOF or for LINGER_MS at
 * most: processes it left behind may hold the pipes open forever. Their later output is read and
 * discarded until EOF or sbx_close() (so they neither block nor die of SIGPIPE); they live on,
 * observed, until sbx_close(). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"
#include "fakenet.h"

#define LINGER_MS 100
#define KILL_WAIT_MS 2000   /* after a timeout, how long init has to report the kill */
#define DEAD_DRAIN_MS 1000  /* init died: how long its command's pipes get to reach EOF */

static void kill_sandbox(struct sbx *sb)
{
    syscall(SYS_pidfd_send_signal, sb->init_pidfd, SIGKILL, NULL, 0);
    sb->dead = 1;
}

int sbx_cmd_serialize(const struct sbx_command *cmd, char *buf, size_t cap, size_t *len)
{
    uint32_t argc = 0, envc = 0;
    while (cmd->argv[argc]) argc++;
    while (cmd->envp && cmd->envp[envc]) envc++;
    size_t off = 8;
    memcpy(buf, &argc, 4);
    memcpy(buf + 4, &envc, 4);
    const char *cwd = cmd->cwd ? cmd->cwd : "/";
    for (uint32_t i = 0; i < 1 + argc + envc; i++) {
        const char *s = i == 0 ? cwd : i <= argc ? cmd->argv[i - 1] : cmd->envp[i - 1 - argc];
        size_t l = strlen(s) + 1;
        if (off + l > cap) return -1;
        memcpy(buf + off, s, l);
        off += l;
    }
    *len = off;
    return 0;
}

struct capture {
    int fd;
    char *data;
    size_t len, cap;
    uint64_t total;
};

static void capture_read(struct capture *c)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) { close(c->fd); c->fd = -1; return; }
        c->total += (uint64_t)n;
        size_t room = c->cap - c->len;
        size_t keep = (size_t)n < room ? (size_t)n : room;
        memcpy(c->data + c->len, buf, keep);
        c->len += keep;
        c->data[c->len] = 0;
    }
}

/* init died: its pid namespace is being torn down, so the pipes' writers are going away; read
 * what is left until EOF (bounded). */
static void drain_dead(struct capture *cap)
{
    uint64_t end = sbx_now_ns() + DEAD_DRAIN_MS * 1000000ull;
    while (cap[0].fd >= 0 || cap[1].fd >= 0) {
        uint64_t now = sbx_now_ns();
        if (now >= end) break;
        struct pollfd pf[2] = {{cap[0].fd, POLLIN, 0}, {cap[1].fd, POLLIN, 0}};
        int n = poll(pf, 2, (int)((end - now + 999999) / 1000000));
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++)
            if (cap[i].fd >= 0 && pf[i].revents) capture_read(&cap[i]);
    }
}

struct run {
    int pid;            /* main process inside, 0 until STARTED */
    int done, status;
};

static void on_exit_report(void *ctx, int pid, int status)
{
    struct run *r = ctx;
    if (r->pid > 0 && pid == r->pid) { r->done = 1; r->status = status; }
}

static void note_truncation(struct sbx *sb, const char *stream, const struct capture *c)
{
    if (c->total <= c->len) return;
    char detail[160];
    snprintf(detail, sizeof detail, "%s truncated: kept %zu of %llu bytes", stream, c->len,
             (unsigned long long)c->total);
    struct sbx_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SBX_EV_NOTE;
    ev.truncated = 1;
    ev.detail = detail;
    sbx_emit(sb, &ev);
}

static int send_cmd(struct sbx *sb, const struct sbx_command *cmd, int out_w, int err_w, sbx_error *err)
{
    char *buf = malloc(SBX_MAX_CMD_BYTES);
    size_t len;
    if (!buf) return sbx_fail(err, SBX_E_INTERNAL, ENOMEM, "out of memory");
    if (sbx_cmd_serialize(cmd, buf, SBX_MAX_CMD_BYTES, &len) < 0) {
        free(buf);
        return sbx_fail(err, SBX_E_USAGE, E2BIG, "command too large: argv+env+cwd over %u bytes",
                        SBX_MAX_CMD_BYTES);
    }
    struct sbx_msg m = {.type = SBX_MSG_CMD};
    int fds[2] = {out_w, err_w};
    int rc = sbx_msg_send(sb->sock, &m, buf, len, fds, 2);
    int e = errno;
    free(buf);
    if (rc < 0) {
        sb->dead = 1;
        return sbx_fail(err, SBX_E_EXEC, e, "sending the command to the sandbox: %s", strerror(e));
    }
    return 0;
}

static void emit_pending_notes(struct sbx *sb)
{
    if (!sb->note_cgroup) return;
    sb->note_cgroup = 0;
    struct sbx_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SBX_EV_NOTE;
    ev.detail = sbx_cgroup_available() ? "cgroup limits not applied: not implemented yet"
                                       : "cgroup limits not applied: no delegated cgroup v2";
    sbx_emit(sb, &ev);
}

static int check_command(const struct sbx_command *cmd, sbx_error *err)
{
    if (!cmd || !cmd->argv || !cmd->argv[0])
        return sbx_fail(err, SBX_E_USAGE, EINVAL, "command without argv[0]");
    return 0;
}

/* Pipes made by host root are root's, mode 0600: a script reopening its own stdout by path
 * (`> /dev/stderr`, /proc/self/fd/1) would get EACCES. Give them to the sandbox's uid, as they
 * would belong to the user running npm. Rootless they already are the caller's. */
static void give_pipes_to_sandbox(int out_w, int err_w)
{
    if (geteuid() != 0) return;
    (void)!fchown(out_w, SBX_ROOT_MAPPED_UID, SBX_ROOT_MAPPED_GID);
    (void)!fchown(err_w, SBX_ROOT_MAPPED_UID, SBX_ROOT_MAPPED_GID);
}

int sbx_exec(struct sbx *sb, const struct sbx_command *cmd, struct sbx_status *st, sbx_error *err)
{
    memset(st, 0, sizeof *st);
    if (check_command(cmd, err) < 0) return -1;
    if (sb->dead) return sbx_fail(err, SBX_E_EXEC, 0, "the sandbox is no longer running");
    emit_pending_notes(sb);
    size_t capn = sb->limits.capture_bytes;
    struct capture cap[2] = {{.fd = -1, .cap = capn}, {.fd = -1, .cap = capn}};
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, rc = -1;
    cap[0].data = malloc(capn + 1);
    cap[1].data = malloc(capn + 1);
    if (!cap[0].data || !cap[1].data) { sbx_fail(err, SBX_E_INTERNAL, ENOMEM, "out of memory"); goto out; }
    cap[0].data[0] = cap[1].data[0] = 0;
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
        sbx_fail(err, SBX_E_INTERNAL, errno, "pipe: %s", strerror(errno));
        goto out;
    }
    give_pipes_to_sandbox(po[1], pe[1]);
    fcntl(po[0], F_SETFL, O_NONBLOCK);
    fcntl(pe[0], F_SETFL, O_NONBLOCK);
    cap[0].fd = po[0];
    cap[1].fd = pe[0];
    po[0] = pe[0] = -1;
    st->start_ns = sbx_now_ns() - sb->t0;
    int sent = send_cmd(sb, cmd, po[1], pe[1], err);
    close(po[1]);
    close(pe[1]);
    po[1] = pe[1] = -1;
    if (sent < 0) goto out;

    struct run r = {0};
    struct pollfd extra[2];
    struct sbx_pump pm = {.extra = extra, .nextra = 2, .on_exit = on_exit_report, .ctx = &r};
    uint64_t deadline = cmd->timeout_ms ? sbx_now_ns() + (uint64_t)cmd->timeout_ms * 1000000ull : 0;
    uint64_t linger_end = 0, kill_deadline = 0;
    for (;;) {
        if (pm.started_pid && !r.pid) {
            if (pm.started_pid < 0) {
                sbx_fail(err, SBX_E_EXEC, -pm.started_pid, "starting the command: %s", strerror(-pm.started_pid));
                goto out;
            }
            r.pid = pm.started_pid;
        }
        if (r.done && !linger_end) linger_end = sbx_now_ns() + LINGER_MS * 1000000ull;
        if (r.done && ((cap[0].fd < 0 && cap[1].fd < 0) || sbx_now_ns() >= linger_end)) break;
        uint64_t now = sbx_now_ns();
        if (deadline && now >= deadline && !st->timed_out && r.pid > 0 && !r.done) {
            /* The command's process group (it called setsid); anything that left the group is a
             * leftover, killed by sbx_close. */
            struct sbx_msg k = {.type = SBX_MSG_KILL, .a = r.pid};
            st->timed_out = 1;
            kill_deadline = now + KILL_WAIT_MS * 1000000ull;
            if (sbx_msg_send(sb->sock, &k, NULL, 0, NULL, 0) < 0) {
                sbx_fail(err, SBX_E_INTERNAL, errno, "asking the sandbox to kill the command: %s", strerror(errno));
                goto out;
            }
        }
        if (kill_deadline && !r.done && now >= kill_deadline) {
            /* init does not answer (it should not happen: the payload cannot stop pid 1): end
             * the whole sandbox; the command is killed with it. Later sbx_exec calls fail. */
            kill_sandbox(sb);
            break;
        }
        int timeout = -1;
        uint64_t until = linger_end ? linger_end
                       : kill_deadline ? kill_deadline
                       : (deadline && !st->timed_out) ? deadline : 0;
        if (until) timeout = until > now ? (int)((until - now + 999999) / 1000000) : 0;
        for (int i = 0; i < 2; i++) extra[i] = (struct pollfd){cap[i].fd, POLLIN, 0};
        if (sbx_pump(sb, &pm, timeout, err) < 0) {
            if (!sb->dead) goto out;
            if (r.pid <= 0 && pm.started_pid > 0) r.pid = pm.started_pid;
            if (r.pid <= 0) {  /* nothing ran: the sandbox was gone already */
                sbx_fail(err, SBX_E_EXEC, ECHILD, "the sandbox is no longer running");
                goto out;
            }
            /* init is gone, and with it the whole pid namespace: the command was killed (unless
             * its exit was reported already). Its status and output are still the caller's. */
            memset(err, 0, sizeof *err);
            drain_dead(cap);
            break;
        }
        for (int i = 0; i < 2; i++)
            if (cap[i].fd >= 0 && extra[i].revents) capture_read(&cap[i]);
    }
    if (sb->dead && !r.done && !st->timed_out) {
        r.done = 1;
        r.status = SIGKILL;  /* the kernel kills every process of the namespace with SIGKILL */
        char detail[128];
        if (WIFSIGNALED(sb->init_status))
            snprintf(detail, sizeof detail, "the sandbox's init died (signal %d): the command was killed with it",
                     WTERMSIG(sb->init_status));
        else
            snprintf(detail, sizeof detail, "the sandbox's init died: the command was killed with it");
        struct sbx_event ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = SBX_EV_NOTE;
        ev.detail = detail;
        sbx_emit(sb, &ev);
    }
    st->end_ns = sbx_now_ns() - sb->t0;
    if (WIFEXITED(r.status) && !st->timed_out) {
        st->exited = 1;
        st->exit_code = WEXITSTATUS(r.status);
    } else if (WIFSIGNALED(r.status) && !st->timed_out) {
        st->term_signal = WTERMSIG(r.status);
    }
    note_truncation(sb, "stdout", &cap[0]);
    note_truncation(sb, "stderr", &cap[1]);
    st->out = (struct sbx_output){cap[0].data, cap[0].len, cap[0].total};
    st->err = (struct sbx_output){cap[1].data, cap[1].len, cap[1].total};
    cap[0].data = cap[1].data = NULL;
    /* What the command's connections carried and closed is reported before we return. */
    if (sb->fnet) sbx_fnet_handle(sb->fnet);
    rc = 0;
    for (int i = 0; i < 2; i++)
        if (cap[i].fd >= 0 && !sb->dead) { sbx_keep_draining(sb, cap[i].fd); cap[i].fd = -1; }
out:
    for (int i = 0; i < 2; i++) {
        if (cap[i].fd >= 0) close(cap[i].fd);
        free(cap[i].data);
    }
    if (po[0] >= 0) close(po[0]);
    if (po[1] >= 0) close(po[1]);
    if (pe[0] >= 0) close(pe[0]);
    if (pe[1] >= 0) close(pe[1]);
    return rc;
}

void sbx_status_free(struct sbx_status *st)
{
    if (!st) return;
    free(st->out.data);
    free(st->err.data);
    st->out.data = st->err.data = NULL;
}
