/* ci_run.c — run `scriptbox analyze` for each changed package, cached and in parallel (ci.h). */
#include "ci.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static volatile sig_atomic_t ci_interrupted;

static void on_signal(int signo) { ci_interrupted = signo; }

static cJSON *read_json_file(const char *path)
{
    size_t len = 0;
    char *buf = file_read_bounded(path, (size_t)64 << 20, 0, &len);
    cJSON *j = buf ? cJSON_ParseWithLength(buf, len) : NULL;
    free(buf);
    return j;
}

/* The last non-empty line the child wrote on stderr: its one-line error. */
static void last_error_line(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    out[0] = 0;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (*line) snprintf(out, cap, "%.*s", (int)(cap > 1 ? cap - 1 : 0), line);
    }
    if (f) fclose(f);
}

/* "https://r.example/path/@s/n/-/n-1.0.0.tgz" → "https://r.example/path/" for name "@s/n". */
static bool registry_from_resolved(const char *resolved, const char *name, char *out, size_t cap)
{
    if (!resolved || strncmp(resolved, "http", 4)) return false;
    char needle[512];
    snprintf(needle, sizeof needle, "/%s/-/", name);
    const char *at = strstr(resolved, needle);
    if (!at || (size_t)(at - resolved) + 2 > cap) return false;
    snprintf(out, cap, "%.*s/", (int)(at - resolved), resolved);
    return true;
}

static pid_t spawn_one(const struct ci_opts *o, const char *self, struct ci_item *it, char *reg)
{
    const char *argv[64];
    size_t n = 0;
    argv[n++] = self;
    argv[n++] = "analyze";
    argv[n++] = it->spec;
    argv[n++] = "--format";
    argv[n++] = "json";
    argv[n++] = "--output";
    argv[n++] = it->report_path;
    const char *name = it->delta ? it->delta->pkg->name : NULL;
    if ((name && registry_from_resolved(it->resolved, name, reg, 2048)) ||
        (o->registry && snprintf(reg, 2048, "%s", o->registry) > 0)) {
        argv[n++] = "--registry";
        argv[n++] = reg;
    }
    for (size_t i = 0; i < o->npass && n < 62; i++) argv[n++] = o->pass[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, it->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, self, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        snprintf(it->why, sizeof it->why, "cannot start scriptbox analyze: %s", strerror(rc));
        return -1;
    }
    return pid;
}

/* Does the SRI list `lock` name the sha512 digest `got` ("sha512-…")? */
static bool integrity_matches(const char *lock, const char *got)
{
    if (!lock || !got) return false;
    const char *p = lock;
    size_t glen = strlen(got);
    while (*p) {
        size_t l = strcspn(p, " \t\n");
        if (l == glen && !strncmp(p, got, l)) return true;
        p += l;
        p += strspn(p, " \t\n");
    }
    return strncmp(lock, "sha512-", 7) != 0 && strstr(lock, "sha512-") == NULL;   /* no sha512 to compare */
}

static void cache_path(const char *cache_dir, const struct ci_item *it, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s.json", cache_dir, it->key);
}

static void finish_item(const char *cache_dir, struct ci_item *it, int status)
{
    it->status = CI_FAILED;
    if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
        char line[480];
        last_error_line(it->err_path, line, sizeof line);
        snprintf(it->why, sizeof it->why, "analyze failed (%s %d): %s", WIFEXITED(status) ? "exit" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), *line ? line : "no message");
        return;
    }
    it->report = read_json_file(it->report_path);
    if (!it->report) {
        snprintf(it->why, sizeof it->why, "analyze wrote no readable report");
        return;
    }
    const char *got = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(it->report, "package"), "integrity"));
    if (it->integrity && !integrity_matches(it->integrity, got)) {
        snprintf(it->why, sizeof it->why, "integrity mismatch: the lockfile says %.120s, the registry's tarball is %.120s",
                 it->integrity, got ? got : "unknown");
        return;
    }
    it->status = CI_DONE;
    if (!cache_dir) return;
    char final[4200];
    cache_path(cache_dir, it, final, sizeof final);
    if (rename(it->report_path, final) == 0) {   /* the cache now owns the report */
        free(it->report_path);
        it->report_path = strdup(final);
    }
}

/* One line per package; on a terminal a single line that updates in place, with failures
 * kept on their own lines. */
static void progress(const struct ci_item *it, size_t done, size_t n)
{
    char top[160];
    ci_item_top(it, top, sizeof top);
    const char *verdict = it->status == CI_FAILED ? "error"
                          : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it->report, "verdict"));
    bool tty = isatty(2);
    bool plain = it->status != CI_FAILED && !strcmp(top, "none");
    if (tty && plain) {
        fprintf(stderr, "\r\033[K[%zu/%zu] %s %s%s", done, n, it->spec, verdict ? verdict : "?",
                done == n ? "\n" : "");
        return;
    }
    fprintf(stderr, "%sscriptbox: [%zu/%zu] %s %s%s (%s)\n", tty ? "\r\033[K" : "", done, n, it->spec,
            verdict ? verdict : "?", it->status == CI_CACHED ? ", cached" : "", it->status == CI_FAILED ? it->why : top);
}

static size_t take_cached(const char *cache_dir, struct ci_item *items, size_t n, size_t *done, ci_done_fn cb,
                          void *ctx)
{
    size_t hits = 0;
    for (size_t i = 0; cache_dir && i < n; i++) {
        char path[4200];
        cache_path(cache_dir, &items[i], path, sizeof path);
        if (!items[i].key[0] || !(items[i].report = read_json_file(path))) continue;
        items[i].status = CI_CACHED;
        hits++;
        progress(&items[i], ++*done, n);
        if (cb) cb(ctx, &items[i]);
    }
    return hits;
}

struct child {
    pid_t pid;
    size_t idx;
    char reg[2048];
};

static void kill_children(struct child *kids, unsigned jobs)
{
    for (unsigned k = 0; k < jobs; k++)
        if (kids[k].pid > 0) kill(kids[k].pid, SIGTERM);
    for (unsigned k = 0; k < jobs; k++)
        if (kids[k].pid > 0) waitpid(kids[k].pid, NULL, 0);
}

int ci_run_all(const struct ci_opts *o, const char *self, struct ci_item *items, size_t n, const char *cache_dir,
               ci_done_fn cb, void *cb_ctx)
{
    size_t done = 0, next = 0;
    for (size_t i = 0; i < n; i++) done += items[i].status != CI_PENDING;
    take_cached(cache_dir, items, n, &done, cb, cb_ctx);
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    unsigned jobs = o->jobs ? o->jobs : 1;
    struct child *kids = calloc(jobs, sizeof *kids);
    if (!kids) return -1;
    size_t running = 0;
    for (;;) {
        while (running < jobs && !ci_interrupted) {
            while (next < n && items[next].status != CI_PENDING) next++;
            if (next == n) break;
            unsigned slot = 0;
            while (kids[slot].pid > 0) slot++;
            struct ci_item *it = &items[next];
            kids[slot] = (struct child){.idx = next++};
            kids[slot].pid = spawn_one(o, self, it, kids[slot].reg);
            if (kids[slot].pid < 0) {
                it->status = CI_FAILED;
                progress(it, ++done, n);
                if (cb) cb(cb_ctx, it);
                continue;
            }
            running++;
        }
        if (!running || ci_interrupted) break;
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (unsigned k = 0; k < jobs; k++) {
            if (kids[k].pid != pid) continue;
            finish_item(cache_dir, &items[kids[k].idx], status);
            progress(&items[kids[k].idx], ++done, n);
            if (cb) cb(cb_ctx, &items[kids[k].idx]);
            kids[k] = (struct child){0};
            running--;
        }
    }
    int signo = ci_interrupted;
    if (signo) kill_children(kids, jobs);
    free(kids);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return signo ? 128 + signo : 0;
}

enum severity ci_item_max(const struct ci_item *it)
{
    return it->report && it->status != CI_FAILED ? report_max_severity(it->report) : SEV_NONE;
}

void ci_item_top(const struct ci_item *it, char *out, size_t cap)
{
    snprintf(out, cap, "none");
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(it->report, "findings")) {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "suppressed"))) continue;
        snprintf(out, cap, "%s %s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "severity")),
                 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "rule_id")));
        return;   /* findings come highest first */
    }
}
