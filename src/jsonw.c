#include "jsonw.h"
#include "jsonstr.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct jsonw *jw, size_t more)
{
    if (jw->failed) return false;
    if (jw->len + more + 1 <= jw->cap) return true;
    size_t ncap = jw->cap ? jw->cap : 256;
    while (ncap < jw->len + more + 1) ncap *= 2;
    char *nb = realloc(jw->buf, ncap);
    if (!nb) { jw->failed = true; return false; }
    jw->buf = nb;
    jw->cap = ncap;
    return true;
}

void jw_reset(struct jsonw *jw)
{
    jw->len = 0;
    jw->failed = false;
    jw->need_comma = false;
    if (jw->buf) jw->buf[0] = 0;
}

void jw_free(struct jsonw *jw)
{
    free(jw->buf);
    memset(jw, 0, sizeof *jw);
}

void jw_raw(struct jsonw *jw, const char *s, size_t n)
{
    if (!reserve(jw, n)) return;
    memcpy(jw->buf + jw->len, s, n);
    jw->len += n;
    jw->buf[jw->len] = 0;
}

void jw_printf(struct jsonw *jw, const char *fmt, ...)
{
    char small[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) { jw->failed = true; return; }
    if ((size_t)n < sizeof small) { jw_raw(jw, small, (size_t)n); return; }
    if (!reserve(jw, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(jw->buf + jw->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    jw->len += (size_t)n;
}

void jw_begin(struct jsonw *jw) { jw_raw(jw, "{", 1); jw->need_comma = false; }
void jw_end(struct jsonw *jw) { jw_raw(jw, "}", 1); jw->need_comma = true; }

void jw_key(struct jsonw *jw, const char *key)
{
    if (jw->need_comma) jw_raw(jw, ",", 1);
    jw_str(jw, key, strlen(key));
    jw_raw(jw, ":", 1);
    jw->need_comma = true;
}

void jw_str(struct jsonw *jw, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    char esc[8];
    jw_raw(jw, "\"", 1);
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' && u[run] != '\\') run++;
        if (run > i) { jw_raw(jw, s + i, run - i); i = run; continue; }
        unsigned char c = u[i];
        if (c == '"') { jw_raw(jw, "\\\"", 2); i++; continue; }
        if (c == '\\') { jw_raw(jw, "\\\\", 2); i++; continue; }
        if (c == 0) { jw_raw(jw, "\\\\x00", 5); i++; continue; }
        if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            jw_raw(jw, esc, 6);
            i++;
            continue;
        }
        size_t l = jsonstr_utf8_len(u + i, n - i);
        if (l) { jw_raw(jw, s + i, l); i += l; continue; }
        snprintf(esc, sizeof esc, "\\\\x%02X", c);
        jw_raw(jw, esc, 5);
        i++;
    }
    jw_raw(jw, "\"", 1);
}

void jw_kstr(struct jsonw *jw, const char *key, const char *s)
{
    if (!s) return;
    jw_key(jw, key);
    jw_str(jw, s, strlen(s));
}

void jw_kint(struct jsonw *jw, const char *key, int64_t v)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%" PRId64, v);
    jw_key(jw, key);
    jw_raw(jw, num, (size_t)n);
}

void jw_kuint(struct jsonw *jw, const char *key, uint64_t v)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%" PRIu64, v);
    jw_key(jw, key);
    jw_raw(jw, num, (size_t)n);
}

void jw_kbool(struct jsonw *jw, const char *key, bool v)
{
    jw_key(jw, key);
    jw_raw(jw, v ? "true" : "false", v ? 4 : 5);
}

void jw_kstrv(struct jsonw *jw, const char *key, const char *const *v)
{
    if (!v) return;
    jw_key(jw, key);
    jw_raw(jw, "[", 1);
    for (size_t i = 0; v[i]; i++) {
        if (i) jw_raw(jw, ",", 1);
        jw_str(jw, v[i], strlen(v[i]));
    }
    jw_raw(jw, "]", 1);
}
