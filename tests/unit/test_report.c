/* test_report.c — JSON safety of untrusted bytes, the event stream, behaviour summaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "report.h"
#include "jsonstr.h"
#include "jsonw.h"
#include "summary.h"

static void sanitize_keeps_utf8_and_marks_nul_and_bad_bytes(void **state)
{
    (void)state;
    const char in[] = "ok \xc3\xa9 \x1b[31m\x00\xff!";
    bool cut = true;
    char *s = jsonstr_sanitize(in, sizeof in - 1, 0, &cut);
    assert_string_equal(s, "ok \xc3\xa9 \x1b[31m\\x00\\xFF!");
    assert_false(cut);
    free(s);
    s = jsonstr_sanitize("abcdef", 6, 3, &cut);
    assert_string_equal(s, "abc");
    assert_true(cut);
    free(s);
    /* overlong encoding and surrogates are not valid UTF-8 */
    s = jsonstr_sanitize("\xc0\xaf\xed\xa0\x80", 5, 0, NULL);
    assert_string_equal(s, "\\xC0\\xAF\\xED\\xA0\\x80");
    free(s);
}

static void writer_escapes_for_json(void **state)
{
    (void)state;
    struct jsonw j = {0};
    jw_begin(&j);
    jw_kstr(&j, "a", "q\"b\\s\n\x01");
    jw_key(&j, "b");
    jw_str(&j, "x\0y\xfe", 4);
    const char *argv[] = {"sh", "-c", NULL};
    jw_kstrv(&j, "argv", argv);
    jw_kint(&j, "n", -3);
    jw_end(&j);
    assert_string_equal(j.buf, "{\"a\":\"q\\\"b\\\\s\\u000a\\u0001\",\"b\":\"x\\\\x00y\\\\xFE\",\"argv\":[\"sh\",\"-c\"],\"n\":-3}");
    cJSON *parsed = cJSON_Parse(j.buf);
    assert_non_null(parsed);
    assert_string_equal(cJSON_GetObjectItem(parsed, "b")->valuestring, "x\\x00y\\xFE");
    cJSON_Delete(parsed);
    jw_free(&j);
}

static void event_log_numbers_lines_and_bounds_size(void **state)
{
    (void)state;
    struct event_log l;
    event_log_init(&l, 300);
    event_log_set_phase(&l, "postinstall");
    struct sbx_event ev = {.kind = SBX_EV_OPEN, .t_ns = 5, .pid = 3, .ppid = 1, .syscall = "openat",
                           .path = "/home/dev/.npmrc"};
    for (int i = 0; i < 5; i++) event_log_add(&l, &ev);
    event_log_finish(&l);
    assert_true(l.dropped > 0);
    assert_int_equal(l.by_kind[SBX_EV_OPEN], 5);
    assert_int_equal(l.syscalls[0].count, 5);
    /* every kept line parses, seq increases, the last line says what was dropped */
    char *copy = strndup(l.out.buf, l.out.len);
    long last = 0;
    const char *last_kind = NULL;
    cJSON *e = NULL;
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON_Delete(e);
        e = cJSON_Parse(line);
        assert_non_null(e);
        long seq = (long)cJSON_GetObjectItem(e, "seq")->valuedouble;
        assert_true(seq > last);
        last = seq;
        last_kind = cJSON_GetObjectItem(e, "kind")->valuestring;
        if (!strcmp(last_kind, "open")) assert_string_equal(cJSON_GetObjectItem(e, "phase")->valuestring, "postinstall");
    }
    assert_string_equal(last_kind, "truncated");
    cJSON_Delete(e);
    free(copy);
    event_log_free(&l);
}

static const char *const stream =
    "{\"seq\":1,\"t_ns\":100,\"pid\":2,\"ppid\":1,\"phase\":\"postinstall\",\"kind\":\"exec\",\"path\":\"/bin/sh\",\"argv\":[\"sh\",\"-c\",\"node x.js\"],\"cwd\":\"/home/dev/project/node_modules/p\"}\n"
    "{\"seq\":2,\"t_ns\":200,\"pid\":2,\"ppid\":1,\"phase\":\"postinstall\",\"kind\":\"exec\",\"path\":\"/usr/bin/node\",\"argv\":[\"node\",\"x.js\"]}\n"
    "{\"seq\":3,\"t_ns\":300,\"pid\":2,\"ppid\":1,\"phase\":\"postinstall\",\"kind\":\"open\",\"syscall\":\"openat\",\"path\":\"/home/dev/.npmrc\",\"flags\":0}\n"
    "{\"seq\":4,\"t_ns\":310,\"pid\":2,\"ppid\":1,\"phase\":\"postinstall\",\"kind\":\"open\",\"syscall\":\"openat\",\"path\":\"/home/dev/project/node_modules/p/out.txt\",\"flags\":577}\n"
    "{\"seq\":5,\"t_ns\":320,\"pid\":2,\"ppid\":1,\"phase\":\"postinstall\",\"kind\":\"open\",\"syscall\":\"openat\",\"path\":\"/home/dev/.bashrc\",\"flags\":1089}\n"
    "{\"seq\":6,\"t_ns\":330,\"pid\":2,\"ppid\":1,\"phase\":\"postinstall\",\"kind\":\"open\",\"syscall\":\"openat\",\"path\":\"/dev/null\",\"flags\":1}\n"
    "{\"seq\":7,\"t_ns\":340,\"pid\":2,\"ppid\":1,\"phase\":\"postinstall\",\"kind\":\"net\",\"syscall\":\"connect\",\"addr\":{\"family\":\"inet\",\"address\":\"192.0.2.7\",\"port\":443}}\n"
    "{\"seq\":8,\"t_ns\":350,\"pid\":2,\"ppid\":1,\"phase\":\"postinstall\",\"kind\":\"denied\",\"syscall\":\"ptrace\",\"args\":[0,0,0,0,0,0],\"native_abi\":true}\n"
    "{\"seq\":9,\"t_ns\":360,\"pid\":5,\"ppid\":2,\"phase\":\"postinstall\",\"kind\":\"exec\",\"path\":\"/bin/sleep\",\"argv\":[\"sleep\",\"9\"]}\n"
    "{\"seq\":10,\"t_ns\":400,\"pid\":2,\"ppid\":1,\"phase\":\"postinstall\",\"kind\":\"proc_exit\",\"exit_code\":0}\n"
    "{\"seq\":11,\"t_ns\":900000000,\"pid\":5,\"ppid\":1,\"phase\":\"teardown\",\"kind\":\"proc_exit\",\"signal\":9}\n"
    "not json at all\n";

/* An event's strings live as long as the callback (sandbox.h): the counts keep their own names. */
static void syscall_counts_outlive_the_event(void **state)
{
    (void)state;
    struct event_log l;
    event_log_init(&l, 0);
    char name[16] = "openat";
    struct sbx_event ev = {.kind = SBX_EV_OPEN, .syscall = name, .path = "/etc/hostname"};
    event_log_add(&l, &ev);
    strcpy(name, "connect");   /* the supervisor's buffer, reused for the next event */
    ev.kind = SBX_EV_NET;
    event_log_add(&l, &ev);
    assert_int_equal(l.nsyscalls, 2);
    assert_string_equal(l.syscalls[0].name, "openat");
    assert_int_equal(l.syscalls[0].count, 1);
    assert_string_equal(l.syscalls[1].name, "connect");
    assert_int_equal(l.syscalls[1].count, 1);
    event_log_free(&l);
}

static void summary_builds_tree_files_network_denied(void **state)
{
    (void)state;
    struct phase_window w = {"postinstall", 50, 450};
    struct summary_input in = {stream, strlen(stream), "/home/dev/project/node_modules/p", &w, 1};
    cJSON *r = cJSON_CreateObject();
    assert_int_equal(summary_add(r, &in), 0);
    const cJSON *procs = cJSON_GetObjectItem(r, "processes");
    assert_int_equal(cJSON_GetArraySize(procs), 2);
    const cJSON *p0 = cJSON_GetArrayItem(procs, 0), *p1 = cJSON_GetArrayItem(procs, 1);
    assert_string_equal(cJSON_GetObjectItem(p0, "exe")->valuestring, "/usr/bin/node");   /* exec replaced sh */
    assert_int_equal(cJSON_GetObjectItem(p0, "exit_code")->valueint, 0);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(p0, "outlived_script")));
    assert_int_equal(cJSON_GetObjectItem(p1, "ppid")->valueint, 2);
    assert_string_equal(cJSON_GetObjectItem(p1, "phase")->valuestring, "postinstall");
    assert_int_equal(cJSON_GetObjectItem(p1, "signal")->valueint, 9);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(p1, "outlived_script")));
    const cJSON *files = cJSON_GetObjectItem(r, "files");
    const cJSON *outside = cJSON_GetObjectItem(files, "writes_outside_package");
    assert_int_equal(cJSON_GetArraySize(outside), 1);                     /* .bashrc; /dev/null is not activity */
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(outside, 0), "path")->valuestring, "/home/dev/.bashrc");
    const cJSON *reads = cJSON_GetObjectItem(files, "reads_by_folder");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(reads, 0), "folder")->valuestring, "/home/dev");
    const cJSON *pw = cJSON_GetObjectItem(files, "package_writes_by_folder");
    assert_int_equal(cJSON_GetArraySize(pw), 1);
    const cJSON *net = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "network"), "attempts");
    assert_int_equal(cJSON_GetArraySize(net), 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(net, 0), "addr"), "port")->valueint, 443);
    const cJSON *denied = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "denied"), "calls");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(denied, 0), "syscall")->valuestring, "ptrace");
    cJSON_Delete(r);
}

/* One --format parser for analyze, rules and diff: each names its own allowed set. */
static void format_option_takes_only_the_allowed(void **state)
{
    (void)state;
    struct sb_error err = {0};
    enum report_format f = REPORT_TEXT;
    unsigned tjs = REPORT_FORMAT_BIT(REPORT_TEXT) | REPORT_FORMAT_BIT(REPORT_JSON) | REPORT_FORMAT_BIT(REPORT_SARIF);
    assert_int_equal(format_option("sarif", tjs, &f, &err), 0);
    assert_int_equal(f, REPORT_SARIF);
    assert_int_equal(format_option("html", ~0u, &f, &err), 0);
    assert_int_equal(f, REPORT_HTML);
    assert_int_equal(format_option("html", tjs, &f, &err), -1);
    assert_string_equal(err.msg, "--format must be text, json or sarif, not 'html'");
    assert_int_equal(f, REPORT_HTML);   /* unchanged on error */
    memset(&err, 0, sizeof err);
    assert_int_equal(format_option("JSON", REPORT_FORMAT_BIT(REPORT_TEXT) | REPORT_FORMAT_BIT(REPORT_JSON), &f, &err), -1);
    assert_string_equal(err.msg, "--format must be text or json, not 'JSON'");
    memset(&err, 0, sizeof err);
    assert_int_equal(format_option(NULL, ~0u, &f, &err), -1);
    assert_string_equal(err.msg, "--format must be text, json, sarif or html, not ''");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sanitize_keeps_utf8_and_marks_nul_and_bad_bytes),
        cmocka_unit_test(writer_escapes_for_json),
        cmocka_unit_test(event_log_numbers_lines_and_bounds_size),
        cmocka_unit_test(syscall_counts_outlive_the_event),
        cmocka_unit_test(summary_builds_tree_files_network_denied),
        cmocka_unit_test(format_option_takes_only_the_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
