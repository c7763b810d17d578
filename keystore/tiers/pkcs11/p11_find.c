/* Finding a key object on the token by CKA_ID (and CKA_LABEL), through what SoftHSM's file store does while other
 * processes write the token's files; and telling a key that is really missing from one this process cannot read. */
#include <string.h>
#include <unistd.h>

#include "tiers/pkcs11/p11.h"
#include "tiers/pkcs11/p11_store.h"
#include "tiers/pkcs11/p11_template.h"

#define FIND_ATTEMPTS 4

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

/* No object with the key's id: missing, unless this process cannot read the token store, in which case the key
 * may well be there, in a file it cannot open (a worker running as another user than the one who made the key). */
static azkm_rc not_found(azkm_p11_token *t)
{
    char store[1024];

    if (p11_store_unreadable(azkm_p11_store_dir(t), store, sizeof(store)) > 0)
        return azkm_fail(AZKM_E_PERMISSION,
                         "token %s: the key object was not found, and %s: the key may be in a file this process "
                         "cannot open (the token store must be readable and writable by every process that uses "
                         "the token: chown or chmod it)",
                         azkm_p11_token_label(t), store);
    return azkm_fail(AZKM_E_NOT_FOUND,
                     "token %s: the key object is missing (destroyed outside azkm, or the wrong token?)",
                     azkm_p11_token_label(t));
}

azkm_rc azkm_p11_find(azkm_p11_token *t, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const unsigned char *id,
                      size_t idlen, const char *label, CK_OBJECT_HANDLE *out, azkm_p11_result *res)
{
    CK_FUNCTION_LIST *fn = azkm_p11_functions(t);
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
        if (rv != CKR_OK) {
            if (res != NULL)
                res->rv = rv;
            return azkm_p11_fail(t, rv, "finding a key object");
        }
        if (n == 1 || (n > 1 && same_key(fn, s, found, label != NULL))) {
            *out = found[0];
            return AZKM_OK;
        }
        if (attempt == FIND_ATTEMPTS - 1)
            break;
        usleep(pause_us[attempt]);
    }
    if (n == 0) {
        if (res != NULL)
            res->stale = 1;
        return not_found(t);
    }
    return azkm_fail(AZKM_E_CONFLICT, "token %s: more than one object has the key's id", azkm_p11_token_label(t));
}
