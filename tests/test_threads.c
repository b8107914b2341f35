/* Several threads, each with its own engine, on one shared store and one
 * shared pipeline. Threads record outcomes; the main thread asserts (cmocka
 * assertions are not thread-safe). */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 4

typedef struct shared {
    sfsm_pipeline *pipeline;
    sfsm_store *store;
    char path[256];
    sfsm_engine *main_engine;
    pthread_barrier_t start;
} shared;

typedef struct worker {
    shared *sh;
    int tid;
    int64_t now;
    sfsm_engine *engine;
    /* outcomes */
    long bad;                 /* unexpected results */
    char first_bad[512];
    long fires_ok, saves_ok, conflicts, transitions;
    long after_hooks;
    long writes[64];          /* successful writes per shared opportunity */
    unsigned rng;
} worker;

static int64_t worker_clock(void *ud)
{
    return ((worker *)ud)->now;
}

static void count_after(const sfsm_transition *t, void *ud)
{
    (void)t;
    ((worker *)ud)->after_hooks++;
}

static void note_bad(worker *w, const char *what, int rc)
{
    if (w->bad++ == 0)
        snprintf(w->first_bad, sizeof w->first_bad, "thread %d: %s: rc %d (%s) %s", w->tid, what, rc,
                 sfsm_strerror(rc), sfsm_errmsg());
}

static int worker_engine(worker *w)
{
    int rc = sfsm_engine_new(&w->engine, w->sh->pipeline, w->sh->store);
    if (rc != SFSM_OK) {
        note_bad(w, "engine_new", rc);
        return rc;
    }
    w->now = T0_MS + w->tid * 1000;
    sfsm_engine_set_clock(w->engine, worker_clock, w);
    rc = sfsm_engine_on_after(w->engine, NULL, count_after, w);
    if (rc != SFSM_OK)
        note_bad(w, "on_after", rc);
    return rc;
}

static void shared_init(shared *sh)
{
    memset(sh, 0, sizeof *sh);
    assert_int_equal(sfsm_pipeline_default(&sh->pipeline), SFSM_OK);
    test_store_open(&sh->store, sh->path);
    assert_int_equal(sfsm_engine_new(&sh->main_engine, sh->pipeline, sh->store), SFSM_OK);
    assert_int_equal(pthread_barrier_init(&sh->start, NULL, NTHREADS), 0);
}

static void shared_free(shared *sh)
{
    pthread_barrier_destroy(&sh->start);
    sfsm_engine_free(sh->main_engine);
    sfsm_store_close(sh->store);
    test_store_remove(sh->path);
    sfsm_pipeline_free(sh->pipeline);
}

static void run_workers(worker *w, void *(*fn)(void *), shared *sh)
{
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].sh = sh;
        w[i].tid = i;
        w[i].rng = 12345u + 7919u * (unsigned)i;
        assert_int_equal(pthread_create(&t[i], NULL, fn, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < NTHREADS; i++)
        if (w[i].bad)
            fail_msg("%ld unexpected results; first: %s", w[i].bad, w[i].first_bad);
}

/* ---- history checks (main thread) ---- */

typedef struct hcheck {
    size_t n;
    uint64_t last_version;
    int gap;
    int broken_chain;
    char last_to[64];
    char prev_to[64];
    size_t creates, transitions, updates;
} hcheck;

static int hcheck_cb(const sfsm_history_entry *h, void *ud)
{
    hcheck *c = ud;
    c->n++;
    if (h->version != c->n)
        c->gap = 1;
    if (c->n == 1) {
        if (h->kind != SFSM_HISTORY_CREATE || h->from != NULL)
            c->broken_chain = 1;
    } else if (!h->from || strcmp(h->from, c->prev_to) != 0) {
        c->broken_chain = 1;
    }
    if (h->kind == SFSM_HISTORY_CREATE)
        c->creates++;
    else if (h->kind == SFSM_HISTORY_TRANSITION)
        c->transitions++;
    else if (h->kind == SFSM_HISTORY_UPDATE)
        c->updates++;
    snprintf(c->prev_to, sizeof c->prev_to, "%s", h->to ? h->to : "");
    snprintf(c->last_to, sizeof c->last_to, "%s", h->to ? h->to : "");
    c->last_version = h->version;
    return 0;
}

/* Checks one opportunity's invariants; returns its history entry count. */
static size_t check_opp(sfsm_engine *e, const char *id, const char *want_stage)
{
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_open(e, id, &o), SFSM_OK);
    hcheck c;
    memset(&c, 0, sizeof c);
    assert_int_equal(sfsm_opp_history(e, id, hcheck_cb, &c), SFSM_OK);
    if (c.n != sfsm_opp_version(o))
        fail_msg("%s: %zu history entries, version %llu", id, c.n,
                 (unsigned long long)sfsm_opp_version(o));
    if (c.gap)
        fail_msg("%s: history versions are not 1..%zu", id, c.n);
    if (c.broken_chain)
        fail_msg("%s: an entry's from is not the previous entry's to", id);
    assert_int_equal(c.creates, 1);
    if (strcmp(c.last_to, sfsm_opp_stage(o)) != 0)
        fail_msg("%s: stage %s, last history entry to %s", id, sfsm_opp_stage(o), c.last_to);
    if (want_stage)
        assert_string_equal(sfsm_opp_stage(o), want_stage);
    sfsm_opp_free(o);
    return c.n;
}

/* ---- 1. each thread walks its own opportunities ---- */

#define OWN 60

static const char *const WALK[] = { "qualify", "quote", "negotiate", "sign", "deliver", "service" };

static const sfsm_actor *walk_actor(int step)
{
    return step < 4 ? &REP : step == 4 ? &ASSISTANT : &SUPPORT;
}

static void walk_own(worker *w, const char *prefix, int count)
{
    for (int i = 0; i < count; i++) {
        char id[64];
        snprintf(id, sizeof id, "%s-%d-%03d", prefix, w->tid, i);
        sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
        opts.id = id;
        opts.customer = "Acme Ltd";
        opts.owner = "ravi";
        opts.amount = 100 + i;
        opts.currency = "CNY";
        sfsm_opp *o = NULL;
        int rc = sfsm_opp_create_ext(w->engine, &opts, &o);
        if (rc != SFSM_OK) {
            note_bad(w, "create", rc);
            continue;
        }
        for (int s = 0; s < 6; s++) {
            w->now++;
            rc = sfsm_fire(w->engine, o, WALK[s], walk_actor(s), NULL);
            if (rc != SFSM_OK) {
                note_bad(w, WALK[s], rc);
                break;
            }
            w->fires_ok++;
        }
        sfsm_opp_free(o);
    }
}

static void *own_worker(void *arg)
{
    worker *w = arg;
    if (worker_engine(w) == SFSM_OK) {
        pthread_barrier_wait(&w->sh->start);
        walk_own(w, "own", OWN);
    } else {
        pthread_barrier_wait(&w->sh->start);
    }
    sfsm_engine_free(w->engine);
    return NULL;
}

static void test_threads_own_opportunities(void **state)
{
    (void)state;
    shared sh;
    shared_init(&sh);
    worker w[NTHREADS];
    run_workers(w, own_worker, &sh);

    for (int t = 0; t < NTHREADS; t++) {
        assert_int_equal(w[t].fires_ok, 6 * OWN);
        assert_int_equal(w[t].after_hooks, 6 * OWN);
        for (int i = 0; i < OWN; i++) {
            char id[64];
            snprintf(id, sizeof id, "own-%d-%03d", t, i);
            assert_int_equal(check_opp(sh.main_engine, id, "serviced"), 7);
        }
    }
    size_t n = 0;
    assert_int_equal(sfsm_scan(sh.main_engine, NULL, count_opps_cb, &n), SFSM_OK);
    assert_int_equal(n, NTHREADS * OWN);
    sfsm_filter f = SFSM_FILTER_INIT;
    f.stage = "serviced";
    n = 0;
    assert_int_equal(sfsm_scan(sh.main_engine, &f, count_opps_cb, &n), SFSM_OK);
    assert_int_equal(n, NTHREADS * OWN);
    shared_free(&sh);
}

/* ---- 2. all threads race on a shared set ---- */

#define SHARED_OPPS 6
#define SYNC_ROUNDS 150   /* all threads open the same one, then all write */
#define FREE_ROUNDS 400   /* free-running, random picks */
#define ROUNDS (SYNC_ROUNDS + FREE_ROUNDS)

/* The next event in an endless cycle lead → qualified → quoted →
 * negotiating → lost → lead. */
static const char *next_event(const char *stage, const char **note)
{
    *note = NULL;
    if (strcmp(stage, "lead") == 0)
        return "qualify";
    if (strcmp(stage, "qualified") == 0)
        return "quote";
    if (strcmp(stage, "quoted") == 0)
        return "negotiate";
    if (strcmp(stage, "negotiating") == 0) {
        *note = "lost in the race";
        return "lose";
    }
    if (strcmp(stage, "lost") == 0)
        return "reopen";
    return NULL;
}

static unsigned next_rand(worker *w)
{
    w->rng = w->rng * 1103515245u + 12345u;
    return (w->rng >> 16) & 0x7fff;
}

/* allowed: bit per acceptable result besides OK */
enum { ALLOW_CONFLICT = 1, ALLOW_TRANSITION = 2 };

static int judge(worker *w, const char *what, int rc, int allowed, int idx)
{
    if (rc == SFSM_OK) {
        w->writes[idx]++;
        return 1;
    }
    if (rc == SFSM_ECONFLICT && (allowed & ALLOW_CONFLICT)) {
        w->conflicts++;
        return 0;
    }
    if (rc == SFSM_ETRANSITION && (allowed & ALLOW_TRANSITION)) {
        w->transitions++;
        return 0;
    }
    note_bad(w, what, rc);
    return 0;
}

static void *race_worker(void *arg)
{
    worker *w = arg;
    int ok = worker_engine(w) == SFSM_OK;
    pthread_barrier_wait(&w->sh->start);
    for (int r = 0; r < ROUNDS; r++) {
        int synced = r < SYNC_ROUNDS;
        int idx = synced ? r % SHARED_OPPS : (int)(next_rand(w) % SHARED_OPPS);
        char id[32];
        snprintf(id, sizeof id, "race-%d", idx);
        sfsm_opp *o = NULL;
        int rc = ok ? sfsm_opp_open(w->engine, id, &o) : SFSM_EINVAL;
        if (synced)   /* everyone holds a handle of the same version now */
            pthread_barrier_wait(&w->sh->start);
        if (!ok)
            continue;
        if (rc != SFSM_OK) {
            note_bad(w, "open", rc);
            continue;
        }
        w->now++;
        int action = (int)(next_rand(w) % 4);
        int wrote = 0;
        const char *note;
        if (action <= 1) {
            /* The event the handle's stage allows: OK or a conflict. */
            const char *ev = next_event(sfsm_opp_stage(o), &note);
            rc = sfsm_fire(w->engine, o, ev, &MANAGER, note);
            wrote = judge(w, ev, rc, ALLOW_CONFLICT, idx);
            if (wrote)
                w->fires_ok++;
        } else if (action == 2) {
            char title[64];
            snprintf(title, sizeof title, "t%d-r%d", w->tid, r);
            sfsm_opp_set_title(o, title);
            sfsm_opp_set_attr(o, "last-writer", title);
            rc = sfsm_opp_save(w->engine, o);
            wrote = judge(w, "save", rc, ALLOW_CONFLICT, idx);
            if (wrote)
                w->saves_ok++;
        } else {
            /* Blindly: may not be allowed from the stage it is in. */
            rc = sfsm_fire(w->engine, o, "qualify", &MANAGER, NULL);
            wrote = judge(w, "qualify (blind)", rc, ALLOW_CONFLICT | ALLOW_TRANSITION, idx);
            if (wrote)
                w->fires_ok++;
        }
        if (wrote) {
            /* Keep going on the same handle: it is current unless another
             * thread wrote in between. */
            const char *ev = next_event(sfsm_opp_stage(o), &note);
            w->now++;
            rc = sfsm_fire(w->engine, o, ev, &MANAGER, note);
            if (judge(w, ev, rc, ALLOW_CONFLICT, idx))
                w->fires_ok++;
        }
        sfsm_opp_free(o);
    }
    sfsm_engine_free(w->engine);
    return NULL;
}

static void test_threads_race_shared_opportunities(void **state)
{
    (void)state;
    shared sh;
    shared_init(&sh);
    for (int i = 0; i < SHARED_OPPS; i++) {
        char id[32];
        snprintf(id, sizeof id, "race-%d", i);
        sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
        opts.id = id;
        opts.customer = "Shared Customer";
        opts.amount = 5000;
        opts.currency = "EUR";
        sfsm_opp *o = NULL;
        assert_int_equal(sfsm_opp_create_ext(sh.main_engine, &opts, &o), SFSM_OK);
        sfsm_opp_free(o);
    }
    worker w[NTHREADS];
    run_workers(w, race_worker, &sh);

    long total_writes = 0, total_fires = 0, total_after = 0, total_saves = 0;
    for (int t = 0; t < NTHREADS; t++) {
        total_fires += w[t].fires_ok;
        total_saves += w[t].saves_ok;
        total_after += w[t].after_hooks;
    }
    /* Each successful fire ran exactly one after hook; failed ones none. */
    assert_int_equal(total_after, total_fires);
    for (int i = 0; i < SHARED_OPPS; i++) {
        char id[32];
        snprintf(id, sizeof id, "race-%d", i);
        long writes = 0;
        for (int t = 0; t < NTHREADS; t++)
            writes += w[t].writes[i];
        size_t n = check_opp(sh.main_engine, id, NULL);
        if ((long)n - 1 != writes)
            fail_msg("%s: %ld successful writes, %zu history entries beyond the create", id, writes, n - 1);
        total_writes += writes;
    }
    assert_int_equal(total_writes, total_fires + total_saves);
    /* The race was real: some writes won and some lost. In each synced
     * round at least two threads try to write the same version. */
    long conflicts = 0;
    for (int t = 0; t < NTHREADS; t++)
        conflicts += w[t].conflicts;
    assert_true(conflicts > 0);
    assert_true(total_writes >= SYNC_ROUNDS);
    shared_free(&sh);
}

/* ---- 3. one thread holds a batch while the others work ---- */

#define BATCHED 20

typedef struct holder {
    worker w;
    int begin_rc, commit_rc;
    long fires_in_batch;
    long after_before_commit;
} holder;

static void *holder_thread(void *arg)
{
    holder *h = arg;
    worker *w = &h->w;
    int ok = worker_engine(w) == SFSM_OK;
    sfsm_opp *opps[BATCHED] = { NULL };
    /* Every engine exists before the batch begins. */
    pthread_barrier_wait(&w->sh->start);
    h->begin_rc = ok ? sfsm_engine_begin(w->engine) : -100;
    if (h->begin_rc == SFSM_OK) {
        for (int i = 0; i < BATCHED; i++) {
            char id[32];
            snprintf(id, sizeof id, "batch-%03d", i);
            sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
            opts.id = id;
            opts.customer = "Batch Corp";
            opts.amount = 42;
            opts.currency = "USD";
            int rc = sfsm_opp_create_ext(w->engine, &opts, &opps[i]);
            if (rc != SFSM_OK) {
                note_bad(w, "create in batch", rc);
                continue;
            }
            rc = sfsm_fire(w->engine, opps[i], "qualify", &REP, NULL);
            if (rc == SFSM_OK)
                h->fires_in_batch++;
            else
                note_bad(w, "qualify in batch", rc);
        }
    }
    /* Let the others go while the batch is still open. */
    pthread_barrier_wait(&w->sh->start);
    if (h->begin_rc == SFSM_OK) {
        for (int i = 0; i < BATCHED; i++) {
            if (!opps[i])
                continue;
            w->now++;
            int rc = sfsm_fire(w->engine, opps[i], "quote", &REP, NULL);
            if (rc == SFSM_OK)
                h->fires_in_batch++;
            else
                note_bad(w, "quote in batch", rc);
        }
        h->after_before_commit = w->after_hooks;
        h->commit_rc = sfsm_engine_commit(w->engine);
    }
    for (int i = 0; i < BATCHED; i++)
        sfsm_opp_free(opps[i]);
    sfsm_engine_free(w->engine);
    return NULL;
}

static void *batch_worker(void *arg)
{
    worker *w = arg;
    int ok = worker_engine(w) == SFSM_OK;
    pthread_barrier_wait(&w->sh->start);   /* engines ready */
    pthread_barrier_wait(&w->sh->start);   /* the batch is open */
    if (ok)
        walk_own(w, "free", 25);
    sfsm_engine_free(w->engine);
    return NULL;
}

static void test_threads_batch_holder(void **state)
{
    (void)state;
    shared sh;
    shared_init(&sh);
    holder h;
    memset(&h, 0, sizeof h);
    h.w.sh = &sh;
    h.w.tid = NTHREADS - 1;
    worker w[NTHREADS - 1];
    pthread_t ht, t[NTHREADS - 1];
    assert_int_equal(pthread_create(&ht, NULL, holder_thread, &h), 0);
    for (int i = 0; i < NTHREADS - 1; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].sh = &sh;
        w[i].tid = i;
        assert_int_equal(pthread_create(&t[i], NULL, batch_worker, &w[i]), 0);
    }
    assert_int_equal(pthread_join(ht, NULL), 0);
    for (int i = 0; i < NTHREADS - 1; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);

    assert_int_equal(h.begin_rc, SFSM_OK);
    assert_int_equal(h.commit_rc, SFSM_OK);
    if (h.w.bad)
        fail_msg("batch holder: %s", h.w.first_bad);
    for (int i = 0; i < NTHREADS - 1; i++)
        if (w[i].bad)
            fail_msg("%s", w[i].first_bad);
    assert_int_equal(h.fires_in_batch, 2 * BATCHED);
    /* Batch hooks run at commit, not before. */
    assert_int_equal(h.after_before_commit, 0);
    assert_int_equal(h.w.after_hooks, 2 * BATCHED);

    for (int i = 0; i < BATCHED; i++) {
        char id[32];
        snprintf(id, sizeof id, "batch-%03d", i);
        assert_int_equal(check_opp(sh.main_engine, id, "quoted"), 3);
    }
    for (int t2 = 0; t2 < NTHREADS - 1; t2++) {
        assert_int_equal(w[t2].fires_ok, 6 * 25);
        for (int i = 0; i < 25; i++) {
            char id[64];
            snprintf(id, sizeof id, "free-%d-%03d", t2, i);
            assert_int_equal(check_opp(sh.main_engine, id, "serviced"), 7);
        }
    }
    size_t n = 0;
    assert_int_equal(sfsm_scan(sh.main_engine, NULL, count_opps_cb, &n), SFSM_OK);
    assert_int_equal(n, BATCHED + (NTHREADS - 1) * 25);
    shared_free(&sh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_own_opportunities),
        cmocka_unit_test(test_threads_race_shared_opportunities),
        cmocka_unit_test(test_threads_batch_holder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
