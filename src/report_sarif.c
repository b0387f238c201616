/* report_sarif.c — SARIF 2.1.0 rendering of a report: one run, the rules that produced findings
 * (with help text), one result per finding located in the package: file and line for content
 * rules, the lifecycle script's line in package.json for behaviour. Suppressed findings carry a
 * SARIF suppression with the allowlist's reason. */
#include <stdio.h>
#include <string.h>

#include "report.h"

static const char *sget(const cJSON *o, const char *k) { return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k)); }

static const char *sarif_level(const char *severity)
{
    if (!severity) return "note";
    if (!strcmp(severity, "critical") || !strcmp(severity, "high")) return "error";
    if (!strcmp(severity, "medium")) return "warning";
    return "note";
}

static const char *security_severity(const char *severity)
{
    if (!severity) return "0.0";
    if (!strcmp(severity, "critical")) return "9.5";
    if (!strcmp(severity, "high")) return "8.0";
    if (!strcmp(severity, "medium")) return "5.5";
    if (!strcmp(severity, "low")) return "3.0";
    return "0.0";
}

static int rule_index(const cJSON *rules, const char *id)
{
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, rules) {
        const char *rid = sget(r, "id");
        if (rid && !strcmp(rid, id)) return i;
        i++;
    }
    return -1;
}

static cJSON *rule_json(const cJSON *f, const char *id)
{
    cJSON *rule = cJSON_CreateObject();
    cJSON_AddStringToObject(rule, "id", id);
    cJSON_AddStringToObject(rule, "name", id);
    const char *title = sget(f, "title"), *desc = sget(f, "description");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(rule, "shortDescription"), "text", title ? title : id);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(rule, "fullDescription"), "text", desc ? desc : (title ? title : id));
    char help[2048];
    size_t n = (size_t)snprintf(help, sizeof help, "%s", desc ? desc : (title ? title : id));
    const cJSON *ref;
    cJSON_ArrayForEach(ref, cJSON_GetObjectItemCaseSensitive(f, "references")) {
        if (cJSON_IsString(ref) && n < sizeof help) n += (size_t)snprintf(help + n, sizeof help - n, "\nSee: %s", ref->valuestring);
    }
    cJSON_AddStringToObject(cJSON_AddObjectToObject(rule, "help"), "text", help);
    const char *first_ref = cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(f, "references"), 0));
    if (first_ref && !strncmp(first_ref, "https://", 8)) cJSON_AddStringToObject(rule, "helpUri", first_ref);
    cJSON *dc = cJSON_AddObjectToObject(rule, "defaultConfiguration");
    cJSON_AddStringToObject(dc, "level", sarif_level(sget(f, "severity")));
    cJSON *props = cJSON_AddObjectToObject(rule, "properties");
    cJSON *tags = cJSON_AddArrayToObject(props, "tags");
    cJSON_AddItemToArray(tags, cJSON_CreateString("security"));
    if (sget(f, "category")) cJSON_AddItemToArray(tags, cJSON_CreateString(sget(f, "category")));
    cJSON_AddStringToObject(props, "security-severity", security_severity(sget(f, "severity")));
    return rule;
}

static cJSON *result_json(const cJSON *f, int idx)
{
    cJSON *res = cJSON_CreateObject();
    const char *id = sget(f, "rule_id");
    const char *title = sget(f, "title");
    cJSON_AddStringToObject(res, "ruleId", id ? id : "unknown");
    if (idx >= 0) cJSON_AddNumberToObject(res, "ruleIndex", idx);
    cJSON_AddStringToObject(res, "level", sarif_level(sget(f, "severity")));
    char text[1024];
    const cJSON *ev = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(f, "evidence"), 0);
    const char *x = sget(ev, "excerpt");
    snprintf(text, sizeof text, "%s%s%s", title ? title : "finding", x ? ": " : "", x ? x : "");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(res, "message"), "text", text);
    const cJSON *loc = cJSON_GetObjectItemCaseSensitive(f, "location");
    const char *file = sget(loc, "file");
    const cJSON *line = cJSON_GetObjectItemCaseSensitive(loc, "line");
    cJSON *locs = cJSON_AddArrayToObject(res, "locations");
    cJSON *l = cJSON_CreateObject();
    cJSON *phys = cJSON_AddObjectToObject(l, "physicalLocation");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(phys, "artifactLocation"), "uri", file ? file : "package.json");
    cJSON *region = cJSON_AddObjectToObject(phys, "region");
    cJSON_AddNumberToObject(region, "startLine", cJSON_IsNumber(line) && line->valuedouble >= 1 ? line->valuedouble : 1);
    cJSON_AddItemToArray(locs, l);
    if (sget(f, "id")) cJSON_AddStringToObject(cJSON_AddObjectToObject(res, "partialFingerprints"), "scriptboxFinding/v1", sget(f, "id"));
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "suppressed"))) {
        cJSON *sup = cJSON_CreateObject();
        cJSON_AddStringToObject(sup, "kind", "external");
        const char *why = sget(cJSON_GetObjectItemCaseSensitive(f, "suppressed_by"), "reason");
        if (why) cJSON_AddStringToObject(sup, "justification", why);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(res, "suppressions"), sup);
    }
    cJSON *props = cJSON_AddObjectToObject(res, "properties");
    if (sget(f, "category")) cJSON_AddStringToObject(props, "category", sget(f, "category"));
    if (sget(f, "severity")) cJSON_AddStringToObject(props, "severity", sget(f, "severity"));
    cJSON *evidence = cJSON_GetObjectItemCaseSensitive(f, "evidence");
    if (evidence) cJSON_AddItemToObject(props, "evidence", cJSON_Duplicate(evidence, 1));
    return res;
}

cJSON *report_render_sarif(const cJSON *report)
{
    const cJSON *findings = cJSON_GetObjectItemCaseSensitive(report, "findings");
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
    cJSON_AddStringToObject(s, "version", "2.1.0");
    cJSON *runs = cJSON_AddArrayToObject(s, "runs");
    cJSON *run = cJSON_CreateObject();
    cJSON *driver = cJSON_AddObjectToObject(cJSON_AddObjectToObject(run, "tool"), "driver");
    cJSON_AddStringToObject(driver, "name", "scriptbox");
    cJSON_AddStringToObject(driver, "semanticVersion", SCRIPTBOX_VERSION);
    cJSON *rules = cJSON_AddArrayToObject(driver, "rules");
    const cJSON *f;
    cJSON_ArrayForEach(f, findings) {
        const char *id = sget(f, "rule_id");
        if (id && rule_index(rules, id) < 0) cJSON_AddItemToArray(rules, rule_json(f, id));
    }
    cJSON *results = cJSON_AddArrayToObject(run, "results");
    cJSON_ArrayForEach(f, findings) {
        const char *id = sget(f, "rule_id");
        cJSON_AddItemToArray(results, result_json(f, id ? rule_index(rules, id) : -1));
    }
    cJSON *props = cJSON_AddObjectToObject(run, "properties");
    const char *verdict = sget(report, "verdict");
    cJSON_AddStringToObject(props, "verdict", verdict ? verdict : "clean");
    const cJSON *pkg = cJSON_GetObjectItemCaseSensitive(report, "package");
    if (sget(pkg, "name")) cJSON_AddStringToObject(props, "package", sget(pkg, "name"));
    if (sget(pkg, "version")) cJSON_AddStringToObject(props, "version", sget(pkg, "version"));
    const cJSON *cov = cJSON_GetObjectItemCaseSensitive(report, "coverage");
    if (cov) cJSON_AddItemToObject(props, "coverage", cJSON_Duplicate(cov, 1));
    cJSON_AddItemToArray(runs, run);
    return s;
}
