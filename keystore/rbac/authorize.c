/* The authorization decision for one request (azkm_rbac_authorize): deny by default, allow when an assignment of
 * one of the caller's principals has a role granting the data action at a scope that covers the resource; the
 * authenticated assignments cached per vault handle while the catalog does not change. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <pthread.h>

#include <openssl/crypto.h>

#include "rbac/rbac.h"

/* Whether an action is about keys: then a vault-level request (no key name) is on the keys as a whole. */
static int keys_action(const char *action)
{
    return strncasecmp(action, "Microsoft.KeyVault/vaults/keys/", 31) == 0 ||
           strncasecmp(action, "Microsoft.KeyVault/managedHsm/keys/", 35) == 0;
}

/* Whether an assignment at scope covers the resource: the key key_name, or (NULL) the keys or the vault. */
static int scope_covers(const char *scope, const char *key_name, int keys)
{
    if (strcmp(scope, "/") == 0)
        return 1;
    if (strcmp(scope, "/keys") == 0)
        return key_name != NULL || keys;
    return key_name != NULL && strncmp(scope, "/keys/", 6) == 0 && strcasecmp(scope + 6, key_name) == 0;
}

static int principal_listed(const char *principal, const char *const *principals, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(principals[i], principal) == 0)
            return 1;
    return 0;
}

static azkm_rc arguments_check(const char *const *principals, size_t n, const char *action, const char *key_name)
{
    if (action == NULL || *action == '\0' || strlen(action) > 256)
        return azkm_fail(AZKM_E_INVALID, "authorization: a data action (e.g. "
                                         "Microsoft.KeyVault/vaults/keys/sign/action) is needed");
    if (key_name != NULL && !azkm_key_name_valid(key_name))
        return azkm_fail(AZKM_E_INVALID, "authorization: '%.200s' is not a key name", key_name);
    if (n > 0 && principals == NULL)
        return azkm_fail(AZKM_E_INVALID, "authorization: no principal list");
    for (size_t i = 0; i < n; i++)
        if (!azkm_principal_valid(principals[i]))
            return azkm_fail(AZKM_E_INVALID, "authorization: '%.64s' is not a principal",
                             principals[i] ? principals[i] : "(null)");
    return AZKM_OK;
}

/* "uid:1000, gid:1000" (cut short with "..." when it does not fit), for the refusal. */
static void principals_text(const char *const *principals, size_t n, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", principals[i]);

        used += w > 0 ? (size_t)w : 0;
    }
    if (used >= len && len > 4)
        memcpy(buf + len - 4, "...", 4);
    if (n == 0)
        snprintf(buf, len, "no principal");
}

static azkm_rc refuse(azkm_vault *v, const char *const *principals, size_t n, const char *action,
                      const char *key_name, int keys)
{
    char who[256];

    principals_text(principals, n, who, sizeof(who));
    return azkm_fail(AZKM_E_FORBIDDEN,
                     "vault %s: caller is not authorized to perform action on resource: %s lacks data action %s on "
                     "%s%s (no role assignment grants it; ForbiddenByRbac)",
                     v->name, who, action,
                     key_name ? "/keys/"
                     : keys   ? "/keys"
                              : "/",
                     key_name ? key_name : "");
}

/* One request as the scan over the assignments sees it. */
typedef struct {
    const char *const *principals;
    size_t n_principals;
    const char *action;
    const char *key_name;
    int keys; /* a keys action (keys_action) */
} request;

static int grants(const azkm_role_assignment *as, size_t n, const request *r)
{
    const azkm_role_definition *def;

    for (size_t i = 0; i < n; i++)
        if (principal_listed(as[i].principal, r->principals, r->n_principals) &&
            scope_covers(as[i].scope, r->key_name, r->keys) &&
            azkm_role_definition_find(as[i].role_id, &def) == AZKM_OK && azkm_role_grants(def, r->action))
            return 1;
    return 0;
}

/* ---- the cache of authenticated assignments, per vault handle ------------------------------------------------
 * Reading and authenticating every assignment costs an HMAC per row on every decision; the cache keeps the last
 * authenticated set with the catalog's data version when it was read (azkm_catalog_data_version moves with every
 * commit, by this connection or any other, a hand edit included), and is used only while that has not moved. */
typedef struct {
    pthread_mutex_t lock;
    int valid;
    int64_t data_version;
    azkm_role_assignment *rows;
    size_t n;
} assignment_cache;

static void cache_free(void *p)
{
    assignment_cache *c = p;

    pthread_mutex_destroy(&c->lock);
    OPENSSL_free(c->rows);
    OPENSSL_free(c);
}

/* The vault handle's cache, made on first use (NULL when out of memory: decisions then read every time). */
static assignment_cache *cache_of(azkm_vault *v)
{
    assignment_cache *c = __atomic_load_n((assignment_cache **)&v->upper_cache.data, __ATOMIC_ACQUIRE);
    void *expected = NULL;

    if (c != NULL || (c = OPENSSL_zalloc(sizeof(*c))) == NULL)
        return c;
    pthread_mutex_init(&c->lock, NULL);
    __atomic_store_n(&v->upper_cache.free_fn, cache_free, __ATOMIC_RELEASE);
    if (!__atomic_compare_exchange_n(&v->upper_cache.data, &expected, c, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        cache_free(c); /* another thread installed one first */
        c = expected;
    }
    return c;
}

/* Whether the cache holds the set of data version dv, and then the decision in *allowed. */
static int cache_decide(assignment_cache *c, int64_t dv, const request *r, int *allowed)
{
    int hit;

    if (c == NULL || dv < 0)
        return 0;
    pthread_mutex_lock(&c->lock);
    hit = c->valid && c->data_version == dv;
    if (hit)
        *allowed = grants(c->rows, c->n, r);
    pthread_mutex_unlock(&c->lock);
    return hit;
}

/* Keeps as (taking it over) as the set of data version dv; with as NULL and n 0 after a failure, forgets. */
static void cache_store(assignment_cache *c, int64_t dv, azkm_role_assignment *as, size_t n, int ok)
{
    if (c == NULL || dv < 0) {
        OPENSSL_free(as);
        return;
    }
    pthread_mutex_lock(&c->lock);
    OPENSSL_free(c->rows);
    c->rows = ok ? as : NULL;
    c->n = ok ? n : 0;
    c->valid = ok;
    c->data_version = dv;
    pthread_mutex_unlock(&c->lock);
    if (!ok)
        OPENSSL_free(as);
}

/* The decision, from the cache when the catalog has not changed since it was filled, else from a fresh read. */
static azkm_rc decide(azkm_vault *v, const request *r, int *allowed)
{
    assignment_cache *c = cache_of(v);
    int64_t dv = azkm_catalog_data_version(v->cat); /* before the read: a commit during it only costs a re-read */
    azkm_role_assignment *as = NULL;
    size_t n = 0;
    azkm_rc rc;

    if (cache_decide(c, dv, r, allowed))
        return AZKM_OK;
    rc = azkm_rbac_assignments_read(v, &as, &n);
    if (rc == AZKM_OK)
        *allowed = grants(as, n, r);
    cache_store(c, dv, as, n, rc == AZKM_OK);
    return rc;
}

azkm_rc azkm_rbac_authorize(azkm_vault *v, const char *const *principals, size_t n_principals,
                            const char *data_action, const char *key_name)
{
    request r = {principals, n_principals, data_action, key_name, 0};
    int allowed = 0;
    azkm_rc rc = arguments_check(principals, n_principals, data_action, key_name);

    if (v->remote != NULL)
        return azkm_vault_local(v, "authorization");
    if (rc != AZKM_OK)
        return rc;
    r.keys = keys_action(data_action);
    if ((rc = decide(v, &r, &allowed)) != AZKM_OK)
        return rc;
    if (allowed) {
        azkm_clear_error(); /* a role id azkm no longer knows left a message on the way */
        return AZKM_OK;
    }
    return refuse(v, principals, n_principals, data_action, key_name, r.keys);
}
