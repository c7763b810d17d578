/* Reading key files for import and BYOK wrapping (see keyfile.h). */
#include <string.h>

#include <openssl/crypto.h>

#include "fileio.h"
#include "keyfile.h"
#include "passphrase.h"
#include "report.h"

/* Parses the key file, asking for its passphrase on the terminal when it turns out to be encrypted. */
static int parse_material(const cli_args *a, const char *prompt, cli_key_file *kf)
{
    const char *pfile = args_get(a, "--import-passphrase-file");
    char pass[1024];
    azkm_rc rc;
    int ret;

    pass[0] = '\0';
    if (pfile != NULL &&
        (ret = cli_passphrase_from_file(pfile, "--import-passphrase-file", pass, sizeof(pass))) != 0)
        return ret;
    rc = azkm_material_parse(NULL, kf->buf, kf->len, pfile ? pass : NULL, &kf->m);
    if (rc == AZKM_E_AUTH && pfile == NULL && cli_passphrase_prompt(prompt, pass, sizeof(pass)))
        rc = azkm_material_parse(NULL, kf->buf, kf->len, pass, &kf->m);
    OPENSSL_cleanse(pass, sizeof(pass));
    if (rc != AZKM_OK)
        return cli_fail(rc);
    kf->parsed = 1;
    return 0;
}

int cli_key_file_read(const cli_args *a, const char *path, azkm_kty kty, const char *kty_text, const char *prompt,
                      cli_key_file *kf)
{
    int ret;

    memset(kf, 0, sizeof(*kf));
    if ((ret = cli_read_file(path, "--file", &kf->buf, &kf->len)) != 0)
        return ret;
    if (kty == AZKM_KTY_OCT) {
        /* Raw AES key bytes: 16, 24 or 32 of them. */
        kf->m.kty = AZKM_KTY_OCT;
        kf->m.der = kf->buf;
        kf->m.der_len = kf->len;
        return 0;
    }
    if ((ret = parse_material(a, prompt, kf)) != 0)
        return ret;
    if (kty != 0 && kf->m.kty != kty)
        return args_usage("--kty", "%s holds an %s key, not %s", path, azkm_kty_name(kf->m.kty, 0), kty_text);
    return 0;
}

void cli_key_file_clear(cli_key_file *kf)
{
    if (kf->parsed)
        azkm_material_clear(&kf->m);
    OPENSSL_clear_free(kf->buf, kf->len);
    memset(kf, 0, sizeof(*kf));
}
