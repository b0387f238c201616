/*
 * fakenet_fwd.c — forward mode of the fake internet (sbx_fakenet_forward): a TCP connection the
 * sandbox makes to an allowed name or address and port is spliced to a real endpoint, from the
 * supervisor's (the host's) network. Everything else is still sunk (fakenet_sink.c).
 *
 * Per forwarded connection: a non-blocking host socket connects to the target; then bytes are
 * copied both ways through one bounded buffer per direction (FN_FWD_BUF); a buffer that holds
 * bytes stops reading from its source until the destination took them. A side that reaches EOF
 * is passed on as shutdown(SHUT_WR); when both are done, or on an error, FN_FWD_IDLE_MS of
 * silence, the byte cap, or forward mode turned off, the connection ends with one payload event
 * (proto "forward", no content; total = bytes sent to the remote, received = bytes back).
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

int fn_fwd_match(const struct sbx_fnet *f, const struct fn_ep *local)
{
    for (int i = 0; i < f->nfwd; i++)
        if (fn_ep_eq(&f->fwd[i].match, local)) return i;
    return -1;
}

/* Add, change or drop (ev 0) a handle's epoll interest. */
static void interest(struct sbx_fnet *f, struct fn_handle *h, unsigned *cur, unsigned ev)
{
    if (ev == *cur || h->fd < 0) return;
    int op = !ev ? EPOLL_CTL_DEL : !*cur ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (op == EPOLL_CTL_DEL) (void)epoll_ctl(f->ep, EPOLL_CTL_DEL, h->fd, NULL);
    else if (fn_watch(f, h, ev, op) < 0) return;
    *cur = ev;
}

void fn_fwd_free(struct fn_conn *c)
{
    struct fn_fwdconn *w = c->fw;
    if (!w) return;
    if (w->up.fd >= 0) close(w->up.fd);
    free(w->back);
    free(w);
    c->fw = NULL;
}

void fn_fwd_finish(struct sbx_fnet *f, struct fn_conn *c, const char *why)
{
    struct fn_fwdconn *w = c->fw;
    if (c->dead || !w) return;
    if (why) snprintf(w->why, sizeof w->why, "%s", why);
    char detail[320];
    snprintf(detail, sizeof detail, "forwarded to %s: %llu bytes sent, %llu received%s%s",
             f->fwd[w->target].to_text, (unsigned long long)w->sent, (unsigned long long)w->received,
             w->why[0] ? "; " : "", w->why);
    struct sbx_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SBX_EV_PAYLOAD;
    ev.pid = c->pid;
    ev.conn_id = c->conn_id;
    fn_ep_to_sbx(&c->local, &ev.addr);
    ev.payload.transport = "tcp";
    ev.payload.proto = "forward";
    ev.payload.dns_name = fn_name_of(f, &c->local);
    ev.payload.total = w->sent;
    ev.payload.received = w->received;
    ev.detail = detail;
    if (w->up.fd >= 0) {
        if (w->up_ev) (void)epoll_ctl(f->ep, EPOLL_CTL_DEL, w->up.fd, NULL);
        close(w->up.fd);
        w->up.fd = -1;
    }
    fn_emit(f, &ev);
    fn_conn_close(f, c);
}

void fn_fwd_start(struct sbx_fnet *f, struct fn_conn *c, int i)
{
    struct fn_fwdconn *w = calloc(1, sizeof *w);
    uint8_t *back = w ? malloc(FN_FWD_BUF) : NULL;
    c->mode = FN_FWD;
    if (!back) {
        free(w);
        fn_note(f, "fake internet: out of memory for a forwarded connection");
        fn_conn_close(f, c);
        return;
    }
    w->up.kind = FN_H_UP;
    w->c = c;
    w->back = back;
    w->target = i;
    c->fw = w;
    /* The sandbox side waits until the host side is connected. */
    (void)epoll_ctl(f->ep, EPOLL_CTL_DEL, c->h.fd, NULL);
    c->events = 0;
    const struct fn_fwd *t = &f->fwd[i];
    w->up.fd = socket(t->to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (w->up.fd < 0) {
        snprintf(w->why, sizeof w->why, "socket: %s", strerror(errno));
        fn_fwd_finish(f, c, NULL);
        return;
    }
    if (connect(w->up.fd, (const struct sockaddr *)&t->to, t->tolen) < 0) {
        if (errno != EINPROGRESS) {
            snprintf(w->why, sizeof w->why, "connect: %s", strerror(errno));
            fn_fwd_finish(f, c, NULL);
            return;
        }
        w->connecting = 1;
    }
    fn_fwd_event(f, c, 1, 0);
}

/* Read into an empty buffer. 1: progress, 0: nothing now, -1: error (why filled). */
static int fill(int fd, uint8_t *buf, size_t cap, size_t *len, size_t *off, int *eof, char *why,
                size_t whysz, const char *side)
{
    if (*len || *eof) return 0;
    ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
    if (n > 0) {
        *len = (size_t)n;
        *off = 0;
        return 1;
    }
    if (n == 0) {
        *eof = 1;
        return 1;
    }
    if (errno == EAGAIN || errno == EINTR) return 0;
    snprintf(why, whysz, "read from the %s: %s", side, strerror(errno));
    return -1;
}

static int drain(int fd, const uint8_t *buf, size_t *len, size_t *off, char *why, size_t whysz,
                 const char *side)
{
    if (!*len) return 0;
    ssize_t n = send(fd, buf + *off, *len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
        *off += (size_t)n;
        *len -= (size_t)n;
        return 1;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    snprintf(why, whysz, "write to the %s: %s", side, n < 0 ? strerror(errno) : "closed");
    return -1;
}

void fn_fwd_event(struct sbx_fnet *f, struct fn_conn *c, int up, unsigned events)
{
    struct fn_fwdconn *w = c->fw;
    if (c->dead || !w) return;
    c->last_ns = sbx_now_ns();
    if (w->connecting) {
        if (!up || !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
            interest(f, &w->up, &w->up_ev, EPOLLOUT);
            return;
        }
        int e = 0;
        socklen_t el = sizeof e;
        if (getsockopt(w->up.fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0) e = errno;
        if (e) {
            snprintf(w->why, sizeof w->why, "connect: %s", strerror(e));
            fn_fwd_finish(f, c, NULL);
            return;
        }
        w->connecting = 0;
    }
    for (int progress = 1, rounds = 0; progress && rounds < 64; rounds++) {
        progress = 0;
        int r[4];
        r[0] = fill(c->h.fd, c->buf, f->buf_cap < FN_FWD_BUF ? f->buf_cap : FN_FWD_BUF, &w->a_len,
                    &w->a_off, &w->a_eof, w->why, sizeof w->why, "sandbox");
        if (r[0] > 0) w->sent += w->a_len;
        r[1] = drain(w->up.fd, c->buf, &w->a_len, &w->a_off, w->why, sizeof w->why, "remote");
        r[2] = fill(w->up.fd, w->back, FN_FWD_BUF, &w->b_len, &w->b_off, &w->b_eof, w->why,
                    sizeof w->why, "remote");
        if (r[2] > 0) w->received += w->b_len;
        r[3] = drain(c->h.fd, w->back, &w->b_len, &w->b_off, w->why, sizeof w->why, "sandbox");
        for (int k = 0; k < 4; k++) {
            if (r[k] < 0) {
                fn_fwd_finish(f, c, NULL);
                return;
            }
            if (r[k] > 0) progress = 1;
        }
        if (r[0] > 0 || r[2] > 0) {
            uint64_t n = (r[0] > 0 ? w->a_len : 0) + (r[2] > 0 ? w->b_len : 0);
            f->fwd_used += n;
            if (f->fwd_used > f->fwd_cap) {
                fn_note_once(f, &f->said_fwd, "forward byte cap reached: forwarded connections are cut");
                fn_fwd_finish(f, c, "forward byte cap reached");
                return;
            }
        }
        if (w->a_eof && !w->a_len && !w->a_shut) {
            (void)shutdown(w->up.fd, SHUT_WR);
            w->a_shut = 1;
        }
        if (w->b_eof && !w->b_len && !w->b_shut) {
            (void)shutdown(c->h.fd, SHUT_WR);
            w->b_shut = 1;
        }
    }
    if (w->a_shut && w->b_shut) {
        fn_fwd_finish(f, c, NULL);
        return;
    }
    unsigned cev = (!w->a_eof && !w->a_len ? EPOLLIN : 0) | (w->b_len ? EPOLLOUT : 0);
    unsigned uev = (!w->b_eof && !w->b_len ? EPOLLIN : 0) | (w->a_len ? EPOLLOUT : 0);
    interest(f, &c->h, &c->events, cev);
    interest(f, &w->up, &w->up_ev, uev);
}

/* ---- turning it on and off ---- */

static int parse_addr(const char *text, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
        return 0;
    }
    if (inet_pton(AF_INET6, text, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        return 0;
    }
    return -1;
}

int sbx_fnet_forward(struct sbx_fnet *f, const struct sbx_forward *t, size_t n, uint64_t max_bytes,
                     sbx_error *err)
{
    if (n > FN_MAX_FWD) return sbx_fail(err, SBX_E_USAGE, 0, "at most %d forward targets", FN_MAX_FWD);
    struct fn_fwd next[FN_MAX_FWD];
    memset(next, 0, sizeof next);
    for (size_t i = 0; i < n; i++) {
        struct sockaddr_storage m;
        socklen_t ml;
        if (!t[i].match || !*t[i].match || !t[i].to_addr || t[i].port == 0 || t[i].port > 65535 ||
            t[i].to_port == 0 || t[i].to_port > 65535 ||
            parse_addr(t[i].to_addr, t[i].to_port, &next[i].to, &next[i].tolen) < 0)
            return sbx_fail(err, SBX_E_USAGE, 0, "forward target %zu: a name or address, a port and "
                            "a numeric address to connect to are needed", i);
        if (parse_addr(t[i].match, t[i].port, &m, &ml) == 0) {
            (void)fn_ep_from_sa(&m, ml, &next[i].match);
        } else {
            int idx = fn_name_index(f, t[i].match);
            if (idx < 0) return sbx_fail(err, SBX_E_INTERNAL, 0, "fake internet: name table full");
            next[i].match.fam = 4;
            fn_name_addr(idx, next[i].match.addr);
            next[i].match.port = (uint16_t)t[i].port;
        }
        char a[INET6_ADDRSTRLEN];
        snprintf(next[i].to_text, sizeof next[i].to_text, next[i].to.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
                 inet_ntop(next[i].to.ss_family, next[i].to.ss_family == AF_INET6
                           ? (const void *)&((struct sockaddr_in6 *)&next[i].to)->sin6_addr
                           : (const void *)&((struct sockaddr_in *)&next[i].to)->sin_addr, a, sizeof a) ? a : "?",
                 t[i].to_port);
    }
    if (n == 0) {   /* off: cut what is still open, so nothing forwarded outlives the phase */
        for (int i = 0; i < f->nconns; i++)
            if (f->conns[i]->mode == FN_FWD && !f->conns[i]->dead)
                fn_fwd_finish(f, f->conns[i], "forward mode turned off");
        fn_conns_reap(f);
    }
    memcpy(f->fwd, next, sizeof next);
    f->nfwd = (int)n;
    f->fwd_cap = max_bytes ? max_bytes : (1ull << 30);
    f->fwd_used = 0;
    f->said_fwd = 0;
    return 0;
}
