/* fuzz_http.c — libFuzzer target: HTTP/1.x request parser and query decoder. Checks that every
 * span stays inside the input, the body inside its buffer, and that a message cut one byte
 * short is never complete. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

enum { BODY_CAP = 4096, MAX_PAIRS = 32 };

static void check_span(struct sbx_wire_span s, const uint8_t *data, size_t size)
{
    if (s.len == 0) return;
    CHECK((const uint8_t *)s.p >= data && s.len <= size &&
          (const uint8_t *)s.p + s.len <= data + size);
}

static void check_query_decode(struct sbx_wire_span query)
{
    char out[BODY_CAP + 2 * MAX_PAIRS];
    struct sbx_wire_kv pairs[MAX_PAIRS];
    size_t n;
    if (query.len > BODY_CAP) return;
    sbx_wire_result r = sbx_wire_query_decode(query.p, query.len, out, sizeof out, pairs,
                                              MAX_PAIRS, &n);
    CHECK(r == SBX_WIRE_OK || r == SBX_WIRE_TOO_LARGE);
    CHECK(n <= MAX_PAIRS);
    for (size_t i = 0; i < n; i++) {
        CHECK(pairs[i].key >= out && pairs[i].key + pairs[i].key_len < out + sizeof out);
        CHECK(pairs[i].value >= out && pairs[i].value + pairs[i].value_len < out + sizeof out);
        CHECK(pairs[i].key[pairs[i].key_len] == '\0' && pairs[i].value[pairs[i].value_len] == 0);
    }
}

static void check_request(const struct sbx_wire_http_request *req, const uint8_t *data,
                          size_t size, const uint8_t *body)
{
    check_span(req->method, data, size);
    check_span(req->target, data, size);
    check_span(req->path, data, size);
    check_span(req->query, data, size);
    check_span(req->host, data, size);
    CHECK(req->nheaders <= SBX_WIRE_HTTP_MAX_HEADERS);
    for (size_t i = 0; i < req->nheaders; i++) {
        check_span(req->headers[i].name, data, size);
        check_span(req->headers[i].value, data, size);
    }
    CHECK(req->body == body && req->body_len <= BODY_CAP);
    CHECK(req->head_len <= size && req->head_len <= SBX_WIRE_HTTP_MAX_HEAD);
    CHECK(req->version_minor == 0 || req->version_minor == 1);
    sbx_wire_http_header_get(req, "host");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sbx_wire_http_request req;     /* ~3 KiB: keep it off the fuzzer's stack */
    uint8_t body[BODY_CAP];
    sbx_wire_result r = sbx_wire_http_parse(data, size, body, sizeof body, &req);
    if (r == SBX_WIRE_OK || r == SBX_WIRE_TOO_LARGE) check_request(&req, data, size, body);
    if (r == SBX_WIRE_OK) {
        size_t consumed = req.consumed;
        CHECK(consumed > 0 && consumed <= size);
        check_query_decode(req.query);
        r = sbx_wire_http_parse(data, consumed - 1, body, sizeof body, &req);
        CHECK(r == SBX_WIRE_NEED_MORE || r == SBX_WIRE_MALFORMED);
    }
    return 0;
}
