/*
 * test_analyze.c — end to end through the CLI: reports, exit codes, cleanup, interruption.
 * Runs as root and rootless (tests/run.sh); every test uses a private TMPDIR so it can check
 * that nothing is left behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(d);
    return n;
}

static cJSON *analyze_json(struct tu_dirs *c, const char *target, int expect_status)
{
    char report[4096];
    snprintf(report, sizeof report, "%s/report.json", c->out);
    const char *argv[] = {tu_build("scriptbox"), "analyze", target, "--format", "json", "--output", report, NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    if (r.status != expect_status) fprintf(stderr, "stderr: %s\n", r.err);
    assert_int_equal(r.status, expect_status);
    tu_run_free(&r);
    cJSON *j = tu_read_json(report);
    assert_non_null(j);
    return j;
}

static const cJSON *get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) fprintf(stderr, "missing key %s\n", key);
    assert_non_null(v);
    return v;
}

static void benign_postinstall_reports_phase_exit_and_output(void **state)
{
    struct tu_dirs *c = *state;
    cJSON *j = analyze_json(c, tu_pack(c, "benign-postinstall"), 0);
    assert_string_equal(get(j, "schema")->valuestring, "scriptbox.report/v1");
    const cJSON *pkg = get(j, "package");
    assert_string_equal(get(pkg, "name")->valuestring, "benign-postinstall");
    assert_string_equal(get(pkg, "version")->valuestring, "1.0.0");
    assert_true(!strncmp(get(pkg, "integrity")->valuestring, "sha512-", 7));
    const cJSON *phases = get(j, "phases");
    assert_int_equal(cJSON_GetArraySize(phases), 2);   /* postinstall, then the import phase */
    assert_string_equal(get(cJSON_GetArrayItem(phases, 1), "name")->valuestring, "import");
    assert_string_equal(get(cJSON_GetArrayItem(phases, 1), "kind")->valuestring, "import");
    const cJSON *p = cJSON_GetArrayItem(phases, 0);
    assert_string_equal(get(p, "name")->valuestring, "postinstall");
    assert_string_equal(get(p, "kind")->valuestring, "lifecycle");
    assert_string_equal(get(p, "status")->valuestring, "ok");
    assert_int_equal(get(p, "exit_code")->valueint, 0);
    assert_non_null(strstr(get(get(p, "stdout"), "text")->valuestring, "benign postinstall wrote made by postinstall"));
    assert_string_equal(get(j, "verdict")->valuestring, "clean");
    assert_int_equal(cJSON_GetArraySize(get(j, "findings")), 0);
    cJSON_Delete(j);
    assert_int_equal(count_entries(c->tmp), 0);   /* work folder removed */
}

static void folder_target_runs_the_same(void **state)
{
    struct tu_dirs *c = *state;
    /* The folder must not be modified by the run: writes happen inside the sandbox only. */
    char copy[4096], cmd[8192];
    snprintf(copy, sizeof copy, "%s/folder", c->out);
    snprintf(cmd, sizeof cmd, "cp -R %s %s && chmod -R a+rX %s", tu_src("tests/fixtures/packages/benign-postinstall"), copy, c->out);
    assert_int_equal(system(cmd), 0);
    cJSON *j = analyze_json(c, copy, 0);
    const cJSON *src = get(get(j, "package"), "source");
    assert_string_equal(get(src, "kind")->valuestring, "folder");
    assert_true(cJSON_IsNull(get(get(j, "package"), "integrity")));
    assert_string_equal(get(cJSON_GetArrayItem(get(j, "phases"), 0), "status")->valuestring, "ok");
    /* the timeline is for the HTML report (test_html); JSON readers have the event stream */
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "timeline"));
    cJSON_Delete(j);
    char generated[4200];
    snprintf(generated, sizeof generated, "%s/generated.txt", copy);
    assert_int_not_equal(access(generated, F_OK), 0);
}

/* No install scripts: only the import phase runs (the package is still require()d). */
static void no_scripts_means_only_the_import_phase_and_clean(void **state)
{
    struct tu_dirs *c = *state;
    cJSON *j = analyze_json(c, tu_pack(c, "no-scripts"), 0);
    assert_int_equal(cJSON_GetArraySize(get(j, "phases")), 1);
    assert_string_equal(get(cJSON_GetArrayItem(get(j, "phases"), 0), "name")->valuestring, "import");
    assert_false(cJSON_IsNull(get(get(j, "sandbox"), "mode")));
    assert_string_equal(get(j, "verdict")->valuestring, "clean");
    cJSON_Delete(j);
}

static void failing_script_stops_later_ones_like_npm(void **state)
{
    struct tu_dirs *c = *state;
    cJSON *j = analyze_json(c, tu_pack(c, "all-phases"), 0);
    const cJSON *phases = get(j, "phases");
    assert_int_equal(cJSON_GetArraySize(phases), 4);   /* + import, which runs whatever install did */
    const cJSON *pre = cJSON_GetArrayItem(phases, 0), *ins = cJSON_GetArrayItem(phases, 1), *post = cJSON_GetArrayItem(phases, 2);
    assert_string_equal(get(pre, "name")->valuestring, "preinstall");
    assert_string_equal(get(get(pre, "stdout"), "text")->valuestring, "pre\n");
    assert_string_equal(get(get(pre, "stderr"), "text")->valuestring, "pre-err\n");
    assert_string_equal(get(ins, "status")->valuestring, "failed");
    assert_int_equal(get(ins, "exit_code")->valueint, 3);
    assert_string_equal(get(post, "status")->valuestring, "skipped");
    assert_string_equal(get(get(j, "package"), "name")->valuestring, "@fixture/all-phases");
    cJSON_Delete(j);
}

/* `> /dev/stderr` reopens the capture pipe by path: it must work as root and rootless. */
static void scripts_can_reopen_their_stdio_by_path(void **state)
{
    struct tu_dirs *c = *state;
    cJSON *j = analyze_json(c, tu_pack(c, "dev-stdio"), 0);
    const cJSON *p = cJSON_GetArrayItem(get(j, "phases"), 0);
    assert_string_equal(get(p, "status")->valuestring, "ok");
    assert_string_equal(get(get(p, "stdout"), "text")->valuestring, "to-stdout\nvia-fd\n");
    assert_string_equal(get(get(p, "stderr"), "text")->valuestring, "to-stderr\n");
    cJSON_Delete(j);
}

static void text_and_sarif_formats(void **state)
{
    struct tu_dirs *c = *state;
    const char *tgz = tu_pack(c, "benign-postinstall");
    const char *argv[] = {tu_build("scriptbox"), "analyze", tgz, NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "verdict: clean"));
    assert_non_null(strstr(r.out, "postinstall"));
    assert_null(strstr(r.out, "\033["));  /* not a TTY: no colour */
    assert_string_equal(r.err, "");        /* not a TTY: no progress */
    tu_run_free(&r);
    const char *sargv[] = {tu_build("scriptbox"), "analyze", tgz, "--format", "sarif", NULL};
    assert_int_equal(tu_run(sargv, &r), 0);
    assert_int_equal(r.status, 0);
    cJSON *s = cJSON_Parse(r.out);
    assert_non_null(s);
    assert_string_equal(get(s, "version")->valuestring, "2.1.0");
    const cJSON *run = cJSON_GetArrayItem(get(s, "runs"), 0);
    assert_string_equal(get(get(get(run, "tool"), "driver"), "name")->valuestring, "scriptbox");
    assert_true(cJSON_IsArray(get(run, "results")));
    cJSON_Delete(s);
    tu_run_free(&r);
}

static void keep_workdir_keeps_it(void **state)
{
    struct tu_dirs *c = *state;
    const char *argv[] = {tu_build("scriptbox"), "analyze", tu_pack(c, "benign-postinstall"), "--keep-workdir", NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.err, "work folder kept at"));
    assert_int_equal(count_entries(c->tmp), 1);
    tu_run_free(&r);
}

static void events_file_is_json_lines(void **state)
{
    struct tu_dirs *c = *state;
    char events[4096];
    snprintf(events, sizeof events, "%s/events.jsonl", c->out);
    const char *argv[] = {tu_build("scriptbox"), "analyze", tu_pack(c, "benign-postinstall"), "--format", "json",
                          "--events", events, NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    assert_int_equal(r.status, 0);
    tu_run_free(&r);
    size_t len;
    char *text = tu_read_file(events, &len);
    assert_non_null(text);
    long last_seq = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *e = cJSON_Parse(line);
        assert_non_null(e);
        long seq = (long)get(e, "seq")->valuedouble;
        assert_true(seq > last_seq);
        last_seq = seq;
        cJSON_Delete(e);
    }
    free(text);
}

static void usage_and_input_errors_exit_2(void **state)
{
    struct tu_dirs *c = *state;
    struct tu_run r;
    const char *missing[] = {tu_build("scriptbox"), "analyze", "/nonexistent/pkg.tgz", NULL};
    assert_int_equal(tu_run(missing, &r), 0);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "error[target-missing]"));
    assert_non_null(strstr(r.err, "fix:"));
    tu_run_free(&r);
    const char *badopt[] = {tu_build("scriptbox"), "analyze", "x.tgz", "--fail-on", "severe", NULL};
    assert_int_equal(tu_run(badopt, &r), 0);
    assert_int_equal(r.status, 2);
    tu_run_free(&r);
    const char *badman[] = {tu_build("scriptbox"), "analyze", tu_pack(c, "bad-manifest"), NULL};
    assert_int_equal(tu_run(badman, &r), 0);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "error[bad-manifest]"));
    tu_run_free(&r);
    char notgz[4096];
    snprintf(notgz, sizeof notgz, "%s/notgz.tgz", c->out);
    FILE *f = fopen(notgz, "w");
    fputs("\x1f\x8bthis is not gzip", f);
    fclose(f);
    const char *bad[] = {tu_build("scriptbox"), "analyze", notgz, NULL};
    assert_int_equal(tu_run(bad, &r), 0);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "error[bad-tarball]"));
    assert_null(strchr(strchr(r.err, '\n') + 1, '\n'));   /* one line */
    tu_run_free(&r);
    assert_int_equal(count_entries(c->tmp), 0);
    const char *help[] = {tu_build("scriptbox"), "--help", NULL};
    assert_int_equal(tu_run(help, &r), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "--keep-workdir"));
    tu_run_free(&r);
}

/* Every hostile archive the unpacker knows, through the whole CLI: a report with unpack issues
 * (exit 0) or a one-line refusal (exit 2), and never a byte outside the work folder. */
static void hostile_tarballs_are_reported_or_refused(void **state)
{
    struct tu_dirs *c = *state;
    static const char *const hostile[] = {
        "traversal.tgz", "absolute.tgz", "symlink-escape.tgz", "symlink-etc.tgz", "symlink-through.tgz",
        "hardlink.tgz", "chardev.tgz", "fifo.tgz", "setuid.tgz", "collision.tgz", "names.tgz",
        "many-entries.tgz", "huge-size.tgz", "huge-sparse.tgz", "truncated-tar.tgz", "truncated-gzip.tgz",
        "bad-gzip.tgz", "double-gzip.tgz", "header-bomb.tgz", "not-tar.zip", NULL,
    };
    const char *gen[] = {tu_build("tests/tools/mkfixtures"), "--with-manifest", c->out, NULL};
    struct tu_run r;
    assert_int_equal(tu_run(gen, &r), 0);
    assert_int_equal(r.status, 0);
    tu_run_free(&r);
    char report[4096], tgz[4096];
    snprintf(report, sizeof report, "%s/hostile-report.json", c->out);
    for (size_t i = 0; hostile[i]; i++) {
        snprintf(tgz, sizeof tgz, "%s/%s", c->out, hostile[i]);
        unlink(report);
        const char *argv[] = {tu_build("scriptbox"), "analyze", tgz, "--format", "json", "--output", report, NULL};
        assert_int_equal(tu_run(argv, &r), 0);
        if (r.status == 0) {
            cJSON *j = tu_read_json(report);
            assert_non_null(j);
            int issues = cJSON_GetArraySize(get(get(j, "unpack"), "issues"));
            if (issues == 0) fprintf(stderr, "%s: no unpack issue reported\n", hostile[i]);
            assert_true(issues > 0);
            cJSON_Delete(j);
        } else {
            if (r.status != 2) fprintf(stderr, "%s: status %d: %s\n", hostile[i], r.status, r.err);
            assert_int_equal(r.status, 2);
            assert_true(strstr(r.err, "error[bad-tarball]") || strstr(r.err, "error[tar-bomb]"));
            assert_null(strchr(r.err, '\n') == NULL ? NULL : strchr(strchr(r.err, '\n') + 1, '\n'));
        }
        tu_run_free(&r);
        assert_int_equal(count_entries(c->tmp), 0);        /* nothing beside or left of the work folder */
        assert_int_not_equal(access("/tmp/scriptbox-fixture-evil", F_OK), 0);
        assert_int_not_equal(access("/etc/scriptbox-fixture-evil", F_OK), 0);
    }
}

/* true when some process on the host has `marker` in its command line. */
static bool process_with_marker(const char *marker)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    bool found = false;
    while (d && (de = readdir(d)) && !found) {
        char path[300];
        snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
        size_t len;
        char *cl = tu_read_file(path, &len);
        if (!cl) continue;
        for (size_t i = 0; i + 1 < len; i++) if (!cl[i]) cl[i] = ' ';
        if (strstr(cl, marker)) found = true;
        free(cl);
    }
    if (d) closedir(d);
    return found;
}

static void interrupt_with(struct tu_dirs *c, int sig)
{
    const char *tgz = tu_pack(c, "slow-postinstall");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        execl(tu_build("scriptbox"), "scriptbox", "analyze", tgz, (char *)NULL);
        _exit(127);
    }
    /* Wait until the script is running (its sleep is visible on the host), then interrupt. */
    for (int i = 0; i < 100 && !process_with_marker("never 31.4159"); i++) usleep(50000);
    assert_true(process_with_marker("never 31.4159"));
    kill(pid, sig);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (sig == SIGKILL) {
        assert_true(WIFSIGNALED(st));
    } else {
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 128 + sig);
        assert_int_equal(count_entries(c->tmp), 0);   /* work folder removed */
    }
    for (int i = 0; i < 40 && process_with_marker("never 31.4159"); i++) usleep(50000);
    assert_false(process_with_marker("never 31.4159"));
    if (sig == SIGKILL) {
        /* The killed run could not remove its folder; the next run sweeps it. */
        assert_int_equal(count_entries(c->tmp), 1);
        cJSON *j = analyze_json(c, tu_pack(c, "no-scripts"), 0);
        cJSON_Delete(j);
        assert_int_equal(count_entries(c->tmp), 0);
    }
}

static void sigterm_leaves_nothing_behind(void **state) { interrupt_with(*state, SIGTERM); }
static void sigint_leaves_nothing_behind(void **state) { interrupt_with(*state, SIGINT); }
static void sigkill_leaves_no_process(void **state) { interrupt_with(*state, SIGKILL); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(benign_postinstall_reports_phase_exit_and_output, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(folder_target_runs_the_same, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(no_scripts_means_only_the_import_phase_and_clean, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(failing_script_stops_later_ones_like_npm, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(scripts_can_reopen_their_stdio_by_path, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(text_and_sarif_formats, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(keep_workdir_keeps_it, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(events_file_is_json_lines, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(usage_and_input_errors_exit_2, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(hostile_tarballs_are_reported_or_refused, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(sigterm_leaves_nothing_behind, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(sigint_leaves_nothing_behind, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(sigkill_leaves_no_process, tu_dirs_setup, tu_dirs_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
