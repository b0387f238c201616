/* seed.c — copy a host folder into a sandbox tmpfs. Runs in init, before the payload exists.
 * Never follows a symlink (O_NOFOLLOW, *at calls relative to open folders); copies regular
 * files, folders and symlinks only; drops setuid/setgid/sticky bits. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"

#define SEED_MAX_DEPTH 128

struct linux_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

struct seed_ctx {
    const char *seed;     /* host folder, for messages */
    char rel[PATH_MAX];   /* current path relative to the seed */
    sbx_error *err;
};

static int seed_fail(struct seed_ctx *c, const char *name, const char *what, int e)
{
    if (e == EACCES || e == EPERM)
        return sbx_fail(c->err, SBX_E_SETUP, e,
                        "seed %s: %s%s%s: %s: not readable by the sandbox's uid; fix: chmod -R a+rX %s",
                        c->seed, c->rel, *c->rel ? "/" : "", name, what, c->seed);
    return sbx_fail(c->err, SBX_E_SETUP, e, "seed %s: %s%s%s: %s: %s", c->seed, c->rel,
                    *c->rel ? "/" : "", name, what, strerror(e));
}

static int copy_data(int in, int out)
{
    for (;;) {
        ssize_t n = sendfile(out, in, NULL, 1 << 30);
        if (n == 0) return 0;
        if (n > 0) continue;
        if (errno == EINTR) continue;
        if (errno != EINVAL && errno != ENOSYS) return -1;
        break;  /* fall back to read/write */
    }
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n == 0) return 0;
        if (n < 0) { if (errno == EINTR) continue; return -1; }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) { if (errno == EINTR) continue; return -1; }
            off += w;
        }
    }
}

static int copy_file(struct seed_ctx *c, int src, int dst, const char *name, mode_t mode)
{
    /* O_NONBLOCK: should the entry have turned into a FIFO since fstatat, do not hang on it. */
    int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (in < 0) return seed_fail(c, name, "open", errno);
    struct stat st;
    if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) { close(in); return 0; }
    int out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
    if (out < 0) { int e = errno; close(in); return seed_fail(c, name, "create copy", e); }
    int rc = copy_data(in, out);
    int e = errno;
    close(in);
    close(out);
    if (rc < 0) return seed_fail(c, name, e == ENOSPC ? "copy (tmpfs size cap reached)" : "copy", e);
    return 0;
}

static int copy_dir(struct seed_ctx *c, int src, int dst, int depth);

static int copy_subdir(struct seed_ctx *c, int src, int dst, const char *name, mode_t mode, int depth)
{
    if (depth >= SEED_MAX_DEPTH) return seed_fail(c, name, "folder nesting", ELOOP);
    int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0) return seed_fail(c, name, "open folder", errno);
    if (mkdirat(dst, name, (mode & 0777) | 0700) < 0) {
        int e = errno; close(s); return seed_fail(c, name, "mkdir", e);
    }
    int d = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d < 0) { int e = errno; close(s); return seed_fail(c, name, "open copy", e); }
    size_t len = strlen(c->rel);
    int rc = -1;
    if (len + strlen(name) + 2 < sizeof c->rel) {
        snprintf(c->rel + len, sizeof c->rel - len, "%s%s", len ? "/" : "", name);
        rc = copy_dir(c, s, d, depth + 1);
        c->rel[len] = 0;
    } else {
        seed_fail(c, name, "path", ENAMETOOLONG);
    }
    /* Folders are created writable for the copy; give them their own mode afterwards. */
    if (rc == 0 && fchmod(d, mode & 0777) < 0) rc = seed_fail(c, name, "chmod", errno);
    close(s);
    close(d);
    return rc;
}

static int copy_entry(struct seed_ctx *c, int src, int dst, const char *name, int depth)
{
    struct stat st;
    if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return seed_fail(c, name, "stat", errno);
    if (S_ISREG(st.st_mode)) return copy_file(c, src, dst, name, st.st_mode);
    if (S_ISDIR(st.st_mode)) return copy_subdir(c, src, dst, name, st.st_mode, depth);
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(src, name, target, sizeof target - 1);
        if (n < 0) return seed_fail(c, name, "readlink", errno);
        target[n] = 0;
        if (symlinkat(target, dst, name) < 0) return seed_fail(c, name, "symlink", errno);
        return 0;
    }
    return 0;  /* devices, FIFOs, sockets: dropped */
}

static int copy_dir(struct seed_ctx *c, int src, int dst, int depth)
{
    char buf[4096] __attribute__((aligned(8)));
    for (;;) {
        long n = syscall(SYS_getdents64, src, buf, sizeof buf);
        if (n == 0) return 0;
        if (n < 0) { if (errno == EINTR) continue; return seed_fail(c, ".", "read folder", errno); }
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            off += d->d_reclen;
            if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, "..")) continue;
            if (copy_entry(c, src, dst, d->d_name, depth) < 0) return -1;
        }
    }
}

int sbx_seed_copy(int src_dirfd, int dst_dirfd, const char *seed_name, sbx_error *err)
{
    struct seed_ctx c = {.seed = seed_name, .err = err};
    /* Read from the start even if the fd was used before. */
    lseek(src_dirfd, 0, SEEK_SET);
    return copy_dir(&c, src_dirfd, dst_dirfd, 0);
}
