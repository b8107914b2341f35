/*
 * bench/transitions — workloads W1 and W2 of BENCH.md on the memory store.
 *
 *   W1: N opportunities, each created with a customer and an amount, then
 *       driven lead → … → serviced by qualify, quote, negotiate, sign,
 *       deliver, service as one manager, guards active, one after hook.
 *   W2: as W1, but every 4th opportunity (index % 4 == 3) fires `lose` with a
 *       reason note from `quoted` and stops there.
 *
 * Fires run in opportunity-major order: each opportunity is walked through
 * all of its events before the next one starts.
 *
 * Each workload first gets one untimed memory run (resident set and heap in
 * use before and after), which also warms caches and the allocator; then R
 * timed runs. A timed run is two passes, each on a fresh memory store: one
 * fires with sfsm_fire_index (event names resolved once up front), the other
 * with sfsm_fire and the name string. Which pass goes first alternates, so
 * that drift on a noisy machine does not always favour the same one, and
 * their ratio is taken within the run.
 *
 * Usage: transitions [-n N] [-r R] [--json]
 * Exit status 0 on success, 1 if a call or an end-of-run check fails.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, sysconf under -std=c11 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include <salesfsm/salesfsm.h>

/* mallinfo2 gives the heap bytes in use exactly, where the resident set only
 * grows in pages and never shrinks after free; glibc 2.33 and later. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#  include <malloc.h>
#  define HAVE_MALLINFO2 1
#else
#  define HAVE_MALLINFO2 0
#endif

/* ---------------------------------------------------------------- setup */

#define DEFAULT_N 100000
#define DEFAULT_RUNS 5

static const char *const WIN_PATH[] = {
    "qualify", "quote", "negotiate", "sign", "deliver", "service",
};
#define WIN_STEPS (sizeof WIN_PATH / sizeof WIN_PATH[0])
/* W2's losers fire the first LOSE_AFTER events of WIN_PATH (lead → quoted),
 * then `lose`. */
#define LOSE_AFTER 2
#define LOSE_STEPS (LOSE_AFTER + 1)
static const char LOSE_EVENT[] = "lose";
static const char LOSE_REASON[] = "price above the customer's budget";

static const sfsm_actor MANAGER = { "Mei (manager)", "manager" };

/* A few customers, some non-ASCII as in the handbooks' own data, so the
 * UTF-8 check of the text setters sees realistic input. */
static const char *const CUSTOMERS[] = {
    "杭州明远贸易有限公司", "Acme Ltd", "深圳华创科技", "Globex GmbH",
    "上海远东机械", "Initech Inc.", "北京中联软件", "Umbrella Co.",
};
#define CUSTOMER_COUNT (sizeof CUSTOMERS / sizeof CUSTOMERS[0])

typedef enum workload { W1, W2 } workload;
static const char *const WORKLOAD_NAME[] = { "W1", "W2" };

typedef enum fire_mode { FIRE_BY_INDEX, FIRE_BY_NAME } fire_mode;

typedef struct config {
    size_t n;
    size_t runs;
    int json;
} config;

/* What every run shares: the pipeline is immutable, so one is enough, and the
 * handle array is allocated once so that it is outside every measurement. */
typedef struct bench {
    config cfg;
    sfsm_pipeline *pipeline;
    size_t win_ev[WIN_STEPS];
    size_t lose_ev;
    size_t serviced_stage;
    size_t lost_stage;
    sfsm_opp **opps;
} bench;

/* One fresh store with its engine and the after hook's counter. */
typedef struct run {
    sfsm_store *store;
    sfsm_engine *engine;
    uint64_t after_calls;
} run;

/* ----------------------------------------------------------- failures */

static void die(const char *fmt, ...) SFSM_PRINTF(1, 2);

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("transitions: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EXIT_FAILURE);
}

/* Every library call is checked: a benchmark that silently measures a
 * failing path measures nothing. */
static void check_rc(int rc, const char *what)
{
    if (rc != SFSM_OK)
        die("%s: %s (%s)", what, sfsm_strerror(rc), sfsm_errmsg());
}

/* ------------------------------------------------------- measurement */

static double now_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        die("clock_gettime: %s", strerror(errno));
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Resident set in bytes from /proc/self/statm (second field, in pages);
 * -1 where /proc is not available. */
static long long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    long long size = 0, resident = -1;
    if (fscanf(f, "%lld %lld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return resident < 0 || page <= 0 ? -1 : resident * page;
}

/* Heap bytes in use (arena + mmapped chunks); -1 without mallinfo2. */
static long long heap_bytes(void)
{
#if HAVE_MALLINFO2
    struct mallinfo2 mi = mallinfo2();
    return (long long)(mi.uordblks + mi.hblkhd);
#else
    return -1;
#endif
}

/* Hands freed memory back to the system, so that the resident set before a
 * memory run is not padded with pages an earlier run freed. */
static void heap_trim(void)
{
#if HAVE_MALLINFO2
    malloc_trim(0);
#endif
}

static long long peak_rss_bytes(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (long long)ru.ru_maxrss * 1024; /* Linux reports KiB */
}

typedef struct mem_point {
    long long rss;
    long long heap;
} mem_point;

static mem_point mem_now(void)
{
    mem_point m = { rss_bytes(), heap_bytes() };
    return m;
}

/* ------------------------------------------------------------- runs */

static void count_after(const sfsm_transition *t, void *ud)
{
    (void)t;
    ++*(uint64_t *)ud;
}

static void run_open(run *r, const bench *b)
{
    r->after_calls = 0;
    check_rc(sfsm_store_open_memory(&r->store), "sfsm_store_open_memory");
    check_rc(sfsm_engine_new(&r->engine, b->pipeline, r->store), "sfsm_engine_new");
    check_rc(sfsm_engine_on_after(r->engine, NULL, count_after, &r->after_calls),
             "sfsm_engine_on_after");
}

static void free_handles(bench *b)
{
    for (size_t i = 0; i < b->cfg.n; i++) {
        sfsm_opp_free(b->opps[i]);
        b->opps[i] = NULL;
    }
}

static void run_close(run *r, bench *b)
{
    free_handles(b);
    sfsm_engine_free(r->engine);
    sfsm_store_close(r->store);
    r->engine = NULL;
    r->store = NULL;
}

/* W2's losers: the 4th, 8th, … opportunity. */
static int loses(workload w, size_t i)
{
    return w == W2 && i % 4 == 3;
}

static size_t loser_count(workload w, size_t n)
{
    return w == W2 ? n / 4 : 0;
}

static void create_one(run *r, bench *b, size_t i)
{
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.customer = CUSTOMERS[i % CUSTOMER_COUNT];
    opts.amount = 100000 + (int64_t)(i % 1000) * 100; /* ¥1 000.00 … ¥100 900.00 */
    opts.currency = "CNY";
    opts.actor = &MANAGER;
    check_rc(sfsm_opp_create_ext(r->engine, &opts, &b->opps[i]), "sfsm_opp_create_ext");
}

static void create_all(run *r, bench *b)
{
    for (size_t i = 0; i < b->cfg.n; i++)
        create_one(r, b, i);
}

/* The branch on mode costs the same in both variants, so their difference is
 * the cost of resolving the name inside the library. */
static void fire_step(run *r, sfsm_opp *o, fire_mode mode, size_t ev, const char *name,
                      const char *note)
{
    int rc = mode == FIRE_BY_INDEX ? sfsm_fire_index(r->engine, o, ev, &MANAGER, note)
                                   : sfsm_fire(r->engine, o, name, &MANAGER, note);
    if (rc != SFSM_OK)
        die("fire %s on %s (stage %s): %s (%s)", name, sfsm_opp_id(o), sfsm_opp_stage(o),
            sfsm_strerror(rc), sfsm_errmsg());
}

static void walk_one(run *r, const bench *b, workload w, fire_mode mode, size_t i)
{
    sfsm_opp *o = b->opps[i];
    if (loses(w, i)) {
        for (size_t k = 0; k < LOSE_AFTER; k++)
            fire_step(r, o, mode, b->win_ev[k], WIN_PATH[k], NULL);
        fire_step(r, o, mode, b->lose_ev, LOSE_EVENT, LOSE_REASON);
        return;
    }
    for (size_t k = 0; k < WIN_STEPS; k++)
        fire_step(r, o, mode, b->win_ev[k], WIN_PATH[k], NULL);
}

/* Opportunity-major: each opportunity goes all the way before the next. */
static void fire_all(run *r, const bench *b, workload w, fire_mode mode)
{
    for (size_t i = 0; i < b->cfg.n; i++)
        walk_one(r, b, w, mode, i);
}

static uint64_t expected_fires(workload w, size_t n)
{
    size_t lost = loser_count(w, n);
    return (uint64_t)(n - lost) * WIN_STEPS + (uint64_t)lost * LOSE_STEPS;
}

/* ----------------------------------------------------------- checks */

static int count_cb(const sfsm_opp *o, void *ud)
{
    (void)o;
    ++*(size_t *)ud;
    return 0;
}

/* Counts stored opportunities in `stage` (NULL: all) through sfsm_scan, so
 * the check reads the store and not just the handles. */
static size_t scan_count(run *r, const char *stage)
{
    sfsm_filter f = SFSM_FILTER_INIT;
    f.stage = stage;
    size_t count = 0;
    check_rc(sfsm_scan(r->engine, &f, count_cb, &count), "sfsm_scan");
    return count;
}

/* The last entry's strings are copied: they live only during the callback. */
typedef struct history_tally {
    uint64_t entries;
    int creates;
    char last_to[SFSM_MAX_NAME + 1];
    char last_note[128];
} history_tally;

static int history_cb(const sfsm_history_entry *e, void *ud)
{
    history_tally *t = ud;
    t->entries++;
    if (e->kind == SFSM_HISTORY_CREATE)
        t->creates++;
    snprintf(t->last_to, sizeof t->last_to, "%s", e->to ? e->to : "");
    snprintf(t->last_note, sizeof t->last_note, "%s", e->note ? e->note : "");
    return 0;
}

/* Reads the stored history of one opportunity and compares it with what the
 * walk must have written. */
static void check_history(run *r, const bench *b, workload w, size_t i)
{
    const sfsm_opp *o = b->opps[i];
    history_tally t = { 0 };
    check_rc(sfsm_opp_history(r->engine, sfsm_opp_id(o), history_cb, &t), "sfsm_opp_history");
    uint64_t want = loses(w, i) ? 1 + LOSE_STEPS : 1 + WIN_STEPS;
    const char *want_to = loses(w, i) ? "lost" : "serviced";
    if (t.entries != want || t.creates != 1 || strcmp(t.last_to, want_to) != 0)
        die("%s: history of opportunity %zu: %" PRIu64 " entries (want %" PRIu64
            "), %d creates, last to '%s' (want '%s')",
            WORKLOAD_NAME[w], i, t.entries, want, t.creates, t.last_to, want_to);
    if (loses(w, i) && strcmp(t.last_note, LOSE_REASON) != 0)
        die("%s: opportunity %zu lost with note '%s'", WORKLOAD_NAME[w], i, t.last_note);
}

/* Every handle at its final stage with the right version; the versions add
 * up to the number of history entries, since each entry adds one. */
static uint64_t check_handles(const bench *b, workload w)
{
    uint64_t versions = 0;
    for (size_t i = 0; i < b->cfg.n; i++) {
        const sfsm_opp *o = b->opps[i];
        size_t want_stage = loses(w, i) ? b->lost_stage : b->serviced_stage;
        uint64_t want_version = loses(w, i) ? 1 + LOSE_STEPS : 1 + WIN_STEPS;
        if (sfsm_opp_stage_index(o) != want_stage || sfsm_opp_version(o) != want_version)
            die("%s: opportunity %zu at stage %s version %" PRIu64, WORKLOAD_NAME[w], i,
                sfsm_opp_stage(o), sfsm_opp_version(o));
        versions += sfsm_opp_version(o);
    }
    return versions;
}

static void check_run(run *r, const bench *b, workload w)
{
    size_t n = b->cfg.n, lost = loser_count(w, n);
    uint64_t fires = expected_fires(w, n);
    if (r->after_calls != fires)
        die("%s: after hook ran %" PRIu64 " times, want %" PRIu64, WORKLOAD_NAME[w],
            r->after_calls, fires);
    size_t all = scan_count(r, NULL), serviced = scan_count(r, "serviced"),
           lost_seen = scan_count(r, "lost");
    if (all != n || serviced != n - lost || lost_seen != lost)
        die("%s: store holds %zu opportunities, %zu serviced, %zu lost; want %zu, %zu, %zu",
            WORKLOAD_NAME[w], all, serviced, lost_seen, n, n - lost, lost);
    uint64_t entries = check_handles(b, w);
    if (entries != (uint64_t)n + fires)
        die("%s: %" PRIu64 " history entries, want %" PRIu64, WORKLOAD_NAME[w], entries,
            (uint64_t)n + fires);
    /* Reading every history back would dominate the run; 64 evenly spread
     * samples (both kinds in W2) confirm that versions match stored entries. */
    size_t step = n > 64 ? n / 64 : 1;
    for (size_t i = 0; i < n; i += step)
        check_history(r, b, w, i);
    check_history(r, b, w, n - 1);
    if (n > 3)
        check_history(r, b, w, 3);
}

/* ------------------------------------------------------ statistics */

static bench_stat single(double v)
{
    bench_stat st = { v, v, v };
    return st;
}

/* ---------------------------------------------------------- report */

#define MAX_ROWS 48

typedef struct row {
    const char *workload;
    const char *key;    /* JSON name */
    const char *label;  /* table text */
    bench_stat s;
} row;

typedef struct report {
    row rows[MAX_ROWS];
    size_t count;
} report;

static void add_row(report *rep, const char *wname, const char *key, const char *label, bench_stat s)
{
    if (rep->count == MAX_ROWS)
        die("too many report rows");
    row *r = &rep->rows[rep->count++];
    r->workload = wname;
    r->key = key;
    r->label = label;
    r->s = s;
}

static void print_table(FILE *out, const report *rep, const bench *b)
{
    fprintf(out, "salesfsm %s, bench/transitions: N = %zu, %zu timed runs, memory store, "
                 "opportunity-major fire order\n\n",
            sfsm_version(), b->cfg.n, b->cfg.runs);
    fprintf(out, "%-8s %-46s %14s %14s %14s\n", "workload", "metric", "median", "min", "max");
    for (size_t i = 0; i < rep->count; i++) {
        const row *r = &rep->rows[i];
        /* Small values (ratios, MiB) need more digits than ns or bytes. */
        int prec = r->s.median > -10.0 && r->s.median < 10.0 ? 3 : 1;
        fprintf(out, "%-8s %-46s %14.*f %14.*f %14.*f\n", r->workload, r->label, prec, r->s.median,
                prec, r->s.min, prec, r->s.max);
    }
}

static void print_json(FILE *out, const report *rep, const bench *b)
{
    fprintf(out, "{\"bench\":\"transitions\",\"version\":\"%s\",\"n\":%zu,\"runs\":%zu,"
                 "\"store\":\"memory\",\"order\":\"opportunity-major\",\"results\":[",
            sfsm_version(), b->cfg.n, b->cfg.runs);
    for (size_t i = 0; i < rep->count; i++) {
        const row *r = &rep->rows[i];
        fprintf(out, "%s{\"workload\":\"%s\",\"metric\":\"%s\",\"median\":%.3f,\"min\":%.3f,"
                     "\"max\":%.3f}",
                i ? "," : "", r->workload, r->key, r->s.median, r->s.min, r->s.max);
    }
    fputs("]}\n", out);
}

/* ------------------------------------------------------ memory run */

/* Growth per opportunity between two points; -1 when a counter is missing. */
static double per_opp(long long before, long long after, size_t n)
{
    return before < 0 || after < 0 ? -1.0 : (double)(after - before) / (double)n;
}

/* Store-only record cost: every handle is freed right after its create, so
 * what stays is what the store keeps per opportunity plus its create entry. */
static double records_only_heap(bench *b)
{
    run r;
    heap_trim();
    run_open(&r, b);
    mem_point before = mem_now();
    for (size_t i = 0; i < b->cfg.n; i++) {
        create_one(&r, b, i);
        sfsm_opp_free(b->opps[i]);
        b->opps[i] = NULL;
    }
    mem_point after = mem_now();
    run_close(&r, b);
    return per_opp(before.heap, after.heap, b->cfg.n);
}

/*
 * The untimed first run of a workload. Resident set: before, after the
 * creates, after the fires (handles alive, as in the timed runs). Heap in
 * use: the same points plus after freeing the handles (the store alone) and
 * after closing the store (what it left behind). Earlier runs freed memory
 * that would otherwise be reused without growing the resident set; the
 * malloc_trim before each starting point hands it back first.
 */
static void memory_run(bench *b, workload w, report *rep)
{
    const char *wn = WORKLOAD_NAME[w];
    size_t n = b->cfg.n;
    double records = records_only_heap(b);

    run r;
    heap_trim();
    mem_point base = mem_now();
    run_open(&r, b);
    mem_point opened = mem_now();
    create_all(&r, b);
    mem_point created = mem_now();
    fire_all(&r, b, w, FIRE_BY_INDEX);
    mem_point fired = mem_now();
    check_run(&r, b, w);
    free_handles(b);
    mem_point store_only = mem_now();
    run_close(&r, b);
    mem_point closed = mem_now();

    add_row(rep, wn, "rss_bytes_per_opp_created", "RSS B/opp after creates (store+handles)",
            single(per_opp(opened.rss, created.rss, n)));
    add_row(rep, wn, "rss_bytes_per_opp_fired", "RSS B/opp after creates+fires",
            single(per_opp(opened.rss, fired.rss, n)));
    add_row(rep, wn, "heap_bytes_per_opp_created", "heap B/opp after creates (store+handles)",
            single(per_opp(opened.heap, created.heap, n)));
    add_row(rep, wn, "heap_bytes_per_opp_records", "heap B/opp store after creates (no handles)",
            single(records));
    add_row(rep, wn, "heap_bytes_per_opp_fired", "heap B/opp after creates+fires",
            single(per_opp(opened.heap, fired.heap, n)));
    add_row(rep, wn, "heap_bytes_per_opp_fires", "heap B/opp added by the fires",
            single(per_opp(created.heap, fired.heap, n)));
    add_row(rep, wn, "heap_bytes_per_opp_store", "heap B/opp store after fires (no handles)",
            single(per_opp(opened.heap, store_only.heap, n)));
    /* A leak shows as N times something; a few KiB are glibc's tcache, whose
     * freed chunks mallinfo2 still counts as in use. */
    add_row(rep, wn, "heap_kib_left_after_close", "heap KiB left after store close (total)",
            single(base.heap < 0 ? -1.0 : (double)(closed.heap - base.heap) / 1024.0));
}

/* ------------------------------------------------------- timed runs */

typedef struct timing {
    double create_s;
    double fire_s;
} timing;

/* One timed run; only the creates and the fires are inside the clock. */
static timing timed_run(bench *b, workload w, fire_mode mode)
{
    run r;
    timing t;
    run_open(&r, b);
    double t0 = now_s();
    create_all(&r, b);
    double t1 = now_s();
    fire_all(&r, b, w, mode);
    double t2 = now_s();
    t.create_s = t1 - t0;
    t.fire_s = t2 - t1;
    check_run(&r, b, w);
    run_close(&r, b);
    return t;
}

typedef struct samples {
    double *ns_index;     /* ns per transition, sfsm_fire_index */
    double *ns_name;      /* ns per transition, sfsm_fire by name */
    double *ratio;        /* by name / by index, same run */
    double *creates;      /* opportunities created per second, both variants */
} samples;

static void samples_alloc(samples *s, size_t runs)
{
    s->ns_index = calloc(runs, sizeof(double));
    s->ns_name = calloc(runs, sizeof(double));
    s->ratio = calloc(runs, sizeof(double));
    s->creates = calloc(2 * runs, sizeof(double));
    if (!s->ns_index || !s->ns_name || !s->ratio || !s->creates)
        die("out of memory");
}

static void samples_free(samples *s)
{
    free(s->ns_index);
    free(s->ns_name);
    free(s->ratio);
    free(s->creates);
}

static void timed_runs(bench *b, workload w, report *rep)
{
    const char *wn = WORKLOAD_NAME[w];
    size_t runs = b->cfg.runs;
    double fires = (double)expected_fires(w, b->cfg.n), n = (double)b->cfg.n;
    samples s;
    samples_alloc(&s, runs);
    for (size_t i = 0; i < runs; i++) {
        /* Alternate which variant goes first, so slow drift of a shared
         * machine does not always land on the same one. */
        fire_mode first = i % 2 ? FIRE_BY_NAME : FIRE_BY_INDEX;
        fire_mode second = first == FIRE_BY_INDEX ? FIRE_BY_NAME : FIRE_BY_INDEX;
        timing a = timed_run(b, w, first), c = timed_run(b, w, second);
        timing by_index = first == FIRE_BY_INDEX ? a : c;
        timing by_name = first == FIRE_BY_INDEX ? c : a;
        s.ns_index[i] = by_index.fire_s * 1e9 / fires;
        s.ns_name[i] = by_name.fire_s * 1e9 / fires;
        s.ratio[i] = s.ns_name[i] / s.ns_index[i];
        s.creates[2 * i] = n / by_index.create_s;
        s.creates[2 * i + 1] = n / by_name.create_s;
    }
    add_row(rep, wn, "ns_per_transition_index", "ns/transition (sfsm_fire_index)",
            bench_summarize(s.ns_index, runs));
    add_row(rep, wn, "ns_per_transition_name", "ns/transition (sfsm_fire, by name)",
            bench_summarize(s.ns_name, runs));
    add_row(rep, wn, "name_to_index_ratio", "ratio by name / by index (same run)",
            bench_summarize(s.ratio, runs));
    add_row(rep, wn, "opps_created_per_s", "opportunities created/s (2 per run)",
            bench_summarize(s.creates, 2 * runs));
    samples_free(&s);
}

/* ------------------------------------------------------------ main */

static void usage(FILE *out)
{
    fprintf(out, "usage: transitions [-n N] [-r R] [--json]\n"
                 "  -n N    opportunities per run (default %d)\n"
                 "  -r R    timed runs per workload (default %d)\n"
                 "  --json  one JSON line on stdout; the table goes to stderr\n",
            DEFAULT_N, DEFAULT_RUNS);
}

static size_t parse_count(const char *s, const char *opt)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || v == 0 || v > (unsigned long long)SIZE_MAX / 16 ||
        s[0] == '-')
        die("%s wants a positive integer, got '%s'", opt, s ? s : "");
    return (size_t)v;
}

static config parse_args(int argc, char **argv)
{
    config cfg = { DEFAULT_N, DEFAULT_RUNS, 0 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0) {
            cfg.n = parse_count(argv[++i], "-n");
        } else if (strcmp(argv[i], "-r") == 0) {
            cfg.runs = parse_count(argv[++i], "-r");
        } else if (strcmp(argv[i], "--json") == 0) {
            cfg.json = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            exit(EXIT_SUCCESS);
        } else {
            usage(stderr);
            exit(EXIT_FAILURE);
        }
    }
    return cfg;
}

/* Resolves names once, so that the timed loop indexes arrays only. */
static void bench_init(bench *b, config cfg)
{
    memset(b, 0, sizeof *b);
    b->cfg = cfg;
    check_rc(sfsm_pipeline_default(&b->pipeline), "sfsm_pipeline_default");
    for (size_t k = 0; k < WIN_STEPS; k++)
        check_rc(sfsm_pipeline_event_index(b->pipeline, WIN_PATH[k], &b->win_ev[k]), WIN_PATH[k]);
    check_rc(sfsm_pipeline_event_index(b->pipeline, LOSE_EVENT, &b->lose_ev), LOSE_EVENT);
    check_rc(sfsm_pipeline_stage_index(b->pipeline, "serviced", &b->serviced_stage), "serviced");
    check_rc(sfsm_pipeline_stage_index(b->pipeline, "lost", &b->lost_stage), "lost");
    /* calloc'd and touched here, before any memory point is taken. */
    b->opps = calloc(cfg.n, sizeof *b->opps);
    if (!b->opps)
        die("out of memory for %zu handles", cfg.n);
    memset(b->opps, 0, cfg.n * sizeof *b->opps);
}

static void bench_free(bench *b)
{
    free(b->opps);
    sfsm_pipeline_free(b->pipeline);
}

int main(int argc, char **argv)
{
    bench b;
    bench_init(&b, parse_args(argc, argv));
    static report rep; /* static: a few KiB kept off the stack */

    for (int w = W1; w <= W2; w++) {
        memory_run(&b, (workload)w, &rep);
        timed_runs(&b, (workload)w, &rep);
    }
    long long peak = peak_rss_bytes();
    add_row(&rep, "all", "peak_rss_mib", "peak RSS of the process (MiB)",
            single(peak < 0 ? -1.0 : (double)peak / (1024.0 * 1024.0)));

    print_table(b.cfg.json ? stderr : stdout, &rep, &b);
    if (b.cfg.json)
        print_json(stdout, &rep, &b);
    bench_free(&b);
    return EXIT_SUCCESS;
}
