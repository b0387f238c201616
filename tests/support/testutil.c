#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t ncap = (*cap ? *cap * 2 : 4096);
        while (ncap < *len + n + 1) ncap *= 2;
        char *nb = realloc(*buf, ncap);
        if (!nb) return -1;
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = 0;
    return 0;
}

int tu_run(const char *const argv[], struct tu_run *r)
{
    int op[2], ep[2];
    memset(r, 0, sizeof *r);
    if (pipe2(op, O_CLOEXEC) || pipe2(ep, O_CLOEXEC)) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(op[1], 1);
        dup2(ep[1], 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(op[1]);
    close(ep[1]);
    size_t ol = 0, oc = 0, el = 0, ec = 0;
    append(&r->out, &ol, &oc, "", 0);
    append(&r->err, &el, &ec, "", 0);
    struct pollfd p[2] = {{op[0], POLLIN, 0}, {ep[0], POLLIN, 0}};
    int open_fds = 2;
    char buf[65536];
    while (open_fds > 0) {
        if (poll(p, 2, -1) < 0) { if (errno == EINTR) continue; break; }
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !p[i].revents) continue;
            ssize_t n = read(p[i].fd, buf, sizeof buf);
            if (n <= 0) { close(p[i].fd); p[i].fd = -1; open_fds--; continue; }
            if (i == 0) append(&r->out, &ol, &oc, buf, (size_t)n);
            else append(&r->err, &el, &ec, buf, (size_t)n);
        }
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return 0;
}

void tu_run_free(struct tu_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

static const char *join(const char *base, const char *rel)
{
    static char bufs[8][4096];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", base, rel);
    return b;
}

const char *tu_build(const char *rel)
{
    const char *b = getenv("BUILD");
    return join(b && *b ? b : "build", rel);
}

const char *tu_src(const char *rel) { return join(".", rel); }

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t l = 0, cap = 0;
    char chunk[65536];
    size_t n;
    append(&buf, &l, &cap, "", 0);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) append(&buf, &l, &cap, chunk, n);
    fclose(f);
    if (len) *len = l;
    return buf;
}

cJSON *tu_read_json(const char *path)
{
    char *s = tu_read_file(path, NULL);
    if (!s) return NULL;
    cJSON *j = cJSON_Parse(s);
    free(s);
    return j;
}

char *tu_mkdtemp(void)
{
    const char *t = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/sbtest.XXXXXX", t && *t ? t : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    remove(p);
    return 0;
}

void tu_rm_rf(const char *path)
{
    if (path) nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

void tu_dirs_open(struct tu_dirs *d)
{
    d->tmp = tu_mkdtemp();
    d->out = tu_mkdtemp();
    setenv("TMPDIR", d->tmp, 1);
}

void tu_dirs_close(struct tu_dirs *d)
{
    unsetenv("TMPDIR");
    tu_rm_rf(d->tmp);
    tu_rm_rf(d->out);
    free(d->tmp);
    free(d->out);
    d->tmp = d->out = NULL;
}

const char *tu_mode(void)
{
    const char *m = getenv("SCRIPTBOX_TEST_MODE");
    return m ? m : "unit";
}

/* ---- fixtures and per-test folders (cmocka assertions) ------------------------------------ */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

int tu_dirs_setup(void **state)
{
    struct tu_dirs *d = calloc(1, sizeof *d);
    if (!d) return -1;
    tu_dirs_open(d);
    *state = d;
    return 0;
}

int tu_dirs_teardown(void **state)
{
    tu_dirs_close(*state);
    free(*state);
    return 0;
}

const char *tu_pack(const struct tu_dirs *d, const char *name)
{
    static char path[4096];
    char transform[256];
    snprintf(path, sizeof path, "%s/%s.tgz", d->out, name);
    snprintf(transform, sizeof transform, "s,^%s,package,", name);
    const char *argv[] = {"tar", "--owner=0", "--group=0", "--numeric-owner", "--sort=name", "-czf", path,
                          "-C", tu_src("tests/fixtures/packages"), "--transform", transform, name, NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    assert_int_equal(r.status, 0);
    tu_run_free(&r);
    return path;
}
