/*
 * demo.h — the simulated sales department of `salesfsm demo`: its people and
 * customers (demo_data.c), a seeded PRNG (demo_rng.c), the day-by-day
 * simulation (demo_sim.c), the summary read back from the store
 * (demo_summary.c), teams, targets and closing reports (demo_plan.c) and
 * the progress bar (progress.c).
 */
#ifndef SALESFSM_DEMO_H
#define SALESFSM_DEMO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <salesfsm/salesfsm.h>

/* ---- the department and its market (demo_data.c) ---- */

#define DEMO_REPS 4

extern const sfsm_actor demo_manager;
extern const sfsm_actor demo_reps[DEMO_REPS];
extern const sfsm_actor demo_assistant;
extern const sfsm_actor demo_support;

/* How good each rep is at closing, in per mille added to the chance to sign. */
extern const int demo_rep_skill[DEMO_REPS];

extern const char *const demo_customers[];
extern const size_t demo_customer_count;
extern const char *const demo_regions[];   /* parallel to demo_customers */

/* What is sold: a title pattern with one %d (quantity), a quantity range and a unit price in CNY. */
typedef struct demo_product {
    const char *title;
    int min_qty, max_qty;
    int64_t unit_cny;
} demo_product;
extern const demo_product demo_products[];
extern const size_t demo_product_count;

/* Lost reasons for each open stage, indexed like the default pipeline's open stages. */
extern const char *const demo_lost_reasons[4][4];

/* ---- PRNG: xorshift64*, seeded through splitmix64 (demo_rng.c) ---- */

typedef struct demo_rng {
    uint64_t state;
} demo_rng;

void demo_rng_seed(demo_rng *r, uint64_t seed);
uint64_t demo_rng_next(demo_rng *r);
/* Uniform in [0, n); n > 0. */
uint32_t demo_rng_below(demo_rng *r, uint32_t n);
/* Uniform in [lo, hi]. */
int demo_rng_range(demo_rng *r, int lo, int hi);
/* Non-zero with probability per_mille / 1000. */
int demo_rng_chance(demo_rng *r, int per_mille);

/* ---- progress bar on stderr (progress.c) ---- */

typedef struct progress {
    FILE *f;              /* NULL: disabled */
    int total;
    int drawn;            /* last value drawn, -1 before the first */
} progress;

/* f NULL disables it. */
void progress_init(progress *p, FILE *f, int total);
void progress_update(progress *p, int done, size_t open, size_t won, size_t lost);
/* Clears the bar's line. */
void progress_finish(progress *p);

/* ---- the simulation (demo_sim.c) ---- */

/* The first simulated day: 2026-01-01 00:00 UTC, a Thursday. */
#define DEMO_START_MS INT64_C(1767225600000)
#define DEMO_DAY_MS INT64_C(86400000)

typedef struct demo_config {
    const char *db;       /* the file, for the summary */
    uint64_t seed;
    int days;
    progress *progress;
} demo_config;

/* What the simulation counted that the store does not say. */
typedef struct demo_stats {
    size_t refused;             /* moves the engine refused (reps trying to reopen) */
    char refused_example[256];  /* the first refusal's sfsm_errmsg() */
} demo_stats;

/*
 * Runs the department for cfg->days days on the engine's (empty) store with
 * the engine's clock replaced. Returns SFSM_OK or the first library error
 * (sfsm_errmsg() says more).
 */
int demo_simulate(sfsm_engine *e, const demo_config *cfg, demo_stats *stats);

/* ---- teams, targets and the closing reports (demo_plan.c) ---- */

#define DEMO_TEAMS 2
extern const char *const demo_teams[DEMO_TEAMS];
extern const char *const demo_rep_team[DEMO_REPS];   /* pointers into demo_teams' strings */

/* Puts the reps into their teams and sets each year's targets, split into quarters. */
int demo_plan(sfsm_engine *e, const demo_config *cfg);

/* One line: the teams and the targets. */
void demo_plan_print(FILE *f);

/* Prints the forecast for the quarter after the simulated days and the
 * attainment of the quarter they ended in, through the library's reports. */
int demo_reports(sfsm_engine *e, const demo_config *cfg, FILE *f);

/* ---- the summary (demo_summary.c) ---- */

/* Reads the store back and prints the summary to f. Returns SFSM_OK or an error. */
int demo_summary(sfsm_engine *e, const demo_config *cfg, const demo_stats *stats, FILE *f);

#endif
