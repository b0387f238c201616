/* wire_tls.c — TLS ClientHello parser: record reassembly, SNI, ALPN, supported_versions
 * (contract: wire.h). Each vector is read with its length checked against its parent. */
#include <string.h>

#include "wire.h"
#include "wire_reader.h"

enum {
    CT_HANDSHAKE = 22,
    HS_CLIENT_HELLO = 1,
    RECORD_HEADER = 5,
    HS_HEADER = 4,
    EXT_SERVER_NAME = 0,
    EXT_ALPN = 16,
    EXT_SUPPORTED_VERSIONS = 43,
    SNI_HOST_NAME = 0,
    SNI_RAW_MAX = 255,
    TLS13 = 0x0304,
    SSL2_CLIENT_HELLO = 1,
};

typedef sbx_wire_result result;

/* TLS lengths and codes are read into size_t. */
static int rd_size8(struct reader *r, size_t *v)
{
    uint8_t b;
    if (rd_u8(r, &b) < 0) return -1;
    *v = b;
    return 0;
}

static int rd_size16(struct reader *r, size_t *v)
{
    uint16_t b;
    if (rd_u16(r, &b) < 0) return -1;
    *v = b;
    return 0;
}

/* A vector with an 8- or 16-bit length prefix, as a sub-reader. */
static int rd_vector(struct reader *r, int len_bytes, size_t min, size_t max, struct reader *sub)
{
    size_t n;
    const uint8_t *b;
    if ((len_bytes == 1 ? rd_size8(r, &n) : rd_size16(r, &n)) < 0) return -1;
    if (n < min || n > max || rd_bytes(r, n, &b) < 0) return -1;
    sub->p = b;
    sub->len = n;
    sub->off = 0;
    return 0;
}

static int rd_done(const struct reader *r)
{
    return r->off == r->len;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

/* ---- Extensions ------------------------------------------------------------------------- */

static int is_host_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

/* Dot-separated labels of 1..63 host characters, 253 bytes at most, no final dot. */
static int sni_is_plausible(const uint8_t *s, size_t n)
{
    size_t label = 0;
    if (n == 0 || n > 253) return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (label == 0) return 0;
            label = 0;
        } else if (!is_host_char(s[i]) || ++label > 63) {
            return 0;
        }
    }
    return label > 0;
}

/* server_name: a list of (type, name); exactly one host_name, of 1..255 bytes. */
static int read_server_name(struct reader *ext, struct sbx_wire_tls_hello *h)
{
    struct reader list;
    if (rd_vector(ext, 2, 1, 0xFFFF, &list) < 0 || !rd_done(ext)) return -1;
    while (!rd_done(&list)) {
        size_t type;
        struct reader name;
        if (rd_size8(&list, &type) < 0 || rd_vector(&list, 2, 1, 0xFFFF, &name) < 0) return -1;
        if (type != SNI_HOST_NAME) continue;
        if (h->has_sni || name.len > SNI_RAW_MAX) return -1;
        h->has_sni = 1;
        h->sni_plausible = sni_is_plausible(name.p, name.len);
        h->sni_len = sbx_wire_escape(name.p, name.len, 0, h->sni, sizeof h->sni);
        if (h->sni_len >= sizeof h->sni) return -1;        /* cannot happen: 4*255+1 fits */
    }
    return 0;
}

static int read_alpn(struct reader *ext, struct sbx_wire_tls_hello *h)
{
    struct reader list;
    if (rd_vector(ext, 2, 2, 0xFFFF, &list) < 0 || !rd_done(ext)) return -1;
    while (!rd_done(&list)) {
        struct reader name;
        if (rd_vector(&list, 1, 1, 0xFF, &name) < 0) return -1;
        if (h->nalpn == SBX_WIRE_TLS_MAX_ALPN) {
            h->alpn_truncated = 1;
            continue;
        }
        h->alpn[h->nalpn].p = (const char *)name.p;
        h->alpn[h->nalpn].len = name.len;
        h->nalpn++;
    }
    return 0;
}

static int is_grease(size_t v)
{
    return (v & 0x0F0F) == 0x0A0A && (v >> 8) == (v & 0xFF);
}

static int read_supported_versions(struct reader *ext, struct sbx_wire_tls_hello *h)
{
    struct reader list;
    if (rd_vector(ext, 1, 2, 254, &list) < 0 || !rd_done(ext) || list.len % 2) return -1;
    h->has_supported_versions = 1;
    while (!rd_done(&list)) {
        size_t v;
        if (rd_size16(&list, &v) < 0) return -1;
        if (v == TLS13) h->tls13 = 1;
        if (!is_grease(v) && v > h->max_version) h->max_version = (uint16_t)v;
    }
    return 0;
}

/* One bit per extension type: RFC 8446 forbids sending a type twice. */
struct seen_set {
    uint8_t bits[65536 / 8];
};

static int seen_before(struct seen_set *s, size_t type)
{
    uint8_t mask = (uint8_t)(1u << (type & 7));
    int seen = (s->bits[type >> 3] & mask) != 0;
    s->bits[type >> 3] |= mask;
    return seen;
}

static int read_extensions(struct reader *r, struct sbx_wire_tls_hello *h)
{
    struct seen_set seen;
    struct reader all;
    memset(&seen, 0, sizeof seen);
    if (rd_done(r)) return 0;                       /* TLS <= 1.2 may omit extensions */
    if (rd_vector(r, 2, 0, 0xFFFF, &all) < 0 || !rd_done(r)) return -1;
    while (!rd_done(&all)) {
        size_t type;
        struct reader ext;
        if (rd_size16(&all, &type) < 0 || rd_vector(&all, 2, 0, 0xFFFF, &ext) < 0) return -1;
        if (seen_before(&seen, type)) return -1;
        h->nextensions++;
        int rc = 0;
        if (type == EXT_SERVER_NAME) rc = read_server_name(&ext, h);
        else if (type == EXT_ALPN) rc = read_alpn(&ext, h);
        else if (type == EXT_SUPPORTED_VERSIONS) rc = read_supported_versions(&ext, h);
        if (rc < 0) return -1;
    }
    return 0;
}

/* ClientHello body (RFC 8446 4.1.2): every vector's bounds as the RFC states them. */
static result parse_hello_body(const uint8_t *body, size_t len, struct sbx_wire_tls_hello *h)
{
    struct reader r = {body, len, 0}, v;
    size_t version;
    const uint8_t *random;
    if (rd_size16(&r, &version) < 0 || rd_bytes(&r, 32, &random) < 0) return SBX_WIRE_MALFORMED;
    if (rd_vector(&r, 1, 0, 32, &v) < 0) return SBX_WIRE_MALFORMED;            /* session id */
    if (rd_vector(&r, 2, 2, 0xFFFE, &v) < 0 || v.len % 2) return SBX_WIRE_MALFORMED;
    if (rd_vector(&r, 1, 1, 0xFF, &v) < 0) return SBX_WIRE_MALFORMED;          /* compression */
    h->legacy_version = (uint16_t)version;
    if (read_extensions(&r, h) < 0) return SBX_WIRE_MALFORMED;
    if (h->max_version == 0 || !h->has_supported_versions) h->max_version = h->legacy_version;
    return SBX_WIRE_OK;
}

/* ---- Records ---------------------------------------------------------------------------- */

/* SSLv2-compatible hello: 2-byte length with the top bit set, then message type 1. */
static result classify_first_byte(const uint8_t *buf, size_t len)
{
    if (buf[0] == CT_HANDSHAKE) return SBX_WIRE_OK;
    if (!(buf[0] & 0x80)) return SBX_WIRE_NOT_PROTO;
    if (len < 3) return SBX_WIRE_NEED_MORE;
    return buf[2] == SSL2_CLIENT_HELLO ? SBX_WIRE_UNSUPPORTED : SBX_WIRE_NOT_PROTO;
}

/* Check the record header at pos. The first record decides "TLS or not"; a wrong later one
 * is a broken stream. */
static result check_record_header(const uint8_t *rec, int first, size_t *rlen)
{
    int ok_type = rec[0] == CT_HANDSHAKE, ok_major = rec[1] == 3;
    if (!ok_type || !ok_major) return first ? SBX_WIRE_NOT_PROTO : SBX_WIRE_MALFORMED;
    if (rec[2] > 4) return SBX_WIRE_MALFORMED;
    *rlen = be16(rec + 3);
    if (*rlen == 0 || *rlen > SBX_WIRE_TLS_MAX_RECORD) return SBX_WIRE_MALFORMED;
    return SBX_WIRE_OK;
}

/* Once the handshake header is in: OK when the message is complete, NEED_MORE otherwise. */
static result hello_progress(const struct sbx_wire_tls_hello *h, size_t *total)
{
    if (h->msg_len < HS_HEADER) return SBX_WIRE_NEED_MORE;
    if (h->msg[0] != HS_CLIENT_HELLO) return SBX_WIRE_MALFORMED;
    *total = HS_HEADER + ((size_t)h->msg[1] << 16 | (size_t)h->msg[2] << 8 | h->msg[3]);
    if (*total > SBX_WIRE_TLS_MAX_HELLO) return SBX_WIRE_TOO_LARGE;
    return h->msg_len >= *total ? SBX_WIRE_OK : SBX_WIRE_NEED_MORE;
}

/* Append whole records' payloads to h->msg until the ClientHello is complete. */
static result reassemble(const uint8_t *buf, size_t len, struct sbx_wire_tls_hello *h,
                         size_t *total)
{
    size_t pos = 0;
    for (;;) {
        size_t rlen;
        if (len - pos < RECORD_HEADER) return SBX_WIRE_NEED_MORE;
        result r = check_record_header(buf + pos, pos == 0, &rlen);
        if (r != SBX_WIRE_OK) return r;
        if (pos == 0) h->record_version = be16(buf + 1);
        if (len - pos - RECORD_HEADER < rlen) return SBX_WIRE_NEED_MORE;
        size_t room = sizeof h->msg - h->msg_len;
        size_t take = rlen < room ? rlen : room;
        memcpy(h->msg + h->msg_len, buf + pos + RECORD_HEADER, take);
        h->msg_len += take;
        pos += RECORD_HEADER + rlen;
        r = hello_progress(h, total);
        if (r != SBX_WIRE_NEED_MORE) {
            h->consumed = pos;
            return r;
        }
    }
}

sbx_wire_result sbx_wire_tls_parse_client_hello(const uint8_t *buf, size_t len,
                                                struct sbx_wire_tls_hello *h)
{
    size_t total = 0;
    memset(h, 0, offsetof(struct sbx_wire_tls_hello, msg));
    h->msg_len = 0;
    if (len == 0) return SBX_WIRE_NEED_MORE;
    result r = classify_first_byte(buf, len);
    if (r != SBX_WIRE_OK) return r;
    r = reassemble(buf, len, h, &total);
    if (r != SBX_WIRE_OK) return r;
    return parse_hello_body(h->msg + HS_HEADER, total - HS_HEADER, h);
}
