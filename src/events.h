/*
 * events.h — the run's event stream: every sbx_event the sandbox reports, as one JSON line.
 *
 * Each line: {"seq":N,"t_ns":N,"pid":N,"ppid":N,"phase":"postinstall","kind":"exec",...}
 * seq strictly increases from 1. The stream is bounded (max_bytes); past the bound events are
 * counted but dropped, and one final {"kind":"truncated",...} line says how many. The stream is
 * the single source of truth for rules and report, and can be saved and re-judged later.
 */
#ifndef SCRIPTBOX_EVENTS_H
#define SCRIPTBOX_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "jsonw.h"
#include "sandbox.h"

enum {
    EVENTS_MAX_SYSCALLS = 96,
    EVENTS_EXCERPT_BYTES = 512,          /* payload excerpt, http body_excerpt */
    EVENTS_MAX_HEADERS = 100,            /* http headers written per payload event */
    EVENTS_EXFIL_RESERVE = 2 * 1024 * 1024,   /* exfil lines may go this far past max_bytes */
};

/* One canary hit, appended by scriptbox after the run (kind "exfil"). */
struct exfil_record {
    uint64_t ref_seq;      /* the event the canary was found in */
    uint64_t t_ns;         /* that event's time */
    int pid, ppid;
    const char *phase;     /* that event's phase */
    const char *source;    /* "env:NPM_TOKEN", "file:~/.npmrc" */
    const char *where;     /* "payload" | "dns" | "exec" | "file" */
    const char *field;     /* "http.query", "data", "name", "argv", a path */
    const char *encoding;  /* decode chain: "raw", "url>base64", "dns>hex" */
};

struct syscall_count {
    char *name;         /* our copy (an event's strings live as long as its callback) */
    uint64_t count;
};

struct event_log {
    struct jsonw out;          /* all lines, '\n'-terminated */
    struct jsonw line;         /* scratch for one event */
    size_t max_bytes;
    uint64_t seq;
    uint64_t dropped;
    const char *phase;         /* current lifecycle phase (static string) */
    uint64_t by_kind[SBX_EV_KIND_COUNT];
    struct syscall_count syscalls[EVENTS_MAX_SYSCALLS];
    size_t nsyscalls;
    uint64_t nexfil;           /* exfil lines added (kind "exfil": not an sbx kind) */
};

void event_log_init(struct event_log *l, size_t max_bytes);
void event_log_free(struct event_log *l);
void event_log_set_phase(struct event_log *l, const char *phase);
/* An sbx_event_fn: ctx is the struct event_log. */
void event_log_add(void *ctx, const struct sbx_event *ev);
/* Append one "exfil" line (after the run, before event_log_finish). Kept past max_bytes up to
 * EVENTS_EXFIL_RESERVE: a hit must not be lost because the run was chatty. */
void event_log_add_exfil(struct event_log *l, const struct exfil_record *x);
/* Close the stream (adds the truncation line if needed). */
void event_log_finish(struct event_log *l);
int event_log_save(const struct event_log *l, const char *path, struct sb_error *err);
const char *event_kind_name(sbx_event_kind k);

#endif
