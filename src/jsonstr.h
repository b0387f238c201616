/*
 * jsonstr.h — make untrusted bytes safe to put in a JSON string.
 *
 * Package output and syscall arguments are arbitrary bytes: NULs, ANSI escapes, invalid UTF-8.
 * jsonstr_sanitize() returns a NUL-terminated, valid UTF-8 copy in which NUL and invalid bytes are
 * written as the four characters "\xHH" (a literal backslash: JSON shows "\\xHH"); other control
 * characters are kept and left to the JSON encoder, which escapes them as \u00HH. Valid UTF-8 is
 * kept as is. The result is bounded by max_out bytes (0 = no bound); *cut is set when shortened.
 */
#ifndef SCRIPTBOX_JSONSTR_H
#define SCRIPTBOX_JSONSTR_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1..4) of the valid, non-NUL UTF-8 sequence at s, or 0 if the bytes there are not one. */
size_t jsonstr_utf8_len(const unsigned char *s, size_t left);

char *jsonstr_sanitize(const char *data, size_t len, size_t max_out, bool *cut);

#endif
