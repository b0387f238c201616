/*
 * rules.h — the rules engine: declarative rule files (rules/NAME.json) judged against the event
 * stream, the package's files and the registry facts. Format: docs/rules.md.
 *
 * Loading reads every *.json of each rules folder in order (the default folder first, then the
 * user's --rules folders), merges shared lists, macros and rules (override: append | replace),
 * validates every rule (errors name the file, the rule id and the field) and precompiles
 * conditions (regex, globs, CIDRs, lists). Judging is linear in the events: each JSON line is
 * parsed once and offered to the event rules of its kind and to the sequence rules' pending
 * partial matches (bounded). Findings are deduplicated per rule with a capped evidence list.
 */
#ifndef SCRIPTBOX_RULES_H
#define SCRIPTBOX_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "error.h"

struct ruleset;

struct rules_load_opts {
    const char *const *dirs;   /* folders to read, in order (later ones extend earlier ones) */
    size_t ndirs;
    const char *const *disable; /* rule ids to disable (unknown ids are an error) */
    size_t ndisable;
};

/* The folder of the shipped rules: $SCRIPTBOX_RULES_DIR, else <exe>/../rules (source tree),
 * else <exe>/../share/scriptbox/rules (installed). NULL when none exists. */
const char *rules_default_dir(void);

int ruleset_load(struct ruleset **out, const struct rules_load_opts *o, struct sb_error *err);
void ruleset_free(struct ruleset *rs);
size_t ruleset_count(const struct ruleset *rs);          /* enabled rules */
size_t ruleset_disabled_count(const struct ruleset *rs);

/* The catalogue: [{id, title, severity, category, input, file, description, references,
 * enabled}] in load order. */
cJSON *ruleset_catalogue(const struct ruleset *rs);

/* What rules_judge looks at. Every field may be absent (NULL): the matching checks are then
 * reported in the coverage list instead of silently finding nothing. */
struct rules_input {
    const char *events;           /* JSON Lines */
    size_t events_len;
    const char *package_dir;      /* host folder holding the package's files (content rules) */
    const char *sandbox_package_dir; /* the package folder inside the sandbox; NULL: inferred
                                        from the first exec's cwd */
    const cJSON *manifest;        /* package.json (name, version, scripts) */
    const char *manifest_text;    /* its text, for script line numbers in evidence */
    const cJSON *facts;           /* registry facts, or NULL */
    bool facts_expected;          /* a registry target: missing facts are a coverage gap */
};

/* Result: findings (array of objects: id, rule_id, severity, category, title, description,
 * references, count, evidence[], evidence_omitted, location {file, line}), coverage (array of
 * {check, status: "analyzed" | "not analyzed" | "partial", reason}). Caller frees both. */
struct rules_result {
    cJSON *findings;
    cJSON *coverage;
};

int rules_judge(const struct ruleset *rs, const struct rules_input *in, struct rules_result *out,
                struct sb_error *err);
void rules_result_free(struct rules_result *r);

/* `rules test`: run every rule's examples. Writes one line per failure to out; returns the
 * number of failing examples (0 = all good) and fills *nexamples. */
int ruleset_test(const struct ruleset *rs, FILE *out, size_t *nexamples, size_t *nrules_tested);

/* ---- allowlists ---------------------------------------------------------------------- */

struct allowlist;

/* Entries {package?, version?, rule?, finding?, reason} from a JSON file {"allow": [...]}
 * (or a bare array); at least one of package/rule/finding and a non-empty reason. */
int allowlist_load_file(struct allowlist **al, const char *path, struct sb_error *err);
/* Same from an array already parsed (config file); where names the source in errors. */
int allowlist_add_json(struct allowlist **al, const cJSON *entries, const char *where, struct sb_error *err);
void allowlist_free(struct allowlist *al);
/* Mark matching findings "suppressed": true with "suppressed_by": {reason, source}. */
void allowlist_apply(const struct allowlist *al, cJSON *findings, const char *pkg_name, const char *pkg_version);

/* verdict from findings (unsuppressed) and coverage: "malicious" when a finding is critical or
 * two high findings of different categories agree; "suspicious" for any high or medium;
 * "incomplete" when nothing says otherwise but a check could not run and strict_coverage;
 * else "clean". */
const char *rules_verdict(const cJSON *findings, const cJSON *coverage, bool strict_coverage);

#endif
