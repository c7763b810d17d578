/* PKCS#11 attribute templates for the HSM tier: a fixed-capacity attribute list that refuses to overflow, and the
 * one statement of which attributes azkm's key objects get (token, private, sensitive, never extractable, and the
 * usage flags their key_ops need, no more). */
#ifndef AZKM_P11_TEMPLATE_H
#define AZKM_P11_TEMPLATE_H

#include <stddef.h>

#include <p11-kit/pkcs11.h>

#include "tiers/tier.h"

#define P11_TEMPLATE_MAX 32

/* Byte values are given by pointer and must outlive the template's use; booleans and numbers are held in the
 * template itself, so a template is used where it was built and never copied by value. */
typedef struct {
    CK_ATTRIBUTE attr[P11_TEMPLATE_MAX];
    CK_ULONG num[P11_TEMPLATE_MAX];
    CK_ULONG n;
    int overflow; /* an attribute did not fit: the template is incomplete, and p11_tmpl_check says so */
} p11_template;

/* Usage flags of a key object (CKA_SIGN ... CKA_DERIVE). */
#define P11_USE_SIGN 0x01u
#define P11_USE_VERIFY 0x02u
#define P11_USE_ENCRYPT 0x04u
#define P11_USE_DECRYPT 0x08u
#define P11_USE_WRAP 0x10u
#define P11_USE_UNWRAP 0x20u
#define P11_USE_DERIVE 0x40u
#define P11_USE_SIGN_RECOVER 0x80u
#define P11_USE_VERIFY_RECOVER 0x100u
/* Every usage flag an object of each class has, all stated (true or false) in azkm's templates. */
#define P11_PRIVATE_USES (P11_USE_SIGN | P11_USE_SIGN_RECOVER | P11_USE_DECRYPT | P11_USE_UNWRAP | P11_USE_DERIVE)
#define P11_PUBLIC_USES (P11_USE_VERIFY | P11_USE_VERIFY_RECOVER | P11_USE_ENCRYPT | P11_USE_WRAP | P11_USE_DERIVE)
#define P11_SECRET_USES                                                                                            \
    (P11_USE_SIGN | P11_USE_VERIFY | P11_USE_ENCRYPT | P11_USE_DECRYPT | P11_USE_WRAP | P11_USE_UNWRAP |           \
     P11_USE_DERIVE)

/* Where a key object lives: on the token, or only in the session that made it (BYOK's transfer key). */
typedef enum { P11_TOKEN_OBJECT, P11_SESSION_OBJECT } p11_lifetime;

void p11_tmpl_init(p11_template *t);
/* Each adds one attribute, or marks the template overflowed when it is full (nothing is written past its end). */
void p11_tmpl_add_bool(p11_template *t, CK_ATTRIBUTE_TYPE type, int value);
void p11_tmpl_add_ulong(p11_template *t, CK_ATTRIBUTE_TYPE type, CK_ULONG value);
void p11_tmpl_add_bytes(p11_template *t, CK_ATTRIBUTE_TYPE type, const void *value, size_t len);
/* CKA_CLASS and CKA_KEY_TYPE. */
void p11_tmpl_add_class(p11_template *t, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt);
/* CKA_ID, and CKA_LABEL unless label is NULL. */
void p11_tmpl_add_ref(p11_template *t, const unsigned char *id, size_t idlen, const char *label);
/* AZKM_OK, or the error to report for a template that overflowed. */
azkm_rc p11_tmpl_check(const p11_template *t);

/* What an object of class cls (CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY) may do for a key with these
 * key_ops (AZKM_OP_*): exactly the usage flags the mechanisms azkm runs for them need, for generated, imported,
 * BYOK and re-flagged keys alike (p11_template.c says which and why). */
unsigned p11_usage(CK_OBJECT_CLASS cls, unsigned key_ops);
/* Every usage flag an object of class cls has (P11_*_USES). */
unsigned p11_usage_all(CK_OBJECT_CLASS cls);
/* The usage attributes of an object of class cls for these key_ops, every one stated (true or false), for a
 * template or for C_SetAttributeValue. */
void p11_tmpl_add_usage(p11_template *t, CK_OBJECT_CLASS cls, unsigned key_ops);
/* The policy of every private and secret key object azkm makes: on the token it is private (invisible without
 * login), and wherever it lives sensitive and not extractable, so that the token never hands out its value; its
 * usage flags are what key_ops need (p11_usage). */
void p11_tmpl_key_policy(p11_template *t, p11_lifetime lifetime, CK_OBJECT_CLASS cls, unsigned key_ops);
/* The policy of azkm's public key objects: token objects, readable without login, usage flags as key_ops need. */
void p11_tmpl_public_policy(p11_template *t, unsigned key_ops);
/* A secret handed back to the caller (the output of ECDH): a generic secret of value_len bytes that lives only in
 * the session that made it, not sensitive and extractable, so that its value can be read and the object destroyed.
 * It holds nothing the caller does not get anyway; the key it came from keeps its own policy. */
void p11_tmpl_session_secret(p11_template *t, CK_ULONG value_len);
/* A search for token objects only (session copies of a key share its id) of class cls with this CKA_ID, and this
 * CKA_LABEL unless label is NULL. */
void p11_tmpl_token_search(p11_template *t, CK_OBJECT_CLASS cls, const unsigned char *id, size_t idlen,
                           const char *label);

#endif
