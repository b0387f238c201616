/* caps.c — leave the payload with no capability in any set. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core.h"

static int last_cap(void)
{
    /* The running kernel may know more caps than our headers: ask it. */
    char buf[16] = {0};
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0) return atoi(buf);
    }
    return CAP_LAST_CAP;
}

int sbx_caps_drop_bounding(sbx_error *err)
{
    /* Needs CAP_SETPCAP in our own user ns: done before giving up uid 0. */
    int last = last_cap();
    for (int c = 0; c <= last; c++)
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            return sbx_fail(err, SBX_E_SETUP, errno, "dropping capability %d from the bounding set: %s",
                            c, strerror(errno));
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return sbx_fail(err, SBX_E_SETUP, errno, "clearing ambient capabilities: %s", strerror(errno));
    return 0;
}

int sbx_caps_clear(sbx_error *err)
{
    cap_t empty = cap_init();
    if (!empty) return sbx_fail(err, SBX_E_INTERNAL, errno, "cap_init: %s", strerror(errno));
    int rc = cap_set_proc(empty);
    int e = errno;
    cap_free(empty);
    if (rc < 0) return sbx_fail(err, SBX_E_SETUP, e, "emptying capability sets: %s", strerror(e));
    return 0;
}
