/* Fuzzes the small vocabulary parsers: tags, key_ops, key types, curves, algorithm names and name validators. Each
 * accepted input must be well formed and survive a round trip through its canonical text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tags(const char *text)
{
    azkm_attributes a, b;
    char *canon;
    size_t cap = 1, off = 0;

    memset(&a, 0x5a, sizeof(a)); /* parse must not trust what was there */
    if (azkm_tags_parse(text, &a) != AZKM_OK) {
        FUZZ_CHECK(azkm_last_error()[0] != '\0', "tags '%.80s' refused without a message", text);
        return;
    }
    FUZZ_CHECK(a.n_tags <= AZKM_MAX_TAGS, "%zu tags accepted", a.n_tags);
    for (size_t i = 0; i < a.n_tags; i++) {
        size_t nl = strnlen(a.tags[i].name, sizeof(a.tags[i].name)), vl;

        FUZZ_CHECK(nl >= 1 && nl <= AZKM_TAG_NAME_MAX, "tag %zu: name length %zu", i, nl);
        vl = strnlen(a.tags[i].value, sizeof(a.tags[i].value));
        FUZZ_CHECK(vl <= AZKM_TAG_VALUE_MAX, "tag %zu: value length %zu", i, vl);
        FUZZ_CHECK(strpbrk(a.tags[i].name, "=, ") == NULL, "tag name '%s' holds a separator", a.tags[i].name);
        FUZZ_CHECK(strpbrk(a.tags[i].value, ", ") == NULL, "tag value '%s' holds a separator", a.tags[i].value);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(a.tags[i].name, a.tags[j].name) != 0, "tag '%s' accepted twice", a.tags[i].name);
        cap += nl + vl + 2;
    }
    canon = malloc(cap);
    FUZZ_CHECK(canon != NULL, "out of memory");
    canon[0] = '\0';
    for (size_t i = 0; i < a.n_tags; i++)
        off += (size_t)snprintf(canon + off, cap - off, "%s%s=%s", i ? "," : "", a.tags[i].name, a.tags[i].value);
    FUZZ_CHECK(azkm_tags_parse(canon, &b) == AZKM_OK, "canonical tags '%.80s' refused: %s", canon,
               azkm_last_error());
    FUZZ_CHECK(b.n_tags == a.n_tags, "tags round trip: %zu then %zu tags", a.n_tags, b.n_tags);
    for (size_t i = 0; i < a.n_tags; i++)
        FUZZ_CHECK(strcmp(a.tags[i].name, b.tags[i].name) == 0 && strcmp(a.tags[i].value, b.tags[i].value) == 0,
                   "tags round trip changed tag %zu", i);
    free(canon);
}

static void check_ops(const char *text)
{
    unsigned ops = 0xdeadbeef, again = 0;
    char canon[128] = "";

    if (azkm_ops_parse(text, &ops) != AZKM_OK)
        return;
    FUZZ_CHECK((ops & ~(unsigned)AZKM_OP_ALL) == 0, "key_ops '%.80s' parsed to 0x%x", text, ops);
    for (unsigned bit = 1; bit & AZKM_OP_ALL; bit <<= 1)
        if (ops & bit) {
            strcat(canon, canon[0] ? "," : "");
            strcat(canon, azkm_op_name(bit));
        }
    FUZZ_CHECK(azkm_ops_parse(canon, &again) == AZKM_OK && again == ops, "key_ops round trip '%s': 0x%x then 0x%x",
               canon, ops, again);
}

static void check_names(const char *text)
{
    azkm_kty kty;
    azkm_protection prot;
    azkm_curve curve;
    azkm_sign_params sp;
    azkm_cipher_params cp;
    size_t n = strlen(text);

    if (azkm_kty_parse(text, &kty, &prot) == AZKM_OK)
        FUZZ_CHECK(strcasecmp(azkm_kty_name(kty, prot), text) == 0, "key type '%s' named '%s'", text,
                   azkm_kty_name(kty, prot));
    if (azkm_curve_parse(text, &curve) == AZKM_OK)
        FUZZ_CHECK(azkm_curve_bits(curve) > 0 && azkm_curve_name(curve)[0] != '\0', "curve '%s' -> %d", text,
                   (int)curve);
    /* RSA and ECDSA sign a digest; EdDSA signs the message itself, with no digest */
    if (azkm_sign_params_from_alg(text, &sp) == AZKM_OK)
        FUZZ_CHECK((sp.digest != NULL && sp.scheme >= AZKM_SIG_RSA_PKCS1 && sp.scheme <= AZKM_SIG_ECDSA) ||
                       (sp.digest == NULL && sp.scheme == AZKM_SIG_EDDSA),
                   "signature algorithm '%s' -> scheme %d", text, (int)sp.scheme);
    if (azkm_cipher_params_from_alg(text, &cp) == AZKM_OK)
        FUZZ_CHECK(cp.scheme >= AZKM_ENC_RSA_PKCS1 && cp.scheme <= AZKM_ENC_AES_KWP,
                   "encryption algorithm '%s' -> scheme %d", text, (int)cp.scheme);
    if (azkm_key_name_valid(text))
        FUZZ_CHECK(n >= 1 && n <= AZKM_NAME_MAX &&
                       strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789-") == n,
                   "key name '%s' accepted", text);
    if (azkm_vault_name_valid(text))
        FUZZ_CHECK(n >= 3 && n <= AZKM_VAULT_NAME_MAX && strstr(text, "--") == NULL && text[n - 1] != '-',
                   "vault name '%s' accepted", text);
    if (azkm_version_valid(text))
        FUZZ_CHECK(n == AZKM_VERSION_LEN && strspn(text, "0123456789abcdefABCDEF") == n, "version '%s' accepted",
                   text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    check_tags(text);
    check_ops(text);
    check_names(text);
    free(text);
    return 0;
}
