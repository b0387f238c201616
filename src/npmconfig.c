#include "npmconfig.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { NPMRC_MAX_BYTES = 1024 * 1024 };

static int add_entry(struct npmconfig *c, const char *key, size_t klen, const char *value, const char *origin)
{
    /* Within one source a later line wins, as npm's ini parser assigns keys in order. */
    for (size_t i = 0; i < c->n; i++)
        if (c->e[i].origin == origin && strlen(c->e[i].key) == klen && !strncmp(c->e[i].key, key, klen)) {
            char *v = strdup(value);
            if (!v) return -1;
            free(c->e[i].value);
            c->e[i].value = v;
            return 0;
        }
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 32;
        struct npmrc_entry *ne = realloc(c->e, ncap * sizeof *ne);
        if (!ne) return -1;
        c->e = ne;
        c->cap = ncap;
    }
    struct npmrc_entry *e = &c->e[c->n];
    e->key = strndup(key, klen);
    e->value = strdup(value);
    e->origin = origin;
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        return -1;
    }
    c->n++;
    return 0;
}

void npmconfig_free(struct npmconfig *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].key);
        free(c->e[i].value);
    }
    free(c->e);
    c->e = NULL;
    c->n = c->cap = 0;
}

const char *npmconfig_get(const struct npmconfig *c, const char *key, const char **origin)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->e[i].key, key)) {
            if (origin) *origin = c->e[i].origin;
            return c->e[i].value;
        }
    return NULL;
}

/* ---- ini --------------------------------------------------------------------------------- */

char *npmconfig_env_expand(const char *s)
{
    size_t cap = strlen(s) + 1, len = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    for (const char *p = s; *p;) {
        const char *add = p;
        size_t addlen = 1;
        const char *next = p + 1;
        if (p[0] == '\\' && p[1] == '$' && p[2] == '{') {   /* \${X}: literal */
            add = p + 1;
            addlen = 1;
            next = p + 2;
        } else if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            size_t nlen = end ? (size_t)(end - p - 2) : 0;
            if (end && nlen > 0 && nlen < 256 && !memchr(p + 2, '$', nlen) && !memchr(p + 2, '{', nlen)) {
                char name[256];
                memcpy(name, p + 2, nlen);
                name[nlen] = 0;
                bool optional = name[nlen - 1] == '?';
                if (optional) name[nlen - 1] = 0;
                const char *val = getenv(name);
                if (val || optional) {
                    add = val ? val : "";
                    addlen = strlen(add);
                } else {
                    add = p;
                    addlen = nlen + 3;
                }
                next = end + 1;
            }
        }
        if (len + addlen + 1 > cap) {
            while (len + addlen + 1 > cap) cap *= 2;
            char *n = realloc(out, cap);
            if (!n) {
                free(out);
                return NULL;
            }
            out = n;
        }
        memcpy(out + len, add, addlen);
        len += addlen;
        p = next;
    }
    out[len] = 0;
    return out;
}

static void trim(char **b, char **e)
{
    while (*b < *e && isspace((unsigned char)**b)) (*b)++;
    while (*e > *b && isspace((unsigned char)(*e)[-1])) (*e)--;
}

/* The value as the `ini` package decodes it: quoted → the inside (JSON-unescaped for "…");
 * unquoted → cut at an unescaped ; or #, with \; \# unescaped. */
static char *ini_value(char *b, char *e)
{
    trim(&b, &e);
    size_t n = (size_t)(e - b);
    if (n >= 2 && ((b[0] == '"' && e[-1] == '"') || (b[0] == '\'' && e[-1] == '\''))) {
        char *v = malloc(n);
        if (!v) return NULL;
        size_t w = 0;
        for (char *p = b + 1; p < e - 1; p++) {
            if (b[0] == '"' && *p == '\\' && p + 1 < e - 1) {
                p++;
                switch (*p) {
                case 'n': v[w++] = '\n'; break;
                case 't': v[w++] = '\t'; break;
                default: v[w++] = *p; break;
                }
            } else {
                v[w++] = *p;
            }
        }
        v[w] = 0;
        return v;
    }
    char *v = malloc(n + 1);
    if (!v) return NULL;
    size_t w = 0;
    for (char *p = b; p < e; p++) {
        if (*p == '\\' && p + 1 < e && strchr("\\;#", p[1])) {
            v[w++] = p[1];
            p++;
            continue;
        }
        if (*p == ';' || *p == '#') break;
        v[w++] = *p;
    }
    while (w && isspace((unsigned char)v[w - 1])) w--;
    v[w] = 0;
    return v;
}

int npmconfig_parse_ini(struct npmconfig *c, const char *text, const char *origin)
{
    char *copy = strdup(text);
    if (!copy) return -1;
    bool in_section = false;
    int rc = 0;
    for (char *line = copy, *next; line && rc == 0; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        char *b = line, *e = line + strlen(line);
        trim(&b, &e);
        if (b == e || *b == ';' || *b == '#') continue;
        if (*b == '[') {               /* npm reads only the top level */
            in_section = true;
            continue;
        }
        if (in_section) continue;
        char *eq = memchr(b, '=', (size_t)(e - b));
        char *kb = b, *ke = eq ? eq : e;
        trim(&kb, &ke);
        if (kb == ke) continue;
        char *raw = eq ? ini_value(eq + 1, e) : strdup("true");
        if (!raw) {
            free(copy);
            return -1;
        }
        char *val = npmconfig_env_expand(raw);
        free(raw);
        /* keys may carry ${VAR} too ("//${HOST}/:_authToken") */
        char *key = strndup(kb, (size_t)(ke - kb));
        char *xkey = key ? npmconfig_env_expand(key) : NULL;
        if (!val || !xkey) rc = -1;
        else rc = add_entry(c, xkey, strlen(xkey), val, origin);
        free(key);
        free(xkey);
        free(val);
    }
    free(copy);
    return rc;
}

static int load_file(struct npmconfig *c, const char *path, const char *origin, struct sb_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return 0;
        return sb_fail(err, SB_EXIT_INPUT, "npmrc", errno, "cannot read npm config %s: %s; fix: make it readable or remove it",
                       path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > NPMRC_MAX_BYTES) {
        close(fd);
        return sb_fail(err, SB_EXIT_INPUT, "npmrc", 0, "npm config %s is not a regular file of at most 1 MiB", path);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    ssize_t n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
    close(fd);
    if (n < 0) {
        free(buf);
        return sb_fail(err, SB_EXIT_INPUT, "npmrc", errno, "cannot read npm config %s", path);
    }
    buf[n] = 0;
    int rc = npmconfig_parse_ini(c, buf, origin);
    free(buf);
    if (rc < 0) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory reading %s", path);
    return 0;
}

static bool exists_at(const char *dir, const char *name)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* npm's localPrefix: the nearest folder up from cwd with package.json or node_modules. */
static void find_project_rc(const char *cwd, char *out, size_t outsz)
{
    char dir[PATH_MAX];
    out[0] = 0;
    if (cwd) snprintf(dir, sizeof dir, "%s", cwd);
    else if (!getcwd(dir, sizeof dir)) return;
    for (;;) {
        if (exists_at(dir, "package.json") || exists_at(dir, "node_modules")) {
            snprintf(out, outsz, "%s/.npmrc", strcmp(dir, "/") ? dir : "");
            return;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir) break;
        *slash = 0;
    }
    /* none found: npm uses cwd itself */
    if (cwd) snprintf(out, outsz, "%s/.npmrc", cwd);
    else if (getcwd(dir, sizeof dir)) snprintf(out, outsz, "%s/.npmrc", dir);
}

static int load_env(struct npmconfig *c)
{
    for (char **ep = environ; *ep; ep++) {
        if (strncasecmp(*ep, "npm_config_", 11)) continue;
        const char *k = *ep + 11, *eq = strchr(k, '=');
        if (!eq || !eq[1] || eq == k) continue;
        char key[512];
        size_t n = (size_t)(eq - k);
        if (n >= sizeof key) continue;
        memcpy(key, k, n);
        key[n] = 0;
        if (strncmp(key, "//", 2)) {
            for (size_t i = 0; i < n; i++) {
                if (i > 0 && key[i] == '_') key[i] = '-';
                key[i] = (char)tolower((unsigned char)key[i]);
            }
        }
        if (add_entry(c, key, n, eq + 1, "env") < 0) return -1;
    }
    return 0;
}

int npmconfig_load(struct npmconfig *c, const struct npmconfig_opts *o, struct sb_error *err)
{
    memset(c, 0, sizeof *c);
    if (o->cli_registry && add_entry(c, "registry", 8, o->cli_registry, "cli") < 0) goto oom;
    if (load_env(c) < 0) goto oom;
    find_project_rc(o->cwd, c->project_rc, sizeof c->project_rc);
    /* env entries were just added: read userconfig/globalconfig overrides from them */
    char user[PATH_MAX], global[PATH_MAX];
    const char *uc = npmconfig_get(c, "userconfig", NULL), *gc = npmconfig_get(c, "globalconfig", NULL);
    const char *home = getenv("HOME");
    if (uc) snprintf(user, sizeof user, "%s", uc);
    else snprintf(user, sizeof user, "%s/.npmrc", home ? home : "/nonexistent");
    if (c->project_rc[0] && strcmp(c->project_rc, user) && load_file(c, c->project_rc, "project", err) < 0) goto fail;
    if (load_file(c, user, "user", err) < 0) goto fail;
    if (gc) {
        snprintf(global, sizeof global, "%s", gc);
        if (load_file(c, global, "global", err) < 0) goto fail;
    } else {
        const char *prefix = npmconfig_get(c, "prefix", NULL);
        if (prefix) {
            snprintf(global, sizeof global, "%s/etc/npmrc", prefix);
            if (load_file(c, global, "global", err) < 0) goto fail;
        }
        if (load_file(c, "/usr/etc/npmrc", "global", err) < 0) goto fail;
        if (load_file(c, "/etc/npmrc", "global", err) < 0) goto fail;
    }
    return 0;
oom:
    sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory reading npm config");
fail:
    npmconfig_free(c);
    return -1;
}

/* ---- asking npm --------------------------------------------------------------------------- */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* `npm config get registry` with a timeout; 0 and out filled on success. */
static int ask_npm(const struct npmconfig_opts *o, char *out, size_t outsz)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    const char *npm = o->npm_bin ? o->npm_bin : "npm";
    if (pid == 0) {
        setpgid(0, 0);
        dup2(p[1], 1);
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 2);
        }
        if (o->cwd && chdir(o->cwd) < 0) _exit(127);
        execlp(npm, npm, "config", "get", "registry", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0;
    uint64_t deadline = mono_ms() + (o->npm_timeout_s ? o->npm_timeout_s : 5) * 1000ull;
    bool timed_out = false;
    for (;;) {
        uint64_t now = mono_ms();
        if (now >= deadline) {
            timed_out = true;
            break;
        }
        struct pollfd pf = {p[0], POLLIN, 0};
        int pr = poll(&pf, 1, (int)(deadline - now));
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) {
            timed_out = pr == 0;
            break;
        }
        ssize_t n = read(p[0], out + len, outsz - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
        if (len >= outsz - 1) break;
    }
    close(p[0]);
    if (timed_out) kill(-pid, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    out[len] = 0;
    char *nl = strpbrk(out, "\r\n");
    if (nl) *nl = 0;
    if (timed_out || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
    if (strncmp(out, "http://", 7) && strncmp(out, "https://", 8)) return -1;
    return 0;
}

static void with_slash(const char *in, char *out, size_t outsz)
{
    size_t n = strlen(in);
    snprintf(out, outsz, "%s%s", in, n && in[n - 1] == '/' ? "" : "/");
}

int npmconfig_registry_for(const struct npmconfig *c, const struct npmconfig_opts *o, const char *name,
                           char *out, size_t outsz, const char **origin, struct sb_error *err)
{
    const char *v = NULL;
    if (name[0] == '@') {
        const char *slash = strchr(name, '/');
        char key[300];
        if (slash && (size_t)(slash - name) < 200) {
            snprintf(key, sizeof key, "%.*s:registry", (int)(slash - name), name);
            v = npmconfig_get(c, key, origin);
        }
    }
    if (!v) v = npmconfig_get(c, "registry", origin);
    if (v) {
        if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
            return sb_fail(err, SB_EXIT_INPUT, "registry-config", 0,
                           "registry '%s' is not an http(s) URL; fix: correct --registry or the registry= line in your .npmrc", v);
        with_slash(v, out, outsz);
        return 0;
    }
    char got[2048];
    if (o->npm_bin && !o->npm_bin[0])
        return sb_fail(err, SB_EXIT_INPUT, "registry-config", 0,
                       "no registry configured; fix: pass --registry URL or set registry= in .npmrc");
    if (ask_npm(o, got, sizeof got) < 0)
        return sb_fail(err, SB_EXIT_INPUT, "registry-config", 0,
                       "no registry configured and 'npm config get registry' gave none (npm missing, failing or slow); "
                       "fix: pass --registry URL or set registry= in .npmrc");
    with_slash(got, out, outsz);
    if (origin) *origin = "npm";
    return 0;
}

/* ---- auth --------------------------------------------------------------------------------- */

int npmconfig_nerf_dart(const char *url, char *out, size_t outsz)
{
    const char *p = strstr(url, "://");
    if (!p) return -1;
    p += 3;
    const char *host_end = p + strcspn(p, "/?#");
    const char *at = memchr(p, '@', (size_t)(host_end - p));
    if (at) p = at + 1;
    const char *path_end = host_end + strcspn(host_end, "?#");
    /* the path up to its last "/" (npm drops the last segment: it is a file, or empty) */
    const char *last = path_end;
    while (last > host_end && last[-1] != '/') last--;
    int n;
    if (last == host_end) n = snprintf(out, outsz, "//%.*s/", (int)(host_end - p), p);
    else n = snprintf(out, outsz, "//%.*s%.*s", (int)(host_end - p), p, (int)(last - host_end), host_end);
    if (n < 0 || (size_t)n >= outsz) return -1;
    for (char *q = out + 2; *q && *q != '/'; q++) *q = (char)tolower((unsigned char)*q);
    return 0;
}

const char *npmconfig_auth_for(const struct npmconfig *c, const char *url, char *buf, size_t bufsz)
{
    char nerf[2048], key[2100];
    if (npmconfig_nerf_dart(url, nerf, sizeof nerf) < 0) return NULL;
    /* walk up: //h/a/b/ → //h/a/ → //h/ */
    for (;;) {
        snprintf(key, sizeof key, "%s:_authToken", nerf);
        const char *tok = npmconfig_get(c, key, NULL);
        if (tok && *tok) {
            snprintf(buf, bufsz, "Bearer %s", tok);
            return buf;
        }
        snprintf(key, sizeof key, "%s:_auth", nerf);
        tok = npmconfig_get(c, key, NULL);
        if (tok && *tok) {
            snprintf(buf, bufsz, "Basic %s", tok);
            return buf;
        }
        size_t n = strlen(nerf);
        if (n < 3) break;
        char *prev = nerf + n - 2;
        while (prev > nerf + 2 && *prev != '/') prev--;
        if (prev <= nerf + 2) break;
        prev[1] = 0;
    }
    return NULL;
}
