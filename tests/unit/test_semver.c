/* test_semver.c — versions, ranges and picking, table-driven against node-semver's behaviour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "semver.h"

static void versions_parse_and_compare(void **state)
{
    (void)state;
    static const struct { const char *a, *b; int cmp; } t[] = {
        {"1.2.3", "1.2.3", 0}, {"1.2.3", "1.2.4", -1}, {"1.3.0", "1.2.9", 1}, {"2.0.0", "10.0.0", -1},
        {"1.0.0-alpha", "1.0.0", -1}, {"1.0.0-alpha", "1.0.0-alpha.1", -1}, {"1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
        {"1.0.0-alpha.beta", "1.0.0-beta", -1}, {"1.0.0-beta.2", "1.0.0-beta.11", -1}, {"1.0.0-beta.11", "1.0.0-rc.1", -1},
        {"1.0.0-rc.1", "1.0.0", -1}, {"1.0.0+build.1", "1.0.0+build.2", 0}, {"v1.2.3", "1.2.3", 0}, {"=1.2.3", "1.2.3", 0},
        {"1.0.0-0", "1.0.0-alpha", -1},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct semver a, b;
        assert_int_equal(semver_parse(t[i].a, &a), 0);
        assert_int_equal(semver_parse(t[i].b, &b), 0);
        if (semver_cmp(&a, &b) != t[i].cmp) fail_msg("%s vs %s", t[i].a, t[i].b);
    }
    static const char *const bad[] = {"1.2", "1", "01.2.3", "1.02.3", "1.2.3-", "1.2.3-01", "1.2.3.4", "a.b.c",
                                      "1.2.3 x", "", "99999999999999999.0.0", "1.2.3-a..b"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct semver v;
        if (semver_parse(bad[i], &v) == 0) fail_msg("'%s' parsed", bad[i]);
    }
}

struct sat_case {
    const char *range, *version;
    bool ok;
};

static const struct sat_case sat[] = {
    /* exact and primitive */
    {"1.2.3", "1.2.3", true}, {"1.2.3", "1.2.4", false}, {"=1.2.3", "1.2.3", true}, {"v1.2.3", "1.2.3", true},
    {">1.2.3", "1.2.4", true}, {">1.2.3", "1.2.3", false}, {">=1.2.3", "1.2.3", true}, {"<1.2.3", "1.2.2", true},
    {"<1.2.3", "1.2.3", false}, {"<=1.2.3", "1.2.3", true}, {">= 1.2.3", "1.3.0", true},
    /* caret */
    {"^1.2.3", "1.9.9", true}, {"^1.2.3", "2.0.0", false}, {"^1.2.3", "1.2.2", false}, {"^0.2.3", "0.2.9", true},
    {"^0.2.3", "0.3.0", false}, {"^0.0.3", "0.0.3", true}, {"^0.0.3", "0.0.4", false}, {"^1.2", "1.9.0", true},
    {"^1.x", "1.0.0", true}, {"^0.x", "0.9.9", true}, {"^0.x", "1.0.0", false}, {"^0.0", "0.0.9", true}, {"^0.0", "0.1.0", false},
    {"^1.2.3-beta.2", "1.2.3-beta.4", true}, {"^1.2.3-beta.2", "1.2.4-beta.2", false}, {"^1.2.3-beta.2", "1.3.0", true},
    {"^ 1.2.3", "1.4.0", true},
    /* tilde */
    {"~1.2.3", "1.2.9", true}, {"~1.2.3", "1.3.0", false}, {"~1.2", "1.2.0", true}, {"~1", "1.9.0", true},
    {"~1", "2.0.0", false}, {"~0.2.3", "0.2.5", true}, {"~>1.2.3", "1.2.5", true}, {"~1.2.3-beta.2", "1.2.3-beta.4", true},
    /* x-ranges and partials */
    {"*", "3.4.5", true}, {"*", "1.0.0-rc.1", false}, {"", "0.0.1", true}, {"x", "9.9.9", true}, {"1.x", "1.5.0", true},
    {"1.x", "2.0.0", false}, {"1.2.x", "1.2.9", true}, {"1.2.x", "1.3.0", false}, {"1", "1.0.0", true}, {"1.2", "1.2.7", true},
    {"1.X", "1.1.1", true}, {"1.2.*", "1.2.0", true}, {">1", "2.0.0", true}, {">1", "1.9.9", false}, {">1.2", "1.3.0", true},
    {"<1.2", "1.1.9", true}, {"<1.2", "1.2.0", false}, {"<=1.2", "1.2.9", true}, {"<=1", "1.9.9", true}, {">=1.2", "1.2.0", true},
    {">*", "1.0.0", false},
    /* comparator sets and unions */
    {">=1.2 <2", "1.5.0", true}, {">=1.2 <2", "2.0.0", false}, {">=1.2.7 <1.3.0", "1.2.8", true}, {">=1.2.7 <1.3.0", "1.2.6", false},
    {"1.2.7 || >=1.2.9 <2.0.0", "1.2.7", true}, {"1.2.7 || >=1.2.9 <2.0.0", "1.2.8", false}, {"1.2.7 || >=1.2.9 <2.0.0", "1.4.6", true},
    {"^1 || ^3", "3.1.0", true}, {"^1 || ^3", "2.1.0", false},
    /* hyphen ranges */
    {"1.2.3 - 2.3.4", "2.3.4", true}, {"1.2.3 - 2.3.4", "2.3.5", false}, {"1.2 - 2.3.4", "1.2.0", true}, {"1.2.3 - 2.3", "2.3.9", true},
    {"1.2.3 - 2.3", "2.4.0", false}, {"1.2.3 - 2", "2.9.9", true}, {"1.2.3 - 2", "3.0.0", false},
    /* prereleases */
    {">1.2.3-alpha.3", "1.2.3-alpha.7", true}, {">1.2.3-alpha.3", "3.4.5-alpha.9", false}, {">1.2.3-alpha.3", "3.4.5", true},
    {"<2.0.0", "2.0.0-rc.1", false}, {">=1.0.0-0", "1.0.0-rc.1", true}, {"1.0.0-rc.1", "1.0.0-rc.1", true},
    {"^2.0.0-0", "2.0.0-beta", true}, {"^2", "2.1.0-beta", false},
    /* build metadata */
    {"1.2.3+build", "1.2.3", true}, {"1.2.3", "1.2.3+other", true},
};

static void ranges_satisfy_as_node_semver(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof sat / sizeof *sat; i++) {
        struct semver_range *r = semver_range_parse(sat[i].range);
        if (!r) fail_msg("range '%s' did not parse", sat[i].range);
        struct semver v;
        assert_int_equal(semver_parse(sat[i].version, &v), 0);
        if (semver_satisfies(&v, r) != sat[i].ok)
            fail_msg("'%s' %s satisfy '%s'", sat[i].version, sat[i].ok ? "should" : "should not", sat[i].range);
        semver_range_free(r);
    }
    assert_true(sizeof sat / sizeof *sat >= 60);
}

static void bad_ranges_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"latest", "next", "^abc", "1.2.3.4", ">=", "1.x.3", "~01.2", "1 - 2 - 3", "a || b",
                                      "git+https://x/y", "file:../x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct semver_range *r = semver_range_parse(bad[i]);
        if (r) fail_msg("'%s' parsed as a range", bad[i]);
    }
    struct semver_range *r = semver_range_parse("1.2.3");
    assert_true(semver_range_is_exact(r));
    semver_range_free(r);
    r = semver_range_parse("^1.2.3");
    assert_false(semver_range_is_exact(r));
    semver_range_free(r);
}

static int pick(const char *range, const char *latest, const char *const *vers, const bool *dep, const bool *inel)
{
    struct semver_candidate c[32];
    size_t n = 0;
    for (; vers[n]; n++) c[n] = (struct semver_candidate){vers[n], dep ? dep[n] : false, inel ? !inel[n] : true};
    struct semver_range *r = semver_range_parse(range);
    assert_non_null(r);
    int i = semver_pick(r, c, n, latest);
    semver_range_free(r);
    return i;
}

static void picking_follows_npm_pick_manifest(void **state)
{
    (void)state;
    static const char *const v[] = {"1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.1.0-beta.1", "3.0.0-rc.1", NULL};
    assert_int_equal(pick("^1", "2.0.0", v, NULL, NULL), 2);           /* highest satisfying */
    assert_int_equal(pick("^1", "1.1.0", v, NULL, NULL), 1);           /* latest tag wins when it satisfies */
    assert_int_equal(pick("*", "2.0.0", v, NULL, NULL), 3);
    assert_int_equal(pick("*", "3.0.0-rc.1", v, NULL, NULL), 5);       /* "*" takes latest even a prerelease */
    assert_int_equal(pick(">=1", "2.0.0", v, NULL, NULL), 3);          /* prereleases not picked */
    assert_int_equal(pick("^2.1.0-beta.0", "2.0.0", v, NULL, NULL), 4);/* unless the range names one */
    assert_int_equal(pick("^4", "2.0.0", v, NULL, NULL), -1);
    assert_int_equal(pick("1.1.0", "2.0.0", v, NULL, NULL), 1);
    static const bool dep[] = {false, false, true, true, false, false};
    assert_int_equal(pick("^1", NULL, v, dep, NULL), 1);               /* deprecated avoided */
    assert_int_equal(pick(">=1.2", "2.0.0", v, dep, NULL), 3);         /* only deprecated ones: highest */
    static const bool young[] = {false, false, true, true, true, true};
    assert_int_equal(pick("*", "2.0.0", v, NULL, young), 1);           /* min-age: newest old enough */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(versions_parse_and_compare),
        cmocka_unit_test(ranges_satisfy_as_node_semver),
        cmocka_unit_test(bad_ranges_are_refused),
        cmocka_unit_test(picking_follows_npm_pick_manifest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
