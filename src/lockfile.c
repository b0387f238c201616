/* lockfile.c — npm lockfile v2/v3 reading and diffing (contract in lockfile.h). */
#include "lockfile.h"
#include "fileio.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A field that must be a string when present: 0 absent/ok, -1 wrong type. */
static int check_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return !v || cJSON_IsString(v) ? 0 : -1;
}

static bool json_true(const cJSON *obj, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

/* "node_modules/a/node_modules/@s/b" → "@s/b"; NULL when the path holds no node_modules/. */
static const char *name_from_path(const char *path)
{
    const char *last = NULL;
    for (const char *p = path; (p = strstr(p, "node_modules/")); p += 13)
        if (p == path || p[-1] == '/') last = p + 13;
    return last && *last ? last : NULL;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void pkg_free(struct lock_pkg *p)
{
    free(p->path);
    free(p->name);
    free(p->version);
    free(p->resolved);
    free(p->integrity);
}

static int bad(struct sb_error *err, const char *what, const char *path, const char *why)
{
    return sb_fail(err, SB_EXIT_INPUT, "bad-lockfile", 0, "%s: entry \"%.200s\": %s", what, path, why);
}

/* One "packages" entry; *skip is set for entries that are not packages to vet. */
static int read_entry(const cJSON *e, const char *what, struct lock_pkg *p, bool *skip, struct sb_error *err)
{
    const char *path = e->string;
    /* The root, workspace links and workspace folders are the project's own code, not packages. */
    *skip = !*path || json_true(e, "link") || !name_from_path(path);
    if (*skip) return 0;
    if (!cJSON_IsObject(e)) return bad(err, what, path, "not an object");
    static const char *const strings[] = {"name", "version", "resolved", "integrity"};
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
        if (check_str(e, strings[i]) < 0) return bad(err, what, path, "a field that must be a string is not");
    const char *name = json_str(e, "name");
    if (!name || !*name) name = name_from_path(path);
    const char *version = json_str(e, "version");
    if (!version || !*version) return bad(err, what, path, "no \"version\"");
    *p = (struct lock_pkg){
        .path = strdup(path), .name = strdup(name), .version = strdup(version),
        .resolved = dup_or_null(json_str(e, "resolved")), .integrity = dup_or_null(json_str(e, "integrity")),
        .has_install_script = json_true(e, "hasInstallScript"), .dev = json_true(e, "dev"),
        .optional = json_true(e, "optional"),
    };
    if (!p->path || !p->name || !p->version || (json_str(e, "resolved") && !p->resolved) ||
        (json_str(e, "integrity") && !p->integrity)) {
        pkg_free(p);
        return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "%s: out of memory", what);
    }
    return 0;
}

static int read_version(const cJSON *root, const char *what, int *version, struct sb_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "lockfileVersion");
    if (!cJSON_IsNumber(v))
        return sb_fail(err, SB_EXIT_INPUT, "bad-lockfile", 0, "%s: no lockfileVersion; fix: pass an npm package-lock.json", what);
    *version = v->valueint;
    if (*version == 1)
        return sb_fail(err, SB_EXIT_INPUT, "bad-lockfile", 0,
                       "%s: lockfileVersion 1 is not supported; fix: run `npm install --package-lock-only` with npm >= 7 "
                       "to rewrite it as version 3", what);
    if (*version != 2 && *version != 3)
        return sb_fail(err, SB_EXIT_INPUT, "bad-lockfile", 0, "%s: lockfileVersion %d is unknown (2 and 3 are read)", what,
                       *version);
    return 0;
}

static int read_packages(const cJSON *packages, const char *what, struct lockfile *out, struct sb_error *err)
{
    size_t cap = (size_t)cJSON_GetArraySize(packages);
    out->pkgs = calloc(cap ? cap : 1, sizeof *out->pkgs);
    if (!out->pkgs) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "%s: out of memory", what);
    const cJSON *e;
    cJSON_ArrayForEach(e, packages) {
        bool skip;
        if (read_entry(e, what, &out->pkgs[out->n], &skip, err) < 0) return -1;
        if (!skip) out->n++;
    }
    return 0;
}

int lockfile_parse(const char *text, size_t len, const char *what, struct lockfile *out, struct sb_error *err)
{
    memset(out, 0, sizeof *out);
    if (len > LOCKFILE_MAX_BYTES)
        return sb_fail(err, SB_EXIT_INPUT, "bad-lockfile", EFBIG, "%s is larger than %zu MiB", what, LOCKFILE_MAX_BYTES >> 20);
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sb_fail(err, SB_EXIT_INPUT, "bad-lockfile", 0, "%s is not valid JSON", what);
    }
    const cJSON *packages = cJSON_GetObjectItemCaseSensitive(root, "packages");
    int rc = read_version(root, what, &out->version, err);
    if (rc == 0 && !cJSON_IsObject(packages))
        rc = sb_fail(err, SB_EXIT_INPUT, "bad-lockfile", 0, "%s has no \"packages\" object", what);
    if (rc == 0) rc = read_packages(packages, what, out, err);
    cJSON_Delete(root);
    if (rc < 0) lockfile_free(out);
    return rc;
}

int lockfile_load(const char *path, struct lockfile *out, struct sb_error *err)
{
    memset(out, 0, sizeof *out);
    size_t len = 0;
    char *buf = file_read_bounded(path, LOCKFILE_MAX_BYTES, 0, &len);
    if (!buf && (errno == EINVAL || errno == EFBIG))
        return sb_fail(err, SB_EXIT_INPUT, "bad-lockfile", errno, "%s is not a regular file of at most %zu MiB", path,
                       LOCKFILE_MAX_BYTES >> 20);
    if (!buf)
        return sb_fail(err, SB_EXIT_INPUT, "lockfile-missing", errno, "cannot read lockfile %s: %s", path, strerror(errno));
    int rc = lockfile_parse(buf, len, path, out, err);
    free(buf);
    return rc;
}

void lockfile_free(struct lockfile *l)
{
    for (size_t i = 0; i < l->n; i++) pkg_free(&l->pkgs[i]);
    free(l->pkgs);
    memset(l, 0, sizeof *l);
}

/* ---- diff ------------------------------------------------------------------------------- */

static const char *pkg_origin(const struct lock_pkg *p)
{
    return p->integrity ? p->integrity : p->resolved ? p->resolved : "";
}

static int cmp_identity(const struct lock_pkg *a, const struct lock_pkg *b)
{
    int c = strcmp(a->name, b->name);
    if (!c) c = strcmp(a->version, b->version);
    if (!c) c = strcmp(pkg_origin(a), pkg_origin(b));
    return c;
}

static int cmp_pkg_ptr(const void *a, const void *b)
{
    return cmp_identity(*(const struct lock_pkg *const *)a, *(const struct lock_pkg *const *)b);
}

static int cmp_name_ptr(const void *key, const void *elem)
{
    return strcmp((const char *)key, (*(const struct lock_pkg *const *)elem)->name);
}

static const struct lock_pkg **sorted_view(const struct lockfile *l)
{
    const struct lock_pkg **v = malloc((l && l->n ? l->n : 1) * sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; l && i < l->n; i++) v[i] = &l->pkgs[i];
    if (l && l->n) qsort(v, l->n, sizeof *v, cmp_pkg_ptr);
    return v;
}

/* The base package with the same name (any version), or NULL. */
static const struct lock_pkg *same_name(const struct lock_pkg **base, size_t n, const char *name)
{
    const struct lock_pkg *const *hit = bsearch(name, base, n, sizeof *base, cmp_name_ptr);
    return hit ? *hit : NULL;
}

int lockfile_diff(const struct lockfile *base, const struct lockfile *head, struct lock_delta **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t nbase = base ? base->n : 0;
    const struct lock_pkg **bv = sorted_view(base), **hv = sorted_view(head);
    struct lock_delta *d = malloc((head->n ? head->n : 1) * sizeof *d);
    if (!bv || !hv || !d) {
        free(bv), free(hv), free(d);
        return -1;
    }
    size_t nd = 0;
    for (size_t i = 0; i < head->n; i++) {
        const struct lock_pkg *p = &head->pkgs[i];
        const struct lock_pkg *const *first = bsearch(&p, hv, head->n, sizeof *hv, cmp_pkg_ptr);
        /* Report each identity once, at its first position in head's order. */
        size_t at = (size_t)(first - hv);
        while (at > 0 && !cmp_identity(hv[at - 1], p)) at--;
        const struct lock_pkg *earliest = hv[at];
        for (size_t k = at; k < head->n && !cmp_identity(hv[k], p); k++)
            if (hv[k] < earliest) earliest = hv[k];
        if (earliest != p) continue;
        if (nbase && bsearch(&p, bv, nbase, sizeof *bv, cmp_pkg_ptr)) continue;
        const struct lock_pkg *old = nbase ? same_name(bv, nbase, p->name) : NULL;
        d[nd++] = (struct lock_delta){p, old ? LOCK_CHANGED : LOCK_ADDED, old ? old->version : NULL};
    }
    free(bv);
    free(hv);
    *out = d;
    *n = nd;
    return 0;
}
