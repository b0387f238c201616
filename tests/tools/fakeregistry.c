/*
 * fakeregistry.c — a tiny npm registry for tests: HTTP/1.1 on 127.0.0.1, ephemeral port.
 * Host-side test tool; never reachable from anywhere but loopback.
 *
 * Usage: fakeregistry DIR [--token TOKEN] [--log FILE]
 * Prints the port on stdout (one line), then serves until killed. One process per connection.
 *
 *   GET /-/npm/v1/keys        DIR/keys.json
 *   GET /tarballs/FILE        DIR/tarballs/FILE (bytes as stored)
 *   GET /files/FILE           DIR/files/FILE    (attestation bundles, anything else)
 *   GET /-/downloads/range/last-month/NAME   DIR/downloads/NAME.json (a downloads API)
 *   GET /NAME                 DIR/NAME.json     (a packument; scoped: "@s%2fn.json")
 * In JSON files "{{REGISTRY}}" becomes "http://127.0.0.1:PORT".
 *
 * --token: every request must carry "Authorization: Bearer TOKEN", else 401.
 * --log:   one line per request: "GET /path auth=<Authorization|-> accept=<Accept|->".
 * It also answers as an HTTP proxy would: a request for "http://any-host/path" is served as
 * "/path" (the log keeps the absolute URL), so tests can check that proxies from the
 * environment are used without resolving any name.
 *
 * Faults, by a path containing "fault-KIND" or a query "fault=KIND":
 *   500       HTTP 500 every time          flaky     HTTP 500 the first time for that path
 *   hang      sleep 120 s before answering truncate  half the body, then close
 *   badlen    Content-Length larger than the body, then close
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *dir, *token, *logpath;
static int port;

static void send_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void respond(int fd, int status, const char *ctype, const char *body, size_t len, long claimed, size_t send_len)
{
    char hdr[512];
    const char *reason = status == 200 ? "OK" : status == 404 ? "Not Found" : status == 401 ? "Unauthorized" : "Error";
    int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %ld\r\nConnection: close\r\n\r\n",
                     status, reason, ctype, claimed >= 0 ? claimed : (long)len);
    send_all(fd, hdr, (size_t)n);
    send_all(fd, body, send_len < len ? send_len : len);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 65536, n = 0;
    char *b = malloc(cap + 1);
    size_t r;
    while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            char *nb = realloc(b, cap + 1);
            if (!nb) free(b);
            b = nb;
        }
    }
    fclose(f);
    if (b) b[n] = 0;
    *len = n;
    return b;
}

/* Replace every {{REGISTRY}} with our base URL. */
static char *substitute(const char *in, size_t *len)
{
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    const char *tag = "{{REGISTRY}}";
    size_t cap = *len * 2 + 64, w = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    for (const char *p = in; *p;) {
        const char *hit = strstr(p, tag);
        size_t chunk = hit ? (size_t)(hit - p) : strlen(p);
        size_t need = w + chunk + strlen(base) + 1;
        if (need > cap) {
            while (need > cap) cap *= 2;
            char *nout = realloc(out, cap);
            if (!nout) {
                free(out);
                return NULL;
            }
            out = nout;
        }
        memcpy(out + w, p, chunk);
        w += chunk;
        if (!hit) break;
        memcpy(out + w, base, strlen(base));
        w += strlen(base);
        p = hit + strlen(tag);
    }
    out[w] = 0;
    *len = w;
    return out;
}

static const char *header(const char *req, const char *name, char *out, size_t outsz)
{
    const char *p = req;
    size_t nl = strlen(name);
    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (!strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ') v++;
            size_t vl = strcspn(v, "\r\n");
            snprintf(out, outsz, "%.*s", (int)vl, v);
            return out;
        }
    }
    return NULL;
}

static bool safe_segment(const char *s)
{
    return *s && !strstr(s, "..") && !strchr(s, '/');
}

static void serve(int fd)
{
    char req[65536];
    size_t n = 0;
    while (n < sizeof req - 1) {
        ssize_t r = read(fd, req + n, sizeof req - 1 - n);
        if (r <= 0) return;
        n += (size_t)r;
        req[n] = 0;
        if (strstr(req, "\r\n\r\n")) break;
    }
    char method[16], target[4096];
    if (sscanf(req, "%15s %4095s", method, target) != 2) return;
    char auth[1024], accept[256], line[6000];
    const char *a = header(req, "Authorization", auth, sizeof auth);
    const char *ac = header(req, "Accept", accept, sizeof accept);
    if (logpath) {
        int lf = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (lf >= 0) {
            int l = snprintf(line, sizeof line, "%s %s auth=%s accept=%s\n", method, target, a ? a : "-", ac ? ac : "-");
            send_all(lf, line, (size_t)l);
            close(lf);
        }
    }
    if (!strncmp(target, "http://", 7)) {   /* proxy form: drop scheme and host */
        char *path = strchr(target + 7, '/');
        memmove(target, path ? path : "/", strlen(path ? path : "/") + 1);
    }
    char *q = strchr(target, '?');
    const char *query = q ? q + 1 : "";
    if (q) *q = 0;
    char fault[32] = "";
    const char *fq = strstr(query, "fault="), *fp = strstr(target, "fault-");
    if (fq) sscanf(fq + 6, "%31[a-z0-9]", fault);
    else if (fp) sscanf(fp + 6, "%31[a-z0-9]", fault);
    if (token) {
        char want[1100];
        snprintf(want, sizeof want, "Bearer %s", token);
        if (!a || strcmp(a, want)) {
            respond(fd, 401, "application/json", "{\"error\":\"auth required\"}", 25, -1, 25);
            return;
        }
    }
    if (!strcmp(fault, "500")) {
        respond(fd, 500, "text/plain", "boom", 4, -1, 4);
        return;
    }
    if (!strcmp(fault, "flaky")) {
        char marker[4200];
        snprintf(marker, sizeof marker, "%s/.flaky-", dir);
        size_t ml = strlen(marker);
        for (const char *p = target; *p && ml < sizeof marker - 1; p++) marker[ml++] = (*p == '/' || *p == '.') ? '_' : *p;
        marker[ml] = 0;
        int mf = open(marker, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (mf >= 0) {
            close(mf);
            respond(fd, 500, "text/plain", "flaky", 5, -1, 5);
            return;
        }
    }
    if (!strcmp(fault, "hang")) sleep(120);
    char path[8400];
    bool json = true;
    if (!strcmp(target, "/-/npm/v1/keys")) snprintf(path, sizeof path, "%s/keys.json", dir);
    else if (!strncmp(target, "/tarballs/", 10) && safe_segment(target + 10)) {
        snprintf(path, sizeof path, "%s/tarballs/%s", dir, target + 10);
        json = false;
    } else if (!strncmp(target, "/files/", 7) && safe_segment(target + 7)) snprintf(path, sizeof path, "%s/files/%s", dir, target + 7);
    else if (!strncmp(target, "/-/downloads/range/last-month/", 30) && safe_segment(target + 30))
        snprintf(path, sizeof path, "%s/downloads/%s.json", dir, target + 30);
    else if (target[0] == '/' && safe_segment(target + 1)) snprintf(path, sizeof path, "%s/%s.json", dir, target + 1);
    else path[0] = 0;
    size_t len = 0;
    char *body = path[0] ? read_file(path, &len) : NULL;
    if (!body) {
        respond(fd, 404, "application/json", "{\"error\":\"Not found\"}", 21, -1, 21);
        return;
    }
    if (json) {
        char *s = substitute(body, &len);
        free(body);
        body = s;
        if (!body) return;
    }
    const char *ctype = json ? "application/json" : "application/octet-stream";
    if (!strcmp(fault, "truncate")) respond(fd, 200, ctype, body, len, (long)len, len / 2);
    else if (!strcmp(fault, "badlen")) respond(fd, 200, ctype, body, len, (long)len + 100, len);
    else respond(fd, 200, ctype, body, len, -1, len);
    free(body);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fakeregistry DIR [--token TOKEN] [--log FILE]\n");
        return 2;
    }
    dir = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--token")) token = argv[i + 1];
        else if (!strcmp(argv[i], "--log")) logpath = argv[i + 1];
    }
    signal(SIGCHLD, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 64) < 0 ||
        getsockname(s, (struct sockaddr *)&sa, &sl) < 0) {
        perror("fakeregistry");
        return 1;
    }
    port = ntohs(sa.sin_port);
    printf("%d\n", port);
    fflush(stdout);
    for (;;) {
        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            close(s);
            serve(c);
            shutdown(c, SHUT_WR);
            close(c);
            _exit(0);
        }
        close(c);
    }
}
