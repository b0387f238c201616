/* notify.c — placeholder notifier (replaced by the seccomp work). */
#include <stdlib.h>

#include "internal.h"

struct sbx_notifier { int fd; };

struct sbx_notifier *sbx_notifier_new(int listener_fd, unsigned flags, uint64_t t0_ns,
                                      sbx_event_fn fn, void *ctx, sbx_error *err)
{
    (void)flags; (void)t0_ns; (void)fn; (void)ctx; (void)err;
    struct sbx_notifier *n = calloc(1, sizeof *n);
    if (n) n->fd = listener_fd;
    return n;
}
int sbx_notifier_handle(struct sbx_notifier *n, sbx_error *err) { (void)n; (void)err; return 0; }
int sbx_notifier_fd(const struct sbx_notifier *n) { return n->fd; }
void sbx_notifier_free(struct sbx_notifier *n) { free(n); }
