/* azkm keystore: vaults, keys, versions and attributes, with key material held by a protection tier.
 * The public C API used by the CLI, the OpenSSL provider and other programs: this header includes every topic
 * header; a program may include only the ones it uses. Nothing here knows about OpenSSL providers.
 *
 * Conventions: every function that can fail returns azkm_rc (azkm/error.h); what the library allocates for the
 * caller is freed with azkm_free (azkm/error.h), a struct the caller owns and the library filled with its _clear
 * function; objects (keystore, vault, loaded key) with their _free/_close function. */
#ifndef AZKM_KEYSTORE_H
#define AZKM_KEYSTORE_H

#define AZKM_VERSION_STRING "0.1.0"

#include "azkm/error.h"
#include "azkm/model.h"
#include "azkm/vault.h"
#include "azkm/keys.h"
#include "azkm/crypto.h"
#include "azkm/byok.h"
#include "azkm/envelope.h"
#include "azkm/rotation.h"

#endif
