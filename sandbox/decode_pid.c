/*
 * decode_pid.c — host pids to pids as seen inside the sandbox.
 *
 * Notifications carry host tids. The sandbox-side thread group id is the last NStgid value of
 * /proc/TID/status; the parent is PPid from /proc/TID/stat (a host pid), translated the same
 * way, or 0 when it lives outside the target's pid namespace. Each slot keeps its stat file
 * open: one pread per event revalidates it (a dead task's file fails with ESRCH, and a reused
 * pid shows another start time), so status is parsed once per process, not per event.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"

void sbx_pidcache_init(struct sbx_pidcache *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < SBX_PIDCACHE_SLOTS; i++) c->slot[i].stat_fd = -1;
}

static void slot_free(struct sbx_pidcache_slot *s)
{
    if (s->stat_fd >= 0) close(s->stat_fd);
    memset(s, 0, sizeof *s);
    s->stat_fd = -1;
}

void sbx_pidcache_clear(struct sbx_pidcache *c)
{
    for (size_t i = 0; i < SBX_PIDCACHE_SLOTS; i++) slot_free(&c->slot[i]);
}

/* ppid (field 4) and start time (field 22) from an open stat file. 0 or -1. */
static int read_stat(int fd, int *ppid, unsigned long long *start)
{
    char buf[1024];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')');   /* comm may hold spaces and parentheses */
    if (!p) return -1;
    p++;
    for (int field = 3; field < 22; field++) {
        while (*p == ' ') p++;
        if (field == 4) *ppid = atoi(p);
        p = strchr(p, ' ');
        if (!p) return -1;
    }
    *start = strtoull(p, NULL, 10);
    return 0;
}

/* One read of /proc/PID/status into buf; a pointer just past "Name:" (e.g. "NStgid:") or NULL. */
const char *sbx_proc_status_field(int pid, const char *name, char *buf, size_t cap)
{
    char path[64], key[32];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n <= 0) return NULL;
    buf[n] = 0;
    snprintf(key, sizeof key, "\n%s", name);
    const char *line = strstr(buf, key);
    return line ? line + strlen(key) : NULL;
}

/* Last NStgid value and the number of values. 0 or -1. */
static int read_nstgid(int host, int *ns_tgid, int *levels)
{
    char buf[4096];
    const char *line = sbx_proc_status_field(host, "NStgid:", buf, sizeof buf);
    if (!line) return -1;
    char *p = (char *)line, *end;
    int count = 0;
    for (;;) {
        long v = strtol(p, &end, 10);
        if (end == p) break;
        *ns_tgid = (int)v;
        count++;
        p = end;
    }
    *levels = count;
    return count > 0 ? 0 : -1;
}

static struct sbx_pidcache_slot *slot_load(struct sbx_pidcache *c, int host, int *ppid)
{
    struct sbx_pidcache_slot *s = &c->slot[c->next++ % SBX_PIDCACHE_SLOTS];
    char path[64];
    slot_free(s);
    snprintf(path, sizeof path, "/proc/%d/stat", host);
    s->stat_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->stat_fd < 0 || read_stat(s->stat_fd, ppid, &s->start) < 0 ||
        read_nstgid(host, &s->ns_tgid, &s->levels) < 0) {
        slot_free(s);
        return NULL;
    }
    s->host = host;
    return s;
}

/* The valid slot for host (loading it on a miss), its current host ppid in *ppid. */
static struct sbx_pidcache_slot *slot_get(struct sbx_pidcache *c, int host, int *ppid)
{
    for (size_t i = 0; i < SBX_PIDCACHE_SLOTS; i++) {
        struct sbx_pidcache_slot *s = &c->slot[i];
        if (s->host != host) continue;
        unsigned long long start = 0;
        if (read_stat(s->stat_fd, ppid, &start) == 0 && start == s->start) return s;
        slot_free(s);
        break;
    }
    return host > 0 ? slot_load(c, host, ppid) : NULL;
}

void sbx_pidcache_lookup(struct sbx_pidcache *c, int host_tid, int *pid, int *ppid)
{
    int host_ppid = 0, unused = 0;
    *pid = *ppid = 0;
    const struct sbx_pidcache_slot *s = slot_get(c, host_tid, &host_ppid);
    if (!s) return;
    int levels = s->levels;
    *pid = s->ns_tgid;
    const struct sbx_pidcache_slot *p = slot_get(c, host_ppid, &unused);
    if (p && p->levels == levels) *ppid = p->ns_tgid;   /* else the parent is outside */
}
