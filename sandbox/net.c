/* net.c — the sandbox's network namespace: loopback brought up and, with the fake internet,
 * every IPv4 and IPv6 address made local (routes through rtnetlink). Run by init while it still
 * holds CAP_NET_ADMIN over the namespace (before it becomes the payload identity). */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core.h"

int sbx_net_lo_up(sbx_error *err)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return sbx_fail(err, SBX_E_SETUP, errno, "net: socket: %s", strerror(errno));
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    int e = errno;
    close(s);
    if (rc < 0) return sbx_fail(err, SBX_E_SETUP, e, "net: bringing lo up: %s", strerror(e));
    return 0;
}

/* One rtnetlink request and its ack: 0, or -errno (the kernel's answer or the transport's). */
static int rtnl_talk(int nl, struct nlmsghdr *req)
{
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(nl, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
        return -errno;
    char buf[4096];
    for (;;) {
        ssize_t n = recv(nl, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != req->nlmsg_seq) continue;
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                if (h->nlmsg_len < NLMSG_LENGTH(sizeof *e)) return -EPROTO;
                return e->error;   /* 0 = ack, else -errno */
            }
        }
    }
}

/* Append an attribute to the message in msg[0..cap). */
static void rta_put(char *msg, size_t cap, unsigned short type, const void *data, size_t len)
{
    struct nlmsghdr h;
    memcpy(&h, msg, sizeof h);
    size_t at = NLMSG_ALIGN(h.nlmsg_len);
    if (at + RTA_SPACE(len) > cap) return;
    struct rtattr a = {.rta_len = (unsigned short)RTA_LENGTH(len), .rta_type = type};
    memcpy(msg + at, &a, sizeof a);
    memcpy(msg + at + RTA_LENGTH(0), data, len);
    h.nlmsg_len = (uint32_t)(at + RTA_SPACE(len));
    memcpy(msg, &h, sizeof h);
}

/* `ip route add local 0.0.0.0/0 dev lo table local` (and `::/0` for IPv6): AnyIP. Every
 * destination is then delivered on lo, where the fake internet's sockets (bound to the wildcard
 * address) take it; getsockname on an accepted socket gives the address the package dialled. */
static int add_local_default(int nl, int family, unsigned seq, int ifindex)
{
    union {
        struct {
            struct nlmsghdr h;
            struct rtmsg r;
        } m;
        char raw[128];
    } u;
    memset(&u, 0, sizeof u);
    struct nlmsghdr *h = &u.m.h;
    struct rtmsg *r = &u.m.r;
    h->nlmsg_len = NLMSG_LENGTH(sizeof *r);
    h->nlmsg_type = RTM_NEWROUTE;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
    h->nlmsg_seq = seq;
    r->rtm_family = (unsigned char)family;
    r->rtm_dst_len = 0;
    r->rtm_table = RT_TABLE_LOCAL;
    r->rtm_protocol = RTPROT_BOOT;
    r->rtm_scope = family == AF_INET ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
    r->rtm_type = RTN_LOCAL;
    unsigned char any[16] = {0};
    uint32_t oif = (uint32_t)ifindex;
    rta_put(u.raw, sizeof u.raw, RTA_DST, any, family == AF_INET ? 4 : 16);
    rta_put(u.raw, sizeof u.raw, RTA_OIF, &oif, sizeof oif);
    return rtnl_talk(nl, h);
}

/* `ip addr add ADDR/PLEN dev IFINDEX noprefixroute` (IPv6: nodad). No prefix route: the fake
 * internet's `local` default must keep every other address of the subnet (10.0.2.3, the
 * resolver) local; a 10.0.2.0/24 route on eth0 would win the longest-prefix match and send them
 * into the device, where nothing answers. */
static int add_addr(int nl, int family, const void *addr, unsigned char plen, unsigned seq, int ifindex)
{
    union {
        struct {
            struct nlmsghdr h;
            struct ifaddrmsg a;
        } m;
        char raw[128];
    } u;
    memset(&u, 0, sizeof u);
    struct nlmsghdr *h = &u.m.h;
    h->nlmsg_len = NLMSG_LENGTH(sizeof u.m.a);
    h->nlmsg_type = RTM_NEWADDR;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
    h->nlmsg_seq = seq;
    u.m.a.ifa_family = (unsigned char)family;
    u.m.a.ifa_prefixlen = plen;
    u.m.a.ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0;
    u.m.a.ifa_scope = RT_SCOPE_UNIVERSE;
    u.m.a.ifa_index = (unsigned)ifindex;
    size_t len = family == AF_INET ? 4 : 16;
    rta_put(u.raw, sizeof u.raw, IFA_LOCAL, addr, len);
    rta_put(u.raw, sizeof u.raw, IFA_ADDRESS, addr, len);
    uint32_t flags = IFA_F_NOPREFIXROUTE | (family == AF_INET6 ? IFA_F_NODAD : 0);
    rta_put(u.raw, sizeof u.raw, IFA_FLAGS, &flags, sizeof flags);
    return rtnl_talk(nl, h);
}

/* `ip link add eth0 type KIND` and up: only where the host has that driver (a user namespace
 * cannot load modules). Returns its ifindex, or -1. */
static int add_eth0(int nl, unsigned seq, const char *kind)
{
    union {
        struct {
            struct nlmsghdr h;
            struct ifinfomsg i;
        } m;
        char raw[256];
    } u;
    memset(&u, 0, sizeof u);
    struct nlmsghdr *h = &u.m.h;
    h->nlmsg_len = NLMSG_LENGTH(sizeof u.m.i);
    h->nlmsg_type = RTM_NEWLINK;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    h->nlmsg_seq = seq;
    u.m.i.ifi_family = AF_UNSPEC;
    u.m.i.ifi_flags = IFF_UP;
    u.m.i.ifi_change = IFF_UP;
    rta_put(u.raw, sizeof u.raw, IFLA_IFNAME, "eth0", 5);
    /* IFLA_LINKINFO { IFLA_INFO_KIND kind }: a nested attribute, built by hand */
    size_t klen = strlen(kind) + 1;
    char nested[RTA_SPACE(16)];
    if (klen > 16) return -1;
    memset(nested, 0, sizeof nested);
    struct rtattr ka = {.rta_len = (unsigned short)RTA_LENGTH(klen), .rta_type = IFLA_INFO_KIND};
    memcpy(nested, &ka, sizeof ka);
    memcpy(nested + RTA_LENGTH(0), kind, klen);
    rta_put(u.raw, sizeof u.raw, IFLA_LINKINFO, nested, RTA_ALIGN(RTA_LENGTH(klen)));
    if (rtnl_talk(nl, h) < 0) return -1;
    int idx = (int)if_nametoindex("eth0");
    if (idx <= 0) return -1;
    /* bring it up (RTM_NEWLINK ignores IFF_UP on creation with some kernels) */
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s >= 0) {
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        strcpy(ifr.ifr_name, "eth0");
        if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
            ifr.ifr_flags |= IFF_UP;
            (void)ioctl(s, SIOCSIFFLAGS, &ifr);
        }
        close(s);
    }
    return idx;
}

static int write_proc(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n = write(fd, value, strlen(value));
    int e = errno;
    close(fd);
    return n == (ssize_t)strlen(value) ? 0 : -(n < 0 ? e : EIO);
}

int sbx_net_setup(const struct sbx_config *cfg, sbx_error *err)
{
    if (sbx_net_lo_up(err) < 0) return -1;
    if (!cfg->fakenet.enabled) return 0;
    int lo = (int)if_nametoindex("lo");
    if (lo <= 0) return sbx_fail(err, SBX_E_SETUP, errno, "fake internet: no lo interface");
    int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (nl < 0) return sbx_fail(err, SBX_E_SETUP, errno, "fake internet: netlink socket: %s", strerror(errno));
    /* An address that is not loopback: getaddrinfo with AI_ADDRCONFIG (getent ahostsv4, many
     * resolvers) asks nothing of DNS for a family without one; and a package that looks for a
     * machine with only loopback interfaces (os.networkInterfaces() all "internal") must find a
     * real-looking eth0. A dummy eth0 when the host has the driver (10.0.2.15/24 as in QEMU's
     * user network), else an ifb one (built into most kernels, one device, UP and LOWER_UP, not
     * loopback), else the address goes on lo. Best effort. */
    int eth0 = add_eth0(nl, 10, "dummy");
    if (eth0 < 0) eth0 = add_eth0(nl, 13, "ifb");
    int dev = eth0 > 0 ? eth0 : lo;
    static const unsigned char v4[4] = {10, 0, 2, 15};
    static const unsigned char v6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x2, 0x15};
    (void)add_addr(nl, AF_INET, v4, eth0 > 0 ? 24 : 32, 11, dev);
    (void)add_addr(nl, AF_INET6, v6, eth0 > 0 ? 64 : 128, 12, dev);
    int rc = add_local_default(nl, AF_INET, 1, lo);
    if (rc < 0) {
        close(nl);
        return sbx_fail(err, SBX_E_SETUP, -rc, "fake internet: route local 0.0.0.0/0 dev lo: %s", strerror(-rc));
    }
    rc = add_local_default(nl, AF_INET6, 2, lo);
    close(nl);
    /* A kernel booted with ipv6.disable=1 has no IPv6 at all: IPv4 alone still works. */
    if (rc < 0 && rc != -EAFNOSUPPORT && rc != -EOPNOTSUPP)
        return sbx_fail(err, SBX_E_SETUP, -rc, "fake internet: route local ::/0 dev lo: %s", strerror(-rc));
    /* The fake internet's sockets are made by the open proxy with the payload's identity and no
     * capability (it must never bind with the supervisor's privileges), and they must take any
     * port the package dials, 53, 80 and 443 included: privileged ports start at 0 in this
     * namespace. The payload gains nothing it could use outside: nothing leaves the namespace. */
    rc = write_proc("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0");
    if (rc < 0)
        return sbx_fail(err, SBX_E_SETUP, -rc, "fake internet: net.ipv4.ip_unprivileged_port_start: %s",
                        strerror(-rc));
    return 0;
}
