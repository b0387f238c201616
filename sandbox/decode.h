/*
 * decode.h — the supervisor's readers and formatters for notified calls: the target's memory,
 * its paths, its pids as seen inside the sandbox, and human-readable flag strings.
 * Private to libsbx's notify files. Everything is bounded; nothing allocates.
 */
#ifndef SCRIPTBOX_SANDBOX_DECODE_H
#define SCRIPTBOX_SANDBOX_DECODE_H

#include <stddef.h>
#include <linux/capability.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox.h"

#define SBX_PATH_MAX 4096         /* one path or argv string, NUL included */
#define SBX_ARGV_MAX 256          /* argv entries kept */
#define SBX_ARGV_BYTES 65536      /* argv bytes kept in total */
#define SBX_IOV_MAX 1024          /* iovec entries summed for a sendmsg */
#define SBX_SOCKADDR_MAX 128      /* sizeof(struct sockaddr_storage): the kernel's limit too */
#define SBX_SEND_MAX 65536        /* payload bytes of one emulated sendto/sendmsg */

/* ---- the target's memory (decode_mem.c) ---- */

/* Read a NUL-terminated string at addr into buf (cap >= 1, NUL-terminated on success).
 * Page-boundary safe: a string ending right before an unmapped page is read. Returns its
 * length, or -1 with errno (EFAULT when unreadable). *truncated is set when cut at cap - 1. */
ssize_t sbx_mem_string(pid_t pid, uint64_t addr, char *buf, size_t cap, int *truncated);

/* Read exactly len bytes at addr. 0 or -1 with errno. */
int sbx_mem_read(pid_t pid, uint64_t addr, void *buf, size_t len);

/* Write exactly len (<= 4096) bytes at addr (an out-argument of an emulated call). 0 or -1. */
int sbx_mem_write(pid_t pid, uint64_t addr, const void *buf, size_t len);

/* The task being answered: its reads go through the slot's /proc/TID/mem (opened on first use)
 * instead of process_vm_readv. The slot must have been validated by sbx_pidcache_lookup for
 * this notification, and its mem_fd must still be of the task's address space (the caller
 * closes it after any exec); NULL unbinds. Per thread. */
struct sbx_pidcache_slot;
void sbx_mem_bind(struct sbx_pidcache_slot *slot);

/* Read up to len bytes at addr, stopping at the first unreadable page. Bytes read, or -1. */
ssize_t sbx_mem_read_upto(pid_t pid, uint64_t addr, void *buf, size_t len);

/* argv-style pointer array at addr: strings into store (cap bytes), pointers into vec
 * (vcap entries, the last left for the NULL). Returns the count, or -1 with errno. */
int sbx_mem_strv(pid_t pid, uint64_t addr, char *store, size_t cap, const char **vec,
                 size_t vcap, int *truncated);

/* ---- paths (decode_path.c) ---- */

/* The target's working directory / the path behind one of its descriptors, as the target sees
 * it (readlink of /proc/PID/cwd and /proc/PID/fd/N). Length, or -1. */
ssize_t sbx_path_cwd(pid_t pid, char *out, size_t cap);
ssize_t sbx_path_fd(pid_t pid, int fd, char *out, size_t cap);

/* Make path absolute for the target: relative paths against dirfd (AT_FDCWD: its cwd), then
 * "." and ".." folded lexically. Returns 0, or -1 when the base is unknown (out then holds the
 * path as given). Sets *truncated when the result was cut. */
int sbx_path_absolute(pid_t pid, int dirfd, const char *path, char *out, size_t cap,
                      int *truncated);

/* Fold "", "." and ".." components of an absolute path in place (lexically). */
void sbx_path_fold(char *path);

/* ---- pids (decode_pid.c) ---- */

#define SBX_PIDCACHE_SLOTS 64

struct sbx_pidcache_slot {
    int host;              /* host pid or tid; 0 = free */
    int pidfd;             /* this very task (-1: none, the stat file validates instead) */
    int stat_fd;           /* /proc/HOST/stat, kept open: ppid and start time */
    unsigned long long start;  /* start time (field 22): a reused pid differs */
    int ppid;              /* host ppid when last read: changes only when the parent dies */
    int ns_tgid;           /* thread group id inside the target's innermost pid namespace */
    int levels;            /* pid namespace depth (entries in NStgid) */
    int mem_fd;            /* /proc/HOST/mem once read through (decode_mem.c), or -1 */
    unsigned mem_epoch;    /* the notifier's exec epoch when mem_fd was opened (notify.c) */
};

struct sbx_pidcache {
    struct sbx_pidcache_slot slot[SBX_PIDCACHE_SLOTS];
    unsigned next;         /* round-robin victim */
};

void sbx_pidcache_init(struct sbx_pidcache *c);
void sbx_pidcache_clear(struct sbx_pidcache *c);
/* pid and ppid of host tid as seen inside its pid namespace (0 when unknown or outside). */
void sbx_pidcache_lookup(struct sbx_pidcache *c, int host_tid, int *pid, int *ppid);
/* A pidfd of this task: of the thread itself where the kernel can (PIDFD_THREAD, >= 6.9), else
 * of a group leader. -1 with errno. */
int sbx_task_pidfd(int host);
/* The slot of a task looked up (and valid) since its last notification, or NULL. */
struct sbx_pidcache_slot *sbx_pidcache_slot_of(struct sbx_pidcache *c, int host_tid);

/* ---- formatting (decode_fmt.c) ---- */

void sbx_fmt_open_flags(long flags, char *out, size_t cap);   /* "write,create,trunc" */
void sbx_fmt_clone_flags(uint64_t flags, char *out, size_t cap); /* "CLONE_NEWUSER|..." */
void sbx_fmt_socket(int family, int type, int protocol, char *out, size_t cap);
/* Decode a sockaddr of len bytes; returns 0, or -1 for an unsupported family (family kept). */
int sbx_fmt_sockaddr(const void *sa, size_t len, struct sbx_sockaddr *out);

/* ---- path calls performed for the target (notify_openproxy.c) ---- */

/* What the proxy performs. Opens return a descriptor; the rest 0 or -errno. */
enum sbx_proxy_op {
    SBX_PROXY_NONE = 0,           /* not proxied: answered CONTINUE */
    SBX_PROXY_OPEN,               /* openat (or openat2 when `openat2`) */
    SBX_PROXY_UNLINKAT,           /* flags: AT_REMOVEDIR */
    SBX_PROXY_MKDIRAT,            /* mode */
    SBX_PROXY_RENAMEAT2,          /* path → path2, flags */
    SBX_PROXY_LINKAT,             /* path → path2, flags */
    SBX_PROXY_SYMLINKAT,          /* path2 (the link) → path (target text, not resolved) */
    SBX_PROXY_FCHMODAT,           /* mode */
    /* On the target's socket (a pidfd_getfd copy in dirfd2), with exactly the address bytes we
     * logged; dirfd: the target's cwd for a relative AF_UNIX path. */
    SBX_PROXY_CONNECT,
    SBX_PROXY_BIND,
    SBX_PROXY_SEND,               /* sendmsg(addr, data, flags | MSG_DONTWAIT | MSG_NOSIGNAL) */
    /* Fake internet: a new socket in the target's network namespace, made with the target's
     * credentials: socket(flags = family, mode = type), IPV6_V6ONLY off for AF_INET6, bound to
     * the wildcard address and port `resolve`, listen(128) for SOCK_STREAM; non-blocking,
     * close-on-exec. Returns our copy of it (like an open), or -errno (EADDRINUSE: the package
     * holds the port). */
    SBX_PROXY_LISTEN,
};

struct sbx_proxy_call {
    enum sbx_proxy_op op;
    int openat2;                  /* 1: openat2 semantics with `resolve` */
    int umask;                    /* the target's umask for creating calls, else -1 */
    uint64_t flags, mode, resolve;
    const char *path, *path2;     /* exactly what is used, relative to dirfd / dirfd2 */
    int dirfd, dirfd2;            /* O_PATH bases in the target's view, or -1 (absolute) */
    /* socket calls */
    int target_fd;                /* the socket's number in the target */
    int nameless;                 /* a sendmsg without msg_name */
    const void *addr, *data;
    uint32_t addr_len, data_len;
};

struct proxy_request;

struct sbx_openproxy {
    pid_t pid;                    /* 0: not started */
    int sock;
    struct proxy_request *req;    /* request buffer (large: a send's payload) */
};

#define SBX_OPENPROXY_BROKEN (-100000)

/* Start the proxy with the identity, namespaces and root of target. 0 or -1. */
int sbx_openproxy_start(struct sbx_openproxy *p, pid_t target);
/* Perform a call for the target: our copy of the new fd (opens), the byte count (sends) or 0,
 * -errno from the call, or SBX_OPENPROXY_BROKEN. */
int sbx_openproxy_call(struct sbx_openproxy *p, const struct sbx_proxy_call *a);
void sbx_openproxy_stop(struct sbx_openproxy *p);
/* connect/bind/send on sock with exactly these address (and payload) bytes, blocking bounded
 * as described in notify_openproxy.c; the result or -1 with errno. Used by the proxy, and by
 * the supervisor itself for AF_INET/AF_INET6 connect and send (nothing there depends on the
 * caller's identity or root; bind does: low ports). */
long sbx_sock_call(enum sbx_proxy_op op, int sock, const void *addr, uint32_t addr_len,
                   const void *data, uint32_t data_len, uint64_t flags);
/* Stop and release the request buffer. */
void sbx_openproxy_free(struct sbx_openproxy *p);

/* ---- opens served in the supervisor's thread (notify_fastopen.c) ---- */

#define SBX_FASTOPEN_GROUPS 64
#define SBX_FASTOPEN_DECLINE (-100001)

struct sbx_fastopen {
    int state;                    /* 0: not set up, 1: ready, -1: off (everything proxied) */
    int rootfd;                   /* O_PATH of the target's root */
    uid_t uid, my_euid;           /* host view: the target's fs uid; ours */
    gid_t gid, my_egid;
    gid_t groups[SBX_FASTOPEN_GROUPS], my_groups[SBX_FASTOPEN_GROUPS];
    int ngroups, my_ngroups;
    int switch_ids, switch_caps;  /* what must change for the call (root: both; rootless: none) */
    int switch_groups, caps_full, capset_done;
    int dumpable, pdeath;
    int fixup_clears_caps;        /* euid 0 -> target: the kernel empties our effective set */
    int keep;                     /* set by the caller: stay the target after this call */
    int switched;                 /* this thread is the target now (kept): settle to return */
    int layout_checked;           /* the target's mount table passed layout_is_plain */
    struct __user_cap_data_struct caps[2];   /* ours */
    struct { char name[8]; char target[32]; } links[6];   /* the root's own links: lib -> /usr/lib */
    int nlinks;
};

/* Open for the target in this thread when that is exactly equivalent to the proxy (see
 * notify_fastopen.c): our copy of the new fd, -errno from the open, or SBX_FASTOPEN_DECLINE
 * (nothing happened: use the proxy). opened (cap bytes, may be NULL) receives the path of the
 * file opened when it is known without asking the kernel (no symlink but the root's own was
 * followed), else "". */
int sbx_fastopen_try(struct sbx_fastopen *f, pid_t tid, const struct sbx_proxy_call *c, char *opened,
                     size_t cap);
/* Back to our own identity if a call left the target's on (f->keep). Aborts if it cannot. */
void sbx_fastopen_settle(struct sbx_fastopen *f);
void sbx_fastopen_free(struct sbx_fastopen *f);

/* The target's umask (from /proc/PID/status), or -1. */
int sbx_proc_umask(pid_t pid);
/* One read of /proc/PID/status into buf; a pointer just past the field name ("Umask:",
 * "NStgid:") or NULL when unreadable or absent. */
const char *sbx_proc_status_field(int pid, const char *name, char *buf, size_t cap);

/* ---- observed calls (decode_calls.c) ---- */

/* Scratch space for one event: the strings an event points to live here until the next one. */
struct sbx_scratch {
    char path[SBX_PATH_MAX], path2[SBX_PATH_MAX];   /* as read from the target */
    char abs[SBX_PATH_MAX], abs2[SBX_PATH_MAX];     /* made absolute */
    char cwd[SBX_PATH_MAX];                         /* exec cwd; base of the first path */
    char base2[SBX_PATH_MAX];                       /* base of the second path */
    char detail[512];
    char name[64];
    char proxy_path[SBX_PATH_MAX];                  /* what the proxy uses */
    char real[SBX_PATH_MAX];                        /* what it did open */
    unsigned char sa[SBX_SOCKADDR_MAX];              /* a socket call's address, as read */
    unsigned char data[SBX_SEND_MAX];                /* an emulated send's payload, as read */
    struct sbx_proxy_call call;                      /* filled by decoders of proxied calls */
    char argstore[SBX_ARGV_BYTES];
    const char *argv[SBX_ARGV_MAX + 1];
};

struct sbx_observed;   /* one observed syscall: event kind and argument layout */

const struct sbx_observed *sbx_observed_find(const char *syscall);
/* Fill ev (kind, paths, flags, mode, argv, addr, bytes, detail) from the registers and the
 * target's memory. 0, or -1 with errno when the arguments could not be read. */
int sbx_observed_decode(const struct sbx_observed *o, pid_t tid, const uint64_t args[6],
                        struct sbx_scratch *s, struct sbx_event *ev);

/* Detail for a denied call, decoded from the registers only (into s->detail), or NULL. */
const char *sbx_denied_detail(const char *syscall, const uint64_t args[6], struct sbx_scratch *s);

#endif
