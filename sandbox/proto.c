/* proto.c — the record protocol between supervisor, init and zygote (SOCK_SEQPACKET). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core.h"

int sbx_msg_send(int sock, const struct sbx_msg *m, const void *extra, size_t extra_len,
                 const int *fds, int nfds)
{
    struct iovec iov[2] = {{(void *)m, sizeof *m}, {(void *)extra, extra_len}};
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = extra_len ? 2 : 1};
    memset(&u, 0, sizeof u);
    if (nfds > 0) {
        if (nfds > 2) { errno = EINVAL; return -1; }
        mh.msg_control = u.buf;
        mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
    }
    ssize_t n;
    do n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    if ((size_t)n != sizeof *m + extra_len) { errno = EMSGSIZE; return -1; }
    return 0;
}

int sbx_msg_write(int sock, const struct sbx_msg *m)
{
    ssize_t n;
    do n = write(sock, m, sizeof *m);
    while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    if ((size_t)n != sizeof *m) { errno = EMSGSIZE; return -1; }
    return 0;
}

ssize_t sbx_msg_recv(int sock, struct sbx_msg *m, void *extra, size_t extra_cap, int *fds,
                     int *nfds)
{
    struct iovec iov[2] = {{m, sizeof *m}, {extra, extra_cap}};
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = extra_cap ? 2 : 1,
                        .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    int want = nfds ? *nfds : 0;
    if (nfds) *nfds = 0;
    ssize_t n;
    do n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    /* Take ownership of every fd that arrived, close what the caller did not ask for. */
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < cnt; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (nfds && *nfds < want) fds[(*nfds)++] = fd;
            else close(fd);
        }
    }
    if (n == 0) { errno = EPIPE; return -1; }
    if ((size_t)n < sizeof *m || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        if (nfds) { for (int i = 0; i < *nfds; i++) close(fds[i]); *nfds = 0; }
        errno = EPROTO;
        return -1;
    }
    m->text[sizeof m->text - 1] = 0;
    return n - (ssize_t)sizeof *m;
}

void sbx_msg_from_error(struct sbx_msg *m, const sbx_error *e)
{
    memset(m, 0, sizeof *m);
    m->type = SBX_MSG_ERROR;
    m->kind = (int32_t)e->kind;
    m->sys_errno = e->sys_errno;
    snprintf(m->text, sizeof m->text, "%s", e->msg);
}

pid_t sbx_raw_fork(int *pidfd)
{
    unsigned long flags = SIGCHLD | (pidfd ? CLONE_PIDFD : 0);
    return (pid_t)syscall(SYS_clone, flags, NULL, pidfd, NULL, 0UL);
}
