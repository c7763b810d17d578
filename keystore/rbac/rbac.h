/* rbac/: principals (principal.c), Azure's built-in role definitions (roles.c), role assignments authenticated in
 * the vault's catalog (assignments.c) and the authorization decision (authorize.c). May use base/, material/,
 * catalog/, tiers/ and vault/; keys/ uses it (the full vault check verifies the assignments). */
#ifndef AZKM_RBAC_RBAC_H
#define AZKM_RBAC_RBAC_H

#include <stddef.h>

#include "vault/vault.h"

/* ---- assignments.c */
/* Every assignment of the vault, each row's MAC and the MAC over the set checked: *out from OPENSSL_malloc
 * (OPENSSL_free), NULL when there is none. AZKM_E_INTEGRITY names the first row that fails. */
azkm_rc azkm_rbac_assignments_read(azkm_vault *v, azkm_role_assignment **out, size_t *n);
/* The full vault check's part: the assignments authenticate and each names a role azkm knows. */
azkm_rc azkm_rbac_verify(azkm_vault *v, size_t *checked);

#endif
