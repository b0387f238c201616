/*
 * test_html.c — `analyze --format html` end to end, then the page in headless Chromium: it
 * renders (a non-trivial screenshot) and logs no console message (no CSP violation, no error).
 *
 * Console detection: with --enable-logging=stderr Chromium writes every console message of the
 * page as a ":CONSOLE" log line (CSP violations included). The page has no script, so any such
 * line is a failure. A control page with a planted violation proves the detector sees them.
 * Runs as root and rootless (tests/run.sh); Chromium gets --no-sandbox (needed as root) and a
 * private profile, HOME and cache. Skipped when Chromium is not installed or cannot start.
 * SCRIPTBOX_HTML_SHOT=/path/shot.png keeps the report's screenshot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

/* Full path of the first of names found on PATH, or NULL. */
static const char *find_browser(void)
{
    static char found[4096];
    const char *names[] = {"chromium", "chromium-browser", NULL};
    const char *path = getenv("PATH");
    for (int i = 0; names[i]; i++) {
        for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
            const char *colon = strchr(p, ':');
            size_t n = colon ? (size_t)(colon - p) : strlen(p);
            snprintf(found, sizeof found, "%.*s/%s", (int)n, p, names[i]);
            if (n && access(found, X_OK) == 0) return found;
            p += n + (colon != NULL);
        }
    }
    return NULL;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The console lines of Chromium's log: what the page said, CSP violations included. */
static int console_lines(const char *log, char *first, size_t cap)
{
    int n = 0;
    first[0] = 0;
    for (const char *p = strstr(log, ":CONSOLE"); p; p = strstr(p + 1, ":CONSOLE")) {
        if (!n++) {
            const char *bol = p;
            while (bol > log && bol[-1] != '\n') bol--;
            const char *eol = strchr(p, '\n');
            snprintf(first, cap, "%.*s", (int)((eol ? eol : p + strlen(p)) - bol), bol);
        }
    }
    return n;
}

struct shot {
    bool started;      /* a PNG was written */
    long png_bytes;
    int console;       /* console lines logged */
    char first[1024];  /* the first of them */
    char tail[512];    /* end of stderr, when it could not start */
};

/* Open file://html headless, screenshot to png, collect the log. */
static void browse(struct tu_dirs *c, const char *browser, const char *html, const char *png, struct shot *s)
{
    char profile[4096], home[4096], cache[4096], url[4200], shot_opt[4200], homeenv[4200], cacheenv[4200], cfgenv[4200];
    snprintf(profile, sizeof profile, "%s/chromium-profile", c->out);
    snprintf(home, sizeof home, "%s/chromium-home", c->out);
    snprintf(cache, sizeof cache, "%s/chromium-cache", c->out);
    mkdir(home, 0700);
    mkdir(cache, 0700);
    snprintf(url, sizeof url, "file://%s", html);
    snprintf(shot_opt, sizeof shot_opt, "--screenshot=%s", png);
    snprintf(homeenv, sizeof homeenv, "HOME=%s", home);
    snprintf(cacheenv, sizeof cacheenv, "XDG_CACHE_HOME=%s", cache);
    snprintf(cfgenv, sizeof cfgenv, "XDG_CONFIG_HOME=%s", home);
    char profile_opt[4200];
    snprintf(profile_opt, sizeof profile_opt, "--user-data-dir=%s", profile);
    const char *argv[] = {"timeout", "90", "env", homeenv, cacheenv, cfgenv, browser, "--headless=new",
                          "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                          "--disable-extensions", "--disable-background-networking", profile_opt,
                          "--enable-logging=stderr", "--v=0", "--window-size=1280,2000", shot_opt, url, NULL};
    struct tu_run r;
    unlink(png);
    assert_int_equal(tu_run(argv, &r), 0);
    memset(s, 0, sizeof *s);
    s->png_bytes = file_size(png);
    s->started = s->png_bytes > 0;
    s->console = console_lines(r.err, s->first, sizeof s->first);
    size_t n = strlen(r.err);
    snprintf(s->tail, sizeof s->tail, "%s", r.err + (n > 400 ? n - 400 : 0));
    tu_run_free(&r);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void html_report_renders_in_chromium_without_console_errors(void **state)
{
    struct tu_dirs *c = *state;
    char html[4096], png[4096];
    snprintf(html, sizeof html, "%s/report.html", c->out);
    /* SCRIPTBOX_HTML_SHOT=FILE keeps the screenshot for a person to look at. */
    const char *keep = getenv("SCRIPTBOX_HTML_SHOT");
    snprintf(png, sizeof png, "%s", keep && *keep ? keep : "");
    if (!*png) snprintf(png, sizeof png, "%s/report.png", c->out);
    /* an exfiltrating fixture: findings, canary hits, DNS, an HTTP request, a process tree */
    const char *argv[] = {tu_build("scriptbox"), "analyze", tu_src("tests/fixtures/packages/exfil-http-env"),
                          "--format", "html", "--output", html, NULL};
    struct tu_run r;
    assert_int_equal(tu_run(argv, &r), 0);
    if (r.status != 1) fprintf(stderr, "stderr: %s\n", r.err);
    assert_int_equal(r.status, 1);   /* critical finding: exit 1, the page is still written */
    tu_run_free(&r);
    char *page = tu_read_file(html, NULL);
    assert_non_null(page);
    assert_non_null(strstr(page, "<!DOCTYPE html>"));
    assert_non_null(strstr(page, "content=\"default-src 'none'; style-src 'unsafe-inline'"));
    assert_non_null(strstr(page, "verdict v-malicious"));
    assert_non_null(strstr(page, "id=\"canary-hits\""));
    assert_non_null(strstr(page, "collector.example"));
    assert_non_null(strstr(page, "id=\"timeline\""));
    assert_null(strstr(page, "carries no timeline"));   /* drawn: the HTML report builds it */
    assert_null(strstr(page, "<script"));
    assert_null(strstr(page, "http://"));
    assert_null(strstr(page, "https://"));
    free(page);

    const char *browser = find_browser();
    if (!browser) {
        print_message("skip: chromium not installed (apt-get install chromium)\n");
        skip();
    }
    /* Control: the detector must see a planted CSP violation, or "no console line" proves nothing. */
    char bad[4096], bad_png[4096];
    snprintf(bad, sizeof bad, "%s/control.html", c->out);
    snprintf(bad_png, sizeof bad_png, "%s/control.png", c->out);
    write_text(bad, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" "
                    "content=\"default-src 'none'; style-src 'unsafe-inline'\"><title>control</title></head>"
                    "<body><p>control</p><script>console.error('planted')</script></body></html>\n");
    struct shot s;
    browse(c, browser, bad, bad_png, &s);
    if (!s.started) {
        print_message("skip: chromium cannot start here (as uid %d); its stderr ends: %s\n", (int)getuid(), s.tail);
        skip();
    }
    if (s.console == 0) fail_msg("the console detector missed a planted CSP violation; stderr ends: %s", s.tail);

    browse(c, browser, html, png, &s);
    if (!s.started) fail_msg("chromium wrote no screenshot of the report; stderr ends: %s", s.tail);
    if (s.console) fail_msg("%d console line(s) from the report page, first: %s", s.console, s.first);
    if (s.png_bytes < 20 * 1024) fail_msg("screenshot is only %ld bytes: nothing rendered?", s.png_bytes);
    print_message("chromium rendered the report: %s (%ld bytes), no console messages\n", png, s.png_bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(html_report_renders_in_chromium_without_console_errors, tu_dirs_setup, tu_dirs_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
