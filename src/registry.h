/*
 * registry.h — intake from an npm registry: `name@spec` → packument → version → verified tarball.
 *
 * The registry URL and token come from npm's configuration (npmconfig.h) or --registry. The full
 * packument is fetched (Accept: application/json, never the abbreviated form: the facts need
 * `time`, `_npmUser`, `maintainers`), the spec is resolved as npm would (exact version, dist-tag,
 * range; semver.h), the tarball is downloaded into the run's work folder and its `dist.integrity`
 * (SRI; `dist.shasum` only when there is none) checked with OpenSSL before anything unpacks it.
 * Verified tarballs are cached by integrity under the cache folder, packuments and registry keys
 * by registry and name; --offline uses only the cache.
 *
 * HTTP: libcurl, http/https only, proxies from the environment (libcurl's own handling of
 * http_proxy/HTTPS_PROXY/NO_PROXY), connect timeout 10 s, a total timeout per request,
 * 3 tries with backoff on 5xx, timeouts, refused connections and truncated bodies; size caps on
 * every body. Errors are SB_EXIT_INPUT with codes registry-http, registry-not-found,
 * registry-auth, registry-timeout, registry-dns, registry-connect, registry-truncated,
 * registry-too-large, registry-bad-json, no-matching-version, integrity-mismatch,
 * offline-missing, registry-config.
 */
#ifndef SCRIPTBOX_REGISTRY_H
#define SCRIPTBOX_REGISTRY_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "error.h"

struct registry_opts {
    const char *registry;        /* --registry URL, or NULL */
    const char *cache_dir;       /* --cache DIR, or NULL for the default */
    const char *keys_file;       /* --registry-keys FILE, or NULL */
    bool offline;                /* --offline */
    unsigned timeout_s;          /* --timeout-registry: total per request (default 60) */
    uint64_t min_age_s;          /* --min-age; 0 = none (resolution is then not filtered) */
    bool min_age_disabled;       /* --min-age 0: no cooldown flag either */
    uint64_t max_packument_bytes;/* default 64 MiB */
    uint64_t max_tarball_bytes;  /* default 256 MiB */
    const char *npm_bin;         /* for `npm config get registry`; NULL = "npm" */
    const char *downloads_api;   /* --downloads-api URL: daily download counts (never required) */
    unsigned retry_backoff_ms;   /* first backoff (default 250), doubled per try */
    const volatile sig_atomic_t *cancel;   /* non-zero: abort transfers at once (SIGINT/SIGTERM) */
};

void registry_opts_default(struct registry_opts *o);

/* Without --min-age, versions are resolved as npm would, but one younger than this is flagged
 * (registry.cooldown_violation, rule metadata-release-cooldown). */
#define REGISTRY_DEFAULT_MIN_AGE_S (72u * 3600u)

/* analyze's registry options (getopt_long codes start at REGISTRY_OPT_BASE). */
enum { REGISTRY_OPT_BASE = 200, REGISTRY_OPT_COUNT = 9 };
#define REGISTRY_LONGOPTS                                                                  \
    {"registry", required_argument, NULL, REGISTRY_OPT_BASE + 0},                          \
    {"cache", required_argument, NULL, REGISTRY_OPT_BASE + 1},                             \
    {"offline", no_argument, NULL, REGISTRY_OPT_BASE + 2},                                 \
    {"registry-keys", required_argument, NULL, REGISTRY_OPT_BASE + 3},                     \
    {"min-age", required_argument, NULL, REGISTRY_OPT_BASE + 4},                           \
    {"timeout-registry", required_argument, NULL, REGISTRY_OPT_BASE + 5},                  \
    {"max-packument-bytes", required_argument, NULL, REGISTRY_OPT_BASE + 6},               \
    {"max-tarball-bytes", required_argument, NULL, REGISTRY_OPT_BASE + 7},                 \
    {"downloads-api", required_argument, NULL, REGISTRY_OPT_BASE + 8}
int registry_opt_apply(struct registry_opts *o, int code, const char *arg, struct sb_error *err);

/* "72h", "3d", "90m", "3600s", "3600" → seconds. -1 when invalid. */
int registry_parse_duration(const char *s, uint64_t *out);

/* true when target reads as a registry spec ("name", "name@1.2.3", "@scope/name@^1"), not a path. */
bool registry_is_spec(const char *target);

enum sig_result { SIG_ABSENT, SIG_VALID, SIG_INVALID, SIG_UNKNOWN_KEY, SIG_KEYS_UNAVAILABLE };
const char *registry_sig_name(enum sig_result s);

struct registry_result {
    char name[256];
    char spec[256];              /* as given after '@' ("latest" when none) */
    const char *spec_kind;       /* "version" | "range" | "tag" */
    char version[128];
    char registry[1024];         /* ends with '/' */
    const char *registry_origin; /* "cli", "env", "project", "user", "global", "npm" */
    char packument_url[2048];
    char tarball_url[2048];
    char integrity[1024];        /* dist.integrity as published, or "" */
    char verified_with[16];      /* "sha512", "sha384", "sha256", "sha1", "shasum" */
    char tarball_path[PATH_MAX]; /* the verified tarball to unpack */
    bool packument_from_cache, tarball_from_cache;
    bool cooldown_violation;     /* an exact version younger than --min-age */
    uint64_t min_age_s;
    bool min_age_disabled;       /* --min-age 0 */
    bool auth_sent;              /* an Authorization header went with the packument request */
    cJSON *packument;            /* owned */
    const cJSON *manifest;       /* packument.versions[version], borrowed */
    /* registry signatures */
    enum sig_result sig;
    char sig_keyid[256];
    char sig_detail[256];
    /* provenance (dist.attestations): facts only; Sigstore verification is not performed */
    cJSON *provenance;           /* owned, see docs/report-schema.md */
    /* --downloads-api: GET <URL>/range/last-month/<name> → {"downloads": [{"day", "downloads"}]} */
    cJSON *downloads;            /* owned: that array, or NULL */
    char downloads_note[700];    /* why there are none ("--downloads-api not given", the error) */
    uint64_t us;                 /* time spent in the registry phase (µs; the caller adds the facts) */
};

/* Resolve, fetch, verify and cache; the tarball lands in work_dir (or stays in the cache).
 * res is always initialised; free with registry_result_free. */
int registry_fetch(const struct registry_opts *o, const char *target, const char *work_dir,
                   struct registry_result *res, struct sb_error *err);
void registry_result_free(struct registry_result *res);

/* Split "name@spec" (scope-aware); spec "" when absent. -1 when the name is not a valid npm name. */
int registry_split_spec(const char *target, char *name, size_t namesz, char *spec, size_t specsz);

/* Pick the version for spec in packument (exported for tests): returns the version string
 * (borrowed from the packument) or NULL with err filled. now/min_age_s apply --min-age. */
const char *registry_resolve(const cJSON *packument, const char *name, const char *spec, time_t now,
                             uint64_t min_age_s, const char **spec_kind, bool *cooldown_violation,
                             struct sb_error *err);

/* Check bytes of a file against an SRI string (npm/ssri rules: the strongest algorithm present
 * decides; any of its hashes may match) or, when sri is empty, a sha1 hex shasum. 0 match,
 * -1 mismatch or error (err filled; "integrity-mismatch" on mismatch). algo_out names what was used. */
int registry_check_integrity(const char *path, const char *sri, const char *shasum, char algo_out[16],
                             struct sb_error *err);

/* url with any "user:password@" replaced by "***@", for reports and messages. */
void registry_redact_url(const char *url, char *out, size_t outsz);

/* ISO 8601 "2024-01-02T03:04:05.678Z" → epoch seconds; -1 when unparsable. */
int64_t registry_parse_time(const char *s);

/* Signatures: verify entries of dist.signatures against keys JSON ({keys:[…]}) — exported for tests. */
enum sig_result registry_verify_signatures(const cJSON *dist, const char *name, const char *version,
                                           const cJSON *keys, int64_t published_at, char *keyid,
                                           size_t keyidsz, char *detail, size_t detailsz);

/* Provenance facts from a DSSE envelope / Sigstore bundle JSON (exported for tests). Adds
 * source_repo, workflow_path, ref, builder_id, predicate_type to out when found. */
void registry_provenance_from_bundle(const cJSON *bundle, cJSON *out);

#endif
