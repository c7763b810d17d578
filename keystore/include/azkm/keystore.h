/* azkm keystore: vaults, keys, versions and attributes, with key material held by a protection tier.
 * The public C API used by the CLI and the OpenSSL provider. Nothing here knows about OpenSSL providers. */
#ifndef AZKM_KEYSTORE_H
#define AZKM_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AZKM_VERSION_STRING "0.1.0"

/* ---- Errors ------------------------------------------------------------------------------------------------
 * Every function returns AZKM_OK or an error class. The failing call also leaves a human message naming the
 * vault, key and action in a thread-local buffer (azkm_last_error); it never contains secret material. */
typedef enum {
    AZKM_OK = 0,
    AZKM_E_INVALID,    /* BadParameter: malformed name, value, input */
    AZKM_E_NOT_FOUND,  /* vault, key or version not found, or the key is deleted (Key Vault answers 404) */
    AZKM_E_CONFLICT,   /* name exists, or is deleted but recoverable */
    AZKM_E_FORBIDDEN,  /* disabled, not yet valid, expired, op not in key_ops, deleted since loaded, purge protected
                        */
    AZKM_E_INTEGRITY,  /* authentication of a record, file or blob failed: tampered or damaged */
    AZKM_E_AUTH,       /* wrong passphrase or PIN */
    AZKM_E_PERMISSION, /* file unreadable, or readable/writable by others */
    AZKM_E_IO,         /* file system or database I/O */
    AZKM_E_CORRUPT,    /* database or file not in the expected format */
    AZKM_E_UNSUPPORTED, /* key type, size, curve or algorithm not supported */
    AZKM_E_CRYPTO,      /* a cryptographic primitive failed */
    AZKM_E_NOMEM,
} azkm_rc;

#define AZKM_RC_COUNT 13

/* Human message of the last failure on this thread ("" if none). */
const char *azkm_last_error(void);
/* The error class of the last failure on this thread. */
azkm_rc azkm_last_rc(void);
/* Short stable name of an error class, in Azure's vocabulary ("KeyNotFound" -> "NotFound", "Forbidden", ...). */
const char *azkm_rc_name(azkm_rc rc);
/* Clears the thread's last error. */
void azkm_clear_error(void);
/* Sets the thread's last error the way the keystore does, control characters and invalid UTF-8 in it written as
 * \xNN: for front ends (the CLI) that report their own errors like the keystore's. Returns rc. */
azkm_rc azkm_set_error(azkm_rc rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- Names and identifiers ------------------------------------------------------------------------------- */
#define AZKM_NAME_MAX 127      /* key names: 1-127 of [0-9a-zA-Z-], compared case-insensitively */
#define AZKM_VAULT_NAME_MAX 24 /* vault names: 3-24 of [0-9a-zA-Z-], start with a letter, no "--" */
#define AZKM_VERSION_LEN 32    /* versions: 32 lowercase hex characters */
#define AZKM_MAX_TAGS 15
#define AZKM_TAG_NAME_MAX 512
#define AZKM_TAG_VALUE_MAX 256
#define AZKM_URI_MAX 256

int azkm_key_name_valid(const char *name);
int azkm_vault_name_valid(const char *name);
int azkm_version_valid(const char *version);

/* A parsed azkm: URI: azkm://<vault>/keys/<name>[/<version>] (docs/uri.md). version is "" for current. */
typedef struct {
    char vault[AZKM_VAULT_NAME_MAX + 1];
    char name[AZKM_NAME_MAX + 1];
    char version[AZKM_VERSION_LEN + 1];
} azkm_uri;

azkm_rc azkm_uri_parse(const char *text, azkm_uri *out);
/* Writes the canonical URI; returns the length, or -1 if buf is too small. */
int azkm_uri_format(const azkm_uri *uri, char *buf, size_t len);

/* ---- Key model ------------------------------------------------------------------------------------------- */
typedef enum { AZKM_KTY_RSA = 1, AZKM_KTY_EC = 2, AZKM_KTY_OCT = 3 } azkm_kty;
typedef enum { AZKM_PROTECTION_SOFTWARE = 0, AZKM_PROTECTION_HSM = 1 } azkm_protection;
typedef enum { AZKM_CURVE_NONE = 0, AZKM_CURVE_P256 = 1, AZKM_CURVE_P384 = 2, AZKM_CURVE_P521 = 3 } azkm_curve;

/* key_ops, as a bit set */
enum {
    AZKM_OP_ENCRYPT = 1u << 0,
    AZKM_OP_DECRYPT = 1u << 1,
    AZKM_OP_SIGN = 1u << 2,
    AZKM_OP_VERIFY = 1u << 3,
    AZKM_OP_WRAP = 1u << 4,
    AZKM_OP_UNWRAP = 1u << 5,
    AZKM_OP_IMPORT = 1u << 6,
    AZKM_OP_ALL = (1u << 7) - 1,
};

/* "RSA", "EC", "oct", "RSA-HSM", "EC-HSM", "oct-HSM" */
const char *azkm_kty_name(azkm_kty kty, azkm_protection protection);
azkm_rc azkm_kty_parse(const char *text, azkm_kty *kty, azkm_protection *protection);
const char *azkm_curve_name(azkm_curve curve); /* "P-256", ... */
azkm_rc azkm_curve_parse(const char *text, azkm_curve *curve);
int azkm_curve_bits(azkm_curve curve);
const char *azkm_op_name(unsigned op); /* "sign" for AZKM_OP_SIGN */
/* Parses a comma- or space-separated list such as "sign,verify" into a bit set. */
azkm_rc azkm_ops_parse(const char *text, unsigned *ops);
/* The key_ops a key type may carry at all (RSA: all but import unless HSM; oct: encrypt/decrypt/wrap/unwrap). */
unsigned azkm_ops_allowed(azkm_kty kty, azkm_protection protection);
/* The key_ops a new key gets when the caller names none. */
unsigned azkm_ops_default(azkm_kty kty);

typedef struct {
    char name[AZKM_TAG_NAME_MAX + 1];
    char value[AZKM_TAG_VALUE_MAX + 1];
} azkm_tag;

/* Mutable attributes of one version. Times are seconds since the epoch; 0 means unset. */
typedef struct {
    int enabled;
    int64_t not_before;
    int64_t expires;
    unsigned key_ops;
    size_t n_tags;
    azkm_tag tags[AZKM_MAX_TAGS];
    int64_t created; /* read-only */
    int64_t updated; /* read-only */
} azkm_attributes;

/* Which fields of azkm_attributes a create or update sets. */
enum {
    AZKM_ATTR_ENABLED = 1u << 0,
    AZKM_ATTR_NOT_BEFORE = 1u << 1,
    AZKM_ATTR_EXPIRES = 1u << 2,
    AZKM_ATTR_KEY_OPS = 1u << 3,
    AZKM_ATTR_TAGS = 1u << 4,
};

/* Parses "a=1 b=2" or "a=1,b=2" into tags (at most AZKM_MAX_TAGS). */
azkm_rc azkm_tags_parse(const char *text, azkm_attributes *attrs);

typedef struct {
    azkm_kty kty;
    azkm_protection protection;
    unsigned size;    /* RSA: 2048/3072/4096 (default 2048); oct: 128/192/256 (default 256) */
    azkm_curve curve; /* EC: default P-256 */
    unsigned fields;  /* AZKM_ATTR_* set in attrs; unset fields take defaults (enabled, default key_ops) */
    azkm_attributes attrs;
} azkm_keyspec;

/* Metadata of one key version, as returned by show / list. public_der is SubjectPublicKeyInfo DER (NULL for oct).
 */
typedef struct {
    char vault[AZKM_VAULT_NAME_MAX + 1];
    char name[AZKM_NAME_MAX + 1];
    char version[AZKM_VERSION_LEN + 1];
    azkm_kty kty;
    azkm_protection protection;
    unsigned size; /* RSA modulus bits, EC field bits, oct key bits */
    azkm_curve curve;
    azkm_attributes attrs;
    int current;             /* 1 if this is the key's current version */
    int64_t deleted_on;      /* 0 unless the key is soft-deleted */
    int64_t scheduled_purge; /* 0 unless the key is soft-deleted */
    int recoverable_days;    /* the vault's retention */
    char recovery_level[64]; /* "Recoverable" or "Recoverable+Purgeable" (Azure's names) */
    unsigned char *public_der;
    size_t public_der_len;
    /* Lists only: 1 when this version failed its integrity check; its attributes are not to be trusted. Single
     * reads (show, load) fail with AZKM_E_INTEGRITY instead. */
    int integrity_error;
} azkm_key_info;

void azkm_key_info_clear(azkm_key_info *info);
void azkm_key_info_array_free(azkm_key_info *arr, size_t n);

/* ---- Keystore and vaults --------------------------------------------------------------------------------- */
typedef struct azkm_keystore azkm_keystore;
typedef struct azkm_vault azkm_vault;
typedef struct azkm_key azkm_key;

/* Asks for a passphrase; writes at most len-1 bytes and a NUL into buf. Returns 1 on success, 0 to give up.
 * purpose is "unlock vault <name>" or "new passphrase for vault <name>". */
typedef int (*azkm_passphrase_cb)(char *buf, size_t len, const char *purpose, void *arg);

typedef struct {
    const char *keystore_dir; /* NULL: AZKM_KEYSTORE_DIR, then the config file, then the default */
    const char *config_file;  /* NULL: AZKM_CONF, then /etc/azkm/azkm.conf (root) or XDG config */
    OSSL_LIB_CTX *libctx;     /* NULL: the default library context */
    const char *propq;        /* property query for libcrypto fetches inside the keystore */
    azkm_passphrase_cb passphrase_cb;
    void *passphrase_arg;
    int64_t (*clock)(void *arg); /* NULL: time(NULL). Tests inject a clock. */
    void *clock_arg;
    azkm_passphrase_cb pin_cb; /* asked for a token PIN when a vault's PIN source is "prompt" */
    void *pin_arg;
    const char *audit_log;    /* NULL: AZKM_AUDIT_LOG, then the config file's audit_log; unset means no log */
    int audit_key_operations; /* 1: also log every private-key operation (else AZKM_AUDIT_KEY_OPERATIONS / config)
                               */
} azkm_options;

azkm_rc azkm_keystore_open(const azkm_options *opt, azkm_keystore **out);
void azkm_keystore_free(azkm_keystore *ks);
const char *azkm_keystore_dir(const azkm_keystore *ks);
int64_t azkm_keystore_now(const azkm_keystore *ks);

/* How the vault master key is protected: a 0600 key file (platform-managed), a passphrase (scrypt), or an AES key
 * inside the vault's PKCS#11 token (customer-managed, HSM-held: the keystore is useless without the token). */
typedef enum { AZKM_PROTECTOR_PLATFORM = 0, AZKM_PROTECTOR_PASSPHRASE = 1, AZKM_PROTECTOR_HSM = 2 } azkm_protector;

/* A vault's PKCS#11 token, for HSM keys (RSA-HSM, EC-HSM, oct-HSM). */
typedef struct {
    const char *module;     /* path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so */
    const char *token;      /* token label, or an RFC 7512 pkcs11: URI selecting the token */
    const char *pin_source; /* "file:/path" (0600), "env:NAME", or "prompt" (the keystore's pin_cb) */
} azkm_hsm_binding;

typedef struct {
    int retention_days;   /* 7-90, 0 = default 90 */
    int purge_protection; /* one-way: once set, purge waits for the retention to end */
    azkm_protector protector;
    const azkm_hsm_binding *hsm; /* optional token binding; required for AZKM_PROTECTOR_HSM */
} azkm_vault_params;

typedef struct {
    char name[AZKM_VAULT_NAME_MAX + 1];
    char path[4096];
    int retention_days;
    int purge_protection;
    azkm_protector protector;
    int64_t created;
    size_t n_keys;         /* active keys */
    size_t n_deleted;      /* soft-deleted keys */
    char hsm_module[1024]; /* "" unless the vault is bound to a PKCS#11 token */
    char hsm_token[256];
    char hsm_pin_source[1024];
} azkm_vault_info;

azkm_rc azkm_vault_create(azkm_keystore *ks, const char *name, const azkm_vault_params *params);
azkm_rc azkm_vault_open(azkm_keystore *ks, const char *name, azkm_vault **out);
void azkm_vault_close(azkm_vault *v);
azkm_rc azkm_vault_info_get(azkm_vault *v, azkm_vault_info *out);
/* Names of the vaults in the keystore, sorted. Free with azkm_strv_free. */
azkm_rc azkm_vault_list(azkm_keystore *ks, char ***names, size_t *n);
void azkm_strv_free(char **v, size_t n);
/* Deletes a vault and all its keys. Refused while it holds keys under purge protection. */
azkm_rc azkm_vault_delete(azkm_keystore *ks, const char *name);
/* Binds the vault to a token after checking that azkm can log in to it. */
azkm_rc azkm_vault_bind_hsm(azkm_vault *v, const azkm_hsm_binding *binding);
/* Turns purge protection on (one-way). */
azkm_rc azkm_vault_enable_purge_protection(azkm_vault *v);
const char *azkm_vault_name(const azkm_vault *v);
/* Full check: database integrity, every version's attribute MAC and sealed material, every rotation policy's MAC.
 * The error names the first damaged key; *checked counts the versions that passed. */
azkm_rc azkm_vault_verify(azkm_vault *v, size_t *checked);

/* ---- Key management (control plane) ---------------------------------------------------------------------- */
azkm_rc azkm_key_create(azkm_vault *v, const char *name, const azkm_keyspec *spec, azkm_key_info *out);

/* Key material to import: PKCS#8 DER for RSA and EC, raw bytes for oct. */
typedef struct {
    azkm_kty kty;
    const unsigned char *der;
    size_t der_len;
} azkm_material;

/* Parses PEM or DER (PKCS#8, encrypted PKCS#8, traditional RSA/EC) or PKCS#12 into material. Call
 * azkm_material_clear on the result; it zeroes the copy. passphrase may be NULL. */
azkm_rc azkm_material_parse(OSSL_LIB_CTX *libctx, const unsigned char *in, size_t len, const char *passphrase,
                            azkm_material *out);
void azkm_material_clear(azkm_material *m);

/* Imports material as a new key, or as a new version of an existing key of the same type. */
azkm_rc azkm_key_import(azkm_vault *v, const char *name, const azkm_material *m, azkm_protection protection,
                        unsigned fields, const azkm_attributes *attrs, azkm_key_info *out);

/* Adds an existing token key, named by an RFC 7512 URI with its id, to the vault without copying it (a new key,
 * or a new version of an HSM key of the same type). Purge leaves adopted objects on the token. */
azkm_rc azkm_key_adopt(azkm_vault *v, const char *name, const char *pkcs11_uri, unsigned fields,
                       const azkm_attributes *attrs, azkm_key_info *out);

/* version NULL or "" means the current version. */
azkm_rc azkm_key_show(azkm_vault *v, const char *name, const char *version, azkm_key_info *out);
/* The current version of each key (deleted = 0) or each soft-deleted key (deleted = 1). */
azkm_rc azkm_key_list(azkm_vault *v, int deleted, azkm_key_info **out, size_t *n);
azkm_rc azkm_key_list_versions(azkm_vault *v, const char *name, azkm_key_info **out, size_t *n);
azkm_rc azkm_key_set_attributes(azkm_vault *v, const char *name, const char *version, unsigned fields,
                                const azkm_attributes *attrs, azkm_key_info *out);
/* Makes a new version of the same type and size, with the current version's key_ops and tags; when the key's
 * rotation policy has an expiryTime, the new version expires that long after its creation. */
azkm_rc azkm_key_rotate(azkm_vault *v, const char *name, azkm_key_info *out);
azkm_rc azkm_key_delete(azkm_vault *v, const char *name, azkm_key_info *out);
azkm_rc azkm_key_recover(azkm_vault *v, const char *name, azkm_key_info *out);
azkm_rc azkm_key_purge(azkm_vault *v, const char *name);
/* An encrypted, authenticated blob holding every version and the rotation policy; restorable into the same vault
 * only. */
azkm_rc azkm_key_backup(azkm_vault *v, const char *name, unsigned char **blob, size_t *len);
azkm_rc azkm_key_restore(azkm_vault *v, const unsigned char *blob, size_t len, azkm_key_info *out);

/* ---- Cryptographic operations (data plane) --------------------------------------------------------------- */
typedef enum { AZKM_SIG_RSA_PKCS1 = 1, AZKM_SIG_RSA_PSS = 2, AZKM_SIG_ECDSA = 3 } azkm_sig_scheme;

#define AZKM_PSS_SALT_DIGEST (-1) /* salt length = digest length */
#define AZKM_PSS_SALT_AUTO (-2)   /* verify: any; sign: max */
#define AZKM_PSS_SALT_MAX (-3)

typedef struct {
    azkm_sig_scheme scheme;
    const char *digest; /* "SHA256", ...; NULL: the input is signed as given (RSA: already DigestInfo-encoded) */
    int pss_saltlen;    /* bytes, or AZKM_PSS_SALT_* */
    const char *mgf1_digest; /* NULL: same as digest */
} azkm_sign_params;

/* "RS256" -> PKCS#1 SHA256, "PS384" -> PSS SHA384 salt=digest, "ES512" -> ECDSA SHA512. */
azkm_rc azkm_sign_params_from_alg(const char *alg, azkm_sign_params *out);

typedef enum {
    AZKM_ENC_RSA_PKCS1 = 1, /* RSA1_5 */
    AZKM_ENC_RSA_OAEP = 2,  /* RSA-OAEP (SHA-1) / RSA-OAEP-256 by oaep_digest */
    AZKM_ENC_RSA_TLS = 3,   /* PKCS#1 v1.5 of a TLS premaster secret, depadded in constant time */
    AZKM_ENC_AES_GCM = 4,   /* A128GCM..A256GCM */
    AZKM_ENC_AES_KW = 5,    /* A128KW..A256KW, RFC 3394 */
    AZKM_ENC_AES_KWP = 6,   /* CKM_AES_KEY_WRAP_PAD, RFC 5649 */
} azkm_enc_scheme;

typedef struct {
    azkm_enc_scheme scheme;
    const char *oaep_digest; /* NULL: SHA1 */
    const char *mgf1_digest; /* NULL: same as oaep_digest */
    const unsigned char *label;
    size_t label_len;
    unsigned tls_client_version; /* AZKM_ENC_RSA_TLS */
    unsigned tls_alt_version;
    const unsigned char *iv; /* AES-GCM: 12 bytes; on encrypt NULL makes a random one written to iv_out */
    size_t iv_len;
    unsigned char *iv_out;
    const unsigned char *aad;
    size_t aad_len;
    unsigned char *tag; /* AES-GCM: 16 bytes, written on encrypt, read on decrypt */
    unsigned key_bits;  /* AES algorithms that name a size (A128KW, A256GCM): the key must have it; 0 = any */
} azkm_cipher_params;

/* "RSA-OAEP", "RSA-OAEP-256", "RSA1_5", "A256KW", "A256GCM", "CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD" */
azkm_rc azkm_cipher_params_from_alg(const char *alg, azkm_cipher_params *out);

/* Loads a version for use. Checks that the key exists and is not deleted; enabled, nbf/exp and key_ops are
 * checked by every operation, against the attributes as they were at load time. */
azkm_rc azkm_key_load(azkm_vault *v, const char *name, const char *version, azkm_key **out);
azkm_rc azkm_key_load_uri(azkm_keystore *ks, const char *uri, azkm_key **out);
/* A loaded key keeps its vault open: it stays usable after azkm_vault_close, until azkm_key_free, as long as its
 * keystore is not freed. In a forked child it keeps working; the child never touches the parent's catalog
 * connection (attributes stay as loaded, azkm_key_refresh is a no-op there). */
void azkm_key_free(azkm_key *k);
/* Re-reads the attributes of a loaded key if the vault changed since (cheap when it did not). */
azkm_rc azkm_key_refresh(azkm_key *k);
const azkm_key_info *azkm_key_get_info(const azkm_key *k);
/* Canonical URI of the loaded version. */
const char *azkm_key_uri(const azkm_key *k);
/* Checks that op is allowed now (enabled, nbf, exp, key_ops), with the error naming the key. */
azkm_rc azkm_key_check(const azkm_key *k, unsigned op);
/* Largest signature or ciphertext the key produces, in bytes. */
size_t azkm_key_max_output(const azkm_key *k);

/* Output lengths (*siglen, *outlen) are written, never read: out buffers must hold azkm_key_max_output(k) bytes
 * for RSA and EC keys, and inlen + 16 for AES. */
azkm_rc azkm_key_sign(azkm_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                      unsigned char *sig, size_t *siglen);
/* 1 valid, 0 invalid, -1 error */
int azkm_key_verify(azkm_key *k, const azkm_sign_params *p, const unsigned char *in, size_t inlen,
                    const unsigned char *sig, size_t siglen);
/* out must hold azkm_key_max_output(k) bytes (RSA) or inlen + 16 (AES). */
azkm_rc azkm_key_encrypt(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                         unsigned char *out, size_t *outlen);
azkm_rc azkm_key_decrypt(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                         unsigned char *out, size_t *outlen);
/* Same as encrypt/decrypt, checked against wrapKey/unwrapKey instead of encrypt/decrypt. */
azkm_rc azkm_key_wrap(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                      unsigned char *out, size_t *outlen);
azkm_rc azkm_key_unwrap(azkm_key *k, const azkm_cipher_params *p, const unsigned char *in, size_t inlen,
                        unsigned char *out, size_t *outlen);

/* ---- Bring your own key, envelope encryption, rotation policies ------------------------------------------
 * The customer-managed-key workflows: docs/byok.md, docs/envelope.md, and "Rotation policies" in docs/cli.md. */

/* BYOK, Azure's transfer blob: JSON {"schema_version":"1.0.0","header":{"kid","alg":"dir",
 * "enc":"CKM_RSA_AES_KEY_WRAP"},"ciphertext","generator"}; ciphertext = RSA-OAEP (SHA-1, MGF1-SHA-1) of an
 * ephemeral AES-256 key under the key exchange key (KEK), then AES key wrap with padding (RFC 5649) of the target
 * key (PKCS#8 DER for RSA and EC, raw bytes for oct).
 * Imports the target as an HSM key of type kty (RSA, EC or oct: the blob does not say), a new key or a new version
 * of an existing HSM key of that type. header.kid names the KEK with its version (azkm://VAULT/keys/NAME/VERSION or
 * https://VAULT.vault.azure.net/keys/NAME/VERSION): an RSA-HSM version of this vault whose key_ops are exactly
 * import, enabled and within its validity. The target is unwrapped inside the vault's token and never exists in
 * the clear outside it. Audited as KeyImport. */
azkm_rc azkm_key_import_byok(azkm_vault *v, const char *name, azkm_kty kty, const unsigned char *blob, size_t len,
                             unsigned fields, const azkm_attributes *attrs, azkm_key_info *out);
/* The sender side: a transfer blob of target (as from azkm_material_parse; raw AES bytes for oct) for the KEK
 * whose public key is kek_spki (SubjectPublicKeyInfo DER, RSA 2048-4096) and whose id with version is kek_kid.
 * generator: free text, NULL for "azkm <version>". *blob is NUL-terminated JSON; free it with OPENSSL_free. */
azkm_rc azkm_byok_wrap(OSSL_LIB_CTX *libctx, const azkm_material *target, const unsigned char *kek_spki,
                       size_t kek_spki_len, const char *kek_kid, const char *generator, char **blob);

/* Envelope encryption of files and streams (docs/envelope.md has the file format): a fresh AES-256 data key per
 * file, AES-256-GCM in chunks with the chunk index as nonce and a final-chunk flag in the associated data
 * (tampering, reordering and truncation are detected, memory use is constant), the data key wrapped by a KEK of the
 * vault (oct: AES key wrap; RSA: RSA-OAEP) and kept in the header with the KEK's id and version. */
typedef void (*azkm_progress_cb)(uint64_t done, uint64_t total, void *arg);

typedef struct {
    size_t chunk_size; /* encrypt: plaintext bytes per chunk, 0 = 64 KiB (1 KiB - 16 MiB) */
    uint64_t total;    /* input size for the progress callback, 0 if unknown */
    azkm_progress_cb progress;
    void *progress_arg;
} azkm_envelope_params;

/* Encrypts in to out under the current version of kek_name (key_ops must include wrapKey). p may be NULL. */
azkm_rc azkm_envelope_encrypt(azkm_vault *v, const char *kek_name, FILE *in, FILE *out,
                              const azkm_envelope_params *p);
/* Decrypts with the KEK version named in the header (unwrapKey). Output written before a failure must be
 * discarded: a chunk is written only after it authenticates, but a later chunk may still fail. */
azkm_rc azkm_envelope_decrypt(azkm_keystore *ks, FILE *in, FILE *out, const azkm_envelope_params *p);
/* Writes the file with its data key re-wrapped under the KEK's current version and the chunks copied unchanged.
 * *changed is 0 (and the file copied as is) when the header already names the current version. kid (may be NULL)
 * receives the KEK version the output is wrapped with. */
azkm_rc azkm_envelope_rewrap(azkm_keystore *ks, FILE *in, FILE *out, int *changed, char kid[AZKM_URI_MAX]);

/* Rotation policies, in Azure's shape: {"lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D"},
 * "action":{"type":"Rotate"}},{"trigger":{"timeBeforeExpiry":"P30D"},"action":{"type":"Notify"}}],
 * "attributes":{"expiryTime":"P1Y"}} with ISO-8601 durations. Stored per key, authenticated with the vault's
 * MAC key (an edited policy is an integrity error). */
/* *policy: the stored policy as JSON (OPENSSL_free it), or NULL when the key has none. */
azkm_rc azkm_rotation_policy_get(azkm_vault *v, const char *name, char **policy);
/* Validates and stores a policy (NULL or "" removes it); *stored (optional) receives the normalised JSON. Refuses
 * (AZKM_E_INVALID) what Azure Key Vault refuses: expiryTime under 28 days, timeAfterCreate or timeBeforeExpiry
 * under 7 days, timeBeforeExpiry not shorter than expiryTime, Notify by timeAfterCreate, two actions of a type.
 * Audited as KeyRotationPolicyUpdate. */
azkm_rc azkm_rotation_policy_set(azkm_vault *v, const char *name, const char *policy, char **stored);
/* Parses an ISO-8601 duration (PnYnMnWnDTnHnMnS; a year is 365 days, a month 30) into seconds. */
azkm_rc azkm_duration_parse(const char *text, int64_t *seconds);

typedef enum {
    AZKM_ROTATION_ROTATED = 1,
    AZKM_ROTATION_NOTIFIED = 2,
    AZKM_ROTATION_FAILED = 3
} azkm_rotation_action;

typedef struct {
    char name[AZKM_NAME_MAX + 1];
    azkm_rotation_action action;
    char version[AZKM_VERSION_LEN + 1];     /* the version the action was about (before rotation) */
    char new_version[AZKM_VERSION_LEN + 1]; /* rotated: the new current version */
    int64_t expires;                        /* rotated: its expiry from the policy (0: none) */
    char message[512];                      /* why: "created 2027-01-01T00:00:00Z, timeAfterCreate P90D" */
} azkm_rotation_event;

/* Applies every key's policy at the keystore's clock: rotates the keys that are due (as azkm_key_rotate: new
 * versions get the policy's expiryTime) and records a notification for the keys near expiry, once per version.
 * Idempotent: a second run at the same time does nothing. *events (OPENSSL_free) lists what was done, including
 * keys whose policy could not be applied (the run goes on; the first failure's class is returned). Each rotation is
 * audited as KeyRotate, each notification as KeyNearExpiry. */
azkm_rc azkm_rotation_run(azkm_vault *v, azkm_rotation_event **events, size_t *n);

#ifdef __cplusplus
}
#endif

#endif
