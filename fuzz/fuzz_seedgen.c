/* Makes the fuzzers' seed keystore (fuzz/seed-keystore: test vaults with test keys only) and the seeds derived
 * from it: real backup blobs, their decrypted JSON, vault files and key reference files. Run by
 * fuzz/make-seeds.sh; its output is committed, so the fuzzers never depend on it at run time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "fuzz_util.h"
#include "keys/records.h"
#ifdef AZKM_FUZZ_HAVE_KEYREF
#include "azkm/keyref.h"
#endif

static const char *out_dir; /* the fuzz/ source directory */

#define DIE(...)                                                                                                   \
    do {                                                                                                           \
        fprintf(stderr, "fuzz_seedgen: " __VA_ARGS__);                                                             \
        fprintf(stderr, " (%s)\n", azkm_last_error());                                                             \
        exit(1);                                                                                                   \
    } while (0)

static void put(const char *target, const char *file, const void *data, size_t len)
{
    char path[2048];

    snprintf(path, sizeof(path), "%s/corpus/%s", out_dir, target);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/corpus/%s/%s", out_dir, target, file);
    if (fuzz_write_file(path, data, len) != 0 || chmod(path, 0644) != 0)
        DIE("cannot write %s: %s", path, strerror(errno));
}

static void create_key(azkm_vault *v, const char *name, azkm_kty kty, unsigned size, azkm_curve curve,
                       const char *tags)
{
    azkm_keyspec spec;

    memset(&spec, 0, sizeof(spec));
    spec.kty = kty;
    spec.size = size;
    spec.curve = curve;
    if (tags != NULL) {
        if (azkm_tags_parse(tags, &spec.attrs) != AZKM_OK)
            DIE("tags %s", tags);
        spec.fields |= AZKM_ATTR_TAGS;
    }
    if (azkm_key_create(v, name, &spec, NULL) != AZKM_OK)
        DIE("creating %s", name);
}

/* One key's backup blob as a fuzz_backup seed, and its authenticated JSON as a fuzz_backup_sealed seed. */
static void backup_seeds(azkm_vault *v, const char *name, const char *file)
{
    unsigned char *blob = NULL, *plain = NULL;
    size_t len = 0, plain_len = 0;
    char json_file[256];

    if (azkm_key_backup(v, name, &blob, &len) != AZKM_OK)
        DIE("backing up %s", name);
    put("fuzz_backup", file, blob, len);
    /* Header: magic(8) | vault id(16), the associated data of the seal. */
    if (azkm_unseal(NULL, v->backup_key, blob, 8 + AZKM_VAULT_ID_LEN, blob + 8 + AZKM_VAULT_ID_LEN,
                    len - 8 - AZKM_VAULT_ID_LEN, &plain, &plain_len) != AZKM_OK)
        DIE("unsealing the backup of %s", name);
    snprintf(json_file, sizeof(json_file), "%s.json", name);
    put("fuzz_backup_sealed", json_file, plain, plain_len);
    OPENSSL_clear_free(plain, plain_len);
    OPENSSL_free(blob);
}

static void copy_out(const char *ks_dir, const char *vault)
{
    static const char *const files[] = {"master.key", "vault.db"};
    char dst[2048];

    snprintf(dst, sizeof(dst), "%s/seed-keystore", out_dir);
    mkdir(dst, 0755);
    snprintf(dst, sizeof(dst), "%s/seed-keystore/%s", out_dir, vault);
    mkdir(dst, 0755);
    for (size_t i = 0; i < 2; i++) {
        char src[2048], path[2100];
        unsigned char *data, *seed;
        size_t len;

        snprintf(src, sizeof(src), "%s/%s/%s", ks_dir, vault, files[i]);
        if (fuzz_read_file(src, &data, &len) != 0)
            DIE("reading %s", src);
        snprintf(path, sizeof(path), "%s/%s", dst, files[i]);
        if (fuzz_write_file(path, data, len) != 0 || chmod(path, 0644) != 0)
            DIE("writing %s", path);
        /* fuzz_vault_files: mode byte (bit 0: which file, bit 1: which vault), then the file. */
        seed = malloc(len + 1);
        seed[0] = (unsigned char)(i | (strcmp(vault, FUZZ_VAULT_PASS) == 0 ? 2 : 0));
        memcpy(seed + 1, data, len);
        snprintf(path, sizeof(path), "%s-%s", vault, files[i]);
        put("fuzz_vault_files", path, seed, len + 1);
        free(seed);
        free(data);
    }
}

/* scrypt as masterkey.c uses it: the key that wraps a passphrase vault's master key. */
static void scrypt(const unsigned char *salt, unsigned log_n, uint32_t r, uint32_t p, unsigned char kek[32])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    uint64_t n = (uint64_t)1 << log_n;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)FUZZ_PASSPHRASE,
                                          strlen(FUZZ_PASSPHRASE)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, 16),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_end(),
    };

    if (kctx == NULL || EVP_KDF_derive(kctx, kek, 32, params) != 1)
        DIE("scrypt");
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
}

/* Re-wraps the passphrase vault's master key with scrypt N = 2^10, the cheapest the keystore accepts, so that
 * each fuzz input that opens the vault costs milliseconds. Layout (masterkey.c): magic(8) kind(1) logN(1) r(1)
 * p(1) salt(16) | nonce, sealed key, tag; the 28-byte header is the associated data. */
static void cheapen_passphrase_vault(const char *ks_dir)
{
    char path[2048];
    unsigned char *data, kek[32], *mk = NULL, *sealed = NULL, *out;
    size_t len, mk_len = 0, sealed_len = 0;
    enum { HDR = 28 };

    snprintf(path, sizeof(path), "%s/%s/master.key", ks_dir, FUZZ_VAULT_PASS);
    if (fuzz_read_file(path, &data, &len) != 0 || len <= HDR)
        DIE("reading %s", path);
    scrypt(data + 12, data[9], data[10], data[11], kek);
    if (azkm_unseal(NULL, kek, data, HDR, data + HDR, len - HDR, &mk, &mk_len) != AZKM_OK)
        DIE("unwrapping the master key of %s", FUZZ_VAULT_PASS);
    data[9] = 10;
    scrypt(data + 12, data[9], data[10], data[11], kek);
    if (azkm_seal(NULL, kek, data, HDR, mk, mk_len, &sealed, &sealed_len) != AZKM_OK)
        DIE("re-wrapping the master key of %s", FUZZ_VAULT_PASS);
    out = malloc(HDR + sealed_len);
    memcpy(out, data, HDR);
    memcpy(out + HDR, sealed, sealed_len);
    if (fuzz_write_file(path, out, HDR + sealed_len) != 0)
        DIE("writing %s", path);
    OPENSSL_clear_free(mk, mk_len);
    OPENSSL_cleanse(kek, sizeof(kek));
    OPENSSL_free(sealed);
    free(out);
    free(data);
}

#ifdef AZKM_FUZZ_HAVE_KEYREF
static void keyref_seed(const char *uri, const char *file)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    long n;
    unsigned char *der = NULL;
    size_t der_len = 0;
    char der_file[256];

    if (b == NULL || azkm_keyref_write_pem(b, uri) != AZKM_KEYREF_OK)
        DIE("writing the key reference for %s", uri);
    n = BIO_get_mem_data(b, &data);
    put("fuzz_keyref", file, data, (size_t)n);
    BIO_free(b);
    if (azkm_keyref_encode_der(uri, &der, &der_len) != AZKM_KEYREF_OK)
        DIE("encoding the key reference for %s", uri);
    snprintf(der_file, sizeof(der_file), "%s.der", file);
    put("fuzz_keyref", der_file, der, der_len);
    OPENSSL_free(der);
}
#endif

int main(int argc, char **argv)
{
    const char *ks_dir;
    azkm_keystore *ks;
    azkm_vault *v, *vp;
    azkm_vault_params plat = {.retention_days = 7, .protector = AZKM_PROTECTOR_PLATFORM};
    azkm_vault_params pass = {.retention_days = 7, .protector = AZKM_PROTECTOR_PASSPHRASE};
    azkm_key_info info;

    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seedgen <fuzz source dir>\n");
        return 2;
    }
    out_dir = argv[1];
    ks_dir = fuzz_tmpdir("seedgen");
    ks = fuzz_keystore_open(ks_dir);
    if (azkm_vault_create(ks, FUZZ_VAULT, &plat) != AZKM_OK || azkm_vault_open(ks, FUZZ_VAULT, &v) != AZKM_OK)
        DIE("vault %s", FUZZ_VAULT);
    create_key(v, "rsa1", AZKM_KTY_RSA, 2048, AZKM_CURVE_NONE, "env=fuzz,owner=azkm-team");
    if (azkm_key_rotate(v, "rsa1", &info) != AZKM_OK)
        DIE("rotating rsa1");
    create_key(v, "ec1", AZKM_KTY_EC, 0, AZKM_CURVE_P256, NULL);
    create_key(v, "oct1", AZKM_KTY_OCT, 256, AZKM_CURVE_NONE, "purpose=wrap");
    create_key(v, "gone1", AZKM_KTY_EC, 0, AZKM_CURVE_P384, NULL);
    if (azkm_key_delete(v, "gone1", NULL) != AZKM_OK)
        DIE("deleting gone1");
    backup_seeds(v, "ec1", "backup-ec1.bin");
    backup_seeds(v, "rsa1", "backup-rsa1-two-versions.bin");
    backup_seeds(v, "oct1", "backup-oct1.bin");

    if (azkm_vault_create(ks, FUZZ_VAULT_PASS, &pass) != AZKM_OK ||
        azkm_vault_open(ks, FUZZ_VAULT_PASS, &vp) != AZKM_OK)
        DIE("vault %s", FUZZ_VAULT_PASS);
    create_key(vp, "ec2", AZKM_KTY_EC, 0, AZKM_CURVE_P256, "env=pass");
    {
        /* A backup made in another vault: it must be refused before decryption. */
        unsigned char *blob = NULL;
        size_t len = 0;

        if (azkm_key_backup(vp, "ec2", &blob, &len) != AZKM_OK)
            DIE("backing up ec2");
        put("fuzz_backup", "backup-from-other-vault.bin", blob, len);
        OPENSSL_free(blob);
    }
#ifdef AZKM_FUZZ_HAVE_KEYREF
    keyref_seed("azkm://fuzzvault/keys/rsa1", "ref-rsa1.pem");
    keyref_seed("azkm://fuzzvault/keys/ec1", "ref-ec1.pem");
    keyref_seed("azkm://fuzzvault/keys/gone1", "ref-deleted-key.pem");
    keyref_seed("azkm://fuzzvault/keys/oct1", "ref-oct-key.pem");
    {
        char uri[AZKM_URI_MAX];

        snprintf(uri, sizeof(uri), "azkm://fuzzvault/keys/rsa1/%s", info.version);
        keyref_seed(uri, "ref-rsa1-version.pem");
    }
#endif
    /* Closing checkpoints the WAL into vault.db, so each vault is two self-contained files. */
    azkm_vault_close(v);
    azkm_vault_close(vp);
    cheapen_passphrase_vault(ks_dir);
    if (azkm_vault_open(ks, FUZZ_VAULT_PASS, &vp) != AZKM_OK)
        DIE("reopening %s after re-wrapping its master key", FUZZ_VAULT_PASS);
    azkm_vault_close(vp);
    copy_out(ks_dir, FUZZ_VAULT);
    copy_out(ks_dir, FUZZ_VAULT_PASS);
    azkm_keystore_free(ks);
    printf("fuzz_seedgen: seed keystore and derived seeds written under %s\n", out_dir);
    return 0;
}
