/*
 * fileio.h — read a whole file that the caller bounds: rule files, event streams, lockfiles,
 * packuments, cached reports. One implementation, so every reader refuses the same things.
 */
#ifndef SCRIPTBOX_FILEIO_H
#define SCRIPTBOX_FILEIO_H

#include <stddef.h>

enum { FILEIO_NOFOLLOW = 1 };   /* refuse a symlink as the last component */

/* The file's bytes, NUL-terminated (so text can be parsed in place), and *len. NULL with errno:
 * the open/read error, EINVAL when it is not a regular file, EFBIG when larger than max, EIO
 * when it changed size while read, ENOMEM. */
char *file_read_bounded(const char *path, size_t max, unsigned flags, size_t *len);

#endif
