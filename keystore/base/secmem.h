/* Memory for secrets that must stay out of core dumps: OpenSSL's secure heap when it is set up (mlocked, marked
 * MADV_DONTDUMP; OpenSSL then also keeps the private BIGNUMs of the keys it decodes there), else private mappings
 * of our own marked MADV_DONTDUMP. */
#ifndef AZKM_SECMEM_H
#define AZKM_SECMEM_H

#include <stddef.h>

/* secure_heap_size in the config file and AZKM_SECURE_HEAP_SIZE: 0, or a power of two in this range. */
#define AZKM_SECURE_HEAP_DEFAULT ((size_t)1 << 20)
#define AZKM_SECURE_HEAP_MIN ((size_t)1 << 16)
#define AZKM_SECURE_HEAP_MAX ((size_t)1 << 28)

/* Sets up OpenSSL's secure heap once per process: heap_size bytes, or nothing when heap_size is 0 or the
 * application already set one up. Thread-safe; later calls do nothing. Returns 1 for the one call that made the
 * decision, with a line for the audit log in note when the outcome is worth reporting (note[0] is '\0' when it
 * is not), 0 for every other call. */
int azkm_secmem_init(size_t heap_size, char *note, size_t note_len);

/* Zeroed memory excluded from core dumps (NULL when out of memory). Free it with azkm_secret_free only. */
void *azkm_secret_zalloc(size_t n);
/* Zeroes and frees n bytes from azkm_secret_zalloc; NULL is ignored. */
void azkm_secret_free(void *p, size_t n);

/* Zeroes the stack below the caller's frame: libcrypto's digest, cipher and decoder code leaves copies of what
 * it processed in dead frames there (SHA-256 of the master key, for one). Call it on the way out of a function
 * that handled a secret. */
void azkm_stack_scrub(void);

#endif
