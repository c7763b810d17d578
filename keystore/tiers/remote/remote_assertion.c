/* Client assertions (RFC 7523) for a remote vault's service principal: a JWT signed PS256 with the key of the
 * certificate registered to it, as @azure/identity's ClientCertificateCredential and MSAL make them, which azkmd's
 * token endpoint takes in place of a secret (docs/server.md, Client assertions). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "azkm/base64.h"
#include "base/secmem.h"
#include "tiers/remote/remote_token.h"

#define ASSERTION_LIFETIME 600
#define PEM_MAX (1 << 20)

/* aud: the token endpoint as azkmd names it in its discovery document (its `authority`, which the client cannot
 * know otherwise), read once per vault entry and process. */
static azkm_rc audience(const char *entry, const azkm_remote_conf *conf, azkm_remote_client *client, char *aud)
{
    char path[AZKM_REMOTE_TENANT_MAX + 48];
    json_t *resp = NULL;
    const char *url;
    azkm_rc rc;

    if (aud[0] != '\0')
        return AZKM_OK;
    snprintf(path, sizeof(path), "/%s/v2.0/.well-known/openid-configuration", conf->tenant);
    rc = azkm_remote_issuer_call(client, "GET", path, NULL, "azkmd's token issuer", &resp);
    url = json_string_value(json_object_get(resp, "token_endpoint"));
    if (rc == AZKM_OK && (url == NULL || strncmp(url, "http", 4) != 0 || strlen(url) >= AZKM_REMOTE_AUDIENCE_MAX))
        rc = azkm_fail(AZKM_E_CORRUPT, "remote vault %s: azkmd's discovery document %s has no token_endpoint URL",
                       entry, path);
    if (rc == AZKM_OK)
        memcpy(aud, url, strlen(url) + 1);
    json_decref(resp);
    return rc;
}

/* The certificate (PEM) and its SHA-256 thumbprint, x5t#S256 (base64url, azkm_free). */
static azkm_rc load_cert(const char *entry, const azkm_remote_conf *conf, X509 **cert, char **x5t)
{
    unsigned char md[32], *der = NULL, *pem = NULL;
    size_t pem_len = 0;
    BIO *bio = NULL;
    int der_len = 0;
    azkm_rc rc = azkm_read_file(conf->assertion_cert, &pem, &pem_len, PEM_MAX);

    if (rc != AZKM_OK)
        return azkm_fail(rc, "remote vault %s: %s", entry, azkm_last_error());
    if ((bio = BIO_new_mem_buf(pem, (int)pem_len)) == NULL ||
        (*cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL || (der_len = i2d_X509(*cert, &der)) <= 0 ||
        EVP_Digest(der, (size_t)der_len, md, NULL, EVP_sha256(), NULL) != 1)
        rc = azkm_fail(AZKM_E_INVALID, "remote vault %s: client assertion certificate %s is not a PEM certificate",
                       entry, conf->assertion_cert);
    else if ((*x5t = azkm_b64url_encode(md, sizeof(md))) == NULL)
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
    BIO_free(bio);
    OPENSSL_free(pem);
    OPENSSL_free(der);
    return rc;
}

/* The certificate's RSA private key (PEM, unencrypted, not accessible to others). */
static azkm_rc load_key(const char *entry, const azkm_remote_conf *conf, X509 *cert, OSSL_LIB_CTX *libctx,
                        const char *propq, EVP_PKEY **pkey)
{
    unsigned char *pem = NULL;
    size_t pem_len = 0;
    BIO *bio = NULL;
    azkm_rc rc = azkm_check_private(conf->assertion_key, 0, "client assertion key");

    if (rc == AZKM_OK)
        rc = azkm_read_secret_file(conf->assertion_key, &pem, &pem_len, PEM_MAX);
    if (rc != AZKM_OK)
        return azkm_fail(rc, "remote vault %s: %s", entry, azkm_last_error());
    if ((bio = BIO_new_mem_buf(pem, (int)pem_len)) == NULL ||
        (*pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, NULL, NULL, libctx, propq)) == NULL ||
        !EVP_PKEY_is_a(*pkey, "RSA") || X509_check_private_key(cert, *pkey) != 1)
        rc = azkm_fail(
            AZKM_E_INVALID,
            "remote vault %s: client assertion key %s is not the RSA private key (PEM, unencrypted) of %s", entry,
            conf->assertion_key, conf->assertion_cert);
    BIO_free(bio);
    azkm_secret_free(pem, pem_len);
    return rc;
}

static azkm_rc load_credential(const char *entry, const azkm_remote_conf *conf, OSSL_LIB_CTX *libctx,
                               const char *propq, char **x5t, EVP_PKEY **pkey)
{
    X509 *cert = NULL;
    azkm_rc rc = load_cert(entry, conf, &cert, x5t);

    if (rc == AZKM_OK)
        rc = load_key(entry, conf, cert, libctx, propq, pkey);
    X509_free(cert);
    return rc;
}

/* base64url(JSON of obj) (azkm_free), obj released. */
static char *b64_json(json_t *obj)
{
    char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
    char *b64 = text != NULL ? azkm_b64url_encode((const unsigned char *)text, strlen(text)) : NULL;

    free(text);
    json_decref(obj);
    return b64;
}

/* header.claims, the JWT's signing input (OPENSSL_free). */
static char *signing_input(const azkm_remote_conf *conf, const char *aud, const char *x5t, const char *jti)
{
    int64_t now = (int64_t)time(NULL);
    char *h = b64_json(json_pack("{s:s,s:s,s:s}", "alg", "PS256", "typ", "JWT", "x5t#S256", x5t));
    char *c = b64_json(json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "aud", aud, "iss", conf->client_id, "sub",
                                 conf->client_id, "jti", jti, "iat", (json_int_t)now, "nbf", (json_int_t)now, "exp",
                                 (json_int_t)(now + ASSERTION_LIFETIME)));
    size_t n = h != NULL && c != NULL ? strlen(h) + strlen(c) + 2 : 0;
    char *in = n > 0 ? OPENSSL_malloc(n) : NULL;

    if (in != NULL)
        snprintf(in, n, "%s.%s", h, c);
    azkm_free(h);
    azkm_free(c);
    return in;
}

/* input.base64url(PS256 signature): RSASSA-PSS, SHA-256, MGF1-SHA-256, salt as long as the digest. */
static azkm_rc sign_jwt(const char *entry, EVP_PKEY *pkey, OSSL_LIB_CTX *libctx, const char *propq,
                        const char *input, char **out)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char sig[1024];
    size_t sig_len = sizeof(sig), n;
    char *b64 = NULL;

    if (md == NULL || EVP_DigestSignInit_ex(md, &pctx, "SHA256", libctx, propq, pkey, NULL) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)input, strlen(input)) != 1 ||
        (b64 = azkm_b64url_encode(sig, sig_len)) == NULL) {
        EVP_MD_CTX_free(md);
        return azkm_fail(AZKM_E_CRYPTO,
                         "remote vault %s: the client assertion cannot be signed (RSA key of at most "
                         "8192 bits)",
                         entry);
    }
    EVP_MD_CTX_free(md);
    n = strlen(input) + strlen(b64) + 2;
    if ((*out = OPENSSL_malloc(n)) != NULL)
        snprintf(*out, n, "%s.%s", input, b64);
    azkm_free(b64);
    return *out != NULL ? AZKM_OK : azkm_fail(AZKM_E_NOMEM, "out of memory");
}

azkm_rc azkm_remote_assertion(const char *entry, const azkm_remote_conf *conf, azkm_remote_client *client,
                              OSSL_LIB_CTX *libctx, const char *propq, char *aud, char **out)
{
    unsigned char rnd[16];
    char jti[33], *x5t = NULL, *input = NULL;
    EVP_PKEY *pkey = NULL;
    azkm_rc rc = audience(entry, conf, client, aud);

    *out = NULL;
    if (rc == AZKM_OK)
        rc = load_credential(entry, conf, libctx, propq, &x5t, &pkey);
    if (rc == AZKM_OK && RAND_bytes_ex(libctx, rnd, sizeof(rnd), 0) != 1)
        rc = azkm_fail(AZKM_E_CRYPTO, "remote vault %s: no random bytes for the assertion's jti", entry);
    for (size_t i = 0; rc == AZKM_OK && i < sizeof(rnd); i++)
        snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
    if (rc == AZKM_OK && (input = signing_input(conf, aud, x5t, jti)) == NULL)
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
    if (rc == AZKM_OK)
        rc = sign_jwt(entry, pkey, libctx, propq, input, out);
    OPENSSL_free(input);
    azkm_free(x5t);
    EVP_PKEY_free(pkey);
    return rc;
}
