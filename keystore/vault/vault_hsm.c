/* A vault's tiers and its binding to a PKCS#11 token (module, token label, PIN source): checked and proven when
 * set, at creation or later, and kept in the vault's settings. */
#include <stdlib.h>
#include <string.h>

#include "vault/vault.h"
#include "vault/vault_internal.h"

static azkm_rc hsm_tier(azkm_vault *v, const char *module, const char *token, const char *pin_source,
                        azkm_tier **out)
{
    azkm_tier_pkcs11_settings cfg = {module, token, pin_source, v->ks->pin_cb, v->ks->pin_arg};
    azkm_rc rc = azkm_tier_new(AZKM_TIER_PKCS11, v->ks->libctx, v->ks->propq, &cfg, out);

    if (rc != AZKM_OK)
        return azkm_fail(rc, "vault %s: %s", v->name, azkm_last_error());
    return AZKM_OK;
}

azkm_rc azkm_vault_tiers(azkm_vault *v)
{
    azkm_tier_software_settings sw = {v->seal_key};
    azkm_rc rc =
        azkm_tier_new(AZKM_TIER_SOFTWARE, v->ks->libctx, v->ks->propq, &sw, &v->tiers[AZKM_PROTECTION_SOFTWARE]);

    /* The token is set up now but only initialised and logged in to when a key needs it. */
    if (rc == AZKM_OK && v->hsm_module != NULL)
        rc = hsm_tier(v, v->hsm_module, v->hsm_token, v->hsm_pin_source, &v->tiers[AZKM_PROTECTION_HSM]);
    return rc;
}

static azkm_rc check_binding(const azkm_vault *v, const azkm_hsm_binding *b)
{
    const char *pin = b->pin_source ? b->pin_source : "prompt";

    if (b->module == NULL || b->token == NULL || b->module[0] != '/' || b->token[0] == '\0')
        return azkm_fail(AZKM_E_INVALID, "vault %s: an HSM binding needs an absolute module path and a token",
                         v->name);
    if (strncmp(pin, "file:", 5) != 0 && strncmp(pin, "env:", 4) != 0 && strcmp(pin, "prompt") != 0)
        return azkm_fail(AZKM_E_INVALID, "vault %s: PIN source '%s' is not file:PATH, env:NAME or prompt", v->name,
                         pin);
    return AZKM_OK;
}

/* Bound at creation: the token must work before anything is written under its protection. */
azkm_rc azkm_vault_bind_new(azkm_vault *v, const azkm_hsm_binding *b)
{
    azkm_rc rc;

    v->hsm_module = strdup(b->module ? b->module : "");
    v->hsm_token = strdup(b->token ? b->token : "");
    v->hsm_pin_source = strdup(b->pin_source ? b->pin_source : "prompt");
    rc = check_binding(v, b);
    if (rc == AZKM_OK)
        rc = hsm_tier(v, v->hsm_module, v->hsm_token, v->hsm_pin_source, &v->tiers[AZKM_PROTECTION_HSM]);
    if (rc == AZKM_OK && (rc = azkm_tier_check(v->tiers[AZKM_PROTECTION_HSM])) != AZKM_OK)
        rc = azkm_fail(rc, "vault %s: %s", v->name, azkm_last_error());
    return rc;
}

/* Stores the new binding in the settings; on failure the vault keeps its old one. */
static azkm_rc binding_store(azkm_vault *v, const azkm_hsm_binding *b, const char *pin)
{
    char *old[3] = {v->hsm_module, v->hsm_token, v->hsm_pin_source};
    azkm_rc rc = azkm_catalog_begin(v->cat);

    if (rc != AZKM_OK)
        return rc;
    v->hsm_module = strdup(b->module);
    v->hsm_token = strdup(b->token);
    v->hsm_pin_source = strdup(pin);
    rc = azkm_vault_meta_write(v);
    if (rc == AZKM_OK)
        rc = azkm_catalog_commit(v->cat);
    if (rc != AZKM_OK) {
        azkm_catalog_rollback(v->cat);
        free(v->hsm_module);
        free(v->hsm_token);
        free(v->hsm_pin_source);
        v->hsm_module = old[0];
        v->hsm_token = old[1];
        v->hsm_pin_source = old[2];
        return rc;
    }
    free(old[0]);
    free(old[1]);
    free(old[2]);
    return AZKM_OK;
}

static azkm_rc vault_bind_hsm_impl(azkm_vault *v, const azkm_hsm_binding *b)
{
    azkm_tier *t = NULL;
    const char *pin = b && b->pin_source ? b->pin_source : "prompt";
    azkm_rc rc;

    if (b == NULL)
        return azkm_fail(AZKM_E_INVALID, "vault %s: no HSM binding given", v->name);
    if (v->protector == AZKM_PROTECTOR_HSM)
        return azkm_fail(AZKM_E_FORBIDDEN,
                         "vault %s: its master key is held by its token: the binding cannot change", v->name);
    rc = check_binding(v, b);
    if (rc == AZKM_OK)
        rc = hsm_tier(v, b->module, b->token, pin, &t);
    /* Prove the binding now (module, token, PIN), not at the first key operation. */
    if (rc == AZKM_OK && (rc = azkm_tier_check(t)) != AZKM_OK)
        rc = azkm_fail(rc, "vault %s: %s", v->name, azkm_last_error());
    if (rc == AZKM_OK)
        rc = binding_store(v, b, pin);
    if (rc != AZKM_OK) {
        if (t != NULL)
            azkm_tier_free(t);
        return rc;
    }
    if (v->tiers[AZKM_PROTECTION_HSM] != NULL)
        azkm_tier_free(v->tiers[AZKM_PROTECTION_HSM]);
    v->tiers[AZKM_PROTECTION_HSM] = t;
    return AZKM_OK;
}

azkm_rc azkm_vault_bind_hsm(azkm_vault *v, const azkm_hsm_binding *binding)
{
    if (v->remote != NULL)
        return azkm_vault_local(v, "binding a token");
    AZKM_AUDITED(v->ks, "VaultUpdate", v->name, NULL, vault_bind_hsm_impl(v, binding), NULL);
}
