/* What a store hands back is checked (lib/record_check.c): a record,
 * history entry, payment, team membership or target that breaks a rule the
 * library enforces on input is SFSM_ESTORAGE naming the opportunity and the
 * field, changes nothing and crashes nothing. And an opportunity at the
 * highest version takes no further write (defect 6: the version wrapped).
 *
 * Defects are planted under the library's feet: on SQLite with UPDATEs
 * through a second connection to the file; on the memory run through the
 * small backend of mini_store.h, whose stored rows the test edits directly. */
#define _POSIX_C_SOURCE 200809L   /* open_memstream */
#include <stdio.h>
#include <sqlite3.h>

#include <salesfsm/sys/store.h>

#include "mini_store.h"
#include "sqlite_file.h"
#include "testutil.h"

#define SAFE_MAX INT64_C(9007199254740991) /* 2^53 - 1 */

/* ==== the world: a fixture on SQLite or on a mini_store ==== */

typedef struct world {
    fixture *f;
    mini_store *m;   /* NULL on SQLite */
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->f = mini_fixture_new(NULL, &w->m);
    /* o1: created, qualified, one attribute saved: history versions 1..3 */
    sfsm_opp *o = fixture_opp(w->f, "o1", "qualify", NULL);
    assert_int_equal(sfsm_opp_set_attr(o, "region", "north"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(w->f->engine, o), SFSM_OK);
    sfsm_opp_free(o);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    fixture_free(w->f);
    free(w);
    return 0;
}

/* ---- planting ---- */

typedef enum { V_INT, V_TEXT, V_NULL } vkind;

/* One stored value to overwrite: a column of table `table` (SQLite names)
 * in the row of opportunity o1 (history: of version `row`). */
typedef struct plant {
    const char *table;   /* opp, history, opp_attr, payment, team_member, target */
    int64_t row;         /* history version; ignored elsewhere */
    const char *column;
    vkind kind;
    int64_t i;
    const char *s;
} plant;

static void sql_exec(world *w, const char *sql)
{
    assert_true(exec_changed(w->f->path, sql) >= 1);
}

static void sql_plant(world *w, const plant *p)
{
    char sql[256];
    const char *where = strcmp(p->table, "history") == 0       ? "opp_id = 'o1' AND version = ?2"
                        : strcmp(p->table, "opp") == 0         ? "id = 'o1'"
                        : strcmp(p->table, "team_member") == 0 ? "owner = 'ravi'"
                        : strcmp(p->table, "target") == 0      ? "subject = 'ravi'"
                                                               : "opp_id = 'o1'";
    snprintf(sql, sizeof sql, "UPDATE %s SET %s = ?1 WHERE %s", p->table, p->column, where);
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(w->f->path, &db), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    if (p->kind == V_INT)
        sqlite3_bind_int64(st, 1, p->i);
    else if (p->kind == V_TEXT)
        sqlite3_bind_text(st, 1, p->s, -1, SQLITE_STATIC);   /* bytes as given: SQLite does not check UTF-8 */
    else
        sqlite3_bind_null(st, 1);
    if (strstr(where, "?2"))
        sqlite3_bind_int64(st, 2, p->row);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static const char **m_text(mini_store *m, const plant *p)
{
    sfsm_record *r = mini_find(m, "o1");
    if (strcmp(p->table, "opp") == 0) {
        static const char *const names[] = { "id", "stage", "currency", "customer", "owner", "title", "pipeline" };
        const char **slots[] = { &r->id, &r->stage, &r->currency, &r->customer, &r->owner, &r->title, &r->pipeline };
        for (size_t k = 0; k < 7; k++)
            if (strcmp(p->column, names[k]) == 0)
                return slots[k];
    } else if (strcmp(p->table, "opp_attr") == 0) {
        sfsm_attr *a = (sfsm_attr *)&r->attrs[0];
        return strcmp(p->column, "key") == 0 ? &a->key : &a->value;
    } else if (strcmp(p->table, "history") == 0) {
        for (size_t k = 0; k < m->nhist; k++) {
            sfsm_history_entry *h = &m->hist[k].h;
            if (strcmp(m->hist[k].id, "o1") != 0 || h->version != (uint64_t)p->row)
                continue;
            static const char *const names[] = { "event", "from_stage", "to_stage", "actor", "role", "note", "changes" };
            const char **slots[] = { &h->event, &h->from, &h->to, &h->actor, &h->role, &h->note, &h->changes };
            for (size_t j = 0; j < 7; j++)
                if (strcmp(p->column, names[j]) == 0)
                    return slots[j];
        }
    } else if (strcmp(p->table, "payment") == 0) {
        return strcmp(p->column, "currency") == 0 ? &m->pay[0].currency : &m->pay[0].note;
    } else if (strcmp(p->table, "team_member") == 0) {
        return strcmp(p->column, "team") == 0 ? &m->team_name[0] : &m->team_owner[0];
    } else if (strcmp(p->table, "target") == 0) {
        return strcmp(p->column, "currency") == 0 ? &m->tgt[0].currency : &m->tgt[0].subject;
    }
    fail_msg("no text column %s.%s", p->table, p->column);
    return NULL;
}

static void m_int(mini_store *m, const plant *p)
{
    sfsm_record *r = mini_find(m, "o1");
    uint64_t u = (uint64_t)p->i;   /* a negative version reads back as the SQLite store's cast gives it */
    if (strcmp(p->table, "opp") == 0) {
        if (strcmp(p->column, "version") == 0) r->version = u;
        else if (strcmp(p->column, "amount") == 0) r->amount = p->i;
        else if (strcmp(p->column, "expected_close_ms") == 0) r->expected_close_ms = p->i;
        else if (strcmp(p->column, "created_ms") == 0) r->created_ms = p->i;
        else if (strcmp(p->column, "updated_ms") == 0) r->updated_ms = p->i;
        else if (strcmp(p->column, "stage_entered_ms") == 0) r->stage_entered_ms = p->i;
        else if (strcmp(p->column, "pipeline_version") == 0) r->pipeline_version = (uint32_t)p->i;
        else fail_msg("no int column opp.%s", p->column);
        return;
    }
    if (strcmp(p->table, "history") == 0) {
        for (size_t k = 0; k < m->nhist; k++) {
            sfsm_history_entry *h = &m->hist[k].h;
            if (strcmp(m->hist[k].id, "o1") != 0 || h->version != (uint64_t)p->row)
                continue;
            if (strcmp(p->column, "version") == 0) h->version = u;
            else if (strcmp(p->column, "at_ms") == 0) h->at_ms = p->i;
            else if (strcmp(p->column, "kind") == 0) h->kind = (int)p->i;
            else if (strcmp(p->column, "fields") == 0) h->fields = (uint32_t)p->i;
            else fail_msg("no int column history.%s", p->column);
            return;
        }
        fail_msg("no history version %lld", (long long)p->row);
    }
    if (strcmp(p->table, "payment") == 0 && strcmp(p->column, "amount") == 0) {
        m->pay[0].amount = p->i;
        return;
    }
    if (strcmp(p->table, "payment") == 0 && strcmp(p->column, "at_ms") == 0) {
        m->pay[0].at_ms = p->i;
        return;
    }
    if (strcmp(p->table, "target") == 0 && strcmp(p->column, "amount") == 0) {
        m->tgt[0].amount = p->i;
        return;
    }
    fail_msg("no int column %s.%s", p->table, p->column);
}

static void plant_one(world *w, const plant *p)
{
    if (!w->m) {
        sql_plant(w, p);
        return;
    }
    if (p->kind == V_INT)
        m_int(w->m, p);
    else
        *m_text(w->m, p) = p->kind == V_TEXT ? mini_keep(w->m, p->s) : NULL;
}

/* ---- what is stored, as one string, to show that nothing changed ---- */

static void dump_sql(world *w, FILE *out)
{
    static const char *const q[] = {
        "SELECT * FROM opp ORDER BY rowid", "SELECT * FROM opp_attr ORDER BY opp_id, key",
        "SELECT * FROM history ORDER BY opp_id, version", "SELECT * FROM payment ORDER BY opp_id, seq",
        "SELECT * FROM team_member ORDER BY owner", "SELECT * FROM target ORDER BY subject",
    };
    for (size_t k = 0; k < sizeof q / sizeof q[0]; k++) {
        char *rows = dump_rows(w->f->path, q[k]);
        fputs(rows, out);
        free(rows);
    }
}

#define S(x) ((x) ? (x) : "NULL")

static void dump_mini(const mini_store *m, FILE *out)
{
    for (size_t k = 0; k < m->nrec; k++) {
        const sfsm_record *r = &m->rec[k];
        fprintf(out, "%s|%s|%llu|%lld|%s|%s|%s|%s|%lld|%lld|%lld|%lld|%s|%u\n", S(r->id), S(r->stage),
                (unsigned long long)r->version, (long long)r->amount, S(r->currency), S(r->customer), S(r->owner),
                S(r->title), (long long)r->expected_close_ms, (long long)r->created_ms, (long long)r->updated_ms,
                (long long)r->stage_entered_ms, S(r->pipeline), r->pipeline_version);
        for (size_t a = 0; r->attrs && a < r->attr_count; a++)
            fprintf(out, " %s=%s\n", S(r->attrs[a].key), S(r->attrs[a].value));
    }
    for (size_t k = 0; k < m->nhist; k++) {
        const sfsm_history_entry *h = &m->hist[k].h;
        fprintf(out, "%s|%llu|%lld|%d|%s|%s|%s|%s|%s|%s|%u|%s\n", m->hist[k].id, (unsigned long long)h->version,
                (long long)h->at_ms, h->kind, S(h->event), S(h->from), S(h->to), S(h->actor), S(h->role), S(h->note),
                h->fields, S(h->changes));
    }
    for (size_t k = 0; k < m->npay; k++)
        fprintf(out, "%s|%llu|%lld|%s|%s\n", m->pay[k].opp_id, (unsigned long long)m->pay[k].seq,
                (long long)m->pay[k].amount, S(m->pay[k].currency), S(m->pay[k].note));
    for (size_t k = 0; k < m->nteam; k++)
        fprintf(out, "%s|%s\n", S(m->team_owner[k]), S(m->team_name[k]));
    for (size_t k = 0; k < m->ntgt; k++)
        fprintf(out, "%s|%lld|%s\n", S(m->tgt[k].subject), (long long)m->tgt[k].amount, S(m->tgt[k].currency));
}

static char *dump(world *w)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    if (w->m)
        dump_mini(w->m, out);
    else
        dump_sql(w, out);
    fclose(out);
    return buf;
}

static void assert_store_unchanged(world *w, char *before)
{
    char *after = dump(w);
    assert_string_equal(before, after);
    free(after);
    free(before);
}

/* ==== records ==== */

typedef struct record_case {
    plant p;
    const char *msg;   /* what the message must say besides the id */
} record_case;

#define OPP(col, k, iv, sv) { "opp", 0, col, k, iv, sv }

static const char LONG_TEXT[] = "x"; /* replaced at run time: see long_text() */

static const record_case record_cases[] = {
    { OPP("version", V_INT, 0, NULL), "version: 0 is outside 1..9007199254740991" },
    { OPP("version", V_INT, -1, NULL), "version: -1 is outside 1..9007199254740991" },
    { OPP("version", V_INT, INT64_MIN, NULL), "version: -9223372036854775808 is outside" },
    { OPP("version", V_INT, SAFE_MAX + 1, NULL), "version: 9007199254740992 is outside" },
    { OPP("stage", V_TEXT, 0, "quoteed"), "stage: 'quoteed' is not a stage of pipeline" },
    { OPP("stage", V_TEXT, 0, "lead\x1b[2J"), "stage: 'lead\\x1b[2J' is not a stage" },
    { OPP("stage", V_TEXT, 0, "le\xff"), "stage: is not valid UTF-8 (byte 2)" },
    { OPP("amount", V_INT, -5, NULL), "amount: -5 is outside 0..9007199254740991" },
    { OPP("amount", V_INT, SAFE_MAX + 1, NULL), "amount: 9007199254740992 is outside" },
    { OPP("currency", V_TEXT, 0, "cny"), "currency: 'cny' is not an ISO 4217 code" },
    { OPP("currency", V_TEXT, 0, "CNYX"), "currency: 'CNYX' is not an ISO 4217 code" },
    { OPP("currency", V_TEXT, 0, ""), "currency: '' is not an ISO 4217 code" },
    { OPP("currency", V_NULL, 0, NULL), "currency: NULL, but amount 1200000 needs one" },
    { OPP("customer", V_TEXT, 0, ""), "customer: is empty (NULL means none)" },
    { OPP("customer", V_TEXT, 0, "A\xff\x1b[2J"), "customer: is not valid UTF-8 (byte 1)" },
    { OPP("customer", V_TEXT, 0, LONG_TEXT), "customer: is longer than 4096 bytes" },
    { OPP("owner", V_TEXT, 0, "\xc3\x28"), "owner: is not valid UTF-8 (byte 0)" },
    { OPP("title", V_TEXT, 0, "\xed\xa0\x80"), "title: is not valid UTF-8 (byte 0)" },   /* a surrogate */
    { OPP("expected_close_ms", V_INT, -1, NULL), "expected_close_ms: -1 is outside 0..9007199254740991" },
    { OPP("created_ms", V_INT, INT64_MIN, NULL), "created_ms: -9223372036854775808 is outside" },
    { OPP("updated_ms", V_INT, INT64_MAX, NULL), "updated_ms: 9223372036854775807 is outside" },
    { OPP("stage_entered_ms", V_INT, -SAFE_MAX - 1, NULL), "stage_entered_ms: -9007199254740992 is outside" },
    { { "opp_attr", 0, "key", V_TEXT, 0, "" }, "attrs: key 0 is empty" },
    { { "opp_attr", 0, "value", V_TEXT, 0, "nor\xffth" }, "attrs: the value of 'region' is not valid UTF-8" },
};

/* A customer one byte over SFSM_MAX_TEXT. */
static char *long_text(void)
{
    char *s = malloc(SFSM_MAX_TEXT + 2);
    assert_non_null(s);
    memset(s, 'x', SFSM_MAX_TEXT + 1);
    s[SFSM_MAX_TEXT + 1] = '\0';
    return s;
}

static int count_cb(const sfsm_opp *o, void *ud)
{
    (void)o;
    ++*(size_t *)ud;
    return 0;
}

/* Every load of a bad record fails the same way: open, scan, reload. */
static void expect_bad_record(world *w, const char *msg)
{
    sfsm_engine *e = w->f->engine;
    sfsm_opp *o = (sfsm_opp *)1;
    char *before = dump(w);
    assert_int_equal(sfsm_opp_open(e, "o1", &o), SFSM_ESTORAGE);
    assert_null(o);
    assert_msg_has("stored opportunity 'o1': ");
    assert_msg_has(msg);
    size_t n = 0;
    assert_int_equal(sfsm_scan(e, NULL, count_cb, &n), SFSM_ESTORAGE);
    assert_int_equal(n, 0);
    assert_msg_has("stored opportunity 'o1': ");
    assert_msg_has(msg);
    assert_store_unchanged(w, before);
}

static void bad_records(void **state)
{
    (void)state;
    char *longer = long_text();
    for (size_t k = 0; k < sizeof record_cases / sizeof record_cases[0]; k++) {
        world *w;
        setup((void **)&w);
        plant p = record_cases[k].p;
        if (p.s == LONG_TEXT)
            p.s = longer;
        plant_one(w, &p);
        expect_bad_record(w, record_cases[k].msg);
        teardown((void **)&w);
    }
    free(longer);
}

/* Only a custom backend can hand back NULL where SQLite says NOT NULL. */
static void null_stage_and_attrs(void **state)
{
    world *w = *state;
    assert_non_null(w->m);   /* registered for the memory run only (main) */
    sfsm_record *r = mini_find(w->m, "o1");
    const char *stage = r->stage;
    r->stage = NULL;
    expect_bad_record(w, "stage: is missing (NULL)");
    r->stage = stage;
    sfsm_attr *a = (sfsm_attr *)&r->attrs[0];
    a->value = NULL;
    expect_bad_record(w, "attrs: the value of 'region' is missing (NULL)");
    a->value = "north";
    r->attrs = NULL;
    expect_bad_record(w, "attrs: 1 attributes, but none handed back");
}

static void attrs_out_of_order(void **state)
{
    world *w = *state;
    sfsm_opp *o;
    assert_int_equal(sfsm_opp_open(w->f->engine, "o1", &o), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "zone", "7"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(w->f->engine, o), SFSM_OK);
    sfsm_opp_free(o);
    plant p = { "opp_attr", 0, "key", V_TEXT, 0, "zone" };   /* region -> zone: twice */
    if (w->m) {
        plant_one(w, &p);
        expect_bad_record(w, "attrs: key 'zone' appears twice");
        sfsm_attr *a = (sfsm_attr *)mini_find(w->m, "o1")->attrs;
        a[0].key = "zz";
        expect_bad_record(w, "attrs: key 'zone' is out of order");
    } else {
        /* SQLite's key is unique per opportunity and read sorted: too many is what it can hold */
        sql_exec(w, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 255)"
                    " INSERT INTO opp_attr SELECT 'o1', printf('k%03d', i), 'v' FROM n");
        expect_bad_record(w, "attrs: 257 attributes, more than the 256 allowed");
    }
}

/* The id is named printably and cut at a character boundary. */
static void bad_ids(void **state)
{
    world *w = *state;
    sfsm_engine *e = w->f->engine;
    plant p = { "opp", 0, "id", V_TEXT, 0, "o1\xff\x1b]0;pwned\x07" };
    plant_one(w, &p);
    char *before = dump(w);
    size_t n = 0;
    assert_int_equal(sfsm_scan(e, NULL, count_cb, &n), SFSM_ESTORAGE);
    assert_msg_has("stored opportunity 'o1\\xff\\x1b]0;pwned\\x07': id: is not valid UTF-8 (byte 2)");
    assert_store_unchanged(w, before);

    char id[SFSM_MAX_ID + 2];
    memset(id, 'a', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    memcpy(id + 63, "\xc3\xa9", 2);   /* é across the 64-byte cut */
    p.s = id;
    if (w->m) {
        w->m->rec[0].id = mini_keep(w->m, id);
    } else {
        sql_exec(w, "UPDATE opp SET id = 'o1'");
        sql_plant(w, &p);
    }
    before = dump(w);
    assert_int_equal(sfsm_scan(e, NULL, count_cb, &n), SFSM_ESTORAGE);
    char want[128];
    snprintf(want, sizeof want, "stored opportunity '%.63s...': id: is longer than 128 bytes", id);
    assert_msg_has(want);
    assert_store_unchanged(w, before);
}

/* Other pipelines' records sharing the store are skipped by a scan, as
 * before, whatever they hold; opening one is EINVAL, as before. */
static void other_pipeline_skipped(void **state)
{
    world *w = *state;
    plant_one(w, &(plant){ "opp", 0, "pipeline", V_TEXT, 0, "other" });
    plant_one(w, &(plant){ "opp", 0, "version", V_INT, 0, NULL });
    size_t n = 0;
    assert_int_equal(sfsm_scan(w->f->engine, NULL, count_cb, &n), SFSM_OK);
    assert_int_equal(n, 0);
    sfsm_opp *o;
    assert_int_equal(sfsm_opp_open(w->f->engine, "o1", &o), SFSM_EINVAL);
    assert_msg_has("belongs to pipeline 'other'");
}

/* ==== history ==== */

typedef struct hist_case {
    plant p;
    size_t seen;       /* entries the callback sees before the failure */
    const char *msg;
} hist_case;

#define HIST(v, col, k, iv, sv) { "history", v, col, k, iv, sv }
#define CREATE_CHANGES "{\"amount\":1200000,\"currency\":\"CNY\",\"customer\":\"Acme Ltd\",\"owner\":\"ravi\"}"

static const hist_case hist_cases[] = {
    { HIST(2, "version", V_INT, 7, NULL), 1, "history: entry 2 has version 3 (versions run 1, 2, 3, ... without gaps)" },
    { HIST(1, "version", V_INT, 0, NULL), 0, "history: entry 1 has version 0" },
    { HIST(3, "version", V_INT, -1, NULL), 0, "history: entry 1 has version -1" },   /* read first, as signed */
    { HIST(2, "at_ms", V_INT, INT64_MAX, NULL), 1, "history version 2: at_ms: 9223372036854775807 is outside" },
    { HIST(2, "kind", V_INT, 9, NULL), 1, "history version 2: kind: 9 is not a kind" },
    { HIST(2, "kind", V_INT, 1, NULL), 1, "history version 2: kind: 'create', but 'create' is allowed only as the first" },
    { HIST(1, "kind", V_INT, 3, NULL), 0, "history version 1: kind: 'update', but the first entry must be 'create'" },
    { HIST(2, "event", V_NULL, 0, NULL), 1, "history version 2: event: NULL, but a transition names its event" },
    { HIST(3, "event", V_TEXT, 0, "qualify"), 2, "history version 3: event: set, but only a transition has one" },
    { HIST(2, "event", V_TEXT, 0, "q\xff"), 1, "history version 2: event: is not valid UTF-8 (byte 1)" },
    { HIST(2, "from_stage", V_TEXT, 0, "won"), 1, "history version 2: from: 'won', but the previous entry ended at 'lead'" },
    { HIST(1, "from_stage", V_TEXT, 0, "lead"), 0, "history version 1: from: set, but the create entry has none" },
    { HIST(2, "from_stage", V_NULL, 0, NULL), 1, "history version 2: from: NULL, but only the create entry has none" },
    { HIST(2, "to_stage", V_NULL, 0, NULL), 1, "history version 2: to: is missing (NULL)" },
    { HIST(3, "to_stage", V_TEXT, 0, "lead"), 2, "history version 3: to: 'lead', but an update stays at 'qualified'" },
    { HIST(2, "actor", V_NULL, 0, NULL), 1, "history version 2: actor: NULL, but a transition has one" },
    { HIST(2, "role", V_NULL, 0, NULL), 1, "history version 2: role: NULL, but actor is set" },
    { HIST(2, "note", V_TEXT, 0, "\x1b[31m\xc0\xaf"), 1, "history version 2: note: is not valid UTF-8 (byte 5)" },
    { HIST(3, "fields", V_INT, 0x40 | 0x20, NULL), 2, "history version 3: fields: 0x60 has bits of no field" },
    { HIST(3, "fields", V_INT, 0, NULL), 2, "history version 3: changes: must be NULL when fields is 0" },
    { HIST(3, "changes", V_NULL, 0, NULL), 2, "history version 3: changes: NULL, but fields names 'attrs'" },
    { HIST(1, "changes", V_TEXT, 0, "{not json}"), 0, "history version 1: changes: not a valid JSON object (byte 1)" },
    { HIST(1, "changes", V_TEXT, 0, "[1]"), 0, "changes: not a valid JSON object (byte 0)" },
    { HIST(1, "changes", V_TEXT, 0, CREATE_CHANGES " x"), 0, "changes: text after the object" },
    { HIST(1, "changes", V_TEXT, 0, "{\"amount\":1200000,\"currency\":\"CNY\",\"customer\":\"Acme Ltd\""), 0,
      "changes: not a valid JSON object (byte 56)" },
    { HIST(1, "changes", V_TEXT, 0, "{\"amount\":-1,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}"), 0,
      "history version 1: changes.amount: expected an integer in 0..9007199254740991" },
    { HIST(1, "changes", V_TEXT, 0, "{\"amount\":9007199254740992,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}"),
      0, "changes.amount: expected an integer" },
    { HIST(1, "changes", V_TEXT, 0, "{\"amount\":1.5,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}"), 0,
      "changes.amount: expected an integer" },
    { HIST(1, "changes", V_TEXT, 0, "{\"amount\":1,\"currency\":\"cny\",\"customer\":\"A\",\"owner\":\"r\"}"), 0,
      "changes.currency: not an ISO 4217 code" },
    { HIST(1, "changes", V_TEXT, 0, "{\"amount\":1,\"currency\":\"CNY\",\"customer\":\"\",\"owner\":\"r\"}"), 0,
      "changes.customer: empty (null means none)" },
    { HIST(1, "changes", V_TEXT, 0, "{\"amount\":1,\"currency\":\"CNY\",\"customer\":\"A\\u0000B\",\"owner\":\"r\"}"), 0,
      "changes: not a valid JSON object (byte 40)" },
    { HIST(1, "changes", V_TEXT, 0, "{\"amount\":1,\"currency\":\"CNY\",\"customer\":\"\\ud800\",\"owner\":\"r\"}"), 0,
      "changes: not a valid JSON object (byte 40)" },
    { HIST(1, "changes", V_TEXT, 0, "{\"amount\":1,\"currency\":\"CNY\",\"customer\":\"A\xff\",\"owner\":\"r\"}"), 0,
      "history version 1: changes: not valid UTF-8 (byte 42)" },
    { HIST(1, "changes", V_TEXT, 0, "{\"amount\":1,\"currency\":\"CNY\",\"customer\":\"A\x1b\",\"owner\":\"r\"}"), 0,
      "changes: not a valid JSON object (byte 40)" },
    { HIST(1, "changes", V_TEXT, 0, "{\"amount\":1,\"currency\":\"CNY\",\"owner\":\"r\"}"), 0,
      "changes: missing 'customer', though fields names 'customer'" },
    { HIST(1, "changes", V_TEXT, 0, "{\"amount\":1,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\",\"title\":null}"), 0,
      "changes: has 'title', but fields does not name 'title'" },
    { HIST(1, "changes", V_TEXT, 0, "{\"amount\":1,\"amount\":1,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\"}"), 0,
      "changes: member 'amount' appears twice" },
    { HIST(1, "changes", V_TEXT, 0, "{\"amount\":1,\"currency\":\"CNY\",\"customer\":\"A\",\"owner\":\"r\",\"x\":1}"), 0,
      "changes: unknown member at byte" },
    { HIST(3, "changes", V_TEXT, 0, "{\"attrs\":{\"a\":\"1\",\"\\u0061\":\"2\"}}"), 2,
      "history version 3: changes.attrs: key 1 repeats key 0" },
    { HIST(3, "changes", V_TEXT, 0, "{\"attrs\":{\"\":\"1\"}}"), 2, "changes.attrs: key 0 is empty" },
    { HIST(3, "changes", V_TEXT, 0, "{\"attrs\":{\"a\":1}}"), 2, "changes.attrs: the value of key 0 is not a string" },
    { HIST(3, "changes", V_TEXT, 0, "{\"attrs\":[]}"), 2, "changes.attrs: expected an object" },
};

typedef struct seen {
    size_t n;
} seen;

static int seen_cb(const sfsm_history_entry *h, void *ud)
{
    (void)h;
    ((seen *)ud)->n++;
    return 0;
}

/* sfsm_opp_history reads the record too: the history has one entry per
 * version and ends at the record's stage; with the record at the engine's
 * pipeline version and no migrate entry, every entry's stage is the
 * pipeline's. Found at the end of the read (cb has seen what it saw). */
static void history_against_record(void **state)
{
    (void)state;
    static const struct {
        plant p[2];
        size_t seen;
        const char *msg;
    } cases[] = {
        { { { "opp", 0, "version", V_INT, 4, NULL } }, 3,
          "stored opportunity 'o1': history: 3 entries, but the record is at version 4" },
        { { { "opp", 0, "version", V_INT, 2, NULL } }, 2, "history version 3: above the record's version 2" },
        { { { "opp", 0, "stage", V_TEXT, 0, "quoted" } }, 3,
          "stage: 'quoted', but its last history entry (version 3) ends at 'qualified'" },
        { { HIST(1, "to_stage", V_TEXT, 0, "limbo"), HIST(2, "from_stage", V_TEXT, 0, "limbo") }, 3,
          "history version 1: to: 'limbo' is not a stage of pipeline 'default' version 1" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        world *w;
        setup((void **)&w);
        for (size_t j = 0; j < 2 && cases[k].p[j].table; j++)
            plant_one(w, &cases[k].p[j]);
        seen s = { 0 };
        assert_int_equal(sfsm_opp_history(w->f->engine, "o1", seen_cb, &s), SFSM_ESTORAGE);
        assert_msg_has(cases[k].msg);
        assert_int_equal(s.n, cases[k].seen);
        teardown((void **)&w);
    }
    /* an earlier pipeline version's record: its names need only be well formed */
    world *w;
    setup((void **)&w);
    plant_one(w, &cases[3].p[0]);
    plant_one(w, &cases[3].p[1]);
    plant_one(w, &(plant){ "opp", 0, "pipeline_version", V_INT, 0, NULL });
    seen s = { 0 };
    assert_int_equal(sfsm_opp_history(w->f->engine, "o1", seen_cb, &s), SFSM_OK);
    assert_int_equal(s.n, 3);
    teardown((void **)&w);
}

static void bad_history(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof hist_cases / sizeof hist_cases[0]; k++) {
        world *w;
        setup((void **)&w);
        plant_one(w, &hist_cases[k].p);
        char *before = dump(w);
        seen s = { 0 };
        int rc = sfsm_opp_history(w->f->engine, "o1", seen_cb, &s);
        if (rc != SFSM_ESTORAGE)
            fail_msg("case %zu (%s %s): %d %s", k, hist_cases[k].p.column, hist_cases[k].msg, rc, sfsm_errmsg());
        assert_msg_has("stored opportunity 'o1': ");
        assert_msg_has(hist_cases[k].msg);
        if (s.n != hist_cases[k].seen)
            fail_msg("case %zu: the callback saw %zu entries, expected %zu", k, s.n, hist_cases[k].seen);
        assert_store_unchanged(w, before);
        teardown((void **)&w);
    }
}

/* What the library itself may write passes: spacing, escapes, names of an
 * earlier pipeline version, empty notes and attribute values. */
static void good_history(void **state)
{
    world *w = *state;
    plant ok[] = {
        HIST(1, "changes", V_TEXT, 0,
             " {\r\n\t\"amount\" : 1200000 , \"currency\":\"\\u0043NY\",\"customer\":\"Acme\\u0020Ltd\\ud83d\\ude80\","
             "\"owner\":\"r\\u00e9vi\\/\" }  "),
        HIST(3, "changes", V_TEXT, 0, "{\"attrs\":{\"a\":\"\",\"b\":\"\\u00e9\",\"\\u00e9\":\"x\"}}"),
        HIST(1, "to_stage", V_TEXT, 0, "prospect"),   /* a stage of no version this engine knows */
        HIST(2, "from_stage", V_TEXT, 0, "prospect"),
        HIST(2, "note", V_TEXT, 0, ""),
        /* written under an earlier version: under this one, as the import
         * and export ask, only a migrate entry could precede such a name */
        { "opp", 0, "pipeline_version", V_INT, 0, NULL },
    };
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++)
        plant_one(w, &ok[k]);
    seen s = { 0 };
    if (sfsm_opp_history(w->f->engine, "o1", seen_cb, &s) != SFSM_OK)
        fail_msg("%s", sfsm_errmsg());
    assert_int_equal(s.n, 3);
    plant_one(w, &(plant){ "opp_attr", 0, "value", V_TEXT, 0, "" });
    sfsm_opp *o;
    assert_int_equal(sfsm_opp_open(w->f->engine, "o1", &o), SFSM_OK);
    assert_string_equal(sfsm_opp_attr(o, "region"), "");
    sfsm_opp_free(o);
}

/* A callback's own non-zero return still comes back as it was. */
static int stop_cb(const sfsm_history_entry *h, void *ud)
{
    (void)h;
    (void)ud;
    return 42;
}

static void callback_stop_kept(void **state)
{
    world *w = *state;
    assert_int_equal(sfsm_opp_history(w->f->engine, "o1", stop_cb, NULL), 42);
}

/* ==== payments, teams, targets ==== */

static int pay_cb(const sfsm_payment *p, void *ud)
{
    (void)p;
    ++*(size_t *)ud;
    return 0;
}

static int team_cb(const char *owner, const char *team, void *ud)
{
    (void)owner;
    (void)team;
    ++*(size_t *)ud;
    return 0;
}

static int target_cb(const sfsm_target *t, void *ud)
{
    (void)t;
    ++*(size_t *)ud;
    return 0;
}

static void targets_world(world *w)
{
    sfsm_engine *e = w->f->engine;
    sfsm_opp *o;
    assert_int_equal(sfsm_opp_open(e, "o1", &o), SFSM_OK);
    const char *walk[] = { "quote", "negotiate", "sign" };
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(sfsm_fire(e, o, walk[i], &MANAGER, NULL), SFSM_OK);
    sfsm_opp_free(o);
    assert_int_equal(sfsm_payment_add(e, "o1", 1000, "CNY", "first"), SFSM_OK);
    assert_int_equal(sfsm_team_set(e, "ravi", "north"), SFSM_OK);
    sfsm_target t = { SFSM_SUBJECT_OWNER, "ravi", { 2026, SFSM_PERIOD_YEAR, 1 }, 5000000, "CNY" };
    assert_int_equal(sfsm_target_set(e, &t), SFSM_OK);
}

static void bad_payments(void **state)
{
    (void)state;
    static const struct {
        plant p;
        const char *msg;
    } cases[] = {
        { { "payment", 0, "amount", V_INT, -5, NULL }, "stored opportunity 'o1': payment 1: amount: -5 is outside 1.." },
        { { "payment", 0, "amount", V_INT, 0, NULL }, "payment 1: amount: 0 is outside 1..9007199254740991" },
        { { "payment", 0, "currency", V_TEXT, 0, "cn" }, "payment 1: currency: 'cn' is not an ISO 4217 code" },
        { { "payment", 0, "note", V_TEXT, 0, "f\xffirst" }, "payment 1: note: is not valid UTF-8 (byte 1)" },
        /* times are within +-(2^53-1), as everywhere */
        { { "payment", 0, "at_ms", V_INT, INT64_MAX, NULL }, "payment 1: at_ms: 9223372036854775807 is outside" },
        /* against the opportunity: its currency, no more than its amount */
        { { "payment", 0, "currency", V_TEXT, 0, "USD" }, "payment 1: currency: 'USD', but the opportunity's is 'CNY'" },
        { { "payment", 0, "amount", V_INT, 1200001, NULL },
          "stored opportunity 'o1': payments: 1200001 collected, more than its amount 1200000 CNY" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        world *w;
        setup((void **)&w);
        targets_world(w);
        sfsm_engine *e = w->f->engine;
        plant_one(w, &cases[k].p);
        char *before = dump(w);
        size_t n = 0;
        assert_int_equal(sfsm_payment_list(e, NULL, pay_cb, &n), SFSM_ESTORAGE);
        assert_int_equal(n, 0);
        assert_msg_has(cases[k].msg);
        assert_int_equal(sfsm_payment_list(e, "o1", pay_cb, &n), SFSM_ESTORAGE);
        assert_msg_has(cases[k].msg);
        /* a new payment adds up the stored ones first */
        assert_int_equal(sfsm_payment_add(e, "o1", 1, "CNY", NULL), SFSM_ESTORAGE);
        assert_msg_has(cases[k].msg);
        assert_store_unchanged(w, before);
        teardown((void **)&w);
    }
}

static void bad_team_and_target(void **state)
{
    world *w = *state;
    targets_world(w);
    sfsm_engine *e = w->f->engine;
    size_t n = 0;
    plant_one(w, &(plant){ "team_member", 0, "team", V_TEXT, 0, "no\xffrth" });
    plant_one(w, &(plant){ "target", 0, "amount", V_INT, -1, NULL });
    char *before = dump(w);
    assert_int_equal(sfsm_team_list(e, NULL, team_cb, &n), SFSM_ESTORAGE);
    assert_msg_has("stored team membership of owner 'ravi': team is not valid UTF-8 (byte 2)");
    assert_int_equal(sfsm_target_list(e, SFSM_SUBJECT_OWNER, NULL, 0, target_cb, &n), SFSM_ESTORAGE);
    assert_msg_has("stored target of owner 'ravi': amount: -1 is negative");
    assert_int_equal(n, 0);
    plant_one(w, &(plant){ "target", 0, "currency", V_TEXT, 0, "\x1b" });
    plant_one(w, &(plant){ "target", 0, "amount", V_INT, 1, NULL });
    assert_int_equal(sfsm_target_list(e, SFSM_SUBJECT_OWNER, NULL, 0, target_cb, &n), SFSM_ESTORAGE);
    assert_msg_has("stored target of owner 'ravi': currency: '\\x1b' is not an ISO 4217 code");
    free(before);
}

/* A payment against a record that fails its check is refused, not summed. */
static void payment_against_bad_record(void **state)
{
    world *w = *state;
    targets_world(w);
    plant_one(w, &(plant){ "opp", 0, "amount", V_INT, -5, NULL });
    char *before = dump(w);
    assert_int_equal(sfsm_payment_add(w->f->engine, "o1", 1, "CNY", NULL), SFSM_ESTORAGE);
    assert_msg_has("stored opportunity 'o1': amount: -5 is outside");
    assert_store_unchanged(w, before);
}

/* Listing payments reads the record's amount and currency, checked (a
 * listing against a damaged one fails naming it), and nothing else of it:
 * a damaged title is for the record's own reader to report. */
static void payment_list_reads_amount(void **state)
{
    world *w = *state;
    targets_world(w);
    sfsm_engine *e = w->f->engine;
    size_t n = 0;
    plant_one(w, &(plant){ "opp", 0, "title", V_TEXT, 0, "\xed\xa0\x80" });
    assert_int_equal(sfsm_payment_list(e, "o1", pay_cb, &n), SFSM_OK);
    assert_int_equal(sfsm_payment_list(e, NULL, pay_cb, &n), SFSM_OK);
    assert_int_equal(n, 2);
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_open(e, "o1", &o), SFSM_ESTORAGE);
    assert_msg_has("stored opportunity 'o1': title: is not valid UTF-8");
    plant_one(w, &(plant){ "opp", 0, "amount", V_INT, 999, NULL });
    n = 0;
    assert_int_equal(sfsm_payment_list(e, "o1", pay_cb, &n), SFSM_ESTORAGE);
    assert_msg_has("stored opportunity 'o1': payments: 1000 collected, more than its amount 999 CNY");
    assert_int_equal(sfsm_payment_list(e, NULL, pay_cb, &n), SFSM_ESTORAGE);
    assert_msg_has("payments: 1000 collected, more than its amount 999 CNY");
    plant_one(w, &(plant){ "opp", 0, "currency", V_TEXT, 0, "cn" });
    assert_int_equal(sfsm_payment_list(e, "o1", pay_cb, &n), SFSM_ESTORAGE);
    assert_msg_has("stored opportunity 'o1': currency: 'cn' is not an ISO 4217 code");
    assert_int_equal(n, 0);
}

/* ==== defect 6: the highest version takes no further write ==== */

static void version_at_max(void **state)
{
    world *w = *state;
    sfsm_engine *e = w->f->engine;
    plant_one(w, &(plant){ "opp", 0, "version", V_INT, SAFE_MAX, NULL });
    sfsm_opp *o;
    assert_int_equal(sfsm_opp_open(e, "o1", &o), SFSM_OK);   /* the highest version is a valid one */
    assert_int_equal(sfsm_opp_version(o), (uint64_t)SAFE_MAX);
    char *before = dump(w);
    assert_int_equal(sfsm_fire(e, o, "quote", &MANAGER, NULL), SFSM_EINVAL);
    assert_msg_has("sfsm_fire: opportunity 'o1' is at version 9007199254740991, the highest there is");
    assert_int_equal(sfsm_opp_set_title(o, "t"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(e, o), SFSM_EINVAL);
    assert_msg_has("sfsm_opp_save: opportunity 'o1' is at version 9007199254740991");
    assert_int_equal(sfsm_opp_version(o), (uint64_t)SAFE_MAX);
    assert_string_equal(sfsm_opp_stage(o), "qualified");
    assert_store_unchanged(w, before);
    sfsm_opp_free(o);

    /* stored under an earlier pipeline version: migrate refuses it, moves nothing */
    plant_one(w, &(plant){ "opp", 0, "pipeline_version", V_INT, 0, NULL });
    before = dump(w);
    size_t moved = 99;
    assert_int_equal(sfsm_engine_migrate(e, &MANAGER, NULL, NULL, &moved), SFSM_EINVAL);
    assert_msg_has("opportunity 'o1' is at version 9007199254740991, the highest there is");
    assert_msg_has("nothing was migrated");
    assert_int_equal(moved, 0);
    assert_store_unchanged(w, before);

    /* one below the highest: the last write there is still goes through */
    plant_one(w, &(plant){ "opp", 0, "version", V_INT, SAFE_MAX - 1, NULL });
    plant_one(w, &(plant){ "opp", 0, "pipeline_version", V_INT, sfsm_pipeline_version(w->f->pipeline), NULL });
    assert_int_equal(sfsm_opp_open(e, "o1", &o), SFSM_OK);
    assert_int_equal(sfsm_fire(e, o, "quote", &MANAGER, NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_version(o), (uint64_t)SAFE_MAX);
    assert_int_equal(sfsm_fire(e, o, "negotiate", &MANAGER, NULL), SFSM_EINVAL);
    sfsm_opp_free(o);
    assert_int_equal(sfsm_opp_open(e, "o1", &o), SFSM_OK);
    assert_int_equal(sfsm_opp_version(o), (uint64_t)SAFE_MAX);
    assert_string_equal(sfsm_opp_stage(o), "quoted");
    sfsm_opp_free(o);
}

/* Migrating a record that fails its check is ESTORAGE; nothing moves. */
static void migrate_bad_record(void **state)
{
    world *w = *state;
    plant_one(w, &(plant){ "opp", 0, "pipeline_version", V_INT, 0, NULL });
    plant_one(w, &(plant){ "opp", 0, "customer", V_TEXT, 0, "\xff" });
    char *before = dump(w);
    size_t moved = 99;
    assert_int_equal(sfsm_engine_migrate(w->f->engine, NULL, NULL, NULL, &moved), SFSM_ESTORAGE);
    assert_msg_has("stored opportunity 'o1': customer: is not valid UTF-8");
    assert_int_equal(moved, 0);
    assert_store_unchanged(w, before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_records),
        cmocka_unit_test_setup_teardown(attrs_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(other_pipeline_skipped, setup, teardown),
        cmocka_unit_test(bad_history),
        cmocka_unit_test(history_against_record),
        cmocka_unit_test_setup_teardown(good_history, setup, teardown),
        cmocka_unit_test_setup_teardown(callback_stop_kept, setup, teardown),
        cmocka_unit_test(bad_payments),
        cmocka_unit_test_setup_teardown(bad_team_and_target, setup, teardown),
        cmocka_unit_test_setup_teardown(payment_against_bad_record, setup, teardown),
        cmocka_unit_test_setup_teardown(payment_list_reads_amount, setup, teardown),
        cmocka_unit_test_setup_teardown(version_at_max, setup, teardown),
        cmocka_unit_test_setup_teardown(migrate_bad_record, setup, teardown),
    };
    /* SQLite's NOT NULL keeps these from being planted there. */
    const struct CMUnitTest memory_only[] = {
        cmocka_unit_test_setup_teardown(null_stage_and_attrs, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    const char *store = getenv("SFSM_TEST_STORE");
    if (!store || strcmp(store, "sqlite") != 0)
        failed += cmocka_run_group_tests(memory_only, NULL, NULL);
    return failed;
}
