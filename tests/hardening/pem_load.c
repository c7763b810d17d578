/* pem_load FILE: reads a private key the way nginx and Apache do (PEM_read_bio_PrivateKey with the configured
 * providers), prints the key's type and size, or OpenSSL's error queue with the provider's reason on failure. */
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

int main(int argc, char **argv)
{
    EVP_PKEY *pkey;
    BIO *in;

    if (argc != 2) {
        fprintf(stderr, "usage: pem_load FILE\n");
        return 2;
    }
    in = BIO_new_file(argv[1], "r");
    if (in == NULL) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    pkey = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
    BIO_free(in);
    if (pkey == NULL) {
        fprintf(stderr, "pem_load: cannot load a private key from %s\n", argv[1]);
        ERR_print_errors_fp(stderr);
        return 1;
    }
    printf("%s %d\n", EVP_PKEY_get0_type_name(pkey), EVP_PKEY_get_bits(pkey));
    EVP_PKEY_free(pkey);
    return 0;
}
