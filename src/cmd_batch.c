/*
 * cmd_batch.c — `scriptbox batch [--input FILE|-] --out DIR [-j N] [analyze options]`: analyze a
 * list of package specs, one report per package plus a JSON Lines index, resumable.
 *
 * Contract
 *  - Input: one TARGET per line (name@spec, a .tgz or a folder); blank lines and '#' comments
 *    are skipped; duplicates are analyzed once.
 *  - Output: DIR/reports/<n>-<safe name>.json per package and DIR/index.jsonl, one line appended
 *    (and fsync'd) as each package ends: {"spec","status":"done"|"error","verdict","top",
 *    "report","error","finished_at"}.
 *  - Resumable: a spec that already has a line in the index is skipped (--retry-errors runs the
 *    "error" ones again), so a batch interrupted halfway and restarted finishes only the rest. An
 *    interrupted run stops its children and exits 128+N; nothing half-written enters the index.
 *  - Scale-out is the caller's: shard the list (docker/k8s/ has an Indexed Job example).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ci.h"
#include "commands.h"

enum { OPT_INPUT = 0x400, OPT_OUT, OPT_RETRY, OPT_PASS_ARG, OPT_PASS_FLAG };

static const struct option batch_longopts[] = {
    {"input", required_argument, NULL, OPT_INPUT},      {"out", required_argument, NULL, OPT_OUT},
    {"retry-errors", no_argument, NULL, OPT_RETRY},     {"jobs", required_argument, NULL, 'j'},
    {"registry", required_argument, NULL, OPT_PASS_ARG}, {"cache", required_argument, NULL, OPT_PASS_ARG},
    {"rules", required_argument, NULL, OPT_PASS_ARG},   {"allow", required_argument, NULL, OPT_PASS_ARG},
    {"disable", required_argument, NULL, OPT_PASS_ARG}, {"config", required_argument, NULL, OPT_PASS_ARG},
    {"timeout", required_argument, NULL, OPT_PASS_ARG}, {"min-age", required_argument, NULL, OPT_PASS_ARG},
    {"registry-keys", required_argument, NULL, OPT_PASS_ARG}, {"ci", no_argument, NULL, OPT_PASS_FLAG},
    {"offline", no_argument, NULL, OPT_PASS_FLAG},      {"no-deps", no_argument, NULL, OPT_PASS_FLAG},
    {"no-default-rules", no_argument, NULL, OPT_PASS_FLAG}, {"no-strict-coverage", no_argument, NULL, OPT_PASS_FLAG},
    {NULL, 0, NULL, 0},
};

struct batch {
    struct ci_opts o;
    const char *input, *out;
    bool retry_errors;
    char **specs;
    size_t n, cap;
    FILE *index;
};

static int add_pass(struct ci_opts *o, const char *name, const char *arg, struct sb_error *err)
{
    static char names[32][40];
    if (o->npass + 2 > sizeof o->pass / sizeof o->pass[0])
        return sb_fail(err, SB_EXIT_INPUT, "usage", E2BIG, "too many options for the analyze runs");
    snprintf(names[o->npass], sizeof names[o->npass], "--%s", name);
    o->pass[o->npass] = names[o->npass];
    o->npass++;
    if (arg) o->pass[o->npass++] = arg;
    return 0;
}

static int parse_options(int argc, char **argv, struct batch *b, struct sb_error *err)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    b->o = (struct ci_opts){.fail_on = SEV_HIGH, .jobs = cores > 0 && cores <= 64 ? (unsigned)cores : 2};
    optind = 1;
    opterr = 0;
    int c, idx = 0;
    while ((c = getopt_long(argc, argv, "j:", batch_longopts, &idx)) != -1) {
        char *end = NULL;
        long v;
        switch (c) {
        case OPT_INPUT: b->input = optarg; break;
        case OPT_OUT: b->out = optarg; break;
        case OPT_RETRY: b->retry_errors = true; break;
        case 'j':
            v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 64) return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "-j wants 1..64, not '%s'", optarg);
            b->o.jobs = (unsigned)v;
            break;
        case OPT_PASS_ARG:
        case OPT_PASS_FLAG:
            if (add_pass(&b->o, batch_longopts[idx].name, c == OPT_PASS_ARG ? optarg : NULL, err) < 0) return -1;
            break;
        default:
            return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "bad option '%s'; see 'scriptbox --help'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "unexpected argument '%s'; see 'scriptbox --help'", argv[optind]);
    if (!b->out) return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "batch needs --out DIR for the reports and the index");
    return 0;
}

static bool seen(const struct batch *b, const char *spec)
{
    for (size_t i = 0; i < b->n; i++)
        if (!strcmp(b->specs[i], spec)) return true;
    return false;
}

static int add_spec(struct batch *b, const char *spec)
{
    if (seen(b, spec)) return 0;
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 64;
        char **ns = realloc(b->specs, ncap * sizeof *ns);
        if (!ns) return -1;
        b->specs = ns;
        b->cap = ncap;
    }
    if (!(b->specs[b->n] = strdup(spec))) return -1;
    b->n++;
    return 0;
}

static int read_specs(struct batch *b, struct sb_error *err)
{
    bool from_stdin = !b->input || !strcmp(b->input, "-");
    FILE *in = from_stdin ? stdin : fopen(b->input, "r");
    if (!in) return sb_fail(err, SB_EXIT_INPUT, "input-missing", errno, "cannot read %s: %s", b->input, strerror(errno));
    char line[4096];
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, in)) {
        char *s = line + strspn(line, " \t");
        s[strcspn(s, "\r\n")] = 0;
        size_t l = strlen(s);
        while (l && (s[l - 1] == ' ' || s[l - 1] == '\t')) s[--l] = 0;
        if (*s && *s != '#' && add_spec(b, s) < 0) rc = sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory");
    }
    if (!from_stdin) fclose(in);
    return rc;
}

/* Specs already in the index ("done", and "error" unless retried) are not run again. */
static bool finished_before(const struct batch *b, const cJSON *line, const char *spec)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(line, "spec"));
    const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(line, "status"));
    return s && st && !strcmp(s, spec) && (!strcmp(st, "done") || (!strcmp(st, "error") && !b->retry_errors));
}

static void mark_finished(const struct batch *b, struct ci_item *items, const char *index_path)
{
    FILE *f = fopen(index_path, "r");
    char line[8192];
    while (f && fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);   /* a torn last line (killed mid-write) just does not parse */
        for (size_t i = 0; j && i < b->n; i++)
            if (items[i].status == CI_PENDING && finished_before(b, j, items[i].spec)) items[i].status = CI_CACHED;
        cJSON_Delete(j);
    }
    if (f) fclose(f);
}

static void append_index(void *ctx, const struct ci_item *it)
{
    struct batch *b = ctx;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "spec", it->spec);
    cJSON_AddStringToObject(j, "status", it->status == CI_FAILED ? "error" : "done");
    if (it->status == CI_FAILED) {
        cJSON_AddStringToObject(j, "error", it->why);
    } else {
        char top[200];
        ci_item_top(it, top, sizeof top);
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it->report, "verdict"));
        cJSON_AddStringToObject(j, "verdict", v ? v : "?");
        cJSON_AddStringToObject(j, "top", top);
        cJSON_AddStringToObject(j, "report", it->report_path);
    }
    cJSON_AddNumberToObject(j, "finished_at", (double)time(NULL));
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (text) {
        fprintf(b->index, "%s\n", text);   /* one line, then flushed and synced: resumable */
        fflush(b->index);
        fsync(fileno(b->index));
    }
    free(text);
}

/* reports/<n>-<name with anything but [A-Za-z0-9._-] as '_'>.json */
static char *report_path_for(const char *out, size_t i, const char *spec)
{
    char safe[128];
    size_t w = 0;
    for (const char *c = spec; *c && w < sizeof safe - 1; c++)
        safe[w++] = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
                            *c == '-' ? *c : '_';
    safe[w] = 0;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/reports/%zu-%s.json", out, i + 1, safe);
    return strdup(p);
}

static int prepare(struct batch *b, struct ci_item **out, struct sb_error *err)
{
    char p[PATH_MAX];
    mkdir(b->out, 0755);
    snprintf(p, sizeof p, "%s/reports", b->out);
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        return sb_fail(err, SB_EXIT_INPUT, "output", errno, "cannot make %s: %s", p, strerror(errno));
    struct ci_item *items = calloc(b->n ? b->n : 1, sizeof *items);
    if (!items) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory");
    *out = items;
    for (size_t i = 0; i < b->n; i++) {
        items[i].spec = b->specs[i];
        items[i].report_path = report_path_for(b->out, i, b->specs[i]);
        snprintf(p, sizeof p, "%s/reports/%zu.err", b->out, i + 1);
        items[i].err_path = strdup(p);
        if (!items[i].report_path || !items[i].err_path)
            return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory");
    }
    snprintf(p, sizeof p, "%s/index.jsonl", b->out);
    mark_finished(b, items, p);
    b->index = fopen(p, "a");
    if (!b->index) return sb_fail(err, SB_EXIT_INPUT, "output", errno, "cannot write %s: %s", p, strerror(errno));
    return 0;
}

static void cleanup(struct batch *b, struct ci_item *items)
{
    for (size_t i = 0; items && i < b->n; i++) {
        cJSON_Delete(items[i].report);
        if (items[i].err_path) unlink(items[i].err_path);
        free(items[i].report_path);
        free(items[i].err_path);
    }
    free(items);
    for (size_t i = 0; i < b->n; i++) free(b->specs[i]);
    free(b->specs);
    if (b->index) fclose(b->index);
}

int cmd_batch(int argc, char **argv, struct sb_error *err)
{
    struct batch b;
    memset(&b, 0, sizeof b);
    struct ci_item *items = NULL;
    int rc = parse_options(argc, argv, &b, err);
    if (rc == 0) rc = read_specs(&b, err);
    if (rc == 0) rc = prepare(&b, &items, err);
    if (rc == 0) {
        size_t todo = 0, failed = 0;
        for (size_t i = 0; i < b.n; i++) todo += items[i].status == CI_PENDING;
        fprintf(stderr, "scriptbox: %zu package%s, %zu already in %s/index.jsonl, %u at a time\n", b.n,
                b.n == 1 ? "" : "s", b.n - todo, b.out, b.o.jobs);
        char self[PATH_MAX];
        ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
        self[sl > 0 ? sl : 0] = 0;
        rc = ci_run_all(&b.o, self, items, b.n, NULL, append_index, &b);
        for (size_t i = 0; rc == 0 && i < b.n; i++) failed += items[i].status == CI_FAILED;
        if (rc == 0 && failed) rc = SB_EXIT_SANDBOX;   /* some package could not be analyzed */
    }
    cleanup(&b, items);
    return rc;
}
