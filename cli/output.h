/* What the CLI prints on stdout: a human table by default, JSON (Azure's shapes) with --output json. */
#ifndef AZKM_CLI_OUTPUT_H
#define AZKM_CLI_OUTPUT_H

#include <jansson.h>

#include "cli.h"

/* ISO-8601 UTC ("2027-01-01T00:00:00Z"), or "-" for 0. */
const char *out_time(int64_t t, char *buf, size_t len);

/* Azure KeyBundle: {"key":JWK,"attributes":{...},"tags":{...}} plus deletedDate/... for deleted keys. */
json_t *out_key_json(const azkm_key_info *info);

/* Each prints in the context's format and returns an exit code. */
int out_key(const cli_ctx *ctx, const azkm_key_info *info);
int out_key_list(const cli_ctx *ctx, const azkm_key_info *arr, size_t n, int deleted);
int out_key_versions(const cli_ctx *ctx, const azkm_key_info *arr, size_t n);
int out_vault(const cli_ctx *ctx, const azkm_vault_info *info);
/* errors[i] is non-NULL for a vault that could not be opened (only its name is known). */
int out_vault_list(const cli_ctx *ctx, const azkm_vault_info *arr, char *const *errors, size_t n);

/* Prints the JSON document (indented, newline-terminated) and releases it; returns an exit code. */
int out_json(json_t *doc);
/* One "Label   value" line of a vertical table. */
void out_row(const char *label, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
