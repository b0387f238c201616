/*
 * test_phases.c — --phases parsing, the import phase's command and environment, and the node
 * preload's marks turned into "time accelerated" notes (src/phases.c, src/timewarp.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "timewarp.h"

static void phases_are_parsed(void **state)
{
    (void)state;
    struct sb_error err = {0};
    unsigned m = 0;
    assert_int_equal(phases_parse("install", &m, &err), 0);
    assert_int_equal(m, PHASE_INSTALL);
    assert_int_equal(phases_parse("import,install", &m, &err), 0);
    assert_int_equal(m, PHASE_INSTALL | PHASE_IMPORT);
    assert_int_equal(phases_parse("import", &m, &err), 0);
    assert_int_equal(m, PHASE_IMPORT);
    static const char *const bad[] = {"", ",", "deps", "install,", "installx", "imp"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&err, 0, sizeof err);
        int rc = phases_parse(bad[i], &m, &err);
        if (!strcmp(bad[i], "install,")) {   /* a trailing comma is harmless */
            assert_int_equal(rc, 0);
            continue;
        }
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err.msg, "--phases"));
    }
}

static const char *env_value(char **env, const char *name)
{
    size_t n = strlen(name);
    for (char **e = env; *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=') return *e + n + 1;
    return NULL;
}

static void import_command_and_environment(void **state)
{
    (void)state;
    struct world w;
    memset(&w, 0, sizeof w);
    const char *extra[] = {"NPM_TOKEN=npm_x", "HOME=/evil", TIMEWARP_NODE_OPTIONS, NULL};
    w.lw = (struct lifecycle_world){.project_dir = "/home/dev/project", .package_dir = "/home/dev/project/node_modules/p",
                                    .home = "/home/dev", .user = "dev", .node_path = "/usr/bin/node",
                                    .system_path = "/usr/bin:/bin", .extra = extra};
    struct manifest m = {0};
    m.json = cJSON_Parse("{\"name\":\"p\",\"version\":\"1.0.0\",\"type\":\"module\"}");
    m.name = "p";
    struct import_cmd c;
    struct sb_error err = {0};
    assert_int_equal(phases_import_cmd(&w, &m, &c, &err), 0);
    assert_string_equal(c.argv[0], "/usr/bin/node");
    assert_string_equal(c.argv[1], "-e");
    assert_string_equal(c.argv[3], "p");
    assert_string_equal(c.argv[4], "esm");
    assert_null(c.argv[5]);
    assert_string_equal(env_value(c.env, "HOME"), "/home/dev");   /* ours win over the extra layer */
    assert_string_equal(env_value(c.env, "USER"), "dev");
    assert_string_equal(env_value(c.env, "PATH"), "/usr/bin:/bin");
    assert_string_equal(env_value(c.env, "NPM_TOKEN"), "npm_x");
    assert_string_equal(env_value(c.env, "NODE_OPTIONS"), "--require " TIMEWARP_NODE_PATH);
    assert_null(env_value(c.env, "npm_lifecycle_event"));
    int homes = 0;
    for (char **e = c.env; *e; e++) homes += !strncmp(*e, "HOME=", 5);
    assert_int_equal(homes, 1);
    phases_import_cmd_free(&c);
    cJSON_Delete(m.json);
    m.json = cJSON_Parse("{\"name\":\"p\",\"version\":\"1.0.0\",\"main\":\"lib/x.js\"}");
    assert_int_equal(phases_import_cmd(&w, &m, &c, &err), 0);
    assert_string_equal(c.argv[4], "cjs");
    phases_import_cmd_free(&c);
    cJSON_Delete(m.json);
    m.json = cJSON_Parse("{\"name\":\"p\",\"version\":\"1.0.0\",\"main\":\"x.mjs\"}");
    assert_int_equal(phases_import_cmd(&w, &m, &c, &err), 0);
    assert_string_equal(c.argv[4], "esm");
    phases_import_cmd_free(&c);
    cJSON_Delete(m.json);
}

static void preload_marks_become_notes(void **state)
{
    (void)state;
    const char *js = timewarp_node_js();
    assert_non_null(strstr(js, TIMEWARP_MARK));
    assert_null(strstr(js, "scriptbox"));
    assert_null(strstr(js, "sandbox"));
    struct sbx_event ev = {.kind = SBX_EV_OPEN, .pid = 7, .ppid = 3, .t_ns = 99, .path = TIMEWARP_MARK "600000"};
    struct sbx_event note;
    char buf[128];
    assert_int_equal(timewarp_event(&ev, &note, buf, sizeof buf), 1);
    assert_int_equal(note.kind, SBX_EV_NOTE);
    assert_int_equal(note.pid, 7);
    assert_int_equal(note.ppid, 3);
    assert_int_equal((int)note.t_ns, 99);
    assert_string_equal(note.detail, "time accelerated: node timer of 600.000 s fast-forwarded");
    assert_true(timewarp_is_note(note.detail));
    assert_true(timewarp_is_note("time accelerated: clock_nanosleep of 600.000 s answered at once"));
    assert_false(timewarp_is_note("trace"));
    assert_false(timewarp_is_note(NULL));
    ev.path = "/etc/node/preload.js";
    assert_int_equal(timewarp_event(&ev, &note, buf, sizeof buf), 0);
    ev.kind = SBX_EV_EXEC;
    ev.path = TIMEWARP_MARK "1";
    assert_int_equal(timewarp_event(&ev, &note, buf, sizeof buf), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(phases_are_parsed),
        cmocka_unit_test(import_command_and_environment),
        cmocka_unit_test(preload_marks_become_notes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
