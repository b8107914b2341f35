/* The SQLite store's schema: recognising our files, creating them, and
 * migrating older ones forward. */
#ifndef SFSM_STORE_SQLITE_SCHEMA_H
#define SFSM_STORE_SQLITE_SCHEMA_H

#include <sqlite3.h>

#define SFSM_SQLITE_SCHEMA_VERSION 3
#define SFSM_SQLITE_APPLICATION_ID 0x5346534D   /* "SFSM": marks a file as ours */

/* `file` names the file in messages: its sfsm__path_label
 * (store_sqlite_error.h).
 *
 * Decides, without writing anything, whether the file at db is a salesfsm
 * store this library can use, or empty. SFSM_ESTORAGE (not SQLite, corrupt,
 * another application's), SFSM_EVERSION (newer schema), SFSM_ENOTFOUND (an
 * empty file while `create` is off: it is not made into a store). */
int sfsm__sqlite_schema_check(sqlite3 *db, const char *file, int create);

/* Creates the schema in an empty file, or migrates an older one to
 * SFSM_SQLITE_SCHEMA_VERSION, in one transaction. Safe when several
 * processes open the same new file at once. */
int sfsm__sqlite_schema_upgrade(sqlite3 *db, const char *file);

#endif
