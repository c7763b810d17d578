/* What the CLI prints on stdout: a human table by default, JSON (Azure's shapes) with --output json. Each
 * printing function takes json (nonzero for --output json) and returns an exit code. */
#ifndef AZKM_CLI_OUTPUT_H
#define AZKM_CLI_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <azkm/keystore.h>

/* Primitives (output.c). */
/* ISO-8601 UTC ("2027-01-01T00:00:00Z"), or "-" for 0. */
const char *out_time(int64_t t, char *buf, size_t len);
/* Prints the JSON document (indented, newline-terminated) and releases it. */
int out_json(json_t *doc);
/* One "Label   value" line of a vertical table. */
void out_row(const char *label, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One binary part of a data-plane result, printed in base64; left out when bytes is NULL. */
typedef struct {
    const char *field; /* JSON member: "signature", "result", "iv", "tag" */
    const char *label; /* table row */
    const unsigned char *bytes;
    size_t len;
} out_bytes;

/* {"kid","algorithm", field: base64...} or the same as table rows. */
int out_op_result(int json, const char *kid, const char *alg, const out_bytes *parts, size_t n);

/* Keys (output_key.c): Azure KeyBundle for one key, KeyItems for lists. */
int out_key(int json, const azkm_key_info *info);
/* Prints the key when rc is AZKM_OK and the library's error otherwise; clears info in both cases. */
int out_key_result(int json, azkm_rc rc, azkm_key_info *info);
int out_key_list(int json, const azkm_key_info *arr, size_t n, int deleted);
int out_key_versions(int json, const azkm_key_info *arr, size_t n);

/* Vaults (output_vault.c). errors[i] is non-NULL for a vault that could not be opened (only its name is known). */
int out_vault(int json, const azkm_vault_info *info);
int out_vault_list(int json, const azkm_vault_info *arr, char *const *errors, size_t n);

#endif
