/* NULL and invalid arguments on every public function: each returns
 * SFSM_EINVAL (or the documented value), never crashes, and changes
 * nothing. */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) ((x) ? (x) : "(null)")

/* Invalid UTF-8: a bad byte, a lone continuation byte, sequences cut short
 * (at the end and in the middle), an overlong '/', a UTF-16 surrogate and a
 * code point above U+10FFFF. */
static const char *const BAD_UTF8[] = {
    "\xff",
    "abc\xfe",
    "\x80",
    "ab\xe4\xb8",
    "\xe4\xb8x",
    "\xf0\x9f\x98",
    "\xc0\xaf",
    "\xe0\x80\xaf",
    "\xed\xa0\x80",
    "\xf4\x90\x80\x80",
};
#define NBAD (sizeof BAD_UTF8 / sizeof BAD_UTF8[0])

/* A string of n bytes: ASCII letters. Free with free(). */
static char *str_of(size_t n, char c)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* Repeats a (multi-byte) piece up to n bytes total, padding with 'x'. */
static char *utf8_of(size_t n, const char *piece)
{
    size_t pl = strlen(piece);
    char *s = malloc(n + 1);
    assert_non_null(s);
    size_t i = 0;
    while (i + pl <= n) {
        memcpy(s + i, piece, pl);
        i += pl;
    }
    while (i < n)
        s[i++] = 'x';
    s[n] = '\0';
    return s;
}

static int hist_cb(const sfsm_history_entry *h, void *ud)
{
    (void)h;
    (void)ud;
    return 0;
}

static int check_ok(const sfsm_transition *t, void *ud, char *why, size_t n)
{
    (void)t;
    (void)why;
    (void)n;
    (*(int *)ud)++;
    return 0;
}

static void notify_count(const sfsm_transition *t, void *ud)
{
    (void)t;
    (*(int *)ud)++;
}

static int64_t fixed_clock(void *ud)
{
    (void)ud;
    return 42;
}

/* ---- common.h ---- */

static void test_common_functions(void **state)
{
    (void)state;
    sfsm_free(NULL);
    assert_non_null(sfsm_strerror(-1000));
    assert_non_null(sfsm_errmsg());
    assert_non_null(sfsm_version());
    sfsm_allocator half = { malloc, NULL, free };
    assert_int_equal(sfsm_set_allocator(&half), SFSM_EINVAL);
}

/* ---- pipeline.h ---- */

static void test_pipeline_args(void **state)
{
    fixture *f = *state;
    const sfsm_pipeline *p = f->pipeline;

    assert_int_equal(sfsm_pipeline_default(NULL), SFSM_EINVAL);
    sfsm_pipeline_free(NULL);

    assert_null(sfsm_pipeline_name(NULL));
    assert_int_equal(sfsm_pipeline_version(NULL), 0);

    size_t ns = sfsm_pipeline_stage_count(p);
    size_t ne = sfsm_pipeline_event_count(p);
    size_t nr = sfsm_pipeline_role_count(p);
    assert_int_equal(ns, 8);
    assert_int_equal(ne, 9);
    assert_int_equal(nr, 4);

    /* NULL pipeline: 0 / NULL / OPEN. */
    assert_int_equal(sfsm_pipeline_stage_count(NULL), 0);
    assert_null(sfsm_pipeline_stage_name(NULL, 0));
    assert_null(sfsm_pipeline_stage_label(NULL, 0));
    assert_int_equal(sfsm_pipeline_stage_probability(NULL, 0), 0);
    assert_int_equal(sfsm_pipeline_stage_stale_days(NULL, 0), 0);
    assert_int_equal(sfsm_pipeline_stage_outcome(NULL, 0), SFSM_OUTCOME_OPEN);
    assert_int_equal(sfsm_pipeline_stage_is_final(NULL, 0), 0);
    assert_int_equal(sfsm_pipeline_event_count(NULL), 0);
    assert_null(sfsm_pipeline_event_name(NULL, 0));
    assert_int_equal(sfsm_pipeline_event_allowed_from(NULL, 0, 0), 0);
    assert_int_equal(sfsm_pipeline_event_allows_role(NULL, 0, 0), 0);
    assert_int_equal(sfsm_pipeline_event_guard_count(NULL, 0), 0);
    assert_null(sfsm_pipeline_event_guard(NULL, 0, 0));
    assert_int_equal(sfsm_pipeline_role_count(NULL), 0);
    assert_null(sfsm_pipeline_role_name(NULL, 0));
    (void)sfsm_pipeline_initial_stage(NULL); /* must not crash */

    /* Index out of range: 0 / NULL / OPEN / (size_t)-1. */
    const size_t big[] = { ns, ns + 1, (size_t)-1 };
    for (size_t k = 0; k < 3; k++) {
        size_t i = big[k];
        assert_null(sfsm_pipeline_stage_name(p, i));
        assert_null(sfsm_pipeline_stage_label(p, i));
        assert_int_equal(sfsm_pipeline_stage_probability(p, i), 0);
        assert_int_equal(sfsm_pipeline_stage_stale_days(p, i), 0);
        assert_int_equal(sfsm_pipeline_stage_outcome(p, i), SFSM_OUTCOME_OPEN);
        assert_int_equal(sfsm_pipeline_stage_is_final(p, i), 0);
    }
    /* "signed" has probability 100: a clamped index would show it. */
    const size_t ebig[] = { ne, ne + 5, (size_t)-1 };
    for (size_t k = 0; k < 3; k++) {
        size_t i = ebig[k];
        assert_null(sfsm_pipeline_event_name(p, i));
        assert_int_equal(sfsm_pipeline_event_target(p, i), (size_t)-1);
        assert_int_equal(sfsm_pipeline_event_allowed_from(p, i, 0), 0);
        assert_int_equal(sfsm_pipeline_event_allows_role(p, i, 0), 0);
        assert_int_equal(sfsm_pipeline_event_guard_count(p, i), 0);
        assert_null(sfsm_pipeline_event_guard(p, i, 0));
        assert_null(sfsm_pipeline_role_name(p, nr + k));
    }
    size_t qualify, lead, manager;
    assert_int_equal(sfsm_pipeline_event_index(p, "qualify", &qualify), SFSM_OK);
    assert_int_equal(sfsm_pipeline_stage_index(p, "lead", &lead), SFSM_OK);
    assert_int_equal(sfsm_pipeline_role_index(p, "manager", &manager), SFSM_OK);
    assert_int_not_equal(sfsm_pipeline_event_allowed_from(p, qualify, lead), 0);
    assert_int_equal(sfsm_pipeline_event_allowed_from(p, qualify, ns), 0);
    assert_int_equal(sfsm_pipeline_event_allowed_from(p, qualify, (size_t)-1), 0);
    assert_int_not_equal(sfsm_pipeline_event_allows_role(p, qualify, manager), 0);
    assert_int_equal(sfsm_pipeline_event_allows_role(p, qualify, nr), 0);
    assert_int_equal(sfsm_pipeline_event_allows_role(p, qualify, (size_t)-1), 0);
    assert_int_equal(sfsm_pipeline_event_guard_count(p, qualify), 1);
    assert_string_equal(sfsm_pipeline_event_guard(p, qualify, 0), "has_customer");
    assert_null(sfsm_pipeline_event_guard(p, qualify, 1));
    assert_null(sfsm_pipeline_event_guard(p, qualify, (size_t)-1));

    /* Lookups by name. */
    int (*lookup[3])(const sfsm_pipeline *, const char *, size_t *) = {
        sfsm_pipeline_stage_index, sfsm_pipeline_event_index, sfsm_pipeline_role_index
    };
    const char *good[3] = { "quoted", "sign", "assistant" };
    const char *upper[3] = { "QUOTED", "SIGN", "ASSISTANT" };
    for (int k = 0; k < 3; k++) {
        size_t idx = 12345;
        assert_int_equal(lookup[k](NULL, good[k], &idx), SFSM_EINVAL);
        assert_int_equal(lookup[k](p, NULL, &idx), SFSM_EINVAL);
        assert_int_equal(lookup[k](p, good[k], NULL), SFSM_EINVAL);
        assert_int_equal(idx, 12345);
        assert_int_equal(lookup[k](p, "no-such-name-xyz", &idx), SFSM_ENOTFOUND);
        assert_msg_has("no-such-name-xyz");
        assert_int_equal(lookup[k](p, "", &idx), SFSM_ENOTFOUND);
        int rc = lookup[k](p, "\xff", &idx);
        assert_true(rc == SFSM_ENOTFOUND || rc == SFSM_EINVAL);
        /* Lookups are exact: no case folding. */
        assert_int_equal(lookup[k](p, upper[k], &idx), SFSM_ENOTFOUND);
        assert_int_equal(idx, 12345);
        assert_int_equal(lookup[k](p, good[k], &idx), SFSM_OK);
    }
    size_t idx;
    assert_int_equal(sfsm_pipeline_stage_index(p, "qualify", &idx), SFSM_ENOTFOUND); /* an event */
    assert_msg_has("qualify");
    assert_int_equal(sfsm_pipeline_event_index(p, "lead", &idx), SFSM_ENOTFOUND);    /* a stage */
    assert_msg_has("lead");
    assert_int_equal(sfsm_pipeline_role_index(p, "ceo", &idx), SFSM_ENOTFOUND);
    assert_msg_has("ceo");
    assert_int_equal(sfsm_pipeline_stage_index(p, "lea", &idx), SFSM_ENOTFOUND);
    assert_int_equal(sfsm_pipeline_stage_index(p, "Lead", &idx), SFSM_ENOTFOUND);
}

/* ---- store.h ---- */

static void test_store_args(void **state)
{
    (void)state;
    assert_int_equal(sfsm_store_open_memory(NULL), SFSM_EINVAL);
    sfsm_store_close(NULL);
}

/* ---- engine.h ---- */

static void test_engine_new_args(void **state)
{
    fixture *f = *state;
    static int sentinel;
    sfsm_engine *e = (sfsm_engine *)(void *)&sentinel;
    assert_int_equal(sfsm_engine_new(NULL, f->pipeline, f->store), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_new(&e, NULL, f->store), SFSM_EINVAL);
    assert_null(e);
    e = (sfsm_engine *)(void *)&sentinel;
    assert_int_equal(sfsm_engine_new(&e, f->pipeline, NULL), SFSM_EINVAL);
    assert_null(e);
    sfsm_engine_free(NULL);

    assert_null(sfsm_engine_pipeline(NULL));
    assert_null(sfsm_engine_store(NULL));
    assert_ptr_equal(sfsm_engine_pipeline(f->engine), f->pipeline);
    assert_ptr_equal(sfsm_engine_store(f->engine), f->store);

    assert_int_equal(sfsm_engine_set_clock(NULL, NULL, NULL), SFSM_EINVAL);
    /* NULL clock restores the default: no longer the fixture's time. */
    assert_int_equal(sfsm_engine_now(f->engine), T0_MS);
    sfsm_engine *e2 = NULL;
    assert_int_equal(sfsm_engine_new(&e2, f->pipeline, f->store), SFSM_OK);
    assert_int_equal(sfsm_engine_set_clock(e2, fixed_clock, NULL), SFSM_OK);
    assert_int_equal(sfsm_engine_now(e2), 42);
    assert_int_equal(sfsm_engine_set_clock(e2, NULL, NULL), SFSM_OK);
    assert_int_not_equal(sfsm_engine_now(e2), 42);
    sfsm_engine_free(e2);
}

static void test_hook_args(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    int calls = 0;

    assert_int_equal(sfsm_engine_on_before(NULL, NULL, check_ok, &calls), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_on_before(e, NULL, NULL, &calls), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_on_after(NULL, NULL, notify_count, &calls), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_on_after(e, NULL, NULL, &calls), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_on_exit(NULL, NULL, notify_count, &calls), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_on_exit(e, NULL, NULL, &calls), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_on_enter(NULL, NULL, notify_count, &calls), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_on_enter(e, NULL, NULL, &calls), SFSM_EINVAL);

    /* Filters that name nothing in the pipeline. */
    assert_int_equal(sfsm_engine_on_before(e, "qualifyy", check_ok, &calls), SFSM_ENOTFOUND);
    assert_msg_has("qualifyy");
    assert_int_equal(sfsm_engine_on_before(e, "lead", check_ok, &calls), SFSM_ENOTFOUND); /* a stage */
    assert_msg_has("lead");
    assert_int_equal(sfsm_engine_on_after(e, "promote", notify_count, &calls), SFSM_ENOTFOUND);
    assert_msg_has("promote");
    assert_int_equal(sfsm_engine_on_exit(e, "qualify", notify_count, &calls), SFSM_ENOTFOUND); /* an event */
    assert_msg_has("qualify");
    assert_int_equal(sfsm_engine_on_exit(e, "limbo", notify_count, &calls), SFSM_ENOTFOUND);
    assert_msg_has("limbo");
    assert_int_equal(sfsm_engine_on_enter(e, "heaven", notify_count, &calls), SFSM_ENOTFOUND);
    assert_msg_has("heaven");

    assert_int_equal(sfsm_engine_register_guard(NULL, "has_customer", check_ok, &calls), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_register_guard(e, NULL, check_ok, &calls), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_register_guard(e, "has_customer", NULL, &calls), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_register_guard(e, "has_budget", check_ok, &calls), SFSM_ENOTFOUND);
    assert_msg_has("has_budget");

    /* None of the refused registrations is in effect. */
    sfsm_opp *o = fixture_opp(f, "hooks-1", "qualify", "quote", NULL);
    assert_int_equal(sfsm_fire(e, o, "lose", &MANAGER, "budget cut"), SFSM_OK);
    assert_int_equal(calls, 0);
    sfsm_opp_free(o);
}

static void test_fire_null_args(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *o = fixture_opp(f, "fire-null", NULL);
    char *before = opp_state(e, o);
    size_t qualify;
    assert_int_equal(sfsm_pipeline_event_index(f->pipeline, "qualify", &qualify), SFSM_OK);

    sfsm_actor no_name = { NULL, "manager" };
    sfsm_actor no_role = { "Mei", NULL };
    assert_int_equal(sfsm_fire(NULL, o, "qualify", &MANAGER, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_fire(e, NULL, "qualify", &MANAGER, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_fire(e, o, NULL, &MANAGER, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_fire(e, o, "qualify", NULL, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_fire(e, o, "qualify", &no_name, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_fire(e, o, "qualify", &no_role, NULL), SFSM_EINVAL);
    assert_state_unchanged(e, o, before);

    assert_int_equal(sfsm_fire_index(NULL, o, qualify, &MANAGER, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_fire_index(e, NULL, qualify, &MANAGER, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_fire_index(e, o, qualify, NULL, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_fire_index(e, o, qualify, &no_name, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_fire_index(e, o, qualify, &no_role, NULL), SFSM_EINVAL);
    size_t ne = sfsm_pipeline_event_count(f->pipeline);
    int rc = sfsm_fire_index(e, o, ne, &MANAGER, NULL);
    assert_true(rc == SFSM_EINVAL || rc == SFSM_ENOTFOUND);
    rc = sfsm_fire_index(e, o, (size_t)-1, &MANAGER, NULL);
    assert_true(rc == SFSM_EINVAL || rc == SFSM_ENOTFOUND);
    assert_state_unchanged(e, o, before);

    /* And the handle still works. */
    assert_int_equal(sfsm_fire_index(e, o, qualify, &MANAGER, NULL), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "qualified");
    free(before);
    sfsm_opp_free(o);
}

static void test_fire_unknown_names(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *o = fixture_opp(f, "fire-names", NULL);
    char *before = opp_state(e, o);
    int calls = 0;
    assert_int_equal(sfsm_engine_on_after(e, NULL, notify_count, &calls), SFSM_OK);
    assert_int_equal(sfsm_engine_on_before(e, NULL, check_ok, &calls), SFSM_OK);

    assert_int_equal(sfsm_fire(e, o, "qualifyy", &MANAGER, NULL), SFSM_ENOTFOUND);
    assert_msg_has("qualifyy");
    assert_int_equal(sfsm_fire(e, o, "lead", &MANAGER, NULL), SFSM_ENOTFOUND);
    assert_msg_has("lead");
    /* An empty name is either not a name (EINVAL) or names nothing. */
    int rc = sfsm_fire(e, o, "", &MANAGER, NULL);
    assert_true(rc == SFSM_EINVAL || rc == SFSM_ENOTFOUND);
    sfsm_actor ceo = { "Chen", "ceo" };
    assert_int_equal(sfsm_fire(e, o, "qualify", &ceo, NULL), SFSM_ENOTFOUND);
    assert_msg_has("ceo");
    /* Names are resolved before the stage is checked: an unknown role on an
     * event not allowed from this stage is still ENOTFOUND. */
    assert_int_equal(sfsm_fire(e, o, "deliver", &ceo, NULL), SFSM_ENOTFOUND);
    assert_msg_has("ceo");
    sfsm_actor upper = { "Mei", "Manager" };
    assert_int_equal(sfsm_fire(e, o, "qualify", &upper, NULL), SFSM_ENOTFOUND);
    assert_msg_has("Manager");
    assert_state_unchanged(e, o, before);
    assert_int_equal(calls, 0);

    const char *names[16];
    size_t count = 99;
    assert_int_equal(sfsm_engine_available_events(e, o, &ceo, names, 16, &count), SFSM_ENOTFOUND);
    assert_msg_has("ceo");
    free(before);
    sfsm_opp_free(o);
}

static void test_fire_bad_strings(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *o = fixture_opp(f, "fire-strings", NULL);
    char *before = opp_state(e, o);
    int calls = 0;
    assert_int_equal(sfsm_engine_on_after(e, NULL, notify_count, &calls), SFSM_OK);

    for (size_t i = 0; i < NBAD; i++) {
        sfsm_actor bad = { BAD_UTF8[i], "manager" };
        assert_int_equal(sfsm_fire(e, o, "qualify", &bad, NULL), SFSM_EINVAL);
        assert_int_equal(sfsm_fire(e, o, "lose", &MANAGER, BAD_UTF8[i]), SFSM_EINVAL);
    }
    char *long_name = str_of(SFSM_MAX_NAME + 1, 'n');
    sfsm_actor lon = { long_name, "manager" };
    assert_int_equal(sfsm_fire(e, o, "qualify", &lon, NULL), SFSM_EINVAL);
    char *long_note = str_of(SFSM_MAX_TEXT + 1, 'r');
    assert_int_equal(sfsm_fire(e, o, "lose", &MANAGER, long_note), SFSM_EINVAL);
    /* The limit is in bytes: 43 three-byte characters are 129 bytes. */
    char *wide_name = utf8_of(SFSM_MAX_NAME + 1, "梅");
    sfsm_actor wide = { wide_name, "manager" };
    assert_int_equal(sfsm_fire(e, o, "qualify", &wide, NULL), SFSM_EINVAL);
    assert_state_unchanged(e, o, before);
    assert_int_equal(calls, 0);

    /* Exactly at the limits is fine. */
    long_name[SFSM_MAX_NAME] = '\0';
    long_note[SFSM_MAX_TEXT] = '\0';
    assert_int_equal(sfsm_fire(e, o, "lose", &lon, long_note), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "lost");
    assert_int_equal(calls, 1);
    free(long_name);
    free(long_note);
    free(wide_name);
    free(before);
    sfsm_opp_free(o);
}

static void test_available_events_args(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *o = fixture_opp(f, "avail", NULL);
    const char *names[16];
    size_t count = 77;
    sfsm_actor no_role = { "Mei", NULL };
    assert_int_equal(sfsm_engine_available_events(NULL, o, &MANAGER, names, 16, &count), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_available_events(e, NULL, &MANAGER, names, 16, &count), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_available_events(e, o, NULL, names, 16, &count), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_available_events(e, o, &no_role, names, 16, &count), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_available_events(e, o, &MANAGER, names, 16, NULL), SFSM_EINVAL);
    assert_int_equal(count, 77);
    /* Sanity: the real call works and lists qualify (lose needs a note). */
    assert_int_equal(sfsm_engine_available_events(e, o, &MANAGER, names, 16, &count), SFSM_OK);
    assert_true(count >= 1);
    assert_string_equal(names[0], "qualify");
    sfsm_opp_free(o);
}

static void test_batch_args(void **state)
{
    fixture *f = *state;
    assert_int_equal(sfsm_engine_begin(NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_commit(NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_rollback(NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_commit(f->engine), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_rollback(f->engine), SFSM_EINVAL);
}

/* ---- opp.h: construction ---- */

static void test_create_args(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    static int sentinel;
    sfsm_opp *o = (sfsm_opp *)(void *)&sentinel;

    assert_int_equal(sfsm_opp_create(NULL, "x-1", &o), SFSM_EINVAL);
    assert_null(o);
    assert_int_equal(sfsm_opp_create(e, "x-1", NULL), SFSM_EINVAL);
    o = (sfsm_opp *)(void *)&sentinel;
    assert_int_equal(sfsm_opp_create(e, "", &o), SFSM_EINVAL);
    assert_null(o);

    char *id = str_of(SFSM_MAX_ID + 1, 'i');
    o = (sfsm_opp *)(void *)&sentinel;
    assert_int_equal(sfsm_opp_create(e, id, &o), SFSM_EINVAL);
    assert_null(o);
    char *wide = utf8_of(SFSM_MAX_ID + 1, "编");
    assert_int_equal(sfsm_opp_create(e, wide, &o), SFSM_EINVAL);
    assert_null(o);
    for (size_t i = 0; i < NBAD; i++) {
        o = (sfsm_opp *)(void *)&sentinel;
        assert_int_equal(sfsm_opp_create(e, BAD_UTF8[i], &o), SFSM_EINVAL);
        assert_null(o);
    }
    assert_int_equal(count_opps(e, NULL), 0);
    assert_int_equal(sfsm_opp_open(e, "x-1", &o), SFSM_ENOTFOUND);

    /* Exactly SFSM_MAX_ID bytes is fine, ASCII or not. */
    id[SFSM_MAX_ID] = '\0';
    assert_int_equal(sfsm_opp_create(e, id, &o), SFSM_OK);
    assert_string_equal(sfsm_opp_id(o), id);
    sfsm_opp_free(o);
    wide[SFSM_MAX_ID - 2] = '\0'; /* 42 characters × 3 bytes = 126 */
    assert_int_equal(sfsm_opp_create(e, wide, &o), SFSM_OK);
    sfsm_opp_free(o);
    assert_int_equal(count_opps(e, NULL), 2);

    /* Duplicate id. */
    assert_int_equal(sfsm_opp_create(e, "dup", &o), SFSM_OK);
    sfsm_opp_free(o);
    o = (sfsm_opp *)(void *)&sentinel;
    assert_int_equal(sfsm_opp_create(e, "dup", &o), SFSM_EEXISTS);
    assert_null(o);
    assert_msg_has("dup");
    assert_int_equal(history_count(e, "dup"), 1);
    assert_int_equal(count_opps(e, NULL), 3);
    free(id);
    free(wide);
}

static void test_create_ext_args(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    static int sentinel;
    sfsm_opp *o = (sfsm_opp *)(void *)&sentinel;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "ext-1";

    assert_int_equal(sfsm_create_options_init(NULL, SFSM_CREATE_OPTIONS_VERSION), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_create_ext(NULL, &opts, &o), SFSM_EINVAL);
    assert_null(o);
    o = (sfsm_opp *)(void *)&sentinel;
    assert_int_equal(sfsm_opp_create_ext(e, NULL, &o), SFSM_EINVAL);
    assert_null(o);
    assert_int_equal(sfsm_opp_create_ext(e, &opts, NULL), SFSM_EINVAL);

    opts.version = 0;
    o = (sfsm_opp *)(void *)&sentinel;
    assert_int_equal(sfsm_opp_create_ext(e, &opts, &o), SFSM_EVERSION);
    assert_null(o);
    opts.version = SFSM_CREATE_OPTIONS_VERSION + 1;
    assert_int_equal(sfsm_opp_create_ext(e, &opts, &o), SFSM_EVERSION);
    assert_null(o);
    opts.version = SFSM_CREATE_OPTIONS_VERSION;

    char *long_text = str_of(SFSM_MAX_TEXT + 1, 't');
    char *long_id = str_of(SFSM_MAX_ID + 1, 'i');
    char *long_name = str_of(SFSM_MAX_NAME + 1, 'a');

    /* One invalid field at a time; the message names the field. */
    struct {
        const char *field;
        const char **slot;
    } texts[] = {
        { "id", &opts.id },
        { "customer", &opts.customer },
        { "owner", &opts.owner },
        { "title", &opts.title },
    };
    for (size_t k = 0; k < 4; k++) {
        const char *saved = *texts[k].slot;
        *texts[k].slot = k == 0 ? long_id : long_text;
        o = (sfsm_opp *)(void *)&sentinel;
        assert_int_equal(sfsm_opp_create_ext(e, &opts, &o), SFSM_EINVAL);
        assert_null(o);
        assert_msg_has(texts[k].field);
        for (size_t i = 0; i < NBAD; i++) {
            *texts[k].slot = BAD_UTF8[i];
            o = (sfsm_opp *)(void *)&sentinel;
            assert_int_equal(sfsm_opp_create_ext(e, &opts, &o), SFSM_EINVAL);
            assert_null(o);
            assert_msg_has(texts[k].field);
        }
        *texts[k].slot = saved;
    }
    opts.id = "";
    assert_int_equal(sfsm_opp_create_ext(e, &opts, &o), SFSM_EINVAL);
    assert_msg_has("id");
    opts.id = "ext-1";

    opts.currency = "CNY";
    opts.amount = -1;
    assert_int_equal(sfsm_opp_create_ext(e, &opts, &o), SFSM_EINVAL);
    assert_null(o);
    assert_msg_has("amount");
    opts.amount = INT64_MIN;
    assert_int_equal(sfsm_opp_create_ext(e, &opts, &o), SFSM_EINVAL);
    opts.amount = 100;
    const char *bad_cur[] = { "cny", "CN", "CNYY", "", "C1Y", "CN\xff", "人民币" };
    for (size_t i = 0; i < sizeof bad_cur / sizeof bad_cur[0]; i++) {
        opts.currency = bad_cur[i];
        o = (sfsm_opp *)(void *)&sentinel;
        assert_int_equal(sfsm_opp_create_ext(e, &opts, &o), SFSM_EINVAL);
        assert_null(o);
        assert_msg_has("currency");
    }
    opts.currency = NULL;
    opts.amount = 0;

    opts.expected_close_ms = -5;
    assert_int_equal(sfsm_opp_create_ext(e, &opts, &o), SFSM_EINVAL);
    assert_msg_has("expected_close");
    opts.expected_close_ms = 0;

    sfsm_actor bad_actor = { "\xc0\xaf", "rep" };
    opts.actor = &bad_actor;
    assert_int_equal(sfsm_opp_create_ext(e, &opts, &o), SFSM_EINVAL);
    assert_msg_has("actor");
    bad_actor.name = long_name;
    assert_int_equal(sfsm_opp_create_ext(e, &opts, &o), SFSM_EINVAL);
    assert_msg_has("actor");
    opts.actor = NULL;

    assert_int_equal(count_opps(e, NULL), 0);
    assert_int_equal(sfsm_opp_open(e, "ext-1", &o), SFSM_ENOTFOUND);

    /* All valid now: it works, and a second time it exists. */
    opts.customer = "客户甲";
    opts.amount = 0;
    opts.currency = "EUR";
    assert_int_equal(sfsm_opp_create_ext(e, &opts, &o), SFSM_OK);
    sfsm_opp_free(o);
    o = (sfsm_opp *)(void *)&sentinel;
    assert_int_equal(sfsm_opp_create_ext(e, &opts, &o), SFSM_EEXISTS);
    assert_null(o);
    assert_msg_has("ext-1");
    assert_int_equal(count_opps(e, NULL), 1);
    assert_int_equal(history_count(e, "ext-1"), 1);
    free(long_text);
    free(long_id);
    free(long_name);
}

static void test_open_args(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    static int sentinel;
    sfsm_opp *o = fixture_opp(f, "open-1", NULL);
    sfsm_opp_free(o);

    o = (sfsm_opp *)(void *)&sentinel;
    assert_int_equal(sfsm_opp_open(NULL, "open-1", &o), SFSM_EINVAL);
    assert_null(o);
    o = (sfsm_opp *)(void *)&sentinel;
    assert_int_equal(sfsm_opp_open(e, NULL, &o), SFSM_EINVAL);
    assert_null(o);
    assert_int_equal(sfsm_opp_open(e, "open-1", NULL), SFSM_EINVAL);

    o = (sfsm_opp *)(void *)&sentinel;
    assert_int_equal(sfsm_opp_open(e, "open-2", &o), SFSM_ENOTFOUND);
    assert_null(o);
    assert_msg_has("open-2");
    assert_int_equal(sfsm_opp_open(e, "OPEN-1", &o), SFSM_ENOTFOUND);
    assert_int_equal(sfsm_opp_open(e, "open-", &o), SFSM_ENOTFOUND);
    assert_null(o);
    sfsm_opp_free(NULL);

    assert_int_equal(sfsm_opp_open(e, "open-1", &o), SFSM_OK);
    assert_string_equal(sfsm_opp_id(o), "open-1");
    sfsm_opp_free(o);
}

/* ---- opp.h: getters and setters ---- */

static void test_getters_null(void **state)
{
    (void)state;
    assert_null(sfsm_opp_id(NULL));
    assert_null(sfsm_opp_stage(NULL));
    assert_int_equal(sfsm_opp_stage_index(NULL), 0);
    assert_int_equal(sfsm_opp_version(NULL), 0);
    assert_int_equal(sfsm_opp_amount(NULL), 0);
    assert_null(sfsm_opp_currency(NULL));
    assert_null(sfsm_opp_customer(NULL));
    assert_null(sfsm_opp_owner(NULL));
    assert_null(sfsm_opp_title(NULL));
    assert_int_equal(sfsm_opp_expected_close(NULL), 0);
    assert_int_equal(sfsm_opp_created(NULL), 0);
    assert_int_equal(sfsm_opp_updated(NULL), 0);
    assert_int_equal(sfsm_opp_stage_entered(NULL), 0);
    assert_int_equal(sfsm_opp_probability(NULL), 0);
    assert_int_equal(sfsm_opp_unsaved(NULL), 0);
    assert_null(sfsm_opp_attr(NULL, "k"));
    assert_int_equal(sfsm_opp_attr_count(NULL), 0);
    const char *k = "unchanged", *v = "unchanged";
    assert_int_equal(sfsm_opp_attr_at(NULL, 0, &k, &v), SFSM_EINVAL);
}

static void test_setter_args(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *o = fixture_opp(f, "set-1", NULL);
    assert_int_equal(sfsm_opp_set_attr(o, "region", "华东"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_title(o, "pending title"), SFSM_OK);
    /* An unsaved change exists, so "unchanged" also covers unsaved bits. */
    char *before = opp_state(e, o);

    assert_int_equal(sfsm_opp_set_amount(NULL, 1, "CNY"), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_set_customer(NULL, "x"), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_set_owner(NULL, "x"), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_set_title(NULL, "x"), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_set_expected_close(NULL, 1), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_set_attr(NULL, "k", "v"), SFSM_EINVAL);

    /* Amount and currency. */
    assert_int_equal(sfsm_opp_set_amount(o, -1, "CNY"), SFSM_EINVAL);
    assert_msg_has("amount");
    assert_int_equal(sfsm_opp_set_amount(o, INT64_MIN, "CNY"), SFSM_EINVAL);
    const char *bad_cur[] = { "cny", "CN", "CNYY", NULL, "", "C1Y", "Cny", "CN ", "\xff\xff\xff", "人民币" };
    for (size_t i = 0; i < sizeof bad_cur / sizeof bad_cur[0]; i++) {
        assert_int_equal(sfsm_opp_set_amount(o, 500, bad_cur[i]), SFSM_EINVAL);
        assert_msg_has("currency");
    }
    assert_int_equal(sfsm_opp_set_expected_close(o, -1), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_set_expected_close(o, INT64_MIN), SFSM_EINVAL);

    /* Texts: too long (bytes, not characters) and not UTF-8. */
    int (*setters[3])(sfsm_opp *, const char *) = {
        sfsm_opp_set_customer, sfsm_opp_set_owner, sfsm_opp_set_title
    };
    const char *fields[3] = { "customer", "owner", "title" };
    char *long_text = str_of(SFSM_MAX_TEXT + 1, 'c');
    char *wide_text = utf8_of(SFSM_MAX_TEXT + 1, "客");
    for (int k = 0; k < 3; k++) {
        assert_int_equal(setters[k](o, long_text), SFSM_EINVAL);
        assert_msg_has(fields[k]);
        assert_int_equal(setters[k](o, wide_text), SFSM_EINVAL);
        for (size_t i = 0; i < NBAD; i++) {
            assert_int_equal(setters[k](o, BAD_UTF8[i]), SFSM_EINVAL);
            assert_msg_has(fields[k]);
        }
    }
    assert_state_unchanged(e, o, before);

    /* At the limit: accepted. */
    long_text[SFSM_MAX_TEXT] = '\0';
    for (int k = 0; k < 3; k++)
        assert_int_equal(setters[k](o, long_text), SFSM_OK);
    assert_int_equal(strlen(sfsm_opp_title(o)), SFSM_MAX_TEXT);
    assert_int_equal(sfsm_opp_set_amount(o, 0, "USD"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_amount(o, INT64_C(9007199254740992), "XAU"), SFSM_EINVAL);   /* 2^53 */
    assert_msg_has("9007199254740991");
    assert_int_equal(sfsm_opp_set_amount(o, INT64_C(9007199254740991), "XAU"), SFSM_OK);
    assert_int_equal(sfsm_opp_amount(o), INT64_C(9007199254740991));
    assert_int_equal(sfsm_opp_save(e, o), SFSM_OK);
    free(long_text);
    free(wide_text);
    free(before);
    sfsm_opp_free(o);
}

static void test_attr_args(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *o = fixture_opp(f, "attr-1", NULL);
    assert_int_equal(sfsm_opp_set_attr(o, "kept", "yes"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(e, o), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "pending", "1"), SFSM_OK);
    char *before = opp_state(e, o);

    assert_int_equal(sfsm_opp_set_attr(o, NULL, "v"), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_set_attr(o, "", "v"), SFSM_EINVAL);
    char *long_key = str_of(SFSM_MAX_NAME + 1, 'k');
    char *wide_key = utf8_of(SFSM_MAX_NAME + 1, "键");
    char *long_val = str_of(SFSM_MAX_TEXT + 1, 'v');
    assert_int_equal(sfsm_opp_set_attr(o, long_key, "v"), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_set_attr(o, wide_key, "v"), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_set_attr(o, "k", long_val), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_set_attr(o, "kept", long_val), SFSM_EINVAL);
    for (size_t i = 0; i < NBAD; i++) {
        assert_int_equal(sfsm_opp_set_attr(o, BAD_UTF8[i], "v"), SFSM_EINVAL);
        assert_int_equal(sfsm_opp_set_attr(o, "k", BAD_UTF8[i]), SFSM_EINVAL);
        assert_int_equal(sfsm_opp_set_attr(o, "kept", BAD_UTF8[i]), SFSM_EINVAL);
    }
    /* Removing an absent key. */
    assert_int_equal(sfsm_opp_set_attr(o, "absent", NULL), SFSM_ENOTFOUND);
    assert_msg_has("absent");
    assert_null(sfsm_opp_attr(o, NULL));
    assert_null(sfsm_opp_attr(o, "absent"));
    const char *k = "unchanged", *v = "unchanged";
    assert_int_equal(sfsm_opp_attr_at(o, 2, &k, &v), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_attr_at(o, (size_t)-1, &k, &v), SFSM_EINVAL);
    assert_state_unchanged(e, o, before);

    /* At the limits: accepted. */
    long_key[SFSM_MAX_NAME] = '\0';
    long_val[SFSM_MAX_TEXT] = '\0';
    assert_int_equal(sfsm_opp_set_attr(o, long_key, long_val), SFSM_OK);
    assert_string_equal(sfsm_opp_attr(o, long_key), long_val);
    free(long_key);
    free(wide_key);
    free(long_val);
    free(before);
    sfsm_opp_free(o);
}

static void test_attr_count_limit(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *o = fixture_opp(f, "attr-many", NULL);
    char key[32];
    for (int i = 0; i < SFSM_MAX_ATTRS; i++) {
        snprintf(key, sizeof key, "k%04d", i);
        assert_int_equal(sfsm_opp_set_attr(o, key, "v"), SFSM_OK);
    }
    assert_int_equal(sfsm_opp_attr_count(o), SFSM_MAX_ATTRS);
    assert_int_equal(sfsm_opp_save(e, o), SFSM_OK);
    char *before = opp_state(e, o);
    assert_int_equal(sfsm_opp_set_attr(o, "one-too-many", "v"), SFSM_EINVAL);
    assert_null(sfsm_opp_attr(o, "one-too-many"));
    assert_state_unchanged(e, o, before);
    /* Replacing and removing at the limit still work. */
    assert_int_equal(sfsm_opp_set_attr(o, "k0000", "replaced"), SFSM_OK);
    assert_int_equal(sfsm_opp_attr_count(o), SFSM_MAX_ATTRS);
    assert_int_equal(sfsm_opp_set_attr(o, "k0001", NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "one-more", "v"), SFSM_OK);
    assert_int_equal(sfsm_opp_attr_count(o), SFSM_MAX_ATTRS);
    assert_int_equal(sfsm_opp_save(e, o), SFSM_OK);
    free(before);
    sfsm_opp_free(o);
}

/* ---- opp.h: save, history, scan ---- */

static void test_save_args(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *o = fixture_opp(f, "save-1", NULL);
    assert_int_equal(sfsm_opp_set_owner(o, "li"), SFSM_OK);
    char *before = opp_state(e, o);

    assert_int_equal(sfsm_opp_save(NULL, o), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_save(e, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_save_as(NULL, o, &MANAGER, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_save_as(e, NULL, &MANAGER, NULL), SFSM_EINVAL);
    for (size_t i = 0; i < NBAD; i++) {
        sfsm_actor bad = { BAD_UTF8[i], "manager" };
        assert_int_equal(sfsm_opp_save_as(e, o, &bad, NULL), SFSM_EINVAL);
        assert_int_equal(sfsm_opp_save_as(e, o, &MANAGER, BAD_UTF8[i]), SFSM_EINVAL);
    }
    char *long_name = str_of(SFSM_MAX_NAME + 1, 'n');
    sfsm_actor lon = { long_name, "rep" };
    assert_int_equal(sfsm_opp_save_as(e, o, &lon, NULL), SFSM_EINVAL);
    char *long_note = str_of(SFSM_MAX_TEXT + 1, 'z');
    assert_int_equal(sfsm_opp_save_as(e, o, &MANAGER, long_note), SFSM_EINVAL);
    assert_state_unchanged(e, o, before);

    assert_int_equal(sfsm_opp_save_as(e, o, &REP, "owner handover"), SFSM_OK);
    assert_int_equal(sfsm_opp_version(o), 2);
    free(long_name);
    free(long_note);
    free(before);
    sfsm_opp_free(o);
}

static void test_history_args(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *o = fixture_opp(f, "hist-1", NULL);
    assert_int_equal(sfsm_opp_history(NULL, "hist-1", hist_cb, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_history(e, NULL, hist_cb, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_history(e, "hist-1", NULL, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_history(e, "hist-2", hist_cb, NULL), SFSM_ENOTFOUND);
    assert_msg_has("hist-2");
    assert_int_equal(sfsm_opp_history(e, "hist-1", hist_cb, NULL), SFSM_OK);
    sfsm_opp_free(o);
}

static void test_filter_and_scan_args(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *o = fixture_opp(f, "scan-1", NULL);
    sfsm_opp_free(o);
    size_t n = 0;
    sfsm_filter flt = SFSM_FILTER_INIT;

    assert_int_equal(sfsm_filter_init(NULL, SFSM_FILTER_VERSION), SFSM_EINVAL);
    assert_int_equal(sfsm_scan(NULL, &flt, count_opps_cb, &n), SFSM_EINVAL);
    assert_int_equal(sfsm_scan(e, &flt, NULL, &n), SFSM_EINVAL);
    flt.version = 0;
    assert_int_equal(sfsm_scan(e, &flt, count_opps_cb, &n), SFSM_EVERSION);
    flt.version = SFSM_FILTER_VERSION + 1;
    assert_int_equal(sfsm_scan(e, &flt, count_opps_cb, &n), SFSM_EVERSION);
    flt.version = SFSM_FILTER_VERSION;
    flt.stage = "neverland";
    assert_int_equal(sfsm_scan(e, &flt, count_opps_cb, &n), SFSM_ENOTFOUND);
    assert_msg_has("neverland");
    flt.stage = "qualify"; /* an event, not a stage */
    assert_int_equal(sfsm_scan(e, &flt, count_opps_cb, &n), SFSM_ENOTFOUND);
    assert_msg_has("qualify");
    assert_int_equal(n, 0);

    flt.stage = "lead";
    assert_int_equal(sfsm_scan(e, &flt, count_opps_cb, &n), SFSM_OK);
    assert_int_equal(n, 1);
}

/* ---- a handle of another pipeline ---- */

static void test_handle_of_other_pipeline(void **state)
{
    fixture *f = *state;
    sfsm_engine *e = f->engine;
    sfsm_opp *mine = fixture_opp(f, "foreign-1", NULL);
    sfsm_opp_free(mine);

    /* Same store, same (default) table, but a different pipeline object. */
    sfsm_pipeline *p2 = NULL;
    sfsm_engine *e2 = NULL;
    assert_int_equal(sfsm_pipeline_default(&p2), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&e2, p2, f->store), SFSM_OK);
    sfsm_opp *theirs = NULL;
    assert_int_equal(sfsm_opp_open(e2, "foreign-1", &theirs), SFSM_OK);
    assert_int_equal(sfsm_opp_set_title(theirs, "from the other engine"), SFSM_OK);
    char *before = opp_state(e2, theirs);
    int calls = 0;
    assert_int_equal(sfsm_engine_on_after(e, NULL, notify_count, &calls), SFSM_OK);

    size_t qualify;
    assert_int_equal(sfsm_pipeline_event_index(f->pipeline, "qualify", &qualify), SFSM_OK);
    assert_int_equal(sfsm_fire(e, theirs, "qualify", &MANAGER, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_fire_index(e, theirs, qualify, &MANAGER, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_save(e, theirs), SFSM_EINVAL);
    assert_int_equal(sfsm_opp_save_as(e, theirs, &MANAGER, "x"), SFSM_EINVAL);
    const char *names[16];
    size_t count = 0;
    assert_int_equal(sfsm_engine_available_events(e, theirs, &MANAGER, names, 16, &count), SFSM_EINVAL);
    assert_state_unchanged(e2, theirs, before);
    assert_int_equal(calls, 0);

    /* With its own engine it works. */
    assert_int_equal(sfsm_fire(e2, theirs, "qualify", &MANAGER, NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_version(theirs), 2);
    sfsm_opp_free(theirs);
    free(before);
    sfsm_engine_free(e2);
    sfsm_pipeline_free(p2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_common_functions),
        T(test_pipeline_args),
        T(test_store_args),
        T(test_engine_new_args),
        T(test_hook_args),
        T(test_fire_null_args),
        T(test_fire_unknown_names),
        T(test_fire_bad_strings),
        T(test_available_events_args),
        T(test_batch_args),
        T(test_create_args),
        T(test_create_ext_args),
        T(test_open_args),
        T(test_getters_null),
        T(test_setter_args),
        T(test_attr_args),
        T(test_attr_count_limit),
        T(test_save_args),
        T(test_history_args),
        T(test_filter_and_scan_args),
        T(test_handle_of_other_pipeline),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
