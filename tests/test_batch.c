/* Batches (engine.h): sfsm_engine_begin/commit/rollback group fires,
 * creates and saves into one storage transaction; announcing hooks run at
 * commit with t->opp NULL, and a rollback discards data and notifications. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

typedef struct recorder {
    call calls[128];
    size_t n;
    const char *veto_event; /* before hooks refuse this event */
    const char *veto_why;
} recorder;

static void record(char kind, const sfsm_transition *t, recorder *r)
{
    if (r->n >= sizeof r->calls / sizeof r->calls[0])
        fail_msg("too many hook calls");
    call_fill(&r->calls[r->n++], kind, t);
}

static int before_fn(const sfsm_transition *t, void *ud, char *why, size_t why_size)
{
    recorder *r = ud;
    record('b', t, r);
    if (r->veto_event && strcmp(t->event, r->veto_event) == 0) {
        snprintf(why, why_size, "%s", r->veto_why);
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

static void hook_all(fixture *f, recorder *r)
{
    assert_int_equal(sfsm_engine_on_before(f->engine, NULL, before_fn, r), SFSM_OK);
    assert_int_equal(sfsm_engine_on_exit(f->engine, NULL, exit_fn, r), SFSM_OK);
    assert_int_equal(sfsm_engine_on_enter(f->engine, NULL, enter_fn, r), SFSM_OK);
    assert_int_equal(sfsm_engine_on_after(f->engine, NULL, after_fn, r), SFSM_OK);
}

static size_t count_kind(const recorder *r, char kind)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->calls[i].kind == kind;
    return n;
}

static size_t announcing(const recorder *r)
{
    return count_kind(r, 'x') + count_kind(r, 'n') + count_kind(r, 'a');
}

/* The k-th call (0-based) of one kind. */
static const call *nth_of_kind(const recorder *r, char kind, size_t k)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->calls[i].kind == kind && k-- == 0)
            return &r->calls[i];
    fail_msg("no call %zu of kind %c", k, kind);
    return NULL;
}

/* Stage and version as stored (through a fresh handle). */
static void assert_stored(fixture *f, const char *id, const char *stage, uint64_t version)
{
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_open(f->engine, id, &o), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), stage);
    assert_int_equal(sfsm_opp_version(o), version);
    sfsm_opp_free(o);
    assert_int_equal(history_count(f->engine, id), version);
}

/* ---- commit ---- */

static void test_commit(void **state)
{
    fixture *f = *state;
    recorder rec;
    memset(&rec, 0, sizeof rec);
    sfsm_opp *a = fixture_opp(f, "A", NULL);
    sfsm_opp *b = fixture_opp(f, "B", NULL);
    sfsm_opp *c = fixture_opp(f, "C", "qualify", "quote", NULL);
    hook_all(f, &rec);

    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_OK);
    static const struct {
        const char *id, *event, *from, *to, *note;
        uint64_t version;
    } fires[] = {
        { "A", "qualify", "lead", "qualified", NULL, 2 },
        { "B", "qualify", "lead", "qualified", "call notes", 2 },
        { "B", "quote", "qualified", "quoted", NULL, 3 },
        { "C", "lose", "quoted", "lost", "budget frozen", 4 },
    };
    int64_t at[4];
    for (size_t i = 0; i < 4; i++) {
        sfsm_opp *o = fires[i].id[0] == 'A' ? a : fires[i].id[0] == 'B' ? b : c;
        f->now += DAY_MS;
        at[i] = f->now;
        assert_int_equal(sfsm_fire(f->engine, o, fires[i].event, &REP, fires[i].note), SFSM_OK);
        /* The handle shows the result at once. */
        assert_string_equal(sfsm_opp_stage(o), fires[i].to);
        assert_int_equal(sfsm_opp_version(o), fires[i].version);
        assert_int_equal(sfsm_opp_stage_entered(o), f->now);
    }
    /* A save and a create in the same batch. */
    assert_int_equal(sfsm_opp_set_title(a, "batch title"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(f->engine, a), SFSM_OK);
    assert_int_equal(sfsm_opp_version(a), 3);
    sfsm_opp *d = NULL;
    assert_int_equal(sfsm_opp_create(f->engine, "D", &d), SFSM_OK);

    /* Before hooks ran at fire time (they can veto); nothing announced yet. */
    assert_int_equal(count_kind(&rec, 'b'), 4);
    assert_int_equal(announcing(&rec), 0);

    f->now += DAY_MS;
    assert_int_equal(sfsm_engine_commit(f->engine), SFSM_OK);

    assert_int_equal(count_kind(&rec, 'x'), 4);
    assert_int_equal(count_kind(&rec, 'n'), 4);
    assert_int_equal(count_kind(&rec, 'a'), 4);
    static const char kinds[] = { 'x', 'n', 'a' };
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < 4; i++) {
            const call *cl = nth_of_kind(&rec, kinds[k], i);
            assert_false(cl->has_opp);
            assert_string_equal(cl->opp_id, fires[i].id);
            assert_string_equal(cl->event, fires[i].event);
            assert_string_equal(cl->from, fires[i].from);
            assert_string_equal(cl->to, fires[i].to);
            assert_string_equal(cl->actor, REP.name);
            assert_string_equal(cl->note, fires[i].note ? fires[i].note : NULL_MARK);
            assert_int_equal(cl->version, fires[i].version);
            assert_int_equal(cl->at_ms, at[i]);
        }
    }

    /* Everything is stored. */
    assert_stored(f, "A", "qualified", 3);
    assert_stored(f, "B", "quoted", 3);
    assert_stored(f, "C", "lost", 4);
    assert_stored(f, "D", "lead", 1);
    last_entry l;
    read_last(f, "C", &l);
    assert_int_equal(l.kind, SFSM_HISTORY_TRANSITION);
    assert_string_equal(l.event, "lose");
    assert_string_equal(l.note, "budget frozen");
    assert_int_equal(l.at_ms, at[3]);
    read_last(f, "B", &l);
    assert_string_equal(l.event, "quote");
    assert_string_equal(l.from, "qualified");
    assert_string_equal(l.to, "quoted");
    read_last(f, "A", &l);
    assert_int_equal(l.kind, SFSM_HISTORY_UPDATE);
    sfsm_opp *chk = NULL;
    assert_int_equal(sfsm_opp_open(f->engine, "A", &chk), SFSM_OK);
    assert_string_equal(sfsm_opp_title(chk), "batch title");
    sfsm_opp_free(chk);

    /* The batch is over: the handles go on normally, hooks at once. */
    assert_int_equal(sfsm_engine_commit(f->engine), SFSM_EINVAL);
    rec.n = 0;
    assert_int_equal(sfsm_fire(f->engine, b, "negotiate", &REP, NULL), SFSM_OK);
    assert_int_equal(announcing(&rec), 3);
    assert_true(rec.calls[rec.n - 1].has_opp);
    assert_stored(f, "B", "negotiating", 4);

    sfsm_opp_free(a);
    sfsm_opp_free(b);
    sfsm_opp_free(c);
    sfsm_opp_free(d);
}

/* ---- rollback ---- */

static void test_rollback(void **state)
{
    fixture *f = *state;
    recorder rec;
    memset(&rec, 0, sizeof rec);
    sfsm_opp *a = fixture_opp(f, "A", NULL);
    sfsm_opp *b = fixture_opp(f, "B", "qualify", NULL);
    hook_all(f, &rec);

    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_OK);
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, a, "qualify", &REP, NULL), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, a, "quote", &REP, NULL), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, b, "quote", &REP, NULL), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(a), "quoted");
    assert_int_equal(sfsm_opp_version(a), 3);
    assert_int_equal(sfsm_engine_rollback(f->engine), SFSM_OK);

    /* The store is as before. */
    assert_stored(f, "A", "lead", 1);
    assert_stored(f, "B", "qualified", 2);
    assert_int_equal(announcing(&rec), 0);

    /* The handles are ahead of the store: their next write conflicts. */
    rec.n = 0;
    assert_int_equal(sfsm_fire(f->engine, a, "negotiate", &REP, NULL), SFSM_ECONFLICT);
    assert_int_equal(announcing(&rec), 0);
    assert_string_equal(sfsm_opp_stage(a), "quoted"); /* a failed fire changes no handle */
    assert_int_equal(sfsm_opp_set_title(b, "late"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(f->engine, b), SFSM_ECONFLICT);
    assert_stored(f, "A", "lead", 1);
    assert_stored(f, "B", "qualified", 2);

    /* Reopened handles work; only their own transitions are announced. */
    sfsm_opp_free(a);
    sfsm_opp_free(b);
    assert_int_equal(sfsm_opp_open(f->engine, "A", &a), SFSM_OK);
    assert_int_equal(sfsm_opp_open(f->engine, "B", &b), SFSM_OK);
    rec.n = 0;
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, a, "qualify", &REP, NULL), SFSM_OK);
    assert_int_equal(announcing(&rec), 3);
    assert_string_equal(nth_of_kind(&rec, 'a', 0)->opp_id, "A");
    assert_string_equal(nth_of_kind(&rec, 'a', 0)->event, "qualify");
    assert_stored(f, "A", "qualified", 2);

    /* A later batch announces only its own fires, not the discarded ones. */
    rec.n = 0;
    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, b, "quote", &MANAGER, NULL), SFSM_OK);
    assert_int_equal(sfsm_engine_commit(f->engine), SFSM_OK);
    assert_int_equal(count_kind(&rec, 'a'), 1);
    assert_int_equal(count_kind(&rec, 'x'), 1);
    assert_int_equal(count_kind(&rec, 'n'), 1);
    assert_string_equal(nth_of_kind(&rec, 'a', 0)->opp_id, "B");
    assert_string_equal(nth_of_kind(&rec, 'a', 0)->actor, MANAGER.name);
    assert_stored(f, "B", "quoted", 3);
    sfsm_opp_free(a);
    sfsm_opp_free(b);
}

/* ---- misuse ---- */

static void test_begin_commit_rollback_misuse(void **state)
{
    fixture *f = *state;
    assert_int_equal(sfsm_engine_commit(f->engine), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_rollback(f->engine), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_begin(NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_commit(NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_rollback(NULL), SFSM_EINVAL);

    sfsm_opp *a = fixture_opp(f, "A", NULL);
    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, a, "qualify", &REP, NULL), SFSM_OK);
    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_EBUSY);
    /* The open batch is unharmed by the refused begin. */
    assert_int_equal(sfsm_fire(f->engine, a, "quote", &REP, NULL), SFSM_OK);
    assert_int_equal(sfsm_engine_commit(f->engine), SFSM_OK);
    assert_stored(f, "A", "quoted", 3);
    assert_int_equal(sfsm_engine_commit(f->engine), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_rollback(f->engine), SFSM_EINVAL);

    /* Same after a rollback. */
    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_OK);
    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_EBUSY);
    assert_int_equal(sfsm_engine_rollback(f->engine), SFSM_OK);
    assert_int_equal(sfsm_engine_rollback(f->engine), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_commit(f->engine), SFSM_EINVAL);
    assert_stored(f, "A", "quoted", 3);
    sfsm_opp_free(a);
}

static int64_t clock_of(void *ud)
{
    return ((fixture *)ud)->now;
}

static void test_second_engine_cannot_begin(void **state)
{
    fixture *f = *state;
    sfsm_engine *e2 = NULL;
    assert_int_equal(sfsm_engine_new(&e2, f->pipeline, f->store), SFSM_OK);
    assert_int_equal(sfsm_engine_set_clock(e2, clock_of, f), SFSM_OK);
    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_OK);
    assert_int_equal(sfsm_engine_begin(e2), SFSM_EBUSY);
    assert_int_equal(sfsm_engine_rollback(f->engine), SFSM_OK);
    /* Free again: e2 may batch now. */
    assert_int_equal(sfsm_engine_begin(e2), SFSM_OK);
    assert_int_equal(sfsm_engine_commit(e2), SFSM_OK);
    sfsm_engine_free(e2);
}

static void test_free_engine_rolls_back(void **state)
{
    fixture *f = *state;
    sfsm_opp *a = fixture_opp(f, "A", NULL);
    sfsm_opp_free(a);
    sfsm_engine *e2 = NULL;
    assert_int_equal(sfsm_engine_new(&e2, f->pipeline, f->store), SFSM_OK);
    assert_int_equal(sfsm_engine_set_clock(e2, clock_of, f), SFSM_OK);
    assert_int_equal(sfsm_engine_begin(e2), SFSM_OK);
    assert_int_equal(sfsm_opp_open(e2, "A", &a), SFSM_OK);
    assert_int_equal(sfsm_fire(e2, a, "qualify", &REP, NULL), SFSM_OK);
    sfsm_opp *g = NULL;
    assert_int_equal(sfsm_opp_create(e2, "G", &g), SFSM_OK);
    sfsm_opp_free(g);
    sfsm_engine_free(e2); /* open batch: rolled back */
    assert_stored(f, "A", "lead", 1);
    assert_int_equal(sfsm_opp_open(f->engine, "G", &g), SFSM_ENOTFOUND);
    assert_null(g);
    /* The handle is ahead of the store now. */
    assert_int_equal(sfsm_fire(f->engine, a, "quote", &REP, NULL), SFSM_ECONFLICT);
    sfsm_opp_free(a);
}

static int count_cb(const sfsm_history_entry *h, void *ud)
{
    (void)h;
    (*(int *)ud)++;
    return 0;
}

static void test_create_then_rollback(void **state)
{
    fixture *f = *state;
    recorder rec;
    memset(&rec, 0, sizeof rec);
    hook_all(f, &rec);
    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_OK);
    sfsm_opp *g = NULL;
    assert_int_equal(sfsm_opp_create(f->engine, "ghost", &g), SFSM_OK);
    assert_int_equal(sfsm_opp_set_customer(g, "Umbrella"), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, g, "qualify", &REP, NULL), SFSM_OK);
    sfsm_opp *h = NULL;
    assert_int_equal(sfsm_opp_create(f->engine, NULL, &h), SFSM_OK);
    char gen_id[SFSM_MAX_ID + 1];
    snprintf(gen_id, sizeof gen_id, "%s", sfsm_opp_id(h));
    assert_int_equal(sfsm_engine_rollback(f->engine), SFSM_OK);

    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_open(f->engine, "ghost", &o), SFSM_ENOTFOUND);
    assert_null(o);
    assert_int_equal(sfsm_opp_open(f->engine, gen_id, &o), SFSM_ENOTFOUND);
    int n = 0;
    assert_int_equal(sfsm_opp_history(f->engine, "ghost", count_cb, &n), SFSM_ENOTFOUND);
    assert_int_equal(n, 0);
    assert_int_equal(announcing(&rec), 0);
    /* The handle of the vanished opportunity cannot write (it is ahead of
     * a store that no longer has it) and brings nothing back. */
    assert_int_equal(sfsm_opp_set_amount(g, 1000, "CNY"), SFSM_OK);
    int rc = sfsm_fire(f->engine, g, "quote", &REP, NULL);
    assert_true(rc == SFSM_ECONFLICT || rc == SFSM_ENOTFOUND);
    assert_int_equal(sfsm_opp_open(f->engine, "ghost", &o), SFSM_ENOTFOUND);
    sfsm_opp_free(g);
    sfsm_opp_free(h);

    /* The id is free again. */
    assert_int_equal(sfsm_opp_create(f->engine, "ghost", &o), SFSM_OK);
    assert_int_equal(sfsm_opp_version(o), 1);
    assert_int_equal(history_count(f->engine, "ghost"), 1);
    sfsm_opp_free(o);
}

/* ---- refusals inside a batch ---- */

static const char VETO_WHY[] = "legal has not approved the contract yet";

static void test_refused_fire_in_batch(void **state)
{
    fixture *f = *state;
    recorder rec;
    memset(&rec, 0, sizeof rec);
    rec.veto_event = "sign";
    rec.veto_why = VETO_WHY;

    sfsm_opp *a = fixture_opp(f, "A", NULL);
    sfsm_opp *b = NULL;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "B";
    opts.customer = "Hooli";
    assert_int_equal(sfsm_opp_create_ext(f->engine, &opts, &b), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, b, "qualify", &REP, NULL), SFSM_OK); /* no amount */
    sfsm_opp *c = fixture_opp(f, "C", "qualify", "quote", "negotiate", NULL);
    sfsm_opp *d = fixture_opp(f, "D", "qualify", "quote", NULL);
    sfsm_opp *e = fixture_opp(f, "E", NULL);
    hook_all(f, &rec);

    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_OK);
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, a, "qualify", &REP, NULL), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, b, "quote", &REP, NULL), SFSM_EGUARD);
    assert_int_equal(sfsm_fire(f->engine, c, "sign", &REP, "PO 4711"), SFSM_EVETO);
    assert_string_equal(sfsm_errmsg(), VETO_WHY);
    assert_int_equal(sfsm_fire(f->engine, e, "qualify", &SUPPORT, NULL), SFSM_EPERM);
    assert_int_equal(sfsm_fire(f->engine, e, "deliver", &MANAGER, NULL), SFSM_ETRANSITION);
    assert_int_equal(sfsm_fire(f->engine, d, "lose", &REP, "chose a competitor"), SFSM_OK);
    /* The refused handles are unchanged. */
    assert_string_equal(sfsm_opp_stage(b), "qualified");
    assert_int_equal(sfsm_opp_version(b), 2);
    assert_string_equal(sfsm_opp_stage(c), "negotiating");
    assert_int_equal(sfsm_opp_version(c), 4);
    assert_string_equal(sfsm_opp_stage(e), "lead");
    assert_int_equal(sfsm_opp_version(e), 1);
    assert_int_equal(announcing(&rec), 0);
    assert_int_equal(sfsm_engine_commit(f->engine), SFSM_OK);

    assert_stored(f, "A", "qualified", 2);
    assert_stored(f, "B", "qualified", 2);
    assert_stored(f, "C", "negotiating", 4);
    assert_stored(f, "D", "lost", 4);
    assert_stored(f, "E", "lead", 1);
    /* Announced: A and D only, in that order. */
    assert_int_equal(count_kind(&rec, 'a'), 2);
    assert_int_equal(announcing(&rec), 6);
    assert_string_equal(nth_of_kind(&rec, 'a', 0)->opp_id, "A");
    assert_string_equal(nth_of_kind(&rec, 'a', 1)->opp_id, "D");
    assert_string_equal(nth_of_kind(&rec, 'a', 1)->event, "lose");
    assert_string_equal(nth_of_kind(&rec, 'x', 1)->from, "quoted");
    assert_string_equal(nth_of_kind(&rec, 'n', 1)->to, "lost");

    /* The refused handles were never ahead of the store: they go on. */
    assert_int_equal(sfsm_opp_set_amount(b, 50000, "CNY"), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, b, "quote", &REP, NULL), SFSM_OK);
    rec.veto_event = NULL;
    assert_int_equal(sfsm_fire(f->engine, c, "sign", &REP, NULL), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, e, "qualify", &REP, NULL), SFSM_OK);
    assert_stored(f, "B", "quoted", 3);
    assert_stored(f, "C", "signed", 5);
    assert_stored(f, "E", "qualified", 2);

    sfsm_opp_free(a);
    sfsm_opp_free(b);
    sfsm_opp_free(c);
    sfsm_opp_free(d);
    sfsm_opp_free(e);
}

/* ---- hooks and batches ---- */

typedef struct batch_probe {
    fixture *f;
    int rc_commit, rc_rollback;
    int rc_open_b, rc_fire_b;
    int acted;
    recorder *rec;
} batch_probe;

static int commit_from_before(const sfsm_transition *t, void *ud, char *why, size_t why_size)
{
    batch_probe *bp = ud;
    (void)t;
    (void)why;
    (void)why_size;
    bp->rc_commit = sfsm_engine_commit(bp->f->engine);
    bp->rc_rollback = sfsm_engine_rollback(bp->f->engine);
    return 0;
}

static void test_commit_rollback_from_hook(void **state)
{
    fixture *f = *state;
    batch_probe bp;
    memset(&bp, 0, sizeof bp);
    bp.f = f;
    bp.rc_commit = bp.rc_rollback = 99;
    assert_int_equal(sfsm_engine_on_before(f->engine, NULL, commit_from_before, &bp), SFSM_OK);
    sfsm_opp *a = fixture_opp(f, "A", NULL);
    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, a, "qualify", &REP, NULL), SFSM_OK);
    assert_int_equal(bp.rc_commit, SFSM_EBUSY);
    assert_int_equal(bp.rc_rollback, SFSM_EBUSY);
    /* The batch is still open and still ours to finish. */
    assert_int_equal(sfsm_fire(f->engine, a, "quote", &REP, NULL), SFSM_OK);
    assert_int_equal(sfsm_engine_commit(f->engine), SFSM_OK);
    assert_stored(f, "A", "quoted", 3);
    sfsm_opp_free(a);
}

/* An after hook delivered at commit may fire on another opportunity. */
static void fire_b_at_commit(const sfsm_transition *t, void *ud)
{
    batch_probe *bp = ud;
    if (strcmp(t->opp_id, "A") != 0 || bp->acted)
        return;
    bp->acted = 1;
    sfsm_opp *b = NULL;
    bp->rc_open_b = sfsm_opp_open(bp->f->engine, "B", &b);
    if (b) {
        bp->rc_fire_b = sfsm_fire(bp->f->engine, b, "qualify", &REP, "follow-up of A");
        sfsm_opp_free(b);
    }
}

static void test_hook_at_commit_fires_other(void **state)
{
    fixture *f = *state;
    recorder rec;
    memset(&rec, 0, sizeof rec);
    batch_probe bp;
    memset(&bp, 0, sizeof bp);
    bp.f = f;
    bp.rc_open_b = bp.rc_fire_b = 99;
    sfsm_opp *a = fixture_opp(f, "A", NULL);
    sfsm_opp *b0 = fixture_opp(f, "B", NULL);
    sfsm_opp_free(b0);
    assert_int_equal(sfsm_engine_on_after(f->engine, NULL, fire_b_at_commit, &bp), SFSM_OK);
    hook_all(f, &rec);

    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, a, "qualify", &REP, NULL), SFSM_OK);
    assert_false(bp.acted);
    assert_int_equal(sfsm_engine_commit(f->engine), SFSM_OK);
    assert_true(bp.acted);
    assert_int_equal(bp.rc_open_b, SFSM_OK);
    assert_int_equal(bp.rc_fire_b, SFSM_OK);
    assert_stored(f, "A", "qualified", 2);
    assert_stored(f, "B", "qualified", 2);
    /* Both transitions were announced, A's at commit, B's as it happened. */
    assert_int_equal(count_kind(&rec, 'a'), 2);
    int seen_a = 0, seen_b = 0;
    for (size_t i = 0; i < rec.n; i++) {
        if (rec.calls[i].kind != 'a')
            continue;
        if (strcmp(rec.calls[i].opp_id, "A") == 0) {
            seen_a++;
            assert_false(rec.calls[i].has_opp);
        } else {
            seen_b++;
            assert_string_equal(rec.calls[i].opp_id, "B");
            assert_string_equal(rec.calls[i].note, "follow-up of A");
        }
    }
    assert_int_equal(seen_a, 1);
    assert_int_equal(seen_b, 1);
    sfsm_opp_free(a);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

/* A scan callback must not reach into the store it is reading, batch or no
 * batch: creating, committing or rolling back from it is refused. */
typedef struct scan_probe {
    sfsm_engine *e;
    int create_rc, commit_rc, rollback_rc, visits;
} scan_probe;

static int probe_cb(const sfsm_opp *o, void *ud)
{
    (void)o;
    scan_probe *p = ud;
    sfsm_opp *n = NULL;
    p->create_rc = sfsm_opp_create(p->e, NULL, &n);
    sfsm_opp_free(n);
    p->commit_rc = sfsm_engine_commit(p->e);
    p->rollback_rc = sfsm_engine_rollback(p->e);
    p->visits++;
    return p->visits >= 10;   /* a runaway scan would keep going */
}

static void test_scan_callback_cannot_write_in_batch(void **state)
{
    fixture *f = *state;
    sfsm_opp *o = fixture_opp(f, "seen", NULL);
    sfsm_opp_free(o);
    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_OK);
    scan_probe p = { f->engine, 0, 0, 0, 0 };
    assert_int_equal(sfsm_scan(f->engine, NULL, probe_cb, &p), SFSM_OK);
    assert_int_equal(p.visits, 1);
    assert_int_equal(p.create_rc, SFSM_EBUSY);
    assert_int_equal(p.commit_rc, SFSM_EBUSY);
    assert_int_equal(p.rollback_rc, SFSM_EBUSY);
    assert_int_equal(sfsm_engine_commit(f->engine), SFSM_OK);
    assert_int_equal(count_opps(f->engine, NULL), 1);
}

/* A second engine of the same thread cannot write into the first one's
 * open batch: its write would vanish with that batch's rollback. */
static void test_other_engine_write_during_batch(void **state)
{
    fixture *f = *state;
    sfsm_engine *b = NULL;
    assert_int_equal(sfsm_engine_new(&b, f->pipeline, f->store), SFSM_OK);
    sfsm_opp *o = fixture_opp(f, "shared", NULL);
    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_OK);
    sfsm_opp *n = NULL;
    assert_int_equal(sfsm_opp_create(b, "from-b", &n), SFSM_EBUSY);
    assert_null(n);
    assert_int_equal(sfsm_fire(b, o, "qualify", &REP, NULL), SFSM_EBUSY);
    assert_non_null(strstr(sfsm_errmsg(), "batch"));
    assert_int_equal(sfsm_opp_version(o), 1);
    assert_int_equal(sfsm_engine_migrate(b, NULL, NULL, NULL, NULL), SFSM_EBUSY);
    assert_int_equal(sfsm_engine_rollback(f->engine), SFSM_OK);
    /* after the batch, engine b writes normally */
    assert_int_equal(sfsm_fire(b, o, "qualify", &REP, NULL), SFSM_OK);
    sfsm_opp_free(o);
    sfsm_engine_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_commit),
        T(test_rollback),
        T(test_begin_commit_rollback_misuse),
        T(test_second_engine_cannot_begin),
        T(test_free_engine_rolls_back),
        T(test_create_then_rollback),
        T(test_refused_fire_in_batch),
        T(test_commit_rollback_from_hook),
        T(test_hook_at_commit_fires_other),
        T(test_scan_callback_cannot_write_in_batch),
        T(test_other_engine_write_during_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
