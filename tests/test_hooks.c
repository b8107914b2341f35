/* Hooks (engine.h): order before → exit → enter → after, filters,
 * registration order, user data, what a hook sees, vetoes, refusals that run
 * no announcing hook, registration errors and re-entrancy. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

/* ---- a recorder shared by the hooks of one test ---- */

typedef struct recorder {
    call calls[64];
    size_t n;
} recorder;

typedef struct hook {
    recorder *rec;
    const char *tag;
    int veto;            /* before hooks: refuse when set */
    const char *why;     /* text to write when refusing; NULL: none */
} hook;

static void record(char kind, const sfsm_transition *t, hook *h)
{
    recorder *r = h->rec;
    if (r->n >= sizeof r->calls / sizeof r->calls[0])
        fail_msg("too many hook calls");
    call *c = &r->calls[r->n++];
    call_fill(c, kind, t);
    c->tag = h->tag;
    c->ud = h;
}

static int before_fn(const sfsm_transition *t, void *ud, char *why, size_t why_size)
{
    hook *h = ud;
    record('b', t, h);
    if (h->veto) {
        if (h->why)
            snprintf(why, why_size, "%s", h->why);
        return 1;
    }
    return 0;
}

static void exit_fn(const sfsm_transition *t, void *ud)
{
    record('x', t, ud);
}

static void enter_fn(const sfsm_transition *t, void *ud)
{
    record('n', t, ud);
}

static void after_fn(const sfsm_transition *t, void *ud)
{
    record('a', t, ud);
}

/* "b:tag x:tag ..." for the recorded calls. */
static void sequence(const recorder *r, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->n && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%c:%s", i ? " " : "", r->calls[i].kind,
                                r->calls[i].tag);
}

#define ASSERT_SEQUENCE(rec, want)                                                                 \
    do {                                                                                           \
        char seq_[1024];                                                                           \
        sequence((rec), seq_, sizeof seq_);                                                        \
        assert_string_equal(seq_, (want));                                                         \
    } while (0)

/* Registers one hook of each kind, all unfiltered, all recording into r. */
static void hook_all(fixture *f, recorder *r, hook h[4])
{
    static const char *const tags[4] = { "before", "exit", "enter", "after" };
    for (int i = 0; i < 4; i++) {
        h[i].rec = r;
        h[i].tag = tags[i];
        h[i].veto = 0;
        h[i].why = NULL;
    }
    assert_int_equal(sfsm_engine_on_before(f->engine, NULL, before_fn, &h[0]), SFSM_OK);
    assert_int_equal(sfsm_engine_on_exit(f->engine, NULL, exit_fn, &h[1]), SFSM_OK);
    assert_int_equal(sfsm_engine_on_enter(f->engine, NULL, enter_fn, &h[2]), SFSM_OK);
    assert_int_equal(sfsm_engine_on_after(f->engine, NULL, after_fn, &h[3]), SFSM_OK);
}

/* ---- order, filters, user data, contents ---- */

static void test_order_of_kinds(void **state)
{
    fixture *f = *state;
    recorder rec = { .n = 0 };
    hook a = { &rec, "A", 0, NULL }, n = { &rec, "N", 0, NULL }, x = { &rec, "X", 0, NULL },
         b = { &rec, "B", 0, NULL };
    /* Registered in reverse: the order of kinds is fixed, not by registration. */
    assert_int_equal(sfsm_engine_on_after(f->engine, NULL, after_fn, &a), SFSM_OK);
    assert_int_equal(sfsm_engine_on_enter(f->engine, NULL, enter_fn, &n), SFSM_OK);
    assert_int_equal(sfsm_engine_on_exit(f->engine, NULL, exit_fn, &x), SFSM_OK);
    assert_int_equal(sfsm_engine_on_before(f->engine, NULL, before_fn, &b), SFSM_OK);
    sfsm_opp *o = fixture_opp(f, "order", NULL);
    assert_int_equal(rec.n, 0); /* creating is not a transition */
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &REP, NULL), SFSM_OK);
    ASSERT_SEQUENCE(&rec, "b:B x:X n:N a:A");
    assert_int_equal(sfsm_fire(f->engine, o, "quote", &REP, NULL), SFSM_OK);
    ASSERT_SEQUENCE(&rec, "b:B x:X n:N a:A b:B x:X n:N a:A");
    sfsm_opp_free(o);
}

static void test_registration_order_and_user_data(void **state)
{
    fixture *f = *state;
    recorder rec = { .n = 0 };
    hook h[7] = {
        { &rec, "b1", 0, NULL }, { &rec, "b2", 0, NULL }, { &rec, "b3", 0, NULL },
        { &rec, "x1", 0, NULL }, { &rec, "x2", 0, NULL }, { &rec, "a1", 0, NULL },
        { &rec, "a2", 0, NULL },
    };
    /* Interleaved kinds; within a kind registration order must hold. */
    assert_int_equal(sfsm_engine_on_before(f->engine, NULL, before_fn, &h[0]), SFSM_OK);
    assert_int_equal(sfsm_engine_on_after(f->engine, NULL, after_fn, &h[5]), SFSM_OK);
    assert_int_equal(sfsm_engine_on_exit(f->engine, NULL, exit_fn, &h[3]), SFSM_OK);
    assert_int_equal(sfsm_engine_on_before(f->engine, NULL, before_fn, &h[1]), SFSM_OK);
    assert_int_equal(sfsm_engine_on_after(f->engine, NULL, after_fn, &h[6]), SFSM_OK);
    assert_int_equal(sfsm_engine_on_exit(f->engine, "lead", exit_fn, &h[4]), SFSM_OK);
    assert_int_equal(sfsm_engine_on_before(f->engine, "qualify", before_fn, &h[2]), SFSM_OK);
    sfsm_opp *o = fixture_opp(f, "regorder", NULL);
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &MANAGER, NULL), SFSM_OK);
    ASSERT_SEQUENCE(&rec, "b:b1 b:b2 b:b3 x:x1 x:x2 a:a1 a:a2");
    /* Each hook got its own user data. */
    for (size_t i = 0; i < rec.n; i++) {
        const hook *want = NULL;
        for (size_t j = 0; j < 7; j++)
            if (strcmp(h[j].tag, rec.calls[i].tag) == 0)
                want = &h[j];
        assert_non_null(want);
        assert_ptr_equal(rec.calls[i].ud, want);
    }
    sfsm_opp_free(o);
}

static void test_filters(void **state)
{
    fixture *f = *state;
    recorder rec = { .n = 0 };
    hook bq = { &rec, "bq", 0, NULL }, ball = { &rec, "b*", 0, NULL };
    hook aq = { &rec, "aq", 0, NULL }, aall = { &rec, "a*", 0, NULL };
    hook xl = { &rec, "xl", 0, NULL }, xall = { &rec, "x*", 0, NULL };
    hook xq = { &rec, "xq", 0, NULL };
    hook nq = { &rec, "nq", 0, NULL }, nall = { &rec, "n*", 0, NULL };
    hook nqd = { &rec, "nqd", 0, NULL };
    assert_int_equal(sfsm_engine_on_before(f->engine, "quote", before_fn, &bq), SFSM_OK);
    assert_int_equal(sfsm_engine_on_before(f->engine, NULL, before_fn, &ball), SFSM_OK);
    assert_int_equal(sfsm_engine_on_after(f->engine, "quote", after_fn, &aq), SFSM_OK);
    assert_int_equal(sfsm_engine_on_after(f->engine, NULL, after_fn, &aall), SFSM_OK);
    assert_int_equal(sfsm_engine_on_exit(f->engine, "lead", exit_fn, &xl), SFSM_OK);
    assert_int_equal(sfsm_engine_on_exit(f->engine, NULL, exit_fn, &xall), SFSM_OK);
    assert_int_equal(sfsm_engine_on_exit(f->engine, "qualified", exit_fn, &xq), SFSM_OK);
    assert_int_equal(sfsm_engine_on_enter(f->engine, "quoted", enter_fn, &nq), SFSM_OK);
    assert_int_equal(sfsm_engine_on_enter(f->engine, NULL, enter_fn, &nall), SFSM_OK);
    assert_int_equal(sfsm_engine_on_enter(f->engine, "qualified", enter_fn, &nqd), SFSM_OK);

    sfsm_opp *o = fixture_opp(f, "filters", NULL);
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &MANAGER, NULL), SFSM_OK);
    ASSERT_SEQUENCE(&rec, "b:b* x:xl x:x* n:n* n:nqd a:a*");
    rec.n = 0;
    assert_int_equal(sfsm_fire(f->engine, o, "quote", &MANAGER, NULL), SFSM_OK);
    ASSERT_SEQUENCE(&rec, "b:bq b:b* x:x* x:xq n:nq n:n* a:aq a:a*");
    rec.n = 0;
    assert_int_equal(sfsm_fire(f->engine, o, "negotiate", &MANAGER, NULL), SFSM_OK);
    ASSERT_SEQUENCE(&rec, "b:b* x:x* n:n* a:a*");
    rec.n = 0;
    /* requote leads back into quoted: the enter filter is by stage. */
    assert_int_equal(sfsm_fire(f->engine, o, "requote", &MANAGER, NULL), SFSM_OK);
    ASSERT_SEQUENCE(&rec, "b:b* x:x* n:nq n:n* a:a*");
    sfsm_opp_free(o);
}

static void test_transition_contents(void **state)
{
    fixture *f = *state;
    recorder rec = { .n = 0 };
    hook h[4];
    hook_all(f, &rec, h);
    sfsm_opp *o = fixture_opp(f, "contents", NULL);
    uint64_t v = sfsm_opp_version(o);
    f->now += 5 * DAY_MS + 123;
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &REP, "met the buyer"), SFSM_OK);
    ASSERT_SEQUENCE(&rec, "b:before x:exit n:enter a:after");
    for (size_t i = 0; i < rec.n; i++) {
        const call *c = &rec.calls[i];
        assert_string_equal(c->opp_id, "contents");
        assert_string_equal(c->event, "qualify");
        assert_string_equal(c->from, "lead");
        assert_string_equal(c->to, "qualified");
        assert_string_equal(c->actor, REP.name);
        assert_string_equal(c->role, "rep");
        assert_string_equal(c->note, "met the buyer");
        assert_int_equal(c->version, v + 1);
        assert_int_equal(c->at_ms, f->now);
        assert_true(c->has_opp);
        if (c->kind == 'b') {
            assert_string_equal(c->opp_stage, "lead");
            assert_int_equal(c->opp_version, v);
        } else {
            assert_string_equal(c->opp_stage, "qualified");
            assert_int_equal(c->opp_version, v + 1);
        }
    }

    /* No note: NULL; the before hook sees the unsaved amount. */
    rec.n = 0;
    assert_int_equal(sfsm_opp_set_amount(o, 4400, "EUR"), SFSM_OK);
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, o, "quote", &MANAGER, NULL), SFSM_OK);
    assert_int_equal(rec.n, 4);
    for (size_t i = 0; i < rec.n; i++) {
        const call *c = &rec.calls[i];
        assert_string_equal(c->note, NULL_MARK);
        assert_string_equal(c->event, "quote");
        assert_string_equal(c->actor, MANAGER.name);
        assert_string_equal(c->role, "manager");
        assert_int_equal(c->version, v + 2);
        assert_int_equal(c->at_ms, f->now);
        assert_int_equal(c->opp_amount, 4400);
        assert_string_equal(c->opp_stage, c->kind == 'b' ? "qualified" : "quoted");
    }
    sfsm_opp_free(o);
}

/* ---- refusals ---- */

static const char VETO_WHY[] = "credit hold: Acme Ltd has 3 overdue invoices";

static void test_veto(void **state)
{
    fixture *f = *state;
    recorder rec = { .n = 0 };
    hook b1 = { &rec, "b1", 0, NULL }, b2 = { &rec, "b2", 1, VETO_WHY },
         b3 = { &rec, "b3", 0, NULL };
    hook x = { &rec, "x", 0, NULL }, n = { &rec, "n", 0, NULL }, a = { &rec, "a", 0, NULL };
    assert_int_equal(sfsm_engine_on_before(f->engine, NULL, before_fn, &b1), SFSM_OK);
    assert_int_equal(sfsm_engine_on_before(f->engine, "quote", before_fn, &b2), SFSM_OK);
    assert_int_equal(sfsm_engine_on_before(f->engine, NULL, before_fn, &b3), SFSM_OK);
    assert_int_equal(sfsm_engine_on_exit(f->engine, NULL, exit_fn, &x), SFSM_OK);
    assert_int_equal(sfsm_engine_on_enter(f->engine, NULL, enter_fn, &n), SFSM_OK);
    assert_int_equal(sfsm_engine_on_after(f->engine, NULL, after_fn, &a), SFSM_OK);

    sfsm_opp *o = fixture_opp(f, "veto", "qualify", NULL);
    rec.n = 0;
    assert_int_equal(sfsm_opp_set_amount(o, 3000000, "CNY"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_title(o, "rush order"), SFSM_OK);
    snapshot before;
    snapshot_take(f->engine, o, &before);
    assert_int_equal(before.unsaved, SFSM_FIELD_AMOUNT | SFSM_FIELD_TITLE);
    assert_int_equal(before.stored_amount, 1200000);
    f->now += DAY_MS;

    assert_int_equal(sfsm_fire(f->engine, o, "quote", &MANAGER, NULL), SFSM_EVETO);
    assert_string_equal(sfsm_errmsg(), VETO_WHY);
    assert_int_equal(sfsm_errcode(), SFSM_EVETO);
    ASSERT_SEQUENCE(&rec, "b:b1 b:b2"); /* b3 and the announcing hooks did not run */
    assert_unchanged(f, o, &before);
    /* The unsaved changes are still on the handle, unsaved. */
    assert_int_equal(sfsm_opp_amount(o), 3000000);
    assert_string_equal(sfsm_opp_title(o), "rush order");
    assert_int_equal(sfsm_opp_unsaved(o), SFSM_FIELD_AMOUNT | SFSM_FIELD_TITLE);

    /* Veto without a text: still a veto. */
    b2.why = NULL;
    rec.n = 0;
    assert_int_equal(sfsm_fire(f->engine, o, "quote", &MANAGER, NULL), SFSM_EVETO);
    assert_true(sfsm_errmsg()[0] != '\0');
    ASSERT_SEQUENCE(&rec, "b:b1 b:b2");
    assert_unchanged(f, o, &before);

    /* Lifting the veto lets the same handle go through with its changes. */
    b2.veto = 0;
    rec.n = 0;
    assert_int_equal(sfsm_fire(f->engine, o, "quote", &MANAGER, NULL), SFSM_OK);
    ASSERT_SEQUENCE(&rec, "b:b1 b:b2 b:b3 x:x n:n a:a");
    assert_string_equal(sfsm_opp_stage(o), "quoted");
    assert_int_equal(sfsm_opp_version(o), before.version + 1);
    assert_int_equal(sfsm_opp_unsaved(o), 0);
    sfsm_opp *r = NULL;
    assert_int_equal(sfsm_opp_open(f->engine, "veto", &r), SFSM_OK);
    assert_int_equal(sfsm_opp_amount(r), 3000000);
    assert_string_equal(sfsm_opp_title(r), "rush order");
    sfsm_opp_free(r);
    sfsm_opp_free(o);
}

static int refusing_guard(const sfsm_transition *t, void *ud, char *why, size_t why_size)
{
    (void)t;
    (*(int *)ud)++;
    snprintf(why, why_size, "not in this quarter");
    return 1;
}

static void test_guard_refusal_runs_no_hook(void **state)
{
    fixture *f = *state;
    recorder rec = { .n = 0 };
    hook h[4];
    hook_all(f, &rec, h);
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(f->engine, "noguard", &o), SFSM_OK); /* no customer */
    assert_int_equal(sfsm_opp_set_owner(o, "li"), SFSM_OK);
    snapshot before;
    snapshot_take(f->engine, o, &before);
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &MANAGER, NULL), SFSM_EGUARD);
    assert_int_equal(rec.n, 0); /* guards run before before hooks */
    assert_unchanged(f, o, &before);

    /* Same with an application guard. */
    int calls = 0;
    assert_int_equal(sfsm_engine_register_guard(f->engine, "has_customer", refusing_guard, &calls),
                     SFSM_OK);
    assert_int_equal(sfsm_opp_set_customer(o, "Acme Ltd"), SFSM_OK);
    snapshot_take(f->engine, o, &before);
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &MANAGER, NULL), SFSM_EGUARD);
    assert_string_equal(sfsm_errmsg(), "not in this quarter");
    assert_int_equal(calls, 1);
    assert_int_equal(rec.n, 0);
    assert_unchanged(f, o, &before);
    sfsm_opp_free(o);
}

static void test_perm_and_stage_refusal_run_no_hook(void **state)
{
    fixture *f = *state;
    recorder rec = { .n = 0 };
    hook h[4];
    hook_all(f, &rec, h);
    sfsm_opp *o = fixture_opp(f, "noperm", NULL);
    assert_int_equal(sfsm_opp_set_title(o, "pending"), SFSM_OK);
    snapshot before;
    snapshot_take(f->engine, o, &before);
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &SUPPORT, NULL), SFSM_EPERM);
    assert_int_equal(rec.n, 0);
    assert_unchanged(f, o, &before);
    assert_int_equal(sfsm_fire(f->engine, o, "sign", &MANAGER, NULL), SFSM_ETRANSITION);
    assert_int_equal(rec.n, 0);
    assert_unchanged(f, o, &before);
    assert_int_equal(sfsm_fire(f->engine, o, "teleport", &MANAGER, NULL), SFSM_ENOTFOUND);
    assert_int_equal(rec.n, 0);
    assert_unchanged(f, o, &before);
    sfsm_opp_free(o);
}

/* ---- registration errors ---- */

static void test_register_errors(void **state)
{
    fixture *f = *state;
    recorder rec = { .n = 0 };
    hook h = { &rec, "bad", 0, NULL };
    sfsm_engine *e = f->engine;

    assert_int_equal(sfsm_engine_on_before(e, "teleport", before_fn, &h), SFSM_ENOTFOUND);
    assert_non_null(strstr(sfsm_errmsg(), "teleport"));
    assert_int_equal(sfsm_engine_on_after(e, "teleport", after_fn, &h), SFSM_ENOTFOUND);
    assert_non_null(strstr(sfsm_errmsg(), "teleport"));
    assert_int_equal(sfsm_engine_on_exit(e, "limbo", exit_fn, &h), SFSM_ENOTFOUND);
    assert_non_null(strstr(sfsm_errmsg(), "limbo"));
    assert_int_equal(sfsm_engine_on_enter(e, "limbo", enter_fn, &h), SFSM_ENOTFOUND);
    assert_non_null(strstr(sfsm_errmsg(), "limbo"));
    /* before/after filter by event, exit/enter by stage: not the other way. */
    assert_int_equal(sfsm_engine_on_before(e, "lead", before_fn, &h), SFSM_ENOTFOUND);
    assert_int_equal(sfsm_engine_on_after(e, "quoted", after_fn, &h), SFSM_ENOTFOUND);
    assert_int_equal(sfsm_engine_on_exit(e, "qualify", exit_fn, &h), SFSM_ENOTFOUND);
    assert_int_equal(sfsm_engine_on_enter(e, "quote", enter_fn, &h), SFSM_ENOTFOUND);

    assert_int_equal(sfsm_engine_on_before(e, NULL, NULL, &h), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_on_after(e, NULL, NULL, &h), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_on_exit(e, "lead", NULL, &h), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_on_enter(e, NULL, NULL, &h), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_on_before(NULL, NULL, before_fn, &h), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_on_after(NULL, NULL, after_fn, &h), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_on_exit(NULL, NULL, exit_fn, &h), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_on_enter(NULL, NULL, enter_fn, &h), SFSM_EINVAL);

    /* None of the failed registrations took effect. */
    sfsm_opp *o = fixture_opp(f, "regerr", "qualify", "quote", NULL);
    assert_int_equal(rec.n, 0);
    sfsm_opp_free(o);
}

/* ---- re-entrancy ---- */

typedef struct reentry {
    fixture *f;
    sfsm_opp *a;          /* A's handle, being fired */
    int in_before;        /* act in the before hook (else in the after hook) */
    int acted;
    int calls_for_b;
    int rc_create_b, rc_fire_b, rc_fire_b2;
    char b_stage[32];
    int rc_fire_a, rc_open_a, rc_fire_a2, rc_set_amount, rc_save;
    int rc_on_before, rc_on_after, rc_on_exit, rc_on_enter, rc_guard;
    char a2_stage[32];
} reentry;

static void noop_notify(const sfsm_transition *t, void *ud)
{
    (void)t;
    (void)ud;
}

static int noop_check(const sfsm_transition *t, void *ud, char *why, size_t why_size)
{
    (void)t;
    (void)ud;
    (void)why;
    (void)why_size;
    return 0;
}

static void reenter(const sfsm_transition *t, reentry *r)
{
    if (strcmp(t->opp_id, "B") == 0) {
        r->calls_for_b++;
        return;
    }
    if (strcmp(t->opp_id, "A") != 0 || r->acted)
        return;
    r->acted = 1;
    sfsm_engine *e = r->f->engine;

    /* Another opportunity: create, fire, fire again. */
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "B";
    opts.customer = "Initech";
    opts.amount = 5000;
    opts.currency = "CNY";
    sfsm_opp *b = NULL;
    r->rc_create_b = sfsm_opp_create_ext(e, &opts, &b);
    if (b) {
        r->rc_fire_b = sfsm_fire(e, b, "qualify", &REP, NULL);
        r->rc_fire_b2 = sfsm_fire(e, b, "quote", &REP, NULL);
        copy_str(r->b_stage, sizeof r->b_stage, sfsm_opp_stage(b));
        sfsm_opp_free(b);
    }

    /* A itself: its handle, a second handle, setters, save. */
    r->rc_fire_a = sfsm_fire(e, r->a, "lose", &MANAGER, "from a hook");
    sfsm_opp *a2 = NULL;
    r->rc_open_a = sfsm_opp_open(e, "A", &a2);
    if (a2) {
        copy_str(r->a2_stage, sizeof r->a2_stage, sfsm_opp_stage(a2));
        r->rc_fire_a2 = sfsm_fire(e, a2, "lose", &MANAGER, "from a hook");
        sfsm_opp_free(a2);
    }
    r->rc_set_amount = sfsm_opp_set_amount(r->a, 1, "CNY");
    r->rc_save = sfsm_opp_save(e, r->a);

    /* Registration while a transition runs. */
    r->rc_on_before = sfsm_engine_on_before(e, NULL, noop_check, NULL);
    r->rc_on_after = sfsm_engine_on_after(e, NULL, noop_notify, NULL);
    r->rc_on_exit = sfsm_engine_on_exit(e, NULL, noop_notify, NULL);
    r->rc_on_enter = sfsm_engine_on_enter(e, NULL, noop_notify, NULL);
    r->rc_guard = sfsm_engine_register_guard(e, "has_amount", noop_check, NULL);
}

static int reenter_before(const sfsm_transition *t, void *ud, char *why, size_t why_size)
{
    (void)why;
    (void)why_size;
    reentry *r = ud;
    if (r->in_before)
        reenter(t, r);
    return 0;
}

static void reenter_after(const sfsm_transition *t, void *ud)
{
    reentry *r = ud;
    if (!r->in_before)
        reenter(t, r);
}

static void run_reentry(fixture *f, int in_before)
{
    reentry r;
    memset(&r, 0, sizeof r);
    r.f = f;
    r.in_before = in_before;
    r.rc_create_b = r.rc_fire_b = r.rc_fire_b2 = 99;
    r.rc_fire_a = r.rc_open_a = r.rc_fire_a2 = r.rc_set_amount = r.rc_save = 99;
    r.rc_on_before = r.rc_on_after = r.rc_on_exit = r.rc_on_enter = r.rc_guard = 99;
    assert_int_equal(sfsm_engine_on_before(f->engine, NULL, reenter_before, &r), SFSM_OK);
    assert_int_equal(sfsm_engine_on_after(f->engine, NULL, reenter_after, &r), SFSM_OK);

    r.a = fixture_opp(f, "A", NULL);
    /* An unsaved change, so that a save from the hook has work to do. */
    assert_int_equal(sfsm_opp_set_title(r.a, "hooked"), SFSM_OK);
    int64_t amount = sfsm_opp_amount(r.a);
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, r.a, "qualify", &MANAGER, NULL), SFSM_OK);
    assert_true(r.acted);

    /* Other opportunities work from inside the hook. */
    assert_int_equal(r.rc_create_b, SFSM_OK);
    assert_int_equal(r.rc_fire_b, SFSM_OK);
    assert_int_equal(r.rc_fire_b2, SFSM_OK);
    assert_string_equal(r.b_stage, "quoted");
    assert_true(r.calls_for_b >= 2); /* B's own fires ran B's hooks */

    /* A is busy, whichever handle. */
    assert_int_equal(r.rc_fire_a, SFSM_EBUSY);
    assert_int_equal(r.rc_open_a, SFSM_OK);
    assert_string_equal(r.a2_stage, in_before ? "lead" : "qualified");
    assert_int_equal(r.rc_fire_a2, SFSM_EBUSY);
    assert_int_equal(r.rc_set_amount, SFSM_EBUSY);
    assert_int_equal(r.rc_save, SFSM_EBUSY);
    assert_int_equal(r.rc_on_before, SFSM_EBUSY);
    assert_int_equal(r.rc_on_after, SFSM_EBUSY);
    assert_int_equal(r.rc_on_exit, SFSM_EBUSY);
    assert_int_equal(r.rc_on_enter, SFSM_EBUSY);
    assert_int_equal(r.rc_guard, SFSM_EBUSY);

    /* A moved exactly once, with the title it had; the refused calls left
     * no trace. */
    assert_string_equal(sfsm_opp_stage(r.a), "qualified");
    assert_int_equal(sfsm_opp_version(r.a), 2);
    assert_int_equal(sfsm_opp_amount(r.a), amount);
    assert_int_equal(sfsm_opp_unsaved(r.a), 0);
    assert_int_equal(history_count(f->engine, "A"), 2);
    sfsm_opp *chk = NULL;
    assert_int_equal(sfsm_opp_open(f->engine, "A", &chk), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(chk), "qualified");
    assert_int_equal(sfsm_opp_version(chk), 2);
    assert_string_equal(sfsm_opp_title(chk), "hooked");
    assert_int_equal(sfsm_opp_amount(chk), amount);
    sfsm_opp_free(chk);

    /* B is stored. */
    assert_int_equal(sfsm_opp_open(f->engine, "B", &chk), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(chk), "quoted");
    assert_int_equal(sfsm_opp_version(chk), 3);
    sfsm_opp_free(chk);
    assert_int_equal(history_count(f->engine, "B"), 3);

    /* Registering the hook-time guard failed, so has_amount is still the
     * built-in: a zero amount is refused. */
    assert_int_equal(sfsm_opp_set_amount(r.a, 0, "CNY"), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, r.a, "quote", &MANAGER, NULL), SFSM_EGUARD);

    /* After sfsm_fire returned, A is free again. */
    assert_int_equal(sfsm_opp_set_amount(r.a, 8800, "CNY"), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, r.a, "quote", &MANAGER, NULL), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(r.a), "quoted");
    assert_int_equal(sfsm_opp_set_title(r.a, "after"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(f->engine, r.a), SFSM_OK);
    assert_int_equal(sfsm_opp_version(r.a), 4);
    sfsm_opp_free(r.a);
}

static void test_reentry_from_before_hook(void **state)
{
    run_reentry(*state, 1);
}

static void test_reentry_from_after_hook(void **state)
{
    run_reentry(*state, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_order_of_kinds),
        T(test_registration_order_and_user_data),
        T(test_filters),
        T(test_transition_contents),
        T(test_veto),
        T(test_guard_refusal_runs_no_hook),
        T(test_perm_and_stage_refusal_run_no_hook),
        T(test_register_errors),
        T(test_reentry_from_before_hook),
        T(test_reentry_from_after_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
