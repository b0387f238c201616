/*
 * exfil.c — canaries in the event stream and in the written files → "exfil" lines (exfil.h).
 */
#include "exfil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "b64.h"

/* ---- pending records ------------------------------------------------------------------------ */

struct pending {
    struct exfil_record r;
    char *field, *phase;
    char chain[CANARY_CHAIN_MAX];
};

struct scan {
    const struct canary *c;
    size_t n;
    struct pending *v;
    size_t nv, cap;
    bool oom;
};

static void pending_free(struct scan *s)
{
    for (size_t i = 0; i < s->nv; i++) {
        free(s->v[i].field);
        free(s->v[i].phase);
    }
    free(s->v);
}

static void add_record(struct scan *s, const struct exfil_record *r, const char *chain)
{
    if (s->nv == EXFIL_MAX_RECORDS) return;
    if (s->nv == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct pending *v = realloc(s->v, cap * sizeof *v);
        if (!v) { s->oom = true; return; }
        s->v = v;
        s->cap = cap;
    }
    struct pending *p = &s->v[s->nv];
    p->r = *r;
    p->field = strdup(r->field ? r->field : "");
    p->phase = r->phase ? strdup(r->phase) : NULL;
    snprintf(p->chain, sizeof p->chain, "%s", chain);
    if (!p->field || (r->phase && !p->phase)) {
        free(p->field);
        free(p->phase);
        s->oom = true;
        return;
    }
    s->nv++;
}

/* ---- one event ---------------------------------------------------------------------------- */

/* Hits of one event, so each canary is reported once per event (first field wins). */
struct event_scan {
    struct scan *s;
    struct exfil_record base;    /* ref_seq, t_ns, pid, ppid, phase, where */
    struct canary_hits hits;
    const struct canary *seen[512];   /* >= HONEYPOT_MAX_CANARIES */
    size_t nseen;
};

static bool seen_before(struct event_scan *e, const struct canary *k)
{
    for (size_t i = 0; i < e->nseen; i++)
        if (e->seen[i] == k) return true;
    if (e->nseen < sizeof e->seen / sizeof *e->seen) e->seen[e->nseen++] = k;
    return false;
}

static void scan_bytes(struct event_scan *e, const char *field, const void *data, size_t len)
{
    if (!data || !len) return;
    size_t from = e->hits.n;
    if (canary_scan(e->s->c, e->s->n, data, len, field, &e->hits) < 0) e->s->oom = true;
    for (size_t i = from; i < e->hits.n; i++) {
        const struct canary_hit *h = &e->hits.v[i];
        if (seen_before(e, h->canary)) continue;
        struct exfil_record r = e->base;
        r.source = h->canary->source;
        r.field = field;
        r.encoding = h->chain;
        add_record(e->s, &r, h->chain);
    }
}

static void scan_str(struct event_scan *e, const char *field, const cJSON *obj, const char *key)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key));
    if (v) scan_bytes(e, field, v, strlen(v));
}

static void scan_http(struct event_scan *e, const cJSON *http)
{
    if (!cJSON_IsObject(http)) return;
    scan_str(e, "http.query", http, "query");
    scan_str(e, "http.path", http, "path");
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(http, "headers")) {
        char field[160];
        snprintf(field, sizeof field, "http.headers.%s", h->string ? h->string : "");
        if (cJSON_IsString(h)) scan_bytes(e, field, h->valuestring, strlen(h->valuestring));
    }
    scan_str(e, "http.body", http, "body_excerpt");
}

static void scan_payload(struct event_scan *e, const cJSON *ev)
{
    scan_http(e, cJSON_GetObjectItemCaseSensitive(ev, "http"));
    scan_str(e, "tls.sni", cJSON_GetObjectItemCaseSensitive(ev, "tls"), "sni");
    const char *b64 = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "data_b64"));
    size_t len = 0;
    unsigned char *data = b64 ? b64_decode(b64, strlen(b64), &len) : NULL;
    scan_bytes(e, "data", data, len);
    free(data);
}

static void scan_exec(struct event_scan *e, const cJSON *ev)
{
    struct jsonw b = {0};
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(ev, "argv")) {
        if (!cJSON_IsString(a)) continue;
        if (b.len) jw_raw(&b, "\n", 1);
        jw_raw(&b, a->valuestring, strlen(a->valuestring));
    }
    if (b.failed) e->s->oom = true;
    else scan_bytes(e, "argv", b.buf, b.len);
    jw_free(&b);
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void scan_event(struct scan *s, const cJSON *ev)
{
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "kind"));
    const char *where = !kind ? NULL : !strcmp(kind, "payload") ? "payload" : !strcmp(kind, "dns") ? "dns"
                      : !strcmp(kind, "exec") ? "exec" : NULL;
    if (!where) return;
    struct event_scan e = {.s = s};
    e.base = (struct exfil_record){
        .ref_seq = (uint64_t)num(ev, "seq"), .t_ns = (uint64_t)num(ev, "t_ns"), .pid = (int)num(ev, "pid"),
        .ppid = (int)num(ev, "ppid"), .where = where,
        .phase = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "phase")),
    };
    if (!strcmp(where, "payload")) scan_payload(&e, ev);
    else if (!strcmp(where, "dns")) scan_str(&e, "name", ev, "name");
    else scan_exec(&e, ev);
    canary_hits_free(&e.hits);
}

static void scan_stream(struct scan *s, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        /* cheap filter before parsing: only three kinds are scanned */
        if (n && (memmem(p, n, "\"kind\":\"payload\"", 16) || memmem(p, n, "\"kind\":\"dns\"", 12) ||
                  memmem(p, n, "\"kind\":\"exec\"", 13))) {
            cJSON *ev = cJSON_ParseWithLength(p, n);
            if (ev) scan_event(s, ev);
            cJSON_Delete(ev);
        }
        p += n + 1;
    }
}

static void scan_files(struct scan *s, const struct exfil_watch *w)
{
    for (size_t i = 0; w && i < w->nfiles; i++) {
        const struct exfil_file *f = &w->files[i];
        if (!f->data || f->unchanged) continue;
        struct event_scan e = {.s = s};
        e.base = (struct exfil_record){.ref_seq = f->ref_seq, .t_ns = f->t_ns, .pid = f->pid, .ppid = f->ppid,
                                       .phase = f->phase, .where = "file"};
        scan_bytes(&e, f->path, f->data, f->len);
        canary_hits_free(&e.hits);
    }
}

int exfil_scan(struct event_log *l, const struct canary *c, size_t n, const struct exfil_watch *w,
               struct sb_error *err)
{
    struct scan s = {.c = c, .n = n};
    if (n) {
        scan_stream(&s, l->out.buf ? l->out.buf : "", l->out.len);
        scan_files(&s, w);
    }
    if (s.oom) {
        pending_free(&s);
        return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory looking for canaries");
    }
    /* appended only now: l->out may move while it grows */
    for (size_t i = 0; i < s.nv; i++) {
        struct exfil_record r = s.v[i].r;
        r.field = s.v[i].field;
        r.phase = s.v[i].phase;
        r.encoding = s.v[i].chain;
        event_log_add_exfil(l, &r);
    }
    int hits = (int)s.nv;
    pending_free(&s);
    return hits;
}
