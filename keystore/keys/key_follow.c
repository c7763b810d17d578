/* A key of a remote vault loaded without a version follows the key's rotation in azkmd: before an operation, at
 * most every refresh_s seconds of the entry (remote.json), it asks which version is current (through the remote
 * tier's cache of key versions, shared by the process) and switches to it, and takes its attributes as azkmd has
 * them now. A local key keeps the version it was loaded at until it is loaded again (a server's reload).
 *
 * No lock is held across a request to azkmd: an operation works on a copy of the key taken under a short lock, so
 * that a switch never waits for requests in flight, and a fork while another thread is in one leaves the child
 * nothing locked. The tier key and public key of a version switched away from stay until the key is freed (an
 * operation may still be using its copy): one pair per rotation seen. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "keys/keys.h"
#include "tiers/remote/remote.h"

typedef struct retired {
    struct retired *next;
    azkm_tier_key *tk;
    EVP_PKEY *pub;
} retired;

struct azkm_key_follow {
    pthread_mutex_t mu;           /* held to copy the key or to switch it, never across a request */
    pthread_mutex_t switching;    /* one switch at a time (a check and azkm_key_refresh may answer together) */
    int64_t next_ms;              /* monotonic: when the next check is due; the thread that claims it moves it on */
    retired *old;                 /* versions switched away from */
    char name[AZKM_NAME_MAX + 1]; /* the key's, as loaded: what is asked for */
};

azkm_rc azkm_key_follow_start(azkm_key *k)
{
    struct azkm_key_follow *f = OPENSSL_zalloc(sizeof(*f));

    if (f == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    pthread_mutex_init(&f->mu, NULL);
    pthread_mutex_init(&f->switching, NULL);
    memcpy(f->name, k->info.name, sizeof(f->name));
    f->next_ms = azkm_remote_now_ms() + azkm_remote_refresh_s(k->vault->remote) * 1000;
    k->follow = f;
    return AZKM_OK;
}

void azkm_key_follow_free(azkm_key *k)
{
    struct azkm_key_follow *f = k->follow;

    if (f == NULL)
        return;
    while (f->old != NULL) {
        retired *r = f->old;

        f->old = r->next;
        k->tier->key_free(r->tk);
        EVP_PKEY_free(r->pub);
        OPENSSL_free(r);
    }
    pthread_mutex_destroy(&f->mu);
    pthread_mutex_destroy(&f->switching);
    OPENSSL_free(f);
    k->follow = NULL;
}

void azkm_key_follow_copy(const azkm_key *k, azkm_key *copy)
{
    pthread_mutex_lock(&k->follow->mu);
    *copy = *k;
    pthread_mutex_unlock(&k->follow->mu);
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
                         "key %s: its current version %s is of another type or size: loading the key again (a "
                         "server's reload) takes it",
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

/* Takes fresh's attributes, and its version when it is another one; with f->switching held (the version is
 * written only under it, so read here without mu). */
static azkm_rc take_locked(azkm_key *k, const azkm_key_info *fresh)
{
    struct azkm_key_follow *f = k->follow;
    retired *r = NULL;
    char uri[AZKM_URI_MAX];
    int other = strcmp(fresh->version, k->info.version) != 0;
    azkm_rc rc = AZKM_OK;

    if (other && (r = OPENSSL_zalloc(sizeof(*r))) == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    if (other && (rc = prepare(k, fresh, &r->tk, &r->pub, uri)) != AZKM_OK) {
        OPENSSL_free(r);
        return rc;
    }
    pthread_mutex_lock(&f->mu);
    if (other) {
        azkm_tier_key *tk = k->tk;
        EVP_PKEY *pub = k->pub;

        k->info = *fresh;
        k->tk = r->tk, k->pub = r->pub;
        memcpy(k->uri, uri, sizeof(k->uri));
        r->tk = tk, r->pub = pub, r->next = f->old;
        f->old = r;
    } else {
        k->info.attrs = fresh->attrs;
    }
    k->deleted = 0;
    pthread_mutex_unlock(&f->mu);
    return AZKM_OK;
}

/* The key is gone from azkmd: refused from now on, as azkm_key_refresh does; a key of that name made again is
 * followed at the next check. */
static azkm_rc gone(azkm_key *k)
{
    pthread_mutex_lock(&k->follow->mu);
    k->info.attrs.enabled = 0;
    k->deleted = 1;
    pthread_mutex_unlock(&k->follow->mu);
    return AZKM_OK;
}

/* Whether this thread makes the check due now: it moves the next one on, so that the others go on with the version
 * they have meanwhile. */
static int claim(struct azkm_key_follow *f, long refresh_s)
{
    int64_t now = azkm_remote_now_ms(), due = __atomic_load_n(&f->next_ms, __ATOMIC_ACQUIRE);

    return now >= due && __atomic_compare_exchange_n(&f->next_ms, &due, now + refresh_s * 1000, 0, __ATOMIC_ACQ_REL,
                                                     __ATOMIC_ACQUIRE);
}

azkm_rc azkm_key_follow_check(azkm_key *k, int now)
{
    azkm_tier *t = k->vault->remote;
    long refresh_s = azkm_remote_refresh_s(t);
    azkm_key_info fresh;
    azkm_rc rc;

    if (!now && !claim(k->follow, refresh_s))
        return AZKM_OK;
    /* A failure to ask is the operation's to report (it asks azkmd too), not a reason to stop using the key. */
    rc = now ? azkm_remote_key_get(t, k->follow->name, NULL, &fresh)
             : azkm_remote_key_cached(t, k->follow->name, NULL, &fresh);
    if (rc == AZKM_OK) {
        pthread_mutex_lock(&k->follow->switching);
        rc = take_locked(k, &fresh);
        pthread_mutex_unlock(&k->follow->switching);
    } else if (rc == AZKM_E_NOT_FOUND)
        rc = gone(k);
    __atomic_store_n(&k->follow->next_ms, azkm_remote_now_ms() + refresh_s * 1000, __ATOMIC_RELEASE);
    return rc;
}
