/* fuzz_dns.c — libFuzzer target: DNS query parser (UDP and TCP forms), then a round trip
 * through the response builder and the response checker. Any broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

enum { RDATA_OFFSET_AFTER_QNAME = 4 + 2 + 2 + 2 + 4 + 2 };   /* qtype..rdlength */

static void check_name_text(const struct sbx_wire_dns_query *q)
{
    CHECK(strlen(q->name) == q->name_len);
    for (size_t i = 0; i < q->name_len; i++)
        CHECK(q->name[i] > 0x20 && q->name[i] < 0x7F);
}

/* Build one reply and check it parses back with the query's id and question. */
static void round_trip(const struct sbx_wire_dns_query *q, const struct sbx_wire_dns_answer *a,
                       enum sbx_wire_dns_transport t, size_t cap)
{
    uint8_t out[70000];
    size_t len;
    struct sbx_wire_dns_response_info info;
    CHECK(cap <= sizeof out);
    if (sbx_wire_dns_build_response(q, a, t, out, cap, &len) < 0) return;
    CHECK(len <= cap);
    const uint8_t *msg = out;
    if (t == SBX_WIRE_DNS_TCP) {
        CHECK(len >= 2 && ((size_t)out[0] << 8 | out[1]) == len - 2);
        msg += 2;
        len -= 2;
    } else {
        CHECK(len <= (q->has_edns ? SBX_WIRE_DNS_EDNS_SIZE : SBX_WIRE_DNS_UDP_PLAIN));
    }
    CHECK(sbx_wire_dns_check_response(msg, len, &info) == SBX_WIRE_OK);
    CHECK(info.id == q->id && info.qr && info.ra && info.rd == q->rd && info.qdcount == 1);
    CHECK(info.rcode == a->rcode);
    CHECK(memcmp(msg + SBX_WIRE_DNS_HEADER, q->qname_wire, q->qname_wire_len) == 0);
    /* A CNAME to the escaped text must encode back to the very same wire name. */
    if (a->type == SBX_WIRE_DNS_CNAME && a->u.target == q->name && info.ancount == 1) {
        size_t at = SBX_WIRE_DNS_HEADER + q->qname_wire_len + RDATA_OFFSET_AFTER_QNAME;
        CHECK(at + q->qname_wire_len <= len);
        CHECK(memcmp(msg + at, q->qname_wire, q->qname_wire_len) == 0);
    }
}

static void answer_all_ways(const struct sbx_wire_dns_query *q, const uint8_t *data, size_t size)
{
    struct sbx_wire_dns_answer a;
    memset(&a, 0, sizeof a);
    a.ttl = 60;
    a.type = SBX_WIRE_DNS_A;
    memcpy(a.u.a, "\x0a\x00\x00\x01", 4);
    round_trip(q, &a, SBX_WIRE_DNS_UDP, 4096);
    round_trip(q, &a, SBX_WIRE_DNS_TCP, 40);
    a.type = SBX_WIRE_DNS_CNAME;
    a.u.target = q->name;
    round_trip(q, &a, SBX_WIRE_DNS_UDP, 4096);
    round_trip(q, &a, SBX_WIRE_DNS_TCP, 70000);
    a.type = SBX_WIRE_DNS_MX;
    a.u.mx.preference = 10;
    a.u.mx.exchange = NULL;
    round_trip(q, &a, SBX_WIRE_DNS_UDP, 300);
    a.type = SBX_WIRE_DNS_TXT;
    a.u.txt.data = data;
    a.u.txt.len = size;
    round_trip(q, &a, SBX_WIRE_DNS_UDP, 4096);
    round_trip(q, &a, SBX_WIRE_DNS_TCP, 70000);
    a.type = 0;
    a.rcode = SBX_WIRE_DNS_NXDOMAIN;
    round_trip(q, &a, SBX_WIRE_DNS_UDP, 4096);
}

/* Names the caller passes may come from attacker bytes too (an echoed label): encode the input
 * as name text in answers to a fixed query. */
static void answer_with_text_names(const uint8_t *data, size_t size)
{
    static const uint8_t query[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                                   "\x03npm\x00\x00\x05\x00\x01";
    struct sbx_wire_dns_query q;
    struct sbx_wire_dns_answer a;
    char text[1100];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    CHECK(sbx_wire_dns_parse_query(query, sizeof query - 1, &q) == SBX_WIRE_OK);
    memset(&a, 0, sizeof a);
    a.type = SBX_WIRE_DNS_CNAME;
    a.u.target = text;
    round_trip(&q, &a, SBX_WIRE_DNS_UDP, 4096);
    a.type = SBX_WIRE_DNS_MX;
    a.u.mx.exchange = text;
    round_trip(&q, &a, SBX_WIRE_DNS_TCP, 600);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sbx_wire_dns_query q;
    struct sbx_wire_dns_response_info info;
    size_t consumed;
    if (sbx_wire_dns_parse_query(data, size, &q) == SBX_WIRE_OK) {
        check_name_text(&q);
        CHECK(sbx_wire_dns_parse_query(data, size - 1, &q) == SBX_WIRE_MALFORMED);
        sbx_wire_dns_parse_query(data, size, &q);
        answer_all_ways(&q, data, size);
    } else {
        answer_with_text_names(data, size);
    }
    sbx_wire_result r = sbx_wire_dns_parse_query_tcp(data, size, &q, &consumed);
    if (r == SBX_WIRE_OK) {
        check_name_text(&q);
        CHECK(consumed >= 2 + SBX_WIRE_DNS_HEADER && consumed <= size);
    }
    sbx_wire_dns_check_response(data, size, &info);
    return 0;
}
