/* b64.h — base64 (standard and url alphabets, padding optional) for SRI hashes, keys, signatures. */
#ifndef SCRIPTBOX_B64_H
#define SCRIPTBOX_B64_H

#include <stddef.h>

/* Decode s (len bytes; whitespace skipped) into a malloc'd buffer; NULL when invalid. */
unsigned char *b64_decode(const char *s, size_t len, size_t *outlen);
/* Standard base64 with padding; malloc'd, NUL-terminated. */
char *b64_encode(const unsigned char *p, size_t n);

#endif
