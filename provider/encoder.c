/* Encoders for the private half of azkm keys. PEM PrivateKeyInfo output is a key reference file (the URI, no
 * secret), so `openssl genpkey` and `openssl pkey -out` write something that loads the vault key again; every
 * other private encoding is refused with a clear error. Public encodings are the default provider's, through
 * public export. */
#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/core_names.h>

#include "azkm/keyref.h"
#include "errors.h"
#include "key_object.h"

static OSSL_FUNC_encoder_newctx_fn enc_newctx;
static OSSL_FUNC_encoder_freectx_fn enc_freectx;
static OSSL_FUNC_encoder_does_selection_fn enc_does_selection;
static OSSL_FUNC_encoder_does_selection_fn text_does_selection;
static OSSL_FUNC_encoder_encode_fn ref_pem_encode, refuse_encode, text_encode;

typedef struct {
    AZKM_PROVCTX *provctx;
} ENC_CTX;

static void *enc_newctx(void *provctx)
{
    ENC_CTX *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx != NULL)
        ctx->provctx = provctx;
    return ctx;
}

static void enc_freectx(void *vctx)
{
    OPENSSL_free(vctx);
}

static int enc_does_selection(void *provctx, int selection)
{
    return (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0;
}

static int ref_pem_encode(void *vctx, OSSL_CORE_BIO *cout, const void *obj_raw, const OSSL_PARAM obj_abstract[],
                          int selection, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    ENC_CTX *ctx = vctx;
    const AZKM_PKEY *pk = obj_raw;
    azkm_keyref_rc rrc;
    BIO *mem = NULL;
    BUF_MEM *bm = NULL;
    size_t written = 0;
    int ok = 0;

    if (pk == NULL || pk->key == NULL || pk->ref_uri == NULL) {
        AZKM_RAISE(ctx->provctx, AZKM_R_NO_PRIVATE_KEY, "only a vault key can be written as a key reference");
        return 0;
    }
    if ((mem = BIO_new(BIO_s_mem())) == NULL)
        return 0;
    rrc = azkm_keyref_write_pem(mem, pk->ref_uri);
    if (rrc != AZKM_KEYREF_OK) {
        AZKM_RAISE(ctx->provctx, AZKM_R_BAD_REFERENCE_FILE, "key %s: %s", pk->uri, azkm_keyref_strerror(rrc));
        goto end;
    }
    BIO_get_mem_ptr(mem, &bm);
    ok = ctx->provctx->core_bio_write_ex != NULL &&
         ctx->provctx->core_bio_write_ex(cout, bm->data, bm->length, &written) && written == bm->length;
end:
    BIO_free(mem);
    return ok;
}

static int refuse_encode(void *vctx, OSSL_CORE_BIO *cout, const void *obj_raw, const OSSL_PARAM obj_abstract[],
                         int selection, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    ENC_CTX *ctx = vctx;
    const AZKM_PKEY *pk = obj_raw;

    AZKM_RAISE(ctx->provctx, AZKM_R_PRIVATE_KEY_NOT_EXPORTABLE,
               "key %s: the private key stays in its vault; only a PEM key reference (azkm key ref, or PEM "
               "output of openssl pkey/genpkey) or the public key can be written",
               pk != NULL && pk->uri != NULL ? pk->uri : "(azkm)");
    return 0;
}

static int text_does_selection(void *provctx, int selection)
{
    return 1;
}

/* `openssl pkey -text`: the key's URI and its public values; there is no private value to print. */
static int text_encode(void *vctx, OSSL_CORE_BIO *cout, const void *obj_raw, const OSSL_PARAM obj_abstract[],
                       int selection, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    ENC_CTX *ctx = vctx;
    const AZKM_PKEY *pk = obj_raw;
    BIO *mem;
    BUF_MEM *bm = NULL;
    size_t written = 0;
    int ok = 0;

    if (pk == NULL || pk->pub == NULL || (mem = BIO_new(BIO_s_mem())) == NULL)
        return 0;
    if (pk->uri != NULL && pk->key != NULL &&
        BIO_printf(mem, "azkm private key %s (held in its vault)\n", pk->uri) <= 0)
        goto end;
    if (EVP_PKEY_print_public(mem, pk->pub, 0, NULL) <= 0)
        goto end;
    BIO_get_mem_ptr(mem, &bm);
    ok = ctx->provctx->core_bio_write_ex != NULL &&
         ctx->provctx->core_bio_write_ex(cout, bm->data, bm->length, &written) && written == bm->length;
end:
    BIO_free(mem);
    return ok;
}

const OSSL_DISPATCH azkm_ref_pem_encoder_functions[] = {
    {OSSL_FUNC_ENCODER_NEWCTX, (void (*)(void))enc_newctx},
    {OSSL_FUNC_ENCODER_FREECTX, (void (*)(void))enc_freectx},
    {OSSL_FUNC_ENCODER_DOES_SELECTION, (void (*)(void))enc_does_selection},
    {OSSL_FUNC_ENCODER_ENCODE, (void (*)(void))ref_pem_encode},
    {0, NULL},
};

const OSSL_DISPATCH azkm_refuse_encoder_functions[] = {
    {OSSL_FUNC_ENCODER_NEWCTX, (void (*)(void))enc_newctx},
    {OSSL_FUNC_ENCODER_FREECTX, (void (*)(void))enc_freectx},
    {OSSL_FUNC_ENCODER_DOES_SELECTION, (void (*)(void))enc_does_selection},
    {OSSL_FUNC_ENCODER_ENCODE, (void (*)(void))refuse_encode},
    {0, NULL},
};

const OSSL_DISPATCH azkm_text_encoder_functions[] = {
    {OSSL_FUNC_ENCODER_NEWCTX, (void (*)(void))enc_newctx},
    {OSSL_FUNC_ENCODER_FREECTX, (void (*)(void))enc_freectx},
    {OSSL_FUNC_ENCODER_DOES_SELECTION, (void (*)(void))text_does_selection},
    {OSSL_FUNC_ENCODER_ENCODE, (void (*)(void))text_encode},
    {0, NULL},
};
