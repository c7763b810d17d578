/* azkm keystore: vaults, keys, versions and attributes, with key material held by a protection tier.
 * The public C API used by the CLI, the OpenSSL provider and other programs: this header includes every topic
 * header; a program may include only the ones it uses. Nothing here knows about OpenSSL providers.
 *
 * Conventions: every function that can fail returns azkm_rc and leaves a message (azkm/error.h); predicates and
 * accessors that cannot fail return their value. What the library allocates for the caller is one allocation,
 * freed with azkm_free; handles with their own function (azkm_keystore_free, azkm_vault_close, azkm_key_free);
 * azkm_material, the one result holding a private key, with azkm_material_clear. Verbs: <thing>_show reads a
 * description from the catalog (azkm_vault_show, azkm_key_show), <thing>_get_<what> reads from a handle in
 * memory (azkm_key_get_info, azkm_key_get_uri, azkm_vault_get_name, azkm_keystore_get_dir). */
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
#include "azkm/rbac.h"
#include "azkm/identity.h"

#endif
