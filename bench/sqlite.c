/*
 * bench/sqlite — workloads W3 and W4 of BENCH.md on the SQLite store, each
 * next to a raw SQLite baseline measured in the same process.
 *
 *   W3: N opportunities (default 2 000), each driven lead → … → serviced by
 *       qualify, quote, negotiate, sign, deliver, service as one manager,
 *       every fire its own committed transaction (sfsm_fire_index outside
 *       any batch). Modes: synchronous=FULL and synchronous=NORMAL.
 *   W4: N opportunities (default 100 000), the same events; all fires of each
 *       block of 1 000 opportunities in one transaction (sfsm_engine_begin /
 *       sfsm_engine_commit). Modes: NORMAL and FULL.
 *
 * As in W1, the default pipeline's guards are active and one after hook
 * counts the transitions (--no-hook leaves it out). Fires run in
 * opportunity-major order, event names resolved once up front.
 *
 * The baseline is what an application would write with the sqlite3 API
 * alone: its own fresh file in WAL mode with the same synchronous setting,
 * the library's schema, and per transition exactly
 *     UPDATE opp SET stage=?, version=version+1 WHERE id=? AND version=?
 * (sqlite3_changes checked) plus one INSERT INTO history(...) carrying the
 * same values the library writes, with prepared statements, inside
 * BEGIN IMMEDIATE … COMMIT per transition (W3) or per block (W4). The
 * schema (tables and indexes, the same as lib/store_sqlite*.c create) is
 * copied at start-up from a file that the library itself created, so the
 * baseline pays for exactly the indexes the library's writes maintain, even
 * after a schema migration adds one. The baseline's UPDATE is the one of
 * BENCH.md: unlike the library's, it does not write updated_ms (indexed),
 * stage_entered_ms and the other columns a transition stamps, so part of
 * any gap is work the library does by design.
 *
 * Both sides store the same opportunities (same ids, customers, amounts) and
 * a create history entry for each; creation runs in blocks of 1 000 per
 * transaction and is outside the timed phase, which covers the 6·N fires
 * (and, in W4, the block commits). Every run uses fresh files in DIR
 * (default $TMPDIR, else /tmp), removed with their -wal/-shm after the run.
 * Library and baseline runs alternate, which one goes first flipping each
 * run, and the ratio library/baseline is taken within each run.
 *
 * Checks after every run: each library handle at `serviced`, version 7, the
 * after hook ran 6·N times; then the file itself (read through a separate
 * sqlite3 connection, for the baseline too): N opportunities, all serviced at
 * version 7, 7·N history entries, N of them ending in `serviced`.
 *
 * Usage: sqlite [-n N3] [-N N4] [-b BLOCK] [-r R] [-f RF] [-d DIR]
 *               [--only w3|w4] [--no-w4-full] [--no-hook] [-v] [--json]
 * Exit status 0 on success (whatever the ratios), 1 if a call or a check fails.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, getpid, unlink under -std=c11 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench_stats.h"
#include <salesfsm/salesfsm.h>

/* ---------------------------------------------------------------- setup */

#define DEFAULT_N3 2000
#define DEFAULT_N4 100000
#define DEFAULT_BLOCK 1000
#define DEFAULT_RUNS 5
#define CREATE_BLOCK 1000  /* opportunities created per transaction (untimed) */
#define TARGET_RATIO 0.80  /* the issue's target: library >= 80 % of raw */

static const char *const WIN_PATH[] = {
    "qualify", "quote", "negotiate", "sign", "deliver", "service",
};
#define WIN_STEPS (sizeof WIN_PATH / sizeof WIN_PATH[0])
#define FINAL_VERSION (1 + WIN_STEPS)

static const sfsm_actor MANAGER = { "Mei (manager)", "manager" };

static const char *const CUSTOMERS[] = {
    "杭州明远贸易有限公司", "Acme Ltd", "深圳华创科技", "Globex GmbH",
    "上海远东机械", "Initech Inc.", "北京中联软件", "Umbrella Co.",
};
#define CUSTOMER_COUNT (sizeof CUSTOMERS / sizeof CUSTOMERS[0])
static const char CURRENCY[] = "CNY";

static int64_t amount_of(size_t i)
{
    return 100000 + (int64_t)(i % 1000) * 100; /* ¥1 000.00 … ¥100 900.00 */
}

static const char RAW_INSERT_OPP[] =
    "INSERT INTO opp (id, stage, version, amount, currency, customer, owner, title,"
    " expected_close_ms, created_ms, updated_ms, stage_entered_ms, pipeline, pipeline_version)"
    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)";
static const char RAW_UPDATE[] =
    "UPDATE opp SET stage=?, version=version+1 WHERE id=? AND version=?";
static const char RAW_INSERT_HISTORY[] =
    "INSERT INTO history (opp_id, version, at_ms, kind, event, from_stage, to_stage, actor, role,"
    " note, fields, changes) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";

typedef struct config {
    size_t n3, n4, block, runs, runs_full;
    const char *dir;
    int do_w3, do_w4, w4_full, hook, verbose, json;
} config;

/* One measured combination: a workload in one synchronous mode. */
typedef struct measure {
    const char *workload;
    sfsm_sqlite_sync sync;
    size_t n;
    size_t block;  /* 0: one transaction per transition (W3) */
    size_t runs;
} measure;

/* What every run shares; names and indexes are resolved once. */
typedef struct bench {
    config cfg;
    sfsm_pipeline *pipeline;
    size_t win_ev[WIN_STEPS];
    const char *stage_name[WIN_STEPS + 1]; /* [0] initial, [k+1] after step k */
    size_t serviced_stage;
    const char *pipeline_name;
    uint32_t pipeline_version;
    char *schema;      /* the library's CREATE statements, for the baseline */
    int schema_version;
    int schema_tables, schema_indexes;
    char (*ids)[33];   /* the same ids for library and baseline */
    sfsm_opp **opps;
    size_t cap;        /* entries in ids and opps */
    unsigned long seq; /* numbers the run files */
} bench;

/* ----------------------------------------------------------- failures */

/* The files of the run in progress, removed on every exit path. */
static char g_path[2][4096];

static void remove_db(const char *path)
{
    static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
    char p[4200];
    for (size_t k = 0; k < sizeof suffix / sizeof suffix[0]; k++) {
        snprintf(p, sizeof p, "%s%s", path, suffix[k]);
        if (unlink(p) != 0 && errno != ENOENT)
            fprintf(stderr, "sqlite: cannot remove %s: %s\n", p, strerror(errno));
    }
}

static void cleanup(void)
{
    for (size_t k = 0; k < 2; k++)
        if (g_path[k][0]) {
            remove_db(g_path[k]);
            g_path[k][0] = '\0';
        }
}

static void die(const char *fmt, ...) SFSM_PRINTF(1, 2);

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sqlite: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EXIT_FAILURE); /* cleanup() runs from atexit */
}

static void check_rc(int rc, const char *what)
{
    if (rc != SFSM_OK)
        die("%s: %s (%s)", what, sfsm_strerror(rc), sfsm_errmsg());
}

static void check_sql(sqlite3 *db, int rc, int want, const char *what)
{
    if (rc != want)
        die("%s: %s (%s)", what, sqlite3_errstr(rc), db ? sqlite3_errmsg(db) : "");
}

static void exec_sql(sqlite3 *db, const char *sql)
{
    check_sql(db, sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, sql);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    check_sql(db, sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL), SQLITE_OK, sql);
    return s;
}

/* Steps a statement that returns no rows and resets it. */
static void step_done(sqlite3 *db, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    check_sql(db, rc, SQLITE_DONE, what);
}

/* ------------------------------------------------------- measurement */

static double now_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        die("clock_gettime: %s", strerror(errno));
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The baseline's time stamps: what the library's default clock reads. */
static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ files */

static const char *const SYNC_NAME[] = { "FULL", "NORMAL", "OFF" };
static const char *const SYNC_PRAGMA[] = { "PRAGMA synchronous=FULL", "PRAGMA synchronous=NORMAL",
                                           "PRAGMA synchronous=OFF" };

/* A fresh path in the run directory; slot 0 library, 1 baseline. */
static const char *fresh_path(bench *b, int slot, const char *who)
{
    int len = snprintf(g_path[slot], sizeof g_path[slot], "%s/salesfsm-bench-%ld-%lu-%s.db",
                       b->cfg.dir, (long)getpid(), ++b->seq, who);
    if (len < 0 || (size_t)len >= sizeof g_path[slot])
        die("directory name too long: %s", b->cfg.dir);
    remove_db(g_path[slot]);
    return g_path[slot];
}

static void done_path(int slot)
{
    remove_db(g_path[slot]);
    g_path[slot][0] = '\0';
}

static sqlite3_int64 query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    check_sql(db, sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK, sql);
    check_sql(db, sqlite3_step(s), SQLITE_ROW, sql);
    sqlite3_int64 v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Reads the finished file through its own connection: whatever wrote it,
 * the stored result must be the same. */
static void verify_file(const measure *m, const char *who, const char *path)
{
    sqlite3 *db = NULL;
    check_sql(db, sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK, path);
    sqlite3_int64 n = (sqlite3_int64)m->n;
    sqlite3_int64 opps = query_int(db, "SELECT count(*) FROM opp");
    sqlite3_int64 done = query_int(db, "SELECT count(*) FROM opp WHERE stage = 'serviced' AND version = 7");
    sqlite3_int64 hist = query_int(db, "SELECT count(*) FROM history");
    sqlite3_int64 last = query_int(db, "SELECT count(*) FROM history WHERE version = 7 AND to_stage = 'serviced'");
    sqlite3_close(db);
    if (opps != n || done != n || hist != n * (sqlite3_int64)FINAL_VERSION || last != n)
        die("%s %s (%s): file holds %lld opportunities, %lld serviced at version 7, %lld history "
            "entries, %lld final entries; want %lld, %lld, %lld, %lld",
            m->workload, SYNC_NAME[m->sync], who, (long long)opps, (long long)done, (long long)hist,
            (long long)last, (long long)n, (long long)n, (long long)(n * (sqlite3_int64)FINAL_VERSION),
            (long long)n);
}

/*
 * Reads the CREATE statements of a store the library has just created (in
 * creation order: each table before its indexes; the implicit indexes of
 * UNIQUE and WITHOUT ROWID keys have no SQL and come back with the tables).
 */
static void copy_library_schema(bench *b)
{
    const char *path = fresh_path(b, 0, "schema");
    sfsm_store *store = NULL;
    check_rc(sfsm_store_open_sqlite(&store, path, NULL), "sfsm_store_open_sqlite (schema)");
    sfsm_store_close(store);
    sqlite3 *db = NULL;
    check_sql(db, sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK, path);
    b->schema_version = (int)query_int(db, "PRAGMA user_version");
    static const char sql[] = "SELECT type, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid";
    sqlite3_stmt *s = NULL;
    check_sql(db, sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK, sql);
    size_t len = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(s, 0);
        const char *text = (const char *)sqlite3_column_text(s, 1);
        size_t add = strlen(text);
        char *grown = realloc(b->schema, len + add + 3);
        if (!grown)
            die("out of memory");
        b->schema = grown;
        memcpy(b->schema + len, text, add);
        memcpy(b->schema + len + add, ";\n", 3);
        len += add + 2;
        if (strcmp(type, "table") == 0)
            b->schema_tables++;
        else if (strcmp(type, "index") == 0)
            b->schema_indexes++;
    }
    check_sql(db, rc, SQLITE_DONE, sql);
    sqlite3_finalize(s);
    sqlite3_close(db);
    if (!b->schema || !b->schema_tables)
        die("the library created no tables in %s", path);
    done_path(0);
}

/* ---------------------------------------------------------- library */

static void count_after(const sfsm_transition *t, void *ud)
{
    (void)t;
    ++*(uint64_t *)ud;
}

static void lib_fire(sfsm_engine *e, sfsm_opp *o, size_t ev, const char *name)
{
    int rc = sfsm_fire_index(e, o, ev, &MANAGER, NULL);
    if (rc != SFSM_OK)
        die("fire %s on %s (stage %s): %s (%s)", name, sfsm_opp_id(o), sfsm_opp_stage(o),
            sfsm_strerror(rc), sfsm_errmsg());
}

static void lib_walk(const bench *b, sfsm_engine *e, size_t i)
{
    for (size_t k = 0; k < WIN_STEPS; k++)
        lib_fire(e, b->opps[i], b->win_ev[k], WIN_PATH[k]);
}

/* One library run; returns transitions per second of the timed phase. */
static double lib_run(bench *b, const measure *m)
{
    const char *path = fresh_path(b, 0, "lib");
    sfsm_sqlite_options so;
    check_rc(sfsm_sqlite_options_init(&so, SFSM_SQLITE_OPTIONS_VERSION), "sfsm_sqlite_options_init");
    so.synchronous = m->sync;
    sfsm_store *store = NULL;
    sfsm_engine *e = NULL;
    uint64_t after_calls = 0;
    check_rc(sfsm_store_open_sqlite(&store, path, &so), "sfsm_store_open_sqlite");
    check_rc(sfsm_engine_new(&e, b->pipeline, store), "sfsm_engine_new");
    if (b->cfg.hook)
        check_rc(sfsm_engine_on_after(e, NULL, count_after, &after_calls), "sfsm_engine_on_after");

    /* untimed: the opportunities, CREATE_BLOCK per transaction */
    size_t n = m->n;
    for (size_t start = 0; start < n; start += CREATE_BLOCK) {
        size_t end = start + CREATE_BLOCK < n ? start + CREATE_BLOCK : n;
        check_rc(sfsm_engine_begin(e), "sfsm_engine_begin (creates)");
        for (size_t i = start; i < end; i++) {
            sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
            opts.id = b->ids[i];
            opts.customer = CUSTOMERS[i % CUSTOMER_COUNT];
            opts.amount = amount_of(i);
            opts.currency = CURRENCY;
            opts.actor = &MANAGER;
            check_rc(sfsm_opp_create_ext(e, &opts, &b->opps[i]), "sfsm_opp_create_ext");
        }
        check_rc(sfsm_engine_commit(e), "sfsm_engine_commit (creates)");
    }

    double t0 = now_s();
    if (m->block == 0) {
        for (size_t i = 0; i < n; i++)
            lib_walk(b, e, i);
    } else {
        for (size_t start = 0; start < n; start += m->block) {
            size_t end = start + m->block < n ? start + m->block : n;
            check_rc(sfsm_engine_begin(e), "sfsm_engine_begin");
            for (size_t i = start; i < end; i++)
                lib_walk(b, e, i);
            check_rc(sfsm_engine_commit(e), "sfsm_engine_commit");
        }
    }
    double t1 = now_s();

    uint64_t fires = (uint64_t)n * WIN_STEPS;
    if (b->cfg.hook && after_calls != fires)
        die("%s %s: after hook ran %" PRIu64 " times, want %" PRIu64, m->workload,
            SYNC_NAME[m->sync], after_calls, fires);
    for (size_t i = 0; i < n; i++) {
        const sfsm_opp *o = b->opps[i];
        if (sfsm_opp_stage_index(o) != b->serviced_stage || sfsm_opp_version(o) != FINAL_VERSION)
            die("%s %s: opportunity %zu at stage %s version %" PRIu64, m->workload,
                SYNC_NAME[m->sync], i, sfsm_opp_stage(o), sfsm_opp_version(o));
    }
    for (size_t i = 0; i < n; i++) {
        sfsm_opp_free(b->opps[i]);
        b->opps[i] = NULL;
    }
    sfsm_engine_free(e);
    sfsm_store_close(store);
    verify_file(m, "library", path);
    done_path(0);
    return (double)fires / (t1 - t0);
}

/* --------------------------------------------------------- baseline */

typedef struct raw {
    sqlite3 *db;
    sqlite3_stmt *begin, *commit, *insert_opp, *update, *insert_history;
} raw;

static void raw_open(raw *r, const char *path, sfsm_sqlite_sync sync, const char *schema)
{
    memset(r, 0, sizeof *r);
    check_sql(r->db, sqlite3_open_v2(path, &r->db,
                                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL),
              SQLITE_OK, path);
    sqlite3_busy_timeout(r->db, 5000);
    exec_sql(r->db, "PRAGMA journal_mode=WAL");
    exec_sql(r->db, SYNC_PRAGMA[sync]);
    exec_sql(r->db, "BEGIN IMMEDIATE");
    exec_sql(r->db, schema);
    exec_sql(r->db, "COMMIT");
    r->begin = prepare(r->db, "BEGIN IMMEDIATE");
    r->commit = prepare(r->db, "COMMIT");
    r->insert_opp = prepare(r->db, RAW_INSERT_OPP);
    r->update = prepare(r->db, RAW_UPDATE);
    r->insert_history = prepare(r->db, RAW_INSERT_HISTORY);
}

static void raw_close(raw *r)
{
    sqlite3_finalize(r->begin);
    sqlite3_finalize(r->commit);
    sqlite3_finalize(r->insert_opp);
    sqlite3_finalize(r->update);
    sqlite3_finalize(r->insert_history);
    check_sql(r->db, sqlite3_close(r->db), SQLITE_OK, "sqlite3_close");
    r->db = NULL;
}

/* What the library's create writes: the row and a create entry listing the
 * initial fields (the customers need no JSON escaping). */
static void raw_create(const bench *b, raw *r, size_t i)
{
    char changes[256];
    snprintf(changes, sizeof changes, "{\"amount\":%" PRId64 ",\"currency\":\"%s\",\"customer\":\"%s\"}",
             amount_of(i), CURRENCY, CUSTOMERS[i % CUSTOMER_COUNT]);
    int64_t now = wall_ms();
    sqlite3_stmt *s = r->insert_opp;
    sqlite3_bind_text(s, 1, b->ids[i], -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, b->stage_name[0], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, 1);
    sqlite3_bind_int64(s, 4, amount_of(i));
    sqlite3_bind_text(s, 5, CURRENCY, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, CUSTOMERS[i % CUSTOMER_COUNT], -1, SQLITE_STATIC);
    sqlite3_bind_null(s, 7);
    sqlite3_bind_null(s, 8);
    sqlite3_bind_int64(s, 9, 0);
    sqlite3_bind_int64(s, 10, now);
    sqlite3_bind_int64(s, 11, now);
    sqlite3_bind_int64(s, 12, now);
    sqlite3_bind_text(s, 13, b->pipeline_name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 14, b->pipeline_version);
    step_done(r->db, s, "insert opp");
    s = r->insert_history;
    sqlite3_bind_text(s, 1, b->ids[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, 1);
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_int(s, 4, SFSM_HISTORY_CREATE);
    sqlite3_bind_null(s, 5);
    sqlite3_bind_null(s, 6);
    sqlite3_bind_text(s, 7, b->stage_name[0], -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, MANAGER.name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 9, MANAGER.role, -1, SQLITE_STATIC);
    sqlite3_bind_null(s, 10);
    sqlite3_bind_int64(s, 11, SFSM_FIELD_AMOUNT | SFSM_FIELD_CUSTOMER);
    sqlite3_bind_text(s, 12, changes, -1, SQLITE_TRANSIENT);
    step_done(r->db, s, "insert create entry");
}

/* One transition: the UPDATE (optimistic on the version, as the library's)
 * and the history entry with the values the library records. */
static void raw_step(const bench *b, raw *r, size_t i, size_t k)
{
    sqlite3_int64 version = (sqlite3_int64)k + 1; /* before this step */
    int64_t at = wall_ms();
    sqlite3_stmt *s = r->update;
    sqlite3_bind_text(s, 1, b->stage_name[k + 1], -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, b->ids[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, version);
    step_done(r->db, s, "update");
    if (sqlite3_changes(r->db) != 1)
        die("baseline: update of opportunity %zu at version %lld changed %d rows", i,
            (long long)version, sqlite3_changes(r->db));
    s = r->insert_history;
    sqlite3_bind_text(s, 1, b->ids[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, version + 1);
    sqlite3_bind_int64(s, 3, at);
    sqlite3_bind_int(s, 4, SFSM_HISTORY_TRANSITION);
    sqlite3_bind_text(s, 5, WIN_PATH[k], -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, b->stage_name[k], -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, b->stage_name[k + 1], -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, MANAGER.name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 9, MANAGER.role, -1, SQLITE_STATIC);
    sqlite3_bind_null(s, 10);
    sqlite3_bind_int64(s, 11, 0);
    sqlite3_bind_null(s, 12);
    step_done(r->db, s, "insert history");
}

/* One baseline run; returns transitions per second of the timed phase. */
static double raw_run(bench *b, const measure *m)
{
    const char *path = fresh_path(b, 1, "raw");
    raw r;
    raw_open(&r, path, m->sync, b->schema);
    size_t n = m->n;
    for (size_t start = 0; start < n; start += CREATE_BLOCK) {
        size_t end = start + CREATE_BLOCK < n ? start + CREATE_BLOCK : n;
        step_done(r.db, r.begin, "begin (creates)");
        for (size_t i = start; i < end; i++)
            raw_create(b, &r, i);
        step_done(r.db, r.commit, "commit (creates)");
    }

    double t0 = now_s();
    if (m->block == 0) {
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < WIN_STEPS; k++) {
                step_done(r.db, r.begin, "begin");
                raw_step(b, &r, i, k);
                step_done(r.db, r.commit, "commit");
            }
    } else {
        for (size_t start = 0; start < n; start += m->block) {
            size_t end = start + m->block < n ? start + m->block : n;
            step_done(r.db, r.begin, "begin");
            for (size_t i = start; i < end; i++)
                for (size_t k = 0; k < WIN_STEPS; k++)
                    raw_step(b, &r, i, k);
            step_done(r.db, r.commit, "commit");
        }
    }
    double t1 = now_s();

    raw_close(&r);
    verify_file(m, "baseline", path);
    done_path(1);
    return (double)n * WIN_STEPS / (t1 - t0);
}

/* ------------------------------------------------------------ report */

typedef struct result {
    measure m;
    bench_stat lib, raw, ratio;
} result;

#define MAX_RESULTS 4

static void measure_one(bench *b, const measure *m, result *out)
{
    double *lib = calloc(m->runs, sizeof *lib), *rawv = calloc(m->runs, sizeof *rawv),
           *ratio = calloc(m->runs, sizeof *ratio);
    if (!lib || !rawv || !ratio)
        die("out of memory");
    for (size_t i = 0; i < m->runs; i++) {
        /* alternate which side goes first, so drift hits both */
        if (i % 2 == 0) {
            lib[i] = lib_run(b, m);
            rawv[i] = raw_run(b, m);
        } else {
            rawv[i] = raw_run(b, m);
            lib[i] = lib_run(b, m);
        }
        ratio[i] = lib[i] / rawv[i];
        if (b->cfg.verbose)
            fprintf(stderr, "%s %-6s run %zu/%zu: library %.0f/s, raw %.0f/s, ratio %.3f\n",
                    m->workload, SYNC_NAME[m->sync], i + 1, m->runs, lib[i], rawv[i], ratio[i]);
    }
    out->m = *m;
    out->lib = bench_summarize(lib, m->runs);
    out->raw = bench_summarize(rawv, m->runs);
    out->ratio = bench_summarize(ratio, m->runs);
    free(lib);
    free(rawv);
    free(ratio);
}

static const char *txn_label(const measure *m, char *buf, size_t size)
{
    if (m->block == 0)
        snprintf(buf, size, "1 fire");
    else
        snprintf(buf, size, "%zu opps", m->block);
    return buf;
}

static void print_table(FILE *out, const bench *b, const result *res, size_t count)
{
    fprintf(out, "salesfsm %s, bench/sqlite: SQLite %s, WAL, files in %s, after hook %s,\n"
                 "schema version %d copied to the baseline (%d tables, %d explicit indexes);\n"
                 "transitions/s: median [min-max] of R runs; ratio = library/raw within each run\n\n",
            sfsm_version(), sqlite3_libversion(), b->cfg.dir, b->cfg.hook ? "on" : "off",
            b->schema_version, b->schema_tables, b->schema_indexes);
    fprintf(out, "%-4s %-6s %7s %9s %2s  %-27s %-27s %-21s %s\n", "wl", "sync", "N", "txn per",
            "R", "library/s median [min-max]", "raw/s median [min-max]", "ratio median [min-max]",
            "target");
    for (size_t i = 0; i < count; i++) {
        const result *r = &res[i];
        char txn[32], libs[64], raws[64], rats[64];
        snprintf(libs, sizeof libs, "%7.0f [%.0f-%.0f]", r->lib.median, r->lib.min, r->lib.max);
        snprintf(raws, sizeof raws, "%7.0f [%.0f-%.0f]", r->raw.median, r->raw.min, r->raw.max);
        snprintf(rats, sizeof rats, "%.3f [%.3f-%.3f]", r->ratio.median, r->ratio.min,
                 r->ratio.max);
        fprintf(out, "%-4s %-6s %7zu %9s %2zu  %-27s %-27s %-21s %s\n", r->m.workload,
                SYNC_NAME[r->m.sync], r->m.n, txn_label(&r->m, txn, sizeof txn), r->m.runs, libs,
                raws, rats, r->ratio.median >= TARGET_RATIO ? "ok (>= 0.80)" : "BELOW 0.80");
    }
}

static void print_json(FILE *out, const bench *b, const result *res, size_t count)
{
    fprintf(out, "{\"bench\":\"sqlite\",\"version\":\"%s\",\"sqlite\":\"%s\",\"hook\":%s,"
                 "\"schema_version\":%d,\"target_ratio\":%.2f,\"results\":[",
            sfsm_version(), sqlite3_libversion(), b->cfg.hook ? "true" : "false",
            b->schema_version, TARGET_RATIO);
    for (size_t i = 0; i < count; i++) {
        const result *r = &res[i];
        fprintf(out, "%s{\"workload\":\"%s\",\"synchronous\":\"%s\",\"n\":%zu,\"block\":%zu,"
                     "\"runs\":%zu,"
                     "\"library_tps\":{\"median\":%.1f,\"min\":%.1f,\"max\":%.1f},"
                     "\"raw_tps\":{\"median\":%.1f,\"min\":%.1f,\"max\":%.1f},"
                     "\"ratio\":{\"median\":%.4f,\"min\":%.4f,\"max\":%.4f},\"meets_target\":%s}",
                i ? "," : "", r->m.workload, SYNC_NAME[r->m.sync], r->m.n, r->m.block, r->m.runs,
                r->lib.median, r->lib.min, r->lib.max, r->raw.median, r->raw.min, r->raw.max,
                r->ratio.median, r->ratio.min, r->ratio.max,
                r->ratio.median >= TARGET_RATIO ? "true" : "false");
    }
    fputs("]}\n", out);
}

/* ------------------------------------------------------------ main */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sqlite [-n N3] [-N N4] [-b BLOCK] [-r R] [-f RF] [-d DIR]\n"
            "              [--only w3|w4] [--no-w4-full] [--no-hook] [-v] [--json]\n"
            "  -n N3         W3 opportunities (default %d)\n"
            "  -N N4         W4 opportunities (default %d)\n"
            "  -b BLOCK      W4 opportunities per transaction (default %d)\n"
            "  -r R          runs per measurement (default %d)\n"
            "  -f RF         runs for W3 FULL (default: R)\n"
            "  -d DIR        directory for the database files (default $TMPDIR or /tmp)\n"
            "  --only w3|w4  run one workload\n"
            "  --no-w4-full  skip W4 with synchronous=FULL\n"
            "  --no-hook     no after hook on the library's engine\n"
            "  -v            one line per run on stderr\n"
            "  --json        one JSON line on stdout; the table goes to stderr\n",
            DEFAULT_N3, DEFAULT_N4, DEFAULT_BLOCK, DEFAULT_RUNS);
}

static size_t parse_count(const char *s, const char *opt)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || v == 0 || v > (unsigned long long)SIZE_MAX / 64 ||
        s[0] == '-')
        die("%s wants a positive integer, got '%s'", opt, s ? s : "");
    return (size_t)v;
}

static config parse_args(int argc, char **argv)
{
    const char *tmp = getenv("TMPDIR");
    config cfg = { DEFAULT_N3, DEFAULT_N4, DEFAULT_BLOCK, DEFAULT_RUNS, 0,
                   tmp && *tmp ? tmp : "/tmp", 1, 1, 1, 1, 0, 0 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-n") == 0) {
            cfg.n3 = parse_count(v, a), i++;
        } else if (strcmp(a, "-N") == 0) {
            cfg.n4 = parse_count(v, a), i++;
        } else if (strcmp(a, "-b") == 0) {
            cfg.block = parse_count(v, a), i++;
        } else if (strcmp(a, "-r") == 0) {
            cfg.runs = parse_count(v, a), i++;
        } else if (strcmp(a, "-f") == 0) {
            cfg.runs_full = parse_count(v, a), i++;
        } else if (strcmp(a, "-d") == 0) {
            if (!v || !*v)
                die("-d wants a directory");
            cfg.dir = v, i++;
        } else if (strcmp(a, "--only") == 0) {
            if (v && strcmp(v, "w3") == 0)
                cfg.do_w4 = 0;
            else if (v && strcmp(v, "w4") == 0)
                cfg.do_w3 = 0;
            else
                die("--only wants w3 or w4, got '%s'", v ? v : "");
            i++;
        } else if (strcmp(a, "--no-w4-full") == 0) {
            cfg.w4_full = 0;
        } else if (strcmp(a, "--no-hook") == 0) {
            cfg.hook = 0;
        } else if (strcmp(a, "-v") == 0) {
            cfg.verbose = 1;
        } else if (strcmp(a, "--json") == 0) {
            cfg.json = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(EXIT_SUCCESS);
        } else {
            usage(stderr);
            exit(EXIT_FAILURE);
        }
    }
    if (!cfg.runs_full)
        cfg.runs_full = cfg.runs;
    return cfg;
}

/* splitmix64: the ids are random-looking (as generated ones are, so index
 * inserts land all over the B-tree) but the same in every run. */
static uint64_t next_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void bench_init(bench *b, config cfg)
{
    memset(b, 0, sizeof *b);
    b->cfg = cfg;
    check_rc(sfsm_pipeline_default(&b->pipeline), "sfsm_pipeline_default");
    b->pipeline_name = sfsm_pipeline_name(b->pipeline);
    b->pipeline_version = sfsm_pipeline_version(b->pipeline);
    size_t stage = sfsm_pipeline_initial_stage(b->pipeline);
    b->stage_name[0] = sfsm_pipeline_stage_name(b->pipeline, stage);
    for (size_t k = 0; k < WIN_STEPS; k++) {
        check_rc(sfsm_pipeline_event_index(b->pipeline, WIN_PATH[k], &b->win_ev[k]), WIN_PATH[k]);
        stage = sfsm_pipeline_event_target(b->pipeline, b->win_ev[k]);
        b->stage_name[k + 1] = sfsm_pipeline_stage_name(b->pipeline, stage);
    }
    check_rc(sfsm_pipeline_stage_index(b->pipeline, "serviced", &b->serviced_stage), "serviced");
    if (stage != b->serviced_stage)
        die("the default pipeline's win path ends at '%s', not 'serviced'", b->stage_name[WIN_STEPS]);
    b->cap = cfg.do_w4 && cfg.n4 > cfg.n3 ? cfg.n4 : cfg.n3;
    b->ids = calloc(b->cap, sizeof *b->ids);
    b->opps = calloc(b->cap, sizeof *b->opps);
    if (!b->ids || !b->opps)
        die("out of memory for %zu opportunities", b->cap);
    uint64_t state = 20240601;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < b->cap; i++) {
        uint64_t hi = next_rand(&state), lo = next_rand(&state);
        for (size_t d = 0; d < 16; d++) {
            b->ids[i][d] = hex[(hi >> (60 - 4 * d)) & 15];
            b->ids[i][16 + d] = hex[(lo >> (60 - 4 * d)) & 15];
        }
        b->ids[i][32] = '\0';
    }
}

static void bench_free(bench *b)
{
    free(b->schema);
    free(b->ids);
    free(b->opps);
    sfsm_pipeline_free(b->pipeline);
}

int main(int argc, char **argv)
{
    bench b;
    bench_init(&b, parse_args(argc, argv));
    atexit(cleanup);
    if (access(b.cfg.dir, W_OK) != 0)
        die("cannot write to %s: %s", b.cfg.dir, strerror(errno));
    copy_library_schema(&b);

    measure plan[MAX_RESULTS];
    size_t count = 0;
    if (b.cfg.do_w3) {
        plan[count++] = (measure){ "W3", SFSM_SQLITE_SYNC_FULL, b.cfg.n3, 0, b.cfg.runs_full };
        plan[count++] = (measure){ "W3", SFSM_SQLITE_SYNC_NORMAL, b.cfg.n3, 0, b.cfg.runs };
    }
    if (b.cfg.do_w4) {
        plan[count++] = (measure){ "W4", SFSM_SQLITE_SYNC_NORMAL, b.cfg.n4, b.cfg.block, b.cfg.runs };
        if (b.cfg.w4_full)
            plan[count++] = (measure){ "W4", SFSM_SQLITE_SYNC_FULL, b.cfg.n4, b.cfg.block, b.cfg.runs };
    }
    result res[MAX_RESULTS];
    for (size_t i = 0; i < count; i++)
        measure_one(&b, &plan[i], &res[i]);

    print_table(b.cfg.json ? stderr : stdout, &b, res, count);
    if (b.cfg.json)
        print_json(stdout, &b, res, count);
    bench_free(&b);
    return EXIT_SUCCESS;
}
