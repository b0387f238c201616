/*
 * test_pidcache.c — host tids to (pid, ppid) (sandbox/decode_pid.c): a cached task keeps its
 * answer while it and its parent live; a reparented task gets its new parent; a dead task's
 * slot is not used for the next task with that number.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "decode.h"

/* Helpers wait to be killed; a failed assertion leaves them, so they also give up on their own
 * (and never keep the test's output pipe open for long). */
static void wait_to_be_killed(void)
{
    alarm(20);
    for (;;) pause();
}

/* A child that forks a grandchild and reports the grandchild's pid, then waits to be killed. */
static pid_t spawn_pair(pid_t *grandchild)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pid_t g = fork();
        if (g == 0) wait_to_be_killed();
        (void)!write(p[1], &g, sizeof g);
        wait_to_be_killed();
    }
    assert_int_equal(read(p[0], grandchild, sizeof *grandchild), (ssize_t)sizeof *grandchild);
    close(p[0]);
    close(p[1]);
    return child;
}

static void parent_is_followed_through_reparenting(void **state)
{
    (void)state;
    /* Orphans come to us, so the new parent is known. */
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    struct sbx_pidcache c;
    sbx_pidcache_init(&c);
    pid_t g, child = spawn_pair(&g);
    int pid = 0, ppid = 0;
    for (int round = 0; round < 3; round++) {   /* cached answers stay right */
        sbx_pidcache_lookup(&c, g, &pid, &ppid);
        assert_int_equal(pid, g);
        assert_int_equal(ppid, child);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    sbx_pidcache_lookup(&c, g, &pid, &ppid);
    assert_int_equal(pid, g);
    assert_int_equal(ppid, getpid());
    kill(g, SIGKILL);
    waitpid(g, NULL, 0);
    sbx_pidcache_lookup(&c, g, &pid, &ppid);   /* gone: nothing, not the old answer */
    assert_int_equal(pid, 0);
    assert_int_equal(ppid, 0);
    sbx_pidcache_clear(&c);
}

static void many_tasks_evict_without_mixing(void **state)
{
    (void)state;
    struct sbx_pidcache c;
    sbx_pidcache_init(&c);
    enum { N = SBX_PIDCACHE_SLOTS + 8 };
    pid_t kids[N];
    for (int i = 0; i < N; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) wait_to_be_killed();
    }
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < N; i++) {
            int pid = 0, ppid = 0;
            sbx_pidcache_lookup(&c, kids[i], &pid, &ppid);
            assert_int_equal(pid, kids[i]);
            assert_int_equal(ppid, getpid());
        }
    for (int i = 0; i < N; i++) {
        kill(kids[i], SIGKILL);
        waitpid(kids[i], NULL, 0);
    }
    sbx_pidcache_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parent_is_followed_through_reparenting),
        cmocka_unit_test(many_tasks_evict_without_mixing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
