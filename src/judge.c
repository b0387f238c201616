/* judge.c — shared judging options, config file, rules + allowlists around rules_judge(). */
#include "judge.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CONFIG_MAX_BYTES = 1024 * 1024, MANIFEST_TEXT_MAX = 1024 * 1024 };

int judge_opts_set(struct judge_opts *o, int opt, const char *arg, struct sb_error *err)
{
    switch (opt) {
    case JUDGE_OPT_RULES:
        if (o->nrules_dirs == JUDGE_MAX_DIRS) return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "at most %d --rules folders", JUDGE_MAX_DIRS);
        o->rules_dirs[o->nrules_dirs++] = arg;
        return 0;
    case JUDGE_OPT_ALLOW:
        if (o->nallow == JUDGE_MAX_ALLOW) return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "at most %d --allow files", JUDGE_MAX_ALLOW);
        o->allow_files[o->nallow++] = arg;
        return 0;
    case JUDGE_OPT_DISABLE:
        if (o->ndisable == JUDGE_MAX_DISABLE) return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "at most %d --disable ids", JUDGE_MAX_DISABLE);
        o->disable[o->ndisable++] = arg;
        return 0;
    case JUDGE_OPT_CONFIG: o->config = arg; return 0;
    case JUDGE_OPT_NO_DEFAULT: o->no_default_rules = true; return 0;
    case JUDGE_OPT_NO_STRICT: o->lenient_coverage = true; return 0;
    default: return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "unknown option; see 'scriptbox --help'");
    }
}

static char *read_bounded(const char *path, size_t max, size_t *len, int extra_flags)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | extra_flags);
    if (fd < 0) return NULL;
    char *buf = malloc(max + 1);
    size_t got = 0;
    while (buf && got < max) {
        ssize_t r = read(fd, buf + got, max - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (buf) buf[got] = 0;
    if (len) *len = got;
    return buf;
}

char *judge_read_manifest_text(const char *dir)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/package.json", dir);
    return read_bounded(path, MANIFEST_TEXT_MAX, NULL, O_NOFOLLOW | O_NONBLOCK);
}

/* The config file: --config, else $SCRIPTBOX_CONFIG, else $XDG_CONFIG_HOME (or ~/.config)
 * /scriptbox/config.json when it exists. {"rules": [dirs], "allow": [entries], "disable": [ids],
 * "default_rules": true, "strict_coverage": true}. *cfg is NULL when there is none. */
static int load_config(const struct judge_opts *o, cJSON **cfg, char *where, size_t cap, struct sb_error *err)
{
    *cfg = NULL;
    const char *path = o->config ? o->config : getenv("SCRIPTBOX_CONFIG");
    bool explicit = path && *path;
    if (!explicit) {
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        if (xdg && *xdg) snprintf(where, cap, "%s/scriptbox/config.json", xdg);
        else if (home && *home) snprintf(where, cap, "%s/.config/scriptbox/config.json", home);
        else return 0;
        if (access(where, F_OK) != 0) return 0;
    } else {
        snprintf(where, cap, "%s", path);
    }
    size_t len;
    char *text = read_bounded(where, CONFIG_MAX_BYTES, &len, 0);
    if (!text) return sb_fail(err, SB_EXIT_INPUT, "bad-config", errno, "cannot read config %s: %s", where, strerror(errno));
    *cfg = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(*cfg)) {
        cJSON_Delete(*cfg);
        *cfg = NULL;
        return sb_fail(err, SB_EXIT_INPUT, "bad-config", 0, "%s: not a JSON object", where);
    }
    static const char *const keys[] = {"rules", "allow", "disable", "default_rules", "strict_coverage", "comment"};
    const cJSON *k;
    cJSON_ArrayForEach(k, *cfg) {
        bool ok = false;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) ok |= !strcmp(k->string, keys[i]);
        if (!ok) return sb_fail(err, SB_EXIT_INPUT, "bad-config", 0, "%s: unknown key '%s' (rules, allow, disable, default_rules, strict_coverage)", where, k->string);
    }
    return 0;
}

static int collect_strings(const cJSON *arr, const char **out, size_t *n, size_t max, const char *what, const char *where,
                           struct sb_error *err)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        if (!cJSON_IsString(e)) return sb_fail(err, SB_EXIT_INPUT, "bad-config", 0, "%s: \"%s\" holds strings", where, what);
        if (*n == max) return sb_fail(err, SB_EXIT_INPUT, "bad-config", 0, "%s: too many %s", where, what);
        out[(*n)++] = e->valuestring;
    }
    return 0;
}

static int load_all(const struct judge_opts *o, cJSON *cfg, const char *cfg_path, struct ruleset **rs, cJSON *dirs_out,
                    struct sb_error *err)
{
    const char *dirs[JUDGE_MAX_DIRS * 2 + 1];
    const char *disable[JUDGE_MAX_DISABLE * 2];
    size_t nd = 0, ndis = 0;
    bool want_default = !o->no_default_rules && !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(cfg, "default_rules"));
    if (want_default) {
        const char *def = rules_default_dir();
        if (!def)
            return sb_fail(err, SB_EXIT_INPUT, "rules-missing", 0,
                           "cannot find the default rules folder; fix: set SCRIPTBOX_RULES_DIR or reinstall scriptbox");
        dirs[nd++] = def;
    }
    if (cfg && collect_strings(cJSON_GetObjectItemCaseSensitive(cfg, "rules"), dirs, &nd, JUDGE_MAX_DIRS * 2, "rules", cfg_path, err) < 0)
        return -1;
    for (size_t i = 0; i < o->nrules_dirs; i++) dirs[nd++] = o->rules_dirs[i];
    if (cfg && collect_strings(cJSON_GetObjectItemCaseSensitive(cfg, "disable"), disable, &ndis, JUDGE_MAX_DISABLE, "disable", cfg_path, err) < 0)
        return -1;
    for (size_t i = 0; i < o->ndisable; i++) disable[ndis++] = o->disable[i];
    if (!nd) return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "no rules to load: --no-default-rules needs --rules DIR");
    struct rules_load_opts lo = {.dirs = dirs, .ndirs = nd, .disable = disable, .ndisable = ndis};
    if (ruleset_load(rs, &lo, err) < 0) return -1;
    for (size_t i = 0; dirs_out && i < nd; i++) cJSON_AddItemToArray(dirs_out, cJSON_CreateString(dirs[i]));
    return 0;
}

int judge_load_rules(const struct judge_opts *o, struct ruleset **rs, cJSON *dirs_out, struct sb_error *err)
{
    cJSON *cfg;
    char where[PATH_MAX];
    if (load_config(o, &cfg, where, sizeof where, err) < 0) return -1;
    int rc = load_all(o, cfg, where, rs, dirs_out, err);
    cJSON_Delete(cfg);
    return rc;
}

struct judge_loaded {
    cJSON *cfg;
    struct ruleset *rs;
    struct allowlist *al;
    cJSON *sources, *allows;   /* what was read, for the report's "rules" */
};

void judge_loaded_free(struct judge_loaded *l)
{
    if (!l) return;
    ruleset_free(l->rs);
    allowlist_free(l->al);
    cJSON_Delete(l->cfg);
    cJSON_Delete(l->sources);
    cJSON_Delete(l->allows);
    free(l);
}

int judge_load(const struct judge_opts *o, struct judge_loaded **out, struct sb_error *err)
{
    *out = NULL;
    struct judge_loaded *l = calloc(1, sizeof *l);
    if (!l) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory loading the rules");
    char where[PATH_MAX];
    if (load_config(o, &l->cfg, where, sizeof where, err) < 0) {
        free(l);
        return -1;
    }
    int rc = -1;
    l->sources = cJSON_CreateArray();
    l->allows = cJSON_CreateArray();
    if (!l->sources || !l->allows) {
        sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory loading the rules");
        goto out;
    }
    if (load_all(o, l->cfg, where, &l->rs, l->sources, err) < 0) goto out;
    const cJSON *cfg_allow = cJSON_GetObjectItemCaseSensitive(l->cfg, "allow");
    if (cfg_allow) {
        if (allowlist_add_json(&l->al, cfg_allow, where, err) < 0) goto out;
        cJSON_AddItemToArray(l->allows, cJSON_CreateString(where));
    }
    for (size_t i = 0; i < o->nallow; i++) {
        if (allowlist_load_file(&l->al, o->allow_files[i], err) < 0) goto out;
        cJSON_AddItemToArray(l->allows, cJSON_CreateString(o->allow_files[i]));
    }
    rc = 0;
out:
    if (rc < 0) judge_loaded_free(l);
    else *out = l;
    return rc;
}

int judge_run_loaded(const struct judge_opts *o, const struct judge_loaded *l, const struct rules_input *in,
                     const char *pkg_name, const char *pkg_version, struct judgement *out, struct sb_error *err)
{
    memset(out, 0, sizeof *out);
    struct rules_result rr;
    if (rules_judge(l->rs, in, &rr, err) < 0) return -1;
    allowlist_apply(l->al, rr.findings, pkg_name, pkg_version);
    out->findings = rr.findings;
    out->coverage = rr.coverage;
    out->rules = cJSON_CreateObject();
    cJSON_AddItemToObject(out->rules, "sources", cJSON_Duplicate(l->sources, 1));
    cJSON_AddItemToObject(out->rules, "allowlists", cJSON_Duplicate(l->allows, 1));
    cJSON_AddNumberToObject(out->rules, "loaded", (double)ruleset_count(l->rs));
    cJSON_AddNumberToObject(out->rules, "disabled", (double)ruleset_disabled_count(l->rs));
    out->strict_coverage = !o->lenient_coverage && !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(l->cfg, "strict_coverage"));
    cJSON_AddBoolToObject(out->rules, "strict_coverage", out->strict_coverage);
    return 0;
}

int judge_run(const struct judge_opts *o, const struct rules_input *in, const char *pkg_name,
              const char *pkg_version, struct judgement *out, struct sb_error *err)
{
    struct judge_loaded *l;
    memset(out, 0, sizeof *out);
    if (judge_load(o, &l, err) < 0) return -1;
    int rc = judge_run_loaded(o, l, in, pkg_name, pkg_version, out, err);
    judge_loaded_free(l);
    return rc;
}

void judgement_free(struct judgement *j)
{
    cJSON_Delete(j->findings);
    cJSON_Delete(j->coverage);
    cJSON_Delete(j->rules);
    memset(j, 0, sizeof *j);
}
