/*
 * lifecycle.c — npm's install-time plan and the environment it gives each script (lifecycle.h).
 *
 * Sources read (npm 11.19.1): @npmcli/arborist lib/arborist/rebuild.js (which scripts run, the
 * implicit node-gyp rebuild, the npm_package_* install facts), @npmcli/run-script
 * (package-envs.js, make-spawn-args.js, set-path.js), @npmcli/config lib/set-envs.js and
 * lib/npm.js (npm_config_*, HOME, INIT_CWD, NODE, COLOR, EDITOR, npm_command), and
 * @npmcli/package-json lib/normalize.js (how "bin" is normalised before it reaches the env).
 * tests/integration/test_npm_env.c compares the result with what the installed npm really does.
 *
 * Deliberately left out of the environment:
 *  - everything npm inherits from its caller's process.env (USER, LANG, TERM, proxies, tokens…):
 *    scripts must not learn the host's environment. The caller passes what it wants in w->extra.
 *  - npm_config_* from the host's own npmrc files (e.g. npm_config_cafile from /etc/npmrc) and
 *    from the command line that ran npm: we model a plain `npm install` with default settings.
 *  - PWD, OLDPWD, SHLVL, _: the shell sets those itself.
 *  - the " ci/<name>" suffix npm adds to the user agent when it detects a CI service from the
 *    caller's environment.
 */
#include "lifecycle.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    ENV_MAX_ENTRIES = 4096,
    ENV_MAX_BYTES = 1024 * 1024,    /* execve would fail (E2BIG) long before npm's env got here */
    ENV_MAX_ENTRY = 128 * 1024,     /* MAX_ARG_STRLEN: one "NAME=value" string */
    WORLD_PATH_MAX = 4096,
    PKG_ENV_MAX_DEPTH = 64,         /* the manifest is already bounded to this depth */
};

#if defined(__x86_64__)
#define NPM_ARCH "x64"
#elif defined(__aarch64__)
#define NPM_ARCH "arm64"
#elif defined(__i386__)
#define NPM_ARCH "ia32"
#elif defined(__arm__)
#define NPM_ARCH "arm"
#else
#define NPM_ARCH "unknown"
#endif

/* ---- plan ------------------------------------------------------------------------------- */

static void add_step(struct lifecycle_plan *plan, const char *event, const char *script, bool implicit)
{
    if (!script || plan->nsteps >= LIFECYCLE_MAX_STEPS) return;
    plan->steps[plan->nsteps++] = (struct lifecycle_step){event, script, implicit};
}

/* arborist rebuild.js: gypfile !== false && !install && !preinstall && binding.gyp is a file. */
static bool wants_implicit_gyp(const struct manifest *m)
{
    const cJSON *gypfile = m->json ? cJSON_GetObjectItemCaseSensitive(m->json, "gypfile") : NULL;
    return m->has_binding_gyp && !cJSON_IsFalse(gypfile) &&
           !manifest_script(m, "preinstall") && !manifest_script(m, "install");
}

void lifecycle_plan_build(const struct manifest *m, struct lifecycle_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    add_step(plan, "preinstall", manifest_script(m, "preinstall"), false);
    if (wants_implicit_gyp(m)) add_step(plan, "install", "node-gyp rebuild", true);
    else add_step(plan, "install", manifest_script(m, "install"), false);
    add_step(plan, "postinstall", manifest_script(m, "postinstall"), false);
}

/* ---- environment builder: later puts win, output sorted and unique ---------------------- */

struct env_entry {
    char *kv;           /* "NAME=value" */
    size_t name_len;    /* up to the first '=' */
    unsigned rank;      /* order of insertion; the highest rank of a name wins */
};

enum env_state { ENV_OK, ENV_NOMEM, ENV_TOO_BIG };

struct env_builder {
    struct env_entry *v;
    size_t n, cap, bytes;
    unsigned next_rank;
    enum env_state state;
};

static bool env_reserve(struct env_builder *b, size_t size)
{
    if (b->n >= ENV_MAX_ENTRIES || size > ENV_MAX_ENTRY || b->bytes + size > ENV_MAX_BYTES) {
        b->state = ENV_TOO_BIG;
        return false;
    }
    if (b->n < b->cap) return true;
    size_t ncap = b->cap ? b->cap * 2 : 64;
    struct env_entry *nv = realloc(b->v, ncap * sizeof *nv);
    if (!nv) { b->state = ENV_NOMEM; return false; }
    b->v = nv;
    b->cap = ncap;
    return true;
}

/* Add "name=value" (name may itself contain '=' when it comes from package.json keys: the
 * effective variable name then ends at the first '=', exactly as execve sees it). */
static void env_put(struct env_builder *b, const char *name, const char *value)
{
    if (b->state != ENV_OK) return;
    size_t nl = strnlen(name, ENV_MAX_ENTRY), vl = strnlen(value, ENV_MAX_ENTRY);
    size_t size = nl + 1 + vl + 1;
    if (!env_reserve(b, size)) return;
    char *kv = malloc(size);
    if (!kv) { b->state = ENV_NOMEM; return; }
    memcpy(kv, name, nl);
    kv[nl] = '=';
    memcpy(kv + nl + 1, value, vl + 1);
    struct env_entry *e = &b->v[b->n++];
    e->kv = kv;
    e->name_len = strcspn(kv, "=");
    e->rank = b->next_rank++;
    b->bytes += size;
}

/* name + suffix, e.g. npm_package_config + "_" + port; NULL (state set) when too long. */
static char *env_join(struct env_builder *b, const char *a, const char *sep, const char *c)
{
    size_t la = strnlen(a, ENV_MAX_ENTRY), ls = strlen(sep), lc = strnlen(c, ENV_MAX_ENTRY);
    if (la + ls + lc >= ENV_MAX_ENTRY) { if (b->state == ENV_OK) b->state = ENV_TOO_BIG; return NULL; }
    char *s = malloc(la + ls + lc + 1);
    if (!s) { b->state = ENV_NOMEM; return NULL; }
    memcpy(s, a, la);
    memcpy(s + la, sep, ls);
    memcpy(s + la + ls, c, lc + 1);
    return s;
}


static int env_cmp(const void *x, const void *y)
{
    const struct env_entry *a = x, *b = y;
    size_t l = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->kv, b->kv, l);
    if (c) return c;
    if (a->name_len != b->name_len) return a->name_len < b->name_len ? -1 : 1;
    return a->rank > b->rank ? -1 : a->rank < b->rank;   /* winner first */
}

static void env_discard(struct env_builder *b)
{
    for (size_t i = 0; i < b->n; i++) free(b->v[i].kv);
    free(b->v);
    memset(b, 0, sizeof *b);
}

static char **env_finish(struct env_builder *b, struct sb_error *err)
{
    if (b->state == ENV_TOO_BIG) {
        env_discard(b);
        sb_fail(err, SB_EXIT_INPUT, "bad-manifest", E2BIG,
                "package.json: the script's environment would exceed %d entries, %d bytes or %d "
                "bytes in one entry (\"scripts\", \"config\", \"engines\" or \"bin\" too large); "
                "npm could not start the script either",
                ENV_MAX_ENTRIES, ENV_MAX_BYTES, ENV_MAX_ENTRY);
        return NULL;
    }
    char **env = b->state == ENV_OK ? calloc(b->n + 1, sizeof *env) : NULL;
    if (!env) {
        env_discard(b);
        sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory building the script environment");
        return NULL;
    }
    qsort(b->v, b->n, sizeof *b->v, env_cmp);
    size_t out = 0;
    for (size_t i = 0; i < b->n; i++) {
        bool same_as_prev = i > 0 && b->v[i].name_len == b->v[i - 1].name_len &&
                            memcmp(b->v[i].kv, b->v[i - 1].kv, b->v[i].name_len) == 0;
        if (same_as_prev) free(b->v[i].kv);
        else env[out++] = b->v[i].kv;
    }
    free(b->v);
    memset(b, 0, sizeof *b);
    return env;
}

void lifecycle_env_free(char **env)
{
    if (!env) return;
    for (char **e = env; *e; e++) free(*e);
    free(env);
}

/* ---- paths (world paths are absolute; resolved like node's path.resolve) ---------------- */

/* Normalise an absolute path into out: no "//", ".", ".." or trailing '/'; "/" stays "/". */
static int normalize_abs(const char *in, char *out, size_t cap)
{
    if (!in || in[0] != '/' || strnlen(in, cap) >= cap) return -1;
    size_t o = 0;
    for (const char *p = in; *p;) {
        while (*p == '/') p++;
        size_t len = strcspn(p, "/");
        if (len == 0) break;
        if (len == 1 && p[0] == '.') {
            /* nothing */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (o > 0 && out[o - 1] != '/') o--;
            if (o > 0) o--;                  /* drop the separator too */
        } else {
            out[o++] = '/';
            memcpy(out + o, p, len);
            o += len;
        }
        p += len;
    }
    if (o == 0) out[o++] = '/';
    out[o] = 0;
    return 0;
}

/* dirname of a normalised absolute path, in place ("/a/b" -> "/a", "/a" -> "/"). */
static void dirname_in_place(char *path)
{
    char *slash = strrchr(path, '/');
    if (slash == path) path[1] = 0;
    else if (slash) *slash = 0;
}

/* dirname(dirname(p)), e.g. /usr/bin/node -> /usr, /usr/lib/node_modules/npm/bin/npm-cli.js ->
 * /usr/lib/node_modules/npm. */
static int grandparent(const char *p, char *out, size_t cap)
{
    if (normalize_abs(p, out, cap) != 0) return -1;
    dirname_in_place(out);
    dirname_in_place(out);
    return 0;
}

/* name=<dir>/<leaf> as node's path.resolve(dir, leaf) gives it (so "/" + ".npm" is "/.npm"). */
static void put_under(struct env_builder *b, const char *name, const char *dir, const char *leaf)
{
    char norm[WORLD_PATH_MAX];
    if (normalize_abs(dir, norm, sizeof norm) != 0) {     /* checked in resolve_world_dirs */
        if (b->state == ENV_OK) b->state = ENV_TOO_BIG;
        return;
    }
    char *value = env_join(b, strcmp(norm, "/") ? norm : "", "/", leaf);
    if (value) env_put(b, name, value);
    free(value);
}

/* set-path.js: <dir>/node_modules/.bin for the package folder and every parent up to "/",
 * then npm's node-gyp-bin, then the system PATH. */
static void put_path(struct env_builder *b, const struct lifecycle_world *w, const char *pkg_dir)
{
    char dir[WORLD_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", pkg_dir);
    size_t cap = ENV_MAX_ENTRY, len = 0;
    char *path = malloc(cap);
    if (!path) { b->state = ENV_NOMEM; return; }
    path[0] = 0;
    for (;;) {
        const char *base = strcmp(dir, "/") == 0 ? "" : dir;
        int n = snprintf(path + len, cap - len, "%s%s/node_modules/.bin", len ? ":" : "", base);
        if (n < 0 || (size_t)n >= cap - len) { b->state = ENV_TOO_BIG; break; }
        len += (size_t)n;
        if (!*base) break;
        dirname_in_place(dir);
    }
    const char *tail[] = {w->node_gyp_bin, w->system_path};
    for (size_t i = 0; i < 2 && b->state == ENV_OK; i++) {
        if (!tail[i] || !*tail[i]) continue;      /* npm would add an empty entry (= cwd); we don't */
        int n = snprintf(path + len, cap - len, ":%s", tail[i]);
        if (n < 0 || (size_t)n >= cap - len) { b->state = ENV_TOO_BIG; break; }
        len += (size_t)n;
    }
    env_put(b, "PATH", path);
    free(path);
}

/* ---- JavaScript's String(number) -------------------------------------------------------- */

/* ECMAScript Number::toString for finite doubles: shortest round-trip digits, laid out as JS does
 * (plain up to 21 integer digits, "0.000001" down to 1e-6, exponent form otherwise). */
static void js_number(double v, char *out, size_t cap)
{
    if (isnan(v)) { snprintf(out, cap, "NaN"); return; }
    if (isinf(v)) { snprintf(out, cap, v < 0 ? "-Infinity" : "Infinity"); return; }
    if (v == 0) { snprintf(out, cap, "0"); return; }           /* also -0 */
    char sci[64];
    for (int p = 1; p <= 17; p++) {
        snprintf(sci, sizeof sci, "%.*e", p - 1, fabs(v));
        if (strtod(sci, NULL) == fabs(v)) break;
    }
    char digits[32];
    size_t k = 0;
    const char *s = sci;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && k < sizeof digits - 1) digits[k++] = *s;
    while (k > 1 && digits[k - 1] == '0') k--;
    digits[k] = 0;
    int n = atoi(s + 1) + 1;           /* position of the decimal point */
    const char *sign = v < 0 ? "-" : "";
    if ((int)k <= n && n <= 21)
        snprintf(out, cap, "%s%s%.*s", sign, digits, n - (int)k, "000000000000000000000");
    else if (0 < n && n <= 21)
        snprintf(out, cap, "%s%.*s.%s", sign, n, digits, digits + n);
    else if (-6 < n && n <= 0)
        snprintf(out, cap, "%s0.%.*s%s", sign, -n, "000000", digits);
    else
        snprintf(out, cap, "%s%c%s%se%c%d", sign, digits[0], k > 1 ? "." : "", digits + 1,
                 n - 1 >= 0 ? '+' : '-', abs(n - 1));
}

/* ---- npm_package_* from package.json (run-script package-envs.js) ----------------------- */

/* One value under name: null/false -> "", arrays -> name_<i>, objects -> name_<key>. */
static void put_package_value(struct env_builder *b, const char *name, const cJSON *val, unsigned depth)
{
    if (depth > PKG_ENV_MAX_DEPTH || b->state != ENV_OK) return;
    char num[64];
    if (cJSON_IsNull(val) || cJSON_IsFalse(val)) env_put(b, name, "");
    else if (cJSON_IsTrue(val)) env_put(b, name, "true");
    else if (cJSON_IsString(val)) env_put(b, name, val->valuestring);
    else if (cJSON_IsNumber(val)) { js_number(val->valuedouble, num, sizeof num); env_put(b, name, num); }
    else if (cJSON_IsArray(val) || cJSON_IsObject(val)) {
        size_t i = 0;
        for (const cJSON *c = val->child; c && b->state == ENV_OK; c = c->next, i++) {
            char idx[32];
            snprintf(idx, sizeof idx, "%zu", i);
            char *child = env_join(b, name, "_", cJSON_IsArray(val) ? idx : c->string);
            if (child) put_package_value(b, child, c, depth + 1);
            free(child);
        }
    }
}

/* normalize.js secureAndUnixifyPath: '\' and ':' become '/', the path is resolved below a
 * virtual root and made relative; "" when nothing is left. Returns a malloc'd string or NULL. */
static char *secure_unixify(const char *ref)
{
    size_t len = strlen(ref);
    char *in = malloc(len + 2), *out = malloc(len + 2);
    if (!in || !out) { free(in); free(out); return NULL; }
    in[0] = '/';
    for (size_t i = 0; i <= len; i++) in[i + 1] = (ref[i] == '\\' || ref[i] == ':') ? '/' : ref[i];
    normalize_abs(in, out, len + 2);
    bool trailing = len > 0 && in[len] == '/' && strcmp(out, "/") != 0;
    memmove(out, out + 1, strlen(out));                 /* drop the leading '/' */
    if (trailing) strcat(out, "/");
    free(in);
    return out;
}

/* path.basename: the last segment, trailing slashes ignored. Returns a malloc'd string. */
static char *js_basename(const char *p)
{
    size_t end = strlen(p);
    while (end > 0 && p[end - 1] == '/') end--;
    size_t start = end;
    while (start > 0 && p[start - 1] != '/') start--;
    return strndup(p + start, end - start);
}

/* Set key in obj to a string, in place when it exists (JavaScript object semantics). */
static void js_set(cJSON *obj, const char *key, const char *value)
{
    cJSON *item = cJSON_CreateString(value);
    if (!item) return;
    if (cJSON_GetObjectItemCaseSensitive(obj, key)) cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
    else cJSON_AddItemToObject(obj, key, item);
}

/* One entry of the bin loop in normalizePackageBin. */
static void normalize_bin_entry(cJSON *bin, const char *key)
{
    cJSON *item = cJSON_GetObjectItemCaseSensitive(bin, key);
    if (!item) return;                                  /* deleted earlier in the loop */
    char *secured_key = cJSON_IsString(item) ? secure_unixify(key) : NULL;
    char *base = secured_key ? js_basename(secured_key) : NULL;
    char *target = base && *base ? secure_unixify(item->valuestring) : NULL;
    if (!target || !*target) cJSON_DeleteItemFromObjectCaseSensitive(bin, key);
    else {
        if (strcmp(base, key) != 0) cJSON_DeleteItemFromObjectCaseSensitive(bin, key);
        js_set(bin, base, target);
    }
    free(secured_key);
    free(base);
    free(target);
}

/* npm normalises "bin" before arborist hands the package to run-script: a string becomes
 * {name: path}, an array {basename: path}, names are reduced to a safe basename and paths made
 * relative. Returns a new object (caller frees) or NULL when no bin is left. */
static cJSON *normalized_bin(const struct manifest *m)
{
    const cJSON *raw = cJSON_GetObjectItemCaseSensitive(m->json, "bin");
    cJSON *bin = NULL;
    if (cJSON_IsString(raw) && raw->valuestring[0]) {
        bin = cJSON_CreateObject();
        if (bin) cJSON_AddStringToObject(bin, m->name, raw->valuestring);
    } else if (cJSON_IsArray(raw)) {
        bin = cJSON_CreateObject();
        for (const cJSON *c = raw->child; bin && c; c = c->next) {
            if (!cJSON_IsString(c)) continue;           /* npm would throw here */
            char *base = js_basename(c->valuestring);
            if (base) js_set(bin, base, c->valuestring);
            free(base);
        }
    } else if (cJSON_IsObject(raw)) {
        bin = cJSON_Duplicate(raw, 1);
    }
    if (!bin) return NULL;
    size_t n = (size_t)cJSON_GetArraySize(bin), i = 0;
    char **keys = calloc(n ? n : 1, sizeof *keys);     /* the loop visits the keys present at start */
    if (!keys) { cJSON_Delete(bin); return NULL; }
    for (cJSON *c = bin->child; c; c = c->next) keys[i++] = strdup(c->string);
    for (i = 0; i < n; i++) {
        if (keys[i]) normalize_bin_entry(bin, keys[i]);
        free(keys[i]);
    }
    free(keys);
    if (!bin->child) { cJSON_Delete(bin); return NULL; }
    return bin;
}

/* packageEnvs({name, version, config, engines, bin}, "npm_package_"). */
static void put_package_envs(struct env_builder *b, const struct manifest *m)
{
    env_put(b, "npm_package_name", m->name);
    env_put(b, "npm_package_version", m->version);
    static const char *const fields[] = {"config", "engines"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(m->json, fields[i]);
        char *name = v ? env_join(b, "npm_package", "_", fields[i]) : NULL;
        if (name) put_package_value(b, name, v, 1);
        free(name);
    }
    cJSON *bin = normalized_bin(m);
    if (bin) put_package_value(b, "npm_package_bin", bin, 1);
    cJSON_Delete(bin);
}

/* ---- the rest of npm's environment ------------------------------------------------------ */

/* What npm's config (set-envs.js) and npm.js put in process.env before any script runs, for a
 * plain `npm install` with no npmrc: only settings that differ from npm's defaults, plus the
 * always-set ones. */
static void put_npm_process_env(struct env_builder *b, const struct lifecycle_world *w,
                                const char *prefix, const char *npm_root)
{
    const char *npm_version = w->npm_version ? w->npm_version : "unknown";
    char agent[256];
    snprintf(agent, sizeof agent, "npm/%s node/%s linux %s workspaces/false", npm_version,
             w->node_version ? w->node_version : "unknown", NPM_ARCH);
    env_put(b, "COLOR", "0");                /* npm's own stdout is not a terminal */
    env_put(b, "EDITOR", "vi");              /* npm's default without EDITOR/VISUAL */
    env_put(b, "HOME", w->home);
    env_put(b, "INIT_CWD", w->project_dir);
    env_put(b, "NODE", w->node_path);
    env_put(b, "npm_node_execpath", w->node_path);
    env_put(b, "npm_command", "install");
    env_put(b, "npm_config_allow_scripts", "");
    put_under(b, "npm_config_cache", w->home, ".npm");
    env_put(b, "npm_config_global_prefix", prefix);
    put_under(b, "npm_config_globalconfig", prefix, "etc/npmrc");
    put_under(b, "npm_config_init_module", w->home, ".npm-init.js");
    env_put(b, "npm_config_local_prefix", w->project_dir);
    if (w->nodedir) env_put(b, "npm_config_nodedir", w->nodedir);   /* node-gyp: no header download */
    env_put(b, "npm_config_noproxy", "");
    env_put(b, "npm_config_npm_version", npm_version);
    env_put(b, "npm_config_prefix", prefix);
    env_put(b, "npm_config_user_agent", agent);
    put_under(b, "npm_config_userconfig", w->home, ".npmrc");
    if (npm_root) {
        env_put(b, "npm_execpath", w->npm_cli_path);
        put_under(b, "npm_config_node_gyp", npm_root, "node_modules/node-gyp/bin/node-gyp.js");
    }
}

/* rebuild.js: facts about the node being installed (a plain, non-optional, non-dev dependency). */
static void put_install_facts(struct env_builder *b, const struct lifecycle_world *w)
{
    if (w->resolved) env_put(b, "npm_package_resolved", w->resolved);
    if (w->integrity) env_put(b, "npm_package_integrity", w->integrity);
    env_put(b, "npm_package_optional", "");
    env_put(b, "npm_package_dev", "");
    env_put(b, "npm_package_peer", "");
    env_put(b, "npm_package_dev_optional", "");
}

/* make-spawn-args.js: the per-script keys, set last. */
static void put_script_env(struct env_builder *b, const struct lifecycle_step *step, const char *pkg_dir)
{
    put_under(b, "npm_package_json", pkg_dir, "package.json");
    env_put(b, "npm_lifecycle_event", step->event);
    env_put(b, "npm_lifecycle_script", step->script);
}

/* The caller's NAME=value entries: the lowest layer, as process.env is for npm. */
static int put_extra(struct env_builder *b, const char *const *extra, struct sb_error *err)
{
    for (size_t i = 0; extra && extra[i]; i++) {
        const char *eq = strchr(extra[i], '=');
        if (!eq || eq == extra[i])
            return sb_fail(err, SB_EXIT_INPUT, "bad-env", 0,
                           "extra environment entry %zu is not NAME=value", i + 1);
        char name[256];
        size_t nl = (size_t)(eq - extra[i]);
        if (nl >= sizeof name)
            return sb_fail(err, SB_EXIT_INPUT, "bad-env", 0, "extra environment entry %zu: name too long", i + 1);
        memcpy(name, extra[i], nl);
        name[nl] = 0;
        env_put(b, name, eq + 1);
    }
    return 0;
}

static int check_world(const struct lifecycle_world *w, const struct manifest *m,
                       const struct lifecycle_step *step, struct sb_error *err)
{
    const char *missing = !w ? "world" : !m || !m->json || !m->name || !m->version ? "manifest"
                        : !step || !step->event || !step->script ? "step"
                        : !w->project_dir ? "project_dir" : !w->package_dir ? "package_dir"
                        : !w->home ? "home" : !w->node_path ? "node_path" : NULL;
    if (missing) return sb_fail(err, SB_EXIT_SANDBOX, "internal", EINVAL, "lifecycle_env: no %s", missing);
    return 0;
}

/* The folders the environment is made of, normalised; all world paths must be absolute. */
struct world_dirs {
    char pkg[WORLD_PATH_MAX];       /* package_dir */
    char prefix[WORLD_PATH_MAX];    /* npm's global prefix */
    char npm_root[WORLD_PATH_MAX];  /* npm's package folder; "" without npm */
};

static int resolve_world_dirs(const struct lifecycle_world *w, struct world_dirs *d, struct sb_error *err)
{
    char scratch[WORLD_PATH_MAX];
    d->npm_root[0] = 0;
    bool bad = normalize_abs(w->package_dir, d->pkg, sizeof d->pkg) != 0 ||
               normalize_abs(w->project_dir, scratch, sizeof scratch) != 0 ||
               normalize_abs(w->home, scratch, sizeof scratch) != 0 ||
               (w->global_prefix ? normalize_abs(w->global_prefix, d->prefix, sizeof d->prefix)
                                 : grandparent(w->node_path, d->prefix, sizeof d->prefix)) != 0 ||
               (w->npm_cli_path && grandparent(w->npm_cli_path, d->npm_root, sizeof d->npm_root) != 0);
    if (bad)
        return sb_fail(err, SB_EXIT_SANDBOX, "internal", EINVAL,
                       "lifecycle_env: world paths must be absolute and shorter than %d bytes", WORLD_PATH_MAX);
    return 0;
}

char **lifecycle_env(const struct manifest *m, const struct lifecycle_step *step,
                     const struct lifecycle_world *w, struct sb_error *err)
{
    struct world_dirs d;
    if (check_world(w, m, step, err) != 0 || resolve_world_dirs(w, &d, err) != 0) return NULL;
    struct env_builder b = {0};
    if (put_extra(&b, w->extra, err) != 0) { env_discard(&b); return NULL; }
    put_npm_process_env(&b, w, d.prefix, d.npm_root[0] ? d.npm_root : NULL);
    put_install_facts(&b, w);
    put_package_envs(&b, m);
    put_script_env(&b, step, d.pkg);
    put_path(&b, w, d.pkg);
    return env_finish(&b, err);
}
