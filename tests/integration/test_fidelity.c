/*
 * test_fidelity.c — the fidelity issue's acceptance, end to end through the CLI:
 *   - a probe inside sees a developer machine: hostname, user, home, the host's CPU count and
 *     uptime, a non-loopback eth0, no /.dockerenv, no scriptbox/sandbox/sbx name in the
 *     environment, mountinfo, cgroup, /etc files or any process's cmdline/comm;
 *   - packages that act only on require(), only after a 10-minute setTimeout, only after
 *     `sleep 600`, only when CI is unset, only off containers and loopback-only networks are all
 *     caught (canary-outbound, exit 1) within the default timeout; the timer ones report
 *     time_accelerated;
 *   - --ci github|gitlab|none and --phases behave;
 *   - a binding.gyp package builds offline with node-gyp and its .node loads in the import phase.
 * Runs as root and rootless (tests/run.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"
#include "testutil.h"

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }
static const char *jstr(const cJSON *o, const char *k) { return cJSON_GetStringValue(get(o, k)); }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* analyze FIXTURE [extra args] with the default timeout; the parsed report. */
static cJSON *analyze(struct tu_dirs *c, const char *fixture, const char *const *extra, int expect_status, double *secs)
{
    char report[4096], events[4096];
    snprintf(report, sizeof report, "%s/report.json", c->out);
    snprintf(events, sizeof events, "%s/events.jsonl", c->out);
    const char *argv[24];
    int n = 0;
    argv[n++] = tu_build("scriptbox");
    argv[n++] = "analyze";
    argv[n++] = tu_pack(c, fixture);
    argv[n++] = "--format";
    argv[n++] = "json";
    argv[n++] = "--output";
    argv[n++] = report;
    argv[n++] = "--events";
    argv[n++] = events;
    for (int i = 0; extra && extra[i]; i++) argv[n++] = extra[i];
    argv[n] = NULL;
    struct tu_run r;
    double t = now_s();
    assert_int_equal(tu_run(argv, &r), 0);
    if (secs) *secs = now_s() - t;
    if (expect_status >= 0 && r.status != expect_status) fprintf(stderr, "%s: status %d, stderr: %s\n", fixture, r.status, r.err);
    if (expect_status >= 0) assert_int_equal(r.status, expect_status);
    tu_run_free(&r);
    cJSON *j = tu_read_json(report);
    assert_non_null(j);
    return j;
}

static bool has_finding(const cJSON *report, const char *rule)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, get(report, "findings")) {
        if (!strcmp(jstr(f, "rule_id"), rule)) return true;
    }
    return false;
}

static void dump(const char *what, const cJSON *report)
{
    const cJSON *f;
    fprintf(stderr, "%s: verdict %s, findings:", what, jstr(report, "verdict"));
    cJSON_ArrayForEach(f, get(report, "findings")) {
        fprintf(stderr, " %s/%s", jstr(f, "rule_id"), jstr(f, "severity"));
    }
    cJSON_ArrayForEach(f, get(report, "phases")) {
        fprintf(stderr, "\n  phase %s %s: %.300s %.600s", jstr(f, "name"), jstr(f, "status"), jstr(get(f, "stdout"), "text"),
                jstr(get(f, "stderr"), "text"));
    }
    fprintf(stderr, "\n");
}

static const cJSON *phase(const cJSON *report, const char *name)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, get(report, "phases")) {
        if (!strcmp(jstr(p, "name"), name)) return p;
    }
    return NULL;
}

static bool host_has_python(void) { struct stat st; return stat("/usr/bin/python3", &st) == 0; }

static double host_uptime(void)
{
    char *t = tu_read_file("/proc/uptime", NULL);
    double u = t ? strtod(t, NULL) : 0;
    free(t);
    return u;
}

static void probe_sees_a_developer_machine(void **state)
{
    struct tu_dirs *c = *state;
    cJSON *j = analyze(c, "fid-probe", NULL, -1, NULL);
    const cJSON *p = phase(j, "postinstall");
    assert_non_null(p);
    const char *out = jstr(get(p, "stdout"), "text");
    cJSON *o = out ? cJSON_Parse(out) : NULL;
    if (!o) dump("fid-probe", j);
    assert_non_null(o);
    assert_string_equal(jstr(o, "hostname"), "dev-workstation");
    assert_string_equal(jstr(o, "user"), "dev");
    assert_int_equal((int)get(o, "uid")->valuedouble, 1000);
    assert_string_equal(jstr(o, "home"), "/home/dev");
    assert_int_equal((long)get(o, "cpus")->valuedouble, sysconf(_SC_NPROCESSORS_ONLN));
    /* the host's uptime (no time namespace): never the 0 s of a fresh sandbox */
    assert_true(fabs(get(o, "uptime")->valuedouble - host_uptime()) < 600);
    assert_true(cJSON_IsFalse(get(o, "dockerenv")));
    assert_true(cJSON_IsFalse(get(o, "containerenv")));
    assert_true(cJSON_IsNull(get(o, "ci")));
    /* pid 1 is hidden (hidepid) or neutral */
    const char *pid1 = jstr(o, "pid1");
    assert_true(!pid1 || !strstr(pid1, "scriptbox"));
    /* a non-loopback IPv4 interface: the fake internet's eth0 (dummy or ifb driver) */
    if (cJSON_GetArraySize(get(o, "external")) == 0) {
        print_message("no non-loopback interface: %s\n", out);
        fail();
    }
    if (cJSON_GetArraySize(get(o, "tells")) != 0) print_message("sandbox names visible: %s\n", out);
    assert_int_equal(cJSON_GetArraySize(get(o, "tells")), 0);
    cJSON_Delete(o);
    cJSON_Delete(j);
}

/* Each acts only when the sandbox looks real, or only late, or only on require(). */
static void evasive_packages_are_caught(void **state)
{
    struct tu_dirs *c = *state;
    static const struct { const char *fixture; bool accelerated; const char *phase; } cases[] = {
        {"fid-require-only", false, "import"},       {"fid-settimeout-10min", true, "postinstall"},
        {"fid-sleep-600", true, "postinstall"},      {"fid-ci-unset", false, "postinstall"},
        {"fid-evasive-net-docker", false, "postinstall"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double secs = 0;
        cJSON *j = analyze(c, cases[i].fixture, NULL, -1, &secs);
        bool ok = has_finding(j, "canary-outbound") && !strcmp(jstr(j, "verdict"), "malicious");
        if (!ok) dump(cases[i].fixture, j);
        assert_true(ok);
        assert_true(secs < 60);   /* well within the default 120 s timeout */
        assert_true(cJSON_IsBool(get(j, "time_accelerated")));
        if (cases[i].accelerated != cJSON_IsTrue(get(j, "time_accelerated"))) dump(cases[i].fixture, j);
        assert_int_equal(cases[i].accelerated, cJSON_IsTrue(get(j, "time_accelerated")));
        if (cases[i].accelerated) {
            assert_true(cJSON_GetArraySize(get(j, "time_shortened")) > 0);
            /* the flag comes from the stream's notes: `rules check` on the saved stream agrees */
            char events[4096], out[4096];
            snprintf(events, sizeof events, "%s/events.jsonl", c->out);
            snprintf(out, sizeof out, "%s/recheck.json", c->out);
            const char *argv[] = {tu_build("scriptbox"), "rules", "check", "--events", events, "--format", "json", "--output", out, NULL};
            struct tu_run r;
            assert_int_equal(tu_run(argv, &r), 0);
            tu_run_free(&r);
            cJSON *rc = tu_read_json(out);
            assert_non_null(rc);
            assert_true(cJSON_IsTrue(get(rc, "time_accelerated")));
            cJSON_Delete(rc);
        }
        /* the canary hit happened in the phase that acts */
        bool in_phase = false;
        const cJSON *h;
        cJSON_ArrayForEach(h, get(j, "canary_hits")) {
            in_phase |= jstr(h, "phase") && !strcmp(jstr(h, "phase"), cases[i].phase);
        }
        if (!in_phase) dump(cases[i].fixture, j);
        assert_true(in_phase);
        cJSON_Delete(j);
    }
}

static void ci_personas(void **state)
{
    struct tu_dirs *c = *state;
    static const char *const quiet[][3] = {{"--ci", NULL, NULL}, {"--ci=github", NULL, NULL}, {"--ci=gitlab", NULL, NULL},
                                           {"--ci", "gitlab", NULL}};
    for (size_t i = 0; i < 4; i++) {
        cJSON *j = analyze(c, "fid-ci-unset", quiet[i], 0, NULL);
        assert_false(has_finding(j, "canary-outbound"));
        assert_non_null(strstr(jstr(get(phase(j, "postinstall"), "stdout"), "text"), "ci: quiet"));
        cJSON_Delete(j);
    }
    const char *none[] = {"--ci", "none", NULL};
    cJSON *j = analyze(c, "fid-ci-unset", none, 1, NULL);
    assert_true(has_finding(j, "canary-outbound"));
    cJSON_Delete(j);
    /* a bad persona is a usage error */
    const char *argv[] = {tu_build("scriptbox"), "analyze", tu_pack(c, "fid-ci-unset"), "--ci=travis", NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--ci"));
    tu_run_free(&r);
}

static void phases_option(void **state)
{
    struct tu_dirs *c = *state;
    const char *install[] = {"--phases", "install", NULL};
    cJSON *j = analyze(c, "fid-require-only", install, 0, NULL);
    assert_null(phase(j, "import"));
    assert_false(has_finding(j, "canary-outbound"));
    cJSON_Delete(j);
    const char *import[] = {"--phases", "import", NULL};
    j = analyze(c, "fid-require-only", import, 1, NULL);
    const cJSON *p = phase(j, "import");
    assert_non_null(p);
    assert_string_equal(jstr(p, "kind"), "import");
    assert_string_equal(jstr(p, "status"), "ok");
    cJSON_Delete(j);
    /* a package without an entry point has nothing to load */
    j = analyze(c, "fid-sleep-600", import, 0, NULL);
    assert_string_equal(jstr(phase(j, "postinstall"), "status"), "skipped");
    assert_string_equal(jstr(phase(j, "import"), "status"), "ok");
    assert_non_null(strstr(jstr(get(phase(j, "import"), "stdout"), "text"), "no entry point"));
    cJSON_Delete(j);
    /* a throw on require is a failed phase (stack in stderr), not a failed run; ESM is import()ed */
    j = analyze(c, "fid-import-throws", NULL, 0, NULL);
    assert_string_equal(jstr(phase(j, "import"), "status"), "failed");
    assert_non_null(strstr(jstr(get(phase(j, "import"), "stderr"), "text"), "refusing to load here"));
    cJSON_Delete(j);
    j = analyze(c, "fid-esm-only", NULL, 0, NULL);
    assert_string_equal(jstr(phase(j, "import"), "status"), "ok");
    assert_non_null(strstr(jstr(get(phase(j, "import"), "stdout"), "text"), "esm loaded"));
    cJSON_Delete(j);
    const char *bad[] = {tu_build("scriptbox"), "analyze", tu_pack(c, "fid-sleep-600"), "--phases", "deps", NULL};
    struct tu_run r;
    assert_int_equal(tu_run(bad, &r), 0);
    assert_int_equal(r.status, 2);
    tu_run_free(&r);
}

/* From the host: the sandbox's init (a child of scriptbox) is called "init" with cmdline
 * "/sbin/init", not scriptbox's own argv (which names the package's path). */
static bool init_child_of(pid_t parent, char *cmdline, size_t cap)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    bool found = false;
    while (d && (de = readdir(d)) && !found) {
        char path[300];
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        char *st = tu_read_file(path, NULL);
        if (!st) continue;
        char *rp = strrchr(st, ')');
        int ppid = 0;
        if (rp && !strncmp(st + strcspn(st, "("), "(init)", 6) && sscanf(rp + 2, "%*c %d", &ppid) == 1 && ppid == parent) {
            snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
            size_t len = 0;
            char *cl = tu_read_file(path, &len);
            if (cl) {
                for (size_t i = 0; i + 1 < len; i++) if (!cl[i]) cl[i] = ' ';
                snprintf(cmdline, cap, "%s", cl);
                found = true;
            }
            free(cl);
        }
        free(st);
    }
    if (d) closedir(d);
    return found;
}

static void init_has_a_neutral_name(void **state)
{
    struct tu_dirs *c = *state;
    const char *tgz = tu_pack(c, "slow-postinstall");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(tu_build("scriptbox"), "scriptbox", "analyze", tgz, "--timeout", "20", "--format", "json", (char *)NULL);
        _exit(127);
    }
    char cmdline[4096] = "";
    bool found = false;
    for (int i = 0; i < 200 && !found; i++) {
        found = init_child_of(pid, cmdline, sizeof cmdline);
        if (!found) usleep(25000);
    }
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    if (!found) print_message("no child of scriptbox called init\n");
    assert_true(found);
    if (strncmp(cmdline, "/sbin/init", 10) || strstr(cmdline, "scriptbox") || strstr(cmdline, "slow-postinstall"))
        print_message("init's cmdline: %s\n", cmdline);
    assert_int_equal(strncmp(cmdline, "/sbin/init", 10), 0);
    assert_null(strstr(cmdline, "scriptbox"));
    assert_null(strstr(cmdline, "slow-postinstall"));
}

/* libsbx alone: SBX_TIMEWARP answers long sleeps at once (relative: coreutils sleep; absolute:
 * python's time.sleep uses clock_nanosleep TIMER_ABSTIME), leaves short ones alone, and says so
 * in note events; without the flag every sleep is real. */
struct notes {
    int warp;
    char first[160];
};

static void count_notes(void *ctx, const struct sbx_event *ev)
{
    struct notes *n = ctx;
    if (ev->kind != SBX_EV_NOTE || !ev->detail || strncmp(ev->detail, "time accelerated:", 17)) return;
    if (!n->warp++) snprintf(n->first, sizeof n->first, "%s", ev->detail);
}

static double timed_sh(unsigned flags, const char *script, struct notes *n)
{
    struct sbx_config cfg = {.flags = flags, .on_event = count_notes, .event_ctx = n};
    struct sbx *sb;
    sbx_error err = {0};
    if (sbx_open(&cfg, &sb, &err) < 0) fail_msg("sbx_open: %s", err.msg);
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    const char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    struct sbx_command cmd = {.argv = argv, .envp = envp, .cwd = "/", .timeout_ms = 60000};
    struct sbx_status st;
    double t = now_s();
    assert_int_equal(sbx_exec(sb, &cmd, &st, &err), 0);
    t = now_s() - t;
    if (!st.exited || st.exit_code) print_message("status %d/%d: %s\n", st.exited, st.exit_code, st.err.data ? st.err.data : "");
    assert_true(st.exited && st.exit_code == 0);
    sbx_status_free(&st);
    assert_int_equal(sbx_close(sb, 0, NULL, &err), 0);
    return t;
}

static void native_sleeps_are_answered_early(void **state)
{
    (void)state;
    struct notes n = {0};
    bool py = host_has_python();
    double t = timed_sh(SBX_TIMEWARP, py ? "sleep 600 && python3 -c 'import time; time.sleep(700)' && sleep 0.4"
                                         : "sleep 600 && sleep 0.4", &n);
    assert_true(t < 10);
    assert_true(t >= 0.4);                 /* a short sleep is real */
    assert_int_equal(n.warp, py ? 2 : 1);
    assert_non_null(strstr(n.first, "of 600.000 s answered at once"));
    struct notes off = {0};
    t = timed_sh(0, "sleep 1.5", &off);    /* libsbx without the flag: real time */
    assert_true(t >= 1.5);
    assert_int_equal(off.warp, 0);
}

static bool host_has(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void native_addon_builds_offline(void **state)
{
    struct tu_dirs *c = *state;
    const char *need[] = {"/usr/bin/python3", "/usr/bin/make", "/usr/bin/cc", "/usr/bin/g++", "/usr/include/node/node.h"};
    for (size_t i = 0; i < sizeof need / sizeof *need; i++)
        if (!host_has(need[i])) {
            print_message("skipped: %s is missing on this host (node-gyp needs python3, make, a compiler and node's headers)\n", need[i]);
            skip();
        }
    cJSON *j = analyze(c, "fid-native", NULL, 0, NULL);
    const cJSON *ins = phase(j, "install"), *imp = phase(j, "import");
    assert_non_null(ins);
    assert_true(cJSON_IsTrue(get(ins, "implicit")));
    if (strcmp(jstr(ins, "status"), "ok") || strcmp(jstr(imp, "status"), "ok")) dump("fid-native", j);
    assert_string_equal(jstr(ins, "status"), "ok");
    assert_string_equal(jstr(imp, "status"), "ok");
    assert_non_null(strstr(jstr(get(ins, "stderr"), "text"), "gyp info ok"));
    cJSON_Delete(j);
    /* the import phase opened the .node the build made */
    char path[4096];
    snprintf(path, sizeof path, "%s/events.jsonl", c->out);
    char *ev = tu_read_file(path, NULL);
    assert_non_null(ev);
    bool loaded = false;
    for (char *line = strtok(ev, "\n"); line; line = strtok(NULL, "\n"))
        loaded |= strstr(line, "\"phase\":\"import\"") && strstr(line, "\"kind\":\"open\"") &&
                  strstr(line, "/build/Release/addon.node\"");
    free(ev);
    assert_true(loaded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(probe_sees_a_developer_machine, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(init_has_a_neutral_name, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test(native_sleeps_are_answered_early),
        cmocka_unit_test_setup_teardown(evasive_packages_are_caught, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(ci_personas, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(phases_option, tu_dirs_setup, tu_dirs_teardown),
        cmocka_unit_test_setup_teardown(native_addon_builds_offline, tu_dirs_setup, tu_dirs_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
