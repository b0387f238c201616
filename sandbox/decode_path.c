/*
 * decode_path.c — the target's paths as the target sees them.
 *
 * The target lives in its own mount namespace after pivot_root. readlink of /proc/PID/cwd and
 * /proc/PID/fd/N from the host renders the path relative to the target's own root, because the
 * kernel walks up from the dentry to the root of the target's mount tree (which the host
 * cannot reach) and stops there: the result is the path *inside* the sandbox, with no
 * /proc/PID/root prefix to strip. (Verified by tests/unit/test_seccomp.c in a private mount
 * namespace; the sandbox suites cover the full pivot_root case.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"

static ssize_t read_link(const char *link, char *out, size_t cap)
{
    ssize_t n = readlink(link, out, cap - 1);
    if (n < 0) return -1;
    out[n] = 0;
    return n;
}

ssize_t sbx_path_cwd(pid_t pid, char *out, size_t cap)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/%d/cwd", (int)pid);
    return read_link(link, out, cap);
}

ssize_t sbx_path_fd(pid_t pid, int fd, char *out, size_t cap)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)pid, fd);
    return read_link(link, out, cap);
}

/* Fold "", "." and ".." components of an absolute path in place (lexically: the log shows
 * what was asked for; symlinks are the kernel's business). */
void sbx_path_fold(char *path)
{
    char *w = path, *r = path;
    while (*r) {
        while (*r == '/') r++;
        char *end = strchrnul(r, '/');
        size_t len = (size_t)(end - r);
        if (len == 0) break;
        if (len == 1 && r[0] == '.') {
            /* skip */
        } else if (len == 2 && r[0] == '.' && r[1] == '.') {
            while (w > path && *--w != '/') {}
        } else {
            *w++ = '/';
            memmove(w, r, len);
            w += len;
        }
        r = end;
    }
    if (w == path) *w++ = '/';
    *w = 0;
}

int sbx_path_absolute(pid_t pid, int dirfd, const char *path, char *out, size_t cap,
                      int *truncated)
{
    char base[SBX_PATH_MAX];
    ssize_t blen = 0;
    if (path[0] != '/') {
        blen = dirfd == AT_FDCWD ? sbx_path_cwd(pid, base, sizeof base)
                                 : sbx_path_fd(pid, dirfd, base, sizeof base);
        if (blen < 0 || base[0] != '/') {   /* unknown base, or "pipe:[...]" and the like */
            snprintf(out, cap, "%s", path);
            return -1;
        }
    }
    int n = path[0] == '/' ? snprintf(out, cap, "%s", path)
                           : snprintf(out, cap, "%s/%s", base, path);
    if (n < 0 || (size_t)n >= cap) *truncated = 1;
    sbx_path_fold(out);
    return 0;
}

int sbx_proc_umask(pid_t pid)
{
    char buf[4096];
    const char *p = sbx_proc_status_field((int)pid, "Umask:", buf, sizeof buf);
    return p ? (int)strtol(p, NULL, 8) : -1;
}
