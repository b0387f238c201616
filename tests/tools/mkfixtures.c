/*
 * mkfixtures.c — writes the unpacker's hostile (and a few benign) tarballs into the folder given
 * as argv[1]. Host-side test tool.
 *
 * It only ever writes archive bytes into files named below in that folder: every hostile path
 * ("../../evil", "/tmp/...", links to /etc) exists only as a name inside an archive. Output is
 * deterministic: fixed mtimes, uid/gid 0, no user names, gzip without a timestamp.
 *
 * Usage: mkfixtures [--with-manifest] OUTDIR
 * --with-manifest starts every "package/" archive with a package.json, so that the whole CLI can
 * be run on them (the unpacker's own tests want the archives exactly as listed here).
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXED_MTIME 1700000000
#define GIB (1024ull * 1024 * 1024)
#define BLOCK 512

enum compression { PLAIN, GZIP };

/* ---- output ------------------------------------------------------------------------------ */

struct outdir {
    int fd;
};

static void die(const char *what, const char *why)
{
    fprintf(stderr, "mkfixtures: %s: %s\n", what, why);
    exit(1);
}

static int create_output(struct outdir *o, const char *name)
{
    int fd = openat(o->fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) die(name, "cannot create");
    return fd;
}

static void write_bytes(struct outdir *o, const char *name, const void *data, size_t len)
{
    int fd = create_output(o, name);
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w <= 0) die(name, "write failed");
        p += w;
        len -= (size_t)w;
    }
    if (close(fd) < 0) die(name, "close failed");
}

/* ---- in-memory buffers ------------------------------------------------------------------- */

struct membuf {
    unsigned char *p;
    size_t len, cap;
};

static void membuf_put(struct membuf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap : 65536;
        while (ncap < b->len + n) ncap *= 2;
        unsigned char *np = realloc(b->p, ncap);
        if (!np) die("memory", "out of memory");
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static la_ssize_t membuf_write(struct archive *a, void *opaque, const void *data, size_t n)
{
    (void)a;
    membuf_put(opaque, data, n);
    return (la_ssize_t)n;
}

/* ---- archive writing --------------------------------------------------------------------- */

static void check(struct archive *a, int r, const char *what)
{
    if (r != ARCHIVE_OK) die(what, archive_error_string(a) ? archive_error_string(a) : "libarchive error");
}

static void set_gzip(struct archive *a, int level)
{
    char lv[4];
    check(a, archive_write_add_filter_gzip(a), "gzip filter");
    check(a, archive_write_set_bytes_in_last_block(a, 1), "no padding after the gzip stream");
    /* No timestamp in the gzip header: the bytes must not depend on when we ran. */
    check(a, archive_write_set_filter_option(a, "gzip", "timestamp", NULL), "gzip !timestamp");
    snprintf(lv, sizeof lv, "%d", level);
    check(a, archive_write_set_filter_option(a, "gzip", "compression-level", lv), "gzip level");
}

/* A tar writer (pax where needed, ustar otherwise, like npm's node-tar) into memory; tar_save
 * writes the result to a file of o. */
struct tar_out {
    struct archive *a;
    struct membuf buf;
    const char *name;
};

static struct archive *tar_open_opts(struct tar_out *t, const char *name, enum compression c, int level,
                                     const char *options)
{
    memset(t, 0, sizeof *t);
    t->name = name;
    t->a = archive_write_new();
    if (!t->a) die(name, "archive_write_new");
    check(t->a, archive_write_set_format_pax_restricted(t->a), "pax format");
    if (options) check(t->a, archive_write_set_options(t->a, options), options);
    if (c == GZIP) set_gzip(t->a, level);
    check(t->a, archive_write_set_bytes_in_last_block(t->a, 1), "last block");
    check(t->a, archive_write_open(t->a, &t->buf, NULL, membuf_write, NULL), name);
    return t->a;
}

static bool with_manifest;

static void add_file(struct archive *a, const char *path, mode_t mode, const char *data);

static struct archive *tar_open(struct tar_out *t, const char *name, enum compression c, int level)
{
    struct archive *a = tar_open_opts(t, name, c, level, NULL);
    if (with_manifest) {
        char manifest[256];
        snprintf(manifest, sizeof manifest, "{\"name\":\"fixture-%.*s\",\"version\":\"1.0.0\"}\n",
                 (int)strcspn(name, "."), name);
        add_file(a, "package/package.json", 0644, manifest);
    }
    return a;
}

static void tar_close(struct archive *a, const char *name)
{
    check(a, archive_write_close(a), name);
    archive_write_free(a);
}

static void tar_save(struct outdir *o, struct tar_out *t)
{
    tar_close(t->a, t->name);
    write_bytes(o, t->name, t->buf.p, t->buf.len);
    free(t->buf.p);
}

static struct archive *tar_open_mem(struct membuf *b)
{
    struct archive *a = archive_write_new();
    if (!a) die("memory tar", "archive_write_new");
    check(a, archive_write_set_format_pax_restricted(a), "pax format");
    check(a, archive_write_set_bytes_in_last_block(a, 1), "last block");
    check(a, archive_write_open(a, b, NULL, membuf_write, NULL), "open memory tar");
    return a;
}

static struct archive_entry *new_entry(const char *path, mode_t type, mode_t perm)
{
    struct archive_entry *e = archive_entry_new();
    if (!e) die(path, "archive_entry_new");
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_mtime(e, FIXED_MTIME, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    return e;
}

static void put_entry(struct archive *a, struct archive_entry *e, const void *data, size_t len)
{
    check(a, archive_write_header(a, e), archive_entry_pathname(e));
    if (len && archive_write_data(a, data, len) != (la_ssize_t)len) die(archive_entry_pathname(e), "data");
    archive_entry_free(e);
}

/* add_file keeps the mode bits exactly as given (setuid included): the unpacker must fix them. */
static void add_file(struct archive *a, const char *path, mode_t mode, const char *data)
{
    size_t len = strlen(data);
    struct archive_entry *e = new_entry(path, AE_IFREG, mode);
    archive_entry_set_size(e, (la_int64_t)len);
    put_entry(a, e, data, len);
}

static void add_dir(struct archive *a, const char *path, mode_t mode)
{
    put_entry(a, new_entry(path, AE_IFDIR, mode), NULL, 0);
}

static void add_symlink(struct archive *a, const char *path, const char *target)
{
    struct archive_entry *e = new_entry(path, AE_IFLNK, 0777);
    archive_entry_set_symlink(e, target);
    put_entry(a, e, NULL, 0);
}

static void add_hardlink(struct archive *a, const char *path, const char *target)
{
    struct archive_entry *e = new_entry(path, AE_IFREG, 0644);
    archive_entry_set_hardlink(e, target);
    archive_entry_set_size(e, 0);
    put_entry(a, e, NULL, 0);
}

static void add_special(struct archive *a, const char *path, mode_t type, unsigned maj, unsigned min)
{
    struct archive_entry *e = new_entry(path, type, 0644);
    archive_entry_set_rdevmajor(e, maj);
    archive_entry_set_rdevminor(e, min);
    put_entry(a, e, NULL, 0);
}

/* gzip arbitrary bytes (the "raw" format writes one entry's data as is). */
static void write_gzipped(struct outdir *o, const char *name, const void *data, size_t len)
{
    struct membuf gz = {0};
    struct archive *a = archive_write_new();
    if (!a) die(name, "archive_write_new");
    set_gzip(a, 6);
    check(a, archive_write_set_format_raw(a), "raw format");
    check(a, archive_write_open(a, &gz, NULL, membuf_write, NULL), name);
    struct archive_entry *e = new_entry("data", AE_IFREG, 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    put_entry(a, e, data, len);
    tar_close(a, name);
    write_bytes(o, name, gz.p, gz.len);
    free(gz.p);
}

/* ---- hand-made tar headers (for claims libarchive's writer would honour by writing 10 GiB) -- */

static void put_octal(unsigned char *field, size_t width, uint64_t v)
{
    snprintf((char *)field, width, "%0*llo", (int)width - 1, (unsigned long long)v);
}

/* GNU base-256: high bit of the first byte set, big-endian value. */
static void put_base256(unsigned char *field, size_t width, uint64_t v)
{
    memset(field, 0, width);
    field[0] = 0x80;
    for (size_t i = width - 1; i > 0 && v; i--, v >>= 8) field[i] = (unsigned char)(v & 0xff);
}

static void seal_header(unsigned char h[BLOCK])
{
    unsigned sum = 0;
    memset(h + 148, ' ', 8);
    for (int i = 0; i < BLOCK; i++) sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
}

static void gnu_header(unsigned char h[BLOCK], const char *name, char type, uint64_t size)
{
    memset(h, 0, BLOCK);
    snprintf((char *)h, 100, "%s", name);
    put_octal(h + 100, 8, 0644);
    put_octal(h + 108, 8, 0);
    put_octal(h + 116, 8, 0);
    put_base256(h + 124, 12, size);
    put_octal(h + 136, 12, FIXED_MTIME);
    h[156] = (unsigned char)type;
    memcpy(h + 257, "ustar  ", 8);   /* GNU magic + version */
}

/* A regular file whose header claims 10 GiB, followed by one block of data and nothing else. */
static void make_huge_size(struct outdir *o)
{
    struct membuf t = {0};
    unsigned char h[BLOCK], data[BLOCK];
    gnu_header(h, "package/huge.bin", '0', 10 * GIB);
    seal_header(h);
    memset(data, 'x', sizeof data);
    membuf_put(&t, h, BLOCK);
    membuf_put(&t, data, BLOCK);
    write_gzipped(o, "huge-size.tgz", t.p, t.len);
    free(t.p);
}

/* An old-GNU sparse file: 512 bytes stored, at offset 10 GiB - 512, real size 10 GiB. */
static void make_huge_sparse(struct outdir *o)
{
    struct membuf t = {0};
    unsigned char h[BLOCK], data[BLOCK], zero[2 * BLOCK] = {0};
    gnu_header(h, "package/sparse.bin", 'S', BLOCK);
    put_base256(h + 386, 12, 10 * GIB - BLOCK);   /* sparse[0].offset */
    put_octal(h + 398, 12, BLOCK);                /* sparse[0].numbytes */
    h[482] = 0;                                   /* isextended */
    put_base256(h + 483, 12, 10 * GIB);           /* realsize */
    seal_header(h);
    memset(data, 'y', sizeof data);
    membuf_put(&t, h, BLOCK);
    membuf_put(&t, data, BLOCK);
    membuf_put(&t, zero, sizeof zero);
    write_gzipped(o, "huge-sparse.tgz", t.p, t.len);
    free(t.p);
}

/* ---- the fixtures ------------------------------------------------------------------------ */

static void make_benign(struct outdir *o, const char *name, enum compression c)
{
    char longname[400];
    struct tar_out t;
    struct archive *a = tar_open(&t, name, c, 6);
    add_dir(a, "package/", 0755);
    add_file(a, "package/package.json", 0644, "{\"name\":\"benign\",\"version\":\"1.0.0\"}\n");
    add_file(a, "package/index.js", 0664, "module.exports = 42;\n");
    add_file(a, "package/bin/cli.js", 0775, "#!/usr/bin/env node\n");
    add_dir(a, "package/lib/", 0700);
    add_file(a, "package/lib/util.js", 0600, "exports.x = 1;\n");
    add_symlink(a, "package/lib/alias.js", "util.js");
    add_symlink(a, "package/docs/readme-link", "../index.js");
    add_file(a, "package/uni/\xc3\xa9t\xc3\xa9.txt", 0644, "unicode\n");
    snprintf(longname, sizeof longname, "package/long/%0200d/x.txt", 0);
    add_file(a, longname, 0644, "long\n");
    tar_save(o, &t);
}

static void make_custom_top(struct outdir *o)
{
    struct tar_out t;
    struct archive *a = tar_open(&t, "custom-top.tgz", GZIP, 6);
    add_file(a, "node/package.json", 0644, "{\"name\":\"custom\",\"version\":\"1.0.0\"}\n");
    add_file(a, "node/lib/a.js", 0644, "a\n");
    tar_save(o, &t);
}

static void make_mixed_top(struct outdir *o)
{
    struct tar_out t;
    struct archive *a = tar_open(&t, "mixed-top.tgz", GZIP, 6);
    add_file(a, "package/a.js", 0644, "a\n");
    add_file(a, "README", 0644, "top-level file, no folder\n");
    add_file(a, "other/b.js", 0644, "b\n");
    add_file(a, "other/c.js", 0644, "c\n");
    tar_save(o, &t);
}

static void make_traversal(struct outdir *o)
{
    struct tar_out t;
    struct archive *a = tar_open(&t, "traversal.tgz", GZIP, 6);
    add_file(a, "package/ok.txt", 0644, "ok\n");
    add_file(a, "package/../../evil", 0644, "evil\n");
    add_file(a, "package/a/../../evil", 0644, "evil\n");
    add_file(a, "../evil", 0644, "evil\n");
    tar_save(o, &t);
}

static void make_absolute(struct outdir *o)
{
    struct tar_out t;
    struct archive *a = tar_open(&t, "absolute.tgz", GZIP, 6);
    add_file(a, "/tmp/scriptbox-fixture-evil", 0644, "evil\n");
    add_file(a, "package/ok.txt", 0644, "ok\n");
    tar_save(o, &t);
}

static void make_symlink_escape(struct outdir *o)
{
    struct tar_out t;
    struct archive *a = tar_open(&t, "symlink-escape.tgz", GZIP, 6);
    add_symlink(a, "package/link", "../../..");
    add_file(a, "package/link/scriptbox-fixture-evil", 0644, "evil\n");
    tar_save(o, &t);
}

static void make_symlink_etc(struct outdir *o)
{
    struct tar_out t;
    struct archive *a = tar_open(&t, "symlink-etc.tgz", GZIP, 6);
    add_symlink(a, "package/etc", "/etc");
    add_file(a, "package/etc/scriptbox-fixture-evil", 0644, "evil\n");
    tar_save(o, &t);
}

/* Links that are allowed (inside), then entries that try to write through them, and link
 * chains that only look inside lexically ("r -> ." then "e -> r/.."). */
static void make_symlink_through(struct outdir *o)
{
    struct tar_out t;
    struct archive *a = tar_open(&t, "symlink-through.tgz", GZIP, 6);
    add_file(a, "package/index.js", 0644, "i\n");
    add_dir(a, "package/sub/", 0755);
    add_symlink(a, "package/inner", "sub");
    add_file(a, "package/inner/x.txt", 0644, "through\n");
    add_symlink(a, "package/r", ".");
    add_symlink(a, "package/e", "r/..");
    add_symlink(a, "package/up", "..");
    add_symlink(a, "package/sub/ok", "../index.js");
    add_symlink(a, "package/sub/deep", "../../x");
    tar_save(o, &t);
}

/* Names a test pre-creates as symlinks in the work folder before unpacking. */
static void make_through_existing(struct outdir *o)
{
    struct tar_out t;
    struct archive *a = tar_open(&t, "through-existing.tgz", GZIP, 6);
    add_file(a, "package/pre/scriptbox-fixture-evil", 0644, "evil\n");
    add_file(a, "package/prefile", 0644, "evil\n");
    add_file(a, "package/ok.txt", 0644, "ok\n");
    tar_save(o, &t);
}

static void make_hardlink(struct outdir *o)
{
    struct tar_out t;
    struct archive *a = tar_open(&t, "hardlink.tgz", GZIP, 6);
    add_file(a, "package/a.txt", 0644, "a\n");
    add_hardlink(a, "package/passwd", "/etc/passwd");
    add_hardlink(a, "package/b.txt", "package/a.txt");
    tar_save(o, &t);
}

static void make_chardev(struct outdir *o)
{
    struct tar_out t;
    struct archive *a = tar_open(&t, "chardev.tgz", GZIP, 6);
    add_special(a, "package/null", AE_IFCHR, 1, 3);
    add_special(a, "package/sda", AE_IFBLK, 8, 0);
    add_file(a, "package/ok.txt", 0644, "ok\n");
    tar_save(o, &t);
}

static void make_fifo(struct outdir *o)
{
    struct tar_out t;
    struct archive *a = tar_open(&t, "fifo.tgz", GZIP, 6);
    add_special(a, "package/fifo", AE_IFIFO, 0, 0);
    add_file(a, "package/ok.txt", 0644, "ok\n");
    tar_save(o, &t);
}

static void make_setuid(struct outdir *o)
{
    struct tar_out t;
    struct archive *a = tar_open(&t, "setuid.tgz", GZIP, 6);
    add_file(a, "package/suid", 04755, "s\n");
    add_file(a, "package/sgid", 02644, "g\n");
    add_dir(a, "package/sticky/", 01777);
    add_file(a, "package/plain", 0777, "p\n");
    tar_save(o, &t);
}

static void make_collision(struct outdir *o)
{
    struct tar_out t;
    struct archive *a = tar_open(&t, "collision.tgz", GZIP, 6);
    add_file(a, "package/a/b", 0644, "one\n");
    add_file(a, "package/a//b", 0644, "two\n");
    add_file(a, "package/./c", 0644, "one\n");
    add_file(a, "package/c", 0644, "two\n");
    add_file(a, "package/d", 0644, "one\n");
    add_file(a, "package/d", 0644, "two\n");
    add_dir(a, "package/e/", 0755);
    add_file(a, "package/e", 0644, "two\n");
    add_dir(a, "package/f", 0755);
    add_dir(a, "package/f/", 0755);
    add_file(a, "package/g", 0644, "one\n");
    add_file(a, "package/g/h", 0644, "two\n");
    add_file(a, "package/Case", 0644, "upper\n");
    add_file(a, "package/case", 0644, "lower\n");
    tar_save(o, &t);
}

static void make_names(struct outdir *o)
{
    char longname[1200], deep[400], ok_deep[400], longcomp[400];
    struct tar_out t;
    struct archive *a = tar_open(&t, "names.tgz", GZIP, 6);
    add_file(a, "package/bad\x01name", 0644, "x\n");
    add_file(a, "package/new\nline", 0644, "x\n");
    add_file(a, "package/del\x7f", 0644, "x\n");
    snprintf(longname, sizeof longname, "package/%01100d", 0);
    add_file(a, longname, 0644, "x\n");
    snprintf(longcomp, sizeof longcomp, "package/%0300d", 0);
    add_file(a, longcomp, 0644, "x\n");
    strcpy(deep, "package/");
    for (int i = 0; i < 65; i++) strcat(deep, "d/");
    strcat(deep, "x");                       /* 66 levels below the top folder */
    add_file(a, deep, 0644, "x\n");
    strcpy(ok_deep, "package/");
    for (int i = 0; i < 63; i++) strcat(ok_deep, "d/");
    strcat(ok_deep, "y");                    /* exactly 64 */
    add_file(a, ok_deep, 0644, "y\n");
    add_file(a, "package/ok.txt", 0644, "ok\n");
    tar_save(o, &t);
}

/* 100 000 tiny files plus the top folder: one entry over the default limit. Level 1 keeps it
 * quick to make. */
static void make_many_entries(struct outdir *o)
{
    char path[64];
    struct tar_out t;
    struct archive *a = tar_open(&t, "many-entries.tgz", GZIP, 1);
    add_dir(a, "package/", 0755);
    for (int i = 0; i < 100000; i++) {
        snprintf(path, sizeof path, "package/f%06d", i);
        add_file(a, path, 0644, "x");
    }
    tar_save(o, &t);
}

/* 150 FIFOs: more issues of one kind than the result keeps. */
static void make_many_issues(struct outdir *o)
{
    char path[64];
    struct tar_out t;
    struct archive *a = tar_open(&t, "many-issues.tgz", GZIP, 6);
    for (int i = 0; i < 150; i++) {
        snprintf(path, sizeof path, "package/fifo%03d", i);
        add_special(a, path, AE_IFIFO, 0, 0);
    }
    add_symlink(a, "package/escape", "/etc");
    tar_save(o, &t);
}

/* Names that are legal but must be escaped when shown: a right-to-left override, invalid UTF-8,
 * a backslash; valid UTF-8 stays as it is. FIFOs, so each one produces an issue to look at. */
static void make_display(struct outdir *o)
{
    struct tar_out t;
    /* Raw name bytes (pax "hdrcharset=BINARY"): invalid UTF-8 cannot be converted. */
    struct archive *a = tar_open_opts(&t, "display.tgz", GZIP, 6, "pax:hdrcharset=BINARY");
    add_special(a, "package/\xe2\x80\xaesj.exe", AE_IFIFO, 0, 0);
    add_special(a, "package/bad\xffutf8", AE_IFIFO, 0, 0);
    add_special(a, "package/back\\slash", AE_IFIFO, 0, 0);
    add_special(a, "package/ok-\xc3\xa9", AE_IFIFO, 0, 0);
    tar_save(o, &t);
}

/* Few entries, no data, but large pax headers (a 300 KiB extended attribute each, twice in base64): work for the
 * reader that no size claim accounts for. */
static void make_header_bomb(struct outdir *o)
{
    enum { VALUE = 300 * 1024 };   /* ~800 KiB of pax header: under libarchive's 1 MiB cap */
    char *value = malloc(VALUE), path[64];
    if (!value) die("header bomb", "out of memory");
    memset(value, 'h', VALUE);
    struct tar_out t;
    struct archive *a = tar_open(&t, "header-bomb.tgz", GZIP, 6);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "package/h%d", i);
        struct archive_entry *e = new_entry(path, AE_IFREG, 0644);
        archive_entry_set_size(e, 0);
        archive_entry_xattr_add_entry(e, "user.pad", value, VALUE);
        put_entry(a, e, NULL, 0);
    }
    tar_save(o, &t);
    free(value);
}

/* A tgz inside another gzip layer: npm gunzips once, so this is not an npm tarball. */
static void make_double_gzip(struct outdir *o)
{
    struct tar_out t;
    struct archive *a = tar_open(&t, "double-gzip.tgz", GZIP, 6);
    add_file(a, "package/index.js", 0644, "x\n");
    tar_close(a, t.name);
    write_gzipped(o, t.name, t.buf.p, t.buf.len);
    free(t.buf.p);
}

static void make_truncated(struct outdir *o)
{
    char big[8192];
    memset(big, 'z', sizeof big);
    big[sizeof big - 1] = 0;
    struct membuf t = {0};
    struct archive *a = tar_open_mem(&t);
    add_file(a, "package/ok.txt", 0644, "ok\n");
    add_file(a, "package/big.bin", 0644, big);
    tar_close(a, "memory tar");
    /* Cut the tar in the middle of big.bin's data; the gzip stream around it is complete. */
    write_gzipped(o, "truncated-tar.tgz", t.p, 4 * BLOCK + 100);
    /* And a complete tar in a gzip stream cut in half. */
    struct membuf gz = {0};
    a = archive_write_new();
    set_gzip(a, 6);
    check(a, archive_write_set_format_raw(a), "raw");
    check(a, archive_write_open(a, &gz, NULL, membuf_write, NULL), "gz");
    struct archive_entry *e = new_entry("data", AE_IFREG, 0644);
    archive_entry_set_size(e, (la_int64_t)t.len);
    put_entry(a, e, t.p, t.len);
    tar_close(a, "gz");
    write_bytes(o, "truncated-gzip.tgz", gz.p, gz.len / 2);
    free(gz.p);
    free(t.p);
}

static void make_bad_gzip(struct outdir *o)
{
    unsigned char b[256];
    b[0] = 0x1f, b[1] = 0x8b, b[2] = 8, b[3] = 0;
    for (size_t i = 4; i < sizeof b; i++) b[i] = (unsigned char)(i * 37 + 11);
    write_bytes(o, "bad-gzip.tgz", b, sizeof b);
}

static void make_zip(struct outdir *o)
{
    struct membuf z = {0};
    struct archive *a = archive_write_new();
    if (!a) die("zip", "archive_write_new");
    check(a, archive_write_set_format_zip(a), "zip");
    check(a, archive_write_set_bytes_in_last_block(a, 1), "no padding");
    check(a, archive_write_open(a, &z, NULL, membuf_write, NULL), "zip");
    add_file(a, "package/index.js", 0644, "zip\n");
    tar_close(a, "zip");
    write_bytes(o, "not-tar.zip", z.p, z.len);
    free(z.p);
}

int main(int argc, char **argv)
{
    with_manifest = argc == 3 && !strcmp(argv[1], "--with-manifest");
    if (argc != 2 + with_manifest) {
        fprintf(stderr, "usage: mkfixtures [--with-manifest] OUTDIR\n");
        return 2;
    }
    argv += with_manifest;
    /* Names are UTF-8 bytes; libarchive's pax writer converts from the locale's charset. */
    if (!setlocale(LC_CTYPE, "C.UTF-8")) die("setlocale", "C.UTF-8 is not available");
    struct outdir o = {.fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (o.fd < 0) die(argv[1], "cannot open the output folder");
    make_benign(&o, "benign.tgz", GZIP);
    make_benign(&o, "benign.tar", PLAIN);
    make_custom_top(&o);
    make_mixed_top(&o);
    make_traversal(&o);
    make_absolute(&o);
    make_symlink_escape(&o);
    make_symlink_etc(&o);
    make_symlink_through(&o);
    make_through_existing(&o);
    make_hardlink(&o);
    make_chardev(&o);
    make_fifo(&o);
    make_setuid(&o);
    make_collision(&o);
    make_names(&o);
    make_many_entries(&o);
    make_many_issues(&o);
    make_display(&o);
    make_header_bomb(&o);
    make_double_gzip(&o);
    make_huge_size(&o);
    make_huge_sparse(&o);
    make_truncated(&o);
    make_bad_gzip(&o);
    make_zip(&o);
    close(o.fd);
    return 0;
}
