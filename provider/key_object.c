/* The key object shared by store, decoders, key management, signature and cipher: made by loading a vault key by
 * URI (or empty, for an imported public key), reference counted, checked before private use, and passed to OpenSSL
 * by reference so that the private half stays in the keystore. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "errors.h"
#include "key_object.h"

AZKM_PKEY *azkm_pkey_new(AZKM_PROVCTX *pctx, azkm_pkey_type type)
{
    AZKM_PKEY *pk = OPENSSL_zalloc(sizeof(*pk));

    if (pk == NULL)
        return NULL;
    pk->refcnt = 1;
    pk->provctx = pctx;
    pk->type = type;
    __atomic_add_fetch(&pctx->live_keys, 1, __ATOMIC_RELAXED);
    return pk;
}

int azkm_pkey_up_ref(AZKM_PKEY *pk)
{
    __atomic_add_fetch(&pk->refcnt, 1, __ATOMIC_RELAXED);
    return 1;
}

void azkm_pkey_free(AZKM_PKEY *pk)
{
    if (pk == NULL || __atomic_sub_fetch(&pk->refcnt, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    azkm_key_free(pk->key);
    EVP_PKEY_free(pk->pub);
    OPENSSL_free(pk->uri);
    OPENSSL_free(pk->ref_uri);
    __atomic_sub_fetch(&pk->provctx->live_keys, 1, __ATOMIC_RELAXED);
    OPENSSL_free(pk);
}

const char *azkm_pkey_type_name(azkm_pkey_type type)
{
    switch (type) {
    case AZKM_TYPE_RSA:
        return "RSA";
    case AZKM_TYPE_RSA_PSS:
        return "RSA-PSS";
    case AZKM_TYPE_EC:
        return "EC";
    case AZKM_TYPE_ED25519:
        return "ED25519";
    case AZKM_TYPE_ED448:
        return "ED448";
    }
    return "?";
}

static azkm_pkey_family family_of(const AZKM_PKEY *pk)
{
    switch (pk->type) {
    case AZKM_TYPE_RSA:
    case AZKM_TYPE_RSA_PSS:
        return AZKM_FAMILY_RSA;
    case AZKM_TYPE_ED25519:
    case AZKM_TYPE_ED448:
        return AZKM_FAMILY_EDDSA;
    default:
        return AZKM_FAMILY_EC;
    }
}

static const char *family_name(int family)
{
    return family == AZKM_FAMILY_RSA ? "RSA" : family == AZKM_FAMILY_EDDSA ? "EdDSA (Ed25519, Ed448)" : "EC";
}

/* The provider's key type of a vault key, 0 for one OpenSSL cannot use as a private key (oct). */
static azkm_pkey_type type_of(const azkm_key_info *info)
{
    switch (info->kty) {
    case AZKM_KTY_RSA:
        return info->pss.enabled ? AZKM_TYPE_RSA_PSS : AZKM_TYPE_RSA;
    case AZKM_KTY_EC:
        return AZKM_TYPE_EC;
    case AZKM_KTY_OKP:
        return info->curve == AZKM_CURVE_ED448 ? AZKM_TYPE_ED448 : AZKM_TYPE_ED25519;
    default:
        return 0;
    }
}

int azkm_pkey_set_pub(AZKM_PKEY *pk, EVP_PKEY *pub)
{
    EVP_PKEY_free(pk->pub);
    pk->pub = pub;
    pk->bits = EVP_PKEY_get_bits(pub);
    pk->security_bits = EVP_PKEY_get_security_bits(pub);
    pk->max_size = EVP_PKEY_get_size(pub);
    return pk->bits > 0 && pk->max_size > 0;
}

/* ---- loading by URI ------------------------------------------------------------------------------------ */

/* The URI a reference file records: vault and key names as stored, a version only if the caller named one. */
static char *reference_uri(const char *uri, const azkm_key_info *info)
{
    char canonical[AZKM_URI_MAX];
    azkm_uri parsed;

    memset(&parsed, 0, sizeof(parsed));
    if (azkm_uri_parse(uri, &parsed) == AZKM_OK) {
        strcpy(parsed.vault, info->vault);
        strcpy(parsed.name, info->name);
    }
    if (parsed.vault[0] == '\0' || azkm_uri_format(&parsed, canonical, sizeof(canonical)) != AZKM_OK)
        return NULL;
    return OPENSSL_strdup(canonical);
}

/* The public half, from the DER the keystore keeps, into our library context. */
static int set_pub_der(AZKM_PKEY *pk, const azkm_key_info *info)
{
    const unsigned char *p = info->public_der;
    EVP_PKEY *pub;

    if (p == NULL)
        return 0;
    pub = d2i_PUBKEY_ex(NULL, &p, (long)info->public_der_len, pk->provctx->libctx, NULL);
    return pub != NULL && azkm_pkey_set_pub(pk, pub);
}

/* The errors are raised here, so that the error line names azkm_pkey_load_uri whatever the caller. */
AZKM_PKEY *azkm_pkey_load_uri(AZKM_PROVCTX *pctx, const char *uri)
{
    azkm_keystore *ks = azkm_prov_keystore(pctx);
    const azkm_key_info *info;
    AZKM_PKEY *pk = NULL;
    azkm_key *key = NULL;
    azkm_rc rc;

    if (ks == NULL)
        return NULL;
    rc = azkm_key_load_uri(ks, uri, &key);
    if (rc != AZKM_OK) {
        if (rc == AZKM_E_INVALID)
            AZKM_RAISE(pctx, AZKM_R_INVALID_URI, "%s", azkm_last_error());
        else
            AZKM_RAISE_RC_LOADING(pctx, rc, uri);
        return NULL;
    }
    info = azkm_key_get_info(key);
    if (type_of(info) == 0) {
        AZKM_RAISE(pctx, AZKM_R_UNSUPPORTED,
                   "key %s is of type %s: only RSA, EC and OKP keys are usable through OpenSSL",
                   azkm_key_get_uri(key), azkm_kty_name(info->kty, info->protection));
        goto err;
    }
    if ((pk = azkm_pkey_new(pctx, type_of(info))) == NULL)
        goto err;
    pk->pss = info->pss;
    if (!set_pub_der(pk, info)) {
        AZKM_RAISE(pctx, AZKM_R_CORRUPT, "key %s: cannot decode its public key", azkm_key_get_uri(key));
        goto err;
    }
    pk->uri = OPENSSL_strdup(azkm_key_get_uri(key));
    pk->ref_uri = reference_uri(uri, info);
    if (pk->uri == NULL || pk->ref_uri == NULL)
        goto err;
    pk->key = key;
    return pk;
err:
    azkm_key_free(key);
    azkm_pkey_free(pk);
    return NULL;
}

/* ---- checks before private use ------------------------------------------------------------------------- */

/* A server loads its private key once, at startup, and signs with it for days: a key that cannot work now
 * (disabled, not yet valid, expired, or with none of sign, decrypt and deriveBits in key_ops) is refused at load,
 * so that the server refuses to start with the keystore's reason instead of failing its first handshake. The
 * operations check again (azkm_pkey_hold), for keys that expire while loaded. */
int azkm_pkey_private_usable(const AZKM_PKEY *pk)
{
    return pk->key == NULL || azkm_key_check(pk->key, AZKM_OP_SIGN) == AZKM_OK ||
           azkm_key_check(pk->key, AZKM_OP_DECRYPT) == AZKM_OK ||
           azkm_key_check(pk->key, AZKM_OP_DERIVE) == AZKM_OK;
}

int azkm_pkey_check_private_use(AZKM_PKEY *pk)
{
    const azkm_key_info *info;
    azkm_rc rc;

    if (azkm_pkey_private_usable(pk))
        return 1;
    /* Run the sign check again so that its message (the first refusal it meets) is the one raised. */
    rc = azkm_key_check(pk->key, AZKM_OP_SIGN);
    info = azkm_key_get_info(pk->key);
    if ((info->attrs.key_ops & (AZKM_OP_SIGN | AZKM_OP_DECRYPT | AZKM_OP_DERIVE)) == 0 && rc == AZKM_E_FORBIDDEN &&
        strstr(azkm_last_error(), "does not permit") != NULL)
        AZKM_RAISE(pk->provctx, AZKM_R_FORBIDDEN, "%s: a private key needs sign, decrypt or deriveBits",
                   azkm_last_error());
    else
        AZKM_RAISE_RC(pk->provctx, rc);
    return 0;
}

int azkm_pkey_hold(AZKM_PROVCTX *pctx, const char *file, int line, const char *func, AZKM_PKEY **held,
                   void *keydata, int rsa, unsigned private_op)
{
    AZKM_PKEY *pk = keydata;
    azkm_rc rc;

    if (pk == NULL || pk->pub == NULL || (int)family_of(pk) != rsa) {
        azkm_raise(pctx, file, line, func, AZKM_R_NO_PRIVATE_KEY, "not an azkm %s key", family_name(rsa));
        return 0;
    }
    if (private_op != 0) {
        if (pk->key == NULL) {
            azkm_raise(pctx, file, line, func, AZKM_R_NO_PRIVATE_KEY,
                       "this azkm key has no private half to %s with", azkm_op_name(private_op));
            return 0;
        }
        /* Refuse early (disabled, not yet valid, expired, the operation not in key_ops), naming the key. */
        if ((rc = azkm_key_check(pk->key, private_op)) != AZKM_OK) {
            azkm_raise_rc(pctx, file, line, func, rc);
            return 0;
        }
    }
    if (*held != pk) {
        azkm_pkey_free(*held);
        azkm_pkey_up_ref(pk);
        *held = pk;
    }
    return 1;
}

/* ---- passing by reference ------------------------------------------------------------------------------ */

int azkm_pkey_pass(AZKM_PKEY *pk, int want_private, OSSL_CALLBACK *cb, void *cbarg)
{
    int object_type = OSSL_OBJECT_PKEY;
    OSSL_PARAM params[4];

    if (!want_private) {
        /* The caller asked for the public key: hand out no private reference at all. */
        azkm_key_free(pk->key);
        pk->key = NULL;
    }
    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &object_type);
    params[1] =
        OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, (char *)azkm_pkey_type_name(pk->type), 0);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &pk, sizeof(pk));
    params[3] = OSSL_PARAM_construct_end();
    return cb(params, cbarg);
}

int azkm_pkey_hand_out(AZKM_PKEY *pk, int want_private, OSSL_CALLBACK *cb, void *cbarg)
{
    if (want_private && !azkm_pkey_check_private_use(pk))
        return 0;
    return azkm_pkey_pass(pk, want_private, cb, cbarg);
}

AZKM_PKEY *azkm_pkey_from_reference(const void *reference, size_t reference_sz)
{
    AZKM_PKEY *pk;

    if (reference == NULL || reference_sz != sizeof(pk))
        return NULL;
    memcpy(&pk, reference, sizeof(pk));
    return pk;
}
