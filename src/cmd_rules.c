/*
 * cmd_rules.c — `scriptbox rules list|test|check`.
 *
 *   list   the catalogue (text table, or --format json)
 *   test   every rule's examples.match / examples.nomatch; exit 1 on any failure
 *   check  re-judge a saved event stream (--events FILE, optionally --package DIR for content
 *          rules and --facts FILE for metadata rules: the registry facts of a saved report)
 *          without running anything; the same report and exit codes as analyze
 */
#include <errno.h>
#include "fileio.h"
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "judge.h"
#include "manifest.h"
#include "report.h"

enum { EVENTS_FILE_MAX = 256 * 1024 * 1024 };

enum { RO_FORMAT = 1, RO_OUTPUT, RO_EVENTS, RO_PACKAGE, RO_FAIL_ON, RO_FACTS };

struct rules_opts {
    enum report_format format;
    bool format_set;
    const char *output, *events, *package, *facts;
    enum severity fail_on;
    struct judge_opts judge;
};

static int parse(int argc, char **argv, struct rules_opts *o, struct sb_error *err)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, RO_FORMAT}, {"output", required_argument, NULL, RO_OUTPUT},
        {"events", required_argument, NULL, RO_EVENTS}, {"package", required_argument, NULL, RO_PACKAGE},
        {"fail-on", required_argument, NULL, RO_FAIL_ON}, {"facts", required_argument, NULL, RO_FACTS}, JUDGE_LONGOPTS, {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->format = REPORT_TEXT;
    o->fail_on = SEV_HIGH;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case RO_FORMAT:
            if (format_option(optarg, REPORT_FORMAT_BIT(REPORT_TEXT) | REPORT_FORMAT_BIT(REPORT_JSON) |
                                          REPORT_FORMAT_BIT(REPORT_SARIF), &o->format, err) < 0)
                return -1;
            o->format_set = true;
            break;
        case RO_OUTPUT: o->output = optarg; break;
        case RO_EVENTS: o->events = optarg; break;
        case RO_PACKAGE: o->package = optarg; break;
        case RO_FACTS: o->facts = optarg; break;
        case RO_FAIL_ON:
            if (severity_option(optarg, &o->fail_on, err) < 0) return -1;
            break;
        default:
            if (c >= JUDGE_OPT_RULES && c < JUDGE_OPT_END) {
                if (judge_opts_set(&o->judge, c, optarg, err) < 0) return -1;
                break;
            }
            return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "unknown or incomplete option '%s'; see 'scriptbox --help'", argv[optind - 1]);
        }
    }
    if (optind != argc) return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "unexpected argument '%s'; see 'scriptbox --help'", argv[optind]);
    return 0;
}

static int rules_list(struct rules_opts *o, struct sb_error *err)
{
    struct ruleset *rs;
    if (judge_load_rules(&o->judge, &rs, NULL, err) < 0) return -1;
    cJSON *cat = ruleset_catalogue(rs);
    ruleset_free(rs);
    if (o->format == REPORT_JSON) {
        char *s = cJSON_Print(cat);
        if (s) puts(s);
        free(s);
    } else {
        printf("%-34s %-9s %-17s %-9s %s\n", "ID", "SEVERITY", "CATEGORY", "INPUT", "TITLE");
        const cJSON *r;
        int n = 0;
        cJSON_ArrayForEach(r, cat) {
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "id"));
            bool on = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "enabled"));
            printf("%-34s %-9s %-17s %-9s %s%s\n", id, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "severity")),
                   cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "category")),
                   cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "input")),
                   cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "title")), on ? "" : " (disabled)");
            n++;
        }
        printf("%d rules\n", n);
    }
    cJSON_Delete(cat);
    return SB_EXIT_CLEAN;
}

static int rules_test(struct rules_opts *o, struct sb_error *err)
{
    struct ruleset *rs;
    if (judge_load_rules(&o->judge, &rs, NULL, err) < 0) return -1;
    size_t nex, nrules;
    int failed = ruleset_test(rs, stdout, &nex, &nrules);
    ruleset_free(rs);
    printf("rules test: %zu rules, %zu examples, %d failed\n", nrules, nex, failed);
    return failed ? SB_EXIT_FINDINGS : SB_EXIT_CLEAN;
}

static char *read_events(const char *path, size_t *len, struct sb_error *err)
{
    char *buf = file_read_bounded(path, EVENTS_FILE_MAX, 0, len);
    if (!buf && (errno == EINVAL || errno == EFBIG))
        sb_fail(err, SB_EXIT_INPUT, "events-missing", errno, "%s: not a regular file of at most %d MiB", path,
                EVENTS_FILE_MAX >> 20);
    else if (!buf)
        sb_fail(err, SB_EXIT_INPUT, "events-missing", errno, "cannot read events %s: %s", path, strerror(errno));
    return buf;
}

static int rules_check(struct rules_opts *o, struct sb_error *err)
{
    if (!o->events) return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "rules check needs --events FILE (saved with analyze --events)");
    size_t len = 0;
    char *text = read_events(o->events, &len, err);
    if (!text) return -1;
    struct manifest m;
    bool have_m = false;
    char *mtext = NULL;
    char pkg_real[PATH_MAX];
    cJSON *facts_doc = NULL;
    const cJSON *facts = NULL;
    int rc = -1;
    if (o->package) {
        int fd = open(o->package, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            sb_fail(err, SB_EXIT_INPUT, "target-missing", errno, "cannot open package folder %s: %s", o->package, strerror(errno));
            goto out;
        }
        int lrc = manifest_load(fd, &m, err);
        close(fd);
        if (lrc < 0) goto out;
        have_m = true;
        mtext = judge_read_manifest_text(o->package);
    }
    if (o->facts) {
        /* saved facts: the report's "registry" object (or a whole report, or {"registry": ...}) */
        size_t flen = 0;
        char *ftext = read_events(o->facts, &flen, err);
        if (!ftext) goto out;
        facts_doc = cJSON_ParseWithLength(ftext, flen);
        free(ftext);
        facts = cJSON_GetObjectItemCaseSensitive(facts_doc, "registry");
        if (!facts) facts = facts_doc;
        if (!cJSON_IsObject(facts)) {
            sb_fail(err, SB_EXIT_INPUT, "bad-facts", 0, "%s: not a JSON object of registry facts (a report's \"registry\" object)", o->facts);
            goto out;
        }
    }
    struct rules_input ri = {.events = text, .events_len = len, .package_dir = o->package,
                             .manifest = have_m ? m.json : NULL, .manifest_text = mtext,
                             .facts = facts, .facts_expected = o->facts != NULL};
    struct judgement jd;
    if (judge_run(&o->judge, &ri, have_m ? m.name : NULL, have_m ? m.version : NULL, &jd, err) < 0) goto out;
    struct event_log log;
    memset(&log, 0, sizeof log);
    log.out.buf = text;
    log.out.len = len;
    for (size_t i = 0; i < len; i++) log.seq += text[i] == '\n';
    if (!realpath(o->events, pkg_real)) snprintf(pkg_real, sizeof pkg_real, "%s", o->events);
    char pkgdir[PATH_MAX] = "";
    for (const char *p = strstr(text, "\"cwd\":\""); p; p = NULL) {   /* package folder for the file summary */
        const char *q = p + 7, *e = strchr(q, '"');
        if (e && (size_t)(e - q) < sizeof pkgdir && memmem(q, (size_t)(e - q), "/node_modules/", 14)) snprintf(pkgdir, sizeof pkgdir, "%.*s", (int)(e - q), q);
    }
    struct report_input in = {
        .name = have_m ? m.name : NULL, .version = have_m ? m.version : NULL, .source_kind = "events",
        .source_path = pkg_real, .events = &log, .events_path = o->events, .package_dir = pkgdir[0] ? pkgdir : NULL,
        .started_at = time(NULL), .judged = &jd,
    };
    cJSON *report = report_build(&in);
    judgement_free(&jd);
    if (!report) {
        sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory building the report");
        goto out;
    }
    bool color = !o->output && isatty(1) && o->format == REPORT_TEXT && !getenv("NO_COLOR");
    int wrc = report_write(report, o->format, o->output, color, err);
    enum severity max = report_max_severity(report);
    cJSON_Delete(report);
    if (wrc == 0) rc = (max != SEV_NONE && max >= o->fail_on) ? SB_EXIT_FINDINGS : SB_EXIT_CLEAN;
out:
    if (have_m) manifest_free(&m);
    cJSON_Delete(facts_doc);
    free(mtext);
    free(text);
    return rc;
}

int cmd_rules(int argc, char **argv, struct sb_error *err)
{
    if (argc < 2) return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "rules takes list, test or check; see 'scriptbox --help'");
    const char *sub = argv[1];
    struct rules_opts o;
    if (parse(argc - 1, argv + 1, &o, err) < 0) return -1;
    if (!strcmp(sub, "list")) return rules_list(&o, err);
    if (!strcmp(sub, "test")) return rules_test(&o, err);
    if (!strcmp(sub, "check")) return rules_check(&o, err);
    return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "unknown rules command '%s' (list, test, check)", sub);
}
