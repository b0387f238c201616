/*
 * world.h — the npm world a package sees inside the sandbox, and the host facts it is built from.
 *
 * Inside, the package is a dependency of an ordinary project of an ordinary developer:
 *   user "dev" (uid 1000), HOME /home/dev, project /home/dev/project (INIT_CWD),
 *   package /home/dev/project/node_modules/<name>.
 * The host provides node (and npm beside it, when present); their install prefix is bound
 * read-only at the same path when it is not under /usr.
 */
#ifndef SCRIPTBOX_WORLD_H
#define SCRIPTBOX_WORLD_H

#include <limits.h>
#include <stdbool.h>

#include "error.h"
#include "lifecycle.h"
#include "manifest.h"
#include "sandbox.h"

#define WORLD_USER "dev"
#define WORLD_UID 1000
#define WORLD_HOME "/home/dev"
#define WORLD_PROJECT "/home/dev/project"
#define WORLD_HOSTNAME "dev-workstation"

struct host_node {
    char node_path[PATH_MAX];     /* realpath of node */
    char prefix[PATH_MAX];        /* install prefix: node_path minus /bin/node */
    char node_version[32];        /* "v20.20.2" */
    char npm_dir[PATH_MAX];       /* <prefix>/lib/node_modules/npm, or "" */
    char npm_cli[PATH_MAX];       /* npm-cli.js, or "" */
    char node_gyp_bin[PATH_MAX];  /* npm's run-script node-gyp-bin, or "" */
    char npm_version[32];         /* or "" */
};

/* Find node on PATH (or $SCRIPTBOX_NODE). Fails with a one-line fix when it is missing. */
int host_node_find(struct host_node *h, struct sb_error *err);

/* Seeds on the host for the sandbox's writable areas. */
struct world_seeds {
    const char *home;      /* host folder copied to HOME */
    const char *project;   /* host folder copied to the project folder */
    const char *package;   /* host folder copied to the package folder */
};

struct world {
    char package_dir[PATH_MAX];
    char system_path[PATH_MAX * 2];
    char passwd[256], group[256];
    struct sbx_bind binds[2];   /* node's prefix when not under /usr; the registry CA (deps) */
    size_t nbinds;
    struct sbx_tmpfs tmpfs[4];
    struct sbx_file files[3];      /* passwd, group, the node timer preload (timewarp.h) */
    struct lifecycle_world lw;
};

/* Fill w for this package and host; w keeps pointers into h and seeds (keep them alive). */
void world_build(struct world *w, const struct manifest *m, const struct host_node *h,
                 const struct world_seeds *seeds);
/* The sandbox configuration for w. */
void world_sbx_config(const struct world *w, struct sbx_config *cfg);

#endif
