/* Flag table entries shared by the `azkm key` commands, so every command words them the same way, and the
 * reader of the attribute flags (--enabled, --not-before, --expires, --ops, --tags). */
#ifndef AZKM_CLI_KEY_FLAGS_H
#define AZKM_CLI_KEY_FLAGS_H

#include <azkm/keystore.h>

#include "args.h"

#define FLAG_END                                                                                                   \
    {                                                                                                              \
        NULL, 0, NULL, NULL, 0                                                                                     \
    }
#define FLAG_VAULT                                                                                                 \
    {                                                                                                              \
        "--vault-name", ARG_VALUE, "VAULT", "Vault holding the key.", 0                                            \
    }
#define FLAG_VAULT_REQ                                                                                             \
    {                                                                                                              \
        "--vault-name", ARG_VALUE, "VAULT", "Vault holding the keys.", 1                                           \
    }
#define FLAG_NAME                                                                                                  \
    {                                                                                                              \
        "--name", ARG_VALUE, "NAME", "Key name: 1-127 of [0-9a-zA-Z-], case-insensitive.", 0                       \
    }
#define FLAG_NAME_REQ                                                                                              \
    {                                                                                                              \
        "--name", ARG_VALUE, "NAME", "Key name: 1-127 of [0-9a-zA-Z-], case-insensitive.", 1                       \
    }
#define FLAG_VERSION                                                                                               \
    {                                                                                                              \
        "--version", ARG_VALUE, "VERSION", "Key version (32 hex). Default: the current version.", 0                \
    }
#define FLAG_ID                                                                                                    \
    {                                                                                                              \
        "--id", ARG_VALUE, "URI", "azkm://VAULT/keys/NAME[/VERSION], instead of --vault-name/--name/--version.", 0 \
    }
#define FLAG_ENABLED                                                                                               \
    {                                                                                                              \
        "--enabled", ARG_VALUE, "true|false", "Whether the version may be used. Default: true.", 0                 \
    }
#define FLAG_EXPIRES                                                                                               \
    {                                                                                                              \
        "--expires", ARG_VALUE, "TIME",                                                                            \
            "Expiry (exp): ISO-8601 UTC like 2027-01-01T00:00:00Z, epoch seconds, or none. Default: none.", 0      \
    }
#define FLAG_NOT_BEFORE                                                                                            \
    {                                                                                                              \
        "--not-before", ARG_VALUE, "TIME", "Not valid before (nbf), same formats as --expires. Default: none.", 0  \
    }
#define FLAG_OPS                                                                                                   \
    {                                                                                                              \
        "--ops", ARG_LIST, "OP...",                                                                                \
            "Permitted operations, space or comma separated: encrypt decrypt sign verify wrapKey unwrapKey "       \
            "import deriveBits (ECDH, EC keys only). "                                                             \
            "Default: all the key type allows, except deriveBits.",                                                \
            0                                                                                                      \
    }
#define FLAG_TAGS                                                                                                  \
    {                                                                                                              \
        "--tags", ARG_LIST, "K=V...", "Tags, space or comma separated, at most 15 (\"\" clears). Default: none.",  \
            0                                                                                                      \
    }

/* Reads --enabled, --not-before, --expires, --ops and --tags into attrs, setting the AZKM_ATTR_* bits of the
 * flags given in fields. Returns 0 or the usage exit code after printing the error. */
int cli_attrs_from_flags(const cli_args *a, unsigned *fields, azkm_attributes *attrs);

#endif
