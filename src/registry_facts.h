/*
 * registry_facts.h — the `registry` facts object: what the registry says about the version being
 * analysed and its history, flat, for the metadata rules (docs/report-schema.md, "registry").
 *
 * Facts are observations, never verdicts. A fact the registry did not provide (mirrors and
 * proxies drop `_npmUser`, `maintainers`, `time`, signatures, attestations) is null and marked
 * false under `available`, so that its absence is never read as a signal.
 */
#ifndef SCRIPTBOX_REGISTRY_FACTS_H
#define SCRIPTBOX_REGISTRY_FACTS_H

#include <time.h>

#include <cjson/cJSON.h>

#include "registry.h"

/* Build the object. tarball_manifest is the tarball's package.json (NULL when unreadable). */
cJSON *registry_facts_build(const struct registry_result *res, const cJSON *tarball_manifest, time_t now);

/* The same from a bare packument (tests, fixtures): res fields other than packument/version are
 * optional. */
cJSON *registry_facts_from_packument(const cJSON *packument, const char *version, const cJSON *tarball_manifest,
                                     time_t now);

#endif
