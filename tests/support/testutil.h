/*
 * testutil.h — helpers shared by the cmocka suites: run a program and capture its output,
 * read files, find build artefacts, parse JSON. Tests include this after cmocka's headers.
 */
#ifndef SCRIPTBOX_TESTUTIL_H
#define SCRIPTBOX_TESTUTIL_H

#include <stddef.h>
#include <cjson/cJSON.h>

struct tu_run {
    int status;      /* exit code, or 128+signal */
    char *out;       /* stdout, NUL-terminated */
    char *err;       /* stderr, NUL-terminated */
};

/* Run argv (NULL-terminated) with the current environment; capture everything. */
int tu_run(const char *const argv[], struct tu_run *r);
void tu_run_free(struct tu_run *r);

/* Path to a file under the build directory ($BUILD or "build"), e.g. tu_build("scriptbox"). */
const char *tu_build(const char *rel);
/* Path to a file under the source tree, e.g. tu_src("tests/fixtures/x"). */
const char *tu_src(const char *rel);

char *tu_read_file(const char *path, size_t *len);   /* NULL if unreadable */
cJSON *tu_read_json(const char *path);
char *tu_mkdtemp(void);                               /* fresh private dir under TMPDIR */
void tu_rm_rf(const char *path);
/* A private TMPDIR for the program under test (so a test can check nothing is left there) and a
 * scratch folder for the test's own files. open sets TMPDIR; close unsets it and removes both. */
struct tu_dirs {
    char *tmp, *out;
};
void tu_dirs_open(struct tu_dirs *d);
void tu_dirs_close(struct tu_dirs *d);

/* cmocka setup/teardown giving each test a struct tu_dirs as its state. */
int tu_dirs_setup(void **state);
int tu_dirs_teardown(void **state);
/* Pack tests/fixtures/packages/NAME as npm does (one top folder "package/") into d->out; the
 * path is valid until the next call. */
const char *tu_pack(const struct tu_dirs *d, const char *name);

/* "root" or "rootless", from SCRIPTBOX_TEST_MODE. */
const char *tu_mode(void);

#endif
