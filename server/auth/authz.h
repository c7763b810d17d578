/* The authorization decision for one request: may these principals perform this data action on this key? */
#ifndef AZKMD_AUTHZ_H
#define AZKMD_AUTHZ_H

#include <sys/types.h>

#include "azkm/keystore.h"
#include "auth/identity.h"

/* AZKM_OK when allowed; AZKM_E_FORBIDDEN with a message naming the caller, the data action and the resource.
 * key_name is NULL for a vault-level action. */
azkm_rc azkmd_authorize(const azkmd_identity *id, uid_t self, azkm_vault *v, const char *data_action,
                        const char *key_name);

#endif
