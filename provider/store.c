/* OSSL_STORE loader for azkm: URIs (docs/uri.md): azkm://<vault>/keys/<name>[/<version>] names one key, and
 * azkm://<vault> (or azkm://<vault>/keys) the vault's keys, listed one by one in their current versions. Keys are
 * returned by reference (OSSL_OBJECT_PARAM_REFERENCE), so that the private half stays in the keystore. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
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
    azkm_uri parsed;
    int expect;                    /* OSSL_STORE_INFO_* or 0 for anything */
    char alias[AZKM_NAME_MAX + 1]; /* OSSL_STORE_find by alias: a key name, "" for any */
    int done;
    /* a vault's keys: the list, read at the first load, and the next to hand out */
    int listing;
    int listed;
    azkm_key_info *keys;
    size_t n_keys, next;
} STORE_CTX;

/* OSSL_STORE_open looks "azkm" up among the deprecated built-in loaders first, which leaves "unregistered scheme"
 * on the error queue, and then calls us after the mark it set for that search. When we refuse the URI, that
 * unrelated line would come first: drop it (only it, and only when it is the last error, right after the mark),
 * keeping the mark where it was. */
static void drop_unregistered_scheme(void)
{
    unsigned long e = ERR_peek_last_error();

    if (ERR_GET_LIB(e) == ERR_LIB_OSSL_STORE && ERR_GET_REASON(e) == OSSL_STORE_R_UNREGISTERED_SCHEME) {
        ERR_pop_to_mark();
        ERR_set_mark();
    }
}

static void *store_open(void *provctx, const char *uri)
{
    AZKM_PROVCTX *pctx = provctx;
    STORE_CTX *ctx;
    azkm_uri parsed;

    /* Checked here so that a malformed URI fails at open with the reason, before any keystore access. */
    if (azkm_uri_parse_store(uri, &parsed) != AZKM_OK) {
        drop_unregistered_scheme();
        AZKM_RAISE(pctx, AZKM_R_INVALID_URI, "%s", azkm_last_error());
        return NULL;
    }
    ctx = OPENSSL_zalloc(sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    ctx->provctx = pctx;
    ctx->parsed = parsed;
    ctx->listing = parsed.name[0] == '\0';
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
        OSSL_PARAM_utf8_string(OSSL_STORE_PARAM_ALIAS, NULL, 0),
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
    /* A search by alias is a search by key name (compared case-insensitively, as key names are). */
    p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_ALIAS);
    if (p != NULL && !azkm_param_copy_utf8(ctx->provctx, p, ctx->alias, sizeof(ctx->alias)))
        return 0;
    return 1;
}

static int wants_keys(const STORE_CTX *ctx)
{
    /* A key URI holds nothing but keys. */
    return ctx->expect == 0 || ctx->expect == OSSL_STORE_INFO_PKEY || ctx->expect == OSSL_STORE_INFO_PUBKEY;
}

static int load_one_key(STORE_CTX *ctx, OSSL_CALLBACK *object_cb, void *object_cbarg)
{
    AZKM_PKEY *pk;
    int ok;

    ctx->done = 1;
    if (!wants_keys(ctx) || (ctx->alias[0] != '\0' && strcasecmp(ctx->alias, ctx->parsed.name) != 0))
        return 1;
    pk = azkm_pkey_load_uri(ctx->provctx, ctx->uri);
    if (pk == NULL)
        return 0;
    ok = azkm_pkey_hand_out(pk, ctx->expect != OSSL_STORE_INFO_PUBKEY, object_cb, object_cbarg);
    azkm_pkey_free(pk);
    return ok;
}

/* ---- a vault's keys ------------------------------------------------------------------------------------ */

static int read_list(STORE_CTX *ctx)
{
    azkm_keystore *ks = azkm_prov_keystore(ctx->provctx);
    azkm_vault *v = NULL;
    azkm_rc rc;

    ctx->listed = 1;
    if (ks == NULL)
        return 0;
    rc = azkm_vault_open(ks, ctx->parsed.vault, &v);
    if (rc == AZKM_OK)
        rc = azkm_key_list(v, 0, &ctx->keys, &ctx->n_keys);
    azkm_vault_close(v);
    if (rc != AZKM_OK) {
        char why[512];

        snprintf(why, sizeof(why), "%s", azkm_last_error());
        azkm_set_error(rc, "cannot list the keys of %s: %s", ctx->uri, why);
        AZKM_RAISE_RC(ctx->provctx, rc);
        return 0;
    }
    return 1;
}

/* Hands out one listed key in its current version: every key, also one that is disabled, not yet valid or expired
 * (its operations refuse it, with the reason), so that a listing shows the whole vault. */
static int hand_out_listed(STORE_CTX *ctx, const azkm_key_info *info, OSSL_CALLBACK *cb, void *cbarg)
{
    char uri[AZKM_URI_MAX];
    azkm_uri u;
    AZKM_PKEY *pk;
    int ok;

    memset(&u, 0, sizeof(u));
    snprintf(u.vault, sizeof(u.vault), "%s", info->vault);
    snprintf(u.name, sizeof(u.name), "%s", info->name);
    if (azkm_uri_format(&u, uri, sizeof(uri)) != AZKM_OK || (pk = azkm_pkey_load_uri(ctx->provctx, uri)) == NULL)
        return 0;
    ok = azkm_pkey_pass(pk, ctx->expect != OSSL_STORE_INFO_PUBKEY, cb, cbarg);
    azkm_pkey_free(pk);
    return ok;
}

/* The next listed key that the expected type and the alias let through; 1 with nothing handed out at the end. */
static int load_listed(STORE_CTX *ctx, OSSL_CALLBACK *object_cb, void *object_cbarg)
{
    int handed = 0;

    if (!ctx->listed && !read_list(ctx)) {
        ctx->done = 1;
        return 0;
    }
    while (!handed && ctx->next < ctx->n_keys && wants_keys(ctx)) {
        const azkm_key_info *info = &ctx->keys[ctx->next++];

        if (info->kty == AZKM_KTY_OCT || (ctx->alias[0] != '\0' && strcasecmp(ctx->alias, info->name) != 0))
            continue;
        if (info->integrity_error) {
            AZKM_RAISE(ctx->provctx, AZKM_R_INTEGRITY,
                       "vault %s: key %s failed its integrity check: its record was changed outside azkm",
                       info->vault, info->name);
            return 0;
        }
        handed = 1;
        if (!hand_out_listed(ctx, info, object_cb, object_cbarg))
            return 0;
    }
    if (!handed)
        ctx->done = 1;
    return 1;
}

static int store_load(void *loaderctx, OSSL_CALLBACK *object_cb, void *object_cbarg,
                      OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    STORE_CTX *ctx = loaderctx;

    if (ctx->done)
        return 0;
    return ctx->listing ? load_listed(ctx, object_cb, object_cbarg) : load_one_key(ctx, object_cb, object_cbarg);
}

static int store_eof(void *loaderctx)
{
    STORE_CTX *ctx = loaderctx;

    if (ctx->listing && ctx->listed && ctx->next >= ctx->n_keys)
        return 1;
    return ctx->done;
}

static int store_close(void *loaderctx)
{
    STORE_CTX *ctx = loaderctx;

    if (ctx == NULL)
        return 1;
    azkm_free(ctx->keys);
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
