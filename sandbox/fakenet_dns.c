/*
 * fakenet_dns.c — the fake internet's DNS answers. Never NXDOMAIN: every name exists.
 *   A     127.1.X.Y, one per name (same name, same address; case-insensitive)
 *   AAAA  ::ffff:127.1.X.Y (the same address, IPv4-mapped)
 *   ANY   as A
 *   MX    10 mail.<name>
 *   TXT   one empty string
 *   PTR   <name> for X.Y.1.127.in-addr.arpa of an address we gave, else NODATA
 *   other NODATA (CNAME included); opcode != QUERY: NOTIMP; class != IN: NODATA
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakenet_int.h"

/* "Y.X.1.127.in-addr.arpa" of one of our addresses: its name, else NULL. */
static const char *ptr_name(const struct sbx_fnet *f, const char *q)
{
    unsigned d[4];
    char tail[32];
    if (sscanf(q, "%3u.%3u.%3u.%3u.%24s", &d[0], &d[1], &d[2], &d[3], tail) != 5) return NULL;
    if (strcasecmp(tail, "in-addr.arpa") || d[0] > 255 || d[1] > 255 || d[2] > 255 || d[3] > 255)
        return NULL;
    struct fn_ep e = {.fam = 4};
    e.addr[0] = (uint8_t)d[3];
    e.addr[1] = (uint8_t)d[2];
    e.addr[2] = (uint8_t)d[1];
    e.addr[3] = (uint8_t)d[0];
    return fn_name_of(f, &e);
}

static void fill_answer(struct sbx_fnet *f, const struct sbx_wire_dns_query *q,
                        struct sbx_wire_dns_answer *a)
{
    memset(a, 0, sizeof *a);
    a->ttl = FN_DNS_TTL;
    a->rcode = SBX_WIRE_DNS_NOERROR;
    f->answer[0] = 0;
    if (q->opcode != 0) {
        a->rcode = SBX_WIRE_DNS_NOTIMP;
        return;
    }
    if (q->qclass != 1 || q->labels == 0) return;   /* NODATA */
    uint8_t v4[4];
    switch (q->qtype) {
    case SBX_WIRE_DNS_A:
    case SBX_WIRE_DNS_ANY:
    case SBX_WIRE_DNS_AAAA:
        fn_name_addr(fn_name_index(f, q->name), v4);
        if (q->qtype == SBX_WIRE_DNS_AAAA) {
            a->type = SBX_WIRE_DNS_AAAA;
            memset(a->u.aaaa, 0, sizeof a->u.aaaa);
            a->u.aaaa[10] = a->u.aaaa[11] = 0xff;
            memcpy(a->u.aaaa + 12, v4, 4);
            inet_ntop(AF_INET6, a->u.aaaa, f->answer, sizeof f->answer);
        } else {
            a->type = SBX_WIRE_DNS_A;
            memcpy(a->u.a, v4, 4);
            inet_ntop(AF_INET, v4, f->answer, sizeof f->answer);
        }
        return;
    case SBX_WIRE_DNS_MX:
        snprintf(f->rname, sizeof f->rname, "mail.%s", q->name);
        a->type = SBX_WIRE_DNS_MX;
        a->u.mx.preference = 10;
        a->u.mx.exchange = f->rname;
        snprintf(f->answer, sizeof f->answer, "10 %s", f->rname);
        return;
    case SBX_WIRE_DNS_TXT:
        a->type = SBX_WIRE_DNS_TXT;
        a->u.txt.data = (const uint8_t *)"";
        a->u.txt.len = 0;
        snprintf(f->answer, sizeof f->answer, "\"\"");
        return;
    case SBX_WIRE_DNS_PTR: {
        const char *name = ptr_name(f, q->name);
        if (!name) return;
        snprintf(f->rname, sizeof f->rname, "%s", name);
        a->type = SBX_WIRE_DNS_PTR;
        a->u.target = f->rname;
        snprintf(f->answer, sizeof f->answer, "%s", f->rname);
        return;
    }
    default:
        return;   /* NODATA */
    }
}

int fn_dns_reply(struct sbx_fnet *f, const struct sbx_wire_dns_query *q,
                 enum sbx_wire_dns_transport tr, size_t *out_len)
{
    struct sbx_wire_dns_answer a;
    fill_answer(f, q, &a);
    if (sbx_wire_dns_build_response(q, &a, tr, f->out, sizeof f->out, out_len) == 0) return 0;
    /* e.g. mail.<name> over 255 bytes: NODATA instead */
    memset(&a, 0, sizeof a);
    f->answer[0] = 0;
    return sbx_wire_dns_build_response(q, &a, tr, f->out, sizeof f->out, out_len);
}

size_t fn_dns_formerr(const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
    if (len < SBX_WIRE_DNS_HEADER || cap < SBX_WIRE_DNS_HEADER || (msg[2] & 0x80)) return 0;
    memset(out, 0, SBX_WIRE_DNS_HEADER);
    out[0] = msg[0];
    out[1] = msg[1];
    out[2] = (uint8_t)(0x80 | (msg[2] & 0x79));   /* QR, opcode and RD kept */
    out[3] = 0x80 | SBX_WIRE_DNS_FORMERR;         /* RA, FORMERR */
    return SBX_WIRE_DNS_HEADER;
}

void fn_dns_event(struct sbx_fnet *f, const struct sbx_wire_dns_query *q, const char *transport,
                  const struct fn_ep *peer)
{
    struct sbx_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SBX_EV_DNS;
    const struct fn_flow *fl = fn_flow_find(f, !strcmp(transport, "tcp") ? SOCK_STREAM : SOCK_DGRAM, peer);
    if (fl) {
        ev.pid = fl->pid;
        ev.conn_id = fl->id;
        fn_ep_to_sbx(&fl->dst, &ev.addr);
    }
    ev.dns.name = q->name;
    ev.dns.qtype = q->qtype;
    ev.dns.answer = f->answer;
    ev.dns.transport = transport;
    if (q->opcode != 0) ev.detail = "opcode not supported: NOTIMP";
    fn_emit(f, &ev);
}
