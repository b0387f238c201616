/*
 * canary.c — the canary matcher: one rolling-hash pass per buffer, breadth-first bounded
 * decodings (see canary.h for the list and the limits).
 */
#include "canary.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    RADIX_COUNT = 3,     /* base64, base32, hex */
    MAX_ALIGNMENTS = 8,  /* base32: 8 chars per 5 bytes */
    HASH_WINDOW = 16,    /* bytes hashed per position; <= CANARY_MIN_LEN */
    MAX_PENDING = 4096,  /* decoded buffers waiting to be scanned; a backstop, the budget binds first */
};
static const uint64_t HASH_BASE = 0x100000001b3ull;

/* ---- one pass over a buffer: all canaries at once ------------------------------------- */

struct slot {
    uint64_t hash;
    size_t idx1;   /* canary index + 1; 0 = empty */
};

struct matcher {
    const struct canary *c;
    size_t n;
    struct slot *table;
    size_t mask;
    uint64_t *seen_top;   /* bitmap of the top 16 hash bits of all canaries: most windows stop here */
    uint64_t top_power;   /* HASH_BASE^(HASH_WINDOW-1), to drop the byte leaving the window */
};

static uint64_t window_hash(const unsigned char *p)
{
    uint64_t h = 0;
    for (size_t i = 0; i < HASH_WINDOW; i++) h = h * HASH_BASE + p[i];
    return h;
}

static size_t slot_of(const struct matcher *m, uint64_t h) { return (size_t)(h ^ (h >> 31)) & m->mask; }

static int matcher_init(struct matcher *m, const struct canary *c, size_t n)
{
    size_t size = 16;
    while (size < 2 * n) size *= 2;
    *m = (struct matcher){.c = c, .n = n, .mask = size - 1, .top_power = 1};
    m->table = calloc(size, sizeof *m->table);
    m->seen_top = calloc(65536 / 64, sizeof *m->seen_top);
    if (!m->table || !m->seen_top) {
        free(m->table);
        free(m->seen_top);
        return -1;
    }
    for (size_t i = 1; i < HASH_WINDOW; i++) m->top_power *= HASH_BASE;
    for (size_t i = 0; i < n; i++) {
        if (strnlen(c[i].value, sizeof c[i].value) < CANARY_MIN_LEN) continue;
        uint64_t h = window_hash((const unsigned char *)c[i].value);
        size_t s = slot_of(m, h);
        while (m->table[s].idx1) s = (s + 1) & m->mask;
        m->table[s] = (struct slot){h, i + 1};
        m->seen_top[(h >> 48) / 64] |= 1ull << ((h >> 48) % 64);
    }
    return 0;
}

/* ---- scan state ---------------------------------------------------------------------- */

struct pending {
    unsigned char *buf;
    size_t len;
    int depth;
    char chain[CANARY_CHAIN_MAX];
};

struct scan {
    struct matcher m;
    bool *found;
    size_t nfound, nwanted;
    struct canary_hits *out;
    const char *where;
    size_t budget_left;
    bool oom;
    struct pending *queue;
    size_t nqueue, next;
    signed char radix_values[RADIX_COUNT][256];
};

static void record_hit(struct scan *s, size_t idx, const char *chain)
{
    struct canary_hits *o = s->out;
    s->found[idx] = true;
    s->nfound++;
    if (o->n >= CANARY_HITS_MAX) {
        o->truncated = true;
        return;
    }
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        struct canary_hit *v = realloc(o->v, cap * sizeof *v);
        if (!v) {
            s->oom = true;
            return;
        }
        o->v = v;
        o->cap = cap;
    }
    struct canary_hit *h = &o->v[o->n++];
    h->canary = &s->m.c[idx];
    snprintf(h->where, sizeof h->where, "%s", s->where ? s->where : "");
    snprintf(h->chain, sizeof h->chain, "%s", chain);
}

/* Every canary whose first HASH_WINDOW bytes hash like the window at p, checked in full. */
static void check_position(struct scan *s, uint64_t h, const unsigned char *p, size_t room, const char *chain)
{
    for (size_t i = slot_of(&s->m, h); s->m.table[i].idx1; i = (i + 1) & s->m.mask) {
        if (s->m.table[i].hash != h) continue;
        size_t idx = s->m.table[i].idx1 - 1;
        const char *v = s->m.c[idx].value;
        size_t vlen = strnlen(v, sizeof s->m.c[idx].value);
        if (!s->found[idx] && vlen <= room && memcmp(p, v, vlen) == 0) record_hit(s, idx, chain);
    }
}

static void scan_bytes(struct scan *s, const unsigned char *p, size_t len, const char *chain)
{
    if (len < HASH_WINDOW) return;
    uint64_t h = window_hash(p);
    for (size_t i = 0;; i++) {
        if (s->m.seen_top[(h >> 48) / 64] >> ((h >> 48) % 64) & 1) check_position(s, h, p + i, len - i, chain);
        if (i + HASH_WINDOW >= len || s->nfound == s->nwanted) return;
        h = (h - p[i] * s->m.top_power) * HASH_BASE + p[i + HASH_WINDOW];
    }
}

/* ---- decoded output, bounded by the budget --------------------------------------------- */

struct out {
    unsigned char *p;
    size_t len, cap, limit;
    bool full, oom;
};

static void out_init(struct out *o, size_t in_len, size_t budget)
{
    /* Every decoder writes at most one byte per input byte plus one separator per run. */
    *o = (struct out){.cap = in_len + 1 < budget ? in_len + 1 : budget};
    o->limit = o->cap;
}

static void out_put(struct out *o, unsigned char b)
{
    if (o->len >= o->limit) {
        o->full = true;
        return;
    }
    if (!o->p) {
        o->p = malloc(o->cap);
        if (!o->p) {
            o->oom = o->full = true;
            o->limit = 0;
            return;
        }
    }
    o->p[o->len++] = b;
}

/* Runs are separated by a NUL byte: no canary or encoding alphabet contains it, so two runs
 * can never join into a false match. */
static void out_end_run(struct out *o) { out_put(o, 0); }

/* ---- base64 / base32 / hex: one bit-accumulator decoder ----------------------------------- */

struct radix {
    const char *name;
    int bits;                  /* per input char */
    int alignments;            /* chars per whole group of bytes */
    size_t min_run;            /* alphabet chars needed to hold a canary */
    int (*value)(unsigned char c);
};

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;   /* standard and URL-safe */
    if (c == '/' || c == '_') return 63;
    return -1;
}

static int b32_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a';   /* DNS does not keep case */
    if (c >= '2' && c <= '7') return c - '2' + 26;
    return -1;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static const struct radix RADIXES[RADIX_COUNT] = {
    {"base64", 6, 4, (CANARY_MIN_LEN * 4 + 2) / 3, b64_value},
    {"base32", 5, 8, (CANARY_MIN_LEN * 8 + 4) / 5, b32_value},
    {"hex", 4, 2, CANARY_MIN_LEN * 2, hex_value},
};

/* Line breaks inside an encoded run are skipped (PEM, MIME, hex dumps wrap their lines). */
static bool is_line_break(unsigned char c) { return c == '\n' || c == '\r'; }

/* End of the run starting at i, and how many alphabet chars it holds. */
static size_t radix_run_end(const signed char *val, const unsigned char *in, size_t len, size_t i, size_t *nchars)
{
    *nchars = 0;
    for (; i < len; i++) {
        if (val[in[i]] >= 0) (*nchars)++;
        else if (!is_line_break(in[i])) break;
    }
    return i;
}

static void radix_decode_run(const struct radix *r, const signed char *val, const unsigned char *in, size_t from,
                             size_t to, int skip, struct out *o)
{
    uint32_t acc = 0;
    int nbits = 0;
    for (size_t i = from; i < to && !o->full; i++) {
        int v = val[in[i]];
        if (v < 0) continue;
        if (skip > 0) {
            skip--;
            continue;
        }
        acc = (acc << r->bits) | (uint32_t)v;
        nbits += r->bits;
        if (nbits >= 8) {
            nbits -= 8;
            out_put(o, (unsigned char)(acc >> nbits));
            acc &= (1u << nbits) - 1;
        }
    }
    out_end_run(o);
}

/* Every run, decoded once per start alignment into outs[alignment]: one pass finds the runs.
 * val: the radix's value of each byte, -1 outside its alphabet (a table: this loop is hot). */
static void radix_decode(const struct radix *r, const signed char *val, const unsigned char *in, size_t len,
                         struct out *outs)
{
    size_t i = 0;
    while (i < len) {
        if (val[in[i]] < 0) {
            i++;
            continue;
        }
        size_t nchars, end = radix_run_end(val, in, len, i, &nchars);
        for (int a = 0; a < r->alignments; a++)
            if (nchars >= r->min_run + (size_t)a && !outs[a].full) radix_decode_run(r, val, in, i, end, a, &outs[a]);
        i = end;
    }
}

/* ---- url and json escapes: only runs of printable text that hold an escape ---------------- */

static bool is_url_char(unsigned char c) { return c > 0x20 && c < 0x7f; }
static bool is_text_char(unsigned char c) { return c >= 0x20 && c < 0x7f; }

static bool url_escape_at(const unsigned char *in, size_t len, size_t i)
{
    return in[i] == '%' && i + 2 < len && hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0;
}

static size_t url_unescape_one(const unsigned char *in, size_t len, size_t i, struct out *o)
{
    if (url_escape_at(in, len, i)) {
        out_put(o, (unsigned char)(hex_value(in[i + 1]) << 4 | hex_value(in[i + 2])));
        return 3;
    }
    out_put(o, in[i] == '+' ? ' ' : in[i]);
    return 1;
}

static bool json_escape_at(const unsigned char *in, size_t len, size_t i)
{
    if (in[i] != '\\' || i + 1 >= len) return false;
    switch (in[i + 1]) {
    case 'u':
        return i + 5 < len && hex_value(in[i + 2]) >= 0 && hex_value(in[i + 3]) >= 0 && hex_value(in[i + 4]) >= 0 &&
               hex_value(in[i + 5]) >= 0;
    case 'x': return i + 3 < len && hex_value(in[i + 2]) >= 0 && hex_value(in[i + 3]) >= 0;
    case '"': case '\\': case '/': case 'n': case 'r': case 't': case 'b': case 'f': return true;
    default: return false;
    }
}

/* Code points above 0x7f are written as UTF-8 (never longer than the 6-char escape). */
static void put_code_point(unsigned cp, struct out *o)
{
    if (cp < 0x80) {
        out_put(o, (unsigned char)cp);
    } else if (cp < 0x800) {
        out_put(o, (unsigned char)(0xc0 | cp >> 6));
        out_put(o, (unsigned char)(0x80 | (cp & 0x3f)));
    } else {
        out_put(o, (unsigned char)(0xe0 | cp >> 12));
        out_put(o, (unsigned char)(0x80 | ((cp >> 6) & 0x3f)));
        out_put(o, (unsigned char)(0x80 | (cp & 0x3f)));
    }
}

static unsigned hex_number(const unsigned char *p, int ndigits)
{
    unsigned v = 0;
    for (int i = 0; i < ndigits; i++) v = v << 4 | (unsigned)hex_value(p[i]);
    return v;
}

static size_t json_unescape_one(const unsigned char *in, size_t len, size_t i, struct out *o)
{
    static const char simple_from[] = "\"\\/nrtbf", simple_to[] = "\"\\/\n\r\t\b\f";
    if (!json_escape_at(in, len, i)) {
        out_put(o, in[i]);
        return 1;
    }
    if (in[i + 1] == 'u') {
        put_code_point(hex_number(in + i + 2, 4), o);
        return 6;
    }
    if (in[i + 1] == 'x') {
        out_put(o, (unsigned char)hex_number(in + i + 2, 2));
        return 4;
    }
    out_put(o, (unsigned char)simple_to[strchr(simple_from, in[i + 1]) - simple_from]);
    return 2;
}

struct unescaper {
    unsigned char escape_char;
    bool (*in_run)(unsigned char c);
    bool (*escape_at)(const unsigned char *in, size_t len, size_t i);
    size_t (*unescape_one)(const unsigned char *in, size_t len, size_t i, struct out *o);
};

/* Runs are found from their escapes (memchr), widened both ways; floor keeps each byte in one
 * run at most, so the work stays linear. */
static void unescape_runs(const struct unescaper *u, const unsigned char *in, size_t len, struct out *o)
{
    size_t floor = 0, from = 0;
    const unsigned char *hit;
    while (from < len && !o->full && (hit = memchr(in + from, u->escape_char, len - from)) != NULL) {
        size_t e = (size_t)(hit - in), start = e, end = e;
        if (!u->escape_at(in, len, e)) {
            from = e + 1;
            continue;
        }
        while (start > floor && u->in_run(in[start - 1])) start--;
        while (end < len && u->in_run(in[end])) end++;
        floor = from = end;
        if (end - start < CANARY_MIN_LEN) continue;
        for (size_t j = start; j < end && !o->full;) j += u->unescape_one(in, end, j, o);
        out_end_run(o);
    }
}

static void url_decode(const unsigned char *in, size_t len, struct out *o)
{
    static const struct unescaper url = {'%', is_url_char, url_escape_at, url_unescape_one};
    unescape_runs(&url, in, len, o);
}

static void json_decode(const unsigned char *in, size_t len, struct out *o)
{
    static const struct unescaper json = {'\\', is_text_char, json_escape_at, json_unescape_one};
    unescape_runs(&json, in, len, o);
}

/* ---- decimal byte lists: "[83, 107, 49, ...]" ------------------------------------------- */

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* One number of at most three digits and value <= 255 at i; its end, or i if there is none. */
static size_t byte_number_at(const unsigned char *in, size_t len, size_t i, unsigned *value)
{
    size_t j = i;
    *value = 0;
    while (j < len && is_digit(in[j]) && j - i < 4) *value = *value * 10 + (unsigned)(in[j++] - '0');
    if (j == i || j - i > 3 || (j < len && is_digit(in[j])) || *value > 255) return i;
    return j;
}

/* After a number: spaces, one comma, spaces; the start of the next number or 0 if the list ends. */
static size_t next_list_item(const unsigned char *in, size_t len, size_t j)
{
    while (j < len && in[j] == ' ') j++;
    if (j >= len || in[j] != ',') return 0;
    j++;
    while (j < len && (in[j] == ' ' || is_line_break(in[j]))) j++;
    return j < len && is_digit(in[j]) ? j : 0;
}

static void bytes_decode(const unsigned char *in, size_t len, struct out *o)
{
    size_t i = 0;
    while (i < len && !o->full) {
        if (!is_digit(in[i]) || (i > 0 && is_digit(in[i - 1]))) {
            i++;
            continue;
        }
        size_t mark = o->len, count = 0, at = i;
        unsigned v;
        for (;;) {
            size_t end = byte_number_at(in, len, at, &v);
            if (end == at) break;
            out_put(o, (unsigned char)v);
            count++;
            i = end;
            at = next_list_item(in, len, end);
            if (!at) break;
        }
        if (count >= CANARY_MIN_LEN) out_end_run(o);
        else o->len = mark;
        if (count == 0) i++;
    }
}

/* ---- host names: labels joined -------------------------------------------------------- */

static bool is_label_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_';
}

/* "abc.def.evil.example" (two dots at least) → "abcdefevilexample". */
static bool is_name_char(unsigned char c) { return is_label_char(c) || c == '.'; }

/* Names are found from their dots, widened both ways (as unescape_runs does). */
static void dns_text_decode(const unsigned char *in, size_t len, struct out *o)
{
    size_t floor = 0, from = 0;
    const unsigned char *hit;
    while (from < len && !o->full && (hit = memchr(in + from, '.', len - from)) != NULL) {
        size_t start = (size_t)(hit - in), end = start, mark = o->len, dots = 0;
        while (start > floor && is_name_char(in[start - 1])) start--;
        while (end < len && is_name_char(in[end])) end++;
        floor = from = end;
        for (size_t i = start; i < end; i++) {
            if (in[i] == '.') dots++;
            else out_put(o, in[i]);
        }
        if (dots >= 2 && o->len - mark >= CANARY_MIN_LEN) out_end_run(o);
        else o->len = mark;
    }
}

/* Wire format "\3abc\3def\4evil\7example\0": length-prefixed labels. A name is tried only where
 * a length byte follows a non-label byte, and the walk resumes after it: linear. */
static size_t dns_wire_name(const unsigned char *in, size_t len, size_t i, struct out *o)
{
    size_t mark = o->len, labels = 0, j = i;
    while (j < len && in[j] >= 1 && in[j] <= 63 && j + 1 + in[j] <= len) {
        size_t n = in[j], k;
        for (k = 1; k <= n && is_label_char(in[j + k]); k++) continue;
        if (k <= n) break;
        for (k = 1; k <= n; k++) out_put(o, in[j + k]);
        labels++;
        j += 1 + n;
    }
    if (labels >= 2 && o->len - mark >= CANARY_MIN_LEN) out_end_run(o);
    else o->len = mark;
    return j > i ? j : i + 1;
}

static void dns_wire_decode(const unsigned char *in, size_t len, struct out *o)
{
    size_t i = 0;
    while (i < len && !o->full) {
        bool starts = in[i] >= 1 && in[i] <= 63 && (i == 0 || !is_label_char(in[i - 1]));
        i = starts ? dns_wire_name(in, len, i, o) : i + 1;
    }
}

/* ---- breadth-first over decodings --------------------------------------------------------- */

/* Decoders that need no alignment; each writes at most one byte per input byte. */
static const struct {
    const char *name;
    void (*decode)(const unsigned char *in, size_t len, struct out *o);
} SIMPLE_DECODERS[] = {
    {"url", url_decode}, {"json", json_decode}, {"bytes", bytes_decode},
    {"dns", dns_text_decode}, {"dns", dns_wire_decode},
};

static void enqueue(struct scan *s, const struct pending *parent, const char *name, struct out *o)
{
    if (o->oom) s->oom = true;
    size_t used = o->len;
    s->budget_left -= used < s->budget_left ? used : s->budget_left;
    if (o->full) s->out->budget_hit = s->out->budget_hit || !o->oom;
    s->out->decoded_bytes += used;
    if (used <= HASH_WINDOW || s->nqueue == MAX_PENDING) {
        if (s->nqueue == MAX_PENDING && used > HASH_WINDOW) s->out->budget_hit = true;
        free(o->p);
        return;
    }
    struct pending *q = &s->queue[s->nqueue++];
    *q = (struct pending){.buf = o->p, .len = used, .depth = parent->depth + 1};
    if (parent->depth == 0) snprintf(q->chain, sizeof q->chain, "%s", name);
    else snprintf(q->chain, sizeof q->chain, "%.32s>%.8s", parent->chain, name);
}

static void decode_children(struct scan *s, const struct pending *p)
{
    struct out o, outs[MAX_ALIGNMENTS];
    for (size_t r = 0; r < RADIX_COUNT; r++) {
        /* The alignments share what is left of the budget. */
        size_t share = s->budget_left / (size_t)RADIXES[r].alignments;
        if (!share) break;
        for (int a = 0; a < RADIXES[r].alignments; a++) out_init(&outs[a], p->len, share);
        radix_decode(&RADIXES[r], s->radix_values[r], p->buf, p->len, outs);
        for (int a = 0; a < RADIXES[r].alignments; a++) enqueue(s, p, RADIXES[r].name, &outs[a]);
    }
    for (size_t d = 0; d < sizeof SIMPLE_DECODERS / sizeof *SIMPLE_DECODERS && s->budget_left; d++) {
        out_init(&o, p->len, s->budget_left);
        SIMPLE_DECODERS[d].decode(p->buf, p->len, &o);
        enqueue(s, p, SIMPLE_DECODERS[d].name, &o);
    }
    if (!s->budget_left) s->out->budget_hit = true;
}

static size_t count_wanted(const struct canary *c, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += strnlen(c[i].value, sizeof c[i].value) >= CANARY_MIN_LEN;
    return k;
}

int canary_scan(const struct canary *c, size_t n, const unsigned char *data, size_t len, const char *where,
                struct canary_hits *out)
{
    struct scan s = {.out = out, .where = where, .budget_left = CANARY_DECODE_BUDGET, .nwanted = count_wanted(c, n)};
    if (s.nwanted == 0) return 0;
    s.found = calloc(n, sizeof *s.found);
    s.queue = calloc(MAX_PENDING, sizeof *s.queue);
    if (!s.found || !s.queue || matcher_init(&s.m, c, n) < 0) {
        free(s.found);
        free(s.queue);
        return -1;
    }
    for (size_t r = 0; r < RADIX_COUNT; r++)
        for (unsigned b = 0; b < 256; b++) s.radix_values[r][b] = (signed char)RADIXES[r].value((unsigned char)b);
    /* The input itself is the root; it is never freed here. */
    s.queue[s.nqueue++] = (struct pending){.buf = (unsigned char *)data, .len = len, .chain = "raw"};
    for (; s.next < s.nqueue; s.next++) {
        struct pending *p = &s.queue[s.next];
        if (s.nfound < s.nwanted) scan_bytes(&s, p->buf, p->len, p->chain);
        if (s.nfound < s.nwanted && p->depth < CANARY_MAX_DEPTH && s.budget_left) decode_children(&s, p);
        if (s.next > 0) free(p->buf);
        p->buf = NULL;
    }
    free(s.queue);
    free(s.found);
    free(s.m.table);
    free(s.m.seen_top);
    return s.oom ? -1 : 0;
}

void canary_hits_free(struct canary_hits *h)
{
    free(h->v);
    *h = (struct canary_hits){0};
}
