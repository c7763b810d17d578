/* `azkm key sign|verify` with Azure's algorithm names (RS256..ES512) and JOSE's EdDSA: the digest given in base64
 * or computed here from a data file (EdDSA: the data file itself), ECDSA signatures as DER (OpenSSL) or raw r||s
 * (JOSE). */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "command.h"
#include "fileio.h"
#include "key_flags.h"
#include "output.h"
#include "report.h"

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
        if ((ret = cli_read_bytes(a, "--digest", NULL, 0, &data, &len)) != 0)
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

/* What EdDSA signs: the message itself, from --data-file (OPENSSL_free it). */
static int eddsa_input(const cli_args *a, unsigned char **data, size_t *len)
{
    int ret = args_exclusive(a, "--digest", "--data-file", NULL);

    if (ret != 0)
        return ret;
    if (args_get(a, "--digest") != NULL)
        return args_usage("--digest", "EdDSA signs the message itself, not a digest: give --data-file");
    if (args_get(a, "--data-file") == NULL)
        return args_usage(NULL, "give --data-file: EdDSA signs the message itself");
    return cli_read_file(args_get(a, "--data-file"), "--data-file", data, len);
}

/* The bytes to sign or verify: the digest (into md) or, for EdDSA, the message (*msg, OPENSSL_free it). */
static int signed_input(const cli_args *a, const azkm_sign_params *p, unsigned char *md, unsigned char **msg,
                        const unsigned char **in, size_t *inlen)
{
    int ret;

    *msg = NULL;
    if (p->scheme == AZKM_SIG_EDDSA) {
        if ((ret = eddsa_input(a, msg, inlen)) == 0)
            *in = *msg;
        return ret;
    }
    *in = md;
    return sign_input(a, p, md, inlen);
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
    unsigned char md[EVP_MAX_MD_SIZE], *sig = NULL, *msg = NULL;
    const unsigned char *in = NULL;
    size_t mdlen = 0, siglen = 0;
    azkm_sign_params p;
    azkm_vault *v = NULL;
    azkm_key *k = NULL;
    azkm_rc rc;
    int ret, raw;

    if (azkm_sign_params_from_alg(alg, &p) != AZKM_OK)
        return args_usage("--algorithm", "%s (signing: RS256..RS512, PS256..PS512, ES256..ES512, EdDSA)",
                          azkm_last_error());
    if ((ret = sig_format_raw(a, &raw)) != 0 || (ret = signed_input(a, &p, md, &msg, &in, &mdlen)) != 0)
        return ret;
    if ((ret = cli_key_load(ctx, a, &v, &k)) != 0)
        goto end;
    siglen = azkm_key_max_output(k);
    if ((sig = OPENSSL_malloc(siglen + 1)) == NULL) {
        ret = cli_failf(AZKM_E_NOMEM, "out of memory");
        goto end;
    }
    if ((rc = azkm_key_sign(k, &p, in, mdlen, sig, &siglen)) != AZKM_OK) {
        ret = cli_fail(rc);
        goto end;
    }
    if (raw && p.scheme == AZKM_SIG_ECDSA && !ecdsa_der_to_raw(sig, &siglen, ec_field_bytes(k))) {
        ret = cli_failf(AZKM_E_CRYPTO, "cannot convert the ECDSA signature to raw r||s");
        goto end;
    }
    if (out != NULL && (ret = cli_write_file(out, "--signature-file", sig, siglen, 0644)) != 0)
        goto end;
    ret =
        out_op_result(ctx->json, azkm_key_get_uri(k), alg, &(out_bytes){"signature", "Signature", sig, siglen}, 1);
end:
    OPENSSL_free(sig);
    OPENSSL_free(msg);
    cli_key_release(v, k);
    return ret;
}

/* The verdict: {"kid","algorithm","value"} or table rows. */
static int print_verdict(int json, const char *kid, const char *alg, int valid)
{
    if (json) {
        json_t *doc = json_object();

        json_object_set_new(doc, "kid", json_string(kid));
        json_object_set_new(doc, "algorithm", json_string(alg));
        json_object_set_new(doc, "value", json_boolean(valid));
        return out_json(doc);
    }
    out_row("Key ID", "%s", kid);
    out_row("Algorithm", "%s", alg);
    out_row("Valid", "%s", valid ? "true" : "false");
    return 0;
}

static int key_verify(cli_ctx *ctx, const cli_args *a)
{
    const char *alg = args_get(a, "--algorithm");
    unsigned char md[EVP_MAX_MD_SIZE], *sig = NULL, *der = NULL, *msg = NULL;
    const unsigned char *in = NULL;
    size_t mdlen = 0, siglen = 0, derlen = 0;
    azkm_sign_params p;
    azkm_vault *v = NULL;
    azkm_key *k = NULL;
    int ret, raw, valid;

    if (azkm_sign_params_from_alg(alg, &p) != AZKM_OK)
        return args_usage("--algorithm", "%s (RS256..RS512, PS256..PS512, ES256..ES512, EdDSA)", azkm_last_error());
    if ((ret = sig_format_raw(a, &raw)) != 0 || (ret = signed_input(a, &p, md, &msg, &in, &mdlen)) != 0)
        return ret;
    if ((ret = cli_read_bytes(a, "--signature", "--signature-file", 0, &sig, &siglen)) != 0) {
        OPENSSL_free(msg);
        return ret;
    }
    if ((ret = cli_key_load(ctx, a, &v, &k)) != 0)
        goto end;
    if (raw && p.scheme == AZKM_SIG_ECDSA) {
        if (siglen != 2 * (size_t)ec_field_bytes(k) || !ecdsa_raw_to_der(sig, siglen, &der, &derlen)) {
            ret = args_usage("--sig-format", "a raw signature for this key is %d bytes of r||s (got %zu)",
                             2 * ec_field_bytes(k), siglen);
            goto end;
        }
    }
    if (azkm_key_verify(k, &p, in, mdlen, der ? der : sig, der ? derlen : siglen, &valid) != AZKM_OK) {
        ret = cli_fail(azkm_last_rc());
        goto end;
    }
    ret = print_verdict(ctx->json, azkm_key_get_uri(k), alg, valid);
    if (ret == 0 && !valid)
        ret = cli_fail_invalid_signature(azkm_key_get_uri(k));
end:
    OPENSSL_free(der);
    OPENSSL_free(sig);
    OPENSSL_free(msg);
    cli_key_release(v, k);
    return ret;
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
    {"--algorithm", ARG_VALUE, "ALG",
     "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, or EdDSA (OKP keys: signs the --data-file "
     "itself).",
     1},
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
    {"--algorithm", ARG_VALUE, "ALG",
     "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, or EdDSA (OKP keys: signs the --data-file "
     "itself).",
     1},
    FLAG_DIGEST,
    FLAG_DATA_FILE,
    {"--signature", ARG_VALUE, "BASE64", "The signature.", 0},
    {"--signature-file", ARG_VALUE, "FILE", "The binary signature (instead of --signature).", 0},
    FLAG_SIG_FORMAT,
    FLAG_END,
};

const cli_command cli_key_sign_commands[] = {
    {"sign", "Sign a digest with a key",
     "Give the digest (--digest, base64) or the data (--data-file, hashed here with the algorithm's hash).\n"
     "The signature verifies with `openssl dgst -verify` against the key from `azkm key download`.",
     sign_flags,
     "  azkm key sign --vault-name prod --name web-tls --algorithm RS256 --data-file msg.txt --signature-file "
     "s.bin\n"
     "  openssl dgst -sha256 -verify pub.pem -signature s.bin msg.txt\n"
     "  azkm key sign --vault-name prod --name web-ec --algorithm ES256 --digest \"$(openssl dgst -sha256 -binary "
     "msg.txt | base64)\" --sig-format raw\n"
     "  azkm key sign --vault-name prod --name web-ed --algorithm EdDSA --data-file msg.txt --signature-file "
     "s.bin\n",
     key_sign},
    {"verify", "Verify a signature with a key",
     "Exits 0 for a valid signature and 1 (InvalidSignature) for an invalid one.", verify_flags,
     "  azkm key verify --vault-name prod --name web-tls --algorithm RS256 --data-file msg.txt --signature-file "
     "s.bin\n",
     key_verify},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
