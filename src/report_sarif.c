/* report_sarif.c — SARIF 2.1.0 rendering of a report: one run, one result per finding. */
#include <string.h>

#include "report.h"

static const char *sarif_level(const char *severity)
{
    if (!severity) return "note";
    if (!strcmp(severity, "critical") || !strcmp(severity, "high")) return "error";
    if (!strcmp(severity, "medium")) return "warning";
    return "note";
}

static cJSON *driver_json(const cJSON *findings)
{
    cJSON *driver = cJSON_CreateObject();
    cJSON_AddStringToObject(driver, "name", "scriptbox");
    cJSON_AddStringToObject(driver, "semanticVersion", SCRIPTBOX_VERSION);
    cJSON *rules = cJSON_AddArrayToObject(driver, "rules");
    const cJSON *f;
    cJSON_ArrayForEach(f, findings) {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "rule_id"));
        if (!id) continue;
        bool seen = false;
        const cJSON *r;
        cJSON_ArrayForEach(r, rules)
            if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "id")), id)) seen = true;
        if (seen) continue;
        cJSON *rule = cJSON_CreateObject();
        cJSON_AddStringToObject(rule, "id", id);
        const char *title = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "title"));
        cJSON *sd = cJSON_AddObjectToObject(rule, "shortDescription");
        cJSON_AddStringToObject(sd, "text", title ? title : id);
        cJSON_AddItemToArray(rules, rule);
    }
    return driver;
}

static cJSON *result_json(const cJSON *f)
{
    cJSON *res = cJSON_CreateObject();
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "rule_id"));
    const char *title = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "title"));
    cJSON_AddStringToObject(res, "ruleId", id ? id : "unknown");
    cJSON_AddStringToObject(res, "level",
                            sarif_level(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "severity"))));
    cJSON *msg = cJSON_AddObjectToObject(res, "message");
    cJSON_AddStringToObject(msg, "text", title ? title : "finding");
    cJSON *locs = cJSON_AddArrayToObject(res, "locations");
    cJSON *loc = cJSON_CreateObject();
    cJSON *phys = cJSON_AddObjectToObject(loc, "physicalLocation");
    cJSON *art = cJSON_AddObjectToObject(phys, "artifactLocation");
    const char *file = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "file"));
    cJSON_AddStringToObject(art, "uri", file ? file : "package.json");
    cJSON_AddItemToArray(locs, loc);
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
    cJSON *tool = cJSON_AddObjectToObject(run, "tool");
    cJSON_AddItemToObject(tool, "driver", driver_json(findings));
    cJSON *results = cJSON_AddArrayToObject(run, "results");
    const cJSON *f;
    cJSON_ArrayForEach(f, findings) {
        cJSON_AddItemToArray(results, result_json(f));
    }
    cJSON *props = cJSON_AddObjectToObject(run, "properties");
    cJSON_AddStringToObject(props, "verdict",
                            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(report, "verdict")));
    cJSON_AddItemToArray(runs, run);
    return s;
}
