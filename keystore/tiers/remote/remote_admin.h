/* The administration of a remote vault's keys (keys/ uses these when the vault is remote): each is the Key Vault
 * request azkmd serves with the same keystore call, so results and refusals are the server keystore's own. Errors
 * name the vault, the URL, the request and azkmd's code and message; 400/403/404/409 map to AZKM_E_INVALID,
 * AZKM_E_FORBIDDEN, AZKM_E_NOT_FOUND, AZKM_E_CONFLICT. out may be NULL wherever it appears. */
#ifndef AZKM_TIER_REMOTE_ADMIN_H
#define AZKM_TIER_REMOTE_ADMIN_H

#include "azkm/keys.h"
#include "tiers/tier.h"

/* ---- remote_admin.c: POST keys/{name}/create, PATCH keys/{name}[/{version}], POST keys/{name}/rotate; and
 * remote_import.c: PUT keys/{name} (the private key as a JWK). RSA and EC keys only, without RSA-PSS restrictions:
 * what the remote tier can use. */
azkm_rc azkm_remote_key_create(azkm_tier *t, const char *name, const azkm_keyspec *spec, azkm_key_info *out);
azkm_rc azkm_remote_key_update(azkm_tier *t, const char *name, const char *version, unsigned fields,
                               const azkm_attributes *attrs, azkm_key_info *out);
azkm_rc azkm_remote_key_rotate(azkm_tier *t, const char *name, azkm_key_info *out);
azkm_rc azkm_remote_key_import(azkm_tier *t, const char *name, const azkm_material *m, azkm_protection protection,
                               unsigned fields, const azkm_attributes *attrs, azkm_key_info *out);
/* BYOK: PUT keys/{name} with Azure's transfer blob as key.key_hsm and key.kty the HSM type of kty. */
azkm_rc azkm_remote_key_import_byok(azkm_tier *t, const char *name, azkm_kty kty, const unsigned char *blob,
                                    size_t len, unsigned fields, const azkm_attributes *attrs, azkm_key_info *out);

/* ---- remote_deleted.c: DELETE keys/{name}, POST deletedkeys/{name}/recover, DELETE deletedkeys/{name}, and the
 * deleted keys (GET deletedkeys through its pages, then GET deletedkeys/{name} of each). */
azkm_rc azkm_remote_key_delete(azkm_tier *t, const char *name, azkm_key_info *out);
azkm_rc azkm_remote_key_recover(azkm_tier *t, const char *name, azkm_key_info *out);
azkm_rc azkm_remote_key_purge(azkm_tier *t, const char *name);
azkm_rc azkm_remote_deleted_list(azkm_tier *t, azkm_key_info **out, size_t *n);

/* ---- remote_versions.c: GET keys/{name}/versions through its pages, then GET keys/{name}/{version} of each,
 * oldest first as azkmd lists them; current is the version GET keys/{name} answers. */
azkm_rc azkm_remote_key_versions(azkm_tier *t, const char *name, azkm_key_info **out, size_t *n);

/* ---- remote_backup.c: POST keys/{name}/backup (azkmd's opaque blob, azkm_free), POST keys/restore; GET and PUT
 * keys/{name}/rotationpolicy (policy JSON text as the keystore's calls take and give it, azkm_free). */
azkm_rc azkm_remote_key_backup(azkm_tier *t, const char *name, unsigned char **blob, size_t *len);
azkm_rc azkm_remote_key_restore(azkm_tier *t, const unsigned char *blob, size_t len, azkm_key_info *out);
azkm_rc azkm_remote_policy_get(azkm_tier *t, const char *name, char **policy);
azkm_rc azkm_remote_policy_set(azkm_tier *t, const char *name, const char *policy, char **stored);

/* ---- remote_rng.c: POST /rng, n (1 to 128) random bytes from azkmd into buf. */
azkm_rc azkm_remote_random(azkm_tier *t, unsigned char *buf, size_t n);

#endif
