/* A key's rotation policy as rules (rotation_policy.c), for the run that applies them (rotation_run.c). */
#ifndef AZKM_KEYS_ROTATION_POLICY_H
#define AZKM_KEYS_ROTATION_POLICY_H

#include <stdint.h>

#include "keys/records.h"

typedef struct {
    int64_t rotate_after_create; /* seconds, 0 = not set */
    int64_t rotate_before_expiry;
    int64_t notify_before_expiry;
    int64_t expiry_time;
    char rotate_text[32]; /* the durations as written, for reports */
    char notify_text[32];
    char expiry_text[32];
} azkm_rotation_rules;

/* The key's stored policy, authenticated and parsed into rules; notified (optional) receives the version last
 * notified about ("" for none). AZKM_E_NOT_FOUND, without a message, when the key has no policy. */
azkm_rc azkm_rotation_policy_rules(azkm_vault *v, int64_t rowid, const char *name, azkm_rotation_rules *rules,
                                   char notified[AZKM_VERSION_LEN + 1]);

/* Refuses (AZKM_E_INVALID) to leave the current version without an expiry when the key's policy rotates it before
 * expiry: the rotation would never happen. */
azkm_rc azkm_rotation_policy_check_no_expiry(azkm_vault *v, int64_t rowid, const char *name);

#endif
