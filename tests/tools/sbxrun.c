/* sbxrun — open a sandbox, run one command in it, print its output, exit with its status.
 *   sbxrun [--rw DIR] [--timeout MS] [--fakenet] [--events] -- cmd args...
 * --rw DIR: a writable tmpfs at DIR inside, seeded with a copy of the host's DIR (cwd = DIR).
 * --fakenet: the fake internet; --events: print net/dns/payload/note events to stderr.
 * /tmp is always a fresh writable tmpfs. Host-side test and bench tool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

static void print_event(void *ctx, const struct sbx_event *ev)
{
    (void)ctx;
    switch (ev->kind) {
    case SBX_EV_NET:
        fprintf(stderr, "[net] pid=%d %s %s:%u bytes=%llu conn=%llu %s\n", ev->pid, ev->syscall,
                ev->addr.addr, ev->addr.port, (unsigned long long)ev->bytes,
                (unsigned long long)ev->conn_id, ev->detail ? ev->detail : "");
        break;
    case SBX_EV_DNS:
        fprintf(stderr, "[dns] pid=%d %s qtype=%u -> %s (%s) conn=%llu\n", ev->pid, ev->dns.name,
                ev->dns.qtype, ev->dns.answer, ev->dns.transport, (unsigned long long)ev->conn_id);
        break;
    case SBX_EV_PAYLOAD:
        fprintf(stderr, "[payload] pid=%d conn=%llu %s/%s %s:%u name=%s len=%zu total=%llu "
                "method=%s target=%s host=%s sni=%s alpn=%s tls_error=%s data=%.*s\n",
                ev->pid, (unsigned long long)ev->conn_id, ev->payload.transport, ev->payload.proto,
                ev->addr.addr, ev->addr.port, ev->payload.dns_name ? ev->payload.dns_name : "-",
                ev->payload.len, (unsigned long long)ev->payload.total,
                ev->payload.http_method ? ev->payload.http_method : "-",
                ev->payload.http_target ? ev->payload.http_target : "-",
                ev->payload.http_host ? ev->payload.http_host : "-",
                ev->payload.tls_sni ? ev->payload.tls_sni : "-",
                ev->payload.tls_alpn ? ev->payload.tls_alpn : "-",
                ev->payload.tls_error ? ev->payload.tls_error : "-",
                (int)(ev->payload.len > 80 ? 80 : ev->payload.len), (const char *)ev->payload.data);
        break;
    case SBX_EV_NOTE:
        fprintf(stderr, "[note] %s\n", ev->detail ? ev->detail : "");
        break;
    case SBX_EV_DENIED:
        fprintf(stderr, "[denied] %s %s\n", ev->syscall ? ev->syscall : "?", ev->detail ? ev->detail : "");
        break;
    default:
        break;
    }
}

int main(int argc, char **argv)
{
    const char *rw = NULL;
    int fakenet = 0, events = 0;
    unsigned timeout = 0;
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--rw") && i + 1 < argc) rw = argv[++i];
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) timeout = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--fakenet")) fakenet = 1;
        else if (!strcmp(argv[i], "--events")) events = 1;
        else if (!strcmp(argv[i], "--")) { i++; break; }
        else break;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: sbxrun [--rw DIR] [--timeout MS] -- cmd args...\n");
        return 2;
    }
    struct sbx_tmpfs areas[2] = {{.sandbox_path = "/tmp"}, {.sandbox_path = rw, .seed = rw}};
    struct sbx_config cfg = {.hostname = "sbxrun", .tmpfs = areas, .ntmpfs = rw ? 2 : 1,
                             .on_event = events ? print_event : NULL};
    cfg.fakenet.enabled = fakenet;
    const char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8", NULL};
    struct sbx_command cmd = {.argv = (const char *const *)argv + i, .envp = env,
                              .cwd = rw ? rw : "/tmp", .timeout_ms = timeout};
    sbx_error err = {0};
    struct sbx *sb;
    if (sbx_open(&cfg, &sb, &err) < 0) {
        fprintf(stderr, "sbxrun: %s\n", err.msg);
        return 125;
    }
    struct sbx_status st;
    int rc;
    if (sbx_exec(sb, &cmd, &st, &err) < 0) {
        fprintf(stderr, "sbxrun: %s\n", err.msg);
        rc = 125;
    } else {
        fwrite(st.out.data, 1, st.out.len, stdout);
        fwrite(st.err.data, 1, st.err.len, stderr);
        rc = st.exited ? st.exit_code : st.timed_out ? 124 : 128 + st.term_signal;
        sbx_status_free(&st);
    }
    struct sbx_close_status cs;
    if (sbx_close(sb, 0, &cs, &err) < 0) fprintf(stderr, "sbxrun: close: %s\n", err.msg);
    return rc;
}
