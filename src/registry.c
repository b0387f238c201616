#include "registry.h"
#include "fileio.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "b64.h"
#include "lazylib.h"
#include "manifest.h"
#include "npmconfig.h"
#include "semver.h"

#define MIB (1024ull * 1024)

void registry_opts_default(struct registry_opts *o)
{
    *o = (struct registry_opts){.timeout_s = 60, .max_packument_bytes = 64 * MIB, .max_tarball_bytes = 256 * MIB,
                                .retry_backoff_ms = 250};
}

int registry_parse_duration(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)s[0])) return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno) return -1;
    unsigned long long mult = 1;
    if (!strcmp(end, "") || !strcmp(end, "s")) mult = 1;
    else if (!strcmp(end, "m")) mult = 60;
    else if (!strcmp(end, "h")) mult = 3600;
    else if (!strcmp(end, "d")) mult = 86400;
    else if (!strcmp(end, "w")) mult = 7 * 86400;
    else return -1;
    if (v > 100ull * 365 * 86400 / mult) return -1;
    *out = v * mult;
    return 0;
}

int registry_opt_apply(struct registry_opts *o, int code, const char *arg, struct sb_error *err)
{
    uint64_t v;
    switch (code - REGISTRY_OPT_BASE) {
    case 0:
        if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
            return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "--registry takes an http:// or https:// URL, not '%s'", arg);
        o->registry = arg;
        return 0;
    case 1: o->cache_dir = arg; return 0;
    case 2: o->offline = true; return 0;
    case 3: o->keys_file = arg; return 0;
    case 4:
        if (registry_parse_duration(arg, &v) < 0)
            return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "--min-age takes a duration such as 72h, 3d, 90m or 3600s, not '%s'", arg);
        o->min_age_s = v;
        o->min_age_disabled = v == 0;
        return 0;
    case 5:
        if (registry_parse_duration(arg, &v) < 0 || v == 0 || v > 3600 || strpbrk(arg, "mhdw"))
            return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "--timeout-registry takes whole seconds (1..3600), not '%s'", arg);
        o->timeout_s = (unsigned)v;
        return 0;
    case 6:
    case 7: {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(arg, &end, 10);
        if (errno || end == arg || *end || n == 0 || n > (1ull << 40) || arg[0] == '-')
            return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "--max-packument-bytes/--max-tarball-bytes take a positive whole number, not '%s'", arg);
        if (code - REGISTRY_OPT_BASE == 6) o->max_packument_bytes = n;
        else o->max_tarball_bytes = n;
        return 0;
    }
    case 8:
        if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
            return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "--downloads-api takes an http:// or https:// URL, not '%s'", arg);
        o->downloads_api = arg;
        return 0;
    default:
        return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "unknown option; see 'scriptbox --help'");
    }
}

const char *registry_sig_name(enum sig_result s)
{
    static const char *const n[] = {"absent", "valid", "invalid", "unknown-key", "keys-unavailable"};
    return (unsigned)s < 5 ? n[s] : "absent";
}

int registry_split_spec(const char *target, char *name, size_t namesz, char *spec, size_t specsz)
{
    const char *at = strchr(target + (target[0] == '@'), '@');
    size_t nlen = at ? (size_t)(at - target) : strlen(target);
    if (nlen == 0 || nlen >= namesz) return -1;
    memcpy(name, target, nlen);
    name[nlen] = 0;
    snprintf(spec, specsz, "%s", at ? at + 1 : "");
    if (at && strlen(at + 1) >= specsz) return -1;
    return manifest_valid_name(name) ? 0 : -1;
}

bool registry_is_spec(const char *target)
{
    char name[256], spec[256];
    size_t n = strlen(target);
    if (n > 4 && (!strcmp(target + n - 4, ".tgz") || !strcmp(target + n - 4, ".tar"))) return false;
    if (target[0] == '.' || target[0] == '/' || target[0] == '~') return false;
    if (registry_split_spec(target, name, sizeof name, spec, sizeof spec) < 0) return false;
    /* npm names are lower case: "Foo" is more likely a missing folder */
    for (const char *p = name; *p; p++)
        if (isupper((unsigned char)*p)) return false;
    return !strpbrk(spec, "/\\:");   /* no git/file/url specs */
}

int64_t registry_parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!end) return -1;
    if (*end == '.')
        for (end++; isdigit((unsigned char)*end); end++) {}
    if (*end != 'Z' && *end != 0) return -1;
    return (int64_t)timegm(&tm);
}

void registry_redact_url(const char *url, char *out, size_t outsz)
{
    const char *p = strstr(url, "://");
    const char *host = p ? p + 3 : url;
    const char *end = host + strcspn(host, "/?#");
    const char *at = memchr(host, '@', (size_t)(end - host));
    if (!at) snprintf(out, outsz, "%s", url);
    else snprintf(out, outsz, "%.*s***%s", (int)(host - url), url, at);
}

/* ---- HTTP ---------------------------------------------------------------------------------- */

struct sink {
    char *buf;            /* memory sink, or NULL */
    size_t len, cap;
    int fd;               /* file sink when buf == NULL */
    uint64_t total, max;
    bool too_big, write_failed;
};

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    struct sink *s = ud;
    size_t n = sz * nm;
    if (s->total + n > s->max) {
        s->too_big = true;
        return 0;
    }
    s->total += n;
    if (s->fd >= 0) {
        for (size_t off = 0; off < n;) {
            ssize_t w = write(s->fd, p + off, n - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                s->write_failed = true;
                return 0;
            }
            off += (size_t)w;
        }
        return n;
    }
    if (s->len + n + 1 > s->cap) {
        size_t ncap = s->cap ? s->cap : 65536;
        while (ncap < s->len + n + 1) ncap *= 2;
        char *nb = realloc(s->buf, ncap);
        if (!nb) {
            s->write_failed = true;
            return 0;
        }
        s->buf = nb;
        s->cap = ncap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = 0;
    return n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    const volatile sig_atomic_t *cancel = ud;
    return cancel && *cancel ? 1 : 0;
}

struct client {
    const struct registry_opts *o;
    struct npmconfig cfg;
    const struct lazy_curl *api;   /* libcurl, loaded on first use (lazylib.h) */
    CURL *curl;
    char cache[PATH_MAX];
    bool cache_ok;
};

static void sink_reset(struct sink *s)
{
    s->len = 0;
    s->total = 0;
    s->too_big = s->write_failed = false;
    if (s->buf) s->buf[0] = 0;
    if (s->fd >= 0) {
        if (lseek(s->fd, 0, SEEK_SET) < 0 || ftruncate(s->fd, 0) < 0) s->write_failed = true;
    }
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

static const char *human_size(uint64_t b, char *buf, size_t n)
{
    if (b >= MIB) snprintf(buf, n, "%llu MiB", (unsigned long long)(b / MIB));
    else snprintf(buf, n, "%llu bytes", (unsigned long long)b);
    return buf;
}

/* GET url into s. what names the object for messages ("packument of x", "tarball of x@1"). */
static int http_get(struct client *c, const char *real_url, bool json, struct sink *s, const char *what,
                    bool *auth_sent, struct sb_error *err)
{
    char url[2100];   /* as shown in messages */
    registry_redact_url(real_url, url, sizeof url);
    CURL *h = c->curl;
    char authbuf[4200], authhdr[4300], sizebuf[32];
    struct curl_slist *hdrs = NULL;
    hdrs = c->api->slist_append(hdrs, json ? "Accept: application/json" : "Accept: */*");
    const char *auth = npmconfig_auth_for(&c->cfg, real_url, authbuf, sizeof authbuf);
    if (auth) {
        snprintf(authhdr, sizeof authhdr, "Authorization: %s", auth);
        hdrs = c->api->slist_append(hdrs, authhdr);
    }
    if (auth_sent) *auth_sent = auth != NULL;
    c->api->easy_reset(h);
    c->api->easy_setopt(h, CURLOPT_URL, real_url);
    c->api->easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    c->api->easy_setopt(h, CURLOPT_USERAGENT, "scriptbox/" SCRIPTBOX_VERSION);
    c->api->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    c->api->easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    c->api->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);   /* a custom Authorization header stays on its host */
    c->api->easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    c->api->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    c->api->easy_setopt(h, CURLOPT_TIMEOUT, (long)c->o->timeout_s);
    c->api->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    c->api->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    c->api->easy_setopt(h, CURLOPT_WRITEDATA, s);
    c->api->easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->max);
    if (json) c->api->easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");   /* decoded bytes still count */
    c->api->easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    c->api->easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    c->api->easy_setopt(h, CURLOPT_XFERINFODATA, (void *)c->o->cancel);
    /* Proxies: libcurl reads http_proxy, HTTPS_PROXY, ALL_PROXY and NO_PROXY itself as long as
     * CURLOPT_PROXY is left unset, which it is. */
    int rc = -1;
    unsigned backoff = c->o->retry_backoff_ms ? c->o->retry_backoff_ms : 250;
    for (int attempt = 1; attempt <= 3; attempt++) {
        sink_reset(s);
        CURLcode cr = c->api->easy_perform(h);
        long status = 0;
        c->api->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        bool retry = false;
        if (cr == CURLE_ABORTED_BY_CALLBACK) {
            sb_fail(err, SB_EXIT_INPUT, "interrupted", 0, "fetching the %s from %s was interrupted", what, url);
        } else if (s->write_failed) {
            sb_fail(err, SB_EXIT_SANDBOX, "workdir", errno, "cannot store the %s from %s; fix: check free space in the work folder", what, url);
        } else if (s->too_big || cr == CURLE_FILESIZE_EXCEEDED) {
            sb_fail(err, SB_EXIT_INPUT, "registry-too-large", 0, "the %s from %s is larger than the %s cap; fix: check the registry, or raise the cap if the package is really that big",
                    what, url, human_size(s->max, sizebuf, sizeof sizebuf));
        } else if (cr == CURLE_OPERATION_TIMEDOUT) {
            sb_fail(err, SB_EXIT_INPUT, "registry-timeout", 0, "fetching the %s from %s timed out after %u s (3 tries); fix: check the network or proxy, or raise --timeout-registry",
                    what, url, c->o->timeout_s);
            retry = true;
        } else if (cr == CURLE_COULDNT_RESOLVE_HOST || cr == CURLE_COULDNT_RESOLVE_PROXY) {
            sb_fail(err, SB_EXIT_INPUT, "registry-dns", 0, "cannot resolve the host of %s (%s); fix: check the registry URL in .npmrc/--registry, DNS, or the proxy settings",
                    url, c->api->easy_strerror(cr));
        } else if (cr == CURLE_COULDNT_CONNECT) {
            sb_fail(err, SB_EXIT_INPUT, "registry-connect", 0, "cannot connect to %s (3 tries); fix: check the registry URL, the network or HTTPS_PROXY/NO_PROXY", url);
            retry = true;
        } else if (cr == CURLE_PARTIAL_FILE || cr == CURLE_RECV_ERROR || cr == CURLE_GOT_NOTHING) {
            sb_fail(err, SB_EXIT_INPUT, "registry-truncated", 0, "the %s from %s was cut short (%s; %llu bytes received, 3 tries); fix: retry later or check the proxy",
                    what, url, c->api->easy_strerror(cr), (unsigned long long)s->total);
            retry = true;
        } else if (cr != CURLE_OK) {
            sb_fail(err, SB_EXIT_INPUT, "registry-http", 0, "fetching the %s from %s failed: %s; fix: check the registry URL and the network",
                    what, url, c->api->easy_strerror(cr));
        } else if (status == 404) {
            sb_fail(err, SB_EXIT_INPUT, "registry-not-found", 0, "the registry has no %s (HTTP 404 from %s); fix: check the name and the registry (scoped packages need their @scope:registry)",
                    what, url);
        } else if (status == 401 || status == 403) {
            sb_fail(err, SB_EXIT_INPUT, "registry-auth", 0, "the registry refused the %s (HTTP %ld from %s)%s; fix: set //host/:_authToken for this registry in .npmrc",
                    what, status, url, auth ? " with the configured token" : " without a token");
        } else if (status >= 500 || status == 429 || status == 408) {   /* as make-fetch-happen retries */
            sb_fail(err, SB_EXIT_INPUT, "registry-http", 0, "the registry answered HTTP %ld for the %s from %s (3 tries); fix: retry later or use another registry/mirror",
                    status, what, url);
            retry = true;
        } else if (status < 200 || status >= 300) {
            sb_fail(err, SB_EXIT_INPUT, "registry-http", 0, "the registry answered HTTP %ld for the %s from %s; fix: check the registry URL", status, what, url);
        } else {
            rc = 0;
        }
        if (rc == 0 || !retry || attempt == 3 || (c->o->cancel && *c->o->cancel)) break;
        sleep_ms(backoff);
        backoff *= 2;
    }
    c->api->slist_free_all(hdrs);
    return rc;
}

/* ---- cache ------------------------------------------------------------------------------------ */

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0700) < 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0700) < 0 && errno != EEXIST) return -1;
    return 0;
}

static void cache_init(struct client *c)
{
    const char *d = c->o->cache_dir;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (d) snprintf(c->cache, sizeof c->cache, "%s", d);
    else if (xdg && xdg[0] == '/') snprintf(c->cache, sizeof c->cache, "%s/scriptbox", xdg);
    else if (home && home[0] == '/') snprintf(c->cache, sizeof c->cache, "%s/.cache/scriptbox", home);
    else c->cache[0] = 0;
    c->cache_ok = c->cache[0] && mkdir_p(c->cache) == 0;
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

/* A short stable folder name for a registry URL. */
static void registry_key(const char *registry, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(registry, strlen(registry), md, &n, EVP_sha256(), NULL);
    hex(md, 16, out);
}

static int cache_path(const struct client *c, char *out, size_t outsz, const char *registry, const char *kind,
                      const char *file)
{
    char key[33];
    registry_key(registry, key);
    int n = snprintf(out, outsz, "%s/%s/%s/%s", c->cache, kind, key, file);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* Write bytes to path atomically (tmp + rename). Failures are ignored: the cache is optional. */
static void cache_store(const char *path, const char *data, size_t len)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return;
    *slash = 0;
    if (mkdir_p(dir) < 0) return;
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return;
    bool ok = true;
    for (size_t off = 0; off < len && ok;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w <= 0) ok = false;
        else off += (size_t)w;
    }
    if (close(fd) < 0) ok = false;
    if (!ok || rename(tmp, path) < 0) unlink(tmp);
}

static char *read_small_file(const char *path, uint64_t max, size_t *len)
{
    return file_read_bounded(path, max > SIZE_MAX ? SIZE_MAX : (size_t)max, FILEIO_NOFOLLOW, len);
}

/* ---- integrity -------------------------------------------------------------------------------- */

static const EVP_MD *algo_md(const char *a, size_t n, int *rank)
{
    static const struct { const char *name; int rank; } t[] = {{"sha512", 4}, {"sha384", 3}, {"sha256", 2}, {"sha1", 1}};
    for (int i = 0; i < 4; i++)
        if (strlen(t[i].name) == n && !strncmp(a, t[i].name, n)) {
            *rank = t[i].rank;
            return EVP_get_digestbyname(t[i].name);
        }
    return NULL;
}

static int digest_file(const char *path, const EVP_MD *md, unsigned char *out, unsigned *outlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = ctx && EVP_DigestInit_ex(ctx, md, NULL) ? 0 : -1;
    static unsigned char buf[1 << 16];
    while (rc == 0) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) rc = -1;
        if (n <= 0) break;
        if (!EVP_DigestUpdate(ctx, buf, (size_t)n)) rc = -1;
    }
    if (rc == 0 && !EVP_DigestFinal_ex(ctx, out, outlen)) rc = -1;
    EVP_MD_CTX_free(ctx);
    close(fd);
    return rc;
}

int registry_check_integrity(const char *path, const char *sri, const char *shasum, char algo_out[16],
                             struct sb_error *err)
{
    unsigned char got[EVP_MAX_MD_SIZE];
    unsigned gotlen = 0;
    if (!sri || !*sri) {
        if (!shasum || strlen(shasum) != 40)
            return sb_fail(err, SB_EXIT_INPUT, "integrity-missing", 0,
                           "the registry gives neither dist.integrity nor dist.shasum; refusing an unverifiable tarball; fix: use a registry that serves full metadata");
        if (digest_file(path, EVP_sha1(), got, &gotlen) < 0)
            return sb_fail(err, SB_EXIT_SANDBOX, "internal", errno, "cannot hash %s", path);
        char h[41];
        hex(got, 20, h);
        snprintf(algo_out, 16, "shasum");
        if (strcasecmp(h, shasum))
            return sb_fail(err, SB_EXIT_INPUT, "integrity-mismatch", 0,
                           "tarball sha1 %s does not match dist.shasum %s; refusing to unpack; fix: do not install this version, find out which of the registry, a mirror or a proxy served other bytes",
                           h, shasum);
        return 0;
    }
    /* Pick the strongest algorithm named. */
    int best = 0;
    const EVP_MD *md = NULL;
    for (const char *p = sri; *p;) {
        p += strspn(p, " \t\r\n");
        size_t tl = strcspn(p, " \t\r\n");
        const char *dash = memchr(p, '-', tl);
        int rank = 0;
        const EVP_MD *m = dash ? algo_md(p, (size_t)(dash - p), &rank) : NULL;
        if (m && rank > best) {
            best = rank;
            md = m;
        }
        p += tl;
    }
    if (!md)
        return sb_fail(err, SB_EXIT_INPUT, "integrity-mismatch", 0,
                       "dist.integrity '%.100s' names no supported algorithm (sha512, sha384, sha256, sha1); refusing to unpack; fix: check the registry's metadata for this version", sri);
    if (digest_file(path, md, got, &gotlen) < 0) return sb_fail(err, SB_EXIT_SANDBOX, "internal", errno, "cannot hash %s", path);
    snprintf(algo_out, 16, "%s", EVP_MD_get0_name(md));
    for (char *q = algo_out; *q; q++) *q = (char)tolower((unsigned char)*q);
    if (!strcmp(algo_out, "sha2-512") || !strcmp(algo_out, "sha-512")) snprintf(algo_out, 16, "sha512");
    for (const char *p = sri; *p;) {
        p += strspn(p, " \t\r\n");
        size_t tl = strcspn(p, " \t\r\n");
        const char *dash = memchr(p, '-', tl);
        int rank = 0;
        if (dash && algo_md(p, (size_t)(dash - p), &rank) && rank == best) {
            const char *b = dash + 1;
            size_t bl = strcspn(b, "? \t\r\n");   /* "?opts" after the digest are ignored */
            size_t dl = 0;
            unsigned char *d = b64_decode(b, bl, &dl);
            bool eq = d && dl == gotlen && !memcmp(d, got, dl);
            free(d);
            if (eq) return 0;
        }
        p += tl;
    }
    char *mine = b64_encode(got, gotlen);
    const char *names[] = {"", "sha1", "sha256", "sha384", "sha512"};
    sb_fail(err, SB_EXIT_INPUT, "integrity-mismatch", 0,
            "tarball %s-%s does not match dist.integrity %.200s; refusing to unpack; fix: do not install this version, find out which of the registry, a mirror or a proxy served other bytes",
            names[best], mine ? mine : "?", sri);
    free(mine);
    return -1;
}

/* The cache file name of a tarball: the strongest digest of its integrity, hex. */
static int tarball_cache_name(const char *sri, const char *shasum, char *out, size_t outsz)
{
    int best = 0;
    char name[300] = "";
    for (const char *p = sri ? sri : ""; *p;) {
        p += strspn(p, " \t\r\n");
        size_t tl = strcspn(p, " \t\r\n");
        const char *dash = memchr(p, '-', tl);
        int rank = 0;
        if (dash && algo_md(p, (size_t)(dash - p), &rank) && rank > best) {
            size_t bl = strcspn(dash + 1, "? \t\r\n"), dl = 0;
            unsigned char *d = b64_decode(dash + 1, bl, &dl);
            if (d && dl <= 64) {
                char h[129];
                hex(d, dl, h);
                snprintf(name, sizeof name, "%.*s-%s.tgz", (int)(dash - p), p, h);
                best = rank;
            }
            free(d);
        }
        p += tl;
    }
    if (!best && shasum && strlen(shasum) == 40 && strspn(shasum, "0123456789abcdefABCDEF") == 40)
        snprintf(name, sizeof name, "sha1-%s.tgz", shasum);
    if (!name[0]) return -1;
    snprintf(out, outsz, "%s", name);
    return 0;
}

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) return -1;
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", to, (int)getpid());
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return -1;
    }
    static char buf[1 << 16];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n < 0) rc = -1;
            break;
        }
        if (write(out, buf, (size_t)n) != n) {
            rc = -1;
            break;
        }
    }
    close(in);
    if (close(out) < 0) rc = -1;
    if (rc == 0 && rename(tmp, to) < 0) rc = -1;
    if (rc < 0) unlink(tmp);
    return rc;
}

/* ---- resolution --------------------------------------------------------------------------------- */

static const char *str_at(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

const char *registry_resolve(const cJSON *packument, const char *name, const char *spec, time_t now,
                             uint64_t min_age_s, const char **spec_kind, bool *cooldown_violation,
                             struct sb_error *err)
{
    const cJSON *versions = cJSON_GetObjectItemCaseSensitive(packument, "versions");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(packument, "dist-tags");
    const cJSON *times = cJSON_GetObjectItemCaseSensitive(packument, "time");
    *cooldown_violation = false;
    if (!cJSON_IsObject(versions) || !cJSON_GetArraySize(versions))
        return sb_fail(err, SB_EXIT_INPUT, "no-matching-version", 0, "%s has no versions in the registry (unpublished?)", name), NULL;
    if (min_age_s && !cJSON_IsObject(times))
        return sb_fail(err, SB_EXIT_INPUT, "no-matching-version", 0,
                       "the registry gives no publish times for %s, so --min-age cannot be applied; fix: drop --min-age or use a registry that serves full packuments", name), NULL;
    const char *want = spec && *spec ? spec : "latest";
    size_t n = (size_t)cJSON_GetArraySize(versions);
    struct semver_candidate *cands = calloc(n, sizeof *cands);
    if (!cands) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory"), NULL;
    size_t i = 0;
    const cJSON *v;
    int64_t cutoff = (int64_t)now - (int64_t)min_age_s;
    cJSON_ArrayForEach(v, versions) {
        bool old_enough = true;
        if (min_age_s) {
            int64_t t = registry_parse_time(str_at(times, v->string));
            old_enough = t >= 0 && t <= cutoff;
        }
        cands[i++] = (struct semver_candidate){v->string, cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v, "deprecated")), old_enough};
    }
    const char *latest = str_at(tags, "latest");
    if (latest && min_age_s) {
        int64_t t = registry_parse_time(str_at(times, latest));
        if (t < 0 || t > cutoff) latest = NULL;
    }
    const char *picked = NULL;
    struct semver sv;
    struct semver_range *r = NULL;
    char rangebuf[300];
    if (semver_parse(want, &sv) == 0) {
        *spec_kind = "version";
        for (i = 0; i < n; i++) {
            struct semver cv;
            if (semver_parse(cands[i].version, &cv) == 0 && semver_cmp(&cv, &sv) == 0) picked = cands[i].version;
        }
        if (picked && min_age_s) {
            for (i = 0; i < n; i++)
                if (cands[i].version == picked) *cooldown_violation = !cands[i].eligible;
        }
        if (!picked)
            sb_fail(err, SB_EXIT_INPUT, "no-matching-version", 0, "%s has no version %s in the registry; fix: check `npm view %s versions`", name, want, name);
    } else if ((r = semver_range_parse(want)) != NULL) {
        *spec_kind = "range";
        int k = semver_pick(r, cands, n, latest);
        if (k >= 0) picked = cands[k].version;
        else
            sb_fail(err, SB_EXIT_INPUT, "no-matching-version", 0, "no version of %s satisfies '%s'%s; fix: check `npm view %s versions`",
                    name, want, min_age_s ? " and is older than --min-age" : "", name);
    } else {
        *spec_kind = "tag";
        const char *tagged = str_at(tags, want);
        if (!tagged) {
            sb_fail(err, SB_EXIT_INPUT, "no-matching-version", 0, "%s has no dist-tag '%s' (and it is not a version or range); fix: check `npm view %s dist-tags`",
                    name, want, name);
        } else if (!cJSON_GetObjectItemCaseSensitive(versions, tagged)) {
            sb_fail(err, SB_EXIT_INPUT, "no-matching-version", 0, "dist-tag '%s' of %s points at %s, which is not in versions", want, name, tagged);
        } else {
            /* As npm with `before`: a tag too young falls back to the newest eligible version <= it. */
            snprintf(rangebuf, sizeof rangebuf, "<=%s", tagged);
            picked = tagged;
            if (min_age_s) {
                picked = NULL;
                struct semver_range *le = semver_range_parse(rangebuf);
                int k = le ? semver_pick(le, cands, n, NULL) : -1;
                semver_range_free(le);
                if (k >= 0) picked = cands[k].version;
                else
                    sb_fail(err, SB_EXIT_INPUT, "no-matching-version", 0, "no version of %s at or below dist-tag %s (%s) is older than --min-age", name, want, tagged);
            }
        }
    }
    semver_range_free(r);
    /* point into the packument, not at cands */
    const char *out = NULL;
    if (picked) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(versions, picked);
        out = m ? m->string : NULL;
    }
    free(cands);
    return out;
}

/* ---- the fetch ---------------------------------------------------------------------------------- */

static void escape_name(const char *name, char *out, size_t outsz)
{
    size_t w = 0;
    for (const char *p = name; *p && w + 4 < outsz; p++) {
        if (*p == '/') {
            memcpy(out + w, "%2f", 3);
            w += 3;
        } else {
            out[w++] = *p;
        }
    }
    out[w] = 0;
}

static int load_packument(struct client *c, struct registry_result *res, struct sb_error *err)
{
    char esc[600], cpath[PATH_MAX], file[700];
    escape_name(res->name, esc, sizeof esc);
    snprintf(res->packument_url, sizeof res->packument_url, "%s%s", res->registry, esc);
    snprintf(file, sizeof file, "%s.json", esc);
    bool have_cpath = c->cache_ok && cache_path(c, cpath, sizeof cpath, res->registry, "packuments", file) == 0;
    char *text = NULL;
    size_t len = 0;
    if (c->o->offline) {
        text = have_cpath ? read_small_file(cpath, c->o->max_packument_bytes, &len) : NULL;
        char shown[1100];
        registry_redact_url(res->registry, shown, sizeof shown);
        if (!text)
            return sb_fail(err, SB_EXIT_INPUT, "offline-missing", 0,
                           "--offline: the cache %s holds no packument of %s for %s; fix: run once without --offline (same --cache) to fill it",
                           c->cache[0] ? c->cache : "(none)", res->name, shown);
        res->packument_from_cache = true;
    } else {
        struct sink s = {.fd = -1, .max = c->o->max_packument_bytes};
        char what[400];
        snprintf(what, sizeof what, "packument of %s", res->name);
        if (http_get(c, res->packument_url, true, &s, what, &res->auth_sent, err) < 0) {
            free(s.buf);
            return -1;
        }
        text = s.buf ? s.buf : strdup("");
        len = s.len;
    }
    res->packument = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(res->packument)) {
        free(text);
        return sb_fail(err, SB_EXIT_INPUT, "registry-bad-json", 0, "the packument of %s from %s is not a JSON object; fix: check that the URL is an npm registry",
                       res->name, res->packument_url);
    }
    if (!c->o->offline && have_cpath) cache_store(cpath, text, len);
    free(text);
    return 0;
}

static int load_tarball(struct client *c, struct registry_result *res, const char *work_dir, struct sb_error *err)
{
    const cJSON *dist = cJSON_GetObjectItemCaseSensitive(res->manifest, "dist");
    const char *url = str_at(dist, "tarball"), *sri = str_at(dist, "integrity"), *shasum = str_at(dist, "shasum");
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
        return sb_fail(err, SB_EXIT_INPUT, "registry-bad-json", 0, "%s@%s has no http(s) dist.tarball in the registry", res->name, res->version);
    snprintf(res->tarball_url, sizeof res->tarball_url, "%s", url);
    snprintf(res->integrity, sizeof res->integrity, "%s", sri ? sri : "");
    char cname[400], cpath[PATH_MAX];
    bool cacheable = c->cache_ok && tarball_cache_name(sri, shasum, cname, sizeof cname) == 0 &&
                     snprintf(cpath, sizeof cpath, "%s/tarballs/%s", c->cache, cname) < (int)sizeof cpath;
    snprintf(res->tarball_path, sizeof res->tarball_path, "%s/download.tgz", work_dir);
    if (cacheable && access(cpath, R_OK) == 0) {
        /* The copy in the work folder is what is verified and then unpacked: nothing can change
         * the bytes between the check and the unpacker. */
        struct sb_error e2 = {0};
        if (copy_file(cpath, res->tarball_path) == 0 &&
            registry_check_integrity(res->tarball_path, sri, shasum, res->verified_with, &e2) == 0) {
            res->tarball_from_cache = true;
            return 0;
        }
        unlink(res->tarball_path);
        unlink(cpath);   /* a damaged cache entry: fetch again (or say so offline) */
    }
    if (c->o->offline)
        return sb_fail(err, SB_EXIT_INPUT, "offline-missing", 0,
                       "--offline: the cache %s holds no tarball of %s@%s; fix: run once without --offline (same --cache) to fill it",
                       c->cache[0] ? c->cache : "(none)", res->name, res->version);
    int fd = open(res->tarball_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return sb_fail(err, SB_EXIT_SANDBOX, "workdir", errno, "cannot create %s: %s", res->tarball_path, strerror(errno));
    struct sink s = {.fd = fd, .max = c->o->max_tarball_bytes};
    char what[400];
    snprintf(what, sizeof what, "tarball of %s@%s", res->name, res->version);
    int rc = http_get(c, url, false, &s, what, NULL, err);
    close(fd);
    if (rc < 0) return -1;
    if (registry_check_integrity(res->tarball_path, sri, shasum, res->verified_with, err) < 0) {
        char shown[2100];
        registry_redact_url(url, shown, sizeof shown);
        return sb_context(err, "%s@%s from %s", res->name, res->version, shown);
    }
    if (cacheable) {
        char dir[PATH_MAX + 16];
        snprintf(dir, sizeof dir, "%s/tarballs", c->cache);
        if (mkdir_p(dir) == 0) copy_file(res->tarball_path, cpath);
    }
    return 0;
}

/* Registry keys: --registry-keys FILE, else the cache (a day), else <registry>/-/npm/v1/keys. */
static cJSON *load_keys(struct client *c, const char *registry)
{
    size_t len = 0;
    char *text = NULL;
    if (c->o->keys_file) {
        text = read_small_file(c->o->keys_file, MIB, &len);
    } else {
        char cpath[PATH_MAX];
        bool have = c->cache_ok && cache_path(c, cpath, sizeof cpath, registry, "keys", "keys.json") == 0;
        struct stat st;
        if (have && stat(cpath, &st) == 0 && (c->o->offline || time(NULL) - st.st_mtime < 86400))
            text = read_small_file(cpath, MIB, &len);
        if (!text && !c->o->offline) {
            char url[1200];
            snprintf(url, sizeof url, "%s-/npm/v1/keys", registry);
            struct sink s = {.fd = -1, .max = MIB};
            struct sb_error ignored = {0};
            if (http_get(c, url, true, &s, "registry keys", NULL, &ignored) == 0) {
                text = s.buf;
                len = s.len;
                cJSON *probe = text ? cJSON_ParseWithLength(text, len) : NULL;
                if (have && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(probe, "keys"))) cache_store(cpath, text, len);
                cJSON_Delete(probe);
            } else {
                free(s.buf);
            }
        }
    }
    cJSON *keys = text ? cJSON_ParseWithLength(text, len) : NULL;
    free(text);
    if (keys && !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(keys, "keys"))) {
        cJSON_Delete(keys);
        keys = NULL;
    }
    return keys;
}

/* scheme://host[:port] of url into out. */
static int origin_of(const char *url, char *out, size_t outsz)
{
    const char *p = strstr(url, "://");
    if (!p) return -1;
    size_t n = (size_t)(p + 3 - url) + strcspn(p + 3, "/?#");
    if (n >= outsz) return -1;
    memcpy(out, url, n);
    out[n] = 0;
    for (char *q = out; *q; q++) *q = (char)tolower((unsigned char)*q);
    return 0;
}

static void load_provenance(struct client *c, struct registry_result *res)
{
    const cJSON *dist = cJSON_GetObjectItemCaseSensitive(res->manifest, "dist");
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(dist, "attestations");
    cJSON *p = cJSON_CreateObject();
    res->provenance = p;
    cJSON_AddBoolToObject(p, "present", cJSON_IsObject(att));
    cJSON_AddStringToObject(p, "sigstore_verified_note", "Sigstore verification was NOT performed: these are the publisher's claims as served by the registry");
    if (!cJSON_IsObject(att)) return;
    const char *url = str_at(att, "url");
    const char *ptype = str_at(cJSON_GetObjectItemCaseSensitive(att, "provenance"), "predicateType");
    if (ptype) cJSON_AddStringToObject(p, "predicate_type", ptype);
    if (url) cJSON_AddStringToObject(p, "url", url);
    char o1[1200], o2[1200];
    bool same = url && origin_of(url, o1, sizeof o1) == 0 && origin_of(res->registry, o2, sizeof o2) == 0 && !strcmp(o1, o2);
    cJSON_AddBoolToObject(p, "same_origin", same);
    if (!same || c->o->offline) {
        cJSON_AddStringToObject(p, "bundle", c->o->offline ? "not-fetched-offline" : "not-fetched-other-origin");
        return;
    }
    struct sink s = {.fd = -1, .max = 16 * MIB};
    struct sb_error ignored = {0};
    if (http_get(c, url, true, &s, "attestations", NULL, &ignored) < 0) {
        free(s.buf);
        cJSON_AddStringToObject(p, "bundle", "unavailable");
        return;
    }
    cJSON *b = s.buf ? cJSON_ParseWithLength(s.buf, s.len) : NULL;
    free(s.buf);
    cJSON_AddStringToObject(p, "bundle", b ? "fetched" : "unparsable");
    /* {"attestations":[{"predicateType":…, "bundle":{…}}]}: take the SLSA one */
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(b, "attestations")) {
        const char *pt = str_at(a, "predicateType");
        if (pt && strstr(pt, "slsa.dev/provenance")) registry_provenance_from_bundle(cJSON_GetObjectItemCaseSensitive(a, "bundle"), p);
    }
    cJSON_Delete(b);
}

/* Daily downloads of the last month, when --downloads-api is given; never an error. */
static void load_downloads(struct client *c, struct registry_result *res)
{
    if (!c->o->downloads_api) {
        snprintf(res->downloads_note, sizeof res->downloads_note, "not fetched: --downloads-api not given");
        return;
    }
    if (c->o->offline) {
        snprintf(res->downloads_note, sizeof res->downloads_note, "not fetched: --offline");
        return;
    }
    char esc[800], url[2400];
    escape_name(res->name, esc, sizeof esc);
    size_t bl = strlen(c->o->downloads_api);
    while (bl && c->o->downloads_api[bl - 1] == '/') bl--;
    snprintf(url, sizeof url, "%.*s/range/last-month/%s", (int)bl, c->o->downloads_api, esc);
    struct sink s = {.fd = -1, .max = 4 * MIB};
    struct sb_error e = {0};
    char what[400];
    snprintf(what, sizeof what, "download counts of %s", res->name);
    if (http_get(c, url, true, &s, what, NULL, &e) < 0) {
        snprintf(res->downloads_note, sizeof res->downloads_note, "unavailable: %s", e.msg);
        free(s.buf);
        return;
    }
    cJSON *b = s.buf ? cJSON_ParseWithLength(s.buf, s.len) : NULL;
    free(s.buf);
    cJSON *days = cJSON_DetachItemFromObjectCaseSensitive(b, "downloads");
    cJSON_Delete(b);
    if (!cJSON_IsArray(days)) {
        cJSON_Delete(days);
        snprintf(res->downloads_note, sizeof res->downloads_note, "unavailable: the downloads API answered without a \"downloads\" array");
        return;
    }
    res->downloads = days;
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int registry_fetch(const struct registry_opts *o, const char *target, const char *work_dir,
                   struct registry_result *res, struct sb_error *err)
{
    memset(res, 0, sizeof *res);
    uint64_t t0 = mono_us();
    if (registry_split_spec(target, res->name, sizeof res->name, res->spec, sizeof res->spec) < 0)
        return sb_fail(err, SB_EXIT_INPUT, "target-missing", 0, "'%s' is neither a file, a folder nor a valid npm name[@spec]", target);
    if (!res->spec[0]) snprintf(res->spec, sizeof res->spec, "latest");
    res->min_age_s = o->min_age_s;
    res->min_age_disabled = o->min_age_disabled;
    struct client c = {.o = o};
    struct npmconfig_opts co = {.cli_registry = o->registry, .npm_bin = o->npm_bin};
    if (npmconfig_load(&c.cfg, &co, err) < 0) return -1;
    int rc = -1;
    if (npmconfig_registry_for(&c.cfg, &co, res->name, res->registry, sizeof res->registry, &res->registry_origin, err) < 0)
        goto out;
    cache_init(&c);
    if (o->offline && !c.cache_ok) {
        sb_fail(err, SB_EXIT_INPUT, "offline-missing", 0, "--offline needs a cache folder; fix: pass --cache DIR or set HOME/XDG_CACHE_HOME");
        goto out;
    }
    c.api = lazy_curl(err);
    if (!c.api) goto out;
    c.curl = c.api->easy_init();
    if (!c.curl) {
        sb_fail(err, SB_EXIT_SANDBOX, "internal", 0, "cannot initialise libcurl");
        goto out;
    }
    if (o->keys_file) {   /* asked for explicitly: a bad file is an error, before any download */
        cJSON *k = load_keys(&c, res->registry);
        cJSON_Delete(k);
        if (!k) {
            sb_fail(err, SB_EXIT_INPUT, "registry-keys", 0,
                    "--registry-keys %s is not a readable JSON document with a \"keys\" array (at most 1 MiB); fix: pass the registry's /-/npm/v1/keys document",
                    o->keys_file);
            goto out;
        }
    }
    if (load_packument(&c, res, err) < 0) goto out;
    bool young = false;
    const char *v = registry_resolve(res->packument, res->name, res->spec, time(NULL), o->min_age_s, &res->spec_kind, &young, err);
    if (!v) goto out;
    res->cooldown_violation = young;
    snprintf(res->version, sizeof res->version, "%s", v);
    res->manifest = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res->packument, "versions"), v);
    if (load_tarball(&c, res, work_dir, err) < 0) goto out;
    /* signatures */
    const cJSON *dist = cJSON_GetObjectItemCaseSensitive(res->manifest, "dist");
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(dist, "signatures"))) {
        res->sig = SIG_ABSENT;
    } else {
        cJSON *keys = load_keys(&c, res->registry);
        int64_t pub = registry_parse_time(str_at(cJSON_GetObjectItemCaseSensitive(res->packument, "time"), v));
        res->sig = keys ? registry_verify_signatures(dist, res->name, res->version, keys, pub, res->sig_keyid, sizeof res->sig_keyid,
                                                     res->sig_detail, sizeof res->sig_detail)
                        : SIG_KEYS_UNAVAILABLE;
        cJSON_Delete(keys);
    }
    load_provenance(&c, res);
    load_downloads(&c, res);
    rc = 0;
out:
    if (c.curl) c.api->easy_cleanup(c.curl);
    npmconfig_free(&c.cfg);
    res->us = mono_us() - t0;
    return rc;
}

void registry_result_free(struct registry_result *res)
{
    cJSON_Delete(res->packument);
    cJSON_Delete(res->provenance);
    cJSON_Delete(res->downloads);
    res->packument = res->provenance = res->downloads = NULL;
    res->manifest = NULL;
}
