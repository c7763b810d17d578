/* Decoders for key reference files: "DER" from PEM that recognises only the AZKM KEY REFERENCE label (any other
 * PEM is left alone: empty-handed, not an error), and RSA / EC / Ed25519 / Ed448 key decoders from that DER
 * structure to a key reference, so PEM_read_bio_PrivateKey in an unmodified application loads a vault key. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "azkm/keyref.h"
#include "algorithms.h"
#include "errors.h"
#include "key_object.h"

static OSSL_FUNC_decoder_newctx_fn dec_newctx;
static OSSL_FUNC_decoder_freectx_fn dec_freectx;
static OSSL_FUNC_decoder_decode_fn pem2der_decode;
static OSSL_FUNC_decoder_decode_fn ref2rsa_decode, ref2ec_decode, ref2ed25519_decode, ref2ed448_decode;
static OSSL_FUNC_decoder_does_selection_fn ref_does_selection;
static OSSL_FUNC_decoder_export_object_fn ref_export_object;

/* A key reference file is a few hundred bytes; anything larger than this is not one. */
#define REF_INPUT_MAX (256 * 1024)

typedef struct {
    AZKM_PROVCTX *provctx;
} DEC_CTX;

/* Set while our PEM decoder hands on the body of an AZKM KEY REFERENCE block. OpenSSL 3.0 also offers our
 * reference decoders any DER it is asked to decode (d2i_PrivateKey and friends): such DER is somebody else's, and
 * a reference decoder must leave it alone quietly. The error queue holds only 16 entries, and Apache's key loader
 * tries PEM, base64 and raw DER in a row: noise from us there pushes the real reason (say, "key ... is disabled")
 * out of the server's log. A damaged body inside our own PEM block is still reported. */
static __thread int decoding_our_pem;
/* The key our PEM decoder loaded to check the file, handed to the reference decoders it calls (the same URI). */
static __thread AZKM_PKEY *preloaded;

static void *dec_newctx(void *provctx)
{
    DEC_CTX *ctx = OPENSSL_zalloc(sizeof(*ctx));

    if (ctx != NULL)
        ctx->provctx = provctx;
    return ctx;
}

static void dec_freectx(void *vctx)
{
    OPENSSL_free(vctx);
}

/* Reads the whole input into memory; returns 0 when it is unreadable or larger than REF_INPUT_MAX. */
static int read_all(AZKM_PROVCTX *pctx, OSSL_CORE_BIO *cin, unsigned char **data, size_t *len)
{
    size_t cap = 4096, used = 0, n;
    unsigned char *buf = OPENSSL_malloc(cap), *tmp;

    if (buf == NULL || pctx->core_bio_read_ex == NULL)
        goto err;
    for (;;) {
        if (used == cap) {
            if (cap >= REF_INPUT_MAX || (tmp = OPENSSL_realloc(buf, cap * 2)) == NULL)
                goto err;
            buf = tmp;
            cap *= 2;
        }
        n = 0;
        if (!pctx->core_bio_read_ex(cin, buf + used, cap - used, &n) || n == 0)
            break;
        used += n;
    }
    *data = buf;
    *len = used;
    return 1;
err:
    OPENSSL_free(buf);
    return 0;
}

static int wants_private(int selection)
{
    return selection == 0 || (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0;
}

/* The key a reference file names, loaded (and, for a private key, checked for use) here, in the first decoder of
 * the chain: OpenSSL's file: store (openssl pkey -in, storeutl) keeps the errors of this decoder only, so that a
 * damaged file or a key that cannot be loaded is reported with its reason, also there. */
static AZKM_PKEY *reference_key(DEC_CTX *ctx, const unsigned char *der, size_t der_len, int selection)
{
    char *uri = NULL;
    azkm_keyref_rc rrc;
    AZKM_PKEY *pk = NULL;

    /* ASN.1's own account of a damaged body says less than ours, and would come first. */
    ERR_set_mark();
    rrc = azkm_keyref_decode_der(der, der_len, &uri);
    ERR_pop_to_mark();
    if (rrc != AZKM_KEYREF_OK)
        AZKM_RAISE(ctx->provctx, AZKM_R_BAD_REFERENCE_FILE, "%s", azkm_keyref_strerror(rrc));
    else if ((pk = azkm_pkey_load_uri(ctx->provctx, uri)) != NULL && wants_private(selection) &&
             !azkm_pkey_check_private_use(pk)) {
        azkm_pkey_free(pk);
        pk = NULL;
    }
    azkm_free(uri);
    return pk;
}

static int pem2der_decode(void *vctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *data_cb, void *data_cbarg,
                          OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    DEC_CTX *ctx = vctx;
    unsigned char *in = NULL, *der = NULL;
    char *name = NULL, *header = NULL;
    long der_len = 0;
    size_t in_len = 0;
    BIO *mem = NULL;
    int ok = 1;

    if (!read_all(ctx->provctx, cin, &in, &in_len))
        return 1;
    /* Cheap test first: most PEM input is somebody else's. */
    if (in_len == 0 || memmem(in, in_len, "-----BEGIN " AZKM_KEYREF_PEM_LABEL "-----",
                              strlen("-----BEGIN " AZKM_KEYREF_PEM_LABEL "-----")) == NULL)
        goto end;
    mem = BIO_new_mem_buf(in, (int)in_len);
    ERR_set_mark();
    if (mem == NULL || PEM_read_bio(mem, &name, &header, &der, &der_len) <= 0) {
        /* Our BEGIN line is there: a block that does not parse is a damaged reference file, and says so. */
        ERR_pop_to_mark();
        AZKM_RAISE(ctx->provctx, AZKM_R_BAD_REFERENCE_FILE,
                   "the AZKM KEY REFERENCE PEM block is damaged (bad base64 or no END line)");
        ok = 0;
        goto end;
    }
    ERR_pop_to_mark();
    if (strcmp(name, AZKM_KEYREF_PEM_LABEL) != 0)
        goto end;
    if ((preloaded = reference_key(ctx, der, (size_t)der_len, selection)) == NULL) {
        ok = 0;
        goto end;
    }
    {
        OSSL_PARAM params[3];

        params[0] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, der, (size_t)der_len);
        params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_STRUCTURE, AZKM_REF_STRUCTURE, 0);
        params[2] = OSSL_PARAM_construct_end();
        decoding_our_pem = 1;
        ok = data_cb(params, data_cbarg);
        decoding_our_pem = 0;
    }
    azkm_pkey_free(preloaded);
    preloaded = NULL;
end:
    BIO_free(mem);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    OPENSSL_free(in);
    return ok;
}

static int ref_decode(DEC_CTX *ctx, azkm_pkey_type type, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *data_cb,
                      void *data_cbarg)
{
    unsigned char *der = NULL;
    size_t der_len = 0;
    char *uri = NULL;
    AZKM_PKEY *pk = NULL;
    azkm_keyref_rc rrc;
    int ok = 0;

    if (!read_all(ctx->provctx, cin, &der, &der_len))
        return 1;
    ERR_set_mark();
    rrc = azkm_keyref_decode_der(der, der_len, &uri);
    if (rrc != AZKM_KEYREF_OK && !decoding_our_pem) {
        ERR_pop_to_mark(); /* not a key reference, and not from our PEM block: not ours */
        ok = 1;
        goto end;
    }
    ERR_clear_last_mark();
    if (rrc != AZKM_KEYREF_OK) {
        /* Only our PEM decoder produces this structure, so this is a damaged or foreign-version file. */
        AZKM_RAISE(ctx->provctx, AZKM_R_BAD_REFERENCE_FILE, "%s", azkm_keyref_strerror(rrc));
        goto end;
    }
    if (preloaded != NULL && preloaded->ref_uri != NULL && strcmp(preloaded->ref_uri, uri) == 0) {
        pk = preloaded; /* the key our PEM decoder just loaded for this very reference */
        azkm_pkey_up_ref(pk);
    } else if ((pk = azkm_pkey_load_uri(ctx->provctx, uri)) == NULL) {
        goto end;
    }
    if (pk->type != type && !(type == AZKM_TYPE_RSA && pk->type == AZKM_TYPE_RSA_PSS)) {
        ok = 1; /* the other key decoder will take it */
        goto end;
    }
    ok = azkm_pkey_hand_out(pk, wants_private(selection), data_cb, data_cbarg);
end:
    azkm_pkey_free(pk);
    azkm_free(uri);
    OPENSSL_free(der);
    return ok;
}

static int ref2rsa_decode(void *vctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *data_cb, void *data_cbarg,
                          OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    return ref_decode(vctx, AZKM_TYPE_RSA, cin, selection, data_cb, data_cbarg);
}

static int ref2ec_decode(void *vctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *data_cb, void *data_cbarg,
                         OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    return ref_decode(vctx, AZKM_TYPE_EC, cin, selection, data_cb, data_cbarg);
}

static int ref2ed25519_decode(void *vctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *data_cb,
                              void *data_cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    return ref_decode(vctx, AZKM_TYPE_ED25519, cin, selection, data_cb, data_cbarg);
}

static int ref2ed448_decode(void *vctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *data_cb, void *data_cbarg,
                            OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    return ref_decode(vctx, AZKM_TYPE_ED448, cin, selection, data_cb, data_cbarg);
}

static int ref_does_selection(void *provctx, int selection)
{
    return selection == 0 || (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0;
}

/* Only the public half may go to another provider's key management. */
static int ref_export_object(void *vctx, const void *reference, size_t reference_sz, OSSL_CALLBACK *export_cb,
                             void *export_cbarg)
{
    const AZKM_PKEY *pk = azkm_pkey_from_reference(reference, reference_sz);

    if (pk == NULL || pk->pub == NULL || pk->key != NULL)
        return 0;
    return EVP_PKEY_export(pk->pub, EVP_PKEY_PUBLIC_KEY, export_cb, export_cbarg);
}

const OSSL_DISPATCH azkm_pem2der_decoder_functions[] = {
    {OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))dec_newctx},
    {OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx},
    {OSSL_FUNC_DECODER_DECODE, (void (*)(void))pem2der_decode},
    {0, NULL},
};

const OSSL_DISPATCH azkm_ref2rsa_decoder_functions[] = {
    {OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))dec_newctx},
    {OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx},
    {OSSL_FUNC_DECODER_DOES_SELECTION, (void (*)(void))ref_does_selection},
    {OSSL_FUNC_DECODER_DECODE, (void (*)(void))ref2rsa_decode},
    {OSSL_FUNC_DECODER_EXPORT_OBJECT, (void (*)(void))ref_export_object},
    {0, NULL},
};

const OSSL_DISPATCH azkm_ref2ec_decoder_functions[] = {
    {OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))dec_newctx},
    {OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx},
    {OSSL_FUNC_DECODER_DOES_SELECTION, (void (*)(void))ref_does_selection},
    {OSSL_FUNC_DECODER_DECODE, (void (*)(void))ref2ec_decode},
    {OSSL_FUNC_DECODER_EXPORT_OBJECT, (void (*)(void))ref_export_object},
    {0, NULL},
};

const OSSL_DISPATCH azkm_ref2ed25519_decoder_functions[] = {
    {OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))dec_newctx},
    {OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx},
    {OSSL_FUNC_DECODER_DOES_SELECTION, (void (*)(void))ref_does_selection},
    {OSSL_FUNC_DECODER_DECODE, (void (*)(void))ref2ed25519_decode},
    {OSSL_FUNC_DECODER_EXPORT_OBJECT, (void (*)(void))ref_export_object},
    {0, NULL},
};

const OSSL_DISPATCH azkm_ref2ed448_decoder_functions[] = {
    {OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))dec_newctx},
    {OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx},
    {OSSL_FUNC_DECODER_DOES_SELECTION, (void (*)(void))ref_does_selection},
    {OSSL_FUNC_DECODER_DECODE, (void (*)(void))ref2ed448_decode},
    {OSSL_FUNC_DECODER_EXPORT_OBJECT, (void (*)(void))ref_export_object},
    {0, NULL},
};
