/* Writes the per-request audit record through the keystore's audit log (azkm_audit_record), in the field names of
 * Azure Monitor's Key Vault logs where they exist (operationName, resultType, resultSignature, httpStatusCode,
 * durationMs, callerIpAddress, identity). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <jansson.h>

#include "audit/request_audit.h"

static void set_str(json_t *rec, const char *field, const char *value)
{
    if (value != NULL && *value != '\0')
        json_object_set_new(rec, field, json_string(value));
}

static json_t *identity_json(const azkmd_identity *id)
{
    json_t *obj = json_object(), *principals = json_array();

    for (size_t i = 0; i < id->n_principals; i++)
        json_array_append_new(principals, json_string(id->principals[i]));
    json_object_set_new(obj, "principals", principals);
    json_object_set_new(obj, "authenticatedBy", json_string(azkmd_auth_method_name(id->method)));
    set_str(obj, "clientCertificateSha256", id->cert_sha256);
    return obj;
}

static void now_text(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void azkmd_audit_request(azkm_keystore *ks, const azkmd_audit_fields *f)
{
    json_t *rec = json_object();
    char when[40], *line;

    now_text(when, sizeof(when));
    json_object_set_new(rec, "time", json_string(when));
    json_object_set_new(rec, "category", json_string("AuditEvent"));
    json_object_set_new(rec, "operationName", json_string(f->operation != NULL ? f->operation : "Unknown"));
    json_object_set_new(rec, "resultType", json_string(f->error_code == NULL ? "Success" : "Failure"));
    set_str(rec, "resultSignature", f->error_code);
    set_str(rec, "resultDescription", f->message);
    json_object_set_new(rec, "httpStatusCode", json_integer(f->status));
    json_object_set_new(rec, "durationMs", json_real(f->duration_ms));
    json_object_set_new(rec, "requestId", json_string(f->request_id));
    set_str(rec, "clientRequestId", f->client_request_id);
    json_object_set_new(rec, "callerIpAddress", json_string(f->id->address));
    json_object_set_new(rec, "identity", identity_json(f->id));
    json_object_set_new(rec, "httpMethod", json_string(f->method));
    json_object_set_new(rec, "requestPath", json_string(f->path));
    set_str(rec, "vault", f->vault);
    set_str(rec, "key", f->key);
    set_str(rec, "version", f->version);
    line = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(rec);
    /* An audit write that fails leaves the request's result as it is: the keystore logs the same way. */
    if (line != NULL && azkm_audit_record(ks, line) != AZKM_OK)
        azkm_clear_error();
    free(line);
}
