/* Schema versions of the SQLite store. Version 1 is created as it was first
 * shipped and every later version is a migration step on top of it, so a
 * new file and an old migrated one end up exactly alike. */
#include <stdio.h>

#include <salesfsm/common.h>

#include "store_sqlite_error.h"
#include "store_sqlite_schema.h"

static const char *const schema_v1 =
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
    " PRIMARY KEY (opp_id, version)) WITHOUT ROWID;";

/* migrations[i] moves a file from version i + 1 to i + 2. */
static const char *const migrations[] = {
    /* 1 -> 2: history by time, for reports over a period ("as of", funnel) */
    "CREATE INDEX history_at ON history(at_ms);",
    /* 2 -> 3: teams, targets and payments (targets.h) */
    "CREATE TABLE team_member (owner TEXT NOT NULL PRIMARY KEY, team TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX team_member_team ON team_member(team, owner);"
    "CREATE TABLE target (subject_kind INTEGER NOT NULL, subject TEXT NOT NULL, year INTEGER NOT NULL,"
    " period_kind INTEGER NOT NULL, period_index INTEGER NOT NULL, currency TEXT NOT NULL,"
    " amount INTEGER NOT NULL,"
    " PRIMARY KEY (subject_kind, subject, year, period_kind, period_index, currency)) WITHOUT ROWID;"
    "CREATE TABLE payment (opp_id TEXT NOT NULL, seq INTEGER NOT NULL, amount INTEGER NOT NULL,"
    " currency TEXT NOT NULL, at_ms INTEGER NOT NULL, note TEXT,"
    " PRIMARY KEY (opp_id, seq)) WITHOUT ROWID;",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == SFSM_SQLITE_SCHEMA_VERSION - 1,
               "one migration per schema version after the first");

static int read_int(sqlite3 *db, const char *sql, sqlite3_int64 *out)
{
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int read_state(sqlite3 *db, sqlite3_int64 *app, sqlite3_int64 *version, sqlite3_int64 *tables)
{
    int rc = read_int(db, "PRAGMA application_id", app);
    if (rc == SQLITE_OK)
        rc = read_int(db, "PRAGMA user_version", version);
    if (rc == SQLITE_OK)
        rc = read_int(db, "SELECT count(*) FROM sqlite_schema", tables);
    return rc;
}

static int check_state(sqlite3 *db, const char *file, int rc, sqlite3_int64 app, sqlite3_int64 version,
                       sqlite3_int64 tables)
{
    if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
        return sfsm__sqlite_error(SFSM_ESTORAGE, file, "not a SQLite database or corrupt: %s", sqlite3_errstr(rc));
    if (rc != SQLITE_OK)
        return sfsm__sqlite_error(SFSM_ESTORAGE, file, "cannot read it: %s", sqlite3_errmsg(db));
    if (tables > 0 && app != SFSM_SQLITE_APPLICATION_ID)
        return sfsm__sqlite_error(SFSM_ESTORAGE, file,
                                  "a SQLite database of another application, not a salesfsm store");
    if (app == SFSM_SQLITE_APPLICATION_ID && version > SFSM_SQLITE_SCHEMA_VERSION)
        return sfsm__sqlite_error(SFSM_EVERSION, file, "salesfsm schema version %lld; this library (%s) knows up to %d",
                                  (long long)version, SFSM_VERSION_STRING, SFSM_SQLITE_SCHEMA_VERSION);
    if (app == SFSM_SQLITE_APPLICATION_ID && version < 1)
        return sfsm__sqlite_error(SFSM_ESTORAGE, file, "marked as a salesfsm store but has no schema version");
    return SFSM_OK;
}

int sfsm__sqlite_schema_check(sqlite3 *db, const char *file, int create)
{
    sqlite3_int64 app = 0, version = 0, tables = 0;
    int rc = read_state(db, &app, &version, &tables);
    rc = check_state(db, file, rc, app, version, tables);
    if (rc == SFSM_OK && tables == 0 && !create)
        return sfsm__sqlite_error(SFSM_ENOTFOUND, file, "empty, not a salesfsm store (and create is off)");
    return rc;
}

static int fail(sqlite3 *db, const char *file, const char *what)
{
    int err = sfsm__sqlite_error(SFSM_ESTORAGE, file, "%s: %s", what, sqlite3_errmsg(db));
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}

int sfsm__sqlite_schema_upgrade(sqlite3 *db, const char *file)
{
    sqlite3_int64 app = 0, version = 0, tables = 0;
    if (read_state(db, &app, &version, &tables) == SQLITE_OK && tables > 0 &&
        version == SFSM_SQLITE_SCHEMA_VERSION)
        return SFSM_OK;   /* the common case: nothing to do, nothing locked */
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, file, "schema upgrade");
    /* Look again under the write lock: another process may have done it. */
    int rc = read_state(db, &app, &version, &tables);
    if ((rc = check_state(db, file, rc, app, version, tables)) != SFSM_OK) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    if (tables == 0) {
        char sql[96];
        snprintf(sql, sizeof sql, "PRAGMA application_id=%d;", SFSM_SQLITE_APPLICATION_ID);
        if (sqlite3_exec(db, schema_v1, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            return fail(db, file, "creating the schema");
        version = 1;
    }
    for (; version < SFSM_SQLITE_SCHEMA_VERSION; version++)
        if (sqlite3_exec(db, migrations[version - 1], NULL, NULL, NULL) != SQLITE_OK)
            return fail(db, file, "migrating the schema");
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d;", SFSM_SQLITE_SCHEMA_VERSION);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, file, "schema upgrade");
    return SFSM_OK;
}
