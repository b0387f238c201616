#include "jsonstr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t jsonstr_utf8_len(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    size_t n;
    unsigned min;
    unsigned cp;
    if (c < 0x80) return c ? 1 : 0;
    if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if (n > left) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

char *jsonstr_sanitize(const char *data, size_t len, size_t max_out, bool *cut)
{
    /* Worst case every byte becomes 4 characters. */
    size_t cap = len * 4 + 1;
    if (max_out && cap > max_out + 1) cap = max_out + 1;
    char *out = malloc(cap);
    if (!out) return NULL;
    size_t o = 0, i = 0;
    const unsigned char *s = (const unsigned char *)data;
    if (cut) *cut = false;
    while (i < len) {
        size_t n = jsonstr_utf8_len(s + i, len - i);
        size_t need = n ? n : 4;
        if (o + need > cap - 1) { if (cut) *cut = true; break; }
        if (n) { memcpy(out + o, s + i, n); o += n; i += n; continue; }
        snprintf(out + o, 5, "\\x%02X", s[i]);
        o += 4;
        i++;
    }
    out[o] = 0;
    return out;
}
