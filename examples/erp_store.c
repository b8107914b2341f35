/*
 * erp_store.c — a salesfsm storage backend over an ERP's own SQLite tables.
 *
 * This is what an ERP vendor writes to keep opportunities in the tables it
 * already has, under its own names:
 *
 *   crm_deal       one row per deal (opportunity); deal_id gives creation order
 *   crm_deal_attr  custom attributes, one row per (deal_no, name)
 *   crm_deal_log   the audit trail, one row per (deal_no, seq)
 *
 * Every member of sfsm_store_ops is implemented, with prepared statements
 * only (prepared once at open, reset after every use). The rules it follows
 * are those of <salesfsm/sys/store.h>; docs/storage-backends.md walks
 * through this file.
 *
 *   - Transactions nest: the outermost begin is BEGIN IMMEDIATE, inner ones
 *     are SAVEPOINTs; a failed commit rolls back and closes that level.
 *   - Every write member runs in its own savepoint, so a member that fails
 *     half-way changes nothing, inside a transaction or not.
 *   - Strings handed back live in an arena that is emptied at the start of
 *     the next call — exactly "valid until the backend's next call".
 *   - NULL strings are stored as SQL NULL and come back NULL; "" stays "".
 */
#include "erp_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

/* ---- the ERP's schema ---------------------------------------------------- */

static const char *const schema[] = {
    "PRAGMA journal_mode = WAL",    /* readers never block the writer */
    "PRAGMA synchronous = FULL",    /* an acknowledged commit survives power loss */
    "PRAGMA foreign_keys = ON",
    "CREATE TABLE IF NOT EXISTS crm_deal ("
    "  deal_id     INTEGER PRIMARY KEY AUTOINCREMENT," /* creation order */
    "  deal_no     TEXT    NOT NULL UNIQUE,"
    "  phase       TEXT    NOT NULL,"
    "  rev         INTEGER NOT NULL,"
    "  value_minor INTEGER NOT NULL DEFAULT 0,"
    "  ccy         TEXT,"
    "  client      TEXT,"
    "  salesperson TEXT,"
    "  subject     TEXT,"
    "  close_eta   INTEGER,"           /* NULL: not set */
    "  created_at  INTEGER NOT NULL,"
    "  modified_at INTEGER NOT NULL,"
    "  phase_since INTEGER NOT NULL,"
    "  process     TEXT    NOT NULL,"
    "  process_rev INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS crm_deal_by_phase ON crm_deal(phase)",
    "CREATE INDEX IF NOT EXISTS crm_deal_by_salesperson ON crm_deal(salesperson)",
    "CREATE TABLE IF NOT EXISTS crm_deal_attr ("
    "  deal_no TEXT NOT NULL REFERENCES crm_deal(deal_no),"
    "  name    TEXT NOT NULL,"
    "  val     TEXT NOT NULL,"
    "  PRIMARY KEY (deal_no, name)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS crm_deal_log ("
    "  deal_no     TEXT    NOT NULL REFERENCES crm_deal(deal_no),"
    "  seq         INTEGER NOT NULL,"  /* the deal's rev after this entry */
    "  logged_at   INTEGER NOT NULL,"
    "  kind        INTEGER NOT NULL,"
    "  event       TEXT,"
    "  from_phase  TEXT,"
    "  to_phase    TEXT,"
    "  actor       TEXT,"
    "  actor_role  TEXT,"
    "  remark      TEXT,"
    "  field_mask  INTEGER NOT NULL,"
    "  change_json TEXT,"
    "  PRIMARY KEY (deal_no, seq)) WITHOUT ROWID",
};

/* ---- the statements, prepared once --------------------------------------- */

#define DEAL_COLUMNS                                                                     \
    "deal_no, phase, rev, value_minor, ccy, client, salesperson, subject, close_eta, "  \
    "created_at, modified_at, phase_since, process, process_rev"

enum {
    /* column numbers of DEAL_COLUMNS (0-based) = parameter numbers - 1 */
    C_DEAL_NO, C_PHASE, C_REV, C_VALUE, C_CCY, C_CLIENT, C_SALESPERSON, C_SUBJECT, C_CLOSE_ETA,
    C_CREATED, C_MODIFIED, C_PHASE_SINCE, C_PROCESS, C_PROCESS_REV,
    C_COUNT
};

enum {
    Q_BEGIN, Q_COMMIT, Q_ROLLBACK,
    Q_SP, Q_SP_RELEASE, Q_SP_UNDO,       /* nested transactions */
    Q_OP, Q_OP_RELEASE, Q_OP_UNDO,       /* one write member */
    Q_GET, Q_ATTRS, Q_REV, Q_INSERT, Q_UPDATE, Q_ATTR_DEL, Q_ATTR_INS,
    Q_LOG_INS, Q_LOG_READ, Q_SCAN,
    Q_COUNT
};

static const char *const sql[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",   /* take the write lock now, not at the first write */
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    /* One name serves every level: RELEASE and ROLLBACK TO act on the
     * innermost savepoint of that name. */
    [Q_SP] = "SAVEPOINT erp_txn",
    [Q_SP_RELEASE] = "RELEASE erp_txn",
    [Q_SP_UNDO] = "ROLLBACK TO erp_txn",
    [Q_OP] = "SAVEPOINT erp_op",
    [Q_OP_RELEASE] = "RELEASE erp_op",
    [Q_OP_UNDO] = "ROLLBACK TO erp_op",
    [Q_GET] = "SELECT " DEAL_COLUMNS " FROM crm_deal WHERE deal_no = ?1",
    [Q_ATTRS] = "SELECT name, val FROM crm_deal_attr WHERE deal_no = ?1 ORDER BY name",
    [Q_REV] = "SELECT rev FROM crm_deal WHERE deal_no = ?1",
    [Q_INSERT] = "INSERT INTO crm_deal (" DEAL_COLUMNS ") "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
                 "ON CONFLICT (deal_no) DO NOTHING",
    /* Conditional update: ?15 is the expected rev, ?16 the `changed` mask.
     * Columns outside the mask keep what the ERP has (it may edit them
     * itself); phase, rev, the times and the process are always written. */
    [Q_UPDATE] = "UPDATE crm_deal SET phase = ?2, rev = ?3,"
                 " value_minor = CASE WHEN ?16 & 1 THEN ?4 ELSE value_minor END,"
                 " ccy         = CASE WHEN ?16 & 1 THEN ?5 ELSE ccy END,"
                 " client      = CASE WHEN ?16 & 2 THEN ?6 ELSE client END,"
                 " salesperson = CASE WHEN ?16 & 4 THEN ?7 ELSE salesperson END,"
                 " subject     = CASE WHEN ?16 & 8 THEN ?8 ELSE subject END,"
                 " close_eta   = CASE WHEN ?16 & 16 THEN ?9 ELSE close_eta END,"
                 " created_at = ?10, modified_at = ?11, phase_since = ?12,"
                 " process = ?13, process_rev = ?14"
                 " WHERE deal_no = ?1 AND rev = ?15",
    [Q_ATTR_DEL] = "DELETE FROM crm_deal_attr WHERE deal_no = ?1",
    [Q_ATTR_INS] = "INSERT INTO crm_deal_attr (deal_no, name, val) VALUES (?1, ?2, ?3)",
    /* Inserts nothing when the deal does not exist: one statement, no race. */
    [Q_LOG_INS] = "INSERT INTO crm_deal_log (deal_no, seq, logged_at, kind, event, from_phase, to_phase,"
                  " actor, actor_role, remark, field_mask, change_json)"
                  " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12"
                  " WHERE EXISTS (SELECT 1 FROM crm_deal WHERE deal_no = ?1)",
    [Q_LOG_READ] = "SELECT seq, logged_at, kind, event, from_phase, to_phase, actor, actor_role, remark,"
                   " field_mask, change_json FROM crm_deal_log WHERE deal_no = ?1 ORDER BY seq",
    [Q_SCAN] = "SELECT " DEAL_COLUMNS " FROM crm_deal"
               " WHERE (?1 IS NULL OR phase = ?1) AND (?2 IS NULL OR salesperson = ?2)"
               "   AND (?3 IS NULL OR client = ?3) AND (?4 = 0 OR modified_at >= ?4)"
               " ORDER BY deal_id",
};

/* ---- backend state --------------------------------------------------------- */

/* Strings handed back to the engine: copied into chunks that live until the
 * backend's next call, when arena_reset empties them. */
typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char mem[];
} chunk;

typedef struct erp_store {
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    unsigned depth;           /* open transaction levels (ours, not SQLite's) */
    chunk *arena;             /* newest first */
    sfsm_attr *attrs;         /* attributes handed back, reused */
    size_t attrs_cap;
} erp_store;

static void arena_reset(erp_store *s)
{
    if (!s->arena)
        return;
    chunk *keep = s->arena;   /* the newest chunk is the largest: keep it */
    chunk *c = keep->next;
    while (c) {
        chunk *next = c->next;
        free(c);
        c = next;
    }
    keep->next = NULL;
    keep->used = 0;
}

static const char *arena_copy(erp_store *s, const char *text, size_t len)
{
    chunk *c = s->arena;
    if (!c || c->cap - c->used < len + 1) {
        size_t cap = len + 1 > 4096 ? len + 1 : 4096;
        if (c && c->cap * 2 > cap)
            cap = c->cap * 2;
        chunk *n = malloc(sizeof *n + cap);
        if (!n)
            return NULL;
        n->next = c;
        n->used = 0;
        n->cap = cap;
        s->arena = c = n;
    }
    char *p = c->mem + c->used;
    memcpy(p, text, len);
    p[len] = '\0';
    c->used += len + 1;
    return p;
}

/* ---- errors ------------------------------------------------------------------ */

/* An SQLite failure: SFSM_ENOMEM for SQLITE_NOMEM, else SFSM_ESTORAGE, with
 * SQLite's own words in the message. */
static int db_error(erp_store *s, int sqlite_rc, const char *what)
{
    if (sqlite_rc == SQLITE_NOMEM)
        return sfsm_error_set(SFSM_ENOMEM, "erp_store: out of memory %s", what);
    return sfsm_error_set(SFSM_ESTORAGE, "erp_store: %s: %s (SQLite error %d)", what, sqlite3_errmsg(s->db),
                          sqlite3_extended_errcode(s->db));
}

static int oom(const char *what)
{
    return sfsm_error_set(SFSM_ENOMEM, "erp_store: out of memory %s", what);
}

/* Runs a statement that returns no rows, then resets it. */
static int run(erp_store *s, int q, const char *what)
{
    sqlite3_stmt *st = s->q[q];
    int rc = sqlite3_step(st);
    int out = rc == SQLITE_DONE || rc == SQLITE_ROW ? SFSM_OK : db_error(s, rc, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return out;
}

static void done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Binding: NULL strings bind as SQL NULL. SQLITE_STATIC is safe because
 * every statement is reset and its bindings cleared before we return. */
static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* A text column as a string that outlives the statement (NULL stays NULL). */
static int keep_text(erp_store *s, sqlite3_stmt *st, int col, const char **out)
{
    *out = NULL;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return SFSM_OK;
    const unsigned char *t = sqlite3_column_text(st, col);
    if (!t)
        return oom("reading a text column");
    int n = sqlite3_column_bytes(st, col);
    if (!(*out = arena_copy(s, (const char *)t, (size_t)n)))
        return oom("copying a text column");
    return SFSM_OK;
}

/* Versions are uint64_t, the rev column a signed 64-bit INTEGER. */
static int check_version(const char *what, const char *id, uint64_t v)
{
    if (v > (uint64_t)INT64_MAX)
        return sfsm_error_set(SFSM_EINVAL, "erp_store: %s of deal '%s' is too large for the rev column: %llu",
                              what, id, (unsigned long long)v);
    return SFSM_OK;
}

/* ---- transactions -------------------------------------------------------------- */

/* SQLite rolls a whole transaction back by itself after some errors (disk
 * full, I/O error). Our levels are then still open but empty. */
static int txn_lost(erp_store *s)
{
    return s->depth > 0 && sqlite3_get_autocommit(s->db);
}

static int erp_begin(void *b)
{
    erp_store *s = b;
    arena_reset(s);
    if (txn_lost(s))
        return sfsm_error_set(SFSM_ESTORAGE, "erp_store: begin: the enclosing transaction was already rolled back "
                                             "by SQLite after an earlier error");
    int rc = run(s, s->depth == 0 ? Q_BEGIN : Q_SP, s->depth == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT");
    if (rc == SFSM_OK)
        s->depth++;
    return rc;
}

static int erp_rollback(void *b)
{
    erp_store *s = b;
    arena_reset(s);
    if (s->depth == 0)
        return sfsm_error_set(SFSM_EINVAL, "erp_store: rollback with no transaction open");
    s->depth--;
    if (sqlite3_get_autocommit(s->db))
        return SFSM_OK;   /* SQLite already undid everything */
    if (s->depth == 0)
        return run(s, Q_ROLLBACK, "ROLLBACK");
    /* ROLLBACK TO keeps the savepoint on the stack; RELEASE removes it. */
    int rc = run(s, Q_SP_UNDO, "ROLLBACK TO savepoint");
    int rc2 = run(s, Q_SP_RELEASE, "RELEASE savepoint after rollback");
    return rc ? rc : rc2;
}

static int erp_commit(void *b)
{
    erp_store *s = b;
    arena_reset(s);
    if (s->depth == 0)
        return sfsm_error_set(SFSM_EINVAL, "erp_store: commit with no transaction open");
    if (txn_lost(s)) {
        s->depth--;
        return sfsm_error_set(SFSM_ESTORAGE, "erp_store: commit: the transaction was already rolled back by "
                                             "SQLite after an earlier error");
    }
    int outer = s->depth == 1;
    int rc = run(s, outer ? Q_COMMIT : Q_SP_RELEASE, outer ? "COMMIT" : "RELEASE savepoint");
    if (rc == SFSM_OK) {
        s->depth--;
        return SFSM_OK;
    }
    /* A failed commit changes nothing and closes its level: undo it, keeping
     * the commit's error message (the undo's own errors cannot add to it). */
    if (!sqlite3_get_autocommit(s->db)) {
        if (outer) {
            sqlite3_step(s->q[Q_ROLLBACK]);
            done(s->q[Q_ROLLBACK]);
        } else {
            sqlite3_step(s->q[Q_SP_UNDO]);
            done(s->q[Q_SP_UNDO]);
            sqlite3_step(s->q[Q_SP_RELEASE]);
            done(s->q[Q_SP_RELEASE]);
        }
    }
    s->depth--;
    return rc;
}

/* Each write member is one savepoint, so that it changes all or nothing. */
static int op_begin(erp_store *s, const char *member)
{
    if (txn_lost(s))
        return sfsm_error_set(SFSM_ESTORAGE, "erp_store: %s: the transaction was already rolled back by SQLite "
                                             "after an earlier error", member);
    return run(s, Q_OP, "SAVEPOINT for a write");
}

static int op_end(erp_store *s, int rc)
{
    if (rc == SFSM_OK) {
        rc = run(s, Q_OP_RELEASE, "RELEASE after a write");
        if (rc == SFSM_OK)
            return SFSM_OK;
    }
    if (!sqlite3_get_autocommit(s->db)) {
        /* Undo quietly: the error that brought us here is the one to report. */
        sqlite3_step(s->q[Q_OP_UNDO]);
        done(s->q[Q_OP_UNDO]);
        sqlite3_step(s->q[Q_OP_RELEASE]);
        done(s->q[Q_OP_RELEASE]);
    }
    return rc;
}

/* ---- reading a deal ----------------------------------------------------------- */

/* Fills *out from the current row of st (a DEAL_COLUMNS select), with its
 * attributes. st stays on its row meanwhile, so both reads see one snapshot. */
static int read_deal(erp_store *s, sqlite3_stmt *st, sfsm_record *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    if ((rc = keep_text(s, st, C_DEAL_NO, &out->id)) || (rc = keep_text(s, st, C_PHASE, &out->stage)) ||
        (rc = keep_text(s, st, C_CCY, &out->currency)) || (rc = keep_text(s, st, C_CLIENT, &out->customer)) ||
        (rc = keep_text(s, st, C_SALESPERSON, &out->owner)) || (rc = keep_text(s, st, C_SUBJECT, &out->title)) ||
        (rc = keep_text(s, st, C_PROCESS, &out->pipeline)))
        return rc;
    out->version = (uint64_t)sqlite3_column_int64(st, C_REV);
    out->amount = sqlite3_column_int64(st, C_VALUE);
    out->expected_close_ms = sqlite3_column_int64(st, C_CLOSE_ETA);   /* NULL reads as 0: unset */
    out->created_ms = sqlite3_column_int64(st, C_CREATED);
    out->updated_ms = sqlite3_column_int64(st, C_MODIFIED);
    out->stage_entered_ms = sqlite3_column_int64(st, C_PHASE_SINCE);
    out->pipeline_version = (uint32_t)sqlite3_column_int64(st, C_PROCESS_REV);

    sqlite3_stmt *a = s->q[Q_ATTRS];
    size_t n = 0;
    bind_text(a, 1, out->id);
    while ((rc = sqlite3_step(a)) == SQLITE_ROW) {
        if (n == s->attrs_cap) {
            size_t cap = s->attrs_cap ? s->attrs_cap * 2 : 16;
            sfsm_attr *grown = realloc(s->attrs, cap * sizeof *grown);
            if (!grown) {
                done(a);
                return oom("reading attributes");
            }
            s->attrs = grown;
            s->attrs_cap = cap;
        }
        int e;
        if ((e = keep_text(s, a, 0, &s->attrs[n].key)) || (e = keep_text(s, a, 1, &s->attrs[n].value))) {
            done(a);
            return e;
        }
        n++;
    }
    if (rc != SQLITE_DONE) {
        rc = db_error(s, rc, "reading crm_deal_attr");
        done(a);
        return rc;
    }
    done(a);
    out->attrs = n ? s->attrs : NULL;
    out->attr_count = n;
    return SFSM_OK;
}

static int erp_get(void *b, const char *id, sfsm_record *out)
{
    erp_store *s = b;
    arena_reset(s);
    if (!id || !out)
        return sfsm_error_set(SFSM_EINVAL, "erp_store: get: %s is NULL", !id ? "id" : "out");
    sqlite3_stmt *st = s->q[Q_GET];
    bind_text(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        rc = read_deal(s, st, out);
    else if (rc == SQLITE_DONE)
        rc = sfsm_error_set(SFSM_ENOTFOUND, "erp_store: deal '%s' not found", id);
    else
        rc = db_error(s, rc, "reading crm_deal");
    done(st);
    return rc;
}

/* ---- writing a deal ------------------------------------------------------------ */

/* Binds parameters ?1..?14 (the DEAL_COLUMNS order) from rec. */
static void bind_deal(sqlite3_stmt *st, const sfsm_record *rec)
{
    bind_text(st, C_DEAL_NO + 1, rec->id);
    bind_text(st, C_PHASE + 1, rec->stage);
    sqlite3_bind_int64(st, C_REV + 1, (sqlite3_int64)rec->version);
    sqlite3_bind_int64(st, C_VALUE + 1, rec->amount);
    bind_text(st, C_CCY + 1, rec->currency);
    bind_text(st, C_CLIENT + 1, rec->customer);
    bind_text(st, C_SALESPERSON + 1, rec->owner);
    bind_text(st, C_SUBJECT + 1, rec->title);
    if (rec->expected_close_ms)
        sqlite3_bind_int64(st, C_CLOSE_ETA + 1, rec->expected_close_ms);
    else
        sqlite3_bind_null(st, C_CLOSE_ETA + 1);
    sqlite3_bind_int64(st, C_CREATED + 1, rec->created_ms);
    sqlite3_bind_int64(st, C_MODIFIED + 1, rec->updated_ms);
    sqlite3_bind_int64(st, C_PHASE_SINCE + 1, rec->stage_entered_ms);
    bind_text(st, C_PROCESS + 1, rec->pipeline);
    sqlite3_bind_int64(st, C_PROCESS_REV + 1, rec->pipeline_version);
}

/* Replaces the deal's attributes with rec's. */
static int write_attrs(erp_store *s, const sfsm_record *rec)
{
    sqlite3_stmt *del = s->q[Q_ATTR_DEL], *ins = s->q[Q_ATTR_INS];
    bind_text(del, 1, rec->id);
    int rc = run(s, Q_ATTR_DEL, "clearing crm_deal_attr");
    for (size_t k = 0; rc == SFSM_OK && k < rec->attr_count; k++) {
        bind_text(ins, 1, rec->id);
        bind_text(ins, 2, rec->attrs[k].key);
        bind_text(ins, 3, rec->attrs[k].value);
        rc = run(s, Q_ATTR_INS, "writing crm_deal_attr");
    }
    return rc;
}

/* The update matched no row: tell a missing deal from a newer rev. */
static int explain_miss(erp_store *s, const sfsm_record *rec, uint64_t expected)
{
    sqlite3_stmt *st = s->q[Q_REV];
    bind_text(st, 1, rec->id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        rc = sfsm_error_set(SFSM_ECONFLICT, "erp_store: deal '%s' is at rev %lld, not %llu: changed by someone else",
                            rec->id, (long long)sqlite3_column_int64(st, 0), (unsigned long long)expected);
    else if (rc == SQLITE_DONE)
        rc = sfsm_error_set(SFSM_ENOTFOUND, "erp_store: deal '%s' not found", rec->id);
    else
        rc = db_error(s, rc, "reading crm_deal.rev");
    done(st);
    return rc;
}

static int put_deal(erp_store *s, const sfsm_record *rec, uint64_t expected, uint32_t changed)
{
    int rc;
    if (expected == 0) {
        bind_deal(s->q[Q_INSERT], rec);
        if ((rc = run(s, Q_INSERT, "inserting into crm_deal")))
            return rc;
        if (sqlite3_changes(s->db) == 0)
            return sfsm_error_set(SFSM_EEXISTS, "erp_store: deal '%s' already exists", rec->id);
        return rec->attr_count ? write_attrs(s, rec) : SFSM_OK;
    }
    if (expected > (uint64_t)INT64_MAX)   /* no stored rev can equal it */
        return explain_miss(s, rec, expected);
    sqlite3_stmt *up = s->q[Q_UPDATE];
    bind_deal(up, rec);
    sqlite3_bind_int64(up, 15, (sqlite3_int64)expected);
    sqlite3_bind_int64(up, 16, changed);
    if ((rc = run(s, Q_UPDATE, "updating crm_deal")))
        return rc;
    if (sqlite3_changes(s->db) == 0)
        return explain_miss(s, rec, expected);
    return changed & SFSM_FIELD_ATTRS ? write_attrs(s, rec) : SFSM_OK;
}

static int erp_put(void *b, const sfsm_record *rec, uint64_t expected_version, uint32_t changed)
{
    erp_store *s = b;
    arena_reset(s);
    if (!rec || !rec->id || !rec->stage || !rec->pipeline)
        return sfsm_error_set(SFSM_EINVAL, "erp_store: put: %s is NULL",
                              !rec ? "the record" : !rec->id ? "record id" : !rec->stage ? "record stage" : "record pipeline");
    if (rec->attr_count && !rec->attrs)
        return sfsm_error_set(SFSM_EINVAL, "erp_store: put: deal '%s' has %zu attributes and a NULL array", rec->id,
                              rec->attr_count);
    for (size_t k = 0; k < rec->attr_count; k++)
        if (!rec->attrs[k].key || !rec->attrs[k].value)
            return sfsm_error_set(SFSM_EINVAL, "erp_store: put: deal '%s': attribute %zu has a NULL %s", rec->id, k,
                                  !rec->attrs[k].key ? "key" : "value");
    int rc;
    if ((rc = check_version("rev", rec->id, rec->version)))
        return rc;
    if ((rc = op_begin(s, "put")))
        return rc;
    return op_end(s, put_deal(s, rec, expected_version, changed));
}

/* ---- the audit trail ------------------------------------------------------------ */

static int erp_append_history(void *b, const char *id, const sfsm_history_entry *h)
{
    erp_store *s = b;
    arena_reset(s);
    if (!id || !h)
        return sfsm_error_set(SFSM_EINVAL, "erp_store: append_history: %s is NULL", !id ? "id" : "entry");
    int rc = check_version("history seq", id, h->version);
    if (rc)
        return rc;
    sqlite3_stmt *st = s->q[Q_LOG_INS];
    bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)h->version);
    sqlite3_bind_int64(st, 3, h->at_ms);
    sqlite3_bind_int(st, 4, h->kind);
    bind_text(st, 5, h->event);
    bind_text(st, 6, h->from);
    bind_text(st, 7, h->to);
    bind_text(st, 8, h->actor);
    bind_text(st, 9, h->role);
    bind_text(st, 10, h->note);
    sqlite3_bind_int64(st, 11, h->fields);
    bind_text(st, 12, h->changes);
    /* One statement: atomic on its own, no savepoint needed. */
    int sr = sqlite3_step(st);
    if (sr == SQLITE_DONE)
        rc = sqlite3_changes(s->db) ? SFSM_OK : sfsm_error_set(SFSM_ENOTFOUND, "erp_store: deal '%s' not found", id);
    else if (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
        rc = sfsm_error_set(SFSM_EEXISTS, "erp_store: deal '%s' already has history entry %llu (history is append-only)",
                            id, (unsigned long long)h->version);
    else
        rc = db_error(s, sr, "appending to crm_deal_log");
    done(st);
    return rc;
}

static int deal_exists(erp_store *s, const char *id)
{
    sqlite3_stmt *st = s->q[Q_REV];
    bind_text(st, 1, id);
    int rc = sqlite3_step(st);
    rc = rc == SQLITE_ROW    ? SFSM_OK
         : rc == SQLITE_DONE ? sfsm_error_set(SFSM_ENOTFOUND, "erp_store: deal '%s' not found", id)
                             : db_error(s, rc, "reading crm_deal");
    done(st);
    return rc;
}

static int erp_read_history(void *b, const char *id, sfsm_history_cb cb, void *ud)
{
    erp_store *s = b;
    arena_reset(s);
    if (!id || !cb)
        return sfsm_error_set(SFSM_EINVAL, "erp_store: read_history: %s is NULL", !id ? "id" : "callback");
    int rc = deal_exists(s, id);
    if (rc)
        return rc;
    sqlite3_stmt *st = s->q[Q_LOG_READ];
    bind_text(st, 1, id);
    int sr;
    while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
        /* Column text stays valid until the next step: long enough for a
         * callback, whose entry is valid only during the call. */
        sfsm_history_entry h;
        h.version = (uint64_t)sqlite3_column_int64(st, 0);
        h.at_ms = sqlite3_column_int64(st, 1);
        h.kind = sqlite3_column_int(st, 2);
        h.event = (const char *)sqlite3_column_text(st, 3);
        h.from = (const char *)sqlite3_column_text(st, 4);
        h.to = (const char *)sqlite3_column_text(st, 5);
        h.actor = (const char *)sqlite3_column_text(st, 6);
        h.role = (const char *)sqlite3_column_text(st, 7);
        h.note = (const char *)sqlite3_column_text(st, 8);
        h.fields = (uint32_t)sqlite3_column_int64(st, 9);
        h.changes = (const char *)sqlite3_column_text(st, 10);
        if ((rc = cb(&h, ud)) != 0) {
            done(st);
            return rc;
        }
    }
    rc = sr == SQLITE_DONE ? SFSM_OK : db_error(s, sr, "reading crm_deal_log");
    done(st);
    return rc;
}

/* ---- scans ------------------------------------------------------------------------ */

static int erp_scan(void *b, const sfsm_filter *f, sfsm_record_cb cb, void *ud)
{
    erp_store *s = b;
    arena_reset(s);
    if (!f || !cb)
        return sfsm_error_set(SFSM_EINVAL, "erp_store: scan: %s is NULL", !f ? "filter" : "callback");
    sqlite3_stmt *st = s->q[Q_SCAN];
    bind_text(st, 1, f->stage);
    bind_text(st, 2, f->owner);
    bind_text(st, 3, f->customer);
    sqlite3_bind_int64(st, 4, f->changed_since_ms);
    int rc = SFSM_OK, sr;
    while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
        arena_reset(s);   /* the previous record's strings are no longer needed */
        sfsm_record rec;
        if ((rc = read_deal(s, st, &rec)) || (rc = cb(&rec, ud)) != 0) {
            done(st);
            return rc;
        }
    }
    rc = sr == SQLITE_DONE ? SFSM_OK : db_error(s, sr, "scanning crm_deal");
    done(st);
    return rc;
}

/* ---- open and close ----------------------------------------------------------------- */

static void erp_close(void *b)
{
    erp_store *s = b;
    if (!s)
        return;
    if (s->db && !sqlite3_get_autocommit(s->db) && s->q[Q_ROLLBACK]) {
        sqlite3_step(s->q[Q_ROLLBACK]);
        done(s->q[Q_ROLLBACK]);
    }
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
    arena_reset(s);
    free(s->arena);
    free(s->attrs);
    free(s);
}

static const sfsm_store_ops erp_ops = {
    .version = 2,   /* no teams, targets or payments in this ERP's tables */
    .close = erp_close,
    .begin = erp_begin,
    .commit = erp_commit,
    .rollback = erp_rollback,
    .get = erp_get,
    .put = erp_put,
    .append_history = erp_append_history,
    .read_history = erp_read_history,
    .scan = erp_scan,
};

/* Runs the schema, each statement prepared, stepped to the end, finalized. */
static int create_schema(erp_store *s)
{
    for (size_t i = 0; i < sizeof schema / sizeof schema[0]; i++) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, schema[i], -1, &st, NULL);
        if (rc == SQLITE_OK)
            while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                ;   /* PRAGMA journal_mode answers with a row */
        if (rc != SQLITE_OK && rc != SQLITE_DONE) {
            rc = db_error(s, rc, "setting up the schema");
            sqlite3_finalize(st);
            return rc;
        }
        sqlite3_finalize(st);
    }
    return SFSM_OK;
}

int erp_store_backend(const char *path, const sfsm_store_ops **ops, void **backend)
{
    if (ops)
        *ops = NULL;
    if (backend)
        *backend = NULL;
    if (!path || !ops || !backend)
        return sfsm_error_set(SFSM_EINVAL, "erp_store_backend: %s is NULL", !path ? "path" : !ops ? "ops" : "backend");
    erp_store *s = calloc(1, sizeof *s);
    if (!s)
        return oom("opening the ERP store");
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        rc = s->db ? sfsm_error_set(SFSM_ESTORAGE, "erp_store: cannot open '%s': %s", path, sqlite3_errmsg(s->db))
                   : oom("opening the database");
        erp_close(s);
        return rc;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 5000);   /* another process or connection holds the lock: wait */
    if ((rc = create_schema(s))) {
        erp_close(s);
        return rc;
    }
    for (int i = 0; i < Q_COUNT; i++) {
        int sr = sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL);
        if (sr != SQLITE_OK) {
            rc = db_error(s, sr, "preparing a statement");
            erp_close(s);
            return rc;
        }
    }
    *ops = &erp_ops;
    *backend = s;
    return SFSM_OK;
}

void erp_store_backend_close(void *backend)
{
    erp_close(backend);
}

int erp_store_open(const char *path, sfsm_store **out)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return sfsm_error_set(SFSM_EINVAL, "erp_store_open: %s is NULL", !path ? "path" : "out");
    const sfsm_store_ops *ops;
    void *backend;
    int rc = erp_store_backend(path, &ops, &backend);
    if (rc)
        return rc;
    if ((rc = sfsm_store_new(out, ops, backend)))
        erp_close(backend);   /* on failure the store did not take it */
    return rc;
}
