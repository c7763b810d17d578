/* Fuzzes the base64/base64url decoder (keystore/material/base64.c), which reads backup and BYOK blobs, envelope
 * headers and the CLI's --value, signature and JWK text: decoding never overruns, and what it accepts re-encodes
 * and decodes back. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "azkm/base64.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const unsigned char *bytes, size_t len, char *(*encode)(const unsigned char *, size_t),
                      const char *what)
{
    char *text = encode(bytes, len);
    unsigned char *again = NULL;
    size_t again_len = 0;

    FUZZ_CHECK(text != NULL, "%s of %zu bytes failed", what, len);
    FUZZ_CHECK(azkm_b64_decode(text, &again, &again_len) == 0, "%s output '%.80s' does not decode", what, text);
    FUZZ_CHECK(again_len == len && memcmp(again, bytes, len) == 0, "%s round trip of %zu bytes gave %zu", what, len,
               again_len);
    OPENSSL_clear_free(again, again_len);
    OPENSSL_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    unsigned char *out = NULL;
    size_t outlen = 0;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (azkm_b64_decode(text, &out, &outlen) == 0) {
        FUZZ_CHECK(outlen <= strlen(text) / 4 * 3 + 3, "%zu characters decoded to %zu bytes", strlen(text), outlen);
        roundtrip(out, outlen, azkm_b64_encode, "azkm_b64_encode");
        roundtrip(out, outlen, azkm_b64url_encode, "azkm_b64url_encode");
        OPENSSL_clear_free(out, outlen);
    }
    free(text);
    return 0;
}
