/* The SQLite store when SQLite says no: a store file whose tables another
 * program dropped or renamed (before or after the store prepared its
 * statements), writes refused by an application's trigger, and a batch that
 * SQLite rolled back behind the library's back. Every such call fails with
 * ESTORAGE saying what it was doing and why, and changes nothing. */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"
#include "sqlite_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a seeded store file ---- */

#define OK(call)                                                               \
    do {                                                                       \
        int rc_ = (call);                                                      \
        if (rc_ != SFSM_OK)                                                    \
            fail_msg("%s: %d (%s)", #call, rc_, sfsm_errmsg());                \
    } while (0)

typedef struct env {
    char path[256];
    sfsm_pipeline *p;
    sfsm_store *s;
    sfsm_engine *e;
    sfsm_opp *o;   /* a handle opened before the damage, for writes */
    char doc[4096];/* a document to import, made before the damage */
    int64_t now;
} env;

static int64_t env_clock(void *ud)
{
    return ((env *)ud)->now;
}

static void env_open(env *v)
{
    assert_int_equal(sfsm_pipeline_default(&v->p), SFSM_OK);
    sfsm_sqlite_options o = SFSM_SQLITE_OPTIONS_INIT;
    o.synchronous = SFSM_SQLITE_SYNC_OFF;   /* throw-away files */
    assert_int_equal(sfsm_store_open_sqlite(&v->s, v->path, &o), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&v->e, v->p, v->s), SFSM_OK);
    v->now = T0_MS + 10 * DAY_MS;
    assert_int_equal(sfsm_engine_set_clock(v->e, env_clock, v), SFSM_OK);
}

static void env_close(env *v)
{
    sfsm_opp_free(v->o);
    v->o = NULL;
    sfsm_engine_free(v->e);
    sfsm_store_close(v->s);
    sfsm_pipeline_free(v->p);
    v->e = NULL;
    v->s = NULL;
    v->p = NULL;
}

static void create_opp(env *v, const char *id, const char *attr, int won)
{
    sfsm_create_options o = SFSM_CREATE_OPTIONS_INIT;
    o.id = id;
    o.customer = "Acme";
    o.owner = "ravi";
    o.amount = 100000;
    o.currency = "CNY";
    sfsm_opp *x = NULL;
    assert_int_equal(sfsm_opp_create_ext(v->e, &o, &x), SFSM_OK);
    if (attr) {
        assert_int_equal(sfsm_opp_set_attr(x, "region", attr), SFSM_OK);
        assert_int_equal(sfsm_opp_save(v->e, x), SFSM_OK);
    }
    static const char *const to_won[] = { "qualify", "quote", "negotiate", "sign" };
    for (int i = 0; won && i < 4; i++)
        OK(sfsm_fire(v->e, x, to_won[i], &MANAGER, NULL));
    sfsm_opp_free(x);
}

/* Won opportunities a0..a3 with an attribute, leads b0..b3 without, teams,
 * a target and a payment. */
static void seed(env *v)
{
    db_tmp_path(v->path);
    env_open(v);
    char id[16];
    for (int k = 0; k < 4; k++) {
        snprintf(id, sizeof id, "a%d", k);
        create_opp(v, id, "north", 1);
        snprintf(id, sizeof id, "b%d", k);
        create_opp(v, id, NULL, 0);
    }
    OK(sfsm_team_set(v->e, "ravi", "north"));
    OK(sfsm_team_set(v->e, "lena", "south"));
    OK(sfsm_team_set(v->e, "omar", "south"));
    sfsm_target t = { SFSM_SUBJECT_OWNER, "ravi", { 2026, SFSM_PERIOD_YEAR, 1 }, 500000, "CNY" };
    OK(sfsm_target_set(v->e, &t));
    OK(sfsm_payment_add(v->e, "a0", 1000, "CNY", "deposit"));
    env_close(v);
}

/* Every row of every table, as one string. */
static char *content_of(const char *path)
{
    return dump_rows(path,
        "SELECT 'opp', id || ' ' || stage || ' ' || version || ' ' || ifnull(title, '-') FROM opp"
        " UNION ALL SELECT 'attr', opp_id || ' ' || key || ' ' || value FROM opp_attr"
        " UNION ALL SELECT 'history', opp_id || ' ' || version || ' ' || ifnull(to_stage, '-') FROM history"
        " UNION ALL SELECT 'team', owner || ' ' || team FROM team_member"
        " UNION ALL SELECT 'target', subject || ' ' || year || ' ' || amount FROM target"
        " UNION ALL SELECT 'payment', opp_id || ' ' || seq || ' ' || amount FROM payment"
        " ORDER BY 1, 2");
}

/* ---- the calls ---- */

static int count_cb(const sfsm_opp *o, void *ud)
{
    (void)o;
    (*(int *)ud)++;
    return 0;
}

static int hist_cb(const sfsm_history_entry *h, void *ud)
{
    (void)h;
    (*(int *)ud)++;
    return 0;
}

static int team_cb(const char *owner, const char *team, void *ud)
{
    (void)owner;
    (void)team;
    (*(int *)ud)++;
    return 0;
}

static int target_cb(const sfsm_target *t, void *ud)
{
    (void)t;
    (*(int *)ud)++;
    return 0;
}

static int pay_cb(const sfsm_payment *p, void *ud)
{
    (void)p;
    (*(int *)ud)++;
    return 0;
}

/* k numbers the call, so that a write can be made twice (once to prepare
 * its statements, once to fail) on different data. */
static int do_open(env *v, int k)
{
    sfsm_opp *o = NULL;
    int rc = sfsm_opp_open(v->e, k ? "a1" : "a0", &o);
    sfsm_opp_free(o);
    return rc;
}

static int do_scan_all(env *v, int k)
{
    (void)k;
    int n = 0;
    return sfsm_scan(v->e, NULL, count_cb, &n);
}

static int do_scan_owner(env *v, int k)
{
    (void)k;
    sfsm_filter f = SFSM_FILTER_INIT;
    f.owner = "ravi";
    int n = 0;
    return sfsm_scan(v->e, &f, count_cb, &n);
}

static int do_history(env *v, int k)
{
    int n = 0;
    return sfsm_opp_history(v->e, k ? "b1" : "b0", hist_cb, &n);
}

static int do_create(env *v, int k)
{
    char id[16];
    snprintf(id, sizeof id, "new%d", k);
    sfsm_opp *o = NULL;
    int rc = sfsm_opp_create(v->e, id, &o);
    sfsm_opp_free(o);
    return rc;
}

/* Opens the lead (k: b2 or b3) or the won one (a2 or a3) the next write
 * changes, before the table goes away. */
static void open_lead(env *v, int k)
{
    sfsm_opp_free(v->o);
    v->o = NULL;
    OK(sfsm_opp_open(v->e, k ? "b3" : "b2", &v->o));
}

static void open_won(env *v, int k)
{
    sfsm_opp_free(v->o);
    v->o = NULL;
    OK(sfsm_opp_open(v->e, k ? "a3" : "a2", &v->o));
}

static int do_fire(env *v, int k)
{
    (void)k;
    return sfsm_fire(v->e, v->o, "qualify", &MANAGER, NULL);
}

static int do_set_title(env *v, int k)
{
    (void)k;
    int rc = sfsm_opp_set_title(v->o, "renewal");
    return rc ? rc : sfsm_opp_save(v->e, v->o);
}

static int do_save_attr(env *v, int k)
{
    (void)k;
    int rc = sfsm_opp_set_attr(v->o, "region", "west");
    return rc ? rc : sfsm_opp_save(v->e, v->o);
}

/* A lead with an attribute, as docs/json-format.md shows one. */
static void import_doc(env *v, int k)
{
    snprintf(v->doc, sizeof v->doc,
             "{\"format\": \"salesfsm-opportunities\", \"version\": 1, \"opportunities\": [{"
             "\"id\": \"imp%d\", \"stage\": \"lead\", \"version\": 2, \"amount\": 0, \"currency\": null,"
             " \"customer\": \"Imported\", \"owner\": null, \"title\": null, \"expected_close_ms\": 0,"
             " \"created_ms\": 1767225600000, \"updated_ms\": 1767229200000,"
             " \"stage_entered_ms\": 1767225600000, \"pipeline\": \"default\", \"pipeline_version\": 1,"
             " \"attrs\": {\"region\": \"east\"}, \"history\": ["
             "{\"version\": 1, \"at_ms\": 1767225600000, \"kind\": \"create\", \"event\": null, \"from\": null,"
             " \"to\": \"lead\", \"actor\": null, \"role\": null, \"note\": null, \"fields\": [\"customer\"],"
             " \"changes\": {\"customer\": \"Imported\"}},"
             "{\"version\": 2, \"at_ms\": 1767229200000, \"kind\": \"update\", \"event\": null, \"from\": \"lead\","
             " \"to\": \"lead\", \"actor\": null, \"role\": null, \"note\": null, \"fields\": [\"attrs\"],"
             " \"changes\": {\"attrs\": {\"region\": \"east\"}}}]}]}",
             k);
}

static int do_import_attr(env *v, int k)
{
    (void)k;
    size_t n = 0;
    return sfsm_import_json(v->e, v->doc, strlen(v->doc), &n);
}

static int do_team_set(env *v, int k)
{
    return sfsm_team_set(v->e, k ? "kim" : "jo", "east");
}

static int do_team_remove(env *v, int k)
{
    return sfsm_team_set(v->e, k ? "omar" : "lena", NULL);
}

static int do_team_list(env *v, int k)
{
    (void)k;
    int n = 0;
    return sfsm_team_list(v->e, NULL, team_cb, &n);
}

static int do_target_set(env *v, int k)
{
    sfsm_target t = { SFSM_SUBJECT_OWNER, "ravi", { 2026, SFSM_PERIOD_QUARTER, k + 1 }, 100000, "CNY" };
    return sfsm_target_set(v->e, &t);
}

static int do_target_list(env *v, int k)
{
    (void)k;
    int n = 0;
    return sfsm_target_list(v->e, SFSM_SUBJECT_OWNER, "ravi", 0, target_cb, &n);
}

static int do_payment_add(env *v, int k)
{
    return sfsm_payment_add(v->e, k ? "a2" : "a1", 500, "CNY", NULL);
}

static int do_payment_list(env *v, int k)
{
    (void)k;
    int n = 0;
    return sfsm_payment_list(v->e, "a0", pay_cb, &n);
}

static int do_report_history(env *v, int k)
{
    (void)k;
    sfsm_report *r = NULL;
    sfsm_report_filter f;
    assert_int_equal(sfsm_report_filter_init(&f, SFSM_REPORT_FILTER_VERSION), SFSM_OK);
    f.as_of_ms = T0_MS + 20 * DAY_MS;
    int rc = sfsm_report_funnel(v->e, &f, &r);
    sfsm_report_free(r);
    return rc;
}

static int do_report_payments(env *v, int k)
{
    (void)k;
    sfsm_report *r = NULL;
    int rc = sfsm_report_receivables(v->e, NULL, &r);
    sfsm_report_free(r);
    return rc;
}

/* A second engine on a fresh handle checks the store's stages. */
static int do_new_engine(env *v, int k)
{
    (void)k;
    sfsm_store *s = NULL;
    sfsm_engine *e = NULL;
    int rc = sfsm_store_open_sqlite(&s, v->path, NULL);
    if (rc == SFSM_OK)
        rc = sfsm_engine_new(&e, v->p, s);
    if (e)
        assert_int_equal(rc, SFSM_OK);
    sfsm_engine_free(e);
    sfsm_store_close(s);
    return rc;
}

typedef struct call_case {
    const char *name;
    int (*run)(env *v, int k);
    void (*setup)(env *v, int k);   /* before the damage; may be NULL */
    const char *table;   /* the table it needs */
    const char *what;    /* the words of its error message */
} call_case;

static const call_case reads[] = {
    { "open", do_open, NULL, "opp", "get" },
    { "open/attributes", do_open, NULL, "opp_attr", "attributes" },
    { "scan", do_scan_all, NULL, "opp", "scan" },
    { "scan/attributes", do_scan_all, NULL, "opp_attr", "attributes" },
    { "scan by owner/attributes", do_scan_owner, NULL, "opp_attr", "attributes" },
    { "history", do_history, NULL, "history", "history" },
    { "team list", do_team_list, NULL, "team_member", "team scan" },
    { "target list", do_target_list, NULL, "target", "target scan" },
    { "payment list", do_payment_list, NULL, "payment", "payment scan" },
    { "report/history", do_report_history, NULL, "history", "history scan" },
    { "report/payments", do_report_payments, NULL, "payment", "payment scan" },
    { "new engine", do_new_engine, NULL, "opp", "stage counts" },
};

static const call_case writes[] = {
    { "create", do_create, NULL, "opp", "opp" },
    { "fire", do_fire, open_lead, "opp", "update" },
    { "fire/history", do_fire, open_lead, "history", "history" },
    { "save title", do_set_title, open_lead, "opp", "update" },
    { "save attribute", do_save_attr, open_won, "opp_attr", "attributes" },
    { "import attribute", do_import_attr, import_doc, "opp_attr", "attribute" },
    { "team set", do_team_set, NULL, "team_member", "team" },
    { "team remove", do_team_remove, NULL, "team_member", "team" },
    { "target set", do_target_set, NULL, "target", "target" },
    { "payment add", do_payment_add, NULL, "payment", "payment" },
};

/* Renames `table` away (or back) from another connection. */
static void hide_table(const char *path, const char *table, int hide)
{
    char sql[160];
    if (hide)
        snprintf(sql, sizeof sql, "ALTER TABLE %s RENAME TO gone_%s;", table, table);
    else
        snprintf(sql, sizeof sql, "ALTER TABLE gone_%s RENAME TO %s;", table, table);
    exec_on(path, sql);
}

/* A read of another table makes the store's connection load the damaged
 * schema, so that its next new statement is prepared against it. */
static void refresh_schema(env *v, const char *hidden)
{
    int n = 0;
    if (strcmp(hidden, "target") != 0)
        OK(sfsm_target_list(v->e, SFSM_SUBJECT_OWNER, "ravi", 0, target_cb, &n));
    else
        OK(sfsm_team_list(v->e, NULL, team_cb, &n));
}

/* The call fails with ESTORAGE naming what it did and the missing table,
 * and, once the table is back, nothing has changed and the call works. */
static void check_missing_table(const call_case *c, int prepared)
{
    env v;
    memset(&v, 0, sizeof v);
    seed(&v);
    env_open(&v);
    if (prepared) {
        if (c->setup)
            c->setup(&v, 0);
        if (c->run(&v, 0) != SFSM_OK)
            fail_msg("%s: first call: %s", c->name, sfsm_errmsg());
    }
    if (c->setup)
        c->setup(&v, 1);
    char *before = content_of(v.path);
    hide_table(v.path, c->table, 1);
    if (!prepared)
        refresh_schema(&v, c->table);
    int rc = c->run(&v, 1);
    if (rc != SFSM_ESTORAGE)
        fail_msg("%s (%s): rc %d (%s), expected ESTORAGE", c->name, prepared ? "prepared" : "new", rc,
                 sfsm_errmsg());
    assert_msg_has("sqlite");
    assert_msg_has(c->what);
    assert_msg_has(c->table);
    if (!prepared)
        assert_msg_has("prepare");
    hide_table(v.path, c->table, 0);
    char *after = content_of(v.path);
    if (strcmp(before, after) != 0)
        fail_msg("%s: a failed call changed the store:\n%s\n---\n%s", c->name, before, after);
    free(before);
    free(after);
    if (c->setup)
        c->setup(&v, 1);
    if (c->run(&v, 1) != SFSM_OK)
        fail_msg("%s: after the table is back: %s", c->name, sfsm_errmsg());
    env_close(&v);
    test_store_remove(v.path);
}

static void test_missing_table_before_prepare(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++)
        check_missing_table(&reads[i], 0);
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++)
        check_missing_table(&writes[i], 0);
}

static void test_missing_table_after_prepare(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++)
        check_missing_table(&reads[i], 1);
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++)
        check_missing_table(&writes[i], 1);
}

/* ---- writes an application's trigger refuses ---- */

typedef struct trigger_case {
    const char *name;     /* of a writes[] case */
    const char *trigger;  /* "BEFORE <verb> ON <table>" */
    const char *what;
} trigger_case;

static const trigger_case refusals[] = {
    { "create", "BEFORE INSERT ON opp", "insert" },
    { "fire", "BEFORE UPDATE ON opp", "update" },
    { "fire", "BEFORE INSERT ON history", "append history" },
    { "save title", "BEFORE UPDATE ON opp", "update" },
    { "save attribute", "BEFORE DELETE ON opp_attr", "clear attributes" },
    { "save attribute", "BEFORE INSERT ON opp_attr", "write attribute" },
    { "import attribute", "BEFORE INSERT ON opp_attr", "write attribute" },
    { "import attribute", "BEFORE INSERT ON history", "append history" },
    { "team set", "BEFORE INSERT ON team_member", "team" },
    { "team remove", "BEFORE DELETE ON team_member", "team" },
    { "target set", "BEFORE INSERT ON target", "store target" },
    { "payment add", "BEFORE INSERT ON payment", "store payment" },
};

static const call_case *write_case(const char *name)
{
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++)
        if (strcmp(writes[i].name, name) == 0)
            return &writes[i];
    fail_msg("no write case '%s'", name);
    return NULL;
}

/* The write fails with ESTORAGE carrying the trigger's words, the store is
 * as it was, and without the trigger the same write works. */
static void test_trigger_refuses_writes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        const trigger_case *t = &refusals[i];
        const call_case *c = write_case(t->name);
        env v;
        memset(&v, 0, sizeof v);
        seed(&v);
        char sql[256];
        snprintf(sql, sizeof sql, "CREATE TRIGGER refuse %s BEGIN SELECT RAISE(ABORT, 'refused by policy'); END;",
                 t->trigger);
        exec_on(v.path, sql);
        env_open(&v);
        if (c->setup)
            c->setup(&v, 1);
        char *before = content_of(v.path);
        int rc = c->run(&v, 1);
        if (rc != SFSM_ESTORAGE)
            fail_msg("%s / %s: rc %d (%s), expected ESTORAGE", t->name, t->trigger, rc, sfsm_errmsg());
        assert_msg_has(t->what);
        assert_msg_has("refused by policy");
        char *after = content_of(v.path);
        if (strcmp(before, after) != 0)
            fail_msg("%s / %s: a refused write changed the store:\n%s\n---\n%s", t->name, t->trigger, before, after);
        free(before);
        free(after);
        exec_on(v.path, "DROP TRIGGER refuse;");
        if (c->setup)
            c->setup(&v, 1);
        if (c->run(&v, 1) != SFSM_OK)
            fail_msg("%s: without the trigger: %s", t->name, sfsm_errmsg());
        env_close(&v);
        test_store_remove(v.path);
    }
}

/* ---- a batch SQLite rolled back ---- */

/* A trigger's RAISE(ROLLBACK) (standing in for disk full or an I/O error)
 * undoes the whole batch inside SQLite while a team is stored. From then on
 * every call in the batch, read or write, is refused instead of reading or
 * writing outside the batch; the commit fails; nothing of the batch stays;
 * afterwards the store works. */
static void test_broken_batch_refuses_every_call(void **state)
{
    (void)state;
    env v;
    memset(&v, 0, sizeof v);
    seed(&v);
    exec_on(v.path, "CREATE TRIGGER boom BEFORE INSERT ON team_member WHEN NEW.team = 'boom'"
                    " BEGIN SELECT RAISE(ROLLBACK, 'disk full (simulated)'); END;");
    env_open(&v);
    char *before = content_of(v.path);
    OK(sfsm_engine_begin(v.e));
    OK(do_create(&v, 7));
    assert_int_equal(sfsm_team_set(v.e, "jo", "boom"), SFSM_ESTORAGE);
    assert_msg_has("disk full");
    static int (*const calls[])(env *, int) = {
        do_open, do_scan_all, do_scan_owner, do_history, do_team_list, do_target_list, do_payment_list,
        do_report_history, do_report_payments, do_team_set, do_team_remove, do_target_set, do_payment_add,
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        int rc = calls[i](&v, 1);
        if (rc != SFSM_ESTORAGE)
            fail_msg("call %zu in the broken batch: rc %d (%s)", i, rc, sfsm_errmsg());
        assert_msg_has("rolled back by SQLite");
    }
    assert_int_equal(sfsm_engine_commit(v.e), SFSM_ESTORAGE);
    assert_msg_has("rolled back by SQLite");
    char *after = content_of(v.path);
    assert_string_equal(after, before);
    free(after);
    OK(do_create(&v, 7));
    OK(do_team_set(&v, 1));
    env_close(&v);
    test_store_remove(v.path);
    free(before);
}

/* The same inside a save that holds a savepoint of its own (attributes):
 * the save fails, later writes of the batch are refused, the commit rolls
 * the batch back, and nothing of it stays. */
static void test_broken_save_in_batch(void **state)
{
    (void)state;
    env v;
    memset(&v, 0, sizeof v);
    seed(&v);
    exec_on(v.path, "CREATE TRIGGER boom BEFORE INSERT ON opp_attr WHEN NEW.value = 'boom'"
                    " BEGIN SELECT RAISE(ROLLBACK, 'disk full (simulated)'); END;");
    env_open(&v);
    char *before = content_of(v.path);
    OK(sfsm_engine_begin(v.e));
    OK(do_create(&v, 7));
    open_won(&v, 0);
    OK(sfsm_opp_set_attr(v.o, "region", "boom"));
    assert_int_equal(sfsm_opp_save(v.e, v.o), SFSM_ESTORAGE);
    assert_msg_has("disk full");
    assert_int_equal(do_create(&v, 8), SFSM_ESTORAGE);
    assert_int_equal(sfsm_engine_commit(v.e), SFSM_ESTORAGE);
    char *after = content_of(v.path);
    assert_string_equal(after, before);
    free(before);
    free(after);
    OK(do_create(&v, 7));
    env_close(&v);
    test_store_remove(v.path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_table_before_prepare),
        cmocka_unit_test(test_missing_table_after_prepare),
        cmocka_unit_test(test_trigger_refuses_writes),
        cmocka_unit_test(test_broken_batch_refuses_every_call),
        cmocka_unit_test(test_broken_save_in_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
