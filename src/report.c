#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "jsonstr.h"
#include "report_network.h"
#include "summary.h"

/* Output kept in the report per stream; the full capture is bounded by the sandbox already. */
enum { REPORT_OUTPUT_BYTES = 16 * 1024 };

static const char *const severity_names[] = {"info", "low", "medium", "high", "critical"};

int severity_parse(const char *s)
{
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, severity_names[i])) return i;
    return -1;
}

int severity_option(const char *arg, enum severity *out, struct sb_error *err)
{
    int s = arg ? severity_parse(arg) : -1;
    if (s < 0)
        return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "--fail-on must be info, low, medium, high or critical, not '%s'",
                       arg ? arg : "");
    *out = (enum severity)s;
    return 0;
}

static const char *const format_names[] = {"text", "json", "sarif", "html"};

int format_option(const char *arg, unsigned allowed, enum report_format *out, struct sb_error *err)
{
    const size_t n = sizeof format_names / sizeof *format_names;
    for (size_t i = 0; arg && i < n; i++)
        if ((allowed & REPORT_FORMAT_BIT(i)) && !strcmp(arg, format_names[i])) {
            *out = (enum report_format)i;
            return 0;
        }
    char list[64] = "";
    size_t left = 0;
    for (size_t i = 0; i < n; i++) left += (allowed & REPORT_FORMAT_BIT(i)) != 0;
    for (size_t i = 0; i < n; i++) {
        if (!(allowed & REPORT_FORMAT_BIT(i))) continue;
        left--;
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", format_names[i],
                 left > 1 ? ", " : left == 1 ? " or " : "");
    }
    return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "--format must be %s, not '%s'", list, arg ? arg : "");
}

const char *severity_name(enum severity s) { return s <= SEV_CRITICAL ? severity_names[s] : "none"; }

static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
    if (v) cJSON_AddStringToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

static cJSON *output_json(const struct sbx_output *o)
{
    cJSON *j = cJSON_CreateObject();
    bool cut = false;
    char *text = jsonstr_sanitize(o->data ? o->data : "", o->len, REPORT_OUTPUT_BYTES, &cut);
    cJSON_AddStringToObject(j, "text", text ? text : "");
    free(text);
    cJSON_AddNumberToObject(j, "bytes", (double)o->total);
    cJSON_AddBoolToObject(j, "truncated", cut || o->total > o->len);
    return j;
}

static const char *step_state(const struct step_outcome *s)
{
    if (!s->ran) return "skipped";
    if (s->status.timed_out) return "timeout";
    if (!s->status.exited) return "killed";
    return s->status.exit_code == 0 ? "ok" : "failed";
}

static cJSON *step_json(const struct step_outcome *s)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", s->step->event);
    cJSON_AddStringToObject(j, "kind", s->kind ? s->kind : "lifecycle");
    cJSON_AddStringToObject(j, "script", s->step->script);
    cJSON_AddBoolToObject(j, "implicit", s->step->implicit);
    cJSON_AddStringToObject(j, "status", step_state(s));
    if (!s->ran) {
        add_str_or_null(j, "reason", s->skip_reason);
        return j;
    }
    if (s->status.exited) cJSON_AddNumberToObject(j, "exit_code", s->status.exit_code);
    else cJSON_AddNullToObject(j, "exit_code");
    if (!s->status.exited && !s->status.timed_out) cJSON_AddNumberToObject(j, "signal", s->status.term_signal);
    cJSON_AddNumberToObject(j, "duration_ms", (double)((s->status.end_ns - s->status.start_ns) / 1000000));
    cJSON_AddItemToObject(j, "stdout", output_json(&s->status.out));
    cJSON_AddItemToObject(j, "stderr", output_json(&s->status.err));
    return j;
}

static cJSON *unpack_json(const struct unpack_result *u)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "top_folder", u->top_folder);
    cJSON_AddNumberToObject(j, "entries", (double)u->entries);
    cJSON_AddNumberToObject(j, "files", (double)u->files);
    cJSON_AddNumberToObject(j, "bytes", (double)u->bytes);
    cJSON *issues = cJSON_AddArrayToObject(j, "issues");
    for (size_t i = 0; i < u->nissues; i++) {
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "kind", u->issues[i].kind);
        cJSON_AddStringToObject(it, "entry", u->issues[i].entry);
        cJSON_AddStringToObject(it, "detail", u->issues[i].detail);
        cJSON_AddItemToArray(issues, it);
    }
    return j;
}

static cJSON *events_json(const struct report_input *in)
{
    cJSON *j = cJSON_CreateObject();
    const struct event_log *l = in->events;
    cJSON_AddNumberToObject(j, "count", l ? (double)l->seq : 0);
    cJSON_AddNumberToObject(j, "dropped", l ? (double)l->dropped : 0);
    add_str_or_null(j, "saved_to", in->events_path);
    cJSON *kinds = cJSON_AddObjectToObject(j, "by_kind");
    cJSON *calls = cJSON_AddObjectToObject(j, "syscall_counts");
    if (!l) return j;
    for (int k = 0; k < SBX_EV_KIND_COUNT; k++)
        if (l->by_kind[k]) cJSON_AddNumberToObject(kinds, event_kind_name((sbx_event_kind)k), (double)l->by_kind[k]);
    if (l->nexfil) cJSON_AddNumberToObject(kinds, "exfil", (double)l->nexfil);
    for (size_t i = 0; i < l->nsyscalls; i++)
        cJSON_AddNumberToObject(calls, l->syscalls[i].name, (double)l->syscalls[i].count);
    return j;
}

static void iso8601(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static cJSON *package_json(const struct report_input *in)
{
    cJSON *p = cJSON_CreateObject();
    add_str_or_null(p, "name", in->name);
    add_str_or_null(p, "version", in->version);
    add_str_or_null(p, "integrity", in->integrity);
    cJSON *src = cJSON_AddObjectToObject(p, "source");
    cJSON_AddStringToObject(src, "kind", in->source_kind);
    cJSON_AddStringToObject(src, "path", in->source_path);
    return p;
}

static cJSON *timing_json(const struct report_input *in)
{
    char when[32];
    iso8601(in->started_at, when);
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "started_at", when);
    if (in->registry) cJSON_AddNumberToObject(t, "registry_ms", (double)(in->registry_us / 10) / 100.0);
    cJSON_AddNumberToObject(t, "unpack_ms", (double)in->unpack_ms);
    cJSON_AddNumberToObject(t, "run_ms", (double)in->run_ms);
    cJSON_AddNumberToObject(t, "total_ms", (double)in->total_ms);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) cJSON_AddNumberToObject(t, "supervisor_peak_rss_kib", (double)ru.ru_maxrss);
    return t;
}

/* Processes, files, network and denied calls, from the event stream. */
static int add_behaviour(cJSON *r, const struct report_input *in)
{
    struct phase_window windows[REPORT_MAX_PHASES];
    size_t n = 0;
    for (size_t i = 0; i < in->nsteps && n < REPORT_MAX_PHASES; i++)
        if (in->steps[i].ran)
            windows[n++] = (struct phase_window){in->steps[i].step->event, in->steps[i].status.start_ns,
                                                 in->steps[i].status.end_ns};
    struct summary_input si = {
        .events = in->events && in->events->out.buf ? in->events->out.buf : "",
        .events_len = in->events ? in->events->out.len : 0,
        .package_dir = in->package_dir ? in->package_dir : "/nonexistent",
        .phases = windows, .nphases = n,
    };
    if (summary_add(r, &si) < 0) return -1;
    if (report_network_add(r, si.events, si.events_len) < 0) return -1;
    return in->timeline ? report_timeline_add(r, si.events, si.events_len) : 0;
}

/* Time acceleration, from the stream's "time accelerated: ..." notes (the sandbox's for long
 * sleeps, analyze's for the node preload's marks): the same for analyze and `rules check`. */
static void add_time(cJSON *r, const struct report_input *in)
{
    static const char key[] = "\"detail\":\"time accelerated: ", note[] = "\"kind\":\"note\"";
    const char *buf = in->events && in->events->out.buf ? in->events->out.buf : NULL;
    size_t len = buf ? in->events->out.len : 0, n = 0;
    cJSON *list = cJSON_CreateArray();
    for (const char *p = buf; p && (p = memmem(p, len - (size_t)(p - buf), key, sizeof key - 1));) {
        const char *line = memrchr(buf, '\n', (size_t)(p - buf));
        line = line ? line + 1 : buf;
        bool is_note = memmem(line, (size_t)(p - line), note, sizeof note - 1) != NULL;
        p += sizeof key - 1;
        if (!is_note) continue;
        const char *q = memchr(p, '"', len - (size_t)(p - buf));
        if (!q) break;
        if (n++ < REPORT_TIME_NOTES) {
            char text[160];
            snprintf(text, sizeof text, "%.*s", (int)(q - p), p);
            cJSON_AddItemToArray(list, cJSON_CreateString(text));
        }
        p = q;
    }
    cJSON_AddBoolToObject(r, "time_accelerated", n > 0);
    cJSON_AddItemToObject(r, "time_shortened", list);
}

/* Phases that could not run to their end are checks that did not happen: coverage gaps. */
static void phase_coverage(cJSON *cov, const struct report_input *in)
{
    if (in->deps_coverage) cJSON_AddItemToArray(cov, cJSON_Duplicate(in->deps_coverage, 1));
    for (size_t i = 0; i < in->nsteps; i++) {
        const struct step_outcome *s = &in->steps[i];
        char why[256];
        const char *status = NULL;
        if (s->ran && s->status.timed_out && s->kind && !strcmp(s->kind, "import")) {
            snprintf(why, sizeof why, "import was still running (timers, servers) at its time cap: later activity was not observed");
            status = "partial";
        } else if (s->ran && s->status.timed_out) {
            snprintf(why, sizeof why, "%s timed out: what it would have done next was not observed", s->step->event);
            status = "not analyzed";
        } else if (!s->ran && s->skip_reason && strcmp(s->skip_reason, "an earlier script failed (npm stops there too)")) {
            snprintf(why, sizeof why, "%s did not run: %s", s->step->event, s->skip_reason);
            status = "not analyzed";
        } else if (s->ran && !s->status.exited) {
            snprintf(why, sizeof why, "%s was killed by signal %d", s->step->event, s->status.term_signal);
            status = "partial";
        }
        if (!status) continue;
        cJSON *c = cJSON_CreateObject();
        char check[64];
        snprintf(check, sizeof check, "phase:%s", s->step->event);
        cJSON_AddStringToObject(c, "check", check);
        cJSON_AddStringToObject(c, "status", status);
        cJSON_AddStringToObject(c, "reason", why);
        cJSON_AddItemToArray(cov, c);
    }
}

/* findings, coverage, rules, verdict (docs/report-schema.md, "Verdict"). */
static void add_judgement(cJSON *r, const struct report_input *in)
{
    const struct judgement *j = in->judged;
    if (!j) {
        cJSON_AddArrayToObject(r, "findings");
        cJSON *rules = cJSON_AddObjectToObject(r, "rules");
        cJSON_AddNumberToObject(rules, "loaded", 0);
        cJSON_AddStringToObject(rules, "note", "no rules ran: findings are empty; judge by the behaviour sections");
        cJSON *cov = cJSON_AddArrayToObject(r, "coverage");
        phase_coverage(cov, in);
        cJSON_AddStringToObject(r, "verdict", "clean");
        return;
    }
    cJSON *findings = j->findings ? cJSON_Duplicate(j->findings, 1) : cJSON_CreateArray();
    cJSON_AddItemToObject(r, "findings", findings);
    cJSON_AddItemToObject(r, "rules", j->rules ? cJSON_Duplicate(j->rules, 1) : cJSON_CreateObject());
    cJSON *cov = j->coverage ? cJSON_Duplicate(j->coverage, 1) : cJSON_CreateArray();
    phase_coverage(cov, in);
    cJSON_AddItemToObject(r, "coverage", cov);
    cJSON_AddStringToObject(r, "verdict", rules_verdict(findings, cov, j->strict_coverage));
}

cJSON *report_build(const struct report_input *in)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "schema", "scriptbox.report/v1");
    cJSON *tool = cJSON_AddObjectToObject(r, "tool");
    cJSON_AddStringToObject(tool, "name", "scriptbox");
    cJSON_AddStringToObject(tool, "version", SCRIPTBOX_VERSION);
    cJSON_AddItemToObject(r, "package", package_json(in));
    if (in->registry) cJSON_AddItemToObject(r, "registry", cJSON_Duplicate(in->registry, 1));
    else cJSON_AddNullToObject(r, "registry");
    if (in->unpack) cJSON_AddItemToObject(r, "unpack", unpack_json(in->unpack));
    else cJSON_AddNullToObject(r, "unpack");
    cJSON *phases = cJSON_AddArrayToObject(r, "phases");
    if (in->deps_phase) cJSON_AddItemToArray(phases, cJSON_Duplicate(in->deps_phase, 1));
    for (size_t i = 0; i < in->nsteps; i++) cJSON_AddItemToArray(phases, step_json(&in->steps[i]));
    add_time(r, in);
    cJSON *sb = cJSON_AddObjectToObject(r, "sandbox");
    add_str_or_null(sb, "mode", in->sandbox_mode);
    cJSON_AddNumberToObject(sb, "leftover_processes", in->leftovers);
    cJSON_AddItemToObject(r, "events", events_json(in));
    if (add_behaviour(r, in) < 0) {
        cJSON_Delete(r);
        return NULL;
    }
    add_judgement(r, in);
    cJSON_AddItemToObject(r, "timing", timing_json(in));
    return r;
}

enum severity report_max_severity(const cJSON *report)
{
    enum severity max = SEV_NONE;
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(report, "findings")) {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "suppressed"))) continue;
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "severity"));
        int v = s ? severity_parse(s) : -1;
        if (v >= 0 && (max == SEV_NONE || v > (int)max)) max = (enum severity)v;
    }
    return max;
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static char *render(const cJSON *report, enum report_format fmt, bool color)
{
    if (fmt == REPORT_TEXT) return report_render_text(report, color);
    if (fmt == REPORT_JSON) return cJSON_Print(report);
    if (fmt == REPORT_HTML) return report_render_html(report);
    cJSON *sarif = report_render_sarif(report);
    char *s = sarif ? cJSON_Print(sarif) : NULL;
    cJSON_Delete(sarif);
    return s;
}

int report_write(const cJSON *report, enum report_format fmt, const char *path, bool color,
                 struct sb_error *err)
{
    char *s = render(report, fmt, color);
    if (!s) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory rendering the report");
    bool to_stdout = !path || !strcmp(path, "-");
    int fd = to_stdout ? 1 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        free(s);
        return sb_fail(err, SB_EXIT_INPUT, "output", e, "cannot write report to %s: %s; fix: choose a writable --output path", path, strerror(e));
    }
    size_t n = strlen(s);
    int rc = write_all(fd, s, n);
    if (rc == 0 && fmt != REPORT_TEXT && fmt != REPORT_HTML) rc = write_all(fd, "\n", 1);
    int e = errno;
    if (!to_stdout && close(fd) < 0 && rc == 0) { rc = -1; e = errno; }
    free(s);
    if (rc < 0) return sb_fail(err, SB_EXIT_INPUT, "output", e, "writing report to %s: %s", to_stdout ? "stdout" : path, strerror(e));
    return 0;
}
