/* Optimistic writes: two handles on one opportunity, the second writer gets
 * SFSM_ECONFLICT and nothing changes; after reopening it succeeds. Also with
 * two engines on one store. */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) ((x) ? (x) : "(null)")

typedef struct counters {
    int before, after, exit, enter;
} counters;

static int on_before(const sfsm_transition *t, void *ud, char *why, size_t n)
{
    (void)t;
    (void)why;
    (void)n;
    ((counters *)ud)->before++;
    return 0;
}
static void on_after(const sfsm_transition *t, void *ud) { (void)t; ((counters *)ud)->after++; }
static void on_exit_(const sfsm_transition *t, void *ud) { (void)t; ((counters *)ud)->exit++; }
static void on_enter(const sfsm_transition *t, void *ud) { (void)t; ((counters *)ud)->enter++; }

static void hook_all(sfsm_engine *e, counters *c)
{
    assert_int_equal(sfsm_engine_on_before(e, NULL, on_before, c), SFSM_OK);
    assert_int_equal(sfsm_engine_on_after(e, NULL, on_after, c), SFSM_OK);
    assert_int_equal(sfsm_engine_on_exit(e, NULL, on_exit_, c), SFSM_OK);
    assert_int_equal(sfsm_engine_on_enter(e, NULL, on_enter, c), SFSM_OK);
}

static int64_t clock2(void *ud)
{
    return *(int64_t *)ud;
}

/* Two writers: e1/a wins, e2/b loses. e1 and e2 may be the same engine. */
typedef struct duel {
    fixture *f;
    sfsm_engine *e1, *e2;
    sfsm_pipeline *p2;   /* owned, when e2 has its own pipeline */
    int own_e2;
    int64_t now2;
} duel;

static void duel_init(duel *d, int mode)
{
    memset(d, 0, sizeof *d);
    d->f = fixture_new();
    d->e1 = d->f->engine;
    d->now2 = T0_MS;
    if (mode == 0) {
        d->e2 = d->e1;
        return;
    }
    const sfsm_pipeline *p = d->f->pipeline;
    if (mode == 2) {
        assert_int_equal(sfsm_pipeline_default(&d->p2), SFSM_OK);
        p = d->p2;
    }
    assert_int_equal(sfsm_engine_new(&d->e2, p, d->f->store), SFSM_OK);
    assert_int_equal(sfsm_engine_set_clock(d->e2, clock2, &d->now2), SFSM_OK);
    d->own_e2 = 1;
}

static void duel_free(duel *d)
{
    if (d->own_e2)
        sfsm_engine_free(d->e2);
    fixture_free(d->f);
    sfsm_pipeline_free(d->p2);
}

static void open2(duel *d, const char *id, sfsm_opp **a, sfsm_opp **b)
{
    assert_int_equal(sfsm_opp_open(d->e1, id, a), SFSM_OK);
    assert_int_equal(sfsm_opp_open(d->e2, id, b), SFSM_OK);
    assert_int_equal(sfsm_opp_version(*a), sfsm_opp_version(*b));
}

/* a saves, b saves → conflict; b reopens and saves. */
static void run_save_save(int mode)
{
    duel d;
    duel_init(&d, mode);
    sfsm_opp *o = fixture_opp(d.f, "c-1", NULL);
    sfsm_opp_free(o);
    sfsm_opp *a, *b;
    open2(&d, "c-1", &a, &b);

    assert_int_equal(sfsm_opp_set_title(a, "from a"), SFSM_OK);
    d.f->now += DAY_MS;
    assert_int_equal(sfsm_opp_save(d.e1, a), SFSM_OK);
    assert_int_equal(sfsm_opp_version(a), 2);

    assert_int_equal(sfsm_opp_set_owner(b, "from b"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(b, "b", "1"), SFSM_OK);
    char *b_before = opp_describe(b);
    char *s_before = opp_stored(d.e1, "c-1");
    d.now2 += 2 * DAY_MS;
    assert_int_equal(sfsm_opp_save(d.e2, b), SFSM_ECONFLICT);
    assert_non_null(strstr(sfsm_errmsg(), "c-1"));
    assert_same_and_free(opp_describe(b), b_before);
    assert_same_and_free(opp_stored(d.e1, "c-1"), s_before);
    /* b still shows its unsaved changes, on top of version 1. */
    assert_int_equal(sfsm_opp_version(b), 1);
    assert_int_equal(sfsm_opp_unsaved(b), SFSM_FIELD_OWNER | SFSM_FIELD_ATTRS);
    assert_string_equal(sfsm_opp_owner(b), "from b");
    /* Trying again does not help. */
    assert_int_equal(sfsm_opp_save_as(d.e2, b, &REP, "again"), SFSM_ECONFLICT);
    assert_same_and_free(opp_stored(d.e1, "c-1"), s_before);

    /* Reopen: sees a's change, and its own write now succeeds. */
    sfsm_opp_free(b);
    assert_int_equal(sfsm_opp_open(d.e2, "c-1", &b), SFSM_OK);
    assert_int_equal(sfsm_opp_version(b), 2);
    assert_string_equal(sfsm_opp_title(b), "from a");
    assert_int_equal(sfsm_opp_set_owner(b, "from b"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(d.e2, b), SFSM_OK);
    assert_int_equal(sfsm_opp_version(b), 3);
    assert_int_equal(history_count(d.e1, "c-1"), 3);

    /* Now a is the stale one. */
    assert_int_equal(sfsm_opp_set_title(a, "a again"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(d.e1, a), SFSM_ECONFLICT);
    assert_int_equal(sfsm_opp_version(a), 2);

    sfsm_opp *r = NULL;
    assert_int_equal(sfsm_opp_open(d.e1, "c-1", &r), SFSM_OK);
    assert_string_equal(sfsm_opp_title(r), "from a");
    assert_string_equal(sfsm_opp_owner(r), "from b");
    assert_int_equal(sfsm_opp_version(r), 3);
    sfsm_opp_free(r);
    free(b_before);
    free(s_before);
    sfsm_opp_free(a);
    sfsm_opp_free(b);
    duel_free(&d);
}

/* a fires, b fires the same event → conflict, no hooks; b reopens and
 * goes on from the new stage. */
static void run_fire_fire(int mode)
{
    duel d;
    duel_init(&d, mode);
    counters c1 = { 0 }, c2 = { 0 };
    hook_all(d.e1, &c1);
    counters *cb = &c1;
    if (d.e2 != d.e1) {
        hook_all(d.e2, &c2);
        cb = &c2;
    }
    sfsm_opp *o = fixture_opp(d.f, "c-2", NULL);
    sfsm_opp_free(o);
    sfsm_opp *a, *b;
    open2(&d, "c-2", &a, &b);
    memset(&c1, 0, sizeof c1);
    memset(&c2, 0, sizeof c2);

    assert_int_equal(sfsm_fire(d.e1, a, "qualify", &REP, NULL), SFSM_OK);
    assert_int_equal(c1.after, 1);
    counters cb_before = *cb;

    assert_int_equal(sfsm_opp_set_title(b, "b's title"), SFSM_OK);
    char *b_before = opp_describe(b);
    char *s_before = opp_stored(d.e1, "c-2");
    assert_int_equal(sfsm_fire(d.e2, b, "qualify", &REP, NULL), SFSM_ECONFLICT);
    assert_non_null(strstr(sfsm_errmsg(), "c-2"));
    assert_same_and_free(opp_describe(b), b_before);
    assert_same_and_free(opp_stored(d.e1, "c-2"), s_before);
    assert_string_equal(sfsm_opp_stage(b), "lead");
    assert_int_equal(sfsm_opp_version(b), 1);
    assert_int_equal(sfsm_opp_unsaved(b), SFSM_FIELD_TITLE);
    /* No exit/enter/after hook for the write that did not happen. */
    assert_int_equal(cb->after, cb_before.after);
    assert_int_equal(cb->exit, cb_before.exit);
    assert_int_equal(cb->enter, cb_before.enter);

    /* A different event allowed from b's (stale) stage conflicts too. */
    assert_int_equal(sfsm_fire(d.e2, b, "lose", &REP, "too slow"), SFSM_ECONFLICT);
    assert_same_and_free(opp_stored(d.e1, "c-2"), s_before);
    /* An event not allowed from b's stage is refused before the commit. */
    assert_int_equal(sfsm_fire(d.e2, b, "quote", &REP, NULL), SFSM_ETRANSITION);
    assert_int_equal(cb->after, cb_before.after);

    sfsm_opp_free(b);
    assert_int_equal(sfsm_opp_open(d.e2, "c-2", &b), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(b), "qualified");
    assert_int_equal(sfsm_opp_version(b), 2);
    assert_int_equal(sfsm_fire(d.e2, b, "quote", &REP, NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_version(b), 3);
    assert_int_equal(cb->after, cb_before.after + 1);
    assert_int_equal(history_count(d.e1, "c-2"), 3);

    /* And a, now stale, conflicts. */
    assert_int_equal(sfsm_fire(d.e1, a, "quote", &REP, NULL), SFSM_ECONFLICT);
    assert_string_equal(sfsm_opp_stage(a), "qualified");
    assert_int_equal(sfsm_opp_version(a), 2);
    assert_int_equal(history_count(d.e1, "c-2"), 3);

    free(b_before);
    free(s_before);
    sfsm_opp_free(a);
    sfsm_opp_free(b);
    duel_free(&d);
}

/* Mixed: a saves, b fires → conflict; a fires, b saves → conflict. */
static void run_mixed(int mode)
{
    duel d;
    duel_init(&d, mode);
    sfsm_opp *o = fixture_opp(d.f, "c-3", NULL);
    sfsm_opp_free(o);
    sfsm_opp *a, *b;
    open2(&d, "c-3", &a, &b);

    assert_int_equal(sfsm_opp_set_amount(a, 5, "EUR"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(d.e1, a), SFSM_OK);
    char *b_before = opp_describe(b);
    char *s_before = opp_stored(d.e1, "c-3");
    assert_int_equal(sfsm_fire(d.e2, b, "qualify", &MANAGER, NULL), SFSM_ECONFLICT);
    assert_same_and_free(opp_describe(b), b_before);
    assert_same_and_free(opp_stored(d.e1, "c-3"), s_before);
    free(b_before);
    free(s_before);

    sfsm_opp_free(b);
    assert_int_equal(sfsm_opp_open(d.e2, "c-3", &b), SFSM_OK);
    assert_int_equal(sfsm_opp_amount(b), 5);
    assert_int_equal(sfsm_fire(d.e1, a, "qualify", &MANAGER, NULL), SFSM_OK);

    assert_int_equal(sfsm_opp_set_customer(b, "Other"), SFSM_OK);
    b_before = opp_describe(b);
    s_before = opp_stored(d.e1, "c-3");
    assert_int_equal(sfsm_opp_save(d.e2, b), SFSM_ECONFLICT);
    assert_same_and_free(opp_describe(b), b_before);
    assert_same_and_free(opp_stored(d.e1, "c-3"), s_before);

    sfsm_opp_free(b);
    assert_int_equal(sfsm_opp_open(d.e2, "c-3", &b), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(b), "qualified");
    assert_int_equal(sfsm_opp_set_customer(b, "Other"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(d.e2, b), SFSM_OK);
    assert_int_equal(sfsm_opp_version(b), 4);
    assert_int_equal(history_count(d.e1, "c-3"), 4);
    free(b_before);
    free(s_before);
    sfsm_opp_free(a);
    sfsm_opp_free(b);
    duel_free(&d);
}

static void test_save_save_one_engine(void **state) { (void)state; run_save_save(0); }
static void test_save_save_two_engines(void **state) { (void)state; run_save_save(1); }
static void test_save_save_two_pipelines(void **state) { (void)state; run_save_save(2); }
static void test_fire_fire_one_engine(void **state) { (void)state; run_fire_fire(0); }
static void test_fire_fire_two_engines(void **state) { (void)state; run_fire_fire(1); }
static void test_fire_fire_two_pipelines(void **state) { (void)state; run_fire_fire(2); }
static void test_mixed_one_engine(void **state) { (void)state; run_mixed(0); }
static void test_mixed_two_engines(void **state) { (void)state; run_mixed(1); }

/* A conflict does not disturb other opportunities or the winner. */
static void test_conflict_is_per_opportunity(void **state)
{
    (void)state;
    fixture *f = fixture_new();
    sfsm_opp *x = fixture_opp(f, "x", NULL);
    sfsm_opp *y = fixture_opp(f, "y", NULL);
    sfsm_opp *x2 = NULL;
    assert_int_equal(sfsm_opp_open(f->engine, "x", &x2), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, x, "qualify", &REP, NULL), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, x2, "qualify", &REP, NULL), SFSM_ECONFLICT);
    /* Unrelated opportunity unaffected. */
    assert_int_equal(sfsm_fire(f->engine, y, "qualify", &REP, NULL), SFSM_OK);
    /* The winner goes on without reopening. */
    assert_int_equal(sfsm_fire(f->engine, x, "quote", &REP, NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_version(x), 3);
    assert_int_equal(sfsm_opp_version(x2), 1);
    assert_int_equal(history_count(f->engine, "x"), 3);
    assert_int_equal(history_count(f->engine, "y"), 2);
    sfsm_opp_free(x);
    sfsm_opp_free(x2);
    sfsm_opp_free(y);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_save_one_engine),
        cmocka_unit_test(test_save_save_two_engines),
        cmocka_unit_test(test_save_save_two_pipelines),
        cmocka_unit_test(test_fire_fire_one_engine),
        cmocka_unit_test(test_fire_fire_two_engines),
        cmocka_unit_test(test_fire_fire_two_pipelines),
        cmocka_unit_test(test_mixed_one_engine),
        cmocka_unit_test(test_mixed_two_engines),
        cmocka_unit_test(test_conflict_is_per_opportunity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
