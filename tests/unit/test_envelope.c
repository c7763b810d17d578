/* Envelope encryption: files of any size round-trip under oct and RSA KEKs (software and HSM), rotating the KEK
 * never orphans a file, rewrap moves a file to the current version without touching its chunks, and a modified,
 * reordered, truncated or extended file fails with an integrity error before its bad chunk is released. */
#include <openssl/rand.h>

#include "hsmutil.h"

static char store[256] = "/tmp/azkm-env-XXXXXX";

#define CHUNK 1024

static unsigned char *buf_of(FILE *fp, size_t *len)
{
    long n;
    unsigned char *b;

    fflush(fp);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    rewind(fp);
    b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, fp);
    rewind(fp);
    return b;
}

static FILE *file_of(const unsigned char *b, size_t len)
{
    FILE *fp = tmpfile();

    assert_non_null(fp);
    if (len)
        assert_int_equal(fwrite(b, 1, len, fp), len);
    rewind(fp);
    return fp;
}

static void make_key(fixture *f, const char *name, azkm_kty kty, azkm_protection prot, unsigned ops)
{
    azkm_keyspec s;

    memset(&s, 0, sizeof(s));
    s.kty = kty;
    s.protection = prot;
    s.fields = ops ? AZKM_ATTR_KEY_OPS : 0;
    s.attrs.key_ops = ops;
    assert_ok(azkm_key_create(f->v, name, &s, NULL));
}

/* Encrypts data under kek into a new tmpfile (rewound). */
static FILE *seal(fixture *f, const char *kek, const unsigned char *data, size_t len)
{
    azkm_envelope_params p = {CHUNK, 0, NULL, NULL};
    FILE *in = file_of(data, len), *out = tmpfile();

    assert_ok(azkm_envelope_encrypt(f->v, kek, in, out, &p));
    fclose(in);
    rewind(out);
    return out;
}

static azkm_rc open_file(fixture *f, FILE *sealed, unsigned char **plain, size_t *len)
{
    FILE *out = tmpfile();
    azkm_rc rc = azkm_envelope_decrypt(f->ks, sealed, out, NULL);

    *plain = buf_of(out, len);
    fclose(out);
    return rc;
}

static void round_trip(fixture *f, const char *kek, size_t len)
{
    unsigned char *data = malloc(len + 1), *back;
    size_t n;
    FILE *sealed;

    RAND_bytes(data, (int)len + 1);
    sealed = seal(f, kek, data, len);
    assert_ok(open_file(f, sealed, &back, &n));
    assert_int_equal(n, len);
    if (len)
        assert_memory_equal(back, data, len);
    fclose(sealed);
    free(back);
    free(data);
}

static void files_of_any_size_round_trip(void **state)
{
    fixture *f = *state;
    const size_t sizes[] = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * 1024 * 1024 + 7};

    make_key(f, "aes", AZKM_KTY_OCT, AZKM_PROTECTION_SOFTWARE, 0);
    make_key(f, "rsa", AZKM_KTY_RSA, AZKM_PROTECTION_SOFTWARE, 0);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        round_trip(f, "aes", sizes[i]);
        round_trip(f, "rsa", sizes[i]);
    }
}

static void hsm_keks_wrap_on_the_token(void **state)
{
    fixture *f = *state;

    assert_ok(hsm_bind(f, "azkm-env-01"));
    make_key(f, "aes-hsm", AZKM_KTY_OCT, AZKM_PROTECTION_HSM, 0);
    make_key(f, "rsa-hsm", AZKM_KTY_RSA, AZKM_PROTECTION_HSM, 0);
    round_trip(f, "aes-hsm", 5 * CHUNK + 3);
    round_trip(f, "rsa-hsm", 5 * CHUNK + 3);
}

static void progress(uint64_t done, uint64_t total, void *arg)
{
    uint64_t *seen = arg;

    assert_true(done >= seen[0]);
    assert_int_equal(total, 10 * CHUNK);
    seen[0] = done;
    seen[1]++;
}

static void progress_is_reported_per_chunk(void **state)
{
    fixture *f = *state;
    unsigned char data[10 * CHUNK];
    uint64_t seen[2] = {0, 0};
    azkm_envelope_params p = {CHUNK, sizeof(data), progress, seen};
    FILE *in, *out = tmpfile();

    make_key(f, "aes", AZKM_KTY_OCT, AZKM_PROTECTION_SOFTWARE, 0);
    memset(data, 7, sizeof(data));
    in = file_of(data, sizeof(data));
    assert_ok(azkm_envelope_encrypt(f->v, "aes", in, out, &p));
    assert_int_equal(seen[0], sizeof(data));
    assert_int_equal(seen[1], 10);
    fclose(in);
    fclose(out);
}

/* Offset of the first chunk: magic, length, header. */
static size_t body_offset(const unsigned char *b)
{
    return 12 + ((size_t)b[8] << 24 | (size_t)b[9] << 16 | (size_t)b[10] << 8 | b[11]);
}

static void rotating_the_kek_never_orphans_a_file_and_rewrap_moves_it(void **state)
{
    fixture *f = *state;
    unsigned char data[4 * CHUNK + 5], *a, *b, *back;
    size_t alen, blen, n;
    azkm_key_info old, cur;
    char kid[AZKM_URI_MAX];
    FILE *sealed, *rewrapped = tmpfile();
    int changed = -1;
    azkm_attributes off;

    RAND_bytes(data, sizeof(data));
    make_key(f, "kek", AZKM_KTY_OCT, AZKM_PROTECTION_SOFTWARE, 0);
    assert_ok(azkm_key_show(f->v, "kek", NULL, &old));
    sealed = seal(f, "kek", data, sizeof(data));
    assert_ok(azkm_key_rotate(f->v, "kek", &cur));

    /* the header names the old version: still readable */
    assert_ok(open_file(f, sealed, &back, &n));
    assert_int_equal(n, sizeof(data));
    free(back);
    rewind(sealed);

    assert_ok(azkm_envelope_rewrap(f->ks, sealed, rewrapped, &changed, kid));
    assert_int_equal(changed, 1);
    assert_non_null(strstr(kid, cur.version));
    a = buf_of(sealed, &alen);
    b = buf_of(rewrapped, &blen);
    assert_non_null(strstr((char *)b + 12, cur.version));
    /* the chunks are byte for byte the same */
    assert_int_equal(alen - body_offset(a), blen - body_offset(b));
    assert_memory_equal(a + body_offset(a), b + body_offset(b), alen - body_offset(a));

    /* with the old version disabled, only the rewrapped file opens */
    memset(&off, 0, sizeof(off));
    assert_ok(azkm_key_set_attributes(f->v, "kek", old.version, AZKM_ATTR_ENABLED, &off, NULL));
    assert_rc(open_file(f, sealed, &back, &n), AZKM_E_FORBIDDEN, "disabled");
    free(back);
    assert_ok(open_file(f, rewrapped, &back, &n));
    assert_memory_equal(back, data, sizeof(data));
    free(back);

    /* rewrapping again changes nothing */
    {
        FILE *again = tmpfile();

        rewind(rewrapped);
        assert_ok(azkm_envelope_rewrap(f->ks, rewrapped, again, &changed, NULL));
        assert_int_equal(changed, 0);
        fclose(again);
    }
    free(a);
    free(b);
    fclose(sealed);
    fclose(rewrapped);
}

/* Decrypts an edited copy of a sealed file; returns what was released before the failure. */
static size_t open_edited(fixture *f, const unsigned char *b, size_t len, azkm_rc want, const char *pattern)
{
    FILE *in = file_of(b, len);
    unsigned char *back;
    size_t n;

    assert_rc(open_file(f, in, &back, &n), want, pattern);
    fclose(in);
    free(back);
    return n;
}

static void tampering_reordering_and_truncation_are_detected(void **state)
{
    fixture *f = *state;
    unsigned char data[3 * CHUNK], *b, *e;
    size_t len, off, c = CHUNK + 16;
    FILE *sealed;

    RAND_bytes(data, sizeof(data));
    make_key(f, "kek", AZKM_KTY_OCT, AZKM_PROTECTION_SOFTWARE, 0);
    sealed = seal(f, "kek", data, sizeof(data));
    b = buf_of(sealed, &len);
    off = body_offset(b);
    assert_int_equal(len, off + 3 * c);
    e = malloc(len + 16);

    /* one bit in the third chunk: the first two are released, the third is not */
    memcpy(e, b, len);
    e[off + 2 * c + 5] ^= 1;
    assert_int_equal(open_edited(f, e, len, AZKM_E_INTEGRITY, "chunk 2 failed authentication"), 2 * CHUNK);

    /* chunks swapped */
    memcpy(e, b, len);
    memcpy(e + off, b + off + c, c);
    memcpy(e + off + c, b + off, c);
    open_edited(f, e, len, AZKM_E_INTEGRITY, "chunk 0 failed authentication");

    /* cut at a chunk boundary: the last chunk left was not sealed as the final one */
    open_edited(f, b, off + 2 * c, AZKM_E_INTEGRITY, "modified or truncated");
    /* cut inside a chunk, and inside a tag */
    open_edited(f, b, len - 100, AZKM_E_INTEGRITY, "chunk 2");
    open_edited(f, b, off + 2 * c + 7, AZKM_E_INTEGRITY, "truncated");
    /* bytes appended */
    memcpy(e, b, len);
    memset(e + len, 0, 16);
    open_edited(f, e, len + 16, AZKM_E_INTEGRITY, "chunk 2");

    /* the wrapped data key edited in the header */
    memcpy(e, b, len);
    {
        char *w = strstr((char *)e + 12, "\"wrapped_key\":\"") + 16;

        *w = *w == 'A' ? 'B' : 'A';
    }
    open_edited(f, e, len, AZKM_E_INTEGRITY, "does not unwrap");
    /* not an envelope at all */
    open_edited(f, data, 100, AZKM_E_INVALID, "not an azkm encrypted file");
    free(e);
    free(b);
    fclose(sealed);
}

/* rewrap copies the chunks, but never without authenticating them: a damaged file is not given a fresh header. */
static void rewrap_refuses_a_damaged_chunk(void **state)
{
    fixture *f = *state;
    unsigned char data[3 * CHUNK], *b;
    size_t len, off, c = CHUNK + 16;
    int changed = -1;
    FILE *sealed, *in, *out;

    RAND_bytes(data, sizeof(data));
    make_key(f, "kek", AZKM_KTY_OCT, AZKM_PROTECTION_SOFTWARE, 0);
    sealed = seal(f, "kek", data, sizeof(data));
    b = buf_of(sealed, &len);
    off = body_offset(b);
    b[off + 2 * c + 5] ^= 1;
    /* already current: copied, and checked */
    in = file_of(b, len);
    out = tmpfile();
    assert_rc(azkm_envelope_rewrap(f->ks, in, out, &changed, NULL), AZKM_E_INTEGRITY,
              "chunk 2 failed authentication");
    fclose(in);
    fclose(out);
    /* after a rotation: re-wrapped, and checked */
    assert_ok(azkm_key_rotate(f->v, "kek", NULL));
    in = file_of(b, len);
    out = tmpfile();
    assert_rc(azkm_envelope_rewrap(f->ks, in, out, &changed, NULL), AZKM_E_INTEGRITY,
              "chunk 2 failed authentication");
    fclose(in);
    fclose(out);
    /* a truncated file too */
    in = file_of(b, off + c);
    out = tmpfile();
    assert_rc(azkm_envelope_rewrap(f->ks, in, out, &changed, NULL), AZKM_E_INTEGRITY, "modified or truncated");
    fclose(in);
    fclose(out);
    free(b);
    fclose(sealed);
}

/* verify answers as decrypt would, and releases nothing. */
static void verify_authenticates_the_whole_file_and_writes_nothing(void **state)
{
    fixture *f = *state;
    unsigned char data[3 * CHUNK], *b;
    size_t len, off, c = CHUNK + 16;
    FILE *sealed, *in;

    RAND_bytes(data, sizeof(data));
    make_key(f, "kek", AZKM_KTY_OCT, AZKM_PROTECTION_SOFTWARE, 0);
    sealed = seal(f, "kek", data, sizeof(data));
    assert_ok(azkm_envelope_verify(f->ks, sealed, NULL));
    b = buf_of(sealed, &len);
    off = body_offset(b);
    b[off + 2 * c + 5] ^= 1;
    in = file_of(b, len);
    assert_rc(azkm_envelope_verify(f->ks, in, NULL), AZKM_E_INTEGRITY, "chunk 2 failed authentication");
    fclose(in);
    in = file_of(b, off + 2 * c);
    assert_rc(azkm_envelope_verify(f->ks, in, NULL), AZKM_E_INTEGRITY, "modified or truncated");
    fclose(in);
    free(b);
    fclose(sealed);
}

static void kek_must_be_allowed_to_wrap(void **state)
{
    fixture *f = *state;
    unsigned char data[10] = {0};
    azkm_envelope_params p = {CHUNK, 0, NULL, NULL};
    FILE *in = file_of(data, sizeof(data)), *out = tmpfile();

    make_key(f, "enc-only", AZKM_KTY_OCT, AZKM_PROTECTION_SOFTWARE, AZKM_OP_ENCRYPT | AZKM_OP_DECRYPT);
    make_key(f, "ec", AZKM_KTY_EC, AZKM_PROTECTION_SOFTWARE, 0);
    assert_rc(azkm_envelope_encrypt(f->v, "enc-only", in, out, &p), AZKM_E_FORBIDDEN, "does not permit wrapKey");
    assert_rc(azkm_envelope_encrypt(f->v, "ec", in, out, &p), AZKM_E_INVALID, "oct (AES) or RSA");
    assert_rc(azkm_envelope_encrypt(f->v, "missing", in, out, &p), AZKM_E_NOT_FOUND, "missing");
    p.chunk_size = 10;
    assert_rc(azkm_envelope_encrypt(f->v, "ec", in, out, &p), AZKM_E_INVALID, "chunk size");
    fclose(in);
    fclose(out);
}

static int group_setup(void **state)
{
    (void)state;
    if (mkdtemp(store) == NULL || hsm_store_setup(store) != 0 || hsm_token_create(store, "azkm-env-01", "123456"))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    sh("rm -rf '%s'", store);
    return 0;
}

static int setup_with_pin(void **state)
{
    fixture *f;

    if (fixture_setup(state) != 0)
        return -1;
    f = *state;
    return sh("cp '%s/azkm-env-01.pin' '%s/'", store, f->dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(files_of_any_size_round_trip, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(hsm_keks_wrap_on_the_token, setup_with_pin, fixture_teardown),
        cmocka_unit_test_setup_teardown(progress_is_reported_per_chunk, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(rotating_the_kek_never_orphans_a_file_and_rewrap_moves_it, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(tampering_reordering_and_truncation_are_detected, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(rewrap_refuses_a_damaged_chunk, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(verify_authenticates_the_whole_file_and_writes_nothing, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(kek_must_be_allowed_to_wrap, fixture_setup, fixture_teardown),
    };

    return cmocka_run_group_tests_name("envelope", tests, group_setup, group_teardown);
}
