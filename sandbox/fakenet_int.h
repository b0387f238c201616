/*
 * fakenet_int.h — the seam between fakenet.c (tables, ports, loop), fakenet_dns.c (responder)
 * and fakenet_sink.c (TCP connections, UDP datagrams). Private to those three files.
 */
#ifndef SCRIPTBOX_SANDBOX_FAKENET_INT_H
#define SCRIPTBOX_SANDBOX_FAKENET_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fakenet.h"
#include "internal.h"
#include "tlsmitm.h"
#include "wire.h"

enum {
    FN_MAX_PORTS = 256,         /* our sockets, TCP and UDP together */
    FN_MAX_CONNS = 256,         /* TCP connections open at once */
    FN_MAX_FLOWS = 4096,        /* remembered connects/sends (a ring) */
    FN_MAX_NAMES = 16384,       /* 127.1.0.1 .. 127.1.64.0 */
    FN_NAME_SLOTS = 32768,      /* hash slots, a power of two */
    FN_BUSY = 16,               /* ports the package holds, remembered for a second */
    FN_IDLE_MS = 1000,          /* a quiet connection is finished after this */
    FN_TICK_MS = 200,
    FN_PEEK_BYTES = 18432,        /* a whole ClientHello (16 KiB) with its record headers */
    FN_DNS_TTL = 60,
    FN_MAX_FWD = 4,             /* forward targets (sbx_fakenet_forward) */
    FN_FWD_IDLE_MS = 30000,     /* a quiet forwarded connection is closed after this */
    FN_FWD_BUF = 65536,         /* per direction */
};

enum fn_hkind { FN_H_NONE, FN_H_LISTEN, FN_H_UDP, FN_H_CONN, FN_H_TIMER, FN_H_UP };

struct fn_handle {              /* first member of everything in the epoll set */
    int kind;
    int fd;
};

struct fn_ep {                  /* an endpoint; IPv4-mapped IPv6 is folded to IPv4 */
    uint8_t fam;                /* 4, 6, or 0 */
    uint8_t addr[16];
    uint16_t port;
};

struct fn_flow {
    uint64_t id;
    int type;                   /* SOCK_STREAM / SOCK_DGRAM */
    int pid;                    /* inside the sandbox */
    struct fn_ep local;         /* the package's socket after the call (getsockname) */
    struct fn_ep dst;
};

struct fn_port {
    struct fn_handle h;
    int type;
    unsigned port;
    int dns;                    /* port 53: the responder */
};

struct fn_busy {
    unsigned port;
    int type;
    uint64_t until;
};

enum fn_mode { FN_NEW, FN_HTTP, FN_TLS_PEEK, FN_TLS_HS, FN_TLS_APP, FN_RAW, FN_DNS, FN_FWD };

/* A forward target: connections to `match` are spliced to `to` (fakenet_fwd.c). */
struct fn_fwd {
    struct fn_ep match;         /* the name's address from our table, or the literal address */
    struct sockaddr_storage to;
    socklen_t tolen;
    char to_text[80];           /* "addr:port" for events */
};

struct fn_conn;
/* The host side of a forwarded connection. */
struct fn_fwdconn {
    struct fn_handle up;        /* first: the epoll handle of the host socket (FN_H_UP) */
    struct fn_conn *c;
    uint8_t *back;              /* remote -> sandbox (c->buf is sandbox -> remote) */
    size_t a_off, a_len, b_off, b_len;
    int a_eof, b_eof, a_shut, b_shut, connecting;
    unsigned c_ev, up_ev;       /* epoll interest, 0 = not in the set */
    uint64_t sent, received;
    int target;                 /* index in f->fwd */
    char why[160];              /* how it ended, when not by both sides closing */
};

struct fn_conn {
    struct fn_handle h;
    int mode;
    int dead;                   /* finished: freed at the end of the round */
    uint8_t *buf;               /* captured bytes (decrypted for https); peeked hello first */
    size_t len;                 /* bytes in buf */
    size_t charged;             /* of them, counted against the run's cap */
    uint64_t total;             /* bytes carried */
    int full;                   /* the capture stopped at a cap while bytes kept coming */
    uint64_t last_ns;
    struct fn_ep peer, local;   /* the package's end; the address it dialled */
    uint64_t conn_id;
    int pid;
    unsigned events;            /* epoll interest */
    size_t peeked;              /* TLS: hello bytes seen with MSG_PEEK */
    struct tlsmitm_conn *tls;
    int tls_hello;              /* a ClientHello was parsed */
    char sni[SBX_WIRE_TLS_SNI_TEXT];
    int has_sni;
    char alpn[256];
    int has_alpn;
    char tls_error[192];
    int http_answered;
    struct fn_fwdconn *fw;      /* FN_FWD: the host side */
};

struct sbx_fnet {
    size_t flow_cap, run_cap, run_used, buf_cap;
    uint64_t t0;
    sbx_event_fn fn;
    void *ctx;
    sbx_fnet_mksock_fn mk;
    void *mkctx;
    int ep;
    struct fn_handle timer;
    int timer_armed;
    struct fn_port ports[FN_MAX_PORTS];
    int nports;
    struct fn_busy busy[FN_BUSY];
    int busy_next;
    struct fn_conn *conns[FN_MAX_CONNS];
    int nconns;
    struct fn_flow *flows;
    size_t nflows, flow_next;
    uint64_t next_id;
    char **names;
    size_t nnames;
    int32_t *name_slots;
    struct tlsmitm *mitm;
    /* scratch (one event at a time) */
    struct sbx_wire_tls_hello *hello;
    struct sbx_wire_http_request *req;
    uint8_t *body;              /* flow_cap bytes: a decoded HTTP body */
    uint8_t io[65536];          /* a read or a datagram */
    uint8_t out[4096];          /* a DNS reply */
    char method[4 * SBX_WIRE_HTTP_MAX_METHOD + 1], target[8192], host[1024], headers[16384];
    char answer[SBX_WIRE_DNS_TEXT_MAX + 32], rname[SBX_WIRE_DNS_TEXT_MAX + 16], detail[256];
    struct fn_fwd fwd[FN_MAX_FWD];
    int nfwd;
    uint64_t fwd_cap, fwd_used;  /* bytes forwarded both ways while forward mode is on */
    int said_names, said_flows, said_ports, said_conns, said_run, said_fwd;
    unsigned malformed_notes;
};

/* fakenet.c */
void fn_emit(struct sbx_fnet *f, struct sbx_event *ev);
void fn_note(struct sbx_fnet *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fn_note_once(struct sbx_fnet *f, int *said, const char *what);
int fn_ep_from_sa(const void *sa, size_t len, struct fn_ep *e);
void fn_ep_to_sbx(const struct fn_ep *e, struct sbx_sockaddr *out);
int fn_ep_eq(const struct fn_ep *a, const struct fn_ep *b);
/* Index of a (lower-cased) name, added when new; -1 when the table is full. */
int fn_name_index(struct sbx_fnet *f, const char *name);
void fn_name_addr(int idx, uint8_t a[4]);
/* The name our DNS gave this address, or NULL. */
const char *fn_name_of(const struct sbx_fnet *f, const struct fn_ep *e);
/* The flow whose package-side endpoint is `local` (newest first), or NULL. */
const struct fn_flow *fn_flow_find(const struct sbx_fnet *f, int type, const struct fn_ep *local);
int fn_watch(struct sbx_fnet *f, struct fn_handle *h, unsigned events, int op);

/* fakenet_dns.c: answer one parsed query (fills f->out, *out_len, and f->answer for the event). */
int fn_dns_reply(struct sbx_fnet *f, const struct sbx_wire_dns_query *q,
                 enum sbx_wire_dns_transport tr, size_t *out_len);
/* A FORMERR reply for a malformed UDP query (0 when the bytes do not allow one). */
size_t fn_dns_formerr(const uint8_t *msg, size_t len, uint8_t *out, size_t cap);
void fn_dns_event(struct sbx_fnet *f, const struct sbx_wire_dns_query *q, const char *transport,
                  const struct fn_ep *peer);

/* fakenet_sink.c */
void fn_accept(struct sbx_fnet *f, struct fn_port *p);
void fn_udp_read(struct sbx_fnet *f, struct fn_port *p);
void fn_conn_event(struct sbx_fnet *f, struct fn_conn *c, unsigned events);
/* Finish connections idle since before now - FN_IDLE_MS (UINT64_MAX: all of them). */
void fn_conns_idle(struct sbx_fnet *f, uint64_t now);
void fn_conns_reap(struct sbx_fnet *f);      /* free the finished ones */
void fn_conns_close_all(struct sbx_fnet *f); /* without events (teardown) */
void fn_conn_close(struct sbx_fnet *f, struct fn_conn *c);

/* fakenet_fwd.c */
/* The forward target for a connection to `local`, or -1. */
int fn_fwd_match(const struct sbx_fnet *f, const struct fn_ep *local);
/* Take an accepted connection as forwarded to target i (it is closed, with an event, when the
 * host connection cannot be made). */
void fn_fwd_start(struct sbx_fnet *f, struct fn_conn *c, int i);
/* Bytes moved on either side; up: the event came from the host socket. */
void fn_fwd_event(struct sbx_fnet *f, struct fn_conn *c, int up, unsigned events);
/* End a forwarded connection now (why: NULL when both sides closed), with its event. */
void fn_fwd_finish(struct sbx_fnet *f, struct fn_conn *c, const char *why);
void fn_fwd_free(struct fn_conn *c);   /* without an event (teardown) */

#endif
