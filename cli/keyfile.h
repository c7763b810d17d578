/* Key files given to `azkm key import --file` and `azkm byok wrap --file`: a private key in PEM, DER or
 * PKCS#12, possibly encrypted, or raw AES key bytes. */
#ifndef AZKM_CLI_KEYFILE_H
#define AZKM_CLI_KEYFILE_H

#include <stddef.h>

#include <azkm/keystore.h>

#include "args.h"

typedef struct {
    azkm_material m;    /* for oct keys, m.der points into buf */
    unsigned char *buf; /* the file as read */
    size_t len;
    int parsed; /* m holds parsed material to clear */
} cli_key_file;

/* Reads path (given as --file): raw AES key bytes when kty is oct, otherwise a private key decrypted with the
 * passphrase from --import-passphrase-file or, when the file turns out to be encrypted, one asked on the
 * terminal with prompt. A nonzero kty must match the file's (kty_text names it in the error). Returns 0 or an
 * exit code after printing the error; call cli_key_file_clear in every case. */
int cli_key_file_read(const cli_args *a, const char *path, azkm_kty kty, const char *kty_text, const char *prompt,
                      cli_key_file *kf);
void cli_key_file_clear(cli_key_file *kf);

#endif
