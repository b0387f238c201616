/*
 * notify_fastopen.c — the common open performed in the supervisor's own thread, without the
 * proxy round trip (see docs/ARCHITECTURE.md, "Supervisor").
 *
 * Served here, and only here, when every one of these holds (anything else: DECLINE, and the
 * proxy performs the call exactly as before):
 *   - a plain open/openat (not openat2, whose resolve flags the target chose), with an absolute
 *     path, no O_CREAT/O_TMPFILE (creating opens need the target's umask, which is per process:
 *     changing ours would race the host program's other threads), no unknown flag bits (with
 *     O_PATH only O_DIRECTORY and O_NOFOLLOW count, as for openat);
 *   - no ".." component, and the path (slashes and "." folded) is not /proc, /dev or /sys nor
 *     below them: procfs is the one filesystem whose contents depend on the opener's namespaces
 *     and pid, and /dev holds the device nodes (the other mounts are nodev). Except /dev/null,
 *     zero, full, random and urandom, served only when the node reached is that memory device;
 *   - the walk meets no symlink: openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS) from an O_PATH
 *     descriptor of the target's root. So the walk visits exactly the folded path's prefixes,
 *     none of them in /proc or /dev, and ".." cannot leave the root. A symlink anywhere fails
 *     with ELOOP; then (unless O_NOFOLLOW) the walk is made again following symlinks to an
 *     O_PATH descriptor only, served when that is a regular file, directory or FIFO outside
 *     procfs, sysfs and cgroupfs (reopened through /proc/self/fd), and any failure of that
 *     second walk declines (the proxy resolves it as the target would, /proc included);
 *   - the target's root is the root we hold: checked once, when this path is set up (mount id
 *     and inode of /proc/TID/root). It cannot change afterwards: every notifying task descends
 *     from the sandbox's init after its pivot_root, and chroot, pivot_root, setns and the mount
 *     calls are denied to all of them by the filter;
 *   - the result is not on procfs, sysfs or cgroupfs, nor a device or socket (defence in
 *     depth: none of these is reachable given the rules above).
 * Errors are answered as they are only when they say something about the file itself (ENOENT,
 * ENOTDIR, EACCES, EISDIR, ENXIO, ETXTBSY, EROFS, ENAMETOOLONG); any other declines.
 *
 * Identity: for the duration of the call this thread takes the target's host-side effective
 * and fs uid/gid and its supplementary groups with raw syscalls (glibc's wrappers would apply
 * them to every thread), and an empty effective capability set. The real and saved uids stay
 * ours, so the thread can go back (and no process of the target's uid may signal it). The new
 * file's f_cred is therefore the target's uid/gid/groups with no effective capability — what
 * later permission checks on the open file see. Rootless the supervisor already is the target
 * (same uid, gid and groups, no capability in the host namespace): nothing is switched. Any
 * difference we cannot switch disables this path (everything goes to the proxy). A failure to
 * switch back aborts: the supervisor must never go on with the target's identity.
 *
 * Kept identity: with f->keep set by the caller, the thread stays the target after the call,
 * and the next call skips the switch (four credential commits, a third of the supervisor's
 * time per open as root). The caller must settle (sbx_fastopen_settle) before it does anything
 * that is not answering another plain open: notify.c keeps it only across its open-only
 * "fast lane" and the poll that waits for the next call (sbx_pump). While kept, the thread's
 * effective and fs ids are the target's and the real and saved uid ours.
 *
 * Side effects of changing the euid (commit_creds): the process becomes non-dumpable and the
 * thread's parent-death signal is cleared; both are put back after the call, to what the host
 * program had set when this path was set up (read once: they are the host program's, which
 * does not change them while it supervises).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/securebits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "decode.h"

#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef SYSFS_MAGIC
#define SYSFS_MAGIC 0x62656572
#endif
#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

#define KERNEL_O_LARGEFILE 0100000
#define KERNEL_O_TMPFILE_BIT 020000000
/* What open(2) knows on x86_64; other bits are ignored by openat but refused by openat2. */
#define KNOWN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | \
                     O_DSYNC | O_ASYNC | O_DIRECT | KERNEL_O_LARGEFILE | O_DIRECTORY |           \
                     O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH | O_SYNC | __O_TMPFILE)

/* Does this (folded, absolute) path name dir or something below it? */
static int under(const char *path, const char *dir)
{
    size_t l = strlen(dir);
    return strncmp(path, dir, l) == 0 && (path[l] == 0 || path[l] == '/');
}

static int has_dotdot(const char *p)
{
    for (const char *c = p; (c = strstr(c, "..")) != NULL; c += 2)
        if ((c == p || c[-1] == '/') && (c[2] == 0 || c[2] == '/')) return 1;
    return 0;
}

/* /dev/null and its kin: character devices whose open does nothing and whose behaviour does
 * not depend on the opener's namespaces. Every child process of node opens /dev/null. Served
 * only when the node reached is that very device (major 1, these minors: served_type). */
static const char *const memory_device_paths[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                                                  "/dev/urandom"};

static int is_memory_device_path(const char *folded)
{
    for (size_t i = 0; i < sizeof memory_device_paths / sizeof *memory_device_paths; i++)
        if (!strcmp(folded, memory_device_paths[i])) return 1;
    return 0;
}

static int is_memory_device(const struct stat *st)
{
    unsigned mi = minor(st->st_rdev);
    return S_ISCHR(st->st_mode) && major(st->st_rdev) == 1 && (mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9);
}

static int outside_special(const char *folded)
{
    if (is_memory_device_path(folded)) return 1;
    return !under(folded, "/proc") && !under(folded, "/dev") && !under(folded, "/sys");
}

/* The call may be served here; folded (SBX_PATH_MAX) receives its path, slashes and "." folded. */
static int eligible(const struct sbx_proxy_call *c, char *folded)
{
    if (c->op != SBX_PROXY_OPEN || c->openat2 || c->dirfd >= 0 || !c->path || c->path[0] != '/')
        return 0;
    if (c->flags & ~(uint64_t)KNOWN_FLAGS) return 0;
    /* (glibc's __O_TMPFILE includes O_DIRECTORY: test the tmpfile bit alone) */
    if (c->flags & (O_CREAT | KERNEL_O_TMPFILE_BIT)) return 0;
    if (has_dotdot(c->path)) return 0;   /* (a mode without O_CREAT is ignored: we pass 0) */
    if (strlen(c->path) >= SBX_PATH_MAX) return 0;
    strcpy(folded, c->path);
    sbx_path_fold(folded);
    return outside_special(folded);
}

/*
 * The sandbox's root is a read-only tmpfs we built: its own links (/bin, /lib, /lib64 and /sbin
 * -> usr/..., usr-merge) are fixed for the run, so following one is a textual rewrite, done
 * here, and the rest of the walk can still refuse symlinks (and so still answer ENOENT, which
 * ld.so's library search meets often). Read once, at set-up.
 */
static const char *const root_link_names[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};

static void read_root_links(struct sbx_fastopen *f)
{
    f->nlinks = 0;
    for (size_t i = 0; i < sizeof root_link_names / sizeof *root_link_names; i++) {
        char t[sizeof f->links[0].target];
        ssize_t n = readlinkat(f->rootfd, root_link_names[i], t, sizeof t - 1);
        if (n <= 0) continue;
        t[n] = 0;
        if (strstr(t, "..") || strchr(t, '\n')) continue;   /* only plain targets below the root */
        snprintf(f->links[f->nlinks].name, sizeof f->links[0].name, "%s", root_link_names[i]);
        int w = snprintf(f->links[f->nlinks].target, sizeof f->links[0].target, "%s%s",
                         t[0] == '/' ? "" : "/", t);
        if (w > 0 && (size_t)w < sizeof f->links[0].target) f->nlinks++;
    }
}

/* /lib/x -> /usr/lib/x when "lib" is one of the root's links. 1 when rewritten (and still
 * outside /proc, /dev, /sys), 0 when not a root link, -1 when the result may not be served. */
static int through_root_link(const struct sbx_fastopen *f, char *folded)
{
    for (int i = 0; i < f->nlinks; i++) {
        size_t l = strlen(f->links[i].name);
        if (strncmp(folded + 1, f->links[i].name, l) || (folded[1 + l] && folded[1 + l] != '/')) continue;
        char out[SBX_PATH_MAX];
        int w = snprintf(out, sizeof out, "%s%s", f->links[i].target, folded + 1 + l);
        if (w < 0 || (size_t)w >= sizeof out) return -1;
        sbx_path_fold(out);
        if (!outside_special(out)) return -1;
        strcpy(folded, out);
        return 1;
    }
    return 0;
}

/* ---- identity ---- */

static long raw(long nr, long a, long b, long c)
{
    return syscall(nr, a, b, c);
}

static int caps_get(struct __user_cap_data_struct d[2])
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    return (int)syscall(SYS_capget, &h, d);
}

static int caps_set(const struct __user_cap_data_struct d[2])
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    return (int)syscall(SYS_capset, &h, d);
}

/* The 4th (fs) id of a "Uid:" / "Gid:" status line, host view. */
static long status_fsid(const char *status, const char *key)
{
    const char *p = strstr(status, key);
    if (!p) return -1;
    p += strlen(key);
    long v = -1;
    for (int i = 0; i < 4; i++) {
        char *end;
        v = strtol(p, &end, 10);
        if (end == p) return -1;
        p = end;
    }
    return v;
}

static int status_groups(const char *status, gid_t *out, int cap)
{
    const char *p = strstr(status, "\nGroups:");
    int n = 0;
    if (!p) return -1;
    p += 8;
    for (;;) {
        char *end;
        long g = strtol(p, &end, 10);
        if (end == p) break;
        if (n == cap) return -1;
        out[n++] = (gid_t)g;
        p = end;
    }
    return n;
}

static int same_groups(const gid_t *a, int na, const gid_t *b, int nb)
{
    if (na != nb) return 0;
    for (int i = 0; i < na; i++) {
        int found = 0;
        for (int j = 0; j < nb && !found; j++) found = a[i] == b[j];
        if (!found) return 0;
    }
    return 1;
}

static int root_id(pid_t tid, uint64_t *mnt, uint64_t *ino)
{
    char path[64];
    struct statx sx;
    snprintf(path, sizeof path, "/proc/%d/root", (int)tid);
    if (statx(AT_FDCWD, path, AT_STATX_DONT_SYNC, STATX_INO | STATX_MNT_ID, &sx) < 0) return -1;
    if (!(sx.stx_mask & STATX_MNT_ID)) return -1;
    *mnt = sx.stx_mnt_id;
    *ino = sx.stx_ino;
    return 0;
}

/*
 * The mount table the target sees, once: procfs, sysfs and cgroupfs only at or below /proc and
 * /sys, and every mount but /dev's and those nodev. Then a first walk (no symlink, no "..",
 * not below /proc, /dev or /sys) can only reach regular files, directories, FIFOs and sockets
 * (whose open fails), and the per-open type check (two syscalls) is skipped for it. Any doubt,
 * unreadable or unexpected, keeps the check.
 */
static int under_any(const char *mp, const char *const *dirs)
{
    for (; *dirs; dirs++)
        if (under(mp, *dirs)) return 1;
    return 0;
}

static int mount_line_plain(char *line)
{
    static const char *const pseudo_dirs[] = {"/proc", "/sys", NULL}, *const dev_dirs[] = {"/dev", NULL};
    char *f[6] = {0}, *save = NULL, *sep = strstr(line, " - ");
    if (!sep) return 0;
    *sep = 0;
    char *fstype = strtok_r(sep + 3, " ", &save);
    save = NULL;
    int n = 0;
    for (char *t = strtok_r(line, " ", &save); t && n < 6; t = strtok_r(NULL, " ", &save)) f[n++] = t;
    if (n < 6 || !fstype || strchr(f[4], '\\')) return 0;   /* escaped mount point: not ours */
    const char *mp = f[4], *opts = f[5];
    if ((!strcmp(fstype, "proc") || !strcmp(fstype, "sysfs") || !strncmp(fstype, "cgroup", 6)) &&
        !under_any(mp, pseudo_dirs))
        return 0;
    if (!under_any(mp, dev_dirs) && !under_any(mp, pseudo_dirs) && !strstr(opts, "nodev")) return 0;
    return 1;
}

static int layout_is_plain(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mountinfo", (int)tid);
    FILE *m = fopen(path, "re");
    if (!m) return 0;
    char line[4096];
    int plain = 1, lines = 0;
    while (plain && fgets(line, sizeof line, m)) {
        lines++;
        plain = strchr(line, '\n') && mount_line_plain(line);
    }
    fclose(m);
    return plain && lines > 0;
}

/* First use: the target's root and identity, ours, and whether we must switch. 0, or -1 to
 * decline this call (a later one tries again), or disables the path for good (state -1). */
static int setup(struct sbx_fastopen *f, pid_t tid)
{
    char path[64], status[4096];
    if (!sbx_proc_status_field((int)tid, "Uid:", status, sizeof status)) return -1;
    long uid = status_fsid(status, "\nUid:"), gid = status_fsid(status, "\nGid:");
    int ng = status_groups(status, f->groups, SBX_FASTOPEN_GROUPS);
    if (uid < 0 || gid < 0 || ng < 0) return -1;
    uint64_t mnt, ino;
    if (root_id(tid, &mnt, &ino) < 0) return -1;
    snprintf(path, sizeof path, "/proc/%d/root", (int)tid);
    int rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) return -1;
    struct statx sx;
    if (statx(rootfd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO | STATX_MNT_ID, &sx) < 0 ||
        !(sx.stx_mask & STATX_MNT_ID) || sx.stx_mnt_id != mnt || sx.stx_ino != ino) {
        close(rootfd);
        return -1;
    }
    f->uid = (uid_t)uid;
    f->gid = (gid_t)gid;
    f->ngroups = ng;

    /* ours */
    uid_t r, e, s;
    gid_t rg, eg, sg;
    f->state = -1;   /* until proven workable */
    if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0) goto off;
    f->my_ngroups = getgroups(SBX_FASTOPEN_GROUPS, f->my_groups);
    if (f->my_ngroups < 0 || caps_get(f->caps) < 0) goto off;
    if ((uid_t)raw(SYS_setfsuid, -1, 0, 0) != e || (gid_t)raw(SYS_setfsgid, -1, 0, 0) != eg)
        goto off;   /* fs ids apart from the effective ones: not a state we restore */
    f->my_euid = e;
    f->my_egid = eg;
    int caps_empty = f->caps[0].effective == 0 && f->caps[1].effective == 0;
    f->switch_groups = !same_groups(f->groups, ng, f->my_groups, f->my_ngroups);
    f->switch_ids = e != f->uid || eg != f->gid || f->switch_groups;
    /* euid back to 0 makes the effective set the permitted one: exact when they were equal */
    f->caps_full = f->caps[0].effective == f->caps[0].permitted &&
                   f->caps[1].effective == f->caps[1].permitted;
    f->switch_caps = !caps_empty;
    if (f->switch_ids) {
        /* We must be able to come back: euid from the real or saved uid (which stay), egid and
         * groups with CAP_SETGID, which we hold again once the euid is back. */
        if (r != e && s != e) goto off;
        if (!(f->caps[0].effective & (1u << CAP_SETGID))) goto off;
    }
    if (prctl(PR_GET_PDEATHSIG, &f->pdeath, 0, 0, 0) < 0) f->pdeath = 0;
    f->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    int bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
    f->fixup_clears_caps = e == 0 && f->uid != 0 && bits >= 0 && !(bits & SECBIT_NO_SETUID_FIXUP);
    f->layout_checked = layout_is_plain(tid);
    f->rootfd = rootfd;
    read_root_links(f);
    f->state = 1;
    return 0;
off:
    close(rootfd);
    return -1;
}

static void die(const char *what)
{
    fprintf(stderr, "libsbx: cannot restore the supervisor's identity (%s): %s\n", what,
            strerror(errno));
    abort();
}

static int caps_effective(void)
{
    struct __user_cap_data_struct now[2];
    return caps_get(now) < 0 || now[0].effective || now[1].effective;
}

/* Become the target (as far as a permission check can tell). 0, or -1 with nothing changed.
 * Changing the euid away from 0 clears the effective set (the kernel's setuid fixup); we check
 * it did, and clear it ourselves otherwise. */
static int become(struct sbx_fastopen *f)
{
    if (f->switched) return 0;
    f->capset_done = 0;
    if (f->switch_ids) {
        if (f->switch_groups && raw(SYS_setgroups, f->ngroups, (long)f->groups, 0) < 0) return -1;
        if (raw(SYS_setresgid, -1, f->gid, -1) < 0) {
            if (f->switch_groups && raw(SYS_setgroups, f->my_ngroups, (long)f->my_groups, 0) < 0)
                die("groups");
            return -1;
        }
        if (raw(SYS_setresuid, -1, f->uid, -1) < 0) {
            if (raw(SYS_setresgid, -1, f->my_egid, -1) < 0) die("gid");
            if (f->switch_groups && raw(SYS_setgroups, f->my_ngroups, (long)f->my_groups, 0) < 0)
                die("groups");
            return -1;
        }
    }
    /* When the kernel's setuid fixup empties the effective set (euid 0 -> other, no
     * SECBIT_NO_SETUID_FIXUP: checked at set-up), asking again is a syscall per open for nothing. */
    if ((f->switch_caps || f->switch_ids) && !(f->switch_ids && f->fixup_clears_caps) && caps_effective()) {
        struct __user_cap_data_struct none[2];
        memcpy(none, f->caps, sizeof none);
        none[0].effective = none[1].effective = 0;
        f->capset_done = 1;
        if (caps_set(none) < 0 || caps_effective()) die("capabilities");   /* never weaker */
    }
    f->switched = f->switch_ids || f->capset_done;
    return 0;
}

static void restore(struct sbx_fastopen *f)
{
    if (f->switch_ids && raw(SYS_setresuid, -1, f->my_euid, -1) < 0) die("uid");
    if (f->capset_done || (f->switch_ids && !f->caps_full)) {
        if (caps_set(f->caps) < 0) die("capabilities");
    }
    if (f->switch_ids) {
        if (raw(SYS_setresgid, -1, f->my_egid, -1) < 0) die("gid");
        if (f->switch_groups && raw(SYS_setgroups, f->my_ngroups, (long)f->my_groups, 0) < 0)
            die("groups");
        if (f->dumpable == 1) (void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        if (f->pdeath > 0) (void)prctl(PR_SET_PDEATHSIG, f->pdeath, 0, 0, 0);
    }
    f->switched = 0;
}

void sbx_fastopen_settle(struct sbx_fastopen *f)
{
    if (f->switched) restore(f);
}

/* ---- the open ---- */

static int open_once(int root, const char *path, uint64_t flags)
{
    struct open_how how = {flags, 0, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, root, path, &how, sizeof how);
}

static int authoritative(int e)
{
    return e == ENOENT || e == ENOTDIR || e == EACCES || e == EISDIR || e == ENXIO ||
           e == ETXTBSY || e == EROFS || e == ENAMETOOLONG;
}

static int served_type(int fd)
{
    struct statfs sf;
    struct stat st;
    if (fstatfs(fd, &sf) < 0 || fstat(fd, &st) < 0) return 0;
    if (sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC ||
        sf.f_type == CGROUP_SUPER_MAGIC || sf.f_type == CGROUP2_SUPER_MAGIC)
        return 0;
    if (is_memory_device(&st)) return 1;
    return !S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISSOCK(st.st_mode);
}

/* openat2 as open_once, or for a path with symlinks the reopen below; the FIFO writer retry. */
static int open_nonblocking(int (*how)(struct sbx_fastopen *, const char *, uint64_t),
                            struct sbx_fastopen *f, const struct sbx_proxy_call *c, const char *path,
                            uint64_t flags)
{
    int fd = how(f, path, flags);
    if (fd < 0 && errno == ENXIO && !(c->flags & O_NONBLOCK) && (c->flags & O_ACCMODE) == O_WRONLY)
        fd = how(f, path, (flags & ~(uint64_t)O_ACCMODE) | O_RDWR);
    return fd;
}

static int open_plain(struct sbx_fastopen *f, const char *path, uint64_t flags)
{
    return open_once(f->rootfd, path, flags);
}

/*
 * The walk met a symlink (ELOOP): /bin, /lib and every library's SONAME link are symlinks, so
 * most of a dynamic executable's opens do. Follow them as the target's own lookup would
 * (RESOLVE_IN_ROOT; magic links still refused) to an O_PATH descriptor, which runs no driver
 * or filesystem open code, and serve the call only when that lands on a regular file,
 * directory or FIFO outside procfs, sysfs and cgroupfs; the file is then reopened with the
 * caller's flags through our /proc/self/fd (permissions checked again, as the target). A
 * symlink may lead through /proc, which resolves differently for us than for the target, so
 * nothing here is answered as an error: any failure goes to the proxy.
 */
static int open_following(struct sbx_fastopen *f, const char *path, uint64_t flags)
{
    struct open_how how = {O_PATH | O_CLOEXEC | (flags & O_DIRECTORY), 0,
                           RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int at = (int)syscall(SYS_openat2, f->rootfd, path, &how, sizeof how);
    if (at < 0) return -1;
    int fd = -1;
    if (served_type(at)) {
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", at);
        fd = open(self, (int)flags);
    }
    int e = errno;
    close(at);
    errno = e;
    return fd;
}

int sbx_fastopen_try(struct sbx_fastopen *f, pid_t tid, const struct sbx_proxy_call *c, char *opened,
                     size_t cap)
{
    char path[SBX_PATH_MAX];
    if (opened && cap) opened[0] = 0;
    if (f->state < 0 || !eligible(c, path)) return SBX_FASTOPEN_DECLINE;
    if (f->state == 0 && setup(f, tid) < 0) return SBX_FASTOPEN_DECLINE;
    if (f->state != 1) return SBX_FASTOPEN_DECLINE;
    /* O_NOFOLLOW|O_PATH on the link itself ("/lib") must open the link: no rewrite then */
    int rewritten = path[1] && !((c->flags & O_NOFOLLOW) && !strchr(path + 1, '/'))
                        ? through_root_link(f, path) : 0;
    if (rewritten < 0) return SBX_FASTOPEN_DECLINE;
    /* As the proxy: never block (a FIFO's peer), O_NONBLOCK put back after; never become
     * anyone's controlling terminal (O_NOCTTY is not kept in the file's flags). */
    uint64_t flags = c->flags | O_CLOEXEC | O_NOCTTY;
    if (!(c->flags & O_DIRECTORY)) flags |= O_NONBLOCK;   /* a directory is never a FIFO */
    /* O_PATH runs no open code; openat ignores the other flags with it, openat2 refuses them */
    if (flags & O_PATH) flags = (c->flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW)) | O_CLOEXEC;
    if (become(f) < 0) return SBX_FASTOPEN_DECLINE;
    int fd = open_nonblocking(open_plain, f, c, path, flags);
    int e = errno, followed = 0;
    if (fd < 0 && e == ELOOP && !(c->flags & O_NOFOLLOW)) {
        followed = 1;
        fd = open_nonblocking(open_following, f, c, path, flags);
    }
    if (!f->keep) sbx_fastopen_settle(f);
    if (fd < 0) {
        if (e == ENOSYS) f->state = -1;
        return !followed && authoritative(e) ? -e : SBX_FASTOPEN_DECLINE;
    }
    int checked = !followed && f->layout_checked && !under(path, "/dev");   /* see layout_is_plain */
    if (!checked && !served_type(fd)) {
        close(fd);
        return SBX_FASTOPEN_DECLINE;
    }
    if (!(c->flags & (O_NONBLOCK | O_PATH | O_DIRECTORY))) {
        /* F_SETFL replaces exactly these status flags; the others it keeps. O_ASYNC is not
         * among them (setting it here would arm SIGIO, which open(2) never does). */
        if (!(c->flags & O_ASYNC)) {
            (void)fcntl(fd, F_SETFL, (int)(c->flags & (O_APPEND | O_DIRECT | O_NOATIME)));
        } else {
            int fl = fcntl(fd, F_GETFL);
            if (fl >= 0) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        }
    }
    if (!followed && opened && strlen(path) < cap) strcpy(opened, path);
    return fd;
}

void sbx_fastopen_free(struct sbx_fastopen *f)
{
    sbx_fastopen_settle(f);
    if (f->rootfd >= 0) close(f->rootfd);
    f->rootfd = -1;
    f->state = 0;
}
