/* ECDH on the HSM tier: CKM_ECDH1_DERIVE (no KDF) with the EC private key into a session secret whose value is read
 * back and the object destroyed at once; the private key itself stays sensitive and not extractable. */
#include <string.h>

#include <openssl/crypto.h>

#include "tiers/pkcs11/p11_tier.h"

typedef struct {
    CK_ECDH1_DERIVE_PARAMS params;
    CK_MECHANISM mech;
    unsigned char *out;
    CK_ULONG outcap, outlen;
    CK_RV rv;
} derive_job;

static azkm_rc derive_op(azkm_p11_token *t, CK_SESSION_HANDLE s, void *arg, azkm_p11_result *res)
{
    p11_key_call *call = arg;
    derive_job *j = call->arg;
    CK_FUNCTION_LIST *fn = azkm_p11_functions(t);
    p11_template tmpl;
    CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
    CK_ATTRIBUTE val = {CKA_VALUE, j->out, j->outcap};

    p11_tmpl_init(&tmpl);
    p11_tmpl_session_secret(&tmpl, j->outcap);
    if (tmpl.overflow) /* five attributes always fit */
        return azkm_fail(AZKM_E_UNSUPPORTED, "a PKCS#11 template needs more than %d attributes", P11_TEMPLATE_MAX);
    j->rv = fn->C_DeriveKey(s, &j->mech, call->h, tmpl.attr, tmpl.n, &obj);
    if (j->rv == CKR_OK)
        j->rv = fn->C_GetAttributeValue(s, obj, &val, 1);
    if (j->rv == CKR_OK)
        j->outlen = val.ulValueLen;
    if (obj != CK_INVALID_HANDLE)
        fn->C_DestroyObject(s, obj);
    if (j->rv == CKR_OK)
        return AZKM_OK;
    OPENSSL_cleanse(j->out, j->outcap);
    res->rv = j->rv;
    return azkm_p11_fail(t, j->rv, "ECDH (C_DeriveKey)");
}

/* The peer's point goes to the token as it is: uncompressed, the form PKCS#11 asks tokens to take. */
azkm_rc p11_derive(azkm_tier_key *k, const unsigned char *point, size_t point_len, unsigned char *out,
                   size_t *outlen)
{
    derive_job j;
    azkm_rc rc;

    if (k->kty != AZKM_KTY_EC)
        return azkm_fail(AZKM_E_UNSUPPORTED, "key %s: only EC keys derive a shared secret", k->name);
    if (point_len < 3 || point_len % 2 != 1 || point[0] != 0x04)
        return azkm_fail(AZKM_E_INVALID, "key %s: the peer's point is not uncompressed", k->name);
    memset(&j, 0, sizeof(j));
    j.params = (CK_ECDH1_DERIVE_PARAMS){CKD_NULL, 0, NULL, (CK_ULONG)point_len, (CK_BYTE *)point};
    j.mech = (CK_MECHANISM){CKM_ECDH1_DERIVE, &j.params, sizeof(j.params)};
    j.out = out;
    j.outcap = (CK_ULONG)(point_len - 1) / 2; /* Z is the x-coordinate: as long as the field */
    rc = p11_key_run_op(k, derive_op, &j);
    if (rc != AZKM_OK && j.rv == CKR_KEY_FUNCTION_NOT_PERMITTED)
        return azkm_fail(AZKM_E_FORBIDDEN,
                         "token %s: the key's token object does not allow derivation (CKA_DERIVE is false: an "
                         "object azkm adopted, or one whose flags were changed outside azkm)",
                         azkm_p11_token_label(k->pt->tok));
    if (rc == AZKM_OK)
        *outlen = j.outlen;
    return rc;
}
