/* test_rules.c — the rules engine: operators, loading errors, overrides, sequences, content,
 * coverage, allowlists and the verdict, through the public API (src/rules.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules.h"
#include "testutil.h"

static char *dir_with(const char *name, const char *text)
{
    char *d = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", d, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return d;
}

static void add_file(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static struct ruleset *load(const char *const *dirs, size_t n, struct sb_error *err)
{
    struct ruleset *rs = NULL;
    struct rules_load_opts o = {.dirs = dirs, .ndirs = n};
    memset(err, 0, sizeof *err);
    if (ruleset_load(&rs, &o, err) < 0) return NULL;
    return rs;
}

#define RULE_HEAD(id) "{\"id\": \"" id "\", \"title\": \"t\", \"severity\": \"high\", \"category\": \"network\", " \
                      "\"description\": \"d\", \"references\": [], "

/* Every operator, each with examples that must and must not match. */
static const char ops_rules[] =
    "{\"lists\": {\"nets\": [\"10.0.0.0/8\", \"2001:db8::/32\"], \"hosts\": [\"*.evil.example\", \"@more\"], \"more\": [\"x.example\"]},\n"
    " \"macros\": {\"w\": {\"field\": \"flags\", \"bits_any\": 3}},\n"
    " \"rules\": [\n"
    RULE_HEAD("op-cidr-port") "\"event\": {\"kinds\": \"net\", \"where\": {\"all\": [{\"field\": \"addr.address\", \"cidr\": \"@nets\"}, {\"field\": \"addr.port\", \"port\": [\"8000-8100\", 22]}]}},"
    " \"examples\": {\"match\": [{\"kind\": \"net\", \"addr\": {\"address\": \"10.1.2.3\", \"port\": 8080}}, {\"kind\": \"net\", \"addr\": {\"address\": \"::ffff:10.0.0.1\", \"port\": 22}}, {\"kind\": \"net\", \"addr\": {\"address\": \"2001:db8::5\", \"port\": 22}}],"
    " \"nomatch\": [{\"kind\": \"net\", \"addr\": {\"address\": \"11.1.2.3\", \"port\": 8080}}, {\"kind\": \"net\", \"addr\": {\"address\": \"10.1.2.3\", \"port\": 8101}}, {\"kind\": \"open\", \"addr\": {\"address\": \"10.1.2.3\", \"port\": 22}}]}},\n"
    RULE_HEAD("op-glob-list-icase") "\"event\": {\"kinds\": [\"dns\"], \"where\": {\"field\": \"name\", \"glob\": \"@hosts\", \"icase\": true}},"
    " \"examples\": {\"match\": [{\"kind\": \"dns\", \"name\": \"A.EVIL.example\"}, {\"kind\": \"dns\", \"name\": \"x.example\"}], \"nomatch\": [{\"kind\": \"dns\", \"name\": \"evil.example\"}]}},\n"
    RULE_HEAD("op-strings") "\"event\": {\"kinds\": \"*\", \"where\": {\"all\": [{\"field\": \"path\", \"prefix\": \"/a/\"}, {\"field\": \"path\", \"suffix\": \".js\"},"
    " {\"field\": \"path\", \"contains\": \"mid\"}, {\"field\": \"path\", \"transform\": \"basename\", \"regex\": \"^x[0-9]+\\\\.js$\"}, {\"not\": {\"field\": \"path\", \"equals\": \"/a/mid/x1.js\"}}]}},"
    " \"examples\": {\"match\": [{\"kind\": \"open\", \"path\": \"/a/mid/x22.js\"}], \"nomatch\": [{\"kind\": \"open\", \"path\": \"/a/mid/x1.js\"}, {\"kind\": \"open\", \"path\": \"/b/mid/x2.js\"}]}},\n"
    RULE_HEAD("op-numbers-bits") "\"event\": {\"kinds\": \"open\", \"where\": {\"all\": [{\"macro\": \"w\"}, {\"field\": \"flags\", \"bits_none\": 64}, {\"field\": \"mode\", \"ge\": 256}, {\"field\": \"mode\", \"lt\": 512}]}},"
    " \"examples\": {\"match\": [{\"kind\": \"open\", \"flags\": 1, \"mode\": 420}], \"nomatch\": [{\"kind\": \"open\", \"flags\": 0, \"mode\": 420}, {\"kind\": \"open\", \"flags\": 65, \"mode\": 420}, {\"kind\": \"open\", \"flags\": 1, \"mode\": 512}]}},\n"
    RULE_HEAD("op-array-join-exists") "\"event\": {\"kinds\": \"exec\", \"where\": {\"all\": [{\"field\": \"argv\", \"transform\": \"join\", \"regex\": \"a b c\"}, {\"field\": \"argv.1\", \"equals\": \"b\"}, {\"field\": \"cwd\", \"exists\": false}]}},"
    " \"examples\": {\"match\": [{\"kind\": \"exec\", \"argv\": [\"a\", \"b\", \"c\"]}], \"nomatch\": [{\"kind\": \"exec\", \"argv\": [\"a\", \"b\", \"c\"], \"cwd\": \"/\"}, {\"kind\": \"exec\", \"argv\": [\"a\", \"bc\"]}]}},\n"
    RULE_HEAD("op-entropy") "\"event\": {\"kinds\": \"dns\", \"where\": {\"all\": [{\"field\": \"name\", \"label_len_ge\": 20}, {\"field\": \"name\", \"label_entropy_ge\": 3.5}]}},"
    " \"examples\": {\"match\": [{\"kind\": \"dns\", \"name\": \"q8Zk3Lp0Vx7Rt2Nw9Ys4Hb.example\"}], \"nomatch\": [{\"kind\": \"dns\", \"name\": \"aaaaaaaaaaaaaaaaaaaaaaaa.example\"}]}},\n"
    RULE_HEAD("op-sequence-window") "\"sequence\": {\"within_ms\": 5, \"scope\": \"pid\", \"steps\": [{\"as\": \"w\", \"kinds\": \"open\"}, {\"kinds\": \"exec\", \"where\": {\"field\": \"path\", \"same_as\": \"$w.path\"}}]},"
    " \"severity_if\": [{\"where\": {\"field\": \"$w.path\", \"prefix\": \"/tmp/\"}, \"severity\": \"critical\"}],"
    " \"examples\": {\"match\": [{\"events\": [{\"kind\": \"open\", \"path\": \"/tmp/x\"}, {\"kind\": \"exec\", \"path\": \"/tmp/x\"}], \"severity\": \"critical\"},"
    " {\"events\": [{\"kind\": \"open\", \"path\": \"/opt/x\"}, {\"kind\": \"exec\", \"path\": \"/opt/x\"}], \"severity\": \"high\"}],"
    " \"nomatch\": [[{\"kind\": \"open\", \"path\": \"/tmp/x\", \"t_ns\": 1000000}, {\"kind\": \"exec\", \"path\": \"/tmp/x\", \"t_ns\": 90000000}],"
    " [{\"kind\": \"open\", \"path\": \"/tmp/x\", \"pid\": 5}, {\"kind\": \"exec\", \"path\": \"/tmp/x\", \"pid\": 6}],"
    " [{\"kind\": \"exec\", \"path\": \"/tmp/x\"}, {\"kind\": \"open\", \"path\": \"/tmp/x\"}]]}},\n"
    RULE_HEAD("op-distinct") "\"event\": {\"kinds\": \"dns\", \"distinct\": {\"field\": \"name\", \"at_least\": 3, \"group_labels\": 2}},"
    " \"examples\": {\"match\": [[{\"kind\": \"dns\", \"name\": \"a.x.example\"}, {\"kind\": \"dns\", \"name\": \"b.x.example\"}, {\"kind\": \"dns\", \"name\": \"c.x.example\"}]],"
    " \"nomatch\": [[{\"kind\": \"dns\", \"name\": \"a.x.example\"}, {\"kind\": \"dns\", \"name\": \"a.x.example\"}, {\"kind\": \"dns\", \"name\": \"c.y.example\"}]]}},\n"
    RULE_HEAD("op-content") "\"content\": {\"files\": [\"*.js\"], \"all\": [{\"literal\": \"secret\", \"icase\": true}], \"any\": [{\"regex\": \"_0x[0-9a-f]{4}\", \"min_count\": 3}, {\"literal\": \"zzz\"}], \"none\": [{\"literal\": \"@license\"}]},"
    " \"examples\": {\"match\": [\"var SECRET; _0x1a2b _0x1a2c _0x1a2d\", {\"files\": {\"deep/a/b.js\": \"zzz secret\"}}],"
    " \"nomatch\": [\"var secret; _0x1a2b _0x1a2c\", \"/* @license */ secret zzz\", {\"files\": {\"a.ts\": \"secret zzz\"}}]}},\n"
    RULE_HEAD("op-metadata") "\"metadata\": {\"where\": {\"field\": \"facts.age_days\", \"lt\": 2}},"
    " \"examples\": {\"match\": [{\"facts\": {\"age_days\": 1}}], \"nomatch\": [{\"facts\": {\"age_days\": 9}}, {\"package\": {}}]}}\n"
    "]}\n";

static void operators_and_examples(void **state)
{
    (void)state;
    char *d = dir_with("ops.json", ops_rules);
    const char *dirs[] = {d};
    struct sb_error err;
    struct ruleset *rs = load(dirs, 1, &err);
    if (!rs) fprintf(stderr, "%s\n", err.msg);
    assert_non_null(rs);
    assert_int_equal(ruleset_count(rs), 10);
    size_t nex, nr;
    char *buf = NULL;
    size_t blen = 0;
    FILE *out = open_memstream(&buf, &blen);
    int failed = ruleset_test(rs, out, &nex, &nr);
    fclose(out);
    if (failed) fprintf(stderr, "%s", buf);
    assert_int_equal(failed, 0);
    assert_int_equal(nr, 10);
    free(buf);
    ruleset_free(rs);
    tu_rm_rf(d);
    free(d);
}

static void expect_load_error(const char *text, const char *const *needles)
{
    char *d = dir_with("bad.json", text);
    const char *dirs[] = {d};
    struct sb_error err;
    struct ruleset *rs = load(dirs, 1, &err);
    if (rs) fprintf(stderr, "loaded, but should not: %s\n", text);
    assert_null(rs);
    assert_string_equal(err.code, "bad-rules");
    for (int i = 0; needles[i]; i++) {
        if (!strstr(err.msg, needles[i])) fprintf(stderr, "'%s' not in: %s\n", needles[i], err.msg);
        assert_non_null(strstr(err.msg, needles[i]));
    }
    tu_rm_rf(d);
    free(d);
}

#define EX ", \"examples\": {\"match\": [{\"kind\": \"exec\"}], \"nomatch\": [{\"kind\": \"open\"}]}"

static void load_errors_name_file_rule_and_field(void **state)
{
    (void)state;
    const char *const sev[] = {"bad.json", "rule r1", "field severity", NULL};
    expect_load_error("{\"rules\": [{\"id\": \"r1\", \"title\": \"t\", \"severity\": \"severe\", \"category\": \"network\", \"description\": \"d\", "
                      "\"references\": [], \"event\": {\"kinds\": \"exec\"}" EX "}]}", sev);
    const char *const cat[] = {"rule r2", "field category", NULL};
    expect_load_error("{\"rules\": [{\"id\": \"r2\", \"title\": \"t\", \"severity\": \"low\", \"category\": \"spying\", \"description\": \"d\", "
                      "\"references\": [], \"event\": {\"kinds\": \"exec\"}" EX "}]}", cat);
    const char *const noex[] = {"rule r3", "field examples", NULL};
    expect_load_error("{\"rules\": [" RULE_HEAD("r3") "\"event\": {\"kinds\": \"exec\"}}]}", noex);
    const char *const unk[] = {"rule r4", "unknown operator 'equal'", NULL};
    expect_load_error("{\"rules\": [" RULE_HEAD("r4") "\"event\": {\"kinds\": \"exec\", \"where\": {\"field\": \"path\", \"equal\": \"x\"}}" EX "}]}", unk);
    const char *const list[] = {"rule r5", "unknown list 'nope'", NULL};
    expect_load_error("{\"rules\": [" RULE_HEAD("r5") "\"event\": {\"kinds\": \"exec\", \"where\": {\"field\": \"path\", \"in\": \"@nope\"}}" EX "}]}", list);
    const char *const cyc[] = {"rule r6", "cycle", NULL};
    expect_load_error("{\"macros\": {\"a\": {\"macro\": \"b\"}, \"b\": {\"macro\": \"a\"}}, \"rules\": [" RULE_HEAD("r6")
                      "\"event\": {\"kinds\": \"exec\", \"where\": {\"macro\": \"a\"}}" EX "}]}", cyc);
    const char *const re[] = {"rule r7", "bad regex", NULL};
    expect_load_error("{\"rules\": [" RULE_HEAD("r7") "\"event\": {\"kinds\": \"exec\", \"where\": {\"field\": \"path\", \"regex\": \"(\"}}" EX "}]}", re);
    const char *const kind[] = {"rule r8", "unknown event kind 'exek'", NULL};
    expect_load_error("{\"rules\": [" RULE_HEAD("r8") "\"event\": {\"kinds\": \"exek\"}" EX "}]}", kind);
    const char *const dup[] = {"rule r9 is already defined", "override", NULL};
    expect_load_error("{\"rules\": [" RULE_HEAD("r9") "\"event\": {\"kinds\": \"exec\"}" EX "}, " RULE_HEAD("r9") "\"event\": {\"kinds\": \"exec\"}" EX "}]}", dup);
    const char *const step[] = {"rule r10", "$nope.path", NULL};
    expect_load_error("{\"rules\": [" RULE_HEAD("r10") "\"sequence\": {\"within_ms\": 5, \"steps\": [{\"kinds\": \"open\"}, {\"kinds\": \"exec\", "
                      "\"where\": {\"field\": \"path\", \"same_as\": \"$nope.path\"}}]}" EX "}]}", step);
    const char *const json[] = {"bad.json", "invalid JSON near line 2", NULL};
    expect_load_error("{\"rules\": [\n,]}", json);
}

static cJSON *judge_events(struct ruleset *rs, const char *events)
{
    struct rules_input in = {.events = events, .events_len = strlen(events)};
    struct rules_result rr;
    struct sb_error err = {0};
    assert_int_equal(rules_judge(rs, &in, &rr, &err), 0);
    cJSON *both = cJSON_CreateObject();
    cJSON_AddItemToObject(both, "findings", rr.findings);
    cJSON_AddItemToObject(both, "coverage", rr.coverage);
    return both;
}

static const cJSON *finding(const cJSON *both, const char *rule_id)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(both, "findings")) {
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "rule_id")), rule_id)) return f;
    }
    return NULL;
}

static void user_folders_override_and_append(void **state)
{
    (void)state;
    char *base = dir_with("base.json",
        "{\"lists\": {\"paths\": [\"/a\"]}, \"rules\": [" RULE_HEAD("p") "\"event\": {\"kinds\": \"open\", \"where\": {\"field\": \"path\", \"in\": \"@paths\"}},"
        " \"examples\": {\"match\": [{\"kind\": \"open\", \"path\": \"/a\"}], \"nomatch\": [{\"kind\": \"open\", \"path\": \"/z\"}]}}]}");
    char *user = dir_with("user.json",
        "{\"lists\": {\"paths\": {\"override\": \"append\", \"items\": [\"/b\", \"/c\"]}},"
        " \"rules\": [{\"id\": \"p\", \"override\": \"append\", \"event\": {\"where\": {\"not\": {\"field\": \"path\", \"equals\": \"/c\"}}},"
        " \"examples\": {\"match\": [{\"kind\": \"open\", \"path\": \"/b\"}], \"nomatch\": [{\"kind\": \"open\", \"path\": \"/c\"}]}},"
        " {\"id\": \"p\", \"override\": \"replace\", \"severity\": \"low\"}]}");
    const char *dirs[] = {base, user};
    struct sb_error err;
    struct ruleset *rs = load(dirs, 2, &err);
    if (!rs) fprintf(stderr, "%s\n", err.msg);
    assert_non_null(rs);
    size_t nex, nr;
    assert_int_equal(ruleset_test(rs, stderr, &nex, &nr), 0);
    assert_int_equal(nex, 4);
    cJSON *j = judge_events(rs, "{\"seq\":1,\"kind\":\"open\",\"path\":\"/b\"}\n{\"seq\":2,\"kind\":\"open\",\"path\":\"/c\"}\n{\"seq\":3,\"kind\":\"open\",\"path\":\"/a\"}\n");
    const cJSON *f = finding(j, "p");
    assert_non_null(f);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "severity")), "low");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(f, "count")->valueint, 2);
    cJSON_Delete(j);
    ruleset_free(rs);
    /* disabling an unknown id is an error; a known one turns it off */
    struct rules_load_opts o = {.dirs = dirs, .ndirs = 1, .disable = (const char *const[]){"nope"}, .ndisable = 1};
    assert_int_equal(ruleset_load(&rs, &o, &err), -1);
    assert_non_null(strstr(err.msg, "nope"));
    o.disable = (const char *const[]){"p"};
    assert_int_equal(ruleset_load(&rs, &o, &err), 0);
    assert_int_equal(ruleset_count(rs), 0);
    assert_int_equal(ruleset_disabled_count(rs), 1);
    ruleset_free(rs);
    tu_rm_rf(base);
    tu_rm_rf(user);
    free(base);
    free(user);
}

static void evidence_is_capped_and_coverage_reports_gaps(void **state)
{
    (void)state;
    char *d = dir_with("r.json", "{\"rules\": [" RULE_HEAD("any-open") "\"event\": {\"kinds\": \"open\"},"
                                 " \"examples\": {\"match\": [{\"kind\": \"open\"}], \"nomatch\": [{\"kind\": \"exec\"}]}},"
                                 RULE_HEAD("c") "\"content\": {\"files\": [\"*.js\"], \"max_bytes\": 10, \"all\": [{\"literal\": \"x\"}]},"
                                 " \"examples\": {\"match\": [\"x\"], \"nomatch\": [\"y\"]}}]}");
    const char *dirs[] = {d};
    struct sb_error err;
    struct ruleset *rs = load(dirs, 1, &err);
    assert_non_null(rs);
    char events[8192] = "";
    for (int i = 1; i <= 30; i++) {
        char line[200];
        snprintf(line, sizeof line, "{\"seq\":%d,\"pid\":2,\"phase\":\"postinstall\",\"kind\":\"open\",\"path\":\"/f%d\",\"flags\":0}\n", i, i);
        strcat(events, line);
    }
    strcat(events, "not json\n{\"seq\":31,\"kind\":\"truncated\",\"dropped\":7}\n");
    char *pkg = tu_mkdtemp();
    add_file(pkg, "small.js", "x\n");
    add_file(pkg, "big.js", "x123456789012345\n");
    struct rules_input in = {.events = events, .events_len = strlen(events), .package_dir = pkg};
    struct rules_result rr;
    assert_int_equal(rules_judge(rs, &in, &rr, &err), 0);
    const cJSON *f = cJSON_GetArrayItem(rr.findings, 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "rule_id")), "any-open");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(f, "count")->valueint, 30);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(f, "evidence")), 8);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(f, "evidence_omitted")->valueint, 22);
    const cJSON *c = cJSON_GetArrayItem(rr.findings, 1);
    const cJSON *ev = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "evidence"), 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "file")), "small.js");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(ev, "line")->valueint, 1);
    bool events_gap = false, content_partial = false;
    const cJSON *cv;
    cJSON_ArrayForEach(cv, rr.coverage) {
        const char *check = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cv, "check"));
        const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cv, "status"));
        events_gap |= !strcmp(check, "events") && !strcmp(status, "not analyzed");
        content_partial |= !strcmp(check, "content") && !strcmp(status, "partial");
    }
    assert_true(events_gap && content_partial);
    assert_string_equal(rules_verdict(rr.findings, rr.coverage, true), "suspicious");
    cJSON *none = cJSON_CreateArray();
    assert_string_equal(rules_verdict(none, rr.coverage, true), "incomplete");
    assert_string_equal(rules_verdict(none, rr.coverage, false), "clean");
    cJSON_Delete(none);
    rules_result_free(&rr);
    ruleset_free(rs);
    tu_rm_rf(d);
    tu_rm_rf(pkg);
    free(d);
    free(pkg);
}

static cJSON *mk_finding(const char *rule, const char *sev, const char *cat)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "id", "0123456789abcdef");
    cJSON_AddStringToObject(f, "rule_id", rule);
    cJSON_AddStringToObject(f, "severity", sev);
    cJSON_AddStringToObject(f, "category", cat);
    cJSON_AddBoolToObject(f, "suppressed", false);
    return f;
}

/* Metadata rules: "requires" keeps a rule with a missing fact from running (and the coverage
 * names it), "evidence" shows the facts, lookalike explains itself, "@scope/name" is literal. */
static void metadata_requires_evidence_and_lookalike(void **state)
{
    (void)state;
    char *d = dir_with("meta.json",
        "{\"lists\": {\"pop\": [\"lodash\", \"@babel/core\"]}, \"rules\": [\n"
        RULE_HEAD("m-user") "\"metadata\": {\"where\": {\"field\": \"facts.npm_user_seen_before\", \"equals\": false},"
        " \"requires\": [\"facts.available.npm_user\"], \"evidence\": [\"facts.npm_user\", \"facts.fields\"]},"
        " \"examples\": {\"match\": [{\"facts\": {\"npm_user_seen_before\": false, \"available\": {\"npm_user\": true}}}],"
        " \"nomatch\": [{\"facts\": {\"npm_user_seen_before\": false, \"available\": {\"npm_user\": false}}}, {\"facts\": {\"npm_user_seen_before\": null, \"available\": {\"npm_user\": true}}}]}},\n"
        RULE_HEAD("m-look") "\"metadata\": {\"where\": {\"field\": \"facts.name\", \"lookalike\": \"@pop\"}},"
        " \"examples\": {\"match\": [{\"facts\": {\"name\": \"babel-core\"}}], \"nomatch\": [{\"facts\": {\"name\": \"@babel/core\"}}]}}\n"
        "]}\n");
    const char *dirs[] = {d};
    struct sb_error err;
    struct ruleset *rs = load(dirs, 1, &err);
    if (!rs) fprintf(stderr, "%s\n", err.msg);
    assert_non_null(rs);
    size_t nex, nr;
    assert_int_equal(ruleset_test(rs, stderr, &nex, &nr), 0);
    /* judged: both fire, with their evidence */
    cJSON *facts = cJSON_Parse("{\"name\": \"lodahs\", \"npm_user\": \"evil\", \"npm_user_seen_before\": false,"
                               " \"fields\": [\"scripts\", \"bin\"], \"available\": {\"npm_user\": true}}");
    struct rules_input in = {.facts = facts, .facts_expected = true};
    struct rules_result rr;
    assert_int_equal(rules_judge(rs, &in, &rr, &err), 0);
    assert_int_equal(cJSON_GetArraySize(rr.findings), 2);
    char *text = cJSON_PrintUnformatted(rr.findings);
    assert_non_null(strstr(text, "\"excerpt\":\"npm_user: evil; fields: scripts, bin\""));
    assert_non_null(strstr(text, "\"excerpt\":\"lodahs looks like lodash (swapped characters)\""));
    free(text);
    text = cJSON_PrintUnformatted(rr.coverage);
    assert_non_null(strstr(text, "{\"check\":\"metadata\",\"status\":\"analyzed\"}"));
    free(text);
    rules_result_free(&rr);
    /* the publisher is not known: m-user does not run, and the coverage says so */
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(facts, "available"), "npm_user", cJSON_CreateFalse());
    assert_int_equal(rules_judge(rs, &in, &rr, &err), 0);
    assert_int_equal(cJSON_GetArraySize(rr.findings), 1);
    text = cJSON_PrintUnformatted(rr.coverage);
    assert_non_null(strstr(text, "\"status\":\"partial\",\"reason\":\"1 metadata rules could not run, the registry did not provide the "
                                 "facts they need: m-user (facts.available.npm_user)\""));
    free(text);
    rules_result_free(&rr);
    cJSON_Delete(facts);
    ruleset_free(rs);
    tu_rm_rf(d);
    free(d);
    const char *const badreq[] = {"rule m1", "field metadata.requires", NULL};
    expect_load_error("{\"rules\": [" RULE_HEAD("m1") "\"metadata\": {\"where\": {\"field\": \"facts.x\", \"exists\": true}, \"requires\": \"x\"}"
                      ", \"examples\": {\"match\": [{}], \"nomatch\": [{}]}}]}", badreq);
    const char *const badkey[] = {"rule m1", "field metadata", "unknown key 'need'", NULL};
    expect_load_error("{\"rules\": [" RULE_HEAD("m1") "\"metadata\": {\"where\": {\"field\": \"facts.x\", \"exists\": true}, \"need\": []}"
                      ", \"examples\": {\"match\": [{}], \"nomatch\": [{}]}}]}", badkey);
}

static void verdict_rules(void **state)
{
    (void)state;
    cJSON *f = cJSON_CreateArray(), *cov = cJSON_CreateArray();
    assert_string_equal(rules_verdict(f, cov, true), "clean");
    cJSON_AddItemToArray(f, mk_finding("a", "low", "network"));
    assert_string_equal(rules_verdict(f, cov, true), "clean");
    cJSON_AddItemToArray(f, mk_finding("b", "medium", "network"));
    assert_string_equal(rules_verdict(f, cov, true), "suspicious");
    cJSON_AddItemToArray(f, mk_finding("c", "high", "persistence"));
    assert_string_equal(rules_verdict(f, cov, true), "suspicious");
    cJSON_AddItemToArray(f, mk_finding("d", "high", "persistence"));
    assert_string_equal(rules_verdict(f, cov, true), "suspicious");   /* same category: one signal */
    cJSON_AddItemToArray(f, mk_finding("e", "high", "exfiltration"));
    assert_string_equal(rules_verdict(f, cov, true), "malicious");
    cJSON_Delete(f);
    f = cJSON_CreateArray();
    cJSON_AddItemToArray(f, mk_finding("x", "critical", "exfiltration"));
    assert_string_equal(rules_verdict(f, cov, true), "malicious");
    /* suppressed findings do not count */
    struct allowlist *al = NULL;
    struct sb_error err = {0};
    cJSON *entries = cJSON_Parse("[{\"package\": \"pk*\", \"version\": \"1.*\", \"rule\": \"x\", \"reason\": \"known\"}]");
    assert_int_equal(allowlist_add_json(&al, entries, "test", &err), 0);
    allowlist_apply(al, f, "pkg", "2.0.0");
    assert_string_equal(rules_verdict(f, cov, true), "malicious");
    allowlist_apply(al, f, "pkg", "1.4.0");
    assert_string_equal(rules_verdict(f, cov, true), "clean");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(f, 0), "suppressed_by"), "reason")), "known");
    cJSON_Delete(entries);
    allowlist_free(al);
    al = NULL;
    /* by finding id */
    entries = cJSON_Parse("[{\"finding\": \"0123456789abcdef\", \"reason\": \"reviewed\"}]");
    assert_int_equal(allowlist_add_json(&al, entries, "test", &err), 0);
    cJSON_Delete(entries);
    cJSON *g = cJSON_CreateArray();
    cJSON_AddItemToArray(g, mk_finding("y", "high", "network"));
    allowlist_apply(al, g, "any", "1.0.0");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(g, 0), "suppressed")));
    cJSON_Delete(g);
    allowlist_free(al);
    al = NULL;
    /* every entry needs a reason and something to match */
    entries = cJSON_Parse("[{\"rule\": \"x\"}]");
    assert_int_equal(allowlist_add_json(&al, entries, "test", &err), -1);
    assert_non_null(strstr(err.msg, "reason"));
    cJSON_Delete(entries);
    entries = cJSON_Parse("[{\"reason\": \"because\"}]");
    assert_int_equal(allowlist_add_json(&al, entries, "test", &err), -1);
    cJSON_Delete(entries);
    allowlist_free(al);
    cJSON_Delete(f);
    cJSON_Delete(cov);
}

static void shipped_rules_load_and_pass(void **state)
{
    (void)state;
    const char *dirs[] = {tu_src("rules")};
    struct sb_error err;
    struct ruleset *rs = load(dirs, 1, &err);
    if (!rs) fprintf(stderr, "%s\n", err.msg);
    assert_non_null(rs);
    assert_true(ruleset_count(rs) >= 40);
    size_t nex, nr;
    assert_int_equal(ruleset_test(rs, stderr, &nex, &nr), 0);
    assert_true(nex >= 2 * nr);
    cJSON *cat = ruleset_catalogue(rs);
    assert_int_equal((size_t)cJSON_GetArraySize(cat), ruleset_count(rs));
    cJSON_Delete(cat);
    ruleset_free(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(operators_and_examples),
        cmocka_unit_test(load_errors_name_file_rule_and_field),
        cmocka_unit_test(user_folders_override_and_append),
        cmocka_unit_test(evidence_is_capped_and_coverage_reports_gaps),
        cmocka_unit_test(metadata_requires_evidence_and_lookalike),
        cmocka_unit_test(verdict_rules),
        cmocka_unit_test(shipped_rules_load_and_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
