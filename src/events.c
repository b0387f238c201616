#include "events.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const kind_names[SBX_EV_KIND_COUNT] = {
    [SBX_EV_EXEC] = "exec", [SBX_EV_OPEN] = "open", [SBX_EV_FS] = "fs",
    [SBX_EV_SOCKET] = "socket", [SBX_EV_NET] = "net", [SBX_EV_DENIED] = "denied",
    [SBX_EV_PROC_EXIT] = "proc_exit", [SBX_EV_NOTE] = "note",
    [SBX_EV_DNS] = "dns", [SBX_EV_PAYLOAD] = "payload",
};

const char *event_kind_name(sbx_event_kind k)
{
    return (unsigned)k < SBX_EV_KIND_COUNT && kind_names[k] ? kind_names[k] : "unknown";
}

void event_log_init(struct event_log *l, size_t max_bytes)
{
    memset(l, 0, sizeof *l);
    l->max_bytes = max_bytes;
    l->phase = "setup";
}

void event_log_free(struct event_log *l)
{
    jw_free(&l->out);
    jw_free(&l->line);
}

void event_log_set_phase(struct event_log *l, const char *phase) { l->phase = phase; }

static void count_syscall(struct event_log *l, const char *name)
{
    if (!name) return;
    for (size_t i = 0; i < l->nsyscalls; i++)
        if (l->syscalls[i].name == name || !strcmp(l->syscalls[i].name, name)) {
            l->syscalls[i].count++;
            return;
        }
    if (l->nsyscalls < EVENTS_MAX_SYSCALLS) l->syscalls[l->nsyscalls++] = (struct syscall_count){name, 1};
}

static const char *family_name(int family)
{
    switch (family) {
    case AF_INET: return "inet";
    case AF_INET6: return "inet6";
    case AF_UNIX: return "unix";
    case AF_NETLINK: return "netlink";
    case AF_PACKET: return "packet";
    default: return NULL;
    }
}

static void write_addr(struct jsonw *j, const struct sbx_sockaddr *a)
{
    if (!a->family) return;
    jw_key(j, "addr");
    jw_begin(j);
    const char *fam = family_name(a->family);
    if (fam) jw_kstr(j, "family", fam);
    else jw_kint(j, "family", a->family);
    jw_kstr(j, "address", a->addr);
    if (a->family == AF_INET || a->family == AF_INET6) jw_kuint(j, "port", a->port);
    jw_end(j);
}

static void write_kind_fields(struct jsonw *j, const struct sbx_event *ev)
{
    switch (ev->kind) {
    case SBX_EV_EXEC:
        jw_kstr(j, "path", ev->path);
        jw_kstrv(j, "argv", ev->argv);
        jw_kstr(j, "cwd", ev->cwd);
        break;
    case SBX_EV_OPEN:
        jw_kstr(j, "path", ev->path);
        jw_kint(j, "flags", ev->flags);
        if (ev->mode) jw_kint(j, "mode", ev->mode);
        break;
    case SBX_EV_FS:
        jw_kstr(j, "path", ev->path);
        jw_kstr(j, "path2", ev->path2);
        if (ev->mode) jw_kint(j, "mode", ev->mode);
        break;
    case SBX_EV_SOCKET: {
        const char *fam = family_name(ev->sock_family);
        if (fam) jw_kstr(j, "family", fam);
        else jw_kint(j, "family", ev->sock_family);
        jw_kint(j, "type", ev->sock_type);
        jw_kint(j, "protocol", ev->sock_protocol);
        break;
    }
    case SBX_EV_NET:
        write_addr(j, &ev->addr);
        if (ev->bytes) jw_kuint(j, "bytes", ev->bytes);
        break;
    case SBX_EV_DENIED:
        jw_key(j, "args");
        jw_raw(j, "[", 1);
        for (int i = 0; i < 6; i++) {
            char num[24];
            int n = snprintf(num, sizeof num, "%s%llu", i ? "," : "", (unsigned long long)ev->args[i]);
            jw_raw(j, num, (size_t)n);
        }
        jw_raw(j, "]", 1);
        jw_kbool(j, "native_abi", ev->arch_native != 0);
        jw_kstr(j, "path", ev->path);
        break;
    case SBX_EV_PROC_EXIT:
        if (ev->term_signal) jw_kint(j, "signal", ev->term_signal);
        else jw_kint(j, "exit_code", ev->exit_code);
        break;
    case SBX_EV_NOTE:
    case SBX_EV_DNS:        /* written by the fake-internet work (docs/ARCHITECTURE.md) */
    case SBX_EV_PAYLOAD:
    case SBX_EV_KIND_COUNT:
        break;
    }
}

static void format_event(struct event_log *l, const struct sbx_event *ev)
{
    struct jsonw *j = &l->line;
    jw_reset(j);
    jw_begin(j);
    jw_kuint(j, "seq", l->seq);
    jw_kuint(j, "t_ns", ev->t_ns);
    jw_kint(j, "pid", ev->pid);
    jw_kint(j, "ppid", ev->ppid);
    jw_kstr(j, "phase", l->phase);
    jw_kstr(j, "kind", event_kind_name(ev->kind));
    jw_kstr(j, "syscall", ev->syscall);
    write_kind_fields(j, ev);
    if (ev->truncated) jw_kbool(j, "truncated", true);
    jw_kstr(j, "detail", ev->detail);
    jw_end(j);
    jw_raw(j, "\n", 1);
}

void event_log_add(void *ctx, const struct sbx_event *ev)
{
    struct event_log *l = ctx;
    if ((unsigned)ev->kind < SBX_EV_KIND_COUNT) l->by_kind[ev->kind]++;
    count_syscall(l, ev->syscall);
    l->seq++;
    format_event(l, ev);
    if (l->line.failed || (l->max_bytes && l->out.len + l->line.len > l->max_bytes)) {
        l->dropped++;
        return;
    }
    jw_raw(&l->out, l->line.buf, l->line.len);
}

void event_log_finish(struct event_log *l)
{
    if (!l->dropped) return;
    struct jsonw *j = &l->line;
    jw_reset(j);
    jw_begin(j);
    jw_kuint(j, "seq", ++l->seq);
    jw_kstr(j, "kind", "truncated");
    jw_kuint(j, "dropped", l->dropped);
    jw_kstr(j, "detail", "event stream reached its size bound; later events were counted but not kept");
    jw_end(j);
    jw_raw(j, "\n", 1);
    jw_raw(&l->out, j->buf, j->len);   /* may exceed the bound by this one line, on purpose */
}

int event_log_save(const struct event_log *l, const char *path, struct sb_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return sb_fail(err, SB_EXIT_INPUT, "output", errno, "cannot write events to %s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < l->out.len) {
        ssize_t n = write(fd, l->out.buf + off, l->out.len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            return sb_fail(err, SB_EXIT_INPUT, "output", e, "writing events to %s: %s", path, strerror(e));
        }
        off += (size_t)n;
    }
    if (close(fd) < 0) return sb_fail(err, SB_EXIT_INPUT, "output", errno, "writing events to %s: %s", path, strerror(errno));
    return 0;
}
