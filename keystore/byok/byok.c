/* Bring your own key in Azure's transfer format: the blob's JSON, the key exchange key (KEK) it names, the import
 * through the HSM tier's in-token unwrap, and the sender side that makes such a blob with libcrypto. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "azkm/base64.h"
#include "keys/records.h"
#include "tiers/remote/remote_admin.h"

#define BYOK_SCHEMA "1.0.0"
#define BYOK_ALG "dir"
#define BYOK_ENC "CKM_RSA_AES_KEY_WRAP"
#define BYOK_MAX_BLOB (1u << 20)

typedef struct {
    char kid[1024];
    char kek_name[AZKM_NAME_MAX + 1];
    char kek_version[AZKM_VERSION_LEN + 1];
    unsigned char *ct;
    size_t ct_len;
} byok_blob;

static void blob_clear(byok_blob *b)
{
    OPENSSL_free(b->ct);
    memset(b, 0, sizeof(*b));
}

/* The KEK's name and version from header.kid: azkm://VAULT/keys/NAME/VERSION (the vault must be this one) or
 * Azure's https://VAULT.vault.azure.net/keys/NAME/VERSION (the last two path segments). */
static azkm_rc parse_kid(const azkm_vault *v, byok_blob *b)
{
    azkm_uri uri;
    const char *keys;

    if (strncmp(b->kid, "azkm:", 5) == 0) {
        if (azkm_uri_parse(b->kid, &uri) != AZKM_OK)
            return azkm_fail(AZKM_E_INVALID, "the BYOK blob's header.kid '%.200s' is not a valid key id", b->kid);
        if (strcasecmp(uri.vault, v->name) != 0)
            return azkm_fail(AZKM_E_NOT_FOUND,
                             "the BYOK blob was made for key exchange key %s, in vault %s, not in vault %s", b->kid,
                             uri.vault, v->name);
        snprintf(b->kek_name, sizeof(b->kek_name), "%s", uri.name);
        snprintf(b->kek_version, sizeof(b->kek_version), "%s", uri.version);
    } else if ((keys = strstr(b->kid, "/keys/")) != NULL) {
        const char *name = keys + 6, *slash = strchr(name, '/');
        size_t nlen = slash ? (size_t)(slash - name) : strlen(name);

        if (slash == NULL || nlen == 0 || nlen > AZKM_NAME_MAX || strlen(slash + 1) > AZKM_VERSION_LEN)
            return azkm_fail(AZKM_E_INVALID, "the BYOK blob's header.kid '%.200s' is not a key id with a version",
                             b->kid);
        memcpy(b->kek_name, name, nlen);
        b->kek_name[nlen] = '\0';
        snprintf(b->kek_version, sizeof(b->kek_version), "%s", slash + 1);
    } else {
        return azkm_fail(AZKM_E_INVALID, "the BYOK blob's header.kid '%.200s' is not a key id", b->kid);
    }
    if (!azkm_version_valid(b->kek_version))
        return azkm_fail(AZKM_E_INVALID,
                         "the BYOK blob's header.kid '%.200s' must name the key exchange key's version", b->kid);
    return AZKM_OK;
}

static const char *member(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static azkm_rc parse_blob(const azkm_vault *v, const unsigned char *in, size_t len, byok_blob *b)
{
    json_error_t err;
    json_t *doc, *hdr;
    const char *schema, *kid, *alg, *enc, *ct;
    azkm_rc rc = AZKM_OK;

    memset(b, 0, sizeof(*b));
    if (len > BYOK_MAX_BLOB)
        return azkm_fail(AZKM_E_INVALID, "the BYOK blob is %zu bytes: too large to be a key transfer blob", len);
    doc = json_loadb((const char *)in, len, JSON_REJECT_DUPLICATES, &err);
    if (doc == NULL || !json_is_object(doc)) {
        json_decref(doc);
        return azkm_fail(AZKM_E_INVALID, "the BYOK blob is not a JSON object (line %d: %s)", err.line,
                         doc ? "not an object" : err.text);
    }
    hdr = json_object_get(doc, "header");
    schema = member(doc, "schema_version");
    kid = member(hdr, "kid");
    alg = member(hdr, "alg");
    enc = member(hdr, "enc");
    ct = member(doc, "ciphertext");
    if (schema == NULL || strcmp(schema, BYOK_SCHEMA) != 0)
        rc = azkm_fail(AZKM_E_INVALID, "the BYOK blob's schema_version is '%.32s', not " BYOK_SCHEMA,
                       schema ? schema : "(missing)");
    else if (!json_is_object(hdr) || kid == NULL || alg == NULL || enc == NULL)
        rc = azkm_fail(AZKM_E_INVALID, "the BYOK blob has no header with kid, alg and enc");
    else if (strcmp(alg, BYOK_ALG) != 0 || strcmp(enc, BYOK_ENC) != 0)
        rc = azkm_fail(AZKM_E_UNSUPPORTED,
                       "the BYOK blob uses alg '%.32s', enc '%.64s': only alg " BYOK_ALG ", enc " BYOK_ENC
                       " are supported",
                       alg, enc);
    else if (ct == NULL)
        rc = azkm_fail(AZKM_E_INVALID, "the BYOK blob has no ciphertext");
    else if (strlen(kid) >= sizeof(b->kid))
        rc = azkm_fail(AZKM_E_INVALID, "the BYOK blob's header.kid is too long");
    else if (azkm_b64_decode(ct, &b->ct, &b->ct_len) != 0)
        rc = azkm_fail(AZKM_E_INVALID, "the BYOK blob's ciphertext is not base64url");
    if (rc == AZKM_OK) {
        snprintf(b->kid, sizeof(b->kid), "%s", kid);
        rc = parse_kid(v, b);
    }
    json_decref(doc);
    if (rc != AZKM_OK)
        blob_clear(b);
    return rc;
}

typedef struct {
    const unsigned char *kek_material;
    size_t kek_material_len;
    const byok_blob *blob;
} byok_unwrap_arg;

static azkm_rc unwrap_in_token(azkm_tier *t, const azkm_tier_ref *ref, void *arg, azkm_tier_output *out)
{
    byok_unwrap_arg *a = arg;
    azkm_rc rc =
        azkm_tier_unwrap_import(t, ref, a->kek_material, a->kek_material_len, a->blob->ct, a->blob->ct_len, out);

    if (rc != AZKM_OK)
        return azkm_fail(rc, "key %s/%s: BYOK import with key exchange key %s: %s", ref->vault, ref->name,
                         a->blob->kid, azkm_last_error());
    return AZKM_OK;
}

/* Finds the KEK and checks that it may import: RSA-HSM, key_ops exactly [import], enabled, within validity. */
static azkm_rc load_kek(azkm_vault *v, const byok_blob *b, azkm_key **kek, azkm_version_row *row)
{
    const azkm_key_info *ki;
    azkm_key_info info;
    azkm_rc rc = azkm_key_load(v, b->kek_name, b->kek_version, kek);

    if (rc == AZKM_E_NOT_FOUND)
        return azkm_fail(rc,
                         "the BYOK blob was made for key exchange key %s: vault %s has no such key version (a blob "
                         "for another vault's KEK?)",
                         b->kid, v->name);
    if (rc != AZKM_OK)
        return rc;
    ki = azkm_key_get_info(*kek);
    if (ki->kty != AZKM_KTY_RSA || ki->protection != AZKM_PROTECTION_HSM)
        return azkm_fail(AZKM_E_INVALID, "key %s/%s is an %s key: a key exchange key is RSA-HSM", v->name, ki->name,
                         azkm_kty_name(ki->kty, ki->protection));
    if (ki->attrs.key_ops != AZKM_OP_IMPORT)
        return azkm_fail(
            AZKM_E_FORBIDDEN,
            "key %s/%s is not a key exchange key: its key_ops must be exactly [import] (create it with "
            "--ops import)",
            v->name, ki->name);
    if ((rc = azkm_key_check(*kek, AZKM_OP_IMPORT)) != AZKM_OK)
        return rc;
    memset(&info, 0, sizeof(info));
    rc = azkm_read_version(v, (*kek)->key_rowid, ki->version, &info, row);
    return rc;
}

static azkm_rc byok_import_impl(azkm_vault *v, const char *name, azkm_kty kty, const unsigned char *blob,
                                size_t len, unsigned fields, const azkm_attributes *attrs, azkm_key_info *out)
{
    byok_blob b;
    azkm_key *kek = NULL;
    azkm_version_row row;
    byok_unwrap_arg arg;
    azkm_rc rc;

    memset(&row, 0, sizeof(row));
    if (kty != AZKM_KTY_RSA && kty != AZKM_KTY_EC && kty != AZKM_KTY_OCT)
        return azkm_fail(AZKM_E_INVALID, "key %s/%s: BYOK imports RSA-HSM, EC-HSM or oct-HSM keys", v->name,
                         name ? name : "");
    if (azkm_vault_tier(v, AZKM_PROTECTION_HSM) == NULL)
        return azkm_fail(AZKM_E_UNSUPPORTED, "key %s/%s: %s", v->name, name ? name : "", azkm_last_error());
    if ((rc = parse_blob(v, blob, len, &b)) != AZKM_OK)
        return azkm_fail(rc, "key %s/%s: %s", v->name, name ? name : "", azkm_last_error());
    rc = load_kek(v, &b, &kek, &row);
    if (rc == AZKM_OK) {
        arg.kek_material = row.material;
        arg.kek_material_len = row.material_len;
        arg.blob = &b;
        rc = azkm_key_import_made(v, name, kty, AZKM_PROTECTION_HSM, fields, attrs, unwrap_in_token, &arg, out);
    }
    azkm_version_row_clear(&row);
    azkm_key_free(kek);
    blob_clear(&b);
    return rc;
}

azkm_rc azkm_key_import_byok(azkm_vault *v, const char *name, azkm_kty kty, const unsigned char *blob, size_t len,
                             unsigned fields, const azkm_attributes *attrs, azkm_key_info *out)
{
    AZKM_AUDITED(v->ks, "KeyImport", v->name, name,
                 v->remote != NULL
                     ? azkm_remote_key_import_byok(v->remote, name, kty, blob, len, fields, attrs, out)
                     : byok_import_impl(v, name, kty, blob, len, fields, attrs, out),
                 out ? out->version : NULL);
}

/* ---- the sender side -------------------------------------------------------------------------------------- */

static azkm_rc oaep_sha1_encrypt(OSSL_LIB_CTX *libctx, EVP_PKEY *kek, const unsigned char *in, size_t inlen,
                                 unsigned char **out, size_t *outlen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(libctx, kek, NULL);
    azkm_rc rc = AZKM_OK;

    *out = NULL;
    if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, "SHA1", NULL) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, "SHA1", NULL) <= 0 ||
        EVP_PKEY_encrypt(ctx, NULL, outlen, in, inlen) <= 0 || (*out = OPENSSL_malloc(*outlen)) == NULL ||
        EVP_PKEY_encrypt(ctx, *out, outlen, in, inlen) <= 0) {
        OPENSSL_free(*out);
        *out = NULL;
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "BYOK: RSA-OAEP encryption of the transfer key failed");
    }
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* AES key wrap with padding (RFC 5649, the default IV A65959A6), as `openssl enc -id-aes256-wrap-pad`. */
static azkm_rc aes_kwp(OSSL_LIB_CTX *libctx, const unsigned char key[32], const unsigned char *in, size_t inlen,
                       unsigned char *out, size_t *outlen)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(libctx, "AES-256-WRAP-PAD", NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    azkm_rc rc = AZKM_OK;

    if (c == NULL || ctx == NULL || !EVP_EncryptInit_ex2(ctx, c, key, NULL, NULL) ||
        !EVP_EncryptUpdate(ctx, out, &n, in, (int)inlen) || !EVP_EncryptFinal_ex(ctx, out + n, &m))
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "BYOK: AES key wrap of the target key failed");
    *outlen = (size_t)n + (size_t)m;
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return rc;
}

static azkm_rc byok_wrap_impl(OSSL_LIB_CTX *libctx, const azkm_material *target, const unsigned char *kek_spki,
                              size_t kek_spki_len, const char *kek_kid, const char *generator, char **blob)
{
    EVP_PKEY *kek = NULL;
    unsigned char aes[32], *rsa_part = NULL, *ct = NULL;
    size_t rsa_len = 0, kw_len = 0, ct_cap;
    char *ct64 = NULL, *text = NULL;
    json_t *doc = NULL;
    azkm_kty kty;
    unsigned bits = 0;
    azkm_curve curve;
    azkm_rc rc;

    *blob = NULL;
    if (kek_kid == NULL || *kek_kid == '\0')
        return azkm_fail(AZKM_E_INVALID, "BYOK: the key exchange key's id (kid, with its version) is required");
    if (target->kty == AZKM_KTY_OCT && target->der_len != 16 && target->der_len != 24 && target->der_len != 32)
        return azkm_fail(AZKM_E_INVALID, "BYOK: an oct target key is 16, 24 or 32 bytes, not %zu", target->der_len);
    rc = azkm_pkey_from_public_der(libctx, NULL, kek_spki, kek_spki_len, &kek);
    if (rc == AZKM_OK)
        rc = azkm_pkey_describe(kek, &kty, &bits, &curve);
    if (rc == AZKM_OK && (kty != AZKM_KTY_RSA || bits < 2048 || bits > 4096))
        rc = azkm_fail(AZKM_E_INVALID, "BYOK: the key exchange key must be an RSA 2048-4096 public key");
    if (rc == AZKM_OK && RAND_priv_bytes(aes, sizeof(aes)) != 1)
        rc = azkm_fail(AZKM_E_CRYPTO, "BYOK: no randomness for the transfer key");
    if (rc == AZKM_OK)
        rc = oaep_sha1_encrypt(libctx, kek, aes, sizeof(aes), &rsa_part, &rsa_len);
    ct_cap = rsa_len + target->der_len + 16;
    if (rc == AZKM_OK && (ct = OPENSSL_malloc(ct_cap)) == NULL)
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
    if (rc == AZKM_OK) {
        memcpy(ct, rsa_part, rsa_len);
        rc = aes_kwp(libctx, aes, target->der, target->der_len, ct + rsa_len, &kw_len);
    }
    OPENSSL_cleanse(aes, sizeof(aes));
    if (rc == AZKM_OK && (ct64 = azkm_b64url_encode(ct, rsa_len + kw_len)) == NULL)
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
    if (rc == AZKM_OK) {
        doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:s, s:s}", "schema_version", BYOK_SCHEMA, "header", "kid",
                        kek_kid, "alg", BYOK_ALG, "enc", BYOK_ENC, "ciphertext", ct64, "generator",
                        generator ? generator : "azkm " AZKM_VERSION_STRING);
        text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (text == NULL || (*blob = OPENSSL_strdup(text)) == NULL)
            rc = azkm_fail(AZKM_E_NOMEM, "BYOK: cannot encode the blob");
    }
    free(text);
    json_decref(doc);
    OPENSSL_free(ct64);
    OPENSSL_free(ct);
    OPENSSL_free(rsa_part);
    EVP_PKEY_free(kek);
    return rc;
}

azkm_rc azkm_byok_wrap(OSSL_LIB_CTX *libctx, const azkm_material *target, const unsigned char *kek_spki,
                       size_t kek_spki_len, const char *kek_kid, const char *generator, char **blob)
{
    return byok_wrap_impl(libctx, target, kek_spki, kek_spki_len, kek_kid, generator, blob);
}
