/* The SQLite store's own promises: what it does with files that are not
 * its own, newer or damaged (refuse, and leave them byte for byte as they
 * were), options, and data surviving a close and reopen. */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

typedef struct tmpfile_ {
    char path[256];
} tmpfile_;

static void tmp_path(tmpfile_ *t)
{
    const char *dir = getenv("TMPDIR");
    snprintf(t->path, sizeof t->path, "%s/sfsm-sqlite-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(t->path);
    assert_true(fd >= 0);
    close(fd);
    unlink(t->path);   /* tests decide whether the file exists */
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* The whole file, for comparing before and after. */
static char *read_file(const char *path, size_t *n)
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
    *n = (size_t)size;
    return buf;
}

static void assert_open_fails_untouched(const char *path, int code, const char *needle)
{
    size_t n0, n1;
    char *before = read_file(path, &n0);
    sfsm_store *s = (sfsm_store *)&n0;
    assert_int_equal(sfsm_store_open_sqlite(&s, path, NULL), code);
    assert_null(s);
    assert_non_null(strstr(sfsm_errmsg(), needle));
    char *after = read_file(path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
}

static void create_salesfsm_file(const char *path, int opps)
{
    sfsm_store *s = NULL;
    assert_int_equal(sfsm_store_open_sqlite(&s, path, NULL), SFSM_OK);
    if (opps) {
        sfsm_pipeline *p = NULL;
        sfsm_engine *e = NULL;
        assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
        assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
        for (int i = 0; i < opps; i++) {
            sfsm_opp *o = NULL;
            char id[32];
            snprintf(id, sizeof id, "opp-%d", i);
            assert_int_equal(sfsm_opp_create(e, id, &o), SFSM_OK);
            sfsm_opp_free(o);
        }
        sfsm_engine_free(e);
        sfsm_pipeline_free(p);
    }
    sfsm_store_close(s);
}

static void remove_db(const char *path)
{
    char name[300];
    static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffix[i]);
        unlink(name);
    }
}

static void test_not_a_database(void **state)
{
    (void)state;
    tmpfile_ t;
    tmp_path(&t);
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7 + 3);
    write_file(t.path, junk, sizeof junk);
    assert_open_fails_untouched(t.path, SFSM_ESTORAGE, "not a SQLite database");
    remove_db(t.path);
}

static void test_other_application(void **state)
{
    (void)state;
    tmpfile_ t;
    tmp_path(&t);
    /* A real SQLite file with tables, whose application id is not ours:
     * made from one of ours by rewriting the id in the header. */
    create_salesfsm_file(t.path, 0);
    size_t n;
    char *ours = read_file(t.path, &n);
    /* flip the application id (offset 68, big-endian) to someone else's */
    assert_true(n >= 100);
    ours[68] = 0x12;
    ours[69] = 0x34;
    ours[70] = 0x56;
    ours[71] = 0x78;
    remove_db(t.path);
    write_file(t.path, ours, n);
    free(ours);
    assert_open_fails_untouched(t.path, SFSM_ESTORAGE, "another application");
    remove_db(t.path);
}

static void test_newer_schema(void **state)
{
    (void)state;
    tmpfile_ t;
    tmp_path(&t);
    create_salesfsm_file(t.path, 2);
    size_t n;
    char *db = read_file(t.path, &n);
    /* user_version lives at offset 60, big-endian */
    db[60] = 0;
    db[61] = 0;
    db[62] = 0;
    db[63] = 99;
    remove_db(t.path);
    write_file(t.path, db, n);
    free(db);
    assert_open_fails_untouched(t.path, SFSM_EVERSION, "99");
    remove_db(t.path);
}

static void test_damaged_header(void **state)
{
    (void)state;
    tmpfile_ t;
    tmp_path(&t);
    create_salesfsm_file(t.path, 3);
    size_t n;
    char *db = read_file(t.path, &n);
    memcpy(db, "Not SQLite at all", 17);   /* the magic string is gone */
    remove_db(t.path);
    write_file(t.path, db, n);
    free(db);
    assert_open_fails_untouched(t.path, SFSM_ESTORAGE, "not a SQLite database");
    remove_db(t.path);
}

static void test_missing_without_create(void **state)
{
    (void)state;
    tmpfile_ t;
    tmp_path(&t);
    sfsm_sqlite_options o = SFSM_SQLITE_OPTIONS_INIT;
    o.create = 0;
    sfsm_store *s = NULL;
    assert_int_equal(sfsm_store_open_sqlite(&s, t.path, &o), SFSM_ENOTFOUND);
    assert_null(s);
    assert_non_null(strstr(sfsm_errmsg(), t.path));
    assert_int_equal(access(t.path, F_OK), -1);   /* not created */
    /* an empty file is not made into a store either */
    write_file(t.path, "", 0);
    assert_int_equal(sfsm_store_open_sqlite(&s, t.path, &o), SFSM_ENOTFOUND);
    assert_null(s);
    assert_non_null(strstr(sfsm_errmsg(), "empty"));
    size_t n = 99;
    free(read_file(t.path, &n));
    assert_int_equal(n, 0);
    remove_db(t.path);
}

static void test_options(void **state)
{
    (void)state;
    tmpfile_ t;
    tmp_path(&t);
    sfsm_sqlite_options o;
    assert_int_equal(sfsm_sqlite_options_init(&o, SFSM_SQLITE_OPTIONS_VERSION), SFSM_OK);
    sfsm_sqlite_options init = SFSM_SQLITE_OPTIONS_INIT;
    assert_memory_equal(&o, &init, sizeof o);
    assert_int_equal(o.synchronous, SFSM_SQLITE_SYNC_FULL);
    assert_int_equal(sfsm_sqlite_options_init(&o, 2), SFSM_EVERSION);
    assert_int_equal(sfsm_sqlite_options_init(NULL, 1), SFSM_EINVAL);

    sfsm_store *s = NULL;
    o = init;
    o.version = 7;
    assert_int_equal(sfsm_store_open_sqlite(&s, t.path, &o), SFSM_EVERSION);
    o = init;
    o.synchronous = (sfsm_sqlite_sync)9;
    assert_int_equal(sfsm_store_open_sqlite(&s, t.path, &o), SFSM_EINVAL);
    assert_non_null(strstr(sfsm_errmsg(), "synchronous"));
    o = init;
    o.busy_timeout_ms = -1;
    assert_int_equal(sfsm_store_open_sqlite(&s, t.path, &o), SFSM_EINVAL);
    assert_non_null(strstr(sfsm_errmsg(), "busy_timeout_ms"));
    assert_int_equal(access(t.path, F_OK), -1);   /* refused options create nothing */
    assert_int_equal(sfsm_store_open_sqlite(NULL, t.path, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_store_open_sqlite(&s, NULL, NULL), SFSM_EINVAL);
    assert_null(s);
    for (int sync = SFSM_SQLITE_SYNC_FULL; sync <= SFSM_SQLITE_SYNC_OFF; sync++) {
        o = init;
        o.synchronous = (sfsm_sqlite_sync)sync;
        assert_int_equal(sfsm_store_open_sqlite(&s, t.path, &o), SFSM_OK);
        sfsm_store_close(s);
        s = NULL;
    }
    remove_db(t.path);
}

static int count_cb(const sfsm_opp *o, void *ud)
{
    (void)o;
    (*(int *)ud)++;
    return 0;
}

static void test_data_survives_reopen(void **state)
{
    (void)state;
    tmpfile_ t;
    tmp_path(&t);
    create_salesfsm_file(t.path, 5);
    sfsm_pipeline *p = NULL;
    sfsm_store *s = NULL;
    sfsm_engine *e = NULL;
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    assert_int_equal(sfsm_store_open_sqlite(&s, t.path, NULL), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
    int n = 0;
    assert_int_equal(sfsm_scan(e, NULL, count_cb, &n), SFSM_OK);
    assert_int_equal(n, 5);
    assert_int_equal(sfsm_opp_open(e, "opp-3", &o), SFSM_OK);
    assert_int_equal(sfsm_opp_set_customer(o, "客户 \"Acme\" \\ Ltd"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "erp.no", "4711"), SFSM_OK);
    assert_int_equal(sfsm_fire(e, o, "qualify", &MANAGER, "note\nwith lines"), SFSM_OK);
    sfsm_opp_free(o);
    sfsm_engine_free(e);
    sfsm_store_close(s);

    assert_int_equal(sfsm_store_open_sqlite(&s, t.path, NULL), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
    assert_int_equal(sfsm_opp_open(e, "opp-3", &o), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "qualified");
    assert_int_equal(sfsm_opp_version(o), 2);
    assert_string_equal(sfsm_opp_customer(o), "客户 \"Acme\" \\ Ltd");
    assert_string_equal(sfsm_opp_attr(o, "erp.no"), "4711");
    assert_null(sfsm_opp_owner(o));   /* unset stays NULL, not "" */
    assert_int_equal(history_count(e, "opp-3"), 2);
    sfsm_opp_free(o);
    sfsm_engine_free(e);
    sfsm_store_close(s);
    sfsm_pipeline_free(p);
    remove_db(t.path);
}

/* Two store handles on one file (as two processes would have): a write
 * through one is seen by the other, and a stale handle conflicts. */
static void test_two_connections(void **state)
{
    (void)state;
    tmpfile_ t;
    tmp_path(&t);
    sfsm_pipeline *p = NULL;
    sfsm_store *s1 = NULL, *s2 = NULL;
    sfsm_engine *e1 = NULL, *e2 = NULL;
    sfsm_opp *a = NULL, *b = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    assert_int_equal(sfsm_store_open_sqlite(&s1, t.path, NULL), SFSM_OK);
    assert_int_equal(sfsm_store_open_sqlite(&s2, t.path, NULL), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&e1, p, s1), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&e2, p, s2), SFSM_OK);
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "shared";
    opts.customer = "Acme";
    assert_int_equal(sfsm_opp_create_ext(e1, &opts, &a), SFSM_OK);
    assert_int_equal(sfsm_opp_open(e2, "shared", &b), SFSM_OK);
    assert_int_equal(sfsm_fire(e1, a, "qualify", &REP, NULL), SFSM_OK);
    assert_int_equal(sfsm_fire(e2, b, "qualify", &REP, NULL), SFSM_ECONFLICT);
    assert_int_equal(sfsm_opp_version(b), 1);
    sfsm_opp_free(b);
    assert_int_equal(sfsm_opp_open(e2, "shared", &b), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(b), "qualified");
    assert_int_equal(history_count(e2, "shared"), 2);
    sfsm_opp_free(a);
    sfsm_opp_free(b);
    sfsm_engine_free(e1);
    sfsm_engine_free(e2);
    sfsm_store_close(s1);
    sfsm_store_close(s2);
    sfsm_pipeline_free(p);
    remove_db(t.path);
}

/* A file as salesfsm 0.1.0 wrote it (schema version 1), with one
 * opportunity, is migrated on open and its data is intact. */
static const char *const v1_file =
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

static sqlite3_int64 query_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    sqlite3_int64 v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* The schema version this library writes (lib/store_sqlite_schema.h). */
#define CURRENT_SCHEMA 3

/* Tables and indexes of the current schema that older versions lack. */
static void assert_current_schema(const char *path)
{
    assert_int_equal(query_int(path, "PRAGMA user_version"), CURRENT_SCHEMA);
    assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'history_at'"), 1);
    assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_schema WHERE name IN ('team_member',"
                                     " 'team_member_team', 'target', 'payment')"),
                     4);
}

static void test_migrates_version_1(void **state)
{
    (void)state;
    tmpfile_ t;
    tmp_path(&t);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v1_file, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(query_int(t.path, "PRAGMA user_version"), 1);

    sfsm_pipeline *p = NULL;
    sfsm_store *s = NULL;
    sfsm_engine *e = NULL;
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    assert_int_equal(sfsm_store_open_sqlite(&s, t.path, NULL), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
    assert_int_equal(sfsm_opp_open(e, "old-1", &o), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "qualified");
    assert_int_equal(sfsm_opp_amount(o), 500000);
    assert_int_equal(history_count(e, "old-1"), 2);
    assert_int_equal(sfsm_fire(e, o, "quote", &REP, NULL), SFSM_OK);
    /* the version-3 tables are there and in use */
    assert_int_equal(sfsm_team_set(e, "Ravi", "north"), SFSM_OK);
    sfsm_opp_free(o);
    sfsm_engine_free(e);
    sfsm_store_close(s);
    sfsm_pipeline_free(p);

    assert_current_schema(t.path);
    assert_int_equal(query_int(t.path, "SELECT count(*) FROM history WHERE opp_id = 'old-1'"), 3);
    assert_int_equal(query_int(t.path, "SELECT count(*) FROM team_member WHERE owner = 'Ravi'"), 1);
    /* opening again does not migrate twice */
    assert_int_equal(sfsm_store_open_sqlite(&s, t.path, NULL), SFSM_OK);
    sfsm_store_close(s);
    assert_int_equal(query_int(t.path, "PRAGMA user_version"), CURRENT_SCHEMA);
    remove_db(t.path);
}

/* A new file is created at the current version with the same schema a
 * migrated one has. */
static void test_new_file_is_current(void **state)
{
    (void)state;
    tmpfile_ t;
    tmp_path(&t);
    create_salesfsm_file(t.path, 0);
    assert_current_schema(t.path);
    assert_int_equal(query_int(t.path, "PRAGMA application_id"), 0x5346534D);
    remove_db(t.path);
}

static int announced;

static void count_after(const sfsm_transition *t, void *ud)
{
    (void)t;
    (void)ud;
    announced++;
}

/* When SQLite itself rolls the whole transaction back after an error (disk
 * full, I/O error; a trigger's RAISE(ROLLBACK) stands in for them here), the
 * batch fails as a whole: no later write sneaks in outside it, the commit
 * reports the failure, nothing is announced, and nothing of the batch stays. */
static void test_sqlite_rolls_back_the_batch(void **state)
{
    (void)state;
    tmpfile_ t;
    tmp_path(&t);
    sfsm_pipeline *p = NULL;
    sfsm_store *s = NULL;
    sfsm_engine *e = NULL;
    sfsm_opp *o[3] = { NULL, NULL, NULL };
    static const char *const ids[] = { "a", "b", "c" };
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    assert_int_equal(sfsm_store_open_sqlite(&s, t.path, NULL), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
    assert_int_equal(sfsm_engine_on_after(e, NULL, count_after, NULL), SFSM_OK);
    for (int i = 0; i < 3; i++) {
        sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
        opts.id = ids[i];
        opts.customer = "Acme";
        assert_int_equal(sfsm_opp_create_ext(e, &opts, &o[i]), SFSM_OK);
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TRIGGER boom BEFORE UPDATE ON opp WHEN NEW.title = 'boom' "
                                  "BEGIN SELECT RAISE(ROLLBACK, 'disk full (simulated)'); END;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    announced = 0;
    assert_int_equal(sfsm_engine_begin(e), SFSM_OK);
    assert_int_equal(sfsm_fire(e, o[0], "qualify", &REP, NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_set_title(o[1], "boom"), SFSM_OK);
    assert_int_equal(sfsm_fire(e, o[1], "qualify", &REP, NULL), SFSM_ESTORAGE);
    assert_non_null(strstr(sfsm_errmsg(), "disk full"));
    assert_int_equal(sfsm_fire(e, o[2], "qualify", &REP, NULL), SFSM_ESTORAGE);
    assert_int_equal(sfsm_engine_commit(e), SFSM_ESTORAGE);
    assert_int_equal(announced, 0);
    for (int i = 0; i < 3; i++) {
        sfsm_opp *x = NULL;
        assert_int_equal(sfsm_opp_open(e, ids[i], &x), SFSM_OK);
        assert_string_equal(sfsm_opp_stage(x), "lead");
        assert_int_equal(sfsm_opp_version(x), 1);
        sfsm_opp_free(x);
        assert_int_equal(history_count(e, ids[i]), 1);
    }
    /* the store works normally afterwards */
    sfsm_opp_free(o[2]);
    assert_int_equal(sfsm_opp_open(e, "c", &o[2]), SFSM_OK);
    assert_int_equal(sfsm_fire(e, o[2], "qualify", &REP, NULL), SFSM_OK);
    assert_int_equal(announced, 1);
    for (int i = 0; i < 3; i++)
        sfsm_opp_free(o[i]);
    sfsm_engine_free(e);
    sfsm_store_close(s);
    sfsm_pipeline_free(p);
    remove_db(t.path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_a_database),
        cmocka_unit_test(test_other_application),
        cmocka_unit_test(test_newer_schema),
        cmocka_unit_test(test_damaged_header),
        cmocka_unit_test(test_missing_without_create),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_data_survives_reopen),
        cmocka_unit_test(test_two_connections),
        cmocka_unit_test(test_migrates_version_1),
        cmocka_unit_test(test_new_file_is_current),
        cmocka_unit_test(test_sqlite_rolls_back_the_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
