/*
 * decode_calls.c — what each observed syscall means, as data (argument layout and event kind),
 * and the decoders that turn registers plus the target's memory into an event.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "decode.h"
#include "syscalls.h"

enum { NONE = -1, CWD = -2 };   /* argument index: absent / implicit AT_FDCWD */

enum special { SP_NONE, SP_OPENAT2, SP_CREAT, SP_FD_PATH, SP_RAW_PATH2, SP_EXECVEAT };

struct sbx_observed;
typedef int (*decoder)(const struct sbx_observed *o, pid_t tid, const uint64_t *a,
                       struct sbx_scratch *s, struct sbx_event *ev);

struct sbx_observed {
    const char *name;
    sbx_event_kind kind;
    decoder decode;
    signed char dirfd, path, dirfd2, path2, flags, mode, argv;
    enum special special;
};

static int decode_open(const struct sbx_observed *, pid_t, const uint64_t *, struct sbx_scratch *,
                       struct sbx_event *);
static int decode_fs(const struct sbx_observed *, pid_t, const uint64_t *, struct sbx_scratch *,
                     struct sbx_event *);
static int decode_exec(const struct sbx_observed *, pid_t, const uint64_t *, struct sbx_scratch *,
                       struct sbx_event *);
static int decode_socket(const struct sbx_observed *, pid_t, const uint64_t *,
                         struct sbx_scratch *, struct sbx_event *);
static int decode_addr(const struct sbx_observed *, pid_t, const uint64_t *, struct sbx_scratch *,
                       struct sbx_event *);
static int decode_sendmsg(const struct sbx_observed *, pid_t, const uint64_t *,
                          struct sbx_scratch *, struct sbx_event *);

#define OPEN SBX_EV_OPEN, decode_open
#define FS SBX_EV_FS, decode_fs
#define NET SBX_EV_NET

static const struct sbx_observed observed[] = {
    /* name         kind+decoder  dirfd path dirfd2 path2 flags mode argv special */
    {"open",        OPEN,         CWD,  0,   NONE,  NONE, 1,    2,   NONE, SP_NONE},
    {"openat",      OPEN,         0,    1,   NONE,  NONE, 2,    3,   NONE, SP_NONE},
    {"openat2",     OPEN,         0,    1,   NONE,  NONE, NONE, NONE, NONE, SP_OPENAT2},
    {"creat",       OPEN,         CWD,  0,   NONE,  NONE, NONE, 1,   NONE, SP_CREAT},
    {"unlink",      FS,           CWD,  0,   NONE,  NONE, NONE, NONE, NONE, SP_NONE},
    {"unlinkat",    FS,           0,    1,   NONE,  NONE, 2,    NONE, NONE, SP_NONE},
    {"rmdir",       FS,           CWD,  0,   NONE,  NONE, NONE, NONE, NONE, SP_NONE},
    {"rename",      FS,           CWD,  0,   CWD,   1,    NONE, NONE, NONE, SP_NONE},
    {"renameat",    FS,           0,    1,   2,     3,    NONE, NONE, NONE, SP_NONE},
    {"renameat2",   FS,           0,    1,   2,     3,    4,    NONE, NONE, SP_NONE},
    {"link",        FS,           CWD,  0,   CWD,   1,    NONE, NONE, NONE, SP_NONE},
    {"linkat",      FS,           0,    1,   2,     3,    4,    NONE, NONE, SP_NONE},
    /* symlink: path is the new link, path2 its target text (not resolved) */
    {"symlink",     FS,           CWD,  1,   NONE,  0,    NONE, NONE, NONE, SP_RAW_PATH2},
    {"symlinkat",   FS,           1,    2,   NONE,  0,    NONE, NONE, NONE, SP_RAW_PATH2},
    {"chmod",       FS,           CWD,  0,   NONE,  NONE, NONE, 1,   NONE, SP_NONE},
    {"fchmod",      FS,           NONE, 0,   NONE,  NONE, NONE, 1,   NONE, SP_FD_PATH},
    {"fchmodat",    FS,           0,    1,   NONE,  NONE, NONE, 2,   NONE, SP_NONE},
    {"mkdir",       FS,           CWD,  0,   NONE,  NONE, NONE, 1,   NONE, SP_NONE},
    {"mkdirat",     FS,           0,    1,   NONE,  NONE, NONE, 2,   NONE, SP_NONE},
    {"execve",      SBX_EV_EXEC, decode_exec, CWD, 0, NONE, NONE, NONE, NONE, 1, SP_NONE},
    {"execveat",    SBX_EV_EXEC, decode_exec, 0, 1, NONE, NONE, 4, NONE, 2, SP_EXECVEAT},
    {"socket",      SBX_EV_SOCKET, decode_socket, NONE, NONE, NONE, NONE, NONE, NONE, NONE,
     SP_NONE},
    {"connect",     NET, decode_addr,    NONE, NONE, NONE, NONE, NONE, NONE, NONE, SP_NONE},
    {"bind",        NET, decode_addr,    NONE, NONE, NONE, NONE, NONE, NONE, NONE, SP_NONE},
    {"listen",      NET, decode_addr,    NONE, NONE, NONE, NONE, NONE, NONE, NONE, SP_NONE},
    {"sendto",      NET, decode_addr,    NONE, NONE, NONE, NONE, NONE, NONE, NONE, SP_NONE},
    {"sendmsg",     NET, decode_sendmsg, NONE, NONE, NONE, NONE, NONE, NONE, NONE, SP_NONE},
    {"sendmmsg",    NET, decode_sendmsg, NONE, NONE, NONE, NONE, NONE, NONE, NONE, SP_NONE},
};

const struct sbx_observed *sbx_observed_find(const char *syscall)
{
    for (size_t i = 0; i < sizeof observed / sizeof observed[0]; i++)
        if (strcmp(observed[i].name, syscall) == 0) return &observed[i];
    return NULL;
}

int sbx_observed_decode(const struct sbx_observed *o, pid_t tid, const uint64_t args[6],
                        struct sbx_scratch *s, struct sbx_event *ev)
{
    ev->kind = o->kind;
    return o->decode(o, tid, args, s, ev);
}

static int dirfd_of(int index, const uint64_t *a)
{
    return index == CWD ? AT_FDCWD : (int)a[index];
}

/*
 * Literal prefixes that name the caller itself. The open proxy has no pid inside the sandbox,
 * so they are rewritten to the caller's /proc/<pid> before the proxy resolves them.
 */
static const struct { const char *prefix; const char *to; } self_prefixes[] = {
    {"/proc/self", ""}, {"/dev/fd", "/fd"}, {"/dev/stdin", "/fd/0"}, {"/dev/stdout", "/fd/1"},
    {"/dev/stderr", "/fd/2"},
};

static const char *proxy_path(const char *raw, int ns_pid, char *out, size_t cap)
{
    for (size_t i = 0; i < sizeof self_prefixes / sizeof self_prefixes[0]; i++) {
        size_t l = strlen(self_prefixes[i].prefix);
        if (strncmp(raw, self_prefixes[i].prefix, l) != 0 || (raw[l] != 0 && raw[l] != '/'))
            continue;
        int n = snprintf(out, cap, "/proc/%d%s%s", ns_pid, self_prefixes[i].to, raw + l);
        return n > 0 && (size_t)n < cap ? out : raw;
    }
    return raw;
}

/* Our copy of the caller's descriptor dirfd, taken through a pidfd: how we reach it when the
 * caller is not dumpable and its /proc/TID/fd is closed to us (rootless: the directory is then
 * owned by a uid we are not; ptrace access, which pidfd_getfd checks, we still have). */
static int copy_dirfd(pid_t tid, int dirfd)
{
    int pidfd = sbx_task_pidfd(tid);
    if (pidfd < 0) return -1;
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, dirfd, 0);
    int e = errno;
    close(pidfd);
    errno = e;
    return fd;
}

/* An O_PATH descriptor of the base a relative open starts from (the caller's cwd or dirfd),
 * and its path for the log, read from *our* descriptor so log and open agree. A dirfd the
 * caller does not have: EBADF, as the kernel answers; a base we may not see (the cwd of a
 * non-dumpable caller, rootless): EACCES, so the call fails closed. */
static int open_base(pid_t tid, int dirfd, char *base, size_t cap)
{
    char link[64];
    if (dirfd == AT_FDCWD) snprintf(link, sizeof link, "/proc/%d/cwd", (int)tid);
    else snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)tid, dirfd);
    int fd = open(link, O_PATH | O_CLOEXEC);
    if (fd < 0 && errno == EACCES && dirfd != AT_FDCWD) fd = copy_dirfd(tid, dirfd);
    if (fd < 0) {
        errno = errno == EACCES || errno == EPERM ? EACCES : EBADF;
        return -1;
    }
    if (sbx_path_fd(getpid(), fd, base, cap) < 0) base[0] = 0;
    return fd;
}

static void join_path(const char *base, const char *raw, char *out, size_t cap, int *truncated)
{
    int n = raw[0] == '/' || !base[0] ? snprintf(out, cap, "%s", raw)
                                      : snprintf(out, cap, "%s/%s", base, raw);
    if (n < 0 || (size_t)n >= cap) *truncated = 1;
    if (out[0] == '/') sbx_path_fold(out);
}

static void open_flags_of(const struct sbx_observed *o, pid_t tid, const uint64_t *a,
                          struct sbx_proxy_call *oa, int *rc)
{
    *rc = 0;
    if (o->special == SP_OPENAT2) {
        struct open_how how = {0};
        size_t size = a[3] < sizeof how ? (size_t)a[3] : sizeof how;
        *rc = sbx_mem_read(tid, a[2], &how, size);
        oa->flags = how.flags;
        oa->mode = how.mode;
        oa->resolve = how.resolve;
        oa->openat2 = 1;
    } else if (o->special == SP_CREAT) {
        oa->flags = O_CREAT | O_WRONLY | O_TRUNC;
        oa->mode = (unsigned)a[o->mode];
    } else {
        oa->flags = (unsigned)a[o->flags];
        oa->mode = (oa->flags & (O_CREAT | __O_TMPFILE)) ? (unsigned)a[o->mode] & 07777 : 0;
    }
}

static int decode_open(const struct sbx_observed *o, pid_t tid, const uint64_t *a,
                       struct sbx_scratch *s, struct sbx_event *ev)
{
    struct sbx_proxy_call *oa = &s->call;
    int rc;
    oa->op = SBX_PROXY_OPEN;
    if (sbx_mem_string(tid, a[o->path], s->path, SBX_PATH_MAX, &ev->truncated) < 0) return -1;
    if (ev->truncated) { errno = ENAMETOOLONG; return -1; }
    open_flags_of(o, tid, a, oa, &rc);
    if (rc < 0) return -1;
    s->cwd[0] = 0;
    int scoped = oa->openat2 && (oa->resolve & (RESOLVE_IN_ROOT | RESOLVE_BENEATH));
    if (s->path[0] != '/' || scoped) {
        oa->dirfd = open_base(tid, dirfd_of(o->dirfd, a), s->cwd, sizeof s->cwd);
        if (oa->dirfd < 0) return -1;
    }
    join_path(s->cwd, s->path, s->abs, sizeof s->abs, &ev->truncated);
    oa->path = proxy_path(s->path, ev->pid, s->proxy_path, sizeof s->proxy_path);
    ev->path = s->abs;
    ev->flags = (long)oa->flags;
    ev->mode = (long)oa->mode;
    sbx_fmt_open_flags(ev->flags, s->detail, sizeof s->detail);
    ev->detail = s->detail;
    return 0;
}

/* How a path-changing call is performed by the proxy (fchmod works on a descriptor: not). */
static const struct { const char *name; enum sbx_proxy_op op; uint64_t flags; } fs_proxy[] = {
    {"unlink", SBX_PROXY_UNLINKAT, 0}, {"unlinkat", SBX_PROXY_UNLINKAT, 0},
    {"rmdir", SBX_PROXY_UNLINKAT, AT_REMOVEDIR}, {"rename", SBX_PROXY_RENAMEAT2, 0},
    {"renameat", SBX_PROXY_RENAMEAT2, 0}, {"renameat2", SBX_PROXY_RENAMEAT2, 0},
    {"link", SBX_PROXY_LINKAT, 0}, {"linkat", SBX_PROXY_LINKAT, 0},
    {"symlink", SBX_PROXY_SYMLINKAT, 0}, {"symlinkat", SBX_PROXY_SYMLINKAT, 0},
    {"chmod", SBX_PROXY_FCHMODAT, 0}, {"fchmodat", SBX_PROXY_FCHMODAT, 0},
    {"mkdir", SBX_PROXY_MKDIRAT, 0}, {"mkdirat", SBX_PROXY_MKDIRAT, 0},
};

/* Read a path argument; relative ones get an O_PATH base (our copy) and its path for the log,
 * so that what is logged and what the proxy uses are the same. */
static int fs_path(pid_t tid, int dirfd, uint64_t addr, char *raw, char *base, char *abs,
                   int *basefd, struct sbx_event *ev)
{
    if (sbx_mem_string(tid, addr, raw, SBX_PATH_MAX, &ev->truncated) < 0) return -1;
    if (ev->truncated) { errno = ENAMETOOLONG; return -1; }
    base[0] = 0;
    if (raw[0] != '/') {
        *basefd = open_base(tid, dirfd, base, SBX_PATH_MAX);
        if (*basefd < 0) return -1;
    }
    join_path(base, raw, abs, SBX_PATH_MAX, &ev->truncated);
    return 0;
}

static void fs_call(const struct sbx_observed *o, const uint64_t *a, struct sbx_scratch *s)
{
    struct sbx_proxy_call *c = &s->call;
    for (size_t i = 0; i < sizeof fs_proxy / sizeof fs_proxy[0]; i++) {
        if (strcmp(fs_proxy[i].name, o->name) != 0) continue;
        c->op = fs_proxy[i].op;
        c->flags = o->flags != NONE ? (unsigned)a[o->flags] : fs_proxy[i].flags;
        c->mode = o->mode != NONE ? a[o->mode] & 07777 : 0;
        if (c->op == SBX_PROXY_SYMLINKAT) {   /* target text, then the link and its base */
            c->path = s->path2;
            c->path2 = s->path;
            c->dirfd2 = c->dirfd;
            c->dirfd = -1;
        } else {
            c->path = s->path;
            c->path2 = s->path2;
        }
        return;
    }
}

static int decode_fs(const struct sbx_observed *o, pid_t tid, const uint64_t *a,
                     struct sbx_scratch *s, struct sbx_event *ev)
{
    struct sbx_proxy_call *c = &s->call;
    if (o->special == SP_FD_PATH) {   /* fchmod: a descriptor, answered CONTINUE */
        if (sbx_path_fd(tid, (int)a[o->path], s->abs, sizeof s->abs) < 0) return -1;
        ev->path = s->abs;
    } else {
        if (fs_path(tid, dirfd_of(o->dirfd, a), a[o->path], s->path, s->cwd, s->abs, &c->dirfd,
                    ev) < 0)
            return -1;
        ev->path = s->abs;
    }
    s->path2[0] = 0;
    if (o->path2 != NONE) {
        if (o->special == SP_RAW_PATH2) {
            if (sbx_mem_string(tid, a[o->path2], s->path2, SBX_PATH_MAX, &ev->truncated) < 0)
                return -1;
            ev->path2 = s->path2;
        } else {
            if (fs_path(tid, dirfd_of(o->dirfd2, a), a[o->path2], s->path2, s->base2, s->abs2,
                        &c->dirfd2, ev) < 0)
                return -1;
            ev->path2 = s->abs2;
        }
    }
    if (o->flags != NONE) ev->flags = (long)(unsigned)a[o->flags];
    if (o->mode != NONE) ev->mode = (long)(a[o->mode] & 07777);
    if (o->special != SP_FD_PATH) fs_call(o, a, s);
    return 0;
}

static int decode_exec(const struct sbx_observed *o, pid_t tid, const uint64_t *a,
                       struct sbx_scratch *s, struct sbx_event *ev)
{
    int dirfd = dirfd_of(o->dirfd, a);
    if (sbx_mem_string(tid, a[o->path], s->path, SBX_PATH_MAX, &ev->truncated) < 0) return -1;
    if (o->special == SP_EXECVEAT && s->path[0] == 0 && (a[o->flags] & AT_EMPTY_PATH)) {
        if (sbx_path_fd(tid, dirfd, s->abs, sizeof s->abs) < 0) return -1;
    } else {
        sbx_path_absolute(tid, dirfd, s->path, s->abs, sizeof s->abs, &ev->truncated);
    }
    ev->path = s->abs;
    if (sbx_mem_strv(tid, a[o->argv], s->argstore, sizeof s->argstore, s->argv,
                     SBX_ARGV_MAX + 1, &ev->truncated) < 0)
        return -1;
    ev->argv = s->argv;
    if (sbx_path_cwd(tid, s->cwd, sizeof s->cwd) >= 0) ev->cwd = s->cwd;
    if (o->flags != NONE) ev->flags = (long)(unsigned)a[o->flags];
    return 0;
}

static int decode_socket(const struct sbx_observed *o, pid_t tid, const uint64_t *a,
                         struct sbx_scratch *s, struct sbx_event *ev)
{
    (void)o; (void)tid;
    ev->sock_family = (int)a[0];
    ev->sock_type = (int)a[1];
    ev->sock_protocol = (int)a[2];
    ev->flags = (long)(unsigned)a[1];
    sbx_fmt_socket(ev->sock_family, ev->sock_type, ev->sock_protocol, s->detail,
                   sizeof s->detail);
    ev->detail = s->detail;
    return 0;
}

/*
 * Socket calls that name an address are emulated (notify.c, notify_openproxy.c): the address
 * bytes read here are the ones logged and the ones used; the kernel never reads them again.
 * A sockaddr longer than sockaddr_storage is EINVAL, as the kernel says.
 */
static int read_sockaddr(pid_t tid, uint64_t addr, uint64_t len, struct sbx_scratch *s,
                         struct sbx_event *ev)
{
    if (addr == 0 || len == 0) return 0;
    if ((uint32_t)len > SBX_SOCKADDR_MAX) { errno = EINVAL; return -1; }
    memset(s->sa, 0, sizeof s->sa);
    if (sbx_mem_read(tid, addr, s->sa, (size_t)(uint32_t)len) < 0) return -1;
    sbx_fmt_sockaddr(s->sa, (size_t)(uint32_t)len, &ev->addr);
    s->call.addr = s->sa;
    s->call.addr_len = (uint32_t)len;
    return 0;
}

static void emulate_socket_call(struct sbx_scratch *s, enum sbx_proxy_op op, int fd, uint64_t flags)
{
    s->call.op = op;
    s->call.target_fd = fd;
    s->call.flags = flags;
}

static int decode_addr(const struct sbx_observed *o, pid_t tid, const uint64_t *a,
                       struct sbx_scratch *s, struct sbx_event *ev)
{
    if (strcmp(o->name, "listen") == 0) return 0;
    if (strcmp(o->name, "sendto") == 0) {
        ev->bytes = a[2];
        if (read_sockaddr(tid, a[4], a[5], s, ev) < 0) return -1;
        if (a[4] == 0) return 0;   /* no address (a register): nothing to swap */
        if (a[2] > SBX_SEND_MAX) {
            snprintf(s->detail, sizeof s->detail, "address unverified (payload over %d bytes: continued)",
                     SBX_SEND_MAX);
            ev->detail = s->detail;
            return 0;
        }
        if (a[2] && sbx_mem_read(tid, a[1], s->data, (size_t)a[2]) < 0) return -1;
        s->call.data = s->data;
        s->call.data_len = (uint32_t)a[2];
        emulate_socket_call(s, SBX_PROXY_SEND, (int)a[0], (unsigned)a[3]);
        return 0;
    }
    if (read_sockaddr(tid, a[1], a[2], s, ev) < 0) return -1;   /* connect, bind */
    if (a[1] == 0 || a[2] == 0) return 0;
    emulate_socket_call(s, strcmp(o->name, "bind") == 0 ? SBX_PROXY_BIND : SBX_PROXY_CONNECT,
                        (int)a[0], 0);
    return 0;
}

/* Sum of the iovec lengths of one message (bounded); with gather, also copy the payload into
 * s->data (the caller checked that it fits). */
static int iov_bytes(pid_t tid, uint64_t iov, uint64_t count, struct sbx_event *ev,
                     uint64_t *sum, struct sbx_scratch *gather)
{
    struct iovec v[64] = {{0}};
    if (count > SBX_IOV_MAX) { count = SBX_IOV_MAX; ev->truncated = 1; }
    for (uint64_t done = 0; done < count;) {
        size_t take = count - done < 64 ? (size_t)(count - done) : 64;
        if (sbx_mem_read(tid, iov + done * sizeof v[0], v, take * sizeof v[0]) < 0) return -1;
        for (size_t i = 0; i < take; i++) {
            if (gather && v[i].iov_len) {
                if (*sum + v[i].iov_len > SBX_SEND_MAX) { errno = EMSGSIZE; return -1; }
                if (sbx_mem_read(tid, (uintptr_t)v[i].iov_base, gather->data + *sum,
                                 v[i].iov_len) < 0)
                    return -1;
            }
            *sum += v[i].iov_len;
        }
        done += take;
    }
    return 0;
}

#define MMSG_MAX 64   /* messages of one sendmmsg summed */

/*
 * sendmsg is emulated when it carries no control data and at most SBX_SEND_MAX bytes: payload
 * and address (or none) are then sent from our copy. Otherwise (and for sendmmsg) the call
 * continues, and when it named an address the event says the address is unverified.
 */
static int decode_sendmsg(const struct sbx_observed *o, pid_t tid, const uint64_t *a,
                          struct sbx_scratch *s, struct sbx_event *ev)
{
    int many = strcmp(o->name, "sendmmsg") == 0;
    uint64_t count = many ? (unsigned)a[2] : 1, sum = 0;
    if (count > MMSG_MAX) { count = MMSG_MAX; ev->truncated = 1; }
    for (uint64_t i = 0; i < count; i++) {
        struct msghdr m = {0};
        uint64_t at = a[1] + i * (many ? sizeof(struct mmsghdr) : sizeof m);
        if (sbx_mem_read(tid, at, &m, sizeof m) < 0) return -1;
        if (i == 0 && read_sockaddr(tid, (uintptr_t)m.msg_name, m.msg_namelen, s, ev) < 0)
            return -1;
        if (i == 0 && !many && m.msg_name && m.msg_namelen) {
            uint64_t total = 0;
            int fits = m.msg_controllen == 0 && m.msg_iovlen <= SBX_IOV_MAX &&
                       iov_bytes(tid, (uintptr_t)m.msg_iov, m.msg_iovlen, ev, &total, NULL) == 0 &&
                       total <= SBX_SEND_MAX;
            if (fits) {
                uint64_t got = 0;
                if (iov_bytes(tid, (uintptr_t)m.msg_iov, m.msg_iovlen, ev, &got, s) < 0) return -1;
                s->call.data = s->data;
                s->call.data_len = (uint32_t)got;
                emulate_socket_call(s, SBX_PROXY_SEND, (int)a[0], (unsigned)a[2]);
            } else {
                snprintf(s->detail, sizeof s->detail, "address unverified (%s: continued)",
                         m.msg_controllen ? "control data" : "payload over 64 KiB");
                ev->detail = s->detail;
            }
        } else if (i == 0 && !many && m.msg_controllen == 0 && m.msg_iovlen <= SBX_IOV_MAX) {
            /* No name now: another thread could add one before the kernel reads the header
             * again, so datagrams are sent from our copy as well (notify.c lets streams, which
             * ignore a name, continue). */
            uint64_t total = 0;
            if (iov_bytes(tid, (uintptr_t)m.msg_iov, m.msg_iovlen, ev, &total, NULL) == 0 &&
                total <= SBX_SEND_MAX) {
                uint64_t got = 0;
                if (iov_bytes(tid, (uintptr_t)m.msg_iov, m.msg_iovlen, ev, &got, s) < 0) return -1;
                s->call.data = s->data;
                s->call.data_len = (uint32_t)got;
                s->call.nameless = 1;
                emulate_socket_call(s, SBX_PROXY_SEND, (int)a[0], (unsigned)a[2]);
            }
        } else if (i == 0 && many && m.msg_name && m.msg_namelen) {
            snprintf(s->detail, sizeof s->detail, "address unverified (sendmmsg: continued)");
            ev->detail = s->detail;
        }
        if (iov_bytes(tid, (uintptr_t)m.msg_iov, m.msg_iovlen, ev, &sum, NULL) < 0) return -1;
    }
    ev->bytes = sum;
    return 0;
}

/* ---- denied calls: decoded from the registers only ---- */

const char *sbx_denied_detail(const char *syscall, const uint64_t a[6], struct sbx_scratch *s)
{
    char *d = s->detail;
    size_t cap = sizeof s->detail;
    if (!strcmp(syscall, "clone") || !strcmp(syscall, "unshare")) {
        sbx_fmt_clone_flags(a[0] & ~0xffull, d, cap);
    } else if (!strcmp(syscall, "setns")) {
        snprintf(d, cap, "nstype=0x%llx", (unsigned long long)a[1]);
    } else if (!strcmp(syscall, "socket")) {
        sbx_fmt_socket((int)a[0], (int)a[1], (int)a[2], d, cap);
    } else if (!strcmp(syscall, "ioctl")) {
        unsigned cmd = (unsigned)a[1];
        snprintf(d, cap, "cmd=0x%x%s", cmd,
                 cmd == 0x5412 ? " (TIOCSTI)" : cmd == 0x541c ? " (TIOCLINUX)" : "");
    } else if (!strcmp(syscall, "personality")) {
        snprintf(d, cap, "persona=0x%x", (unsigned)a[0]);
    } else if (!strcmp(syscall, "seccomp")) {
        snprintf(d, cap, "op=%u flags=0x%x (a filter with its own listener)", (unsigned)a[0],
                 (unsigned)a[1]);
    } else if (!strcmp(syscall, "setrlimit")) {
        snprintf(d, cap, "resource=RLIMIT_CORE (commands keep 1/1: a soft limit of 0 would let a "
                 "piped core_pattern take the core)");
    } else if (!strcmp(syscall, "ptrace")) {
        snprintf(d, cap, "request=%ld pid=%d", (long)a[0], (int)a[1]);
    } else {
        return NULL;
    }
    return d;
}
