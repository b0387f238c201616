/*
 * lockfile.h — npm lockfiles (package-lock.json / npm-shrinkwrap.json, lockfileVersion 2 and 3)
 * and what changed between two of them: the packages a pull request brings in.
 *
 * Contract
 *  - Only the "packages" map is read (v2 also carries the v1 "dependencies" tree; it is ignored).
 *    The root entry (""), workspace links ("link": true) and workspace folders (paths
 *    without "node_modules/") are the project's own code, not packages to vet: skipped; lockfileVersion 1 is refused with the fix (npm >= 7 rewrites it).
 *  - A package's name is its "name" field when present (npm aliases install `bar` under
 *    node_modules/foo), else the path after the last "node_modules/".
 *  - The lockfile is hostile input too: size-capped, every field type-checked; a malformed entry
 *    fails the parse with its path named, never silently skipped.
 *  - Diff identity is (name, version, integrity-or-resolved), wherever the package sits in the
 *    tree: re-hoisting is not a change. Identical packages at several paths are one delta.
 */
#ifndef SCRIPTBOX_LOCKFILE_H
#define SCRIPTBOX_LOCKFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define LOCKFILE_MAX_BYTES ((size_t)256 << 20)

struct lock_pkg {
    char *path;          /* "node_modules/a/node_modules/b" */
    char *name;          /* "b", "@scope/b" */
    char *version;       /* never NULL */
    char *resolved;      /* tarball URL, or NULL */
    char *integrity;     /* SRI string, or NULL */
    bool has_install_script, dev, optional;
};

struct lockfile {
    int version;             /* lockfileVersion: 2 or 3 */
    struct lock_pkg *pkgs;
    size_t n;
};

/* Parse lockfile text; `what` names it in errors ("package-lock.json", "base HEAD~1").
 * Errors: SB_EXIT_INPUT "bad-lockfile". */
int lockfile_parse(const char *text, size_t len, const char *what, struct lockfile *out, struct sb_error *err);
/* Read and parse a file (at most LOCKFILE_MAX_BYTES). */
int lockfile_load(const char *path, struct lockfile *out, struct sb_error *err);
void lockfile_free(struct lockfile *l);

enum lock_change { LOCK_ADDED, LOCK_CHANGED };

struct lock_delta {
    const struct lock_pkg *pkg;     /* points into head */
    enum lock_change change;        /* CHANGED: base has this name at another version/integrity */
    const char *base_version;       /* CHANGED: one version base had (points into base) */
};

/* Packages of head not in base (base NULL: all of head), in head's order, without duplicates.
 * *out is malloc'd (free it); returns 0, or -1 when out of memory. */
int lockfile_diff(const struct lockfile *base, const struct lockfile *head, struct lock_delta **out, size_t *n);

#endif
