/* Fuzzes key import parsing (azkm_material_parse: PEM, DER, PKCS#8 (RSA, EC, Ed25519, Ed448), encrypted PKCS#8,
 * traditional RSA/EC, PKCS#12) on arbitrary bytes, once without a passphrase and once with the seeds' passphrase.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse(const uint8_t *data, size_t size, const char *pass)
{
    azkm_material m;
    azkm_rc rc;

    memset(&m, 0x5a, sizeof(m));
    rc = azkm_material_parse(NULL, data, size, pass, &m);
    if (rc != AZKM_OK) {
        FUZZ_CHECK(m.der == NULL && m.der_len == 0, "a refused import left material behind");
        FUZZ_CHECK(azkm_last_error()[0] != '\0', "import refused without a message");
        FUZZ_CHECK(ERR_peek_error() == 0, "import refused and left errors on the OpenSSL error queue");
        return;
    }
    FUZZ_CHECK(m.der != NULL && m.der_len > 0, "accepted import without material");
    FUZZ_CHECK(m.kty == AZKM_KTY_RSA || m.kty == AZKM_KTY_EC || m.kty == AZKM_KTY_OKP,
               "accepted import of key type %d", (int)m.kty);
    {
        /* The material is PKCS#8 DER of the announced type. */
        const unsigned char *p = m.der;
        EVP_PKEY *pkey = d2i_AutoPrivateKey(NULL, &p, (long)m.der_len);

        FUZZ_CHECK(pkey != NULL && p == m.der + m.der_len, "accepted material is not one DER private key");
        FUZZ_CHECK(m.kty == AZKM_KTY_OKP ? EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "ED448")
                                         : EVP_PKEY_is_a(pkey, m.kty == AZKM_KTY_RSA ? "RSA" : "EC"),
                   "material type differs from kty %d", (int)m.kty);
        EVP_PKEY_free(pkey);
    }
    azkm_material_clear(&m);
    FUZZ_CHECK(m.der == NULL && m.der_len == 0, "azkm_material_clear left material behind");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse(data, size, NULL);
    parse(data, size, FUZZ_PASSPHRASE);
    ERR_clear_error();
    return 0;
}
