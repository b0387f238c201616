/*
 * diff.h — what changed between two versions of a package (`scriptbox diff A B`).
 *
 * A snapshot is a package folder's files (path, type, size, sha256; symlinks by their target,
 * never followed) and its package.json. Comparing two snapshots gives the files added, removed
 * and changed, the scripts added, removed and changed (install scripts marked) and the
 * dependencies added, removed and changed. The folders are read only: tarballs are unpacked by
 * the unpacker before they get here (cmd_diff.c).
 */
#ifndef SCRIPTBOX_DIFF_H
#define SCRIPTBOX_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "error.h"

enum { DIFF_MAX_FILES = 20000, DIFF_MAX_DEPTH = 64 };

struct diff_file {
    char *path;           /* relative to the package folder, '/'-separated */
    char type;            /* 'f' regular file, 'l' symlink, 'o' anything else */
    uint64_t size;
    char sha256[65];      /* hex; of the link target for a symlink; "" for others */
};

struct diff_snapshot {
    struct diff_file *files;   /* sorted by path */
    size_t nfiles;
    uint64_t skipped;          /* over DIFF_MAX_FILES or DIFF_MAX_DEPTH: not listed */
    cJSON *manifest;           /* package.json, or NULL */
};

/* Walk an open package folder (not closed). Errors: SB_EXIT_INPUT "diff-read". */
int diff_snapshot_take(int dirfd, struct diff_snapshot *s, struct sb_error *err);
void diff_snapshot_free(struct diff_snapshot *s);

/* {"files": {added, removed, changed, unchanged}, "scripts": {added, removed, changed},
 *  "dependencies": {added, removed, changed}} — see README "scriptbox diff". */
cJSON *diff_compare(const struct diff_snapshot *a, const struct diff_snapshot *b);

/* Is this a script npm runs on install (preinstall, install, postinstall, prepare)? */
int diff_is_install_script(const char *name);

#endif
