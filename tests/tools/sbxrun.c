/* sbxrun — open a sandbox, run one command in it, print its output, exit with its status.
 *   sbxrun [--rw DIR] [--timeout MS] -- cmd args...
 * --rw DIR: a writable tmpfs at DIR inside, seeded with a copy of the host's DIR (cwd = DIR).
 * /tmp is always a fresh writable tmpfs. Host-side test and bench tool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

int main(int argc, char **argv)
{
    const char *rw = NULL;
    unsigned timeout = 0;
    int i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--rw") && i + 1 < argc) rw = argv[++i];
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) timeout = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--")) { i++; break; }
        else break;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: sbxrun [--rw DIR] [--timeout MS] -- cmd args...\n");
        return 2;
    }
    struct sbx_tmpfs areas[2] = {{.sandbox_path = "/tmp"}, {.sandbox_path = rw, .seed = rw}};
    struct sbx_config cfg = {.hostname = "sbxrun", .tmpfs = areas, .ntmpfs = rw ? 2 : 1};
    const char *env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8", NULL};
    struct sbx_command cmd = {.argv = (const char *const *)argv + i, .envp = env,
                              .cwd = rw ? rw : "/tmp", .timeout_ms = timeout};
    sbx_error err = {0};
    struct sbx *sb;
    if (sbx_open(&cfg, &sb, &err) < 0) {
        fprintf(stderr, "sbxrun: %s\n", err.msg);
        return 125;
    }
    struct sbx_status st;
    int rc;
    if (sbx_exec(sb, &cmd, &st, &err) < 0) {
        fprintf(stderr, "sbxrun: %s\n", err.msg);
        rc = 125;
    } else {
        fwrite(st.out.data, 1, st.out.len, stdout);
        fwrite(st.err.data, 1, st.err.len, stderr);
        rc = st.exited ? st.exit_code : st.timed_out ? 124 : 128 + st.term_signal;
        sbx_status_free(&st);
    }
    struct sbx_close_status cs;
    if (sbx_close(sb, 0, &cs, &err) < 0) fprintf(stderr, "sbxrun: close: %s\n", err.msg);
    return rc;
}
