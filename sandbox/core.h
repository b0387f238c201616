/*
 * core.h — contracts between the sandbox-core files (namespaces, mounts, init, zygote,
 * supervisor). Not part of the public API; internal.h stays the seam to seccomp/notify.
 */
#ifndef SCRIPTBOX_SANDBOX_CORE_H
#define SCRIPTBOX_SANDBOX_CORE_H

#include <stddef.h>
#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#include "internal.h"

/*
 * Host uid/gid that "root inside" maps to when the caller is host root. Chosen in the range
 * systemd documents as unused (1879048192..2147352575), far from login and container ranges, and
 * never listed in /etc/passwd: host-root-owned files are "nobody" to the whole sandbox, and the
 * sandbox's files on the host (there are none: every write lands in a tmpfs) would be anonymous.
 */
#define SBX_ROOT_MAPPED_UID 2000000000u
#define SBX_ROOT_MAPPED_GID 2000000000u

#define SBX_DEFAULT_PAYLOAD_ID 1000u
#define SBX_DEFAULT_HOSTNAME "sandbox"
#define SBX_MAX_CMD_BYTES (128u * 1024u)   /* serialized argv+env+cwd of one command */
#define SBX_MAX_STALE 16                    /* leftover-held output pipes still drained */

/* Everything the sandbox's init needs, prepared by the supervisor before clone(). It reads it
 * from its copy of the supervisor's memory; nothing is sent over a socket. */
struct sbx_plan {
    const struct sbx_config *cfg;
    const char *hostname;
    unsigned payload_uid, payload_gid;
    int root_mode;            /* caller is host root: setgroups stays allowed, init drops groups */
    int *seed_fds;            /* per cfg->tmpfs entry: O_RDONLY dir fd of the seed, or -1 */
    struct sbx_limits limits; /* defaults applied */
    int sock;                 /* init's end of the supervisor<->init socketpair */
};

/* ---- wire protocol (SOCK_SEQPACKET, one message per record) ---------------------------- */
enum sbx_msg_type {
    SBX_MSG_GO = 1,       /* supervisor -> init: 1st maps written, 2nd listener taken: serve */
    SBX_MSG_INSTALLING,   /* init -> supervisor: loading the filter now; the private procfs
                           * fd of the pid ns is attached (the supervisor counts leftovers) */
    SBX_MSG_ERROR,        /* init -> supervisor: setup failed; err filled */
    SBX_MSG_CMD,          /* supervisor -> init: a command follows (payload), fds attached */
    SBX_MSG_STARTED,      /* init -> supervisor: a = pid of the command */
    SBX_MSG_EXIT,         /* init -> supervisor: a = pid, b = wait status */
    SBX_MSG_IDLE,         /* init -> supervisor: no process left */
    SBX_MSG_KILL,         /* supervisor -> init: SIGKILL process group a (and pid a) */
};

struct sbx_msg {
    uint32_t type;
    int32_t a, b;
    int32_t kind, sys_errno;
    char text[512];       /* error message when type == SBX_MSG_ERROR */
};

/* Send a message, optionally with up to 2 fds (SCM_RIGHTS), and an optional extra payload that
 * travels in the same record. Returns 0 or -1 (errno set). Plain sendmsg: not for init once filtered. */
int sbx_msg_send(int sock, const struct sbx_msg *m, const void *extra, size_t extra_len,
                 const int *fds, int nfds);
/* Plain write() of a bare message: what init uses once filtered (no notified call). */
int sbx_msg_write(int sock, const struct sbx_msg *m);
/* Receive one record. fds (up to *nfds, set to the number received) are O_CLOEXEC. extra gets
 * the payload after the header (NULL/0 when none expected). Returns the payload length, or -1
 * (errno set; EPIPE on EOF). */
ssize_t sbx_msg_recv(int sock, struct sbx_msg *m, void *extra, size_t extra_cap, int *fds,
                     int *nfds);
/* Fill an ERROR message from an sbx_error. */
void sbx_msg_from_error(struct sbx_msg *m, const sbx_error *e);

/* fork() without glibc's atfork work: it takes every malloc arena lock, which deadlocks in a
 * raw-cloned child when another thread of the caller held one at clone time. Returns like fork;
 * *pidfd (may be NULL) gets a pidfd of the child (CLONE_PIDFD). */
pid_t sbx_raw_fork(int *pidfd);

/* ---- userns.c ------------------------------------------------------------------------- */
/* Host ids that "root inside" maps to for this caller. */
void sbx_userns_outer_ids(uid_t *uid, gid_t *gid, int *root_mode);
/* Write /proc/<pid>/{uid_map,setgroups,gid_map}: inside -> outside, one line each.
 * deny_setgroups writes "deny" first (required for unprivileged writers). */
int sbx_userns_write_maps(pid_t pid, unsigned in_uid, unsigned out_uid, unsigned in_gid,
                          unsigned out_gid, int deny_setgroups, sbx_error *err);
/* Can host uid/gid read and search the folder open as dirfd? (mode bits; fails with a clear
 * message naming path and the fix.) */
int sbx_userns_check_readable(int dirfd, const char *path, uid_t uid, gid_t gid, sbx_error *err);
/* Explain why building a namespace failed (probe again, with the step's errno as a hint). */
void sbx_userns_diagnose(sbx_error *err);

/* ---- mounts.c (run by init, inside its namespaces) --------------------------------------- */
/* Build the new root and pivot into it; /proc stays writable (see sbx_mounts_seal). */
int sbx_mounts_build(const struct sbx_plan *p, sbx_error *err);
/* A second procfs instance of the sandbox's pid ns, open (O_DIRECTORY) and detached: mounted
 * nowhere. Returns the fd or -1. Call before sbx_mounts_seal_proc. */
int sbx_mounts_private_proc(sbx_error *err);
/* Make /proc (and /proc/sys) read-only. */
int sbx_mounts_seal_proc(sbx_error *err);

/* ---- seed.c: copy a host folder into a tmpfs without following links ----------------- */
int sbx_seed_copy(int src_dirfd, int dst_dirfd, const char *seed_name, sbx_error *err);

/* ---- net.c ---------------------------------------------------------------------------- */
int sbx_net_lo_up(sbx_error *err);
/* lo up; with cfg->fakenet.enabled also every address local (AnyIP routes) and unprivileged
 * binds from port 0. Before /proc is sealed. */
int sbx_net_setup(const struct sbx_config *cfg, sbx_error *err);

/* ---- caps.c / limits.c ---------------------------------------------------------------- */
/* Empty bounding, ambient, inheritable, permitted and effective sets (call before setresuid). */
int sbx_caps_drop_bounding(sbx_error *err);
int sbx_caps_clear(sbx_error *err);
void sbx_limits_defaults(const struct sbx_limits *in, struct sbx_limits *out);
int sbx_limits_apply(const struct sbx_limits *l, sbx_error *err);
/* 1 when a delegated cgroup v2 with memory and pids controllers is writable here. */
int sbx_cgroup_available(void);

/* ---- init.c (setup) / zygote.c (serving commands); never return --------------------------- */
__attribute__((noreturn)) void sbx_init_main(const struct sbx_plan *p);
/* The command loop of the sandbox's init, once filtered and told GO. sigfd: SIGCHLD signalfd
 * (SIGCHLD blocked), devnull: the sandbox's /dev/null. */
__attribute__((noreturn)) void sbx_zygote_serve(const struct sbx_plan *p, int sigfd, int devnull);

/* ---- supervisor side (sbx.c, exec.c) ------------------------------------------------------ */
struct sbx {
    sbx_event_fn on_event;
    void *event_ctx;
    struct sbx_limits limits;
    uint64_t t0;
    int init_pidfd;            /* init (our direct child, exit signal 0): pid 1 and the zygote */
    pid_t init_pid;            /* host pid, for the caller's diagnostics and tests */
    int sock;                  /* to init */
    int procfd;                /* private procfs of the sandbox's pid ns (leftover count), or -1 */
    int init_status;           /* init's wait status once it is gone (0 while unknown) */
    struct sbx_notifier *notifier;  /* NULL with the placeholder filter */
    struct sbx_fnet *fnet;     /* the fake internet (fakenet.h), or NULL */
    int notifier_done;         /* listener hung up or broke: no longer polled */
    int busy;                  /* init has children (commands, orphans) */
    int dead;                  /* init is gone (or unreachable) */
    int slot;                  /* sbx_kill_all() registry slot, -1 if none */
    int note_cgroup;           /* "cgroup limits not applied" still to be said */
    /* Output pipes of earlier commands still held open by their leftovers: drained (discarded)
     * so those processes neither block nor die of SIGPIPE while we keep observing them. */
    int stale[SBX_MAX_STALE];
    int nstale;
};
/* Keep draining fd (discarding) until EOF or sbx_close; takes ownership. */
void sbx_keep_draining(struct sbx *sb, int fd);

/* One poll round shared by sbx_exec and sbx_close: notifier, init's death and reports, plus the
 * caller's extra fds (pipes). EXIT reports go to on_exit (may be NULL) after the event. */
struct sbx_pump {
    struct pollfd *extra;
    int nextra;
    void (*on_exit)(void *ctx, int pid, int status);
    void *ctx;
    int started_pid;           /* filled by a STARTED report (or -errno), 0 while none */
};
int sbx_pump(struct sbx *sb, struct sbx_pump *pm, int timeout_ms, sbx_error *err);
void sbx_emit(struct sbx *sb, struct sbx_event *ev);

/* Serialize a command for init: u32 argc, u32 envc, then cwd, argv, env, NUL-separated. */
int sbx_cmd_serialize(const struct sbx_command *cmd, char *buf, size_t cap, size_t *len);

#endif
