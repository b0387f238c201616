/* phases.c — the phase selection and the import phase's command (phases.h). */
#include "phases.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct lifecycle_step phases_import_step = {"import", "require()/import() of the package in a fresh node process", false};

int phases_parse(const char *arg, unsigned *mask, struct sb_error *err)
{
    unsigned m = 0;
    const char *p = arg;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 7 && !strncmp(p, "install", 7)) m |= PHASE_INSTALL;
        else if (n == 6 && !strncmp(p, "import", 6)) m |= PHASE_IMPORT;
        else return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "--phases takes install, import or install,import, not '%s'", arg);
        p += n;
        if (*p) p++;
    }
    if (!m) return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "--phases takes install, import or install,import, not '%s'", arg);
    *mask = m;
    return 0;
}

/* Loads the package as an app would: require() by name from the project folder; for ESM (or when
 * require refuses: ESM only, no "require" export) import(). A package with nothing to load (no
 * main, no index.js, no "." export: a CLI-only package) says so on stdout and exits 0; any other
 * error goes to stderr with exit code 1. */
static const char loader_js[] =
    "const name = process.argv[1], esm = process.argv[2] === 'esm';\n"
    "const none = (e, codes) => e && codes.includes(e.code) && String(e.message).includes(name);\n"
    "(async () => {\n"
    "  let viaImport = esm;\n"
    "  if (!viaImport) {\n"
    "    try { require(name); }\n"
    "    catch (e) {\n"
    "      if (none(e, ['MODULE_NOT_FOUND']) && String(e.message).includes(\"'\" + name + \"'\")) { console.log('no entry point: nothing to require'); return; }\n"
    "      if (!e || !['ERR_REQUIRE_ESM', 'ERR_REQUIRE_ASYNC_MODULE', 'ERR_PACKAGE_PATH_NOT_EXPORTED'].includes(e.code)) throw e;\n"
    "      viaImport = true;\n"
    "    }\n"
    "  }\n"
    "  if (viaImport) {\n"
    "    try { await import(name); }\n"
    "    catch (e) {\n"
    "      if (none(e, ['ERR_MODULE_NOT_FOUND', 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'ERR_UNSUPPORTED_DIR_IMPORT'])) { console.log('no entry point: nothing to import'); return; }\n"
    "      throw e;\n"
    "    }\n"
    "  }\n"
    "})().catch((e) => { process.exitCode = 1; console.error(e && e.stack ? e.stack : String(e)); });\n";

static bool is_esm(const struct manifest *m)
{
    const cJSON *j = m->json;
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "type"));
    const char *main = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "main"));
    size_t ml = main ? strlen(main) : 0;
    return (type && !strcmp(type, "module")) || (ml > 4 && !strcmp(main + ml - 4, ".mjs"));
}

static char *kv(const char *k, const char *v)
{
    size_t n = strlen(k) + strlen(v) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s=%s", k, v);
    return s;
}

int phases_import_cmd(const struct world *w, const struct manifest *m, struct import_cmd *c, struct sb_error *err)
{
    memset(c, 0, sizeof *c);
    const struct lifecycle_world *lw = &w->lw;
    const char *base[][2] = {{"HOME", lw->home}, {"USER", lw->user}, {"LOGNAME", lw->user}, {"PATH", lw->system_path},
                             {"SHELL", "/bin/bash"}, {"LANG", "C.UTF-8"}, {"PWD", lw->project_dir}};
    size_t nbase = sizeof base / sizeof *base, nextra = 0;
    for (const char *const *e = lw->extra; e && *e; e++) nextra++;
    c->env = calloc(nbase + nextra + 1, sizeof *c->env);
    if (!c->env) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory building the import environment");
    size_t n = 0;
    for (size_t i = 0; i < nbase; i++)
        if (!(c->env[n++] = kv(base[i][0], base[i][1]))) goto oom;
    for (size_t i = 0; i < nextra; i++) {
        const char *e = lw->extra[i];
        size_t kl = strcspn(e, "=");
        bool dup = false;
        for (size_t b = 0; b < nbase; b++) dup |= strlen(base[b][0]) == kl && !strncmp(base[b][0], e, kl);
        if (!dup && !(c->env[n++] = strdup(e))) goto oom;
    }
    c->argv[0] = lw->node_path;
    c->argv[1] = "-e";
    c->argv[2] = loader_js;
    c->argv[3] = m->name;
    c->argv[4] = is_esm(m) ? "esm" : "cjs";
    c->argv[5] = NULL;
    return 0;
oom:
    phases_import_cmd_free(c);
    return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory building the import environment");
}

void phases_import_cmd_free(struct import_cmd *c)
{
    for (char **e = c->env; e && *e; e++) free(*e);
    free(c->env);
    c->env = NULL;
}
