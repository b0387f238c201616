/* diff.c — snapshots of package folders and their comparison (see diff.h). */
#include "diff.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

enum { MANIFEST_MAX = 1024 * 1024 };

static void hex(const unsigned char *d, unsigned n, char out[65])
{
    for (unsigned i = 0; i < n && i < 32; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int hash_fd(int fd, char out[65], uint64_t *size)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return -1;
    }
    static unsigned char buf[65536];
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            EVP_MD_CTX_free(ctx);
            return -1;
        }
        if (r == 0) break;
        EVP_DigestUpdate(ctx, buf, (size_t)r);
        total += (uint64_t)r;
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_DigestFinal_ex(ctx, d, &n);
    EVP_MD_CTX_free(ctx);
    hex(d, n, out);
    *size = total;
    return 0;
}

static void hash_str(const char *s, char out[65])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(s, strlen(s), d, &n, EVP_sha256(), NULL);
    hex(d, n, out);
}

static int push(struct diff_snapshot *s, size_t *cap, const char *path, char type, uint64_t size, const char *sha)
{
    if (s->nfiles == DIFF_MAX_FILES) {
        s->skipped++;
        return 0;
    }
    if (s->nfiles == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct diff_file *nf = realloc(s->files, nc * sizeof *nf);
        if (!nf) return -1;
        s->files = nf;
        *cap = nc;
    }
    struct diff_file *f = &s->files[s->nfiles];
    f->path = strdup(path);
    if (!f->path) return -1;
    f->type = type;
    f->size = size;
    snprintf(f->sha256, sizeof f->sha256, "%s", sha ? sha : "");
    s->nfiles++;
    return 0;
}

static int walk(int dfd, const char *prefix, int depth, struct diff_snapshot *s, size_t *cap, struct sb_error *err)
{
    if (depth > DIFF_MAX_DEPTH) {
        s->skipped++;
        return 0;
    }
    int fd2 = dup(dfd);
    DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
    if (!d) {
        if (fd2 >= 0) close(fd2);
        return sb_fail(err, SB_EXIT_INPUT, "diff-read", errno, "cannot read folder %s: %s", *prefix ? prefix : ".", strerror(errno));
    }
    rewinddir(d);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char rel[PATH_MAX];
        if ((size_t)snprintf(rel, sizeof rel, "%s%s%s", prefix, *prefix ? "/" : "", e->d_name) >= sizeof rel) {
            s->skipped++;
            continue;
        }
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) continue;
            rc = walk(sub, rel, depth + 1, s, cap, err);
            close(sub);
        } else if (S_ISREG(st.st_mode)) {
            int fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
            char sha[65] = "";
            uint64_t size = (uint64_t)st.st_size;
            if (fd >= 0) {
                if (hash_fd(fd, sha, &size) < 0) sha[0] = 0;
                close(fd);
            }
            if (push(s, cap, rel, 'f', size, sha) < 0) rc = -1;
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlinkat(dfd, e->d_name, target, sizeof target - 1);
            char sha[65] = "";
            if (n >= 0) {
                target[n] = 0;
                hash_str(target, sha);
            }
            if (push(s, cap, rel, 'l', n > 0 ? (uint64_t)n : 0, sha) < 0) rc = -1;
        } else if (push(s, cap, rel, 'o', 0, NULL) < 0) {
            rc = -1;
        }
        if (rc < 0 && !err->msg[0]) sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory listing files");
    }
    closedir(d);
    return rc;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct diff_file *)a)->path, ((const struct diff_file *)b)->path);
}

static cJSON *read_manifest(int dirfd)
{
    int fd = openat(dirfd, "package.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return NULL;
    char *buf = malloc(MANIFEST_MAX + 1);
    size_t got = 0;
    while (buf && got < MANIFEST_MAX) {
        ssize_t r = read(fd, buf + got, MANIFEST_MAX - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    cJSON *j = buf ? cJSON_ParseWithLength(buf, got) : NULL;
    free(buf);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

int diff_snapshot_take(int dirfd, struct diff_snapshot *s, struct sb_error *err)
{
    memset(s, 0, sizeof *s);
    size_t cap = 0;
    if (walk(dirfd, "", 0, s, &cap, err) < 0) return -1;
    if (s->nfiles) qsort(s->files, s->nfiles, sizeof *s->files, by_path);
    s->manifest = read_manifest(dirfd);
    return 0;
}

void diff_snapshot_free(struct diff_snapshot *s)
{
    for (size_t i = 0; i < s->nfiles; i++) free(s->files[i].path);
    free(s->files);
    cJSON_Delete(s->manifest);
    memset(s, 0, sizeof *s);
}

int diff_is_install_script(const char *name)
{
    return !strcmp(name, "preinstall") || !strcmp(name, "install") || !strcmp(name, "postinstall") || !strcmp(name, "prepare");
}

static const char *type_name(char t)
{
    return t == 'f' ? "file" : t == 'l' ? "symlink" : "other";
}

static cJSON *file_obj(const struct diff_file *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "path", f->path);
    if (f->type != 'f') cJSON_AddStringToObject(o, "type", type_name(f->type));
    cJSON_AddNumberToObject(o, "size", (double)f->size);
    if (f->sha256[0]) cJSON_AddStringToObject(o, "sha256", f->sha256);
    else cJSON_AddNullToObject(o, "sha256");
    return o;
}

static cJSON *compare_files(const struct diff_snapshot *a, const struct diff_snapshot *b)
{
    cJSON *out = cJSON_CreateObject();
    cJSON *add = cJSON_AddArrayToObject(out, "added");
    cJSON *rem = cJSON_AddArrayToObject(out, "removed");
    cJSON *chg = cJSON_AddArrayToObject(out, "changed");
    size_t i = 0, k = 0, same = 0;
    while (i < a->nfiles || k < b->nfiles) {
        int c = i == a->nfiles ? 1 : k == b->nfiles ? -1 : strcmp(a->files[i].path, b->files[k].path);
        if (c < 0) {
            cJSON_AddItemToArray(rem, file_obj(&a->files[i++]));
        } else if (c > 0) {
            cJSON_AddItemToArray(add, file_obj(&b->files[k++]));
        } else {
            const struct diff_file *x = &a->files[i++], *y = &b->files[k++];
            if (x->type == y->type && x->size == y->size && !strcmp(x->sha256, y->sha256)) {
                same++;
                continue;
            }
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "path", y->path);
            if (x->type != y->type) {
                cJSON_AddStringToObject(o, "type_a", type_name(x->type));
                cJSON_AddStringToObject(o, "type_b", type_name(y->type));
            }
            cJSON_AddNumberToObject(o, "size_a", (double)x->size);
            cJSON_AddNumberToObject(o, "size_b", (double)y->size);
            cJSON_AddStringToObject(o, "sha256_a", x->sha256);
            cJSON_AddStringToObject(o, "sha256_b", y->sha256);
            cJSON_AddItemToArray(chg, o);
        }
    }
    cJSON_AddNumberToObject(out, "unchanged", (double)same);
    if (a->skipped || b->skipped) {
        cJSON_AddNumberToObject(out, "not_listed_a", (double)a->skipped);
        cJSON_AddNumberToObject(out, "not_listed_b", (double)b->skipped);
    }
    return out;
}

static const cJSON *obj(const cJSON *m, const char *k)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(m, k);
    return cJSON_IsObject(o) ? o : NULL;
}

/* Object maps compared key by key: string values (scripts, dependency ranges). */
static void compare_maps(const cJSON *x, const cJSON *y, const char *kind, bool scripts, cJSON *add, cJSON *rem, cJSON *chg)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, y) {
        const char *to = cJSON_IsString(e) ? e->valuestring : "";
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(x, e->string);
        if (old && cJSON_IsString(old) && !strcmp(old->valuestring, to)) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", e->string);
        if (kind) cJSON_AddStringToObject(o, "kind", kind);
        if (old) {
            cJSON_AddStringToObject(o, "from", cJSON_IsString(old) ? old->valuestring : "");
            cJSON_AddStringToObject(o, "to", to);
        } else {
            cJSON_AddStringToObject(o, scripts ? "script" : "range", to);
        }
        if (scripts) cJSON_AddBoolToObject(o, "install", diff_is_install_script(e->string));
        cJSON_AddItemToArray(old ? chg : add, o);
    }
    cJSON_ArrayForEach(e, x) {
        if (cJSON_GetObjectItemCaseSensitive(y, e->string)) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", e->string);
        if (kind) cJSON_AddStringToObject(o, "kind", kind);
        cJSON_AddStringToObject(o, scripts ? "script" : "range", cJSON_IsString(e) ? e->valuestring : "");
        if (scripts) cJSON_AddBoolToObject(o, "install", diff_is_install_script(e->string));
        cJSON_AddItemToArray(rem, o);
    }
}

cJSON *diff_compare(const struct diff_snapshot *a, const struct diff_snapshot *b)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddItemToObject(out, "files", compare_files(a, b));
    cJSON *s = cJSON_AddObjectToObject(out, "scripts");
    cJSON *sa = cJSON_AddArrayToObject(s, "added"), *sr = cJSON_AddArrayToObject(s, "removed"), *sc = cJSON_AddArrayToObject(s, "changed");
    compare_maps(obj(a->manifest, "scripts"), obj(b->manifest, "scripts"), NULL, true, sa, sr, sc);
    cJSON *d = cJSON_AddObjectToObject(out, "dependencies");
    cJSON *da = cJSON_AddArrayToObject(d, "added"), *dr = cJSON_AddArrayToObject(d, "removed"), *dc = cJSON_AddArrayToObject(d, "changed");
    static const char *const kinds[] = {"dependencies", "optionalDependencies", "peerDependencies", "devDependencies"};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        compare_maps(obj(a->manifest, kinds[i]), obj(b->manifest, kinds[i]), kinds[i], false, da, dr, dc);
    return out;
}
