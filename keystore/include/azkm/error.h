/* azkm: error classes and the thread's last error. Every function of the library returns azkm_rc. */
#ifndef AZKM_ERROR_H
#define AZKM_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

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

/* ---- Memory ----------------------------------------------------------------------------------------------
 * Everything the library allocates for its caller (arrays of key metadata, the vault name list, blobs, JSON text,
 * rotation events, base64 text and key reference DER) is one allocation, freed with azkm_free; NULL is ignored.
 * It does not clear: a caller that keeps a secret in such a buffer clears it first. Handles have their own
 * function (azkm_keystore_free, azkm_vault_close, azkm_key_free), and azkm_material, the one result that holds a
 * private key, is wiped by azkm_material_clear. */
void azkm_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
