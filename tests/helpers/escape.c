/*
 * escape.c — hostile test program for the escape suite. It is run INSIDE the sandbox by
 * tests/escape/test_escape.c and tries one way out per invocation:
 *
 *     escape CASE [PORT [HOSTPID [HOSTDIR]]]
 *
 *   PORT     a host TCP+UDP listener on 127.0.0.1 (the harness's)
 *   HOSTPID  the supervisor's pid on the host (the harness process)
 *   HOSTDIR  a host folder the harness watches (never bound into the sandbox)
 *
 * Exit status: 0 the attempt failed as it should (one line: what was tried, the errno);
 *              1 the attempt SUCCEEDED (an escape; the line says what happened);
 *              77 the case cannot run here (the line says why);
 *              2 refusing to run outside the sandbox; 3 a control case found the policy broken.
 *
 * SAFETY: it does hostile things (kill(-1, SIGKILL), sysrq/core_pattern writes, bombs, TIOCSTI).
 * It refuses to run unless getuid() == 1000, SBX_ESCAPE_ARMED=1 and /sys does not exist. Every
 * bomb stops by itself after a bounded count or time. Network attempts only target 127.0.0.1,
 * ::1 and documentation addresses (192.0.2.1, 2001:db8::1).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/if_ether.h>
#include <linux/keyctl.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <linux/tiocl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD_UID 1000
#define HOST_MARKER "SBX_HOST_MARKER="

static const char *g_case = "?";
static int g_port;
static int g_hostpid;
static const char *g_hostdir = "";

__attribute__((format(printf, 2, 3)))
static int report(int rc, const char *fmt, ...)
{
    va_list ap;
    printf("%s: ", g_case);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    return rc;
}
#define OK(...)      report(0, __VA_ARGS__)
#define ESCAPED(...) report(1, __VA_ARGS__)
#define CANT(...)    report(77, __VA_ARGS__)

static const char *en(int e)
{
    const char *s = strerrorname_np(e);
    return s ? s : "E?";
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    buf[n] = 0;
    int e = errno;
    close(fd);
    errno = e;
    return (ssize_t)n;
}

static void appendf(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void appendf(char *msg, size_t cap, const char *fmt, ...)
{
    size_t l = strlen(msg);
    if (l >= cap - 1) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + l, cap - l, fmt, ap);
    va_end(ap);
}

/* Open path with flags; 0 = refused (errno in *err), 1 = it opened (fd closed). */
static int opens(const char *path, int flags, int *err)
{
    int fd = open(path, flags | O_CLOEXEC, 0600);
    if (fd < 0) { *err = errno; return 0; }
    close(fd);
    *err = 0;
    return 1;
}

/* Does this pid's environment carry the harness's host marker? (Only host processes do.) */
static int pid_is_host(int pid)
{
    char p[64], buf[65536];
    snprintf(p, sizeof p, "/proc/%d/environ", pid);
    ssize_t n = read_file(p, buf, sizeof buf);
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
        if (strncmp(buf + i, HOST_MARKER, strlen(HOST_MARKER)) == 0) return 1;
    return 0;
}

/* The process that forked us (the zygote today). getppid() is 0 when it is outside our pid
 * namespace: then the nearest plumbing we can name is pid 1 of our namespace. */
static pid_t plumbing_pid(void)
{
    pid_t z = getppid();
    return z > 0 ? z : 1;
}

/* ---- network ------------------------------------------------------------------------------ */

static int fill_addr(int family, const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, ip, &a->sin_addr);
        *len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, ip, &a->sin6_addr);
        *len = sizeof *a;
    }
    return 0;
}

/* TCP connect with a 1 s bound. route_is_escape: a connect that is merely "in progress" already
 * proves a route out of the sandbox exists (a SYN left). */
static int tcp_try(int family, const char *ip, int port, int route_is_escape)
{
    struct sockaddr_storage ss;
    socklen_t len;
    fill_addr(family, ip, port, &ss, &len);
    int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) return OK("socket(%s, SOCK_STREAM) failed: %s", family == AF_INET ? "AF_INET" : "AF_INET6", en(errno));
    if (connect(s, (struct sockaddr *)&ss, len) == 0) { close(s); return ESCAPED("TCP connect to %s port %d succeeded", ip, port); }
    int e = errno;
    if (e != EINPROGRESS) { close(s); return OK("TCP connect to %s port %d: %s", ip, port, en(e)); }
    if (route_is_escape) { close(s); return ESCAPED("TCP connect to %s port %d is in progress: a route out of the sandbox exists", ip, port); }
    struct pollfd p = {s, POLLOUT, 0};
    int pr = poll(&p, 1, 1000);
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    close(s);
    if (pr == 1 && soerr == 0) return ESCAPED("TCP connect to %s port %d completed", ip, port);
    if (pr == 0) return OK("TCP connect to %s port %d never completed (1 s)", ip, port);
    return OK("TCP connect to %s port %d: %s", ip, port, en(soerr));
}

static int c_net_tcp_host(void)
{
    if (!g_port) return CANT("no port given");
    return tcp_try(AF_INET, "127.0.0.1", g_port, 0);
}

static int c_net_udp_host(void)
{
    if (!g_port) return CANT("no port given");
    struct sockaddr_storage ss;
    socklen_t len;
    fill_addr(AF_INET, "127.0.0.1", g_port, &ss, &len);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return OK("socket(AF_INET, SOCK_DGRAM): %s", en(errno));
    ssize_t n = sendto(s, "sbxesc-udp", 10, 0, (struct sockaddr *)&ss, len);
    if (n < 0) { int e = errno; close(s); return OK("sendto 127.0.0.1:%d: %s", g_port, en(e)); }
    /* The datagram went to *some* loopback. In the sandbox's own net namespace nobody listens
     * on that port, so the kernel answers ICMP port-unreachable: a connected socket sees
     * ECONNREFUSED. Silence means a listener took it (the host's). */
    if (connect(s, (struct sockaddr *)&ss, len) < 0) { int e = errno; close(s); return OK("connect(UDP) 127.0.0.1:%d: %s", g_port, en(e)); }
    if (send(s, "sbxesc-udp", 10, 0) < 0) { int e = errno; close(s); return OK("send(UDP) 127.0.0.1:%d: %s", g_port, en(e)); }
    struct pollfd p = {s, POLLIN, 0};
    int pr = poll(&p, 1, 1000);
    char b[16];
    ssize_t r = pr == 1 ? recv(s, b, sizeof b, MSG_DONTWAIT) : -1;
    int e = errno;
    close(s);
    if (pr == 1 && r < 0 && e == ECONNREFUSED)
        return OK("UDP to 127.0.0.1:%d bounced inside the sandbox (ECONNREFUSED: no listener in its own loopback)", g_port);
    if (pr == 1 && r >= 0) return ESCAPED("UDP to 127.0.0.1:%d got a reply", g_port);
    return ESCAPED("UDP to 127.0.0.1:%d was accepted silently (no port-unreachable): a listener outside got it", g_port);
}

static int c_net_dns(void)
{
    static const unsigned char q[] = {
        0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0x00, 0x01, 0x00, 0x01};
    struct sockaddr_storage ss;
    socklen_t len;
    fill_addr(AF_INET, "192.0.2.1", 53, &ss, &len);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return OK("socket(AF_INET, SOCK_DGRAM): %s", en(errno));
    ssize_t n = sendto(s, q, sizeof q, 0, (struct sockaddr *)&ss, len);
    int e = errno;
    close(s);
    if (n < 0) return OK("DNS query to 192.0.2.1:53: %s", en(e));
    return ESCAPED("DNS query to 192.0.2.1:53 was sent: a route out of the sandbox exists");
}

static int c_net_tcp_out(void) { return tcp_try(AF_INET, "192.0.2.1", 443, 1); }
static int c_net_ipv6(void) { return tcp_try(AF_INET6, "2001:db8::1", 443, 1); }

struct sockspec { int family, type, proto; const char *what; };

static int try_sockets(const struct sockspec *sp, size_t n)
{
    char msg[1024] = "";
    for (size_t i = 0; i < n; i++) {
        int s = socket(sp[i].family, sp[i].type | SOCK_CLOEXEC, sp[i].proto);
        if (s >= 0) { close(s); return ESCAPED("socket(%s) succeeded", sp[i].what); }
        size_t l = strlen(msg);
        snprintf(msg + l, sizeof msg - l, "%ssocket(%s): %s", l ? "; " : "", sp[i].what, en(errno));
    }
    return OK("%s", msg);
}

/* AF_VSOCK is not confined by the network namespace: on a VM it reaches the hypervisor host.
 * Only socket() is tried, never a connect. */
static int c_net_vsock(void)
{
    static const struct sockspec s[] = {
        {40 /* AF_VSOCK */, SOCK_STREAM, 0, "AF_VSOCK, SOCK_STREAM"},
        {40 /* AF_VSOCK */, SOCK_DGRAM, 0, "AF_VSOCK, SOCK_DGRAM"},
    };
    return try_sockets(s, 2);
}

/* Families with a history of kernel bugs, or that reach past the namespace: creation only. */
static int c_net_exotic(void)
{
    static const struct sockspec s[] = {
        {38, SOCK_SEQPACKET, 0, "AF_ALG"}, {21, SOCK_SEQPACKET, 0, "AF_RDS"},
        {30, SOCK_RDM, 0, "AF_TIPC"}, {15, SOCK_RAW, 2, "AF_KEY"}, {44, SOCK_RAW, 0, "AF_XDP"},
        {29, SOCK_RAW, 1, "AF_CAN"}, {31, SOCK_SEQPACKET, 0, "AF_BLUETOOTH"},
        {24, SOCK_STREAM, 0, "AF_PPPOX"}, {9, SOCK_SEQPACKET, 0, "AF_X25"},
        {3, SOCK_SEQPACKET, 0, "AF_AX25"}, {39, SOCK_SEQPACKET, 1, "AF_NFC"},
        {43, SOCK_STREAM, 0, "AF_SMC"}, {42, SOCK_DGRAM, 0, "AF_QIPCRTR"},
        {45, SOCK_DGRAM, 0, "AF_MCTP"}, {16, SOCK_RAW, 4 /* NETLINK_SOCK_DIAG */, "AF_NETLINK/SOCK_DIAG"},
        {16, SOCK_RAW, 6 /* NETLINK_XFRM */, "AF_NETLINK/XFRM"},
        {16, SOCK_RAW, 12 /* NETLINK_NETFILTER */, "AF_NETLINK/NETFILTER"},
        {16, SOCK_RAW, 16 /* NETLINK_GENERIC */, "AF_NETLINK/GENERIC"},
        {AF_INET, SOCK_PACKET, 0, "AF_INET, SOCK_PACKET"},
    };
    return try_sockets(s, sizeof s / sizeof s[0]);
}


static int c_net_raw(void)
{
    static const struct sockspec s[] = {
        {AF_INET, SOCK_RAW, IPPROTO_ICMP, "AF_INET, SOCK_RAW, IPPROTO_ICMP"},
        {AF_INET, SOCK_RAW, IPPROTO_RAW, "AF_INET, SOCK_RAW, IPPROTO_RAW"},
        {AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, "AF_INET6, SOCK_RAW, IPPROTO_ICMPV6"},
    };
    return try_sockets(s, 3);
}

static int c_net_packet(void)
{
    static const struct sockspec s[] = {
        {AF_PACKET, SOCK_RAW, 0x0300 /* htons(ETH_P_ALL) */, "AF_PACKET, SOCK_RAW, ETH_P_ALL"},
        {AF_PACKET, SOCK_DGRAM, 0x0300, "AF_PACKET, SOCK_DGRAM, ETH_P_ALL"},
    };
    return try_sockets(s, 2);
}

static int c_net_netlink_audit(void)
{
    static const struct sockspec s[] = {{AF_NETLINK, SOCK_RAW, NETLINK_AUDIT, "AF_NETLINK, SOCK_RAW, NETLINK_AUDIT"}};
    return try_sockets(s, 1);
}

static int c_net_netlink_uevent(void)
{
    static const struct sockspec s[] = {
        {AF_NETLINK, SOCK_RAW, NETLINK_KOBJECT_UEVENT, "AF_NETLINK, SOCK_RAW, NETLINK_KOBJECT_UEVENT"},
        {AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT, "AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT"},
    };
    return try_sockets(s, 2);
}

/* Control: NETLINK_ROUTE is allowed by policy (libc's getaddrinfo/if_nameindex need it). */
static int c_ctl_netlink_route(void)
{
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (s < 0) return report(3, "control: socket(AF_NETLINK, NETLINK_ROUTE) refused (%s) but the policy allows it", en(errno));
    close(s);
    return OK("control: socket(AF_NETLINK, NETLINK_ROUTE) allowed, as the policy says");
}

static int abstract_connect(const char *name)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t l = strlen(name);
    if (l + 1 > sizeof a.sun_path) return CANT("name too long");
    memcpy(a.sun_path + 1, name, l);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return OK("socket(AF_UNIX): %s", en(errno));
    int r = connect(s, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + l));
    int e = errno;
    close(s);
    if (r == 0) return ESCAPED("connected to abstract socket @%s", name);
    return OK("connect to abstract socket @%s: %s", name, en(e));
}

static int c_abstract_x11(void) { return abstract_connect("/tmp/.X11-unix/X0"); }

static int c_abstract_harness(void)
{
    if (!g_hostpid) return CANT("no host pid given");
    char n[64];
    snprintf(n, sizeof n, "scriptbox-test-%d", g_hostpid);
    return abstract_connect(n);
}

/* ---- reading host files ----------------------------------------------------------------- */

static int list_dir_case(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return OK("opendir %s: %s", path, en(errno));
    char names[512] = "";
    int n = 0;
    const struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        size_t l = strlen(names);
        if (l < sizeof names - 80) snprintf(names + l, sizeof names - l, " %s", de->d_name);
        n++;
    }
    closedir(d);
    if (n) return ESCAPED("%s is visible with %d entries:%s", path, n, names);
    return OK("%s exists but is empty (no host content)", path);
}

static int c_read_root(void) { return list_dir_case("/root"); }
static int c_read_home(void) { return list_dir_case("/home"); }

static int c_read_shadow(void)
{
    char buf[4096];
    ssize_t n = read_file("/etc/shadow", buf, sizeof buf);
    if (n < 0) return OK("open /etc/shadow: %s", en(errno));
    if (n == 0) return OK("/etc/shadow readable but empty");
    return ESCAPED("read %zd bytes of /etc/shadow", n);
}

static int c_proc_sup_environ(void)
{
    if (!g_hostpid) return CANT("no host pid given");
    char p[64], buf[65536];
    snprintf(p, sizeof p, "/proc/%d/environ", g_hostpid);
    ssize_t n = read_file(p, buf, sizeof buf);
    if (n < 0) return OK("open %s: %s", p, en(errno));
    if (pid_is_host(g_hostpid)) return ESCAPED("read the supervisor's environment through %s", p);
    return OK("%s is a sandbox process's (no host marker): the supervisor's is unreachable", p);
}

static int c_proc_sup_root(void)
{
    if (!g_hostpid) return CANT("no host pid given");
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/root", g_hostpid);
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return OK("open %s: %s", p, en(errno));
    struct stat a, b;
    int diff = fstat(fd, &a) == 0 && stat("/", &b) == 0 && (a.st_dev != b.st_dev || a.st_ino != b.st_ino);
    int has_sys = faccessat(fd, "sys", F_OK, 0) == 0;
    close(fd);
    if (diff || has_sys) return ESCAPED("%s opens a different root (host's%s)", p, has_sys ? ", has /sys" : "");
    return OK("%s is the sandbox's own root (a sandbox process)", p);
}

static int c_proc_sup_mem(void)
{
    if (!g_hostpid) return CANT("no host pid given");
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/mem", g_hostpid);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return OK("open %s: %s", p, en(errno));
    close(fd);
    if (pid_is_host(g_hostpid)) return ESCAPED("opened the supervisor's memory %s", p);
    return OK("%s belongs to a sandbox process (no host marker)", p);
}

static int c_proc_init_root(void)
{
    int fd = open("/proc/1/root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return OK("open /proc/1/root: %s", en(errno));
    close(fd);
    return ESCAPED("opened /proc/1/root: the payload has ptrace-read access to the sandbox init");
}

static int c_proc_init_environ(void)
{
    char buf[4096];
    ssize_t n = read_file("/proc/1/environ", buf, sizeof buf);
    if (n < 0) return OK("read /proc/1/environ: %s", en(errno));
    return ESCAPED("read %zd bytes of the sandbox init's environment", n);
}

/* The zygote (our parent) is plumbing: it holds the control socket to the supervisor. */
static int c_proc_zygote_mem(void)
{
    int z = plumbing_pid();
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/mem", z);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return OK("open %s (zygote) read-only: %s", p, en(errno));
    close(fd);
    int e;
    int w = opens(p, O_RDWR, &e);
    return ESCAPED("opened the zygote's memory %s for reading%s", p, w ? " AND writing" : "");
}

static int c_zygote_fd_steal(void)
{
    int targets[2] = {plumbing_pid(), 1};
    char msg[1024] = "", stolen[1024] = "";
    for (int t = 0; t < 2; t++) {
        if (targets[t] <= 0 || (t == 1 && targets[0] == 1)) continue;
        int pfd = (int)syscall(SYS_pidfd_open, targets[t], 0);
        if (pfd < 0) { appendf(msg, sizeof msg, "pidfd_open(%d): %s; ", targets[t], en(errno)); continue; }
        int last = 0;
        for (int fd = 0; fd < 256; fd++) {
            int got = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
            if (got < 0) {
                last = errno;
                if (last != EBADF) break;
                continue;
            }
            char lp[64], what[256];
            snprintf(lp, sizeof lp, "/proc/self/fd/%d", got);
            ssize_t n = readlink(lp, what, sizeof what - 1);
            what[n > 0 ? n : 0] = 0;
            close(got);
            appendf(stolen, sizeof stolen, " %s(pid %d) fd %d -> %s;", t ? "init" : "parent", targets[t], fd, what);
        }
        close(pfd);
        appendf(msg, sizeof msg, "pidfd_getfd(pid %d): %s; ", targets[t], last ? en(last) : "no refusal");
    }
    if (*stolen) return ESCAPED("pidfd_getfd took fds of sandbox plumbing:%s", stolen);
    return OK("%s", msg);
}

/* ---- writing where we must not -------------------------------------------------------- */

static int write_case(const char *path, int flags)
{
    int e;
    if (opens(path, flags, &e)) return ESCAPED("opened %s for writing", path);
    return OK("open %s for writing: %s", path, en(e));
}

static int c_write_usr_bin(void) { return write_case("/usr/bin/x", O_WRONLY | O_CREAT | O_EXCL); }
static int c_write_etc_passwd(void) { return write_case("/etc/passwd", O_WRONLY | O_APPEND); }

static int c_write_rootfs(void)
{
    int e;
    if (opens("/escape-test", O_WRONLY | O_CREAT | O_EXCL, &e)) return ESCAPED("created /escape-test in the root");
    if (mkdir("/escape-dir", 0700) == 0) return ESCAPED("mkdir /escape-dir in the root succeeded");
    return OK("create /escape-test: %s; mkdir /escape-dir: %s", en(e), en(errno));
}

static int c_write_proc_sys_kernel(void)
{
    int e, tried = 0;
    if (opens("/proc/sys/kernel/hostname", O_WRONLY, &e)) return ESCAPED("opened /proc/sys/kernel/hostname for writing");
    int first = e;
    DIR *d = opendir("/proc/sys/kernel");
    if (!d) return OK("open /proc/sys/kernel/hostname: %s; opendir /proc/sys/kernel: %s", en(first), en(errno));
    const struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_type != DT_REG) continue;
        char p[512];
        snprintf(p, sizeof p, "/proc/sys/kernel/%s", de->d_name);
        tried++;
        if (opens(p, O_WRONLY, &e)) { closedir(d); return ESCAPED("opened %s for writing", p); }
    }
    closedir(d);
    /* namespace-relative sysctls (net, ipc, mqueue): whoever opens them for us picks the
     * namespace, so these must be refused too */
    static const char *const more[] = {"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/core/somaxconn",
                                       "/proc/sys/net/ipv4/conf/all/forwarding", "/proc/sys/kernel/shmmax",
                                       "/proc/sys/kernel/msgmax", "/proc/sys/fs/mqueue/msg_max",
                                       "/proc/sys/user/max_user_namespaces", "/proc/sys/vm/overcommit_memory"};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        tried++;
        if (opens(more[i], O_WRONLY, &e)) return ESCAPED("opened %s for writing", more[i]);
    }
    return OK("no /proc/sys/kernel file nor net/ipc/user/vm sysctl opens for writing (%d tried; hostname: %s)", tried, en(first));
}

static int c_write_sysrq(void)
{
    /* Never writes: opening it for writing is already the escape. */
    return write_case("/proc/sysrq-trigger", O_WRONLY);
}

static int c_write_core_pattern(void)
{
    char cur[4096];
    ssize_t n = read_file("/proc/sys/kernel/core_pattern", cur, sizeof cur);
    int fd = open("/proc/sys/kernel/core_pattern", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return OK("open /proc/sys/kernel/core_pattern for writing: %s", en(errno));
    /* Write back exactly what is there: proves the write without changing anything. */
    ssize_t w = n > 0 ? write(fd, cur, (size_t)n) : -1;
    close(fd);
    return ESCAPED("opened core_pattern for writing (rewrite of the same value: %zd)", w);
}

static int c_proc_exe_write(void) { return write_case("/proc/self/exe", O_WRONLY); }

static int c_node_write(void)
{
    static const char *const cands[] = {"/usr/bin/node", "/usr/local/bin/node", "/usr/bin/nodejs"};
    const char *node = NULL;
    for (size_t i = 0; i < 3 && !node; i++)
        if (access(cands[i], F_OK) == 0) node = cands[i];
    int e1, e2;
    int own = opens("/opt/escape/escape", O_WRONLY, &e2);
    if (own) return ESCAPED("opened the helper binary /opt/escape/escape for writing");
    if (!node) return CANT("no node binary in the sandbox (helper write: %s)", en(e2));
    if (opens(node, O_WRONLY, &e1)) return ESCAPED("opened %s for writing", node);
    return OK("open %s for writing: %s; /opt/escape/escape: %s", node, en(e1), en(e2));
}

/* ---- terminals ------------------------------------------------------------------------------ */

static int tty_ioctls(int fd, unsigned long cmd, char *msg, size_t cap)
{
    long r;
    if ((cmd & 0xffffffffUL) == TIOCSTI) {
        char c = ' ';
        r = syscall(SYS_ioctl, fd, cmd, &c);
    } else {
        char sub[2] = {TIOCL_PASTESEL, 0};
        r = syscall(SYS_ioctl, fd, cmd, sub);
    }
    size_t l = strlen(msg);
    snprintf(msg + l, cap - l, "%sfd %d: %s", l ? ", " : "", fd, r == 0 ? "SUCCEEDED" : en(errno));
    return r == 0;
}

static int tty_std(unsigned long cmd, const char *name)
{
    char msg[512] = "";
    int hit = 0;
    for (int fd = 0; fd <= 2; fd++) hit |= tty_ioctls(fd, cmd, msg, sizeof msg);
    if (hit) return ESCAPED("%s on stdio: %s", name, msg);
    return OK("%s on fds 0/1/2: %s", name, msg);
}

static int tty_dev(unsigned long cmd, const char *name)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return OK("open /dev/tty: %s (so no %s on it)", en(errno), name);
    char msg[256] = "";
    int hit = tty_ioctls(fd, cmd, msg, sizeof msg);
    close(fd);
    if (hit) return ESCAPED("%s on /dev/tty succeeded", name);
    return OK("/dev/tty opened, %s refused: %s", name, msg);
}

static int c_tiocsti_std(void) { return tty_std(TIOCSTI, "TIOCSTI"); }
static int c_tiocsti_devtty(void) { return tty_dev(TIOCSTI, "TIOCSTI"); }
static int c_tiocsti_highbits(void) { return tty_std(TIOCSTI | (1UL << 32), "TIOCSTI|1<<32"); }
static int c_tioclinux_std(void) { return tty_std(TIOCLINUX, "TIOCLINUX"); }
static int c_tioclinux_devtty(void) { return tty_dev(TIOCLINUX, "TIOCLINUX"); }
static int c_tioclinux_highbits(void) { return tty_std(TIOCLINUX | (1UL << 32), "TIOCLINUX|1<<32"); }

/* ---- namespaces ----------------------------------------------------------------------------- */

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
struct nsflag { unsigned long flag; const char *name; };
static const struct nsflag ns_flags[] = {
    {CLONE_NEWNS, "NEWNS"}, {CLONE_NEWUTS, "NEWUTS"}, {CLONE_NEWIPC, "NEWIPC"},
    {CLONE_NEWUSER, "NEWUSER"}, {CLONE_NEWPID, "NEWPID"}, {CLONE_NEWNET, "NEWNET"},
    {CLONE_NEWCGROUP, "NEWCGROUP"}, {CLONE_NEWTIME, "NEWTIME"},
};
#define N_NSFLAGS (sizeof ns_flags / sizeof ns_flags[0])

static int c_unshare_ns(void)
{
    char msg[1024] = "", won[256] = "";
    for (size_t i = 0; i < N_NSFLAGS; i++) {
        long r = syscall(SYS_unshare, ns_flags[i].flag);
        appendf(msg, sizeof msg, "%s%s=%s", i ? " " : "", ns_flags[i].name, r == 0 ? "OK" : en(errno));
        if (r == 0) appendf(won, sizeof won, " %s", ns_flags[i].name);
    }
    if (*won) return ESCAPED("unshare succeeded for:%s (%s)", won, msg);
    return OK("unshare CLONE_*: %s", msg);
}

static int c_clone_ns(void)
{
    char msg[1024] = "", won[256] = "";
    for (size_t i = 0; i < N_NSFLAGS; i++) {
        if (ns_flags[i].flag == CLONE_NEWTIME) continue;  /* overlaps CSIGNAL: clone3/unshare only */
        long r = syscall(SYS_clone, ns_flags[i].flag | SIGCHLD, 0L, 0L, 0L, 0L);
        if (r == 0) syscall(SYS_exit_group, 0);
        if (r > 0) waitpid((pid_t)r, NULL, 0);
        appendf(msg, sizeof msg, "%s%s=%s", i ? " " : "", ns_flags[i].name, r > 0 ? "OK" : en(errno));
        if (r > 0) appendf(won, sizeof won, " %s", ns_flags[i].name);
    }
    if (*won) return ESCAPED("clone created namespaces:%s (%s)", won, msg);
    return OK("clone CLONE_*: %s", msg);
}

struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
};

static int c_clone3_ns(void)
{
    char msg[1024] = "", won[256] = "";
    for (size_t i = 0; i < N_NSFLAGS; i++) {
        struct clone_args_v2 a;
        memset(&a, 0, sizeof a);
        a.flags = ns_flags[i].flag;
        a.exit_signal = SIGCHLD;
        long r = syscall(SYS_clone3, &a, sizeof a);
        if (r == 0) syscall(SYS_exit_group, 0);
        if (r > 0) waitpid((pid_t)r, NULL, 0);
        appendf(msg, sizeof msg, "%s%s=%s", i ? " " : "", ns_flags[i].name, r > 0 ? "OK" : en(errno));
        if (r > 0) appendf(won, sizeof won, " %s", ns_flags[i].name);
    }
    if (*won) return ESCAPED("clone3 created namespaces:%s (%s)", won, msg);
    return OK("clone3 CLONE_*: %s", msg);
}

static int c_setns_init(void)
{
    static const char *const ns[] = {"mnt", "net", "pid", "user", "uts", "ipc", "cgroup", "time"};
    char msg[1024] = "";
    for (size_t i = 0; i < 8; i++) {
        char p[64];
        snprintf(p, sizeof p, "/proc/1/ns/%s", ns[i]);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0) { appendf(msg, sizeof msg, "%s: open %s; ", ns[i], en(errno)); continue; }
        long r = syscall(SYS_setns, fd, 0);
        int e = errno;
        close(fd);
        if (r == 0) return ESCAPED("setns into init's %s namespace succeeded", ns[i]);
        appendf(msg, sizeof msg, "%s: setns %s; ", ns[i], en(e));
    }
    /* init's files are (rightly) unreachable: still exercise setns itself with our own ns fds,
     * so a missing seccomp rule shows (joining one's own namespace is harmless). */
    for (size_t i = 0; i < 8; i++) {
        char p[64];
        snprintf(p, sizeof p, "/proc/self/ns/%s", ns[i]);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        long r = syscall(SYS_setns, fd, 0);
        appendf(msg, sizeof msg, "self %s: setns %s; ", ns[i], r == 0 ? "ok(own ns)" : en(errno));
        close(fd);
    }
    return OK("%s", msg);
}

/* ---- mounts ---------------------------------------------------------------------------- */

static int mount_case(const char *src, const char *dst, const char *type, unsigned long fl, const char *what)
{
    if (dst && strncmp(dst, "/tmp/", 5) == 0) mkdir(dst, 0700);
    if (mount(src, dst, type, fl, NULL) == 0) {
        umount2(dst, MNT_DETACH);
        return ESCAPED("%s succeeded", what);
    }
    return OK("%s: %s", what, en(errno));
}

static int c_mount_tmpfs(void) { return mount_case("none", "/tmp/m", "tmpfs", 0, "mount tmpfs on /tmp/m"); }
static int c_mount_bind(void) { return mount_case("/", "/tmp/m", NULL, MS_BIND | MS_REC, "bind mount / on /tmp/m"); }
static int c_mount_sysfs(void) { return mount_case("sysfs", "/tmp/sys", "sysfs", 0, "mount sysfs on /tmp/sys"); }
static int c_mount_cgroup(void) { return mount_case("cgroup2", "/tmp/cg", "cgroup2", 0, "mount cgroup2 on /tmp/cg"); }
static int c_mount_proc(void) { return mount_case("proc", "/tmp/proc", "proc", 0, "mount proc on /tmp/proc"); }

static int c_mount_remount_root(void)
{
    int r1 = mount("none", "/", NULL, MS_REMOUNT, NULL);
    int e1 = errno;
    int r2 = mount("none", "/", NULL, MS_REMOUNT | MS_BIND, NULL);
    int e2 = errno;
    int e;
    if (opens("/escape-rw", O_WRONLY | O_CREAT | O_EXCL, &e)) return ESCAPED("/ became writable (created /escape-rw)");
    if (r1 == 0 || r2 == 0) return ESCAPED("remount of / read-write returned success");
    return OK("remount / rw: %s; bind-remount: %s", en(e1), en(e2));
}

static int c_pivot_root(void)
{
    mkdir("/tmp/newroot", 0700);
    mkdir("/tmp/newroot/old", 0700);
    long r = syscall(SYS_pivot_root, "/tmp/newroot", "/tmp/newroot/old");
    if (r == 0) return ESCAPED("pivot_root succeeded");
    return OK("pivot_root(/tmp/newroot, /tmp/newroot/old): %s", en(errno));
}

static int c_chroot(void)
{
    if (chroot("/tmp") == 0) return ESCAPED("chroot(/tmp) succeeded");
    return OK("chroot(/tmp): %s", en(errno));
}

static int c_chroot_classic(void)
{
    mkdir("/tmp/jail", 0700);
    if (chroot("/tmp/jail") < 0) return OK("chroot(/tmp/jail): %s (classic mkdir+chroot+chdir .. escape impossible)", en(errno));
    for (int i = 0; i < 64; i++)
        if (chdir("..") < 0) break;
    int r = chroot(".");
    struct stat st;
    int sys = stat("/sys", &st) == 0;
    return ESCAPED("chroot allowed; classic escape chroot(\".\")=%d, /sys %s", r, sys ? "VISIBLE" : "absent");
}

static int c_umount_proc(void)
{
    if (umount2("/proc", MNT_DETACH) == 0) return ESCAPED("umount2(/proc) succeeded");
    return OK("umount2(/proc, MNT_DETACH): %s", en(errno));
}

static int c_fsopen(void)
{
    long fd = syscall(SYS_fsopen, "tmpfs", 0);
    if (fd >= 0) { close((int)fd); return ESCAPED("fsopen(tmpfs) returned a context fd"); }
    return OK("fsopen(tmpfs): %s", en(errno));
}

static int c_open_tree(void)
{
    long fd = syscall(SYS_open_tree, AT_FDCWD, "/", (unsigned long)(OPEN_TREE_CLONE | AT_RECURSIVE));
    if (fd >= 0) { close((int)fd); return ESCAPED("open_tree(/, OPEN_TREE_CLONE) returned a detached tree"); }
    return OK("open_tree(/, OPEN_TREE_CLONE|AT_RECURSIVE): %s", en(errno));
}

/* ---- other processes --------------------------------------------------------------------- */

static int c_ptrace_init(void)
{
    long r = syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, 1, 0L, 0L);
    if (r == 0) { syscall(SYS_ptrace, 17 /* PTRACE_DETACH */, 1, 0L, 0L); return ESCAPED("PTRACE_ATTACH to pid 1 succeeded"); }
    return OK("ptrace(PTRACE_ATTACH, 1): %s", en(errno));
}

static int c_ptrace_sibling(void)
{
    pid_t c = fork();
    if (c < 0) return CANT("fork: %s", en(errno));
    if (c == 0) { sleep_ms(3000); _exit(0); }
    long r = syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, c, 0L, 0L);
    int e = errno;
    if (r == 0) syscall(SYS_ptrace, 17 /* PTRACE_DETACH */, c, 0L, 0L);
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    if (r == 0) return ESCAPED("PTRACE_ATTACH to a sibling (pid %d) succeeded", (int)c);
    return OK("ptrace(PTRACE_ATTACH, sibling %d): %s", (int)c, en(e));
}

static int c_process_vm_readv(void)
{
    char buf[8];
    struct iovec l = {buf, sizeof buf}, r = {(void *)0x1000, sizeof buf};
    ssize_t n = process_vm_readv(1, &l, 1, &r, 1, 0);
    if (n >= 0) return ESCAPED("process_vm_readv of pid 1 read %zd bytes", n);
    if (errno == EFAULT) return ESCAPED("process_vm_readv of pid 1 passed the permission check (EFAULT on the probe address)");
    return OK("process_vm_readv(pid 1): %s", en(errno));
}

static int c_kill_all(void)
{
    int p[2];
    if (pipe(p) < 0) return CANT("pipe: %s", en(errno));
    pid_t c = fork();
    if (c < 0) return CANT("fork: %s", en(errno));
    if (c == 0) {
        close(p[0]);
        long r = syscall(SYS_kill, -1, SIGKILL);
        char m[128];
        int l = snprintf(m, sizeof m, "kill(-1, SIGKILL) = %ld (%s)", r, r == 0 ? "sent" : en(errno));
        if (write(p[1], m, (size_t)l) < 0) {}
        /* the parent is very likely dead now: tell the harness ourselves */
        printf("kill_all (child): %s\n", m);
        fflush(stdout);
        _exit(0);
    }
    close(p[1]);
    char m[128] = "";
    ssize_t n = read(p[0], m, sizeof m - 1);
    m[n > 0 ? n : 0] = 0;
    waitpid(c, NULL, 0);
    /* Reaching this line means kill(-1) spared us: that is fine too. Either way the harness
     * checks that the supervisor and host processes were untouched. */
    return OK("child did %s; the parent survived", m);
}

/* The zygote is plumbing (it forks commands, reports exits). It runs under the payload's kernel
 * uid: a signal from the payload must not reach it. */
static int c_kill_zygote(void)
{
    pid_t z = plumbing_pid();
    if (kill(z, 0) < 0) return OK("kill(parent %d, 0): %s", (int)z, en(errno));
    int r = kill(z, SIGKILL);
    int e = errno;
    sleep_ms(200);
    int alive = kill(z, 0) == 0 || errno == EPERM;
    if (r == 0 && !alive)
        return ESCAPED("SIGKILL delivered to pid %d (%s): the payload can kill the sandbox's plumbing", (int)z,
                       getppid() ? "our parent, the zygote" : "init of our pid namespace");
    return OK("kill(%d, SIGKILL) = %d (%s): it is still alive", (int)z, r, r ? en(e) : "ignored");
}

/* pid 1 of a pid namespace ignores signals from inside it (no handler): it must survive. */
static int c_kill_init(void)
{
    int r = kill(1, SIGKILL);
    int e = errno;
    sleep_ms(200);
    int alive = kill(1, 0) == 0 || errno == EPERM;
    if (!alive) return ESCAPED("the sandbox init died from kill(1, SIGKILL)");
    return OK("kill(1, SIGKILL) = %d (%s): init is still alive", r, r ? en(e) : "ignored");
}

/* The same without kill(): an fd owned by the zygote (F_SETOWN) with F_SETSIG SIGKILL and
 * O_ASYNC makes the kernel signal it when the fd becomes readable. The permission check is the
 * setter's uid against the zygote's: the same kernel uid. A seccomp rule on kill()'s pid
 * argument does not see this path. */
static int c_sigio_zygote(void)
{
    pid_t z = plumbing_pid();
    int p[2];
    if (pipe(p) < 0) return CANT("pipe: %s", en(errno));
    if (fcntl(p[0], F_SETOWN, (int)z) < 0) return OK("fcntl(F_SETOWN, zygote %d): %s", (int)z, en(errno));
    if (fcntl(p[0], F_SETSIG, SIGKILL) < 0) return OK("fcntl(F_SETSIG, SIGKILL): %s", en(errno));
    int fl = fcntl(p[0], F_GETFL);
    if (fl < 0 || fcntl(p[0], F_SETFL, fl | O_ASYNC) < 0) return OK("fcntl(F_SETFL, O_ASYNC): %s", en(errno));
    if (write(p[1], "x", 1) < 0) return CANT("write: %s", en(errno));
    sleep_ms(200);
    if (kill(z, 0) < 0 && errno == ESRCH)
        return ESCAPED("the zygote (pid %d) died of a SIGIO-path SIGKILL (F_SETOWN + F_SETSIG)", (int)z);
    return OK("F_SETOWN/F_SETSIG SIGKILL towards the zygote %d had no effect", (int)z);
}

static int c_signal_supervisor(void)
{
    if (!g_hostpid) return CANT("no host pid given");
    if (kill(g_hostpid, 0) < 0 && errno == ESRCH)
        return OK("kill(%d, SIGTERM): no such process inside the sandbox (ESRCH)", g_hostpid);
    int host = pid_is_host(g_hostpid);
    int r = kill(g_hostpid, SIGTERM);
    int e = errno;
    if (host && r == 0) return ESCAPED("SIGTERM delivered to the supervisor (pid %d)", g_hostpid);
    return OK("kill(%d, SIGTERM) = %d (%s): pid %d inside is a sandbox process, not the supervisor", g_hostpid, r,
              r ? en(e) : "sent", g_hostpid);
}

/* Host unix sockets by path: nothing of the host's /run, /var/run or /tmp is in the sandbox. */
static int c_unix_host_sockets(void)
{
    static const char *const paths[] = {"/run/docker.sock", "/var/run/docker.sock", "/run/systemd/private",
                                        "/run/dbus/system_bus_socket", "/tmp/.X11-unix/X0",
                                        "/run/user/0/bus", "/run/containerd/containerd.sock", "/dev/log"};
    char msg[1024] = "";
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct sockaddr_un a;
        memset(&a, 0, sizeof a);
        a.sun_family = AF_UNIX;
        snprintf(a.sun_path, sizeof a.sun_path, "%s", paths[i]);
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) return OK("socket(AF_UNIX): %s", en(errno));
        int r = connect(s, (struct sockaddr *)&a, sizeof a);
        int e = errno;
        close(s);
        if (r == 0) return ESCAPED("connected to the host socket %s", paths[i]);
        appendf(msg, sizeof msg, "%s%s: %s", i ? ", " : "", paths[i], en(e));
    }
    return OK("connect: %s", msg);
}

/* A seed folder is attacker-shaped (it is the package). The harness seeds /seed with a symlink
 * to a host file, a FIFO, a setuid/setgid file and (as root) a /dev/mem device node, next to a
 * plain file. The copy must keep the symlink a symlink (pointing nowhere inside) and drop the
 * special files and the set-id bits. */
static int c_seed_hostile(void)
{
    char buf[256];
    ssize_t n = read_file("/seed/plain", buf, sizeof buf);
    if (n < 0 || strcmp(buf, "plain\n") != 0)
        return report(3, "control: /seed/plain missing or wrong (%s): the seed was not copied", n < 0 ? en(errno) : buf);
    char bad[1024] = "";
    struct stat st;
    if (lstat("/seed/link", &st) == 0) {
        if (!S_ISLNK(st.st_mode)) appendf(bad, sizeof bad, " link is a %s (the symlink was followed)", S_ISREG(st.st_mode) ? "regular file" : "non-symlink");
        if (read_file("/seed/link", buf, sizeof buf) > 0 && strstr(buf, "sentinel")) appendf(bad, sizeof bad, " link reads the host sentinel");
    }
    if (lstat("/seed/fifo", &st) == 0) appendf(bad, sizeof bad, " fifo copied (mode 0%o)", (unsigned)st.st_mode);
    if (lstat("/seed/mem", &st) == 0) appendf(bad, sizeof bad, " device node copied (%u:%u)", major(st.st_rdev), minor(st.st_rdev));
    if (lstat("/seed/suid", &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)))
        appendf(bad, sizeof bad, " set-id bits kept on suid (mode 0%o)", (unsigned)st.st_mode & 07777);
    if (lstat("/seed/dir/sgid", &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)))
        appendf(bad, sizeof bad, " set-id bits kept on dir/sgid (mode 0%o)", (unsigned)st.st_mode & 07777);
    if (*bad) return ESCAPED("hostile seed copied unsafely:%s", bad);
    return OK("hostile seed: the symlink was not followed, no fifo, no device node, no set-id bits");
}

/* Unix sockets by *host* path: the harness listens on HOSTDIR/host.sock (stream) and
 * HOSTDIR/host.dsock (datagram). Inside, HOSTDIR does not exist: whoever performs connect,
 * sendto or bind for us must resolve the path in the sandbox's mount namespace, not the host's. */
static int c_unix_host_path(void)
{
    if (!*g_hostdir) return CANT("no host folder given");
    char msg[1024] = "";
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s/host.sock", g_hostdir);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return OK("socket(AF_UNIX): %s", en(errno));
    int r = connect(s, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    close(s);
    if (r == 0) return ESCAPED("connected to the host's unix socket %s", a.sun_path);
    appendf(msg, sizeof msg, "connect %s: %s", a.sun_path, en(e));
    snprintf(a.sun_path, sizeof a.sun_path, "%s/host.dsock", g_hostdir);
    s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return OK("%s; socket(AF_UNIX, DGRAM): %s", msg, en(errno));
    ssize_t n = sendto(s, "sbxesc", 6, 0, (struct sockaddr *)&a, sizeof a);
    e = errno;
    close(s);
    if (n >= 0) return ESCAPED("sent a datagram to the host's unix socket %s", a.sun_path);
    appendf(msg, sizeof msg, "; sendto %s: %s", a.sun_path, en(e));
    snprintf(a.sun_path, sizeof a.sun_path, "%s/bound.sock", g_hostdir);
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return OK("%s; socket(AF_UNIX): %s", msg, en(errno));
    r = bind(s, (struct sockaddr *)&a, sizeof a);
    e = errno;
    close(s);
    if (r == 0) return ESCAPED("bound a unix socket at %s (the harness checks the host folder)", a.sun_path);
    appendf(msg, sizeof msg, "; bind %s: %s", a.sun_path, en(e));
    return OK("%s", msg);
}

static int c_fd_leak(void)
{
    char msg[2048] = "";
    int n = 0;
    for (int fd = 3; fd < 1024; fd++) {
        if (fcntl(fd, F_GETFD) < 0) continue;
        char lp[64], what[256];
        snprintf(lp, sizeof lp, "/proc/self/fd/%d", fd);
        ssize_t r = readlink(lp, what, sizeof what - 1);
        what[r > 0 ? r : 0] = 0;
        appendf(msg, sizeof msg, " %d->%s", fd, r > 0 ? what : "?");
        n++;
    }
    if (n) return ESCAPED("%d inherited fds:%s", n, msg);
    return OK("no fd open beyond 0/1/2 (3..1023 scanned)");
}

/* ---- kernel surface ------------------------------------------------------------------------ */

static int sys_case(long r, const char *what)
{
    if (r >= 0) return ESCAPED("%s succeeded (returned %ld)", what, r);
    return OK("%s: %s", what, en(errno));
}

static int c_keyctl(void)
{
    return sys_case(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0L), "keyctl(KEYCTL_GET_KEYRING_ID, user)");
}

static int c_add_key(void)
{
    return sys_case(syscall(SYS_add_key, "user", "sbxesc", "x", 1L, KEY_SPEC_PROCESS_KEYRING), "add_key(user, sbxesc)");
}

static int c_bpf(void)
{
    uint32_t attr[32];
    memset(attr, 0, sizeof attr);
    attr[0] = 2;  /* BPF_MAP_TYPE_ARRAY */
    attr[1] = 4;  /* key size */
    attr[2] = 4;  /* value size */
    attr[3] = 1;  /* max entries */
    long r = syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof attr);
    if (r >= 0) close((int)r);
    return sys_case(r, "bpf(BPF_MAP_CREATE)");
}

static int c_io_uring_setup(void)
{
    uint32_t params[30];
    memset(params, 0, sizeof params);
    long r = syscall(SYS_io_uring_setup, 1L, params);
    if (r >= 0) close((int)r);
    return sys_case(r, "io_uring_setup(1)");
}

static int c_userfaultfd(void)
{
    long r = syscall(SYS_userfaultfd, (long)(O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */));
    if (r >= 0) close((int)r);
    return sys_case(r, "userfaultfd(UFFD_USER_MODE_ONLY)");
}

static int c_perf_event_open(void)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.type = PERF_TYPE_SOFTWARE;
    a.size = sizeof a;
    a.config = PERF_COUNT_SW_CPU_CLOCK;
    a.disabled = 1;
    long r = syscall(SYS_perf_event_open, &a, 0L, -1L, -1L, 0L);
    if (r >= 0) close((int)r);
    return sys_case(r, "perf_event_open(SW_CPU_CLOCK, self)");
}

/* Foreign-ABI calls run in a child: a filter that kills on a bad arch is also a refusal. */
static int foreign_abi(int i386)
{
    int p[2];
    if (pipe(p) < 0) return CANT("pipe: %s", en(errno));
    pid_t c = fork();
    if (c < 0) return CANT("fork: %s", en(errno));
    if (c == 0) {
        long r;
        if (i386) {
#if defined(__x86_64__)
            long ret;
            __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L /* i386 getpid */)
                             : "r8", "r9", "r10", "r11", "memory", "cc");
            r = ret;
#else
            r = -99999;
#endif
        } else {
            r = syscall(SYS_getpid | 0x40000000L);
            if (r < 0) r = -errno;
        }
        if (write(p[1], &r, sizeof r) < 0) {}
        _exit(0);
    }
    close(p[1]);
    long r = 0;
    ssize_t n = read(p[0], &r, sizeof r);
    close(p[0]);
    int st = 0;
    waitpid(c, &st, 0);
    const char *what = i386 ? "int 0x80 getpid (i386 ABI)" : "syscall(getpid | __X32_SYSCALL_BIT)";
    if (n != (ssize_t)sizeof r) {
        if (WIFSIGNALED(st)) return OK("%s: caller killed by signal %d", what, WTERMSIG(st));
        return CANT("%s: child gave no answer", what);
    }
    if (r == -99999) return CANT("not x86_64: no i386 ABI to try");
    if (r > 0) return ESCAPED("%s returned pid %ld", what, r);
    return OK("%s: %s", what, en((int)-r));
}

static int c_x32(void) { return foreign_abi(0); }
static int c_int80(void)
{
#if defined(__x86_64__)
    return foreign_abi(1);
#else
    return CANT("not x86_64");
#endif
}

static int c_personality(void)
{
    long r = syscall(SYS_personality, 0x0400000L /* READ_IMPLIES_EXEC */);
    if (r < 0) return OK("personality(READ_IMPLIES_EXEC): %s", en(errno));
    long now = syscall(SYS_personality, 0xffffffffL);
    if (now >= 0 && (now & 0x0400000L)) return ESCAPED("personality(READ_IMPLIES_EXEC) took effect (now 0x%lx)", now);
    return OK("personality(READ_IMPLIES_EXEC) returned %ld but the persona is 0x%lx", r, now);
}

static int c_open_by_handle_at(void)
{
    struct { unsigned int bytes; int type; unsigned char h[16]; } fh;
    int mfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mfd < 0) return CANT("open /: %s", en(errno));
    /* the "shocker" handle: ext4/xfs root directory inode 2, generation 0 */
    memset(&fh, 0, sizeof fh);
    fh.bytes = 8;
    fh.type = 1;  /* FILEID_INO32_GEN */
    fh.h[0] = 2;
    long r = syscall(SYS_open_by_handle_at, mfd, &fh, O_RDONLY);
    int e = errno;
    if (r >= 0) { close((int)r); close(mfd); return ESCAPED("open_by_handle_at(inode 2) opened a file"); }
    close(mfd);
    return OK("open_by_handle_at(FILEID_INO32_GEN, inode 2): %s", en(e));
}

static int c_dev_contents(void)
{
    DIR *d = opendir("/dev");
    if (!d) return CANT("opendir /dev: %s", en(errno));
    char bad[1024] = "", all[1024] = "";
    const struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char p[300];
        struct stat st;
        snprintf(p, sizeof p, "/dev/%s", de->d_name);
        appendf(all, sizeof all, " %s", de->d_name);
        if (lstat(p, &st) < 0) continue;
        unsigned ma = major(st.st_rdev), mi = minor(st.st_rdev);
        if (S_ISBLK(st.st_mode)) appendf(bad, sizeof bad, " %s(block %u:%u)", de->d_name, ma, mi);
        if (S_ISCHR(st.st_mode)) {
            int fine = (ma == 1 && (mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9)) ||
                       (ma == 5 && (mi == 0 || mi == 2)) || ma == 136;
            if (!fine) appendf(bad, sizeof bad, " %s(char %u:%u)", de->d_name, ma, mi);
        }
    }
    closedir(d);
    static const char *const forbidden[] = {"/dev/mem", "/dev/kmem", "/dev/port", "/dev/kmsg", "/dev/sda", "/dev/vda", "/dev/nvme0"};
    for (size_t i = 0; i < 7; i++)
        if (access(forbidden[i], F_OK) == 0) appendf(bad, sizeof bad, " %s", forbidden[i]);
    if (*bad) return ESCAPED("/dev exposes:%s", bad);
    return OK("/dev holds only harmless nodes:%s", all);
}

static int c_sys_absent(void)
{
    int fd = open("/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) { close(fd); return ESCAPED("/sys exists"); }
    int e = errno;
    char buf[65536];
    if (read_file("/proc/self/mountinfo", buf, sizeof buf) < 0) return OK("/sys: %s (mountinfo unreadable: %s)", en(e), en(errno));
    static const char *const fs[] = {" - sysfs ", " - cgroup ", " - cgroup2 ", " - debugfs ", " - securityfs ", " - tracefs ", " - bpf ", " - configfs "};
    for (size_t i = 0; i < 8; i++)
        if (strstr(buf, fs[i])) return ESCAPED("a%sfilesystem is mounted in the sandbox", fs[i] + 2);
    return OK("/sys: %s; no sysfs/cgroupfs/debugfs/securityfs/tracefs/bpf/configfs mounted", en(e));
}

static int c_kcore(void)
{
    int fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return OK("open /proc/kcore: %s", en(errno));
    unsigned char b[4];
    ssize_t n = read(fd, b, sizeof b);
    int e = errno;
    close(fd);
    if (n == 4 && b[0] == 0x7f && b[1] == 'E') return ESCAPED("/proc/kcore is readable (ELF header)");
    return OK("/proc/kcore opens but is masked (read %zd%s%s)", n, n < 0 ? ", " : "", n < 0 ? en(e) : "");
}

static int c_kallsyms(void)
{
    char buf[65536];
    ssize_t n = read_file("/proc/kallsyms", buf, sizeof buf);
    if (n < 0) return OK("read /proc/kallsyms: %s", en(errno));
    int lines = 0;
    for (char *l = buf; *l; ) {
        char *nl = strchr(l, '\n');
        if (!nl) break;
        *nl = 0;
        if (strtoull(l, NULL, 16) != 0) return ESCAPED("/proc/kallsyms shows a real address: %.80s", l);
        lines++;
        l = nl + 1;
    }
    return OK("/proc/kallsyms: %d lines checked, every address is zero/masked", lines);
}

static int c_proc_keys(void)
{
    char buf[8192];
    ssize_t n = read_file("/proc/keys", buf, sizeof buf);
    if (n < 0) return OK("read /proc/keys: %s", en(errno));
    if (n == 0) return OK("/proc/keys is empty (masked)");
    return ESCAPED("/proc/keys lists keys: %.120s", buf);
}

static int c_sethostname(void)
{
    return sys_case(sethostname("escaped", 7), "sethostname(escaped)");
}

static int c_settimeofday(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return sys_case(syscall(SYS_settimeofday, &tv, NULL), "settimeofday(now)");
}

static int c_reboot(void)
{
    /* CAD_OFF is the mildest command; in a child pid ns it is EINVAL even with CAP_SYS_BOOT,
     * so anything but EPERM/ENOSYS means the permission check passed. */
    long r = syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL);
    if (r == 0 || errno == EINVAL) return ESCAPED("reboot(CAD_OFF) passed the permission check (%s)", r ? en(errno) : "0");
    return OK("reboot(CAD_OFF): %s", en(errno));
}

/* Calls whose permission check comes before argument checks: bogus arguments make success
 * impossible, and any errno but EPERM/ENOSYS proves the permission check passed. */
static int perm_case(long r, const char *what)
{
    if (r >= 0) return ESCAPED("%s succeeded", what);
    if (errno == EPERM || errno == ENOSYS || errno == EACCES) return OK("%s: %s", what, en(errno));
    return ESCAPED("%s passed the permission check (%s)", what, en(errno));
}

static int c_kexec_load(void)
{
    return perm_case(syscall(SYS_kexec_load, 0L, 0L, NULL, 0xffff0000L /* bogus arch */), "kexec_load(bogus arch)");
}

static int c_init_module(void)
{
    long r = syscall(SYS_init_module, NULL, 0L, "");
    if (r < 0 && (errno == EPERM || errno == ENOSYS)) {
        int e1 = errno;
        long r2 = syscall(SYS_finit_module, -1L, "", 0L);
        if (r2 < 0 && (errno == EPERM || errno == ENOSYS))
            return OK("init_module: %s; finit_module: %s", en(e1), en(errno));
        return perm_case(r2, "finit_module(-1)");
    }
    return perm_case(r, "init_module(NULL, 0)");
}

static int c_acct(void) { return perm_case(syscall(SYS_acct, "/nonexistent/sbxesc-acct"), "acct(/nonexistent)"); }
static int c_swapon(void) { return perm_case(syscall(SYS_swapon, "/nonexistent/sbxesc-swap", 0L), "swapon(/nonexistent)"); }

static int c_setuid0(void)
{
    char msg[256] = "";
    long r = syscall(SYS_setuid, 0L);
    appendf(msg, sizeof msg, "setuid(0): %s", r == 0 ? "OK" : en(errno));
    long r2 = syscall(SYS_setresuid, 0L, 0L, 0L);
    appendf(msg, sizeof msg, "; setresuid(0,0,0): %s", r2 == 0 ? "OK" : en(errno));
    long r3 = syscall(SYS_setgid, 0L);
    appendf(msg, sizeof msg, "; setgid(0): %s", r3 == 0 ? "OK" : en(errno));
    if (r == 0 || r2 == 0 || r3 == 0 || geteuid() == 0) return ESCAPED("%s (euid now %d)", msg, (int)geteuid());
    return OK("%s", msg);
}

static int c_caps(void)
{
    char buf[8192];
    if (read_file("/proc/self/status", buf, sizeof buf) < 0) return CANT("read /proc/self/status: %s", en(errno));
    static const char *const keys[] = {"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"};
    char msg[512] = "", bad[256] = "";
    for (size_t i = 0; i < 5; i++) {
        const char *l = strstr(buf, keys[i]);
        if (!l) { appendf(bad, sizeof bad, " %s missing", keys[i]); continue; }
        unsigned long long v = strtoull(l + strlen(keys[i]), NULL, 16);
        appendf(msg, sizeof msg, "%s%s%llx", i ? " " : "", keys[i], v);
        if (v) appendf(bad, sizeof bad, " %s%llx", keys[i], v);
    }
    const char *nnp = strstr(buf, "NoNewPrivs:");
    const char *sec = strstr(buf, "Seccomp:");
    int nnpv = nnp ? atoi(nnp + 11) : -1, secv = sec ? atoi(sec + 8) : -1;
    appendf(msg, sizeof msg, " NoNewPrivs:%d Seccomp:%d", nnpv, secv);
    if (nnpv != 1) appendf(bad, sizeof bad, " NoNewPrivs=%d", nnpv);
    if (secv != 2) appendf(bad, sizeof bad, " Seccomp=%d", secv);
    if (*bad) return ESCAPED("privileges left:%s (%s)", bad, msg);
    return OK("%s", msg);
}

/* ---- setuid binaries -------------------------------------------------------------------- */

/* Exec a (normally setuid) program and watch its credentials through /proc while it is stuck:
 * stdin is a pipe nobody writes and stdout/stderr are a full pipe, so it blocks at its first
 * prompt or message. */
static int setuid_probe(const char *path, const char *const argv[])
{
    if (access(path, F_OK) < 0) return CANT("%s is not present in the sandbox", path);
    int in[2], outp[2], ep[2];
    if (pipe(in) < 0 || pipe(outp) < 0 || pipe2(ep, O_CLOEXEC) < 0) return CANT("pipe: %s", en(errno));
    fcntl(outp[1], F_SETPIPE_SZ, 4096);
    static char junk[4096];
    memset(junk, '.', sizeof junk);
    if (write(outp[1], junk, sizeof junk) < 0) {}  /* now full: the program's first write blocks */
    pid_t c = fork();
    if (c < 0) return CANT("fork: %s", en(errno));
    if (c == 0) {
        dup2(in[0], 0);
        dup2(outp[1], 1);
        dup2(outp[1], 2);
        static const char *const env[] = {"PATH=/usr/bin:/bin", "LANG=C", NULL};
        execve(path, (char *const *)argv, (char *const *)env);
        int e = errno;
        if (write(ep[1], &e, sizeof e) < 0) {}
        _exit(127);
    }
    close(in[0]);
    close(outp[1]);
    close(ep[1]);
    int e = 0;
    ssize_t en_ = read(ep[0], &e, sizeof e);
    close(ep[0]);
    if (en_ == (ssize_t)sizeof e) {
        waitpid(c, NULL, 0);
        return OK("execve %s: %s", path, en(e));
    }
    /* exec happened: sample its credentials until it exits or 1.5 s pass */
    char sp[64], buf[8192], uidline[128] = "?", gidline[128] = "?";
    snprintf(sp, sizeof sp, "/proc/%d/status", (int)c);
    int root = 0, unreadable = 0, samples = 0;
    long end = now_ms() + 1500;
    int st = 0, done = 0;
    while (now_ms() < end) {
        ssize_t n = read_file(sp, buf, sizeof buf);
        pid_t w = waitpid(c, &st, WNOHANG);
        if (w == c) { done = 1; break; }
        if (n < 0) { unreadable++; sleep_ms(5); continue; }
        const char *u = strstr(buf, "\nUid:"), *g = strstr(buf, "\nGid:");
        const char *nm = strstr(buf, "Name:");
        if (!u || !g || !nm) { sleep_ms(5); continue; }
        if (strncmp(nm + 5, "\tsbxe-", 6) == 0) { sleep_ms(1); continue; }  /* not exec'd yet */
        unsigned a, b, cc, d;
        if (sscanf(u + 5, "%u %u %u %u", &a, &b, &cc, &d) == 4) {
            samples++;
            snprintf(uidline, sizeof uidline, "%u %u %u %u", a, b, cc, d);
            if (!a || !b || !cc || !d) root = 1;
        }
        if (sscanf(g + 5, "%u %u %u %u", &a, &b, &cc, &d) == 4) {
            snprintf(gidline, sizeof gidline, "%u %u %u %u", a, b, cc, d);
            if (!a || !b || !cc || !d) root = 1;
        }
        if (root || samples >= 20) break;
        sleep_ms(10);
    }
    if (!done) { kill(c, SIGKILL); waitpid(c, &st, 0); }
    close(in[1]);
    close(outp[0]);
    if (root) return ESCAPED("%s ran with uid %s gid %s (real/effective/saved/fs): gained root", path, uidline, gidline);
    if (!samples && unreadable && !done)
        return ESCAPED("%s became unreadable after exec (privilege change?)", path);
    if (!samples)
        return OK("%s exec'd and exited before a sample (status %d); no uid-0 observed", path, st);
    return OK("%s ran with uid %s gid %s: no privilege gained", path, uidline, gidline);
}

static int c_setuid_su(void)
{
    static const char *const a[] = {"su", "-c", "id -u", "root", NULL};
    return setuid_probe("/usr/bin/su", a);
}

static int c_setuid_passwd(void)
{
    static const char *const a[] = {"passwd", NULL};
    return setuid_probe("/usr/bin/passwd", a);
}

static int c_setuid_mount(void)
{
    static const char *const a[] = {"mount", "-t", "tmpfs", "none", "/tmp", NULL};
    return setuid_probe("/usr/bin/mount", a);
}

/* A copy of this helper that is setuid-root ON THE HOST, bound (nosuid) at /opt/escape-suid. */
static int c_setuid_own(void)
{
    const char *path = "/opt/escape-suid/escape";
    struct stat st;
    if (stat(path, &st) < 0) return CANT("no setuid copy at %s (%s)", path, en(errno));
    int p[2];
    if (pipe(p) < 0) return CANT("pipe: %s", en(errno));
    pid_t c = fork();
    if (c < 0) return CANT("fork: %s", en(errno));
    if (c == 0) {
        dup2(p[1], 1);
        static const char *const a[] = {"escape", "probe_euid", NULL};
        static const char *const env[] = {"SBX_ESCAPE_ARMED=1", NULL};
        execve(path, (char *const *)a, (char *const *)env);
        printf("exec-failed %d\n", errno);
        fflush(stdout);
        _exit(127);
    }
    close(p[1]);
    char buf[128] = "";
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    close(p[0]);
    int wst;
    waitpid(c, &wst, 0);
    int eu = -1, ef = 0;
    if (sscanf(buf, "euid=%d", &eu) == 1) {
        if (eu == 0) return ESCAPED("the setuid-root copy ran with euid 0");
        return OK("the setuid-root copy (mode %o, owner %d inside) ran with euid %d", (unsigned)st.st_mode & 07777, (int)st.st_uid, eu);
    }
    if (sscanf(buf, "exec-failed %d", &ef) == 1) return OK("exec of the setuid copy: %s", en(ef));
    return OK("the setuid copy gave no answer (status 0x%x)", wst);
}

/* ---- resources --------------------------------------------------------------------------- */

/* A crash must never hand a core to the host: with a piped core_pattern (systemd-coredump,
 * apport) the kernel runs the helper as host root in the initial namespaces, and the pipe path
 * ignores RLIMIT_CORE except the value 1 ("never pipe"). So while we are dumpable the soft
 * limit must stay 1: not raised, and not lowered to 0 either — through setrlimit(), the raw
 * setrlimit syscall, or prlimit64 on a child. And a crash must not dump. */
static int core_soft_zero(const char *how, pid_t pid, int raw, char *bad, size_t cap)
{
    struct rlimit zero = {0, 1}, now = {1, 1};
    long r = raw ? syscall(SYS_setrlimit, RLIMIT_CORE, &zero) : prlimit(pid, RLIMIT_CORE, &zero, NULL);
    int e = errno;
    if (prlimit(pid, RLIMIT_CORE, NULL, &now) == 0 && now.rlim_cur == 0) {
        appendf(bad, cap, " %s lowered the soft limit to 0 (returned %ld);", how, r);
        struct rlimit one = {1, 1};
        prlimit(pid, RLIMIT_CORE, &one, NULL);
        return 1;
    }
    (void)e;
    return 0;
}

static int c_core_dump(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_CORE, &rl) < 0) return CANT("getrlimit: %s", en(errno));
    if (rl.rlim_max > 1) return ESCAPED("RLIMIT_CORE hard limit is %llu: cores (piped to the host) are possible", (unsigned long long)rl.rlim_max);
    struct rlimit up = {RLIM_INFINITY, RLIM_INFINITY};
    if (setrlimit(RLIMIT_CORE, &up) == 0) return ESCAPED("raised RLIMIT_CORE to unlimited");
    int e = errno;
    char pat[256] = "";
    if (read_file("/proc/sys/kernel/core_pattern", pat, sizeof pat) < 0) snprintf(pat, sizeof pat, "?");
    pat[strcspn(pat, "\n")] = 0;
    char bad[512] = "";
    int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1;
    if (dumpable) {
        core_soft_zero("setrlimit (prlimit64 on ourselves)", 0, 0, bad, sizeof bad);
        core_soft_zero("the raw setrlimit syscall", 0, 1, bad, sizeof bad);
        pid_t kid = fork();
        if (kid == 0) { sleep_ms(2000); _exit(0); }
        if (kid > 0) {
            core_soft_zero("prlimit64 on a child", kid, 0, bad, sizeof bad);
            kill(kid, SIGKILL);
            waitpid(kid, NULL, 0);
        }
    }
    pid_t c = fork();
    if (c < 0) return CANT("fork: %s", en(errno));
    if (c == 0) {
        struct rlimit zero = {0, 1};
        setrlimit(RLIMIT_CORE, &zero);  /* the worst case, if it was allowed */
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    if (WIFSIGNALED(st) && WCOREDUMP(st)) appendf(bad, sizeof bad, " a crashing child dumped core;");
    if (*bad)
        return ESCAPED("while dumpable:%s with a piped core_pattern (here \"%s\") the core goes to a host-root helper", bad, pat);
    return OK("RLIMIT_CORE %llu/%llu, raising: %s, lowering to 0: refused (%s); core_pattern \"%s\"; a SIGSEGV child dumped no core",
              (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, en(e), dumpable ? "dumpable" : "and not dumpable", pat);
}

static int c_fork_bomb(void)
{
    enum { CAP = 2048 };
    static pid_t kids[CAP];
    int n = 0, e = 0;
    long end = now_ms() + 5000;
    while (n < CAP && now_ms() < end) {
        pid_t c = fork();
        if (c < 0) { e = errno; break; }
        if (c == 0) { sleep_ms(4000); _exit(0); }
        kids[n++] = c;
    }
    for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
    for (int i = 0; i < n; i++) waitpid(kids[i], NULL, 0);
    if (!e) return ESCAPED("%d processes forked without hitting a limit", n);
    return OK("fork failed after %d live children: %s", n, en(e));
}

static int c_mem_bomb(void)
{
    int p[2];
    if (pipe(p) < 0) return CANT("pipe: %s", en(errno));
    pid_t c = fork();
    if (c < 0) return CANT("fork: %s", en(errno));
    enum { CHUNK_MB = 16, CAP_MB = 1024 };
    if (c == 0) {
        close(p[0]);
        int mb = 0, e = 0;
        while (mb < CAP_MB) {
            void *m = mmap(NULL, (size_t)CHUNK_MB << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (m == MAP_FAILED) { e = errno; break; }
            memset(m, 0x5a, (size_t)CHUNK_MB << 20);
            mb += CHUNK_MB;
            if (write(p[1], &mb, sizeof mb) < 0) {}
        }
        int res[2] = {-mb, e};
        if (write(p[1], res, sizeof res) < 0) {}
        _exit(0);
    }
    close(p[1]);
    int last = 0, v, e = 0, finished = 0;
    while (read(p[0], &v, sizeof v) == (ssize_t)sizeof v) {
        if (v > 0) last = v;
        else {
            finished = 1;
            if (read(p[0], &e, sizeof e) < 0) e = 0;
            last = -v;
            break;
        }
    }
    close(p[0]);
    int st;
    waitpid(c, &st, 0);
    if (!finished && WIFSIGNALED(st)) return OK("memory bomb killed by signal %d after %d MiB", WTERMSIG(st), last);
    if (last >= CAP_MB) return ESCAPED("allocated and touched %d MiB without hitting a limit", last);
    return OK("mmap failed after %d MiB: %s", last, en(e));
}

/* Several processes, each under RLIMIT_AS, together past the sandbox's memory cap (the test sets
 * memory_bytes 512 MiB). Bounded: 5 children x 400 MiB at most, then everyone is killed. */
static int c_mem_bomb_multi(void)
{
    enum { KIDS = 5, EACH_MB = 400, CHUNK_MB = 16 };
    int p[2];
    if (pipe(p) < 0) return CANT("pipe: %s", en(errno));
    pid_t kids[KIDS];
    int nk = 0;
    for (int i = 0; i < KIDS; i++) {
        pid_t c = fork();
        if (c < 0) break;
        if (c == 0) {
            close(p[0]);
            int mb = 0;
            while (mb < EACH_MB) {
                void *m = mmap(NULL, (size_t)CHUNK_MB << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (m == MAP_FAILED) break;
                memset(m, 0x5a, (size_t)CHUNK_MB << 20);
                mb += CHUNK_MB;
                if (write(p[1], &mb, sizeof mb) < 0) {}
            }
            int done = -1;
            if (write(p[1], &done, sizeof done) < 0) {}
            sleep_ms(5000);  /* hold it until the parent has counted; bounded */
            _exit(0);
        }
        kids[nk++] = c;
    }
    close(p[1]);
    int total_chunks = 0, finished = 0, v;
    long end = now_ms() + 15000;
    struct pollfd pf = {p[0], POLLIN, 0};
    while (finished < nk && now_ms() < end) {
        if (poll(&pf, 1, 500) <= 0) {
            /* a child may have been OOM-killed: count the dead */
            int dead = 0;
            for (int i = 0; i < nk; i++) if (kids[i] > 0 && waitpid(kids[i], NULL, WNOHANG) == kids[i]) { kids[i] = -kids[i]; dead++; }
            finished += dead;
            continue;
        }
        if (read(p[0], &v, sizeof v) != (ssize_t)sizeof v) break;
        if (v < 0) finished++;
        else total_chunks++;
    }
    close(p[0]);
    int killed = 0;
    for (int i = 0; i < nk; i++) {
        if (kids[i] <= 0) { killed++; continue; }
        kill(kids[i], SIGKILL);
        int st;
        waitpid(kids[i], &st, 0);
    }
    int total = total_chunks * CHUNK_MB;
    if (total >= 1024)
        return ESCAPED("%d processes together held %d MiB resident (cap asked: 512 MiB)", nk, total);
    return OK("%d processes stopped at %d MiB together (%d died early)", nk, total, killed);
}

static int c_disk_bomb(void)
{
    signal(SIGXFSZ, SIG_IGN);
    enum { CAP_MB = 256, CAP_FILES = 200000 };
    int fd = open("/tmp/sbxesc-bomb", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return CANT("create /tmp/sbxesc-bomb: %s", en(errno));
    static char chunk[1 << 20];
    memset(chunk, 0xa5, sizeof chunk);
    long long total = 0;
    int e = 0;
    while (total < (long long)CAP_MB << 20) {
        ssize_t w = write(fd, chunk, sizeof chunk);
        if (w < 0) { e = errno; break; }
        total += w;
        if (w < (ssize_t)sizeof chunk) { /* short write: the next one reports why */ }
    }
    close(fd);
    unlink("/tmp/sbxesc-bomb");
    if (!e) return ESCAPED("wrote %lld MiB to /tmp without hitting a limit", total >> 20);
    /* inode bomb */
    mkdir("/tmp/sbxesc-inodes", 0700);
    int files = 0, fe = 0;
    char p[128];
    while (files < CAP_FILES) {
        snprintf(p, sizeof p, "/tmp/sbxesc-inodes/%d", files);
        int f = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (f < 0) { fe = errno; break; }
        close(f);
        files++;
    }
    for (int i = 0; i < files; i++) {
        snprintf(p, sizeof p, "/tmp/sbxesc-inodes/%d", i);
        unlink(p);
    }
    if (!fe) return ESCAPED("created %d files in /tmp without hitting an inode limit", files);
    /* /dev/shm is tmpfs too (memory): it must be capped as well */
    long long shm = 0;
    int se = 0;
    fd = open("/dev/shm/sbxesc-bomb", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) se = errno;
    while (fd >= 0 && shm < (long long)CAP_MB << 20) {
        ssize_t w = write(fd, chunk, sizeof chunk);
        if (w < 0) { se = errno; break; }
        shm += w;
    }
    if (fd >= 0) { close(fd); unlink("/dev/shm/sbxesc-bomb"); }
    if (!se) return ESCAPED("wrote %lld MiB to /dev/shm without hitting a limit", shm >> 20);
    return OK("disk bomb stopped at %lld MiB: %s; inode bomb stopped at %d files: %s; /dev/shm bomb at %lld MiB: %s",
              total >> 20, en(e), files, en(fe), shm >> 20, en(se));
}

static int detached(int keep_stdio)
{
    if (!*g_hostdir) return CANT("no host folder given");
    int p[2];
    if (pipe(p) < 0) return CANT("pipe: %s", en(errno));
    pid_t c = fork();
    if (c < 0) return CANT("fork: %s", en(errno));
    if (c == 0) {
        setsid();
        pid_t g = fork();
        if (g != 0) _exit(0);  /* the middle child exits at once: the grandchild is orphaned */
        /* grandchild: detached; without keep_stdio nothing ties it to the command, with it
         * it holds the command's stdout/stderr pipes open for 3 s */
        if (!keep_stdio) {
            int nul = open("/dev/null", O_RDWR);
            if (nul >= 0) { dup2(nul, 0); dup2(nul, 1); dup2(nul, 2); if (nul > 2) close(nul); }
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/escaped", g_hostdir);
        long end = now_ms() + 3000;
        int first = 1;
        while (now_ms() < end) {
            int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            if (fd >= 0) {
                if (write(fd, "escaped\n", 8) < 0) {}
                close(fd);
            }
            if (first) { if (write(p[1], "x", 1) < 0) {} close(p[1]); first = 0; }
            sleep_ms(200);
        }
        _exit(0);
    }
    close(p[1]);
    char b;
    ssize_t n = read(p[0], &b, 1);  /* the grandchild made its first attempt */
    close(p[0]);
    waitpid(c, NULL, 0);
    return OK("left a detached grandchild (setsid + double fork; %s%s) retrying %s/escaped for 3 s; the harness checks it dies at sbx_close and the file never appears",
              n == 1 ? "first attempt done" : "no report", keep_stdio ? "; it holds stdout/stderr" : "", g_hostdir);
}

static int c_detached(void) { return detached(0); }
static int c_detached_stdio(void) { return detached(1); }

/* ---- /proc writes -------------------------------------------------------------------------- */

static int c_proc_attr_write(void)
{
    static const char *const a[] = {"current", "exec", "fscreate", "keycreate", "sockcreate"};
    char msg[512] = "";
    for (size_t i = 0; i < 5; i++) {
        char p[64];
        int e;
        snprintf(p, sizeof p, "/proc/self/attr/%s", a[i]);
        if (opens(p, O_WRONLY, &e)) return ESCAPED("opened %s for writing", p);
        appendf(msg, sizeof msg, "%s%s: %s", i ? ", " : "", a[i], en(e));
    }
    return OK("/proc/self/attr/* for writing: %s", msg);
}

static int write_proc_self(const char *path, const char *data)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return OK("open %s for writing: %s", path, en(errno));
    ssize_t w = write(fd, data, strlen(data));
    int e = errno;
    close(fd);
    if (w > 0) return ESCAPED("wrote \"%.20s\" to %s", data, path);
    return OK("%s opened but the write failed: %s", path, en(e));
}

static int c_uid_map_write(void) { return write_proc_self("/proc/self/uid_map", "0 0 1\n"); }
static int c_setgroups_write(void) { return write_proc_self("/proc/self/setgroups", "allow"); }

/* ---- observation integrity ----------------------------------------------------------------- */

/* Relative paths must be logged resolved: the harness expects an open event for /etc/passwd. */
static int c_open_relative_cwd(void)
{
    if (chdir("/etc") < 0) return CANT("chdir /etc: %s", en(errno));
    int e;
    int r = opens("passwd", O_RDONLY, &e);
    return OK("open(\"passwd\") in cwd /etc: %s (the log must say /etc/passwd)", r ? "opened" : en(e));
}

static int c_open_relative_dirfd(void)
{
    int d = open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) return CANT("open /etc: %s", en(errno));
    int fd = openat(d, "passwd", O_RDONLY | O_CLOEXEC);
    int e = errno;
    close(d);
    if (fd >= 0) close(fd);
    return OK("openat(fd of /etc, \"passwd\"): %s (the log must say /etc/passwd)", fd >= 0 ? "opened" : en(e));
}

/* Seccomp-notify TOCTOU: another thread rewrites the path between the supervisor's read of it
 * and the kernel's. The helper counts what it really opened; the harness compares with the log. */
static union { char s[16]; uint64_t w[2]; } g_flip = {"/tmp/benign"};
static volatile int g_flip_stop;

static void *flipper(void *arg)
{
    (void)arg;
    union { char s[16]; uint64_t w[2]; } a = {"/etc/passwd"}, b = {"/tmp/benign"};
    volatile uint64_t *w = g_flip.w;
    while (!g_flip_stop) {
        w[0] = a.w[0]; w[1] = a.w[1];
        for (volatile int i = 0; i < 50; i++) {}
        w[0] = b.w[0]; w[1] = b.w[1];
        for (volatile int i = 0; i < 50; i++) {}
    }
    return NULL;
}

static int c_toctou_open(void)
{
    struct stat pw, bn, st;
    int b = open("/tmp/benign", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (b < 0) return CANT("create /tmp/benign: %s", en(errno));
    close(b);
    if (stat("/etc/passwd", &pw) < 0 || stat("/tmp/benign", &bn) < 0) return CANT("stat: %s", en(errno));
    pthread_t t;
    if (pthread_create(&t, NULL, flipper, NULL) != 0) return CANT("pthread_create failed");
    int real_pw = 0, real_bn = 0, other = 0;
    long end = now_ms() + 4000;
    for (int i = 0; i < 2000 && now_ms() < end; i++) {
        int fd = open(g_flip.s, O_RDONLY | O_CLOEXEC);
        if (fd < 0) { other++; continue; }
        if (fstat(fd, &st) == 0 && st.st_ino == pw.st_ino && st.st_dev == pw.st_dev) real_pw++;
        else if (fstat(fd, &st) == 0 && st.st_ino == bn.st_ino && st.st_dev == bn.st_dev) real_bn++;
        close(fd);
    }
    g_flip_stop = 1;
    pthread_join(t, NULL);
    return OK("real_passwd=%d real_benign=%d failed=%d (the harness compares with the open events)", real_pw, real_bn, other);
}

/* A second seccomp listener would receive (and could CONTINUE) the notifications of our own
 * children ahead of the supervisor: the kernel refuses it (EBUSY) while the sandbox's exists. */
static int c_seccomp_listener(void)
{
    /* notify on mincore only (never used here), allow the rest: nothing can deadlock */
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mincore, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {4, f};
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (r >= 0) {
        close((int)r);
        return ESCAPED("installed a second seccomp filter with its own listener (fd %ld): our children's "
                       "notifications would come to us, not the supervisor", r);
    }
    return OK("seccomp(SET_MODE_FILTER, NEW_LISTENER): %s", en(errno));
}

/* Fileless exec: a copy of ourselves in a memfd, run through execveat(AT_EMPTY_PATH). Allowed;
 * the harness asserts it is observed. */
static int c_exec_memfd(void)
{
    int m = (int)syscall(SYS_memfd_create, "sbxesc-memfd", 0U);
    if (m < 0) return OK("memfd_create: %s (no fileless exec possible)", en(errno));
    int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (self < 0) { close(m); return CANT("open /proc/self/exe: %s", en(errno)); }
    static char buf[65536];
    ssize_t n;
    while ((n = read(self, buf, sizeof buf)) > 0)
        if (write(m, buf, (size_t)n) != n) break;
    close(self);
    pid_t c = fork();
    if (c < 0) return CANT("fork: %s", en(errno));
    if (c == 0) {
        static const char *const a[] = {"sbxesc-memfd", "probe_euid", NULL};
        static const char *const env[] = {"SBX_ESCAPE_ARMED=1", NULL};
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0) dup2(nul, 1);
        syscall(SYS_execveat, m, "", a, env, AT_EMPTY_PATH);
        _exit(100 + (errno & 63));
    }
    close(m);
    int st;
    waitpid(c, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) >= 100) return OK("execveat(memfd): %s", en(WEXITSTATUS(st) - 100));
    return OK("execveat(memfd) ran (status 0x%x): the harness checks the exec was logged", st);
}

/* CPU bomb: spin in a child; RLIMIT_CPU (2 s in this test) must stop it (SIGXCPU/SIGKILL). */
static int c_cpu_bomb(void)
{
    pid_t c = fork();
    if (c < 0) return CANT("fork: %s", en(errno));
    if (c == 0) {
        struct timespec t;
        for (;;) {
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
            if (t.tv_sec >= 8) _exit(0);  /* bounded: stops by itself after 8 s of CPU */
        }
    }
    int st;
    waitpid(c, &st, 0);
    if (WIFSIGNALED(st)) return OK("CPU bomb stopped by signal %d (%s)", WTERMSIG(st), sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
    return ESCAPED("CPU bomb ran 8 s of CPU without being stopped (status 0x%x)", st);
}

/* The same race on execve: a vfork child shares our memory, so the flipper thread rewrites the
 * path under its execve. Which program really ran is told by its exit status (true 0, test 1). */
static union { char s[16]; uint64_t w[2]; } g_flipx = {"/usr/bin/true"};

static void *flipper_x(void *arg)
{
    (void)arg;
    union { char s[16]; uint64_t w[2]; } a = {"/usr/bin/test"}, b = {"/usr/bin/true"};
    volatile uint64_t *w = g_flipx.w;
    while (!g_flip_stop) {
        w[0] = a.w[0]; w[1] = a.w[1];
        for (volatile int i = 0; i < 200; i++) {}
        w[0] = b.w[0]; w[1] = b.w[1];
        for (volatile int i = 0; i < 200; i++) {}
    }
    return NULL;
}

static int c_toctou_exec(void)
{
    if (access("/usr/bin/true", X_OK) < 0 || access("/usr/bin/test", X_OK) < 0)
        return CANT("/usr/bin/true or /usr/bin/test missing");
    pthread_t t;
    g_flip_stop = 0;
    if (pthread_create(&t, NULL, flipper_x, NULL) != 0) return CANT("pthread_create failed");
    static char *const av[] = {"x", NULL};
    static char *const ev[] = {NULL};
    int real_true = 0, real_test = 0, failed = 0;
    long end = now_ms() + 6000;
    for (int i = 0; i < 300 && now_ms() < end; i++) {
        pid_t c = vfork();
        if (c == 0) {
            execve(g_flipx.s, av, ev);
            _exit(127);
        }
        if (c < 0) { failed++; continue; }
        int st;
        waitpid(c, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) real_true++;
        else if (WIFEXITED(st) && WEXITSTATUS(st) == 1) real_test++;
        else failed++;
    }
    g_flip_stop = 1;
    pthread_join(t, NULL);
    return OK("real_true=%d real_test=%d failed=%d (the harness compares with the exec events)", real_true, real_test, failed);
}

/* The base of a relative open races too: a thread swaps what fd 100 (or the cwd) is, between
 * /etc and /tmp, while openat(100, "passwd") / open("passwd") run. /tmp/passwd is a decoy. */
static volatile int g_base_mode;  /* 0: dirfd 100, 1: cwd */
static int g_etc_fd = -1, g_tmp_fd = -1;

static void *base_flipper(void *arg)
{
    (void)arg;
    while (!g_flip_stop) {
        if (g_base_mode == 0) { dup2(g_etc_fd, 100); dup2(g_tmp_fd, 100); }
        else { if (fchdir(g_etc_fd) < 0 || fchdir(g_tmp_fd) < 0) break; }
    }
    return NULL;
}

static int toctou_base(int cwd_mode)
{
    struct stat pw, dec, st;
    int b = open("/tmp/passwd", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (b < 0) return CANT("create /tmp/passwd: %s", en(errno));
    close(b);
    if (stat("/etc/passwd", &pw) < 0 || stat("/tmp/passwd", &dec) < 0) return CANT("stat: %s", en(errno));
    g_etc_fd = open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    g_tmp_fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (g_etc_fd < 0 || g_tmp_fd < 0) return CANT("open /etc or /tmp: %s", en(errno));
    if (dup2(g_tmp_fd, 100) < 0) return CANT("dup2: %s", en(errno));
    g_base_mode = cwd_mode;
    g_flip_stop = 0;
    pthread_t t;
    if (pthread_create(&t, NULL, base_flipper, NULL) != 0) return CANT("pthread_create failed");
    int real_pw = 0, real_dec = 0, other = 0;
    long end = now_ms() + 4000;
    for (int i = 0; i < 2000 && now_ms() < end; i++) {
        int fd = cwd_mode ? open("passwd", O_RDONLY | O_CLOEXEC) : openat(100, "passwd", O_RDONLY | O_CLOEXEC);
        if (fd < 0) { other++; continue; }
        if (fstat(fd, &st) == 0 && st.st_ino == pw.st_ino && st.st_dev == pw.st_dev) real_pw++;
        else if (fstat(fd, &st) == 0 && st.st_ino == dec.st_ino && st.st_dev == dec.st_dev) real_dec++;
        close(fd);
    }
    g_flip_stop = 1;
    pthread_join(t, NULL);
    return OK("real_passwd=%d real_benign=%d failed=%d (the harness compares with the open events)", real_pw, real_dec, other);
}

static int c_toctou_dirfd(void) { return toctou_base(0); }
static int c_toctou_cwd(void) { return toctou_base(1); }

/* Opens of "/proc/self/...", "/dev/stdout", "/dev/fd/N" are performed for us by someone else
 * (the supervisor's proxy): they must still land on *our* files. */
static int c_proc_self_identity(void)
{
    char buf[8192], bad[512] = "";
    if (read_file("/proc/self/status", buf, sizeof buf) < 0) return CANT("read /proc/self/status: %s", en(errno));
    const char *p = strstr(buf, "\nPid:");
    int pid = p ? atoi(p + 5) : -1;
    if (pid != getpid()) appendf(bad, sizeof bad, " /proc/self/status says pid %d, we are %d;", pid, (int)getpid());
    if (read_file("/proc/thread-self/status", buf, sizeof buf) >= 0) {
        p = strstr(buf, "\nPid:");
        pid = p ? atoi(p + 5) : -1;
        if (pid != getpid()) appendf(bad, sizeof bad, " /proc/thread-self/status says pid %d;", pid);
    }
    static const char *const aliases[] = {"/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"};
    struct stat mine, st;
    if (fstat(1, &mine) < 0) return CANT("fstat 1: %s", en(errno));
    for (size_t i = 0; i < 3; i++) {
        int fd = open(aliases[i], O_WRONLY | O_CLOEXEC);
        if (fd < 0) { appendf(bad, sizeof bad, " open %s: %s;", aliases[i], en(errno)); continue; }
        if (fstat(fd, &st) == 0 && (st.st_ino != mine.st_ino || st.st_dev != mine.st_dev))
            appendf(bad, sizeof bad, " %s is not our stdout;", aliases[i]);
        close(fd);
    }
    int mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    if (mem >= 0) {
        static const char probe[] = "sbxesc-self-mem-probe";
        char got[sizeof probe] = "";
        if (pread(mem, got, sizeof got, (off_t)(uintptr_t)probe) != (ssize_t)sizeof got || memcmp(got, probe, sizeof probe))
            appendf(bad, sizeof bad, " /proc/self/mem is not our memory;");
        close(mem);
    }
    /* "open failed" is only a deviation toward less; a file of another process is the hole */
    if (strstr(bad, "says pid") || strstr(bad, "is not our")) return ESCAPED("a self-referring open reached another process:%s", bad);
    return OK("/proc/self, /dev/stdout, /dev/fd/1, /proc/self/fd/1, /proc/self/mem all reach us%s%s", *bad ? "; notes:" : "", bad);
}

/* And on connect: a thread flips the port in the sockaddr between a listener of ours (inside the
 * sandbox's own loopback) and a closed port. Success or ECONNREFUSED tells where it went. */
static struct sockaddr_in g_flip_sa;

static void *port_flipper(void *arg)
{
    uint16_t a = ((const uint16_t *)arg)[0], b = ((const uint16_t *)arg)[1];
    volatile uint16_t *port = &g_flip_sa.sin_port;
    while (!g_flip_stop) {
        *port = a;
        for (volatile int i = 0; i < 100; i++) {}
        *port = b;
        for (volatile int i = 0; i < 100; i++) {}
    }
    return NULL;
}

static int c_toctou_connect(void)
{
    int srv = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (srv < 0 || bind(srv, (struct sockaddr *)&a, sizeof a) < 0 || listen(srv, 4096) < 0 ||
        getsockname(srv, (struct sockaddr *)&a, &al) < 0)
        return CANT("listener inside the sandbox: %s", en(errno));
    int port_a = ntohs(a.sin_port), port_b = port_a == 65535 ? port_a - 1 : port_a + 1;
    uint16_t ports[2] = {htons((uint16_t)port_a), htons((uint16_t)port_b)};
    g_flip_sa = a;
    g_flip_stop = 0;
    pthread_t t;
    if (pthread_create(&t, NULL, port_flipper, ports) != 0) return CANT("pthread_create failed");
    int real_a = 0, real_b = 0, other = 0;
    long end = now_ms() + 5000;
    for (int i = 0; i < 500 && now_ms() < end; i++) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c < 0) { other++; continue; }
        int r = connect(c, (struct sockaddr *)&g_flip_sa, sizeof g_flip_sa);
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        /* Count where the connection really went: a connect to the unbound port B can succeed
         * when the kernel picks B itself as the ephemeral source port (TCP self-connect). */
        if (r == 0 && getpeername(c, (struct sockaddr *)&peer, &pl) == 0) {
            if (peer.sin_port == ports[1]) real_b++;
            else real_a++;
        } else if (r < 0 && errno == ECONNREFUSED) real_b++;
        else other++;
        close(c);
        int acc;
        while ((acc = accept4(srv, NULL, NULL, SOCK_CLOEXEC)) >= 0) close(acc);
    }
    g_flip_stop = 1;
    pthread_join(t, NULL);
    close(srv);
    return OK("real_a=%d real_b=%d port_a=%d port_b=%d failed=%d (the harness compares with the net events)", real_a,
              real_b, port_a, port_b, other);
}

/* Calls that must be refused by the filter itself: bogus arguments make the kernel answer
 * EBADF/EINVAL/EFAULT if the call ever got past the filter, so only EPERM/ENOSYS pass. */
struct callspec { const char *name; long nr; long a[6]; };

static int filter_refuses(const struct callspec *c, size_t n)
{
    char msg[2048] = "", passed[1024] = "";
    for (size_t i = 0; i < n; i++) {
        long r = syscall(c[i].nr, c[i].a[0], c[i].a[1], c[i].a[2], c[i].a[3], c[i].a[4], c[i].a[5]);
        int e = errno;
        appendf(msg, sizeof msg, "%s%s=%s", i ? " " : "", c[i].name, r >= 0 ? "OK" : en(e));
        if (r >= 0 || (e != EPERM && e != ENOSYS))
            appendf(passed, sizeof passed, " %s(%s)", c[i].name, r >= 0 ? "succeeded" : en(e));
    }
    if (*passed) return ESCAPED("reached the kernel past the filter:%s (%s)", passed, msg);
    return OK("%s", msg);
}

static int c_mount_api_rest(void)
{
    static const struct callspec c[] = {
        {"mount_setattr", SYS_mount_setattr, {-1, 0, 0, 0, 0, 0}},
        {"move_mount", SYS_move_mount, {-1, 0, -1, 0, 0, 0}},
        {"fsconfig", SYS_fsconfig, {-1, 0, 0, 0, 0, 0}},
        {"fsmount", SYS_fsmount, {-1, 0, 0, 0, 0, 0}},
        {"fspick", SYS_fspick, {-1, 0, 0, 0, 0, 0}},
    };
    return filter_refuses(c, sizeof c / sizeof c[0]);
}

static int c_kernel_admin_rest(void)
{
    static const struct callspec c[] = {
        {"syslog", SYS_syslog, {10 /* SYSLOG_ACTION_SIZE_BUFFER */, 0, 0, 0, 0, 0}},
        {"swapoff", SYS_swapoff, {0 /* NULL: EFAULT past the filter */, 0, 0, 0, 0, 0}},
        {"delete_module", SYS_delete_module, {0, 0, 0, 0, 0, 0}},
        {"kexec_file_load", SYS_kexec_file_load, {-1, -1, 0, 0, -1, 0}},
        {"clock_settime", SYS_clock_settime, {-1, 0, 0, 0, 0, 0}},
        {"adjtimex", SYS_adjtimex, {0, 0, 0, 0, 0, 0}},
        {"clock_adjtime", SYS_clock_adjtime, {-1, 0, 0, 0, 0, 0}},
        {"quotactl", SYS_quotactl, {0, 0, 0, 0, 0, 0}},
        {"setdomainname", SYS_setdomainname, {0, 1000000, 0, 0, 0, 0}},
        {"vhangup", SYS_vhangup, {0, 0, 0, 0, 0, 0}},
        {"iopl", SYS_iopl, {4, 0, 0, 0, 0, 0}},
        {"ioperm", SYS_ioperm, {0, 0, 1, 0, 0, 0}},
        {"name_to_handle_at", SYS_name_to_handle_at, {-1, 0, 0, 0, 0, 0}},
        {"request_key", SYS_request_key, {0, 0, 0, 0, 0, 0}},
        {"memfd_secret", SYS_memfd_secret, {-1, 0, 0, 0, 0, 0}},
        {"process_vm_writev", SYS_process_vm_writev, {0, 0, 0, 0, 0, 0}},
        {"io_uring_enter", SYS_io_uring_enter, {-1, 0, 0, 0, 0, 0}},
        {"io_uring_register", SYS_io_uring_register, {-1, 0, 0, 0, 0, 0}},
    };
    return filter_refuses(c, sizeof c / sizeof c[0]);
}

/* The supervisor reads arguments through /proc/PID/mem; a payload that makes itself
 * non-dumpable must not get unlogged calls out of it (the harness asserts the open event). */
/* Non-dumpable, the payload's /proc/self/{cwd,fd,mem} are closed to anyone of its uid: the
 * supervisor must still read its calls (it answers plain opens as the payload's uid, and looks
 * up a relative open's base in /proc). Absolute opens first, so relative ones follow them. */
static int c_nondumpable_open(void)
{
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) return OK("PR_SET_DUMPABLE 0: %s", en(errno));
    int e, ok = 1;
    for (int i = 0; i < 3; i++) ok &= opens("/etc/hostname", O_RDONLY, &e);
    if (!ok) return ESCAPED("non-dumpable: open /etc/hostname refused: %s", en(e));
    int dir = open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0 || chdir("/etc") < 0) return CANT("/etc: %s", en(errno));
    int fd = openat(dir, "hostname", O_RDONLY | O_CLOEXEC);
    e = errno;
    close(dir);
    if (fd < 0) return ESCAPED("non-dumpable: openat(/etc, \"hostname\") refused: %s", en(e));
    close(fd);
    /* The cwd has no pidfd route: rootless the supervisor cannot see it, and refuses (EPERM) */
    int cwd_ok = opens("passwd", O_RDONLY, &e);
    if (!cwd_ok && e != EPERM) return ESCAPED("non-dumpable: open(\"passwd\") in /etc: %s, not EPERM", en(e));
    return OK("non-dumpable: absolute and dirfd-relative opens answered, cwd-relative %s (the harness checks they were logged)",
              cwd_ok ? "answered" : "refused (EPERM, fail closed)");
}

/* Files whose content depends on the *opener's* namespaces, not the path's: /proc/sys/kernel/
 * hostname (uts), /proc/sys/net/... (net), /proc/sysvipc/... (ipc). Whoever opens them for us
 * must stand in our namespaces, or we read the host's. The harness creates a System V shm
 * segment on the host with key 0x5b000000 | its pid as a sentinel. */
static int c_proc_ns_views(void)
{
    char bad[1024] = "", buf[65536];
    struct utsname u;
    if (uname(&u) < 0) return CANT("uname: %s", en(errno));
    if (read_file("/proc/sys/kernel/hostname", buf, sizeof buf) >= 0) {
        buf[strcspn(buf, "\n")] = 0;
        if (strcmp(buf, u.nodename)) appendf(bad, sizeof bad, " /proc/sys/kernel/hostname says \"%s\", uname says \"%s\";", buf, u.nodename);
    }
    DIR *d = opendir("/proc/sys/net/ipv4/conf");
    if (d) {
        const struct dirent *de;
        while ((de = readdir(d)))
            if (de->d_name[0] != '.' && strcmp(de->d_name, "all") && strcmp(de->d_name, "default") && strcmp(de->d_name, "lo"))
                appendf(bad, sizeof bad, " interface %s in /proc/sys/net/ipv4/conf;", de->d_name);
        closedir(d);
    }
    if (g_hostpid && read_file("/proc/sysvipc/shm", buf, sizeof buf) >= 0) {
        char key[32];
        snprintf(key, sizeof key, "%d ", 0x5b000000 | (g_hostpid & 0xffffff));
        for (const char *h = buf; (h = strstr(h, key)); h++)
            if (h == buf || h[-1] == ' ' || h[-1] == '\n') {
                appendf(bad, sizeof bad, " the host's shm sentinel (key %.10s) is listed in /proc/sysvipc/shm;", key);
                break;
            }
    }
    if (*bad) return ESCAPED("the host's namespaces show through /proc:%s", bad);
    return OK("/proc/sys/kernel/hostname, /proc/sys/net/ipv4/conf, /proc/sysvipc/shm show the sandbox's own namespaces");
}

/* Opens the supervisor serves in its own thread (sandbox/notify_fastopen.c) must be exactly what
 * the payload could do itself: no capability (a mode-000 file of ours stays closed), our
 * ownership and umask on created files, /proc reached through a symlink answered as for us, ".."
 * clamped at the sandbox's root, relative opens from a dirfd, and nothing of the host's. */
static int same_content(const char *a, const char *b)
{
    static char x[65536], y[65536];
    ssize_t n = read_file(a, x, sizeof x), m = read_file(b, y, sizeof y);
    return n >= 0 && n == m && memcmp(x, y, (size_t)n) == 0;
}

static int same_inode(const char *a, const char *b)
{
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* Paths through symlinks are served by a second, symlink-following walk; /dev/null and its kin
 * by an exception to "nothing under /dev". Each must behave as the payload's own open. */
static void fastopen_symlinks(char *bad, size_t cap)
{
    int e;
    (void)unlink("/tmp/fo-link000");
    (void)unlink("/tmp/fo-null");
    (void)unlink("/tmp/fo-etc");
    if (symlink("/tmp/fo-000", "/tmp/fo-link000") < 0 || symlink("/dev/null", "/tmp/fo-null") < 0 ||
        symlink("/etc", "/tmp/fo-etc") < 0) {
        appendf(bad, cap, " symlink: %s;", en(errno));
        return;
    }
    if (opens("/tmp/fo-link000", O_RDONLY, &e) || e != EACCES)
        appendf(bad, cap, " a symlink to a mode-000 file: not EACCES;");
    if (opens("/tmp/fo-link000", O_RDONLY | O_NOFOLLOW, &e) || e != ELOOP)
        appendf(bad, cap, " O_NOFOLLOW on a symlink: not ELOOP;");
    int fd = open("/tmp/fo-link000", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISLNK(st.st_mode))
        appendf(bad, cap, " O_PATH|O_NOFOLLOW on a symlink: not the link itself;");
    if (fd >= 0) close(fd);
    if (!same_content("/tmp/fo-etc/passwd", "/etc/passwd")) appendf(bad, cap, " /tmp/fo-etc/passwd is not /etc/passwd;");
    if (access("/usr/bin/sh", F_OK) == 0 && !same_inode("/bin/sh", "/usr/bin/sh") &&
        lstat("/bin", &st) == 0 && S_ISLNK(st.st_mode))
        appendf(bad, cap, " /bin/sh (through /bin ->) is not /usr/bin/sh;");
    /* the root's own links (usr-merge), rewritten in the supervisor: as the kernel would */
    struct stat l;
    if (lstat("/lib", &l) == 0 && S_ISLNK(l.st_mode)) {
        if (!same_inode("/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6") &&
            access("/usr/lib/x86_64-linux-gnu/libc.so.6", F_OK) == 0)
            appendf(bad, cap, " /lib/x86_64-linux-gnu/libc.so.6 is not /usr/lib/...;");
        if (opens("/lib/no-such-library.so", O_RDONLY, &e) || e != ENOENT)
            appendf(bad, cap, " /lib/no-such-library.so: not ENOENT;");
        if (opens("/lib", O_RDONLY | O_NOFOLLOW, &e) || e != ELOOP) appendf(bad, cap, " /lib with O_NOFOLLOW: not ELOOP;");
        fd = open("/lib", O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISLNK(st.st_mode)) appendf(bad, cap, " O_PATH|O_NOFOLLOW of /lib: not the link;");
        if (fd >= 0) close(fd);
        if (!same_inode("/lib", "/usr/lib")) appendf(bad, cap, " /lib is not /usr/lib;");
    }
    for (int i = 0; i < 2; i++) {
        const char *p = i ? "/tmp/fo-null" : "/dev/null";
        char c;
        fd = open(p, O_RDWR | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || write(fd, "x", 1) != 1 || read(fd, &c, 1) != 0)
            appendf(bad, cap, " %s does not behave as /dev/null;", p);
        if (fd >= 0) close(fd);
    }
    (void)unlink("/tmp/fo-link000");
    (void)unlink("/tmp/fo-null");
    (void)unlink("/tmp/fo-etc");
}

static int c_fastopen_semantics(void)
{
    char bad[2048] = "";
    int e;
    (void)unlink("/tmp/fo-000");
    (void)unlink("/tmp/fo-creat");
    (void)unlink("/tmp/fo-environ");
    (void)unlink("/tmp/fo-shadow");
    (void)unlink("/tmp/fo-shadow2");
    /* mode 000, ours: without CAP_DAC_OVERRIDE nobody may read it */
    int fd = open("/tmp/fo-000", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) return CANT("create /tmp/fo-000: %s", en(errno));
    close(fd);
    if (chmod("/tmp/fo-000", 0) < 0) return CANT("chmod: %s", en(errno));
    if (opens("/tmp/fo-000", O_RDONLY, &e)) appendf(bad, sizeof bad, " a mode-000 file opened;");
    else if (e != EACCES) appendf(bad, sizeof bad, " mode-000 file: %s, not EACCES;", en(e));
    if (opens("/tmp/fo-000", O_WRONLY, &e) || e != EACCES)
        appendf(bad, sizeof bad, " mode-000 file for writing: not EACCES;");
    /* O_CREAT: our uid/gid, umask applied */
    mode_t old = umask(022);
    fd = open("/tmp/fo-creat", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
    umask(old);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) appendf(bad, sizeof bad, " O_CREAT: %s;", en(errno));
    else if (st.st_uid != getuid() || st.st_gid != getgid() || (st.st_mode & 07777) != 0644)
        appendf(bad, sizeof bad, " O_CREAT gave uid %u gid %u mode %o;", (unsigned)st.st_uid,
                (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777));
    if (fd >= 0) close(fd);
    /* a symlink into /proc: served as for us (our environ, not nothing and not another's) */
    if (symlink("/proc/self/environ", "/tmp/fo-environ") < 0) return CANT("symlink: %s", en(errno));
    /* (ENOENT is the proxy's documented deviation: it has no pid of its own in the sandbox) */
    if (!same_content("/tmp/fo-environ", "/proc/self/environ") &&
        (opens("/tmp/fo-environ", O_RDONLY, &e) || e != ENOENT))
        appendf(bad, sizeof bad, " /tmp/fo-environ -> /proc/self/environ: neither ours nor ENOENT;");
    if (symlink("/proc/1/environ", "/tmp/fo-environ1") == 0 || errno == EEXIST) {
        char a[4096], b[4096];
        ssize_t n = read_file("/tmp/fo-environ1", a, sizeof a), m = read_file("/proc/1/environ", b, sizeof b);
        if (n >= 0 && (m < 0 || n != m || memcmp(a, b, (size_t)n)))
            appendf(bad, sizeof bad, " /tmp/fo-environ1 -> /proc/1/environ read what /proc/1/environ does not give us;");
        (void)unlink("/tmp/fo-environ1");
    }
    /* absolute with ".." beyond "/" and "//": clamped at the sandbox's root */
    if (!same_content("/../../../etc/passwd", "/etc/passwd") ||
        !same_content("//usr/./../etc/passwd", "/etc/passwd"))
        appendf(bad, sizeof bad, " \"..\" beyond / did not stay at the sandbox's root;");
    /* relative to a dirfd */
    int d = open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d >= 0) {
        fd = openat(d, "passwd", O_RDONLY | O_CLOEXEC);
        int fd2 = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
        struct stat a, b;
        if (fd < 0 || fd2 < 0 || fstat(fd, &a) < 0 || fstat(fd2, &b) < 0 || a.st_ino != b.st_ino ||
            a.st_dev != b.st_dev)
            appendf(bad, sizeof bad, " openat(/etc, \"passwd\") is not /etc/passwd;");
        if (fd >= 0) close(fd);
        if (fd2 >= 0) close(fd2);
        close(d);
    }
    /* the host's /etc/shadow: not there, whichever way we ask */
    if (symlink("/etc/shadow", "/tmp/fo-shadow") < 0 ||
        symlink("/../../../../etc/shadow", "/tmp/fo-shadow2") < 0)
        return CANT("symlink: %s", en(errno));
    const char *shadows[] = {"/etc/shadow", "/tmp/fo-shadow", "/tmp/fo-shadow2", "/../etc/shadow"};
    for (size_t i = 0; i < sizeof shadows / sizeof shadows[0]; i++) {
        if (opens(shadows[i], O_RDONLY, &e)) appendf(bad, sizeof bad, " %s opened;", shadows[i]);
        else if (e != ENOENT) appendf(bad, sizeof bad, " %s: %s, not ENOENT;", shadows[i], en(e));
    }
    /* O_DIRECTORY and a file taken for a directory, as natively */
    if (opens("/etc/passwd", O_RDONLY | O_DIRECTORY, &e) || e != ENOTDIR)
        appendf(bad, sizeof bad, " O_DIRECTORY on a file: not ENOTDIR;");
    if (opens("/tmp/fo-creat/x", O_RDONLY, &e) || e != ENOTDIR)
        appendf(bad, sizeof bad, " a file as a directory: not ENOTDIR;");
    fastopen_symlinks(bad, sizeof bad);
    if (*bad) return ESCAPED("in-thread opens differ from the payload's own rights:%s", bad);
    return OK("mode 000 refused, O_CREAT ours with umask, /proc via symlink ours, \"..\" clamped, dirfd relative, no host /etc/shadow, symlinks and /dev/null as natively");
}

/* ---- table --------------------------------------------------------------------------------- */

struct ecase { const char *name; int (*fn)(void); };
static const struct ecase cases[] = {
    {"net_tcp_host", c_net_tcp_host}, {"net_udp_host", c_net_udp_host}, {"net_dns", c_net_dns},
    {"net_tcp_out", c_net_tcp_out}, {"net_ipv6", c_net_ipv6}, {"net_raw", c_net_raw},
    {"net_packet", c_net_packet}, {"net_netlink_audit", c_net_netlink_audit},
    {"net_netlink_uevent", c_net_netlink_uevent}, {"net_vsock", c_net_vsock}, {"net_exotic", c_net_exotic}, {"ctl_netlink_route", c_ctl_netlink_route},
    {"abstract_x11", c_abstract_x11}, {"unix_host_sockets", c_unix_host_sockets}, {"unix_host_path", c_unix_host_path}, {"seed_hostile", c_seed_hostile}, {"abstract_harness", c_abstract_harness},
    {"read_root", c_read_root}, {"read_home", c_read_home}, {"read_shadow", c_read_shadow},
    {"proc_sup_environ", c_proc_sup_environ}, {"proc_sup_root", c_proc_sup_root},
    {"proc_sup_mem", c_proc_sup_mem}, {"proc_init_root", c_proc_init_root},
    {"proc_init_environ", c_proc_init_environ}, {"proc_zygote_mem", c_proc_zygote_mem},
    {"zygote_fd_steal", c_zygote_fd_steal},
    {"write_usr_bin", c_write_usr_bin}, {"write_etc_passwd", c_write_etc_passwd},
    {"write_rootfs", c_write_rootfs}, {"write_proc_sys_kernel", c_write_proc_sys_kernel},
    {"write_sysrq", c_write_sysrq}, {"write_core_pattern", c_write_core_pattern},
    {"proc_exe_write", c_proc_exe_write}, {"node_write", c_node_write},
    {"tiocsti_std", c_tiocsti_std}, {"tiocsti_devtty", c_tiocsti_devtty},
    {"tiocsti_highbits", c_tiocsti_highbits}, {"tioclinux_std", c_tioclinux_std},
    {"tioclinux_devtty", c_tioclinux_devtty}, {"tioclinux_highbits", c_tioclinux_highbits},
    {"unshare_ns", c_unshare_ns}, {"clone_ns", c_clone_ns}, {"clone3_ns", c_clone3_ns},
    {"setns_init", c_setns_init},
    {"mount_tmpfs", c_mount_tmpfs}, {"mount_bind", c_mount_bind},
    {"mount_remount_root", c_mount_remount_root}, {"mount_sysfs", c_mount_sysfs},
    {"mount_cgroup", c_mount_cgroup}, {"mount_proc", c_mount_proc}, {"pivot_root", c_pivot_root},
    {"chroot", c_chroot}, {"chroot_classic", c_chroot_classic}, {"umount_proc", c_umount_proc},
    {"fsopen", c_fsopen}, {"mount_api_rest", c_mount_api_rest}, {"kernel_admin_rest", c_kernel_admin_rest}, {"open_tree", c_open_tree},
    {"ptrace_init", c_ptrace_init}, {"ptrace_sibling", c_ptrace_sibling},
    {"process_vm_readv", c_process_vm_readv}, {"kill_all", c_kill_all},
    {"signal_supervisor", c_signal_supervisor}, {"kill_zygote", c_kill_zygote}, {"sigio_zygote", c_sigio_zygote}, {"kill_init", c_kill_init}, {"fd_leak", c_fd_leak},
    {"keyctl", c_keyctl}, {"add_key", c_add_key}, {"bpf", c_bpf},
    {"io_uring_setup", c_io_uring_setup}, {"userfaultfd", c_userfaultfd},
    {"perf_event_open", c_perf_event_open}, {"x32", c_x32}, {"int80", c_int80},
    {"personality", c_personality}, {"open_by_handle_at", c_open_by_handle_at},
    {"setuid_su", c_setuid_su}, {"setuid_passwd", c_setuid_passwd},
    {"setuid_mount", c_setuid_mount}, {"setuid_own", c_setuid_own}, {"setuid0", c_setuid0},
    {"caps", c_caps}, {"fork_bomb", c_fork_bomb}, {"core_dump", c_core_dump}, {"mem_bomb", c_mem_bomb}, {"mem_bomb_multi", c_mem_bomb_multi},
    {"disk_bomb", c_disk_bomb}, {"detached", c_detached}, {"detached_stdio", c_detached_stdio},
    {"dev_contents", c_dev_contents}, {"sys_absent", c_sys_absent}, {"kcore", c_kcore},
    {"kallsyms", c_kallsyms}, {"proc_keys", c_proc_keys},
    {"sethostname", c_sethostname}, {"settimeofday", c_settimeofday}, {"reboot", c_reboot},
    {"kexec_load", c_kexec_load}, {"init_module", c_init_module}, {"acct", c_acct},
    {"swapon", c_swapon},
    {"proc_attr_write", c_proc_attr_write}, {"uid_map_write", c_uid_map_write},
    {"setgroups_write", c_setgroups_write},
    {"open_relative_cwd", c_open_relative_cwd}, {"open_relative_dirfd", c_open_relative_dirfd},
    {"toctou_open", c_toctou_open}, {"toctou_exec", c_toctou_exec},
    {"toctou_connect", c_toctou_connect}, {"toctou_dirfd", c_toctou_dirfd}, {"toctou_cwd", c_toctou_cwd}, {"proc_self_identity", c_proc_self_identity}, {"nondumpable_open", c_nondumpable_open}, {"proc_ns_views", c_proc_ns_views}, {"fastopen_semantics", c_fastopen_semantics}, {"seccomp_listener", c_seccomp_listener},
    {"exec_memfd", c_exec_memfd}, {"cpu_bomb", c_cpu_bomb},
};

static int inside_sandbox(void)
{
    const char *a = getenv("SBX_ESCAPE_ARMED");
    struct stat st;
    if (getuid() != PAYLOAD_UID) return 0;
    if (!a || strcmp(a, "1") != 0) return 0;
    if (lstat("/sys", &st) == 0 || errno != ENOENT) return 0;
    return 1;
}

int main(int argc, char **argv)
{
    if (!inside_sandbox()) {
        printf("refusing: not inside the sandbox\n");
        return 2;
    }
    if (argc < 2) {
        printf("usage: escape CASE [PORT [HOSTPID [HOSTDIR]]]\n");
        return 2;
    }
    g_case = argv[1];
    if (argc > 2) g_port = atoi(argv[2]);
    if (argc > 3) g_hostpid = atoi(argv[3]);
    if (argc > 4) g_hostdir = argv[4];
    if (!strcmp(g_case, "probe_euid")) {  /* used by setuid_own through the setuid copy */
        printf("euid=%d\n", (int)geteuid());
        return 0;
    }
    if (!strcmp(g_case, "list")) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) printf("%s\n", cases[i].name);
        return 0;
    }
    /* The harness finds survivors of *its own* run by this name (other runs of the suite on the
     * same host have another supervisor pid, so they never look at ours). */
    char comm[16];
    snprintf(comm, sizeof comm, "sbxe-%d", g_hostpid);
    prctl(PR_SET_NAME, comm, 0, 0, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!strcmp(cases[i].name, g_case)) return cases[i].fn();
    printf("%s: unknown case\n", g_case);
    return 2;
}
