/*
 * manifest.c — read and validate a package's package.json (see manifest.h).
 *
 * The input is hostile. Bounds: 1 MiB, nesting depth 64 (checked on the raw bytes before cJSON
 * recurses), no NUL bytes, no \u0000 escapes (C strings would silently cut them where JavaScript
 * keeps them). Objects with duplicate keys are reduced to what JSON.parse keeps (the last value,
 * at the first key's position), so we see the same scripts npm would run.
 */
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

enum {
    MANIFEST_MAX_BYTES = 1024 * 1024,
    MANIFEST_MAX_DEPTH = 64,
    NAME_MAX_LEN = 214,           /* npm's limit */
    VERSION_MAX_LEN = 256,
    KEY_SHOWN_MAX = 64,           /* how much of a hostile key an error message quotes */
};

static int bad_manifest(struct sb_error *err, int sys_errno, const char *what)
{
    return sb_fail(err, SB_EXIT_INPUT, "bad-manifest", sys_errno, "package.json: %s", what);
}

/* ---- reading ---------------------------------------------------------------------------- */

static int open_manifest(int pkg_dirfd, struct sb_error *err)
{
    int fd = openat(pkg_dirfd, "package.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0) return fd;
    if (errno == ELOOP) return bad_manifest(err, errno, "is a symbolic link; refused");
    if (errno == ENOENT) return bad_manifest(err, errno, "missing from the package folder");
    return sb_fail(err, SB_EXIT_INPUT, "bad-manifest", errno, "package.json: cannot open: %s",
                   strerror(errno));
}

/* Read at most MANIFEST_MAX_BYTES + 1 bytes: a file that grows after fstat is still bounded. */
static char *read_bounded(int fd, size_t *len, struct sb_error *err)
{
    char *buf = malloc(MANIFEST_MAX_BYTES + 2);
    if (!buf) { bad_manifest(err, ENOMEM, "out of memory"); return NULL; }
    size_t n = 0;
    while (n <= MANIFEST_MAX_BYTES) {
        ssize_t r = read(fd, buf + n, MANIFEST_MAX_BYTES + 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            sb_fail(err, SB_EXIT_INPUT, "bad-manifest", errno, "package.json: read failed: %s",
                    strerror(errno));
            free(buf);
            return NULL;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    if (n > MANIFEST_MAX_BYTES) {
        sb_fail(err, SB_EXIT_INPUT, "bad-manifest", 0, "package.json: larger than %d bytes",
                MANIFEST_MAX_BYTES);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static char *read_manifest_file(int pkg_dirfd, size_t *len, struct sb_error *err)
{
    int fd = open_manifest(pkg_dirfd, err);
    if (fd < 0) return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) != 0) bad_manifest(err, errno, "cannot stat");
    else if (!S_ISREG(st.st_mode)) bad_manifest(err, 0, "is not a regular file");
    else if (st.st_size > MANIFEST_MAX_BYTES)
        sb_fail(err, SB_EXIT_INPUT, "bad-manifest", 0,
                "package.json: %lld bytes, larger than the %d byte limit",
                (long long)st.st_size, MANIFEST_MAX_BYTES);
    else buf = read_bounded(fd, len, err);
    close(fd);
    return buf;
}

/* ---- checks on the raw text ------------------------------------------------------------- */

static bool is_nul_escape(const char *p, const char *end)
{
    /* p points just past a backslash inside a string: "u0000"? */
    return end - p >= 5 && p[0] == 'u' && memcmp(p + 1, "0000", 4) == 0;
}

/* Nesting depth and \u0000 escapes, outside and inside strings respectively. Runs before cJSON
 * so that hostile nesting never reaches a recursive parser. */
static int scan_raw(const char *s, size_t len, struct sb_error *err)
{
    const char *p = s, *end = s + len;
    unsigned depth = 0;
    bool in_string = false;
    for (; p < end; p++) {
        if (in_string) {
            if (*p == '\\') {
                if (p + 1 < end && is_nul_escape(p + 1, end))
                    return bad_manifest(err, 0, "contains an escaped NUL character (\\u0000)");
                p++;                       /* skip the escaped character */
            } else if (*p == '"') {
                in_string = false;
            }
        } else if (*p == '"') {
            in_string = true;
        } else if (*p == '[' || *p == '{') {
            if (++depth > MANIFEST_MAX_DEPTH)
                return sb_fail(err, SB_EXIT_INPUT, "bad-manifest", 0,
                               "package.json: nested deeper than %d levels", MANIFEST_MAX_DEPTH);
        } else if ((*p == ']' || *p == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

/* ---- duplicate keys: keep what JSON.parse keeps ----------------------------------------- */

struct keyed { cJSON *item; size_t pos; };

static int keyed_cmp(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    int c = strcmp(x->item->string, y->item->string);
    if (c) return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* In one object: for each key seen more than once, the last value replaces the first (keeping
 * the first position, as in JavaScript) and the ones between are dropped. */
static int dedupe_object(cJSON *obj)
{
    size_t n = 0;
    for (cJSON *c = obj->child; c; c = c->next) n++;
    if (n < 2) return 0;
    struct keyed *v = malloc(n * sizeof *v);
    if (!v) return -1;
    size_t i = 0;
    for (cJSON *c = obj->child; c; c = c->next, i++) v[i] = (struct keyed){c, i};
    qsort(v, n, sizeof *v, keyed_cmp);
    for (i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && strcmp(v[j].item->string, v[i].item->string) == 0) j++;
        if (j - i > 1) {
            for (size_t k = i + 1; k + 1 < j; k++) cJSON_Delete(cJSON_DetachItemViaPointer(obj, v[k].item));
            cJSON *last = cJSON_DetachItemViaPointer(obj, v[j - 1].item);
            cJSON_ReplaceItemViaPointer(obj, v[i].item, last);
        }
        i = j;
    }
    free(v);
    return 0;
}

/* Whole tree; recursion is bounded by the depth check done on the raw text. */
static int dedupe_tree(cJSON *node)
{
    if (cJSON_IsObject(node) && dedupe_object(node) != 0) return -1;
    for (cJSON *c = node->child; c; c = c->next)
        if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && dedupe_tree(c) != 0) return -1;
    return 0;
}

/* ---- names ------------------------------------------------------------------------------ */

/* Characters encodeURIComponent leaves alone, i.e. npm's "URL-friendly". */
static bool url_safe_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return c != 0 && strchr("-_.!~*'()", c) != NULL;
}

/* One path segment of a name: non-empty, URL-safe, not starting with '.' or '_'. */
static bool valid_name_part(const char *s, size_t len)
{
    if (len == 0 || s[0] == '.' || s[0] == '_') return false;
    for (size_t i = 0; i < len; i++)
        if (!url_safe_char((unsigned char)s[i])) return false;
    return true;
}

bool manifest_valid_name(const char *name)
{
    if (!name) return false;
    size_t len = strnlen(name, NAME_MAX_LEN + 1);
    if (len == 0 || len > NAME_MAX_LEN || strstr(name, "..")) return false;
    /* npm's blacklist; as folder names they would also confuse node_modules layouts. */
    if (strcasecmp(name, "node_modules") == 0 || strcasecmp(name, "favicon.ico") == 0) return false;
    if (name[0] != '@') return valid_name_part(name, len);
    const char *slash = strchr(name, '/');
    if (!slash) return false;
    const char *pkg = slash + 1;
    return valid_name_part(name + 1, (size_t)(slash - name - 1)) &&
           valid_name_part(pkg, len - (size_t)(pkg - name));
}

/* ---- fields ----------------------------------------------------------------------------- */

/* A key, shortened and with non-printable bytes escaped, for an error message. */
static void describe_key(const char *key, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; key[i] && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)key[i];
        if (i >= KEY_SHOWN_MAX) { memcpy(out + o, "...", 3); o += 3; break; }
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else out[o++] = (char)c;
    }
    out[o] = 0;
}

static bool printable_text(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return false;
    return true;
}

static int check_name(struct manifest *m, struct sb_error *err)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(m->json, "name");
    if (!cJSON_IsString(name)) return bad_manifest(err, 0, "\"name\" is missing or not a string");
    if (!manifest_valid_name(name->valuestring)) {
        char shown[KEY_SHOWN_MAX * 4 + 8];
        describe_key(name->valuestring, shown, sizeof shown);
        return sb_fail(err, SB_EXIT_INPUT, "bad-manifest", 0,
                       "package.json: \"name\" is not a valid npm package name: \"%s\"", shown);
    }
    m->name = name->valuestring;
    return 0;
}

static int check_version(struct manifest *m, struct sb_error *err)
{
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(m->json, "version");
    if (!cJSON_IsString(version)) return bad_manifest(err, 0, "\"version\" is missing or not a string");
    const char *v = version->valuestring;
    if (!*v || strnlen(v, VERSION_MAX_LEN + 1) > VERSION_MAX_LEN || !printable_text(v))
        return bad_manifest(err, 0, "\"version\" is empty, too long or has control characters");
    m->version = v;
    return 0;
}

static int check_scripts(struct manifest *m, struct sb_error *err)
{
    const cJSON *scripts = cJSON_GetObjectItemCaseSensitive(m->json, "scripts");
    if (!scripts) return 0;
    if (!cJSON_IsObject(scripts)) return bad_manifest(err, 0, "\"scripts\" is not an object");
    for (const cJSON *s = scripts->child; s; s = s->next) {
        if (cJSON_IsString(s)) continue;
        char shown[KEY_SHOWN_MAX * 4 + 8];
        describe_key(s->string, shown, sizeof shown);
        return sb_fail(err, SB_EXIT_INPUT, "bad-manifest", 0,
                       "package.json: script \"%s\" is not a string", shown);
    }
    m->scripts = scripts;
    return 0;
}

/* npm stat()s binding.gyp, following symlinks: a package can ship it as a link to a file of its
 * own and npm still runs node-gyp. We follow links too, but only beneath the package folder
 * (RESOLVE_BENEATH; O_PATH opens nothing for reading). Kernels without openat2: no links. */
static bool regular_file_beneath(int dirfd, const char *name)
{
    struct open_how how = {
        .flags = O_PATH | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    struct stat st;
    int fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof how);
    if (fd < 0 && (errno == ENOSYS || errno == EPERM))   /* old kernel, or a seccomp profile */
        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
    if (fd < 0) return false;
    bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    close(fd);
    return regular;
}

/* ---- public ----------------------------------------------------------------------------- */

static int parse_text(char *text, size_t len, struct manifest *m, struct sb_error *err)
{
    if (memchr(text, 0, len)) return bad_manifest(err, 0, "contains a NUL byte");
    size_t skip = (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;  /* npm strips a BOM */
    if (scan_raw(text + skip, len - skip, err) != 0) return -1;
    /* The length includes the terminating NUL: cJSON then requires the value to end there. */
    m->json = cJSON_ParseWithLengthOpts(text + skip, len - skip + 1, NULL, 1);
    if (!m->json) return bad_manifest(err, 0, "is not valid JSON");
    if (!cJSON_IsObject(m->json)) return bad_manifest(err, 0, "is not a JSON object");
    if (dedupe_tree(m->json) != 0) return bad_manifest(err, ENOMEM, "out of memory");
    return 0;
}

int manifest_load(int pkg_dirfd, struct manifest *m, struct sb_error *err)
{
    memset(m, 0, sizeof *m);
    size_t len = 0;
    char *text = read_manifest_file(pkg_dirfd, &len, err);
    if (!text) return -1;
    int rc = parse_text(text, len, m, err);
    free(text);
    if (rc == 0) rc = check_name(m, err);
    if (rc == 0) rc = check_version(m, err);
    if (rc == 0) rc = check_scripts(m, err);
    if (rc != 0) {
        manifest_free(m);
        return -1;
    }
    m->raw_len = len;
    m->has_binding_gyp = regular_file_beneath(pkg_dirfd, "binding.gyp");
    return 0;
}

void manifest_free(struct manifest *m)
{
    if (!m) return;
    cJSON_Delete(m->json);
    memset(m, 0, sizeof *m);
}

const char *manifest_script(const struct manifest *m, const char *event)
{
    if (!m || !m->scripts || !event) return NULL;
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(m->scripts, event);
    /* npm treats an empty script as no script. */
    return cJSON_IsString(s) && s->valuestring[0] ? s->valuestring : NULL;
}
