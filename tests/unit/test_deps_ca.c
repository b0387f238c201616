/* test_deps_ca.c — which CA file the dependency phase carries into the sandbox for the registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deps.h"
#include "fakereg.h"
#include "testutil.h"

static void cafile_wins_then_extra_certs_then_none(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char rc[PATH_MAX], ca[PATH_MAX], extra[PATH_MAX], line[PATH_MAX + 16], got[PATH_MAX];
    snprintf(rc, sizeof rc, "%s/npmrc", dir);
    snprintf(ca, sizeof ca, "%s/corp-ca.pem", dir);
    snprintf(extra, sizeof extra, "%s/extra.pem", dir);
    tu_write_text(ca, "-----BEGIN CERTIFICATE-----\n");
    tu_write_text(extra, "-----BEGIN CERTIFICATE-----\n");
    snprintf(line, sizeof line, "cafile=%s\n", ca);
    tu_write_text(rc, line);
    setenv("npm_config_userconfig", rc, 1);
    setenv("npm_config_globalconfig", "/nonexistent/npmrc", 1);
    setenv("NODE_EXTRA_CA_CERTS", extra, 1);
    struct registry_opts reg;
    registry_opts_default(&reg);
    assert_int_equal(deps_host_ca(&reg, got, sizeof got), DEPS_CA_CAFILE);
    assert_string_equal(got, ca);
    tu_write_text(rc, "fund=false\n");
    assert_int_equal(deps_host_ca(&reg, got, sizeof got), DEPS_CA_EXTRA);
    assert_string_equal(got, extra);
    setenv("NODE_EXTRA_CA_CERTS", "/nonexistent/ca.pem", 1);   /* unreadable: not carried */
    assert_int_equal(deps_host_ca(&reg, got, sizeof got), DEPS_CA_NONE);
    setenv("NODE_EXTRA_CA_CERTS", "relative.pem", 1);
    assert_int_equal(deps_host_ca(&reg, got, sizeof got), DEPS_CA_NONE);
    unsetenv("NODE_EXTRA_CA_CERTS");
    unsetenv("npm_config_userconfig");
    unsetenv("npm_config_globalconfig");
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(cafile_wins_then_extra_certs_then_none)};
    return cmocka_run_group_tests_name("deps_ca", tests, NULL, NULL);
}
