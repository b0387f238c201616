/*
 * lifecycle.h — what npm would run when it installs this package as a registry dependency,
 * and the environment it would run it with.
 *
 * Plan: preinstall, install, postinstall, in that order, each only if present; when binding.gyp
 * exists and neither install nor preinstall is set, npm runs an implicit "node-gyp rebuild" as
 * the install script. Environment: as npm's @npmcli/run-script builds it (npm_lifecycle_event,
 * npm_lifecycle_script, npm_package_name, npm_package_version, npm_package_json, npm_node_execpath,
 * npm_execpath, npm_config_* basics, npm_config_user_agent, INIT_CWD, PATH with every
 * node_modules/.bin from the package folder up to / prepended, then npm's node-gyp-bin), plus
 * npm_package_config_* / engines_* / bin_* flattened from package.json as npm does, and the
 * install facts npm_package_resolved/integrity/optional/dev/peer/dev_optional. The key list and
 * what is deliberately left out are in lifecycle.c; tests/integration/test_npm_env.c checks it
 * against the installed npm.
 * The command is `sh -c <script>` with the package folder as cwd. Empty scripts are not run;
 * "gypfile": false turns the implicit node-gyp rebuild off (both as npm does).
 */
#ifndef SCRIPTBOX_LIFECYCLE_H
#define SCRIPTBOX_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "manifest.h"

enum { LIFECYCLE_MAX_STEPS = 3 };

struct lifecycle_step {
    const char *event;      /* "preinstall", "install", "postinstall" */
    const char *script;     /* the shell command (borrowed from the manifest or a literal) */
    bool implicit;          /* the node-gyp rebuild npm adds for binding.gyp */
};

struct lifecycle_plan {
    struct lifecycle_step steps[LIFECYCLE_MAX_STEPS];
    size_t nsteps;
};

void lifecycle_plan_build(const struct manifest *m, struct lifecycle_plan *plan);

/* Paths and facts as the package sees them inside the sandbox. user is not used: npm does not
 * set USER (it only passes on its caller's); put it in extra if the script should see it. */
struct lifecycle_world {
    const char *project_dir;    /* INIT_CWD: /home/<user>/<project> */
    const char *package_dir;    /* <project>/node_modules/<name> */
    const char *home;
    const char *user;
    const char *node_path;      /* absolute path of node */
    const char *npm_cli_path;   /* npm-cli.js, for npm_execpath; NULL if npm is absent */
    const char *node_gyp_bin;   /* npm's node-gyp-bin folder, or NULL */
    const char *npm_version;    /* for the user agent, e.g. "10.8.2" */
    const char *node_version;   /* e.g. "v20.20.2" */
    const char *system_path;    /* PATH after the node_modules/.bin entries */
    const char *const *extra;   /* more NAME=value entries (tokens, CI vars); may be NULL.
                                   The lowest layer, like npm's own process.env: they never
                                   override a key lifecycle_env() computes. */
    /* Optional (NULL: derived or left out). Added after the first contract; zero-initialise. */
    const char *global_prefix;  /* npm's global prefix; NULL: dirname(dirname(node_path)) */
    const char *resolved;       /* npm_package_resolved, e.g. the registry tarball URL */
    const char *integrity;      /* npm_package_integrity, "sha512-..." */
    const char *nodedir;        /* npm_config_nodedir: node's headers for node-gyp, offline (the
                                   node installation's prefix with include/node/node.h), or NULL */
};

/* NULL-terminated, heap-allocated environment for one step; free with lifecycle_env_free.
 * Sorted by name, one entry per name. Built only from w and m, never from our own environment.
 * Required: project_dir, package_dir, home, node_path (absolute). Fails (NULL, err filled) on a
 * malformed extra entry (SB_EXIT_INPUT "bad-env"), or when package.json "config"/"engines"/"bin"
 * would make the environment larger than execve allows (SB_EXIT_INPUT "bad-manifest"). */
char **lifecycle_env(const struct manifest *m, const struct lifecycle_step *step,
                     const struct lifecycle_world *w, struct sb_error *err);
void lifecycle_env_free(char **env);

#endif
