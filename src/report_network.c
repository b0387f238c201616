/* report_network.c — network.dns, network.connections and canary_hits from the event stream,
 * and their text blocks (report_network.h). */
#include "report_network.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct net_acc {
    cJSON *dns, *conns, *hits;
    cJSON *by_id;            /* conn_id → index in conns (as a number) */
    double dns_omitted, conns_omitted, hits_omitted;
    bool oom;
};

/* ---- small accessors ---------------------------------------------------------------------- */

static const cJSON *item(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }
static const char *str(const cJSON *o, const char *k) { return cJSON_GetStringValue(item(o, k)); }

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = item(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void copy_key(struct net_acc *a, cJSON *dst, const char *dst_key, const cJSON *src, const char *src_key)
{
    const cJSON *v = item(src, src_key);
    if (!v || item(dst, dst_key)) return;
    cJSON *d = cJSON_Duplicate(v, 1);
    if (!d || !cJSON_AddItemToObject(dst, dst_key, d)) { cJSON_Delete(d); a->oom = true; }
}

static void set_str(struct net_acc *a, cJSON *o, const char *k, const char *v)
{
    if (v && !item(o, k) && !cJSON_AddStringToObject(o, k, v)) a->oom = true;
}

/* ---- dns --------------------------------------------------------------------------------- */

static void on_dns(struct net_acc *a, const cJSON *e)
{
    if (cJSON_GetArraySize(a->dns) >= REPORT_NETWORK_MAX_LISTED) { a->dns_omitted++; return; }
    cJSON *q = cJSON_CreateObject();
    if (!q) { a->oom = true; return; }
    copy_key(a, q, "seq", e, "seq");
    copy_key(a, q, "pid", e, "pid");
    copy_key(a, q, "phase", e, "phase");
    copy_key(a, q, "name", e, "name");
    copy_key(a, q, "type", e, "qtype");
    copy_key(a, q, "answer", e, "answer");
    copy_key(a, q, "transport", e, "transport");
    cJSON_AddItemToArray(a->dns, q);
}

/* ---- connections ------------------------------------------------------------------------- */

/* The entry for e's conn_id (a new one when unseen; conn_id 0: always new), or NULL. */
static cJSON *conn_for(struct net_acc *a, const cJSON *e)
{
    double id = num(e, "conn_id");
    char key[32];
    snprintf(key, sizeof key, "%.0f", id);
    if (id > 0) {
        const cJSON *at = item(a->by_id, key);
        if (at) return cJSON_GetArrayItem(a->conns, at->valueint);
    }
    int n = cJSON_GetArraySize(a->conns);
    if (n >= REPORT_NETWORK_MAX_LISTED) { a->conns_omitted++; return NULL; }
    cJSON *c = cJSON_CreateObject();
    if (!c) { a->oom = true; return NULL; }
    if (id > 0) cJSON_AddNumberToObject(c, "conn_id", id);
    copy_key(a, c, "seq", e, "seq");
    copy_key(a, c, "pid", e, "pid");
    copy_key(a, c, "phase", e, "phase");
    cJSON_AddArrayToObject(c, "event_seqs");
    cJSON_AddItemToArray(a->conns, c);
    if (id > 0) cJSON_AddNumberToObject(a->by_id, key, n);
    return c;
}

static void add_seq(struct net_acc *a, cJSON *c, const cJSON *e)
{
    cJSON *seqs = cJSON_GetObjectItemCaseSensitive(c, "event_seqs");
    cJSON *s = cJSON_CreateNumber(num(e, "seq"));
    if (!s || !cJSON_AddItemToArray(seqs, s)) { cJSON_Delete(s); a->oom = true; }
}

static void on_net(struct net_acc *a, const cJSON *e)
{
    cJSON *c = conn_for(a, e);
    if (!c) return;
    copy_key(a, c, "destination", e, "addr");
    add_seq(a, c, e);
}

static void set_bytes(cJSON *c, double bytes)
{
    cJSON *b = cJSON_GetObjectItemCaseSensitive(c, "bytes");
    if (!b) cJSON_AddNumberToObject(c, "bytes", bytes);
    else if (bytes > b->valuedouble) cJSON_SetNumberValue(b, bytes);
}

/* A short excerpt of the payload's own (already escaped) excerpt, cut on a character boundary. */
static void set_excerpt(struct net_acc *a, cJSON *c, const char *ex)
{
    if (!ex || !*ex || item(c, "excerpt")) return;
    size_t n = strlen(ex);
    if (n > REPORT_NETWORK_EXCERPT) {
        n = REPORT_NETWORK_EXCERPT;
        while (n && ((unsigned char)ex[n] & 0xC0) == 0x80) n--;
    }
    char *cut = strndup(ex, n);
    if (!cut) { a->oom = true; return; }
    set_str(a, c, "excerpt", cut);
    free(cut);
}

static void on_payload(struct net_acc *a, const cJSON *e)
{
    cJSON *c = conn_for(a, e);
    if (!c) return;
    add_seq(a, c, e);
    copy_key(a, c, "destination", e, "addr");
    copy_key(a, c, "transport", e, "transport");
    copy_key(a, c, "proto", e, "proto");
    copy_key(a, c, "dns_name", e, "dns_name");
    const cJSON *http = item(e, "http");
    set_str(a, c, "method", str(http, "method"));
    set_str(a, c, "host", str(http, "host"));
    set_str(a, c, "path", str(http, "path"));
    set_str(a, c, "query", str(http, "query"));
    const cJSON *tls = item(e, "tls");
    set_str(a, c, "sni", str(tls, "sni"));
    copy_key(a, c, "tls_intercepted", tls, "intercepted");
    set_str(a, c, "tls_error", str(tls, "error"));
    set_bytes(c, num(e, "bytes"));
    set_excerpt(a, c, str(e, "excerpt"));
}

/* ---- canary hits ------------------------------------------------------------------------- */

static void on_exfil(struct net_acc *a, const cJSON *e)
{
    if (cJSON_GetArraySize(a->hits) >= REPORT_NETWORK_MAX_LISTED) { a->hits_omitted++; return; }
    cJSON *h = cJSON_CreateObject();
    if (!h) { a->oom = true; return; }
    static const char *const keys[] = {"source", "where", "field", "encoding", "ref_seq", "seq", "pid", "phase"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) copy_key(a, h, keys[i], e, keys[i]);
    cJSON_AddItemToArray(a->hits, h);
}

/* ---- the stream -------------------------------------------------------------------------- */

static bool wanted(const char *line, size_t n)
{
    return memmem(line, n, "\"kind\":\"dns\"", 12) || memmem(line, n, "\"kind\":\"payload\"", 16) ||
           memmem(line, n, "\"kind\":\"exfil\"", 14) || (memmem(line, n, "\"kind\":\"net\"", 12) && memmem(line, n, "\"conn_id\":", 10));
}

static void on_event(struct net_acc *a, const cJSON *e)
{
    const char *kind = str(e, "kind");
    if (!kind) return;
    if (!strcmp(kind, "dns")) on_dns(a, e);
    else if (!strcmp(kind, "payload")) on_payload(a, e);
    else if (!strcmp(kind, "exfil")) on_exfil(a, e);
    else if (!strcmp(kind, "net") && num(e, "conn_id") > 0) on_net(a, e);
}

static void feed(struct net_acc *a, const char *s, size_t len)
{
    const char *end = s + len;
    while (s < end && !a->oom) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        if (n && wanted(s, n)) {
            cJSON *e = cJSON_ParseWithLength(s, n);
            if (e) on_event(a, e);
            cJSON_Delete(e);
        }
        s += n + 1;
    }
}

static void attach(cJSON *parent, const char *key, cJSON **list, double omitted)
{
    cJSON_AddItemToObject(parent, key, *list);
    *list = NULL;
    if (omitted) {
        char k[64];
        snprintf(k, sizeof k, "%s_omitted", key);
        cJSON_AddNumberToObject(parent, k, omitted);
    }
}

int report_network_add(cJSON *report, const char *events, size_t len)
{
    struct net_acc a = {.dns = cJSON_CreateArray(), .conns = cJSON_CreateArray(), .hits = cJSON_CreateArray(),
                        .by_id = cJSON_CreateObject()};
    cJSON *net = cJSON_GetObjectItemCaseSensitive(report, "network");
    if (!net) net = cJSON_AddObjectToObject(report, "network");
    if (a.dns && a.conns && a.hits && a.by_id && net) feed(&a, events ? events : "", len);
    else a.oom = true;
    if (!a.oom) {
        attach(net, "dns", &a.dns, a.dns_omitted);
        attach(net, "connections", &a.conns, a.conns_omitted);
        attach(report, "canary_hits", &a.hits, a.hits_omitted);
    }
    cJSON_Delete(a.dns);
    cJSON_Delete(a.conns);
    cJSON_Delete(a.hits);
    cJSON_Delete(a.by_id);
    return a.oom ? -1 : 0;
}

/* ---- text -------------------------------------------------------------------------------- */

enum { SHOW_ITEMS = 8, SHOW_CHARS = 100 };

/* Package strings reach a terminal: control characters shown as \xHH, long ones cut. */
static void put(struct jsonw *out, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    for (size_t i = 0; i < n && i < SHOW_CHARS; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) jw_printf(out, "\\x%02X", c);
        else jw_raw(out, s + i, 1);
    }
    if (n > SHOW_CHARS) jw_raw(out, "…", 3);
}

void report_network_text_secrets(struct jsonw *out, const cJSON *report, const char *red, const char *bold,
                                 const char *reset)
{
    const cJSON *hits = item(report, "canary_hits");
    int n = cJSON_GetArraySize(hits), i = 0;
    if (!n) return;
    jw_printf(out, "%s%s!! SECRETS SENT OUT: %d honeypot secret%s found in what the package sent, ran or wrote%s\n", bold, red, n,
              n == 1 ? "" : "s", reset);
    const cJSON *h;
    cJSON_ArrayForEach(h, hits) {
        if (i++ == SHOW_ITEMS) { jw_printf(out, "   … %d more (see canary_hits)\n", n - SHOW_ITEMS); break; }
        jw_printf(out, "   %s%s%s via %s ", red, str(h, "source") ? str(h, "source") : "?", reset,
                  str(h, "where") ? str(h, "where") : "?");
        put(out, str(h, "field"));
        jw_printf(out, " (%s, event %.0f)\n", str(h, "encoding") ? str(h, "encoding") : "?", num(h, "ref_seq"));
    }
    jw_raw(out, "\n", 1);
}

/* Was this name asked before position `upto` (A and AAAA for one name are one name here)? */
static bool asked_before(const cJSON *dns, const cJSON *upto, const char *name)
{
    const cJSON *q;
    cJSON_ArrayForEach(q, dns) {
        if (q == upto) return false;
        if (name && str(q, "name") && !strcmp(str(q, "name"), name)) return true;
    }
    return false;
}

static void show_names(struct jsonw *out, const cJSON *dns)
{
    int distinct = 0, shown = 0;
    const cJSON *q;
    cJSON_ArrayForEach(q, dns) distinct += !asked_before(dns, q, str(q, "name"));
    if (!distinct) return;
    jw_printf(out, "         names queried (%d):", distinct);
    cJSON_ArrayForEach(q, dns) {
        if (asked_before(dns, q, str(q, "name"))) continue;
        if (shown++ == SHOW_ITEMS) { jw_printf(out, " … %d more", distinct - SHOW_ITEMS); break; }
        jw_raw(out, " ", 1);
        put(out, str(q, "name"));
    }
    jw_raw(out, "\n", 1);
}

static void show_conn(struct jsonw *out, const cJSON *c)
{
    const cJSON *d = item(c, "destination");
    const char *name = str(c, "dns_name");
    const char *proto = str(c, "proto") ? str(c, "proto") : num(d, "port") == 53 ? "dns" : str(c, "transport");
    jw_printf(out, "           %-5s ", proto ? proto : "?");
    if (name) put(out, name);
    else put(out, str(d, "address"));
    if (num(d, "port")) jw_printf(out, ":%.0f", num(d, "port"));
    if (str(c, "method")) {
        jw_printf(out, "  %s ", str(c, "method"));
        put(out, str(c, "path"));
        if (str(c, "query")) { jw_raw(out, "?", 1); put(out, str(c, "query")); }
    }
    if (str(c, "tls_error")) { jw_raw(out, "  (TLS not decrypted: ", 22); put(out, str(c, "tls_error")); jw_raw(out, ")", 1); }
    jw_printf(out, "  %.0f bytes\n", num(c, "bytes"));
}

void report_network_text(struct jsonw *out, const cJSON *report)
{
    const cJSON *net = item(report, "network");
    const cJSON *dns = item(net, "dns"), *conns = item(net, "connections");
    int nc = cJSON_GetArraySize(conns), i = 0;
    if (!cJSON_GetArraySize(dns) && !nc) return;
    jw_printf(out, "network  %d DNS quer%s, %d connection%s or datagram%s (answered by scriptbox's fake internet; "
                   "nothing left the sandbox)\n",
              cJSON_GetArraySize(dns), cJSON_GetArraySize(dns) == 1 ? "y" : "ies", nc, nc == 1 ? "" : "s", nc == 1 ? "" : "s");
    show_names(out, dns);
    if (nc) jw_printf(out, "         hosts contacted:\n");
    const cJSON *c;
    cJSON_ArrayForEach(c, conns) {
        if (i++ == SHOW_ITEMS) { jw_printf(out, "         … %d more\n", nc - SHOW_ITEMS); break; }
        show_conn(out, c);
    }
}
