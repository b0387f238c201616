/*
 * rules_match.c — conditions: compile a JSON condition once, evaluate it over a cJSON event.
 *
 *   {"all": [c, ...]}  {"any": [c, ...]}  {"not": c}  {"macro": "name"}
 *   {"field": "addr.address", "<op>": operand, "transform": "basename|dirname|lower|join",
 *    "icase": true}
 * Operands that are sets take a string, a number or an array; a string "@name" stands for the
 * items of the named list. A field that is an array matches when any element does (unless
 * transform "join" makes it one string). "$step.field" reads a field of an earlier sequence step.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"
#include "typosquat.h"

enum { MAX_DEPTH = 16, MAX_LIST_DEPTH = 8, VAL_BUF = 4096, JOIN_MAX = 8192 };

static const struct { const char *name; enum cond_op op; } ops[] = {
    {"equals", OP_EQUALS},   {"in", OP_IN},           {"glob", OP_GLOB},       {"regex", OP_REGEX},
    {"prefix", OP_PREFIX},   {"suffix", OP_SUFFIX},   {"contains", OP_CONTAINS}, {"cidr", OP_CIDR},
    {"port", OP_PORT},       {"gt", OP_GT},           {"ge", OP_GE},           {"lt", OP_LT},
    {"le", OP_LE},           {"bits_any", OP_BITS_ANY}, {"bits_all", OP_BITS_ALL},
    {"bits_none", OP_BITS_NONE}, {"exists", OP_EXISTS}, {"same_as", OP_SAME_AS},
    {"entropy_ge", OP_ENTROPY_GE}, {"label_len_ge", OP_LABEL_LEN_GE},
    {"label_entropy_ge", OP_LABEL_ENTROPY_GE}, {"lookalike", OP_LOOKALIKE},
};

int field_split(const char *path, char **out, size_t max)
{
    size_t n = 0;
    const char *p = path;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (!len || n == max) goto fail;
        out[n] = strndup(p, len);
        if (!out[n]) goto fail;
        n++;
        p += len + (dot != NULL);
        if (dot && !*p) goto fail;
    }
    return n ? (int)n : -1;
fail:
    for (size_t i = 0; i < n; i++) free(out[i]);
    return -1;
}

const cJSON *field_get(const cJSON *root, char *const *field, size_t n)
{
    const cJSON *v = root;
    for (size_t i = 0; v && i < n; i++) {
        if (cJSON_IsArray(v)) {
            char *end;
            long idx = strtol(field[i], &end, 10);
            if (*end || idx < 0) return NULL;
            v = cJSON_GetArrayItem(v, (int)idx);
        } else if (cJSON_IsObject(v)) {
            v = cJSON_GetObjectItemCaseSensitive(v, field[i]);
        } else {
            return NULL;
        }
    }
    return v;
}

/* ---- compile ---------------------------------------------------------------------- */

static int parse_cidr(const char *s, struct cidr *c)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    char *slash = strchr(buf, '/');
    int bits = -1;
    if (slash) {
        *slash = 0;
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (*end || b < 0 || b > 128) return -1;
        bits = (int)b;
    }
    if (inet_pton(AF_INET, buf, c->addr) == 1) {
        c->family = 4;
        c->bits = bits < 0 ? 32 : bits;
        return c->bits <= 32 ? 0 : -1;
    }
    if (inet_pton(AF_INET6, buf, c->addr) == 1) {
        c->family = 6;
        c->bits = bits < 0 ? 128 : bits;
        return 0;
    }
    return -1;
}

struct items_acc {
    struct item *v;
    size_t n, cap;
};

static int push_item(struct items_acc *a, const cJSON *j)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        struct item *nv = realloc(a->v, cap * sizeof *nv);
        if (!nv) return -1;
        a->v = nv;
        a->cap = cap;
    }
    struct item *it = &a->v[a->n];
    memset(it, 0, sizeof *it);
    if (cJSON_IsNumber(j)) {
        it->is_num = true;
        it->num = j->valuedouble;
        char b[32];
        snprintf(b, sizeof b, "%.17g", j->valuedouble);
        it->s = strdup(b);
    } else if (cJSON_IsString(j)) {
        it->s = strdup(j->valuestring);
        it->has_var = strstr(j->valuestring, "${") != NULL;
        char *end;
        it->num = strtod(j->valuestring, &end);
        it->is_num = *j->valuestring && !*end;
    } else if (cJSON_IsBool(j)) {
        it->s = strdup(cJSON_IsTrue(j) ? "true" : "false");
    } else {
        return -2;
    }
    if (!it->s) return -1;
    a->n++;
    return 0;
}

static int collect_items(struct items_acc *a, const cJSON *j, const struct ruleset *rs, int depth,
                         char *why, size_t whylen)
{
    if (depth > MAX_LIST_DEPTH) {
        snprintf(why, whylen, "lists nest deeper than %d (a cycle?)", MAX_LIST_DEPTH);
        return -1;
    }
    if (cJSON_IsArray(j)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, j) {
            if (collect_items(a, e, rs, depth, why, whylen) < 0) return -1;
        }
        return 0;
    }
    /* "@name" is a list; "@scope/name" (a slash: list names have none) is an npm name, literal */
    if (cJSON_IsString(j) && j->valuestring[0] == '@' && j->valuestring[1] && !strchr(j->valuestring, '/')) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(rs->lists, j->valuestring + 1);
        if (!list) {
            snprintf(why, whylen, "unknown list '%s'", j->valuestring + 1);
            return -1;
        }
        return collect_items(a, list, rs, depth + 1, why, whylen);
    }
    int rc = push_item(a, j);
    if (rc == -2) snprintf(why, whylen, "operands must be strings, numbers or booleans");
    else if (rc < 0) snprintf(why, whylen, "out of memory");
    return rc < 0 ? -1 : 0;
}

static int find_alias(const char *name, size_t len, const char *const *aliases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(aliases[i]) == len && !strncmp(aliases[i], name, len)) return (int)i;
    return -1;
}

/* "path" or "$alias.path" → alias index (-1 for the event) and split field. */
static int compile_field(const char *path, const char *const *aliases, size_t naliases, int *alias,
                         char **field, size_t *nfield, char *why, size_t whylen)
{
    *alias = -1;
    if (path[0] == '$') {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path - 1) : strlen(path + 1);
        *alias = find_alias(path + 1, len, aliases, naliases);
        if (*alias < 0 || !dot) {
            snprintf(why, whylen, "'%s' names no earlier sequence step (steps: %zu)", path, naliases);
            return -1;
        }
        path = dot + 1;
    }
    int n = field_split(path, field, RULE_MAX_FIELD);
    if (n < 0) {
        snprintf(why, whylen, "bad field path '%s'", path);
        return -1;
    }
    *nfield = (size_t)n;
    return 0;
}

static int compile_items(struct cond *c, const cJSON *operand, const struct ruleset *rs, char *why, size_t whylen)
{
    struct items_acc a = {0};
    if (collect_items(&a, operand, rs, 0, why, whylen) < 0) {
        c->items = a.v;
        c->nitems = a.n;
        return -1;
    }
    c->items = a.v;
    c->nitems = a.n;
    if (!a.n) {
        snprintf(why, whylen, "empty operand");
        return -1;
    }
    for (size_t i = 0; i < a.n; i++) {
        struct item *it = &a.v[i];
        if (c->op == OP_REGEX) {
            int rc = regcomp(&it->re, it->s, REG_EXTENDED | REG_NOSUB | (c->icase ? REG_ICASE : 0));
            if (rc) {
                char m[128];
                regerror(rc, &it->re, m, sizeof m);
                snprintf(why, whylen, "bad regex '%s': %s", it->s, m);
                return -1;
            }
            it->re_ok = true;
        } else if (c->op == OP_CIDR) {
            if (parse_cidr(it->s, &it->cidr) < 0) {
                snprintf(why, whylen, "bad CIDR '%s'", it->s);
                return -1;
            }
        } else if (c->op == OP_PORT) {
            unsigned lo, hi;
            char tail;
            if (sscanf(it->s, "%u-%u%c", &lo, &hi, &tail) == 2 && lo <= hi && hi <= 65535) {
                it->lo = lo;
                it->hi = hi;
            } else if (sscanf(it->s, "%u%c", &lo, &tail) == 1 && lo <= 65535) {
                it->lo = it->hi = lo;
            } else {
                snprintf(why, whylen, "bad port '%s' (a number or 'lo-hi')", it->s);
                return -1;
            }
        } else if (c->icase && c->op != OP_GLOB) {
            for (char *p = it->s; *p; p++) *p = (char)tolower((unsigned char)*p);
        }
    }
    return 0;
}

static struct cond *leaf_compile(const cJSON *j, const struct ruleset *rs, const char *const *aliases,
                                 size_t naliases, char *why, size_t whylen)
{
    struct cond *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->type = C_LEAF;
    const cJSON *field = cJSON_GetObjectItemCaseSensitive(j, "field");
    if (!cJSON_IsString(field)) {
        snprintf(why, whylen, "a condition needs all/any/not/macro or a \"field\"");
        goto fail;
    }
    if (compile_field(field->valuestring, aliases, naliases, &c->alias, c->field, &c->nfield, why, whylen) < 0) goto fail;
    const cJSON *icase = cJSON_GetObjectItemCaseSensitive(j, "icase");
    c->icase = cJSON_IsTrue(icase);
    const cJSON *xf = cJSON_GetObjectItemCaseSensitive(j, "transform");
    if (xf) {
        const char *s = cJSON_GetStringValue(xf);
        if (!s) goto badxf;
        if (!strcmp(s, "basename")) c->xf = X_BASENAME;
        else if (!strcmp(s, "dirname")) c->xf = X_DIRNAME;
        else if (!strcmp(s, "lower")) c->xf = X_LOWER;
        else if (!strcmp(s, "join")) c->xf = X_JOIN;
        else goto badxf;
    }
    const cJSON *operand = NULL;
    int found = 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, j) {
        if (!strcmp(k->string, "field") || !strcmp(k->string, "icase") || !strcmp(k->string, "transform")) continue;
        size_t i;
        for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
            if (!strcmp(k->string, ops[i].name)) break;
        if (i == sizeof ops / sizeof ops[0]) {
            snprintf(why, whylen, "unknown operator '%s' on field '%s'", k->string, field->valuestring);
            goto fail;
        }
        c->op = ops[i].op;
        operand = k;
        found++;
    }
    if (found != 1) {
        snprintf(why, whylen, "field '%s' needs exactly one operator", field->valuestring);
        goto fail;
    }
    switch (c->op) {
    case OP_GT: case OP_GE: case OP_LT: case OP_LE: case OP_BITS_ANY: case OP_BITS_ALL: case OP_BITS_NONE:
    case OP_ENTROPY_GE: case OP_LABEL_LEN_GE: case OP_LABEL_ENTROPY_GE:
        if (!cJSON_IsNumber(operand)) {
            snprintf(why, whylen, "'%s' takes a number", operand->string);
            goto fail;
        }
        c->num = operand->valuedouble;
        return c;
    case OP_EXISTS:
        if (!cJSON_IsBool(operand)) {
            snprintf(why, whylen, "'exists' takes true or false");
            goto fail;
        }
        c->flag = cJSON_IsTrue(operand);
        return c;
    case OP_SAME_AS:
        if (!cJSON_IsString(operand) ||
            compile_field(operand->valuestring, aliases, naliases, &c->same_alias, c->same_field, &c->nsame, why, whylen) < 0 ||
            c->same_alias < 0) {
            if (!why[0]) snprintf(why, whylen, "'same_as' takes \"$step.field\"");
            goto fail;
        }
        return c;
    default:
        if (compile_items(c, operand, rs, why, whylen) < 0) goto fail;
        return c;
    }
badxf:
    snprintf(why, whylen, "transform must be basename, dirname, lower or join");
fail:
    cond_free(c);
    return NULL;
}

struct cond *cond_compile(const cJSON *j, const struct ruleset *rs, const struct rule *r,
                          const char *const *aliases, size_t naliases, int depth, char *why, size_t whylen)
{
    if (depth > MAX_DEPTH) {
        snprintf(why, whylen, "conditions nest deeper than %d (a macro cycle?)", MAX_DEPTH);
        return NULL;
    }
    if (!cJSON_IsObject(j)) {
        snprintf(why, whylen, "a condition must be an object");
        return NULL;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "macro");
    if (m) {
        const cJSON *body = cJSON_IsString(m) ? cJSON_GetObjectItemCaseSensitive(rs->macros, m->valuestring) : NULL;
        if (!body) {
            snprintf(why, whylen, "unknown macro '%s'", cJSON_IsString(m) ? m->valuestring : "?");
            return NULL;
        }
        return cond_compile(body, rs, r, aliases, naliases, depth + 1, why, whylen);
    }
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(j, "all");
    const cJSON *any = cJSON_GetObjectItemCaseSensitive(j, "any");
    const cJSON *not = cJSON_GetObjectItemCaseSensitive(j, "not");
    if (!all && !any && !not) return leaf_compile(j, rs, aliases, naliases, why, whylen);
    if (cJSON_GetArraySize(j) != 1) {
        snprintf(why, whylen, "all/any/not must be alone in their object");
        return NULL;
    }
    struct cond *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (not) {
        c->type = C_NOT;
        c->kids = calloc(1, sizeof *c->kids);
        if (!c->kids) goto fail;
        c->nkids = 1;
        c->kids[0] = cond_compile(not, rs, r, aliases, naliases, depth + 1, why, whylen);
        if (!c->kids[0]) goto fail;
        return c;
    }
    const cJSON *list = all ? all : any;
    c->type = all ? C_ALL : C_ANY;
    if (!cJSON_IsArray(list) || !cJSON_GetArraySize(list)) {
        snprintf(why, whylen, "'%s' takes a non-empty array of conditions", all ? "all" : "any");
        goto fail;
    }
    c->kids = calloc((size_t)cJSON_GetArraySize(list), sizeof *c->kids);
    if (!c->kids) goto fail;
    const cJSON *e;
    cJSON_ArrayForEach(e, list) {
        c->kids[c->nkids] = cond_compile(e, rs, r, aliases, naliases, depth + 1, why, whylen);
        if (!c->kids[c->nkids]) goto fail;
        c->nkids++;
    }
    return c;
fail:
    cond_free(c);
    return NULL;
}

void cond_free(struct cond *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nkids; i++) cond_free(c->kids[i]);
    free(c->kids);
    for (size_t i = 0; i < c->nfield; i++) free(c->field[i]);
    for (size_t i = 0; i < c->nsame; i++) free(c->same_field[i]);
    for (size_t i = 0; i < c->nitems; i++) {
        free(c->items[i].s);
        if (c->items[i].re_ok) regfree(&c->items[i].re);
    }
    free(c->items);
    free(c);
}

/* ---- evaluate --------------------------------------------------------------------- */

static const char *expand_vars(const char *s, const struct rules_vars *v, char *buf, size_t cap)
{
    size_t o = 0;
    while (*s && o + 1 < cap) {
        if (s[0] == '$' && s[1] == '{') {
            const char *end = strchr(s, '}');
            if (end) {
                size_t n = (size_t)(end - s - 2);
                const char *val = NULL;
                if (n == 11 && !strncmp(s + 2, "package_dir", n)) val = v ? v->package_dir : NULL;
                else if (n == 12 && !strncmp(s + 2, "package_name", n)) val = v ? v->package_name : NULL;
                if (!val) val = "\x01unset\x01";   /* matches nothing real */
                size_t l = strlen(val);
                if (o + l >= cap) break;
                memcpy(buf + o, val, l);
                o += l;
                s = end + 1;
                continue;
            }
        }
        buf[o++] = *s++;
    }
    buf[o] = 0;
    return buf;
}

static double entropy(const char *s, size_t n)
{
    if (!n) return 0;
    unsigned counts[256] = {0};
    for (size_t i = 0; i < n; i++) counts[(unsigned char)s[i]]++;
    double h = 0;
    for (int i = 0; i < 256; i++)
        if (counts[i]) {
            double p = (double)counts[i] / (double)n;
            h -= p * log2(p);
        }
    return h;
}

/* Longest dot-separated label: its start and length. */
static size_t longest_label(const char *s, const char **start)
{
    size_t best = 0;
    *start = s;
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        if (len > best) { best = len; *start = s; }
        s += len + (dot != NULL);
    }
    return best;
}

static bool cidr_match(const struct cidr *c, const char *addr)
{
    unsigned char a[16];
    int fam;
    if (inet_pton(AF_INET, addr, a) == 1) fam = 4;
    else if (inet_pton(AF_INET6, addr, a) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (!memcmp(a, mapped, 12)) {
            memmove(a, a + 12, 4);
            fam = 4;
        } else {
            fam = 6;
        }
    } else {
        return false;
    }
    if (fam != c->family) return false;
    int bits = c->bits;
    for (int i = 0; bits > 0; i++, bits -= 8) {
        unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
        if ((a[i] & mask) != (c->addr[i] & mask)) return false;
    }
    return true;
}

static bool str_op(const struct cond *c, const struct item *it, const char *v, const struct rules_vars *vars)
{
    char ebuf[VAL_BUF];
    const char *s = it->has_var ? expand_vars(it->s, vars, ebuf, sizeof ebuf) : it->s;
    size_t vl = strlen(v), sl = strlen(s);
    switch (c->op) {
    case OP_EQUALS:
    case OP_IN:
        return c->icase ? !strcasecmp(v, s) : !strcmp(v, s);
    case OP_GLOB:
        return fnmatch(s, v, c->icase ? FNM_CASEFOLD : 0) == 0;
    case OP_REGEX:
        return it->re_ok && regexec(&it->re, v, 0, NULL, 0) == 0;
    case OP_PREFIX:
        return vl >= sl && (c->icase ? !strncasecmp(v, s, sl) : !strncmp(v, s, sl));
    case OP_SUFFIX:
        return vl >= sl && (c->icase ? !strcasecmp(v + vl - sl, s) : !strcmp(v + vl - sl, s));
    case OP_CONTAINS:
        return (c->icase ? strcasestr(v, s) : strstr(v, s)) != NULL;
    case OP_CIDR:
        return cidr_match(&it->cidr, v);
    default:
        return false;
    }
}

static bool num_of(const cJSON *v, double *out)
{
    if (cJSON_IsNumber(v)) { *out = v->valuedouble; return true; }
    if (cJSON_IsString(v) && v->valuestring[0]) {
        char *end;
        *out = strtod(v->valuestring, &end);
        return !*end;
    }
    return false;
}

static void transform(const struct cond *c, const char *in, char *buf, size_t cap)
{
    const char *s = in;
    size_t n = strlen(in);
    if (c->xf == X_BASENAME) {
        while (n > 1 && s[n - 1] == '/') n--;
        const char *slash = memrchr(s, '/', n);
        if (slash && n > 1) { n -= (size_t)(slash + 1 - s); s = slash + 1; }
    } else if (c->xf == X_DIRNAME) {
        const char *slash = memrchr(s, '/', n);
        n = slash ? (size_t)(slash - s) : 0;
        if (slash == s) n = 1;
    }
    if (n >= cap) n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (c->xf == X_LOWER)
        for (char *p = buf; *p; p++) *p = (char)tolower((unsigned char)*p);
}

static bool leaf_scalar(const struct cond *c, const cJSON *v, const struct eval_ctx *x)
{
    double d;
    switch (c->op) {
    case OP_GT: return num_of(v, &d) && d > c->num;
    case OP_GE: return num_of(v, &d) && d >= c->num;
    case OP_LT: return num_of(v, &d) && d < c->num;
    case OP_LE: return num_of(v, &d) && d <= c->num;
    case OP_BITS_ANY: return num_of(v, &d) && ((long long)d & (long long)c->num) != 0;
    case OP_BITS_ALL: return num_of(v, &d) && ((long long)d & (long long)c->num) == (long long)c->num;
    case OP_BITS_NONE: return num_of(v, &d) && ((long long)d & (long long)c->num) == 0;
    case OP_PORT:
        if (!num_of(v, &d)) return false;
        for (size_t i = 0; i < c->nitems; i++)
            if (d >= c->items[i].lo && d <= c->items[i].hi) return true;
        return false;
    case OP_SAME_AS: {
        if ((size_t)c->same_alias >= x->nbound || !x->bound) return false;
        const cJSON *o = field_get(x->bound[c->same_alias], c->same_field, c->nsame);
        if (!o) return false;
        if (cJSON_IsString(o) && cJSON_IsString(v)) return !strcmp(o->valuestring, v->valuestring);
        if (cJSON_IsNumber(o) && cJSON_IsNumber(v)) return o->valuedouble == v->valuedouble;
        return false;
    }
    default:
        break;
    }
    /* string operators: numbers compare by their text (and by value for equals/in) */
    char raw[VAL_BUF];
    const char *s;
    if (cJSON_IsString(v)) s = v->valuestring;
    else if (cJSON_IsNumber(v)) {
        if (c->op == OP_EQUALS || c->op == OP_IN) {
            for (size_t i = 0; i < c->nitems; i++)
                if (c->items[i].is_num && c->items[i].num == v->valuedouble) return true;
            return false;
        }
        snprintf(raw, sizeof raw, "%.17g", v->valuedouble);
        s = raw;
    } else if (cJSON_IsBool(v)) s = cJSON_IsTrue(v) ? "true" : "false";
    else return false;
    char tbuf[VAL_BUF];
    if (c->xf == X_BASENAME || c->xf == X_DIRNAME || c->xf == X_LOWER) {
        transform(c, s, tbuf, sizeof tbuf);
        s = tbuf;
    }
    char lbuf[VAL_BUF];
    if (c->icase && c->op != OP_GLOB && c->op != OP_REGEX) {
        snprintf(lbuf, sizeof lbuf, "%s", s);
        for (char *p = lbuf; *p; p++) *p = (char)tolower((unsigned char)*p);
        s = lbuf;
    }
    if (c->op == OP_ENTROPY_GE) return entropy(s, strlen(s)) >= c->num;
    if (c->op == OP_LABEL_LEN_GE) {
        const char *st;
        return (double)longest_label(s, &st) >= c->num;
    }
    if (c->op == OP_LABEL_ENTROPY_GE) {
        const char *st;
        size_t n = longest_label(s, &st);
        return n >= 16 && entropy(st, n) >= c->num;
    }
    if (c->op == OP_LOOKALIKE) {
        const char **set = malloc((c->nitems ? c->nitems : 1) * sizeof *set);
        if (!set) return false;
        for (size_t i = 0; i < c->nitems; i++) set[i] = c->items[i].s;
        size_t which = 0;
        const char *why = typosquat_check(s, set, c->nitems, &which);
        if (why && x->note && x->note_cap) snprintf(x->note, x->note_cap, "%s looks like %s (%s)", s, set[which], why);
        free(set);
        return why != NULL;
    }
    for (size_t i = 0; i < c->nitems; i++)
        if (str_op(c, &c->items[i], s, x->vars)) return true;
    return false;
}

static char *join_array(const cJSON *a)
{
    char *out = malloc(JOIN_MAX);
    if (!out) return NULL;
    size_t o = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        const char *s = cJSON_GetStringValue(e);
        if (!s) continue;
        size_t l = strlen(s);
        if (o && o + 1 < JOIN_MAX) out[o++] = ' ';
        if (o + l >= JOIN_MAX) l = JOIN_MAX - 1 - o;
        memcpy(out + o, s, l);
        o += l;
    }
    out[o] = 0;
    return out;
}

static bool leaf_eval(const struct cond *c, const struct eval_ctx *x)
{
    const cJSON *root = c->alias < 0 ? x->ev : ((size_t)c->alias < x->nbound && x->bound ? x->bound[c->alias] : NULL);
    const cJSON *v = root ? field_get(root, c->field, c->nfield) : NULL;
    if (c->op == OP_EXISTS) return (v && !cJSON_IsNull(v)) == c->flag;
    if (!v) return false;
    if (cJSON_IsArray(v)) {
        if (c->xf == X_JOIN) {
            char *s = join_array(v);
            if (!s) return false;
            cJSON tmp;
            memset(&tmp, 0, sizeof tmp);
            tmp.type = cJSON_String;
            tmp.valuestring = s;
            bool r = leaf_scalar(c, &tmp, x);
            free(s);
            return r;
        }
        const cJSON *e;
        cJSON_ArrayForEach(e, v) {
            if (leaf_scalar(c, e, x)) return true;
        }
        return false;
    }
    return leaf_scalar(c, v, x);
}

bool cond_eval(const struct cond *c, const struct eval_ctx *x)
{
    if (!c) return true;
    switch (c->type) {
    case C_ALL:
        for (size_t i = 0; i < c->nkids; i++)
            if (!cond_eval(c->kids[i], x)) return false;
        return true;
    case C_ANY:
        for (size_t i = 0; i < c->nkids; i++)
            if (cond_eval(c->kids[i], x)) return true;
        return false;
    case C_NOT:
        return !cond_eval(c->kids[0], x);
    case C_LEAF:
        return leaf_eval(c, x);
    }
    return false;
}
