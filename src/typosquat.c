/* typosquat.c — name lookalikes of popular packages (see typosquat.h). */
#include "typosquat.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum { NAME_MAX_LEN = 214 };   /* npm's limit on package names */

unsigned typosquat_distance(const char *a, const char *b, unsigned cap)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > NAME_MAX_LEN || m > NAME_MAX_LEN) return cap + 1;
    if ((n > m ? n - m : m - n) > cap) return cap + 1;
    static unsigned d[NAME_MAX_LEN + 1][NAME_MAX_LEN + 1];
    for (size_t i = 0; i <= n; i++) d[i][0] = (unsigned)i;
    for (size_t k = 0; k <= m; k++) d[0][k] = (unsigned)k;
    for (size_t i = 1; i <= n; i++) {
        unsigned rowmin = cap + 1;
        for (size_t k = 1; k <= m; k++) {
            unsigned cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[k - 1]);
            unsigned v = d[i - 1][k] + 1;
            if (d[i][k - 1] + 1 < v) v = d[i][k - 1] + 1;
            if (d[i - 1][k - 1] + cost < v) v = d[i - 1][k - 1] + cost;
            if (i > 1 && k > 1 && tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[k - 2]) &&
                tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[k - 1]) && d[i - 2][k - 2] + 1 < v)
                v = d[i - 2][k - 2] + 1;
            d[i][k] = v;
            if (v < rowmin) rowmin = v;
        }
        if (rowmin > cap) return cap + 1;
    }
    return d[n][m] > cap ? cap + 1 : d[n][m];
}

/* lower case without the characters in drop */
static void squash(const char *s, const char *drop, char *out, size_t cap)
{
    size_t w = 0;
    for (; *s && w + 1 < cap; s++)
        if (!strchr(drop, *s)) out[w++] = (char)tolower((unsigned char)*s);
    out[w] = 0;
}

static bool one_swap(const char *a, const char *b)
{
    size_t n = strlen(a);
    if (n != strlen(b)) return false;
    size_t i = 0;
    while (i < n && tolower((unsigned char)a[i]) == tolower((unsigned char)b[i])) i++;
    if (i + 1 >= n) return false;
    return tolower((unsigned char)a[i]) == tolower((unsigned char)b[i + 1]) &&
           tolower((unsigned char)a[i + 1]) == tolower((unsigned char)b[i]) && !strcasecmp(a + i + 2, b + i + 2);
}

const char *typosquat_compare(const char *name, const char *popular)
{
    if (!name || !popular || !*name || !*popular || !strcasecmp(name, popular)) return NULL;
    if (strlen(name) > NAME_MAX_LEN || strlen(popular) > NAME_MAX_LEN) return NULL;
    bool scoped = name[0] == '@' || popular[0] == '@';
    char a[NAME_MAX_LEN + 1], b[NAME_MAX_LEN + 1];
    squash(name, "@/-_.", a, sizeof a);
    squash(popular, "@/-_.", b, sizeof b);
    if (strlen(b) >= 4 && !strcmp(a, b)) return scoped ? "scope confusion" : "separator confusion";
    size_t plen = strlen(popular);
    if (plen < 5) return NULL;
    if (one_swap(name, popular)) return "swapped characters";
    unsigned cap = plen >= 10 ? 2 : 1;
    unsigned dist = typosquat_distance(name, popular, cap);
    if (dist == 1) return "edit distance 1";
    if (dist == 2 && cap == 2) return "edit distance 2";
    return NULL;
}

const char *typosquat_check(const char *name, const char *const *set, size_t n, size_t *which)
{
    if (!name) return NULL;
    for (size_t i = 0; i < n; i++)
        if (set[i] && !strcasecmp(set[i], name)) return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *why = typosquat_compare(name, set[i]);
        if (why) {
            if (which) *which = i;
            return why;
        }
    }
    return NULL;
}
