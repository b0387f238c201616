/*
 * test_runenv.c — what every analyze run adds: the honeypot in the seeds, the CA (or a clean
 * "no interception" when libsbx cannot make one), the scripts' extra environment, the user's
 * registry host and the rules folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runenv.h"
#include "testutil.h"

static const char *env_value(const char *const *env, const char *name)
{
    size_t n = strlen(name);
    for (const char *const *e = env; *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=') return *e + n + 1;
    return NULL;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void registry_host_from_env_then_user_npmrc(void **state)
{
    (void)state;
    char buf[256];
    char *dir = tu_mkdtemp();
    char rc[4096];
    snprintf(rc, sizeof rc, "%s/npmrc", dir);
    unsetenv("NPM_CONFIG_REGISTRY");
    setenv("npm_config_registry", "https://npm.corp.test:4873/some/path/", 1);
    assert_string_equal(runenv_registry_host("left-pad", buf, sizeof buf), "npm.corp.test:4873");
    setenv("npm_config_registry", "https://evil host/", 1);
    assert_null(runenv_registry_host("left-pad", buf, sizeof buf));
    unsetenv("npm_config_registry");
    write_text(rc, "; comment\nsave-exact=true\nregistry = https://first.test/\n  registry=https://registry.corp.test/npm/\n");
    setenv("npm_config_userconfig", rc, 1);
    assert_string_equal(runenv_registry_host("left-pad", buf, sizeof buf), "registry.corp.test");
    write_text(rc, "fund=false\n");
    assert_null(runenv_registry_host("left-pad", buf, sizeof buf));
    setenv("npm_config_userconfig", "/nonexistent/npmrc", 1);
    assert_null(runenv_registry_host("left-pad", buf, sizeof buf));
    unsetenv("npm_config_userconfig");
    tu_rm_rf(dir);
    free(dir);
}

static void rules_dir_from_env_or_next_to_the_binary(void **state)
{
    (void)state;
    char buf[4096];
    setenv("SCRIPTBOX_RULES_DIR", tu_src("rules"), 1);
    assert_string_equal(runenv_rules_dir(buf, sizeof buf), tu_src("rules"));
    setenv("SCRIPTBOX_RULES_DIR", "/nonexistent/rules", 1);
    assert_null(runenv_rules_dir(buf, sizeof buf));
    unsetenv("SCRIPTBOX_RULES_DIR");
    /* this test binary lives in build/tests/unit: neither ../rules nor ../share/... is there */
    const char *found = runenv_rules_dir(buf, sizeof buf);
    if (found) assert_non_null(strstr(found, "rules"));
}

struct seeds {
    char *root;
    char home[4096], project[4096];
    int home_fd, project_fd;
};

static void make_seeds(struct seeds *s)
{
    s->root = tu_mkdtemp();
    snprintf(s->home, sizeof s->home, "%s/home", s->root);
    snprintf(s->project, sizeof s->project, "%s/project", s->root);
    assert_int_equal(mkdir(s->home, 0755), 0);
    assert_int_equal(mkdir(s->project, 0755), 0);
    s->home_fd = open(s->home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    s->project_fd = open(s->project, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(s->home_fd >= 0 && s->project_fd >= 0);
}

static void free_seeds(struct seeds *s)
{
    close(s->home_fd);
    close(s->project_fd);
    tu_rm_rf(s->root);
    free(s->root);
}

static void environment_has_tokens_and_ca_bundle(void **state)
{
    (void)state;
    struct seeds s;
    make_seeds(&s);
    struct runenv_opts o = {.home_fd = s.home_fd, .project_fd = s.project_fd, .home_seed = s.home,
                            .project_seed = s.project, .rules_dir = tu_src("rules"), .registry_host = "npm.corp.test",
                            .home = "/home/dev", .project = "/home/dev/project", .user = "dev"};
    struct runenv x;
    struct sb_error err = {0};
    if (runenv_build(&x, &o, &err) < 0) fail_msg("runenv_build: %s", err.msg);
    const char *const *env = x.env;
    assert_true(!strncmp(env_value(env, "NPM_TOKEN"), "npm_", 4));
    assert_non_null(env_value(env, "GITHUB_TOKEN"));
    assert_null(env_value(env, "CI"));
    assert_null(env_value(env, "NODE_EXTRA_CA_CERTS"));   /* costs every node start ~17 ms */
    assert_non_null(strstr(env_value(env, "NODE_OPTIONS"), "--use-openssl-ca"));
    assert_string_equal(env_value(env, "SSL_CERT_FILE"), SBX_CA_BUNDLE_PATH);
    assert_string_equal(env_value(env, "REQUESTS_CA_BUNDLE"), SBX_CA_BUNDLE_PATH);
    /* either a CA with a certificate, or no interception and a reason */
    if (x.ca) assert_non_null(strstr(sbx_ca_cert_pem(x.ca), "BEGIN CERTIFICATE"));
    else assert_non_null(strstr(x.ca_note, "no TLS interception"));
    assert_true(x.hp.ncanaries > 80);
    char npmrc[4200];
    snprintf(npmrc, sizeof npmrc, "%s/.npmrc", s.home);
    char *text = tu_read_file(npmrc, NULL);
    assert_non_null(text);
    assert_true(!strncmp(text, "//npm.corp.test/:_authToken=npm_", 32));
    free(text);
    struct stat st;
    assert_int_equal(stat(s.home, &st), 0);
    if (geteuid() == 0) assert_int_equal(st.st_uid, 2000000000u);   /* handed to the sandbox's uid */
    else assert_int_equal(st.st_uid, geteuid());
    runenv_free(&x);
    free_seeds(&s);
}

static void ci_adds_a_ci_job(void **state)
{
    (void)state;
    struct seeds s;
    make_seeds(&s);
    struct runenv_opts o = {.home_fd = s.home_fd, .project_fd = s.project_fd, .ci = true, .home = "/home/dev",
                            .project = "/home/dev/project", .user = "dev"};
    struct runenv x;
    struct sb_error err = {0};
    if (runenv_build(&x, &o, &err) < 0) fail_msg("runenv_build: %s", err.msg);
    assert_string_equal(env_value(x.env, "CI"), "true");
    assert_string_equal(env_value(x.env, "GITHUB_ACTIONS"), "true");
    assert_non_null(env_value(x.env, "ACTIONS_RUNTIME_TOKEN"));
    assert_non_null(env_value(x.env, "SSL_CERT_FILE"));
    runenv_free(&x);
    free_seeds(&s);
}

static void a_planted_file_fails_the_build(void **state)
{
    (void)state;
    struct seeds s;
    make_seeds(&s);
    char path[4200];
    snprintf(path, sizeof path, "%s/.npmrc", s.home);
    write_text(path, "already here\n");
    struct runenv_opts o = {.home_fd = s.home_fd, .project_fd = s.project_fd};
    struct runenv x;
    struct sb_error err = {0};
    assert_int_equal(runenv_build(&x, &o, &err), -1);
    assert_non_null(strstr(err.msg, "honeypot"));
    assert_null(x.env);
    free_seeds(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_host_from_env_then_user_npmrc),
        cmocka_unit_test(rules_dir_from_env_or_next_to_the_binary),
        cmocka_unit_test(environment_has_tokens_and_ca_bundle),
        cmocka_unit_test(ci_adds_a_ci_job),
        cmocka_unit_test(a_planted_file_fails_the_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
