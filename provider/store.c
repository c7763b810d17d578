/* OSSL_STORE loader for azkm://<vault>/keys/<name>[/<version>] URIs (docs/uri.md). A URI names one key; it is
 * returned by reference (OSSL_OBJECT_PARAM_REFERENCE) so that the private half stays in the keystore. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/store.h>

#include "errors.h"
#include "key_object.h"
#include "params.h"

static OSSL_FUNC_store_open_fn store_open;
static OSSL_FUNC_store_settable_ctx_params_fn store_settable_ctx_params;
static OSSL_FUNC_store_set_ctx_params_fn store_set_ctx_params;
static OSSL_FUNC_store_load_fn store_load;
static OSSL_FUNC_store_eof_fn store_eof;
static OSSL_FUNC_store_close_fn store_close;

typedef struct {
    AZKM_PROVCTX *provctx;
    char *uri;
    int expect; /* OSSL_STORE_INFO_* or 0 for anything */
    int done;
} STORE_CTX;

static void *store_open(void *provctx, const char *uri)
{
    AZKM_PROVCTX *pctx = provctx;
    STORE_CTX *ctx;
    azkm_uri parsed;

    /* Checked here so that a malformed URI fails at open with the reason, before any keystore access. */
    if (azkm_uri_parse(uri, &parsed) != AZKM_OK) {
        AZKM_RAISE(pctx, AZKM_R_INVALID_URI, "%s", azkm_last_error());
        return NULL;
    }
    ctx = OPENSSL_zalloc(sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    ctx->provctx = pctx;
    ctx->uri = OPENSSL_strdup(uri);
    if (ctx->uri == NULL) {
        OPENSSL_free(ctx);
        return NULL;
    }
    return ctx;
}

static const OSSL_PARAM *store_settable_ctx_params(void *provctx)
{
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
        OSSL_PARAM_END,
    };
    return params;
}

static int store_set_ctx_params(void *loaderctx, const OSSL_PARAM params[])
{
    STORE_CTX *ctx = loaderctx;
    const OSSL_PARAM *p;

    if (params == NULL)
        return 1;
    p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);
    if (p != NULL && !azkm_param_get_int(ctx->provctx, p, &ctx->expect))
        return 0;
    return 1;
}

static int store_load(void *loaderctx, OSSL_CALLBACK *object_cb, void *object_cbarg,
                      OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    STORE_CTX *ctx = loaderctx;
    AZKM_PKEY *pk;
    int ok;

    if (ctx->done)
        return 0;
    ctx->done = 1;
    /* A key URI holds nothing but a key. */
    if (ctx->expect != 0 && ctx->expect != OSSL_STORE_INFO_PKEY && ctx->expect != OSSL_STORE_INFO_PUBKEY)
        return 1;
    pk = azkm_pkey_load_uri(ctx->provctx, ctx->uri);
    if (pk == NULL)
        return 0;
    ok = azkm_pkey_hand_out(pk, ctx->expect != OSSL_STORE_INFO_PUBKEY, object_cb, object_cbarg);
    azkm_pkey_free(pk);
    return ok;
}

static int store_eof(void *loaderctx)
{
    STORE_CTX *ctx = loaderctx;

    return ctx->done;
}

static int store_close(void *loaderctx)
{
    STORE_CTX *ctx = loaderctx;

    if (ctx == NULL)
        return 1;
    OPENSSL_free(ctx->uri);
    OPENSSL_free(ctx);
    return 1;
}

const OSSL_DISPATCH azkm_store_functions[] = {
    {OSSL_FUNC_STORE_OPEN, (void (*)(void))store_open},
    {OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, (void (*)(void))store_settable_ctx_params},
    {OSSL_FUNC_STORE_SET_CTX_PARAMS, (void (*)(void))store_set_ctx_params},
    {OSSL_FUNC_STORE_LOAD, (void (*)(void))store_load},
    {OSSL_FUNC_STORE_EOF, (void (*)(void))store_eof},
    {OSSL_FUNC_STORE_CLOSE, (void (*)(void))store_close},
    {0, NULL},
};
