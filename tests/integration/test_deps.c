/*
 * test_deps.c — the dependency phase (src/deps.c) and the fake internet's forward mode under it.
 *
 * Fixtures are ours, made at test time: a dependency named node-gyp-build whose bin only prints a
 * line (our bytes, not the real package), packages that depend on it, tarballs and packuments
 * served by tests/tools/fakeregistry on 127.0.0.1. Nothing leaves loopback; host listeners on
 * other ports check that nothing but the registry is reached.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "b64.h"
#include "fakereg.h"
#include "sandbox.h"
#include "testutil.h"

struct fx {
    struct tu_dirs d;
    struct fakereg r;
    char cache[4200], home[4200];
};

/* ---- fixtures ----------------------------------------------------------------------------- */

/* tarballs/<name>-<version>.tgz with package.json = manifest_json (+ bin.js when bin_text).
 * Returns the packument's version entry (dist filled; tarball on the fake registry). */
static cJSON *make_version(struct fx *f, const char *name, const char *version, const char *manifest_json,
                           const char *bin_text, char *tgz_out, size_t tgz_sz)
{
    const char *files[] = {"bin.js", bin_text, NULL};
    cJSON *m = fakereg_version(&f->r, name, version, manifest_json, bin_text ? files : NULL);
    if (tgz_out)
        snprintf(tgz_out, tgz_sz, "%s/tarballs/%s-%s.tgz", f->r.dir, name[0] == '@' ? strchr(name, '/') + 1 : name, version);
    return m;
}

static void publish(struct fx *f, cJSON *version_entry)
{
    cJSON *p = fakereg_packument(cJSON_GetStringValue(cJSON_GetObjectItem(version_entry, "name")),
                                 cJSON_GetStringValue(cJSON_GetObjectItem(version_entry, "version")));
    fakereg_add_version(p, version_entry, "2020-01-01T00:00:00.000Z");
    fakereg_save(&f->r, p);
    cJSON_Delete(p);
}

static const char GYP_BIN[] = "#!/usr/bin/env node\nconsole.log('node-gyp-build stand-in: prebuild found');\n";

/* node-gyp-build@1.0.0 (our stand-in, with a bin) on the registry. */
static void publish_gyp(struct fx *f)
{
    publish(f, make_version(f, "node-gyp-build", "1.0.0", "{\"bin\":{\"node-gyp-build\":\"bin.js\"}}", GYP_BIN, NULL, 0));
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    tu_dirs_open(&f->d);
    fakereg_init(&f->r, f->d.out);
    snprintf(f->cache, sizeof f->cache, "%s/cache", f->d.out);
    snprintf(f->home, sizeof f->home, "%s/home", f->d.out);
    fakereg_client_env(f->home);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    fakereg_stop(&f->r);
    tu_dirs_close(&f->d);
    free(f);
    return 0;
}

/* analyze TGZ against the fake registry; the report, and its text in *text when asked. */
static cJSON *analyze2(struct fx *f, const char *tgz, const char *extra, const char *extra2, char **text)
{
    char report[4400];
    snprintf(report, sizeof report, "%s/report.json", f->d.out);
    unlink(report);
    const char *argv[16] = {tu_build("scriptbox"), "analyze", tgz, "--format", "json", "--output", report,
                            "--cache", f->cache, "--registry", f->r.url, "--fail-on", "critical"};
    int n = 13;
    if (extra) argv[n++] = extra;
    if (extra2) argv[n++] = extra2;
    argv[n] = NULL;
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    if (r.status != 0) fprintf(stderr, "status %d, stderr: %s\n", r.status, r.err);
    assert_int_equal(r.status, 0);
    tu_run_free(&r);
    if (text) *text = tu_read_file(report, NULL);
    return tu_read_json(report);
}

static cJSON *analyze(struct fx *f, const char *tgz, const char *extra, char **text)
{
    return analyze2(f, tgz, extra, NULL, text);
}

static const cJSON *phase(const cJSON *report, const char *name)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(report, "phases"))
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "name")), name)) return p;
    fail_msg("no phase %s", name);
    return NULL;
}

static const char *pstr(const cJSON *p, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(p, key));
    if (!s) fail_msg("phase field %s missing", key);
    return s;
}

static const char *out_text(const cJSON *p, const char *stream)
{
    const cJSON *o = cJSON_GetObjectItem(p, stream);
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, "text"));
    if (!s) s = cJSON_GetStringValue(o);
    if (!s) fail_msg("%s of the phase missing", stream);
    return s;
}

/* A host listener on 127.0.0.1 (another port than the registry's). */
static int host_listener(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 16), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
    *port = ntohs(a.sin_port);
    return s;
}

static void nothing_accepted(int s)
{
    int c = accept(s, NULL, NULL);
    if (c >= 0) fail_msg("the host listener was reached");
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    close(s);
}

/* ---- the dependency phase ----------------------------------------------------------------- */

/* install: "node-gyp-build" resolves: npm inside the sandbox installed it from the registry. */
static void dependency_bin_resolves(void **state)
{
    struct fx *f = *state;
    publish_gyp(f);
    char tgz[8800];
    /* A bin of its own: npm keeps a package folder only when its bin links exist (else it
     * renames the folder, a mount point here: EBUSY), so the phase makes them first. */
    cJSON_Delete(make_version(f, "native-thing", "2.0.0",
                              "{\"dependencies\":{\"node-gyp-build\":\"^1.0.0\"},\"devDependencies\":{\"not-there\":\"1\"},"
                              "\"bin\":{\"native-thing\":\"./index.js\",\"../evil\":\"index.js\"},"
                              "\"scripts\":{\"install\":\"node-gyp-build\"}}", NULL, tgz, sizeof tgz));
    fakereg_start(&f->r, NULL);
    int other_port, other = host_listener(&other_port);
    cJSON *j = analyze(f, tgz, NULL, NULL);
    assert_non_null(j);
    const cJSON *d = phase(j, "deps");
    assert_string_equal(pstr(d, "kind"), "deps");
    if (strcmp(pstr(d, "status"), "ok")) fail_msg("deps: %s", cJSON_PrintUnformatted(d));
    assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(d, "installed")), 1);
    const cJSON *fw = cJSON_GetObjectItem(d, "forwarded");
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(fw, "connections")) >= 1);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(fw, "bytes_received")) > 100);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "blocked")), 0);
    const cJSON *in = phase(j, "install");
    assert_string_equal(pstr(in, "status"), "ok");
    assert_non_null(strstr(out_text(in, "stdout"), "node-gyp-build stand-in: prebuild found"));
    assert_string_equal(pstr(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "phases"), 0), "name"), "deps");
    cJSON_Delete(j);
    size_t n;
    char *log = tu_read_file(f->r.log, &n);
    assert_non_null(log);
    assert_non_null(strstr(log, "GET /node-gyp-build "));
    assert_non_null(strstr(log, "GET /tarballs/node-gyp-build-1.0.0.tgz"));
    assert_null(strstr(log, "not-there"));   /* dev dependencies are not installed */
    free(log);
    nothing_accepted(other);
}

/* A dependency whose tarball is on another host: the phase fails and names it, nothing reached
 * it, and the scripts still ran. */
static void foreign_tarball_host_is_blocked(void **state)
{
    struct fx *f = *state;
    int other_port, other = host_listener(&other_port);
    cJSON *m = make_version(f, "stray-dep", "1.0.0", NULL, NULL, NULL, 0);
    char url[200];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/tarballs/stray-dep-1.0.0.tgz", other_port);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(m, "dist"), "tarball", cJSON_CreateString(url));
    publish(f, m);
    char tgz[8800];
    cJSON_Delete(make_version(f, "uses-stray", "1.0.0",
                              "{\"dependencies\":{\"stray-dep\":\"1.0.0\"},\"scripts\":{\"install\":\"echo ran-anyway\"}}",
                              NULL, tgz, sizeof tgz));
    fakereg_start(&f->r, NULL);
    cJSON *j = analyze(f, tgz, NULL, NULL);
    assert_non_null(j);
    const cJSON *d = phase(j, "deps");
    assert_string_equal(pstr(d, "status"), "failed");
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d", other_port);
    char *dtext = cJSON_PrintUnformatted(cJSON_GetObjectItem(d, "blocked"));
    if (!strstr(dtext, want)) fail_msg("blocked %s does not name %s", dtext, want);
    free(dtext);
    const cJSON *c;
    bool covered = false;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "coverage")) {
        const char *check = cJSON_GetStringValue(cJSON_GetObjectItem(c, "check"));
        if (check && !strcmp(check, "phase:deps")) {
            covered = true;
            assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(c, "reason")), want));
        }
    }
    assert_true(covered);
    const cJSON *in = phase(j, "install");
    assert_non_null(strstr(out_text(in, "stdout"), "ran-anyway"));
    cJSON_Delete(j);
    nothing_accepted(other);
}

static void no_deps_skips(void **state)
{
    struct fx *f = *state;
    publish_gyp(f);
    char tgz[8800];
    cJSON_Delete(make_version(f, "native-thing", "2.0.0",
                              "{\"dependencies\":{\"node-gyp-build\":\"^1.0.0\"},\"scripts\":{\"install\":\"node-gyp-build\"}}",
                              NULL, tgz, sizeof tgz));
    fakereg_start(&f->r, NULL);
    cJSON *j = analyze(f, tgz, "--no-deps", NULL);
    assert_non_null(j);
    const cJSON *d = phase(j, "deps");
    assert_string_equal(pstr(d, "status"), "skipped");
    assert_string_equal(pstr(d, "reason"), "--no-deps");
    assert_string_equal(pstr(phase(j, "install"), "status"), "failed");   /* node-gyp-build: not found */
    cJSON_Delete(j);
    j = analyze(f, tgz, "--offline", NULL);   /* npm's cache inside is empty: skipped, said so */
    assert_non_null(j);
    assert_string_equal(pstr(phase(j, "deps"), "status"), "skipped");
    assert_non_null(strstr(pstr(phase(j, "deps"), "reason"), "--offline"));
    cJSON_Delete(j);
    size_t n;
    char *log = tu_read_file(f->r.log, &n);
    assert_true(!log || !strstr(log, "node-gyp-build"));
    free(log);
}

/* The real token reaches npm (the registry demands it) but never the package's scripts. */
static void scripts_cannot_read_the_token(void **state)
{
    struct fx *f = *state;
    static const char TOKEN[] = "dep5-s3cret-t0ken-9f2c";
    publish_gyp(f);
    char tgz[8800];
    cJSON_Delete(make_version(f, "snoop", "1.0.0",
                              "{\"dependencies\":{\"node-gyp-build\":\"^1.0.0\"},\"scripts\":{\"install\":"
                              "\"env; ls -la /tmp; cat /tmp/.scriptbox-deps/npmrc; cat ~/.npmrc; "
                              "grep -rs dep5 /tmp /home /etc 2>/dev/null; for p in /proc/[0-9]*; do cat $p/environ; done "
                              "2>/dev/null | tr '\\\\0' '\\\\n'; echo snoop-done\"}}",
                              NULL, tgz, sizeof tgz));
    fakereg_start(&f->r, TOKEN);
    char rc[9000], path[4400];
    snprintf(rc, sizeof rc, "//127.0.0.1:%d/:_authToken=%s\n", f->r.port, TOKEN);
    snprintf(path, sizeof path, "%s/.npmrc", f->home);
    tu_write_text(path, rc);
    char *text = NULL;
    cJSON *j = analyze(f, tgz, NULL, &text);
    assert_non_null(j);
    const cJSON *d = phase(j, "deps");
    if (strcmp(pstr(d, "status"), "ok")) fail_msg("deps: %s", cJSON_PrintUnformatted(d));
    const cJSON *in = phase(j, "install");
    assert_non_null(strstr(out_text(in, "stdout"), "snoop-done"));
    assert_null(strstr(text, TOKEN));   /* not in anything the scripts printed, nor anywhere else */
    assert_null(strstr(text, "dep5-"));
    free(text);
    cJSON_Delete(j);
    size_t n;
    char *log = tu_read_file(f->r.log, &n);
    char want[200];
    snprintf(want, sizeof want, "auth=Bearer %s", TOKEN);
    assert_non_null(strstr(log, want));
    free(log);
}

/* A dependency under a scope with its own registry: both registries are forward targets, the
 * scope's token goes to the scope's registry only. */
static void scope_registry_is_forwarded(void **state)
{
    struct fx *f = *state;
    publish(f, make_version(f, "@corp/helper", "1.0.0", NULL, NULL, NULL, 0));
    char tgz[8800];
    cJSON_Delete(make_version(f, "uses-corp", "1.0.0",
                              "{\"dependencies\":{\"@corp/helper\":\"^1.0.0\"},\"scripts\":{\"install\":"
                              "\"test -f ../@corp/helper/package.json && echo corp-helper-there\"}}", NULL, tgz, sizeof tgz));
    fakereg_start(&f->r, "corp-t0ken");
    char rc[9000], path[4400];
    snprintf(rc, sizeof rc, "@corp:registry=%s\n//127.0.0.1:%d/:_authToken=corp-t0ken\n", f->r.url, f->r.port);
    snprintf(path, sizeof path, "%s/.npmrc", f->home);
    tu_write_text(path, rc);
    /* the default registry is a closed port on the host: only the scope's can answer */
    cJSON *j = analyze2(f, tgz, "--registry", "http://127.0.0.1:1/", NULL);
    assert_non_null(j);
    const cJSON *d = phase(j, "deps");
    if (strcmp(pstr(d, "status"), "ok")) fail_msg("deps: %s", cJSON_PrintUnformatted(d));
    assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(d, "installed")), 1);
    assert_non_null(strstr(out_text(phase(j, "install"), "stdout"), "corp-helper-there"));
    cJSON_Delete(j);
    size_t n;
    char *log = tu_read_file(f->r.log, &n);
    assert_non_null(strstr(log, "GET /@corp%2fhelper auth=Bearer corp-t0ken"));
    free(log);
}

/* --deps-scripts: the dependencies' own scripts run (npm rebuild), before the package's, and
 * their events carry the phase "deps:<name>"; without it they do not run. */
static void deps_scripts_run_attributed(void **state)
{
    struct fx *f = *state;
    publish(f, make_version(f, "busy-dep", "1.0.0",
                            "{\"scripts\":{\"postinstall\":\"echo dep-ran > $HOME/dep-marker; "
                            "node -e \\\"require('net').connect(4444, '203.0.113.9').on('error', () => {})\\\"\"}}",
                            NULL, NULL, 0));
    char tgz[8800], events[4400];
    cJSON_Delete(make_version(f, "needs-busy", "1.0.0",
                              "{\"dependencies\":{\"busy-dep\":\"1.0.0\"},\"scripts\":{\"install\":"
                              "\"cat $HOME/dep-marker || echo no-marker\"}}", NULL, tgz, sizeof tgz));
    fakereg_start(&f->r, NULL);
    cJSON *j = analyze(f, tgz, NULL, NULL);
    assert_non_null(j);
    assert_null(cJSON_GetObjectItem(phase(j, "deps"), "scripts"));
    assert_non_null(strstr(out_text(phase(j, "install"), "stdout"), "no-marker"));
    cJSON_Delete(j);
    snprintf(events, sizeof events, "--events=%s/events.jsonl", f->d.out);
    j = analyze2(f, tgz, "--deps-scripts", events, NULL);
    assert_non_null(j);
    const cJSON *sc = cJSON_GetObjectItem(phase(j, "deps"), "scripts");
    assert_non_null(sc);
    assert_string_equal(pstr(sc, "status"), "ok");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(sc, "packages"), 0)), "busy-dep");
    assert_non_null(strstr(out_text(phase(j, "install"), "stdout"), "dep-ran"));
    cJSON_Delete(j);
    size_t n;
    char *log = tu_read_file(events + 9, &n);
    assert_non_null(log);
    bool exec_seen = false, net_seen = false, npm_seen = false;
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *e = cJSON_Parse(line);
        if (!e) continue;
        const char *ph = cJSON_GetStringValue(cJSON_GetObjectItem(e, "phase"));
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(e, "kind"));
        if (ph && kind && !strcmp(ph, "deps:busy-dep")) {
            if (!strcmp(kind, "exec")) exec_seen = true;
            if (!strcmp(kind, "payload") && strstr(line, "203.0.113.9")) net_seen = true;
        }
        if (ph && !strcmp(ph, "deps")) npm_seen = true;   /* npm's own events stay out */
        cJSON_Delete(e);
    }
    free(log);
    assert_true(exec_seen);
    assert_true(net_seen);
    assert_false(npm_seen);
}

/* ---- forward mode through the libsbx API --------------------------------------------------- */

struct fwd_events {
    int forwarded, sunk;
    char last_sunk[160];
};

static void on_fwd_event(void *ctx, const struct sbx_event *ev)
{
    struct fwd_events *e = ctx;
    if (ev->kind != SBX_EV_PAYLOAD) return;
    if (!strcmp(ev->payload.proto, "forward")) e->forwarded++;
    else {
        e->sunk++;
        snprintf(e->last_sunk, sizeof e->last_sunk, "%s:%u", ev->addr.addr, ev->addr.port);
    }
}

/* A host server that answers "pong" to each connection. */
static pid_t pong_server(int *port)
{
    int s = host_listener(port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* dies with the test, even one that fails before killing it (it would hold the
         * suite's output pipe open in accept() forever) */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fl = fcntl(s, F_GETFL);
        fcntl(s, F_SETFL, fl & ~O_NONBLOCK);
        for (;;) {
            int c = accept(s, NULL, NULL);
            if (c < 0) continue;
            char buf[256];
            if (read(c, buf, sizeof buf) > 0 && write(c, "pong\n", 5) == 5) {}
            close(c);
        }
    }
    close(s);
    return pid;
}

static int run_in(struct sbx *sb, const char *script, char *out, size_t outsz)
{
    static const char *const env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", NULL};
    const char *argv[] = {"/bin/bash", "-c", script, NULL};
    struct sbx_command cmd = {.argv = argv, .envp = env, .cwd = "/tmp", .timeout_ms = 20000};
    struct sbx_status st;
    sbx_error err = {0};
    if (sbx_exec(sb, &cmd, &st, &err) < 0) fail_msg("sbx_exec: %s", err.msg);
    snprintf(out, outsz, "%s", st.out.data ? st.out.data : "");
    int code = st.exited ? st.exit_code : -1;
    sbx_status_free(&st);
    return code;
}

/* Only the allowed address:port is forwarded; the host's loopback on another port, another
 * address on the same port, and everything after forward mode is off are sunk. */
static void forward_mode_reaches_only_the_target(void **state)
{
    (void)state;
    int port, other_port;
    pid_t srv = pong_server(&port);
    int other = host_listener(&other_port);
    struct fwd_events e = {0};
    struct sbx_tmpfs tmp = {.sandbox_path = "/tmp"};
    struct sbx_config cfg = {.hostname = "fwdtest", .tmpfs = &tmp, .ntmpfs = 1, .on_event = on_fwd_event,
                             .event_ctx = &e};
    cfg.fakenet.enabled = 1;
    struct sbx *sb = NULL;
    sbx_error err = {0};
    if (sbx_open(&cfg, &sb, &err) < 0) fail_msg("sbx_open: %s", err.msg);
    struct sbx_forward t = {"127.0.0.1", (unsigned)port, "127.0.0.1", (unsigned)port};
    assert_int_equal(sbx_fakenet_forward(sb, &t, 1, 0, &err), 0);
    char script[600], out[4096];
    snprintf(script, sizeof script, "exec 3<>/dev/tcp/127.0.0.1/%d && echo ping >&3 && head -c 5 <&3", port);
    assert_int_equal(run_in(sb, script, out, sizeof out), 0);
    assert_string_equal(out, "pong\n");
    /* the host's loopback, another port: our sink */
    snprintf(script, sizeof script, "exec 3<>/dev/tcp/127.0.0.1/%d && echo ping >&3; timeout 3 cat <&3", other_port);
    run_in(sb, script, out, sizeof out);
    assert_null(strstr(out, "pong"));
    /* the same port on another address: our sink */
    snprintf(script, sizeof script, "exec 3<>/dev/tcp/127.0.0.2/%d && echo ping >&3; timeout 3 cat <&3", port);
    run_in(sb, script, out, sizeof out);
    assert_null(strstr(out, "pong"));
    assert_int_equal(sbx_fakenet_forward(sb, NULL, 0, 0, &err), 0);
    /* off: the target itself is sunk too */
    snprintf(script, sizeof script, "exec 3<>/dev/tcp/127.0.0.1/%d && echo ping >&3; timeout 3 cat <&3", port);
    run_in(sb, script, out, sizeof out);
    assert_null(strstr(out, "pong"));
    struct sbx_close_status cs;
    assert_int_equal(sbx_close(sb, 0, &cs, &err), 0);
    assert_int_equal(e.forwarded, 1);
    assert_int_equal(e.sunk, 3);
    kill(srv, SIGKILL);
    waitpid(srv, NULL, 0);
    nothing_accepted(other);
}

/* A name target: our DNS answers it as usual, connections to it are forwarded; another name on
 * the same port is sunk. */
static void forward_mode_by_name(void **state)
{
    (void)state;
    int port;
    pid_t srv = pong_server(&port);
    struct fwd_events e = {0};
    struct sbx_tmpfs tmp = {.sandbox_path = "/tmp"};
    struct sbx_config cfg = {.hostname = "fwdtest", .tmpfs = &tmp, .ntmpfs = 1, .on_event = on_fwd_event,
                             .event_ctx = &e};
    cfg.fakenet.enabled = 1;
    struct sbx *sb = NULL;
    sbx_error err = {0};
    if (sbx_open(&cfg, &sb, &err) < 0) fail_msg("sbx_open: %s", err.msg);
    struct sbx_forward t = {"mirror.example", (unsigned)port, "127.0.0.1", (unsigned)port};
    assert_int_equal(sbx_fakenet_forward(sb, &t, 1, 0, &err), 0);
    char script[600], out[4096];
    snprintf(script, sizeof script, "exec 3<>/dev/tcp/mirror.example/%d && echo ping >&3 && head -c 5 <&3", port);
    assert_int_equal(run_in(sb, script, out, sizeof out), 0);
    assert_string_equal(out, "pong\n");
    snprintf(script, sizeof script, "exec 3<>/dev/tcp/other.example/%d && echo ping >&3; timeout 3 cat <&3", port);
    run_in(sb, script, out, sizeof out);
    assert_null(strstr(out, "pong"));
    /* bad targets are refused */
    struct sbx_forward bad = {"mirror.example", (unsigned)port, "not-an-address", (unsigned)port};
    assert_int_equal(sbx_fakenet_forward(sb, &bad, 1, 0, &err), -1);
    assert_int_equal(err.kind, SBX_E_USAGE);
    struct sbx_close_status cs;
    assert_int_equal(sbx_close(sb, 0, &cs, &err), 0);
    assert_int_equal(e.forwarded, 1);
    assert_int_equal(e.sunk, 1);
    kill(srv, SIGKILL);
    waitpid(srv, NULL, 0);
}

int main(void)
{
    srand((unsigned)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_mode_reaches_only_the_target),
        cmocka_unit_test(forward_mode_by_name),
        cmocka_unit_test_setup_teardown(dependency_bin_resolves, setup, teardown),
        cmocka_unit_test_setup_teardown(foreign_tarball_host_is_blocked, setup, teardown),
        cmocka_unit_test_setup_teardown(no_deps_skips, setup, teardown),
        cmocka_unit_test_setup_teardown(scripts_cannot_read_the_token, setup, teardown),
        cmocka_unit_test_setup_teardown(scope_registry_is_forwarded, setup, teardown),
        cmocka_unit_test_setup_teardown(deps_scripts_run_attributed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
