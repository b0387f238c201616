/*
 * sandbox.h — libsbx, scriptbox's sandbox: run untrusted commands in a throwaway Linux sandbox
 * and observe what they do. It knows nothing about npm.
 *
 * Contract
 *  - sbx_open() builds the sandbox once: user/mount/pid/net/ipc/uts/cgroup namespaces, a fresh
 *    read-only root, size-capped writable tmpfs areas seeded from host folders, a payload identity
 *    with no capabilities, no_new_privs, a seccomp filter and its notify listener.
 *  - sbx_exec() runs one command at a time inside it and returns its status and bounded output.
 *    Processes a command leaves behind keep running (and are observed) until sbx_close().
 *  - sbx_close() gives leftover processes a grace period, then kills every process of the sandbox
 *    and frees everything. Mounts only ever exist inside the sandbox's own mount namespace, so
 *    nothing is left on the host; if the caller dies (even by SIGKILL) the sandbox dies with it.
 *  - Every fallible function returns 0 on success or -1 and fills *err (cause, errno, and a
 *    one-line message that names the fix where there is one). Nothing is printed.
 *  - Events are delivered synchronously through cfg->on_event from inside sbx_exec()/sbx_close(),
 *    on the caller's thread. Strings in an event are only valid during the callback.
 *  - Not thread-safe per handle; separate handles are independent.
 *  - The calling process supervises: sbx_open() makes it non-dumpable (PR_SET_DUMPABLE 0, for
 *    good), so no other process of its user may ptrace it or read its memory, which holds the
 *    fake internet's CA key and whatever the caller keeps there.
 */
#ifndef SCRIPTBOX_SANDBOX_H
#define SCRIPTBOX_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    SBX_E_NONE = 0,
    SBX_E_USAGE,    /* the configuration is invalid */
    SBX_E_USERNS,   /* user namespaces are blocked here; msg says by what and how to fix it */
    SBX_E_SETUP,    /* building the sandbox failed (mounts, seccomp, limits) */
    SBX_E_EXEC,     /* the command could not be started */
    SBX_E_INTERNAL, /* anything else: a bug or a resource shortage */
} sbx_errkind;

typedef struct {
    sbx_errkind kind;
    int sys_errno;  /* errno of the failing call, 0 if none */
    char msg[512];  /* one line, no trailing newline */
} sbx_error;

/* ---- Layout: what the sandbox's filesystem holds ------------------------------------------ */

enum { SBX_BIND_OPTIONAL = 1 };  /* skip silently when the host path is missing */

/* A read-only, nosuid, nodev bind of a host path (file or folder). */
struct sbx_bind {
    const char *host_path;
    const char *sandbox_path;
    unsigned flags;
};

/* A writable, size-capped tmpfs at sandbox_path, owned by the payload user, optionally seeded
 * with a copy of the host folder `seed` (copied without following symlinks; special files and
 * setuid/setgid bits are dropped). Writes never reach the host. */
struct sbx_tmpfs {
    const char *sandbox_path;
    const char *seed;        /* may be NULL */
    size_t max_bytes;        /* 0 = library default */
    size_t max_inodes;       /* 0 = library default */
};

/* A small file the library writes into the read-only root, e.g. /etc/passwd. */
struct sbx_file {
    const char *sandbox_path;
    const char *data;
    size_t len;
    unsigned mode;
};

struct sbx_limits {
    unsigned long cpu_seconds;          /* RLIMIT_CPU per process */
    unsigned long long address_space;   /* RLIMIT_AS per process, bytes */
    unsigned long nproc;                /* RLIMIT_NPROC */
    unsigned long long file_size;       /* RLIMIT_FSIZE, bytes */
    unsigned long nofile;               /* RLIMIT_NOFILE */
    unsigned long long memory_bytes;    /* cgroup v2 memory.max when a delegated cgroup is writable */
    unsigned long pids;                 /* cgroup v2 pids.max, likewise */
    size_t capture_bytes;               /* stdout/stderr kept per command and stream */
};

/* ---- Events: what the supervisor saw ---------------------------------------------------- */

typedef enum {
    SBX_EV_EXEC,       /* execve/execveat: path, argv, cwd */
    SBX_EV_OPEN,       /* open/openat/openat2/creat: path (absolute), flags, mode */
    SBX_EV_FS,         /* unlink/rename/link/symlink/chmod/mkdir: syscall, path, path2, mode */
    SBX_EV_SOCKET,     /* socket: family, type, protocol */
    SBX_EV_NET,        /* connect/bind/listen/sendto/sendmsg/sendmmsg: syscall, addr, bytes */
    SBX_EV_DENIED,     /* refused by policy: syscall, raw args, decoded detail */
    SBX_EV_PROC_EXIT,  /* a process of the sandbox ended: pid, exit_code or term_signal */
    SBX_EV_NOTE,       /* supervisor remark: truncation, limit reached, lost events */
    SBX_EV_DNS,        /* fake internet: a DNS query and the answer given (dns.*) */
    SBX_EV_PAYLOAD,    /* fake internet: what one connection or datagram carried (payload.*) */
    SBX_EV_KIND_COUNT  /* not an event: the number of kinds */
} sbx_event_kind;

struct sbx_sockaddr {
    int family;          /* AF_INET, AF_INET6, AF_UNIX, or 0 when none */
    char addr[128];      /* numeric address, or unix path ('@' prefix for abstract) */
    unsigned port;
};

/* SBX_EV_DNS. */
struct sbx_dns_event {
    const char *name;        /* query name as dotted text, "\\DDD" escapes for odd bytes, no final dot */
    unsigned qtype;          /* 1 A, 28 AAAA, 16 TXT, 15 MX, 5 CNAME, ... */
    const char *answer;      /* "127.1.0.7", "::ffff:127.1.0.7", TXT/MX/CNAME text, "" when none */
    const char *transport;   /* "udp" | "tcp" */
};

/* SBX_EV_PAYLOAD: one per TCP connection (at its end, or when its capture is full) or per UDP
 * datagram. ev->addr is the destination the package used; ev->pid the process that connected
 * (0 when unknown). Pointers are valid during the callback only. ev->truncated: the capture (or
 * an HTTP field) was cut at a bound; ev->detail: why a datagram to port 53 was not answered as
 * a query (proto "dns"), else NULL. SBX_EV_DNS carries the conn_id and pid of the resolver's
 * flow when known, and ev->addr the server it asked. */
struct sbx_payload_event {
    const char *transport;   /* "tcp" | "udp" */
    const char *proto;       /* "forward" (sbx_fakenet_forward), "http", "https" (TLS
                                intercepted, request decrypted), "tls" (not
                                decrypted: see tls_error), "dns" (a datagram to port 53 that was
                                not a query we answer), "raw" */
    const char *dns_name;    /* the name our DNS answered with this address, or NULL (literal IP) */
    const unsigned char *data;  /* captured bytes (decrypted for https), at most the per-flow cap */
    size_t len;
    uint64_t total;          /* bytes the flow carried (counted past the cap); for "https" the
                                decrypted bytes, so total > len means bytes went unseen */
    const char *http_method, *http_target, *http_host;   /* http/https, else NULL */
    const char *http_headers;   /* "name: value\n" per header, names lower-case, escaped */
    const unsigned char *http_body;   /* decoded (de-chunked) body, bounded; NULL when none */
    size_t http_body_len;
    const char *tls_sni, *tls_alpn;   /* from the ClientHello, or NULL */
    const char *tls_error;   /* handshake with our CA failed (pinning, untrusted CA): why */
    uint64_t received;       /* proto "forward": bytes the remote end sent back (total: bytes
                                sent to it; no content is kept; ev->detail: where to, how it
                                ended) */
};

struct sbx_event {
    sbx_event_kind kind;
    uint64_t t_ns;                /* CLOCK_MONOTONIC, relative to sbx_open() */
    int pid, ppid;                /* as seen inside the sandbox (0 when unknown) */
    const char *syscall;          /* syscall name, or NULL */
    const char *path;             /* resolved absolute path inside the sandbox, or NULL */
    const char *path2;            /* second path (rename/link/symlink target) */
    int truncated;                /* a string or argv was cut at its bound */
    long flags;                   /* open flags, socket type, clone flags ... */
    long mode;                    /* creation mode, chmod mode */
    const char *const *argv;      /* exec: NULL-terminated */
    const char *cwd;              /* exec: working directory */
    struct sbx_sockaddr addr;     /* net: destination or bound address */
    int sock_family, sock_type, sock_protocol;
    uint64_t bytes;               /* net: payload length of a send */
    uint64_t args[6];             /* denied: raw syscall arguments */
    int arch_native;              /* denied: 0 when the call came through a foreign ABI */
    int exit_code, term_signal;   /* proc_exit */
    const char *detail;           /* human-readable decode, or NULL */
    uint64_t conn_id;             /* net/payload/dns: one id per fake-internet flow, 0 = none. A
                                     connect or send event and the payload events of the same flow
                                     carry the same id. */
    struct sbx_dns_event dns;             /* dns */
    struct sbx_payload_event payload;     /* payload */
};

typedef void (*sbx_event_fn)(void *ctx, const struct sbx_event *ev);

/* ---- Configuration ------------------------------------------------------------------- */

enum {
    SBX_TRACE_ALL = 1,   /* notify (and log) every syscall, not just the observed set: slow */
    SBX_TIMEWARP = 2,    /* time acceleration: a nanosleep/clock_nanosleep longer than 1 s is
                            answered at once, with a "time accelerated: ..." note event */
};

/* ---- Fake internet --------------------------------------------------------------------- */

/* A certificate authority made fresh for one run; its private key lives only in this process's
 * memory. The sandbox trusts it (SBX_CA_BUNDLE_PATH) and the fake internet mints a leaf
 * certificate per SNI with it, so HTTPS requests are decrypted and recorded. */
struct sbx_ca;
int sbx_ca_create(struct sbx_ca **out, sbx_error *err);
const char *sbx_ca_cert_pem(const struct sbx_ca *ca);   /* NUL-terminated PEM */
void sbx_ca_free(struct sbx_ca *ca);

/* Where the sandbox's system CA bundle is (holding only the run's CA when one is given): point
 * SSL_CERT_FILE and REQUESTS_CA_BUNDLE at it, and give node --use-openssl-ca (or
 * NODE_EXTRA_CA_CERTS, which makes every node start build its bundled root store first). */
#define SBX_CA_BUNDLE_PATH "/etc/ssl/certs/ca-certificates.crt"
/* The resolver written into the sandbox's /etc/resolv.conf. */
#define SBX_FAKENET_RESOLVER "10.0.2.3"

/*
 * With `enabled`, every IPv4 and IPv6 address is local to the sandbox's network namespace, DNS
 * questions are answered (A/AAAA with a distinct loopback address per name), every connect
 * finds a listener and every datagram a socket, and what arrives is reported as SBX_EV_PAYLOAD.
 * Nothing ever leaves the namespace. Without it, the network has only `lo` and connects fail.
 */
struct sbx_fakenet {
    int enabled;
    const struct sbx_ca *ca;  /* TLS interception when set (must outlive the sandbox) */
    size_t flow_bytes;        /* captured per connection or datagram; 0 = 64 KiB */
    size_t run_bytes;         /* captured per sandbox in all; 0 = 16 MiB */
};

/* Forward mode (sbx_fakenet_forward): a TCP connection made inside the sandbox to `match` (a
 * name, as our DNS answers it, or a literal IPv4/IPv6 address) on `port` is not sunk: the
 * supervisor connects from the host's network to to_addr (numeric) : to_port and splices the
 * bytes both ways, untouched (TLS stays end to end). Everything else is still sunk. */
struct sbx_forward {
    const char *match;
    unsigned port;
    const char *to_addr;
    unsigned to_port;
};

struct sbx_config {
    const char *hostname;              /* uts name shown inside */
    unsigned payload_uid, payload_gid; /* non-zero identity of commands inside; default 1000 */
    const struct sbx_bind *binds;   size_t nbinds;    /* extra read-only binds */
    const struct sbx_tmpfs *tmpfs;  size_t ntmpfs;    /* writable areas */
    const struct sbx_file *files;   size_t nfiles;    /* files written into the root */
    struct sbx_limits limits;          /* zero fields take library defaults */
    unsigned flags;                    /* SBX_TRACE_ALL, SBX_TIMEWARP */
    sbx_event_fn on_event;             /* may be NULL */
    void *event_ctx;
    struct sbx_fakenet fakenet;        /* zero: no fake internet */
};

struct sbx_command {
    const char *const *argv;   /* argv[0] is looked up in PATH from envp when it has no '/' */
    const char *const *envp;   /* the complete environment; nothing else is inherited */
    const char *cwd;           /* inside the sandbox */
    unsigned timeout_ms;       /* 0 = none; the whole sandbox also has the caller's own deadline */
};

struct sbx_output {
    char *data;        /* NUL-terminated; at most limits.capture_bytes */
    size_t len;        /* bytes kept */
    uint64_t total;    /* bytes the command wrote */
};

struct sbx_status {
    int exited;        /* 1 when the command exited normally */
    int exit_code;     /* valid when exited */
    int term_signal;   /* valid when !exited and !timed_out */
    int timed_out;     /* killed at timeout_ms */
    uint64_t start_ns, end_ns;   /* relative to sbx_open() */
    struct sbx_output out, err;
};

struct sbx_close_status {
    int leftovers;       /* processes still alive when the grace period ended (then killed) */
};

struct sbx;

/* Check that this host can build a sandbox (user namespaces, seccomp, /proc); on failure the
 * error names the cause and the fix. Costs one short-lived clone; sbx_open() runs it when building
 * the sandbox fails, so its error names the cause and fix too. */
int sbx_probe(sbx_error *err);

int sbx_open(const struct sbx_config *cfg, struct sbx **out, sbx_error *err);
int sbx_exec(struct sbx *sb, const struct sbx_command *cmd, struct sbx_status *st, sbx_error *err);
int sbx_close(struct sbx *sb, unsigned grace_ms, struct sbx_close_status *cs, sbx_error *err);
void sbx_status_free(struct sbx_status *st);

/* Turn forward mode on for these targets (at most 4; max_bytes: the cap on bytes forwarded
 * both ways until it is turned off, 0 = 1 GiB, then connections are cut and a note says so), or
 * off with n = 0: forwarded connections still open are cut and reported. Needs the fake internet.
 * A forwarded connection ends with a payload event, proto "forward", no content. */
int sbx_fakenet_forward(struct sbx *sb, const struct sbx_forward *t, size_t n, uint64_t max_bytes,
                        sbx_error *err);

/* Kill every process of every open sandbox now. Async-signal-safe: for the caller's SIGINT/SIGTERM
 * handler, before it removes its files and exits. */
void sbx_kill_all(void);

/* Write the seccomp policy in libseccomp's pseudo-filter-code text form, for review and golden
 * tests. */
int sbx_policy_export(FILE *out, sbx_error *err);

/* Name of a syscall number on this architecture, or NULL. */
const char *sbx_syscall_name(long nr);

#endif
