/* `azkm key encrypt|decrypt|wrap|unwrap` with Azure's algorithm names: RSA-OAEP, RSA1_5, AES key wrap and
 * AES-GCM (with its IV, additional data and tag). Inputs come as base64 flags or files; binary results go to a
 * file or are printed in base64. */
#include <string.h>

#include <openssl/crypto.h>

#include "command.h"
#include "fileio.h"
#include "key_flags.h"
#include "output.h"
#include "report.h"

#define GCM_IV_LEN 12
#define GCM_TAG_LEN 16

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

/* The byte inputs of a cipher command (each OPENSSL_malloc'd or NULL), and the AES-GCM IV and tag it makes. */
typedef struct {
    unsigned char *in, *iv, *aad, *tag;
    size_t inlen, ivlen, aadlen, taglen;
    unsigned char iv_out[GCM_IV_LEN]; /* the IV encrypt makes when none is given */
    unsigned char tag_out[GCM_TAG_LEN];
} cipher_io;

/* --value or --in-file, and AES-GCM's --iv, --aad and --tag, which the other algorithms refuse. */
static int read_inputs(const cli_args *a, int forward, int gcm, cipher_io *io)
{
    int ret;

    if (!gcm && (args_get(a, "--iv") || args_get(a, "--aad") || args_get(a, "--tag")))
        return args_usage(args_get(a, "--iv")    ? "--iv"
                          : args_get(a, "--aad") ? "--aad"
                                                 : "--tag",
                          "only for AES-GCM algorithms (A128GCM..A256GCM)");
    if ((ret = cli_read_bytes(a, "--value", "--in-file", 0, &io->in, &io->inlen)) != 0 ||
        (ret = cli_read_bytes(a, "--iv", NULL, forward || !gcm, &io->iv, &io->ivlen)) != 0 ||
        (ret = cli_read_bytes(a, "--aad", NULL, 1, &io->aad, &io->aadlen)) != 0 ||
        (ret = cli_read_bytes(a, "--tag", NULL, forward || !gcm, &io->tag, &io->taglen)) != 0)
        return ret;
    return 0;
}

/* AES-GCM: checks the IV and tag lengths and points the parameters at them. */
static int gcm_params(int forward, cipher_io *io, azkm_cipher_params *p)
{
    if (io->iv != NULL && io->ivlen != GCM_IV_LEN)
        return args_usage("--iv", "must be %d bytes (got %zu)", GCM_IV_LEN, io->ivlen);
    if (!forward && io->taglen != GCM_TAG_LEN)
        return args_usage("--tag", "must be %d bytes (got %zu)", GCM_TAG_LEN, io->taglen);
    if (forward && io->tag != NULL)
        return args_usage("--tag", "only for decrypt: encrypt makes the tag");
    p->iv = io->iv;
    p->iv_len = io->ivlen;
    p->iv_out = io->iv_out;
    p->aad = io->aad;
    p->aad_len = io->aadlen;
    if (forward)
        p->tag = io->tag_out;
    else
        p->tag = io->tag;
    return 0;
}

static void free_inputs(cipher_io *io)
{
    OPENSSL_clear_free(io->in, io->inlen);
    OPENSSL_free(io->iv);
    OPENSSL_free(io->aad);
    OPENSSL_free(io->tag);
}

/* Runs the operation with the loaded key, writes the result to --out-file if given, and prints the key id, the
 * algorithm, the result (unless written to a file) and for AES-GCM encryption the IV and tag. */
static int run_and_print(cli_ctx *ctx, const cli_args *a, int op, azkm_key *k, const azkm_cipher_params *p,
                         cipher_io *io)
{
    const char *alg = args_get(a, "--algorithm"), *outfile = args_get(a, "--out-file");
    int forward = op == OP_ENCRYPT || op == OP_WRAP, gcm = p->scheme == AZKM_ENC_AES_GCM;
    size_t outcap = azkm_key_max_output(k) + io->inlen + 16, outlen = outcap;
    unsigned char *out = OPENSSL_malloc(outcap);
    azkm_rc rc;
    int ret;

    if (out == NULL)
        return cli_failf(AZKM_E_NOMEM, "out of memory");
    rc = run_cipher(op, k, p, io->in, io->inlen, out, &outlen);
    if (rc != AZKM_OK)
        ret = cli_fail(rc);
    else
        ret = outfile ? cli_write_file(outfile, "--out-file", out, outlen, forward ? 0644 : 0600) : 0;
    if (rc == AZKM_OK && ret == 0) {
        /* A plaintext or unwrapped key written to a file is not echoed. */
        out_bytes parts[3] = {
            {"result", "Result", outfile ? NULL : out, outlen},
            {"iv", "IV", gcm && forward ? (io->iv ? io->iv : io->iv_out) : NULL, GCM_IV_LEN},
            {"tag", "Tag", gcm && forward ? io->tag_out : NULL, GCM_TAG_LEN},
        };

        ret = out_op_result(ctx->json, azkm_key_get_uri(k), alg, parts, 3);
    }
    OPENSSL_clear_free(out, outcap);
    return ret;
}

static int cipher_cmd(cli_ctx *ctx, const cli_args *a, int op)
{
    int forward = op == OP_ENCRYPT || op == OP_WRAP;
    azkm_cipher_params p;
    azkm_vault *v = NULL;
    azkm_key *k = NULL;
    cipher_io io;
    int ret;

    memset(&io, 0, sizeof(io));
    if (azkm_cipher_params_from_alg(args_get(a, "--algorithm"), &p) != AZKM_OK)
        return args_usage("--algorithm",
                          "%s (RSA-OAEP, RSA-OAEP-256, RSA1_5, A128KW..A256KW, A128GCM..A256GCM, "
                          "CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD)",
                          azkm_last_error());
    if ((ret = read_inputs(a, forward, p.scheme == AZKM_ENC_AES_GCM, &io)) == 0 &&
        (p.scheme != AZKM_ENC_AES_GCM || (ret = gcm_params(forward, &io, &p)) == 0) &&
        (ret = cli_key_load(ctx, a, &v, &k)) == 0)
        ret = run_and_print(ctx, a, op, k, &p, &io);
    free_inputs(&io);
    cli_key_release(v, k);
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

const cli_command cli_key_cipher_commands[] = {
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
