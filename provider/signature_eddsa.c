/* EdDSA signatures (pure Ed25519 and Ed448, RFC 8032) with azkm keys, through one-shot EVP_DigestSign only, the
 * way libssl, X.509 signing and pkeyutl -rawin use it (OpenSSL 3.0's own Ed25519 signs only that way too): the
 * whole message goes to the keystore in one call, which signs it in the key's tier. Verification uses the public
 * key with the default provider. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "errors.h"
#include "key_object.h"
#include "params.h"

static OSSL_FUNC_signature_newctx_fn ed_newctx;
static OSSL_FUNC_signature_freectx_fn ed_freectx;
static OSSL_FUNC_signature_dupctx_fn ed_dupctx;
static OSSL_FUNC_signature_digest_sign_init_fn ed_digest_sign_init;
static OSSL_FUNC_signature_digest_sign_fn ed_digest_sign;
static OSSL_FUNC_signature_digest_verify_init_fn ed_digest_verify_init;
static OSSL_FUNC_signature_digest_verify_fn ed_digest_verify;
static OSSL_FUNC_signature_get_ctx_params_fn ed_get_ctx_params;
static OSSL_FUNC_signature_gettable_ctx_params_fn ed_gettable_ctx_params;

typedef struct {
    AZKM_PROVCTX *provctx;
    AZKM_PKEY *key;
} ED_CTX;

static void *ed_newctx(void *provctx, const char *propq)
{
    ED_CTX *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx != NULL)
        ctx->provctx = provctx;
    return ctx;
}

static void ed_freectx(void *vctx)
{
    ED_CTX *ctx = vctx;

    if (ctx == NULL)
        return;
    azkm_pkey_free(ctx->key);
    OPENSSL_free(ctx);
}

static void *ed_dupctx(void *vctx)
{
    ED_CTX *dst = OPENSSL_memdup(vctx, sizeof(ED_CTX));

    if (dst != NULL && dst->key != NULL)
        azkm_pkey_up_ref(dst->key);
    return dst;
}

/* EdDSA hashes inside the signature: a digest named by the caller is refused, as the default provider does
 * (OpenSSL passes none for a key whose mandatory digest is "none"). */
static int ed_init(ED_CTX *ctx, const char *mdname, void *keydata, unsigned private_op)
{
    if (mdname != NULL && mdname[0] != '\0') {
        AZKM_RAISE(ctx->provctx, AZKM_R_BAD_PARAMETER, "EdDSA signs the message itself: no digest (got %s)",
                   mdname);
        return 0;
    }
    return AZKM_PKEY_HOLD(ctx->provctx, &ctx->key, keydata, AZKM_FAMILY_EDDSA, private_op);
}

static int ed_digest_sign_init(void *vctx, const char *mdname, void *keydata, const OSSL_PARAM params[])
{
    return ed_init(vctx, mdname, keydata, AZKM_OP_SIGN);
}

static int ed_digest_verify_init(void *vctx, const char *mdname, void *keydata, const OSSL_PARAM params[])
{
    return ed_init(vctx, mdname, keydata, 0);
}

static int ed_digest_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize, const unsigned char *tbs,
                          size_t tbslen)
{
    ED_CTX *ctx = vctx;
    azkm_sign_params sp;
    size_t len = sigsize;
    azkm_rc rc;

    if (ctx->key == NULL || ctx->key->key == NULL)
        return 0;
    if (sig == NULL) {
        *siglen = (size_t)ctx->key->max_size;
        return 1;
    }
    if (sigsize < (size_t)ctx->key->max_size) {
        AZKM_RAISE(ctx->provctx, AZKM_R_BUFFER_TOO_SMALL, "a signature needs %d bytes", ctx->key->max_size);
        return 0;
    }
    memset(&sp, 0, sizeof(sp));
    sp.scheme = AZKM_SIG_EDDSA;
    if ((rc = azkm_key_sign(ctx->key->key, &sp, tbs, tbslen, sig, &len)) != AZKM_OK) {
        AZKM_RAISE_RC(ctx->provctx, rc);
        return 0;
    }
    *siglen = len;
    return 1;
}

static int ed_digest_verify(void *vctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs,
                            size_t tbslen)
{
    ED_CTX *ctx = vctx;
    EVP_MD_CTX *mdctx;
    int ok;

    if (ctx->key == NULL || (mdctx = EVP_MD_CTX_new()) == NULL)
        return 0;
    ok = EVP_DigestVerifyInit_ex(mdctx, NULL, NULL, ctx->provctx->libctx, NULL, ctx->key->pub, NULL) == 1 &&
         EVP_DigestVerify(mdctx, sig, siglen, tbs, tbslen) == 1;
    EVP_MD_CTX_free(mdctx);
    return ok;
}

/* The AlgorithmIdentifier of the signatures (RFC 8410: the curve's OID, no parameters), for X.509 and CMS. */
static int get_algorithm_id(ED_CTX *ctx, OSSL_PARAM *p)
{
    X509_ALGOR *alg;
    unsigned char *der = NULL;
    int len = 0, ok;

    if (ctx->key == NULL)
        return AZKM_PARAM_BAD(ctx->provctx, p->key, "needs a key set first");
    if ((alg = X509_ALGOR_new()) == NULL)
        return 0;
    ok = X509_ALGOR_set0(alg, OBJ_nid2obj(ctx->key->type == AZKM_TYPE_ED448 ? NID_ED448 : NID_ED25519),
                         V_ASN1_UNDEF, NULL) &&
         (len = i2d_X509_ALGOR(alg, &der)) > 0 && azkm_param_set_octets(ctx->provctx, p, der, (size_t)len);
    OPENSSL_free(der);
    X509_ALGOR_free(alg);
    return ok;
}

static int ed_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);

    return p == NULL || get_algorithm_id(vctx, p);
}

static const OSSL_PARAM *ed_gettable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
        OSSL_PARAM_END,
    };
    return params;
}

const OSSL_DISPATCH azkm_eddsa_signature_functions[] = {
    {OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))ed_newctx},
    {OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))ed_freectx},
    {OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))ed_dupctx},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))ed_digest_sign_init},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN, (void (*)(void))ed_digest_sign},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, (void (*)(void))ed_digest_verify_init},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY, (void (*)(void))ed_digest_verify},
    {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))ed_get_ctx_params},
    {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))ed_gettable_ctx_params},
    {0, NULL},
};
