/*
 * honeypot.c — the fake HOME and project secrets (see honeypot.h).
 *
 * Layout: randomness (getrandom or a seeded DRBG) → text buffers → no-follow file writing →
 * canaries and token shapes → one builder per tool (npm, ssh, aws, gh, git, docker, kube,
 * .env, wallets, browsers, discord, shell) → honeypot_build().
 */
#include "honeypot.h"
#include "fileio.h"
#include "jsonw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

enum { WALLET_LIST_MAX_BYTES = 64 * 1024, HOST_MAX = 253, NAME_MAX_LEN = 64, ENV_MAX = 48 };

static const char BASE62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const char BASE58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char UPPER_ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";   /* AWS key ids use base32 */
static const char HEX[] = "0123456789abcdef";
static const char DIGITS[] = "0123456789";
static const char B64_STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64_URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---- randomness ---------------------------------------------------------------------- */

struct rng {
    uint64_t seed;            /* 0: getrandom */
    uint64_t counter;
    unsigned char block[32];
    size_t left;              /* unused bytes at the end of block */
    unsigned char pool[2048]; /* getrandom's bytes, fetched a pool at a time (500 calls → 10) */
    size_t pool_left;
};

/* Deterministic bytes for tests: SHA-256(seed || counter), counter mode. */
static int drbg_refill(struct rng *r)
{
    unsigned char in[16];
    for (int i = 0; i < 8; i++) {
        in[i] = (unsigned char)(r->seed >> (8 * i));
        in[8 + i] = (unsigned char)(r->counter >> (8 * i));
    }
    r->counter++;
    unsigned int n = 0;
    if (!EVP_Digest(in, sizeof in, r->block, &n, EVP_sha256(), NULL) || n != sizeof r->block) return -1;
    r->left = sizeof r->block;
    return 0;
}

static int os_random(unsigned char *p, size_t n)
{
    while (n) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static int pooled_random(struct rng *r, unsigned char *p, size_t n)
{
    while (n) {
        if (!r->pool_left) {
            if (os_random(r->pool, sizeof r->pool) < 0) return -1;
            r->pool_left = sizeof r->pool;
        }
        size_t take = n < r->pool_left ? n : r->pool_left;
        unsigned char *from = r->pool + sizeof r->pool - r->pool_left;
        memcpy(p, from, take);
        memset(from, 0, take);   /* a byte handed out is not kept */
        r->pool_left -= take;
        p += take;
        n -= take;
    }
    return 0;
}

static int rng_bytes(struct rng *r, unsigned char *p, size_t n)
{
    if (!r->seed) return pooled_random(r, p, n);
    for (; n; n--) {
        if (!r->left && drbg_refill(r) < 0) return -1;
        *p++ = r->block[sizeof r->block - r->left--];
    }
    return 0;
}

/* ---- build context ------------------------------------------------------------------- */

struct hp_ctx {
    int home_fd, project_fd;
    const char *registry_host, *git_host, *user, *home, *project;
    struct rng rng;
    struct honeypot *hp;
    size_t nenv;
    int ci;                    /* HONEYPOT_CI_* */
    struct sb_error *err;
    bool failed;              /* err is filled; later steps do nothing */
    /* The folder the last file went into, kept open: files come in runs per folder, and
     * walking each path again costs three calls per component. */
    int last_fd, last_base;
    char last_dir[512];
};

static void fail_write(struct hp_ctx *c, int e, const char *what)
{
    if (c->failed) return;
    c->failed = true;
    sb_fail(c->err, SB_EXIT_SANDBOX, "honeypot", e, "cannot write the honeypot's %s: %s", what, strerror(e));
}

/* n chars of alphabet, uniform (rejection sampling). */
static void random_chars(struct hp_ctx *c, const char *alphabet, char *out, size_t n)
{
    size_t alen = strlen(alphabet), limit = 256 - 256 % alen;
    memset(out, 0, n + 1);
    unsigned char buf[64];
    size_t have = 0, used = 0;
    for (size_t i = 0; i < n && !c->failed;) {
        if (used == have) {
            if (rng_bytes(&c->rng, buf, sizeof buf) < 0) {
                fail_write(c, EIO, "random numbers");
                break;
            }
            have = sizeof buf;
            used = 0;
        }
        unsigned char b = buf[used++];
        if (b < limit) out[i++] = alphabet[b % alen];
    }
    out[n] = 0;
}

static void random_bytes(struct hp_ctx *c, unsigned char *out, size_t n)
{
    if (!c->failed && rng_bytes(&c->rng, out, n) < 0) fail_write(c, EIO, "random numbers");
}

/* ---- text buffers (struct jsonw from jsonw.h) --------------------------------------- */

static void sb_base64(struct jsonw *b, const unsigned char *p, size_t n, const char *alphabet, bool pad)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        size_t chars = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;
        char q[4];
        for (size_t k = 0; k < 4; k++) q[k] = k < chars ? alphabet[(v >> (18 - 6 * k)) & 63] : '=';
        jw_raw(b, q, pad ? 4 : chars);
    }
}


/* ---- files, never through a link ------------------------------------------------------ */

/* Open (creating with mode if missing) each folder of rel below base; no component may be a
 * link. Returns an fd or -1 (c->failed set). */
static int open_dirs(struct hp_ctx *c, int base, const char *rel, mode_t mode)
{
    int fd = dup(base);
    char part[256];
    for (const char *p = rel; fd >= 0 && *p;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || n >= sizeof part) {
            close(fd);
            fail_write(c, EINVAL, rel);
            return -1;
        }
        memcpy(part, p, n);
        part[n] = 0;
        /* Most components exist already (a folder per file): open first, make when missing. */
        int next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        bool made = false;
        if (next < 0 && errno == ENOENT) {
            made = mkdirat(fd, part, mode) == 0;
            if (!made && errno != EEXIST) {
                fail_write(c, errno, rel);
                close(fd);
                return -1;
            }
            next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (next >= 0 && made) fchmod(next, mode);   /* not narrowed or widened by the umask */
        int e = errno;
        close(fd);
        fd = next;
        if (fd < 0) fail_write(c, e, rel);
        p += n + (p[n] == '/');
    }
    if (fd < 0 && !c->failed) fail_write(c, errno, "folder");
    return fd;
}

/* base/dir opened (made 0755 where missing), or the one the previous file used. */
static void keep_folder(struct hp_ctx *c, int base, const char *dir, int fd)
{
    if (c->last_fd >= 0) close(c->last_fd);
    c->last_fd = fd;
    c->last_base = base;
    snprintf(c->last_dir, sizeof c->last_dir, "%s", dir);
}

static int folder_fd(struct hp_ctx *c, int base, const char *dir)
{
    if (c->last_fd >= 0 && c->last_base == base && !strcmp(c->last_dir, dir)) return c->last_fd;
    int fd = dir[0] ? open_dirs(c, base, dir, 0755) : dup(base);
    if (fd >= 0) keep_folder(c, base, dir, fd);
    return fd;
}

/* Write base/rel (folders 0755 unless made earlier with their own mode). */
static void write_file(struct hp_ctx *c, int base, const char *rel, mode_t mode, const void *data, size_t len)
{
    if (c->failed) return;
    char dir[512];
    const char *slash = strrchr(rel, '/');
    const char *name = slash ? slash + 1 : rel;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - rel) : 0, rel);
    int dfd = folder_fd(c, base, dir);
    if (dfd < 0) return;
    int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    int e = errno;
    if (fd < 0) {
        fail_write(c, e, rel);
        return;
    }
    bool ok = fchmod(fd, mode) == 0 && write(fd, data, len) == (ssize_t)len;
    e = errno;
    if (close(fd) < 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) fail_write(c, e ? e : EIO, rel);
    else c->hp->nfiles++;
}

static void write_text(struct hp_ctx *c, int base, const char *rel, mode_t mode, struct jsonw *b)
{
    if (b->failed) fail_write(c, ENOMEM, rel);
    else write_file(c, base, rel, mode, b->buf ? b->buf : "", b->len);
    jw_free(b);
    *b = (struct jsonw){0};
}

static void make_dir(struct hp_ctx *c, int base, const char *rel, mode_t mode)
{
    if (c->failed) return;
    int fd = open_dirs(c, base, rel, mode);
    if (fd >= 0) keep_folder(c, base, rel, fd);   /* its files usually follow */
}

/* ---- canaries and token shapes --------------------------------------------------------- */

/* Returned when no canary can be made (c->failed is set): long enough for every reader. */
static const char NO_CANARY[CANARY_VALUE_MAX];

/* A new canary slot named by fmt, or NULL (c->failed set) when the table is full. */
static struct canary *canary_slot(struct hp_ctx *c, const char *fmt, va_list ap)
{
    struct honeypot *hp = c->hp;
    if (c->failed) return NULL;
    if (hp->ncanaries == HONEYPOT_MAX_CANARIES) {
        c->failed = true;
        sb_fail(c->err, SB_EXIT_SANDBOX, "internal", 0, "honeypot: more than %d canaries", HONEYPOT_MAX_CANARIES);
        return NULL;
    }
    struct canary *k = &hp->canaries[hp->ncanaries++];
    vsnprintf(k->source, sizeof k->source, fmt, ap);
    return k;
}

/* A fresh canary of n (< CANARY_VALUE_MAX) chars of alphabet, recorded under source fmt. */
static const char *canary_new(struct hp_ctx *c, const char *alphabet, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static const char *canary_new(struct hp_ctx *c, const char *alphabet, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct canary *k = canary_slot(c, fmt, ap);
    va_end(ap);
    if (!k) return NO_CANARY;
    random_chars(c, alphabet, k->value, n < CANARY_VALUE_MAX ? n : CANARY_VALUE_MAX - 1);
    return c->failed ? NO_CANARY : k->value;
}

/* A canary whose value is given (a whole token made elsewhere, e.g. an AWS key id). */
static void canary_given(struct hp_ctx *c, const char *value, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void canary_given(struct hp_ctx *c, const char *value, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct canary *k = canary_slot(c, fmt, ap);
    va_end(ap);
    if (k) snprintf(k->value, sizeof k->value, "%s", value);
}

/* AKIA + 16 of the base32 alphabet, exactly as AWS makes key ids. */
static void aws_key_id(struct hp_ctx *c, char id[21])
{
    memcpy(id, "AKIA", 4);
    random_chars(c, UPPER_ALNUM, id + 4, 16);
}

/* "~/rel" for a file in HOME. */
#define HOME_SRC(rel) "file:~/" rel

static void add_env(struct hp_ctx *c, const char *name, const char *prefix, const char *value)
{
    if (c->failed || c->nenv >= ENV_MAX) return;
    size_t n = strlen(name) + strlen(prefix) + strlen(value) + 2;
    char *e = malloc(n);
    if (!e) {
        fail_write(c, ENOMEM, "environment");
        return;
    }
    snprintf(e, n, "%s=%s%s", name, prefix, value);
    c->hp->env[c->nenv++] = e;
}

/* ---- npm, git, GitHub --------------------------------------------------------------------- */

static void build_npmrc(struct hp_ctx *c)
{
    struct jsonw b = {0};
    const char *tok = canary_new(c, BASE62, 36, HOME_SRC(".npmrc"));
    jw_printf(&b, "//%s/:_authToken=npm_%s\n", c->registry_host, tok);
    jw_printf(&b, "init-author-name=%s\ninit-license=MIT\nsave-exact=true\nfund=false\n", c->user);
    write_text(c, c->home_fd, ".npmrc", 0600, &b);
    make_dir(c, c->home_fd, ".npm/_cacache", 0755);
    make_dir(c, c->home_fd, ".npm/_logs", 0755);
}

static void build_git(struct hp_ctx *c)
{
    struct jsonw b = {0};
    const char *ghp = canary_new(c, BASE62, 36, HOME_SRC(".git-credentials"));
    jw_printf(&b, "https://%s:ghp_%s@%s\n", c->user, ghp, c->git_host);
    write_text(c, c->home_fd, ".git-credentials", 0600, &b);
    jw_printf(&b, "[user]\n\tname = %s\n\temail = %s@example.com\n[credential]\n\thelper = store\n"
                  "[init]\n\tdefaultBranch = main\n[pull]\n\trebase = false\n", c->user, c->user);
    write_text(c, c->home_fd, ".gitconfig", 0644, &b);
    const char *gho = canary_new(c, BASE62, 36, HOME_SRC(".config/gh/hosts.yml"));
    jw_printf(&b, "%s:\n    users:\n        %s:\n            oauth_token: gho_%s\n    git_protocol: https\n"
                  "    oauth_token: gho_%s\n    user: %s\n", c->git_host, c->user, gho, gho, c->user);
    write_text(c, c->home_fd, ".config/gh/hosts.yml", 0600, &b);
    jw_printf(&b, "version: \"1\"\ngit_protocol: https\neditor:\nprompt: enabled\npager:\n");
    write_text(c, c->home_fd, ".config/gh/config.yml", 0600, &b);
}

/* ---- ssh ------------------------------------------------------------------------------------ */

/* An "openssh-key-v1" block: the real binary header base64'd, then random base64 with the
 * canary placed inside one 70-char line (so it reads as is in the file, and decodes from a
 * base64 copy of the file). Not a usable key. */
static void ssh_private_key(struct hp_ctx *c, struct jsonw *b, const char *type, size_t body_chars, const char *canary)
{
    /* 15 + 4+4 ("none") + 4+4 ("none") + 4 (kdf options) + 4 (one key) = 39 bytes, a multiple of 3. */
    static const unsigned char header[] = "openssh-key-v1\0\0\0\0\4none\0\0\0\4none\0\0\0\0\0\0\0\1";
    struct jsonw body = {0};
    sb_base64(&body, header, sizeof header - 1, B64_STD, false);
    unsigned char pub[64];
    random_bytes(c, pub, sizeof pub);
    unsigned char typed[80];
    size_t tlen = strlen(type);
    typed[0] = typed[1] = typed[2] = 0;
    typed[3] = (unsigned char)(tlen + 4 + 32);
    typed[4] = typed[5] = typed[6] = 0;
    typed[7] = (unsigned char)tlen;
    memcpy(typed + 8, type, tlen);
    size_t n = 8 + tlen;
    n += 3 - n % 3;   /* whole groups only: the random base64 that follows must stay aligned */
    memcpy(typed + 8 + tlen, pub, n - 8 - tlen);
    sb_base64(&body, typed, n, B64_STD, false);
    char filler[4096];
    size_t canary_at = 2 * 70 + 8, clen = strlen(canary);
    size_t fill = body_chars > body.len + clen ? body_chars - body.len - clen : 0;
    if (fill >= sizeof filler) fill = sizeof filler - 1;
    random_chars(c, B64_STD, filler, fill);
    size_t before = canary_at > body.len ? canary_at - body.len : 0;
    if (before > fill) before = fill;
    jw_raw(&body, filler, before);
    jw_raw(&body, canary, clen);
    jw_raw(&body, filler + before, fill - before);
    jw_printf(b, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
    for (size_t i = 0; i < body.len && !body.failed; i += 70) {
        jw_raw(b, body.buf + i, body.len - i < 70 ? body.len - i : 70);
        jw_raw(b, "\n", 1);
    }
    jw_printf(b, "-----END OPENSSH PRIVATE KEY-----\n");
    if (body.failed) b->failed = true;
    jw_free(&body);
}

static void ssh_public_key(struct hp_ctx *c, struct jsonw *b, const char *prefix, size_t chars)
{
    char key[1024];
    random_chars(c, B64_STD, key, chars);
    jw_printf(b, "%s%s %s@" "dev-workstation\n", prefix, key, c->user);
}

static void build_ssh(struct hp_ctx *c)
{
    struct jsonw b = {0};
    make_dir(c, c->home_fd, ".ssh", 0700);
    const char *rsa = canary_new(c, BASE62, 44, HOME_SRC(".ssh/id_rsa"));
    ssh_private_key(c, &b, "ssh-rsa", 2590, rsa);
    write_text(c, c->home_fd, ".ssh/id_rsa", 0600, &b);
    ssh_public_key(c, &b, "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ", 526);
    write_text(c, c->home_fd, ".ssh/id_rsa.pub", 0644, &b);
    const char *ed = canary_new(c, BASE62, 44, HOME_SRC(".ssh/id_ed25519"));
    ssh_private_key(c, &b, "ssh-ed25519", 387, ed);
    write_text(c, c->home_fd, ".ssh/id_ed25519", 0600, &b);
    ssh_public_key(c, &b, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", 43);
    write_text(c, c->home_fd, ".ssh/id_ed25519.pub", 0644, &b);
    char hk[64];
    random_chars(c, B64_STD, hk, 43);
    jw_printf(&b, "%s ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI%s\n", c->git_host, hk);
    write_text(c, c->home_fd, ".ssh/known_hosts", 0644, &b);
    jw_printf(&b, "Host %s\n    User git\n    IdentityFile ~/.ssh/id_ed25519\n    IdentitiesOnly yes\n\n"
                  "Host *\n    AddKeysToAgent yes\n    ServerAliveInterval 60\n", c->git_host);
    write_text(c, c->home_fd, ".ssh/config", 0600, &b);
}

/* ---- cloud: aws, docker, kube --------------------------------------------------------------- */

static void aws_key_pair(struct hp_ctx *c, struct jsonw *b, const char *src, const char *section)
{
    /* The whole key id is its canary (20 chars, 16 random). The secret is 40 chars; base62 is
     * a subset of its real alphabet. */
    char id[21];
    aws_key_id(c, id);
    canary_given(c, id, "%s (%s aws_access_key_id)", src, section);
    const char *secret = canary_new(c, BASE62, 40, "%s (%s aws_secret_access_key)", src, section);
    jw_printf(b, "aws_access_key_id = %s\naws_secret_access_key = %s\n", id, secret);
}

static void build_aws(struct hp_ctx *c)
{
    struct jsonw b = {0};
    make_dir(c, c->home_fd, ".aws", 0755);
    jw_printf(&b, "[default]\n");
    aws_key_pair(c, &b, HOME_SRC(".aws/credentials"), "default");
    jw_printf(&b, "\n[prod]\n");
    aws_key_pair(c, &b, HOME_SRC(".aws/credentials"), "prod");
    write_text(c, c->home_fd, ".aws/credentials", 0600, &b);
    jw_printf(&b, "[default]\nregion = us-east-1\noutput = json\n\n[profile deploy]\nregion = eu-west-1\n");
    aws_key_pair(c, &b, HOME_SRC(".aws/config"), "deploy");
    write_text(c, c->home_fd, ".aws/config", 0600, &b);
}

static void build_docker(struct hp_ctx *c)
{
    struct jsonw b = {0}, auth = {0};
    make_dir(c, c->home_fd, ".docker", 0700);
    const char *pat = canary_new(c, BASE62, 27, HOME_SRC(".docker/config.json"));
    char plain[128];
    int n = snprintf(plain, sizeof plain, "%s:dckr_pat_%s", c->user, pat);
    sb_base64(&auth, (const unsigned char *)plain, (size_t)n, B64_STD, true);
    jw_printf(&b, "{\n\t\"auths\": {\n\t\t\"%s\": {\n\t\t\t\"auth\": \"%s\"\n\t\t}\n\t}\n}", c->git_host,
              auth.buf ? auth.buf : "");
    if (auth.failed) b.failed = true;
    jw_free(&auth);
    write_text(c, c->home_fd, ".docker/config.json", 0600, &b);
}

/* A service-account JWT: header.payload.signature, base64url; the canary is the token id. */
static void kube_token(struct hp_ctx *c, struct jsonw *b, const char *jti)
{
    char kid[48], json[512];
    random_chars(c, B64_URL, kid, 43);
    int n = snprintf(json, sizeof json, "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid);
    sb_base64(b, (const unsigned char *)json, (size_t)n, B64_URL, false);
    jw_raw(b, ".", 1);
    n = snprintf(json, sizeof json,
                 "{\"aud\":[\"https://kubernetes.default.svc\"],\"exp\":1893456000,\"iat\":1735689600,"
                 "\"iss\":\"https://kubernetes.default.svc\",\"jti\":\"%s\",\"nbf\":1735689600,"
                 "\"sub\":\"system:serviceaccount:default:deployer\"}", jti);
    sb_base64(b, (const unsigned char *)json, (size_t)n, B64_URL, false);
    jw_raw(b, ".", 1);
    char sig[400];
    random_chars(c, B64_URL, sig, 342);
    jw_raw(b, sig, strlen(sig));
}

static void build_kube(struct hp_ctx *c)
{
    struct jsonw b = {0};
    make_dir(c, c->home_fd, ".kube", 0750);
    /* certificate-authority-data is base64 of a PEM certificate: "LS0tLS1CRUdJTi...". */
    struct jsonw pem = {0};
    char line[65];
    jw_printf(&pem, "-----BEGIN CERTIFICATE-----\nMIIDBTCCAe2gAwIBAgIIU");
    random_chars(c, B64_STD, line, 43);
    jw_printf(&pem, "%s\n", line);
    for (int i = 0; i < 16; i++) {
        random_chars(c, B64_STD, line, 64);
        jw_printf(&pem, "%s\n", line);
    }
    jw_printf(&pem, "-----END CERTIFICATE-----\n");
    jw_printf(&b, "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: ");
    sb_base64(&b, (const unsigned char *)(pem.buf ? pem.buf : ""), pem.len, B64_STD, true);
    if (pem.failed) b.failed = true;
    jw_free(&pem);
    jw_printf(&b, "\n    server: https://k8s.example.com:6443\n  name: prod\ncontexts:\n- context:\n"
                  "    cluster: prod\n    user: deployer\n  name: prod\ncurrent-context: prod\n"
                  "preferences: {}\nusers:\n- name: deployer\n  user:\n    token: ");
    kube_token(c, &b, canary_new(c, BASE62, 32, HOME_SRC(".kube/config")));
    jw_printf(&b, "\n");
    write_text(c, c->home_fd, ".kube/config", 0600, &b);
}

/* ---- the project's .env ------------------------------------------------------------------ */

static void build_dotenv(struct hp_ctx *c)
{
    struct jsonw b = {0};
    char src[CANARY_SOURCE_MAX];
    size_t hl = strlen(c->home);
    if (!strncmp(c->project, c->home, hl) && c->project[hl] == '/') snprintf(src, sizeof src, "file:~%s/.env", c->project + hl);
    else snprintf(src, sizeof src, "file:%s/.env", c->project);
    jw_printf(&b, "NODE_ENV=development\nPORT=3000\n");
    jw_printf(&b, "DATABASE_URL=postgres://app:%s@db.internal:5432/app\n", canary_new(c, BASE62, 24, "%s (DATABASE_URL)", src));
    jw_printf(&b, "REDIS_URL=redis://default:%s@cache.internal:6379/0\n", canary_new(c, BASE62, 24, "%s (REDIS_URL)", src));
    jw_printf(&b, "JWT_SECRET=%s\n", canary_new(c, BASE62, 48, "%s (JWT_SECRET)", src));
    jw_printf(&b, "SESSION_SECRET=%s\n", canary_new(c, BASE62, 40, "%s (SESSION_SECRET)", src));
    jw_printf(&b, "STRIPE_SECRET_KEY=sk_live_%s\n", canary_new(c, BASE62, 24, "%s (STRIPE_SECRET_KEY)", src));
    jw_printf(&b, "OPENAI_API_KEY=sk-proj-%s\n", canary_new(c, BASE62, 48, "%s (OPENAI_API_KEY)", src));
    char team[16], bot[16];
    random_chars(c, DIGITS, team, 11);
    random_chars(c, DIGITS, bot, 13);
    jw_printf(&b, "SLACK_BOT_TOKEN=xoxb-%s-%s-%s\n", team, bot, canary_new(c, BASE62, 24, "%s (SLACK_BOT_TOKEN)", src));
    jw_printf(&b, "SENTRY_DSN=https://%s@o0.ingest.example.com/1\n", canary_new(c, HEX, 32, "%s (SENTRY_DSN)", src));
    write_text(c, c->project_fd, ".env", 0644, &b);
}

/* ---- wallets ------------------------------------------------------------------------------ */

static void build_solana(struct hp_ctx *c)
{
    /* A keypair file is 64 numbers: the secret half carries the canary's bytes. */
    struct jsonw b = {0};
    const char *k = canary_new(c, BASE62, 32, HOME_SRC(".config/solana/id.json"));
    unsigned char pub[32];
    random_bytes(c, pub, sizeof pub);
    jw_raw(&b, "[", 1);
    for (size_t i = 0; i < 64; i++)
        jw_printf(&b, "%s%u", i ? "," : "", i < 32 ? (unsigned)(unsigned char)k[i] : (unsigned)pub[i - 32]);
    jw_raw(&b, "]", 1);
    write_text(c, c->home_fd, ".config/solana/id.json", 0600, &b);
}

static void hex_of(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX[p[i] >> 4];
        out[2 * i + 1] = HEX[p[i] & 15];
    }
    out[2 * n] = 0;
}

static void build_ethereum(struct hp_ctx *c)
{
    /* Keystore v3; the ciphertext is the hex of the canary. */
    struct jsonw b = {0};
    make_dir(c, c->home_fd, ".ethereum/keystore", 0700);
    char addr[41], iv[33], salt[65], mac[65], cipher[65], uuid[33], name[128];
    random_chars(c, HEX, addr, 40);
    random_chars(c, HEX, iv, 32);
    random_chars(c, HEX, salt, 64);
    random_chars(c, HEX, mac, 64);
    random_chars(c, HEX, uuid, 32);
    snprintf(name, sizeof name, ".ethereum/keystore/UTC--2024-03-14T09-26-53.184927431Z--%s", addr);
    const char *k = canary_new(c, BASE62, 32, "file:~/%s", name);
    hex_of((const unsigned char *)k, strlen(k), cipher);
    jw_printf(&b, "{\"address\":\"%s\",\"crypto\":{\"cipher\":\"aes-128-ctr\",\"ciphertext\":\"%s\","
                  "\"cipherparams\":{\"iv\":\"%s\"},\"kdf\":\"scrypt\",\"kdfparams\":{\"dklen\":32,\"n\":262144,"
                  "\"p\":1,\"r\":8,\"salt\":\"%s\"},\"mac\":\"%s\"},\"id\":\"%.8s-%.4s-4%.3s-a%.3s-%.12s\",\"version\":3}",
              addr, cipher, iv, salt, mac, uuid, uuid + 8, uuid + 12, uuid + 15, uuid + 18);
    write_text(c, c->home_fd, name, 0600, &b);
}

static void build_electrum(struct hp_ctx *c)
{
    struct jsonw b = {0};
    make_dir(c, c->home_fd, ".electrum/wallets", 0700);
    char xpub[96];
    random_chars(c, BASE58, xpub, 95);
    const char *xprv = canary_new(c, BASE58, 95, HOME_SRC(".electrum/wallets/default_wallet"));
    jw_printf(&b, "{\n    \"addr_history\": {},\n    \"keystore\": {\n        \"pw_hash_version\": 1,\n"
                  "        \"type\": \"bip32\",\n        \"xprv\": \"xprv9s21ZrQH143K%s\",\n"
                  "        \"xpub\": \"xpub661MyMwAqRbc%s\"\n    },\n    \"seed_type\": \"segwit\",\n"
                  "    \"seed_version\": 52,\n    \"use_encryption\": false,\n    \"wallet_type\": \"standard\"\n}\n",
              xprv, xpub);
    write_text(c, c->home_fd, ".electrum/wallets/default_wallet", 0600, &b);
}

/* An encrypted-looking binary blob: magic, random bytes, the canary's bytes inside. */
static void binary_blob(struct hp_ctx *c, struct jsonw *b, const void *magic, size_t mlen, size_t size, const char *canary)
{
    unsigned char noise[8192];
    if (size > sizeof noise) size = sizeof noise;
    random_bytes(c, noise, size);
    size_t clen = strlen(canary), at = mlen + 64;
    if (at + clen > size) size = at + clen;
    memcpy(noise, magic, mlen);
    memcpy(noise + at, canary, clen);
    jw_raw(b, (const char *)noise, size);
}

static void build_exodus(struct hp_ctx *c)
{
    struct jsonw b = {0};
    static const char seco[] = "SECO\0\0\0\1\0\0\0\0seco-v0-scrypt-aes";
    make_dir(c, c->home_fd, ".config/Exodus/exodus.wallet", 0700);
    binary_blob(c, &b, seco, sizeof seco - 1, 420,
                canary_new(c, BASE62, 32, HOME_SRC(".config/Exodus/exodus.wallet/seed.seco")));
    write_text(c, c->home_fd, ".config/Exodus/exodus.wallet/seed.seco", 0600, &b);
    binary_blob(c, &b, seco, sizeof seco - 1, 300,
                canary_new(c, BASE62, 32, HOME_SRC(".config/Exodus/exodus.wallet/info.seco")));
    write_text(c, c->home_fd, ".config/Exodus/exodus.wallet/info.seco", 0600, &b);
    jw_printf(&b, "{\"passphrase\":\"%s\"}",
              canary_new(c, BASE62, 32, HOME_SRC(".config/Exodus/exodus.wallet/passphrase.json")));
    write_text(c, c->home_fd, ".config/Exodus/exodus.wallet/passphrase.json", 0600, &b);
}

/* A LevelDB log with one put: 7-byte block header, batch header, key and value. Checksums are
 * random: only the shape matters to a scanner. */
static void leveldb_log(struct hp_ctx *c, struct jsonw *b, const char *key, size_t klen, const char *value)
{
    size_t vlen = strlen(value);
    unsigned char head[7 + 12 + 1];
    random_bytes(c, head, 4);
    size_t rec = 12 + 1 + 2 + klen + 2 + vlen;
    head[4] = (unsigned char)rec;
    head[5] = (unsigned char)(rec >> 8);
    head[6] = 1;
    memset(head + 7, 0, 12);
    head[7] = 3;    /* sequence */
    head[15] = 1;   /* one record */
    head[19] = 1;   /* a put */
    jw_raw(b, (const char *)head, sizeof head);
    unsigned char varint[2] = {(unsigned char)(0x80 | (klen & 0x7f)), (unsigned char)(klen >> 7)};
    jw_raw(b, (const char *)varint, 2);
    jw_raw(b, key, klen);
    varint[0] = (unsigned char)(0x80 | (vlen & 0x7f));
    varint[1] = (unsigned char)(vlen >> 7);
    jw_raw(b, (const char *)varint, 2);
    jw_raw(b, value, vlen);
}

/* Chromium and Electron keep their profile stores private: folders 0700, files 0600. */
static void leveldb_files(struct hp_ctx *c, const char *dir, const char *key, size_t klen, const char *value)
{
    char path[512];
    struct jsonw b = {0};
    make_dir(c, c->home_fd, dir, 0700);
    leveldb_log(c, &b, key, klen, value);
    snprintf(path, sizeof path, "%s/000003.log", dir);
    write_text(c, c->home_fd, path, 0600, &b);
    jw_printf(&b, "MANIFEST-000001\n");
    snprintf(path, sizeof path, "%s/CURRENT", dir);
    write_text(c, c->home_fd, path, 0600, &b);
}

static void build_atomic(struct hp_ctx *c)
{
    static const char key[] = "_file://\0\1general_mnemonic";
    const char *k = canary_new(c, BASE62, 40, HOME_SRC(".config/atomic/Local Storage/leveldb/000003.log"));
    char tail[96], value[256];
    random_chars(c, B64_STD, tail, 64);
    snprintf(value, sizeof value, "\1U2FsdGVkX1%s%s==", k, tail);   /* CryptoJS "Salted__" shape */
    leveldb_files(c, ".config/atomic/Local Storage/leveldb", key, sizeof key - 1, value);
}

static void build_bitcoin(struct hp_ctx *c)
{
    /* Berkeley DB btree file: magic 0x00053162 at offset 12, a "mkey" record with the canary. */
    struct jsonw b = {0};
    make_dir(c, c->home_fd, ".bitcoin", 0700);
    unsigned char page[8192] = {0};
    static const unsigned char magic[] = {0x62, 0x31, 0x05, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x10};
    memcpy(page + 12, magic, sizeof magic);
    static const char mkey[] = "\4mkey\1\0\0\0\x30";
    const char *k = canary_new(c, BASE62, 48, HOME_SRC(".bitcoin/wallet.dat"));
    memcpy(page + 4096 + 64, mkey, sizeof mkey - 1);
    memcpy(page + 4096 + 64 + sizeof mkey - 1, k, strlen(k));
    memcpy(page + 4096 + 200, "\x0a" "defaultkey", 11);
    random_bytes(c, page + 4096 + 240, 256);
    jw_raw(&b, (const char *)page, sizeof page);
    write_text(c, c->home_fd, ".bitcoin/wallet.dat", 0600, &b);
}

/* ---- browsers ------------------------------------------------------------------------------- */

struct extension {
    char name[NAME_MAX_LEN + 1];
    char id[33];
};

static const char *const BROWSER_PROFILES[][2] = {
    {".config/google-chrome", "Default"},
    {".config/BraveSoftware/Brave-Browser", "Default"},
    {".config/chromium", "Default"},
};

/* "SQLite format 3" placeholder with one row-ish record holding the canary. */
static void sqlite_placeholder(struct jsonw *b, const char *row, const char *canary)
{
    unsigned char page[4096] = {0};
    memcpy(page, "SQLite format 3", 16);
    page[16] = 0x10;  /* page size 4096 */
    page[18] = page[19] = 1;
    size_t rlen = strlen(row), clen = strlen(canary);
    memcpy(page + 3000, row, rlen);
    memcpy(page + 3000 + rlen, "v10", 3);
    memcpy(page + 3003 + rlen, canary, clen);
    jw_raw(b, (const char *)page, sizeof page);
}

static void build_extension_store(struct hp_ctx *c, const char *profile, const struct extension *e)
{
    char dir[512], data[160], iv[25], salt[45];
    snprintf(dir, sizeof dir, "%s/Local Extension Settings/%s", profile, e->id);
    const char *k = canary_new(c, BASE62, 40, "file:~/%s (%s)", dir, e->name);
    char tail[128];
    random_chars(c, B64_STD, tail, 88);
    snprintf(data, sizeof data, "%s%s", k, tail);
    random_chars(c, B64_STD, iv, 22);
    random_chars(c, B64_STD, salt, 43);
    char value[1024];
    snprintf(value, sizeof value,
             "\1{\"KeyringController\":{\"vault\":\"{\\\"data\\\":\\\"%s==\\\",\\\"iv\\\":\\\"%s==\\\","
             "\\\"keyMetadata\\\":{\\\"algorithm\\\":\\\"PBKDF2\\\",\\\"params\\\":{\\\"iterations\\\":600000}},"
             "\\\"salt\\\":\\\"%s=\\\"}\"}}",
             data, iv, salt);
    leveldb_files(c, dir, "data", 4, value);
}

static void build_browser(struct hp_ctx *c, size_t which, const struct extension *ext, size_t next)
{
    char profile[256], path[512];
    struct jsonw b = {0};
    make_dir(c, c->home_fd, BROWSER_PROFILES[which][0], 0700);
    snprintf(profile, sizeof profile, "%s/%s", BROWSER_PROFILES[which][0], BROWSER_PROFILES[which][1]);
    make_dir(c, c->home_fd, profile, 0700);
    snprintf(path, sizeof path, "%s/Login Data", profile);
    char row[128];
    snprintf(row, sizeof row, "https://%s/loginhttps://%s/session%s", c->git_host, c->git_host, c->user);
    sqlite_placeholder(&b, row, canary_new(c, BASE62, 32, "file:~/%s", path));
    write_text(c, c->home_fd, path, 0600, &b);
    snprintf(path, sizeof path, "%s/Cookies", profile);
    snprintf(row, sizeof row, "%s/session_id", c->git_host);
    sqlite_placeholder(&b, row, canary_new(c, BASE62, 32, "file:~/%s", path));
    write_text(c, c->home_fd, path, 0600, &b);
    for (size_t i = 0; i < next; i++) build_extension_store(c, profile, &ext[i]);
}

static void build_discord(struct hp_ctx *c)
{
    /* Token shape: base64(user id) . 6 chars . 38 chars; the last part is the canary. */
    static const char key[] = "_https://discord.com\0\1token";
    char uid[24], mid[8], value[160];
    random_chars(c, DIGITS, uid, 18);
    uid[0] = '1';
    struct jsonw id64 = {0};
    sb_base64(&id64, (const unsigned char *)uid, 18, B64_URL, false);
    random_chars(c, B64_URL, mid, 6);
    const char *k = canary_new(c, BASE62, 38, HOME_SRC(".config/discord/Local Storage/leveldb/000003.log"));
    snprintf(value, sizeof value, "\1\"%s.%s.%s\"", id64.buf ? id64.buf : "", mid, k);
    jw_free(&id64);
    leveldb_files(c, ".config/discord/Local Storage/leveldb", key, sizeof key - 1, value);
}

/* ---- shell ------------------------------------------------------------------------------------ */

static void build_shell(struct hp_ctx *c)
{
    struct jsonw b = {0};
    jw_printf(&b, "# ~/.bashrc: executed by bash(1) for non-login shells.\n\ncase $- in\n    *i*) ;;\n      *) return;;\nesac\n\n"
                  "HISTCONTROL=ignoreboth\nHISTSIZE=1000\nHISTFILESIZE=2000\nshopt -s histappend\nshopt -s checkwinsize\n\n"
                  "alias ll='ls -alF'\nalias la='ls -A'\nalias gs='git status'\n\n"
                  "export NVM_DIR=\"$HOME/.nvm\"\n[ -s \"$NVM_DIR/nvm.sh\" ] && . \"$NVM_DIR/nvm.sh\"\n"
                  "export PATH=\"$HOME/.local/bin:$PATH\"\n");
    write_text(c, c->home_fd, ".bashrc", 0644, &b);
    jw_printf(&b, "# ~/.profile: executed by the command interpreter for login shells.\n\n"
                  "if [ -n \"$BASH_VERSION\" ]; then\n    if [ -f \"$HOME/.bashrc\" ]; then\n\t. \"$HOME/.bashrc\"\n    fi\nfi\n\n"
                  "if [ -d \"$HOME/bin\" ] ; then\n    PATH=\"$HOME/bin:$PATH\"\nfi\n");
    write_text(c, c->home_fd, ".profile", 0644, &b);
    make_dir(c, c->home_fd, ".cache", 0700);
    make_dir(c, c->home_fd, ".local/bin", 0755);
}

/* ---- environment tokens ------------------------------------------------------------------------- */

static void build_env(struct hp_ctx *c)
{
    add_env(c, "NPM_TOKEN", "npm_", canary_new(c, BASE62, 36, "env:NPM_TOKEN"));
    add_env(c, "NODE_AUTH_TOKEN", "npm_", canary_new(c, BASE62, 36, "env:NODE_AUTH_TOKEN"));
    add_env(c, "GITHUB_TOKEN", "ghp_", canary_new(c, BASE62, 36, "env:GITHUB_TOKEN"));
    add_env(c, "GH_TOKEN", "gho_", canary_new(c, BASE62, 36, "env:GH_TOKEN"));
    char id[21];
    aws_key_id(c, id);
    canary_given(c, id, "env:AWS_ACCESS_KEY_ID");
    add_env(c, "AWS_ACCESS_KEY_ID", "", id);
    add_env(c, "AWS_SECRET_ACCESS_KEY", "", canary_new(c, BASE62, 40, "env:AWS_SECRET_ACCESS_KEY"));
}

/* A GitLab CI job on a shared runner: the variables every job gets, its tokens as canaries. */
static void build_gitlab_env(struct hp_ctx *c)
{
    static const char *const plain[][2] = {
        {"CI", "true"}, {"GITLAB_CI", "true"}, {"CI_SERVER", "yes"}, {"CI_SERVER_NAME", "GitLab"},
        {"CI_SERVER_URL", "https://gitlab.com"}, {"CI_SERVER_HOST", "gitlab.com"}, {"CI_API_V4_URL", "https://gitlab.com/api/v4"},
        {"CI_PROJECT_NAME", "storefront"}, {"CI_PROJECT_NAMESPACE", "acme-web"}, {"CI_PROJECT_PATH", "acme-web/storefront"},
        {"CI_PROJECT_URL", "https://gitlab.com/acme-web/storefront"}, {"CI_COMMIT_BRANCH", "main"},
        {"CI_COMMIT_REF_NAME", "main"}, {"CI_DEFAULT_BRANCH", "main"}, {"CI_PIPELINE_SOURCE", "push"},
        {"CI_JOB_NAME", "build"}, {"CI_JOB_STAGE", "build"}, {"CI_RUNNER_DESCRIPTION", "3-blue.saas-linux-small-amd64.runners-manager.gitlab.com/default"},
        {"CI_RUNNER_TAGS", "[\"saas-linux-small-amd64\"]"}, {"CI_REGISTRY", "registry.gitlab.com"},
        {"CI_REGISTRY_IMAGE", "registry.gitlab.com/acme-web/storefront"}, {"CI_REGISTRY_USER", "gitlab-ci-token"},
        {"FF_USE_FASTZIP", "true"},
    };
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) add_env(c, plain[i][0], "", plain[i][1]);
    add_env(c, "CI_PROJECT_DIR", "", c->project);
    add_env(c, "CI_BUILDS_DIR", "", c->home);
    add_env(c, "GITLAB_USER_LOGIN", "", c->user);
    char sha[41], id[11];
    random_chars(c, HEX, sha, 40);
    random_chars(c, DIGITS, id, 10);
    id[0] = id[0] == '0' ? '7' : id[0];
    add_env(c, "CI_COMMIT_SHA", "", sha);
    sha[8] = 0;
    add_env(c, "CI_COMMIT_SHORT_SHA", "", sha);
    add_env(c, "CI_JOB_ID", "", id);
    add_env(c, "CI_PIPELINE_ID", "", id + 1);
    add_env(c, "CI_PROJECT_ID", "", id + 3);
    add_env(c, "CI_JOB_TOKEN", "glcbt-64_", canary_new(c, BASE62, 30, "env:CI_JOB_TOKEN"));
    add_env(c, "CI_REGISTRY_PASSWORD", "glcbt-64_", canary_new(c, BASE62, 30, "env:CI_REGISTRY_PASSWORD"));
    add_env(c, "CI_DEPENDENCY_PROXY_PASSWORD", "glcbt-64_", canary_new(c, BASE62, 30, "env:CI_DEPENDENCY_PROXY_PASSWORD"));
}

/* A GitHub Actions job: the variables every runner sets, and the job's secrets as canaries. */
static void build_ci_env(struct hp_ctx *c)
{
    static const char *const plain[][2] = {
        {"CI", "true"}, {"GITHUB_ACTIONS", "true"}, {"RUNNER_OS", "Linux"}, {"RUNNER_ARCH", "X64"},
        {"RUNNER_NAME", "GitHub Actions 7"}, {"RUNNER_ENVIRONMENT", "github-hosted"}, {"RUNNER_TEMP", "/tmp"},
        {"RUNNER_TOOL_CACHE", "/opt/hostedtoolcache"}, {"GITHUB_REPOSITORY", "acme-web/storefront"},
        {"GITHUB_REPOSITORY_OWNER", "acme-web"}, {"GITHUB_WORKFLOW", "CI"}, {"GITHUB_JOB", "build"},
        {"GITHUB_EVENT_NAME", "push"}, {"GITHUB_REF", "refs/heads/main"}, {"GITHUB_REF_NAME", "main"},
        {"GITHUB_REF_TYPE", "branch"}, {"GITHUB_SERVER_URL", "https://github.com"},
        {"GITHUB_API_URL", "https://api.github.com"}, {"GITHUB_GRAPHQL_URL", "https://api.github.com/graphql"},
        {"GITHUB_RUN_ATTEMPT", "1"}, {"ACTIONS_RUNTIME_URL", "https://pipelines.actions.githubusercontent.com/"},
        {"ACTIONS_CACHE_URL", "https://artifactcache.actions.githubusercontent.com/"},
    };
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) add_env(c, plain[i][0], "", plain[i][1]);
    add_env(c, "GITHUB_WORKSPACE", "", c->project);
    add_env(c, "GITHUB_ACTOR", "", c->user);
    char sha[41], run_id[11];
    random_chars(c, HEX, sha, 40);
    random_chars(c, DIGITS, run_id, 10);
    run_id[0] = run_id[0] == '0' ? '7' : run_id[0];
    add_env(c, "GITHUB_SHA", "", sha);
    add_env(c, "GITHUB_RUN_ID", "", run_id);
    add_env(c, "GITHUB_RUN_NUMBER", "", run_id + 7);
    /* JWT-shaped: the canary is the signature part, base64url as in a real token */
    const char *hdr = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9";
    char jwt[CANARY_VALUE_MAX * 2];
    snprintf(jwt, sizeof jwt, "%s.eyJuYmYiOjE3MDAwMDAwMDB9.%s", hdr, canary_new(c, BASE62, 43, "env:ACTIONS_RUNTIME_TOKEN"));
    add_env(c, "ACTIONS_RUNTIME_TOKEN", "", jwt);
    snprintf(jwt, sizeof jwt, "%s.eyJhdWQiOiJhcGk6Ly9BenVyZUFEVG9rZW5FeGNoYW5nZSJ9.%s", hdr,
             canary_new(c, BASE62, 43, "env:ACTIONS_ID_TOKEN_REQUEST_TOKEN"));
    add_env(c, "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "", jwt);
    add_env(c, "ACTIONS_ID_TOKEN_REQUEST_URL", "https://pipelines.actions.githubusercontent.com/oidc/idtoken?api-version=2.0&run=",
            run_id);
}

/* ---- options and the wallet list ------------------------------------------------------------------ */

static bool valid_host(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > HOST_MAX) return false;
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr(".-:", *p)))
            return false;
    return true;
}

static bool valid_user(const char *u)
{
    size_t n = strlen(u);
    if (n == 0 || n > 32) return false;
    for (const char *p = u; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')) return false;
    return true;
}

static bool valid_extension(const char *name, const char *id)
{
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX_LEN || strlen(id) != 32) return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr(" .-", *p)))
            return false;
    for (const char *p = id; *p; p++)   /* Chrome ids are 32 letters a..p */
        if (*p < 'a' || *p > 'p') return false;
    return true;
}

static int load_extensions(const char *rules_dir, struct extension *ext, size_t *n, struct sb_error *err)
{
    *n = 0;
    if (!rules_dir) return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/" HONEYPOT_WALLET_LIST, rules_dir);
    size_t len;
    char *text = file_read_bounded(path, WALLET_LIST_MAX_BYTES, 0, &len);
    if (!text)
        return sb_fail(err, SB_EXIT_INPUT, "bad-rules", errno, "cannot read %s: %s; fix: point the rules folder at scriptbox's rules/",
                       path, strerror(errno));
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0, "%s is not a JSON object {\"Name\": \"extension id\"}", path);
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, j) {
        const char *id = cJSON_GetStringValue(item);
        if (!id || !item->string || !valid_extension(item->string, id) || *n == HONEYPOT_MAX_EXTENSIONS) {
            sb_fail(err, SB_EXIT_INPUT, "bad-rules", 0,
                    "%s: entry '%.64s' must map a name (letters, digits, space . -) to a 32-letter a-p extension id, "
                    "at most %d entries", path, item->string ? item->string : "?", HONEYPOT_MAX_EXTENSIONS);
            cJSON_Delete(j);   /* after the message: it quotes the entry */
            return -1;
        }
        snprintf(ext[*n].name, sizeof ext[*n].name, "%s", item->string);
        snprintf(ext[*n].id, sizeof ext[*n].id, "%s", id);
        (*n)++;
    }
    cJSON_Delete(j);
    return 0;
}

static int resolve_options(struct hp_ctx *c, const struct honeypot_opts *o, char *project_buf, size_t project_size)
{
    c->registry_host = o->registry_host ? o->registry_host : HONEYPOT_DEFAULT_REGISTRY_HOST;
    c->git_host = o->git_host ? o->git_host : HONEYPOT_DEFAULT_GIT_HOST;
    c->user = o->user ? o->user : "dev";
    c->home = o->home ? o->home : "/home/dev";
    if (o->project) c->project = o->project;
    else {
        snprintf(project_buf, project_size, "%s/project", c->home);
        c->project = project_buf;
    }
    if (!valid_host(c->registry_host) || !valid_host(c->git_host))
        return sb_fail(c->err, SB_EXIT_INPUT, "bad-option", 0, "honeypot: registry and git hosts must be host[:port]");
    if (!valid_user(c->user) || c->home[0] != '/' || c->project[0] != '/' || strlen(c->home) > 256 || strlen(c->project) > 256)
        return sb_fail(c->err, SB_EXIT_INPUT, "bad-option", 0, "honeypot: bad user name or home/project path");
    return 0;
}

/* ---- entry points ---------------------------------------------------------------------------------- */

static void build_all(struct hp_ctx *c, const struct extension *ext, size_t next)
{
    build_npmrc(c);
    build_git(c);
    build_ssh(c);
    build_aws(c);
    build_docker(c);
    build_kube(c);
    build_dotenv(c);
    build_solana(c);
    build_ethereum(c);
    build_electrum(c);
    build_exodus(c);
    build_atomic(c);
    build_bitcoin(c);
    for (size_t i = 0; i < sizeof BROWSER_PROFILES / sizeof *BROWSER_PROFILES; i++) build_browser(c, i, ext, next);
    build_discord(c);
    build_shell(c);
    build_env(c);
    if (c->ci == HONEYPOT_CI_GITHUB) build_ci_env(c);
    else if (c->ci == HONEYPOT_CI_GITLAB) build_gitlab_env(c);
}

int honeypot_build(int home_dirfd, int project_dirfd, const struct honeypot_opts *o, struct honeypot *hp,
                   struct sb_error *err)
{
    memset(hp, 0, sizeof *hp);
    char project[300];
    struct hp_ctx c = {.home_fd = home_dirfd, .project_fd = project_dirfd, .hp = hp, .err = err,
                       .rng = {.seed = o->seed}, .ci = o->ci, .last_fd = -1};
    if (resolve_options(&c, o, project, sizeof project) < 0) return -1;
    struct extension *ext = calloc(HONEYPOT_MAX_EXTENSIONS, sizeof *ext);
    hp->canaries = calloc(HONEYPOT_MAX_CANARIES, sizeof *hp->canaries);
    hp->env = calloc(ENV_MAX + 1, sizeof *hp->env);
    if (!ext || !hp->canaries || !hp->env) {
        free(ext);
        honeypot_free(hp);
        return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory building the honeypot");
    }
    size_t next = 0;
    if (load_extensions(o->rules_dir, ext, &next, err) < 0) c.failed = true;
    else build_all(&c, ext, next);
    if (c.last_fd >= 0) close(c.last_fd);
    free(ext);
    if (c.failed) {
        honeypot_free(hp);
        return -1;
    }
    return 0;
}

void honeypot_free(struct honeypot *hp)
{
    if (hp->env)
        for (char **e = hp->env; *e; e++) free(*e);
    free(hp->env);
    free(hp->canaries);
    memset(hp, 0, sizeof *hp);
}
