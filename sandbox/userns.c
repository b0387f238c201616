/* userns.c — user namespaces: can we have them here (probe, diagnosis), and id maps. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"

void sbx_userns_outer_ids(uid_t *uid, gid_t *gid, int *root_mode)
{
    /* As host root we never let "root inside" be host root: map it to an anonymous uid. */
    if (geteuid() == 0) {
        *uid = SBX_ROOT_MAPPED_UID;
        *gid = SBX_ROOT_MAPPED_GID;
        *root_mode = 1;
    } else {
        *uid = geteuid();
        *gid = getegid();
        *root_mode = 0;
    }
}

static int write_file(const char *path, const char *data)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = strlen(data);
    ssize_t n = write(fd, data, len);
    int e = errno;
    close(fd);
    if (n != (ssize_t)len) { errno = n < 0 ? e : EIO; return -1; }
    return 0;
}

int sbx_userns_write_maps(pid_t pid, unsigned in_uid, unsigned out_uid, unsigned in_gid,
                          unsigned out_gid, int deny_setgroups, sbx_error *err)
{
    char path[64], line[64];
    if (deny_setgroups) {
        snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
        if (write_file(path, "deny") < 0 && errno != ENOENT)
            return sbx_fail(err, SBX_E_SETUP, errno, "user ns: writing %s: %s", path, strerror(errno));
    }
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
    snprintf(line, sizeof line, "%u %u 1\n", in_uid, out_uid);
    if (write_file(path, line) < 0)
        return sbx_fail(err, SBX_E_USERNS, errno, "user ns: writing %s (%u -> %u): %s", path, in_uid,
                        out_uid, strerror(errno));
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
    snprintf(line, sizeof line, "%u %u 1\n", in_gid, out_gid);
    if (write_file(path, line) < 0)
        return sbx_fail(err, SBX_E_USERNS, errno, "user ns: writing %s (%u -> %u): %s", path, in_gid,
                        out_gid, strerror(errno));
    return 0;
}

int sbx_userns_check_readable(int dirfd, const char *path, uid_t uid, gid_t gid, sbx_error *err)
{
    struct stat st;
    if (fstat(dirfd, &st) < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "seed %s: stat: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return sbx_fail(err, SBX_E_USAGE, ENOTDIR, "seed %s is not a folder", path);
    /* The copy runs as `uid` with capabilities only over the sandbox's own user ns: the plain
     * mode bits decide. Deeper entries are checked as they are copied. */
    mode_t need = st.st_uid == uid ? S_IRUSR | S_IXUSR
                : st.st_gid == gid ? S_IRGRP | S_IXGRP : S_IROTH | S_IXOTH;
    if ((st.st_mode & need) != need)
        return sbx_fail(err, SBX_E_SETUP, EACCES,
                        "seed folder %s is not readable by the sandbox's uid %u; fix: make it "
                        "readable and searchable (chmod -R a+rX) or chown it to uid %u",
                        path, (unsigned)uid, (unsigned)uid);
    return 0;
}

/* ---- probe ------------------------------------------------------------------------------ */

static int read_int_file(const char *path, long *v)
{
    char buf[32] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    *v = strtol(buf, NULL, 10);
    return 0;
}

static int in_container(void)
{
    return access("/.dockerenv", F_OK) == 0 || access("/run/.containerenv", F_OK) == 0;
}

/* The throwaway child: pid 1 of a new pid ns in a new user+mount ns; mount a procfs there like
 * init will. Reports the failing step and errno through the pipe. */
static int probe_child(int wfd)
{
    int res[2] = {0, 0};
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) res[0] = 1, res[1] = errno;
    else if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        res[0] = 2, res[1] = errno;
    ssize_t n = write(wfd, res, sizeof res);
    _exit(n == (ssize_t)sizeof res ? 0 : 1);
}

static int explain_clone(int e, sbx_error *err)
{
    long v;
    if (read_int_file("/proc/sys/kernel/unprivileged_userns_clone", &v) == 0 && v == 0 && geteuid() != 0)
        return sbx_fail(err, SBX_E_USERNS, e,
                        "user namespaces are disabled for unprivileged users "
                        "(kernel.unprivileged_userns_clone=0); fix: sysctl -w kernel.unprivileged_userns_clone=1");
    if (read_int_file("/proc/sys/user/max_user_namespaces", &v) == 0 && v == 0)
        return sbx_fail(err, SBX_E_USERNS, e,
                        "user namespaces are disabled (user.max_user_namespaces=0); "
                        "fix: sysctl -w user.max_user_namespaces=15000");
    if (e == EPERM && in_container())
        return sbx_fail(err, SBX_E_USERNS, e,
                        "creating a user namespace is refused inside this container (its seccomp "
                        "or AppArmor profile); fix: run the container with --security-opt "
                        "seccomp=unconfined --security-opt apparmor=unconfined, or a custom profile "
                        "that allows clone/unshare with CLONE_NEWUSER");
    if (e == ENOSPC || e == EUSERS)
        return sbx_fail(err, SBX_E_USERNS, e,
                        "the user namespace limit is reached (user.max_user_namespaces); fix: raise it "
                        "or end other sandboxes");
    return sbx_fail(err, SBX_E_USERNS, e, "cannot create user namespaces: %s", strerror(e));
}

static int explain_mount(int step, int e, sbx_error *err)
{
    long v;
    if (read_int_file("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &v) == 0 && v == 1 &&
        geteuid() != 0)
        return sbx_fail(err, SBX_E_USERNS, e,
                        "AppArmor restricts unprivileged user namespaces "
                        "(kernel.apparmor_restrict_unprivileged_userns=1, Ubuntu 24.04+); fix: an "
                        "AppArmor profile granting 'userns,' to this program, or sysctl -w "
                        "kernel.apparmor_restrict_unprivileged_userns=0");
    if (step == 2 && e == EPERM)
        return sbx_fail(err, SBX_E_USERNS, e,
                        "mounting a procfs is refused: the host's /proc is partly masked (\"mount "
                        "too revealing\", typical inside containers); fix: run the container with "
                        "--security-opt systempaths=unconfined");
    if (e == EPERM && in_container())
        return sbx_fail(err, SBX_E_USERNS, e,
                        "mounting inside a user namespace is refused inside this container; fix: "
                        "--security-opt seccomp=unconfined --security-opt apparmor=unconfined, or a "
                        "custom profile");
    return sbx_fail(err, SBX_E_USERNS, e, "cannot %s inside a user namespace: %s",
                    step == 1 ? "make mounts private" : "mount a procfs", strerror(e));
}

static int probe_seccomp(sbx_error *err)
{
    char buf[256] = {0};
    int fd = open("/proc/sys/kernel/seccomp/actions_avail", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;  /* cannot tell: let the install report it */
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && !strstr(buf, "user_notif"))
        return sbx_fail(err, SBX_E_SETUP, ENOSYS,
                        "seccomp user notification is not available (kernel older than 5.0 or "
                        "disabled); fix: a newer kernel");
    return 0;
}

int sbx_probe(sbx_error *err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return sbx_fail(err, SBX_E_INTERNAL, errno, "probe: pipe: %s", strerror(errno));
    /* Raw clone without CLONE_VM: the child runs on a copy of our stack, like fork(). */
    long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | SIGCHLD),
                       NULL, NULL, NULL, 0UL);
    if (pid == 0) { close(p[0]); probe_child(p[1]); }
    int e = errno;
    close(p[1]);
    if (pid < 0) { close(p[0]); return explain_clone(e, err); }
    int res[2] = {-1, 0};
    ssize_t n;
    do n = read(p[0], res, sizeof res);
    while (n < 0 && errno == EINTR);
    close(p[0]);
    int st;
    while (waitpid((pid_t)pid, &st, 0) < 0 && errno == EINTR) {}
    if (n != (ssize_t)sizeof res)
        return sbx_fail(err, SBX_E_USERNS, 0, "probe: the namespace test process died");
    if (res[0] != 0) return explain_mount(res[0], res[1], err);
    return probe_seccomp(err);
}

void sbx_userns_diagnose(sbx_error *err)
{
    sbx_error pe = {0};
    if (sbx_probe(&pe) < 0) *err = pe;
}
