/*
 * fakenet.h — the fake internet's supervisor side (fakenet.c): the DNS responder, the TCP and UDP
 * sinks, the name <-> address table and the flow table that links a connect to what arrived.
 * Internal to libsbx.
 *
 * Contract
 *  - One struct sbx_fnet per sandbox with cfg->fakenet.enabled, owned by struct sbx; it lives in
 *    the supervisor (the caller's thread) and never enters the sandbox. Its sockets are made
 *    inside the sandbox's network namespace by the open proxy (SBX_PROXY_LISTEN, with the
 *    payload's identity) through the mksock callback that notify.c installs, and served here;
 *    a socket keeps its namespace whoever holds it.
 *  - sbx_fnet_fd() is one descriptor (an epoll set over every socket and an idle timer) for the
 *    supervisor's poll; when it is readable call sbx_fnet_handle(). Nothing here blocks.
 *  - Events (SBX_EV_DNS, SBX_EV_PAYLOAD, SBX_EV_NOTE) go out through the sandbox's on_event on the
 *    caller's thread, from sbx_fnet_handle/_flush only (and notes from the notify hooks).
 *  - Every input byte is the package's: all parsing goes through wire.h; every buffer is bounded
 *    (flow_bytes per connection or datagram, run_bytes per sandbox, 256 listening ports, 256 open
 *    connections, 4096 remembered flows, 16384 names).
 */
#ifndef SCRIPTBOX_SANDBOX_FAKENET_H
#define SCRIPTBOX_SANDBOX_FAKENET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sandbox.h"

struct sbx_fnet;

/* Make a socket in the sandbox's namespace (SBX_PROXY_LISTEN semantics, decode.h): our fd, or
 * -errno (-EADDRINUSE: the package holds that port). */
typedef int (*sbx_fnet_mksock_fn)(void *ctx, int family, int type, unsigned port);

/* cfg must outlive the handle. A CA in cfg with TLS termination unavailable fails here. */
struct sbx_fnet *sbx_fnet_new(const struct sbx_fakenet *cfg, uint64_t t0_ns, sbx_event_fn fn,
                              void *ctx, sbx_error *err);
void sbx_fnet_set_mksock(struct sbx_fnet *f, sbx_fnet_mksock_fn mk, void *ctx);
/* The DNS responder's sockets (UDP and TCP, port 53); 0, or -1 when they could not be made yet
 * (they are then made at the first connect or send to port 53). */
int sbx_fnet_start(struct sbx_fnet *f);
int sbx_fnet_fd(const struct sbx_fnet *f);
/* Serve whatever is ready now: accept, read, answer, emit; finish idle connections. */
void sbx_fnet_handle(struct sbx_fnet *f);
/* sbx_fnet_handle, then emit every connection still open (as it is) and close it. */
void sbx_fnet_flush(struct sbx_fnet *f);
void sbx_fnet_free(struct sbx_fnet *f);
/* sbx_fakenet_forward's work (fakenet_fwd.c). */
int sbx_fnet_forward(struct sbx_fnet *f, const struct sbx_forward *t, size_t n, uint64_t max_bytes,
                     sbx_error *err);

/* ---- hooks for notify.c (emulated connect / sendto / sendmsg on an AF_INET(6) socket) ---- */

/* Before the call: make sure a socket of ours takes sock_type (SOCK_STREAM / SOCK_DGRAM) traffic
 * to the destination's port (unless the package holds that port). */
void sbx_fnet_prepare(struct sbx_fnet *f, int sock_type, const void *sa, size_t sa_len);
/* Before the package binds an AF_INET(6) address: a socket of ours on that port (but 53) is
 * closed first (what it already received is served), so the package's bind succeeds. */
void sbx_fnet_release(struct sbx_fnet *f, int sock_type, const void *sa, size_t sa_len);
/* After a call that succeeded (or a connect in progress): remember the flow (our copy of the
 * package's socket `sock`, for getsockname; pid inside the sandbox; destination) and return its
 * conn_id (a UDP socket sending again to the same destination keeps its id). 0: not a flow. */
uint64_t sbx_fnet_flow(struct sbx_fnet *f, int sock_type, int sock, int pid, const void *sa,
                       size_t sa_len);

#endif
