/* Allocation failure at every allocation in turn: each failing run returns
 * SFSM_ENOMEM, changes nothing and leaks nothing. */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) ((x) ? (x) : "(null)")
#define MAX_ALLOCS 100000L

/* State snapshots (opp_state) are made with the allocator disarmed. */

/* ---- the driver ---- */

typedef struct ctx {
    fixture *f;
    sfsm_opp *o;     /* the handle an operation works on, if any */
    sfsm_opp *out;   /* what a constructor produced */
    int hooks;       /* exit/enter/after calls */
    int which;       /* case selector */
} ctx;

typedef struct alloc_case {
    const char *name;
    void (*prepare)(ctx *c);
    int (*run)(ctx *c);
    void (*verify_ok)(ctx *c);
    void (*verify_failed)(ctx *c);   /* extra checks; may be NULL */
    int has_out;                     /* run() is a constructor writing c->out */
} alloc_case;

static void notify(const sfsm_transition *t, void *ud)
{
    (void)t;
    ((ctx *)ud)->hooks++;
}

static void drive(const alloc_case *k, int which)
{
    failalloc_install();
    long n;
    int succeeded = 0;
    for (n = 1; n < MAX_ALLOCS && !succeeded; n++) {
        ctx c;
        memset(&c, 0, sizeof c);
        c.which = which;
        c.f = fixture_new();
        assert_int_equal(sfsm_engine_on_exit(c.f->engine, NULL, notify, &c), SFSM_OK);
        assert_int_equal(sfsm_engine_on_enter(c.f->engine, NULL, notify, &c), SFSM_OK);
        assert_int_equal(sfsm_engine_on_after(c.f->engine, NULL, notify, &c), SFSM_OK);
        if (k->prepare)
            k->prepare(&c);
        c.hooks = 0;
        char *before = opp_state(c.f->engine, c.o);
        static int sentinel;
        c.out = (sfsm_opp *)(void *)&sentinel;

        failalloc_arm(n);
        int rc = k->run(&c);
        int failed = failalloc_failed();
        failalloc_arm(0);

        if (c.out == (sfsm_opp *)(void *)&sentinel) {
            if (k->has_out)
                fail_msg("%s[%d]: allocation #%ld: *out was not written (rc = %d)", k->name, which, n, rc);
            c.out = NULL;   /* the operation has no out-parameter */
        }
        if (failed) {
            if (rc != SFSM_ENOMEM)
                fail_msg("%s[%d]: allocation #%ld failed, but rc = %d (%s)", k->name, which, n, rc,
                         sfsm_errmsg());
            if (c.out != NULL)
                fail_msg("%s[%d]: allocation #%ld failed, but *out is not NULL", k->name, which, n);
            char *after = opp_state(c.f->engine, c.o);
            if (strcmp(before, after) != 0)
                fail_msg("%s[%d]: allocation #%ld failed and changed the state:\n before %s\n after  %s",
                         k->name, which, n, before, after);
            free(after);
            if (c.hooks != 0)
                fail_msg("%s[%d]: allocation #%ld failed, but %d hooks ran", k->name, which, n, c.hooks);
            if (k->verify_failed)
                k->verify_failed(&c);
        } else {
            if (rc != SFSM_OK)
                fail_msg("%s[%d]: no allocation failed (after %ld), but rc = %d (%s)", k->name, which,
                         failalloc_count(), rc, sfsm_errmsg());
            k->verify_ok(&c);
            succeeded = 1;
        }
        free(before);
        sfsm_opp_free(c.out);
        sfsm_opp_free(c.o);
        fixture_free(c.f);
        if (failalloc_live() != 0)
            fail_msg("%s[%d]: %ld blocks leaked (allocation #%ld %s)", k->name, which, failalloc_live(),
                     n, failed ? "failed" : "did not fail");
    }
    assert_true(succeeded);
    failalloc_uninstall();
}

/* ---- create ---- */

static int run_create(ctx *c)
{
    return sfsm_opp_create(c->f->engine, c->which ? NULL : "alloc-1", &c->out);
}

static void create_ok(ctx *c)
{
    assert_non_null(c->out);
    if (!c->which)
        assert_string_equal(sfsm_opp_id(c->out), "alloc-1");
    assert_int_equal(sfsm_opp_version(c->out), 1);
    assert_int_equal(history_count(c->f->engine, sfsm_opp_id(c->out)), 1);
}

static void create_failed(ctx *c)
{
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_open(c->f->engine, "alloc-1", &o), SFSM_ENOTFOUND);
    assert_null(o);
    /* The id is free: creating it now works. */
    assert_int_equal(sfsm_opp_create(c->f->engine, "alloc-1", &o), SFSM_OK);
    assert_int_equal(history_count(c->f->engine, "alloc-1"), 1);
    sfsm_opp_free(o);
}

static const alloc_case CREATE = { "sfsm_opp_create", NULL, run_create, create_ok, create_failed, 1 };

static void test_alloc_create(void **state)
{
    (void)state;
    drive(&CREATE, 0);
}

static void test_alloc_create_generated_id(void **state)
{
    (void)state;
    drive(&CREATE, 1);
}

static int run_create_ext(ctx *c)
{
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "alloc-1";
    opts.customer = "Acme Ltd";
    opts.owner = "ravi";
    opts.title = "Factory ERP";
    opts.amount = 1200000;
    opts.currency = "CNY";
    opts.expected_close_ms = T0_MS + 30 * DAY_MS;
    opts.actor = &REP;
    return sfsm_opp_create_ext(c->f->engine, &opts, &c->out);
}

static void create_ext_ok(ctx *c)
{
    assert_non_null(c->out);
    assert_string_equal(sfsm_opp_customer(c->out), "Acme Ltd");
    assert_string_equal(sfsm_opp_title(c->out), "Factory ERP");
    assert_string_equal(sfsm_opp_currency(c->out), "CNY");
    assert_int_equal(history_count(c->f->engine, "alloc-1"), 1);
}

static const alloc_case CREATE_EXT = { "sfsm_opp_create_ext", NULL, run_create_ext, create_ext_ok,
                                       create_failed, 1 };

static void test_alloc_create_ext(void **state)
{
    (void)state;
    drive(&CREATE_EXT, 0);
}

/* ---- setters ---- */

static void prepare_opp(ctx *c)
{
    c->o = fixture_opp(c->f, "alloc-o", NULL);
    assert_int_equal(sfsm_opp_set_attr(c->o, "keep", "1"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(c->o, "zone", "north"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(c->f->engine, c->o), SFSM_OK);
    /* One pending change, so that "unsaved bits unchanged" means something. */
    assert_int_equal(sfsm_opp_set_title(c->o, "pending"), SFSM_OK);
}

enum { SET_AMOUNT, SET_CUSTOMER, SET_OWNER, SET_TITLE, SET_CLOSE, SET_ATTR_NEW, SET_ATTR_REPLACE,
       SET_ATTR_REMOVE, SET_CLEAR_CUSTOMER, N_SETTERS };

static int run_setter(ctx *c)
{
    switch (c->which) {
    case SET_AMOUNT: return sfsm_opp_set_amount(c->o, 777700, "USD");
    case SET_CUSTOMER: return sfsm_opp_set_customer(c->o, "上海某某贸易有限公司 (Shanghai Trading Co.)");
    case SET_OWNER: return sfsm_opp_set_owner(c->o, "wang.fang");
    case SET_TITLE: return sfsm_opp_set_title(c->o, "A new and somewhat longer title for the deal");
    case SET_CLOSE: return sfsm_opp_set_expected_close(c->o, T0_MS + 45 * DAY_MS);
    case SET_ATTR_NEW: return sfsm_opp_set_attr(c->o, "客户编号", "KH-000123");
    case SET_ATTR_REPLACE: return sfsm_opp_set_attr(c->o, "keep", "a much longer replacement value");
    case SET_ATTR_REMOVE: return sfsm_opp_set_attr(c->o, "keep", NULL);
    case SET_CLEAR_CUSTOMER: return sfsm_opp_set_customer(c->o, NULL);
    }
    return SFSM_EINVAL;
}

static void setter_ok(ctx *c)
{
    sfsm_opp *o = c->o;
    uint32_t bit = 0;
    switch (c->which) {
    case SET_AMOUNT:
        assert_int_equal(sfsm_opp_amount(o), 777700);
        assert_string_equal(sfsm_opp_currency(o), "USD");
        bit = SFSM_FIELD_AMOUNT;
        break;
    case SET_CUSTOMER:
        assert_string_equal(sfsm_opp_customer(o), "上海某某贸易有限公司 (Shanghai Trading Co.)");
        bit = SFSM_FIELD_CUSTOMER;
        break;
    case SET_OWNER:
        assert_string_equal(sfsm_opp_owner(o), "wang.fang");
        bit = SFSM_FIELD_OWNER;
        break;
    case SET_TITLE:
        assert_string_equal(sfsm_opp_title(o), "A new and somewhat longer title for the deal");
        bit = SFSM_FIELD_TITLE;
        break;
    case SET_CLOSE:
        assert_int_equal(sfsm_opp_expected_close(o), T0_MS + 45 * DAY_MS);
        bit = SFSM_FIELD_EXPECTED_CLOSE;
        break;
    case SET_ATTR_NEW:
        assert_string_equal(sfsm_opp_attr(o, "客户编号"), "KH-000123");
        assert_int_equal(sfsm_opp_attr_count(o), 3);
        bit = SFSM_FIELD_ATTRS;
        break;
    case SET_ATTR_REPLACE:
        assert_string_equal(sfsm_opp_attr(o, "keep"), "a much longer replacement value");
        assert_int_equal(sfsm_opp_attr_count(o), 2);
        bit = SFSM_FIELD_ATTRS;
        break;
    case SET_ATTR_REMOVE:
        assert_null(sfsm_opp_attr(o, "keep"));
        assert_int_equal(sfsm_opp_attr_count(o), 1);
        bit = SFSM_FIELD_ATTRS;
        break;
    case SET_CLEAR_CUSTOMER:
        assert_null(sfsm_opp_customer(o));
        bit = SFSM_FIELD_CUSTOMER;
        break;
    }
    assert_int_equal(sfsm_opp_unsaved(o), SFSM_FIELD_TITLE | bit);
    /* And the change can be stored. */
    assert_int_equal(sfsm_opp_save(c->f->engine, o), SFSM_OK);
    assert_int_equal(sfsm_opp_version(o), 3);
}

static const alloc_case SETTER = { "setter", prepare_opp, run_setter, setter_ok, NULL, 0 };

static void test_alloc_setters(void **state)
{
    (void)state;
    for (int w = 0; w < N_SETTERS; w++)
        drive(&SETTER, w);
}

/* ---- save ---- */

static void prepare_save(ctx *c)
{
    prepare_opp(c);
    assert_int_equal(sfsm_opp_set_customer(c->o, "New Customer GmbH"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_amount(c->o, 5000, "EUR"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(c->o, "zone", "south"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(c->o, "added", "yes"), SFSM_OK);
    c->f->now += DAY_MS;
}

static int run_save(ctx *c)
{
    if (c->which)
        return sfsm_opp_save_as(c->f->engine, c->o, &ASSISTANT, "corrected after the call");
    return sfsm_opp_save(c->f->engine, c->o);
}

static void save_ok(ctx *c)
{
    assert_int_equal(sfsm_opp_version(c->o), 3);
    assert_int_equal(sfsm_opp_unsaved(c->o), 0);
    assert_int_equal(history_count(c->f->engine, "alloc-o"), 3);
    sfsm_opp *r = NULL;
    assert_int_equal(sfsm_opp_open(c->f->engine, "alloc-o", &r), SFSM_OK);
    assert_string_equal(sfsm_opp_customer(r), "New Customer GmbH");
    assert_string_equal(sfsm_opp_attr(r, "zone"), "south");
    assert_string_equal(sfsm_opp_title(r), "pending");
    sfsm_opp_free(r);
}

static void save_failed(ctx *c)
{
    /* The handle is still usable: the retry stores everything. */
    assert_int_equal(sfsm_opp_save(c->f->engine, c->o), SFSM_OK);
    assert_int_equal(sfsm_opp_version(c->o), 3);
}

static const alloc_case SAVE = { "sfsm_opp_save", prepare_save, run_save, save_ok, save_failed, 0 };

static void test_alloc_save(void **state)
{
    (void)state;
    drive(&SAVE, 0);
}

static void test_alloc_save_as(void **state)
{
    (void)state;
    drive(&SAVE, 1);
}

/* ---- fire ---- */

static void prepare_fire_clean(ctx *c)
{
    c->o = fixture_opp(c->f, "alloc-o", NULL);
    c->f->now += DAY_MS;
}

static void prepare_fire_dirty(ctx *c)
{
    prepare_opp(c);
    assert_int_equal(sfsm_opp_set_owner(c->o, "li.na"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(c->o, "stage-note", "met the CTO"), SFSM_OK);
    c->f->now += DAY_MS;
}

static int run_fire(ctx *c)
{
    if (c->which == 2)
        return sfsm_fire(c->f->engine, c->o, "lose", &REP, "the customer chose a competitor");
    return sfsm_fire(c->f->engine, c->o, "qualify", &REP, "first meeting went well");
}

static void fire_ok(ctx *c)
{
    const char *want = c->which == 2 ? "lost" : "qualified";
    assert_string_equal(sfsm_opp_stage(c->o), want);
    assert_int_equal(sfsm_opp_unsaved(c->o), 0);
    assert_int_equal(c->hooks, 3);
    sfsm_opp *r = NULL;
    assert_int_equal(sfsm_opp_open(c->f->engine, "alloc-o", &r), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(r), want);
    assert_int_equal(sfsm_opp_version(r), sfsm_opp_version(c->o));
    if (c->which == 1)
        assert_string_equal(sfsm_opp_owner(r), "li.na");
    sfsm_opp_free(r);
}

static void fire_failed(ctx *c)
{
    /* Nothing happened, so the same fire now succeeds. */
    assert_int_equal(run_fire(c), SFSM_OK);
    assert_int_equal(c->hooks, 3);
}

static const alloc_case FIRE_CLEAN = { "sfsm_fire (no unsaved changes)", prepare_fire_clean, run_fire,
                                       fire_ok, fire_failed, 0 };
static const alloc_case FIRE_DIRTY = { "sfsm_fire (unsaved changes)", prepare_fire_dirty, run_fire,
                                       fire_ok, fire_failed, 0 };

static void test_alloc_fire(void **state)
{
    (void)state;
    drive(&FIRE_CLEAN, 0);
}

static void test_alloc_fire_unsaved(void **state)
{
    (void)state;
    drive(&FIRE_DIRTY, 1);
}

static void test_alloc_fire_lose(void **state)
{
    (void)state;
    drive(&FIRE_DIRTY, 2);
}

/* ---- open ---- */

static void prepare_open(ctx *c)
{
    prepare_opp(c);
    sfsm_opp_free(c->o);
    c->o = NULL;
}

static int run_open(ctx *c)
{
    return sfsm_opp_open(c->f->engine, "alloc-o", &c->out);
}

static void open_ok(ctx *c)
{
    assert_non_null(c->out);
    assert_string_equal(sfsm_opp_id(c->out), "alloc-o");
    assert_string_equal(sfsm_opp_customer(c->out), "Acme Ltd");
    assert_string_equal(sfsm_opp_attr(c->out, "zone"), "north");
    assert_int_equal(sfsm_opp_version(c->out), 2);
}

static const alloc_case OPEN = { "sfsm_opp_open", prepare_open, run_open, open_ok, NULL, 1 };

static void test_alloc_open(void **state)
{
    (void)state;
    drive(&OPEN, 0);
}

/* ---- constructors of pipeline, store, engine ---- */

static void test_alloc_pipeline_default(void **state)
{
    (void)state;
    failalloc_install();
    int done = 0;
    for (long n = 1; n < MAX_ALLOCS && !done; n++) {
        static int sentinel;
        sfsm_pipeline *p = (sfsm_pipeline *)(void *)&sentinel;
        failalloc_arm(n);
        int rc = sfsm_pipeline_default(&p);
        int failed = failalloc_failed();
        failalloc_arm(0);
        if (failed) {
            if (rc != SFSM_ENOMEM)
                fail_msg("allocation #%ld failed, rc = %d", n, rc);
            assert_null(p);
        } else {
            assert_int_equal(rc, SFSM_OK);
            assert_non_null(p);
            assert_int_equal(sfsm_pipeline_stage_count(p), 8);
            assert_int_equal(sfsm_pipeline_event_count(p), 9);
            assert_string_equal(sfsm_pipeline_name(p), "default");
            done = 1;
            sfsm_pipeline_free(p);
        }
        if (failalloc_live() != 0)
            fail_msg("allocation #%ld: %ld blocks leaked", n, failalloc_live());
    }
    assert_true(done);
    failalloc_uninstall();
}

static void test_alloc_store_open_memory(void **state)
{
    (void)state;
    failalloc_install();
    int done = 0;
    for (long n = 1; n < MAX_ALLOCS && !done; n++) {
        static int sentinel;
        sfsm_store *s = (sfsm_store *)(void *)&sentinel;
        failalloc_arm(n);
        int rc = sfsm_store_open_memory(&s);
        int failed = failalloc_failed();
        failalloc_arm(0);
        if (failed) {
            if (rc != SFSM_ENOMEM)
                fail_msg("allocation #%ld failed, rc = %d", n, rc);
            assert_null(s);
        } else {
            assert_int_equal(rc, SFSM_OK);
            assert_non_null(s);
            /* It works. */
            sfsm_pipeline *p = NULL;
            sfsm_engine *e = NULL;
            sfsm_opp *o = NULL;
            assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
            assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
            assert_int_equal(sfsm_opp_create(e, "x", &o), SFSM_OK);
            sfsm_opp_free(o);
            sfsm_engine_free(e);
            sfsm_pipeline_free(p);
            done = 1;
        }
        sfsm_store_close(failed ? NULL : s);
        if (failalloc_live() != 0)
            fail_msg("allocation #%ld: %ld blocks leaked", n, failalloc_live());
    }
    assert_true(done);
    failalloc_uninstall();
}

static void test_alloc_engine_new(void **state)
{
    (void)state;
    failalloc_install();
    int done = 0;
    for (long n = 1; n < MAX_ALLOCS && !done; n++) {
        sfsm_pipeline *p = NULL;
        sfsm_store *s = NULL;
        assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
        assert_int_equal(sfsm_store_open_memory(&s), SFSM_OK);
        static int sentinel;
        sfsm_engine *e = (sfsm_engine *)(void *)&sentinel;
        failalloc_arm(n);
        int rc = sfsm_engine_new(&e, p, s);
        int failed = failalloc_failed();
        failalloc_arm(0);
        if (failed) {
            if (rc != SFSM_ENOMEM)
                fail_msg("allocation #%ld failed, rc = %d", n, rc);
            assert_null(e);
        } else {
            assert_int_equal(rc, SFSM_OK);
            assert_non_null(e);
            sfsm_opp *o = NULL;
            assert_int_equal(sfsm_opp_create(e, "x", &o), SFSM_OK);
            assert_int_equal(sfsm_opp_set_customer(o, "c"), SFSM_OK);
            assert_int_equal(sfsm_fire(e, o, "qualify", &REP, NULL), SFSM_OK);
            sfsm_opp_free(o);
            sfsm_engine_free(e);
            done = 1;
        }
        sfsm_store_close(s);
        sfsm_pipeline_free(p);
        if (failalloc_live() != 0)
            fail_msg("allocation #%ld: %ld blocks leaked", n, failalloc_live());
    }
    assert_true(done);
    failalloc_uninstall();
}

/* The library really allocates through the installed allocator, and frees
 * everything it allocated. */
static void test_alloc_goes_through_allocator(void **state)
{
    (void)state;
    failalloc_install();
    failalloc_arm(0);
    fixture *f = fixture_new();
    long after_fixture = failalloc_count();
    assert_true(after_fixture > 0);
    assert_true(failalloc_live() > 0);
    sfsm_opp *o = fixture_opp(f, "through", "qualify", "quote", NULL);
    assert_true(failalloc_count() > after_fixture);
    sfsm_opp_free(o);
    fixture_free(f);
    assert_int_equal(failalloc_live(), 0);
    failalloc_uninstall();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_goes_through_allocator),
        cmocka_unit_test(test_alloc_pipeline_default),
        cmocka_unit_test(test_alloc_store_open_memory),
        cmocka_unit_test(test_alloc_engine_new),
        cmocka_unit_test(test_alloc_create),
        cmocka_unit_test(test_alloc_create_generated_id),
        cmocka_unit_test(test_alloc_create_ext),
        cmocka_unit_test(test_alloc_setters),
        cmocka_unit_test(test_alloc_save),
        cmocka_unit_test(test_alloc_save_as),
        cmocka_unit_test(test_alloc_fire),
        cmocka_unit_test(test_alloc_fire_unsaved),
        cmocka_unit_test(test_alloc_fire_lose),
        cmocka_unit_test(test_alloc_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
