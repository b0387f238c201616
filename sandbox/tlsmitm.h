/*
 * tlsmitm.h — TLS termination for the fake internet: the run's CA (struct sbx_ca, sandbox.h),
 * leaf certificates minted per SNI, and a non-blocking server side for one accepted connection.
 *
 * Contract
 *  - sbx_ca_create() (sandbox.h) makes an EC P-256 CA with a neutral subject, valid from one day
 *    ago for 30 days, random serial; its key never leaves memory.
 *  - A tlsmitm serves one sandbox: one leaf key per tlsmitm, one leaf certificate per SNI (or per
 *    IP address when the ClientHello has no SNI), cached (at most 256; the oldest is dropped),
 *    SAN = that name, signed by the CA. ALPN: "http/1.1" when offered, otherwise none is
 *    selected (we only speak HTTP/1.x). TLS 1.2 and 1.3.
 *  - tlsmitm_accept() takes a connected, non-blocking socket whose ClientHello is still unread
 *    (the caller only peeked at it); the fd stays the caller's (never closed here).
 *  - All calls are non-blocking; they never print. Failures carry a short reason for the event
 *    ("certificate unknown: client does not trust our CA (pinned?)", "peer closed during
 *    handshake", "no shared cipher", ...).
 */
#ifndef SCRIPTBOX_SANDBOX_TLSMITM_H
#define SCRIPTBOX_SANDBOX_TLSMITM_H

#include <stddef.h>
#include <sys/types.h>

#include "sandbox.h"

struct tlsmitm;
struct tlsmitm_conn;

int tlsmitm_new(const struct sbx_ca *ca, struct tlsmitm **out, sbx_error *err);
void tlsmitm_free(struct tlsmitm *m);

/* name: the ClientHello's SNI, or NULL; addr: the numeric destination address used when there is
 * no SNI. Returns NULL with *err filled (out of memory, minting failed). */
struct tlsmitm_conn *tlsmitm_accept(struct tlsmitm *m, int fd, const char *name, const char *addr,
                                    sbx_error *err);

enum tlsmitm_state {
    TLSMITM_WANT_READ,    /* poll the fd for POLLIN, then call again */
    TLSMITM_WANT_WRITE,   /* poll the fd for POLLOUT, then call again */
    TLSMITM_READY,        /* handshake done: read/write application data */
    TLSMITM_FAILED,       /* handshake failed: why[] says why; close the connection */
};

/* Drive the handshake. On TLSMITM_FAILED, why holds a one-line reason. */
enum tlsmitm_state tlsmitm_handshake(struct tlsmitm_conn *c, char *why, size_t why_cap);

/* Decrypted application bytes: > 0 bytes read, 0 on a clean close (or a peer that just went
 * away), -1 with errno EAGAIN (call again when the fd is readable/writable, as *want says:
 * TLSMITM_WANT_READ or TLSMITM_WANT_WRITE) or another errno on a failure. Read until EAGAIN
 * before polling again: decrypted bytes can wait inside the TLS layer with nothing on the fd. */
ssize_t tlsmitm_read(struct tlsmitm_conn *c, void *buf, size_t cap, enum tlsmitm_state *want);
/* Best effort, for our short 503 answer: returns bytes written or -1 (EAGAIN as for read; then
 * call again with the same bytes). A peer that is gone is -1 with EPIPE (never SIGPIPE). */
ssize_t tlsmitm_write(struct tlsmitm_conn *c, const void *buf, size_t len, enum tlsmitm_state *want);

/* The ALPN protocol selected, or NULL. */
const char *tlsmitm_alpn(const struct tlsmitm_conn *c);

/* Sends close_notify when possible; never blocks; does not close the fd. NULL is fine. */
void tlsmitm_conn_free(struct tlsmitm_conn *c);

#endif
