/* test_npmconfig.c — registry and token resolution from env, project/user/global .npmrc, --registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "npmconfig.h"
#include "testutil.h"

struct ctx {
    char *home, *proj;
    char sub[4096];
};

static void write_text(const char *dir, const char *name, const char *text)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void clear_env(void)
{
    unsetenv("npm_config_registry");
    unsetenv("NPM_CONFIG_REGISTRY");
    unsetenv("npm_config_userconfig");
    unsetenv("npm_config_@corp:registry");
    unsetenv("MY_TOKEN");
}

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    c->home = tu_mkdtemp();
    c->proj = tu_mkdtemp();
    setenv("HOME", c->home, 1);
    setenv("npm_config_globalconfig", "/nonexistent/npmrc", 1);
    clear_env();
    write_text(c->proj, "package.json", "{}");
    snprintf(c->sub, sizeof c->sub, "%s/src/deep", c->proj);
    char mid[4200];
    snprintf(mid, sizeof mid, "%s/src", c->proj);
    mkdir(mid, 0755);
    mkdir(c->sub, 0755);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    clear_env();
    tu_rm_rf(c->home);
    tu_rm_rf(c->proj);
    free(c->home);
    free(c->proj);
    free(c);
    return 0;
}

static void resolve(struct ctx *c, const char *cli, const char *name, const char *want, const char *want_origin)
{
    struct npmconfig cfg;
    struct npmconfig_opts o = {.cli_registry = cli, .cwd = c->sub, .npm_bin = ""};
    struct sb_error err = {0};
    assert_int_equal(npmconfig_load(&cfg, &o, &err), 0);
    char url[1024];
    const char *origin = NULL;
    int rc = npmconfig_registry_for(&cfg, &o, name, url, sizeof url, &origin, &err);
    if (!want) {
        assert_int_equal(rc, -1);
        assert_string_equal(err.code, "registry-config");
    } else {
        if (rc < 0) fail_msg("%s", err.msg);
        assert_string_equal(url, want);
        assert_string_equal(origin, want_origin);
    }
    npmconfig_free(&cfg);
}

static void precedence_cli_env_project_user(void **state)
{
    struct ctx *c = *state;
    resolve(c, NULL, "x", NULL, NULL);   /* nothing configured, npm not asked */
    write_text(c->home, ".npmrc", "; user config\nregistry = http://user.example/\n");
    resolve(c, NULL, "x", "http://user.example/", "user");
    write_text(c->proj, ".npmrc", "# project\nregistry=\"http://project.example/reg\"\n");
    resolve(c, NULL, "x", "http://project.example/reg/", "project");
    setenv("NPM_CONFIG_REGISTRY", "http://env.example", 1);
    resolve(c, NULL, "x", "http://env.example/", "env");
    resolve(c, "http://cli.example/", "x", "http://cli.example/", "cli");
}

static void scoped_registry_wins_for_its_scope(void **state)
{
    struct ctx *c = *state;
    write_text(c->home, ".npmrc", "registry=http://user.example/\n@corp:registry=http://corp.example:8080/npm/ ; inline comment\n");
    resolve(c, NULL, "@corp/tool", "http://corp.example:8080/npm/", "user");
    resolve(c, NULL, "@other/tool", "http://user.example/", "user");
    resolve(c, "http://cli.example/", "@corp/tool", "http://corp.example:8080/npm/", "user");
    setenv("npm_config_@corp:registry", "http://envcorp.example/", 1);
    resolve(c, NULL, "@corp/tool", "http://envcorp.example/", "env");
}

static void tokens_by_nerf_dart_with_env_expansion(void **state)
{
    struct ctx *c = *state;
    setenv("MY_TOKEN", "s3cret", 1);
    write_text(c->proj, ".npmrc",
               "registry=http://corp.example:8080/npm/\n"
               "//corp.example:8080/npm/:_authToken=${MY_TOKEN}\n"
               "//other.example/:_auth=dXNlcjpwYXNz\n"
               "//unset.example/:_authToken=${NOPE_NOT_SET}\n"
               "//optional.example/:_authToken=${NOPE_NOT_SET?}\n"
               "[section]\nregistry=http://ignored.example/\n");
    struct npmconfig cfg;
    struct npmconfig_opts o = {.cwd = c->sub, .npm_bin = ""};
    struct sb_error err = {0};
    assert_int_equal(npmconfig_load(&cfg, &o, &err), 0);
    char buf[512];
    const char *a = npmconfig_auth_for(&cfg, "http://corp.example:8080/npm/@corp%2ftool", buf, sizeof buf);
    assert_non_null(a);
    assert_string_equal(a, "Bearer s3cret");
    a = npmconfig_auth_for(&cfg, "http://corp.example:8080/npm/tool/-/tool-1.0.0.tgz", buf, sizeof buf);
    assert_string_equal(a, "Bearer s3cret");   /* walks up the path */
    assert_null(npmconfig_auth_for(&cfg, "http://corp.example:9090/npm/x", buf, sizeof buf));   /* other port */
    assert_null(npmconfig_auth_for(&cfg, "http://evil.example/npm/x", buf, sizeof buf));
    a = npmconfig_auth_for(&cfg, "https://other.example/pkg", buf, sizeof buf);
    assert_string_equal(a, "Basic dXNlcjpwYXNz");
    a = npmconfig_auth_for(&cfg, "https://unset.example/pkg", buf, sizeof buf);
    assert_string_equal(a, "Bearer ${NOPE_NOT_SET}");   /* npm keeps an unset ${VAR} as written */
    assert_null(npmconfig_auth_for(&cfg, "https://optional.example/pkg", buf, sizeof buf));
    assert_string_equal(npmconfig_get(&cfg, "registry", NULL), "http://corp.example:8080/npm/");
    npmconfig_free(&cfg);
}

static void nerf_darts_and_ini_values(void **state)
{
    (void)state;
    char n[256];
    assert_int_equal(npmconfig_nerf_dart("https://user:pw@Reg.Example:8443/a/b?q=1#f", n, sizeof n), 0);
    assert_string_equal(n, "//reg.example:8443/a/");
    assert_int_equal(npmconfig_nerf_dart("http://h/", n, sizeof n), 0);
    assert_string_equal(n, "//h/");
    assert_int_equal(npmconfig_nerf_dart("http://h", n, sizeof n), 0);
    assert_string_equal(n, "//h/");
    assert_int_equal(npmconfig_nerf_dart("not a url", n, sizeof n), -1);
    struct npmconfig cfg = {0};
    assert_int_equal(npmconfig_parse_ini(&cfg, "a = 'x ; y'\nb = x \\; y ; c\n  c=\"q\\\"q\"\nflag\n", "t"), 0);
    assert_string_equal(npmconfig_get(&cfg, "a", NULL), "x ; y");
    assert_string_equal(npmconfig_get(&cfg, "b", NULL), "x ; y");
    assert_string_equal(npmconfig_get(&cfg, "c", NULL), "q\"q");
    assert_string_equal(npmconfig_get(&cfg, "flag", NULL), "true");
    npmconfig_free(&cfg);
    char *x = npmconfig_env_expand("a\\${HOME}b");
    assert_string_equal(x, "a${HOME}b");
    free(x);
}

static void asks_npm_when_nothing_is_configured(void **state)
{
    struct ctx *c = *state;
    /* a stand-in "npm" that answers `config get registry` */
    write_text(c->home, "fake-npm", "#!/bin/sh\n[ \"$1 $2 $3\" = \"config get registry\" ] && echo http://fromnpm.example/\n");
    char npm[4200], slow[4200];
    snprintf(npm, sizeof npm, "%s/fake-npm", c->home);
    chmod(npm, 0755);
    struct npmconfig cfg;
    struct npmconfig_opts o = {.cwd = c->sub, .npm_bin = npm, .npm_timeout_s = 2};
    struct sb_error err = {0};
    assert_int_equal(npmconfig_load(&cfg, &o, &err), 0);
    char url[512];
    const char *origin = NULL;
    assert_int_equal(npmconfig_registry_for(&cfg, &o, "x", url, sizeof url, &origin, &err), 0);
    assert_string_equal(url, "http://fromnpm.example/");
    assert_string_equal(origin, "npm");
    /* a hanging npm is given up on */
    write_text(c->home, "slow-npm", "#!/bin/sh\nexec sleep 30\n");
    snprintf(slow, sizeof slow, "%s/slow-npm", c->home);
    chmod(slow, 0755);
    o.npm_bin = slow;
    o.npm_timeout_s = 1;
    assert_int_equal(npmconfig_registry_for(&cfg, &o, "x", url, sizeof url, &origin, &err), -1);
    assert_non_null(strstr(err.msg, "--registry"));
    npmconfig_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(precedence_cli_env_project_user, setup, teardown),
        cmocka_unit_test_setup_teardown(scoped_registry_wins_for_its_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(tokens_by_nerf_dart_with_env_expansion, setup, teardown),
        cmocka_unit_test(nerf_darts_and_ini_values),
        cmocka_unit_test_setup_teardown(asks_npm_when_nothing_is_configured, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
