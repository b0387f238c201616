/*
 * judge.h — the glue between a run (or a saved event stream) and the rules engine: the options
 * every judging command shares (--rules, --allow, --disable, --config, --no-default-rules,
 * --no-strict-coverage), loading rules and allowlists, judging, and the pieces the report shows.
 */
#ifndef SCRIPTBOX_JUDGE_H
#define SCRIPTBOX_JUDGE_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "error.h"
#include "rules.h"

enum { JUDGE_MAX_DIRS = 16, JUDGE_MAX_ALLOW = 16, JUDGE_MAX_DISABLE = 64 };

/* getopt_long values of the shared options (above any command's own). */
enum {
    JUDGE_OPT_RULES = 0x100, JUDGE_OPT_ALLOW, JUDGE_OPT_DISABLE, JUDGE_OPT_CONFIG, JUDGE_OPT_NO_DEFAULT,
    JUDGE_OPT_NO_STRICT, JUDGE_OPT_END
};

#define JUDGE_LONGOPTS                                                                   \
    {"rules", required_argument, NULL, JUDGE_OPT_RULES},                                 \
    {"allow", required_argument, NULL, JUDGE_OPT_ALLOW},                                 \
    {"disable", required_argument, NULL, JUDGE_OPT_DISABLE},                             \
    {"config", required_argument, NULL, JUDGE_OPT_CONFIG},                               \
    {"no-default-rules", no_argument, NULL, JUDGE_OPT_NO_DEFAULT},                       \
    {"no-strict-coverage", no_argument, NULL, JUDGE_OPT_NO_STRICT}

struct judge_opts {
    const char *rules_dirs[JUDGE_MAX_DIRS];
    size_t nrules_dirs;
    const char *allow_files[JUDGE_MAX_ALLOW];
    size_t nallow;
    const char *disable[JUDGE_MAX_DISABLE];
    size_t ndisable;
    const char *config;
    bool no_default_rules;
    bool lenient_coverage;   /* --no-strict-coverage: gaps do not keep the verdict from clean */
};

/* One of the JUDGE_OPT_* options. Returns 0 or -1 (usage error). */
int judge_opts_set(struct judge_opts *o, int opt, const char *arg, struct sb_error *err);

/* Everything the report needs from the rules. */
struct judgement {
    cJSON *findings;   /* array (allowlisted ones marked suppressed) */
    cJSON *coverage;   /* array */
    cJSON *rules;      /* {loaded, disabled, sources[], allowlists[]} */
    bool strict_coverage;
};

/* Load the rules (default folder, config, --rules) and allowlists, judge in, apply allowlists. */
int judge_run(const struct judge_opts *o, const struct rules_input *in, const char *pkg_name,
              const char *pkg_version, struct judgement *out, struct sb_error *err);
void judgement_free(struct judgement *j);

/* Load the rules and allowlists once, before anything runs (bad rule files or allowlists are
 * reported then, not after), and judge with them later: reading them takes ~3 ms. */
struct judge_loaded;
int judge_load(const struct judge_opts *o, struct judge_loaded **out, struct sb_error *err);
int judge_run_loaded(const struct judge_opts *o, const struct judge_loaded *l, const struct rules_input *in,
                     const char *pkg_name, const char *pkg_version, struct judgement *out, struct sb_error *err);
void judge_loaded_free(struct judge_loaded *l);

/* Load the ruleset only (rules list/test). dirs_out (may be NULL) receives the folders read. */
int judge_load_rules(const struct judge_opts *o, struct ruleset **rs, cJSON *dirs_out, struct sb_error *err);

/* package.json text of a host folder (bounded), or NULL. */
char *judge_read_manifest_text(const char *dir);

#endif
