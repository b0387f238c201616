/*
 * lazylib.c — dlopen() of libcurl and libarchive on first use. See lazylib.h for the contract.
 */
#include "lazylib.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct lazy_sym {
    const char *name;
    size_t offset;     /* of the pointer in the table */
};

/* One library: where it comes from, what to resolve, and where the pointers go. */
struct lazy_lib {
    const char *soname;
    const char *package;   /* the Debian package that ships it, for the fix */
    const struct lazy_sym *syms;
    size_t nsyms;
    void *table;
    void *handle;          /* NULL until loaded */
};

#define CURL_SYM(f) {"curl_" #f, offsetof(struct lazy_curl, f)}
static const struct lazy_sym curl_syms[] = {
    CURL_SYM(global_cleanup), CURL_SYM(easy_init),     CURL_SYM(easy_reset),
    CURL_SYM(easy_setopt),    CURL_SYM(easy_perform),  CURL_SYM(easy_getinfo),
    CURL_SYM(easy_strerror),  CURL_SYM(easy_cleanup),  CURL_SYM(slist_append),
    CURL_SYM(slist_free_all),
};

#define ARCHIVE_SYM(f) {"archive_" #f, offsetof(struct lazy_archive, f)}
static const struct lazy_sym archive_syms[] = {
    ARCHIVE_SYM(read_new),          ARCHIVE_SYM(read_support_filter_gzip),
    ARCHIVE_SYM(read_support_filter_none), ARCHIVE_SYM(read_support_format_tar),
    ARCHIVE_SYM(read_open),         ARCHIVE_SYM(read_next_header),
    ARCHIVE_SYM(read_data_block),   ARCHIVE_SYM(read_free),
    ARCHIVE_SYM(filter_bytes),      ARCHIVE_SYM(filter_count),
    {"archive_errno", offsetof(struct lazy_archive, errno_of)},
    ARCHIVE_SYM(error_string),      ARCHIVE_SYM(set_error),
    ARCHIVE_SYM(entry_filetype),    ARCHIVE_SYM(entry_hardlink),
    ARCHIVE_SYM(entry_mode),        ARCHIVE_SYM(entry_pathname),
    ARCHIVE_SYM(entry_perm),        ARCHIVE_SYM(entry_size),
    ARCHIVE_SYM(entry_size_is_set), ARCHIVE_SYM(entry_symlink),
};

static struct lazy_curl curl_table;
static struct lazy_archive archive_table;

static struct lazy_lib curl_lib = {"libcurl.so.4", "libcurl4", curl_syms,
                                   sizeof curl_syms / sizeof *curl_syms, &curl_table, NULL};
static struct lazy_lib archive_lib = {"libarchive.so.13", "libarchive13", archive_syms,
                                      sizeof archive_syms / sizeof *archive_syms, &archive_table, NULL};

static const char *dl_why(void)
{
    const char *why = dlerror();
    return why ? why : "unknown reason";
}

/* Resolve every symbol into the table; on a missing one the library is closed again. */
static int resolve_all(struct lazy_lib *l, void *h, struct sb_error *err)
{
    for (size_t i = 0; i < l->nsyms; i++) {
        void *p = dlsym(h, l->syms[i].name);
        if (!p) {
            sb_fail(err, SB_EXIT_SANDBOX, "lib-missing", 0, "%s lacks %s (%s): install a current %s (make deps)",
                    l->soname, l->syms[i].name, dl_why(), l->package);
            dlclose(h);
            return -1;
        }
        /* POSIX guarantees a data pointer from dlsym converts to the function pointer it names. */
        memcpy((char *)l->table + l->syms[i].offset, &p, sizeof p);
    }
    return 0;
}

static const void *load(struct lazy_lib *l, struct sb_error *err)
{
    if (l->handle) return l->table;
    void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        sb_fail(err, SB_EXIT_SANDBOX, "lib-missing", 0, "%s cannot be loaded (%s): install %s (make deps)",
                l->soname, dl_why(), l->package);
        return NULL;
    }
    if (resolve_all(l, h, err) < 0) return NULL;
    l->handle = h;
    return l->table;
}

/* Clear the table first: a stale pointer would then crash at once instead of calling unmapped code. */
/* Under AddressSanitizer the libraries stay mapped: LeakSanitizer's scan at exit reads every
 * thread's TLS vector, where dlclose leaves the entries of unloaded modules (GnuTLS, under
 * curl, has TLS), and its tracer then faults ("Tracer caught signal 11"). The unload only
 * lowers RSS, which sanitizer builds do not measure. */
#if defined(__SANITIZE_ADDRESS__)
#define UNLOAD_LIBRARIES 0
#else
#define UNLOAD_LIBRARIES 1
#endif

static void unload(struct lazy_lib *l, size_t table_size)
{
    if (!l->handle || !UNLOAD_LIBRARIES) return;
    memset(l->table, 0, table_size);
    dlclose(l->handle);
    l->handle = NULL;
}

const struct lazy_curl *lazy_curl(struct sb_error *err) { return load(&curl_lib, err); }
const struct lazy_archive *lazy_archive(struct sb_error *err) { return load(&archive_lib, err); }

/* libcurl's threaded resolver detaches a thread still resolving when a transfer gives up; its
 * code must stay mapped under it. scriptbox's supervisor is otherwise single-threaded. */
static bool single_threaded(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d) return false;
    int n = 0;
    const struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n == 1;
}

void lazy_curl_unload(void)
{
    if (!curl_lib.handle || !single_threaded()) return;
    /* curl_easy_init() ran curl_global_init() implicitly; undo it before the code goes away. */
    curl_table.global_cleanup();
    unload(&curl_lib, sizeof curl_table);
}

void lazy_archive_unload(void) { unload(&archive_lib, sizeof archive_table); }
