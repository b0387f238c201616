/* test_fakenet_tables.c — the fake internet's tables and DNS answers without a sandbox: name <->
 * address mapping, every answer type as a valid response, FORMERR, flows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakenet_int.h"

static struct sbx_fnet *fresh(void)
{
    struct sbx_fakenet cfg = {.enabled = 1};
    sbx_error err = {0};
    struct sbx_fnet *f = sbx_fnet_new(&cfg, 0, NULL, NULL, &err);
    if (!f) fail_msg("sbx_fnet_new: %s", err.msg);
    return f;
}

/* A one-question query in wire form (name as dotted text). */
static size_t query(uint8_t *out, const char *name, uint16_t qtype, uint8_t opcode)
{
    size_t o = 0;
    const uint8_t hdr[12] = {0xab, 0xcd, (uint8_t)(0x01 | (opcode << 3)), 0, 0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(out, hdr, 12);
    o = 12;
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        out[o++] = (uint8_t)l;
        memcpy(out + o, p, l);
        o += l;
        p += l + (dot ? 1 : 0);
    }
    out[o++] = 0;
    out[o++] = (uint8_t)(qtype >> 8);
    out[o++] = (uint8_t)qtype;
    out[o++] = 0;
    out[o++] = 1;
    return o;
}

static void ask(struct sbx_fnet *f, const char *name, uint16_t qtype, uint8_t opcode,
                struct sbx_wire_dns_response_info *info)
{
    uint8_t msg[512];
    struct sbx_wire_dns_query q;
    size_t len = query(msg, name, qtype, opcode), out_len = 0;
    assert_int_equal(sbx_wire_dns_parse_query(msg, len, &q), SBX_WIRE_OK);
    assert_int_equal(fn_dns_reply(f, &q, SBX_WIRE_DNS_UDP, &out_len), 0);
    assert_int_equal(sbx_wire_dns_check_response(f->out, out_len, info), SBX_WIRE_OK);
    assert_int_equal(info->id, 0xabcd);
    assert_true(info->qr);
}

static void names_map_to_distinct_stable_addresses(void **state)
{
    (void)state;
    struct sbx_fnet *f = fresh();
    struct sbx_wire_dns_response_info info;
    ask(f, "exfil.example", SBX_WIRE_DNS_A, 0, &info);
    assert_int_equal(info.ancount, 1);
    assert_string_equal(f->answer, "127.1.0.1");
    ask(f, "other.example", SBX_WIRE_DNS_A, 0, &info);
    assert_string_equal(f->answer, "127.1.0.2");
    ask(f, "EXFIL.Example", SBX_WIRE_DNS_AAAA, 0, &info);
    assert_int_equal(info.ancount, 1);
    assert_string_equal(f->answer, "::ffff:127.1.0.1");
    struct fn_ep e = {.fam = 4, .addr = {127, 1, 0, 2}, .port = 80};
    assert_string_equal(fn_name_of(f, &e), "other.example");
    e.addr[3] = 9;
    assert_null(fn_name_of(f, &e));
    ask(f, "2.0.1.127.in-addr.arpa", SBX_WIRE_DNS_PTR, 0, &info);
    assert_int_equal(info.ancount, 1);
    assert_string_equal(f->answer, "other.example");
    ask(f, "9.9.9.9.in-addr.arpa", SBX_WIRE_DNS_PTR, 0, &info);
    assert_int_equal(info.ancount, 0);
    assert_int_equal(info.rcode, SBX_WIRE_DNS_NOERROR);
    sbx_fnet_free(f);
}

static void other_types_are_answered_sanely(void **state)
{
    (void)state;
    struct sbx_fnet *f = fresh();
    struct sbx_wire_dns_response_info info;
    ask(f, "m.example", SBX_WIRE_DNS_MX, 0, &info);
    assert_int_equal(info.ancount, 1);
    assert_string_equal(f->answer, "10 mail.m.example");
    ask(f, "t.example", SBX_WIRE_DNS_TXT, 0, &info);
    assert_int_equal(info.ancount, 1);
    ask(f, "c.example", SBX_WIRE_DNS_CNAME, 0, &info);
    assert_int_equal(info.ancount, 0);
    assert_int_equal(info.rcode, SBX_WIRE_DNS_NOERROR);   /* NODATA, never NXDOMAIN */
    ask(f, "s.example", SBX_WIRE_DNS_SOA, 0, &info);
    assert_int_equal(info.ancount, 0);
    ask(f, "any.example", SBX_WIRE_DNS_ANY, 0, &info);
    assert_int_equal(info.ancount, 1);
    ask(f, "u.example", SBX_WIRE_DNS_A, 2, &info);   /* STATUS opcode */
    assert_int_equal(info.rcode, SBX_WIRE_DNS_NOTIMP);
    /* a 63+63+63+60-byte name: mail.<name> does not fit, NODATA instead */
    char longname[256];
    memset(longname, 'a', sizeof longname);
    longname[63] = longname[127] = longname[191] = '.';
    longname[251] = 0;
    ask(f, longname, SBX_WIRE_DNS_MX, 0, &info);
    assert_int_equal(info.ancount, 0);
    sbx_fnet_free(f);
}

static void formerr_only_for_queries(void **state)
{
    (void)state;
    uint8_t msg[64] = {0x12, 0x34, 0x01, 0x00, 0, 5, 0, 0, 0, 0, 0, 0, 'x'}, out[64];
    assert_int_equal(fn_dns_formerr(msg, 13, out, sizeof out), 12);
    assert_int_equal(out[0], 0x12);
    assert_int_equal(out[1], 0x34);
    assert_true(out[2] & 0x80);
    assert_int_equal(out[3] & 0x0f, SBX_WIRE_DNS_FORMERR);
    msg[2] |= 0x80;   /* a response: never answered (no loops) */
    assert_int_equal(fn_dns_formerr(msg, 13, out, sizeof out), 0);
    assert_int_equal(fn_dns_formerr(msg, 5, out, sizeof out), 0);
}

static void flows_link_by_local_endpoint(void **state)
{
    (void)state;
    struct sbx_fnet *f = fresh();
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&lo, sizeof lo), 0);
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(9999)};
    inet_pton(AF_INET, "198.51.100.7", &dst.sin_addr);
    uint64_t id = sbx_fnet_flow(f, SOCK_DGRAM, s, 42, &dst, sizeof dst);
    assert_true(id != 0);
    assert_int_equal(sbx_fnet_flow(f, SOCK_DGRAM, s, 42, &dst, sizeof dst), id);   /* same UDP flow */
    dst.sin_port = htons(9998);
    assert_true(sbx_fnet_flow(f, SOCK_DGRAM, s, 42, &dst, sizeof dst) != id);
    dst.sin_port = 0;
    assert_int_equal(sbx_fnet_flow(f, SOCK_DGRAM, s, 42, &dst, sizeof dst), 0);   /* port 0 */
    struct sockaddr_in me;
    socklen_t l = sizeof me;
    assert_int_equal(getsockname(s, (struct sockaddr *)&me, &l), 0);
    struct fn_ep local;
    assert_int_equal(fn_ep_from_sa(&me, l, &local), 0);
    const struct fn_flow *fl = fn_flow_find(f, SOCK_DGRAM, &local);
    assert_non_null(fl);
    assert_int_equal(fl->pid, 42);
    assert_null(fn_flow_find(f, SOCK_STREAM, &local));
    /* IPv4-mapped IPv6 folds to IPv4 */
    struct sockaddr_in6 m6 = {.sin6_family = AF_INET6, .sin6_port = me.sin_port};
    m6.sin6_addr.s6_addr[10] = m6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(m6.sin6_addr.s6_addr + 12, &me.sin_addr, 4);
    struct fn_ep mapped;
    assert_int_equal(fn_ep_from_sa(&m6, sizeof m6, &mapped), 0);
    assert_true(fn_ep_eq(&mapped, &local));
    close(s);
    sbx_fnet_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_map_to_distinct_stable_addresses),
        cmocka_unit_test(other_types_are_answered_sanely),
        cmocka_unit_test(formerr_only_for_queries),
        cmocka_unit_test(flows_link_by_local_endpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
