/* AES with an oct key of a remote vault: encrypt/decrypt (A128GCM..A256GCM) and wrapkey/unwrapkey (A128KW..A256KW,
 * CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD), all through azkmd, since an oct key has no public part to use here. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "azkm/base64.h"
#include "tiers/remote/remote_cipher.h"

#define GCM_IV_LEN 12
#define GCM_TAG_LEN 16

/* Key Vault's name of the AES algorithm p asks for (the size it names, else the key's own). */
static void aes_alg(const azkm_cipher_params *p, unsigned key_bits, char alg[24])
{
    unsigned bits = p->key_bits != 0 ? p->key_bits : key_bits;

    if (p->scheme == AZKM_ENC_AES_GCM)
        snprintf(alg, 24, "A%uGCM", bits);
    else if (p->scheme == AZKM_ENC_AES_KWP)
        snprintf(alg, 24, "CKM_AES_KEY_WRAP_PAD");
    else if (p->key_bits != 0)
        snprintf(alg, 24, "A%uKW", bits);
    else
        snprintf(alg, 24, "CKM_AES_KEY_WRAP");
}

static int set_b64(json_t *body, const char *member, const unsigned char *bytes, size_t len)
{
    char *text = azkm_b64url_encode(bytes, len);
    int ok = text != NULL && json_object_set_new(body, member, json_string(text)) == 0;

    if (text != NULL)
        OPENSSL_cleanse(text, strlen(text));
    azkm_free(text);
    return ok;
}

/* {"alg", "value"[, "iv", "aad", "tag"]}: AES-GCM's IV when given, additional data, and the tag to check. */
static json_t *aes_body(const azkm_cipher_params *p, int forward, unsigned key_bits, const unsigned char *in,
                        size_t inlen)
{
    json_t *body = json_object();
    char alg[24];
    int gcm = p->scheme == AZKM_ENC_AES_GCM, ok;

    aes_alg(p, key_bits, alg);
    ok = body != NULL && json_object_set_new(body, "alg", json_string(alg)) == 0 &&
         set_b64(body, "value", in, inlen);
    if (ok && gcm && p->iv != NULL)
        ok = set_b64(body, "iv", p->iv, p->iv_len);
    if (ok && gcm && p->aad_len > 0)
        ok = set_b64(body, "aad", p->aad, p->aad_len);
    if (ok && gcm && !forward)
        ok = set_b64(body, "tag", p->tag, GCM_TAG_LEN);
    if (!ok) {
        json_decref(body);
        return NULL;
    }
    return body;
}

/* AES-GCM encryption's answer also carries the IV azkmd used and the tag. */
static azkm_rc gcm_answer(const char *entry, const json_t *resp, const azkm_cipher_params *p)
{
    unsigned char *iv = NULL, *tag = NULL;
    size_t ivlen = 0, taglen = 0;
    azkm_rc rc = azkm_remote_b64_member(entry, resp, "iv", &iv, &ivlen);

    if (rc == AZKM_OK)
        rc = azkm_remote_b64_member(entry, resp, "tag", &tag, &taglen);
    if (rc == AZKM_OK &&
        (ivlen != GCM_IV_LEN || taglen != GCM_TAG_LEN || (p->iv != NULL && memcmp(p->iv, iv, GCM_IV_LEN) != 0)))
        rc = azkm_fail(AZKM_E_CORRUPT,
                       "remote vault %s: azkmd's AES-GCM answer has no 12-byte IV (the one given) "
                       "and 16-byte tag",
                       entry);
    if (rc == AZKM_OK) {
        memcpy(p->tag, tag, GCM_TAG_LEN);
        if (p->iv == NULL && p->iv_out != NULL)
            memcpy(p->iv_out, iv, GCM_IV_LEN);
    }
    azkm_free(iv);
    azkm_free(tag);
    return rc;
}

azkm_rc azkm_remote_aes(azkm_remote_client *c, const char *entry, const char *keypath, unsigned op,
                        const azkm_cipher_params *p, unsigned key_bits, const unsigned char *in, size_t inlen,
                        unsigned char *out, size_t *outlen)
{
    int forward = op == AZKM_OP_ENCRYPT || op == AZKM_OP_WRAP;
    const char *verb = op == AZKM_OP_ENCRYPT   ? "encrypt"
                       : op == AZKM_OP_DECRYPT ? "decrypt"
                       : op == AZKM_OP_WRAP    ? "wrapkey"
                                               : "unwrapkey";
    char path[AZKM_NAME_MAX + AZKM_VERSION_LEN + 32];
    json_t *body = NULL, *resp = NULL;
    unsigned char *value = NULL;
    size_t vlen = 0;
    azkm_rc rc = AZKM_OK;

    if (p->scheme == AZKM_ENC_AES_GCM && p->tag == NULL) /* as the software tier says it */
        return azkm_fail(AZKM_E_INVALID, "AES-GCM needs a buffer for the 16-byte tag");
    if ((body = aes_body(p, forward, key_bits, in, inlen)) == NULL)
        rc = azkm_fail(AZKM_E_NOMEM, "out of memory");
    snprintf(path, sizeof(path), "%s/%s", keypath, verb);
    if (rc == AZKM_OK)
        rc = azkm_remote_call(c, "POST", path, body, &resp);
    if (rc == AZKM_OK)
        rc = azkm_remote_b64_member(entry, resp, "value", &value, &vlen);
    /* The caller's buffer holds inlen + 16 bytes: a longer answer never reaches it. */
    if (rc == AZKM_OK && vlen > inlen + (forward ? 16 : 0))
        rc = azkm_fail(AZKM_E_CORRUPT, "remote vault %s: azkmd's %s answer (%zu bytes) is longer than it can be",
                       entry, verb, vlen);
    if (rc == AZKM_OK && forward && p->scheme == AZKM_ENC_AES_GCM)
        rc = gcm_answer(entry, resp, p);
    if (rc == AZKM_OK) {
        memcpy(out, value, vlen);
        *outlen = vlen;
    }
    if (value != NULL)
        OPENSSL_cleanse(value, vlen);
    azkm_free(value);
    azkm_remote_json_clear_free(body); /* the plaintext among their members */
    azkm_remote_json_clear_free(resp);
    return rc;
}
