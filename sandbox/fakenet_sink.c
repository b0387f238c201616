/*
 * fakenet_sink.c — what arrives at the fake internet's sockets.
 *
 * TCP, per accepted connection (non-blocking, at most FN_MAX_CONNS open):
 *   first byte 0x16   peek (MSG_PEEK, SO_RCVLOWAT so a partial hello does not spin the loop)
 *                     until the ClientHello parses; SNI/ALPN kept. Without a CA: the hello is the
 *                     capture, proto "tls", closed at once (the client fails fast). With one:
 *                     tlsmitm_accept, handshake, decrypted bytes read as below, proto "https";
 *                     a failed handshake is proto "tls" with tls_error.
 *   HTTP/1.x request  read until sbx_wire_http_parse says complete (or the capture is full, the
 *                     peer closed, or it went quiet for FN_IDLE_MS), then "503 Service
 *                     Unavailable", Content-Length 0, Connection close, and closed.
 *   port 53           DNS over TCP (2-byte length), answered per query; malformed: proto "dns".
 *   anything else     raw: captured until the peer closes, the capture is full or FN_IDLE_MS
 *                     of silence; then closed.
 * One SBX_EV_PAYLOAD per connection, when it is finished.
 * UDP: one SBX_EV_PAYLOAD per datagram (port 53: answered when it parses, else proto "dns").
 * Captures: flow_bytes per connection or datagram, run_bytes per sandbox; bytes past a cap are
 * read and counted (total) but not kept.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "fakenet_int.h"

static const char HTTP_503[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n";

/* ---- capture ---- */

/* Keep what the caps allow of n bytes (into c->buf at c->len). */
static void capture(struct sbx_fnet *f, struct fn_conn *c, const uint8_t *p, size_t n)
{
    c->total += n;
    size_t room = c->len < f->flow_cap ? f->flow_cap - c->len : 0;
    size_t run_left = f->run_cap - f->run_used;
    if (room > run_left) room = run_left;
    size_t keep = n < room ? n : room;
    if (keep) memcpy(c->buf + c->len, p, keep);
    c->len += keep;
    c->charged += keep;
    f->run_used += keep;
    if (keep < n) {
        c->full = 1;
        if (f->run_used >= f->run_cap)
            fn_note_once(f, &f->said_run, "run capture cap reached: later bytes are counted, not kept");
    }
}

static void uncharge(struct sbx_fnet *f, struct fn_conn *c)
{
    f->run_used -= c->charged;
    c->charged = 0;
    c->len = 0;
    c->full = 0;
}

/* ---- payload events ---- */

static const char *esc(const struct sbx_wire_span *s, char *out, size_t cap, int *trunc)
{
    if (sbx_wire_escape((const uint8_t *)s->p, s->len, 0, out, cap) >= cap) *trunc = 1;
    return out;
}

static void http_fields(struct sbx_fnet *f, const struct sbx_wire_http_request *r, struct sbx_event *ev)
{
    int t = 0;
    struct sbx_payload_event *p = &ev->payload;
    p->http_method = esc(&r->method, f->method, sizeof f->method, &t);
    p->http_target = esc(&r->target, f->target, sizeof f->target, &t);
    p->http_host = r->has_host ? esc(&r->host, f->host, sizeof f->host, &t) : NULL;
    size_t o = 0;
    f->headers[0] = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        char name[256], value[4096];
        size_t nl = sbx_wire_escape((const uint8_t *)r->headers[i].name.p, r->headers[i].name.len, 0,
                                    name, sizeof name);
        size_t vl = sbx_wire_escape((const uint8_t *)r->headers[i].value.p, r->headers[i].value.len, 0,
                                    value, sizeof value);
        if (nl >= sizeof name || vl >= sizeof value) t = 1;
        for (char *c = name; *c; c++) if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
        int w = snprintf(f->headers + o, sizeof f->headers - o, "%s: %s\n", name, value);
        if (w < 0 || (size_t)w >= sizeof f->headers - o) {
            f->headers[o] = 0;
            t = 1;
            break;
        }
        o += (size_t)w;
    }
    p->http_headers = f->headers;
    p->http_body = r->body_len ? r->body : NULL;
    p->http_body_len = r->body_len;
    if (t) ev->truncated = 1;
}

/* http: 1 when f->req holds this connection's request (head parsed). */
static void emit_conn(struct sbx_fnet *f, struct fn_conn *c, const char *proto, int http)
{
    struct sbx_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SBX_EV_PAYLOAD;
    ev.pid = c->pid;
    ev.conn_id = c->conn_id;
    fn_ep_to_sbx(&c->local, &ev.addr);
    struct sbx_payload_event *p = &ev.payload;
    p->transport = "tcp";
    p->proto = proto;
    p->dns_name = fn_name_of(f, &c->local);
    p->data = c->len ? c->buf : NULL;
    p->len = c->len;
    p->total = c->total;
    if (http) http_fields(f, f->req, &ev);
    if (c->has_sni) p->tls_sni = c->sni;
    if (c->has_alpn) p->tls_alpn = c->alpn;
    if (c->tls_error[0]) p->tls_error = c->tls_error;
    if (c->full) ev.truncated = 1;
    fn_emit(f, &ev);
}

/* ---- connections ---- */

void fn_conn_close(struct sbx_fnet *f, struct fn_conn *c)
{
    if (c->dead) return;
    c->dead = 1;
    if (c->fw && c->fw->up.fd >= 0) {
        if (c->fw->up_ev) (void)epoll_ctl(f->ep, EPOLL_CTL_DEL, c->fw->up.fd, NULL);
        close(c->fw->up.fd);
        c->fw->up.fd = -1;
    }
    if (c->tls) tlsmitm_conn_free(c->tls);
    c->tls = NULL;
    (void)epoll_ctl(f->ep, EPOLL_CTL_DEL, c->h.fd, NULL);
    /* Unread bytes would turn our FIN into a RST (and could cost the client our answer). */
    for (int i = 0; i < 16 && recv(c->h.fd, f->io, sizeof f->io, MSG_DONTWAIT) > 0; i++) {}
    close(c->h.fd);
    c->h.fd = -1;
}

static void send_plain(int fd, const void *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w <= 0) return;   /* best effort: our answers are tiny */
        p = (const uint8_t *)p + w;
        n -= (size_t)w;
    }
}

static void send_tls(struct fn_conn *c, const void *p, size_t n)
{
    enum tlsmitm_state want;
    for (int i = 0; i < 8 && n; i++) {
        ssize_t w = tlsmitm_write(c->tls, p, n, &want);
        if (w <= 0) return;
        p = (const uint8_t *)p + w;
        n -= (size_t)w;
    }
}

/* The request is as complete as it will get: answer, record, close. */
static void finish_http(struct sbx_fnet *f, struct fn_conn *c, int have_req)
{
    int tls = c->mode == FN_TLS_APP;
    if (tls) send_tls(c, HTTP_503, sizeof HTTP_503 - 1);
    else send_plain(c->h.fd, HTTP_503, sizeof HTTP_503 - 1);
    emit_conn(f, c, tls ? "https" : have_req ? "http" : "raw", have_req);
    fn_conn_close(f, c);
}

/* HTTP (plain or decrypted): decide whether the request is complete. eof: the peer is done. */
static void check_http(struct sbx_fnet *f, struct fn_conn *c, int eof)
{
    sbx_wire_result r = sbx_wire_http_parse(c->buf, c->len, f->body, f->flow_cap, f->req);
    int stuck = eof || c->full;
    switch (r) {
    case SBX_WIRE_OK: return finish_http(f, c, 1);
    case SBX_WIRE_TOO_LARGE: if (stuck) finish_http(f, c, 1); return;
    case SBX_WIRE_NEED_MORE: if (stuck) finish_http(f, c, 0); return;
    default:
        if (c->mode == FN_TLS_APP) {   /* not HTTP inside TLS: keep it as raw bytes */
            if (stuck) {
                emit_conn(f, c, "https", 0);
                fn_conn_close(f, c);
            }
            return;
        }
        c->mode = FN_RAW;
        if (r == SBX_WIRE_MALFORMED) {   /* looked like HTTP: answer so the client ends now */
            send_plain(c->h.fd, HTTP_503, sizeof HTTP_503 - 1);
            emit_conn(f, c, "raw", 0);
            fn_conn_close(f, c);
        } else if (stuck) {
            emit_conn(f, c, "raw", 0);
            fn_conn_close(f, c);
        }
        return;
    }
}

/* DNS over TCP: answer every complete query in the buffer. */
static void check_dns(struct sbx_fnet *f, struct fn_conn *c, int eof)
{
    size_t off = 0;
    for (;;) {
        struct sbx_wire_dns_query q;
        size_t used = 0, out_len = 0;
        sbx_wire_result r = sbx_wire_dns_parse_query_tcp(c->buf + off, c->len - off, &q, &used);
        if (r == SBX_WIRE_NEED_MORE) break;
        if (r != SBX_WIRE_OK) {
            if (f->malformed_notes++ < 16) fn_note(f, "fake internet: malformed DNS query over TCP (%s)",
                                                   sbx_wire_result_name(r));
            emit_conn(f, c, "dns", 0);
            fn_conn_close(f, c);
            return;
        }
        if (fn_dns_reply(f, &q, SBX_WIRE_DNS_TCP, &out_len) == 0) send_plain(c->h.fd, f->out, out_len);
        fn_dns_event(f, &q, "tcp", &c->peer);
        off += used;
    }
    if (off) {   /* answered queries are not kept */
        memmove(c->buf, c->buf + off, c->len - off);
        c->len -= off;
        f->run_used -= off < c->charged ? off : c->charged;
        c->charged -= off < c->charged ? off : c->charged;
    }
    if (eof || c->full) {
        if (c->len) emit_conn(f, c, "dns", 0);
        fn_conn_close(f, c);
    }
}

/* Read what is there (consuming). Returns 1 at EOF or a read error. */
static int read_plain(struct sbx_fnet *f, struct fn_conn *c)
{
    for (;;) {
        ssize_t n = recv(c->h.fd, f->io, sizeof f->io, 0);
        if (n > 0) {
            capture(f, c, f->io, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return n == 0 || errno != EAGAIN;
    }
}

static int read_tls(struct sbx_fnet *f, struct fn_conn *c)
{
    for (;;) {
        enum tlsmitm_state want = TLSMITM_WANT_READ;
        ssize_t n = tlsmitm_read(c->tls, f->io, sizeof f->io, &want);
        if (n > 0) {
            capture(f, c, f->io, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            unsigned ev = (want == TLSMITM_WANT_WRITE ? EPOLLOUT : EPOLLIN) | EPOLLRDHUP;
            if (ev != c->events && fn_watch(f, &c->h, ev, EPOLL_CTL_MOD) == 0) c->events = ev;
            return 0;
        }
        return 1;
    }
}

static void set_lowat(int fd, int bytes)
{
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes);
}

static void tls_handshake(struct sbx_fnet *f, struct fn_conn *c)
{
    char why[sizeof c->tls_error];
    why[0] = 0;
    enum tlsmitm_state st = tlsmitm_handshake(c->tls, why, sizeof why);
    if (st == TLSMITM_FAILED) {
        snprintf(c->tls_error, sizeof c->tls_error, "%s", why[0] ? why : "handshake failed");
        emit_conn(f, c, "tls", 0);   /* the captured hello */
        fn_conn_close(f, c);
        return;
    }
    if (st == TLSMITM_READY) {
        c->mode = FN_TLS_APP;
        uncharge(f, c);   /* from here the capture is the decrypted stream */
        c->total = 0;     /* and so is the count: bytes vs captured compare like for like */
        int eof = read_tls(f, c);
        if (!c->dead) check_http(f, c, eof);
        return;
    }
    unsigned ev = (st == TLSMITM_WANT_WRITE ? EPOLLOUT : EPOLLIN) | EPOLLRDHUP;
    if (ev != c->events && fn_watch(f, &c->h, ev, EPOLL_CTL_MOD) == 0) c->events = ev;
}

/* The ClientHello, peeked so TLS termination can still read it. */
static void tls_peek(struct sbx_fnet *f, struct fn_conn *c, int hup)
{
    ssize_t n = recv(c->h.fd, c->buf, f->buf_cap, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN && !hup) return;
    if (n <= 0) {   /* the peer left before saying anything */
        emit_conn(f, c, "raw", 0);
        fn_conn_close(f, c);
        return;
    }
    c->peeked = (size_t)n;
    sbx_wire_result r = sbx_wire_tls_parse_client_hello(c->buf, (size_t)n, f->hello);
    if (r == SBX_WIRE_NEED_MORE && !hup && (size_t)n < f->buf_cap) {
        set_lowat(c->h.fd, (int)n + 1);   /* readable again only when more arrives */
        return;
    }
    set_lowat(c->h.fd, 1);
    if (r != SBX_WIRE_OK) {   /* not a hello we can use: raw bytes */
        c->mode = FN_RAW;
        int eof = read_plain(f, c);
        if (eof || c->full) {
            emit_conn(f, c, "raw", 0);
            fn_conn_close(f, c);
        }
        return;
    }
    const struct sbx_wire_tls_hello *h = f->hello;
    c->tls_hello = 1;
    if (h->has_sni) {
        snprintf(c->sni, sizeof c->sni, "%s", h->sni);
        c->has_sni = 1;
    }
    size_t o = 0;
    for (size_t i = 0; i < h->nalpn && o + 2 < sizeof c->alpn; i++) {
        if (i) c->alpn[o++] = ',';
        o += sbx_wire_escape((const uint8_t *)h->alpn[i].p, h->alpn[i].len, 0, c->alpn + o,
                             sizeof c->alpn - o);
        if (o >= sizeof c->alpn) o = sizeof c->alpn - 1;
    }
    c->alpn[o] = 0;
    c->has_alpn = h->nalpn > 0;
    if (!f->mitm) {
        /* No interception: the hello is what we record; closing now fails the client at once. */
        read_plain(f, c);
        emit_conn(f, c, "tls", 0);
        fn_conn_close(f, c);
        return;
    }
    /* Count the peeked hello as this connection's capture while the handshake runs. */
    c->len = 0;
    size_t keep = c->peeked < f->flow_cap ? c->peeked : f->flow_cap;
    if (keep > f->run_cap - f->run_used) keep = f->run_cap - f->run_used;
    c->len = c->charged = keep;
    c->total = c->peeked;
    f->run_used += keep;
    char addr[INET6_ADDRSTRLEN];
    inet_ntop(c->local.fam == 4 ? AF_INET : AF_INET6, c->local.addr, addr, sizeof addr);
    sbx_error err = {0};
    c->tls = tlsmitm_accept(f->mitm, c->h.fd, h->has_sni && h->sni_plausible ? c->sni : NULL, addr, &err);
    if (!c->tls) {
        snprintf(c->tls_error, sizeof c->tls_error, "interception failed: %.160s", err.msg);
        emit_conn(f, c, "tls", 0);
        fn_conn_close(f, c);
        return;
    }
    c->mode = FN_TLS_HS;
    tls_handshake(f, c);
}

void fn_conn_event(struct sbx_fnet *f, struct fn_conn *c, unsigned events)
{
    if (c->dead) return;
    if (c->mode == FN_FWD) {
        fn_fwd_event(f, c, 0, events);
        return;
    }
    c->last_ns = sbx_now_ns();
    int hup = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
    if (c->mode == FN_NEW) {
        uint8_t first;
        ssize_t n = recv(c->h.fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && errno == EAGAIN && !hup) return;
        if (n <= 0) {
            emit_conn(f, c, "raw", 0);   /* connected and left without a byte */
            fn_conn_close(f, c);
            return;
        }
        c->mode = first == 0x16 ? FN_TLS_PEEK : FN_HTTP;
    }
    switch (c->mode) {
    case FN_TLS_PEEK: tls_peek(f, c, hup); return;
    case FN_TLS_HS: tls_handshake(f, c); return;
    case FN_TLS_APP: {
        int eof = read_tls(f, c);
        check_http(f, c, eof);
        return;
    }
    case FN_DNS: {
        int eof = read_plain(f, c);
        check_dns(f, c, eof);
        return;
    }
    case FN_HTTP: {
        int eof = read_plain(f, c);
        check_http(f, c, eof);
        return;
    }
    default: {
        int eof = read_plain(f, c);
        if (eof || c->full) {
            emit_conn(f, c, "raw", 0);
            fn_conn_close(f, c);
        }
        return;
    }
    }
}

void fn_accept(struct sbx_fnet *f, struct fn_port *p)
{
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage peer, local;
        socklen_t pl = sizeof peer, ll = sizeof local;
        int fd = accept4(p->h.fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            return;   /* EAGAIN, or out of descriptors: the backlog waits */
        }
        struct fn_conn *c = f->nconns < FN_MAX_CONNS ? calloc(1, sizeof *c) : NULL;
        uint8_t *buf = c ? malloc(f->buf_cap) : NULL;
        if (!c || !buf) {
            fn_note_once(f, &f->said_conns, "256 connections open at once: later ones are closed "
                                            "unread");
            free(c);
            free(buf);
            close(fd);
            continue;
        }
        c->h.kind = FN_H_CONN;
        c->h.fd = fd;
        c->buf = buf;
        c->mode = p->dns ? FN_DNS : FN_NEW;
        c->last_ns = sbx_now_ns();
        (void)fn_ep_from_sa(&peer, pl, &c->peer);
        if (getsockname(fd, (struct sockaddr *)&local, &ll) == 0) (void)fn_ep_from_sa(&local, ll, &c->local);
        const struct fn_flow *fl = fn_flow_find(f, SOCK_STREAM, &c->peer);
        if (fl) {
            c->conn_id = fl->id;
            c->pid = fl->pid;
        }
        c->events = EPOLLIN | EPOLLRDHUP;
        if (fn_watch(f, &c->h, c->events, EPOLL_CTL_ADD) < 0) {
            close(fd);
            free(buf);
            free(c);
            continue;
        }
        f->conns[f->nconns++] = c;
        int fwd = p->dns ? -1 : fn_fwd_match(f, &c->local);
        if (fwd >= 0) fn_fwd_start(f, c, fwd);   /* forward mode: spliced to the real target */
        else fn_conn_event(f, c, 0);   /* bytes may be there already */
    }
}

void fn_conns_idle(struct sbx_fnet *f, uint64_t now)
{
    for (int i = 0; i < f->nconns; i++) {
        struct fn_conn *c = f->conns[i];
        if (c->dead) continue;
        uint64_t idle_ms = c->mode == FN_FWD ? FN_FWD_IDLE_MS : FN_IDLE_MS;
        if (now != UINT64_MAX && now - c->last_ns < idle_ms * 1000000ull) continue;
        switch (c->mode) {
        case FN_FWD: fn_fwd_finish(f, c, now == UINT64_MAX ? "sandbox closed" : "idle"); continue;
        case FN_HTTP:
        case FN_TLS_APP: check_http(f, c, 1); break;
        case FN_DNS: check_dns(f, c, 1); break;
        case FN_TLS_PEEK:
        case FN_TLS_HS:
            if (c->mode == FN_TLS_HS) snprintf(c->tls_error, sizeof c->tls_error, "handshake timed out");
            if (c->mode == FN_TLS_PEEK && !c->len) {
                size_t keep = c->peeked < f->flow_cap ? c->peeked : f->flow_cap;
                if (keep > f->run_cap - f->run_used) keep = f->run_cap - f->run_used;
                c->len = c->charged = keep;
                c->total = c->peeked;
                f->run_used += keep;
            }
            emit_conn(f, c, c->mode == FN_TLS_HS ? "tls" : "raw", 0);
            break;
        default: emit_conn(f, c, "raw", 0); break;
        }
        fn_conn_close(f, c);
    }
}

void fn_conns_reap(struct sbx_fnet *f)
{
    int k = 0;
    for (int i = 0; i < f->nconns; i++) {
        struct fn_conn *c = f->conns[i];
        if (c->dead) {
            fn_fwd_free(c);
            free(c->buf);
            free(c);
            continue;
        }
        f->conns[k++] = c;
    }
    f->nconns = k;
}

void fn_conns_close_all(struct sbx_fnet *f)
{
    for (int i = 0; i < f->nconns; i++) {
        struct fn_conn *c = f->conns[i];
        if (!c->dead) {
            if (c->tls) tlsmitm_conn_free(c->tls);
            close(c->h.fd);
        }
        fn_fwd_free(c);
        free(c->buf);
        free(c);
    }
    f->nconns = 0;
}

/* ---- UDP ---- */

struct dgram {
    size_t len;                 /* bytes in f->io */
    size_t real;                /* the datagram's length */
    struct fn_ep src, dst;
    int have_pktinfo4, have_pktinfo6;
    struct in_pktinfo pi4;
    struct in6_pktinfo pi6;
    struct sockaddr_storage from;
    socklen_t fromlen;
};

static int recv_dgram(struct sbx_fnet *f, struct fn_port *p, struct dgram *d)
{
    char control[256];
    struct iovec iov = {f->io, sizeof f->io};
    memset(d, 0, sizeof *d);
    struct msghdr m = {.msg_name = &d->from, .msg_namelen = sizeof d->from, .msg_iov = &iov,
                       .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    ssize_t n = recvmsg(p->h.fd, &m, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) return -1;
    d->len = (size_t)n > sizeof f->io ? sizeof f->io : (size_t)n;
    d->real = (size_t)n;
    d->fromlen = m.msg_namelen;
    (void)fn_ep_from_sa(&d->from, m.msg_namelen, &d->src);
    d->dst.port = (uint16_t)p->port;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            memcpy(&d->pi4, CMSG_DATA(c), sizeof d->pi4);
            d->have_pktinfo4 = 1;
            d->dst.fam = 4;
            memcpy(d->dst.addr, &d->pi4.ipi_addr, 4);
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            memcpy(&d->pi6, CMSG_DATA(c), sizeof d->pi6);
            d->have_pktinfo6 = 1;
            struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_addr = d->pi6.ipi6_addr};
            uint16_t port = d->dst.port;
            (void)fn_ep_from_sa(&s6, sizeof s6, &d->dst);
            d->dst.port = port;
        }
    }
    return 0;
}

/* Answer from the address the query was sent to (a connected client accepts nothing else). */
static void reply_dgram(struct fn_port *p, const struct dgram *d, const void *buf, size_t len)
{
    char control[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    struct iovec iov = {(void *)buf, len};
    struct msghdr m = {.msg_name = (void *)&d->from, .msg_namelen = d->fromlen, .msg_iov = &iov,
                       .msg_iovlen = 1};
    memset(control, 0, sizeof control);
    if (d->have_pktinfo4) {
        m.msg_control = control;
        m.msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
        struct in_pktinfo pi = {0};
        pi.ipi_spec_dst = d->pi4.ipi_addr;
        memcpy(CMSG_DATA(c), &pi, sizeof pi);
    } else if (d->have_pktinfo6) {
        m.msg_control = control;
        m.msg_controllen = CMSG_SPACE(sizeof(struct in6_pktinfo));
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
        struct in6_pktinfo pi;
        memset(&pi, 0, sizeof pi);
        pi.ipi6_addr = d->pi6.ipi6_addr;
        memcpy(CMSG_DATA(c), &pi, sizeof pi);
    }
    if (sendmsg(p->h.fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && m.msg_control) {
        m.msg_control = NULL;   /* best effort without the source address */
        m.msg_controllen = 0;
        (void)sendmsg(p->h.fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
}

static void emit_dgram(struct sbx_fnet *f, const struct dgram *d, const char *proto, const char *detail)
{
    struct sbx_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SBX_EV_PAYLOAD;
    const struct fn_flow *fl = fn_flow_find(f, SOCK_DGRAM, &d->src);
    if (fl) {
        ev.pid = fl->pid;
        ev.conn_id = fl->id;
    }
    fn_ep_to_sbx(d->dst.fam ? &d->dst : (fl ? &fl->dst : &d->dst), &ev.addr);
    struct sbx_payload_event *p = &ev.payload;
    p->transport = "udp";
    p->proto = proto;
    p->dns_name = fn_name_of(f, d->dst.fam ? &d->dst : (fl ? &fl->dst : &d->dst));
    size_t keep = d->len < f->flow_cap ? d->len : f->flow_cap;
    if (keep > f->run_cap - f->run_used) {
        keep = f->run_cap - f->run_used;
        fn_note_once(f, &f->said_run, "run capture cap reached: later bytes are counted, not kept");
    }
    f->run_used += keep;
    p->data = keep ? f->io : NULL;
    p->len = keep;
    p->total = d->real;
    if (keep < d->real) ev.truncated = 1;
    ev.detail = detail;
    fn_emit(f, &ev);
}

void fn_udp_read(struct sbx_fnet *f, struct fn_port *p)
{
    for (int i = 0; i < 256; i++) {
        struct dgram d;
        if (recv_dgram(f, p, &d) < 0) return;
        if (!p->dns) {
            emit_dgram(f, &d, "raw", NULL);
            continue;
        }
        struct sbx_wire_dns_query q;
        sbx_wire_result r = sbx_wire_dns_parse_query(f->io, d.len, &q);
        if (r == SBX_WIRE_OK) {
            size_t out_len = 0;
            if (fn_dns_reply(f, &q, SBX_WIRE_DNS_UDP, &out_len) == 0) reply_dgram(p, &d, f->out, out_len);
            fn_dns_event(f, &q, "udp", &d.src);
            continue;
        }
        snprintf(f->detail, sizeof f->detail, "malformed DNS query (%s): answered FORMERR",
                 sbx_wire_result_name(r));
        size_t fl = fn_dns_formerr(f->io, d.len, f->out, sizeof f->out);
        if (fl) reply_dgram(p, &d, f->out, fl);
        else snprintf(f->detail, sizeof f->detail, "malformed DNS message (%s): dropped",
                      sbx_wire_result_name(r));
        if (f->malformed_notes++ < 16) fn_note(f, "fake internet: %s", f->detail);
        emit_dgram(f, &d, "dns", f->detail);
    }
}
