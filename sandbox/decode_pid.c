/*
 * decode_pid.c — host pids to pids as seen inside the sandbox.
 *
 * Notifications carry host tids. The sandbox-side thread group id is the last NStgid value of
 * /proc/TID/status (for a thread-group leader, the last NSpid of our pidfd's fdinfo: cheaper);
 * the parent is PPid from /proc/TID/stat (a host pid), translated the same way, or 0 when it
 * lives outside the target's pid namespace. Both are read once per task and kept in a slot
 * with a pidfd of that task (a leader's own; PIDFD_THREAD for other threads, kernel >= 6.9): one
 * poll of the caller's and its parent's pidfds per event tells that neither has exited, so
 * neither host pid can have been reused and the parent is still the parent (a child is
 * reparented only when its parent exits; then its stat file is read again). Without a pidfd
 * the slot is revalidated by a pread of its stat file (a dead task's file fails with ESRCH, a
 * reused pid shows another start time). Reading /proc/TID/stat costs the kernel far more than
 * a poll, twice per event on the busiest path of the supervisor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "decode.h"

void sbx_pidcache_init(struct sbx_pidcache *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < SBX_PIDCACHE_SLOTS; i++)
        c->slot[i].stat_fd = c->slot[i].pidfd = c->slot[i].mem_fd = -1;
}

static void slot_free(struct sbx_pidcache_slot *s)
{
    if (s->stat_fd >= 0) close(s->stat_fd);
    if (s->pidfd >= 0) close(s->pidfd);
    if (s->mem_fd >= 0) close(s->mem_fd);
    memset(s, 0, sizeof *s);
    s->stat_fd = s->pidfd = s->mem_fd = -1;
}

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* A pidfd of this task: of the thread itself where the kernel can, else of a group leader. */
int sbx_task_pidfd(int host)
{
    int fd = (int)syscall(SYS_pidfd_open, host, PIDFD_THREAD);
    if (fd < 0) fd = (int)syscall(SYS_pidfd_open, host, 0);
    return fd;
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

/* A line of pids, one per pid namespace level ("NStgid:\t812\t7"): the last (innermost) one
 * and how many there are. 0, or -1 when there is none or the last is 0 (the task is gone, or
 * not in our namespaces). */
static int innermost_pid(const char *line, int *pid, int *levels)
{
    char *p = (char *)line, *end;
    int count = 0;
    for (;;) {
        long v = strtol(p, &end, 10);
        if (end == p) break;
        *pid = (int)v;
        count++;
        p = end;
    }
    *levels = count;
    return count > 0 && *pid > 0 ? 0 : -1;
}

static int read_nstgid(int host, int *ns_tgid, int *levels)
{
    char buf[4096];
    const char *line = sbx_proc_status_field(host, "NStgid:", buf, sizeof buf);
    return line ? innermost_pid(line, ns_tgid, levels) : -1;
}

/* The NSpid line of our fdinfo of a pidfd: for a thread-group leader, its NStgid, without the
 * rendering of some forty lines that /proc/PID/status costs the kernel. */
static int read_nspid(int pidfd, int *ns_pid, int *levels)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    const char *line = strstr(buf, "\nNSpid:");
    return line ? innermost_pid(line + 7, ns_pid, levels) : -1;
}

/* A pidfd of the task and its sandbox-side thread group id: a leader's own pidfd (pidfd_open
 * without PIDFD_THREAD takes leaders only) says it in its fdinfo; any other task keeps a
 * PIDFD_THREAD pidfd and is read from /proc/TID/status. */
static int load_identity(struct sbx_pidcache_slot *s, int host)
{
    s->pidfd = (int)syscall(SYS_pidfd_open, host, 0);
    if (s->pidfd >= 0 && read_nspid(s->pidfd, &s->ns_tgid, &s->levels) == 0) return 0;
    if (s->pidfd >= 0) close(s->pidfd);
    s->pidfd = sbx_task_pidfd(host);
    return read_nstgid(host, &s->ns_tgid, &s->levels);
}

static struct sbx_pidcache_slot *slot_load(struct sbx_pidcache *c, int host)
{
    struct sbx_pidcache_slot *s = &c->slot[c->next++ % SBX_PIDCACHE_SLOTS];
    char path[64];
    slot_free(s);
    snprintf(path, sizeof path, "/proc/%d/stat", host);
    /* the pidfd before the reads: then they are of this task, or its exit shows at the next poll */
    if (load_identity(s, host) < 0) {
        slot_free(s);
        return NULL;
    }
    s->stat_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->stat_fd < 0 || read_stat(s->stat_fd, &s->ppid, &s->start) < 0) {
        slot_free(s);
        return NULL;
    }
    s->host = host;
    return s;
}

static struct sbx_pidcache_slot *slot_find(struct sbx_pidcache *c, int host)
{
    for (size_t i = 0; i < SBX_PIDCACHE_SLOTS; i++)
        if (host > 0 && c->slot[i].host == host) return &c->slot[i];
    return NULL;
}

/* Without a pidfd: the stat file still answers with the same start time (ppid refreshed). */
static int stat_still_valid(struct sbx_pidcache_slot *s)
{
    unsigned long long start = 0;
    int ppid = 0;
    if (read_stat(s->stat_fd, &ppid, &start) < 0 || start != s->start) return 0;
    s->ppid = ppid;
    return 1;
}

/* Which of self and parent (either may be NULL) are still the tasks they were loaded for:
 * bit 0 self, bit 1 parent. One poll for both pidfds. */
static unsigned still_alive(struct sbx_pidcache_slot *self, struct sbx_pidcache_slot *parent)
{
    struct sbx_pidcache_slot *s[2] = {self, parent};
    struct pollfd pf[2];
    int at[2] = {-1, -1};
    nfds_t n = 0;
    unsigned alive = 0;
    for (int i = 0; i < 2; i++) {
        if (!s[i]) continue;
        if (s[i]->pidfd < 0) {
            if (stat_still_valid(s[i])) alive |= 1u << i;
            continue;
        }
        at[i] = (int)n;
        pf[n++] = (struct pollfd){s[i]->pidfd, POLLIN, 0};
    }
    if (n && poll(pf, n, 0) < 0) return alive;   /* unknown: reload what used a pidfd */
    for (int i = 0; i < 2; i++)
        if (at[i] >= 0 && !(pf[at[i]].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
            alive |= 1u << i;
    return alive;
}

void sbx_pidcache_lookup(struct sbx_pidcache *c, int host_tid, int *pid, int *ppid)
{
    *pid = *ppid = 0;
    struct sbx_pidcache_slot *self = slot_find(c, host_tid);
    struct sbx_pidcache_slot *parent = self ? slot_find(c, self->ppid) : NULL;
    unsigned alive = self ? still_alive(self, parent) : 0;
    if (!(alive & 1)) {
        if (self) slot_free(self);
        if (!(self = slot_load(c, host_tid))) return;
        parent = slot_find(c, self->ppid);
        alive = parent ? still_alive(NULL, parent) : 0;
    }
    if (parent && !(alive & 2)) {
        /* That parent exited: the caller was reparented (or the slot was of an older task). */
        slot_free(parent);
        parent = NULL;
        if (self->pidfd >= 0) (void)stat_still_valid(self);   /* the current ppid */
    }
    /* Copied first: loading the parent may take self's slot. */
    int levels = self->levels, host_ppid = self->ppid;
    *pid = self->ns_tgid;
    if (!parent) parent = host_ppid > 0 ? slot_find(c, host_ppid) : NULL;
    if (!parent && host_ppid > 0) parent = slot_load(c, host_ppid);
    if (parent && parent->levels == levels) *ppid = parent->ns_tgid;   /* else outside */
}

struct sbx_pidcache_slot *sbx_pidcache_slot_of(struct sbx_pidcache *c, int host_tid)
{
    return slot_find(c, host_tid);
}
