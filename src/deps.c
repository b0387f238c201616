/*
 * deps.c — the dependency phase (contract: deps.h).
 *
 * Inside the sandbox, in order:
 *   1. sh writes /tmp/.scriptbox-deps/npmrc (mode 0600, folder 0700): registry lines, and
 *      `//nerf/:_authToken=${SCRIPTBOX_DEPS_TOKEN_n}` when a token is configured (no secret on disk);
 *   2. forward mode on for the registry endpoints (sbx_fakenet_forward);
 *   3. node npm-cli.js install --ignore-scripts --omit=dev --no-save --no-package-lock ... in the
 *      project, with --userconfig/--globalconfig/--cache in that folder (so the honeypot's ~/.npmrc
 *      and its fake token are not used, and npm's cache is not left in HOME);
 *   4. forward mode off, then rm -rf /tmp/.scriptbox-deps.
 * npm keeps the package itself: the project's package.json depends on it (^version) and
 * node_modules/<name> already holds that version, so npm takes it as installed (it is never
 * moved or pruned: it is a mount point) and hoists the package's own dependencies beside it.
 */
#include <stdbool.h>
#include <unistd.h>
#include <sys/stat.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "deps.h"
#include "npmconfig.h"

#define DEPS_DIR "/tmp/.scriptbox-deps"

enum { DEPS_MAX_REG = 4 };   /* forward targets (libsbx allows 4) */

struct reg_target {
    char url[1024];             /* ends with '/' */
    char scope[220];            /* "@scope" or "" (the default registry) */
    char host[256];             /* as in the URL (brackets stripped) */
    unsigned port;
    char addr[64];              /* numeric, to connect to from the host */
    char auth[4200];            /* "Bearer ..." / "Basic ...", or "" */
};

static uint64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool has_entries(const cJSON *m, const char *key)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(m, key);
    return cJSON_IsObject(o) && o->child;
}

/* "scheme://[user@]host[:port]/..." → host, port. */
static int split_url(struct reg_target *t)
{
    const char *p = strstr(t->url, "://");
    if (!p) return -1;
    bool tls = !strncmp(t->url, "https://", 8);
    p += 3;
    size_t n = strcspn(p, "/?#");
    char hostport[300];
    if (!n || n >= sizeof hostport) return -1;
    memcpy(hostport, p, n);
    hostport[n] = 0;
    char *h = strrchr(hostport, '@');
    h = h ? h + 1 : hostport;
    char *port = NULL;
    if (*h == '[') {
        char *close = strchr(h, ']');
        if (!close) return -1;
        *close = 0;
        h++;
        if (close[1] == ':') port = close + 2;
    } else if ((port = strchr(h, ':'))) {
        *port++ = 0;
    }
    if (!*h || strlen(h) >= sizeof t->host) return -1;
    /* inside, "localhost" is the sandbox's own loopback (/etc/hosts), never our DNS */
    snprintf(t->host, sizeof t->host, "%.255s", !strcasecmp(h, "localhost") ? "127.0.0.1" : h);
    t->port = port && *port ? (unsigned)strtoul(port, NULL, 10) : tls ? 443 : 80;
    return t->port > 0 && t->port < 65536 ? 0 : -1;
}

/* The host's numeric address for t->host (getaddrinfo, before the phase). */
static int resolve(struct reg_target *t, struct sb_error *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG}, *ai = NULL;
    int rc = getaddrinfo(t->host, NULL, &hints, &ai);
    if (rc != 0 || !ai)
        return sb_fail(err, SB_EXIT_INPUT, "registry-dns", 0, "cannot resolve the registry host %s: %s",
                       t->host, gai_strerror(rc));
    rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, t->addr, sizeof t->addr, NULL, 0, NI_NUMERICHOST);
    freeaddrinfo(ai);
    if (rc != 0) return sb_fail(err, SB_EXIT_INPUT, "registry-dns", 0, "cannot resolve %s", t->host);
    return 0;
}

/* The default registry, then every scope registry the configuration names (first the package's
 * own scope), each once: at most DEPS_MAX_REG. A scope registry whose host does not resolve is
 * left out (its packages then fail, reported); the default one must resolve. */
static int find_registries(const struct deps_opts *o, struct reg_target *t, size_t *n, struct sb_error *err)
{
    struct npmconfig c;
    memset(&c, 0, sizeof c);
    struct npmconfig_opts co = {.cli_registry = o->reg->registry, .npm_bin = o->reg->npm_bin};
    if (npmconfig_load(&c, &co, err) < 0) return -1;
    char names[1 + DEPS_MAX_REG][240];
    size_t nn = 0;
    snprintf(names[nn++], sizeof names[0], "scriptbox-probe");
    if (o->m->name[0] == '@') snprintf(names[nn++], sizeof names[0], "%.230s", o->m->name);
    for (size_t i = 0; i < c.n && nn < 1 + DEPS_MAX_REG; i++) {
        const char *k = c.e[i].key;
        size_t kl = strlen(k);
        if (k[0] != '@' || kl < 11 || kl > 220 || strcmp(k + kl - 9, ":registry")) continue;
        char name[240];
        snprintf(name, sizeof name, "%.*s/x", (int)(kl - 9), k);
        bool dup = false;
        for (size_t j = 1; j < nn && !dup; j++) dup = !strncmp(names[j], name, kl - 9 + 1);
        if (!dup) snprintf(names[nn++], sizeof names[0], "%s", name);
    }
    int rc = 0;
    *n = 0;
    for (size_t i = 0; i < nn && *n < DEPS_MAX_REG && rc == 0; i++) {
        struct reg_target *x = &t[*n];
        memset(x, 0, sizeof *x);
        struct sb_error e = {0};
        if (npmconfig_registry_for(&c, &co, names[i], x->url, sizeof x->url, NULL, i ? &e : err) < 0) {
            if (i == 0) rc = -1;
            continue;
        }
        if (i > 0) {
            if (!strcmp(x->url, t[0].url)) continue;   /* the scope uses the default registry */
            snprintf(x->scope, sizeof x->scope, "%.*s", (int)strcspn(names[i], "/"), names[i]);
        }
        if (split_url(x) < 0) {
            if (i == 0) rc = sb_fail(err, SB_EXIT_INPUT, "registry-config", 0, "cannot read the registry URL");
            continue;
        }
        char buf[4200];
        const char *a = npmconfig_auth_for(&c, x->url, buf, sizeof buf);
        if (a) snprintf(x->auth, sizeof x->auth, "%s", a);
        explicit_bzero(buf, sizeof buf);
        if (resolve(x, i ? &e : err) < 0) {
            if (i == 0) rc = -1;
            continue;
        }
        (*n)++;
    }
    npmconfig_free(&c);
    return rc;
}

static void set_reason(struct deps_phase *d, const char *status, const char *why)
{
    d->status = status;
    size_t n = strlen(why);
    if (n >= sizeof d->reason) n = sizeof d->reason - 1;
    memcpy(d->reason, why, n);
    d->reason[n] = 0;
}

/* The userconfig npm gets; tokens by reference to its environment. */
static char *npmrc_text(const struct reg_target *t, size_t n, enum deps_ca ca)
{
    size_t cap = 16384;
    char *s = malloc(cap);
    if (!s) return NULL;
    size_t o = 0;
    if (ca == DEPS_CA_CAFILE) o += (size_t)snprintf(s, cap, "cafile=" DEPS_CA_PATH "\n");
    for (size_t i = 0; i < n; i++) {
        char nerf[2048];
        if (t[i].scope[0]) o += (size_t)snprintf(s + o, cap - o, "%s:registry=%s\n", t[i].scope, t[i].url);
        else o += (size_t)snprintf(s + o, cap - o, "registry=%s\n", t[i].url);
        if (o >= cap) break;
        if (t[i].auth[0] && npmconfig_nerf_dart(t[i].url, nerf, sizeof nerf) == 0)
            o += (size_t)snprintf(s + o, cap - o, "%s:%s=${SCRIPTBOX_DEPS_TOKEN_%zu}\n", nerf,
                                  !strncmp(t[i].auth, "Bearer ", 7) ? "_authToken" : "_auth", i);
        if (o >= cap) break;
    }
    if (o >= cap) {
        free(s);
        return NULL;
    }
    return s;
}

static int exec_in(struct sbx *sb, const char *const *argv, const char *const *envp, unsigned timeout_ms,
                   struct sbx_status *st, struct sb_error *err)
{
    struct sbx_command cmd = {.argv = argv, .envp = envp, .cwd = WORLD_PROJECT, .timeout_ms = timeout_ms};
    sbx_error se = {0};
    memset(st, 0, sizeof *st);
    if (sbx_exec(sb, &cmd, st, &se) < 0) return sb_from_sbx(err, &se);
    return 0;
}

/* "added 3 packages", and "npm error ..." lines. */
static void read_output(struct deps_phase *d, const struct sbx_status *st)
{
    const char *outs[2] = {st->out.data, st->err.data};
    for (int k = 0; k < 2; k++) {
        const char *s = outs[k];
        for (const char *line = s; line && *line;) {
            const char *end = strchr(line, '\n');
            size_t len = end ? (size_t)(end - line) : strlen(line);
            unsigned v;
            if (sscanf(line, "added %u package", &v) == 1) d->installed = v;
            if (!strncmp(line, "npm error ", 10) && d->nerrors < DEPS_MAX_ERRORS) {
                size_t l = len - 10 < sizeof d->errors[0] - 1 ? len - 10 : sizeof d->errors[0] - 1;
                memcpy(d->errors[d->nerrors], line + 10, l);
                d->errors[d->nerrors++][l] = 0;
            }
            line = end ? end + 1 : NULL;
        }
    }
}

/* The most telling of npm's error lines (not "code ...", "errno ...", the log file hints). */
static const char *failure_line(const struct deps_phase *d)
{
    static const char *const skip[] = {"code ", "errno ", "syscall ", "A complete log", "Log files", "path "};
    for (unsigned i = 0; i < d->nerrors; i++) {
        bool boring = !d->errors[i][0];
        for (size_t k = 0; k < sizeof skip / sizeof *skip && !boring; k++)
            boring = !strncmp(d->errors[i], skip[k], strlen(skip[k]));
        if (!boring) return d->errors[i];
    }
    return d->nerrors ? d->errors[0] : "npm install failed";
}

static int list_pkgs(struct deps_phase *d, struct sbx *sb, const struct deps_opts *o, const char *path_env,
                     struct sb_error *err);
static int rebuild(struct deps_phase *d, struct sbx *sb, const struct deps_opts *o, const char *path_env,
                   struct sb_error *err);

/* ---- the package's own bin links ----------------------------------------------------------- */

/* A bin name or path npm would accept and that is safe to pass on: no '/' in a name, no "..",
 * no absolute path, plain characters only (the package wrote them). */
static bool plain_bin_text(const char *s, bool is_path)
{
    if (!s || !*s || strlen(s) > 200 || s[0] == '/' || s[0] == '-') return false;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("._-@+", *c) ||
              (is_path && *c == '/')))
            return false;
    return !strstr(s, "..");
}

/* npm-normalize-package-bin's view: the link is the name's last path component, the target the
 * path joined to "/" (so ".." cannot climb out of the package) without its leading "/". */
static bool normalize_bin(const char *name, const char *target, char *nout, size_t ncap, char *tout, size_t tcap)
{
    const char *base = strrchr(name, '/');
    snprintf(nout, ncap, "%s", base ? base + 1 : name);
    size_t o = 0;
    tout[0] = 0;
    for (const char *p = target; *p;) {
        size_t l = strcspn(p, "/");
        if (l == 2 && !strncmp(p, "..", 2)) {   /* pop a component */
            while (o > 0 && tout[o - 1] != '/') o--;
            if (o > 0) o--;
            tout[o] = 0;
        } else if (l && !(l == 1 && *p == '.')) {
            if (o + l + 2 > tcap) return false;
            if (o) tout[o++] = '/';
            memcpy(tout + o, p, l);
            tout[o += l] = 0;
        }
        p += l + (p[l] == '/');
    }
    return strcmp(nout, ".") && strcmp(nout, "..") && plain_bin_text(nout, false) && plain_bin_text(tout, true);
}

static void link_one_bin(struct sbx *sb, const struct deps_opts *o, const char *path_env, const char *name,
                         const char *target)
{
    char link[256], path[PATH_MAX / 2];
    if (!normalize_bin(name, target, link, sizeof link, path, sizeof path)) return;
    char to[PATH_MAX], at[PATH_MAX];
    snprintf(to, sizeof to, "../%s/%s", o->m->name, path);
    snprintf(at, sizeof at, WORLD_PROJECT "/node_modules/.bin/%s", link);
    const char *argv[] = {"/bin/ln", "-sfn", to, at, NULL};
    const char *env[] = {path_env, NULL};
    struct sbx_status st;
    struct sb_error ignored = {0};
    if (exec_in(sb, argv, env, 5000, &st, &ignored) == 0) sbx_status_free(&st);
}

/* npm keeps a folder it already has only when the package's bin links exist too (otherwise it
 * "changes" the package: renames its folder, here a mount point, and fails with EBUSY). An
 * installed package has them, so make them as npm would have. At most 16. */
static void link_package_bins(struct sbx *sb, const struct deps_opts *o, const char *path_env)
{
    const cJSON *bin = cJSON_GetObjectItemCaseSensitive(o->m->json, "bin");
    if (!bin || !o->m->name) return;
    const char *env[] = {path_env, NULL};
    const char *mk[] = {"/bin/mkdir", "-p", WORLD_PROJECT "/node_modules/.bin", NULL};
    struct sbx_status st;
    struct sb_error ignored = {0};
    if (exec_in(sb, mk, env, 5000, &st, &ignored) < 0) return;
    sbx_status_free(&st);
    if (cJSON_IsString(bin)) {   /* "bin": "cli.js" is named after the package (its scope dropped) */
        const char *slash = strchr(o->m->name, '/');
        link_one_bin(sb, o, path_env, slash ? slash + 1 : o->m->name, bin->valuestring);
        return;
    }
    int n = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, bin) {
        if (n++ == 16) break;
        if (cJSON_IsString(b)) link_one_bin(sb, o, path_env, b->string, b->valuestring);
    }
}

static int run_npm(struct deps_phase *d, struct sbx *sb, const struct deps_opts *o, const struct reg_target *t,
                   size_t n, struct sb_error *err)
{
    char *rc_text = npmrc_text(t, n, o->ca);
    if (!rc_text) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory for the npmrc");
    char path_env[PATH_MAX * 2 + 8], rc_env[16400];
    snprintf(path_env, sizeof path_env, "PATH=%s", o->system_path);
    snprintf(rc_env, sizeof rc_env, "NPMRC=%s", rc_text);
    free(rc_text);
    const char *wargv[] = {"/bin/sh", "-c",
                           "umask 077 && mkdir -p " DEPS_DIR " && printf '%s' \"$NPMRC\" > " DEPS_DIR "/npmrc && "
                           ": > " DEPS_DIR "/globalnpmrc", NULL};
    const char *wenv[] = {path_env, rc_env, NULL};
    struct sbx_status st;
    if (exec_in(sb, wargv, wenv, 10000, &st, err) < 0) return -1;
    bool ok = st.exited && st.exit_code == 0;
    sbx_status_free(&st);
    if (!ok) {
        set_reason(d, "failed", "could not write npm's configuration inside the sandbox");
        return 0;
    }
    link_package_bins(sb, o, path_env);
    struct sbx_forward fw[DEPS_MAX_REG];
    for (size_t i = 0; i < n; i++) fw[i] = (struct sbx_forward){t[i].host, t[i].port, t[i].addr, t[i].port};
    sbx_error se = {0};
    if (sbx_fakenet_forward(sb, fw, n, 0, &se) < 0) return sb_from_sbx(err, &se);
    char home_env[] = "HOME=" WORLD_HOME;
    char tok_env[DEPS_MAX_REG][4300];
    const char *env[7 + DEPS_MAX_REG] = {path_env, home_env, "LANG=C.UTF-8", "NO_UPDATE_NOTIFIER=1", "NO_COLOR=1"};
    size_t ne = 5;
    if (o->ca == DEPS_CA_EXTRA) env[ne++] = "NODE_EXTRA_CA_CERTS=" DEPS_CA_PATH;
    for (size_t i = 0; i < n; i++) {
        if (!t[i].auth[0]) continue;
        snprintf(tok_env[i], sizeof tok_env[i], "SCRIPTBOX_DEPS_TOKEN_%zu=%s", i, strchr(t[i].auth, ' ') + 1);
        env[ne++] = tok_env[i];
    }
    env[ne] = NULL;
    const char *argv[] = {o->node->node_path, o->node->npm_cli, "install", "--ignore-scripts", "--omit=dev",
                          "--no-audit", "--no-fund", "--no-save", "--no-package-lock", "--no-update-notifier",
                          "--userconfig=" DEPS_DIR "/npmrc", "--globalconfig=" DEPS_DIR "/globalnpmrc",
                          "--cache=" DEPS_DIR "/cache", "--loglevel=warn", "--fetch-retries=1",
                          "--fetch-retry-mintimeout=1000", "--fetch-retry-maxtimeout=3000", "--color=false",
                          "--git=/bin/false", NULL};   /* no git: nothing fetched can run code */
    uint64_t t0 = ms_now();
    int rc = exec_in(sb, argv, env, o->timeout_ms, &st, err);
    for (size_t i = 0; i < n; i++) explicit_bzero(tok_env[i], sizeof tok_env[i]);
    d->duration_ms = ms_now() - t0;
    sbx_error off = {0};
    int offrc = sbx_fakenet_forward(sb, NULL, 0, 0, &off);   /* its last forward events count */
    d->active = false;   /* what the cleanup does is ours, not npm's */
    if (rc < 0 || offrc < 0) {
        sbx_status_free(&st);
        return rc < 0 ? -1 : sb_from_sbx(err, &off);
    }
    read_output(d, &st);
    d->exit_code = st.exited ? st.exit_code : -1;
    if (st.timed_out) set_reason(d, "timeout", "npm did not finish within the run's timeout");
    else if (!st.exited || st.exit_code != 0) set_reason(d, "failed", failure_line(d));
    else d->status = "ok";
    sbx_status_free(&st);
    if (o->scripts && !strcmp(d->status, "ok") && list_pkgs(d, sb, o, path_env, err) < 0) return -1;
    const char *rargv[] = {"/bin/rm", "-rf", DEPS_DIR, NULL};
    const char *renv[] = {path_env, NULL};
    if (exec_in(sb, rargv, renv, 10000, &st, err) < 0) return -1;
    ok = st.exited && st.exit_code == 0;
    sbx_status_free(&st);
    if (!ok) return sb_fail(err, SB_EXIT_SANDBOX, "deps-cleanup", 0, "could not remove npm's configuration from the sandbox");
    if (o->scripts && !strcmp(d->status, "ok")) return rebuild(d, sb, o, path_env, err);
    return 0;
}

/* Names of the installed dependencies, from `npm ls --all --parseable` (paths, one a line). */
static void read_pkgs(struct deps_phase *d, const char *out, const char *self)
{
    static const char root[] = WORLD_PROJECT "/node_modules/";
    for (const char *line = out; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char path[PATH_MAX];
        if (len < sizeof path && len > sizeof root - 1 && !strncmp(line, root, sizeof root - 1)) {
            memcpy(path, line, len);
            path[len] = 0;
            const char *p = path + sizeof root - 1, *q;
            while ((q = strstr(p, "/node_modules/"))) p = q + 14;
            bool dup = !strcmp(p, self) || strlen(p) >= sizeof d->pkgs[0];
            for (unsigned i = 0; i < d->npkgs && !dup; i++) dup = !strcmp(d->pkgs[i], p);
            if (!dup && d->npkgs < DEPS_MAX_PKGS) {
                snprintf(d->pkgs[d->npkgs], sizeof d->pkgs[0], "%.219s", p);
                snprintf(d->phases[d->npkgs], sizeof d->phases[0], "deps:%.219s", p);
                d->npkgs++;
            }
        }
        line = end ? end + 1 : NULL;
    }
}

static int list_pkgs(struct deps_phase *d, struct sbx *sb, const struct deps_opts *o, const char *path_env,
                     struct sb_error *err)
{
    const char *argv[] = {o->node->node_path, o->node->npm_cli, "ls", "--all", "--parseable", "--omit=dev",
                          "--userconfig=" DEPS_DIR "/npmrc", "--globalconfig=" DEPS_DIR "/globalnpmrc",
                          "--cache=" DEPS_DIR "/cache", "--no-update-notifier", "--color=false", NULL};
    const char *env[] = {path_env, "HOME=" WORLD_HOME, "NO_UPDATE_NOTIFIER=1", NULL};
    struct sbx_status st;
    if (exec_in(sb, argv, env, 60000, &st, err) < 0) return -1;
    read_pkgs(d, st.out.data ? st.out.data : "", o->m->name);
    sbx_status_free(&st);
    return 0;
}

/* --deps-scripts: npm rebuild of the dependencies, scripts on, as npm install would run them. */
static int rebuild(struct deps_phase *d, struct sbx *sb, const struct deps_opts *o, const char *path_env,
                   struct sb_error *err)
{
    if (!d->npkgs) {
        d->scripts_status = "ok";
        return 0;
    }
    const char *argv[DEPS_MAX_PKGS + 16] = {o->node->node_path, o->node->npm_cli, "rebuild", "--ignore-scripts=false",
                                            "--no-audit", "--no-fund", "--no-update-notifier", "--color=false"};
    size_t n = 8;
    for (unsigned i = 0; i < d->npkgs; i++) argv[n++] = d->pkgs[i];
    argv[n] = NULL;
    size_t nextra = 0;
    while (o->extra_env && o->extra_env[nextra]) nextra++;
    const char **env = calloc(nextra + 4, sizeof *env);
    if (!env) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory");
    size_t ne = 0;
    env[ne++] = path_env;
    env[ne++] = "HOME=" WORLD_HOME;
    for (size_t i = 0; i < nextra; i++)   /* ours first: an extra PATH/HOME does not override them */
        if (strncmp(o->extra_env[i], "PATH=", 5) && strncmp(o->extra_env[i], "HOME=", 5)) env[ne++] = o->extra_env[i];
    env[ne] = NULL;
    struct sbx_status st;
    uint64_t t0 = ms_now();
    d->rebuilding = d->active = true;
    unsigned left = o->timeout_ms > d->duration_ms ? (unsigned)(o->timeout_ms - d->duration_ms) : 1;
    int rc = exec_in(sb, argv, env, left, &st, err);
    d->rebuilding = d->active = false;
    free(env);
    d->scripts_ms = ms_now() - t0;
    if (rc < 0) return -1;
    d->scripts_exit_code = st.exited ? st.exit_code : -1;
    d->scripts_status = st.timed_out ? "timeout" : st.exited && st.exit_code == 0 ? "ok" : "failed";
    sbx_status_free(&st);
    return 0;
}

int deps_run(struct deps_phase *d, struct sbx *sb, const struct deps_opts *o, struct sb_error *err)
{
    memset(d, 0, sizeof *d);
    d->exit_code = -1;
    /* npm installs peer dependencies too (npm 7+), so a package with only peers has a phase */
    d->wanted = has_entries(o->m->json, "dependencies") || has_entries(o->m->json, "optionalDependencies") ||
                has_entries(o->m->json, "peerDependencies");
    if (!d->wanted) return 0;
    if (o->no_deps) {
        set_reason(d, "skipped", "--no-deps");
        return 0;
    }
    if (!o->node->npm_cli[0]) {
        set_reason(d, "skipped", "npm is not installed beside node on this host");
        return 0;
    }
    if (o->timeout_ms == 0) {
        set_reason(d, "skipped", "run timeout reached");
        return 0;
    }
    if (o->reg->offline) {
        set_reason(d, "skipped", "--offline: the dependency phase needs the registry");
        return 0;
    }
    struct reg_target t[DEPS_MAX_REG];
    size_t n = 0;
    struct sb_error cfg = {0};
    if (find_registries(o, t, &n, &cfg) < 0 || n == 0) {
        set_reason(d, "failed", cfg.msg[0] ? cfg.msg : "no registry configured");
        return 0;
    }
    registry_redact_url(t[0].url, d->registry, sizeof d->registry);
    d->active = true;
    int rc = run_npm(d, sb, o, t, n, err);
    d->active = false;
    for (size_t i = 0; i < n; i++) explicit_bzero(t[i].auth, sizeof t[i].auth);
    if (rc == 0 && !d->status) d->status = "failed";
    return rc;
}

static void add_blocked(struct deps_phase *d, const char *text)
{
    for (unsigned i = 0; i < d->nblocked; i++)
        if (!strcmp(d->blocked[i], text)) return;
    if (d->nblocked < DEPS_MAX_BLOCKED) snprintf(d->blocked[d->nblocked++], sizeof d->blocked[0], "%s", text);
}

static int pid_pkg(const struct deps_phase *d, int pid)
{
    for (unsigned i = 0; pid > 0 && i < d->npids; i++)
        if (d->pids[i].pid == pid) return d->pids[i].pkg;
    return -1;
}

static void map_pid(struct deps_phase *d, int pid, int pkg)
{
    for (unsigned i = 0; i < d->npids; i++)
        if (d->pids[i].pid == pid) {
            d->pids[i].pkg = pkg;
            return;
        }
    if (d->npids < DEPS_MAX_PIDS) {
        d->pids[d->npids].pid = pid;
        d->pids[d->npids++].pkg = pkg;
    }
}

/* The dependency whose folder cwd is in (the last node_modules/<name> of it), or -1. */
static int pkg_of_cwd(const struct deps_phase *d, const char *cwd)
{
    static const char root[] = WORLD_PROJECT "/node_modules/";
    if (!cwd || strncmp(cwd, root, sizeof root - 1)) return -1;
    const char *p = cwd + sizeof root - 1, *q;
    while ((q = strstr(p, "/node_modules/"))) p = q + 14;
    size_t n = strcspn(p, "/");
    if (*p == '@' && p[n] == '/') n += 1 + strcspn(p + n + 1, "/");
    for (unsigned i = 0; i < d->npkgs; i++)
        if (strlen(d->pkgs[i]) == n && !strncmp(d->pkgs[i], p, n)) return (int)i;
    return -1;
}

/* --deps-scripts: which dependency's script an event belongs to. A process is the script's when
 * it exec'd in the dependency's folder (npm runs `sh -c <script>` there), or its parent was. */
static const char *attribute(struct deps_phase *d, const struct sbx_event *ev)
{
    int k = pid_pkg(d, ev->pid);
    if (ev->kind == SBX_EV_EXEC) {
        int c = pkg_of_cwd(d, ev->cwd);
        if (c >= 0 && k < 0 && pid_pkg(d, ev->ppid) < 0) k = c;   /* npm spawned it there */
    }
    if (k < 0) k = pid_pkg(d, ev->ppid);
    if (k < 0) return NULL;
    map_pid(d, ev->pid, k);
    return d->phases[k];
}

const char *deps_on_event(struct deps_phase *d, const struct sbx_event *ev)
{
    if (d->rebuilding) return attribute(d, ev);
    if (ev->kind != SBX_EV_PAYLOAD) return NULL;
    const struct sbx_payload_event *p = &ev->payload;
    if (p->proto && !strcmp(p->proto, "forward")) {
        d->forwarded++;
        d->sent += p->total;
        d->received += p->received;
        return NULL;
    }
    if (p->proto && !strcmp(p->proto, "dns")) return NULL;
    char text[300];
    const char *host = p->dns_name ? p->dns_name : ev->addr.addr;
    bool v6 = !p->dns_name && strchr(host, ':');
    snprintf(text, sizeof text, v6 ? "[%s]:%u" : "%s:%u", host, ev->addr.port);
    add_blocked(d, text);
    return NULL;
}

cJSON *deps_json(const struct deps_phase *d)
{
    if (!d->wanted) return NULL;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", "deps");
    cJSON_AddStringToObject(j, "kind", "deps");
    cJSON_AddStringToObject(j, "status", d->status ? d->status : "skipped");
    if (d->reason[0]) cJSON_AddStringToObject(j, "reason", d->reason);
    if (d->status && !strcmp(d->status, "skipped")) return j;
    if (d->registry[0]) cJSON_AddStringToObject(j, "registry", d->registry);
    if (d->exit_code >= 0) cJSON_AddNumberToObject(j, "exit_code", d->exit_code);
    cJSON_AddNumberToObject(j, "duration_ms", (double)d->duration_ms);
    cJSON_AddNumberToObject(j, "installed", d->installed);
    cJSON *f = cJSON_AddObjectToObject(j, "forwarded");
    cJSON_AddNumberToObject(f, "connections", d->forwarded);
    cJSON_AddNumberToObject(f, "bytes_sent", (double)d->sent);
    cJSON_AddNumberToObject(f, "bytes_received", (double)d->received);
    cJSON *b = cJSON_AddArrayToObject(j, "blocked");
    for (unsigned i = 0; i < d->nblocked; i++) cJSON_AddItemToArray(b, cJSON_CreateString(d->blocked[i]));
    cJSON *e = cJSON_AddArrayToObject(j, "errors");
    for (unsigned i = 0; i < d->nerrors; i++) cJSON_AddItemToArray(e, cJSON_CreateString(d->errors[i]));
    if (d->scripts_status) {
        cJSON *s = cJSON_AddObjectToObject(j, "scripts");
        cJSON_AddStringToObject(s, "status", d->scripts_status);
        if (d->scripts_exit_code >= 0) cJSON_AddNumberToObject(s, "exit_code", d->scripts_exit_code);
        cJSON_AddNumberToObject(s, "duration_ms", (double)d->scripts_ms);
        cJSON *pk = cJSON_AddArrayToObject(s, "packages");
        for (unsigned i = 0; i < d->npkgs; i++) cJSON_AddItemToArray(pk, cJSON_CreateString(d->pkgs[i]));
    }
    return j;
}

cJSON *deps_coverage(const struct deps_phase *d)
{
    /* skipped (--no-deps, --offline, no npm) is the run asked for, recorded in phases[] */
    if (!d->wanted || !d->status || !strcmp(d->status, "ok") || !strcmp(d->status, "skipped")) return NULL;
    char why[1200];
    int w = snprintf(why, sizeof why, "dependencies were not installed (%s)", d->reason[0] ? d->reason : d->status);
    for (unsigned i = 0; i < d->nblocked && w > 0 && (size_t)w < sizeof why; i++)
        w += snprintf(why + w, sizeof why - (size_t)w, "%s%s", i ? ", " : "; not reached: ", d->blocked[i]);
    if (w > 0 && (size_t)w < sizeof why)
        snprintf(why + w, sizeof why - (size_t)w, "; the scripts ran without them");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "check", "phase:deps");
    cJSON_AddStringToObject(c, "status", "partial");
    cJSON_AddStringToObject(c, "reason", why);
    return c;
}

enum deps_ca deps_host_ca(const struct registry_opts *reg, char *path, size_t cap)
{
    struct npmconfig c;
    struct sb_error ignored = {0};
    struct npmconfig_opts co = {.cli_registry = reg ? reg->registry : NULL, .npm_bin = ""};
    enum deps_ca how = DEPS_CA_NONE;
    const char *file = NULL;
    if (npmconfig_load(&c, &co, &ignored) == 0) {
        file = npmconfig_get(&c, "cafile", NULL);
        if (file && *file) {
            snprintf(path, cap, "%s", file);
            how = DEPS_CA_CAFILE;
        }
        npmconfig_free(&c);
    }
    const char *extra = getenv("NODE_EXTRA_CA_CERTS");
    if (how == DEPS_CA_NONE && extra && *extra) {
        snprintf(path, cap, "%s", extra);
        how = DEPS_CA_EXTRA;
    }
    struct stat st;
    if (how != DEPS_CA_NONE && (path[0] != '/' || stat(path, &st) < 0 || !S_ISREG(st.st_mode) || access(path, R_OK) < 0))
        how = DEPS_CA_NONE;
    return how;
}
