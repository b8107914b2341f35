/* The SQLite store's own promises: what it does with files that are not
 * its own, newer or damaged (refuse, and leave them byte for byte as they
 * were), options, and data surviving a close and reopen. */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"
#include "sqlite_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void test_not_a_database(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7 + 3);
    write_all(path, junk, sizeof junk);
    assert_open_fails_untouched(path, NULL, SFSM_ESTORAGE, "not a SQLite database");
    test_store_remove(path);
}

static void test_other_application(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    /* A real SQLite file with tables, whose application id is not ours:
     * made from one of ours by rewriting the id in the header. */
    create_salesfsm_file(path, 0);
    size_t n;
    char *ours = read_all(path, &n);
    /* flip the application id (offset 68, big-endian) to someone else's */
    assert_true(n >= 100);
    ours[68] = 0x12;
    ours[69] = 0x34;
    ours[70] = 0x56;
    ours[71] = 0x78;
    test_store_remove(path);
    write_all(path, ours, n);
    free(ours);
    assert_open_fails_untouched(path, NULL, SFSM_ESTORAGE, "another application");
    test_store_remove(path);
}

static void test_newer_schema(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    create_salesfsm_file(path, 2);
    size_t n;
    char *db = read_all(path, &n);
    /* user_version lives at offset 60, big-endian */
    db[60] = 0;
    db[61] = 0;
    db[62] = 0;
    db[63] = 99;
    test_store_remove(path);
    write_all(path, db, n);
    free(db);
    assert_open_fails_untouched(path, NULL, SFSM_EVERSION, "99");
    test_store_remove(path);
}

static void test_damaged_header(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    create_salesfsm_file(path, 3);
    size_t n;
    char *db = read_all(path, &n);
    memcpy(db, "Not SQLite at all", 17);   /* the magic string is gone */
    test_store_remove(path);
    write_all(path, db, n);
    free(db);
    assert_open_fails_untouched(path, NULL, SFSM_ESTORAGE, "not a SQLite database");
    test_store_remove(path);
}

static void test_missing_without_create(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    sfsm_sqlite_options o = SFSM_SQLITE_OPTIONS_INIT;
    o.create = 0;
    sfsm_store *s = NULL;
    assert_int_equal(sfsm_store_open_sqlite(&s, path, &o), SFSM_ENOTFOUND);
    assert_null(s);
    assert_non_null(strstr(sfsm_errmsg(), path));
    assert_int_equal(access(path, F_OK), -1);   /* not created */
    /* an empty file is not made into a store either */
    write_all(path, "", 0);
    assert_int_equal(sfsm_store_open_sqlite(&s, path, &o), SFSM_ENOTFOUND);
    assert_null(s);
    assert_non_null(strstr(sfsm_errmsg(), "empty"));
    size_t n = 99;
    free(read_all(path, &n));
    assert_int_equal(n, 0);
    test_store_remove(path);
}

static void test_options(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
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
    assert_int_equal(sfsm_store_open_sqlite(&s, path, &o), SFSM_EVERSION);
    o = init;
    o.synchronous = (sfsm_sqlite_sync)9;
    assert_int_equal(sfsm_store_open_sqlite(&s, path, &o), SFSM_EINVAL);
    assert_non_null(strstr(sfsm_errmsg(), "synchronous"));
    o = init;
    o.busy_timeout_ms = -1;
    assert_int_equal(sfsm_store_open_sqlite(&s, path, &o), SFSM_EINVAL);
    assert_non_null(strstr(sfsm_errmsg(), "busy_timeout_ms"));
    assert_int_equal(access(path, F_OK), -1);   /* refused options create nothing */
    assert_int_equal(sfsm_store_open_sqlite(NULL, path, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_store_open_sqlite(&s, NULL, NULL), SFSM_EINVAL);
    assert_null(s);
    for (int sync = SFSM_SQLITE_SYNC_FULL; sync <= SFSM_SQLITE_SYNC_OFF; sync++) {
        o = init;
        o.synchronous = (sfsm_sqlite_sync)sync;
        assert_int_equal(sfsm_store_open_sqlite(&s, path, &o), SFSM_OK);
        sfsm_store_close(s);
        s = NULL;
    }
    test_store_remove(path);
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
    char path[256];
    db_tmp_path(path);
    create_salesfsm_file(path, 5);
    sfsm_pipeline *p = NULL;
    sfsm_store *s = NULL;
    sfsm_engine *e = NULL;
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    assert_int_equal(sfsm_store_open_sqlite(&s, path, NULL), SFSM_OK);
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

    assert_int_equal(sfsm_store_open_sqlite(&s, path, NULL), SFSM_OK);
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
    test_store_remove(path);
}

/* Two store handles on one file (as two processes would have): a write
 * through one is seen by the other, and a stale handle conflicts. */
static void test_two_connections(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    sfsm_pipeline *p = NULL;
    sfsm_store *s1 = NULL, *s2 = NULL;
    sfsm_engine *e1 = NULL, *e2 = NULL;
    sfsm_opp *a = NULL, *b = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    assert_int_equal(sfsm_store_open_sqlite(&s1, path, NULL), SFSM_OK);
    assert_int_equal(sfsm_store_open_sqlite(&s2, path, NULL), SFSM_OK);
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
    test_store_remove(path);
}

/* Tables and indexes of the current schema that older versions lack. */
static void assert_current_schema(const char *path)
{
    assert_int_equal(query_int(path, "PRAGMA user_version"), CURRENT_SCHEMA);
    assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'history_at'"), 1);
    assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_schema WHERE name IN ('team_member',"
                                     " 'team_member_team', 'target', 'payment')"),
                     4);
}

/* A file as salesfsm 0.1.0 wrote it (schema version 1), with one
 * opportunity, is migrated on open and its data is intact. */
static void test_migrates_version_1(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    exec_on(path, SQLITE_V1_FILE);
    assert_int_equal(query_int(path, "PRAGMA user_version"), 1);

    sfsm_pipeline *p = NULL;
    sfsm_store *s = NULL;
    sfsm_engine *e = NULL;
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    assert_int_equal(sfsm_store_open_sqlite(&s, path, NULL), SFSM_OK);
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

    assert_current_schema(path);
    assert_int_equal(query_int(path, "SELECT count(*) FROM history WHERE opp_id = 'old-1'"), 3);
    assert_int_equal(query_int(path, "SELECT count(*) FROM team_member WHERE owner = 'Ravi'"), 1);
    /* opening again does not migrate twice */
    assert_int_equal(sfsm_store_open_sqlite(&s, path, NULL), SFSM_OK);
    sfsm_store_close(s);
    assert_int_equal(query_int(path, "PRAGMA user_version"), CURRENT_SCHEMA);
    test_store_remove(path);
}

/* A new file is created at the current version with the same schema a
 * migrated one has. */
static void test_new_file_is_current(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    create_salesfsm_file(path, 0);
    assert_current_schema(path);
    assert_int_equal(query_int(path, "PRAGMA application_id"), 0x5346534D);
    test_store_remove(path);
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
    char path[256];
    db_tmp_path(path);
    sfsm_pipeline *p = NULL;
    sfsm_store *s = NULL;
    sfsm_engine *e = NULL;
    sfsm_opp *o[3] = { NULL, NULL, NULL };
    static const char *const ids[] = { "a", "b", "c" };
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    assert_int_equal(sfsm_store_open_sqlite(&s, path, NULL), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
    assert_int_equal(sfsm_engine_on_after(e, NULL, count_after, NULL), SFSM_OK);
    for (int i = 0; i < 3; i++) {
        sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
        opts.id = ids[i];
        opts.customer = "Acme";
        assert_int_equal(sfsm_opp_create_ext(e, &opts, &o[i]), SFSM_OK);
    }
    exec_on(path, "CREATE TRIGGER boom BEFORE UPDATE ON opp WHEN NEW.title = 'boom' "
                  "BEGIN SELECT RAISE(ROLLBACK, 'disk full (simulated)'); END;");

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
    test_store_remove(path);
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
