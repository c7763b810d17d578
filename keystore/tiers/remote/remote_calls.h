/* What the administration files of tiers/remote/ share (remote_calls.c): a request whose answer is a key bundle,
 * Key Vault's paged lists, and the mutable attributes as a request body. Used inside tiers/remote/ only. */
#ifndef AZKM_TIER_REMOTE_CALLS_H
#define AZKM_TIER_REMOTE_CALLS_H

#include "tiers/remote/remote_client.h"

/* AZKM_E_INVALID naming the key name unless it is one (checked before it goes into a path). */
azkm_rc azkm_remote_name_check(const char *name);
/* path (size bytes) = prefix, name, suffix ("/keys/", name, "/rotate"), once name is checked as above. */
azkm_rc azkm_remote_key_path(const char *name, const char *prefix, const char *suffix, char *path, size_t size);

/* method path with body (json_decref'd here, may be NULL), its answer a KeyBundle (with deletedDate and
 * scheduledPurgeDate for a deleted key) read into *out (out may be NULL). once: the request changes the server
 * (azkm_remote_call_once), otherwise it is a read; an answer of a change that cannot be read here (an oct key)
 * fails saying that the change was made. */
azkm_rc azkm_remote_bundle_call(azkm_tier *t, const char *method, const char *path, json_t *body, int once,
                                azkm_key_info *out);

/* azkm_remote_list_kids (remote_client.h) with the tier's client. */
azkm_rc azkm_remote_pages(azkm_tier *t, const char *path, json_t *kids);

/* key_ops, attributes (enabled, nbf, exp) and tags of attrs that fields names, as Key Vault's request members of
 * body. */
azkm_rc azkm_remote_attrs_json(json_t *body, unsigned fields, const azkm_attributes *attrs);

#endif
