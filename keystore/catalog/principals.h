/* Service principals in the catalog (the service_principals table, used by the keystore's identity store only):
 * per principal its appId, display name, the slow hash of its client secret and its certificate's fingerprint and
 * names (and public key), with the MAC the domain computed over the row. The catalog neither hashes nor checks
 * (keystore/rbac/ does). */
#ifndef AZKM_CATALOG_PRINCIPALS_H
#define AZKM_CATALOG_PRINCIPALS_H

#include <stddef.h>
#include <stdint.h>

#include "catalog/assignments.h"
#include "catalog/catalog.h"

typedef struct {
    char app_id[AZKM_GUID_LEN + 1];
    char display_name[AZKM_SP_NAME_MAX + 1];
    char secret_kdf[32]; /* "" when the principal has no secret */
    unsigned char secret_salt[16];
    unsigned char secret_hash[32];
    int64_t secret_created;
    unsigned char cert_sha256[32];
    int has_cert;
    char cert_issuer[AZKM_SP_DN_MAX + 1];
    char cert_subject[AZKM_SP_DN_MAX + 1];
    int64_t created;
    /* The certificate's SHA-1 thumbprint and public key (SubjectPublicKeyInfo DER), for client assertions; empty
     * (cert_spki_len 0) in a registration made before azkm kept them. */
    unsigned char cert_sha1[20];
    unsigned char cert_spki[AZKM_SP_SPKI_MAX];
    size_t cert_spki_len;
    unsigned char mac[32];
    size_t mac_len; /* as stored: 32 unless the row was damaged */
} azkm_catalog_sp_row;

/* Every service principal, by appId, and the set MAC (set->key, azkm_catalog_set_mac of catalog/assignments.h), in
 * one statement (one snapshot): *rows from OPENSSL_malloc (OPENSSL_clear_free: they hold secret hashes), NULL when
 * there is none. A field of a size azkm never writes is AZKM_E_INTEGRITY. */
azkm_rc azkm_catalog_sps_all(azkm_catalog *c, azkm_catalog_sp_row **rows, size_t *n, azkm_catalog_set_mac *set);
/* Inserts or replaces the row of row->app_id, inside the caller's write transaction. */
azkm_rc azkm_catalog_sp_put(azkm_catalog *c, const azkm_catalog_sp_row *row);
/* Removes the row of app_id, inside the caller's write transaction; AZKM_E_NOT_FOUND, without a message, when there
 * is none. */
azkm_rc azkm_catalog_sp_delete(azkm_catalog *c, const char *app_id);

#endif
