/* Shared test fixtures: a default pipeline on a memory store with a clock
 * the test controls, and a failing allocator that makes the Nth allocation
 * fail. */
#ifndef SFSM_TESTUTIL_H
#define SFSM_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <salesfsm/salesfsm.h>

typedef struct fixture {
    sfsm_pipeline *pipeline;
    sfsm_store *store;
    sfsm_engine *engine;
    int64_t now;   /* the engine's clock reads this; tests advance it */
} fixture;

/* Default pipeline + memory store + engine with the clock at 2026-01-01. */
fixture *fixture_new(void);
void fixture_free(fixture *f);

/* Creates an opportunity with customer, owner, an amount, and walks it with
 * the given events (NULL-terminated) as a manager. Asserts each step. */
sfsm_opp *fixture_opp(fixture *f, const char *id, ...);

extern const sfsm_actor MANAGER, REP, ASSISTANT, SUPPORT;

#define T0_MS INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */
#define DAY_MS INT64_C(86400000)

/* Failing allocator: counts allocations; when fail_at > 0, the fail_at-th
 * allocation (1-based) since failalloc_arm() returns NULL. Tracks live
 * allocations so a test can assert that nothing leaked. */
void failalloc_install(void);
void failalloc_uninstall(void);
void failalloc_arm(long fail_at);    /* 0: never fail; counting restarts */
long failalloc_count(void);          /* allocations since the last arm */
long failalloc_live(void);           /* blocks currently allocated */
int  failalloc_failed(void);         /* 1 if the armed failure happened */

/* Counts history entries of an opportunity. */
size_t history_count(sfsm_engine *e, const char *id);

#endif
