/* sarifcheck.c — what the SARIF 2.1.0 schema requires of our logs, and what we promise (sarifcheck.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "sarifcheck.h"

static const char *sjstr(const cJSON *o, const char *k) { return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k)); }

static bool is_str(const cJSON *o, const char *k) { return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, k)); }

void tu_check_sarif(const cJSON *s, int want_results)
{
    assert_string_equal(sjstr(s, "version"), "2.1.0");
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(s, "runs");
    assert_true(cJSON_IsArray(runs));
    assert_int_equal(cJSON_GetArraySize(runs), 1);
    const cJSON *run = cJSON_GetArrayItem(runs, 0);
    const cJSON *driver = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(run, "tool"), "driver");
    assert_true(is_str(driver, "name"));
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(driver, "rules");
    assert_true(cJSON_IsArray(rules));
    const cJSON *r;
    cJSON_ArrayForEach(r, rules) {
        assert_true(is_str(r, "id"));
        assert_true(is_str(cJSON_GetObjectItemCaseSensitive(r, "shortDescription"), "text"));
        assert_true(is_str(cJSON_GetObjectItemCaseSensitive(r, "fullDescription"), "text"));
        assert_true(is_str(cJSON_GetObjectItemCaseSensitive(r, "help"), "text"));
    }
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(run, "results");
    assert_true(cJSON_IsArray(results));
    if (want_results >= 0) assert_int_equal(cJSON_GetArraySize(results), want_results);
    const cJSON *res;
    cJSON_ArrayForEach(res, results) {
        assert_true(is_str(cJSON_GetObjectItemCaseSensitive(res, "message"), "text"));
        const char *level = sjstr(res, "level");
        assert_true(!strcmp(level, "none") || !strcmp(level, "note") || !strcmp(level, "warning") || !strcmp(level, "error"));
        const cJSON *idx = cJSON_GetObjectItemCaseSensitive(res, "ruleIndex");
        assert_true(cJSON_IsNumber(idx));
        const cJSON *rule = cJSON_GetArrayItem(rules, idx->valueint);
        assert_non_null(rule);
        assert_string_equal(sjstr(rule, "id"), sjstr(res, "ruleId"));
        const cJSON *locs = cJSON_GetObjectItemCaseSensitive(res, "locations");
        assert_true(cJSON_GetArraySize(locs) >= 1);
        const cJSON *phys = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(locs, 0), "physicalLocation");
        assert_true(is_str(cJSON_GetObjectItemCaseSensitive(phys, "artifactLocation"), "uri"));
        const cJSON *line = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(phys, "region"), "startLine");
        assert_true(cJSON_IsNumber(line) && line->valueint >= 1 && line->valuedouble == line->valueint);
        const cJSON *sup;
        cJSON_ArrayForEach(sup, cJSON_GetObjectItemCaseSensitive(res, "suppressions")) {
            const char *kind = sjstr(sup, "kind");
            assert_true(kind && (!strcmp(kind, "inSource") || !strcmp(kind, "external")));
        }
    }
}

