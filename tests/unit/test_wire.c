/* test_wire.c — the fake internet's wire parsers: DNS, HTTP/1.x, TLS ClientHello.
 * Real captures (the .bin files in tests/fixtures/wire, made by capture.py from curl/node/openssl against
 * 127.0.0.1) plus hand-made hostile inputs. Every valid message is also cut at every offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wire.h"

/* ---- Helpers ---------------------------------------------------------------------------- */

struct bytes {
    uint8_t *p;
    size_t len;
};

static struct bytes fixture(const char *name)
{
    char rel[256];
    struct bytes b;
    snprintf(rel, sizeof rel, "tests/fixtures/wire/%s", name);
    b.p = (uint8_t *)tu_read_file(tu_src(rel), &b.len);
    assert_non_null(b.p);
    assert_true(b.len > 0);
    return b;
}

/* A heap copy of exactly len bytes, so ASan sees any read past the end. */
static uint8_t *exact_copy(const void *p, size_t len)
{
    uint8_t *c = malloc(len ? len : 1);
    assert_non_null(c);
    if (len) memcpy(c, p, len);
    return c;
}

static void span_equals(struct sbx_wire_span s, const char *want)
{
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.p, want, s.len);
}

/* ---- Escaping --------------------------------------------------------------------------- */

static void escape_turns_unsafe_bytes_into_decimal(void **state)
{
    (void)state;
    char out[64];
    const uint8_t raw[] = {'a', '.', '\\', 0, ' ', 0xff, '\n', 'z'};
    assert_int_equal(sbx_wire_escape(raw, sizeof raw, 0, out, sizeof out), 23);
    assert_string_equal(out, "a.\\092\\000\\032\\255\\010z");
    sbx_wire_escape(raw, 2, SBX_WIRE_ESCAPE_DOT, out, sizeof out);
    assert_string_equal(out, "a\\046");
    /* Cut at an escape boundary, never inside one. */
    assert_int_equal(sbx_wire_escape(raw, sizeof raw, 0, out, 5), 5);
    assert_string_equal(out, "a.");
}

/* ---- DNS -------------------------------------------------------------------------------- */

static void dns_parses_real_udp_queries(void **state)
{
    (void)state;
    struct { const char *file, *name; uint16_t type; } cases[] = {
        {"dns_node_a.bin", "registry.mocks.lan", SBX_WIRE_DNS_A},
        {"dns_node_mx.bin", "canary.example", SBX_WIRE_DNS_MX},
        {"dns_node_txt.bin", "x.y.example", SBX_WIRE_DNS_TXT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct bytes b = fixture(cases[i].file);
        struct sbx_wire_dns_query q;
        assert_int_equal(sbx_wire_dns_parse_query(b.p, b.len, &q), SBX_WIRE_OK);
        assert_string_equal(q.name, cases[i].name);
        assert_int_equal(q.qtype, cases[i].type);
        assert_int_equal(q.qclass, 1);
        assert_int_equal(q.rd, 1);
        assert_int_equal(q.id, b.p[0] << 8 | b.p[1]);
        free(b.p);
    }
}

static void dns_parses_real_tcp_query_and_pipelined_pair(void **state)
{
    (void)state;
    struct bytes b = fixture("dns_node_tcp.bin");
    struct sbx_wire_dns_query q;
    size_t consumed;
    assert_int_equal(sbx_wire_dns_parse_query_tcp(b.p, b.len, &q, &consumed), SBX_WIRE_OK);
    assert_int_equal(consumed, b.len);
    assert_string_equal(q.name, "registry.mocks.lan");
    uint8_t two[200];
    memcpy(two, b.p, b.len);
    memcpy(two + b.len, b.p, b.len);
    assert_int_equal(sbx_wire_dns_parse_query_tcp(two, 2 * b.len, &q, &consumed), SBX_WIRE_OK);
    assert_int_equal(consumed, b.len);
    assert_int_equal(sbx_wire_dns_parse_query_tcp(two + consumed, b.len, &q, &consumed),
                     SBX_WIRE_OK);
    free(b.p);
}

static void dns_every_prefix_is_incomplete(void **state)
{
    (void)state;
    const char *udp[] = {"dns_node_a.bin", "dns_node_mx.bin", "dns_node_txt.bin"};
    struct sbx_wire_dns_query q;
    size_t consumed;
    for (size_t f = 0; f < 3; f++) {
        struct bytes b = fixture(udp[f]);
        for (size_t n = 0; n < b.len; n++) {
            uint8_t *c = exact_copy(b.p, n);
            assert_int_equal(sbx_wire_dns_parse_query(c, n, &q), SBX_WIRE_MALFORMED);
            free(c);
        }
        free(b.p);
    }
    struct bytes t = fixture("dns_node_tcp.bin");
    for (size_t n = 0; n < t.len; n++) {
        uint8_t *c = exact_copy(t.p, n);
        assert_int_equal(sbx_wire_dns_parse_query_tcp(c, n, &q, &consumed), SBX_WIRE_NEED_MORE);
        free(c);
    }
    free(t.p);
}

/* A query for `labels` (length-prefixed wire form ending in 0) with qtype A. */
static size_t make_query(uint8_t *out, const uint8_t *name, size_t name_len, uint16_t ar)
{
    const uint8_t head[12] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, (uint8_t)(ar >> 8),
                              (uint8_t)ar};
    memcpy(out, head, 12);
    memcpy(out + 12, name, name_len);
    memcpy(out + 12 + name_len, "\x00\x01\x00\x01", 4);
    return 12 + name_len + 4;
}

static void dns_escapes_label_bytes_that_could_forge_structure(void **state)
{
    (void)state;
    const uint8_t name[] = "\x07" "a.b\\c\x00\xff" "\x03" "com";
    uint8_t msg[64];
    size_t len = make_query(msg, name, sizeof name, 0);     /* sizeof includes the root 0 */
    struct sbx_wire_dns_query q;
    assert_int_equal(sbx_wire_dns_parse_query(msg, len, &q), SBX_WIRE_OK);
    assert_string_equal(q.name, "a\\046b\\092c\\000\\255.com");
    assert_int_equal(q.labels, 2);
    /* The root name is ".". */
    len = make_query(msg, (const uint8_t *)"", 1, 0);
    assert_int_equal(sbx_wire_dns_parse_query(msg, len, &q), SBX_WIRE_OK);
    assert_string_equal(q.name, ".");
}

static void dns_rejects_compression_pointers_in_questions(void **state)
{
    (void)state;
    uint8_t msg[64];
    struct sbx_wire_dns_query q;
    const uint8_t self[] = {0xC0, 0x0C};                    /* points at itself: a loop */
    size_t len = make_query(msg, self, sizeof self, 0);
    assert_int_equal(sbx_wire_dns_parse_query(msg, len - 0, &q), SBX_WIRE_MALFORMED);
    const uint8_t later[] = {0x01, 'a', 0xC0, 0x0C};
    len = make_query(msg, later, sizeof later, 0);
    assert_int_equal(sbx_wire_dns_parse_query(msg, len, &q), SBX_WIRE_MALFORMED);
    const uint8_t reserved[] = {0x41, 'a', 0};              /* label type 01: reserved */
    len = make_query(msg, reserved, sizeof reserved, 0);
    assert_int_equal(sbx_wire_dns_parse_query(msg, len, &q), SBX_WIRE_MALFORMED);
}

/* Wire name of `labels` labels, each `each` bytes of 'x'. */
static size_t long_name(uint8_t *out, size_t labels, size_t each)
{
    size_t o = 0;
    for (size_t i = 0; i < labels; i++) {
        out[o++] = (uint8_t)each;
        memset(out + o, 'x', each);
        o += each;
    }
    out[o++] = 0;
    return o;
}

static void dns_enforces_label_and_name_limits(void **state)
{
    (void)state;
    uint8_t name[400], msg[600];
    struct sbx_wire_dns_query q;
    size_t n = long_name(name, 1, 63);
    assert_int_equal(sbx_wire_dns_parse_query(msg, make_query(msg, name, n, 0), &q), SBX_WIRE_OK);
    n = long_name(name, 1, 64);                             /* 0x40: a reserved label type */
    assert_int_equal(sbx_wire_dns_parse_query(msg, make_query(msg, name, n, 0), &q),
                     SBX_WIRE_MALFORMED);
    /* 3 x 63 + 61 = 250 bytes of labels + 4 length bytes + root = 255: the maximum. */
    n = long_name(name, 3, 63);
    n--;
    name[n++] = 61;
    memset(name + n, 'y', 61);
    n += 61;
    name[n++] = 0;
    assert_int_equal(n, 255);
    assert_int_equal(sbx_wire_dns_parse_query(msg, make_query(msg, name, n, 0), &q), SBX_WIRE_OK);
    assert_int_equal(q.qname_wire_len, 255);
    name[n - 62] = 62;                                      /* one more byte: 256 */
    memmove(name + n, name + n - 1, 1);
    name[n - 1] = 'y';
    n++;
    assert_int_equal(sbx_wire_dns_parse_query(msg, make_query(msg, name, n, 0), &q),
                     SBX_WIRE_MALFORMED);
    /* The longest escaped text fits: 127 one-byte labels of 0xff. */
    n = 0;
    for (int i = 0; i < 127; i++) { name[n++] = 1; name[n++] = 0xff; }
    name[n++] = 0;
    assert_int_equal(sbx_wire_dns_parse_query(msg, make_query(msg, name, n, 0), &q), SBX_WIRE_OK);
    assert_int_equal(q.name_len, 127 * 4 + 126);
}

static void dns_rejects_headers_that_are_not_one_plain_query(void **state)
{
    (void)state;
    uint8_t msg[64];
    struct sbx_wire_dns_query q;
    const uint8_t name[] = "\x01x";
    size_t len = make_query(msg, name, sizeof name, 0);
    assert_int_equal(sbx_wire_dns_parse_query(msg, len, &q), SBX_WIRE_OK);
    msg[5] = 2;                                             /* QDCOUNT 2 */
    assert_int_equal(sbx_wire_dns_parse_query(msg, len, &q), SBX_WIRE_MALFORMED);
    msg[5] = 0;                                             /* QDCOUNT 0 */
    assert_int_equal(sbx_wire_dns_parse_query(msg, len, &q), SBX_WIRE_MALFORMED);
    msg[5] = 1;
    msg[2] |= 0x80;                                         /* QR: a response */
    assert_int_equal(sbx_wire_dns_parse_query(msg, len, &q), SBX_WIRE_MALFORMED);
    msg[2] &= 0x7f;
    msg[7] = 1;                                             /* ANCOUNT 1 */
    assert_int_equal(sbx_wire_dns_parse_query(msg, len, &q), SBX_WIRE_MALFORMED);
    msg[7] = 0;
    msg[len] = 0;                                           /* a trailing byte */
    assert_int_equal(sbx_wire_dns_parse_query(msg, len + 1, &q), SBX_WIRE_MALFORMED);
    msg[6] = 0xff;                                          /* ANCOUNT 65280 */
    assert_int_equal(sbx_wire_dns_parse_query(msg, len, &q), SBX_WIRE_MALFORMED);
}

static const uint8_t OPT_4096[] = {0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0, 0, 4, 0xAA, 0xBB, 0, 0};

static void dns_accepts_edns_opt_and_nothing_else_in_additional(void **state)
{
    (void)state;
    uint8_t msg[128];
    struct sbx_wire_dns_query q;
    const uint8_t name[] = "\x03npm";
    size_t len = make_query(msg, name, sizeof name, 1);
    memcpy(msg + len, OPT_4096, sizeof OPT_4096);
    assert_int_equal(sbx_wire_dns_parse_query(msg, len + sizeof OPT_4096, &q), SBX_WIRE_OK);
    assert_int_equal(q.has_edns, 1);
    assert_int_equal(q.edns_udp_size, 4096);
    assert_int_equal(q.edns_do, 1);
    /* An option length that runs past the message. */
    msg[len + 10] = 9;
    assert_int_equal(sbx_wire_dns_parse_query(msg, len + sizeof OPT_4096, &q), SBX_WIRE_MALFORMED);
    msg[len + 10] = 4;
    msg[len + 2] = 1;                                       /* an A record, not OPT */
    assert_int_equal(sbx_wire_dns_parse_query(msg, len + sizeof OPT_4096, &q), SBX_WIRE_MALFORMED);
    msg[len + 2] = 41;
    msg[len] = 1;                                           /* OPT with a non-root owner */
    assert_int_equal(sbx_wire_dns_parse_query(msg, len + sizeof OPT_4096, &q), SBX_WIRE_MALFORMED);
}

static struct sbx_wire_dns_query parsed(const char *file)
{
    struct bytes b = fixture(file);
    struct sbx_wire_dns_query q;
    assert_int_equal(sbx_wire_dns_parse_query(b.p, b.len, &q), SBX_WIRE_OK);
    free(b.p);
    return q;
}

static void dns_builds_an_a_response_byte_for_byte(void **state)
{
    (void)state;
    struct sbx_wire_dns_query q = parsed("dns_node_a.bin");
    struct sbx_wire_dns_answer a = {.type = SBX_WIRE_DNS_A, .ttl = 300,
                                    .u.a = {10, 0, 0, 7}};
    uint8_t out[512];
    size_t len;
    assert_int_equal(sbx_wire_dns_build_response(&q, &a, SBX_WIRE_DNS_UDP, out, sizeof out, &len), 0);
    size_t qend = 12 + q.qname_wire_len + 4;
    assert_int_equal(len, qend + 16);
    assert_int_equal(out[0] << 8 | out[1], q.id);
    assert_int_equal(out[2], 0x81);                         /* QR, opcode 0, RD */
    assert_int_equal(out[3], 0x80);                         /* RA, NOERROR */
    assert_memory_equal(out + 4, "\0\1\0\1\0\0\0\0", 8);
    assert_memory_equal(out + 12, q.qname_wire, q.qname_wire_len);
    assert_memory_equal(out + qend, "\xc0\x0c\0\1\0\1\0\0\1\x2c\0\4\x0a\0\0\x07", 16);
}

static void check_reply(const struct sbx_wire_dns_query *q, const struct sbx_wire_dns_answer *a,
                        int ancount, int tc)
{
    uint8_t out[2048];
    size_t len;
    struct sbx_wire_dns_response_info info;
    assert_int_equal(sbx_wire_dns_build_response(q, a, SBX_WIRE_DNS_UDP, out, sizeof out, &len), 0);
    assert_int_equal(sbx_wire_dns_check_response(out, len, &info), SBX_WIRE_OK);
    assert_int_equal(info.id, q->id);
    assert_int_equal(info.qr, 1);
    assert_int_equal(info.ra, 1);
    assert_int_equal(info.ancount, ancount);
    assert_int_equal(info.tc, tc);
    assert_int_equal(info.rcode, a->rcode);
    assert_int_equal(info.arcount, q->has_edns ? 1 : 0);
}

static void dns_builds_every_answer_type(void **state)
{
    (void)state;
    struct sbx_wire_dns_query q = parsed("dns_node_mx.bin");
    struct sbx_wire_dns_answer a = {.type = SBX_WIRE_DNS_AAAA, .ttl = 60,
                                    .u.aaaa = {0xfd, 0, [15] = 1}};
    check_reply(&q, &a, 1, 0);
    a.type = SBX_WIRE_DNS_CNAME;
    a.u.target = "sink.fake.internal.";
    check_reply(&q, &a, 1, 0);
    a.u.target = NULL;                                      /* the question's own name */
    check_reply(&q, &a, 1, 0);
    a.type = SBX_WIRE_DNS_MX;
    a.u.mx.preference = 10;
    a.u.mx.exchange = "mail.fake.internal";
    check_reply(&q, &a, 1, 0);
    a.type = SBX_WIRE_DNS_TXT;
    a.u.txt.data = (const uint8_t *)"v=spf1 -all";
    a.u.txt.len = 11;
    check_reply(&q, &a, 1, 0);
    a.u.txt.len = 0;                                        /* one empty string */
    check_reply(&q, &a, 1, 0);
    a.type = 0;                                             /* NODATA */
    check_reply(&q, &a, 0, 0);
    a.rcode = SBX_WIRE_DNS_NXDOMAIN;                        /* supported, never used by us */
    check_reply(&q, &a, 0, 0);
}

static void dns_builder_rejects_bad_answers(void **state)
{
    (void)state;
    struct sbx_wire_dns_query q = parsed("dns_node_a.bin");
    uint8_t out[512];
    size_t len;
    struct sbx_wire_dns_answer a = {.type = SBX_WIRE_DNS_CNAME};
    const char *bad[] = {"a..b", ".a", "a\\", "a\\25", "a\\256",
                         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a.u.target = bad[i];
        assert_int_equal(sbx_wire_dns_build_response(&q, &a, SBX_WIRE_DNS_UDP, out, sizeof out,
                                                     &len), -1);
    }
    a.type = 99;                                            /* a type we do not build */
    assert_int_equal(sbx_wire_dns_build_response(&q, &a, SBX_WIRE_DNS_UDP, out, sizeof out, &len), -1);
    a.type = SBX_WIRE_DNS_A;
    a.rcode = 16;
    assert_int_equal(sbx_wire_dns_build_response(&q, &a, SBX_WIRE_DNS_UDP, out, sizeof out, &len), -1);
    a.rcode = 0;
    a.ttl = 0x80000000u;
    assert_int_equal(sbx_wire_dns_build_response(&q, &a, SBX_WIRE_DNS_UDP, out, sizeof out, &len), -1);
}

static void dns_escaped_name_round_trips_through_the_builder(void **state)
{
    (void)state;
    const uint8_t name[] = "\x07" "a.b\\c\x00\xff" "\x03" "com";
    uint8_t msg[64], out[512];
    size_t len = make_query(msg, name, sizeof name, 0), olen;
    struct sbx_wire_dns_query q;
    assert_int_equal(sbx_wire_dns_parse_query(msg, len, &q), SBX_WIRE_OK);
    struct sbx_wire_dns_answer a = {.type = SBX_WIRE_DNS_CNAME, .u.target = q.name};
    assert_int_equal(sbx_wire_dns_build_response(&q, &a, SBX_WIRE_DNS_UDP, out, sizeof out, &olen), 0);
    size_t rdata = 12 + q.qname_wire_len + 4 + 12;
    assert_int_equal(olen, rdata + q.qname_wire_len);
    assert_memory_equal(out + rdata, q.qname_wire, q.qname_wire_len);
}

static void dns_truncates_big_udp_replies_with_tc(void **state)
{
    (void)state;
    struct sbx_wire_dns_query q = parsed("dns_node_txt.bin");
    uint8_t txt[1000];
    memset(txt, 'T', sizeof txt);
    struct sbx_wire_dns_answer a = {.type = SBX_WIRE_DNS_TXT, .u.txt = {txt, 600}};
    check_reply(&q, &a, 0, 1);                              /* > 512 without EDNS */
    uint8_t out[2048];
    size_t len;
    assert_int_equal(sbx_wire_dns_build_response(&q, &a, SBX_WIRE_DNS_TCP, out, sizeof out, &len), 0);
    assert_int_equal(out[0] << 8 | out[1], len - 2);        /* TCP: whole answer */
    struct sbx_wire_dns_response_info info;
    assert_int_equal(sbx_wire_dns_check_response(out + 2, len - 2, &info), SBX_WIRE_OK);
    assert_int_equal(info.tc, 0);
    assert_int_equal(info.ancount, 1);
    /* With EDNS (4096 asked, 1232 granted) it fits; 1300 bytes do not. */
    const uint8_t name[] = "\x03npm";
    uint8_t msg[64];
    size_t mlen = make_query(msg, name, sizeof name, 1);
    memcpy(msg + mlen, OPT_4096, sizeof OPT_4096);
    assert_int_equal(sbx_wire_dns_parse_query(msg, mlen + sizeof OPT_4096, &q), SBX_WIRE_OK);
    check_reply(&q, &a, 1, 0);
    a.u.txt.len = sizeof txt;
    check_reply(&q, &a, 1, 0);
    uint8_t big[1300];
    memset(big, 'B', sizeof big);
    a.u.txt.data = big;
    a.u.txt.len = sizeof big;
    check_reply(&q, &a, 0, 1);
}

static void dns_builder_never_writes_past_cap(void **state)
{
    (void)state;
    struct sbx_wire_dns_query q = parsed("dns_node_a.bin");
    struct sbx_wire_dns_answer a = {.type = SBX_WIRE_DNS_MX, .u.mx = {5, "mx.fake.internal"}};
    uint8_t out[600];
    size_t full, len;
    assert_int_equal(sbx_wire_dns_build_response(&q, &a, SBX_WIRE_DNS_TCP, out, sizeof out, &full), 0);
    for (size_t cap = 0; cap < full; cap++) {
        memset(out, 0xEE, sizeof out);
        int rc = sbx_wire_dns_build_response(&q, &a, SBX_WIRE_DNS_TCP, out, cap, &len);
        assert_int_equal(rc, -1);
        for (size_t i = cap; i < sizeof out; i++) assert_int_equal(out[i], 0xEE);
        rc = sbx_wire_dns_build_response(&q, &a, SBX_WIRE_DNS_UDP, out, cap, &len);
        if (rc == 0) assert_true(len <= cap);
        for (size_t i = cap; i < sizeof out; i++) assert_int_equal(out[i], 0xEE);
    }
}

static void dns_response_checker_stops_pointer_loops(void **state)
{
    (void)state;
    struct sbx_wire_dns_response_info info;
    /* header: QR, qd=1, an=1; question "a"; answer owner = pointer. */
    uint8_t msg[64] = {0, 1, 0x80, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1};
    const uint8_t rr_tail[] = {0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4};
    size_t at = 19;
    uint8_t good[] = {0xC0, 12};
    memcpy(msg + at, good, 2);
    memcpy(msg + at + 2, rr_tail, sizeof rr_tail);
    assert_int_equal(sbx_wire_dns_check_response(msg, at + 2 + sizeof rr_tail, &info), SBX_WIRE_OK);
    msg[at + 1] = (uint8_t)at;                              /* points at itself */
    assert_int_equal(sbx_wire_dns_check_response(msg, at + 2 + sizeof rr_tail, &info),
                     SBX_WIRE_MALFORMED);
    msg[at + 1] = (uint8_t)(at + 2);                        /* points forward */
    assert_int_equal(sbx_wire_dns_check_response(msg, at + 2 + sizeof rr_tail, &info),
                     SBX_WIRE_MALFORMED);
    /* Two names pointing at each other: 12 -> 19 is forward, so refused. */
    msg[12] = 0xC0;
    msg[13] = 19;
    msg[at + 1] = 12;
    assert_int_equal(sbx_wire_dns_check_response(msg, at + 2 + sizeof rr_tail, &info),
                     SBX_WIRE_MALFORMED);
    /* A label whose length runs past the end. */
    msg[12] = 60;
    assert_int_equal(sbx_wire_dns_check_response(msg, at + 2 + sizeof rr_tail, &info),
                     SBX_WIRE_MALFORMED);
    /* A label pointing back into a name that reaches the pointer again: hop bound ends it. */
    uint8_t loop[64] = {0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0xC0, 12, 0, 1, 0, 1};
    assert_int_equal(sbx_wire_dns_check_response(loop, 20, &info), SBX_WIRE_MALFORMED);
}

/* ---- HTTP ------------------------------------------------------------------------------- */

static uint8_t body_buf[8192];

static sbx_wire_result http(const char *text, struct sbx_wire_http_request *req)
{
    return sbx_wire_http_parse((const uint8_t *)text, strlen(text), body_buf, sizeof body_buf, req);
}

static void http_parses_curl_get(void **state)
{
    (void)state;
    struct bytes b = fixture("http_curl_get.bin");
    struct sbx_wire_http_request req;
    assert_int_equal(sbx_wire_http_parse(b.p, b.len, body_buf, sizeof body_buf, &req), SBX_WIRE_OK);
    span_equals(req.method, "GET");
    span_equals(req.path, "/-/v1/login");
    span_equals(req.query, "user=ci%20bot&token=a%2Bb+c&x");
    assert_int_equal(req.has_host, 1);
    assert_true(req.host.len > strlen("registry.mocks.lan:"));
    assert_memory_equal(req.host.p, "registry.mocks.lan:", 19);
    assert_int_equal(req.version_minor, 1);
    assert_int_equal(req.nheaders, 3);
    span_equals(*sbx_wire_http_header_get(&req, "user-agent"), "curl/7.88.1");
    assert_null(sbx_wire_http_header_get(&req, "cookie"));
    assert_int_equal(req.body_len, 0);
    assert_int_equal(req.consumed, b.len);
    free(b.p);
}

static void http_reads_real_bodies(void **state)
{
    (void)state;
    const char *json = "{\"token\":\"npm_CANARY\",\"env\":\"HOME=/home/node\"}";
    struct { const char *file, *body; int chunked; } cases[] = {
        {"http_curl_post.bin", json, 0},
        {"http_curl_chunked.bin", json, 1},
        {"http_node_post.bin", "part1-part2", 0},
    };
    for (size_t i = 0; i < 3; i++) {
        struct bytes b = fixture(cases[i].file);
        struct sbx_wire_http_request req;
        assert_int_equal(sbx_wire_http_parse(b.p, b.len, body_buf, sizeof body_buf, &req),
                         SBX_WIRE_OK);
        span_equals(req.method, "POST");
        assert_int_equal(req.chunked, cases[i].chunked);
        assert_int_equal(req.te_and_cl, 0);
        assert_int_equal(req.body_len, strlen(cases[i].body));
        assert_memory_equal(req.body, cases[i].body, req.body_len);
        assert_int_equal(req.consumed, b.len);
        free(b.p);
    }
}

static void http_every_prefix_is_incomplete(void **state)
{
    (void)state;
    const char *files[] = {"http_curl_get.bin", "http_curl_post.bin", "http_curl_chunked.bin",
                           "http_node_post.bin"};
    static struct sbx_wire_http_request req;
    for (size_t f = 0; f < 4; f++) {
        struct bytes b = fixture(files[f]);
        for (size_t n = 0; n < b.len; n++) {
            uint8_t *c = exact_copy(b.p, n);
            assert_int_equal(sbx_wire_http_parse(c, n, body_buf, sizeof body_buf, &req),
                             SBX_WIRE_NEED_MORE);
            free(c);
        }
        free(b.p);
    }
}

static void http_tells_other_protocols_apart(void **state)
{
    (void)state;
    struct sbx_wire_http_request req;
    struct bytes tls = fixture("tls_curl.bin");
    assert_int_equal(sbx_wire_http_parse(tls.p, tls.len, body_buf, sizeof body_buf, &req),
                     SBX_WIRE_NOT_PROTO);
    free(tls.p);
    assert_int_equal(http("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &req), SBX_WIRE_NOT_PROTO);
    assert_int_equal(http("SSH-2.0-OpenSSH_9.2\r\n", &req), SBX_WIRE_NOT_PROTO);
    assert_int_equal(http("GET / FTP/1.0\r\n", &req), SBX_WIRE_NOT_PROTO);
    assert_int_equal(http("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA / HTTP/1.1\r\n", &req),
                     SBX_WIRE_NOT_PROTO);                   /* method of 33 */
    assert_int_equal(http("", &req), SBX_WIRE_NEED_MORE);
    assert_int_equal(http("GE", &req), SBX_WIRE_NEED_MORE);
    assert_int_equal(http("GET / HTTP/1.2\r\n\r\n", &req), SBX_WIRE_MALFORMED);
    assert_int_equal(http("GET  / HTTP/1.1\r\n\r\n", &req), SBX_WIRE_MALFORMED);
    assert_int_equal(http("GET /\x7f HTTP/1.1\r\n\r\n", &req), SBX_WIRE_MALFORMED);
    assert_int_equal(http("GET / HTTP/1.0\r\n\r\n", &req), SBX_WIRE_OK);
    assert_int_equal(req.version_minor, 0);
    assert_int_equal(req.has_host, 0);
}

static void http_rejects_ambiguous_lines(void **state)
{
    (void)state;
    struct sbx_wire_http_request req;
    const char *bad[] = {
        "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",             /* obs-fold */
        "GET / HTTP/1.1\r\nHost: a\r\n\tfolded\r\n\r\n",
        "GET / HTTP/1.1\r\n X: leading space\r\n\r\n",
        "GET / HTTP/1.1\nHost: a\r\n\r\n",                           /* bare LF */
        "GET / HTTP/1.1\r\nHost: a\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n",                       /* bare CR */
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",                        /* space before ':' */
        "GET / HTTP/1.1\r\n: a\r\n\r\n",                             /* empty name */
        "GET / HTTP/1.1\r\nX-A: a\x01" "b\r\n\r\n",                  /* control byte */
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",              /* two Hosts */
        "GET / HTTP/1.1\r\nX\r\n\r\n",                               /* no colon */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(http(bad[i], &req), SBX_WIRE_MALFORMED);
    }
    static const uint8_t nul[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
    assert_int_equal(sbx_wire_http_parse(nul, sizeof nul - 1, body_buf, sizeof body_buf, &req),
                     SBX_WIRE_MALFORMED);
    assert_int_equal(http("GET / HTTP/1.1\r\nX:  \t v a l \t \r\nY:\r\n\r\n", &req), SBX_WIRE_OK);
    span_equals(req.headers[0].value, "v a l");
    span_equals(req.headers[1].value, "");
}

static void http_content_length_forms(void **state)
{
    (void)state;
    struct sbx_wire_http_request req;
    assert_int_equal(http("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
                          &req), SBX_WIRE_OK);
    assert_int_equal(http("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc", &req),
                     SBX_WIRE_OK);
    assert_int_equal(req.content_length, 3);
    const char *bad[] = {
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\nabcd",
        "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nContent-Length: 0x3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nContent-Length: 3 3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: ,\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 18446744073709551617\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(http(bad[i], &req), SBX_WIRE_MALFORMED);
    }
    assert_int_equal(http("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", &req),
                     SBX_WIRE_NEED_MORE);
}

static void http_transfer_encoding_forms(void **state)
{
    (void)state;
    struct sbx_wire_http_request req;
    /* TE + CL: chunked wins, and the attempt is flagged (in either order). */
    assert_int_equal(http("POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n"
                          "\r\n3\r\nabc\r\n0\r\n\r\n", &req), SBX_WIRE_OK);
    assert_int_equal(req.chunked, 1);
    assert_int_equal(req.te_and_cl, 1);
    assert_int_equal(req.body_len, 3);
    assert_int_equal(http("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n"
                          "\r\n0\r\n\r\n", &req), SBX_WIRE_OK);
    assert_int_equal(req.te_and_cl, 1);
    assert_int_equal(http("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n0\r\n\r\n",
                          &req), SBX_WIRE_OK);
    assert_int_equal(http("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: "
                          "chunked\r\n\r\n0\r\n\r\n", &req), SBX_WIRE_OK);
    const char *bad[] = {
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n0\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(http(bad[i], &req), SBX_WIRE_MALFORMED);
    }
}

#define CHUNKED_HEAD "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"

static void http_chunk_sizes_are_bounded(void **state)
{
    (void)state;
    struct sbx_wire_http_request req;
    assert_int_equal(http(CHUNKED_HEAD "ffffffffffffffff\r\nabc", &req), SBX_WIRE_TOO_LARGE);
    assert_int_equal(req.body_len, 3);                      /* what arrived is kept */
    assert_memory_equal(req.body, "abc", 3);
    assert_int_equal(http(CHUNKED_HEAD "1ffffffffffffffff\r\n", &req), SBX_WIRE_MALFORMED);
    assert_int_equal(http(CHUNKED_HEAD "-1\r\n", &req), SBX_WIRE_MALFORMED);
    assert_int_equal(http(CHUNKED_HEAD "+1\r\na\r\n0\r\n\r\n", &req), SBX_WIRE_MALFORMED);
    assert_int_equal(http(CHUNKED_HEAD "0x1\r\na\r\n0\r\n\r\n", &req), SBX_WIRE_MALFORMED);
    assert_int_equal(http(CHUNKED_HEAD "\r\n", &req), SBX_WIRE_MALFORMED);
    assert_int_equal(http(CHUNKED_HEAD "3 junk\r\nabc\r\n0\r\n\r\n", &req), SBX_WIRE_MALFORMED);
    assert_int_equal(http(CHUNKED_HEAD "3 \r\nabc\r\n0\r\n\r\n", &req), SBX_WIRE_OK);
    assert_int_equal(http(CHUNKED_HEAD "3\r\nabcX\r\n0\r\n\r\n", &req), SBX_WIRE_MALFORMED);
    assert_int_equal(http(CHUNKED_HEAD "3\nabc\r\n0\r\n\r\n", &req), SBX_WIRE_MALFORMED);
    assert_int_equal(http(CHUNKED_HEAD "0000000000000000000000003\r\nabc\r\n0\r\n\r\n", &req),
                     SBX_WIRE_OK);                          /* leading zeros are not digits */
    assert_int_equal(req.body_len, 3);
    assert_int_equal(http(CHUNKED_HEAD "2001\r\n", &req), SBX_WIRE_TOO_LARGE);   /* > 8192 */
}

static void http_chunk_extensions_and_trailers_are_tolerated(void **state)
{
    (void)state;
    struct sbx_wire_http_request req;
    const char *msg = CHUNKED_HEAD "3;name=\"v;x\" ; y\r\nabc\r\n2 ;z\r\nde\r\n0;last\r\n"
                                   "X-Trailer: t\r\nX-Other: u\r\n\r\nGET";
    assert_int_equal(http(msg, &req), SBX_WIRE_OK);
    assert_int_equal(req.body_len, 5);
    assert_memory_equal(req.body, "abcde", 5);
    assert_int_equal(req.consumed, strlen(msg) - 3);       /* the next request starts at GET */
    assert_int_equal(http(CHUNKED_HEAD "0\r\nX-T: a\r\n folded\r\n\r\n", &req),
                     SBX_WIRE_MALFORMED);
    assert_int_equal(http(CHUNKED_HEAD "3;\x01\r\nabc\r\n0\r\n\r\n", &req), SBX_WIRE_MALFORMED);
    /* Extension lines and trailers are bounded. */
    size_t n = strlen(CHUNKED_HEAD);
    static char big[20000];
    memcpy(big, CHUNKED_HEAD "1;", n + 2);
    memset(big + n + 2, 'e', 5000);
    big[n + 5002] = '\0';
    assert_int_equal(http(big, &req), SBX_WIRE_MALFORMED);
    memcpy(big, CHUNKED_HEAD "0\r\nX: ", n + 6);
    memset(big + n + 6, 't', 9000);
    big[n + 9006] = '\0';
    assert_int_equal(http(big, &req), SBX_WIRE_MALFORMED);
}

static void http_head_is_bounded(void **state)
{
    (void)state;
    static struct sbx_wire_http_request req;
    static char msg[80000];
    size_t n = (size_t)sprintf(msg, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 100; i++) n += (size_t)sprintf(msg + n, "X-%d: v\r\n", i);
    strcpy(msg + n, "\r\n");
    assert_int_equal(http(msg, &req), SBX_WIRE_OK);
    assert_int_equal(req.nheaders, 100);
    strcpy(msg + n, "X-100: v\r\n\r\n");
    assert_int_equal(http(msg, &req), SBX_WIRE_MALFORMED);
    /* One huge header: need more below 64 KiB, malformed beyond. */
    n = (size_t)sprintf(msg, "GET / HTTP/1.1\r\nX-Big: ");
    memset(msg + n, 'v', 65536 - n);
    msg[65536] = '\0';
    assert_int_equal(http(msg, &req), SBX_WIRE_NEED_MORE);
    msg[65536] = 'v';
    msg[65537] = '\0';
    assert_int_equal(http(msg, &req), SBX_WIRE_MALFORMED);
}

static void http_body_larger_than_buffer_is_too_large(void **state)
{
    (void)state;
    struct sbx_wire_http_request req;
    uint8_t small[4];
    const char *msg = "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456";
    assert_int_equal(sbx_wire_http_parse((const uint8_t *)msg, strlen(msg), small, sizeof small,
                                         &req), SBX_WIRE_TOO_LARGE);
    assert_int_equal(req.body_len, 4);
    assert_memory_equal(req.body, "0123", 4);
    span_equals(req.host, "x");
    const char *chunked = CHUNKED_HEAD "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
    assert_int_equal(sbx_wire_http_parse((const uint8_t *)chunked, strlen(chunked), small,
                                         sizeof small, &req), SBX_WIRE_TOO_LARGE);
    assert_int_equal(req.body_len, 4);
    assert_memory_equal(req.body, "abcd", 4);
}

static void http_pipelined_requests_follow_consumed(void **state)
{
    (void)state;
    struct sbx_wire_http_request req;
    const char *two = "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /b?q=1#f HTTP/1.1\r\n\r\n";
    assert_int_equal(http(two, &req), SBX_WIRE_OK);
    span_equals(req.path, "/a");
    assert_int_equal(http(two + req.consumed, &req), SBX_WIRE_OK);
    span_equals(req.path, "/b");
    span_equals(req.query, "q=1");
    assert_int_equal(http("GET /p#frag?notquery HTTP/1.1\r\n\r\n", &req), SBX_WIRE_OK);
    span_equals(req.path, "/p");
    assert_int_equal(req.query.len, 0);
    assert_int_equal(http("GET http://evil.example/x?y HTTP/1.1\r\n\r\n", &req), SBX_WIRE_OK);
    span_equals(req.path, "http://evil.example/x");
}

static void query_decode_splits_and_decodes(void **state)
{
    (void)state;
    const char *q = "user=ci%20bot&token=a%2Bb+c&x&&=v&nul=%00z&bad=%zz%4&k==";
    char out[128];
    struct sbx_wire_kv kv[8];
    size_t n;
    assert_int_equal(sbx_wire_query_decode(q, strlen(q), out, sizeof out, kv, 8, &n), SBX_WIRE_OK);
    assert_int_equal(n, 7);
    assert_string_equal(kv[0].key, "user");
    assert_string_equal(kv[0].value, "ci bot");
    assert_string_equal(kv[1].value, "a+b c");
    assert_string_equal(kv[2].key, "x");
    assert_int_equal(kv[2].value_len, 0);
    assert_int_equal(kv[3].key_len, 0);
    assert_string_equal(kv[3].value, "v");
    assert_int_equal(kv[4].value_len, 2);
    assert_memory_equal(kv[4].value, "\0z", 2);
    assert_string_equal(kv[5].value, "%zz%4");
    assert_string_equal(kv[6].value, "=");
    /* Bounds: pairs, then output bytes. */
    assert_int_equal(sbx_wire_query_decode(q, strlen(q), out, sizeof out, kv, 2, &n),
                     SBX_WIRE_TOO_LARGE);
    assert_int_equal(n, 2);
    assert_int_equal(sbx_wire_query_decode(q, strlen(q), out, 20, kv, 8, &n), SBX_WIRE_TOO_LARGE);
    assert_int_equal(n, 1);
    assert_int_equal(sbx_wire_query_decode("", 0, out, 1, kv, 8, &n), SBX_WIRE_OK);
    assert_int_equal(n, 0);
}

/* ---- TLS -------------------------------------------------------------------------------- */

static struct sbx_wire_tls_hello hello;   /* 17 KiB: static, not on the test's stack */

static void tls_parses_real_hellos(void **state)
{
    (void)state;
    struct { const char *file, *sni; int tls13; const char *alpn0, *alpn1; } cases[] = {
        {"tls_curl.bin", "registry.mocks.lan", 1, "h2", "http/1.1"},
        {"tls_node.bin", "canary.example.com", 1, NULL, NULL},
        {"tls_openssl_alpn.bin", "pkg.example.org", 0, "h2", "http/1.1"},
    };
    for (size_t i = 0; i < 3; i++) {
        struct bytes b = fixture(cases[i].file);
        assert_int_equal(sbx_wire_tls_parse_client_hello(b.p, b.len, &hello), SBX_WIRE_OK);
        assert_int_equal(hello.has_sni, 1);
        assert_int_equal(hello.sni_plausible, 1);
        assert_string_equal(hello.sni, cases[i].sni);
        assert_int_equal(hello.tls13, cases[i].tls13);
        assert_int_equal(hello.max_version, cases[i].tls13 ? 0x0304 : 0x0303);
        assert_int_equal(hello.legacy_version, 0x0303);
        assert_int_equal(hello.consumed, b.len);
        if (cases[i].alpn0) {
            assert_int_equal(hello.nalpn, 2);
            span_equals(hello.alpn[0], cases[i].alpn0);
            span_equals(hello.alpn[1], cases[i].alpn1);
        } else {
            assert_int_equal(hello.nalpn, 0);
        }
        free(b.p);
    }
}

static void tls_every_prefix_is_incomplete(void **state)
{
    (void)state;
    const char *files[] = {"tls_curl.bin", "tls_node.bin", "tls_openssl_alpn.bin"};
    for (size_t f = 0; f < 3; f++) {
        struct bytes b = fixture(files[f]);
        for (size_t n = 0; n < b.len; n++) {
            uint8_t *c = exact_copy(b.p, n);
            assert_int_equal(sbx_wire_tls_parse_client_hello(c, n, &hello), SBX_WIRE_NEED_MORE);
            free(c);
        }
        free(b.p);
    }
}

/* Re-frame one record's payload into records of `each` bytes. */
static size_t reframe(const struct bytes *b, size_t each, uint8_t *out)
{
    size_t payload = b->len - 5, o = 0;
    for (size_t at = 0; at < payload; at += each) {
        size_t n = payload - at < each ? payload - at : each;
        out[o++] = 22;
        out[o++] = 3;
        out[o++] = 1;
        out[o++] = (uint8_t)(n >> 8);
        out[o++] = (uint8_t)n;
        memcpy(out + o, b->p + 5 + at, n);
        o += n;
    }
    return o;
}

static void tls_reassembles_a_hello_split_over_records(void **state)
{
    (void)state;
    struct bytes b = fixture("tls_curl.bin");
    static uint8_t split[6 * 1024];
    size_t each_sizes[] = {1, 7, 100, 511};
    for (size_t i = 0; i < 4; i++) {
        size_t n = reframe(&b, each_sizes[i], split);
        assert_int_equal(sbx_wire_tls_parse_client_hello(split, n, &hello), SBX_WIRE_OK);
        assert_string_equal(hello.sni, "registry.mocks.lan");
        assert_int_equal(hello.consumed, n);
        assert_int_equal(sbx_wire_tls_parse_client_hello(split, n - 1, &hello), SBX_WIRE_NEED_MORE);
    }
    /* An alert record in the middle of the hello. */
    size_t n = reframe(&b, 100, split);
    split[105] = 21;
    assert_int_equal(sbx_wire_tls_parse_client_hello(split, n, &hello), SBX_WIRE_MALFORMED);
    free(b.p);
}

static void tls_tells_other_protocols_apart(void **state)
{
    (void)state;
    const uint8_t get[] = "GET / HTTP/1.1\r\n";
    assert_int_equal(sbx_wire_tls_parse_client_hello(get, sizeof get - 1, &hello), SBX_WIRE_NOT_PROTO);
    const uint8_t not3[] = {22, 2, 0, 0, 5};
    assert_int_equal(sbx_wire_tls_parse_client_hello(not3, 5, &hello), SBX_WIRE_NOT_PROTO);
    /* SSLv2-compatible hello: recognised, not parsed. */
    const uint8_t v2[] = {0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15};
    assert_int_equal(sbx_wire_tls_parse_client_hello(v2, sizeof v2, &hello), SBX_WIRE_UNSUPPORTED);
    assert_int_equal(sbx_wire_tls_parse_client_hello(v2, 2, &hello), SBX_WIRE_NEED_MORE);
    assert_int_equal(sbx_wire_tls_parse_client_hello(v2, 0, &hello), SBX_WIRE_NEED_MORE);
    const uint8_t zero_record[] = {22, 3, 1, 0, 0};
    assert_int_equal(sbx_wire_tls_parse_client_hello(zero_record, 5, &hello), SBX_WIRE_MALFORMED);
    const uint8_t huge_record[] = {22, 3, 1, 0x40, 0x01};
    assert_int_equal(sbx_wire_tls_parse_client_hello(huge_record, 5, &hello), SBX_WIRE_MALFORMED);
    const uint8_t server_hello[] = {22, 3, 3, 0, 4, 2, 0, 0, 0};
    assert_int_equal(sbx_wire_tls_parse_client_hello(server_hello, 9, &hello), SBX_WIRE_MALFORMED);
}

/* A ClientHello record around the given extensions block (its contents, without the length). */
static size_t make_hello(const uint8_t *ext, size_t ext_len, uint8_t *out)
{
    size_t o = 9;
    out[o++] = 3;                                           /* legacy_version 1.2 */
    out[o++] = 3;
    memset(out + o, 0xA5, 32);                              /* random */
    o += 32;
    out[o++] = 0;                                           /* session id */
    memcpy(out + o, "\x00\x02\x13\x01", 4);                 /* one cipher suite */
    o += 4;
    memcpy(out + o, "\x01\x00", 2);                         /* null compression */
    o += 2;
    out[o++] = (uint8_t)(ext_len >> 8);
    out[o++] = (uint8_t)ext_len;
    memcpy(out + o, ext, ext_len);
    o += ext_len;
    size_t body = o - 9, rec = o - 5;
    const uint8_t head[9] = {22, 3, 1, (uint8_t)(rec >> 8), (uint8_t)rec, 1, (uint8_t)(body >> 16),
                             (uint8_t)(body >> 8), (uint8_t)body};
    memcpy(out, head, 9);
    return o;
}

/* A server_name extension for one host_name. */
static size_t sni_ext(const uint8_t *name, size_t n, uint8_t *out)
{
    const uint8_t head[9] = {0, 0, (uint8_t)((n + 5) >> 8), (uint8_t)(n + 5),
                             (uint8_t)((n + 3) >> 8), (uint8_t)(n + 3), 0, (uint8_t)(n >> 8),
                             (uint8_t)n};
    memcpy(out, head, 9);
    memcpy(out + 9, name, n);
    return 9 + n;
}

static void tls_escapes_hostile_sni(void **state)
{
    (void)state;
    uint8_t ext[600], rec[800];
    const uint8_t evil[] = "evil\0.com\n\"x\\";
    size_t n = make_hello(ext, sni_ext(evil, sizeof evil - 1, ext), rec);
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_OK);
    assert_int_equal(hello.sni_plausible, 0);
    assert_string_equal(hello.sni, "evil\\000.com\\010\"x\\092");
    assert_int_equal(hello.max_version, 0x0303);
    const char *implausible[] = {"a..b", ".a", "a.", "-\xff", "a b"};
    for (size_t i = 0; i < 5; i++) {
        n = make_hello(ext, sni_ext((const uint8_t *)implausible[i], strlen(implausible[i]), ext),
                       rec);
        assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_OK);
        assert_int_equal(hello.sni_plausible, 0);
    }
    uint8_t long_name[256];
    memset(long_name, 'a', sizeof long_name);
    n = make_hello(ext, sni_ext(long_name, 255, ext), rec);
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_OK);
    assert_int_equal(hello.sni_plausible, 0);               /* one 255-byte label */
    n = make_hello(ext, sni_ext(long_name, 256, ext), rec);
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_MALFORMED);
    n = make_hello(ext, sni_ext(long_name, 0, ext), rec);   /* empty host_name */
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_MALFORMED);
}

static void tls_rejects_lengths_that_do_not_nest(void **state)
{
    (void)state;
    uint8_t ext[600], rec[800];
    size_t elen = sni_ext((const uint8_t *)"a.example", 9, ext);
    size_t n = make_hello(ext, elen, rec);
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_OK);
    size_t ext_at = n - elen;
    rec[ext_at + 3] = 200;                                  /* extension longer than the rest */
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_MALFORMED);
    n = make_hello(ext, elen, rec);
    rec[ext_at - 1] = (uint8_t)(elen + 1);                  /* extensions block too long */
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_MALFORMED);
    n = make_hello(ext, elen, rec);
    rec[ext_at + 5] = 200;                                  /* name list longer than the ext */
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_MALFORMED);
    n = make_hello(ext, elen, rec);
    rec[ext_at + 8] = 10;                                   /* host_name longer than the list */
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_MALFORMED);
    n = make_hello(ext, elen, rec);
    rec[8] = (uint8_t)(rec[8] + 1);                         /* handshake longer than records */
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_NEED_MORE);
    n = make_hello(ext, elen, rec);
    rec[8] = (uint8_t)(rec[8] - 1);                         /* body shorter than its vectors */
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_MALFORMED);
    n = make_hello(ext, elen, rec);
    rec[9 + 2 + 32] = 33;                                   /* session id over 32 */
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_MALFORMED);
    /* The same extension twice; two host_names. */
    memcpy(ext + elen, ext, elen);
    n = make_hello(ext, 2 * elen, rec);
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_MALFORMED);
    const uint8_t two_names[] = {0, 0, 0, 10, 0, 8, 0, 0, 1, 'a', 0, 0, 1, 'b'};
    n = make_hello(two_names, sizeof two_names, rec);
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_MALFORMED);
}

static void tls_reads_alpn_and_versions_bounded(void **state)
{
    (void)state;
    uint8_t ext[600], rec[800];
    size_t o = 0;
    /* ALPN with 20 protocols "p0".."p19": 16 kept, the rest counted as truncated. */
    ext[o++] = 0; ext[o++] = 16;
    size_t len_at = o;
    o += 4;
    for (int i = 0; i < 20; i++) {
        int w = sprintf((char *)ext + o + 1, "p%d", i);
        ext[o] = (uint8_t)w;
        o += 1 + (size_t)w;
    }
    size_t list = o - len_at - 4;
    ext[len_at] = (uint8_t)((list + 2) >> 8); ext[len_at + 1] = (uint8_t)(list + 2);
    ext[len_at + 2] = (uint8_t)(list >> 8); ext[len_at + 3] = (uint8_t)list;
    /* supported_versions: GREASE, 1.3, 1.2. */
    const uint8_t sv[] = {0, 43, 0, 7, 6, 0x7a, 0x7a, 3, 4, 3, 3};
    memcpy(ext + o, sv, sizeof sv);
    o += sizeof sv;
    size_t n = make_hello(ext, o, rec);
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_OK);
    assert_int_equal(hello.nalpn, 16);
    assert_int_equal(hello.alpn_truncated, 1);
    span_equals(hello.alpn[15], "p15");
    assert_int_equal(hello.tls13, 1);
    assert_int_equal(hello.max_version, 0x0304);
    assert_int_equal(hello.has_sni, 0);
    const uint8_t odd_versions[] = {0, 43, 0, 4, 3, 3, 4, 3};
    n = make_hello(odd_versions, sizeof odd_versions, rec);
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_MALFORMED);
    const uint8_t empty_alpn_name[] = {0, 16, 0, 3, 0, 1, 0};
    n = make_hello(empty_alpn_name, sizeof empty_alpn_name, rec);
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_MALFORMED);
}

static void tls_bounds_the_hello_size(void **state)
{
    (void)state;
    /* A handshake header announcing 16 KiB + 1: too large, known from the first record. */
    const uint8_t big[] = {22, 3, 1, 0, 4, 1, 0, 0x40, 0x01};
    assert_int_equal(sbx_wire_tls_parse_client_hello(big, sizeof big, &hello), SBX_WIRE_TOO_LARGE);
    const uint8_t huge[] = {22, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff};
    assert_int_equal(sbx_wire_tls_parse_client_hello(huge, sizeof huge, &hello), SBX_WIRE_TOO_LARGE);
    /* Without extensions (TLS 1.2 may omit them) the hello is still valid. */
    uint8_t rec[200];
    const uint8_t none[1] = {0};
    size_t n = make_hello(none, 0, rec) - 2;
    rec[3] = (uint8_t)((n - 5) >> 8); rec[4] = (uint8_t)(n - 5);
    rec[8] = (uint8_t)(n - 9);
    assert_int_equal(sbx_wire_tls_parse_client_hello(rec, n, &hello), SBX_WIRE_OK);
    assert_int_equal(hello.nextensions, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escape_turns_unsafe_bytes_into_decimal),
        cmocka_unit_test(dns_parses_real_udp_queries),
        cmocka_unit_test(dns_parses_real_tcp_query_and_pipelined_pair),
        cmocka_unit_test(dns_every_prefix_is_incomplete),
        cmocka_unit_test(dns_escapes_label_bytes_that_could_forge_structure),
        cmocka_unit_test(dns_rejects_compression_pointers_in_questions),
        cmocka_unit_test(dns_enforces_label_and_name_limits),
        cmocka_unit_test(dns_rejects_headers_that_are_not_one_plain_query),
        cmocka_unit_test(dns_accepts_edns_opt_and_nothing_else_in_additional),
        cmocka_unit_test(dns_builds_an_a_response_byte_for_byte),
        cmocka_unit_test(dns_builds_every_answer_type),
        cmocka_unit_test(dns_builder_rejects_bad_answers),
        cmocka_unit_test(dns_escaped_name_round_trips_through_the_builder),
        cmocka_unit_test(dns_truncates_big_udp_replies_with_tc),
        cmocka_unit_test(dns_builder_never_writes_past_cap),
        cmocka_unit_test(dns_response_checker_stops_pointer_loops),
        cmocka_unit_test(http_parses_curl_get),
        cmocka_unit_test(http_reads_real_bodies),
        cmocka_unit_test(http_every_prefix_is_incomplete),
        cmocka_unit_test(http_tells_other_protocols_apart),
        cmocka_unit_test(http_rejects_ambiguous_lines),
        cmocka_unit_test(http_content_length_forms),
        cmocka_unit_test(http_transfer_encoding_forms),
        cmocka_unit_test(http_chunk_sizes_are_bounded),
        cmocka_unit_test(http_chunk_extensions_and_trailers_are_tolerated),
        cmocka_unit_test(http_head_is_bounded),
        cmocka_unit_test(http_body_larger_than_buffer_is_too_large),
        cmocka_unit_test(http_pipelined_requests_follow_consumed),
        cmocka_unit_test(query_decode_splits_and_decodes),
        cmocka_unit_test(tls_parses_real_hellos),
        cmocka_unit_test(tls_every_prefix_is_incomplete),
        cmocka_unit_test(tls_reassembles_a_hello_split_over_records),
        cmocka_unit_test(tls_tells_other_protocols_apart),
        cmocka_unit_test(tls_escapes_hostile_sni),
        cmocka_unit_test(tls_rejects_lengths_that_do_not_nest),
        cmocka_unit_test(tls_reads_alpn_and_versions_bounded),
        cmocka_unit_test(tls_bounds_the_hello_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
