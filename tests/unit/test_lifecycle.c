/* test_lifecycle.c — package.json loading (hostile cases), npm's install plan, script environment. */
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

#include "lifecycle.h"
#include "manifest.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------------------------- */

struct pkgdir {
    char *path;
    int fd;
};

static int pkg_setup(void **state)
{
    struct pkgdir *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->path = tu_mkdtemp();
    assert_non_null(p->path);
    p->fd = open(p->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(p->fd >= 0);
    *state = p;
    return 0;
}

static int pkg_teardown(void **state)
{
    struct pkgdir *p = *state;
    close(p->fd);
    tu_rm_rf(p->path);
    free(p->path);
    free(p);
    return 0;
}

static void write_at(int dirfd, const char *name, const char *data, size_t len)
{
    unlinkat(dirfd, name, 0);
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static void write_json(void **state, const char *json)
{
    write_at(((struct pkgdir *)*state)->fd, "package.json", json, strlen(json));
}

/* Load what is in the folder; expects success. */
static void load_ok(void **state, struct manifest *m)
{
    struct sb_error err = {0};
    int rc = manifest_load(((struct pkgdir *)*state)->fd, m, &err);
    if (rc != 0) fail_msg("manifest_load failed: %s", err.msg);
}

/* Load what is in the folder; expects a bad-manifest error whose message contains needle. */
static void load_fails(void **state, const char *needle)
{
    struct manifest m;
    struct sb_error err = {0};
    assert_int_equal(manifest_load(((struct pkgdir *)*state)->fd, &m, &err), -1);
    assert_int_equal(err.exit_code, SB_EXIT_INPUT);
    assert_string_equal(err.code, "bad-manifest");
    assert_null(strchr(err.msg, '\n'));
    if (!strstr(err.msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
    assert_null(m.json);
}

static void plan_of(void **state, const char *json, struct lifecycle_plan *plan, struct manifest *m)
{
    write_json(state, json);
    load_ok(state, m);
    lifecycle_plan_build(m, plan);
}

/* ---- plan ------------------------------------------------------------------------------- */

static void plan_none(void **state)
{
    struct manifest m;
    struct lifecycle_plan plan;
    plan_of(state, "{\"name\":\"a\",\"version\":\"1.0.0\",\"scripts\":{\"test\":\"x\",\"prepare\":\"y\"}}", &plan, &m);
    assert_int_equal(plan.nsteps, 0);
    manifest_free(&m);
}

static void plan_each_script_alone(void **state)
{
    static const char *const events[] = {"preinstall", "install", "postinstall"};
    for (size_t i = 0; i < 3; i++) {
        char json[256];
        snprintf(json, sizeof json, "{\"name\":\"a\",\"version\":\"1.0.0\",\"scripts\":{\"%s\":\"run %s\"}}",
                 events[i], events[i]);
        struct manifest m;
        struct lifecycle_plan plan;
        plan_of(state, json, &plan, &m);
        assert_int_equal(plan.nsteps, 1);
        assert_string_equal(plan.steps[0].event, events[i]);
        char want[64];
        snprintf(want, sizeof want, "run %s", events[i]);
        assert_string_equal(plan.steps[0].script, want);
        assert_false(plan.steps[0].implicit);
        manifest_free(&m);
    }
}

static void plan_all_three_in_order(void **state)
{
    struct manifest m;
    struct lifecycle_plan plan;
    plan_of(state, "{\"name\":\"a\",\"version\":\"1.0.0\",\"scripts\":{\"postinstall\":\"c\","
                   "\"install\":\"b\",\"preinstall\":\"a\"}}", &plan, &m);
    assert_int_equal(plan.nsteps, 3);
    assert_string_equal(plan.steps[0].event, "preinstall");
    assert_string_equal(plan.steps[0].script, "a");
    assert_string_equal(plan.steps[1].event, "install");
    assert_string_equal(plan.steps[1].script, "b");
    assert_string_equal(plan.steps[2].event, "postinstall");
    assert_string_equal(plan.steps[2].script, "c");
    manifest_free(&m);
}

static void plan_empty_script_is_no_script(void **state)
{
    struct manifest m;
    struct lifecycle_plan plan;
    plan_of(state, "{\"name\":\"a\",\"version\":\"1.0.0\",\"scripts\":{\"postinstall\":\"\"}}", &plan, &m);
    assert_int_equal(plan.nsteps, 0);
    manifest_free(&m);
}

static void plan_binding_gyp_implicit_install(void **state)
{
    struct pkgdir *p = *state;
    write_at(p->fd, "binding.gyp", "{}", 2);
    struct manifest m;
    struct lifecycle_plan plan;
    plan_of(state, "{\"name\":\"a\",\"version\":\"1.0.0\",\"scripts\":{\"postinstall\":\"z\"}}", &plan, &m);
    assert_true(m.has_binding_gyp);
    assert_int_equal(plan.nsteps, 2);
    assert_string_equal(plan.steps[0].event, "install");
    assert_string_equal(plan.steps[0].script, "node-gyp rebuild");
    assert_true(plan.steps[0].implicit);
    assert_string_equal(plan.steps[1].event, "postinstall");
    manifest_free(&m);
}

static void plan_binding_gyp_with_install(void **state)
{
    write_at(((struct pkgdir *)*state)->fd, "binding.gyp", "{}", 2);
    struct manifest m;
    struct lifecycle_plan plan;
    plan_of(state, "{\"name\":\"a\",\"version\":\"1.0.0\",\"scripts\":{\"install\":\"make\"}}", &plan, &m);
    assert_int_equal(plan.nsteps, 1);
    assert_string_equal(plan.steps[0].script, "make");
    assert_false(plan.steps[0].implicit);
    manifest_free(&m);
}

static void plan_binding_gyp_with_preinstall(void **state)
{
    write_at(((struct pkgdir *)*state)->fd, "binding.gyp", "{}", 2);
    struct manifest m;
    struct lifecycle_plan plan;
    plan_of(state, "{\"name\":\"a\",\"version\":\"1.0.0\",\"scripts\":{\"preinstall\":\"p\"}}", &plan, &m);
    assert_int_equal(plan.nsteps, 1);
    assert_string_equal(plan.steps[0].event, "preinstall");
    manifest_free(&m);
}

static void plan_binding_gyp_gypfile_false(void **state)
{
    write_at(((struct pkgdir *)*state)->fd, "binding.gyp", "{}", 2);
    struct manifest m;
    struct lifecycle_plan plan;
    plan_of(state, "{\"name\":\"a\",\"version\":\"1.0.0\",\"gypfile\":false}", &plan, &m);
    assert_int_equal(plan.nsteps, 0);
    manifest_free(&m);
}

/* npm stat()s binding.gyp (follows links); we follow them only inside the package. */
static void plan_binding_gyp_links_and_folders(void **state)
{
    struct pkgdir *p = *state;
    struct manifest m;
    struct lifecycle_plan plan;
    write_at(p->fd, "real.gyp", "{}", 2);
    assert_int_equal(symlinkat("real.gyp", p->fd, "binding.gyp"), 0);
    plan_of(state, "{\"name\":\"a\",\"version\":\"1.0.0\"}", &plan, &m);
    assert_true(m.has_binding_gyp);
    assert_int_equal(plan.nsteps, 1);
    assert_true(plan.steps[0].implicit);
    manifest_free(&m);
    static const char *const outside[] = {"/etc/hostname", "../../../../../../etc/hostname", "dangling"};
    for (size_t i = 0; i < sizeof outside / sizeof *outside; i++) {
        unlinkat(p->fd, "binding.gyp", 0);
        assert_int_equal(symlinkat(outside[i], p->fd, "binding.gyp"), 0);
        plan_of(state, "{\"name\":\"a\",\"version\":\"1.0.0\"}", &plan, &m);
        if (m.has_binding_gyp) fail_msg("followed binding.gyp -> %s out of the package", outside[i]);
        assert_int_equal(plan.nsteps, 0);
        manifest_free(&m);
    }
    unlinkat(p->fd, "binding.gyp", 0);
    assert_int_equal(mkdirat(p->fd, "binding.gyp", 0755), 0);
    plan_of(state, "{\"name\":\"a\",\"version\":\"1.0.0\"}", &plan, &m);
    assert_false(m.has_binding_gyp);
    manifest_free(&m);
    unlinkat(p->fd, "binding.gyp", AT_REMOVEDIR);
}

static void plan_non_string_script_rejected(void **state)
{
    write_json(state, "{\"name\":\"a\",\"version\":\"1.0.0\",\"scripts\":{\"test\":\"t\",\"postinstall\":[\"x\"]}}");
    load_fails(state, "script \"postinstall\" is not a string");
    write_json(state, "{\"name\":\"a\",\"version\":\"1.0.0\",\"scripts\":{\"install\":null}}");
    load_fails(state, "script \"install\"");
    write_json(state, "{\"name\":\"a\",\"version\":\"1.0.0\",\"scripts\":{\"ev\\nil\":1}}");
    load_fails(state, "script \"ev\\x0ail\"");             /* the key is escaped, one line */
    write_json(state, "{\"name\":\"a\",\"version\":\"1.0.0\",\"scripts\":\"rm -rf /\"}");
    load_fails(state, "\"scripts\" is not an object");
}

/* ---- manifest: hostile input ------------------------------------------------------------ */

static void manifest_reads_fields(void **state)
{
    struct manifest m;
    write_json(state, "\xEF\xBB\xBF{\"name\":\"@scope/pkg\",\"version\":\"1.2.3\",\"scripts\":{\"install\":\"i\"}}");
    load_ok(state, &m);
    assert_string_equal(m.name, "@scope/pkg");
    assert_string_equal(m.version, "1.2.3");
    assert_non_null(m.scripts);
    assert_string_equal(manifest_script(&m, "install"), "i");
    assert_null(manifest_script(&m, "postinstall"));
    assert_false(m.has_binding_gyp);
    assert_int_equal(m.raw_len, strlen("\xEF\xBB\xBF{\"name\":\"@scope/pkg\",\"version\":\"1.2.3\",\"scripts\":{\"install\":\"i\"}}"));
    manifest_free(&m);
    manifest_free(&m);                                     /* idempotent */
}

static void manifest_not_an_object(void **state)
{
    write_json(state, "[\"name\",\"version\"]");
    load_fails(state, "not a JSON object");
    write_json(state, "\"x\"");
    load_fails(state, "not a JSON object");
    write_json(state, "");
    load_fails(state, "not valid JSON");
    write_json(state, "{\"name\":\"a\",\"version\":\"1\"} trailing");
    load_fails(state, "not valid JSON");
    write_json(state, "{\"name\":\"a\",\"version\":\"1\"");
    load_fails(state, "not valid JSON");
}

static void manifest_too_large(void **state)
{
    size_t len = 2u << 20;
    char *big = malloc(len);
    assert_non_null(big);
    memset(big, ' ', len);
    const char *head = "{\"name\":\"a\",\"version\":\"1.0.0\"}";
    memcpy(big, head, strlen(head));
    write_at(((struct pkgdir *)*state)->fd, "package.json", big, len);
    free(big);
    load_fails(state, "larger than");
}

static void manifest_deep_nesting(void **state)
{
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 64);
    assert_non_null(deep);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    write_at(((struct pkgdir *)*state)->fd, "package.json", deep, depth * 2);
    load_fails(state, "nested deeper than 64");
    /* unbalanced and inside an object */
    int n = sprintf(deep, "{\"name\":\"a\",\"version\":\"1\",\"x\":");
    memset(deep + n, '{', depth);
    write_at(((struct pkgdir *)*state)->fd, "package.json", deep, (size_t)n + depth);
    load_fails(state, "nested deeper than 64");
    free(deep);
    /* brackets inside strings do not count; 64 levels are fine */
    char ok[512];
    n = sprintf(ok, "{\"name\":\"a\",\"version\":\"1\",\"s\":\"[[[[[[[[\\\"[[[[\",\"d\":");
    for (int i = 0; i < 63; i++) ok[n++] = '[';
    for (int i = 0; i < 63; i++) ok[n++] = ']';
    ok[n++] = '}';
    write_at(((struct pkgdir *)*state)->fd, "package.json", ok, (size_t)n);
    struct manifest m;
    load_ok(state, &m);
    manifest_free(&m);
}

/* Why we check depth ourselves, before cJSON: cJSON recurses once per level and only stops at
 * CJSON_NESTING_LIMIT (1000 here); 100k levels are refused, not parsed, but 1000 frames of
 * recursion are still more than a hostile file should get. */
static void cjson_alone_stops_at_its_limit(void **state)
{
    (void)state;
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 1);
    assert_non_null(deep);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[depth * 2] = 0;
    assert_null(cJSON_ParseWithLengthOpts(deep, depth * 2 + 1, NULL, 1));
    /* just under the limit it recurses all the way down, and parses */
    size_t under = CJSON_NESTING_LIMIT - 1;
    memmove(deep + under, deep + depth * 2 - under, under + 1);
    cJSON *j = cJSON_Parse(deep);
    assert_non_null(j);
    cJSON_Delete(j);
    free(deep);
}

static void manifest_bad_names(void **state)
{
    static const char *const bad[] = {
        "../x", "@a/../b", "a/b", "..", ".", ".x", "_x", "", "@/x", "@a/", "@a", "@.a/b", "@a/.b",
        "a b", "a\\b", "a%2fb", "a:b", "a\tb", "node_modules", "favicon.ico", "a..b", "@a/b/c", "é",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (manifest_valid_name(bad[i])) fail_msg("accepted bad name \"%s\"", bad[i]);
    assert_false(manifest_valid_name(NULL));
    char longname[300];
    memset(longname, 'a', sizeof longname);
    longname[215] = 0;
    assert_false(manifest_valid_name(longname));
    longname[214] = 0;
    assert_true(manifest_valid_name(longname));
    static const char *const good[] = {"a", "@scope/pkg", "lodash.merge", "a-b_c~d!e*f'g(h)", "Caps", "x.js"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (!manifest_valid_name(good[i])) fail_msg("refused good name \"%s\"", good[i]);

    write_json(state, "{\"name\":\"../x\",\"version\":\"1.0.0\"}");
    load_fails(state, "not a valid npm package name: \"../x\"");
    write_json(state, "{\"name\":\"@a/../b\",\"version\":\"1.0.0\"}");
    load_fails(state, "not a valid npm package name");
    write_json(state, "{\"name\":\"a/b\",\"version\":\"1.0.0\"}");
    load_fails(state, "not a valid npm package name");
    write_json(state, "{\"name\":\"a\\u0000/../../x\",\"version\":\"1.0.0\"}");
    load_fails(state, "escaped NUL");
    write_json(state, "{\"name\":\"a\",\"version\":\"1.0.0\",\"scripts\":{\"postinstall\":\"ok\\u0000; evil\"}}");
    load_fails(state, "escaped NUL");
    write_at(((struct pkgdir *)*state)->fd, "package.json", "{\"name\":\"a\0b\",\"version\":\"1\"}", 27);
    load_fails(state, "NUL byte");
    write_json(state, "{\"name\":7,\"version\":\"1.0.0\"}");
    load_fails(state, "\"name\" is missing or not a string");
    write_json(state, "{\"version\":\"1.0.0\"}");
    load_fails(state, "\"name\" is missing");
    write_json(state, "{\"name\":\"a\"}");
    load_fails(state, "\"version\" is missing");
    write_json(state, "{\"name\":\"a\",\"version\":\"1\\n2\"}");
    load_fails(state, "\"version\"");
}

static void manifest_symlink_refused(void **state)
{
    struct pkgdir *p = *state;
    write_at(p->fd, "real.json", "{\"name\":\"a\",\"version\":\"1\"}", 26);
    assert_int_equal(symlinkat("real.json", p->fd, "package.json"), 0);
    load_fails(state, "symbolic link");
    unlinkat(p->fd, "package.json", 0);
    assert_int_equal(mkdirat(p->fd, "package.json", 0755), 0);
    load_fails(state, "package.json");
    unlinkat(p->fd, "package.json", AT_REMOVEDIR);
    load_fails(state, "missing");
}

/* JSON.parse keeps the last of duplicate keys: so must we, or a second "postinstall" hides. */
static void manifest_duplicate_keys_last_wins(void **state)
{
    struct manifest m;
    write_json(state, "{\"name\":\"a\",\"version\":\"1.0.0\",\"scripts\":{\"postinstall\":\"benign\","
                      "\"test\":\"t\",\"postinstall\":\"middle\",\"postinstall\":\"evil\"},\"name\":\"b\"}");
    load_ok(state, &m);
    assert_string_equal(manifest_script(&m, "postinstall"), "evil");
    assert_string_equal(m.name, "b");
    assert_int_equal(cJSON_GetArraySize(m.scripts), 2);
    assert_string_equal(m.scripts->child->string, "postinstall");   /* first position kept */
    manifest_free(&m);
    /* keys are case-sensitive, as in JavaScript */
    write_json(state, "{\"name\":\"a\",\"version\":\"1.0.0\",\"Scripts\":{\"postinstall\":\"x\"}}");
    load_ok(state, &m);
    assert_null(m.scripts);
    manifest_free(&m);
}

/* ---- environment ------------------------------------------------------------------------ */

static const struct lifecycle_world base_world = {
    .project_dir = "/home/u/proj",
    .package_dir = "/home/u/proj/node_modules/@s/pkg",
    .home = "/home/u",
    .user = "u",
    .node_path = "/usr/bin/node",
    .npm_cli_path = "/usr/lib/node_modules/npm/bin/npm-cli.js",
    .node_gyp_bin = "/usr/lib/node_modules/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin",
    .npm_version = "11.19.1",
    .node_version = "v20.20.2",
    .system_path = "/usr/local/bin:/usr/bin:/bin",
};

static const char *env_get(char **env, const char *name)
{
    size_t nl = strlen(name);
    for (char **e = env; *e; e++)
        if (strncmp(*e, name, nl) == 0 && (*e)[nl] == '=') return *e + nl + 1;
    return NULL;
}

static void assert_env(char **env, const char *name, const char *want)
{
    const char *got = env_get(env, name);
    if (!got) fail_msg("%s missing", name);
    if (strcmp(got, want) != 0) fail_msg("%s=\"%s\", want \"%s\"", name, got, want);
}

static char **env_for(void **state, const char *json, const struct lifecycle_world *w, struct manifest *m)
{
    struct lifecycle_plan plan;
    plan_of(state, json, &plan, m);
    assert_true(plan.nsteps > 0);
    struct sb_error err = {0};
    char **env = lifecycle_env(m, &plan.steps[plan.nsteps - 1], w, &err);
    if (!env) fail_msg("lifecycle_env: %s", err.msg);
    return env;
}

static void env_npm_keys(void **state)
{
    struct manifest m;
    char **env = env_for(state, "{\"name\":\"@s/pkg\",\"version\":\"2.0.0\",\"scripts\":{\"postinstall\":\"node x.js\"}}",
                         &base_world, &m);
    assert_env(env, "npm_lifecycle_event", "postinstall");
    assert_env(env, "npm_lifecycle_script", "node x.js");
    assert_env(env, "npm_package_name", "@s/pkg");
    assert_env(env, "npm_package_version", "2.0.0");
    assert_env(env, "npm_package_json", "/home/u/proj/node_modules/@s/pkg/package.json");
    assert_env(env, "npm_node_execpath", "/usr/bin/node");
    assert_env(env, "NODE", "/usr/bin/node");
    assert_env(env, "npm_execpath", "/usr/lib/node_modules/npm/bin/npm-cli.js");
    assert_env(env, "npm_command", "install");
#if defined(__x86_64__)
    assert_env(env, "npm_config_user_agent", "npm/11.19.1 node/v20.20.2 linux x64 workspaces/false");
#endif
    assert_env(env, "npm_config_cache", "/home/u/.npm");
    assert_env(env, "npm_config_userconfig", "/home/u/.npmrc");
    assert_env(env, "npm_config_init_module", "/home/u/.npm-init.js");
    assert_env(env, "npm_config_global_prefix", "/usr");
    assert_env(env, "npm_config_prefix", "/usr");
    assert_env(env, "npm_config_globalconfig", "/usr/etc/npmrc");
    assert_env(env, "npm_config_local_prefix", "/home/u/proj");
    assert_env(env, "npm_config_node_gyp", "/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js");
    assert_env(env, "npm_config_npm_version", "11.19.1");
    assert_env(env, "npm_package_dev", "");
    assert_env(env, "npm_package_optional", "");
    assert_env(env, "INIT_CWD", "/home/u/proj");
    assert_env(env, "HOME", "/home/u");
    assert_env(env, "COLOR", "0");
    assert_env(env, "EDITOR", "vi");
    assert_env(env, "PATH",
               "/home/u/proj/node_modules/@s/pkg/node_modules/.bin:/home/u/proj/node_modules/@s/node_modules/.bin:"
               "/home/u/proj/node_modules/node_modules/.bin:/home/u/proj/node_modules/.bin:"
               "/home/u/node_modules/.bin:/home/node_modules/.bin:/node_modules/.bin:"
               "/usr/lib/node_modules/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin:"
               "/usr/local/bin:/usr/bin:/bin");
    assert_null(env_get(env, "npm_package_resolved"));
    assert_null(env_get(env, "USER"));
    lifecycle_env_free(env);
    manifest_free(&m);
}

static void env_sorted_unique_and_hermetic(void **state)
{
    setenv("SCRIPTBOX_TEST_SECRET", "hunter2", 1);
    const char *const extra[] = {"NPM_TOKEN=t0k", "HOME=/evil", "PATH=/evil", "Z=1", "Z=2", "EMPTY=", NULL};
    struct lifecycle_world w = base_world;
    w.extra = extra;
    w.resolved = "https://registry.mocks.lan/@s/pkg/-/pkg-2.0.0.tgz";
    w.integrity = "sha512-abc";
    struct manifest m;
    char **env = env_for(state, "{\"name\":\"@s/pkg\",\"version\":\"2.0.0\",\"scripts\":{\"install\":\"i\"}}", &w, &m);
    for (size_t i = 1; env[i]; i++) {
        size_t a = strcspn(env[i - 1], "="), b = strcspn(env[i], "=");
        int c = strncmp(env[i - 1], env[i], a < b ? a : b);
        if (c > 0 || (c == 0 && a >= b)) fail_msg("not sorted/unique: %s before %s", env[i - 1], env[i]);
    }
    for (char **e = env; *e; e++)
        if (strstr(*e, "hunter2")) fail_msg("host environment leaked: %s", *e);
    assert_env(env, "NPM_TOKEN", "t0k");
    assert_env(env, "HOME", "/home/u");            /* extra never overrides what npm sets */
    assert_true(strncmp(env_get(env, "PATH"), "/home/u/proj", 12) == 0);
    assert_env(env, "Z", "2");
    assert_env(env, "EMPTY", "");
    assert_env(env, "npm_lifecycle_event", "install");
    assert_env(env, "npm_package_resolved", "https://registry.mocks.lan/@s/pkg/-/pkg-2.0.0.tgz");
    assert_env(env, "npm_package_integrity", "sha512-abc");
    lifecycle_env_free(env);
    manifest_free(&m);
    unsetenv("SCRIPTBOX_TEST_SECRET");
}

static void env_implicit_gyp_and_no_npm(void **state)
{
    write_at(((struct pkgdir *)*state)->fd, "binding.gyp", "{}", 2);
    struct lifecycle_world w = base_world;
    w.npm_cli_path = NULL;
    w.node_gyp_bin = NULL;
    w.package_dir = "/p//x/";
    w.global_prefix = "/opt/node";
    struct manifest m;
    char **env = env_for(state, "{\"name\":\"x\",\"version\":\"1\"}", &w, &m);
    assert_env(env, "npm_lifecycle_event", "install");
    assert_env(env, "npm_lifecycle_script", "node-gyp rebuild");
    assert_env(env, "npm_package_json", "/p/x/package.json");
    assert_env(env, "PATH", "/p/x/node_modules/.bin:/p/node_modules/.bin:/node_modules/.bin:/usr/local/bin:/usr/bin:/bin");
    assert_env(env, "npm_config_prefix", "/opt/node");
    assert_env(env, "npm_config_globalconfig", "/opt/node/etc/npmrc");
    assert_null(env_get(env, "npm_execpath"));
    assert_null(env_get(env, "npm_config_node_gyp"));
    lifecycle_env_free(env);
    manifest_free(&m);
}

/* run-script package-envs.js: config, engines and bin flattened as JavaScript would. */
static void env_package_fields(void **state)
{
    struct manifest m;
    char **env = env_for(state,
        "{\"name\":\"@s/pkg\",\"version\":\"1.0.0\",\"scripts\":{\"postinstall\":\"p\"},"
        "\"config\":{\"port\":8080,\"f\":false,\"t\":true,\"n\":null,\"list\":[\"a\",{\"b\":1.5}],"
        "\"nums\":[1e21,1e-7,0.000001,123456789012345678901234,0.1,-2,1e20,-0,0.0000123]},"
        "\"engines\":{\"node\":\">=14\"},\"bin\":\"./bin/../cli.js\",\"description\":\"not exported\"}",
        &base_world, &m);
    assert_env(env, "npm_package_config_port", "8080");
    assert_env(env, "npm_package_config_f", "");
    assert_env(env, "npm_package_config_t", "true");
    assert_env(env, "npm_package_config_n", "");
    assert_env(env, "npm_package_config_list_0", "a");
    assert_env(env, "npm_package_config_list_1_b", "1.5");
    static const char *const nums[] = {"1e+21", "1e-7", "0.000001", "1.2345678901234569e+23", "0.1", "-2",
                                       "100000000000000000000", "0", "0.0000123"};
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        char name[64];
        snprintf(name, sizeof name, "npm_package_config_nums_%zu", i);
        assert_env(env, name, nums[i]);
    }
    assert_env(env, "npm_package_engines_node", ">=14");
    assert_env(env, "npm_package_bin_pkg", "cli.js");      /* scoped name -> basename; path made safe */
    assert_null(env_get(env, "npm_package_description"));
    lifecycle_env_free(env);
    manifest_free(&m);

    env = env_for(state,
        "{\"name\":\"a\",\"version\":\"1\",\"scripts\":{\"install\":\"i\"},"
        "\"bin\":{\"../../evil\":\"../../../etc/x\",\"ok\":\"c:\\\\bin\\\\ok.js\",\"gone\":\"..\",\"bad\":5}}",
        &base_world, &m);
    assert_env(env, "npm_package_bin_evil", "etc/x");
    assert_env(env, "npm_package_bin_ok", "c/bin/ok.js");
    assert_null(env_get(env, "npm_package_bin_gone"));
    assert_null(env_get(env, "npm_package_bin_bad"));
    lifecycle_env_free(env);
    manifest_free(&m);
}

static void env_too_large_refused(void **state)
{
    size_t n = 5000;
    char *json = malloc(n * 16 + 128);
    assert_non_null(json);
    int len = sprintf(json, "{\"name\":\"a\",\"version\":\"1\",\"scripts\":{\"install\":\"i\"},\"config\":{");
    for (size_t i = 0; i < n; i++) len += sprintf(json + len, "%s\"k%zu\":1", i ? "," : "", i);
    strcpy(json + len, "}}");
    struct manifest m;
    struct lifecycle_plan plan;
    plan_of(state, json, &plan, &m);
    free(json);
    struct sb_error err = {0};
    assert_null(lifecycle_env(&m, &plan.steps[0], &base_world, &err));
    assert_int_equal(err.exit_code, SB_EXIT_INPUT);
    assert_string_equal(err.code, "bad-manifest");
    manifest_free(&m);

    /* one script longer than execve takes for a single string */
    size_t big = 200 * 1024;
    json = malloc(big + 128);
    assert_non_null(json);
    len = sprintf(json, "{\"name\":\"a\",\"version\":\"1\",\"scripts\":{\"install\":\"");
    memset(json + len, 'x', big);
    strcpy(json + len + big, "\"}}");
    plan_of(state, json, &plan, &m);
    free(json);
    assert_null(lifecycle_env(&m, &plan.steps[0], &base_world, &err));
    assert_string_equal(err.code, "bad-manifest");
    manifest_free(&m);
}

static void env_bad_world_or_extra(void **state)
{
    struct manifest m;
    struct lifecycle_plan plan;
    plan_of(state, "{\"name\":\"a\",\"version\":\"1\",\"scripts\":{\"install\":\"i\"}}", &plan, &m);
    struct sb_error err = {0};
    const char *const extra[] = {"NOEQUALS", NULL};
    struct lifecycle_world w = base_world;
    w.extra = extra;
    assert_null(lifecycle_env(&m, &plan.steps[0], &w, &err));
    assert_string_equal(err.code, "bad-env");
    w = base_world;
    w.package_dir = "relative/dir";
    assert_null(lifecycle_env(&m, &plan.steps[0], &w, &err));
    assert_int_equal(err.exit_code, SB_EXIT_SANDBOX);
    w = base_world;
    w.project_dir = "proj";
    assert_null(lifecycle_env(&m, &plan.steps[0], &w, &err));
    assert_string_equal(err.code, "internal");
    w = base_world;
    w.home = NULL;
    assert_null(lifecycle_env(&m, &plan.steps[0], &w, &err));
    /* paths at the root resolve as node's path.resolve does */
    w = base_world;
    w.home = "/";
    w.package_dir = "/";
    w.node_path = "/node";
    char **env = lifecycle_env(&m, &plan.steps[0], &w, &err);
    assert_non_null(env);
    assert_env(env, "npm_config_cache", "/.npm");
    assert_env(env, "npm_config_prefix", "/");
    assert_env(env, "npm_config_globalconfig", "/etc/npmrc");
    assert_env(env, "npm_package_json", "/package.json");
    assert_true(strncmp(env_get(env, "PATH"), "/node_modules/.bin:/usr/lib/", 28) == 0);
    lifecycle_env_free(env);
    manifest_free(&m);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, pkg_setup, pkg_teardown)
    const struct CMUnitTest tests[] = {
        T(plan_none),
        T(plan_each_script_alone),
        T(plan_all_three_in_order),
        T(plan_empty_script_is_no_script),
        T(plan_binding_gyp_implicit_install),
        T(plan_binding_gyp_with_install),
        T(plan_binding_gyp_with_preinstall),
        T(plan_binding_gyp_gypfile_false),
        T(plan_binding_gyp_links_and_folders),
        T(plan_non_string_script_rejected),
        T(manifest_reads_fields),
        T(manifest_not_an_object),
        T(manifest_too_large),
        T(manifest_deep_nesting),
        T(cjson_alone_stops_at_its_limit),
        T(manifest_bad_names),
        T(manifest_symlink_refused),
        T(manifest_duplicate_keys_last_wins),
        T(env_npm_keys),
        T(env_sorted_unique_and_hermetic),
        T(env_implicit_gyp_and_no_npm),
        T(env_package_fields),
        T(env_too_large_refused),
        T(env_bad_world_or_extra),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
