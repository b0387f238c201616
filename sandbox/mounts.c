/* mounts.c — the sandbox's filesystem (docs/ARCHITECTURE.md, "Filesystem inside").
 *
 * Runs in init, in its private mount ns. The new root is a tmpfs mounted over a staging folder
 * (R, "/tmp" of the host view: only our own ns sees it). Every host source is opened O_PATH
 * first; every target inside R is reached by a walk that never follows a symlink (seed copies
 * are attacker-controlled and may hold links to host paths); mounts go through
 * /proc/self/fd/N magic links so no path is resolved twice. Then R is made read-only and we
 * pivot into it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"

#define MAX_AREAS 64
#define MiB (1024ull * 1024ull)

static const char *fdpath(int fd, char *buf)
{
    snprintf(buf, 32, "/proc/self/fd/%d", fd);
    return buf;
}

/* ---- safe walk inside the new root ------------------------------------------------------ */

enum { MK_NONE, MK_DIR, MK_FILE };

/* Open (O_PATH) `path` (absolute, inside the root open as rootfd), creating missing folders
 * (0755) and, per `make`, the last component. Never follows a symlink. *parent_out, when not
 * NULL, gets the parent folder (O_PATH) and *base the last component. Returns the fd or -1. */
static int walk(int rootfd, const char *path, int make, int *parent_out, const char **base,
                sbx_error *err)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf || path[0] != '/')
        return sbx_fail(err, SBX_E_USAGE, EINVAL, "sandbox path %s: must be absolute and short", path);
    int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) return sbx_fail(err, SBX_E_INTERNAL, errno, "dup: %s", strerror(errno));
    char *p = buf, *comp;
    while (*p == '/') p++;
    if (!*p) {  /* the root itself */
        if (parent_out) *parent_out = -1;
        return fd;
    }
    for (;;) {
        comp = p;
        char *slash = strchr(p, '/');
        if (slash) { *slash = 0; p = slash + 1; while (*p == '/') p++; }
        int last = !slash || !*p;
        if (!strcmp(comp, "..") || !strcmp(comp, ".")) {
            close(fd);
            return sbx_fail(err, SBX_E_USAGE, EINVAL, "sandbox path %s: '.' and '..' are not allowed", path);
        }
        if (last) {
            int rc = 0;
            if (make == MK_DIR && mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) rc = -1;
            if (make == MK_FILE && faccessat(fd, comp, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
                int f = openat(fd, comp, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0644);
                if (f < 0) rc = -1; else close(f);
            }
            int nfd = rc < 0 ? -1 : openat(fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
            if (nfd < 0) {
                int e = errno;
                close(fd);
                if (e == ENOENT && make == MK_NONE) { errno = ENOENT; return -1; }
                return sbx_fail(err, SBX_E_SETUP, e, "creating %s in the sandbox root: %s", path,
                                e == ELOOP ? "it is a symlink" : strerror(e));
            }
            if (parent_out) {
                *parent_out = fd;
                if (base) *base = path + (comp - buf);
            } else {
                close(fd);
            }
            return nfd;
        }
        int nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0 && errno == ENOENT) {
            if (make == MK_NONE) { close(fd); errno = ENOENT; return -1; }
            if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) nfd = -1;
            else nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        int e = errno;
        close(fd);
        if (nfd < 0)
            return sbx_fail(err, SBX_E_SETUP, e, "walking to %s in the sandbox root (at %s): %s", path,
                            comp, e == ELOOP || e == ENOTDIR ? "a component is a symlink or a file" : strerror(e));
        fd = nfd;
    }
}

/* Open what is mounted at `path` now (the top mount), O_PATH. */
static int reopen_top(int parent, const char *base)
{
    return parent < 0 ? -1 : openat(parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

/* Flags the host has on a mount and a user ns may not clear ("locked"): keep them on remount. */
static unsigned long locked_flags(int fd)
{
    struct statvfs sv;
    unsigned long f = 0;
    if (fstatvfs(fd, &sv) < 0) return 0;
    if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
    if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (!(sv.f_flag & (ST_NOATIME | ST_RELATIME))) f |= MS_STRICTATIME;
    return f;
}

/* Bind host fd `src` at `path` inside the root, then remount it with `add` flags plus whatever
 * the host mount already had. */
static int bind_at(int rootfd, int src, const char *path, unsigned long add, sbx_error *err)
{
    struct stat st;
    if (fstat(src, &st) < 0) return sbx_fail(err, SBX_E_SETUP, errno, "bind %s: stat: %s", path, strerror(errno));
    int parent = -1;
    const char *base = NULL;
    int t = walk(rootfd, path, S_ISDIR(st.st_mode) ? MK_DIR : MK_FILE, &parent, &base, err);
    if (t < 0) return -1;
    char s1[32], s2[32];
    int rc = mount(fdpath(src, s1), fdpath(t, s2), NULL, MS_BIND, NULL);
    if (rc < 0 && errno == EINVAL)  /* host mounts below it are locked to it: take them along */
        rc = mount(fdpath(src, s1), fdpath(t, s2), NULL, MS_BIND | MS_REC, NULL);
    int e = errno;
    close(t);
    if (rc < 0) {
        if (parent >= 0) close(parent);
        return sbx_fail(err, SBX_E_SETUP, e, "bind-mounting %s: %s", path, strerror(e));
    }
    int top = reopen_top(parent, base);
    if (parent >= 0) close(parent);
    if (top < 0) return sbx_fail(err, SBX_E_SETUP, errno, "reopening %s: %s", path, strerror(errno));
    unsigned long fl = MS_REMOUNT | MS_BIND | add | locked_flags(top);
    rc = mount(NULL, fdpath(top, s1), NULL, fl, NULL);
    e = errno;
    close(top);
    if (rc < 0) return sbx_fail(err, SBX_E_SETUP, e, "remounting %s read-only/nosuid: %s", path, strerror(e));
    return 0;
}

static int mount_tmpfs_at(int rootfd, const char *path, unsigned long flags, const char *opts,
                          int *top_out, sbx_error *err)
{
    int parent = -1;
    const char *base = NULL;
    int t = walk(rootfd, path, MK_DIR, &parent, &base, err);
    if (t < 0) return -1;
    char s[32];
    int rc = mount("tmpfs", fdpath(t, s), "tmpfs", flags, opts);
    int e = errno;
    close(t);
    if (rc < 0) {
        if (parent >= 0) close(parent);
        return sbx_fail(err, SBX_E_SETUP, e, "mounting a tmpfs at %s (%s): %s", path, opts, strerror(e));
    }
    if (top_out) {
        *top_out = parent < 0 ? -1 : openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (*top_out < 0) e = errno;
    }
    if (parent >= 0) close(parent);
    if (top_out && *top_out < 0) return sbx_fail(err, SBX_E_SETUP, e, "opening tmpfs %s: %s", path, strerror(e));
    return 0;
}

static int remount_ro(int rootfd, const char *path, unsigned long flags, sbx_error *err)
{
    int t = walk(rootfd, path, MK_NONE, NULL, NULL, err);
    if (t < 0) return sbx_fail(err, SBX_E_SETUP, errno, "remounting %s: %s", path, strerror(errno));
    char s[32];
    int rc = mount(NULL, fdpath(t, s), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, NULL);
    int e = errno;
    close(t);
    if (rc < 0) return sbx_fail(err, SBX_E_SETUP, e, "remounting %s read-only: %s", path, strerror(e));
    return 0;
}

static int write_at(int rootfd, const char *path, const char *data, size_t len, unsigned mode,
                    sbx_error *err)
{
    int parent = -1;
    const char *base = NULL;
    int t = walk(rootfd, path, MK_FILE, &parent, &base, err);
    if (t < 0) return -1;
    close(t);
    int fd = openat(parent, base, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    int e = errno;
    close(parent);
    if (fd < 0)
        return sbx_fail(err, SBX_E_SETUP, e, "writing %s: %s", path, e == ELOOP ? "it is a symlink" : strerror(e));
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { e = errno; close(fd); return sbx_fail(err, SBX_E_SETUP, e, "writing %s: %s", path, strerror(e)); }
        off += (size_t)n;
    }
    if (fchmod(fd, mode ? mode & 0777 : 0644) < 0) e = errno; else e = 0;
    close(fd);
    if (e) return sbx_fail(err, SBX_E_SETUP, e, "chmod %s: %s", path, strerror(e));
    return 0;
}

/* ---- the pieces -------------------------------------------------------------------------- */

static int open_host(const char *path, int optional, int *fd, sbx_error *err)
{
    *fd = open(path, O_PATH | O_CLOEXEC);
    if (*fd >= 0) return 0;
    if (optional && (errno == ENOENT || errno == ENOTDIR || errno == EACCES)) return 0;
    return sbx_fail(err, SBX_E_SETUP, errno, "opening host path %s for a bind: %s", path, strerror(errno));
}

static int bind_host(int rootfd, const char *host, const char *inside, int optional, sbx_error *err)
{
    int src;
    if (open_host(host, optional, &src, err) < 0) return -1;
    if (src < 0) return 0;
    int rc = bind_at(rootfd, src, inside, MS_RDONLY | MS_NOSUID | MS_NODEV, err);
    close(src);
    return rc;
}

/* /usr, and the top-level usr-merge entries: mirror a symlink, bind a real folder. */
static int build_system(int rootfd, sbx_error *err)
{
    static const char *const tops[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};
    if (bind_host(rootfd, "/usr", "/usr", 0, err) < 0) return -1;
    for (size_t i = 0; i < sizeof tops / sizeof tops[0]; i++) {
        char host[64], target[PATH_MAX];
        struct stat st;
        snprintf(host, sizeof host, "/%s", tops[i]);
        if (lstat(host, &st) < 0) continue;
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlink(host, target, sizeof target - 1);
            if (n < 0) continue;
            target[n] = 0;
            if (symlinkat(target, rootfd, tops[i]) < 0)
                return sbx_fail(err, SBX_E_SETUP, errno, "symlink /%s: %s", tops[i], strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            if (bind_host(rootfd, host, host, 0, err) < 0) return -1;
        }
    }
    return 0;
}

static int cfg_has_file(const struct sbx_config *cfg, const char *path)
{
    for (size_t i = 0; i < cfg->nfiles; i++)
        if (cfg->files[i].sandbox_path && !strcmp(cfg->files[i].sandbox_path, path)) return 1;
    return 0;
}

/* With the fake internet and a CA: SBX_CA_BUNDLE_PATH holds exactly the run's CA. The PEM is
 * written into the root tmpfs (/etc/local-ca.crt, read-only with the root) and bound over the
 * bundle inside the read-only /etc/ssl bind; without a host /etc/ssl the walk creates the path in
 * the root tmpfs instead. */
static int install_ca(int rootfd, const struct sbx_config *cfg, sbx_error *err)
{
    const char *pem = cfg->fakenet.ca ? sbx_ca_cert_pem(cfg->fakenet.ca) : NULL;
    if (!pem) return 0;
    static const char own[] = "/etc/local-ca.crt";
    if (write_at(rootfd, own, pem, strlen(pem), 0644, err) < 0) return -1;
    int src = walk(rootfd, own, MK_NONE, NULL, NULL, err);
    if (src < 0) return sbx_fail(err, SBX_E_SETUP, errno, "opening %s: %s", own, strerror(errno));
    int rc = bind_at(rootfd, src, SBX_CA_BUNDLE_PATH, MS_RDONLY | MS_NOSUID | MS_NODEV, err);
    close(src);
    return rc;
}

static int build_etc(int rootfd, const struct sbx_plan *p, sbx_error *err)
{
    char passwd[512], group[256], hosts[256], hostname[128];
    int fakenet = p->cfg->fakenet.enabled;
    /* Without the fake internet nothing answers DNS (connects fail fast); with it the supervisor
     * answers at SBX_FAKENET_RESOLVER (every address is local in the namespace). */
    const char *resolv = fakenet ? "nameserver " SBX_FAKENET_RESOLVER "\noptions timeout:1 attempts:2\n"
                                 : "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
    static const char nss[] = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
                              "networks: files\nprotocols: files\nservices: files\n";
    snprintf(passwd, sizeof passwd,
             "root:x:0:0:root:/root:/usr/sbin/nologin\n"
             "user:x:%u:%u:sandbox user:/home/user:/bin/sh\n"
             "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
             p->payload_uid, p->payload_gid);
    snprintf(group, sizeof group, "root:x:0:\nuser:x:%u:\nnogroup:x:65534:\n", p->payload_gid);
    if (fakenet)
        snprintf(hosts, sizeof hosts,
                 "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n",
                 p->hostname);
    else
        snprintf(hosts, sizeof hosts,
                 "127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n", p->hostname);
    snprintf(hostname, sizeof hostname, "%s\n", p->hostname);
    static const char *const names[] = {"/etc/passwd", "/etc/group", "/etc/hosts",
                                        "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/hostname"};
    const char *data[] = {passwd, group, hosts, resolv, nss, hostname};
    for (size_t i = 0; i < 6; i++) {
        if (cfg_has_file(p->cfg, names[i])) continue;
        if (write_at(rootfd, names[i], data[i], strlen(data[i]), 0644, err) < 0) return -1;
    }
    static const char *const ro[] = {"/etc/ssl", "/etc/ca-certificates", "/etc/alternatives",
                                     "/etc/ld.so.cache"};
    for (size_t i = 0; i < sizeof ro / sizeof ro[0]; i++)
        if (bind_host(rootfd, ro[i], ro[i], 1, err) < 0) return -1;
    return fakenet ? install_ca(rootfd, p->cfg, err) : 0;
}

static int build_dev(int rootfd, sbx_error *err)
{
    static const char *const devs[] = {"null", "zero", "full", "random", "urandom"};
    if (mount_tmpfs_at(rootfd, "/dev", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       "mode=0755,size=64k,nr_inodes=64", NULL, err) < 0)
        return -1;
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
        char host[32];
        snprintf(host, sizeof host, "/dev/%s", devs[i]);
        int src;
        if (open_host(host, 0, &src, err) < 0) return -1;
        /* Device binds keep dev access (the /dev tmpfs itself is nodev) and stay writable. */
        int rc = bind_at(rootfd, src, host, MS_NOSUID | MS_NOEXEC, err);
        close(src);
        if (rc < 0) return -1;
    }
    static const char *const links[][2] = {{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
                                           {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}};
    int dev = walk(rootfd, "/dev", MK_NONE, NULL, NULL, err);
    if (dev < 0) return sbx_fail(err, SBX_E_SETUP, errno, "opening /dev: %s", strerror(errno));
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (symlinkat(links[i][1], dev, links[i][0]) < 0) {
            int e = errno;
            close(dev);
            return sbx_fail(err, SBX_E_SETUP, e, "symlink /dev/%s: %s", links[i][0], strerror(e));
        }
    close(dev);
    if (mount_tmpfs_at(rootfd, "/dev/shm", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       "mode=1777,size=64m,nr_inodes=1024", NULL, err) < 0)
        return -1;
    return remount_ro(rootfd, "/dev", MS_NOSUID | MS_NODEV | MS_NOEXEC, err);
}

static int build_proc(int rootfd, sbx_error *err)
{
    static const char *const files[] = {"/proc/kcore", "/proc/keys", "/proc/timer_list",
                                        "/proc/sched_debug", "/proc/sysrq-trigger",
                                        "/proc/kallsyms", "/proc/latency_stats"};
    static const char *const dirs[] = {"/proc/acpi", "/proc/scsi"};
    int t = walk(rootfd, "/proc", MK_DIR, NULL, NULL, err);
    if (t < 0) return -1;
    char s[32];
    unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    int rc = mount("proc", fdpath(t, s), "proc", fl, "hidepid=invisible");
    if (rc < 0 && errno == EINVAL) rc = mount("proc", fdpath(t, s), "proc", fl, "hidepid=2");
    int e = errno;
    close(t);
    if (rc < 0) return sbx_fail(err, SBX_E_SETUP, e, "mounting /proc: %s", strerror(e));
    int null;
    if (open_host("/dev/null", 0, &null, err) < 0) return -1;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        int f = walk(rootfd, files[i], MK_NONE, NULL, NULL, err);
        if (f < 0) continue;  /* not on this kernel */
        close(f);
        if (bind_at(rootfd, null, files[i], MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0) {
            close(null);
            return -1;
        }
    }
    close(null);
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        int f = walk(rootfd, dirs[i], MK_NONE, NULL, NULL, err);
        if (f < 0) continue;
        close(f);
        if (mount_tmpfs_at(rootfd, dirs[i], MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                           "size=4k,nr_inodes=1,mode=0555", NULL, err) < 0)
            return -1;
    }
    return 0;
}

static int depth_of(const char *p)
{
    int d = 0;
    for (; *p; p++) if (*p == '/' && p[1] && p[1] != '/') d++;
    return d;
}

/* Writable areas, seeded; then caller files; then caller binds (sources opened before the
 * staging tmpfs could hide them). Areas and binds go parents first. */
static int build_areas(int rootfd, const struct sbx_plan *p, const int *bind_fds, sbx_error *err)
{
    const struct sbx_config *cfg = p->cfg;
    for (int depth = 0; depth < 64; depth++) {
        for (size_t i = 0; i < cfg->ntmpfs; i++) {
            const struct sbx_tmpfs *a = &cfg->tmpfs[i];
            if (depth_of(a->sandbox_path) != depth) continue;
            int is_tmp = !strcmp(a->sandbox_path, "/tmp") || !strcmp(a->sandbox_path, "/var/tmp");
            unsigned long long size = a->max_bytes ? a->max_bytes : 512 * MiB;
            unsigned long long inodes = a->max_inodes ? a->max_inodes : 262144;
            char opts[128];
            snprintf(opts, sizeof opts, "mode=%s,uid=0,gid=0,size=%llu,nr_inodes=%llu",
                     is_tmp ? "1777" : "0755", size, inodes);
            int top;
            if (mount_tmpfs_at(rootfd, a->sandbox_path, MS_NOSUID | MS_NODEV, opts, &top, err) < 0)
                return -1;
            int rc = 0;
            if (p->seed_fds[i] >= 0) rc = sbx_seed_copy(p->seed_fds[i], top, a->seed, err);
            close(top);
            if (rc < 0) return -1;
        }
    }
    for (size_t i = 0; i < cfg->nfiles; i++) {
        const struct sbx_file *f = &cfg->files[i];
        if (write_at(rootfd, f->sandbox_path, f->data ? f->data : "", f->data ? f->len : 0, f->mode, err) < 0)
            return -1;
    }
    for (int depth = 0; depth < 64; depth++)
        for (size_t i = 0; i < cfg->nbinds; i++) {
            const struct sbx_bind *b = &cfg->binds[i];
            if (depth_of(b->sandbox_path) != depth || bind_fds[i] < 0) continue;
            if (bind_at(rootfd, bind_fds[i], b->sandbox_path, MS_RDONLY | MS_NOSUID | MS_NODEV, err) < 0)
                return -1;
        }
    return 0;
}

static const char *staging_dir(void)
{
    static const char *const c[] = {"/tmp", "/mnt", "/run", "/var/tmp"};
    struct stat st;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (lstat(c[i], &st) == 0 && S_ISDIR(st.st_mode)) return c[i];
    return NULL;
}

int sbx_mounts_build(const struct sbx_plan *p, sbx_error *err)
{
    /* Nothing we mount may propagate back to the host's mount namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "making mounts private (mount --make-rprivate /): %s",
                        strerror(errno));
    const struct sbx_config *cfg = p->cfg;
    int bind_fds[MAX_AREAS];
    if (cfg->nbinds > MAX_AREAS || cfg->ntmpfs > MAX_AREAS)
        return sbx_fail(err, SBX_E_USAGE, E2BIG, "at most %d binds and %d tmpfs areas", MAX_AREAS, MAX_AREAS);
    for (size_t i = 0; i < cfg->nbinds; i++)
        if (open_host(cfg->binds[i].host_path, cfg->binds[i].flags & SBX_BIND_OPTIONAL, &bind_fds[i], err) < 0) {
            while (i-- > 0) if (bind_fds[i] >= 0) close(bind_fds[i]);
            return -1;
        }
    const char *R = staging_dir();
    int rc = -1, rootfd = -1;
    if (!R) {
        sbx_fail(err, SBX_E_SETUP, ENOENT, "no staging folder (/tmp, /mnt, /run) on this host");
        goto out;
    }
    if (mount("tmpfs", R, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=8m,nr_inodes=4096") < 0) {
        sbx_fail(err, SBX_E_SETUP, errno, "mounting the root tmpfs: %s", strerror(errno));
        goto out;
    }
    rootfd = open(R, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        sbx_fail(err, SBX_E_SETUP, errno, "opening the new root: %s", strerror(errno));
        goto out;
    }
    if (build_system(rootfd, err) < 0 || build_etc(rootfd, p, err) < 0 || build_dev(rootfd, err) < 0 ||
        build_proc(rootfd, err) < 0 || build_areas(rootfd, p, bind_fds, err) < 0)
        goto out;
    if (mount(NULL, R, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) {
        sbx_fail(err, SBX_E_SETUP, errno, "remounting the root read-only: %s", strerror(errno));
        goto out;
    }
    /* pivot_root(".", "."): the old root ends up stacked on the new one; detach it. */
    if (fchdir(rootfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) {
        sbx_fail(err, SBX_E_SETUP, errno, "pivot_root: %s", strerror(errno));
        goto out;
    }
    if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
        sbx_fail(err, SBX_E_SETUP, errno, "detaching the old root: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (rootfd >= 0) close(rootfd);
    for (size_t i = 0; i < cfg->nbinds; i++) if (bind_fds[i] >= 0) close(bind_fds[i]);
    return rc;
}

int sbx_mounts_private_proc(sbx_error *err)
{
    /* Stacked on /proc for a moment, opened, then detached: the fd keeps the instance usable
     * while the mount is nowhere in the tree (the /proc below is back as it was). No hidepid:
     * its holder (init, then only the supervisor) sees every process of the pid ns. */
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "mounting a private procfs: %s", strerror(errno));
    int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int e = errno;
    if (umount2("/proc", MNT_DETACH) < 0) {
        e = errno;
        if (fd >= 0) close(fd);
        return sbx_fail(err, SBX_E_SETUP, e, "detaching the private procfs: %s", strerror(e));
    }
    if (fd < 0) return sbx_fail(err, SBX_E_SETUP, e, "opening the private procfs: %s", strerror(e));
    return fd;
}

int sbx_mounts_seal_proc(sbx_error *err)
{
    if (mount("/proc/sys", "/proc/sys", NULL, MS_BIND, NULL) < 0 ||
        mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "making /proc/sys read-only: %s", strerror(errno));
    if (mount(NULL, "/proc", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "making /proc read-only: %s", strerror(errno));
    return 0;
}
