/* Private JWKs (RFC 7518 section 6) to key material: the parameters are decoded from base64url, assembled into an
 * EVP_PKEY by OpenSSL (which checks that they form a key), and encoded as PKCS#8. Every decoded secret is cleared.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "json/body.h"
#include "json/jwk_import.h"

/* A JWK member as a BIGNUM pushed into bld; the decoded bytes are cleared. */
static azkm_rc push_bn(OSSL_PARAM_BLD *bld, const json_t *jwk, const char *field, const char *param, BIGNUM **bn)
{
    unsigned char *raw = NULL;
    size_t len = 0;
    azkm_rc rc = azkmd_body_bytes(jwk, field, 1, &raw, &len);

    if (rc != AZKM_OK)
        return azkm_set_error(AZKM_E_INVALID, "key.%s is missing or not base64url", field);
    *bn = BN_secure_new();
    if (*bn == NULL || BN_bin2bn(raw, (int)len, *bn) == NULL || !OSSL_PARAM_BLD_push_BN(bld, param, *bn))
        rc = azkm_set_error(AZKM_E_NOMEM, "out of memory importing key.%s", field);
    OPENSSL_cleanse(raw, len);
    azkm_free(raw);
    return rc;
}

static azkm_rc rsa_params(OSSL_PARAM_BLD *bld, const json_t *jwk, BIGNUM **bns)
{
    static const char *const fields[] = {"n", "e", "d", "p", "q", "dp", "dq", "qi"};
    static const char *const params[] = {OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
                                         OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
                                         OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
                                         OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    azkm_rc rc = AZKM_OK;

    for (size_t i = 0; rc == AZKM_OK && i < 8; i++)
        rc = push_bn(bld, jwk, fields[i], params[i], &bns[i]);
    return rc;
}

static azkm_rc ec_params(OSSL_PARAM_BLD *bld, const json_t *jwk, BIGNUM **bns, unsigned char *point)
{
    const char *crv, *group;
    unsigned char *x = NULL, *y = NULL;
    size_t xl = 0, yl = 0, half;
    azkm_curve curve;
    azkm_rc rc;

    if ((rc = azkmd_body_string(jwk, "crv", 1, &crv)) != AZKM_OK || (rc = azkm_curve_parse(crv, &curve)) != AZKM_OK)
        return rc;
    group = curve == AZKM_CURVE_P256 ? "prime256v1" : curve == AZKM_CURVE_P384 ? "secp384r1" : "secp521r1";
    half = (size_t)(azkm_curve_bits(curve) + 7) / 8;
    if ((rc = azkmd_body_bytes(jwk, "x", 1, &x, &xl)) == AZKM_OK &&
        (rc = azkmd_body_bytes(jwk, "y", 1, &y, &yl)) == AZKM_OK && (xl != half || yl != half))
        rc = azkm_set_error(AZKM_E_INVALID, "key.x and key.y must be %zu bytes for %s", half, crv);
    if (rc == AZKM_OK) {
        point[0] = 0x04;
        memcpy(point + 1, x, half);
        memcpy(point + 1 + half, y, half);
        if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * half))
            rc = azkm_set_error(AZKM_E_NOMEM, "out of memory importing an EC key");
    }
    azkm_free(x);
    azkm_free(y);
    return rc == AZKM_OK ? push_bn(bld, jwk, "d", OSSL_PKEY_PARAM_PRIV_KEY, &bns[0]) : rc;
}

/* The parameters in bld as a key pair of type name, checked, encoded as PKCS#8 DER. */
static azkm_rc to_pkcs8(const char *name, OSSL_PARAM_BLD *bld, unsigned char **der, size_t *len)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL), *check = NULL;
    EVP_PKEY *pk = NULL;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    int n = -1;

    *der = NULL;
    if (params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) == 1 &&
        (check = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) != NULL && EVP_PKEY_pairwise_check(check) == 1 &&
        (p8 = EVP_PKEY2PKCS8(pk)) != NULL)
        n = i2d_PKCS8_PRIV_KEY_INFO(p8, der);
    PKCS8_PRIV_KEY_INFO_free(p8);
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_free(pk);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    if (n <= 0)
        return azkm_set_error(AZKM_E_INVALID, "key: the %s parameters do not form a valid private key", name);
    *len = (size_t)n;
    return AZKM_OK;
}

static azkm_rc oct_key(const json_t *jwk, unsigned char **der, size_t *len)
{
    unsigned char *k = NULL;
    size_t n = 0;
    azkm_rc rc = azkmd_body_bytes(jwk, "k", 1, &k, &n);

    if (rc != AZKM_OK)
        return azkm_set_error(AZKM_E_INVALID, "key.k is missing or not base64url");
    if ((*der = OPENSSL_malloc(n ? n : 1)) == NULL)
        rc = azkm_set_error(AZKM_E_NOMEM, "out of memory");
    else
        memcpy(*der, k, n);
    *len = n;
    OPENSSL_cleanse(k, n);
    azkm_free(k);
    return rc;
}

azkm_rc azkmd_jwk_private(const json_t *jwk, azkm_kty *kty, azkm_protection *protection, unsigned char **der,
                          size_t *len)
{
    const char *text;
    OSSL_PARAM_BLD *bld;
    BIGNUM *bns[8] = {NULL};
    unsigned char point[1 + 2 * 66];
    azkm_rc rc;

    if ((rc = azkmd_body_string(jwk, "kty", 1, &text)) != AZKM_OK ||
        (rc = azkm_kty_parse(text, kty, protection)) != AZKM_OK)
        return rc;
    if (*kty == AZKM_KTY_OCT)
        return oct_key(jwk, der, len);
    if ((bld = OSSL_PARAM_BLD_new()) == NULL)
        return azkm_set_error(AZKM_E_NOMEM, "out of memory");
    rc = *kty == AZKM_KTY_RSA ? rsa_params(bld, jwk, bns) : ec_params(bld, jwk, bns, point);
    if (rc == AZKM_OK)
        rc = to_pkcs8(*kty == AZKM_KTY_RSA ? "RSA" : "EC", bld, der, len);
    OSSL_PARAM_BLD_free(bld);
    for (size_t i = 0; i < 8; i++)
        BN_clear_free(bns[i]);
    return rc;
}
