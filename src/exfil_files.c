/*
 * exfil_files.c — files the package wrote outside its folder: remembered during the run, read
 * inside the sandbox by one last bounded command before it closes (see exfil.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "exfil.h"
#include "b64.h"

/* The collector: argv = nonce, per-file cap, total cap, paths. Prints one JSON line per regular
 * file it could open without following a link: [index, size, "base64 of the first bytes"]. */
static const char COLLECT_JS[] =
    "const fs=require('fs'),k=fs.constants,a=process.argv,per=+a[2];let left=+a[3];"
    "for(let i=4;i<a.length&&left>0;i++){let fd=-1;try{"
    "fd=fs.openSync(a[i],k.O_RDONLY|k.O_NOFOLLOW|k.O_NONBLOCK);const st=fs.fstatSync(fd);"
    "if(!st.isFile())continue;const b=Buffer.alloc(Math.max(0,Math.min(per,left,st.size)));let got=0;"
    "while(got<b.length){const r=fs.readSync(fd,b,got,b.length-got,null);if(r<=0)break;got+=r;}"
    "left-=got;process.stdout.write(JSON.stringify([i-4,st.size,b.subarray(0,got).toString('base64')])+'\\n');"
    "}catch(e){}finally{if(fd>=0)fs.closeSync(fd);}}";

static bool under(const char *path, const char *dir)
{
    size_t n = dir ? strlen(dir) : 0;
    return n && !strncmp(path, dir, n) && (path[n] == '/' || path[n] == 0);
}

void exfil_watch_init(struct exfil_watch *w, const char *home, const char *project, const char *package_dir)
{
    memset(w, 0, sizeof *w);
    w->home = home;
    w->project = project;
    w->package_dir = package_dir;
}

void exfil_watch_free(struct exfil_watch *w)
{
    for (size_t i = 0; i < w->nfiles; i++) {
        free(w->files[i].path);
        free(w->files[i].data);
    }
    w->nfiles = 0;
}

bool exfil_watch_is_ours(struct exfil_watch *w, const struct sbx_event *ev)
{
    if (w->collector_pid && ev->pid == w->collector_pid) {
        if (ev->kind != SBX_EV_PROC_EXIT) return w->collecting;
        w->collector_pid = 0;   /* its last event (it may come after sbx_exec returned) */
        return true;
    }
    if (!w->collecting || ev->kind != SBX_EV_EXEC || !ev->argv || !w->nonce[0]) return false;
    for (int i = 0; i < 4; i++)
        if (!ev->argv[i]) return false;
    if (strcmp(ev->argv[3], w->nonce)) return false;
    w->collector_pid = ev->pid;
    return true;
}

/* Writable areas outside the package where a package stages what it stole. */
static bool watched(const struct exfil_watch *w, const char *path)
{
    if (!path || path[0] != '/' || under(path, w->package_dir)) return false;
    return under(path, w->home) || under(path, w->project) || under(path, "/tmp") || under(path, "/var/tmp") ||
           under(path, "/dev/shm");
}

static void remember(struct exfil_watch *w, const char *path, const struct sbx_event *ev, uint64_t seq, const char *phase)
{
    if (!watched(w, path)) return;
    struct exfil_file *f = NULL;
    for (size_t i = 0; i < w->nfiles && !f; i++)
        if (!strcmp(w->files[i].path, path)) f = &w->files[i];
    if (!f) {
        if (w->nfiles == EXFIL_MAX_FILES) { w->files_omitted++; return; }
        char *copy = strdup(path);
        if (!copy) { w->files_omitted++; return; }
        f = &w->files[w->nfiles++];
        memset(f, 0, sizeof *f);
        f->path = copy;
    }
    f->ref_seq = seq;
    f->t_ns = ev->t_ns;
    f->pid = ev->pid;
    f->ppid = ev->ppid;
    f->phase = phase;
}

void exfil_watch_note(struct exfil_watch *w, const struct sbx_event *ev, uint64_t seq, const char *phase)
{
    if (ev->kind == SBX_EV_OPEN) {
        long acc = ev->flags & O_ACCMODE;
        if (acc != O_RDONLY || (ev->flags & (O_CREAT | O_TRUNC))) remember(w, ev->path, ev, seq, phase);
        return;
    }
    if (ev->kind != SBX_EV_FS || !ev->syscall) return;
    /* rename/link: the destination holds the bytes; mknod-like calls make nothing readable */
    if (!strncmp(ev->syscall, "rename", 6) || !strncmp(ev->syscall, "link", 4)) remember(w, ev->path2, ev, seq, phase);
}

/* ---- collection -------------------------------------------------------------------------- */

static int make_nonce(struct exfil_watch *w)
{
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) return -1;
    int n = snprintf(w->nonce, sizeof w->nonce, "scriptbox-collect-");
    for (size_t i = 0; i < sizeof r; i++) n += snprintf(w->nonce + n, sizeof w->nonce - (size_t)n, "%02x", r[i]);
    return 0;
}

/* argv for the collector; NULL when out of memory. Paths past EXFIL_ARGV_BYTES are left out. */
static const char **collector_argv(const struct exfil_watch *w, const char *node_path, char *per, char *total)
{
    const char **argv = calloc(w->nfiles + 8, sizeof *argv);
    if (!argv) return NULL;
    size_t n = 0, bytes = 0;
    argv[n++] = node_path;
    argv[n++] = "-e";
    argv[n++] = COLLECT_JS;
    argv[n++] = w->nonce;
    argv[n++] = per;
    argv[n++] = total;
    for (size_t i = 0; i < w->nfiles; i++) {
        bytes += strlen(w->files[i].path) + 1;
        if (bytes > EXFIL_ARGV_BYTES) break;
        argv[n++] = w->files[i].path;
    }
    argv[n] = NULL;
    return argv;
}

static void take_line(struct exfil_watch *w, const char *line, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(line, len);
    const cJSON *idx = cJSON_GetArrayItem(j, 0), *size = cJSON_GetArrayItem(j, 1);
    const char *b64 = cJSON_GetStringValue(cJSON_GetArrayItem(j, 2));
    if (cJSON_IsNumber(idx) && cJSON_IsNumber(size) && b64 && idx->valuedouble >= 0 && idx->valuedouble < (double)w->nfiles) {
        struct exfil_file *f = &w->files[(size_t)idx->valuedouble];
        free(f->data);
        f->data = b64_decode(b64, strlen(b64), &f->len);
        f->size = (uint64_t)size->valuedouble;
    }
    cJSON_Delete(j);
}

static void take_output(struct exfil_watch *w, const struct sbx_output *o)
{
    const char *s = o->data, *end = o->data ? o->data + o->len : NULL;
    while (s && s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl) break;   /* a cut last line is dropped */
        take_line(w, s, (size_t)(nl - s));
        s = nl + 1;
    }
}

/* True when the host seed has exactly the bytes read (and the same size). */
static bool same_as_seed(const struct exfil_file *f, const struct exfil_seed *seeds, size_t nseeds)
{
    for (size_t i = 0; i < nseeds; i++) {
        if (!under(f->path, seeds[i].sandbox_dir) || !seeds[i].host_dir) continue;
        char host[PATH_MAX * 2];
        snprintf(host, sizeof host, "%s%s", seeds[i].host_dir, f->path + strlen(seeds[i].sandbox_dir));
        int fd = open(host, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) return false;
        unsigned char *buf = malloc(f->len + 1);
        ssize_t n = buf ? pread(fd, buf, f->len + 1, 0) : -1;
        off_t size = lseek(fd, 0, SEEK_END);
        close(fd);
        bool same = n == (ssize_t)f->len && size == (off_t)f->size && (!f->len || !memcmp(buf, f->data, f->len));
        free(buf);
        return same;   /* the most specific seed decides (callers list the project before HOME) */
    }
    return false;
}

int exfil_collect(struct exfil_watch *w, struct sbx *sb, const char *node_path, const struct exfil_seed *seeds,
                  size_t nseeds, struct sb_error *err)
{
    if (!w->nfiles) return 0;
    if (make_nonce(w) < 0) return sb_fail(err, SB_EXIT_SANDBOX, "internal", errno, "no random numbers for the file collector");
    char per[24], total[24];
    snprintf(per, sizeof per, "%d", EXFIL_FILE_BYTES);
    snprintf(total, sizeof total, "%d", EXFIL_TOTAL_BYTES);
    const char **argv = collector_argv(w, node_path, per, total);
    if (!argv) return sb_fail(err, SB_EXIT_SANDBOX, "internal", ENOMEM, "out of memory starting the file collector");
    const char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    struct sbx_command cmd = {.argv = argv, .envp = envp, .cwd = "/", .timeout_ms = EXFIL_COLLECT_TIMEOUT_MS};
    struct sbx_status st;
    memset(&st, 0, sizeof st);
    sbx_error se = {0};
    w->collecting = true;
    int rc = sbx_exec(sb, &cmd, &st, &se);
    w->collecting = false;
    free(argv);
    if (rc < 0) return sb_from_sbx(err, &se);
    take_output(w, &st.out);
    sbx_status_free(&st);
    for (size_t i = 0; i < w->nfiles; i++) {
        struct exfil_file *f = &w->files[i];
        if (f->data && same_as_seed(f, seeds, nseeds)) {
            f->unchanged = true;
            free(f->data);
            f->data = NULL;
            f->len = 0;
        }
    }
    return 0;
}
