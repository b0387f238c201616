/*
 * syscalls_policy.c — the payload's seccomp policy, as data.
 *
 * Allow-list with default ENOSYS: unknown and newer calls never pass and libc falls back
 * (clone3 is left to the default on purpose so glibc uses clone, whose flags we can see).
 * Everything an install script's tools need (sh, node, npm, python3, make, gcc, git, curl, tar,
 * coreutils) is allowed; the calls listed in `deny` are answered EPERM by the supervisor and
 * logged; `observe` calls are logged and then allowed.
 */
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include "syscalls.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const allow_names[] = {
    /* files and descriptors */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
    "pwritev2", "close", "close_range", "lseek", "dup", "dup2", "dup3", "fcntl", "flock",
    "fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "truncate", "ftruncate",
    "fallocate", "fadvise64", "readahead", "sendfile", "copy_file_range", "splice", "tee",
    "vmsplice", "pipe", "pipe2", "mknod", "mknodat", /* device nodes need CAP_MKNOD: FIFOs only */
    /* metadata */
    "stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs", "access", "faccessat",
    "faccessat2", "readlink", "readlinkat", "getcwd", "getdents", "getdents64", "chdir",
    "fchdir", "chown", "fchown", "lchown", "fchownat", "utime", "utimes", "utimensat",
    "futimesat", "umask",
    "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr",
    /* memory */
    "brk", "mmap", "munmap", "mprotect", "madvise", "mremap", "msync", "mincore", "membarrier",
    "mlock", "mlock2", "munlock", "mlockall", "munlockall", "memfd_create", "pkey_mprotect",
    "pkey_alloc", "pkey_free", "get_mempolicy",
    /* processes and threads (clone is an argument rule) */
    "fork", "vfork", "exit", "exit_group", "wait4", "waitid",
    "set_tid_address", "set_robust_list", "get_robust_list", "rseq", "futex", "futex_waitv",
    "gettid", "getpid", "getppid", "getpgrp", "getpgid", "setpgid", "getsid", "setsid",
    "arch_prctl", "prctl", "getrlimit", "getrusage", "times",
    "getpriority", "setpriority", "ioprio_get", "getcpu", "restart_syscall",
    "sched_yield", "sched_getaffinity", "sched_getparam", "sched_getscheduler",
    "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval",
    "sched_getattr",
    /* identity: the set* calls are harmless without capabilities */
    "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid",
    "setfsgid", "setgroups", "capget", "capset",
    /* signals: the pid namespace confines kill */
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait",
    "rt_sigsuspend", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "kill", "tkill",
    "tgkill", "pause", "pidfd_open", "pidfd_send_signal",
    /* time and timers */
    "clock_gettime", "clock_getres", "gettimeofday", "time",
    "alarm", "getitimer", "setitimer", "timer_create", "timer_settime", "timer_gettime",
    "timer_getoverrun", "timer_delete",
    /* polling and event descriptors */
    "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
    "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "timerfd_create",
    "timerfd_settime", "timerfd_gettime", "signalfd", "signalfd4", "inotify_init",
    "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
    /* sockets (socket/connect/bind/listen/send* are observed) */
    "socketpair", "accept", "accept4", "getsockname", "getpeername", "setsockopt",
    "getsockopt", "shutdown", "recvfrom", "recvmsg", "recvmmsg",
    /* System V IPC: confined by the ipc namespace */
    "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl", "msgget",
    "msgsnd", "msgrcv", "msgctl",
    /* system information */
    "uname", "sysinfo", "getrandom",
};

static const char *const observe_names[] = {
    "execve", "execveat", "open", "openat", "openat2", "creat",
    "unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2", "link", "linkat",
    "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "mkdir", "mkdirat",
    /* socket: always notified; sbx_socket_verdict() decides deny or observe */
    "socket", "connect", "bind", "listen", "sendto", "sendmsg", "sendmmsg",
    /* sleeps: notified for time acceleration (timewarp.c); long ones are answered at once,
     * the rest continue without an event */
    "nanosleep", "clock_nanosleep",
};

static const char *const deny_names[] = {
    /* namespaces and mounts */
    "unshare", "setns", "mount", "umount2", "fsopen", "fsconfig", "fsmount", "fspick",
    "open_tree", "move_mount", "mount_setattr", "pivot_root", "chroot",
    /* other processes' memory, kernel attack surface */
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "bpf", "perf_event_open",
    "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    /* memory hidden from the kernel and from the supervisor's reads */
    "memfd_secret",
    /* keyrings, kernel images and modules */
    "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load", "init_module",
    "finit_module", "delete_module",
    /* file handles bypass path-based confinement */
    "open_by_handle_at", "name_to_handle_at",
    /* host administration */
    "acct", "swapon", "swapoff", "reboot", "settimeofday", "clock_settime", "adjtimex",
    "clock_adjtime", "quotactl", "quotactl_fd", "syslog", "vhangup", "iopl", "ioperm",
    "lookup_dcookie", "nfsservctl", "uselib", "sethostname", "setdomainname",
};

/*
 * Argument rules. clone: the low byte is the exit signal, so CLONE_NEWTIME (0x80) is not a flag
 * there; clone3 is ENOSYS so glibc falls back to clone. ioctl: the kernel truncates cmd to 32
 * bits, so the comparison is on the low 32 bits only. seccomp: installing another filter is
 * allowed (harmless: filters only add restrictions, and some tools sandbox themselves), but not
 * with a listener of its own — a newer notifying filter would take our notifications and could
 * answer CONTINUE on calls we deny.
 * setrlimit/prlimit64 on RLIMIT_CORE: commands run with RLIMIT_CORE 1/1, the kernel's "never
 * pipe a core" value; a soft limit of 0 is ignored by the pipe path of a piped core_pattern
 * (systemd-coredump, apport: a host-root helper). setrlimit(RLIMIT_CORE) is refused outright
 * (glibc never uses that syscall); prlimit64(…, RLIMIT_CORE, …) is notified and notify.c decides:
 * a read (new == NULL, a register) continues silently, a change is refused unless it keeps
 * soft >= 1 and does not raise hard, and is then performed by the supervisor from its own copy
 * of the new value (the zygote's own 1/1 before each command passes through here).
 */
static const struct sbx_arg_policy arg_rules[] = {
    {"clone", 0, SBX_ARG_DENY_BITS, 0, 7,
     {CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
      CLONE_NEWNET}, SBX_V_ALLOW},
    {"ioctl", 1, SBX_ARG_DENY_VALUES, 0xffffffffu, 2, {TIOCSTI, TIOCLINUX}, SBX_V_ALLOW},
    {"personality", 0, SBX_ARG_ALLOW_VALUES, 0xffffffffu, 2, {PER_LINUX, 0xffffffffu},
     SBX_V_ALLOW},
    {"seccomp", 1, SBX_ARG_DENY_BITS, 0, 1, {SECCOMP_FILTER_FLAG_NEW_LISTENER}, SBX_V_ALLOW},
    {"setrlimit", 0, SBX_ARG_DENY_VALUES, 0xffffffffu, 1, {RLIMIT_CORE}, SBX_V_ALLOW},
    {"prlimit64", 1, SBX_ARG_DENY_VALUES, 0xffffffffu, 1, {RLIMIT_CORE}, SBX_V_ALLOW},
};

static const struct sbx_policy_tables tables = {
    allow_names, COUNT(allow_names), observe_names, COUNT(observe_names),
    deny_names, COUNT(deny_names), arg_rules, COUNT(arg_rules),
};

const struct sbx_policy_tables *sbx_policy_tables(void) { return &tables; }

static int in_values(const struct sbx_arg_policy *p, uint64_t v)
{
    for (size_t i = 0; i < p->nvalues; i++)
        if (p->values[i] == v) return 1;
    return 0;
}

enum sbx_verdict sbx_arg_verdict(const struct sbx_arg_policy *p, uint64_t value)
{
    switch (p->kind) {
    case SBX_ARG_DENY_BITS:
        for (size_t i = 0; i < p->nvalues; i++)
            if (value & p->values[i]) return SBX_V_DENY;
        return p->allowed_as;
    case SBX_ARG_DENY_VALUES:
        return in_values(p, value & p->mask) ? SBX_V_DENY : p->allowed_as;
    case SBX_ARG_ALLOW_VALUES:
        return in_values(p, value & p->mask) ? p->allowed_as : SBX_V_DENY;
    }
    return SBX_V_DENY;
}

/*
 * socket() is in the observed set, so every call reaches the supervisor anyway; its three
 * arguments are judged here on the register values of the notification (the target cannot
 * change them after the trap). That keeps the filter free of multi-argument chains.
 * Allowed: unix, inet, inet6 (not SOCK_RAW), and netlink only for NETLINK_ROUTE (getifaddrs).
 * The kernel truncates the int arguments to 32 bits, and so do we.
 */
enum sbx_verdict sbx_socket_verdict(uint64_t family, uint64_t type, uint64_t protocol)
{
    unsigned fam = (unsigned)family, kind = (unsigned)type & 0xf, proto = (unsigned)protocol;
    switch (fam) {
    case AF_UNIX:
        return SBX_V_OBSERVE;
    case AF_INET:
    case AF_INET6:
        return kind == SOCK_RAW ? SBX_V_DENY : SBX_V_OBSERVE;
    case AF_NETLINK:
        return proto == NETLINK_ROUTE ? SBX_V_OBSERVE : SBX_V_DENY;
    default:
        return SBX_V_DENY;   /* AF_PACKET and every other family */
    }
}
