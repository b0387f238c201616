/*
 * test_registry.c — `scriptbox analyze name@spec` against tests/tools/fakeregistry on 127.0.0.1.
 *
 * Every fixture is made here, at test time: package tarballs (tar), their integrity (OpenSSL),
 * packuments, a P-256 key pair for registry signatures and the keys document. Nothing leaves
 * loopback: the fake registry is the only server, proxies are bypassed with NO_PROXY, HOME and the
 * global npmrc point at private folders, and every run has its own --cache.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "b64.h"
#include "fakereg.h"
#include "testutil.h"

struct fx {
    struct tu_dirs d;
    struct fakereg r;
    char cache[4200], home[4200];
    EVP_PKEY *key;
};

static cJSON *getm(cJSON *o, const char *key);
static const cJSON *get(const cJSON *o, const char *key);

/* ---- fixtures ----------------------------------------------------------------------------- */

static cJSON *make_version(struct fx *f, const char *name, const char *version, const char *extra_json)
{
    return fakereg_version(&f->r, name, version, extra_json, NULL);
}

/* Registry signature over "<name>@<version>:<integrity>". */
static void sign_version(struct fx *f, cJSON *m, const char *keyid, const char *override_msg)
{
    const cJSON *dist = cJSON_GetObjectItem(m, "dist");
    char msg[1024];
    snprintf(msg, sizeof msg, "%s@%s:%s", cJSON_GetStringValue(cJSON_GetObjectItem(m, "name")),
             cJSON_GetStringValue(cJSON_GetObjectItem(m, "version")), cJSON_GetStringValue(cJSON_GetObjectItem(dist, "integrity")));
    if (override_msg) snprintf(msg, sizeof msg, "%s", override_msg);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t len = 0;
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, f->key), 1);
    assert_int_equal(EVP_DigestSign(ctx, NULL, &len, (const unsigned char *)msg, strlen(msg)), 1);
    unsigned char *sig = malloc(len);
    assert_int_equal(EVP_DigestSign(ctx, sig, &len, (const unsigned char *)msg, strlen(msg)), 1);
    EVP_MD_CTX_free(ctx);
    char *b = b64_encode(sig, len);
    free(sig);
    cJSON *sigs = cJSON_AddArrayToObject((cJSON *)dist, "signatures");
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "keyid", keyid);
    cJSON_AddStringToObject(s, "sig", b);
    cJSON_AddItemToArray(sigs, s);
    free(b);
}

static void write_keys(struct fx *f)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(f->key, &der);
    assert_true(n > 0);
    char *b = b64_encode(der, (size_t)n);
    OPENSSL_free(der);
    cJSON *k = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(k, "keys");
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNullToObject(e, "expires");
    cJSON_AddStringToObject(e, "keyid", "SHA256:testkey");
    cJSON_AddStringToObject(e, "keytype", "ecdsa-sha2-nistp256");
    cJSON_AddStringToObject(e, "scheme", "ecdsa-sha2-nistp256");
    cJSON_AddStringToObject(e, "key", b);
    cJSON_AddItemToArray(arr, e);
    char path[4400];
    snprintf(path, sizeof path, "%s/keys.json", f->r.dir);
    tu_write_json(path, k);
    cJSON_Delete(k);
    free(b);
}

/* ---- server and runs ------------------------------------------------------------------------ */

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    tu_dirs_open(&f->d);
    fakereg_init(&f->r, f->d.out);
    snprintf(f->cache, sizeof f->cache, "%s/cache", f->d.out);
    snprintf(f->home, sizeof f->home, "%s/home", f->d.out);
    fakereg_client_env(f->home);
    f->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(f->key);
    write_keys(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    fakereg_stop(&f->r);
    EVP_PKEY_free(f->key);
    tu_dirs_close(&f->d);
    free(f);
    return 0;
}

/* Run analyze; returns the report (or NULL when none was written); *status and stderr kept. */
static cJSON *analyze(struct fx *f, const char *spec, int expect, char **stderr_out, const char *const *extra)
{
    char report[4400];
    snprintf(report, sizeof report, "%s/report.json", f->d.out);
    unlink(report);
    const char *argv[32] = {tu_build("scriptbox"), "analyze", spec, "--format", "json", "--output", report, "--cache", f->cache};
    int n = 9;
    bool has_registry = false;
    for (int i = 0; extra && extra[i] && n < 30; i++) {
        if (!strcmp(extra[i], "--registry")) has_registry = true;
        argv[n++] = extra[i];
    }
    if (!has_registry) {
        argv[n++] = "--registry";
        argv[n++] = f->r.url;
    }
    argv[n] = NULL;
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    if (r.status != expect) fprintf(stderr, "%s: status %d, stderr: %s\n", spec, r.status, r.err);
    assert_int_equal(r.status, expect);
    if (stderr_out) *stderr_out = strdup(r.err);
    tu_run_free(&r);
    return tu_read_json(report);
}

static cJSON *getm(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) fail_msg("missing key %s", key);
    return v;
}

static const cJSON *get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) fail_msg("missing key %s", key);
    return v;
}

static const char *gets(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = get(o, a);
    const char *s = cJSON_GetStringValue(get(x, b));
    if (!s) fail_msg("%s.%s is not a string", a, b);
    return s;
}

static void expect_version(struct fx *f, const char *spec, const char *version, const char *kind)
{
    cJSON *j = analyze(f, spec, 0, NULL, NULL);
    assert_non_null(j);
    if (strcmp(gets(j, "package", "version"), version)) fail_msg("%s resolved to %s, not %s", spec, gets(j, "package", "version"), version);
    assert_string_equal(gets(j, "registry", "version"), version);
    assert_string_equal(gets(j, "registry", "spec_kind"), kind);
    assert_string_equal(cJSON_GetStringValue(get(get(get(j, "package"), "source"), "kind")), "registry");
    cJSON_Delete(j);
}

/* demo: 1.0.0, 1.1.0 (latest), 1.2.0-beta.1, 2.0.0 (tag next) */
static void make_demo(struct fx *f)
{
    cJSON *p = fakereg_packument("demo", "1.1.0");
    fakereg_add_version(p, make_version(f, "demo", "1.0.0", NULL), "2020-01-01T00:00:00.000Z");
    fakereg_add_version(p, make_version(f, "demo", "1.1.0", NULL), "2020-02-01T00:00:00.000Z");
    fakereg_add_version(p, make_version(f, "demo", "1.2.0-beta.1", NULL), "2020-03-01T00:00:00.000Z");
    fakereg_add_version(p, make_version(f, "demo", "2.0.0", NULL), "2020-04-01T00:00:00.000Z");
    cJSON_AddStringToObject(getm(p, "dist-tags"), "next", "2.0.0");
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
}

/* ---- tests -------------------------------------------------------------------------------------- */

static void resolves_exact_tag_and_range(void **state)
{
    struct fx *f = *state;
    make_demo(f);
    fakereg_start(&f->r, NULL);
    expect_version(f, "demo", "1.1.0", "tag");
    expect_version(f, "demo@1.0.0", "1.0.0", "version");
    expect_version(f, "demo@next", "2.0.0", "tag");
    expect_version(f, "demo@^1", "1.1.0", "range");
    expect_version(f, "demo@^2", "2.0.0", "range");
    expect_version(f, "demo@>=1.0.0 <1.1.0", "1.0.0", "range");
    expect_version(f, "demo@^1.2.0-beta.0", "1.2.0-beta.1", "range");
    char *err = NULL;
    cJSON *j = analyze(f, "demo@^3", 2, &err, NULL);
    assert_null(j);
    assert_non_null(strstr(err, "error[no-matching-version]"));
    free(err);
    j = analyze(f, "nosuchpkg", 2, &err, NULL);
    assert_non_null(strstr(err, "error[registry-not-found]"));
    assert_non_null(strstr(err, "404"));
    free(err);
    /* the full packument was asked for, and the report carries the facts */
    size_t n;
    char *log = tu_read_file(f->r.log, &n);
    assert_non_null(strstr(log, "GET /demo auth=- accept=application/json\n"));
    assert_null(strstr(log, "corgi"));
    free(log);
    j = analyze(f, "demo@1.0.0", 0, NULL, NULL);
    const cJSON *r = get(j, "registry");
    assert_string_equal(gets(j, "registry", "resolved_from"), "1.0.0");
    assert_int_equal(get(r, "versions_count")->valueint, 4);
    assert_string_equal(gets(j, "registry", "integrity_verified_with"), "sha512");
    assert_true(cJSON_IsTrue(get(r, "tarball_from_cache")));   /* fetched by an earlier run */
    assert_string_equal(gets(j, "registry", "integrity"), gets(j, "package", "integrity"));
    cJSON_Delete(j);
}

static void local_targets_have_null_registry(void **state)
{
    struct fx *f = *state;
    make_demo(f);
    char tgz[4400];
    snprintf(tgz, sizeof tgz, "%s/tarballs/demo-1.0.0.tgz", f->r.dir);
    const char *argv[] = {tu_build("scriptbox"), "analyze", tgz, "--format", "json", NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    assert_int_equal(r.status, 0);
    cJSON *j = cJSON_Parse(r.out);
    assert_true(cJSON_IsNull(get(j, "registry")));
    cJSON_Delete(j);
    tu_run_free(&r);
}

static void integrity_mismatch_is_refused(void **state)
{
    struct fx *f = *state;
    cJSON *p = fakereg_packument("tampered", "1.0.0");
    cJSON *m = make_version(f, "tampered", "1.0.0", NULL);
    /* the integrity of other bytes */
    cJSON *other = make_version(f, "other", "9.9.9", NULL);
    cJSON_ReplaceItemInObject(getm(m, "dist"), "integrity",
                              cJSON_CreateString(gets(other, "dist", "integrity")));
    cJSON_Delete(other);
    fakereg_add_version(p, m, "2020-01-01T00:00:00.000Z");
    /* sha1 shasum only, wrong too */
    cJSON *m2 = make_version(f, "tampered", "1.0.1", NULL);
    cJSON_DeleteItemFromObject(getm(m2, "dist"), "integrity");
    cJSON_ReplaceItemInObject(getm(m2, "dist"), "shasum", cJSON_CreateString("0000000000000000000000000000000000000000"));
    fakereg_add_version(p, m2, "2020-01-02T00:00:00.000Z");
    /* several hashes: the strongest algorithm decides (sha512 right, sha1 wrong: accepted) */
    cJSON *m3 = make_version(f, "tampered", "1.0.2", NULL);
    char multi[400];
    snprintf(multi, sizeof multi, "sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA= %s", gets(m3, "dist", "integrity"));
    cJSON_ReplaceItemInObject(getm(m3, "dist"), "integrity", cJSON_CreateString(multi));
    fakereg_add_version(p, m3, "2020-01-03T00:00:00.000Z");
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
    fakereg_start(&f->r, NULL);
    char *err = NULL;
    assert_null(analyze(f, "tampered@1.0.0", 2, &err, NULL));
    assert_non_null(strstr(err, "error[integrity-mismatch]"));
    assert_non_null(strstr(err, "refusing to unpack"));
    free(err);
    assert_null(analyze(f, "tampered@1.0.1", 2, &err, NULL));
    assert_non_null(strstr(err, "error[integrity-mismatch]"));
    assert_non_null(strstr(err, "shasum"));
    free(err);
    cJSON *j = analyze(f, "tampered@1.0.2", 0, NULL, NULL);
    assert_string_equal(gets(j, "registry", "integrity_verified_with"), "sha512");
    cJSON_Delete(j);
}

static void signatures_valid_invalid_absent_unknown(void **state)
{
    struct fx *f = *state;
    cJSON *p = fakereg_packument("signed", "1.0.0");
    cJSON *m = make_version(f, "signed", "1.0.0", NULL);
    sign_version(f, m, "SHA256:testkey", NULL);
    fakereg_add_version(p, m, "2020-01-01T00:00:00.000Z");
    m = make_version(f, "signed", "1.0.1", NULL);
    sign_version(f, m, "SHA256:testkey", "signed@6.6.6:sha512-forged");
    fakereg_add_version(p, m, "2020-01-02T00:00:00.000Z");
    fakereg_add_version(p, make_version(f, "signed", "1.0.2", NULL), "2020-01-03T00:00:00.000Z");
    m = make_version(f, "signed", "1.0.3", NULL);
    sign_version(f, m, "SHA256:otherkey", NULL);
    fakereg_add_version(p, m, "2020-01-04T00:00:00.000Z");
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
    fakereg_start(&f->r, NULL);
    static const char *const want[][2] = {{"signed@1.0.0", "valid"}, {"signed@1.0.1", "invalid"},
                                          {"signed@1.0.2", "absent"}, {"signed@1.0.3", "unknown-key"}};
    for (int i = 0; i < 4; i++) {
        cJSON *j = analyze(f, want[i][0], 0, NULL, NULL);
        if (strcmp(gets(j, "registry", "signatures"), want[i][1]))
            fail_msg("%s: signatures %s, want %s", want[i][0], gets(j, "registry", "signatures"), want[i][1]);
        cJSON_Delete(j);
    }
    /* keys from a file override the registry's; an empty key list makes every key unknown */
    char keys[4400];
    snprintf(keys, sizeof keys, "%s/nokeys.json", f->d.out);
    tu_write_text(keys, "{\"keys\":[]}");
    const char *extra[] = {"--registry-keys", keys, NULL};
    cJSON *j = analyze(f, "signed@1.0.0", 0, NULL, extra);
    assert_string_equal(gets(j, "registry", "signatures"), "unknown-key");
    cJSON_Delete(j);
    const char *badkeys[] = {"--registry-keys", "/nonexistent/keys.json", NULL};
    char *err = NULL;
    assert_null(analyze(f, "signed@1.0.0", 2, &err, badkeys));
    assert_non_null(strstr(err, "error[registry-keys]"));
    free(err);
    /* no keys anywhere (the registry has none, the new cache none): keys-unavailable */
    char cache2[4400];
    snprintf(cache2, sizeof cache2, "%s/cache2", f->d.out);
    snprintf(keys, sizeof keys, "%s/keys.json", f->r.dir);
    unlink(keys);
    const char *extra2[] = {"--cache", cache2, NULL};
    j = analyze(f, "signed@1.0.0", 0, NULL, extra2);
    assert_string_equal(gets(j, "registry", "signatures"), "keys-unavailable");
    assert_true(cJSON_IsTrue(get(get(get(j, "registry"), "available"), "signatures")));
    cJSON_Delete(j);
}

static void server_faults_give_clear_errors(void **state)
{
    struct fx *f = *state;
    cJSON *p = fakereg_packument("faulty", "1.0.0");
    static const char *const kinds[] = {"truncate", "badlen", "500", "flaky"};
    for (int i = 0; i < 4; i++) {
        char v[16];
        snprintf(v, sizeof v, "1.0.%d", i);
        cJSON *m = make_version(f, "faulty", v, NULL);
        char url[800];
        snprintf(url, sizeof url, "%s?fault=%s", gets(m, "dist", "tarball"), kinds[i]);
        cJSON_ReplaceItemInObject(getm(m, "dist"), "tarball", cJSON_CreateString(url));
        fakereg_add_version(p, m, "2020-01-01T00:00:00.000Z");
    }
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
    fakereg_start(&f->r, NULL);
    char *err = NULL;
    assert_null(analyze(f, "faulty@1.0.0", 2, &err, NULL));
    assert_non_null(strstr(err, "error[registry-truncated]"));
    assert_non_null(strstr(err, "fix:"));
    free(err);
    assert_null(analyze(f, "faulty@1.0.1", 2, &err, NULL));
    assert_non_null(strstr(err, "error[registry-truncated]"));
    free(err);
    assert_null(analyze(f, "faulty@1.0.2", 2, &err, NULL));
    assert_non_null(strstr(err, "error[registry-http]"));
    assert_non_null(strstr(err, "HTTP 500"));
    assert_non_null(strstr(err, "3 tries"));
    free(err);
    cJSON *j = analyze(f, "faulty@1.0.3", 0, NULL, NULL);   /* one 500, then the retry succeeds */
    assert_non_null(j);
    cJSON_Delete(j);
    /* a packument that never comes: the client's timeout */
    const char *extra[] = {"--timeout-registry", "1", NULL};
    time_t t0 = time(NULL);
    assert_null(analyze(f, "fault-hang", 2, &err, extra));
    assert_non_null(strstr(err, "error[registry-timeout]"));
    assert_non_null(strstr(err, "--timeout-registry"));
    assert_true(time(NULL) - t0 < 20);
    free(err);
    assert_null(analyze(f, "fault-500", 2, &err, NULL));
    assert_non_null(strstr(err, "HTTP 500"));
    free(err);
    /* nothing listening */
    const char *dead[] = {"--registry", "http://127.0.0.1:1/", NULL};
    assert_null(analyze(f, "demo", 2, &err, dead));
    assert_non_null(strstr(err, "error[registry-connect]"));
    free(err);
    /* size caps: the packument, then the tarball */
    const char *cap1[] = {"--max-packument-bytes", "100", NULL};
    assert_null(analyze(f, "faulty@1.0.3", 2, &err, cap1));
    assert_non_null(strstr(err, "error[registry-too-large]"));
    assert_non_null(strstr(err, "100 bytes cap"));
    free(err);
    char cache3[4400];   /* a fresh cache: the tarball is not there yet */
    snprintf(cache3, sizeof cache3, "%s/cache3", f->d.out);
    const char *cap2[] = {"--max-tarball-bytes", "10", "--cache", cache3, NULL};
    assert_null(analyze(f, "faulty@1.0.3", 2, &err, cap2));
    assert_non_null(strstr(err, "error[registry-too-large]"));
    assert_non_null(strstr(err, "tarball of faulty@1.0.3"));
    free(err);
}

static void offline_uses_only_the_cache(void **state)
{
    struct fx *f = *state;
    make_demo(f);
    fakereg_start(&f->r, NULL);
    const char *off[] = {"--offline", NULL};
    char *err = NULL;
    assert_null(analyze(f, "demo", 2, &err, off));
    assert_non_null(strstr(err, "error[offline-missing]"));
    assert_non_null(strstr(err, "without --offline"));
    free(err);
    cJSON *j = analyze(f, "demo@^1", 0, NULL, NULL);
    cJSON_Delete(j);
    fakereg_stop(&f->r);   /* nothing is served any more */
    j = analyze(f, "demo@^1", 0, NULL, off);
    assert_non_null(j);
    assert_string_equal(gets(j, "package", "version"), "1.1.0");
    assert_true(cJSON_IsTrue(get(get(j, "registry"), "packument_from_cache")));
    assert_true(cJSON_IsTrue(get(get(j, "registry"), "tarball_from_cache")));
    assert_string_equal(gets(j, "registry", "signatures"), "absent");
    cJSON_Delete(j);
    /* a version whose tarball was never fetched */
    assert_null(analyze(f, "demo@2.0.0", 2, &err, off));
    assert_non_null(strstr(err, "error[offline-missing]"));
    assert_non_null(strstr(err, "demo@2.0.0"));
    free(err);
    /* a tampered cache entry is not used */
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "for t in '%s'/tarballs/*.tgz; do printf x >> \"$t\"; done", f->cache);
    assert_int_equal(system(cmd), 0);
    assert_null(analyze(f, "demo@^1", 2, &err, off));
    assert_non_null(strstr(err, "error[offline-missing]"));
    free(err);
}

static void npmrc_scoped_registry_and_token(void **state)
{
    struct fx *f = *state;
    cJSON *p = fakereg_packument("@corp/tool", "1.0.0");
    fakereg_add_version(p, make_version(f, "@corp/tool", "1.0.0", NULL), "2020-01-01T00:00:00.000Z");
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
    fakereg_start(&f->r, "t0ken-123");
    char rc[9000], path[4400];
    snprintf(rc, sizeof rc, "registry=http://127.0.0.1:1/\n@corp:registry=%s\n//127.0.0.1:%d/:_authToken=${TEST_REG_TOKEN}\n", f->r.url, f->r.port);
    snprintf(path, sizeof path, "%s/.npmrc", f->home);
    tu_write_text(path, rc);
    setenv("TEST_REG_TOKEN", "t0ken-123", 1);
    const char *none[] = {"--registry", "http://127.0.0.1:1/", NULL};   /* --registry does not beat a scope's registry */
    cJSON *j = analyze(f, "@corp/tool", 0, NULL, none);
    assert_non_null(j);
    assert_string_equal(gets(j, "package", "name"), "@corp/tool");
    assert_string_equal(gets(j, "registry", "registry_config_source"), "user");
    cJSON_Delete(j);
    size_t n;
    char *log = tu_read_file(f->r.log, &n);
    assert_non_null(strstr(log, "GET /@corp%2ftool auth=Bearer t0ken-123 accept=application/json"));
    assert_non_null(strstr(log, "GET /tarballs/tool-1.0.0.tgz auth=Bearer t0ken-123"));
    free(log);
    /* a wrong token: refused with the fix */
    setenv("TEST_REG_TOKEN", "wrong", 1);
    char cache2[4400], *err = NULL;
    snprintf(cache2, sizeof cache2, "%s/cache-b", f->d.out);
    const char *extra[] = {"--registry", "http://127.0.0.1:1/", "--cache", cache2, NULL};
    assert_null(analyze(f, "@corp/tool", 2, &err, extra));
    assert_non_null(strstr(err, "error[registry-auth]"));
    assert_non_null(strstr(err, "_authToken"));
    free(err);
    unsetenv("TEST_REG_TOKEN");
}

static void min_age_picks_older_and_flags_young_exact(void **state)
{
    struct fx *f = *state;
    time_t now = time(NULL);
    char old[32], young[32];
    struct tm tm;
    time_t t = now - 30 * 86400;
    gmtime_r(&t, &tm);
    strftime(old, sizeof old, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    t = now - 3600;
    gmtime_r(&t, &tm);
    strftime(young, sizeof young, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    cJSON *p = fakereg_packument("fresh", "1.1.0");
    fakereg_add_version(p, make_version(f, "fresh", "1.0.0", NULL), old);
    fakereg_add_version(p, make_version(f, "fresh", "1.1.0", NULL), young);
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
    fakereg_start(&f->r, NULL);
    const char *age[] = {"--min-age", "72h", NULL};
    cJSON *j = analyze(f, "fresh@^1", 0, NULL, age);
    assert_string_equal(gets(j, "package", "version"), "1.0.0");
    assert_false(cJSON_IsTrue(get(get(j, "registry"), "cooldown_violation")));
    cJSON_Delete(j);
    j = analyze(f, "fresh", 0, NULL, age);   /* latest is too young: the newest older one below it */
    assert_string_equal(gets(j, "package", "version"), "1.0.0");
    cJSON_Delete(j);
    j = analyze(f, "fresh@1.1.0", 0, NULL, age);
    assert_string_equal(gets(j, "package", "version"), "1.1.0");
    assert_true(cJSON_IsTrue(get(get(j, "registry"), "cooldown_violation")));
    assert_true(get(get(j, "registry"), "age_hours")->valuedouble < 2.0);
    cJSON_Delete(j);
}

static void install_scripts_run_as_for_a_tarball(void **state)
{
    struct fx *f = *state;
    cJSON *p = fakereg_packument("withscript", "1.0.0");
    fakereg_add_version(p, make_version(f, "withscript", "1.0.0", "{\"scripts\":{\"postinstall\":\"echo registry-postinstall-ran\"}}"),
                "2020-01-01T00:00:00.000Z");
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
    fakereg_start(&f->r, NULL);
    cJSON *j = analyze(f, "withscript", 0, NULL, NULL);
    const cJSON *ph = cJSON_GetArrayItem(get(j, "phases"), 0);
    assert_non_null(ph);
    assert_string_equal(cJSON_GetStringValue(get(ph, "name")), "postinstall");
    assert_string_equal(cJSON_GetStringValue(get(ph, "status")), "ok");
    assert_non_null(strstr(gets(ph, "stdout", "text"), "registry-postinstall-ran"));
    assert_true(cJSON_IsTrue(get(get(j, "registry"), "has_install_scripts")));
    cJSON_Delete(j);
}

static void provenance_facts_from_same_origin_bundle(void **state)
{
    struct fx *f = *state;
    const char *stmt = "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicateType\":\"https://slsa.dev/provenance/v1\","
                       "\"predicate\":{\"buildDefinition\":{\"externalParameters\":{\"workflow\":{\"ref\":\"refs/heads/main\","
                       "\"repository\":\"https://github.com/corp/prov\",\"path\":\".github/workflows/release.yml\"}}},"
                       "\"runDetails\":{\"builder\":{\"id\":\"https://github.com/actions/runner/github-hosted\"}}}}";
    char *b = b64_encode((const unsigned char *)stmt, strlen(stmt));
    char bundle[4096], path[4400];
    snprintf(bundle, sizeof bundle,
             "{\"attestations\":[{\"predicateType\":\"https://slsa.dev/provenance/v1\",\"bundle\":{\"dsseEnvelope\":"
             "{\"payload\":\"%s\",\"payloadType\":\"application/vnd.in-toto+json\",\"signatures\":[]}}}]}", b);
    free(b);
    snprintf(path, sizeof path, "%s/files/prov-1.0.0.json", f->r.dir);
    tu_write_text(path, bundle);
    cJSON *p = fakereg_packument("prov", "1.0.0");
    cJSON *m = make_version(f, "prov", "1.0.0", "{\"repository\":{\"type\":\"git\",\"url\":\"git+https://github.com/corp/prov.git\"}}");
    cJSON *att = cJSON_AddObjectToObject(getm(m, "dist"), "attestations");
    cJSON_AddStringToObject(att, "url", "{{REGISTRY}}/files/prov-1.0.0.json");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(att, "provenance"), "predicateType", "https://slsa.dev/provenance/v1");
    fakereg_add_version(p, m, "2020-01-01T00:00:00.000Z");
    m = make_version(f, "prov", "1.0.1", NULL);
    att = cJSON_AddObjectToObject(getm(m, "dist"), "attestations");
    cJSON_AddStringToObject(att, "url", "http://127.0.0.1:1/elsewhere");
    fakereg_add_version(p, m, "2020-01-02T00:00:00.000Z");
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
    fakereg_start(&f->r, NULL);
    cJSON *j = analyze(f, "prov@1.0.0", 0, NULL, NULL);
    const cJSON *r = get(j, "registry");
    assert_true(cJSON_IsTrue(get(r, "provenance_present")));
    assert_string_equal(gets(j, "registry", "provenance_source_repo"), "https://github.com/corp/prov");
    assert_string_equal(gets(j, "registry", "provenance_workflow_path"), ".github/workflows/release.yml");
    assert_string_equal(gets(j, "registry", "provenance_ref"), "refs/heads/main");
    assert_string_equal(gets(j, "registry", "provenance_builder_id"), "https://github.com/actions/runner/github-hosted");
    assert_true(cJSON_IsTrue(get(r, "provenance_repo_matches_repository")));
    assert_false(cJSON_IsTrue(get(r, "provenance_verified")));
    assert_non_null(strstr(gets(j, "registry", "provenance_note"), "NOT performed"));
    cJSON_Delete(j);
    j = analyze(f, "prov@1.0.1", 0, NULL, NULL);
    assert_string_equal(gets(j, "registry", "provenance_bundle"), "not-fetched-other-origin");
    cJSON_Delete(j);
    size_t n;
    char *log = tu_read_file(f->r.log, &n);
    assert_null(strstr(log, "elsewhere"));
    free(log);
}

static void sigint_during_a_fetch_stops_at_once(void **state)
{
    struct fx *f = *state;
    fakereg_start(&f->r, NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        dup2(nul, 2);
        const char *bin = tu_build("scriptbox");
        execl(bin, bin, "analyze", "fault-hang", "--registry", f->r.url, "--cache", f->cache, "--timeout-registry", "60", (char *)NULL);
        _exit(127);
    }
    struct timespec pause = {0, 500 * 1000 * 1000};
    nanosleep(&pause, NULL);
    time_t t0 = time(NULL);
    kill(pid, SIGINT);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(time(NULL) - t0 < 5);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 128 + SIGINT);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", f->d.tmp);   /* the work folder is gone */
    assert_int_equal(system(cmd), 0);
}

static void proxies_from_the_environment_are_used(void **state)
{
    struct fx *f = *state;
    make_demo(f);
    fakereg_start(&f->r, NULL);   /* it answers proxy-form requests too */
    char proxy[80];
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", f->r.port);
    setenv("http_proxy", proxy, 1);
    unsetenv("NO_PROXY");
    unsetenv("no_proxy");
    /* a host that is never resolved: only the proxy knows it */
    const char *extra[] = {"--registry", "http://registry-host.invalid/", NULL};
    cJSON *j = analyze(f, "demo@1.0.0", 0, NULL, extra);
    unsetenv("http_proxy");
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    assert_non_null(j);
    assert_string_equal(gets(j, "package", "version"), "1.0.0");
    cJSON_Delete(j);
    size_t n;
    char *log = tu_read_file(f->r.log, &n);
    assert_non_null(strstr(log, "GET http://registry-host.invalid/demo auth=-"));
    free(log);
}

/* ---- metadata rules over the registry facts ------------------------------------------------ */

static const cJSON *finding(const cJSON *report, const char *rule_id)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, get(report, "findings")) {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(e, "rule_id"));
        if (id && !strcmp(id, rule_id)) return e;
    }
    return NULL;
}

static const cJSON *must_find(const cJSON *report, const char *rule_id)
{
    const cJSON *x = finding(report, rule_id);
    if (!x) {
        char *s = cJSON_Print(get(report, "findings"));
        fail_msg("no finding %s in %s", rule_id, s);
    }
    return x;
}

static const char *first_excerpt(const cJSON *fnd)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(get(fnd, "evidence"), 0), "excerpt"));
}

static int metadata_findings(const cJSON *report)
{
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, get(report, "findings")) {
        const char *cat = cJSON_GetStringValue(cJSON_GetObjectItem(e, "category"));
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(e, "rule_id"));
        if ((cat && !strcmp(cat, "metadata")) || (id && !strncmp(id, "metadata-", 9))) n++;
    }
    return n;
}

static const cJSON *coverage_of(const cJSON *report, const char *check)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, get(report, "coverage")) {
        const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(e, "check"));
        if (c && !strcmp(c, check)) return e;
    }
    fail_msg("no coverage entry %s", check);
    return NULL;
}

static void iso_ago(long seconds, char out[32])
{
    time_t t = time(NULL) - seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

static void metadata_pumping_is_flagged(void **state)
{
    struct fx *f = *state;
    cJSON *p = fakereg_packument("pumped", "1.0.29");
    for (int i = 0; i < 30; i++) {
        char v[32], when[40];
        snprintf(v, sizeof v, "1.0.%d", i);
        snprintf(when, sizeof when, "2023-05-01T%02d:%02d:00.000Z", i * 40 / 60, i * 40 % 60);
        cJSON *m = make_version(f, "pumped", v, NULL);
        cJSON_AddNumberToObject(getm(m, "dist"), "fileCount", 2);
        cJSON_AddNumberToObject(getm(m, "dist"), "unpackedSize", 120 + (i % 2));
        fakereg_add_version(p, m, when);
    }
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
    /* a downloads API: downloads jump on the publish day and the day after */
    char dl[4400];
    snprintf(dl, sizeof dl, "%s/downloads", f->r.dir);
    mkdir(dl, 0755);
    cJSON *days = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(days, "downloads");
    for (int d = 15; d <= 44; d++) {
        char day[32];
        snprintf(day, sizeof day, "2023-%02d-%02d", d <= 30 ? 4 : 5, d <= 30 ? d : d - 30);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "day", day);
        cJSON_AddNumberToObject(e, "downloads", (d == 31 || d == 32) ? 5000 : 10);
        cJSON_AddItemToArray(arr, e);
    }
    snprintf(dl, sizeof dl, "%s/downloads/pumped.json", f->r.dir);
    tu_write_json(dl, days);
    cJSON_Delete(days);
    fakereg_start(&f->r, NULL);
    char api[200];
    snprintf(api, sizeof api, "%s-/downloads", f->r.url);
    const char *dlopt[] = {"--downloads-api", api, NULL};
    cJSON *j = analyze(f, "pumped@1.0.29", 1, NULL, dlopt);   /* near-identical contents: high */
    const cJSON *dx = must_find(j, "metadata-downloads-pumped");
    assert_non_null(strstr(first_excerpt(dx), "downloads_publish_day_ratio: 500"));
    assert_int_equal(get(get(j, "registry"), "downloads_last_month")->valueint, 28 * 10 + 2 * 5000);
    assert_string_equal(gets(j, "registry", "downloads_note"), "fetched");
    const cJSON *x = must_find(j, "metadata-version-pumping");
    assert_string_equal(cJSON_GetStringValue(get(x, "severity")), "high");
    assert_non_null(strstr(first_excerpt(x), "versions_in_24h: 30"));
    assert_non_null(strstr(first_excerpt(x), "similar_versions_in_7d: 30"));
    assert_int_equal(get(get(j, "registry"), "similar_versions_in_7d")->valueint, 30);
    /* no publisher in these manifests: that check could not run, and says so; time was there */
    const char *why = cJSON_GetStringValue(get(coverage_of(j, "metadata"), "reason"));
    assert_non_null(strstr(why, "metadata-new-publisher"));
    assert_null(strstr(why, "facts.available.time"));
    cJSON_Delete(j);
}

static void metadata_compromised_publish_each_signal(void **state)
{
    struct fx *f = *state;
    cJSON *p = fakereg_packument("victim", "2.3.2");
    static const char *const ok[] = {"2.3.0", "2.3.1"};
    for (int i = 0; i < 2; i++) {
        cJSON *m = make_version(f, "victim", ok[i],
                                "{\"_npmUser\":{\"name\":\"maint\"},\"maintainers\":[{\"name\":\"maint\"}],"
                                "\"_npmVersion\":\"10.2.0\",\"_nodeVersion\":\"20.11.0\","
                                "\"repository\":{\"type\":\"git\",\"url\":\"git+https://github.com/victim/victim.git\"}}");
        cJSON *att = cJSON_AddObjectToObject(getm(m, "dist"), "attestations");
        cJSON_AddStringToObject(att, "url", "{{REGISTRY}}/files/none.json");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(att, "provenance"), "predicateType", "https://slsa.dev/provenance/v1");
        fakereg_add_version(p, m, i ? "2024-02-01T00:00:00.000Z" : "2024-01-01T00:00:00.000Z");
    }
    cJSON *m = make_version(f, "victim", "2.3.2",
                            "{\"_npmUser\":{\"name\":\"evil-user\"},\"maintainers\":[{\"name\":\"maint\"},{\"name\":\"evil-user\"}],"
                            "\"_npmVersion\":\"9.1.0\",\"_nodeVersion\":\"16.20.0\","
                            "\"repository\":{\"type\":\"git\",\"url\":\"git+https://github.com/victim/victim.git\"},"
                            "\"scripts\":{\"postinstall\":\"node index.js\"}}");
    fakereg_add_version(p, m, "2024-02-20T03:00:00.000Z");
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
    fakereg_start(&f->r, NULL);
    char events[4400], saved[4400];
    snprintf(events, sizeof events, "%s/victim.jsonl", f->d.out);
    const char *extra[] = {"--events", events, NULL};
    cJSON *j = analyze(f, "victim@2.3.2", 1, NULL, extra);
    /* each signal is its own finding */
    assert_non_null(strstr(first_excerpt(must_find(j, "metadata-new-publisher")), "npm_user: evil-user"));
    assert_non_null(strstr(first_excerpt(must_find(j, "metadata-provenance-dropped")), "earlier_versions_with_provenance: 2"));
    const cJSON *inst = must_find(j, "metadata-install-script-added");
    assert_string_equal(cJSON_GetStringValue(get(inst, "severity")), "high");   /* in a patch release */
    assert_non_null(strstr(first_excerpt(must_find(j, "metadata-maintainer-added")), "evil-user"));
    assert_non_null(must_find(j, "metadata-publish-tooling-changed"));
    assert_null(finding(j, "metadata-repository-changed"));
    assert_null(finding(j, "metadata-typosquat"));
    /* the saved facts re-judge the same way (rules check --facts) */
    snprintf(saved, sizeof saved, "%s/report.json", f->d.out);
    const char *argv[] = {tu_build("scriptbox"), "rules", "check", "--events", events, "--facts", saved, "--format", "json", NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    assert_int_equal(r.status, 1);
    cJSON *k = cJSON_Parse(r.out);
    assert_non_null(must_find(k, "metadata-new-publisher"));
    assert_non_null(must_find(k, "metadata-provenance-dropped"));
    /* only the download check could not run (no --downloads-api), and the coverage says so */
    assert_string_equal(cJSON_GetStringValue(get(coverage_of(k, "metadata"), "status")), "partial");
    assert_non_null(strstr(cJSON_GetStringValue(get(coverage_of(k, "metadata"), "reason")),
                           "1 metadata rules could not run, the registry did not provide the facts they need: "
                           "metadata-downloads-pumped (facts.available.downloads)"));
    cJSON_Delete(k);
    tu_run_free(&r);
    /* an earlier, ordinary version: none of these */
    cJSON_Delete(j);
    j = analyze(f, "victim@2.3.1", 0, NULL, NULL);
    assert_int_equal(metadata_findings(j), 0);
    cJSON_Delete(j);
}

static void metadata_manifest_confusion_lists_fields(void **state)
{
    struct fx *f = *state;
    cJSON *p = fakereg_packument("confused", "1.0.0");
    cJSON *m = make_version(f, "confused", "1.0.0",
                            "{\"scripts\":{\"postinstall\":\"node index.js\"},\"dependencies\":{\"left-pad\":\"1.3.0\"},\"bin\":{\"confused\":\"index.js\"}}");
    /* what the registry shows: no scripts, no dependencies, another bin */
    cJSON_DeleteItemFromObject(m, "scripts");
    cJSON_DeleteItemFromObject(m, "dependencies");
    cJSON_ReplaceItemInObject(m, "bin", cJSON_CreateString("cli.js"));
    fakereg_add_version(p, m, "2023-01-01T00:00:00.000Z");
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
    fakereg_start(&f->r, NULL);
    cJSON *j = analyze(f, "confused@1.0.0", 1, NULL, NULL);
    const cJSON *x = must_find(j, "metadata-manifest-confusion");
    assert_string_equal(first_excerpt(x), "manifest_confusion_fields: scripts, dependencies, bin");
    cJSON_Delete(j);
}

static void metadata_dormant_then_burst(void **state)
{
    struct fx *f = *state;
    cJSON *p = fakereg_packument("sleepy", "1.0.4");
    fakereg_add_version(p, make_version(f, "sleepy", "1.0.0", NULL), "2021-01-01T00:00:00.000Z");
    fakereg_add_version(p, make_version(f, "sleepy", "1.0.1", NULL), "2021-02-01T00:00:00.000Z");
    fakereg_add_version(p, make_version(f, "sleepy", "1.0.2", NULL), "2022-06-01T00:00:00.000Z");
    fakereg_add_version(p, make_version(f, "sleepy", "1.0.3", NULL), "2022-06-01T01:00:00.000Z");
    fakereg_add_version(p, make_version(f, "sleepy", "1.0.4", NULL), "2022-06-01T02:00:00.000Z");
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
    fakereg_start(&f->r, NULL);
    cJSON *j = analyze(f, "sleepy@1.0.4", 0, NULL, NULL);
    assert_non_null(strstr(first_excerpt(must_find(j, "metadata-dormant-then-burst")), "quiet_days_before_burst: 485"));
    assert_null(finding(j, "metadata-version-pumping"));
    cJSON_Delete(j);
    j = analyze(f, "sleepy@1.0.1", 0, NULL, NULL);
    assert_null(finding(j, "metadata-dormant-then-burst"));
    cJSON_Delete(j);
}

static void metadata_bin_sh_and_cooldown(void **state)
{
    struct fx *f = *state;
    char young[32], old[32];
    iso_ago(2 * 3600, young);
    iso_ago(10 * 86400, old);
    cJSON *p = fakereg_packument("shelly", "1.0.1");
    fakereg_add_version(p, make_version(f, "shelly", "1.0.0", "{\"bin\":{\"shelly\":\"index.js\"}}"), old);
    fakereg_add_version(p, make_version(f, "shelly", "1.0.1", "{\"bin\":{\"sh\":\"index.js\",\"shelly\":\"index.js\"}}"), young);
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
    fakereg_start(&f->r, NULL);
    cJSON *j = analyze(f, "shelly@1.0.1", 1, NULL, NULL);
    assert_non_null(strstr(first_excerpt(must_find(j, "metadata-bin-shadows-command")), "bin_names: sh, shelly"));
    const cJSON *c = must_find(j, "metadata-release-cooldown");   /* the 72 h default */
    assert_non_null(strstr(first_excerpt(c), "min_age_hours: 72"));
    assert_string_equal(gets(j, "registry", "min_age_source"), "default");
    assert_string_equal(gets(j, "package", "version"), "1.0.1");   /* the default flags, it does not re-resolve */
    cJSON_Delete(j);
    const char *off[] = {"--min-age", "0", NULL};
    j = analyze(f, "shelly@1.0.1", 1, NULL, off);
    assert_null(finding(j, "metadata-release-cooldown"));
    assert_true(cJSON_IsNull(get(get(j, "registry"), "min_age_hours")));
    cJSON_Delete(j);
    j = analyze(f, "shelly@1.0.0", 0, NULL, NULL);   /* ten days old, no system command */
    assert_int_equal(metadata_findings(j), 0);
    cJSON_Delete(j);
    const char *age[] = {"--min-age", "3d", NULL};
    j = analyze(f, "shelly", 0, NULL, age);   /* honoured: latest is too young, 1.0.0 is picked */
    assert_string_equal(gets(j, "package", "version"), "1.0.0");
    assert_null(finding(j, "metadata-release-cooldown"));
    cJSON_Delete(j);
}

static void metadata_mirror_dropping_fields_gives_coverage_not_findings(void **state)
{
    struct fx *f = *state;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", "mirrored");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "dist-tags"), "latest", "1.1.0");
    cJSON *vs = cJSON_AddObjectToObject(p, "versions");
    cJSON_AddItemToObject(vs, "1.0.0", make_version(f, "mirrored", "1.0.0", NULL));
    cJSON_AddItemToObject(vs, "1.1.0", make_version(f, "mirrored", "1.1.0", NULL));
    fakereg_save(&f->r, p);   /* no time, _npmUser, maintainers, _npmVersion */
    cJSON_Delete(p);
    fakereg_start(&f->r, NULL);
    char api[200];
    snprintf(api, sizeof api, "%s-/downloads", f->r.url);   /* no counts for this package: 404 */
    const char *dlopt[] = {"--downloads-api", api, NULL};
    cJSON *j = analyze(f, "mirrored@1.1.0", 0, NULL, dlopt);
    assert_non_null(strstr(gets(j, "registry", "downloads_note"), "unavailable: "));
    assert_true(cJSON_IsFalse(get(get(get(j, "registry"), "available"), "downloads")));
    assert_int_equal(metadata_findings(j), 0);
    const cJSON *c = coverage_of(j, "metadata");
    assert_string_equal(cJSON_GetStringValue(get(c, "status")), "partial");
    const char *why = cJSON_GetStringValue(get(c, "reason"));
    assert_non_null(strstr(why, "metadata-new-publisher (facts.available.npm_user)"));
    assert_non_null(strstr(why, "metadata-version-pumping (facts.available.time)"));
    assert_non_null(strstr(why, "metadata-downloads-pumped (facts.available.downloads)"));
    assert_string_equal(cJSON_GetStringValue(get(j, "verdict")), "clean");
    cJSON_Delete(j);
}

static void metadata_typosquat_deprecated_placeholder(void **state)
{
    struct fx *f = *state;
    cJSON *p = fakereg_packument("lodahs", "1.0.0");
    fakereg_add_version(p, make_version(f, "lodahs", "1.0.0", "{\"deprecated\":\"use lodash\"}"), "2023-01-01T00:00:00.000Z");
    fakereg_add_version(p, make_version(f, "lodahs", "0.0.1-security", "{\"description\":\"security holding package\"}"), "2023-02-01T00:00:00.000Z");
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
    p = fakereg_packument("lodash", "1.0.0");
    fakereg_add_version(p, make_version(f, "lodash", "1.0.0", NULL), "2023-01-01T00:00:00.000Z");
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
    fakereg_start(&f->r, NULL);
    cJSON *j = analyze(f, "lodahs@1.0.0", 0, NULL, NULL);
    assert_string_equal(first_excerpt(must_find(j, "metadata-typosquat")), "lodahs looks like lodash (swapped characters)");
    assert_non_null(strstr(first_excerpt(must_find(j, "metadata-deprecated")), "use lodash"));
    cJSON_Delete(j);
    j = analyze(f, "lodahs@0.0.1-security", 1, NULL, NULL);
    assert_non_null(must_find(j, "metadata-security-placeholder"));
    cJSON_Delete(j);
    j = analyze(f, "lodash@1.0.0", 0, NULL, NULL);   /* never the popular name itself */
    assert_null(finding(j, "metadata-typosquat"));
    cJSON_Delete(j);
}

static void diff_two_registry_versions(void **state)
{
    struct fx *f = *state;
    cJSON *p = fakereg_packument("diffy", "1.0.1");
    fakereg_add_version(p, make_version(f, "diffy", "1.0.0", "{\"dependencies\":{\"left-pad\":\"1.3.0\"}}"), "2023-01-01T00:00:00.000Z");
    static const char *const files[] = {"setup.js", "const p='Y29uc29sZS5sb2coMSk=';\neval(Buffer.from(p, 'base64').toString());\n", NULL};
    fakereg_add_version(p, fakereg_version(&f->r, "diffy", "1.0.1",
                                      "{\"scripts\":{\"postinstall\":\"node setup.js\"},\"dependencies\":{\"left-pad\":\"1.3.1\",\"evil-dep\":\"^1\"}}",
                                      files),
                "2023-01-02T00:00:00.000Z");
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
    fakereg_start(&f->r, NULL);
    const char *argv[] = {tu_build("scriptbox"), "diff", "diffy@1.0.0", "diffy@1.0.1", "--format", "json",
                          "--registry", f->r.url, "--cache", f->cache, NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    if (r.status != 1) fprintf(stderr, "diff: %d %s\n", r.status, r.err);
    assert_int_equal(r.status, 1);   /* a high content finding only in B */
    cJSON *j = cJSON_Parse(r.out);
    assert_non_null(j);
    assert_string_equal(gets(j, "a", "kind"), "registry");
    assert_string_equal(gets(j, "b", "version"), "1.0.1");
    const cJSON *added = get(get(j, "files"), "added");
    assert_int_equal(cJSON_GetArraySize(added), 1);
    assert_string_equal(cJSON_GetStringValue(get(cJSON_GetArrayItem(added, 0), "path")), "setup.js");
    assert_int_equal(strlen(cJSON_GetStringValue(get(cJSON_GetArrayItem(added, 0), "sha256"))), 64);
    const cJSON *changed = get(get(j, "files"), "changed");
    assert_string_equal(cJSON_GetStringValue(get(cJSON_GetArrayItem(changed, 0), "path")), "package.json");
    const cJSON *sa = cJSON_GetArrayItem(get(get(j, "scripts"), "added"), 0);
    assert_string_equal(cJSON_GetStringValue(get(sa, "name")), "postinstall");
    assert_true(cJSON_IsTrue(get(sa, "install")));
    const cJSON *deps = get(j, "dependencies");
    assert_string_equal(cJSON_GetStringValue(get(cJSON_GetArrayItem(get(deps, "added"), 0), "name")), "evil-dep");
    assert_string_equal(cJSON_GetStringValue(get(cJSON_GetArrayItem(get(deps, "changed"), 0), "to")), "1.3.1");
    const cJSON *only = get(j, "findings_only_in_b");
    assert_int_equal(cJSON_GetArraySize(only), 1);
    assert_string_equal(cJSON_GetStringValue(get(cJSON_GetArrayItem(only, 0), "rule_id")), "obfuscated-eval-decoded");
    assert_int_equal(cJSON_GetArraySize(get(j, "findings_only_in_a")), 0);
    cJSON_Delete(j);
    tu_run_free(&r);
    /* the same from the two tarballs, as text; the reverse direction has nothing new */
    char ta[4400], tb[4400];
    snprintf(ta, sizeof ta, "%s/tarballs/diffy-1.0.0.tgz", f->r.dir);
    snprintf(tb, sizeof tb, "%s/tarballs/diffy-1.0.1.tgz", f->r.dir);
    const char *argv2[] = {tu_build("scriptbox"), "diff", ta, tb, NULL};
    assert_int_equal(tu_run(argv2, &r), 0);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "  + setup.js ("));
    assert_non_null(strstr(r.out, "  + postinstall: node setup.js   [install script]"));
    assert_non_null(strstr(r.out, "  + evil-dep ^1"));
    assert_non_null(strstr(r.out, "obfuscated-eval-decoded"));
    tu_run_free(&r);
    const char *argv3[] = {tu_build("scriptbox"), "diff", tb, ta, NULL};
    assert_int_equal(tu_run(argv3, &r), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "content rules firing only in B: none"));
    assert_non_null(strstr(r.out, "content rules firing only in A: obfuscated-eval-decoded"));
    tu_run_free(&r);
    const char *bad[] = {tu_build("scriptbox"), "diff", ta, NULL};
    assert_int_equal(tu_run(bad, &r), 0);
    assert_int_equal(r.status, 2);
    tu_run_free(&r);
}

int main(void)
{
    srand((unsigned)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(resolves_exact_tag_and_range, setup, teardown),
        cmocka_unit_test_setup_teardown(local_targets_have_null_registry, setup, teardown),
        cmocka_unit_test_setup_teardown(integrity_mismatch_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(signatures_valid_invalid_absent_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(server_faults_give_clear_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(offline_uses_only_the_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(npmrc_scoped_registry_and_token, setup, teardown),
        cmocka_unit_test_setup_teardown(min_age_picks_older_and_flags_young_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(install_scripts_run_as_for_a_tarball, setup, teardown),
        cmocka_unit_test_setup_teardown(provenance_facts_from_same_origin_bundle, setup, teardown),
        cmocka_unit_test_setup_teardown(sigint_during_a_fetch_stops_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(proxies_from_the_environment_are_used, setup, teardown),
        cmocka_unit_test_setup_teardown(metadata_pumping_is_flagged, setup, teardown),
        cmocka_unit_test_setup_teardown(metadata_compromised_publish_each_signal, setup, teardown),
        cmocka_unit_test_setup_teardown(metadata_manifest_confusion_lists_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(metadata_dormant_then_burst, setup, teardown),
        cmocka_unit_test_setup_teardown(metadata_bin_sh_and_cooldown, setup, teardown),
        cmocka_unit_test_setup_teardown(metadata_mirror_dropping_fields_gives_coverage_not_findings, setup, teardown),
        cmocka_unit_test_setup_teardown(metadata_typosquat_deprecated_placeholder, setup, teardown),
        cmocka_unit_test_setup_teardown(diff_two_registry_versions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
