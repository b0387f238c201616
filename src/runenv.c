/* runenv.c — the honeypot, the run's CA and the scripts' extra environment (runenv.h). */
#include "runenv.h"
#include "npmconfig.h"
#include "rules.h"
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

/* node trusts the run's CA through OpenSSL's store (--use-openssl-ca: SSL_CERT_FILE, the
 * sandbox's bundle, which holds only that CA), not NODE_EXTRA_CA_CERTS: with that variable set
 * node builds its whole bundled root store before running any code, ~17 ms on every node start
 * (measured: `node -p "performance.now()"` 16 → 33 ms inside the sandbox). */
static const char *const ca_env[] = {
    "SSL_CERT_FILE=" SBX_CA_BUNDLE_PATH,
    "REQUESTS_CA_BUNDLE=" SBX_CA_BUNDLE_PATH,
    RUNENV_NODE_OPTIONS,   /* the CA as above; node's long timers fast-forwarded (timewarp.h) */
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

const char *runenv_registry_host(const char *package, char *buf, size_t cap)
{
    struct npmconfig c;
    struct sb_error ignored = {0};
    struct npmconfig_opts o = {.npm_bin = ""};   /* the honeypot's host is cosmetic: never spawn npm */
    if (npmconfig_load(&c, &o, &ignored) < 0) return NULL;
    char url[2048];
    const char *host = NULL;
    if (npmconfig_registry_for(&c, &o, package && *package ? package : "x", url, sizeof url, NULL, &ignored) == 0)
        host = url_host(url, buf, cap);
    npmconfig_free(&c);
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
    const char *dir = rules_default_dir();   /* one lookup for the engine and the honeypot */
    if (!dir) return NULL;
    snprintf(buf, cap, "%s", dir);
    return has_lists(buf) ? buf : NULL;
}
