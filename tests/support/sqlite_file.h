/* SQLite store files seen from outside the library: for suites that build,
 * damage or inspect a file behind the store's back. Every helper fails the
 * test when SQLite or the file system says no. Remove what a test made
 * with test_store_remove (testutil.h), which also takes -wal, -shm and
 * -journal. */
#ifndef SFSM_SQLITE_FILE_H
#define SFSM_SQLITE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include <salesfsm/salesfsm.h>

/* The schema version this library writes (lib/store_sqlite_schema.h);
 * written out here so that a change to it shows in the tests. */
#define CURRENT_SCHEMA 3

/* A fresh name in $TMPDIR; no file by that name exists yet. */
void db_tmp_path(char path[256]);

/* Runs sql (any number of statements) on its own connection to the file. */
void exec_on(const char *path, const char *sql);

/* exec_on, and how many rows the last statement changed. */
int exec_changed(const char *path, const char *sql);

/* Replaces `from` by `to` in the stored schema text of the sqlite_schema
 * rows matching `where`, as another program with its own idea of the
 * schema could have (e.g. NOT NULL dropped so that NULL can be planted). */
void schema_text_replace(const char *path, const char *where, const char *from, const char *to);

/* A closed store file at path holding opportunities ids[0..n) at the
 * default pipeline's first stage (customer "Acme Ltd", owner "ravi"); the
 * WAL is folded into the file at close, so its bytes are the data. */
void store_file_with(const char *path, const char *const *ids, size_t n);

/* The default pipeline and an engine on the SQLite store at path, which
 * must open: sfsm_engine_new's code (fe->e NULL when it fails). */
typedef struct file_engine {
    sfsm_store *s;
    sfsm_pipeline *p;
    sfsm_engine *e;
} file_engine;
int file_engine_open(file_engine *fe, const char *path);
/* Frees what file_engine_open made, keeping sfsm_errmsg() for the caller
 * to check; returns rc. */
int file_engine_close(file_engine *fe, int rc);

/* The first column of the first row sql returns, the file opened read-only. */
int64_t query_int(const char *path, const char *sql);

/* Every row sql returns, each column followed by '|' (NULL as "NULL"), a
 * line a row: the file's content as one string, for "unchanged". Free it. */
char *dump_rows(const char *path, const char *sql);

/* The file's bytes (*n: how many; a NUL follows them). Free it. */
char *read_all(const char *path, size_t *n);
void write_all(const char *path, const void *data, size_t n);

/* Opening fails with code and a message containing needle, no handle, and
 * the file byte for byte as it was. */
void assert_open_fails_untouched(const char *path, const sfsm_sqlite_options *o, int code,
                                 const char *needle);

/* A schema-version-1 file as salesfsm 0.1.0 wrote it, with one opportunity
 * 'old-1' (qualified, version 2, two history entries). */
extern const char *const SQLITE_V1_FILE;

#endif
