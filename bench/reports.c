/*
 * bench/reports — workload W5 of BENCH.md: the reports over generated stores.
 *
 * For each size (default 10 000, 100 000 and 1 000 000 opportunities) and
 * each store (memory, SQLite) a store is generated through the public API
 * with a fixed seed over one simulated year (2026) on an injected clock:
 * 40 owners in 5 teams, CNY and USD, amounts 1 000.00–500 000.00, each
 * opportunity created with a customer, an owner and an expected close date
 * and walked as a manager to a random point of the default pipeline (about
 * 35 % won at signed, delivered or serviced; 30 % lost from one of the open
 * stages, with a reason; the rest open, spread over lead, qualified, quoted
 * and negotiating), steps 1–10 days apart. Every owner has an annual 2026
 * target per currency split into quarters; every team one too; about 60 %
 * of won deals have a payment (a deposit or the whole amount). Generation
 * runs in batches of 1 000 opportunities (sfsm_engine_begin/commit); the
 * SQLite file is opened with synchronous OFF. Generation is timed and
 * reported, not counted in the report figures.
 *
 * Then each report is timed (median of R runs, default 3; min and max kept):
 * pipeline (everything), forecast for 2026-Q3, funnel (created in 2026),
 * win rate per owner (closes in 2026), velocity (2026), stale as of
 * 2027-01-01, calibration, attainment per owner and team for 2026-Q3, and
 * receivables. The table gives seconds per report, size and store, and the
 * growth factor from the smallest to the largest size measured (10k → 1M
 * by default; linear would be 100×). The targets: every report over
 * 1M in ≤ 0.5 s on memory and ≤ 3 s on SQLite; rows over them are marked.
 *
 * Usage: reports [-s 10000,100000,1000000] [-r RUNS] [--store memory|sqlite|both]
 *                [-d DIR] [--seed N] [--keep] [-v]
 * Exit status 0 on success (whatever the timings), 1 if a call fails.
 */
#define _POSIX_C_SOURCE 200809L /* getpid, unlink under -std=c11 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_stats.h"
#include "bench_util.h"
#include <salesfsm/salesfsm.h>

#define MAX_SIZES 8
#define N_OWNERS 40
#define N_TEAMS 5
#define BATCH 1000
#define DAY_MS INT64_C(86400000)
#define YEAR_START INT64_C(1767225600000) /* 2026-01-01 00:00 UTC */
#define YEAR_END INT64_C(1798761600000)   /* 2027-01-01 00:00 UTC */

static int verbose;

#define CHECK(what, call) BENCH_CHECK("reports", (what), (call))

/* ---------------------------------------------------------------- PRNG */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    /* splitmix64: tiny, fast, good enough for generating test data */
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t below(rng *r, uint64_t n)
{
    return (rng_next(r) >> 11) % n;
}

/* ---------------------------------------------------------------- generation */

static int64_t sim_now;

static int64_t sim_clock(void *ud)
{
    (void)ud;
    return sim_now;
}

static const sfsm_actor MANAGER = { "bench manager", "manager" };

static const char *const OPEN_PATH[] = { "qualify", "quote", "negotiate" };   /* lead → negotiating */
static const char *const WON_PATH[] = { "sign", "deliver", "service" };       /* negotiating → serviced */

static char owner_name[N_OWNERS][24];
static char team_name[N_TEAMS][24];

/* Annual target per owner and currency: about what an owner wins in a year. */
static int64_t owner_target(size_t n)
{
    /* n × 35 % won × 250 000.00 average / 40 owners / 2 currencies, in minor units */
    int64_t t = (int64_t)n * 35 / 100 * INT64_C(25000000) / N_OWNERS / 2;
    return t > 0 ? t : 100;
}

static void plan(sfsm_engine *e, size_t n)
{
    static const uint32_t w[4] = { 2, 3, 3, 4 };
    static const char *const currencies[2] = { "CNY", "USD" };
    for (int i = 0; i < N_OWNERS; i++)
        CHECK("team_set", sfsm_team_set(e, owner_name[i], team_name[i % N_TEAMS]));
    for (int c = 0; c < 2; c++) {
        sfsm_target t = { SFSM_SUBJECT_OWNER, NULL, { 2026, SFSM_PERIOD_YEAR, 1 }, owner_target(n), currencies[c] };
        for (int i = 0; i < N_OWNERS; i++) {
            t.subject = owner_name[i];
            CHECK("target_split", sfsm_target_split(e, &t, SFSM_PERIOD_QUARTER, w, 4));
        }
        t.subject_kind = SFSM_SUBJECT_TEAM;
        t.amount = owner_target(n) * (N_OWNERS / N_TEAMS);
        for (int k = 0; k < N_TEAMS; k++) {
            t.subject = team_name[k];
            CHECK("target_split", sfsm_target_split(e, &t, SFSM_PERIOD_QUARTER, w, 4));
        }
    }
}

static void step(rng *r)
{
    sim_now += (int64_t)(1 + below(r, 10)) * DAY_MS - (int64_t)below(r, 3600) * 1000;
}

typedef struct gen_stats {
    size_t won, lost, open, payments, fires;
} gen_stats;

static void fire(sfsm_engine *e, sfsm_opp *o, const char *event, const char *note, rng *r, gen_stats *st)
{
    step(r);
    int rc = sfsm_fire(e, o, event, &MANAGER, note);
    if (rc)
        bench_die("reports", event, rc);
    st->fires++;
}

static void one_opportunity(sfsm_engine *e, size_t i, rng *r, gen_stats *st)
{
    char id[32], customer[32];
    snprintf(id, sizeof id, "opp-%07zu", i);
    snprintf(customer, sizeof customer, "customer-%05u", (unsigned)below(r, 20000));
    sfsm_create_options co = SFSM_CREATE_OPTIONS_INIT;
    /* Created in the first 300 days, so that even a full walk ends within the year. */
    sim_now = YEAR_START + (int64_t)below(r, 300 * 86400) * 1000;
    co.id = id;
    co.customer = customer;
    co.owner = owner_name[below(r, N_OWNERS)];
    co.amount = (int64_t)(100000 + below(r, 50000000 - 100000 + 1));   /* 1 000.00 – 500 000.00 */
    co.currency = below(r, 3) ? "CNY" : "USD";
    co.expected_close_ms = sim_now + (int64_t)(30 + below(r, 150)) * DAY_MS;
    co.actor = &MANAGER;
    sfsm_opp *o = NULL;
    CHECK("create", sfsm_opp_create_ext(e, &co, &o));

    uint64_t roll = below(r, 100);
    if (roll < 35) {   /* won: at signed, delivered or serviced */
        for (size_t k = 0; k < 3; k++)
            fire(e, o, OPEN_PATH[k], NULL, r, st);
        size_t to = below(r, 3);
        for (size_t k = 0; k <= to; k++)
            fire(e, o, WON_PATH[k], NULL, r, st);
        st->won++;
        if (below(r, 100) < 60) {
            int64_t amount = below(r, 2) ? co.amount : co.amount * 3 / 10;
            sim_now += (int64_t)below(r, 5) * DAY_MS;
            CHECK("payment_add", sfsm_payment_add(e, id, amount > 0 ? amount : 1, co.currency, "bench"));
            st->payments++;
        }
    } else if (roll < 65) {   /* lost from one of the four open stages */
        size_t at = below(r, 4);
        for (size_t k = 0; k < at; k++)
            fire(e, o, OPEN_PATH[k], NULL, r, st);
        fire(e, o, "lose", "bench: lost", r, st);
        st->lost++;
    } else {   /* open, at any open stage */
        size_t at = below(r, 4);
        for (size_t k = 0; k < at; k++)
            fire(e, o, OPEN_PATH[k], NULL, r, st);
        st->open++;
    }
    sfsm_opp_free(o);
}

static double generate(sfsm_engine *e, size_t n, uint64_t seed, gen_stats *st)
{
    rng r = { seed };
    memset(st, 0, sizeof *st);
    double t0 = bench_now_s();
    CHECK("set_clock", sfsm_engine_set_clock(e, sim_clock, NULL));
    sim_now = YEAR_START;
    plan(e, n);
    for (size_t i = 0; i < n; i += BATCH) {
        CHECK("begin", sfsm_engine_begin(e));
        for (size_t j = i; j < n && j < i + BATCH; j++)
            one_opportunity(e, j, &r, st);
        CHECK("commit", sfsm_engine_commit(e));
        if (verbose && (i / BATCH) % 100 == 99)
            fprintf(stderr, "\r  generated %zu / %zu", i + BATCH, n);
    }
    if (verbose && n >= 100 * BATCH)
        fputc('\n', stderr);
    /* Reports of stale deals "now" use the engine clock: leave it at year end. */
    sim_now = YEAR_END;
    return bench_now_s() - t0;
}

/* ---------------------------------------------------------------- the reports */

typedef int (*report_fn)(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out);

typedef struct bench_report {
    const char *name;
    report_fn run;
    int64_t from, to, as_of;
} bench_report;

#define Q3_FROM INT64_C(1782864000000) /* 2026-07-01 */
#define Q3_TO INT64_C(1790812800000)   /* 2026-10-01 */

static const bench_report REPORTS[] = {
    { "pipeline", sfsm_report_pipeline, 0, 0, 0 },
    { "forecast Q3", sfsm_report_forecast, Q3_FROM, Q3_TO, 0 },
    { "funnel 2026", sfsm_report_funnel, YEAR_START, YEAR_END, 0 },
    { "win rate/owner", sfsm_report_win_rate, YEAR_START, YEAR_END, 0 },
    { "velocity 2026", sfsm_report_velocity, YEAR_START, YEAR_END, 0 },
    { "stale @ year end", sfsm_report_stale, 0, 0, YEAR_END },
    { "calibration", sfsm_report_calibration, 0, 0, 0 },
    { "attainment Q3", sfsm_report_attainment, Q3_FROM, Q3_TO, 0 },
    { "receivables", sfsm_report_receivables, 0, 0, 0 },
};
#define N_REPORTS (sizeof REPORTS / sizeof REPORTS[0])

typedef struct timing {
    double median, min, max;
    size_t rows;
    int measured;
} timing;

static void time_reports(sfsm_engine *e, int runs, timing *out)
{
    double *t = malloc((size_t)runs * sizeof *t);
    if (!t) {
        fprintf(stderr, "reports: out of memory\n");
        exit(1);
    }
    for (size_t k = 0; k < N_REPORTS; k++) {
        sfsm_report_filter f = SFSM_REPORT_FILTER_INIT;
        f.from_ms = REPORTS[k].from;
        f.to_ms = REPORTS[k].to;
        f.as_of_ms = REPORTS[k].as_of;
        for (int i = 0; i < runs; i++) {
            sfsm_report *rep = NULL;
            double t0 = bench_now_s();
            CHECK(REPORTS[k].name, REPORTS[k].run(e, &f, &rep));
            t[i] = bench_now_s() - t0;
            out[k].rows = sfsm_report_row_count(rep);
            sfsm_report_free(rep);
        }
        bench_stat st = bench_summarize(t, (size_t)runs);
        out[k].median = st.median;
        out[k].min = st.min;
        out[k].max = st.max;
        out[k].measured = 1;
        if (verbose)
            fprintf(stderr, "  %-18s %9.4f s (min %.4f, max %.4f), %zu rows\n", REPORTS[k].name, out[k].median,
                    out[k].min, out[k].max, out[k].rows);
    }
    free(t);
}

/* ---------------------------------------------------------------- main */

enum { MEMORY, SQLITE, N_STORES };
static const char *const STORE_NAME[N_STORES] = { "memory", "sqlite" };
static const double TARGET_S[N_STORES] = { 0.5, 3.0 };

static void remove_db(const char *path)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    char name[1100];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

static int parse_sizes(const char *text, size_t *sizes, size_t *count)
{
    size_t n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || v == 0 || v > 100000000ULL || n == MAX_SIZES || (*end && *end != ','))
            return -1;
        sizes[n++] = (size_t)v;
        p = *end ? end + 1 : end;
    }
    *count = n;
    return n ? 0 : -1;
}

static void usage(void)
{
    fprintf(stderr, "usage: reports [-s 10000,100000,1000000] [-r RUNS] [--store memory|sqlite|both]\n"
                    "               [-d DIR] [--seed N] [--keep] [-v]\n");
    exit(2);
}

static const char *size_label(size_t n, char *buf, size_t size)
{
    if (n >= 1000000 && n % 1000000 == 0)
        snprintf(buf, size, "%zuM", n / 1000000);
    else if (n >= 1000 && n % 1000 == 0)
        snprintf(buf, size, "%zuk", n / 1000);
    else
        snprintf(buf, size, "%zu", n);
    return buf;
}

int main(int argc, char **argv)
{
    size_t sizes[MAX_SIZES] = { 10000, 100000, 1000000 }, n_sizes = 3;
    int runs = 3, keep = 0;
    int use[N_STORES] = { 1, 1 };
    uint64_t seed = 2026;
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-s") == 0 && v) {
            if (parse_sizes(v, sizes, &n_sizes) != 0)
                usage();
            i++;
        } else if (strcmp(a, "-r") == 0 && v) {
            runs = atoi(v);
            if (runs < 1 || runs > 101)
                usage();
            i++;
        } else if (strcmp(a, "--store") == 0 && v) {
            use[MEMORY] = strcmp(v, "memory") == 0 || strcmp(v, "both") == 0;
            use[SQLITE] = strcmp(v, "sqlite") == 0 || strcmp(v, "both") == 0;
            if (!use[MEMORY] && !use[SQLITE])
                usage();
            i++;
        } else if (strcmp(a, "-d") == 0 && v) {
            dir = v;
            i++;
        } else if (strcmp(a, "--seed") == 0 && v) {
            seed = strtoull(v, NULL, 10);
            i++;
        } else if (strcmp(a, "--keep") == 0) {
            keep = 1;
        } else if (strcmp(a, "-v") == 0) {
            verbose = 1;
        } else {
            usage();
        }
    }
    for (int i = 0; i < N_OWNERS; i++)
        snprintf(owner_name[i], sizeof owner_name[i], "rep-%02d", i);
    for (int k = 0; k < N_TEAMS; k++)
        snprintf(team_name[k], sizeof team_name[k], "team-%d", k);

    static timing results[N_STORES][MAX_SIZES][N_REPORTS];
    double gen_s[N_STORES][MAX_SIZES] = { { 0 } };
    sfsm_pipeline *p = NULL;
    CHECK("pipeline", sfsm_pipeline_default(&p));
    printf("W5 reports: seed %" PRIu64 ", median of %d runs, 40 owners in 5 teams, CNY+USD, year 2026\n", seed, runs);
    for (int s = 0; s < N_STORES; s++) {
        if (!use[s])
            continue;
        for (size_t z = 0; z < n_sizes; z++) {
            char path[1024];
            sfsm_store *store = NULL;
            if (s == MEMORY) {
                CHECK("open memory", sfsm_store_open_memory(&store));
            } else {
                snprintf(path, sizeof path, "%s/bench-reports-%ld-%zu.db", dir, (long)getpid(), sizes[z]);
                remove_db(path);
                sfsm_sqlite_options so = SFSM_SQLITE_OPTIONS_INIT;
                so.synchronous = SFSM_SQLITE_SYNC_OFF;
                CHECK("open sqlite", sfsm_store_open_sqlite(&store, path, &so));
            }
            sfsm_engine *e = NULL;
            CHECK("engine", sfsm_engine_new(&e, p, store));
            gen_stats st;
            gen_s[s][z] = generate(e, sizes[z], seed, &st);
            printf("%-6s %8zu opportunities generated in %.1f s (%zu won, %zu lost, %zu open; %zu fires, %zu "
                   "payments)\n",
                   STORE_NAME[s], sizes[z], gen_s[s][z], st.won, st.lost, st.open, st.fires, st.payments);
            fflush(stdout);
            time_reports(e, runs, results[s][z]);
            sfsm_engine_free(e);
            sfsm_store_close(store);
            if (s == SQLITE && !keep)
                remove_db(path);
            else if (s == SQLITE)
                printf("       kept %s\n", path);
        }
    }
    sfsm_pipeline_free(p);

    /* The table: seconds per report, per store and size; growth smallest → largest. */
    char label[24], big[24];
    size_label(sizes[n_sizes - 1], big, sizeof big);
    printf("\nseconds per report (median of %d)\n%-18s", runs, "report");
    for (int s = 0; s < N_STORES; s++) {
        if (!use[s])
            continue;
        for (size_t z = 0; z < n_sizes; z++) {
            char col[32];
            snprintf(col, sizeof col, "%s %s", s == MEMORY ? "mem" : "sql", size_label(sizes[z], label, sizeof label));
            printf(" %10s", col);
        }
        if (n_sizes > 1) {
            char col[32];
            snprintf(col, sizeof col, "%s %s/%s", s == MEMORY ? "mem" : "sql", size_label(sizes[0], label, sizeof label),
                     big);
            printf(" %12s", col);
        }
    }
    printf("\n");
    int over = 0;
    for (size_t k = 0; k < N_REPORTS; k++) {
        printf("%-18s", REPORTS[k].name);
        for (int s = 0; s < N_STORES; s++) {
            if (!use[s])
                continue;
            for (size_t z = 0; z < n_sizes; z++) {
                const timing *t = &results[s][z][k];
                int late = sizes[z] >= 1000000 && t->median > TARGET_S[s];
                over += late;
                printf(" %9.4f%s", t->median, late ? "!" : " ");
            }
            if (n_sizes > 1) {
                double a = results[s][0][k].median, b = results[s][n_sizes - 1][k].median;
                printf(" %11.1fx", a > 0 ? b / a : 0.0);
            }
        }
        printf("\n");
    }
    printf("%-18s", "(generation)");
    for (int s = 0; s < N_STORES; s++) {
        if (!use[s])
            continue;
        for (size_t z = 0; z < n_sizes; z++)
            printf(" %9.1f ", gen_s[s][z]);
        if (n_sizes > 1)
            printf(" %12s", "");
    }
    printf("\ntargets at 1M: <= 0.5 s on memory, <= 3 s on SQLite; '!' marks a miss (%d)\n", over);
    return 0;
}
