/* rbac/: principals (principal.c), Azure's built-in role definitions (roles.c), role assignments authenticated in
 * the vault's catalog (assignments.c), the authorization decision (authorize.c), service principals in the
 * keystore's identity store (service_principals.c, their credentials in sp_credentials.c) and what assignments and
 * service principals share (record_set.c). May use base/, material/,
 * catalog/, tiers/ and vault/; keys/ uses it (the full vault check verifies the assignments). */
#ifndef AZKM_RBAC_RBAC_H
#define AZKM_RBAC_RBAC_H

#include <stddef.h>

#include "catalog/assignments.h"
#include "catalog/principals.h"
#include "vault/vault.h"

/* ---- record_set.c */
/* A random (version 4) GUID, lowercase. */
azkm_rc azkm_rbac_new_guid(azkm_vault *v, char out[AZKM_GUID_LEN + 1]);
/* One record of a set: its id (a GUID) and its own MAC. */
typedef struct {
    const char *id;
    const unsigned char *mac;
} azkm_record_ref;
/* Checks the set MAC stored (read with the rows, in one snapshot) against refs, in id order (label separates the
 * kinds of set); none stored is an empty set. AZKM_E_INTEGRITY names what (e.g. "role assignments"). */
azkm_rc azkm_record_set_check(azkm_vault *v, const char *label, const azkm_record_ref *refs, size_t n,
                              const azkm_catalog_set_mac *stored, const char *what);
/* Stores the set MAC over refs, inside the caller's write transaction. */
azkm_rc azkm_record_set_write(azkm_vault *v, const char *meta_key, const char *label, const azkm_record_ref *refs,
                              size_t n);

/* ---- sp_credentials.c */
/* A new client secret for row: *secret (azkm_free, cleanse first) and its scrypt hash, salt and time in row. */
azkm_rc azkm_sp_secret_new(azkm_keystore *ks, azkm_catalog_sp_row *row, char **secret);
/* AZKM_OK when secret matches row's hash; AZKM_E_AUTH, without a message, when not or when row (NULL allowed) has
 * no secret; the same scrypt work in every case. */
azkm_rc azkm_sp_secret_check(azkm_keystore *ks, const azkm_catalog_sp_row *row, const char *secret);
/* Registers a certificate (PEM or DER) in row: fingerprint, issuer, subject. */
azkm_rc azkm_sp_cert_set(azkm_keystore *ks, azkm_catalog_sp_row *row, const unsigned char *cert, size_t len);
/* SHA-256 of a certificate's DER. */
azkm_rc azkm_sp_cert_fingerprint(azkm_keystore *ks, const unsigned char *der, size_t len, unsigned char out[32]);
/* A certificate's (DER) issuer and subject in the RFC 2253 form azkm_sp_cert_set registers them in. */
azkm_rc azkm_sp_cert_names(const unsigned char *der, size_t len, char issuer[AZKM_SP_DN_MAX + 1],
                           char subject[AZKM_SP_DN_MAX + 1]);

/* ---- assignments.c */
/* Every assignment of the vault, each row's MAC and the MAC over the set checked: *out from OPENSSL_malloc
 * (OPENSSL_free), NULL when there is none. AZKM_E_INTEGRITY names the first row that fails. */
azkm_rc azkm_rbac_assignments_read(azkm_vault *v, azkm_role_assignment **out, size_t *n);
/* The full vault check's part: the assignments authenticate and each names a role azkm knows. */
azkm_rc azkm_rbac_verify(azkm_vault *v, size_t *checked);

#endif
