/* The rules on key attributes that create, import, adopt, update and restore share: which key_ops apply to a key,
 * how many tags, and times that make sense. */
#include <string.h>

#include "keys/records.h"
#include "keys/keys.h"

azkm_rc azkm_attrs_validate(const azkm_vault *v, const char *name, azkm_kty kty, azkm_protection protection,
                            unsigned fields, const azkm_attributes *a)
{
    unsigned allowed = azkm_ops_allowed(kty, protection);

    if ((fields & AZKM_ATTR_KEY_OPS) && (a->key_ops & ~allowed)) {
        unsigned bad = a->key_ops & ~allowed;

        for (unsigned op = 1; op & AZKM_OP_ALL; op <<= 1)
            if (bad & op)
                return azkm_fail(AZKM_E_INVALID, "key %s/%s: operation %s does not apply to an %s key", v->name,
                                 name, azkm_op_name(op), azkm_kty_name(kty, protection));
    }
    if ((fields & AZKM_ATTR_KEY_OPS) && (a->key_ops & AZKM_OP_IMPORT) && a->key_ops != AZKM_OP_IMPORT)
        return azkm_fail(AZKM_E_INVALID, "key %s/%s: a key exchange key has exactly the import operation", v->name,
                         name);
    if ((fields & AZKM_ATTR_TAGS) && a->n_tags > AZKM_MAX_TAGS)
        return azkm_fail(AZKM_E_INVALID, "key %s/%s: at most %d tags", v->name, name, AZKM_MAX_TAGS);
    if (a->not_before < 0 || a->expires < 0)
        return azkm_fail(AZKM_E_INVALID, "key %s/%s: times must not be negative", v->name, name);
    return AZKM_OK;
}

void azkm_attrs_apply(azkm_attributes *dst, unsigned fields, const azkm_attributes *src)
{
    if (fields & AZKM_ATTR_ENABLED)
        dst->enabled = src->enabled ? 1 : 0;
    if (fields & AZKM_ATTR_NOT_BEFORE)
        dst->not_before = src->not_before;
    if (fields & AZKM_ATTR_EXPIRES)
        dst->expires = src->expires;
    if (fields & AZKM_ATTR_KEY_OPS)
        dst->key_ops = src->key_ops;
    if (fields & AZKM_ATTR_TAGS) {
        dst->n_tags = src->n_tags;
        memcpy(dst->tags, src->tags, sizeof(dst->tags));
    }
}

azkm_rc azkm_attrs_check_times(const azkm_vault *v, const char *name, const azkm_attributes *a)
{
    if (a->not_before && a->expires && a->not_before >= a->expires)
        return azkm_fail(AZKM_E_INVALID, "key %s/%s: not-before must be earlier than expires", v->name, name);
    return AZKM_OK;
}
