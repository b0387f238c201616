/*
 * jsonw.h — a small append-only JSON writer for the hot path (one event = one line), whose
 * buffer also serves plain text (jw_raw, jw_printf) for the text report and honeypot files.
 *
 * Strings are written from untrusted bytes with the same rules as jsonstr.h: valid UTF-8 kept,
 * control characters as \u00HH, NUL and invalid bytes as the text "\xHH". Allocation failure
 * sticks (jw->failed) and later calls do nothing, so callers check once at the end.
 */
#ifndef SCRIPTBOX_JSONW_H
#define SCRIPTBOX_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsonw {
    char *buf;
    size_t len, cap;
    bool failed;
    bool need_comma;
};

void jw_reset(struct jsonw *jw);
void jw_free(struct jsonw *jw);
void jw_raw(struct jsonw *jw, const char *s, size_t n);
/* printf-formatted text appended as is (no JSON escaping): for text built in the same buffer. */
void jw_printf(struct jsonw *jw, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jw_begin(struct jsonw *jw);                 /* { */
void jw_end(struct jsonw *jw);                   /* } */
void jw_key(struct jsonw *jw, const char *key);  /* "key": (handles commas) */
void jw_str(struct jsonw *jw, const char *s, size_t n);
void jw_kstr(struct jsonw *jw, const char *key, const char *s);   /* skipped when s is NULL */
void jw_kint(struct jsonw *jw, const char *key, int64_t v);
void jw_kuint(struct jsonw *jw, const char *key, uint64_t v);
void jw_kbool(struct jsonw *jw, const char *key, bool v);
/* "key":["a","b",...] from a NULL-terminated array */
void jw_kstrv(struct jsonw *jw, const char *key, const char *const *v);

#endif
