/* report_text.c — the terminal summary a person reads in ten seconds. Package output is shown
 * with every control character made visible, so a hostile script cannot drive the terminal. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "report.h"
#include "report_network.h"

enum { SHOW_OUTPUT_LINES = 5, SHOW_LINE_CHARS = 160 };

struct style { const char *bold, *dim, *red, *yellow, *green, *reset; };

static struct style style_for(bool color)
{
    if (!color) return (struct style){"", "", "", "", "", ""};
    return (struct style){"\033[1m", "\033[2m", "\033[31m", "\033[33m", "\033[32m", "\033[0m"};
}

static const char *str(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    return s ? s : "";
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(n) ? n->valuedouble : 0;
}

static void printable(struct jsonw *out, const char *s, size_t n)
{
    char esc[8];
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\t' || c >= 0x20) {
            if (c != 0x7f) { jw_raw(out, s + i, 1); continue; }
        }
        snprintf(esc, sizeof esc, "\\x%02X", c);
        jw_raw(out, esc, 4);
    }
}

static void show_output(struct jsonw *out, const cJSON *stream, const struct style *st)
{
    const char *text = str(stream, "text");
    int shown = 0, lines = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lines++;
        if (shown < SHOW_OUTPUT_LINES) {
            jw_printf(out, "      %s│%s ", st->dim, st->reset);
            printable(out, p, len > SHOW_LINE_CHARS ? SHOW_LINE_CHARS : len);
            jw_raw(out, len > SHOW_LINE_CHARS ? "…\n" : "\n", len > SHOW_LINE_CHARS ? 4 : 1);
            shown++;
        }
        p += len + (nl != NULL);
    }
    if (lines > shown) jw_printf(out, "      %s│ (%d more lines)%s\n", st->dim, lines - shown, st->reset);
}

static void show_phases(struct jsonw *out, const cJSON *r, const struct style *st)
{
    const cJSON *phases = cJSON_GetObjectItemCaseSensitive(r, "phases");
    if (!cJSON_GetArraySize(phases)) {
        const char *kind = str(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "package"), "source"), "kind");
        if (strcmp(kind, "events")) jw_printf(out, "install scripts: none (npm would run nothing for this package)\n");
        return;
    }
    jw_printf(out, "%sinstall scripts%s\n", st->bold, st->reset);
    const cJSON *p;
    cJSON_ArrayForEach(p, phases) {
        const char *status = str(p, "status");
        const char *col = !strcmp(status, "ok") ? st->green : st->yellow;
        jw_printf(out, "  %-12s %s%-8s%s", str(p, "name"), col, status, st->reset);
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(p, "exit_code");
        if (cJSON_IsNumber(code)) jw_printf(out, " exit %-3d %6.0f ms  ", code->valueint, num(p, "duration_ms"));
        else jw_raw(out, "  ", 2);
        if (!strcmp(str(p, "kind"), "deps")) {   /* the dependency phase (deps.h) */
            const char *why = str(p, "reason");
            jw_printf(out, "dependencies: %.0f installed", num(p, "installed"));
            if (*why) {
                jw_raw(out, "; ", 2);
                printable(out, why, strlen(why) > 160 ? 160 : strlen(why));
            }
            const cJSON *b;
            cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(p, "blocked")) {
                const char *h = cJSON_GetStringValue(b);
                jw_printf(out, "; not reached: ");
                if (h) printable(out, h, strlen(h) > 100 ? 100 : strlen(h));
            }
            jw_raw(out, "\n", 1);
            continue;
        }
        const char *script = str(p, "script");
        printable(out, script, strlen(script) > 100 ? 100 : strlen(script));
        jw_raw(out, "\n", 1);
        const cJSON *so = cJSON_GetObjectItemCaseSensitive(p, "stdout");
        const cJSON *se = cJSON_GetObjectItemCaseSensitive(p, "stderr");
        if (so) show_output(out, so, st);
        if (se) show_output(out, se, st);
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "time_accelerated"))) {
        jw_printf(out, "  %stime accelerated:%s", st->yellow, st->reset);
        const cJSON *t;
        int i = 0;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(r, "time_shortened")) {
            const char *x = cJSON_GetStringValue(t);
            if (!x) continue;
            jw_raw(out, i ? "; " : " ", i ? 2 : 1);
            i++;
            printable(out, x, strlen(x));
        }
        jw_raw(out, "\n", 1);
    }
}

enum { SHOW_FINDINGS = 8, SHOW_EVIDENCE = 2 };

static void show_evidence(struct jsonw *out, const cJSON *f, const struct style *st)
{
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(f, "evidence")) {
        if (i++ == SHOW_EVIDENCE) break;
        const char *x = str(e, "excerpt");
        jw_printf(out, "           %s", st->dim);
        if (*str(e, "file")) jw_printf(out, "%s:%.0f: ", str(e, "file"), num(e, "line"));
        else if (!strcmp(str(e, "kind"), "metadata")) jw_printf(out, "registry: ");   /* facts, no event */
        else jw_printf(out, "#%.0f %s: ", num(e, "seq"), str(e, "phase"));
        size_t cap = strcmp(str(e, "kind"), "metadata") ? 110 : 200;
        printable(out, x, strlen(x) > cap ? cap : strlen(x));
        jw_printf(out, "%s\n", st->reset);
    }
    int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f, "evidence")) + (int)num(f, "evidence_omitted");
    if (n > SHOW_EVIDENCE) jw_printf(out, "           %s… %d more%s\n", st->dim, n - SHOW_EVIDENCE, st->reset);
}

static void show_findings(struct jsonw *out, const cJSON *r, const struct style *st)
{
    const cJSON *f;
    int shown = 0, hidden = 0, suppressed = 0;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(r, "findings")) {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "suppressed"))) { suppressed++; continue; }
        if (shown == SHOW_FINDINGS) { hidden++; continue; }
        shown++;
        const char *sev = str(f, "severity");
        const char *col = (!strcmp(sev, "critical") || !strcmp(sev, "high")) ? st->red : st->yellow;
        jw_printf(out, "  %s%-8s%s %s  %s[%s, %s]%s\n", col, sev, st->reset, str(f, "title"), st->dim,
                   str(f, "category"), str(f, "rule_id"), st->reset);
        show_evidence(out, f, st);
    }
    if (hidden) jw_printf(out, "  … %d more finding%s in the JSON report\n", hidden, hidden == 1 ? "" : "s");
    if (suppressed) {
        jw_printf(out, "  %ssuppressed by allowlist:%s", st->dim, st->reset);
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(r, "findings")) {
            if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "suppressed"))) continue;
            const char *why = str(cJSON_GetObjectItemCaseSensitive(f, "suppressed_by"), "reason");
            jw_printf(out, " %s (", str(f, "rule_id"));
            printable(out, why, strlen(why) > 60 ? 60 : strlen(why));
            jw_raw(out, ")", 1);
        }
        jw_raw(out, "\n", 1);
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(r, "coverage")) {
        const char *status = str(c, "status");
        if (strcmp(status, "not analyzed") && strcmp(status, "partial")) continue;
        jw_printf(out, "  %s%s%s: %s — %s\n", st->yellow, status, st->reset, str(c, "check"), str(c, "reason"));
    }
    if (shown || suppressed) jw_raw(out, "\n", 1);
}

static void show_verdict(struct jsonw *out, const cJSON *r, const struct style *st)
{
    const char *v = str(r, "verdict");
    const char *col = !strcmp(v, "clean") ? st->green : !strcmp(v, "malicious") ? st->red : st->yellow;
    int n = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(r, "findings")) {
        n += !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "suppressed"));
    }
    jw_printf(out, "verdict: %s%s%s", st->bold, col, v);
    jw_printf(out, "%s — %d finding%s", st->reset, n, n == 1 ? "" : "s");
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(r, "rules");
    if (rules && num(rules, "loaded") == 0) jw_printf(out, " %s(no rules ran: read what it did below)%s", st->dim, st->reset);
    else if (rules) jw_printf(out, " %s(%.0f rules)%s", st->dim, num(rules, "loaded"), st->reset);
    jw_raw(out, "\n\n", 2);
}

static void show_header(struct jsonw *out, const cJSON *r, const struct style *st)
{
    const cJSON *pkg = cJSON_GetObjectItemCaseSensitive(r, "package");
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(pkg, "source");
    jw_printf(out, "%sscriptbox%s ", st->bold, st->reset);
    const char *name = str(pkg, "name");
    const char *ver = str(pkg, "version");
    if (*name) {
        printable(out, name, strlen(name));
        jw_raw(out, "@", 1);
        printable(out, ver, strlen(ver));
    } else {
        jw_printf(out, "saved event stream");
    }
    jw_printf(out, "  %s(%s %s", st->dim, str(src, "kind"), str(src, "path"));
    const char *integ = str(pkg, "integrity");
    if (*integ) jw_printf(out, ", %.24s…", integ);
    jw_printf(out, ")%s\n", st->reset);
}

enum { SHOW_LIST_ITEMS = 5 };

/* inet/inet6 first, then unix; netlink (the kernel, e.g. getaddrinfo asking for interfaces)
 * is only counted. */
static int attempt_rank(const cJSON *a)
{
    const char *fam = str(cJSON_GetObjectItemCaseSensitive(a, "addr"), "family");
    if (!strcmp(fam, "inet") || !strcmp(fam, "inet6")) return 0;
    if (!strcmp(fam, "unix")) return 1;
    return 2;
}

static void show_attempt(struct jsonw *out, const cJSON *a)
{
    const cJSON *addr = cJSON_GetObjectItemCaseSensitive(a, "addr");
    const char *where = str(addr, "address");
    jw_printf(out, "         %-8s ", str(a, "syscall"));
    printable(out, where, strlen(where) > 100 ? 100 : strlen(where));
    if (num(addr, "port")) jw_printf(out, " port %.0f", num(addr, "port"));
    jw_printf(out, "  (%s)\n", str(a, "phase"));
}

/* With the fake internet, internet connects are shown with what they carried (the Network
 * block); this block then keeps the local ones (unix sockets, netlink). */
static void show_attempts(struct jsonw *out, const cJSON *r)
{
    const cJSON *net = cJSON_GetObjectItemCaseSensitive(r, "network");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(net, "attempts");
    bool captured = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(net, "connections")) > 0 ||
                    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(net, "dns")) > 0;
    int counts[3] = {0, 0, 0}, shown = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, list) counts[attempt_rank(a)]++;
    if (captured) counts[0] = 0;
    int listed = counts[0] + counts[1];
    if (!listed && !counts[2]) return;
    jw_printf(out, "%s %d attempt%s (nothing left the sandbox)", captured ? "local   " : "network ", listed,
              listed == 1 ? "" : "s");
    if (counts[2]) jw_printf(out, "; %d netlink call%s", counts[2], counts[2] == 1 ? "" : "s");
    jw_raw(out, "\n", 1);
    for (int rank = captured ? 1 : 0; rank < 2; rank++)
        cJSON_ArrayForEach(a, list) {
            if (attempt_rank(a) != rank) continue;
            if (shown++ == SHOW_LIST_ITEMS) { jw_printf(out, "         … %d more\n", listed - SHOW_LIST_ITEMS); return; }
            show_attempt(out, a);
        }
}

static void show_outside_writes(struct jsonw *out, const cJSON *r)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "files"), "writes_outside_package");
    int n = cJSON_GetArraySize(list), i = 0;
    if (!n) return;
    jw_printf(out, "files    %d write%s outside the package\n", n, n == 1 ? "" : "s");
    const cJSON *w;
    cJSON_ArrayForEach(w, list) {
        if (i++ == SHOW_LIST_ITEMS) { jw_printf(out, "         … %d more\n", n - SHOW_LIST_ITEMS); break; }
        const char *p = str(w, "path");
        jw_printf(out, "         %-8s ", str(w, "syscall"));
        printable(out, p, strlen(p) > 120 ? 120 : strlen(p));
        jw_raw(out, "\n", 1);
    }
}

/* Folders read under HOME outside the package (what a stealer would read). */
static void show_home_reads(struct jsonw *out, const cJSON *r)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "files"), "reads_by_folder");
    int n = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, list) {
        const char *d = str(f, "folder");
        if (strncmp(d, "/home/", 6) || strstr(d, "/node_modules")) continue;
        if (!n++) jw_printf(out, "read     ");
        else jw_raw(out, ", ", 2);
        if (n > SHOW_LIST_ITEMS * 2) { jw_raw(out, "…", 3); break; }
        printable(out, d, strlen(d) > 80 ? 80 : strlen(d));
        jw_printf(out, " (%.0f)", num(f, "count"));
    }
    if (n) jw_raw(out, "\n", 1);
}

static void show_denied(struct jsonw *out, const cJSON *r)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "denied"), "calls");
    int n = cJSON_GetArraySize(list), i = 0;
    if (!n) return;
    jw_printf(out, "denied   %d call%s refused by the sandbox:", n, n == 1 ? "" : "s");
    const cJSON *d;
    cJSON_ArrayForEach(d, list) {
        if (i++ == SHOW_LIST_ITEMS * 2) { jw_printf(out, " …"); break; }
        jw_printf(out, " %s", str(d, "syscall"));
    }
    jw_raw(out, "\n", 1);
}

/* One line of registry facts for registry targets (the JSON report has them all). */
static void show_registry(struct jsonw *out, const cJSON *r)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(r, "registry");
    if (!cJSON_IsObject(g)) return;
    jw_printf(out, "\nregistry %s from %s", str(g, "spec_kind"), str(g, "registry"));
    const char *when = str(g, "published_at");
    if (*when) jw_printf(out, ", published %s (%.0f h ago)", when, num(g, "age_hours"));
    const char *user = str(g, "npm_user");
    if (*user) {
        jw_printf(out, " by ");
        printable(out, user, strlen(user) > 64 ? 64 : strlen(user));
    }
    jw_printf(out, "\n         integrity %s ok, signatures %s, provenance %s%s\n", str(g, "integrity_verified_with"),
              str(g, "signatures"), cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(g, "provenance_present")) ? "present" : "absent",
              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(g, "provenance_present")) ? " (not Sigstore-verified)" : "");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(g, "cooldown_violation")))
        jw_printf(out, "         younger than --min-age (%.0f h)\n", num(g, "min_age_hours"));
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(g, "manifest_confusion")))
        jw_printf(out, "         manifest confusion: the registry's manifest differs from the tarball's package.json\n");
}

static void show_footer(struct jsonw *out, const cJSON *r)
{
    show_registry(out, r);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(r, "unpack");
    if (cJSON_IsObject(u)) {
        int issues = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(u, "issues"));
        jw_printf(out, "\nunpack   %.0f files, %.0f bytes, %d issue%s\n", num(u, "files"), num(u, "bytes"),
                   issues, issues == 1 ? "" : "s");
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(u, "issues")) {
            jw_printf(out, "         %s: ", str(it, "kind"));
            const char *e = str(it, "entry");
            printable(out, e, strlen(e) > 120 ? 120 : strlen(e));
            jw_printf(out, " (%s)\n", str(it, "detail"));
        }
    } else {
        jw_raw(out, "\n", 1);
    }
    show_attempts(out, r);
    report_network_text(out, r);
    show_home_reads(out, r);
    show_outside_writes(out, r);
    show_denied(out, r);
    int nprocs = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "processes"));
    if (nprocs) jw_printf(out, "procs    %d process%s ran\n", nprocs, nprocs == 1 ? "" : "es");
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(r, "events");
    jw_printf(out, "events   %.0f observed", num(ev, "count"));
    const char *saved = str(ev, "saved_to");
    if (*saved) jw_printf(out, ", saved to %s", saved);
    jw_raw(out, "\n", 1);
    const cJSON *sb = cJSON_GetObjectItemCaseSensitive(r, "sandbox");
    const char *mode = str(sb, "mode");
    if (*mode) jw_printf(out, "sandbox  %s, %.0f process(es) left behind and killed\n", mode, num(sb, "leftover_processes"));
}

char *report_render_text(const cJSON *report, bool color)
{
    struct style st = style_for(color);
    struct jsonw out = {0};
    show_header(&out, report, &st);
    show_verdict(&out, report, &st);
    show_findings(&out, report, &st);
    report_network_text_secrets(&out, report, st.red, st.bold, st.reset);
    show_phases(&out, report, &st);
    show_footer(&out, report);
    if (out.failed) { jw_free(&out); return NULL; }
    return out.buf;
}
