/* Names and vocabularies: key and vault names, versions, key types, curves, key_ops and tags. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"

int azkm_key_name_valid(const char *name)
{
    size_t n;

    if (name == NULL)
        return 0;
    n = strlen(name);
    if (n < 1 || n > AZKM_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '-')
            return 0;
    return 1;
}

int azkm_vault_name_valid(const char *name)
{
    size_t n;

    if (name == NULL)
        return 0;
    n = strlen(name);
    if (n < 3 || n > AZKM_VAULT_NAME_MAX || !isalpha((unsigned char)name[0]) || name[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)name[i]) && name[i] != '-')
            return 0;
        if (name[i] == '-' && name[i + 1] == '-')
            return 0;
    }
    return 1;
}

int azkm_version_valid(const char *version)
{
    if (version == NULL || strlen(version) != AZKM_VERSION_LEN)
        return 0;
    for (size_t i = 0; i < AZKM_VERSION_LEN; i++)
        if (!isxdigit((unsigned char)version[i]))
            return 0;
    return 1;
}

static const struct {
    const char *name;
    azkm_kty kty;
    azkm_protection protection;
} kty_names[] = {
    {"RSA", AZKM_KTY_RSA, AZKM_PROTECTION_SOFTWARE}, {"EC", AZKM_KTY_EC, AZKM_PROTECTION_SOFTWARE},
    {"oct", AZKM_KTY_OCT, AZKM_PROTECTION_SOFTWARE}, {"OKP", AZKM_KTY_OKP, AZKM_PROTECTION_SOFTWARE},
    {"RSA-HSM", AZKM_KTY_RSA, AZKM_PROTECTION_HSM},  {"EC-HSM", AZKM_KTY_EC, AZKM_PROTECTION_HSM},
    {"oct-HSM", AZKM_KTY_OCT, AZKM_PROTECTION_HSM},  {"OKP-HSM", AZKM_KTY_OKP, AZKM_PROTECTION_HSM},
};

const char *azkm_kty_name(azkm_kty kty, azkm_protection protection)
{
    for (size_t i = 0; i < sizeof(kty_names) / sizeof(kty_names[0]); i++)
        if (kty_names[i].kty == kty && kty_names[i].protection == protection)
            return kty_names[i].name;
    return "unknown";
}

azkm_rc azkm_kty_parse(const char *text, azkm_kty *kty, azkm_protection *protection)
{
    for (size_t i = 0; text != NULL && i < sizeof(kty_names) / sizeof(kty_names[0]); i++) {
        if (strcasecmp(text, kty_names[i].name) == 0) {
            *kty = kty_names[i].kty;
            *protection = kty_names[i].protection;
            return AZKM_OK;
        }
    }
    return azkm_fail(AZKM_E_INVALID,
                     "key type '%s' is not one of RSA, EC, oct, OKP, RSA-HSM, EC-HSM, oct-HSM, OKP-HSM",
                     text ? text : "");
}

/* bits: the EC field size; for the EdDSA curves what OpenSSL reports (EVP_PKEY_get_bits). */
static const struct {
    const char *name;
    const char *alias;
    azkm_curve curve;
    azkm_kty kty;
    int bits;
} curves[] = {
    {"P-256", "prime256v1", AZKM_CURVE_P256, AZKM_KTY_EC, 256},
    {"P-384", "secp384r1", AZKM_CURVE_P384, AZKM_KTY_EC, 384},
    {"P-521", "secp521r1", AZKM_CURVE_P521, AZKM_KTY_EC, 521},
    {"Ed25519", "ED25519", AZKM_CURVE_ED25519, AZKM_KTY_OKP, 256},
    {"Ed448", "ED448", AZKM_CURVE_ED448, AZKM_KTY_OKP, 456},
};

const char *azkm_curve_name(azkm_curve curve)
{
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
        if (curves[i].curve == curve)
            return curves[i].name;
    return "";
}

azkm_rc azkm_curve_parse(const char *text, azkm_curve *curve)
{
    for (size_t i = 0; text != NULL && i < sizeof(curves) / sizeof(curves[0]); i++) {
        if (strcasecmp(text, curves[i].name) == 0 || strcasecmp(text, curves[i].alias) == 0) {
            *curve = curves[i].curve;
            return AZKM_OK;
        }
    }
    return azkm_fail(AZKM_E_UNSUPPORTED, "curve '%s' is not one of P-256, P-384, P-521, Ed25519, Ed448",
                     text ? text : "");
}

int azkm_curve_bits(azkm_curve curve)
{
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
        if (curves[i].curve == curve)
            return curves[i].bits;
    return 0;
}

azkm_kty azkm_curve_kty(azkm_curve curve)
{
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
        if (curves[i].curve == curve)
            return curves[i].kty;
    return 0;
}

/* In bit order: op_names[i] names 1u << i. */
static const char *const op_names[] = {"encrypt", "decrypt",   "sign",   "verify",
                                       "wrapKey", "unwrapKey", "import", "deriveBits"};

const char *azkm_op_name(unsigned op)
{
    for (unsigned i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
        if (op == (1u << i))
            return op_names[i];
    return "unknown";
}

azkm_rc azkm_ops_parse(const char *text, unsigned *ops)
{
    unsigned result = 0;
    const char *p = text;

    if (text == NULL)
        return azkm_fail(AZKM_E_INVALID, "key_ops: missing list");
    while (*p) {
        size_t n;
        unsigned found = 0;

        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        n = strcspn(p, ", \t");
        if (n == 0)
            break;
        for (unsigned i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
            if (strlen(op_names[i]) == n && strncasecmp(p, op_names[i], n) == 0)
                found = 1u << i;
        }
        if (found == 0)
            return azkm_fail(AZKM_E_INVALID,
                             "key_ops: '%.*s' is not one of encrypt, decrypt, sign, verify, wrapKey, unwrapKey, "
                             "import, deriveBits",
                             (int)(n > 64 ? 64 : n), p);
        result |= found;
        p += n;
    }
    *ops = result;
    return AZKM_OK;
}

unsigned azkm_ops_allowed(azkm_kty kty, azkm_protection protection)
{
    switch (kty) {
    case AZKM_KTY_RSA:
        /* import marks an RSA-HSM key as a BYOK key exchange key */
        return AZKM_OP_ENCRYPT | AZKM_OP_DECRYPT | AZKM_OP_SIGN | AZKM_OP_VERIFY | AZKM_OP_WRAP | AZKM_OP_UNWRAP |
               (protection == AZKM_PROTECTION_HSM ? AZKM_OP_IMPORT : 0);
    case AZKM_KTY_EC:
        return AZKM_OP_SIGN | AZKM_OP_VERIFY | AZKM_OP_DERIVE;
    case AZKM_KTY_OKP:
        return AZKM_OP_SIGN | AZKM_OP_VERIFY;
    case AZKM_KTY_OCT:
        return AZKM_OP_ENCRYPT | AZKM_OP_DECRYPT | AZKM_OP_WRAP | AZKM_OP_UNWRAP;
    }
    return 0;
}

unsigned azkm_ops_default(azkm_kty kty)
{
    /* A key that hands out ECDH secrets says so: deriveBits only when asked for. */
    return azkm_ops_allowed(kty, AZKM_PROTECTION_SOFTWARE) & ~AZKM_OP_DERIVE;
}

static int tag_char_ok(int c)
{
    return c >= 0x20 && c != 0x7f;
}

azkm_rc azkm_tags_parse(const char *text, azkm_attributes *attrs)
{
    const char *p = text;

    attrs->n_tags = 0;
    while (p && *p) {
        size_t n, eq;
        azkm_tag *t;

        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        n = strcspn(p, " ,");
        eq = strcspn(p, "=");
        if (eq >= n || eq == 0)
            return azkm_fail(AZKM_E_INVALID, "tags: '%.*s' is not of the form name=value", (int)(n > 64 ? 64 : n),
                             p);
        if (attrs->n_tags == AZKM_MAX_TAGS)
            return azkm_fail(AZKM_E_INVALID, "tags: at most %d tags are allowed", AZKM_MAX_TAGS);
        if (eq > AZKM_TAG_NAME_MAX || n - eq - 1 > AZKM_TAG_VALUE_MAX)
            return azkm_fail(AZKM_E_INVALID, "tags: name or value of '%.*s...' is too long", 32, p);
        for (size_t i = 0; i < n; i++)
            if (!tag_char_ok((unsigned char)p[i]))
                return azkm_fail(AZKM_E_INVALID, "tags: control character in tag %zu", attrs->n_tags + 1);
        t = &attrs->tags[attrs->n_tags];
        for (size_t i = 0; i < attrs->n_tags; i++)
            if (strlen(attrs->tags[i].name) == eq && strncmp(attrs->tags[i].name, p, eq) == 0)
                return azkm_fail(AZKM_E_INVALID, "tags: tag '%.*s' is given twice", (int)eq, p);
        memcpy(t->name, p, eq);
        t->name[eq] = '\0';
        memcpy(t->value, p + eq + 1, n - eq - 1);
        t->value[n - eq - 1] = '\0';
        attrs->n_tags++;
        p += n;
    }
    return AZKM_OK;
}
