/* wire.c — helpers shared by the wire parsers: result names and escaping of wire bytes. */
#include "wire.h"

const char *sbx_wire_result_name(sbx_wire_result r)
{
    switch (r) {
    case SBX_WIRE_OK: return "ok";
    case SBX_WIRE_NEED_MORE: return "need-more";
    case SBX_WIRE_NOT_PROTO: return "not-proto";
    case SBX_WIRE_MALFORMED: return "malformed";
    case SBX_WIRE_TOO_LARGE: return "too-large";
    case SBX_WIRE_UNSUPPORTED: return "unsupported";
    }
    return "unknown";
}

static int byte_needs_escape(uint8_t b, int escape_dot)
{
    if (b < 0x21 || b > 0x7e || b == '\\') return 1;
    return escape_dot && b == '.';
}

size_t sbx_wire_escape(const uint8_t *raw, size_t len, unsigned flags, char *out, size_t cap)
{
    int escape_dot = (flags & SBX_WIRE_ESCAPE_DOT) != 0;
    size_t o = 0;
    if (cap == 0) return 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = raw[i];
        size_t need = byte_needs_escape(b, escape_dot) ? 4 : 1;
        if (o + need >= cap) {   /* keep room for the NUL; never split an escape */
            out[o] = '\0';
            return cap;
        }
        if (need == 4) {
            out[o++] = '\\';
            out[o++] = (char)('0' + b / 100);
            out[o++] = (char)('0' + b / 10 % 10);
            out[o++] = (char)('0' + b % 10);
        } else {
            out[o++] = (char)b;
        }
    }
    out[o] = '\0';
    return o;
}
