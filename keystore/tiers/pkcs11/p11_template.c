/* PKCS#11 attribute templates for the HSM tier: the builder, and the attribute policy of azkm's key objects. Every
 * template the tier hands to a token is built here or with these helpers, so that the policy is written once. */
#include <string.h>

#include "tiers/pkcs11/p11_template.h"

static const CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

void p11_tmpl_init(p11_template *t)
{
    memset(t, 0, sizeof(*t));
}

/* The next free attribute, or NULL (and the template marked) when it is full. */
static CK_ATTRIBUTE *next_attr(p11_template *t)
{
    if (t->n >= P11_TEMPLATE_MAX) {
        t->overflow = 1;
        return NULL;
    }
    return &t->attr[t->n++];
}

void p11_tmpl_add_bool(p11_template *t, CK_ATTRIBUTE_TYPE type, int value)
{
    CK_ATTRIBUTE *a = next_attr(t);

    if (a != NULL)
        *a = (CK_ATTRIBUTE){type, (void *)(value ? &yes : &no), sizeof(CK_BBOOL)};
}

void p11_tmpl_add_ulong(p11_template *t, CK_ATTRIBUTE_TYPE type, CK_ULONG value)
{
    CK_ATTRIBUTE *a = next_attr(t);

    if (a != NULL) {
        CK_ULONG *slot = &t->num[a - t->attr];

        *slot = value;
        *a = (CK_ATTRIBUTE){type, slot, sizeof(*slot)};
    }
}

void p11_tmpl_add_bytes(p11_template *t, CK_ATTRIBUTE_TYPE type, const void *value, size_t len)
{
    CK_ATTRIBUTE *a = next_attr(t);

    /* PKCS#11 declares pValue writable for output templates; the token only reads an input template */
    if (a != NULL)
        *a = (CK_ATTRIBUTE){type, (void *)value, (CK_ULONG)len};
}

void p11_tmpl_add_class(p11_template *t, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt)
{
    p11_tmpl_add_ulong(t, CKA_CLASS, cls);
    p11_tmpl_add_ulong(t, CKA_KEY_TYPE, kt);
}

void p11_tmpl_add_ref(p11_template *t, const unsigned char *id, size_t idlen, const char *label)
{
    p11_tmpl_add_bytes(t, CKA_ID, id, idlen);
    if (label != NULL)
        p11_tmpl_add_bytes(t, CKA_LABEL, label, strlen(label));
}

azkm_rc p11_tmpl_check(const p11_template *t)
{
    if (t->overflow)
        return azkm_fail(AZKM_E_UNSUPPORTED, "a PKCS#11 template needs more than %d attributes", P11_TEMPLATE_MAX);
    return AZKM_OK;
}

/* Which usage flag each key_op needs on each side, by the mechanism the HSM tier runs for it (tier_pkcs11.c):
 * - sign: C_Sign on the private key (RSA, EC). verify runs in software with the public key; CKA_VERIFY on the
 *   public object states the same policy to other clients of the token.
 * - decrypt: C_Decrypt on the private key (RSA) or the secret key (AES-GCM). encrypt: C_Encrypt with the secret
 *   key (AES-GCM); RSA encryption runs in software with the public key (CKA_ENCRYPT on the public object).
 * - unwrapKey: C_UnwrapKey with the private key (RSA-OAEP, RSA1_5) or the secret key (AES key wrap) into a session
 *   object whose value azkm reads. wrapKey: C_WrapKey with the secret key (AES key wrap); RSA wraps in software
 *   with the public key (CKA_WRAP on the public object).
 * - import (a BYOK key exchange key): C_UnwrapKey (RSA-OAEP) of the transfer key on the private key, so that the
 *   transfer key stays a token object; CKA_DECRYPT would let the process see it, and is not given.
 * - deriveBits: C_DeriveKey (CKM_ECDH1_DERIVE) on the private key (EC); the peer's point is the mechanism's
 *   parameter, so the public object needs nothing.
 * Never given: CKA_DERIVE on public or secret keys, CKA_SIGN_RECOVER and CKA_VERIFY_RECOVER (no key_op recovers
 * data from a signature), CKA_SIGN / CKA_VERIFY on AES keys (no key_op MACs). */
unsigned p11_usage(CK_OBJECT_CLASS cls, unsigned key_ops)
{
    unsigned use = 0;

    if (cls == CKO_PUBLIC_KEY) {
        use |= key_ops & AZKM_OP_VERIFY ? P11_USE_VERIFY : 0;
        use |= key_ops & AZKM_OP_ENCRYPT ? P11_USE_ENCRYPT : 0;
        use |= key_ops & AZKM_OP_WRAP ? P11_USE_WRAP : 0;
        return use;
    }
    use |= key_ops & AZKM_OP_DECRYPT ? P11_USE_DECRYPT : 0;
    use |= key_ops & (AZKM_OP_UNWRAP | AZKM_OP_IMPORT) ? P11_USE_UNWRAP : 0;
    if (cls == CKO_PRIVATE_KEY)
        return use | (key_ops & AZKM_OP_SIGN ? P11_USE_SIGN : 0) | (key_ops & AZKM_OP_DERIVE ? P11_USE_DERIVE : 0);
    use |= key_ops & AZKM_OP_ENCRYPT ? P11_USE_ENCRYPT : 0;
    use |= key_ops & AZKM_OP_WRAP ? P11_USE_WRAP : 0;
    return use;
}

unsigned p11_usage_all(CK_OBJECT_CLASS cls)
{
    return cls == CKO_PUBLIC_KEY ? P11_PUBLIC_USES : cls == CKO_PRIVATE_KEY ? P11_PRIVATE_USES : P11_SECRET_USES;
}

/* The usage flags, in one fixed order, each stated only when allowed or denied. */
static void add_usage(p11_template *t, unsigned allow, unsigned deny)
{
    static const struct {
        unsigned flag;
        CK_ATTRIBUTE_TYPE type;
    } uses[] = {
        {P11_USE_SIGN, CKA_SIGN},
        {P11_USE_VERIFY, CKA_VERIFY},
        {P11_USE_ENCRYPT, CKA_ENCRYPT},
        {P11_USE_DECRYPT, CKA_DECRYPT},
        {P11_USE_WRAP, CKA_WRAP},
        {P11_USE_UNWRAP, CKA_UNWRAP},
        {P11_USE_DERIVE, CKA_DERIVE},
        {P11_USE_SIGN_RECOVER, CKA_SIGN_RECOVER},
        {P11_USE_VERIFY_RECOVER, CKA_VERIFY_RECOVER},
    };

    for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++)
        if ((allow | deny) & uses[i].flag)
            p11_tmpl_add_bool(t, uses[i].type, (allow & uses[i].flag) != 0);
}

void p11_tmpl_add_usage(p11_template *t, CK_OBJECT_CLASS cls, unsigned key_ops)
{
    unsigned allow = p11_usage(cls, key_ops);

    add_usage(t, allow, p11_usage_all(cls) & ~allow);
}

void p11_tmpl_key_policy(p11_template *t, p11_lifetime lifetime, CK_OBJECT_CLASS cls, unsigned key_ops)
{
    if (lifetime == P11_TOKEN_OBJECT) {
        p11_tmpl_add_bool(t, CKA_TOKEN, 1);
        p11_tmpl_add_bool(t, CKA_PRIVATE, 1);
    } else {
        p11_tmpl_add_bool(t, CKA_TOKEN, 0);
    }
    p11_tmpl_add_bool(t, CKA_SENSITIVE, 1);
    p11_tmpl_add_bool(t, CKA_EXTRACTABLE, 0);
    p11_tmpl_add_usage(t, cls, key_ops);
}

void p11_tmpl_public_policy(p11_template *t, unsigned key_ops)
{
    p11_tmpl_add_bool(t, CKA_TOKEN, 1);
    p11_tmpl_add_bool(t, CKA_PRIVATE, 0);
    p11_tmpl_add_usage(t, CKO_PUBLIC_KEY, key_ops);
}

void p11_tmpl_session_secret(p11_template *t, CK_ULONG value_len)
{
    p11_tmpl_add_class(t, CKO_SECRET_KEY, CKK_GENERIC_SECRET);
    p11_tmpl_add_bool(t, CKA_TOKEN, 0);
    p11_tmpl_add_bool(t, CKA_SENSITIVE, 0);
    p11_tmpl_add_bool(t, CKA_EXTRACTABLE, 1);
    p11_tmpl_add_ulong(t, CKA_VALUE_LEN, value_len);
}

void p11_tmpl_token_search(p11_template *t, CK_OBJECT_CLASS cls, const unsigned char *id, size_t idlen,
                           const char *label)
{
    p11_tmpl_add_ulong(t, CKA_CLASS, cls);
    p11_tmpl_add_bool(t, CKA_TOKEN, 1);
    p11_tmpl_add_ref(t, id, idlen, label);
}
