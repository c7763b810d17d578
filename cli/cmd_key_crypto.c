/* `azkm key` data plane: sign, verify, encrypt, decrypt, wrap and unwrap with Azure algorithm names. Inputs
 * come as base64 flags or files; binary results go to files, and the output shows them in base64. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "azkm/base64.h"
#include "cli.h"
#include "key_flags.h"
#include "output.h"

#define GCM_IV_LEN 12
#define GCM_TAG_LEN 16

/* Binary input from a base64 flag or a file flag; exactly one of them unless optional. */
static int get_bytes(const cli_args *a, const char *b64flag, const char *fileflag, int optional,
                     unsigned char **out, size_t *len)
{
    const char *b64 = args_get(a, b64flag), *file = fileflag ? args_get(a, fileflag) : NULL;
    int ret;

    *out = NULL;
    *len = 0;
    if (fileflag != NULL && (ret = args_exclusive(a, b64flag, fileflag, NULL)) != 0)
        return ret;
    if (file != NULL)
        return cli_read_file(file, fileflag, out, len);
    if (b64 != NULL) {
        if (azkm_b64_decode(b64, out, len) != 0)
            return args_usage(b64flag, "is not valid base64");
        return 0;
    }
    if (optional)
        return 0;
    if (fileflag != NULL)
        return args_usage(NULL, "give %s or %s", b64flag, fileflag);
    return args_usage(b64flag, "required");
}

/* Loads the key; the vault stays open until release_key, since a loaded key may use the vault's tiers. */
static int load_key(cli_ctx *ctx, const cli_args *a, azkm_vault **v, azkm_key **k)
{
    const char *name, *version;
    azkm_rc rc;
    int ret;

    if ((ret = cli_key_target(ctx, a, v, &name, &version)) != 0)
        return ret;
    rc = azkm_key_load(*v, name, version, k);
    return rc == AZKM_OK ? 0 : cli_fail(rc);
}

static void release_key(azkm_vault *v, azkm_key *k)
{
    azkm_key_free(k);
    azkm_vault_close(v);
}

/* Prints {"kid","algorithm", field: base64(bytes)...} or the same as table rows. NULL bytes are skipped. */
static int print_result(const cli_ctx *ctx, const azkm_key *k, const char *alg, const char *field,
                        const unsigned char *bytes, size_t len, const unsigned char *iv, const unsigned char *tag)
{
    const char *names[3] = {field, "iv", "tag"};
    const char *labels[3] = {strcmp(field, "signature") == 0 ? "Signature" : "Result", "IV", "Tag"};
    const unsigned char *vals[3] = {bytes, iv, tag};
    size_t lens[3] = {len, GCM_IV_LEN, GCM_TAG_LEN};
    json_t *doc = ctx->json ? json_object() : NULL;

    if (ctx->json) {
        json_object_set_new(doc, "kid", json_string(azkm_key_uri(k)));
        json_object_set_new(doc, "algorithm", json_string(alg));
    } else {
        out_row("Key ID", "%s", azkm_key_uri(k));
        out_row("Algorithm", "%s", alg);
    }
    for (int i = 0; i < 3; i++) {
        char *txt;

        if (vals[i] == NULL)
            continue;
        if ((txt = azkm_b64_encode(vals[i], lens[i])) == NULL) {
            json_decref(doc);
            return cli_failf(AZKM_E_NOMEM, "out of memory");
        }
        if (ctx->json)
            json_object_set_new(doc, names[i], json_string(txt));
        else
            out_row(labels[i], "%s", txt);
        OPENSSL_clear_free(txt, strlen(txt));
    }
    return ctx->json ? out_json(doc) : 0;
}

/* ---- Signatures ------------------------------------------------------------------------------------------ */

static size_t digest_size(const char *name)
{
    EVP_MD *md = EVP_MD_fetch(NULL, name, NULL);
    int n = md ? EVP_MD_get_size(md) : 0;

    EVP_MD_free(md);
    return n > 0 ? (size_t)n : 0;
}

/* The digest to sign: --digest as given, or --data-file hashed with the algorithm's digest. */
static int sign_input(const cli_args *a, const azkm_sign_params *p, unsigned char *md, size_t *mdlen)
{
    unsigned char *data = NULL;
    size_t len = 0;
    unsigned int outlen = 0;
    EVP_MD *evp;
    int ret, ok;

    if ((ret = args_exclusive(a, "--digest", "--data-file", NULL)) != 0)
        return ret;
    if (args_get(a, "--digest") != NULL) {
        if ((ret = get_bytes(a, "--digest", NULL, 0, &data, &len)) != 0)
            return ret;
        if (len > EVP_MAX_MD_SIZE || (p->digest != NULL && len != digest_size(p->digest))) {
            OPENSSL_free(data);
            if (p->digest == NULL)
                return args_usage("--digest", "is %zu bytes: longer than any digest", len);
            return args_usage("--digest", "must be %zu bytes for %s (got %zu)", digest_size(p->digest),
                              args_get(a, "--algorithm"), len);
        }
        memcpy(md, data, len);
        *mdlen = len;
        OPENSSL_free(data);
        return 0;
    }
    if (args_get(a, "--data-file") == NULL)
        return args_usage(NULL, "give --digest or --data-file");
    if (p->digest == NULL)
        return args_usage("--data-file", "this algorithm signs raw input: give --digest");
    if ((ret = cli_read_file(args_get(a, "--data-file"), "--data-file", &data, &len)) != 0)
        return ret;
    evp = EVP_MD_fetch(NULL, p->digest, NULL);
    ok = evp != NULL && EVP_Digest(data, len, md, &outlen, evp, NULL);
    EVP_MD_free(evp);
    OPENSSL_clear_free(data, len);
    if (!ok)
        return cli_failf(AZKM_E_CRYPTO, "cannot hash --data-file with %s", p->digest);
    *mdlen = outlen;
    return 0;
}

static int ec_field_bytes(const azkm_key *k)
{
    return (azkm_curve_bits(azkm_key_get_info(k)->curve) + 7) / 8;
}

/* ECDSA DER <-> raw r||s (JOSE). Converted in place; buf holds at least max bytes. */
static int ecdsa_der_to_raw(unsigned char *buf, size_t *len, int width)
{
    const unsigned char *p = buf;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)*len);
    const BIGNUM *r, *s;
    int ok;

    if (sig == NULL)
        return 0;
    ECDSA_SIG_get0(sig, &r, &s);
    ok = BN_bn2binpad(r, buf, width) == width && BN_bn2binpad(s, buf + width, width) == width;
    ECDSA_SIG_free(sig);
    *len = 2 * (size_t)width;
    return ok;
}

static int ecdsa_raw_to_der(const unsigned char *raw, size_t len, unsigned char **der, size_t *derlen)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(len / 2), NULL), *s = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL);
    int n = -1;

    *der = NULL;
    if (sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s)) {
        r = s = NULL;
        n = i2d_ECDSA_SIG(sig, der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    if (n <= 0)
        return 0;
    *derlen = (size_t)n;
    return 1;
}

static int sig_format_raw(const cli_args *a, int *raw)
{
    const char *fmt = args_get(a, "--sig-format");

    *raw = 0;
    if (fmt == NULL || strcmp(fmt, "der") == 0)
        return 0;
    if (strcmp(fmt, "raw") == 0) {
        *raw = 1;
        return 0;
    }
    return args_usage("--sig-format", "must be der or raw (got '%s')", fmt);
}

static int key_sign(cli_ctx *ctx, const cli_args *a)
{
    const char *alg = args_get(a, "--algorithm"), *out = args_get(a, "--signature-file");
    unsigned char md[EVP_MAX_MD_SIZE], *sig = NULL;
    size_t mdlen = 0, siglen = 0;
    azkm_sign_params p;
    azkm_vault *v = NULL;
    azkm_key *k = NULL;
    azkm_rc rc;
    int ret, raw;

    if (azkm_sign_params_from_alg(alg, &p) != AZKM_OK)
        return args_usage("--algorithm", "%s (signing: RS256..RS512, PS256..PS512, ES256..ES512)",
                          azkm_last_error());
    if ((ret = sig_format_raw(a, &raw)) != 0 || (ret = sign_input(a, &p, md, &mdlen)) != 0)
        return ret;
    if ((ret = load_key(ctx, a, &v, &k)) != 0)
        goto end;
    siglen = azkm_key_max_output(k);
    if ((sig = OPENSSL_malloc(siglen + 1)) == NULL) {
        ret = cli_failf(AZKM_E_NOMEM, "out of memory");
        goto end;
    }
    if ((rc = azkm_key_sign(k, &p, md, mdlen, sig, &siglen)) != AZKM_OK) {
        ret = cli_fail(rc);
        goto end;
    }
    if (raw && p.scheme == AZKM_SIG_ECDSA && !ecdsa_der_to_raw(sig, &siglen, ec_field_bytes(k))) {
        ret = cli_failf(AZKM_E_CRYPTO, "cannot convert the ECDSA signature to raw r||s");
        goto end;
    }
    if (out != NULL && (ret = cli_write_file(out, "--signature-file", sig, siglen, 0644)) != 0)
        goto end;
    ret = print_result(ctx, k, alg, "signature", sig, siglen, NULL, NULL);
end:
    OPENSSL_free(sig);
    release_key(v, k);
    return ret;
}

static int key_verify(cli_ctx *ctx, const cli_args *a)
{
    const char *alg = args_get(a, "--algorithm");
    unsigned char md[EVP_MAX_MD_SIZE], *sig = NULL, *der = NULL;
    size_t mdlen = 0, siglen = 0, derlen = 0;
    azkm_sign_params p;
    azkm_vault *v = NULL;
    azkm_key *k = NULL;
    int ret, raw, valid;

    if (azkm_sign_params_from_alg(alg, &p) != AZKM_OK)
        return args_usage("--algorithm", "%s (RS256..RS512, PS256..PS512, ES256..ES512)", azkm_last_error());
    if ((ret = sig_format_raw(a, &raw)) != 0 || (ret = sign_input(a, &p, md, &mdlen)) != 0)
        return ret;
    if ((ret = get_bytes(a, "--signature", "--signature-file", 0, &sig, &siglen)) != 0)
        return ret;
    if ((ret = load_key(ctx, a, &v, &k)) != 0)
        goto end;
    if (raw && p.scheme == AZKM_SIG_ECDSA) {
        if (siglen != 2 * (size_t)ec_field_bytes(k) || !ecdsa_raw_to_der(sig, siglen, &der, &derlen)) {
            ret = args_usage("--sig-format", "a raw signature for this key is %d bytes of r||s (got %zu)",
                             2 * ec_field_bytes(k), siglen);
            goto end;
        }
    }
    valid = azkm_key_verify(k, &p, md, mdlen, der ? der : sig, der ? derlen : siglen);
    if (valid < 0) {
        ret = cli_fail(azkm_last_rc());
        goto end;
    }
    if (ctx->json) {
        json_t *doc = json_object();

        json_object_set_new(doc, "kid", json_string(azkm_key_uri(k)));
        json_object_set_new(doc, "algorithm", json_string(alg));
        json_object_set_new(doc, "value", json_boolean(valid));
        ret = out_json(doc);
    } else {
        out_row("Key ID", "%s", azkm_key_uri(k));
        out_row("Algorithm", "%s", alg);
        out_row("Valid", "%s", valid ? "true" : "false");
        ret = 0;
    }
    if (ret == 0 && !valid) {
        fprintf(stderr, "azkm: error: InvalidSignature: the signature does not verify with key %s\n",
                azkm_key_uri(k));
        ret = CLI_EXIT_FAILURE;
    }
end:
    OPENSSL_free(der);
    OPENSSL_free(sig);
    release_key(v, k);
    return ret;
}

/* ---- Encryption and key wrapping ------------------------------------------------------------------------- */

enum { OP_ENCRYPT, OP_DECRYPT, OP_WRAP, OP_UNWRAP };

static azkm_rc run_cipher(int op, azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                          unsigned char *out, size_t *outlen)
{
    switch (op) {
    case OP_ENCRYPT:
        return azkm_key_encrypt(k, p, in, inlen, out, outlen);
    case OP_DECRYPT:
        return azkm_key_decrypt(k, p, in, inlen, out, outlen);
    case OP_WRAP:
        return azkm_key_wrap(k, p, in, inlen, out, outlen);
    default:
        return azkm_key_unwrap(k, p, in, inlen, out, outlen);
    }
}

static int cipher_cmd(cli_ctx *ctx, const cli_args *a, int op)
{
    const char *alg = args_get(a, "--algorithm"), *outfile = args_get(a, "--out-file");
    int forward = op == OP_ENCRYPT || op == OP_WRAP;
    unsigned char *in = NULL, *out = NULL, *iv = NULL, *aad = NULL, *tag = NULL;
    unsigned char iv_out[GCM_IV_LEN], tag_buf[GCM_TAG_LEN];
    size_t inlen = 0, outlen = 0, outcap = 0, ivlen = 0, aadlen = 0, taglen = 0;
    azkm_cipher_params p;
    azkm_vault *v = NULL;
    azkm_key *k = NULL;
    azkm_rc rc;
    int ret, gcm;

    if (azkm_cipher_params_from_alg(alg, &p) != AZKM_OK)
        return args_usage("--algorithm",
                          "%s (RSA-OAEP, RSA-OAEP-256, RSA1_5, A128KW..A256KW, A128GCM..A256GCM, "
                          "CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD)",
                          azkm_last_error());
    gcm = p.scheme == AZKM_ENC_AES_GCM;
    if (!gcm && (args_get(a, "--iv") || args_get(a, "--aad") || args_get(a, "--tag")))
        return args_usage(args_get(a, "--iv")    ? "--iv"
                          : args_get(a, "--aad") ? "--aad"
                                                 : "--tag",
                          "only for AES-GCM algorithms (A128GCM..A256GCM)");
    if ((ret = get_bytes(a, "--value", "--in-file", 0, &in, &inlen)) != 0 ||
        (ret = get_bytes(a, "--iv", NULL, forward || !gcm, &iv, &ivlen)) != 0 ||
        (ret = get_bytes(a, "--aad", NULL, 1, &aad, &aadlen)) != 0 ||
        (ret = get_bytes(a, "--tag", NULL, forward || !gcm, &tag, &taglen)) != 0)
        goto end;
    if (gcm) {
        if (iv != NULL && ivlen != GCM_IV_LEN) {
            ret = args_usage("--iv", "must be %d bytes (got %zu)", GCM_IV_LEN, ivlen);
            goto end;
        }
        if (!forward && taglen != GCM_TAG_LEN) {
            ret = args_usage("--tag", "must be %d bytes (got %zu)", GCM_TAG_LEN, taglen);
            goto end;
        }
        if (forward && tag != NULL) {
            ret = args_usage("--tag", "only for decrypt: encrypt makes the tag");
            goto end;
        }
        p.iv = iv;
        p.iv_len = ivlen;
        p.iv_out = iv_out;
        p.aad = aad;
        p.aad_len = aadlen;
        if (forward)
            p.tag = tag_buf;
        else
            p.tag = tag;
    }
    if ((ret = load_key(ctx, a, &v, &k)) != 0)
        goto end;
    outcap = azkm_key_max_output(k) + inlen + 16;
    if ((out = OPENSSL_malloc(outcap)) == NULL) {
        ret = cli_failf(AZKM_E_NOMEM, "out of memory");
        goto end;
    }
    outlen = outcap;
    if ((rc = run_cipher(op, k, &p, in, inlen, out, &outlen)) != AZKM_OK) {
        ret = cli_fail(rc);
        goto end;
    }
    if (outfile != NULL && (ret = cli_write_file(outfile, "--out-file", out, outlen, forward ? 0644 : 0600)) != 0)
        goto end;
    /* A plaintext or unwrapped key written to a file is not echoed. */
    ret = print_result(ctx, k, alg, "result", outfile ? NULL : out, outlen,
                       gcm && forward ? (iv ? iv : iv_out) : NULL, gcm && forward ? tag_buf : NULL);
end:
    OPENSSL_clear_free(out, outcap);
    OPENSSL_clear_free(in, inlen);
    OPENSSL_free(iv);
    OPENSSL_free(aad);
    OPENSSL_free(tag);
    release_key(v, k);
    return ret;
}

static int key_encrypt(cli_ctx *ctx, const cli_args *a)
{
    return cipher_cmd(ctx, a, OP_ENCRYPT);
}

static int key_decrypt(cli_ctx *ctx, const cli_args *a)
{
    return cipher_cmd(ctx, a, OP_DECRYPT);
}

static int key_wrap(cli_ctx *ctx, const cli_args *a)
{
    return cipher_cmd(ctx, a, OP_WRAP);
}

static int key_unwrap(cli_ctx *ctx, const cli_args *a)
{
    return cipher_cmd(ctx, a, OP_UNWRAP);
}

#define FLAG_SIG_FORMAT                                                                                            \
    {                                                                                                              \
        "--sig-format", ARG_VALUE, "der|raw",                                                                      \
            "ECDSA signature encoding: der (X9.62, as OpenSSL) or raw r||s (JOSE, Azure). Default: der.", 0        \
    }
#define FLAG_DIGEST                                                                                                \
    {                                                                                                              \
        "--digest", ARG_VALUE, "BASE64", "The digest to sign, already hashed with the algorithm's hash.", 0        \
    }
#define FLAG_DATA_FILE                                                                                             \
    {                                                                                                              \
        "--data-file", ARG_VALUE, "FILE", "Data to hash with the algorithm's hash (instead of --digest).", 0       \
    }

static const cli_flag sign_flags[] = {
    FLAG_VAULT,
    FLAG_NAME,
    FLAG_VERSION,
    FLAG_ID,
    {"--algorithm", ARG_VALUE, "ALG", "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or ES512.", 1},
    FLAG_DIGEST,
    FLAG_DATA_FILE,
    {"--signature-file", ARG_VALUE, "FILE", "Also write the binary signature to FILE.", 0},
    FLAG_SIG_FORMAT,
    FLAG_END,
};

static const cli_flag verify_flags[] = {
    FLAG_VAULT,
    FLAG_NAME,
    FLAG_VERSION,
    FLAG_ID,
    {"--algorithm", ARG_VALUE, "ALG", "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or ES512.", 1},
    FLAG_DIGEST,
    FLAG_DATA_FILE,
    {"--signature", ARG_VALUE, "BASE64", "The signature.", 0},
    {"--signature-file", ARG_VALUE, "FILE", "The binary signature (instead of --signature).", 0},
    FLAG_SIG_FORMAT,
    FLAG_END,
};

#define CIPHER_FLAGS(algs, value_help)                                                                             \
    FLAG_VAULT, FLAG_NAME, FLAG_VERSION, FLAG_ID, {"--algorithm", ARG_VALUE, "ALG", algs, 1},                      \
        {"--value", ARG_VALUE, "BASE64", value_help, 0},                                                           \
        {"--in-file", ARG_VALUE, "FILE", "Binary input (instead of --value).", 0},                                 \
    {                                                                                                              \
        "--out-file", ARG_VALUE, "FILE", "Write the binary result to FILE instead of printing it.", 0              \
    }

#define ENC_ALGS "RSA-OAEP, RSA-OAEP-256, RSA1_5 (RSA keys); A128GCM, A192GCM, A256GCM (oct keys)."
#define WRAP_ALGS                                                                                                  \
    "RSA-OAEP, RSA-OAEP-256, RSA1_5 (RSA keys); A128KW, A192KW, A256KW, CKM_AES_KEY_WRAP, "                        \
    "CKM_AES_KEY_WRAP_PAD (oct keys)."

static const cli_flag encrypt_flags[] = {
    CIPHER_FLAGS(ENC_ALGS, "Plaintext, base64."),
    {"--iv", ARG_VALUE, "BASE64", "AES-GCM: 12-byte IV. Default: random (printed).", 0},
    {"--aad", ARG_VALUE, "BASE64", "AES-GCM: additional authenticated data. Default: none.", 0},
    FLAG_END,
};

static const cli_flag decrypt_flags[] = {
    CIPHER_FLAGS(ENC_ALGS, "Ciphertext, base64."),
    {"--iv", ARG_VALUE, "BASE64", "AES-GCM: the 12-byte IV printed by encrypt.", 0},
    {"--aad", ARG_VALUE, "BASE64", "AES-GCM: the additional authenticated data given to encrypt.", 0},
    {"--tag", ARG_VALUE, "BASE64", "AES-GCM: the 16-byte tag printed by encrypt.", 0},
    FLAG_END,
};

static const cli_flag wrap_flags[] = {CIPHER_FLAGS(WRAP_ALGS, "Key to wrap, base64."), FLAG_END};
static const cli_flag unwrap_flags[] = {CIPHER_FLAGS(WRAP_ALGS, "Wrapped key, base64."), FLAG_END};

const cli_command cli_key_crypto_commands[] = {
    {"sign", "Sign a digest with a key",
     "Give the digest (--digest, base64) or the data (--data-file, hashed here with the algorithm's hash).\n"
     "The signature verifies with `openssl dgst -verify` against the key from `azkm key download`.",
     sign_flags,
     "  azkm key sign --vault-name prod --name web-tls --algorithm RS256 --data-file msg.txt --signature-file "
     "s.bin\n"
     "  openssl dgst -sha256 -verify pub.pem -signature s.bin msg.txt\n"
     "  azkm key sign --vault-name prod --name web-ec --algorithm ES256 --digest \"$(openssl dgst -sha256 -binary "
     "msg.txt | base64)\" --sig-format raw\n",
     key_sign},
    {"verify", "Verify a signature with a key",
     "Exits 0 for a valid signature and 1 (InvalidSignature) for an invalid one.", verify_flags,
     "  azkm key verify --vault-name prod --name web-tls --algorithm RS256 --data-file msg.txt --signature-file "
     "s.bin\n",
     key_verify},
    {"encrypt", "Encrypt a small plaintext with a key",
     "RSA keys encrypt at most the modulus size minus the padding. AES-GCM prints iv and tag (base64);\n"
     "decrypt needs them back.",
     encrypt_flags,
     "  azkm key encrypt --vault-name prod --name rsa --algorithm RSA-OAEP-256 --value \"$(printf hi | base64)\"\n"
     "  azkm key encrypt --vault-name prod --name aes --algorithm A256GCM --in-file p.bin --out-file c.bin "
     "--output json\n",
     key_encrypt},
    {"decrypt", "Decrypt a ciphertext with a key", NULL, decrypt_flags,
     "  openssl pkeyutl -encrypt -pubin -inkey pub.pem -pkeyopt rsa_padding_mode:oaep -in p.bin -out c.bin\n"
     "  azkm key decrypt --vault-name prod --name rsa --algorithm RSA-OAEP --in-file c.bin --out-file p2.bin\n",
     key_decrypt},
    {"wrap", "Wrap (encrypt) a key with a key-encryption key", NULL, wrap_flags,
     "  azkm key wrap --vault-name prod --name kek --algorithm A256KW --in-file dek.bin --out-file dek.wrapped\n",
     key_wrap},
    {"unwrap", "Unwrap a wrapped key", NULL, unwrap_flags,
     "  azkm key unwrap --vault-name prod --name kek --algorithm A256KW --in-file dek.wrapped --out-file dek.bin\n",
     key_unwrap},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
