/*
 * wire_reader.h — the bounded big-endian reader the wire parsers share (private to wire_*.c).
 * Every read checks the remaining length first; a failed read consumes nothing.
 */
#ifndef SCRIPTBOX_WIRE_READER_H
#define SCRIPTBOX_WIRE_READER_H

#include <stddef.h>
#include <stdint.h>

struct reader {
    const uint8_t *p;
    size_t len, off;
};

static inline int rd_bytes(struct reader *r, size_t n, const uint8_t **out)
{
    if (n > r->len - r->off) return -1;
    *out = r->p + r->off;
    r->off += n;
    return 0;
}

static inline int rd_u8(struct reader *r, uint8_t *v)
{
    const uint8_t *b;
    if (rd_bytes(r, 1, &b) < 0) return -1;
    *v = b[0];
    return 0;
}

static inline int rd_u16(struct reader *r, uint16_t *v)
{
    const uint8_t *b;
    if (rd_bytes(r, 2, &b) < 0) return -1;
    *v = (uint16_t)((unsigned)b[0] << 8 | b[1]);
    return 0;
}

static inline int rd_u32(struct reader *r, uint32_t *v)
{
    const uint8_t *b;
    if (rd_bytes(r, 4, &b) < 0) return -1;
    *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return 0;
}

#endif
