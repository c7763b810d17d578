/* PKCS#11 modules and tokens for the HSM tier. A module is initialised once per process (again in a forked child,
 * lazily, and again after a token failure, p11_run.c); a token is found by label, logged in once and lends sessions
 * from a pool. C_Initialize and C_Login run under the token store's cross-process lock (p11_store.c). A PIN the
 * token rejected is never tried again, and no login is attempted when the token reports a final try or a lock. */
#include <dlfcn.h>
#include <errno.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <p11-kit/uri.h>

#include "tiers/pkcs11/p11.h"
#include "tiers/pkcs11/p11_store.h"
#include "base/secmem.h"

#define MAX_TOKENS 64
#define POOL_MAX 64
#define PIN_MAX 256
#define TOKEN_INFO_ATTEMPTS 5
/* How long a recovery waits for the other threads of the process to leave the module before it finalises it. */
#define RECOVER_WAIT_MS 2000

typedef struct {
    char *path;
    void *dl;
    CK_FUNCTION_LIST *fn;
    char *store_dir;        /* what the cross-process lock locks (p11_store_dir), NULL for none */
    unsigned long fork_gen; /* value of fork_generation when initialised; differs in a child */
    unsigned long
        epoch; /* bumped by every initialisation and recovery: sessions of an older epoch are not reused */
    unsigned long init_epoch; /* epoch of the last C_Initialize: handles from before it mean nothing now */
    int initialised;
    int owned; /* our C_Initialize made it (not another library of the process) */
} p11_module;

struct azkm_p11_token {
    p11_module *mod;
    char *spec; /* label or pkcs11: URI, as configured */
    char *pin_source;
    azkm_passphrase_cb pin_cb;
    void *pin_arg;
    CK_SLOT_ID slot;
    char label[33];
    int found;
    char *pin; /* kept for re-login after fork; zeroed at exit */
    int pin_rejected;
    int logged_in;
    unsigned long fork_gen;
    unsigned long generation;
    CK_SESSION_HANDLE pool[POOL_MAX];
    CK_SESSION_HANDLE owner; /* never pooled: session copies of keys live as long as it does */
    int has_owner;
    size_t n_pool;
    CK_MECHANISM_TYPE *mechs;
    unsigned long n_mechs;
};

/* Two locks, taken in this order. ops: held for reading by every thread that has a session lent (counted per
 * thread, so that a thread may borrow a second one), for writing by a recovery that finalises the module, so that
 * no call is inside the module when it goes away. lock: the registry and the tokens' state, never held across a
 * crypto operation. */
static pthread_rwlock_t ops;
static __thread unsigned ops_depth;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static p11_module modules[MAX_TOKENS];
static size_t n_modules;
static azkm_p11_token tokens[MAX_TOKENS];
static size_t n_tokens;
static volatile unsigned long fork_generation;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void ops_init(void)
{
    pthread_rwlockattr_t attr;

    /* Writer first: a recovery must not wait for ever behind a stream of signatures from other threads. */
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&ops, &attr);
    pthread_rwlockattr_destroy(&attr);
}

static void after_fork_in_child(void)
{
    /* Only a mark: the child re-initialises on first use, not in the fork handler. The locks may have been held by
     * threads that do not exist here. */
    fork_generation++;
    pthread_mutex_init(&lock, NULL);
    ops_init();
    ops_depth = 0;
}

/* When this library is unloaded or the process ends (destructors run after the atexit handlers, so after
 * OPENSSL_cleanup has freed the keys): PINs are wiped and what the registry allocated is freed, since no pointer
 * to it survives an unload. The token and module records stay as they are, modules loaded and initialised, in
 * case some code still holds a key: only the strings and lists go, and the registry forgets its entries. */
__attribute__((destructor)) static void release_registry(void)
{
    for (size_t i = 0; i < n_tokens; i++) {
        azkm_p11_token *t = &tokens[i];

        if (t->pin != NULL)
            azkm_secret_free(t->pin, strlen(t->pin) + 1);
        t->pin = NULL;
        free(t->spec);
        t->spec = NULL;
        free(t->pin_source);
        t->pin_source = NULL;
        free(t->mechs);
        t->mechs = NULL;
        t->n_mechs = 0;
    }
    n_tokens = 0;
    for (size_t i = 0; i < n_modules; i++) {
        free(modules[i].path);
        modules[i].path = NULL;
        free(modules[i].store_dir);
        modules[i].store_dir = NULL;
    }
    n_modules = 0;
}

static void setup_once(void)
{
    ops_init();
    pthread_atfork(NULL, NULL, after_fork_in_child);
}

static void ops_enter(void)
{
    if (ops_depth++ == 0)
        pthread_rwlock_rdlock(&ops);
}

static void ops_leave(void)
{
    if (--ops_depth == 0)
        pthread_rwlock_unlock(&ops);
}

const char *azkm_p11_rv_name(CK_RV rv)
{
    switch (rv) {
#define RV(x)                                                                                                      \
    case x:                                                                                                        \
        return #x;
        RV(CKR_OK)
        RV(CKR_GENERAL_ERROR)
        RV(CKR_FUNCTION_FAILED)
        RV(CKR_ARGUMENTS_BAD)
        RV(CKR_ATTRIBUTE_VALUE_INVALID)
        RV(CKR_ATTRIBUTE_TYPE_INVALID)
        RV(CKR_DATA_INVALID)
        RV(CKR_DATA_LEN_RANGE)
        RV(CKR_DEVICE_ERROR)
        RV(CKR_DEVICE_REMOVED)
        RV(CKR_ENCRYPTED_DATA_INVALID)
        RV(CKR_ENCRYPTED_DATA_LEN_RANGE)
        RV(CKR_KEY_HANDLE_INVALID)
        RV(CKR_KEY_TYPE_INCONSISTENT)
        RV(CKR_KEY_FUNCTION_NOT_PERMITTED)
        RV(CKR_MECHANISM_INVALID)
        RV(CKR_MECHANISM_PARAM_INVALID)
        RV(CKR_OBJECT_HANDLE_INVALID)
        RV(CKR_OPERATION_ACTIVE)
        RV(CKR_PIN_INCORRECT)
        RV(CKR_PIN_INVALID)
        RV(CKR_PIN_LEN_RANGE)
        RV(CKR_PIN_LOCKED)
        RV(CKR_SESSION_CLOSED)
        RV(CKR_SESSION_HANDLE_INVALID)
        RV(CKR_SIGNATURE_INVALID)
        RV(CKR_TEMPLATE_INCOMPLETE)
        RV(CKR_TEMPLATE_INCONSISTENT)
        RV(CKR_TOKEN_NOT_PRESENT)
        RV(CKR_TOKEN_NOT_RECOGNIZED)
        RV(CKR_USER_NOT_LOGGED_IN)
        RV(CKR_USER_PIN_NOT_INITIALIZED)
        RV(CKR_BUFFER_TOO_SMALL)
        RV(CKR_CRYPTOKI_NOT_INITIALIZED)
        RV(CKR_CRYPTOKI_ALREADY_INITIALIZED)
        RV(CKR_WRAPPED_KEY_INVALID)
        RV(CKR_UNWRAPPING_KEY_HANDLE_INVALID)
        RV(CKR_WRAPPING_KEY_HANDLE_INVALID)
        RV(CKR_KEY_UNEXTRACTABLE)
        RV(CKR_KEY_NOT_WRAPPABLE)
        RV(CKR_KEY_SIZE_RANGE)
        RV(CKR_SLOT_ID_INVALID)
        RV(CKR_HOST_MEMORY)
#undef RV
    default:
        return "CKR_(unknown)";
    }
}

azkm_rc azkm_p11_fail(azkm_p11_token *t, CK_RV rv, const char *action)
{
    azkm_rc rc = AZKM_E_CRYPTO;

    if (rv == CKR_MECHANISM_INVALID || rv == CKR_MECHANISM_PARAM_INVALID)
        rc = AZKM_E_UNSUPPORTED;
    else if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_USER_NOT_LOGGED_IN)
        rc = AZKM_E_AUTH;
    else if (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
             rv == CKR_WRAPPED_KEY_INVALID || rv == CKR_SIGNATURE_INVALID)
        rc = AZKM_E_INTEGRITY;
    else if (rv == CKR_DATA_LEN_RANGE || rv == CKR_DATA_INVALID || rv == CKR_KEY_SIZE_RANGE)
        rc = AZKM_E_INVALID;
    return azkm_fail(
        rc, "token %s: %s failed: %s%s", t->label[0] ? t->label : t->spec, action, azkm_p11_rv_name(rv),
        rc == AZKM_E_UNSUPPORTED ? " (the token does not support this mechanism or its parameters)" : "");
}

/* Loading a module runs its code: refuse one that someone other than root or us could have replaced. */
static azkm_rc module_file_check(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return azkm_fail(AZKM_E_NOT_FOUND, "PKCS#11 module %s cannot be loaded: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode) || (st.st_mode & 022) || (st.st_uid != 0 && st.st_uid != geteuid()))
        return azkm_fail(AZKM_E_PERMISSION,
                         "PKCS#11 module %s is not a regular file owned by root (or this user) and writable only "
                         "by its owner: refusing to load it",
                         path);
    return AZKM_OK;
}

static azkm_rc module_load(const char *path, p11_module **out)
{
    CK_RV (*get_list)(CK_FUNCTION_LIST **);
    p11_module *m;
    azkm_rc rc;

    for (size_t i = 0; i < n_modules; i++) {
        if (strcmp(modules[i].path, path) == 0) {
            *out = &modules[i];
            return AZKM_OK;
        }
    }
    if (n_modules == MAX_TOKENS)
        return azkm_fail(AZKM_E_UNSUPPORTED, "PKCS#11: at most %d modules per process", MAX_TOKENS);
    if ((rc = module_file_check(path)) != AZKM_OK)
        return rc;
    m = &modules[n_modules];
    memset(m, 0, sizeof(*m));
    m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (m->dl == NULL)
        return azkm_fail(AZKM_E_NOT_FOUND, "PKCS#11 module %s cannot be loaded: %s", path, dlerror());
    get_list = (CK_RV(*)(CK_FUNCTION_LIST **))dlsym(m->dl, "C_GetFunctionList");
    if (get_list == NULL || get_list(&m->fn) != CKR_OK || m->fn == NULL) {
        dlclose(m->dl);
        return azkm_fail(AZKM_E_INVALID, "%s is not a PKCS#11 module (no C_GetFunctionList)", path);
    }
    m->path = strdup(path);
    m->store_dir = p11_store_dir(path);
    n_modules++;
    *out = m;
    return AZKM_OK;
}

/* Initialises the module in this process (again after fork or a recovery). Called with the lock held, and the
 * token store's lock when there is one. */
static azkm_rc module_init(p11_module *m, CK_RV *rv_out)
{
    CK_C_INITIALIZE_ARGS args;
    CK_RV rv;
    char who[128], why[1024];

    if (m->initialised && m->fork_gen == fork_generation)
        return AZKM_OK;
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    /* Modules built on libcrypto share our thread's error queue, and SoftHSM 2.6 leaves ENGINE errors there on
     * every C_Initialize (it asks OpenSSL 3 for the "rdrand" engine). In a forked worker this runs in the middle of
     * a TLS handshake, where a stale error makes SSL_get_error() report a failure: nginx drops the connection.
     * Drop whatever the module raised. */
    ERR_set_mark();
    rv = m->fn->C_Initialize(&args);
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED && m->initialised) {
        /* A forked child inherits the parent's state: start over. */
        m->fn->C_Finalize(NULL);
        rv = m->fn->C_Initialize(&args);
    }
    ERR_pop_to_mark();
    *rv_out = rv;
    m->owned = rv == CKR_OK;
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        if (p11_store_missing(m->path, why, sizeof(why)))
            return azkm_fail(AZKM_E_NOT_FOUND, "PKCS#11 module %s (SoftHSM) cannot start: %s", m->path, why);
        p11_store_whoami(who, sizeof(who));
        if (p11_store_unusable(m->store_dir))
            return azkm_fail(AZKM_E_PERMISSION,
                             "PKCS#11 module %s: C_Initialize failed: %s: %s cannot read and write the token store "
                             "%s (every process that uses the token needs to: chown or chmod it, "
                             "docs/keyless-tls.md)",
                             m->path, azkm_p11_rv_name(rv), who, m->store_dir);
        return azkm_fail(rv == CKR_GENERAL_ERROR ? AZKM_E_PERMISSION : AZKM_E_IO,
                         "PKCS#11 module %s: C_Initialize failed: %s (%s: is the token store readable, e.g. "
                         "SOFTHSM2_CONF and its tokendir%s%s?)",
                         m->path, azkm_p11_rv_name(rv), who, m->store_dir ? " " : "",
                         m->store_dir ? m->store_dir : "");
    }
    m->initialised = 1;
    m->fork_gen = fork_generation;
    m->epoch++;
    m->init_epoch = m->epoch;
    return AZKM_OK;
}

static void trim_label(const unsigned char *in, char out[33])
{
    size_t n = 32;

    memcpy(out, in, 32);
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

/* C_GetTokenInfo, asked again a moment later when it fails with CKR_GENERAL_ERROR: SoftHSM's file store does that
 * now and then while another process writes the token's files (seen in hardening_concurrency). */
static CK_RV token_info(p11_module *m, CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
    CK_RV rv;

    for (int attempt = 0;; attempt++) {
        rv = m->fn->C_GetTokenInfo(slot, info);
        if (rv != CKR_GENERAL_ERROR || attempt + 1 == TOKEN_INFO_ATTEMPTS)
            return rv;
        usleep(2000);
    }
}

/* The token not in the slot list: what the error says, and what to do, depends on whether this process can read the
 * token store at all. */
static azkm_rc token_not_found(azkm_p11_token *t, unsigned long n)
{
    char store[1024], who[128];

    p11_store_whoami(who, sizeof(who));
    if (p11_store_unreadable(t->mod->store_dir, store, sizeof(store)) > 0)
        return azkm_fail(AZKM_E_PERMISSION,
                         "PKCS#11 token '%s' not found in module %s: %s (the token store must be readable and "
                         "writable by every process that uses the token: chown or chmod it)",
                         t->spec, t->mod->path, store);
    return azkm_fail(AZKM_E_NOT_FOUND,
                     "PKCS#11 token '%s' not found in module %s (%lu slot(s) with a token; %s%s%s; check the "
                     "label, e.g. with softhsm2-util --show-slots or pkcs11-tool -L)",
                     t->spec, t->mod->path, n, who, t->mod->store_dir ? ", token store " : "",
                     t->mod->store_dir ? t->mod->store_dir : "");
}

/* Finds the token's slot by label (or URI). Called with the lock held. */
static azkm_rc token_find(azkm_p11_token *t, CK_RV *rv_out)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    P11KitUri *uri = NULL;
    CK_RV rv;

    if (strncmp(t->spec, "pkcs11:", 7) == 0) {
        uri = p11_kit_uri_new();
        if (p11_kit_uri_parse(t->spec, P11_KIT_URI_FOR_TOKEN, uri) != P11_KIT_URI_OK) {
            p11_kit_uri_free(uri);
            return azkm_fail(AZKM_E_INVALID, "token URI '%s' is not a valid RFC 7512 pkcs11: URI", t->spec);
        }
    }
    rv = t->mod->fn->C_GetSlotList(CK_TRUE, slots, &n);
    *rv_out = rv;
    if (rv != CKR_OK) {
        p11_kit_uri_free(uri);
        return azkm_fail(AZKM_E_IO, "PKCS#11 module %s: C_GetSlotList failed: %s", t->mod->path,
                         azkm_p11_rv_name(rv));
    }
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO info;
        char label[33];
        int match;

        if (token_info(t->mod, slots[i], &info) != CKR_OK)
            continue;
        trim_label(info.label, label);
        match = uri ? p11_kit_uri_match_token_info(uri, &info) : strcmp(label, t->spec) == 0;
        if (match && (info.flags & CKF_TOKEN_INITIALIZED)) {
            t->slot = slots[i];
            snprintf(t->label, sizeof(t->label), "%s", label);
            t->found = 1;
            p11_kit_uri_free(uri);
            return AZKM_OK;
        }
    }
    p11_kit_uri_free(uri);
    return token_not_found(t, (unsigned long)n);
}

static azkm_rc read_pin(azkm_p11_token *t)
{
    char buf[PIN_MAX];
    const char *src = t->pin_source ? t->pin_source : "";
    azkm_rc rc = AZKM_OK;

    buf[0] = '\0';
    if (strncmp(src, "env:", 4) == 0) {
        const char *v = getenv(src + 4);

        if (v == NULL)
            return azkm_fail(AZKM_E_AUTH, "token %s: the PIN source is environment variable %s, which is not set",
                             t->label, src + 4);
        snprintf(buf, sizeof(buf), "%s", v);
    } else if (strncmp(src, "file:", 5) == 0) {
        unsigned char *data = NULL;
        size_t len = 0;

        rc = azkm_check_private(src + 5, 1, "PIN file");
        if (rc == AZKM_OK)
            rc = azkm_read_secret_file(src + 5, &data, &len, PIN_MAX - 1);
        if (rc != AZKM_OK)
            return azkm_fail(rc, "token %s: %s", t->label, azkm_last_error());
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
            len--;
        memcpy(buf, data, len);
        buf[len] = '\0';
        azkm_secret_free(data, len);
    } else if (strcmp(src, "prompt") == 0 || *src == '\0') {
        char purpose[128];

        snprintf(purpose, sizeof(purpose), "PIN for token %s", t->label);
        if (t->pin_cb == NULL || !t->pin_cb(buf, sizeof(buf), purpose, t->pin_arg))
            return azkm_fail(AZKM_E_AUTH, "token %s: no PIN available (PIN source '%s'; use file:PATH or env:NAME)",
                             t->label, src);
    } else {
        return azkm_fail(AZKM_E_INVALID, "token %s: PIN source '%s' is not file:PATH, env:NAME or prompt", t->label,
                         src);
    }
    t->pin = azkm_secret_zalloc(strlen(buf) + 1);
    if (t->pin != NULL)
        memcpy(t->pin, buf, strlen(buf) + 1);
    OPENSSL_cleanse(buf, sizeof(buf));
    return t->pin ? AZKM_OK : azkm_fail(AZKM_E_NOMEM, "out of memory");
}

/* Before a login: refuses a token whose PIN is locked or on its final try, and reads the PIN once. */
static azkm_rc login_allowed(azkm_p11_token *t, const CK_TOKEN_INFO *info)
{
    if (info->flags & CKF_USER_PIN_LOCKED)
        return azkm_fail(AZKM_E_AUTH, "token %s: the user PIN is locked; azkm will not attempt a login", t->label);
    if (info->flags & CKF_USER_PIN_FINAL_TRY)
        return azkm_fail(AZKM_E_AUTH,
                         "token %s: one PIN attempt is left before the token locks; azkm will not use it (log in "
                         "once by hand with the right PIN to reset the counter)",
                         t->label);
    return t->pin == NULL ? read_pin(t) : AZKM_OK;
}

/* Logs in once per process. Called with the lock held, the token store's lock and a session open. */
static azkm_rc token_login(azkm_p11_token *t, CK_SESSION_HANDLE s, azkm_p11_failure *why, CK_RV *rv_out)
{
    CK_TOKEN_INFO info;
    CK_RV rv;
    azkm_rc rc;

    if (t->pin_rejected)
        return azkm_fail(AZKM_E_AUTH,
                         "token %s rejected the PIN earlier in this process; azkm does not retry a "
                         "rejected PIN (fix the PIN source and restart)",
                         t->label);
    rv = token_info(t->mod, t->slot, &info);
    if (rv != CKR_OK) {
        *why = AZKM_P11_RETRY;
        *rv_out = rv;
        return azkm_p11_fail(t, rv, "C_GetTokenInfo");
    }
    if (!(info.flags & CKF_LOGIN_REQUIRED)) {
        t->logged_in = 1;
        return AZKM_OK;
    }
    if ((rc = login_allowed(t, &info)) != AZKM_OK)
        return rc;
    rv = t->mod->fn->C_Login(s, CKU_USER, (CK_UTF8CHAR *)t->pin, strlen(t->pin));
    *rv_out = rv;
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
        t->logged_in = 1;
        return AZKM_OK;
    }
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE) {
        t->pin_rejected = 1;
        azkm_secret_free(t->pin, strlen(t->pin) + 1);
        t->pin = NULL;
        return azkm_fail(AZKM_E_AUTH, "token %s rejected the PIN (%s); azkm will not retry it", t->label,
                         azkm_p11_rv_name(rv));
    }
    *why = AZKM_P11_LOGIN_RACE;
    return azkm_p11_fail(t, rv, "C_Login");
}

azkm_rc azkm_p11_token_get(const char *module, const char *token, const char *pin_source, azkm_passphrase_cb pin_cb,
                           void *pin_arg, azkm_p11_token **out)
{
    azkm_rc rc = AZKM_OK;
    p11_module *m = NULL;

    pthread_once(&once, setup_once);
    if (module == NULL || *module == '\0' || token == NULL || *token == '\0')
        return azkm_fail(AZKM_E_INVALID, "PKCS#11: a module path and a token are required");
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_tokens; i++) {
        if (strcmp(tokens[i].mod->path, module) == 0 && strcmp(tokens[i].spec, token) == 0) {
            if (tokens[i].pin_cb == NULL && pin_cb != NULL) {
                tokens[i].pin_cb = pin_cb;
                tokens[i].pin_arg = pin_arg;
            }
            *out = &tokens[i];
            pthread_mutex_unlock(&lock);
            return AZKM_OK;
        }
    }
    if (n_tokens == MAX_TOKENS)
        rc = azkm_fail(AZKM_E_UNSUPPORTED, "PKCS#11: at most %d tokens per process", MAX_TOKENS);
    if (rc == AZKM_OK)
        rc = module_load(module, &m);
    if (rc == AZKM_OK) {
        azkm_p11_token *t = &tokens[n_tokens++];

        memset(t, 0, sizeof(*t));
        t->mod = m;
        t->spec = strdup(token);
        t->pin_source = pin_source ? strdup(pin_source) : NULL;
        t->pin_cb = pin_cb;
        t->pin_arg = pin_arg;
        snprintf(t->label, sizeof(t->label), "%.32s", strncmp(token, "pkcs11:", 7) == 0 ? "" : token);
        t->fork_gen = fork_generation;
        *out = t;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

/* Everything of the token that a re-initialisation makes meaningless. With close_sessions, the pooled and owner
 * sessions are closed first (the module stays up: they would leak otherwise). Called with the lock held. */
static void token_forget(azkm_p11_token *t, int close_sessions)
{
    if (close_sessions) {
        for (size_t i = 0; i < t->n_pool; i++)
            t->mod->fn->C_CloseSession(t->pool[i]);
        if (t->has_owner)
            t->mod->fn->C_CloseSession(t->owner);
    }
    t->n_pool = 0;
    t->has_owner = 0;
    t->logged_in = 0;
    t->found = 0;
    t->generation++;
}

/* Module, slot and mechanism list up to date for this process. Called with the lock and the store's lock held. */
static azkm_rc token_ready(azkm_p11_token *t, azkm_p11_failure *why, CK_RV *rv)
{
    azkm_rc rc;

    if (t->fork_gen != fork_generation) {
        /* Sessions, logins, handles and even the slot of the parent mean nothing here: this process's
         * C_Initialize may have read the token store at another moment, and numbers its slots by what it saw. */
        token_forget(t, 0);
        t->fork_gen = fork_generation;
    }
    rc = module_init(t->mod, rv);
    if (rc != AZKM_OK) {
        /* a configuration or token store that is not there, or that this process cannot use, is final */
        *why = *rv == CKR_GENERAL_ERROR && rc != AZKM_E_NOT_FOUND && !p11_store_unusable(t->mod->store_dir)
                   ? AZKM_P11_RETRY
                   : AZKM_P11_FINAL;
        return rc;
    }
    if (!t->found && (rc = token_find(t, rv)) != AZKM_OK) {
        /* Not in the slot list: SoftHSM reads its tokens once, in C_Initialize, and leaves out one whose files
         * another program was rewriting at that moment; a store this process cannot read is final. */
        *why = rc == AZKM_E_NOT_FOUND || rc == AZKM_E_IO ? AZKM_P11_NO_TOKEN : AZKM_P11_FINAL;
        return rc;
    }
    if (t->mechs == NULL) {
        CK_ULONG n = 0;

        if (t->mod->fn->C_GetMechanismList(t->slot, NULL, &n) == CKR_OK && n > 0) {
            t->mechs = calloc(n, sizeof(*t->mechs));
            if (t->mechs && t->mod->fn->C_GetMechanismList(t->slot, t->mechs, &n) == CKR_OK)
                t->n_mechs = n;
        }
    }
    return AZKM_OK;
}

/* A new session, logged in. Called with the lock held; takes the store's lock for what reads or rewrites the
 * token's files (C_Initialize, the slot list, C_Login), never for anything else. */
static azkm_rc session_new(azkm_p11_token *t, CK_SESSION_HANDLE *s, azkm_p11_failure *why, CK_RV *rv)
{
    int busy = !(t->mod->initialised && t->mod->fork_gen == fork_generation) || !t->found || !t->logged_in ||
               t->fork_gen != fork_generation;
    int fd = busy ? p11_store_lock(t->mod->store_dir) : -1;
    azkm_rc rc = token_ready(t, why, rv);

    if (rc == AZKM_OK) {
        *rv = t->mod->fn->C_OpenSession(t->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, s);
        if (*rv != CKR_OK) {
            *why = AZKM_P11_RETRY;
            rc = azkm_p11_fail(t, *rv, "C_OpenSession");
        } else if (!t->logged_in && (rc = token_login(t, *s, why, rv)) != AZKM_OK) {
            t->mod->fn->C_CloseSession(*s);
        }
    }
    p11_store_unlock(fd);
    return rc;
}

azkm_rc azkm_p11_session_get(azkm_p11_token *t, azkm_p11_session *s, azkm_p11_failure *why, CK_RV *rv)
{
    azkm_rc rc = AZKM_OK;

    *why = AZKM_P11_FINAL;
    *rv = CKR_OK;
    ops_enter();
    pthread_mutex_lock(&lock);
    if (t->n_pool > 0 && t->logged_in && t->fork_gen == fork_generation && t->mod->fork_gen == fork_generation)
        s->h = t->pool[--t->n_pool];
    else
        rc = session_new(t, &s->h, why, rv);
    s->epoch = t->mod->epoch;
    pthread_mutex_unlock(&lock);
    if (rc != AZKM_OK)
        ops_leave();
    return rc;
}

/* Return values after which a session must not be reused. */
static int session_broken(CK_RV rv)
{
    return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED || rv == CKR_DEVICE_REMOVED ||
           rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_CRYPTOKI_NOT_INITIALIZED || rv == CKR_DEVICE_ERROR ||
           rv == CKR_GENERAL_ERROR || rv == CKR_USER_NOT_LOGGED_IN;
}

void azkm_p11_session_put(azkm_p11_token *t, azkm_p11_session *s, CK_RV last)
{
    p11_module *m = t->mod;

    pthread_mutex_lock(&lock);
    if (s->epoch < m->init_epoch || m->fork_gen != fork_generation || !m->initialised) {
        /* Opened before the module's last C_Initialize (or in the parent): its number may already name a session
         * of the new initialisation, so it is not closed, only forgotten. */
    } else if (s->epoch != m->epoch || session_broken(last) || t->n_pool == POOL_MAX) {
        m->fn->C_CloseSession(s->h);
    } else {
        t->pool[t->n_pool++] = s->h;
    }
    pthread_mutex_unlock(&lock);
    ops_leave();
}

/* Waits up to RECOVER_WAIT_MS for the other threads to leave the module; 1 when this thread may finalise it. */
static int ops_exclusive(void)
{
    struct timespec until;

    if (ops_depth > 0)
        return 0; /* this thread has a session lent: the module must stay */
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += RECOVER_WAIT_MS / 1000;
    until.tv_nsec += (RECOVER_WAIT_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    return pthread_rwlock_timedwrlock(&ops, &until) == 0;
}

void azkm_p11_recover(azkm_p11_token *t, unsigned long epoch)
{
    int exclusive = ops_exclusive();
    p11_module *m = t->mod;

    pthread_mutex_lock(&lock);
    if (m->epoch == epoch) {
        /* Finalising is the only way to make SoftHSM read its token store again; it ends every session and login
         * of the process, on every token of the module, so it needs all threads out of the module, and it must
         * be our own initialisation (another library of the process may be using the module). */
        int finalise = exclusive && m->owned && m->initialised && m->fork_gen == fork_generation;

        /* Without finalising, the sessions this process opened in this initialisation are closed (a forked
         * child's inherited ones are the parent's numbers: they are only forgotten). */
        for (size_t i = 0; i < n_tokens; i++)
            if (tokens[i].mod == m)
                token_forget(&tokens[i], !finalise && m->initialised && m->fork_gen == fork_generation &&
                                             tokens[i].fork_gen == fork_generation);
        if (finalise) {
            ERR_set_mark();
            m->fn->C_Finalize(NULL);
            ERR_pop_to_mark();
            m->initialised = 0;
        }
        m->epoch++;
    }
    pthread_mutex_unlock(&lock);
    if (exclusive)
        pthread_rwlock_unlock(&ops);
}

CK_RV azkm_p11_copy_object(azkm_p11_token *t, CK_OBJECT_HANDLE h, CK_OBJECT_HANDLE *copy)
{
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE tmpl = {CKA_TOKEN, &no, sizeof(no)};
    CK_RV rv = CKR_OK;

    pthread_mutex_lock(&lock);
    if (!t->has_owner) {
        rv = t->mod->fn->C_OpenSession(t->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &t->owner);
        t->has_owner = rv == CKR_OK;
    }
    if (rv == CKR_OK)
        rv = t->mod->fn->C_CopyObject(t->owner, h, &tmpl, 1, copy);
    pthread_mutex_unlock(&lock);
    return rv;
}

void azkm_p11_destroy_copy(azkm_p11_token *t, CK_OBJECT_HANDLE copy, unsigned long generation)
{
    ops_enter();
    pthread_mutex_lock(&lock);
    /* A copy made by this process (not inherited through fork) at this generation goes with its key. */
    if (t->has_owner && t->fork_gen == fork_generation && t->generation == generation)
        t->mod->fn->C_DestroyObject(t->owner, copy);
    pthread_mutex_unlock(&lock);
    ops_leave();
}

CK_FUNCTION_LIST *azkm_p11_functions(azkm_p11_token *t)
{
    return t->mod->fn;
}

unsigned long azkm_p11_generation(azkm_p11_token *t)
{
    return t->generation + (t->fork_gen != fork_generation ? 1 : 0);
}

const char *azkm_p11_token_label(azkm_p11_token *t)
{
    return t->label[0] ? t->label : t->spec;
}

const char *azkm_p11_store_dir(azkm_p11_token *t)
{
    return t->mod->store_dir;
}

int azkm_p11_has_mechanism(azkm_p11_token *t, CK_MECHANISM_TYPE m)
{
    for (CK_ULONG i = 0; i < t->n_mechs; i++)
        if (t->mechs[i] == m)
            return 1;
    return t->n_mechs == 0; /* a token that lists nothing is given the benefit of the doubt */
}
