/* The vault master key: platform-managed (a 0600 key file) or wrapped under a passphrase with scrypt.
 * Subkeys for sealing, attribute MACs and backups are derived from it with HKDF. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "vault/vault.h"
#include "base/secmem.h"

#define MK_MAGIC "AZKM-MK1"
#define MK_MAGIC_LEN 8
#define MK_KIND_PLATFORM 0
#define MK_KIND_PASSPHRASE 1
#define MK_KIND_HSM 2
#define MK_CHECK_LEN 8
#define SCRYPT_LOG_N 15
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SALT_LEN 16
#define PASS_MAX 1024

/* platform:   magic | kind | key(32) | check(8)
 * passphrase: magic | kind | logN | r | p | salt(16) | seal(key) (12 + 32 + 16), header as associated data */
#define PLATFORM_LEN (MK_MAGIC_LEN + 1 + AZKM_MASTER_KEY_LEN + MK_CHECK_LEN)
#define PASS_HDR_LEN (MK_MAGIC_LEN + 1 + 3 + SALT_LEN)
#define PASS_LEN (PASS_HDR_LEN + AZKM_SEAL_OVERHEAD + AZKM_MASTER_KEY_LEN)
#define FILE_MAX 600 /* the largest master key file azkm writes (hsm: a token reference of up to 255 bytes) */

/* What a passphrase-protected master key is sealed and opened with, kept in secret memory (secmem.h). */
typedef struct {
    char pass[PASS_MAX];
    unsigned char kek[32];
} pass_secrets;

static void mk_path(const char *vault_dir, char *buf, size_t len)
{
    snprintf(buf, len, "%s/master.key", vault_dir);
}

static void check_value(const unsigned char *key, unsigned char out[MK_CHECK_LEN])
{
    unsigned char d[32];

    SHA256(key, AZKM_MASTER_KEY_LEN, d);
    memcpy(out, d, MK_CHECK_LEN);
}

static azkm_rc get_passphrase(azkm_keystore *ks, const char *purpose, char *buf, size_t len)
{
    const char *file = getenv("AZKM_PASSPHRASE_FILE");
    const char *env = getenv("AZKM_PASSPHRASE");

    if (ks->passphrase_cb != NULL) {
        if (!ks->passphrase_cb(buf, len, purpose, ks->passphrase_arg))
            return azkm_fail(AZKM_E_AUTH, "%s: no passphrase given", purpose);
        return AZKM_OK;
    }
    if (file && *file) {
        unsigned char *data = NULL;
        size_t n = 0;
        azkm_rc rc = azkm_read_secret_file(file, &data, &n, PASS_MAX);

        if (rc != AZKM_OK)
            return azkm_fail(rc, "%s: passphrase file (AZKM_PASSPHRASE_FILE): %s", purpose, azkm_last_error());
        while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
            n--;
        if (n >= len) {
            azkm_secret_free(data, n);
            return azkm_fail(AZKM_E_INVALID, "%s: passphrase file is too long", purpose);
        }
        memcpy(buf, data, n);
        buf[n] = '\0';
        azkm_secret_free(data, n);
        return AZKM_OK;
    }
    if (env && *env) {
        if (strlen(env) >= len)
            return azkm_fail(AZKM_E_INVALID, "%s: AZKM_PASSPHRASE is too long", purpose);
        strcpy(buf, env);
        return AZKM_OK;
    }
    return azkm_fail(AZKM_E_AUTH,
                     "%s: the vault is protected by a passphrase and none was given "
                     "(AZKM_PASSPHRASE_FILE or a prompt)",
                     purpose);
}

static azkm_rc scrypt_kek(azkm_keystore *ks, const char *pass, const unsigned char *hdr, unsigned char kek[32])
{
    EVP_KDF *kdf;
    EVP_KDF_CTX *kctx;
    uint64_t n;
    uint32_t r = hdr[MK_MAGIC_LEN + 2], p = hdr[MK_MAGIC_LEN + 3];
    OSSL_PARAM params[6];
    azkm_rc rc = AZKM_OK;

    /* Only what azkm writes (give or take): a damaged or hostile file must not make us shift past 63 bits or
     * spend a gigabyte and minutes before the passphrase is even checked. */
    if (hdr[MK_MAGIC_LEN + 1] < 10 || hdr[MK_MAGIC_LEN + 1] > 17 || r != SCRYPT_R || p != SCRYPT_P)
        return azkm_fail(AZKM_E_CORRUPT, "master key file: scrypt parameters are not azkm's (damaged file?)");
    n = (uint64_t)1 << hdr[MK_MAGIC_LEN + 1];
    kdf = EVP_KDF_fetch(ks->libctx, "SCRYPT", ks->propq);
    kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pass, strlen(pass));
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(hdr + MK_MAGIC_LEN + 4), SALT_LEN);
    params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
    params[5] = OSSL_PARAM_construct_end();
    if (kctx == NULL || EVP_KDF_derive(kctx, kek, 32, params) != 1)
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "scrypt key derivation failed");
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rc;
}

/* hsm: magic | kind | vault id(16) | len | tier material | iv(12) | tag(16) | AES-GCM(key), with magic | kind |
 * vault id as associated data. The tier material names an AES-256 key generated inside the vault's token. */
#define HSM_FIXED (MK_MAGIC_LEN + 1 + AZKM_VAULT_ID_LEN + 1)
#define HSM_NAME "vault-master-key"

static void hsm_ref(azkm_vault *v, azkm_tier_ref *ref, char version[AZKM_VERSION_LEN + 1])
{
    for (size_t i = 0; i < AZKM_VAULT_ID_LEN; i++)
        snprintf(version + 2 * i, 3, "%02x", v->vault_id[i]);
    ref->vault = v->name;
    ref->name = HSM_NAME;
    ref->version = version;
    ref->kty = AZKM_KTY_OCT;
    ref->aad = NULL;
    ref->aad_len = 0;
    ref->key_ops = AZKM_OP_ENCRYPT | AZKM_OP_DECRYPT; /* AES-GCM of the master key, nothing else */
}

static azkm_rc hsm_wrap(azkm_vault *v, const unsigned char mk[AZKM_MASTER_KEY_LEN], unsigned char *buf, size_t *len)
{
    azkm_tier *t = v->tiers[AZKM_PROTECTION_HSM];
    azkm_keyspec spec;
    azkm_tier_output o;
    azkm_tier_ref ref;
    azkm_tier_key *tk = NULL;
    azkm_cipher_params p;
    char version[AZKM_VERSION_LEN + 1];
    size_t n = 0, off;
    azkm_rc rc;

    if (t == NULL)
        return azkm_fail(AZKM_E_INVALID, "vault %s: the HSM protector needs a token binding", v->name);
    memset(&spec, 0, sizeof(spec));
    spec.kty = AZKM_KTY_OCT;
    spec.protection = AZKM_PROTECTION_HSM;
    spec.size = 256;
    hsm_ref(v, &ref, version);
    rc = t->ops->generate(t, &ref, &spec, &o);
    if (rc != AZKM_OK)
        return rc;
    if (o.material_len > 255) {
        azkm_tier_output_clear(&o);
        return azkm_fail(AZKM_E_INVALID, "vault %s: token key reference too long", v->name);
    }
    memcpy(buf, MK_MAGIC, MK_MAGIC_LEN);
    buf[MK_MAGIC_LEN] = MK_KIND_HSM;
    memcpy(buf + MK_MAGIC_LEN + 1, v->vault_id, AZKM_VAULT_ID_LEN);
    buf[HSM_FIXED - 1] = (unsigned char)o.material_len;
    memcpy(buf + HSM_FIXED, o.material, o.material_len);
    off = HSM_FIXED + o.material_len;
    rc = t->ops->load(t, &ref, o.material, o.material_len, &tk);
    if (rc == AZKM_OK) {
        azkm_cipher_params_from_alg("A256GCM", &p);
        p.iv_out = buf + off;
        p.tag = buf + off + 12;
        p.aad = buf;
        p.aad_len = MK_MAGIC_LEN + 1 + AZKM_VAULT_ID_LEN;
        rc = t->ops->encrypt(tk, &p, mk, AZKM_MASTER_KEY_LEN, buf + off + 28, &n);
        t->ops->key_free(tk);
    }
    if (rc != AZKM_OK)
        t->ops->destroy(t, &ref, o.material, o.material_len);
    azkm_tier_output_clear(&o);
    *len = off + 28 + AZKM_MASTER_KEY_LEN;
    return rc;
}

static azkm_rc hsm_unwrap(azkm_vault *v, const unsigned char *data, size_t len,
                          unsigned char mk[AZKM_MASTER_KEY_LEN])
{
    azkm_tier *t = v->tiers[AZKM_PROTECTION_HSM];
    azkm_tier_ref ref;
    azkm_tier_key *tk = NULL;
    azkm_cipher_params p;
    char version[AZKM_VERSION_LEN + 1];
    size_t mlen, n = 0;
    unsigned char tag[16];
    azkm_rc rc;

    if (t == NULL)
        return azkm_fail(AZKM_E_CORRUPT, "vault %s: the master key is held by a token but the vault has no binding",
                         v->name);
    if (len < HSM_FIXED || (mlen = data[HSM_FIXED - 1], len != HSM_FIXED + mlen + 28 + AZKM_MASTER_KEY_LEN) ||
        memcmp(data + MK_MAGIC_LEN + 1, v->vault_id, AZKM_VAULT_ID_LEN) != 0)
        return azkm_fail(AZKM_E_CORRUPT, "vault %s: master key file is truncated, damaged or from another vault",
                         v->name);
    hsm_ref(v, &ref, version);
    rc = t->ops->load(t, &ref, data + HSM_FIXED, mlen, &tk);
    if (rc != AZKM_OK)
        return azkm_fail(rc, "vault %s: the master key's token key is unavailable: %s", v->name, azkm_last_error());
    azkm_cipher_params_from_alg("A256GCM", &p);
    p.iv = data + HSM_FIXED + mlen;
    p.iv_len = 12;
    memcpy(tag, data + HSM_FIXED + mlen + 12, 16);
    p.tag = tag;
    p.aad = data;
    p.aad_len = MK_MAGIC_LEN + 1 + AZKM_VAULT_ID_LEN;
    rc = t->ops->decrypt(tk, AZKM_OP_DECRYPT, &p, data + HSM_FIXED + mlen + 28, AZKM_MASTER_KEY_LEN, mk, &n);
    t->ops->key_free(tk);
    if (rc != AZKM_OK || n != AZKM_MASTER_KEY_LEN)
        return azkm_fail(AZKM_E_INTEGRITY, "vault %s: the token could not unwrap the master key (%s)", v->name,
                         azkm_last_error());
    return AZKM_OK;
}

azkm_rc azkm_masterkey_destroy(azkm_vault *v)
{
    char path[4200];
    unsigned char *data = NULL;
    size_t len = 0;
    azkm_tier *t = v->tiers[AZKM_PROTECTION_HSM];
    azkm_tier_ref ref;
    char version[AZKM_VERSION_LEN + 1];
    azkm_rc rc;

    if (v->protector != AZKM_PROTECTOR_HSM || t == NULL)
        return AZKM_OK;
    mk_path(v->dir, path, sizeof(path));
    rc = azkm_read_file(path, &data, &len, 4096);
    if (rc == AZKM_OK && len > HSM_FIXED && (size_t)data[HSM_FIXED - 1] + HSM_FIXED <= len) {
        hsm_ref(v, &ref, version);
        rc = t->ops->destroy(t, &ref, data + HSM_FIXED, data[HSM_FIXED - 1]);
    }
    if (data != NULL)
        OPENSSL_clear_free(data, len);
    return rc;
}

azkm_rc azkm_masterkey_create(azkm_vault *v, unsigned char mk[AZKM_MASTER_KEY_LEN])
{
    azkm_keystore *ks = v->ks;
    const char *vault_dir = v->dir, *vault_name = v->name;
    azkm_protector protector = v->protector;
    char path[4200], purpose[128];
    unsigned char *buf = azkm_secret_zalloc(FILE_MAX); /* the platform kind holds the key in the clear */
    pass_secrets *ps = NULL;
    size_t len = 0;
    azkm_rc rc = AZKM_OK;

    mk_path(vault_dir, path, sizeof(path));
    if (buf == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    if (RAND_priv_bytes_ex(ks->libctx, mk, AZKM_MASTER_KEY_LEN, 0) != 1) {
        rc = azkm_fail_ossl(AZKM_E_CRYPTO, "vault %s: cannot generate a master key", vault_name);
        goto end;
    }
    memcpy(buf, MK_MAGIC, MK_MAGIC_LEN);
    if (protector == AZKM_PROTECTOR_HSM) {
        rc = hsm_wrap(v, mk, buf, &len);
    } else if (protector == AZKM_PROTECTOR_PLATFORM) {
        buf[MK_MAGIC_LEN] = MK_KIND_PLATFORM;
        memcpy(buf + MK_MAGIC_LEN + 1, mk, AZKM_MASTER_KEY_LEN);
        check_value(mk, buf + MK_MAGIC_LEN + 1 + AZKM_MASTER_KEY_LEN);
        len = PLATFORM_LEN;
    } else {
        unsigned char *sealed = NULL;
        size_t sealed_len = 0;

        buf[MK_MAGIC_LEN] = MK_KIND_PASSPHRASE;
        buf[MK_MAGIC_LEN + 1] = SCRYPT_LOG_N;
        buf[MK_MAGIC_LEN + 2] = SCRYPT_R;
        buf[MK_MAGIC_LEN + 3] = SCRYPT_P;
        if ((ps = azkm_secret_zalloc(sizeof(*ps))) == NULL) {
            rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
            goto end;
        }
        if (RAND_bytes_ex(ks->libctx, buf + MK_MAGIC_LEN + 4, SALT_LEN, 0) != 1) {
            rc = azkm_fail_ossl(AZKM_E_CRYPTO, "vault %s: cannot generate a salt", vault_name);
            goto end;
        }
        snprintf(purpose, sizeof(purpose), "new passphrase for vault %s", vault_name);
        rc = get_passphrase(ks, purpose, ps->pass, sizeof(ps->pass));
        if (rc == AZKM_OK && strlen(ps->pass) < 8)
            rc = azkm_fail(AZKM_E_INVALID, "vault %s: the passphrase must have at least 8 characters", vault_name);
        if (rc == AZKM_OK)
            rc = scrypt_kek(ks, ps->pass, buf, ps->kek);
        if (rc == AZKM_OK)
            rc = azkm_seal(ks->libctx, ps->kek, buf, PASS_HDR_LEN, mk, AZKM_MASTER_KEY_LEN, &sealed, &sealed_len);
        if (rc == AZKM_OK) {
            memcpy(buf + PASS_HDR_LEN, sealed, sealed_len);
            OPENSSL_free(sealed);
            len = PASS_LEN;
        }
    }
    if (rc == AZKM_OK)
        rc = azkm_write_file_atomic(path, buf, len);
end:
    if (rc != AZKM_OK)
        OPENSSL_cleanse(mk, AZKM_MASTER_KEY_LEN);
    azkm_secret_free(ps, sizeof(*ps));
    azkm_secret_free(buf, FILE_MAX);
    return rc;
}

azkm_rc azkm_masterkey_load(azkm_vault *v, unsigned char mk[AZKM_MASTER_KEY_LEN])
{
    azkm_keystore *ks = v->ks;
    const char *vault_dir = v->dir, *vault_name = v->name;
    azkm_protector protector = v->protector;
    char path[4200], purpose[128];
    unsigned char *data = NULL, check[MK_CHECK_LEN];
    size_t len = 0;
    azkm_rc rc;

    mk_path(vault_dir, path, sizeof(path));
    rc = azkm_check_private(path, 1, "master key file");
    if (rc != AZKM_OK)
        return azkm_fail(rc, "vault %s: %s", vault_name, azkm_last_error());
    rc = azkm_read_secret_file(path, &data, &len, 4096);
    if (rc != AZKM_OK)
        return azkm_fail(rc, "vault %s: %s", vault_name, azkm_last_error());
    if (len < MK_MAGIC_LEN + 1 || memcmp(data, MK_MAGIC, MK_MAGIC_LEN) != 0) {
        rc = azkm_fail(AZKM_E_CORRUPT, "vault %s: master key file %s is not an azkm master key", vault_name, path);
    } else if (data[MK_MAGIC_LEN] == MK_KIND_HSM && protector == AZKM_PROTECTOR_HSM) {
        rc = hsm_unwrap(v, data, len, mk);
    } else if (data[MK_MAGIC_LEN] == MK_KIND_PLATFORM && protector == AZKM_PROTECTOR_PLATFORM) {
        if (len != PLATFORM_LEN)
            rc =
                azkm_fail(AZKM_E_CORRUPT, "vault %s: master key file %s is truncated or damaged", vault_name, path);
        else {
            check_value(data + MK_MAGIC_LEN + 1, check);
            if (CRYPTO_memcmp(check, data + MK_MAGIC_LEN + 1 + AZKM_MASTER_KEY_LEN, MK_CHECK_LEN) != 0)
                rc = azkm_fail(AZKM_E_INTEGRITY, "vault %s: master key file %s is damaged (check value mismatch)",
                               vault_name, path);
            else
                memcpy(mk, data + MK_MAGIC_LEN + 1, AZKM_MASTER_KEY_LEN);
        }
    } else if (data[MK_MAGIC_LEN] == MK_KIND_PASSPHRASE && protector == AZKM_PROTECTOR_PASSPHRASE) {
        pass_secrets *ps = NULL;
        unsigned char *plain = NULL;
        size_t plain_len = 0;

        if (len != PASS_LEN) {
            rc =
                azkm_fail(AZKM_E_CORRUPT, "vault %s: master key file %s is truncated or damaged", vault_name, path);
        } else if ((ps = azkm_secret_zalloc(sizeof(*ps))) == NULL) {
            rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
        } else {
            snprintf(purpose, sizeof(purpose), "unlock vault %s", vault_name);
            rc = get_passphrase(ks, purpose, ps->pass, sizeof(ps->pass));
            if (rc == AZKM_OK)
                rc = scrypt_kek(ks, ps->pass, data, ps->kek);
            if (rc == AZKM_OK) {
                rc = azkm_unseal_secret(ks->libctx, ps->kek, data, PASS_HDR_LEN, data + PASS_HDR_LEN,
                                        len - PASS_HDR_LEN, &plain, &plain_len);
                if (rc == AZKM_E_INTEGRITY)
                    rc = azkm_fail(AZKM_E_AUTH, "vault %s: wrong passphrase (or damaged master key file)",
                                   vault_name);
                else if (rc == AZKM_OK && plain_len == AZKM_MASTER_KEY_LEN)
                    memcpy(mk, plain, AZKM_MASTER_KEY_LEN);
                azkm_secret_free(plain, plain_len);
            }
            azkm_secret_free(ps, sizeof(*ps));
        }
    } else {
        rc = azkm_fail(AZKM_E_CORRUPT, "vault %s: master key file %s does not match the vault's protector",
                       vault_name, path);
    }
    azkm_secret_free(data, len);
    return rc;
}

static int hkdf(azkm_keystore *ks, const unsigned char *mk, const unsigned char *salt, const char *info,
                unsigned char out[32])
{
    EVP_KDF *kdf = EVP_KDF_fetch(ks->libctx, "HKDF", ks->propq);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[5];
    int ok;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)mk, AZKM_MASTER_KEY_LEN);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, AZKM_VAULT_ID_LEN);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
    params[4] = OSSL_PARAM_construct_end();
    ok = kctx != NULL && EVP_KDF_derive(kctx, out, 32, params) == 1;
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return ok;
}

azkm_rc azkm_derive_keys(azkm_vault *v, const unsigned char mk[AZKM_MASTER_KEY_LEN])
{
    if (!hkdf(v->ks, mk, v->vault_id, "azkm v1 key material", v->seal_key) ||
        !hkdf(v->ks, mk, v->vault_id, "azkm v1 attributes", v->mac_key) ||
        !hkdf(v->ks, mk, v->vault_id, "azkm v1 backup", v->backup_key))
        return azkm_fail_ossl(AZKM_E_CRYPTO, "vault %s: key derivation failed", v->name);
    return AZKM_OK;
}
