/* azkm provider internals shared by the operation files: the provider context, the key object handed between
 * store, decoder, keymgmt, signature and cipher, and the error helpers. OpenSSL glue only; the domain lives in
 * keystore/. */
#ifndef AZKM_PROVIDER_H
#define AZKM_PROVIDER_H

#include <pthread.h>
#include <stdarg.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include <azkm/keystore.h>

#define AZKM_PROV_NAME "azkm"
#define AZKM_PROPS "provider=azkm"

/* Names shared with the default provider's namemap, so that keys and certificates from both agree. */
#define AZKM_NAMES_RSA "RSA:rsaEncryption:1.2.840.113549.1.1.1"
#define AZKM_NAMES_RSA_PSS "RSA-PSS:RSASSA-PSS:1.2.840.113549.1.1.10"
#define AZKM_NAMES_EC "EC:id-ecPublicKey:1.2.840.10045.2.1"
#define AZKM_NAMES_ECDSA "ECDSA"
/* What our key managers answer to query_operation_name: names only azkm offers, so that OpenSSL 3.0's operation
 * init finds azkm's implementation on its first try instead of first fetching the default provider's, trying to
 * export the key there (refused: it is private) and then fetching again from the key's provider. */
#define AZKM_OP_NAME_RSA "AZKM-RSA"
#define AZKM_OP_NAME_ECDSA "AZKM-ECDSA"

/* Data structure name of the DER body of a key reference file, passed between our decoders. */
#define AZKM_REF_STRUCTURE "azkm-ref"

/* Key generation parameters (genpkey -pkeyopt). */
#define AZKM_GEN_PARAM_URI "azkm-uri"
#define AZKM_GEN_PARAM_VAULT "azkm-vault"
#define AZKM_GEN_PARAM_NAME "azkm-name"

/* Digests fetched once per provider context: an EVP_MD_fetch costs about 2k instructions, and the signature code
 * needs one at every digest-sign init. Indexes into azkm_provctx.md_cache. */
enum { AZKM_MD_SHA1, AZKM_MD_SHA224, AZKM_MD_SHA256, AZKM_MD_SHA384, AZKM_MD_SHA512, AZKM_MD_CACHED };

typedef struct azkm_provctx {
    const OSSL_CORE_HANDLE *handle;
    OSSL_LIB_CTX *libctx; /* our own library context with only the default provider: no recursion into azkm */
    OSSL_PROVIDER *deflt;
    char *keystore_dir;      /* from openssl.cnf or AZKM_KEYSTORE_DIR; NULL: the keystore's own default */
    char *config_file;       /* from openssl.cnf or AZKM_CONF */
    int log_stderr;          /* error_log = stderr (openssl.cnf) or AZKM_ERROR_LOG=stderr: errors also on stderr */
    pthread_mutex_t ks_lock; /* guards the lazy keystore open */
    int live_keys;           /* key objects alive; teardown leaves shared state alone while any remain */
    azkm_keystore *ks;
    /* Filled on first use, each slot once (compare-and-swap); freed at teardown. */
    EVP_MD *md_cache[AZKM_MD_CACHED];
    /* core upcalls */
    OSSL_FUNC_core_new_error_fn *core_new_error;
    OSSL_FUNC_core_set_error_debug_fn *core_set_error_debug;
    OSSL_FUNC_core_vset_error_fn *core_vset_error;
    OSSL_FUNC_BIO_read_ex_fn *core_bio_read_ex;
    OSSL_FUNC_BIO_write_ex_fn *core_bio_write_ex;
} AZKM_PROVCTX;

typedef enum { AZKM_TYPE_RSA = 1, AZKM_TYPE_RSA_PSS = 2, AZKM_TYPE_EC = 3 } azkm_pkey_type;

/* A key as the provider sees it: a loaded keystore key (NULL for a public key imported from elsewhere) and its
 * public half as an EVP_PKEY in our own library context, used for public values, verify and encrypt.
 * Immutable once filled, reference counted: store, decoder and keymgmt hand it on by reference. */
typedef struct azkm_pkey {
    int refcnt;
    AZKM_PROVCTX *provctx;
    azkm_pkey_type type;
    azkm_key *key;
    EVP_PKEY *pub;
    char *uri;     /* canonical URI of the loaded version, for messages */
    char *ref_uri; /* canonical URI as requested (no version: the current one), for reference files */
    int bits;
    int security_bits;
    int max_size;
} AZKM_PKEY;

/* provider.c */
azkm_keystore *azkm_prov_keystore(AZKM_PROVCTX *pctx);
/* A new reference to the digest called name in our library context (the cached one for SHA-1 and SHA-2 under
 * their usual names, else a fresh fetch), or NULL when there is none. Free it with EVP_MD_free. */
EVP_MD *azkm_prov_md_fetch(AZKM_PROVCTX *pctx, const char *name);

/* keymgmt.c */
AZKM_PKEY *azkm_pkey_new(AZKM_PROVCTX *pctx, azkm_pkey_type type);
void azkm_pkey_free(AZKM_PKEY *pk);
int azkm_pkey_up_ref(AZKM_PKEY *pk);
/* Loads a vault key by URI into a new key object; raises an error naming the key on failure. */
AZKM_PKEY *azkm_pkey_load_uri(AZKM_PROVCTX *pctx, const char *uri);
/* Refuses (raising the keystore's reason) a private key that can neither sign nor decrypt now. */
int azkm_pkey_check_private_use(AZKM_PKEY *pk);
/* Takes over pub (an EVP_PKEY of our library context) as the public half and caches its sizes. */
int azkm_pkey_set_pub(AZKM_PKEY *pk, EVP_PKEY *pub);
const char *azkm_pkey_type_name(azkm_pkey_type type);
int azkm_pkey_is_rsa(const AZKM_PKEY *pk);

/* errors.c: reason codes of the provider, registered with the core through get_reason_strings. */
enum {
    AZKM_R_KEYSTORE_OPEN = 1,
    AZKM_R_INVALID_URI,
    AZKM_R_NOT_FOUND,
    AZKM_R_FORBIDDEN,
    AZKM_R_INTEGRITY,
    AZKM_R_AUTH,
    AZKM_R_PERMISSION,
    AZKM_R_IO,
    AZKM_R_CORRUPT,
    AZKM_R_UNSUPPORTED,
    AZKM_R_CRYPTO,
    AZKM_R_NOMEM,
    AZKM_R_INVALID,
    AZKM_R_CONFLICT,
    AZKM_R_PRIVATE_KEY_NOT_EXPORTABLE,
    AZKM_R_NO_PRIVATE_KEY,
    AZKM_R_BAD_REFERENCE_FILE,
    AZKM_R_BAD_PARAMETER,
    AZKM_R_BUFFER_TOO_SMALL,
    AZKM_R_INTERNAL,
};

const OSSL_ITEM *azkm_reason_strings(void);
void azkm_raise(AZKM_PROVCTX *pctx, const char *file, int line, const char *func, int reason, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Raises the keystore's last error, mapping its class to a reason; the text names key and action. */
void azkm_raise_rc(AZKM_PROVCTX *pctx, const char *file, int line, const char *func, azkm_rc rc);

#define AZKM_RAISE(pctx, reason, ...)                                                                              \
    azkm_raise((pctx), OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC, (reason), __VA_ARGS__)
/* Same, for a failed key load: the message is prefixed with the URI unless it names it already. */
void azkm_raise_rc_loading(AZKM_PROVCTX *pctx, const char *file, int line, const char *func, azkm_rc rc,
                           const char *uri);
#define AZKM_RAISE_RC(pctx, rc) azkm_raise_rc((pctx), OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC, (rc))
#define AZKM_RAISE_RC_LOADING(pctx, rc, uri)                                                                       \
    azkm_raise_rc_loading((pctx), OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC, (rc), (uri))

/* Dispatch tables, one per operation file. */
extern const OSSL_DISPATCH azkm_rsa_keymgmt_functions[];
extern const OSSL_DISPATCH azkm_rsapss_keymgmt_functions[];
extern const OSSL_DISPATCH azkm_ec_keymgmt_functions[];
extern const OSSL_DISPATCH azkm_rsa_signature_functions[];
extern const OSSL_DISPATCH azkm_ecdsa_signature_functions[];
extern const OSSL_DISPATCH azkm_rsa_asym_cipher_functions[];
extern const OSSL_DISPATCH azkm_store_functions[];
extern const OSSL_DISPATCH azkm_pem2der_decoder_functions[];
extern const OSSL_DISPATCH azkm_ref2rsa_decoder_functions[];
extern const OSSL_DISPATCH azkm_ref2ec_decoder_functions[];
extern const OSSL_DISPATCH azkm_ref_pem_encoder_functions[];
extern const OSSL_DISPATCH azkm_refuse_encoder_functions[];
extern const OSSL_DISPATCH azkm_text_encoder_functions[];

#endif
