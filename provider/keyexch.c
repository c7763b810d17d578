/* ECDH with azkm EC keys (key_ops deriveBits): `pkeyutl -derive` and CMS decryption for EC recipients. The shared
 * secret comes from the keystore, computed in the key's tier; the X9.63 KDF that CMS asks for runs here, over it.
 * Registered only under azkm's own name (AZKM-ECDH, which only azkm's EC key manager names), so that it is never
 * offered a key that is not azkm's; and it refuses any key object without a vault key behind it. */
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "errors.h"
#include "key_object.h"
#include "params.h"

static OSSL_FUNC_keyexch_newctx_fn dh_newctx;
static OSSL_FUNC_keyexch_freectx_fn dh_freectx;
static OSSL_FUNC_keyexch_dupctx_fn dh_dupctx;
static OSSL_FUNC_keyexch_init_fn dh_init;
static OSSL_FUNC_keyexch_set_peer_fn dh_set_peer;
static OSSL_FUNC_keyexch_derive_fn dh_derive;
static OSSL_FUNC_keyexch_set_ctx_params_fn dh_set_ctx_params;
static OSSL_FUNC_keyexch_settable_ctx_params_fn dh_settable_ctx_params;
static OSSL_FUNC_keyexch_get_ctx_params_fn dh_get_ctx_params;
static OSSL_FUNC_keyexch_gettable_ctx_params_fn dh_gettable_ctx_params;

/* The largest shared secret: P-521's 66 bytes, in a buffer as large as any azkm EC key's output. */
#define Z_MAX 139

typedef struct {
    AZKM_PROVCTX *provctx;
    AZKM_PKEY *key;
    AZKM_PKEY *peer;
    int cofactor_mode; /* -1: the key's default; the NIST curves' cofactor is 1, so every mode is plain ECDH */
    int x963;          /* 1: the output is X9.63 KDF(Z, ukm) of kdf_outlen bytes, as CMS asks */
    EVP_MD *kdf_md;
    size_t kdf_outlen;
    unsigned char *ukm;
    size_t ukm_len;
} DH_CTX;

static void *dh_newctx(void *provctx)
{
    DH_CTX *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx != NULL) {
        ctx->provctx = provctx;
        ctx->cofactor_mode = -1;
    }
    return ctx;
}

static void dh_freectx(void *vctx)
{
    DH_CTX *ctx = vctx;

    if (ctx == NULL)
        return;
    azkm_pkey_free(ctx->key);
    azkm_pkey_free(ctx->peer);
    EVP_MD_free(ctx->kdf_md);
    OPENSSL_clear_free(ctx->ukm, ctx->ukm_len);
    OPENSSL_free(ctx);
}

static void *dh_dupctx(void *vctx)
{
    DH_CTX *src = vctx, *dst = OPENSSL_memdup(src, sizeof(*src));

    if (dst == NULL)
        return NULL;
    dst->ukm = NULL;
    if ((src->ukm != NULL && (dst->ukm = OPENSSL_memdup(src->ukm, src->ukm_len)) == NULL) ||
        (dst->kdf_md != NULL && !EVP_MD_up_ref(dst->kdf_md))) {
        OPENSSL_free(dst->ukm);
        OPENSSL_free(dst);
        return NULL;
    }
    if (dst->key != NULL)
        azkm_pkey_up_ref(dst->key);
    if (dst->peer != NULL)
        azkm_pkey_up_ref(dst->peer);
    return dst;
}

static int dh_init(void *vctx, void *keydata, const OSSL_PARAM params[])
{
    DH_CTX *ctx = vctx;

    if (!AZKM_PKEY_HOLD(ctx->provctx, &ctx->key, keydata, AZKM_FAMILY_EC, AZKM_OP_DERIVE))
        return 0;
    return dh_set_ctx_params(ctx, params);
}

/* The peer is a public EC key that OpenSSL imported into our key manager (km_import, or CMS's copy of our key's
 * parameters given the originator's point); the keystore checks that it is on the key's curve. */
static int dh_set_peer(void *vctx, void *peerdata)
{
    DH_CTX *ctx = vctx;
    AZKM_PKEY *peer = peerdata;

    if (peer == NULL || peer->pub == NULL || peer->type != AZKM_TYPE_EC) {
        AZKM_RAISE(ctx->provctx, AZKM_R_BAD_PARAMETER, "the ECDH peer must be an EC public key");
        return 0;
    }
    azkm_pkey_up_ref(peer);
    azkm_pkey_free(ctx->peer);
    ctx->peer = peer;
    return 1;
}

/* The peer as SubjectPublicKeyInfo, put together from its curve and encoded point: i2d_PUBKEY goes through
 * OpenSSL 3.0's encoders, which cost about half as much as the ECDH itself. */
static int peer_spki(const AZKM_PKEY *peer, unsigned char **der)
{
    char group[64];
    unsigned char point[133], *enc = NULL;
    size_t plen = 0;
    X509_PUBKEY *xpk = X509_PUBKEY_new();
    int nid = NID_undef, len = 0;

    if (xpk != NULL &&
        EVP_PKEY_get_utf8_string_param(peer->pub, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) &&
        (nid = OBJ_txt2nid(group)) != NID_undef &&
        EVP_PKEY_get_octet_string_param(peer->pub, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof(point),
                                        &plen) &&
        (enc = OPENSSL_memdup(point, plen)) != NULL &&
        X509_PUBKEY_set0_param(xpk, OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT, OBJ_nid2obj(nid), enc,
                               (int)plen)) {
        enc = NULL;
        len = i2d_X509_PUBKEY(xpk, der);
    }
    OPENSSL_free(enc);
    X509_PUBKEY_free(xpk);
    return len;
}

/* Z from the keystore, with the peer's public key as SubjectPublicKeyInfo. */
static int shared_secret(DH_CTX *ctx, unsigned char z[Z_MAX], size_t *zlen)
{
    unsigned char *der = NULL;
    int len = peer_spki(ctx->peer, &der);
    azkm_rc rc;

    if (len <= 0) {
        AZKM_RAISE(ctx->provctx, AZKM_R_BAD_PARAMETER, "the ECDH peer has no public key");
        return 0;
    }
    rc = azkm_key_derive(ctx->key->key, der, (size_t)len, z, zlen);
    OPENSSL_free(der);
    if (rc != AZKM_OK) {
        AZKM_RAISE_RC(ctx->provctx, rc);
        return 0;
    }
    return 1;
}

/* ANSI X9.63 KDF over Z with the ukm as its shared info (RFC 5753's ECC-CMS-SharedInfo). */
static int x963_kdf(DH_CTX *ctx, const unsigned char *z, size_t zlen, unsigned char *out)
{
    EVP_KDF *kdf = EVP_KDF_fetch(ctx->provctx->libctx, OSSL_KDF_NAME_X963KDF, NULL);
    EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[4], *p = params;
    int ok;

    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(ctx->kdf_md), 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, zlen);
    if (ctx->ukm != NULL)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, ctx->ukm, ctx->ukm_len);
    *p = OSSL_PARAM_construct_end();
    ok = kctx != NULL && EVP_KDF_derive(kctx, out, ctx->kdf_outlen, params) > 0;
    if (!ok)
        AZKM_RAISE(ctx->provctx, AZKM_R_CRYPTO, "X9.63 KDF with %s failed", EVP_MD_get0_name(ctx->kdf_md));
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return ok;
}

static int dh_derive(void *vctx, unsigned char *secret, size_t *secretlen, size_t outlen)
{
    DH_CTX *ctx = vctx;
    unsigned char z[Z_MAX];
    size_t zlen = 0, want;
    int ok;

    if (ctx->key == NULL || ctx->key->key == NULL)
        return 0;
    want = ctx->x963 ? ctx->kdf_outlen : (size_t)(ctx->key->bits + 7) / 8;
    if (secret == NULL) {
        *secretlen = want;
        return 1;
    }
    if (ctx->peer == NULL) {
        AZKM_RAISE(ctx->provctx, AZKM_R_BAD_PARAMETER, "ECDH needs the peer's public key first");
        return 0;
    }
    if (ctx->x963 && (ctx->kdf_md == NULL || ctx->kdf_outlen == 0 || outlen < ctx->kdf_outlen)) {
        AZKM_RAISE(ctx->provctx, AZKM_R_BAD_PARAMETER, "the X9.63 KDF needs a digest and an output length");
        return 0;
    }
    if (!(ok = shared_secret(ctx, z, &zlen)))
        return 0;
    if (ctx->x963) {
        ok = x963_kdf(ctx, z, zlen, secret);
        *secretlen = ctx->kdf_outlen;
    } else {
        /* A shorter buffer gets the leading bytes of Z, as with the default provider. */
        *secretlen = outlen < zlen ? outlen : zlen;
        memcpy(secret, z, *secretlen);
    }
    OPENSSL_cleanse(z, sizeof(z));
    return ok;
}

static int set_kdf_type(DH_CTX *ctx, const OSSL_PARAM *p)
{
    const char *name = NULL;

    if (!azkm_param_get_utf8(ctx->provctx, p, &name))
        return 0;
    if (name[0] != '\0' && strcasecmp(name, OSSL_KDF_NAME_X963KDF) != 0)
        return AZKM_PARAM_BAD(ctx->provctx, p->key, "\"\" (none) or \"" OSSL_KDF_NAME_X963KDF "\"");
    ctx->x963 = name[0] != '\0';
    return 1;
}

static int set_cofactor_mode(DH_CTX *ctx, const OSSL_PARAM *p)
{
    int mode;

    if (!azkm_param_get_int(ctx->provctx, p, &mode))
        return 0;
    if (mode < -1 || mode > 1)
        return AZKM_PARAM_BAD(ctx->provctx, p->key, "-1 (the key's default), 0 or 1");
    ctx->cofactor_mode = mode;
    return 1;
}

static int set_ukm(DH_CTX *ctx, const OSSL_PARAM *p)
{
    void *ukm = NULL;
    size_t len = 0;

    if (!azkm_param_get_octets(ctx->provctx, p, &ukm, &len))
        return 0;
    OPENSSL_clear_free(ctx->ukm, ctx->ukm_len);
    ctx->ukm = ukm;
    ctx->ukm_len = len;
    return 1;
}

static int dh_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    DH_CTX *ctx = vctx;
    const OSSL_PARAM *p;

    if (params == NULL)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE)) != NULL &&
        !set_cofactor_mode(ctx, p))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_TYPE)) != NULL && !set_kdf_type(ctx, p))
        return 0;
    if (!azkm_param_md(ctx->provctx, params, OSSL_EXCHANGE_PARAM_KDF_DIGEST, OSSL_EXCHANGE_PARAM_KDF_DIGEST_PROPS,
                       &ctx->kdf_md))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_OUTLEN)) != NULL &&
        !OSSL_PARAM_get_size_t(p, &ctx->kdf_outlen))
        return AZKM_PARAM_BAD(ctx->provctx, p->key, "not a size");
    if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_UKM)) != NULL && !set_ukm(ctx, p))
        return 0;
    return 1;
}

static const OSSL_PARAM *dh_settable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, NULL),
        OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST_PROPS, NULL, 0),
        OSSL_PARAM_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, NULL),
        OSSL_PARAM_octet_string(OSSL_EXCHANGE_PARAM_KDF_UKM, NULL, 0),
        OSSL_PARAM_END,
    };
    return params;
}

static int dh_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    DH_CTX *ctx = vctx;
    OSSL_PARAM *p;

    if ((p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE)) != NULL &&
        !azkm_param_set_int(ctx->provctx, p, ctx->cofactor_mode < 0 ? 0 : ctx->cofactor_mode))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_TYPE)) != NULL &&
        !azkm_param_set_utf8(ctx->provctx, p, ctx->x963 ? OSSL_KDF_NAME_X963KDF : ""))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_DIGEST)) != NULL &&
        !azkm_param_set_utf8(ctx->provctx, p, ctx->kdf_md != NULL ? EVP_MD_get0_name(ctx->kdf_md) : ""))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_OUTLEN)) != NULL &&
        !OSSL_PARAM_set_size_t(p, ctx->kdf_outlen))
        return AZKM_PARAM_BAD(ctx->provctx, p->key, "not a size");
    return 1;
}

static const OSSL_PARAM *dh_gettable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, NULL),
        OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, NULL, 0),
        OSSL_PARAM_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, NULL),
        OSSL_PARAM_END,
    };
    return params;
}

const OSSL_DISPATCH azkm_ecdh_keyexch_functions[] = {
    {OSSL_FUNC_KEYEXCH_NEWCTX, (void (*)(void))dh_newctx},
    {OSSL_FUNC_KEYEXCH_FREECTX, (void (*)(void))dh_freectx},
    {OSSL_FUNC_KEYEXCH_DUPCTX, (void (*)(void))dh_dupctx},
    {OSSL_FUNC_KEYEXCH_INIT, (void (*)(void))dh_init},
    {OSSL_FUNC_KEYEXCH_SET_PEER, (void (*)(void))dh_set_peer},
    {OSSL_FUNC_KEYEXCH_DERIVE, (void (*)(void))dh_derive},
    {OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS, (void (*)(void))dh_set_ctx_params},
    {OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS, (void (*)(void))dh_settable_ctx_params},
    {OSSL_FUNC_KEYEXCH_GET_CTX_PARAMS, (void (*)(void))dh_get_ctx_params},
    {OSSL_FUNC_KEYEXCH_GETTABLE_CTX_PARAMS, (void (*)(void))dh_gettable_ctx_params},
    {0, NULL},
};
