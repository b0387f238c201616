/* placeholder: replaced by the tlsmitm branch */
/*
 * tlsmitm.c — placeholder so libsbx links before the real TLS termination lands (tlsmitm.h is
 * the contract). Every function fails cleanly: no CA can be made ("not built"), so the fake
 * internet never intercepts TLS and records the ClientHello (SNI/ALPN) as proto "tls".
 */
#include <errno.h>
#include <stdio.h>

#include "internal.h"
#include "tlsmitm.h"

int sbx_ca_create(struct sbx_ca **out, sbx_error *err)
{
    *out = NULL;
    return sbx_fail(err, SBX_E_INTERNAL, ENOSYS, "TLS interception not built (tlsmitm placeholder)");
}

const char *sbx_ca_cert_pem(const struct sbx_ca *ca)
{
    (void)ca;
    return NULL;
}

void sbx_ca_free(struct sbx_ca *ca) { (void)ca; }

int tlsmitm_new(const struct sbx_ca *ca, struct tlsmitm **out, sbx_error *err)
{
    (void)ca;
    *out = NULL;
    return sbx_fail(err, SBX_E_INTERNAL, ENOSYS, "TLS interception not built (tlsmitm placeholder)");
}

void tlsmitm_free(struct tlsmitm *m) { (void)m; }

struct tlsmitm_conn *tlsmitm_accept(struct tlsmitm *m, int fd, const char *name, const char *addr,
                                    sbx_error *err)
{
    (void)m, (void)fd, (void)name, (void)addr;
    sbx_fail(err, SBX_E_INTERNAL, ENOSYS, "TLS interception not built (tlsmitm placeholder)");
    return NULL;
}

enum tlsmitm_state tlsmitm_handshake(struct tlsmitm_conn *c, char *why, size_t why_cap)
{
    (void)c;
    if (why && why_cap) snprintf(why, why_cap, "not built");
    return TLSMITM_FAILED;
}

ssize_t tlsmitm_read(struct tlsmitm_conn *c, void *buf, size_t cap, enum tlsmitm_state *want)
{
    (void)c, (void)buf, (void)cap, (void)want;
    errno = ENOSYS;
    return -1;
}

ssize_t tlsmitm_write(struct tlsmitm_conn *c, const void *buf, size_t len, enum tlsmitm_state *want)
{
    (void)c, (void)buf, (void)len, (void)want;
    errno = ENOSYS;
    return -1;
}

const char *tlsmitm_alpn(const struct tlsmitm_conn *c)
{
    (void)c;
    return NULL;
}

void tlsmitm_conn_free(struct tlsmitm_conn *c) { (void)c; }
