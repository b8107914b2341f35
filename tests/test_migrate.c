/* Pipelines over the years: a store checked against the pipeline an engine
 * brings, and opportunities moved to a newer version of it. */
#include "testutil.h"
#include "deals_versions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct world {
    sfsm_pipeline *v1, *v2, *v3;
    sfsm_store *store;
    char path[256];
    int64_t now;
} world;

static int64_t clock_of(void *ud)
{
    return ((world *)ud)->now;
}

static sfsm_engine *engine(world *w, const sfsm_pipeline *p)
{
    sfsm_engine *e = NULL;
    int rc = sfsm_engine_new(&e, p, w->store);
    if (rc)
        fail_msg("sfsm_engine_new: %s", sfsm_errmsg());
    assert_int_equal(sfsm_engine_set_clock(e, clock_of, w), SFSM_OK);
    return e;
}

/* Under version 1: a at lead, b at review (twice: b1, b2), c quoted. */
static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->now = T0_MS;
    w->v1 = deals_load(DEALS_V1);
    w->v2 = deals_load(DEALS_V2);
    w->v3 = deals_load(DEALS_V3);
    test_store_open(&w->store, w->path);
    sfsm_engine *e = engine(w, w->v1);
    static const struct { const char *id; const char *events[3]; } opps[] = {
        { "a", { NULL } }, { "b1", { "review", NULL } }, { "b2", { "review", NULL } }, { "c", { "review", "quote", NULL } },
    };
    for (size_t i = 0; i < sizeof opps / sizeof opps[0]; i++) {
        sfsm_opp *o = NULL;
        assert_int_equal(sfsm_opp_create(e, opps[i].id, &o), SFSM_OK);
        for (size_t k = 0; opps[i].events[k]; k++)
            assert_int_equal(sfsm_fire(e, o, opps[i].events[k], &SELLER, NULL), SFSM_OK);
        sfsm_opp_free(o);
    }
    sfsm_engine_free(e);
    w->now += DAY_MS;
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    sfsm_store_close(w->store);
    test_store_remove(w->path);
    sfsm_pipeline_free(w->v1);
    sfsm_pipeline_free(w->v2);
    sfsm_pipeline_free(w->v3);
    free(w);
    return 0;
}

static void test_engine_refuses_unmapped_stages(void **state)
{
    world *w = *state;
    sfsm_engine *e = (sfsm_engine *)w;
    assert_int_equal(sfsm_engine_new(&e, w->v3, w->store), SFSM_EVERSION);
    assert_null(e);
    const char *msg = sfsm_errmsg();
    assert_non_null(strstr(msg, "'review' (2)"));
    assert_non_null(strstr(msg, "deals"));
    /* the pipeline it was written under, and the one that maps the stage, are fine */
    e = engine(w, w->v1);
    sfsm_engine_free(e);
    e = engine(w, w->v2);
    sfsm_engine_free(e);
}

typedef struct moved_list {
    char line[8][64];
    size_t n;
} moved_list;

static int on_moved(const char *id, uint32_t from_version, const char *from, const char *to, void *ud)
{
    moved_list *l = ud;
    assert_true(l->n < 8);
    snprintf(l->line[l->n++], 64, "%s v%u %s->%s", id, from_version, from, to);
    return 0;
}

typedef struct last {
    sfsm_history_entry h;
    char from[32], to[32], note[96];
} last;

static int keep_last(const sfsm_history_entry *h, void *ud)
{
    last *l = ud;
    l->h = *h;
    snprintf(l->from, sizeof l->from, "%s", h->from ? h->from : "");
    snprintf(l->to, sizeof l->to, "%s", h->to);
    snprintf(l->note, sizeof l->note, "%s", h->note ? h->note : "");
    return 0;
}

static void test_migrate_moves_and_records(void **state)
{
    world *w = *state;
    sfsm_engine *e = engine(w, w->v2);
    sfsm_opp *o = NULL;
    /* before the migration a reviewed deal cannot be loaded: its stage is gone */
    assert_int_equal(sfsm_opp_open(e, "b1", &o), SFSM_ESTORAGE);
    assert_non_null(strstr(sfsm_errmsg(), "review"));

    moved_list l = { .n = 0 };
    size_t moved = 0;
    assert_int_equal(sfsm_engine_migrate(e, &SELLER, on_moved, &l, &moved), SFSM_OK);
    assert_int_equal(moved, 4);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.line[0], "a v1 lead->lead");
    assert_string_equal(l.line[1], "b1 v1 review->qualified");
    assert_string_equal(l.line[2], "b2 v1 review->qualified");
    assert_string_equal(l.line[3], "c v1 quoted->quoted");

    assert_int_equal(sfsm_opp_open(e, "b1", &o), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "qualified");
    assert_int_equal(sfsm_opp_version(o), 3);
    assert_int_equal(sfsm_opp_stage_entered(o), w->now);
    last h;
    assert_int_equal(sfsm_opp_history(e, "b1", keep_last, &h), SFSM_OK);
    assert_int_equal(h.h.kind, SFSM_HISTORY_MIGRATE);
    assert_int_equal(h.h.version, 3);
    assert_string_equal(h.from, "review");
    assert_string_equal(h.to, "qualified");
    assert_non_null(strstr(h.note, "version 1 -> 2"));
    /* and it goes on under version 2 */
    assert_int_equal(sfsm_fire(e, o, "quote", &SELLER, NULL), SFSM_OK);
    sfsm_opp_free(o);

    /* a stage that stayed keeps its time in stage */
    assert_int_equal(sfsm_opp_open(e, "c", &o), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "quoted");
    assert_int_equal(sfsm_opp_stage_entered(o), T0_MS);
    sfsm_opp_free(o);

    /* a second run finds nothing left to move */
    assert_int_equal(sfsm_engine_migrate(e, NULL, NULL, NULL, &moved), SFSM_OK);
    assert_int_equal(moved, 0);
    sfsm_engine_free(e);

    /* version 3 has no 'qualified' and maps nothing from version 2: b2 sits there
     * (b1 moved on to quoted) */
    sfsm_engine *e3 = (sfsm_engine *)w;
    assert_int_equal(sfsm_engine_new(&e3, w->v3, w->store), SFSM_EVERSION);
    assert_non_null(strstr(sfsm_errmsg(), "'qualified' (1)"));
}

/* A migrated history (with stages of the old version before the migrate
 * entry) exports and imports into a fresh store under version 2. */
static void test_migrated_history_round_trips(void **state)
{
    world *w = *state;
    sfsm_engine *e = engine(w, w->v2);
    assert_int_equal(sfsm_engine_migrate(e, NULL, NULL, NULL, NULL), SFSM_OK);
    char *doc = NULL;
    size_t len = 0;
    assert_int_equal(sfsm_export_json_string(e, NULL, &doc, &len), SFSM_OK);
    assert_non_null(strstr(doc, "\"migrate\""));
    sfsm_engine_free(e);

    sfsm_store *s2 = NULL;
    char path2[256];
    test_store_open(&s2, path2);
    sfsm_engine *e2 = NULL;
    assert_int_equal(sfsm_engine_new(&e2, w->v2, s2), SFSM_OK);
    size_t count = 0;
    int rc = sfsm_import_json(e2, doc, len, &count);
    if (rc)
        fail_msg("import: %s", sfsm_errmsg());
    assert_int_equal(count, 4);
    char *again = NULL;
    assert_int_equal(sfsm_export_json_string(e2, NULL, &again, NULL), SFSM_OK);
    assert_string_equal(doc, again);
    sfsm_free(doc);
    sfsm_free(again);
    sfsm_engine_free(e2);
    sfsm_store_close(s2);
    test_store_remove(path2);
}

/* Opportunities of another pipeline sharing the store are left alone. */
static void test_other_pipelines_ignored(void **state)
{
    world *w = *state;
    sfsm_pipeline *dflt = NULL;
    assert_int_equal(sfsm_pipeline_default(&dflt), SFSM_OK);
    sfsm_engine *d = engine(w, dflt);   /* the store holds 'deals' opportunities at 'review' */
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(d, "default-1", &o), SFSM_OK);
    sfsm_opp_free(o);
    sfsm_engine_free(d);
    sfsm_engine *e = engine(w, w->v2);
    size_t moved = 0;
    assert_int_equal(sfsm_engine_migrate(e, NULL, NULL, NULL, &moved), SFSM_OK);
    assert_int_equal(moved, 4);
    assert_int_equal(history_count(e, "default-1"), 1);
    /* this engine neither lists, opens nor exports the other pipeline's deals */
    assert_int_equal(count_opps(e, NULL), 4);
    assert_int_equal(sfsm_opp_open(e, "default-1", &o), SFSM_EINVAL);
    assert_null(o);
    assert_non_null(strstr(sfsm_errmsg(), "belongs to pipeline 'default'"));
    char *doc = NULL;
    assert_int_equal(sfsm_export_json_string(e, NULL, &doc, NULL), SFSM_OK);
    assert_null(strstr(doc, "default-1"));
    assert_non_null(strstr(doc, "\"b1\""));
    sfsm_free(doc);
    sfsm_engine_free(e);
    /* and the other way round */
    d = engine(w, dflt);
    assert_int_equal(count_opps(d, NULL), 1);
    sfsm_engine_free(d);
    sfsm_pipeline_free(dflt);
}

static int from_hook_rc;

static void migrate_from_hook(const sfsm_transition *t, void *ud)
{
    (void)t;
    from_hook_rc = sfsm_engine_migrate(ud, NULL, NULL, NULL, NULL);
}

static void test_migrate_arguments(void **state)
{
    world *w = *state;
    size_t moved = 7;
    assert_int_equal(sfsm_engine_migrate(NULL, NULL, NULL, NULL, &moved), SFSM_EINVAL);
    assert_int_equal(moved, 0);
    sfsm_engine *e = engine(w, w->v1);
    sfsm_actor ghost = { "Ghost", "ceo" };
    assert_int_equal(sfsm_engine_migrate(e, &ghost, NULL, NULL, NULL), SFSM_ENOTFOUND);
    assert_int_equal(sfsm_engine_on_after(e, NULL, migrate_from_hook, e), SFSM_OK);
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_open(e, "a", &o), SFSM_OK);
    assert_int_equal(sfsm_fire(e, o, "review", &SELLER, NULL), SFSM_OK);
    assert_int_equal(from_hook_rc, SFSM_EBUSY);
    sfsm_opp_free(o);
    /* under its own version there is nothing to migrate */
    assert_int_equal(sfsm_engine_migrate(e, NULL, NULL, NULL, &moved), SFSM_OK);
    assert_int_equal(moved, 0);
    sfsm_engine_free(e);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_engine_refuses_unmapped_stages),
        T(test_migrate_moves_and_records),
        T(test_migrated_history_round_trips),
        T(test_other_pipelines_ignored),
        T(test_migrate_arguments),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
