/* JSON Web Key export of public keys (see jwk.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <azkm/base64.h>

#include "jwk.h"

int jwk_kid(const azkm_key_info *info, char *buf, size_t len)
{
    azkm_uri uri;

    memset(&uri, 0, sizeof(uri));
    strcpy(uri.vault, info->vault);
    strcpy(uri.name, info->name);
    strcpy(uri.version, info->version);
    return azkm_uri_format(&uri, buf, len) == AZKM_OK ? 0 : -1;
}

/* key_ops as a JSON array of Azure names. */
static json_t *jwk_ops(unsigned ops)
{
    json_t *arr = json_array();

    for (unsigned bit = 1; arr != NULL && (bit & AZKM_OP_ALL); bit <<= 1)
        if (ops & bit)
            json_array_append_new(arr, json_string(azkm_op_name(bit)));
    return arr;
}

/* Sets obj[field] to the base64url of the big-endian number, left-padded to width bytes (0: minimal). */
static int set_bn(json_t *obj, const char *field, const EVP_PKEY *pk, const char *param, int width)
{
    BIGNUM *bn = NULL;
    unsigned char *bin = NULL;
    char *txt = NULL;
    int n, ok = 0;

    if (!EVP_PKEY_get_bn_param(pk, param, &bn))
        return 0;
    n = width > 0 ? width : BN_num_bytes(bn);
    if ((bin = OPENSSL_malloc(n > 0 ? n : 1)) == NULL || BN_bn2binpad(bn, bin, n) != n)
        goto end;
    if ((txt = azkm_b64url_encode(bin, (size_t)n)) == NULL)
        goto end;
    ok = json_object_set_new(obj, field, json_string(txt)) == 0;
end:
    azkm_free(txt);
    OPENSSL_free(bin);
    BN_free(bn);
    return ok;
}

/* RFC 8037: an OKP key's "x" is the raw public key. */
static int set_raw_public(json_t *obj, const EVP_PKEY *pk)
{
    unsigned char raw[57];
    size_t n = sizeof(raw);
    char *txt;
    int ok;

    if (!EVP_PKEY_get_raw_public_key(pk, raw, &n) || (txt = azkm_b64url_encode(raw, n)) == NULL)
        return 0;
    ok = json_object_set_new(obj, "x", json_string(txt)) == 0;
    azkm_free(txt);
    return ok;
}

static int add_public(json_t *obj, const azkm_key_info *info)
{
    const unsigned char *p = info->public_der;
    EVP_PKEY *pk;
    int ok = 0;

    if (info->public_der_len == 0)
        return 1; /* oct: nothing public */
    if ((pk = d2i_PUBKEY(NULL, &p, (long)info->public_der_len)) == NULL)
        return 0;
    if (info->kty == AZKM_KTY_RSA) {
        ok = set_bn(obj, "n", pk, OSSL_PKEY_PARAM_RSA_N, 0) && set_bn(obj, "e", pk, OSSL_PKEY_PARAM_RSA_E, 0);
    } else if (info->kty == AZKM_KTY_EC) {
        int width = (azkm_curve_bits(info->curve) + 7) / 8;

        ok = json_object_set_new(obj, "crv", json_string(azkm_curve_name(info->curve))) == 0 &&
             set_bn(obj, "x", pk, OSSL_PKEY_PARAM_EC_PUB_X, width) &&
             set_bn(obj, "y", pk, OSSL_PKEY_PARAM_EC_PUB_Y, width);
    } else if (info->kty == AZKM_KTY_OKP) {
        ok = json_object_set_new(obj, "crv", json_string(azkm_curve_name(info->curve))) == 0 &&
             set_raw_public(obj, pk);
    }
    EVP_PKEY_free(pk);
    return ok;
}

json_t *jwk_from_info(const azkm_key_info *info, int plain_kty)
{
    char kid[AZKM_URI_MAX];
    json_t *obj = json_object();
    azkm_protection prot = plain_kty ? AZKM_PROTECTION_SOFTWARE : info->protection;

    if (obj == NULL || jwk_kid(info, kid, sizeof(kid)) != 0)
        goto err;
    json_object_set_new(obj, "kid", json_string(kid));
    json_object_set_new(obj, "kty", json_string(azkm_kty_name(info->kty, prot)));
    json_object_set_new(obj, "key_ops", jwk_ops(info->attrs.key_ops));
    if (!add_public(obj, info))
        goto err;
    return obj;
err:
    json_decref(obj);
    return NULL;
}
