/* The data plane: loading a key version for use and running its operations, with enabled, nbf/exp and key_ops
 * enforced on every call. Private-key work happens in the tier; public-key work here. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "keys/keys.h"
#include "tiers/remote/remote.h"

/* The version's record, its material and its tier: from the catalog, or in a remote vault from azkmd (whose tier
 * needs no material). */
static azkm_rc read_for_load(azkm_vault *v, azkm_key *k, const char *name, const char *version,
                             azkm_version_row *row, azkm_tier **tier)
{
    azkm_rc rc;

    /* A version's public key from the process's cache of key versions; without a version azkmd is asked which one
     * is current, so that loading again (a server's reload) takes a rotation at once. */
    if (v->remote != NULL) {
        *tier = v->remote;
        return version != NULL && *version != '\0' ? azkm_remote_key_cached(v->remote, name, version, &k->info)
                                                   : azkm_remote_key_get(v->remote, name, version, &k->info);
    }
    rc = azkm_find_key(v, name, 0, &k->key_rowid, NULL, NULL, NULL);
    if (rc == AZKM_OK) {
        rc = azkm_read_version(v, k->key_rowid, version, &k->info, row);
        if (rc == AZKM_E_NOT_FOUND)
            rc = azkm_fail(rc, "key %s/%s: %s", v->name, name, azkm_last_error());
    }
    if (rc == AZKM_OK && (*tier = azkm_vault_tier(v, k->info.protection)) == NULL)
        rc = AZKM_E_UNSUPPORTED;
    return rc;
}

static azkm_rc load_from_vault(azkm_vault *v, const char *name, const char *version, azkm_key **out)
{
    azkm_key *k = OPENSSL_zalloc(sizeof(*k));
    azkm_version_row row;
    azkm_tier *tier;
    azkm_tier_ref ref;
    unsigned char aad[256];
    azkm_uri uri;
    azkm_rc rc;

    memset(&row, 0, sizeof(row));
    if (k == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    k->vault = v;
    k->ks = v->ks;
    rc = read_for_load(v, k, name, version, &row, &tier);
    if (rc == AZKM_OK) {
        ref.vault = v->name;
        ref.name = k->info.name;
        ref.version = k->info.version;
        ref.kty = k->info.kty;
        ref.aad = aad;
        ref.aad_len =
            azkm_material_aad(v, k->info.name, k->info.version, k->info.kty, k->info.protection, aad, sizeof(aad));
        ref.key_ops = k->info.attrs.key_ops;
        ref.size = k->info.size;
        k->tier = tier->ops;
        rc = tier->ops->load(tier, &ref, row.material, row.material_len, &k->tk);
    }
    if (rc == AZKM_OK && k->info.public_der_len > 0)
        rc = azkm_pkey_from_public_der(v->ks->libctx, v->ks->propq, k->info.public_der, k->info.public_der_len,
                                       &k->pub);
    azkm_version_row_clear(&row);
    if (rc == AZKM_OK) {
        snprintf(uri.vault, sizeof(uri.vault), "%s", v->name);
        snprintf(uri.name, sizeof(uri.name), "%s", k->info.name);
        snprintf(uri.version, sizeof(uri.version), "%s", k->info.version);
        azkm_uri_format(&uri, k->uri, sizeof(k->uri));
        k->data_version = azkm_vault_get_data_version(v);
        k->pid = getpid();
        if (v->remote != NULL && (version == NULL || *version == '\0'))
            rc = azkm_key_follow_start(k);
    }
    if (rc == AZKM_OK) {
        azkm_vault_ref(v);
        *out = k;
        return AZKM_OK;
    }
    k->vault = NULL;
    azkm_key_free(k);
    return rc;
}

/* Loading is as frequent as opening a vault: only a failure is logged (a missing or damaged key, a token that
 * refuses the PIN), as the KeyLoad operation. */
azkm_rc azkm_key_load(azkm_vault *v, const char *name, const char *version, azkm_key **out)
{
    AZKM_AUDITED_FAILURE(v->ks, "KeyLoad", v->name, name, load_from_vault(v, name, version, out));
}

static azkm_rc load_uri_impl(azkm_keystore *ks, const azkm_uri *uri, azkm_key **out)
{
    azkm_vault *v = NULL;
    azkm_rc rc = azkm_vault_open(ks, uri->vault, &v);

    if (rc == AZKM_OK)
        rc = load_from_vault(v, uri->name, uri->version, out);
    /* The key holds its own reference to the vault. */
    azkm_vault_close(v);
    return rc;
}

azkm_rc azkm_key_load_uri(azkm_keystore *ks, const char *text, azkm_key **out)
{
    azkm_uri uri;
    azkm_audit_op audit;
    azkm_rc rc = azkm_uri_parse(text, &uri);

    if (rc != AZKM_OK)
        return rc; /* a malformed reference names no vault or key: nothing was looked up */
    azkm_audit_begin(&audit, ks, "KeyLoad", uri.vault, uri.name);
    return azkm_audit_end_failure(&audit, load_uri_impl(ks, &uri, out), uri.version);
}

void azkm_key_free(azkm_key *k)
{
    if (k == NULL)
        return;
    if (k->tk != NULL)
        k->tier->key_free(k->tk);
    EVP_PKEY_free(k->pub);
    azkm_key_follow_free(k);
    azkm_vault_close(k->vault);
    OPENSSL_clear_free(k, sizeof(*k));
}

/* A remote key's attributes as azkmd has them now; a key gone from the server is refused from now on. */
static azkm_rc refresh_remote(azkm_key *k)
{
    azkm_key_info fresh;
    azkm_rc rc = azkm_remote_key_get(k->vault->remote, k->info.name, k->info.version, &fresh);

    if (rc == AZKM_E_NOT_FOUND) {
        k->info.attrs.enabled = 0;
        k->deleted = 1;
        return AZKM_OK;
    }
    if (rc != AZKM_OK)
        return rc;
    k->info.attrs = fresh.attrs;
    k->deleted = 0;
    return AZKM_OK;
}

azkm_rc azkm_key_refresh(azkm_key *k)
{
    azkm_vault *v = k->vault;
    azkm_key_info fresh;
    int64_t dv;
    azkm_rc rc;

    if (k->follow != NULL)
        return azkm_key_follow_check(k, 1);
    if (v != NULL && v->remote != NULL)
        return refresh_remote(k);
    if (v == NULL || k->pid != getpid())
        return AZKM_OK; /* no catalog to consult: the attributes stay as loaded */
    dv = azkm_catalog_data_version(v->cat);
    if (dv == k->data_version)
        return AZKM_OK;
    rc = azkm_find_key(v, k->info.name, 0, NULL, NULL, NULL, NULL);
    if (rc != AZKM_OK) {
        /* Deleted since it was loaded: refuse from now on. */
        k->info.attrs.enabled = 0;
        k->deleted = 1;
        k->data_version = dv;
        return AZKM_OK;
    }
    rc = azkm_read_version(v, k->key_rowid, k->info.version, &fresh, NULL);
    if (rc != AZKM_OK)
        return rc;
    k->info.attrs = fresh.attrs;
    k->info.current = fresh.current;
    k->deleted = 0;
    k->data_version = dv;
    return AZKM_OK;
}

const azkm_key_info *azkm_key_get_info(const azkm_key *k)
{
    return &k->info;
}

const char *azkm_key_get_uri(const azkm_key *k)
{
    return k->uri;
}

static azkm_rc key_check_impl(const azkm_key *k, unsigned op)
{
    int64_t now = azkm_now(k->ks);
    char when[AZKM_ISO_TIME_LEN];

    if (k->deleted)
        return azkm_fail(AZKM_E_FORBIDDEN, "key %s is deleted", k->uri);
    if (!k->info.attrs.enabled)
        return azkm_fail(AZKM_E_FORBIDDEN, "key %s is disabled", k->uri);
    if (k->info.attrs.not_before && now < k->info.attrs.not_before) {
        azkm_iso_time(k->info.attrs.not_before, when);
        return azkm_fail(AZKM_E_FORBIDDEN, "key %s is not valid before %s", k->uri, when);
    }
    if (k->info.attrs.expires && now >= k->info.attrs.expires) {
        azkm_iso_time(k->info.attrs.expires, when);
        return azkm_fail(AZKM_E_FORBIDDEN, "key %s expired at %s", k->uri, when);
    }
    if (!(k->info.attrs.key_ops & op)) {
        char ops[128] = "";

        for (unsigned o = 1; o & AZKM_OP_ALL; o <<= 1) {
            if (k->info.attrs.key_ops & o) {
                if (ops[0])
                    strcat(ops, ",");
                strcat(ops, azkm_op_name(o));
            }
        }
        return azkm_fail(AZKM_E_FORBIDDEN, "key %s does not permit %s (key_ops: %s)", k->uri, azkm_op_name(op),
                         ops[0] ? ops : "none");
    }
    return AZKM_OK;
}

static size_t max_output_impl(const azkm_key *k)
{
    if (k->pub != NULL)
        return (size_t)EVP_PKEY_get_size(k->pub);
    return 0;
}

/* ---- a key following its remote key's rotation (keys/key_follow.c): an operation works on a copy of it taken
 * under its lock, after the periodic check -------------------------------------------------------------------- */

#define FOLLOWED(call)                                                                                             \
    do {                                                                                                           \
        azkm_key copy_;                                                                                            \
        if (k->follow != NULL) {                                                                                   \
            azkm_key_follow_copy(k, &copy_);                                                                       \
            k = &copy_;                                                                                            \
        }                                                                                                          \
        return (call);                                                                                             \
    } while (0)

azkm_rc azkm_key_check(const azkm_key *k, unsigned op)
{
    FOLLOWED(key_check_impl(k, op));
}

size_t azkm_key_max_output(const azkm_key *k)
{
    FOLLOWED(max_output_impl(k));
}

static azkm_rc check_scheme(const azkm_key *k, azkm_sig_scheme scheme)
{
    int ok = (scheme == AZKM_SIG_ECDSA && k->info.kty == AZKM_KTY_EC) ||
             (scheme == AZKM_SIG_EDDSA && k->info.kty == AZKM_KTY_OKP) ||
             ((scheme == AZKM_SIG_RSA_PKCS1 || scheme == AZKM_SIG_RSA_PSS) && k->info.kty == AZKM_KTY_RSA);

    if (!ok)
        return azkm_fail(AZKM_E_INVALID, "key %s is an %s key: the signature algorithm does not apply", k->uri,
                         azkm_kty_name(k->info.kty, k->info.protection));
    return AZKM_OK;
}

/* The salt a PSS signature with these parameters has: the length given, or what "digest" and "max" (also "auto"
 * when signing) come to for this key. */
static int pss_salt_of(const azkm_key *k, const azkm_sign_params *p)
{
    int hlen = (int)azkm_digest_size(p->digest), emlen = ((int)k->info.size - 1 + 7) / 8;

    if (p->pss_saltlen == AZKM_PSS_SALT_DIGEST)
        return hlen;
    if (p->pss_saltlen == AZKM_PSS_SALT_MAX || p->pss_saltlen == AZKM_PSS_SALT_AUTO)
        return emlen - hlen - 2;
    return p->pss_saltlen;
}

/* azkm_digest_size knows SHA-1 and SHA-2 by their names only, each of another size. */
static int same_digest(const char *a, const char *b)
{
    return azkm_digest_size(a) != 0 && azkm_digest_size(a) == azkm_digest_size(b);
}

/* An RSA-PSS key (model.h) makes and accepts RSASSA-PSS signatures only, within its restrictions. */
static azkm_rc check_pss(const azkm_key *k, const azkm_sign_params *p)
{
    const azkm_rsa_pss *r = &k->info.pss;

    if (!r->enabled)
        return AZKM_OK;
    if (p->scheme != AZKM_SIG_RSA_PSS)
        return azkm_fail(
            AZKM_E_FORBIDDEN,
            "key %s is an RSA-PSS key: it signs with RSASSA-PSS only, never PKCS#1 v1.5 (PS256, PS384, "
            "PS512, not RS256 ...)",
            k->uri);
    if (!r->restricted)
        return AZKM_OK;
    if (!same_digest(p->digest, r->digest))
        return azkm_fail(AZKM_E_FORBIDDEN, "key %s is restricted to RSA-PSS with %s, not %s", k->uri, r->digest,
                         p->digest != NULL ? p->digest : "no digest");
    if (!same_digest(p->mgf1_digest != NULL ? p->mgf1_digest : p->digest, r->mgf1_digest))
        return azkm_fail(AZKM_E_FORBIDDEN, "key %s is restricted to MGF1 with %s, not %s", k->uri, r->mgf1_digest,
                         p->mgf1_digest != NULL ? p->mgf1_digest : p->digest);
    if (pss_salt_of(k, p) < r->min_salt_len)
        return azkm_fail(AZKM_E_FORBIDDEN, "key %s is restricted to RSA-PSS salts of %d bytes or more, not %d",
                         k->uri, r->min_salt_len, pss_salt_of(k, p));
    return AZKM_OK;
}

static azkm_rc key_sign_impl(azkm_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                             unsigned char *sig, size_t *siglen)
{
    azkm_rc rc = key_check_impl(k, AZKM_OP_SIGN);
    size_t dlen = p->digest != NULL ? azkm_digest_size(p->digest) : 0;

    if (rc == AZKM_OK)
        rc = check_scheme(k, p->scheme);
    if (rc == AZKM_OK)
        rc = check_pss(k, p);
    if (rc != AZKM_OK)
        return rc;
    if (p->scheme == AZKM_SIG_RSA_PSS && p->digest == NULL)
        return azkm_fail(AZKM_E_INVALID, "key %s: RSA-PSS needs a digest algorithm", k->uri);
    if (p->scheme == AZKM_SIG_EDDSA && p->digest != NULL)
        return azkm_fail(AZKM_E_INVALID, "key %s: EdDSA signs the message itself, not a %s digest", k->uri,
                         p->digest);
    if (dlen != 0 && dlen != inlen)
        return azkm_fail(AZKM_E_INVALID, "key %s: a %s digest is %zu bytes, not %zu", k->uri, p->digest, dlen,
                         inlen);
    rc = k->tier->sign(k->tk, p, in, inlen, sig, siglen);
    if (rc != AZKM_OK)
        return azkm_fail(rc, "key %s: %s", k->uri, azkm_last_error());
    return AZKM_OK;
}

/* Pure EdDSA: one-shot EVP_DigestVerify over the message. */
static int eddsa_verify(azkm_key *k, const unsigned char *in, size_t inlen, const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *mdctx = EVP_MD_CTX_new();
    int ok = mdctx != NULL &&
             EVP_DigestVerifyInit_ex(mdctx, NULL, NULL, k->ks->libctx, k->ks->propq, k->pub, NULL) == 1 &&
             EVP_DigestVerify(mdctx, sig, siglen, in, inlen) == 1;

    EVP_MD_CTX_free(mdctx);
    return ok;
}

/* An invalid signature is AZKM_OK with *valid 0, and leaves the reason as the thread's last error. */
static azkm_rc key_verify_impl(azkm_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                               const unsigned char *sig, size_t siglen, int *valid)
{
    EVP_PKEY_CTX *ctx;
    OSSL_PARAM params[5], *q = params;
    int pad = p->scheme == AZKM_SIG_RSA_PSS ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
    int saltlen = p->pss_saltlen == AZKM_PSS_SALT_DIGEST ? RSA_PSS_SALTLEN_AUTO : p->pss_saltlen;
    azkm_rc rc;

    *valid = 0;
    if ((rc = key_check_impl(k, AZKM_OP_VERIFY)) != AZKM_OK || (rc = check_scheme(k, p->scheme)) != AZKM_OK ||
        (rc = check_pss(k, p)) != AZKM_OK)
        return rc;
    if (p->scheme == AZKM_SIG_EDDSA) {
        if (!(*valid = eddsa_verify(k, in, inlen, sig, siglen)))
            azkm_fail_ossl(AZKM_E_INTEGRITY, "key %s: the signature does not verify", k->uri);
        return AZKM_OK;
    }
    if (p->scheme != AZKM_SIG_ECDSA) {
        *q++ = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PAD_MODE, &pad);
        if (p->scheme == AZKM_SIG_RSA_PSS) {
            /* Salt "digest" on signing; a verifier accepts what the signer chose, as Key Vault does. */
            saltlen = p->pss_saltlen == AZKM_PSS_SALT_DIGEST ? RSA_PSS_SALTLEN_DIGEST : p->pss_saltlen;
            *q++ = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, &saltlen);
            if (p->mgf1_digest != NULL)
                *q++ =
                    OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, (char *)p->mgf1_digest, 0);
        }
    }
    if (p->digest != NULL)
        *q++ = OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, (char *)p->digest, 0);
    *q = OSSL_PARAM_construct_end();
    ctx = EVP_PKEY_CTX_new_from_pkey(k->ks->libctx, k->pub, k->ks->propq);
    if (ctx == NULL || EVP_PKEY_verify_init_ex(ctx, params) <= 0) {
        EVP_PKEY_CTX_free(ctx);
        return azkm_fail_ossl(AZKM_E_INVALID, "key %s: verification parameters rejected", k->uri);
    }
    *valid = EVP_PKEY_verify(ctx, sig, siglen, in, inlen) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!*valid)
        azkm_fail_ossl(AZKM_E_INTEGRITY, "key %s: the signature does not verify", k->uri);
    return AZKM_OK;
}

static azkm_rc rsa_public_encrypt(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                                  unsigned char *out, size_t *outlen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(k->ks->libctx, k->pub, k->ks->propq);
    OSSL_PARAM params[5], *q = params;
    int pad = p->scheme == AZKM_ENC_RSA_OAEP ? RSA_PKCS1_OAEP_PADDING : RSA_PKCS1_PADDING;
    size_t len = EVP_PKEY_get_size(k->pub);
    azkm_rc rc = AZKM_OK;

    *q++ = OSSL_PARAM_construct_int(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, &pad);
    if (p->scheme == AZKM_ENC_RSA_OAEP) {
        const char *md = p->oaep_digest ? p->oaep_digest : "SHA1";

        *q++ = OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, (char *)md, 0);
        *q++ = OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST,
                                                (char *)(p->mgf1_digest ? p->mgf1_digest : md), 0);
        if (p->label_len > 0)
            *q++ = OSSL_PARAM_construct_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, (void *)p->label,
                                                     p->label_len);
    }
    *q = OSSL_PARAM_construct_end();
    if (ctx == NULL || EVP_PKEY_encrypt_init_ex(ctx, params) <= 0)
        rc = azkm_fail_ossl(AZKM_E_INVALID, "key %s: encryption parameters rejected", k->uri);
    else if (EVP_PKEY_encrypt(ctx, out, &len, in, inlen) <= 0)
        rc = azkm_fail_ossl(AZKM_E_INVALID, "key %s: encryption failed (input too long for the key?)", k->uri);
    else
        *outlen = len;
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* As in Key Vault, an oct key encrypts and decrypts with AES-GCM and wraps and unwraps with AES key wrap: each
 * key_op has its own algorithms, so that on a token it needs only its own usage flag (C_Encrypt / C_WrapKey). */
static azkm_rc check_cipher(const azkm_key *k, unsigned op, const azkm_cipher_params *p)
{
    int rsa = p->scheme == AZKM_ENC_RSA_PKCS1 || p->scheme == AZKM_ENC_RSA_OAEP || p->scheme == AZKM_ENC_RSA_TLS;
    int wrapping = op == AZKM_OP_WRAP || op == AZKM_OP_UNWRAP;

    if (k->info.kty == AZKM_KTY_EC || k->info.kty == AZKM_KTY_OKP)
        return azkm_fail(AZKM_E_INVALID, "key %s is an %s key: it does not encrypt or wrap", k->uri,
                         azkm_kty_name(k->info.kty, k->info.protection));
    if (k->info.pss.enabled)
        return azkm_fail(AZKM_E_FORBIDDEN, "key %s is an RSA-PSS key: it signs and verifies only", k->uri);
    if (rsa != (k->info.kty == AZKM_KTY_RSA))
        return azkm_fail(AZKM_E_INVALID, "key %s is an %s key: the algorithm does not apply", k->uri,
                         azkm_kty_name(k->info.kty, k->info.protection));
    if (p->scheme == AZKM_ENC_RSA_TLS && op != AZKM_OP_DECRYPT)
        return azkm_fail(AZKM_E_INVALID, "key %s: the TLS padding mode is for decryption only", k->uri);
    if (!rsa && wrapping == (p->scheme == AZKM_ENC_AES_GCM))
        return azkm_fail(AZKM_E_INVALID,
                         wrapping ? "key %s: AES-GCM is an encrypt/decrypt algorithm; %s takes A128KW..A256KW, "
                                    "CKM_AES_KEY_WRAP or CKM_AES_KEY_WRAP_PAD"
                                  : "key %s: AES key wrap is a wrapKey/unwrapKey algorithm; %s takes "
                                    "A128GCM..A256GCM",
                         k->uri, azkm_op_name(op));
    return AZKM_OK;
}

static azkm_rc do_encrypt(azkm_key *k, unsigned op, const azkm_cipher_params *p, const unsigned char *in,
                          size_t inlen, unsigned char *out, size_t *outlen)
{
    azkm_rc rc = key_check_impl(k, op);

    if (rc == AZKM_OK)
        rc = check_cipher(k, op, p);
    if (rc != AZKM_OK)
        return rc;
    if (k->info.kty == AZKM_KTY_RSA)
        return rsa_public_encrypt(k, p, in, inlen, out, outlen);
    rc = k->tier->encrypt(k->tk, p, in, inlen, out, outlen);
    if (rc != AZKM_OK)
        return azkm_fail(rc, "key %s: %s", k->uri, azkm_last_error());
    return AZKM_OK;
}

static azkm_rc do_decrypt(azkm_key *k, unsigned op, const azkm_cipher_params *p, const unsigned char *in,
                          size_t inlen, unsigned char *out, size_t *outlen)
{
    azkm_rc rc = key_check_impl(k, op);

    if (rc == AZKM_OK)
        rc = check_cipher(k, op, p);
    if (rc != AZKM_OK)
        return rc;
    rc = k->tier->decrypt(k->tk, op, p, in, inlen, out, outlen);
    if (rc != AZKM_OK)
        return azkm_fail(rc, "key %s: %s", k->uri, azkm_last_error());
    return AZKM_OK;
}

static azkm_rc key_encrypt_impl(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                                unsigned char *out, size_t *outlen)
{
    return do_encrypt(k, AZKM_OP_ENCRYPT, p, in, inlen, out, outlen);
}

static azkm_rc key_decrypt_impl(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                                unsigned char *out, size_t *outlen)
{
    return do_decrypt(k, AZKM_OP_DECRYPT, p, in, inlen, out, outlen);
}

static azkm_rc key_wrap_impl(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                             unsigned char *out, size_t *outlen)
{
    return do_encrypt(k, AZKM_OP_WRAP, p, in, inlen, out, outlen);
}

static azkm_rc key_unwrap_impl(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                               unsigned char *out, size_t *outlen)
{
    return do_decrypt(k, AZKM_OP_UNWRAP, p, in, inlen, out, outlen);
}

/* The peer's public key must be an EC point on the key's own curve; the tier gets the point, uncompressed. */
static azkm_rc peer_point(const azkm_key *k, const unsigned char *der, size_t len, unsigned char *point,
                          size_t *plen)
{
    azkm_curve curve = AZKM_CURVE_NONE;

    if (azkm_ec_spki_point(k->ks->libctx, k->ks->propq, der, len, &curve, point, plen) == AZKM_OK &&
        curve == k->info.curve)
        return AZKM_OK;
    if (curve != AZKM_CURVE_NONE && curve != k->info.curve)
        return azkm_fail(AZKM_E_INVALID, "key %s: the peer's public key (EC %s) is not on the key's curve, %s",
                         k->uri, azkm_curve_name(curve), azkm_curve_name(k->info.curve));
    return azkm_fail(AZKM_E_INVALID,
                     "key %s: the peer's public key is not an EC SubjectPublicKeyInfo with a point on a named "
                     "curve",
                     k->uri);
}

static azkm_rc key_derive_impl(azkm_key *k, const unsigned char *peer_der, size_t peer_len, unsigned char *secret,
                               size_t *secret_len)
{
    unsigned char point[AZKM_EC_POINT_MAX];
    size_t plen = 0;
    azkm_rc rc = key_check_impl(k, AZKM_OP_DERIVE);

    if (rc == AZKM_OK && k->info.kty != AZKM_KTY_EC)
        rc = azkm_fail(AZKM_E_INVALID, "key %s is an %s key: only EC keys derive a shared secret (ECDH)", k->uri,
                       azkm_kty_name(k->info.kty, k->info.protection));
    if (rc == AZKM_OK)
        rc = peer_point(k, peer_der, peer_len, point, &plen);
    if (rc != AZKM_OK)
        return rc;
    rc = azkm_tier_derive(k->tier, k->tk, point, plen, secret, secret_len);
    if (rc != AZKM_OK)
        return azkm_fail(rc, "key %s: %s", k->uri, azkm_last_error());
    return AZKM_OK;
}

/* ---- the audited data plane: every call logged when audit_key_operations is on, else only failures (a refused
 * operation is what probing looks like); without a log, at the cost of one test ---------------------------- */

#define KEY_OP(op, impl)                                                                                           \
    do {                                                                                                           \
        azkm_audit_op failure_;                                                                                    \
        if (k->ks->audit_fd < 0)                                                                                   \
            return (impl);                                                                                         \
        if (k->ks->audit_key_operations)                                                                           \
            AZKM_AUDITED(k->ks, (op), k->info.vault, k->info.name, (impl), k->info.version);                       \
        azkm_audit_begin(&failure_, k->ks, (op), k->info.vault, k->info.name);                                     \
        return azkm_audit_end_failure(&failure_, (impl), k->info.version);                                         \
    } while (0)

static azkm_rc audited_sign(azkm_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                            unsigned char *sig, size_t *siglen)
{
    KEY_OP("KeySign", key_sign_impl(k, p, in, inlen, sig, siglen));
}

static azkm_rc audited_verify(azkm_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                              const unsigned char *sig, size_t siglen, int *valid)
{
    azkm_audit_op audit;
    azkm_rc rc;

    if (k->ks->audit_fd < 0)
        return key_verify_impl(k, p, in, inlen, sig, siglen, valid);
    azkm_audit_begin(&audit, k->ks, "KeyVerify", k->info.vault, k->info.name);
    rc = key_verify_impl(k, p, in, inlen, sig, siglen, valid);
    if (!k->ks->audit_key_operations) /* a signature that does not verify is an answer, not a refusal */
        return azkm_audit_end_failure(&audit, rc, k->info.version);
    /* The audit record of an invalid signature says so, as it did when verify returned 0 for it. */
    azkm_audit_end(&audit, rc == AZKM_OK && !*valid ? AZKM_E_INTEGRITY : rc, k->info.version);
    return rc;
}

static azkm_rc audited_encrypt(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                               unsigned char *out, size_t *outlen)
{
    KEY_OP("KeyEncrypt", key_encrypt_impl(k, p, in, inlen, out, outlen));
}

static azkm_rc audited_decrypt(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                               unsigned char *out, size_t *outlen)
{
    KEY_OP("KeyDecrypt", key_decrypt_impl(k, p, in, inlen, out, outlen));
}

static azkm_rc audited_wrap(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                            unsigned char *out, size_t *outlen)
{
    KEY_OP("KeyWrap", key_wrap_impl(k, p, in, inlen, out, outlen));
}

static azkm_rc audited_unwrap(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                              unsigned char *out, size_t *outlen)
{
    KEY_OP("KeyUnwrap", key_unwrap_impl(k, p, in, inlen, out, outlen));
}

static azkm_rc audited_derive(azkm_key *k, const unsigned char *peer_der, size_t peer_len, unsigned char *secret,
                              size_t *secret_len)
{
    KEY_OP("KeyDerive", key_derive_impl(k, peer_der, peer_len, secret, secret_len));
}

/* ---- the public operations: a key following a remote key's rotation checks its version first ------------- */
#define OPERATION(call)                                                                                            \
    do {                                                                                                           \
        if (k->follow != NULL)                                                                                     \
            azkm_key_follow_check(k, 0);                                                                           \
        FOLLOWED(call);                                                                                            \
    } while (0)

azkm_rc azkm_key_sign(azkm_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                      unsigned char *sig, size_t *siglen)
{
    OPERATION(audited_sign(k, p, in, inlen, sig, siglen));
}

azkm_rc azkm_key_verify(azkm_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                        const unsigned char *sig, size_t siglen, int *valid)
{
    OPERATION(audited_verify(k, p, in, inlen, sig, siglen, valid));
}

azkm_rc azkm_key_encrypt(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                         unsigned char *out, size_t *outlen)
{
    OPERATION(audited_encrypt(k, p, in, inlen, out, outlen));
}

azkm_rc azkm_key_decrypt(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                         unsigned char *out, size_t *outlen)
{
    OPERATION(audited_decrypt(k, p, in, inlen, out, outlen));
}

azkm_rc azkm_key_wrap(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                      unsigned char *out, size_t *outlen)
{
    OPERATION(audited_wrap(k, p, in, inlen, out, outlen));
}

azkm_rc azkm_key_unwrap(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                        unsigned char *out, size_t *outlen)
{
    OPERATION(audited_unwrap(k, p, in, inlen, out, outlen));
}

azkm_rc azkm_key_derive(azkm_key *k, const unsigned char *peer_der, size_t peer_len, unsigned char *secret,
                        size_t *secret_len)
{
    OPERATION(audited_derive(k, peer_der, peer_len, secret, secret_len));
}
