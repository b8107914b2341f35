/* Fresh database files for the SQLite-based conformance targets: one
 * temporary directory per process, one new file per backend. */
#ifndef SFSM_CONFORMANCE_TEMPDB_H
#define SFSM_CONFORMANCE_TEMPDB_H

#include <stddef.h>

/* Writes the path of a new, not yet existing file into buf; 0 on success. */
int tempdb_path(char *buf, size_t size);
/* Removes a database file and its -wal/-shm/-journal companions. */
void tempdb_remove(const char *path);
/* Removes the directory (call after every file was removed). */
void tempdb_cleanup(void);

#endif
