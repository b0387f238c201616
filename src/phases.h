/*
 * phases.h — which phases analyze runs (`--phases install,import`, both by default) and the
 * import phase: after the install scripts, a fresh node process in the project folder require()s
 * the package by name (its "main", or "exports" for require) and, for ESM ("type": "module", an
 * .mjs main, or exports that only allow import), import()s it. What the package does on load is
 * recorded under the phase name "import"; a throw is a failed phase (stderr kept), not a failed run.
 */
#ifndef SCRIPTBOX_PHASES_H
#define SCRIPTBOX_PHASES_H

#include "error.h"
#include "lifecycle.h"
#include "manifest.h"
#include "world.h"

enum { PHASE_INSTALL = 1, PHASE_IMPORT = 2, PHASES_DEFAULT = PHASE_INSTALL | PHASE_IMPORT };
/* The import phase's own time cap (a package that starts a server on require never ends). */
enum { PHASE_IMPORT_MAX_MS = 30000 };

/* "install", "import", "install,import" (any order) → mask; -1 with a usage error otherwise. */
int phases_parse(const char *arg, unsigned *mask, struct sb_error *err);

/* The step the report shows for the import phase (event "import"). */
extern const struct lifecycle_step phases_import_step;

struct import_cmd {
    const char *argv[6];
    char **env;
};

/* node -e <loader> <name> <cjs|esm>, with the environment of a developer running the app: HOME,
 * USER, PATH, ... and the run's extra layer (w->lw.extra), no npm_* variables. */
int phases_import_cmd(const struct world *w, const struct manifest *m, struct import_cmd *c, struct sb_error *err);
void phases_import_cmd_free(struct import_cmd *c);

#endif
