/* The remote tier's HTTP client (remote_client.c) and Key Vault JSON (remote_json.c), shared by the files of
 * tiers/remote/ only. */
#ifndef AZKM_TIER_REMOTE_CLIENT_H
#define AZKM_TIER_REMOTE_CLIENT_H

#include <jansson.h>

#include "tiers/remote/remote.h"

/* The api-version every request carries: the one the Azure SDKs send by default, which azkmd accepts. */
#define AZKM_REMOTE_API_VERSION "2025-07-01"

/* One remote vault's client: its entry and the URLs' back-off state. Connections come from a pool per process
 * (remote_client.c) shared by every client and thread; a forked child never uses the parent's. */
typedef struct azkm_remote_client azkm_remote_client;

azkm_rc azkm_remote_client_new(const char *entry, const azkm_remote_conf *conf, azkm_remote_client **out);

/* The Authorization header of a request ("Authorization: Bearer <token>") into header (len bytes), from a token
 * cache (remote_token.c). stale: 0, or the generation of a token azkmd refused (a new one is got unless the cache
 * holds a newer one). *gen is the header's token's generation; *cached 1 when it did not have to be got now. */
#define AZKM_REMOTE_AUTH_HEADER_MAX 8192
typedef azkm_rc (*azkm_remote_authorize_fn)(void *arg, unsigned stale, char *header, size_t len, unsigned *gen,
                                            int *cached);
/* Requests of azkm_remote_call carry fn's header (NULL: none); fn is called with arg. */
void azkm_remote_client_set_auth(azkm_remote_client *c, azkm_remote_authorize_fn fn, void *arg);
void azkm_remote_client_free(azkm_remote_client *c);

/* One idempotent Key Vault request: method "GET" or "POST" (sign, decrypt), path "/keys/..." (the api-version is
 * appended), body a JSON object or NULL. The URLs in order (one that failed within the back-off is tried last); a
 * request that fails on a connection already open is retried once on a fresh one (reads, sign, decrypt, backup:
 * none changes the server). On a 2xx answer *resp is its JSON (json_decref); otherwise the error names the vault,
 * the URL and what failed (the HTTP status with Key Vault's error code and message). */
azkm_rc azkm_remote_call(azkm_remote_client *c, const char *method, const char *path, json_t *body, json_t **resp);
/* One request of azkmd's token issuer, without credentials: path "/<tenant>/...", Host login.<domain>, form a
 * form-encoded body (POST) or NULL, no api-version. The URLs in order as azkm_remote_call; on a 2xx answer *resp
 * its JSON; otherwise an error naming where (e.g. "azkmd's token endpoint"), the URL, and Entra's error and
 * description. */
azkm_rc azkm_remote_issuer_call(azkm_remote_client *c, const char *method, const char *path, const char *form,
                                const char *where, json_t **resp);
/* The same for a request that changes the server (create, rotate, import, restore, PATCH, PUT, delete, recover,
 * purge): method also "PUT", "PATCH" or "DELETE"; sent on a fresh connection and never twice: no retry, and no
 * other URL once any of it went out (the error then says it may have been carried out). A 204 answer is {}. */
azkm_rc azkm_remote_call_once(azkm_remote_client *c, const char *method, const char *path, json_t *body,
                              json_t **resp);

/* ---- tier_remote.c: a remote tier's client, and *entry the local vault's name (for messages) */
azkm_remote_client *azkm_remote_tier_client(azkm_tier *t, const char **entry);

/* ---- remote_pages.c */
/* The "kid" of every item of a paged list, from path through each page's nextLink, appended to kids (a JSON array
 * of strings); what follows the kid's last '/' is the item's key name or version. entry names the vault in errors.
 */
azkm_rc azkm_remote_list_kids(azkm_remote_client *c, const char *entry, const char *path, json_t *kids);
/* The last segment of a kid (a key name or a version). */
const char *azkm_remote_kid_tail(const char *kid);

/* ---- remote_json.c */
/* Fills info from a KeyBundle (GET /keys/...): name and version from its kid, type, size, curve and public key
 * from its JWK, attributes, key_ops and tags. entry names the local vault (info->vault). */
azkm_rc azkm_remote_bundle_info(OSSL_LIB_CTX *libctx, const char *propq, const char *entry, const json_t *bundle,
                                azkm_key_info *info);
/* Clears every string member of obj (one level: secrets travel as top-level members) and frees it. */
void azkm_remote_json_clear_free(json_t *obj);
/* A base64url member of a JSON object, decoded (azkm_free). */
azkm_rc azkm_remote_b64_member(const char *entry, const json_t *obj, const char *member, unsigned char **out,
                               size_t *len);

#endif
