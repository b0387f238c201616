/*
 * honeypot.h — a developer's HOME and project full of realistic fake secrets, each carrying a
 * fresh canary, so that any exfiltration by an install script shows up in what it sends out.
 *
 * Written on the host into the seed folders before the sandbox starts (the sandbox copies them
 * to /home/dev and /home/dev/project). Every file is created with openat/mkdirat relative to the
 * given folder fds, O_NOFOLLOW|O_EXCL: a symlink or file already there makes the build fail, it
 * is never followed or overwritten. Token formats follow the real ones (npm_ + 36 base62,
 * ghp_/gho_ + 36 base62, AKIA + 16, 40-char AWS secrets, ...); each canary is the random core
 * of one secret, unique per run and per secret, from getrandom() (or a SHA-256 counter DRBG
 * when o->seed is set, for tests). The chosen canary always survives the file's own encoding
 * as something canary_scan() decodes (raw, base64, hex, decimal bytes).
 *
 * Wallet browser extensions come from <rules_dir>/lists/wallet-extensions.json, an object
 * {"Name": "<32-letter extension id>", ...}; without a rules_dir no extension store is written.
 */
#ifndef SCRIPTBOX_HONEYPOT_H
#define SCRIPTBOX_HONEYPOT_H

#include <stddef.h>
#include <stdint.h>

#include "canary.h"
#include "error.h"

#define HONEYPOT_DEFAULT_REGISTRY_HOST "registry.example.com"
#define HONEYPOT_DEFAULT_GIT_HOST "git.example.com"
#define HONEYPOT_WALLET_LIST "lists/wallet-extensions.json"

enum {
    HONEYPOT_MAX_CANARIES = 384,
    HONEYPOT_MAX_EXTENSIONS = 64,
};

struct honeypot_opts {
    const char *registry_host;  /* host[:port] the .npmrc token is for (from the user's npm
                                   config); NULL: HONEYPOT_DEFAULT_REGISTRY_HOST */
    const char *git_host;       /* host in .git-credentials, gh, ssh files; NULL: default */
    const char *rules_dir;      /* folder with HONEYPOT_WALLET_LIST; NULL: no extension stores */
    const char *user;           /* NULL: "dev" */
    const char *home;           /* HOME inside the sandbox; NULL: "/home/dev" */
    const char *project;        /* project folder inside; NULL: "<home>/project" */
    uint64_t seed;              /* 0: getrandom(); else a deterministic DRBG (tests only) */
    int ci;                     /* HONEYPOT_CI_*: 0 none; GITHUB: a GitHub Actions job's variables
                                   (CI=true, GITHUB_*, RUNNER_*) with its secrets
                                   (ACTIONS_RUNTIME_TOKEN, ACTIONS_ID_TOKEN_REQUEST_TOKEN) as
                                   canaries; GITLAB: a GitLab CI job's (CI=true, GITLAB_CI,
                                   CI_*) with CI_JOB_TOKEN, CI_REGISTRY_PASSWORD as canaries */
};

enum { HONEYPOT_CI_NONE = 0, HONEYPOT_CI_GITHUB = 1, HONEYPOT_CI_GITLAB = 2 };

struct honeypot {
    struct canary *canaries;    /* ncanaries entries, sources like "file:~/.npmrc", "env:NPM_TOKEN" */
    size_t ncanaries;
    char **env;                 /* NULL-terminated "NAME=value" for lifecycle_world.extra */
    size_t nfiles;              /* regular files written */
};

/* Fill the two folders and hp. On failure (-1, err filled: SB_EXIT_INPUT "bad-option" or
 * "bad-rules" for bad options or rule lists, SB_EXIT_SANDBOX "honeypot" for a write that failed,
 * e.g. because something was already there) hp is freed; the folders may hold partial output. */
int honeypot_build(int home_dirfd, int project_dirfd, const struct honeypot_opts *o, struct honeypot *hp,
                   struct sb_error *err);
void honeypot_free(struct honeypot *hp);

#endif
