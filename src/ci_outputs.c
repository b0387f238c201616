/* ci_outputs.c — what `scriptbox ci` leaves for reviewers: Markdown, JUnit XML, one SARIF log. */
#include "ci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

static const char *verdict_of(const struct ci_item *it)
{
    if (it->status == CI_FAILED) return "error";
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it->report, "verdict"));
    return v ? v : "?";
}

static bool fails(const struct ci_item *it, enum severity fail_on)
{
    enum severity m = ci_item_max(it);
    return it->status == CI_FAILED || (m != SEV_NONE && m >= fail_on);
}

static int save_text(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    bool ok = fwrite(text, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Markdown table cells: no pipes or newlines from package-controlled text. */
static void md_cell(struct jsonw *o, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|') jw_raw(o, "\\|", 2);
        else if (*s == '\n' || *s == '\r') jw_raw(o, " ", 1);
        else if (*s == '<') jw_raw(o, "&lt;", 4);
        else jw_raw(o, s, 1);
    }
}

int ci_write_markdown(const char *path, const struct ci_item *items, size_t n, enum severity fail_on)
{
    struct jsonw o = {0};
    size_t failing = 0;
    for (size_t i = 0; i < n; i++) failing += fails(&items[i], fail_on);
    jw_printf(&o, "### scriptbox: %zu new or changed package%s, %zu need%s a look\n\n", n, n == 1 ? "" : "s", failing,
              failing == 1 ? "s" : "");
    jw_printf(&o, "| package | version | change | verdict | top finding |\n| --- | --- | --- | --- | --- |\n");
    for (size_t i = 0; i < n; i++) {
        const struct ci_item *it = &items[i];
        char top[600];
        if (it->status == CI_FAILED) snprintf(top, sizeof top, "%s", it->why);
        else ci_item_top(it, top, sizeof top);
        jw_raw(&o, "| ", 2);
        md_cell(&o, it->delta->pkg->name);
        jw_raw(&o, " | ", 3);
        md_cell(&o, it->delta->pkg->version);
        jw_printf(&o, " | %s", it->delta->change == LOCK_ADDED ? "added" : "changed from ");
        if (it->delta->change == LOCK_CHANGED) md_cell(&o, it->delta->base_version);
        jw_printf(&o, " | %s%s | ", fails(it, fail_on) ? "**" : "", verdict_of(it));
        md_cell(&o, top);
        jw_printf(&o, "%s |\n", "");
    }
    int rc = o.failed ? -1 : save_text(path, o.buf, o.len);
    jw_free(&o);
    return rc;
}

static void xml_text(struct jsonw *o, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '&') jw_raw(o, "&amp;", 5);
        else if (c == '<') jw_raw(o, "&lt;", 4);
        else if (c == '>') jw_raw(o, "&gt;", 4);
        else if (c == '"') jw_raw(o, "&quot;", 6);
        else if (c < 0x20 && c != '\n' && c != '\t') jw_raw(o, " ", 1);   /* not allowed in XML 1.0 */
        else jw_raw(o, s, 1);
    }
}

static void junit_case(struct jsonw *o, const struct ci_item *it, enum severity fail_on)
{
    jw_raw(o, "    <testcase classname=\"scriptbox\" name=\"", 42);
    xml_text(o, it->delta->pkg->name);
    jw_raw(o, "@", 1);
    xml_text(o, it->delta->pkg->version);
    jw_raw(o, "\">\n", 3);
    char top[600];
    if (it->status == CI_FAILED) {
        jw_raw(o, "      <error message=\"", 22);
        xml_text(o, it->why);
        jw_raw(o, "\"/>\n", 4);
    } else if (fails(it, fail_on)) {
        ci_item_top(it, top, sizeof top);
        jw_printf(o, "      <failure message=\"%s: ", verdict_of(it));
        xml_text(o, top);
        jw_raw(o, "\"/>\n", 4);
    }
    jw_raw(o, "    </testcase>\n", 16);
}

int ci_write_junit(const char *path, const struct ci_item *items, size_t n, enum severity fail_on)
{
    struct jsonw o = {0};
    size_t failures = 0, errors = 0;
    for (size_t i = 0; i < n; i++) {
        errors += items[i].status == CI_FAILED;
        failures += items[i].status != CI_FAILED && fails(&items[i], fail_on);
    }
    jw_printf(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
                  "  <testsuite name=\"scriptbox\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\">\n", n, failures, errors);
    for (size_t i = 0; i < n; i++) junit_case(&o, &items[i], fail_on);
    jw_printf(&o, "  </testsuite>\n</testsuites>\n");
    int rc = o.failed ? -1 : save_text(path, o.buf, o.len);
    jw_free(&o);
    return rc;
}

/* ---- SARIF: one run, every package's results located in the lockfile -------------------- */

/* The index of rule `id` in the merged run's rules, or -1. */
static int rule_index(const cJSON *rules, const char *id)
{
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, rules) {
        const char *rid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "id"));
        if (rid && id && !strcmp(rid, id)) return i;
        i++;
    }
    return -1;
}

static cJSON *lock_location(const char *lockfile, int line)
{
    cJSON *loc = cJSON_CreateObject();
    cJSON *phys = cJSON_AddObjectToObject(loc, "physicalLocation");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(phys, "artifactLocation"), "uri", lockfile);
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(phys, "region"), "startLine", line > 0 ? line : 1);
    return loc;
}

/* Move one package's results into the combined run, re-located at its lockfile entry. */
static void merge_package(cJSON *run, const char *lockfile, const struct ci_item *it)
{
    cJSON *log = report_render_sarif(it->report);
    cJSON *prun = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(log, "runs"), 0);
    cJSON *rules = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(run, "tool"), "driver"), "rules");
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(prun, "tool"), "driver"), "rules")) {
        if (rule_index(rules, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "id"))) < 0)
            cJSON_AddItemToArray(rules, cJSON_Duplicate(r, 1));
    }
    cJSON *results = cJSON_GetObjectItemCaseSensitive(run, "results");
    cJSON *res;
    cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(prun, "results")) {
        cJSON *copy = cJSON_Duplicate(res, 1);
        int idx = rule_index(rules, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(copy, "ruleId")));
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "ruleIndex");   /* indexes differ in the merged run */
        if (idx >= 0) cJSON_AddNumberToObject(copy, "ruleIndex", idx);
        cJSON *msg = cJSON_GetObjectItemCaseSensitive(copy, "message");
        const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "text"));
        char *prefixed = malloc(strlen(it->delta->pkg->name) + strlen(it->delta->pkg->version) + (text ? strlen(text) : 0) + 8);
        if (prefixed && msg) {
            sprintf(prefixed, "%s@%s: %s", it->delta->pkg->name, it->delta->pkg->version, text ? text : "");
            cJSON_ReplaceItemInObjectCaseSensitive(msg, "text", cJSON_CreateString(prefixed));
        }
        free(prefixed);
        cJSON *locs = cJSON_CreateArray();
        cJSON_AddItemToArray(locs, lock_location(lockfile, it->lock_line));
        cJSON_ReplaceItemInObjectCaseSensitive(copy, "locations", locs);
        cJSON_AddItemToArray(results, copy);
    }
    cJSON_Delete(log);
}

int ci_write_sarif(const char *path, const char *lockfile, const struct ci_item *items, size_t n)
{
    cJSON *log = NULL;
    cJSON *run = NULL;
    for (size_t i = 0; i < n; i++) {
        if (items[i].status == CI_FAILED || !items[i].report) continue;
        if (!log) {   /* the first package's log gives the schema, version and tool */
            log = report_render_sarif(items[i].report);
            run = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(log, "runs"), 0);
            cJSON_ReplaceItemInObjectCaseSensitive(run, "results", cJSON_CreateArray());
            cJSON *driver = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(run, "tool"), "driver");
            cJSON_ReplaceItemInObjectCaseSensitive(driver, "rules", cJSON_CreateArray());
            cJSON_DeleteItemFromObjectCaseSensitive(run, "artifacts");
        }
        merge_package(run, lockfile, &items[i]);
    }
    if (!log) {   /* nothing analyzed: still a valid, empty log */
        log = cJSON_Parse("{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\","
                          "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"scriptbox\",\"rules\":[]}},\"results\":[]}]}");
    }
    char *text = log ? cJSON_Print(log) : NULL;
    int rc = text ? save_text(path, text, strlen(text)) : -1;
    free(text);
    cJSON_Delete(log);
    return rc;
}
