#include "semver.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Above this a number is not a safe JavaScript integer: node-semver refuses it. */
#define MAX_SAFE 9007199254740991ull

enum op { OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE };

struct comparator {
    enum op op;
    struct semver v;
};

struct cset {
    struct comparator *c;
    size_t n, cap;
    bool never;        /* a comparator that no version can meet (e.g. ">*") */
};

struct semver_range {
    struct cset *sets;
    size_t n;
    bool any;          /* "*", "x" or empty: npm takes the latest tag whatever it is */
};

/* ---- versions ------------------------------------------------------------------------- */

static int parse_num(const char **p, uint64_t *out)
{
    const char *s = *p;
    if (!isdigit((unsigned char)*s)) return -1;
    if (s[0] == '0' && isdigit((unsigned char)s[1])) return -1;   /* no leading zeros */
    uint64_t v = 0;
    while (isdigit((unsigned char)*s)) {
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > MAX_SAFE) return -1;
        s++;
    }
    *p = s;
    *out = v;
    return 0;
}

static bool ident_char(char c) { return isalnum((unsigned char)c) || c == '-'; }

/* Dot-separated identifiers: prerelease (stored) or build (skipped when v is NULL). */
static int parse_idents(const char **p, struct semver *v)
{
    const char *s = *p;
    for (;;) {
        const char *b = s;
        while (ident_char(*s)) s++;
        size_t len = (size_t)(s - b);
        if (len == 0) return -1;
        if (v) {
            bool numeric = true;
            for (size_t i = 0; i < len; i++)
                if (!isdigit((unsigned char)b[i])) numeric = false;
            if (numeric && len > 1 && b[0] == '0') return -1;
            if (v->npre >= SEMVER_MAX_PRE || len >= sizeof v->pre[0]) return -1;
            memcpy(v->pre[v->npre], b, len);
            v->pre[v->npre][len] = 0;
            v->npre++;
        }
        if (*s != '.') break;
        s++;
    }
    *p = s;
    return 0;
}

/* A version at *p; stops at the first character after it. */
static int parse_version_at(const char **p, struct semver *v)
{
    const char *s = *p;
    memset(v, 0, sizeof *v);
    if (parse_num(&s, &v->major) < 0 || *s++ != '.') return -1;
    if (parse_num(&s, &v->minor) < 0 || *s++ != '.') return -1;
    if (parse_num(&s, &v->patch) < 0) return -1;
    if (*s == '-') {
        s++;
        if (parse_idents(&s, v) < 0) return -1;
    }
    if (*s == '+') {
        s++;
        if (parse_idents(&s, NULL) < 0) return -1;
    }
    *p = s;
    return 0;
}

int semver_parse(const char *s, struct semver *v)
{
    while (isspace((unsigned char)*s)) s++;
    if (*s == '=') s++;
    if (*s == 'v' || *s == 'V') s++;
    if (parse_version_at(&s, v) < 0) return -1;
    while (isspace((unsigned char)*s)) s++;
    return *s ? -1 : 0;
}

static bool all_digits(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return false;
    return true;
}

static int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }

static int cmp_ident(const char *a, const char *b)
{
    bool na = all_digits(a), nb = all_digits(b);
    if (na && nb) {
        size_t la = strlen(a), lb = strlen(b);
        if (la != lb) return la < lb ? -1 : 1;
        int c = strcmp(a, b);
        return c < 0 ? -1 : c > 0;
    }
    if (na) return -1;     /* numeric identifiers sort before alphanumeric ones */
    if (nb) return 1;
    int c = strcmp(a, b);
    return c < 0 ? -1 : c > 0;
}

int semver_cmp(const struct semver *a, const struct semver *b)
{
    int c = cmp_u64(a->major, b->major);
    if (!c) c = cmp_u64(a->minor, b->minor);
    if (!c) c = cmp_u64(a->patch, b->patch);
    if (c) return c;
    if (!a->npre && !b->npre) return 0;
    if (!a->npre) return 1;         /* a release sorts after its prereleases */
    if (!b->npre) return -1;
    for (unsigned i = 0; i < a->npre && i < b->npre; i++) {
        c = cmp_ident(a->pre[i], b->pre[i]);
        if (c) return c;
    }
    return cmp_u64(a->npre, b->npre);
}

bool semver_is_prerelease(const struct semver *v) { return v->npre > 0; }

/* ---- ranges ----------------------------------------------------------------------------- */

/* A partial version: each of major/minor/patch may be missing or a wildcard. */
struct partial {
    int parts;                 /* how many numbers are given (0..3) before a wildcard or end */
    struct semver v;           /* the given numbers; prerelease when parts == 3 */
};

static bool is_wild(const char *s) { return *s == 'x' || *s == 'X' || *s == '*'; }

static int parse_partial(const char *s, struct partial *pp)
{
    memset(pp, 0, sizeof *pp);
    if (*s == 'v' || *s == 'V') s++;
    if (*s == '=') s++;
    if (!*s) return 0;                         /* "" after an operator: any */
    uint64_t *slot[3] = {&pp->v.major, &pp->v.minor, &pp->v.patch};
    bool wild = false;
    for (int i = 0; i < 3; i++) {
        if (is_wild(s)) {
            wild = true;
            s++;
        } else if (!wild) {
            if (parse_num(&s, slot[i]) < 0) return -1;
            pp->parts = i + 1;
        } else {
            return -1;                         /* a number after a wildcard: "1.x.3" */
        }
        if (*s != '.') break;
        s++;
        if (i == 2) return -1;
    }
    if (pp->parts == 3 && *s == '-') {
        s++;
        if (parse_idents(&s, &pp->v) < 0) return -1;
    }
    if (*s == '+') {
        s++;
        if (parse_idents(&s, NULL) < 0) return -1;
    }
    return *s ? -1 : 0;
}

static int add_cmp(struct cset *cs, enum op op, uint64_t ma, uint64_t mi, uint64_t pa, const char *pre,
                   const struct semver *full)
{
    if (cs->n == cs->cap) {
        size_t ncap = cs->cap ? cs->cap * 2 : 4;
        struct comparator *nc = realloc(cs->c, ncap * sizeof *nc);
        if (!nc) return -1;
        cs->c = nc;
        cs->cap = ncap;
    }
    struct comparator *c = &cs->c[cs->n++];
    c->op = op;
    if (full) {
        c->v = *full;
        return 0;
    }
    memset(&c->v, 0, sizeof c->v);
    c->v.major = ma;
    c->v.minor = mi;
    c->v.patch = pa;
    if (pre) {
        strcpy(c->v.pre[0], pre);
        c->v.npre = 1;
    }
    return 0;
}

/* The exclusive upper bound of a partial: 1 → <2.0.0-0, 1.2 → <1.3.0-0. */
static int add_upper_of_partial(struct cset *cs, const struct partial *p)
{
    if (p->parts == 1) return add_cmp(cs, OP_LT, p->v.major + 1, 0, 0, "0", NULL);
    if (p->parts == 2) return add_cmp(cs, OP_LT, p->v.major, p->v.minor + 1, 0, "0", NULL);
    return 0;
}

static int desugar_caret(struct cset *cs, const struct partial *p)
{
    const struct semver *v = &p->v;
    if (p->parts == 0) return 0;
    if (p->parts == 1) {
        if (add_cmp(cs, OP_GE, v->major, 0, 0, NULL, NULL) < 0) return -1;
        return add_cmp(cs, OP_LT, v->major + 1, 0, 0, "0", NULL);
    }
    if (p->parts == 2) {
        if (add_cmp(cs, OP_GE, v->major, v->minor, 0, NULL, NULL) < 0) return -1;
        if (v->major) return add_cmp(cs, OP_LT, v->major + 1, 0, 0, "0", NULL);
        return add_cmp(cs, OP_LT, 0, v->minor + 1, 0, "0", NULL);
    }
    if (add_cmp(cs, OP_GE, 0, 0, 0, NULL, v) < 0) return -1;
    if (v->major) return add_cmp(cs, OP_LT, v->major + 1, 0, 0, "0", NULL);
    if (v->minor) return add_cmp(cs, OP_LT, 0, v->minor + 1, 0, "0", NULL);
    return add_cmp(cs, OP_LT, 0, 0, v->patch + 1, "0", NULL);
}

static int desugar_tilde(struct cset *cs, const struct partial *p)
{
    const struct semver *v = &p->v;
    if (p->parts == 0) return 0;
    if (p->parts == 1) {
        if (add_cmp(cs, OP_GE, v->major, 0, 0, NULL, NULL) < 0) return -1;
        return add_cmp(cs, OP_LT, v->major + 1, 0, 0, "0", NULL);
    }
    if (p->parts == 2) {
        if (add_cmp(cs, OP_GE, v->major, v->minor, 0, NULL, NULL) < 0) return -1;
        return add_cmp(cs, OP_LT, v->major, v->minor + 1, 0, "0", NULL);
    }
    if (add_cmp(cs, OP_GE, 0, 0, 0, NULL, v) < 0) return -1;
    return add_cmp(cs, OP_LT, v->major, v->minor + 1, 0, "0", NULL);
}

/* A primitive comparator with a partial operand, as node-semver's replaceXRange does. */
static int desugar_op(struct cset *cs, enum op op, bool has_op, const struct partial *p)
{
    const struct semver *v = &p->v;
    if (p->parts == 3) return add_cmp(cs, has_op ? op : OP_EQ, 0, 0, 0, NULL, v);
    if (p->parts == 0) {
        if (has_op && (op == OP_GT || op == OP_LT)) cs->never = true;   /* ">*", "<*" */
        return 0;
    }
    if (!has_op || op == OP_EQ) {
        if (add_cmp(cs, OP_GE, v->major, p->parts > 1 ? v->minor : 0, 0, NULL, NULL) < 0) return -1;
        return add_upper_of_partial(cs, p);
    }
    uint64_t ma = v->major, mi = p->parts > 1 ? v->minor : 0;
    switch (op) {
    case OP_GT:   /* >1 → >=2.0.0, >1.2 → >=1.3.0 */
        if (p->parts == 1) return add_cmp(cs, OP_GE, ma + 1, 0, 0, NULL, NULL);
        return add_cmp(cs, OP_GE, ma, mi + 1, 0, NULL, NULL);
    case OP_LE:   /* <=1 → <2.0.0-0, <=1.2 → <1.3.0-0 */
        return add_upper_of_partial(cs, p);
    case OP_LT:   /* <1.2 → <1.2.0-0 */
        return add_cmp(cs, OP_LT, ma, mi, 0, "0", NULL);
    default:      /* >=1.2 → >=1.2.0 */
        return add_cmp(cs, OP_GE, ma, mi, 0, NULL, NULL);
    }
}

static int parse_comparator(struct cset *cs, const char *tok)
{
    struct partial p;
    if (tok[0] == '^') {
        if (parse_partial(tok + 1, &p) < 0) return -1;
        return desugar_caret(cs, &p);
    }
    if (tok[0] == '~') {
        const char *s = tok + 1 + (tok[1] == '>');
        if (parse_partial(s, &p) < 0) return -1;
        return desugar_tilde(cs, &p);
    }
    enum op op = OP_EQ;
    bool has_op = true;
    const char *s = tok;
    if (!strncmp(s, ">=", 2)) { op = OP_GE; s += 2; }
    else if (!strncmp(s, "<=", 2)) { op = OP_LE; s += 2; }
    else if (*s == '>') { op = OP_GT; s++; }
    else if (*s == '<') { op = OP_LT; s++; }
    else if (*s == '=') { op = OP_EQ; s++; }
    else has_op = false;
    if (has_op && !*s) return -1;
    if (parse_partial(s, &p) < 0) return -1;
    return desugar_op(cs, op, has_op, &p);
}

static int parse_hyphen(struct cset *cs, const char *a, const char *b)
{
    struct partial pa, pb;
    if (parse_partial(a, &pa) < 0 || parse_partial(b, &pb) < 0) return -1;
    if (pa.parts == 3) {
        if (add_cmp(cs, OP_GE, 0, 0, 0, NULL, &pa.v) < 0) return -1;
    } else if (pa.parts > 0) {
        if (add_cmp(cs, OP_GE, pa.v.major, pa.parts > 1 ? pa.v.minor : 0, 0, NULL, NULL) < 0) return -1;
    }
    if (pb.parts == 3) return add_cmp(cs, OP_LE, 0, 0, 0, NULL, &pb.v);
    return add_upper_of_partial(cs, &pb);
}

enum { MAX_TOKENS = 64, MAX_TOKEN = 256 };

/* Split one `||` alternative into tokens, joining an operator written apart from its version
 * (">= 1.2.3"). */
static int tokenize(const char *s, size_t len, char toks[][MAX_TOKEN], size_t *ntok)
{
    size_t n = 0, i = 0;
    while (i < len) {
        while (i < len && isspace((unsigned char)s[i])) i++;
        if (i >= len) break;
        if (n >= MAX_TOKENS) return -1;
        size_t b = i;
        while (i < len && !isspace((unsigned char)s[i])) i++;
        if (i - b >= MAX_TOKEN) return -1;
        memcpy(toks[n], s + b, i - b);
        toks[n][i - b] = 0;
        n++;
    }
    /* Join lone operators with what follows. */
    size_t w = 0;
    for (size_t r = 0; r < n; r++) {
        const char *t = toks[r];
        bool lone_op = strspn(t, "<>=~^") == strlen(t) && strcmp(t, "-") != 0;
        if (lone_op && r + 1 < n) {
            char joined[MAX_TOKEN];
            size_t lt = strlen(t), ln = strlen(toks[r + 1]);
            if (lt + ln >= MAX_TOKEN) return -1;
            memcpy(joined, t, lt);
            memcpy(joined + lt, toks[r + 1], ln + 1);
            memcpy(toks[w++], joined, sizeof joined);
            r++;
        } else {
            if (w != r) memcpy(toks[w], toks[r], MAX_TOKEN);
            w++;
        }
    }
    *ntok = w;
    return 0;
}

static int parse_set(struct cset *cs, const char *s, size_t len, bool *any)
{
    static char toks[MAX_TOKENS][MAX_TOKEN];
    size_t n;
    if (tokenize(s, len, toks, &n) < 0) return -1;
    if (n == 0) {
        *any = true;
        return 0;
    }
    if (n == 3 && !strcmp(toks[1], "-")) return parse_hyphen(cs, toks[0], toks[2]);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(toks[i], "-")) return -1;
        if (n == 1 && (is_wild(toks[0]) && toks[0][1] == 0)) *any = true;
        if (parse_comparator(cs, toks[i]) < 0) return -1;
    }
    return 0;
}

struct semver_range *semver_range_parse(const char *s)
{
    struct semver_range *r = calloc(1, sizeof *r);
    if (!r || strlen(s) > 4096) {
        free(r);
        return NULL;
    }
    const char *p = s;
    for (;;) {
        const char *bar = strstr(p, "||");
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        struct cset *ns = realloc(r->sets, (r->n + 1) * sizeof *ns);
        if (!ns) goto fail;
        r->sets = ns;
        memset(&r->sets[r->n], 0, sizeof r->sets[r->n]);
        r->n++;
        bool any = false;
        if (parse_set(&r->sets[r->n - 1], p, len, &any) < 0) goto fail;
        if (any && r->n == 1 && !bar) r->any = true;
        if (!bar) break;
        p = bar + 2;
    }
    return r;
fail:
    semver_range_free(r);
    return NULL;
}

void semver_range_free(struct semver_range *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) free(r->sets[i].c);
    free(r->sets);
    free(r);
}

static bool cmp_ok(const struct comparator *c, const struct semver *v)
{
    int d = semver_cmp(v, &c->v);
    switch (c->op) {
    case OP_EQ: return d == 0;
    case OP_LT: return d < 0;
    case OP_LE: return d <= 0;
    case OP_GT: return d > 0;
    default: return d >= 0;
    }
}

static bool set_ok(const struct cset *cs, const struct semver *v)
{
    if (cs->never) return false;
    for (size_t i = 0; i < cs->n; i++)
        if (!cmp_ok(&cs->c[i], v)) return false;
    if (!v->npre) return true;
    /* A prerelease only when this set names a prerelease of the same tuple. */
    for (size_t i = 0; i < cs->n; i++) {
        const struct semver *a = &cs->c[i].v;
        if (a->npre && a->major == v->major && a->minor == v->minor && a->patch == v->patch) return true;
    }
    return false;
}

bool semver_satisfies(const struct semver *v, const struct semver_range *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (set_ok(&r->sets[i], v)) return true;
    return false;
}

bool semver_range_is_exact(const struct semver_range *r)
{
    return r->n == 1 && r->sets[0].n == 1 && r->sets[0].c[0].op == OP_EQ;
}

/* ---- picking ----------------------------------------------------------------------------- */

int semver_pick(const struct semver_range *r, const struct semver_candidate *cands, size_t n,
                const char *latest)
{
    struct semver v;
    if (latest) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(cands[i].version, latest) || !cands[i].eligible || cands[i].deprecated) continue;
            if (semver_parse(latest, &v) == 0 && (r->any || semver_satisfies(&v, r))) return (int)i;
        }
    }
    int best = -1;
    struct semver bv;
    bool best_dep = true;
    for (size_t i = 0; i < n; i++) {
        if (!cands[i].eligible || semver_parse(cands[i].version, &v) < 0 || !semver_satisfies(&v, r)) continue;
        bool better = best < 0 || (best_dep && !cands[i].deprecated) ||
                      (best_dep == cands[i].deprecated && semver_cmp(&v, &bv) > 0);
        if (better) {
            best = (int)i;
            bv = v;
            best_dep = cands[i].deprecated;
        }
    }
    return best;
}
