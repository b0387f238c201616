/* wire_http.c — stateless HTTP/1.x request parser and query-string decoder (contract: wire.h).
 *
 * Every call parses from the first byte. Each step returns OK (done, *pos advanced) or the
 * result the whole parse should return. Framing is strict on purpose: whatever a lenient proxy
 * and a strict server could read differently (bare LF, obs-fold, CL/TE combinations, space
 * before ':') is either refused or flagged, so what we record is what a server would see. */
#include <string.h>

#include "wire.h"

enum { MAX_CHUNK_HEX = 16, MAX_VERSION = 10 /* "HTTP/1.1\r\n" */ };

typedef sbx_wire_result result;

/* ---- Character classes (RFC 9110 5.6.2) ------------------------------------------------- */

static int is_tchar(uint8_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_field_value_char(uint8_t c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7F);   /* VCHAR, SP, HTAB, obs-text */
}

static int is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int span_ieq(struct sbx_wire_span s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((uint8_t)s.p[i]) != lit[i]) return 0;
    return 1;
}

static struct sbx_wire_span span_of(const uint8_t *buf, size_t start, size_t end)
{
    struct sbx_wire_span s = {(const char *)buf + start, end - start};
    return s;
}

static struct sbx_wire_span span_trim(struct sbx_wire_span s)
{
    while (s.len > 0 && is_ows((uint8_t)s.p[0])) { s.p++; s.len--; }
    while (s.len > 0 && is_ows((uint8_t)s.p[s.len - 1])) s.len--;
    return s;
}

/* ---- Request line ----------------------------------------------------------------------- */

struct input {
    const uint8_t *p;
    size_t len;        /* bytes we may look at: min(received, the bound of what we parse) */
    int at_bound;      /* len was cut by the bound: running out of bytes is MALFORMED */
};

static result out_of_bytes(const struct input *in)
{
    return in->at_bound ? SBX_WIRE_MALFORMED : SBX_WIRE_NEED_MORE;
}

/* Method: a token of 1..32 bytes then SP; anything else cannot be HTTP/1.x at all. */
static result parse_method(const struct input *in, size_t *pos, struct sbx_wire_http_request *req)
{
    size_t i = 0;
    while (i < in->len && i < SBX_WIRE_HTTP_MAX_METHOD && is_tchar(in->p[i])) i++;
    if (i == in->len) return out_of_bytes(in);
    if (i == 0 || in->p[i] != ' ') return SBX_WIRE_NOT_PROTO;   /* also: a method over 32 */
    req->method = span_of(in->p, 0, i);
    *pos = i + 1;
    return SBX_WIRE_OK;
}

/* Target: visible ASCII only, then SP. */
static result parse_target(const struct input *in, size_t *pos, struct sbx_wire_http_request *req)
{
    size_t i = *pos;
    while (i < in->len && in->p[i] > 0x20 && in->p[i] < 0x7F) i++;
    if (i == in->len) return out_of_bytes(in);
    if (i == *pos || in->p[i] != ' ') return SBX_WIRE_MALFORMED;
    req->target = span_of(in->p, *pos, i);
    *pos = i + 1;
    return SBX_WIRE_OK;
}

/* "HTTP/1.0\r\n" or "HTTP/1.1\r\n", compared byte by byte as the bytes arrive: a wrong
 * "HTTP/" or major version means another protocol (e.g. the HTTP/2 preface). */
static result parse_version(const struct input *in, size_t *pos, struct sbx_wire_http_request *req)
{
    static const char want[MAX_VERSION + 1] = "HTTP/1.x\r\n";
    for (size_t k = 0; k < MAX_VERSION; k++) {
        if (*pos + k >= in->len) return out_of_bytes(in);
        uint8_t c = in->p[*pos + k];
        if (k == 7) {
            if (c != '0' && c != '1') return SBX_WIRE_MALFORMED;
            req->version_minor = c - '0';
        } else if (c != (uint8_t)want[k]) {
            return k < 6 ? SBX_WIRE_NOT_PROTO : SBX_WIRE_MALFORMED;
        }
    }
    *pos += MAX_VERSION;
    return SBX_WIRE_OK;
}

static result parse_request_line(const struct input *in, size_t *pos,
                                 struct sbx_wire_http_request *req)
{
    result r = parse_method(in, pos, req);
    if (r == SBX_WIRE_OK) r = parse_target(in, pos, req);
    if (r == SBX_WIRE_OK) r = parse_version(in, pos, req);
    return r;
}

/* CRLF at i: OK, or MALFORMED for anything else (a bare CR or LF), or out of bytes. */
static result expect_crlf(const struct input *in, size_t i)
{
    if (i >= in->len) return out_of_bytes(in);
    if (in->p[i] != '\r') return SBX_WIRE_MALFORMED;
    if (i + 1 >= in->len) return out_of_bytes(in);
    return in->p[i + 1] == '\n' ? SBX_WIRE_OK : SBX_WIRE_MALFORMED;
}

/* ---- Field lines (headers and trailers) ------------------------------------------------- */

/* At *pos: the blank line ending a field section (*end = 1), or one field line. */
static result parse_field_line(const struct input *in, size_t *pos, int *end,
                               struct sbx_wire_http_header *field)
{
    size_t i = *pos;
    *end = 0;
    if (i >= in->len) return out_of_bytes(in);
    if (in->p[i] == '\r') {
        result r = expect_crlf(in, i);
        if (r != SBX_WIRE_OK) return r;
        *pos = i + 2;
        *end = 1;
        return SBX_WIRE_OK;
    }
    while (i < in->len && is_tchar(in->p[i])) i++;     /* obs-fold (SP/HTAB first) fails here */
    if (i == in->len) return out_of_bytes(in);
    if (i == *pos || in->p[i] != ':') return SBX_WIRE_MALFORMED;
    field->name = span_of(in->p, *pos, i);
    size_t value_start = ++i;
    while (i < in->len && is_field_value_char(in->p[i])) i++;
    result r = expect_crlf(in, i);
    if (r != SBX_WIRE_OK) return r;
    field->value = span_trim(span_of(in->p, value_start, i));
    *pos = i + 2;
    return SBX_WIRE_OK;
}

static result parse_headers(const struct input *in, size_t *pos,
                            struct sbx_wire_http_request *req)
{
    for (;;) {
        struct sbx_wire_http_header field;
        int end;
        result r = parse_field_line(in, pos, &end, &field);
        if (r != SBX_WIRE_OK || end) return r;
        if (req->nheaders == SBX_WIRE_HTTP_MAX_HEADERS) return SBX_WIRE_MALFORMED;
        req->headers[req->nheaders++] = field;
    }
}

/* ---- Framing: Host, Content-Length, Transfer-Encoding ----------------------------------- */

/* Next element of a comma list in *s (trimmed; may be empty). Returns 0 when none is left. */
static int next_list_element(struct sbx_wire_span *s, struct sbx_wire_span *elem)
{
    if (s->p == NULL) return 0;
    const char *comma = memchr(s->p, ',', s->len);
    size_t n = comma ? (size_t)(comma - s->p) : s->len;
    elem->p = s->p;
    elem->len = n;
    *elem = span_trim(*elem);
    if (comma) {
        s->p = comma + 1;
        s->len -= n + 1;
    } else {
        s->p = NULL;
        s->len = 0;
    }
    return 1;
}

/* Digits only; below about 2^62, so sums with offsets cannot overflow. */
static int parse_decimal(struct sbx_wire_span s, uint64_t *v)
{
    if (s.len == 0) return -1;
    *v = 0;
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = (uint8_t)s.p[i];
        if (c < '0' || c > '9' || *v > (1ull << 62) / 10) return -1;   /* before it wraps */
        *v = *v * 10 + (uint64_t)(c - '0');
    }
    return 0;
}

struct framing {
    int has_cl, has_te, chunked_count, last_is_chunked, hosts;
    uint64_t cl;
};

/* Every value in a Content-Length list must be the same number, across all CL headers. */
static result add_content_length(struct framing *f, struct sbx_wire_span value)
{
    struct sbx_wire_span elem;
    int any = 0;
    while (next_list_element(&value, &elem)) {
        uint64_t v;
        if (parse_decimal(elem, &v) < 0) return SBX_WIRE_MALFORMED;
        if (f->has_cl && v != f->cl) return SBX_WIRE_MALFORMED;
        f->has_cl = 1;
        f->cl = v;
        any = 1;
    }
    return any ? SBX_WIRE_OK : SBX_WIRE_MALFORMED;
}

static int is_token(struct sbx_wire_span s)
{
    for (size_t i = 0; i < s.len; i++)
        if (!is_tchar((uint8_t)s.p[i])) return 0;
    return s.len > 0;
}

/* Codings in order over all TE headers; chunked must be the last one and appear once. */
static result add_transfer_encoding(struct framing *f, struct sbx_wire_span value)
{
    struct sbx_wire_span elem;
    while (next_list_element(&value, &elem)) {
        if (elem.len == 0) continue;                 /* empty list elements are allowed */
        if (!is_token(elem)) return SBX_WIRE_MALFORMED;
        f->last_is_chunked = span_ieq(elem, "chunked");
        f->chunked_count += f->last_is_chunked;
    }
    return SBX_WIRE_OK;
}

static result read_framing(struct sbx_wire_http_request *req)
{
    struct framing f = {0};
    for (size_t i = 0; i < req->nheaders; i++) {
        const struct sbx_wire_http_header *h = &req->headers[i];
        result r = SBX_WIRE_OK;
        if (span_ieq(h->name, "host")) {
            if (++f.hosts > 1) return SBX_WIRE_MALFORMED;
            req->host = h->value;
            req->has_host = 1;
        } else if (span_ieq(h->name, "content-length")) {
            r = add_content_length(&f, h->value);
        } else if (span_ieq(h->name, "transfer-encoding")) {
            f.has_te = 1;                  /* even when empty: then it names no chunked */
            r = add_transfer_encoding(&f, h->value);
        }
        if (r != SBX_WIRE_OK) return r;
    }
    if (f.has_te && (!f.last_is_chunked || f.chunked_count != 1)) return SBX_WIRE_MALFORMED;
    req->chunked = f.has_te;
    req->te_and_cl = f.has_te && f.has_cl;
    req->has_content_length = f.has_cl;
    req->content_length = f.cl;
    return SBX_WIRE_OK;
}

static void split_target(struct sbx_wire_http_request *req)
{
    const char *t = req->target.p;
    size_t n = req->target.len, q = n, end = n;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '#') { end = i; break; }
        if (t[i] == '?' && q == n) q = i;
    }
    if (q > end) q = end;
    req->path.p = t;
    req->path.len = q;
    req->query.p = t + (q < end ? q + 1 : q);
    req->query.len = q < end ? end - q - 1 : 0;
}

/* ---- Body ------------------------------------------------------------------------------- */

struct body_out {
    uint8_t *p;
    size_t cap, len;
};

/* Copy what fits; returns the bytes copied. */
static size_t body_append(struct body_out *b, const uint8_t *src, size_t n)
{
    size_t room = b->cap - b->len;
    if (n > room) n = room;
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
    return n;
}

static result read_length_body(const uint8_t *buf, size_t len, size_t pos, uint64_t cl,
                               struct body_out *b, size_t *consumed)
{
    size_t avail = len - pos;
    if (cl > b->cap) {                      /* record what we can; the caller decides */
        body_append(b, buf + pos, avail);
        return SBX_WIRE_TOO_LARGE;
    }
    if (avail < cl) return SBX_WIRE_NEED_MORE;
    body_append(b, buf + pos, (size_t)cl);
    *consumed = pos + (size_t)cl;
    return SBX_WIRE_OK;
}

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "HEX [BWS ; ext...] CRLF": at most 16 significant hex digits (no overflow, no sign); anything
 * after the digits but spaces and a ';' extension is refused; extensions are skipped but may
 * hold no control byte but HTAB; the line is bounded by the caller's input window. */
static result parse_chunk_size(const struct input *in, size_t *pos, uint64_t *size)
{
    size_t i = *pos, significant = 0;
    int h;
    *size = 0;
    while (i < in->len && (h = hex_value(in->p[i])) >= 0) {
        if (significant > 0 || h > 0) significant++;
        if (significant > MAX_CHUNK_HEX) return SBX_WIRE_MALFORMED;
        *size = *size << 4 | (uint64_t)h;
        i++;
    }
    if (i == *pos) return i == in->len ? out_of_bytes(in) : SBX_WIRE_MALFORMED;
    while (i < in->len && is_ows(in->p[i])) i++;        /* BWS before ';' */
    if (i == in->len) return out_of_bytes(in);
    if (in->p[i] == ';')                                 /* extensions: skipped, not read */
        while (i < in->len && is_field_value_char(in->p[i])) i++;
    result r = expect_crlf(in, i);
    if (r != SBX_WIRE_OK) return r;
    *pos = i + 2;
    return SBX_WIRE_OK;
}

/* The input window for one bounded line starting at pos. */
static struct input bounded_from(const uint8_t *buf, size_t len, size_t pos, size_t bound)
{
    struct input in = {buf, len, 0};
    if (len - pos > bound) {
        in.len = pos + bound;
        in.at_bound = 1;
    }
    return in;
}

static result skip_trailers(const uint8_t *buf, size_t len, size_t *pos)
{
    struct input in = bounded_from(buf, len, *pos, SBX_WIRE_HTTP_MAX_TRAILERS);
    for (;;) {
        struct sbx_wire_http_header field;
        int end;
        result r = parse_field_line(&in, pos, &end, &field);
        if (r != SBX_WIRE_OK || end) return r;
    }
}

static result read_chunked_body(const uint8_t *buf, size_t len, size_t pos, struct body_out *b,
                                size_t *consumed)
{
    for (;;) {
        struct input line = bounded_from(buf, len, pos, SBX_WIRE_HTTP_MAX_CHUNK_LINE);
        uint64_t size;
        result r = parse_chunk_size(&line, &pos, &size);
        if (r != SBX_WIRE_OK) return r;
        if (size == 0) break;
        size_t avail = len - pos;
        if (size > b->cap - b->len) {
            body_append(b, buf + pos, avail);
            return SBX_WIRE_TOO_LARGE;
        }
        if (avail < size) return SBX_WIRE_NEED_MORE;
        body_append(b, buf + pos, (size_t)size);
        pos += (size_t)size;
        if (len - pos < 2) return SBX_WIRE_NEED_MORE;
        if (buf[pos] != '\r' || buf[pos + 1] != '\n') return SBX_WIRE_MALFORMED;
        pos += 2;
    }
    result r = skip_trailers(buf, len, &pos);
    if (r == SBX_WIRE_OK) *consumed = pos;
    return r;
}

static result read_body(const uint8_t *buf, size_t len, struct sbx_wire_http_request *req,
                        struct body_out *b)
{
    size_t pos = req->head_len;
    if (req->chunked) return read_chunked_body(buf, len, pos, b, &req->consumed);
    if (req->has_content_length)
        return read_length_body(buf, len, pos, req->content_length, b, &req->consumed);
    req->consumed = pos;                    /* a request without either has no body */
    return SBX_WIRE_OK;
}

sbx_wire_result sbx_wire_http_parse(const uint8_t *buf, size_t len, uint8_t *body,
                                    size_t body_cap, struct sbx_wire_http_request *req)
{
    struct input head = bounded_from(buf, len, 0, SBX_WIRE_HTTP_MAX_HEAD);
    struct body_out b = {body, body_cap, 0};
    size_t pos = 0;
    memset(req, 0, sizeof *req);
    result r = parse_request_line(&head, &pos, req);
    if (r == SBX_WIRE_OK) r = parse_headers(&head, &pos, req);
    if (r != SBX_WIRE_OK) return r;
    req->head_len = pos;
    split_target(req);
    r = read_framing(req);
    if (r != SBX_WIRE_OK) return r;
    r = read_body(buf, len, req, &b);
    req->body = body;
    req->body_len = b.len;
    return r;
}

const struct sbx_wire_span *sbx_wire_http_header_get(const struct sbx_wire_http_request *req,
                                                     const char *name)
{
    for (size_t i = 0; i < req->nheaders && i < SBX_WIRE_HTTP_MAX_HEADERS; i++)
        if (span_ieq(req->headers[i].name, name)) return &req->headers[i].value;
    return NULL;
}

/* ---- Query strings ---------------------------------------------------------------------- */

/* Percent-decode s[0..n) into out (room for n + 1 bytes checked by the caller). */
static size_t percent_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && n - i > 2 && (hi = hex_value((uint8_t)s[i + 1])) >= 0 &&
                   (lo = hex_value((uint8_t)s[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return o;
}

sbx_wire_result sbx_wire_query_decode(const char *q, size_t len, char *out, size_t out_cap,
                                      struct sbx_wire_kv *pairs, size_t max_pairs,
                                      size_t *npairs)
{
    size_t o = 0, i = 0;
    *npairs = 0;
    while (i < len) {
        const char *amp = memchr(q + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - q) : len;
        if (end > i) {
            const char *eq = memchr(q + i, '=', end - i);
            size_t key_end = eq ? (size_t)(eq - q) : end;
            size_t value_start = eq ? key_end + 1 : end;
            if (*npairs == max_pairs || out_cap - o < (end - i) + 2) return SBX_WIRE_TOO_LARGE;
            struct sbx_wire_kv *kv = &pairs[(*npairs)++];
            kv->key = out + o;
            kv->key_len = percent_decode(q + i, key_end - i, out + o);
            o += kv->key_len + 1;
            kv->value = out + o;
            kv->value_len = percent_decode(q + value_start, end - value_start, out + o);
            o += kv->value_len + 1;
        }
        i = end + 1;
    }
    return SBX_WIRE_OK;
}
