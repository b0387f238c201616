#include "registry_facts.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "semver.h"

#define DAY 86400

/* Command names a package's bin would shadow on PATH (node_modules/.bin comes first in scripts). */
static const char *const system_bins[] = {
    "sh", "bash", "dash", "zsh", "node", "npm", "npx", "yarn", "pnpm", "git", "ls", "cp", "mv", "rm", "cat",
    "curl", "wget", "env", "sudo", "ssh", "python", "python3", "tar", "make", "gcc", "cc", "sed", "awk", "grep",
    "find", "chmod", "chown", "id", "whoami", "uname", "which", "echo", "test", "true", "false", "corepack", NULL,
};

static const char *str_at(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v) cJSON_AddStringToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

static void add_bool_or_null(cJSON *o, const char *k, bool known, bool v)
{
    if (known) cJSON_AddBoolToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

static void iso(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One version of the packument, with what we compare. */
struct ver {
    const char *v;
    const cJSON *m;
    struct semver sv;
    bool parsed;
    int64_t t;              /* publish time, -1 unknown */
};

static const char *npm_user_of(const cJSON *m)
{
    return str_at(cJSON_GetObjectItemCaseSensitive(m, "_npmUser"), "name");
}

static bool has_install_scripts(const cJSON *m)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(m, "scripts");
    static const char *const ev[] = {"preinstall", "install", "postinstall"};
    for (int i = 0; i < 3; i++) {
        const char *x = str_at(s, ev[i]);
        if (x && *x) return true;
    }
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "gypfile"));
}

static bool has_attestations(const cJSON *m)
{
    return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "dist"), "attestations"));
}

/* Normalised repository URL: "https://host/owner/repo" lower case, from the string or {url}. */
static bool repo_url(const cJSON *m, char *out, size_t outsz)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "repository");
    const char *u = cJSON_IsString(r) ? r->valuestring : str_at(r, "url");
    if (!u || !*u) return false;
    char buf[1024];
    if (!strncmp(u, "git+", 4)) u += 4;
    if (!strncmp(u, "github:", 7)) snprintf(buf, sizeof buf, "https://github.com/%s", u + 7);
    else if (!strncmp(u, "gitlab:", 7)) snprintf(buf, sizeof buf, "https://gitlab.com/%s", u + 7);
    else if (!strncmp(u, "git@", 4) && strchr(u, ':')) {
        const char *colon = strchr(u, ':');
        snprintf(buf, sizeof buf, "https://%.*s/%s", (int)(colon - u - 4), u + 4, colon + 1);
    } else if (!strncmp(u, "git://", 6)) snprintf(buf, sizeof buf, "https://%s", u + 6);
    else if (!strncmp(u, "ssh://git@", 10)) snprintf(buf, sizeof buf, "https://%s", u + 10);
    else if (!strstr(u, "://") && strchr(u, '/') && !strchr(u, ':')) snprintf(buf, sizeof buf, "https://github.com/%s", u);
    else snprintf(buf, sizeof buf, "%s", u);
    size_t n = strlen(buf);
    if (n > 4 && !strcmp(buf + n - 4, ".git")) buf[n -= 4] = 0;
    while (n && buf[n - 1] == '/') buf[--n] = 0;
    if (!strncmp(buf, "http://", 7)) {
        memmove(buf + 8, buf + 7, n - 6);
        memcpy(buf, "https://", 8);
    }
    for (char *p = buf; *p; p++) *p = (char)tolower((unsigned char)*p);
    snprintf(out, outsz, "%s", buf);
    return true;
}

/* bin as an object {name: path} with "./" dropped, as npm normalises it on publish. */
static cJSON *norm_bin(const cJSON *m)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(m, "bin");
    cJSON *o = cJSON_CreateObject();
    if (cJSON_IsString(b)) {
        const char *name = str_at(m, "name");
        const char *slash = name ? strchr(name, '/') : NULL;
        const char *p = b->valuestring;
        if (!strncmp(p, "./", 2)) p += 2;
        if (name) cJSON_AddStringToObject(o, slash ? slash + 1 : name, p);
    } else if (cJSON_IsObject(b)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, b) {
            if (!cJSON_IsString(e)) continue;
            const char *p = e->valuestring;
            if (!strncmp(p, "./", 2)) p += 2;
            cJSON_AddStringToObject(o, e->string, p);
        }
    }
    return o;
}

static bool obj_equal_or_both_empty(const cJSON *a, const cJSON *b)
{
    bool ea = !a || (cJSON_IsObject(a) && !cJSON_GetArraySize(a));
    bool eb = !b || (cJSON_IsObject(b) && !cJSON_GetArraySize(b));
    if (ea && eb) return true;
    return a && b && cJSON_Compare(a, b, 1);
}

/* Scripts, ignoring the implicit "install": "node-gyp rebuild" the registry adds for gypfile. */
static bool scripts_equal(const cJSON *reg, const cJSON *tar)
{
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(reg, "scripts");
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(tar, "scripts");
    if (obj_equal_or_both_empty(rs, ts)) return true;
    cJSON *r2 = rs ? cJSON_Duplicate(rs, 1) : cJSON_CreateObject();
    const char *inst = str_at(r2, "install");
    if (inst && !strcmp(inst, "node-gyp rebuild") && !str_at(ts, "install") && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reg, "gypfile")))
        cJSON_DeleteItemFromObjectCaseSensitive(r2, "install");
    bool eq = obj_equal_or_both_empty(r2, ts);
    cJSON_Delete(r2);
    return eq;
}

static void add_confusion(cJSON *facts, const cJSON *reg, const cJSON *tar)
{
    if (!tar) {
        cJSON_AddNullToObject(facts, "manifest_confusion");
        cJSON_AddNullToObject(facts, "manifest_confusion_fields");
        return;
    }
    cJSON *fields = cJSON_CreateArray();
    static const char *const strs[] = {"name", "version"};
    for (int i = 0; i < 2; i++) {
        const char *a = str_at(reg, strs[i]), *b = str_at(tar, strs[i]);
        if (!a || !b || strcmp(a, b)) cJSON_AddItemToArray(fields, cJSON_CreateString(strs[i]));
    }
    if (!scripts_equal(reg, tar)) cJSON_AddItemToArray(fields, cJSON_CreateString("scripts"));
    static const char *const deps[] = {"dependencies", "optionalDependencies", "peerDependencies"};
    for (int i = 0; i < 3; i++)
        if (!obj_equal_or_both_empty(cJSON_GetObjectItemCaseSensitive(reg, deps[i]), cJSON_GetObjectItemCaseSensitive(tar, deps[i])))
            cJSON_AddItemToArray(fields, cJSON_CreateString(deps[i]));
    cJSON *b1 = norm_bin(reg), *b2 = norm_bin(tar);
    if (!obj_equal_or_both_empty(b1, b2)) cJSON_AddItemToArray(fields, cJSON_CreateString("bin"));
    cJSON_Delete(b1);
    cJSON_Delete(b2);
    cJSON_AddBoolToObject(facts, "manifest_confusion", cJSON_GetArraySize(fields) > 0);
    cJSON_AddItemToObject(facts, "manifest_confusion_fields", fields);
}

static cJSON *maintainer_names(const cJSON *m)
{
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(m, "maintainers");
    if (!cJSON_IsArray(ms)) return NULL;
    cJSON *out = cJSON_CreateArray();
    const cJSON *e;
    cJSON_ArrayForEach(e, ms) {
        const char *n = cJSON_IsString(e) ? e->valuestring : str_at(e, "name");
        if (n) cJSON_AddItemToArray(out, cJSON_CreateString(n));
    }
    return out;
}

static bool names_have(const cJSON *arr, const char *n)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
        if (cJSON_IsString(e) && !strcmp(e->valuestring, n)) return true;
    return false;
}

static int cmp_time(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Window counts and the largest burst over any 24 h. */
static void add_cadence(cJSON *f, const struct ver *vs, size_t n, int64_t tpub)
{
    int64_t *ts = malloc((n ? n : 1) * sizeof *ts);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (vs[i].t >= 0 && ts) ts[k++] = vs[i].t;
    if (!ts || !k) {
        cJSON_AddNullToObject(f, "versions_in_24h");
        cJSON_AddNullToObject(f, "versions_in_7d");
        cJSON_AddNullToObject(f, "max_versions_in_24h");
        free(ts);
        return;
    }
    qsort(ts, k, sizeof *ts, cmp_time);
    if (tpub >= 0) {
        int in24 = 0, in7 = 0;
        for (size_t i = 0; i < k; i++) {
            int64_t d = ts[i] > tpub ? ts[i] - tpub : tpub - ts[i];
            if (d <= DAY) in24++;
            if (d <= 7 * DAY) in7++;
        }
        cJSON_AddNumberToObject(f, "versions_in_24h", in24);
        cJSON_AddNumberToObject(f, "versions_in_7d", in7);
    } else {
        cJSON_AddNullToObject(f, "versions_in_24h");
        cJSON_AddNullToObject(f, "versions_in_7d");
    }
    size_t best = 0, lo = 0;
    for (size_t hi = 0; hi < k; hi++) {
        while (ts[hi] - ts[lo] > DAY) lo++;
        if (hi - lo + 1 > best) best = hi - lo + 1;
    }
    cJSON_AddNumberToObject(f, "max_versions_in_24h", (double)best);
    free(ts);
}

/* Dormancy then burst: the versions published within 24 h either side of this one form the burst;
 * quiet_days_before_burst is the gap between the burst's first publish and the publish before it. */
static void add_burst(cJSON *f, const struct ver *vs, size_t n, int64_t tpub)
{
    if (tpub < 0) {
        cJSON_AddNullToObject(f, "quiet_days_before_burst");
        return;
    }
    int64_t first = tpub;
    for (size_t i = 0; i < n; i++)
        if (vs[i].t >= 0 && vs[i].t < first && tpub - vs[i].t <= DAY) first = vs[i].t;
    int64_t before = -1;
    for (size_t i = 0; i < n; i++)
        if (vs[i].t >= 0 && vs[i].t < first && vs[i].t > before) before = vs[i].t;
    if (before < 0) cJSON_AddNullToObject(f, "quiet_days_before_burst");
    else cJSON_AddNumberToObject(f, "quiet_days_before_burst", (double)(first - before) / DAY);
}

static bool dist_num(const cJSON *m, const char *k, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "dist"), k);
    if (!cJSON_IsNumber(v)) return false;
    *out = v->valuedouble;
    return true;
}

/* Versions within 7 days of this one with the same dist.fileCount and an dist.unpackedSize
 * within 1 % (this one included): republishing near-identical contents. */
static void add_similar(cJSON *f, const cJSON *m, const struct ver *vs, size_t n, int64_t tpub)
{
    double fc, us;
    bool have = dist_num(m, "fileCount", &fc) && dist_num(m, "unpackedSize", &us);
    if (have) {
        cJSON_AddNumberToObject(f, "file_count", fc);
        cJSON_AddNumberToObject(f, "unpacked_size", us);
    } else {
        cJSON_AddNullToObject(f, "file_count");
        cJSON_AddNullToObject(f, "unpacked_size");
    }
    if (!have || tpub < 0) {
        cJSON_AddNullToObject(f, "similar_versions_in_7d");
        return;
    }
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        double fc2, us2;
        if (vs[i].t < 0 || (vs[i].t > tpub ? vs[i].t - tpub : tpub - vs[i].t) > 7 * DAY) continue;
        if (!dist_num(vs[i].m, "fileCount", &fc2) || !dist_num(vs[i].m, "unpackedSize", &us2)) continue;
        double diff = us2 > us ? us2 - us : us - us2;
        if (fc2 == fc && diff <= us / 100.0) k++;
    }
    cJSON_AddNumberToObject(f, "similar_versions_in_7d", k);
}

static void add_bins(cJSON *f, const cJSON *m)
{
    cJSON *b = norm_bin(m), *names = cJSON_CreateArray(), *shadow = cJSON_CreateArray();
    const cJSON *e;
    cJSON_ArrayForEach(e, b) {
        cJSON_AddItemToArray(names, cJSON_CreateString(e->string));
        for (int i = 0; system_bins[i]; i++)
            if (!strcmp(e->string, system_bins[i])) cJSON_AddItemToArray(shadow, cJSON_CreateString(e->string));
    }
    cJSON_Delete(b);
    cJSON_AddItemToObject(f, "bin_names", names);
    cJSON_AddBoolToObject(f, "bin_shadows_system_command", cJSON_GetArraySize(shadow) > 0);
    cJSON_AddItemToObject(f, "bin_shadowed_commands", shadow);
}

cJSON *registry_facts_from_packument(const cJSON *pk, const char *version, const cJSON *tarball_manifest, time_t now)
{
    const cJSON *versions = cJSON_GetObjectItemCaseSensitive(pk, "versions");
    const cJSON *times = cJSON_GetObjectItemCaseSensitive(pk, "time");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(versions, version);
    size_t n = (size_t)cJSON_GetArraySize(versions);
    struct ver *vs = calloc(n ? n : 1, sizeof *vs);
    if (!vs) return NULL;
    size_t k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, versions) {
        vs[k].v = e->string;
        vs[k].m = e;
        vs[k].parsed = semver_parse(e->string, &vs[k].sv) == 0;
        vs[k].t = registry_parse_time(str_at(times, e->string));
        k++;
    }
    n = k;
    cJSON *f = cJSON_CreateObject();
    cJSON *avail = cJSON_CreateObject();
    add_str(f, "name", str_at(pk, "name"));
    add_str(f, "version", version);
    int64_t tpub = registry_parse_time(str_at(times, version));
    bool have_time = cJSON_IsObject(times);
    char buf[1024];
    if (tpub >= 0) {
        iso(tpub, buf);
        cJSON_AddStringToObject(f, "published_at", buf);
        cJSON_AddNumberToObject(f, "age_hours", (double)((int64_t)now - tpub) / 3600.0);
    } else {
        cJSON_AddNullToObject(f, "published_at");
        cJSON_AddNullToObject(f, "age_hours");
    }
    /* package age: time.created, else the first publish */
    int64_t created = registry_parse_time(str_at(times, "created"));
    for (size_t i = 0; created < 0 && i < n; i++)
        if (vs[i].t >= 0) created = vs[i].t;
    for (size_t i = 0; i < n; i++)
        if (vs[i].t >= 0 && vs[i].t < created) created = vs[i].t;
    if (created >= 0) cJSON_AddNumberToObject(f, "package_age_days", (double)((int64_t)now - created) / DAY);
    else cJSON_AddNullToObject(f, "package_age_days");
    cJSON_AddNumberToObject(f, "versions_count", (double)n);
    add_cadence(f, vs, n, tpub);
    add_burst(f, vs, n, tpub);
    add_similar(f, m, vs, n, tpub);

    /* previous by time (dormancy) and previous by semver (what changed) */
    const struct ver *prev_t = NULL, *prev_s = NULL, *self = NULL;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(vs[i].v, version)) self = &vs[i];
    for (size_t i = 0; i < n; i++) {
        if (&vs[i] == self) continue;
        if (tpub >= 0 && vs[i].t >= 0 && vs[i].t < tpub && (!prev_t || vs[i].t > prev_t->t)) prev_t = &vs[i];
        if (self && self->parsed && vs[i].parsed && semver_cmp(&vs[i].sv, &self->sv) < 0 &&
            (!prev_s || semver_cmp(&vs[i].sv, &prev_s->sv) > 0))
            prev_s = &vs[i];
    }
    if (prev_t) {
        iso(prev_t->t, buf);
        cJSON_AddStringToObject(f, "previous_publish_at", buf);
        cJSON_AddStringToObject(f, "previous_published_version", prev_t->v);
        cJSON_AddNumberToObject(f, "dormancy_days", (double)(tpub - prev_t->t) / DAY);
    } else {
        cJSON_AddNullToObject(f, "previous_publish_at");
        cJSON_AddNullToObject(f, "previous_published_version");
        cJSON_AddNullToObject(f, "dormancy_days");
    }
    add_str(f, "previous_version", prev_s ? prev_s->v : NULL);
    bool first_release = !prev_s;
    cJSON_AddBoolToObject(f, "is_first_release", first_release);
    add_bool_or_null(f, "is_patch_release", self && self->parsed && prev_s,
                     prev_s && self && prev_s->sv.major == self->sv.major && prev_s->sv.minor == self->sv.minor);

    /* publisher */
    const char *user = npm_user_of(m);
    add_str(f, "npm_user", user);
    bool user_seen = false, any_user_info = false;
    for (size_t i = 0; i < n; i++) {
        const char *u = npm_user_of(vs[i].m);
        if (&vs[i] == self || !u) continue;
        bool earlier = (tpub >= 0 && vs[i].t >= 0) ? vs[i].t < tpub : (self && self->parsed && vs[i].parsed && semver_cmp(&vs[i].sv, &self->sv) < 0);
        if (!earlier) continue;
        any_user_info = true;
        if (user && !strcmp(u, user)) user_seen = true;
    }
    add_bool_or_null(f, "npm_user_seen_before", user && any_user_info, user_seen);
    add_str(f, "previous_npm_user", prev_s ? npm_user_of(prev_s->m) : NULL);
    add_bool_or_null(f, "npm_user_changed", user && prev_s && npm_user_of(prev_s->m),
                     user && prev_s && npm_user_of(prev_s->m) && strcmp(user, npm_user_of(prev_s->m)));
    cJSON_AddBoolToObject(avail, "npm_user", user != NULL);

    /* maintainers */
    cJSON *mn = maintainer_names(m);
    if (!mn) mn = maintainer_names(pk);
    cJSON *pmn = prev_s ? maintainer_names(prev_s->m) : NULL;
    cJSON_AddBoolToObject(avail, "maintainers", mn != NULL);
    if (mn && pmn) {
        cJSON *added = cJSON_CreateArray();
        cJSON_ArrayForEach(e, mn)
            if (!names_have(pmn, e->valuestring)) cJSON_AddItemToArray(added, cJSON_CreateString(e->valuestring));
        cJSON_AddItemToObject(f, "maintainers_added_since_previous", added);
    } else {
        cJSON_AddNullToObject(f, "maintainers_added_since_previous");
    }
    if (mn) cJSON_AddItemToObject(f, "maintainers", mn);
    else cJSON_AddNullToObject(f, "maintainers");
    cJSON_Delete(pmn);

    /* tooling used to publish */
    static const char *const tools[][3] = {{"_npmVersion", "npm_version", "npm_version_changed"},
                                           {"_nodeVersion", "node_version", "node_version_changed"}};
    for (int i = 0; i < 2; i++) {
        const char *a = str_at(m, tools[i][0]), *b = prev_s ? str_at(prev_s->m, tools[i][0]) : NULL;
        add_str(f, tools[i][1], a);
        add_bool_or_null(f, tools[i][2], a && b, a && b && strcmp(a, b));
        cJSON_AddBoolToObject(avail, tools[i][1], a != NULL);
    }

    /* install scripts */
    bool inst = has_install_scripts(m);
    cJSON_AddBoolToObject(f, "has_install_scripts", inst);
    add_bool_or_null(f, "previous_had_install_scripts", prev_s != NULL, prev_s && has_install_scripts(prev_s->m));
    cJSON_AddBoolToObject(f, "install_scripts_added", inst && prev_s && !has_install_scripts(prev_s->m));

    /* provenance */
    bool prov = has_attestations(m);
    int earlier_prov = 0, earlier = 0;
    for (size_t i = 0; i < n; i++) {
        if (&vs[i] == self || !vs[i].parsed || !self || !self->parsed || semver_cmp(&vs[i].sv, &self->sv) >= 0) continue;
        earlier++;
        if (has_attestations(vs[i].m)) earlier_prov++;
    }
    cJSON_AddBoolToObject(f, "provenance_present", prov);
    add_bool_or_null(f, "previous_had_provenance", prev_s != NULL, prev_s && has_attestations(prev_s->m));
    cJSON_AddNumberToObject(f, "earlier_versions_with_provenance", earlier_prov);
    cJSON_AddBoolToObject(f, "provenance_dropped", !prov && prev_s && has_attestations(prev_s->m));
    (void)earlier;

    /* repository */
    char r1[1024], r2[1024];
    bool h1 = repo_url(m, r1, sizeof r1), h2 = prev_s && repo_url(prev_s->m, r2, sizeof r2);
    add_str(f, "repository", h1 ? r1 : NULL);
    add_bool_or_null(f, "repository_changed", prev_s != NULL && (h1 || h2), h1 != h2 || (h1 && h2 && strcmp(r1, r2)));

    /* deprecation, unpublished versions */
    add_str(f, "deprecated", str_at(m, "deprecated"));
    add_str(f, "description", str_at(m, "description"));
    /* the registry's placeholder for a package removed for security reasons */
    const char *desc = str_at(m, "description");
    cJSON_AddBoolToObject(f, "security_placeholder", (version && strstr(version, "-security")) ||
                                                         (desc && strcasestr(desc, "security holding package")));
    cJSON *unpub = cJSON_CreateArray();
    cJSON_ArrayForEach(e, times) {
        if (!strcmp(e->string, "created") || !strcmp(e->string, "modified") || !strcmp(e->string, "unpublished")) continue;
        if (!cJSON_GetObjectItemCaseSensitive(versions, e->string)) cJSON_AddItemToArray(unpub, cJSON_CreateString(e->string));
    }
    cJSON_AddNumberToObject(f, "unpublished_count", cJSON_GetArraySize(unpub));
    cJSON_AddItemToObject(f, "unpublished_versions", unpub);
    add_bins(f, m);
    add_confusion(f, m, tarball_manifest);

    cJSON_AddBoolToObject(avail, "time", have_time);
    cJSON_AddBoolToObject(avail, "publish_time", tpub >= 0);
    const cJSON *dist = cJSON_GetObjectItemCaseSensitive(m, "dist");
    cJSON_AddBoolToObject(avail, "signatures", cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(dist, "signatures")));
    cJSON_AddBoolToObject(avail, "attestations", prov);
    cJSON_AddBoolToObject(avail, "repository", h1);
    cJSON_AddBoolToObject(avail, "tarball_manifest", tarball_manifest != NULL);
    /* download counts come from a downloads API (registry_facts_build, --downloads-api) */
    cJSON_AddNullToObject(f, "downloads_last_week");
    cJSON_AddNullToObject(f, "downloads_last_month");
    cJSON_AddNullToObject(f, "downloads_publish_day_ratio");
    cJSON_AddNullToObject(f, "downloads_rising_with_publishes");
    cJSON_AddStringToObject(f, "downloads_note", "not fetched: no downloads API");
    cJSON_AddBoolToObject(avail, "downloads", false);
    cJSON_AddItemToObject(f, "available", avail);
    free(vs);
    return f;
}

static void set_num(cJSON *f, const char *k, double v)
{
    cJSON_ReplaceItemInObjectCaseSensitive(f, k, cJSON_CreateNumber(v));
}

/* Downloads from a downloads API: totals, and whether days with a publish (or the day after) see
 * far more downloads than the other days (downloads rising with publishes: pumping). */
static void add_downloads(cJSON *f, const struct registry_result *res)
{
    cJSON_ReplaceItemInObjectCaseSensitive(f, "downloads_note",
                                           cJSON_CreateString(res->downloads ? "fetched" : res->downloads_note[0] ? res->downloads_note : "not fetched"));
    if (!res->downloads) return;
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(f, "available"), "downloads", cJSON_CreateTrue());
    const cJSON *times = cJSON_GetObjectItemCaseSensitive(res->packument, "time");
    int n = cJSON_GetArraySize(res->downloads);
    double month = 0, week = 0, pub_sum = 0, other_sum = 0;
    int pub_days = 0, other_days = 0, i = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, res->downloads) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(d, "downloads");
        const char *day = str_at(d, "day");
        double v = cJSON_IsNumber(c) ? c->valuedouble : 0;
        month += v;
        if (i >= n - 7) week += v;
        i++;
        if (!day || strlen(day) != 10) continue;
        /* a publish that day or the day before */
        char iso_day[40];
        snprintf(iso_day, sizeof iso_day, "%sT00:00:00Z", day);
        int64_t t0 = registry_parse_time(iso_day);
        bool pub = false;
        const cJSON *e;
        cJSON_ArrayForEach(e, times) {
            if (!strcmp(e->string, "created") || !strcmp(e->string, "modified")) continue;
            int64_t t = registry_parse_time(cJSON_GetStringValue(e));
            if (t0 >= 0 && t >= t0 - DAY && t < t0 + DAY) pub = true;
        }
        if (pub) { pub_sum += v; pub_days++; }
        else { other_sum += v; other_days++; }
    }
    set_num(f, "downloads_last_week", week);
    set_num(f, "downloads_last_month", month);
    if (pub_days && other_days) {
        double other = other_sum / other_days;
        double ratio = (pub_sum / pub_days) / (other > 1 ? other : 1);
        set_num(f, "downloads_publish_day_ratio", ratio);
        cJSON_ReplaceItemInObjectCaseSensitive(f, "downloads_rising_with_publishes", cJSON_CreateBool(pub_days >= 2 && ratio >= 3));
    }
}

cJSON *registry_facts_build(const struct registry_result *res, const cJSON *tarball_manifest, time_t now)
{
    cJSON *f = registry_facts_from_packument(res->packument, res->version, tarball_manifest, now);
    if (!f) return NULL;
    add_downloads(f, res);
    cJSON_AddStringToObject(f, "resolved_from", res->spec);
    add_str(f, "spec_kind", res->spec_kind);
    char shown[2100];
    registry_redact_url(res->registry, shown, sizeof shown);
    cJSON_AddStringToObject(f, "registry", shown);
    add_str(f, "registry_config_source", res->registry_origin);
    registry_redact_url(res->tarball_url, shown, sizeof shown);
    cJSON_AddStringToObject(f, "tarball_url", shown);
    add_str(f, "integrity", res->integrity[0] ? res->integrity : NULL);
    cJSON_AddStringToObject(f, "integrity_verified_with", res->verified_with);
    cJSON_AddBoolToObject(f, "packument_from_cache", res->packument_from_cache);
    cJSON_AddBoolToObject(f, "tarball_from_cache", res->tarball_from_cache);
    /* Release cooldown: --min-age, else the default (72 h) for the flag only; --min-age 0 turns it off. */
    uint64_t min_age = res->min_age_s ? res->min_age_s : res->min_age_disabled ? 0 : REGISTRY_DEFAULT_MIN_AGE_S;
    bool young = res->cooldown_violation;
    if (!res->min_age_s && min_age) {
        const cJSON *age = cJSON_GetObjectItemCaseSensitive(f, "age_hours");
        young = cJSON_IsNumber(age) && age->valuedouble * 3600.0 < (double)min_age;
    }
    if (min_age) cJSON_AddNumberToObject(f, "min_age_hours", (double)min_age / 3600.0);
    else cJSON_AddNullToObject(f, "min_age_hours");
    cJSON_AddStringToObject(f, "min_age_source", res->min_age_s ? "cli" : min_age ? "default" : "off");
    cJSON_AddBoolToObject(f, "cooldown_violation", young);
    cJSON_AddStringToObject(f, "signatures", registry_sig_name(res->sig));
    add_str(f, "signatures_keyid", res->sig_keyid[0] ? res->sig_keyid : NULL);
    add_str(f, "signatures_detail", res->sig_detail[0] ? res->sig_detail : NULL);
    /* provenance facts, flattened */
    const cJSON *p = res->provenance;
    static const char *const pk[][2] = {{"predicate_type", "provenance_predicate_type"}, {"source_repo", "provenance_source_repo"},
                                        {"workflow_path", "provenance_workflow_path"}, {"ref", "provenance_ref"},
                                        {"builder_id", "provenance_builder_id"}, {"bundle", "provenance_bundle"}};
    for (size_t i = 0; i < sizeof pk / sizeof *pk; i++) add_str(f, pk[i][1], str_at(p, pk[i][0]));
    const char *src = str_at(p, "source_repo");
    const char *repo = str_at(f, "repository");
    if (src && repo) {
        char norm[1024];
        cJSON *holder = cJSON_CreateObject();
        cJSON_AddStringToObject(holder, "repository", src);
        bool ok = repo_url(holder, norm, sizeof norm);
        cJSON_Delete(holder);
        cJSON_AddBoolToObject(f, "provenance_repo_matches_repository", ok && !strcmp(norm, repo));
    } else {
        cJSON_AddNullToObject(f, "provenance_repo_matches_repository");
    }
    cJSON_AddBoolToObject(f, "provenance_verified", false);
    cJSON_AddStringToObject(f, "provenance_note", "Sigstore verification was NOT performed: provenance facts are the publisher's claims as served by the registry");
    return f;
}
