/*
 * decode_mem.c — reading the target's memory.
 *
 * The notifier binds the task it is answering to that task's /proc/TID/mem, opened once and
 * kept in the pid cache (sbx_mem_bind); reads of that task are preads of it. process_vm_readv,
 * the fallback for any other task, pins the pages it reads, and pinning an anonymous page that
 * is shared copy-on-write (every page of a process that just forked: node before each spawn,
 * its child until exec) makes the kernel copy it first: measured ~26 us per read on the
 * spawn path, against no copy at all for /proc/TID/mem, which only looks pages up. The mem
 * file's access was checked when it was opened (ptrace attach, like process_vm_readv's per
 * call). It stays bound to the address space the task had then, which an exec replaces (and
 * which a vfork child's exec leaves alive, in its parent): the notifier binds a file only
 * when no exec has been notified since it was opened (notify.c, mem_epoch). One difference
 * the kernel allows the mem file: a page mapped without read permission is still read
 * (FOLL_FORCE), where the target's own call would fail with EFAULT.
 *
 * process_vm_readv never splits one remote iovec element, so every read there is cut at page
 * boundaries into separate elements: a partial result then stops exactly at the first
 * unmapped page, and a string that ends right before one is still read. /proc/TID/mem reads
 * page by page and stops at the first unreadable one as well.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "decode.h"

#define PAGE 4096u
#define MAX_CHUNKS (SBX_ARGV_BYTES / PAGE + 2)

/* Per thread: the notifier of each sandbox runs on one thread, and answers one call at a time.
 * The slot is checked on every read: it may have been given to another task since the bind. */
static _Thread_local struct sbx_pidcache_slot *bound;

void sbx_mem_bind(struct sbx_pidcache_slot *slot)
{
    bound = slot;
}

static int open_mem(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)tid);
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* pread of the bound mem file: bytes, or -1 (-2: no usable file, use process_vm_readv). */
static ssize_t read_bound(uint64_t addr, void *buf, size_t len)
{
    if (bound->mem_fd < 0 && (bound->mem_fd = open_mem(bound->host)) < 0) return -2;
    ssize_t got;
    do got = pread(bound->mem_fd, buf, len, (off_t)addr);
    while (got < 0 && errno == EINTR);
    if (got > 0) return got;
    if (got < 0 && errno == EIO) {   /* the first page is unreadable */
        errno = EFAULT;
        return -1;
    }
    return -2;   /* 0 bytes: that address space is gone; let process_vm_readv say what is */
}

static ssize_t read_pinned(pid_t pid, uint64_t addr, void *buf, size_t len)
{
    struct iovec local = {buf, len}, remote[MAX_CHUNKS];
    size_t n = 0, done = 0;
    while (done < len && n < MAX_CHUNKS) {
        size_t room = PAGE - (size_t)((addr + done) % PAGE);
        size_t take = room < len - done ? room : len - done;
        remote[n].iov_base = (void *)(uintptr_t)(addr + done);
        remote[n].iov_len = take;
        n++;
        done += take;
    }
    local.iov_len = done;
    ssize_t got;
    do got = process_vm_readv(pid, &local, 1, remote, n, 0);
    while (got < 0 && errno == EINTR);
    return got;
}

ssize_t sbx_mem_read_upto(pid_t pid, uint64_t addr, void *buf, size_t len)
{
    if (len == 0) return 0;
    if (addr == 0 || addr > (uint64_t)INT64_MAX - len) { errno = EFAULT; return -1; }
    if (bound && bound->host == pid && pid > 0) {
        ssize_t got = read_bound(addr, buf, len);
        if (got != -2) return got;
    }
    return read_pinned(pid, addr, buf, len);
}

int sbx_mem_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
    ssize_t got = sbx_mem_read_upto(pid, addr, buf, len);
    if (got == (ssize_t)len) return 0;
    if (got >= 0) errno = EFAULT;
    return -1;
}

/* Most strings end within the page they start in: read that part first, the rest only when
 * there is no NUL in it (one page looked up, not two). */
ssize_t sbx_mem_string(pid_t pid, uint64_t addr, char *buf, size_t cap, int *truncated)
{
    size_t want = cap - 1, first = PAGE - (size_t)(addr % PAGE);
    if (first > want) first = want;
    ssize_t got = sbx_mem_read_upto(pid, addr, buf, first);
    if (got < 0) return -1;
    char *nul = memchr(buf, 0, (size_t)got);
    if (nul) return nul - buf;
    if ((size_t)got == first && first < want) {
        ssize_t more = sbx_mem_read_upto(pid, addr + first, buf + first, want - first);
        if (more > 0) {
            nul = memchr(buf + first, 0, (size_t)more);
            if (nul) return nul - buf;
            got += more;
        }
    }
    if ((size_t)got < want) { errno = EFAULT; return -1; }  /* ran into an unmapped page */
    buf[cap - 1] = 0;
    *truncated = 1;
    return (ssize_t)(cap - 1);
}

int sbx_mem_strv(pid_t pid, uint64_t addr, char *store, size_t cap, const char **vec,
                 size_t vcap, int *truncated)
{
    uint64_t ptrs[SBX_ARGV_MAX + 1];
    size_t want = vcap - 1 < SBX_ARGV_MAX ? vcap - 1 : SBX_ARGV_MAX;
    ssize_t got = sbx_mem_read_upto(pid, addr, ptrs, (want + 1) * sizeof ptrs[0]);
    if (got < (ssize_t)sizeof ptrs[0]) { errno = EFAULT; return -1; }
    size_t avail = (size_t)got / sizeof ptrs[0], count = 0, used = 0;
    int full = 0;
    while (count < avail && count < want && ptrs[count] != 0) {
        if (used + 1 >= cap) { full = 1; break; }
        ssize_t len = sbx_mem_string(pid, ptrs[count], store + used, cap - used, truncated);
        if (len < 0) return -1;
        vec[count++] = store + used;
        used += (size_t)len + 1;
    }
    if (full) *truncated = 1;
    else if (count < want && count == avail) { errno = EFAULT; return -1; }  /* no NULL, unmapped */
    else if (count == want && (avail <= want || ptrs[want] != 0)) *truncated = 1;
    vec[count] = NULL;
    return (int)count;
}

int sbx_mem_write(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
    struct iovec local = {(void *)buf, len}, remote = {(void *)(uintptr_t)addr, len};
    if (len > PAGE) { errno = E2BIG; return -1; }
    ssize_t put;
    do put = process_vm_writev(pid, &local, 1, &remote, 1, 0);
    while (put < 0 && errno == EINTR);
    if (put == (ssize_t)len) return 0;
    if (put >= 0) errno = EFAULT;
    return -1;
}
