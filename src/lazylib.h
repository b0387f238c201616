/*
 * lazylib.h — libcurl and libarchive, loaded with dlopen() on first use.
 *
 * Why: linked at start-up the two drag in ~35 more shared libraries (LDAP, Kerberos, GnuTLS,
 * ICU, libxml2, ...) that cost every run ~7 MiB RSS and ~4 ms, while only registry intake needs
 * curl and only tarball targets need libarchive. The scriptbox binary therefore does not link
 * them; it includes their headers for the types and constants and calls them through the typed
 * function pointers below (the real prototypes, via __typeof__).
 *
 * Contract:
 *   - lazy_curl()/lazy_archive() load the runtime SONAME (libcurl.so.4, libarchive.so.13) with
 *     RTLD_NOW | RTLD_LOCAL and resolve every pointer, once; later calls return the same table.
 *   - On failure they return NULL and fill err: SB_EXIT_SANDBOX, code "lib-missing", one line
 *     naming the library, dlerror() and the fix. Nothing is printed. A failed load is retried
 *     on the next call.
 *   - lazy_curl_unload()/lazy_archive_unload() drop the library when no pointer, handle or
 *     string obtained from it is used any more (curl: after curl_global_cleanup, which unload
 *     calls). The next lazy_*() call loads it again.
 *   - Not thread-safe: scriptbox calls these from its single supervisor thread.
 */
#ifndef SCRIPTBOX_LAZYLIB_H
#define SCRIPTBOX_LAZYLIB_H

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>

#include "error.h"

/* Field names drop the "curl_" prefix: curl_easy_setopt is also a type-checking macro in
 * <curl/curl.h>, and lc->curl_easy_setopt(...) would expand it. */
struct lazy_curl {
    __typeof__(curl_global_cleanup) *global_cleanup;
    __typeof__(curl_easy_init) *easy_init;
    __typeof__(curl_easy_reset) *easy_reset;
    __typeof__(curl_easy_setopt) *easy_setopt;
    __typeof__(curl_easy_perform) *easy_perform;
    __typeof__(curl_easy_getinfo) *easy_getinfo;
    __typeof__(curl_easy_strerror) *easy_strerror;
    __typeof__(curl_easy_cleanup) *easy_cleanup;
    __typeof__(curl_slist_append) *slist_append;
    __typeof__(curl_slist_free_all) *slist_free_all;
};

/* Field names drop the "archive_" prefix; archive_errno is errno_of (errno is a macro). */
struct lazy_archive {
    __typeof__(archive_read_new) *read_new;
    __typeof__(archive_read_support_filter_gzip) *read_support_filter_gzip;
    __typeof__(archive_read_support_filter_none) *read_support_filter_none;
    __typeof__(archive_read_support_format_tar) *read_support_format_tar;
    __typeof__(archive_read_open) *read_open;
    __typeof__(archive_read_next_header) *read_next_header;
    __typeof__(archive_read_data_block) *read_data_block;
    __typeof__(archive_read_free) *read_free;
    __typeof__(archive_filter_bytes) *filter_bytes;
    __typeof__(archive_filter_count) *filter_count;
    __typeof__(archive_errno) *errno_of;
    __typeof__(archive_error_string) *error_string;
    __typeof__(archive_set_error) *set_error;
    __typeof__(archive_entry_filetype) *entry_filetype;
    __typeof__(archive_entry_hardlink) *entry_hardlink;
    __typeof__(archive_entry_mode) *entry_mode;
    __typeof__(archive_entry_pathname) *entry_pathname;
    __typeof__(archive_entry_perm) *entry_perm;
    __typeof__(archive_entry_size) *entry_size;
    __typeof__(archive_entry_size_is_set) *entry_size_is_set;
    __typeof__(archive_entry_symlink) *entry_symlink;
};

const struct lazy_curl *lazy_curl(struct sb_error *err);
const struct lazy_archive *lazy_archive(struct sb_error *err);
void lazy_curl_unload(void);
void lazy_archive_unload(void);

#endif
