/* report_html.c — one self-contained HTML page for people triaging a package (report.h).
 *
 * Rendered from the cJSON report only, like report_text.c. Everything in the report may come
 * from the package (paths, argv, output, HTTP requests, DNS names, excerpts) and is hostile:
 *   - every string goes through html_text(): & < > " ' are entities, and so is ':' — no scheme
 *     ("javascript:", "https:") ever appears literally in the page, and nothing is a link;
 *     control characters, invalid UTF-8 and bidirectional overrides are shown as \xHH / \uHHHH;
 *   - class names come from fixed tables, never from report strings;
 *   - no script, no external asset; a Content-Security-Policy meta tag (default-src 'none';
 *     style-src 'unsafe-inline') is the first thing in <head>, so even a mistake here cannot
 *     load or run anything. <details> does the collapsing. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonstr.h"
#include "jsonw.h"
#include "report.h"

enum { TREE_MAX_DEPTH = 40 };

static const cJSON *item(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static const char *str(const cJSON *o, const char *k)
{
    const char *s = cJSON_GetStringValue(item(o, k));
    return s ? s : "";
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = item(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static bool has_num(const cJSON *o, const char *k) { return cJSON_IsNumber(item(o, k)); }

static void raw(struct jsonw *o, const char *s) { jw_raw(o, s, strlen(s)); }

/* Bidi controls (U+200E/F, U+202A..E, U+2066..9) reorder what a reader sees: made visible. */
static bool is_bidi(const unsigned char *p, size_t n)
{
    if (n != 3 || p[0] != 0xE2) return false;
    if (p[1] == 0x80) return p[2] == 0x8E || p[2] == 0x8F || (p[2] >= 0xAA && p[2] <= 0xAE);
    return p[1] == 0x81 && p[2] >= 0xA6 && p[2] <= 0xA9;
}

/* s as HTML text (also safe inside a double- or single-quoted attribute). */
static void html_text(struct jsonw *o, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    char esc[16];
    while (left) {
        unsigned char c = *p;
        const char *ent = NULL;
        switch (c) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&#39;"; break;
        case ':': ent = "&#58;"; break;
        default: break;
        }
        if (ent) {
            raw(o, ent);
            p++, left--;
            continue;
        }
        if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f)) {
            jw_raw(o, (const char *)p, 1);
            p++, left--;
            continue;
        }
        size_t n = c >= 0x80 ? jsonstr_utf8_len(p, left) : 0;
        if (n && is_bidi(p, n)) {
            unsigned cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
            snprintf(esc, sizeof esc, "\\u%04X", cp);
            raw(o, esc);
        } else if (n) {
            jw_raw(o, (const char *)p, n);
        } else {
            n = 1;   /* control character, DEL or a byte that is not UTF-8 */
            snprintf(esc, sizeof esc, "\\x%02X", c);
            raw(o, esc);
        }
        p += n, left -= n;
    }
}

static void text_of(struct jsonw *o, const cJSON *o_, const char *k) { html_text(o, str(o_, k)); }

/* <tag class="cls">text</tag> */
static void el(struct jsonw *o, const char *tag, const char *cls, const char *text)
{
    if (cls) jw_printf(o, "<%s class=\"%s\">", tag, cls);
    else jw_printf(o, "<%s>", tag);
    html_text(o, text);
    jw_printf(o, "</%s>", tag);
}

/* A JSON value as text: strings escaped, numbers, booleans, null, arrays joined with ", ". */
static void value_text(struct jsonw *o, const cJSON *v)
{
    if (cJSON_IsString(v)) html_text(o, v->valuestring);
    else if (cJSON_IsNumber(v)) jw_printf(o, "%.15g", v->valuedouble);
    else if (cJSON_IsBool(v)) raw(o, cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNull(v) || !v) raw(o, "<span class=\"dim\">null</span>");
    else if (cJSON_IsArray(v)) {
        const cJSON *x;
        int i = 0;
        cJSON_ArrayForEach(x, v) {
            if (i++) raw(o, ", ");
            value_text(o, x);
        }
    } else {
        raw(o, "<span class=\"dim\">{…}</span>");
    }
}

/* Fixed class names for values the report spells (never the report's own string). */
static const char *sev_class(const char *s)
{
    static const char *const names[] = {"info", "low", "medium", "high", "critical"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i])) return names[i];
    return "unknown";
}

static const char *verdict_class(const char *v)
{
    static const char *const names[] = {"malicious", "suspicious", "incomplete", "clean"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(v, names[i])) return names[i];
    return "unknown";
}

static const char *status_class(const char *s)
{
    if (!strcmp(s, "ok") || !strcmp(s, "analyzed")) return "good";
    if (!strcmp(s, "skipped") || !strcmp(s, "not applicable")) return "dim";
    return "warn";
}

static const char *const css =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2430;background:#f4f5f7}"
    "main{max-width:1200px;margin:0 auto;padding:16px 24px 48px}"
    "header{background:#1d2430;color:#fff;padding:16px 24px}"
    "header h1{margin:0 0 6px;font-size:20px}header dl{margin:0;display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;font-size:13px}"
    "header dt{color:#9aa5b8}header dd{margin:0;word-break:break-all}"
    "section{background:#fff;border:1px solid #dde1e8;border-radius:6px;margin:16px 0;padding:12px 16px}"
    "h2{font-size:16px;margin:0 0 10px}h3{font-size:14px;margin:12px 0 6px}"
    "table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;vertical-align:top;padding:3px 8px;border-bottom:1px solid #eceef2}"
    "th{background:#f7f8fa;font-weight:600}td{word-break:break-word}"
    "code,pre{font:12px/1.4 ui-monospace,'DejaVu Sans Mono',monospace}"
    "pre{background:#f7f8fa;border:1px solid #eceef2;padding:6px 8px;white-space:pre-wrap;word-break:break-all;max-height:320px;overflow:auto;margin:4px 0}"
    ".verdict{font-size:22px;font-weight:700;padding:14px 18px;border-radius:6px;color:#fff;margin:16px 0}"
    ".verdict small{font-size:14px;font-weight:400;display:block;opacity:.9}"
    ".v-malicious{background:#b3141b}.v-suspicious{background:#c25e00}.v-incomplete{background:#7a6a00}"
    ".v-clean{background:#1d7a35}.v-unknown{background:#555}"
    ".sev{display:inline-block;min-width:64px;text-align:center;border-radius:3px;padding:0 6px;font-size:12px;font-weight:700;color:#fff;text-transform:uppercase}"
    ".sev-critical{background:#8b0d12}.sev-high{background:#d1242f}.sev-medium{background:#d97706}"
    ".sev-low{background:#2f6fb0}.sev-info,.sev-unknown{background:#6b7280}"
    "details.finding{border:1px solid #e3e6ec;border-radius:5px;margin:6px 0;padding:6px 10px}"
    "details.finding summary{cursor:pointer}details.suppressed{opacity:.55;background:#f3f3f3}"
    ".dim{color:#6b7280}.good{color:#1d7a35;font-weight:600}.warn{color:#b45309;font-weight:600}"
    ".canary{border:3px solid #b3141b;background:#fff1f1}.canary h2{color:#b3141b;font-size:20px}"
    ".tree,.tree ul{list-style:none;padding-left:18px;margin:2px 0}.tree li{margin:2px 0;border-left:1px dotted #b8bfcc;padding-left:8px}"
    ".tag{display:inline-block;font-size:11px;border:1px solid #b8bfcc;border-radius:3px;padding:0 4px;margin-left:4px}"
    ".k-exec td:nth-child(5){color:#6d28d9}.k-net td:nth-child(5),.k-dns td:nth-child(5),.k-payload td:nth-child(5){color:#1d4ed8}"
    ".k-denied{background:#fff7e6}.k-exfil{background:#ffe4e4;font-weight:600}.k-write td:nth-child(5){color:#b45309}"
    "footer{color:#6b7280;font-size:12px;margin-top:24px}";

/* ---- header and verdict ------------------------------------------------------------------- */

static void dl_row(struct jsonw *o, const char *dt, const char *dd)
{
    jw_printf(o, "<dt>%s</dt><dd>", dt);
    html_text(o, dd);
    raw(o, "</dd>");
}

static void show_header(struct jsonw *o, const cJSON *r)
{
    const cJSON *pkg = item(r, "package"), *src = item(pkg, "source");
    raw(o, "<header><h1>scriptbox report: ");
    if (*str(pkg, "name")) {
        text_of(o, pkg, "name");
        raw(o, "@");
        text_of(o, pkg, "version");
    } else {
        raw(o, "saved event stream");
    }
    raw(o, "</h1><dl>");
    dl_row(o, "integrity", *str(pkg, "integrity") ? str(pkg, "integrity") : "none (a folder)");
    raw(o, "<dt>source</dt><dd>");
    text_of(o, src, "kind");
    raw(o, " ");
    text_of(o, src, "path");
    raw(o, "</dd>");
    const cJSON *t = item(r, "timing");
    dl_row(o, "analyzed at", str(t, "started_at"));
    const cJSON *sb = item(r, "sandbox");
    raw(o, "<dt>sandbox</dt><dd>");
    html_text(o, *str(sb, "mode") ? str(sb, "mode") : "not run");
    jw_printf(o, ", %.0f leftover process(es) killed; run %.0f ms, total %.0f ms</dd>", num(sb, "leftover_processes"),
              num(t, "run_ms"), num(t, "total_ms"));
    raw(o, "<dt>tool</dt><dd>");
    text_of(o, item(r, "tool"), "name");
    raw(o, " ");
    text_of(o, item(r, "tool"), "version");
    raw(o, ", ");
    text_of(o, r, "schema");
    raw(o, "</dd></dl></header>\n");
}

static void show_verdict(struct jsonw *o, const cJSON *r)
{
    const char *v = str(r, "verdict");
    int n = 0, suppressed = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, item(r, "findings")) {
        if (cJSON_IsTrue(item(f, "suppressed"))) suppressed++;
        else n++;
    }
    jw_printf(o, "<div class=\"verdict v-%s\" id=\"verdict\">verdict: ", verdict_class(v));
    html_text(o, *v ? v : "unknown");
    jw_printf(o, "<small>%d finding%s", n, n == 1 ? "" : "s");
    if (suppressed) jw_printf(o, " (+%d suppressed by allowlist)", suppressed);
    int hits = cJSON_GetArraySize(item(r, "canary_hits"));
    if (hits) jw_printf(o, "; %d honeypot secret%s SENT OUT (see Network)", hits, hits == 1 ? "" : "s");
    const cJSON *rules = item(r, "rules");
    if (rules && num(rules, "loaded") == 0) raw(o, "; no rules ran: read what it did below");
    else if (rules) jw_printf(o, "; %.0f rules", num(rules, "loaded"));
    raw(o, "</small></div>\n");
}

/* ---- findings ----------------------------------------------------------------------------- */

static void show_evidence(struct jsonw *o, const cJSON *f)
{
    const cJSON *ev = item(f, "evidence");
    if (!cJSON_GetArraySize(ev)) return;
    raw(o, "<table><tr><th>where</th><th>kind</th><th>excerpt</th></tr>");
    const cJSON *e;
    cJSON_ArrayForEach(e, ev) {
        raw(o, "<tr><td>");
        if (*str(e, "file")) {
            raw(o, "<code>");
            text_of(o, e, "file");
            jw_printf(o, "&#58;%.0f</code>", num(e, "line"));
        } else if (has_num(e, "seq")) {
            jw_printf(o, "event #%.0f, pid %.0f, ", num(e, "seq"), num(e, "pid"));
            text_of(o, e, "phase");
        } else {
            raw(o, "registry");
        }
        raw(o, "</td><td>");
        text_of(o, e, "kind");
        raw(o, "</td><td><code>");
        text_of(o, e, "excerpt");
        raw(o, "</code></td></tr>");
    }
    raw(o, "</table>");
    if (num(f, "evidence_omitted")) jw_printf(o, "<p class=\"dim\">%.0f more not listed</p>", num(f, "evidence_omitted"));
}

static void show_finding(struct jsonw *o, const cJSON *f)
{
    bool sup = cJSON_IsTrue(item(f, "suppressed"));
    const char *sev = sev_class(str(f, "severity"));
    jw_printf(o, "<details class=\"finding%s\"%s><summary><span class=\"sev sev-%s\">", sup ? " suppressed" : "",
              sup ? "" : " open", sev);
    text_of(o, f, "severity");
    raw(o, "</span> <strong>");
    text_of(o, f, "title");
    raw(o, "</strong> <span class=\"dim\">[");
    text_of(o, f, "rule_id");
    raw(o, ", ");
    text_of(o, f, "category");
    jw_printf(o, ", %.0f match%s]</span>", num(f, "count"), num(f, "count") == 1 ? "" : "es");
    if (sup) {
        raw(o, " <span class=\"tag\">suppressed: ");
        text_of(o, item(f, "suppressed_by"), "reason");
        raw(o, "</span>");
    }
    raw(o, "</summary>");
    if (sup) {
        const cJSON *by = item(f, "suppressed_by");
        raw(o, "<p><strong>suppressed by allowlist:</strong> ");
        text_of(o, by, "reason");
        if (*str(by, "source")) {
            raw(o, " <span class=\"dim\">(");
            text_of(o, by, "source");
            raw(o, ")</span>");
        }
        raw(o, "</p>");
    }
    el(o, "p", NULL, str(f, "description"));
    const cJSON *loc = item(f, "location");
    if (*str(loc, "file")) {
        raw(o, "<p class=\"dim\">location: <code>");
        text_of(o, loc, "file");
        jw_printf(o, "&#58;%.0f</code></p>", num(loc, "line"));
    }
    show_evidence(o, f);
    if (cJSON_GetArraySize(item(f, "references"))) {
        raw(o, "<p class=\"dim\">references (as text): ");
        value_text(o, item(f, "references"));
        raw(o, "</p>");
    }
    raw(o, "<p class=\"dim\">finding id <code>");
    text_of(o, f, "id");
    raw(o, "</code></p></details>\n");
}

static void show_findings(struct jsonw *o, const cJSON *r)
{
    const cJSON *list = item(r, "findings");
    raw(o, "<section id=\"findings\"><h2>Findings</h2>");
    if (!cJSON_GetArraySize(list)) raw(o, "<p class=\"dim\">No findings.</p>");
    const cJSON *f;
    for (int pass = 0; pass < 2; pass++)   /* unsuppressed first, then the greyed suppressed ones */
        cJSON_ArrayForEach(f, list) {
            if (cJSON_IsTrue(item(f, "suppressed")) == (pass == 1)) show_finding(o, f);
        }
    raw(o, "</section>\n");
}

static bool is_gap(const cJSON *c)
{
    return strcmp(str(c, "status"), "analyzed") && strcmp(str(c, "status"), "not applicable");
}

static void coverage_table(struct jsonw *o, const cJSON *list, bool gaps_only)
{
    const cJSON *c;
    raw(o, "<table><tr><th>check</th><th>status</th><th>reason</th></tr>");
    cJSON_ArrayForEach(c, list) {
        if (gaps_only && !is_gap(c)) continue;
        raw(o, "<tr><td>");
        text_of(o, c, "check");
        jw_printf(o, "</td><td class=\"%s\">", status_class(str(c, "status")));
        text_of(o, c, "status");
        raw(o, "</td><td>");
        text_of(o, c, "reason");
        raw(o, "</td></tr>");
    }
    raw(o, "</table>");
}

static void show_coverage(struct jsonw *o, const cJSON *r)
{
    const cJSON *list = item(r, "coverage"), *c;
    int gaps = 0;
    cJSON_ArrayForEach(c, list) {
        gaps += is_gap(c);
    }
    raw(o, "<section id=\"coverage\"><h2>Coverage gaps</h2>");
    if (gaps) coverage_table(o, list, true);
    else raw(o, "<p class=\"good\">None: every check that applies ran.</p>");
    jw_printf(o, "<details><summary>all checks (%d)</summary>", cJSON_GetArraySize(list));
    coverage_table(o, list, false);
    raw(o, "</details></section>\n");
}

/* ---- phases ------------------------------------------------------------------------------- */

static void show_stream(struct jsonw *o, const cJSON *p, const char *name)
{
    const cJSON *s = item(p, name);
    if (!s) return;
    jw_printf(o, "<h3>%s <span class=\"dim\">(%.0f bytes%s)</span></h3>", name, num(s, "bytes"),
              cJSON_IsTrue(item(s, "truncated")) ? ", truncated in the report" : "");
    if (*str(s, "text")) {
        raw(o, "<pre>");
        text_of(o, s, "text");
        raw(o, "</pre>");
    }
}

static void show_phases(struct jsonw *o, const cJSON *r)
{
    const cJSON *list = item(r, "phases"), *p;
    raw(o, "<section id=\"phases\"><h2>Install phases</h2>");
    if (!cJSON_GetArraySize(list)) raw(o, "<p class=\"dim\">No install scripts: npm would run nothing for this package.</p>");
    cJSON_ArrayForEach(p, list) {
        const char *st = str(p, "status");
        raw(o, "<details class=\"finding\" open><summary><strong>");
        text_of(o, p, "name");
        jw_printf(o, "</strong> <span class=\"%s\">", status_class(st));
        html_text(o, st);
        raw(o, "</span>");
        if (has_num(p, "exit_code")) jw_printf(o, " exit %.0f", num(p, "exit_code"));
        if (has_num(p, "signal")) jw_printf(o, " signal %.0f", num(p, "signal"));
        if (has_num(p, "duration_ms")) jw_printf(o, ", %.0f ms", num(p, "duration_ms"));
        if (cJSON_IsTrue(item(p, "implicit"))) raw(o, " <span class=\"tag\">implicit</span>");
        raw(o, " <code>");
        text_of(o, p, "script");
        raw(o, "</code></summary>");
        if (*str(p, "reason")) {
            raw(o, "<p>not run: ");
            text_of(o, p, "reason");
            raw(o, "</p>");
        }
        show_stream(o, p, "stdout");
        show_stream(o, p, "stderr");
        raw(o, "</details>");
    }
    raw(o, "</section>\n");
}

/* ---- network -------------------------------------------------------------------------------- */

static void addr_cell(struct jsonw *o, const cJSON *addr)
{
    text_of(o, addr, "address");
    if (has_num(addr, "port")) jw_printf(o, " port %.0f", num(addr, "port"));
    if (*str(addr, "family")) {
        raw(o, " <span class=\"dim\">");
        text_of(o, addr, "family");
        raw(o, "</span>");
    }
}

static void omitted_note(struct jsonw *o, const cJSON *parent, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "%s_omitted", key);
    if (num(parent, k)) jw_printf(o, "<p class=\"dim\">%.0f more not listed (bound reached)</p>", num(parent, k));
}

static void show_canaries(struct jsonw *o, const cJSON *r)
{
    const cJSON *hits = item(r, "canary_hits"), *h;
    int n = cJSON_GetArraySize(hits);
    if (!n) {
        raw(o, "<p class=\"good\">No honeypot secret was seen leaving.</p>");
        return;
    }
    jw_printf(o, "<div class=\"canary\" id=\"canary-hits\"><h2>&#9888; %d honeypot secret%s SENT OUT</h2>"
              "<p>Proof of exfiltration: a per-run fake secret was found in what the package sent.</p>"
              "<table><tr><th>secret</th><th>where</th><th>field</th><th>encoding</th><th>event</th></tr>",
              n, n == 1 ? "" : "s");
    cJSON_ArrayForEach(h, hits) {
        raw(o, "<tr><td><strong>");
        text_of(o, h, "source");
        raw(o, "</strong></td><td>");
        text_of(o, h, "where");
        raw(o, "</td><td>");
        text_of(o, h, "field");
        raw(o, "</td><td>");
        text_of(o, h, "encoding");
        jw_printf(o, "</td><td>#%.0f (in #%.0f), ", num(h, "seq"), num(h, "ref_seq"));
        text_of(o, h, "phase");
        raw(o, "</td></tr>");
    }
    raw(o, "</table></div>");
    omitted_note(o, r, "canary_hits");
}

static void show_network(struct jsonw *o, const cJSON *r)
{
    const cJSON *net = item(r, "network"), *x;
    raw(o, "<section id=\"network\"><h2>Network</h2>");
    show_canaries(o, r);
    const cJSON *dns = item(net, "dns");
    jw_printf(o, "<h3>DNS queries (%d)</h3>", cJSON_GetArraySize(dns));
    if (cJSON_GetArraySize(dns)) {
        raw(o, "<table><tr><th>#</th><th>phase</th><th>name</th><th>type</th><th>answer</th><th>transport</th></tr>");
        cJSON_ArrayForEach(x, dns) {
            jw_printf(o, "<tr><td>%.0f</td><td>", num(x, "seq"));
            text_of(o, x, "phase");
            raw(o, "</td><td><code>");
            text_of(o, x, "name");
            raw(o, "</code></td><td>");
            value_text(o, item(x, "type"));
            raw(o, "</td><td>");
            text_of(o, x, "answer");
            raw(o, "</td><td>");
            text_of(o, x, "transport");
            raw(o, "</td></tr>");
        }
        raw(o, "</table>");
    }
    omitted_note(o, net, "dns");
    const cJSON *conns = item(net, "connections");
    jw_printf(o, "<h3>Connections (%d)</h3>", cJSON_GetArraySize(conns));
    if (cJSON_GetArraySize(conns)) {
        raw(o, "<table><tr><th>#</th><th>phase</th><th>destination</th><th>proto</th><th>request</th>"
               "<th>bytes</th></tr>");
        cJSON_ArrayForEach(x, conns) {
            jw_printf(o, "<tr><td>%.0f</td><td>", num(x, "seq"));
            text_of(o, x, "phase");
            raw(o, "</td><td>");
            if (*str(x, "dns_name")) {
                raw(o, "<code>");
                text_of(o, x, "dns_name");
                raw(o, "</code><br>");
            }
            addr_cell(o, item(x, "destination"));
            raw(o, "</td><td>");
            text_of(o, x, "transport");
            raw(o, " ");
            text_of(o, x, "proto");
            raw(o, "</td><td>");
            if (*str(x, "method")) {
                raw(o, "<code><strong>");
                text_of(o, x, "method");
                raw(o, "</strong> ");
                text_of(o, x, "host");
                text_of(o, x, "path");
                if (*str(x, "query")) {
                    raw(o, "?");
                    text_of(o, x, "query");
                }
                raw(o, "</code>");
            }
            if (*str(x, "sni")) {
                raw(o, " sni <code>");
                text_of(o, x, "sni");
                raw(o, "</code>");
                if (cJSON_IsTrue(item(x, "tls_intercepted"))) raw(o, " <span class=\"tag\">decrypted</span>");
            }
            if (*str(x, "tls_error")) {
                raw(o, " <span class=\"dim\">tls: ");
                text_of(o, x, "tls_error");
                raw(o, "</span>");
            }
            if (*str(x, "excerpt")) {
                raw(o, "<pre>");
                text_of(o, x, "excerpt");
                raw(o, "</pre>");
            }
            jw_printf(o, "</td><td>%.0f</td></tr>", num(x, "bytes"));
        }
        raw(o, "</table>");
    }
    omitted_note(o, net, "connections");
    const cJSON *att = item(net, "attempts");
    jw_printf(o, "<details><summary>socket calls (%d): connect, sendto, bind…</summary>", cJSON_GetArraySize(att));
    if (cJSON_GetArraySize(att)) {
        raw(o, "<table><tr><th>#</th><th>pid</th><th>phase</th><th>call</th><th>address</th><th>bytes</th></tr>");
        cJSON_ArrayForEach(x, att) {
            jw_printf(o, "<tr><td>%.0f</td><td>%.0f</td><td>", num(x, "seq"), num(x, "pid"));
            text_of(o, x, "phase");
            raw(o, "</td><td>");
            text_of(o, x, "syscall");
            raw(o, "</td><td>");
            addr_cell(o, item(x, "addr"));
            jw_printf(o, "</td><td>%.0f</td></tr>", num(x, "bytes"));
        }
        raw(o, "</table>");
    }
    omitted_note(o, net, "attempts");
    raw(o, "</details></section>\n");
}

/* ---- processes ------------------------------------------------------------------------------ */

struct tree {
    const cJSON **procs;
    int n;
    bool *shown;
};

static void show_proc(struct jsonw *o, const cJSON *p)
{
    jw_printf(o, "<code>%.0f</code> ", num(p, "pid"));
    raw(o, "<code><strong>");
    const cJSON *a;
    int i = 0;
    cJSON_ArrayForEach(a, item(p, "argv")) {
        if (i++) raw(o, " ");
        html_text(o, cJSON_IsString(a) ? a->valuestring : "?");
    }
    raw(o, "</strong></code> <span class=\"dim\">");
    text_of(o, p, "phase");
    if (*str(p, "exe")) {
        raw(o, ", ");
        text_of(o, p, "exe");
    }
    jw_printf(o, ", at %.1f ms", num(p, "start_ns") / 1e6);
    if (has_num(p, "exit_code")) jw_printf(o, ", exit %.0f", num(p, "exit_code"));
    if (has_num(p, "signal")) jw_printf(o, ", signal %.0f", num(p, "signal"));
    raw(o, "</span>");
    if (cJSON_IsTrue(item(p, "outlived_script"))) raw(o, " <span class=\"tag warn\">outlived its script</span>");
}

/* procs[i] and its children, nested up to TREE_MAX_DEPTH; deeper ones are listed as siblings. */
static void show_subtree(struct jsonw *o, struct tree *t, int i, int depth)
{
    t->shown[i] = true;
    raw(o, "<li>");
    show_proc(o, t->procs[i]);
    double pid = num(t->procs[i], "pid");
    bool deep = depth >= TREE_MAX_DEPTH, open_list = false;
    if (deep) raw(o, "</li>");
    for (int j = 0; j < t->n; j++) {
        if (t->shown[j] || num(t->procs[j], "ppid") != pid) continue;
        if (!deep && !open_list) raw(o, "<ul>");
        open_list = true;
        show_subtree(o, t, j, deep ? depth : depth + 1);
    }
    if (!deep) raw(o, open_list ? "</ul></li>" : "</li>");
}

static void show_processes(struct jsonw *o, const cJSON *r)
{
    const cJSON *list = item(r, "processes"), *p;
    int n = cJSON_GetArraySize(list);
    jw_printf(o, "<section id=\"processes\"><h2>Process tree (%d)</h2>", n);
    struct tree t = {calloc((size_t)n + 1, sizeof *t.procs), n, calloc((size_t)n + 1, sizeof *t.shown)};
    if (!t.procs || !t.shown) {
        o->failed = true;
    } else if (n) {
        int i = 0;
        cJSON_ArrayForEach(p, list) {
            t.procs[i++] = p;
        }
        raw(o, "<ul class=\"tree\">");
        /* Roots: a parent that exec'd nothing is not listed. Then anything left (a pid cycle). */
        for (int pass = 0; pass < 2; pass++)
            for (i = 0; i < n; i++) {
                if (t.shown[i]) continue;
                bool has_parent = false;
                for (int j = 0; j < n && !pass; j++)
                    has_parent |= j != i && num(t.procs[j], "pid") == num(t.procs[i], "ppid");
                if (!has_parent) show_subtree(o, &t, i, 0);
            }
        raw(o, "</ul>");
    } else {
        raw(o, "<p class=\"dim\">No process exec'd.</p>");
    }
    free(t.procs);
    free(t.shown);
    if (num(r, "processes_omitted")) jw_printf(o, "<p class=\"dim\">%.0f more not listed</p>", num(r, "processes_omitted"));
    raw(o, "</section>\n");
}

/* ---- files, denied, registry, unpack -------------------------------------------------------- */

static void folder_table(struct jsonw *o, const char *title, const cJSON *list)
{
    jw_printf(o, "<h3>%s (%d folders)</h3>", title, cJSON_GetArraySize(list));
    if (!cJSON_GetArraySize(list)) return;
    raw(o, "<details><summary>show</summary><table><tr><th>folder</th><th>count</th></tr>");
    const cJSON *f;
    cJSON_ArrayForEach(f, list) {
        raw(o, "<tr><td><code>");
        text_of(o, f, "folder");
        jw_printf(o, "</code></td><td>%.0f</td></tr>", num(f, "count"));
    }
    raw(o, "</table></details>");
}

static void show_files(struct jsonw *o, const cJSON *r)
{
    const cJSON *files = item(r, "files"), *w;
    raw(o, "<section id=\"files\"><h2>Files</h2>");
    const cJSON *out = item(files, "writes_outside_package");
    jw_printf(o, "<h3>Writes outside the package (%d)</h3>", cJSON_GetArraySize(out));
    if (cJSON_GetArraySize(out)) {
        raw(o, "<table><tr><th>#</th><th>pid</th><th>phase</th><th>call</th><th>path</th></tr>");
        cJSON_ArrayForEach(w, out) {
            jw_printf(o, "<tr><td>%.0f</td><td>%.0f</td><td>", num(w, "seq"), num(w, "pid"));
            text_of(o, w, "phase");
            raw(o, "</td><td>");
            text_of(o, w, "syscall");
            raw(o, "</td><td><code>");
            text_of(o, w, "path");
            if (*str(w, "path2")) {
                raw(o, " &rarr; ");
                text_of(o, w, "path2");
            }
            raw(o, "</code></td></tr>");
        }
        raw(o, "</table>");
    }
    omitted_note(o, files, "writes_outside_package");
    folder_table(o, "Reads", item(files, "reads_by_folder"));
    folder_table(o, "Writes inside the package", item(files, "package_writes_by_folder"));
    if (num(files, "folders_omitted")) jw_printf(o, "<p class=\"dim\">%.0f folders not listed</p>", num(files, "folders_omitted"));
    raw(o, "</section>\n");
}

static void show_denied(struct jsonw *o, const cJSON *r)
{
    const cJSON *den = item(r, "denied"), *calls = item(den, "calls"), *d;
    jw_printf(o, "<section id=\"denied\"><h2>Refused by the sandbox (%d)</h2>", cJSON_GetArraySize(calls));
    if (cJSON_GetArraySize(calls)) {
        raw(o, "<table><tr><th>#</th><th>pid</th><th>phase</th><th>call</th><th>detail</th></tr>");
        cJSON_ArrayForEach(d, calls) {
            jw_printf(o, "<tr><td>%.0f</td><td>%.0f</td><td>", num(d, "seq"), num(d, "pid"));
            text_of(o, d, "phase");
            raw(o, "</td><td>");
            text_of(o, d, "syscall");
            raw(o, "</td><td>");
            text_of(o, d, "detail");
            if (*str(d, "path")) {
                raw(o, " <code>");
                text_of(o, d, "path");
                raw(o, "</code>");
            }
            raw(o, "</td></tr>");
        }
        raw(o, "</table>");
    }
    omitted_note(o, den, "calls");
    raw(o, "</section>\n");
}

static void show_registry(struct jsonw *o, const cJSON *r)
{
    const cJSON *g = item(r, "registry"), *x;
    if (!cJSON_IsObject(g)) return;
    raw(o, "<section id=\"registry\"><h2>Registry facts</h2><details><summary>show all</summary><table>");
    cJSON_ArrayForEach(x, g) {
        raw(o, "<tr><th>");
        html_text(o, x->string ? x->string : "");
        raw(o, "</th><td>");
        if (cJSON_IsObject(x)) {
            const cJSON *y;
            cJSON_ArrayForEach(y, x) {
                html_text(o, y->string ? y->string : "");
                raw(o, "=");
                value_text(o, y);
                raw(o, " ");
            }
        } else {
            value_text(o, x);
        }
        raw(o, "</td></tr>");
    }
    raw(o, "</table></details></section>\n");
}

static void show_unpack(struct jsonw *o, const cJSON *r)
{
    const cJSON *u = item(r, "unpack"), *it;
    if (!cJSON_IsObject(u)) return;
    jw_printf(o, "<section id=\"unpack\"><h2>Tarball</h2><p>%.0f entries, %.0f files, %.0f bytes</p>", num(u, "entries"),
              num(u, "files"), num(u, "bytes"));
    if (cJSON_GetArraySize(item(u, "issues"))) {
        raw(o, "<table><tr><th>issue</th><th>entry</th><th>detail</th></tr>");
        cJSON_ArrayForEach(it, item(u, "issues")) {
            raw(o, "<tr><td>");
            text_of(o, it, "kind");
            raw(o, "</td><td><code>");
            text_of(o, it, "entry");
            raw(o, "</code></td><td>");
            text_of(o, it, "detail");
            raw(o, "</td></tr>");
        }
        raw(o, "</table>");
    }
    raw(o, "</section>\n");
}

/* ---- timeline ------------------------------------------------------------------------------- */

static const char *kind_class(const cJSON *it)
{
    static const char *const kinds[] = {"exec", "proc_exit", "fs", "net", "dns", "payload", "exfil", "denied",
                                        "note", "truncated"};
    const char *k = str(it, "kind");
    if (!strcmp(k, "open")) return strstr(str(it, "summary"), "(read") ? "open" : "write";
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (!strcmp(k, kinds[i])) return kinds[i];
    return "other";
}

static void show_timeline(struct jsonw *o, const cJSON *r)
{
    const cJSON *tl = item(r, "timeline"), *it;
    int n = cJSON_GetArraySize(tl);
    jw_printf(o, "<section id=\"timeline\"><h2>Timeline (%d events)</h2>", n);
    if (!cJSON_IsArray(tl)) {
        raw(o, "<p class=\"dim\">This report carries no timeline; the sections above list processes, files and "
               "network attempts.</p></section>\n");
        return;
    }
    double t0 = 0;
    bool first = true;
    cJSON_ArrayForEach(it, tl) {
        if (first || num(it, "t_ns") < t0) t0 = num(it, "t_ns");
        first = false;
    }
    raw(o, "<p class=\"dim\">File reads only fill what the other events leave of the bound; "
           "the saved event stream (--events) has everything.</p>");
    omitted_note(o, r, "timeline");
    raw(o, "<details open><summary>events</summary><table><tr><th>ms</th><th>#</th><th>pid</th><th>phase</th>"
           "<th>kind</th><th>what</th></tr>");
    cJSON_ArrayForEach(it, tl) {
        jw_printf(o, "<tr class=\"k-%s\"><td>%.1f</td><td>%.0f</td><td>%.0f</td><td>", kind_class(it),
                  (num(it, "t_ns") - t0) / 1e6, num(it, "seq"), num(it, "pid"));
        text_of(o, it, "phase");
        raw(o, "</td><td>");
        text_of(o, it, "kind");
        raw(o, "</td><td><code>");
        text_of(o, it, "summary");
        raw(o, "</code></td></tr>");
    }
    raw(o, "</table></details></section>\n");
}

static void show_footer(struct jsonw *o, const cJSON *r)
{
    const cJSON *ev = item(r, "events");
    jw_printf(o, "<footer>%.0f events observed (%.0f dropped)", num(ev, "count"), num(ev, "dropped"));
    if (*str(ev, "saved_to")) {
        raw(o, ", saved to <code>");
        text_of(o, ev, "saved_to");
        raw(o, "</code>");
    }
    raw(o, ". The JSON report (--format json) is the canonical record; this page is rendered from it and "
           "loads nothing.</footer>");
}

char *report_render_html(const cJSON *report)
{
    struct jsonw o = {0};
    const cJSON *pkg = item(report, "package");
    raw(&o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "base-uri 'none'; form-action 'none'\">\n"
            "<meta name=\"referrer\" content=\"no-referrer\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>scriptbox: ");
    text_of(&o, pkg, "name");
    raw(&o, "@");
    text_of(&o, pkg, "version");
    raw(&o, " — ");
    text_of(&o, report, "verdict");
    raw(&o, "</title>\n<style>");
    raw(&o, css);
    raw(&o, "</style></head><body>\n");
    show_header(&o, report);
    raw(&o, "<main>\n");
    show_verdict(&o, report);
    show_findings(&o, report);
    show_coverage(&o, report);
    show_phases(&o, report);
    show_network(&o, report);
    show_processes(&o, report);
    show_files(&o, report);
    show_denied(&o, report);
    show_timeline(&o, report);
    show_registry(&o, report);
    show_unpack(&o, report);
    show_footer(&o, report);
    raw(&o, "\n</main></body></html>\n");
    if (o.failed) {
        jw_free(&o);
        return NULL;
    }
    return o.buf;
}
