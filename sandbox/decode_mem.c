/*
 * decode_mem.c — reading the target's memory with process_vm_readv.
 *
 * process_vm_readv never splits one remote iovec element, so every read is cut at page
 * boundaries into separate elements: a partial result then stops exactly at the first
 * unmapped page, and a string that ends right before one is still read.
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "decode.h"

#define PAGE 4096u
#define MAX_CHUNKS (SBX_ARGV_BYTES / PAGE + 2)

ssize_t sbx_mem_read_upto(pid_t pid, uint64_t addr, void *buf, size_t len)
{
    struct iovec local = {buf, len}, remote[MAX_CHUNKS];
    size_t n = 0, done = 0;
    if (len == 0) return 0;
    if (addr == 0) { errno = EFAULT; return -1; }
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

int sbx_mem_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
    ssize_t got = sbx_mem_read_upto(pid, addr, buf, len);
    if (got == (ssize_t)len) return 0;
    if (got >= 0) errno = EFAULT;
    return -1;
}

ssize_t sbx_mem_string(pid_t pid, uint64_t addr, char *buf, size_t cap, int *truncated)
{
    ssize_t got = sbx_mem_read_upto(pid, addr, buf, cap - 1);
    if (got < 0) return -1;
    char *nul = memchr(buf, 0, (size_t)got);
    if (nul) return nul - buf;
    if ((size_t)got < cap - 1) { errno = EFAULT; return -1; }  /* ran into an unmapped page */
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
