/*
 * sarifcheck.h — check a SARIF log against what the 2.1.0 schema requires (version, one run, a
 * driver with a name, rules with id and texts, results with message, level, a ruleIndex that
 * names the rule of ruleId, a physical location with a uri and a startLine >= 1, suppressions of
 * a known kind). Failures are cmocka assertions.
 */
#ifndef SCRIPTBOX_TEST_SARIFCHECK_H
#define SCRIPTBOX_TEST_SARIFCHECK_H

#include <cjson/cJSON.h>

/* want_results < 0: any number of results. */
void tu_check_sarif(const cJSON *log, int want_results);

#endif
