/* A loaded HSM key: its token object found by id and label (a session copy of it when the token allows one), found
 * again after every re-initialisation of the module, and the one way to run an operation with it (p11_key_run)
 * through azkm_p11_run's recovery. Also the digest table the operation files share. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tiers/pkcs11/p11_tier.h"

/* PKCS#11 3.0 numbers of the SHA-3 digests, which p11-kit 0.24's header does not have yet. */
#ifndef CKM_SHA3_256
#define CKM_SHA3_256 0x2b0UL
#define CKM_SHA3_224 0x2b5UL
#define CKM_SHA3_384 0x2c0UL
#define CKM_SHA3_512 0x2d0UL
#endif
#ifndef CKG_MGF1_SHA3_224
#define CKG_MGF1_SHA3_224 0x6UL
#define CKG_MGF1_SHA3_256 0x7UL
#define CKG_MGF1_SHA3_384 0x8UL
#define CKG_MGF1_SHA3_512 0x9UL
#endif

#define DI(bytes) (const unsigned char *)(bytes), sizeof(bytes) - 1
/* The DigestInfo headers: SEQUENCE { SEQUENCE { OID, NULL }, OCTET STRING <len> }; SHA-3 OIDs are
 * 2.16.840.1.101.3.4.2.7 to .10 (NIST), the SHA-2 ones .4, .1, .2, .3. */
const p11_digest p11_digests[] = {
    {"SHA1", CKM_SHA_1, CKG_MGF1_SHA1, 20, DI("\x30\x21\x30\x09\x06\x05\x2b\x0e\x03\x02\x1a\x05\x00\x04\x14"),
     "SHA1"},
    {"SHA224", CKM_SHA224, CKG_MGF1_SHA224, 28,
     DI("\x30\x2d\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x04\x05\x00\x04\x1c"), "SHA2-224"},
    {"SHA256", CKM_SHA256, CKG_MGF1_SHA256, 32,
     DI("\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20"), "SHA2-256"},
    {"SHA384", CKM_SHA384, CKG_MGF1_SHA384, 48,
     DI("\x30\x41\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x02\x05\x00\x04\x30"), "SHA2-384"},
    {"SHA512", CKM_SHA512, CKG_MGF1_SHA512, 64,
     DI("\x30\x51\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x03\x05\x00\x04\x40"), "SHA2-512"},
    {"SHA3224", CKM_SHA3_224, CKG_MGF1_SHA3_224, 28,
     DI("\x30\x2d\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x07\x05\x00\x04\x1c"), "SHA3-224"},
    {"SHA3256", CKM_SHA3_256, CKG_MGF1_SHA3_256, 32,
     DI("\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x08\x05\x00\x04\x20"), "SHA3-256"},
    {"SHA3384", CKM_SHA3_384, CKG_MGF1_SHA3_384, 48,
     DI("\x30\x41\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x09\x05\x00\x04\x30"), "SHA3-384"},
    {"SHA3512", CKM_SHA3_512, CKG_MGF1_SHA3_512, 64,
     DI("\x30\x51\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x0a\x05\x00\x04\x40"), "SHA3-512"},
    {NULL, 0, 0, 0, NULL, 0, NULL},
};

int p11_digest_index(const char *name)
{
    char canon[16];
    size_t j = 0;

    if (name == NULL)
        return -1;
    /* "SHA256", "SHA2-256", "sha-256" -> SHA256; "SHA3-256" -> SHA3256 */
    for (size_t i = 0; name[i] && j + 1 < sizeof(canon); i++) {
        char c = name[i];

        if (c == '-' || c == '_')
            continue;
        canon[j++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    canon[j] = '\0';
    if (strncmp(canon, "SHA2", 4) == 0 && strlen(canon) == 7)
        memmove(canon + 3, canon + 4, 4);
    for (int i = 0; p11_digests[i].name != NULL; i++)
        if (strcmp(canon, p11_digests[i].name) == 0)
            return i;
    return -1;
}

/* Finds the key object and, when the token allows it, makes a session copy of it: operations on a session
 * object skip the token object store (about 60% faster ECDSA on SoftHSM). The copy keeps CKA_SENSITIVE and
 * CKA_EXTRACTABLE, lives in the token's owner session, and is destroyed with the key. Called with k->mu held. */
static azkm_rc find_handle(azkm_tier_key *k, CK_SESSION_HANDLE s, azkm_p11_result *res)
{
    azkm_p11_token *tok = k->pt->tok;
    unsigned long generation = azkm_p11_generation(tok);
    CK_OBJECT_HANDLE h, copy = CK_INVALID_HANDLE;
    azkm_rc rc = azkm_p11_find(tok, s, k->kty == AZKM_KTY_OCT ? CKO_SECRET_KEY : CKO_PRIVATE_KEY, k->ref.id,
                               k->ref.idlen, k->ref.label[0] ? k->ref.label : NULL, &h, res);

    if (rc != AZKM_OK)
        return rc;
    k->is_copy = azkm_p11_copy_object(tok, h, &copy) == CKR_OK;
    __atomic_store_n(&k->handle, k->is_copy ? copy : h, __ATOMIC_RELAXED);
    __atomic_store_n(&k->generation, generation, __ATOMIC_RELEASE);
    return AZKM_OK;
}

/* The key's handle in this process at this generation, found again when it is stale. The fast path takes no
 * lock: find_handle publishes the handle before the generation it belongs to. */
static azkm_rc key_handle(azkm_tier_key *k, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *h, azkm_p11_result *res)
{
    unsigned long current = azkm_p11_generation(k->pt->tok);
    azkm_rc rc = AZKM_OK;

    if (__atomic_load_n(&k->generation, __ATOMIC_ACQUIRE) == current &&
        (*h = __atomic_load_n(&k->handle, __ATOMIC_RELAXED)) != CK_INVALID_HANDLE)
        return AZKM_OK;
    pthread_mutex_lock(&k->mu);
    if (k->generation != current || k->handle == CK_INVALID_HANDLE)
        rc = find_handle(k, s, res);
    *h = k->handle;
    pthread_mutex_unlock(&k->mu);
    return rc;
}

typedef struct {
    azkm_p11_op op;
    p11_key_call call;
} key_op;

static azkm_rc run_with_handle(azkm_p11_token *t, CK_SESSION_HANDLE s, void *arg, azkm_p11_result *res)
{
    key_op *ko = arg;
    azkm_rc rc = key_handle(ko->call.k, s, &ko->call.h, res);

    return rc == AZKM_OK ? ko->op(t, s, &ko->call, res) : rc;
}

azkm_rc p11_key_run_op(azkm_tier_key *k, azkm_p11_op op, void *arg)
{
    key_op ko = {op, {k, CK_INVALID_HANDLE, arg}};

    return azkm_p11_run(k->pt->tok, run_with_handle, &ko);
}

/* C_WrapKey / C_UnwrapKey of the bytes as a session secret object. It holds only what the caller passed in or gets
 * back, so it is neither sensitive nor unextractable. *data_step when the answer came from C_WrapKey / C_UnwrapKey
 * or later. */
static CK_RV wrap_step(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, p11_crypt *c,
                       int *data_step)
{
    p11_template tmpl;
    CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
    CK_RV rv;

    p11_tmpl_init(&tmpl);
    p11_tmpl_add_class(&tmpl, CKO_SECRET_KEY, CKK_GENERIC_SECRET);
    p11_tmpl_add_bool(&tmpl, CKA_TOKEN, 0);
    p11_tmpl_add_bool(&tmpl, CKA_SENSITIVE, 0);
    p11_tmpl_add_bool(&tmpl, CKA_EXTRACTABLE, 1);
    if (c->dir == P11_WRAP)
        p11_tmpl_add_bytes(&tmpl, CKA_VALUE, c->in, c->inlen);
    if (tmpl.overflow) /* six attributes always fit */
        return CKR_TEMPLATE_INCOMPLETE;
    if (c->dir == P11_WRAP) {
        rv = fn->C_CreateObject(s, tmpl.attr, tmpl.n, &obj);
        *data_step = rv == CKR_OK;
        if (rv == CKR_OK)
            rv = fn->C_WrapKey(s, &c->mech, key, obj, c->out, &c->outlen);
    } else {
        CK_ATTRIBUTE val = {CKA_VALUE, c->out, c->outcap};

        *data_step = 1;
        rv = fn->C_UnwrapKey(s, &c->mech, key, (CK_BYTE *)c->in, c->inlen, tmpl.attr, tmpl.n, &obj);
        if (rv == CKR_OK)
            rv = fn->C_GetAttributeValue(s, obj, &val, 1);
        if (rv == CKR_OK)
            c->outlen = val.ulValueLen;
    }
    if (obj != CK_INVALID_HANDLE)
        fn->C_DestroyObject(s, obj);
    return rv;
}

/* C_*Init, then C_Sign / C_Decrypt / C_Encrypt. *data_step when the answer came from the second call. */
static CK_RV crypt_step(CK_FUNCTION_LIST *fn, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, p11_crypt *c,
                        int *data_step)
{
    CK_RV rv = c->dir == P11_SIGN      ? fn->C_SignInit(s, &c->mech, key)
               : c->dir == P11_DECRYPT ? fn->C_DecryptInit(s, &c->mech, key)
                                       : fn->C_EncryptInit(s, &c->mech, key);

    if (rv != CKR_OK)
        return rv;
    *data_step = 1;
    return c->dir == P11_SIGN      ? fn->C_Sign(s, (CK_BYTE *)c->in, c->inlen, c->out, &c->outlen)
           : c->dir == P11_DECRYPT ? fn->C_Decrypt(s, (CK_BYTE *)c->in, c->inlen, c->out, &c->outlen)
                                   : fn->C_Encrypt(s, (CK_BYTE *)c->in, c->inlen, c->out, &c->outlen);
}

static azkm_rc crypt_op(azkm_p11_token *t, CK_SESSION_HANDLE s, void *arg, azkm_p11_result *res)
{
    p11_key_call *call = arg;
    p11_crypt *c = call->arg;
    CK_FUNCTION_LIST *fn = azkm_p11_functions(t);
    CK_RV rv;
    int data_step = 0;

    c->outlen = c->outcap;
    c->init_refused = 0;
    c->data_failed = 0;
    rv = c->dir == P11_WRAP || c->dir == P11_UNWRAP ? wrap_step(fn, s, call->h, c, &data_step)
                                                    : crypt_step(fn, s, call->h, c, &data_step);
    c->rv = rv;
    if (rv == CKR_OK)
        return AZKM_OK;
    c->data_failed = data_step;
    c->init_refused = !data_step && (rv == CKR_ARGUMENTS_BAD || rv == CKR_MECHANISM_PARAM_INVALID ||
                                     rv == CKR_MECHANISM_INVALID || rv == CKR_KEY_FUNCTION_NOT_PERMITTED);
    res->rv = rv;
    /* A decryption or unwrap the token refused may say something about the ciphertext: a second try would take
     * longer on bad ciphertexts only. */
    res->final = data_step && (c->dir == P11_DECRYPT || c->dir == P11_UNWRAP);
    return azkm_p11_fail(t, rv, c->action);
}

azkm_rc p11_key_run(p11_crypt *c)
{
    c->rv = CKR_OK;
    return p11_key_run_op(c->k, crypt_op, c);
}

static azkm_rc public_op(azkm_p11_token *t, CK_SESSION_HANDLE s, void *arg, azkm_p11_result *res)
{
    p11_key_call *call = arg;
    EVP_PKEY **pub = call->arg;

    (void)t;
    (void)res;
    return p11_public_pkey(call->k->pt, s, call->h, AZKM_KTY_RSA, pub);
}

EVP_PKEY *p11_key_public(azkm_tier_key *k)
{
    EVP_PKEY *pub = NULL;

    pthread_mutex_lock(&k->mu);
    pub = k->pub;
    pthread_mutex_unlock(&k->mu);
    if (pub != NULL)
        return pub;
    if (p11_key_run_op(k, public_op, &pub) != AZKM_OK)
        return NULL;
    pthread_mutex_lock(&k->mu);
    if (k->pub == NULL)
        k->pub = pub;
    else
        EVP_PKEY_free(pub); /* another thread got there first */
    pub = k->pub;
    pthread_mutex_unlock(&k->mu);
    return pub;
}

/* The catalog record names its token object by id and label: both must be this version's, so that a reference
 * copied from another key's record is refused. */
static azkm_rc check_reference(const azkm_tier_ref *ref, const p11_ref *r)
{
    char label[256];
    unsigned char id[16];

    if (r->adopted)
        return AZKM_OK;
    p11_object_label(ref, label, sizeof(label));
    p11_version_id(ref->version, id);
    if (r->idlen != sizeof(id) || memcmp(r->id, id, sizeof(id)) != 0 || strcmp(r->label, label) != 0)
        return azkm_fail(AZKM_E_INTEGRITY,
                         "vault %s: integrity check failed for key %s version %s: its token reference names "
                         "another key's object",
                         ref->vault, ref->name, ref->version);
    return AZKM_OK;
}

/* At load: the object is found (so that a missing token, PIN or object is reported now) and its size read. */
static azkm_rc load_op(azkm_p11_token *t, CK_SESSION_HANDLE s, void *arg, azkm_p11_result *res)
{
    p11_key_call *call = arg;
    azkm_tier_key *k = call->k;
    CK_FUNCTION_LIST *fn = azkm_p11_functions(t);
    CK_ULONG vlen = 0;
    CK_ATTRIBUTE a = {k->kty == AZKM_KTY_OCT ? CKA_VALUE_LEN : CKA_MODULUS, NULL, 0};

    (void)res;
    if (k->kty == AZKM_KTY_EC || k->kty == AZKM_KTY_OKP)
        return AZKM_OK;
    if (k->kty == AZKM_KTY_OCT) {
        a.pValue = &vlen;
        a.ulValueLen = sizeof(vlen);
    }
    if (fn->C_GetAttributeValue(s, call->h, &a, 1) == CKR_OK) {
        k->key_bits = k->kty == AZKM_KTY_OCT ? (unsigned)(vlen * 8) : (unsigned)(a.ulValueLen * 8);
        k->modulus_len = k->kty == AZKM_KTY_RSA ? a.ulValueLen : 0;
    }
    return AZKM_OK;
}

azkm_rc p11_load(azkm_tier *t, const azkm_tier_ref *ref, const unsigned char *material, size_t len,
                 azkm_tier_key **out)
{
    azkm_tier_key *k = OPENSSL_zalloc(sizeof(*k));
    azkm_rc rc;

    if (k == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory");
    k->pt = t->impl;
    k->kty = ref->kty;
    k->handle = CK_INVALID_HANDLE;
    pthread_mutex_init(&k->mu, NULL);
    snprintf(k->name, sizeof(k->name), "azkm://%s/keys/%s/%s", ref->vault, ref->name, ref->version);
    rc = p11_parse_material(material, len, &k->ref);
    if (rc == AZKM_OK)
        rc = check_reference(ref, &k->ref);
    if (rc == AZKM_OK)
        rc = p11_key_run_op(k, load_op, NULL);
    if (rc != AZKM_OK) {
        azkm_rc keep = rc;

        rc = azkm_fail(keep, "key %s: %s", k->name, azkm_last_error());
        p11_key_free(k);
        return rc;
    }
    azkm_clear_error();
    *out = k;
    return AZKM_OK;
}

void p11_key_free(azkm_tier_key *k)
{
    if (k == NULL)
        return;
    if (k->is_copy)
        azkm_p11_destroy_copy(k->pt->tok, k->handle, k->generation);
    EVP_PKEY_free(k->pub);
    pthread_mutex_destroy(&k->mu);
    OPENSSL_free(k);
}
