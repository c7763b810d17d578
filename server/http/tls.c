/* The TLS server context: TLS 1.2 and later, the certificate chain from a PEM file, the private key through
 * OSSL_STORE (a PEM file, or an azkm: URI / key reference file when the azkm provider is configured), and client
 * certificates asked for, verified against tls_client_ca when it is set, pinned by fingerprint otherwise. */
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

/* Errors that leave a client certificate unverified rather than refused: its chain does not lead to tls_client_ca
 * (no tls_client_ca, an unknown issuer, self-signed), or the issuer it names did not sign it. Such a certificate is
 * then matched by its SHA-256 fingerprint alone (auth/identity.c): the handshake's CertificateVerify proves the
 * client holds its key, which is all pinning needs. Everything else still fails the handshake: a certificate
 * expired or not yet valid, one whose key usage or extended key usage excludes client authentication, a
 * self-signed one whose signature does not verify with its own key, a malformed chain. */
static int unverifiable(X509_STORE_CTX *store)
{
    switch (X509_STORE_CTX_get_error(store)) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        return 1;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: {
        X509 *cert = X509_STORE_CTX_get_current_cert(store);

        return cert != NULL && X509_self_signed(cert, 0) != 1;
    }
    default:
        return 0;
    }
}

/* The handshake goes on with an unverifiable chain; OpenSSL keeps the error as the connection's verify result
 * (SSL_get_verify_result), which is how auth/identity.c tells a verified chain from a pinned certificate. */
static int client_verify(int ok, X509_STORE_CTX *store)
{
    return ok || unverifiable(store);
}

/* A client certificate is asked for on every TLS listener, not required (a client without one gets Key Vault's 401
 * challenge); the CA list sent is tls_client_ca's subjects, none without it (curl and openssl send their
 * certificate anyway). Applied to every context, the one made at a SIGHUP reload included. */
static azkm_rc client_certificates(const azkmd_config *cfg, SSL_CTX *ctx)
{
    STACK_OF(X509_NAME) * names;

    if (cfg->tls_client_ca[0] != '\0') {
        if (SSL_CTX_load_verify_locations(ctx, cfg->tls_client_ca, NULL) != 1 ||
            (names = SSL_load_client_CA_file(cfg->tls_client_ca)) == NULL)
            return ossl_fail("tls_client_ca", cfg->tls_client_ca);
        SSL_CTX_set_client_CA_list(ctx, names);
    }
    /* A self-signed client certificate's signature is checked too (OpenSSL skips it by default). */
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_CHECK_SS_SIGNATURE);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, client_verify);
    /* With peer verification on, OpenSSL refuses to resume a session (internal_error alert) unless a session id
     * context is set: node (the Azure SDK) resumes its sessions. A resumed session keeps its client certificate
     * and its verify result. */
    if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"azkmd", 5) != 1)
        return ossl_fail("the TLS session id context for", cfg->tls_certificate);
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
        rc = client_certificates(cfg, ctx);
    EVP_PKEY_free(pk);
    if (rc != AZKM_OK) {
        SSL_CTX_free(ctx);
        return rc;
    }
    *out = ctx;
    return AZKM_OK;
}
