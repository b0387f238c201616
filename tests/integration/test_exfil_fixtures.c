/*
 * test_exfil_fixtures.c — the fake internet's acceptance list, end to end through the CLI
 * (`scriptbox analyze --format json --events FILE`): packages that steal honeypot secrets over
 * http, https (node and curl), DNS labels, raw TCP and UDP, and packages whose requests must
 * fail fast. Each case checks the DNS name asked, the destination, the bytes captured (the
 * decrypted path and query for https) and the canary hit with its source.
 *
 * These need the sandbox's fake internet (sandbox side: DNS responder, sinks, TLS interception).
 * SCRIPTBOX_TEST_NO_FAKENET=1 skips them, for a tree without it; otherwise they run and fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exfil.h"
#include "b64.h"
#include "testutil.h"

struct run {
    cJSON *report;
    cJSON *events;   /* array of the stream's lines */
};

static bool no_fakenet(void)
{
    const char *v = getenv("SCRIPTBOX_TEST_NO_FAKENET");
    return v && !strcmp(v, "1");
}

#define NEEDS_FAKENET()                                                                              \
    do {                                                                                             \
        if (no_fakenet()) {                                                                          \
            print_message("skip: SCRIPTBOX_TEST_NO_FAKENET=1 (this tree has no fake internet)\n");   \
            skip();                                                                                  \
        }                                                                                            \
    } while (0)

static cJSON *read_lines(const char *path)
{
    size_t len = 0;
    char *text = tu_read_file(path, &len);
    assert_non_null(text);
    cJSON *arr = cJSON_CreateArray();
    for (char *s = text, *end = text + len; s < end;) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        cJSON *j = cJSON_ParseWithLength(s, n);
        if (j) cJSON_AddItemToArray(arr, j);
        s += n + 1;
    }
    free(text);
    return arr;
}

static struct run analyze(struct tu_dirs *c, const char *fixture)
{
    char report[4096], events[4096];
    snprintf(report, sizeof report, "%s/report.json", c->out);
    snprintf(events, sizeof events, "%s/events.jsonl", c->out);
    const char *argv[] = {tu_build("scriptbox"), "analyze", tu_pack(c, fixture), "--format", "json", "--output", report,
                          "--events", events, NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    /* 1: findings at or above --fail-on (these fixtures are caught); anything else is a failure. */
    if (r.status != 0 && r.status != 1) fail_msg("scriptbox exited %d: %s", r.status, r.err);
    tu_run_free(&r);
    struct run out = {tu_read_json(report), read_lines(events)};
    assert_non_null(out.report);
    return out;
}

static void run_free(struct run *r)
{
    cJSON_Delete(r->report);
    cJSON_Delete(r->events);
}

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }
static const char *str(const cJSON *o, const char *k) { return cJSON_GetStringValue(get(o, k)); }
static double num(const cJSON *o, const char *k) { return cJSON_IsNumber(get(o, k)) ? get(o, k)->valuedouble : -1; }

static void dump_on_failure(const struct run *r)
{
    char *s = cJSON_Print(get(r->report, "network"));
    print_message("network: %s\n", s ? s : "?");
    free(s);
    s = cJSON_Print(get(r->report, "canary_hits"));
    print_message("canary_hits: %s\n", s ? s : "?");
    free(s);
    const cJSON *phase = cJSON_GetArrayItem(get(r->report, "phases"), 0);
    print_message("stdout: %s\nstderr: %s\n", str(get(phase, "stdout"), "text"), str(get(phase, "stderr"), "text"));
}

/* The first DNS query whose name ends with suffix. */
static const cJSON *dns_query(const struct run *r, const char *suffix)
{
    const cJSON *q;
    cJSON_ArrayForEach(q, get(get(r->report, "network"), "dns")) {
        const char *name = str(q, "name");
        size_t n = name ? strlen(name) : 0, k = strlen(suffix);
        if (n >= k && !strcmp(name + n - k, suffix)) return q;
    }
    dump_on_failure(r);
    fail_msg("no DNS query for *%s", suffix);
    return NULL;
}

/* Some DNS query for name was answered with address (node may ask A and AAAA and use either). */
static void answered(const struct run *r, const char *name, const char *address)
{
    const cJSON *q;
    cJSON_ArrayForEach(q, get(get(r->report, "network"), "dns"))
        if (str(q, "name") && !strcmp(str(q, "name"), name) && str(q, "answer") && address &&
            !strcmp(str(q, "answer"), address))
            return;
    dump_on_failure(r);
    fail_msg("no DNS answer for %s was %s", name, address ? address : "(none)");
}

/* The connection to address:port, or (address NULL) the one named dns_name. */
static const cJSON *connection(const struct run *r, const char *address, unsigned port, const char *dns_name)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, get(get(r->report, "network"), "connections")) {
        const cJSON *d = get(c, "destination");
        if (num(d, "port") != port) continue;
        if (address && str(d, "address") && !strcmp(str(d, "address"), address)) return c;
        if (dns_name && str(c, "dns_name") && !strcmp(str(c, "dns_name"), dns_name)) return c;
    }
    dump_on_failure(r);
    fail_msg("no connection to %s port %u", address ? address : dns_name, port);
    return NULL;
}

/* The captured bytes of the payload events of connection c (NUL-terminated; free). */
static char *captured(const struct run *r, const cJSON *c, size_t *len)
{
    struct jsonw all = {0};
    const cJSON *seq;
    cJSON_ArrayForEach(seq, get(c, "event_seqs")) {
        const cJSON *e;
        cJSON_ArrayForEach(e, r->events) {
            if (num(e, "seq") != seq->valuedouble || !str(e, "kind") || strcmp(str(e, "kind"), "payload")) continue;
            size_t n = 0;
            const char *b64 = str(e, "data_b64") ? str(e, "data_b64") : "";
            unsigned char *d = b64_decode(b64, strlen(b64), &n);
            assert_non_null(d);
            jw_raw(&all, (const char *)d, n);
            free(d);
        }
    }
    *len = all.len;
    jw_raw(&all, "", 1);
    assert_false(all.failed);
    return all.buf;
}

/* The canary hit with this source found where ("payload", "dns", "exec", "file"). */
static const cJSON *hit(const struct run *r, const char *source, const char *where)
{
    const cJSON *h;
    cJSON_ArrayForEach(h, get(r->report, "canary_hits"))
        if (str(h, "source") && !strcmp(str(h, "source"), source) && !strcmp(str(h, "where"), where)) {
            /* A canary seen outbound is proof: the rules make it critical and the verdict malicious. */
            const cJSON *f;
            bool critical = false;
            cJSON_ArrayForEach(f, get(r->report, "findings"))
                critical |= str(f, "rule_id") && !strcmp(str(f, "rule_id"), "canary-outbound") &&
                            !strcmp(str(f, "severity"), "critical");
            if (!critical || strcmp(str(r->report, "verdict"), "malicious")) {
                dump_on_failure(r);
                fail_msg("canary hit from %s, but verdict %s without a critical canary-outbound finding", source,
                         str(r->report, "verdict"));
            }
            return h;
        }
    dump_on_failure(r);
    fail_msg("no canary hit from %s in %s", source, where);
    return NULL;
}

/* The exfil line of h in the stream points at an event of the right kind. */
static void hit_refers_to(const struct run *r, const cJSON *h, const char *kind)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, r->events)
        if (num(e, "seq") == num(h, "ref_seq")) {
            assert_string_equal(str(e, "kind"), kind);
            return;
        }
    fail_msg("ref_seq %.0f is not in the stream", num(h, "ref_seq"));
}

static bool on_host_path(const char *prog)
{
    const char *argv[] = {"sh", "-c", "command -v \"$0\"", prog, NULL};
    struct tu_run r;
    if (tu_run(argv, &r) != 0) return false;
    bool ok = r.status == 0;
    tu_run_free(&r);
    return ok;
}

/* ---- (a) process.env POSTed as JSON over http ------------------------------------------------ */

static void http_post_of_the_environment(void **state)
{
    NEEDS_FAKENET();
    struct run r = analyze(*state, "exfil-http-env");
    const cJSON *q = dns_query(&r, "collector.example");
    assert_string_equal(str(q, "name"), "collector.example");
    const cJSON *c = connection(&r, NULL, 80, "collector.example");
    assert_string_equal(str(c, "transport"), "tcp");
    assert_string_equal(str(c, "proto"), "http");
    assert_string_equal(str(c, "method"), "POST");
    assert_string_equal(str(c, "path"), "/collect");
    assert_string_equal(str(c, "query"), "src=postinstall");
    answered(&r, "collector.example", str(get(c, "destination"), "address"));
    size_t len;
    char *data = captured(&r, c, &len);
    assert_true(!strncmp(data, "POST /collect?src=postinstall HTTP/1.1\r\n", 40));
    assert_non_null(strstr(data, "\"NPM_TOKEN\":\"npm_"));
    assert_non_null(strstr(data, "\"npm_lifecycle_event\":\"postinstall\""));
    free(data);
    const cJSON *h = hit(&r, "env:NPM_TOKEN", "payload");
    hit_refers_to(&r, h, "payload");
    hit(&r, "env:GITHUB_TOKEN", "payload");
    hit(&r, "env:AWS_SECRET_ACCESS_KEY", "payload");
    run_free(&r);
}

/* ---- (b) the npmrc token in an https query, node's https module ------------------------------- */

static void check_https_npmrc(const struct run *r)
{
    dns_query(r, "collector.example");
    const cJSON *c = connection(r, NULL, 443, "collector.example");
    answered(r, "collector.example", str(get(c, "destination"), "address"));
    assert_string_equal(str(c, "proto"), "https");
    assert_string_equal(str(c, "sni"), "collector.example");
    assert_true(cJSON_IsTrue(get(c, "tls_intercepted")));
    assert_string_equal(str(c, "method"), "GET");
    assert_string_equal(str(c, "path"), "/t");
    assert_true(!strncmp(str(c, "query"), "token=npm_", 10));
    size_t len;
    char *data = captured(r, c, &len);   /* decrypted */
    assert_true(!strncmp(data, "GET /t?token=npm_", 17));
    assert_non_null(strstr(data, "&v=1 HTTP/1.1\r\n"));
    free(data);
    const cJSON *h = hit(r, "file:~/.npmrc", "payload");
    assert_string_equal(str(h, "field"), "http.query");
    assert_string_equal(str(h, "encoding"), "raw");
    hit_refers_to(r, h, "payload");
}

static void https_get_with_the_npmrc_token(void **state)
{
    NEEDS_FAKENET();
    struct run r = analyze(*state, "exfil-https-npmrc");
    check_https_npmrc(&r);
    run_free(&r);
}

/* ---- (c) the same with curl ------------------------------------------------------------------ */

static void curl_https_get_with_the_npmrc_token(void **state)
{
    NEEDS_FAKENET();
    if (!on_host_path("curl")) {
        print_message("skip: curl is not installed on this host\n");
        skip();
    }
    struct run r = analyze(*state, "exfil-curl-npmrc");
    check_https_npmrc(&r);
    const cJSON *h = hit(&r, "file:~/.npmrc", "exec");   /* the token was on curl's command line */
    assert_string_equal(str(h, "field"), "argv");
    hit_refers_to(&r, h, "exec");
    run_free(&r);
}

/* ---- (d) host facts as hex DNS labels ------------------------------------------------------- */

static void hex_dns_labels_with_host_facts(void **state)
{
    NEEDS_FAKENET();
    struct run r = analyze(*state, "exfil-dns-hex");
    const cJSON *q = dns_query(&r, ".x.exfil.example");
    const char *name = str(q, "name");
    /* the labels before .x.exfil.example decode to "dev-workstation:dev:npm_<token>" */
    char hex[512] = "";
    size_t n = 0;
    for (const char *p = name; *p && strcmp(p, ".x.exfil.example") && n + 1 < sizeof hex; p++)
        if (*p != '.') hex[n++] = *p;
    hex[n] = 0;
    char facts[256] = "";
    for (size_t i = 0; i + 1 < n && i / 2 + 1 < sizeof facts; i += 2) {
        unsigned v;
        assert_int_equal(sscanf(hex + i, "%2x", &v), 1);
        facts[i / 2] = (char)v;
        facts[i / 2 + 1] = 0;
    }
    assert_true(!strncmp(facts, "dev-workstation:dev:npm_", 24));
    const cJSON *h = hit(&r, "env:NPM_TOKEN", "dns");
    assert_string_equal(str(h, "field"), "name");
    assert_true(!strncmp(str(h, "encoding"), "dns>hex", 7) || !strcmp(str(h, "encoding"), "hex"));
    hit_refers_to(&r, h, "dns");
    run_free(&r);
}

/* ---- (e) the ssh key over raw TCP to a literal address --------------------------------------- */

static void raw_tcp_with_the_ssh_key(void **state)
{
    NEEDS_FAKENET();
    struct run r = analyze(*state, "exfil-tcp-sshkey");
    const cJSON *c = connection(&r, "203.0.113.9", 4444, NULL);
    assert_string_equal(str(c, "transport"), "tcp");
    assert_string_equal(str(c, "proto"), "raw");
    assert_null(get(c, "dns_name"));
    size_t len;
    char *data = captured(&r, c, &len);
    assert_true(!strncmp(data, "-----BEGIN OPENSSH PRIVATE KEY-----\n", 36));
    assert_non_null(strstr(data, "-----END OPENSSH PRIVATE KEY-----"));
    assert_true(num(c, "bytes") >= (double)len);
    free(data);
    const cJSON *h = hit(&r, "file:~/.ssh/id_rsa", "payload");
    assert_string_equal(str(h, "field"), "data");
    hit_refers_to(&r, h, "payload");
    run_free(&r);
}

/* ---- (f) the GitHub token in a UDP datagram -------------------------------------------------- */

static void udp_datagram_with_the_github_token(void **state)
{
    NEEDS_FAKENET();
    struct run r = analyze(*state, "exfil-udp-github");
    const cJSON *c = connection(&r, "198.51.100.7", 9999, NULL);
    assert_string_equal(str(c, "transport"), "udp");
    size_t len;
    char *data = captured(&r, c, &len);
    assert_true(!strncmp(data, "gh=ghp_", 7));
    assert_int_equal(len, 3 + 40);
    free(data);
    const cJSON *h = hit(&r, "env:GITHUB_TOKEN", "payload");
    assert_string_equal(str(h, "field"), "data");
    assert_string_equal(str(h, "encoding"), "raw");
    hit_refers_to(&r, h, "payload");
    run_free(&r);
}

/* ---- requests fail (or are answered) fast ---------------------------------------------------- */

static void check_fast(struct tu_dirs *c, const char *fixture, int want_conns)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct run r = analyze(c, fixture);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const cJSON *phase = cJSON_GetArrayItem(get(r.report, "phases"), 0);
    double ms = num(phase, "duration_ms");
    print_message("%s: script %.0f ms, whole run %.0f ms\n%s", fixture, ms,
                  (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
                  str(get(phase, "stdout"), "text"));
    /* None of the requests has a timeout of its own: had one hung, the script would have been
     * killed at the run's timeout ("timeout", not "ok"). How fast they end is bench/fakenet's. */
    assert_string_equal(str(phase, "status"), "ok");
    int n = cJSON_GetArraySize(get(get(r.report, "network"), "connections"));
    if (n < want_conns) {
        dump_on_failure(&r);
        fail_msg("%s: %d connections seen, want %d", fixture, n, want_conns);
    }
    run_free(&r);
}

static void node_http_https_fetch_end_fast(void **state)
{
    NEEDS_FAKENET();
    check_fast(*state, "net-fast-fail-node", 3);
}

static void curl_and_wget_end_fast(void **state)
{
    NEEDS_FAKENET();
    int tools = on_host_path("curl") * 2 + on_host_path("wget");
    if (!tools) {
        print_message("skip: neither curl nor wget is installed on this host\n");
        skip();
    }
    check_fast(*state, "net-fast-fail-tools", tools);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(http_post_of_the_environment, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(https_get_with_the_npmrc_token, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(curl_https_get_with_the_npmrc_token, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(hex_dns_labels_with_host_facts, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(raw_tcp_with_the_ssh_key, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(udp_datagram_with_the_github_token, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(node_http_https_fetch_end_fast, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(curl_and_wget_end_fast, tu_dirs_setup, tu_dirs_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
