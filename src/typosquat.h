/*
 * typosquat.h — does a package name look like a popular one? (the `lookalike` rules operator)
 *
 * Lookalikes: scope confusion (`angular-core` or `@angularcore` for `@angular/core`), separator
 * confusion (`lodash_` or `lo-dash` for `lodash`: equal once `-_.` are dropped), swapped adjacent
 * characters, and an edit distance of 1 (popular names of 5+ characters) or 2 (10+ characters).
 * Case is ignored. `@someone/react` is not a lookalike of `react` (scoped plugins are the normal
 * case). A name that is itself in the set is never a lookalike, and neither is an equal name.
 */
#ifndef SCRIPTBOX_TYPOSQUAT_H
#define SCRIPTBOX_TYPOSQUAT_H

#include <stddef.h>

/* Why name looks like popular ("swapped characters", "edit distance 1", "edit distance 2",
 * "separator confusion", "scope confusion"), or NULL. */
const char *typosquat_compare(const char *name, const char *popular);

/* name against a set of popular names: NULL when name is in the set or like none; else the kind
 * and *which = the index of the popular name it looks like. */
const char *typosquat_check(const char *name, const char *const *set, size_t n, size_t *which);

/* Optimal string alignment distance (Damerau-Levenshtein with adjacent swaps), capped: any
 * distance above cap is reported as cap + 1. */
unsigned typosquat_distance(const char *a, const char *b, unsigned cap);

#endif
