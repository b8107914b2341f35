/*
 * Several processes on one SQLite file (DESIGN.md §5: "safe for several
 * processes on one file"), default options (synchronous FULL, busy timeout
 * 5000 ms).
 *
 * The parent creates NOPP opportunities, closes its store and forks the
 * workers; they all wait on a pipe the parent closes once every worker is
 * forked, so they start together. Each worker has its own store handle and
 * engine and loops: open a random opportunity (fixed seed per worker),
 * sometimes yield or pause a little to widen the window, then either fire
 * the next event of the walk as a manager (qualify, quote, negotiate, sign,
 * deliver, service; now and then a detour: lose with a reason, then reopen,
 * so that transitions go on after the first opportunities reach the end) or
 * change a field (title or amount) and sfsm_opp_save_as. Every open must
 * return SFSM_OK; every write SFSM_OK, SFSM_ECONFLICT (someone else wrote
 * since the open) or SFSM_ETRANSITION (only at the end of the walk) — never
 * SFSM_ESTORAGE (a busy database) or anything else. Workers report counts
 * (total and per opportunity) through a pipe, one record each.
 *
 * The parent then checks, per opportunity: history versions 1..n without
 * gaps, version == n, stage == last `to`, each entry starts where the one
 * before ended and every transition is one the pipeline allows, n - 1 ==
 * the successes the workers reported for it; and in total: history entries
 * beyond the creates == successes, transition entries == successful fires.
 *
 * Three tests: `contended_writes` (each worker opens its store once, before
 * the start), `contended_reopen` (each worker opens and closes its store
 * many times while the others write, starting from a file with no WAL), and
 * `open_waits_for_lock`, a deterministic form of what contended_reopen hits
 * by chance: another process holds the database lock for a moment (here
 * 300 ms, through SQLite directly) while sfsm_store_open_sqlite runs; with
 * the default busy timeout of 5000 ms the open must wait, not fail.
 *
 * Environment: SFSM_MP_ITERS scales the attempts per worker.
 */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define NOPP 20
#define WALK_LEN 6
#define ID_SIZE 16

static const char *const walk[WALK_LEN] = { "qualify", "quote", "negotiate", "sign", "deliver", "service" };
static const char *const walk_from[WALK_LEN] = { "lead", "qualified", "quoted", "negotiating", "signed", "delivered" };

static void opp_name(char id[ID_SIZE], int i)
{
    snprintf(id, ID_SIZE, "mp-%02d", i);
}

/* What one worker reports: one write() (below PIPE_BUF, so atomic). */
typedef struct result {
    int32_t worker;
    uint32_t attempts;
    uint32_t fires_ok, saves_ok, conflicts, transitions;
    uint32_t sessions;        /* store opens */
    uint32_t bad;             /* anything not allowed */
    uint32_t slow_writes;     /* writes that took over 2 ms (waited for the lock) */
    int64_t max_write_us;
    uint32_t per_opp[NOPP];   /* successful writes per opportunity */
    char first_bad[512];
} result;

typedef struct plan {
    const char *name;
    int workers;
    int sessions;             /* per worker; 0: one store opened before the start */
    int attempts;             /* per session (or in all, when sessions is 0) */
} plan;

/* ---- a worker ---- */

static void note_bad(result *r, const char *what, const char *id, int rc)
{
    if (r->bad++ == 0)
        snprintf(r->first_bad, sizeof r->first_bad, "worker %d, attempt %u: %s %s -> %s (%d): %s", (int)r->worker,
                 r->attempts, what, id, sfsm_strerror(rc), rc, sfsm_errmsg() ? sfsm_errmsg() : "");
}

static int open_session(result *r, const char *path, sfsm_pipeline *p, sfsm_store **s, sfsm_engine **e)
{
    *s = NULL;
    *e = NULL;
    r->sessions++;
    int rc = sfsm_store_open_sqlite(s, path, NULL);   /* defaults: FULL, busy timeout 5000 ms */
    if (rc != SFSM_OK) {
        note_bad(r, "sfsm_store_open_sqlite", path, rc);
        return rc;
    }
    rc = sfsm_engine_new(e, p, *s);
    if (rc != SFSM_OK) {
        note_bad(r, "sfsm_engine_new", "", rc);
        sfsm_store_close(*s);
        *s = NULL;
    }
    return rc;
}

static int64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void attempt(result *r, sfsm_engine *e, unsigned *seed)
{
    char id[ID_SIZE];
    int idx = (int)(rand_r(seed) % NOPP);
    opp_name(id, idx);
    r->attempts++;
    sfsm_opp *o = NULL;
    int rc = sfsm_opp_open(e, id, &o);
    if (rc != SFSM_OK) {
        note_bad(r, "sfsm_opp_open", id, rc);
        return;
    }
    /* Widen the window between the open and the write, so that others get
     * in between (conflicts) and hold the write lock (busy waits). Only the
     * amount of contention depends on it, not what is checked. */
    unsigned pause = rand_r(seed) % 4;
    if (pause == 1)
        sched_yield();
    else if (pause == 2) {
        struct timespec ts = { 0, (long)(rand_r(seed) % 200) * 1000L };
        nanosleep(&ts, NULL);
    }

    int step = -1;
    for (int i = 0; i < WALK_LEN; i++)
        if (strcmp(sfsm_opp_stage(o), walk_from[i]) == 0)
            step = i;
    int lost = strcmp(sfsm_opp_stage(o), "lost") == 0;
    unsigned what = rand_r(seed) % 4;
    const char *op;
    char text[64];
    snprintf(text, sizeof text, "w%d-a%u", (int)r->worker, r->attempts);   /* always a change */
    int64_t t0 = now_us();
    if (what < 2) {
        const char *note = NULL;
        if (lost)
            op = "reopen";
        else if (step >= 0 && step < 4 && rand_r(seed) % 6 == 0) {
            op = "lose";   /* a detour: lost, then reopen to lead */
            note = text;
        } else
            op = step >= 0 ? walk[step] : "service";   /* past the end (serviced): ETRANSITION */
        rc = sfsm_fire(e, o, op, &MANAGER, note);
        if (rc == SFSM_OK)
            r->fires_ok++;
        else if (rc == SFSM_ETRANSITION && (step >= 0 || lost))
            note_bad(r, "sfsm_fire ETRANSITION on an event allowed from the stage", id, rc);
    } else {
        if (what == 2) {
            op = "save (title)";
            rc = sfsm_opp_set_title(o, text);
        } else {
            op = "save (amount)";
            rc = sfsm_opp_set_amount(o, 1000000 + (int64_t)r->worker * 100000 + r->attempts, "CNY");
        }
        if (rc != SFSM_OK) {
            note_bad(r, op, id, rc);
            sfsm_opp_free(o);
            return;
        }
        rc = sfsm_opp_save_as(e, o, &MANAGER, text);
        if (rc == SFSM_OK)
            r->saves_ok++;
    }
    int64_t took = now_us() - t0;
    if (took > r->max_write_us)
        r->max_write_us = took;
    if (took > 2000)
        r->slow_writes++;
    if (rc == SFSM_OK)
        r->per_opp[idx]++;
    else if (rc == SFSM_ECONFLICT)
        r->conflicts++;
    else if (rc == SFSM_ETRANSITION)
        r->transitions++;
    else
        note_bad(r, op, id, rc);
    sfsm_opp_free(o);
}

static void worker_main(const plan *pl, const char *path, int w, int go_fd, int res_fd)
{
    result r;
    memset(&r, 0, sizeof r);
    r.worker = w;
    unsigned seed = 20260101u + 7919u * (unsigned)w;   /* fixed per worker */
    sfsm_pipeline *p = NULL;
    sfsm_store *s = NULL;
    sfsm_engine *e = NULL;
    int rc = sfsm_pipeline_default(&p);
    if (rc != SFSM_OK)
        note_bad(&r, "sfsm_pipeline_default", "", rc);
    if (rc == SFSM_OK && pl->sessions == 0)
        rc = open_session(&r, path, p, &s, &e);

    /* wait for the start: EOF when the parent closes its end */
    char c;
    while (read(go_fd, &c, 1) < 0 && errno == EINTR)
        ;

    if (rc == SFSM_OK) {
        if (pl->sessions == 0) {
            for (int i = 0; i < pl->attempts; i++)
                attempt(&r, e, &seed);
        } else {
            for (int k = 0; k < pl->sessions; k++) {
                if (open_session(&r, path, p, &s, &e) != SFSM_OK)
                    continue;
                for (int i = 0; i < pl->attempts; i++)
                    attempt(&r, e, &seed);
                sfsm_engine_free(e);
                sfsm_store_close(s);
                e = NULL;
                s = NULL;
            }
        }
    }
    sfsm_engine_free(e);
    sfsm_store_close(s);
    sfsm_pipeline_free(p);
    if (write(res_fd, &r, sizeof r) != (ssize_t)sizeof r)
        _exit(3);
    _exit(r.bad ? 1 : 0);
}

/* ---- the parent ---- */

typedef struct hist {
    const sfsm_pipeline *p;
    size_t n;
    size_t transitions, updates, creates;
    char last_to[32];
    char problem[256];
} hist;

static int collect_history(const sfsm_history_entry *h, void *ud)
{
    hist *x = ud;
    x->n++;
    if (!x->problem[0] && h->version != x->n)
        snprintf(x->problem, sizeof x->problem, "entry %zu has version %" PRIu64, x->n, h->version);
    if (!x->problem[0] && x->n > 1 && (!h->from || strcmp(h->from, x->last_to) != 0))
        snprintf(x->problem, sizeof x->problem, "entry %zu goes from %s, the one before ended at %s", x->n,
                 h->from ? h->from : "(null)", x->last_to);
    if (h->kind == SFSM_HISTORY_CREATE)
        x->creates++;
    else if (h->kind == SFSM_HISTORY_TRANSITION) {
        /* replay: the event leads from `from` to `to` in the pipeline */
        size_t ev, from, to;
        x->transitions++;
        if (!x->problem[0] && (!h->event || !h->from || !h->to ||
                               sfsm_pipeline_event_index(x->p, h->event, &ev) != SFSM_OK ||
                               sfsm_pipeline_stage_index(x->p, h->from, &from) != SFSM_OK ||
                               sfsm_pipeline_stage_index(x->p, h->to, &to) != SFSM_OK ||
                               !sfsm_pipeline_event_allowed_from(x->p, ev, from) ||
                               sfsm_pipeline_event_target(x->p, ev) != to))
            snprintf(x->problem, sizeof x->problem, "entry %zu: event %s from %s to %s is not in the pipeline", x->n,
                     h->event ? h->event : "(null)", h->from ? h->from : "(null)", h->to ? h->to : "(null)");
    }
    else if (h->kind == SFSM_HISTORY_UPDATE) {
        x->updates++;
        if (!x->problem[0] && (!h->from || !h->to || strcmp(h->from, h->to) != 0))
            snprintf(x->problem, sizeof x->problem, "update entry %zu changes the stage", x->n);
    }
    if (!x->problem[0] && (x->n == 1) != (h->kind == SFSM_HISTORY_CREATE))
        snprintf(x->problem, sizeof x->problem, "entry %zu has kind %d", x->n, h->kind);
    copy_str(x->last_to, sizeof x->last_to, h->to);
    return 0;
}

static void remove_db(const char *path)
{
    static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < 4; i++) {
        char name[600];
        snprintf(name, sizeof name, "%s%s", path, suffix[i]);
        unlink(name);
    }
}

static void run_plan(const plan *pl)
{
    char path[512];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/sfsm-mp-XXXXXX", dir && *dir ? dir : "/tmp");
    int tfd = mkstemp(path);
    assert_true(tfd >= 0);
    close(tfd);

    /* the opportunities everybody works on */
    sfsm_pipeline *p = NULL;
    sfsm_store *s = NULL;
    sfsm_engine *e = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    if (sfsm_store_open_sqlite(&s, path, NULL) != SFSM_OK)
        fail_msg("open %s: %s", path, sfsm_errmsg());
    assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
    for (int i = 0; i < NOPP; i++) {
        char id[ID_SIZE];
        opp_name(id, i);
        sfsm_create_options co = SFSM_CREATE_OPTIONS_INIT;
        co.id = id;
        co.customer = "Acme Ltd";
        co.amount = 1200000;
        co.currency = "CNY";
        co.actor = &MANAGER;
        sfsm_opp *o = NULL;
        if (sfsm_opp_create_ext(e, &co, &o) != SFSM_OK)
            fail_msg("create %s: %s", id, sfsm_errmsg());
        sfsm_opp_free(o);
    }
    /* closed before forking: no connection crosses a fork */
    sfsm_engine_free(e);
    sfsm_store_close(s);
    e = NULL;
    s = NULL;

    int go[2], res[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(res), 0);
    pid_t pids[16];
    assert_true(pl->workers <= 16);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fflush(stdout);
    fflush(stderr);
    for (int w = 0; w < pl->workers; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            close(go[1]);
            close(res[0]);
            worker_main(pl, path, w, go[0], res[1]);
        }
    }
    close(res[1]);
    close(go[0]);
    close(go[1]);   /* start */

    result all[16];
    int got = 0;
    for (;;) {
        result r;
        size_t n = 0;
        while (n < sizeof r) {
            ssize_t k = read(res[0], (char *)&r + n, sizeof r - n);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                break;
            n += (size_t)k;
        }
        if (n == 0)
            break;
        assert_int_equal(n, sizeof r);
        assert_true(got < pl->workers);
        all[got++] = r;
    }
    close(res[0]);
    int failed_exit = 0;
    for (int w = 0; w < pl->workers; w++) {
        int status = 0;
        while (waitpid(pids[w], &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "worker %d: status 0x%x\n", w, status);
            failed_exit = 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

    unsigned long attempts = 0, fires = 0, saves = 0, conflicts = 0, transitions = 0, sessions = 0, bad = 0,
                  slow = 0;
    unsigned long per_opp[NOPP] = { 0 };
    for (int i = 0; i < got; i++) {
        const result *r = &all[i];
        printf("#   worker %d: %u attempts, %u fires and %u saves ok, %u conflicts, %u at the end, %u opens,"
               " %u bad; %u writes over 2 ms, slowest %.1f ms\n",
               (int)r->worker, r->attempts, r->fires_ok, r->saves_ok, r->conflicts, r->transitions, r->sessions,
               r->bad, r->slow_writes, (double)r->max_write_us / 1000.0);
        slow += r->slow_writes;
        if (r->bad)
            fprintf(stderr, "%s: %u bad result(s); first: %s\n", pl->name, r->bad, r->first_bad);
        attempts += r->attempts;
        fires += r->fires_ok;
        saves += r->saves_ok;
        conflicts += r->conflicts;
        transitions += r->transitions;
        sessions += r->sessions;
        bad += r->bad;
        for (int k = 0; k < NOPP; k++)
            per_opp[k] += r->per_opp[k];
    }
    printf("# %s: %d workers, %lu attempts (%lu store opens): %lu fires + %lu saves ok, %lu conflicts,"
           " %lu past the end, %lu bad; %lu writes over 2 ms; %.1f s\n",
           pl->name, pl->workers, attempts, sessions, fires, saves, conflicts, transitions, bad, slow, secs);
    if (got != pl->workers)
        fail_msg("%s: %d of %d workers reported (database %s)", pl->name, got, pl->workers, path);
    if (bad)
        fail_msg("%s: %lu attempt(s) returned something other than SFSM_OK/ECONFLICT/ETRANSITION (database %s); "
                 "see stderr", pl->name, bad, path);
    if (failed_exit)
        fail_msg("%s: a worker did not exit cleanly (database %s)", pl->name, path);
    unsigned long expected_attempts = (unsigned long)pl->workers * (unsigned long)pl->attempts *
                                      (unsigned long)(pl->sessions ? pl->sessions : 1);
    assert_int_equal(attempts, expected_attempts);
    assert_int_equal(attempts, fires + saves + conflicts + transitions);

    /* what is stored */
    if (sfsm_store_open_sqlite(&s, path, NULL) != SFSM_OK)
        fail_msg("reopen %s: %s", path, sfsm_errmsg());
    assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
    assert_int_equal(count_opps(e, NULL), NOPP);
    unsigned long entries = 0, stored_transitions = 0;
    for (int i = 0; i < NOPP; i++) {
        char id[ID_SIZE];
        opp_name(id, i);
        sfsm_opp *o = NULL;
        if (sfsm_opp_open(e, id, &o) != SFSM_OK)
            fail_msg("open %s: %s", id, sfsm_errmsg());
        hist h;
        memset(&h, 0, sizeof h);
        h.p = p;
        assert_int_equal(sfsm_opp_history(e, id, collect_history, &h), SFSM_OK);
        if (h.problem[0])
            fail_msg("%s: history of %s: %s", pl->name, id, h.problem);
        if (sfsm_opp_version(o) != h.n)
            fail_msg("%s: %s has version %" PRIu64 " and %zu history entries", pl->name, id, sfsm_opp_version(o), h.n);
        if (strcmp(sfsm_opp_stage(o), h.last_to) != 0)
            fail_msg("%s: %s is at %s, its last history entry goes to %s", pl->name, id, sfsm_opp_stage(o), h.last_to);
        if (h.n - 1 != per_opp[i])
            fail_msg("%s: %s has %zu entries after the create, workers reported %lu successful writes", pl->name, id,
                     h.n - 1, per_opp[i]);
        entries += h.n;
        stored_transitions += h.transitions;
        sfsm_opp_free(o);
    }
    assert_int_equal(entries - NOPP, fires + saves);
    assert_int_equal(stored_transitions, fires);
    sfsm_engine_free(e);
    sfsm_store_close(s);
    sfsm_pipeline_free(p);
    remove_db(path);
}

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : def;
}

static void test_contended_writes(void **unused)
{
    (void)unused;
    plan pl = { "contended_writes", 6, 0, (int)env_long("SFSM_MP_ITERS", 400) };
    run_plan(&pl);
}

static void test_contended_reopen(void **unused)
{
    (void)unused;
    plan pl = { "contended_reopen", 4, (int)(env_long("SFSM_MP_ITERS", 400) / 10), 10 };
    run_plan(&pl);
}

/* A process that takes the database's exclusive lock, says so on ready_fd,
 * keeps it for hold_ms and lets go. */
static void lock_holder(const char *path, int ready_fd, long hold_ms)
{
    sqlite3 *db = NULL;
    int ok = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
             sqlite3_exec(db, "PRAGMA locking_mode=EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK &&
             sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK;
    if (!ok) {
        fprintf(stderr, "lock holder: %s\n", db ? sqlite3_errmsg(db) : "open failed");
        _exit(2);
    }
    if (write(ready_fd, "L", 1) != 1)
        _exit(3);
    struct timespec ts = { hold_ms / 1000, (hold_ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);   /* releases the lock */
    _exit(0);
}

static void test_open_waits_for_lock(void **unused)
{
    (void)unused;
    char path[512];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/sfsm-mp-XXXXXX", dir && *dir ? dir : "/tmp");
    int tfd = mkstemp(path);
    assert_true(tfd >= 0);
    close(tfd);
    sfsm_pipeline *p = NULL;
    sfsm_store *s = NULL;
    sfsm_engine *e = NULL;
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    if (sfsm_store_open_sqlite(&s, path, NULL) != SFSM_OK)
        fail_msg("open %s: %s", path, sfsm_errmsg());
    assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
    assert_int_equal(sfsm_opp_create(e, "mp-lock", &o), SFSM_OK);
    sfsm_opp_free(o);
    o = NULL;
    sfsm_engine_free(e);
    sfsm_store_close(s);
    e = NULL;
    s = NULL;

    int ready[2];
    assert_int_equal(pipe(ready), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        lock_holder(path, ready[1], 300);
    }
    close(ready[1]);
    char c = 0;
    ssize_t n;
    while ((n = read(ready[0], &c, 1)) < 0 && errno == EINTR)
        ;
    close(ready[0]);
    if (n != 1) {
        int status = 0;
        waitpid(pid, &status, 0);
        fail_msg("the lock holder did not get the lock (status 0x%x)", status);
    }

    /* the lock is held now, and for about 300 ms more */
    int64_t t0 = now_us();
    int rc = sfsm_store_open_sqlite(&s, path, NULL);   /* default busy timeout: 5000 ms */
    char msg[512];
    copy_str(msg, sizeof msg, sfsm_errmsg());
    double waited_ms = (double)(now_us() - t0) / 1000.0;
    if (rc == SFSM_OK) {
        assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
        assert_int_equal(sfsm_opp_open(e, "mp-lock", &o), SFSM_OK);
        assert_int_equal(sfsm_opp_set_title(o, "after the lock"), SFSM_OK);
        assert_int_equal(sfsm_opp_save_as(e, o, &MANAGER, NULL), SFSM_OK);
        assert_int_equal(sfsm_opp_version(o), 2);
        sfsm_opp_free(o);
        sfsm_engine_free(e);
        sfsm_store_close(s);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    printf("# open_waits_for_lock: sfsm_store_open_sqlite returned %s after %.1f ms\n", sfsm_strerror(rc), waited_ms);
    sfsm_pipeline_free(p);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (rc != SFSM_OK)
        fail_msg("sfsm_store_open_sqlite while another process held the lock for 300 ms (busy timeout 5000 ms) "
                 "returned %s after %.1f ms instead of waiting: %s",
                 sfsm_strerror(rc), waited_ms, msg);
    remove_db(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contended_writes),
        cmocka_unit_test(test_contended_reopen),
        cmocka_unit_test(test_open_waits_for_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
