/*
 * test_typosquat.c — the lookalike operator's name comparison (src/typosquat.c) and the shipped
 * popular-packages list: every kind of lookalike, and never a popular name itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "typosquat.h"

static const char *const set[] = {"lodash", "express", "react", "preact", "@babel/core", "@types/node", "typescript",
                                  "cross-env", "left-pad"};
#define NSET (sizeof set / sizeof *set)

static void expect(const char *name, const char *kind, const char *like)
{
    size_t which = 99;
    const char *why = typosquat_check(name, set, NSET, &which);
    if (!kind) {
        if (why) fail_msg("%s: unexpected lookalike of %s (%s)", name, set[which], why);
        return;
    }
    if (!why) fail_msg("%s: expected a lookalike of %s (%s)", name, like, kind);
    assert_string_equal(why, kind);
    assert_string_equal(set[which], like);
}

static void kinds_of_lookalikes(void **state)
{
    (void)state;
    expect("lodahs", "swapped characters", "lodash");
    expect("loadsh", "swapped characters", "lodash");
    expect("lodas", "edit distance 1", "lodash");
    expect("reac", "edit distance 1", "react");
    expect("1odash", "edit distance 1", "lodash");
    expect("expresss", "edit distance 1", "express");
    expect("typescrpit", "swapped characters", "typescript");
    expect("typscrip", "edit distance 2", "typescript");   /* 10+ characters: two edits */
    expect("lo-dash", "separator confusion", "lodash");
    expect("cross_env", "separator confusion", "cross-env");
    expect("crossenv", "separator confusion", "cross-env");
    expect("left.pad", "separator confusion", "left-pad");
    expect("babel-core", "scope confusion", "@babel/core");
    expect("@babelcore", "scope confusion", "@babel/core");
    expect("types-node", "scope confusion", "@types/node");
    expect("Lodash", NULL, NULL);                  /* the same name, other case: not a lookalike */
}

static void never_popular_names_or_far_ones(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSET; i++) expect(set[i], NULL, NULL);   /* react/preact are 1 apart: both listed */
    expect("expressive-router", NULL, NULL);
    expect("my-own-utility", NULL, NULL);
    expect("@storybook/react", NULL, NULL);   /* scoped plugins of a popular name are normal */
    assert_null(typosquat_compare("mss", "ms"));   /* popular names under 5 characters: no edit distance */
    assert_null(typosquat_compare("pgg", "pg"));
    expect("lodash-es2", NULL, NULL);         /* two edits from a 6-character name */
    expect("", NULL, NULL);
    assert_null(typosquat_check(NULL, set, NSET, NULL));
}

static void distance_is_capped(void **state)
{
    (void)state;
    assert_int_equal(typosquat_distance("lodash", "lodash", 2), 0);
    assert_int_equal(typosquat_distance("lodash", "lodahs", 2), 1);
    assert_int_equal(typosquat_distance("abc", "xyz", 1), 2);
    assert_int_equal(typosquat_distance("a", "abcdefgh", 2), 3);
    char big[400];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(typosquat_distance(big, big, 2), 3);   /* beyond npm's name limit: no answer */
}

static void shipped_list_has_no_lookalike_of_itself(void **state)
{
    (void)state;
    cJSON *l = tu_read_json(tu_src("rules/lists/popular-packages.json"));
    assert_true(cJSON_IsArray(l));
    int n = cJSON_GetArraySize(l);
    assert_true(n >= 300);
    const char **names = calloc((size_t)n, sizeof *names);
    for (int i = 0; i < n; i++) names[i] = cJSON_GetArrayItem(l, i)->valuestring;
    for (int i = 0; i < n; i++)
        if (typosquat_check(names[i], names, (size_t)n, NULL)) fail_msg("%s is popular and still flagged", names[i]);
    size_t which;
    assert_non_null(typosquat_check("expres", names, (size_t)n, &which));
    assert_string_equal(names[which], "express");
    free(names);
    cJSON_Delete(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kinds_of_lookalikes),
        cmocka_unit_test(never_popular_names_or_far_ones),
        cmocka_unit_test(distance_is_capped),
        cmocka_unit_test(shipped_list_has_no_lookalike_of_itself),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
