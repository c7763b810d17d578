/* azkm: the keystore, its vaults and their token bindings. */
#ifndef AZKM_VAULT_H
#define AZKM_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "azkm/model.h"

#ifdef __cplusplus
extern "C" {
#endif

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
const char *azkm_keystore_get_dir(const azkm_keystore *ks);
int64_t azkm_keystore_now(const azkm_keystore *ks);
/* Appends one record written by a front end (azkmd: one JSON object per request) to the keystore's audit log, in
 * one write; does nothing when the keystore has no audit log. The record must be one line without a newline and
 * must hold nothing secret. AZKM_E_INVALID for a record with a newline, AZKM_E_IO when the write fails. */
azkm_rc azkm_audit_record(azkm_keystore *ks, const char *record);

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

#define AZKM_REMOTE_URLS_MAX 8 /* a remote vault's azkmd URLs */

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
    /* A remote vault (azkm_vault_connect): its keys live in azkmd. n_keys and n_deleted are 0 (not counted). */
    int remote;
    char remote_vault[AZKM_VAULT_NAME_MAX + 1]; /* its name on the server */
    size_t n_remote_urls;
    char remote_urls[AZKM_REMOTE_URLS_MAX][257];
} azkm_vault_info;

/* Where a remote vault is: azkmd's URLs, tried in this order (unix:/path/to/azkmd.sock, the caller authenticated
 * by its peer credentials; https://host[:port], the caller authenticated by a client certificate), and the vault's
 * name there. Or, on either, the caller a service principal (client_id) with a bearer token from azkmd's token
 * endpoint, got with a client secret (a file) or a client assertion (a certificate and its key).
 * docs/remote-vaults.md. */
typedef struct {
    const char *const *urls;
    size_t n_urls;
    const char *remote_vault;          /* NULL: the same name as the entry */
    const char *domain;                /* NULL: vault.azkm.localhost (azkmd's default `domain`) */
    long connect_timeout_ms;           /* 0: 2000 */
    long timeout_ms;                   /* 0: 30000 */
    const char *ca_file;               /* https: PEM CA certificates for azkmd's certificate; NULL: the system's */
    const char *client_cert;           /* https (required): the client certificate, PEM */
    const char *client_key;            /* https (required): its private key, PEM, not accessible to others */
    const char *client_id;             /* bearer tokens: the service principal's appId; NULL: none */
    const char *tenant;                /* bearer tokens: azkmd's tenant; NULL: azkm */
    const char *client_secret_file;    /* its secret, a file only its owner may read (0600) */
    const char *client_assertion_cert; /* or its certificate (PEM) and RSA key (PEM, not accessible to others) */
    const char *client_assertion_key;
    /* A key loaded without a version follows the key's rotation in azkmd: it asks which version is current at
     * most every refresh_s seconds (1-86400; 0: 60; AZKM_REMOTE_REFRESH_ALWAYS: before every operation). */
    long refresh_s;
} azkm_remote_params;

#define AZKM_REMOTE_REFRESH_ALWAYS (-1L)

azkm_rc azkm_vault_create(azkm_keystore *ks, const char *name, const azkm_vault_params *params);
/* Makes a remote vault: an entry `name` in the keystore (a 0700 directory holding remote.json, 0600) whose keys
 * are the keys of a vault served by azkmd. Nothing is contacted: every field is checked, none is tried. Opening
 * it gives a vault whose key reads and operations go to azkmd (load, show, list, sign, verify, decrypt); its other
 * calls fail with AZKM_E_UNSUPPORTED. azkm_vault_delete removes the entry only. */
azkm_rc azkm_vault_connect(azkm_keystore *ks, const char *name, const azkm_remote_params *params);
azkm_rc azkm_vault_open(azkm_keystore *ks, const char *name, azkm_vault **out);
void azkm_vault_close(azkm_vault *v);
azkm_rc azkm_vault_show(azkm_vault *v, azkm_vault_info *out);
/* Names of the vaults in the keystore, sorted: one allocation (the array and the strings), freed with azkm_free. */
azkm_rc azkm_vault_list(azkm_keystore *ks, char ***names, size_t *n);
/* Deletes a vault and all its keys. Refused while it holds keys under purge protection. */
azkm_rc azkm_vault_delete(azkm_keystore *ks, const char *name);
/* Binds the vault to a token after checking that azkm can log in to it. */
azkm_rc azkm_vault_bind_hsm(azkm_vault *v, const azkm_hsm_binding *binding);
/* Turns purge protection on (one-way). */
azkm_rc azkm_vault_enable_purge_protection(azkm_vault *v);
const char *azkm_vault_get_name(const azkm_vault *v);
/* A number that changes whenever the vault's catalog does (a commit through any handle, in any process): what was
 * read from the vault while it stays the same is still current. For caches of loaded keys (azkmd). */
int64_t azkm_vault_get_data_version(azkm_vault *v);
/* Full check: database integrity, every version's attribute MAC and sealed material, every rotation policy's MAC,
 * the role assignments' MACs (azkm/rbac.h).
 * The error names the first damaged key; *checked counts the versions that passed. */
azkm_rc azkm_vault_verify(azkm_vault *v, size_t *checked);

#ifdef __cplusplus
}
#endif

#endif
