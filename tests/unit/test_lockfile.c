/* test_lockfile.c — npm lockfile v2/v3 parsing and the added/changed diff a pull request makes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockfile.h"

#define BASE_LOCK \
    "{\"name\":\"app\",\"lockfileVersion\":3,\"packages\":{" \
    "\"\":{\"name\":\"app\",\"version\":\"1.0.0\"}," \
    "\"node_modules/left-pad\":{\"version\":\"1.3.0\",\"resolved\":\"https://r.test/left-pad/-/left-pad-1.3.0.tgz\",\"integrity\":\"sha512-AAA\"}," \
    "\"node_modules/@s/util\":{\"version\":\"2.0.0\",\"integrity\":\"sha512-BBB\",\"dev\":true}," \
    "\"packages/ws\":{\"version\":\"0.0.1\"}," \
    "\"node_modules/ws\":{\"resolved\":\"packages/ws\",\"link\":true}}}"

static int parse(const char *text, struct lockfile *l, struct sb_error *err)
{
    memset(err, 0, sizeof *err);
    return lockfile_parse(text, strlen(text), "test.json", l, err);
}

static void test_reads_packages_and_skips_root_and_links(void **state)
{
    (void)state;
    struct lockfile l;
    struct sb_error err;
    assert_int_equal(parse(BASE_LOCK, &l, &err), 0);
    assert_int_equal(l.version, 3);
    assert_int_equal(l.n, 2);   /* left-pad, @s/util: not the root, the workspace folder or its link */
    assert_string_equal(l.pkgs[0].name, "left-pad");
    assert_string_equal(l.pkgs[0].integrity, "sha512-AAA");
    assert_string_equal(l.pkgs[1].name, "@s/util");
    assert_true(l.pkgs[1].dev);
    lockfile_free(&l);
}

static void test_alias_name_and_nested_path(void **state)
{
    (void)state;
    const char *t = "{\"lockfileVersion\":2,\"packages\":{"
                    "\"node_modules/foo\":{\"name\":\"bar\",\"version\":\"1.0.0\",\"hasInstallScript\":true},"
                    "\"node_modules/a/node_modules/@x/b\":{\"version\":\"3.1.4\"}}}";
    struct lockfile l;
    struct sb_error err;
    assert_int_equal(parse(t, &l, &err), 0);
    assert_string_equal(l.pkgs[0].name, "bar");
    assert_true(l.pkgs[0].has_install_script);
    assert_string_equal(l.pkgs[1].name, "@x/b");
    assert_null(l.pkgs[1].integrity);
    lockfile_free(&l);
}

static void test_refusals_name_the_cause(void **state)
{
    (void)state;
    static const struct { const char *text, *needle; } cases[] = {
        {"{\"lockfileVersion\":1,\"dependencies\":{}}", "npm >= 7"},
        {"{\"lockfileVersion\":9,\"packages\":{}}", "unknown"},
        {"{\"packages\":{}}", "no lockfileVersion"},
        {"[1,2]", "not valid JSON"},
        {"{\"lockfileVersion\":3}", "no \"packages\""},
        {"{\"lockfileVersion\":3,\"packages\":{\"node_modules/a\":{}}}", "no \"version\""},
        {"{\"lockfileVersion\":3,\"packages\":{\"node_modules/a\":{\"version\":1}}}", "must be a string"},
        {"{\"lockfileVersion\":3,\"packages\":{\"node_modules/a\":[]}}", "not an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct lockfile l;
        struct sb_error err;
        assert_int_equal(parse(cases[i].text, &l, &err), -1);
        assert_int_equal(err.exit_code, SB_EXIT_INPUT);
        if (!strstr(err.msg, cases[i].needle)) fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, cases[i].needle);
        assert_int_equal(l.n, 0);
    }
}

static void test_diff_added_changed_and_rehoisted(void **state)
{
    (void)state;
    const char *head_text =
        "{\"lockfileVersion\":3,\"packages\":{"
        "\"node_modules/left-pad\":{\"version\":\"1.3.1\",\"integrity\":\"sha512-CCC\"},"        /* changed */
        "\"node_modules/x/node_modules/@s/util\":{\"version\":\"2.0.0\",\"integrity\":\"sha512-BBB\"}," /* moved */
        "\"node_modules/evil\":{\"version\":\"0.0.1\",\"integrity\":\"sha512-DDD\",\"hasInstallScript\":true},"
        "\"node_modules/y/node_modules/evil\":{\"version\":\"0.0.1\",\"integrity\":\"sha512-DDD\"}," /* same again */
        "\"node_modules/z/node_modules/left-pad\":{\"version\":\"1.3.0\",\"integrity\":\"sha512-EEE\"}}}"; /* same version, other bytes */
    struct lockfile base, head;
    struct sb_error err;
    assert_int_equal(parse(BASE_LOCK, &base, &err), 0);
    assert_int_equal(parse(head_text, &head, &err), 0);
    struct lock_delta *d;
    size_t n;
    assert_int_equal(lockfile_diff(&base, &head, &d, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(d[0].pkg->name, "left-pad");
    assert_int_equal(d[0].change, LOCK_CHANGED);
    assert_non_null(d[0].base_version);
    assert_string_equal(d[1].pkg->name, "evil");
    assert_int_equal(d[1].change, LOCK_ADDED);
    assert_null(d[1].base_version);
    assert_string_equal(d[1].pkg->path, "node_modules/evil");
    assert_string_equal(d[2].pkg->integrity, "sha512-EEE");   /* a republish under the same version */
    assert_int_equal(d[2].change, LOCK_CHANGED);
    free(d);
    assert_int_equal(lockfile_diff(NULL, &head, &d, &n), 0);   /* no base: every distinct package */
    assert_int_equal(n, 4);
    free(d);
    lockfile_free(&base);
    lockfile_free(&head);
}

static void test_load_missing_file(void **state)
{
    (void)state;
    struct lockfile l;
    struct sb_error err;
    memset(&err, 0, sizeof err);
    assert_int_equal(lockfile_load("/nonexistent/package-lock.json", &l, &err), -1);
    assert_string_equal(err.code, "lockfile-missing");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_packages_and_skips_root_and_links),
        cmocka_unit_test(test_alias_name_and_nested_path),
        cmocka_unit_test(test_refusals_name_the_cause),
        cmocka_unit_test(test_diff_added_changed_and_rehoisted),
        cmocka_unit_test(test_load_missing_file),
    };
    return cmocka_run_group_tests_name("lockfile", tests, NULL, NULL);
}
