/*
 * timewarp.h — time acceleration for node: a preload (NODE_OPTIONS=--require) that fast-forwards
 * long timers and moves node's clocks on by the time skipped.
 *
 * Why a preload: libuv sleeps for its timers in epoll_wait with a timeout computed from
 * CLOCK_MONOTONIC read through the vDSO, so answering the wait early (as sandbox/timewarp.c does
 * for nanosleep) only makes node wait again, and a time namespace's offsets are fixed before the
 * first process starts. The preload is visible to the package (NODE_OPTIONS, the file): the
 * trade-off for catching code that waits minutes before acting. It is installed into the
 * sandbox's root (not the package's folders) and changes nothing until the first timer longer
 * than TIMEWARP_MIN_MS is set (setTimeout, setInterval, timers/promises, util.promisify): that
 * timer keeps its real delay, and a poller (50 ms, unref'd) fires the earliest such timer after
 * TIMEWARP_KEEP_MS as soon as the process is otherwise idle — no shorter timer of its own pending,
 * no socket, request, file operation or child process in flight (process.getActiveResourcesInfo)
 * — or has been busy for 2 s. So a watchdog set around I/O (setTimeout(exit, 5000) while a
 * request runs) is not fired early, and timers fire in their real order. When a fast-forwarded
 * timer fires, Date, Date.now(), performance.now(), process.hrtime(.bigint) and process.uptime()
 * have moved on by the time skipped, so "has ten minutes passed?" checks agree.
 * Each process reports the first 16 shortened timers by opening TIMEWARP_MARK<ms> (a path that
 * does not exist); analyze turns those opens into "time accelerated" note events.
 */
#ifndef SCRIPTBOX_TIMEWARP_H
#define SCRIPTBOX_TIMEWARP_H

#include <stddef.h>

#include "sandbox.h"

#define TIMEWARP_NODE_PATH "/etc/node/preload.js"
#define TIMEWARP_NODE_OPTIONS "NODE_OPTIONS=--require " TIMEWARP_NODE_PATH
#define TIMEWARP_MARK "/etc/node/.t/"
#define TIMEWARP_MIN_MS 1000
#define TIMEWARP_KEEP_MS 20

/* The preload's source (static). */
const char *timewarp_node_js(void);

/* A "time accelerated" note for an open of TIMEWARP_MARK<ms>: fills *note (detail in buf) and
 * returns 1; 0 for any other event. */
int timewarp_event(const struct sbx_event *ev, struct sbx_event *note, char *buf, size_t cap);

/* 1 when ev is a note that says time was accelerated (the sandbox's or the preload's). */
int timewarp_is_note(const char *kind_detail);

#endif
