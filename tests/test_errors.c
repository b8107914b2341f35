/* Error codes, messages, option initialisers, the allocator switch and the
 * version string (common.h, opp.h). */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The error table, as common.h defines it, turned into an array here so a
 * test can walk every code. */
typedef struct code_row {
    const char *name;
    int value;
    const char *text;
} code_row;

static const code_row CODES[] = {
#define ROW(name, value, text) { #name, value, text },
    SFSM_ERROR_TABLE(ROW)
#undef ROW
};
#define NCODES (sizeof CODES / sizeof CODES[0])

static void test_codes_have_fixed_numbers(void **state)
{
    (void)state;
    /* The numbers are ABI: they never change. */
    assert_int_equal(SFSM_OK, 0);
    assert_int_equal(SFSM_EINVAL, -1);
    assert_int_equal(SFSM_ENOMEM, -2);
    assert_int_equal(SFSM_ENOTFOUND, -3);
    assert_int_equal(SFSM_EEXISTS, -4);
    assert_int_equal(SFSM_ETRANSITION, -5);
    assert_int_equal(SFSM_EGUARD, -6);
    assert_int_equal(SFSM_EPERM, -7);
    assert_int_equal(SFSM_EVETO, -8);
    assert_int_equal(SFSM_ECONFLICT, -9);
    assert_int_equal(SFSM_ESTORAGE, -10);
    assert_int_equal(SFSM_EPARSE, -11);
    assert_int_equal(SFSM_EVERSION, -12);
    assert_int_equal(SFSM_EBUSY, -13);
    assert_int_equal(SFSM_ERROR_LAST_, -13);
    assert_int_equal(NCODES, 14);
    /* Dense and distinct: row i has value -i. */
    for (size_t i = 0; i < NCODES; i++)
        assert_int_equal(CODES[i].value, -(int)i);
}

static void test_strerror_every_code(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCODES; i++) {
        const char *s = sfsm_strerror(CODES[i].value);
        assert_non_null(s);
        char want[256];
        snprintf(want, sizeof want, "%s: %s", CODES[i].name, CODES[i].text);
        if (strcmp(s, want) != 0)
            fail_msg("sfsm_strerror(%d) = \"%s\", want \"%s\"", CODES[i].value, s, want);
        /* It starts with the code's own name followed by ':' — so
         * SFSM_EINVAL's text is not mistaken for another code's. */
        size_t n = strlen(CODES[i].name);
        assert_int_equal(strncmp(s, CODES[i].name, n), 0);
        assert_int_equal(s[n], ':');
    }
    assert_int_equal(strncmp(sfsm_strerror(SFSM_ETRANSITION), "SFSM_ETRANSITION:", 17), 0);
    /* Each code's text is distinct from every other's. */
    for (size_t i = 0; i < NCODES; i++)
        for (size_t j = i + 1; j < NCODES; j++)
            assert_string_not_equal(sfsm_strerror(CODES[i].value), sfsm_strerror(CODES[j].value));
}

static void test_strerror_unknown_code(void **state)
{
    (void)state;
    const int unknown[] = { 1, 2, 100, -14, -15, -100, INT_MAX, INT_MIN };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = sfsm_strerror(unknown[i]);
        assert_non_null(s);
        assert_string_equal(s, "SFSM_UNKNOWN: unknown error code");
    }
}

static void test_strerror_is_static(void **state)
{
    (void)state;
    /* The text does not depend on later calls (no shared scratch buffer). */
    const char *a = sfsm_strerror(SFSM_EGUARD);
    const char *b = sfsm_strerror(SFSM_ECONFLICT);
    const char *c = sfsm_strerror(12345);
    assert_string_equal(a, "SFSM_EGUARD: guard refused the transition");
    assert_string_equal(b, "SFSM_ECONFLICT: version conflict: changed by someone else");
    assert_string_equal(c, "SFSM_UNKNOWN: unknown error code");
}

/* ---- sfsm_errmsg / sfsm_errcode ---- */

typedef struct fresh_thread_result {
    int msg_null;
    char msg[64];
    int code;
} fresh_thread_result;

static void *fresh_thread(void *arg)
{
    fresh_thread_result *r = arg;
    const char *m = sfsm_errmsg();
    r->msg_null = m == NULL;
    if (m)
        snprintf(r->msg, sizeof r->msg, "%s", m);
    r->code = sfsm_errcode();
    return NULL;
}

static void test_errmsg_empty_in_fresh_thread(void **state)
{
    (void)state;
    /* Make sure this thread has a failure so a shared (non thread-local)
     * message would show up in the new thread. */
    assert_int_equal(sfsm_error_set(SFSM_EPARSE, "main thread marker"), SFSM_EPARSE);
    fresh_thread_result r = { 1, "x", -99 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fresh_thread, &r), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.msg_null, 0);
    assert_string_equal(r.msg, "");
    assert_int_equal(r.code, SFSM_OK);
    assert_string_equal(sfsm_errmsg(), "main thread marker");
    assert_int_equal(sfsm_errcode(), SFSM_EPARSE);
}

static void test_errmsg_set_by_library_failure(void **state)
{
    (void)state;
    fixture *f = fixture_new();
    size_t idx = 99;
    assert_int_equal(sfsm_pipeline_stage_index(f->pipeline, "quoteed", &idx), SFSM_ENOTFOUND);
    assert_int_equal(sfsm_errcode(), SFSM_ENOTFOUND);
    assert_non_null(sfsm_errmsg());
    assert_non_null(strstr(sfsm_errmsg(), "quoteed"));

    /* A successful call does not clear it. */
    assert_int_equal(sfsm_pipeline_stage_index(f->pipeline, "quoted", &idx), SFSM_OK);
    assert_non_null(strstr(sfsm_errmsg(), "quoteed"));
    assert_int_equal(sfsm_errcode(), SFSM_ENOTFOUND);

    /* The next failure replaces it. */
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_open(f->engine, "no-such-opp", &o), SFSM_ENOTFOUND);
    assert_null(o);
    assert_non_null(strstr(sfsm_errmsg(), "no-such-opp"));
    assert_null(strstr(sfsm_errmsg(), "quoteed"));
    fixture_free(f);
}

typedef struct tl_thread {
    pthread_barrier_t *bar;
    int index;
    char got_before[128];
    char got_after[128];
    int code_after;
    int ok;
} tl_thread;

/* Each thread records its own failure, waits until every thread has
 * recorded one, and then checks that its own message is still its own. */
static void *tl_worker(void *arg)
{
    tl_thread *t = arg;
    sfsm_pipeline *p = NULL;
    t->ok = 1;
    if (sfsm_pipeline_default(&p) != SFSM_OK) {
        t->ok = 0;
        return NULL;
    }
    char name[64];
    snprintf(name, sizeof name, "stage-of-thread-%d", t->index);
    size_t idx;
    int rc = sfsm_pipeline_stage_index(p, name, &idx);
    if (rc != SFSM_ENOTFOUND)
        t->ok = 0;
    snprintf(t->got_before, sizeof t->got_before, "%s", sfsm_errmsg());
    pthread_barrier_wait(t->bar);
    /* Every other thread fails now too. */
    pthread_barrier_wait(t->bar);
    snprintf(t->got_after, sizeof t->got_after, "%s", sfsm_errmsg());
    t->code_after = sfsm_errcode();
    sfsm_pipeline_free(p);
    return NULL;
}

static void test_errmsg_thread_local(void **state)
{
    (void)state;
    enum { N = 4 };
    pthread_barrier_t bar;
    assert_int_equal(pthread_barrier_init(&bar, NULL, N + 1), 0);
    tl_thread th[N];
    pthread_t tid[N];
    memset(th, 0, sizeof th);
    for (int i = 0; i < N; i++) {
        th[i].bar = &bar;
        th[i].index = i;
        assert_int_equal(pthread_create(&tid[i], NULL, tl_worker, &th[i]), 0);
    }
    /* Main thread's own failure, set while the others hold theirs. */
    pthread_barrier_wait(&bar);
    assert_int_equal(sfsm_error_set(SFSM_EVETO, "main says no"), SFSM_EVETO);
    pthread_barrier_wait(&bar);
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_join(tid[i], NULL), 0);
    pthread_barrier_destroy(&bar);

    assert_string_equal(sfsm_errmsg(), "main says no");
    assert_int_equal(sfsm_errcode(), SFSM_EVETO);
    for (int i = 0; i < N; i++) {
        char name[64];
        snprintf(name, sizeof name, "stage-of-thread-%d", i);
        assert_int_equal(th[i].ok, 1);
        if (!strstr(th[i].got_before, name))
            fail_msg("thread %d: message \"%s\" does not name \"%s\"", i, th[i].got_before, name);
        /* Unchanged by the other threads' failures. */
        assert_string_equal(th[i].got_after, th[i].got_before);
        assert_int_equal(th[i].code_after, SFSM_ENOTFOUND);
    }
}

typedef struct other_fail {
    int rc;
} other_fail;

static void *fail_in_other_thread(void *arg)
{
    other_fail *r = arg;
    r->rc = sfsm_error_set(SFSM_ESTORAGE, "other thread: disk on fire");
    return NULL;
}

static void test_failure_in_other_thread_keeps_message(void **state)
{
    (void)state;
    sfsm_pipeline *p = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    size_t idx;
    assert_int_equal(sfsm_pipeline_event_index(p, "signn", &idx), SFSM_ENOTFOUND);
    char mine[256];
    snprintf(mine, sizeof mine, "%s", sfsm_errmsg());
    assert_non_null(strstr(mine, "signn"));

    other_fail r = { 0 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fail_in_other_thread, &r), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.rc, SFSM_ESTORAGE);

    assert_string_equal(sfsm_errmsg(), mine);
    assert_int_equal(sfsm_errcode(), SFSM_ENOTFOUND);
    sfsm_pipeline_free(p);
}

/* ---- sfsm_error_set ---- */

static void test_error_set_returns_code_and_formats(void **state)
{
    (void)state;
    assert_int_equal(sfsm_error_set(SFSM_ESTORAGE, "disk full writing %s", "opp-17"), SFSM_ESTORAGE);
    assert_string_equal(sfsm_errmsg(), "disk full writing opp-17");
    assert_int_equal(sfsm_errcode(), SFSM_ESTORAGE);

    assert_int_equal(sfsm_error_set(SFSM_EGUARD, "%d of %d guards: %s", 2, 3, "客户"), SFSM_EGUARD);
    assert_string_equal(sfsm_errmsg(), "2 of 3 guards: 客户");
    assert_int_equal(sfsm_errcode(), SFSM_EGUARD);

    /* Every code goes through unchanged. */
    for (size_t i = 1; i < NCODES; i++) {
        assert_int_equal(sfsm_error_set(CODES[i].value, "code %s", CODES[i].name), CODES[i].value);
        assert_int_equal(sfsm_errcode(), CODES[i].value);
        char want[64];
        snprintf(want, sizeof want, "code %s", CODES[i].name);
        assert_string_equal(sfsm_errmsg(), want);
    }

    /* An empty message is allowed and is what it says. */
    assert_int_equal(sfsm_error_set(SFSM_EINVAL, "%s", ""), SFSM_EINVAL);
    assert_string_equal(sfsm_errmsg(), "");
    assert_int_equal(sfsm_errcode(), SFSM_EINVAL);
}

static void test_error_set_truncates_long_messages(void **state)
{
    (void)state;
    enum { LONG = 5000 };
    char *big = malloc(LONG + 1);
    assert_non_null(big);
    for (int i = 0; i < LONG; i++)
        big[i] = (char)('a' + i % 26);
    big[LONG] = '\0';
    assert_int_equal(sfsm_error_set(SFSM_EPARSE, "%s", big), SFSM_EPARSE);
    const char *m = sfsm_errmsg();
    assert_non_null(m);
    assert_int_equal(strlen(m), 1023);
    assert_memory_equal(m, big, 1023);

    /* Exactly 1023 bytes fit untruncated. */
    big[1023] = '\0';
    assert_int_equal(sfsm_error_set(SFSM_EPARSE, "%s", big), SFSM_EPARSE);
    assert_string_equal(sfsm_errmsg(), big);
    /* And the following shorter message replaces the long one entirely. */
    assert_int_equal(sfsm_error_set(SFSM_EINVAL, "short"), SFSM_EINVAL);
    assert_string_equal(sfsm_errmsg(), "short");
    free(big);
}

/* ---- option initialisers ---- */

static void test_create_options_init_matches_macro(void **state)
{
    (void)state;
    sfsm_create_options m = SFSM_CREATE_OPTIONS_INIT;
    sfsm_create_options fn;
    memset(&fn, 0x5a, sizeof fn);
    assert_int_equal(sfsm_create_options_init(&fn, SFSM_CREATE_OPTIONS_VERSION), SFSM_OK);
    assert_int_equal(fn.version, m.version);
    assert_int_equal(fn.version, SFSM_CREATE_OPTIONS_VERSION);
    assert_ptr_equal(fn.id, m.id);
    assert_ptr_equal(fn.customer, m.customer);
    assert_ptr_equal(fn.owner, m.owner);
    assert_ptr_equal(fn.title, m.title);
    assert_int_equal(fn.amount, m.amount);
    assert_ptr_equal(fn.currency, m.currency);
    assert_int_equal(fn.expected_close_ms, m.expected_close_ms);
    assert_ptr_equal(fn.actor, m.actor);
    assert_null(fn.id);
    assert_null(fn.actor);
    assert_int_equal(fn.amount, 0);
}

static void test_create_options_init_unknown_version(void **state)
{
    (void)state;
    const unsigned int bad[] = { 0, SFSM_CREATE_OPTIONS_VERSION + 1, 1000, UINT_MAX };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sfsm_create_options o;
        memset(&o, 0, sizeof o);
        assert_int_equal(sfsm_create_options_init(&o, bad[i]), SFSM_EVERSION);
        assert_int_equal(sfsm_errcode(), SFSM_EVERSION);
    }
}

static void test_filter_init_matches_macro(void **state)
{
    (void)state;
    sfsm_filter m = SFSM_FILTER_INIT;
    sfsm_filter fn;
    memset(&fn, 0x5a, sizeof fn);
    assert_int_equal(sfsm_filter_init(&fn, SFSM_FILTER_VERSION), SFSM_OK);
    assert_int_equal(fn.version, m.version);
    assert_int_equal(fn.version, SFSM_FILTER_VERSION);
    assert_ptr_equal(fn.stage, m.stage);
    assert_ptr_equal(fn.owner, m.owner);
    assert_ptr_equal(fn.customer, m.customer);
    assert_int_equal(fn.changed_since_ms, m.changed_since_ms);
    assert_null(fn.stage);
    assert_int_equal(fn.changed_since_ms, 0);
}

static void test_filter_init_unknown_version(void **state)
{
    (void)state;
    const unsigned int bad[] = { 0, SFSM_FILTER_VERSION + 1, 77, UINT_MAX };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sfsm_filter f;
        memset(&f, 0, sizeof f);
        assert_int_equal(sfsm_filter_init(&f, bad[i]), SFSM_EVERSION);
    }
}

/* ---- allocator ---- */

static long cnt_malloc, cnt_realloc, cnt_free;
static void *cnt_malloc_fn(size_t n) { cnt_malloc++; return malloc(n ? n : 1); }
static void *cnt_realloc_fn(void *p, size_t n) { cnt_realloc++; return realloc(p, n ? n : 1); }
static void cnt_free_fn(void *p) { if (p) cnt_free++; free(p); }

static void test_set_allocator_partial_is_einval(void **state)
{
    (void)state;
    /* Install a counting allocator so that we can see that a rejected call
     * leaves it in place. */
    sfsm_allocator full = { cnt_malloc_fn, cnt_realloc_fn, cnt_free_fn };
    assert_int_equal(sfsm_set_allocator(&full), SFSM_OK);

    for (int mask = 1; mask < 7; mask++) {   /* 1..6: some, not all, NULL */
        sfsm_allocator a = {
            (mask & 1) ? NULL : cnt_malloc_fn,
            (mask & 2) ? NULL : cnt_realloc_fn,
            (mask & 4) ? NULL : cnt_free_fn,
        };
        assert_int_equal(sfsm_set_allocator(&a), SFSM_EINVAL);
        assert_int_equal(sfsm_errcode(), SFSM_EINVAL);
    }

    /* Still the counting allocator: the library allocates through it. */
    cnt_malloc = cnt_realloc = cnt_free = 0;
    sfsm_pipeline *p = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    assert_true(cnt_malloc + cnt_realloc > 0);
    sfsm_pipeline_free(p);
    assert_true(cnt_free > 0);

    /* All three NULL restores the default allocator. */
    sfsm_allocator none = { NULL, NULL, NULL };
    assert_int_equal(sfsm_set_allocator(&none), SFSM_OK);
    cnt_malloc = cnt_realloc = cnt_free = 0;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    sfsm_pipeline_free(p);
    assert_int_equal(cnt_malloc + cnt_realloc + cnt_free, 0);

    /* And so does a NULL pointer. */
    assert_int_equal(sfsm_set_allocator(&full), SFSM_OK);
    assert_int_equal(sfsm_set_allocator(NULL), SFSM_OK);
    cnt_malloc = cnt_realloc = cnt_free = 0;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    sfsm_pipeline_free(p);
    assert_int_equal(cnt_malloc + cnt_realloc + cnt_free, 0);
}

/* ---- version ---- */

static void test_version_string(void **state)
{
    (void)state;
    assert_non_null(sfsm_version());
    assert_string_equal(sfsm_version(), SFSM_VERSION_STRING);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", SFSM_VERSION_MAJOR, SFSM_VERSION_MINOR, SFSM_VERSION_PATCH);
    assert_string_equal(sfsm_version(), want);
    assert_ptr_equal(sfsm_version(), sfsm_version());
}

static void test_sfsm_free_null(void **state)
{
    (void)state;
    sfsm_free(NULL);
    /* Did not disturb the error state either. */
    assert_int_equal(sfsm_error_set(SFSM_EINVAL, "before"), SFSM_EINVAL);
    sfsm_free(NULL);
    assert_string_equal(sfsm_errmsg(), "before");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes_have_fixed_numbers),
        cmocka_unit_test(test_strerror_every_code),
        cmocka_unit_test(test_strerror_unknown_code),
        cmocka_unit_test(test_strerror_is_static),
        cmocka_unit_test(test_errmsg_empty_in_fresh_thread),
        cmocka_unit_test(test_errmsg_set_by_library_failure),
        cmocka_unit_test(test_errmsg_thread_local),
        cmocka_unit_test(test_failure_in_other_thread_keeps_message),
        cmocka_unit_test(test_error_set_returns_code_and_formats),
        cmocka_unit_test(test_error_set_truncates_long_messages),
        cmocka_unit_test(test_create_options_init_matches_macro),
        cmocka_unit_test(test_create_options_init_unknown_version),
        cmocka_unit_test(test_filter_init_matches_macro),
        cmocka_unit_test(test_filter_init_unknown_version),
        cmocka_unit_test(test_set_allocator_partial_is_einval),
        cmocka_unit_test(test_version_string),
        cmocka_unit_test(test_sfsm_free_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
