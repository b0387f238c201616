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

int judge_run(const struct judge_opts *o, const struct rules_input *in, const char *pkg_name,
              const char *pkg_version, struct judgement *out, struct sb_error *err)
{
    memset(out, 0, sizeof *out);
    cJSON *cfg;
    char where[PATH_MAX];
    if (load_config(o, &cfg, where, sizeof where, err) < 0) return -1;
    struct ruleset *rs = NULL;
    struct allowlist *al = NULL;
    int rc = -1;
    out->rules = cJSON_CreateObject();
    cJSON *sources = cJSON_AddArrayToObject(out->rules, "sources");
    cJSON *allows = cJSON_AddArrayToObject(out->rules, "allowlists");
    if (load_all(o, cfg, where, &rs, sources, err) < 0) goto out;
    const cJSON *cfg_allow = cJSON_GetObjectItemCaseSensitive(cfg, "allow");
    if (cfg_allow) {
        if (allowlist_add_json(&al, cfg_allow, where, err) < 0) goto out;
        cJSON_AddItemToArray(allows, cJSON_CreateString(where));
    }
    for (size_t i = 0; i < o->nallow; i++) {
        if (allowlist_load_file(&al, o->allow_files[i], err) < 0) goto out;
        cJSON_AddItemToArray(allows, cJSON_CreateString(o->allow_files[i]));
    }
    struct rules_result rr;
    if (rules_judge(rs, in, &rr, err) < 0) goto out;
    allowlist_apply(al, rr.findings, pkg_name, pkg_version);
    out->findings = rr.findings;
    out->coverage = rr.coverage;
    cJSON_AddNumberToObject(out->rules, "loaded", (double)ruleset_count(rs));
    cJSON_AddNumberToObject(out->rules, "disabled", (double)ruleset_disabled_count(rs));
    out->strict_coverage = !o->lenient_coverage && !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(cfg, "strict_coverage"));
    cJSON_AddBoolToObject(out->rules, "strict_coverage", out->strict_coverage);
    rc = 0;
out:
    if (rc < 0) judgement_free(out);
    ruleset_free(rs);
    allowlist_free(al);
    cJSON_Delete(cfg);
    return rc;
}

int judge_validate(const struct judge_opts *o, struct sb_error *err)
{
    cJSON *cfg;
    char where[PATH_MAX];
    if (load_config(o, &cfg, where, sizeof where, err) < 0) return -1;
    struct ruleset *rs = NULL;
    struct allowlist *al = NULL;
    int rc = load_all(o, cfg, where, &rs, NULL, err);
    const cJSON *cfg_allow = cJSON_GetObjectItemCaseSensitive(cfg, "allow");
    if (rc == 0 && cfg_allow) rc = allowlist_add_json(&al, cfg_allow, where, err);
    for (size_t i = 0; rc == 0 && i < o->nallow; i++) rc = allowlist_load_file(&al, o->allow_files[i], err);
    ruleset_free(rs);
    allowlist_free(al);
    cJSON_Delete(cfg);
    return rc;
}

void judgement_free(struct judgement *j)
{
    cJSON_Delete(j->findings);
    cJSON_Delete(j->coverage);
    cJSON_Delete(j->rules);
    memset(j, 0, sizeof *j);
}
