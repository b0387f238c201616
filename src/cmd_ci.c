/*
 * cmd_ci.c — `scriptbox ci --lockfile package-lock.json [--base FILE|GIT-REV]`: which new or
 * changed packages do something dangerous at install time? (contract in ci.h)
 */
#include <dirent.h>
#include "fileio.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ci.h"
#include "commands.h"
#include "rules.h"

extern char **environ;

enum {
    OPT_LOCKFILE = 0x300, OPT_BASE, OPT_SARIF, OPT_MARKDOWN, OPT_JUNIT, OPT_CACHE, OPT_REGISTRY, OPT_FAIL_ON,
    OPT_NO_CACHE, OPT_PASS_ARG, OPT_PASS_FLAG,
};

/* Options handed through to every `analyze` as they are. */
static const struct option ci_longopts[] = {
    {"lockfile", required_argument, NULL, OPT_LOCKFILE}, {"base", required_argument, NULL, OPT_BASE},
    {"sarif", required_argument, NULL, OPT_SARIF},       {"markdown", required_argument, NULL, OPT_MARKDOWN},
    {"junit", required_argument, NULL, OPT_JUNIT},       {"cache", required_argument, NULL, OPT_CACHE},
    {"registry", required_argument, NULL, OPT_REGISTRY}, {"fail-on", required_argument, NULL, OPT_FAIL_ON},
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},       {"jobs", required_argument, NULL, 'j'},
    {"rules", required_argument, NULL, OPT_PASS_ARG},    {"allow", required_argument, NULL, OPT_PASS_ARG},
    {"disable", required_argument, NULL, OPT_PASS_ARG},  {"config", required_argument, NULL, OPT_PASS_ARG},
    {"timeout", required_argument, NULL, OPT_PASS_ARG},  {"registry-keys", required_argument, NULL, OPT_PASS_ARG},
    {"min-age", required_argument, NULL, OPT_PASS_ARG},  {"ci", no_argument, NULL, OPT_PASS_FLAG},
    {"offline", no_argument, NULL, OPT_PASS_FLAG},       {"no-default-rules", no_argument, NULL, OPT_PASS_FLAG},
    {"no-strict-coverage", no_argument, NULL, OPT_PASS_FLAG}, {NULL, 0, NULL, 0},
};

static int pass_option(struct ci_opts *o, const char *name, const char *arg, struct sb_error *err)
{
    if (o->npass + 2 > sizeof o->pass / sizeof o->pass[0])
        return sb_fail(err, SB_EXIT_INPUT, "usage", E2BIG, "too many options for the analyze runs");
    static char names[32][40];
    snprintf(names[o->npass], sizeof names[o->npass], "--%s", name);
    o->pass[o->npass] = names[o->npass];
    o->npass++;
    if (arg) o->pass[o->npass++] = arg;
    return 0;
}

static int parse_jobs(const char *arg, unsigned *jobs, struct sb_error *err)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (*end || v < 1 || v > 64) return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "-j wants 1..64, not '%s'", arg);
    *jobs = (unsigned)v;
    return 0;
}

static int apply_option(struct ci_opts *o, int c, int idx, const char *arg, struct sb_error *err)
{
    switch (c) {
    case OPT_LOCKFILE: o->lockfile = arg; return 0;
    case OPT_BASE: o->base = arg; return 0;
    case OPT_SARIF: o->sarif = arg; return 0;
    case OPT_MARKDOWN: o->markdown = arg; return 0;
    case OPT_JUNIT: o->junit = arg; return 0;
    case OPT_CACHE: o->cache_dir = arg; return pass_option(o, "cache", arg, err);
    case OPT_REGISTRY: o->registry = arg; return 0;
    case OPT_NO_CACHE: o->no_cache = true; return 0;
    case 'j': return parse_jobs(arg, &o->jobs, err);
    case OPT_FAIL_ON: return severity_option(arg, &o->fail_on, err);
    case OPT_PASS_ARG: return pass_option(o, ci_longopts[idx].name, arg, err);
    case OPT_PASS_FLAG: return pass_option(o, ci_longopts[idx].name, NULL, err);
    default: return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "unknown option; see 'scriptbox --help'");
    }
}

static int parse_options(int argc, char **argv, struct ci_opts *o, struct sb_error *err)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (struct ci_opts){.fail_on = SEV_HIGH, .jobs = cores > 0 && cores <= 64 ? (unsigned)cores : 2};
    optind = 1;
    opterr = 0;
    int c, idx = 0;
    while ((c = getopt_long(argc, argv, "j:", ci_longopts, &idx)) != -1) {
        if (c == '?' || c == ':')
            return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "bad option '%s'; see 'scriptbox --help'", argv[optind - 1]);
        if (apply_option(o, c, idx, optarg, err) < 0) return -1;
    }
    if (optind < argc)
        return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "unexpected argument '%s'; see 'scriptbox --help'", argv[optind]);
    if (!o->lockfile) o->lockfile = access("npm-shrinkwrap.json", F_OK) == 0 ? "npm-shrinkwrap.json" : "package-lock.json";
    return 0;
}

/* ---- the base lockfile: a file, or the lockfile at a git revision ------------------------ */

static int git_show(const char *lockfile, const char *rev, char **out, size_t *len, struct sb_error *err)
{
    char dir[PATH_MAX], spec[PATH_MAX + 256];
    snprintf(dir, sizeof dir, "%s", lockfile);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : lockfile;
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    snprintf(spec, sizeof spec, "%s:./%s", rev, base);
    int p[2];
    if (pipe(p) < 0) return sb_fail(err, SB_EXIT_SANDBOX, "internal", errno, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    const char *argv[] = {"git", "-C", dir, "show", spec, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "git", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return sb_fail(err, SB_EXIT_INPUT, "base-missing", rc, "--base %s is not a file and git cannot run (%s); fix: pass a file",
                       rev, strerror(rc));
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 > cap) {
            char *nb = n + 65536 <= LOCKFILE_MAX_BYTES ? realloc(buf, cap = n + 65536 * 4) : NULL;
            if (!nb) break;
            buf = nb;
        }
        ssize_t r = read(p[0], buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        free(buf);
        *out = NULL;   /* the lockfile did not exist at that revision: everything in head is new */
        *len = 0;
        return 0;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int load_base(const struct ci_opts *o, struct lockfile *base, bool *have, struct sb_error *err)
{
    *have = false;
    if (!o->base) return 0;
    if (access(o->base, F_OK) == 0) {
        if (lockfile_load(o->base, base, err) < 0) return -1;
        *have = true;
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    if (git_show(o->lockfile, o->base, &text, &len, err) < 0) return -1;
    if (!text) {
        fprintf(stderr, "scriptbox: %s does not exist at %s: every package in it is new\n", o->lockfile, o->base);
        return 0;
    }
    char what[PATH_MAX + 64];
    snprintf(what, sizeof what, "%s at %s", o->lockfile, o->base);
    int rc = lockfile_parse(text, len, what, base, err);
    free(text);
    if (rc == 0) *have = true;
    return rc;
}

/* ---- cache keys ----------------------------------------------------------------------- */

static void hash_file(EVP_MD_CTX *md, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return;
    char buf[65536];
    size_t n;
    EVP_DigestUpdate(md, path, strlen(path) + 1);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) EVP_DigestUpdate(md, buf, n);
    fclose(f);
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

/* Every rule file below dir (and its lists/), in name order. */
static void hash_rules_dir(EVP_MD_CTX *md, const char *dir, int depth)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, by_name);
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        struct stat st;
        if (names[i]->d_name[0] != '.' && stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode) && depth < 2) hash_rules_dir(md, path, depth + 1);
            else if (S_ISREG(st.st_mode)) hash_file(md, path);
        }
        free(names[i]);
    }
    free(names);
}

/* What makes two reports of the same tarball differ: version, rules, options. */
static void options_digest(const struct ci_opts *o, EVP_MD_CTX *md)
{
    EVP_DigestUpdate(md, SCRIPTBOX_VERSION, sizeof SCRIPTBOX_VERSION);
    const char *def = rules_default_dir();
    if (def) hash_rules_dir(md, def, 0);
    for (size_t i = 0; i < o->npass; i++) {
        EVP_DigestUpdate(md, o->pass[i], strlen(o->pass[i]) + 1);
        bool file_arg = i + 1 < o->npass && (!strcmp(o->pass[i], "--rules") || !strcmp(o->pass[i], "--allow") ||
                                             !strcmp(o->pass[i], "--config"));
        if (file_arg) {   /* a folder of rule files, or one file */
            hash_rules_dir(md, o->pass[i + 1], 0);
            hash_file(md, o->pass[i + 1]);
        }
    }
}

static void item_key(EVP_MD_CTX *opts, const struct lock_pkg *p, char out[65])
{
    out[0] = 0;
    if (!p->integrity) return;   /* no identity to cache by */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    if (md && EVP_MD_CTX_copy_ex(md, opts) && EVP_DigestUpdate(md, p->name, strlen(p->name) + 1) &&
        EVP_DigestUpdate(md, p->version, strlen(p->version) + 1) &&
        EVP_DigestUpdate(md, p->integrity, strlen(p->integrity) + 1) && EVP_DigestFinal_ex(md, d, &dn))
        for (unsigned i = 0; i < 32 && i < dn; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
    EVP_MD_CTX_free(md);
}

/* ---- the run ------------------------------------------------------------------------------ */

static int cache_folder(const struct ci_opts *o, char *out, size_t cap, struct sb_error *err)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char root[PATH_MAX - 8];
    if (o->cache_dir) snprintf(root, sizeof root, "%s", o->cache_dir);
    else if (xdg && *xdg) snprintf(root, sizeof root, "%s/scriptbox", xdg);
    else if (home && *home) snprintf(root, sizeof root, "%s/.cache/scriptbox", home);
    else return sb_fail(err, SB_EXIT_INPUT, "cache", 0, "no cache folder; fix: pass --cache DIR or set HOME");
    for (char *sl = strchr(root + 1, '/'); sl; sl = strchr(sl + 1, '/')) {   /* mkdir -p */
        *sl = 0;
        mkdir(root, 0700);
        *sl = '/';
    }
    mkdir(root, 0700);
    snprintf(out, cap, "%s/ci", root);
    if (mkdir(out, 0700) < 0 && errno != EEXIST)
        return sb_fail(err, SB_EXIT_INPUT, "cache", errno, "cannot make the cache folder %s: %s", out, strerror(errno));
    return 0;
}

/* The line of `"<path>": {` in the lockfile text, for SARIF locations. */
static int line_of(const char *text, const char *path)
{
    char needle[PATH_MAX + 8];
    snprintf(needle, sizeof needle, "\"%s\":", path);
    const char *at = text ? strstr(text, needle) : NULL;
    if (!at) return 0;
    int line = 1;
    for (const char *c = text; c < at; c++) line += *c == '\n';
    return line;
}

static char *read_text(const char *path)
{
    return file_read_bounded(path, LOCKFILE_MAX_BYTES, 0, NULL);
}

static int prepare_items(const struct ci_opts *o, const struct lock_delta *d, size_t n, const char *tmp,
                         struct ci_item **out)
{
    struct ci_item *items = calloc(n ? n : 1, sizeof *items);
    EVP_MD_CTX *opts = EVP_MD_CTX_new();
    if (!items || !opts || !EVP_DigestInit_ex(opts, EVP_sha256(), NULL)) {
        free(items);
        EVP_MD_CTX_free(opts);
        return -1;
    }
    options_digest(o, opts);
    char *text = read_text(o->lockfile);
    for (size_t i = 0; i < n; i++) {
        items[i].delta = &d[i];
        items[i].resolved = d[i].pkg->resolved;
        items[i].integrity = d[i].pkg->integrity;
        size_t sl = strlen(d[i].pkg->name) + strlen(d[i].pkg->version) + 2;
        if ((items[i].spec = malloc(sl))) snprintf(items[i].spec, sl, "%s@%s", d[i].pkg->name, d[i].pkg->version);
        if (!o->no_cache) item_key(opts, d[i].pkg, items[i].key);
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%zu.json", tmp, i);
        items[i].report_path = strdup(p);
        snprintf(p, sizeof p, "%s/%zu.err", tmp, i);
        items[i].err_path = strdup(p);
        items[i].lock_line = line_of(text, d[i].pkg->path);
        if (!items[i].spec || !items[i].report_path || !items[i].err_path) {
            free(text);
            EVP_MD_CTX_free(opts);
            *out = items;   /* the caller frees what was made */
            return -1;
        }
    }
    free(text);
    EVP_MD_CTX_free(opts);
    *out = items;
    return 0;
}

static void free_items(struct ci_item *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++) {
        cJSON_Delete(items[i].report);
        if (items[i].report_path && strstr(items[i].report_path, "/scriptbox-ci.")) unlink(items[i].report_path);
        if (items[i].err_path) unlink(items[i].err_path);
        free(items[i].report_path);
        free(items[i].err_path);
        free(items[i].spec);
    }
    free(items);
}

static void print_table(const struct ci_item *items, size_t n, enum severity fail_on)
{
    printf("%-40s %-14s %-10s %s\n", "package", "version", "verdict", "top finding");
    for (size_t i = 0; i < n; i++) {
        const struct ci_item *it = &items[i];
        char top[600];
        if (it->status == CI_FAILED) snprintf(top, sizeof top, "%s", it->why);
        else ci_item_top(it, top, sizeof top);
        const char *verdict = it->status == CI_FAILED ? "error"
                              : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it->report, "verdict"));
        enum severity m = ci_item_max(it);
        printf("%-40s %-14s %-10s %s%s\n", it->delta->pkg->name, it->delta->pkg->version, verdict ? verdict : "?", top,
               m != SEV_NONE && m >= fail_on ? "  <-- fails" : "");
    }
}

static int write_outputs(const struct ci_opts *o, const struct ci_item *items, size_t n, struct sb_error *err)
{
    if (o->sarif && ci_write_sarif(o->sarif, o->lockfile, items, n) < 0)
        return sb_fail(err, SB_EXIT_INPUT, "output", errno, "cannot write %s", o->sarif);
    if (o->markdown && ci_write_markdown(o->markdown, items, n, o->fail_on) < 0)
        return sb_fail(err, SB_EXIT_INPUT, "output", errno, "cannot write %s", o->markdown);
    if (o->junit && ci_write_junit(o->junit, items, n, o->fail_on) < 0)
        return sb_fail(err, SB_EXIT_INPUT, "output", errno, "cannot write %s", o->junit);
    return 0;
}

/* 1 when a package has a finding at --fail-on, 3 when one could not be vetted, else 0. */
static int exit_code(const struct ci_item *items, size_t n, enum severity fail_on)
{
    int rc = SB_EXIT_CLEAN;
    for (size_t i = 0; i < n; i++) {
        enum severity m = ci_item_max(&items[i]);
        if (m != SEV_NONE && m >= fail_on) return SB_EXIT_FINDINGS;
        if (items[i].status == CI_FAILED) rc = SB_EXIT_SANDBOX;
    }
    return rc;
}

static int run_delta(const struct ci_opts *o, const struct lock_delta *d, size_t n, struct sb_error *err)
{
    char cache[PATH_MAX] = "", tmpl[PATH_MAX];
    if (!o->no_cache && cache_folder(o, cache, sizeof cache, err) < 0) return -1;
    const char *tmpdir = getenv("TMPDIR");
    snprintf(tmpl, sizeof tmpl, "%s/scriptbox-ci.XXXXXX", tmpdir && *tmpdir == '/' ? tmpdir : "/tmp");
    const char *tmp = mkdtemp(tmpl);
    if (!tmp) return sb_fail(err, SB_EXIT_SANDBOX, "workdir", errno, "mkdtemp: %s", strerror(errno));
    struct ci_item *items = NULL;
    if (prepare_items(o, d, n, tmp, &items) < 0) {
        free_items(items, n);
        rmdir(tmp);
        return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory");
    }
    char self[PATH_MAX];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    self[sl > 0 ? sl : 0] = 0;
    fprintf(stderr, "scriptbox: %zu new or changed package%s in %s, %u at a time\n", n, n == 1 ? "" : "s", o->lockfile,
            o->jobs);
    int rc = ci_run_all(o, self, items, n, o->no_cache ? NULL : cache, NULL, NULL);
    if (rc == 0) {
        print_table(items, n, o->fail_on);
        rc = write_outputs(o, items, n, err) < 0 ? -1 : exit_code(items, n, o->fail_on);
    }
    free_items(items, n);
    rmdir(tmp);
    return rc;
}

int cmd_ci(int argc, char **argv, struct sb_error *err)
{
    struct ci_opts o;
    if (parse_options(argc, argv, &o, err) < 0) return -1;
    struct lockfile head, base;
    bool have_base;
    if (lockfile_load(o.lockfile, &head, err) < 0) return -1;
    if (load_base(&o, &base, &have_base, err) < 0) {
        lockfile_free(&head);
        return -1;
    }
    struct lock_delta *d = NULL;
    size_t n = 0;
    int rc = lockfile_diff(have_base ? &base : NULL, &head, &d, &n);
    if (rc < 0) rc = sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory");
    else rc = run_delta(&o, d, n, err);
    free(d);
    if (have_base) lockfile_free(&base);
    lockfile_free(&head);
    return rc;
}
