/*
 * registry_verify.c — registry signatures (ECDSA P-256 over "<name>@<version>:<integrity>",
 * npm's `dist.signatures`) and provenance facts read from an attestation bundle. Provenance is
 * read, not verified: no Sigstore certificate chain, transparency log or signature check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "b64.h"
#include "registry.h"

static const char *str_at(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static const cJSON *find_key(const cJSON *keys, const char *keyid)
{
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(keys, "keys")) {
        const char *id = str_at(k, "keyid");
        if (id && !strcmp(id, keyid)) return k;
    }
    return NULL;
}

/* 1 valid, 0 invalid, -1 the key itself is unusable. */
static int verify_one(const char *key_b64, const char *sig_b64, const char *msg)
{
    size_t klen = 0, slen = 0;
    unsigned char *kder = b64_decode(key_b64, strlen(key_b64), &klen);
    unsigned char *sig = b64_decode(sig_b64, strlen(sig_b64), &slen);
    int rc = -1;
    const unsigned char *p = kder;
    EVP_PKEY *pk = kder ? d2i_PUBKEY(NULL, &p, (long)klen) : NULL;
    EVP_MD_CTX *ctx = pk ? EVP_MD_CTX_new() : NULL;
    if (ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1) {
        rc = sig && EVP_DigestVerify(ctx, sig, slen, (const unsigned char *)msg, strlen(msg)) == 1 ? 1 : 0;
    }
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    free(kder);
    free(sig);
    return rc;
}

enum sig_result registry_verify_signatures(const cJSON *dist, const char *name, const char *version,
                                           const cJSON *keys, int64_t published_at, char *keyid,
                                           size_t keyidsz, char *detail, size_t detailsz)
{
    const cJSON *sigs = cJSON_GetObjectItemCaseSensitive(dist, "signatures");
    const char *integrity = str_at(dist, "integrity");
    keyid[0] = detail[0] = 0;
    if (!cJSON_IsArray(sigs) || !cJSON_GetArraySize(sigs)) return SIG_ABSENT;
    if (!keys) return SIG_KEYS_UNAVAILABLE;
    char msg[2048];
    snprintf(msg, sizeof msg, "%s@%s:%s", name, version, integrity ? integrity : "");
    bool any_valid = false, any_known = false;
    const cJSON *s;
    cJSON_ArrayForEach(s, sigs) {
        const char *id = str_at(s, "keyid"), *sig = str_at(s, "sig");
        if (!id || !sig) continue;
        const cJSON *k = find_key(keys, id);
        if (!k) {
            if (!keyid[0]) snprintf(keyid, keyidsz, "%s", id);
            continue;
        }
        any_known = true;
        snprintf(keyid, keyidsz, "%s", id);
        const char *expires = str_at(k, "expires");
        if (expires && published_at >= 0 && registry_parse_time(expires) >= 0 && published_at > registry_parse_time(expires)) {
            snprintf(detail, detailsz, "key %s expired (%s) before this version was published", id, expires);
            return SIG_INVALID;
        }
        const char *key = str_at(k, "key");
        int v = key ? verify_one(key, sig, msg) : -1;
        if (v == 0) {
            snprintf(detail, detailsz, "signature by %s does not match %s@%s:<integrity>", id, name, version);
            return SIG_INVALID;
        }
        if (v < 0) {
            snprintf(detail, detailsz, "key %s is not a usable public key", id);
            return SIG_INVALID;
        }
        any_valid = true;
    }
    if (any_valid) return SIG_VALID;
    if (!any_known) snprintf(detail, detailsz, "no signature was made with a key the registry publishes");
    return any_known ? SIG_INVALID : SIG_UNKNOWN_KEY;
}

/* "git+https://github.com/o/r@refs/heads/main" → repo, ref. */
static void split_config_uri(const char *uri, cJSON *out)
{
    const char *u = !strncmp(uri, "git+", 4) ? uri + 4 : uri;
    const char *at = strrchr(u, '@');
    const char *scheme = strstr(u, "://");
    if (at && scheme && at > scheme) {
        char repo[1024];
        snprintf(repo, sizeof repo, "%.*s", (int)(at - u), u);
        cJSON_AddStringToObject(out, "source_repo", repo);
        cJSON_AddStringToObject(out, "ref", at + 1);
    } else {
        cJSON_AddStringToObject(out, "source_repo", u);
    }
}

void registry_provenance_from_bundle(const cJSON *bundle, cJSON *out)
{
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(bundle, "dsseEnvelope");
    if (!env) env = bundle;   /* a bare DSSE envelope */
    const char *payload = str_at(env, "payload");
    if (!payload) return;
    size_t n = 0;
    unsigned char *raw = b64_decode(payload, strlen(payload), &n);
    cJSON *st = raw ? cJSON_ParseWithLength((const char *)raw, n) : NULL;
    free(raw);
    if (!st) return;
    const char *pt = str_at(st, "predicateType");
    const cJSON *pred = cJSON_GetObjectItemCaseSensitive(st, "predicate");
    if (pt && !cJSON_GetObjectItemCaseSensitive(out, "predicate_type")) cJSON_AddStringToObject(out, "predicate_type", pt);
    /* SLSA v1 */
    const cJSON *bd = cJSON_GetObjectItemCaseSensitive(pred, "buildDefinition");
    const cJSON *wf = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(bd, "externalParameters"), "workflow");
    const char *builder = str_at(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pred, "runDetails"), "builder"), "id");
    if (wf) {
        const char *repo = str_at(wf, "repository"), *path = str_at(wf, "path"), *ref = str_at(wf, "ref");
        if (repo) cJSON_AddStringToObject(out, "source_repo", repo);
        if (path) cJSON_AddStringToObject(out, "workflow_path", path);
        if (ref) cJSON_AddStringToObject(out, "ref", ref);
    } else {
        /* SLSA v0.2 */
        const cJSON *cs = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pred, "invocation"), "configSource");
        const char *uri = str_at(cs, "uri"), *entry = str_at(cs, "entryPoint");
        if (uri) split_config_uri(uri, out);
        if (entry) cJSON_AddStringToObject(out, "workflow_path", entry);
        if (!builder) builder = str_at(cJSON_GetObjectItemCaseSensitive(pred, "builder"), "id");
    }
    if (builder) cJSON_AddStringToObject(out, "builder_id", builder);
    cJSON_Delete(st);
}
