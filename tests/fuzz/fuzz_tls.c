/* fuzz_tls.c — libFuzzer target: TLS ClientHello parser. Checks the escaped SNI, that ALPN
 * spans stay inside the reassembled message, and that the records cut one byte short are
 * never a complete hello. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void check_hello(const struct sbx_wire_tls_hello *h, size_t size)
{
    CHECK(h->consumed <= size && h->msg_len <= sizeof h->msg);
    CHECK(strlen(h->sni) == h->sni_len);
    for (size_t i = 0; i < h->sni_len; i++) CHECK(h->sni[i] > 0x20 && h->sni[i] < 0x7F);
    CHECK(h->has_sni || h->sni_len == 0);
    CHECK(h->nalpn <= SBX_WIRE_TLS_MAX_ALPN);
    for (size_t i = 0; i < h->nalpn; i++) {
        const uint8_t *p = (const uint8_t *)h->alpn[i].p;
        CHECK(h->alpn[i].len >= 1 && p >= h->msg && p + h->alpn[i].len <= h->msg + h->msg_len);
        char text[4 * 255 + 1];
        CHECK(sbx_wire_escape(p, h->alpn[i].len, 0, text, sizeof text) < sizeof text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sbx_wire_tls_hello h;          /* ~17 KiB: keep it off the fuzzer's stack */
    sbx_wire_result r = sbx_wire_tls_parse_client_hello(data, size, &h);
    if (r == SBX_WIRE_OK) {
        size_t consumed = h.consumed;
        check_hello(&h, size);
        r = sbx_wire_tls_parse_client_hello(data, consumed - 1, &h);
        CHECK(r != SBX_WIRE_OK);
    }
    return 0;
}
