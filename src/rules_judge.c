/*
 * rules_judge.c — run a ruleset over one run's inputs: events (event and sequence rules), the
 * package's files (content rules) and registry facts (metadata rules); findings, coverage,
 * `rules test`, allowlists and the verdict.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "rules_int.h"

enum {
    PID_SLOTS = 8192,            /* power of two */
    MAX_PARTIALS = 64,           /* pending sequence matches per rule */
    MAX_GROUPS = 256,            /* distinct-count groups per rule */
    EXCERPT_MAX = 200,
    WALK_MAX_FILES = 20000,
    WALK_MAX_DEPTH = 32,
    WALK_MAX_TOTAL = 256 * 1024 * 1024,
    MAX_INSTALL_FILES = 16,
};

struct proc_info {
    int pid, ppid;
    bool used;
    char *exe, *name, *cmdline;
};

struct partial {
    size_t next;
    int scope_id;
    uint64_t t0;
    cJSON *bound[RULE_MAX_STEPS];
};

struct agg_group {
    char *key;
    char **vals;
    size_t nvals;
    cJSON *evidence;
};

struct racc {
    int sev;                     /* -1: no hit yet */
    uint64_t count;
    cJSON *evidence;
    uint64_t omitted;
    char first_phase[32];
    struct partial *parts;
    size_t nparts;
    struct agg_group *groups;
    size_t ngroups;
};

struct judge {
    const struct ruleset *rs;
    const struct rules_vars *vars;
    int only;                    /* -1: all enabled rules; else this rule only (rules test) */
    struct racc *acc;
    struct proc_info *procs;     /* PID_SLOTS */
    cJSON *meta_skipped;         /* metadata rules not evaluated: a required fact was missing */
};

/* ---- small helpers ---------------------------------------------------------------- */

static const char *jstr(const cJSON *o, const char *k) { return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k)); }

static double jnum(const cJSON *o, const char *k, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

struct sbuf {
    char b[EXCERPT_MAX + 1];
    size_t n;
};

static void sadd(struct sbuf *s, const char *t)
{
    for (; t && *t && s->n < EXCERPT_MAX; t++) s->b[s->n++] = (unsigned char)*t < 0x20 ? ' ' : *t;
    s->b[s->n] = 0;
}

static void sadd_port(struct sbuf *s, double v)
{
    char t[32];
    snprintf(t, sizeof t, ":%.0f", v);
    sadd(s, t);
}

char *rules_excerpt(const cJSON *ev)
{
    struct sbuf s = {.n = 0};
    s.b[0] = 0;
    const char *kind = jstr(ev, "kind");
    if (!kind) kind = "?";
    if (!strcmp(kind, "exec")) {
        sadd(&s, "exec ");
        const cJSON *argv = cJSON_GetObjectItemCaseSensitive(ev, "argv"), *a;
        if (cJSON_GetArraySize(argv)) {
            int i = 0;
            cJSON_ArrayForEach(a, argv) {
                if (i++) sadd(&s, " ");
                sadd(&s, cJSON_GetStringValue(a));
            }
        } else {
            sadd(&s, jstr(ev, "path"));
        }
    } else if (!strcmp(kind, "open")) {
        sadd(&s, "open ");
        sadd(&s, jstr(ev, "path"));
        long fl = (long)jnum(ev, "flags", 0);
        sadd(&s, (fl & 3) ? " (write)" : (fl & 0100) ? " (create)" : " (read)");
    } else if (!strcmp(kind, "fs")) {
        sadd(&s, jstr(ev, "syscall") ? jstr(ev, "syscall") : "fs");
        sadd(&s, " ");
        sadd(&s, jstr(ev, "path"));
        if (jstr(ev, "path2")) { sadd(&s, " -> "); sadd(&s, jstr(ev, "path2")); }
        if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(ev, "mode"))) {
            char m[24];
            snprintf(m, sizeof m, " mode 0%lo", (long)jnum(ev, "mode", 0));
            sadd(&s, m);
        }
    } else if (!strcmp(kind, "net") || !strcmp(kind, "payload")) {
        const cJSON *addr = cJSON_GetObjectItemCaseSensitive(ev, "addr");
        if (!strcmp(kind, "net")) sadd(&s, jstr(ev, "syscall") ? jstr(ev, "syscall") : "net");
        else sadd(&s, jstr(ev, "proto") ? jstr(ev, "proto") : "payload");
        sadd(&s, " ");
        if (jstr(ev, "dns_name")) { sadd(&s, jstr(ev, "dns_name")); sadd(&s, " "); }
        sadd(&s, jstr(addr, "address"));
        if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(addr, "port"))) sadd_port(&s, jnum(addr, "port", 0));
        const cJSON *http = cJSON_GetObjectItemCaseSensitive(ev, "http");
        if (http) {
            sadd(&s, " ");
            sadd(&s, jstr(http, "method"));
            sadd(&s, " ");
            sadd(&s, jstr(http, "host"));
            sadd(&s, jstr(http, "target"));
        } else if (jstr(ev, "excerpt")) {
            sadd(&s, " ");
            sadd(&s, jstr(ev, "excerpt"));
        }
    } else if (!strcmp(kind, "dns")) {
        sadd(&s, "dns ");
        sadd(&s, jstr(ev, "qtype") ? jstr(ev, "qtype") : "?");
        sadd(&s, " ");
        sadd(&s, jstr(ev, "name"));
    } else if (!strcmp(kind, "exfil")) {
        sadd(&s, "canary from ");
        sadd(&s, jstr(ev, "source"));
        sadd(&s, " seen in ");
        sadd(&s, jstr(ev, "where"));
        if (jstr(ev, "field")) { sadd(&s, " "); sadd(&s, jstr(ev, "field")); }
        if (jstr(ev, "encoding")) { sadd(&s, " ("); sadd(&s, jstr(ev, "encoding")); sadd(&s, ")"); }
    } else if (!strcmp(kind, "denied")) {
        sadd(&s, "denied ");
        sadd(&s, jstr(ev, "syscall"));
        if (jstr(ev, "path")) { sadd(&s, " "); sadd(&s, jstr(ev, "path")); }
        if (jstr(ev, "detail")) { sadd(&s, " "); sadd(&s, jstr(ev, "detail")); }
    } else {
        sadd(&s, kind);
        if (jstr(ev, "syscall")) { sadd(&s, " "); sadd(&s, jstr(ev, "syscall")); }
        if (jstr(ev, "detail")) { sadd(&s, " "); sadd(&s, jstr(ev, "detail")); }
    }
    return strdup(s.b);
}

/* ---- process table ------------------------------------------------------------------ */

static unsigned slot_of(int pid) { return ((unsigned)pid * 2654435761u) & (PID_SLOTS - 1); }

static struct proc_info *proc_get(struct judge *j, int pid, bool create)
{
    for (unsigned i = slot_of(pid), n = 0; n < PID_SLOTS; i = (i + 1) & (PID_SLOTS - 1), n++) {
        struct proc_info *p = &j->procs[i];
        if (p->used && p->pid == pid) return p;
        if (!p->used) {
            if (!create) return NULL;
            p->used = true;
            p->pid = pid;
            return p;
        }
    }
    return NULL;
}

static int tree_root(struct judge *j, int pid)
{
    int root = pid;
    for (int hops = 0; hops < 64; hops++) {
        struct proc_info *p = proc_get(j, root, false);
        if (!p || p->ppid <= 1 || !proc_get(j, p->ppid, false)) break;
        root = p->ppid;
    }
    return root;
}

static char *join_argv(const cJSON *argv)
{
    size_t cap = 1024, n = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    const cJSON *a;
    cJSON_ArrayForEach(a, argv) {
        const char *t = cJSON_GetStringValue(a);
        if (!t) continue;
        size_t l = strlen(t);
        if (n + l + 2 > cap) {
            if (cap >= 8192) break;
            cap *= 4;
            char *ns = realloc(s, cap);
            if (!ns) break;
            s = ns;
        }
        if (n + l + 2 > cap) break;
        if (n) s[n++] = ' ';
        memcpy(s + n, t, l);
        n += l;
    }
    s[n] = 0;
    return s;
}

/* Track pid → image and add "proc": {exe, name, cmdline} to the event (the image of its pid,
 * or of its parent for a fork that has not exec'd). */
static void enrich(struct judge *j, cJSON *ev)
{
    int pid = (int)jnum(ev, "pid", 0), ppid = (int)jnum(ev, "ppid", 0);
    struct proc_info *p = proc_get(j, pid, true);
    if (!p) return;
    if (ppid > 0 && !p->ppid) p->ppid = ppid;
    const char *kind = jstr(ev, "kind");
    if (kind && !strcmp(kind, "exec") && jstr(ev, "path")) {
        free(p->exe);
        free(p->name);
        free(p->cmdline);
        p->exe = strdup(jstr(ev, "path"));
        const char *b = strrchr(p->exe ? p->exe : "", '/');
        p->name = strdup(b ? b + 1 : p->exe ? p->exe : "");
        p->cmdline = join_argv(cJSON_GetObjectItemCaseSensitive(ev, "argv"));
    }
    const struct proc_info *src = p->exe ? p : (ppid > 0 ? proc_get(j, ppid, false) : NULL);
    if (!src || !src->exe || cJSON_GetObjectItemCaseSensitive(ev, "proc")) return;
    cJSON *o = cJSON_AddObjectToObject(ev, "proc");
    cJSON_AddStringToObject(o, "exe", src->exe);
    if (src->name) cJSON_AddStringToObject(o, "name", src->name);
    if (src->cmdline) cJSON_AddStringToObject(o, "cmdline", src->cmdline);
}

/* ---- accumulating findings ------------------------------------------------------------ */

struct judge *judge_new(const struct ruleset *rs, const struct rules_vars *vars, int only_rule)
{
    struct judge *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->rs = rs;
    j->vars = vars;
    j->only = only_rule;
    j->acc = calloc(rs->nrules ? rs->nrules : 1, sizeof *j->acc);
    j->procs = calloc(PID_SLOTS, sizeof *j->procs);
    if (!j->acc || !j->procs) {
        free(j->acc);
        free(j->procs);
        free(j);
        return NULL;
    }
    for (size_t i = 0; i < rs->nrules; i++) j->acc[i].sev = -1;
    return j;
}

static void partial_free(struct partial *p)
{
    for (size_t i = 0; i < RULE_MAX_STEPS; i++) cJSON_Delete(p->bound[i]);
    memset(p, 0, sizeof *p);
}

void judge_free(struct judge *j)
{
    if (!j) return;
    cJSON_Delete(j->meta_skipped);
    for (size_t i = 0; i < j->rs->nrules; i++) {
        struct racc *a = &j->acc[i];
        cJSON_Delete(a->evidence);
        for (size_t k = 0; k < a->nparts; k++) partial_free(&a->parts[k]);
        free(a->parts);
        for (size_t g = 0; g < a->ngroups; g++) {
            free(a->groups[g].key);
            for (size_t v = 0; v < a->groups[g].nvals; v++) free(a->groups[g].vals[v]);
            free(a->groups[g].vals);
            cJSON_Delete(a->groups[g].evidence);
        }
        free(a->groups);
    }
    for (size_t i = 0; i < PID_SLOTS; i++) {
        free(j->procs[i].exe);
        free(j->procs[i].name);
        free(j->procs[i].cmdline);
    }
    free(j->procs);
    free(j->acc);
    free(j);
}

static cJSON *event_evidence(const cJSON *ev)
{
    cJSON *e = cJSON_CreateObject();
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(ev, "seq");
    if (cJSON_IsNumber(seq)) cJSON_AddNumberToObject(e, "seq", seq->valuedouble);
    cJSON_AddStringToObject(e, "kind", jstr(ev, "kind") ? jstr(ev, "kind") : "?");
    if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(ev, "pid"))) cJSON_AddNumberToObject(e, "pid", jnum(ev, "pid", 0));
    if (jstr(ev, "phase")) cJSON_AddStringToObject(e, "phase", jstr(ev, "phase"));
    char *x = rules_excerpt(ev);
    cJSON_AddStringToObject(e, "excerpt", x ? x : "");
    free(x);
    return e;
}

static void add_evidence(struct racc *a, cJSON *e)
{
    if (!a->evidence) a->evidence = cJSON_CreateArray();
    const char *x = jstr(e, "excerpt");
    const cJSON *o;
    cJSON_ArrayForEach(o, a->evidence) {
        const char *ox = jstr(o, "excerpt");
        if (x && ox && !strcmp(x, ox) && !jstr(e, "file")) { cJSON_Delete(e); return; }
    }
    if (cJSON_GetArraySize(a->evidence) >= EVIDENCE_MAX) {
        a->omitted++;
        cJSON_Delete(e);
        return;
    }
    if (!a->first_phase[0] && jstr(e, "phase")) snprintf(a->first_phase, sizeof a->first_phase, "%s", jstr(e, "phase"));
    cJSON_AddItemToArray(a->evidence, e);
}

static int severity_for(const struct rule *r, const struct eval_ctx *x)
{
    for (size_t i = 0; i < r->nsevif; i++)
        if (cond_eval(r->sevif[i].where, x)) return r->sevif[i].severity;
    return r->severity;
}

static void hit(struct racc *a, int sev)
{
    a->count++;
    if (sev > a->sev) a->sev = sev;
}

/* ---- event rules ---------------------------------------------------------------------- */

static void aggregate(struct judge *j, const struct rule *r, struct racc *a, const cJSON *ev, const struct eval_ctx *x)
{
    const cJSON *v = field_get(ev, r->agg.field, r->agg.nfield);
    const char *s = cJSON_GetStringValue(v);
    if (!s) return;
    const char *key = "";
    if (r->agg.key_labels > 0) {
        int dots = 0;
        key = s + strlen(s);
        while (key > s) {
            if (key[-1] == '.' && ++dots == r->agg.key_labels) break;
            key--;
        }
    }
    struct agg_group *g = NULL;
    for (size_t i = 0; i < a->ngroups; i++)
        if (!strcmp(a->groups[i].key, key)) { g = &a->groups[i]; break; }
    if (!g) {
        if (a->ngroups == MAX_GROUPS) return;
        if (!a->groups) a->groups = calloc(MAX_GROUPS, sizeof *a->groups);
        if (!a->groups) return;
        g = &a->groups[a->ngroups];
        g->key = strdup(key);
        g->vals = calloc(r->agg.at_least, sizeof *g->vals);
        if (!g->key || !g->vals) { free(g->key); free(g->vals); memset(g, 0, sizeof *g); return; }
        g->evidence = cJSON_CreateArray();
        a->ngroups++;
    }
    for (size_t i = 0; i < g->nvals; i++)
        if (!strcmp(g->vals[i], s)) return;
    if (g->nvals >= r->agg.at_least) return;   /* already fired for this group (count = at_least) */
    g->vals[g->nvals++] = strdup(s);
    if (cJSON_GetArraySize(g->evidence) < EVIDENCE_MAX) cJSON_AddItemToArray(g->evidence, event_evidence(ev));
    (void)j;
    if (g->nvals == r->agg.at_least) {
        cJSON *e;
        while ((e = cJSON_DetachItemFromArray(g->evidence, 0))) add_evidence(a, e);
        a->count += g->nvals - 1;
        hit(a, severity_for(r, x));
    }
}

static int scope_id(struct judge *j, const struct rule *r, const cJSON *ev)
{
    int pid = (int)jnum(ev, "pid", 0);
    if (r->scope == SCOPE_PID) return pid;
    if (r->scope == SCOPE_RUN) return 0;
    return tree_root(j, pid);
}

static void sequence(struct judge *j, const struct rule *r, struct racc *a, const cJSON *ev, int bit)
{
    uint64_t t = (uint64_t)jnum(ev, "t_ns", 0);
    int sid = scope_id(j, r, ev);
    /* drop expired partial matches */
    size_t w = 0;
    for (size_t i = 0; i < a->nparts; i++) {
        if (t > a->parts[i].t0 && t - a->parts[i].t0 > r->within_ns) partial_free(&a->parts[i]);
        else a->parts[w++] = a->parts[i];
    }
    a->nparts = w;
    size_t n = a->nparts;
    for (size_t i = 0; i < n; i++) {
        struct partial *p = &a->parts[i];
        const struct step *st = &r->steps[p->next];
        if (!(st->kinds & (1u << bit)) || p->scope_id != sid) continue;
        struct eval_ctx x = {.ev = ev, .bound = (const cJSON *const *)p->bound, .nbound = p->next, .vars = j->vars};
        if (!cond_eval(st->where, &x)) continue;
        if (p->next + 1 == r->nsteps) {
            const cJSON *all[RULE_MAX_STEPS];
            for (size_t k = 0; k < p->next; k++) all[k] = p->bound[k];
            all[p->next] = ev;
            struct eval_ctx fx = {.ev = ev, .bound = all, .nbound = r->nsteps, .vars = j->vars};
            for (size_t k = 0; k < r->nsteps; k++) add_evidence(a, event_evidence(all[k]));
            hit(a, severity_for(r, &fx));
            continue;
        }
        if (a->nparts == MAX_PARTIALS) continue;
        struct partial np = {.next = p->next + 1, .scope_id = p->scope_id, .t0 = p->t0};
        bool ok = true;
        for (size_t k = 0; k < p->next; k++) ok &= (np.bound[k] = cJSON_Duplicate(p->bound[k], 1)) != NULL;
        ok &= (np.bound[p->next] = cJSON_Duplicate(ev, 1)) != NULL;
        if (!ok) { partial_free(&np); continue; }
        a->parts[a->nparts++] = np;
        p = NULL;   /* parts may not move (fixed array), but keep the habit */
    }
    const struct step *s0 = &r->steps[0];
    if (!(s0->kinds & (1u << bit))) return;
    struct eval_ctx x0 = {.ev = ev, .bound = NULL, .nbound = 0, .vars = j->vars};
    if (!cond_eval(s0->where, &x0)) return;
    if (!a->parts) a->parts = calloc(MAX_PARTIALS, sizeof *a->parts);
    if (!a->parts) return;
    if (a->nparts == MAX_PARTIALS) {          /* drop the oldest */
        partial_free(&a->parts[0]);
        memmove(a->parts, a->parts + 1, (MAX_PARTIALS - 1) * sizeof *a->parts);
        memset(&a->parts[MAX_PARTIALS - 1], 0, sizeof *a->parts);
        a->nparts--;
    }
    struct partial np = {.next = 1, .scope_id = sid, .t0 = t};
    np.bound[0] = cJSON_Duplicate(ev, 1);
    if (np.bound[0]) a->parts[a->nparts++] = np;
}

void judge_event(struct judge *j, cJSON *ev)
{
    const char *kind = jstr(ev, "kind");
    int bit = kind ? rules_kind_bit(kind) : -1;
    if (bit < 0) return;
    enrich(j, ev);
    for (size_t i = 0; i < j->rs->nrules; i++) {
        const struct rule *r = &j->rs->rules[i];
        if (j->only >= 0 ? (size_t)j->only != i : !r->enabled) continue;
        struct racc *a = &j->acc[i];
        if (r->input == RI_SEQUENCE) {
            sequence(j, r, a, ev, bit);
            continue;
        }
        if (r->input != RI_EVENT || !(r->kinds & (1u << bit))) continue;
        struct eval_ctx x = {.ev = ev, .vars = j->vars};
        if (!cond_eval(r->where, &x)) continue;
        if (r->has_agg) {
            aggregate(j, r, a, ev, &x);
            continue;
        }
        add_evidence(a, event_evidence(ev));
        hit(a, severity_for(r, &x));
    }
}

void judge_content_file(struct judge *j, const char *rel, const char *buf, size_t len, bool install_script)
{
    for (size_t i = 0; i < j->rs->nrules; i++) {
        const struct rule *r = &j->rs->rules[i];
        if ((j->only >= 0 ? (size_t)j->only != i : !r->enabled) || r->input != RI_CONTENT) continue;
        unsigned line;
        char ex[EXCERPT_MAX + 1];
        if (!content_match(&r->content, rel, buf, len, install_script, &line, ex, sizeof ex)) continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "file", rel);
        cJSON_AddNumberToObject(e, "line", line);
        cJSON_AddStringToObject(e, "excerpt", ex);
        add_evidence(&j->acc[i], e);
        hit(&j->acc[i], r->severity);
    }
}

/* A metadata rule's "requires" path that is missing, null or false (NULL: all present). */
static const char *metadata_missing(const struct rule *r, const cJSON *meta)
{
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r->src, "metadata"), "requires");
    const cJSON *k;
    cJSON_ArrayForEach(k, req) {
        char *parts[RULE_MAX_FIELD];
        int n = field_split(k->valuestring, parts, RULE_MAX_FIELD);
        const cJSON *v = n > 0 ? field_get(meta, parts, (size_t)n) : NULL;
        for (int i = 0; i < n; i++) free(parts[i]);
        if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v)) return k->valuestring;
    }
    return NULL;
}

/* "field: value; field: value" from the rule's "evidence" paths (the facts that made it fire). */
static void metadata_excerpt(const struct rule *r, const cJSON *meta, const char *note, struct sbuf *sb)
{
    const cJSON *evs = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r->src, "metadata"), "evidence");
    const cJSON *k;
    if (note && *note) sadd(sb, note);
    cJSON_ArrayForEach(k, evs) {
        char *parts[RULE_MAX_FIELD];
        int n = field_split(k->valuestring, parts, RULE_MAX_FIELD);
        const cJSON *v = n > 0 ? field_get(meta, parts, (size_t)n) : NULL;
        for (int i = 0; i < n; i++) free(parts[i]);
        if (!v) continue;
        if (sb->n) sadd(sb, "; ");
        const char *dot = strchr(k->valuestring, '.');
        sadd(sb, dot && !strncmp(k->valuestring, "facts.", 6) ? dot + 1 : k->valuestring);
        sadd(sb, ": ");
        if (cJSON_IsString(v)) sadd(sb, v->valuestring);
        else if (cJSON_IsArray(v)) {
            const cJSON *e;
            int i = 0;
            cJSON_ArrayForEach(e, v) {
                if (i++) sadd(sb, ", ");
                if (cJSON_IsString(e)) sadd(sb, e->valuestring);
                else {
                    char *t = cJSON_PrintUnformatted(e);
                    sadd(sb, t);
                    free(t);
                }
            }
            if (!i) sadd(sb, "(none)");
        } else {
            char num[48];
            char *t = NULL;
            if (cJSON_IsNumber(v)) snprintf(num, sizeof num, v->valuedouble == (double)(long long)v->valuedouble ? "%.0f" : "%.1f", v->valuedouble);
            else t = cJSON_PrintUnformatted(v);
            sadd(sb, t ? t : cJSON_IsNumber(v) ? num : "?");
            free(t);
        }
    }
    if (!sb->n) sadd(sb, "registry facts");
}

void judge_metadata(struct judge *j, const cJSON *meta)
{
    for (size_t i = 0; i < j->rs->nrules; i++) {
        const struct rule *r = &j->rs->rules[i];
        if ((j->only >= 0 ? (size_t)j->only != i : !r->enabled) || r->input != RI_METADATA) continue;
        const char *missing = metadata_missing(r, meta);
        if (missing) {
            if (!j->meta_skipped) j->meta_skipped = cJSON_CreateArray();
            char line[200];
            snprintf(line, sizeof line, "%s (%s)", r->id, missing);
            cJSON_AddItemToArray(j->meta_skipped, cJSON_CreateString(line));
            continue;
        }
        char note[160] = "";
        struct eval_ctx x = {.ev = meta, .vars = j->vars, .note = note, .note_cap = sizeof note};
        if (!cond_eval(r->where, &x)) continue;
        struct sbuf sb = {.n = 0};
        sb.b[0] = 0;
        metadata_excerpt(r, meta, note, &sb);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "kind", "metadata");
        cJSON_AddStringToObject(e, "excerpt", sb.b);
        add_evidence(&j->acc[i], e);
        struct eval_ctx xs = {.ev = meta, .vars = j->vars};
        hit(&j->acc[i], severity_for(r, &xs));
    }
}

int judge_max_severity_of(struct judge *j, size_t rule_index) { return j->acc[rule_index].sev; }

/* Line of `"<phase>"` inside "scripts" of package.json text (0 if not found). */
static unsigned script_line(const char *text, const char *phase)
{
    if (!text || !phase) return 0;
    const char *scripts = strstr(text, "\"scripts\"");
    if (!scripts) return 0;
    char key[48];
    snprintf(key, sizeof key, "\"%s\"", phase);
    const char *at = strstr(scripts, key);
    if (!at) return 0;
    unsigned line = 1;
    for (const char *p = text; p < at; p++) line += *p == '\n';
    return line;
}

static void fingerprint(const char *rule_id, const cJSON *evidence, char out[17])
{
    uint64_t h = 1469598103934665603ull;
    const char *parts[3] = {rule_id, NULL, NULL};
    const cJSON *first = cJSON_GetArrayItem(evidence, 0);
    parts[1] = jstr(first, "file") ? jstr(first, "file") : jstr(first, "excerpt");
    char line[24] = "";
    if (jstr(first, "file")) snprintf(line, sizeof line, "%.0f", jnum(first, "line", 0));
    parts[2] = line;
    for (int i = 0; i < 3; i++) {
        for (const char *p = parts[i] ? parts[i] : ""; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
        h = (h ^ '|') * 1099511628211ull;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

cJSON *judge_findings(struct judge *j, const char *manifest_text)
{
    cJSON *out = cJSON_CreateArray();
    /* highest severity first, then rule order */
    for (int sev = SEV_CRITICAL; sev >= SEV_INFO; sev--)
        for (size_t i = 0; i < j->rs->nrules; i++) {
            struct racc *a = &j->acc[i];
            if (a->sev != sev) continue;
            const struct rule *r = &j->rs->rules[i];
            cJSON *f = cJSON_CreateObject();
            char fp[17];
            fingerprint(r->id, a->evidence, fp);
            cJSON_AddStringToObject(f, "id", fp);
            cJSON_AddStringToObject(f, "rule_id", r->id);
            cJSON_AddStringToObject(f, "severity", severity_name((enum severity)a->sev));
            cJSON_AddStringToObject(f, "category", r->category);
            cJSON_AddStringToObject(f, "title", r->title);
            cJSON_AddStringToObject(f, "description", r->description);
            cJSON_AddItemToObject(f, "references", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(r->src, "references"), 1));
            cJSON_AddNumberToObject(f, "count", (double)a->count);
            cJSON_AddItemToObject(f, "evidence", a->evidence ? a->evidence : cJSON_CreateArray());
            a->evidence = NULL;
            cJSON_AddNumberToObject(f, "evidence_omitted", (double)a->omitted);
            cJSON *loc = cJSON_AddObjectToObject(f, "location");
            const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(f, "evidence"), 0);
            if (jstr(first, "file")) {
                cJSON_AddStringToObject(loc, "file", jstr(first, "file"));
                cJSON_AddNumberToObject(loc, "line", jnum(first, "line", 1));
            } else {
                cJSON_AddStringToObject(loc, "file", "package.json");
                unsigned ln = script_line(manifest_text, a->first_phase);
                cJSON_AddNumberToObject(loc, "line", ln ? ln : 1);
            }
            cJSON_AddBoolToObject(f, "suppressed", false);
            cJSON_AddItemToArray(out, f);
        }
    return out;
}

/* ---- rules_judge: the whole input ------------------------------------------------------- */

static void coverage_add(cJSON *cov, const char *check, const char *status, const char *reason)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "check", check);
    cJSON_AddStringToObject(c, "status", status);
    if (reason) cJSON_AddStringToObject(c, "reason", reason);
    cJSON_AddItemToArray(cov, c);
}

static bool has_input(const struct ruleset *rs, enum rule_input in)
{
    for (size_t i = 0; i < rs->nrules; i++)
        if (rs->rules[i].enabled && rs->rules[i].input == in) return true;
    return false;
}

/* The package folder inside the sandbox: the cwd of the first exec under node_modules. */
static void infer_package_dir(const char *ev, size_t len, char *out, size_t cap)
{
    out[0] = 0;
    const char *p = ev, *end = ev + len;
    for (int lines = 0; p < end && lines < 2000; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (memmem(p, l, "\"kind\":\"exec\"", 13)) {
            cJSON *e = cJSON_ParseWithLength(p, l);
            const char *cwd = jstr(e, "cwd");
            if (cwd && strstr(cwd, "/node_modules/")) snprintf(out, cap, "%s", cwd);
            cJSON_Delete(e);
            if (out[0]) return;
        }
        p += l + 1;
    }
}

struct walk {
    struct judge *j;
    const struct ruleset *rs;
    char install[MAX_INSTALL_FILES][256];
    size_t ninstall;
    size_t files, too_big, unreadable;
    uint64_t total;
    bool cut, too_big_for_some;
};

static void install_files(struct walk *w, const cJSON *manifest, int dirfd)
{
    static const char *const phases[] = {"preinstall", "install", "postinstall"};
    const cJSON *scripts = cJSON_GetObjectItemCaseSensitive(manifest, "scripts");
    for (int i = 0; i < 3; i++) {
        const char *s = jstr(scripts, phases[i]);
        if (!s) continue;
        char tok[256];
        while (*s) {
            size_t n = strcspn(s, " \t\n;&|()<>'\"`");
            if (n && n < sizeof tok) {
                memcpy(tok, s, n);
                tok[n] = 0;
                const char *t = tok;
                while (!strncmp(t, "./", 2)) t += 2;
                struct stat st;
                if (*t && t[0] != '/' && !strstr(t, "..") && fstatat(dirfd, t, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    S_ISREG(st.st_mode) && w->ninstall < MAX_INSTALL_FILES)
                    snprintf(w->install[w->ninstall++], sizeof w->install[0], "%s", t);
            }
            s += n;
            if (*s) s++;
        }
    }
}

static bool is_install(const struct walk *w, const char *rel)
{
    for (size_t i = 0; i < w->ninstall; i++)
        if (!strcmp(w->install[i], rel)) return true;
    return false;
}

static void walk_dir(struct walk *w, int dfd, const char *prefix, int depth)
{
    DIR *d = fdopendir(dfd);
    if (!d) { close(dfd); return; }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (w->files >= WALK_MAX_FILES || w->total >= WALK_MAX_TOTAL) { w->cut = true; break; }
        char rel[4096];
        snprintf(rel, sizeof rel, "%s%s%s", prefix, *prefix ? "/" : "", de->d_name);
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth >= WALK_MAX_DEPTH) { w->cut = true; continue; }
            int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0) walk_dir(w, fd, rel, depth + 1);
            continue;
        }
        if (!S_ISREG(st.st_mode)) continue;
        /* Only files some content rule looks at are read, up to the largest bound among them. */
        bool inst = is_install(w, rel);
        size_t want = 0;
        for (size_t i = 0; i < w->rs->nrules; i++) {
            const struct rule *r = &w->rs->rules[i];
            if (r->enabled && r->input == RI_CONTENT && content_wants(&r->content, rel, inst)) {
                if (r->content.max_bytes > want) want = r->content.max_bytes;
                if ((size_t)st.st_size > r->content.max_bytes) w->too_big_for_some = true;
            }
        }
        if (!want) continue;
        w->files++;
        if ((size_t)st.st_size > want) { w->too_big++; continue; }
        /* O_NONBLOCK and a second fstat: a FIFO swapped in after the first look cannot block us */
        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > want) {
            if (fd >= 0) close(fd);
            w->unreadable++;
            continue;
        }
        size_t len = (size_t)st.st_size, got = 0;
        char *buf = malloc(len + 1);
        while (buf && got < len) {
            ssize_t r = read(fd, buf + got, len - got);
            if (r <= 0) break;
            got += (size_t)r;
        }
        close(fd);
        if (!buf) { w->unreadable++; continue; }
        buf[got] = 0;
        w->total += got;
        judge_content_file(w->j, rel, buf, got, inst);
        free(buf);
    }
    closedir(d);
}

static void judge_package_files(struct judge *j, const struct ruleset *rs, const struct rules_input *in, cJSON *cov)
{
    if (!has_input(rs, RI_CONTENT)) return;
    if (!in->package_dir) {
        coverage_add(cov, "content", "not analyzed", "no package files were given (rules check: --package DIR)");
        return;
    }
    int fd = open(in->package_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        char why[512];
        snprintf(why, sizeof why, "cannot open the package folder: %s", strerror(errno));
        coverage_add(cov, "content", "not analyzed", why);
        return;
    }
    struct walk w = {.j = j, .rs = rs};
    install_files(&w, in->manifest, fd);
    walk_dir(&w, fd, "", 0);
    char why[256];
    if (w.cut) {
        snprintf(why, sizeof why, "stopped after %zu files / %llu bytes (bounds %d files, %d MiB)", w.files,
                 (unsigned long long)w.total, WALK_MAX_FILES, WALK_MAX_TOTAL >> 20);
        coverage_add(cov, "content", "not analyzed", why);
    } else if (w.too_big || w.unreadable || w.too_big_for_some) {
        snprintf(why, sizeof why, "%zu of %zu files not scanned (%zu over every rule's size bound, %zu unreadable)%s",
                 w.too_big + w.unreadable, w.files, w.too_big, w.unreadable,
                 w.too_big_for_some ? "; some files were over some rules' bounds" : "");
        coverage_add(cov, "content", "partial", why);
    } else {
        snprintf(why, sizeof why, "%zu files scanned by content rules", w.files);
        coverage_add(cov, "content", "analyzed", why);
    }
}

int rules_judge(const struct ruleset *rs, const struct rules_input *in, struct rules_result *out, struct sb_error *err)
{
    out->findings = NULL;
    out->coverage = cJSON_CreateArray();
    char pkgdir[4096];
    if (in->sandbox_package_dir) snprintf(pkgdir, sizeof pkgdir, "%s", in->sandbox_package_dir);
    else infer_package_dir(in->events ? in->events : "", in->events_len, pkgdir, sizeof pkgdir);
    struct rules_vars vars = {.package_dir = pkgdir[0] ? pkgdir : NULL, .package_name = jstr(in->manifest, "name")};
    struct judge *j = judge_new(rs, &vars, -1);
    if (!j || !out->coverage) {
        judge_free(j);
        cJSON_Delete(out->coverage);
        out->coverage = NULL;
        return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory judging the run");
    }
    uint64_t nev = 0, bad = 0, dropped = 0, uncaptured = 0;
    const char *p = in->events, *end = in->events ? in->events + in->events_len : NULL;
    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (l) {
            cJSON *ev = cJSON_ParseWithLength(p, l);
            if (!cJSON_IsObject(ev)) bad++;
            else {
                nev++;
                const char *kind = jstr(ev, "kind");
                if (kind && !strcmp(kind, "truncated")) dropped += (uint64_t)jnum(ev, "dropped", 0);
                if (kind && !strcmp(kind, "payload")) {
                    double b = jnum(ev, "bytes", 0), c = jnum(ev, "captured", b);
                    if (b > c) uncaptured += (uint64_t)(b - c);
                }
                judge_event(j, ev);
            }
            cJSON_Delete(ev);
        }
        p += l + 1;
    }
    char why[256];
    if (!in->events) coverage_add(out->coverage, "events", "not analyzed", "no event stream (no script ran)");
    else if (dropped) {
        snprintf(why, sizeof why, "the event stream hit its size bound: %llu events were dropped unjudged", (unsigned long long)dropped);
        coverage_add(out->coverage, "events", "not analyzed", why);
    } else if (bad) {
        snprintf(why, sizeof why, "%llu lines were not JSON objects and were skipped", (unsigned long long)bad);
        coverage_add(out->coverage, "events", "partial", why);
    } else {
        snprintf(why, sizeof why, "%llu events judged", (unsigned long long)nev);
        coverage_add(out->coverage, "events", "analyzed", why);
    }
    if (uncaptured) {
        snprintf(why, sizeof why, "%llu payload bytes were beyond the capture bound and not inspected", (unsigned long long)uncaptured);
        coverage_add(out->coverage, "payloads", "not analyzed", why);
    }
    judge_package_files(j, rs, in, out->coverage);
    if (has_input(rs, RI_METADATA)) {
        if (in->facts) {
            cJSON *meta = cJSON_CreateObject();
            cJSON_AddItemReferenceToObject(meta, "package", (cJSON *)in->manifest);
            cJSON_AddItemReferenceToObject(meta, "facts", (cJSON *)in->facts);
            judge_metadata(j, meta);
            cJSON_Delete(meta);
            if (j->meta_skipped) {
                char *list = NULL;
                size_t cap = 0;
                FILE *ms = open_memstream(&list, &cap);
                const cJSON *e;
                int k = 0;
                if (ms) {
                    fprintf(ms, "%d metadata rules could not run, the registry did not provide the facts they need: ",
                            cJSON_GetArraySize(j->meta_skipped));
                    cJSON_ArrayForEach(e, j->meta_skipped) {
                        fprintf(ms, "%s%s", k++ ? ", " : "", e->valuestring);
                    }
                    fclose(ms);
                }
                coverage_add(out->coverage, "metadata", "partial", list ? list : "some metadata rules could not run");
                free(list);
            } else {
                coverage_add(out->coverage, "metadata", "analyzed", NULL);
            }
        } else {
            coverage_add(out->coverage, "metadata", in->facts_expected ? "not analyzed" : "not applicable",
                         in->facts_expected ? "registry facts unavailable" : "a local tarball or folder has no registry facts");
        }
    }
    out->findings = judge_findings(j, in->manifest_text);
    judge_free(j);
    if (!out->findings) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory judging the run");
    return 0;
}

void rules_result_free(struct rules_result *r)
{
    cJSON_Delete(r->findings);
    cJSON_Delete(r->coverage);
    r->findings = r->coverage = NULL;
}

/* ---- verdict ---------------------------------------------------------------------------- */

const char *rules_verdict(const cJSON *findings, const cJSON *coverage, bool strict_coverage)
{
    bool medium = false;
    const char *high_cat = NULL;
    const cJSON *f;
    cJSON_ArrayForEach(f, findings) {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "suppressed"))) continue;
        const char *s = jstr(f, "severity");
        int v = s ? severity_parse(s) : -1;
        const char *cat = jstr(f, "category");
        if (v == SEV_CRITICAL) return "malicious";
        if (v == SEV_HIGH) {
            if (high_cat && cat && strcmp(high_cat, cat)) return "malicious";
            if (!high_cat) high_cat = cat ? cat : "";
        }
        if (v >= SEV_MEDIUM) medium = true;
    }
    if (medium) return "suspicious";
    if (strict_coverage) {
        const cJSON *c;
        cJSON_ArrayForEach(c, coverage) {
            const char *st = jstr(c, "status");
            if (st && !strcmp(st, "not analyzed")) return "incomplete";
        }
    }
    return "clean";
}

/* ---- rules test ------------------------------------------------------------------------- */

static const char *const test_pkg_dir = "/home/dev/project/node_modules/example";

static void run_events(struct judge *j, const cJSON *events)
{
    int i = 0;
    const cJSON *e;
    cJSON *list = cJSON_IsArray(events) ? cJSON_Duplicate(events, 1) : NULL;
    if (!list) {
        list = cJSON_CreateArray();
        cJSON_AddItemToArray(list, cJSON_Duplicate(events, 1));
    }
    cJSON_ArrayForEach(e, list) {
        cJSON *ev = (cJSON *)e;
        i++;
        if (!cJSON_GetObjectItemCaseSensitive(ev, "seq")) cJSON_AddNumberToObject(ev, "seq", i);
        if (!cJSON_GetObjectItemCaseSensitive(ev, "t_ns")) cJSON_AddNumberToObject(ev, "t_ns", (double)i * 1e6);
        if (!cJSON_GetObjectItemCaseSensitive(ev, "pid")) cJSON_AddNumberToObject(ev, "pid", 100);
        if (!cJSON_GetObjectItemCaseSensitive(ev, "ppid")) cJSON_AddNumberToObject(ev, "ppid", 1);
        if (!cJSON_GetObjectItemCaseSensitive(ev, "phase")) cJSON_AddStringToObject(ev, "phase", "postinstall");
        judge_event(j, ev);
    }
    cJSON_Delete(list);
}

static void run_content(struct judge *j, const cJSON *ex)
{
    if (cJSON_IsString(ex)) {
        judge_content_file(j, "install.js", ex->valuestring, strlen(ex->valuestring), true);
        return;
    }
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(ex, "files");
    const cJSON *inst = cJSON_GetObjectItemCaseSensitive(ex, "install_scripts");
    const cJSON *f;
    cJSON_ArrayForEach(f, files) {
        const char *text = cJSON_GetStringValue(f);
        if (!text) continue;
        bool is_inst = !inst;
        const cJSON *n;
        cJSON_ArrayForEach(n, inst) {
            if (cJSON_IsString(n) && !strcmp(n->valuestring, f->string)) is_inst = true;
        }
        judge_content_file(j, f->string, text, strlen(text), is_inst);
    }
}

/* One example: 1 = as expected, 0 = not. */
static int run_example(const struct ruleset *rs, size_t ri, const cJSON *ex, bool want_match, char *why, size_t whylen)
{
    const struct rule *r = &rs->rules[ri];
    struct rules_vars vars = {.package_dir = test_pkg_dir, .package_name = "example"};
    struct judge *j = judge_new(rs, &vars, (int)ri);
    if (!j) { snprintf(why, whylen, "out of memory"); return 0; }
    const cJSON *input = ex;
    int want_sev = -1;
    const char *ws = jstr(ex, "severity");
    if (cJSON_IsObject(ex) && ws) {
        want_sev = severity_parse(ws);
        input = cJSON_GetObjectItemCaseSensitive(ex, r->input == RI_CONTENT ? "files" : r->input == RI_METADATA ? "input" : "events");
        if (r->input == RI_CONTENT) input = ex;   /* {"files": ..., "severity": ...} */
    }
    if (r->input == RI_CONTENT) run_content(j, input);
    else if (r->input == RI_METADATA) judge_metadata(j, input);
    else run_events(j, input);
    int got = judge_max_severity_of(j, ri);
    judge_free(j);
    if (want_match && got < 0) { snprintf(why, whylen, "expected a match, got none"); return 0; }
    if (!want_match && got >= 0) { snprintf(why, whylen, "expected no match, got one (%s)", severity_name((enum severity)got)); return 0; }
    if (want_match && want_sev >= 0 && got != want_sev) {
        snprintf(why, whylen, "expected severity %s, got %s", severity_name((enum severity)want_sev), severity_name((enum severity)got));
        return 0;
    }
    return 1;
}

int ruleset_test(const struct ruleset *rs, FILE *out, size_t *nexamples, size_t *nrules_tested)
{
    int failed = 0;
    *nexamples = 0;
    *nrules_tested = 0;
    for (size_t i = 0; i < rs->nrules; i++) {
        const struct rule *r = &rs->rules[i];
        const cJSON *exs = cJSON_GetObjectItemCaseSensitive(r->src, "examples");
        (*nrules_tested)++;
        for (int m = 0; m < 2; m++) {
            const cJSON *list = cJSON_GetObjectItemCaseSensitive(exs, m ? "nomatch" : "match");
            int k = 0;
            const cJSON *ex;
            cJSON_ArrayForEach(ex, list) {
                char why[256];
                (*nexamples)++;
                if (!run_example(rs, i, ex, m == 0, why, sizeof why)) {
                    failed++;
                    fprintf(out, "FAIL %s: examples.%s[%d]: %s (%s)\n", r->id, m ? "nomatch" : "match", k, why, r->file);
                }
                k++;
            }
        }
    }
    return failed;
}

/* ---- allowlists --------------------------------------------------------------------------- */

struct allowlist {
    cJSON *entries;   /* copies, each with "__source" */
};

int allowlist_add_json(struct allowlist **alp, const cJSON *entries, const char *where, struct sb_error *err)
{
    if (!*alp) {
        *alp = calloc(1, sizeof **alp);
        if (!*alp || !((*alp)->entries = cJSON_CreateArray()))
            return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory");
    }
    if (!cJSON_IsArray(entries))
        return sb_fail(err, SB_EXIT_INPUT, "bad-allowlist", 0, "%s: the allowlist is an array of entries (or {\"allow\": [...]})", where);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, entries) {
        static const char *const keys[] = {"package", "version", "rule", "finding", "reason", "comment"};
        const cJSON *k;
        if (!cJSON_IsObject(e))
            return sb_fail(err, SB_EXIT_INPUT, "bad-allowlist", 0, "%s: entry %d is not an object", where, i);
        cJSON_ArrayForEach(k, e) {
            bool ok = false;
            for (size_t n = 0; n < sizeof keys / sizeof keys[0]; n++) ok |= !strcmp(k->string, keys[n]);
            if (!ok || !cJSON_IsString(k))
                return sb_fail(err, SB_EXIT_INPUT, "bad-allowlist", 0, "%s: entry %d: field %s: %s", where, i, k->string,
                               ok ? "must be a string" : "unknown (package, version, rule, finding, reason)");
        }
        const char *reason = jstr(e, "reason");
        if (!reason || strlen(reason) < 3)
            return sb_fail(err, SB_EXIT_INPUT, "bad-allowlist", 0, "%s: entry %d: field reason: every entry must say why (a non-empty \"reason\")", where, i);
        if (!jstr(e, "package") && !jstr(e, "rule") && !jstr(e, "finding"))
            return sb_fail(err, SB_EXIT_INPUT, "bad-allowlist", 0, "%s: entry %d: needs at least one of package, rule, finding", where, i);
        cJSON *c = cJSON_Duplicate(e, 1);
        cJSON_AddStringToObject(c, "__source", where);
        cJSON_AddItemToArray((*alp)->entries, c);
        i++;
    }
    return 0;
}

int allowlist_load_file(struct allowlist **al, const char *path, struct sb_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sb_fail(err, SB_EXIT_INPUT, "bad-allowlist", errno, "cannot read allowlist %s: %s", path, strerror(errno));
    char *buf = malloc(1024 * 1024 + 1);
    size_t got = 0;
    while (buf && got < 1024 * 1024) {
        ssize_t r = read(fd, buf + got, 1024 * 1024 - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory");
    cJSON *j = cJSON_ParseWithLength(buf, got);
    free(buf);
    if (!j) return sb_fail(err, SB_EXIT_INPUT, "bad-allowlist", 0, "%s: invalid JSON", path);
    const cJSON *entries = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "allow") : j;
    int rc = allowlist_add_json(al, entries, path, err);
    cJSON_Delete(j);
    return rc;
}

void allowlist_free(struct allowlist *al)
{
    if (!al) return;
    cJSON_Delete(al->entries);
    free(al);
}

static bool glob_eq(const char *pat, const char *s) { return pat && s && fnmatch(pat, s, 0) == 0; }

void allowlist_apply(const struct allowlist *al, cJSON *findings, const char *pkg_name, const char *pkg_version)
{
    if (!al) return;
    cJSON *f;
    cJSON_ArrayForEach(f, findings) {
        const cJSON *e;
        cJSON_ArrayForEach(e, al->entries) {
            if (jstr(e, "package") && !glob_eq(jstr(e, "package"), pkg_name)) continue;
            if (jstr(e, "version") && !glob_eq(jstr(e, "version"), pkg_version)) continue;
            if (jstr(e, "rule") && !glob_eq(jstr(e, "rule"), jstr(f, "rule_id"))) continue;
            if (jstr(e, "finding") && (!jstr(f, "id") || strcmp(jstr(e, "finding"), jstr(f, "id")))) continue;
            cJSON_ReplaceItemInObjectCaseSensitive(f, "suppressed", cJSON_CreateBool(1));
            cJSON *by = cJSON_CreateObject();
            cJSON_AddStringToObject(by, "reason", jstr(e, "reason"));
            cJSON_AddStringToObject(by, "source", jstr(e, "__source"));
            cJSON_AddItemToObject(f, "suppressed_by", by);
            break;
        }
    }
}
