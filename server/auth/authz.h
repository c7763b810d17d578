/* The authorization decision for one request: may these principals perform this data action on this key? */
#ifndef AZKMD_AUTHZ_H
#define AZKMD_AUTHZ_H

#include <sys/types.h>

#include "azkm/keystore.h"
#include "auth/identity.h"

/* AZKM_OK when allowed (azkmd's own uid and root always; anyone else by the vault's role assignments);
 * AZKM_E_FORBIDDEN with a message naming the caller, the data action and the resource; AZKM_E_INTEGRITY when the
 * vault's role assignments fail their MACs (nothing is granted). key_name is NULL for a vault-level action. */
azkm_rc azkmd_authorize(const azkmd_identity *id, uid_t self, azkm_vault *v, const char *data_action,
                        const char *key_name);

#endif
