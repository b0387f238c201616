/*
 * test_batch.c — `scriptbox batch`: one report per package and a JSONL index; interrupted halfway
 * and restarted, it finishes only the remainder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static const char *const FIXTURES[] = {"benign-postinstall", "no-scripts", "mal-tamper", "noisy-output", "ok-banner"};
enum { NFIX = sizeof FIXTURES / sizeof FIXTURES[0] };

static int setup(void **state)
{
    struct tu_dirs *d = calloc(1, sizeof *d);
    tu_dirs_open(d);
    char list[4400], line[4400];
    snprintf(list, sizeof list, "%s/list", d->out);
    FILE *f = fopen(list, "w");
    assert_non_null(f);
    fputs("# packages to vet\n\n", f);
    for (int i = 0; i < NFIX; i++) {
        snprintf(line, sizeof line, "%s\n", tu_src("tests/fixtures/packages"));
        fprintf(f, "%.*s/%s\n", (int)strlen(line) - 1, line, FIXTURES[i]);
    }
    fclose(f);
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    tu_dirs_close(*state);
    free(*state);
    return 0;
}

static int count_lines(const char *path, const char *needle)
{
    char *text = tu_read_file(path, NULL);
    int n = 0;
    for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
        if (!needle || (strstr(l, needle) && strstr(l, needle) < (strchr(l, '\n') ? strchr(l, '\n') : l + strlen(l)))) n++;
    free(text);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void interrupted_then_resumed_runs_only_the_rest(void **state)
{
    struct tu_dirs *d = *state;
    char list[4400], out[4400], index[4500];
    snprintf(list, sizeof list, "%s/list", d->out);
    snprintf(out, sizeof out, "%s/batch", d->out);
    snprintf(index, sizeof index, "%s/index.jsonl", out);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        execl(tu_build("scriptbox"), "scriptbox", "batch", "--input", list, "--out", out, "-j", "1", (char *)NULL);
        _exit(127);
    }
    int done = 0;
    for (int i = 0; i < 600 && (done = count_lines(index, NULL)) < 2; i++) sleep_ms(50);
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    assert_true(done >= 2);
    done = count_lines(index, NULL);
    if (done >= NFIX) {
        print_message("skip: the whole batch finished before the interrupt\n");
        skip();
    }
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGTERM);

    const char *argv[] = {tu_build("scriptbox"), "batch", "--input", list, "--out", out, "-j", "2", NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    char want[128];
    snprintf(want, sizeof want, "%d packages, %d already in", NFIX, done);
    if (!strstr(r.err, want)) print_message("stderr:\n%s\n", r.err);
    assert_non_null(strstr(r.err, want));
    assert_int_equal(r.status, 0);
    tu_run_free(&r);
    assert_int_equal(count_lines(index, NULL), NFIX);   /* each package once: nothing ran twice */
    for (int i = 0; i < NFIX; i++) assert_int_equal(count_lines(index, FIXTURES[i]), 1);
    assert_int_equal(count_lines(index, "\"status\":\"done\""), NFIX);
    cJSON *mal = NULL;
    char *text = tu_read_file(index, NULL);
    for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n"))
        if (strstr(l, "mal-tamper")) mal = cJSON_Parse(l);
    free(text);
    assert_non_null(mal);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(mal, "verdict")), "suspicious");
    cJSON *report = tu_read_json(cJSON_GetStringValue(cJSON_GetObjectItem(mal, "report")));
    assert_non_null(report);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(report, "package"), "name")),
                        "mal-tamper");
    cJSON_Delete(report);
    cJSON_Delete(mal);
}

static void missing_out_is_a_usage_error(void **state)
{
    (void)state;
    const char *argv[] = {tu_build("scriptbox"), "batch", "--input", "/dev/null", NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--out DIR"));
    tu_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(interrupted_then_resumed_runs_only_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_out_is_a_usage_error, setup, teardown),
    };
    return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
