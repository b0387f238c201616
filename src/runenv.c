/* runenv.c — the honeypot, the run's CA and the scripts' extra environment (runenv.h). */
#include "runenv.h"
#include "timewarp.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { NPMRC_MAX_BYTES = 64 * 1024 };

static const char *const ca_env[] = {
    "NODE_EXTRA_CA_CERTS=" SBX_CA_BUNDLE_PATH,
    "SSL_CERT_FILE=" SBX_CA_BUNDLE_PATH,
    "REQUESTS_CA_BUNDLE=" SBX_CA_BUNDLE_PATH,
    TIMEWARP_NODE_OPTIONS,   /* node's long timers fast-forwarded (timewarp.h) */
};

static int build_env(struct runenv *x, struct sb_error *err)
{
    size_t n = 0;
    for (char **e = x->hp.env; e && *e; e++) n++;
    size_t nca = sizeof ca_env / sizeof *ca_env;
    x->env = calloc(n + nca + 1, sizeof *x->env);
    if (!x->env) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory building the environment");
    for (size_t i = 0; i < n; i++) x->env[i] = x->hp.env[i];
    for (size_t i = 0; i < nca; i++) x->env[n + i] = ca_env[i];
    return 0;
}

/* As root the sandbox copies seeds as the uid/gid it maps its root to (SBX_ROOT_MAPPED_UID in
 * sandbox/core.h, docs/ARCHITECTURE.md "Outer user namespace"), not as host root: the
 * honeypot's 0600 files and 0700 folders must be that uid's to be copied with their real modes. */
#define SEED_OWNER_AS_ROOT 2000000000u

static int chown_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return lchown(path, SEED_OWNER_AS_ROOT, SEED_OWNER_AS_ROOT) < 0 ? -1 : 0;
}

static int give_seeds_to_sandbox(const struct runenv_opts *o, struct sb_error *err)
{
    if (geteuid() != 0) return 0;   /* rootless: the caller's files are the sandbox root's */
    for (size_t i = 0; i < 2; i++) {
        const char *dir = i ? o->project_seed : o->home_seed;
        if (dir && nftw(dir, chown_one, 16, FTW_PHYS) != 0)
            return sb_fail(err, SB_EXIT_SANDBOX, "workdir", errno, "cannot hand the seed %s to the sandbox's uid: %s", dir,
                           strerror(errno));
    }
    return 0;
}

int runenv_build(struct runenv *x, const struct runenv_opts *o, struct sb_error *err)
{
    memset(x, 0, sizeof *x);
    struct honeypot_opts ho = {.registry_host = o->registry_host, .rules_dir = o->rules_dir, .user = o->user,
                               .home = o->home, .project = o->project, .ci = o->ci};
    if (honeypot_build(o->home_fd, o->project_fd, &ho, &x->hp, err) < 0) return sb_context(err, "building the honeypot");
    x->have_hp = true;
    if (give_seeds_to_sandbox(o, err) < 0) {
        runenv_free(x);
        return -1;
    }
    sbx_error se = {0};
    if (sbx_ca_create(&x->ca, &se) < 0) {
        x->ca = NULL;
        snprintf(x->ca_note, sizeof x->ca_note, "no TLS interception: %.200s", se.msg);
    }
    if (build_env(x, err) < 0) {
        runenv_free(x);
        return -1;
    }
    return 0;
}

void runenv_free(struct runenv *x)
{
    free(x->env);
    if (x->ca) sbx_ca_free(x->ca);
    if (x->have_hp) honeypot_free(&x->hp);
    memset(x, 0, sizeof *x);
}

/* ---- the user's npm registry ------------------------------------------------------------- */

/* "https://host:port/path" → "host:port" in buf; NULL unless it is a plain host[:port]. */
static const char *url_host(const char *url, char *buf, size_t cap)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    if (!n || n >= cap) return NULL;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)p[i]) && p[i] != '.' && p[i] != '-' && p[i] != ':') return NULL;
    memcpy(buf, p, n);
    buf[n] = 0;
    return buf;
}

/* The value of "registry=..." in an npmrc text, or NULL. */
static const char *npmrc_registry(char *text)
{
    const char *found = NULL;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        while (*line == ' ' || *line == '\t') line++;
        if (strncmp(line, "registry", 8)) continue;
        char *v = line + 8;
        while (*v == ' ' || *v == '\t') v++;
        if (*v != '=') continue;
        for (v++; *v == ' ' || *v == '\t'; v++) {}
        size_t len = strlen(v);
        while (len && (v[len - 1] == '\r' || v[len - 1] == ' ' || v[len - 1] == '\t')) v[--len] = 0;
        found = v;   /* the last one wins, as in npm's ini parser */
    }
    return found;
}

static char *read_small(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < NPMRC_MAX_BYTES && (buf = malloc((size_t)st.st_size + 1))) {
        ssize_t n = read(fd, buf, (size_t)st.st_size);
        if (n < 0) n = 0;
        buf[n] = 0;
    }
    close(fd);
    return buf;
}

const char *runenv_registry_host(char *buf, size_t cap)
{
    const char *env = getenv("npm_config_registry");
    if (!env) env = getenv("NPM_CONFIG_REGISTRY");
    if (env && *env) return url_host(env, buf, cap);
    char path[PATH_MAX];
    const char *user = getenv("npm_config_userconfig");
    const char *home = getenv("HOME");
    if (user && *user) snprintf(path, sizeof path, "%s", user);
    else if (home && *home) snprintf(path, sizeof path, "%s/.npmrc", home);
    else return NULL;
    char *text = read_small(path);
    const char *reg = text ? npmrc_registry(text) : NULL;
    const char *host = reg ? url_host(reg, buf, cap) : NULL;
    free(text);
    return host;
}

/* ---- the rules folder --------------------------------------------------------------------- */

static bool has_lists(const char *dir)
{
    char p[PATH_MAX + 16];
    struct stat st;
    snprintf(p, sizeof p, "%s/lists", dir);
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *runenv_rules_dir(char *buf, size_t cap)
{
    const char *env = getenv("SCRIPTBOX_RULES");
    if (env && *env) {
        snprintf(buf, cap, "%s", env);
        return has_lists(buf) ? buf : NULL;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = 0;   /* the folder of the binary: build/ or <prefix>/bin */
    const char *const rel[] = {"/../rules", "/../share/scriptbox/rules"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(buf, cap, "%s%s", exe, rel[i]);
        if (has_lists(buf)) return buf;
    }
    return NULL;
}
