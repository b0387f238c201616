/* placeholder: replaced by the tlsmitm branch */
/*
 * Failing stubs of the CA API (sandbox.h) and of tlsmitm.h, so that src/ links before the TLS
 * interception lands. Every call fails cleanly; scriptbox then runs without interception.
 */
#include <errno.h>
#include <stdio.h>

#include "tlsmitm.h"

int sbx_ca_create(struct sbx_ca **out, sbx_error *err)
{
    *out = NULL;
    err->kind = SBX_E_INTERNAL;
    err->sys_errno = ENOSYS;
    snprintf(err->msg, sizeof err->msg, "TLS interception is not built into this libsbx");
    return -1;
}

const char *sbx_ca_cert_pem(const struct sbx_ca *ca)
{
    (void)ca;
    return "";
}

void sbx_ca_free(struct sbx_ca *ca) { (void)ca; }

int tlsmitm_new(const struct sbx_ca *ca, struct tlsmitm **out, sbx_error *err)
{
    (void)ca;
    *out = NULL;
    err->kind = SBX_E_INTERNAL;
    err->sys_errno = ENOSYS;
    snprintf(err->msg, sizeof err->msg, "TLS interception is not built into this libsbx");
    return -1;
}

void tlsmitm_free(struct tlsmitm *m) { (void)m; }

struct tlsmitm_conn *tlsmitm_accept(struct tlsmitm *m, int fd, const char *name, const char *addr, sbx_error *err)
{
    (void)m, (void)fd, (void)name, (void)addr;
    err->kind = SBX_E_INTERNAL;
    err->sys_errno = ENOSYS;
    snprintf(err->msg, sizeof err->msg, "TLS interception is not built into this libsbx");
    return NULL;
}

enum tlsmitm_state tlsmitm_handshake(struct tlsmitm_conn *c, char *why, size_t why_cap)
{
    (void)c;
    snprintf(why, why_cap, "TLS interception is not built into this libsbx");
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
