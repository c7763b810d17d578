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

unsigned p11_private_usage(CK_KEY_TYPE kt)
{
    switch (kt) {
    case CKK_RSA:
        return P11_USE_SIGN | P11_USE_DECRYPT | P11_USE_UNWRAP;
    case CKK_EC:
        return P11_USE_SIGN | P11_USE_DERIVE;
    case CKK_EC_EDWARDS:
        return P11_USE_SIGN;
    default:
        return P11_USE_ENCRYPT | P11_USE_DECRYPT | P11_USE_WRAP | P11_USE_UNWRAP;
    }
}

unsigned p11_public_usage(CK_KEY_TYPE kt)
{
    return kt == CKK_RSA ? P11_USE_VERIFY | P11_USE_ENCRYPT | P11_USE_WRAP : P11_USE_VERIFY;
}

/* The usage flags, in one fixed order, each stated only when allowed or denied. */
static void add_usage(p11_template *t, unsigned allow, unsigned deny)
{
    static const struct {
        unsigned flag;
        CK_ATTRIBUTE_TYPE type;
    } uses[] = {
        {P11_USE_SIGN, CKA_SIGN},       {P11_USE_VERIFY, CKA_VERIFY}, {P11_USE_ENCRYPT, CKA_ENCRYPT},
        {P11_USE_DECRYPT, CKA_DECRYPT}, {P11_USE_WRAP, CKA_WRAP},     {P11_USE_UNWRAP, CKA_UNWRAP},
        {P11_USE_DERIVE, CKA_DERIVE},
    };

    for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++)
        if ((allow | deny) & uses[i].flag)
            p11_tmpl_add_bool(t, uses[i].type, (allow & uses[i].flag) != 0);
}

void p11_tmpl_key_policy(p11_template *t, p11_lifetime lifetime, unsigned allow, unsigned deny)
{
    if (lifetime == P11_TOKEN_OBJECT) {
        p11_tmpl_add_bool(t, CKA_TOKEN, 1);
        p11_tmpl_add_bool(t, CKA_PRIVATE, 1);
    } else {
        p11_tmpl_add_bool(t, CKA_TOKEN, 0);
    }
    p11_tmpl_add_bool(t, CKA_SENSITIVE, 1);
    p11_tmpl_add_bool(t, CKA_EXTRACTABLE, 0);
    add_usage(t, allow, deny);
}

void p11_tmpl_public_policy(p11_template *t, unsigned allow, unsigned deny)
{
    p11_tmpl_add_bool(t, CKA_TOKEN, 1);
    p11_tmpl_add_bool(t, CKA_PRIVATE, 0);
    add_usage(t, allow, deny);
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
