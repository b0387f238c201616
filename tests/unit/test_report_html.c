/* test_report_html.c — the HTML report: hostile strings escaped in every section, no script, no
 * external URL, the CSP meta tag, every section present; the timeline's bound and priority. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "report.h"

#define XSS "<script>alert(1)</script>"
#define ATTR "\"><img src=x onerror=alert(1)>"
#define JSURL "javascript:alert(document.cookie)"
#define WEB "https://evil.example/steal?x=1"

/* A hostile string for field n: every attack at once, plus a per-field marker. */
static char *hostile(int n)
{
    static char bufs[64][256];
    snprintf(bufs[n], sizeof bufs[n], "f%d " XSS ATTR " " JSURL " " WEB " '\\x00' \x1b[31m \xff \xe2\x80\xae", n);
    return bufs[n];
}

static cJSON *obj(cJSON *parent, const char *key)
{
    cJSON *o = cJSON_CreateObject();
    if (cJSON_IsArray(parent)) cJSON_AddItemToArray(parent, o);
    else cJSON_AddItemToObject(parent, key, o);
    return o;
}

static cJSON *hostile_report(void)
{
    int n = 0;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "schema", "scriptbox.report/v1");
    cJSON *tool = obj(r, "tool");
    cJSON_AddStringToObject(tool, "name", "scriptbox");
    cJSON_AddStringToObject(tool, "version", "0.1.0");
    cJSON *pkg = obj(r, "package");
    cJSON_AddStringToObject(pkg, "name", hostile(n++));
    cJSON_AddStringToObject(pkg, "version", hostile(n++));
    cJSON_AddStringToObject(pkg, "integrity", hostile(n++));
    cJSON *src = obj(pkg, "source");
    cJSON_AddStringToObject(src, "kind", "registry");
    cJSON_AddStringToObject(src, "path", hostile(n++));
    cJSON *reg = obj(r, "registry");
    cJSON_AddStringToObject(reg, "tarball_url", hostile(n++));
    cJSON_AddStringToObject(reg, "registry", "https://registry.npmjs.org/");
    cJSON *unpack = obj(r, "unpack");
    cJSON *issue = obj(cJSON_AddArrayToObject(unpack, "issues"), NULL);
    cJSON_AddStringToObject(issue, "kind", "dot-dot");
    cJSON_AddStringToObject(issue, "entry", hostile(n++));
    cJSON_AddStringToObject(issue, "detail", "skipped");
    cJSON *ph = obj(cJSON_AddArrayToObject(r, "phases"), NULL);
    cJSON_AddStringToObject(ph, "name", "postinstall");
    cJSON_AddStringToObject(ph, "script", hostile(n++));
    cJSON_AddStringToObject(ph, "status", hostile(n++));
    cJSON_AddNumberToObject(ph, "exit_code", 0);
    cJSON_AddNumberToObject(ph, "duration_ms", 12);
    cJSON *so = obj(ph, "stdout");
    cJSON_AddStringToObject(so, "text", hostile(n++));
    cJSON_AddNumberToObject(so, "bytes", 99);
    cJSON *se = obj(ph, "stderr");
    cJSON_AddStringToObject(se, "text", "");
    cJSON *sb = obj(r, "sandbox");
    cJSON_AddStringToObject(sb, "mode", "root");
    cJSON *procs = cJSON_AddArrayToObject(r, "processes");
    for (int i = 0; i < 60; i++) {   /* a chain deeper than the nesting cap */
        cJSON *p = obj(procs, NULL);
        cJSON_AddNumberToObject(p, "pid", 2 + i);
        cJSON_AddNumberToObject(p, "ppid", 1 + i);
        const char *argv[] = {"node", i ? "x.js" : hostile(n), NULL};
        cJSON_AddItemToObject(p, "argv", cJSON_CreateStringArray(argv, 2));
        cJSON_AddStringToObject(p, "phase", "postinstall");
    }
    n++;
    for (int i = 0; i < 2; i++) {   /* a pid cycle: neither is a root */
        cJSON *p = obj(procs, NULL);
        cJSON_AddNumberToObject(p, "pid", 900 + i);
        cJSON_AddNumberToObject(p, "ppid", 901 - i);
        const char *argv[] = {"cycle-member", NULL};
        cJSON_AddItemToObject(p, "argv", cJSON_CreateStringArray(argv, 1));
    }
    cJSON *files = obj(r, "files");
    cJSON *rf = obj(cJSON_AddArrayToObject(files, "reads_by_folder"), NULL);
    cJSON_AddStringToObject(rf, "folder", hostile(n++));
    cJSON_AddNumberToObject(rf, "count", 3);
    cJSON *w = obj(cJSON_AddArrayToObject(files, "writes_outside_package"), NULL);
    cJSON_AddStringToObject(w, "path", hostile(n++));
    cJSON_AddStringToObject(w, "syscall", "openat");
    cJSON *net = obj(r, "network");
    cJSON *att = obj(cJSON_AddArrayToObject(net, "attempts"), NULL);
    cJSON_AddStringToObject(att, "syscall", "connect");
    cJSON *addr = obj(att, "addr");
    cJSON_AddStringToObject(addr, "family", "unix");
    cJSON_AddStringToObject(addr, "address", hostile(n++));
    cJSON *dns = obj(cJSON_AddArrayToObject(net, "dns"), NULL);
    cJSON_AddStringToObject(dns, "name", hostile(n++));
    cJSON_AddStringToObject(dns, "type", "A");
    cJSON *c = obj(cJSON_AddArrayToObject(net, "connections"), NULL);
    cJSON_AddStringToObject(c, "method", hostile(n++));
    cJSON_AddStringToObject(c, "host", hostile(n++));
    cJSON_AddStringToObject(c, "path", hostile(n++));
    cJSON_AddStringToObject(c, "query", hostile(n++));
    cJSON_AddStringToObject(c, "dns_name", hostile(n++));
    cJSON_AddStringToObject(c, "sni", hostile(n++));
    cJSON_AddStringToObject(c, "excerpt", hostile(n++));
    cJSON *hit = obj(cJSON_AddArrayToObject(r, "canary_hits"), NULL);
    cJSON_AddStringToObject(hit, "source", "file:~/.npmrc");
    cJSON_AddStringToObject(hit, "field", hostile(n++));
    cJSON *den = obj(cJSON_AddArrayToObject(obj(r, "denied"), "calls"), NULL);
    cJSON_AddStringToObject(den, "syscall", "ptrace");
    cJSON_AddStringToObject(den, "detail", hostile(n++));
    cJSON *ev = obj(r, "events");
    cJSON_AddStringToObject(ev, "saved_to", hostile(n++));
    cJSON *findings = cJSON_AddArrayToObject(r, "findings");
    for (int s = 0; s < 2; s++) {
        cJSON *f = obj(findings, NULL);
        cJSON_AddStringToObject(f, "rule_id", s ? "allowed-rule" : "credential-file-read");
        cJSON_AddStringToObject(f, "severity", s ? "medium" : hostile(n++));
        cJSON_AddStringToObject(f, "category", hostile(n++));
        cJSON_AddStringToObject(f, "title", hostile(n++));
        cJSON_AddStringToObject(f, "description", hostile(n++));
        const char *refs[] = {"https://attack.mitre.org/techniques/T1552/", JSURL};
        cJSON_AddItemToObject(f, "references", cJSON_CreateStringArray(refs, 2));
        cJSON *evs = cJSON_AddArrayToObject(f, "evidence");
        cJSON *e1 = obj(evs, NULL);
        cJSON_AddNumberToObject(e1, "seq", 7);
        cJSON_AddStringToObject(e1, "kind", "open");
        cJSON_AddStringToObject(e1, "excerpt", hostile(n++));
        cJSON *e2 = obj(evs, NULL);
        cJSON_AddStringToObject(e2, "file", hostile(n++));
        cJSON_AddNumberToObject(e2, "line", 3);
        cJSON_AddStringToObject(e2, "excerpt", hostile(n++));
        cJSON_AddBoolToObject(f, "suppressed", s == 1);
        if (s) {
            cJSON *by = obj(f, "suppressed_by");
            cJSON_AddStringToObject(by, "reason", "vendored build step, reviewed");
            cJSON_AddStringToObject(by, "source", hostile(n++));
        }
    }
    cJSON_AddItemToObject(r, "rules", cJSON_CreateObject());
    cJSON *cov = obj(cJSON_AddArrayToObject(r, "coverage"), NULL);
    cJSON_AddStringToObject(cov, "check", "phase:postinstall");
    cJSON_AddStringToObject(cov, "status", "not analyzed");
    cJSON_AddStringToObject(cov, "reason", hostile(n++));
    cJSON_AddStringToObject(r, "verdict", hostile(n++));
    cJSON *tl = obj(cJSON_AddArrayToObject(r, "timeline"), NULL);
    cJSON_AddNumberToObject(tl, "seq", 1);
    cJSON_AddStringToObject(tl, "kind", "exec");
    cJSON_AddStringToObject(tl, "phase", hostile(n++));
    cJSON_AddStringToObject(tl, "summary", hostile(n++));
    assert_true(n < 64);
    cJSON_AddNumberToObject(r, "nfields", n);
    return r;
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (!strncasecmp(p, needle, n)) return true;
    return false;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* Every tag in the page is one the renderer writes; none can load or run anything. */
static void assert_only_known_tags(const char *html)
{
    static const char *const ok[] = {"!DOCTYPE", "html", "head", "meta", "title", "style", "body", "header", "h1",
                                     "dl", "dt", "dd", "main", "div", "small", "section", "h2", "h3", "p", "details",
                                     "summary", "span", "strong", "table", "tr", "th", "td", "code", "pre", "ul",
                                     "li", "br", "footer", NULL};
    for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
        const char *t = p + 1 + (p[1] == '/');
        size_t n = 0;
        while (isalnum((unsigned char)t[n]) || t[n] == '!') n++;
        bool known = false;
        for (int i = 0; ok[i] && !known; i++) known = strlen(ok[i]) == n && !strncmp(ok[i], t, n);
        if (!known) fail_msg("unexpected tag at: %.40s", p);
        /* and no attribute that loads or runs: src, href, style, on* handlers */
        const char *close = strchr(p, '>');
        assert_non_null(close);
        char tag[512];
        snprintf(tag, sizeof tag, "%.*s", (int)(close - p < 511 ? close - p : 511), p);
        for (char *c = tag; *c; c++) *c = (char)tolower((unsigned char)*c);
        if (strstr(tag, "src=") || strstr(tag, "href") || strstr(tag, "style=") || strstr(tag, " on"))
            fail_msg("unexpected attribute in: %s", tag);
    }
}

static void hostile_strings_are_escaped_everywhere(void **state)
{
    (void)state;
    cJSON *r = hostile_report();
    char *html = report_render_html(r);
    assert_non_null(html);
    /* nothing that runs or loads */
    assert_false(contains_ci(html, "<script"));
    assert_false(contains_ci(html, "<img"));
    assert_false(contains_ci(html, "<a "));
    assert_false(contains_ci(html, "http://"));
    assert_false(contains_ci(html, "https://"));
    assert_false(contains_ci(html, "javascript:"));
    assert_false(contains_ci(html, "href"));
    assert_only_known_tags(html);
    /* the CSP is the first thing in head */
    const char *csp = strstr(html, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                                   "style-src 'unsafe-inline'");
    assert_non_null(csp);
    assert_true(csp < strstr(html, "<title>"));
    /* each hostile field is shown, escaped: as text, with the bytes made visible */
    const char *esc = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt; "
                      "javascript&#58;alert(document.cookie) https&#58;//evil.example/steal?x=1 "
                      "&#39;\\x00&#39; \\x1B[31m \\xFF \\u202E";
    int nfields = (int)cJSON_GetObjectItem(r, "nfields")->valuedouble;
    for (int i = 0; i < nfields; i++) {
        char want[512];
        snprintf(want, sizeof want, "f%d %s", i, esc);
        if (!strstr(html, want)) fail_msg("field f%d is missing or not escaped as expected", i);
    }
    assert_non_null(strstr(html, "https&#58;//attack.mitre.org/techniques/T1552/"));   /* references: text */
    /* sections */
    const char *ids[] = {"verdict", "findings", "coverage", "phases", "network", "canary-hits", "processes",
                         "files", "denied", "timeline", "registry", "unpack", NULL};
    for (int i = 0; ids[i]; i++) {
        char want[64];
        snprintf(want, sizeof want, "id=\"%s\"", ids[i]);
        if (!strstr(html, want)) fail_msg("section %s missing", ids[i]);
    }
    /* verdict and severity classes come from fixed tables, never from the report */
    assert_non_null(strstr(html, "class=\"verdict v-unknown\""));
    assert_non_null(strstr(html, "sev sev-unknown"));
    /* the suppressed finding is greyed, with its reason */
    assert_non_null(strstr(html, "<details class=\"finding suppressed\">"));
    assert_non_null(strstr(html, "<span class=\"tag\">suppressed: vendored build step, reviewed</span>"));
    /* the process tree: all 62 processes, the pid cycle included */
    assert_int_equal(count(html, "<code>node</code>") + count(html, "<code><strong>node"), 60);
    assert_int_equal(count(html, "cycle-member"), 2);
    /* balanced lists: nesting capped and closed */
    assert_int_equal(count(html, "<ul"), count(html, "</ul>"));
    assert_int_equal(count(html, "<li"), count(html, "</li>"));
    assert_true(count(html, "<ul>") <= 41);
    free(html);
    cJSON_Delete(r);
}

static void empty_report_still_renders_every_section(void **state)
{
    (void)state;
    cJSON *r = cJSON_CreateObject();
    char *html = report_render_html(r);
    assert_non_null(html);
    const char *ids[] = {"verdict", "findings", "coverage", "phases", "network", "processes", "files", "denied",
                         "timeline", NULL};
    for (int i = 0; ids[i]; i++) {
        char want[64];
        snprintf(want, sizeof want, "id=\"%s\"", ids[i]);
        if (!strstr(html, want)) fail_msg("section %s missing", ids[i]);
    }
    assert_non_null(strstr(html, "carries no timeline"));
    free(html);
    cJSON_Delete(r);
}

static void timeline_is_bounded_and_keeps_other_events_before_reads(void **state)
{
    (void)state;
    struct jsonw s = {0};
    int seq = 0;
    for (int i = 0; i < REPORT_TIMELINE_MAX + 100; i++, seq++)
        jw_printf(&s, "{\"seq\":%d,\"t_ns\":%d,\"pid\":3,\"phase\":\"postinstall\",\"kind\":\"open\",\"path\":\"/usr/lib/x%d\","
                      "\"flags\":0,\"detail\":\"read\"}\n", seq + 1, seq * 10, i);
    jw_printf(&s, "{\"seq\":%d,\"t_ns\":1,\"pid\":3,\"kind\":\"open\",\"path\":\"/dev/null\",\"flags\":1}\n", ++seq);
    jw_printf(&s, "{\"seq\":%d,\"t_ns\":1,\"pid\":4,\"phase\":\"postinstall\",\"kind\":\"exec\",\"path\":\"/bin/sh\","
                  "\"argv\":[\"sh\",\"-c\",\"%0400d\"]}\n", ++seq, 0);
    jw_printf(&s, "{\"seq\":%d,\"t_ns\":1,\"pid\":4,\"kind\":\"payload\",\"proto\":\"http\",\"bytes\":9,"
                  "\"http\":{\"method\":\"POST\",\"host\":\"<b>x</b>\",\"path\":\"/p\",\"query\":\"q=1\"}}\n", ++seq);
    jw_printf(&s, "{\"seq\":%d,\"t_ns\":1,\"pid\":4,\"kind\":\"socket\",\"family\":2}\n", ++seq);
    jw_printf(&s, "{\"seq\":%d,\"t_ns\":1,\"pid\":4,\"kind\":\"open\",\"path\":\"/tmp/w\",\"flags\":577,\"detail\":\"write\"}\n", ++seq);
    jw_printf(&s, "not json\n\n");
    assert_false(s.failed);
    cJSON *r = cJSON_CreateObject();
    assert_int_equal(report_timeline_add(r, s.buf, s.len), 0);
    const cJSON *tl = cJSON_GetObjectItem(r, "timeline");
    assert_int_equal(cJSON_GetArraySize(tl), REPORT_TIMELINE_MAX);
    /* 2100 reads + exec + payload + write = 2103 candidates (/dev and socket are not timeline events) */
    assert_int_equal((int)cJSON_GetObjectItem(r, "timeline_omitted")->valuedouble, 2103 - REPORT_TIMELINE_MAX);
    double last = 0;
    int exec = 0, payload = 0, write = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, tl) {
        double q = cJSON_GetObjectItem(it, "seq")->valuedouble;
        assert_true(q > last);
        last = q;
        const char *sum = cJSON_GetObjectItem(it, "summary")->valuestring;
        assert_true(strlen(sum) <= 300);
        const char *k = cJSON_GetObjectItem(it, "kind")->valuestring;
        if (!strcmp(k, "exec")) {
            exec++;
            assert_non_null(strstr(sum, "\xe2\x80\xa6"));   /* cut, marked */
            assert_int_equal(strncmp(sum, "exec /bin/sh: sh -c 000", 23), 0);
        }
        if (!strcmp(k, "payload")) {
            payload++;
            assert_string_equal(sum, "http: POST <b>x</b>/p?q=1, 9 bytes");
        }
        if (strstr(sum, "/tmp/w")) write++;
        assert_null(strstr(sum, "/dev/null"));
    }
    assert_int_equal(exec, 1);
    assert_int_equal(payload, 1);
    assert_int_equal(write, 1);
    /* and it renders escaped */
    char *html = report_render_html(r);
    assert_non_null(strstr(html, "POST &lt;b&gt;x&lt;/b&gt;/p?q=1"));
    free(html);
    cJSON_Delete(r);
    jw_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hostile_strings_are_escaped_everywhere),
        cmocka_unit_test(empty_report_still_renders_every_section),
        cmocka_unit_test(timeline_is_bounded_and_keeps_other_events_before_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
