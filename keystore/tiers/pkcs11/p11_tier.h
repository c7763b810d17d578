/* Private declarations of the HSM (PKCS#11) tier, shared by its object and operation files. */
#ifndef AZKM_P11_TIER_H
#define AZKM_P11_TIER_H

#include "tiers/pkcs11/p11.h"
#include "tiers/pkcs11/p11_template.h"

#define P11_MATERIAL_VERSION 1

typedef struct {
    azkm_p11_token *tok;
    OSSL_LIB_CTX *libctx;
    const char *propq;
    char *module; /* the module's path, for messages about it */
} p11_tier;

/* A logged-in session of the tier's token (azkm_p11_session_get), with a failure to start the module explained
 * where its configuration is missing (p11_session.c). */
azkm_rc p11_session_get(p11_tier *pt, CK_SESSION_HANDLE *s);

/* What the catalog keeps for an HSM key version: the object's CKA_ID and CKA_LABEL, nothing secret. */
typedef struct {
    int adopted;
    unsigned char id[64];
    size_t idlen;
    char label[256];
} p11_ref;

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
azkm_rc p11_make_material(const unsigned char *id, size_t idlen, const char *label, int adopted,
                          azkm_tier_output *out);
void p11_version_id(const char *version, unsigned char id[16]);
void p11_object_label(const azkm_tier_ref *ref, char *buf, size_t len);
void p11_curve_oid(azkm_curve c, const unsigned char **oid, size_t *len);

#endif
