/* The TLS server context: TLS 1.2 and later, the certificate chain from a PEM file, the private key through
 * OSSL_STORE (a PEM file, or an azkm: URI / key reference file when the azkm provider is configured), and client
 * certificates asked for, verified against tls_client_ca, when it is set. */
#include <string.h>

#include <openssl/err.h>
#include <openssl/store.h>

#include "http/listener.h"

static azkm_rc ossl_fail(const char *what, const char *path)
{
    char reason[256] = "";
    unsigned long e = ERR_get_error();

    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    return azkm_set_error(AZKM_E_INVALID, "%s %s: %s", what, path, reason[0] ? reason : "unusable");
}

static EVP_PKEY *load_key(const char *uri)
{
    OSSL_STORE_CTX *store = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
    EVP_PKEY *pk = NULL;

    if (store == NULL)
        return NULL;
    OSSL_STORE_expect(store, OSSL_STORE_INFO_PKEY);
    while (pk == NULL && !OSSL_STORE_eof(store)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(store);

        if (info != NULL && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            pk = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
        if (info == NULL && OSSL_STORE_error(store))
            break;
    }
    OSSL_STORE_close(store);
    return pk;
}

static azkm_rc client_ca(const azkmd_config *cfg, SSL_CTX *ctx)
{
    STACK_OF(X509_NAME) * names;

    if (cfg->tls_client_ca[0] == '\0')
        return AZKM_OK;
    if (SSL_CTX_load_verify_locations(ctx, cfg->tls_client_ca, NULL) != 1 ||
        (names = SSL_load_client_CA_file(cfg->tls_client_ca)) == NULL)
        return ossl_fail("tls_client_ca", cfg->tls_client_ca);
    SSL_CTX_set_client_CA_list(ctx, names);
    /* Asked for, not required: a client without a certificate gets Key Vault's 401 challenge. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* With peer verification on, OpenSSL refuses to resume a session (internal_error alert) unless a session id
     * context is set: node (the Azure SDK) resumes its sessions. A resumed session keeps its client certificate. */
    if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"azkmd", 5) != 1)
        return ossl_fail("tls_client_ca", cfg->tls_client_ca);
    return AZKM_OK;
}

azkm_rc azkmd_tls_context(const azkmd_config *cfg, SSL_CTX **out)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    EVP_PKEY *pk = NULL;
    azkm_rc rc = AZKM_OK;

    if (ctx == NULL)
        return azkm_set_error(AZKM_E_NOMEM, "out of memory making the TLS context");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_certificate) != 1)
        rc = ossl_fail("tls_certificate", cfg->tls_certificate);
    else if ((pk = load_key(cfg->tls_key)) == NULL)
        rc = ossl_fail("tls_key", cfg->tls_key);
    else if (SSL_CTX_use_PrivateKey(ctx, pk) != 1 || SSL_CTX_check_private_key(ctx) != 1)
        rc = ossl_fail("tls_key does not match tls_certificate:", cfg->tls_key);
    else
        rc = client_ca(cfg, ctx);
    EVP_PKEY_free(pk);
    if (rc != AZKM_OK) {
        SSL_CTX_free(ctx);
        return rc;
    }
    *out = ctx;
    return AZKM_OK;
}
