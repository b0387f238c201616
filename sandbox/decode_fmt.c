/*
 * decode_fmt.c — human-readable decodes for events: open flags, clone flags, socket triples,
 * socket addresses. Names come from constant tables.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "decode.h"

struct flag_name { unsigned long bit; const char *name; };

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct flag_name open_flags[] = {
    {O_CREAT, "create"}, {O_EXCL, "excl"}, {O_TRUNC, "trunc"}, {O_APPEND, "append"},
    {O_DIRECTORY, "directory"}, {O_NOFOLLOW, "nofollow"}, {O_CLOEXEC, "cloexec"},
    {O_NONBLOCK, "nonblock"}, {O_PATH, "path"}, {__O_TMPFILE, "tmpfile"}, {O_NOCTTY, "noctty"},
    {O_SYNC, "sync"}, {O_DSYNC, "dsync"}, {O_DIRECT, "direct"}, {O_NOATIME, "noatime"},
};

static const struct flag_name clone_flags[] = {
    {CLONE_NEWNS, "CLONE_NEWNS"}, {CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
    {CLONE_NEWUTS, "CLONE_NEWUTS"}, {CLONE_NEWIPC, "CLONE_NEWIPC"},
    {CLONE_NEWUSER, "CLONE_NEWUSER"}, {CLONE_NEWPID, "CLONE_NEWPID"},
    {CLONE_NEWNET, "CLONE_NEWNET"}, {CLONE_NEWTIME, "CLONE_NEWTIME"},
    {CLONE_VM, "CLONE_VM"}, {CLONE_FS, "CLONE_FS"}, {CLONE_FILES, "CLONE_FILES"},
    {CLONE_THREAD, "CLONE_THREAD"}, {CLONE_VFORK, "CLONE_VFORK"},
};

struct num_name { int num; const char *name; };

static const struct num_name families[] = {
    {AF_UNIX, "AF_UNIX"}, {AF_INET, "AF_INET"}, {AF_INET6, "AF_INET6"},
    {AF_NETLINK, "AF_NETLINK"}, {AF_PACKET, "AF_PACKET"}, {AF_BLUETOOTH, "AF_BLUETOOTH"},
    {AF_ALG, "AF_ALG"}, {AF_VSOCK, "AF_VSOCK"}, {AF_KEY, "AF_KEY"}, {AF_CAN, "AF_CAN"},
    {AF_XDP, "AF_XDP"}, {AF_TIPC, "AF_TIPC"}, {AF_RDS, "AF_RDS"},
};

static const struct num_name types[] = {
    {SOCK_STREAM, "SOCK_STREAM"}, {SOCK_DGRAM, "SOCK_DGRAM"}, {SOCK_RAW, "SOCK_RAW"},
    {SOCK_SEQPACKET, "SOCK_SEQPACKET"}, {SOCK_RDM, "SOCK_RDM"}, {SOCK_PACKET, "SOCK_PACKET"},
};

static const char *num_lookup(const struct num_name *t, size_t n, int v)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].num == v) return t[i].name;
    return NULL;
}

/* Append "sep name" to out (bounded, always terminated). */
static void append(char *out, size_t cap, size_t *len, const char *sep, const char *name)
{
    int n = snprintf(out + *len, cap - *len, "%s%s", *len ? sep : "", name);
    if (n > 0) *len = *len + (size_t)n < cap ? *len + (size_t)n : cap - 1;
}

static void append_flags(const struct flag_name *t, size_t n, unsigned long flags,
                         const char *sep, char *out, size_t cap, size_t *len)
{
    for (size_t i = 0; i < n; i++)
        if ((flags & t[i].bit) == t[i].bit) append(out, cap, len, sep, t[i].name);
}

void sbx_fmt_open_flags(long flags, char *out, size_t cap)
{
    static const char *const access[] = {"read", "write", "read,write", "access3"};
    size_t len = 0;
    out[0] = 0;
    unsigned long f = (unsigned long)flags;
    if ((f & O_PATH) == 0) append(out, cap, &len, ",", access[f & O_ACCMODE]);
    /* O_TMPFILE contains O_DIRECTORY; name the pair once. */
    if ((f & __O_TMPFILE) == __O_TMPFILE) f &= ~(unsigned long)O_DIRECTORY;
    append_flags(open_flags, COUNT(open_flags), f, ",", out, cap, &len);
}

void sbx_fmt_clone_flags(uint64_t flags, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    append_flags(clone_flags, COUNT(clone_flags), (unsigned long)flags, "|", out, cap, &len);
    if (len == 0) snprintf(out, cap, "0x%llx", (unsigned long long)flags);
}

void sbx_fmt_socket(int family, int type, int protocol, char *out, size_t cap)
{
    const char *f = num_lookup(families, COUNT(families), family);
    const char *t = num_lookup(types, COUNT(types), type & 0xf);
    char fb[16], tb[16];
    if (!f) { snprintf(fb, sizeof fb, "family=%d", family); f = fb; }
    if (!t) { snprintf(tb, sizeof tb, "type=%d", type & 0xf); t = tb; }
    snprintf(out, cap, "%s %s protocol=%d", f, t, protocol);
}

static void fmt_unix(const struct sockaddr_un *un, size_t len, struct sbx_sockaddr *out)
{
    size_t off = offsetof(struct sockaddr_un, sun_path);
    size_t n = len > off ? len - off : 0;
    if (n > sizeof un->sun_path) n = sizeof un->sun_path;
    if (n == 0) { snprintf(out->addr, sizeof out->addr, "(unnamed)"); return; }
    if (un->sun_path[0] == 0) {   /* abstract: bytes after the NUL, not terminated */
        out->addr[0] = '@';
        size_t k = n - 1 < sizeof out->addr - 2 ? n - 1 : sizeof out->addr - 2;
        for (size_t i = 0; i < k; i++) {
            char c = un->sun_path[1 + i];
            out->addr[1 + i] = (c >= 0x20 && c < 0x7f) ? c : '?';
        }
        out->addr[1 + k] = 0;
        return;
    }
    snprintf(out->addr, sizeof out->addr, "%.*s", (int)strnlen(un->sun_path, n), un->sun_path);
}

int sbx_fmt_sockaddr(const void *sa, size_t len, struct sbx_sockaddr *out)
{
    sa_family_t family;
    memset(out, 0, sizeof *out);
    if (len < sizeof family) return -1;
    memcpy(&family, sa, sizeof family);
    out->family = family;
    if (family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);
        inet_ntop(AF_INET, &in.sin_addr, out->addr, sizeof out->addr);
        out->port = ntohs(in.sin_port);
        return 0;
    }
    if (family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        inet_ntop(AF_INET6, &in6.sin6_addr, out->addr, sizeof out->addr);
        out->port = ntohs(in6.sin6_port);
        return 0;
    }
    if (family == AF_UNIX) {
        struct sockaddr_un un;
        memset(&un, 0, sizeof un);
        memcpy(&un, sa, len < sizeof un ? len : sizeof un);
        fmt_unix(&un, len < sizeof un ? len : sizeof un, out);
        return 0;
    }
    return -1;
}
