/* Signatures with azkm keys: RSA PKCS#1 v1.5, RSA-PSS and ECDSA. Digest-sign contexts hash locally and hold no
 * keystore state until the final call (OpenSSL 3.0 duplicates the context in EVP_DigestSignFinal), which makes
 * exactly one keystore call per signature. Verification uses the public key with the default provider. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "digest.h"
#include "errors.h"
#include "key_object.h"
#include "params.h"

static OSSL_FUNC_signature_newctx_fn rsa_newctx, ecdsa_newctx;
static OSSL_FUNC_signature_freectx_fn sig_freectx;
static OSSL_FUNC_signature_dupctx_fn sig_dupctx;
static OSSL_FUNC_signature_sign_init_fn sig_sign_init;
static OSSL_FUNC_signature_sign_fn sig_sign;
static OSSL_FUNC_signature_verify_init_fn sig_verify_init;
static OSSL_FUNC_signature_verify_fn sig_verify;
static OSSL_FUNC_signature_digest_sign_init_fn sig_digest_sign_init;
static OSSL_FUNC_signature_digest_sign_update_fn sig_digest_update;
static OSSL_FUNC_signature_digest_sign_final_fn sig_digest_sign_final;
static OSSL_FUNC_signature_digest_sign_fn sig_digest_sign;
static OSSL_FUNC_signature_digest_verify_init_fn sig_digest_verify_init;
static OSSL_FUNC_signature_digest_verify_final_fn sig_digest_verify_final;
static OSSL_FUNC_signature_get_ctx_params_fn sig_get_ctx_params;
static OSSL_FUNC_signature_gettable_ctx_params_fn rsa_gettable_ctx_params, ecdsa_gettable_ctx_params;
static OSSL_FUNC_signature_set_ctx_params_fn sig_set_ctx_params;
static OSSL_FUNC_signature_settable_ctx_params_fn rsa_settable_ctx_params, ecdsa_settable_ctx_params;

typedef struct {
    AZKM_PROVCTX *provctx;
    int is_rsa;
    int operation; /* EVP_PKEY_OP_SIGN or EVP_PKEY_OP_VERIFY */
    AZKM_PKEY *key;
    int pad_mode;
    EVP_MD *md;
    EVP_MD *mgf1_md;
    int saltlen;
    EVP_MD_CTX *mdctx; /* digest-sign: local hashing only */
} SIG_CTX;

/* The property query the application fetched this implementation with (often "provider=azkm") is not used for
 * digests: they come from our own library context, which holds only the default provider. A digest's own
 * property query (OSSL_SIGNATURE_PARAM_PROPERTIES, MGF1_PROPERTIES) is used there. */
static void *newctx(void *provctx, int is_rsa)
{
    SIG_CTX *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx == NULL)
        return NULL;
    ctx->provctx = provctx;
    ctx->is_rsa = is_rsa;
    ctx->pad_mode = RSA_PKCS1_PADDING;
    ctx->saltlen = RSA_PSS_SALTLEN_AUTO;
    return ctx;
}

static void *rsa_newctx(void *provctx, const char *propq)
{
    return newctx(provctx, 1);
}

static void *ecdsa_newctx(void *provctx, const char *propq)
{
    return newctx(provctx, 0);
}

static void sig_freectx(void *vctx)
{
    SIG_CTX *ctx = vctx;

    if (ctx == NULL)
        return;
    azkm_pkey_free(ctx->key);
    EVP_MD_free(ctx->md);
    EVP_MD_free(ctx->mgf1_md);
    EVP_MD_CTX_free(ctx->mdctx);
    OPENSSL_free(ctx);
}

static void *sig_dupctx(void *vctx)
{
    SIG_CTX *src = vctx, *dst;

    dst = OPENSSL_memdup(src, sizeof(*src));
    if (dst == NULL)
        return NULL;
    dst->mdctx = NULL;
    if (dst->key != NULL)
        azkm_pkey_up_ref(dst->key);
    if (dst->md != NULL)
        EVP_MD_up_ref(dst->md);
    if (dst->mgf1_md != NULL)
        EVP_MD_up_ref(dst->mgf1_md);
    if (src->mdctx != NULL) {
        dst->mdctx = EVP_MD_CTX_new();
        if (dst->mdctx == NULL || !EVP_MD_CTX_copy_ex(dst->mdctx, src->mdctx)) {
            sig_freectx(dst);
            return NULL;
        }
    }
    return dst;
}

/* ---- parameters ---------------------------------------------------------------------------------------- */

/* The digest of a running digest-sign cannot change: it may only be named again. */
static int keep_running_md(SIG_CTX *ctx, const OSSL_PARAM *p)
{
    const char *name = NULL;

    if (!azkm_param_get_utf8(ctx->provctx, p, &name))
        return 0;
    if (ctx->md == NULL || !EVP_MD_is_a(ctx->md, name))
        return AZKM_PARAM_BAD(ctx->provctx, p->key, "the digest of a running digest-sign cannot change");
    return 1;
}

static int is_pss_key(const SIG_CTX *ctx)
{
    return ctx->key != NULL && ctx->key->type == AZKM_TYPE_RSA_PSS;
}

static const char *key_name(const SIG_CTX *ctx)
{
    return ctx->key->uri != NULL ? ctx->key->uri : "(public)";
}

static int set_pad_mode(SIG_CTX *ctx, const OSSL_PARAM *p)
{
    int mode;

    if (!azkm_param_get_pad_mode(ctx->provctx, p, &mode))
        return 0;
    if (mode != RSA_PKCS1_PADDING && mode != RSA_PKCS1_PSS_PADDING) {
        AZKM_RAISE(ctx->provctx, AZKM_R_UNSUPPORTED, "azkm RSA signatures use PKCS#1 v1.5 or PSS padding");
        return 0;
    }
    if (is_pss_key(ctx) && mode != RSA_PKCS1_PSS_PADDING) {
        AZKM_RAISE(ctx->provctx, AZKM_R_FORBIDDEN,
                   "key %s is an RSA-PSS key: it signs with PSS padding only, never PKCS#1 v1.5", key_name(ctx));
        return 0;
    }
    ctx->pad_mode = mode;
    return 1;
}

/* ---- RSA-PSS keys: PSS only, within the key's restrictions (the keystore checks them again when it signs) --- */

/* A restricted key's digest, MGF1 digest and minimum salt are the defaults, as in the default provider. */
static int pss_defaults(SIG_CTX *ctx)
{
    const azkm_rsa_pss *r = &ctx->key->pss;

    ctx->pad_mode = RSA_PKCS1_PSS_PADDING;
    if (!r->restricted)
        return 1;
    ctx->saltlen = r->min_salt_len;
    return azkm_md_choose(ctx->provctx, &ctx->md, r->digest, NULL) &&
           azkm_md_choose(ctx->provctx, &ctx->mgf1_md, r->mgf1_digest, NULL);
}

static const char *md_sn(const EVP_MD *md)
{
    return OBJ_nid2sn(EVP_MD_get_type(md));
}

/* Checked where the default provider checks them (when parameters are set), with the key named. */
static int pss_check(SIG_CTX *ctx)
{
    const azkm_rsa_pss *r = is_pss_key(ctx) ? &ctx->key->pss : NULL;
    const EVP_MD *mgf1 = ctx->mgf1_md != NULL ? ctx->mgf1_md : ctx->md;
    int salt = ctx->saltlen >= 0                                           ? ctx->saltlen
               : ctx->saltlen == RSA_PSS_SALTLEN_DIGEST && ctx->md != NULL ? EVP_MD_get_size(ctx->md)
                                                                           : INT_MAX;

    if (r == NULL || !r->restricted)
        return 1;
    if (ctx->md != NULL && EVP_MD_get_type(ctx->md) != OBJ_sn2nid(r->digest))
        AZKM_RAISE(ctx->provctx, AZKM_R_FORBIDDEN, "key %s is restricted to RSA-PSS with %s, not %s", key_name(ctx),
                   r->digest, md_sn(ctx->md));
    else if (mgf1 != NULL && EVP_MD_get_type(mgf1) != OBJ_sn2nid(r->mgf1_digest))
        AZKM_RAISE(ctx->provctx, AZKM_R_FORBIDDEN, "key %s is restricted to RSA-PSS with MGF1 %s, not MGF1 %s",
                   key_name(ctx), r->mgf1_digest, md_sn(mgf1));
    else if (salt < r->min_salt_len)
        AZKM_RAISE(ctx->provctx, AZKM_R_FORBIDDEN,
                   "key %s is restricted to RSA-PSS salts of %d bytes or more, not %d", key_name(ctx),
                   r->min_salt_len, salt);
    else
        return 1;
    return 0;
}

/* The PSS salt length: a number of bytes, or by name one of OpenSSL's special lengths. */
static const struct {
    int len;
    const char *name;
} saltlen_names[] = {
    {RSA_PSS_SALTLEN_DIGEST, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST},
    {RSA_PSS_SALTLEN_MAX, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX},
    {RSA_PSS_SALTLEN_AUTO, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO},
};

static int saltlen_from_name(SIG_CTX *ctx, const OSSL_PARAM *p, int *saltlen)
{
    const char *s = NULL;
    char *end;
    long v;

    if (!azkm_param_get_utf8(ctx->provctx, p, &s))
        return 0;
    for (size_t i = 0; i < sizeof(saltlen_names) / sizeof(saltlen_names[0]); i++) {
        if (strcmp(s, saltlen_names[i].name) == 0) {
            *saltlen = saltlen_names[i].len;
            return 1;
        }
    }
    v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0 || v > 1024)
        return AZKM_PARAM_BAD(ctx->provctx, p->key, "\"digest\", \"max\", \"auto\" or a length from 0 to 1024");
    *saltlen = (int)v;
    return 1;
}

static int set_saltlen(SIG_CTX *ctx, const OSSL_PARAM *p)
{
    int saltlen;

    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
        if (!saltlen_from_name(ctx, p, &saltlen))
            return 0;
    } else if (!azkm_param_get_int(ctx->provctx, p, &saltlen)) {
        return 0;
    } else if (saltlen < RSA_PSS_SALTLEN_MAX) {
        return AZKM_PARAM_BAD(ctx->provctx, p->key, "a length in bytes, or -1 (digest), -2 (auto) or -3 (max)");
    }
    ctx->saltlen = saltlen;
    return 1;
}

static int sig_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    SIG_CTX *ctx = vctx;
    const OSSL_PARAM *p;

    if (params == NULL)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST)) != NULL && ctx->mdctx != NULL) {
        if (!keep_running_md(ctx, p))
            return 0;
    } else if (!azkm_param_md(ctx->provctx, params, OSSL_SIGNATURE_PARAM_DIGEST, OSSL_SIGNATURE_PARAM_PROPERTIES,
                              &ctx->md)) {
        return 0;
    }
    if (!ctx->is_rsa)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL && !set_pad_mode(ctx, p))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != NULL && !set_saltlen(ctx, p))
        return 0;
    return azkm_param_md(ctx->provctx, params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST,
                         OSSL_SIGNATURE_PARAM_MGF1_PROPERTIES, &ctx->mgf1_md) &&
           pss_check(ctx);
}

static const OSSL_PARAM *rsa_settable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_PROPERTIES, NULL, 0),
        OSSL_PARAM_END,
    };
    return params;
}

static const OSSL_PARAM *ecdsa_settable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
        OSSL_PARAM_END,
    };
    return params;
}

static const EVP_MD *mgf1_of(const SIG_CTX *ctx)
{
    return ctx->mgf1_md != NULL ? ctx->mgf1_md : ctx->md;
}

/* The salt length a PSS signature actually uses, for the AlgorithmIdentifier. */
static int pss_effective_saltlen(const SIG_CTX *ctx)
{
    int mdsize = EVP_MD_get_size(ctx->md);
    int embits = ctx->key->bits - 1;
    int emlen = (embits + 7) / 8;

    switch (ctx->saltlen) {
    case RSA_PSS_SALTLEN_DIGEST:
        return mdsize;
    case RSA_PSS_SALTLEN_MAX:
    case RSA_PSS_SALTLEN_AUTO:
        return emlen - mdsize - 2;
    default:
        return ctx->saltlen;
    }
}

static ASN1_STRING *pack_algor_md(const EVP_MD *md)
{
    X509_ALGOR *alg = X509_ALGOR_new();
    ASN1_STRING *s = NULL;

    if (alg == NULL)
        return NULL;
    X509_ALGOR_set_md(alg, md);
    s = ASN1_item_pack(alg, ASN1_ITEM_rptr(X509_ALGOR), NULL);
    X509_ALGOR_free(alg);
    return s;
}

/* RSASSA-PSS-params (RFC 4055): fields at their defaults (SHA-1, MGF1-SHA-1, salt 20) are omitted. */
static int set_pss_algor(const SIG_CTX *ctx, X509_ALGOR *alg)
{
    RSA_PSS_PARAMS *pss = RSA_PSS_PARAMS_new();
    ASN1_STRING *os = NULL;
    int saltlen = pss_effective_saltlen(ctx);
    int ok = 0;

    if (pss == NULL)
        return 0;
    if (EVP_MD_get_type(ctx->md) != NID_sha1) {
        if ((pss->hashAlgorithm = X509_ALGOR_new()) == NULL)
            goto end;
        X509_ALGOR_set_md(pss->hashAlgorithm, ctx->md);
    }
    if (EVP_MD_get_type(mgf1_of(ctx)) != NID_sha1) {
        ASN1_STRING *mgf = pack_algor_md(mgf1_of(ctx));

        if (mgf == NULL || (pss->maskGenAlgorithm = X509_ALGOR_new()) == NULL) {
            ASN1_STRING_free(mgf);
            goto end;
        }
        X509_ALGOR_set0(pss->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1), V_ASN1_SEQUENCE, mgf);
    }
    if (saltlen != 20) {
        if ((pss->saltLength = ASN1_INTEGER_new()) == NULL || !ASN1_INTEGER_set(pss->saltLength, saltlen))
            goto end;
    }
    if ((os = ASN1_item_pack(pss, ASN1_ITEM_rptr(RSA_PSS_PARAMS), NULL)) == NULL)
        goto end;
    ok = X509_ALGOR_set0(alg, OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE, os);
    if (!ok)
        ASN1_STRING_free(os);
end:
    RSA_PSS_PARAMS_free(pss);
    return ok;
}

/* The AlgorithmIdentifier of the signatures this context makes, DER encoded, as X.509 and CMS signing ask. */
static int get_algorithm_id(SIG_CTX *ctx, OSSL_PARAM *p)
{
    X509_ALGOR *alg;
    unsigned char *der = NULL;
    int len = 0, sig_nid, ok = 0;

    if (ctx->md == NULL || ctx->key == NULL)
        return AZKM_PARAM_BAD(ctx->provctx, p->key, "needs a key and a digest set first");
    if ((alg = X509_ALGOR_new()) == NULL)
        return 0;
    if (ctx->is_rsa && ctx->pad_mode == RSA_PKCS1_PSS_PADDING) {
        ok = set_pss_algor(ctx, alg);
    } else if (OBJ_find_sigid_by_algs(&sig_nid, EVP_MD_get_type(ctx->md),
                                      ctx->is_rsa ? NID_rsaEncryption : NID_X9_62_id_ecPublicKey)) {
        ok = X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid), ctx->is_rsa ? V_ASN1_NULL : V_ASN1_UNDEF, NULL);
    }
    if (ok && (len = i2d_X509_ALGOR(alg, &der)) <= 0)
        ok = 0;
    if (!ok)
        AZKM_PARAM_BAD(ctx->provctx, p->key, "no signature algorithm identifier for this key and digest");
    else
        ok = azkm_param_set_octets(ctx->provctx, p, der, (size_t)len);
    OPENSSL_free(der);
    X509_ALGOR_free(alg);
    return ok;
}

static int get_saltlen(SIG_CTX *ctx, OSSL_PARAM *p)
{
    char buf[16];

    if (p->data_type != OSSL_PARAM_UTF8_STRING)
        return azkm_param_set_int(ctx->provctx, p, ctx->saltlen);
    for (size_t i = 0; i < sizeof(saltlen_names) / sizeof(saltlen_names[0]); i++)
        if (ctx->saltlen == saltlen_names[i].len)
            return azkm_param_set_utf8(ctx->provctx, p, saltlen_names[i].name);
    snprintf(buf, sizeof(buf), "%d", ctx->saltlen);
    return azkm_param_set_utf8(ctx->provctx, p, buf);
}

static const char *md_name(const EVP_MD *md)
{
    return md != NULL ? EVP_MD_get0_name(md) : "";
}

static int sig_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    SIG_CTX *ctx = vctx;
    OSSL_PARAM *p;

    if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID)) != NULL && !get_algorithm_id(ctx, p))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) != NULL &&
        !azkm_param_set_utf8(ctx->provctx, p, md_name(ctx->md)))
        return 0;
    if (!ctx->is_rsa)
        return 1;
    if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL &&
        !azkm_param_set_pad_mode(ctx->provctx, p, ctx->pad_mode))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != NULL && !get_saltlen(ctx, p))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) != NULL &&
        !azkm_param_set_utf8(ctx->provctx, p, md_name(mgf1_of(ctx))))
        return 0;
    return 1;
}

static const OSSL_PARAM *rsa_gettable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_END,
    };
    return params;
}

static const OSSL_PARAM *ecdsa_gettable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_END,
    };
    return params;
}

/* ---- init ---------------------------------------------------------------------------------------------- */

static int sig_init(SIG_CTX *ctx, void *keydata, int operation, const OSSL_PARAM params[])
{
    AZKM_PKEY *pk = keydata;

    if (!AZKM_PKEY_HOLD(ctx->provctx, &ctx->key, pk, ctx->is_rsa, operation == EVP_PKEY_OP_SIGN ? AZKM_OP_SIGN : 0))
        return 0;
    ctx->operation = operation;
    if (pk->type == AZKM_TYPE_RSA_PSS && !pss_defaults(ctx))
        return 0;
    EVP_MD_CTX_free(ctx->mdctx);
    ctx->mdctx = NULL;
    return sig_set_ctx_params(ctx, params);
}

static int sig_sign_init(void *vctx, void *keydata, const OSSL_PARAM params[])
{
    return sig_init(vctx, keydata, EVP_PKEY_OP_SIGN, params);
}

static int sig_verify_init(void *vctx, void *keydata, const OSSL_PARAM params[])
{
    return sig_init(vctx, keydata, EVP_PKEY_OP_VERIFY, params);
}

/* ---- sign / verify on a digest ----------------------------------------------------------------------- */

static const EVP_MD *md_for_length(SIG_CTX *ctx, size_t len)
{
    const char *name = len == 20   ? "SHA1"
                       : len == 32 ? "SHA256"
                       : len == 48 ? "SHA384"
                       : len == 64 ? "SHA512"
                                   : NULL;

    if (name == NULL || !azkm_md_choose(ctx->provctx, &ctx->md, name, NULL))
        return NULL;
    return ctx->md;
}

static int sig_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize, const unsigned char *tbs,
                    size_t tbslen)
{
    SIG_CTX *ctx = vctx;
    AZKM_PKEY *pk = ctx->key;
    azkm_sign_params sp;
    size_t len;
    azkm_rc rc;

    if (pk == NULL || pk->key == NULL)
        return 0;
    if (sig == NULL) {
        *siglen = (size_t)pk->max_size;
        return 1;
    }
    if (sigsize < (size_t)pk->max_size) {
        AZKM_RAISE(ctx->provctx, AZKM_R_BUFFER_TOO_SMALL, "a signature needs %d bytes", pk->max_size);
        return 0;
    }
    memset(&sp, 0, sizeof(sp));
    if (!ctx->is_rsa) {
        sp.scheme = AZKM_SIG_ECDSA;
    } else if (ctx->pad_mode == RSA_PKCS1_PSS_PADDING) {
        sp.scheme = AZKM_SIG_RSA_PSS;
        if (ctx->md == NULL && md_for_length(ctx, tbslen) == NULL) {
            AZKM_RAISE(ctx->provctx, AZKM_R_BAD_PARAMETER, "PSS needs a digest");
            return 0;
        }
        sp.pss_saltlen = ctx->saltlen;
        sp.mgf1_digest = azkm_md_keystore_name(mgf1_of(ctx));
    } else {
        sp.scheme = AZKM_SIG_RSA_PKCS1;
    }
    if (ctx->md != NULL) {
        if (tbslen != (size_t)EVP_MD_get_size(ctx->md)) {
            AZKM_RAISE(ctx->provctx, AZKM_R_BAD_PARAMETER, "the input is %zu bytes, a %s digest is %d", tbslen,
                       EVP_MD_get0_name(ctx->md), EVP_MD_get_size(ctx->md));
            return 0;
        }
        sp.digest = azkm_md_keystore_name(ctx->md);
    }
    len = sigsize;
    rc = azkm_key_sign(pk->key, &sp, tbs, tbslen, sig, &len);
    if (rc != AZKM_OK) {
        AZKM_RAISE_RC(ctx->provctx, rc);
        return 0;
    }
    *siglen = len;
    return 1;
}

static int sig_verify(void *vctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs, size_t tbslen)
{
    SIG_CTX *ctx = vctx;
    EVP_PKEY_CTX *pctx;
    int ok = 0;

    if (ctx->key == NULL)
        return 0;
    pctx = EVP_PKEY_CTX_new_from_pkey(ctx->provctx->libctx, ctx->key->pub, NULL);
    if (pctx == NULL || EVP_PKEY_verify_init(pctx) <= 0)
        goto end;
    if (ctx->md != NULL && EVP_PKEY_CTX_set_signature_md(pctx, ctx->md) <= 0)
        goto end;
    if (ctx->is_rsa) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, ctx->pad_mode) <= 0)
            goto end;
        if (ctx->pad_mode == RSA_PKCS1_PSS_PADDING &&
            (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, ctx->saltlen) <= 0 ||
             (mgf1_of(ctx) != NULL && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf1_of(ctx)) <= 0)))
            goto end;
    }
    ok = EVP_PKEY_verify(pctx, sig, siglen, tbs, tbslen) == 1;
end:
    EVP_PKEY_CTX_free(pctx);
    return ok;
}

/* ---- digest sign / verify ------------------------------------------------------------------------------ */

static int digest_init(SIG_CTX *ctx, const char *mdname, void *keydata, int operation, const OSSL_PARAM params[])
{
    if (!sig_init(ctx, keydata, operation, NULL))
        return 0;
    if (mdname == NULL || mdname[0] == '\0')
        mdname = is_pss_key(ctx) && ctx->key->pss.restricted ? ctx->key->pss.digest : "SHA256";
    if (!azkm_md_choose(ctx->provctx, &ctx->md, mdname, NULL) || !pss_check(ctx))
        return 0;
    if (!sig_set_ctx_params(ctx, params))
        return 0;
    ctx->mdctx = EVP_MD_CTX_new();
    if (ctx->mdctx == NULL || !EVP_DigestInit_ex2(ctx->mdctx, ctx->md, NULL)) {
        EVP_MD_CTX_free(ctx->mdctx);
        ctx->mdctx = NULL;
        return 0;
    }
    return 1;
}

static int sig_digest_sign_init(void *vctx, const char *mdname, void *keydata, const OSSL_PARAM params[])
{
    return digest_init(vctx, mdname, keydata, EVP_PKEY_OP_SIGN, params);
}

static int sig_digest_verify_init(void *vctx, const char *mdname, void *keydata, const OSSL_PARAM params[])
{
    return digest_init(vctx, mdname, keydata, EVP_PKEY_OP_VERIFY, params);
}

static int sig_digest_update(void *vctx, const unsigned char *data, size_t datalen)
{
    SIG_CTX *ctx = vctx;

    return ctx->mdctx != NULL && EVP_DigestUpdate(ctx->mdctx, data, datalen);
}

static int sig_digest_sign_final(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
    SIG_CTX *ctx = vctx;
    unsigned char dgst[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;

    if (ctx->mdctx == NULL || ctx->key == NULL)
        return 0;
    if (sig == NULL) {
        *siglen = (size_t)ctx->key->max_size;
        return 1;
    }
    if (!EVP_DigestFinal_ex(ctx->mdctx, dgst, &dlen))
        return 0;
    return sig_sign(ctx, sig, siglen, sigsize, dgst, dlen);
}

/* One-shot EVP_DigestSign: without it OpenSSL 3.0 runs update and then EVP_DigestSignFinal, which duplicates
 * the whole EVP_PKEY_CTX (and this context with its digest state) to finalise the copy. The digest context is
 * used up: a signature context signs once per init, as libssl and X.509 signing use it. */
static int sig_digest_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize, const unsigned char *tbs,
                           size_t tbslen)
{
    SIG_CTX *ctx = vctx;
    unsigned char dgst[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    int ok;

    if (ctx->mdctx == NULL || ctx->key == NULL)
        return 0;
    if (sig == NULL) {
        *siglen = (size_t)ctx->key->max_size;
        return 1;
    }
    if (sigsize < (size_t)ctx->key->max_size) { /* before the digest is used up: the caller may retry */
        AZKM_RAISE(ctx->provctx, AZKM_R_BUFFER_TOO_SMALL, "a signature needs %d bytes", ctx->key->max_size);
        return 0;
    }
    ok = EVP_DigestUpdate(ctx->mdctx, tbs, tbslen) && EVP_DigestFinal_ex(ctx->mdctx, dgst, &dlen);
    EVP_MD_CTX_free(ctx->mdctx);
    ctx->mdctx = NULL;
    return ok && sig_sign(ctx, sig, siglen, sigsize, dgst, dlen);
}

static int sig_digest_verify_final(void *vctx, const unsigned char *sig, size_t siglen)
{
    SIG_CTX *ctx = vctx;
    unsigned char dgst[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;

    if (ctx->mdctx == NULL || !EVP_DigestFinal_ex(ctx->mdctx, dgst, &dlen))
        return 0;
    return sig_verify(ctx, sig, siglen, dgst, dlen);
}

/* ---- dispatch ------------------------------------------------------------------------------------------ */

const OSSL_DISPATCH azkm_rsa_signature_functions[] = {
    {OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))rsa_newctx},
    {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))rsa_gettable_ctx_params},
    {OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))rsa_settable_ctx_params},
    {OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))sig_freectx},
    {OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))sig_dupctx},
    {OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))sig_sign_init},
    {OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))sig_sign},
    {OSSL_FUNC_SIGNATURE_VERIFY_INIT, (void (*)(void))sig_verify_init},
    {OSSL_FUNC_SIGNATURE_VERIFY, (void (*)(void))sig_verify},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))sig_digest_sign_init},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (void (*)(void))sig_digest_update},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (void (*)(void))sig_digest_sign_final},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN, (void (*)(void))sig_digest_sign},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, (void (*)(void))sig_digest_verify_init},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, (void (*)(void))sig_digest_update},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, (void (*)(void))sig_digest_verify_final},
    {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))sig_get_ctx_params},
    {OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))sig_set_ctx_params},
    {0, NULL},
};

const OSSL_DISPATCH azkm_ecdsa_signature_functions[] = {
    {OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))ecdsa_newctx},
    {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))ecdsa_gettable_ctx_params},
    {OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))ecdsa_settable_ctx_params},
    {OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))sig_freectx},
    {OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))sig_dupctx},
    {OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))sig_sign_init},
    {OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))sig_sign},
    {OSSL_FUNC_SIGNATURE_VERIFY_INIT, (void (*)(void))sig_verify_init},
    {OSSL_FUNC_SIGNATURE_VERIFY, (void (*)(void))sig_verify},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))sig_digest_sign_init},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (void (*)(void))sig_digest_update},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (void (*)(void))sig_digest_sign_final},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN, (void (*)(void))sig_digest_sign},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, (void (*)(void))sig_digest_verify_init},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, (void (*)(void))sig_digest_update},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, (void (*)(void))sig_digest_verify_final},
    {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))sig_get_ctx_params},
    {OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))sig_set_ctx_params},
    {0, NULL},
};
