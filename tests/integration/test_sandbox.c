/* test_sandbox.c — libsbx end to end: identity, capabilities, filesystem view, writes, output
 * capture, timeouts, leftovers, teardown, death of the caller. Runs as root and rootless. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sandbox.h"
#include "testutil.h"

static const char *const ENV[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home/user", "LANG=C", NULL};

struct fixture {
    char *seed;              /* host folder seeding /home/user */
    struct sbx_tmpfs areas[2];
    struct sbx_config cfg;
    struct sbx *sb;
    int exits;               /* SBX_EV_PROC_EXIT events seen */
    int notes;
    int opens;               /* SBX_EV_OPEN events seen */
    int foreign;             /* callbacks run with another effective uid/gid than the caller's */
    uid_t euid;              /* the caller's, when the fixture was set up */
    gid_t egid;
};

static void on_event(void *ctx, const struct sbx_event *ev)
{
    struct fixture *f = ctx;
    if (ev->kind == SBX_EV_PROC_EXIT) f->exits++;
    if (ev->kind == SBX_EV_NOTE) f->notes++;
    if (ev->kind == SBX_EV_OPEN) f->opens++;
    /* raw syscalls: this thread's own credentials, which the supervisor may switch per thread */
    if ((uid_t)syscall(SYS_geteuid) != f->euid || (gid_t)syscall(SYS_getegid) != f->egid) f->foreign++;
}

static void write_host_file(const char *dir, const char *name, const char *data)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(data, fp);
    fclose(fp);
    chmod(p, 0644);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->seed = tu_mkdtemp();
    assert_non_null(f->seed);
    f->euid = geteuid();
    f->egid = getegid();
    /* As root the sandbox reads seeds as an anonymous uid: the folder must be world-readable. */
    chmod(f->seed, 0755);
    write_host_file(f->seed, "seed.txt", "from the host\n");
    f->areas[0] = (struct sbx_tmpfs){.sandbox_path = "/tmp"};
    f->areas[1] = (struct sbx_tmpfs){.sandbox_path = "/home/user", .seed = f->seed};
    f->cfg = (struct sbx_config){.hostname = "sbxtest", .tmpfs = f->areas, .ntmpfs = 2,
                                 .on_event = on_event, .event_ctx = f};
    sbx_error err = {0};
    if (sbx_open(&f->cfg, &f->sb, &err) < 0) fail_msg("sbx_open: %s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sbx_error err = {0};
    if (f->sb) sbx_close(f->sb, 0, NULL, &err);
    tu_rm_rf(f->seed);
    free(f->seed);
    free(f);
    return 0;
}

static void run_sh(struct sbx *sb, const char *script, unsigned timeout_ms, struct sbx_status *st)
{
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    struct sbx_command cmd = {.argv = argv, .envp = ENV, .cwd = "/", .timeout_ms = timeout_ms};
    sbx_error err = {0};
    if (sbx_exec(sb, &cmd, st, &err) < 0) fail_msg("sbx_exec(%s): %s", script, err.msg);
}

/* Run and expect exit 0; return stdout (caller frees st). */
static const char *sh_ok(struct fixture *f, const char *script, struct sbx_status *st)
{
    run_sh(f->sb, script, 20000, st);
    if (!st->exited || st->exit_code != 0)
        fail_msg("%s: exited=%d code=%d sig=%d stderr=%s", script, st->exited, st->exit_code,
                 st->term_signal, st->err.data);
    return st->out.data;
}

/* The supervisor answers a run of plain opens as the payload's uid (as root) without switching
 * back between them; the caller's callback and the caller itself must never see that. */
static void callbacks_run_as_the_caller(void **state)
{
    struct fixture *f = *state;
    struct sbx_status st;
    sh_ok(f, "for i in 1 2 3 4 5 6 7 8 9 10; do cat /etc/hostname /etc/passwd /etc/group >/dev/null; done; "
             "cat /etc/hostname", &st);
    sbx_status_free(&st);
    assert_true(f->opens >= 40);
    assert_int_equal(f->foreign, 0);
    assert_int_equal((int)syscall(SYS_geteuid), (int)f->euid);
    assert_int_equal((int)syscall(SYS_getegid), (int)f->egid);
}

static void exit_code_and_stdout(void **state)
{
    struct fixture *f = *state;
    struct sbx_status st;
    run_sh(f->sb, "echo hello; echo oops >&2; exit 3", 0, &st);
    assert_true(st.exited);
    assert_int_equal(st.exit_code, 3);
    assert_string_equal(st.out.data, "hello\n");
    assert_string_equal(st.err.data, "oops\n");
    assert_int_equal(st.out.total, 6);
    assert_true(st.end_ns >= st.start_ns);
    sbx_status_free(&st);
    assert_true(f->exits >= 1);  /* init reported the exit */
}

static void payload_identity(void **state)
{
    struct fixture *f = *state;
    struct sbx_status st;
    assert_string_equal(sh_ok(f, "id -u; id -g; id -G", &st), "1000\n1000\n1000\n");
    sbx_status_free(&st);
}

static const char *status_field(const char *status, const char *name, char *buf, size_t cap)
{
    const char *p = strstr(status, name);
    if (!p) return NULL;
    p += strlen(name);
    while (*p == ':' || *p == '\t' || *p == ' ') p++;
    size_t n = strcspn(p, "\n");
    if (n >= cap) n = cap - 1;
    memcpy(buf, p, n);
    buf[n] = 0;
    return buf;
}

static void no_capabilities_no_new_privs(void **state)
{
    struct fixture *f = *state;
    struct sbx_status st;
    const char *s = sh_ok(f, "cat /proc/self/status", &st);
    char b[64];
    static const char *const caps[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
    for (size_t i = 0; i < 5; i++) {
        assert_non_null(status_field(s, caps[i], b, sizeof b));
        assert_string_equal(b, "0000000000000000");
    }
    assert_string_equal(status_field(s, "NoNewPrivs", b, sizeof b), "1");
    /* Seccomp mode 2 only once the real filter is in: the placeholder exports no policy. */
    sbx_error err = {0};
    FILE *devnull = fopen("/dev/null", "w");
    int have_policy = sbx_policy_export(devnull, &err) == 0;
    fclose(devnull);
    if (have_policy) assert_string_equal(status_field(s, "Seccomp:", b, sizeof b), "2");
    sbx_status_free(&st);
    /* and the supervisor (this process) is not dumpable: no ptrace or /proc/PID/mem by others */
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
}

static void no_more_user_namespaces(void **state)
{
    struct fixture *f = *state;
    struct sbx_status st;
    run_sh(f->sb, "unshare -U true 2>/dev/null", 0, &st);
    assert_int_not_equal(st.exit_code, 0);
    sbx_status_free(&st);
    /* Limits as documented; umask the usual one. */
    assert_string_equal(sh_ok(f, "awk '/^Max (cpu time|processes|open files|core file size) / "
                                 "{print $(NF-1)}' /proc/self/limits; umask", &st),
                        "300\n1\n512\n1024\n0022\n");
    sbx_status_free(&st);
}

static void hostname_as_configured(void **state)
{
    struct fixture *f = *state;
    struct sbx_status st;
    assert_string_equal(sh_ok(f, "hostname; cat /etc/hostname; cat /proc/sys/kernel/domainname", &st),
                        "sbxtest\nsbxtest\n(none)\n");
    sbx_status_free(&st);

}

static void root_view(void **state)
{
    struct fixture *f = *state;
    struct sbx_status st;
    const char *out = sh_ok(f, "ls /", &st);
    assert_null(strstr(out, "sys\n"));
    assert_null(strstr(out, "root\n"));
    assert_null(strstr(out, "work\n"));
    assert_non_null(strstr(out, "usr\n"));
    sbx_status_free(&st);
    /* Only our own /home/user, none of the host's homes. */
    assert_string_equal(sh_ok(f, "ls -A /home", &st), "user\n");
    sbx_status_free(&st);
    run_sh(f->sb, "test -e /root || test -e /sys || test -e /work || test -e /etc/shadow", 0, &st);
    assert_int_equal(st.exit_code, 1);
    sbx_status_free(&st);
    /* init and the zygote are invisible to the payload (hidepid + not dumpable). */
    run_sh(f->sb, "test -e /proc/1/status || test -e /proc/2/status", 0, &st);
    assert_int_equal(st.exit_code, 1);
    sbx_status_free(&st);
}

static void writes_stay_inside(void **state)
{
    struct fixture *f = *state;
    struct sbx_status st;
    run_sh(f->sb, "touch /usr/x 2>/dev/null || touch /etc/x 2>/dev/null || echo x >> /etc/passwd "
                  "2>/dev/null || chmod 777 /etc 2>/dev/null || touch /x 2>/dev/null || mkdir /dev/x "
                  "2>/dev/null", 0, &st);
    assert_int_not_equal(st.exit_code, 0);
    sbx_status_free(&st);
    assert_string_equal(sh_ok(f, "cd /home/user && cat seed.txt; echo changed > seed.txt; echo new > new.txt; "
                                 "cat seed.txt new.txt; echo t > /tmp/t && cat /tmp/t", &st),
                        "from the host\nchanged\nnew\nt\n");
    sbx_status_free(&st);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/new.txt", f->seed);
    assert_int_equal(access(p, F_OK), -1);
    snprintf(p, sizeof p, "%s/seed.txt", f->seed);
    char *s = tu_read_file(p, NULL);
    assert_string_equal(s, "from the host\n");
    free(s);
}

static void no_fd_leaks(void **state)
{
    struct fixture *f = *state;
    int leak = open("/dev/null", O_RDONLY);  /* deliberately without O_CLOEXEC */
    assert_true(leak >= 0);
    struct sbx_status st;
    /* ls opens its own folder fd (3): anything beyond means an fd leaked in. */
    const char *out = sh_ok(f, "ls /proc/self/fd | tr '\\n' ' '", &st);
    assert_string_equal(out, "0 1 2 3 ");
    sbx_status_free(&st);
    close(leak);
}

static void missing_program_is_127(void **state)
{
    struct fixture *f = *state;
    const char *argv[] = {"no-such-program-xyz", NULL};
    struct sbx_command cmd = {.argv = argv, .envp = ENV, .cwd = "/"};
    struct sbx_status st;
    sbx_error err = {0};
    assert_int_equal(sbx_exec(f->sb, &cmd, &st, &err), 0);
    assert_true(st.exited);
    assert_int_equal(st.exit_code, 127);
    assert_non_null(strstr(st.err.data, "no-such-program-xyz"));
    sbx_status_free(&st);
}

static void timeout_kills(void **state)
{
    struct fixture *f = *state;
    struct sbx_status st;
    uint64_t t = (uint64_t)time(NULL);
    run_sh(f->sb, "sleep 20", 300, &st);
    assert_true(st.timed_out);
    assert_false(st.exited);
    assert_true((uint64_t)time(NULL) - t < 5);
    sbx_status_free(&st);
    /* The sandbox is still usable. */
    assert_string_equal(sh_ok(f, "echo ok", &st), "ok\n");
    sbx_status_free(&st);
}

/* Run sh -c script, then check the same sandbox still runs a command. */
static void then_still_runs(struct fixture *f, const char *script, const char *want_out)
{
    struct sbx_status st;
    run_sh(f->sb, script, 10000, &st);
    assert_false(st.timed_out);
    if (want_out) assert_string_equal(st.out.data, want_out);
    sbx_status_free(&st);
    assert_string_equal(sh_ok(f, "echo still", &st), "still\n");
    sbx_status_free(&st);
}

/* The sandbox's init (pid 1, the zygote) shares the payload's kernel uid, but as init of its pid
 * namespace it gets no signal from inside it that it does not handle, and it handles none. */
static void payload_signals_spare_init(void **state)
{
    struct fixture *f = *state;
    then_still_runs(f, "kill -9 -1; echo after", "after\n");
    then_still_runs(f, "kill -STOP 1; sleep 0.1; echo stopped?", "stopped?\n");
    then_still_runs(f, "for s in KILL STOP TERM INT HUP USR1 USR2 CHLD QUIT ALRM PIPE IO; do kill -$s 1 || echo no $s; "
                       "done; sleep 0.1; echo sent", "sent\n");
    /* SIGIO path without kill(): F_SETOWN(1) + F_SETSIG(SIGKILL) + O_ASYNC on a pipe, then make
     * it readable (F_SETOWN 8, F_SETSIG 10, F_GETFL 3, F_SETFL 4, O_ASYNC 0x2000). */
    then_still_runs(f, "perl -e 'pipe(R, W) or die; fcntl(R, 8, 1) or die \"setown $!\"; "
                       "fcntl(R, 10, 9) or die \"setsig $!\"; my $fl = fcntl(R, 3, 0); "
                       "fcntl(R, 4, $fl | 0x2000) or die \"async $!\"; syswrite(W, \"x\"); "
                       "select(undef, undef, undef, 0.2); print \"sigio\\n\"'", "sigio\n");
    /* From a grandchild (it kills the command's shell too: that is the payload's business). */
    then_still_runs(f, "sh -c 'kill -9 -1'; echo unreachable", NULL);
}

/* A command's own view: its pid in the sandbox's namespace only, its parent pid 1 (init). */
static void pid_view(void **state)
{
    struct fixture *f = *state;
    struct sbx_status st;
    const char *out = sh_ok(f, "echo $$; grep -E '^(NSpid|PPid):' /proc/$$/status | tr '\\t' ' '", &st);
    int pid = atoi(out);
    assert_true(pid > 1);
    char want[128];
    snprintf(want, sizeof want, "%d\nPPid: 1\nNSpid: %d\n", pid, pid);
    assert_string_equal(out, want);
    sbx_status_free(&st);
    /* pid 1 exists (kill -0 reaches it: same uid) yet stays invisible in /proc (hidepid, not
     * dumpable): only the payload's own processes are listed. */
    assert_string_equal(sh_ok(f, "kill -0 1 && echo init; ls /proc | grep -qx 1 || echo hidden", &st),
                        "init\nhidden\n");
    sbx_status_free(&st);
}

static void output_cap(void **state)
{
    struct fixture *f = *state;
    struct sbx_status st;
    /* Default cap 1 MiB; 100 MB written: kept 1 MiB, counted all, never blocked. */
    run_sh(f->sb, "head -c 100000000 /dev/zero; echo done >&2", 60000, &st);
    assert_true(st.exited);
    assert_int_equal(st.exit_code, 0);
    assert_int_equal(st.out.len, 1024 * 1024);
    assert_true(st.out.total == 100000000ull);
    assert_string_equal(st.err.data, "done\n");
    sbx_status_free(&st);
    assert_true(f->notes >= 1);  /* truncation note */
}

static void small_cap_config(void **state)
{
    (void)state;
    struct sbx_config cfg = {.limits = {.capture_bytes = 1000}};
    struct sbx *sb;
    sbx_error err = {0};
    if (sbx_open(&cfg, &sb, &err) < 0) fail_msg("sbx_open: %s", err.msg);
    struct sbx_status st;
    run_sh(sb, "head -c 5000 /dev/zero | tr '\\0' a", 0, &st);
    assert_int_equal(st.out.len, 1000);
    assert_int_equal(st.out.total, 5000);
    assert_int_equal(strlen(st.out.data), 1000);
    sbx_status_free(&st);
    assert_int_equal(sbx_close(sb, 0, NULL, &err), 0);
}

static void node_works(void **state)
{
    struct fixture *f = *state;
    if (access("/usr/bin/node", X_OK) != 0) skip();
    struct sbx_status st;
    assert_string_equal(sh_ok(f, "node -e 'console.log(1+1)'", &st), "2\n");
    sbx_status_free(&st);
    assert_string_equal(sh_ok(f, "node -e 'new WebAssembly.Memory({initial:1}); console.log(\"wasm\")'", &st),
                        "wasm\n");
    sbx_status_free(&st);
    /* Loopback is up; nothing else is reachable. */
    assert_string_equal(sh_ok(f, "node -e 'require(\"net\").createServer().listen(0, \"127.0.0.1\", "
                                 "function () { console.log(\"lo\"); this.close(); })'", &st),
                        "lo\n");
    sbx_status_free(&st);
}

/* O_PATH opens cannot be handed over with ADDFD; they must still work (glibc and python use
 * them, e.g. for fchmodat and os.open(O_PATH)). */
static void o_path_opens_work(void **state)
{
    struct fixture *f = *state;
    if (access("/usr/bin/python3", X_OK) != 0) skip();
    struct sbx_status st;
    assert_string_equal(sh_ok(f, "python3 -c 'import os; fd = os.open(\"/etc/passwd\", os.O_PATH); "
                                 "print(os.fstat(fd).st_size > 0)'", &st),
                        "True\n");
    sbx_status_free(&st);
}

/* ---- process accounting from the host ------------------------------------------------------ */

static int ppid_of(int pid)
{
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/%d/stat", pid);
    int fd = open(p, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *r = strrchr(buf, ')');
    int ppid = -1;
    if (r) sscanf(r + 2, "%*c %d", &ppid);
    return ppid;
}

/* Children of `parent` (up to max), by scanning /proc. */
static int children_of(int parent, int *out, int max)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) && n < max) {
        int pid = atoi(e->d_name);
        if (pid > 0 && ppid_of(pid) == parent) out[n++] = pid;
    }
    closedir(d);
    return n;
}

static int pidns_of(int pid, char *buf, size_t cap)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/ns/pid", pid);
    ssize_t n = readlink(p, buf, cap - 1);
    if (n < 0) return -1;
    buf[n] = 0;
    return 0;
}

static char state_of(int pid)
{
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/%d/stat", pid);
    int fd = open(p, O_RDONLY);
    if (fd < 0) return '?';
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return '?';
    buf[n] = 0;
    char *r = strrchr(buf, ')');
    return r && r[1] && r[2] ? r[2] : '?';
}

/* Live processes (zombies are dead: init's waits for sbx_close to reap it) in that pid ns. */
static int count_in_ns(const char *ns)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    char b[64];
    while ((e = readdir(d))) {
        int pid = atoi(e->d_name);
        if (pid > 0 && pidns_of(pid, b, sizeof b) == 0 && !strcmp(b, ns) && state_of(pid) != 'Z') n++;
    }
    closedir(d);
    return n;
}

/* Host pid of the init whose sandbox has a leftover: init = our child (pid 1 inside, also the
 * zygote), orphans are its children. Fills ns with the leftover's pid namespace. */
static int find_leftover(int parent, char *ns, size_t cap)
{
    for (int i = 0; i < 500; i++) {
        int inits[16], ni = children_of(parent, inits, 16);
        for (int a = 0; a < ni; a++) {
            int os[4];
            if (children_of(inits[a], os, 4) > 0 && pidns_of(os[0], ns, cap) == 0) return inits[a];
        }
        usleep(10000);
    }
    return -1;
}

/* init dies while a command runs (here: killed from the host): sbx_exec still returns the
 * command's status (killed) and the output it had written; later calls fail; sbx_close cleans up. */
static void init_death_keeps_the_status(void **state)
{
    (void)state;
    struct sbx_config cfg = {0};
    struct sbx *sb;
    sbx_error err = {0};
    if (sbx_open(&cfg, &sb, &err) < 0) fail_msg("sbx_open: %s", err.msg);
    pid_t me = getpid();
    pid_t killer = fork();
    if (killer == 0) {
        usleep(500000);
        /* Our child whose NSpid ends in 1 (status is world-readable; rootless init, not
         * dumpable, hides its ns links from us). */
        int kids[16], n = children_of(me, kids, 16);
        for (int i = 0; i < n; i++) {
            char p[64], nb[64];
            snprintf(p, sizeof p, "/proc/%d/status", kids[i]);
            char *status = tu_read_file(p, NULL);
            const char *nspid = status ? status_field(status, "NSpid:", nb, sizeof nb) : NULL;
            const char *tab = nspid ? strrchr(nspid, '\t') : NULL;
            if (tab && !strcmp(tab, "\t1")) kill(kids[i], SIGKILL);
            free(status);
        }
        _exit(0);
    }
    struct sbx_status st;
    const char *argv[] = {"/bin/sh", "-c", "echo before; echo err >&2; sleep 20", NULL};
    struct sbx_command cmd = {.argv = argv, .envp = ENV, .cwd = "/", .timeout_ms = 15000};
    uint64_t t = (uint64_t)time(NULL);
    assert_int_equal(sbx_exec(sb, &cmd, &st, &err), 0);
    waitpid(killer, NULL, 0);
    assert_true((uint64_t)time(NULL) - t < 10);
    assert_false(st.exited);
    assert_false(st.timed_out);
    assert_int_equal(st.term_signal, SIGKILL);
    assert_string_equal(st.out.data, "before\n");
    assert_string_equal(st.err.data, "err\n");
    sbx_status_free(&st);
    assert_int_equal(sbx_exec(sb, &cmd, &st, &err), -1);
    struct sbx_close_status cs;
    assert_int_equal(sbx_close(sb, 100, &cs, &err), 0);
}

static void leftovers_counted_and_killed(void **state)
{
    (void)state;
    struct sbx_config cfg = {0};
    struct sbx *sb;
    sbx_error err = {0};
    if (sbx_open(&cfg, &sb, &err) < 0) fail_msg("sbx_open: %s", err.msg);
    struct sbx_status st;
    run_sh(sb, "sleep 30 >/dev/null 2>&1 & echo started", 5000, &st);
    assert_string_equal(st.out.data, "started\n");
    sbx_status_free(&st);
    char ns[64];
    int init = find_leftover(getpid(), ns, sizeof ns);
    assert_true(init > 0);
    assert_true(count_in_ns(ns) >= 1);
    /* On the host, the sandbox runs as the caller (rootless) or as the anonymous mapped uid
     * (root): never as host root. */
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/status", init);
    char *status = tu_read_file(p, NULL), uidb[64];
    assert_non_null(status);
    unsigned expect = geteuid() == 0 ? 2000000000u : (unsigned)geteuid();
    char want[64];
    snprintf(want, sizeof want, "%u\t%u\t%u\t%u", expect, expect, expect, expect);
    assert_string_equal(status_field(status, "Uid:", uidb, sizeof uidb), want);
    free(status);
    struct sbx_close_status cs;
    assert_int_equal(sbx_close(sb, 200, &cs, &err), 0);
    assert_int_equal(cs.leftovers, 1);
    snprintf(p, sizeof p, "/proc/%d", init);
    assert_int_equal(access(p, F_OK), -1);
    assert_int_equal(count_in_ns(ns), 0);
}

static void chatty_leftover_is_not_killed_by_sigpipe(void **state)
{
    struct fixture *f = *state;
    struct sbx_status st;
    /* The leftover keeps printing to the command's stdout after sbx_exec returned. */
    run_sh(f->sb, "(for i in $(seq 1 30); do echo tick; sleep 0.01; done; echo survived > /tmp/s) &", 5000, &st);
    assert_true(st.exited);
    sbx_status_free(&st);
    int ok = 0;
    for (int i = 0; i < 50 && !ok; i++) {  /* up to 5 s on a loaded machine */
        usleep(100000);
        run_sh(f->sb, "cat /tmp/s 2>/dev/null", 0, &st);
        ok = st.exited && st.exit_code == 0 && !strcmp(st.out.data, "survived\n");
        sbx_status_free(&st);
    }
    assert_true(ok);
}

static void grace_lets_leftovers_finish(void **state)
{
    (void)state;
    struct sbx_config cfg = {0};
    struct sbx *sb;
    sbx_error err = {0};
    if (sbx_open(&cfg, &sb, &err) < 0) fail_msg("sbx_open: %s", err.msg);
    struct sbx_status st;
    run_sh(sb, "sleep 0.3 >/dev/null 2>&1 &", 5000, &st);
    sbx_status_free(&st);
    struct sbx_close_status cs;
    assert_int_equal(sbx_close(sb, 5000, &cs, &err), 0);
    assert_int_equal(cs.leftovers, 0);
}

static void caller_sigkill_kills_run(void **state)
{
    (void)state;
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t c = fork();
    if (c == 0) {
        close(ready[0]);
        struct sbx_config cfg = {0};
        struct sbx *sb;
        sbx_error err = {0};
        if (sbx_open(&cfg, &sb, &err) < 0) _exit(2);
        struct sbx_status st;
        const char *argv[] = {"/bin/sh", "-c", "sleep 100 >/dev/null 2>&1 &", NULL};
        struct sbx_command cmd = {.argv = argv, .envp = ENV, .cwd = "/"};
        if (sbx_exec(sb, &cmd, &st, &err) < 0) _exit(3);
        (void)!write(ready[1], "r", 1);
        for (;;) pause();
    }
    close(ready[1]);
    char b;
    assert_int_equal(read(ready[0], &b, 1), 1);
    close(ready[0]);
    char ns[64];
    int init = find_leftover(c, ns, sizeof ns);
    assert_true(init > 0);
    assert_true(count_in_ns(ns) >= 1);
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    int left = -1;
    for (int i = 0; i < 500 && left != 0; i++) {
        left = count_in_ns(ns);
        if (left) usleep(10000);
    }
    assert_int_equal(left, 0);
}

static void kill_all_ends_every_sandbox(void **state)
{
    (void)state;
    struct sbx_config cfg = {0};
    struct sbx *a, *b;
    sbx_error err = {0};
    if (sbx_open(&cfg, &a, &err) < 0 || sbx_open(&cfg, &b, &err) < 0) fail_msg("sbx_open: %s", err.msg);
    struct sbx_status st;
    run_sh(a, "sleep 30 >/dev/null 2>&1 &", 5000, &st);
    sbx_status_free(&st);
    char ns[64];
    assert_true(find_leftover(getpid(), ns, sizeof ns) > 0);
    sbx_kill_all();
    int left = -1;
    for (int i = 0; i < 500 && left != 0; i++) {
        left = count_in_ns(ns);
        if (left) usleep(10000);
    }
    assert_int_equal(left, 0);
    assert_int_equal(sbx_exec(b, &(struct sbx_command){.argv = (const char *const[]){"/bin/true", NULL}}, &st, &err), -1);
    struct sbx_close_status cs;
    assert_int_equal(sbx_close(a, 1000, &cs, &err), 0);
    assert_int_equal(sbx_close(b, 1000, &cs, &err), 0);
}

static void probe_and_options(void **state)
{
    (void)state;
    sbx_error err = {0};
    if (sbx_probe(&err) < 0) fail_msg("sbx_probe: %s", err.msg);
    /* Another payload identity; cgroup limits asked for are reported as not applied. */
    struct fixture f = {0};
    struct sbx_config cfg = {.payload_uid = 1234, .payload_gid = 4321, .limits = {.memory_bytes = 1 << 30},
                             .on_event = on_event, .event_ctx = &f};
    struct sbx *sb;
    if (sbx_open(&cfg, &sb, &err) < 0) fail_msg("sbx_open: %s", err.msg);
    struct sbx_status st;
    run_sh(sb, "id -u; id -g; whoami", 0, &st);
    assert_string_equal(st.out.data, "1234\n4321\nuser\n");
    sbx_status_free(&st);
    assert_int_equal(f.notes, 1);
    assert_int_equal(sbx_close(sb, 0, NULL, &err), 0);
    /* Bad configurations are refused up front. */
    struct sbx_tmpfs rel = {.sandbox_path = "tmp"};
    struct sbx_config bad = {.tmpfs = &rel, .ntmpfs = 1};
    assert_int_equal(sbx_open(&bad, &sb, &err), -1);
    assert_int_equal(err.kind, SBX_E_USAGE);
}

static int write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* In a child: a user ns of our own where `how` breaks sandboxes (1: no user namespaces,
 * 2: a masked /proc), then sbx_open must fail naming the cause and the fix. */
static int blocked_child(int how, const char *expect)
{
    char map[64];
    snprintf(map, sizeof map, "0 %u 1", (unsigned)geteuid());
    char gmap[64];
    snprintf(gmap, sizeof gmap, "0 %u 1", (unsigned)getegid());
    /* Earlier tests' sbx_open left this process non-dumpable (sandbox.h); rootless our own
     * /proc/self/uid_map is writable only when we are dumpable. */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) return 10;
    if (write_text("/proc/self/setgroups", "deny") < 0 || write_text("/proc/self/uid_map", map) < 0 ||
        write_text("/proc/self/gid_map", gmap) < 0)
        return 11;
    if (how == 1 && write_text("/proc/sys/user/max_user_namespaces", "0") < 0) return 12;
    if (how == 2 && (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                     mount("/dev/null", "/proc/cpuinfo", NULL, MS_BIND, NULL) < 0))
        return 13;
    struct sbx_config cfg = {0};
    struct sbx *sb = NULL;
    sbx_error err = {0};
    if (sbx_open(&cfg, &sb, &err) == 0) return 14;
    if (err.kind != SBX_E_USERNS || !strstr(err.msg, expect) || !strstr(err.msg, "fix:")) {
        fprintf(stderr, "got: %s\n", err.msg);
        return 15;
    }
    sbx_probe(&err);
    return strstr(err.msg, expect) ? 0 : 16;
}

static void blocked_hosts_are_explained(void **state)
{
    (void)state;
    static const struct { int how; const char *expect; } cases[] = {
        {1, "user.max_user_namespaces=0"},
        {2, "systempaths=unconfined"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pid_t c = fork();
        if (c == 0) _exit(blocked_child(cases[i].how, cases[i].expect));
        int st;
        waitpid(c, &st, 0);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
}

static void binds_and_files(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    chmod(d, 0755);
    write_host_file(d, "data.txt", "bound\n");
    struct sbx_bind binds[] = {{.host_path = d, .sandbox_path = "/opt/ro"},
                               {.host_path = "/nonexistent/x", .sandbox_path = "/opt/none", .flags = SBX_BIND_OPTIONAL}};
    struct sbx_file files[] = {{.sandbox_path = "/etc/npmrc", .data = "a=b\n", .len = 4, .mode = 0600},
                               {.sandbox_path = "/etc/hostname", .data = "mine\n", .len = 5, .mode = 0644}};
    struct sbx_tmpfs t = {.sandbox_path = "/tmp"};
    struct sbx_config cfg = {.binds = binds, .nbinds = 2, .files = files, .nfiles = 2, .tmpfs = &t, .ntmpfs = 1};
    struct sbx *sb;
    sbx_error err = {0};
    if (sbx_open(&cfg, &sb, &err) < 0) fail_msg("sbx_open: %s", err.msg);
    struct sbx_status st;
    run_sh(sb, "cat /opt/ro/data.txt; touch /opt/ro/x 2>/dev/null || echo ro; test -e /opt/none || echo none; "
               "cat /etc/npmrc /etc/hostname; stat -c %a /etc/npmrc", 0, &st);
    assert_string_equal(st.out.data, "bound\nro\nnone\na=b\nmine\n600\n");
    sbx_status_free(&st);
    sbx_close(sb, 0, NULL, &err);
    /* A missing required bind is an error that names it. */
    binds[0].host_path = "/nonexistent/required";
    assert_int_equal(sbx_open(&cfg, &sb, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/required"));
    tu_rm_rf(d);
    free(d);
}

static void unreadable_seed_is_explained(void **state)
{
    (void)state;
    if (strcmp(tu_mode(), "root") != 0 && geteuid() != 0) skip();  /* rootless: the caller owns it */
    char *d = tu_mkdtemp();
    chmod(d, 0700);
    struct sbx_tmpfs a = {.sandbox_path = "/tmp", .seed = d};
    struct sbx_config cfg = {.tmpfs = &a, .ntmpfs = 1};
    struct sbx *sb = NULL;
    sbx_error err = {0};
    assert_int_equal(sbx_open(&cfg, &sb, &err), -1);
    assert_non_null(strstr(err.msg, "not readable"));
    assert_non_null(strstr(err.msg, "fix:"));
    tu_rm_rf(d);
    free(d);
}

/* A sandbox of cfg runs script once; its standard output is want. */
static void expect_output(const struct sbx_config *cfg, const char *script, const char *want)
{
    struct sbx *sb = NULL;
    sbx_error err = {0};
    if (sbx_open(cfg, &sb, &err) < 0) fail_msg("sbx_open: %s", err.msg);
    struct sbx_status st;
    run_sh(sb, script, 0, &st);
    assert_string_equal(st.out.data, want);
    sbx_status_free(&st);
    sbx_close(sb, 0, NULL, &err);
}

static void seed_links_are_copied_not_followed(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    chmod(d, 0755);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/passwd-link", d);
    assert_int_equal(symlink("/etc/passwd", p), 0);
    snprintf(p, sizeof p, "%s/fifo", d);
    assert_int_equal(mkfifo(p, 0644), 0);
    write_host_file(d, "suid", "x");
    snprintf(p, sizeof p, "%s/suid", d);
    chmod(p, 04755);
    struct sbx_tmpfs a = {.sandbox_path = "/work", .seed = d};
    /* A caller file written into the seeded area must not follow the seed's link. */
    struct sbx_file file = {.sandbox_path = "/work/passwd-link", .data = "x", .len = 1, .mode = 0644};
    struct sbx_config cfg = {.tmpfs = &a, .ntmpfs = 1, .files = &file, .nfiles = 1};
    struct sbx *sb = NULL;
    sbx_error err = {0};
    assert_int_equal(sbx_open(&cfg, &sb, &err), -1);
    assert_non_null(strstr(err.msg, "symlink"));
    cfg.nfiles = 0;
    expect_output(&cfg, "readlink /work/passwd-link; test -e /work/fifo || echo nofifo; stat -c %a /work/suid",
                  "/etc/passwd\nnofifo\n755\n");
    tu_rm_rf(d);
    free(d);
}

/* main's argv[0]: its memory is the area init overwrites to hide the caller's command line. */
static char *argv_area;

/* A tool may pass its own arguments as paths (sbxrun --rw DIR): init must have read them
 * before it overwrites the argv area, which it inherited. */
static void config_strings_may_live_in_argv(void **state)
{
    (void)state;
    static const char inside[] = "/argdir";
    if (!argv_area || strlen(argv_area) < sizeof inside - 1) skip();
    char *d = tu_mkdtemp();
    chmod(d, 0755);
    write_host_file(d, "seeded", "from the seed\n");
    memcpy(argv_area, inside, sizeof inside);
    struct sbx_tmpfs a = {.sandbox_path = argv_area, .seed = d};
    struct sbx_config cfg = {.tmpfs = &a, .ntmpfs = 1};
    expect_output(&cfg, "cat /argdir/seeded && echo ok > /argdir/new && cat /argdir/new",
                  "from the seed\nok\n");
    tu_rm_rf(d);
    free(d);
}

int main(int argc, char **argv)
{
    argv_area = argc > 0 ? argv[0] : NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(exit_code_and_stdout, setup, teardown),
        cmocka_unit_test_setup_teardown(callbacks_run_as_the_caller, setup, teardown),
        cmocka_unit_test_setup_teardown(payload_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(no_capabilities_no_new_privs, setup, teardown),
        cmocka_unit_test_setup_teardown(hostname_as_configured, setup, teardown),
        cmocka_unit_test_setup_teardown(no_more_user_namespaces, setup, teardown),
        cmocka_unit_test_setup_teardown(root_view, setup, teardown),
        cmocka_unit_test_setup_teardown(writes_stay_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(no_fd_leaks, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_program_is_127, setup, teardown),
        cmocka_unit_test_setup_teardown(timeout_kills, setup, teardown),
        cmocka_unit_test_setup_teardown(payload_signals_spare_init, setup, teardown),
        cmocka_unit_test_setup_teardown(pid_view, setup, teardown),
        cmocka_unit_test_setup_teardown(output_cap, setup, teardown),
        cmocka_unit_test(small_cap_config),
        cmocka_unit_test_setup_teardown(o_path_opens_work, setup, teardown),
        cmocka_unit_test_setup_teardown(node_works, setup, teardown),
        cmocka_unit_test(init_death_keeps_the_status),
        cmocka_unit_test(leftovers_counted_and_killed),
        cmocka_unit_test(grace_lets_leftovers_finish),
        cmocka_unit_test_setup_teardown(chatty_leftover_is_not_killed_by_sigpipe, setup, teardown),
        cmocka_unit_test(caller_sigkill_kills_run),
        cmocka_unit_test(kill_all_ends_every_sandbox),
        cmocka_unit_test(probe_and_options),
        cmocka_unit_test(blocked_hosts_are_explained),
        cmocka_unit_test(binds_and_files),
        cmocka_unit_test(unreadable_seed_is_explained),
        cmocka_unit_test(seed_links_are_copied_not_followed),
        cmocka_unit_test(config_strings_may_live_in_argv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
