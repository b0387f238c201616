/*
 * npmconfig.h — which registry npm would ask for a package, and with which token.
 *
 * Sources, highest first (as npm): `--registry URL` (unscoped only: a scope's own registry wins,
 * as in npm-registry-fetch), the environment (`npm_config_registry`, `npm_config_@scope:registry`,
 * any case), the project's `.npmrc` (found by walking up from the current folder to the first
 * folder holding package.json or node_modules, as npm's localPrefix), the user's `~/.npmrc`
 * (`npm_config_userconfig` overrides the path) and the global `npmrc`
 * (`npm_config_globalconfig`, else `$PREFIX/etc/npmrc`, `/usr/etc/npmrc`, `/etc/npmrc`).
 * Files are ini as npm reads them: `key = value`, `;`/`#` comments (also after an unquoted value),
 * quoted values, `${VAR}` expanded from the environment (`${VAR?}` empty when unset; an unset
 * `${VAR}` stays as written, as npm does).
 *
 * When none names a registry, `npm config get registry` is asked (5 s timeout); there is no
 * built-in default host.
 *
 * Tokens: `//host[:port]/path/:_authToken` (or `_auth`, sent as Basic), matched against the URL
 * being fetched by its "nerf dart" (`//host:port/path/`), walking up the path as
 * npm-registry-fetch does; a token is only ever sent to the origin it was configured for.
 */
#ifndef SCRIPTBOX_NPMCONFIG_H
#define SCRIPTBOX_NPMCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct npmrc_entry {
    char *key, *value;
    const char *origin;      /* "env", "project", "user", "global", "cli", "npm" */
};

struct npmconfig {
    struct npmrc_entry *e;   /* in precedence order: first match wins */
    size_t n, cap;
    char project_rc[4200];   /* the project .npmrc path looked at, or "" */
};

struct npmconfig_opts {
    const char *cli_registry;   /* --registry, or NULL */
    const char *cwd;            /* where the project search starts; NULL = getcwd */
    const char *npm_bin;        /* NULL = "npm" on PATH; "" = never ask npm */
    unsigned npm_timeout_s;     /* 0 = 5 */
};

/* Read every source. Missing files are fine; an unreadable or oversized one is an error. */
int npmconfig_load(struct npmconfig *c, const struct npmconfig_opts *o, struct sb_error *err);
void npmconfig_free(struct npmconfig *c);

/* The first value for key, or NULL; *origin (optional) says where it came from. */
const char *npmconfig_get(const struct npmconfig *c, const char *key, const char **origin);

/* The registry for a package name (scope-aware), always ending with "/". Asks npm when no source
 * names one (unless npm_bin is ""). */
int npmconfig_registry_for(const struct npmconfig *c, const struct npmconfig_opts *o, const char *name,
                           char *out, size_t outsz, const char **origin, struct sb_error *err);

/* The Authorization header value ("Bearer …" / "Basic …") for url, or NULL. Owned by c. */
const char *npmconfig_auth_for(const struct npmconfig *c, const char *url, char *buf, size_t bufsz);

/* "//host:port/path/" of url (scheme, query, fragment, userinfo dropped; trailing "/"). */
int npmconfig_nerf_dart(const char *url, char *out, size_t outsz);

/* Parse ini text into c with the given origin (exposed for tests). */
int npmconfig_parse_ini(struct npmconfig *c, const char *text, const char *origin);

/* Expand ${VAR} / ${VAR?} in s from the environment (npm's env-replace). Caller frees. */
char *npmconfig_env_expand(const char *s);

#endif
