/*
 * fakenet.c — the fake internet, supervisor side (contract: fakenet.h): the tables (names,
 * flows, ports), the epoll set, the notify hooks and event emission. The DNS responder is in
 * fakenet_dns.c, the TCP/UDP sinks in fakenet_sink.c; fakenet_int.h is their shared seam.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "fakenet_int.h"

/* ---- events ------------------------------------------------------------------------------- */

void fn_emit(struct sbx_fnet *f, struct sbx_event *ev)
{
    ev->t_ns = sbx_now_ns() - f->t0;
    if (f->fn) f->fn(f->ctx, ev);
}

void fn_note(struct sbx_fnet *f, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    struct sbx_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SBX_EV_NOTE;
    ev.detail = text;
    fn_emit(f, &ev);
}

void fn_note_once(struct sbx_fnet *f, int *said, const char *what)
{
    if (*said) return;
    *said = 1;
    fn_note(f, "fake internet: %s", what);
}

/* ---- endpoints ---------------------------------------------------------------------------- */

int fn_ep_from_sa(const void *sa, size_t len, struct fn_ep *e)
{
    sa_family_t fam;
    memset(e, 0, sizeof *e);
    if (len < sizeof fam) return -1;
    memcpy(&fam, sa, sizeof fam);
    if (fam == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);
        e->fam = 4;
        memcpy(e->addr, &in.sin_addr, 4);
        e->port = ntohs(in.sin_port);
        return 0;
    }
    if (fam == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        e->port = ntohs(in6.sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
            e->fam = 4;
            memcpy(e->addr, in6.sin6_addr.s6_addr + 12, 4);
        } else {
            e->fam = 6;
            memcpy(e->addr, in6.sin6_addr.s6_addr, 16);
        }
        return 0;
    }
    return -1;
}

void fn_ep_to_sbx(const struct fn_ep *e, struct sbx_sockaddr *out)
{
    memset(out, 0, sizeof *out);
    if (!e->fam) return;
    out->family = e->fam == 4 ? AF_INET : AF_INET6;
    inet_ntop(out->family, e->addr, out->addr, sizeof out->addr);
    out->port = e->port;
}

int fn_ep_eq(const struct fn_ep *a, const struct fn_ep *b)
{
    return a->fam == b->fam && a->port == b->port && !memcmp(a->addr, b->addr, 16);
}

static int ep_wildcard(const struct fn_ep *e)
{
    static const uint8_t zero[16];
    return !memcmp(e->addr, zero, 16);
}

/* ---- names -------------------------------------------------------------------------------- */

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

int fn_name_index(struct sbx_fnet *f, const char *name)
{
    char key[SBX_WIRE_DNS_TEXT_MAX];
    size_t i = 0;
    for (; i < sizeof key - 1 && name[i]; i++)
        key[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
    key[i] = 0;
    uint32_t slot = hash_name(key) & (FN_NAME_SLOTS - 1);
    for (;;) {
        int32_t idx = f->name_slots[slot];
        if (idx < 0) break;
        if (!strcmp(f->names[idx], key)) return idx;
        slot = (slot + 1) & (FN_NAME_SLOTS - 1);
    }
    if (f->nnames >= FN_MAX_NAMES) {
        fn_note_once(f, &f->said_names, "name table full (16384 names): later names share 127.1.255.255");
        return -1;
    }
    char *copy = strdup(key);
    if (!copy) return -1;
    f->names[f->nnames] = copy;
    f->name_slots[slot] = (int32_t)f->nnames;
    return (int)f->nnames++;
}

void fn_name_addr(int idx, uint8_t a[4])
{
    unsigned v = idx < 0 ? 0xffffu : (unsigned)idx + 1;
    a[0] = 127;
    a[1] = 1;
    a[2] = (uint8_t)(v >> 8);
    a[3] = (uint8_t)v;
}

const char *fn_name_of(const struct sbx_fnet *f, const struct fn_ep *e)
{
    if (e->fam != 4 || e->addr[0] != 127 || e->addr[1] != 1) return NULL;
    unsigned v = ((unsigned)e->addr[2] << 8) | e->addr[3];
    if (v == 0 || v - 1 >= f->nnames) return NULL;
    return f->names[v - 1];
}

/* ---- flows -------------------------------------------------------------------------------- */

const struct fn_flow *fn_flow_find(const struct sbx_fnet *f, int type, const struct fn_ep *local)
{
    const struct fn_flow *loose = NULL;
    for (size_t k = 0; k < f->nflows; k++) {
        size_t i = (f->flow_next + FN_MAX_FLOWS - 1 - k) % FN_MAX_FLOWS;   /* newest first */
        const struct fn_flow *fl = &f->flows[i];
        if (fl->type != type || fl->local.port != local->port) continue;
        if (fn_ep_eq(&fl->local, local)) return fl;
        /* an unconnected UDP socket reads back as the wildcard address */
        if (!loose && ep_wildcard(&fl->local)) loose = fl;
    }
    return loose;
}

uint64_t sbx_fnet_flow(struct sbx_fnet *f, int sock_type, int sock, int pid, const void *sa,
                       size_t sa_len)
{
    struct fn_ep dst, local;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (!f || (sock_type != SOCK_STREAM && sock_type != SOCK_DGRAM)) return 0;
    if (fn_ep_from_sa(sa, sa_len, &dst) < 0 || dst.port == 0) return 0;   /* port 0: no flow */
    if (getsockname(sock, (struct sockaddr *)&ss, &sl) < 0 || fn_ep_from_sa(&ss, sl, &local) < 0)
        return 0;
    if (sock_type == SOCK_DGRAM)
        for (size_t k = 0; k < f->nflows; k++) {
            const struct fn_flow *fl = &f->flows[(f->flow_next + FN_MAX_FLOWS - 1 - k) % FN_MAX_FLOWS];
            if (fl->type == SOCK_DGRAM && fn_ep_eq(&fl->local, &local) && fn_ep_eq(&fl->dst, &dst))
                return fl->id;
        }
    if (f->nflows == FN_MAX_FLOWS)
        fn_note_once(f, &f->said_flows, "flow table full (4096): the oldest flows are forgotten "
                                        "(their payloads carry no conn_id or pid)");
    struct fn_flow *fl = &f->flows[f->flow_next];
    f->flow_next = (f->flow_next + 1) % FN_MAX_FLOWS;
    if (f->nflows < FN_MAX_FLOWS) f->nflows++;
    fl->id = ++f->next_id;
    fl->type = sock_type;
    fl->pid = pid;
    fl->local = local;
    fl->dst = dst;
    return fl->id;
}

/* ---- ports -------------------------------------------------------------------------------- */

int fn_watch(struct sbx_fnet *f, struct fn_handle *h, unsigned events, int op)
{
    struct epoll_event ev = {.events = events, .data.ptr = h};
    return epoll_ctl(f->ep, op, h->fd, &ev);
}

static struct fn_port *port_find(struct sbx_fnet *f, int type, unsigned port)
{
    for (int i = 0; i < f->nports; i++)
        if (f->ports[i].h.kind != FN_H_NONE && f->ports[i].type == type && f->ports[i].port == port)
            return &f->ports[i];
    return NULL;
}

/* A socket of ours on `port` (0 when there is one now). */
static int port_open(struct sbx_fnet *f, int type, unsigned port)
{
    if (port == 0 || port > 65535 || port_find(f, type, port)) return port ? 0 : -1;
    uint64_t now = sbx_now_ns();
    for (int i = 0; i < FN_BUSY; i++)   /* the package's own port: ask again after a while */
        if (f->busy[i].port == port && f->busy[i].type == type && f->busy[i].until > now) return -1;
    if (!f->mk) return -1;
    /* Slots keep their address (epoll holds pointers to them): a released one is reused. */
    struct fn_port *p = NULL;
    for (int i = 0; i < f->nports && !p; i++)
        if (f->ports[i].h.kind == FN_H_NONE) p = &f->ports[i];
    if (!p && f->nports >= FN_MAX_PORTS) {
        fn_note_once(f, &f->said_ports, "256 ports in use: later ports get no listener "
                                        "(connects to them are refused)");
        return -1;
    }
    int fd = f->mk(f->mkctx, AF_INET6, type, port);
    if (fd == -EAFNOSUPPORT) fd = f->mk(f->mkctx, AF_INET, type, port);
    if (fd < 0) {
        if (fd == -EADDRINUSE) {
            f->busy[f->busy_next] = (struct fn_busy){port, type, now + 1000000000ull};
            f->busy_next = (f->busy_next + 1) % FN_BUSY;
        }
        return -1;
    }
    if (type == SOCK_DGRAM) {
        int one = 1;
        (void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    }
    int fresh = !p;
    if (!p) p = &f->ports[f->nports];
    p->h.kind = type == SOCK_STREAM ? FN_H_LISTEN : FN_H_UDP;
    p->h.fd = fd;
    p->type = type;
    p->port = port;
    p->dns = port == 53;
    if (fn_watch(f, &p->h, EPOLLIN, EPOLL_CTL_ADD) < 0) {
        close(fd);
        p->h.kind = FN_H_NONE;
        p->h.fd = -1;
        return -1;
    }
    if (fresh) f->nports++;
    return 0;
}

void sbx_fnet_release(struct sbx_fnet *f, int sock_type, const void *sa, size_t sa_len)
{
    struct fn_ep at;
    if (!f || fn_ep_from_sa(sa, sa_len, &at) < 0 || at.port == 0) return;
    struct fn_port *p = port_find(f, sock_type, at.port);
    if (!p || p->dns) return;
    /* What already arrived is still served and recorded. */
    if (p->h.kind == FN_H_LISTEN) fn_accept(f, p);
    else fn_udp_read(f, p);
    (void)epoll_ctl(f->ep, EPOLL_CTL_DEL, p->h.fd, NULL);
    close(p->h.fd);
    p->h.fd = -1;
    p->h.kind = FN_H_NONE;
}

void sbx_fnet_prepare(struct sbx_fnet *f, int sock_type, const void *sa, size_t sa_len)
{
    struct fn_ep dst;
    if (!f || (sock_type != SOCK_STREAM && sock_type != SOCK_DGRAM)) return;
    if (fn_ep_from_sa(sa, sa_len, &dst) < 0) return;
    (void)port_open(f, sock_type, dst.port);
}

int sbx_fnet_start(struct sbx_fnet *f)
{
    int a = port_open(f, SOCK_DGRAM, 53), b = port_open(f, SOCK_STREAM, 53);
    return a < 0 || b < 0 ? -1 : 0;
}

/* ---- lifetime ----------------------------------------------------------------------------- */

void sbx_fnet_set_mksock(struct sbx_fnet *f, sbx_fnet_mksock_fn mk, void *ctx)
{
    f->mk = mk;
    f->mkctx = ctx;
}

int sbx_fnet_fd(const struct sbx_fnet *f) { return f->ep; }

struct sbx_fnet *sbx_fnet_new(const struct sbx_fakenet *cfg, uint64_t t0_ns, sbx_event_fn fn,
                              void *ctx, sbx_error *err)
{
    struct sbx_fnet *f = calloc(1, sizeof *f);
    if (!f) {
        sbx_fail(err, SBX_E_INTERNAL, ENOMEM, "out of memory for the fake internet");
        return NULL;
    }
    f->ep = f->timer.fd = -1;
    f->t0 = t0_ns;
    f->fn = fn;
    f->ctx = ctx;
    f->flow_cap = cfg->flow_bytes ? cfg->flow_bytes : 64 * 1024;
    f->run_cap = cfg->run_bytes ? cfg->run_bytes : 16 * 1024 * 1024;
    f->buf_cap = f->flow_cap > FN_PEEK_BYTES ? f->flow_cap : FN_PEEK_BYTES;
    f->names = calloc(FN_MAX_NAMES, sizeof *f->names);
    f->name_slots = malloc(FN_NAME_SLOTS * sizeof *f->name_slots);
    f->flows = calloc(FN_MAX_FLOWS, sizeof *f->flows);
    f->body = malloc(f->flow_cap);
    f->hello = malloc(sizeof *f->hello);
    f->req = malloc(sizeof *f->req);
    if (!f->names || !f->name_slots || !f->flows || !f->body || !f->hello || !f->req) {
        sbx_fail(err, SBX_E_INTERNAL, ENOMEM, "out of memory for the fake internet");
        goto fail;
    }
    memset(f->name_slots, 0xff, FN_NAME_SLOTS * sizeof *f->name_slots);
    f->ep = epoll_create1(EPOLL_CLOEXEC);
    f->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    f->timer.kind = FN_H_TIMER;
    if (f->ep < 0 || f->timer.fd < 0 || fn_watch(f, &f->timer, EPOLLIN, EPOLL_CTL_ADD) < 0) {
        sbx_fail(err, SBX_E_INTERNAL, errno, "fake internet: epoll/timerfd: %s", strerror(errno));
        goto fail;
    }
    if (cfg->ca && tlsmitm_new(cfg->ca, &f->mitm, err) < 0) goto fail;
    return f;
fail:
    sbx_fnet_free(f);
    return NULL;
}

void sbx_fnet_free(struct sbx_fnet *f)
{
    if (!f) return;
    fn_conns_close_all(f);
    for (int i = 0; i < f->nports; i++)
        if (f->ports[i].h.fd >= 0) close(f->ports[i].h.fd);
    if (f->timer.fd >= 0) close(f->timer.fd);
    if (f->ep >= 0) close(f->ep);
    for (size_t i = 0; f->names && i < f->nnames; i++) free(f->names[i]);
    free(f->names);
    free(f->name_slots);
    free(f->flows);
    free(f->body);
    free(f->hello);
    free(f->req);
    tlsmitm_free(f->mitm);
    free(f);
}

/* ---- the loop ----------------------------------------------------------------------------- */

static void arm_timer(struct sbx_fnet *f)
{
    int want = f->nconns > 0;
    if (want == f->timer_armed) return;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (want) {
        its.it_value.tv_nsec = FN_TICK_MS * 1000000L;
        its.it_interval.tv_nsec = FN_TICK_MS * 1000000L;
    }
    if (timerfd_settime(f->timer.fd, 0, &its, NULL) == 0) f->timer_armed = want;
}

void sbx_fnet_handle(struct sbx_fnet *f)
{
    if (!f) return;
    struct epoll_event evs[64];
    for (int round = 0; round < 64; round++) {
        int n = epoll_wait(f->ep, evs, 64, 0);
        if (n <= 0) break;
        for (int i = 0; i < n; i++) {
            struct fn_handle *h = evs[i].data.ptr;
            switch (h->kind) {
            case FN_H_LISTEN: fn_accept(f, (struct fn_port *)(void *)h); break;
            case FN_H_UDP: fn_udp_read(f, (struct fn_port *)(void *)h); break;
            case FN_H_CONN: fn_conn_event(f, (struct fn_conn *)(void *)h, evs[i].events); break;
            case FN_H_UP: fn_fwd_event(f, ((struct fn_fwdconn *)(void *)h)->c, 1, evs[i].events); break;
            case FN_H_TIMER: {
                uint64_t ticks;
                if (read(h->fd, &ticks, sizeof ticks) < 0) {}
                fn_conns_idle(f, sbx_now_ns());
                break;
            }
            default: break;
            }
        }
        fn_conns_reap(f);
    }
    fn_conns_reap(f);
    arm_timer(f);
}

void sbx_fnet_flush(struct sbx_fnet *f)
{
    if (!f) return;
    sbx_fnet_handle(f);
    fn_conns_idle(f, UINT64_MAX);
    fn_conns_reap(f);
    arm_timer(f);
}
