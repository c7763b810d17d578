/* SoftHSMv2 fixtures for HSM-tier tests. */
#include <sys/stat.h>

#include "hsmutil.h"

int hsm_store_setup(const char *dir)
{
    char path[512];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/tokens", dir);
    if (mkdir(path, 0700) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
    fp = fopen(path, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp, "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n", dir);
    fclose(fp);
    setenv("SOFTHSM2_CONF", path, 1);
    return 0;
}

int hsm_token_create(const char *dir, const char *label, const char *pin)
{
    char path[512];
    FILE *fp;

    if (sh("softhsm2-util --init-token --free --label '%s' --pin '%s' --so-pin 87654321 >/dev/null", label, pin) !=
        0)
        return -1;
    snprintf(path, sizeof(path), "%s/%s.pin", dir, label);
    fp = fopen(path, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp, "%s\n", pin);
    fclose(fp);
    return chmod(path, 0600);
}

azkm_rc hsm_bind(fixture *f, const char *label)
{
    char pin_source[600];
    azkm_hsm_binding b = {SOFTHSM_MODULE, label, pin_source};

    snprintf(pin_source, sizeof(pin_source), "file:%s/%s.pin", f->dir, label);
    return azkm_vault_bind_hsm(f->v, &b);
}
