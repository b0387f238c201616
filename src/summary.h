/*
 * summary.h — what the report says about behaviour, computed from the event stream alone.
 *
 * Input is the JSON Lines stream (the single source of truth, so a saved stream summarises the
 * same way later). Output is four report sections:
 *   processes  every process seen exec'ing: pid, ppid, argv, exe, cwd, start/end, exit status or
 *              signal, the lifecycle phase that started it, and `outlived_script` when it was
 *              still running after that phase's script had ended;
 *   files      reads grouped by folder, writes inside the package grouped by folder, writes
 *              outside the package listed one by one (with event seq);
 *   network    every socket-level attempt (connect, sendto, sendmsg, bind, listen) with address;
 *   denied     every call the sandbox policy refused.
 * Lists are bounded; a section that hit its bound says how many entries it left out.
 */
#ifndef SCRIPTBOX_SUMMARY_H
#define SCRIPTBOX_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* When each lifecycle script ran, on the sandbox clock (events' t_ns). */
struct phase_window {
    const char *name;
    uint64_t start_ns, end_ns;
};

struct summary_input {
    const char *events;            /* JSON Lines text */
    size_t events_len;
    const char *package_dir;       /* inside the sandbox, e.g. /home/dev/project/node_modules/x */
    const struct phase_window *phases;
    size_t nphases;
};

/* Adds "processes", "files", "network" and "denied" to report. Returns 0, or -1 on ENOMEM. */
int summary_add(cJSON *report, const struct summary_input *in);

#endif
