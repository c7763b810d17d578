/* The protection tier interface: where key material lives and where private-key operations run.
 * Software today (tier_software.c), PKCS#11 next, a remote key server later: each is one table of these. */
#ifndef AZKM_TIER_H
#define AZKM_TIER_H

#include "azkm/keystore.h"

typedef struct azkm_tier azkm_tier;         /* one per open vault and tier */
typedef struct azkm_tier_key azkm_tier_key; /* a loaded key, ready for operations */

/* Identity of the version a tier call is about; aad binds stored material to it. */
typedef struct {
    const char *vault;
    const char *name;
    const char *version;
    azkm_kty kty;
    const unsigned char *aad;
    size_t aad_len;
} azkm_tier_ref;

/* Everything a tier returns for a new version: an opaque material reference stored in the catalog (sealed key
 * for software, object identity for PKCS#11, nothing secret otherwise) and the public key. */
typedef struct {
    unsigned char *material;
    size_t material_len;
    unsigned char *public_der; /* SubjectPublicKeyInfo, NULL for oct */
    size_t public_der_len;
    unsigned size;
    azkm_curve curve;
} azkm_tier_output;

void azkm_tier_output_clear(azkm_tier_output *o);

typedef struct {
    const char *name;
    azkm_rc (*generate)(azkm_tier *t, const azkm_tier_ref *ref, const azkm_keyspec *spec, azkm_tier_output *out);
    azkm_rc (*import)(azkm_tier *t, const azkm_tier_ref *ref, const azkm_material *m, azkm_tier_output *out);
    azkm_rc (*load)(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len,
                    azkm_tier_key **out);
    azkm_rc (*sign)(azkm_tier_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                    unsigned char *sig, size_t *siglen);
    /* Private or secret-key direction: RSA decrypt, AES decrypt/unwrap. */
    azkm_rc (*decrypt)(azkm_tier_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                       unsigned char *out, size_t *outlen);
    /* Secret-key encryption (oct only: RSA encryption uses the public key above the tier). */
    azkm_rc (*encrypt)(azkm_tier_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                       unsigned char *out, size_t *outlen);
    /* Removes what the tier holds for a version (token objects); software keeps nothing outside the catalog. */
    azkm_rc (*destroy)(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len);
    void (*key_free)(azkm_tier_key *k);
    void (*tier_free)(azkm_tier *t);
} azkm_tier_ops;

struct azkm_tier {
    const azkm_tier_ops *ops;
    OSSL_LIB_CTX *libctx;
    const char *propq;
    const unsigned char *seal_key; /* the vault's, for tiers that store sealed material */
    void *impl;                    /* the tier's own state */
};

typedef struct {
    const char *module;
    const char *token;
    const char *pin_source;
    azkm_passphrase_cb pin_cb;
    void *pin_arg;
} azkm_tier_p11_config;

azkm_rc azkm_tier_pkcs11_new(OSSL_LIB_CTX *libctx, const char *propq, const azkm_tier_p11_config *cfg,
                             azkm_tier **out);
/* Finds the token and logs in, to prove a binding. */
azkm_rc azkm_tier_pkcs11_check(azkm_tier *t);
/* Adds a version whose material is an existing token object named by an RFC 7512 URI (not copied). */
azkm_rc azkm_tier_pkcs11_adopt(azkm_tier *t, const azkm_tier_ref *ref, const char *uri, azkm_kty *kty,
                               azkm_tier_output *out);

/* BYOK (p11_unwrap.c): imports the target key of an Azure transfer blob by unwrapping it inside the token, so that
 * its material never exists outside it. wrapped is the blob's ciphertext: RSA-OAEP (SHA-1, MGF1-SHA-1) of an
 * ephemeral AES-256 key under the KEK (the private key of the version whose material reference is kek_material),
 * then that AES key's key wrap with padding (RFC 5649) of the target (PKCS#8 DER for RSA and EC, raw for oct).
 * Two C_UnwrapKey calls: the AES key as a session object, destroyed before return, then the target as a token
 * object, CKA_SENSITIVE and not CKA_EXTRACTABLE. AZKM_E_INTEGRITY when either unwrap fails authentication. */
azkm_rc azkm_tier_pkcs11_unwrap_import(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *kek_material,
                                       size_t kek_material_len, const unsigned char *wrapped, size_t wrapped_len,
                                       azkm_tier_output *out);

azkm_rc azkm_tier_software_new(OSSL_LIB_CTX *libctx, const char *propq, const unsigned char seal_key[32],
                               azkm_tier **out);

#endif
