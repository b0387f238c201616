/*
 * test_registry_facts.c — the registry facts object over tests/fixtures/registry/facts, and the
 * registry module's pure parts: spec splitting, durations, resolution, SRI integrity, registry
 * signatures (a P-256 key made here), provenance bundles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "b64.h"
#include "registry.h"
#include "registry_facts.h"
#include "rules.h"
#include "testutil.h"

static cJSON *fixture(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/registry/facts/%s", name);
    cJSON *j = tu_read_json(tu_src(rel));
    if (!j) fail_msg("cannot read %s", rel);
    return j;
}

static const cJSON *get(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) fail_msg("missing fact %s", k);
    return v;
}

static cJSON *facts(const char *file, const char *version, const cJSON *tarball)
{
    cJSON *p = fixture(file);
    time_t now = (time_t)registry_parse_time("2024-06-01T00:00:00Z");
    cJSON *f = registry_facts_from_packument(p, version, tarball, now);
    cJSON_Delete(p);
    assert_non_null(f);
    return f;
}

static void pumping_is_counted(void **state)
{
    (void)state;
    cJSON *f = facts("pumping.json", "1.0.29", NULL);
    assert_int_equal(get(f, "versions_count")->valueint, 31);
    assert_int_equal(get(f, "versions_in_24h")->valueint, 30);
    assert_int_equal(get(f, "versions_in_7d")->valueint, 30);
    assert_int_equal(get(f, "max_versions_in_24h")->valueint, 30);
    assert_true(fabs(get(f, "dormancy_days")->valuedouble - 40.0 / 1440) < 1e-6);
    cJSON_Delete(f);
}

static void dormant_then_burst(void **state)
{
    (void)state;
    cJSON *f = facts("dormant-burst.json", "1.0.2", NULL);
    assert_true(get(f, "dormancy_days")->valuedouble > 365);
    assert_string_equal(get(f, "previous_publish_at")->valuestring, "2022-02-01T00:00:00Z");
    assert_string_equal(get(f, "previous_published_version")->valuestring, "1.0.1");
    assert_int_equal(get(f, "versions_in_24h")->valueint, 3);
    assert_true(get(f, "quiet_days_before_burst")->valuedouble > 365);
    cJSON_Delete(f);
    f = facts("dormant-burst.json", "1.0.4", NULL);
    assert_int_equal(get(f, "max_versions_in_24h")->valueint, 3);
    assert_true(get(f, "dormancy_days")->valuedouble < 0.05);
    assert_true(cJSON_IsTrue(get(f, "npm_user_seen_before")));
    assert_true(get(f, "quiet_days_before_burst")->valuedouble > 365);   /* the burst's first publish counts */
    cJSON_Delete(f);
    f = facts("dormant-burst.json", "1.0.1", NULL);
    assert_true(get(f, "quiet_days_before_burst")->valuedouble < 365);
    assert_false(cJSON_IsTrue(get(f, "security_placeholder")));
    assert_true(cJSON_IsFalse(get(get(f, "available"), "downloads")));
    assert_true(cJSON_IsNull(get(f, "downloads_last_week")));
    cJSON_Delete(f);
}

static void compromised_publish_is_visible(void **state)
{
    (void)state;
    cJSON *f = facts("compromised.json", "2.3.2", NULL);
    assert_string_equal(get(f, "npm_user")->valuestring, "evil-user");
    assert_true(cJSON_IsFalse(get(f, "npm_user_seen_before")));
    assert_true(cJSON_IsTrue(get(f, "npm_user_changed")));
    assert_string_equal(get(f, "previous_npm_user")->valuestring, "maint");
    assert_string_equal(get(f, "previous_version")->valuestring, "2.3.1");
    const cJSON *added = get(f, "maintainers_added_since_previous");
    assert_int_equal(cJSON_GetArraySize(added), 1);
    assert_string_equal(cJSON_GetArrayItem(added, 0)->valuestring, "evil-user");
    assert_true(cJSON_IsFalse(get(f, "provenance_present")));
    assert_true(cJSON_IsTrue(get(f, "previous_had_provenance")));
    assert_true(cJSON_IsTrue(get(f, "provenance_dropped")));
    assert_int_equal(get(f, "earlier_versions_with_provenance")->valueint, 2);
    assert_true(cJSON_IsTrue(get(f, "is_patch_release")));
    assert_true(cJSON_IsTrue(get(f, "has_install_scripts")));
    assert_true(cJSON_IsFalse(get(f, "previous_had_install_scripts")));
    assert_true(cJSON_IsTrue(get(f, "install_scripts_added")));
    assert_true(cJSON_IsTrue(get(f, "npm_version_changed")));
    assert_true(cJSON_IsTrue(get(f, "node_version_changed")));
    assert_string_equal(get(f, "repository")->valuestring, "https://github.com/victim/victim");
    assert_true(cJSON_IsFalse(get(f, "repository_changed")));
    assert_int_equal(get(f, "unpublished_count")->valueint, 1);
    assert_string_equal(cJSON_GetArrayItem(get(f, "unpublished_versions"), 0)->valuestring, "2.2.9");
    cJSON_Delete(f);
    /* the attested versions before it look ordinary */
    f = facts("compromised.json", "2.3.1", NULL);
    assert_true(cJSON_IsTrue(get(f, "npm_user_seen_before")));
    assert_true(cJSON_IsFalse(get(f, "install_scripts_added")));
    assert_true(cJSON_IsFalse(get(f, "provenance_dropped")));
    assert_int_equal(cJSON_GetArraySize(get(f, "maintainers_added_since_previous")), 0);
    cJSON_Delete(f);
}

static void manifest_confusion_is_flagged(void **state)
{
    (void)state;
    cJSON *tar = fixture("confusion.tarball-package.json");
    cJSON *f = facts("confusion.json", "1.0.0", tar);
    assert_true(cJSON_IsTrue(get(f, "manifest_confusion")));
    const cJSON *fields = get(f, "manifest_confusion_fields");
    assert_int_equal(cJSON_GetArraySize(fields), 2);
    assert_string_equal(cJSON_GetArrayItem(fields, 0)->valuestring, "scripts");
    assert_string_equal(cJSON_GetArrayItem(fields, 1)->valuestring, "dependencies");
    assert_true(cJSON_IsFalse(get(f, "has_install_scripts")));   /* what the registry shows */
    cJSON_Delete(f);
    /* the same manifest on both sides: no confusion; bin "./x" and "x" are the same */
    cJSON *p = fixture("bin-sh.json");
    cJSON *same = cJSON_Duplicate(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "versions"), "1.0.0"), 1);
    cJSON_DeleteItemFromObject(same, "dist");
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(same, "bin"), "sh", cJSON_CreateString("evil.sh"));
    f = registry_facts_from_packument(p, "1.0.0", same, 0);
    assert_true(cJSON_IsFalse(get(f, "manifest_confusion")));
    cJSON_Delete(f);
    cJSON_Delete(same);
    cJSON_Delete(p);
    cJSON_Delete(tar);
}

static void bin_named_sh_is_flagged(void **state)
{
    (void)state;
    cJSON *f = facts("bin-sh.json", "1.0.0", NULL);
    const cJSON *names = get(f, "bin_names");
    assert_int_equal(cJSON_GetArraySize(names), 2);
    assert_true(cJSON_IsTrue(get(f, "bin_shadows_system_command")));
    assert_string_equal(cJSON_GetArrayItem(get(f, "bin_shadowed_commands"), 0)->valuestring, "sh");
    assert_true(cJSON_IsNull(get(f, "manifest_confusion")));   /* no tarball manifest given */
    cJSON_Delete(f);
}

static void missing_facts_are_unavailable_not_signals(void **state)
{
    (void)state;
    cJSON *f = facts("mirror.json", "1.1.0", NULL);
    const cJSON *a = get(f, "available");
    assert_true(cJSON_IsFalse(get(a, "npm_user")));
    assert_true(cJSON_IsFalse(get(a, "maintainers")));
    assert_true(cJSON_IsFalse(get(a, "time")));
    assert_true(cJSON_IsFalse(get(a, "signatures")));
    assert_true(cJSON_IsFalse(get(a, "attestations")));
    static const char *const nulls[] = {"npm_user", "npm_user_seen_before", "npm_user_changed", "maintainers",
                                        "maintainers_added_since_previous", "published_at", "age_hours",
                                        "dormancy_days", "versions_in_24h", "max_versions_in_24h", "npm_version_changed",
                                        "quiet_days_before_burst", "similar_versions_in_7d"};
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
        if (!cJSON_IsNull(get(f, nulls[i]))) fail_msg("%s should be null when the registry does not say", nulls[i]);
    assert_true(cJSON_IsFalse(get(f, "provenance_dropped")));   /* never had it: nothing dropped */
    cJSON_Delete(f);
}

/* ---- registry module pieces ------------------------------------------------------------- */

static void specs_and_durations(void **state)
{
    (void)state;
    char n[256], s[256];
    assert_int_equal(registry_split_spec("@scope/pkg@^1.2", n, sizeof n, s, sizeof s), 0);
    assert_string_equal(n, "@scope/pkg");
    assert_string_equal(s, "^1.2");
    assert_int_equal(registry_split_spec("pkg", n, sizeof n, s, sizeof s), 0);
    assert_string_equal(s, "");
    assert_int_equal(registry_split_spec("../x@1", n, sizeof n, s, sizeof s), -1);
    assert_true(registry_is_spec("lodash"));
    assert_true(registry_is_spec("@s/n@latest"));
    assert_true(registry_is_spec("x@>=1 <2"));
    assert_false(registry_is_spec("./pkg"));
    assert_false(registry_is_spec("pkg.tgz"));
    assert_false(registry_is_spec("/abs/dir"));
    assert_false(registry_is_spec("x@git+https://h/r"));
    assert_false(registry_is_spec("x@file:../y"));
    uint64_t d;
    assert_int_equal(registry_parse_duration("72h", &d), 0);
    assert_int_equal(d, 72 * 3600);
    assert_int_equal(registry_parse_duration("3d", &d), 0);
    assert_int_equal(d, 3 * 86400);
    assert_int_equal(registry_parse_duration("90", &d), 0);
    assert_int_equal(d, 90);
    assert_int_equal(registry_parse_duration("1y", &d), -1);
    assert_int_equal(registry_parse_duration("-1h", &d), -1);
    assert_int_equal(registry_parse_time("2024-01-02T03:04:05.678Z"), 1704164645);
    assert_int_equal(registry_parse_time("yesterday"), -1);
    char shown[256];
    registry_redact_url("https://user:pw@reg.example:8443/npm/x?u=a@b", shown, sizeof shown);
    assert_string_equal(shown, "https://***@reg.example:8443/npm/x?u=a@b");
    registry_redact_url("http://reg.example/a@b", shown, sizeof shown);
    assert_string_equal(shown, "http://reg.example/a@b");
}

static void resolution_in_a_packument(void **state)
{
    (void)state;
    cJSON *p = fixture("compromised.json");
    struct sb_error err = {0};
    const char *kind = NULL;
    bool young = false;
    time_t now = (time_t)registry_parse_time("2024-02-21T00:00:00Z");
    const char *v = registry_resolve(p, "victim", "", now, 0, &kind, &young, &err);
    assert_string_equal(v, "2.3.2");
    assert_string_equal(kind, "tag");
    v = registry_resolve(p, "victim", "~2.3.0", now, 7 * 86400, &kind, &young, &err);
    assert_string_equal(v, "2.3.1");   /* 2.3.2 is a day old */
    v = registry_resolve(p, "victim", "latest", now, 7 * 86400, &kind, &young, &err);
    assert_string_equal(v, "2.3.1");
    v = registry_resolve(p, "victim", "2.3.2", now, 7 * 86400, &kind, &young, &err);
    assert_string_equal(v, "2.3.2");
    assert_true(young);
    assert_null(registry_resolve(p, "victim", "nope", now, 0, &kind, &young, &err));
    assert_string_equal(err.code, "no-matching-version");
    cJSON_Delete(p);
}

static void write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(data, 1, n, f);
    fclose(f);
}

static char *sri(const char *algo, const EVP_MD *md, const char *data)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(data, strlen(data), d, &n, md, NULL);
    char *b = b64_encode(d, n);
    char *out = malloc(strlen(b) + 16);
    sprintf(out, "%s-%s", algo, b);
    free(b);
    return out;
}

static void integrity_rules(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[4200];
    snprintf(path, sizeof path, "%s/t.tgz", dir);
    write_file(path, "hello", 5);
    char algo[16];
    struct sb_error err = {0};
    char *s512 = sri("sha512", EVP_sha512(), "hello"), *s256 = sri("sha256", EVP_sha256(), "hello");
    char *s1 = sri("sha1", EVP_sha1(), "hello"), *bad512 = sri("sha512", EVP_sha512(), "other");
    char *s384 = sri("sha384", EVP_sha384(), "hello");
    assert_int_equal(registry_check_integrity(path, s512, NULL, algo, &err), 0);
    assert_string_equal(algo, "sha512");
    assert_int_equal(registry_check_integrity(path, s384, NULL, algo, &err), 0);
    assert_string_equal(algo, "sha384");
    assert_int_equal(registry_check_integrity(path, s256, NULL, algo, &err), 0);
    assert_int_equal(registry_check_integrity(path, s1, NULL, algo, &err), 0);
    assert_string_equal(algo, "sha1");
    char multi[1024];
    /* the strongest algorithm decides: a right sha1 does not save a wrong sha512 */
    snprintf(multi, sizeof multi, "%s %s", s1, bad512);
    assert_int_equal(registry_check_integrity(path, multi, NULL, algo, &err), -1);
    assert_string_equal(err.code, "integrity-mismatch");
    /* any hash of the strongest algorithm may match; options after '?' are ignored */
    snprintf(multi, sizeof multi, "%s %s?foo", bad512, s512);
    assert_int_equal(registry_check_integrity(path, multi, NULL, algo, &err), 0);
    assert_int_equal(registry_check_integrity(path, "md5-XUFAKrxLKna5cZ2REBfFkg==", NULL, algo, &err), -1);
    assert_int_equal(registry_check_integrity(path, "", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d", algo, &err), 0);
    assert_string_equal(algo, "shasum");
    assert_int_equal(registry_check_integrity(path, NULL, "0000000000000000000000000000000000000000", algo, &err), -1);
    assert_int_equal(registry_check_integrity(path, NULL, NULL, algo, &err), -1);
    assert_string_equal(err.code, "integrity-missing");
    free(s512), free(s256), free(s1), free(bad512), free(s384);
    tu_rm_rf(dir);
    free(dir);
}

static void signatures_verify(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    char *kb = b64_encode(der, (size_t)n);
    OPENSSL_free(der);
    const char *msg = "pkg@1.0.0:sha512-abc";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t sl = 0;
    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k);
    EVP_DigestSign(ctx, NULL, &sl, (const unsigned char *)msg, strlen(msg));
    unsigned char *sig = malloc(sl);
    EVP_DigestSign(ctx, sig, &sl, (const unsigned char *)msg, strlen(msg));
    EVP_MD_CTX_free(ctx);
    char *sb = b64_encode(sig, sl);
    free(sig);
    char text[4096];
    snprintf(text, sizeof text, "{\"integrity\":\"sha512-abc\",\"signatures\":[{\"keyid\":\"K1\",\"sig\":\"%s\"}]}", sb);
    cJSON *dist = cJSON_Parse(text);
    snprintf(text, sizeof text, "{\"keys\":[{\"keyid\":\"K1\",\"expires\":null,\"key\":\"%s\"}]}", kb);
    cJSON *keys = cJSON_Parse(text);
    char keyid[64], detail[256];
    assert_int_equal(registry_verify_signatures(dist, "pkg", "1.0.0", keys, 0, keyid, sizeof keyid, detail, sizeof detail), SIG_VALID);
    assert_string_equal(keyid, "K1");
    assert_int_equal(registry_verify_signatures(dist, "pkg", "1.0.1", keys, 0, keyid, sizeof keyid, detail, sizeof detail), SIG_INVALID);
    assert_int_equal(registry_verify_signatures(dist, "pkg", "1.0.0", NULL, 0, keyid, sizeof keyid, detail, sizeof detail), SIG_KEYS_UNAVAILABLE);
    /* a key that expired before the publish */
    snprintf(text, sizeof text, "{\"keys\":[{\"keyid\":\"K1\",\"expires\":\"2020-01-01T00:00:00.000Z\",\"key\":\"%s\"}]}", kb);
    cJSON *expired = cJSON_Parse(text);
    assert_int_equal(registry_verify_signatures(dist, "pkg", "1.0.0", expired, registry_parse_time("2021-01-01T00:00:00Z"), keyid,
                                                sizeof keyid, detail, sizeof detail), SIG_INVALID);
    assert_non_null(strstr(detail, "expired"));
    assert_int_equal(registry_verify_signatures(dist, "pkg", "1.0.0", expired, registry_parse_time("2019-01-01T00:00:00Z"), keyid,
                                                sizeof keyid, detail, sizeof detail), SIG_VALID);
    cJSON *nosig = cJSON_Parse("{\"integrity\":\"sha512-abc\"}");
    assert_int_equal(registry_verify_signatures(nosig, "pkg", "1.0.0", keys, 0, keyid, sizeof keyid, detail, sizeof detail), SIG_ABSENT);
    cJSON_Delete(nosig);
    cJSON_Delete(expired);
    cJSON_Delete(keys);
    cJSON_Delete(dist);
    free(kb);
    free(sb);
    EVP_PKEY_free(k);
}

static void provenance_v02_bundle(void **state)
{
    (void)state;
    const char *stmt = "{\"predicateType\":\"https://slsa.dev/provenance/v0.2\",\"predicate\":{\"builder\":{\"id\":\"https://github.com/actions/runner\"},"
                       "\"invocation\":{\"configSource\":{\"uri\":\"git+https://github.com/o/r@refs/tags/v1.0.0\",\"entryPoint\":\".github/workflows/p.yml\"}}}}";
    char *b = b64_encode((const unsigned char *)stmt, strlen(stmt));
    char text[4096];
    snprintf(text, sizeof text, "{\"dsseEnvelope\":{\"payload\":\"%s\"}}", b);
    free(b);
    cJSON *bundle = cJSON_Parse(text), *out = cJSON_CreateObject();
    registry_provenance_from_bundle(bundle, out);
    assert_string_equal(cJSON_GetObjectItem(out, "source_repo")->valuestring, "https://github.com/o/r");
    assert_string_equal(cJSON_GetObjectItem(out, "ref")->valuestring, "refs/tags/v1.0.0");
    assert_string_equal(cJSON_GetObjectItem(out, "workflow_path")->valuestring, ".github/workflows/p.yml");
    assert_string_equal(cJSON_GetObjectItem(out, "builder_id")->valuestring, "https://github.com/actions/runner");
    assert_string_equal(cJSON_GetObjectItem(out, "predicate_type")->valuestring, "https://slsa.dev/provenance/v0.2");
    cJSON_Delete(out);
    cJSON_Delete(bundle);
    /* garbage payloads add nothing */
    bundle = cJSON_Parse("{\"dsseEnvelope\":{\"payload\":\"!!!\"}}");
    out = cJSON_CreateObject();
    registry_provenance_from_bundle(bundle, out);
    assert_int_equal(cJSON_GetArraySize(out), 0);
    cJSON_Delete(out);
    cJSON_Delete(bundle);
}

/* Every facts fixture through the shipped metadata rules: the expected findings, each signal its
 * own; the mirror (dropped fields) gives none and a coverage note. */
static cJSON *judge_fixture(const char *file, const char *version, const cJSON *tarball, const char **coverage_status)
{
    const char *dirs[] = {tu_src("rules")};
    struct rules_load_opts o = {.dirs = dirs, .ndirs = 1};
    struct ruleset *rs = NULL;
    struct sb_error err = {0};
    assert_int_equal(ruleset_load(&rs, &o, &err), 0);
    cJSON *f = facts(file, version, tarball);
    struct rules_input in = {.facts = f, .facts_expected = true};
    struct rules_result rr;
    assert_int_equal(rules_judge(rs, &in, &rr, &err), 0);
    static char status[32];
    const cJSON *c;
    cJSON_ArrayForEach(c, rr.coverage) {
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c, "check")), "metadata"))
            snprintf(status, sizeof status, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(c, "status")));
    }
    *coverage_status = status;
    cJSON *ids = cJSON_CreateArray();
    cJSON_ArrayForEach(c, rr.findings) {
        cJSON_AddItemToArray(ids, cJSON_CreateString(cJSON_GetStringValue(cJSON_GetObjectItem(c, "rule_id"))));
    }
    rules_result_free(&rr);
    cJSON_Delete(f);
    ruleset_free(rs);
    return ids;
}

static void expect_ids(const char *file, const char *version, const cJSON *tarball, const char *const *want, const char *status)
{
    const char *st;
    cJSON *ids = judge_fixture(file, version, tarball, &st);
    char *shown = cJSON_PrintUnformatted(ids);
    size_t n = 0;
    for (; want[n]; n++) {
        bool found = false;
        const cJSON *e;
        cJSON_ArrayForEach(e, ids) found |= !strcmp(e->valuestring, want[n]);
        if (!found) fail_msg("%s@%s: no %s in %s", file, version, want[n], shown);
    }
    if ((size_t)cJSON_GetArraySize(ids) != n) fail_msg("%s@%s: findings %s, expected exactly %zu", file, version, shown, n);
    if (strcmp(st, status)) fail_msg("%s@%s: metadata coverage %s, expected %s", file, version, st, status);
    free(shown);
    cJSON_Delete(ids);
}

static void fixtures_through_the_shipped_rules(void **state)
{
    (void)state;
    /* a year after 0.9.0: a burst after dormancy too */
    static const char *const pumping[] = {"metadata-version-pumping", "metadata-dormant-then-burst", NULL};
    expect_ids("pumping.json", "1.0.29", NULL, pumping, "partial");   /* no publisher in it */
    static const char *const burst[] = {"metadata-dormant-then-burst", NULL};
    expect_ids("dormant-burst.json", "1.0.4", NULL, burst, "partial");
    static const char *const comp[] = {"metadata-install-script-added", "metadata-provenance-dropped", "metadata-new-publisher",
                                       "metadata-maintainer-added", "metadata-publish-tooling-changed",
                                       "metadata-unpublished-versions", NULL};
    expect_ids("compromised.json", "2.3.2", NULL, comp, "partial");
    cJSON *tar = fixture("confusion.tarball-package.json");
    static const char *const conf[] = {"metadata-manifest-confusion", NULL};
    expect_ids("confusion.json", "1.0.0", tar, conf, "partial");
    cJSON_Delete(tar);
    static const char *const sh[] = {"metadata-bin-shadows-command", NULL};
    expect_ids("bin-sh.json", "1.0.0", NULL, sh, "partial");
    static const char *const none[] = {NULL};
    expect_ids("mirror.json", "1.1.0", NULL, none, "partial");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pumping_is_counted),
        cmocka_unit_test(dormant_then_burst),
        cmocka_unit_test(compromised_publish_is_visible),
        cmocka_unit_test(manifest_confusion_is_flagged),
        cmocka_unit_test(bin_named_sh_is_flagged),
        cmocka_unit_test(missing_facts_are_unavailable_not_signals),
        cmocka_unit_test(fixtures_through_the_shipped_rules),
        cmocka_unit_test(specs_and_durations),
        cmocka_unit_test(resolution_in_a_packument),
        cmocka_unit_test(integrity_rules),
        cmocka_unit_test(signatures_verify),
        cmocka_unit_test(provenance_v02_bundle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
