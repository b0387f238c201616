/* limits.c — per-process resource limits of the payload, and cgroup v2 availability. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core.h"

#define GiB (1024ull * 1024ull * 1024ull)
#define MiB (1024ull * 1024ull)

void sbx_limits_defaults(const struct sbx_limits *in, struct sbx_limits *out)
{
    *out = *in;
    if (!out->cpu_seconds) out->cpu_seconds = 300;
    /* V8 reserves large virtual ranges (pointer cage, wasm guard regions): keep AS roomy. */
    if (!out->address_space) out->address_space = 32 * GiB;
    if (!out->nproc) out->nproc = 512;
    if (!out->file_size) out->file_size = 256 * MiB;
    if (!out->nofile) out->nofile = 1024;
    if (!out->capture_bytes) out->capture_bytes = 1024 * 1024;
}

/* Lowering is always allowed; raising the hard limit needs CAP_SYS_RESOURCE in the initial user
 * ns, which nothing in the sandbox has: never ask for more than the current hard limit. */
static int set_one(int res, const char *name, unsigned long long v, sbx_error *err)
{
    struct rlimit cur, nl;
    if (getrlimit(res, &cur) < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "getrlimit %s: %s", name, strerror(errno));
    rlim_t want = (rlim_t)v;
    if (cur.rlim_max != RLIM_INFINITY && want > cur.rlim_max) want = cur.rlim_max;
    nl.rlim_cur = nl.rlim_max = want;
    if (setrlimit(res, &nl) < 0)
        return sbx_fail(err, SBX_E_SETUP, errno, "setrlimit %s=%llu: %s", name, (unsigned long long)want,
                        strerror(errno));
    return 0;
}

/* RLIMIT_CORE is 1, not 0: with a piped kernel.core_pattern (systemd-coredump, apport) the kernel
 * ignores a limit of 0 and hands the payload's core to a helper running as host root; a limit of
 * exactly 1 is the documented "no pipe core" value, and too small for any core file. */
int sbx_limits_apply(const struct sbx_limits *l, sbx_error *err)
{
    if (set_one(RLIMIT_CPU, "CPU", l->cpu_seconds, err) < 0 ||
        set_one(RLIMIT_AS, "AS", l->address_space, err) < 0 ||
        set_one(RLIMIT_NPROC, "NPROC", l->nproc, err) < 0 ||
        set_one(RLIMIT_FSIZE, "FSIZE", l->file_size, err) < 0 ||
        set_one(RLIMIT_NOFILE, "NOFILE", l->nofile, err) < 0 ||
        set_one(RLIMIT_CORE, "CORE", 1, err) < 0)
        return -1;
    return 0;
}

/* A delegated cgroup v2: our own cgroup (the "0::" line) on a cgroup2 mount, writable, with the
 * memory and pids controllers available. cgroup limits are not applied yet either way; this
 * only decides which note the caller gets. */
int sbx_cgroup_available(void)
{
    char line[512] = {0}, path[1024];
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f) return 0;
    int found = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "0::", 3) == 0) { found = 1; break; }
    fclose(f);
    if (!found) return 0;
    line[strcspn(line, "\n")] = 0;
    static const char *const roots[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        snprintf(path, sizeof path, "%s%s/cgroup.controllers", roots[i], line + 3);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        char buf[256] = {0};
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        snprintf(path, sizeof path, "%s%s", roots[i], line + 3);
        if (n > 0 && strstr(buf, "memory") && strstr(buf, "pids") && access(path, W_OK) == 0)
            return 1;
    }
    return 0;
}
