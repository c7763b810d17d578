/* The protection tier interface: where key material lives and where private-key operations run. Each tier is a
 * folder under tiers/ (software/, pkcs11/, remote/) that fills one table of these, made through one factory
 * (factory.c). */
#ifndef AZKM_TIER_H
#define AZKM_TIER_H

#include "base/base.h"
#include "material/material.h"

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
    unsigned key_ops; /* the version's key_ops (AZKM_OP_*): what the objects a tier makes may be used for */
    unsigned size;    /* load only: RSA modulus or EC field bits (the remote tier bounds azkmd's answers by it) */
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

/* The function table of a tier: the only door into it. Every slot takes the tier (or a key it loaded) first; the
 * optional slots (marked) are NULL in tiers that lack the capability, and their callers get AZKM_E_UNSUPPORTED
 * through the azkm_tier_* wrappers below.
 *
 * Contract, for every tier:
 * - Blocking: any call may block (a token, a file, a socket); none takes a lock of the caller's. Calls that may
 *   cross a process boundary (a token daemon, a remote key server) are generate, import, adopt, unwrap_import,
 *   load, sign, decrypt, encrypt, derive, destroy and check; key_free and tier_free never block on I/O beyond
 *   closing.
 * - Threads: a tier and the keys it loaded may be used by several threads at once; each tier serialises what
 *   its backend needs serialised.
 * - Fork: a tier and its loaded keys stay usable in a forked child without any call from the caller: the tier
 *   notices the new process (getpid) and re-opens what it holds (sessions, connections) on first use there; it
 *   never uses a descriptor, session or connection opened by the parent for an operation in the child.
 * - Secrets: key material leaves a tier only sealed (the material reference) or never; outputs hold no secret
 *   except the plaintext of decrypt and the shared secret of derive, which the caller owns.
 * - Errors: AZKM_E_* with azkm_fail's message naming the tier's object and action. */
typedef struct {
    const char *name;
    azkm_rc (*generate)(azkm_tier *t, const azkm_tier_ref *ref, const azkm_keyspec *spec, azkm_tier_output *out);
    azkm_rc (*import)(azkm_tier *t, const azkm_tier_ref *ref, const azkm_material *m, azkm_tier_output *out);
    azkm_rc (*load)(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len,
                    azkm_tier_key **out);
    azkm_rc (*sign)(azkm_tier_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                    unsigned char *sig, size_t *siglen);
    /* Private or secret-key direction: RSA decrypt, AES decrypt/unwrap. op is the key_op asked for
     * (AZKM_OP_DECRYPT or AZKM_OP_UNWRAP), so that a tier can run each with the mechanism, and the usage flag, that
     * is that operation's own (a token: C_Decrypt needs CKA_DECRYPT, C_UnwrapKey CKA_UNWRAP). */
    azkm_rc (*decrypt)(azkm_tier_key *k, unsigned op, const azkm_cipher_params *p, const unsigned char *in,
                       size_t inlen, unsigned char *out, size_t *outlen);
    /* Secret-key encryption (oct only: RSA encryption uses the public key above the tier). */
    azkm_rc (*encrypt)(azkm_tier_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                       unsigned char *out, size_t *outlen);
    /* Removes what the tier holds for a version (token objects); software keeps nothing outside the catalog. */
    azkm_rc (*destroy)(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len);
    void (*key_free)(azkm_tier_key *k);
    void (*tier_free)(azkm_tier *t);
    /* Optional: proves the tier usable now (a token found and logged in to), so that a binding fails when it is
     * made rather than at the first key operation. */
    azkm_rc (*check)(azkm_tier *t);
    /* Optional: adds a version whose material is an object the tier already holds, named by text (an RFC 7512
     * URI for PKCS#11), not copied; *kty receives its type. */
    azkm_rc (*adopt)(azkm_tier *t, const azkm_tier_ref *ref, const char *name, azkm_kty *kty,
                     azkm_tier_output *out);
    /* Optional, BYOK: imports the target key of an Azure transfer blob by unwrapping it inside the tier, so that
     * its material never exists outside it. wrapped is the blob's ciphertext: RSA-OAEP (SHA-1, MGF1-SHA-1) of an
     * ephemeral AES-256 key under the KEK (the private key of the version whose material reference is
     * kek_material), then that AES key's key wrap with padding (RFC 5649) of the target (PKCS#8 DER for RSA and
     * EC, raw for oct). AZKM_E_INTEGRITY when either unwrap fails authentication. */
    azkm_rc (*unwrap_import)(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *kek_material,
                             size_t kek_material_len, const unsigned char *wrapped, size_t wrapped_len,
                             azkm_tier_output *out);
    /* Optional: the version's key_ops changed to ref->key_ops: gives the objects the tier holds for it exactly the
     * usages those need. A tier whose objects have no usage of their own (software) leaves it NULL. When the
     * tier cannot make its objects match (a token that refuses the change, an object azkm does not own), it
     * changes nothing and fails with AZKM_E_UNSUPPORTED saying why, and the key_ops must not change either. */
    azkm_rc (*set_usage)(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len);
    /* Optional, ECDH with an EC key: the raw shared secret Z (the shared point's x-coordinate, field size bytes)
     * with the peer's public point, uncompressed (04 || x || y), which the caller has checked to be on the key's
     * curve. out holds at least 66 bytes. The private key stays in the tier. */
    azkm_rc (*derive)(azkm_tier_key *k, const unsigned char *point, size_t point_len, unsigned char *out,
                      size_t *outlen);
} azkm_tier_ops;

struct azkm_tier {
    const azkm_tier_ops *ops;
    OSSL_LIB_CTX *libctx;
    const char *propq;
    void *impl; /* the tier's own state */
};

/* The kinds of tier, and the settings each is made from. A new tier adds a kind, its settings, a folder under
 * tiers/ and one line in the factory's table (tiers/factory.c). */
typedef enum { AZKM_TIER_SOFTWARE = 0, AZKM_TIER_PKCS11 = 1, AZKM_TIER_REMOTE = 2 } azkm_tier_kind;

/* AZKM_TIER_SOFTWARE: material sealed with the vault's key (32 bytes, owned by the vault, outliving the tier). */
typedef struct {
    const unsigned char *seal_key;
} azkm_tier_software_settings;

/* AZKM_TIER_PKCS11: a token of a PKCS#11 module. */
typedef struct {
    const char *module;
    const char *token;
    const char *pin_source;
    azkm_passphrase_cb pin_cb;
    void *pin_arg;
} azkm_tier_pkcs11_settings;

/* AZKM_TIER_REMOTE: the keys of a vault served by azkmd (tiers/remote/remote.h: the entry's settings). entry is
 * the local name of the vault, for messages; conf an azkm_remote_conf, copied. */
typedef struct {
    const char *entry;
    const void *conf;
} azkm_tier_remote_settings;

/* The factory: makes a tier of kind from its settings (the struct for that kind above). */
azkm_rc azkm_tier_new(azkm_tier_kind kind, OSSL_LIB_CTX *libctx, const char *propq, const void *settings,
                      azkm_tier **out);
void azkm_tier_free(azkm_tier *t);

/* The optional slots, AZKM_E_UNSUPPORTED (with a message naming the tier) where a tier lacks them. */
azkm_rc azkm_tier_check(azkm_tier *t);
azkm_rc azkm_tier_adopt(azkm_tier *t, const azkm_tier_ref *ref, const char *name, azkm_kty *kty,
                        azkm_tier_output *out);
azkm_rc azkm_tier_unwrap_import(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *kek_material,
                                size_t kek_material_len, const unsigned char *wrapped, size_t wrapped_len,
                                azkm_tier_output *out);
/* AZKM_OK without doing anything in a tier whose objects carry no usage. */
azkm_rc azkm_tier_set_usage(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len);
/* derive of a key that a tier with ops loaded. */
azkm_rc azkm_tier_derive(const azkm_tier_ops *ops, azkm_tier_key *k, const unsigned char *point, size_t point_len,
                         unsigned char *out, size_t *outlen);

#endif
