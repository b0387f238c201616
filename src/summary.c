#include "summary.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_PROCS = 4096,
    MAX_FOLDERS = 512,
    MAX_LISTED = 1000,
    PID_SLOTS = 8192,                       /* power of two */
    OUTLIVE_SLACK_NS = 50 * 1000 * 1000,    /* pipes and reaping settle within this after exit */
};

struct proc {
    int pid, ppid;
    cJSON *argv;          /* owned copy, or NULL */
    char *exe, *cwd;
    char *phase;
    uint64_t start_ns, end_ns, last_ns;
    bool ended;
    int exit_code, signal;
    bool has_status;
};

struct folder_count {
    char *folder;
    uint64_t count;
};

struct folders {
    struct folder_count items[MAX_FOLDERS];
    size_t n;
    uint64_t omitted;
};

struct list {
    cJSON *items;
    uint64_t omitted;
};

struct acc {
    const struct summary_input *in;
    struct proc *procs;
    size_t nprocs;
    uint64_t procs_omitted;
    int slots[PID_SLOTS];   /* pid hash → index in procs + 1 (0 = empty) */
    struct folders reads, package_writes;
    struct list outside_writes, network, denied;
    bool oom;
};

/* ---- small accessors over one event ------------------------------------------------ */

static const char *ev_str(const cJSON *e, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, k));
}

static double ev_num(const cJSON *e, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static bool has_num(const cJSON *e, const char *k)
{
    return cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(e, k));
}

/* ---- processes -------------------------------------------------------------------- */

static unsigned pid_slot(int pid) { return ((unsigned)pid * 2654435761u) & (PID_SLOTS - 1); }

static struct proc *proc_find(struct acc *a, int pid)
{
    for (unsigned i = pid_slot(pid), n = 0; n < PID_SLOTS; i = (i + 1) & (PID_SLOTS - 1), n++) {
        if (!a->slots[i]) return NULL;
        struct proc *p = &a->procs[a->slots[i] - 1];
        if (p->pid == pid) return p;
    }
    return NULL;
}

/* Point pid at procs[idx] (a newer process with a reused pid replaces the older mapping). */
static void proc_index(struct acc *a, int pid, size_t idx)
{
    for (unsigned i = pid_slot(pid), n = 0; n < PID_SLOTS; i = (i + 1) & (PID_SLOTS - 1), n++) {
        if (!a->slots[i] || a->procs[a->slots[i] - 1].pid == pid) {
            a->slots[i] = (int)idx + 1;
            return;
        }
    }
}

static const char *inherited_phase(struct acc *a, int ppid, const char *event_phase)
{
    const struct proc *parent = ppid > 0 ? proc_find(a, ppid) : NULL;
    return parent && !parent->ended && parent->phase ? parent->phase : event_phase;
}

static struct proc *proc_new(struct acc *a, const cJSON *e, int pid, uint64_t t)
{
    if (a->nprocs >= MAX_PROCS) {
        a->procs_omitted++;
        return NULL;
    }
    struct proc *p = &a->procs[a->nprocs];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->ppid = (int)ev_num(e, "ppid");
    const char *phase = inherited_phase(a, p->ppid, ev_str(e, "phase"));
    p->phase = strdup(phase ? phase : "unknown");
    p->start_ns = t;
    proc_index(a, pid, a->nprocs++);
    return p;
}

static void replace_str(char **dst, const char *src)
{
    free(*dst);
    *dst = src ? strdup(src) : NULL;
}

static void on_proc_exec(struct acc *a, const cJSON *e, int pid, uint64_t t)
{
    struct proc *p = proc_find(a, pid);
    if (!p || p->ended) p = proc_new(a, e, pid, t);
    if (!p) return;
    cJSON_Delete(p->argv);
    p->argv = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(e, "argv"), 1);
    replace_str(&p->exe, ev_str(e, "path"));
    replace_str(&p->cwd, ev_str(e, "cwd"));
}

static void on_proc_exit(struct acc *a, const cJSON *e, int pid, uint64_t t)
{
    struct proc *p = proc_find(a, pid);
    if (!p || p->ended) return;   /* forks that never exec'd are not listed */
    p->ended = true;
    p->end_ns = t;
    p->has_status = true;
    if (has_num(e, "signal")) p->signal = (int)ev_num(e, "signal");
    else p->exit_code = (int)ev_num(e, "exit_code");
}

/* ---- files -------------------------------------------------------------------------- */

static void folder_add(struct folders *f, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash && slash != path ? (size_t)(slash - path) : 1;
    for (size_t i = 0; i < f->n; i++)
        if (strlen(f->items[i].folder) == len && !strncmp(f->items[i].folder, path, len)) {
            f->items[i].count++;
            return;
        }
    if (f->n >= MAX_FOLDERS) { f->omitted++; return; }
    f->items[f->n].folder = strndup(path, len);
    f->items[f->n++].count = 1;
}

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == 0);
}

/* Device nodes and our own fd links are where output goes; they are not file activity. */
static bool is_plumbing(const char *path)
{
    return under(path, "/dev") || under(path, "/proc/self/fd");
}

static void list_add(struct acc *a, struct list *l, const cJSON *e, const char *const *keys)
{
    if (cJSON_GetArraySize(l->items) >= MAX_LISTED) { l->omitted++; return; }
    cJSON *item = cJSON_CreateObject();
    if (!item) { a->oom = true; return; }
    for (size_t i = 0; keys[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, keys[i]);
        if (v) cJSON_AddItemToObject(item, keys[i], cJSON_Duplicate(v, 1));
    }
    cJSON_AddItemToArray(l->items, item);
}

static const char *const write_keys[] = {"seq", "pid", "phase", "syscall", "path", "path2", "flags", NULL};

static void on_write(struct acc *a, const cJSON *e, const char *path)
{
    if (!path || is_plumbing(path)) return;
    if (under(path, a->in->package_dir)) folder_add(&a->package_writes, path);
    else list_add(a, &a->outside_writes, e, write_keys);
}

static void on_open(struct acc *a, const cJSON *e)
{
    const char *path = ev_str(e, "path");
    if (!path) return;
    long flags = (long)ev_num(e, "flags");
    bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
    if (writes) on_write(a, e, path);
    else if (!is_plumbing(path)) folder_add(&a->reads, path);
}

static void on_fs(struct acc *a, const cJSON *e)
{
    on_write(a, e, ev_str(e, "path"));
    const char *sc = ev_str(e, "syscall");
    /* rename/link: the destination is written too (symlink's path2 is only the link's text). */
    if (sc && (!strncmp(sc, "rename", 6) || !strncmp(sc, "link", 4))) {
        const char *dst = ev_str(e, "path2");
        if (dst && !under(dst, a->in->package_dir) && !is_plumbing(dst)) list_add(a, &a->outside_writes, e, write_keys);
    }
}

/* ---- one event ------------------------------------------------------------------------ */

static const char *const net_keys[] = {"seq", "pid", "phase", "syscall", "addr", "bytes", NULL};
static const char *const denied_keys[] = {"seq", "pid", "phase", "syscall", "detail", "path", "native_abi", NULL};

static void on_event(struct acc *a, const cJSON *e)
{
    const char *kind = ev_str(e, "kind");
    if (!kind) return;
    int pid = (int)ev_num(e, "pid");
    uint64_t t = (uint64_t)ev_num(e, "t_ns");
    struct proc *p = pid > 0 ? proc_find(a, pid) : NULL;
    if (p && !p->ended && t > p->last_ns) p->last_ns = t;
    if (!strcmp(kind, "exec")) on_proc_exec(a, e, pid, t);
    else if (!strcmp(kind, "proc_exit")) on_proc_exit(a, e, pid, t);
    else if (!strcmp(kind, "open")) on_open(a, e);
    else if (!strcmp(kind, "fs")) on_fs(a, e);
    else if (!strcmp(kind, "net")) list_add(a, &a->network, e, net_keys);
    else if (!strcmp(kind, "denied")) list_add(a, &a->denied, e, denied_keys);
}

static void feed(struct acc *a)
{
    const char *s = a->in->events, *end = s + a->in->events_len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
        cJSON *e = len ? cJSON_ParseWithLength(s, len) : NULL;
        if (e) on_event(a, e);
        cJSON_Delete(e);
        s += len + 1;
    }
}

/* ---- output ------------------------------------------------------------------------- */

static const struct phase_window *window_of(const struct summary_input *in, const char *phase)
{
    for (size_t i = 0; i < in->nphases; i++)
        if (phase && !strcmp(in->phases[i].name, phase)) return &in->phases[i];
    return NULL;
}

/* A process outlived its script when we saw it act or end after the script was over. */
static bool outlived(const struct summary_input *in, const struct proc *p)
{
    const struct phase_window *w = window_of(in, p->phase);
    if (!w) return false;
    uint64_t last = p->ended ? p->end_ns : p->last_ns;
    return last > w->end_ns + OUTLIVE_SLACK_NS;
}

static cJSON *proc_json(const struct summary_input *in, const struct proc *p)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "pid", p->pid);
    cJSON_AddNumberToObject(j, "ppid", p->ppid);
    cJSON_AddItemToObject(j, "argv", p->argv ? cJSON_Duplicate(p->argv, 1) : cJSON_CreateArray());
    if (p->exe) cJSON_AddStringToObject(j, "exe", p->exe);
    if (p->cwd) cJSON_AddStringToObject(j, "cwd", p->cwd);
    cJSON_AddStringToObject(j, "phase", p->phase);
    cJSON_AddNumberToObject(j, "start_ns", (double)p->start_ns);
    if (p->ended) cJSON_AddNumberToObject(j, "end_ns", (double)p->end_ns);
    else cJSON_AddNullToObject(j, "end_ns");
    if (p->has_status && p->signal) cJSON_AddNumberToObject(j, "signal", p->signal);
    else if (p->has_status) cJSON_AddNumberToObject(j, "exit_code", p->exit_code);
    cJSON_AddBoolToObject(j, "outlived_script", outlived(in, p));
    return j;
}

static cJSON *folders_json(const struct folders *f)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < f->n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "folder", f->items[i].folder);
        cJSON_AddNumberToObject(o, "count", (double)f->items[i].count);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static void add_list(cJSON *parent, const char *key, struct list *l)
{
    cJSON_AddItemToObject(parent, key, l->items);
    l->items = NULL;
    if (l->omitted) {
        char k[64];
        snprintf(k, sizeof k, "%s_omitted", key);
        cJSON_AddNumberToObject(parent, k, (double)l->omitted);
    }
}

static void emit(struct acc *a, cJSON *report)
{
    cJSON *procs = cJSON_AddArrayToObject(report, "processes");
    for (size_t i = 0; i < a->nprocs; i++) cJSON_AddItemToArray(procs, proc_json(a->in, &a->procs[i]));
    if (a->procs_omitted) cJSON_AddNumberToObject(report, "processes_omitted", (double)a->procs_omitted);
    cJSON *files = cJSON_AddObjectToObject(report, "files");
    cJSON_AddItemToObject(files, "reads_by_folder", folders_json(&a->reads));
    cJSON_AddItemToObject(files, "package_writes_by_folder", folders_json(&a->package_writes));
    add_list(files, "writes_outside_package", &a->outside_writes);
    if (a->reads.omitted + a->package_writes.omitted)
        cJSON_AddNumberToObject(files, "folders_omitted", (double)(a->reads.omitted + a->package_writes.omitted));
    cJSON *net = cJSON_AddObjectToObject(report, "network");
    add_list(net, "attempts", &a->network);
    cJSON *denied = cJSON_AddObjectToObject(report, "denied");
    add_list(denied, "calls", &a->denied);
}

static void acc_free(struct acc *a)
{
    for (size_t i = 0; i < a->nprocs; i++) {
        cJSON_Delete(a->procs[i].argv);
        free(a->procs[i].exe);
        free(a->procs[i].cwd);
        free(a->procs[i].phase);
    }
    free(a->procs);
    for (size_t i = 0; i < a->reads.n; i++) free(a->reads.items[i].folder);
    for (size_t i = 0; i < a->package_writes.n; i++) free(a->package_writes.items[i].folder);
    cJSON_Delete(a->outside_writes.items);
    cJSON_Delete(a->network.items);
    cJSON_Delete(a->denied.items);
    free(a);
}

int summary_add(cJSON *report, const struct summary_input *in)
{
    struct acc *a = calloc(1, sizeof *a);
    if (!a) return -1;
    a->in = in;
    a->procs = calloc(MAX_PROCS, sizeof *a->procs);
    a->outside_writes.items = cJSON_CreateArray();
    a->network.items = cJSON_CreateArray();
    a->denied.items = cJSON_CreateArray();
    if (!a->procs || !a->outside_writes.items || !a->network.items || !a->denied.items) {
        acc_free(a);
        return -1;
    }
    feed(a);
    emit(a, report);
    int rc = a->oom ? -1 : 0;
    acc_free(a);
    return rc;
}
