/*
 * test_observe.c — the observer's acceptance: exact event fields for exec, open, connect,
 * sendto and a denied call, and a run that survives hostile output. Root and rootless.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define PKG_DIR "/home/dev/project/node_modules/observe-all"

struct ctx {
    struct tu_dirs dirs;   /* dirs.tmp: scriptbox's private TMPDIR; dirs.out: the test's files */
    cJSON *events;         /* array of every event of the run */
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    tu_dirs_open(&c->dirs);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    cJSON_Delete(c->events);
    tu_dirs_close(&c->dirs);
    free(c);
    return 0;
}

static void sh(const char *cmd)
{
    if (system(cmd) != 0) fail_msg("command failed: %s", cmd);
}

static cJSON *load_events(const char *path)
{
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    cJSON *all = cJSON_CreateArray();
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *e = cJSON_Parse(line);
        assert_non_null(e);
        cJSON_AddItemToArray(all, e);
    }
    free(text);
    return all;
}

/* Analyze the observe-all fixture (with the static probe copied in) and keep its events. */
static void run_observe_all(struct ctx *c)
{
    char cmd[8192], events[4096], report[4096];
    snprintf(cmd, sizeof cmd, "cp -R %s %s/observe-all && cp %s %s/observe-all/ && chmod -R a+rX %s",
             tu_src("tests/fixtures/packages/observe-all"), c->dirs.out, tu_build("tests/helpers/observe_probe"), c->dirs.out, c->dirs.out);
    sh(cmd);
    snprintf(events, sizeof events, "%s/events.jsonl", c->dirs.out);
    snprintf(report, sizeof report, "%s/report.json", c->dirs.out);
    snprintf(cmd, sizeof cmd, "%s/observe-all", c->dirs.out);
    const char *argv[] = {tu_build("scriptbox"), "analyze", cmd, "--format", "json", "--output", report,
                          "--events", events, NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    /* The probe reads ~/.npmrc, connects out and calls ptrace: the rules flag it (exit 1). */
    if (r.status != 0 && r.status != 1) fprintf(stderr, "%s", r.err);
    assert_true(r.status == 0 || r.status == 1);
    tu_run_free(&r);
    c->events = load_events(events);
}

static const char *s(const cJSON *e, const char *k) { return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, k)); }

static bool argv_is(const cJSON *e, const char *const *want)
{
    const cJSON *argv = cJSON_GetObjectItemCaseSensitive(e, "argv");
    int n = 0;
    while (want[n]) n++;
    if (cJSON_GetArraySize(argv) != n) return false;
    for (int i = 0; i < n; i++)
        if (strcmp(cJSON_GetArrayItem(argv, i)->valuestring, want[i])) return false;
    return true;
}

static const cJSON *find_exec(const struct ctx *c, const char *path, const char *const *argv)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, c->events)
        if (!strcmp(s(e, "kind"), "exec") && s(e, "path") && !strcmp(s(e, "path"), path) && argv_is(e, argv)) return e;
    return NULL;
}

static void dump_kind(const struct ctx *c, const char *kind)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, c->events) if (!strcmp(s(e, "kind"), kind)) {
        char *t = cJSON_PrintUnformatted(e);
        fprintf(stderr, "  %s\n", t);
        free(t);
    }
}

static void exec_events_carry_full_argv(void **state)
{
    struct ctx *c = *state;
    run_observe_all(c);
    const char *sh_argv[] = {"/bin/sh", "-c", "node observe.js && ./observe_probe", NULL};
    const char *node_argv[] = {"node", "observe.js", NULL};
    const char *echo_argv[] = {"/bin/echo", "spawned", "child", NULL};
    const cJSON *e1 = find_exec(c, "/bin/sh", sh_argv);
    const cJSON *e2 = find_exec(c, "/usr/bin/node", node_argv);
    const cJSON *e3 = find_exec(c, "/bin/echo", echo_argv);
    if (!e1 || !e2 || !e3) dump_kind(c, "exec");
    assert_non_null(e1);
    assert_non_null(e2);
    assert_non_null(e3);
    assert_string_equal(s(e1, "cwd"), PKG_DIR);
    assert_string_equal(s(e1, "phase"), "postinstall");
    assert_string_equal(s(e3, "phase"), "postinstall");
    /* the spawned child's parent is node */
    assert_int_equal(cJSON_GetObjectItem(e3, "ppid")->valueint, cJSON_GetObjectItem(e2, "pid")->valueint);
}

static void open_events_show_read_and_outside_write(void **state)
{
    struct ctx *c = *state;
    run_observe_all(c);
    bool read_npmrc = false, wrote_outside = false;
    const cJSON *e;
    cJSON_ArrayForEach(e, c->events) {
        if (strcmp(s(e, "kind"), "open") || !s(e, "path")) continue;
        long flags = (long)cJSON_GetObjectItem(e, "flags")->valuedouble;
        if (!strcmp(s(e, "path"), "/home/dev/.npmrc") && (flags & O_ACCMODE) == O_RDONLY) read_npmrc = true;
        if (!strcmp(s(e, "path"), "/tmp/outside.txt") && (flags & O_ACCMODE) == O_WRONLY && (flags & O_CREAT) &&
            (flags & O_TRUNC))
            wrote_outside = true;
    }
    if (!read_npmrc || !wrote_outside) dump_kind(c, "open");
    assert_true(read_npmrc);
    assert_true(wrote_outside);
}

static const cJSON *find_net(const struct ctx *c, const char *syscall, const char *family, const char *addr, int port)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, c->events) {
        if (strcmp(s(e, "kind"), "net") || !s(e, "syscall") || strcmp(s(e, "syscall"), syscall)) continue;
        const cJSON *a = cJSON_GetObjectItem(e, "addr");
        if (a && !strcmp(s(a, "family"), family) && !strcmp(s(a, "address"), addr) &&
            cJSON_GetObjectItem(a, "port")->valueint == port)
            return e;
    }
    return NULL;
}

static void net_events_decode_ipv4_ipv6_and_udp(void **state)
{
    struct ctx *c = *state;
    run_observe_all(c);
    const cJSON *v4 = find_net(c, "connect", "inet", "192.0.2.10", 9);
    const cJSON *v6 = find_net(c, "connect", "inet6", "2001:db8::1", 9);
    const cJSON *udp = find_net(c, "sendto", "inet", "192.0.2.53", 53);
    if (!v4 || !v6 || !udp) dump_kind(c, "net");
    assert_non_null(v4);
    assert_non_null(v6);
    assert_non_null(udp);
    assert_int_equal(cJSON_GetObjectItem(udp, "bytes")->valueint, 5);
}

/* Calls from a worker thread (node's getaddrinfo) are observed like any other: the resolver
 * connect is an attempt, never a refusal. */
static void worker_thread_sockets_are_observed_not_refused(void **state)
{
    struct ctx *c = *state;
    run_observe_all(c);
    const cJSON *e;
    bool resolver = false;
    cJSON_ArrayForEach(e, c->events) {
        if (!strcmp(s(e, "kind"), "denied") && s(e, "syscall") && strcmp(s(e, "syscall"), "ptrace")) {
            dump_kind(c, "denied");
            fail_msg("unexpected refusal of %s", s(e, "syscall"));
        }
        const cJSON *a = cJSON_GetObjectItem(e, "addr");
        if (!strcmp(s(e, "kind"), "net") && a && cJSON_GetObjectItem(a, "port") &&
            cJSON_GetObjectItem(a, "port")->valueint == 53)
            resolver = true;
    }
    if (!resolver) dump_kind(c, "net");
    assert_true(resolver);
}

static void denied_ptrace_is_an_event(void **state)
{
    struct ctx *c = *state;
    run_observe_all(c);
    const cJSON *e, *found = NULL;
    cJSON_ArrayForEach(e, c->events)
        if (!strcmp(s(e, "kind"), "denied") && s(e, "syscall") && !strcmp(s(e, "syscall"), "ptrace")) found = e;
    if (!found) dump_kind(c, "denied");
    assert_non_null(found);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(found, "native_abi")));
    assert_string_equal(s(found, "phase"), "postinstall");
}

static void hostile_output_neither_stalls_nor_corrupts(void **state)
{
    struct ctx *c = *state;
    char report[4096];
    snprintf(report, sizeof report, "%s/report.json", c->dirs.out);
    char pkg[4096];
    snprintf(pkg, sizeof pkg, "%s/noisy", c->dirs.out);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cp -R %s %s && chmod -R a+rX %s", tu_src("tests/fixtures/packages/noisy-output"), pkg, c->dirs.out);
    sh(cmd);
    const char *argv[] = {tu_build("scriptbox"), "analyze", pkg, "--format", "json", "--output", report,
                          "--timeout", "60", NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    assert_int_equal(r.status, 0);
    tu_run_free(&r);
    size_t len;
    char *raw = tu_read_file(report, &len);
    assert_true(len < 1024 * 1024);           /* the report stays small */
    assert_null(memchr(raw, 0x1b, len));      /* no raw escape bytes in JSON text */
    free(raw);
    cJSON *j = tu_read_json(report);
    assert_non_null(j);
    const cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "phases"), 0);
    assert_string_equal(s(p, "status"), "ok");
    const cJSON *out = cJSON_GetObjectItem(p, "stdout");
    assert_int_equal((long long)cJSON_GetObjectItem(out, "bytes")->valuedouble, 100LL << 20);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(out, "truncated")));
    assert_non_null(strstr(s(out, "text"), "\\x00\\xFF\\xFE"));
    assert_string_equal(s(cJSON_GetObjectItem(p, "stderr"), "text"), "done\n");
    cJSON_Delete(j);
    /* the terminal summary shows escapes, never sends them */
    const char *targv[] = {tu_build("scriptbox"), "analyze", pkg, "--timeout", "60", NULL};
    assert_int_equal(tu_run(targv, &r), 0);
    assert_int_equal(r.status, 0);
    assert_null(strchr(r.out, 0x1b));
    assert_non_null(strstr(r.out, "\\x1B[31mred"));
    tu_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(exec_events_carry_full_argv, setup, teardown),
        cmocka_unit_test_setup_teardown(open_events_show_read_and_outside_write, setup, teardown),
        cmocka_unit_test_setup_teardown(net_events_decode_ipv4_ipv6_and_udp, setup, teardown),
        cmocka_unit_test_setup_teardown(worker_thread_sockets_are_observed_not_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(denied_ptrace_is_an_event, setup, teardown),
        cmocka_unit_test_setup_teardown(hostile_output_neither_stalls_nor_corrupts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
