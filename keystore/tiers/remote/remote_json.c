/* Key Vault's KeyBundle as azkm_key_info: the identity from its kid, the public key from its JWK (RSA n/e, EC
 * crv/x/y, OKP crv/x) as SubjectPublicKeyInfo, the attributes, key_ops and tags. Every field is checked: azkmd's
 * answer is input like any other. Also: a JSON object holding secrets, cleared before it is freed. */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "azkm/base64.h"
#include "tiers/remote/remote_client.h"

azkm_rc azkm_remote_b64_member(const char *entry, const json_t *obj, const char *member, unsigned char **out,
                               size_t *len)
{
    const char *text = json_string_value(json_object_get(obj, member));

    *out = NULL;
    *len = 0;
    if (text == NULL || *text == '\0' || azkm_b64_decode(text, out, len) != AZKM_OK || *len == 0) {
        azkm_free(*out);
        *out = NULL;
        return azkm_fail(AZKM_E_CORRUPT, "remote vault %s: azkmd's answer has no base64url \"%s\"", entry, member);
    }
    return AZKM_OK;
}

/* The key name and version from a kid http://<vault>.<domain>/keys/<name>/<version>. */
static azkm_rc parse_kid(const char *entry, const char *kid, azkm_key_info *info)
{
    const char *p = kid != NULL ? strstr(kid, "/keys/") : NULL, *slash;
    size_t nlen;

    if (p == NULL || (slash = strchr(p + 6, '/')) == NULL || (nlen = (size_t)(slash - (p + 6))) == 0 ||
        nlen > AZKM_NAME_MAX || strlen(slash + 1) != AZKM_VERSION_LEN)
        return azkm_fail(AZKM_E_CORRUPT, "remote vault %s: azkmd's answer has a kid '%.200s' without a key version",
                         entry, kid != NULL ? kid : "");
    memcpy(info->name, p + 6, nlen);
    info->name[nlen] = '\0';
    memcpy(info->version, slash + 1, AZKM_VERSION_LEN + 1);
    if (!azkm_key_name_valid(info->name) || !azkm_version_valid(info->version))
        return azkm_fail(AZKM_E_CORRUPT, "remote vault %s: azkmd's answer has a kid '%.200s' that names no key",
                         entry, kid);
    return AZKM_OK;
}

static int add_bn(OSSL_PARAM_BLD *bld, const char *param, const unsigned char *bin, size_t len, BIGNUM **bn)
{
    *bn = BN_bin2bn(bin, (int)len, NULL);
    return *bn != NULL && OSSL_PARAM_BLD_push_BN(bld, param, *bn) == 1;
}

/* A public key from its parameters: RSA n and e, or an EC group and its uncompressed point. */
static EVP_PKEY *pkey_from(OSSL_LIB_CTX *libctx, const char *propq, const azkm_key_info *info,
                           const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(libctx, info->kty == AZKM_KTY_RSA ? "RSA" : "EC", propq);
    unsigned char point[1 + 2 * 66];
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;
    int ok = bld != NULL && ctx != NULL;

    if (ok && info->kty == AZKM_KTY_RSA) {
        ok = add_bn(bld, OSSL_PKEY_PARAM_RSA_N, a, alen, &n) && add_bn(bld, OSSL_PKEY_PARAM_RSA_E, b, blen, &e);
    } else if (ok) {
        const char *group = info->curve == AZKM_CURVE_P256   ? "P-256"
                            : info->curve == AZKM_CURVE_P384 ? "P-384"
                                                             : "P-521";

        ok = alen == blen && alen == (size_t)(azkm_curve_bits(info->curve) + 7) / 8;
        if (ok) {
            point[0] = 0x04;
            memcpy(point + 1, a, alen);
            memcpy(point + 1 + alen, b, blen);
            ok = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
                 OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * alen) == 1;
        }
    }
    ok = ok && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
         EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(n);
    BN_free(e);
    return ok ? pkey : NULL;
}

/* OKP (RFC 8037): x is the raw public key. */
static EVP_PKEY *okp_from(OSSL_LIB_CTX *libctx, const char *propq, const azkm_key_info *info,
                          const unsigned char *x, size_t xlen)
{
    if (info->curve != AZKM_CURVE_ED25519 && info->curve != AZKM_CURVE_ED448)
        return NULL;
    return EVP_PKEY_new_raw_public_key_ex(libctx, info->curve == AZKM_CURVE_ED25519 ? "ED25519" : "ED448", propq, x,
                                          xlen);
}

/* The JWK's public key into info (public_der, size, curve). */
static azkm_rc jwk_public(OSSL_LIB_CTX *libctx, const char *propq, const char *entry, const json_t *jwk,
                          azkm_key_info *info)
{
    int rsa = info->kty == AZKM_KTY_RSA;
    unsigned char *a = NULL, *b = NULL, *der = NULL;
    size_t alen = 0, blen = 0, dlen = 0;
    EVP_PKEY *pkey = NULL;
    azkm_kty kty;
    azkm_rc rc = AZKM_OK;

    if (!rsa && azkm_curve_parse(json_string_value(json_object_get(jwk, "crv")), &info->curve) != AZKM_OK)
        rc = azkm_fail(AZKM_E_UNSUPPORTED, "remote vault %s: key %s: its JWK has no curve azkm knows", entry,
                       info->name);
    if (rc == AZKM_OK && !rsa && info->kty != AZKM_KTY_EC && info->kty != AZKM_KTY_OKP)
        rc = azkm_fail(AZKM_E_UNSUPPORTED, "remote vault %s: key %s is an %s key: not supported remotely yet",
                       entry, info->name, azkm_kty_name(info->kty, info->protection));
    if (rc == AZKM_OK)
        rc = azkm_remote_b64_member(entry, jwk, rsa ? "n" : "x", &a, &alen);
    if (rc == AZKM_OK && info->kty != AZKM_KTY_OKP) /* RFC 8037: x only */
        rc = azkm_remote_b64_member(entry, jwk, rsa ? "e" : "y", &b, &blen);
    if (rc == AZKM_OK &&
        (pkey = info->kty == AZKM_KTY_OKP ? okp_from(libctx, propq, info, a, alen)
                                          : pkey_from(libctx, propq, info, a, alen, b, blen)) == NULL)
        rc = azkm_fail_ossl(AZKM_E_CORRUPT, "remote vault %s: key %s: its JWK is not a valid public key", entry,
                            info->name);
    if (rc == AZKM_OK)
        rc = azkm_pkey_public_der(pkey, &der, &dlen);
    if (rc == AZKM_OK)
        rc = azkm_pkey_describe(pkey, &kty, &info->size, &info->curve);
    if (rc == AZKM_OK && dlen > sizeof(info->public_der))
        rc = azkm_fail(AZKM_E_UNSUPPORTED, "remote vault %s: key %s: its public key is over %d bytes", entry,
                       info->name, AZKM_PUBLIC_DER_MAX);
    if (rc == AZKM_OK) {
        memcpy(info->public_der, der, dlen);
        info->public_der_len = dlen;
    }
    EVP_PKEY_free(pkey);
    OPENSSL_free(der);
    azkm_free(a);
    azkm_free(b);
    return rc;
}

/* An oct JWK has no public part: its size is azkm's extension "key_size" (128, 192, 256), 0 when azkmd
 * left it out (an older azkmd), which only what is shown lacks: an algorithm names its size. */
static azkm_rc oct_size(const char *entry, const json_t *jwk, azkm_key_info *info)
{
    const json_t *v = json_object_get(jwk, "key_size");
    json_int_t bits = json_is_integer(v) ? json_integer_value(v) : 0;

    if (v != NULL && bits != 128 && bits != 192 && bits != 256)
        return azkm_fail(AZKM_E_CORRUPT, "remote vault %s: key %s: azkmd's oct key_size is not 128, 192 or 256",
                         entry, info->name);
    info->size = (unsigned)bits;
    return AZKM_OK;
}

static int64_t int_member(const json_t *obj, const char *member)
{
    const json_t *v = json_object_get(obj, member);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static azkm_rc read_attributes(const char *entry, const json_t *bundle, const json_t *jwk, azkm_key_info *info)
{
    const json_t *attrs = json_object_get(bundle, "attributes"), *ops = json_object_get(jwk, "key_ops"), *v;
    const json_t *tags = json_object_get(bundle, "tags");
    const char *k, *level = json_string_value(json_object_get(attrs, "recoveryLevel"));
    size_t i;

    if (!json_is_object(attrs) || !json_is_boolean(json_object_get(attrs, "enabled")) || !json_is_array(ops))
        return azkm_fail(AZKM_E_CORRUPT, "remote vault %s: key %s: azkmd's answer has no attributes or key_ops",
                         entry, info->name);
    info->attrs.enabled = json_is_true(json_object_get(attrs, "enabled"));
    info->attrs.not_before = int_member(attrs, "nbf");
    info->attrs.expires = int_member(attrs, "exp");
    info->attrs.created = int_member(attrs, "created");
    info->attrs.updated = int_member(attrs, "updated");
    info->recoverable_days = (int)int_member(attrs, "recoverableDays");
    snprintf(info->recovery_level, sizeof(info->recovery_level), "%s", level != NULL ? level : "");
    json_array_foreach(ops, i, v)
    {
        unsigned bit = 0;

        if (json_is_string(v) && azkm_ops_parse(json_string_value(v), &bit) == AZKM_OK)
            info->attrs.key_ops |= bit; /* an operation this azkm does not know is not one it performs */
    }
    json_object_foreach((json_t *)tags, k, v)
    {
        if (info->attrs.n_tags == AZKM_MAX_TAGS || !json_is_string(v))
            break;
        snprintf(info->attrs.tags[info->attrs.n_tags].name, sizeof(info->attrs.tags[0].name), "%s", k);
        snprintf(info->attrs.tags[info->attrs.n_tags].value, sizeof(info->attrs.tags[0].value), "%s",
                 json_string_value(v));
        info->attrs.n_tags++;
    }
    return AZKM_OK;
}

azkm_rc azkm_remote_bundle_info(OSSL_LIB_CTX *libctx, const char *propq, const char *entry, const json_t *bundle,
                                azkm_key_info *info)
{
    const json_t *jwk = json_object_get(bundle, "key");
    azkm_rc rc;

    memset(info, 0, sizeof(*info));
    snprintf(info->vault, sizeof(info->vault), "%s", entry);
    if (!json_is_object(jwk))
        return azkm_fail(AZKM_E_CORRUPT, "remote vault %s: azkmd's answer is not a key bundle (no \"key\")", entry);
    if ((rc = parse_kid(entry, json_string_value(json_object_get(jwk, "kid")), info)) != AZKM_OK)
        return rc;
    if (azkm_kty_parse(json_string_value(json_object_get(jwk, "kty")), &info->kty, &info->protection) != AZKM_OK)
        return azkm_fail(AZKM_E_CORRUPT, "remote vault %s: key %s: azkmd's answer has no key type azkm knows",
                         entry, info->name);
    if ((rc = info->kty == AZKM_KTY_OCT ? oct_size(entry, jwk, info)
                                        : jwk_public(libctx, propq, entry, jwk, info)) != AZKM_OK)
        return rc;
    info->current = 1;
    rc = read_attributes(entry, bundle, jwk, info);
    if (rc == AZKM_OK && info->kty == AZKM_KTY_RSA)
        rc = azkm_spki_rsa_pss_read(libctx, info->public_der, info->public_der_len, &info->pss);
    return rc;
}

void azkm_remote_json_clear_free(json_t *obj)
{
    const char *k;
    json_t *v;

    json_object_foreach(obj, k, v)
    {
        if (json_is_string(v))
            OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
    }
    json_decref(obj);
}
