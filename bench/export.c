/*
 * bench/export — sfsm_export_json over a memory store of N opportunities
 * (default 100 000), to measure what the export's own checks cost.
 *
 * Each opportunity is created with a customer, an owner, an amount and two
 * attributes, then walked as a manager qualify → quote → negotiate (four
 * history entries), on an injected clock, in batches of 1 000. The export
 * goes to a writer that only counts bytes; it is timed R times (default 5)
 * and the median, min and max are printed, with an import of the document
 * into an empty memory store for scale.
 *
 * Usage: export [-n N] [-r RUNS] [--no-import]
 * Exit status 0 on success, 1 if a call fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_stats.h"
#include "bench_util.h"
#include <salesfsm/salesfsm.h>

#define BATCH 1000
#define T0_MS INT64_C(1767225600000) /* 2026-01-01 00:00 UTC */

#define CHECK(what, call) BENCH_CHECK("export", (what), (call))

static int64_t clock_ms(void *ud)
{
    int64_t *t = ud;
    return *t += 60000;
}

static int count_bytes(const char *buf, size_t n, void *ud)
{
    (void)buf;
    *(size_t *)ud += n;
    return 0;
}

static void generate(sfsm_engine *e, size_t n)
{
    static const sfsm_actor manager = { "Mei (manager)", "manager" };
    static const char *const walk[] = { "qualify", "quote", "negotiate" };
    for (size_t i = 0; i < n; i++) {
        if (i % BATCH == 0)
            CHECK("begin", sfsm_engine_begin(e));
        char id[32], customer[32], owner[16];
        snprintf(id, sizeof id, "opp-%07zu", i);
        snprintf(customer, sizeof customer, "Customer %zu Ltd", i % 997);
        snprintf(owner, sizeof owner, "owner%zu", i % 40);
        sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
        opts.id = id;
        opts.customer = customer;
        opts.owner = owner;
        opts.amount = (int64_t)(100000 + i * 37 % 50000000);
        opts.currency = i % 3 ? "CNY" : "USD";
        opts.actor = &manager;
        sfsm_opp *o = NULL;
        CHECK("create", sfsm_opp_create_ext(e, &opts, &o));
        CHECK("attr", sfsm_opp_set_attr(o, "region", i % 2 ? "east" : "west"));
        CHECK("attr", sfsm_opp_set_attr(o, "source", "trade fair"));
        for (size_t k = 0; k < sizeof walk / sizeof walk[0]; k++)
            CHECK("fire", sfsm_fire(e, o, walk[k], &manager, k == 1 ? "first quote" : NULL));
        sfsm_opp_free(o);
        if (i % BATCH == BATCH - 1 || i == n - 1)
            CHECK("commit", sfsm_engine_commit(e));
    }
}

int main(int argc, char **argv)
{
    size_t n = 100000, runs = 5;
    int with_import = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            runs = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--no-import") == 0)
            with_import = 0;
        else {
            fprintf(stderr, "usage: export [-n N] [-r RUNS] [--no-import]\n");
            return 1;
        }
    }
    if (!n || !runs) {
        fprintf(stderr, "export: N and RUNS must be at least 1\n");
        return 1;
    }
    sfsm_pipeline *p = NULL;
    sfsm_store *s = NULL;
    sfsm_engine *e = NULL;
    int64_t t = T0_MS;
    CHECK("pipeline", sfsm_pipeline_default(&p));
    CHECK("store", sfsm_store_open_memory(&s));
    CHECK("engine", sfsm_engine_new(&e, p, s));
    CHECK("clock", sfsm_engine_set_clock(e, clock_ms, &t));
    double t0 = bench_now_s();
    generate(e, n);
    printf("generated %zu opportunities in %.2f s\n", n, bench_now_s() - t0);

    double *v = calloc(runs, sizeof *v);
    if (!v)
        return 1;
    size_t bytes = 0;
    for (size_t r = 0; r < runs; r++) {
        bytes = 0;
        t0 = bench_now_s();
        CHECK("export", sfsm_export_json(e, NULL, count_bytes, &bytes));
        v[r] = bench_now_s() - t0;
    }
    bench_stat st = bench_summarize(v, runs);
    printf("export: %zu bytes, median %.3f s (min %.3f, max %.3f) over %zu runs, %.2f us per opportunity\n", bytes,
           st.median, st.min, st.max, runs, st.median * 1e6 / (double)n);

    if (!with_import) {
        free(v);
        sfsm_engine_free(e);
        sfsm_store_close(s);
        sfsm_pipeline_free(p);
        return 0;
    }
    char *doc = NULL;
    size_t len = 0;
    CHECK("export string", sfsm_export_json_string(e, NULL, &doc, &len));
    sfsm_store *s2 = NULL;
    sfsm_engine *e2 = NULL;
    CHECK("store", sfsm_store_open_memory(&s2));
    CHECK("engine", sfsm_engine_new(&e2, p, s2));
    size_t count = 0;
    t0 = bench_now_s();
    CHECK("import", sfsm_import_json(e2, doc, len, &count));
    printf("import (for scale): %zu opportunities in %.3f s\n", count, bench_now_s() - t0);

    sfsm_free(doc);
    free(v);
    sfsm_engine_free(e2);
    sfsm_store_close(s2);
    sfsm_engine_free(e);
    sfsm_store_close(s);
    sfsm_pipeline_free(p);
    return 0;
}
