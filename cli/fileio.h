/* Reading and writing the files named by CLI flags (--file, --in-file, --out-file, ...), with errors that name
 * the flag and the path; "-" means standard input or output. Also binary values given either as base64 or as a
 * file. Buffers read are OPENSSL_malloc'd: release them with OPENSSL_clear_free (they may hold key material). */
#ifndef AZKM_CLI_FILEIO_H
#define AZKM_CLI_FILEIO_H

#include <stddef.h>

#include "args.h"

/* Reads a whole file quietly; returns 0 or an errno value. */
int cli_slurp(const char *path, unsigned char **buf, size_t *len);
/* Read: the whole file; flag names the option in errors. Write: mode applies on creation. Both return 0 or an
 * exit code after printing the error. */
int cli_read_file(const char *path, const char *flag, unsigned char **buf, size_t *len);
int cli_write_file(const char *path, const char *flag, const unsigned char *buf, size_t len, int mode);

/* Binary input from a base64 flag or a file flag (fileflag may be NULL); exactly one of them unless optional.
 * *out is NULL when an optional input is absent. Returns 0 or an exit code after printing the error. */
int cli_read_bytes(const cli_args *a, const char *b64flag, const char *fileflag, int optional, unsigned char **out,
                   size_t *len);

#endif
