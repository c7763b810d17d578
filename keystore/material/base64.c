/* Base64 and base64url on top of OpenSSL's base64 block coder (see base64.h). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "azkm/base64.h"
#include "base/base.h"

char *azkm_b64_encode(const unsigned char *in, size_t len)
{
    char *out = OPENSSL_malloc(4 * ((len + 2) / 3) + 1);

    if (out != NULL)
        EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

char *azkm_b64url_encode(const unsigned char *in, size_t len)
{
    char *out = azkm_b64_encode(in, len);
    size_t n;

    if (out == NULL)
        return NULL;
    for (n = 0; out[n] != '\0'; n++) {
        if (out[n] == '+')
            out[n] = '-';
        else if (out[n] == '/')
            out[n] = '_';
    }
    while (n > 0 && out[n - 1] == '=')
        out[--n] = '\0';
    return out;
}

azkm_rc azkm_b64_decode(const char *text, unsigned char **out, size_t *outlen)
{
    size_t len = strlen(text), n = 0, pad = 0;
    char *norm = OPENSSL_malloc(len + 4);
    unsigned char *buf = NULL;
    int dec;

    if (norm == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    for (size_t i = 0; i < len; i++) {
        char c = text[i];

        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (c == '=')
            pad++;
        else if (pad > 0)
            goto err; /* data after padding */
        norm[n++] = c;
    }
    while (n % 4 != 0) {
        norm[n++] = '=';
        pad++;
    }
    if (pad > 2)
        goto err;
    norm[n] = '\0';
    if ((buf = OPENSSL_malloc(n / 4 * 3 + 1)) == NULL)
        goto err;
    /* EVP_DecodeBlock rejects characters outside the alphabet, and counts padding as zero bytes */
    dec = n == 0 ? 0 : EVP_DecodeBlock(buf, (unsigned char *)norm, (int)n);
    if (dec < 0 || (size_t)dec < pad)
        goto err;
    *outlen = (size_t)dec - pad;
    *out = buf;
    OPENSSL_clear_free(norm, len + 4);
    return AZKM_OK;
err:
    OPENSSL_clear_free(norm, len + 4);
    OPENSSL_free(buf);
    return azkm_fail(AZKM_E_INVALID, "not valid base64 or base64url");
}
