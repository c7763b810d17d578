/* base/: what every other folder of the keystore uses. Errors (error.c), private files (fsutil.c), the
 * configuration (config.c), the audit log (audit.c), names and URIs (names.c, uri.c), digest tables (algs.c), times
 * in messages (isotime.c) and secret memory (secmem.h). May use libc and libcrypto only. */
#ifndef AZKM_BASE_H
#define AZKM_BASE_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "azkm/keystore.h"

/* Records the error for azkm_last_error and returns rc, so that callers write `return azkm_fail(...)`. */
azkm_rc azkm_fail(azkm_rc rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like azkm_fail, appending OpenSSL's first queued error reason (and clearing the queue). */
azkm_rc azkm_fail_ossl(azkm_rc rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The keystore handle: where it is, its options, its clock and its audit log (opened in vault/keystore.c). */
struct azkm_keystore {
    char dir[4096];
    OSSL_LIB_CTX *libctx;
    char *propq;
    azkm_passphrase_cb passphrase_cb;
    void *passphrase_arg;
    int64_t (*clock)(void *arg);
    void *clock_arg;
    azkm_passphrase_cb pin_cb;
    void *pin_arg;
    char *audit_path; /* NULL: no audit log */
    int audit_key_operations;
    int audit_fd;
    pid_t audit_pid;
    size_t secure_heap_size;
};

/* ---- files (fsutil.c) */
azkm_rc azkm_mkdir_private(const char *path);
/* Checks that path exists and is neither readable nor writable by others (and for secret files, group). */
azkm_rc azkm_check_private(const char *path, int secret, const char *what);
/* The same checks on what one stat of path returned: for files another process may remove at any time. */
azkm_rc azkm_check_private_stat(const char *path, const struct stat *st, int secret, const char *what);
/* Writes data to path atomically (temp file, fsync, rename, fsync dir) with mode 0600. */
azkm_rc azkm_write_file_atomic(const char *path, const unsigned char *data, size_t len);
azkm_rc azkm_read_file(const char *path, unsigned char **data, size_t *len, size_t max);
/* The same into secret memory (secmem.h), for key and passphrase files: free it with azkm_secret_free. */
azkm_rc azkm_read_secret_file(const char *path, unsigned char **data, size_t *len, size_t max);

/* ---- configuration (config.c) */
typedef struct {
    char dir[4096];
    char audit_log[4096]; /* "" = no audit log */
    int audit_key_operations;
    size_t secure_heap_size; /* bytes of OpenSSL secure heap to set up (secmem.c), 0 for none */
} azkm_config;

azkm_rc azkm_config_load(const azkm_options *opt, azkm_config *cfg);

/* ---- audit log (audit.c) */
#define AZKM_AUDIT_PROPS 4
typedef struct {
    azkm_keystore *ks;
    const char *op;
    const char *vault;
    const char *name;
    /* What the record names besides a key: up to AZKM_AUDIT_PROPS name/value pairs, NULL-terminated, written as
     * its "properties" (for instance a role assignment's principal, role and scope). Set before azkm_audit_end. */
    const char *props[2 * AZKM_AUDIT_PROPS + 1];
    struct timespec start;
    int outermost;
} azkm_audit_op;

/* Starts timing an API call; nested API calls inside it are not logged again. */
void azkm_audit_begin(azkm_audit_op *a, azkm_keystore *ks, const char *op, const char *vault, const char *name);
/* Logs the call (when it is the outermost one and the log is on) and returns rc. */
azkm_rc azkm_audit_end(azkm_audit_op *a, azkm_rc rc, const char *version);
/* The same for a call logged only when it fails: frequent ones whose failures are what matters (opening a vault,
 * loading a key, a key operation when key operations are not logged), where a failure is a guess or a probe. */
azkm_rc azkm_audit_end_failure(azkm_audit_op *a, azkm_rc rc, const char *version);
/* The body of a public API function that audits the call `impl` (an expression evaluating to azkm_rc). */
#define AZKM_AUDITED(ks, op, vault, name, impl, version)                                                           \
    do {                                                                                                           \
        azkm_audit_op audit_;                                                                                      \
        azkm_rc rc_;                                                                                               \
        azkm_audit_begin(&audit_, (ks), (op), (vault), (name));                                                    \
        rc_ = (impl);                                                                                              \
        return azkm_audit_end(&audit_, rc_, rc_ == AZKM_OK ? (version) : NULL);                                    \
    } while (0)
/* The same as AZKM_AUDITED, logging only a failure (azkm_audit_end_failure). */
#define AZKM_AUDITED_FAILURE(ks, op, vault, name, impl)                                                            \
    do {                                                                                                           \
        azkm_audit_op audit_;                                                                                      \
        azkm_audit_begin(&audit_, (ks), (op), (vault), (name));                                                    \
        return azkm_audit_end_failure(&audit_, (impl), NULL);                                                      \
    } while (0)
/* Logs one record that is not an API call (operationName op), such as how secrets are kept out of core dumps. */
void azkm_audit_note(azkm_keystore *ks, const char *op, azkm_rc rc, const char *description);
azkm_rc azkm_audit_open(azkm_keystore *ks);
void azkm_audit_close(azkm_keystore *ks);

/* ---- times in messages (isotime.c) */
#define AZKM_ISO_TIME_LEN 32
/* t as "2027-01-15T08:00:00Z" (UTC) in buf; returns buf. */
const char *azkm_iso_time(int64_t t, char buf[AZKM_ISO_TIME_LEN]);

/* ---- algorithms (algs.c) */
/* Output size of a SHA-1/SHA-2 digest by name, 0 if unknown. */
size_t azkm_digest_size(const char *name);

#endif
