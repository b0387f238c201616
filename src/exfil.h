/*
 * exfil.h — proof of exfiltration: the run's canaries found in what the package sent out.
 *
 * After the run, exfil_scan() reads the event stream and looks (canary_scan) for every honeypot
 * canary in
 *   payload events  the captured bytes (data_b64), the http target's path and query, every
 *                   header value, the body excerpt, the TLS SNI;
 *   dns events      the query name (labels joined, so hex/base32 split over labels is found);
 *   exec events     the argv (a token passed to curl on its command line);
 *   written files   files the package created or opened for writing outside its own folder
 *                   (HOME, the project, /tmp, /var/tmp, /dev/shm), read before the sandbox
 *                   closed (exfil_collect). A honeypot file the package opened for writing but
 *                   left byte for byte as we made it is not a written file.
 * Each hit becomes one "exfil" line appended to the stream (event_log_add_exfil): source, where
 * ("payload", "dns", "exec", "file"), ref_seq, field, encoding. Within one event each canary is
 * reported once, for the first field it was found in, in the order listed above.
 *
 * The watch (struct exfil_watch) sits beside the event log during the run: it remembers the
 * written paths and recognises the events of our own collector command (a random nonce in its
 * argv), which are not the package's and are kept out of the stream.
 */
#ifndef SCRIPTBOX_EXFIL_H
#define SCRIPTBOX_EXFIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canary.h"
#include "error.h"
#include "events.h"
#include "sandbox.h"

enum {
    EXFIL_MAX_FILES = 256,                   /* written paths remembered */
    EXFIL_FILE_BYTES = 64 * 1024,            /* read per file */
    EXFIL_TOTAL_BYTES = 512 * 1024,          /* read over all files (base64: fits the 1 MiB capture) */
    EXFIL_ARGV_BYTES = 96 * 1024,            /* paths passed to the collector */
    EXFIL_COLLECT_TIMEOUT_MS = 5000,
    EXFIL_MAX_RECORDS = 4096,
};

struct exfil_file {
    char *path;                 /* inside the sandbox */
    uint64_t ref_seq, t_ns;     /* the last event that wrote it */
    int pid, ppid;
    const char *phase;          /* static string (event_log phase) */
    unsigned char *data;        /* contents read by exfil_collect, or NULL */
    size_t len;
    uint64_t size;              /* the file's size when read */
    bool unchanged;             /* a honeypot file still as we wrote it: not scanned */
};

/* A writable area's host seed, to tell our untouched honeypot files from written ones. */
struct exfil_seed {
    const char *sandbox_dir;    /* "/home/dev/project" */
    const char *host_dir;       /* the seed folder on the host */
};

struct exfil_watch {
    const char *package_dir;    /* writes inside it are the package's own business */
    const char *home, *project;
    struct exfil_file files[EXFIL_MAX_FILES];
    size_t nfiles;
    uint64_t files_omitted;
    char nonce[48];             /* in the collector's argv */
    bool collecting;
    int collector_pid;
};

void exfil_watch_init(struct exfil_watch *w, const char *home, const char *project, const char *package_dir);
void exfil_watch_free(struct exfil_watch *w);
/* True when ev is our own collector's (the caller then drops it). */
bool exfil_watch_is_ours(struct exfil_watch *w, const struct sbx_event *ev);
/* Remember a write by ev, logged as event seq in phase. */
void exfil_watch_note(struct exfil_watch *w, const struct sbx_event *ev, uint64_t seq, const char *phase);

/* Read the written files inside the sandbox with one last command (node_path -e ..., bounded),
 * then set aside those equal to their seed. Best effort: files that cannot be read are left
 * unread; -1 (err filled) only when the sandbox refused the command. */
int exfil_collect(struct exfil_watch *w, struct sbx *sb, const char *node_path, const struct exfil_seed *seeds,
                  size_t nseeds, struct sb_error *err);

/* Scan the stream (and w's files, w may be NULL) for canaries c[0..n) and append one exfil line
 * per hit. Returns the number of hits, or -1 (err filled) when out of memory. */
int exfil_scan(struct event_log *l, const struct canary *c, size_t n, const struct exfil_watch *w,
               struct sb_error *err);


#endif
