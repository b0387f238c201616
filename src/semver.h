/*
 * semver.h — npm's semver: versions, ranges, and the version npm would pick.
 *
 * Versions are MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] (a leading "v" or "=" is accepted, as
 * node-semver's loose-free parser does after trimming). Ranges follow node-semver: `||` sets of
 * space-separated comparators (`<`, `<=`, `>`, `>=`, `=`), desugared from `^`, `~`, `x`/`X`/`*`
 * and partial versions, and hyphen ranges `A - B`. A prerelease version satisfies a range only
 * when a comparator of the same set names a prerelease of the same MAJOR.MINOR.PATCH (no
 * includePrerelease). Build metadata never matters.
 */
#ifndef SCRIPTBOX_SEMVER_H
#define SCRIPTBOX_SEMVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SEMVER_MAX_PRE = 8 };

struct semver {
    uint64_t major, minor, patch;
    unsigned npre;
    char pre[SEMVER_MAX_PRE][32];   /* prerelease identifiers */
};

/* Parse a full version. Returns 0, or -1 when s is not a valid version. */
int semver_parse(const char *s, struct semver *v);
/* node-semver compare: -1, 0, 1 (build metadata ignored). */
int semver_cmp(const struct semver *a, const struct semver *b);
bool semver_is_prerelease(const struct semver *v);

struct semver_range;   /* opaque */

/* Parse a range; NULL when it is not a valid range. Free with semver_range_free. */
struct semver_range *semver_range_parse(const char *s);
void semver_range_free(struct semver_range *r);
bool semver_satisfies(const struct semver *v, const struct semver_range *r);
/* true when the range names exactly one version with `=` (or a bare version). */
bool semver_range_is_exact(const struct semver_range *r);

/* One candidate for picking. */
struct semver_candidate {
    const char *version;     /* string as in the packument */
    bool deprecated;         /* npm avoids deprecated versions when others satisfy */
    bool eligible;           /* false: not pickable (e.g. younger than --min-age) */
};

/* The index of the version npm would pick for range r among cands (npm-pick-manifest):
 * the `latest` tag's version when it satisfies r and is eligible; otherwise the highest
 * satisfying eligible version, non-deprecated ones first. -1 when none satisfies. */
int semver_pick(const struct semver_range *r, const struct semver_candidate *cands, size_t n,
                const char *latest);

#endif
