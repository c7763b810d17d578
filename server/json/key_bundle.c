/* KeyBundle and KeyItem JSON from azkm_key_info: the JWK's public parts decoded from the stored
 * SubjectPublicKeyInfo, binary fields base64url without padding, times as epoch seconds, as Key Vault's keys API
 * returns them. */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "azkm/base64.h"
#include "json/key_bundle.h"

int azkmd_kid(const char *origin, const char *name, const char *version, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/keys/%s%s%s", origin, name, version != NULL && *version ? "/" : "",
                     version != NULL ? version : "");

    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* Decoding a SubjectPublicKeyInfo through OpenSSL 3's decoders (d2i_PUBKEY) costs more than an ECDSA signature,
 * and a version's public key never changes: each thread keeps the JWK fields of the last PUBLIC_CACHE public keys
 * it decoded, keyed by the DER bytes themselves (a hit is the same public key by construction; nothing to
 * invalidate). Plain arrays in thread-local storage: nothing to free when a thread ends. */
#define PUBLIC_CACHE 16
#define B64_MAX 700 /* base64url of an RSA-4096 modulus: 683 characters */

typedef struct {
    size_t der_len;
    unsigned char der[AZKM_PUBLIC_DER_MAX];
    char first[B64_MAX], second[B64_MAX]; /* RSA n and e, EC x and y, OKP x */
} public_jwk;

static _Thread_local public_jwk public_cache[PUBLIC_CACHE];
static _Thread_local size_t public_next;

static int b64url_into(char *out, const unsigned char *p, size_t len)
{
    char *text = azkm_b64url_encode(p, len);
    int ret = text != NULL && strlen(text) < B64_MAX ? 0 : -1;

    if (ret == 0)
        memcpy(out, text, strlen(text) + 1);
    azkm_free(text);
    return ret;
}

/* Big-endian bytes of an RSA parameter, without leading zeros (JWK's n and e). */
static int get_bn(char *out, const EVP_PKEY *pk, const char *param)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    int n, ret = -1;

    if (EVP_PKEY_get_bn_param(pk, param, &bn) == 1 && (n = BN_num_bytes(bn)) <= (int)sizeof(buf) &&
        BN_bn2bin(bn, buf) == n)
        ret = b64url_into(out, buf, (size_t)n);
    BN_free(bn);
    return ret;
}

/* EC: the uncompressed point 04 || x || y split into JWK's x and y. */
static int get_ec_point(public_jwk *out, const EVP_PKEY *pk)
{
    unsigned char pt[1 + 2 * 66];
    size_t len = 0, half;

    if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &len) != 1 ||
        len < 3 || pt[0] != 0x04 || (len - 1) % 2 != 0)
        return -1;
    half = (len - 1) / 2;
    return b64url_into(out->first, pt + 1, half) == 0 && b64url_into(out->second, pt + 1 + half, half) == 0 ? 0
                                                                                                            : -1;
}

/* OKP (RFC 8037): x is the raw public key (32 bytes for Ed25519, 57 for Ed448). */
static int get_raw_public(char *out, const EVP_PKEY *pk)
{
    unsigned char raw[64];
    size_t len = sizeof(raw);

    return EVP_PKEY_get_raw_public_key(pk, raw, &len) == 1 ? b64url_into(out, raw, len) : -1;
}

static int decode_public(const azkm_key_info *info, public_jwk *out)
{
    const unsigned char *p = info->public_der;
    EVP_PKEY *pk;
    int ret;

    if (info->public_der_len > sizeof(out->der) || (pk = d2i_PUBKEY(NULL, &p, (long)info->public_der_len)) == NULL)
        return -1;
    if (info->kty == AZKM_KTY_RSA)
        ret = get_bn(out->first, pk, OSSL_PKEY_PARAM_RSA_N) == 0 &&
                      get_bn(out->second, pk, OSSL_PKEY_PARAM_RSA_E) == 0
                  ? 0
                  : -1;
    else if (info->kty == AZKM_KTY_OKP)
        ret = get_raw_public(out->first, pk);
    else
        ret = get_ec_point(out, pk);
    EVP_PKEY_free(pk);
    if (ret == 0) {
        memcpy(out->der, info->public_der, info->public_der_len);
        out->der_len = info->public_der_len;
    }
    return ret;
}

static const public_jwk *find_public(const azkm_key_info *info)
{
    public_jwk *slot;

    for (size_t i = 0; i < PUBLIC_CACHE; i++)
        if (public_cache[i].der_len == info->public_der_len &&
            memcmp(public_cache[i].der, info->public_der, info->public_der_len) == 0)
            return &public_cache[i];
    slot = &public_cache[public_next++ % PUBLIC_CACHE];
    slot->der_len = 0;
    return decode_public(info, slot) == 0 ? slot : NULL;
}

static int add_public(json_t *jwk, const azkm_key_info *info)
{
    const public_jwk *pub;
    int rsa = info->kty == AZKM_KTY_RSA;

    if (info->kty == AZKM_KTY_OCT) /* no public part; its size is azkm's extension, for the remote tier */
        return info->size != 0 ? json_object_set_new(jwk, "key_size", json_integer(info->size)) : 0;
    if (info->public_der_len == 0 || (pub = find_public(info)) == NULL)
        return -1;
    if (!rsa && json_object_set_new(jwk, "crv", json_string(azkm_curve_name(info->curve))) != 0)
        return -1;
    if (info->kty == AZKM_KTY_OKP)
        return json_object_set_new(jwk, "x", json_string(pub->first));
    return json_object_set_new(jwk, rsa ? "n" : "x", json_string(pub->first)) == 0 &&
                   json_object_set_new(jwk, rsa ? "e" : "y", json_string(pub->second)) == 0
               ? 0
               : -1;
}

static json_t *key_ops_json(unsigned ops)
{
    json_t *arr = json_array();

    for (unsigned bit = 1; arr != NULL && bit <= AZKM_OP_IMPORT; bit <<= 1)
        if (ops & bit)
            json_array_append_new(arr, json_string(azkm_op_name(bit)));
    return arr;
}

static json_t *attributes_json(const azkm_key_info *info)
{
    json_t *a = json_object();

    json_object_set_new(a, "enabled", json_boolean(info->attrs.enabled));
    if (info->attrs.not_before)
        json_object_set_new(a, "nbf", json_integer(info->attrs.not_before));
    if (info->attrs.expires)
        json_object_set_new(a, "exp", json_integer(info->attrs.expires));
    json_object_set_new(a, "created", json_integer(info->attrs.created));
    json_object_set_new(a, "updated", json_integer(info->attrs.updated));
    json_object_set_new(a, "recoveryLevel", json_string(info->recovery_level));
    json_object_set_new(a, "recoverableDays", json_integer(info->recoverable_days));
    json_object_set_new(a, "exportable", json_false());
    return a;
}

/* Key Vault leaves "tags" out of a key without tags. */
static void add_tags(json_t *obj, const azkm_key_info *info)
{
    json_t *tags;

    if (info->attrs.n_tags == 0 || (tags = json_object()) == NULL)
        return;
    for (size_t i = 0; i < info->attrs.n_tags; i++)
        json_object_set_new(tags, info->attrs.tags[i].name, json_string(info->attrs.tags[i].value));
    json_object_set_new(obj, "tags", tags);
}

json_t *azkmd_key_bundle(const azkm_key_info *info, const char *origin)
{
    char kid[AZKM_URI_MAX + 128];
    json_t *bundle = json_object(), *jwk = json_object();

    if (bundle == NULL || jwk == NULL || azkmd_kid(origin, info->name, info->version, kid, sizeof(kid)) != 0)
        goto fail;
    json_object_set_new(jwk, "kid", json_string(kid));
    json_object_set_new(jwk, "kty", json_string(azkm_kty_name(info->kty, info->protection)));
    json_object_set_new(jwk, "key_ops", key_ops_json(info->attrs.key_ops));
    if (add_public(jwk, info) != 0)
        goto fail;
    json_object_set_new(bundle, "key", jwk);
    json_object_set_new(bundle, "attributes", attributes_json(info));
    add_tags(bundle, info);
    return bundle;
fail:
    json_decref(jwk);
    json_decref(bundle);
    return NULL;
}

json_t *azkmd_key_item(const azkm_key_info *info, const char *origin, int with_version)
{
    char kid[AZKM_URI_MAX + 128];
    json_t *item = json_object();

    if (item == NULL || azkmd_kid(origin, info->name, with_version ? info->version : NULL, kid, sizeof(kid)) != 0) {
        json_decref(item);
        return NULL;
    }
    json_object_set_new(item, "kid", json_string(kid));
    json_object_set_new(item, "attributes", attributes_json(info));
    add_tags(item, info);
    return item;
}

void azkmd_add_deleted(json_t *obj, const azkm_key_info *info, const char *origin)
{
    char rid[AZKM_URI_MAX + 128];

    if (obj == NULL || info->deleted_on == 0)
        return;
    snprintf(rid, sizeof(rid), "%s/deletedkeys/%s", origin, info->name);
    json_object_set_new(obj, "recoveryId", json_string(rid));
    json_object_set_new(obj, "deletedDate", json_integer(info->deleted_on));
    json_object_set_new(obj, "scheduledPurgeDate", json_integer(info->scheduled_purge));
}
