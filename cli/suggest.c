/* "Did you mean" for mistyped commands and flags (see suggest.h). */
#include <stdio.h>
#include <string.h>

#include "suggest.h"

#define WORD_MAX 64

static int min3(int a, int b, int c)
{
    int m = a < b ? a : b;
    return m < c ? m : c;
}

/* Damerau-Levenshtein distance (optimal string alignment), rows of a (WORD_MAX+1) x (WORD_MAX+1) table. */
int cli_edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    int d[WORD_MAX + 1][WORD_MAX + 1];

    if (n >= WORD_MAX || m >= WORD_MAX)
        return 99;
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];

            d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < d[i][j])
                d[i][j] = d[i - 2][j - 2] + 1;
        }
    }
    return d[n][m] > 99 ? 99 : d[n][m];
}

void cli_suggest_consider(const char *word, const char *candidate, const char **best, int *best_dist)
{
    size_t wl = strlen(word);
    int dist = cli_edit_distance(word, candidate);

    /* A word that starts a longer candidate ("--vault" for "--vault-name") counts as distance 1. */
    if (wl >= 4 && strncmp(word, candidate, wl) == 0 && dist > 1)
        dist = 1;
    if (dist > 2 || (size_t)dist * 2 >= wl || dist >= *best_dist)
        return;
    *best = candidate;
    *best_dist = dist;
}

const char *cli_suggest_text(const char *best, char *buf, size_t len)
{
    if (best == NULL)
        snprintf(buf, len, "%s", "");
    else
        snprintf(buf, len, "did you mean '%s'? ", best);
    return buf;
}
