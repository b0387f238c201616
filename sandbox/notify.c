/*
 * notify.c — the supervisor's work per notification: receive, classify with the same policy
 * data the filter was built from, read and decode the arguments, emit one event, answer.
 *
 *   denied    → SBX_EV_DENIED, answered -EPERM (foreign ABIs included).
 *   observed  → arguments read from the target, then SECCOMP_IOCTL_NOTIF_ID_VALID (the pid may
 *               have died and been reused while we read); only a fully logged call proceeds.
 *               Unreadable arguments or a stale id: SBX_EV_DENIED "unreadable arguments" and
 *               -EFAULT/-EPERM (fail closed: no unlogged observed call ever runs).
 *               Opens and path changes are then performed by the proxy with the strings we
 *               logged (notify_openproxy.c) — plain absolute opens outside /proc and /dev by
 *               this thread as the target (notify_fastopen.c) — and so are connect/bind/sendto/sendmsg with an
 *               address, on the target's own socket; exec continues and is verified after the
 *               fact (exec_verify); the rest (socket, listen, fchmod, sendmmsg) continue.
 *   allowed   → only seen with SBX_TRACE_ALL: SBX_EV_NOTE "trace", continued.
 *
 * Buffers are allocated once per notifier; the hot path allocates nothing and opens nothing
 * but what the decode needs (the pid cache keeps /proc/PID/stat open per process).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "decode.h"
#include "fakenet.h"
#include "internal.h"
#include "syscalls.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

#define X32_BIT 0x40000000u
#define SYS_SLOTS 512          /* native syscall numbers we classify; above: default */
#define EXEC_SLOTS 32          /* execs awaiting verification */

/* An exec answered CONTINUE, its event held until we know what ran (see exec_verify). */
struct exec_slot {
    int tid;                   /* host tid of the caller; 0: free */
    int pidfd;                 /* tells us when it is gone without a further call */
    int logged_fd;             /* O_PATH of the logged path, opened as the target would; or -1 */
    int have_pre;
    dev_t pre_dev;             /* the caller's executable before the exec */
    ino_t pre_ino;
    unsigned long long pre_stack;  /* its stack start (stat field 28): a new image moves it */
    uint64_t t_ns;
    struct sbx_event ev;       /* strings point into blob */
    char *blob;
};

struct sys_entry {
    uint8_t cls;                         /* enum sbx_sys_class */
    const struct sbx_arg_policy *rule;   /* SBX_SYS_ARGS */
    const struct sbx_observed *observed; /* decoder, when the call is observed */
};

#define HELD_MAX 64

/* An event emitted while this thread is the target (fast lane), for the caller's callback
 * once it is itself again: a deep copy (strings in one allocation). */
struct held_event {
    struct sbx_event ev;
    char *blob;
};

struct sbx_notifier {
    int fd;
    unsigned flags;
    uint64_t t0;
    sbx_event_fn fn;
    void *ctx;
    struct seccomp_notif *req;
    struct seccomp_notif_resp *resp;
    size_t req_size, resp_size;
    struct sys_entry sys[SYS_SLOTS];
    struct sbx_pidcache pids;
    struct sbx_openproxy proxy;
    struct sbx_fastopen fast;
    pid_t self;                 /* our pid, for /proc/<self>/fd */
    unsigned exec_pending;
    unsigned mem_epoch;        /* bumped by every exec logged and every exec record closed */
    int mem_cache_off;         /* an exec went untracked: no cached /proc/TID/mem for this run */
    int keep_identity;         /* this call is a plain open that may leave the open identity on */
    struct exec_slot exec[EXEC_SLOTS];
    struct sbx_scratch scratch;
    struct sbx_fnet *fnet;     /* fake internet, or NULL */
    pid_t fnet_tid;            /* whom a (re)started proxy becomes for fnet's sockets */
    unsigned long warped;      /* long sleeps answered at once (timewarp.c) */
    struct held_event held[HELD_MAX];   /* emitted while the open identity is kept: see emit() */
    int nheld;
};

/* ---- classification ---- */

static void classify_names(struct sbx_notifier *n, const char *const *names, size_t count,
                           enum sbx_sys_class cls)
{
    for (size_t i = 0; i < count; i++) {
        long nr = sbx_syscall_number(names[i]);
        if (nr < 0 || nr >= SYS_SLOTS) continue;
        n->sys[nr].cls = (uint8_t)cls;
        n->sys[nr].observed = sbx_observed_find(names[i]);
    }
}

static void build_index(struct sbx_notifier *n)
{
    const struct sbx_policy_tables *t = sbx_policy_tables();
    classify_names(n, t->allow, t->nallow, SBX_SYS_ALLOW);
    classify_names(n, t->observe, t->nobserve, SBX_SYS_OBSERVE);
    classify_names(n, t->deny, t->ndeny, SBX_SYS_DENY);
    for (size_t i = 0; i < t->nargs; i++) {
        long nr = sbx_syscall_number(t->args[i].syscall);
        if (nr < 0 || nr >= SYS_SLOTS) continue;
        n->sys[nr].cls = SBX_SYS_ARGS;
        n->sys[nr].rule = &t->args[i];
    }
}

static int is_native(const struct seccomp_data *d)
{
    return d->arch == AUDIT_ARCH_X86_64 && !((unsigned)d->nr & X32_BIT);
}

/* The verdict for this concrete call: the same decision the filter made, plus the argument
 * checks that live here (socket). Register values cannot change after the trap. */
static enum sbx_verdict verdict_of(const struct sbx_notifier *n, const struct seccomp_data *d)
{
    if (!is_native(d)) return SBX_V_DENY;
    if (d->nr < 0 || d->nr >= SYS_SLOTS) return SBX_V_ENOSYS;
    const struct sys_entry *e = &n->sys[d->nr];
    switch (e->cls) {
    case SBX_SYS_ALLOW: return SBX_V_ALLOW;
    case SBX_SYS_DENY: return SBX_V_DENY;
    case SBX_SYS_ARGS: return sbx_arg_verdict(e->rule, d->args[e->rule->arg]);
    case SBX_SYS_OBSERVE:
        if (d->nr == SYS_socket) return sbx_socket_verdict(d->args[0], d->args[1], d->args[2]);
        return SBX_V_OBSERVE;
    default: return SBX_V_ENOSYS;
    }
}

/* Name of the call, foreign ABIs included ("x32:getpid", "i386:…"). */
static const char *call_name(struct sbx_notifier *n, const struct seccomp_data *d)
{
    if (is_native(d)) return sbx_syscall_name(d->nr);
    int x32 = d->arch == AUDIT_ARCH_X86_64;
    uint32_t arch = x32 ? SCMP_ARCH_X32 : d->arch == AUDIT_ARCH_I386 ? SCMP_ARCH_X86 : 0;
    char *name = arch ? seccomp_syscall_resolve_num_arch(arch, d->nr) : NULL;  /* rare path */
    snprintf(n->scratch.name, sizeof n->scratch.name, "%s:%s", x32 ? "x32" : arch ? "i386" : "foreign",
             name ? name : "?");
    free(name);
    return n->scratch.name;
}

/* ---- answering ---- */

static int answer(struct sbx_notifier *n, int error, int cont)
{
    memset(n->resp, 0, n->resp_size);
    n->resp->id = n->req->id;
    n->resp->error = cont ? 0 : -error;
    n->resp->flags = cont ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0;
    while (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_SEND, n->resp) < 0) {
        if (errno == EINTR) continue;
        return errno == ENOENT ? 0 : -1;   /* ENOENT: the target died or was interrupted */
    }
    return 0;
}

/* Answer with a success value (an emulated send's byte count). */
static int answer_value(struct sbx_notifier *n, int64_t val)
{
    memset(n->resp, 0, n->resp_size);
    n->resp->id = n->req->id;
    n->resp->val = val;
    while (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_SEND, n->resp) < 0) {
        if (errno == EINTR) continue;
        return errno == ENOENT ? 0 : -1;
    }
    return 0;
}

static int id_valid(const struct sbx_notifier *n)
{
    uint64_t id = n->req->id;
    return ioctl(n->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* ---- events, and the kept identity ----
 *
 * The caller's callback always runs with the caller's own identity. While the open identity
 * is kept (notify_fastopen.c, "Kept identity"), events are held in order and delivered by
 * settle(), which every path that is not a plain open goes through first, and sbx_pump before
 * it returns or serves any other descriptor. */

static char *blob_put(char **at, const char *str)
{
    if (!str) return NULL;
    size_t l = strlen(str) + 1;
    char *p = memcpy(*at, str, l);
    *at += l;
    return p;
}

/* Deep copy of an event's strings and argv into *blob (one allocation, the caller frees it);
 * not of a fake-internet event's payload. 0 or -1. */
static int copy_event(const struct sbx_event *ev, struct sbx_event *out, char **blob)
{
    size_t need = 0, argc = 0;
    const char *strs[5] = {ev->syscall, ev->path, ev->path2, ev->cwd, ev->detail};
    for (int i = 0; i < 5; i++) need += strs[i] ? strlen(strs[i]) + 1 : 0;
    for (; ev->argv && ev->argv[argc]; argc++) need += strlen(ev->argv[argc]) + 1;
    size_t vec = (argc + 1) * sizeof(char *);
    *blob = malloc(vec + need);
    if (!*blob) return -1;
    const char **argv = (const char **)(void *)*blob;
    char *at = *blob + vec;
    *out = *ev;
    out->syscall = blob_put(&at, ev->syscall);
    out->path = blob_put(&at, ev->path);
    out->path2 = blob_put(&at, ev->path2);
    out->cwd = blob_put(&at, ev->cwd);
    out->detail = blob_put(&at, ev->detail);
    for (size_t i = 0; i < argc; i++) argv[i] = blob_put(&at, ev->argv[i]);
    argv[argc] = NULL;
    out->argv = ev->argv ? argv : NULL;
    return 0;
}

static int hold(struct sbx_notifier *n, const struct sbx_event *ev)
{
    if (n->nheld == HELD_MAX || ev->kind == SBX_EV_DNS || ev->kind == SBX_EV_PAYLOAD) return -1;
    struct held_event *h = &n->held[n->nheld];
    if (copy_event(ev, &h->ev, &h->blob) < 0) return -1;
    n->nheld++;
    return 0;
}

static void deliver_held(struct sbx_notifier *n)
{
    for (int i = 0; i < n->nheld; i++) {
        n->fn(n->ctx, &n->held[i].ev);
        free(n->held[i].blob);
    }
    n->nheld = 0;
}

/* Our own identity again, and the held events delivered. */
static void settle(struct sbx_notifier *n)
{
    sbx_fastopen_settle(&n->fast);
    if (n->nheld) deliver_held(n);
}

void sbx_notifier_settle(struct sbx_notifier *n)
{
    if (n) settle(n);
}

static void emit_at(struct sbx_notifier *n, struct sbx_event *ev, uint64_t t_ns)
{
    ev->t_ns = t_ns;
    if (!n->fn) return;
    if (n->fast.switched && hold(n, ev) == 0) return;
    settle(n);
    n->fn(n->ctx, ev);
}

static void emit(struct sbx_notifier *n, struct sbx_event *ev)
{
    emit_at(n, ev, sbx_now_ns() - n->t0);
}

/*
 * The caller's memory is read through its cached /proc/TID/mem (decode_mem.c) only while that
 * file is surely of the caller's current address space. Only an exec replaces one, and every
 * exec is notified: each one starts a new epoch, and no cached file is used while an exec is
 * in flight (logged, not yet seen complete: exec_pending) — its completion may come at any
 * moment. When an exec leaves the record unverified before it could have completed (slots
 * full), caching stops for the run. Otherwise reads fall back to process_vm_readv.
 */
static void bind_memory(struct sbx_notifier *n)
{
    struct sbx_pidcache_slot *slot = NULL;
    if (!n->exec_pending && !n->mem_cache_off) slot = sbx_pidcache_slot_of(&n->pids, (int)n->req->pid);
    if (slot && slot->mem_epoch != n->mem_epoch) {
        if (slot->mem_fd >= 0) close(slot->mem_fd);
        slot->mem_fd = -1;
        slot->mem_epoch = n->mem_epoch;
    }
    if (slot && slot->mem_fd < 0) settle(n);   /* opening it is a ptrace check: as ourselves */
    sbx_mem_bind(slot);   /* validated by the lookup just made */
}

static void event_base(struct sbx_notifier *n, const struct seccomp_data *d,
                       struct sbx_event *ev)
{
    memset(ev, 0, sizeof *ev);
    sbx_pidcache_lookup(&n->pids, (int)n->req->pid, &ev->pid, &ev->ppid);
    bind_memory(n);
    ev->syscall = call_name(n, d);
    ev->arch_native = is_native(d);
    memcpy(ev->args, d->args, sizeof ev->args);
}

static int handle_denied(struct sbx_notifier *n, const struct seccomp_data *d)
{
    struct sbx_event ev;
    event_base(n, d, &ev);
    ev.kind = SBX_EV_DENIED;
    if (ev.arch_native) ev.detail = sbx_denied_detail(ev.syscall, ev.args, &n->scratch);
    else ev.detail = d->arch == AUDIT_ARCH_X86_64 ? "x32 ABI refused" : "foreign ABI refused";
    if (ev.syscall && !strcmp(ev.syscall, "clone")) ev.flags = (long)d->args[0];
    if (id_valid(n)) emit(n, &ev);   /* a stale id means the caller is gone: nothing ran */
    return answer(n, EPERM, 0);
}

/* Refuse a call we could not log or perform faithfully: one DENIED event, an error answer. */
static int fail_closed(struct sbx_notifier *n, const struct seccomp_data *d, const char *why,
                       int error)
{
    struct sbx_event fail;
    event_base(n, d, &fail);
    fail.kind = SBX_EV_DENIED;
    fail.detail = why;
    emit(n, &fail);
    return answer(n, error, 0);
}

/* Hand the proxy's fd to the target; this also answers the call with the new fd number. */
static int answer_with_fd(struct sbx_notifier *n, int fd, uint64_t open_flags)
{
    struct seccomp_notif_addfd add = {
        .id = n->req->id, .flags = SECCOMP_ADDFD_FLAG_SEND, .srcfd = (uint32_t)fd,
        .newfd = 0, .newfd_flags = (uint32_t)(open_flags & O_CLOEXEC),
    };
    while (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOENT) return 0;     /* the target is gone */
        return answer(n, errno, 0);        /* e.g. EMFILE: the target's descriptor limit */
    }
    return 0;
}

/* Run the current call through the proxy, replacing a dead proxy once. The result: an fd or
 * 0, -errno, or SBX_OPENPROXY_BROKEN. */
static int proxy_run(struct sbx_notifier *n, struct sbx_proxy_call *c, pid_t tid)
{
    int rc = SBX_OPENPROXY_BROKEN;
    settle(n);
    if ((c->op == SBX_PROXY_OPEN && (c->flags & (O_CREAT | __O_TMPFILE))) ||
        c->op == SBX_PROXY_MKDIRAT)
        c->umask = sbx_proc_umask(tid);
    for (int attempt = 0; attempt < 2 && rc == SBX_OPENPROXY_BROKEN; attempt++) {
        if (n->proxy.pid == 0 && sbx_openproxy_start(&n->proxy, tid) < 0) break;
        rc = sbx_openproxy_call(&n->proxy, c);
        if (rc == SBX_OPENPROXY_BROKEN) sbx_openproxy_stop(&n->proxy);
    }
    if (rc == SBX_OPENPROXY_BROKEN) sbx_openproxy_stop(&n->proxy);
    return rc;
}

static int proxy_call(struct sbx_notifier *n, pid_t tid)
{
    return proxy_run(n, &n->scratch.call, tid);
}

/* fnet's sockets: made by the proxy, as the payload, inside the sandbox's network namespace. */
static int fnet_mksock(void *ctx, int family, int type, unsigned port)
{
    struct sbx_notifier *n = ctx;
    struct sbx_proxy_call c;
    memset(&c, 0, sizeof c);
    c.op = SBX_PROXY_LISTEN;
    c.flags = (uint64_t)family;
    c.mode = (uint64_t)type;
    c.resolve = port;
    c.dirfd = c.dirfd2 = c.target_fd = c.umask = -1;
    int rc = proxy_run(n, &c, n->fnet_tid);
    return rc == SBX_OPENPROXY_BROKEN ? -EPERM : rc;
}

int sbx_notifier_fakenet(struct sbx_notifier *n, struct sbx_fnet *fnet, pid_t target)
{
    n->fnet = fnet;
    n->fnet_tid = target;
    sbx_fnet_set_mksock(fnet, fnet_mksock, n);
    return sbx_fnet_start(fnet);
}

/*
 * Path calls are performed by the proxy (notify_openproxy.c explains why): the path we read
 * is the path used. For opens the event names the file actually opened (readlink of our copy
 * of the new fd, i.e. symlinks resolved; path2 keeps the requested path when it differs).
 */
static int perform_proxied(struct sbx_notifier *n, const struct seccomp_data *d,
                           struct sbx_event *ev)
{
    struct sbx_scratch *s = &n->scratch;
    int is_open = s->call.op == SBX_PROXY_OPEN;
    if (!is_open) emit(n, ev);   /* logged before it happens */
    /* Plain absolute opens outside /proc and /dev: in this thread when provably the same as
     * the proxy (notify_fastopen.c); everything else, and whatever it declines, by the proxy. */
    n->fast.keep = n->keep_identity;
    int rc = is_open ? sbx_fastopen_try(&n->fast, (pid_t)n->req->pid, &s->call, s->real, sizeof s->real)
                     : SBX_FASTOPEN_DECLINE;
    n->fast.keep = 0;
    int known = rc >= 0 && s->real[0];   /* fastopen says which file it opened: no readlink */
    if (rc == SBX_FASTOPEN_DECLINE) rc = proxy_call(n, (pid_t)n->req->pid);
    if (rc == SBX_OPENPROXY_BROKEN) return fail_closed(n, d, "open proxy unavailable", EPERM);
    if (!is_open) return answer(n, rc < 0 ? -rc : 0, 0);
    if (rc < 0) {
        emit(n, ev);
        return answer(n, -rc, 0);
    }
    if ((known || sbx_path_fd(n->self, rc, s->real, sizeof s->real) > 0) && strcmp(s->real, ev->path)) {
        ev->path2 = ev->path;
        ev->path = s->real;
    }
    emit(n, ev);
    if (s->call.flags & O_PATH) {
        /* ADDFD cannot hand over an O_PATH file. Such an fd gives no access to content (every
         * later use that reads is an open of its own, logged), so the kernel may redo this one. */
        close(rc);
        return answer(n, 0, 1);
    }
    int sent = answer_with_fd(n, rc, s->call.flags);
    close(rc);
    return sent;
}

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* Our copy of the target's descriptor fd (same open file description), or -1 with errno.
 * The pidfd is checked against the notification id, so a reused tid is never asked. */
static int take_target_fd(struct sbx_notifier *n, pid_t tid, int fd)
{
    /* A non-leader thread (node resolves names on a libuv worker) needs a thread pidfd: since
     * 6.9 pidfd_open answers ENOENT for it without PIDFD_THREAD (older kernels: EINVAL). */
    int pidfd = (int)syscall(SYS_pidfd_open, tid, 0);
    if (pidfd < 0 && (errno == EINVAL || errno == ENOENT)) pidfd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
    if (pidfd < 0) return -1;
    int copy = -1;
    if (!id_valid(n)) errno = ESRCH;
    else copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
    int saved = errno;
    close(pidfd);
    errno = saved;
    return copy;
}

/* A blocking connect we started and that is still in progress: wait for it ourselves and answer
 * with its result. Never CONTINUE here: if our attempt failed before the kernel re-ran the call,
 * the kernel would read the address again, and another thread may have swapped it. Inside the
 * sandbox's network namespace every address is local or unreachable, so this is short; the
 * bound only guards against the unexpected (then ETIMEDOUT, as a blocking connect would say). */
enum { CONNECT_WAIT_MS = 1000 };

static int finish_connect(int sock)
{
    struct pollfd pf = {sock, POLLOUT, 0};
    int r;
    do r = poll(&pf, 1, CONNECT_WAIT_MS);
    while (r < 0 && errno == EINTR);
    if (r == 0) return -ETIMEDOUT;
    int err = 0;
    socklen_t len = sizeof err;
    if (r < 0 || getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -errno;
    return -err;
}

/*
 * connect/bind/sendto/sendmsg with an address: performed on the target's own socket
 * (pidfd_getfd) with the address bytes we logged. AF_INET/AF_INET6 connect and send: by us (the
 * socket's network namespace applies whoever calls, and nothing depends on the caller's
 * identity: saves the proxy round trip). Everything else by the proxy, never by us: AF_UNIX
 * paths resolve in the caller's mount namespace and root with the caller's credentials, and
 * binding low ports or netlink checks use the caller's capabilities, which the proxy shares with
 * the target and we exceed. Blocking: see notify_openproxy.c (sock_connect, SBX_PROXY_SEND). A
 * blocking connect still in progress is finished by us (finish_connect), never continued. A send that
 * would block a blocking caller continues too, marked "address unverified".
 */
static int perform_socket(struct sbx_notifier *n, const struct seccomp_data *d,
                          struct sbx_event *ev)
{
    struct sbx_scratch *s = &n->scratch;
    struct sbx_proxy_call *c = &s->call;
    pid_t tid = (pid_t)n->req->pid;
    c->dirfd2 = take_target_fd(n, tid, c->target_fd);
    if (c->dirfd2 < 0) {
        if (errno == EBADF) {
            emit(n, ev);
            return answer(n, EBADF, 0);
        }
        return fail_closed(n, d, errno == ESRCH ? "unreadable arguments (caller gone)"
                                                : "socket not available to the supervisor", EPERM);
    }
    const unsigned char *sa = c->addr;
    int unix_path = c->addr_len > 2 && sa[0] == AF_UNIX && sa[1] == 0 && sa[2] != 0;
    if (unix_path && sa[2] != '/') {   /* relative to the caller's cwd */
        char cwd[64];
        snprintf(cwd, sizeof cwd, "/proc/%d/cwd", (int)tid);
        c->dirfd = open(cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (c->dirfd < 0) return fail_closed(n, d, "unreadable arguments (no cwd)", EPERM);
    }
    if (c->op == SBX_PROXY_BIND && unix_path) c->umask = sbx_proc_umask(tid);
    int fl = fcntl(c->dirfd2, F_GETFL);
    int blocking = fl >= 0 && !(fl & O_NONBLOCK);
    int domain = -1, type = -1;
    socklen_t dl = sizeof domain, tl = sizeof type;
    (void)getsockopt(c->dirfd2, SOL_SOCKET, SO_DOMAIN, &domain, &dl);
    (void)getsockopt(c->dirfd2, SOL_SOCKET, SO_TYPE, &type, &tl);
    if (c->nameless && type == SOCK_STREAM && !(c->flags & MSG_FASTOPEN)) {
        emit(n, ev);                       /* a stream ignores a name added later */
        return answer(n, 0, 1);
    }
    int rc;
    int inet = c->op != SBX_PROXY_BIND && (domain == AF_INET || domain == AF_INET6);
    if (n->fnet && c->op == SBX_PROXY_BIND && (domain == AF_INET || domain == AF_INET6))
        sbx_fnet_release(n->fnet, type, c->addr, c->addr_len);   /* the package's port wins */
    if (inet && n->fnet && c->addr_len) {   /* a socket of the fake internet takes it */
        n->fnet_tid = tid;
        sbx_fnet_prepare(n->fnet, type, c->addr, c->addr_len);
    }
    if (inet) {
        /* the socket's network namespace and the address decide; no path, no privilege */
        long r = sbx_sock_call(c->op, c->dirfd2, c->addr, c->addr_len, c->data, c->data_len,
                               c->flags);
        rc = r < 0 ? -errno : (int)r;
    } else {
        rc = proxy_call(n, tid);
    }
    if (rc == SBX_OPENPROXY_BROKEN) return fail_closed(n, d, "open proxy unavailable", EPERM);
    if (rc == -EINPROGRESS && c->op == SBX_PROXY_CONNECT && blocking) rc = finish_connect(c->dirfd2);
    if (rc == -EAGAIN && c->op == SBX_PROXY_SEND && blocking && !(c->flags & MSG_DONTWAIT)) {
        snprintf(s->detail, sizeof s->detail, "address unverified (would block: continued)");
        ev->detail = s->detail;
        emit(n, ev);
        return answer(n, 0, 1);
    }
    if (inet && n->fnet && (rc >= 0 || rc == -EINPROGRESS)) {
        struct sockaddr_storage peer;
        socklen_t pl = sizeof peer;
        if (c->addr_len)
            ev->conn_id = sbx_fnet_flow(n->fnet, type, c->dirfd2, ev->pid, c->addr, c->addr_len);
        else if (getpeername(c->dirfd2, (struct sockaddr *)&peer, &pl) == 0)   /* connected */
            ev->conn_id = sbx_fnet_flow(n->fnet, type, c->dirfd2, ev->pid, &peer, pl);
    }
    emit(n, ev);
    return rc < 0 ? answer(n, -rc, 0) : answer_value(n, rc);
}


/*
 * ---- exec verification ----
 *
 * execve cannot be emulated, so it is answered CONTINUE and the kernel reads the path again: a
 * thread (or a vfork parent) sharing the memory can swap it after we read it. So the event is
 * held, not emitted, until we know what ran: at the caller's next notification (every dynamic
 * program opens its loader and libraries first; static ones nearly always make some observed
 * call) we stat /proc/TID/exe and compare it with the file the logged path names (opened O_PATH
 * by the proxy, as the target resolves it, when the exec was logged) and with the executable
 * before the exec (unchanged: the exec failed). A "#!" script runs its interpreter: the first
 * line's interpreter is resolved the same way and accepted. On a mismatch the event names the
 * file that ran (path), keeps the logged path (path2) and says "exec-mismatch: logged X, ran Y".
 * When no further call comes (the caller exited, or slots ran out, or the sandbox closes), the
 * event is emitted as logged with the detail "exec unverified". Cost on the hot path: one
 * branch while nothing is pending; per exec one proxy round trip, two stats and a copy.
 */
static void exec_slot_free(struct exec_slot *x)
{
    if (x->pidfd >= 0) close(x->pidfd);
    if (x->logged_fd >= 0) close(x->logged_fd);
    free(x->blob);
    memset(x, 0, sizeof *x);
    x->pidfd = x->logged_fd = -1;
}

/* Field 28 (startstack) of /proc/TID/stat: every exec maps a new stack (randomized). 0: unknown.
 * The pid cache's open stat file of this task when it has one (the caller was just looked up). */
static unsigned long long stack_start(struct sbx_notifier *n, int tid)
{
    char path[64], buf[1024];
    const struct sbx_pidcache_slot *slot = sbx_pidcache_slot_of(&n->pids, tid);
    int kept = slot ? slot->stat_fd : -1, fd = kept;
    if (fd < 0) {
        snprintf(path, sizeof path, "/proc/%d/stat", tid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) return 0;
    ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
    if (fd != kept) close(fd);
    if (got <= 0) return 0;
    buf[got] = 0;
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 28; field++) p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

static int same_file(const struct stat *a, dev_t dev, ino_t ino)
{
    return a->st_dev == dev && a->st_ino == ino;
}

/* Open path O_PATH as the target would (through the proxy), relative to base (or -1). */
static int open_as_target(struct sbx_notifier *n, pid_t tid, const char *path, int base)
{
    struct sbx_proxy_call *c = &n->scratch.call;
    memset(c, 0, sizeof *c);
    c->op = SBX_PROXY_OPEN;
    c->flags = O_PATH | O_CLOEXEC;
    c->path = path;
    c->dirfd = base;
    c->dirfd2 = c->target_fd = c->umask = -1;
    int fd = sbx_fastopen_try(&n->fast, tid, c, NULL, 0);
    if (fd == SBX_FASTOPEN_DECLINE) fd = proxy_call(n, tid);
    c->op = SBX_PROXY_NONE;
    c->dirfd = -1;
    return fd >= 0 ? fd : -1;
}

/* A "#!" script whose interpreter is the file that ran. */
static int script_ran(struct sbx_notifier *n, struct exec_slot *x, const struct stat *ran)
{
    char link[64], head[256];
    snprintf(link, sizeof link, "/proc/self/fd/%d", x->logged_fd);
    int fd = open(link, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return 0;
    ssize_t got = read(fd, head, sizeof head - 1);
    close(fd);
    if (got < 3 || head[0] != '#' || head[1] != '!') return 0;
    head[got] = 0;
    char *p = head + 2;
    while (*p == ' ' || *p == '\t') p++;
    p[strcspn(p, " \t\n")] = 0;
    if (*p != '/') return 0;
    int interp = open_as_target(n, x->tid, p, -1);
    if (interp < 0) return 0;
    struct stat st;
    int same = fstat(interp, &st) == 0 && same_file(ran, st.st_dev, st.st_ino);
    close(interp);
    return same;
}

static void exec_emit(struct sbx_notifier *n, struct exec_slot *x, const char *why)
{
    if (why) x->ev.detail = why;
    emit_at(n, &x->ev, x->t_ns);
    exec_slot_free(x);
    n->exec_pending--;
    n->mem_epoch++;   /* that exec is over (or its caller gone): cached mem files are stale */
}

static void exec_verify(struct sbx_notifier *n, struct exec_slot *x)
{
    char link[64];
    struct stat ran, logged;
    snprintf(link, sizeof link, "/proc/%d/exe", x->tid);
    if (stat(link, &ran) < 0 || x->logged_fd < 0 || fstat(x->logged_fd, &logged) < 0)
        return exec_emit(n, x, "exec unverified");
    if (same_file(&ran, logged.st_dev, logged.st_ino)) return exec_emit(n, x, NULL);
    /* The old executable still: the exec failed, unless the image is new (same file re-run). */
    if (x->have_pre && same_file(&ran, x->pre_dev, x->pre_ino) &&
        (!x->pre_stack || stack_start(n, x->tid) == x->pre_stack))
        return exec_emit(n, x, NULL);
    if (script_ran(n, x, &ran)) return exec_emit(n, x, NULL);
    struct sbx_scratch *s = &n->scratch;
    ssize_t l = readlink(link, s->real, sizeof s->real - 1);
    if (l <= 0) l = snprintf(s->real, sizeof s->real, "?");
    s->real[l] = 0;
    snprintf(s->detail, sizeof s->detail, "exec-mismatch: logged %.200s, ran %.200s",
             x->ev.path ? x->ev.path : "?", s->real);
    x->ev.path2 = x->ev.path;
    x->ev.path = s->real;
    exec_emit(n, x, s->detail);
}

/* At every notification while execs are pending: the caller's first call after its exec. */
static void exec_check(struct sbx_notifier *n, int tid)
{
    for (int i = 0; i < EXEC_SLOTS; i++)
        if (n->exec[i].tid == tid) return exec_verify(n, &n->exec[i]);
}

/* Execs whose caller is gone without a further call (checked after each notification). */
static void exec_reap(struct sbx_notifier *n)
{
    for (int i = 0; i < EXEC_SLOTS && n->exec_pending; i++) {
        struct exec_slot *x = &n->exec[i];
        if (!x->tid) continue;
        struct pollfd p = {x->pidfd, POLLIN, 0};
        if (x->pidfd < 0 || poll(&p, 1, 0) != 0) exec_emit(n, x, "exec unverified");
    }
}

static void exec_flush(struct sbx_notifier *n)
{
    for (int i = 0; i < EXEC_SLOTS && n->exec_pending; i++)
        if (n->exec[i].tid) exec_emit(n, &n->exec[i], "exec unverified");
}

/* Hold an exec event for verification; emits it at once when that is impossible. */
static void exec_defer(struct sbx_notifier *n, const struct seccomp_data *d, struct sbx_event *ev)
{
    pid_t tid = (pid_t)n->req->pid;
    struct exec_slot *x = NULL;
    for (int i = 0; i < EXEC_SLOTS && !x; i++)
        if (!n->exec[i].tid) x = &n->exec[i];
    n->mem_epoch++;
    if (!x) {   /* full: the oldest goes out unverified, maybe still in flight */
        struct exec_slot *old = &n->exec[0];
        for (int i = 1; i < EXEC_SLOTS; i++)
            if (n->exec[i].t_ns < old->t_ns) old = &n->exec[i];
        exec_emit(n, old, "exec unverified");
        n->mem_cache_off = 1;
        x = old;
    }
    x->pidfd = x->logged_fd = -1;
    x->t_ns = sbx_now_ns() - n->t0;
    if (copy_event(ev, &x->ev, &x->blob) < 0) {
        exec_slot_free(x);
        n->mem_cache_off = 1;   /* an exec we cannot see complete */
        emit(n, ev);
        return;
    }
    char link[64];
    struct stat st;
    snprintf(link, sizeof link, "/proc/%d/exe", (int)tid);
    if (stat(link, &st) == 0) {
        x->have_pre = 1;
        x->pre_dev = st.st_dev;
        x->pre_ino = st.st_ino;
        x->pre_stack = stack_start(n, (int)tid);
    }
    struct sbx_scratch *s = &n->scratch;
    int empty = d->nr == SYS_execveat && s->path[0] == 0 && (d->args[4] & AT_EMPTY_PATH);
    int dirfd = d->nr == SYS_execveat ? (int)d->args[0] : AT_FDCWD;
    if (empty) {
        snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)tid, dirfd);
        x->logged_fd = open(link, O_PATH | O_CLOEXEC);
    } else {
        int base = -1;
        if (s->path[0] != '/') {
            if (dirfd == AT_FDCWD) snprintf(link, sizeof link, "/proc/%d/cwd", (int)tid);
            else snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)tid, dirfd);
            base = open(link, O_PATH | O_CLOEXEC);
        }
        if (s->path[0] == '/' || base >= 0) x->logged_fd = open_as_target(n, tid, s->path, base);
        if (base >= 0) close(base);
    }
    x->pidfd = (int)syscall(SYS_pidfd_open, tid, 0);
    if (x->pidfd < 0) x->pidfd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
    x->tid = (int)tid;
    n->exec_pending++;
}

/* A send we let the kernel perform (sendmmsg, sendmsg with control data) names an address we
 * logged but did not verify: a socket of the fake internet on that port all the same (datagram:
 * a stream socket ignores the address). Were the address swapped, only a listener would be
 * missing or spare: the kernel's own send goes nowhere but into the namespace. */
static void fnet_prepare_continued(struct sbx_notifier *n, const struct sbx_event *ev)
{
    if (!ev->syscall || strncmp(ev->syscall, "send", 4) || !ev->addr.port) return;
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    memset(&a6, 0, sizeof a6);
    memset(&a4, 0, sizeof a4);
    n->fnet_tid = (pid_t)n->req->pid;
    if (ev->addr.family == AF_INET && inet_pton(AF_INET, ev->addr.addr, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)ev->addr.port);
        sbx_fnet_prepare(n->fnet, SOCK_DGRAM, &a4, sizeof a4);
    } else if (ev->addr.family == AF_INET6 && inet_pton(AF_INET6, ev->addr.addr, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)ev->addr.port);
        sbx_fnet_prepare(n->fnet, SOCK_DGRAM, &a6, sizeof a6);
    }
}

static void reset_call(struct sbx_proxy_call *c)
{
    memset(c, 0, sizeof *c);
    c->op = SBX_PROXY_NONE;
    c->dirfd = c->dirfd2 = c->target_fd = -1;
    c->umask = -1;
}

static void close_call(struct sbx_proxy_call *c)
{
    if (c->dirfd >= 0) close(c->dirfd);
    if (c->dirfd2 >= 0) close(c->dirfd2);
    c->dirfd = c->dirfd2 = -1;
}

static int handle_observed(struct sbx_notifier *n, const struct seccomp_data *d)
{
    struct sbx_event ev;
    event_base(n, d, &ev);
    const struct sbx_observed *o = n->sys[d->nr].observed;
    reset_call(&n->scratch.call);
    int rc = o ? sbx_observed_decode(o, (pid_t)n->req->pid, ev.args, &n->scratch, &ev) : 0;
    if (rc < 0 && n->fast.switched) {   /* as the target we may see less: ask again as ourselves */
        settle(n);
        close_call(&n->scratch.call);
        reset_call(&n->scratch.call);
        event_base(n, d, &ev);
        rc = sbx_observed_decode(o, (pid_t)n->req->pid, ev.args, &n->scratch, &ev);
    }
    int read_errno = rc < 0 ? errno : 0;
    if (rc < 0 || !id_valid(n)) {
        /* Fail closed: the call does not run unlogged. */
        close_call(&n->scratch.call);
        if (rc < 0 && (read_errno == EBADF || read_errno == ENAMETOOLONG ||
                       read_errno == EINVAL)) {
            emit(n, &ev);                  /* well-formed call the kernel would refuse too */
            return answer(n, read_errno, 0);
        }
        return fail_closed(n, d, rc < 0 ? "unreadable arguments"
                                        : "unreadable arguments (caller gone)",
                           read_errno == EFAULT ? EFAULT : EPERM);
    }
    if (n->scratch.call.op >= SBX_PROXY_CONNECT) {
        rc = perform_socket(n, d, &ev);
        close_call(&n->scratch.call);
        return rc;
    }
    if (n->scratch.call.op != SBX_PROXY_NONE) {
        rc = perform_proxied(n, d, &ev);
        close_call(&n->scratch.call);
        return rc;
    }
    if (ev.kind == SBX_EV_EXEC) exec_defer(n, d, &ev);
    else {
        if (n->fnet && ev.kind == SBX_EV_NET) fnet_prepare_continued(n, &ev);
        emit(n, &ev);
    }
    return answer(n, 0, 1);
}

static int handle_traced(struct sbx_notifier *n, const struct seccomp_data *d)
{
    struct sbx_event ev;
    event_base(n, d, &ev);
    ev.kind = SBX_EV_NOTE;
    ev.detail = "trace";
    emit(n, &ev);
    return answer(n, 0, 1);
}

/*
 * prlimit64(pid, RLIMIT_CORE, new, old) (syscalls_policy.c explains why it is notified). A read
 * (new == NULL, a register the target cannot change) continues without an event. A change is
 * judged on our copy of *new and, when allowed, performed by us on the target with that copy:
 * the kernel never reads the target's struct, so nothing can be swapped in after the check.
 * Allowed: the caller itself, soft >= 1, soft <= hard <= the current hard limit (we may hold
 * CAP_SYS_RESOURCE; the target may not raise it through us). The zygote's own 1/1 before each
 * command is such a change. Everything else: EPERM and a DENIED event. A caller whose memory
 * we may not read (non-dumpable, rootless) gets exactly 1/1, whatever it asked.
 */
static int handle_core_limit(struct sbx_notifier *n, const struct seccomp_data *d)
{
    pid_t tid = (pid_t)n->req->pid;
    if (d->args[2] == 0) return (n->flags & SBX_TRACE_ALL) ? handle_traced(n, d) : answer(n, 0, 1);
    struct sbx_event ev;
    event_base(n, d, &ev);
    struct rlimit want = {0, 0}, cur = {0, 0}, old;
    int target = (int)d->args[0], bad = 0;
    if (target != 0 && target != ev.pid) bad = 1;
    else if (sbx_mem_read(tid, d->args[2], &want, sizeof want) < 0) {
        if (errno != EPERM) return fail_closed(n, d, "unreadable arguments", EFAULT);
        /* A non-dumpable caller, rootless (we lack CAP_SYS_PTRACE over its memory): the
         * zygote's command child sets 1/1 in this state, before it execs. Whatever was asked,
         * the only value applied is the sandbox's own 1/1 (never above the hard limit). */
        if (prlimit(tid, RLIMIT_CORE, NULL, &cur) < 0 || !id_valid(n))
            return answer(n, EPERM, 0);
        want.rlim_cur = want.rlim_max = cur.rlim_max < 1 ? cur.rlim_max : 1;
        if (prlimit(tid, RLIMIT_CORE, &want, NULL) < 0) return answer(n, errno, 0);
        return answer(n, d->args[3] ? EFAULT : 0, 0);
    } else if (prlimit(tid, RLIMIT_CORE, NULL, &cur) < 0)
        return fail_closed(n, d, "unreadable arguments (caller gone)", EPERM);
    else bad = want.rlim_cur == 0 || want.rlim_cur > want.rlim_max || want.rlim_max > cur.rlim_max;
    if (bad) {
        ev.kind = SBX_EV_DENIED;
        if (target != 0 && target != ev.pid)
            snprintf(n->scratch.detail, sizeof n->scratch.detail,
                     "resource=RLIMIT_CORE of pid %d (another process)", target);
        else
            snprintf(n->scratch.detail, sizeof n->scratch.detail,
                     "resource=RLIMIT_CORE soft=%llu hard=%llu (commands keep soft >= 1 and "
                     "hard <= %llu: a soft limit of 0 would let a piped core_pattern take the core)",
                     (unsigned long long)want.rlim_cur, (unsigned long long)want.rlim_max,
                     (unsigned long long)cur.rlim_max);
        ev.detail = n->scratch.detail;
        if (id_valid(n)) emit(n, &ev);
        return answer(n, EPERM, 0);
    }
    if (!id_valid(n)) return answer(n, EPERM, 0);   /* the caller is gone: do nothing */
    if (prlimit(tid, RLIMIT_CORE, &want, &old) < 0) return answer(n, errno, 0);
    if (d->args[3] && sbx_mem_write(tid, d->args[3], &old, sizeof old) < 0)
        return answer(n, EFAULT, 0);
    return answer(n, 0, 0);
}

/* nanosleep/clock_nanosleep: a long sleep is answered at once (timewarp.c), with a note for
 * the first ones; everything else continues without an event. */
enum { WARP_NOTES = 16 };

static int handle_sleep(struct sbx_notifier *n, const struct seccomp_data *d)
{
    if (!(n->flags & SBX_TIMEWARP) ||
        !sbx_timewarp_check((pid_t)n->req->pid, d, n->scratch.detail, sizeof n->scratch.detail))
        return (n->flags & SBX_TRACE_ALL) ? handle_traced(n, d) : answer(n, 0, 1);
    if (!id_valid(n)) return answer(n, 0, 1);   /* the caller is gone */
    n->warped++;
    if (n->warped <= WARP_NOTES + 1) {
        struct sbx_event ev;
        event_base(n, d, &ev);
        ev.kind = SBX_EV_NOTE;
        ev.detail = n->warped <= WARP_NOTES ? n->scratch.detail
                                            : "time accelerated: further long sleeps answered at once, not logged";
        emit(n, &ev);
    }
    return answer_value(n, 0);
}

static int is_plain_open(const struct seccomp_data *d)
{
    return is_native(d) && (d->nr == SYS_open || d->nr == SYS_openat);
}

/* A plain open or openat of a task whose pid slot and memory file are ready, with no exec in
 * flight: everything its answer needs was opened as ourselves before, so it may be answered
 * with the open identity a previous open left on. Anything else settles first. */
static int fast_lane(struct sbx_notifier *n, const struct seccomp_data *d)
{
    if (!is_plain_open(d) || n->exec_pending || n->mem_cache_off || n->fast.state != 1) return 0;
    const struct sbx_pidcache_slot *s = sbx_pidcache_slot_of(&n->pids, (int)n->req->pid);
    return s && s->mem_fd >= 0 && s->mem_epoch == n->mem_epoch;
}

/* Answer the notification received: 1 handled, -1 broken listener. */
static int dispatch(struct sbx_notifier *n, const struct seccomp_data *d)
{
    if (is_native(d) && d->nr == SYS_prlimit64 && (unsigned)d->args[1] == RLIMIT_CORE)
        return handle_core_limit(n, d) < 0 ? -1 : 1;
    if (is_native(d) && (d->nr == SYS_nanosleep || d->nr == SYS_clock_nanosleep))
        return handle_sleep(n, d) < 0 ? -1 : 1;
    switch (verdict_of(n, d)) {
    case SBX_V_DENY: return handle_denied(n, d) < 0 ? -1 : 1;
    case SBX_V_OBSERVE: return handle_observed(n, d) < 0 ? -1 : 1;
    case SBX_V_ALLOW: return handle_traced(n, d) < 0 ? -1 : 1;
    case SBX_V_ENOSYS: break;
    }
    return answer(n, ENOSYS, 0) < 0 ? -1 : 1;
}

/* Receive one notification and answer it. 1 handled, 0 nothing to do, -1 broken listener. */
static int handle_one(struct sbx_notifier *n)
{
    memset(n->req, 0, n->req_size);
    while (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_RECV, n->req) < 0) {
        if (errno == EINTR) continue;
        return errno == ENOENT ? 0 : -1;   /* ENOENT: the caller was interrupted or killed */
    }
    const struct seccomp_data *d = &n->req->data;
    if (!fast_lane(n, d)) settle(n);
    if (n->exec_pending) exec_check(n, (int)n->req->pid);
    /* Whatever ran so far ran as ourselves, or needed nothing more: a plain open may now keep
     * the identity on for the next one, unless an exec is still in flight. */
    n->keep_identity = is_plain_open(d) && !n->exec_pending && !n->mem_cache_off;
    int rc = dispatch(n, d);
    sbx_mem_bind(NULL);   /* bound by event_base for this call only */
    return rc;
}

/* One notification per call: the caller's poll said readable, so RECV cannot block (a
 * notification whose caller died since is still counted; RECV answers ENOENT for it). Asking
 * again here (a poll per call) almost always found nothing: a notified task makes its next
 * call long after its answer, and a burst is served by the caller's poll as well. */
int sbx_notifier_handle(struct sbx_notifier *n, sbx_error *err)
{
    if (handle_one(n) < 0)
        return sbx_fail(err, SBX_E_INTERNAL, errno, "seccomp notification: %s", strerror(errno));
    if (n->exec_pending) exec_reap(n);
    return 0;
}

/* ---- lifetime ---- */

static int alloc_buffers(struct sbx_notifier *n)
{
    struct seccomp_notif_sizes sizes = {0};
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) return -1;
    n->req_size = sizes.seccomp_notif > sizeof *n->req ? sizes.seccomp_notif : sizeof *n->req;
    n->resp_size = sizes.seccomp_notif_resp > sizeof *n->resp ? sizes.seccomp_notif_resp
                                                              : sizeof *n->resp;
    n->req = calloc(1, n->req_size);
    n->resp = calloc(1, n->resp_size);
    return n->req && n->resp ? 0 : -1;
}

struct sbx_notifier *sbx_notifier_new(int listener_fd, unsigned flags, uint64_t t0_ns,
                                      sbx_event_fn fn, void *ctx, sbx_error *err)
{
    struct sbx_notifier *n = calloc(1, sizeof *n);
    if (!n) {
        sbx_fail(err, SBX_E_INTERNAL, ENOMEM, "out of memory for the notifier");
        return NULL;
    }
    n->fd = listener_fd;
    n->flags = flags;
    n->t0 = t0_ns;
    n->fn = fn;
    n->ctx = ctx;
    sbx_pidcache_init(&n->pids);
    n->proxy.sock = -1;
    n->fast.rootfd = -1;
    n->self = getpid();
    for (int i = 0; i < EXEC_SLOTS; i++) n->exec[i].pidfd = n->exec[i].logged_fd = -1;
    if (alloc_buffers(n) < 0) {
        sbx_fail(err, SBX_E_INTERNAL, errno, "seccomp notification buffers: %s", strerror(errno));
        n->fd = -1;   /* on failure the caller still owns the listener */
        sbx_notifier_free(n);
        return NULL;
    }
    build_index(n);
    /* Wake the target on the supervisor's CPU (kernel >= 6.6): cheaper round trips.
     * Older kernels answer EINVAL/ENOTTY: fine. */
    (void)ioctl(n->fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
    return n;
}

int sbx_notifier_fd(const struct sbx_notifier *n) { return n->fd; }

void sbx_notifier_free(struct sbx_notifier *n)
{
    if (!n) return;
    settle(n);
    exec_flush(n);
    sbx_pidcache_clear(&n->pids);
    sbx_openproxy_free(&n->proxy);
    sbx_fastopen_free(&n->fast);
    if (n->fd >= 0) close(n->fd);
    free(n->req);
    free(n->resp);
    free(n);
}
