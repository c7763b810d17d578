/* What every tier shares: the output of a new version, freeing a tier, and the wrappers of the optional slots. */
#include <string.h>

#include <openssl/crypto.h>

#include "tiers/tier.h"

void azkm_tier_free(azkm_tier *t)
{
    if (t != NULL)
        t->ops->tier_free(t);
}

void azkm_tier_output_clear(azkm_tier_output *o)
{
    OPENSSL_free(o->material);
    OPENSSL_free(o->public_der);
    memset(o, 0, sizeof(*o));
}

static azkm_rc unsupported(const azkm_tier *t, const char *what)
{
    return azkm_fail(AZKM_E_UNSUPPORTED, "the %s tier cannot %s", t->ops->name, what);
}

azkm_rc azkm_tier_check(azkm_tier *t)
{
    /* A tier without a check has nothing to prove before its first key operation. */
    return t->ops->check != NULL ? t->ops->check(t) : AZKM_OK;
}

azkm_rc azkm_tier_adopt(azkm_tier *t, const azkm_tier_ref *ref, const char *name, azkm_kty *kty,
                        azkm_tier_output *out)
{
    if (t->ops->adopt == NULL)
        return unsupported(t, "adopt an existing object");
    return t->ops->adopt(t, ref, name, kty, out);
}

azkm_rc azkm_tier_unwrap_import(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *kek_material,
                                size_t kek_material_len, const unsigned char *wrapped, size_t wrapped_len,
                                azkm_tier_output *out)
{
    if (t->ops->unwrap_import == NULL)
        return unsupported(t, "unwrap a transfer blob inside itself");
    return t->ops->unwrap_import(t, ref, kek_material, kek_material_len, wrapped, wrapped_len, out);
}

azkm_rc azkm_tier_set_usage(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len)
{
    /* Software keys are used only through azkm, which checks key_ops on every call: nothing to restrict. */
    return t->ops->set_usage != NULL ? t->ops->set_usage(t, ref, material, len) : AZKM_OK;
}

azkm_rc azkm_tier_derive(const azkm_tier_ops *ops, azkm_tier_key *k, const unsigned char *point, size_t point_len,
                         unsigned char *out, size_t *outlen)
{
    if (ops->derive == NULL)
        return azkm_fail(AZKM_E_UNSUPPORTED, "the %s tier cannot derive a shared secret", ops->name);
    return ops->derive(k, point, point_len, out, outlen);
}
