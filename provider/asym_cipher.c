/* RSA decryption with azkm keys: PKCS#1 v1.5, the TLS 1.2 RSA key exchange (depadded in constant time by the
 * keystore, with a random premaster on failure) and OAEP with a label. Encryption uses the public key with the
 * default provider. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include "digest.h"
#include "errors.h"
#include "key_object.h"
#include "params.h"

static OSSL_FUNC_asym_cipher_newctx_fn rsa_newctx;
static OSSL_FUNC_asym_cipher_freectx_fn rsa_freectx;
static OSSL_FUNC_asym_cipher_dupctx_fn rsa_dupctx;
static OSSL_FUNC_asym_cipher_encrypt_init_fn rsa_encrypt_init;
static OSSL_FUNC_asym_cipher_encrypt_fn rsa_encrypt;
static OSSL_FUNC_asym_cipher_decrypt_init_fn rsa_decrypt_init;
static OSSL_FUNC_asym_cipher_decrypt_fn rsa_decrypt;
static OSSL_FUNC_asym_cipher_get_ctx_params_fn rsa_get_ctx_params;
static OSSL_FUNC_asym_cipher_gettable_ctx_params_fn rsa_gettable_ctx_params;
static OSSL_FUNC_asym_cipher_set_ctx_params_fn rsa_set_ctx_params;
static OSSL_FUNC_asym_cipher_settable_ctx_params_fn rsa_settable_ctx_params;

typedef struct {
    AZKM_PROVCTX *provctx;
    AZKM_PKEY *key;
    int pad_mode;
    EVP_MD *oaep_md;
    EVP_MD *mgf1_md;
    unsigned char *label;
    size_t label_len;
    unsigned int client_version;
    unsigned int alt_version;
} CIPHER_CTX;

static void *rsa_newctx(void *provctx)
{
    CIPHER_CTX *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx == NULL)
        return NULL;
    ctx->provctx = provctx;
    ctx->pad_mode = RSA_PKCS1_PADDING;
    return ctx;
}

static void rsa_freectx(void *vctx)
{
    CIPHER_CTX *ctx = vctx;

    if (ctx == NULL)
        return;
    azkm_pkey_free(ctx->key);
    EVP_MD_free(ctx->oaep_md);
    EVP_MD_free(ctx->mgf1_md);
    OPENSSL_free(ctx->label);
    OPENSSL_free(ctx);
}

static void *rsa_dupctx(void *vctx)
{
    CIPHER_CTX *src = vctx, *dst = OPENSSL_memdup(src, sizeof(*src));

    if (dst == NULL)
        return NULL;
    dst->label = NULL;
    if (src->label != NULL && (dst->label = OPENSSL_memdup(src->label, src->label_len)) == NULL) {
        OPENSSL_free(dst);
        return NULL;
    }
    if (dst->key != NULL)
        azkm_pkey_up_ref(dst->key);
    if (dst->oaep_md != NULL)
        EVP_MD_up_ref(dst->oaep_md);
    if (dst->mgf1_md != NULL)
        EVP_MD_up_ref(dst->mgf1_md);
    return dst;
}

static int set_pad_mode(CIPHER_CTX *ctx, const OSSL_PARAM *p)
{
    int mode;

    if (!azkm_param_get_pad_mode(ctx->provctx, p, &mode))
        return 0;
    if (mode != RSA_PKCS1_PADDING && mode != RSA_PKCS1_OAEP_PADDING && mode != RSA_PKCS1_WITH_TLS_PADDING) {
        AZKM_RAISE(ctx->provctx, AZKM_R_UNSUPPORTED, "azkm RSA decryption uses PKCS#1 v1.5 or OAEP padding");
        return 0;
    }
    ctx->pad_mode = mode;
    return 1;
}

static int set_label(CIPHER_CTX *ctx, const OSSL_PARAM *p)
{
    void *label = NULL;
    size_t len = 0;

    if (!azkm_param_get_octets(ctx->provctx, p, &label, &len))
        return 0;
    OPENSSL_free(ctx->label);
    ctx->label = label;
    ctx->label_len = len;
    return 1;
}

static int rsa_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    CIPHER_CTX *ctx = vctx;
    const OSSL_PARAM *p;

    if (params == NULL)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE)) != NULL && !set_pad_mode(ctx, p))
        return 0;
    if (!azkm_param_md(ctx->provctx, params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST,
                       OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST_PROPS, &ctx->oaep_md) ||
        !azkm_param_md(ctx->provctx, params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST,
                       OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST_PROPS, &ctx->mgf1_md))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL)) != NULL && !set_label(ctx, p))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION)) != NULL &&
        !azkm_param_get_uint(ctx->provctx, p, &ctx->client_version))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION)) != NULL &&
        !azkm_param_get_uint(ctx->provctx, p, &ctx->alt_version))
        return 0;
    return 1;
}

static const OSSL_PARAM *rsa_settable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST_PROPS, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST_PROPS, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, NULL, 0),
        OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION, NULL),
        OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION, NULL),
        OSSL_PARAM_END,
    };
    return params;
}

/* OAEP's digest is SHA-1 unless set; MGF1's is OAEP's unless set. */
static const char *oaep_md_name(const CIPHER_CTX *ctx)
{
    return ctx->oaep_md != NULL ? EVP_MD_get0_name(ctx->oaep_md) : "SHA1";
}

static const char *mgf1_md_name(const CIPHER_CTX *ctx)
{
    return ctx->mgf1_md != NULL ? EVP_MD_get0_name(ctx->mgf1_md) : oaep_md_name(ctx);
}

static int rsa_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    CIPHER_CTX *ctx = vctx;
    AZKM_PROVCTX *pctx = ctx->provctx;
    OSSL_PARAM *p;

    if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE)) != NULL &&
        !azkm_param_set_pad_mode(pctx, p, ctx->pad_mode))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST)) != NULL &&
        !azkm_param_set_utf8(pctx, p, oaep_md_name(ctx)))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST)) != NULL &&
        !azkm_param_set_utf8(pctx, p, mgf1_md_name(ctx)))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL)) != NULL &&
        !azkm_param_set_octet_ptr(pctx, p, ctx->label, ctx->label_len))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION)) != NULL &&
        !azkm_param_set_uint(pctx, p, ctx->client_version))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION)) != NULL &&
        !azkm_param_set_uint(pctx, p, ctx->alt_version))
        return 0;
    return 1;
}

static const OSSL_PARAM *rsa_gettable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_octet_ptr(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, NULL, 0),
        OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION, NULL),
        OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION, NULL),
        OSSL_PARAM_END,
    };
    return params;
}

static int cipher_init(CIPHER_CTX *ctx, void *keydata, int decrypt, const OSSL_PARAM params[])
{
    if (!AZKM_PKEY_HOLD(ctx->provctx, &ctx->key, keydata, 1, decrypt ? AZKM_OP_DECRYPT : 0))
        return 0;
    return rsa_set_ctx_params(ctx, params);
}

static int rsa_encrypt_init(void *vctx, void *keydata, const OSSL_PARAM params[])
{
    return cipher_init(vctx, keydata, 0, params);
}

static int rsa_decrypt_init(void *vctx, void *keydata, const OSSL_PARAM params[])
{
    return cipher_init(vctx, keydata, 1, params);
}

static int rsa_encrypt(void *vctx, unsigned char *out, size_t *outlen, size_t outsize, const unsigned char *in,
                       size_t inlen)
{
    CIPHER_CTX *ctx = vctx;
    EVP_PKEY_CTX *pctx;
    int ok = 0;

    if (ctx->key == NULL)
        return 0;
    if (out == NULL) {
        *outlen = (size_t)ctx->key->max_size;
        return 1;
    }
    if (ctx->pad_mode == RSA_PKCS1_WITH_TLS_PADDING)
        return 0;
    pctx = EVP_PKEY_CTX_new_from_pkey(ctx->provctx->libctx, ctx->key->pub, NULL);
    if (pctx == NULL || EVP_PKEY_encrypt_init(pctx) <= 0 || EVP_PKEY_CTX_set_rsa_padding(pctx, ctx->pad_mode) <= 0)
        goto end;
    if (ctx->pad_mode == RSA_PKCS1_OAEP_PADDING) {
        if (ctx->oaep_md != NULL && EVP_PKEY_CTX_set_rsa_oaep_md(pctx, ctx->oaep_md) <= 0)
            goto end;
        if (ctx->mgf1_md != NULL && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, ctx->mgf1_md) <= 0)
            goto end;
        if (ctx->label != NULL) {
            unsigned char *label = OPENSSL_memdup(ctx->label, ctx->label_len);

            if (label == NULL || EVP_PKEY_CTX_set0_rsa_oaep_label(pctx, label, (int)ctx->label_len) <= 0) {
                OPENSSL_free(label);
                goto end;
            }
        }
    }
    *outlen = outsize;
    ok = EVP_PKEY_encrypt(pctx, out, outlen, in, inlen) > 0;
end:
    EVP_PKEY_CTX_free(pctx);
    return ok;
}

static int rsa_decrypt(void *vctx, unsigned char *out, size_t *outlen, size_t outsize, const unsigned char *in,
                       size_t inlen)
{
    CIPHER_CTX *ctx = vctx;
    azkm_cipher_params cp;
    unsigned char *buf;
    size_t len, max;
    azkm_rc rc;
    int ok = 0;

    if (ctx->key == NULL || ctx->key->key == NULL)
        return 0;
    max = (size_t)ctx->key->max_size;
    if (out == NULL) {
        *outlen = max;
        return 1;
    }
    memset(&cp, 0, sizeof(cp));
    switch (ctx->pad_mode) {
    case RSA_PKCS1_PADDING:
        cp.scheme = AZKM_ENC_RSA_PKCS1;
        break;
    case RSA_PKCS1_WITH_TLS_PADDING:
        if (ctx->client_version == 0 || outsize < 48) {
            AZKM_RAISE(ctx->provctx, AZKM_R_BAD_PARAMETER, "TLS premaster decryption needs the client version");
            return 0;
        }
        cp.scheme = AZKM_ENC_RSA_TLS;
        cp.tls_client_version = ctx->client_version;
        cp.tls_alt_version = ctx->alt_version;
        break;
    case RSA_PKCS1_OAEP_PADDING:
        cp.scheme = AZKM_ENC_RSA_OAEP;
        cp.oaep_digest = ctx->oaep_md != NULL ? azkm_md_keystore_name(ctx->oaep_md) : "SHA1";
        cp.mgf1_digest = ctx->mgf1_md != NULL ? azkm_md_keystore_name(ctx->mgf1_md) : NULL;
        cp.label = ctx->label;
        cp.label_len = ctx->label_len;
        break;
    default:
        return 0;
    }
    /* The keystore writes up to the modulus size; the caller's buffer may be smaller (a TLS premaster). */
    if ((buf = OPENSSL_malloc(max)) == NULL)
        return 0;
    len = max;
    rc = azkm_key_decrypt(ctx->key->key, &cp, in, inlen, buf, &len);
    if (rc != AZKM_OK) {
        AZKM_RAISE_RC(ctx->provctx, rc);
    } else if (len > outsize) {
        AZKM_RAISE(ctx->provctx, AZKM_R_BUFFER_TOO_SMALL, "the plaintext is %zu bytes", len);
    } else {
        memcpy(out, buf, len);
        *outlen = len;
        ok = 1;
    }
    OPENSSL_clear_free(buf, max);
    return ok;
}

const OSSL_DISPATCH azkm_rsa_asym_cipher_functions[] = {
    {OSSL_FUNC_ASYM_CIPHER_NEWCTX, (void (*)(void))rsa_newctx},
    {OSSL_FUNC_ASYM_CIPHER_FREECTX, (void (*)(void))rsa_freectx},
    {OSSL_FUNC_ASYM_CIPHER_DUPCTX, (void (*)(void))rsa_dupctx},
    {OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT, (void (*)(void))rsa_encrypt_init},
    {OSSL_FUNC_ASYM_CIPHER_ENCRYPT, (void (*)(void))rsa_encrypt},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, (void (*)(void))rsa_decrypt_init},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT, (void (*)(void))rsa_decrypt},
    {OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS, (void (*)(void))rsa_get_ctx_params},
    {OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS, (void (*)(void))rsa_gettable_ctx_params},
    {OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, (void (*)(void))rsa_set_ctx_params},
    {OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS, (void (*)(void))rsa_settable_ctx_params},
    {0, NULL},
};
