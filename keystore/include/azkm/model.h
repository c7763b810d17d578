/* azkm: names, URIs and the key model (types, curves, key_ops, tags, attributes, key metadata), in Azure Key
 * Vault's vocabulary. */
#ifndef AZKM_MODEL_H
#define AZKM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "azkm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

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
/* The same, or the keys of a vault as a whole, azkm://<vault>[/keys][/] (name and version ""), as the OpenSSL
 * store lists them. */
azkm_rc azkm_uri_parse_store(const char *text, azkm_uri *out);
/* Writes the canonical URI into buf (NUL-terminated); AZKM_E_INVALID when buf is too small. */
azkm_rc azkm_uri_format(const azkm_uri *uri, char *buf, size_t len);

/* ---- Key model ------------------------------------------------------------------------------------------- */
/* OKP: octet key pairs (RFC 8037), the EdDSA curves Ed25519 and Ed448. */
typedef enum { AZKM_KTY_RSA = 1, AZKM_KTY_EC = 2, AZKM_KTY_OCT = 3, AZKM_KTY_OKP = 4 } azkm_kty;
typedef enum { AZKM_PROTECTION_SOFTWARE = 0, AZKM_PROTECTION_HSM = 1 } azkm_protection;
typedef enum {
    AZKM_CURVE_NONE = 0,
    AZKM_CURVE_P256 = 1,
    AZKM_CURVE_P384 = 2,
    AZKM_CURVE_P521 = 3,
    AZKM_CURVE_ED25519 = 4, /* OKP */
    AZKM_CURVE_ED448 = 5,   /* OKP */
} azkm_curve;

/* key_ops, as a bit set */
enum {
    AZKM_OP_ENCRYPT = 1u << 0,
    AZKM_OP_DECRYPT = 1u << 1,
    AZKM_OP_SIGN = 1u << 2,
    AZKM_OP_VERIFY = 1u << 3,
    AZKM_OP_WRAP = 1u << 4,
    AZKM_OP_UNWRAP = 1u << 5,
    AZKM_OP_IMPORT = 1u << 6,
    /* ECDH with an EC key: the raw shared secret (WebCrypto's and JWK's "deriveBits"); not an Azure operation. */
    AZKM_OP_DERIVE = 1u << 7,
    AZKM_OP_ALL = (1u << 8) - 1,
};

/* "RSA", "EC", "oct", "OKP", "RSA-HSM", "EC-HSM", "oct-HSM", "OKP-HSM" */
const char *azkm_kty_name(azkm_kty kty, azkm_protection protection);
azkm_rc azkm_kty_parse(const char *text, azkm_kty *kty, azkm_protection *protection);
const char *azkm_curve_name(azkm_curve curve); /* "P-256", ..., "Ed25519", "Ed448" */
azkm_rc azkm_curve_parse(const char *text, azkm_curve *curve);
int azkm_curve_bits(azkm_curve curve);
/* The key type a curve belongs to: AZKM_KTY_EC for P-256/384/521, AZKM_KTY_OKP for Ed25519/Ed448. */
azkm_kty azkm_curve_kty(azkm_curve curve);
const char *azkm_op_name(unsigned op); /* "sign" for AZKM_OP_SIGN, "deriveBits" for AZKM_OP_DERIVE */
/* Parses a comma- or space-separated list such as "sign,verify" into a bit set. */
azkm_rc azkm_ops_parse(const char *text, unsigned *ops);
/* The key_ops a key type may carry at all (RSA: all but import and deriveBits, import only if HSM; EC: sign,
 * verify, deriveBits; OKP: sign, verify; oct: encrypt/decrypt/wrap/unwrap). */
unsigned azkm_ops_allowed(azkm_kty kty, azkm_protection protection);
/* The key_ops a new key gets when the caller names none: what it may carry, except deriveBits, which an EC key
 * gets only when asked for (Key Vault's EC keys sign and verify). */
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

/* An RSA key for RSASSA-PSS signatures only (RFC 4055): its public key is an id-RSASSA-PSS SubjectPublicKeyInfo,
 * which carries the restrictions as its parameters, so that they are part of the key wherever its public key goes
 * (the vault's record and its MAC, backups, certificates). It signs and verifies with PSS only: no PKCS#1 v1.5
 * signature, no encryption, no key_ops but sign and verify. When restricted, every signature uses digest and MGF1
 * with mgf1_digest, with a salt of at least min_salt_len bytes. */
typedef struct {
    int enabled;
    int restricted;
    char digest[16];      /* "SHA1", "SHA224", "SHA256", "SHA384", "SHA512" */
    char mgf1_digest[16]; /* the same names */
    int min_salt_len;     /* bytes */
} azkm_rsa_pss;

typedef struct {
    azkm_kty kty;
    azkm_protection protection;
    unsigned size;    /* RSA: 2048/3072/4096 (default 2048); oct: 128/192/256 (default 256) */
    azkm_curve curve; /* EC: default P-256; OKP: default Ed25519 */
    unsigned fields;  /* AZKM_ATTR_* set in attrs; unset fields take defaults (enabled, default key_ops) */
    azkm_attributes attrs;
    azkm_rsa_pss pss; /* RSA: an RSA-PSS key when pss.enabled (zeroed: an ordinary RSA key) */
} azkm_keyspec;

/* An RSA-4096 SubjectPublicKeyInfo is 550 bytes: the largest public key azkm holds. */
#define AZKM_PUBLIC_DER_MAX 640

/* Metadata of one key version, as returned by show / list: plain data, nothing to free inside it (a list of them
 * is one allocation, freed with azkm_free). public_der is SubjectPublicKeyInfo DER (public_der_len 0 for oct).
 */
typedef struct {
    char vault[AZKM_VAULT_NAME_MAX + 1];
    char name[AZKM_NAME_MAX + 1];
    char version[AZKM_VERSION_LEN + 1];
    azkm_kty kty;
    azkm_protection protection;
    unsigned size; /* RSA modulus bits, EC field bits, OKP 256 (Ed25519) or 456 (Ed448), oct key bits */
    azkm_curve curve;
    azkm_attributes attrs;
    int current;             /* 1 if this is the key's current version */
    int64_t deleted_on;      /* 0 unless the key is soft-deleted */
    int64_t scheduled_purge; /* 0 unless the key is soft-deleted */
    int recoverable_days;    /* the vault's retention */
    char recovery_level[64]; /* "Recoverable" or "Recoverable+Purgeable" (Azure's names) */
    unsigned char public_der[AZKM_PUBLIC_DER_MAX];
    size_t public_der_len;
    /* Lists only: 1 when this version failed its integrity check; its attributes are not to be trusted. Single
     * reads (show, load) fail with AZKM_E_INTEGRITY instead. */
    int integrity_error;
    azkm_rsa_pss pss; /* RSA: what its public key says (enabled 0 for an ordinary RSA key) */
} azkm_key_info;

#ifdef __cplusplus
}
#endif

#endif
