/*
 * report_network.h — what the package said to the fake internet, and which secrets it sent.
 *
 * From the event stream alone (so a saved stream reports the same way):
 *   network.dns          every DNS query: seq, pid, phase, name, type, answer, transport;
 *   network.connections  every connection or datagram, grouped per conn_id: destination,
 *                        dns_name, transport, proto, method/host/path/query for http(s), sni,
 *                        tls_intercepted, tls_error, bytes, a short excerpt, and the seqs of
 *                        its net and payload events;
 *   canary_hits          every "exfil" line: source, where, field, encoding, ref_seq, seq.
 * Lists are bounded (REPORT_NETWORK_MAX_LISTED); <list>_omitted counts what was left out.
 * The text renderings: a "network" block (names queried, hosts contacted with method and path)
 * and a loud "SECRETS SENT OUT" block listing the canary hits.
 */
#ifndef SCRIPTBOX_REPORT_NETWORK_H
#define SCRIPTBOX_REPORT_NETWORK_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "jsonw.h"

enum { REPORT_NETWORK_MAX_LISTED = 1000, REPORT_NETWORK_EXCERPT = 160 };

/* Adds dns and connections to report.network (made if missing) and canary_hits to report.
 * 0, or -1 when out of memory. */
int report_network_add(cJSON *report, const char *events, size_t len);

/* Text blocks; red/bold/reset are the caller's colour codes ("" without colour). */
void report_network_text_secrets(struct jsonw *out, const cJSON *report, const char *red, const char *bold,
                                 const char *reset);
void report_network_text(struct jsonw *out, const cJSON *report);

#endif
