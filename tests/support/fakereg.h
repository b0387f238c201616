/*
 * fakereg.h — fixture registries for tests: package versions made at test time (real tarballs
 * with their SRI and shasum), packuments, and tests/tools/fakeregistry serving them on 127.0.0.1.
 * Failures are cmocka assertions.
 */
#ifndef SCRIPTBOX_TEST_FAKEREG_H
#define SCRIPTBOX_TEST_FAKEREG_H

#include <sys/types.h>

#include <cjson/cJSON.h>

struct fakereg {
    char dir[4200];      /* served folder: <name>.json, tarballs/, files/, keys.json */
    char log[4200];      /* one line per request */
    char scratch[4200];  /* where package sources are staged */
    char url[64];        /* "http://127.0.0.1:PORT/" once started */
    pid_t pid;
    int port;
};

/* <parent>/registry (+ tarballs/, files/), log and scratch under parent. */
void fakereg_init(struct fakereg *r, const char *parent);
/* tarballs/<name>-<version>.tgz holding package.json (extra_json merged, name and version set),
 * index.js and files ({"path", "text", ..., NULL} or NULL). Returns the packument's version entry
 * with dist.tarball ("{{REGISTRY}}/tarballs/..."), dist.integrity and dist.shasum. */
cJSON *fakereg_version(const struct fakereg *r, const char *name, const char *version, const char *extra_json,
                       const char *const *files);
cJSON *fakereg_packument(const char *name, const char *latest);
void fakereg_add_version(cJSON *packument, cJSON *version, const char *published);
void fakereg_save(const struct fakereg *r, const cJSON *packument);
/* Start serving (every request must carry "Bearer token" when token is set). */
void fakereg_start(struct fakereg *r, const char *token);
void fakereg_stop(struct fakereg *r);

/* What a client of the fixture registry runs with: a private HOME (made), no global npmrc, no
 * proxy for loopback, no registry from the environment (tests pass --registry). */
void fakereg_client_env(const char *home);

void tu_write_text(const char *path, const char *text);
void tu_write_json(const char *path, const cJSON *j);

#endif
