/*
 * test_honeypot.c — the fake HOME and project: every file with its mode, no link followed,
 * distinct canaries, real token shapes, and each canary findable in what it was written to.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canary.h"
#include "honeypot.h"
#include "testutil.h"

struct fixture {
    char *root;
    char home[4096], project[4096];
    int home_fd, project_fd;
    struct honeypot hp;
};

static int open_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

static void fixture_dirs(struct fixture *f)
{
    f->root = tu_mkdtemp();
    assert_non_null(f->root);
    snprintf(f->home, sizeof f->home, "%s/home", f->root);
    snprintf(f->project, sizeof f->project, "%s/project", f->root);
    assert_int_equal(mkdir(f->home, 0755), 0);
    assert_int_equal(mkdir(f->project, 0755), 0);
    f->home_fd = open_dir(f->home);
    f->project_fd = open_dir(f->project);
}

static struct honeypot_opts default_opts(uint64_t seed)
{
    return (struct honeypot_opts){.rules_dir = tu_src("rules"), .seed = seed};
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fixture_dirs(f);
    struct honeypot_opts o = default_opts(42);
    struct sb_error err = {0};
    if (honeypot_build(f->home_fd, f->project_fd, &o, &f->hp, &err) < 0) fail_msg("honeypot_build: %s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    honeypot_free(&f->hp);
    close(f->home_fd);
    close(f->project_fd);
    tu_rm_rf(f->root);
    free(f->root);
    free(f);
    return 0;
}

/* rel below HOME ("project/..." below the project); a folder means its LevelDB log. */
static char *read_rel(const struct fixture *f, const char *rel, size_t *len)
{
    char path[8192];
    struct stat st;
    if (!strncmp(rel, "project/", 8)) snprintf(path, sizeof path, "%s/%s", f->project, rel + 8);
    else snprintf(path, sizeof path, "%s/%s", f->home, rel);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) strcat(path, "/000003.log");
    char *t = tu_read_file(path, len);
    if (!t) fail_msg("cannot read %s", path);
    return t;
}

static mode_t mode_of(const struct fixture *f, const char *rel, int *type)
{
    char path[8192];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", f->home, rel);
    if (lstat(path, &st) < 0) fail_msg("missing: %s", rel);
    *type = S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : '?';
    return st.st_mode & 07777;
}

/* ---- files and modes ----------------------------------------------------------------------- */

static const struct {
    const char *rel;
    int type;
    mode_t mode;
} EXPECTED[] = {
    {".npmrc", 'f', 0600},
    {".npm", 'd', 0755},
    {".npm/_cacache", 'd', 0755},
    {".ssh", 'd', 0700},
    {".ssh/id_rsa", 'f', 0600},
    {".ssh/id_rsa.pub", 'f', 0644},
    {".ssh/id_ed25519", 'f', 0600},
    {".ssh/known_hosts", 'f', 0644},
    {".ssh/config", 'f', 0600},
    {".aws/credentials", 'f', 0600},
    {".aws/config", 'f', 0600},
    {".config/gh/hosts.yml", 'f', 0600},
    {".git-credentials", 'f', 0600},
    {".gitconfig", 'f', 0644},
    {".docker", 'd', 0700},
    {".docker/config.json", 'f', 0600},
    {".kube", 'd', 0750},
    {".kube/config", 'f', 0600},
    {".config/solana/id.json", 'f', 0600},
    {".ethereum/keystore", 'd', 0700},
    {".electrum/wallets/default_wallet", 'f', 0600},
    {".config/Exodus/exodus.wallet", 'd', 0700},
    {".config/Exodus/exodus.wallet/seed.seco", 'f', 0600},
    {".config/Exodus/exodus.wallet/passphrase.json", 'f', 0600},
    {".config/Exodus/exodus.wallet/info.seco", 'f', 0600},
    {".config/atomic/Local Storage/leveldb/000003.log", 'f', 0600},
    {".config/atomic/Local Storage/leveldb", 'd', 0700},
    {".bitcoin", 'd', 0700},
    {".bitcoin/wallet.dat", 'f', 0600},
    {".config/google-chrome", 'd', 0700},
    {".config/google-chrome/Default/Login Data", 'f', 0600},
    {".config/google-chrome/Default/Cookies", 'f', 0600},
    {".config/google-chrome/Default/Local Extension Settings/nkbihfbeogaeaoehlefnkodbefgpgknn/000003.log", 'f', 0600},
    {".config/BraveSoftware/Brave-Browser/Default/Local Extension Settings/bfnaelmomeimhlpmgjnjophhpkkoljpa/000003.log", 'f', 0600},
    {".config/BraveSoftware/Brave-Browser/Default/Login Data", 'f', 0600},
    {".config/chromium/Default/Local Extension Settings/ibnejdfjmmkpcnlpebklmnkoeoihofec/000003.log", 'f', 0600},
    {".config/chromium/Default/Cookies", 'f', 0600},
    {".config/discord/Local Storage/leveldb/000003.log", 'f', 0600},
    {".bashrc", 'f', 0644},
    {".profile", 'f', 0644},
};

static void writes_every_file_with_its_mode(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < sizeof EXPECTED / sizeof *EXPECTED; i++) {
        int type;
        mode_t m = mode_of(f, EXPECTED[i].rel, &type);
        if (type != EXPECTED[i].type || m != EXPECTED[i].mode)
            fail_msg("%s: type %c mode %o, want %c %o", EXPECTED[i].rel, type, (unsigned)m, EXPECTED[i].type,
                     (unsigned)EXPECTED[i].mode);
    }
    struct stat st;
    char path[8192];
    snprintf(path, sizeof path, "%s/.env", f->project);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_true(f->hp.nfiles > 60);
}

static void every_listed_extension_in_every_browser(void **state)
{
    struct fixture *f = *state;
    cJSON *list = tu_read_json(tu_src("rules/lists/wallet-extensions.json"));
    assert_non_null(list);
    const char *browsers[] = {".config/google-chrome", ".config/BraveSoftware/Brave-Browser", ".config/chromium"};
    const cJSON *e;
    size_t n = 0;
    cJSON_ArrayForEach(e, list) {
        for (size_t b = 0; b < 3; b++) {
            char rel[512];
            int type;
            snprintf(rel, sizeof rel, "%s/Default/Local Extension Settings/%s/000003.log", browsers[b], e->valuestring);
            assert_int_equal(mode_of(f, rel, &type), 0600);
        }
        n++;
    }
    assert_true(n >= 11);
    cJSON_Delete(list);
}

/* ---- canaries -------------------------------------------------------------------------------- */

static void canaries_are_distinct_and_long(void **state)
{
    struct fixture *f = *state;
    assert_true(f->hp.ncanaries > 80);
    for (size_t i = 0; i < f->hp.ncanaries; i++) {
        const struct canary *c = &f->hp.canaries[i];
        assert_true(strlen(c->value) >= CANARY_MIN_LEN);
        assert_true(!strncmp(c->source, "file:", 5) || !strncmp(c->source, "env:", 4));
        for (size_t j = i + 1; j < f->hp.ncanaries; j++) {
            assert_string_not_equal(c->value, f->hp.canaries[j].value);
            assert_string_not_equal(c->source, f->hp.canaries[j].source);
        }
    }
}

/* "file:~/REL (note)" → REL; "file:~/project/.env (X)" → "project/.env". */
static void source_path(const char *source, char *rel, size_t size)
{
    assert_true(!strncmp(source, "file:~/", 7));
    snprintf(rel, size, "%s", source + 7);
    char *paren = strstr(rel, " (");
    if (paren) *paren = 0;
}

static void each_canary_is_found_in_what_it_was_written_to(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < f->hp.ncanaries; i++) {
        const struct canary *c = &f->hp.canaries[i];
        struct canary_hits h = {0};
        if (!strncmp(c->source, "env:", 4)) {
            const char *name = c->source + 4;
            const char *entry = NULL;
            for (char **e = f->hp.env; *e; e++)
                if (!strncmp(*e, name, strlen(name)) && (*e)[strlen(name)] == '=') entry = *e;
            assert_non_null(entry);
            assert_int_equal(canary_scan(c, 1, (const unsigned char *)entry, strlen(entry), c->source, &h), 0);
        } else {
            char rel[512];
            size_t len;
            source_path(c->source, rel, sizeof rel);
            char *text = read_rel(f, rel, &len);
            assert_int_equal(canary_scan(c, 1, (const unsigned char *)text, len, rel, &h), 0);
            free(text);
        }
        if (h.n != 1) fail_msg("canary of %s not found in it", c->source);
        canary_hits_free(&h);
    }
}

/* The encodings each file uses are the ones the matcher is meant to undo. */
static void chain_for(const struct fixture *f, const char *source, const char *want)
{
    for (size_t i = 0; i < f->hp.ncanaries; i++) {
        const struct canary *c = &f->hp.canaries[i];
        if (strcmp(c->source, source)) continue;
        char rel[512];
        size_t len;
        source_path(c->source, rel, sizeof rel);
        char *text = read_rel(f, rel, &len);
        struct canary_hits h = {0};
        assert_int_equal(canary_scan(c, 1, (const unsigned char *)text, len, rel, &h), 0);
        free(text);
        assert_int_equal(h.n, 1);
        assert_string_equal(h.v[0].chain, want);
        canary_hits_free(&h);
        return;
    }
    fail_msg("no canary from %s", source);
}

static void files_use_their_own_encodings(void **state)
{
    struct fixture *f = *state;
    chain_for(f, "file:~/.npmrc", "raw");
    chain_for(f, "file:~/.ssh/id_rsa", "raw");
    chain_for(f, "file:~/.docker/config.json", "base64");
    chain_for(f, "file:~/.kube/config", "base64");
    chain_for(f, "file:~/.config/solana/id.json", "bytes");
    chain_for(f, "file:~/.config/google-chrome/Default/Local Extension Settings/nkbihfbeogaeaoehlefnkodbefgpgknn (MetaMask)",
              "raw");
}

static void whole_files_sent_base64_are_caught(void **state)
{
    /* What a stealer does: read the key, base64 it into a JSON body. */
    struct fixture *f = *state;
    size_t len;
    char *key = read_rel(f, ".ssh/id_rsa", &len);
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *body = malloc(len * 2 + 64);
    assert_non_null(body);
    size_t n = (size_t)sprintf(body, "{\"k\":\"");
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)(unsigned char)key[i] << 16 | (i + 1 < len ? (unsigned)(unsigned char)key[i + 1] << 8 : 0) |
                     (i + 2 < len ? (unsigned char)key[i + 2] : 0);
        for (int k = 0; k < 4; k++) body[n++] = (size_t)k <= (len - i) ? alphabet[(v >> (18 - 6 * k)) & 63] : '=';
    }
    n += (size_t)sprintf(body + n, "\"}");
    struct canary_hits h = {0};
    assert_int_equal(canary_scan(f->hp.canaries, f->hp.ncanaries, (const unsigned char *)body, n, "net", &h), 0);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.v[0].canary->source, "file:~/.ssh/id_rsa");
    assert_string_equal(h.v[0].chain, "base64");
    canary_hits_free(&h);
    free(body);
    free(key);
}

/* ---- token shapes ----------------------------------------------------------------------------- */

static void matches(const char *text, const char *re)
{
    regex_t r;
    assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
    int rc = regexec(&r, text, 0, NULL, 0);
    regfree(&r);
    if (rc != 0) fail_msg("/%s/ does not match:\n%.400s", re, text);
}

static void file_matches(const struct fixture *f, const char *rel, const char *re)
{
    size_t len;
    char *t = read_rel(f, rel, &len);
    for (size_t i = 0; i < len; i++)   /* binary files: regexec stops at NUL */
        if (t[i] == 0) t[i] = ' ';
    matches(t, re);
    free(t);
}

static void tokens_have_the_real_shapes(void **state)
{
    struct fixture *f = *state;
    file_matches(f, ".npmrc", "^//registry\\.example\\.com/:_authToken=npm_[A-Za-z0-9]{36}$");
    file_matches(f, ".git-credentials", "^https://dev:ghp_[A-Za-z0-9]{36}@git\\.example\\.com$");
    file_matches(f, ".config/gh/hosts.yml", "^ +oauth_token: gho_[A-Za-z0-9]{36}$");
    file_matches(f, ".aws/credentials", "^aws_access_key_id = AKIA[A-Z2-7]{16}$");
    file_matches(f, ".aws/credentials", "^aws_secret_access_key = [A-Za-z0-9/+]{40}$");
    file_matches(f, ".aws/config", "^aws_access_key_id = AKIA[A-Z2-7]{16}$");
    file_matches(f, ".ssh/id_rsa", "^-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ");
    file_matches(f, ".ssh/id_rsa", "^[A-Za-z0-9+/]{70}\n(.*\n)*-----END OPENSSH PRIVATE KEY-----\n");
    file_matches(f, ".ssh/id_ed25519", "^-----BEGIN OPENSSH PRIVATE KEY-----$");
    file_matches(f, ".docker/config.json", "\"auth\": \"[A-Za-z0-9+/]+=*\"");
    file_matches(f, ".kube/config", "token: eyJ[A-Za-z0-9_-]+\\.eyJ[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{342}$");
    file_matches(f, "project/.env", "^DATABASE_URL=postgres://app:[A-Za-z0-9]{24}@");
    file_matches(f, "project/.env", "^SLACK_BOT_TOKEN=xoxb-[0-9]{11}-[0-9]{13}-[A-Za-z0-9]{24}$");
    file_matches(f, "project/.env", "^[A-Z_]*_SECRET(_KEY)?=");
    file_matches(f, "project/.env", "^[A-Z_]*_KEY=");
    file_matches(f, ".config/solana/id.json", "^\\[([0-9]{1,3},){63}[0-9]{1,3}\\]$");
    file_matches(f, ".electrum/wallets/default_wallet", "\"xprv\": \"xprv9s21ZrQH143K[1-9A-HJ-NP-Za-km-z]{95}\"");
    file_matches(f, ".config/Exodus/exodus.wallet/passphrase.json", "^\\{\"passphrase\":\"[A-Za-z0-9]{32}\"\\}$");
    file_matches(f, ".gitconfig", "helper = store");
    for (char **e = f->hp.env; *e; e++) matches(*e, "^[A-Z_]+=");
    const char *want[] = {"^NPM_TOKEN=npm_[A-Za-z0-9]{36}$", "^NODE_AUTH_TOKEN=npm_[A-Za-z0-9]{36}$",
                          "^GITHUB_TOKEN=ghp_[A-Za-z0-9]{36}$", "^GH_TOKEN=gho_[A-Za-z0-9]{36}$",
                          "^AWS_ACCESS_KEY_ID=AKIA[A-Z2-7]{16}$", "^AWS_SECRET_ACCESS_KEY=[A-Za-z0-9]{40}$"};
    size_t n = 0;
    for (char **e = f->hp.env; *e; e++) n++;
    assert_int_equal(n, 6);
    for (size_t i = 0; i < 6; i++) {
        bool found = false;
        for (char **e = f->hp.env; *e && !found; e++) {
            regex_t r;
            assert_int_equal(regcomp(&r, want[i], REG_EXTENDED | REG_NOSUB), 0);
            found = regexec(&r, *e, 0, NULL, 0) == 0;
            regfree(&r);
        }
        if (!found) fail_msg("no env entry matches %s", want[i]);
    }
}

static void wallet_files_have_their_shapes(void **state)
{
    struct fixture *f = *state;
    /* Ethereum keystore v3. */
    char dir[8192];
    snprintf(dir, sizeof dir, "%s/.ethereum/keystore", f->home);
    struct tu_run r;
    const char *argv[] = {"ls", dir, NULL};
    assert_int_equal(tu_run(argv, &r), 0);
    assert_int_equal(r.status, 0);
    matches(r.out, "^UTC--[0-9-]+T[0-9-]+\\.[0-9]+Z--[0-9a-f]{40}$");
    char rel[512];
    snprintf(rel, sizeof rel, ".ethereum/keystore/%.*s", (int)strcspn(r.out, "\n"), r.out);
    tu_run_free(&r);
    size_t len;
    char *t = read_rel(f, rel, &len);
    cJSON *j = cJSON_Parse(t);
    free(t);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "version")->valueint, 3);
    const cJSON *crypto = cJSON_GetObjectItem(j, "crypto");
    matches(cJSON_GetStringValue(cJSON_GetObjectItem(crypto, "ciphertext")), "^[0-9a-f]{64}$");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(crypto, "kdf")), "scrypt");
    cJSON_Delete(j);
    /* Binary formats keep their magic numbers. */
    t = read_rel(f, ".bitcoin/wallet.dat", &len);
    assert_true(len == 8192 && !memcmp(t + 12, "\x62\x31\x05\x00", 4));
    free(t);
    t = read_rel(f, ".config/google-chrome/Default/Login Data", &len);
    assert_memory_equal(t, "SQLite format 3", 16);
    free(t);
    t = read_rel(f, ".config/Exodus/exodus.wallet/seed.seco", &len);
    assert_memory_equal(t, "SECO", 4);
    free(t);
    file_matches(f, ".config/discord/Local Storage/leveldb/000003.log",
                 "\"[A-Za-z0-9_-]{24}\\.[A-Za-z0-9_-]{6}\\.[A-Za-z0-9_-]{38}\"");
}

/* ---- options, randomness, links --------------------------------------------------------------- */

static struct fixture *fresh(void)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fixture_dirs(f);
    return f;
}

static void release(struct fixture *f)
{
    void *s = f;
    teardown(&s);
}

static void seed_is_deterministic_and_zero_is_random(void **state)
{
    (void)state;
    struct fixture *a = fresh(), *b = fresh(), *c = fresh();
    struct honeypot_opts o = default_opts(7);
    struct sb_error err = {0};
    assert_int_equal(honeypot_build(a->home_fd, a->project_fd, &o, &a->hp, &err), 0);
    assert_int_equal(honeypot_build(b->home_fd, b->project_fd, &o, &b->hp, &err), 0);
    o.seed = 0;
    assert_int_equal(honeypot_build(c->home_fd, c->project_fd, &o, &c->hp, &err), 0);
    assert_int_equal(a->hp.ncanaries, c->hp.ncanaries);
    for (size_t i = 0; i < a->hp.ncanaries; i++) {
        assert_string_equal(a->hp.canaries[i].value, b->hp.canaries[i].value);
        assert_string_not_equal(a->hp.canaries[i].value, c->hp.canaries[i].value);
    }
    release(a);
    release(b);
    release(c);
}

static void options_are_used_and_checked(void **state)
{
    (void)state;
    struct fixture *f = fresh();
    struct honeypot_opts o = {.registry_host = "npm.corp.test:4873", .git_host = "code.corp.test", .user = "alice",
                              .home = "/home/alice", .project = "/srv/app", .seed = 3};
    struct sb_error err = {0};
    assert_int_equal(honeypot_build(f->home_fd, f->project_fd, &o, &f->hp, &err), 0);
    file_matches(f, ".npmrc", "^//npm\\.corp\\.test:4873/:_authToken=npm_");
    file_matches(f, ".git-credentials", "^https://alice:ghp_[A-Za-z0-9]{36}@code\\.corp\\.test$");
    int type;
    assert_int_equal(mode_of(f, ".config", &type), 0755);   /* no rules: no extension stores */
    char path[8192];
    snprintf(path, sizeof path, "%s/.config/google-chrome/Default/Local Extension Settings", f->home);
    assert_int_equal(access(path, F_OK), -1);
    bool env_src = false;
    for (size_t i = 0; i < f->hp.ncanaries; i++)
        env_src |= !strcmp(f->hp.canaries[i].source, "file:/srv/app/.env (JWT_SECRET)");
    assert_true(env_src);
    release(f);

    const char *bad_hosts[] = {"evil/host", "a\nb", "", "x y"};
    for (size_t i = 0; i < 4; i++) {
        f = fresh();
        struct honeypot_opts b = {.registry_host = bad_hosts[i]};
        assert_int_equal(honeypot_build(f->home_fd, f->project_fd, &b, &f->hp, &err), -1);
        assert_string_equal(err.code, "bad-option");
        assert_null(f->hp.canaries);
        release(f);
    }
    f = fresh();
    struct honeypot_opts missing = {.rules_dir = "/nonexistent/rules"};
    assert_int_equal(honeypot_build(f->home_fd, f->project_fd, &missing, &f->hp, &err), -1);
    assert_string_equal(err.code, "bad-rules");
    release(f);
}

static const char *env_value(char **env, const char *name)
{
    size_t n = strlen(name);
    for (char **e = env; *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=') return *e + n + 1;
    return NULL;
}

/* --ci: a GitHub Actions job's variables; its secrets carry canaries found in the env entry. */
static void ci_option_adds_a_ci_job_with_canaries(void **state)
{
    (void)state;
    struct fixture *f = fresh();
    struct honeypot_opts o = default_opts(11);
    o.ci = 1;
    struct sb_error err = {0};
    assert_int_equal(honeypot_build(f->home_fd, f->project_fd, &o, &f->hp, &err), 0);
    assert_string_equal(env_value(f->hp.env, "CI"), "true");
    assert_string_equal(env_value(f->hp.env, "GITHUB_ACTIONS"), "true");
    assert_string_equal(env_value(f->hp.env, "RUNNER_OS"), "Linux");
    assert_string_equal(env_value(f->hp.env, "GITHUB_WORKSPACE"), "/home/dev/project");
    matches(env_value(f->hp.env, "GITHUB_REPOSITORY"), "^[a-z-]+/[a-z-]+$");
    matches(env_value(f->hp.env, "GITHUB_SHA"), "^[0-9a-f]{40}$");
    matches(env_value(f->hp.env, "GITHUB_RUN_ID"), "^[1-9][0-9]{9}$");
    matches(env_value(f->hp.env, "ACTIONS_RUNTIME_TOKEN"), "^eyJ[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$");
    const char *secrets[] = {"env:ACTIONS_RUNTIME_TOKEN", "env:ACTIONS_ID_TOKEN_REQUEST_TOKEN", "env:GITHUB_TOKEN"};
    for (size_t i = 0; i < 3; i++) {
        const struct canary *c = NULL;
        for (size_t k = 0; k < f->hp.ncanaries; k++)
            if (!strcmp(f->hp.canaries[k].source, secrets[i])) c = &f->hp.canaries[k];
        if (!c) print_message("no canary for %s\n", secrets[i]);
        assert_non_null(c);
        const char *v = env_value(f->hp.env, secrets[i] + 4);
        assert_non_null(v);
        assert_non_null(strstr(v, c->value));
    }
    release(f);
    f = fresh();
    o.ci = 0;
    assert_int_equal(honeypot_build(f->home_fd, f->project_fd, &o, &f->hp, &err), 0);
    assert_null(env_value(f->hp.env, "CI"));
    assert_null(env_value(f->hp.env, "ACTIONS_RUNTIME_TOKEN"));
    release(f);
}

static void bad_wallet_lists_are_refused(void **state)
{
    (void)state;
    const char *lists[] = {"[1,2]", "{\"X\": \"short\"}", "{\"../x\": \"nkbihfbeogaeaoehlefnkodbefgpgknn\"}",
                           "{\"X\": \"nkbihfbeogaeaoehlefnkodbefgpgknz\"}", "{"};
    for (size_t i = 0; i < 5; i++) {
        struct fixture *f = fresh();
        char path[8192];
        snprintf(path, sizeof path, "%s/rules/lists", f->root);
        char cmd[8300];
        snprintf(cmd, sizeof cmd, "%s/rules", f->root);
        assert_int_equal(mkdir(cmd, 0755), 0);
        assert_int_equal(mkdir(path, 0755), 0);
        strcat(path, "/wallet-extensions.json");
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(lists[i], fp);
        fclose(fp);
        struct honeypot_opts o = {.rules_dir = cmd, .seed = 1};
        struct sb_error err = {0};
        assert_int_equal(honeypot_build(f->home_fd, f->project_fd, &o, &f->hp, &err), -1);
        assert_string_equal(err.code, "bad-rules");
        release(f);
    }
}

static bool dir_is_empty(const char *path)
{
    struct tu_run r;
    const char *argv[] = {"ls", "-A", path, NULL};
    assert_int_equal(tu_run(argv, &r), 0);
    bool empty = r.status == 0 && r.out[0] == 0;
    tu_run_free(&r);
    return empty;
}

/* A link planted in the target folder (as a folder or as a file) is never followed. */
static void planted_links_are_not_followed(void **state)
{
    (void)state;
    static const struct {
        const char *rel;
        bool is_dir;
    } planted[] = {{".ssh", true}, {".config", true}, {".npmrc", false}, {".aws/credentials", false}};
    for (size_t i = 0; i < sizeof planted / sizeof *planted; i++) {
        struct fixture *f = fresh();
        char outside[8192], link[8192], target[8300];
        snprintf(outside, sizeof outside, "%s/outside", f->root);
        assert_int_equal(mkdir(outside, 0755), 0);
        snprintf(target, sizeof target, "%s%s", outside, planted[i].is_dir ? "" : "/file");
        snprintf(link, sizeof link, "%s/%s", f->home, planted[i].rel);
        if (strchr(planted[i].rel, '/')) {
            char parent[8192];
            snprintf(parent, sizeof parent, "%s", link);
            *strrchr(parent, '/') = 0;
            assert_int_equal(mkdir(parent, 0755), 0);
        }
        assert_int_equal(symlink(target, link), 0);
        struct honeypot_opts o = default_opts(5);
        struct sb_error err = {0};
        assert_int_equal(honeypot_build(f->home_fd, f->project_fd, &o, &f->hp, &err), -1);
        assert_string_equal(err.code, "honeypot");
        assert_true(dir_is_empty(outside));
        release(f);
    }
    /* A planted .env in the project. */
    struct fixture *f = fresh();
    char link[8192];
    snprintf(link, sizeof link, "%s/.env", f->project);
    assert_int_equal(symlink("/nonexistent-target", link), 0);
    struct honeypot_opts o = default_opts(5);
    struct sb_error err = {0};
    assert_int_equal(honeypot_build(f->home_fd, f->project_fd, &o, &f->hp, &err), -1);
    assert_int_equal(access("/nonexistent-target", F_OK), -1);
    release(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(writes_every_file_with_its_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(every_listed_extension_in_every_browser, setup, teardown),
        cmocka_unit_test_setup_teardown(canaries_are_distinct_and_long, setup, teardown),
        cmocka_unit_test_setup_teardown(each_canary_is_found_in_what_it_was_written_to, setup, teardown),
        cmocka_unit_test_setup_teardown(files_use_their_own_encodings, setup, teardown),
        cmocka_unit_test_setup_teardown(whole_files_sent_base64_are_caught, setup, teardown),
        cmocka_unit_test_setup_teardown(tokens_have_the_real_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(wallet_files_have_their_shapes, setup, teardown),
        cmocka_unit_test(seed_is_deterministic_and_zero_is_random),
        cmocka_unit_test(options_are_used_and_checked),
        cmocka_unit_test(ci_option_adds_a_ci_job_with_canaries),
        cmocka_unit_test(bad_wallet_lists_are_refused),
        cmocka_unit_test(planted_links_are_not_followed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
