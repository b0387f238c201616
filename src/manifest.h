/*
 * manifest.h — a package's package.json, read defensively.
 *
 * The file is read with a size bound (1 MiB), parsed with cJSON with a nesting bound, and must be
 * a JSON object; name and version must be strings and the name must be a valid npm name (no
 * path tricks: it becomes a folder name). Anything else is an input error (SB_EXIT_INPUT,
 * code "bad-manifest") whose message says what is wrong. Non-string scripts are an error too.
 *
 * Also refused: a symlinked or non-regular package.json, nesting deeper than 64, NUL bytes and
 * \u0000 escapes (a C string would cut them, JavaScript would not). A leading UTF-8 BOM is
 * skipped, as npm does. Keys are case-sensitive, and where an object repeats a key the last
 * value wins, as with JSON.parse, so we see the same scripts npm would run.
 */
#ifndef SCRIPTBOX_MANIFEST_H
#define SCRIPTBOX_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "error.h"

struct manifest {
    cJSON *json;            /* the whole object (owned) */
    const char *name;       /* borrowed from json */
    const char *version;    /* borrowed from json */
    const cJSON *scripts;   /* object of string values, or NULL */
    bool has_binding_gyp;   /* binding.gyp beside package.json is a regular file (through
                               symlinks that stay inside the package, as npm's stat() would) */
    size_t raw_len;         /* size of package.json in bytes */
};

/* Load package.json from an open package folder. */
int manifest_load(int pkg_dirfd, struct manifest *m, struct sb_error *err);
void manifest_free(struct manifest *m);

/* The script for a lifecycle event, or NULL (also for an empty one: npm skips those). */
const char *manifest_script(const struct manifest *m, const char *event);

/* true when name is a valid npm package name ("x", "@scope/x"), safe as a relative path. */
bool manifest_valid_name(const char *name);

#endif
