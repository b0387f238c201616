/*
 * runenv.h — what every analyze run adds around the package: the honeypot in the HOME and
 * project seeds, the run's CA for the fake internet, and the scripts' extra environment
 * (the honeypot's tokens, the CA bundle variables, and with --ci a CI job's variables).
 */
#ifndef SCRIPTBOX_RUNENV_H
#define SCRIPTBOX_RUNENV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "honeypot.h"
#include "sandbox.h"
#include "timewarp.h"

/* node's options in every script: trust OpenSSL's store (the sandbox's bundle: the run's CA)
 * and preload the timer fast-forward (timewarp.h). */
#define RUNENV_NODE_OPTIONS "NODE_OPTIONS=--use-openssl-ca --require " TIMEWARP_NODE_PATH

struct runenv_opts {
    int home_fd, project_fd;       /* the seed folders (honeypot_build writes into them) */
    const char *home_seed, *project_seed;   /* their paths (as root, handed to the sandbox's uid) */
    int ci;                        /* --ci: HONEYPOT_CI_NONE/GITHUB/GITLAB, a CI job's variables too */
    const char *registry_host;     /* host[:port] from the user's npm config, or NULL */
    const char *rules_dir;         /* the rules folder in use, or NULL */
    const char *home, *project, *user;   /* inside the sandbox */
};

struct runenv {
    struct honeypot hp;
    bool have_hp;
    struct sbx_ca *ca;             /* NULL: no TLS interception (ca_note says why) */
    char ca_note[256];
    const char **env;              /* NULL-terminated NAME=value, for lifecycle_world.extra */
};

/* Honeypot + CA + environment. The CA failing is not an error: the run goes on without TLS
 * interception and ca_note says why. */
int runenv_build(struct runenv *x, const struct runenv_opts *o, struct sb_error *err);
void runenv_free(struct runenv *x);

/* host[:port] of the registry the user's npm would use for `package` (npmconfig.h: env, project,
 * user and global npmrc, scope-aware; npm itself is not asked), or NULL when none is configured
 * or it is not a plain host. */
const char *runenv_registry_host(const char *package, char *buf, size_t cap);
/* The rules folder (rules_default_dir(): $SCRIPTBOX_RULES_DIR, else next to the binary) when it
 * holds lists/, else NULL. */
const char *runenv_rules_dir(char *buf, size_t cap);

#endif
