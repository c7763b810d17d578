/* Azure algorithm names (RS256, PS384, ES512, RSA-OAEP-256, A256KW, A128GCM, ...) mapped to operation parameters.
 */
#include <string.h>
#include <strings.h>

#include "base/base.h"

static const struct {
    const char *alg;
    azkm_sig_scheme scheme;
    const char *digest;
} sign_algs[] = {
    {"RS256", AZKM_SIG_RSA_PKCS1, "SHA256"}, {"RS384", AZKM_SIG_RSA_PKCS1, "SHA384"},
    {"RS512", AZKM_SIG_RSA_PKCS1, "SHA512"}, {"PS256", AZKM_SIG_RSA_PSS, "SHA256"},
    {"PS384", AZKM_SIG_RSA_PSS, "SHA384"},   {"PS512", AZKM_SIG_RSA_PSS, "SHA512"},
    {"ES256", AZKM_SIG_ECDSA, "SHA256"},     {"ES384", AZKM_SIG_ECDSA, "SHA384"},
    {"ES512", AZKM_SIG_ECDSA, "SHA512"},     {"EdDSA", AZKM_SIG_EDDSA, NULL},
};

azkm_rc azkm_sign_params_from_alg(const char *alg, azkm_sign_params *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; alg != NULL && i < sizeof(sign_algs) / sizeof(sign_algs[0]); i++) {
        if (strcmp(alg, sign_algs[i].alg) == 0) {
            out->scheme = sign_algs[i].scheme;
            out->digest = sign_algs[i].digest;
            out->pss_saltlen = AZKM_PSS_SALT_DIGEST;
            return AZKM_OK;
        }
    }
    return azkm_fail(AZKM_E_INVALID,
                     "signature algorithm '%s' is not one of RS256, RS384, RS512, PS256, PS384, "
                     "PS512, ES256, ES384, ES512, EdDSA",
                     alg ? alg : "");
}

static const struct {
    const char *alg;
    azkm_enc_scheme scheme;
    const char *digest;
    unsigned key_bits; /* AES algorithms name their key size */
} cipher_algs[] = {
    {"RSA1_5", AZKM_ENC_RSA_PKCS1, NULL, 0},
    {"RSA-OAEP", AZKM_ENC_RSA_OAEP, "SHA1", 0},
    {"RSA-OAEP-256", AZKM_ENC_RSA_OAEP, "SHA256", 0},
    {"A128KW", AZKM_ENC_AES_KW, NULL, 128},
    {"A192KW", AZKM_ENC_AES_KW, NULL, 192},
    {"A256KW", AZKM_ENC_AES_KW, NULL, 256},
    {"A128GCM", AZKM_ENC_AES_GCM, NULL, 128},
    {"A192GCM", AZKM_ENC_AES_GCM, NULL, 192},
    {"A256GCM", AZKM_ENC_AES_GCM, NULL, 256},
    {"CKM_AES_KEY_WRAP", AZKM_ENC_AES_KW, NULL, 0},
    {"CKM_AES_KEY_WRAP_PAD", AZKM_ENC_AES_KWP, NULL, 0},
};

azkm_rc azkm_cipher_params_from_alg(const char *alg, azkm_cipher_params *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; alg != NULL && i < sizeof(cipher_algs) / sizeof(cipher_algs[0]); i++) {
        if (strcmp(alg, cipher_algs[i].alg) == 0) {
            out->scheme = cipher_algs[i].scheme;
            out->oaep_digest = cipher_algs[i].digest;
            out->key_bits = cipher_algs[i].key_bits;
            return AZKM_OK;
        }
    }
    return azkm_fail(AZKM_E_INVALID,
                     "encryption algorithm '%s' is not one of RSA-OAEP, RSA-OAEP-256, RSA1_5, A128KW, A192KW, "
                     "A256KW, A128GCM, A192GCM, A256GCM, CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD",
                     alg ? alg : "");
}

size_t azkm_digest_size(const char *name)
{
    static const struct {
        const char *name;
        size_t size;
    } sizes[] = {{"SHA1", 20},    {"SHA-1", 20},    {"SHA224", 28},   {"SHA2-224", 28}, {"SHA-224", 28},
                 {"SHA256", 32},  {"SHA2-256", 32}, {"SHA-256", 32},  {"SHA384", 48},   {"SHA2-384", 48},
                 {"SHA-384", 48}, {"SHA512", 64},   {"SHA2-512", 64}, {"SHA-512", 64}};

    for (size_t i = 0; name != NULL && i < sizeof(sizes) / sizeof(sizes[0]); i++)
        if (strcasecmp(name, sizes[i].name) == 0)
            return sizes[i].size;
    return 0;
}
