/*
 * rules_int.h — the rules engine's compiled forms, shared by rules*.c only.
 */
#ifndef SCRIPTBOX_RULES_INT_H
#define SCRIPTBOX_RULES_INT_H

#include <regex.h>
#include <stdint.h>
#include <stdio.h>

#include "rules.h"

enum { RULE_MAX_STEPS = 8, RULE_MAX_FIELD = 8, EVIDENCE_MAX = 8 };

enum rule_input { RI_EVENT, RI_SEQUENCE, RI_CONTENT, RI_METADATA };

enum cond_type { C_ALL, C_ANY, C_NOT, C_LEAF };

enum cond_op {
    OP_EQUALS, OP_IN, OP_GLOB, OP_REGEX, OP_PREFIX, OP_SUFFIX, OP_CONTAINS, OP_CIDR, OP_PORT,
    OP_GT, OP_GE, OP_LT, OP_LE, OP_BITS_ANY, OP_BITS_ALL, OP_BITS_NONE, OP_EXISTS, OP_SAME_AS,
    OP_ENTROPY_GE, OP_LABEL_LEN_GE, OP_LABEL_ENTROPY_GE, OP_LOOKALIKE,
};

enum xform { X_NONE, X_BASENAME, X_DIRNAME, X_LOWER, X_JOIN };

struct cidr {
    int family;               /* 4 or 6 */
    unsigned char addr[16];
    int bits;
};

struct item {
    char *s;                  /* string form (NULL for pure numbers) */
    bool has_var;             /* contains ${...}: expanded when judged */
    bool is_num;
    double num;
    bool re_ok;
    regex_t re;
    struct cidr cidr;
    unsigned lo, hi;          /* port range */
};

struct cond {
    enum cond_type type;
    struct cond **kids;
    size_t nkids;
    /* leaf */
    int alias;                /* -1: the event itself; else a sequence step index */
    char *field[RULE_MAX_FIELD];
    size_t nfield;
    enum cond_op op;
    enum xform xf;
    bool icase;
    struct item *items;
    size_t nitems;
    double num;               /* numeric operand */
    bool flag;                /* exists: expected */
    int same_alias;           /* same_as: step index and field */
    char *same_field[RULE_MAX_FIELD];
    size_t nsame;
};

struct pattern {
    char *text;               /* as written, for messages */
    bool literal;
    bool icase;
    regex_t re;
    unsigned min_count;       /* matches needed in one file (default 1) */
};

struct content_rule {
    char **files;             /* globs over the path relative to the package (fnmatch, no
                                 FNM_PATHNAME: "*" crosses "/"); "*.js" also matches "a/b.js" */
    size_t nfiles;
    bool install_scripts;     /* only files named by the preinstall/install/postinstall scripts */
    size_t max_bytes;
    struct pattern *all, *any, *none;
    size_t nall, nany, nnone;
    unsigned min_any;
};

struct step {
    char *as;
    unsigned kinds;           /* bit per event kind */
    struct cond *where;
};

enum seq_scope { SCOPE_TREE, SCOPE_PID, SCOPE_RUN };

struct sev_if {
    struct cond *where;
    int severity;
};

struct aggregate {
    char *field[RULE_MAX_FIELD];   /* the value counted distinct */
    size_t nfield;
    int key_labels;                /* group by the last N dot-separated labels of that value (0: one group) */
    unsigned at_least;
};

struct rule {
    char *id, *title, *description, *category, *file;
    int severity;
    bool enabled;
    enum rule_input input;
    cJSON *src;               /* merged rule object (owned) */
    /* event */
    unsigned kinds;
    struct cond *where;
    bool has_agg;
    struct aggregate agg;
    /* sequence */
    struct step steps[RULE_MAX_STEPS];
    size_t nsteps;
    uint64_t within_ns;
    enum seq_scope scope;
    /* content */
    struct content_rule content;
    struct sev_if *sevif;
    size_t nsevif;
};

struct ruleset {
    struct rule *rules;
    size_t nrules;
    cJSON *lists;             /* name -> array */
    cJSON *macros;            /* name -> condition */
};

/* Event kinds known to the engine (docs/ARCHITECTURE.md, "Event stream"). */
int rules_kind_bit(const char *kind);   /* -1 when unknown */

/* Judge-time values substituted for ${name} in strings. */
struct rules_vars {
    const char *package_dir;  /* inside the sandbox */
    const char *package_name;
};

struct eval_ctx {
    const cJSON *ev;
    const cJSON *const *bound;   /* sequence steps so far (index = step), may be NULL */
    size_t nbound;
    const struct rules_vars *vars;
    char *note;                  /* optional: operators that explain a match write here (lookalike) */
    size_t note_cap;
};

/* rules_match.c */
struct cond *cond_compile(const cJSON *j, const struct ruleset *rs, const struct rule *r,
                          const char *const *aliases, size_t naliases, int depth, char *why, size_t whylen);
void cond_free(struct cond *c);
bool cond_eval(const struct cond *c, const struct eval_ctx *x);
const cJSON *field_get(const cJSON *root, char *const *field, size_t n);
int field_split(const char *path, char **out, size_t max);

/* rules_content.c */
int content_compile(struct content_rule *cr, const cJSON *j, char *why, size_t whylen);
void content_free(struct content_rule *cr);
/* Would this rule look at this file (glob and install-script filter, not size)? */
bool content_wants(const struct content_rule *cr, const char *path, bool is_install_script);
/* Match one file's bytes; on a match fills line (1-based) and an excerpt. */
bool content_match(const struct content_rule *cr, const char *path, const char *buf, size_t len,
                   bool is_install_script, unsigned *line, char *excerpt, size_t exlen);

/* rules_judge.c */
struct judge;
struct judge *judge_new(const struct ruleset *rs, const struct rules_vars *vars, int only_rule);
void judge_event(struct judge *j, cJSON *ev);
void judge_content_file(struct judge *j, const char *rel, const char *buf, size_t len, bool install_script);
void judge_metadata(struct judge *j, const cJSON *meta);
/* Findings so far; scripts_text (package.json) gives behaviour findings a location. */
cJSON *judge_findings(struct judge *j, const char *manifest_text);
void judge_free(struct judge *j);
int judge_max_severity_of(struct judge *j, size_t rule_index);   /* -1: no finding */

char *rules_excerpt(const cJSON *ev);   /* short text for evidence (malloc'd) */

#endif
