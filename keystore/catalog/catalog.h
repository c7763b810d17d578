/* The catalog: the vault database behind one interface (a connection, transactions, rows in and out). All SQL
 * lives in catalog/; the domain (keys/, vault/) calls this and never the other way round. */
#ifndef AZKM_CATALOG_H
#define AZKM_CATALOG_H

#include <stdint.h>

#include "azkm/keystore.h"

typedef struct azkm_catalog azkm_catalog;

/* Opens (create: creates, with the schema) the catalog at path, migrating its schema to the current one. */
azkm_rc azkm_catalog_open(const char *path, int create, azkm_catalog **out);
/* Closes the connection; in a forked child the parent's connection is kept open and untouched instead (closing it
 * could checkpoint and remove the WAL the parent still uses). NULL is ignored. */
void azkm_catalog_close(azkm_catalog *c);
/* Records the last database failure as an azkm error naming the action and the database. */
azkm_rc azkm_catalog_fail(azkm_catalog *c, const char *action);
/* Whether the last failure was a statement the database's schema cannot run (a table or column it lacks): the
 * mark of a database that is not a vault's. */
int azkm_catalog_failed_on_schema(azkm_catalog *c);
/* The database's own words for its last failure, for messages that name it without azkm_catalog_fail. */
const char *azkm_catalog_errmsg(azkm_catalog *c);
/* A write transaction, taken at once; in a batch, a savepoint of the batch's transaction instead, so that a failed
 * write undoes only itself. */
azkm_rc azkm_catalog_begin(azkm_catalog *c);
azkm_rc azkm_catalog_commit(azkm_catalog *c);
void azkm_catalog_rollback(azkm_catalog *c);
/* A batch: one write transaction around many writes (one fsync for all); abort drops all of them. */
azkm_rc azkm_catalog_batch_begin(azkm_catalog *c);
azkm_rc azkm_catalog_batch_commit(azkm_catalog *c);
void azkm_catalog_batch_abort(azkm_catalog *c);
int azkm_catalog_in_batch(const azkm_catalog *c);
/* Moves whenever the catalog changed, by this connection or another. */
int64_t azkm_catalog_data_version(azkm_catalog *c);

#endif
