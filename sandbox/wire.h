/*
 * wire.h — parsers for what a sandboxed package sends to the fake internet: DNS queries (and the
 * responses we answer them with), HTTP/1.x requests, and the TLS ClientHello.
 *
 * Contract (all three)
 *  - Every input byte is attacker-written. The parsers are pure: no allocation, no globals, no
 *    I/O, no recursion; every length is checked before it is used; output buffers are never
 *    written past their capacity. Safe to call from the supervisor's poll loop.
 *  - Incremental parsing is stateless: when more bytes arrive, call again with the whole buffer
 *    from its first byte. A result is a pure function of the bytes given. A strict prefix of a
 *    message is never SBX_WIRE_OK: it is SBX_WIRE_NEED_MORE (or MALFORMED when the bytes seen
 *    already break the grammar).
 *  - Text produced from wire bytes (DNS names, SNI, ALPN) is escaped so it cannot forge
 *    structure: bytes outside 0x21..0x7e (space, controls, NUL, 8-bit) and '\' become "\DDD"
 *    (three decimal digits, as in zone files); in DNS labels '.' does too. Text is
 *    NUL-terminated.
 *  - Output structs hold either copies or pointers into the caller's input buffer; each field
 *    says which. Pointers are valid while that buffer is unchanged and alive.
 */
#ifndef SCRIPTBOX_SANDBOX_WIRE_H
#define SCRIPTBOX_SANDBOX_WIRE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    SBX_WIRE_OK = 0,       /* a complete, valid message */
    SBX_WIRE_NEED_MORE,    /* valid so far; call again with more bytes */
    SBX_WIRE_NOT_PROTO,    /* the bytes are not this protocol (e.g. TLS on the HTTP port) */
    SBX_WIRE_MALFORMED,    /* this protocol, but broken or hostile: drop/answer an error */
    SBX_WIRE_TOO_LARGE,    /* well-formed so far but beyond a caller's bound (see each API) */
    SBX_WIRE_UNSUPPORTED,  /* recognised but deliberately not parsed (SSLv2 hello) */
} sbx_wire_result;

/* "ok", "need-more", ... for logs. Never NULL. */
const char *sbx_wire_result_name(sbx_wire_result r);

enum { SBX_WIRE_ESCAPE_DOT = 1 };   /* also escape '.' (for a DNS label) */

/* Escape raw bytes as described above into out (cap >= 1). Returns the text length; when the
 * text does not fit, it is cut at an escape boundary and the return value is cap (so
 * "ret >= cap" means truncated, like snprintf). 4*len+1 bytes always suffice. */
size_t sbx_wire_escape(const uint8_t *raw, size_t len, unsigned flags, char *out, size_t cap);

/* ==== DNS (RFC 1035, 6891) ================================================================ */

enum {
    SBX_WIRE_DNS_HEADER = 12,
    SBX_WIRE_DNS_NAME_MAX = 255,        /* wire form, length bytes and final 0 included */
    SBX_WIRE_DNS_LABEL_MAX = 63,
    SBX_WIRE_DNS_TEXT_MAX = 1024,       /* escaped dotted text of any valid name, with NUL */
    SBX_WIRE_DNS_UDP_PLAIN = 512,       /* UDP reply bound without EDNS */
    SBX_WIRE_DNS_EDNS_SIZE = 1232,      /* UDP size we advertise and never exceed */
};

enum {
    SBX_WIRE_DNS_A = 1, SBX_WIRE_DNS_NS = 2, SBX_WIRE_DNS_CNAME = 5, SBX_WIRE_DNS_SOA = 6,
    SBX_WIRE_DNS_PTR = 12, SBX_WIRE_DNS_MX = 15, SBX_WIRE_DNS_TXT = 16, SBX_WIRE_DNS_AAAA = 28,
    SBX_WIRE_DNS_OPT = 41, SBX_WIRE_DNS_ANY = 255,
};

enum {
    SBX_WIRE_DNS_NOERROR = 0, SBX_WIRE_DNS_FORMERR = 1, SBX_WIRE_DNS_SERVFAIL = 2,
    SBX_WIRE_DNS_NXDOMAIN = 3, SBX_WIRE_DNS_NOTIMP = 4, SBX_WIRE_DNS_REFUSED = 5,
};

/*
 * A parsed query. Validated: QR=0; QDCOUNT=1; ANCOUNT=NSCOUNT=0; ARCOUNT 0, or 1 holding one
 * EDNS OPT record (root owner; its options are skipped, not read); no byte after the last
 * record; the question name uses length bytes only (a compression pointer or reserved label
 * type is MALFORMED), labels 1..63 bytes, whole name at most 255 bytes. Any opcode is accepted
 * and reported: the responder should answer NOTIMP for opcode != 0. Everything is copied.
 */
struct sbx_wire_dns_query {
    uint16_t id;
    uint8_t opcode;
    int rd;                                  /* recursion desired; echoed in the reply */
    int cd;                                  /* checking disabled; echoed */
    uint16_t qtype, qclass;
    int has_edns;
    uint16_t edns_udp_size;                  /* requester's UDP size (values < 512 read as 512) */
    int edns_do;                             /* DNSSEC OK bit */
    uint8_t qname_wire[SBX_WIRE_DNS_NAME_MAX];   /* the question name, wire form */
    size_t qname_wire_len;
    char name[SBX_WIRE_DNS_TEXT_MAX];        /* escaped dotted text, no final dot; "." = root */
    size_t name_len;
    size_t labels;                           /* label count (0 for the root) */
};

/* One DNS message as a UDP datagram. A datagram is whole: missing bytes are MALFORMED. */
sbx_wire_result sbx_wire_dns_parse_query(const uint8_t *msg, size_t len,
                                         struct sbx_wire_dns_query *q);

/* The TCP form: a 2-byte big-endian length, then the message. NEED_MORE until that many bytes
 * are in buf; on OK *consumed is 2 + length (the next query may follow). A zero length or a
 * message shorter than a header is MALFORMED. */
sbx_wire_result sbx_wire_dns_parse_query_tcp(const uint8_t *buf, size_t len,
                                             struct sbx_wire_dns_query *q, size_t *consumed);

/*
 * What to answer. Names are dotted text as sbx_wire_dns_query.name writes it ("\DDD" and "\X"
 * escapes are decoded; a final '.' is optional); NULL means "the question's own name".
 */
struct sbx_wire_dns_answer {
    uint16_t type;                 /* 0: no answer record (NODATA, or with an error rcode) */
    uint32_t ttl;
    uint8_t rcode;                 /* SBX_WIRE_DNS_*; the fake internet uses NOERROR */
    union {
        uint8_t a[4];                                              /* A */
        uint8_t aaaa[16];                                          /* AAAA */
        const char *target;                                        /* CNAME, NS, PTR */
        struct { uint16_t preference; const char *exchange; } mx;  /* MX */
        struct { const uint8_t *data; size_t len; } txt;  /* TXT: split into <=255-byte strings,
                                                             at most 4096 bytes */
    } u;
};

enum sbx_wire_dns_transport { SBX_WIRE_DNS_UDP, SBX_WIRE_DNS_TCP };

/*
 * Build the reply to q into out[0..cap): same id and opcode, QR=1, RA=1, RD and CD copied,
 * the question echoed, then at most one answer record (owner = a pointer to the question) and,
 * when the query had EDNS, an OPT record advertising SBX_WIRE_DNS_EDNS_SIZE. For UDP a reply
 * larger than the requester allows (512 without EDNS, else min(its size, ours)) or than cap is
 * cut to the header, question and OPT with TC=1, so the client retries over TCP. For TCP the 2-byte length
 * prefix is written first. Returns 0 and *out_len, or -1 (nothing usable in out) when cap is too
 * small for even the truncated form or the answer is invalid (bad name, unknown type, TXT too
 * long, rcode > 15).
 */
int sbx_wire_dns_build_response(const struct sbx_wire_dns_query *q,
                                const struct sbx_wire_dns_answer *ans,
                                enum sbx_wire_dns_transport transport,
                                uint8_t *out, size_t cap, size_t *out_len);

/* The parts of a response we check in tests and in the fuzzers' round trips. */
struct sbx_wire_dns_response_info {
    uint16_t id;
    int qr, tc, rd, ra;
    uint8_t opcode, rcode;
    uint16_t qdcount, ancount, nscount, arcount;
};

/* Validate a response datagram: header, every question and record walked with bounds checked
 * (compression pointers allowed in records but only pointing backwards, at most 127 hops), no
 * trailing bytes. Returns OK or MALFORMED. */
sbx_wire_result sbx_wire_dns_check_response(const uint8_t *msg, size_t len,
                                            struct sbx_wire_dns_response_info *info);

/* ==== HTTP/1.x requests (RFC 9110, 9112) ================================================== */

enum {
    SBX_WIRE_HTTP_MAX_HEADERS = 100,
    SBX_WIRE_HTTP_MAX_HEAD = 65536,      /* request line + headers + blank line */
    SBX_WIRE_HTTP_MAX_METHOD = 32,
    SBX_WIRE_HTTP_MAX_CHUNK_LINE = 4096, /* chunk size + extensions */
    SBX_WIRE_HTTP_MAX_TRAILERS = 8192,   /* all trailer bytes */
};

/* Bytes inside the caller's input buffer: not NUL-terminated, and raw (a header value may hold
 * 8-bit bytes): pass them through sbx_wire_escape before printing. */
struct sbx_wire_span {
    const char *p;
    size_t len;
};

struct sbx_wire_http_header {
    struct sbx_wire_span name;    /* a token; compare case-insensitively */
    struct sbx_wire_span value;   /* leading/trailing spaces and tabs trimmed */
};

/*
 * A parsed request. Spans point into the buffer given to sbx_wire_http_parse (valid while it is
 * unchanged); body points into the caller's body buffer.
 *
 * Validated: request line "METHOD SP target SP HTTP/1.0|1.1 CRLF" (method a token of at most 32
 * bytes; target visible ASCII only); every line ends in CRLF (a bare CR or LF is MALFORMED);
 * header names are tokens with no space before ':'; values hold no control byte but HTAB; a line
 * starting with SP/HTAB (obs-fold) is MALFORMED; at most 100 headers and 64 KiB of head; at most
 * one Host; Content-Length is digits only (a list of equal values is accepted), repeated
 * Content-Length values that disagree are MALFORMED; Transfer-Encoding must end in "chunked"
 * (appearing once), otherwise MALFORMED. With both Transfer-Encoding and Content-Length the body
 * is read as chunked and te_and_cl is set (a smuggling attempt worth reporting). Chunk sizes are
 * hex without sign, at most 16 significant digits, followed only by spaces/tabs and ';'
 * extensions; extensions and trailers are validated and skipped (not exposed) within
 * SBX_WIRE_HTTP_MAX_CHUNK_LINE / SBX_WIRE_HTTP_MAX_TRAILERS. A request with neither header has
 * no body. A missing Host is not an error (has_host = 0).
 *
 * NOT_PROTO: the first bytes cannot start an HTTP/1.x request line (not a method token followed
 * by SP, or a version other than HTTP/1.x, e.g. the HTTP/2 preface or a TLS record).
 */
struct sbx_wire_http_request {
    struct sbx_wire_span method;
    struct sbx_wire_span target;   /* as sent: origin-form, absolute-form, authority or "*" */
    struct sbx_wire_span path;     /* target up to '?' (or '#') */
    struct sbx_wire_span query;    /* after '?' up to '#', without the '?'; len 0 when none */
    struct sbx_wire_span host;     /* Host header value; len 0 when absent */
    int has_host;
    int version_minor;             /* 0 or 1 */
    struct sbx_wire_http_header headers[SBX_WIRE_HTTP_MAX_HEADERS];
    size_t nheaders;
    size_t head_len;               /* bytes of request line + headers + blank line */
    int has_content_length;
    uint64_t content_length;
    int chunked;
    int te_and_cl;                 /* both Transfer-Encoding and Content-Length were sent */
    uint8_t *body;                 /* decoded body in the caller's buffer */
    size_t body_len;
    size_t consumed;               /* head + raw body bytes: where a pipelined request starts */
};

/*
 * Parse the request at the start of buf[0..len). The decoded body goes to body[0..body_cap).
 * Returns OK (all fields set), NEED_MORE, NOT_PROTO, MALFORMED, or TOO_LARGE when the body is
 * longer than body_cap: then the head fields are valid and body holds the first body_len bytes
 * decoded from what has arrived, so the caller can still record the request. Fields are
 * meaningless after NEED_MORE/NOT_PROTO/MALFORMED.
 */
sbx_wire_result sbx_wire_http_parse(const uint8_t *buf, size_t len, uint8_t *body,
                                    size_t body_cap, struct sbx_wire_http_request *req);

/* The value of the first header named `name` (case-insensitive), or NULL. */
const struct sbx_wire_span *sbx_wire_http_header_get(const struct sbx_wire_http_request *req,
                                                     const char *name);

/* A decoded key=value pair: both point into the caller's `out` buffer and are NUL-terminated
 * there too, but may contain NUL bytes (from %00): use the lengths. */
struct sbx_wire_kv {
    const char *key;
    size_t key_len;
    const char *value;      /* "" when the pair has no '=' */
    size_t value_len;
};

/*
 * Split an application/x-www-form-urlencoded string ("a=1&b=%20x+y") on '&' and the first '='
 * and percent-decode both sides ('+' is a space; a '%' not followed by two hex digits is kept
 * literally). Empty pairs ("&&") are skipped. out needs at most len + 2*pairs bytes; len + 2 *
 * max_pairs always suffices. Returns OK with *npairs set, or TOO_LARGE when more than max_pairs
 * pairs or out was too small: the pairs decoded so far are still valid.
 */
sbx_wire_result sbx_wire_query_decode(const char *q, size_t len, char *out, size_t out_cap,
                                      struct sbx_wire_kv *pairs, size_t max_pairs,
                                      size_t *npairs);

/* ==== TLS ClientHello (RFC 8446, 6066, 7301) ============================================== */

enum {
    SBX_WIRE_TLS_MAX_HELLO = 16384,     /* handshake message bytes we reassemble, header included */
    SBX_WIRE_TLS_MAX_RECORD = 16384,    /* record plaintext bound (2^14) */
    SBX_WIRE_TLS_SNI_TEXT = 1024,       /* escaped SNI text with NUL (raw SNI <= 255 bytes) */
    SBX_WIRE_TLS_MAX_ALPN = 16,
};

/*
 * A parsed ClientHello. Copied into the struct: the reassembled message (msg) and the SNI text;
 * alpn spans point into msg (valid as long as this struct).
 *
 * Validated: records of type 22 with version 3.x and length 1..2^14, consecutive until the
 * handshake message is complete (another record type in between is MALFORMED); the first
 * handshake message is a ClientHello (type 1) of at most 16 KiB; every vector length inside it
 * fits its parent exactly; no duplicate extension; server_name holds exactly one host_name of
 * 1..255 bytes; ALPN names are 1..255 bytes; supported_versions is an even list.
 * Bytes after the records that carried the hello are not looked at.
 */
struct sbx_wire_tls_hello {
    uint16_t record_version;       /* of the first record */
    uint16_t legacy_version;       /* ClientHello.legacy_version */
    int has_sni;
    int sni_plausible;             /* letters, digits, '-', '_', dots between 1..63-byte labels */
    char sni[SBX_WIRE_TLS_SNI_TEXT];   /* escaped; '.' is kept as separator here */
    size_t sni_len;
    size_t nalpn;                  /* protocols kept (at most SBX_WIRE_TLS_MAX_ALPN) */
    int alpn_truncated;            /* more were offered */
    struct sbx_wire_span alpn[SBX_WIRE_TLS_MAX_ALPN];   /* raw: escape before printing */
    int has_supported_versions;
    int tls13;                     /* supported_versions offers TLS 1.3 (0x0304) */
    uint16_t max_version;          /* highest offered, GREASE ignored; else legacy_version */
    size_t nextensions;
    size_t consumed;               /* bytes of the records that carried the hello */
    size_t msg_len;
    uint8_t msg[SBX_WIRE_TLS_MAX_HELLO];   /* the reassembled handshake message */
};

/*
 * Parse the first bytes of a TCP stream. Returns OK, NEED_MORE, NOT_PROTO (first byte is not a
 * handshake record nor SSLv2), MALFORMED, TOO_LARGE (hello over 16 KiB) or UNSUPPORTED (an
 * SSLv2-compatible ClientHello: recognised, not parsed).
 */
sbx_wire_result sbx_wire_tls_parse_client_hello(const uint8_t *buf, size_t len,
                                                struct sbx_wire_tls_hello *h);

#endif
