/* fileio.c — bounded whole-file reads (fileio.h). */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(int fd, int e)
{
    if (fd >= 0) close(fd);
    errno = e;
    return -1;
}

char *file_read_bounded(const char *path, size_t max, unsigned flags, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (flags & FILEIO_NOFOLLOW ? O_NOFOLLOW : 0));
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) return fail(fd, errno), NULL;
    if (!S_ISREG(st.st_mode)) return fail(fd, EINVAL), NULL;
    if ((unsigned long long)st.st_size > max) return fail(fd, EFBIG), NULL;
    size_t size = (size_t)st.st_size, got = 0;
    char *buf = malloc(size + 1);
    if (!buf) return fail(fd, ENOMEM), NULL;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != size) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    buf[got] = 0;
    if (len) *len = got;
    return buf;
}
