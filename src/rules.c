/*
 * rules.c — load, merge, validate and compile rule files (format: docs/rules.md).
 *
 * A rules folder holds NAME.json rule files and lists/NAME.json data lists. A rule file is
 *   {"lists": {name: [items] | {"items": [...], "override": "append"|"replace"}},
 *    "macros": {name: condition | {"condition": c, "override": "replace"|"append"}},
 *    "rules": [rule, ...], "disable": ["rule-id", ...]}
 * A list file lists/NAME.json is a list named NAME: an array, or an object whose values are
 * the items (rules/lists/wallet-extensions.json: {"MetaMask": "<id>", ...}).
 * Folders are read in order and files in name order; redefining a list, macro or rule without
 * "override" is an error naming both files.
 */
#include <dirent.h>
#include "fileio.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "rules_int.h"

enum { RULE_FILE_MAX = 4 * 1024 * 1024, MAX_FILES = 512, MAX_RULES = 4096 };

static const char *const categories[] = {
    "wallet-theft", "credential-theft", "exfiltration", "download-exec", "persistence", "remote-access",
    "sandbox-escape", "tampering", "evasion", "obfuscation", "network", "process", "filesystem",
    "metadata", "integrity",
};

static const char *const kind_names[] = {
    "exec", "open", "fs", "socket", "net", "denied", "proc_exit", "note", "dns", "payload", "exfil", "truncated",
};

int rules_kind_bit(const char *kind)
{
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
        if (!strcmp(kind, kind_names[i])) return (int)i;
    return -1;
}

/* ---- default folder ---------------------------------------------------------------- */

const char *rules_default_dir(void)
{
    static char dir[PATH_MAX];
    const char *env = getenv("SCRIPTBOX_RULES_DIR");
    if (env && *env) {
        snprintf(dir, sizeof dir, "%s", env);
        return dir;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = 0;
    static const char *const rel[] = {"/../rules", "/../../rules", "/../share/scriptbox/rules"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char cand[PATH_MAX + 32], probe[PATH_MAX + 64];
        snprintf(cand, sizeof cand, "%s%s", exe, rel[i]);
        snprintf(probe, sizeof probe, "%s/default.json", cand);
        if (access(probe, R_OK) == 0 && realpath(cand, dir)) return dir;
    }
    return NULL;
}

/* ---- reading ------------------------------------------------------------------------ */

static cJSON *read_json(const char *path, struct sb_error *err)
{
    size_t got = 0;
    char *buf = file_read_bounded(path, RULE_FILE_MAX, 0, &got);
    if (!buf) {
        if (errno == EINVAL || errno == EFBIG)
            sb_fail(err, SB_EXIT_INPUT, "bad-rules", errno, "%s: not a regular file of at most %d bytes", path, RULE_FILE_MAX);
        else
            sb_fail(err, SB_EXIT_INPUT, "bad-rules", errno, "cannot read rule file %s: %s", path, strerror(errno));
        return NULL;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(buf, got, &end, 0);
    if (!j) {
        size_t at = end ? (size_t)(end - buf) : 0, line = 1;
        for (size_t i = 0; i < at && i < got; i++) line += buf[i] == '\n';
        sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: invalid JSON near line %zu; fix: check the file with a JSON linter", path, line);
    }
    free(buf);
    return j;
}

struct loader {
    struct ruleset *rs;
    cJSON *rules;        /* array of merged rule objects, each with "__file" */
    cJSON *list_files;   /* name -> file that defined it */
    cJSON *macro_files;
    cJSON *disabled;     /* array of ids */
};

static int merge_named(cJSON *into, cJSON *files, const char *what, const char *name, const cJSON *val,
                       const char *path, struct sb_error *err)
{
    const char *ov = NULL;
    const cJSON *body = val;
    const char *body_key = !strcmp(what, "list") ? "items" : "condition";
    if (cJSON_IsObject(val) && cJSON_GetObjectItemCaseSensitive(val, "override")) {
        ov = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(val, "override"));
        body = cJSON_GetObjectItemCaseSensitive(val, body_key);
        if (!ov || (strcmp(ov, "append") && strcmp(ov, "replace")) || !body)
            return sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: %s '%s': override must be \"append\" or \"replace\" with \"%s\"",
                           path, what, name, body_key);
    } else if (cJSON_IsObject(val) && !strcmp(what, "list")) {
        body = cJSON_GetObjectItemCaseSensitive(val, "items");
        if (!body) return sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: list '%s' must be an array or {\"items\": [...]}", path, name);
    }
    if (!strcmp(what, "list") && !cJSON_IsArray(body))
        return sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: list '%s': items must be an array", path, name);
    cJSON *old = cJSON_GetObjectItemCaseSensitive(into, name);
    if (old && !ov)
        return sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: %s '%s' is already defined in %s; fix: add \"override\": \"append\" or \"replace\"",
                       path, what, name, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(files, name)));
    if (!old && ov)
        return sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: %s '%s' overrides nothing: no earlier file defines it", path, what, name);
    cJSON *copy = cJSON_Duplicate(body, 1);
    if (!copy) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory");
    if (old && !strcmp(ov, "append")) {
        if (!strcmp(what, "list")) {
            cJSON *e;
            while ((e = cJSON_DetachItemFromArray(copy, 0))) cJSON_AddItemToArray(old, e);
            cJSON_Delete(copy);
        } else {
            cJSON *any = cJSON_CreateObject();
            cJSON *arr = cJSON_AddArrayToObject(any, "any");
            cJSON_AddItemToArray(arr, cJSON_DetachItemFromObjectCaseSensitive(into, name));
            cJSON_AddItemToArray(arr, copy);
            cJSON_AddItemToObject(into, name, any);
        }
        return 0;
    }
    if (old) cJSON_ReplaceItemInObjectCaseSensitive(into, name, copy);
    else cJSON_AddItemToObject(into, name, copy);
    cJSON_DeleteItemFromObjectCaseSensitive(files, name);
    cJSON_AddStringToObject(files, name, path);
    return 0;
}

static cJSON *find_rule(cJSON *rules, const char *id)
{
    cJSON *r;
    cJSON_ArrayForEach(r, rules) {
        const char *rid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "id"));
        if (rid && !strcmp(rid, id)) return r;
    }
    return NULL;
}

static const char *const input_keys[] = {"event", "sequence", "content", "metadata"};

/* override "append": where-conditions are and-ed, arrays concatenated, other fields replaced. */
static int merge_rule(struct loader *L, const cJSON *r, const char *path, struct sb_error *err)
{
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "id"));
    if (!id) return sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: a rule has no string \"id\"", path);
    const cJSON *ovj = cJSON_GetObjectItemCaseSensitive(r, "override");
    const char *ov = cJSON_GetStringValue(ovj);
    if (ovj && (!ov || (strcmp(ov, "append") && strcmp(ov, "replace"))))
        return sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: rule %s: field override: must be \"append\" or \"replace\"", path, id);
    cJSON *old = find_rule(L->rules, id);
    if (old && !ov)
        return sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: rule %s is already defined in %s; fix: rename it or add \"override\"",
                       path, id, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(old, "__file")));
    if (!old && ov)
        return sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: rule %s: override of a rule no earlier file defines", path, id);
    if (!old) {
        if (cJSON_GetArraySize(L->rules) >= MAX_RULES)
            return sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: more than %d rules", path, MAX_RULES);
        cJSON *copy = cJSON_Duplicate(r, 1);
        if (!copy) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory");
        cJSON_AddStringToObject(copy, "__file", path);
        cJSON_AddItemToArray(L->rules, copy);
        return 0;
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, r) {
        if (!strcmp(f->string, "id") || !strcmp(f->string, "override")) continue;
        cJSON *cur = cJSON_GetObjectItemCaseSensitive(old, f->string);
        cJSON *nv = cJSON_Duplicate(f, 1);
        if (!nv) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory");
        if (!strcmp(ov, "append") && cur) {
            if (cJSON_IsArray(cur) && cJSON_IsArray(nv)) {
                cJSON *e;
                while ((e = cJSON_DetachItemFromArray(nv, 0))) cJSON_AddItemToArray(cur, e);
                cJSON_Delete(nv);
                continue;
            }
            if (cJSON_IsObject(cur) && cJSON_IsObject(nv) && !strcmp(f->string, "examples")) {
                const char *ks[] = {"match", "nomatch"};
                for (int i = 0; i < 2; i++) {
                    cJSON *a = cJSON_GetObjectItemCaseSensitive(cur, ks[i]), *b = cJSON_GetObjectItemCaseSensitive(nv, ks[i]);
                    if (!cJSON_IsArray(b)) continue;
                    if (!cJSON_IsArray(a)) { cJSON_AddItemToObject(cur, ks[i], cJSON_DetachItemFromObjectCaseSensitive(nv, ks[i])); continue; }
                    cJSON *e;
                    while ((e = cJSON_DetachItemFromArray(b, 0))) cJSON_AddItemToArray(a, e);
                }
                cJSON_Delete(nv);
                continue;
            }
            if ((!strcmp(f->string, "event") || !strcmp(f->string, "metadata")) && cJSON_IsObject(cur) && cJSON_IsObject(nv)) {
                cJSON *w_old = cJSON_DetachItemFromObjectCaseSensitive(cur, "where");
                cJSON *w_new = cJSON_DetachItemFromObjectCaseSensitive(nv, "where");
                cJSON_Delete(nv);
                if (w_new) {
                    cJSON *and = cJSON_CreateObject();
                    cJSON *arr = cJSON_AddArrayToObject(and, "all");
                    if (w_old) cJSON_AddItemToArray(arr, w_old);
                    cJSON_AddItemToArray(arr, w_new);
                    cJSON_AddItemToObject(cur, "where", and);
                } else if (w_old) {
                    cJSON_AddItemToObject(cur, "where", w_old);
                }
                continue;
            }
        }
        if (cur) cJSON_ReplaceItemInObjectCaseSensitive(old, f->string, nv);
        else cJSON_AddItemToObject(old, f->string, nv);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(old, "__override_file");
    cJSON_AddStringToObject(old, "__override_file", path);
    return 0;
}

static int load_rule_file(struct loader *L, const char *path, struct sb_error *err)
{
    cJSON *j = read_json(path, err);
    if (!j) return -1;
    int rc = -1;
    if (!cJSON_IsObject(j)) {
        sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: a rule file is an object {\"lists\", \"macros\", \"rules\", \"disable\"}", path);
        goto out;
    }
    const cJSON *k;
    cJSON_ArrayForEach(k, j) {
        if (!strcmp(k->string, "lists") || !strcmp(k->string, "macros") || !strcmp(k->string, "rules") ||
            !strcmp(k->string, "disable") || !strcmp(k->string, "comment"))
            continue;
        sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: unknown top-level key '%s'", path, k->string);
        goto out;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "lists")) {
        if (merge_named(L->rs->lists, L->list_files, "list", e->string, e, path, err) < 0) goto out;
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "macros")) {
        if (merge_named(L->rs->macros, L->macro_files, "macro", e->string, e, path, err) < 0) goto out;
    }
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(j, "rules");
    if (rules && !cJSON_IsArray(rules)) {
        sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: \"rules\" must be an array", path);
        goto out;
    }
    cJSON_ArrayForEach(e, rules) {
        if (merge_rule(L, e, path, err) < 0) goto out;
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "disable")) {
        if (!cJSON_IsString(e)) {
            sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: \"disable\" holds rule ids (strings)", path);
            goto out;
        }
        cJSON_AddItemToArray(L->disabled, cJSON_CreateString(e->valuestring));
    }
    rc = 0;
out:
    cJSON_Delete(j);
    return rc;
}

static int load_list_file(struct loader *L, const char *path, const char *name, struct sb_error *err)
{
    cJSON *j = read_json(path, err);
    if (!j) return -1;
    cJSON *items = cJSON_CreateArray();
    const cJSON *e;
    int rc = 0;
    if (cJSON_IsArray(j) || cJSON_IsObject(j)) {
        cJSON_ArrayForEach(e, j) {
            if (!cJSON_IsString(e) && !cJSON_IsNumber(e)) {
                rc = sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: list items must be strings or numbers", path);
                break;
            }
            cJSON_AddItemToArray(items, cJSON_Duplicate(e, 0));
        }
    } else {
        rc = sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: a list file is an array or an object of strings", path);
    }
    if (rc == 0) rc = merge_named(L->rs->lists, L->list_files, "list", name, items, path, err);
    cJSON_Delete(items);
    cJSON_Delete(j);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* *.json names of a folder, sorted. */
static int list_json(const char *dir, char ***names, size_t *n, bool missing_ok, struct sb_error *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (missing_ok && errno == ENOENT) return 0;
        return sb_fail(err, SB_EXIT_INPUT, "bad-rules", errno, "cannot read rules folder %s: %s", dir, strerror(errno));
    }
    char **v = calloc(MAX_FILES, sizeof *v);
    struct dirent *de;
    while (v && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".json") || de->d_name[0] == '.') continue;
        if (*n == MAX_FILES) break;
        v[(*n)++] = strdup(de->d_name);
    }
    closedir(d);
    if (!v) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory");
    qsort(v, *n, sizeof *v, cmp_str);
    *names = v;
    return 0;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static int load_dir(struct loader *L, const char *dir, struct sb_error *err)
{
    char **names;
    size_t n;
    char sub[PATH_MAX], path[PATH_MAX * 2];
    snprintf(sub, sizeof sub, "%s/lists", dir);
    if (list_json(sub, &names, &n, true, err) < 0) return -1;
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", sub, names[i]);
        names[i][strlen(names[i]) - 5] = 0;
        if (load_list_file(L, path, names[i], err) < 0) { free_names(names, n); return -1; }
    }
    free_names(names, n);
    if (list_json(dir, &names, &n, false, err) < 0) return -1;
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (load_rule_file(L, path, err) < 0) { free_names(names, n); return -1; }
    }
    free_names(names, n);
    return 0;
}

/* ---- compile ----------------------------------------------------------------------- */

#define RFAIL(...) do { snprintf(why, sizeof why, __VA_ARGS__); goto bad; } while (0)

static int kinds_mask(const cJSON *k, unsigned *mask, char *why, size_t whylen)
{
    *mask = 0;
    if (cJSON_IsString(k) && !strcmp(k->valuestring, "*")) { *mask = ~0u; return 0; }
    if (cJSON_IsString(k)) {
        int b = rules_kind_bit(k->valuestring);
        if (b < 0) { snprintf(why, whylen, "unknown event kind '%s'", k->valuestring); return -1; }
        *mask = 1u << b;
        return 0;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, k) {
        int b = cJSON_IsString(e) ? rules_kind_bit(e->valuestring) : -1;
        if (b < 0) { snprintf(why, whylen, "unknown event kind '%s'", cJSON_IsString(e) ? e->valuestring : "?"); return -1; }
        *mask |= 1u << b;
    }
    if (!*mask) { snprintf(why, whylen, "\"kinds\" must name event kinds"); return -1; }
    return 0;
}

static bool in_set(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, set[i])) return true;
    return false;
}

static int compile_rule(struct ruleset *rs, struct rule *r, cJSON *src, struct sb_error *err)
{
    char why[512] = "";
    const char *field = "";
    r->src = src;
    r->enabled = true;
    r->file = strdup(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(src, "__file")));
    r->id = strdup(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(src, "id")));
    if (!r->file || !r->id) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory");
    static const char *const allowed[] = {"id", "title", "severity", "category", "description", "references", "event",
                                          "sequence", "content", "metadata", "severity_if", "examples", "enabled",
                                          "__file", "__override_file", "comment"};
    const cJSON *k;
    cJSON_ArrayForEach(k, src) if (!in_set(k->string, allowed, sizeof allowed / sizeof allowed[0])) {
        field = k->string;
        RFAIL("unknown field");
    }
    size_t idl = strlen(r->id);
    if (!idl || idl > 64 || strspn(r->id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != idl) {
        field = "id";
        RFAIL("ids are 1-64 characters of [A-Za-z0-9._-]");
    }
    static const char *const strs[] = {"title", "description"};
    for (int i = 0; i < 2; i++) {
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(src, strs[i]));
        field = strs[i];
        if (!s || !*s) RFAIL("required, a non-empty string");
    }
    r->title = strdup(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(src, "title")));
    r->description = strdup(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(src, "description")));
    field = "severity";
    const char *sev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(src, "severity"));
    r->severity = sev ? severity_parse(sev) : -1;
    if (r->severity < 0) RFAIL("must be info, low, medium, high or critical");
    field = "category";
    const char *cat = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(src, "category"));
    if (!cat || !in_set(cat, categories, sizeof categories / sizeof categories[0]))
        RFAIL("must be one of wallet-theft, credential-theft, exfiltration, download-exec, persistence, remote-access, "
              "sandbox-escape, tampering, evasion, obfuscation, network, process, filesystem, metadata, integrity");
    r->category = strdup(cat);
    field = "references";
    const cJSON *refs = cJSON_GetObjectItemCaseSensitive(src, "references");
    if (!cJSON_IsArray(refs)) RFAIL("required, an array of strings (may be empty)");
    cJSON_ArrayForEach(k, refs) {
        if (!cJSON_IsString(k)) RFAIL("must hold strings");
    }
    field = "enabled";
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(src, "enabled");
    if (en && !cJSON_IsBool(en)) RFAIL("must be true or false");
    if (en) r->enabled = cJSON_IsTrue(en);
    field = "examples";
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(src, "examples");
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(ex, "match")) || !cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ex, "match")) ||
        !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(ex, "nomatch")) || !cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ex, "nomatch")))
        RFAIL("required: {\"match\": [at least one], \"nomatch\": [at least one]}");
    int ninputs = 0;
    for (int i = 0; i < 4; i++)
        if (cJSON_GetObjectItemCaseSensitive(src, input_keys[i])) { ninputs++; r->input = (enum rule_input)i; }
    field = "event|sequence|content|metadata";
    if (ninputs != 1) RFAIL("a rule matches exactly one input");
    const char *step_names[RULE_MAX_STEPS];
    size_t nsn = 0;
    if (r->input == RI_EVENT) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(src, "event");
        field = "event.kinds";
        if (kinds_mask(cJSON_GetObjectItemCaseSensitive(e, "kinds"), &r->kinds, why, sizeof why) < 0) goto bad;
        field = "event.where";
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(e, "where");
        if (w && !(r->where = cond_compile(w, rs, r, NULL, 0, 0, why, sizeof why))) goto bad;
        cJSON_ArrayForEach(k, e) if (strcmp(k->string, "kinds") && strcmp(k->string, "where") && strcmp(k->string, "distinct")) {
            field = "event";
            RFAIL("unknown key '%s' (kinds, where, distinct)", k->string);
        }
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "distinct");
        if (d) {
            field = "event.distinct";
            const cJSON *df = cJSON_GetObjectItemCaseSensitive(d, "field");
            const cJSON *al = cJSON_GetObjectItemCaseSensitive(d, "at_least");
            const cJSON *kl = cJSON_GetObjectItemCaseSensitive(d, "group_labels");
            if (!cJSON_IsString(df) || !cJSON_IsNumber(al) || al->valuedouble < 2 || al->valuedouble > 1000 ||
                (kl && (!cJSON_IsNumber(kl) || kl->valuedouble < 0 || kl->valuedouble > 16)))
                RFAIL("{\"field\": \"name\", \"at_least\": 2..1000, \"group_labels\": 0..16}");
            int n = field_split(df->valuestring, r->agg.field, RULE_MAX_FIELD);
            if (n < 0) RFAIL("bad field path");
            r->agg.nfield = (size_t)n;
            r->agg.at_least = (unsigned)al->valuedouble;
            r->agg.key_labels = kl ? (int)kl->valuedouble : 0;
            r->has_agg = true;
        }
    } else if (r->input == RI_SEQUENCE) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(src, "sequence");
        const cJSON *steps = cJSON_GetObjectItemCaseSensitive(s, "steps");
        field = "sequence.steps";
        if (!cJSON_IsArray(steps) || cJSON_GetArraySize(steps) < 2 || cJSON_GetArraySize(steps) > RULE_MAX_STEPS)
            RFAIL("2..%d steps", RULE_MAX_STEPS);
        field = "sequence.within_ms";
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(s, "within_ms");
        if (!cJSON_IsNumber(w) || w->valuedouble < 1) RFAIL("required, milliseconds >= 1");
        r->within_ns = (uint64_t)(w->valuedouble * 1e6);
        field = "sequence.scope";
        const char *sc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "scope"));
        if (!sc || !strcmp(sc, "tree")) r->scope = SCOPE_TREE;
        else if (!strcmp(sc, "pid")) r->scope = SCOPE_PID;
        else if (!strcmp(sc, "run")) r->scope = SCOPE_RUN;
        else RFAIL("tree, pid or run");
        const cJSON *st;
        cJSON_ArrayForEach(st, steps) {
            struct step *p = &r->steps[r->nsteps];
            field = "sequence.steps[].as";
            const char *as = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "as"));
            char auto_name[16];
            snprintf(auto_name, sizeof auto_name, "s%zu", r->nsteps);
            p->as = strdup(as ? as : auto_name);
            r->nsteps++;   /* counted now: rule_free frees a half-built step */
            field = "sequence.steps[].kinds";
            if (kinds_mask(cJSON_GetObjectItemCaseSensitive(st, "kinds"), &p->kinds, why, sizeof why) < 0) goto bad;
            field = "sequence.steps[].where";
            const cJSON *sw = cJSON_GetObjectItemCaseSensitive(st, "where");
            if (sw && !(p->where = cond_compile(sw, rs, r, step_names, nsn, 0, why, sizeof why))) goto bad;
            step_names[nsn++] = p->as;
        }
    } else if (r->input == RI_CONTENT) {
        field = "content";
        if (content_compile(&r->content, cJSON_GetObjectItemCaseSensitive(src, "content"), why, sizeof why) < 0) goto bad;
    } else {
        field = "metadata.where";
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(src, "metadata");
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(m, "where");
        if (!w || !(r->where = cond_compile(w, rs, r, NULL, 0, 0, why, sizeof why))) {
            if (!why[0]) snprintf(why, sizeof why, "required: {\"where\": condition over {package, facts}}");
            goto bad;
        }
        cJSON_ArrayForEach(k, m) if (strcmp(k->string, "where") && strcmp(k->string, "requires") && strcmp(k->string, "evidence")) {
            field = "metadata";
            RFAIL("unknown key '%s' (where, requires, evidence)", k->string);
        }
        static const char *const lists[] = {"requires", "evidence"};
        for (int li = 0; li < 2; li++) {
            const cJSON *arr = cJSON_GetObjectItemCaseSensitive(m, lists[li]);
            field = li ? "metadata.evidence" : "metadata.requires";
            if (arr && (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > 16)) RFAIL("an array of at most 16 field paths");
            cJSON_ArrayForEach(k, arr) {
                char *parts[RULE_MAX_FIELD];
                int n = cJSON_IsString(k) ? field_split(k->valuestring, parts, RULE_MAX_FIELD) : -1;
                for (int pi = 0; pi < n; pi++) free(parts[pi]);
                if (n <= 0) RFAIL("field paths such as \"facts.available.npm_user\"");
            }
        }
    }
    field = "severity_if";
    const cJSON *si = cJSON_GetObjectItemCaseSensitive(src, "severity_if");
    if (si) {
        if (!cJSON_IsArray(si) || r->input == RI_CONTENT) RFAIL("an array of {\"where\", \"severity\"} (event, sequence and metadata rules)");
        r->sevif = calloc((size_t)cJSON_GetArraySize(si) + 1, sizeof *r->sevif);
        if (!r->sevif) RFAIL("out of memory");
        cJSON_ArrayForEach(k, si) {
            const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "severity"));
            int v = s ? severity_parse(s) : -1;
            if (v < 0) RFAIL("each entry needs a severity");
            struct cond *c = cond_compile(cJSON_GetObjectItemCaseSensitive(k, "where"), rs, r, step_names, nsn, 0, why, sizeof why);
            if (!c) goto bad;
            r->sevif[r->nsevif++] = (struct sev_if){c, v};
        }
    }
    return 0;
bad:
    return sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s: rule %s: field %s: %s",
                   cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(src, "__override_file"))
                       ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(src, "__override_file"))
                       : r->file ? r->file : "?",
                   r->id ? r->id : "?", field, why);
}

static void rule_free(struct rule *r)
{
    free(r->id);
    free(r->title);
    free(r->description);
    free(r->category);
    free(r->file);
    cond_free(r->where);
    for (size_t i = 0; i < r->agg.nfield; i++) free(r->agg.field[i]);
    for (size_t i = 0; i < r->nsteps; i++) {
        free(r->steps[i].as);
        cond_free(r->steps[i].where);
    }
    content_free(&r->content);
    for (size_t i = 0; i < r->nsevif; i++) cond_free(r->sevif[i].where);
    free(r->sevif);
    cJSON_Delete(r->src);
}

void ruleset_free(struct ruleset *rs)
{
    if (!rs) return;
    for (size_t i = 0; i < rs->nrules; i++) rule_free(&rs->rules[i]);
    free(rs->rules);
    cJSON_Delete(rs->lists);
    cJSON_Delete(rs->macros);
    free(rs);
}

int ruleset_load(struct ruleset **out, const struct rules_load_opts *o, struct sb_error *err)
{
    *out = NULL;
    struct ruleset *rs = calloc(1, sizeof *rs);
    struct loader L = {.rs = rs, .rules = cJSON_CreateArray(), .list_files = cJSON_CreateObject(),
                       .macro_files = cJSON_CreateObject(), .disabled = cJSON_CreateArray()};
    int rc = -1;
    if (!rs || !L.rules || !L.list_files || !L.macro_files || !L.disabled) {
        sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory");
        goto out;
    }
    rs->lists = cJSON_CreateObject();
    rs->macros = cJSON_CreateObject();
    for (size_t i = 0; i < o->ndirs; i++)
        if (load_dir(&L, o->dirs[i], err) < 0) goto out;
    for (size_t i = 0; i < o->ndisable; i++) cJSON_AddItemToArray(L.disabled, cJSON_CreateString(o->disable[i]));
    size_t n = (size_t)cJSON_GetArraySize(L.rules);
    rs->rules = calloc(n ? n : 1, sizeof *rs->rules);
    if (!rs->rules) {
        sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory");
        goto out;
    }
    cJSON *r;
    while ((r = cJSON_DetachItemFromArray(L.rules, 0))) {
        struct rule *rule = &rs->rules[rs->nrules++];
        if (compile_rule(rs, rule, r, err) < 0) goto out;
    }
    const cJSON *d;
    cJSON_ArrayForEach(d, L.disabled) {
        bool found = false;
        for (size_t i = 0; i < rs->nrules; i++)
            if (!strcmp(rs->rules[i].id, d->valuestring)) { rs->rules[i].enabled = false; found = true; }
        if (!found) {
            sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "cannot disable rule %s: no rule has that id; fix: see 'scriptbox rules list'", d->valuestring);
            goto out;
        }
    }
    *out = rs;
    rs = NULL;
    rc = 0;
out:
    ruleset_free(rs);
    cJSON_Delete(L.rules);
    cJSON_Delete(L.list_files);
    cJSON_Delete(L.macro_files);
    cJSON_Delete(L.disabled);
    return rc;
}

size_t ruleset_count(const struct ruleset *rs)
{
    size_t n = 0;
    for (size_t i = 0; rs && i < rs->nrules; i++) n += rs->rules[i].enabled;
    return n;
}

size_t ruleset_disabled_count(const struct ruleset *rs) { return rs ? rs->nrules - ruleset_count(rs) : 0; }

cJSON *ruleset_catalogue(const struct ruleset *rs)
{
    static const char *const inputs[] = {"event", "sequence", "content", "metadata"};
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; rs && i < rs->nrules; i++) {
        const struct rule *r = &rs->rules[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", r->id);
        cJSON_AddStringToObject(o, "title", r->title);
        cJSON_AddStringToObject(o, "severity", severity_name((enum severity)r->severity));
        cJSON_AddStringToObject(o, "category", r->category);
        cJSON_AddStringToObject(o, "input", inputs[r->input]);
        cJSON_AddBoolToObject(o, "enabled", r->enabled);
        cJSON_AddStringToObject(o, "description", r->description);
        cJSON_AddItemToObject(o, "references", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(r->src, "references"), 1));
        cJSON_AddStringToObject(o, "file", r->file);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}
