/* "Did you mean": the closest of a list of known words to a mistyped one, by edit distance. */
#ifndef AZKM_CLI_SUGGEST_H
#define AZKM_CLI_SUGGEST_H

#include <stddef.h>

/* Edit distance (insertions, deletions, substitutions, and swaps of two neighbours) between a and b, capped at
 * 99; words longer than 63 characters are never close. */
int cli_edit_distance(const char *a, const char *b);

/* Keeps *best the closest candidate to word seen so far, when it is close enough to be a typo (distance at most 2,
 * and less than half the word's length), or a word that starts with it. Call once per candidate, *best and
 * *best_dist starting at NULL and 100. */
void cli_suggest_consider(const char *word, const char *candidate, const char **best, int *best_dist);

/* "did you mean 'X'? " into buf when best is not NULL, else "". Returns buf. */
const char *cli_suggest_text(const char *best, char *buf, size_t len);

#endif
