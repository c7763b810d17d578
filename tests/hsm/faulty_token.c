/* A PKCS#11 module for tests that passes every call to SoftHSM and makes chosen calls fail first, so that each way
 * a token fails can be played on demand. AZKM_FAULTS lists the faults: "C_Login=CKR_USER_PIN_NOT_INITIALIZED*3"
 * makes the first three C_Login calls of the process return that value, "C_GetSlotList=EMPTY*2" hides the token
 * from the first two slot lists, "C_GetTokenInfo=FINAL_TRY*99" adds CKF_USER_PIN_FINAL_TRY to the token's flags;
 * several are separated by commas, and "*N" defaults to once. With AZKM_FAULT_LOG set, every call of a function
 * named in AZKM_FAULTS is appended to that file as "<function> <pass|fault>", so that a test can count them. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define MAX_FAULTS 16

typedef struct {
    char fn[32];
    char what[48]; /* a CKR_ name, EMPTY or FINAL_TRY */
    int left;
} fault;

static CK_FUNCTION_LIST *real;
static CK_FUNCTION_LIST mine;
static fault faults[MAX_FAULTS];
static int n_faults;

static const struct {
    const char *name;
    CK_RV rv;
} codes[] = {
    {"CKR_GENERAL_ERROR", CKR_GENERAL_ERROR},
    {"CKR_SLOT_ID_INVALID", CKR_SLOT_ID_INVALID},
    {"CKR_USER_PIN_NOT_INITIALIZED", CKR_USER_PIN_NOT_INITIALIZED},
    {"CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT},
    {"CKR_DEVICE_ERROR", CKR_DEVICE_ERROR},
    {"CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID},
    {"CKR_PIN_INCORRECT", CKR_PIN_INCORRECT},
    {"CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED},
    {"CKR_KEY_FUNCTION_NOT_PERMITTED", CKR_KEY_FUNCTION_NOT_PERMITTED},
};

static void parse_faults(void)
{
    const char *env = getenv("AZKM_FAULTS");
    char buf[1024], *save = NULL;

    if (env == NULL)
        return;
    snprintf(buf, sizeof(buf), "%s", env);
    for (char *item = strtok_r(buf, ",", &save); item && n_faults < MAX_FAULTS; item = strtok_r(NULL, ",", &save)) {
        fault *f = &faults[n_faults];
        char *eq = strchr(item, '='), *star;

        if (eq == NULL)
            continue;
        *eq = '\0';
        star = strchr(eq + 1, '*');
        f->left = star ? atoi(star + 1) : 1;
        if (star)
            *star = '\0';
        snprintf(f->fn, sizeof(f->fn), "%s", item);
        snprintf(f->what, sizeof(f->what), "%s", eq + 1);
        n_faults++;
    }
}

static void note(const char *fn, const char *outcome)
{
    const char *path = getenv("AZKM_FAULT_LOG");
    FILE *fp;

    if (path == NULL || (fp = fopen(path, "a")) == NULL)
        return;
    fprintf(fp, "%s %s\n", fn, outcome);
    fclose(fp);
}

/* The fault due for this call of fn, or NULL (the call then passes); logs calls of functions that have faults. */
static const char *due(const char *fn)
{
    int named = 0;

    for (int i = 0; i < n_faults; i++) {
        if (strcmp(faults[i].fn, fn) != 0)
            continue;
        named = 1;
        if (faults[i].left > 0) {
            faults[i].left--;
            note(fn, "fault");
            return faults[i].what;
        }
    }
    if (named)
        note(fn, "pass");
    return NULL;
}

static CK_RV code(const char *what)
{
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(codes[i].name, what) == 0)
            return codes[i].rv;
    return CKR_GENERAL_ERROR;
}

static CK_RV f_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
    const char *what = due("C_GetSlotList");

    if (what != NULL && strcmp(what, "EMPTY") == 0) {
        *count = 0;
        return CKR_OK;
    }
    return what ? code(what) : real->C_GetSlotList(present, list, count);
}

static CK_RV f_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
    const char *what = due("C_GetTokenInfo");
    CK_RV rv;

    if (what != NULL && strcmp(what, "FINAL_TRY") != 0)
        return code(what);
    rv = real->C_GetTokenInfo(slot, info);
    if (rv == CKR_OK && what != NULL)
        info->flags |= CKF_USER_PIN_FINAL_TRY;
    return rv;
}

static CK_RV f_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
                           CK_SESSION_HANDLE_PTR s)
{
    const char *what = due("C_OpenSession");

    return what ? code(what) : real->C_OpenSession(slot, flags, app, notify, s);
}

static CK_RV f_Login(CK_SESSION_HANDLE s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
    const char *what = due("C_Login");

    return what ? code(what) : real->C_Login(s, user, pin, len);
}

static CK_RV f_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
    const char *what = due("C_SignInit");

    return what ? code(what) : real->C_SignInit(s, m, k);
}

static CK_RV f_Sign(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG inlen, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    /* A failed C_Sign ends the operation, as the standard says: the next C_SignInit must not find it active. */
    const char *what = due("C_Sign");

    if (what != NULL) {
        unsigned char sink[1024];
        CK_ULONG n = sizeof(sink);

        real->C_Sign(s, in, inlen, sink, &n);
        return code(what);
    }
    return real->C_Sign(s, in, inlen, out, outlen);
}

static CK_RV f_DecryptInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
    const char *what = due("C_DecryptInit");

    return what ? code(what) : real->C_DecryptInit(s, m, k);
}

static CK_RV f_Decrypt(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG inlen, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    const char *what = due("C_Decrypt");

    if (what != NULL) {
        unsigned char sink[1024];
        CK_ULONG n = sizeof(sink);

        real->C_Decrypt(s, in, inlen, sink, &n);
        return code(what);
    }
    return real->C_Decrypt(s, in, inlen, out, outlen);
}

__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
    if (real == NULL) {
        void *dl = dlopen(SOFTHSM, RTLD_NOW | RTLD_LOCAL);
        CK_RV(*get)
        (CK_FUNCTION_LIST_PTR_PTR) = dl ? (CK_RV(*)(CK_FUNCTION_LIST_PTR_PTR))dlsym(dl, "C_GetFunctionList") : NULL;

        if (get == NULL || get(&real) != CKR_OK)
            return CKR_GENERAL_ERROR;
        mine = *real;
        mine.C_GetSlotList = f_GetSlotList;
        mine.C_GetTokenInfo = f_GetTokenInfo;
        mine.C_OpenSession = f_OpenSession;
        mine.C_Login = f_Login;
        mine.C_SignInit = f_SignInit;
        mine.C_Sign = f_Sign;
        mine.C_DecryptInit = f_DecryptInit;
        mine.C_Decrypt = f_Decrypt;
        parse_faults();
    }
    *list = &mine;
    return CKR_OK;
}
