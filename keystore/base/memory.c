/* The one way to free what the library returns to its caller (azkm/error.h): every such result is a single
 * allocation from OpenSSL's allocator. */
#include <openssl/crypto.h>

#include "base/base.h"

void azkm_free(void *p)
{
    OPENSSL_free(p);
}
