/*
 * Crash safety of the SQLite store (DESIGN.md §5: "once sfsm_fire returned
 * SFSM_OK on a durable store, the transition and its history entry survive a
 * kill -9 at any later point").
 *
 * Each round forks a child that opens the store (synchronous FULL, the
 * default) on one file shared by all rounds, finishes the opportunity the
 * previous round's child was walking when it died, then creates new ones
 * (customer and amount set at creation) and walks each through the default
 * pipeline as a manager: qualify, quote, negotiate, sign, deliver, service.
 * After every create/fire that returned SFSM_OK the child writes the
 * acknowledged (id, version, stage) to a pipe as one fixed-size record with a
 * single write(). Every 16 writes a second connection of the child
 * checkpoints the WAL (passive or truncate), so that some kills land inside
 * a checkpoint. The parent kills the child with SIGKILL after a
 * pseudo-random number of acks (1..200, fixed seed) plus a pseudo-random
 * busy-wait (to move the kill around inside the next transaction; no
 * correctness depends on time), drains the acks still in the pipe, and then:
 *   - PRAGMA integrity_check on the file, through SQLite directly, read-only;
 *   - reopens the store and checks every ack of every round so far: the
 *     opportunity exists, its stored version is the last ack or one more
 *     (a commit whose ack the kill cut off), and its history has an entry
 *     with each acked version whose `to` is the acked stage;
 *   - every stored opportunity: history versions 1..version without gaps,
 *     each entry starts where the previous one ended, stage == last `to`,
 *     and one that was never acked is a create (version 1) the kill cut off.
 *
 * Environment: SFSM_CRASH_ROUNDS (default 100), SFSM_CRASH_SEED (default
 * 20260101), SFSM_CRASH_KEEP=1 keeps the database file. On failure the file
 * is kept and its name printed. SFSM_CRASH_SELFTEST=1 makes the child ack
 * before it writes (a store that acknowledges too early): the test must fail.
 */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define MAX_ACKS_PER_ROUND 200
#define SPIN_MAX 400000L
#define WALK_LEN 6                 /* events after the create */
#define MAX_VERSION (WALK_LEN + 1) /* create + walk */
#define ID_SIZE 32
#define CHECKPOINT_EVERY 16

static const char *const walk[WALK_LEN] = { "qualify", "quote", "negotiate", "sign", "deliver", "service" };

/* One acknowledgement: what the child saw after SFSM_OK. Written with one
 * write() (far below PIPE_BUF, so atomic). */
typedef struct ack {
    char id[ID_SIZE];
    uint64_t version;
    int32_t stage;   /* stage index after the commit */
    int32_t round;
} ack;

/* ---- deterministic pseudo-random numbers (same on every libc) ---- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t x = rng_state;   /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * UINT64_C(2685821657736338717);
}

/* Spreads a small seed over the state (splitmix64), so that seeds 1, 2, 3
 * give unrelated sequences. */
static void rng_seed(uint64_t seed)
{
    uint64_t z = seed + UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    z ^= z >> 31;
    rng_state = z ? z : 1;
}

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : def;
}

/* ---- the child ---- */

static void child_die(int round, const char *what, const char *id, int rc)
{
    fprintf(stderr, "crash child (round %d): %s %s -> %s: %s\n", round, what, id ? id : "", sfsm_strerror(rc),
            sfsm_errmsg() ? sfsm_errmsg() : "");
    _exit(11);
}

/* Self-test of the checks (SFSM_CRASH_SELFTEST=1): the child acks each
 * write just BEFORE making it, as a store that acknowledged too early would;
 * the test must then report lost data. */
static int early_ack;

static void send_ack_raw(int fd, int round, const char *id, uint64_t version, size_t stage)
{
    ack a;
    memset(&a, 0, sizeof a);
    snprintf(a.id, sizeof a.id, "%s", id);
    a.version = version;
    a.stage = (int32_t)stage;
    a.round = round;
    if (write(fd, &a, sizeof a) != (ssize_t)sizeof a)
        _exit(12);   /* the parent is gone */
}

/* A second connection of the child that checkpoints the WAL into the
 * database file every CHECKPOINT_EVERY writes, so that kills also land in
 * the middle of checkpoints (the library's own connection would hardly ever
 * start one: the WAL of one round stays below SQLite's 1000-page trigger). */
static sqlite3 *ckpt_db;
static long writes_done;

static void after_write(int round)
{
    if (++writes_done % CHECKPOINT_EVERY != 0)
        return;
    int mode = (writes_done / CHECKPOINT_EVERY) % 2 ? SQLITE_CHECKPOINT_PASSIVE : SQLITE_CHECKPOINT_TRUNCATE;
    int rc = sqlite3_wal_checkpoint_v2(ckpt_db, NULL, mode, NULL, NULL);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        fprintf(stderr, "crash child (round %d): checkpoint: %s\n", round, sqlite3_errmsg(ckpt_db));
        _exit(14);
    }
}

static void send_ack(int fd, int round, const sfsm_opp *o)
{
    if (!early_ack)
        send_ack_raw(fd, round, sfsm_opp_id(o), sfsm_opp_version(o), sfsm_opp_stage_index(o));
    after_write(round);
}

typedef struct unfinished {
    const sfsm_pipeline *p;
    char ids[64][ID_SIZE];
    size_t n;
} unfinished;

static int collect_unfinished(const sfsm_opp *o, void *ud)
{
    unfinished *u = ud;
    if (sfsm_pipeline_stage_is_final(u->p, sfsm_opp_stage_index(o)))
        return 0;
    if (u->n == 64)
        return 1;   /* never more than one or two: something is wrong */
    snprintf(u->ids[u->n++], ID_SIZE, "%s", sfsm_opp_id(o));
    return 0;
}

/* The event of the walk that leaves the opportunity's stage; -1 at the end. */
static int next_step(const sfsm_opp *o)
{
    static const char *const from[WALK_LEN] = { "lead", "qualified", "quoted", "negotiating", "signed", "delivered" };
    for (int i = 0; i < WALK_LEN; i++)
        if (strcmp(sfsm_opp_stage(o), from[i]) == 0)
            return i;
    return -1;
}

static void walk_to_end(sfsm_engine *e, sfsm_opp *o, int fd, int round)
{
    int step;
    while ((step = next_step(o)) >= 0) {
        if (early_ack) {
            size_t ev = 0;
            sfsm_pipeline_event_index(sfsm_engine_pipeline(e), walk[step], &ev);
            send_ack_raw(fd, round, sfsm_opp_id(o), sfsm_opp_version(o) + 1,
                         sfsm_pipeline_event_target(sfsm_engine_pipeline(e), ev));
        }
        int rc = sfsm_fire(e, o, walk[step], &MANAGER, NULL);
        if (rc != SFSM_OK)
            child_die(round, walk[step], sfsm_opp_id(o), rc);
        send_ack(fd, round, o);
    }
}

static void crash_child(const char *path, int fd, int round)
{
    sfsm_pipeline *p = NULL;
    sfsm_store *s = NULL;
    sfsm_engine *e = NULL;
    int rc = sfsm_pipeline_default(&p);
    if (rc == SFSM_OK)
        rc = sfsm_store_open_sqlite(&s, path, NULL);   /* defaults: synchronous FULL */
    if (rc == SFSM_OK)
        rc = sfsm_engine_new(&e, p, s);
    if (rc != SFSM_OK)
        child_die(round, "open", path, rc);
    if (sqlite3_open_v2(path, &ckpt_db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "crash child (round %d): open for checkpoints: %s\n", round,
                ckpt_db ? sqlite3_errmsg(ckpt_db) : "?");
        _exit(14);
    }
    sqlite3_busy_timeout(ckpt_db, 5000);

    /* Finish what the previous child was walking when it was killed. */
    unfinished u;
    u.p = p;
    u.n = 0;
    rc = sfsm_scan(e, NULL, collect_unfinished, &u);
    if (rc != SFSM_OK)
        child_die(round, "scan for unfinished", NULL, rc);
    for (size_t i = 0; i < u.n; i++) {
        sfsm_opp *o = NULL;
        if ((rc = sfsm_opp_open(e, u.ids[i], &o)) != SFSM_OK)
            child_die(round, "open", u.ids[i], rc);
        walk_to_end(e, o, fd, round);
        sfsm_opp_free(o);
    }

    for (int n = 0; n < 100000; n++) {
        char id[ID_SIZE];
        snprintf(id, sizeof id, "c%03d-%05d", round, n);
        sfsm_create_options co = SFSM_CREATE_OPTIONS_INIT;
        co.id = id;
        co.customer = "Acme Ltd";
        co.amount = 1200000 + n;
        co.currency = "CNY";
        co.actor = &MANAGER;
        sfsm_opp *o = NULL;
        if (early_ack)
            send_ack_raw(fd, round, id, 1, sfsm_pipeline_initial_stage(p));
        if ((rc = sfsm_opp_create_ext(e, &co, &o)) != SFSM_OK)
            child_die(round, "create", id, rc);
        send_ack(fd, round, o);
        walk_to_end(e, o, fd, round);
        sfsm_opp_free(o);
    }
    _exit(13);   /* never killed: the parent stopped reading */
}

/* ---- what the parent knows ---- */

typedef struct expect {
    char id[ID_SIZE];
    uint64_t maxv;                    /* highest acked version */
    int stage_at[MAX_VERSION + 1];    /* acked stage per version, -1: no ack */
    int found;                        /* seen in the store this round */
    int last_round;                   /* round of the last ack */
    uint64_t counted;                 /* version already counted as committed-unacked */
} expect;

typedef struct state {
    char path[512];
    sfsm_pipeline *p;
    expect *ex;
    size_t n_ex, cap_ex;
    size_t last;                      /* index of the last hit */
    long acks_total;
    long committed_unacked;           /* stored version == last ack + 1 */
    long created_unacked;             /* stored, never acked */
    long resumed;                     /* opportunities finished by a later child */
    long max_opps;
} state;

static expect *expect_for(state *st, const char *id)
{
    if (st->n_ex && strcmp(st->ex[st->last].id, id) == 0)
        return &st->ex[st->last];
    for (size_t i = st->n_ex; i-- > 0;)
        if (strcmp(st->ex[i].id, id) == 0) {
            st->last = i;
            return &st->ex[i];
        }
    return NULL;
}

static void record_ack(state *st, const ack *a, int round)
{
    if (a->round != round || a->version < 1 || a->version > MAX_VERSION || memchr(a->id, '\0', ID_SIZE) == NULL ||
        a->stage < 0 || (size_t)a->stage >= sfsm_pipeline_stage_count(st->p))
        fail_msg("round %d: malformed ack (round %d, version %" PRIu64 ", stage %d)", round, (int)a->round,
                 a->version, (int)a->stage);
    expect *x = expect_for(st, a->id);
    if (!x) {
        if (st->n_ex == st->cap_ex) {
            st->cap_ex = st->cap_ex ? 2 * st->cap_ex : 256;
            st->ex = realloc(st->ex, st->cap_ex * sizeof *st->ex);
            assert_non_null(st->ex);
        }
        x = &st->ex[st->n_ex];
        memset(x, 0, sizeof *x);
        memcpy(x->id, a->id, ID_SIZE);
        for (int v = 0; v <= MAX_VERSION; v++)
            x->stage_at[v] = -1;
        x->last_round = -1;
        st->last = st->n_ex++;
    } else if (a->version <= x->maxv) {
        fail_msg("round %d: %s acked version %" PRIu64 " after %" PRIu64, round, a->id, a->version, x->maxv);
    }
    if (x->last_round != round && atoi(a->id + 1) != round)
        st->resumed++;   /* created by an earlier child, continued by this one */
    x->last_round = round;
    x->maxv = a->version;
    x->stage_at[a->version] = a->stage;
    st->acks_total++;
}

/* Reads exactly one ack; 0 at end of file. A partial record would mean the
 * single write() was split. */
static int read_ack(int fd, ack *a, int round)
{
    size_t got = 0;
    while (got < sizeof *a) {
        ssize_t r = read(fd, (char *)a + got, sizeof *a - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            fail_msg("round %d: read from the child: %s", round, strerror(errno));
        if (r == 0) {
            if (got)
                fail_msg("round %d: partial ack record (%zu of %zu bytes)", round, got, sizeof *a);
            return 0;
        }
        got += (size_t)r;
    }
    return 1;
}

static void spin(long n)
{
    volatile long sink = 0;
    for (long i = 0; i < n; i++)
        sink += i;
    (void)sink;
}

/* ---- checks after a kill ---- */

static void check_integrity(const char *path, int round)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK)
        fail_msg("round %d: sqlite3_open_v2(%s, READONLY): %s", round, path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *stmt = NULL;
    rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        fail_msg("round %d: prepare integrity_check: %s", round, sqlite3_errmsg(db));
    char result[1024] = "";
    int rows = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(stmt, 0);
        if (rows++ == 0)
            snprintf(result, sizeof result, "%s", t ? (const char *)t : "(null)");
    }
    if (rc != SQLITE_DONE)
        fail_msg("round %d: integrity_check: %s", round, sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    if (rows != 1 || strcmp(result, "ok") != 0)
        fail_msg("round %d: PRAGMA integrity_check: %d row(s), first \"%s\"", round, rows, result);
}

typedef struct stored {
    char id[ID_SIZE];
    char stage[32];
    uint64_t version;
} stored;

typedef struct stored_list {
    stored *v;
    size_t n, cap;
} stored_list;

static int collect_stored(const sfsm_opp *o, void *ud)
{
    stored_list *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            return -1;
    }
    stored *s = &l->v[l->n++];
    snprintf(s->id, sizeof s->id, "%s", sfsm_opp_id(o));
    snprintf(s->stage, sizeof s->stage, "%s", sfsm_opp_stage(o));
    s->version = sfsm_opp_version(o);
    return 0;
}

typedef struct hist {
    size_t n;
    int bad;                 /* first problem, as text in why */
    char why[256];
    uint64_t version[MAX_VERSION + 2];
    int kind[MAX_VERSION + 2];
    char from[MAX_VERSION + 2][32];
    char to[MAX_VERSION + 2][32];
} hist;

static int collect_history(const sfsm_history_entry *h, void *ud)
{
    hist *x = ud;
    if (x->n == MAX_VERSION + 2) {
        x->bad = 1;
        snprintf(x->why, sizeof x->why, "more than %d history entries", MAX_VERSION + 1);
        return 1;
    }
    x->version[x->n] = h->version;
    x->kind[x->n] = h->kind;
    copy_str(x->from[x->n], sizeof x->from[0], h->from);
    copy_str(x->to[x->n], sizeof x->to[0], h->to);
    x->n++;
    return 0;
}

static void verify(state *st, int round)
{
    check_integrity(st->path, round);

    sfsm_store *s = NULL;
    sfsm_engine *e = NULL;
    int rc = sfsm_store_open_sqlite(&s, st->path, NULL);
    if (rc != SFSM_OK)
        fail_msg("round %d: reopen %s: %s", round, st->path, sfsm_errmsg());
    assert_int_equal(sfsm_engine_new(&e, st->p, s), SFSM_OK);

    stored_list l = { NULL, 0, 0 };
    rc = sfsm_scan(e, NULL, collect_stored, &l);
    if (rc != SFSM_OK)
        fail_msg("round %d: scan: %s", round, sfsm_errmsg());
    if ((long)l.n > st->max_opps)
        st->max_opps = (long)l.n;
    for (size_t i = 0; i < st->n_ex; i++)
        st->ex[i].found = 0;

    for (size_t i = 0; i < l.n; i++) {
        const stored *so = &l.v[i];
        hist h;
        memset(&h, 0, sizeof h);
        rc = sfsm_opp_history(e, so->id, collect_history, &h);
        if (rc != SFSM_OK)
            fail_msg("round %d: history of %s: %s (%s)", round, so->id, sfsm_strerror(rc), h.bad ? h.why : sfsm_errmsg());
        /* gap-free 1..version, a chain of stages, stage == last to */
        if (h.n != so->version)
            fail_msg("round %d: %s has version %" PRIu64 " but %zu history entries", round, so->id, so->version, h.n);
        for (size_t k = 0; k < h.n; k++) {
            if (h.version[k] != k + 1)
                fail_msg("round %d: %s history entry %zu has version %" PRIu64, round, so->id, k + 1, h.version[k]);
            int want_kind = k == 0 ? SFSM_HISTORY_CREATE : SFSM_HISTORY_TRANSITION;
            if (h.kind[k] != want_kind)
                fail_msg("round %d: %s history v%zu kind %d, expected %d", round, so->id, k + 1, h.kind[k], want_kind);
            if (k > 0 && strcmp(h.from[k], h.to[k - 1]) != 0)
                fail_msg("round %d: %s history v%zu goes from %s but v%zu ended at %s", round, so->id, k + 1, h.from[k],
                         k, h.to[k - 1]);
        }
        if (strcmp(so->stage, h.to[h.n - 1]) != 0)
            fail_msg("round %d: %s is at stage %s but its last history entry goes to %s", round, so->id, so->stage,
                     h.to[h.n - 1]);

        expect *x = expect_for(st, so->id);
        if (!x) {
            /* committed by a killed child before it could write the ack */
            if (so->version != 1)
                fail_msg("round %d: %s was never acked but has version %" PRIu64, round, so->id, so->version);
            st->created_unacked++;
            continue;
        }
        x->found = 1;
        if (so->version < x->maxv)
            fail_msg("round %d: LOST DATA: %s acked at version %" PRIu64 " but stored at version %" PRIu64, round,
                     so->id, x->maxv, so->version);
        if (so->version > x->maxv + 1)
            fail_msg("round %d: %s stored at version %" PRIu64 ", more than one past its last ack %" PRIu64, round,
                     so->id, so->version, x->maxv);
        if (so->version == x->maxv + 1 && x->counted != so->version) {
            x->counted = so->version;
            st->committed_unacked++;
        }
        for (uint64_t v = 1; v <= x->maxv; v++) {
            if (x->stage_at[v] < 0)
                continue;
            const char *want = sfsm_pipeline_stage_name(st->p, (size_t)x->stage_at[v]);
            if (strcmp(h.to[v - 1], want) != 0)
                fail_msg("round %d: LOST DATA: %s acked version %" PRIu64 " at stage %s, history v%" PRIu64
                         " goes to %s",
                         round, so->id, v, want, v, h.to[v - 1]);
        }
    }
    for (size_t i = 0; i < st->n_ex; i++)
        if (!st->ex[i].found)
            fail_msg("round %d: LOST DATA: %s (acked up to version %" PRIu64 ") is not in the store", round,
                     st->ex[i].id, st->ex[i].maxv);

    free(l.v);
    sfsm_engine_free(e);
    sfsm_store_close(s);
}

/* ---- the test ---- */

static void remove_db(const char *path)
{
    static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < 4; i++) {
        char name[600];
        snprintf(name, sizeof name, "%s%s", path, suffix[i]);
        unlink(name);
    }
}

static void test_kill9_loses_nothing_acked(void **unused)
{
    (void)unused;
    static state st;
    memset(&st, 0, sizeof st);
    long rounds = env_long("SFSM_CRASH_ROUNDS", 100);
    early_ack = (int)env_long("SFSM_CRASH_SELFTEST", 0);
    rng_seed((uint64_t)env_long("SFSM_CRASH_SEED", 20260101));
    const char *dir = getenv("TMPDIR");
    snprintf(st.path, sizeof st.path, "%s/sfsm-crash-XXXXXX", dir && *dir ? dir : "/tmp");
    int tfd = mkstemp(st.path);
    assert_true(tfd >= 0);
    close(tfd);   /* empty: the first child creates the schema */
    assert_int_equal(sfsm_pipeline_default(&st.p), SFSM_OK);
    printf("# crash: %ld rounds on %s (seed %ld)\n", rounds, st.path, env_long("SFSM_CRASH_SEED", 20260101));

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long spun_rounds = 0, checkpoint_kills = 0;
    for (int round = 0; round < rounds; round++) {
        long target = 1 + (long)(rng_next() % MAX_ACKS_PER_ROUND);
        long spins = rng_next() % 3 == 0 ? 0 : (long)(rng_next() % SPIN_MAX);
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(st.path, fds[1], round);
        }
        close(fds[1]);

        ack a;
        long got = 0;
        int killed = 0;
        while (read_ack(fds[0], &a, round)) {
            record_ack(&st, &a, round);
            if (++got == target && !killed) {
                spin(spins);
                kill(pid, SIGKILL);
                killed = 1;
            }
        }
        /* EOF: the child is dead (or exited on its own: a failure) */
        close(fds[0]);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (!killed || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            fail_msg("round %d: the child ended on its own after %ld acks (status 0x%x; exit %d); database %s", round,
                     got, status, WIFEXITED(status) ? WEXITSTATUS(status) : -1, st.path);
        if (spins)
            spun_rounds++;
        if (target % CHECKPOINT_EVERY == 0)
            checkpoint_kills++;   /* the child started a checkpoint right after that ack */
        verify(&st, round);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);

    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("# crash: %ld rounds (%ld with a busy-wait before the kill, %ld killed just after a checkpoint"
           " began), %ld acks, %zu acked opportunities,"
           " %ld in the store at the end; seen after kills: %ld commits whose ack was cut off,"
           " %ld creates whose ack was cut off; %ld opportunities finished by a later child; %.1f s\n",
           rounds, spun_rounds, checkpoint_kills, st.acks_total, st.n_ex, st.max_opps, st.committed_unacked, st.created_unacked,
           st.resumed, secs);
    assert_true(st.acks_total >= rounds);

    free(st.ex);
    sfsm_pipeline_free(st.p);
    if (env_long("SFSM_CRASH_KEEP", 0))
        printf("# crash: kept %s\n", st.path);
    else
        remove_db(st.path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_loses_nothing_acked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
