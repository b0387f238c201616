/* report_timeline.c — the report's optional `timeline`: one short line per event, for people
 * reading the HTML report (report.h, docs/report-schema.md "timeline").
 *
 * Bounded to REPORT_TIMELINE_MAX items. File reads are the noise of every run (node alone opens
 * dozens of libraries), so they only fill what the other events leave of the bound: a package
 * cannot push its network or exec events out of the timeline by reading files first. */
#include "report.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonstr.h"
#include "jsonw.h"

enum { SUMMARY_MAX = 300 };

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

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == 0);
}

/* Device nodes and fd links are where output goes (as in summary.c): not file activity. */
static bool is_plumbing(const char *path) { return under(path, "/dev") || under(path, "/proc/self/fd"); }

static void addr_text(struct jsonw *o, const cJSON *addr)
{
    const char *fam = str(addr, "family"), *a = str(addr, "address");
    if (*fam) jw_printf(o, " %s", fam);
    if (*a) {
        jw_raw(o, " ", 1);
        jw_raw(o, a, strlen(a));
    }
    if (num(addr, "port")) jw_printf(o, " port %.0f", num(addr, "port"));
}

static void s(struct jsonw *o, const char *text)
{
    jw_raw(o, text, strlen(text));
}

/* The one-line summary of event e of kind k. false: not a timeline event. */
static bool summarize(struct jsonw *o, const cJSON *e, const char *k)
{
    if (!strcmp(k, "exec")) {
        s(o, "exec ");
        s(o, str(e, "path"));
        const cJSON *a;
        int i = 0;
        cJSON_ArrayForEach(a, item(e, "argv")) {
            s(o, i++ ? " " : ": ");
            s(o, cJSON_IsString(a) ? a->valuestring : "?");
        }
    } else if (!strcmp(k, "proc_exit")) {
        if (cJSON_IsNumber(item(e, "signal"))) jw_printf(o, "killed by signal %.0f", num(e, "signal"));
        else jw_printf(o, "exit %.0f", num(e, "exit_code"));
    } else if (!strcmp(k, "open")) {
        if (is_plumbing(str(e, "path"))) return false;
        s(o, "open ");
        s(o, str(e, "path"));
        if (*str(e, "detail")) { s(o, " ("); s(o, str(e, "detail")); s(o, ")"); }
    } else if (!strcmp(k, "fs")) {
        s(o, str(e, "syscall"));
        s(o, " ");
        s(o, str(e, "path"));
        if (*str(e, "path2")) { s(o, " -> "); s(o, str(e, "path2")); }
    } else if (!strcmp(k, "net")) {
        s(o, str(e, "syscall"));
        addr_text(o, item(e, "addr"));
        if (num(e, "bytes")) jw_printf(o, ", %.0f bytes", num(e, "bytes"));
    } else if (!strcmp(k, "dns")) {
        s(o, "dns ");
        s(o, str(e, "qtype"));
        if (cJSON_IsNumber(item(e, "qtype"))) jw_printf(o, "type %.0f", num(e, "qtype"));
        s(o, " ");
        s(o, str(e, "name"));
        if (*str(e, "answer")) { s(o, " -> "); s(o, str(e, "answer")); }
        if (*str(e, "transport")) { s(o, " ("); s(o, str(e, "transport")); s(o, ")"); }
    } else if (!strcmp(k, "payload")) {
        const cJSON *http = item(e, "http"), *tls = item(e, "tls");
        s(o, *str(e, "proto") ? str(e, "proto") : "payload");
        if (*str(e, "dns_name")) { s(o, " "); s(o, str(e, "dns_name")); }
        addr_text(o, item(e, "addr"));
        if (http) {
            s(o, ": ");
            s(o, str(http, "method"));
            s(o, " ");
            s(o, str(http, "host"));
            s(o, str(http, "path"));
            if (*str(http, "query")) { s(o, "?"); s(o, str(http, "query")); }
        } else if (*str(tls, "sni")) {
            s(o, ": sni ");
            s(o, str(tls, "sni"));
        }
        jw_printf(o, ", %.0f bytes", num(e, "bytes"));
    } else if (!strcmp(k, "exfil")) {
        s(o, "canary from ");
        s(o, str(e, "source"));
        s(o, " seen in ");
        s(o, str(e, "where"));
        s(o, " ");
        s(o, str(e, "field"));
        s(o, " (");
        s(o, str(e, "encoding"));
        s(o, ")");
    } else if (!strcmp(k, "denied")) {
        s(o, "denied ");
        s(o, str(e, "syscall"));
        if (*str(e, "path")) { s(o, " "); s(o, str(e, "path")); }
        if (*str(e, "detail")) { s(o, " ("); s(o, str(e, "detail")); s(o, ")"); }
    } else if (!strcmp(k, "note")) {
        s(o, str(e, "detail"));
    } else if (!strcmp(k, "truncated")) {
        jw_printf(o, "event stream truncated: %.0f events dropped", num(e, "dropped"));
    } else {
        return false;   /* socket: the connect/sendto that follows says more */
    }
    return true;
}

/* Cut at SUMMARY_MAX bytes without splitting a UTF-8 sequence; "…" marks the cut. */
static void bound(struct jsonw *o)
{
    if (o->failed || o->len <= SUMMARY_MAX) return;
    size_t n = SUMMARY_MAX - 3;
    while (n && ((unsigned char)o->buf[n] & 0xC0) == 0x80) n--;
    o->len = n;
    jw_raw(o, "\xe2\x80\xa6", 3);
}

static cJSON *timeline_item(const cJSON *e, const char *k, struct jsonw *o)
{
    cJSON *it = cJSON_CreateObject();
    if (!it) return NULL;
    cJSON_AddNumberToObject(it, "t_ns", num(e, "t_ns"));
    cJSON_AddNumberToObject(it, "seq", num(e, "seq"));
    cJSON_AddNumberToObject(it, "pid", num(e, "pid"));
    cJSON_AddStringToObject(it, "phase", str(e, "phase"));
    cJSON_AddStringToObject(it, "kind", k);
    /* Event strings are sanitized already; sanitize again so the summary is valid UTF-8 even
     * from a hand-made stream (rules check --events). */
    char *clean = jsonstr_sanitize(o->buf ? o->buf : "", o->len, 0, NULL);
    cJSON_AddStringToObject(it, "summary", clean ? clean : "");
    free(clean);
    return it;
}

static bool is_read(const cJSON *e, const char *k)
{
    if (strcmp(k, "open")) return false;
    long flags = (long)num(e, "flags");
    return (flags & O_ACCMODE) == O_RDONLY && !(flags & (O_CREAT | O_TRUNC));
}

int report_timeline_add(cJSON *report, const char *events, size_t len)
{
    cJSON *others = cJSON_CreateArray(), *reads = cJSON_CreateArray();
    double seen = 0;
    struct jsonw line = {0};
    bool oom = !others || !reads;
    for (const char *p = events, *end = events + len; !oom && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        cJSON *e = n ? cJSON_ParseWithLength(p, n) : NULL;
        p += n + 1;
        const char *k = cJSON_GetStringValue(item(e, "kind"));
        jw_reset(&line);
        if (k && summarize(&line, e, k)) {
            seen++;
            cJSON *list = is_read(e, k) ? reads : others;
            if (cJSON_GetArraySize(list) < REPORT_TIMELINE_MAX) {
                bound(&line);
                cJSON *it = line.failed ? NULL : timeline_item(e, k, &line);
                if (!it || !cJSON_AddItemToArray(list, it)) { cJSON_Delete(it); oom = true; }
            }
        }
        cJSON_Delete(e);
    }
    jw_free(&line);
    cJSON *out = oom ? NULL : cJSON_AddArrayToObject(report, "timeline");
    if (out) {
        /* Merge by seq: every other event, then reads up to what is left of the bound. */
        int budget = REPORT_TIMELINE_MAX - cJSON_GetArraySize(others);
        while (others->child || (reads->child && budget > 0)) {
            const cJSON *a = others->child, *b = reads->child;
            bool take_read = b && budget > 0 && (!a || num(b, "seq") < num(a, "seq"));
            cJSON *from = take_read ? reads : others;
            cJSON_AddItemToArray(out, cJSON_DetachItemViaPointer(from, from->child));
            if (take_read) budget--;
        }
        double kept = cJSON_GetArraySize(out);
        if (seen > kept) cJSON_AddNumberToObject(report, "timeline_omitted", seen - kept);
    }
    cJSON_Delete(others);
    cJSON_Delete(reads);
    return out ? 0 : -1;
}
