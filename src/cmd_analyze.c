/*
 * cmd_analyze.c — `scriptbox analyze TARGET`: intake → unpack → plan → sandboxed run → report.
 *
 * Owns the run's lifetime: the work folder is removed on every path out (unless
 * --keep-workdir), and SIGINT/SIGTERM/SIGHUP kill the sandbox at once, then unwind through the
 * same cleanup before exiting with 128+signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "lazylib.h"
#include "deps.h"
#include "events.h"
#include "exfil.h"
#include "judge.h"
#include "lifecycle.h"
#include "manifest.h"
#include "phases.h"
#include "registry.h"
#include "registry_facts.h"
#include "report.h"
#include "runenv.h"
#include "timewarp.h"
#include "unpack.h"
#include "workdir.h"
#include "world.h"

enum { EVENTS_MAX_BYTES = 64 * 1024 * 1024 };

struct analyze_opts {
    const char *target;
    enum report_format format;
    const char *output;
    const char *events_path;
    unsigned timeout_s;
    unsigned grace_s;
    enum severity fail_on;
    bool keep_workdir;
    bool trace_all;
    int ci;                     /* HONEYPOT_CI_* */
    unsigned phases;            /* PHASE_* */
    bool no_deps, deps_scripts;
    struct unpack_limits limits;
    struct registry_opts reg;
    struct judge_opts judge;
};

struct analyze_run {
    struct analyze_opts opt;
    struct workdir wd;
    bool have_wd;
    const char *source_kind;
    char source_path[PATH_MAX];
    char seed_home[PATH_MAX + 16], seed_project[PATH_MAX + 16], seed_package[PATH_MAX + 16];
    struct unpack_result unpack;
    bool have_unpack;
    struct registry_result reg;     /* registry targets: what was resolved and fetched */
    bool have_reg;
    cJSON *reg_facts;
    struct manifest manifest;
    bool have_manifest;
    struct lifecycle_plan plan;
    struct step_outcome outcomes[REPORT_MAX_PHASES];   /* the lifecycle steps, then import */
    size_t noutcomes;
    struct event_log events;
    struct runenv env;              /* honeypot, CA, extra environment */
    bool have_env;
    struct sb_error deferred;   /* an environment failure reported after the report is written */
    struct exfil_watch watch;       /* files written outside the package; our collector */
    struct deps_phase deps;         /* the dependency phase (deps.h) */
    char package_dir[PATH_MAX];     /* inside the sandbox */
    const char *sandbox_mode;
    int leftovers;
    time_t started_at;
    uint64_t t0_ns, unpack_ms, run_ms;
    struct judge_loaded *rules;     /* loaded (and checked) before the run, judged after */
};

static volatile sig_atomic_t interrupted;

static void on_signal(int signo)
{
    interrupted = signo;
    sbx_kill_all();
}

static void install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool progress_on(void) { return isatty(2); }

/* "scriptbox: <doing> <what>" on a terminal; nothing when stderr is a pipe or file. */
static void progress(const char *doing, const char *what)
{
    if (progress_on()) fprintf(stderr, "scriptbox: %s %s\n", doing, what);
}

/* ---- options ------------------------------------------------------------------------- */

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v > max || s[0] == '-') return -1;
    *out = v;
    return 0;
}

enum { OPT_FORMAT = 1, OPT_OUTPUT, OPT_EVENTS, OPT_TIMEOUT, OPT_GRACE, OPT_FAIL_ON, OPT_KEEP,
       OPT_MAX_ENTRIES, OPT_MAX_TOTAL_BYTES, OPT_MAX_FILE_BYTES, OPT_TRACE, OPT_CI, OPT_PHASES, OPT_NO_DEPS,
       OPT_DEPS_SCRIPTS };

static int apply_option(struct analyze_opts *o, int c, const char *arg, struct sb_error *err)
{
    unsigned long long v;
    switch (c) {
    case OPT_FORMAT: return format_option(arg, ~0u, &o->format, err);
    case OPT_OUTPUT: o->output = arg; return 0;
    case OPT_EVENTS: o->events_path = arg; return 0;
    case OPT_TIMEOUT:
    case OPT_GRACE:
        if (parse_uint(arg, 86400, &v) < 0 || (c == OPT_TIMEOUT && v == 0))
            return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "--%s takes whole seconds (1..86400), not '%s'",
                           c == OPT_TIMEOUT ? "timeout" : "grace", arg);
        if (c == OPT_TIMEOUT) o->timeout_s = (unsigned)v;
        else o->grace_s = (unsigned)v;
        return 0;
    case OPT_FAIL_ON: return severity_option(arg, &o->fail_on, err);
    case OPT_KEEP: o->keep_workdir = true; return 0;
    case OPT_CI:
        if (!arg || !strcmp(arg, "github")) o->ci = HONEYPOT_CI_GITHUB;
        else if (!strcmp(arg, "gitlab")) o->ci = HONEYPOT_CI_GITLAB;
        else if (!strcmp(arg, "none")) o->ci = HONEYPOT_CI_NONE;
        else return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "--ci takes github, gitlab or none, not '%s'", arg);
        return 0;
    case OPT_PHASES: return phases_parse(arg, &o->phases, err);
    case OPT_NO_DEPS: o->no_deps = true; return 0;
    case OPT_DEPS_SCRIPTS: o->deps_scripts = true; return 0;
    case OPT_TRACE:
        if (strcmp(arg, "all") && strcmp(arg, "default"))
            return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "--trace takes 'all' or 'default', not '%s'", arg);
        o->trace_all = !strcmp(arg, "all");
        return 0;
    case OPT_MAX_ENTRIES:
    case OPT_MAX_TOTAL_BYTES:
    case OPT_MAX_FILE_BYTES:
        if (parse_uint(arg, 1ull << 40, &v) < 0 || v == 0)
            return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "--max-entries/--max-total-bytes/--max-file-bytes take a positive whole number, not '%s'", arg);
        if (c == OPT_MAX_ENTRIES) o->limits.max_entries = v;
        else if (c == OPT_MAX_TOTAL_BYTES) o->limits.max_total_bytes = v;
        else o->limits.max_file_bytes = v;
        return 0;
    default:
        if (c >= JUDGE_OPT_RULES && c < JUDGE_OPT_END) return judge_opts_set(&o->judge, c, arg, err);
        if (c >= REGISTRY_OPT_BASE) return registry_opt_apply(&o->reg, c, arg, err);
        return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "unknown option; see 'scriptbox --help'");
    }
}

static int parse_options(int argc, char **argv, struct analyze_opts *o, struct sb_error *err)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, OPT_FORMAT},   {"output", required_argument, NULL, OPT_OUTPUT},
        {"events", required_argument, NULL, OPT_EVENTS},   {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"grace", required_argument, NULL, OPT_GRACE},     {"fail-on", required_argument, NULL, OPT_FAIL_ON},
        {"keep-workdir", no_argument, NULL, OPT_KEEP},     {"max-entries", required_argument, NULL, OPT_MAX_ENTRIES},
        {"max-total-bytes", required_argument, NULL, OPT_MAX_TOTAL_BYTES},
        {"max-file-bytes", required_argument, NULL, OPT_MAX_FILE_BYTES},
        {"trace", required_argument, NULL, OPT_TRACE}, {"ci", optional_argument, NULL, OPT_CI},
        {"phases", required_argument, NULL, OPT_PHASES},
        {"no-deps", no_argument, NULL, OPT_NO_DEPS}, {"deps-scripts", no_argument, NULL, OPT_DEPS_SCRIPTS},
        REGISTRY_LONGOPTS,
        JUDGE_LONGOPTS, {NULL, 0, NULL, 0},
    };
    *o = (struct analyze_opts){.format = REPORT_TEXT, .timeout_s = 120, .grace_s = 3, .fail_on = SEV_HIGH,
                            .phases = PHASES_DEFAULT};
    unpack_limits_default(&o->limits);
    registry_opts_default(&o->reg);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == '?' || c == ':')
            return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "unknown or incomplete option '%s'; see 'scriptbox --help'",
                           argv[optind - 1]);
        const char *arg = optarg;
        /* `--ci gitlab` as the issue writes it: a bare --ci takes a following persona name (an
         * optional argument is otherwise only `--ci=gitlab`); `--ci ./pkg` stays a bare --ci. */
        if (c == OPT_CI && !arg && optind < argc &&
            (!strcmp(argv[optind], "github") || !strcmp(argv[optind], "gitlab") || !strcmp(argv[optind], "none")))
            arg = argv[optind++];
        if (apply_option(o, c, arg, err) < 0) return -1;
    }
    if (optind != argc - 1)
        return sb_fail(err, SB_EXIT_INPUT, "usage", 0, "analyze takes exactly one TARGET (a .tgz, a package folder or name@spec); see 'scriptbox --help'");
    o->target = argv[optind];
    return 0;
}

/* ---- intake ------------------------------------------------------------------------- */

static int open_package_dir(struct analyze_run *r, struct sb_error *err)
{
    if (r->source_kind[0] == 'f')
        return open(r->seed_package, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = workdir_mkdirs(&r->wd, "package", err);
    if (fd < 0) return -1;
    snprintf(r->seed_package, sizeof r->seed_package, "%s/package", r->wd.path);
    if (r->source_kind[0] == 'r') {
        progress("fetching", r->opt.target);
        r->have_reg = true;
        if (registry_fetch(&r->opt.reg, r->opt.target, r->wd.path, &r->reg, err) < 0) {
            close(fd);
            return sb_context(err, "%s", r->opt.target);
        }
        lazy_curl_unload();   /* intake is over: curl's ~35 libraries need not stay mapped for the run */
        registry_redact_url(r->reg.tarball_url, r->source_path, sizeof r->source_path);
    }
    progress("unpacking", r->opt.target);
    uint64_t t = now_ns();
    int rc = unpack_tarball(r->have_reg ? r->reg.tarball_path : r->opt.target, fd, &r->opt.limits, &r->unpack, err);
    r->unpack_ms = (now_ns() - t) / 1000000;
    lazy_archive_unload();   /* the run no longer needs libarchive (~2 MiB resident) */
    if (rc < 0) {
        close(fd);
        return sb_context(err, "unpacking %s", r->opt.target);
    }
    r->have_unpack = true;
    return fd;
}

static int classify_target(struct analyze_run *r, struct sb_error *err)
{
    struct stat st;
    if (stat(r->opt.target, &st) < 0 && errno == ENOENT && registry_is_spec(r->opt.target)) {
        r->source_kind = "registry";   /* name[@spec]: fetched, verified, then unpacked as a tarball */
        return 0;
    }
    if (stat(r->opt.target, &st) < 0)
        return sb_fail(err, SB_EXIT_INPUT, "target-missing", errno, "cannot read target %s: %s; fix: pass a .tgz file or a package folder",
                       r->opt.target, strerror(errno));
    if (!realpath(r->opt.target, r->source_path))
        return sb_fail(err, SB_EXIT_INPUT, "target-missing", errno, "cannot resolve %s: %s", r->opt.target, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        r->source_kind = "folder";
        snprintf(r->seed_package, sizeof r->seed_package, "%s", r->source_path);
        return 0;
    }
    if (S_ISREG(st.st_mode)) {
        r->source_kind = "tarball";
        return 0;
    }
    return sb_fail(err, SB_EXIT_INPUT, "target-kind", 0, "%s is neither a file nor a folder; fix: pass a .tgz file or a package folder",
                   r->opt.target);
}

/* Write the project's own package.json: an ordinary app that depends on the package. */
static int write_project_manifest(struct analyze_run *r, int project_fd, struct sb_error *err)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", "app");
    cJSON_AddStringToObject(p, "version", "1.0.0");
    cJSON_AddBoolToObject(p, "private", 1);
    cJSON *deps = cJSON_AddObjectToObject(p, "dependencies");
    char range[160];
    snprintf(range, sizeof range, "^%s", r->manifest.version);
    cJSON_AddStringToObject(deps, r->manifest.name, range);
    char *text = cJSON_Print(p);
    cJSON_Delete(p);
    int fd = text ? openat(project_fd, "package.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644) : -1;
    bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    if (fd >= 0) close(fd);
    free(text);
    if (!ok) return sb_fail(err, SB_EXIT_SANDBOX, "workdir", errno, "cannot write the project's package.json in %s", r->wd.path);
    return 0;
}

/* The honeypot in both seeds, the run's CA and the scripts' extra environment. */
static int build_runenv(struct analyze_run *r, int home_fd, int project_fd, struct sb_error *err)
{
    char registry[256], rules[PATH_MAX];
    struct runenv_opts o = {
        .home_fd = home_fd, .project_fd = project_fd, .ci = r->opt.ci,
        .registry_host = runenv_registry_host(r->have_manifest ? r->manifest.name : NULL, registry, sizeof registry),
        .rules_dir = runenv_rules_dir(rules, sizeof rules),
        .home = WORLD_HOME, .project = WORLD_PROJECT, .user = WORLD_USER,
        .home_seed = r->seed_home, .project_seed = r->seed_project,
    };
    if (runenv_build(&r->env, &o, err) < 0) return -1;
    r->have_env = true;
    return 0;
}

/* Seeds of the sandbox's writable areas: HOME, the project with an empty mount point for the
 * package (it gets its own tmpfs, seeded from the unpacked or given folder), the honeypot in
 * both. */
static int prepare_seeds(struct analyze_run *r, struct sb_error *err)
{
    char rel[512];
    snprintf(rel, sizeof rel, "project/node_modules/%s", r->manifest.name);
    int fd = workdir_mkdirs(&r->wd, rel, err);
    if (fd < 0) return -1;
    close(fd);
    int home_fd = workdir_mkdirs(&r->wd, "home", err);
    if (home_fd < 0) return -1;
    int project_fd = workdir_mkdirs(&r->wd, "project", err);
    snprintf(r->seed_home, sizeof r->seed_home, "%s/home", r->wd.path);
    snprintf(r->seed_project, sizeof r->seed_project, "%s/project", r->wd.path);
    int rc = project_fd < 0 ? -1 : write_project_manifest(r, project_fd, err);
    if (rc == 0) rc = build_runenv(r, home_fd, project_fd, err);
    if (project_fd >= 0) close(project_fd);
    close(home_fd);
    return rc;
}

static int intake(struct analyze_run *r, struct sb_error *err)
{
    if (classify_target(r, err) < 0) return -1;
    if (workdir_create(&r->wd, err) < 0) return -1;
    r->have_wd = true;
    int pkg_fd = open_package_dir(r, err);
    if (pkg_fd < 0) {
        if (err->code) return -1;
        return sb_fail(err, SB_EXIT_INPUT, "target-missing", errno, "cannot open folder %s: %s", r->seed_package, strerror(errno));
    }
    int rc = manifest_load(pkg_fd, &r->manifest, err);
    close(pkg_fd);
    if (rc < 0) return sb_context(err, "reading package.json of %s", r->opt.target);
    r->have_manifest = true;
    if (r->have_reg) {
        uint64_t t = now_ns();
        if (!(r->reg_facts = registry_facts_build(&r->reg, r->manifest.json, time(NULL))))
            return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory building the registry facts");
        r->reg.us += (now_ns() - t) / 1000;
    }
    lifecycle_plan_build(&r->manifest, &r->plan);
    return prepare_seeds(r, err);
}

/* ---- sandboxed run ------------------------------------------------------------------ */

static unsigned remaining_ms(const struct analyze_run *r)
{
    uint64_t budget = (uint64_t)r->opt.timeout_s * 1000;
    uint64_t used = (now_ns() - r->t0_ns) / 1000000;
    return used >= budget ? 0 : (unsigned)(budget - used);
}

static void skip_rest(struct analyze_run *r, size_t from, const char *why)
{
    for (size_t i = from; i < r->plan.nsteps; i++)
        r->outcomes[i] = (struct step_outcome){.step = &r->plan.steps[i], .ran = false, .skip_reason = why};
    r->noutcomes = r->plan.nsteps;
}

static int run_step(struct analyze_run *r, struct sbx *sb, const struct world *w, size_t i, struct sb_error *err)
{
    const struct lifecycle_step *step = &r->plan.steps[i];
    char **env = lifecycle_env(&r->manifest, step, &w->lw, err);
    if (!env) return -1;
    const char *argv[] = {"/bin/sh", "-c", step->script, NULL};
    struct sbx_command cmd = {.argv = argv, .envp = (const char *const *)env, .cwd = w->package_dir,
                              .timeout_ms = remaining_ms(r)};
    struct step_outcome *o = &r->outcomes[i];
    o->step = step;
    event_log_set_phase(&r->events, step->event);
    progress("running", step->event);
    sbx_error se = {0};
    int rc = sbx_exec(sb, &cmd, &o->status, &se);
    lifecycle_env_free(env);
    if (rc < 0) return sb_from_sbx(err, &se);
    o->ran = true;
    r->noutcomes = i + 1;
    return 0;
}

/* npm stops at the first failing script; so do we, and say why the rest did not run. */
static const char *stop_reason(const struct analyze_run *r, const struct step_outcome *o)
{
    if (interrupted) return "interrupted";
    if (o->status.timed_out || remaining_ms(r) == 0) return "run timeout reached";
    if (!o->status.exited || o->status.exit_code != 0) return "an earlier script failed (npm stops there too)";
    return NULL;
}

static int run_steps(struct analyze_run *r, struct sbx *sb, const struct world *w, struct sb_error *err)
{
    if (!(r->opt.phases & PHASE_INSTALL)) {
        skip_rest(r, 0, "not selected (--phases)");
        return 0;
    }
    for (size_t i = 0; i < r->plan.nsteps; i++) {
        if (run_step(r, sb, w, i, err) < 0) {
            skip_rest(r, i, "sandbox error");
            return -1;
        }
        const char *why = stop_reason(r, &r->outcomes[i]);
        if (why) {
            skip_rest(r, i + 1, why);
            return 0;
        }
    }
    return 0;
}

/* The import phase (phases.h): after the install scripts, whatever they did; not after an
 * interrupt or when the run's time is used up. */
static int run_import(struct analyze_run *r, struct sbx *sb, const struct world *w, struct sb_error *err)
{
    if (!(r->opt.phases & PHASE_IMPORT)) return 0;
    r->noutcomes = r->plan.nsteps;
    struct step_outcome *o = &r->outcomes[r->noutcomes++];
    *o = (struct step_outcome){.step = &phases_import_step, .kind = "import"};
    unsigned budget = remaining_ms(r);
    if (interrupted || budget == 0) {
        o->skip_reason = interrupted ? "interrupted" : "run timeout reached";
        return 0;
    }
    struct import_cmd ic;
    if (phases_import_cmd(w, &r->manifest, &ic, err) < 0) return -1;
    struct sbx_command cmd = {.argv = ic.argv, .envp = (const char *const *)ic.env, .cwd = w->lw.project_dir,
                              .timeout_ms = budget < PHASE_IMPORT_MAX_MS ? budget : PHASE_IMPORT_MAX_MS};
    event_log_set_phase(&r->events, "import");
    progress("running", "import");
    sbx_error se = {0};
    int rc = sbx_exec(sb, &cmd, &o->status, &se);
    phases_import_cmd_free(&ic);
    if (rc < 0) {
        o->skip_reason = "sandbox error";
        return sb_from_sbx(err, &se);
    }
    o->ran = true;
    return 0;
}

/* Every event goes to the stream, except our own collector's; writes are remembered. The node
 * preload's marks become "time accelerated" notes. */
static void on_event(void *ctx, const struct sbx_event *ev)
{
    struct analyze_run *r = ctx;
    if (r->events.phase && !strcmp(r->events.phase, "deps")) {
        /* npm's own activity is summarised in the phase; a dependency's script (--deps-scripts)
         * is judged like the package's, under the phase "deps:<name>" */
        const char *ph = r->deps.active ? deps_on_event(&r->deps, ev) : NULL;
        if (!ph) return;
        event_log_set_phase(&r->events, ph);
        if (!exfil_watch_is_ours(&r->watch, ev)) {
            event_log_add(&r->events, ev);
            exfil_watch_note(&r->watch, ev, r->events.seq, r->events.phase);
        }
        event_log_set_phase(&r->events, "deps");
        return;
    }
    if (exfil_watch_is_ours(&r->watch, ev)) return;
    struct sbx_event note;
    char detail[128];
    if (timewarp_event(ev, &note, detail, sizeof detail)) ev = &note;
    event_log_add(&r->events, ev);
    exfil_watch_note(&r->watch, ev, r->events.seq, r->events.phase);
}

/* Read the files the package wrote outside its folder before the sandbox (and they) go away. */
static void collect_written(struct analyze_run *r, struct sbx *sb, const struct host_node *node)
{
    if (interrupted) return;
    const struct exfil_seed seeds[] = {{WORLD_PROJECT, r->seed_project}, {WORLD_HOME, r->seed_home}};
    struct sb_error e = {0};
    if (exfil_collect(&r->watch, sb, node->node_path, seeds, 2, &e) < 0)
        fprintf(stderr, "scriptbox: warning: written files not scanned for secrets: %s\n", e.msg);
}

/* The world's sandbox, with the fake internet (and the run's CA) and our event callback. */
static void configure_sandbox(struct analyze_run *r, const struct world *w, struct sbx_config *cfg)
{
    world_sbx_config(w, cfg);
    cfg->fakenet = (struct sbx_fakenet){.enabled = 1, .ca = r->env.ca};
    cfg->flags |= SBX_TIMEWARP;   /* code that sleeps before acting acts within the run */
    if (!r->env.ca) progress("warning:", r->env.ca_note);
    if (r->opt.trace_all) {
        cfg->flags |= SBX_TRACE_ALL;
        fputs("scriptbox: --trace all logs every system call; the run will be much slower\n", stderr);
    }
    cfg->on_event = on_event;
    cfg->event_ctx = r;
}

static int run_in_sandbox(struct analyze_run *r, struct sb_error *err)
{
    struct host_node node;
    if (host_node_find(&node, err) < 0) {
        if (!err->code || strcmp(err->code, "node-missing")) return -1;
        /* Honest coverage: the scripts could not run here; the report says so ("not analyzed",
         * verdict never clean) and the package's files are still judged. */
        r->deferred = *err;   /* still a distinct failure (exit 3), once the report is out */
        memset(err, 0, sizeof *err);
        skip_rest(r, 0, "node is not installed on this host: the script was not run");
        if (r->opt.phases & PHASE_IMPORT)
            r->outcomes[r->noutcomes++] = (struct step_outcome){.step = &phases_import_step, .kind = "import",
                                                                .skip_reason = "node is not installed on this host"};
        if (!r->plan.nsteps) r->deferred = (struct sb_error){0};   /* nothing npm would run was missed */
        return 0;
    }
    struct world_seeds seeds = {r->seed_home, r->seed_project, r->seed_package};
    struct world w;
    world_build(&w, &r->manifest, &node, &seeds);
    snprintf(r->package_dir, sizeof r->package_dir, "%s", w.package_dir);
    if (r->have_unpack) w.lw.integrity = r->unpack.integrity;
    w.lw.extra = r->env.env;
    exfil_watch_init(&r->watch, WORLD_HOME, WORLD_PROJECT, r->package_dir);
    char ca_path[PATH_MAX];
    enum deps_ca ca = r->opt.no_deps ? DEPS_CA_NONE : deps_host_ca(&r->opt.reg, ca_path, sizeof ca_path);
    if (ca != DEPS_CA_NONE) w.binds[w.nbinds++] = (struct sbx_bind){ca_path, DEPS_CA_PATH, SBX_BIND_OPTIONAL};
    struct sbx_config cfg;
    configure_sandbox(r, &w, &cfg);
    struct sbx *sb = NULL;
    sbx_error se = {0};
    progress("building", "the sandbox");
    uint64_t t = now_ns();
    if (sbx_open(&cfg, &sb, &se) < 0) return sb_from_sbx(err, &se);
    r->sandbox_mode = geteuid() == 0 ? "root" : "rootless";
    struct deps_opts dopt = {.m = &r->manifest, .reg = &r->opt.reg, .node = &node, .system_path = w.system_path,
                             .no_deps = r->opt.no_deps, .scripts = r->opt.deps_scripts,
                             .extra_env = w.lw.extra, .ca = ca, .timeout_ms = remaining_ms(r) / 3 * 2};   /* scripts keep a third */
    event_log_set_phase(&r->events, "deps");
    progress("installing", "dependencies");
    int rc = deps_run(&r->deps, sb, &dopt, err);
    if (rc < 0 || interrupted) skip_rest(r, 0, rc < 0 ? "sandbox error" : "interrupted");
    else rc = run_steps(r, sb, &w, err);
    if (rc == 0 && !interrupted) rc = run_import(r, sb, &w, err);
    event_log_set_phase(&r->events, "teardown");
    collect_written(r, sb, &node);
    struct sbx_close_status cs = {0};
    sbx_error ce = {0};
    unsigned grace = interrupted ? 0 : r->opt.grace_s * 1000;
    if (sbx_close(sb, grace, &cs, &ce) < 0 && rc == 0) rc = sb_from_sbx(err, &ce);
    r->leftovers = cs.leftovers;
    r->run_ms = (now_ns() - t) / 1000000;
    return rc;
}

/* ---- report and cleanup -------------------------------------------------------------- */

/* The rules over the run's events and the package's files (the same path as `rules check`). */
static int judge_package(struct analyze_run *r, struct judgement *jd, struct sb_error *err)
{
    char *text = judge_read_manifest_text(r->seed_package);
    struct rules_input ri = {
        .events = r->events.out.buf ? r->events.out.buf : "", .events_len = r->events.out.len,
        .package_dir = r->seed_package, .sandbox_package_dir = r->package_dir[0] ? r->package_dir : NULL,
        .manifest = r->manifest.json, .manifest_text = text,
        .facts = r->reg_facts, .facts_expected = r->have_reg,
    };
    int rc = judge_run_loaded(&r->opt.judge, r->rules, &ri, r->manifest.name, r->manifest.version, jd, err);
    free(text);
    return rc;
}

static int finish_report(struct analyze_run *r, struct sb_error *err)
{
    if (r->have_env && exfil_scan(&r->events, r->env.hp.canaries, r->env.hp.ncanaries, &r->watch, err) < 0) return -1;
    event_log_finish(&r->events);
    if (r->opt.events_path && event_log_save(&r->events, r->opt.events_path, err) < 0) return -1;
    struct judgement jd;
    if (judge_package(r, &jd, err) < 0) return -1;
    cJSON *deps_phase = deps_json(&r->deps), *deps_cov = deps_coverage(&r->deps);
    struct report_input in = {
        .name = r->manifest.name, .version = r->manifest.version,
        .integrity = r->have_unpack ? r->unpack.integrity : NULL,
        .source_kind = r->source_kind, .source_path = r->source_path,
        .unpack = r->have_unpack ? &r->unpack : NULL,
        .steps = r->outcomes, .nsteps = r->noutcomes,
        .events = &r->events, .events_path = r->opt.events_path,
        .sandbox_mode = r->sandbox_mode, .leftovers = r->leftovers,
        .package_dir = r->package_dir[0] ? r->package_dir : NULL, .started_at = r->started_at, .unpack_ms = r->unpack_ms, .run_ms = r->run_ms,
        .total_ms = (now_ns() - r->t0_ns) / 1000000, .judged = &jd,
        .registry = r->reg_facts, .registry_us = r->have_reg ? r->reg.us : 0,
        .deps_phase = deps_phase, .deps_coverage = deps_cov,
        .timeline = r->opt.format == REPORT_HTML,   /* 3/4 of a busy run's JSON, for the HTML view */
    };
    cJSON *report = report_build(&in);
    cJSON_Delete(deps_phase);
    cJSON_Delete(deps_cov);
    judgement_free(&jd);
    if (!report) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory building the report");
    bool to_tty = !r->opt.output && isatty(1);
    bool color = to_tty && r->opt.format == REPORT_TEXT && !getenv("NO_COLOR");
    int rc = report_write(report, r->opt.format, r->opt.output, color, err);
    enum severity max = report_max_severity(report);
    cJSON_Delete(report);
    if (rc < 0) return -1;
    return (max != SEV_NONE && max >= r->opt.fail_on) ? SB_EXIT_FINDINGS : SB_EXIT_CLEAN;
}

static void cleanup(struct analyze_run *r)
{
    judge_loaded_free(r->rules);
    for (size_t i = 0; i < r->noutcomes; i++)
        if (r->outcomes[i].ran) sbx_status_free(&r->outcomes[i].status);
    if (r->have_unpack) unpack_result_free(&r->unpack);
    if (r->have_reg) registry_result_free(&r->reg);
    cJSON_Delete(r->reg_facts);
    if (r->have_manifest) manifest_free(&r->manifest);
    event_log_free(&r->events);
    exfil_watch_free(&r->watch);
    if (r->have_env) runenv_free(&r->env);
    if (!r->have_wd) return;
    if (r->opt.keep_workdir) {
        fprintf(stderr, "scriptbox: work folder kept at %s\n", r->wd.path);
        /* Without its .lock a kept folder is never taken for a stale one and swept. */
        unlinkat(r->wd.fd, ".lock", 0);
        close(r->wd.fd);
        close(r->wd.lock_fd);
        return;
    }
    struct sb_error ignored = {0};
    if (workdir_remove(&r->wd, &ignored) < 0) fprintf(stderr, "scriptbox: warning: %s\n", ignored.msg);
}

int cmd_analyze(int argc, char **argv, struct sb_error *err)
{
    struct analyze_run r;
    memset(&r, 0, sizeof r);
    r.wd.fd = -1;
    r.wd.lock_fd = -1;
    if (parse_options(argc, argv, &r.opt, err) < 0) return -1;
    r.opt.reg.cancel = &interrupted;
    if (judge_load(&r.opt.judge, &r.rules, err) < 0) return -1;   /* bad rules fail before the run */
    install_signal_handlers();
    r.started_at = time(NULL);
    r.t0_ns = now_ns();
    event_log_init(&r.events, EVENTS_MAX_BYTES);
    int rc = intake(&r, err);
    if (rc == 0 && (r.plan.nsteps > 0 || (r.opt.phases & PHASE_IMPORT)) && !interrupted) rc = run_in_sandbox(&r, err);
    if (rc == 0 && !interrupted) rc = finish_report(&r, err);
    /* The package's files were still judged and the report says what was not analyzed; a
     * finding at --fail-on decides first, otherwise the run fails with the environment's error. */
    if (rc == SB_EXIT_CLEAN && r.deferred.code) {
        *err = r.deferred;
        rc = -1;
    }
    cleanup(&r);
    if (interrupted) {
        fprintf(stderr, "scriptbox: interrupted by signal %d; the sandbox was killed and the work folder removed\n",
                (int)interrupted);
        return 128 + interrupted;
    }
    return rc;
}
