/* seccomp.c — placeholder: loads no filter yet (replaced by the seccomp work). */
#include "internal.h"

int sbx_seccomp_install(unsigned flags, int *listener_fd, sbx_error *err)
{
    (void)flags; (void)err;
    *listener_fd = -1;
    return 0;
}

int sbx_policy_export(FILE *out, sbx_error *err) { (void)out; return sbx_fail(err, SBX_E_INTERNAL, 0, "no policy yet"); }
const char *sbx_syscall_name(long nr) { (void)nr; return NULL; }
