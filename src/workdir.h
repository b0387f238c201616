/*
 * workdir.h — the run's private work folder on the host.
 *
 * Created fresh under $TMPDIR (or /tmp) as "scriptbox.XXXXXX"; holds the unpacked package and the
 * seeds of the sandbox's writable areas. Removal never follows symlinks and never leaves the
 * folder (a package can put anything in there). A run killed by SIGKILL leaves its folder; the
 * next run removes such stale folders of the same user (their ".lock" is no longer held).
 */
#ifndef SCRIPTBOX_WORKDIR_H
#define SCRIPTBOX_WORKDIR_H

#include "error.h"

struct workdir {
    char path[4096];
    int fd;            /* dirfd of the work dir */
    int lock_fd;       /* ".lock", flock()ed while the run lives */
};

int workdir_create(struct workdir *w, struct sb_error *err);
/* mkdir -p of a relative path below the work dir; returns an open dirfd or -1. */
int workdir_mkdirs(const struct workdir *w, const char *rel, struct sb_error *err);
/* Remove the work dir and everything below it; closes w->fd. Safe to call twice. */
int workdir_remove(struct workdir *w, struct sb_error *err);

#endif
