/*
 * notify_openproxy.c — path calls performed on the target's behalf, so that what is logged is
 * what is done.
 *
 * Why: answering with SECCOMP_USER_NOTIF_FLAG_CONTINUE lets the kernel read the path from the
 * target's memory again, after we read and logged it; another thread (or any sharer of that
 * memory) can swap the string in between and open, unlink or rename something else under a
 * harmless log line. So these calls are emulated: the supervisor reads the paths once, and a
 * proxy process performs the call with exactly those strings. Opens hand the new fd to the
 * target with SECCOMP_IOCTL_NOTIF_ADDFD (SECCOMP_ADDFD_FLAG_SEND, which also answers the
 * call); unlink/rmdir/rename/link/symlink/chmod/mkdir answer with the proxy's result. The
 * kernel never reads the target's strings again. Socket calls with an address (connect, bind,
 * sendto, sendmsg) are performed the same way on the target's own socket, taken with
 * pidfd_getfd (see perform_socket here and in notify.c). The fake internet's sockets are made
 * here too (SBX_PROXY_LISTEN: socket, bind to the wildcard address, listen; the fd comes back
 * like an open's): inside the sandbox's network namespace, with the payload's identity.
 *
 * Privileges: the supervisor is more privileged than the target (host root, or the owner of
 * the sandbox's user namespaces, which grants every capability inside them), so it must not
 * act itself. The proxy is a child of the supervisor that joins the target's user namespaces
 * and its mount, net, ipc, uts, cgroup and time namespaces (procfs views such as /proc/sys/net,
 * /proc/sysvipc and the hostname follow the opener's namespaces), chroots into the target's root, takes the target's uid, gid and groups, drops
 * every capability (effective, permitted, bounding, ambient) and sets no_new_privs. It can do
 * exactly what the target could. It lives outside the sandbox's pid namespace, so the payload
 * cannot see, signal or trace it. Relative paths start from an O_PATH descriptor of the
 * target's cwd or dirfd that the supervisor opens through /proc/PID and passes along (its path,
 * read from that very descriptor, is what the log shows); the proxy's own credentials decide.
 * tests/unit/test_notify_ns.c checks native and proxied results are identical.
 *
 * Deviations, all toward "less": "/proc/self" resolves to nothing for the proxy (it has no pid
 * in the sandbox), so paths that reach it through a symlink fail with ENOENT; the supervisor
 * rewrites the literal prefixes /proc/self and /dev/{stdin,stdout,stderr,fd} to /proc/<pid>
 * before sending. Opens never block the supervisor: they are made O_NONBLOCK and the flag is
 * cleared afterwards, so a FIFO open does not wait for its peer (a write-only open of a FIFO
 * with no reader yet is made read-write). A reply slower than PROXY_REPLY_TIMEOUT_S fails the
 * call closed and replaces the proxy.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <grp.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "decode.h"

#define MAX_USERNS_DEPTH 8
#define PROXY_REPLY_TIMEOUT_S 5
#define MAX_GROUPS 64

#define PROXY_BUF (SBX_SOCKADDR_MAX + SBX_SEND_MAX > 2 * SBX_PATH_MAX \
                       ? SBX_SOCKADDR_MAX + SBX_SEND_MAX : 2 * SBX_PATH_MAX)

struct proxy_request {
    uint32_t op;           /* enum sbx_proxy_op */
    uint32_t openat2;      /* 1: openat2 with `resolve`; 0: openat */
    int32_t umask;         /* -1: unchanged */
    uint32_t fds;          /* bit 0: dirfd sent, bit 1: dirfd2 sent (in that order) */
    uint64_t flags, mode, resolve;
    uint32_t path2_at;     /* offset of path2 in `paths` */
    uint32_t addr_len;     /* socket calls: the address, then data_len bytes of payload */
    uint32_t data_len;
    uint32_t pad;
    char paths[PROXY_BUF];   /* path NUL path2 NUL, or address + payload */
};

struct proxy_reply { int32_t err; int32_t val; };

/* The target's namespaces the proxy joins besides the user namespaces (never pid: inside the
 * sandbox's pid namespace the payload could see and signal it). mnt decides path lookups; net,
 * ipc, uts, cgroup and time decide what procfs shows (/proc/sys/net, /proc/sysvipc, hostname,
 * /proc/self/cgroup, uptime) and, for net, where a unix socket's abstract name or an AF_INET
 * bind/connect performed by the proxy lands. */
static const struct { const char *name; int type; } joined_ns[] = {
    {"mnt", CLONE_NEWNS}, {"net", CLONE_NEWNET}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
    {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
};
#define NJOINED (sizeof joined_ns / sizeof joined_ns[0])

/* What the child needs to become the target, gathered by the parent before fork. */
struct proxy_plan {
    int userns[MAX_USERNS_DEPTH];  /* from ours (exclusive) down to the target's */
    int nuserns;
    int ns[NJOINED];               /* joined_ns[i] of the target; -1: same as ours (or absent) */
    int ns_after[NJOINED];         /* join ns[i] after userns[ns_after[i]] (-1: before any) */
    int rootfd;
    int chroot;                    /* the target's root differs from ours */
    uid_t uid;                     /* in the target's user namespace */
    gid_t gid;
    gid_t groups[MAX_GROUPS];      /* host view, applied before leaving our namespace */
    int ngroups;
};

/* ---- parent side: reading the target ---- */

static int read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0) return -1;
    buf[n] = 0;
    return 0;
}

/* The 4th (fs) id of a "Uid:" / "Gid:" status line, host view. */
static long status_fsid(const char *status, const char *key)
{
    const char *p = strstr(status, key);
    if (!p) return -1;
    p += strlen(key);
    long v = -1;
    for (int i = 0; i < 4; i++) v = strtol(p, (char **)&p, 10);
    return v;
}

/* Host id → id inside the target's user namespace, through its uid_map/gid_map. */
static long map_to_ns(pid_t pid, const char *file, long host)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    if (read_small(path, buf, sizeof buf) < 0) return -1;
    for (char *line = buf; *line;) {
        char *end;
        unsigned long inside = strtoul(line, &end, 10);
        unsigned long outside = strtoul(end, &end, 10);
        unsigned long count = strtoul(end, &end, 10);
        if ((unsigned long)host >= outside && (unsigned long)host - outside < count)
            return (long)(inside + ((unsigned long)host - outside));
        line = strchr(end, '\n');
        if (!line) break;
        line++;
    }
    return -1;
}

static void read_groups(const char *status, struct proxy_plan *plan)
{
    const char *p = strstr(status, "\nGroups:");
    plan->ngroups = 0;
    if (!p) return;
    p += 8;
    while (plan->ngroups < MAX_GROUPS) {
        char *end;
        long g = strtol(p, &end, 10);
        if (end == p) break;
        plan->groups[plan->ngroups++] = (gid_t)g;
        p = end;
    }
}

static int same_ns(int a, int b)
{
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_ino == sb.st_ino &&
           sa.st_dev == sb.st_dev;
}

static int open_ns(pid_t pid, const char *kind)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, kind);
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* The user namespaces from just below ours down to the target's, and where the mount
 * namespace's owner sits among them. */
static int plan_namespaces(pid_t pid, struct proxy_plan *plan)
{
    int own_user = open_ns(getpid(), "user"), user = open_ns(pid, "user"), rc = -1;
    if (own_user < 0 || user < 0) goto out;
    int chain[MAX_USERNS_DEPTH], n = 0;
    while (!same_ns(user, own_user)) {
        if (n == MAX_USERNS_DEPTH) break;
        chain[n++] = user;
        user = ioctl(user, NS_GET_PARENT);
        if (user < 0) break;      /* not below ours: cannot join */
    }
    if (user < 0 || n == MAX_USERNS_DEPTH) {
        for (int i = 0; i < n; i++) close(chain[i]);
        goto out;
    }
    close(user);
    user = -1;
    for (int i = 0; i < n; i++) plan->userns[i] = chain[n - 1 - i];   /* top first */
    plan->nuserns = n;
    for (size_t k = 0; k < NJOINED; k++) {
        int theirs = open_ns(pid, joined_ns[k].name), missing = theirs < 0 && errno == ENOENT;
        int ours = open_ns(getpid(), joined_ns[k].name);
        if (missing && k > 0) {   /* a kernel without this namespace */
            if (ours >= 0) close(ours);
            continue;
        }
        if (theirs < 0 || ours < 0) {
            if (theirs >= 0) close(theirs);
            if (ours >= 0) close(ours);
            goto out;
        }
        int same = same_ns(theirs, ours);
        close(ours);
        if (same) {
            close(theirs);
            continue;
        }
        plan->ns[k] = theirs;
        int owner = ioctl(theirs, NS_GET_USERNS);
        for (int i = 0; owner >= 0 && i < n; i++)
            if (same_ns(owner, plan->userns[i])) plan->ns_after[k] = i;
        if (owner >= 0) close(owner);
    }
    rc = 0;
out:
    if (own_user >= 0) close(own_user);
    if (user >= 0) close(user);
    return rc;
}

static int plan_identity(pid_t pid, struct proxy_plan *plan)
{
    char path[64], status[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (read_small(path, status, sizeof status) < 0) return -1;
    long uid = map_to_ns(pid, "uid_map", status_fsid(status, "\nUid:"));
    long gid = map_to_ns(pid, "gid_map", status_fsid(status, "\nGid:"));
    if (uid < 0 || gid < 0) return -1;
    plan->uid = (uid_t)uid;
    plan->gid = (gid_t)gid;
    read_groups(status, plan);
    snprintf(path, sizeof path, "/proc/%d/root", (int)pid);
    plan->rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct stat theirs, ours;
    if (plan->rootfd < 0 || fstat(plan->rootfd, &theirs) < 0 || stat("/", &ours) < 0) return -1;
    plan->chroot = theirs.st_dev != ours.st_dev || theirs.st_ino != ours.st_ino;
    return 0;
}

static void plan_close(struct proxy_plan *plan)
{
    for (int i = 0; i < plan->nuserns; i++) close(plan->userns[i]);
    for (size_t k = 0; k < NJOINED; k++)
        if (plan->ns[k] >= 0) close(plan->ns[k]);
    if (plan->rootfd >= 0) close(plan->rootfd);
}

/* ---- child side: becoming the target, then serving ---- */

static int drop_capabilities(void)
{
    /* EPERM: we never held CAP_SETPCAP, so nothing to drop from (and we never exec). */
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM)
            return -1;
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    if (syscall(SYS_capset, &h, d) < 0) return -1;
    return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL ? -1 : 0;
}

/*
 * The proxy's own filter, installed last: it may only serve requests. Built by hand (no
 * allocation after fork). Anything else fails with EPERM rather than killing the proxy.
 */
static const int proxy_syscalls[] = {
    SYS_recvmsg, SYS_sendmsg, SYS_openat, SYS_openat2, SYS_fcntl, SYS_close, SYS_umask,
    SYS_unlinkat, SYS_mkdirat, SYS_renameat2, SYS_linkat, SYS_symlinkat, SYS_fchmodat,
    SYS_connect, SYS_bind, SYS_getsockopt, SYS_setsockopt, SYS_fchdir, SYS_chdir,
    SYS_socket, SYS_listen,
    SYS_exit, SYS_exit_group, SYS_rt_sigreturn, SYS_restart_syscall,
};
#define NPROXY_SYSCALLS (sizeof proxy_syscalls / sizeof proxy_syscalls[0])

static int confine_proxy(void)
{
    struct sock_filter prog[NPROXY_SYSCALLS + 8];
    size_t n = 0;
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                             offsetof(struct seccomp_data, arch));
    prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                             offsetof(struct seccomp_data, nr));
    for (size_t i = 0; i < NPROXY_SYSCALLS; i++)   /* match: jump to the ALLOW after the list */
        prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
                                                 (unsigned)proxy_syscalls[i],
                                                 (unsigned char)(NPROXY_SYSCALLS - i), 0);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog fprog = {(unsigned short)n, prog};
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
}

/* Join the namespaces owned by userns[level] (-1: by ours), while we hold every capability in
 * it: setns() wants CAP_SYS_ADMIN over the namespace's owner, which a deeper user namespace no
 * longer grants. */
static int join_owned(const struct proxy_plan *plan, int level)
{
    for (size_t k = 0; k < NJOINED; k++)
        if (plan->ns[k] >= 0 && plan->ns_after[k] == level && setns(plan->ns[k], joined_ns[k].type) < 0)
            return -1;
    return 0;
}

static int become_target(const struct proxy_plan *plan)
{
    /* Groups first, while we may still change them (host root); rootless callers share the
     * target's groups already (user namespaces with setgroups denied keep the inherited ones). */
    (void)setgroups((size_t)plan->ngroups, plan->groups);
    if (join_owned(plan, -1) < 0) return -1;
    for (int i = 0; i < plan->nuserns; i++) {
        if (setns(plan->userns[i], CLONE_NEWUSER) < 0) return -1;
        if (join_owned(plan, i) < 0) return -1;
    }
    if (plan->chroot && (fchdir(plan->rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0))
        return -1;
    if (setresgid(plan->gid, plan->gid, plan->gid) < 0) return -1;
    if (setresuid(plan->uid, plan->uid, plan->uid) < 0) return -1;
    if (drop_capabilities() < 0) return -1;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return -1;
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/*
 * Receive, polling briefly before sleeping. Each open is a ping-pong between the supervisor
 * and the proxy; on small VMs waking a sleeping peer on an idle CPU costs tens of
 * microseconds, far more than the open itself, so both sides spin a little first.
 */
#define SPIN_TRIES 300

static ssize_t recv_spin(int sock, struct msghdr *m)
{
    ssize_t n;
    for (int i = 0; i < SPIN_TRIES; i++) {
        n = recvmsg(sock, m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n >= 0 || (errno != EAGAIN && errno != EINTR)) return n;
    }
    do n = recvmsg(sock, m, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    return n;
}

/* One request and its base descriptors (AT_FDCWD, the proxy's root-relative cwd, if absent). */
static int recv_request(int sock, struct proxy_request *req, int *dirfd, int *dirfd2)
{
    char control[CMSG_SPACE(2 * sizeof(int))];
    struct iovec iov = {req, sizeof *req};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                       .msg_controllen = sizeof control};
    int fds[2] = {-1, -1}, nfds = 0;
    ssize_t n = recv_spin(sock, &m);
    if (n <= (ssize_t)offsetof(struct proxy_request, paths)) return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        memcpy(fds, CMSG_DATA(c), (size_t)(nfds < 2 ? nfds : 2) * sizeof(int));
    }
    ((char *)req)[n < (ssize_t)sizeof *req ? n : (ssize_t)sizeof *req - 1] = 0;
    req->paths[sizeof req->paths - 1] = 0;
    if (req->path2_at >= sizeof req->paths) req->path2_at = sizeof req->paths - 1;
    int next = 0;
    *dirfd = (req->fds & 1) ? fds[next++] : AT_FDCWD;
    *dirfd2 = (req->fds & 2) ? fds[next++] : AT_FDCWD;
    if (*dirfd < 0) *dirfd = AT_FDCWD;
    if (*dirfd2 < 0) *dirfd2 = AT_FDCWD;
    return 0;
}

static int open_once(const struct proxy_request *req, int dirfd, uint64_t flags)
{
    if (!req->openat2) return (int)syscall(SYS_openat, dirfd, req->paths, (int)flags, (int)req->mode);
    struct open_how how = {flags, req->mode, req->resolve};
    return (int)syscall(SYS_openat2, dirfd, req->paths, &how, sizeof how);
}

/* The open itself: never blocks (see the header), O_NONBLOCK restored to what was asked. */
static int proxy_open(const struct proxy_request *req, int dirfd)
{
    uint64_t flags = (req->flags | O_NONBLOCK | O_CLOEXEC);
    int fd = open_once(req, dirfd, flags);
    if (fd < 0 && errno == ENXIO && !(req->flags & O_NONBLOCK) &&
        (req->flags & O_ACCMODE) == O_WRONLY)
        fd = open_once(req, dirfd, (flags & ~(uint64_t)O_ACCMODE) | O_RDWR);
    if (fd < 0) return -errno;
    if (!(req->flags & O_NONBLOCK)) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    }
    return fd;
}

/*
 * connect on the target's socket. A blocking socket would block us (and the supervisor) until
 * the peer answers, so a per-call SO_SNDTIMEO bounds the wait (connect honours it: TCP then
 * answers EINPROGRESS and keeps connecting, AF_UNIX EAGAIN); the caller's own value is put
 * back right after. Chosen over toggling O_NONBLOCK: both are shared with the target's other
 * threads for the same few microseconds, but a timeout only shortens a wait, it never turns a
 * blocking read of another thread into EAGAIN. Inside the sandbox's network namespace every
 * address is local or unreachable, so TCP connects to a listener complete at once.
 */
static long sock_connect(int sock, const struct sockaddr *sa, socklen_t len, int bind_only)
{
    if (bind_only) return bind(sock, sa, len);
    int fl = fcntl(sock, F_GETFL);
    struct timeval old = {0, 0}, lim = {0, 2000};   /* TCP: 2 ms, then the kernel waits */
    if (sa->sa_family == AF_UNIX) lim.tv_sec = 1, lim.tv_usec = 0;
    socklen_t ol = sizeof old;
    int set = fl >= 0 && !(fl & O_NONBLOCK) &&
              getsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &old, &ol) == 0 &&
              ((old.tv_sec == 0 && old.tv_usec == 0) || old.tv_sec > lim.tv_sec ||
               (old.tv_sec == lim.tv_sec && old.tv_usec > lim.tv_usec)) &&
              setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &lim, sizeof lim) == 0;
    long rc = connect(sock, sa, len);
    int e = errno;
    if (set) (void)setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &old, sizeof old);
    errno = e;
    return rc;
}

long sbx_sock_call(enum sbx_proxy_op op, int sock, const void *addr, uint32_t addr_len,
                   const void *data, uint32_t data_len, uint64_t flags)
{
    const struct sockaddr *sa = addr;
    if (sock < 0 || addr_len > SBX_SOCKADDR_MAX || data_len > SBX_SEND_MAX) {
        errno = EINVAL;
        return -1;
    }
    if (op == SBX_PROXY_SEND) {
        struct iovec iov = {(void *)data, data_len};
        struct msghdr m = {.msg_name = (void *)sa, .msg_namelen = addr_len, .msg_iov = &iov,
                           .msg_iovlen = 1};
        return sendmsg(sock, &m, (int)flags | MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    return sock_connect(sock, sa, addr_len, op == SBX_PROXY_BIND);
}

/* Socket calls in the proxy: address (+ payload) from the request, the socket in dirfd2, and
 * for a relative AF_UNIX path the target's cwd in dirfd (entered for the call, left after). */
static long perform_socket(const struct proxy_request *req, int cwd, int sock)
{
    if (cwd >= 0 && fchdir(cwd) < 0) return -1;
    long rc = sbx_sock_call((enum sbx_proxy_op)req->op, sock, req->paths, req->addr_len,
                            req->paths + req->addr_len, req->data_len, req->flags);
    int e = errno;
    if (cwd >= 0 && chdir("/") < 0) e = e ? e : errno;
    errno = e;
    return rc;
}

/* SBX_PROXY_LISTEN: the fake internet's socket for one port, made as the target (decode.h). */
static int proxy_listen(const struct proxy_request *req)
{
    int family = (int)req->flags, type = (int)req->mode;
    unsigned port = (unsigned)req->resolve;
    if ((family != AF_INET && family != AF_INET6) || (type != SOCK_STREAM && type != SOCK_DGRAM) ||
        port > 65535)
        return -EINVAL;
    int s = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) return -errno;
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    int zero = 0, rc;
    if (family == AF_INET6) {
        (void)setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        memset(&a6, 0, sizeof a6);
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)port);
        rc = bind(s, (const struct sockaddr *)&a6, sizeof a6);
    } else {
        memset(&a4, 0, sizeof a4);
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)port);
        rc = bind(s, (const struct sockaddr *)&a4, sizeof a4);
    }
    if (rc == 0 && type == SOCK_STREAM) rc = listen(s, 128);
    if (rc < 0) {
        int e = errno;
        close(s);
        return -e;
    }
    return s;
}

/* Perform one request: a new fd for opens, a byte count for sends, else 0; -errno on failure. */
static int perform(const struct proxy_request *req, int dirfd, int dirfd2)
{
    const char *path = req->paths, *path2 = req->paths + req->path2_at;
    long rc;
    if (req->umask >= 0) umask((mode_t)req->umask);
    switch (req->op) {
    case SBX_PROXY_CONNECT:
    case SBX_PROXY_BIND:
    case SBX_PROXY_SEND:
        rc = perform_socket(req, dirfd == AT_FDCWD ? -1 : dirfd, dirfd2 == AT_FDCWD ? -1 : dirfd2);
        return rc < 0 ? -errno : (int)rc;
    case SBX_PROXY_OPEN: return proxy_open(req, dirfd);
    case SBX_PROXY_LISTEN: return proxy_listen(req);
    case SBX_PROXY_UNLINKAT: rc = unlinkat(dirfd, path, (int)req->flags); break;
    case SBX_PROXY_MKDIRAT: rc = mkdirat(dirfd, path, (mode_t)req->mode); break;
    case SBX_PROXY_RENAMEAT2:
        rc = syscall(SYS_renameat2, dirfd, path, dirfd2, path2, (unsigned)req->flags);
        break;
    case SBX_PROXY_LINKAT: rc = linkat(dirfd, path, dirfd2, path2, (int)req->flags); break;
    case SBX_PROXY_SYMLINKAT: rc = symlinkat(path, dirfd2, path2); break;
    case SBX_PROXY_FCHMODAT: rc = syscall(SYS_fchmodat, dirfd, path, (mode_t)req->mode); break;
    default: errno = ENOSYS; rc = -1; break;
    }
    return rc < 0 ? -errno : 0;
}

static void send_reply(int sock, int result, int is_fd)
{
    char control[CMSG_SPACE(sizeof(int))];
    struct proxy_reply r = {result < 0 ? result : 0, result < 0 || is_fd ? 0 : result};
    struct iovec iov = {&r, sizeof r};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (result >= 0 && is_fd) {
        memset(control, 0, sizeof control);
        m.msg_control = control;
        m.msg_controllen = sizeof control;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &result, sizeof result);
    }
    while (sendmsg(sock, &m, MSG_NOSIGNAL) < 0 && errno == EINTR) {}
}

static void serve(int sock)
{
    static struct proxy_request req;   /* the proxy is a single-threaded process of its own */
    int dirfd, dirfd2;
    while (recv_request(sock, &req, &dirfd, &dirfd2) == 0) {
        int is_fd = req.op == SBX_PROXY_OPEN || req.op == SBX_PROXY_LISTEN;
        int result = perform(&req, dirfd, dirfd2);
        send_reply(sock, result, is_fd);
        if (is_fd && result >= 0) close(result);
        if (dirfd >= 0) close(dirfd);
        if (dirfd2 >= 0) close(dirfd2);
    }
}

/* The caller's signal handlers must never run in the proxy, and terminal signals meant for
 * the caller's process group must not reach it. */
static void reset_signals(void)
{
    struct sigaction dfl;
    sigset_t none;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) (void)sigaction(sig, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    (void)setpgid(0, 0);
}

static void child_main(int sock, const struct proxy_plan *plan, pid_t parent)
{
    reset_signals();
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent) _exit(1);
    if (become_target(plan) < 0) _exit(2);
    if (sock != 3 && (dup2(sock, 3) < 0)) _exit(3);
    syscall(SYS_close_range, 0, 2, 0);
    syscall(SYS_close_range, 4, ~0u, 0);
    if (confine_proxy() < 0) _exit(4);
    serve(3);
    _exit(0);
}

/* ---- public: start, open, stop ---- */

int sbx_openproxy_start(struct sbx_openproxy *p, pid_t target)
{
    struct proxy_plan plan;
    int sv[2];
    memset(&plan, 0, sizeof plan);
    plan.rootfd = -1;
    for (size_t k = 0; k < NJOINED; k++) plan.ns[k] = plan.ns_after[k] = -1;
    if (plan_namespaces(target, &plan) < 0 || plan_identity(target, &plan) < 0 ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        plan_close(&plan);
        return -1;
    }
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) child_main(sv[1], &plan, parent);
    plan_close(&plan);
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return -1;
    }
    /* A proxy stuck in an open (a device, a hung filesystem) must not stall the supervisor:
     * after this long the call fails closed and the proxy is replaced. */
    struct timeval limit = {PROXY_REPLY_TIMEOUT_S, 0};
    (void)setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    p->pid = pid;
    p->sock = sv[0];
    if (!p->req) p->req = calloc(1, sizeof *p->req);
    return 0;
}

void sbx_openproxy_stop(struct sbx_openproxy *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR) {}
    }
    if (p->sock >= 0) close(p->sock);
    p->pid = 0;
    p->sock = -1;
}

void sbx_openproxy_free(struct sbx_openproxy *p)
{
    sbx_openproxy_stop(p);
    free(p->req);
    p->req = NULL;
}

static int send_request(int sock, const struct proxy_request *req, size_t len,
                        const int *fds, int nfds)
{
    char control[CMSG_SPACE(2 * sizeof(int))];
    struct iovec iov = {(void *)req, len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds > 0) {
        memset(control, 0, sizeof control);
        m.msg_control = control;
        m.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
    }
    ssize_t n;
    do n = sendmsg(sock, &m, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)len ? 0 : -1;
}

static int recv_reply(int sock, int *fd)
{
    char control[CMSG_SPACE(sizeof(int))];
    struct proxy_reply r = {-EIO, 0};
    struct iovec iov = {&r, sizeof r};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                       .msg_controllen = sizeof control};
    ssize_t n = recv_spin(sock, &m);
    *fd = -1;
    if (n != (ssize_t)sizeof r) return SBX_OPENPROXY_BROKEN;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        memcpy(fd, CMSG_DATA(c), sizeof *fd);
    if (r.err == 0) return r.val;
    return r.err;
}

int sbx_openproxy_call(struct sbx_openproxy *p, const struct sbx_proxy_call *a)
{
    struct proxy_request *req = p->req;
    if (p->pid <= 0 || p->sock < 0 || !req) return SBX_OPENPROXY_BROKEN;
    memset(req, 0, offsetof(struct proxy_request, paths));
    req->op = (uint32_t)a->op;
    req->openat2 = (uint32_t)a->openat2;
    req->umask = a->umask;
    req->flags = a->flags;
    req->mode = a->mode;
    req->resolve = a->resolve;
    size_t msg;
    int sockcall = a->op == SBX_PROXY_CONNECT || a->op == SBX_PROXY_BIND || a->op == SBX_PROXY_SEND;
    if (sockcall) {
        if (a->addr_len > SBX_SOCKADDR_MAX || a->data_len > SBX_SEND_MAX) return -EINVAL;
        req->addr_len = a->addr_len;
        req->data_len = a->data_len;
        if (a->addr_len) memcpy(req->paths, a->addr, a->addr_len);
        if (a->data_len) memcpy(req->paths + a->addr_len, a->data, a->data_len);
        msg = offsetof(struct proxy_request, paths) + a->addr_len + a->data_len + 1;
    } else if (a->op == SBX_PROXY_LISTEN) {
        msg = offsetof(struct proxy_request, paths) + 1;
    } else {
        const char *path2 = a->path2 ? a->path2 : "";
        size_t len = strlen(a->path), len2 = strlen(path2);
        if (len >= SBX_PATH_MAX || len2 >= SBX_PATH_MAX) return -ENAMETOOLONG;
        memcpy(req->paths, a->path, len + 1);
        req->path2_at = (uint32_t)(len + 1);
        memcpy(req->paths + len + 1, path2, len2 + 1);
        msg = offsetof(struct proxy_request, paths) + len + 1 + len2 + 1;
    }
    int fds[2], nfds = 0;
    if (a->dirfd >= 0) { req->fds |= 1; fds[nfds++] = a->dirfd; }
    if (a->dirfd2 >= 0) { req->fds |= 2; fds[nfds++] = a->dirfd2; }
    if (send_request(p->sock, req, msg, fds, nfds) < 0) return SBX_OPENPROXY_BROKEN;
    int fd = -1, rc = recv_reply(p->sock, &fd);
    if (rc < 0 || (a->op != SBX_PROXY_OPEN && a->op != SBX_PROXY_LISTEN)) {
        if (fd >= 0) close(fd);
        return rc;
    }
    return fd >= 0 ? fd : SBX_OPENPROXY_BROKEN;
}
