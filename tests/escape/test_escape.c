/*
 * test_escape.c — the escape suite: one cmocka test per attempt of tests/helpers/escape.c.
 *
 * Each test builds a fresh sandbox (a read-only bind of the static helper's folder at
 * /opt/escape, a tmpfs /tmp, limits tuned for the case), runs
 *     /opt/escape/escape CASE PORT HOSTPID HOSTDIR
 * and asserts three things:
 *   1. the helper says the attempt failed (exit 0; 77 = skip with its reason; 1 = escape);
 *   2. nothing on the host changed: the 127.0.0.1 TCP/UDP listeners and the abstract unix
 *      socket @scriptbox-test-<pid> saw nothing, sentinel files, core_pattern, hostname and a
 *      bystander host process are untouched, this process (the supervisor) got no SIGTERM,
 *      no file appeared in the watched host folder, no process of the run outlives sbx_close();
 *   3. the attempt is in the event stream (denied syscall, open path, socket family, net
 *      address, exec path). Where an attempt is by design not observable the table says so in
 *      `why`, and the test prints that instead of asserting.
 *
 * The helper refuses to run outside the sandbox (uid 1000, SBX_ESCAPE_ARMED=1, no /sys).
 * SCRIPTBOX_TEST_MODE (root|rootless) comes from tests/run.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"
#include "testutil.h"

#define MIB (1024ULL * 1024ULL)

/* ---- expectations ----------------------------------------------------------------------- */

enum xkind {
    X_NONE,            /* nothing observable by design: `why` says why */
    X_DENIED,          /* SBX_EV_DENIED with syscall == arg */
    X_DENIED_FOREIGN,  /* SBX_EV_DENIED with arch_native == 0 */
    X_OPEN,            /* SBX_EV_OPEN with path == arg ("/proc/self/" also matches "/proc/N/") */
    X_NET,             /* SBX_EV_NET with addr "ip:port" or "@abstract" */
    X_SOCKET,          /* SBX_EV_SOCKET with sock_family == num, or SBX_EV_DENIED socket(num, ...) */
    X_EXEC,            /* SBX_EV_EXEC with path == arg */
};

enum {
    T_SIGKILL_OK = 1,   /* the helper may itself die by SIGKILL (kill(-1)) */
    T_FORK = 2,         /* tight nproc/pids */
    T_MEM = 4,          /* tight address space / memory */
    T_DISK = 8,         /* 32 MiB /tmp, few inodes */
    T_SUID_COPY = 16,   /* needs a setuid-root copy of the helper: root mode only */
    T_DETACHED = 32,    /* check the watched folder after the grandchild's deadline */
    T_TOCTOU = 64,      /* compare the helper's real open counts with the logged ones */
    T_CPU = 128,        /* RLIMIT_CPU 2 s */
    T_TOCTOU_EXEC = 1024, /* compare the programs really run with the logged execs */
    T_KILLS_ZYGOTE = 2048, /* explain an sbx_exec failure: the helper's signal reached the zygote */
    T_SEED = 4096,      /* a hostile seed folder copied into a tmpfs at /seed */
    T_TOCTOU_BASE = 8192, /* like T_TOCTOU, the decoy being /tmp/passwd (relative opens) */
    T_TOCTOU_NET = 16384, /* compare where connects really went with the logged addresses */
    T_SHM_SENTINEL = 32768, /* a System V shm segment on the host the sandbox must not list */
    T_HOSTSOCK = 65536, /* unix sockets listening on host paths in the watched folder */
    T_PROMPT = 256,     /* sbx_exec must return when the command exits, not when its leftovers do */
    T_MEMCG = 512,      /* needs memory_bytes (cgroup v2): an escape is a skip when the library says
                           in a note that no delegated cgroup v2 exists here */
};

struct tcase {
    const char *name;
    enum xkind x;
    const char *arg;   /* syscall name, path, "ip:port", "@name"; {PID} and {PORT} expand */
    int num;           /* X_SOCKET: address family */
    unsigned flags;
    const char *why;   /* X_NONE: why nothing is asserted in the event stream */
};

static const struct tcase cases[] = {
    /* network out */
    {"net_tcp_host", X_NET, "127.0.0.1:{PORT}", 0, 0, NULL},
    {"net_udp_host", X_NET, "127.0.0.1:{PORT}", 0, 0, NULL},
    {"net_dns", X_NET, "192.0.2.1:53", 0, 0, NULL},
    {"net_tcp_out", X_NET, "192.0.2.1:443", 0, 0, NULL},
    {"net_ipv6", X_NET, "2001:db8::1:443", 0, 0, NULL},
    {"net_raw", X_SOCKET, NULL, AF_INET, 0, NULL},
    {"net_packet", X_SOCKET, NULL, AF_PACKET, 0, NULL},
    {"net_netlink_audit", X_SOCKET, NULL, AF_NETLINK, 0, NULL},
    {"net_netlink_uevent", X_SOCKET, NULL, AF_NETLINK, 0, NULL},
    {"ctl_netlink_route", X_SOCKET, NULL, AF_NETLINK, 0, NULL},
    {"net_vsock", X_SOCKET, NULL, 40 /* AF_VSOCK */, 0, NULL},
    {"net_exotic", X_SOCKET, NULL, 38 /* AF_ALG, the first one tried */, 0, NULL},
    {"abstract_x11", X_NET, "@/tmp/.X11-unix/X0", 0, 0, NULL},
    {"abstract_harness", X_NET, "@scriptbox-test-{PID}", 0, 0, NULL},
    {"unix_host_sockets", X_NET, "/run/docker.sock", 0, 0, NULL},
    {"unix_host_path", X_NET, "{HOSTDIR}/host.sock", 0, T_HOSTSOCK, NULL},
    {"seed_hostile", X_OPEN, "/seed/plain", 0, T_SEED, NULL},
    /* reading what was not bound */
    {"read_root", X_OPEN, "/root", 0, 0, NULL},
    {"read_home", X_OPEN, "/home", 0, 0, NULL},
    {"read_shadow", X_OPEN, "/etc/shadow", 0, 0, NULL},
    {"proc_sup_environ", X_OPEN, "/proc/{PID}/environ", 0, 0, NULL},
    {"proc_sup_root", X_OPEN, "/proc/{PID}/root", 0, 0, NULL},
    {"proc_sup_mem", X_OPEN, "/proc/{PID}/mem", 0, 0, NULL},
    {"proc_init_root", X_OPEN, "/proc/1/root", 0, 0, NULL},
    {"proc_init_environ", X_OPEN, "/proc/1/environ", 0, 0, NULL},
    {"proc_zygote_mem", X_OPEN, "/proc/{PPID}/mem", 0, 0, NULL},
    {"zygote_fd_steal", X_DENIED, "pidfd_getfd", 0, 0, NULL},
    /* writing where nothing may be written */
    {"write_usr_bin", X_OPEN, "/usr/bin/x", 0, 0, NULL},
    {"write_etc_passwd", X_OPEN, "/etc/passwd", 0, 0, NULL},
    {"write_rootfs", X_OPEN, "/escape-test", 0, 0, NULL},
    {"write_proc_sys_kernel", X_OPEN, "/proc/sys/kernel/hostname", 0, 0, NULL},
    {"write_sysrq", X_OPEN, "/proc/sysrq-trigger", 0, 0, NULL},
    {"write_core_pattern", X_OPEN, "/proc/sys/kernel/core_pattern", 0, 0, NULL},
    {"proc_exe_write", X_OPEN, "/proc/self/exe", 0, 0, NULL},
    {"node_write", X_OPEN, "/opt/escape/escape", 0, 0, NULL},
    /* terminals */
    {"tiocsti_std", X_DENIED, "ioctl", 0, 0, NULL},
    {"tiocsti_devtty", X_OPEN, "/dev/tty", 0, 0, NULL},
    {"tiocsti_highbits", X_DENIED, "ioctl", 0, 0, NULL},
    {"tioclinux_std", X_DENIED, "ioctl", 0, 0, NULL},
    {"tioclinux_devtty", X_OPEN, "/dev/tty", 0, 0, NULL},
    {"tioclinux_highbits", X_DENIED, "ioctl", 0, 0, NULL},
    /* namespaces */
    {"unshare_ns", X_DENIED, "unshare", 0, 0, NULL},
    {"clone_ns", X_DENIED, "clone", 0, 0, NULL},
    {"clone3_ns", X_NONE, NULL, 0, 0,
     "clone3 is refused by the filter's default action (ENOSYS, so libc falls back to clone), which is not logged by design"},
    {"setns_init", X_DENIED, "setns", 0, 0, NULL},
    /* mounts */
    {"mount_tmpfs", X_DENIED, "mount", 0, 0, NULL},
    {"mount_bind", X_DENIED, "mount", 0, 0, NULL},
    {"mount_remount_root", X_DENIED, "mount", 0, 0, NULL},
    {"mount_sysfs", X_DENIED, "mount", 0, 0, NULL},
    {"mount_cgroup", X_DENIED, "mount", 0, 0, NULL},
    {"mount_proc", X_DENIED, "mount", 0, 0, NULL},
    {"pivot_root", X_DENIED, "pivot_root", 0, 0, NULL},
    {"chroot", X_DENIED, "chroot", 0, 0, NULL},
    {"chroot_classic", X_DENIED, "chroot", 0, 0, NULL},
    {"umount_proc", X_DENIED, "umount2", 0, 0, NULL},
    {"fsopen", X_DENIED, "fsopen", 0, 0, NULL},
    {"open_tree", X_DENIED, "open_tree", 0, 0, NULL},
    {"mount_api_rest", X_DENIED, "mount_setattr", 0, 0, NULL},
    /* other processes */
    {"ptrace_init", X_DENIED, "ptrace", 0, 0, NULL},
    {"ptrace_sibling", X_DENIED, "ptrace", 0, 0, NULL},
    {"process_vm_readv", X_DENIED, "process_vm_readv", 0, 0, NULL},
    {"kill_all", X_NONE, NULL, 0, T_SIGKILL_OK | T_KILLS_ZYGOTE,
     "kill() is neither observed nor denied (signals inside the sandbox are its own business); "
     "the host-side checks (supervisor alive, no SIGTERM, bystander alive) are the assertion"},
    {"signal_supervisor", X_NONE, NULL, 0, 0,
     "kill() is not observed; the supervisor's SIGTERM counter is the assertion"},
    {"kill_zygote", X_NONE, NULL, 0, T_KILLS_ZYGOTE,
     "kill() is allowed by the policy and not observed; the helper checks whether the signal was delivered"},
    {"sigio_zygote", X_NONE, NULL, 0, T_KILLS_ZYGOTE,
     "fcntl(F_SETOWN/F_SETSIG/F_SETFL) is allowed and not observed; the helper checks whether the zygote died"},
    {"kill_init", X_NONE, NULL, 0, 0,
     "kill() is allowed by the policy and not observed; the helper checks init survived"},
    {"fd_leak", X_NONE, NULL, 0, 0, "fcntl(F_GETFD) probes are not observed; the helper's scan is the assertion"},
    /* kernel surface */
    {"keyctl", X_DENIED, "keyctl", 0, 0, NULL},
    {"add_key", X_DENIED, "add_key", 0, 0, NULL},
    {"bpf", X_DENIED, "bpf", 0, 0, NULL},
    {"io_uring_setup", X_DENIED, "io_uring_setup", 0, 0, NULL},
    {"userfaultfd", X_DENIED, "userfaultfd", 0, 0, NULL},
    {"perf_event_open", X_DENIED, "perf_event_open", 0, 0, NULL},
    {"x32", X_DENIED_FOREIGN, NULL, 0, 0, NULL},
    {"int80", X_DENIED_FOREIGN, NULL, 0, 0, NULL},
    {"personality", X_DENIED, "personality", 0, 0, NULL},
    {"open_by_handle_at", X_DENIED, "open_by_handle_at", 0, 0, NULL},
    /* identity */
    {"setuid_su", X_EXEC, "/usr/bin/su", 0, 0, NULL},
    {"setuid_passwd", X_EXEC, "/usr/bin/passwd", 0, 0, NULL},
    {"setuid_mount", X_EXEC, "/usr/bin/mount", 0, 0, NULL},
    {"setuid_own", X_EXEC, "/opt/escape-suid/escape", 0, T_SUID_COPY, NULL},
    {"setuid0", X_NONE, NULL, 0, 0,
     "setuid/setresuid/setgid are allowed by the filter and refused by the kernel (no CAP_SETUID): nothing to log"},
    {"caps", X_OPEN, "/proc/self/status", 0, 0, NULL},
    /* resources */
    {"core_dump", X_DENIED, "prlimit64", 0, 0, NULL},  /* the refused change of RLIMIT_CORE */
    {"fork_bomb", X_NONE, NULL, 0, T_FORK,
     "fork/clone without namespace flags is allowed and not observed; the helper asserts the limit stopped it"},
    {"mem_bomb", X_NONE, NULL, 0, T_MEM, "mmap is not observed; the helper asserts the limit stopped it"},
    {"mem_bomb_multi", X_NONE, NULL, 0, T_MEM | T_FORK | T_MEMCG,
     "mmap is not observed; the helper asserts the memory cap stopped the processes together"},
    {"disk_bomb", X_OPEN, "/tmp/sbxesc-bomb", 0, T_DISK, NULL},
    {"detached", X_OPEN, "{HOSTDIR}/escaped", 0, T_DETACHED, NULL},
    {"detached_stdio", X_OPEN, "{HOSTDIR}/escaped", 0, T_DETACHED | T_PROMPT, NULL},
    /* what the sandbox shows */
    {"dev_contents", X_OPEN, "/dev", 0, 0, NULL},
    {"sys_absent", X_OPEN, "/sys", 0, 0, NULL},
    {"kcore", X_OPEN, "/proc/kcore", 0, 0, NULL},
    {"kallsyms", X_OPEN, "/proc/kallsyms", 0, 0, NULL},
    {"proc_keys", X_OPEN, "/proc/keys", 0, 0, NULL},
    /* host administration: refused and logged by the policy */
    {"sethostname", X_DENIED, "sethostname", 0, 0, NULL},
    {"settimeofday", X_DENIED, "settimeofday", 0, 0, NULL},
    {"reboot", X_DENIED, "reboot", 0, 0, NULL},
    {"kexec_load", X_DENIED, "kexec_load", 0, 0, NULL},
    {"kernel_admin_rest", X_DENIED, "syslog", 0, 0, NULL},
    {"init_module", X_DENIED, "init_module", 0, 0, NULL},
    {"acct", X_DENIED, "acct", 0, 0, NULL},
    {"swapon", X_DENIED, "swapon", 0, 0, NULL},
    {"proc_attr_write", X_OPEN, "/proc/self/attr/current", 0, 0, NULL},
    {"uid_map_write", X_OPEN, "/proc/self/uid_map", 0, 0, NULL},
    {"setgroups_write", X_OPEN, "/proc/self/setgroups", 0, 0, NULL},
    /* the event stream must tell the truth */
    {"open_relative_cwd", X_OPEN, "/etc/passwd", 0, 0, NULL},
    {"open_relative_dirfd", X_OPEN, "/etc/passwd", 0, 0, NULL},
    {"toctou_open", X_OPEN, "/tmp/benign", 0, T_TOCTOU, NULL},
    {"toctou_exec", X_EXEC, "/usr/bin/true", 0, T_TOCTOU_EXEC, NULL},
    {"toctou_dirfd", X_OPEN, "/tmp/passwd", 0, T_TOCTOU_BASE, NULL},
    {"toctou_connect", X_SOCKET, NULL, AF_INET, T_TOCTOU_NET, NULL},
    {"toctou_cwd", X_OPEN, "/tmp/passwd", 0, T_TOCTOU_BASE, NULL},
    {"proc_self_identity", X_OPEN, "/proc/self/status", 0, 0, NULL},
    {"nondumpable_open", X_OPEN, "/etc/hostname", 0, 0, NULL},
    {"proc_ns_views", X_OPEN, "/proc/sys/kernel/hostname", 0, T_SHM_SENTINEL, NULL},
    {"fastopen_semantics", X_OPEN, "/tmp/fo-000", 0, 0, NULL},
    {"seccomp_listener", X_DENIED, "seccomp", 0, 0, NULL},
    {"exec_memfd", X_EXEC, NULL, 0, 0, NULL},
    {"cpu_bomb", X_NONE, NULL, 0, T_CPU, "CPU use is not an event; the helper asserts RLIMIT_CPU stopped it"},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* ---- event recording -------------------------------------------------------------------- */

struct rec {
    sbx_event_kind kind;
    char syscall[32];
    char path[512];
    char addr[128];
    unsigned port;
    int family, sock_family, sock_type, arch_native, exit_code, term_signal, pid;
    uint64_t args[6];
    char detail[256];
};

struct recs {
    struct rec *v;
    size_t n, cap;
};

static void copy_str(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "");
}

static void on_event(void *ctx, const struct sbx_event *ev)
{
    struct recs *r = ctx;
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 256;
        struct rec *nv = realloc(r->v, nc * sizeof *nv);
        if (!nv) return;
        r->v = nv;
        r->cap = nc;
    }
    struct rec *e = &r->v[r->n++];
    memset(e, 0, sizeof *e);
    e->kind = ev->kind;
    copy_str(e->syscall, sizeof e->syscall, ev->syscall);
    copy_str(e->path, sizeof e->path, ev->path);
    copy_str(e->addr, sizeof e->addr, ev->addr.addr);
    e->port = ev->addr.port;
    e->family = ev->addr.family;
    e->sock_family = ev->sock_family;
    e->sock_type = ev->sock_type;
    e->arch_native = ev->arch_native;
    e->exit_code = ev->exit_code;
    e->term_signal = ev->term_signal;
    e->pid = ev->pid;
    memcpy(e->args, ev->args, sizeof e->args);
    copy_str(e->detail, sizeof e->detail, ev->detail);
}

static const char *kind_name(sbx_event_kind k)
{
    static const char *const n[] = {"exec", "open", "fs", "socket", "net", "denied", "proc_exit", "note"};
    return (unsigned)k < 8 ? n[k] : "?";
}

static void dump_events(const struct recs *r)
{
    print_message("  %zu events:\n", r->n);
    for (size_t i = 0; i < r->n && i < 60; i++) {
        const struct rec *e = &r->v[i];
        print_message("    %s pid=%d sys=%s path=%s addr=%s port=%u sockfam=%d native=%d args0=%llu\n",
                      kind_name(e->kind), e->pid, e->syscall, e->path, e->addr, e->port, e->sock_family,
                      e->arch_native, (unsigned long long)e->args[0]);
    }
}

/* "/proc/self/x" matches "/proc/self/x" and "/proc/<digits>/x" */
static int path_match(const char *want, const char *got)
{
    if (!strcmp(want, got)) return 1;
    if (strncmp(want, "/proc/self/", 11) || strncmp(got, "/proc/", 6)) return 0;
    const char *g = got + 6;
    if (*g < '0' || *g > '9') return 0;
    while (*g >= '0' && *g <= '9') g++;
    return !strcmp(g, want + 10);
}

/* ---- host-side state -------------------------------------------------------------------- */

static volatile sig_atomic_t g_sigterm;
static pid_t g_bystander = -1;
static int g_unix_fd = -1;
static char g_helper_dir[PATH_MAX];

static void on_sigterm(int sig)
{
    (void)sig;
    g_sigterm++;
}

struct listeners { int tcp, udp, port; };

static int open_listeners(struct listeners *l)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        struct sockaddr_in a = {.sin_family = AF_INET};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t al = sizeof a;
        l->tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (l->tcp < 0 || bind(l->tcp, (struct sockaddr *)&a, sizeof a) < 0 || listen(l->tcp, 16) < 0 ||
            getsockname(l->tcp, (struct sockaddr *)&a, &al) < 0) {
            if (l->tcp >= 0) close(l->tcp);
            return -1;
        }
        l->port = ntohs(a.sin_port);
        l->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (l->udp >= 0 && bind(l->udp, (struct sockaddr *)&a, sizeof a) == 0) return 0;
        if (l->udp >= 0) close(l->udp);
        close(l->tcp);
    }
    return -1;
}

/* Connections/datagrams that reached the host listeners (and close them). */
static int drain_listeners(struct listeners *l, char *why, size_t cap)
{
    int hits = 0;
    int c;
    while ((c = accept4(l->tcp, NULL, NULL, SOCK_CLOEXEC)) >= 0) { close(c); hits++; }
    if (hits) snprintf(why, cap, "host TCP listener 127.0.0.1:%d accepted %d connection(s); ", l->port, hits);
    char b[512];
    int d = 0;
    while (recv(l->udp, b, sizeof b, MSG_DONTWAIT) >= 0) d++;
    if (d) {
        size_t n = strlen(why);
        snprintf(why + n, cap - n, "host UDP listener 127.0.0.1:%d received %d datagram(s); ", l->port, d);
    }
    int u = 0;
    while ((c = accept4(g_unix_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) { close(c); u++; }
    if (u) {
        size_t n = strlen(why);
        snprintf(why + n, cap - n, "host abstract socket @scriptbox-test-%d accepted %d connection(s); ", (int)getpid(), u);
    }
    close(l->tcp);
    close(l->udp);
    return hits + d + u;
}

struct fstamp { char path[PATH_MAX + 16]; int exists; struct stat st; char *data; size_t len; };

static void stamp(struct fstamp *f, const char *path, int keep_data)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    f->exists = stat(path, &f->st) == 0;
    if (f->exists && keep_data) f->data = tu_read_file(path, &f->len);
}

/* 1 when unchanged; else describes the change into why */
static int stamp_same(struct fstamp *f, char *why, size_t cap)
{
    struct stat st;
    int ex = stat(f->path, &st) == 0;
    int same = ex == f->exists;
    if (same && ex)
        same = st.st_ino == f->st.st_ino && st.st_size == f->st.st_size && st.st_mode == f->st.st_mode &&
               st.st_mtim.tv_sec == f->st.st_mtim.tv_sec && st.st_mtim.tv_nsec == f->st.st_mtim.tv_nsec &&
               st.st_ctim.tv_sec == f->st.st_ctim.tv_sec && st.st_ctim.tv_nsec == f->st.st_ctim.tv_nsec;
    if (same && f->data) {
        size_t len;
        char *now = tu_read_file(f->path, &len);
        same = now && len == f->len && memcmp(now, f->data, len) == 0;
        free(now);
    }
    free(f->data);
    f->data = NULL;
    if (!same) {
        size_t n = strlen(why);
        snprintf(why + n, cap - n, "host file %s changed; ", f->path);
    }
    return same;
}

/* Live (non-zombie) processes of this run: the helper names itself "sbxe-<our pid>" (so other
 * runs of the suite on the same host are never touched), and live children of ours other than
 * the bystander (the sandbox's init must be gone too). */
static int survivors(pid_t *list, int cap)
{
    int n = 0;
    char me[32];
    snprintf(me, sizeof me, "sbxe-%d", (int)getpid());
    me[15] = 0;  /* the kernel keeps 15 characters of a name */
    DIR *d = opendir("/proc");
    if (!d) return 0;
    const struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0 || pid == getpid()) continue;
        char p[64], buf[512];
        snprintf(p, sizeof p, "/proc/%ld/stat", pid);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r <= 0) continue;
        buf[r] = 0;
        const char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
        if (!lp || !rp || rp[1] != ' ') continue;
        size_t cl = (size_t)(rp - lp - 1);
        int named = cl == strlen(me) && !strncmp(lp + 1, me, cl);
        int ppid = 0;
        if (sscanf(rp + 2, "%*c %d", &ppid) == 1 && ppid == getpid() && pid != g_bystander) named = 1;
        if (named && rp[2] != 'Z' && rp[2] != 'X') {
            if (n < cap) list[n] = (pid_t)pid;
            n++;
        }
    }
    closedir(d);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

static void expand(char *out, size_t cap, const char *in, int port, const char *hostdir)
{
    size_t o = 0;
    out[0] = 0;
    while (*in && o + 1 < cap) {
        char rep[PATH_MAX] = "";
        size_t skip = 0;
        if (!strncmp(in, "{PID}", 5)) { snprintf(rep, sizeof rep, "%d", (int)getpid()); skip = 5; }
        else if (!strncmp(in, "{PORT}", 6)) { snprintf(rep, sizeof rep, "%d", port); skip = 6; }
        else if (!strncmp(in, "{HOSTDIR}", 9)) { snprintf(rep, sizeof rep, "%s", hostdir); skip = 9; }
        if (skip) {
            int w = snprintf(out + o, cap - o, "%s", rep);
            o += (size_t)w < cap - o ? (size_t)w : cap - o - 1;
            in += skip;
        } else {
            out[o++] = *in++;
            out[o] = 0;
        }
    }
}

/* Find the expected event. The zygote's pid ({PPID}) is whatever the exec event's ppid says,
 * so "/proc/{PPID}/mem" matches any "/proc/<n>/mem" with n != the helper's own pid. */
static int find_event(const struct tcase *tc, const struct recs *r, const char *arg)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct rec *e = &r->v[i];
        switch (tc->x) {
        case X_NONE: return 1;
        case X_DENIED:
            if (e->kind == SBX_EV_DENIED && !strcmp(e->syscall, arg)) return 1;
            break;
        case X_DENIED_FOREIGN:
            if (e->kind == SBX_EV_DENIED && e->arch_native == 0) return 1;
            break;
        case X_OPEN:
            if (e->kind != SBX_EV_OPEN) break;
            if (!strncmp(arg, "/proc/{PPID}/", 13)) {
                const char *g = e->path;
                if (strncmp(g, "/proc/", 6)) break;
                g += 6;
                if (*g < '0' || *g > '9') break;
                while (*g >= '0' && *g <= '9') g++;
                if (!strcmp(g, arg + 12)) return 1;
                break;
            }
            if (path_match(arg, e->path)) return 1;
            break;
        case X_NET: {
            if (e->kind != SBX_EV_NET) break;
            if (arg[0] == '@' || arg[0] == '/') { if (!strcmp(e->addr, arg)) return 1; break; }
            const char *colon = strrchr(arg, ':');
            if (!colon) break;
            if (strlen(e->addr) == (size_t)(colon - arg) && !strncmp(e->addr, arg, (size_t)(colon - arg)) &&
                e->port == (unsigned)atoi(colon + 1))
                return 1;
            break;
        }
        case X_SOCKET:
            if (e->kind == SBX_EV_SOCKET && e->sock_family == tc->num) return 1;
            if (e->kind == SBX_EV_DENIED && !strcmp(e->syscall, "socket") && e->args[0] == (uint64_t)tc->num) return 1;
            break;
        case X_EXEC:
            if (e->kind != SBX_EV_EXEC) break;
            /* no arg: any exec but the helper's own start (fileless exec must still show) */
            if (!tc->arg ? strcmp(e->path, "/opt/escape/escape") != 0 : !strcmp(e->path, arg)) return 1;
            break;
        }
    }
    return tc->x == X_NONE;
}

static const char *x_desc(enum xkind x)
{
    static const char *const n[] = {"none", "denied", "denied (foreign ABI)", "open", "net", "socket", "exec"};
    return n[x];
}

/* A setuid-root (on the host) copy of the helper in a private folder, root mode only. */
static char *make_suid_copy(void)
{
    char *d = tu_mkdtemp();
    if (!d) return NULL;
    char src[PATH_MAX + 16], dst[PATH_MAX + 16];
    snprintf(src, sizeof src, "%s/escape", g_helper_dir);
    snprintf(dst, sizeof dst, "%s/escape", d);
    size_t len;
    char *bin = tu_read_file(src, &len);
    int fd = bin ? open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700) : -1;
    int ok = fd >= 0 && write(fd, bin, len) == (ssize_t)len;
    if (fd >= 0) close(fd);
    free(bin);
    if (!ok || chown(dst, 0, 0) < 0 || chmod(dst, 04755) < 0 || chmod(d, 0711) < 0) {
        tu_rm_rf(d);
        free(d);
        return NULL;
    }
    return d;
}

/* The helper opened a path another thread kept rewriting; every open it really made of
 * /etc/passwd (or /tmp/benign) must be in the log under that name, and no more. */
static void check_toctou(const struct sbx_status *status, const struct recs *r, const char *decoy, char *fails,
                         size_t cap)
{
    const char *s = status->out.data ? strstr(status->out.data, "real_passwd=") : NULL;
    int real_pw = -1, real_bn = -1;
    size_t n = strlen(fails);
    if (!s || sscanf(s, "real_passwd=%d real_benign=%d", &real_pw, &real_bn) != 2) {
        snprintf(fails + n, cap - n, "toctou: no counts in the helper's output; ");
        return;
    }
    int log_pw = 0, log_bn = 0, notes = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].kind == SBX_EV_NOTE) notes++;
        if (r->v[i].kind != SBX_EV_OPEN) continue;
        if (!strcmp(r->v[i].path, "/etc/passwd")) log_pw++;
        if (!strcmp(r->v[i].path, decoy)) log_bn++;
    }
    /* the decoy is also opened once (O_CREAT) before the race starts */
    log_bn--;
    print_message("  toctou: really opened /etc/passwd=%d %s=%d; logged /etc/passwd=%d %s=%d (%d notes)\n",
                  real_pw, decoy, real_bn, log_pw, decoy, log_bn, notes);
    if (log_pw != real_pw || log_bn != real_bn)
        snprintf(fails + n, cap - n,
                 "HOLE: the event stream can be forged (seccomp-notify TOCTOU): the payload really opened "
                 "/etc/passwd %d times, the log says %d; %s %d times, the log says %d; ",
                 real_pw, log_pw, decoy, real_bn, log_bn);
}

/* Same for execve: the helper knows which program really ran from its exit status. */
static void check_toctou_exec(const struct sbx_status *status, const struct recs *r, char *fails, size_t cap)
{
    const char *s = status->out.data ? strstr(status->out.data, "real_true=") : NULL;
    int real_true = -1, real_test = -1;
    size_t n = strlen(fails);
    if (!s || sscanf(s, "real_true=%d real_test=%d", &real_true, &real_test) != 2) {
        snprintf(fails + n, cap - n, "toctou_exec: no counts in the helper's output; ");
        return;
    }
    int log_true = 0, log_test = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].kind != SBX_EV_EXEC) continue;
        if (!strcmp(r->v[i].path, "/usr/bin/true")) log_true++;
        if (!strcmp(r->v[i].path, "/usr/bin/test")) log_test++;
    }
    print_message("  toctou_exec: really ran true=%d test=%d; logged true=%d test=%d\n", real_true, real_test,
                  log_true, log_test);
    if (log_true != real_true || log_test != real_test)
        snprintf(fails + n, cap - n,
                 "HOLE: exec events can be forged (seccomp-notify TOCTOU on execve): /usr/bin/test really ran %d "
                 "times, the log says %d; /usr/bin/true ran %d times, the log says %d; ",
                 real_test, log_test, real_true, log_true);
}

/* And for connect: port_a had a listener (connect succeeded), port_b none (ECONNREFUSED). */
static void check_toctou_net(const struct sbx_status *status, const struct recs *r, char *fails, size_t cap)
{
    const char *s = status->out.data ? strstr(status->out.data, "real_a=") : NULL;
    int real_a = -1, real_b = -1, port_a = -1, port_b = -1;
    size_t n = strlen(fails);
    if (!s || sscanf(s, "real_a=%d real_b=%d port_a=%d port_b=%d", &real_a, &real_b, &port_a, &port_b) != 4) {
        snprintf(fails + n, cap - n, "toctou_connect: no counts in the helper's output; ");
        return;
    }
    int log_a = 0, log_b = 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct rec *e = &r->v[i];
        if (e->kind != SBX_EV_NET || strcmp(e->syscall, "connect") || strcmp(e->addr, "127.0.0.1")) continue;
        if (e->port == (unsigned)port_a) log_a++;
        if (e->port == (unsigned)port_b) log_b++;
    }
    print_message("  toctou_connect: really connected :%d=%d :%d=%d; logged :%d=%d :%d=%d\n", port_a, real_a, port_b,
                  real_b, port_a, log_a, port_b, log_b);
    if (log_a != real_a || log_b != real_b)
        snprintf(fails + n, cap - n,
                 "HOLE: net events can be forged (seccomp-notify TOCTOU on connect): 127.0.0.1:%d was really "
                 "reached %d times, the log says %d; 127.0.0.1:%d %d times, the log says %d; ",
                 port_a, real_a, log_a, port_b, real_b, log_b);
}

/* The library's note that it could not apply cgroup limits for want of a delegated cgroup v2. */
static const char *no_cgroup_note(const struct recs *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].kind == SBX_EV_NOTE && strstr(r->v[i].detail, "no delegated cgroup")) return r->v[i].detail;
    return NULL;
}

/* A seed folder shaped like a hostile package: a plain file (control), a symlink to a host file,
 * a FIFO, set-id files and, as root, a /dev/mem node. */
static int make_hostile_seed(const char *hostdir, const char *sentinel, char *seed, size_t cap)
{
    snprintf(seed, cap, "%s/seed", hostdir);
    char p[PATH_MAX + 64];
    if (mkdir(seed, 0755) < 0) return -1;
    snprintf(p, sizeof p, "%s/plain", seed);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    fputs("plain\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/link", seed);
    if (symlink(sentinel, p) < 0) return -1;
    snprintf(p, sizeof p, "%s/fifo", seed);
    if (mkfifo(p, 0644) < 0) return -1;
    snprintf(p, sizeof p, "%s/suid", seed);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    if (fd < 0) return -1;
    close(fd);
    if (chmod(p, 06755) < 0) return -1;
    snprintf(p, sizeof p, "%s/dir", seed);
    if (mkdir(p, 0755) < 0) return -1;
    snprintf(p, sizeof p, "%s/dir/sgid", seed);
    fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    if (fd < 0) return -1;
    close(fd);
    if (chmod(p, 02755) < 0) return -1;
    if (geteuid() == 0) {  /* a container without CAP_MKNOD cannot make one: the rest still counts */
        snprintf(p, sizeof p, "%s/mem", seed);
        if (mknod(p, S_IFCHR | 0644, makedev(1, 1)) < 0)
            print_message("  seed: no /dev/mem node in the seed (mknod: %s); the other hostile entries are checked\n",
                          strerror(errno));
    }
    return 0;
}

/* The helper's output, every line indented: nothing it prints can look like a TAP line. */
static void print_indented(const char *tag, const char *text)
{
    while (*text) {
        size_t l = strcspn(text, "\n");
        print_message("  %s%.*s\n", tag, (int)l, text);
        text += l;
        if (*text == '\n') text++;
    }
}

/* Unix sockets on host paths (HOSTDIR/host.sock stream, HOSTDIR/host.dsock datagram). */
static int host_unix_sockets(const char *hostdir, int *stream, int *dgram)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s/host.sock", hostdir);
    *stream = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (*stream < 0 || bind(*stream, (struct sockaddr *)&a, sizeof a) < 0 || listen(*stream, 16) < 0) return -1;
    snprintf(a.sun_path, sizeof a.sun_path, "%s/host.dsock", hostdir);
    *dgram = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (*dgram < 0 || bind(*dgram, (struct sockaddr *)&a, sizeof a) < 0) return -1;
    chmod(hostdir, 0777);
    return 0;
}

static void check_host_unix(const char *hostdir, int stream, int dgram, char *fails, size_t cap)
{
    int c, hits = 0;
    while ((c = accept4(stream, NULL, NULL, SOCK_CLOEXEC)) >= 0) { close(c); hits++; }
    char b[64];
    int d = 0;
    while (recv(dgram, b, sizeof b, MSG_DONTWAIT) >= 0) d++;
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/bound.sock", hostdir);
    int bound = access(p, F_OK) == 0;
    size_t n = strlen(fails);
    if (hits || d || bound)
        snprintf(fails + n, cap - n, "ESCAPE: host unix sockets reached (%d connection(s), %d datagram(s)%s); ", hits, d,
                 bound ? ", a socket file bound in the host folder" : "");
    close(stream);
    close(dgram);
}

/* ---- one case ---------------------------------------------------------------------------- */

static void run_case_flags(const struct tcase *tc, int trace_all)
{
    int rootless = !strcmp(tu_mode(), "rootless");
    char *suid_dir = NULL;

    if ((tc->flags & T_SUID_COPY) && (rootless || geteuid() != 0)) {
        print_message("skip %s: a setuid-root host file can only be made as root (mode %s); "
                      "as uid %d the only uid mapped into the sandbox is the payload's own\n",
                      tc->name, tu_mode(), (int)geteuid());
        skip();
        return;
    }

    /* host state before */
    struct listeners l = {-1, -1, 0};
    assert_int_equal(open_listeners(&l), 0);
    char *hostdir = tu_mkdtemp();
    assert_non_null(hostdir);
    assert_int_equal(chmod(hostdir, 0777), 0);
    char sentinel[PATH_MAX + 16], escaped[PATH_MAX + 16];
    snprintf(sentinel, sizeof sentinel, "%s/sentinel", hostdir);
    snprintf(escaped, sizeof escaped, "%s/escaped", hostdir);
    FILE *sf = fopen(sentinel, "w");
    assert_non_null(sf);
    fputs("sentinel\n", sf);
    fclose(sf);
    char helper_bin[PATH_MAX + 16];
    snprintf(helper_bin, sizeof helper_bin, "%s/escape", g_helper_dir);
    struct fstamp st[6];
    stamp(&st[0], sentinel, 1);
    stamp(&st[1], "/etc/passwd", 1);
    stamp(&st[2], helper_bin, 0);
    stamp(&st[3], "/usr/bin/node", 0);
    stamp(&st[4], "/proc/sys/kernel/core_pattern", 1);
    stamp(&st[5], "/etc/shadow", 0);
    char host_name[256] = "";
    gethostname(host_name, sizeof host_name - 1);
    int sigterm0 = g_sigterm;

    char seed[PATH_MAX + 16] = "";
    if (tc->flags & T_SEED) assert_int_equal(make_hostile_seed(hostdir, sentinel, seed, sizeof seed), 0);

    int hs_stream = -1, hs_dgram = -1;
    if (tc->flags & T_HOSTSOCK) {
        assert_int_equal(host_unix_sockets(hostdir, &hs_stream, &hs_dgram), 0);
    }
    int shm_id = -1;
    if (tc->flags & T_SHM_SENTINEL) {
        shm_id = shmget(0x5b000000 | (getpid() & 0xffffff), 4096, IPC_CREAT | IPC_EXCL | 0600);
        assert_true(shm_id >= 0);
    }

    /* Made last, after every assertion that could return early: a setuid-root file (inert
     * outside the sandbox: the helper refuses to run) must never be left behind. */
    if (tc->flags & T_SUID_COPY) {
        suid_dir = make_suid_copy();
        if (!suid_dir) {
            tu_rm_rf(hostdir);
            free(hostdir);
            fail_msg("%s: cannot make the setuid-root copy of the helper", tc->name);
        }
    }

    /* the sandbox */
    struct sbx_bind binds[2] = {{g_helper_dir, "/opt/escape", 0}, {suid_dir, "/opt/escape-suid", 0}};
    struct sbx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.hostname = "escape-test";
    cfg.payload_uid = cfg.payload_gid = 1000;
    cfg.binds = binds;
    cfg.nbinds = suid_dir ? 2 : 1;
    struct sbx_tmpfs areas[2] = {{"/tmp", NULL, 64 * MIB, 0}, {"/seed", seed, 16 * MIB, 0}};
    cfg.tmpfs = areas;
    cfg.ntmpfs = (tc->flags & T_SEED) ? 2 : 1;
    cfg.limits.cpu_seconds = 20;
    cfg.limits.capture_bytes = 64 * 1024;
    cfg.limits.nofile = 256;
    if (tc->flags & T_CPU) cfg.limits.cpu_seconds = 2;
    if (tc->flags & T_FORK) { cfg.limits.nproc = 64; cfg.limits.pids = 64; }
    if (tc->flags & T_MEM) { cfg.limits.address_space = 512 * MIB; cfg.limits.memory_bytes = 512 * MIB; }
    if (tc->flags & T_DISK) { areas[0].max_bytes = 32 * MIB; areas[0].max_inodes = 4096; cfg.limits.file_size = 128 * MIB; }
    if (trace_all || getenv("ESCAPE_TRACE_ALL")) cfg.flags |= SBX_TRACE_ALL;
    struct recs recs = {0};
    cfg.on_event = on_event;
    cfg.event_ctx = &recs;

    char port_s[16], pid_s[16];
    snprintf(port_s, sizeof port_s, "%d", l.port);
    snprintf(pid_s, sizeof pid_s, "%d", (int)getpid());
    const char *argv[] = {"/opt/escape/escape", tc->name, port_s, pid_s, hostdir, NULL};
    const char *envp[] = {"SBX_ESCAPE_ARMED=1", "PATH=/usr/bin:/bin", NULL};
    struct sbx_command cmd = {argv, envp, "/tmp", 30000};

    sbx_error err;
    memset(&err, 0, sizeof err);
    struct sbx *sb = NULL;
    char fails[8192] = "";
    int skipped = 0;
    char skip_why[1024] = "";
    const char *cg_note = NULL;
    struct sbx_status status;
    memset(&status, 0, sizeof status);
    int leftovers = 0;
    int opened = sbx_open(&cfg, &sb, &err) == 0;
    int ran = 0;
    if (!opened) {
        if (err.kind == SBX_E_USERNS) skipped = 1;
        snprintf(fails, sizeof fails, "sbx_open: %s (errno %d); ", err.msg, err.sys_errno);
    } else {
        ran = sbx_exec(sb, &cmd, &status, &err) == 0;
        if (!ran) snprintf(fails, sizeof fails, "sbx_exec: %s (errno %d)%s; ", err.msg, err.sys_errno,
                           (tc->flags & T_KILLS_ZYGOTE)
                               ? " -- HOLE: the payload killed the zygote (same kernel uid and pid namespace as the payload, "
                                 "so its signals reach it), so the command's status is lost and the sandbox is dead"
                               : "");
        struct sbx_close_status cs = {0};
        sbx_error cerr;
        memset(&cerr, 0, sizeof cerr);
        if (sbx_close(sb, 300, &cs, &cerr) < 0) {
            size_t n = strlen(fails);
            snprintf(fails + n, sizeof fails - n, "sbx_close: %s; ", cerr.msg);
        }
        if (cs.leftovers) print_message("  sbx_close: %d leftover process(es) killed\n", cs.leftovers);
        leftovers = cs.leftovers;
    }

    /* 1. the helper's verdict */
    if (ran) {
        print_indented("", status.out.data && *status.out.data ? status.out.data : "(no output)");
        if (status.err.data && *status.err.data) print_indented("stderr: ", status.err.data);
        size_t n = strlen(fails);
        if (status.timed_out) snprintf(fails + n, sizeof fails - n, "helper timed out; ");
        else if (status.exited && status.exit_code == 77) skipped = 1;
        else if (status.exited && status.exit_code == 1 && (tc->flags & T_MEMCG) && (cg_note = no_cgroup_note(&recs))) {
            skipped = 1;
            snprintf(skip_why, sizeof skip_why,
                     "the library cannot enforce memory_bytes here (note: \"%s\"): total memory is bounded only by "
                     "nproc x address_space; %s", cg_note, status.out.data ? status.out.data : "");
        }
        else if (status.exited && status.exit_code == 1) snprintf(fails + n, sizeof fails - n, "ESCAPE: %s; ", status.out.data ? status.out.data : "");
        else if (!status.exited && status.term_signal == SIGKILL && (tc->flags & T_SIGKILL_OK))
            print_message("  helper died by SIGKILL (its own kill(-1)); that is allowed\n");
        else if (!status.exited) snprintf(fails + n, sizeof fails - n, "helper killed by signal %d; ", status.term_signal);
        else if (status.exit_code != 0) snprintf(fails + n, sizeof fails - n, "helper exit %d: %s; ", status.exit_code, status.out.data ? status.out.data : "");
    }

    /* The leftover holds stdout for 3 s: sbx_exec must have returned while it still ran, so
     * sbx_close found it alive (an ordering, not a time bound). */
    if (ran && (tc->flags & T_PROMPT) && leftovers == 0) {
        size_t n = strlen(fails);
        snprintf(fails + n, sizeof fails - n,
                 "sbx_exec returned only after %.1f s, when the detached leftover holding stdout had ended: it "
                 "waited for the leftover instead of the command; ", (double)(status.end_ns - status.start_ns) / 1e9);
    }

    /* 2. the host */
    pid_t surv[16];
    int ns = 0;
    for (int i = 0; i < 20 && (ns = survivors(surv, 16)) > 0; i++) sleep_ms(50);
    if (ns > 0) {
        size_t n = strlen(fails);
        char what[512] = "", sp[64];
        snprintf(sp, sizeof sp, "/proc/%d/stat", (int)surv[0]);
        char *st0 = tu_read_file(sp, NULL);
        if (st0) { snprintf(what, sizeof what, "%.200s", st0); free(st0); }
        what[strcspn(what, "\n")] = 0;
        snprintf(fails + n, sizeof fails - n, "%d process(es) of the run survived sbx_close (e.g. %s); ", ns, what);
        for (int i = 0; i < ns && i < 16; i++) kill(surv[i], SIGKILL);
        if (tc->flags & T_DETACHED) sleep_ms(3500);  /* let a survivor's deadline pass before looking */
    }
    if (tc->flags & T_DETACHED) sleep_ms(300);
    if (access(escaped, F_OK) == 0) {
        size_t n = strlen(fails);
        snprintf(fails + n, sizeof fails - n, "ESCAPE: %s appeared on the host; ", escaped);
    }
    drain_listeners(&l, fails + strlen(fails), sizeof fails - strlen(fails));
    for (int i = 0; i < 6; i++) stamp_same(&st[i], fails + strlen(fails), sizeof fails - strlen(fails));
    char host_now[256] = "";
    gethostname(host_now, sizeof host_now - 1);
    if (strcmp(host_now, host_name)) {
        size_t n = strlen(fails);
        snprintf(fails + n, sizeof fails - n, "host hostname changed to %s; ", host_now);
    }
    if (g_sigterm != sigterm0) {
        size_t n = strlen(fails);
        snprintf(fails + n, sizeof fails - n, "the supervisor received SIGTERM; ");
    }
    if (g_bystander > 0 && (waitpid(g_bystander, NULL, WNOHANG) != 0 || kill(g_bystander, 0) < 0)) {
        size_t n = strlen(fails);
        snprintf(fails + n, sizeof fails - n, "the bystander host process (pid %d) died; ", (int)g_bystander);
        g_bystander = -1;
    }

    if (getenv("ESCAPE_DUMP")) dump_events(&recs);  /* debugging: every event of the case */

    /* 3. the event stream */
    if (ran && !skipped) {
        char arg[PATH_MAX] = "";
        if (tc->arg) expand(arg, sizeof arg, tc->arg, l.port, hostdir);
        if (tc->x == X_NONE) {
            print_message("  event: not asserted by design: %s\n", tc->why);
        } else if (!find_event(tc, &recs, arg)) {
            size_t n = strlen(fails);
            if (tc->x == X_SOCKET)
                snprintf(fails + n, sizeof fails - n, "no %s event for family %d in the stream; ", x_desc(tc->x), tc->num);
            else if (tc->x == X_EXEC && !tc->arg)
                snprintf(fails + n, sizeof fails - n, "no exec event besides the helper's own start; ");
            else
                snprintf(fails + n, sizeof fails - n, "no %s event for \"%s\" in the stream; ", x_desc(tc->x), arg);
            dump_events(&recs);
        }
    }

    if (ran && !skipped && (tc->flags & T_TOCTOU)) check_toctou(&status, &recs, "/tmp/benign", fails, sizeof fails);
    if (ran && !skipped && (tc->flags & T_TOCTOU_BASE)) check_toctou(&status, &recs, "/tmp/passwd", fails, sizeof fails);
    if (ran && !skipped && (tc->flags & T_TOCTOU_NET)) check_toctou_net(&status, &recs, fails, sizeof fails);
    if (ran && !skipped && (tc->flags & T_TOCTOU_EXEC)) check_toctou_exec(&status, &recs, fails, sizeof fails);
    if (skipped && !*skip_why)
        snprintf(skip_why, sizeof skip_why, "%s",
                 !opened ? err.msg : status.out.data && *status.out.data ? status.out.data : "helper exit 77");

    if (shm_id >= 0) shmctl(shm_id, IPC_RMID, NULL);
    if (tc->flags & T_HOSTSOCK) check_host_unix(hostdir, hs_stream, hs_dgram, fails, sizeof fails);
    sbx_status_free(&status);
    free(recs.v);
    tu_rm_rf(hostdir);
    free(hostdir);
    if (suid_dir) { tu_rm_rf(suid_dir); free(suid_dir); }

    for (char *c = fails; *c; c++)
        if (*c == '\n') *c = ' ';
    if (*fails) fail_msg("%s: %s", tc->name, fails);
    if (skipped) {
        print_message("skip %s: %s\n", tc->name, skip_why);
        skip();
    }
}

static void run_case(void **state) { run_case_flags(*state, 0); }

/* The same case under SBX_TRACE_ALL: a different filter program (every allowed call notified),
 * so the argument rules and the deny-list are checked again there. */
static void run_case_traced(void **state) { run_case_flags(*state, 1); }

static int filter_case(const struct tcase *tc)
{
    return tc->x == X_DENIED || tc->x == X_DENIED_FOREIGN || tc->x == X_SOCKET;
}

/* ---- group ------------------------------------------------------------------------------ */

static int group_setup(void **state)
{
    (void)state;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigterm;
    sigaction(SIGTERM, &sa, NULL);

    if (!realpath(tu_build("tests/helpers"), g_helper_dir)) {
        print_message("cannot find %s: build the helpers first\n", tu_build("tests/helpers"));
        return -1;
    }
    /* the abstract unix socket the helper tries to reach from inside */
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    int len = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "scriptbox-test-%d", (int)getpid());
    g_unix_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (g_unix_fd < 0 ||
        bind(g_unix_fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len)) < 0 ||
        listen(g_unix_fd, 16) < 0)
        return -1;

    /* a bystander host process of ours: kill(-1) from inside must not reach it */
    g_bystander = fork();
    if (g_bystander == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;) pause();
    }
    return g_bystander > 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    if (g_bystander > 0) { kill(g_bystander, SIGKILL); waitpid(g_bystander, NULL, 0); }
    if (g_unix_fd >= 0) close(g_unix_fd);
    return 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    /* The helper recognises host processes by this variable in /proc/PID/environ, which only
     * shows the environment a process was exec'd with: re-exec once with it set. */
    if (!getenv("SBX_HOST_MARKER")) {
        setenv("SBX_HOST_MARKER", "escape-suite-supervisor", 1);
        execv("/proc/self/exe", argv);
        return 2;
    }
    /* ESCAPE_CASES=a,b,c runs only those (for debugging); the suite runs them all, and every
     * case that tests the filter once more under SBX_TRACE_ALL ("name@trace_all"). */
    const char *only = getenv("ESCAPE_CASES");
    static struct CMUnitTest tests[2 * NCASES];
    static char traced_names[NCASES][64];
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < NCASES; i++) {
            if (pass == 1 && !filter_case(&cases[i])) continue;
            char name[64];
            snprintf(name, sizeof name, pass ? "%s@trace_all" : "%s", cases[i].name);
            if (only && *only) {
                size_t l = strlen(name);
                const char *p = only;
                int hit = 0;
                while ((p = strstr(p, name))) {
                    if ((p == only || p[-1] == ',') && (p[l] == ',' || p[l] == 0)) { hit = 1; break; }
                    p += l;
                }
                if (!hit) continue;
            }
            if (pass) {
                snprintf(traced_names[i], sizeof traced_names[i], "%s", name);
                tests[n++] = (struct CMUnitTest){traced_names[i], run_case_traced, NULL, NULL, (void *)&cases[i]};
            } else {
                tests[n++] = (struct CMUnitTest){cases[i].name, run_case, NULL, NULL, (void *)&cases[i]};
            }
        }
    }
    return _cmocka_run_group_tests("escape", tests, n, group_setup, group_teardown);
}
