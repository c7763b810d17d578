/* BYOK on the HSM tier: the target key of an Azure transfer blob is unwrapped inside the token with two
 * C_UnwrapKey calls (RSA-OAEP of the transfer key with the KEK, then AES key wrap with padding of the target), so
 * that its material is never in the clear outside the token. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "tiers/pkcs11/p11_tier.h"

/* Return values that mean "these bytes do not decrypt with this key": a blob for another KEK, or damaged. */
static int unwrap_rejected(CK_RV rv)
{
    return rv == CKR_WRAPPED_KEY_INVALID || rv == CKR_WRAPPED_KEY_LEN_RANGE || rv == CKR_ENCRYPTED_DATA_INVALID ||
           rv == CKR_ENCRYPTED_DATA_LEN_RANGE || rv == CKR_DATA_INVALID || rv == CKR_DATA_LEN_RANGE ||
           rv == CKR_FUNCTION_FAILED || rv == CKR_GENERAL_ERROR;
}

/* ECDSA public key recovery (SEC 1 section 4.1.6): the candidates Q = r^-1 (s R - e G) for both points R with
 * x = r. A token keeps no public point on an unwrapped EC private key, and has no call that derives it. */
static int ecdsa_candidates(const EC_GROUP *g, const unsigned char *digest, size_t dlen, const unsigned char *rs,
                            size_t flen, EC_POINT *cand[2], BN_CTX *bn)
{
    const BIGNUM *order = EC_GROUP_get0_order(g);
    BIGNUM *r = BN_bin2bn(rs, (int)flen, NULL), *s = BN_bin2bn(rs + flen, (int)flen, NULL);
    BIGNUM *e = BN_bin2bn(digest, (int)dlen, NULL), *rinv = BN_new(), *u1 = BN_new(), *u2 = BN_new();
    EC_POINT *R = EC_POINT_new(g);
    int n = 0;

    if (r == NULL || s == NULL || e == NULL || rinv == NULL || u1 == NULL || u2 == NULL || R == NULL ||
        BN_mod_inverse(rinv, r, order, bn) == NULL || !BN_mod_mul(u2, s, rinv, order, bn) ||
        !BN_mod_mul(u1, e, rinv, order, bn) || !BN_mod_sub(u1, order, u1, order, bn))
        goto end;
    for (int ybit = 0; ybit < 2; ybit++) {
        cand[n] = EC_POINT_new(g);
        if (cand[n] == NULL)
            break;
        if (EC_POINT_set_compressed_coordinates(g, R, r, ybit, bn) &&
            EC_POINT_mul(g, cand[n], u1, R, u2, bn)) /* u1 G + u2 R */
            n++;
        else {
            EC_POINT_free(cand[n]);
            cand[n] = NULL;
        }
    }
end:
    EC_POINT_free(R);
    BN_free(r);
    BN_free(s);
    BN_free(e);
    BN_free(rinv);
    BN_free(u1);
    BN_free(u2);
    return n;
}

static CK_RV ecdsa_sign(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, const unsigned char *d,
                        unsigned char *sig, CK_ULONG *siglen)
{
    CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
    CK_RV rv = fn->C_SignInit(s, &mech, h);

    return rv == CKR_OK ? fn->C_Sign(s, (CK_BYTE *)d, 32, sig, siglen) : rv;
}

/* The public key of an EC private key object: the one point that two signatures on random digests agree on. */
static azkm_rc ec_public_key(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, azkm_tier_output *out)
{
    CK_FUNCTION_LIST *fn = azkm_p11_functions(pt->tok);
    unsigned char params[64], d1[32], d2[32], sig1[160], sig2[160], point[160];
    CK_ATTRIBUTE a = {CKA_EC_PARAMS, params, sizeof(params)};
    CK_ULONG l1 = sizeof(sig1), l2 = sizeof(sig2);
    const unsigned char *p = params;
    ASN1_OBJECT *oid = NULL;
    EC_GROUP *g = NULL;
    EC_POINT *c1[2] = {NULL, NULL}, *c2[2] = {NULL, NULL};
    BN_CTX *bn = BN_CTX_new();
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *op = NULL;
    size_t plen = 0;
    int n1, n2, nid;
    azkm_rc rc = azkm_fail(AZKM_E_CRYPTO, "token %s: cannot determine the public key of the imported EC key",
                           azkm_p11_token_label(pt->tok));

    if (bn == NULL || fn->C_GetAttributeValue(s, h, &a, 1) != CKR_OK ||
        (oid = d2i_ASN1_OBJECT(NULL, &p, (long)a.ulValueLen)) == NULL || (nid = OBJ_obj2nid(oid)) == NID_undef ||
        (g = EC_GROUP_new_by_curve_name(nid)) == NULL)
        goto end;
    if (RAND_bytes(d1, 32) != 1 || RAND_bytes(d2, 32) != 1 || ecdsa_sign(fn, s, h, d1, sig1, &l1) != CKR_OK ||
        ecdsa_sign(fn, s, h, d2, sig2, &l2) != CKR_OK || l1 != l2 || l1 % 2 != 0)
        goto end;
    n1 = ecdsa_candidates(g, d1, 32, sig1, l1 / 2, c1, bn);
    n2 = ecdsa_candidates(g, d2, 32, sig2, l2 / 2, c2, bn);
    for (int i = 0; i < n1 && plen == 0; i++)
        for (int j = 0; j < n2 && plen == 0; j++)
            if (EC_POINT_cmp(g, c1[i], c2[j], bn) == 0)
                plen = EC_POINT_point2oct(g, c1[i], POINT_CONVERSION_UNCOMPRESSED, point, sizeof(point), bn);
    if (plen == 0 || (bld = OSSL_PARAM_BLD_new()) == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(nid), 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, plen) ||
        (op = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
        (ctx = EVP_PKEY_CTX_new_from_name(pt->libctx, "EC", pt->propq)) == NULL ||
        EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, op) <= 0)
        goto end;
    rc = azkm_pkey_public_der(pkey, &out->public_der, &out->public_der_len);
    if (rc == AZKM_OK) {
        azkm_kty k;

        rc = azkm_pkey_describe(pkey, &k, &out->size, &out->curve);
    }
    if (rc == AZKM_OK)
        azkm_clear_error();
end:
    for (int i = 0; i < 2; i++) {
        EC_POINT_free(c1[i]);
        EC_POINT_free(c2[i]);
    }
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(op);
    OSSL_PARAM_BLD_free(bld);
    EC_GROUP_free(g);
    ASN1_OBJECT_free(oid);
    BN_CTX_free(bn);
    return rc;
}

/* The KEK's token object. Not azkm_p11_find: loading the KEK may have made a session copy with the same id and
 * label in this process, and that copy is not wanted here. */
static azkm_rc find_token_key(p11_tier *pt, CK_SESSION_HANDLE s, const p11_ref *r, CK_OBJECT_HANDLE *out,
                              azkm_p11_result *res)
{
    CK_FUNCTION_LIST *fn = azkm_p11_functions(pt->tok);
    p11_template tmpl;
    CK_OBJECT_HANDLE found[2];
    CK_ULONG n = 0;
    CK_RV rv;
    azkm_rc rc;

    p11_tmpl_init(&tmpl);
    p11_tmpl_token_search(&tmpl, CKO_PRIVATE_KEY, r->id, r->idlen, r->label[0] ? r->label : NULL);
    if ((rc = p11_tmpl_check(&tmpl)) != AZKM_OK)
        return rc;
    rv = fn->C_FindObjectsInit(s, tmpl.attr, tmpl.n);
    if (rv == CKR_OK) {
        rv = fn->C_FindObjects(s, found, 2, &n);
        fn->C_FindObjectsFinal(s);
    }
    if (rv != CKR_OK) {
        res->rv = rv;
        return azkm_p11_fail(pt->tok, rv, "finding the key exchange key");
    }
    if (n != 1)
        return azkm_fail(n == 0 ? AZKM_E_NOT_FOUND : AZKM_E_CONFLICT,
                         "token %s: %s object has the key exchange key's id", azkm_p11_token_label(pt->tok),
                         n == 0 ? "no" : "more than one");
    *out = found[0];
    return AZKM_OK;
}

/* The blob's two parts: the RSA-OAEP ciphertext of the transfer key is as long as the KEK's modulus (*oaep_len),
 * the rest is the target wrapped with the transfer key. For an AES target, *aes_len is the target's length. */
static azkm_rc split_ciphertext(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE kek, azkm_kty kty,
                                size_t wrapped_len, CK_ULONG *oaep_len, CK_ULONG *aes_len)
{
    CK_FUNCTION_LIST *fn = azkm_p11_functions(pt->tok);
    CK_ATTRIBUTE mod = {CKA_MODULUS, NULL, 0};

    if (fn->C_GetAttributeValue(s, kek, &mod, 1) != CKR_OK || mod.ulValueLen == 0 ||
        mod.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return azkm_fail(AZKM_E_INVALID, "token %s: the key exchange key is not an RSA key",
                         azkm_p11_token_label(pt->tok));
    if (wrapped_len < mod.ulValueLen + 16)
        return azkm_fail(AZKM_E_INVALID,
                         "the ciphertext is %zu bytes: too short for a %lu-bit key exchange key (the RSA-OAEP "
                         "part alone is %lu bytes)",
                         wrapped_len, mod.ulValueLen * 8, mod.ulValueLen);
    *oaep_len = mod.ulValueLen;
    *aes_len = 0;
    if (kty == AZKM_KTY_OCT) {
        /* RFC 5649 adds exactly 8 bytes to a key whose length is a multiple of 8, as every AES key length is */
        *aes_len = (CK_ULONG)(wrapped_len - mod.ulValueLen - 8);
        if (*aes_len != 16 && *aes_len != 24 && *aes_len != 32)
            return azkm_fail(AZKM_E_INVALID, "the wrapped target is %lu bytes: not an AES-128, -192 or -256 key",
                             wrapped_len - mod.ulValueLen);
    }
    return AZKM_OK;
}

/* The transfer key, unwrapped with the KEK (RSA-OAEP with SHA-1) into a session object that can only unwrap. */
static azkm_rc unwrap_transfer_key(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE kek, const unsigned char *ct,
                                   CK_ULONG len, CK_OBJECT_HANDLE *aes, CK_RV *rv)
{
    CK_FUNCTION_LIST *fn = azkm_p11_functions(pt->tok);
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM rsa_oaep = {CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
    p11_template tmpl;
    azkm_rc rc;

    p11_tmpl_init(&tmpl);
    p11_tmpl_add_class(&tmpl, CKO_SECRET_KEY, CKK_AES);
    p11_tmpl_key_policy(&tmpl, P11_SESSION_OBJECT, CKO_SECRET_KEY, AZKM_OP_UNWRAP);
    if ((rc = p11_tmpl_check(&tmpl)) != AZKM_OK)
        return rc;
    *rv = fn->C_UnwrapKey(s, &rsa_oaep, kek, (CK_BYTE *)ct, len, tmpl.attr, tmpl.n, aes);
    if (*rv == CKR_OK)
        return AZKM_OK;
    return unwrap_rejected(*rv) ? azkm_fail(AZKM_E_INTEGRITY,
                                            "the transfer key does not decrypt with the key exchange key (%s): the "
                                            "blob was made for another KEK, or it is damaged",
                                            azkm_p11_rv_name(*rv))
                                : azkm_p11_fail(pt->tok, *rv, "unwrapping the transfer key (RSA-OAEP)");
}

/* The target key's token object: azkm's key policy, the usage its key_ops need, and the version's id and label. */
static azkm_rc target_template(p11_template *t, azkm_kty kty, unsigned key_ops, const unsigned char id[16],
                               const char *label)
{
    CK_KEY_TYPE kt = kty == AZKM_KTY_OCT ? CKK_AES : kty == AZKM_KTY_RSA ? CKK_RSA : CKK_EC;
    CK_OBJECT_CLASS cls = kt == CKK_AES ? CKO_SECRET_KEY : CKO_PRIVATE_KEY;

    p11_tmpl_init(t);
    p11_tmpl_add_class(t, cls, kt);
    p11_tmpl_key_policy(t, P11_TOKEN_OBJECT, cls, key_ops);
    p11_tmpl_add_ref(t, id, 16, label);
    return p11_tmpl_check(t);
}

/* The target key, unwrapped with the transfer key (AES key wrap with padding) into an object made by tmpl. The
 * transfer key is destroyed, whatever the outcome. */
static azkm_rc unwrap_target(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE aes, azkm_kty kty,
                             p11_template *tmpl, const unsigned char *ct, CK_ULONG len, CK_OBJECT_HANDLE *target,
                             CK_RV *rv)
{
    CK_FUNCTION_LIST *fn = azkm_p11_functions(pt->tok);
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_PAD, NULL, 0};

    *rv = fn->C_UnwrapKey(s, &kwp, aes, (CK_BYTE *)ct, len, tmpl->attr, tmpl->n, target);
    fn->C_DestroyObject(s, aes);
    if (*rv == CKR_OK)
        return AZKM_OK;
    return unwrap_rejected(*rv) || *rv == CKR_TEMPLATE_INCONSISTENT || *rv == CKR_ATTRIBUTE_VALUE_INVALID
               ? azkm_fail(AZKM_E_INTEGRITY,
                           "the target key does not unwrap as an %s key (%s): the ciphertext is damaged, or the "
                           "key is of another type",
                           azkm_kty_name(kty, AZKM_PROTECTION_HSM), azkm_p11_rv_name(*rv))
               : azkm_p11_fail(pt->tok, *rv, "unwrapping the target key (AES key wrap with padding)");
}

/* What the catalog keeps of the unwrapped target besides its reference: an AES key's size, or the public key. */
static azkm_rc target_public(p11_tier *pt, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE target, azkm_kty kty,
                             CK_ULONG aes_len, azkm_tier_output *out)
{
    CK_FUNCTION_LIST *fn = azkm_p11_functions(pt->tok);
    CK_ULONG vlen = 0;
    CK_ATTRIBUTE a = {CKA_VALUE_LEN, &vlen, sizeof(vlen)};

    if (kty == AZKM_KTY_RSA)
        return p11_public_from_token(pt, s, target, AZKM_KTY_RSA, out);
    if (kty != AZKM_KTY_OCT)
        return ec_public_key(pt, s, target, out);
    out->size = (unsigned)aes_len * 8;
    /* a token that sets CKA_VALUE_LEN must agree; SoftHSM 2.6 leaves it 0 on unwrapped keys (and read-only) */
    if (fn->C_GetAttributeValue(s, target, &a, 1) == CKR_OK && vlen != 0 && vlen != aes_len)
        return azkm_fail(AZKM_E_INTEGRITY, "the target key is not an AES-%lu key", aes_len * 8);
    return AZKM_OK;
}

/* The whole unwrap, as one piece of work for azkm_p11_run. */
typedef struct {
    p11_tier *pt;
    const azkm_tier_ref *ref;
    p11_ref kr;
    const unsigned char *wrapped;
    size_t wrapped_len;
    unsigned char id[16];
    char label[256];
    p11_template tmpl;
    azkm_tier_output *out;
} unwrap_job;

/* What the token said in a failed step: a rejection of the blob's bytes is final (it depends on the data). */
static azkm_rc token_step(azkm_rc rc, CK_RV rv, azkm_p11_result *res)
{
    if (rc != AZKM_OK && rv != CKR_OK) {
        res->rv = rv;
        res->final = unwrap_rejected(rv);
    }
    return rc;
}

static azkm_rc unwrap_op(azkm_p11_token *t, CK_SESSION_HANDLE s, void *arg, azkm_p11_result *res)
{
    unwrap_job *j = arg;
    CK_FUNCTION_LIST *fn = azkm_p11_functions(t);
    CK_OBJECT_HANDLE kek = CK_INVALID_HANDLE, aes = CK_INVALID_HANDLE, target = CK_INVALID_HANDLE;
    CK_ULONG oaep_len = 0, aes_len = 0;
    CK_RV rv = p11_destroy_by_ref(fn, s, j->id, sizeof(j->id), j->label); /* what a failed try left */
    azkm_rc rc = rv == CKR_OK ? AZKM_OK : azkm_p11_fail(t, rv, "removing what an earlier try left");

    rc = token_step(rc, rv, res);
    if (rc == AZKM_OK)
        rc = find_token_key(j->pt, s, &j->kr, &kek, res);
    if (rc == AZKM_OK)
        rc = split_ciphertext(j->pt, s, kek, j->ref->kty, j->wrapped_len, &oaep_len, &aes_len);
    if (rc == AZKM_OK)
        rc = token_step(unwrap_transfer_key(j->pt, s, kek, j->wrapped, oaep_len, &aes, &rv), rv, res);
    if (rc == AZKM_OK)
        rc = token_step(unwrap_target(j->pt, s, aes, j->ref->kty, &j->tmpl, j->wrapped + oaep_len,
                                      j->wrapped_len - oaep_len, &target, &rv),
                        rv, res);
    if (rc == AZKM_OK)
        rc = target_public(j->pt, s, target, j->ref->kty, aes_len, j->out);
    if (rc != AZKM_OK) {
        if (target != CK_INVALID_HANDLE)
            fn->C_DestroyObject(s, target);
        azkm_tier_output_clear(j->out);
    }
    return rc;
}

azkm_rc azkm_tier_pkcs11_unwrap_import(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *kek_material,
                                       size_t kek_material_len, const unsigned char *wrapped, size_t wrapped_len,
                                       azkm_tier_output *out)
{
    unwrap_job j;
    azkm_rc rc;

    memset(out, 0, sizeof(*out));
    memset(&j, 0, sizeof(j));
    j.pt = t->impl;
    j.ref = ref;
    j.wrapped = wrapped;
    j.wrapped_len = wrapped_len;
    j.out = out;
    p11_version_id(ref->version, j.id);
    p11_object_label(ref, j.label, sizeof(j.label));
    if ((rc = target_template(&j.tmpl, ref->kty, ref->key_ops, j.id, j.label)) != AZKM_OK)
        return rc;
    if ((rc = p11_parse_material(kek_material, kek_material_len, &j.kr)) != AZKM_OK)
        return rc;
    rc = azkm_p11_run(j.pt->tok, unwrap_op, &j);
    if (rc == AZKM_OK)
        rc = p11_make_material(j.id, sizeof(j.id), j.label, 0, out);
    if (rc != AZKM_OK)
        azkm_tier_output_clear(out);
    return rc;
}
