/* Encoding and decoding of azkm key reference files (see keyref.h and docs/provider.md), with OpenSSL's ASN.1
 * templates: PEM label "AZKM KEY REFERENCE", DER SEQUENCE { version INTEGER, uri UTF8String }. */
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/pem.h>

#include "azkm/keyref.h"

typedef struct {
    ASN1_INTEGER *version;
    ASN1_UTF8STRING *uri;
} AZKM_KEYREF;

ASN1_SEQUENCE(AZKM_KEYREF) =
    {
        ASN1_SIMPLE(AZKM_KEYREF, version, ASN1_INTEGER),
        ASN1_SIMPLE(AZKM_KEYREF, uri, ASN1_UTF8STRING),
} static_ASN1_SEQUENCE_END(AZKM_KEYREF)

        static int uri_acceptable(const char *uri, size_t len)
{
    return len > 7 && len <= AZKM_KEYREF_URI_MAX && strncmp(uri, "azkm://", 7) == 0 &&
           memchr(uri, '\0', len) == NULL;
}

azkm_keyref_rc azkm_keyref_encode_der(const char *uri, unsigned char **der, size_t *der_len)
{
    AZKM_KEYREF *ref;
    unsigned char *out = NULL;
    azkm_keyref_rc rc = AZKM_KEYREF_E_NOMEM;
    int len;

    if (uri == NULL || !uri_acceptable(uri, strlen(uri)))
        return AZKM_KEYREF_E_URI;
    ref = (AZKM_KEYREF *)ASN1_item_new(ASN1_ITEM_rptr(AZKM_KEYREF));
    if (ref == NULL)
        return AZKM_KEYREF_E_NOMEM;
    if (!ASN1_INTEGER_set(ref->version, AZKM_KEYREF_VERSION) || !ASN1_STRING_set(ref->uri, uri, (int)strlen(uri)))
        goto end;
    len = ASN1_item_i2d((ASN1_VALUE *)ref, &out, ASN1_ITEM_rptr(AZKM_KEYREF));
    if (len <= 0)
        goto end;
    *der = out;
    *der_len = (size_t)len;
    rc = AZKM_KEYREF_OK;
end:
    ASN1_item_free((ASN1_VALUE *)ref, ASN1_ITEM_rptr(AZKM_KEYREF));
    return rc;
}

azkm_keyref_rc azkm_keyref_decode_der(const unsigned char *der, size_t der_len, char **uri)
{
    const unsigned char *p = der;
    AZKM_KEYREF *ref;
    azkm_keyref_rc rc;
    long version;
    int len;

    *uri = NULL;
    if (der == NULL || der_len == 0 || der_len > 4096)
        return AZKM_KEYREF_E_SYNTAX;
    ref = (AZKM_KEYREF *)ASN1_item_d2i(NULL, &p, (long)der_len, ASN1_ITEM_rptr(AZKM_KEYREF));
    if (ref == NULL)
        return AZKM_KEYREF_E_SYNTAX;
    if ((size_t)(p - der) != der_len) {
        rc = AZKM_KEYREF_E_SYNTAX;
        goto end;
    }
    version = ASN1_INTEGER_get(ref->version);
    if (version != AZKM_KEYREF_VERSION) {
        rc = AZKM_KEYREF_E_VERSION;
        goto end;
    }
    len = ASN1_STRING_length(ref->uri);
    if (len <= 0 || !uri_acceptable((const char *)ASN1_STRING_get0_data(ref->uri), (size_t)len)) {
        rc = AZKM_KEYREF_E_URI;
        goto end;
    }
    *uri = OPENSSL_strndup((const char *)ASN1_STRING_get0_data(ref->uri), (size_t)len);
    rc = *uri != NULL ? AZKM_KEYREF_OK : AZKM_KEYREF_E_NOMEM;
end:
    ASN1_item_free((ASN1_VALUE *)ref, ASN1_ITEM_rptr(AZKM_KEYREF));
    return rc;
}

azkm_keyref_rc azkm_keyref_write_pem(BIO *out, const char *uri)
{
    unsigned char *der = NULL;
    size_t len = 0;
    azkm_keyref_rc rc = azkm_keyref_encode_der(uri, &der, &len);

    if (rc != AZKM_KEYREF_OK)
        return rc;
    if (PEM_write_bio(out, AZKM_KEYREF_PEM_LABEL, "", der, (long)len) <= 0)
        rc = AZKM_KEYREF_E_IO;
    OPENSSL_free(der);
    return rc;
}

azkm_keyref_rc azkm_keyref_read_pem(BIO *in, char **uri)
{
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long len = 0;
    azkm_keyref_rc rc;

    *uri = NULL;
    if (PEM_read_bio(in, &name, &header, &data, &len) <= 0)
        return AZKM_KEYREF_E_LABEL;
    if (strcmp(name, AZKM_KEYREF_PEM_LABEL) != 0)
        rc = AZKM_KEYREF_E_LABEL;
    else
        rc = azkm_keyref_decode_der(data, (size_t)len, uri);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    return rc;
}

const char *azkm_keyref_strerror(azkm_keyref_rc rc)
{
    switch (rc) {
    case AZKM_KEYREF_OK:
        return "ok";
    case AZKM_KEYREF_E_NOMEM:
        return "out of memory";
    case AZKM_KEYREF_E_SYNTAX:
        return "the reference is not a DER SEQUENCE { version INTEGER, uri UTF8String }";
    case AZKM_KEYREF_E_VERSION:
        return "the reference has an unknown version (this build reads version 1)";
    case AZKM_KEYREF_E_URI:
        return "the reference holds no valid azkm:// URI";
    case AZKM_KEYREF_E_LABEL:
        return "not an " AZKM_KEYREF_PEM_LABEL " PEM block";
    case AZKM_KEYREF_E_IO:
        return "write failed";
    }
    return "unknown error";
}
