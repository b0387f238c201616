/*
 * canary.h — find honeypot canaries in bytes a package sent out, however they were encoded.
 *
 * A canary is a random string (>= CANARY_MIN_LEN chars) planted inside a fake secret. The scan
 * looks for each canary in the buffer as is, then in bounded decodings of it, nested up to
 * CANARY_MAX_DEPTH levels deep:
 *   base64  standard and URL-safe alphabets, padding optional, line breaks inside skipped, all
 *           four start alignments of a run (the canary may sit at any bit offset of the blob);
 *   base32  RFC 4648 alphabet, case-insensitive, all eight start alignments;
 *   hex     lower or upper case, both start alignments;
 *   url     percent-decoding, '+' as space (only when the buffer holds a %XX escape);
 *   json    \uXXXX, \xHH and the one-char escapes (only when the buffer holds such an escape);
 *   bytes   decimal byte lists such as "[83,107,...]" (Node Buffer/JSON arrays, Solana keys);
 *   dns     host names whose labels are joined (dots or DNS wire-format lengths removed), so a
 *           canary's hex or base32 split over labels ("6a6b.6c6d.evil.example") is decoded again.
 * Decoders only look at runs of their own alphabet long enough to hold a whole canary, each
 * level's output is scanned in one pass (a rolling hash over all canaries at once), and the total
 * of decoded bytes per canary_scan() call is capped at CANARY_DECODE_BUDGET: work stays linear in
 * the input whatever it holds.
 *
 * A hit's chain names the decodings in the order the matcher applied them, outermost first:
 * "raw" for the canary as is, "base64>hex" for hex text that was base64-encoded (decode base64,
 * then hex). Each canary is reported once per call, with the shallowest chain that found it.
 */
#ifndef SCRIPTBOX_CANARY_H
#define SCRIPTBOX_CANARY_H

#include <stdbool.h>
#include <stddef.h>

enum {
    CANARY_MIN_LEN = 20,          /* shorter values are ignored by the scan */
    CANARY_VALUE_MAX = 96,
    CANARY_SOURCE_MAX = 192,
    CANARY_CHAIN_MAX = 48,
    CANARY_WHERE_MAX = 160,
    CANARY_MAX_DEPTH = 3,         /* nested decodings */
    CANARY_HITS_MAX = 4096,       /* per struct canary_hits, over all scans */
};
#define CANARY_DECODE_BUDGET ((size_t)8 << 20)   /* decoded bytes per canary_scan() call */

struct canary {
    char source[CANARY_SOURCE_MAX];   /* "file:~/.npmrc", "env:NPM_TOKEN", ... */
    char value[CANARY_VALUE_MAX];     /* the exact string to look for */
};

struct canary_hit {
    const struct canary *canary;      /* points into the array given to canary_scan */
    char where[CANARY_WHERE_MAX];     /* the caller's label of the buffer, truncated */
    char chain[CANARY_CHAIN_MAX];     /* "raw", "base64", "url>base64>hex", ... */
};

struct canary_hits {
    struct canary_hit *v;
    size_t n, cap;
    bool budget_hit;        /* some scan stopped decoding at CANARY_DECODE_BUDGET */
    bool truncated;         /* more than CANARY_HITS_MAX hits: the rest were dropped */
    size_t decoded_bytes;   /* decoded over all scans, for the report */
};

/* Look for canaries c[0..n) in data[0..len); append hits to out (zero-initialise it first).
 * Returns 0, or -1 if out of memory (hits found so far are kept). */
int canary_scan(const struct canary *c, size_t n, const unsigned char *data, size_t len, const char *where,
                struct canary_hits *out);
void canary_hits_free(struct canary_hits *h);

#endif
