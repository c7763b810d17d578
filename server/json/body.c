/* Typed access to the fields of a request's JSON body, and the ECDSA signature encodings of the wire (r||s) and of
 * the keystore (DER). */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>

#include "azkm/base64.h"
#include "json/body.h"

static azkm_rc absent(const char *field, int required)
{
    return required ? azkm_set_error(AZKM_E_INVALID, "the request body has no '%s'", field) : AZKM_OK;
}

azkm_rc azkmd_body_string(const json_t *body, const char *field, int required, const char **out)
{
    const json_t *v = json_object_get(body, field);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return absent(field, required);
    if (!json_is_string(v))
        return azkm_set_error(AZKM_E_INVALID, "'%s' must be a string", field);
    *out = json_string_value(v);
    return AZKM_OK;
}

azkm_rc azkmd_body_bytes(const json_t *body, const char *field, int required, unsigned char **out, size_t *len)
{
    const char *text;
    azkm_rc rc;

    *out = NULL;
    *len = 0;
    if ((rc = azkmd_body_string(body, field, required, &text)) != AZKM_OK || text == NULL)
        return rc;
    if (strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=") != strlen(text))
        return azkm_set_error(AZKM_E_INVALID, "'%s' is not base64url", field);
    if (azkm_b64_decode(text, out, len) != AZKM_OK)
        return azkm_set_error(AZKM_E_INVALID, "'%s' is not base64url", field);
    return AZKM_OK;
}

azkm_rc azkmd_body_int(const json_t *body, const char *field, json_int_t *out, int *present)
{
    const json_t *v = json_object_get(body, field);

    *present = 0;
    if (v == NULL || json_is_null(v))
        return AZKM_OK;
    if (!json_is_integer(v))
        return azkm_set_error(AZKM_E_INVALID, "'%s' must be an integer", field);
    *out = json_integer_value(v);
    *present = 1;
    return AZKM_OK;
}

azkm_rc azkmd_body_bool(const json_t *body, const char *field, int *out, int *present)
{
    const json_t *v = json_object_get(body, field);

    *present = 0;
    if (v == NULL || json_is_null(v))
        return AZKM_OK;
    if (!json_is_boolean(v))
        return azkm_set_error(AZKM_E_INVALID, "'%s' must be true or false", field);
    *out = json_is_true(v);
    *present = 1;
    return AZKM_OK;
}

azkm_rc azkmd_body_object(const json_t *body, const char *field, json_t **out)
{
    json_t *v = json_object_get(body, field);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return AZKM_OK;
    if (!json_is_object(v))
        return azkm_set_error(AZKM_E_INVALID, "'%s' must be an object", field);
    *out = v;
    return AZKM_OK;
}

azkm_rc azkmd_ecdsa_der_to_raw(const unsigned char *der, size_t len, size_t half, unsigned char *out,
                               size_t *outlen)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
    const BIGNUM *r, *s;
    int ok;

    if (sig == NULL)
        return azkm_set_error(AZKM_E_CRYPTO, "the keystore's ECDSA signature is not DER");
    ECDSA_SIG_get0(sig, &r, &s);
    ok = BN_bn2binpad(r, out, (int)half) == (int)half && BN_bn2binpad(s, out + half, (int)half) == (int)half;
    ECDSA_SIG_free(sig);
    *outlen = 2 * half;
    return ok ? AZKM_OK : azkm_set_error(AZKM_E_CRYPTO, "ECDSA signature larger than the curve");
}

azkm_rc azkmd_ecdsa_raw_to_der(const unsigned char *raw, size_t len, unsigned char **der, size_t *derlen)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(len / 2), NULL), *s = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL);
    int n = -1;

    *der = NULL;
    if (sig != NULL && r != NULL && s != NULL && len % 2 == 0 && len > 0 && ECDSA_SIG_set0(sig, r, s) == 1) {
        r = s = NULL;
        n = i2d_ECDSA_SIG(sig, der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    if (n <= 0)
        return azkm_set_error(AZKM_E_INVALID, "'value' is not an ECDSA signature r||s");
    *derlen = (size_t)n;
    return AZKM_OK;
}

void azkmd_json_wipe(json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;

    if (json_is_string(v)) {
        /* The string's own buffer, owned by v: cleared in place, its length kept. */
        OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
    } else if (json_is_object(v)) {
        json_object_foreach(v, key, item)
        {
            azkmd_json_wipe(item);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, item)
        {
            azkmd_json_wipe(item);
        }
    }
}
