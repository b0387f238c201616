/*
 * unpack.h — the hardened unpacker: the only code that turns package bytes into files.
 *
 * Reads a gzip'd (or plain) tar with libarchive and writes regular files, folders and symlinks
 * below dest_dirfd, created with openat/mkdirat/symlinkat relative to already-opened folders and
 * never following a symlink (O_NOFOLLOW, O_EXCL, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS). npm's single
 * top folder ("package/" or any other name) is stripped.
 *
 * Entries that are unsafe are skipped and recorded as issues (the analysis goes on; the issues
 * reach the report and the rules): absolute paths, "..", links or paths that would escape, hard
 * links, device/FIFO/socket entries, names that collide after normalisation, over-long names.
 * setuid/setgid/sticky bits are stripped (recorded). The archive is refused (returns -1 with
 * SB_EXIT_INPUT, code "bad-tarball" or "tar-bomb") when it is corrupt or truncated, or when it
 * exceeds the entry-count or byte limits (tar bombs, including sparse or huge size claims):
 * then whatever was written so far is left for the caller to remove with its work dir.
 *
 * It also computes the SRI sha512 integrity of the exact bytes read (the whole file, as npm's
 * "integrity" field), reading through its own callback over an fd: the archive is read once.
 *
 * npm strips the first path component of every entry whatever it is; so do we. The first top
 * folder becomes top_folder; entries under a different one are unpacked the same way but reported
 * ("extra-top-folder", once per folder); an entry with no folder at all is skipped
 * ("no-top-folder"). When two entries name the same path after normalisation the later one is
 * skipped ("name-collision"); note npm keeps the later one, so a collision means what npm would
 * install may differ from what was analysed.
 *
 * Symlinks are created only when the target is relative, has every ".." before any name, and does
 * not climb above the package root from the link's folder. Files end up 0644, or 0755 when the
 * owner-exec bit was set; folders 0755.
 */
#ifndef SCRIPTBOX_UNPACK_H
#define SCRIPTBOX_UNPACK_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct unpack_limits {
    uint64_t max_entries;      /* default 100000 - 1: 100k entries is a bomb */
    uint64_t max_total_bytes;  /* sum of sizes claimed by all entries (and of bytes written); 512 MiB */
    uint64_t max_file_bytes;   /* one file; default 256 MiB */
    size_t max_path_len;       /* default 1024 */
    unsigned max_depth;        /* path components; default 64 */
};

/* Fill l with the defaults above. */
void unpack_limits_default(struct unpack_limits *l);

struct unpack_issue {
    char *kind;     /* "absolute-path" "dot-dot" "symlink-escape" "hardlink" "special-file"
                       "setid-bits" "name-collision" "name-too-long" "too-deep" "bad-name"
                       "extra-top-folder" "no-top-folder" */
    char *entry;    /* the entry name as stored in the archive (escaped for display) */
    char *detail;   /* what was done: "skipped", "mode 04755 -> 0755", ... */
};

struct unpack_result {
    char integrity[128];       /* "sha512-<base64>" of the archive bytes */
    char top_folder[256];      /* the stripped top folder, e.g. "package" */
    uint64_t entries;          /* entries read */
    uint64_t files;            /* regular files written */
    uint64_t bytes;            /* bytes written */
    struct unpack_issue *issues;
    size_t nissues;
    uint64_t issues_dropped;   /* issues not listed: at most 100 are kept per kind */
};

/* Unpack archive_path (a regular file) below dest_dirfd (an open folder, typically empty).
 * lim may be NULL for the defaults. res is always initialised; free it with unpack_result_free
 * whatever the return value. Errors: SB_EXIT_INPUT "bad-tarball"/"tar-bomb" for the archive,
 * SB_EXIT_SANDBOX "unpack-write" when the work folder cannot be written, "internal". */
int unpack_tarball(const char *archive_path, int dest_dirfd, const struct unpack_limits *lim,
                   struct unpack_result *res, struct sb_error *err);
void unpack_result_free(struct unpack_result *res);

/* SRI sha512 ("sha512-<base64>") of a file's bytes. */
int unpack_file_integrity(const char *path, char out[128], struct sb_error *err);

#endif
