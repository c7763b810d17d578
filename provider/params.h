/* Reading and returning the parameters of the operations: every failure raises a bad-parameter error naming the
 * parameter and the problem. Digests by name and property query, RSA padding modes by name or number. */
#ifndef AZKM_PROV_PARAMS_H
#define AZKM_PROV_PARAMS_H

#include <stddef.h>

#include <openssl/core.h>
#include <openssl/evp.h>
#include <openssl/macros.h>

#include "provctx.h"

/* Raises AZKM_R_BAD_PARAMETER: "parameter <key>: <problem>". Returns 0, for `return AZKM_PARAM_BAD(...)`. */
int azkm_param_bad(AZKM_PROVCTX *pctx, const char *file, int line, const char *func, const char *key,
                   const char *problem);
#define AZKM_PARAM_BAD(pctx, key, problem)                                                                         \
    azkm_param_bad((pctx), OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC, (key), (problem))

/* Readers for set_params: 1, or 0 with the error raised when p is not of the type. */
int azkm_param_get_utf8(AZKM_PROVCTX *pctx, const OSSL_PARAM *p, const char **s);
int azkm_param_copy_utf8(AZKM_PROVCTX *pctx, const OSSL_PARAM *p, char *buf, size_t size);
int azkm_param_get_int(AZKM_PROVCTX *pctx, const OSSL_PARAM *p, int *v);
int azkm_param_get_uint(AZKM_PROVCTX *pctx, const OSSL_PARAM *p, unsigned int *v);
/* A copy of the octet string p holds, in *buf (OPENSSL_malloc). */
int azkm_param_get_octets(AZKM_PROVCTX *pctx, const OSSL_PARAM *p, void **buf, size_t *len);

/* Writers for get_params: 1, or 0 with the error raised when p cannot hold the value. */
int azkm_param_set_utf8(AZKM_PROVCTX *pctx, OSSL_PARAM *p, const char *s);
/* For a string that lives as long as the provider: the parameter points at it. */
int azkm_param_set_utf8_ptr(AZKM_PROVCTX *pctx, OSSL_PARAM *p, const char *s);
int azkm_param_set_int(AZKM_PROVCTX *pctx, OSSL_PARAM *p, int v);
int azkm_param_set_uint(AZKM_PROVCTX *pctx, OSSL_PARAM *p, unsigned int v);
int azkm_param_set_octets(AZKM_PROVCTX *pctx, OSSL_PARAM *p, const void *buf, size_t len);
int azkm_param_set_octet_ptr(AZKM_PROVCTX *pctx, OSSL_PARAM *p, const void *buf, size_t len);

/* The digest named by parameter name_key of params, fetched under the property query in props_key when params
 * carry one (both read together, as OpenSSL's own providers read them), replaces *slot. 1 when params name none. */
int azkm_param_md(AZKM_PROVCTX *pctx, const OSSL_PARAM params[], const char *name_key, const char *props_key,
                  EVP_MD **slot);

/* An RSA padding mode given by number or by name ("pkcs1", "pss", "oaep", ...); *mode is -1 for a name that is
 * none of these. The caller checks the mode against those it supports. */
int azkm_param_get_pad_mode(AZKM_PROVCTX *pctx, const OSSL_PARAM *p, int *mode);
/* Returns mode as a number or, to a UTF-8 string parameter, by name. */
int azkm_param_set_pad_mode(AZKM_PROVCTX *pctx, OSSL_PARAM *p, int mode);

#endif
