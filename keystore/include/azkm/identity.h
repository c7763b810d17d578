/* azkm: service principals, keystore-wide as Entra ID's are tenant-wide: an application id (appId, a GUID) that
 * authenticates with a client secret azkm generated or with a certificate, and is the principal "sp:<appId>" of
 * role assignments (azkm/rbac.h). Kept in the keystore's identity store, a store made and protected as a vault is
 * (its own master key and MAC key; every row and the set of rows authenticated); docs/security.md, "Service
 * principals". */
#ifndef AZKM_IDENTITY_H
#define AZKM_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "azkm/rbac.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AZKM_SP_NAME_MAX 120  /* display names: 1-120 printable characters (Entra ID's limit) */
#define AZKM_SP_DN_MAX 512    /* a certificate's issuer or subject, RFC 2253 form */
#define AZKM_SP_SPKI_MAX 2048 /* a certificate's public key (SubjectPublicKeyInfo DER) */

/* A service principal as show and list return it: plain data, nothing secret. */
typedef struct {
    char app_id[AZKM_GUID_LEN + 1]; /* lowercase GUID; its principal is "sp:" app_id */
    char display_name[AZKM_SP_NAME_MAX + 1];
    int has_secret;
    int64_t secret_created; /* when the current secret was made (0: none) */
    int has_certificate;
    char cert_sha256[65]; /* lowercase hex of SHA-256(certificate DER), "" without one */
    char cert_issuer[AZKM_SP_DN_MAX + 1];
    char cert_subject[AZKM_SP_DN_MAX + 1];
    int has_certificate_key; /* the certificate's public key is kept (client assertions); 0 for a certificate
                                registered before azkm kept it: re-add it with azkm sp credential-reset --cert */
    int64_t created;
} azkm_service_principal;

/* The credentials a create or a credential reset sets. */
typedef struct {
    int new_secret;            /* generate a client secret (replacing any) */
    const unsigned char *cert; /* a certificate to register (replacing any): PEM or DER; NULL for none */
    size_t cert_len;
} azkm_sp_credentials;

/* Creates a service principal with a fresh appId. *secret (when creds->new_secret; else NULL) is the client
 * secret, given this once: azkm keeps only its scrypt hash. Clear it (OPENSSL_cleanse) before azkm_free. At least
 * one credential is needed. Audited as ServicePrincipalCreate. */
azkm_rc azkm_sp_create(azkm_keystore *ks, const char *display_name, const azkm_sp_credentials *creds,
                       azkm_service_principal *out, char **secret);
/* Every service principal, by appId: *out (azkm_free) is NULL when there is none. */
azkm_rc azkm_sp_list(azkm_keystore *ks, azkm_service_principal **out, size_t *n);
/* The principal of app_id (upper or lower case); AZKM_E_NOT_FOUND names it. */
azkm_rc azkm_sp_show(azkm_keystore *ks, const char *app_id, azkm_service_principal *out);
/* Removes it and its credentials (its role assignments stay in the vaults, granting nothing until an appId is
 * reused, which a random GUID is not). Audited as ServicePrincipalDelete. */
azkm_rc azkm_sp_delete(azkm_keystore *ks, const char *app_id);
/* Replaces the credentials given in creds (a new secret, a new certificate); the others stay. *secret as for
 * create. Audited as ServicePrincipalCredentialReset. */
azkm_rc azkm_sp_credential_reset(azkm_keystore *ks, const char *app_id, const azkm_sp_credentials *creds,
                                 azkm_service_principal *out, char **secret);

/* ---- Lookups for a server ----------------------------------------------------------------------------------
 * Both read the identity store on every call (the store is small; a server may cache by time). */
/* OAuth2 client credentials: AZKM_OK and *out (optional) when secret is app_id's client secret (checked with its
 * scrypt hash, compared in constant time); AZKM_E_AUTH "invalid client secret" otherwise, or for a principal
 * without a secret; AZKM_E_NOT_FOUND for an unknown appId (after the same work, so that timing does not tell
 * which). A failure is audited as ServicePrincipalAuthenticate. */
azkm_rc azkm_sp_authenticate_secret(azkm_keystore *ks, const char *app_id, const char *secret,
                                    azkm_service_principal *out);
/* Mutual TLS: the service principal whose registered certificate is exactly der (by SHA-256 fingerprint), or
 * AZKM_E_NOT_FOUND. The caller has completed the TLS handshake with it (proof of possession). */
azkm_rc azkm_sp_find_by_certificate(azkm_keystore *ks, const unsigned char *der, size_t der_len,
                                    azkm_service_principal *out);
/* Mutual TLS under a client CA the caller trusts and has verified the chain against: the service principal whose
 * registered certificate has this issuer and subject (RFC 2253 strings, as registered), or AZKM_E_NOT_FOUND. A
 * renewed certificate with the same names keeps matching. */
azkm_rc azkm_sp_find_by_subject(azkm_keystore *ks, const char *issuer, const char *subject,
                                azkm_service_principal *out);
/* azkm_sp_find_by_subject with the issuer and subject of a certificate (DER), rendered as registration renders
 * them; the same condition on the caller (the chain verified against a trusted client CA). */
azkm_rc azkm_sp_find_by_certificate_names(azkm_keystore *ks, const unsigned char *der, size_t der_len,
                                          azkm_service_principal *out);
/* OAuth2 client assertion (RFC 7523) signed with app_id's certificate key: that certificate's public key
 * (SubjectPublicKeyInfo DER, *spki: azkm_free) when thumbprint is its thumbprint, SHA-1 (20 bytes, JWS "x5t") or
 * SHA-256 (32 bytes, "x5t#S256"). AZKM_E_NOT_FOUND for an unknown appId or one without a certificate of that
 * thumbprint (one message for both); AZKM_E_UNSUPPORTED "re-add the certificate" for a certificate registered
 * before azkm kept public keys. The caller verifies the assertion's signature with the key. */
azkm_rc azkm_sp_certificate_key(azkm_keystore *ks, const char *app_id, const unsigned char *thumbprint, size_t len,
                                unsigned char **spki, size_t *spki_len);

#ifdef __cplusplus
}
#endif

#endif
