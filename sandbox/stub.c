/* stub.c — placeholder until the sandbox lands; every entry point fails cleanly. */
#include <stdio.h>
#include <string.h>

#include "sandbox.h"

static int not_yet(sbx_error *err)
{
    err->kind = SBX_E_INTERNAL;
    err->sys_errno = 0;
    snprintf(err->msg, sizeof err->msg, "sandbox not built yet");
    return -1;
}

int sbx_probe(sbx_error *err) { return not_yet(err); }
int sbx_open(const struct sbx_config *cfg, struct sbx **out, sbx_error *err) { (void)cfg; (void)out; return not_yet(err); }
int sbx_exec(struct sbx *sb, const struct sbx_command *cmd, struct sbx_status *st, sbx_error *err)
{ (void)sb; (void)cmd; (void)st; return not_yet(err); }
int sbx_close(struct sbx *sb, unsigned grace_ms, struct sbx_close_status *cs, sbx_error *err)
{ (void)sb; (void)grace_ms; (void)cs; (void)err; return 0; }
void sbx_status_free(struct sbx_status *st) { (void)st; }
void sbx_kill_all(void) {}
