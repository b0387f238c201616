/*
 * cmd_diff.c — `scriptbox diff A B`: what changed from version A to version B of a package.
 *
 * A and B are name@version specs (fetched and verified through the registry path, as analyze
 * does), tarballs or folders. Tarballs are unpacked by the unpacker into a private work folder;
 * folders are read in place. The output lists files added, removed and changed (sha256 and
 * sizes), scripts and dependencies added, removed and changed, and the content rules that fire
 * on B but not on A (the content rules run on both; nothing is executed). Text by default,
 * --format json for machines. Exit 1 when a finding only in B is at or above --fail-on.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "diff.h"
#include "judge.h"
#include "registry.h"
#include "report.h"
#include "unpack.h"
#include "workdir.h"

enum { DO_FORMAT = 1, DO_OUTPUT, DO_FAIL_ON };

struct diff_opts {
    bool json;
    const char *output;
    enum severity fail_on;
    struct judge_opts judge;
    struct registry_opts reg;
    const char *a, *b;
    struct judge_loaded *rules;   /* loaded once, for both sides */
};

struct side {
    const char *target;
    const char *kind;            /* "registry" | "tarball" | "folder" */
    char dir[PATH_MAX + 128];
    char label[PATH_MAX + 600];
    struct registry_result reg;
    bool have_reg;
    struct diff_snapshot snap;
    bool have_snap;
    struct judgement jd;
    bool have_jd;
};

static int parse(int argc, char **argv, struct diff_opts *o, struct sb_error *err)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, DO_FORMAT}, {"output", required_argument, NULL, DO_OUTPUT},
        {"fail-on", required_argument, NULL, DO_FAIL_ON}, JUDGE_LONGOPTS, REGISTRY_LONGOPTS, {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case DO_FORMAT: {
            enum report_format f;
            if (format_option(optarg, REPORT_FORMAT_BIT(REPORT_TEXT) | REPORT_FORMAT_BIT(REPORT_JSON), &f, err) < 0)
                return sb_context(err, "diff");
            o->json = f == REPORT_JSON;
            break;
        }
        case DO_OUTPUT: o->output = optarg; break;
        case DO_FAIL_ON:
            if (severity_option(optarg, &o->fail_on, err) < 0) return -1;
            break;
        default:
            if (c >= JUDGE_OPT_RULES && c < JUDGE_OPT_END) {
                if (judge_opts_set(&o->judge, c, optarg, err) < 0) return -1;
                break;
            }
            if (c >= REGISTRY_OPT_BASE && c < REGISTRY_OPT_BASE + REGISTRY_OPT_COUNT) {
                if (registry_opt_apply(&o->reg, c, optarg, err) < 0) return -1;
                break;
            }
            return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "unknown or incomplete option '%s'; see 'scriptbox --help'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2) return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "diff takes two targets: scriptbox diff A B (name@version, tarball or folder)");
    o->a = argv[optind];
    o->b = argv[optind + 1];
    return 0;
}

static const char *jstr(const cJSON *o, const char *k) { return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k)); }

/* Make side->dir hold the package's files: a folder as is, a tarball or a registry spec unpacked. */
static int prepare(struct diff_opts *o, struct workdir *wd, const char *sub, struct side *s, struct sb_error *err)
{
    struct stat st;
    bool exists = stat(s->target, &st) == 0;
    if (!exists && errno == ENOENT && registry_is_spec(s->target)) s->kind = "registry";
    else if (!exists) return sb_fail(err, SB_EXIT_INPUT, "target-missing", errno, "cannot read target %s: %s", s->target, strerror(errno));
    else if (S_ISDIR(st.st_mode)) s->kind = "folder";
    else if (S_ISREG(st.st_mode)) s->kind = "tarball";
    else return sb_fail(err, SB_EXIT_INPUT, "target-kind", 0, "%s is neither a file nor a folder", s->target);
    if (s->kind[0] == 'f') {
        if (!realpath(s->target, s->dir)) return sb_fail(err, SB_EXIT_INPUT, "target-missing", errno, "cannot resolve %s", s->target);
        return 0;
    }
    char rel[64];
    snprintf(rel, sizeof rel, "%s/package", sub);
    int fd = workdir_mkdirs(wd, rel, err);
    if (fd < 0) return -1;
    snprintf(s->dir, sizeof s->dir, "%s/%s", wd->path, rel);
    const char *tarball = s->target;
    if (s->kind[0] == 'r') {
        char where[PATH_MAX + 128];
        snprintf(where, sizeof where, "%s/%s", wd->path, sub);
        s->have_reg = true;
        if (registry_fetch(&o->reg, s->target, where, &s->reg, err) < 0) {
            close(fd);
            return sb_context(err, "%s", s->target);
        }
        tarball = s->reg.tarball_path;
    }
    struct unpack_result ur;
    int rc = unpack_tarball(tarball, fd, NULL, &ur, err);
    unpack_result_free(&ur);
    close(fd);
    if (rc < 0) return sb_context(err, "unpacking %s", s->target);
    return 0;
}

static int snapshot_and_judge(struct diff_opts *o, struct side *s, struct sb_error *err)
{
    int fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sb_fail(err, SB_EXIT_INPUT, "diff-read", errno, "cannot open %s: %s", s->dir, strerror(errno));
    int rc = diff_snapshot_take(fd, &s->snap, err);
    close(fd);
    if (rc < 0) return -1;
    s->have_snap = true;
    const char *name = jstr(s->snap.manifest, "name"), *version = jstr(s->snap.manifest, "version");
    if (s->have_reg) snprintf(s->label, sizeof s->label, "%s@%s", s->reg.name, s->reg.version);
    else if (name) snprintf(s->label, sizeof s->label, "%s@%s (%s)", name, version ? version : "?", s->target);
    else snprintf(s->label, sizeof s->label, "%s", s->target);
    char *text = judge_read_manifest_text(s->dir);
    struct rules_input ri = {.package_dir = s->dir, .manifest = s->snap.manifest, .manifest_text = text};
    rc = judge_run_loaded(&o->judge, o->rules, &ri, name, version, &s->jd, err);
    free(text);
    if (rc < 0) return -1;
    s->have_jd = true;
    return 0;
}

static bool has_rule(const cJSON *findings, const char *rule_id)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, findings) {
        const char *id = jstr(f, "rule_id");
        if (id && !strcmp(id, rule_id) && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "suppressed"))) return true;
    }
    return false;
}

static cJSON *side_obj(const struct side *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "target", s->target);
    cJSON_AddStringToObject(o, "kind", s->kind);
    const char *name = s->have_reg ? s->reg.name : jstr(s->snap.manifest, "name");
    const char *version = s->have_reg ? s->reg.version : jstr(s->snap.manifest, "version");
    if (name) cJSON_AddStringToObject(o, "name", name);
    else cJSON_AddNullToObject(o, "name");
    if (version) cJSON_AddStringToObject(o, "version", version);
    else cJSON_AddNullToObject(o, "version");
    cJSON_AddNumberToObject(o, "files", (double)s->snap.nfiles);
    if (s->have_reg && s->reg.integrity[0]) cJSON_AddStringToObject(o, "integrity", s->reg.integrity);
    return o;
}

static cJSON *build(const struct side *a, const struct side *b)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddItemToObject(out, "a", side_obj(a));
    cJSON_AddItemToObject(out, "b", side_obj(b));
    cJSON *d = diff_compare(&a->snap, &b->snap);
    cJSON *k;
    while ((k = d->child) != NULL) cJSON_AddItemToObject(out, k->string, cJSON_DetachItemViaPointer(d, k));
    cJSON_Delete(d);
    cJSON *only_b = cJSON_AddArrayToObject(out, "findings_only_in_b");
    cJSON *only_a = cJSON_AddArrayToObject(out, "findings_only_in_a");
    const cJSON *f;
    cJSON_ArrayForEach(f, b->jd.findings) {
        const char *id = jstr(f, "rule_id");
        if (id && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "suppressed")) && !has_rule(a->jd.findings, id))
            cJSON_AddItemToArray(only_b, cJSON_Duplicate(f, 1));
    }
    cJSON_ArrayForEach(f, a->jd.findings) {
        const char *id = jstr(f, "rule_id");
        if (id && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "suppressed")) && !has_rule(b->jd.findings, id))
            cJSON_AddItemToArray(only_a, cJSON_CreateString(id));
    }
    /* what the content rules could not read, for B */
    cJSON *cov = cJSON_AddArrayToObject(out, "coverage_b");
    cJSON_ArrayForEach(f, b->jd.coverage) {
        const char *c = jstr(f, "check");
        if (c && !strcmp(c, "content")) cJSON_AddItemToArray(cov, cJSON_Duplicate(f, 1));
    }
    return out;
}

static void text_files(FILE *out, const cJSON *files, const char *key, char mark)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(files, key)) {
        const cJSON *sa = cJSON_GetObjectItemCaseSensitive(e, "size_a");
        if (sa)
            fprintf(out, "  %c %s (%.0f -> %.0f bytes)\n", mark, jstr(e, "path"), sa->valuedouble,
                    cJSON_GetObjectItemCaseSensitive(e, "size_b")->valuedouble);
        else
            fprintf(out, "  %c %s (%.0f bytes)\n", mark, jstr(e, "path"), cJSON_GetObjectItemCaseSensitive(e, "size")->valuedouble);
    }
}

static void text_named(FILE *out, const cJSON *sec, const char *key, char mark, bool scripts)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(sec, key)) {
        const char *from = jstr(e, "from");
        const char *v = from ? NULL : jstr(e, scripts ? "script" : "range");
        fprintf(out, "  %c %s", mark, jstr(e, "name"));
        if (from) fprintf(out, ": %s -> %s", from, jstr(e, "to"));
        else fprintf(out, "%s%s", scripts ? ": " : " ", v ? v : "");
        if (jstr(e, "kind") && strcmp(jstr(e, "kind"), "dependencies")) fprintf(out, " (%s)", jstr(e, "kind"));
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "install"))) fputs("   [install script]", out);
        fputc('\n', out);
    }
}

static int count3(const cJSON *sec)
{
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sec, "added")) +
           cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sec, "removed")) +
           cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sec, "changed"));
}

static void write_text(FILE *out, const cJSON *d, const struct side *a, const struct side *b)
{
    fprintf(out, "scriptbox diff: %s -> %s\n", a->label, b->label);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(d, "files");
    fprintf(out, "files: %d added, %d removed, %d changed, %.0f unchanged\n",
            cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(files, "added")),
            cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(files, "removed")),
            cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(files, "changed")),
            cJSON_GetObjectItemCaseSensitive(files, "unchanged")->valuedouble);
    text_files(out, files, "added", '+');
    text_files(out, files, "removed", '-');
    text_files(out, files, "changed", '~');
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(d, "scripts");
    fprintf(out, "scripts:%s\n", count3(sc) ? "" : " unchanged");
    text_named(out, sc, "added", '+', true);
    text_named(out, sc, "removed", '-', true);
    text_named(out, sc, "changed", '~', true);
    const cJSON *dp = cJSON_GetObjectItemCaseSensitive(d, "dependencies");
    fprintf(out, "dependencies:%s\n", count3(dp) ? "" : " unchanged");
    text_named(out, dp, "added", '+', false);
    text_named(out, dp, "removed", '-', false);
    text_named(out, dp, "changed", '~', false);
    const cJSON *ob = cJSON_GetObjectItemCaseSensitive(d, "findings_only_in_b");
    fprintf(out, "content rules firing only in B:%s\n", cJSON_GetArraySize(ob) ? "" : " none");
    const cJSON *f;
    cJSON_ArrayForEach(f, ob) {
        const cJSON *ev = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(f, "evidence"), 0);
        fprintf(out, "  %-8s %s: %s\n", jstr(f, "severity"), jstr(f, "rule_id"), jstr(f, "title"));
        if (jstr(ev, "file"))
            fprintf(out, "           %s:%.0f %s\n", jstr(ev, "file"), cJSON_GetObjectItemCaseSensitive(ev, "line")->valuedouble,
                    jstr(ev, "excerpt") ? jstr(ev, "excerpt") : "");
    }
    const cJSON *oa = cJSON_GetObjectItemCaseSensitive(d, "findings_only_in_a");
    if (cJSON_GetArraySize(oa)) {
        fputs("content rules firing only in A:", out);
        cJSON_ArrayForEach(f, oa) {
            fprintf(out, " %s", f->valuestring);
        }
        fputc('\n', out);
    }
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(d, "coverage_b")) {
        if (jstr(f, "status") && strcmp(jstr(f, "status"), "analyzed")) fprintf(out, "note: content of B %s: %s\n", jstr(f, "status"), jstr(f, "reason") ? jstr(f, "reason") : "");
    }
}

int cmd_diff(int argc, char **argv, struct sb_error *err)
{
    struct diff_opts o;
    memset(&o, 0, sizeof o);
    o.fail_on = SEV_HIGH;
    registry_opts_default(&o.reg);
    if (parse(argc, argv, &o, err) < 0) return -1;
    if (judge_load(&o.judge, &o.rules, err) < 0) return -1;   /* bad rules fail before any fetch */
    struct side a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.target = o.a;
    b.target = o.b;
    struct workdir wd;
    memset(&wd, 0, sizeof wd);
    if (workdir_create(&wd, err) < 0) {
        judge_loaded_free(o.rules);
        return -1;
    }
    int rc = -1;
    if (prepare(&o, &wd, "a", &a, err) < 0 || prepare(&o, &wd, "b", &b, err) < 0) goto out;
    if (snapshot_and_judge(&o, &a, err) < 0 || snapshot_and_judge(&o, &b, err) < 0) goto out;
    cJSON *d = build(&a, &b);
    FILE *out = stdout;
    if (o.output && !(out = fopen(o.output, "w"))) {
        sb_fail(err, SB_EXIT_INPUT, "output", errno, "cannot write %s: %s", o.output, strerror(errno));
        cJSON_Delete(d);
        goto out;
    }
    if (o.json) {
        char *s = cJSON_Print(d);
        if (s) fprintf(out, "%s\n", s);
        free(s);
    } else {
        write_text(out, d, &a, &b);
    }
    bool fail = false;
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(d, "findings_only_in_b")) {
        int sev = severity_parse(jstr(f, "severity"));
        if (sev >= 0 && sev >= (int)o.fail_on) fail = true;
    }
    int werr = ferror(out);
    if (out != stdout) werr |= fclose(out);
    else fflush(out);
    cJSON_Delete(d);
    if (werr) {
        sb_fail(err, SB_EXIT_INPUT, "output", errno, "cannot write the diff");
        goto out;
    }
    rc = fail ? SB_EXIT_FINDINGS : SB_EXIT_CLEAN;
out:
    for (int i = 0; i < 2; i++) {
        struct side *s = i ? &b : &a;
        if (s->have_reg) registry_result_free(&s->reg);
        if (s->have_snap) diff_snapshot_free(&s->snap);
        if (s->have_jd) judgement_free(&s->jd);
    }
    judge_loaded_free(o.rules);
    struct sb_error ignored = {0};
    workdir_remove(&wd, &ignored);
    return rc;
}
