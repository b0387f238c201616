#include "workdir.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/vfs.h>
#include <linux/magic.h>

/* A RAM-backed folder is much cheaper for the ~1,400 small honeypot files each run writes (on
 * ext4, creating and deleting them measured ~120 ms of a 190 ms run): /dev/shm when it is a
 * tmpfs we can write with room for the unpacker's whole budget (1 GiB), unless TMPDIR says
 * otherwise. Containers often give /dev/shm 64 MiB: then /tmp. */
static const char *tmp_base(void)
{
    const char *t = getenv("TMPDIR");
    if (t && t[0] == '/') return t;
    struct statfs fs;
    if (statfs("/dev/shm", &fs) == 0 && fs.f_type == TMPFS_MAGIC && access("/dev/shm", W_OK | X_OK) == 0 &&
        (unsigned long long)fs.f_bavail * (unsigned long long)fs.f_bsize >= (1ULL << 30))
        return "/dev/shm";
    return "/tmp";
}

static int empty_dir(int dirfd, unsigned depth);

/* A run killed with SIGKILL cannot clean up after itself. Its work dir keeps a ".lock" that the
 * live run holds with flock(); a work dir of ours whose lock can be taken is stale: remove it. */
static void sweep_stale(const char *base)
{
    int basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (basefd < 0) return;
    DIR *d = fdopendir(basefd);
    if (!d) { close(basefd); return; }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "scriptbox.", 10) || strlen(de->d_name) != 16) continue;
        int dfd = openat(basefd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0) continue;
        struct stat st;
        int lock = openat(dfd, ".lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        bool stale = fstat(dfd, &st) == 0 && st.st_uid == geteuid() && lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0;
        if (stale && empty_dir(dfd, 0) == 0) unlinkat(basefd, de->d_name, AT_REMOVEDIR);
        if (lock >= 0) close(lock);
        close(dfd);
    }
    closedir(d);
}

/* The lock is taken under a private name and only then renamed to ".lock": a concurrent run's
 * sweep must never find an unlocked ".lock" in a live work dir (it would take it for stale). */
static int take_lock(struct workdir *w)
{
    w->lock_fd = openat(w->fd, ".lock.new", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (w->lock_fd < 0) return -1;
    if (flock(w->lock_fd, LOCK_EX | LOCK_NB) < 0) return -1;
    return renameat(w->fd, ".lock.new", w->fd, ".lock");
}

int workdir_create(struct workdir *w, struct sb_error *err)
{
    sweep_stale(tmp_base());
    if (!getenv("TMPDIR")) {   /* an earlier run may have chosen the other default */
        sweep_stale("/tmp");
        sweep_stale("/dev/shm");
    }
    int n = snprintf(w->path, sizeof w->path, "%s/scriptbox.XXXXXX", tmp_base());
    if (n < 0 || (size_t)n >= sizeof w->path)
        return sb_fail(err, SB_EXIT_SANDBOX, "workdir", ENAMETOOLONG, "TMPDIR is too long; fix: set TMPDIR to a short path");
    if (!mkdtemp(w->path))
        return sb_fail(err, SB_EXIT_SANDBOX, "workdir", errno, "cannot create a work folder in %s: %s; fix: make TMPDIR point to a writable folder",
                       tmp_base(), strerror(errno));
    /* Traversable but not listable: the sandbox reads its seeds from here under another uid. */
    chmod(w->path, 0711);
    w->fd = open(w->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (w->fd < 0) {
        int e = errno;
        rmdir(w->path);
        return sb_fail(err, SB_EXIT_SANDBOX, "workdir", e, "cannot open work folder %s: %s", w->path, strerror(e));
    }
    if (take_lock(w) < 0) {
        int e = errno;
        workdir_remove(w, err);
        return sb_fail(err, SB_EXIT_SANDBOX, "workdir", e, "cannot lock work folder %s: %s", w->path, strerror(e));
    }
    return 0;
}

int workdir_mkdirs(const struct workdir *w, const char *rel, struct sb_error *err)
{
    char part[4096];
    int dfd = dup(w->fd);
    if (dfd < 0) return sb_fail(err, SB_EXIT_SANDBOX, "workdir", errno, "dup: %s", strerror(errno));
    const char *p = rel;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || len >= sizeof part) { p += len + (slash != NULL); continue; }
        memcpy(part, p, len);
        part[len] = 0;
        if (!strcmp(part, "..") || !strcmp(part, ".")) {
            close(dfd);
            return sb_fail(err, SB_EXIT_INPUT, "bad-path", EINVAL, "refusing path component '%s' in %s", part, rel);
        }
        if (mkdirat(dfd, part, 0755) < 0 && errno != EEXIST) {
            int e = errno;
            close(dfd);
            return sb_fail(err, SB_EXIT_SANDBOX, "workdir", e, "mkdir %s: %s", rel, strerror(e));
        }
        int next = openat(dfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(dfd);
        if (next < 0) return sb_fail(err, SB_EXIT_SANDBOX, "workdir", e, "open %s: %s", rel, strerror(e));
        dfd = next;
        p += len + (slash != NULL);
    }
    return dfd;
}

/* Remove everything inside dirfd, depth first, never following links. */
static int empty_dir(int dirfd, unsigned depth)
{
    if (depth > 256) return -1;
    int dup_fd = dup(dirfd);
    if (dup_fd < 0) return -1;
    DIR *d = fdopendir(dup_fd);
    if (!d) { close(dup_fd); return -1; }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (unlinkat(dirfd, de->d_name, 0) == 0) continue;
        if (errno != EISDIR && errno != EPERM) { rc = -1; continue; }
        int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) { rc = -1; continue; }
        /* Folders the package made unwritable must still go. */
        fchmod(sub, 0700);
        if (empty_dir(sub, depth + 1) < 0) rc = -1;
        close(sub);
        if (unlinkat(dirfd, de->d_name, AT_REMOVEDIR) < 0) rc = -1;
    }
    closedir(d);
    return rc;
}

int workdir_remove(struct workdir *w, struct sb_error *err)
{
    if (w->fd < 0 || !w->path[0]) return 0;
    int rc = empty_dir(w->fd, 0);
    close(w->fd);
    w->fd = -1;
    if (w->lock_fd >= 0) close(w->lock_fd);
    w->lock_fd = -1;
    if (rmdir(w->path) < 0) rc = -1;
    if (rc < 0) return sb_fail(err, SB_EXIT_SANDBOX, "workdir", errno, "could not remove work folder %s completely", w->path);
    w->path[0] = 0;
    return 0;
}
