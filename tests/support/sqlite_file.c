#define _POSIX_C_SOURCE 200809L

#include "sqlite_file.h"

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

void db_tmp_path(char path[256])
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, 256, "%s/sfsm-db-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);   /* tests decide whether the file exists */
}

void exec_on(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
    sqlite3_close(db);
}

int exec_changed(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
    int n = sqlite3_changes(db);
    sqlite3_close(db);
    return n;
}

void schema_text_replace(const char *path, const char *where, const char *from, const char *to)
{
    /* the new schema_version makes every connection read the text again */
    int64_t v = query_int(path, "PRAGMA schema_version");
    char *sql = sqlite3_mprintf("PRAGMA writable_schema = ON;"
                                "UPDATE sqlite_schema SET sql = replace(sql, %Q, %Q) WHERE %s;"
                                "PRAGMA schema_version = %lld; PRAGMA writable_schema = OFF;",
                                from, to, where, (long long)v + 1);
    assert_non_null(sql);
    exec_on(path, sql);
    sqlite3_free(sql);
}

void store_file_with(const char *path, const char *const *ids, size_t n)
{
    file_engine fe;
    assert_int_equal(file_engine_open(&fe, path), SFSM_OK);
    for (size_t i = 0; i < n; i++) {
        sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
        opts.id = ids[i];
        opts.customer = "Acme Ltd";
        opts.owner = "ravi";
        sfsm_opp *o = NULL;
        assert_int_equal(sfsm_opp_create_ext(fe.e, &opts, &o), SFSM_OK);
        sfsm_opp_free(o);
    }
    file_engine_close(&fe, SFSM_OK);
}

int file_engine_open(file_engine *fe, const char *path)
{
    fe->s = NULL;
    fe->p = NULL;
    fe->e = (sfsm_engine *)fe;   /* must become NULL on failure */
    assert_int_equal(sfsm_store_open_sqlite(&fe->s, path, NULL), SFSM_OK);
    assert_int_equal(sfsm_pipeline_default(&fe->p), SFSM_OK);
    int rc = sfsm_engine_new(&fe->e, fe->p, fe->s);
    if (rc)
        assert_null(fe->e);
    return rc;
}

int file_engine_close(file_engine *fe, int rc)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", sfsm_errmsg());
    sfsm_engine_free(fe->e);
    sfsm_pipeline_free(fe->p);
    sfsm_store_close(fe->s);
    sfsm_error_set(rc, "%s", msg);
    return rc;
}

int64_t query_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

char *dump_rows(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    char *out = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&out, &len);
    assert_non_null(fp);
    while (sqlite3_step(s) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(s); c++) {
            const unsigned char *t = sqlite3_column_text(s, c);
            fprintf(fp, "%s|", t ? (const char *)t : "NULL");
        }
        fputc('\n', fp);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    assert_int_equal(fclose(fp), 0);
    return out;
}

char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    char *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    buf[size] = '\0';
    *n = (size_t)size;
    return buf;
}

void write_all(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

void assert_open_fails_untouched(const char *path, const sfsm_sqlite_options *o, int code,
                                 const char *needle)
{
    size_t n0, n1;
    char *before = read_all(path, &n0);
    sfsm_store *s = (sfsm_store *)&n0;
    assert_int_equal(sfsm_store_open_sqlite(&s, path, o), code);
    assert_null(s);
    assert_msg_has(needle);
    char *after = read_all(path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
}

/* Frozen on purpose: this is what 0.1.0 wrote, and must not follow
 * lib/store_sqlite_schema.c, whose version 1 is the starting point of the
 * migrations under test. */
const char *const SQLITE_V1_FILE =
    "PRAGMA application_id=1397117773;"   /* 0x5346534D, "SFSM" */
    "CREATE TABLE opp ("
    " id TEXT NOT NULL UNIQUE, stage TEXT NOT NULL, version INTEGER NOT NULL,"
    " amount INTEGER NOT NULL DEFAULT 0, currency TEXT, customer TEXT, owner TEXT, title TEXT,"
    " expected_close_ms INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL, stage_entered_ms INTEGER NOT NULL,"
    " pipeline TEXT, pipeline_version INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX opp_stage ON opp(stage);"
    "CREATE INDEX opp_owner ON opp(owner);"
    "CREATE INDEX opp_customer ON opp(customer);"
    "CREATE INDEX opp_updated ON opp(updated_ms);"
    "CREATE TABLE opp_attr (opp_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (opp_id, key)) WITHOUT ROWID;"
    "CREATE TABLE history (opp_id TEXT NOT NULL, version INTEGER NOT NULL, at_ms INTEGER NOT NULL,"
    " kind INTEGER NOT NULL, event TEXT, from_stage TEXT, to_stage TEXT, actor TEXT, role TEXT,"
    " note TEXT, fields INTEGER NOT NULL DEFAULT 0, changes TEXT,"
    " PRIMARY KEY (opp_id, version)) WITHOUT ROWID;"
    "INSERT INTO opp VALUES ('old-1', 'qualified', 2, 500000, 'CNY', 'Acme', 'ravi', NULL, 0,"
    " 1700000000000, 1700000100000, 1700000100000, 'default', 1);"
    "INSERT INTO history VALUES ('old-1', 1, 1700000000000, 1, NULL, NULL, 'lead', 'Ravi', 'rep', NULL, 0, NULL);"
    "INSERT INTO history VALUES ('old-1', 2, 1700000100000, 2, 'qualify', 'lead', 'qualified', 'Ravi', 'rep',"
    " NULL, 0, NULL);"
    "PRAGMA user_version=1;";
