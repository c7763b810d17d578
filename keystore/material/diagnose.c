/* Why an import found no private key in a file, said exactly: a PEM block cut short, without its END line, with a
 * second BEGIN line, a label that does not match its body; an encrypted key without its passphrase; a public key
 * or certificate where a private key was expected. The file may hold a key: every copy is cleared. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "material/material.h"

#define BEGIN_LINE "-----BEGIN "
#define END_LINE "-----END "
#define LABEL_MAX 64

/* The next line at or after p that starts with prefix, or NULL. */
static const char *line_with(const char *p, const char *prefix)
{
    size_t n = strlen(prefix);

    for (; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p != NULL ? p + 1 : NULL)
        if (strncmp(p, prefix, n) == 0)
            return p;
    return NULL;
}

/* The label of a "-----BEGIN <label>-----" or "-----END <label>-----" line. */
static void label_of(const char *line, char label[LABEL_MAX])
{
    const char *p = line + (line[5] == 'B' ? strlen(BEGIN_LINE) : strlen(END_LINE));
    const char *dash = strstr(p, "-----"), *nl = strchr(p, '\n');
    size_t n = dash != NULL && (nl == NULL || dash < nl) ? (size_t)(dash - p) : strcspn(p, "\r\n");

    snprintf(label, LABEL_MAX, "%.*s", (int)(n < LABEL_MAX ? n : LABEL_MAX - 1), p);
}

static unsigned line_number(const char *text, const char *at)
{
    unsigned n = 1;

    for (const char *p = text; p < at; p++)
        n += *p == '\n';
    return n;
}

/* Header plus content length the DER at der declares (definite lengths), 0 if its header is unreadable. */
static long der_declared(const unsigned char *der, long len)
{
    const unsigned char *p = der;
    long content = 0;
    int tag, xclass;

    if ((ASN1_get_object(&p, &content, &tag, &xclass, len) & 0x80) != 0 && (p == der || content <= 0))
        return 0;
    return (long)(p - der) + content;
}

static const char *sequence_kind(const STACK_OF(ASN1_TYPE) * seq)
{
    int n = sk_ASN1_TYPE_num(seq), first = n > 0 ? sk_ASN1_TYPE_value(seq, 0)->type : -1;

    if (n == 9 && first == V_ASN1_INTEGER)
        return "a traditional RSA private key";
    if (n >= 2 && n <= 4 && first == V_ASN1_INTEGER && sk_ASN1_TYPE_value(seq, 1)->type == V_ASN1_OCTET_STRING)
        return "a traditional EC private key";
    if (n == 3 && first == V_ASN1_SEQUENCE)
        return "a certificate";
    return NULL;
}

/* What a DER body is, as a noun phrase for the messages; NULL when it is none of these. */
static const char *body_kind(const unsigned char *der, long len)
{
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len);
    X509_SIG *sig = NULL;
    X509_PUBKEY *spki = NULL;
    STACK_OF(ASN1_TYPE) *seq = NULL;
    const char *kind = NULL;

    if (p8 != NULL)
        kind = "a PKCS#8 private key";
    else if ((p = der, sig = d2i_X509_SIG(NULL, &p, len)) != NULL)
        kind = "an encrypted PKCS#8 private key";
    else if ((p = der, spki = d2i_X509_PUBKEY(NULL, &p, len)) != NULL)
        kind = "a public key";
    else if ((p = der, seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len)) != NULL)
        kind = sequence_kind(seq);
    PKCS8_PRIV_KEY_INFO_free(p8);
    X509_SIG_free(sig);
    X509_PUBKEY_free(spki);
    sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
    return kind;
}

/* The body a PEM label promises. */
static const char *label_kind(const char *label)
{
    static const struct {
        const char *label, *kind;
    } kinds[] = {
        {"PRIVATE KEY", "a PKCS#8 private key"},
        {"ENCRYPTED PRIVATE KEY", "an encrypted PKCS#8 private key"},
        {"RSA PRIVATE KEY", "a traditional RSA private key"},
        {"EC PRIVATE KEY", "a traditional EC private key"},
        {"PUBLIC KEY", "a public key"},
        {"CERTIFICATE", "a certificate"},
    };

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(label, kinds[i].label) == 0)
            return kinds[i].kind;
    return NULL;
}

/* The passphrase errors of an encrypted key that did not decode. */
static azkm_rc encrypted(const char *passphrase)
{
    if (passphrase == NULL)
        return azkm_fail(AZKM_E_AUTH, "import: the key file is encrypted and no passphrase was given");
    return azkm_fail(AZKM_E_AUTH, "import: wrong passphrase for the encrypted key file");
}

/* A body that decoded to something, but not to a usable private key. */
static azkm_rc wrong_body(const char *label, const char *kind)
{
    const char *promised = label != NULL ? label_kind(label) : NULL;

    if (promised != NULL && kind != NULL && strcmp(promised, kind) != 0)
        return azkm_fail(AZKM_E_INVALID, "import: the PEM label says %s but its body is %s", label, kind);
    if (kind != NULL && (strcmp(kind, "a public key") == 0 || strcmp(kind, "a certificate") == 0))
        return azkm_fail(AZKM_E_INVALID, "import: no private key found: the file holds %s, not a private key",
                         kind);
    return AZKM_OK;
}

/* A DER object: cut short, encrypted, or not a private key. */
static azkm_rc check_der(const unsigned char *der, long len, const char *label, const char *passphrase)
{
    long declared = der_declared(der, len);
    const char *kind;

    if (declared > len)
        return azkm_fail(AZKM_E_INVALID, "import: the %s%s is cut short: %ld of the %ld bytes it declares",
                         label != NULL ? "body of the PEM block " : "DER key", label != NULL ? label : "", len,
                         declared);
    kind = body_kind(der, len);
    if (kind != NULL && strcmp(kind, "an encrypted PKCS#8 private key") == 0 &&
        (label == NULL || strcmp(label, "ENCRYPTED PRIVATE KEY") == 0))
        return encrypted(passphrase);
    return wrong_body(label, kind);
}

/* The structure of the PEM block that starts at begin: one BEGIN line, then an END line with the same label. */
static azkm_rc pem_structure(const char *text, const char *begin, char label[LABEL_MAX], const char **end)
{
    const char *next = strchr(begin, '\n'), *again;
    char end_label[LABEL_MAX];

    label_of(begin, label);
    again = next != NULL ? line_with(next + 1, BEGIN_LINE) : NULL;
    *end = next != NULL ? line_with(next + 1, END_LINE) : NULL;
    if (again != NULL && (*end == NULL || again < *end))
        return azkm_fail(AZKM_E_INVALID,
                         "import: the PEM block %s (line %u) has a second BEGIN line (line %u) before its END line",
                         label, line_number(text, begin), line_number(text, again));
    if (*end == NULL)
        return azkm_fail(AZKM_E_INVALID,
                         "import: the PEM block %s has no END line (-----END %s-----): the file is cut short",
                         label, label);
    label_of(*end, end_label);
    if (strcmp(label, end_label) != 0)
        return azkm_fail(AZKM_E_INVALID, "import: the PEM block begins with %s but ends with %s", label, end_label);
    return AZKM_OK;
}

/* The first PEM block of text: its structure, its base64, then its body. */
static azkm_rc check_pem(const char *text, const char *begin, const char *passphrase)
{
    char label[LABEL_MAX], *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    const char *end = NULL;
    long der_len = 0;
    BIO *mem = NULL;
    azkm_rc rc = pem_structure(text, begin, label, &end);

    if (rc != AZKM_OK)
        return rc;
    end += strcspn(end, "\n");
    mem = BIO_new_mem_buf(begin, (int)(end - begin));
    if (mem == NULL || PEM_read_bio(mem, &name, &header, &der, &der_len) <= 0)
        rc = azkm_fail(AZKM_E_INVALID, "import: the PEM block %s is not valid base64", label);
    else if (strstr(header, "ENCRYPTED") != NULL) /* a traditional encrypted key: its body is ciphertext */
        rc = encrypted(passphrase);
    else
        rc = check_der(der, der_len, label, passphrase);
    BIO_free(mem);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_clear_free(der, (size_t)(der_len > 0 ? der_len : 0));
    return rc;
}

azkm_rc azkm_material_why_not(const unsigned char *in, size_t len, const char *passphrase)
{
    char *text = OPENSSL_malloc(len + 1);
    const char *begin;
    azkm_rc rc = AZKM_OK;

    if (text == NULL)
        return azkm_fail(AZKM_E_NOMEM, "import: out of memory");
    memcpy(text, in, len);
    text[len] = '\0';
    ERR_set_mark();
    if ((begin = line_with(text, BEGIN_LINE)) != NULL)
        rc = check_pem(text, begin, passphrase);
    else if (len > 0 && in[0] == 0x30 && len < (size_t)LONG_MAX)
        rc = check_der(in, (long)len, NULL, passphrase);
    ERR_pop_to_mark();
    OPENSSL_clear_free(text, len + 1);
    if (rc != AZKM_OK)
        return rc;
    return azkm_fail(AZKM_E_INVALID, "import: no private key found (expected PEM or DER: PKCS#8, encrypted PKCS#8, "
                                     "traditional RSA or EC, or PKCS#12)");
}
