/* The SQLite connection behind azkm_catalog, for the catalog's own files. */
#ifndef AZKM_CATALOG_SQLITE_H
#define AZKM_CATALOG_SQLITE_H

#include <sys/types.h>

#include <sqlite3.h>

#include "catalog/catalog.h"

struct azkm_catalog {
    sqlite3 *db;
    pid_t pid; /* the process that opened it */
    int batch; /* in a batch (azkm_catalog_batch_begin): each write is a savepoint of the batch's transaction */
    sqlite3_stmt
        *data_version; /* PRAGMA data_version, prepared on first use and kept (azkm_catalog_data_version) */
    char path[4200];
};

#endif
