/*
 * unpack.c — the hardened unpacker. See unpack.h for the contract.
 *
 * Threat model: the archive was written by someone who read this file. Every name, size, mode
 * and link target in it is hostile. Three rules carry the safety:
 *   1. Names are checked lexically (no "/", "..", control characters, bounded length/depth) and
 *      each normalised path is created at most once.
 *   2. Every file-system operation is relative to a folder fd we opened ourselves, one component
 *      at a time, with O_NOFOLLOW; files are O_CREAT|O_EXCL. So nothing, not even a symlink an
 *      earlier entry made, can redirect a write outside dest_dirfd.
 *   3. Sizes are checked as claimed in the header before any byte is written, and again as
 *      bytes are actually written.
 */
#include "unpack.h"
#include "lazylib.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    READ_CHUNK = 64 * 1024,
    DISPLAY_MAX = 160,          /* raw bytes of a name shown in an issue before "..." */
    ESCAPED_MAX = DISPLAY_MAX * 4 + 8,
    ISSUES_PER_KIND_MAX = 100,  /* one noisy kind must not hide the others */
    MAX_FILTERS = 2,            /* gzip + the raw reader: one gzip layer, like npm */
    COMPONENT_MAX = NAME_MAX,
};

/* Headers, long names and padding allowed beside the claimed data: a legitimate entry needs
 * ~3.5 KiB at most (header, pax record for a 1024-byte name, padding). libarchive caps one
 * header at 1 MiB; this caps their sum, which no size claim accounts for. */
#define METADATA_PER_ENTRY (4ull << 10)
#define METADATA_SLACK (1ull << 20)

#define SHA512_LEN 64
#define SRI_PREFIX "sha512-"

/* The issue kinds, in the order of unpack.h. Counting per kind bounds the list. */
static const char *const issue_kinds[] = {
    "absolute-path", "dot-dot", "symlink-escape", "hardlink", "special-file", "setid-bits",
    "name-collision", "name-too-long", "too-deep", "bad-name", "extra-top-folder", "no-top-folder",
};
enum { ISSUE_KIND_COUNT = sizeof issue_kinds / sizeof *issue_kinds };

void unpack_limits_default(struct unpack_limits *l)
{
    l->max_entries = 100000 - 1;
    l->max_total_bytes = 512ull << 20;
    l->max_file_bytes = 256ull << 20;
    l->max_path_len = 1024;
    l->max_depth = 64;
}

/* ------------------------------------------------------------------------------------------ */
/* Set of normalised paths (open addressing), to catch entries that name the same thing.       */

struct name_set {
    char **slots;
    size_t cap;    /* power of two */
    size_t count;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int name_set_grow(struct name_set *set)
{
    size_t ncap = set->cap ? set->cap * 2 : 256;
    char **nslots = calloc(ncap, sizeof *nslots);
    if (!nslots) return -1;
    for (size_t i = 0; i < set->cap; i++) {
        if (!set->slots[i]) continue;
        size_t j = fnv1a(set->slots[i]) & (ncap - 1);
        while (nslots[j]) j = (j + 1) & (ncap - 1);
        nslots[j] = set->slots[i];
    }
    free(set->slots);
    set->slots = nslots;
    set->cap = ncap;
    return 0;
}

/* 1 if name was already there, 0 if added, -1 out of memory. */
static int name_set_add(struct name_set *set, const char *name)
{
    if ((set->count + 1) * 2 > set->cap && name_set_grow(set) < 0) return -1;
    size_t i = fnv1a(name) & (set->cap - 1);
    for (; set->slots[i]; i = (i + 1) & (set->cap - 1))
        if (strcmp(set->slots[i], name) == 0) return 1;
    set->slots[i] = strdup(name);
    if (!set->slots[i]) return -1;
    set->count++;
    return 0;
}

static void name_set_free(struct name_set *set)
{
    for (size_t i = 0; i < set->cap; i++) free(set->slots[i]);
    free(set->slots);
    memset(set, 0, sizeof *set);
}

/* ------------------------------------------------------------------------------------------ */
/* Display escaping: names go into reports and terminals, so nothing in them may act.          */

/* Length of the valid UTF-8 sequence at s (n bytes left) that is safe to show, or 0. C1
 * controls and bidirectional overrides (the "Trojan Source" characters) count as unsafe. */
static size_t safe_utf8_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80) return (s[0] >= 0x20 && s[0] != 0x7f && s[0] != '\\') ? 1 : 0;
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (!len || s[0] > 0xf4 || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if (len == 3 && s[0] == 0xe0 && s[1] < 0xa0) return 0;                 /* overlong */
    if (len == 3 && s[0] == 0xed && s[1] >= 0xa0) return 0;                /* surrogate */
    if (len == 4 && s[0] == 0xf0 && s[1] < 0x90) return 0;                 /* overlong */
    if (len == 4 && s[0] == 0xf4 && s[1] >= 0x90) return 0;                /* > U+10FFFF */
    if (len == 2 && s[0] == 0xc2 && s[1] < 0xa0) return 0;                 /* C1 controls */
    if (len == 3 && s[0] == 0xe2 && s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae) return 0;
    if (len == 3 && s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9) return 0;
    return len;
}

/* Escape raw for display: unsafe bytes become \xNN, at most DISPLAY_MAX input bytes. */
static void escape_name(const char *raw, char out[ESCAPED_MAX])
{
    if (!raw) {
        snprintf(out, ESCAPED_MAX, "(unreadable name)");
        return;
    }
    const unsigned char *s = (const unsigned char *)raw;
    size_t n = strlen(raw), i = 0, o = 0;
    while (i < n && i < DISPLAY_MAX) {
        size_t len = safe_utf8_len(s + i, n - i);
        if (len) {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        } else {
            o += (size_t)snprintf(out + o, ESCAPED_MAX - o, "\\x%02x", s[i]);
            i++;
        }
    }
    if (i < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = 0;
}

/* Copy src into dst (size dstsz), cutting only between UTF-8 characters. */
static void copy_bounded_utf8(char *dst, size_t dstsz, const char *src)
{
    size_t n = strnlen(src, dstsz - 1);
    if (src[n]) /* cut: back off over continuation bytes so no character is split */
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80) n--;
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* A short form of an escaped name for one-line error messages, so the fix always fits. */
enum { BRIEF_MAX = 96 };
static void brief_name(const char *shown, char out[BRIEF_MAX])
{
    if (strlen(shown) < BRIEF_MAX) {
        memcpy(out, shown, strlen(shown) + 1);
        return;
    }
    copy_bounded_utf8(out, BRIEF_MAX - 3, shown);
    size_t n = strlen(out);
    /* Do not leave half of a "\xNN" escape at the cut. */
    for (size_t back = 1; back <= 3 && back <= n; back++)
        if (out[n - back] == '\\') {
            n -= back;
            break;
        }
    memcpy(out + n, "...", 4);
}

static bool has_control_chars(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return true;
    return false;
}

/* A one-line copy of a library message: control characters become spaces. */
static void one_line(const char *in, char *out, size_t outsz)
{
    size_t i = 0;
    for (; in && in[i] && i + 1 < outsz; i++)
        out[i] = ((unsigned char)in[i] < 0x20 || in[i] == 0x7f) ? ' ' : in[i];
    out[i] = 0;
}

static void format_size(uint64_t bytes, char out[32])
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    unsigned u = 0;
    uint64_t div = 1;
    while (u + 1 < sizeof units / sizeof *units && bytes >= (div << 10)) {
        div <<= 10;
        u++;
    }
    if (bytes % div == 0) snprintf(out, 32, "%llu %s", (unsigned long long)(bytes / div), units[u]);
    else snprintf(out, 32, "%.1f %s", (double)bytes / (double)div, units[u]);
}

/* ------------------------------------------------------------------------------------------ */
/* Integrity: SHA-512 of the exact bytes read, as an SRI string.                               */

struct hashing_reader {
    int fd;
    const struct lazy_archive *la;   /* for archive_set_error; NULL when only hashing */
    EVP_MD_CTX *md;
    bool failed;            /* hashing or reading failed: the result must not be trusted */
    unsigned char buf[READ_CHUNK];
};

static ssize_t read_some(int fd, void *buf, size_t len)
{
    ssize_t n;
    do n = read(fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n;
}

/* libarchive read callback: every byte libarchive sees passes through the hash once. There is
 * deliberately no skip callback, so no byte can bypass it. */
static la_ssize_t hashing_read(struct archive *a, void *opaque, const void **out)
{
    struct hashing_reader *r = opaque;
    ssize_t n = read_some(r->fd, r->buf, sizeof r->buf);
    if (n < 0) {
        r->failed = true;
        r->la->set_error(a, errno, "reading the archive: %s", strerror(errno));
        return -1;
    }
    if (n > 0 && EVP_DigestUpdate(r->md, r->buf, (size_t)n) != 1) {
        r->failed = true;
        r->la->set_error(a, EIO, "hashing the archive failed");
        return -1;
    }
    *out = r->buf;
    return n;
}

/* Hash whatever is left in the file (tar padding after the end marker, gzip trailer). */
static int hash_rest(struct hashing_reader *r)
{
    for (;;) {
        ssize_t n = read_some(r->fd, r->buf, sizeof r->buf);
        if (n == 0) return 0;
        if (n < 0 || EVP_DigestUpdate(r->md, r->buf, (size_t)n) != 1) {
            r->failed = true;
            return -1;
        }
    }
}

static int finish_sri(EVP_MD_CTX *md, char out[128])
{
    unsigned char digest[SHA512_LEN];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(md, digest, &len) != 1 || len != SHA512_LEN) return -1;
    memcpy(out, SRI_PREFIX, sizeof SRI_PREFIX - 1);
    /* 64 bytes -> 88 base64 characters + NUL: fits in 128 with the prefix. */
    EVP_EncodeBlock((unsigned char *)out + sizeof SRI_PREFIX - 1, digest, SHA512_LEN);
    return 0;
}

static struct hashing_reader *hashing_reader_new(int fd)
{
    struct hashing_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->fd = fd;
    r->md = EVP_MD_CTX_new();
    if (!r->md || EVP_DigestInit_ex(r->md, EVP_sha512(), NULL) != 1) {
        EVP_MD_CTX_free(r->md);
        free(r);
        return NULL;
    }
    return r;
}

static void hashing_reader_free(struct hashing_reader *r)
{
    if (!r) return;
    EVP_MD_CTX_free(r->md);
    free(r);
}

/* Open a regular file for reading; anything else (folder, device, FIFO) is refused. */
static int open_archive_file(const char *path, struct sb_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return sb_fail(err, SB_EXIT_INPUT, "bad-tarball", errno, "cannot open '%s': %s; check the path",
                       path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sb_fail(err, SB_EXIT_INPUT, "bad-tarball", 0,
                       "'%s' is not a regular file; give the path of a .tgz file", path);
    }
    /* O_NONBLOCK only kept open() from hanging on a FIFO; regular files ignore it. */
    return fd;
}

int unpack_file_integrity(const char *path, char out[128], struct sb_error *err)
{
    int fd = open_archive_file(path, err);
    if (fd < 0) return -1;
    struct hashing_reader *r = hashing_reader_new(fd);
    int rc = -1;
    if (!r) sb_fail(err, SB_EXIT_SANDBOX, "internal", 0, "cannot set up SHA-512 (OpenSSL); check the OpenSSL install");
    else if (hash_rest(r) < 0 || finish_sri(r->md, out) < 0)
        sb_fail(err, SB_EXIT_INPUT, "bad-tarball", errno, "reading '%s' failed: %s", path, strerror(errno));
    else rc = 0;
    hashing_reader_free(r);
    close(fd);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* The unpacking state for one archive.                                                        */

struct unpacker {
    int dest;                         /* the package root; never closed here */
    const struct unpack_limits *lim;
    struct unpack_result *res;
    struct sb_error *err;
    const struct lazy_archive *la;    /* libarchive, loaded on first use (lazylib.h) */
    struct archive *ar;
    struct name_set paths;            /* normalised paths already claimed by an entry */
    struct name_set extra_tops;       /* other top folders already reported */
    size_t issues_cap;
    unsigned issues_per_kind[ISSUE_KIND_COUNT];
    uint64_t claimed_bytes;           /* sum of header sizes so far */
    char *scratch;                    /* max_path_len + 1: the name being split */
    const char **comps;               /* max_depth + 1 component pointers */
};

/* One entry's path after the checks: components below the stripped top folder. */
struct entry_path {
    const char *top;
    const char **comps;
    unsigned n;
    char shown[ESCAPED_MAX];          /* the raw name, escaped */
};

static int out_of_memory(struct unpacker *u)
{
    return sb_fail(u->err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory while unpacking");
}

static int kind_index(const char *kind)
{
    for (int i = 0; i < ISSUE_KIND_COUNT; i++)
        if (strcmp(issue_kinds[i], kind) == 0) return i;
    return -1;
}

/* Record an issue. Returns 0, or -1 (out of memory). Past ISSUES_PER_KIND_MAX per kind the issue
 * is only counted in res->issues_dropped. */
static int add_issue(struct unpacker *u, const char *kind, const char *shown, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int add_issue(struct unpacker *u, const char *kind, const char *shown, const char *fmt, ...)
{
    int k = kind_index(kind);
    if (k >= 0 && u->issues_per_kind[k] >= ISSUES_PER_KIND_MAX) {
        u->res->issues_dropped++;
        return 0;
    }
    if (u->res->nissues == u->issues_cap) {
        size_t ncap = u->issues_cap ? u->issues_cap * 2 : 16;
        struct unpack_issue *n = realloc(u->res->issues, ncap * sizeof *n);
        if (!n) return out_of_memory(u);
        u->res->issues = n;
        u->issues_cap = ncap;
    }
    char detail[ESCAPED_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    struct unpack_issue *is = &u->res->issues[u->res->nissues];
    is->kind = strdup(kind);
    is->entry = strdup(shown);
    is->detail = strdup(detail);
    if (!is->kind || !is->entry || !is->detail) {
        free(is->kind);
        free(is->entry);
        free(is->detail);
        return out_of_memory(u);
    }
    u->res->nissues++;
    if (k >= 0) u->issues_per_kind[k]++;
    return 0;
}

static int refuse_corrupt(struct unpacker *u)
{
    char why[400];
    one_line(u->la->error_string(u->ar), why, sizeof why);
    return sb_fail(u->err, SB_EXIT_INPUT, "bad-tarball", u->la->errno_of(u->ar),
                   "the archive is corrupt, truncated or not a tar/tgz (%s); re-download or re-pack the package",
                   why[0] ? why : "no detail from libarchive");
}

static int refuse_write(struct unpacker *u, const char *shown, const char *what, int e)
{
    char brief[BRIEF_MAX];
    brief_name(shown, brief);
    return sb_fail(u->err, SB_EXIT_SANDBOX, "unpack-write", e,
                   "%s '%s' in the work folder failed: %s; check free space and permissions of TMPDIR",
                   what, brief, strerror(e));
}

/* ------------------------------------------------------------------------------------------ */
/* Size limits: the header's claim first, the bytes actually written second.                  */

static int check_claimed_size(struct unpacker *u, struct archive_entry *e, const char *shown)
{
    char a[32], b[32], brief[BRIEF_MAX];
    if (!u->la->entry_size_is_set(e)) return 0;
    la_int64_t size = u->la->entry_size(e);
    brief_name(shown, brief);
    if (size < 0)
        return sb_fail(u->err, SB_EXIT_INPUT, "bad-tarball", 0,
                       "entry '%s' has a negative size; the archive is corrupt, re-download it", brief);
    if ((uint64_t)size > u->lim->max_file_bytes) {
        format_size((uint64_t)size, a);
        format_size(u->lim->max_file_bytes, b);
        return sb_fail(u->err, SB_EXIT_INPUT, "tar-bomb", 0,
                       "entry '%s' claims %s, over the %s per-file limit (tar bomb); raise with "
                       "--max-file-bytes if the package is legitimate", brief, a, b);
    }
    /* Counted for every entry type: libarchive reads through the data of skipped entries too.
     * Compared by subtraction so no limit can make the sum wrap. */
    if ((uint64_t)size > u->lim->max_total_bytes - u->claimed_bytes) {
        format_size(u->lim->max_total_bytes, b);
        return sb_fail(u->err, SB_EXIT_INPUT, "tar-bomb", 0,
                       "the archive's entries claim more than %s in total (tar bomb); raise with "
                       "--max-total-bytes if the package is legitimate", b);
    }
    u->claimed_bytes += (uint64_t)size;
    return 0;
}

static int check_written(struct unpacker *u, uint64_t file_end, const char *shown)
{
    char b[32], brief[BRIEF_MAX];
    if (file_end > u->lim->max_file_bytes) {
        format_size(u->lim->max_file_bytes, b);
        brief_name(shown, brief);
        return sb_fail(u->err, SB_EXIT_INPUT, "tar-bomb", 0,
                       "entry '%s' holds more than %s (tar bomb); raise with --max-file-bytes if the "
                       "package is legitimate", brief, b);
    }
    if (u->res->bytes > u->lim->max_total_bytes) {
        format_size(u->lim->max_total_bytes, b);
        return sb_fail(u->err, SB_EXIT_INPUT, "tar-bomb", 0,
                       "the archive holds more than %s of file data (tar bomb); raise with "
                       "--max-total-bytes if the package is legitimate", b);
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Names: split, strip the top folder, reject what cannot be created safely.                   */

/* Split raw (already escaped into p->shown) into u->scratch / u->comps; fill p->top and
 * p->comps/n (the components below the top folder). Returns 0 if the name is usable, 1 if it was skipped (issue recorded), -1 on error. */
static int parse_entry_path(struct unpacker *u, const char *raw, bool is_dir, struct entry_path *p)
{
    if (!raw || !raw[0]) return add_issue(u, "bad-name", p->shown, "skipped: empty name") ? -1 : 1;
    size_t len = strnlen(raw, u->lim->max_path_len + 1);
    if (len > u->lim->max_path_len)
        return add_issue(u, "name-too-long", p->shown, "skipped: name longer than %zu bytes",
                         u->lim->max_path_len) ? -1 : 1;
    if (has_control_chars(raw))
        return add_issue(u, "bad-name", p->shown, "skipped: control character in the name") ? -1 : 1;
    if (raw[0] == '/')
        return add_issue(u, "absolute-path", p->shown, "skipped: absolute path") ? -1 : 1;

    memcpy(u->scratch, raw, len + 1);
    /* npm strips the first component whatever it is (even "."), then the rest is normalised:
     * empty and "." components vanish, so "a//b", "./a" and "a/" name what "a/b", "a" name. */
    char *save = NULL, *c = u->scratch;
    char *top = strsep(&c, "/");
    if (strcmp(top, "..") == 0)
        return add_issue(u, "dot-dot", p->shown, "skipped: '..' component") ? -1 : 1;
    unsigned n = 0, total = 0;
    bool too_long = false;
    while ((save = strsep(&c, "/")) != NULL) {
        if (!save[0] || strcmp(save, ".") == 0) continue;
        if (strcmp(save, "..") == 0)
            return add_issue(u, "dot-dot", p->shown, "skipped: '..' component") ? -1 : 1;
        if (strlen(save) > COMPONENT_MAX) too_long = true;
        if (total++ < u->lim->max_depth) u->comps[n++] = save;
    }
    if (total > u->lim->max_depth)
        return add_issue(u, "too-deep", p->shown, "skipped: more than %u folder levels",
                         u->lim->max_depth) ? -1 : 1;
    if (too_long)
        return add_issue(u, "name-too-long", p->shown, "skipped: a component is longer than %d bytes",
                         COMPONENT_MAX) ? -1 : 1;
    if (n == 0 && !is_dir)
        return add_issue(u, "no-top-folder", p->shown,
                         "skipped: not inside a top folder (npm strips the first path component)") ? -1 : 1;
    p->top = top;
    p->comps = u->comps;
    p->n = n;
    return 0;
}

/* The first top folder names the package root; entries under another one are unpacked like npm
 * does (it strips any first component) but reported once per folder: a reviewer reading
 * "package/" would not see them. */
static int note_top_folder(struct unpacker *u, const struct entry_path *p)
{
    if (!u->res->top_folder[0]) {
        char shown[ESCAPED_MAX];
        escape_name(p->top, shown);
        copy_bounded_utf8(u->res->top_folder, sizeof u->res->top_folder, shown);
        /* Keep the raw name for comparisons. */
        return name_set_add(&u->extra_tops, p->top) < 0 ? out_of_memory(u) : 0;
    }
    int seen = name_set_add(&u->extra_tops, p->top);
    if (seen < 0) return out_of_memory(u);
    if (seen) return 0;
    return add_issue(u, "extra-top-folder", p->shown,
                     "unpacked: under a second top folder, stripped like npm does");
}

/* Join the components into u->scratch-independent storage for the collision set. */
static int claim_path(struct unpacker *u, const struct entry_path *p)
{
    char joined[PATH_MAX];
    size_t o = 0;
    for (unsigned i = 0; i < p->n; i++) {
        size_t l = strlen(p->comps[i]);
        if (o + l + 2 > sizeof joined) return add_issue(u, "name-too-long", p->shown, "skipped") ? -1 : 1;
        if (i) joined[o++] = '/';
        memcpy(joined + o, p->comps[i], l);
        o += l;
    }
    joined[o] = 0;
    int seen = name_set_add(&u->paths, joined);
    if (seen < 0) return out_of_memory(u);
    if (seen)
        return add_issue(u, "name-collision", p->shown,
                         "skipped: same path as an earlier entry after normalisation (npm would keep "
                         "this later one)") ? -1 : 1;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Creation, strictly below dest and never following a symlink.                                */

/* Open the folder name inside parent, creating it (0755) if it does not exist. Never follows a
 * symlink: O_NOFOLLOW fails on one (ELOOP), and O_DIRECTORY on a file (ENOTDIR). -1 with errno. */
static int open_child_dir(int parent, const char *name)
{
    const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(parent, name, flags);
    if (fd >= 0 || errno != ENOENT) return fd;
    if (mkdirat(parent, name, 0700) < 0 && errno != EEXIST) return -1;
    fd = openat(parent, name, flags);
    if (fd >= 0 && fchmod(fd, 0755) < 0) {   /* umask-independent */
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Explain why component name of parent is not a usable folder: 1 (issue recorded) or -1. */
static int blocked_component(struct unpacker *u, int parent, const char *name, const char *shown, int e)
{
    struct stat st;
    if (e != ELOOP && e != ENOTDIR) return refuse_write(u, shown, "creating a folder for", e);
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        return add_issue(u, "symlink-escape", shown,
                         "skipped: a parent folder is a symlink; writing through it is refused") ? -1 : 1;
    return add_issue(u, "name-collision", shown, "skipped: a parent folder is already a file") ? -1 : 1;
}

/* Walk comps[0..n) from dest, creating folders, never following a symlink: every entry walks
 * from the root again, so no state carries over between entries. Sets *out to an fd the caller
 * releases with close_folder (dest itself when n == 0). Returns 0, 1 (skipped, issue recorded),
 * or -1. */
static int open_folder_path(struct unpacker *u, const char *const *comps, unsigned n, const char *shown,
                            int *out)
{
    int cur = u->dest;
    for (unsigned i = 0; i < n; i++) {
        int next = open_child_dir(cur, comps[i]);
        if (next < 0) {
            int rc = blocked_component(u, cur, comps[i], shown, errno);
            if (cur != u->dest) close(cur);
            return rc;
        }
        if (cur != u->dest) close(cur);
        cur = next;
    }
    *out = cur;
    return 0;
}

static void close_folder(const struct unpacker *u, int fd)
{
    if (fd >= 0 && fd != u->dest) close(fd);
}

/* Files keep only the owner's exec bit as 0755; everything else is 0644 (npm's usual result). */
static mode_t safe_file_mode(mode_t m) { return (m & S_IXUSR) ? 0755 : 0644; }

static int note_setid_bits(struct unpacker *u, const struct entry_path *p, mode_t old, mode_t now)
{
    if (!(old & (S_ISUID | S_ISGID | S_ISVTX))) return 0;
    return add_issue(u, "setid-bits", p->shown, "mode 0%o -> 0%o", (unsigned)(old & 07777), (unsigned)now);
}

static int write_all_at(int fd, const char *buf, size_t len, off_t off)
{
    while (len) {
        ssize_t w = pwrite(fd, buf, len, off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        buf += w;
        len -= (size_t)w;
        off += w;
    }
    return 0;
}

static int refuse_data_outside(struct unpacker *u, const char *shown)
{
    char brief[BRIEF_MAX];
    brief_name(shown, brief);
    return sb_fail(u->err, SB_EXIT_INPUT, "bad-tarball", 0,
                   "entry '%s' has data outside its declared size; the archive is corrupt, re-download it",
                   brief);
}

/* Copy the entry's data into fd. Sparse entries arrive as blocks at offsets; the gaps stay holes. */
static int copy_entry_data(struct unpacker *u, int fd, int64_t claimed, const char *shown)
{
    uint64_t end = 0;
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int r = u->la->read_data_block(u->ar, &buf, &len, &off);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return refuse_corrupt(u);
        if (off < 0 || (claimed >= 0 && (uint64_t)off + len > (uint64_t)claimed))
            return refuse_data_outside(u, shown);
        if ((uint64_t)off + len > end) end = (uint64_t)off + len;
        u->res->bytes += len;
        if (check_written(u, end, shown) < 0) return -1;
        if (len && write_all_at(fd, buf, len, off) < 0) return refuse_write(u, shown, "writing", errno);
    }
    /* A sparse file may end in a hole. */
    if (claimed >= 0 && (uint64_t)claimed > end && ftruncate(fd, claimed) < 0)
        return refuse_write(u, shown, "sizing", errno);
    return 0;
}

static int write_regular(struct unpacker *u, struct archive_entry *e, const struct entry_path *p)
{
    int parent;
    int rc = open_folder_path(u, p->comps, p->n - 1, p->shown, &parent);
    if (rc) return rc < 0 ? -1 : 0;
    const char *leaf = p->comps[p->n - 1];
    int fd = openat(parent, leaf, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600);
    int open_errno = errno;
    close_folder(u, parent);
    if (fd < 0) {
        if (open_errno == EEXIST)
            return add_issue(u, "name-collision", p->shown, "skipped: the path already exists");
        return refuse_write(u, p->shown, "creating", open_errno);
    }
    int64_t claimed = u->la->entry_size_is_set(e) ? u->la->entry_size(e) : -1;
    mode_t mode = safe_file_mode(u->la->entry_perm(e));
    rc = copy_entry_data(u, fd, claimed, p->shown);
    if (rc == 0 && fchmod(fd, mode) < 0) rc = refuse_write(u, p->shown, "setting the mode of", errno);
    if (close(fd) < 0 && rc == 0) rc = refuse_write(u, p->shown, "closing", errno);
    if (rc < 0) return -1;
    u->res->files++;
    return note_setid_bits(u, p, u->la->entry_mode(e), mode);
}

static int make_folder(struct unpacker *u, struct archive_entry *e, const struct entry_path *p)
{
    int fd;
    int rc = open_folder_path(u, p->comps, p->n, p->shown, &fd);
    if (rc) return rc < 0 ? -1 : 0;
    /* Explicit folders are 0755 even when an earlier entry created them implicitly. */
    if (fd != u->dest && fchmod(fd, 0755) < 0) rc = refuse_write(u, p->shown, "setting the mode of", errno);
    close_folder(u, fd);
    if (rc < 0) return -1;
    return note_setid_bits(u, p, u->la->entry_mode(e), 0755);
}

/* A link target is accepted only in the form "../" * k + names, with k no more than the link's
 * depth: lexically inside the package. A ".." after a name ("a/../..") is refused as well,
 * because "a" could itself be a symlink (to "." for example) and the kernel would then resolve
 * ".." from where "a" points, not lexically. With only leading "..", every link resolves inside
 * (its own folder is a real folder we made), whatever other links exist. */
static const char *symlink_target_problem(const char *target, unsigned link_depth)
{
    if (!target[0]) return "empty target";
    if (target[0] == '/') return "absolute target";
    unsigned ups = 0;
    bool seen_name = false;
    const char *s = target;
    while (*s) {
        const char *slash = strchr(s, '/');
        size_t l = slash ? (size_t)(slash - s) : strlen(s);
        if (l == 2 && s[0] == '.' && s[1] == '.') {
            if (seen_name) return "'..' after a folder name in the target";
            if (++ups > link_depth) return "target leaves the package";
        } else if (l && !(l == 1 && s[0] == '.')) {
            seen_name = true;
        }
        s += l + (slash ? 1 : 0);
    }
    return NULL;
}

static int make_symlink(struct unpacker *u, struct archive_entry *e, const struct entry_path *p)
{
    const char *target = u->la->entry_symlink(e);
    char shown_target[ESCAPED_MAX];
    escape_name(target, shown_target);
    if (!target || strnlen(target, u->lim->max_path_len + 1) > u->lim->max_path_len)
        return add_issue(u, "name-too-long", p->shown, "skipped: symlink target missing or too long");
    if (has_control_chars(target))
        return add_issue(u, "bad-name", p->shown, "skipped: control character in the symlink target '%s'",
                         shown_target);
    const char *why = symlink_target_problem(target, p->n - 1);
    if (why)
        return add_issue(u, "symlink-escape", p->shown, "skipped: symlink to '%s': %s", shown_target, why);
    int parent;
    int rc = open_folder_path(u, p->comps, p->n - 1, p->shown, &parent);
    if (rc) return rc < 0 ? -1 : 0;
    rc = symlinkat(target, parent, p->comps[p->n - 1]);
    int e2 = errno;
    close_folder(u, parent);
    if (rc == 0) return 0;
    if (e2 == EEXIST) return add_issue(u, "name-collision", p->shown, "skipped: the path already exists");
    return refuse_write(u, p->shown, "creating the symlink", e2);
}

static const char *special_type_name(mode_t type)
{
    switch (type) {
    case AE_IFCHR: return "character device";
    case AE_IFBLK: return "block device";
    case AE_IFIFO: return "FIFO";
    case AE_IFSOCK: return "socket";
    default: return "unknown entry type";
    }
}

static int unpack_entry(struct unpacker *u, struct archive_entry *e)
{
    struct entry_path p;
    mode_t type = u->la->entry_filetype(e);
    const char *raw = u->la->entry_pathname(e);
    escape_name(raw, p.shown);
    /* Before anything else: even a skipped entry's data would be read through. */
    if (check_claimed_size(u, e, p.shown) < 0) return -1;
    int rc = parse_entry_path(u, raw, type == AE_IFDIR, &p);
    if (rc) return rc < 0 ? -1 : 0;
    if (note_top_folder(u, &p) < 0) return -1;
    if (p.n == 0) return 0;   /* the top folder itself */
    rc = claim_path(u, &p);
    if (rc) return rc < 0 ? -1 : 0;
    if (u->la->entry_hardlink(e)) {
        char shown_target[ESCAPED_MAX];
        escape_name(u->la->entry_hardlink(e), shown_target);
        return add_issue(u, "hardlink", p.shown, "skipped: hard link to '%s'", shown_target);
    }
    switch (type) {
    case AE_IFREG: return write_regular(u, e, &p);
    case AE_IFDIR: return make_folder(u, e, &p);
    case AE_IFLNK: return make_symlink(u, e, &p);
    default:
        return add_issue(u, "special-file", p.shown, "skipped: %s", special_type_name(type));
    }
}

static int refuse_too_many(struct unpacker *u)
{
    return sb_fail(u->err, SB_EXIT_INPUT, "tar-bomb", 0,
                   "the archive has more than %llu entries (tar bomb); raise with --max-entries if "
                   "the package is legitimate", (unsigned long long)u->lim->max_entries);
}

/* Bytes the tar reader has consumed beyond the claimed data, bounded per entry. */
static int check_metadata_bytes(struct unpacker *u)
{
    la_int64_t consumed = u->la->filter_bytes(u->ar, 0);
    uint64_t allowed = u->claimed_bytes + u->res->entries * METADATA_PER_ENTRY + METADATA_SLACK;
    if (consumed < 0 || (uint64_t)consumed <= allowed) return 0;
    char a[32];
    format_size((uint64_t)consumed - u->claimed_bytes, a);
    return sb_fail(u->err, SB_EXIT_INPUT, "tar-bomb", 0,
                   "the archive holds %s of headers for %llu entries (tar bomb or malformed archive); "
                   "re-pack the package with npm pack", a, (unsigned long long)u->res->entries);
}

/* npm gunzips once; libarchive would peel any number of gzip layers. */
static int check_single_gzip_layer(struct unpacker *u)
{
    if (u->la->filter_count(u->ar) <= MAX_FILTERS) return 0;
    return sb_fail(u->err, SB_EXIT_INPUT, "bad-tarball", 0,
                   "the archive is gzip'd more than once, which npm does not read; re-pack the package "
                   "with npm pack");
}

static int unpack_entries(struct unpacker *u)
{
    for (;;) {
        struct archive_entry *e;
        int r = u->la->read_next_header(u->ar, &e);
        if (r == ARCHIVE_EOF) return 0;
        /* ARCHIVE_RETRY (a damaged header libarchive would skip) is refused like FATAL. */
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return refuse_corrupt(u);
        if (++u->res->entries > u->lim->max_entries) return refuse_too_many(u);
        if (u->res->entries == 1 && check_single_gzip_layer(u) < 0) return -1;
        if (check_metadata_bytes(u) < 0) return -1;
        if (unpack_entry(u, e) < 0) return -1;
    }
}

static struct archive *new_tar_reader(const struct lazy_archive *la)
{
    struct archive *a = la->read_new();
    if (!a) return NULL;
    if (la->read_support_filter_gzip(a) != ARCHIVE_OK || la->read_support_filter_none(a) != ARCHIVE_OK ||
        la->read_support_format_tar(a) != ARCHIVE_OK) {
        la->read_free(a);
        return NULL;
    }
    return a;
}

static int unpacker_init(struct unpacker *u, int dest, const struct unpack_limits *lim,
                         struct unpack_result *res, struct sb_error *err)
{
    memset(u, 0, sizeof *u);
    u->la = lazy_archive(err);
    if (!u->la) return -1;
    u->dest = dest;
    u->lim = lim;
    u->res = res;
    u->err = err;
    u->scratch = malloc(lim->max_path_len + 1);
    u->comps = calloc((size_t)lim->max_depth + 1, sizeof *u->comps);
    u->ar = new_tar_reader(u->la);
    if (!u->scratch || !u->comps || !u->ar) return out_of_memory(u);
    return 0;
}

static void unpacker_free(struct unpacker *u)
{
    if (u->ar) u->la->read_free(u->ar);
    name_set_free(&u->paths);
    name_set_free(&u->extra_tops);
    free(u->scratch);
    free(u->comps);
}

static int check_dest(int dest, struct sb_error *err)
{
    struct stat st;
    if (fstat(dest, &st) < 0 || !S_ISDIR(st.st_mode))
        return sb_fail(err, SB_EXIT_SANDBOX, "internal", errno, "unpack destination is not an open folder");
    return 0;
}

int unpack_tarball(const char *archive_path, int dest_dirfd, const struct unpack_limits *lim,
                   struct unpack_result *res, struct sb_error *err)
{
    struct unpack_limits defaults;
    if (!lim) {
        unpack_limits_default(&defaults);
        lim = &defaults;
    }
    memset(res, 0, sizeof *res);
    if (check_dest(dest_dirfd, err) < 0) return -1;
    int fd = open_archive_file(archive_path, err);
    if (fd < 0) return -1;

    struct unpacker u;
    struct hashing_reader *reader = hashing_reader_new(fd);
    int rc = unpacker_init(&u, dest_dirfd, lim, res, err);
    if (rc == 0 && !reader) rc = out_of_memory(&u);
    if (rc == 0) reader->la = u.la;
    if (rc == 0 && u.la->read_open(u.ar, reader, NULL, hashing_read, NULL) != ARCHIVE_OK)
        rc = refuse_corrupt(&u);
    if (rc == 0) rc = unpack_entries(&u);
    if (rc == 0 && (hash_rest(reader) < 0 || reader->failed || finish_sri(reader->md, res->integrity) < 0))
        rc = sb_fail(err, SB_EXIT_INPUT, "bad-tarball", errno, "reading the archive to hash it failed: %s",
                     strerror(errno));
    unpacker_free(&u);
    hashing_reader_free(reader);
    close(fd);
    return rc;
}

void unpack_result_free(struct unpack_result *res)
{
    if (!res) return;
    for (size_t i = 0; i < res->nissues; i++) {
        free(res->issues[i].kind);
        free(res->issues[i].entry);
        free(res->issues[i].detail);
    }
    free(res->issues);
    res->issues = NULL;
    res->nissues = 0;
}
