/* Bearer tokens for a remote vault whose entry names a service principal: got from azkmd's token endpoint
 * (client_credentials with the secret read from its file, or a client assertion, remote_assertion.c), kept per
 * vault entry and process, renewed before they expire, and once more when azkmd refuses one. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/secmem.h"
#include "tiers/remote/remote_token.h"

#define SECRET_MAX 1024
#define FORM_MAX (4 * SECRET_MAX + 16384)
#define REFRESH_MAX_MS 300000 /* renewed when less than 5 minutes, */
#define REFRESH_SHARE 10      /* or less than a tenth of its lifetime, is left: the smaller */

struct azkm_remote_token {
    char *entry;
    azkm_remote_conf conf;
    azkm_remote_client *client;
    OSSL_LIB_CTX *libctx;
    const char *propq;
    char *token;                    /* "Authorization: Bearer ..." (NUL-terminated), NULL before the first */
    int64_t refresh_ms, expires_ms; /* monotonic */
    unsigned gen;                   /* bumped with each new token */
    pid_t fetching;                 /* a thread of this process is getting a token; 0: none */
    char aud[AZKM_REMOTE_AUDIENCE_MAX];
};

/* One lock for every cache: a fork while a thread holds it must leave it usable in the child, as the pool's. */
static pthread_mutex_t tok_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tok_cv = PTHREAD_COND_INITIALIZER;
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;

static void tok_lock_fork(void)
{
    pthread_mutex_lock(&tok_mu);
}

static void tok_unlock_fork(void)
{
    pthread_mutex_unlock(&tok_mu);
}

static void tok_child_fork(void)
{
    pthread_cond_init(&tok_cv, NULL); /* no thread of the child waits on it */
    pthread_mutex_unlock(&tok_mu);
}

static void tok_init(void)
{
    pthread_atfork(tok_lock_fork, tok_unlock_fork, tok_child_fork);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

azkm_rc azkm_remote_token_new(const char *entry, const azkm_remote_conf *conf, azkm_remote_client *client,
                              OSSL_LIB_CTX *libctx, const char *propq, azkm_remote_token **out)
{
    azkm_remote_token *t = OPENSSL_zalloc(sizeof(*t));

    pthread_once(&tok_once, tok_init);
    if (t == NULL || (t->entry = OPENSSL_strdup(entry)) == NULL) {
        OPENSSL_free(t);
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    }
    t->conf = *conf;
    t->client = client;
    t->libctx = libctx;
    t->propq = propq;
    *out = t;
    return AZKM_OK;
}

static void drop_token(azkm_remote_token *t)
{
    if (t->token != NULL)
        OPENSSL_clear_free(t->token, strlen(t->token));
    t->token = NULL;
}

void azkm_remote_token_free(azkm_remote_token *t)
{
    if (t == NULL)
        return;
    drop_token(t);
    OPENSSL_free(t->entry);
    OPENSSL_free(t);
}

/* ---- the form -------------------------------------------------------------------------------------------- */

/* Appends name=value, value percent-encoded (RFC 3986 unreserved characters as they are), to form. Not
 * curl_easy_escape: it would copy the client secret into a buffer of libcurl's that curl_free releases uncleared;
 * here it goes only into form, which the caller clears. */
static int form_add(char *form, size_t size, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(form);
    int w = snprintf(form + n, size - n, "%s%s=", n > 0 ? "&" : "", name);

    if (w < 0 || (size_t)w >= size - n)
        return 0;
    n += (size_t)w;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                    *p == '.' || *p == '_' || *p == '~';

        if (n + 4 > size)
            return 0;
        if (plain) {
            form[n++] = (char)*p;
        } else {
            form[n++] = '%';
            form[n++] = hex[*p >> 4];
            form[n++] = hex[*p & 15];
        }
    }
    form[n] = '\0';
    return 1;
}

/* The secret from its file (0600: refused otherwise), without a final newline, into secret (SECRET_MAX). */
static azkm_rc read_secret(const azkm_remote_token *t, char *secret)
{
    unsigned char *data = NULL;
    size_t len = 0;
    azkm_rc rc = azkm_check_private(t->conf.secret_file, 1, "client secret file");

    if (rc == AZKM_OK)
        rc = azkm_read_secret_file(t->conf.secret_file, &data, &len, SECRET_MAX - 1);
    if (rc != AZKM_OK)
        return azkm_fail(rc, "remote vault %s: %s", t->entry, azkm_last_error());
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    memcpy(secret, data, len);
    secret[len] = '\0';
    azkm_secret_free(data, len);
    if (len == 0 || strlen(secret) != len)
        return azkm_fail(AZKM_E_INVALID, "remote vault %s: client secret file %s is empty or holds a NUL byte",
                         t->entry, t->conf.secret_file);
    return AZKM_OK;
}

/* client_credentials for client_id, with its secret or a client assertion. */
static azkm_rc make_form(azkm_remote_token *t, char *form, size_t size)
{
    char scope[AZKM_REMOTE_DOMAIN_MAX + 32], secret[SECRET_MAX], *assertion = NULL;
    azkm_rc rc;
    int ok;

    form[0] = '\0';
    snprintf(scope, sizeof(scope), "https://%s/.default", t->conf.domain);
    ok = form_add(form, size, "grant_type", "client_credentials") &&
         form_add(form, size, "client_id", t->conf.client_id) && form_add(form, size, "scope", scope);
    if (t->conf.auth == AZKM_REMOTE_AUTH_SECRET) {
        rc = read_secret(t, secret);
        ok = ok && rc == AZKM_OK && form_add(form, size, "client_secret", secret);
        OPENSSL_cleanse(secret, sizeof(secret));
        if (rc != AZKM_OK)
            return rc;
    } else {
        rc = azkm_remote_assertion(t->entry, &t->conf, t->client, t->libctx, t->propq, t->aud, &assertion);
        if (rc != AZKM_OK)
            return rc;
        ok = ok &&
             form_add(form, size, "client_assertion_type",
                      "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") &&
             form_add(form, size, "client_assertion", assertion);
        OPENSSL_free(assertion);
    }
    return ok ? AZKM_OK : azkm_fail(AZKM_E_INVALID, "remote vault %s: the token request is too long", t->entry);
}

/* ---- getting one ----------------------------------------------------------------------------------------- */

/* A token answer: access_token and expires_in, checked. */
static azkm_rc take_answer(azkm_remote_token *t, const json_t *resp, char **header, int64_t *lifetime_ms)
{
    const char *tok = json_string_value(json_object_get(resp, "access_token"));
    const json_t *exp = json_object_get(resp, "expires_in");
    size_t len = tok != NULL ? strlen(tok) : 0;

    if (len == 0 || len > AZKM_REMOTE_AUTH_HEADER_MAX - 32 ||
        strspn(tok, "abcdefghijklmnopqrstuvwxyz"
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != len ||
        !json_is_integer(exp) || json_integer_value(exp) < 1 || json_integer_value(exp) > 86400 * 7)
        return azkm_fail(AZKM_E_CORRUPT,
                         "remote vault %s: azkmd's token endpoint answered without a usable access_token and "
                         "expires_in",
                         t->entry);
    if ((*header = OPENSSL_malloc(len + 32)) == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    snprintf(*header, len + 32, "Authorization: Bearer %s", tok);
    *lifetime_ms = (int64_t)json_integer_value(exp) * 1000;
    return AZKM_OK;
}

/* POST /<tenant>/oauth2/v2.0/token: a new header, valid for *lifetime_ms from now. */
static azkm_rc fetch(azkm_remote_token *t, char **header, int64_t *lifetime_ms)
{
    char path[AZKM_REMOTE_TENANT_MAX + 32], *form = OPENSSL_zalloc(FORM_MAX);
    json_t *resp = NULL;
    azkm_rc rc = form != NULL ? make_form(t, form, FORM_MAX) : azkm_fail(AZKM_E_NOMEM, "out of memory");
    const char *tok;

    snprintf(path, sizeof(path), "/%s/oauth2/v2.0/token", t->conf.tenant);
    if (rc == AZKM_OK)
        rc = azkm_remote_issuer_call(t->client, "POST", path, form, "azkmd's token endpoint", &resp);
    if (rc == AZKM_OK)
        rc = take_answer(t, resp, header, lifetime_ms);
    if (form != NULL)
        OPENSSL_clear_free(form, FORM_MAX);
    if ((tok = json_string_value(json_object_get(resp, "access_token"))) != NULL)
        OPENSSL_cleanse((char *)tok, strlen(tok));
    json_decref(resp);
    return rc;
}

/* ---- the cache ------------------------------------------------------------------------------------------- */

static int usable(const azkm_remote_token *t, unsigned stale, int64_t now)
{
    return t->token != NULL && now < t->expires_ms && (stale == 0 || t->gen != stale);
}

static azkm_rc copy_out(const azkm_remote_token *t, char *header, size_t len, unsigned *gen)
{
    if (strlen(t->token) >= len)
        return azkm_fail(AZKM_E_INVALID, "remote vault %s: the bearer token is too long", t->entry);
    memcpy(header, t->token, strlen(t->token) + 1);
    *gen = t->gen;
    return AZKM_OK;
}

/* Under tok_mu: a new token in place of the old (cleared), renewed when REFRESH_MAX_MS or a tenth of its lifetime
 * is left. */
static void install(azkm_remote_token *t, char *header, int64_t lifetime_ms, int64_t got)
{
    int64_t margin = lifetime_ms / REFRESH_SHARE < REFRESH_MAX_MS ? lifetime_ms / REFRESH_SHARE : REFRESH_MAX_MS;

    drop_token(t);
    t->token = header;
    t->expires_ms = got + lifetime_ms;
    t->refresh_ms = t->expires_ms - margin;
    t->gen++;
}

/* Under tok_mu, this thread marked as the one getting a token: gets it with the lock released. When it cannot be
 * got, a token still valid (a renewal ahead of time failed) is used; otherwise the error. */
static azkm_rc renew(azkm_remote_token *t, unsigned stale, char *header, size_t len, unsigned *gen)
{
    int64_t got = now_ms(), lifetime_ms = 0;
    char *fresh = NULL;
    azkm_rc rc;

    pthread_mutex_unlock(&tok_mu);
    rc = fetch(t, &fresh, &lifetime_ms);
    pthread_mutex_lock(&tok_mu);
    t->fetching = 0;
    pthread_cond_broadcast(&tok_cv);
    if (rc == AZKM_OK)
        install(t, fresh, lifetime_ms, got);
    else if (!usable(t, stale, now_ms()))
        return rc;
    return copy_out(t, header, len, gen);
}

azkm_rc azkm_remote_token_authorize(void *arg, unsigned stale, char *header, size_t len, unsigned *gen, int *cached)
{
    azkm_remote_token *t = arg;
    azkm_rc rc;

    pthread_mutex_lock(&tok_mu);
    for (;;) {
        int64_t now = now_ms();
        int mine = t->fetching == getpid(); /* a thread of the parent's that was getting one is not ours */

        *cached = usable(t, stale, now);
        if (*cached && (now < t->refresh_ms || mine)) { /* another thread renews it meanwhile */
            rc = copy_out(t, header, len, gen);
            break;
        }
        if (!mine) {
            t->fetching = getpid();
            rc = renew(t, stale, header, len, gen);
            *cached = 0;
            break;
        }
        pthread_cond_wait(&tok_cv, &tok_mu);
    }
    pthread_mutex_unlock(&tok_mu);
    return rc;
}
