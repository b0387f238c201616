#include "world.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "timewarp.h"

static int find_on_path(const char *prog, char out[PATH_MAX])
{
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        char cand[PATH_MAX];
        if (len && len + strlen(prog) + 2 < sizeof cand) {
            snprintf(cand, sizeof cand, "%.*s/%s", (int)len, path, prog);
            if (access(cand, X_OK) == 0 && realpath(cand, out)) return 0;
        }
        path += len + (colon != NULL);
    }
    return -1;
}

/* Run `node --version` (the trusted host binary, never package code) with an empty environment. */
static int read_node_version(const char *node, char out[32])
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    char *const argv[] = {(char *)node, (char *)"--version", NULL};
    char *const envp[] = {NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, node, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) { close(fds[0]); return -1; }
    ssize_t n = read(fds[0], out, 31);
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    if (n <= 1 || out[0] != 'v') return -1;
    out[n] = 0;
    out[strcspn(out, "\r\n")] = 0;
    return 0;
}

static void read_npm_version(struct host_node *h)
{
    char pj[PATH_MAX + 16];
    snprintf(pj, sizeof pj, "%s/package.json", h->npm_dir);
    FILE *f = fopen(pj, "re");
    if (!f) return;
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *j = cJSON_Parse(buf);
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "version"));
    if (v) snprintf(h->npm_version, sizeof h->npm_version, "%s", v);
    cJSON_Delete(j);
}

static void find_npm(struct host_node *h)
{
    struct stat st;
    snprintf(h->npm_dir, sizeof h->npm_dir, "%.*s/lib/node_modules/npm", PATH_MAX - 32, h->prefix);
    if (stat(h->npm_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        h->npm_dir[0] = 0;
        return;
    }
    snprintf(h->npm_cli, sizeof h->npm_cli, "%.*s/bin/npm-cli.js", PATH_MAX - 32, h->npm_dir);
    snprintf(h->node_gyp_bin, sizeof h->node_gyp_bin, "%.*s/node_modules/@npmcli/run-script/lib/node-gyp-bin",
             PATH_MAX - 64, h->npm_dir);
    read_npm_version(h);
}

int host_node_find(struct host_node *h, struct sb_error *err)
{
    memset(h, 0, sizeof *h);
    const char *forced = getenv("SCRIPTBOX_NODE");
    int found = forced && *forced ? (realpath(forced, h->node_path) ? 0 : -1) : find_on_path("node", h->node_path);
    if (found < 0)
        return sb_fail(err, SB_EXIT_SANDBOX, "node-missing", ENOENT,
                       "node is not installed or not on PATH, and this package has install scripts to run; "
                       "fix: install Node.js (apt-get install nodejs) or set SCRIPTBOX_NODE=/path/to/node");
    if (read_node_version(h->node_path, h->node_version) < 0)
        return sb_fail(err, SB_EXIT_SANDBOX, "node-broken", 0, "%s does not run (node --version failed); fix: reinstall Node.js",
                       h->node_path);
    snprintf(h->prefix, sizeof h->prefix, "%s", h->node_path);
    for (int i = 0; i < 2; i++) {  /* <prefix>/bin/node → <prefix> */
        char *slash = strrchr(h->prefix, '/');
        if (slash && slash != h->prefix) *slash = 0;
    }
    find_npm(h);
    return 0;
}

static bool under_usr(const char *p) { return !strncmp(p, "/usr/", 5) || !strcmp(p, "/usr"); }

void world_build(struct world *w, const struct manifest *m, const struct host_node *h,
                 const struct world_seeds *seeds)
{
    memset(w, 0, sizeof *w);
    snprintf(w->package_dir, sizeof w->package_dir, WORLD_PROJECT "/node_modules/%s", m->name);
    if (!under_usr(h->prefix)) {
        w->binds[w->nbinds++] = (struct sbx_bind){h->prefix, h->prefix, 0};
        snprintf(w->system_path, sizeof w->system_path, "%s/bin:", h->prefix);
    }
    strncat(w->system_path, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            sizeof w->system_path - strlen(w->system_path) - 1);
    snprintf(w->passwd, sizeof w->passwd,
             "root:x:0:0:root:/root:/bin/bash\n" WORLD_USER ":x:%d:%d:" WORLD_USER ":" WORLD_HOME ":/bin/bash\n",
             WORLD_UID, WORLD_UID);
    snprintf(w->group, sizeof w->group, "root:x:0:\n" WORLD_USER ":x:%d:\n", WORLD_UID);
    w->files[0] = (struct sbx_file){"/etc/passwd", w->passwd, strlen(w->passwd), 0644};
    w->files[1] = (struct sbx_file){"/etc/group", w->group, strlen(w->group), 0644};
    w->files[2] = (struct sbx_file){TIMEWARP_NODE_PATH, timewarp_node_js(), strlen(timewarp_node_js()), 0644};
    w->tmpfs[0] = (struct sbx_tmpfs){"/tmp", NULL, 0, 0};
    w->tmpfs[1] = (struct sbx_tmpfs){WORLD_HOME, seeds->home, 0, 0};
    w->tmpfs[2] = (struct sbx_tmpfs){WORLD_PROJECT, seeds->project, 0, 0};
    w->tmpfs[3] = (struct sbx_tmpfs){w->package_dir, seeds->package, 0, 0};
    w->lw = (struct lifecycle_world){
        .project_dir = WORLD_PROJECT,
        .package_dir = w->package_dir,
        .home = WORLD_HOME,
        .user = WORLD_USER,
        .node_path = h->node_path,
        .npm_cli_path = h->npm_cli[0] ? h->npm_cli : NULL,
        .node_gyp_bin = h->node_gyp_bin[0] ? h->node_gyp_bin : NULL,
        .npm_version = h->npm_version[0] ? h->npm_version : "10.8.2",
        .node_version = h->node_version,
        .system_path = w->system_path,
        .extra = NULL,
    };
    /* node-gyp builds offline against the node installation's own headers (no download). */
    char hdr[PATH_MAX + 32];
    struct stat st;
    snprintf(hdr, sizeof hdr, "%.*s/include/node/node.h", PATH_MAX - 1, h->prefix);
    if (stat(hdr, &st) == 0 && S_ISREG(st.st_mode)) w->lw.nodedir = h->prefix;
}

void world_sbx_config(const struct world *w, struct sbx_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->hostname = WORLD_HOSTNAME;
    cfg->payload_uid = WORLD_UID;
    cfg->payload_gid = WORLD_UID;
    cfg->binds = w->binds;
    cfg->nbinds = w->nbinds;
    cfg->tmpfs = w->tmpfs;
    cfg->ntmpfs = 4;
    cfg->files = w->files;
    cfg->nfiles = 3;
}
