/* Private declarations of the HSM (PKCS#11) tier, shared by its object and operation files. */
#ifndef AZKM_P11_TIER_H
#define AZKM_P11_TIER_H

#include <pthread.h>

#include "tiers/pkcs11/p11.h"
#include "tiers/pkcs11/p11_template.h"

#define P11_MATERIAL_VERSION 1

typedef struct {
    azkm_p11_token *tok;
    OSSL_LIB_CTX *libctx;
    const char *propq;
} p11_tier;

/* What the catalog keeps for an HSM key version: the object's CKA_ID and CKA_LABEL, nothing secret. */
typedef struct {
    int adopted;
    unsigned char id[64];
    size_t idlen;
    char label[256];
} p11_ref;

/* A loaded key (p11_key.c). The handle is found once and again after every re-initialisation (fork, recovery);
 * mu guards it and the public key, which the raw RSA paths make when they first need it. */
struct azkm_tier_key {
    p11_tier *pt;
    azkm_kty kty;
    p11_ref ref;
    pthread_mutex_t mu;
    CK_OBJECT_HANDLE handle; /* the session copy when the token allowed one, else the token object */
    int is_copy;
    unsigned long generation;
    EVP_PKEY *pub;           /* RSA, made on first use by p11_key_public */
    unsigned native_refused; /* P11_REFUSED_* bits: parameter sets the token's own mechanism refused */
    size_t modulus_len;      /* RSA */
    unsigned key_bits;       /* RSA modulus bits, AES key bits */
    char name[AZKM_URI_MAX];
};

/* Parameter sets for which the token's CKM_RSA_PKCS_PSS or CKM_RSA_PKCS_OAEP was found wanting, one bit per
 * digest (index into p11_digests) and mechanism: from then on the key takes the raw RSA path for them. */
#define P11_REFUSED_PSS(di) (1u << (di))
#define P11_REFUSED_OAEP(di) (1u << (16 + (di)))

/* The digests the tier knows: names as the keystore gives them, the token's mechanism and MGF1 numbers, the
 * length, the DER DigestInfo header of PKCS#1 v1.5 signatures (RFC 8017 section 9.2, note 1) and OpenSSL's name. */
typedef struct {
    const char *name;
    CK_MECHANISM_TYPE hash;
    CK_RSA_PKCS_MGF_TYPE mgf;
    size_t len;
    const unsigned char *di;
    size_t di_len;
    const char *evp_name;
} p11_digest;

extern const p11_digest p11_digests[];
/* "SHA256", "SHA2-256", "sha-256", "SHA3-256" ...: the index in p11_digests, or -1. */
int p11_digest_index(const char *name);

/* One operation with a loaded key on a borrowed session: what p11_key_run passes to p11_key_op. P11_WRAP and
 * P11_UNWRAP run C_WrapKey / C_UnwrapKey, the bytes travelling as a short-lived session secret object (in: the
 * bytes to wrap; out: the unwrapped bytes, read back from the object), each under its own usage flag (CKA_WRAP,
 * CKA_UNWRAP) rather than CKA_ENCRYPT / CKA_DECRYPT. */
typedef enum { P11_SIGN, P11_DECRYPT, P11_ENCRYPT, P11_WRAP, P11_UNWRAP } p11_direction;
typedef struct {
    azkm_tier_key *k;
    p11_direction dir;
    CK_MECHANISM mech;
    const unsigned char *in;
    size_t inlen;
    unsigned char *out;
    CK_ULONG outcap; /* the room in out; outlen is reset to it before every try */
    CK_ULONG outlen;
    CK_RV rv;         /* the token's answer to the failed call, CKR_OK when none failed */
    int init_refused; /* the token refused the mechanism or its parameters in C_*Init, before any data */
    int data_failed;  /* the token failed the C_Sign / C_Decrypt / C_Encrypt step itself */
    const char *action;
} p11_crypt;

/* Runs one C_*Init + C_* pair (or one C_WrapKey / C_UnwrapKey) with the key's handle (found again after a
 * re-initialisation) through azkm_p11_run. A token failure in the decryption or unwrap step itself is never retried
 * (it may depend on the ciphertext). */
azkm_rc p11_key_run(p11_crypt *c);
/* Runs op through azkm_p11_run with the key's handle at hand: op gets the p11_key_call below as arg. */
typedef struct {
    azkm_tier_key *k;
    CK_OBJECT_HANDLE h;
    void *arg;
} p11_key_call;
azkm_rc p11_key_run_op(azkm_tier_key *k, azkm_p11_op op, void *arg);
/* The key's public key (RSA), read from the token on first use; NULL with the error recorded on failure. */
EVP_PKEY *p11_key_public(azkm_tier_key *k);

/* The table's slots, one file each: p11_key.c (load, key_free), p11_sign.c, p11_rsa_decrypt.c, p11_aes.c,
 * p11_derive.c. */
azkm_rc p11_load(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len,
                 azkm_tier_key **out);
void p11_key_free(azkm_tier_key *k);
azkm_rc p11_sign(azkm_tier_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                 unsigned char *sig, size_t *siglen);
/* op: AZKM_OP_DECRYPT runs C_Decrypt (CKA_DECRYPT), AZKM_OP_UNWRAP C_UnwrapKey (CKA_UNWRAP), p11_rsa_decrypt.c. */
azkm_rc p11_rsa_decrypt(azkm_tier_key *k, unsigned op, const azkm_cipher_params *p, const unsigned char *in,
                        size_t inlen, unsigned char *out, size_t *outlen);
azkm_rc p11_aes(azkm_tier_key *k, int enc, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                unsigned char *out, size_t *outlen);
/* The derive slot (p11_derive.c): ECDH with an EC key, CKM_ECDH1_DERIVE into a session secret read back. */
azkm_rc p11_derive(azkm_tier_key *k, const unsigned char *point, size_t point_len, unsigned char *out,
                   size_t *outlen);

/* Software halves of the raw RSA paths (p11_rsa_pad.c): the token does only m^d (CKM_RSA_X_509). */
/* EMSA-PSS-ENCODE (RFC 8017 9.1.1) of a digest into em (modulus length bytes). */
azkm_rc p11_pss_encode(const p11_digest *md, const p11_digest *mgf1, size_t salt_len, unsigned key_bits,
                       const unsigned char *mhash, unsigned char *em, size_t em_len);
/* EME-OAEP decoding (RFC 8017 7.1.2) of the raw decryption em (modulus length bytes), in constant time. */
azkm_rc p11_oaep_decode(const p11_digest *md, const p11_digest *mgf1, const unsigned char *label, size_t label_len,
                        const unsigned char *em, size_t em_len, unsigned char *out, size_t *outlen);
/* 1 when sig is a valid PSS signature of mhash under pub with these parameters. */
int p11_pss_verify(EVP_PKEY *pub, const p11_digest *md, const p11_digest *mgf1, int salt_len,
                   const unsigned char *mhash, const unsigned char *sig, size_t siglen);

/* The optional slots of the table (tier_pkcs11.c): adopting an existing token key (p11_objects.c) and BYOK's
 * unwrap inside the token (p11_unwrap.c: two C_UnwrapKey calls, the AES key as a session object destroyed before
 * return, then the target as a token object, CKA_SENSITIVE and not CKA_EXTRACTABLE). */
azkm_rc azkm_tier_pkcs11_adopt(azkm_tier *t, const azkm_tier_ref *ref, const char *uri, azkm_kty *kty,
                               azkm_tier_output *out);
azkm_rc azkm_tier_pkcs11_unwrap_import(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *kek_material,
                                       size_t kek_material_len, const unsigned char *wrapped, size_t wrapped_len,
                                       azkm_tier_output *out);
azkm_rc p11_parse_material(const unsigned char *m, size_t len, p11_ref *ref);
azkm_rc p11_generate(azkm_tier *t, const azkm_tier_ref *ref, const azkm_keyspec *spec, azkm_tier_output *out);
azkm_rc p11_import(azkm_tier *t, const azkm_tier_ref *ref, const azkm_material *m, azkm_tier_output *out);
azkm_rc p11_destroy(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len);
/* The set_usage slot (p11_usage.c): the version's objects get the usage flags ref->key_ops need, all or none. */
azkm_rc p11_set_usage(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len);
/* Shared by p11_objects.c, p11_import.c and p11_unwrap.c: the public key read back from a key object, the catalog's
 * material reference, the CKA_ID / CKA_LABEL azkm gives a version's objects, and a curve's CKA_EC_PARAMS. */
azkm_rc p11_public_from_token(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, azkm_kty kty,
                              azkm_tier_output *out);
/* Destroys the objects with this CKA_ID and CKA_LABEL (a version's, which no other version shares: what a failed
 * earlier try of making them may have left); returns the token's answer. */
CK_RV p11_destroy_by_ref(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, const unsigned char *id, size_t idlen,
                         const char *label);
azkm_rc p11_public_pkey(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, azkm_kty kty, EVP_PKEY **out);
azkm_rc p11_make_material(const unsigned char *id, size_t idlen, const char *label, int adopted,
                          azkm_tier_output *out);
void p11_version_id(const char *version, unsigned char id[16]);
void p11_object_label(const azkm_tier_ref *ref, char *buf, size_t len);
void p11_curve_oid(azkm_curve c, const unsigned char **oid, size_t *len);

#endif
