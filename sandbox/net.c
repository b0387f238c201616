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
