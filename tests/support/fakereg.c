/* fakereg.c — fixture registries for tests (fakereg.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "b64.h"
#include "fakereg.h"
#include "testutil.h"

void tu_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

void tu_write_json(const char *path, const cJSON *j)
{
    char *s = cJSON_Print(j);
    tu_write_text(path, s);
    free(s);
}

void fakereg_init(struct fakereg *r, const char *parent)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s/registry", parent);
    snprintf(r->log, sizeof r->log, "%s/requests.log", parent);
    snprintf(r->scratch, sizeof r->scratch, "%s", parent);
    char p[4400];
    mkdir(r->dir, 0755);
    snprintf(p, sizeof p, "%s/tarballs", r->dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/files", r->dir);
    mkdir(p, 0755);
}

static void digest_b64(const char *path, const EVP_MD *md, char *out, size_t outsz, bool as_hex)
{
    size_t len;
    char *data = tu_read_file(path, &len);
    assert_non_null(data);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    assert_true(EVP_Digest(data, len, d, &n, md, NULL));
    free(data);
    if (as_hex) {
        for (unsigned i = 0; i < n; i++) snprintf(out + 2 * i, outsz - 2 * i, "%02x", d[i]);
        return;
    }
    char *b = b64_encode(d, n);
    snprintf(out, outsz, "%s", b);
    free(b);
}

cJSON *fakereg_version(const struct fakereg *r, const char *name, const char *version, const char *extra_json,
                       const char *const *files)
{
    char pkgdir[4400], file[8800], cmd[20000], tgz[8800], fname[600];
    snprintf(pkgdir, sizeof pkgdir, "%s/src-%d-%s", r->scratch, rand(), version);
    snprintf(file, sizeof file, "mkdir -p '%s/package'", pkgdir);
    assert_int_equal(system(file), 0);
    cJSON *m = extra_json ? cJSON_Parse(extra_json) : cJSON_CreateObject();
    assert_non_null(m);
    if (!cJSON_GetObjectItem(m, "name")) cJSON_AddStringToObject(m, "name", name);
    if (!cJSON_GetObjectItem(m, "version")) cJSON_AddStringToObject(m, "version", version);
    snprintf(file, sizeof file, "%s/package/package.json", pkgdir);
    tu_write_json(file, m);
    snprintf(file, sizeof file, "%s/package/index.js", pkgdir);
    tu_write_text(file, "module.exports = 1;\n");
    for (int i = 0; files && files[i] && files[i + 1]; i += 2) {
        snprintf(file, sizeof file, "%s/package/%s", pkgdir, files[i]);
        tu_write_text(file, files[i + 1]);
    }
    snprintf(fname, sizeof fname, "%s-%s.tgz", name[0] == '@' ? strchr(name, '/') + 1 : name, version);
    snprintf(tgz, sizeof tgz, "%s/tarballs/%s", r->dir, fname);
    snprintf(cmd, sizeof cmd, "tar --owner=0 --group=0 --numeric-owner -czf '%s' -C '%s' package", tgz, pkgdir);
    assert_int_equal(system(cmd), 0);
    char sri[200], sha1[64], url[700];
    digest_b64(tgz, EVP_sha512(), sri, sizeof sri, false);
    digest_b64(tgz, EVP_sha1(), sha1, sizeof sha1, true);
    cJSON *dist = cJSON_AddObjectToObject(m, "dist");
    snprintf(url, sizeof url, "{{REGISTRY}}/tarballs/%s", fname);
    cJSON_AddStringToObject(dist, "tarball", url);
    char full[220];
    snprintf(full, sizeof full, "sha512-%s", sri);
    cJSON_AddStringToObject(dist, "integrity", full);
    cJSON_AddStringToObject(dist, "shasum", sha1);
    return m;
}

cJSON *fakereg_packument(const char *name, const char *latest)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", name);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "dist-tags"), "latest", latest);
    cJSON_AddObjectToObject(p, "versions");
    cJSON_AddObjectToObject(p, "time");
    return p;
}

void fakereg_add_version(cJSON *p, cJSON *m, const char *when)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(m, "version"));
    cJSON_AddStringToObject(cJSON_GetObjectItem(p, "time"), v, when);
    cJSON_AddItemToObject(cJSON_GetObjectItem(p, "versions"), v, m);
}

void fakereg_save(const struct fakereg *r, const cJSON *p)
{
    char path[5000], esc[600];
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(p, "name"));
    size_t w = 0;
    for (const char *c = name; *c && w < sizeof esc - 4; c++) {
        if (*c == '/') { memcpy(esc + w, "%2f", 3); w += 3; }
        else esc[w++] = *c;
    }
    esc[w] = 0;
    snprintf(path, sizeof path, "%s/%s.json", r->dir, esc);
    tu_write_json(path, p);
}

void fakereg_start(struct fakereg *r, const char *token)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    r->pid = fork();
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);   /* dies with a test that fails before stopping it */
        dup2(p[1], 1);
        close(p[0]);
        const char *bin = tu_build("tests/tools/fakeregistry");
        if (token) execl(bin, bin, r->dir, "--log", r->log, "--token", token, (char *)NULL);
        else execl(bin, bin, r->dir, "--log", r->log, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[32] = "";
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    assert_true(n > 0);
    buf[n] = 0;
    r->port = atoi(buf);
    assert_true(r->port > 0);
    snprintf(r->url, sizeof r->url, "http://127.0.0.1:%d/", r->port);
}

void fakereg_stop(struct fakereg *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
}

void fakereg_client_env(const char *home)
{
    mkdir(home, 0755);
    setenv("HOME", home, 1);
    setenv("npm_config_globalconfig", "/nonexistent/npmrc", 1);
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    unsetenv("npm_config_registry");
    unsetenv("NPM_CONFIG_REGISTRY");
}
