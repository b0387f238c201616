#include "events.h"

#include "b64.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const kind_names[SBX_EV_KIND_COUNT] = {
    [SBX_EV_EXEC] = "exec", [SBX_EV_OPEN] = "open", [SBX_EV_FS] = "fs",
    [SBX_EV_SOCKET] = "socket", [SBX_EV_NET] = "net", [SBX_EV_DENIED] = "denied",
    [SBX_EV_PROC_EXIT] = "proc_exit", [SBX_EV_NOTE] = "note",
    [SBX_EV_DNS] = "dns", [SBX_EV_PAYLOAD] = "payload",
};

const char *event_kind_name(sbx_event_kind k)
{
    return (unsigned)k < SBX_EV_KIND_COUNT && kind_names[k] ? kind_names[k] : "unknown";
}

void event_log_init(struct event_log *l, size_t max_bytes)
{
    memset(l, 0, sizeof *l);
    l->max_bytes = max_bytes;
    l->phase = "setup";
}

void event_log_free(struct event_log *l)
{
    jw_free(&l->out);
    jw_free(&l->line);
    for (size_t i = 0; i < l->nsyscalls; i++) free(l->syscalls[i].name);
    l->nsyscalls = 0;
}

void event_log_set_phase(struct event_log *l, const char *phase) { l->phase = phase; }

/* The name is copied: an event's strings live only as long as the callback (sandbox.h). */
static void count_syscall(struct event_log *l, const char *name)
{
    if (!name) return;
    for (size_t i = 0; i < l->nsyscalls; i++)
        if (!strcmp(l->syscalls[i].name, name)) {
            l->syscalls[i].count++;
            return;
        }
    if (l->nsyscalls == EVENTS_MAX_SYSCALLS) return;
    char *copy = strdup(name);
    if (copy) l->syscalls[l->nsyscalls++] = (struct syscall_count){copy, 1};
}

static const char *family_name(int family)
{
    switch (family) {
    case AF_INET: return "inet";
    case AF_INET6: return "inet6";
    case AF_UNIX: return "unix";
    case AF_NETLINK: return "netlink";
    case AF_PACKET: return "packet";
    default: return NULL;
    }
}

static void write_addr(struct jsonw *j, const struct sbx_sockaddr *a)
{
    if (!a->family) return;
    jw_key(j, "addr");
    jw_begin(j);
    const char *fam = family_name(a->family);
    if (fam) jw_kstr(j, "family", fam);
    else jw_kint(j, "family", a->family);
    jw_kstr(j, "address", a->addr);
    if (a->family == AF_INET || a->family == AF_INET6) jw_kuint(j, "port", a->port);
    jw_end(j);
}

/* ---- fake internet: dns and payload (docs/ARCHITECTURE.md, "Event stream") ---------------- */

static const char *qtype_name(unsigned t)
{
    switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 12: return "PTR";
    case 15: return "MX";
    case 16: return "TXT";
    case 28: return "AAAA";
    case 33: return "SRV";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    case 255: return "ANY";
    default: return NULL;
    }
}

static void write_dns(struct jsonw *j, const struct sbx_event *ev)
{
    jw_kstr(j, "name", ev->dns.name ? ev->dns.name : "");
    const char *qt = qtype_name(ev->dns.qtype);
    if (qt) jw_kstr(j, "qtype", qt);
    else jw_kuint(j, "qtype", ev->dns.qtype);
    jw_kstr(j, "answer", ev->dns.answer ? ev->dns.answer : "");
    jw_kstr(j, "transport", ev->dns.transport);
    if (ev->conn_id) jw_kuint(j, "conn_id", ev->conn_id);
}

static void write_b64(struct jsonw *j, const char *key, const unsigned char *p, size_t n)
{
    char *text = b64_encode(p, n);
    if (!text) {
        j->failed = true;   /* out of memory: the line is dropped and counted, like an oversized one */
        return;
    }
    jw_kstr(j, key, text);
    free(text);
}

/* "key":"<at most EVENTS_EXCERPT_BYTES of p, escaped>" */
static void write_excerpt(struct jsonw *j, const char *key, const unsigned char *p, size_t n)
{
    jw_key(j, key);
    jw_str(j, p ? (const char *)p : "", n > EVENTS_EXCERPT_BYTES ? EVENTS_EXCERPT_BYTES : n);
}

struct header_line {
    const char *name, *value;
    size_t nlen, vlen;
};

/* Split "name: value\n" lines; at most cap. */
static size_t split_headers(const char *s, struct header_line *h, size_t cap)
{
    size_t n = 0;
    while (s && *s && n < cap) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        const char *colon = memchr(s, ':', len);
        if (colon && colon > s) {
            const char *v = colon + 1, *end = s + len;
            while (v < end && (*v == ' ' || *v == '\t')) v++;
            while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) end--;
            h[n++] = (struct header_line){s, v, (size_t)(colon - s), (size_t)(end - v)};
        }
        s += len + (nl != NULL);
    }
    return n;
}

/* "headers":{"name":"value", ...}: names as given (the sandbox lower-cases them), a repeated
 * header's values joined with ", " in order. */
static void write_headers(struct jsonw *j, const char *text)
{
    struct header_line h[EVENTS_MAX_HEADERS];
    bool done[EVENTS_MAX_HEADERS] = {false};
    size_t n = split_headers(text, h, EVENTS_MAX_HEADERS);
    jw_key(j, "headers");
    jw_begin(j);
    for (size_t i = 0; i < n; i++) {
        if (done[i]) continue;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(h[i].nlen < sizeof name ? h[i].nlen : sizeof name - 1), h[i].name);
        jw_key(j, name);
        jw_raw(j, "\"", 1);
        for (size_t k = i; k < n; k++) {
            if (k != i && (done[k] || h[k].nlen != h[i].nlen || strncmp(h[k].name, h[i].name, h[i].nlen))) continue;
            if (k != i) jw_raw(j, ", ", 2);
            /* jw_str adds quotes: write the value through it, then drop them */
            size_t at = j->len;
            jw_str(j, h[k].value, h[k].vlen);
            if (!j->failed) {
                memmove(j->buf + at, j->buf + at + 1, j->len - at - 2);
                j->len -= 2;
            }
            done[k] = true;
        }
        jw_raw(j, "\"", 1);
    }
    jw_end(j);
}

static void write_http(struct jsonw *j, const struct sbx_payload_event *p)
{
    jw_key(j, "http");
    jw_begin(j);
    jw_kstr(j, "method", p->http_method);
    const char *target = p->http_target ? p->http_target : "";
    jw_kstr(j, "target", target);
    const char *q = strchr(target, '?');
    jw_key(j, "path");
    jw_str(j, target, q ? (size_t)(q - target) : strlen(target));
    if (q) jw_kstr(j, "query", q + 1);
    jw_kstr(j, "host", p->http_host);
    write_headers(j, p->http_headers);
    write_excerpt(j, "body_excerpt", p->http_body, p->http_body ? p->http_body_len : 0);
    jw_kuint(j, "body_bytes", p->http_body ? p->http_body_len : 0);
    jw_end(j);
}

static bool is_tls(const struct sbx_payload_event *p)
{
    return p->tls_sni || p->tls_alpn || p->tls_error ||
           (p->proto && (!strcmp(p->proto, "https") || !strcmp(p->proto, "tls")));
}

static void write_tls(struct jsonw *j, const struct sbx_payload_event *p)
{
    jw_key(j, "tls");
    jw_begin(j);
    jw_kstr(j, "sni", p->tls_sni);
    jw_kstr(j, "alpn", p->tls_alpn);
    jw_kbool(j, "intercepted", p->proto && !strcmp(p->proto, "https"));
    jw_kstr(j, "error", p->tls_error);
    jw_end(j);
}

static void write_payload(struct jsonw *j, const struct sbx_event *ev)
{
    const struct sbx_payload_event *p = &ev->payload;
    if (ev->conn_id) jw_kuint(j, "conn_id", ev->conn_id);
    jw_kstr(j, "transport", p->transport);
    jw_kstr(j, "proto", p->proto);
    write_addr(j, &ev->addr);
    jw_kstr(j, "dns_name", p->dns_name);
    jw_kuint(j, "bytes", p->total);
    if (p->proto && !strcmp(p->proto, "forward")) jw_kuint(j, "received", p->received);
    size_t len = p->data ? p->len : 0;
    jw_kuint(j, "captured", len);
    write_b64(j, "data_b64", p->data, len);
    write_excerpt(j, "excerpt", p->data, len);
    if (p->http_method) write_http(j, p);
    if (is_tls(p)) write_tls(j, p);
}

static void write_kind_fields(struct jsonw *j, const struct sbx_event *ev)
{
    switch (ev->kind) {
    case SBX_EV_EXEC:
        jw_kstr(j, "path", ev->path);
        jw_kstrv(j, "argv", ev->argv);
        jw_kstr(j, "cwd", ev->cwd);
        break;
    case SBX_EV_OPEN:
        jw_kstr(j, "path", ev->path);
        jw_kint(j, "flags", ev->flags);
        if (ev->mode) jw_kint(j, "mode", ev->mode);
        break;
    case SBX_EV_FS:
        jw_kstr(j, "path", ev->path);
        jw_kstr(j, "path2", ev->path2);
        if (ev->mode) jw_kint(j, "mode", ev->mode);
        break;
    case SBX_EV_SOCKET: {
        const char *fam = family_name(ev->sock_family);
        if (fam) jw_kstr(j, "family", fam);
        else jw_kint(j, "family", ev->sock_family);
        jw_kint(j, "type", ev->sock_type);
        jw_kint(j, "protocol", ev->sock_protocol);
        break;
    }
    case SBX_EV_NET:
        write_addr(j, &ev->addr);
        if (ev->bytes) jw_kuint(j, "bytes", ev->bytes);
        if (ev->conn_id) jw_kuint(j, "conn_id", ev->conn_id);
        break;
    case SBX_EV_DENIED:
        jw_key(j, "args");
        jw_raw(j, "[", 1);
        for (int i = 0; i < 6; i++) {
            char num[24];
            int n = snprintf(num, sizeof num, "%s%llu", i ? "," : "", (unsigned long long)ev->args[i]);
            jw_raw(j, num, (size_t)n);
        }
        jw_raw(j, "]", 1);
        jw_kbool(j, "native_abi", ev->arch_native != 0);
        jw_kstr(j, "path", ev->path);
        break;
    case SBX_EV_PROC_EXIT:
        if (ev->term_signal) jw_kint(j, "signal", ev->term_signal);
        else jw_kint(j, "exit_code", ev->exit_code);
        break;
    case SBX_EV_DNS:
        write_dns(j, ev);
        break;
    case SBX_EV_PAYLOAD:
        write_payload(j, ev);
        break;
    case SBX_EV_NOTE:
    case SBX_EV_KIND_COUNT:
        break;
    }
}

static void format_event(struct event_log *l, const struct sbx_event *ev)
{
    struct jsonw *j = &l->line;
    jw_reset(j);
    jw_begin(j);
    jw_kuint(j, "seq", l->seq);
    jw_kuint(j, "t_ns", ev->t_ns);
    jw_kint(j, "pid", ev->pid);
    jw_kint(j, "ppid", ev->ppid);
    jw_kstr(j, "phase", l->phase);
    jw_kstr(j, "kind", event_kind_name(ev->kind));
    jw_kstr(j, "syscall", ev->syscall);
    write_kind_fields(j, ev);
    if (ev->truncated) jw_kbool(j, "truncated", true);
    jw_kstr(j, "detail", ev->detail);
    jw_end(j);
    jw_raw(j, "\n", 1);
}

void event_log_add(void *ctx, const struct sbx_event *ev)
{
    struct event_log *l = ctx;
    if ((unsigned)ev->kind < SBX_EV_KIND_COUNT) l->by_kind[ev->kind]++;
    count_syscall(l, ev->syscall);
    l->seq++;
    format_event(l, ev);
    if (l->line.failed || (l->max_bytes && l->out.len + l->line.len > l->max_bytes)) {
        l->dropped++;
        return;
    }
    jw_raw(&l->out, l->line.buf, l->line.len);
}

void event_log_add_exfil(struct event_log *l, const struct exfil_record *x)
{
    struct jsonw *j = &l->line;
    l->seq++;
    jw_reset(j);
    jw_begin(j);
    jw_kuint(j, "seq", l->seq);
    jw_kuint(j, "t_ns", x->t_ns);
    jw_kint(j, "pid", x->pid);
    jw_kint(j, "ppid", x->ppid);
    jw_kstr(j, "phase", x->phase ? x->phase : "teardown");
    jw_kstr(j, "kind", "exfil");
    jw_kstr(j, "source", x->source);
    jw_kstr(j, "where", x->where);
    jw_kuint(j, "ref_seq", x->ref_seq);
    jw_kstr(j, "field", x->field);
    jw_kstr(j, "encoding", x->encoding);
    jw_end(j);
    jw_raw(j, "\n", 1);
    if (j->failed || (l->max_bytes && l->out.len + j->len > l->max_bytes + EVENTS_EXFIL_RESERVE)) {
        l->dropped++;
        return;
    }
    l->nexfil++;
    jw_raw(&l->out, j->buf, j->len);
}

void event_log_finish(struct event_log *l)
{
    if (!l->dropped) return;
    struct jsonw *j = &l->line;
    jw_reset(j);
    jw_begin(j);
    jw_kuint(j, "seq", ++l->seq);
    jw_kstr(j, "kind", "truncated");
    jw_kuint(j, "dropped", l->dropped);
    jw_kstr(j, "detail", "event stream reached its size bound; later events were counted but not kept");
    jw_end(j);
    jw_raw(j, "\n", 1);
    jw_raw(&l->out, j->buf, j->len);   /* may exceed the bound by this one line, on purpose */
}

int event_log_save(const struct event_log *l, const char *path, struct sb_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return sb_fail(err, SB_EXIT_INPUT, "output", errno, "cannot write events to %s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < l->out.len) {
        ssize_t n = write(fd, l->out.buf + off, l->out.len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            return sb_fail(err, SB_EXIT_INPUT, "output", e, "writing events to %s: %s", path, strerror(e));
        }
        off += (size_t)n;
    }
    if (close(fd) < 0) return sb_fail(err, SB_EXIT_INPUT, "output", errno, "writing events to %s: %s", path, strerror(errno));
    return 0;
}
