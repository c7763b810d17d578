/* Secrets out of core dumps: who sets up OpenSSL's secure heap (the keystore, once, when the first vault is
 * opened) and where the keystore's own secret buffers live (that heap, else MADV_DONTDUMP mappings of our own). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "base/secmem.h"

/* Smallest block the secure heap hands out: a P-256 scalar or an AES-256 key fills one. */
#define SECURE_HEAP_MINSIZE 32
/* A mapping starts with its length; the caller's bytes follow, 16-byte aligned. */
#define MAP_HDR 16

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int decided;

int azkm_secmem_init(size_t heap_size, char *note, size_t note_len)
{
    int ret;

    note[0] = '\0';
    if (__atomic_load_n(&decided, __ATOMIC_ACQUIRE))
        return 0;
    pthread_mutex_lock(&init_lock);
    if (decided) {
        pthread_mutex_unlock(&init_lock);
        return 0;
    }
    /* The secure heap belongs to the whole process (nginx, Apache, whatever loaded the provider): one that the
     * application made is used as it is, and none is made when the configuration says 0. */
    if (heap_size != 0 && !CRYPTO_secure_malloc_initialized()) {
        ERR_set_mark();
        ret = CRYPTO_secure_malloc_init(heap_size, SECURE_HEAP_MINSIZE);
        ERR_pop_to_mark();
        if (ret == 0)
            snprintf(note, note_len,
                     "OpenSSL's secure heap (%zu bytes) could not be set up: decrypted keys go to private "
                     "MADV_DONTDUMP mappings, but OpenSSL keeps the private numbers of RSA and EC keys in the "
                     "ordinary heap, where a core dump can hold them",
                     heap_size);
        else if (ret == 2)
            snprintf(note, note_len,
                     "OpenSSL's secure heap (%zu bytes) is set up but could not be locked into memory (raise "
                     "RLIMIT_MEMLOCK): it is still excluded from core dumps, but may be swapped out",
                     heap_size);
    }
    __atomic_store_n(&decided, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&init_lock);
    return 1;
}

static void *map_zalloc(size_t n)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t pg = page > 0 ? (size_t)page : 4096, len;
    unsigned char *base;

    if (n > SIZE_MAX - MAP_HDR - pg)
        return NULL;
    len = (n + MAP_HDR + pg - 1) / pg * pg;
    base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
#ifdef MADV_DONTDUMP
    /* Without it the mapping would be no better than the heap: refuse rather than pretend. */
    if (madvise(base, len, MADV_DONTDUMP) != 0) {
        munmap(base, len);
        return NULL;
    }
#endif
    /* Like the secure heap: kept out of swap when RLIMIT_MEMLOCK allows, still out of dumps when it does not. */
    (void)mlock(base, len);
    memcpy(base, &len, sizeof(len));
    return base + MAP_HDR;
}

void *azkm_secret_zalloc(size_t n)
{
    void *p = NULL;

    if (n == 0)
        n = 1;
    if (CRYPTO_secure_malloc_initialized()) {
        /* A full secure heap is not an error for us: the mapping below is just as excluded from dumps. */
        ERR_set_mark();
        p = OPENSSL_secure_zalloc(n);
        ERR_pop_to_mark();
    }
    return p != NULL ? p : map_zalloc(n);
}

/* Deeper than libcrypto's call chains below the keystore's frames (a few KiB in practice). */
#define SCRUB_DEPTH 16384

__attribute__((noinline)) void azkm_stack_scrub(void)
{
    unsigned char dead[SCRUB_DEPTH];

    OPENSSL_cleanse(dead, sizeof(dead));
    /* Keeps the array, and the call, from being optimised away. */
    __asm__ __volatile__("" : : "r"(dead) : "memory");
}

void azkm_secret_free(void *p, size_t n)
{
    unsigned char *base;
    size_t len;

    if (p == NULL)
        return;
    if (CRYPTO_secure_allocated(p)) {
        OPENSSL_secure_clear_free(p, n);
        return;
    }
    base = (unsigned char *)p - MAP_HDR;
    memcpy(&len, base, sizeof(len));
    OPENSSL_cleanse(base, len);
    munmap(base, len);
}
