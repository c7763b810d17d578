/* A key of a remote vault loaded without a version follows the key's rotation in azkmd: before an operation, at
 * most every refresh_s seconds of the entry (remote.json), it asks which version is current (through the remote
 * tier's cache of key versions, shared by the process) and switches to it, and takes its attributes as azkmd has
 * them now. A local key keeps the version it was loaded at until it is loaded again (a server's reload). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "keys/keys.h"
#include "tiers/remote/remote.h"

struct azkm_key_follow {
    pthread_rwlock_t lock;  /* operations hold it to read; a switch to another version writes */
    pthread_mutex_t asking; /* one thread asks azkmd at a time: the others go on with the version they have */
    int64_t next_ms;        /* monotonic: when to ask again */
};

azkm_rc azkm_key_follow_start(azkm_key *k)
{
    struct azkm_key_follow *f = OPENSSL_zalloc(sizeof(*f));
    pthread_rwlockattr_t attr;

    if (f == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    /* Operations hold the lock for a whole request to azkmd and overlap in busy threads: a waiting switch goes
     * first, or it might never get its turn. */
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&f->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&f->asking, NULL);
    f->next_ms = azkm_remote_now_ms() + azkm_remote_refresh_s(k->vault->remote) * 1000;
    k->follow = f;
    return AZKM_OK;
}

void azkm_key_follow_free(azkm_key *k)
{
    if (k->follow == NULL)
        return;
    pthread_rwlock_destroy(&k->follow->lock);
    pthread_mutex_destroy(&k->follow->asking);
    OPENSSL_free(k->follow);
    k->follow = NULL;
}

/* What fresh needs of its own to take k's place: a tier key for the version, its public key and URI. A version
 * of another type or size is not taken: the caller sized its buffers, and OpenSSL its key, by the loaded one. */
static azkm_rc prepare(azkm_key *k, const azkm_key_info *fresh, azkm_tier_key **tk, EVP_PKEY **pub, char *uri)
{
    azkm_tier *t = k->vault->remote;
    azkm_tier_ref ref = {k->vault->name, fresh->name, fresh->version,       fresh->kty,
                         NULL,           0,           fresh->attrs.key_ops, fresh->size};
    azkm_uri u;
    azkm_rc rc;

    if (fresh->kty != k->info.kty || fresh->size != k->info.size || fresh->curve != k->info.curve ||
        fresh->pss.enabled != k->info.pss.enabled)
        return azkm_fail(AZKM_E_UNSUPPORTED,
                         "key %s: its current version %s is of another type or size: loading "
                         "it again (a server's reload) takes it",
                         k->uri, fresh->version);
    memset(&u, 0, sizeof(u));
    snprintf(u.vault, sizeof(u.vault), "%s", k->vault->name);
    snprintf(u.name, sizeof(u.name), "%s", fresh->name);
    snprintf(u.version, sizeof(u.version), "%s", fresh->version);
    if ((rc = azkm_uri_format(&u, uri, AZKM_URI_MAX)) != AZKM_OK ||
        (rc = azkm_pkey_from_public_der(k->ks->libctx, k->ks->propq, fresh->public_der, fresh->public_der_len,
                                        pub)) != AZKM_OK)
        return rc;
    if ((rc = t->ops->load(t, &ref, NULL, 0, tk)) != AZKM_OK) {
        EVP_PKEY_free(*pub);
        *pub = NULL;
    }
    return rc;
}

/* Takes fresh's attributes, and its version when it is another one. */
static azkm_rc take(azkm_key *k, const azkm_key_info *fresh)
{
    struct azkm_key_follow *f = k->follow;
    azkm_tier_key *tk = NULL;
    EVP_PKEY *pub = NULL;
    char uri[AZKM_URI_MAX];
    int other = strcmp(fresh->version, k->info.version) != 0;
    azkm_rc rc = other ? prepare(k, fresh, &tk, &pub, uri) : AZKM_OK;

    if (rc != AZKM_OK)
        return rc;
    pthread_rwlock_wrlock(&f->lock);
    if (other) {
        azkm_tier_key *old_tk = k->tk;
        EVP_PKEY *old_pub = k->pub;

        k->info = *fresh;
        k->tk = tk, k->pub = pub;
        memcpy(k->uri, uri, sizeof(k->uri));
        tk = old_tk, pub = old_pub;
    } else {
        k->info.attrs = fresh->attrs;
    }
    k->deleted = 0;
    pthread_rwlock_unlock(&f->lock);
    if (tk != NULL)
        k->tier->key_free(tk);
    EVP_PKEY_free(pub);
    return AZKM_OK;
}

/* The key is gone from azkmd: refused from now on, as azkm_key_refresh does; a key of that name made again is
 * followed at the next check. */
static azkm_rc gone(azkm_key *k)
{
    pthread_rwlock_wrlock(&k->follow->lock);
    k->info.attrs.enabled = 0;
    k->deleted = 1;
    pthread_rwlock_unlock(&k->follow->lock);
    return AZKM_OK;
}

azkm_rc azkm_key_follow_check(azkm_key *k, int now)
{
    struct azkm_key_follow *f = k->follow;
    azkm_tier *t = k->vault->remote;
    int64_t ms = azkm_remote_now_ms();
    azkm_key_info fresh;
    azkm_rc rc = AZKM_OK;

    if (!now && ms < __atomic_load_n(&f->next_ms, __ATOMIC_ACQUIRE))
        return AZKM_OK;
    if (now)
        pthread_mutex_lock(&f->asking);
    else if (pthread_mutex_trylock(&f->asking) != 0)
        return AZKM_OK;
    if (now || ms >= f->next_ms) {
        /* A failure to ask is the operation's to report (it asks azkmd too), not a reason to stop using the key. */
        rc = now ? azkm_remote_key_get(t, k->info.name, NULL, &fresh)
                 : azkm_remote_key_cached(t, k->info.name, NULL, &fresh);
        if (rc == AZKM_OK)
            rc = take(k, &fresh);
        else if (rc == AZKM_E_NOT_FOUND)
            rc = gone(k);
        __atomic_store_n(&f->next_ms, azkm_remote_now_ms() + azkm_remote_refresh_s(t) * 1000, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&f->asking);
    return rc;
}

void azkm_key_follow_lock(const azkm_key *k)
{
    pthread_rwlock_rdlock(&k->follow->lock);
}

void azkm_key_follow_unlock(const azkm_key *k)
{
    pthread_rwlock_unlock(&k->follow->lock);
}
