/* PKCS#11 modules and tokens for the HSM tier. A module is initialised once per process (again in a forked
 * child, lazily, under a mutex); a token is logged in once and lends sessions from a pool. A PIN the token
 * rejected is never tried again, and no login is attempted when the token reports a final try or a lock. */
#include <dlfcn.h>
#include <errno.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <p11-kit/uri.h>

#include "tiers/pkcs11/p11.h"
#include "tiers/pkcs11/p11_template.h"
#include "base/secmem.h"

#define MAX_TOKENS 64
#define POOL_MAX 64
#define PIN_MAX 256
#define TOKEN_INFO_ATTEMPTS 5
#define REINIT_ATTEMPTS 3
#define FIND_ATTEMPTS 4

typedef struct {
    char *path;
    void *dl;
    CK_FUNCTION_LIST *fn;
    unsigned long fork_gen; /* value of fork_generation when initialised; differs in a child */
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

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static p11_module modules[MAX_TOKENS];
static size_t n_modules;
static azkm_p11_token tokens[MAX_TOKENS];
static size_t n_tokens;
static volatile unsigned long fork_generation;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void after_fork_in_child(void)
{
    /* Only a mark: the child re-initialises on first use, not in the fork handler. */
    fork_generation++;
    pthread_mutex_init(&lock, NULL);
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
    }
    n_modules = 0;
}

static void setup_once(void)
{
    pthread_atfork(NULL, NULL, after_fork_in_child);
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

int azkm_p11_session_broken(CK_RV rv)
{
    return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED || rv == CKR_DEVICE_REMOVED ||
           rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_CRYPTOKI_NOT_INITIALIZED || rv == CKR_DEVICE_ERROR;
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

static azkm_rc module_load(const char *path, p11_module **out)
{
    CK_RV (*get_list)(CK_FUNCTION_LIST **);
    p11_module *m;

    for (size_t i = 0; i < n_modules; i++) {
        if (strcmp(modules[i].path, path) == 0) {
            *out = &modules[i];
            return AZKM_OK;
        }
    }
    if (n_modules == MAX_TOKENS)
        return azkm_fail(AZKM_E_UNSUPPORTED, "PKCS#11: at most %d modules per process", MAX_TOKENS);
    m = &modules[n_modules];
    memset(m, 0, sizeof(*m));
    {
        /* Loading a module runs its code: refuse one that someone other than root or us could have replaced. */
        struct stat st;

        if (stat(path, &st) != 0)
            return azkm_fail(AZKM_E_NOT_FOUND, "PKCS#11 module %s cannot be loaded: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode) || (st.st_mode & 022) || (st.st_uid != 0 && st.st_uid != geteuid()))
            return azkm_fail(
                AZKM_E_PERMISSION,
                "PKCS#11 module %s is not a regular file owned by root (or this user) and writable only "
                "by its owner: refusing to load it",
                path);
    }
    m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (m->dl == NULL)
        return azkm_fail(AZKM_E_NOT_FOUND, "PKCS#11 module %s cannot be loaded: %s", path, dlerror());
    get_list = (CK_RV(*)(CK_FUNCTION_LIST **))dlsym(m->dl, "C_GetFunctionList");
    if (get_list == NULL || get_list(&m->fn) != CKR_OK || m->fn == NULL) {
        dlclose(m->dl);
        return azkm_fail(AZKM_E_INVALID, "%s is not a PKCS#11 module (no C_GetFunctionList)", path);
    }
    m->path = strdup(path);
    n_modules++;
    *out = m;
    return AZKM_OK;
}

/* Initialises the module in this process (again after fork). Called with the lock held. */
static azkm_rc module_init(p11_module *m)
{
    CK_C_INITIALIZE_ARGS args;
    CK_RV rv;

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
    m->owned = rv == CKR_OK;
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
        return azkm_fail(rv == CKR_GENERAL_ERROR ? AZKM_E_PERMISSION : AZKM_E_IO,
                         "PKCS#11 module %s: C_Initialize failed: %s (uid %u: is the token store readable, e.g. "
                         "SOFTHSM2_CONF and its tokendir?)",
                         m->path, azkm_p11_rv_name(rv), (unsigned)geteuid());
    m->initialised = 1;
    m->fork_gen = fork_generation;
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
        if (rv != CKR_GENERAL_ERROR || attempt == TOKEN_INFO_ATTEMPTS - 1)
            return rv;
        usleep(2000);
    }
}

/* Finds the token's slot. Called with the lock held, after module_init. */
static azkm_rc token_find(azkm_p11_token *t)
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
    return azkm_fail(AZKM_E_NOT_FOUND,
                     "PKCS#11 token '%s' not found in module %s (%lu slot(s) with a token; uid %u may not be able "
                     "to read the token store)",
                     t->spec, t->mod->path, (unsigned long)n, (unsigned)geteuid());
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

/* Logs in once per process. Called with the lock held and a session open. */
static azkm_rc token_login(azkm_p11_token *t, CK_SESSION_HANDLE s)
{
    CK_TOKEN_INFO info;
    CK_RV rv;
    azkm_rc rc;

    if (t->logged_in)
        return AZKM_OK;
    if (t->pin_rejected)
        return azkm_fail(AZKM_E_AUTH,
                         "token %s rejected the PIN earlier in this process; azkm does not retry a "
                         "rejected PIN (fix the PIN source and restart)",
                         t->label);
    rv = token_info(t->mod, t->slot, &info);
    if (rv != CKR_OK)
        return azkm_p11_fail(t, rv, "C_GetTokenInfo");
    if (!(info.flags & CKF_LOGIN_REQUIRED)) {
        t->logged_in = 1;
        return AZKM_OK;
    }
    if (info.flags & CKF_USER_PIN_LOCKED)
        return azkm_fail(AZKM_E_AUTH, "token %s: the user PIN is locked; azkm will not attempt a login", t->label);
    if (info.flags & CKF_USER_PIN_FINAL_TRY)
        return azkm_fail(AZKM_E_AUTH,
                         "token %s: one PIN attempt is left before the token locks; azkm will not use it (log in "
                         "once by hand with the right PIN to reset the counter)",
                         t->label);
    if (t->pin == NULL && (rc = read_pin(t)) != AZKM_OK)
        return rc;
    rv = t->mod->fn->C_Login(s, CKU_USER, (CK_UTF8CHAR *)t->pin, strlen(t->pin));
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

/* True when this process's azkm initialised the module and has no session or login on any of its tokens, so
 * that finalising it disturbs nothing. Called with the lock held. */
static int module_idle(p11_module *m)
{
    if (!m->owned)
        return 0;
    for (size_t i = 0; i < n_tokens; i++)
        if (tokens[i].mod == m && (tokens[i].logged_in || tokens[i].has_owner || tokens[i].n_pool > 0))
            return 0;
    return 1;
}

/* Brings module, slot and login up to date for this process. Called with the lock held. */
static azkm_rc token_ready(azkm_p11_token *t)
{
    azkm_rc rc;

    if (t->fork_gen != fork_generation) {
        /* Sessions, logins and handles of the parent mean nothing here. */
        t->n_pool = 0;
        t->has_owner = 0;
        t->logged_in = 0;
        t->fork_gen = fork_generation;
        t->generation++;
    }
    rc = module_init(t->mod);
    if (rc == AZKM_OK && !t->found)
        rc = token_find(t);
    for (int attempt = 0; rc == AZKM_E_NOT_FOUND && attempt < REINIT_ATTEMPTS && module_idle(t->mod); attempt++) {
        /* SoftHSM reads its tokens once, in C_Initialize, and leaves out one whose token.object another process
         * was rewriting at that moment (every C_Login rewrites it): initialise the module again, if nothing of
         * this process uses it, and look again. */
        t->mod->fn->C_Finalize(NULL);
        t->mod->initialised = 0;
        for (size_t i = 0; i < n_tokens; i++)
            if (tokens[i].mod == t->mod)
                tokens[i].found = 0;
        usleep(20000);
        rc = module_init(t->mod);
        if (rc == AZKM_OK)
            rc = token_find(t);
    }
    if (rc == AZKM_OK && t->mechs == NULL) {
        CK_ULONG n = 0;

        if (t->mod->fn->C_GetMechanismList(t->slot, NULL, &n) == CKR_OK && n > 0) {
            t->mechs = calloc(n, sizeof(*t->mechs));
            if (t->mechs && t->mod->fn->C_GetMechanismList(t->slot, t->mechs, &n) == CKR_OK)
                t->n_mechs = n;
        }
    }
    return rc;
}

azkm_rc azkm_p11_session_get(azkm_p11_token *t, CK_SESSION_HANDLE *s)
{
    azkm_rc rc;
    CK_RV rv;

    pthread_mutex_lock(&lock);
    rc = token_ready(t);
    if (rc == AZKM_OK && t->n_pool > 0 && t->logged_in) {
        *s = t->pool[--t->n_pool];
        pthread_mutex_unlock(&lock);
        return AZKM_OK;
    }
    if (rc == AZKM_OK) {
        rv = t->mod->fn->C_OpenSession(t->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, s);
        if (rv != CKR_OK)
            rc = azkm_p11_fail(t, rv, "C_OpenSession");
        else if ((rc = token_login(t, *s)) != AZKM_OK)
            t->mod->fn->C_CloseSession(*s);
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void azkm_p11_session_put(azkm_p11_token *t, CK_SESSION_HANDLE s, int broken)
{
    pthread_mutex_lock(&lock);
    if (broken || t->fork_gen != fork_generation) {
        if (!broken)
            t->mod->fn->C_CloseSession(s);
    } else if (t->n_pool < POOL_MAX) {
        t->pool[t->n_pool++] = s;
        s = CK_INVALID_HANDLE;
    } else {
        t->mod->fn->C_CloseSession(s);
    }
    pthread_mutex_unlock(&lock);
}

azkm_rc azkm_p11_owner_session(azkm_p11_token *t, CK_SESSION_HANDLE *s)
{
    azkm_rc rc = AZKM_OK;

    pthread_mutex_lock(&lock);
    if (t->fork_gen != fork_generation || !t->has_owner) {
        pthread_mutex_unlock(&lock);
        rc = azkm_p11_session_get(t, s);
        pthread_mutex_lock(&lock);
        if (rc == AZKM_OK) {
            if (t->has_owner && t->fork_gen == fork_generation) {
                /* another thread got there first */
                pthread_mutex_unlock(&lock);
                azkm_p11_session_put(t, *s, 0);
                pthread_mutex_lock(&lock);
            } else {
                t->owner = *s;
                t->has_owner = 1;
            }
        }
    }
    if (rc == AZKM_OK)
        *s = t->owner;
    pthread_mutex_unlock(&lock);
    return rc;
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

int azkm_p11_has_mechanism(azkm_p11_token *t, CK_MECHANISM_TYPE m)
{
    for (CK_ULONG i = 0; i < t->n_mechs; i++)
        if (t->mechs[i] == m)
            return 1;
    return t->n_mechs == 0; /* a token that lists nothing is given the benefit of the doubt */
}

/* SoftHSM's file store, while other processes add objects to the token, can list one token object under two
 * handles (seen in hardening_concurrency: same id, label and modulus; one handle may go invalid a moment later).
 * Two matches are taken for one key, found[0] made a valid handle of it, when they are of the same key type and
 * either the same RSA modulus or, for other types, a full azkm label (vault, name and version: a second object
 * with it can only be a copy put there on purpose by someone holding the PIN). Anything else is a conflict. */
static int same_key(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE found[2], int labelled)
{
    CK_KEY_TYPE kt[2];
    unsigned char mod[2][1024];
    CK_ATTRIBUTE a[2][2];
    CK_RV rv[2];

    for (int i = 0; i < 2; i++) {
        a[i][0] = (CK_ATTRIBUTE){CKA_KEY_TYPE, &kt[i], sizeof(kt[i])};
        a[i][1] = (CK_ATTRIBUTE){CKA_MODULUS, mod[i], sizeof(mod[i])};
        rv[i] = fn->C_GetAttributeValue(s, found[i], a[i], 1);
    }
    /* One of the two is already gone: the other is the key. */
    if (rv[0] == CKR_OBJECT_HANDLE_INVALID && rv[1] == CKR_OK) {
        found[0] = found[1];
        return 1;
    }
    if (rv[1] == CKR_OBJECT_HANDLE_INVALID && rv[0] == CKR_OK)
        return 1;
    if (rv[0] != CKR_OK || rv[1] != CKR_OK || kt[0] != kt[1])
        return 0;
    if (kt[0] != CKK_RSA)
        return labelled;
    for (int i = 0; i < 2; i++)
        if (fn->C_GetAttributeValue(s, found[i], &a[i][1], 1) != CKR_OK)
            return 0;
    return a[0][1].ulValueLen == a[1][1].ulValueLen && memcmp(mod[0], mod[1], a[0][1].ulValueLen) == 0;
}

azkm_rc azkm_p11_find(azkm_p11_token *t, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const unsigned char *id,
                      size_t idlen, const char *label, CK_OBJECT_HANDLE *out)
{
    CK_FUNCTION_LIST *fn = t->mod->fn;
    p11_template tmpl;
    /* SoftHSM's file store, while another process writes the token's files, can also list the key under two
     * handles of which same_key cannot tell that they are one, or not list it at all (both seen in
     * hardening_concurrency): the search is made again a moment later before either is reported. A key that is
     * really missing costs FIND_ATTEMPTS searches and about 60 ms. */
    static const useconds_t pause_us[FIND_ATTEMPTS - 1] = {2000, 10000, 50000};
    CK_OBJECT_HANDLE found[2];
    CK_ULONG n = 0;
    CK_RV rv;
    azkm_rc rc;

    p11_tmpl_init(&tmpl);
    p11_tmpl_token_search(&tmpl, cls, id, idlen, label);
    if ((rc = p11_tmpl_check(&tmpl)) != AZKM_OK)
        return rc;
    for (int attempt = 0;; attempt++) {
        n = 0;
        rv = fn->C_FindObjectsInit(s, tmpl.attr, tmpl.n);
        if (rv == CKR_OK) {
            rv = fn->C_FindObjects(s, found, 2, &n);
            fn->C_FindObjectsFinal(s);
        }
        if (rv != CKR_OK)
            return azkm_p11_fail(t, rv, "finding a key object");
        if (n == 1 || (n > 1 && same_key(fn, s, found, label != NULL))) {
            *out = found[0];
            return AZKM_OK;
        }
        if (attempt == FIND_ATTEMPTS - 1)
            break;
        usleep(pause_us[attempt]);
    }
    if (n == 0)
        return azkm_fail(AZKM_E_NOT_FOUND,
                         "token %s: the key object is missing (destroyed outside azkm, or the "
                         "wrong token?)",
                         azkm_p11_token_label(t));
    return azkm_fail(AZKM_E_CONFLICT, "token %s: more than one object has the key's id", azkm_p11_token_label(t));
}
