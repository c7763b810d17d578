/* The audit log: one JSON line per administrative call, per failed vault open, key load or key operation (a wrong
 * passphrase, a PIN the token rejects, a missing key, a refused operation) and, when enabled, per private-key
 * operation, in Azure Monitor's field names (operationName KeyCreate, KeySign, ...). Nothing secret is ever
 * written: records hold names, versions, outcomes and the error message, which by design never contains key
 * material, a passphrase or a PIN. The file is private to its owner (0600), or refused. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "base/base.h"

static _Thread_local int depth;

/* The log names every key, caller and failure: it is checked on the descriptor opened, as a secret file is. */
static azkm_rc check_log(int fd, const char *path)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return azkm_fail(AZKM_E_IO, "audit log %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return azkm_fail(AZKM_E_INVALID, "audit log %s is not a regular file", path);
    if (st.st_mode & 077)
        return azkm_fail(AZKM_E_PERMISSION,
                         "audit log %s has mode %04o: the audit log must not be accessible to group or others "
                         "(chmod 600)",
                         path, (unsigned)(st.st_mode & 07777));
    if (st.st_uid != geteuid() && st.st_uid != 0)
        return azkm_fail(AZKM_E_PERMISSION, "audit log %s is owned by uid %u, not by this user (uid %u) or root",
                         path, (unsigned)st.st_uid, (unsigned)geteuid());
    return AZKM_OK;
}

azkm_rc azkm_audit_open(azkm_keystore *ks)
{
    azkm_rc rc;
    int fd;

    if (ks->audit_path == NULL)
        return AZKM_OK;
    fd = open(ks->audit_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return azkm_fail(errno == EACCES ? AZKM_E_PERMISSION : AZKM_E_IO, "audit log %s cannot be opened: %s",
                         ks->audit_path, strerror(errno));
    if ((rc = check_log(fd, ks->audit_path)) != AZKM_OK) {
        close(fd);
        return rc;
    }
    ks->audit_fd = fd;
    ks->audit_pid = getpid();
    return AZKM_OK;
}

void azkm_audit_close(azkm_keystore *ks)
{
    if (ks->audit_fd >= 0)
        close(ks->audit_fd);
    ks->audit_fd = -1;
}

void azkm_audit_begin(azkm_audit_op *a, azkm_keystore *ks, const char *op, const char *vault, const char *name)
{
    a->ks = ks;
    a->op = op;
    a->vault = vault;
    a->name = name;
    a->props[0] = NULL;
    a->outermost = depth++ == 0;
    if (a->outermost && ks->audit_fd >= 0)
        clock_gettime(CLOCK_MONOTONIC, &a->start);
}

static void correlation_id(char out[33])
{
    const char *given = getenv("AZKM_CORRELATION_ID");
    unsigned char rnd[16];

    if (given != NULL && *given != '\0') {
        snprintf(out, 33, "%.32s", given);
        return;
    }
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        memset(rnd, 0, sizeof(rnd));
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(out + 2 * i, 3, "%02x", rnd[i]);
}

static void add_properties(json_t *rec, const azkm_audit_op *a)
{
    json_t *props;

    if (a->props[0] == NULL)
        return;
    props = json_object();
    for (size_t i = 0; i + 1 < 2 * AZKM_AUDIT_PROPS && a->props[i] != NULL; i += 2)
        json_object_set_new(props, a->props[i], json_string(a->props[i + 1] != NULL ? a->props[i + 1] : ""));
    json_object_set_new(rec, "properties", props);
}

static void write_record(azkm_audit_op *a, azkm_rc rc, const char *version, const char *description)
{
    struct timespec end, wall;
    struct tm tm;
    char when[40], corr[33], *line;
    json_t *rec = json_object(), *caller = json_object();
    size_t n;

    clock_gettime(CLOCK_MONOTONIC, &end);
    clock_gettime(CLOCK_REALTIME, &wall);
    gmtime_r(&wall.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03ldZ", wall.tv_nsec / 1000000);
    correlation_id(corr);
    json_object_set_new(rec, "time", json_string(when));
    json_object_set_new(rec, "operationName", json_string(a->op));
    json_object_set_new(rec, "resultType", json_string(rc == AZKM_OK ? "Success" : "Failure"));
    json_object_set_new(rec, "resultSignature", json_string(azkm_rc_name(rc)));
    if (description != NULL)
        json_object_set_new(rec, "resultDescription", json_string(description));
    json_object_set_new(
        rec, "durationMs",
        json_real((double)(end.tv_sec - a->start.tv_sec) * 1e3 + (double)(end.tv_nsec - a->start.tv_nsec) / 1e6));
    if (a->vault != NULL)
        json_object_set_new(rec, "vault", json_string(a->vault));
    if (a->name != NULL)
        json_object_set_new(rec, "key", json_string(a->name));
    if (version != NULL && *version != '\0')
        json_object_set_new(rec, "version", json_string(version));
    add_properties(rec, a);
    json_object_set_new(caller, "uid", json_integer((json_int_t)getuid()));
    json_object_set_new(caller, "pid", json_integer((json_int_t)getpid()));
    json_object_set_new(rec, "callerIdentity", caller);
    json_object_set_new(rec, "correlationId", json_string(corr));
    /* six significant digits: durationMs to 0.1 us or better below 10 s, not 17 digits of noise */
    line = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(rec);
    if (line == NULL)
        return;
    n = strlen(line);
    line[n] = '\n';
    /* One write per record with O_APPEND: lines from concurrent processes do not interleave. */
    if (write(a->ks->audit_fd, line, n + 1) < 0) {
        /* Nothing more to do: the operation's own result stands. */
    }
    free(line);
}

azkm_rc azkm_audit_end_failure(azkm_audit_op *a, azkm_rc rc, const char *version)
{
    if (rc == AZKM_OK) {
        depth--;
        return rc;
    }
    return azkm_audit_end(a, rc, version);
}

azkm_rc azkm_audit_end(azkm_audit_op *a, azkm_rc rc, const char *version)
{
    char msg[1024];

    depth--;
    if (!a->outermost || a->ks->audit_fd < 0)
        return rc;
    /* Logging must not disturb the caller's view of the error: not writing the record, nor failing to reopen the
     * log (a forked worker running as a user that may not open it). */
    snprintf(msg, sizeof(msg), "%s", azkm_last_error());
    if (a->ks->audit_pid != getpid()) {
        /* A forked child writes through its own descriptor: reopen lazily. */
        azkm_audit_close(a->ks);
        if (azkm_audit_open(a->ks) == AZKM_OK)
            write_record(a, rc, version, rc != AZKM_OK ? msg : NULL);
    } else {
        write_record(a, rc, version, rc != AZKM_OK ? msg : NULL);
    }
    if (rc != AZKM_OK)
        azkm_fail(rc, "%s", msg);
    return rc;
}

void azkm_audit_note(azkm_keystore *ks, const char *op, azkm_rc rc, const char *description)
{
    azkm_audit_op a;

    if (ks->audit_fd < 0)
        return;
    if (ks->audit_pid != getpid()) {
        azkm_audit_close(ks);
        if (azkm_audit_open(ks) != AZKM_OK)
            return;
    }
    memset(&a, 0, sizeof(a));
    a.ks = ks;
    a.op = op;
    clock_gettime(CLOCK_MONOTONIC, &a.start);
    write_record(&a, rc, NULL, description);
}

azkm_rc azkm_audit_record(azkm_keystore *ks, const char *record)
{
    size_t n = strlen(record);
    char *line;
    ssize_t w;

    if (memchr(record, '\n', n) != NULL || n == 0)
        return azkm_fail(AZKM_E_INVALID, "audit record must be one non-empty line");
    if (ks->audit_fd < 0)
        return AZKM_OK;
    if (ks->audit_pid != getpid()) {
        azkm_audit_close(ks);
        if (azkm_audit_open(ks) != AZKM_OK)
            return azkm_last_rc();
    }
    if ((line = malloc(n + 1)) == NULL)
        return azkm_fail(AZKM_E_NOMEM, "out of memory writing an audit record");
    memcpy(line, record, n);
    line[n] = '\n';
    /* One write per record with O_APPEND, as the keystore's own records: lines do not interleave. */
    w = write(ks->audit_fd, line, n + 1);
    free(line);
    if (w != (ssize_t)(n + 1))
        return azkm_fail(AZKM_E_IO, "audit log %s: write failed: %s", ks->audit_path, strerror(errno));
    return AZKM_OK;
}
