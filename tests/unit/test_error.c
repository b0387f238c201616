/* test_error.c — error carrying: codes, formatting, context prefixes, sandbox translation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "error.h"

static void fail_formats_and_returns_minus_one(void **state)
{
    (void)state;
    struct sb_error e = {0};
    assert_int_equal(sb_fail(&e, SB_EXIT_INPUT, "bad-tarball", 5, "entry %d is %s", 3, "odd"), -1);
    assert_int_equal(e.exit_code, SB_EXIT_INPUT);
    assert_string_equal(e.code, "bad-tarball");
    assert_int_equal(e.sys_errno, 5);
    assert_string_equal(e.msg, "entry 3 is odd");
}

static void context_prefixes(void **state)
{
    (void)state;
    struct sb_error e = {0};
    sb_fail(&e, SB_EXIT_INPUT, "x", 0, "inner");
    sb_context(&e, "reading %s", "a.tgz");
    assert_string_equal(e.msg, "reading a.tgz: inner");
}

static void sandbox_errors_map_to_exit_3(void **state)
{
    (void)state;
    sbx_error s = {.kind = SBX_E_USERNS, .sys_errno = 1};
    strcpy(s.msg, "user namespaces are disabled");
    struct sb_error e = {0};
    assert_int_equal(sb_from_sbx(&e, &s), -1);
    assert_int_equal(e.exit_code, SB_EXIT_SANDBOX);
    assert_string_equal(e.code, "userns-blocked");
    assert_string_equal(e.msg, "user namespaces are disabled");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fail_formats_and_returns_minus_one),
        cmocka_unit_test(context_prefixes),
        cmocka_unit_test(sandbox_errors_map_to_exit_3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
