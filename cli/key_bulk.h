/* Bulk key creation: `azkm key create --count N` (key_bulk.c). */
#ifndef AZKM_CLI_KEY_BULK_H
#define AZKM_CLI_KEY_BULK_H

#include <azkm/keystore.h>

#include "args.h"
#include "context.h"

#define FLAG_COUNT                                                                                                 \
    {                                                                                                              \
        "--count", ARG_VALUE, "N",                                                                                 \
            "Create N keys named NAME-1 ... NAME-N (zero-padded to the width of N) in one run, with progress on "  \
            "a "                                                                                                   \
            "terminal; stops at the first failure, keeping the keys made so far. Default: one key named NAME.",    \
            0                                                                                                      \
    }

/* Creates the --count keys of spec in the open vault v, named after --name; prints the summary. */
int cli_key_create_bulk(cli_ctx *ctx, const cli_args *a, azkm_vault *v, const azkm_keyspec *spec);

#endif
