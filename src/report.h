/*
 * report.h — the scriptbox.report/v1 document and its renderings.
 *
 * report_build() assembles the canonical report as a cJSON object from the run's facts; the
 * text summary, SARIF 2.1.0 and the HTML page are rendered from that object, so all three always agree.
 * The schema is documented in docs/report-schema.md.
 */
#ifndef SCRIPTBOX_REPORT_H
#define SCRIPTBOX_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "error.h"
#include "events.h"
#include "judge.h"
#include "lifecycle.h"
#include "sandbox.h"
#include "unpack.h"

enum severity { SEV_INFO, SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL, SEV_NONE };

/* "info".."critical" → enum; -1 when unknown. */
int severity_parse(const char *s);
/* --fail-on's argument into *out; a usage error (exit 2) naming the accepted values. */
int severity_option(const char *arg, enum severity *out, struct sb_error *err);
const char *severity_name(enum severity s);

enum report_format { REPORT_TEXT, REPORT_JSON, REPORT_SARIF, REPORT_HTML };
#define REPORT_FORMAT_BIT(f) (1u << (f))
/* --format ARG among the formats in `allowed` (REPORT_FORMAT_BIT mask): 0, or -1 with a usage
 * error naming the allowed ones. */
int format_option(const char *arg, unsigned allowed, enum report_format *out, struct sb_error *err);

/* One lifecycle step as it went. */
struct step_outcome {
    const struct lifecycle_step *step;
    bool ran;                 /* false: not started (see skip_reason) */
    const char *skip_reason;
    struct sbx_status status; /* valid when ran */
    const char *kind;         /* "lifecycle" when NULL; "import" for the import phase */
};

/* The lifecycle steps plus the import phase; time acceleration notes kept in the report. */
enum { REPORT_MAX_PHASES = LIFECYCLE_MAX_STEPS + 1, REPORT_TIME_NOTES = 16 };

struct report_input {
    const char *name, *version;
    const char *integrity;        /* SRI, or NULL for folders */
    const char *source_kind;      /* "tarball" | "folder" */
    const char *source_path;
    const struct unpack_result *unpack;   /* NULL for folders */
    const struct step_outcome *steps;
    size_t nsteps;
    const struct event_log *events;
    const char *events_path;      /* where the stream was saved, or NULL */
    const char *sandbox_mode;     /* "root" | "rootless" | NULL when nothing ran */
    int leftovers;                /* processes killed at the end of the grace period */
    const char *package_dir;      /* inside the sandbox, for the file-activity summary */
    time_t started_at;
    uint64_t unpack_ms, run_ms, total_ms;
    const cJSON *registry;        /* registry facts (registry targets), or NULL */
    uint64_t registry_us;          /* the registry phase: fetch, verify, facts */
    const struct judgement *judged;   /* the rules' findings and coverage; NULL: no rules ran */
    const cJSON *deps_phase;      /* phases[] entry of the dependency phase (deps.h), or NULL */
    const cJSON *deps_coverage;   /* its coverage entry, or NULL */
    bool timeline;                /* add the "timeline" (the HTML report draws it) */
};

cJSON *report_build(const struct report_input *in);

/* Highest severity among the report's unsuppressed findings, SEV_NONE if none. */
enum severity report_max_severity(const cJSON *report);

char *report_render_text(const cJSON *report, bool color);
cJSON *report_render_sarif(const cJSON *report);
/* One self-contained HTML page (inline CSS, no script, a CSP that loads nothing), for people
 * triaging a package; every string from the report is escaped. NULL on ENOMEM. */
char *report_render_html(const cJSON *report);

/* The optional "timeline": at most REPORT_TIMELINE_MAX one-line summaries
 * {t_ns, seq, pid, phase, kind, summary} of the event stream (exec, proc_exit, open, fs, net,
 * dns, payload, exfil, denied, note, truncated), in seq order; file reads only fill what the
 * other events leave of the bound. timeline_omitted counts what was left out. 0, or -1 on ENOMEM. */
enum { REPORT_TIMELINE_MAX = 2000 };
int report_timeline_add(cJSON *report, const char *events, size_t len);

/* Write the report in fmt to path (NULL or "-" = stdout). */
int report_write(const cJSON *report, enum report_format fmt, const char *path, bool color,
                 struct sb_error *err);

#endif
