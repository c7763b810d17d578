/* azkm-bench: private-key operations per second through OpenSSL's EVP API (a fresh context per operation, the way
 * libssl signs and decrypts), for the same keys on five paths: the default provider with a PEM file, azkm's
 * software tier, azkm's HSM tier, direct PKCS#11 on the same token key (the ceiling), and pkcs11-provider.
 *
 * Each path runs in its own child process (each one initialises OpenSSL and the PKCS#11 module on its own, as a
 * server would); the parent sends "run" requests round-robin across paths so that machine noise hits every path
 * alike, and prints medians over the runs. --smoke runs every path briefly and checks every result. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include <p11-kit/pkcs11.h>

#define MAX_THREADS 8
#define MAX_KEYS 8
#define MSG_LEN 130 /* about what TLS 1.3 signs: 64 spaces, a context string, a transcript hash */

/* ---- keys and operations -------------------------------------------------------------------------------- */
typedef struct {
    char name[32];
    char pem[1024];       /* PEM file of the software key (path 1; the same key is imported into the sw vault) */
    char sw_uri[512];     /* azkm://<sw vault>/keys/<name> */
    char hsm_uri[512];    /* azkm://<hsm vault>/keys/<name> */
    char hsm_version[64]; /* 32 hex: the HSM object's CKA_ID */
} key_spec;

enum kind { K_PKCS1, K_PSS, K_OAEP, K_ECDSA };

typedef struct {
    const char *name;
    const char *key;
    enum kind kind;
    const char *md;
} op_spec;

static const op_spec OPS[] = {
    {"RSA-2048 PKCS#1 sign", "rsa2048", K_PKCS1, "SHA256"}, {"RSA-2048 PSS sign", "rsa2048", K_PSS, "SHA256"},
    {"RSA-3072 PKCS#1 sign", "rsa3072", K_PKCS1, "SHA256"}, {"RSA-3072 PSS sign", "rsa3072", K_PSS, "SHA256"},
    {"RSA-2048 OAEP decrypt", "rsa2048", K_OAEP, "SHA1"},   {"ECDSA P-256 sign", "ec256", K_ECDSA, "SHA256"},
    {"ECDSA P-384 sign", "ec384", K_ECDSA, "SHA384"},
};
#define N_OPS (sizeof(OPS) / sizeof(OPS[0]))

/* ---- paths ------------------------------------------------------------------------------------------------ */
enum path_id { P_DEFAULT, P_AZKM_SW, P_AZKM_HSM, P_P11_TOKEN, P_P11_SESSION, P_P11PROV, P_AZKM_REMOTE, N_PATHS };
static const char *PATH_NAMES[N_PATHS] = {"default",     "azkm-sw",     "azkm-hsm",   "p11-token",
                                          "p11-session", "pkcs11-prov", "azkm-remote"};
static const char *PATH_TITLES[N_PATHS] = {
    "(1) OpenSSL default provider, PEM file",          "(2) azkm software tier (provider, azkm:// URI)",
    "(3) azkm HSM tier (provider, azkm:// URI)",       "(4a) direct PKCS#11, token object",
    "(4b) direct PKCS#11, session copy (ceiling)",     "(5) pkcs11-provider, same token key",
    "(6) azkm remote vault: the software key in azkmd"};

static struct {
    key_spec keys[MAX_KEYS];
    size_t n_keys;
    const char *plain_conf;   /* OPENSSL_CONF for path 1: default provider only */
    const char *azkm_conf;    /* OPENSSL_CONF for paths 2 and 3 */
    const char *p11prov_conf; /* OPENSSL_CONF for path 5; NULL: skipped */
    const char *remote_ks;    /* path 6: a keystore whose vault of the azkm-sw URIs is remote; NULL: skipped */
    const char *module;
    const char *token;
    char pin[128];
    int smoke;
    int runs;
    double seconds;
    int threads[4];
    int n_threads;
    const char *tsv;
    const char *only;     /* comma-separated path names */
    const char *only_ops; /* comma-separated substrings of the operations to run */
} cfg = {.runs = 5, .seconds = 1.0, .threads = {1, 2}, .n_threads = 2};

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "azkm-bench: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    ERR_print_errors_fp(stderr);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const key_spec *find_key(const char *name)
{
    for (size_t i = 0; i < cfg.n_keys; i++)
        if (strcmp(cfg.keys[i].name, name) == 0)
            return &cfg.keys[i];
    die("key %s is not in the keys file", name);
    return NULL;
}

/* ---- per-path state (in the child) ------------------------------------------------------------------------ */
static unsigned char msg[MSG_LEN];
static unsigned char oaep_pt[48];
static OSSL_LIB_CTX *verify_ctx; /* default provider only: independent check of every path's results */

typedef struct {
    EVP_PKEY *pkey;        /* EVP paths: the key as the path loads it */
    EVP_PKEY *pub;         /* in verify_ctx */
    unsigned char ct[512]; /* OAEP ciphertext of oaep_pt */
    size_t ct_len;
    CK_OBJECT_HANDLE obj; /* direct PKCS#11 */
    int is_ec;
    size_t ec_half;
} key_state;

static key_state kstate[MAX_KEYS];
static enum path_id my_path;

static CK_FUNCTION_LIST *p11;
static CK_SESSION_HANDLE p11_main;
static CK_SESSION_HANDLE p11_sess[MAX_THREADS];

static key_state *state_for(const char *key)
{
    const key_spec *k = find_key(key);
    return &kstate[k - cfg.keys];
}

/* ---- EVP operations (paths 1, 2, 3, 5) -------------------------------------------------------------------- */
static int evp_sign(EVP_PKEY *pkey, const op_spec *op, unsigned char *sig, size_t *siglen)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = mctx != NULL && EVP_DigestSignInit_ex(mctx, &pctx, op->md, NULL, NULL, pkey, NULL) == 1;
    if (ok && op->kind == K_PSS)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    ok = ok && EVP_DigestSign(mctx, sig, siglen, msg, sizeof(msg)) == 1;
    EVP_MD_CTX_free(mctx);
    return ok;
}

static int evp_decrypt(EVP_PKEY *pkey, const key_state *ks, unsigned char *out, size_t *outlen)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = c != NULL && EVP_PKEY_decrypt_init(c) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_oaep_md_name(c, "SHA1", NULL) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md_name(c, "SHA1", NULL) == 1 &&
             EVP_PKEY_decrypt(c, out, outlen, ks->ct, ks->ct_len) == 1;
    EVP_PKEY_CTX_free(c);
    return ok;
}

/* ---- direct PKCS#11 (path 4): the minimum a client must do per operation ---------------------------------- */
static const unsigned char SHA256_DI[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                          0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

static int p11_op(int tid, const op_spec *op, const key_state *ks, unsigned char *out, size_t *outlen)
{
    CK_SESSION_HANDLE s = p11_sess[tid];
    unsigned char buf[128];
    unsigned int hlen = 0;
    CK_ULONG len = *outlen;
    CK_RV rv;

    if (op->kind == K_OAEP) {
        CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
        CK_MECHANISM m = {CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
        rv = p11->C_DecryptInit(s, &m, ks->obj);
        if (rv == CKR_OK)
            rv = p11->C_Decrypt(s, (CK_BYTE *)ks->ct, ks->ct_len, out, &len);
        *outlen = len;
        return rv == CKR_OK;
    }
    /* hash in software, as every path does */
    size_t off = op->kind == K_PKCS1 ? sizeof(SHA256_DI) : 0;
    if (!EVP_Digest(msg, sizeof(msg), buf + off, &hlen, strcmp(op->md, "SHA384") == 0 ? EVP_sha384() : EVP_sha256(),
                    NULL))
        return 0;
    CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    if (op->kind == K_PKCS1) {
        memcpy(buf, SHA256_DI, sizeof(SHA256_DI));
        m.mechanism = CKM_RSA_PKCS;
    } else if (op->kind == K_PSS) {
        m.mechanism = CKM_RSA_PKCS_PSS;
        m.pParameter = &pss;
        m.ulParameterLen = sizeof(pss);
    }
    rv = p11->C_SignInit(s, &m, ks->obj);
    if (rv == CKR_OK)
        rv = p11->C_Sign(s, buf, off + hlen, out, &len);
    *outlen = len;
    return rv == CKR_OK;
}

/* r||s from the token -> DER, so that every path's output verifies the same way */
static int ecdsa_raw_to_der(const unsigned char *raw, size_t len, unsigned char *der, size_t *derlen)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, len / 2, NULL), *ss = BN_bin2bn(raw + len / 2, len / 2, NULL);
    ECDSA_SIG_set0(s, r, ss);
    unsigned char *p = der;
    int n = i2d_ECDSA_SIG(s, &p);
    ECDSA_SIG_free(s);
    if (n <= 0)
        return 0;
    *derlen = n;
    return 1;
}

/* ---- one operation, any path ------------------------------------------------------------------------------ */
static int do_op(int tid, const op_spec *op, key_state *ks, unsigned char *out, size_t *outlen)
{
    if (my_path == P_P11_TOKEN || my_path == P_P11_SESSION)
        return p11_op(tid, op, ks, out, outlen);
    if (op->kind == K_OAEP)
        return evp_decrypt(ks->pkey, ks, out, outlen);
    return evp_sign(ks->pkey, op, out, outlen);
}

static int check_result(const op_spec *op, key_state *ks, const unsigned char *out, size_t outlen)
{
    if (op->kind == K_OAEP)
        return outlen == sizeof(oaep_pt) && memcmp(out, oaep_pt, outlen) == 0;
    unsigned char der[256];
    if (op->kind == K_ECDSA && (my_path == P_P11_TOKEN || my_path == P_P11_SESSION)) {
        if (!ecdsa_raw_to_der(out, outlen, der, &outlen))
            return 0;
        out = der;
    }
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = EVP_DigestVerifyInit_ex(m, &pctx, op->md, verify_ctx, NULL, ks->pub, NULL) == 1;
    if (ok && op->kind == K_PSS)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    ok = ok && EVP_DigestVerify(m, out, outlen, msg, sizeof(msg)) == 1;
    EVP_MD_CTX_free(m);
    return ok;
}

/* ---- loading keys in the child ---------------------------------------------------------------------------- */
static EVP_PKEY *load_store(const char *uri)
{
    OSSL_STORE_CTX *s = OSSL_STORE_open_ex(uri, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    EVP_PKEY *pk = NULL;
    if (s == NULL)
        die("%s: cannot open %s", PATH_NAMES[my_path], uri);
    OSSL_STORE_expect(s, OSSL_STORE_INFO_PKEY);
    while (pk == NULL && !OSSL_STORE_eof(s)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(s);
        if (info != NULL && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            pk = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(s);
    if (pk == NULL)
        die("%s: no private key at %s", PATH_NAMES[my_path], uri);
    return pk;
}

static EVP_PKEY *to_verify_ctx(EVP_PKEY *pk)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pk, &der);
    const unsigned char *p = der;
    EVP_PKEY *pub = n > 0 ? d2i_PUBKEY_ex(NULL, &p, n, verify_ctx, NULL) : NULL;
    OPENSSL_free(der);
    if (pub == NULL)
        die("%s: cannot export the public key", PATH_NAMES[my_path]);
    return pub;
}

static void hex2bin(const char *hex, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sscanf(hex + 2 * i, "%2hhx", &out[i]);
}

static void p11_setup(int copy)
{
    void *dl = dlopen(cfg.module, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetFunctionList gfl;
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64, found_slot = (CK_ULONG)-1;

    if (dl == NULL || (gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList")) == NULL || gfl(&p11) != CKR_OK)
        die("cannot load %s", cfg.module);
    if (p11->C_Initialize(&args) != CKR_OK || p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        die("C_Initialize/C_GetSlotList failed");
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        char label[33];
        if (p11->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        memcpy(label, ti.label, 32);
        label[32] = 0;
        for (int j = 31; j >= 0 && label[j] == ' '; j--)
            label[j] = 0;
        if (strcmp(label, cfg.token) == 0)
            found_slot = slots[i];
    }
    if (found_slot == (CK_ULONG)-1)
        die("token %s not found", cfg.token);
    if (p11->C_OpenSession(found_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &p11_main) != CKR_OK ||
        p11->C_Login(p11_main, CKU_USER, (CK_UTF8CHAR *)cfg.pin, strlen(cfg.pin)) != CKR_OK)
        die("cannot log in to token %s", cfg.token);
    for (int t = 0; t < MAX_THREADS; t++)
        if (p11->C_OpenSession(found_slot, CKF_SERIAL_SESSION, NULL, NULL, &p11_sess[t]) != CKR_OK)
            die("C_OpenSession failed");
    for (size_t i = 0; i < cfg.n_keys; i++) {
        unsigned char id[16];
        CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
        CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, id, sizeof(id)}};
        CK_OBJECT_HANDLE h;
        CK_ULONG cnt = 0;
        hex2bin(cfg.keys[i].hsm_version, id, sizeof(id));
        if (p11->C_FindObjectsInit(p11_main, tmpl, 2) != CKR_OK ||
            p11->C_FindObjects(p11_main, &h, 1, &cnt) != CKR_OK || p11->C_FindObjectsFinal(p11_main) != CKR_OK ||
            cnt != 1)
            die("HSM key %s (id %s) not found on the token", cfg.keys[i].name, cfg.keys[i].hsm_version);
        if (copy) {
            CK_BBOOL f = CK_FALSE;
            CK_ATTRIBUTE ct[] = {{CKA_TOKEN, &f, sizeof(f)}};
            CK_OBJECT_HANDLE c;
            if (p11->C_CopyObject(p11_main, h, ct, 1, &c) != CKR_OK)
                die("C_CopyObject failed for %s", cfg.keys[i].name);
            h = c;
        }
        kstate[i].obj = h;
    }
}

static void child_setup(void)
{
    const char *conf = my_path == P_DEFAULT                            ? cfg.plain_conf
                       : my_path == P_P11PROV                          ? cfg.p11prov_conf
                       : my_path == P_AZKM_SW || my_path == P_AZKM_HSM ? cfg.azkm_conf
                       : my_path == P_AZKM_REMOTE                      ? cfg.azkm_conf
                                                                       : cfg.plain_conf;
    setenv("OPENSSL_CONF", conf, 1);
    if (my_path == P_AZKM_REMOTE)
        setenv("AZKM_KEYSTORE_DIR", cfg.remote_ks, 1);
    verify_ctx = OSSL_LIB_CTX_new();
    if (verify_ctx == NULL || OSSL_PROVIDER_load(verify_ctx, "default") == NULL)
        die("no verification library context");
    RAND_bytes(msg, sizeof(msg));
    RAND_bytes(oaep_pt, sizeof(oaep_pt));

    if (my_path == P_P11_TOKEN || my_path == P_P11_SESSION) {
        p11_setup(my_path == P_P11_SESSION);
        ERR_clear_error(); /* SoftHSM's own libcrypto use leaves noise (its rdrand engine probe) */
    }
    for (size_t i = 0; i < cfg.n_keys; i++) {
        key_spec *k = &cfg.keys[i];
        key_state *ks = &kstate[i];
        EVP_PKEY *pk = NULL;
        if (my_path == P_DEFAULT) {
            FILE *f = fopen(k->pem, "r");
            if (f == NULL || (pk = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
                die("cannot read %s", k->pem);
            fclose(f);
        } else if (my_path == P_AZKM_SW || my_path == P_AZKM_REMOTE) {
            pk = load_store(k->sw_uri);
        } else if (my_path == P_AZKM_HSM) {
            pk = load_store(k->hsm_uri);
        } else {
            /* pkcs11-provider: the azkm HSM key's object, by CKA_ID = the 16 bytes of its version */
            char uri[512];
            int o = snprintf(uri, sizeof(uri), "pkcs11:token=%s;type=private;id=", cfg.token);
            for (int j = 0; j < 16; j++)
                o += snprintf(uri + o, sizeof(uri) - o, "%%%.2s", k->hsm_version + 2 * j);
            if (my_path == P_P11PROV)
                pk = load_store(uri);
            /* paths 4a/4b take the public key from the token's attributes (p11_public_keys) */
        }
        if (pk != NULL) {
            ks->pkey = pk;
            ks->pub = to_verify_ctx(pk);
        }
    }
}

/* Direct PKCS#11 paths: public keys from the token's public attributes (CKA_MODULUS/EXPONENT, CKA_EC_POINT). */
static void p11_public_keys(void)
{
    for (size_t i = 0; i < cfg.n_keys; i++) {
        key_state *ks = &kstate[i];
        unsigned char id[16];
        CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
        CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, id, sizeof(id)}};
        CK_OBJECT_HANDLE h;
        CK_ULONG cnt = 0;
        hex2bin(cfg.keys[i].hsm_version, id, sizeof(id));
        if (p11->C_FindObjectsInit(p11_main, tmpl, 2) != CKR_OK ||
            p11->C_FindObjects(p11_main, &h, 1, &cnt) != CKR_OK || p11->C_FindObjectsFinal(p11_main) != CKR_OK ||
            cnt != 1)
            die("public key of %s not found on the token", cfg.keys[i].name);
        unsigned char a[1024], b[1024];
        CK_KEY_TYPE kt;
        CK_ATTRIBUTE t1[] = {{CKA_KEY_TYPE, &kt, sizeof(kt)}};
        if (p11->C_GetAttributeValue(p11_main, h, t1, 1) != CKR_OK)
            die("C_GetAttributeValue failed");
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        OSSL_PARAM *params;
        EVP_PKEY_CTX *fc;
        EVP_PKEY *pub = NULL;
        BIGNUM *n = NULL, *e = NULL;
        if (kt == CKK_RSA) {
            CK_ATTRIBUTE t[] = {{CKA_MODULUS, a, sizeof(a)}, {CKA_PUBLIC_EXPONENT, b, sizeof(b)}};
            if (p11->C_GetAttributeValue(p11_main, h, t, 2) != CKR_OK)
                die("C_GetAttributeValue failed");
            n = BN_bin2bn(a, t[0].ulValueLen, NULL);
            e = BN_bin2bn(b, t[1].ulValueLen, NULL);
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
            fc = EVP_PKEY_CTX_new_from_name(verify_ctx, "RSA", NULL);
        } else {
            CK_ATTRIBUTE t[] = {{CKA_EC_POINT, a, sizeof(a)}};
            if (p11->C_GetAttributeValue(p11_main, h, t, 1) != CKR_OK)
                die("C_GetAttributeValue failed");
            /* CKA_EC_POINT is a DER OCTET STRING around the point */
            const unsigned char *p = a;
            ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &p, t[0].ulValueLen);
            if (os == NULL)
                die("bad CKA_EC_POINT");
            size_t plen = ASN1_STRING_length(os);
            memcpy(b, ASN1_STRING_get0_data(os), plen);
            ASN1_OCTET_STRING_free(os);
            OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, plen == 97 ? "P-384" : "P-256", 0);
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, b, plen);
            fc = EVP_PKEY_CTX_new_from_name(verify_ctx, "EC", NULL);
        }
        params = OSSL_PARAM_BLD_to_param(bld);
        if (fc == NULL || EVP_PKEY_fromdata_init(fc) != 1 ||
            EVP_PKEY_fromdata(fc, &pub, EVP_PKEY_PUBLIC_KEY, params) != 1)
            die("cannot build the public key of %s", cfg.keys[i].name);
        ks->pub = pub;
        EVP_PKEY_CTX_free(fc);
        OSSL_PARAM_free(params);
        OSSL_PARAM_BLD_free(bld);
        BN_free(n);
        BN_free(e);
    }
}

static void prepare_ciphertexts(void)
{
    for (size_t i = 0; i < cfg.n_keys; i++) {
        key_state *ks = &kstate[i];
        if (EVP_PKEY_is_a(ks->pub, "EC"))
            continue;
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(verify_ctx, ks->pub, NULL);
        ks->ct_len = sizeof(ks->ct);
        if (c == NULL || EVP_PKEY_encrypt_init(c) != 1 ||
            EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_oaep_md_name(c, "SHA1", NULL) != 1 ||
            EVP_PKEY_encrypt(c, ks->ct, &ks->ct_len, oaep_pt, sizeof(oaep_pt)) != 1)
            die("cannot prepare the OAEP ciphertext for %s", cfg.keys[i].name);
        EVP_PKEY_CTX_free(c);
    }
}

/* ---- timed runs ------------------------------------------------------------------------------------------- */
typedef struct {
    int tid;
    const op_spec *op;
    key_state *ks;
    volatile int *stop;
    pthread_barrier_t *bar;
    long count;
    long errors;
    long bad;
    int verify_all;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    unsigned char out[1024];
    pthread_barrier_wait(w->bar);
    while (!*w->stop) {
        size_t outlen = sizeof(out);
        if (!do_op(w->tid, w->op, w->ks, out, &outlen)) {
            w->errors++;
            ERR_clear_error();
            continue;
        }
        if (w->verify_all && !check_result(w->op, w->ks, out, outlen))
            w->bad++;
        w->count++;
    }
    return NULL;
}

/* Runs one op on nthreads for `seconds`; prints "<ops> <elapsed> <errors> <bad>" to out. */
static void timed_run(FILE *out, size_t opi, int nthreads, double seconds, int verify_all)
{
    const op_spec *op = &OPS[opi];
    key_state *ks = state_for(op->key);
    pthread_t th[MAX_THREADS];
    worker w[MAX_THREADS];
    pthread_barrier_t bar;
    volatile int stop = 0;
    long total = 0, errors = 0, bad = 0;

    pthread_barrier_init(&bar, NULL, nthreads + 1);
    for (int t = 0; t < nthreads; t++) {
        w[t] = (worker){.tid = t, .op = op, .ks = ks, .stop = &stop, .bar = &bar, .verify_all = verify_all};
        pthread_create(&th[t], NULL, worker_main, &w[t]);
    }
    pthread_barrier_wait(&bar);
    double t0 = now_s();
    struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    stop = 1;
    for (int t = 0; t < nthreads; t++) {
        pthread_join(th[t], NULL);
        total += w[t].count;
        errors += w[t].errors;
        bad += w[t].bad;
    }
    double el = now_s() - t0;
    pthread_barrier_destroy(&bar);
    fprintf(out, "%ld %.6f %ld %ld\n", total, el, errors, bad);
    fflush(out);
}

static void child_main(enum path_id p, int in_fd, int out_fd)
{
    FILE *in = fdopen(in_fd, "r"), *out = fdopen(out_fd, "w");
    char line[256];
    my_path = p;
    child_setup();
    if (p == P_P11_TOKEN || p == P_P11_SESSION)
        p11_public_keys();
    prepare_ciphertexts();
    /* one checked operation per op: the path works and its results verify */
    for (size_t i = 0; i < N_OPS; i++) {
        unsigned char o[1024];
        size_t ol = sizeof(o);
        key_state *ks = state_for(OPS[i].key);
        if (!do_op(0, &OPS[i], ks, o, &ol)) {
            fprintf(stderr, "azkm-bench: %s: %s failed\n", PATH_NAMES[p], OPS[i].name);
            ERR_print_errors_fp(stderr);
            fprintf(out, "FAIL %zu\n", i);
            fflush(out);
            exit(1);
        }
        if (!check_result(&OPS[i], ks, o, ol)) {
            fprintf(stderr, "azkm-bench: %s: %s: result does not verify\n", PATH_NAMES[p], OPS[i].name);
            fprintf(out, "FAIL %zu\n", i);
            fflush(out);
            exit(1);
        }
    }
    fprintf(out, "READY\n");
    fflush(out);
    while (fgets(line, sizeof(line), in) != NULL) {
        size_t opi;
        int nt, va;
        double sec;
        if (sscanf(line, "run %zu %d %lf %d", &opi, &nt, &sec, &va) == 4 && opi < N_OPS && nt >= 1 &&
            nt <= MAX_THREADS)
            timed_run(out, opi, nt, sec, va);
        else if (strncmp(line, "quit", 4) == 0)
            break;
    }
    exit(0);
}

/* ---- parent ----------------------------------------------------------------------------------------------- */
typedef struct {
    int active;
    pid_t pid;
    FILE *to, *from;
} child;

static child children[N_PATHS];

static int start_child(enum path_id p)
{
    int a[2], b[2];
    if (pipe(a) != 0 || pipe(b) != 0)
        die("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(a[1]);
        close(b[0]);
        for (enum path_id q = 0; q < N_PATHS; q++)
            if (children[q].active) {
                fclose(children[q].to);
                fclose(children[q].from);
            }
        child_main(p, a[0], b[1]);
    }
    close(a[0]);
    close(b[1]);
    children[p].pid = pid;
    children[p].to = fdopen(a[1], "w");
    children[p].from = fdopen(b[0], "r");
    char line[256];
    if (fgets(line, sizeof(line), children[p].from) == NULL || strncmp(line, "READY", 5) != 0) {
        fprintf(stderr, "azkm-bench: path %s failed its setup or its check\n", PATH_NAMES[p]);
        waitpid(pid, NULL, 0);
        return 0;
    }
    children[p].active = 1;
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define MAX_RUNS 32
static double results[N_PATHS][N_OPS][4][MAX_RUNS];

static double median(const double *v, int n)
{
    double s[MAX_RUNS];
    memcpy(s, v, n * sizeof(double));
    qsort(s, n, sizeof(double), cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static int op_selected(size_t o)
{
    char list[256], *save = NULL;

    if (cfg.only_ops == NULL)
        return 1;
    snprintf(list, sizeof(list), "%s", cfg.only_ops);
    for (char *w = strtok_r(list, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save))
        if (strstr(OPS[o].name, w) != NULL)
            return 1;
    return 0;
}

static void read_keys(const char *file)
{
    FILE *f = fopen(file, "r");
    char line[4096];
    if (f == NULL)
        die("cannot open %s", file);
    while (fgets(line, sizeof(line), f) != NULL && cfg.n_keys < MAX_KEYS) {
        key_spec *k = &cfg.keys[cfg.n_keys];
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%31s %1023s %511s %511s %63s", k->name, k->pem, k->sw_uri, k->hsm_uri, k->hsm_version) !=
            5)
            die("bad line in %s: %s", file, line);
        cfg.n_keys++;
    }
    fclose(f);
}

static void read_pin(const char *file)
{
    FILE *f = fopen(file, "r");
    if (f == NULL || fgets(cfg.pin, sizeof(cfg.pin), f) == NULL)
        die("cannot read the PIN file %s", file);
    fclose(f);
    cfg.pin[strcspn(cfg.pin, "\r\n")] = 0;
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: azkm-bench --keys FILE --plain-conf CNF --azkm-conf CNF --module SO --token LABEL --pin-file F\n"
        "                  [--p11prov-conf CNF] [--remote-keystore DIR] [--runs N] [--seconds S] [--threads 1,2]\n"
        "                  [--tsv FILE] [--paths default,azkm-sw,...] [--ops SUBSTRING,...] [--smoke]\n"
        "keys FILE: one line per key: name pem-file azkm-sw-uri azkm-hsm-uri hsm-version(32 hex)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *keys = NULL, *pinfile = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v != NULL && (++i, 1))
        if (OPT("--keys"))
            keys = v;
        else if (OPT("--plain-conf"))
            cfg.plain_conf = v;
        else if (OPT("--azkm-conf"))
            cfg.azkm_conf = v;
        else if (OPT("--p11prov-conf"))
            cfg.p11prov_conf = v;
        else if (OPT("--remote-keystore"))
            cfg.remote_ks = v;
        else if (OPT("--module"))
            cfg.module = v;
        else if (OPT("--token"))
            cfg.token = v;
        else if (OPT("--pin-file"))
            pinfile = v;
        else if (OPT("--runs"))
            cfg.runs = atoi(v);
        else if (OPT("--seconds"))
            cfg.seconds = atof(v);
        else if (OPT("--tsv"))
            cfg.tsv = v;
        else if (OPT("--paths"))
            cfg.only = v;
        else if (OPT("--ops"))
            cfg.only_ops = v;
        else if (OPT("--threads")) {
            cfg.n_threads = 0;
            for (const char *p = v; *p && cfg.n_threads < 4; p = strchr(p, ',') ? strchr(p, ',') + 1 : "")
                cfg.threads[cfg.n_threads++] = atoi(p);
        } else if (strcmp(a, "--smoke") == 0)
            cfg.smoke = 1;
        else
            usage();
    }
    if (keys == NULL || cfg.plain_conf == NULL || cfg.azkm_conf == NULL || cfg.module == NULL ||
        cfg.token == NULL || pinfile == NULL || cfg.runs < 1 || cfg.runs > MAX_RUNS)
        usage();
    read_keys(keys);
    read_pin(pinfile);
    if (cfg.smoke) {
        cfg.runs = 1;
        cfg.seconds = 0.05;
    }
    signal(SIGPIPE, SIG_IGN);

    int failed = 0;
    for (enum path_id p = 0; p < N_PATHS; p++) {
        if (cfg.only != NULL && strstr(cfg.only, PATH_NAMES[p]) == NULL)
            continue;
        if (p == P_P11PROV && cfg.p11prov_conf == NULL) {
            printf("path %s skipped: pkcs11-provider is not installed (Debian bookworm-backports; scripts/bench.sh "
                   "installs it)\n",
                   PATH_TITLES[p]);
            continue;
        }
        if (p == P_AZKM_REMOTE && cfg.remote_ks == NULL)
            continue;
        if (start_child(p))
            printf("path %-45s ready: every operation's result verified\n", PATH_TITLES[p]);
        else
            failed = 1;
    }
    fflush(stdout);

    /* round-robin: run r of (op, threads) on every path before the next, so that noise spreads evenly */
    for (int r = 0; r < cfg.runs; r++)
        for (size_t o = 0; o < N_OPS; o++)
            for (int ti = 0; ti < cfg.n_threads; ti++)
                for (enum path_id p = 0; p < N_PATHS; p++) {
                    if (!children[p].active || !op_selected(o))
                        continue;
                    char line[256];
                    long ops = 0, errs = 0, bad = 0;
                    double el = 0;
                    fprintf(children[p].to, "run %zu %d %f %d\n", o, cfg.threads[ti], cfg.seconds, cfg.smoke);
                    fflush(children[p].to);
                    if (fgets(line, sizeof(line), children[p].from) == NULL ||
                        sscanf(line, "%ld %lf %ld %ld", &ops, &el, &errs, &bad) != 4) {
                        fprintf(stderr, "azkm-bench: path %s died\n", PATH_NAMES[p]);
                        children[p].active = 0;
                        failed = 1;
                        continue;
                    }
                    if (errs || bad || ops == 0) {
                        fprintf(stderr, "azkm-bench: %s %s x%d: %ld ops, %ld failed, %ld did not verify\n",
                                PATH_NAMES[p], OPS[o].name, cfg.threads[ti], ops, errs, bad);
                        failed = 1;
                    }
                    results[p][o][ti][r] = ops / el;
                }

    FILE *tsv = cfg.tsv ? fopen(cfg.tsv, "w") : NULL;
    if (tsv)
        fprintf(tsv, "path\top\tthreads\tmedian\tmin\tmax\truns\n");
    printf("\nops/s, median of %d runs of %.2f s (fresh EVP context per operation)\n", cfg.runs, cfg.seconds);
    printf("%-22s %3s", "operation", "thr");
    for (enum path_id p = 0; p < N_PATHS; p++)
        printf(" %11s", PATH_NAMES[p]);
    printf(" %9s %9s %9s %9s\n", "sw/dflt", "hsm/4b", "hsm/p11p", "remote/sw");
    for (size_t o = 0; o < N_OPS; o++)
        for (int ti = 0; ti < cfg.n_threads && op_selected(o); ti++) {
            double med[N_PATHS] = {0};
            printf("%-22s %3d", OPS[o].name, cfg.threads[ti]);
            for (enum path_id p = 0; p < N_PATHS; p++) {
                if (!children[p].active) {
                    printf(" %11s", "-");
                    continue;
                }
                med[p] = median(results[p][o][ti], cfg.runs);
                printf(" %11.0f", med[p]);
                if (tsv) {
                    double mn = results[p][o][ti][0], mx = mn;
                    for (int r = 1; r < cfg.runs; r++) {
                        mn = results[p][o][ti][r] < mn ? results[p][o][ti][r] : mn;
                        mx = results[p][o][ti][r] > mx ? results[p][o][ti][r] : mx;
                    }
                    fprintf(tsv, "%s\t%s\t%d\t%.1f\t%.1f\t%.1f\t%d\n", PATH_NAMES[p], OPS[o].name, cfg.threads[ti],
                            med[p], mn, mx, cfg.runs);
                }
            }
#define RATIO(a, b) (med[a] > 0 && med[b] > 0 ? printf(" %9.3f", med[a] / med[b]) : printf(" %9s", "-"))
            RATIO(P_AZKM_SW, P_DEFAULT);
            RATIO(P_AZKM_HSM, P_P11_SESSION);
            RATIO(P_AZKM_HSM, P_P11PROV);
            RATIO(P_AZKM_REMOTE, P_AZKM_SW);
            printf("\n");
        }
    if (tsv)
        fclose(tsv);
    for (enum path_id p = 0; p < N_PATHS; p++)
        if (children[p].active) {
            fprintf(children[p].to, "quit\n");
            fclose(children[p].to);
            waitpid(children[p].pid, NULL, 0);
        }
    if (cfg.smoke)
        printf("%s\n", failed ? "smoke: FAILED" : "smoke: every path ran and every result verified");
    return failed;
}
