/*
 * The SQLite backend: the embedded default for durable data. One connection
 * per store handle (the store serializes calls on it); WAL so that readers
 * in other processes never block a writer; BEGIN IMMEDIATE for the outermost
 * transaction so that two writers queue on the busy timeout instead of
 * deadlocking on a lock upgrade; SAVEPOINTs for nested transactions.
 * Every statement that touches user data is prepared once and bound.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include <salesfsm/store.h>
#include <salesfsm/sys/store.h>

#include "alloc.h"
#include "record_check.h"
#include "store_impl.h"
#include "store_sqlite_error.h"
#include "store_sqlite_schema.h"
#include "text.h"

#define OPP_COLUMNS                                                                              \
    "id, stage, version, amount, currency, customer, owner, title, expected_close_ms, created_ms," \
    " updated_ms, stage_entered_ms, pipeline, pipeline_version"

enum stmt_id {
    S_BEGIN, S_COMMIT, S_ROLLBACK,
    S_GET, S_ATTRS, S_INSERT, S_UPDATE_ALL, S_UPDATE_STAGE, S_VERSION_OF,
    S_ATTR_CLEAR, S_ATTR_ADD, S_HIST_ADD, S_HIST_READ, S_SCAN, S_STAGE_COUNTS,
    S_TEAM_PUT, S_TEAM_DEL, S_TEAM_SCAN, S_TARGET_PUT, S_TARGET_SCAN, S_PAY_ADD, S_PAY_SCAN_ONE,
    S_PAY_SCAN_ALL, S_HIST_SCAN, S_ATTR_ANY, S_ATTR_SCAN,
    S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_GET] = "SELECT " OPP_COLUMNS " FROM opp WHERE id = ?1",
    [S_ATTRS] = "SELECT key, value FROM opp_attr WHERE opp_id = ?1 ORDER BY key",
    [S_INSERT] = "INSERT INTO opp (" OPP_COLUMNS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
    [S_UPDATE_ALL] = "UPDATE opp SET stage=?2, version=?3, amount=?4, currency=?5, customer=?6, owner=?7,"
                     " title=?8, expected_close_ms=?9, created_ms=?10, updated_ms=?11, stage_entered_ms=?12,"
                     " pipeline=?13, pipeline_version=?14 WHERE id=?1 AND version=?15",
    [S_UPDATE_STAGE] = "UPDATE opp SET stage=?2, version=?3, created_ms=?10, updated_ms=?11,"
                       " stage_entered_ms=?12, pipeline=?13, pipeline_version=?14 WHERE id=?1 AND version=?15",
    [S_VERSION_OF] = "SELECT version FROM opp WHERE id = ?1",
    [S_ATTR_CLEAR] = "DELETE FROM opp_attr WHERE opp_id = ?1",
    [S_ATTR_ADD] = "INSERT INTO opp_attr (opp_id, key, value) VALUES (?1, ?2, ?3)",
    [S_HIST_ADD] = "INSERT INTO history (opp_id, version, at_ms, kind, event, from_stage, to_stage, actor, role,"
                   " note, fields, changes) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
    [S_HIST_READ] = "SELECT version, at_ms, kind, event, from_stage, to_stage, actor, role, note, fields, changes"
                    " FROM history WHERE opp_id = ?1 ORDER BY version",
    [S_STAGE_COUNTS] = "SELECT pipeline, pipeline_version, stage, count(*) FROM opp GROUP BY 1, 2, 3",
    [S_SCAN] = "SELECT " OPP_COLUMNS ", rowid FROM opp WHERE (?1 IS NULL OR stage = ?1) AND (?2 IS NULL OR owner = ?2)"
               " AND (?3 IS NULL OR customer = ?3) AND (?4 = 0 OR updated_ms >= ?4) ORDER BY rowid",
    [S_TEAM_PUT] = "INSERT OR REPLACE INTO team_member (owner, team) VALUES (?1, ?2)",
    [S_TEAM_DEL] = "DELETE FROM team_member WHERE owner = ?1",
    [S_TEAM_SCAN] = "SELECT owner, team FROM team_member WHERE ?1 IS NULL OR team = ?1 ORDER BY team, owner",
    [S_TARGET_PUT] = "INSERT OR REPLACE INTO target (subject_kind, subject, year, period_kind, period_index, currency,"
                     " amount) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_TARGET_SCAN] = "SELECT subject_kind, subject, year, period_kind, period_index, currency, amount FROM target"
                      " WHERE (?2 IS NULL OR (subject_kind = ?1 AND subject = ?2)) AND (?3 = 0 OR year = ?3)"
                      " ORDER BY subject_kind, subject, year, period_kind, period_index, currency",
    [S_PAY_ADD] = "INSERT INTO payment (opp_id, seq, amount, currency, at_ms, note)"
                  " SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM opp WHERE id = ?1)",
    [S_PAY_SCAN_ONE] = "SELECT opp_id, seq, amount, currency, at_ms, note FROM payment WHERE opp_id = ?1 ORDER BY seq",
    [S_PAY_SCAN_ALL] = "SELECT p.opp_id, p.seq, p.amount, p.currency, p.at_ms, p.note FROM opp o"
                       " JOIN payment p ON p.opp_id = o.id ORDER BY o.rowid, p.seq",
    [S_HIST_SCAN] = "SELECT h.opp_id, h.version, h.at_ms, h.kind, h.event, h.from_stage, h.to_stage, h.actor, h.role,"
                    " h.note, h.fields, h.changes FROM history h"
                    " ORDER BY h.opp_id, h.version",
    /* A whole-store scan reads the attributes of every opportunity with one
     * cursor in the scan's order, merged by rowid (not one query per row). */
    [S_ATTR_ANY] = "SELECT 1 FROM opp_attr LIMIT 1",
    [S_ATTR_SCAN] = "SELECT o.rowid, a.key, a.value FROM opp o JOIN opp_attr a ON a.opp_id = o.id"
                    " ORDER BY o.rowid, a.key",
};

#define SP_CACHED 8   /* savepoint statements prepared once, per nesting level */

enum sp_verb { SP_OPEN, SP_RELEASE, SP_ROLLBACK_TO, SP_VERBS };

typedef struct sqlstore {
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
    sqlite3_stmt *sp[SP_CACHED][SP_VERBS];
    unsigned depth;
    /* SQLite rolled the whole transaction back after an error (disk full,
     * I/O, a trigger's ROLLBACK): every call fails until the outermost
     * rollback, or later writes would commit one by one outside it. */
    int broken;
    /* what get hands back stays valid until the next call: copies live here */
    char *copy;
    size_t copy_len, copy_cap;
    sfsm_attr *attrs;
    size_t attrs_cap;
    long *attr_off;      /* key and value offsets into copy while reading attributes */
    size_t attr_off_cap;
    char file[SFSM_LABEL_SIZE];   /* the path, cut for messages (sfsm__path_label) */
} sqlstore;

static int db_error(sqlstore *q, const char *what)
{
    int rc = sfsm__sqlite_error(SFSM_ESTORAGE, q->file, "%s: %s", what, sqlite3_errmsg(q->db));
    if (q->depth && sqlite3_get_autocommit(q->db))
        q->broken = 1;
    return rc;
}

static int refuse_if_broken(const sqlstore *q)
{
    return q->broken ? sfsm__sqlite_error(SFSM_ESTORAGE, q->file,
                                          "the transaction was rolled back by SQLite after an earlier error; only "
                                          "a rollback is possible")
                     : SFSM_OK;
}

static sqlite3_stmt *stmt(sqlstore *q, enum stmt_id id)
{
    sqlite3_stmt *s = q->stmt[id];
    if (!s && sqlite3_prepare_v3(q->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &q->stmt[id], NULL) == SQLITE_OK)
        s = q->stmt[id];
    return s;
}

/* Runs a statement that returns no rows; resets it either way. */
static int run(sqlstore *q, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    int ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
    int err = ok ? SFSM_OK : db_error(q, what);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return err;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

/* ---- transactions ---- */

/* Savepoint names are built from the nesting level only, never from data. */
static int exec_savepoint(sqlstore *q, enum sp_verb verb, unsigned level)
{
    static const char *const verbs[SP_VERBS] = { "SAVEPOINT", "RELEASE", "ROLLBACK TO" };
    sqlite3_stmt **st = level < SP_CACHED ? &q->sp[level][verb] : NULL;
    if (st && *st)
        return run(q, *st, verbs[verb]);
    char sql[64];
    snprintf(sql, sizeof sql, "%s sfsm_sp%u", verbs[verb], level);
    if (!st)
        return sqlite3_exec(q->db, sql, NULL, NULL, NULL) == SQLITE_OK ? SFSM_OK : db_error(q, verbs[verb]);
    if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return db_error(q, verbs[verb]);
    return run(q, *st, verbs[verb]);
}

static int sq_begin(void *b)
{
    sqlstore *q = b;
    int rc = refuse_if_broken(q);
    if (rc)
        return rc;
    if (q->depth == 0) {
        sqlite3_stmt *s = stmt(q, S_BEGIN);
        rc = s ? run(q, s, "begin") : db_error(q, "prepare begin");
    } else {
        rc = exec_savepoint(q, SP_OPEN, q->depth);
    }
    if (rc == SFSM_OK)
        q->depth++;
    return rc;
}

static int sq_rollback(void *b)
{
    sqlstore *q = b;
    if (q->depth == 0)
        return sfsm__sqlite_error(SFSM_EINVAL, q->file, "rollback without a transaction");
    q->depth--;
    if (q->broken) {
        /* SQLite has already undone it all; the levels just close */
        if (q->depth == 0)
            q->broken = 0;
        return SFSM_OK;
    }
    if (q->depth == 0) {
        sqlite3_stmt *s = stmt(q, S_ROLLBACK);
        return s ? run(q, s, "rollback") : db_error(q, "prepare rollback");
    }
    int rc = exec_savepoint(q, SP_ROLLBACK_TO, q->depth);
    int rc2 = exec_savepoint(q, SP_RELEASE, q->depth);
    return rc ? rc : rc2;
}

static int sq_commit(void *b)
{
    sqlstore *q = b;
    if (q->depth == 0)
        return sfsm__sqlite_error(SFSM_EINVAL, q->file, "commit without a transaction");
    if (q->broken) {
        int rc = refuse_if_broken(q);
        if (--q->depth == 0)
            q->broken = 0;
        return rc;
    }
    if (q->depth > 1) {
        int rc = exec_savepoint(q, SP_RELEASE, q->depth - 1);
        if (rc != SFSM_OK && !q->broken) {
            /* the level counts as closed: undo it, as a failed commit must */
            exec_savepoint(q, SP_ROLLBACK_TO, q->depth - 1);
            exec_savepoint(q, SP_RELEASE, q->depth - 1);
        }
        q->depth--;
        return rc;
    }
    sqlite3_stmt *s = stmt(q, S_COMMIT);
    int rc = s ? run(q, s, "commit") : db_error(q, "prepare commit");
    if (rc != SFSM_OK) {
        /* the contract: a failed commit leaves nothing changed */
        if (!sqlite3_get_autocommit(q->db))
            sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    }
    q->depth = 0;
    q->broken = 0;
    return rc;
}

/* ---- reading records ---- */

static void copies_reset(sqlstore *q)
{
    q->copy_len = 0;
}

/* Offset of a copy of s in q->copy (offsets survive growth); -1 for NULL,
 * -2 on out of memory. */
static long copy_text(sqlstore *q, const unsigned char *s)
{
    if (!s)
        return -1;
    size_t n = strlen((const char *)s) + 1;
    if (sfsm__grow((void **)&q->copy, &q->copy_cap, q->copy_len + n, 1))
        return -2;
    memcpy(q->copy + q->copy_len, s, n);
    q->copy_len += n;
    return (long)(q->copy_len - n);
}

static const char *at(const sqlstore *q, long off)
{
    return off < 0 ? NULL : q->copy + off;
}

/* Copies the key and value (columns k, k + 1) of the current row of a into
 * q->copy as attribute number n. */
static int attr_copy(sqlstore *q, sqlite3_stmt *a, int k, size_t n)
{
    if (sfsm__grow((void **)&q->attr_off, &q->attr_off_cap, 2 * n + 2, sizeof *q->attr_off))
        return sfsm__sqlite_error(SFSM_ENOMEM, q->file, "out of memory reading attributes");
    long key = copy_text(q, sqlite3_column_text(a, k));
    long value = copy_text(q, sqlite3_column_text(a, k + 1));
    if (key == -2 || value == -2)
        return sfsm__sqlite_error(SFSM_ENOMEM, q->file, "out of memory reading attributes");
    q->attr_off[2 * n] = key;
    q->attr_off[2 * n + 1] = value;
    return SFSM_OK;
}

/* Points q->attrs at the n attributes copied by attr_copy. */
static int attrs_publish(sqlstore *q, size_t n)
{
    if (sfsm__grow((void **)&q->attrs, &q->attrs_cap, n, sizeof *q->attrs))
        return sfsm__sqlite_error(SFSM_ENOMEM, q->file, "out of memory reading attributes");
    for (size_t k = 0; k < n; k++) {
        q->attrs[k].key = at(q, q->attr_off[2 * k]);
        q->attrs[k].value = at(q, q->attr_off[2 * k + 1]);
    }
    return SFSM_OK;
}

/* Copies the attributes of opportunity `id`, read with one query (for
 * attrs_publish). */
static int attrs_query(sqlstore *q, const char *id, size_t *count)
{
    size_t nattrs = 0;
    sqlite3_stmt *a = stmt(q, S_ATTRS);
    if (!a)
        return db_error(q, "prepare attributes");
    sqlite3_bind_text(a, 1, id, -1, SQLITE_TRANSIENT);
    int rc, err = SFSM_OK;
    while ((rc = sqlite3_step(a)) == SQLITE_ROW) {
        if ((err = attr_copy(q, a, 0, nattrs)) != SFSM_OK)
            break;
        nattrs++;
    }
    if (!err && rc != SQLITE_DONE)
        err = db_error(q, "read attributes");
    sqlite3_reset(a);
    sqlite3_clear_bindings(a);
    *count = nattrs;
    return err;
}

/* An integer column of a reader's statement: its index, "table.column" for
 * messages, and the range of the C field it fills. */
typedef struct int_col {
    int col;
    const char *name;
    int64_t lo, hi;
} int_col;

#define ANY_I64 INT64_MIN, INT64_MAX
#define ANY_INT INT_MIN, INT_MAX
#define ANY_U32 0, UINT32_MAX

/* Reads integer column c of the current row of s into *out. SQLite converts
 * what it holds on request ('12abc' reads as 12, 4.5 as 4, NULL as 0), and a
 * narrower C field would cut a large value: a column holding anything but
 * an integer the field can hold is damage, not a value. The message names
 * the file, the row (`what` and its printable `id`) and the column. */
static int col_int(sqlstore *q, sqlite3_stmt *s, const int_col *c, const char *what, const char *id, int64_t *out)
{
    int type = sqlite3_column_type(s, c->col);
    if (type == SQLITE_INTEGER) {
        sqlite3_int64 v = sqlite3_column_int64(s, c->col);
        if (v >= c->lo && v <= c->hi) {
            *out = v;
            return SFSM_OK;
        }
        char label[SFSM_LABEL_SIZE];
        return sfsm__sqlite_error(SFSM_ESTORAGE, q->file, "stored %s '%s': %s holds %lld, outside %lld..%lld", what,
                                  sfsm__label(label, id), c->name, (long long)v, (long long)c->lo,
                                  (long long)c->hi);
    }
    char label[SFSM_LABEL_SIZE];
    return sfsm__sqlite_error(SFSM_ESTORAGE, q->file, "stored %s '%s': %s holds %s, not an integer", what,
                              sfsm__label(label, id), c->name,
                              type == SQLITE_NULL ? "NULL" : type == SQLITE_FLOAT ? "a real number" : "text");
}

/* Reads the n columns of cols into out[0..n-1]. */
static int col_ints(sqlstore *q, sqlite3_stmt *s, const int_col *cols, size_t n, const char *what, const char *id,
                    int64_t *out)
{
    for (size_t k = 0; k < n; k++) {
        int err = col_int(q, s, &cols[k], what, id, &out[k]);
        if (err)
            return err;
    }
    return SFSM_OK;
}

/* Fills rec from the current row of s (columns in OPP_COLUMNS order) with
 * the nattrs attributes attr_copy copied. With `copy`, strings are copied
 * (valid until the next call); without, they point into the row (valid until
 * the next step). Pointers into q->copy are taken once everything is copied. */
static int row_fields(sqlstore *q, sqlite3_stmt *s, sfsm_record *rec, int copy, size_t nattrs)
{
    enum { N_TEXT = 7 };
    static const int text_cols[N_TEXT] = { 0, 1, 4, 5, 6, 7, 12 };
    const char *t[N_TEXT];
    if (copy) {
        long off[N_TEXT];
        for (int k = 0; k < N_TEXT; k++)
            if ((off[k] = copy_text(q, sqlite3_column_text(s, text_cols[k]))) == -2)
                return sfsm__sqlite_error(SFSM_ENOMEM, q->file, "out of memory reading a record");
        for (int k = 0; k < N_TEXT; k++)
            t[k] = at(q, off[k]);
    } else {
        for (int k = 0; k < N_TEXT; k++)
            t[k] = (const char *)sqlite3_column_text(s, text_cols[k]);
    }
    static const int_col int_cols[] = {
        { 2, "opp.version", ANY_I64 },     { 3, "opp.amount", ANY_I64 },
        { 8, "opp.expected_close_ms", ANY_I64 }, { 9, "opp.created_ms", ANY_I64 },
        { 10, "opp.updated_ms", ANY_I64 }, { 11, "opp.stage_entered_ms", ANY_I64 },
        { 13, "opp.pipeline_version", ANY_U32 },
    };
    int64_t n[sizeof int_cols / sizeof int_cols[0]];
    int err = col_ints(q, s, int_cols, sizeof int_cols / sizeof int_cols[0], "opportunity",
                       (const char *)sqlite3_column_text(s, 0), n);
    if (err)
        return err;
    err = attrs_publish(q, nattrs);
    if (err)
        return err;
    *rec = (sfsm_record){
        .id = t[0],
        .stage = t[1],
        .version = (uint64_t)n[0],
        .amount = n[1],
        .currency = t[2],
        .customer = t[3],
        .owner = t[4],
        .title = t[5],
        .expected_close_ms = n[2],
        .created_ms = n[3],
        .updated_ms = n[4],
        .stage_entered_ms = n[5],
        .attrs = q->attrs,
        .attr_count = nattrs,
        .pipeline = t[6],
        .pipeline_version = (uint32_t)n[6],
    };
    return SFSM_OK;
}

/* Fills rec from the current row of s with its attributes (one query). */
static int row_to_record(sqlstore *q, sqlite3_stmt *s, sfsm_record *rec, int copy)
{
    size_t nattrs = 0;
    copies_reset(q);
    /* the id, needed for the attribute query, is bound as a copy */
    int err = attrs_query(q, (const char *)sqlite3_column_text(s, 0), &nattrs);
    return err ? err : row_fields(q, s, rec, copy, nattrs);
}

static int sq_get(void *b, const char *id, sfsm_record *out)
{
    sqlstore *q = b;
    if (q->broken)
        return refuse_if_broken(q);
    sqlite3_stmt *s = stmt(q, S_GET);
    if (!s)
        return db_error(q, "prepare get");
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int err;
    if (rc == SQLITE_ROW)
        err = row_to_record(q, s, out, 1);
    else if (rc == SQLITE_DONE)
        err = sfsm_error_set(SFSM_ENOTFOUND, "opportunity '%.*s' not found", SFSM_MAX_ID, id);
    else
        err = db_error(q, "get");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return err;
}

/* ---- writing ---- */

static void bind_record(sqlite3_stmt *s, const sfsm_record *r)
{
    bind_text(s, 1, r->id);
    bind_text(s, 2, r->stage);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)r->version);
    sqlite3_bind_int64(s, 4, r->amount);
    bind_text(s, 5, r->currency);
    bind_text(s, 6, r->customer);
    bind_text(s, 7, r->owner);
    bind_text(s, 8, r->title);
    sqlite3_bind_int64(s, 9, r->expected_close_ms);
    sqlite3_bind_int64(s, 10, r->created_ms);
    sqlite3_bind_int64(s, 11, r->updated_ms);
    sqlite3_bind_int64(s, 12, r->stage_entered_ms);
    bind_text(s, 13, r->pipeline);
    sqlite3_bind_int64(s, 14, r->pipeline_version);
}

static int write_attrs(sqlstore *q, const sfsm_record *r, int clear)
{
    sqlite3_stmt *s;
    int rc;
    if (clear) {
        if (!(s = stmt(q, S_ATTR_CLEAR)))
            return db_error(q, "prepare attributes");
        sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
        if ((rc = run(q, s, "clear attributes")))
            return rc;
    }
    if (!(s = stmt(q, S_ATTR_ADD)))
        return db_error(q, "prepare attributes");
    for (size_t k = 0; k < r->attr_count; k++) {
        sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, r->attrs[k].key, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, r->attrs[k].value, -1, SQLITE_STATIC);
        if ((rc = run(q, s, "write attribute")))
            return rc;
    }
    return SFSM_OK;
}

static int put_body(sqlstore *q, const sfsm_record *r, uint64_t expected, uint32_t changed)
{
    sqlite3_stmt *s;
    if (expected == 0) {
        if (!(s = stmt(q, S_INSERT)))
            return db_error(q, "prepare insert");
        bind_record(s, r);
        int rc = sqlite3_step(s);
        int ext = sqlite3_extended_errcode(q->db);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        if ((rc & 0xff) == SQLITE_CONSTRAINT && ext == SQLITE_CONSTRAINT_UNIQUE)
            return sfsm_error_set(SFSM_EEXISTS, "opportunity '%.*s' already exists", SFSM_MAX_ID, r->id);
        if (rc != SQLITE_DONE)
            return db_error(q, "insert");
        return r->attr_count ? write_attrs(q, r, 0) : SFSM_OK;
    }
    /* a transition without field changes writes only what moved */
    int fields = (changed & SFSM_FIELD_ALL & ~SFSM_FIELD_ATTRS) != 0;
    if (!(s = stmt(q, fields ? S_UPDATE_ALL : S_UPDATE_STAGE)))
        return db_error(q, "prepare update");
    bind_record(s, r);
    sqlite3_bind_int64(s, 15, (sqlite3_int64)expected);
    int rc = run(q, s, "update");
    if (rc)
        return rc;
    if (sqlite3_changes(q->db) == 0) {
        sqlite3_stmt *v = stmt(q, S_VERSION_OF);
        if (!v)
            return db_error(q, "prepare version");
        sqlite3_bind_text(v, 1, r->id, -1, SQLITE_STATIC);
        static const int_col version = { 0, "opp.version", ANY_I64 };
        int step = sqlite3_step(v);
        int64_t stored = 0;
        int bad = step == SQLITE_ROW ? col_int(q, v, &version, "opportunity", r->id, &stored) : SFSM_OK;
        sqlite3_reset(v);
        sqlite3_clear_bindings(v);
        if (step == SQLITE_DONE)
            return sfsm_error_set(SFSM_ENOTFOUND, "opportunity '%.*s' not found", SFSM_MAX_ID, r->id);
        if (step != SQLITE_ROW)
            return db_error(q, "read version");
        if (bad)
            return bad;
        return sfsm_error_set(SFSM_ECONFLICT, "opportunity '%.*s' is at version %lld, not %llu", SFSM_MAX_ID, r->id,
                              (long long)stored, (unsigned long long)expected);
    }
    return (changed & SFSM_FIELD_ATTRS) ? write_attrs(q, r, 1) : SFSM_OK;
}

static int sq_put(void *b, const sfsm_record *r, uint64_t expected, uint32_t changed)
{
    sqlstore *q = b;
    if (q->broken)
        return refuse_if_broken(q);
    /* One statement is atomic by itself; several (attributes) must land
     * together, so they get a savepoint of their own. */
    int several = expected == 0 ? r->attr_count > 0 : (changed & SFSM_FIELD_ATTRS) != 0;
    if (!several)
        return put_body(q, r, expected, changed);
    int rc = sq_begin(q);
    if (rc)
        return rc;
    rc = put_body(q, r, expected, changed);
    if (rc) {
        sq_rollback(q);
        return rc;
    }
    return sq_commit(q);
}

static int sq_append(void *b, const char *id, const sfsm_history_entry *h)
{
    sqlstore *q = b;
    if (q->broken)
        return refuse_if_broken(q);
    sqlite3_stmt *s = stmt(q, S_HIST_ADD);
    if (!s)
        return db_error(q, "prepare history");
    bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)h->version);
    sqlite3_bind_int64(s, 3, h->at_ms);
    sqlite3_bind_int(s, 4, h->kind);
    bind_text(s, 5, h->event);
    bind_text(s, 6, h->from);
    bind_text(s, 7, h->to);
    bind_text(s, 8, h->actor);
    bind_text(s, 9, h->role);
    bind_text(s, 10, h->note);
    sqlite3_bind_int64(s, 11, h->fields);
    bind_text(s, 12, h->changes);
    int rc = sqlite3_step(s);
    int ext = sqlite3_extended_errcode(q->db);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if ((rc & 0xff) == SQLITE_CONSTRAINT && ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return sfsm_error_set(SFSM_EEXISTS, "history of '%.*s' already has version %llu", SFSM_MAX_ID, id,
                              (unsigned long long)h->version);
    return rc == SQLITE_DONE ? SFSM_OK : db_error(q, "append history");
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

/* Fills h from the current row of a history read (S_HIST_READ columns
 * from `base` on; S_HIST_SCAN has the opportunity's id before them). */
static int history_row(sqlstore *q, sqlite3_stmt *s, int base, const char *id, sfsm_history_entry *h)
{
    const int_col cols[] = {
        { base + 0, "history.version", ANY_I64 },
        { base + 1, "history.at_ms", ANY_I64 },
        { base + 2, "history.kind", ANY_INT },
        { base + 9, "history.fields", ANY_U32 },
    };
    int64_t n[4];
    int err = col_ints(q, s, cols, 4, "opportunity", id, n);
    if (err)
        return err;
    *h = (sfsm_history_entry){
        (uint64_t)n[0], n[1], (int)n[2],
        col_text(s, base + 3), col_text(s, base + 4), col_text(s, base + 5), col_text(s, base + 6),
        col_text(s, base + 7), col_text(s, base + 8),
        (uint32_t)n[3], col_text(s, base + 10),
    };
    return SFSM_OK;
}

static int sq_read_history(void *b, const char *id, sfsm_history_cb cb, void *ud)
{
    sqlstore *q = b;
    if (q->broken)
        return refuse_if_broken(q);
    sqlite3_stmt *s = stmt(q, S_HIST_READ);
    if (!s)
        return db_error(q, "prepare history");
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    int rc, ret = SFSM_OK, rows = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        rows++;
        sfsm_history_entry h;
        if ((ret = history_row(q, s, 0, id, &h)) != SFSM_OK || (ret = cb(&h, ud)) != 0)
            break;
    }
    if (ret == SFSM_OK && rc != SQLITE_DONE)
        ret = db_error(q, "read history");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (ret == SFSM_OK && rows == 0) {
        sfsm_record rec;
        ret = sq_get(q, id, &rec);   /* no entries: does the opportunity exist at all? */
    }
    return ret;
}

/* Copies the attributes of the scan row with `rowid` from the merged
 * attribute cursor a (at its current row, *arc its last step result). */
static int attrs_merge(sqlstore *q, sqlite3_stmt *a, int *arc, sqlite3_int64 rowid, size_t *count)
{
    size_t n = 0;
    int err = SFSM_OK;
    copies_reset(q);
    while (*arc == SQLITE_ROW && sqlite3_column_int64(a, 0) < rowid)
        *arc = sqlite3_step(a);
    while (*arc == SQLITE_ROW && sqlite3_column_int64(a, 0) == rowid) {
        if ((err = attr_copy(q, a, 1, n)) != SFSM_OK)
            return err;
        n++;
        *arc = sqlite3_step(a);
    }
    if (*arc != SQLITE_ROW && *arc != SQLITE_DONE)
        return db_error(q, "read attributes");
    *count = n;
    return SFSM_OK;
}

static int sq_scan(void *b, const sfsm_filter *f, sfsm_record_cb cb, void *ud)
{
    sqlstore *q = b;
    if (q->broken)
        return refuse_if_broken(q);
    sqlite3_stmt *s = stmt(q, S_SCAN);
    if (!s)
        return db_error(q, "prepare scan");
    /* A whole-store scan merges one attribute cursor (none if no opportunity
     * has attributes); a filtered one, proportional to its matches, reads the
     * attributes of each match. */
    int whole = !f->stage && !f->owner && !f->customer && f->changed_since_ms == 0;
    int merged = 0, arc = SQLITE_DONE;
    sqlite3_stmt *a = NULL;
    if (whole) {
        sqlite3_stmt *any = stmt(q, S_ATTR_ANY);
        if (!any)
            return db_error(q, "prepare attributes");
        int rc = sqlite3_step(any);
        sqlite3_reset(any);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return db_error(q, "read attributes");
        merged = 1;
        if (rc == SQLITE_ROW) {
            if (!(a = stmt(q, S_ATTR_SCAN)))
                return db_error(q, "prepare attributes");
            arc = sqlite3_step(a);
        }
    }
    bind_text(s, 1, f->stage);
    bind_text(s, 2, f->owner);
    bind_text(s, 3, f->customer);
    sqlite3_bind_int64(s, 4, f->changed_since_ms);
    int rc, ret = SFSM_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        sfsm_record rec;
        if (merged) {
            size_t nattrs = 0;
            if ((ret = attrs_merge(q, a, &arc, sqlite3_column_int64(s, 14), &nattrs)) != SFSM_OK ||
                (ret = row_fields(q, s, &rec, 0, nattrs)) != SFSM_OK)
                break;
        } else if ((ret = row_to_record(q, s, &rec, 0)) != SFSM_OK) {
            break;
        }
        if ((ret = cb(&rec, ud)) != 0)
            break;
    }
    if (ret == SFSM_OK && rc != SQLITE_DONE)
        ret = db_error(q, "scan");
    if (a)
        sqlite3_reset(a);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return ret;
}

static int sq_stage_counts(void *b, sfsm_stage_count_cb cb, void *ud)
{
    sqlstore *q = b;
    if (q->broken)
        return refuse_if_broken(q);
    sqlite3_stmt *s = stmt(q, S_STAGE_COUNTS);
    if (!s)
        return db_error(q, "prepare stage counts");
    int rc, ret = SFSM_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        /* count(*) is SQLite's own integer; the version is what the rows hold */
        static const int_col version = { 1, "opp.pipeline_version", ANY_U32 };
        int64_t v;
        if ((ret = col_int(q, s, &version, "opportunities at stage", col_text(s, 2), &v)) != SFSM_OK ||
            (ret = cb(col_text(s, 0), (uint32_t)v, col_text(s, 2), (uint64_t)sqlite3_column_int64(s, 3), ud)))
            break;
    }
    if (ret == SFSM_OK && rc != SQLITE_DONE)
        ret = db_error(q, "count stages");
    sqlite3_reset(s);
    return ret;
}

/* ---- teams, targets, payments (version 3) ---- */

/* Runs a writing statement whose bindings are set; resets it. Sets *ext to
 * the extended result code on failure. */
static int step_write(sqlstore *q, sqlite3_stmt *s, int *ext)
{
    int rc = sqlite3_step(s);
    *ext = rc == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode(q->db);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

static int sq_team_put(void *b, const char *owner, const char *team)
{
    sqlstore *q = b;
    if (q->broken)
        return refuse_if_broken(q);
    sqlite3_stmt *s = stmt(q, team ? S_TEAM_PUT : S_TEAM_DEL);
    if (!s)
        return db_error(q, "prepare team");
    sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
    if (team)
        sqlite3_bind_text(s, 2, team, -1, SQLITE_STATIC);
    int rc = run(q, s, "team");
    if (rc == SFSM_OK && !team && sqlite3_changes(q->db) == 0)
        return sfsm_error_set(SFSM_ENOTFOUND, "owner '%.*s' is in no team", SFSM_MAX_NAME, owner);
    return rc;
}

static int sq_team_scan(void *b, const char *team, sfsm_team_cb cb, void *ud)
{
    sqlstore *q = b;
    if (q->broken)
        return refuse_if_broken(q);
    sqlite3_stmt *s = stmt(q, S_TEAM_SCAN);
    if (!s)
        return db_error(q, "prepare team scan");
    bind_text(s, 1, team);
    int rc, ret = SFSM_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if ((ret = cb(col_text(s, 0), col_text(s, 1), ud)) != 0)
            break;
    if (ret == SFSM_OK && rc != SQLITE_DONE)
        ret = db_error(q, "team scan");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return ret;
}

static int sq_target_put(void *b, const sfsm_target *t)
{
    sqlstore *q = b;
    if (q->broken)
        return refuse_if_broken(q);
    sqlite3_stmt *s = stmt(q, S_TARGET_PUT);
    if (!s)
        return db_error(q, "prepare target");
    sqlite3_bind_int(s, 1, (int)t->subject_kind);
    sqlite3_bind_text(s, 2, t->subject, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, t->period.year);
    sqlite3_bind_int(s, 4, (int)t->period.kind);
    sqlite3_bind_int(s, 5, t->period.index);
    sqlite3_bind_text(s, 6, t->currency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, t->amount);
    return run(q, s, "store target");
}

static int sq_target_scan(void *b, sfsm_subject_kind kind, const char *subject, int year, sfsm_target_cb cb,
                          void *ud)
{
    sqlstore *q = b;
    if (q->broken)
        return refuse_if_broken(q);
    sqlite3_stmt *s = stmt(q, S_TARGET_SCAN);
    if (!s)
        return db_error(q, "prepare target scan");
    sqlite3_bind_int(s, 1, (int)kind);
    bind_text(s, 2, subject);
    sqlite3_bind_int(s, 3, year);
    int rc, ret = SFSM_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        static const int_col cols[] = {
            { 0, "target.subject_kind", ANY_INT }, { 2, "target.year", ANY_INT },
            { 3, "target.period_kind", ANY_INT },  { 4, "target.period_index", ANY_INT },
            { 6, "target.amount", ANY_I64 },
        };
        int64_t n[5];
        if ((ret = col_ints(q, s, cols, 5, "target of", col_text(s, 1), n)) != SFSM_OK)
            break;
        sfsm_target t = {
            (sfsm_subject_kind)n[0], col_text(s, 1), { (int)n[1], (sfsm_period_kind)n[2], (int)n[3] },
            n[4], col_text(s, 5),
        };
        if ((ret = cb(&t, ud)) != 0)
            break;
    }
    if (ret == SFSM_OK && rc != SQLITE_DONE)
        ret = db_error(q, "target scan");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return ret;
}

static int sq_payment_add(void *b, const sfsm_payment *p)
{
    sqlstore *q = b;
    if (q->broken)
        return refuse_if_broken(q);
    if (p->seq > INT64_MAX)
        return sfsm_error_set(SFSM_EINVAL, "payment seq %llu beyond INT64_MAX", (unsigned long long)p->seq);
    sqlite3_stmt *s = stmt(q, S_PAY_ADD);
    if (!s)
        return db_error(q, "prepare payment");
    sqlite3_bind_text(s, 1, p->opp_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)p->seq);
    sqlite3_bind_int64(s, 3, p->amount);
    sqlite3_bind_text(s, 4, p->currency, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, p->at_ms);
    bind_text(s, 6, p->note);
    int ext, rc = step_write(q, s, &ext);
    if ((rc & 0xff) == SQLITE_CONSTRAINT && ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return sfsm_error_set(SFSM_EEXISTS, "opportunity '%.*s' already has payment %llu", SFSM_MAX_ID, p->opp_id,
                              (unsigned long long)p->seq);
    if (rc != SQLITE_DONE)
        return db_error(q, "store payment");
    if (sqlite3_changes(q->db) == 0)
        return sfsm_error_set(SFSM_ENOTFOUND, "opportunity '%.*s' not found", SFSM_MAX_ID, p->opp_id);
    return SFSM_OK;
}

static int sq_payment_scan(void *b, const char *opp_id, sfsm_payment_cb cb, void *ud)
{
    sqlstore *q = b;
    if (q->broken)
        return refuse_if_broken(q);
    sqlite3_stmt *s = stmt(q, opp_id ? S_PAY_SCAN_ONE : S_PAY_SCAN_ALL);
    if (!s)
        return db_error(q, "prepare payment scan");
    if (opp_id)
        sqlite3_bind_text(s, 1, opp_id, -1, SQLITE_TRANSIENT);
    int rc, ret = SFSM_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        static const int_col cols[] = {
            { 1, "payment.seq", ANY_I64 }, { 2, "payment.amount", ANY_I64 }, { 4, "payment.at_ms", ANY_I64 },
        };
        int64_t n[3];
        if ((ret = col_ints(q, s, cols, 3, "opportunity", col_text(s, 0), n)) != SFSM_OK)
            break;
        sfsm_payment p = { col_text(s, 0), (uint64_t)n[0], n[1], col_text(s, 3), n[2], col_text(s, 5) };
        if ((ret = cb(&p, ud)) != 0)
            break;
    }
    if (ret == SFSM_OK && rc != SQLITE_DONE)
        ret = db_error(q, "payment scan");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return ret;
}

static int sq_history_scan(void *b, sfsm_history_scan_cb cb, void *ud)
{
    sqlstore *q = b;
    if (q->broken)
        return refuse_if_broken(q);
    sqlite3_stmt *s = stmt(q, S_HIST_SCAN);
    if (!s)
        return db_error(q, "prepare history scan");
    int rc, ret = SFSM_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        sfsm_history_entry h;
        if ((ret = history_row(q, s, 1, col_text(s, 0), &h)) != SFSM_OK || (ret = cb(col_text(s, 0), &h, ud)) != 0)
            break;
    }
    if (ret == SFSM_OK && rc != SQLITE_DONE)
        ret = db_error(q, "history scan");
    sqlite3_reset(s);
    return ret;
}

static void sq_close(void *b)
{
    sqlstore *q = b;
    if (!q)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(q->stmt[i]);
    for (int l = 0; l < SP_CACHED; l++)
        for (int v = 0; v < SP_VERBS; v++)
            sqlite3_finalize(q->sp[l][v]);
    if (q->depth && !sqlite3_get_autocommit(q->db))
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close_v2(q->db);
    sfsm__free(q->copy);
    sfsm__free(q->attrs);
    sfsm__free(q->attr_off);
    sfsm__free(q);
}

static const sfsm_store_ops sqlite_ops = {
    SFSM_STORE_OPS_VERSION, sq_close, sq_begin, sq_commit, sq_rollback,
    sq_get, sq_put, sq_append, sq_read_history, sq_scan, sq_stage_counts,
    sq_team_put, sq_team_scan, sq_target_put, sq_target_scan, sq_payment_add, sq_payment_scan,
    sq_history_scan,
};

/* ---- opening ---- */

/* Configures the connection once the file is known to be ours (or empty). */
static int check_and_setup(sqlstore *q, const sfsm_sqlite_options *o)
{
    /* Wait for other processes from the first read on: one may be creating
     * or migrating the schema right now. */
    sqlite3_busy_timeout(q->db, o->busy_timeout_ms);
    int rc = sfsm__sqlite_schema_check(q->db, q->file, o->create);   /* reads only */
    if (rc)
        return rc;
    static const char *const sync_sql[] = { "PRAGMA synchronous=FULL", "PRAGMA synchronous=NORMAL",
                                            "PRAGMA synchronous=OFF" };
    if (sqlite3_exec(q->db, sync_sql[o->synchronous], NULL, NULL, NULL) != SQLITE_OK)
        return db_error(q, "configure");
    /* Upgrade first, WAL after: switching to WAL rewrites the header, and a
     * failed upgrade must leave an older file byte for byte as it was. */
    if ((rc = sfsm__sqlite_schema_upgrade(q->db, q->file)))
        return rc;
    if (sqlite3_exec(q->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(q, "configure");
    return SFSM_OK;
}

int sfsm_sqlite_options_init(sfsm_sqlite_options *opts, unsigned int version)
{
    if (!opts)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_sqlite_options_init: opts is NULL");
    if (version != SFSM_SQLITE_OPTIONS_VERSION)
        return sfsm_error_set(SFSM_EVERSION, "sfsm_sqlite_options_init: version %u unknown (expected %d)", version,
                              SFSM_SQLITE_OPTIONS_VERSION);
    *opts = (sfsm_sqlite_options)SFSM_SQLITE_OPTIONS_INIT;
    return SFSM_OK;
}

int sfsm__sqlite_backend(const char *path, const sfsm_sqlite_options *opts, void **out)
{
    *out = NULL;
    sfsm_sqlite_options defaults = SFSM_SQLITE_OPTIONS_INIT;
    const sfsm_sqlite_options *o = opts ? opts : &defaults;
    if (o->version != SFSM_SQLITE_OPTIONS_VERSION)
        return sfsm_error_set(SFSM_EVERSION, "sfsm_store_open_sqlite: options version %u unknown (expected %d)",
                              o->version, SFSM_SQLITE_OPTIONS_VERSION);
    if ((unsigned)o->synchronous > SFSM_SQLITE_SYNC_OFF || o->busy_timeout_ms < 0)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_store_open_sqlite: %s out of range",
                              o->busy_timeout_ms < 0 ? "busy_timeout_ms" : "synchronous");
    char file[SFSM_LABEL_SIZE];
    sfsm__path_label(file, path);
    if (!o->create && access(path, F_OK) != 0)
        return sfsm__sqlite_error(SFSM_ENOTFOUND, file, "does not exist (and create is off)");
    sqlstore *q = sfsm__calloc(1, sizeof *q);
    if (!q)
        return sfsm__sqlite_error(SFSM_ENOMEM, file, "out of memory opening it");
    memcpy(q->file, file, sizeof file);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (o->create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &q->db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = sfsm__sqlite_error(rc == SQLITE_NOMEM ? SFSM_ENOMEM : SFSM_ESTORAGE, q->file, "cannot open: %s",
                                q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
        sq_close(q);
        return rc;
    }
    sqlite3_extended_result_codes(q->db, 1);
    if ((rc = check_and_setup(q, o))) {
        sq_close(q);
        return rc;
    }
    *out = q;
    return SFSM_OK;
}

const sfsm_store_ops *sfsm__sqlite_ops(void)
{
    return &sqlite_ops;
}

int sfsm_store_open_sqlite(sfsm_store **out, const char *path, const sfsm_sqlite_options *opts)
{
    if (out)
        *out = NULL;
    if (!out || !path)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_store_open_sqlite: %s is NULL", out ? "path" : "out");
    void *backend;
    int rc = sfsm__sqlite_backend(path, opts, &backend);
    if (rc)
        return rc;
    if ((rc = sfsm_store_new(out, &sqlite_ops, backend)))
        sq_close(backend);
    return rc;
}
