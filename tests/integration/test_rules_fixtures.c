/*
 * test_rules_fixtures.c — the rules issue's acceptance, end to end through the CLI:
 *   - `scriptbox rules test` passes (every default rule's match/nomatch examples);
 *   - each malicious fixture package (tests/fixtures/packages/mal-*) is analyzed with the
 *     expected category at high or more; benign ones (ok-*) get nothing above medium;
 *   - the hand-written event streams (tests/fixtures/events, JSON Lines: DNS, payloads, canary hits
 *     from the fake internet) are re-judged with `rules check --events` the same way;
 *   - SARIF output has the structure the SARIF 2.1.0 schema requires;
 *   - allowlists, --disable, user rule folders (override) and coverage gaps behave.
 * Runs as root and rootless (tests/run.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sarifcheck.h"
#include "testutil.h"

static int sev_rank(const char *s)
{
    static const char *const names[] = {"info", "low", "medium", "high", "critical"};
    for (int i = 0; i < 5; i++)
        if (s && !strcmp(s, names[i])) return i;
    return -1;
}

static const char *jstr(const cJSON *o, const char *k) { return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k)); }

/* Run scriptbox with argv (output to a report file) and return the parsed report. */
static cJSON *run_report(struct tu_dirs *c, const char *const *args, int expect_status)
{
    char report[4096];
    snprintf(report, sizeof report, "%s/report.out", c->out);
    const char *argv[32];
    int n = 0;
    argv[n++] = tu_build("scriptbox");
    for (int i = 0; args[i]; i++) argv[n++] = args[i];
    argv[n++] = "--output";
    argv[n++] = report;
    argv[n] = NULL;
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    if (expect_status >= 0 && r.status != expect_status) fprintf(stderr, "status %d, stderr: %s\n", r.status, r.err);
    if (expect_status >= 0) assert_int_equal(r.status, expect_status);
    tu_run_free(&r);
    cJSON *j = tu_read_json(report);
    assert_non_null(j);
    return j;
}

static cJSON *analyze(struct tu_dirs *c, const char *fixture, int expect_status)
{
    const char *args[] = {"analyze", tu_pack(c, fixture), "--format", "json", NULL};
    return run_report(c, args, expect_status);
}

static cJSON *check_events(struct tu_dirs *c, const char *file, int expect_status)
{
    char path[4096];
    snprintf(path, sizeof path, "tests/fixtures/events/%s", file);
    const char *args[] = {"rules", "check", "--events", tu_src(path), "--format", "json", NULL};
    return run_report(c, args, expect_status);
}

static void dump_findings(const char *what, const cJSON *report)
{
    const cJSON *f;
    fprintf(stderr, "%s: verdict %s, findings:", what, jstr(report, "verdict"));
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(report, "findings")) {
        fprintf(stderr, " %s/%s/%s", jstr(f, "rule_id"), jstr(f, "category"), jstr(f, "severity"));
    }
    fprintf(stderr, "\n");
}

/* A finding of category at severity >= min, every finding with the required fields. */
static void expect_category(const char *what, const cJSON *report, const char *category, const char *min)
{
    bool found = false;
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(report, "findings")) {
        assert_non_null(jstr(f, "rule_id"));
        assert_non_null(jstr(f, "title"));
        assert_true(sev_rank(jstr(f, "severity")) >= 0);
        assert_true(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f, "evidence")) > 0);
        if (!strcmp(jstr(f, "category"), category) && sev_rank(jstr(f, "severity")) >= sev_rank(min)) found = true;
    }
    if (!found) dump_findings(what, report);
    assert_true(found);
    assert_true(!strcmp(jstr(report, "verdict"), "suspicious") || !strcmp(jstr(report, "verdict"), "malicious"));
}

static void expect_benign(const char *what, const cJSON *report)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(report, "findings")) {
        if (sev_rank(jstr(f, "severity")) > 2) dump_findings(what, report);
        assert_true(sev_rank(jstr(f, "severity")) <= 2);
    }
    assert_true(strcmp(jstr(report, "verdict"), "malicious") && strcmp(jstr(report, "verdict"), "suspicious"));
}

static void rules_test_passes(void **state)
{
    (void)state;
    const char *argv[] = {tu_build("scriptbox"), "rules", "test", NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    if (r.status) fprintf(stderr, "%s", r.out);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, ", 0 failed"));
    tu_run_free(&r);
    const char *lv[] = {tu_build("scriptbox"), "rules", "list", NULL};
    assert_int_equal(tu_run(lv, &r), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "canary-outbound"));
    assert_non_null(strstr(r.out, "critical"));
    tu_run_free(&r);
}

static const struct { const char *fixture, *category; } malicious[] = {
    {"mal-wallet-stealer", "wallet-theft"},   {"mal-cred-stealer", "credential-theft"},
    {"mal-dropper", "download-exec"},         {"mal-curl-sh", "download-exec"},
    {"mal-revshell", "remote-access"},        {"mal-persistence", "persistence"},
    {"mal-tamper", "tampering"},              {"mal-escape", "sandbox-escape"},
    {"mal-evasion", "evasion"},               {"mal-ai-cli", "process"},
    {"mal-obfuscated", "obfuscation"},        {"mal-drainer", "wallet-theft"},
};

static void malicious_packages_are_detected(void **state)
{
    struct tu_dirs *c = *state;
    for (size_t i = 0; i < sizeof malicious / sizeof malicious[0]; i++) {
        cJSON *j = analyze(c, malicious[i].fixture, 1);
        expect_category(malicious[i].fixture, j, malicious[i].category, "high");
        cJSON_Delete(j);
    }
}

static void benign_packages_stay_at_or_below_medium(void **state)
{
    struct tu_dirs *c = *state;
    static const char *const benign[] = {"ok-banner", "ok-native-build", "ok-prebuilt-download", "ok-git-hooks",
                                         "ok-install-ping", "ok-codegen", "benign-postinstall", "no-scripts"};
    for (size_t i = 0; i < sizeof benign / sizeof benign[0]; i++) {
        cJSON *j = analyze(c, benign[i], 0);
        expect_benign(benign[i], j);
        cJSON_Delete(j);
    }
}

static void saved_event_streams_are_rejudged(void **state)
{
    struct tu_dirs *c = *state;
    cJSON *j = check_events(c, "mal-canary-webhook.jsonl", 1);
    expect_category("canary", j, "exfiltration", "critical");
    assert_string_equal(jstr(j, "verdict"), "malicious");
    cJSON_Delete(j);
    j = check_events(c, "mal-dns-tunnel.jsonl", 1);
    expect_category("dns", j, "exfiltration", "high");
    bool enc = false, many = false;
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(j, "findings")) {
        enc |= !strcmp(jstr(f, "rule_id"), "dns-encoded-label");
        many |= !strcmp(jstr(f, "rule_id"), "dns-many-subdomains");
    }
    assert_true(enc && many);
    cJSON_Delete(j);
    j = check_events(c, "mal-telegram-bot.jsonl", 1);
    expect_category("telegram", j, "exfiltration", "high");
    cJSON_Delete(j);
    /* the same shape from a raw IP is high */
    j = check_events(c, "mal-raw-ip-dropper.jsonl", 1);
    expect_category("raw-ip dropper", j, "download-exec", "high");
    cJSON_Delete(j);
    j = check_events(c, "ok-release-download.jsonl", 0);
    expect_benign("release", j);
    /* the same download-then-exec shape from a release host is low, not high */
    bool low_dl = false;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(j, "findings")) {
        low_dl |= !strcmp(jstr(f, "rule_id"), "download-then-exec") && !strcmp(jstr(f, "severity"), "low");
    }
    assert_true(low_dl);
    /* no package files given: content rules did not run, and the report says so */
    assert_string_equal(jstr(j, "verdict"), "incomplete");
    cJSON_Delete(j);
    j = check_events(c, "ok-version-ping.jsonl", 0);
    expect_benign("ping", j);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "findings")), 0);
    cJSON_Delete(j);
}

static void sarif_is_valid_and_located(void **state)
{
    struct tu_dirs *c = *state;
    const char *args[] = {"analyze", tu_pack(c, "mal-obfuscated"), "--format", "sarif", NULL};
    cJSON *s = run_report(c, args, 1);
    tu_check_sarif(s, 1);
    /* a content finding points at the file and line */
    const cJSON *res = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "runs"), 0), "results"), 0);
    const cJSON *phys = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res, "locations"), 0), "physicalLocation");
    assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(phys, "artifactLocation"), "uri"), "setup.js");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(phys, "region"), "startLine")->valueint, 3);
    cJSON_Delete(s);
    /* a behaviour finding points at the script's line in package.json */
    const char *args2[] = {"analyze", tu_pack(c, "mal-persistence"), "--format", "sarif", NULL};
    s = run_report(c, args2, 1);
    tu_check_sarif(s, 2);
    res = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "runs"), 0), "results"), 0);
    phys = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res, "locations"), 0), "physicalLocation");
    assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(phys, "artifactLocation"), "uri"), "package.json");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(phys, "region"), "startLine")->valueint, 5);
    cJSON_Delete(s);
    /* no findings: still a valid log */
    const char *args3[] = {"analyze", tu_pack(c, "ok-banner"), "--format", "sarif", NULL};
    s = run_report(c, args3, 0);
    tu_check_sarif(s, 0);
    cJSON_Delete(s);
}

/* ---- allowlists, --disable, user rules, coverage ---------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void allowlist_suppresses_but_keeps_findings_visible(void **state)
{
    struct tu_dirs *c = *state;
    char allow[4096];
    snprintf(allow, sizeof allow, "%s/allow.json", c->out);
    write_file(allow, "{\"allow\": [{\"package\": \"mal-persistence\", \"rule\": \"persistence-*\", \"reason\": \"fixture: known and accepted\"}]}");
    const char *args[] = {"analyze", tu_pack(c, "mal-persistence"), "--format", "json", "--allow", allow, NULL};
    cJSON *j = run_report(c, args, 0);
    const cJSON *f;
    int n = 0;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(j, "findings")) {
        n++;
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "suppressed")));
        assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(f, "suppressed_by"), "reason"), "fixture: known and accepted");
    }
    assert_int_equal(n, 2);
    assert_string_equal(jstr(j, "verdict"), "clean");
    cJSON_Delete(j);
    /* an entry without a reason is refused */
    write_file(allow, "{\"allow\": [{\"rule\": \"persistence-shell-rc\"}]}");
    const char *argv[] = {tu_build("scriptbox"), "analyze", tu_pack(c, "mal-persistence"), "--allow", allow, NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "reason"));
    tu_run_free(&r);
    /* --disable drops the rule */
    const char *args2[] = {"analyze", tu_pack(c, "mal-persistence"), "--format", "json", "--disable", "persistence-shell-rc", NULL};
    j = run_report(c, args2, 1);
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(j, "findings")) {
        assert_string_not_equal(jstr(f, "rule_id"), "persistence-shell-rc");
    }
    cJSON_Delete(j);
}

static void user_rules_extend_and_override(void **state)
{
    struct tu_dirs *c = *state;
    char dir[4096], path[4200], events[4200];
    snprintf(dir, sizeof dir, "%s/myrules", c->out);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/mine.json", dir);
    write_file(path,
               "{\"lists\": {\"home_credential_files\": {\"override\": \"append\", \"items\": [\"/home/dev/.corp/token\"]}},\n"
               " \"rules\": [{\"id\": \"raw-ip-connect\", \"override\": \"replace\", \"severity\": \"high\"}]}\n");
    snprintf(events, sizeof events, "%s/ev.jsonl", c->out);
    write_file(events,
               "{\"seq\":1,\"t_ns\":1,\"pid\":3,\"ppid\":2,\"phase\":\"postinstall\",\"kind\":\"open\",\"path\":\"/home/dev/.corp/token\",\"flags\":0}\n"
               "{\"seq\":2,\"t_ns\":2,\"pid\":3,\"ppid\":2,\"phase\":\"postinstall\",\"kind\":\"net\",\"syscall\":\"connect\",\"addr\":{\"family\":\"inet\",\"address\":\"192.0.2.1\",\"port\":80}}\n");
    const char *args[] = {"rules", "check", "--events", events, "--format", "json", "--rules", dir, NULL};
    cJSON *j = run_report(c, args, 1);
    bool cred = false, raw_high = false;
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(j, "findings")) {
        cred |= !strcmp(jstr(f, "rule_id"), "credential-file-read");
        raw_high |= !strcmp(jstr(f, "rule_id"), "raw-ip-connect") && !strcmp(jstr(f, "severity"), "high");
    }
    assert_true(cred && raw_high);
    cJSON_Delete(j);
    /* a broken user rule names file, rule and field */
    write_file(path, "{\"rules\": [{\"id\": \"my-rule\", \"title\": \"t\", \"severity\": \"severe\", \"category\": \"network\", "
                     "\"description\": \"d\", \"references\": [], \"event\": {\"kinds\": [\"exec\"]}, "
                     "\"examples\": {\"match\": [{\"kind\": \"exec\"}], \"nomatch\": [{\"kind\": \"open\"}]}}]}\n");
    const char *argv[] = {tu_build("scriptbox"), "rules", "test", "--rules", dir, NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "mine.json"));
    assert_non_null(strstr(r.err, "my-rule"));
    assert_non_null(strstr(r.err, "severity"));
    tu_run_free(&r);
}

static void timeouts_are_not_analyzed_and_keep_the_verdict_from_clean(void **state)
{
    struct tu_dirs *c = *state;
    /* (it loops on short sleeps: time acceleration leaves those alone; evasion-long-sleep stays
     * disabled so the gap is seen alone) */
    const char *args[] = {"analyze", tu_pack(c, "slow-postinstall"), "--format", "json", "--timeout", "1", "--grace", "0",
                          "--disable", "evasion-long-sleep", NULL};
    cJSON *j = run_report(c, args, 0);
    assert_string_equal(jstr(j, "verdict"), "incomplete");
    bool gap = false;
    const cJSON *cv;
    cJSON_ArrayForEach(cv, cJSON_GetObjectItemCaseSensitive(j, "coverage")) {
        gap |= !strcmp(jstr(cv, "check"), "phase:postinstall") && !strcmp(jstr(cv, "status"), "not analyzed");
    }
    assert_true(gap);
    cJSON_Delete(j);
    const char *args2[] = {"analyze", tu_pack(c, "slow-postinstall"), "--format", "json", "--timeout", "1", "--grace", "0",
                           "--disable", "evasion-long-sleep", "--no-strict-coverage", NULL};
    j = run_report(c, args2, 0);
    assert_string_equal(jstr(j, "verdict"), "clean");
    cJSON_Delete(j);
    /* no node on the host: the scripts are not run, the report says so, the files are judged,
     * and the run still fails with exit 3 (node-missing) so a CI job cannot take it for a pass */
    setenv("SCRIPTBOX_NODE", "/nonexistent/node", 1);
    const char *args3[] = {"analyze", tu_pack(c, "ok-banner"), "--format", "json", NULL};
    j = run_report(c, args3, 3);   /* still a distinct failure, after the report */
    unsetenv("SCRIPTBOX_NODE");
    assert_string_equal(jstr(j, "verdict"), "incomplete");
    assert_string_equal(jstr(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "phases"), 0), "status"), "skipped");
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules_test_passes),
        cmocka_unit_test_setup_teardown(malicious_packages_are_detected, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(benign_packages_stay_at_or_below_medium, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(saved_event_streams_are_rejudged, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(sarif_is_valid_and_located, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(allowlist_suppresses_but_keeps_findings_visible, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(user_rules_extend_and_override, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(timeouts_are_not_analyzed_and_keep_the_verdict_from_clean, tu_dirs_setup, tu_dirs_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
