/*
 * rules_content.c — content rules: regex or literal patterns over one package file's bytes.
 *
 *   "content": {"files": ["*.js"], "install_scripts": false, "max_bytes": 1048576,
 *               "all": [p, ...], "any": [p, ...], "min_any": 1, "none": [p, ...]}
 *   p = {"regex": "..."} | {"literal": "..."}, with optional "icase": true, "min_count": N
 * A file matches when every "all" pattern, at least min_any "any" patterns and no "none"
 * pattern occur in it. Files over max_bytes are not read (the caller reports them). Bytes are
 * matched as they are (NUL bytes end a regex's view of the text: binary files rarely matter).
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"

enum { DEFAULT_MAX_BYTES = 4 * 1024 * 1024, MAX_COUNT = 10000 };

static int compile_patterns(const cJSON *arr, struct pattern **out, size_t *n, const char *name, char *why, size_t whylen)
{
    *out = NULL;
    *n = 0;
    if (!arr) return 0;
    if (!cJSON_IsArray(arr)) {
        snprintf(why, whylen, "content.%s must be an array of patterns", name);
        return -1;
    }
    size_t cnt = (size_t)cJSON_GetArraySize(arr);
    *out = calloc(cnt ? cnt : 1, sizeof **out);
    if (!*out) return -1;
    const cJSON *p;
    cJSON_ArrayForEach(p, arr) {
        struct pattern *pt = &(*out)[*n];
        const cJSON *re = cJSON_GetObjectItemCaseSensitive(p, "regex");
        const cJSON *lit = cJSON_GetObjectItemCaseSensitive(p, "literal");
        const cJSON *mc = cJSON_GetObjectItemCaseSensitive(p, "min_count");
        pt->icase = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "icase"));
        pt->min_count = 1;
        if (mc) {
            if (!cJSON_IsNumber(mc) || mc->valuedouble < 1 || mc->valuedouble > MAX_COUNT) {
                snprintf(why, whylen, "content.%s: min_count must be 1..%d", name, MAX_COUNT);
                return -1;
            }
            pt->min_count = (unsigned)mc->valuedouble;
        }
        if (cJSON_IsString(re) == cJSON_IsString(lit)) {
            snprintf(why, whylen, "content.%s: each pattern needs one of \"regex\" or \"literal\"", name);
            return -1;
        }
        pt->literal = cJSON_IsString(lit);
        pt->text = strdup(pt->literal ? lit->valuestring : re->valuestring);
        if (!pt->text) return -1;
        if (!pt->text[0]) {
            snprintf(why, whylen, "content.%s: empty pattern", name);
            free(pt->text);
            return -1;
        }
        if (!pt->literal) {
            int rc = regcomp(&pt->re, pt->text, REG_EXTENDED | REG_NEWLINE | (pt->icase ? REG_ICASE : 0));
            if (rc) {
                char m[128];
                regerror(rc, &pt->re, m, sizeof m);
                snprintf(why, whylen, "content.%s: bad regex '%s': %s", name, pt->text, m);
                free(pt->text);
                return -1;
            }
        }
        (*n)++;
    }
    return 0;
}

int content_compile(struct content_rule *cr, const cJSON *j, char *why, size_t whylen)
{
    memset(cr, 0, sizeof *cr);
    if (!cJSON_IsObject(j)) {
        snprintf(why, whylen, "content must be an object");
        return -1;
    }
    static const char *const keys[] = {"files", "install_scripts", "max_bytes", "all", "any", "min_any", "none"};
    const cJSON *k;
    cJSON_ArrayForEach(k, j) {
        size_t i;
        for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (!strcmp(k->string, keys[i])) break;
        if (i == sizeof keys / sizeof keys[0]) {
            snprintf(why, whylen, "content: unknown key '%s'", k->string);
            return -1;
        }
    }
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(j, "files");
    if (!cJSON_IsArray(files) || !cJSON_GetArraySize(files)) {
        snprintf(why, whylen, "content.files must be a non-empty array of globs");
        return -1;
    }
    cr->files = calloc((size_t)cJSON_GetArraySize(files), sizeof *cr->files);
    if (!cr->files) return -1;
    const cJSON *f;
    cJSON_ArrayForEach(f, files) {
        if (!cJSON_IsString(f)) {
            snprintf(why, whylen, "content.files must hold strings");
            return -1;
        }
        cr->files[cr->nfiles] = strdup(f->valuestring);
        if (!cr->files[cr->nfiles++]) return -1;
    }
    cr->install_scripts = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "install_scripts"));
    const cJSON *mb = cJSON_GetObjectItemCaseSensitive(j, "max_bytes");
    cr->max_bytes = DEFAULT_MAX_BYTES;
    if (mb) {
        if (!cJSON_IsNumber(mb) || mb->valuedouble < 1 || mb->valuedouble > 64.0 * 1024 * 1024) {
            snprintf(why, whylen, "content.max_bytes must be 1..67108864");
            return -1;
        }
        cr->max_bytes = (size_t)mb->valuedouble;
    }
    if (compile_patterns(cJSON_GetObjectItemCaseSensitive(j, "all"), &cr->all, &cr->nall, "all", why, whylen) < 0 ||
        compile_patterns(cJSON_GetObjectItemCaseSensitive(j, "any"), &cr->any, &cr->nany, "any", why, whylen) < 0 ||
        compile_patterns(cJSON_GetObjectItemCaseSensitive(j, "none"), &cr->none, &cr->nnone, "none", why, whylen) < 0)
        return -1;
    if (!cr->nall && !cr->nany) {
        snprintf(why, whylen, "content needs \"all\" or \"any\" patterns");
        return -1;
    }
    const cJSON *ma = cJSON_GetObjectItemCaseSensitive(j, "min_any");
    cr->min_any = cr->nany ? 1 : 0;
    if (ma) {
        if (!cJSON_IsNumber(ma) || ma->valuedouble < 1 || ma->valuedouble > (double)cr->nany) {
            snprintf(why, whylen, "content.min_any must be 1..%zu (the number of \"any\" patterns)", cr->nany);
            return -1;
        }
        cr->min_any = (unsigned)ma->valuedouble;
    }
    return 0;
}

static void free_patterns(struct pattern *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!p[i].literal) regfree(&p[i].re);
        free(p[i].text);
    }
    free(p);
}

void content_free(struct content_rule *cr)
{
    for (size_t i = 0; i < cr->nfiles; i++) free(cr->files[i]);
    free(cr->files);
    free_patterns(cr->all, cr->nall);
    free_patterns(cr->any, cr->nany);
    free_patterns(cr->none, cr->nnone);
    memset(cr, 0, sizeof *cr);
}

static const char *find_literal(const char *h, size_t hl, const char *n, bool icase)
{
    size_t nl = strlen(n);
    if (nl > hl) return NULL;
    if (!icase) return memmem(h, hl, n, nl);
    for (size_t i = 0; i + nl <= hl; i++)
        if (!strncasecmp(h + i, n, nl)) return h + i;
    return NULL;
}

/* Offset of the first match, or -1 when fewer than min_count matches. buf is NUL-terminated. */
static long pattern_find(const struct pattern *p, const char *buf, size_t len)
{
    long first = -1;
    unsigned count = 0;
    size_t off = 0;
    while (off <= len && count < p->min_count) {
        size_t so, eo;
        if (p->literal) {
            const char *hit = find_literal(buf + off, len - off, p->text, p->icase);
            if (!hit) break;
            so = (size_t)(hit - buf);
            eo = so + strlen(p->text);
        } else {
            regmatch_t m[1];
            m[0].rm_so = (regoff_t)off;
            m[0].rm_eo = (regoff_t)len;
            if (regexec(&p->re, buf, 1, m, REG_STARTEND | (off ? REG_NOTBOL : 0)) != 0) break;
            so = (size_t)m[0].rm_so;
            eo = (size_t)m[0].rm_eo;
        }
        if (first < 0) first = (long)so;
        count++;
        off = eo > so ? eo : so + 1;
    }
    return count >= p->min_count ? first : -1;
}

static bool glob_ok(const struct content_rule *cr, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < cr->nfiles; i++) {
        if (fnmatch(cr->files[i], path, 0) == 0) return true;
        if (!strchr(cr->files[i], '/') && fnmatch(cr->files[i], base, 0) == 0) return true;
    }
    return false;
}

bool content_wants(const struct content_rule *cr, const char *path, bool is_install_script)
{
    return (!cr->install_scripts || is_install_script) && glob_ok(cr, path);
}

bool content_match(const struct content_rule *cr, const char *path, const char *buf, size_t len,
                   bool is_install_script, unsigned *line, char *excerpt, size_t exlen)
{
    if (cr->install_scripts && !is_install_script) return false;
    if (!glob_ok(cr, path) || len > cr->max_bytes) return false;
    long at = -1;
    for (size_t i = 0; i < cr->nall; i++) {
        long o = pattern_find(&cr->all[i], buf, len);
        if (o < 0) return false;
        if (at < 0) at = o;
    }
    if (cr->nany) {
        unsigned hits = 0;
        for (size_t i = 0; i < cr->nany; i++) {
            long o = pattern_find(&cr->any[i], buf, len);
            if (o < 0) continue;
            hits++;
            if (at < 0) at = o;
        }
        if (hits < cr->min_any) return false;
    }
    for (size_t i = 0; i < cr->nnone; i++)
        if (pattern_find(&cr->none[i], buf, len) >= 0) return false;
    if (at < 0) at = 0;
    unsigned ln = 1;
    size_t bol = 0;
    for (size_t i = 0; i < (size_t)at; i++)
        if (buf[i] == '\n') { ln++; bol = i + 1; }
    *line = ln;
    /* excerpt: the line around the match, at most exlen-1 bytes, control bytes as '.' */
    size_t start = (size_t)at > bol + 40 ? (size_t)at - 40 : bol;
    size_t o = 0;
    for (size_t i = start; i < len && buf[i] != '\n' && o + 1 < exlen; i++)
        excerpt[o++] = (unsigned char)buf[i] < 0x20 || buf[i] == 0x7f ? '.' : buf[i];
    excerpt[o] = 0;
    return true;
}
