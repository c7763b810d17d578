/* Envelope encryption of files and streams: a fresh AES-256 data key per file, AES-256-GCM in chunks, the data key
 * wrapped by a vault KEK and kept in the file's header with the KEK's id and version (docs/envelope.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "azkm/base64.h"
#include "keys/records.h"

#define ENV_MAGIC "AZKMENV1"
#define ENV_MAGIC_LEN 8
#define ENV_TAG_LEN 16
#define ENV_DEK_LEN 32
#define ENV_HEADER_MAX 65536
#define ENV_CHUNK_DEFAULT 65536
#define ENV_CHUNK_MIN 1024
#define ENV_CHUNK_MAX (16u << 20)

typedef struct {
    char kid[AZKM_URI_MAX];
    char alg[32];
    size_t chunk_size;
    unsigned char *wrapped;
    size_t wrapped_len;
} env_header;

static void header_clear(env_header *h)
{
    OPENSSL_free(h->wrapped);
    memset(h, 0, sizeof(*h));
}

static void put_u32(unsigned char *b, uint32_t x)
{
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(x >> (24 - 8 * i));
}

static void put_u64(unsigned char *b, uint64_t x)
{
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(x >> (56 - 8 * i));
}

/* Reads exactly len bytes unless the stream ends; returns how many were read. */
static size_t read_full(FILE *in, unsigned char *buf, size_t len)
{
    size_t n = 0;

    while (n < len) {
        size_t r = fread(buf + n, 1, len - n, in);

        if (r == 0)
            break;
        n += r;
    }
    return n;
}

/* 1 when the stream has no more bytes (the byte peeked at is pushed back). */
static int at_end(FILE *in)
{
    int c = getc(in);

    if (c == EOF)
        return 1;
    ungetc(c, in);
    return 0;
}

static azkm_rc write_all(FILE *out, const unsigned char *buf, size_t len)
{
    if (len != 0 && fwrite(buf, 1, len, out) != len)
        return azkm_fail(AZKM_E_IO, "envelope: cannot write the output");
    return AZKM_OK;
}

/* The wrap algorithm for a KEK: AES key wrap with the key's size, or RSA-OAEP (SHA-1 on the HSM tier, where
 * SoftHSM has no other; SHA-256 in software). */
static azkm_rc wrap_alg(const azkm_key_info *kek, char *alg, size_t len)
{
    if (kek->kty == AZKM_KTY_OCT)
        snprintf(alg, len, "A%uKW", kek->size);
    else if (kek->kty == AZKM_KTY_RSA)
        snprintf(alg, len, "%s", kek->protection == AZKM_PROTECTION_HSM ? "RSA-OAEP" : "RSA-OAEP-256");
    else
        return azkm_fail(AZKM_E_INVALID, "key %s/%s is an EC key: a key encryption key is an oct (AES) or RSA key",
                         kek->vault, kek->name);
    return AZKM_OK;
}

/* Associated data of one chunk: the format, the chunk size, the chunk's index and whether it is the last one. The
 * index is also the nonce, so chunks cannot be reordered; the final flag makes a file cut at a chunk boundary fail
 * (its last remaining chunk was sealed as not final). */
static void chunk_aad(size_t chunk_size, uint64_t index, int final, unsigned char aad[21])
{
    memcpy(aad, ENV_MAGIC, ENV_MAGIC_LEN);
    put_u32(aad + 8, (uint32_t)chunk_size);
    put_u64(aad + 12, index);
    aad[20] = (unsigned char)(final ? 1 : 0);
}

static void chunk_nonce(uint64_t index, unsigned char nonce[12])
{
    memset(nonce, 0, 4);
    put_u64(nonce + 4, index);
}

static azkm_rc write_header(FILE *out, const env_header *h)
{
    char *wrapped = azkm_b64url_encode(h->wrapped, h->wrapped_len), *text = NULL;
    json_t *doc = wrapped
                      ? json_pack("{s:i, s:s, s:s, s:s, s:I, s:s}", "version", 1, "kid", h->kid, "alg", h->alg,
                                  "enc", "A256GCM", "chunk_size", (json_int_t)h->chunk_size, "wrapped_key", wrapped)
                      : NULL;
    unsigned char len[4];
    azkm_rc rc;

    text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    OPENSSL_free(wrapped);
    if (text == NULL)
        return azkm_fail(AZKM_E_NOMEM, "envelope: cannot encode the header");
    put_u32(len, (uint32_t)strlen(text));
    rc = write_all(out, (const unsigned char *)ENV_MAGIC, ENV_MAGIC_LEN);
    if (rc == AZKM_OK)
        rc = write_all(out, len, 4);
    if (rc == AZKM_OK)
        rc = write_all(out, (const unsigned char *)text, strlen(text));
    free(text);
    return rc;
}

static azkm_rc read_header(FILE *in, env_header *h)
{
    unsigned char fixed[ENV_MAGIC_LEN + 4], *text = NULL;
    size_t hlen;
    json_t *doc = NULL;
    json_error_t err;
    const char *kid, *alg, *enc, *wrapped;
    json_int_t chunk;
    azkm_rc rc = AZKM_OK;

    memset(h, 0, sizeof(*h));
    if (read_full(in, fixed, sizeof(fixed)) != sizeof(fixed) || memcmp(fixed, ENV_MAGIC, ENV_MAGIC_LEN) != 0)
        return azkm_fail(AZKM_E_INVALID,
                         "envelope: the input is not an azkm encrypted file (no " ENV_MAGIC " header)");
    hlen = (size_t)fixed[8] << 24 | (size_t)fixed[9] << 16 | (size_t)fixed[10] << 8 | fixed[11];
    if (hlen == 0 || hlen > ENV_HEADER_MAX)
        return azkm_fail(AZKM_E_CORRUPT, "envelope: the header length %zu is out of range", hlen);
    if ((text = OPENSSL_malloc(hlen)) == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    if (read_full(in, text, hlen) != hlen)
        rc = azkm_fail(AZKM_E_CORRUPT, "envelope: the header is truncated");
    if (rc == AZKM_OK && ((doc = json_loadb((const char *)text, hlen, 0, &err)) == NULL || !json_is_object(doc)))
        rc = azkm_fail(AZKM_E_CORRUPT, "envelope: the header is not JSON (%s)", doc ? "not an object" : err.text);
    OPENSSL_free(text);
    if (rc != AZKM_OK) {
        json_decref(doc);
        return rc;
    }
    kid = json_string_value(json_object_get(doc, "kid"));
    alg = json_string_value(json_object_get(doc, "alg"));
    enc = json_string_value(json_object_get(doc, "enc"));
    wrapped = json_string_value(json_object_get(doc, "wrapped_key"));
    chunk = json_integer_value(json_object_get(doc, "chunk_size"));
    if (json_integer_value(json_object_get(doc, "version")) != 1)
        rc = azkm_fail(AZKM_E_UNSUPPORTED, "envelope: header version is not 1");
    else if (kid == NULL || alg == NULL || enc == NULL || wrapped == NULL)
        rc = azkm_fail(AZKM_E_CORRUPT, "envelope: the header lacks kid, alg, enc or wrapped_key");
    else if (strcmp(enc, "A256GCM") != 0)
        rc = azkm_fail(AZKM_E_UNSUPPORTED, "envelope: content encryption '%.32s' is not supported", enc);
    else if (chunk < ENV_CHUNK_MIN || chunk > (json_int_t)ENV_CHUNK_MAX)
        rc = azkm_fail(AZKM_E_CORRUPT, "envelope: chunk size %lld is out of range", (long long)chunk);
    else if (strlen(kid) >= sizeof(h->kid) || strlen(alg) >= sizeof(h->alg))
        rc = azkm_fail(AZKM_E_CORRUPT, "envelope: the header's kid or alg is too long");
    else if (azkm_b64_decode(wrapped, &h->wrapped, &h->wrapped_len) != 0)
        rc = azkm_fail(AZKM_E_CORRUPT, "envelope: the header's wrapped_key is not base64url");
    if (rc == AZKM_OK) {
        snprintf(h->kid, sizeof(h->kid), "%s", kid);
        snprintf(h->alg, sizeof(h->alg), "%s", alg);
        h->chunk_size = (size_t)chunk;
    }
    json_decref(doc);
    if (rc != AZKM_OK)
        header_clear(h);
    return rc;
}

/* Wraps dek under kek into h (kid, alg, wrapped key). */
static azkm_rc wrap_dek(azkm_key *kek, const unsigned char dek[ENV_DEK_LEN], env_header *h)
{
    const azkm_key_info *info = azkm_key_get_info(kek);
    azkm_cipher_params cp;
    unsigned char buf[1024];
    size_t n = 0;
    azkm_rc rc = wrap_alg(info, h->alg, sizeof(h->alg));

    if (rc == AZKM_OK)
        rc = azkm_cipher_params_from_alg(h->alg, &cp);
    if (rc == AZKM_OK)
        rc = azkm_key_wrap(kek, &cp, dek, ENV_DEK_LEN, buf, &n);
    if (rc != AZKM_OK)
        return rc;
    snprintf(h->kid, sizeof(h->kid), "%s", azkm_key_get_uri(kek));
    OPENSSL_free(h->wrapped);
    if ((h->wrapped = OPENSSL_memdup(buf, n)) == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    h->wrapped_len = n;
    return AZKM_OK;
}

/* Loads the KEK version the header names and unwraps the data key with it. */
static azkm_rc unwrap_dek(azkm_keystore *ks, const env_header *h, azkm_key **kek, unsigned char dek[ENV_DEK_LEN])
{
    azkm_cipher_params cp;
    unsigned char buf[1024];
    size_t n = 0;
    azkm_rc rc;

    if (h->wrapped_len > sizeof(buf))
        return azkm_fail(AZKM_E_CORRUPT, "envelope: the wrapped data key is too long");
    rc = azkm_key_load_uri(ks, h->kid, kek);
    if (rc != AZKM_OK)
        return azkm_fail(rc, "envelope: the file's key encryption key %s: %s", h->kid, azkm_last_error());
    if ((rc = azkm_cipher_params_from_alg(h->alg, &cp)) != AZKM_OK)
        return rc;
    rc = azkm_key_unwrap(*kek, &cp, h->wrapped, h->wrapped_len, buf, &n);
    if (rc == AZKM_OK && n != ENV_DEK_LEN)
        rc = azkm_fail(AZKM_E_INTEGRITY, "envelope: the unwrapped data key has the wrong length");
    if (rc == AZKM_E_CRYPTO || rc == AZKM_E_INVALID || rc == AZKM_E_INTEGRITY)
        rc = azkm_fail(AZKM_E_INTEGRITY, "envelope: the data key does not unwrap with %s: %s", h->kid,
                       azkm_last_error());
    if (rc == AZKM_OK)
        memcpy(dek, buf, ENV_DEK_LEN);
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

static EVP_CIPHER_CTX *gcm_new(OSSL_LIB_CTX *libctx, const char *propq, const unsigned char dek[ENV_DEK_LEN],
                               int enc)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(libctx, "AES-256-GCM", propq);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = c != NULL && ctx != NULL && EVP_CipherInit_ex2(ctx, c, dek, NULL, enc, NULL);

    EVP_CIPHER_free(c);
    if (!ok) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* One chunk through AES-256-GCM: encrypt writes the tag after the ciphertext; decrypt checks it. */
static int gcm_chunk(EVP_CIPHER_CTX *ctx, int enc, size_t chunk_size, uint64_t index, int final,
                     const unsigned char *in, size_t inlen, unsigned char *out, unsigned char tag[ENV_TAG_LEN])
{
    unsigned char nonce[12], aad[21];
    int n = 0, m = 0;

    chunk_nonce(index, nonce);
    chunk_aad(chunk_size, index, final, aad);
    if (!EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, enc, NULL) || !EVP_CipherUpdate(ctx, NULL, &n, aad, 21))
        return 0;
    if (inlen != 0 && !EVP_CipherUpdate(ctx, out, &n, in, (int)inlen))
        return 0;
    if (!enc && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, ENV_TAG_LEN, tag))
        return 0;
    if (!EVP_CipherFinal_ex(ctx, out + n, &m))
        return 0;
    return enc ? EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, ENV_TAG_LEN, tag) : 1;
}

static void progress(const azkm_envelope_params *p, uint64_t done)
{
    if (p != NULL && p->progress != NULL)
        p->progress(done, p->total, p->progress_arg);
}

static azkm_rc encrypt_impl(azkm_vault *v, const char *kek_name, FILE *in, FILE *out, const azkm_envelope_params *p)
{
    size_t chunk = p && p->chunk_size ? p->chunk_size : ENV_CHUNK_DEFAULT;
    unsigned char dek[ENV_DEK_LEN], *plain = NULL, *sealed = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    azkm_key *kek = NULL;
    env_header h;
    uint64_t index = 0, done = 0;
    azkm_rc rc;

    memset(&h, 0, sizeof(h));
    if (chunk < ENV_CHUNK_MIN || chunk > ENV_CHUNK_MAX)
        return azkm_fail(AZKM_E_INVALID, "envelope: the chunk size must be %u to %u bytes", ENV_CHUNK_MIN,
                         ENV_CHUNK_MAX);
    if (RAND_priv_bytes(dek, sizeof(dek)) != 1)
        return azkm_fail(AZKM_E_CRYPTO, "envelope: no randomness for the data key");
    h.chunk_size = chunk;
    rc = azkm_key_load(v, kek_name, NULL, &kek);
    if (rc == AZKM_OK)
        rc = wrap_dek(kek, dek, &h);
    if (rc == AZKM_OK && ((plain = OPENSSL_malloc(chunk)) == NULL || (sealed = OPENSSL_malloc(chunk)) == NULL))
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
    if (rc == AZKM_OK && (ctx = gcm_new(v->ks->libctx, v->ks->propq, dek, 1)) == NULL)
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "envelope: AES-256-GCM is not available");
    if (rc == AZKM_OK)
        rc = write_header(out, &h);
    while (rc == AZKM_OK) {
        size_t n = read_full(in, plain, chunk);
        int final = n < chunk || at_end(in);
        unsigned char tag[ENV_TAG_LEN];

        if (ferror(in)) {
            rc = azkm_fail(AZKM_E_IO, "envelope: cannot read the input");
            break;
        }
        if (!gcm_chunk(ctx, 1, chunk, index, final, plain, n, sealed, tag)) {
            rc = azkm_fail_ossl(AZKM_E_CRYPTO, "envelope: AES-256-GCM encryption failed");
            break;
        }
        rc = write_all(out, sealed, n);
        if (rc == AZKM_OK)
            rc = write_all(out, tag, ENV_TAG_LEN);
        done += n;
        index++;
        progress(p, done);
        if (final)
            break;
    }
    if (rc == AZKM_OK && fflush(out) != 0)
        rc = azkm_fail(AZKM_E_IO, "envelope: cannot write the output");
    OPENSSL_cleanse(dek, sizeof(dek));
    OPENSSL_clear_free(plain, chunk);
    OPENSSL_free(sealed);
    EVP_CIPHER_CTX_free(ctx);
    header_clear(&h);
    azkm_key_free(kek);
    return rc;
}

/* What happens to each chunk once it authenticated: its plaintext written (decrypt), nothing (verify), or its
 * sealed bytes copied unchanged (rewrap). */
typedef azkm_rc (*chunk_sink)(FILE *out, const unsigned char *sealed, size_t sealed_len, const unsigned char *plain,
                              size_t plain_len);

static azkm_rc sink_plain(FILE *out, const unsigned char *sealed, size_t sealed_len, const unsigned char *plain,
                          size_t plain_len)
{
    (void)sealed;
    (void)sealed_len;
    return write_all(out, plain, plain_len);
}

static azkm_rc sink_none(FILE *out, const unsigned char *sealed, size_t sealed_len, const unsigned char *plain,
                         size_t plain_len)
{
    (void)out;
    (void)sealed;
    (void)sealed_len;
    (void)plain;
    (void)plain_len;
    return AZKM_OK;
}

static azkm_rc sink_sealed(FILE *out, const unsigned char *sealed, size_t sealed_len, const unsigned char *plain,
                           size_t plain_len)
{
    (void)plain;
    (void)plain_len;
    return write_all(out, sealed, sealed_len);
}

/* Reads the chunks after the header to the end, authenticating each before it goes to the sink: a chunk that
 * fails, a truncation or bytes after the final chunk stop the walk with AZKM_E_INTEGRITY. */
static azkm_rc walk_chunks(EVP_CIPHER_CTX *ctx, size_t chunk_size, FILE *in, FILE *out, chunk_sink sink,
                           const azkm_envelope_params *p)
{
    unsigned char *sealed = OPENSSL_malloc(chunk_size + ENV_TAG_LEN), *plain = OPENSSL_malloc(chunk_size);
    uint64_t index = 0, done = 0;
    azkm_rc rc = sealed != NULL && plain != NULL ? AZKM_OK : azkm_fail(AZKM_E_NOMEM, "out of memory");

    while (rc == AZKM_OK) {
        size_t n = read_full(in, sealed, chunk_size + ENV_TAG_LEN);
        int final = at_end(in);

        if (ferror(in)) {
            rc = azkm_fail(AZKM_E_IO, "envelope: cannot read the input");
            break;
        }
        if (n < ENV_TAG_LEN) {
            rc = azkm_fail(AZKM_E_INTEGRITY, "envelope: the file is truncated (chunk %llu is incomplete)",
                           (unsigned long long)index);
            break;
        }
        /* the plaintext of a chunk is released only after its tag checks */
        if (!gcm_chunk(ctx, 0, chunk_size, index, final, sealed, n - ENV_TAG_LEN, plain,
                       sealed + n - ENV_TAG_LEN)) {
            rc = azkm_fail(AZKM_E_INTEGRITY,
                           "envelope: chunk %llu failed authentication: the file was modified or truncated",
                           (unsigned long long)index);
            break;
        }
        rc = sink(out, sealed, n, plain, n - ENV_TAG_LEN);
        done += n - ENV_TAG_LEN;
        index++;
        progress(p, done);
        if (final)
            break;
    }
    OPENSSL_clear_free(plain, chunk_size);
    OPENSSL_free(sealed);
    return rc;
}

/* The header, the data key unwrapped with the KEK version it names (left in *kek), and a decryption context. */
static azkm_rc open_envelope(azkm_keystore *ks, FILE *in, env_header *h, azkm_key **kek,
                             unsigned char dek[ENV_DEK_LEN], EVP_CIPHER_CTX **ctx)
{
    azkm_rc rc = read_header(in, h);

    if (rc != AZKM_OK)
        return rc;
    rc = unwrap_dek(ks, h, kek, dek);
    if (rc == AZKM_OK && (*ctx = gcm_new(ks->libctx, ks->propq, dek, 0)) == NULL)
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "envelope: AES-256-GCM is not available");
    return rc;
}

static azkm_rc decrypt_impl(azkm_keystore *ks, FILE *in, FILE *out, chunk_sink sink, const azkm_envelope_params *p)
{
    unsigned char dek[ENV_DEK_LEN];
    EVP_CIPHER_CTX *ctx = NULL;
    azkm_key *kek = NULL;
    env_header h;
    azkm_rc rc = open_envelope(ks, in, &h, &kek, dek, &ctx);

    OPENSSL_cleanse(dek, sizeof(dek));
    if (rc == AZKM_OK)
        rc = walk_chunks(ctx, h.chunk_size, in, out, sink, p);
    if (rc == AZKM_OK && out != NULL && fflush(out) != 0)
        rc = azkm_fail(AZKM_E_IO, "envelope: cannot write the output");
    EVP_CIPHER_CTX_free(ctx);
    header_clear(&h);
    azkm_key_free(kek);
    return rc;
}

/* The chunks are copied as they are (they do not depend on the header's key fields), but each is authenticated on
 * the way: a file is never re-wrapped, and so given a fresh look of health, with a damaged chunk in it. */
static azkm_rc rewrap_impl(azkm_keystore *ks, FILE *in, FILE *out, int *changed, char kid[AZKM_URI_MAX])
{
    unsigned char dek[ENV_DEK_LEN];
    EVP_CIPHER_CTX *ctx = NULL;
    azkm_key *old = NULL, *cur = NULL;
    env_header h;
    azkm_rc rc = open_envelope(ks, in, &h, &old, dek, &ctx);

    *changed = 0;
    if (rc == AZKM_OK)
        rc = azkm_key_load(old->vault, azkm_key_get_info(old)->name, NULL, &cur);
    if (rc == AZKM_OK && strcmp(azkm_key_get_info(cur)->version, azkm_key_get_info(old)->version) != 0) {
        rc = wrap_dek(cur, dek, &h);
        *changed = rc == AZKM_OK;
    }
    OPENSSL_cleanse(dek, sizeof(dek));
    if (rc == AZKM_OK)
        rc = write_header(out, &h);
    if (rc == AZKM_OK)
        rc = walk_chunks(ctx, h.chunk_size, in, out, sink_sealed, NULL);
    if (rc == AZKM_OK && fflush(out) != 0)
        rc = azkm_fail(AZKM_E_IO, "envelope: cannot write the output");
    if (rc == AZKM_OK && kid != NULL)
        snprintf(kid, AZKM_URI_MAX, "%s", h.kid);
    EVP_CIPHER_CTX_free(ctx);
    header_clear(&h);
    azkm_key_free(cur);
    azkm_key_free(old);
    return rc;
}

azkm_rc azkm_envelope_encrypt(azkm_vault *v, const char *kek_name, FILE *in, FILE *out,
                              const azkm_envelope_params *p)
{
    if (v->remote != NULL)
        return azkm_vault_local(v, "envelope encryption");
    return encrypt_impl(v, kek_name, in, out, p);
}

azkm_rc azkm_envelope_decrypt(azkm_keystore *ks, FILE *in, FILE *out, const azkm_envelope_params *p)
{
    return decrypt_impl(ks, in, out, sink_plain, p);
}

azkm_rc azkm_envelope_verify(azkm_keystore *ks, FILE *in, const azkm_envelope_params *p)
{
    return decrypt_impl(ks, in, NULL, sink_none, p);
}

azkm_rc azkm_envelope_rewrap(azkm_keystore *ks, FILE *in, FILE *out, int *changed, char kid[AZKM_URI_MAX])
{
    int scratch;

    return rewrap_impl(ks, in, out, changed ? changed : &scratch, kid);
}
