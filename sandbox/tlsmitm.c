/*
 * tlsmitm.c — TLS termination for the fake internet (contract: tlsmitm.h).
 *
 * The run's CA (struct sbx_ca) is an EC P-256 key and a self-signed certificate made in memory;
 * only the certificate is ever exported (as PEM, for the sandbox's CA bundle). A tlsmitm holds
 * one leaf key, one SSL_CTX and a FIFO cache of leaf certificates (one per SNI or address); each
 * connection gets its leaf with SSL_use_certificate. I/O goes through a small BIO of our own on
 * the caller's fd: recv/send with MSG_DONTWAIT | MSG_NOSIGNAL, so nothing ever blocks, a peer
 * that went away never raises SIGPIPE in the supervisor, and the fd is never closed here.
 * The thread's OpenSSL error queue is cleared before each call and after each failure, so one
 * connection's errors never show up in another's reason.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "internal.h"
#include "tlsmitm.h"

#define CERT_DAYS 30
#define CACHE_MAX 256
#define NAME_MAX_LEN 255   /* a DNS name; longer SNIs are not minted */

/* Neutral names: packages can read the CA bundle and the leaf, so nothing says what we are. */
#define CA_ORG "Local Development"
#define CA_CN "Local Development Root CA"

struct sbx_ca {
    EVP_PKEY *key;
    X509 *cert;
    char *pem;
};

struct leaf {
    char *key;   /* "dns:<name>" or "ip:<address>" */
    X509 *cert;
};

struct tlsmitm {
    EVP_PKEY *ca_key;
    X509 *ca_cert;
    EVP_PKEY *leaf_key;
    SSL_CTX *ctx;
    BIO_METHOD *bio_meth;
    struct leaf cache[CACHE_MAX];
    size_t next;   /* the slot filled next (the oldest once the cache is full) */
};

struct tlsmitm_conn {
    SSL *ssl;
    int fd;
    int eof;            /* recv() saw the end of the stream */
    int broken;         /* a fatal error happened: no close_notify */
    enum tlsmitm_state state;
    int alert_in;       /* last alert received (description), -1 for none */
    char alpn[16];
    char why[192];
};

/* ---- Helpers ------------------------------------------------------------------------------ */

/* The first queued OpenSSL reason (or "unknown error"), then an empty queue. */
static void ossl_reason(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    if (r) snprintf(buf, cap, "%s", r);
    else if (e) snprintf(buf, cap, "error %lx", e);
    else snprintf(buf, cap, "unknown error");
    ERR_clear_error();
}

static int ossl_fail(sbx_error *err, const char *what)
{
    char r[160];
    ossl_reason(r, sizeof r);
    return sbx_fail(err, SBX_E_INTERNAL, 0, "tls: %s: %s", what, r);
}

static EVP_PKEY *p256_key(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* 16 random bytes, positive and with the top byte non-zero (so the DER length is fixed). */
static int set_random_serial(X509 *x)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) return -1;
    b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);
    BIGNUM *bn = BN_bin2bn(b, (int)sizeof b, NULL);
    ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    int ok = ai && X509_set_serialNumber(x, ai) == 1;
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return ok ? 0 : -1;
}

/* Version 3, random serial, valid from a day ago for CERT_DAYS days. */
static int set_basics(X509 *x)
{
    if (X509_set_version(x, X509_VERSION_3) != 1 || set_random_serial(x) < 0) return -1;
    if (!X509_gmtime_adj(X509_getm_notBefore(x), -24L * 3600)) return -1;
    if (!X509_gmtime_adj(X509_getm_notAfter(x), (long)CERT_DAYS * 24 * 3600)) return -1;
    return 0;
}

static int add_name(X509_NAME *n, const char *field, const char *value)
{
    return X509_NAME_add_entry_by_txt(n, field, MBSTRING_ASC, (const unsigned char *)value, -1,
                                      -1, 0) == 1 ? 0 : -1;
}

/* An extension from its config text; issuer is the signer (x itself for a self-signed one). */
static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    if (!e) return -1;
    int ok = X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok ? 0 : -1;
}

/* ---- The run's CA ------------------------------------------------------------------------- */

static char *cert_pem(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b && PEM_write_bio_X509(b, x) == 1) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        if (n > 0 && (out = malloc((size_t)n + 1)) != NULL) {
            memcpy(out, p, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

int sbx_ca_create(struct sbx_ca **out, sbx_error *err)
{
    *out = NULL;
    struct sbx_ca *ca = calloc(1, sizeof *ca);
    if (!ca) return sbx_fail(err, SBX_E_INTERNAL, ENOMEM, "tls: making the CA: out of memory");
    ERR_clear_error();
    const char *step = "making the CA key";
    if (!(ca->key = p256_key())) goto fail;
    step = "making the CA certificate";
    if (!(ca->cert = X509_new()) || set_basics(ca->cert) < 0) goto fail;
    X509_NAME *subj = X509_get_subject_name(ca->cert);
    if (add_name(subj, "O", CA_ORG) < 0 || add_name(subj, "CN", CA_CN) < 0) goto fail;
    if (X509_set_issuer_name(ca->cert, subj) != 1 || X509_set_pubkey(ca->cert, ca->key) != 1)
        goto fail;
    if (add_ext(ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
        add_ext(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
        add_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash") < 0)
        goto fail;
    step = "signing the CA certificate";
    if (X509_sign(ca->cert, ca->key, EVP_sha256()) <= 0) goto fail;
    step = "writing the CA certificate as PEM";
    if (!(ca->pem = cert_pem(ca->cert))) goto fail;
    *out = ca;
    return 0;
fail:
    ossl_fail(err, step);
    sbx_ca_free(ca);
    return -1;
}

const char *sbx_ca_cert_pem(const struct sbx_ca *ca)
{
    return ca ? ca->pem : NULL;
}

void sbx_ca_free(struct sbx_ca *ca)
{
    if (!ca) return;
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    free(ca->pem);
    free(ca);
}

/* ---- Our BIO: the caller's fd, never blocking, never SIGPIPE, never closed ---------------- */

static int fdbio_write(BIO *b, const char *buf, size_t len, size_t *written)
{
    struct tlsmitm_conn *c = BIO_get_data(b);
    ssize_t n;
    BIO_clear_retry_flags(b);
    do n = send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(b);
        return 0;
    }
    *written = (size_t)n;
    return 1;
}

static int fdbio_read(BIO *b, char *buf, size_t len, size_t *readbytes)
{
    struct tlsmitm_conn *c = BIO_get_data(b);
    ssize_t n;
    BIO_clear_retry_flags(b);
    if (len == 0) {
        *readbytes = 0;
        return 0;
    }
    do n = recv(c->fd, buf, len, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(b);
        return 0;
    }
    if (n == 0) {
        c->eof = 1;
        errno = 0;
        return 0;
    }
    *readbytes = (size_t)n;
    return 1;
}

static long fdbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    const struct tlsmitm_conn *c = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_EOF: return c && c->eof;
    case BIO_C_GET_FD:
        if (!c) return -1;
        if (ptr) *(int *)ptr = c->fd;
        return c->fd;
    default: return 0;
    }
}

static int fdbio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static int fdbio_destroy(BIO *b)
{
    (void)b;   /* the fd and the connection are the caller's */
    return 1;
}

static BIO_METHOD *fdbio_method(void)
{
    /* No BIO_get_new_index(): one per tlsmitm would use up the 8-bit index space over a long
     * life. The type is only informational for a BIO nobody looks up. */
    BIO_METHOD *m = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "sbx-fd");
    if (!m) return NULL;
    if (BIO_meth_set_write_ex(m, fdbio_write) != 1 || BIO_meth_set_read_ex(m, fdbio_read) != 1 ||
        BIO_meth_set_ctrl(m, fdbio_ctrl) != 1 || BIO_meth_set_create(m, fdbio_create) != 1 ||
        BIO_meth_set_destroy(m, fdbio_destroy) != 1) {
        BIO_meth_free(m);
        return NULL;
    }
    return m;
}

/* ---- The server context -------------------------------------------------------------------- */

/* "http/1.1" when the client offers it; otherwise no ALPN at all (we only speak HTTP/1.x). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    unsigned int i = 0;
    while (i < inlen) {
        unsigned int l = in[i];
        if (l > inlen - i - 1) break;
        if (l == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
            *out = in + i + 1;
            *outlen = 8;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + l;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

static void info_cb(const SSL *ssl, int where, int ret)
{
    if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT) return;   /* not the alerts we send */
    struct tlsmitm_conn *c = SSL_get_app_data(ssl);
    if (c && c->alert_in < 0) c->alert_in = ret & 0xff;
}

static SSL_CTX *server_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) return NULL;
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* No resumption (nothing to keep per client), no renegotiation; bounded buffers. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    return ctx;
}

int tlsmitm_new(const struct sbx_ca *ca, struct tlsmitm **out, sbx_error *err)
{
    *out = NULL;
    if (!ca || !ca->key || !ca->cert)
        return sbx_fail(err, SBX_E_USAGE, EINVAL, "tls: no CA given");
    struct tlsmitm *m = calloc(1, sizeof *m);
    if (!m) return sbx_fail(err, SBX_E_INTERNAL, ENOMEM, "tls: out of memory");
    ERR_clear_error();
    if (EVP_PKEY_up_ref(ca->key) != 1) goto fail_ref;
    m->ca_key = ca->key;
    if (X509_up_ref(ca->cert) != 1) goto fail_ref;
    m->ca_cert = ca->cert;
    const char *step = "making the leaf key";
    if (!(m->leaf_key = p256_key())) goto fail;
    step = "making the server context";
    if (!(m->ctx = server_ctx()) || !(m->bio_meth = fdbio_method())) goto fail;
    *out = m;
    return 0;
fail_ref:
    ossl_fail(err, "keeping the CA");
    tlsmitm_free(m);
    return -1;
fail:
    ossl_fail(err, step);
    tlsmitm_free(m);
    return -1;
}

void tlsmitm_free(struct tlsmitm *m)
{
    if (!m) return;
    for (size_t i = 0; i < CACHE_MAX; i++) {
        free(m->cache[i].key);
        X509_free(m->cache[i].cert);
    }
    SSL_CTX_free(m->ctx);
    BIO_meth_free(m->bio_meth);
    EVP_PKEY_free(m->leaf_key);
    EVP_PKEY_free(m->ca_key);
    X509_free(m->ca_cert);
    free(m);
}

/* ---- Leaf certificates --------------------------------------------------------------------- */

/* What a leaf names: a DNS name and/or up to two IP forms (an IPv4-mapped IPv6 address is also
 * named as plain IPv4: the client checks the address it was given, often the IPv4 one). */
struct leaf_names {
    char dns[NAME_MAX_LEN + 1];   /* "" when none */
    unsigned char ip[2][16];
    size_t iplen[2];
    int nip;
    char text[INET6_ADDRSTRLEN];  /* the canonical address text, when nip > 0 */
};

static int parse_ip(const char *s, struct leaf_names *ln)
{
    char buf[INET6_ADDRSTRLEN + 8];
    size_t n = strlen(s);
    if (n >= sizeof buf) return -1;
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        memcpy(buf, s + 1, n - 2);
        buf[n - 2] = '\0';
    } else {
        memcpy(buf, s, n + 1);
    }
    char *zone = strchr(buf, '%');
    if (zone) *zone = '\0';
    unsigned char a[16];
    if (inet_pton(AF_INET, buf, a) == 1) {
        memcpy(ln->ip[0], a, 4);
        ln->iplen[0] = 4;
        ln->nip = 1;
        inet_ntop(AF_INET, a, ln->text, sizeof ln->text);
        return 0;
    }
    if (inet_pton(AF_INET6, buf, a) != 1) return -1;
    memcpy(ln->ip[0], a, 16);
    ln->iplen[0] = 16;
    ln->nip = 1;
    inet_ntop(AF_INET6, a, ln->text, sizeof ln->text);
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, mapped, sizeof mapped) == 0) {
        memcpy(ln->ip[1], a + 12, 4);
        ln->iplen[1] = 4;
        ln->nip = 2;
    }
    return 0;
}

/* A name we can put in a dNSName (IA5String): printable ASCII, no spaces, bounded. */
static int usable_dns(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) return 0;
    return 1;
}

/* Fill ln and the cache key from the SNI (preferred) or the address. */
static int leaf_names_of(const char *name, const char *addr, struct leaf_names *ln, char *key,
                         size_t key_cap)
{
    memset(ln, 0, sizeof *ln);
    if (name && usable_dns(name)) {
        size_t n = strlen(name);
        for (size_t i = 0; i < n; i++) ln->dns[i] = (char)tolower((unsigned char)name[i]);
        ln->dns[n] = '\0';
        (void)parse_ip(ln->dns, ln);   /* an IP literal sent as SNI is named both ways */
        snprintf(key, key_cap, "dns:%s", ln->dns);
        return 0;
    }
    if (addr && parse_ip(addr, ln) == 0) {
        snprintf(key, key_cap, "ip:%s", ln->text);
        return 0;
    }
    return -1;
}

static int add_san(X509 *x, const struct leaf_names *ln)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    int ok = gens != NULL;
    if (ok && ln->dns[0]) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        ok = g && s && ASN1_STRING_set(s, ln->dns, (int)strlen(ln->dns)) == 1;
        if (ok) {
            GENERAL_NAME_set0_value(g, GEN_DNS, s);
            s = NULL;
            ok = sk_GENERAL_NAME_push(gens, g) > 0;
            if (ok) g = NULL;
        }
        ASN1_IA5STRING_free(s);
        GENERAL_NAME_free(g);
    }
    for (int i = 0; ok && i < ln->nip; i++) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();
        ok = g && o && ASN1_OCTET_STRING_set(o, ln->ip[i], (int)ln->iplen[i]) == 1;
        if (ok) {
            GENERAL_NAME_set0_value(g, GEN_IPADD, o);
            o = NULL;
            ok = sk_GENERAL_NAME_push(gens, g) > 0;
            if (ok) g = NULL;
        }
        ASN1_OCTET_STRING_free(o);
        GENERAL_NAME_free(g);
    }
    ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1;
    GENERAL_NAMES_free(gens);
    return ok ? 0 : -1;
}

static X509 *mint_leaf(const struct tlsmitm *m, const struct leaf_names *ln)
{
    X509 *x = X509_new();
    if (!x || set_basics(x) < 0) goto fail;
    X509_NAME *subj = X509_get_subject_name(x);
    const char *cn = ln->dns[0] ? ln->dns : ln->text;
    if (add_name(subj, "O", CA_ORG) < 0) goto fail;
    if (strlen(cn) <= 64 && add_name(subj, "CN", cn) < 0) goto fail;   /* ub-common-name */
    if (X509_set_issuer_name(x, X509_get_subject_name(m->ca_cert)) != 1 ||
        X509_set_pubkey(x, m->leaf_key) != 1)
        goto fail;
    if (add_ext(x, m->ca_cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
        add_ext(x, m->ca_cert, NID_key_usage, "critical,digitalSignature") < 0 ||
        add_ext(x, m->ca_cert, NID_ext_key_usage, "serverAuth") < 0 ||
        add_ext(x, m->ca_cert, NID_subject_key_identifier, "hash") < 0 ||
        add_ext(x, m->ca_cert, NID_authority_key_identifier, "keyid:always") < 0 ||
        add_san(x, ln) < 0)
        goto fail;
    if (X509_sign(x, m->ca_key, EVP_sha256()) <= 0) goto fail;
    return x;
fail:
    X509_free(x);
    return NULL;
}

/* The cached leaf for key, or a new one (dropping the oldest when full). Borrowed reference. */
static X509 *leaf_for(struct tlsmitm *m, const char *key, const struct leaf_names *ln)
{
    for (size_t i = 0; i < CACHE_MAX; i++)
        if (m->cache[i].key && strcmp(m->cache[i].key, key) == 0) return m->cache[i].cert;
    char *k = strdup(key);
    X509 *x = k ? mint_leaf(m, ln) : NULL;
    if (!x) {
        free(k);
        return NULL;
    }
    struct leaf *slot = &m->cache[m->next];
    free(slot->key);
    X509_free(slot->cert);   /* connections using it hold their own reference */
    slot->key = k;
    slot->cert = x;
    m->next = (m->next + 1) % CACHE_MAX;
    return x;
}

/* ---- Connections --------------------------------------------------------------------------- */

struct tlsmitm_conn *tlsmitm_accept(struct tlsmitm *m, int fd, const char *name, const char *addr,
                                    sbx_error *err)
{
    struct leaf_names ln;
    char key[NAME_MAX_LEN + 8];
    if (!m || fd < 0) {
        sbx_fail(err, SBX_E_USAGE, EINVAL, "tls: accept without a tlsmitm or a socket");
        return NULL;
    }
    if (leaf_names_of(name, addr, &ln, key, sizeof key) < 0) {
        sbx_fail(err, SBX_E_USAGE, EINVAL, "tls: no usable SNI and no numeric address to name the certificate after");
        return NULL;
    }
    ERR_clear_error();
    X509 *leaf = leaf_for(m, key, &ln);
    if (!leaf) {
        ossl_fail(err, "minting a leaf certificate");
        return NULL;
    }
    struct tlsmitm_conn *c = calloc(1, sizeof *c);
    if (!c) {
        sbx_fail(err, SBX_E_INTERNAL, ENOMEM, "tls: out of memory");
        return NULL;
    }
    c->fd = fd;
    c->alert_in = -1;
    c->state = TLSMITM_WANT_READ;
    BIO *bio = NULL;
    if (!(c->ssl = SSL_new(m->ctx)) || !(bio = BIO_new(m->bio_meth))) goto fail;
    BIO_set_data(bio, c);
    SSL_set_bio(c->ssl, bio, bio);   /* the SSL owns the BIO now */
    if (SSL_use_certificate(c->ssl, leaf) != 1 || SSL_use_PrivateKey(c->ssl, m->leaf_key) != 1)
        goto fail;
    SSL_set_app_data(c->ssl, c);
    SSL_set_info_callback(c->ssl, info_cb);
    SSL_set_accept_state(c->ssl);
    return c;
fail:
    ossl_fail(err, "starting a TLS connection");
    if (c->ssl) SSL_free(c->ssl);
    else BIO_free(bio);
    free(c);
    return NULL;
}

static const char *alert_reason(int desc, char *buf, size_t cap)
{
    switch (desc) {
    case SSL_AD_CLOSE_NOTIFY: return "peer closed during handshake";
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNKNOWN_CA:
    case SSL_AD_ACCESS_DENIED:
        snprintf(buf, cap, "client rejected our certificate (pinned or untrusted CA): alert \"%s\"",
                 SSL_alert_desc_string_long(desc));
        return buf;
    case SSL_AD_PROTOCOL_VERSION:
        return "no shared TLS version (client alert \"protocol version\"; we speak TLS 1.2 and 1.3)";
    case SSL_AD_NO_APPLICATION_PROTOCOL:
        return "client requires an ALPN protocol other than http/1.1 (alert \"no application protocol\")";
    case SSL_AD_USER_CANCELLED: return "client cancelled the handshake";
    default:
        snprintf(buf, cap, "client aborted the handshake: alert \"%s\"", SSL_alert_desc_string_long(desc));
        return buf;
    }
}

static const char *ssl_reason(unsigned long e, char *buf, size_t cap)
{
    if (ERR_GET_LIB(e) == ERR_LIB_SSL) {
        int r = ERR_GET_REASON(e);
        if (r >= SSL_AD_REASON_OFFSET && r < SSL_AD_REASON_OFFSET + 256)
            return alert_reason(r - SSL_AD_REASON_OFFSET, buf, cap);
        switch (r) {
        case SSL_R_UNEXPECTED_EOF_WHILE_READING: return "peer closed during handshake";
        case SSL_R_NO_SHARED_CIPHER: return "no shared cipher";
        case SSL_R_NO_SHARED_GROUPS:
        case SSL_R_NO_SUITABLE_KEY_SHARE: return "no shared key exchange group";
        case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
            return "no shared signature algorithm (client cannot verify ECDSA P-256)";
        case SSL_R_UNSUPPORTED_PROTOCOL:
        case SSL_R_VERSION_TOO_LOW:
        case SSL_R_NO_PROTOCOLS_AVAILABLE:
            return "no shared TLS version (client offers only versions older than TLS 1.2)";
        case SSL_R_HTTP_REQUEST: return "not TLS: plain HTTP sent to a TLS port";
        case SSL_R_HTTPS_PROXY_REQUEST: return "not TLS: an HTTP CONNECT sent to a TLS port";
        case SSL_R_WRONG_VERSION_NUMBER:
        case SSL_R_UNKNOWN_PROTOCOL:
        case SSL_R_PACKET_LENGTH_TOO_LONG:
        case SSL_R_RECORD_LENGTH_MISMATCH:
        case SSL_R_BAD_PACKET_LENGTH: return "not TLS (or a malformed record)";
        default: break;
        }
    }
    const char *s = ERR_reason_error_string(e);
    if (s) snprintf(buf, cap, "TLS handshake failed: %s", s);
    else snprintf(buf, cap, "TLS handshake failed: error %lx", e);
    return buf;
}

/* Why the handshake failed: an alert the client sent, else the error queue, else the socket. */
static void explain(struct tlsmitm_conn *c, int sslerr, int sys)
{
    char buf[sizeof c->why];
    const char *why;
    unsigned long e, first_ssl = 0;
    while ((e = ERR_get_error()) != 0)
        if (!first_ssl && ERR_GET_LIB(e) == ERR_LIB_SSL) first_ssl = e;
    if (c->alert_in >= 0) {
        why = alert_reason(c->alert_in, buf, sizeof buf);
    } else if (first_ssl) {
        why = ssl_reason(first_ssl, buf, sizeof buf);
    } else if (sslerr == SSL_ERROR_ZERO_RETURN || c->eof ||
               (sslerr == SSL_ERROR_SYSCALL && (sys == 0 || sys == EPIPE))) {
        why = "peer closed during handshake";
    } else if (sslerr == SSL_ERROR_SYSCALL && sys == ECONNRESET) {
        why = "peer reset the connection during handshake";
    } else if (sslerr == SSL_ERROR_SYSCALL) {
        snprintf(buf, sizeof buf, "socket error during handshake: %s", strerror(sys));
        why = buf;
    } else {
        snprintf(buf, sizeof buf, "TLS handshake failed (error %d)", sslerr);
        why = buf;
    }
    snprintf(c->why, sizeof c->why, "%s", why);
    ERR_clear_error();
}

static void copy_why(const struct tlsmitm_conn *c, char *why, size_t why_cap)
{
    if (why && why_cap) snprintf(why, why_cap, "%s", c->why);
}

enum tlsmitm_state tlsmitm_handshake(struct tlsmitm_conn *c, char *why, size_t why_cap)
{
    if (c->state == TLSMITM_READY) return c->state;
    if (c->state == TLSMITM_FAILED) {
        copy_why(c, why, why_cap);
        return c->state;
    }
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(c->ssl);
    int sys = errno;
    if (r == 1) {
        const unsigned char *p = NULL;
        unsigned int n = 0;
        SSL_get0_alpn_selected(c->ssl, &p, &n);
        if (p && n > 0 && n < sizeof c->alpn) {
            memcpy(c->alpn, p, n);
            c->alpn[n] = '\0';
        }
        return c->state = TLSMITM_READY;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) return c->state = TLSMITM_WANT_READ;
    if (e == SSL_ERROR_WANT_WRITE) return c->state = TLSMITM_WANT_WRITE;
    explain(c, e, sys);
    c->broken = 1;
    copy_why(c, why, why_cap);
    return c->state = TLSMITM_FAILED;
}

/* After SSL_read/SSL_write returned r <= 0: -1 with errno, or 0 for a peer that is gone. */
static ssize_t io_result(struct tlsmitm_conn *c, int r, int sys, enum tlsmitm_state *want)
{
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (want) *want = e == SSL_ERROR_WANT_READ ? TLSMITM_WANT_READ : TLSMITM_WANT_WRITE;
        ERR_clear_error();
        errno = EAGAIN;
        return -1;
    }
    unsigned long first = ERR_peek_error();
    ERR_clear_error();
    if (e == SSL_ERROR_ZERO_RETURN) return 0;   /* close_notify */
    c->broken = 1;
    if (e == SSL_ERROR_SYSCALL && !first) {
        if (sys == 0 || sys == ECONNRESET || sys == EPIPE) return 0;   /* the peer went away */
        errno = sys;
        return -1;
    }
    if (ERR_GET_LIB(first) == ERR_LIB_SSL && ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        return 0;
    errno = EPROTO;
    return -1;
}

static int io_ready(const struct tlsmitm_conn *c)
{
    if (c->state == TLSMITM_READY && !c->broken) return 1;
    errno = c->state == TLSMITM_FAILED || c->broken ? EPROTO : EAGAIN;
    return 0;
}

ssize_t tlsmitm_read(struct tlsmitm_conn *c, void *buf, size_t cap, enum tlsmitm_state *want)
{
    if (want) *want = TLSMITM_WANT_READ;
    if (!io_ready(c)) return -1;
    if (cap == 0) return 0;
    size_t n = 0;
    ERR_clear_error();
    errno = 0;
    int r = SSL_read_ex(c->ssl, buf, cap, &n);
    int sys = errno;
    if (r == 1) return (ssize_t)n;
    return io_result(c, r, sys, want);
}

ssize_t tlsmitm_write(struct tlsmitm_conn *c, const void *buf, size_t len, enum tlsmitm_state *want)
{
    if (want) *want = TLSMITM_WANT_WRITE;
    if (!io_ready(c)) return -1;
    if (len == 0) return 0;
    size_t n = 0;
    ERR_clear_error();
    errno = 0;
    int r = SSL_write_ex(c->ssl, buf, len, &n);
    int sys = errno;
    if (r == 1) return (ssize_t)n;
    ssize_t rc = io_result(c, r, sys, want);
    if (rc == 0) {   /* a write to a peer that is gone is a failure, not a close */
        errno = EPIPE;
        return -1;
    }
    return rc;
}

const char *tlsmitm_alpn(const struct tlsmitm_conn *c)
{
    return c && c->alpn[0] ? c->alpn : NULL;
}

void tlsmitm_conn_free(struct tlsmitm_conn *c)
{
    if (!c) return;
    if (c->ssl) {
        if (c->state == TLSMITM_READY && !c->broken) {
            ERR_clear_error();
            (void)SSL_shutdown(c->ssl);   /* one try at close_notify; never waits for the peer's */
        }
        ERR_clear_error();
        SSL_free(c->ssl);
    }
    free(c);
}
