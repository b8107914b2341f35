/* The SQLite store's schema check and upgrade on files that are not what
 * they claim, and upgrades that fail: refused with a message naming the
 * file, nothing half-migrated, and the file as it was. */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"
#include "sqlite_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

static void make_v1(const char *path, const char *extra)
{
    exec_on(path, SQLITE_V1_FILE);
    if (extra)
        exec_on(path, extra);
}

static sfsm_sqlite_options no_wait(void)
{
    sfsm_sqlite_options o = SFSM_SQLITE_OPTIONS_INIT;
    o.busy_timeout_ms = 0;
    return o;
}

/* The store opens, the old opportunity is there, and the schema is current. */
static void assert_opens_and_migrates(const char *path)
{
    sfsm_pipeline *p = NULL;
    sfsm_store *s = NULL;
    sfsm_engine *e = NULL;
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    assert_int_equal(sfsm_store_open_sqlite(&s, path, NULL), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
    assert_int_equal(sfsm_opp_open(e, "old-1", &o), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "qualified");
    assert_int_equal(history_count(e, "old-1"), 2);
    sfsm_opp_free(o);
    sfsm_engine_free(e);
    sfsm_store_close(s);
    sfsm_pipeline_free(p);
    assert_int_equal(query_int(path, "PRAGMA user_version"), CURRENT_SCHEMA);
}

/* ---- files that are refused before anything is written ---- */

/* Marked as ours, with tables, but no schema version: not something any
 * salesfsm wrote, so not guessed at. */
static void test_ours_without_version(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    exec_on(path, "PRAGMA application_id=1397117773; CREATE TABLE opp (id TEXT);");
    assert_open_fails_untouched(path, NULL, SFSM_ESTORAGE, "no schema version");
    assert_msg_has(path);
    test_store_remove(path);
}

/* A plain SQLite file of another program (no application id at all) is not
 * taken over, with create on or off. */
static void test_plain_sqlite_file_with_tables(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    exec_on(path, "CREATE TABLE invoices (no INTEGER PRIMARY KEY, total INTEGER);"
                  "INSERT INTO invoices VALUES (1, 990);");
    assert_open_fails_untouched(path, NULL, SFSM_ESTORAGE, "another application");
    assert_msg_has(path);
    sfsm_sqlite_options o = SFSM_SQLITE_OPTIONS_INIT;
    o.create = 0;
    assert_open_fails_untouched(path, &o, SFSM_ESTORAGE, "another application");
    assert_msg_has(path);
    assert_int_equal(query_int(path, "SELECT total FROM invoices"), 990);
    test_store_remove(path);
}

/* A newer salesfsm's file whose schema is also bigger than ours. */
static void test_newer_version_refused(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    make_v1(path, "CREATE TABLE quota (x INTEGER); PRAGMA user_version=4;");
    assert_open_fails_untouched(path, NULL, SFSM_EVERSION, "schema version 4");
    assert_msg_has(path);
    assert_msg_has("knows up to 3");
    test_store_remove(path);
}

/* A schema entry SQLite cannot parse: the file is reported corrupt. */
static void test_malformed_schema(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    make_v1(path, "PRAGMA writable_schema=ON;"
                  "UPDATE sqlite_schema SET sql = 'CREATE TABLE opp (' WHERE name = 'opp';");
    assert_open_fails_untouched(path, NULL, SFSM_ESTORAGE, "corrupt");
    assert_msg_has(path);
    test_store_remove(path);
}

/* Another process holds an exclusive lock on a rollback-journal file: the
 * check cannot even read it, and says so instead of guessing. */
static void test_unreadable_while_locked(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    make_v1(path, NULL);
    sqlite3 *other = NULL;
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    sfsm_sqlite_options o = no_wait();
    sfsm_store *s = (sfsm_store *)&o;
    assert_int_equal(sfsm_store_open_sqlite(&s, path, &o), SFSM_ESTORAGE);
    assert_null(s);
    assert_msg_has(path);
    assert_msg_has("cannot read");
    assert_msg_has("locked");
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    assert_int_equal(query_int(path, "PRAGMA user_version"), 1);
    /* once the lock is gone the same file opens and migrates */
    assert_opens_and_migrates(path);
    test_store_remove(path);
}

/* ---- upgrades that fail ---- */

/* The logical content of a file: schema, version and every row of every
 * table, as one string, for "unchanged" across a failed upgrade. */
static char *content_of(const char *path)
{
    return dump_rows(path, "SELECT 'v', (SELECT user_version FROM pragma_user_version),"
                           " (SELECT application_id FROM pragma_application_id), NULL"
                           " UNION ALL SELECT type, name, tbl_name, sql FROM sqlite_schema"
                           " UNION ALL SELECT 'opp', id, version, stage FROM opp"
                           " UNION ALL SELECT 'history', opp_id, version, to_stage FROM history");
}

/* A version-1 file where someone already made a table called `payment`:
 * the 1 -> 2 step succeeds, the 2 -> 3 step creates two tables and then
 * fails. All of it is rolled back: still version 1, no index or table of
 * the later versions, data intact. */
static void test_upgrade_fails_midway(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    make_v1(path, "CREATE TABLE payment (receipt TEXT);");
    char *before = content_of(path);
    size_t n0;
    char *bytes0 = read_all(path, &n0);

    sfsm_store *s = (sfsm_store *)&n0;
    assert_int_equal(sfsm_store_open_sqlite(&s, path, NULL), SFSM_ESTORAGE);
    assert_null(s);
    assert_msg_has(path);
    assert_msg_has("migrating the schema");
    assert_msg_has("payment");

    char *after = content_of(path);
    assert_string_equal(after, before);
    assert_int_equal(query_int(path, "PRAGMA user_version"), 1);
    assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_schema WHERE name IN"
                                     " ('history_at', 'team_member', 'team_member_team', 'target')"),
                     0);
    size_t n1;
    char *bytes1 = read_all(path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(bytes0, bytes1, n0);
    free(bytes0);
    free(bytes1);
    free(before);
    free(after);

    /* with the stray table gone, the same file migrates */
    exec_on(path, "DROP TABLE payment;");
    assert_opens_and_migrates(path);
    test_store_remove(path);
}

/* A version-1 file in WAL mode whose write lock another process holds: the
 * check reads it, the upgrade cannot start, and nothing changes. */
static void test_upgrade_cannot_lock(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    make_v1(path, "PRAGMA journal_mode=WAL;");
    char *before = content_of(path);
    sqlite3 *other = NULL;
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    sfsm_sqlite_options o = no_wait();
    sfsm_store *s = (sfsm_store *)&o;
    assert_int_equal(sfsm_store_open_sqlite(&s, path, &o), SFSM_ESTORAGE);
    assert_null(s);
    assert_msg_has(path);
    assert_msg_has("schema upgrade");
    assert_msg_has("locked");
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    char *after = content_of(path);
    assert_string_equal(after, before);
    free(before);
    free(after);
    assert_opens_and_migrates(path);
    test_store_remove(path);
}

/* ---- failures SQLite reports inside the upgrade ----
 *
 * Disk full or an I/O error in the middle of creating or migrating the
 * schema cannot be produced on demand; SQLite's own hooks stand in for
 * them. An auto-extension sees every connection this process opens; on the
 * library's connection to the file under test it installs an authorizer
 * that refuses one statement, or a commit hook that refuses the commit. */

static struct {
    char path[256];        /* the file whose connections get the hooks */
    int deny_action;       /* SQLITE_CREATE_TABLE, SQLITE_PRAGMA, SQLITE_TRANSACTION, 0: none */
    const char *deny_arg;  /* ... of this table / pragma / verb */
    const char *deny_val;  /* and, for a pragma, only with a value (a write) */
    int fail_commit;       /* the commit hook refuses the first commit */
    const char *race_sql;  /* run on another connection just before BEGIN */
    int denied;            /* what happened */
} inj;

static int authorize(void *ud, int action, const char *a1, const char *a2, const char *db, const char *trigger)
{
    (void)ud;
    (void)db;
    (void)trigger;
    if (inj.race_sql && action == SQLITE_TRANSACTION && a1 && strcmp(a1, "BEGIN") == 0) {
        /* another process changes the file between the check and the lock */
        const char *sql = inj.race_sql;
        inj.race_sql = NULL;
        sqlite3 *other = NULL;
        if (sqlite3_open(inj.path, &other) == SQLITE_OK)
            sqlite3_exec(other, sql, NULL, NULL, NULL);
        sqlite3_close(other);
        return SQLITE_OK;
    }
    if (action != inj.deny_action || !a1 || strcmp(a1, inj.deny_arg) != 0)
        return SQLITE_OK;
    if (inj.deny_val && !a2)
        return SQLITE_OK;   /* reading the pragma stays allowed */
    inj.denied++;
    return SQLITE_DENY;
}

static int refuse_commit(void *ud)
{
    (void)ud;
    if (!inj.fail_commit)
        return 0;
    inj.fail_commit = 0;
    inj.denied++;
    return 1;
}

static int hook_connection(sqlite3 *db, char **err, const struct sqlite3_api_routines *api)
{
    (void)err;
    (void)api;
    const char *name = sqlite3_db_filename(db, "main");
    if (!name || !*inj.path || strstr(name, inj.path) == NULL)
        return SQLITE_OK;
    sqlite3_set_authorizer(db, authorize, NULL);
    sqlite3_commit_hook(db, refuse_commit, NULL);
    return SQLITE_OK;
}

static void inject_on(const char *path)
{
    memset(&inj, 0, sizeof inj);
    snprintf(inj.path, sizeof inj.path, "%s", path);
    assert_int_equal(sqlite3_auto_extension((void (*)(void))hook_connection), SQLITE_OK);
}

static void inject_off(void)
{
    sqlite3_cancel_auto_extension((void (*)(void))hook_connection);
    memset(&inj, 0, sizeof inj);
}

/* Opening fails with ESTORAGE naming the file and `what`; the injected
 * failure did happen. */
static void assert_open_fails(const char *path, int code, const char *what)
{
    sfsm_store *s = (sfsm_store *)&inj;
    assert_int_equal(sfsm_store_open_sqlite(&s, path, NULL), code);
    assert_null(s);
    assert_msg_has(path);
    assert_msg_has(what);
}

/* A new file whose schema cannot be created (a table, or the mark that
 * makes it ours): nothing of it stays, and the next open creates it. */
static void test_create_fails(void **state)
{
    (void)state;
    static const struct { int action; const char *arg, *val; } cases[] = {
        { SQLITE_CREATE_TABLE, "history", NULL },
        { SQLITE_PRAGMA, "application_id", "set" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256];
        db_tmp_path(path);
        inject_on(path);
        inj.deny_action = cases[i].action;
        inj.deny_arg = cases[i].arg;
        inj.deny_val = cases[i].val;
        assert_open_fails(path, SFSM_ESTORAGE, "creating the schema");
        assert_int_equal(inj.denied, 1);
        inject_off();
        assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_schema"), 0);
        assert_int_equal(query_int(path, "PRAGMA application_id"), 0);
        sfsm_store *s = NULL;
        assert_int_equal(sfsm_store_open_sqlite(&s, path, NULL), SFSM_OK);
        sfsm_store_close(s);
        assert_int_equal(query_int(path, "PRAGMA user_version"), CURRENT_SCHEMA);
        test_store_remove(path);
    }
}

/* A version-1 file whose migration gets to the end and then cannot record
 * the new version, or cannot commit: rolled back, byte for byte. */
static void test_upgrade_fails_at_the_end(void **state)
{
    (void)state;
    for (int commit = 0; commit <= 1; commit++) {
        char path[256];
        db_tmp_path(path);
        make_v1(path, NULL);
        size_t n0, n1;
        char *before = read_all(path, &n0);
        inject_on(path);
        if (commit) {
            inj.fail_commit = 1;
        } else {
            inj.deny_action = SQLITE_PRAGMA;
            inj.deny_arg = "user_version";
            inj.deny_val = "set";
        }
        assert_open_fails(path, SFSM_ESTORAGE, "schema upgrade");
        assert_int_equal(inj.denied, 1);
        inject_off();
        char *after = read_all(path, &n1);
        assert_int_equal(n0, n1);
        assert_memory_equal(before, after, n0);
        free(before);
        free(after);
        assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'history_at'"), 0);
        assert_opens_and_migrates(path);
        test_store_remove(path);
    }
}

/* Between the check and the write lock another process, a newer salesfsm,
 * upgrades the file beyond what this library knows: the look under the lock
 * notices, and nothing is written over its work. */
static void test_newer_process_upgrades_first(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    make_v1(path, "PRAGMA journal_mode=WAL;");
    inject_on(path);
    inj.race_sql = "CREATE TABLE quota (x INTEGER); PRAGMA user_version=4;";
    assert_open_fails(path, SFSM_EVERSION, "schema version 4");
    assert_null(inj.race_sql);
    inject_off();
    assert_int_equal(query_int(path, "PRAGMA user_version"), 4);
    assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_schema WHERE name IN ('history_at', 'payment')"),
                     0);
    test_store_remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ours_without_version),
        cmocka_unit_test(test_plain_sqlite_file_with_tables),
        cmocka_unit_test(test_newer_version_refused),
        cmocka_unit_test(test_malformed_schema),
        cmocka_unit_test(test_unreadable_while_locked),
        cmocka_unit_test(test_upgrade_fails_midway),
        cmocka_unit_test(test_upgrade_cannot_lock),
        cmocka_unit_test(test_create_fails),
        cmocka_unit_test(test_upgrade_fails_at_the_end),
        cmocka_unit_test(test_newer_process_upgrades_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
