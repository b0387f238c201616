/*
 * deps.h — the dependency phase: before the package's scripts run, npm itself installs the
 * package's production dependencies (dependencies + optionalDependencies) hoisted into
 * <project>/node_modules, with scripts off, inside the sandbox. Its network is the fake internet
 * in forward mode: connections to the configured registry (name or address and port) are spliced
 * to the real registry by the supervisor; everything else is sunk and named in the phase's
 * record. Dependency bytes only ever land inside the sandbox (npm unpacks them there).
 *
 * Configuration: the registries and tokens npm would use (npmconfig.h, --registry): unscoped
 * names, the package's own scope, the configuration's other scopes (4 registries at most). They reach npm through a userconfig in a private /tmp
 * folder inside the sandbox that is removed before the scripts run; the token itself is never in
 * a file: the npmrc says `${SCRIPTBOX_DEPS_TOKEN}`, and only npm's environment holds it.
 *
 * Events of the phase (npm's own activity: no package code runs with scripts off) are summarised
 * here (forwarded connections and bytes, sunk destinations), not added to the event stream the
 * rules judge.
 */
#ifndef SCRIPTBOX_DEPS_H
#define SCRIPTBOX_DEPS_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "error.h"
#include "manifest.h"
#include "registry.h"
#include "sandbox.h"
#include "world.h"

enum { DEPS_MAX_BLOCKED = 16, DEPS_MAX_ERRORS = 8, DEPS_MAX_PKGS = 128, DEPS_MAX_PIDS = 512 };

/* Where npm inside finds the CA the user's npm trusts for the registry (a corporate proxy, a
 * private registry): bound read-only from the host at DEPS_CA_PATH before the sandbox opens. */
#define DEPS_CA_PATH "/etc/npm/registry-ca.pem"
enum deps_ca {
    DEPS_CA_NONE,       /* node's built-in roots only */
    DEPS_CA_CAFILE,     /* npm's `cafile`: npm trusts exactly that bundle */
    DEPS_CA_EXTRA,      /* the host's NODE_EXTRA_CA_CERTS: added to node's roots */
};
/* The host file to bind at DEPS_CA_PATH (npm's cafile, else NODE_EXTRA_CA_CERTS) and how it is
 * used; DEPS_CA_NONE when neither names a readable regular file. */
enum deps_ca deps_host_ca(const struct registry_opts *reg, char *path, size_t cap);

struct deps_opts {
    const struct manifest *m;
    const struct registry_opts *reg;   /* --registry, --offline, npm_bin */
    const struct host_node *node;
    const char *system_path;           /* PATH inside */
    bool no_deps;                      /* --no-deps */
    bool scripts;                      /* --deps-scripts */
    const char *const *extra_env;      /* the scripts' extra environment (honeypot, CI), or NULL */
    enum deps_ca ca;                   /* how the registry's CA (deps_host_ca) reaches npm inside */
    unsigned timeout_ms;
};

struct deps_phase {
    bool wanted;                /* the package has production dependencies */
    bool active;                /* the phase is running: route events to deps_on_event */
    const char *status;         /* "ok" | "failed" | "timeout" | "skipped" */
    char reason[512];           /* skipped/failed: why */
    int exit_code;              /* npm's, -1 when it did not exit */
    uint64_t duration_ms;
    unsigned installed;         /* packages npm added */
    char registry[1024];        /* the registry used (credentials redacted) */
    unsigned forwarded;         /* connections forwarded to the registry */
    uint64_t sent, received;
    char blocked[DEPS_MAX_BLOCKED][300];   /* destinations that were sunk, not forwarded */
    unsigned nblocked;
    char errors[DEPS_MAX_ERRORS][300];     /* npm's error lines */
    unsigned nerrors;
    /* --deps-scripts: `npm rebuild` of the installed dependencies (npm's order, scripts on) */
    const char *scripts_status;            /* NULL (not run), "ok", "failed", "timeout" */
    int scripts_exit_code;
    uint64_t scripts_ms;
    char pkgs[DEPS_MAX_PKGS][220];         /* installed dependency names */
    char phases[DEPS_MAX_PKGS][230];       /* "deps:<name>", the events' phase (kept for the run) */
    unsigned npkgs;
    bool rebuilding;
    struct { int pid; int pkg; } pids[DEPS_MAX_PIDS];   /* processes of a dependency's script */
    unsigned npids;
};

/* Run the phase in sb (before the package's scripts). Returns -1 only on a sandbox error; npm
 * failing is a phase status, the scripts still run. Forward mode is off when it returns. */
int deps_run(struct deps_phase *d, struct sbx *sb, const struct deps_opts *o, struct sb_error *err);
/* An event while d->active: counted into the phase's summary. Returns the phase ("deps:<name>")
 * of an event that a dependency's own script caused (--deps-scripts: it belongs in the event
 * stream, judged), or NULL for npm's own activity. */
const char *deps_on_event(struct deps_phase *d, const struct sbx_event *ev);

/* The phases[] entry (kind "deps"), or NULL when the package has no dependencies. */
cJSON *deps_json(const struct deps_phase *d);
/* A coverage entry when the phase did not install everything, else NULL. */
cJSON *deps_coverage(const struct deps_phase *d);

#endif
