/* test_tlsmitm.c — TLS termination for the fake internet: the run's CA, leaf minting per SNI or
 * address, the non-blocking server side and its failure reasons. In-process: an OpenSSL client
 * that trusts only the run's CA (and checks the host name) talks to tlsmitm over a socketpair;
 * both sides are non-blocking and driven in turn, so no threads are needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tlsmitm.h"

/* ---- Helpers ---------------------------------------------------------------------------- */

struct fixture {
    struct sbx_ca *ca;
    struct tlsmitm *m;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    sbx_error err;
    if (!f) return -1;
    if (sbx_ca_create(&f->ca, &err) < 0 || tlsmitm_new(f->ca, &f->m, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tlsmitm_free(f->m);
    sbx_ca_free(f->ca);
    free(f);
    return 0;
}

static X509 *pem_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    assert_non_null(b);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    return x;
}

/* A client context that trusts only ca_pem and verifies the peer. */
static SSL_CTX *client_ctx(const char *ca_pem, int max_version)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(ctx);
    X509 *ca = pem_cert(ca_pem);
    assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca), 1);
    X509_free(ca);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (max_version) assert_int_equal(SSL_CTX_set_max_proto_version(ctx, max_version), 1);
    return ctx;
}

struct pair {
    int cfd, sfd;
    SSL_CTX *cctx;
    SSL *cl;
    struct tlsmitm_conn *sc;
    int client;                 /* 0 in progress, 1 done, -1 failed */
    long verify;                /* the client's verify result */
    enum tlsmitm_state server;
    char why[256];
};

/* sni: what the client sends and checks; ip: the address the client checks when sni is NULL;
 * addr: what the caller (fakenet) gives tlsmitm. alpn: wire-format list or NULL. */
static void pair_open(struct pair *p, struct fixture *f, const char *ca_pem, const char *sni,
                      const char *ip, const char *addr, const char *alpn, size_t alpn_len,
                      int max_version)
{
    int sv[2];
    memset(p, 0, sizeof *p);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    p->cfd = sv[0];
    p->sfd = sv[1];
    p->cctx = client_ctx(ca_pem ? ca_pem : sbx_ca_cert_pem(f->ca), max_version);
    p->cl = SSL_new(p->cctx);
    assert_non_null(p->cl);
    assert_int_equal(SSL_set_fd(p->cl, p->cfd), 1);
    if (sni) {
        assert_int_equal(SSL_set_tlsext_host_name(p->cl, sni), 1);
        assert_int_equal(SSL_set1_host(p->cl, sni), 1);
    } else {
        assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(p->cl), ip), 1);
    }
    if (alpn) assert_int_equal(SSL_set_alpn_protos(p->cl, (const unsigned char *)alpn, (unsigned)alpn_len), 0);
    SSL_set_connect_state(p->cl);
    sbx_error err;
    p->sc = tlsmitm_accept(f->m, p->sfd, sni, addr, &err);
    assert_non_null(p->sc);
    p->server = TLSMITM_WANT_READ;
}

static void pair_close(struct pair *p)
{
    tlsmitm_conn_free(p->sc);
    SSL_free(p->cl);
    SSL_CTX_free(p->cctx);
    if (p->cfd >= 0) close(p->cfd);
    close(p->sfd);
    ERR_clear_error();
}

static int server_done(const struct pair *p)
{
    return p->server == TLSMITM_READY || p->server == TLSMITM_FAILED;
}

static void client_step(struct pair *p)
{
    if (p->client != 0) return;
    int r = SSL_do_handshake(p->cl);
    if (r == 1) {
        p->client = 1;
        return;
    }
    int e = SSL_get_error(p->cl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
    p->client = -1;
    p->verify = SSL_get_verify_result(p->cl);
    ERR_clear_error();   /* the client's errors: tlsmitm must not see or leave any */
}

/* Drive both sides in turn until each has finished or failed. */
static void pump(struct pair *p)
{
    for (int i = 0; i < 100 && !(p->client != 0 && server_done(p)); i++) {
        client_step(p);
        if (!server_done(p)) p->server = tlsmitm_handshake(p->sc, p->why, sizeof p->why);
    }
    assert_true(server_done(p));
}

static void handshake_ok(struct pair *p)
{
    pump(p);
    if (p->server != TLSMITM_READY) fail_msg("server: %s", p->why);
    assert_int_equal(p->client, 1);
    assert_int_equal(SSL_get_verify_result(p->cl), X509_V_OK);
    assert_int_equal(ERR_peek_error(), 0);
}

static void peer_serial(SSL *cl, unsigned char out[32], int *len)
{
    X509 *peer = SSL_get0_peer_certificate(cl);
    assert_non_null(peer);
    const ASN1_INTEGER *s = X509_get0_serialNumber(peer);
    *len = ASN1_STRING_length(s);
    assert_true(*len > 0 && *len <= 32);
    memcpy(out, ASN1_STRING_get0_data(s), (size_t)*len);
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return 1;
    return 0;
}

/* ---- The CA ------------------------------------------------------------------------------ */

static void ca_is_a_neutral_p256_ca_valid_now(void **state)
{
    struct fixture *f = *state;
    const char *pem = sbx_ca_cert_pem(f->ca);
    assert_non_null(pem);
    assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
    assert_null(strstr(pem, "PRIVATE KEY"));
    X509 *x = pem_cert(pem);
    assert_int_equal(X509_check_ca(x), 1);
    uint32_t fl = X509_get_extension_flags(x);
    assert_true(fl & EXFLAG_CA);
    assert_true(fl & EXFLAG_SS);
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
    assert_non_null(bc);
    assert_true(bc->ca);
    assert_int_equal(crit, 1);
    BASIC_CONSTRAINTS_free(bc);
    assert_int_equal(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_non_null(X509_get0_subject_key_id(x));
    /* Valid now: from about a day ago, for about 30 days. */
    time_t now = time(NULL), t;
    t = now - 23 * 3600;
    assert_true(X509_cmp_time(X509_get0_notBefore(x), &t) < 0);
    t = now - 25 * 3600;
    assert_true(X509_cmp_time(X509_get0_notBefore(x), &t) > 0);
    t = now + 29 * 86400;
    assert_true(X509_cmp_time(X509_get0_notAfter(x), &t) > 0);
    t = now + 31 * 86400;
    assert_true(X509_cmp_time(X509_get0_notAfter(x), &t) < 0);
    /* Self-signed and the signature checks. */
    EVP_PKEY *pk = X509_get0_pubkey(x);
    assert_true(EVP_PKEY_is_a(pk, "EC"));
    assert_int_equal(EVP_PKEY_get_bits(pk), 256);
    assert_int_equal(X509_verify(x, pk), 1);
    /* Nothing that says what we are. */
    char subj[256];
    X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof subj);
    assert_false(contains_ci(subj, "scriptbox"));
    assert_false(contains_ci(subj, "sandbox"));
    assert_non_null(strstr(subj, "CN=Local Development Root CA"));
    X509_NAME_oneline(X509_get_issuer_name(x), subj, sizeof subj);
    assert_false(contains_ci(subj, "scriptbox"));
    /* 16-byte positive serial. */
    const ASN1_INTEGER *s = X509_get0_serialNumber(x);
    assert_int_equal(ASN1_STRING_length(s), 16);
    X509_free(x);
}

static void ca_is_fresh_per_run(void **state)
{
    (void)state;
    struct sbx_ca *a, *b;
    sbx_error err;
    assert_int_equal(sbx_ca_create(&a, &err), 0);
    assert_int_equal(sbx_ca_create(&b, &err), 0);
    assert_string_not_equal(sbx_ca_cert_pem(a), sbx_ca_cert_pem(b));
    X509 *xa = pem_cert(sbx_ca_cert_pem(a)), *xb = pem_cert(sbx_ca_cert_pem(b));
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(xa), X509_get0_serialNumber(xb)), 0);
    assert_int_not_equal(EVP_PKEY_eq(X509_get0_pubkey(xa), X509_get0_pubkey(xb)), 1);
    X509_free(xa);
    X509_free(xb);
    sbx_ca_free(a);
    sbx_ca_free(b);
    sbx_ca_free(NULL);
    assert_null(sbx_ca_cert_pem(NULL));
}

/* ---- Handshakes --------------------------------------------------------------------------- */

static void sni_handshake_verifies_with_only_our_ca(void **state)
{
    struct fixture *f = *state;
    struct pair p;
    pair_open(&p, f, NULL, "evil.example", NULL, "127.1.0.7", NULL, 0, 0);
    handshake_ok(&p);
    assert_int_equal(SSL_version(p.cl), TLS1_3_VERSION);
    X509 *peer = SSL_get0_peer_certificate(p.cl);
    assert_non_null(peer);
    /* SAN: exactly DNS:evil.example. */
    GENERAL_NAMES *gens = X509_get_ext_d2i(peer, NID_subject_alt_name, NULL, NULL);
    assert_non_null(gens);
    assert_int_equal(sk_GENERAL_NAME_num(gens), 1);
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, 0);
    assert_int_equal(g->type, GEN_DNS);
    assert_int_equal(ASN1_STRING_length(g->d.dNSName), 12);
    assert_memory_equal(ASN1_STRING_get0_data(g->d.dNSName), "evil.example", 12);
    GENERAL_NAMES_free(gens);
    assert_int_equal(X509_check_host(peer, "evil.example", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(peer, "other.example", 0, 0, NULL), 0);
    /* A server leaf signed by the CA, sent alone. */
    assert_int_equal(X509_check_ca(peer), 0);
    assert_true(X509_get_extended_key_usage(peer) & XKU_SSL_SERVER);
    X509 *ca = pem_cert(sbx_ca_cert_pem(f->ca));
    assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(peer), X509_get0_subject_key_id(ca)), 0);
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(peer), X509_get_subject_name(ca)), 0);
    X509_free(ca);
    assert_int_equal(sk_X509_num(SSL_get_peer_cert_chain(p.cl)), 1);
    time_t t = time(NULL) + 29 * 86400;
    assert_true(X509_cmp_time(X509_get0_notAfter(peer), &t) > 0);
    t = time(NULL) - 23 * 3600;
    assert_true(X509_cmp_time(X509_get0_notBefore(peer), &t) < 0);
    assert_null(tlsmitm_alpn(p.sc));
    pair_close(&p);
}

static void tls12_handshake_works(void **state)
{
    struct fixture *f = *state;
    struct pair p;
    pair_open(&p, f, NULL, "registry.mocks.lan", NULL, "127.1.0.8", NULL, 0, TLS1_2_VERSION);
    handshake_ok(&p);
    assert_int_equal(SSL_version(p.cl), TLS1_2_VERSION);
    pair_close(&p);
}

static void no_sni_names_the_address(void **state)
{
    static const struct {
        const char *addr, *client_checks;
    } cases[] = {
        {"127.1.0.7", "127.1.0.7"},
        {"fd00::7", "fd00::7"},
        {"[fd00::8]", "fd00::8"},
        {"::ffff:127.1.0.9", "127.1.0.9"},   /* a v4-mapped destination also names plain IPv4 */
        {"::ffff:127.1.0.9", "::ffff:127.1.0.9"},
    };
    struct fixture *f = *state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pair p;
        pair_open(&p, f, NULL, NULL, cases[i].client_checks, cases[i].addr, NULL, 0, 0);
        handshake_ok(&p);
        X509 *peer = SSL_get0_peer_certificate(p.cl);
        assert_int_equal(X509_check_ip_asc(peer, cases[i].client_checks, 0), 1);
        assert_int_equal(X509_check_ip_asc(peer, "127.1.0.1", 0), 0);
        assert_int_equal(X509_check_host(peer, "evil.example", 0, 0, NULL), 0);
        pair_close(&p);
    }
}

static void accept_needs_a_name_or_an_address(void **state)
{
    struct fixture *f = *state;
    sbx_error err;
    memset(&err, 0, sizeof err);
    assert_null(tlsmitm_accept(f->m, 5, NULL, NULL, &err));
    assert_int_equal(err.kind, SBX_E_USAGE);
    assert_true(strlen(err.msg) > 0);
    assert_null(tlsmitm_accept(f->m, 5, NULL, "not-an-address", &err));
    assert_null(tlsmitm_accept(f->m, 5, "bad name", NULL, &err));
    /* An SNI unusable in a certificate falls back to the address. */
    struct pair p;
    pair_open(&p, f, NULL, NULL, "10.0.0.1", "10.0.0.1", NULL, 0, 0);
    tlsmitm_conn_free(p.sc);
    p.sc = tlsmitm_accept(f->m, p.sfd, "bad name\x01", "10.0.0.1", &err);
    assert_non_null(p.sc);
    handshake_ok(&p);
    pair_close(&p);
    tlsmitm_conn_free(NULL);
}

/* ---- Application data ---------------------------------------------------------------------- */

static void request_arrives_decrypted_and_503_goes_back(void **state)
{
    static const char req[] = "GET /x?t=1 HTTP/1.1\r\nHost: evil.example\r\nUser-Agent: t\r\n\r\n";
    static const char resp[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    struct fixture *f = *state;
    struct pair p;
    pair_open(&p, f, NULL, "evil.example", NULL, "127.1.0.7", NULL, 0, 0);
    handshake_ok(&p);

    /* Nothing yet: EAGAIN, wait for POLLIN. */
    char buf[512];
    enum tlsmitm_state want = TLSMITM_READY;
    errno = 0;
    assert_int_equal(tlsmitm_read(p.sc, buf, sizeof buf, &want), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(want, TLSMITM_WANT_READ);

    size_t w = 0;
    assert_int_equal(SSL_write_ex(p.cl, req, sizeof req - 1, &w), 1);
    /* In 7-byte reads: after the first, the rest waits inside the TLS layer, not on the fd. */
    size_t got = 0;
    for (int i = 0; i < 40 && got < sizeof req - 1; i++) {
        ssize_t n = tlsmitm_read(p.sc, buf + got, 7, &want);
        if (n < 0) {
            assert_int_equal(errno, EAGAIN);
            continue;
        }
        assert_true(n > 0 && n <= 7);
        got += (size_t)n;
        if (got == 7) {
            char peek;
            assert_int_equal(recv(p.sfd, &peek, 1, MSG_PEEK | MSG_DONTWAIT), -1);
            assert_int_equal(errno, EAGAIN);
        }
    }
    assert_int_equal(got, sizeof req - 1);
    assert_memory_equal(buf, req, got);

    size_t sent = 0;
    for (int i = 0; i < 20 && sent < sizeof resp - 1; i++) {
        ssize_t n = tlsmitm_write(p.sc, resp + sent, sizeof resp - 1 - sent, &want);
        if (n < 0) {
            assert_int_equal(errno, EAGAIN);
            continue;
        }
        sent += (size_t)n;
    }
    assert_int_equal(sent, sizeof resp - 1);

    char cbuf[512];
    size_t cgot = 0, n = 0;
    for (int i = 0; i < 20 && cgot < sizeof resp - 1; i++)
        if (SSL_read_ex(p.cl, cbuf + cgot, sizeof cbuf - cgot, &n) == 1) cgot += n;
    assert_int_equal(cgot, sizeof resp - 1);
    assert_memory_equal(cbuf, resp, cgot);
    ERR_clear_error();

    /* conn_free sends close_notify and leaves the fd open. */
    tlsmitm_conn_free(p.sc);
    p.sc = NULL;
    int r = SSL_read_ex(p.cl, cbuf, sizeof cbuf, &n);
    assert_int_equal(r, 0);
    assert_int_equal(SSL_get_error(p.cl, r), SSL_ERROR_ZERO_RETURN);
    assert_int_equal(send(p.sfd, "x", 1, MSG_NOSIGNAL), 1);
    pair_close(&p);
}

static void read_reports_a_close_as_zero(void **state)
{
    struct fixture *f = *state;
    char buf[64];
    enum tlsmitm_state want;
    /* close_notify from the client. */
    struct pair p;
    pair_open(&p, f, NULL, "a.example", NULL, "127.1.0.7", NULL, 0, 0);
    handshake_ok(&p);
    SSL_shutdown(p.cl);
    assert_int_equal(tlsmitm_read(p.sc, buf, sizeof buf, &want), 0);
    pair_close(&p);
    /* A client that just went away. */
    pair_open(&p, f, NULL, "b.example", NULL, "127.1.0.7", NULL, 0, 0);
    handshake_ok(&p);
    close(p.cfd);
    p.cfd = -1;
    assert_int_equal(tlsmitm_read(p.sc, buf, sizeof buf, &want), 0);
    assert_int_equal(ERR_peek_error(), 0);
    assert_int_equal(tlsmitm_write(p.sc, "x", 1, &want), -1);
    assert_int_not_equal(errno, EAGAIN);
    pair_close(&p);
    /* Writing to a client that is gone (not read yet): EPIPE, no SIGPIPE (SIG_DFL here). */
    pair_open(&p, f, NULL, "c.example", NULL, "127.1.0.7", NULL, 0, 0);
    handshake_ok(&p);
    close(p.cfd);
    p.cfd = -1;
    assert_int_equal(tlsmitm_write(p.sc, "x", 1, &want), -1);
    assert_int_equal(errno, EPIPE);
    assert_int_equal(ERR_peek_error(), 0);
    pair_close(&p);
    /* conn_free's close_notify to a client that is gone: no SIGPIPE either. */
    pair_open(&p, f, NULL, "d.example", NULL, "127.1.0.7", NULL, 0, 0);
    handshake_ok(&p);
    close(p.cfd);
    p.cfd = -1;
    pair_close(&p);
}

/* ---- ALPN ---------------------------------------------------------------------------------- */

static void alpn_selects_http11_only_when_offered(void **state)
{
    struct fixture *f = *state;
    struct pair p;
    static const char both[] = "\x02h2\x08http/1.1";
    pair_open(&p, f, NULL, "evil.example", NULL, "127.1.0.7", both, sizeof both - 1, 0);
    handshake_ok(&p);
    assert_non_null(tlsmitm_alpn(p.sc));
    assert_string_equal(tlsmitm_alpn(p.sc), "http/1.1");
    const unsigned char *sel = NULL;
    unsigned len = 0;
    SSL_get0_alpn_selected(p.cl, &sel, &len);
    assert_int_equal(len, 8);
    assert_memory_equal(sel, "http/1.1", 8);
    pair_close(&p);

    static const char h2[] = "\x02h2";
    pair_open(&p, f, NULL, "evil.example", NULL, "127.1.0.7", h2, sizeof h2 - 1, 0);
    handshake_ok(&p);
    assert_null(tlsmitm_alpn(p.sc));
    SSL_get0_alpn_selected(p.cl, &sel, &len);
    assert_int_equal(len, 0);
    pair_close(&p);

    static const char odd[] = "\x08http/1.0\x05spdy/";   /* neither is http/1.1 */
    pair_open(&p, f, NULL, "evil.example", NULL, "127.1.0.7", odd, sizeof odd - 1, TLS1_2_VERSION);
    pump(&p);
    assert_null(tlsmitm_alpn(p.sc));
    pair_close(&p);
}

/* ---- Failures ------------------------------------------------------------------------------ */

static void untrusted_ca_fails_with_a_certificate_reason(void **state)
{
    struct fixture *f = *state;
    struct sbx_ca *other;
    sbx_error err;
    assert_int_equal(sbx_ca_create(&other, &err), 0);
    static const int versions[] = {0, TLS1_2_VERSION};
    for (size_t i = 0; i < 2; i++) {
        struct pair p;
        pair_open(&p, f, sbx_ca_cert_pem(other), "evil.example", NULL, "127.1.0.7", NULL, 0, versions[i]);
        pump(&p);
        assert_int_equal(p.client, -1);
        assert_int_not_equal(p.verify, X509_V_OK);
        assert_int_equal(p.server, TLSMITM_FAILED);
        assert_non_null(strstr(p.why, "certificate"));
        assert_non_null(strstr(p.why, "client rejected our certificate"));
        assert_int_equal(ERR_peek_error(), 0);   /* nothing left for the next connection */
        /* Asking again gives the same answer, and I/O is refused. */
        char why2[256];
        assert_int_equal(tlsmitm_handshake(p.sc, why2, sizeof why2), TLSMITM_FAILED);
        assert_string_equal(why2, p.why);
        char buf[8];
        enum tlsmitm_state want;
        assert_int_equal(tlsmitm_read(p.sc, buf, sizeof buf, &want), -1);
        assert_int_not_equal(errno, EAGAIN);
        pair_close(&p);
    }
    sbx_ca_free(other);

    /* The next connection, on the same tlsmitm, is unaffected. */
    struct pair p;
    pair_open(&p, f, NULL, "evil.example", NULL, "127.1.0.7", NULL, 0, 0);
    handshake_ok(&p);
    pair_close(&p);
}

static void wrong_name_is_rejected_by_the_client(void **state)
{
    struct fixture *f = *state;
    struct pair p;
    pair_open(&p, f, NULL, "evil.example", NULL, "127.1.0.7", NULL, 0, 0);
    assert_int_equal(SSL_set1_host(p.cl, "pinned.example"), 1);   /* checks another name */
    pump(&p);
    assert_int_equal(p.client, -1);
    assert_int_equal(p.verify, X509_V_ERR_HOSTNAME_MISMATCH);
    assert_int_equal(p.server, TLSMITM_FAILED);
    assert_non_null(strstr(p.why, "certificate"));
    pair_close(&p);
}

static void eof_during_handshake_is_named(void **state)
{
    struct fixture *f = *state;
    struct pair p;
    /* The ClientHello, then the client stops sending. */
    pair_open(&p, f, NULL, "evil.example", NULL, "127.1.0.7", NULL, 0, 0);
    client_step(&p);
    assert_int_equal(shutdown(p.cfd, SHUT_WR), 0);
    for (int i = 0; i < 10 && !server_done(&p); i++)
        p.server = tlsmitm_handshake(p.sc, p.why, sizeof p.why);
    assert_int_equal(p.server, TLSMITM_FAILED);
    assert_string_equal(p.why, "peer closed during handshake");
    assert_int_equal(ERR_peek_error(), 0);
    pair_close(&p);

    /* Half a ClientHello, then the client is gone. */
    pair_open(&p, f, NULL, "evil.example", NULL, "127.1.0.7", NULL, 0, 0);
    assert_int_equal(send(p.cfd, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11, 0), 11);
    close(p.cfd);
    p.cfd = -1;
    for (int i = 0; i < 10 && !server_done(&p); i++)
        p.server = tlsmitm_handshake(p.sc, p.why, sizeof p.why);
    assert_int_equal(p.server, TLSMITM_FAILED);
    assert_string_equal(p.why, "peer closed during handshake");
    pair_close(&p);

    /* A whole ClientHello, then the client is gone before our answer. */
    pair_open(&p, f, NULL, "evil.example", NULL, "127.1.0.7", NULL, 0, 0);
    client_step(&p);
    close(p.cfd);
    p.cfd = -1;
    for (int i = 0; i < 10 && !server_done(&p); i++)
        p.server = tlsmitm_handshake(p.sc, p.why, sizeof p.why);
    assert_int_equal(p.server, TLSMITM_FAILED);
    assert_string_equal(p.why, "peer closed during handshake");
    assert_int_equal(ERR_peek_error(), 0);
    pair_close(&p);
}

static void not_tls_is_named(void **state)
{
    struct fixture *f = *state;
    struct pair p;
    pair_open(&p, f, NULL, "evil.example", NULL, "127.1.0.7", NULL, 0, 0);
    static const char get[] = "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n";
    assert_int_equal(send(p.cfd, get, sizeof get - 1, 0), (ssize_t)(sizeof get - 1));
    for (int i = 0; i < 10 && !server_done(&p); i++)
        p.server = tlsmitm_handshake(p.sc, p.why, sizeof p.why);
    assert_int_equal(p.server, TLSMITM_FAILED);
    assert_non_null(strstr(p.why, "not TLS"));
    assert_int_equal(ERR_peek_error(), 0);
    pair_close(&p);
}

/* ---- The leaf cache ------------------------------------------------------------------------ */

static void cache_keeps_leaves_and_evicts_the_oldest(void **state)
{
    struct fixture *f = *state;
    struct pair p;
    unsigned char first[32], again[32], later[32];
    int lfirst, lagain, llater;

    pair_open(&p, f, NULL, "host0.example", NULL, "127.1.0.7", NULL, 0, 0);
    handshake_ok(&p);
    peer_serial(p.cl, first, &lfirst);
    pair_close(&p);
    /* Cached: the same leaf, whatever the case of the SNI. */
    pair_open(&p, f, NULL, "HOST0.example", NULL, "127.1.0.7", NULL, 0, 0);
    handshake_ok(&p);
    peer_serial(p.cl, again, &lagain);
    pair_close(&p);
    assert_int_equal(lfirst, lagain);
    assert_memory_equal(first, again, (size_t)lfirst);

    /* 299 more names: every one verifies; host0 is evicted on the way. */
    for (int i = 1; i < 300; i++) {
        char name[64];
        snprintf(name, sizeof name, "host%d.example", i);
        pair_open(&p, f, NULL, name, NULL, "127.1.0.7", NULL, 0, 0);
        handshake_ok(&p);
        assert_int_equal(X509_check_host(SSL_get0_peer_certificate(p.cl), name, 0, 0, NULL), 1);
        pair_close(&p);
    }
    pair_open(&p, f, NULL, "host0.example", NULL, "127.1.0.7", NULL, 0, 0);
    handshake_ok(&p);
    peer_serial(p.cl, later, &llater);
    pair_close(&p);
    assert_false(llater == lfirst && memcmp(later, first, (size_t)lfirst) == 0);
}

/* A connection outlives the eviction of its leaf. */
static void connection_survives_eviction_of_its_leaf(void **state)
{
    struct fixture *f = *state;
    struct pair held, p;
    pair_open(&held, f, NULL, "held.example", NULL, "127.1.0.7", NULL, 0, 0);
    for (int i = 0; i < 260; i++) {
        char name[64];
        snprintf(name, sizeof name, "filler%d.example", i);
        sbx_error err;
        struct tlsmitm_conn *c = tlsmitm_accept(f->m, held.sfd, name, NULL, &err);
        assert_non_null(c);
        tlsmitm_conn_free(c);
    }
    handshake_ok(&held);
    assert_int_equal(X509_check_host(SSL_get0_peer_certificate(held.cl), "held.example", 0, 0, NULL), 1);
    pair_close(&held);
    pair_open(&p, f, NULL, "held.example", NULL, "127.1.0.7", NULL, 0, 0);
    handshake_ok(&p);
    pair_close(&p);
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL);   /* tlsmitm must never raise it */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ca_is_a_neutral_p256_ca_valid_now, setup, teardown),
        cmocka_unit_test(ca_is_fresh_per_run),
        cmocka_unit_test_setup_teardown(sni_handshake_verifies_with_only_our_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(tls12_handshake_works, setup, teardown),
        cmocka_unit_test_setup_teardown(no_sni_names_the_address, setup, teardown),
        cmocka_unit_test_setup_teardown(accept_needs_a_name_or_an_address, setup, teardown),
        cmocka_unit_test_setup_teardown(request_arrives_decrypted_and_503_goes_back, setup, teardown),
        cmocka_unit_test_setup_teardown(read_reports_a_close_as_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(alpn_selects_http11_only_when_offered, setup, teardown),
        cmocka_unit_test_setup_teardown(untrusted_ca_fails_with_a_certificate_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_name_is_rejected_by_the_client, setup, teardown),
        cmocka_unit_test_setup_teardown(eof_during_handshake_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(not_tls_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(cache_keeps_leaves_and_evicts_the_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(connection_survives_eviction_of_its_leaf, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
