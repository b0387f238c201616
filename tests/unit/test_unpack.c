/*
 * test_unpack.c — the hardened unpacker against hostile tarballs.
 *
 * The fixtures come from tests/tools/mkfixtures (run once per suite into a fresh folder). Each
 * case unpacks into a fresh work folder ROOT/l1/l2/run/work, ROOT being a fresh private folder
 * that also holds a sentinel file and an "outside" folder; nesting three levels deep keeps the
 * relative escapes of the fixtures ("../../evil", "../../..") inside ROOT even if the unpacker
 * were broken. ROOT (minus the work folder) and a list of absolute targets ("/tmp/evil",
 * "/etc/passwd", ...) are snapshotted before and after each unpack, and must not change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "unpack.h"

/* ---- snapshots --------------------------------------------------------------------------- */

struct text {
    char *p;
    size_t len, cap;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
    char line[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof line);
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->len + (size_t)n + 1) * 2;
        t->p = realloc(t->p, t->cap);
        assert_non_null(t->p);
    }
    memcpy(t->p + t->len, line, (size_t)n + 1);
    t->len += (size_t)n;
}

static void describe(struct text *t, const char *label, const struct stat *st)
{
    text_add(t, "%s type=%o mode=%o size=%lld ino=%llu nlink=%llu mtime=%lld.%09ld\n", label,
             (unsigned)(st->st_mode & S_IFMT), (unsigned)(st->st_mode & 07777), (long long)st->st_size,
             (unsigned long long)st->st_ino, (unsigned long long)st->st_nlink, (long long)st->st_mtim.tv_sec,
             st->st_mtim.tv_nsec);
}

/* Every name below dirfd (not following links), except the path "skip". */
static void snapshot_tree(struct text *t, int dirfd, const char *prefix, const char *skip)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    DIR *d = fdopendir(fd);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", prefix, de->d_name);
        if (!strcmp(path, skip)) continue;
        assert_int_equal(fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW), 0);
        describe(t, path, &st);
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            assert_true(sub >= 0);
            snapshot_tree(t, sub, path, skip);
            close(sub);
        }
    }
    closedir(d);
}

static void snapshot_path(struct text *t, const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0) describe(t, path, &st);
    else text_add(t, "%s absent\n", path);
}

#define WORK_IN_ROOT "l1/l2/run/work"

/* ROOT without the work folder, plus where a broken unpacker would write with absolute names. */
static char *snapshot_outside(const char *root)
{
    struct text t = {0};
    text_add(&t, "--\n");
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    snapshot_tree(&t, fd, ".", "./" WORK_IN_ROOT);
    close(fd);
    const char *targets[] = {
        "/evil", "/tmp/evil", "/tmp/scriptbox-fixture-evil", "/etc/scriptbox-fixture-evil",
        "/scriptbox-fixture-evil", "/etc/passwd", "/etc",
    };
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) snapshot_path(&t, targets[i]);
    return t.p;
}

/* ---- one unpack run ---------------------------------------------------------------------- */

enum { MAX_ROOTS = 64 };

struct suite {
    char *fixtures;
    char *roots[MAX_ROOTS];    /* run folders not yet removed (a failed case leaves its own) */
};

struct run {
    struct suite *suite;
    char root[2048];
    char work[4096];
    int workfd;
    int rc;
    struct unpack_result res;
    struct sb_error err;
};

static void make_sentinel(const char *root)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/sentinel.txt", root);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("sentinel\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/outside", root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/outside/target-file", root);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs("outside\n", f);
    fclose(f);
}

static void remember_root(struct suite *s, const char *root, bool keep)
{
    for (int i = 0; i < MAX_ROOTS; i++) {
        if (keep && !s->roots[i]) {
            s->roots[i] = strdup(root);
            return;
        }
        if (!keep && s->roots[i] && !strcmp(s->roots[i], root)) {
            free(s->roots[i]);
            s->roots[i] = NULL;
            return;
        }
    }
}

static void prepare(struct suite *s, struct run *r)
{
    static const char *const levels[] = {"l1", "l1/l2", "l1/l2/run", WORK_IN_ROOT};
    char p[4096];
    memset(r, 0, sizeof *r);
    r->suite = s;
    char *root = tu_mkdtemp();
    assert_non_null(root);
    snprintf(r->root, sizeof r->root, "%s", root);
    free(root);
    remember_root(s, r->root, true);
    make_sentinel(r->root);
    for (size_t i = 0; i < sizeof levels / sizeof *levels; i++) {
        snprintf(p, sizeof p, "%s/%s", r->root, levels[i]);
        assert_int_equal(mkdir(p, 0700), 0);
    }
    snprintf(r->work, sizeof r->work, "%s/" WORK_IN_ROOT, r->root);
    r->workfd = open(r->work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(r->workfd >= 0);
}

/* Unpack archive into the prepared run; the outside must be unchanged, checked first of all. */
static void unpack_path(const char *archive, struct run *r, const struct unpack_limits *lim)
{
    char *before = snapshot_outside(r->root);
    r->rc = unpack_tarball(archive, r->workfd, lim, &r->res, &r->err);
    char *after = snapshot_outside(r->root);
    if (strcmp(before, after) != 0) {
        print_message("before:\n%s\nafter:\n%s\n", before, after);
        fail_msg("something outside the work folder changed");
    }
    free(before);
    free(after);
}

static void unpack_prepared(struct suite *s, const char *fixture, struct run *r, const struct unpack_limits *lim)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", s->fixtures, fixture);
    unpack_path(path, r, lim);
}

static void unpack_fixture(struct suite *s, const char *fixture, struct run *r, const struct unpack_limits *lim)
{
    prepare(s, r);
    unpack_prepared(s, fixture, r, lim);
}

static void finish(struct run *r)
{
    unpack_result_free(&r->res);
    close(r->workfd);
    tu_rm_rf(r->root);
    remember_root(r->suite, r->root, false);
}

static size_t count_issues(const struct run *r, const char *kind)
{
    size_t n = 0;
    for (size_t i = 0; i < r->res.nissues; i++) n += strcmp(r->res.issues[i].kind, kind) == 0;
    return n;
}

static const struct unpack_issue *find_issue(const struct run *r, const char *kind, const char *entry)
{
    for (size_t i = 0; i < r->res.nissues; i++)
        if (!strcmp(r->res.issues[i].kind, kind) && !strcmp(r->res.issues[i].entry, entry))
            return &r->res.issues[i];
    return NULL;
}

static void assert_issue(const struct run *r, const char *kind, const char *entry)
{
    if (!find_issue(r, kind, entry)) {
        for (size_t i = 0; i < r->res.nissues; i++)
            print_message("  issue %s '%s' %s\n", r->res.issues[i].kind, r->res.issues[i].entry,
                          r->res.issues[i].detail);
        fail_msg("expected issue %s for '%s'", kind, entry);
    }
}

static void assert_unpacked(const struct run *r)
{
    if (r->rc != 0) fail_msg("unpack failed: [%s] %s", r->err.code, r->err.msg);
}

static void assert_refused(const struct run *r, const char *code)
{
    assert_int_equal(r->rc, -1);
    assert_int_equal(r->err.exit_code, SB_EXIT_INPUT);
    assert_string_equal(r->err.code, code);
    assert_null(strchr(r->err.msg, '\n'));
}

static void assert_file(const struct run *r, const char *rel, const char *content, unsigned mode)
{
    struct stat st;
    if (fstatat(r->workfd, rel, &st, AT_SYMLINK_NOFOLLOW) != 0) fail_msg("missing file %s", rel);
    assert_true(S_ISREG(st.st_mode));
    if ((st.st_mode & 07777) != mode) fail_msg("%s: mode 0%o, want 0%o", rel, st.st_mode & 07777, mode);
    if (content) {
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", r->work, rel);
        char *got = tu_read_file(p, NULL);
        assert_non_null(got);
        assert_string_equal(got, content);
        free(got);
    }
}

static void assert_folder(const struct run *r, const char *rel)
{
    struct stat st;
    if (fstatat(r->workfd, rel, &st, AT_SYMLINK_NOFOLLOW) != 0) fail_msg("missing folder %s", rel);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0755);
}

static void assert_symlink(const struct run *r, const char *rel, const char *target)
{
    char buf[4096];
    ssize_t n = readlinkat(r->workfd, rel, buf, sizeof buf - 1);
    if (n < 0) fail_msg("missing symlink %s", rel);
    buf[n] = 0;
    assert_string_equal(buf, target);
}

static void assert_absent(const struct run *r, const char *rel)
{
    struct stat st;
    if (fstatat(r->workfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0) fail_msg("%s should not exist", rel);
}

/* ---- setup ------------------------------------------------------------------------------- */

static int remove_fixtures(void **state);

static int make_fixtures(void **state)
{
    struct suite *s = calloc(1, sizeof *s);
    if (!s) return -1;
    *state = s;   /* from here on remove_fixtures frees it */
    s->fixtures = tu_mkdtemp();
    if (!s->fixtures) return remove_fixtures(state), -1;
    const char *argv[] = {tu_build("tests/tools/mkfixtures"), s->fixtures, NULL};
    struct tu_run out;
    int rc = tu_run(argv, &out) == 0 && out.status == 0 ? 0 : -1;
    if (rc < 0) {
        fprintf(stderr, "%s failed (%d): %s; build it with make tests-build\n", argv[0], out.status,
                out.err ? out.err : "");
        remove_fixtures(state);
    }
    tu_run_free(&out);
    return rc;
}

static int remove_fixtures(void **state)
{
    struct suite *s = *state;
    if (!s) return 0;
    for (int i = 0; i < MAX_ROOTS; i++) {
        tu_rm_rf(s->roots[i]);
        free(s->roots[i]);
    }
    tu_rm_rf(s->fixtures);
    free(s->fixtures);
    free(s);
    *state = NULL;
    return 0;
}

/* ---- benign archives --------------------------------------------------------------------- */

static void benign_unpacks_with_safe_modes(void **state)
{
    struct run r;
    unpack_fixture(*state, "benign.tgz", &r, NULL);
    assert_unpacked(&r);
    assert_int_equal(r.res.nissues, 0);
    assert_string_equal(r.res.top_folder, "package");
    assert_int_equal(r.res.entries, 10);
    assert_int_equal(r.res.files, 6);
    assert_file(&r, "package.json", "{\"name\":\"benign\",\"version\":\"1.0.0\"}\n", 0644);
    assert_file(&r, "index.js", "module.exports = 42;\n", 0644);   /* 0664: group write dropped */
    assert_file(&r, "bin/cli.js", NULL, 0755);                     /* 0775 */
    assert_file(&r, "lib/util.js", NULL, 0644);                    /* 0600 */
    assert_file(&r, "uni/\xc3\xa9t\xc3\xa9.txt", "unicode\n", 0644);
    assert_folder(&r, "lib");                                      /* 0700 */
    assert_folder(&r, "bin");                                      /* implicit */
    assert_symlink(&r, "lib/alias.js", "util.js");
    assert_symlink(&r, "docs/readme-link", "../index.js");
    assert_int_equal(strncmp(r.res.integrity, "sha512-", 7), 0);
    assert_int_equal(strlen(r.res.integrity), 7 + 88);
    finish(&r);
}

static void plain_tar_is_read_too(void **state)
{
    struct run r;
    unpack_fixture(*state, "benign.tar", &r, NULL);
    assert_unpacked(&r);
    assert_int_equal(r.res.nissues, 0);
    assert_file(&r, "index.js", "module.exports = 42;\n", 0644);
    finish(&r);
}

static void integrity_is_of_the_whole_file(void **state)
{
    struct suite *s = *state;
    struct run r;
    char path[4096], direct[128];
    struct sb_error err = {0};
    unpack_fixture(s, "benign.tgz", &r, NULL);
    assert_unpacked(&r);
    snprintf(path, sizeof path, "%s/benign.tgz", s->fixtures);
    assert_int_equal(unpack_file_integrity(path, direct, &err), 0);
    assert_string_equal(direct, r.res.integrity);
    finish(&r);
    snprintf(path, sizeof path, "%s/no-such.tgz", s->fixtures);
    assert_int_equal(unpack_file_integrity(path, direct, &err), -1);
    assert_string_equal(err.code, "bad-tarball");
}

static void custom_top_folder_is_stripped(void **state)
{
    struct run r;
    unpack_fixture(*state, "custom-top.tgz", &r, NULL);
    assert_unpacked(&r);
    assert_int_equal(r.res.nissues, 0);
    assert_string_equal(r.res.top_folder, "node");
    assert_file(&r, "package.json", NULL, 0644);
    assert_file(&r, "lib/a.js", "a\n", 0644);
    assert_absent(&r, "node");
    finish(&r);
}

static void other_top_folders_are_reported(void **state)
{
    struct run r;
    unpack_fixture(*state, "mixed-top.tgz", &r, NULL);
    assert_unpacked(&r);
    assert_string_equal(r.res.top_folder, "package");
    assert_issue(&r, "no-top-folder", "README");
    assert_issue(&r, "extra-top-folder", "other/b.js");
    assert_int_equal(count_issues(&r, "extra-top-folder"), 1);   /* once per folder */
    assert_file(&r, "a.js", "a\n", 0644);
    assert_file(&r, "b.js", "b\n", 0644);                         /* stripped like npm */
    assert_file(&r, "c.js", "c\n", 0644);
    assert_absent(&r, "README");
    finish(&r);
}

/* ---- hostile names ----------------------------------------------------------------------- */

static void dot_dot_is_skipped(void **state)
{
    struct run r;
    unpack_fixture(*state, "traversal.tgz", &r, NULL);
    assert_unpacked(&r);
    assert_issue(&r, "dot-dot", "package/../../evil");
    assert_issue(&r, "dot-dot", "package/a/../../evil");
    assert_issue(&r, "dot-dot", "../evil");
    assert_int_equal(r.res.nissues, 3);
    assert_file(&r, "ok.txt", "ok\n", 0644);
    assert_absent(&r, "evil");
    assert_absent(&r, "a");
    finish(&r);
}

static void absolute_path_is_skipped(void **state)
{
    struct run r;
    unpack_fixture(*state, "absolute.tgz", &r, NULL);
    assert_unpacked(&r);
    assert_issue(&r, "absolute-path", "/tmp/scriptbox-fixture-evil");
    assert_int_equal(r.res.nissues, 1);
    assert_file(&r, "ok.txt", "ok\n", 0644);
    assert_absent(&r, "tmp");
    finish(&r);
}

static void bad_long_and_deep_names_are_skipped(void **state)
{
    struct run r;
    char deep_ok[256] = "";
    unpack_fixture(*state, "names.tgz", &r, NULL);
    assert_unpacked(&r);
    assert_issue(&r, "bad-name", "package/bad\\x01name");    /* escaped for display */
    assert_issue(&r, "bad-name", "package/new\\x0aline");
    assert_issue(&r, "bad-name", "package/del\\x7f");
    assert_int_equal(count_issues(&r, "name-too-long"), 2);
    assert_int_equal(count_issues(&r, "too-deep"), 1);
    assert_int_equal(r.res.nissues, 6);
    for (size_t i = 0; i < r.res.nissues; i++) assert_true(strlen(r.res.issues[i].entry) < 200);
    assert_file(&r, "ok.txt", "ok\n", 0644);
    for (int i = 0; i < 63; i++) strcat(deep_ok, "d/");
    strcat(deep_ok, "y");
    assert_file(&r, deep_ok, "y\n", 0644);                   /* exactly at the depth limit */
    assert_int_equal(r.res.files, 2);
    finish(&r);
}

static void colliding_names_are_skipped(void **state)
{
    struct run r;
    unpack_fixture(*state, "collision.tgz", &r, NULL);
    assert_unpacked(&r);
    assert_issue(&r, "name-collision", "package/a//b");
    assert_issue(&r, "name-collision", "package/c");
    assert_issue(&r, "name-collision", "package/d");
    assert_issue(&r, "name-collision", "package/e");
    assert_issue(&r, "name-collision", "package/f/");
    assert_issue(&r, "name-collision", "package/g/h");   /* its folder is already a file */
    assert_int_equal(r.res.nissues, 6);
    assert_file(&r, "a/b", "one\n", 0644);                /* the first one wins */
    assert_file(&r, "c", "one\n", 0644);
    assert_file(&r, "d", "one\n", 0644);
    assert_folder(&r, "e");
    assert_folder(&r, "f");
    assert_file(&r, "g", "one\n", 0644);
    assert_file(&r, "Case", "upper\n", 0644);             /* Linux is case-sensitive */
    assert_file(&r, "case", "lower\n", 0644);
    finish(&r);
}

/* ---- links and special files ------------------------------------------------------------- */

static void symlink_leaving_the_package_is_skipped(void **state)
{
    struct run r;
    unpack_fixture(*state, "symlink-escape.tgz", &r, NULL);
    assert_unpacked(&r);
    assert_issue(&r, "symlink-escape", "package/link");
    assert_int_equal(r.res.nissues, 1);
    /* The link was not made, so the next entry became a plain folder and file inside. */
    assert_folder(&r, "link");
    assert_file(&r, "link/scriptbox-fixture-evil", "evil\n", 0644);
    finish(&r);
}

static void symlink_to_etc_is_skipped(void **state)
{
    struct run r;
    unpack_fixture(*state, "symlink-etc.tgz", &r, NULL);
    assert_unpacked(&r);
    assert_issue(&r, "symlink-escape", "package/etc");
    assert_int_equal(r.res.nissues, 1);
    assert_folder(&r, "etc");
    assert_file(&r, "etc/scriptbox-fixture-evil", "evil\n", 0644);
    finish(&r);
}

/* A link the archive made (allowed: it points inside) is never written through, and link chains
 * that only look inside lexically are refused. */
static void writes_never_follow_links_from_earlier_entries(void **state)
{
    struct run r;
    unpack_fixture(*state, "symlink-through.tgz", &r, NULL);
    assert_unpacked(&r);
    assert_symlink(&r, "inner", "sub");
    assert_issue(&r, "symlink-escape", "package/inner/x.txt");
    assert_absent(&r, "sub/x.txt");
    assert_symlink(&r, "r", ".");
    assert_issue(&r, "symlink-escape", "package/e");       /* r/.. would be the work's parent */
    assert_absent(&r, "e");
    assert_issue(&r, "symlink-escape", "package/up");
    assert_issue(&r, "symlink-escape", "package/sub/deep");
    assert_symlink(&r, "sub/ok", "../index.js");
    assert_int_equal(r.res.nissues, 4);
    finish(&r);
}

/* The same guarantee without trusting the lexical check: symlinks planted in the work folder
 * before unpacking (pointing at the sentinel's "outside") are never followed. */
static void writes_never_follow_planted_links(void **state)
{
    struct run r;
    prepare(*state, &r);
    assert_int_equal(symlinkat("../../../../outside", r.workfd, "pre"), 0);
    assert_int_equal(symlinkat("../../../../outside/target-file", r.workfd, "prefile"), 0);
    unpack_prepared(*state, "through-existing.tgz", &r, NULL);
    assert_unpacked(&r);
    assert_issue(&r, "symlink-escape", "package/pre/scriptbox-fixture-evil");
    assert_issue(&r, "name-collision", "package/prefile");
    assert_file(&r, "ok.txt", "ok\n", 0644);
    finish(&r);   /* "outside" was unchanged: no new file in it, target-file untouched */
}

static void hardlinks_are_skipped(void **state)
{
    struct run r;
    unpack_fixture(*state, "hardlink.tgz", &r, NULL);
    assert_unpacked(&r);
    assert_issue(&r, "hardlink", "package/passwd");
    assert_issue(&r, "hardlink", "package/b.txt");
    assert_int_equal(r.res.nissues, 2);
    assert_file(&r, "a.txt", "a\n", 0644);
    assert_absent(&r, "passwd");
    assert_absent(&r, "b.txt");
    finish(&r);   /* /etc/passwd's link count was in the snapshot */
}

static void devices_are_skipped(void **state)
{
    struct run r;
    unpack_fixture(*state, "chardev.tgz", &r, NULL);
    assert_unpacked(&r);
    assert_issue(&r, "special-file", "package/null");
    assert_issue(&r, "special-file", "package/sda");
    assert_int_equal(r.res.nissues, 2);
    assert_absent(&r, "null");
    assert_absent(&r, "sda");
    assert_file(&r, "ok.txt", "ok\n", 0644);
    finish(&r);
}

static void fifos_are_skipped(void **state)
{
    struct run r;
    unpack_fixture(*state, "fifo.tgz", &r, NULL);
    assert_unpacked(&r);
    assert_issue(&r, "special-file", "package/fifo");
    assert_int_equal(r.res.nissues, 1);
    assert_absent(&r, "fifo");
    finish(&r);
}

static void setid_bits_are_stripped(void **state)
{
    struct run r;
    unpack_fixture(*state, "setuid.tgz", &r, NULL);
    assert_unpacked(&r);
    const struct unpack_issue *is = find_issue(&r, "setid-bits", "package/suid");
    assert_non_null(is);
    assert_string_equal(is->detail, "mode 04755 -> 0755");
    is = find_issue(&r, "setid-bits", "package/sgid");
    assert_non_null(is);
    assert_string_equal(is->detail, "mode 02644 -> 0644");
    is = find_issue(&r, "setid-bits", "package/sticky/");
    assert_non_null(is);
    assert_string_equal(is->detail, "mode 01777 -> 0755");
    assert_int_equal(r.res.nissues, 3);
    assert_file(&r, "suid", "s\n", 0755);
    assert_file(&r, "sgid", "g\n", 0644);
    assert_file(&r, "plain", "p\n", 0755);   /* 0777: group/other write dropped */
    assert_folder(&r, "sticky");
    finish(&r);
}

static void issues_are_bounded_per_kind(void **state)
{
    struct run r;
    unpack_fixture(*state, "many-issues.tgz", &r, NULL);
    assert_unpacked(&r);
    assert_int_equal(count_issues(&r, "special-file"), 100);
    assert_int_equal(r.res.issues_dropped, 50);
    assert_issue(&r, "symlink-escape", "package/escape");   /* not drowned by the FIFOs */
    finish(&r);
}

static void names_are_escaped_for_display(void **state)
{
    struct run r;
    unpack_fixture(*state, "display.tgz", &r, NULL);
    assert_unpacked(&r);
    assert_issue(&r, "special-file", "package/\\xe2\\x80\\xaesj.exe");   /* right-to-left override */
    assert_issue(&r, "special-file", "package/bad\\xffutf8");               /* invalid UTF-8 */
    assert_issue(&r, "special-file", "package/back\\x5cslash");             /* so escapes stay unambiguous */
    assert_issue(&r, "special-file", "package/ok-\xc3\xa9");                /* valid UTF-8 kept */
    finish(&r);
}

static void default_limits_are_the_documented_ones(void **state)
{
    (void)state;
    struct unpack_limits l;
    unpack_limits_default(&l);
    assert_int_equal(l.max_entries, 99999);
    assert_int_equal(l.max_total_bytes, 512ull << 20);
    assert_int_equal(l.max_file_bytes, 256ull << 20);
    assert_int_equal(l.max_path_len, 1024);
    assert_int_equal(l.max_depth, 64);
}

/* ---- refusals ---------------------------------------------------------------------------- */

static void too_many_entries_is_a_tar_bomb(void **state)
{
    struct run r;
    unpack_fixture(*state, "many-entries.tgz", &r, NULL);
    assert_refused(&r, "tar-bomb");
    assert_non_null(strstr(r.err.msg, "99999 entries"));
    assert_non_null(strstr(r.err.msg, "--max-entries"));
    finish(&r);
}

static void huge_size_claim_is_refused_before_writing(void **state)
{
    struct run r;
    unpack_fixture(*state, "huge-size.tgz", &r, NULL);
    assert_refused(&r, "tar-bomb");
    assert_non_null(strstr(r.err.msg, "10 GiB"));
    assert_non_null(strstr(r.err.msg, "--max-file-bytes"));
    assert_int_equal(r.res.bytes, 0);
    assert_absent(&r, "huge.bin");
    finish(&r);
}

static void huge_sparse_claim_is_refused_before_writing(void **state)
{
    struct run r;
    unpack_fixture(*state, "huge-sparse.tgz", &r, NULL);
    assert_refused(&r, "tar-bomb");
    assert_non_null(strstr(r.err.msg, "10 GiB"));
    assert_absent(&r, "sparse.bin");
    finish(&r);
}

static void total_size_limit_is_enforced(void **state)
{
    struct run r;
    struct unpack_limits lim;
    unpack_limits_default(&lim);
    lim.max_total_bytes = 50;
    unpack_fixture(*state, "benign.tgz", &r, &lim);
    assert_refused(&r, "tar-bomb");
    assert_non_null(strstr(r.err.msg, "--max-total-bytes"));
    finish(&r);
    unpack_limits_default(&lim);
    lim.max_file_bytes = 30;   /* package.json is 36 bytes */
    unpack_fixture(*state, "benign.tgz", &r, &lim);
    assert_refused(&r, "tar-bomb");
    assert_non_null(strstr(r.err.msg, "package/package.json"));
    finish(&r);
}

static void large_headers_are_a_tar_bomb(void **state)
{
    struct run r;
    unpack_fixture(*state, "header-bomb.tgz", &r, NULL);
    assert_refused(&r, "tar-bomb");
    assert_non_null(strstr(r.err.msg, "of headers"));
    finish(&r);
}

static void double_gzip_is_refused(void **state)
{
    struct run r;
    unpack_fixture(*state, "double-gzip.tgz", &r, NULL);
    assert_refused(&r, "bad-tarball");
    assert_non_null(strstr(r.err.msg, "more than once"));
    assert_int_equal(r.res.files, 0);
    finish(&r);
}

static void truncated_tar_is_refused(void **state)
{
    struct run r;
    unpack_fixture(*state, "truncated-tar.tgz", &r, NULL);
    assert_refused(&r, "bad-tarball");
    assert_non_null(strstr(r.err.msg, "re-download"));
    finish(&r);
}

static void truncated_gzip_is_refused(void **state)
{
    struct run r;
    unpack_fixture(*state, "truncated-gzip.tgz", &r, NULL);
    assert_refused(&r, "bad-tarball");
    finish(&r);
}

static void bad_gzip_is_refused(void **state)
{
    struct run r;
    unpack_fixture(*state, "bad-gzip.tgz", &r, NULL);
    assert_refused(&r, "bad-tarball");
    assert_int_equal(r.res.files, 0);
    finish(&r);
}

static void zip_is_refused(void **state)
{
    struct run r;
    unpack_fixture(*state, "not-tar.zip", &r, NULL);
    assert_refused(&r, "bad-tarball");
    assert_int_equal(r.res.files, 0);
    finish(&r);
}

/* ---- npm agreement ----------------------------------------------------------------------- */

static int write_text(const char *dir, const char *name, const char *text)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

static void integrity_matches_npm_pack(void **state)
{
    const char *npm_argv[] = {"npm", "--version", NULL};
    struct tu_run probe;
    if (tu_run(npm_argv, &probe) != 0 || probe.status != 0) {
        tu_run_free(&probe);
        print_message("# npm not found: cannot compare with npm pack\n");
        skip();
    }
    tu_run_free(&probe);

    char *tmp = tu_mkdtemp();
    assert_non_null(tmp);
    char pkg[2048], out[2048], cache[2048], cache_env[2100], tgz[4200];
    snprintf(pkg, sizeof pkg, "%s/pkg", tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    snprintf(cache_env, sizeof cache_env, "npm_config_cache=%s", cache);
    assert_int_equal(mkdir(pkg, 0755), 0);
    assert_int_equal(mkdir(out, 0755), 0);
    assert_int_equal(write_text(pkg, "package.json",
                                "{\"name\":\"sb-fixture\",\"version\":\"1.2.3\",\"bin\":\"cli.js\"}\n"), 0);
    assert_int_equal(write_text(pkg, "index.js", "module.exports = 'fixture';\n"), 0);
    assert_int_equal(write_text(pkg, "cli.js", "#!/usr/bin/env node\n"), 0);
    const char *argv[] = {"env", cache_env, "npm_config_update_notifier=false", "npm_config_fund=false",
                          "npm", "pack", "--json", "--offline", "--pack-destination", out, pkg, NULL};
    struct tu_run res;
    assert_int_equal(tu_run(argv, &res), 0);
    if (res.status != 0) fail_msg("npm pack failed: %s", res.err);
    cJSON *json = cJSON_Parse(res.out);
    tu_run_free(&res);
    assert_non_null(json);
    const cJSON *first = cJSON_GetArrayItem(json, 0);
    const char *want = cJSON_GetStringValue(cJSON_GetObjectItem(first, "integrity"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(first, "filename"));
    assert_non_null(want);
    assert_non_null(name);
    snprintf(tgz, sizeof tgz, "%s/%s", out, name);

    char got[128];
    struct sb_error err = {0};
    assert_int_equal(unpack_file_integrity(tgz, got, &err), 0);
    assert_string_equal(got, want);

    struct run r;
    prepare(*state, &r);
    unpack_path(tgz, &r, NULL);
    assert_unpacked(&r);
    assert_string_equal(r.res.integrity, want);
    assert_string_equal(r.res.top_folder, "package");
    assert_int_equal(r.res.nissues, 0);
    assert_file(&r, "index.js", "module.exports = 'fixture';\n", 0644);
    assert_file(&r, "cli.js", NULL, 0755);   /* npm marks bins executable */
    assert_file(&r, "package.json", NULL, 0644);
    finish(&r);
    cJSON_Delete(json);
    tu_rm_rf(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(benign_unpacks_with_safe_modes),
        cmocka_unit_test(plain_tar_is_read_too),
        cmocka_unit_test(integrity_is_of_the_whole_file),
        cmocka_unit_test(custom_top_folder_is_stripped),
        cmocka_unit_test(other_top_folders_are_reported),
        cmocka_unit_test(dot_dot_is_skipped),
        cmocka_unit_test(absolute_path_is_skipped),
        cmocka_unit_test(bad_long_and_deep_names_are_skipped),
        cmocka_unit_test(colliding_names_are_skipped),
        cmocka_unit_test(symlink_leaving_the_package_is_skipped),
        cmocka_unit_test(symlink_to_etc_is_skipped),
        cmocka_unit_test(writes_never_follow_links_from_earlier_entries),
        cmocka_unit_test(writes_never_follow_planted_links),
        cmocka_unit_test(hardlinks_are_skipped),
        cmocka_unit_test(devices_are_skipped),
        cmocka_unit_test(fifos_are_skipped),
        cmocka_unit_test(setid_bits_are_stripped),
        cmocka_unit_test(issues_are_bounded_per_kind),
        cmocka_unit_test(names_are_escaped_for_display),
        cmocka_unit_test(default_limits_are_the_documented_ones),
        cmocka_unit_test(too_many_entries_is_a_tar_bomb),
        cmocka_unit_test(huge_size_claim_is_refused_before_writing),
        cmocka_unit_test(huge_sparse_claim_is_refused_before_writing),
        cmocka_unit_test(total_size_limit_is_enforced),
        cmocka_unit_test(large_headers_are_a_tar_bomb),
        cmocka_unit_test(double_gzip_is_refused),
        cmocka_unit_test(truncated_tar_is_refused),
        cmocka_unit_test(truncated_gzip_is_refused),
        cmocka_unit_test(bad_gzip_is_refused),
        cmocka_unit_test(zip_is_refused),
        cmocka_unit_test(integrity_matches_npm_pack),
    };
    return cmocka_run_group_tests(tests, make_fixtures, remove_fixtures);
}
