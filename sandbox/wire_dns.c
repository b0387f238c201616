/* wire_dns.c — DNS query parser, response builder and response checker (contract: wire.h). */
#include <string.h>

#include "wire.h"
#include "wire_reader.h"

enum {
    FLAG_QR = 0x8000, FLAG_TC = 0x0200, FLAG_RD = 0x0100, FLAG_RA = 0x0080,
    FLAG_CD = 0x0010,
    CLASS_IN = 1,
    MAX_POINTER_HOPS = 127,
    TXT_MAX = 4096,
    RDATA_MAX = TXT_MAX + TXT_MAX / 255 + 1,   /* TXT data plus one length byte per string */
    TCP_MAX = 65535,
};

/* ---- Query ------------------------------------------------------------------------------ */

struct header {
    uint16_t id, flags, qd, an, ns, ar;
};

static int read_header(struct reader *r, struct header *h)
{
    return rd_u16(r, &h->id) | rd_u16(r, &h->flags) | rd_u16(r, &h->qd) | rd_u16(r, &h->an) |
           rd_u16(r, &h->ns) | rd_u16(r, &h->ar);
}

/* Append one label's escaped text (and its leading dot) to the query's name. */
static int append_label_text(struct sbx_wire_dns_query *q, const uint8_t *label, uint8_t len)
{
    size_t room = sizeof q->name - q->name_len;
    if (q->labels > 0) {
        if (room < 2) return -1;
        q->name[q->name_len++] = '.';
        room--;
    }
    size_t n = sbx_wire_escape(label, len, SBX_WIRE_ESCAPE_DOT, q->name + q->name_len, room);
    if (n >= room) return -1;
    q->name_len += n;
    return 0;
}

/* The question name: length-prefixed labels only. Queries never need compression, and refusing
 * pointers here removes every loop and out-of-order read from the query path. */
static int read_question_name(struct reader *r, struct sbx_wire_dns_query *q)
{
    q->qname_wire_len = 0;
    q->name_len = 0;
    q->labels = 0;
    for (;;) {
        uint8_t len;
        const uint8_t *label;
        if (rd_u8(r, &len) < 0) return -1;
        if (len & 0xC0) return -1;                        /* pointer or reserved label type */
        if (len == 0) break;
        if (q->qname_wire_len + 1 + len + 1 > SBX_WIRE_DNS_NAME_MAX) return -1;   /* + root */
        if (rd_bytes(r, len, &label) < 0) return -1;
        q->qname_wire[q->qname_wire_len++] = len;
        memcpy(q->qname_wire + q->qname_wire_len, label, len);
        q->qname_wire_len += len;
        if (append_label_text(q, label, len) < 0) return -1;
        q->labels++;
    }
    q->qname_wire[q->qname_wire_len++] = 0;
    if (q->labels == 0) q->name[q->name_len++] = '.';
    q->name[q->name_len] = '\0';
    return 0;
}

/* The only additional record a query may carry: EDNS OPT with the root as owner. */
static int read_opt_record(struct reader *r, struct sbx_wire_dns_query *q)
{
    uint8_t owner;
    uint16_t type, udp_size, rdlen;
    uint32_t ttl;
    const uint8_t *rdata;
    if (rd_u8(r, &owner) < 0 || owner != 0) return -1;
    if (rd_u16(r, &type) < 0 || type != SBX_WIRE_DNS_OPT) return -1;
    if (rd_u16(r, &udp_size) | rd_u32(r, &ttl) | rd_u16(r, &rdlen)) return -1;
    if (rd_bytes(r, rdlen, &rdata) < 0) return -1;      /* options: skipped, never read */
    q->has_edns = 1;
    q->edns_udp_size = udp_size < SBX_WIRE_DNS_UDP_PLAIN ? SBX_WIRE_DNS_UDP_PLAIN : udp_size;
    q->edns_do = (ttl & 0x8000) != 0;
    return 0;
}

sbx_wire_result sbx_wire_dns_parse_query(const uint8_t *msg, size_t len,
                                         struct sbx_wire_dns_query *q)
{
    struct reader r = {msg, len, 0};
    struct header h;
    memset(q, 0, sizeof *q);
    if (read_header(&r, &h) < 0) return SBX_WIRE_MALFORMED;
    if (h.flags & FLAG_QR) return SBX_WIRE_MALFORMED;      /* a response, not a query */
    if (h.qd != 1 || h.an != 0 || h.ns != 0 || h.ar > 1) return SBX_WIRE_MALFORMED;
    q->id = h.id;
    q->opcode = (uint8_t)(h.flags >> 11 & 0xF);
    q->rd = (h.flags & FLAG_RD) != 0;
    q->cd = (h.flags & FLAG_CD) != 0;
    if (read_question_name(&r, q) < 0) return SBX_WIRE_MALFORMED;
    if (rd_u16(&r, &q->qtype) | rd_u16(&r, &q->qclass)) return SBX_WIRE_MALFORMED;
    if (h.ar == 1 && read_opt_record(&r, q) < 0) return SBX_WIRE_MALFORMED;
    if (r.off != len) return SBX_WIRE_MALFORMED;           /* trailing bytes */
    return SBX_WIRE_OK;
}

sbx_wire_result sbx_wire_dns_parse_query_tcp(const uint8_t *buf, size_t len,
                                             struct sbx_wire_dns_query *q, size_t *consumed)
{
    *consumed = 0;
    if (len < 2) return SBX_WIRE_NEED_MORE;
    size_t msg_len = (size_t)buf[0] << 8 | buf[1];
    if (msg_len < SBX_WIRE_DNS_HEADER) return SBX_WIRE_MALFORMED;
    if (len - 2 < msg_len) return SBX_WIRE_NEED_MORE;
    sbx_wire_result res = sbx_wire_dns_parse_query(buf + 2, msg_len, q);
    if (res == SBX_WIRE_OK) *consumed = 2 + msg_len;
    return res;
}

/* ---- Response builder ------------------------------------------------------------------- */

/* Writes never pass cap; an overflow is remembered and checked once at the end. */
struct writer {
    uint8_t *p;
    size_t cap, off;
    int overflow;
};

static void wr_bytes(struct writer *w, const void *b, size_t n)
{
    if (w->overflow || n > w->cap - w->off) {
        w->overflow = 1;
        return;
    }
    memcpy(w->p + w->off, b, n);
    w->off += n;
}

static void wr_u8(struct writer *w, unsigned v)
{
    uint8_t b = (uint8_t)v;
    wr_bytes(w, &b, 1);
}

static void wr_u16(struct writer *w, unsigned v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    wr_bytes(w, b, 2);
}

static void wr_u32(struct writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    wr_bytes(w, b, 4);
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* One character of dotted text at s[*i]: an escape ("\DDD" or "\X") or a plain byte.
 * *is_dot is set for an unescaped '.'. */
static int next_text_byte(const char *s, size_t *i, uint8_t *b, int *is_dot)
{
    *is_dot = 0;
    if (s[*i] != '\\') {
        *is_dot = s[*i] == '.';
        *b = (uint8_t)s[(*i)++];
        return 0;
    }
    if (s[*i + 1] == '\0') return -1;
    if (is_digit(s[*i + 1])) {
        if (!is_digit(s[*i + 2]) || !is_digit(s[*i + 3])) return -1;
        unsigned v = (unsigned)(s[*i + 1] - '0') * 100 + (unsigned)(s[*i + 2] - '0') * 10 +
                     (unsigned)(s[*i + 3] - '0');
        if (v > 255) return -1;
        *b = (uint8_t)v;
        *i += 4;
        return 0;
    }
    *b = (uint8_t)s[*i + 1];
    *i += 2;
    return 0;
}

/* Dotted text → uncompressed wire name in out[SBX_WIRE_DNS_NAME_MAX]. */
static int encode_name(const char *text, uint8_t *out, size_t *out_len)
{
    size_t o = 0, label_start = 0, i = 0;
    if (strcmp(text, ".") == 0) text = "";
    out[o++] = 0;                        /* length byte of the first label, filled in below */
    while (text[i] != '\0') {
        uint8_t b;
        int is_dot;
        if (next_text_byte(text, &i, &b, &is_dot) < 0) return -1;
        size_t label_len = o - label_start - 1;
        if (is_dot) {
            if (label_len == 0) return -1;                  /* empty label */
            if (text[i] == '\0') break;                     /* final dot */
            if (o + 1 >= SBX_WIRE_DNS_NAME_MAX) return -1;
            label_start = o;
            out[o++] = 0;
            continue;
        }
        if (label_len >= SBX_WIRE_DNS_LABEL_MAX || o + 1 >= SBX_WIRE_DNS_NAME_MAX) return -1;
        out[o++] = b;
        out[label_start] = (uint8_t)(label_len + 1);
    }
    if (o - label_start - 1 > 0) out[o++] = 0;              /* the root after the last label */
    *out_len = o;
    return 0;
}

static int encode_txt(const struct sbx_wire_dns_answer *a, uint8_t *rdata, size_t *len)
{
    size_t o = 0, left = a->u.txt.len;
    const uint8_t *p = a->u.txt.data;
    if (left > TXT_MAX || (left > 0 && p == NULL)) return -1;
    do {                                  /* an empty TXT is one empty string */
        size_t n = left > 255 ? 255 : left;
        rdata[o++] = (uint8_t)n;
        if (n) memcpy(rdata + o, p, n);
        o += n;
        p += n;
        left -= n;
    } while (left > 0);
    *len = o;
    return 0;
}

/* Encode the answer's RDATA; a NULL name means the question's own. */
static int encode_rdata(const struct sbx_wire_dns_query *q, const struct sbx_wire_dns_answer *a,
                        uint8_t *rdata, size_t *len)
{
    const char *name;
    switch (a->type) {
    case SBX_WIRE_DNS_A:
        memcpy(rdata, a->u.a, 4);
        *len = 4;
        return 0;
    case SBX_WIRE_DNS_AAAA:
        memcpy(rdata, a->u.aaaa, 16);
        *len = 16;
        return 0;
    case SBX_WIRE_DNS_TXT:
        return encode_txt(a, rdata, len);
    case SBX_WIRE_DNS_MX:
        rdata[0] = (uint8_t)(a->u.mx.preference >> 8);
        rdata[1] = (uint8_t)a->u.mx.preference;
        name = a->u.mx.exchange;
        if (name == NULL) {
            memcpy(rdata + 2, q->qname_wire, q->qname_wire_len);
            *len = 2 + q->qname_wire_len;
            return 0;
        }
        if (encode_name(name, rdata + 2, len) < 0) return -1;
        *len += 2;
        return 0;
    case SBX_WIRE_DNS_CNAME:
    case SBX_WIRE_DNS_NS:
    case SBX_WIRE_DNS_PTR:
        if (a->u.target == NULL) {
            memcpy(rdata, q->qname_wire, q->qname_wire_len);
            *len = q->qname_wire_len;
            return 0;
        }
        return encode_name(a->u.target, rdata, len);
    default:
        return -1;
    }
}

/* The largest UDP reply the requester accepts. */
static size_t udp_limit(const struct sbx_wire_dns_query *q)
{
    if (!q->has_edns) return SBX_WIRE_DNS_UDP_PLAIN;
    return q->edns_udp_size < SBX_WIRE_DNS_EDNS_SIZE ? q->edns_udp_size : SBX_WIRE_DNS_EDNS_SIZE;
}

static void write_message(struct writer *w, const struct sbx_wire_dns_query *q,
                          const struct sbx_wire_dns_answer *a, const uint8_t *rdata,
                          size_t rdata_len, int truncated)
{
    unsigned flags = FLAG_QR | (unsigned)q->opcode << 11 | FLAG_RA | a->rcode;
    int with_answer = a->type != 0 && !truncated;
    if (q->rd) flags |= FLAG_RD;
    if (q->cd) flags |= FLAG_CD;
    if (truncated) flags |= FLAG_TC;
    wr_u16(w, q->id);
    wr_u16(w, flags);
    wr_u16(w, 1);
    wr_u16(w, with_answer ? 1 : 0);
    wr_u16(w, 0);
    wr_u16(w, q->has_edns ? 1 : 0);
    wr_bytes(w, q->qname_wire, q->qname_wire_len);
    wr_u16(w, q->qtype);
    wr_u16(w, q->qclass);
    if (with_answer) {
        wr_u16(w, 0xC000 | SBX_WIRE_DNS_HEADER);      /* owner: pointer to the question name */
        wr_u16(w, a->type);
        wr_u16(w, CLASS_IN);
        wr_u32(w, a->ttl);
        wr_u16(w, (unsigned)rdata_len);
        wr_bytes(w, rdata, rdata_len);
    }
    if (q->has_edns) {                                 /* RFC 6891: answer EDNS with EDNS */
        wr_u8(w, 0);
        wr_u16(w, SBX_WIRE_DNS_OPT);
        wr_u16(w, SBX_WIRE_DNS_EDNS_SIZE);
        wr_u32(w, 0);
        wr_u16(w, 0);
    }
}

static int question_is_sane(const struct sbx_wire_dns_query *q)
{
    return q->qname_wire_len >= 1 && q->qname_wire_len <= SBX_WIRE_DNS_NAME_MAX &&
           q->opcode <= 15;
}

int sbx_wire_dns_build_response(const struct sbx_wire_dns_query *q,
                                const struct sbx_wire_dns_answer *ans,
                                enum sbx_wire_dns_transport transport,
                                uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t rdata[RDATA_MAX];
    size_t rdata_len = 0;
    size_t prefix = transport == SBX_WIRE_DNS_TCP ? 2 : 0;
    *out_len = 0;
    if (!question_is_sane(q) || ans->rcode > 15 || ans->ttl > 0x7FFFFFFF) return -1;
    if (ans->type != 0 && encode_rdata(q, ans, rdata, &rdata_len) < 0) return -1;
    if (cap < prefix) return -1;
    size_t limit = transport == SBX_WIRE_DNS_TCP ? TCP_MAX : udp_limit(q);
    struct writer w = {out + prefix, cap - prefix < limit ? cap - prefix : limit, 0, 0};
    write_message(&w, q, ans, rdata, rdata_len, 0);
    if (w.overflow && transport == SBX_WIRE_DNS_UDP) {
        w.off = 0;                       /* too big to send: header + question with TC */
        w.overflow = 0;
        write_message(&w, q, ans, rdata, rdata_len, 1);
    }
    if (w.overflow) return -1;
    if (prefix) {
        out[0] = (uint8_t)(w.off >> 8);
        out[1] = (uint8_t)w.off;
    }
    *out_len = prefix + w.off;
    return 0;
}

/* ---- Response checker ------------------------------------------------------------------- */

/* Skip a name in a full message, following compression pointers: each must point before
 * itself, and at most MAX_POINTER_HOPS are followed, so a loop cannot spin. */
static int skip_name(struct reader *r)
{
    size_t pos = r->off, name_len = 1, hops = 0;
    int jumped = 0;
    for (;;) {
        if (pos >= r->len) return -1;
        uint8_t len = r->p[pos];
        if ((len & 0xC0) == 0xC0) {
            if (pos + 1 >= r->len || ++hops > MAX_POINTER_HOPS) return -1;
            size_t target = (size_t)(len & 0x3F) << 8 | r->p[pos + 1];
            if (target >= pos) return -1;
            if (!jumped) r->off = pos + 2;
            jumped = 1;
            pos = target;
            continue;
        }
        if (len & 0xC0) return -1;
        if (len == 0) break;
        name_len += (size_t)len + 1;
        if (name_len > SBX_WIRE_DNS_NAME_MAX || r->len - pos - 1 < len) return -1;
        pos += (size_t)len + 1;
    }
    if (!jumped) r->off = pos + 1;
    return 0;
}

static int skip_record(struct reader *r)
{
    uint16_t type, class, rdlen;
    uint32_t ttl;
    const uint8_t *rdata;
    if (skip_name(r) < 0) return -1;
    if (rd_u16(r, &type) | rd_u16(r, &class) | rd_u32(r, &ttl) | rd_u16(r, &rdlen)) return -1;
    return rd_bytes(r, rdlen, &rdata);
}

sbx_wire_result sbx_wire_dns_check_response(const uint8_t *msg, size_t len,
                                            struct sbx_wire_dns_response_info *info)
{
    struct reader r = {msg, len, 0};
    struct header h;
    memset(info, 0, sizeof *info);
    if (read_header(&r, &h) < 0) return SBX_WIRE_MALFORMED;
    info->id = h.id;
    info->qr = (h.flags & FLAG_QR) != 0;
    info->tc = (h.flags & FLAG_TC) != 0;
    info->rd = (h.flags & FLAG_RD) != 0;
    info->ra = (h.flags & FLAG_RA) != 0;
    info->opcode = (uint8_t)(h.flags >> 11 & 0xF);
    info->rcode = (uint8_t)(h.flags & 0xF);
    info->qdcount = h.qd;
    info->ancount = h.an;
    info->nscount = h.ns;
    info->arcount = h.ar;
    for (unsigned i = 0; i < h.qd; i++) {
        uint16_t type, class;
        if (skip_name(&r) < 0 || (rd_u16(&r, &type) | rd_u16(&r, &class))) return SBX_WIRE_MALFORMED;
    }
    unsigned records = (unsigned)h.an + h.ns + h.ar;
    for (unsigned i = 0; i < records; i++)
        if (skip_record(&r) < 0) return SBX_WIRE_MALFORMED;
    return r.off == len ? SBX_WIRE_OK : SBX_WIRE_MALFORMED;
}
