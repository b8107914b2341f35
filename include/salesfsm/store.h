/*
 * salesfsm/store.h — opening and closing stores.
 *
 * A store keeps opportunities and their history. One store handle may be
 * shared by engines in several threads: it serializes calls internally, and a
 * transaction (one fire, or a batch) holds the store for its whole duration.
 * Backends for an application's own tables are written against
 * salesfsm/sys/store.h.
 */
#ifndef SALESFSM_STORE_H
#define SALESFSM_STORE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A new, empty in-memory store. Nothing survives sfsm_store_close.
 * On success *out owns the store; on failure *out is NULL.
 * Errors: SFSM_EINVAL (out is NULL), SFSM_ENOMEM.
 */
SFSM_API int sfsm_store_open_memory(sfsm_store **out);

/* How sfsm_store_open_sqlite opens its file. */
typedef enum sfsm_sqlite_sync {
    SFSM_SQLITE_SYNC_FULL = 0,    /* fsync at every commit: survives power loss (default) */
    SFSM_SQLITE_SYNC_NORMAL = 1,  /* WAL + NORMAL: survives a crash of the process; the
                                     last commits may be lost on power loss */
    SFSM_SQLITE_SYNC_OFF = 2      /* no fsync: for tests and throw-away data only */
} sfsm_sqlite_sync;

typedef struct sfsm_sqlite_options {
    unsigned int version;         /* SFSM_SQLITE_OPTIONS_VERSION */
    sfsm_sqlite_sync synchronous;
    int busy_timeout_ms;          /* wait this long for another process's lock; default 5000 */
    int create;                   /* non-zero: create the file if missing or empty (default 1);
                                     zero: open only an existing salesfsm store */
} sfsm_sqlite_options;

#define SFSM_SQLITE_OPTIONS_VERSION 1
#define SFSM_SQLITE_OPTIONS_INIT { SFSM_SQLITE_OPTIONS_VERSION, SFSM_SQLITE_SYNC_FULL, 5000, 1 }
/* Fills *opts like SFSM_SQLITE_OPTIONS_INIT; SFSM_EVERSION for an unknown version. */
SFSM_API int sfsm_sqlite_options_init(sfsm_sqlite_options *opts, unsigned int version);

/*
 * Opens (or creates) a SQLite database file as a store: WAL journal,
 * prepared statements only, schema version in PRAGMA user_version, safe for
 * several processes and threads on one file. opts NULL means
 * SFSM_SQLITE_OPTIONS_INIT. On success *out owns the store; on failure *out
 * is NULL and the file is left as it was.
 * Errors: SFSM_EINVAL (NULL out/path, bad options), SFSM_EVERSION (options
 * version unknown, or the file was written by a newer salesfsm),
 * SFSM_ENOTFOUND (file missing or empty and create is 0), SFSM_ESTORAGE (not a
 * salesfsm database, corrupt, unreadable; the message says which), SFSM_ENOMEM.
 */
SFSM_API int sfsm_store_open_sqlite(sfsm_store **out, const char *path, const sfsm_sqlite_options *opts);

/*
 * Closes the store and frees it. Accepts NULL. Every engine using the store
 * must be freed first; a transaction still open is rolled back.
 */
SFSM_API void sfsm_store_close(sfsm_store *s);

#ifdef __cplusplus
}
#endif
#endif
