/*
 * ci.h — `scriptbox ci`: vet the packages a change to package-lock.json brings in.
 *
 * Contract
 *  - The packages are lockfile_diff(base, head): added or changed (name, version, integrity).
 *  - Each is analyzed by a child `scriptbox analyze name@version --format json` (the same
 *    pipeline and sandbox as a single run; a child's crash cannot take the others down), at most
 *    `jobs` at a time. The registry is the one the lockfile's `resolved` URL names when it has
 *    the registry's "/<name>/-/" shape, else npm's configuration (or --registry).
 *  - The lockfile is honoured: the tarball analyzed must have the lockfile's integrity (the
 *    report's sha512 of the exact bytes) — a mismatch is a failed package, never a pass.
 *  - Reports are cached under <cache>/ci/<key>.json, key = SHA-256 of the integrity, the
 *    scriptbox version, the rule files in use and the options that change a verdict: an
 *    unchanged package is never re-run.
 *  - Outputs: a table on stdout, and on request one SARIF log (one run, results located at the
 *    package's line in the lockfile), a Markdown summary and JUnit XML (one case per package).
 */
#ifndef SCRIPTBOX_CI_H
#define SCRIPTBOX_CI_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "lockfile.h"
#include "report.h"

struct ci_opts {
    const char *lockfile, *base;
    const char *sarif, *markdown, *junit;
    const char *cache_dir;
    const char *registry;
    enum severity fail_on;
    unsigned jobs;
    bool no_cache;
    const char *pass[32];   /* options handed to every `analyze` (rules, allowlists, timeouts) */
    size_t npass;
};

enum ci_status { CI_PENDING, CI_DONE, CI_CACHED, CI_FAILED };

struct ci_item {
    const struct lock_delta *delta;   /* ci: the lockfile change; NULL for batch */
    char *spec;              /* what analyze is given: "name@version" or any TARGET */
    const char *resolved;    /* the lockfile's tarball URL (registry choice), or NULL */
    const char *integrity;   /* the lockfile's SRI the tarball must match, or NULL */
    enum ci_status status;
    char key[65];            /* cache key (hex SHA-256) */
    char *report_path;       /* where the child writes its report */
    char *err_path;          /* the child's stderr */
    cJSON *report;           /* parsed report (DONE/CACHED) */
    char why[512];           /* FAILED: one line */
    int lock_line;           /* the entry's line in the lockfile (SARIF location), 0 unknown */
};

/* Called after each item ends (DONE, CACHED or FAILED), in completion order. */
typedef void (*ci_done_fn)(void *ctx, const struct ci_item *it);

/* Run every CI_PENDING item (with a cache_dir: cached reports first, fresh ones stored there),
 * up to o->jobs children at a time; progress on stderr. Returns 0, or 128+N when interrupted by
 * signal N (children are stopped; unfinished items stay CI_PENDING). */
int ci_run_all(const struct ci_opts *o, const char *self, struct ci_item *items, size_t n, const char *cache_dir,
               ci_done_fn done, void *done_ctx);

/* The highest unsuppressed severity of a finished item (SEV_NONE when none or failed). */
enum severity ci_item_max(const struct ci_item *it);
/* "high credential-file-read" or "none" for the table and the summaries. */
void ci_item_top(const struct ci_item *it, char *out, size_t cap);

int ci_write_markdown(const char *path, const struct ci_item *items, size_t n, enum severity fail_on);
int ci_write_junit(const char *path, const struct ci_item *items, size_t n, enum severity fail_on);
int ci_write_sarif(const char *path, const char *lockfile, const struct ci_item *items, size_t n);

#endif
