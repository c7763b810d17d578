/* Reading and returning the parameters of the operations, digests by name and property query and RSA padding modes
 * by name or number among them. Every failure raises a bad-parameter error naming the parameter and the problem, so
 * that a caller of EVP_PKEY_CTX_set_params learns which of its settings was wrong. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "digest.h"
#include "errors.h"
#include "params.h"

int azkm_param_bad(AZKM_PROVCTX *pctx, const char *file, int line, const char *func, const char *key,
                   const char *problem)
{
    azkm_raise(pctx, file, line, func, AZKM_R_BAD_PARAMETER, "parameter %s: %s", key, problem);
    return 0;
}

/* ---- set_params: reading ------------------------------------------------------------------------------- */

int azkm_param_get_utf8(AZKM_PROVCTX *pctx, const OSSL_PARAM *p, const char **s)
{
    return OSSL_PARAM_get_utf8_string_ptr(p, s) || AZKM_PARAM_BAD(pctx, p->key, "not a UTF-8 string");
}

int azkm_param_copy_utf8(AZKM_PROVCTX *pctx, const OSSL_PARAM *p, char *buf, size_t size)
{
    char *s = buf;

    if (OSSL_PARAM_get_utf8_string(p, &s, size))
        return 1;
    AZKM_RAISE(pctx, AZKM_R_BAD_PARAMETER, "parameter %s: a string of at most %zu characters", p->key, size - 1);
    return 0;
}

int azkm_param_get_int(AZKM_PROVCTX *pctx, const OSSL_PARAM *p, int *v)
{
    return OSSL_PARAM_get_int(p, v) || AZKM_PARAM_BAD(pctx, p->key, "not an integer that fits an int");
}

int azkm_param_get_uint(AZKM_PROVCTX *pctx, const OSSL_PARAM *p, unsigned int *v)
{
    return OSSL_PARAM_get_uint(p, v) ||
           AZKM_PARAM_BAD(pctx, p->key, "not an unsigned integer that fits an unsigned int");
}

int azkm_param_get_octets(AZKM_PROVCTX *pctx, const OSSL_PARAM *p, void **buf, size_t *len)
{
    return OSSL_PARAM_get_octet_string(p, buf, 0, len) || AZKM_PARAM_BAD(pctx, p->key, "not an octet string");
}

/* ---- get_params: returning ----------------------------------------------------------------------------- */

/* OSSL_PARAM_set_* fail on a parameter of another type or a buffer too small for the value. */
static int returned(AZKM_PROVCTX *pctx, const OSSL_PARAM *p, int ok)
{
    return ok || AZKM_PARAM_BAD(pctx, p->key, "the value does not fit the parameter's type or buffer");
}

int azkm_param_set_utf8(AZKM_PROVCTX *pctx, OSSL_PARAM *p, const char *s)
{
    return returned(pctx, p, OSSL_PARAM_set_utf8_string(p, s));
}

int azkm_param_set_utf8_ptr(AZKM_PROVCTX *pctx, OSSL_PARAM *p, const char *s)
{
    return returned(pctx, p, OSSL_PARAM_set_utf8_ptr(p, s));
}

int azkm_param_set_int(AZKM_PROVCTX *pctx, OSSL_PARAM *p, int v)
{
    return returned(pctx, p, OSSL_PARAM_set_int(p, v));
}

int azkm_param_set_uint(AZKM_PROVCTX *pctx, OSSL_PARAM *p, unsigned int v)
{
    return returned(pctx, p, OSSL_PARAM_set_uint(p, v));
}

int azkm_param_set_octets(AZKM_PROVCTX *pctx, OSSL_PARAM *p, const void *buf, size_t len)
{
    return returned(pctx, p, OSSL_PARAM_set_octet_string(p, buf, len));
}

int azkm_param_set_octet_ptr(AZKM_PROVCTX *pctx, OSSL_PARAM *p, const void *buf, size_t len)
{
    return returned(pctx, p, OSSL_PARAM_set_octet_ptr(p, buf, len));
}

/* ---- digests ------------------------------------------------------------------------------------------- */

int azkm_param_md(AZKM_PROVCTX *pctx, const OSSL_PARAM params[], const char *name_key, const char *props_key,
                  EVP_MD **slot)
{
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, name_key), *pp;
    const char *name = NULL, *props = NULL;

    if (p == NULL)
        return 1;
    if (!azkm_param_get_utf8(pctx, p, &name))
        return 0;
    if ((pp = OSSL_PARAM_locate_const(params, props_key)) != NULL && !azkm_param_get_utf8(pctx, pp, &props))
        return 0;
    return azkm_md_choose(pctx, slot, name, props);
}

/* ---- RSA padding modes --------------------------------------------------------------------------------- */

/* By name as OpenSSL spells them. The TLS premaster padding is PKCS#1 v1.5 to a caller asking for a name; a name
 * finds the first entry, plain PKCS#1 v1.5. */
static const OSSL_ITEM pad_names[] = {
    {RSA_PKCS1_PADDING, OSSL_PKEY_RSA_PAD_MODE_PKCSV15},
    {RSA_PKCS1_PSS_PADDING, OSSL_PKEY_RSA_PAD_MODE_PSS},
    {RSA_PKCS1_OAEP_PADDING, OSSL_PKEY_RSA_PAD_MODE_OAEP},
    {RSA_NO_PADDING, OSSL_PKEY_RSA_PAD_MODE_NONE},
    {RSA_X931_PADDING, OSSL_PKEY_RSA_PAD_MODE_X931},
    {RSA_PKCS1_WITH_TLS_PADDING, OSSL_PKEY_RSA_PAD_MODE_PKCSV15},
};

int azkm_param_get_pad_mode(AZKM_PROVCTX *pctx, const OSSL_PARAM *p, int *mode)
{
    const char *s = NULL;

    *mode = -1;
    if (p->data_type != OSSL_PARAM_UTF8_STRING)
        return azkm_param_get_int(pctx, p, mode);
    if (!azkm_param_get_utf8(pctx, p, &s))
        return 0;
    for (size_t i = 0; i < sizeof(pad_names) / sizeof(pad_names[0]) && *mode < 0; i++)
        if (strcmp(s, pad_names[i].ptr) == 0)
            *mode = (int)pad_names[i].id;
    return 1;
}

int azkm_param_set_pad_mode(AZKM_PROVCTX *pctx, OSSL_PARAM *p, int mode)
{
    if (p->data_type != OSSL_PARAM_UTF8_STRING)
        return azkm_param_set_int(pctx, p, mode);
    for (size_t i = 0; i < sizeof(pad_names) / sizeof(pad_names[0]); i++)
        if ((int)pad_names[i].id == mode)
            return azkm_param_set_utf8(pctx, p, pad_names[i].ptr);
    return AZKM_PARAM_BAD(pctx, p->key, "the padding mode has no name");
}
