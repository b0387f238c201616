/* test_canary.c — the canary matcher: every encoding, nestings, DNS labels, near misses, hostile sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary.h"

static const char CANARY_A[] = "Zq7Kp2VfR9xWm4LtB8nYc3Hd";   /* 24 base62 chars */
static const char CANARY_B[] = "u5GjT1sEo6XaQ0rNk9PyWz2MbVcD";

/* ---- a growable string and the encoders under test -------------------------------------- */

struct str {
    char *p;
    size_t len;
};

static struct str str_of(const char *s, size_t n)
{
    struct str r = {malloc(n + 1), n};
    assert_non_null(r.p);
    memcpy(r.p, s, n);
    r.p[n] = 0;
    return r;
}

static struct str str_new(size_t cap)
{
    struct str r = {calloc(1, cap + 1), 0};
    assert_non_null(r.p);
    return r;
}

static struct str enc_base64_with(struct str in, const char *alphabet, int pad)
{
    struct str o = str_new(in.len * 2 + 8);
    const unsigned char *p = (const unsigned char *)in.p;
    for (size_t i = 0; i < in.len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < in.len ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < in.len ? p[i + 2] : 0);
        size_t chars = i + 2 < in.len ? 4 : i + 1 < in.len ? 3 : 2;
        for (size_t k = 0; k < 4; k++)
            if (k < chars) o.p[o.len++] = alphabet[(v >> (18 - 6 * k)) & 63];
            else if (pad) o.p[o.len++] = '=';
    }
    free(in.p);
    return o;
}

static struct str enc_base64(struct str in)
{
    return enc_base64_with(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 1);
}

static struct str enc_base64url(struct str in)
{
    return enc_base64_with(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 0);
}

static struct str enc_hex_case(struct str in, const char *digits)
{
    struct str o = str_new(in.len * 2);
    for (size_t i = 0; i < in.len; i++) {
        o.p[o.len++] = digits[(unsigned char)in.p[i] >> 4];
        o.p[o.len++] = digits[(unsigned char)in.p[i] & 15];
    }
    free(in.p);
    return o;
}

static struct str enc_hex(struct str in) { return enc_hex_case(in, "0123456789abcdef"); }
static struct str enc_HEX(struct str in) { return enc_hex_case(in, "0123456789ABCDEF"); }

/* Every byte percent-encoded, so the plain text is gone. */
static struct str enc_url(struct str in)
{
    struct str o = str_new(in.len * 3);
    for (size_t i = 0; i < in.len; i++) o.len += (size_t)sprintf(o.p + o.len, "%%%02X", (unsigned char)in.p[i]);
    free(in.p);
    return o;
}

static struct str enc_json(struct str in)
{
    struct str o = str_new(in.len * 6);
    for (size_t i = 0; i < in.len; i++) o.len += (size_t)sprintf(o.p + o.len, "\\u%04x", (unsigned char)in.p[i]);
    free(in.p);
    return o;
}

static struct str enc_base32_case(struct str in, const char *alphabet)
{
    struct str o = str_new(in.len * 2 + 8);
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < in.len; i++) {
        acc = acc << 8 | (unsigned char)in.p[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            o.p[o.len++] = alphabet[(acc >> bits) & 31];
        }
    }
    if (bits) o.p[o.len++] = alphabet[(acc << (5 - bits)) & 31];
    free(in.p);
    return o;
}

static struct str enc_base32(struct str in) { return enc_base32_case(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"); }
static struct str enc_base32_lower(struct str in) { return enc_base32_case(in, "abcdefghijklmnopqrstuvwxyz234567"); }

static struct str enc_bytes(struct str in)
{
    struct str o = str_new(in.len * 5 + 2);
    o.p[o.len++] = '[';
    for (size_t i = 0; i < in.len; i++) o.len += (size_t)sprintf(o.p + o.len, "%s%u", i ? ", " : "", (unsigned char)in.p[i]);
    o.p[o.len++] = ']';
    free(in.p);
    return o;
}

/* text + prefix + suffix around it. */
static struct str wrap(const char *prefix, struct str in, const char *suffix)
{
    size_t a = strlen(prefix), b = strlen(suffix);
    struct str o = str_new(a + in.len + b);
    memcpy(o.p, prefix, a);
    memcpy(o.p + a, in.p, in.len);
    memcpy(o.p + a + in.len, suffix, b);
    o.len = a + in.len + b;
    free(in.p);
    return o;
}

/* ---- scanning helpers ------------------------------------------------------------------------- */

static struct canary canaries[2];

static int setup(void **state)
{
    (void)state;
    memset(canaries, 0, sizeof canaries);
    snprintf(canaries[0].source, sizeof canaries[0].source, "file:~/.npmrc");
    snprintf(canaries[0].value, sizeof canaries[0].value, "%s", CANARY_A);
    snprintf(canaries[1].source, sizeof canaries[1].source, "env:NPM_TOKEN");
    snprintf(canaries[1].value, sizeof canaries[1].value, "%s", CANARY_B);
    return 0;
}

static struct canary_hits scan(struct str data)
{
    struct canary_hits h = {0};
    assert_int_equal(canary_scan(canaries, 2, (const unsigned char *)data.p, data.len, "test", &h), 0);
    free(data.p);
    return h;
}

/* Exactly one hit, on canary A, with this chain. */
static void expect_one(struct str data, const char *chain)
{
    struct canary_hits h = scan(data);
    if (h.n != 1) fail_msg("expected 1 hit (%s), got %zu", chain, h.n);
    assert_ptr_equal(h.v[0].canary, &canaries[0]);
    assert_string_equal(h.v[0].chain, chain);
    assert_string_equal(h.v[0].where, "test");
    canary_hits_free(&h);
}

static void expect_none(struct str data)
{
    struct canary_hits h = scan(data);
    if (h.n) fail_msg("unexpected hit, chain %s", h.v[0].chain);
    canary_hits_free(&h);
}

static struct str a(void) { return str_of(CANARY_A, strlen(CANARY_A)); }

/* ---- cases ------------------------------------------------------------------------------------ */

static void raw_hit_records_source_where_chain(void **state)
{
    (void)state;
    expect_one(wrap("POST /x HTTP/1.1\r\n\r\ntoken=npm_", a(), "&x=1"), "raw");
    struct canary_hits h = scan(wrap("", a(), ""));
    assert_int_equal(h.n, 1);
    assert_string_equal(h.v[0].canary->source, "file:~/.npmrc");
    canary_hits_free(&h);
}

static void single_encodings_hit(void **state)
{
    (void)state;
    expect_one(wrap("{\"d\":\"", enc_base64(wrap("npm_", a(), "")), "\"}"), "base64");
    expect_one(wrap("?d=", enc_base64url(wrap("tok:", a(), "\n")), " "), "base64");
    expect_one(wrap("x ", enc_hex(wrap("ab", a(), "")), " y"), "hex");
    expect_one(wrap("x ", enc_HEX(wrap("a", a(), "")), " y"), "hex");
    expect_one(wrap("q=", enc_url(a()), "&z"), "url");
    expect_one(wrap("{\"s\":\"", enc_json(a()), "\"}"), "json");
    expect_one(wrap(" ", enc_base32(wrap("k=", a(), "")), " "), "base32");
    expect_one(wrap("{\"type\":\"Buffer\",\"data\":", enc_bytes(a()), "}"), "bytes");
}

/* The canary at every byte offset of the encoded blob, and the blob glued to text so the run
 * starts off the encoding's own alignment. */
static void base64_any_alignment(void **state)
{
    (void)state;
    const char *pre[] = {"", "x", "xy", "xyz", "wxyz"};
    const char *glue[] = {"", "Q", "Qk", "Qkx"};
    for (size_t i = 0; i < 5; i++)
        for (size_t g = 0; g < 4; g++) {
            expect_one(wrap(glue[g], enc_base64(wrap(pre[i], a(), "tail")), ""), "base64");
            expect_one(wrap(glue[g], enc_base64url(wrap(pre[i], a(), "")), "."), "base64");
        }
}

static void hex_and_base32_any_alignment(void **state)
{
    (void)state;
    expect_one(wrap("f", enc_hex(a()), ""), "hex");
    const char *glue[] = {"", "A", "AB", "ABC", "ABCD", "ABCDE", "ABCDEF", "ABCDEFG"};
    for (size_t g = 0; g < 8; g++) expect_one(wrap(glue[g], enc_base32(wrap("zz", a(), "")), "="), "base32");
}

static void base64_with_line_breaks(void **state)
{
    (void)state;
    struct str b = enc_base64(wrap("-----BEGIN-----\n", a(), "\n-----END-----\n"));
    struct str o = str_new(b.len * 2);
    for (size_t i = 0; i < b.len; i++) {
        if (i && i % 10 == 0) o.p[o.len++] = '\n';
        o.p[o.len++] = b.p[i];
    }
    free(b.p);
    expect_one(o, "base64");
}

typedef struct str (*encoder)(struct str);

static const struct {
    const char *name;
    encoder enc;
} ENCODERS[] = {
    {"base64", enc_base64}, {"hex", enc_hex}, {"url", enc_url}, {"json", enc_json}, {"base32", enc_base32},
};

static void every_nesting_of_two_hits_with_its_chain(void **state)
{
    (void)state;
    size_t n = sizeof ENCODERS / sizeof *ENCODERS;
    for (size_t outer = 0; outer < n; outer++)
        for (size_t inner = 0; inner < n; inner++) {
            char chain[64];
            snprintf(chain, sizeof chain, "%s>%s", ENCODERS[outer].name, ENCODERS[inner].name);
            struct str s = ENCODERS[outer].enc(ENCODERS[inner].enc(wrap("t=", a(), ";")));
            expect_one(wrap("payload ", s, " end"), chain);
        }
}

static void three_levels_hit_four_do_not(void **state)
{
    (void)state;
    expect_one(enc_base64(enc_hex(enc_base64(a()))), "base64>hex>base64");
    expect_one(enc_url(enc_base64url(enc_json(a()))), "url>base64>json");
    expect_one(enc_hex(enc_bytes(enc_base64(a()))), "hex>bytes>base64");
    expect_none(enc_base64(enc_base64(enc_base64(enc_base64(a())))));
}

/* hex or base32 of the canary cut into DNS labels, text and wire format. */
static struct str labels(struct str in, size_t every, const char *domain)
{
    struct str o = str_new(in.len * 2 + strlen(domain) + 2);
    for (size_t i = 0; i < in.len; i++) {
        if (i && i % every == 0) o.p[o.len++] = '.';
        o.p[o.len++] = in.p[i];
    }
    o.len += (size_t)sprintf(o.p + o.len, ".%s", domain);
    free(in.p);
    return o;
}

static struct str wire(struct str dotted)
{
    struct str o = str_new(dotted.len + 32);   /* header 12, one length byte more than dots, tail 5 */
    memcpy(o.p, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
    o.len = 12;
    for (char *tok = strtok(dotted.p, "."); tok; tok = strtok(NULL, ".")) {
        o.p[o.len++] = (char)strlen(tok);
        memcpy(o.p + o.len, tok, strlen(tok));
        o.len += strlen(tok);
    }
    memcpy(o.p + o.len, "\0\0\1\0\1", 5);
    o.len += 5;
    free(dotted.p);
    return o;
}

static void dns_labels_are_joined(void **state)
{
    (void)state;
    expect_one(wrap("query ", labels(enc_hex(a()), 16, "evil.example"), " A"), "dns>hex");
    expect_one(wrap("", labels(enc_HEX(a()), 30, "x.evil.example"), ""), "dns>hex");
    expect_one(wrap("host=", labels(enc_base32_lower(a()), 13, "evil.example"), "\n"), "dns>base32");
    expect_one(wire(labels(enc_hex(a()), 20, "evil.example")), "dns>hex");
    expect_one(wire(labels(enc_base32_lower(a()), 9, "evil.example")), "dns>base32");
}

static void near_misses_do_not_hit(void **state)
{
    (void)state;
    char changed[sizeof CANARY_A];
    memcpy(changed, CANARY_A, sizeof changed);
    changed[12] = changed[12] == 'x' ? 'y' : 'x';
    expect_none(str_of(changed, strlen(changed)));
    expect_none(enc_base64(str_of(changed, strlen(changed))));
    expect_none(enc_hex(str_of(changed, strlen(changed))));
    expect_none(str_of(CANARY_A, strlen(CANARY_A) - 1));
    expect_none(wrap("x", str_of(CANARY_A, strlen(CANARY_A) - 1), "!"));
    expect_none(enc_base64(str_of(CANARY_A, 20)));
    expect_none(labels(enc_hex(str_of(CANARY_A, 20)), 10, "evil.example"));
    /* The two halves in separate runs never join. */
    struct str half = wrap(" ", enc_base64(str_of(CANARY_A + 12, 12)), "");
    expect_none(wrap("", enc_base64(str_of(CANARY_A, 12)), half.p));
    free(half.p);
}

static void each_canary_once_both_found(void **state)
{
    (void)state;
    struct str s = wrap(CANARY_A, str_of(CANARY_B, strlen(CANARY_B)), CANARY_A);
    struct canary_hits h = scan(s);
    assert_int_equal(h.n, 2);
    assert_true(h.v[0].canary != h.v[1].canary);
    /* Shallowest chain wins: raw A plus base64 A is one raw hit. */
    canary_hits_free(&h);
    h = scan(wrap(CANARY_A, enc_base64(a()), ""));
    assert_int_equal(h.n, 1);
    assert_string_equal(h.v[0].chain, "raw");
    canary_hits_free(&h);
}

static void short_values_are_ignored(void **state)
{
    (void)state;
    struct canary c = {.source = "x", .value = "short"};
    struct canary_hits h = {0};
    assert_int_equal(canary_scan(&c, 1, (const unsigned char *)"short short", 11, "w", &h), 0);
    assert_int_equal(h.n, 0);
}

static void hostile_inputs_stay_bounded(void **state)
{
    (void)state;
    size_t n = 64 * 1024;
    struct str s = str_new(n);
    memset(s.p, 'A', n);
    s.len = n;
    expect_none(s);

    /* 1 MiB of random bytes, then the same as base64 text: no hit, no budget trouble. */
    size_t big = 1 << 20;
    struct str r = str_new(big);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < big; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        r.p[i] = (char)(x >> 24);
    }
    r.len = big;
    struct str r64 = enc_base64(str_of(r.p, big));
    struct canary_hits h = scan(r);
    assert_int_equal(h.n, 0);
    assert_false(h.budget_hit);
    canary_hits_free(&h);
    h = scan(wrap("", r64, CANARY_A));
    assert_int_equal(h.n, 1);
    canary_hits_free(&h);

    /* Self-similar nesting ("QUFB" is base64 of "AAA") hits the budget and says so. */
    struct str q = str_new(4 * 512 * 1024);
    for (size_t i = 0; i < 512 * 1024; i++) memcpy(q.p + 4 * i, "QUFB", 4);
    q.len = 4 * 512 * 1024;
    h = scan(q);
    assert_int_equal(h.n, 0);
    assert_true(h.budget_hit);
    assert_true(h.decoded_bytes <= CANARY_DECODE_BUDGET);
    canary_hits_free(&h);

    /* Long runs of digits/commas, percent signs, dots and wire-format length bytes. */
    struct str d = str_new(big);
    for (size_t i = 0; i < big; i++) d.p[i] = "1,%.\x05" "a5\\"[i % 8];
    d.len = big;
    expect_none(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(raw_hit_records_source_where_chain, setup),
        cmocka_unit_test_setup(single_encodings_hit, setup),
        cmocka_unit_test_setup(base64_any_alignment, setup),
        cmocka_unit_test_setup(hex_and_base32_any_alignment, setup),
        cmocka_unit_test_setup(base64_with_line_breaks, setup),
        cmocka_unit_test_setup(every_nesting_of_two_hits_with_its_chain, setup),
        cmocka_unit_test_setup(three_levels_hit_four_do_not, setup),
        cmocka_unit_test_setup(dns_labels_are_joined, setup),
        cmocka_unit_test_setup(near_misses_do_not_hit, setup),
        cmocka_unit_test_setup(each_canary_once_both_found, setup),
        cmocka_unit_test_setup(short_values_are_ignored, setup),
        cmocka_unit_test_setup(hostile_inputs_stay_bounded, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
