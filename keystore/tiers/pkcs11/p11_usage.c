/* When a version's key_ops change, its token objects get the usage flags the new key_ops need
 * (C_SetAttributeValue, p11_template.c's policy), all or none: a token that refuses the change, or an adopted
 * object (azkm does not change what another application made) that lacks a flag, fails the change with the reason.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "tiers/pkcs11/p11_tier.h"

#define MAX_OBJECTS 8

/* The usage attributes, with the key_ops each serves, for messages. */
static const struct {
    CK_ATTRIBUTE_TYPE type;
    const char *name;
    const char *serves;
} usage_names[] = {
    {CKA_SIGN, "CKA_SIGN", "sign"},           {CKA_VERIFY, "CKA_VERIFY", "verify"},
    {CKA_ENCRYPT, "CKA_ENCRYPT", "encrypt"},  {CKA_DECRYPT, "CKA_DECRYPT", "decrypt"},
    {CKA_WRAP, "CKA_WRAP", "wrapKey"},        {CKA_UNWRAP, "CKA_UNWRAP", "unwrapKey or import"},
    {CKA_DERIVE, "CKA_DERIVE", "deriveBits"},
};

static size_t usage_name(CK_ATTRIBUTE_TYPE type)
{
    size_t i;

    for (i = 0; i + 1 < sizeof(usage_names) / sizeof(usage_names[0]) && usage_names[i].type != type; i++)
        ;
    return i;
}

/* One object: its class, the usage template it should have, and the values it had (to put back). */
typedef struct {
    CK_OBJECT_HANDLE h;
    CK_OBJECT_CLASS cls;
    p11_template want;
    CK_ATTRIBUTE had[P11_TEMPLATE_MAX];
    CK_BBOOL had_val[P11_TEMPLATE_MAX];
} usage_job;

/* The version's objects (private or secret, and public): the token objects with its CKA_ID and CKA_LABEL. */
static CK_RV find_objects(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, const p11_ref *r, CK_OBJECT_HANDLE *found,
                          CK_ULONG *n)
{
    p11_template tmpl;
    CK_RV rv;

    p11_tmpl_init(&tmpl);
    p11_tmpl_add_bool(&tmpl, CKA_TOKEN, 1);
    p11_tmpl_add_ref(&tmpl, r->id, r->idlen, r->label[0] ? r->label : NULL);
    if (tmpl.overflow)
        return CKR_TEMPLATE_INCOMPLETE;
    rv = fn->C_FindObjectsInit(s, tmpl.attr, tmpl.n);
    if (rv == CKR_OK) {
        rv = fn->C_FindObjects(s, found, MAX_OBJECTS, n);
        fn->C_FindObjectsFinal(s);
    }
    return rv;
}

/* Reads the object's class and its current usage flags, and builds what the new key_ops want. */
static CK_RV prepare(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, unsigned key_ops, usage_job *j)
{
    CK_ATTRIBUTE cls = {CKA_CLASS, &j->cls, sizeof(j->cls)};
    CK_RV rv = fn->C_GetAttributeValue(s, j->h, &cls, 1);

    if (rv != CKR_OK)
        return rv;
    p11_tmpl_init(&j->want);
    p11_tmpl_add_usage(&j->want, j->cls, key_ops);
    for (CK_ULONG i = 0; i < j->want.n; i++)
        j->had[i] = (CK_ATTRIBUTE){j->want.attr[i].type, &j->had_val[i], sizeof(CK_BBOOL)};
    return fn->C_GetAttributeValue(s, j->h, j->had, j->want.n);
}

/* An adopted object stays as its owner made it: the change is possible only if it already allows what the new
 * key_ops need (a flag it has beyond them stays; azkm's key_ops check still refuses those operations). */
static azkm_rc check_adopted(const azkm_tier_ref *ref, const usage_job *j)
{
    if (j->cls == CKO_PUBLIC_KEY)
        return AZKM_OK; /* public operations run in software */
    for (CK_ULONG i = 0; i < j->want.n; i++) {
        if (*(const CK_BBOOL *)j->want.attr[i].pValue && !j->had_val[i]) {
            size_t k = usage_name(j->want.attr[i].type);

            return azkm_fail(AZKM_E_UNSUPPORTED,
                             "key %s/%s: version %s is an adopted token object, which azkm does not change, and it "
                             "does not allow %s (%s is false)",
                             ref->vault, ref->name, ref->version, usage_names[k].serves, usage_names[k].name);
        }
    }
    return AZKM_OK;
}

/* Sets every object's flags; on a refusal puts back those already changed. */
static azkm_rc apply(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, const azkm_tier_ref *ref, const char *token,
                     usage_job *jobs, CK_ULONG n)
{
    CK_RV rv = CKR_OK;
    CK_ULONG done;

    for (done = 0; done < n && rv == CKR_OK; done++)
        if ((rv = fn->C_SetAttributeValue(s, jobs[done].h, jobs[done].want.attr, jobs[done].want.n)) != CKR_OK)
            break;
    if (rv == CKR_OK)
        return AZKM_OK;
    for (CK_ULONG i = 0; i < done; i++)
        fn->C_SetAttributeValue(s, jobs[i].h, jobs[i].had, jobs[i].want.n);
    return azkm_fail(AZKM_E_UNSUPPORTED,
                     "key %s/%s: token %s does not let azkm change the usage flags of version %s's objects (%s): "
                     "the token would allow other operations than the key_ops, so they stay as they were",
                     ref->vault, ref->name, token, ref->version, azkm_p11_rv_name(rv));
}

/* One run of the change on a borrowed session (azkm_p11_run): it may run again after a token failure, and setting
 * the same flags again changes nothing. */
typedef struct {
    const azkm_tier_ref *ref;
    p11_ref r;
    usage_job jobs[MAX_OBJECTS];
} usage_run;

static azkm_rc usage_op(azkm_p11_token *t, CK_SESSION_HANDLE s, void *arg, azkm_p11_result *res)
{
    usage_run *u = arg;
    CK_FUNCTION_LIST *fn = azkm_p11_functions(t);
    CK_OBJECT_HANDLE found[MAX_OBJECTS];
    CK_ULONG n = 0;
    CK_RV rv = find_objects(fn, s, &u->r, found, &n);
    azkm_rc rc = AZKM_OK;

    for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) {
        u->jobs[i].h = found[i];
        rv = prepare(fn, s, u->ref->key_ops, &u->jobs[i]);
    }
    if (rv != CKR_OK) {
        res->rv = rv;
        return azkm_p11_fail(t, rv, "reading the usage flags of the key objects");
    }
    if (n == 0) {
        res->stale = 1; /* SoftHSM does not look at its store again until it is re-initialised */
        return azkm_fail(AZKM_E_NOT_FOUND, "key %s/%s: version %s has no object on token %s", u->ref->vault,
                         u->ref->name, u->ref->version, azkm_p11_token_label(t));
    }
    for (CK_ULONG i = 0; rc == AZKM_OK && u->r.adopted && i < n; i++)
        rc = check_adopted(u->ref, &u->jobs[i]);
    if (rc == AZKM_OK && !u->r.adopted)
        rc = apply(fn, s, u->ref, azkm_p11_token_label(t), u->jobs, n);
    return rc;
}

azkm_rc p11_set_usage(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len)
{
    p11_tier *pt = t->impl;
    usage_run *u = OPENSSL_zalloc(sizeof(*u));
    azkm_rc rc;

    if (u == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    u->ref = ref;
    rc = p11_parse_material(material, len, &u->r);
    if (rc == AZKM_OK)
        rc = azkm_p11_run(pt->tok, usage_op, u);
    OPENSSL_free(u);
    return rc;
}
