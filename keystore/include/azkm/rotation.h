/* azkm: rotation policies in Azure's shape and the runs that apply them ("Rotation policies" in docs/cli.md). */
#ifndef AZKM_ROTATION_H
#define AZKM_ROTATION_H

#include <stdint.h>

#include "azkm/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rotation policies, in Azure's shape: {"lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D"},
 * "action":{"type":"Rotate"}},{"trigger":{"timeBeforeExpiry":"P30D"},"action":{"type":"Notify"}}],
 * "attributes":{"expiryTime":"P1Y"}} with ISO-8601 durations. Stored per key, authenticated with the vault's
 * MAC key (an edited policy is an integrity error). */
/* *policy: the stored policy as JSON (azkm_free), or NULL when the key has none. */
azkm_rc azkm_rotation_policy_get(azkm_vault *v, const char *name, char **policy);
/* Validates and stores a policy (NULL or "" removes it); *stored (optional) receives the normalised JSON. Refuses
 * (AZKM_E_INVALID) what Azure Key Vault refuses: expiryTime under 28 days, timeAfterCreate or timeBeforeExpiry
 * under 7 days, timeBeforeExpiry not shorter than expiryTime, Notify by timeAfterCreate, two actions of a type.
 * Audited as KeyRotationPolicyUpdate. */
azkm_rc azkm_rotation_policy_set(azkm_vault *v, const char *name, const char *policy, char **stored);
/* Parses an ISO-8601 duration (PnYnMnWnDTnHnMnS; a year is 365 days, a month 30) into seconds. */
azkm_rc azkm_duration_parse(const char *text, int64_t *seconds);

typedef enum {
    AZKM_ROTATION_ROTATED = 1,
    AZKM_ROTATION_NOTIFIED = 2,
    AZKM_ROTATION_FAILED = 3
} azkm_rotation_action;

typedef struct {
    char name[AZKM_NAME_MAX + 1];
    azkm_rotation_action action;
    char version[AZKM_VERSION_LEN + 1];     /* the version the action was about (before rotation) */
    char new_version[AZKM_VERSION_LEN + 1]; /* rotated: the new current version */
    int64_t expires;                        /* rotated: its expiry from the policy (0: none) */
    char message[512];                      /* why: "created 2027-01-01T00:00:00Z, timeAfterCreate P90D" */
} azkm_rotation_event;

/* Applies every key's policy at the keystore's clock: rotates the keys that are due (as azkm_key_rotate: new
 * versions get the policy's expiryTime) and records a notification for the keys near expiry, once per version.
 * Idempotent: a second run at the same time does nothing. *events (azkm_free) lists what was done, including
 * keys whose policy could not be applied (the run goes on; the first failure's class is returned). Each rotation is
 * audited as KeyRotate, each notification as KeyNearExpiry. */
azkm_rc azkm_rotation_run(azkm_vault *v, azkm_rotation_event **events, size_t *n);

#ifdef __cplusplus
}
#endif

#endif
