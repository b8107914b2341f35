/* Shared test fixtures: a default pipeline on a memory store with a clock
 * the test controls, and a failing allocator that makes the Nth allocation
 * fail. */
#ifndef SFSM_TESTUTIL_H
#define SFSM_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <salesfsm/salesfsm.h>

typedef struct fixture {
    sfsm_pipeline *pipeline;
    sfsm_store *store;
    sfsm_engine *engine;
    int64_t now;   /* the engine's clock reads this; tests advance it */
    char path[256];/* the SQLite file, when the suite runs on SQLite */
} fixture;

/* Opens the store the suite runs on: memory, or a fresh SQLite file in
 * $TMPDIR when SFSM_TEST_STORE=sqlite (ctest runs each suite both ways).
 * path receives the file name ("" for memory); remove it with
 * test_store_remove after closing the store. */
void test_store_open(sfsm_store **out, char path[256]);
void test_store_remove(const char path[256]);

/* Default pipeline + test store + engine with the clock at 2026-01-01. */
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

/* Number of opportunities sfsm_scan() reports (filter may be NULL), and the
 * counting callback behind it (ud: a size_t). */
int count_opps_cb(const sfsm_opp *o, void *ud);
size_t count_opps(sfsm_engine *e, const sfsm_filter *filter);

int fixture_setup(void **state);    /* cmocka setup: *state = fixture_new() */
int fixture_teardown(void **state); /* cmocka teardown: fixture_free(*state) */

/* ---- copies of strings that may be NULL ---- */

#define NULL_MARK "\x01(NULL)"
/* Copies src into dst (truncating); NULL becomes NULL_MARK. */
void copy_str(char *dst, size_t size, const char *src);

/* ---- state snapshots as strings (free with free()) ---- */

/* Everything a handle shows, as one string, so that "unchanged" can be
 * checked in one comparison. */
char *opp_describe(const sfsm_opp *o);
/* Number of opportunities and, when o is not NULL, the handle, the stored
 * opportunity and its history count. */
char *opp_state(sfsm_engine *e, const sfsm_opp *o);
/* The stored opportunity and its history count. */
char *opp_stored(sfsm_engine *e, const char *id);

/* Compares a freshly made string with an earlier one and frees the fresh
 * one. */
#define assert_same_and_free(now_, before_)                                    \
    do {                                                                       \
        char *n_ = (now_);                                                     \
        assert_string_equal(n_, (before_));                                    \
        free(n_);                                                              \
    } while (0)

#define assert_state_unchanged(e, o, before) assert_same_and_free(opp_state((e), (o)), (before))

/* sfsm_errmsg() is set and contains needle. */
#define assert_msg_has(needle)                                                 \
    do {                                                                       \
        const char *m_ = sfsm_errmsg();                                        \
        assert_non_null(m_);                                                   \
        if (!strstr(m_, (needle)))                                             \
            fail_msg("sfsm_errmsg() \"%s\" does not name \"%s\"", m_, (needle)); \
    } while (0)

/* ---- state snapshots as fields ---- */

/* What a refused call must leave alone: the handle, the stored record and
 * the history. */
typedef struct snapshot {
    char stage[64];
    uint64_t version;
    int64_t amount;
    char currency[16], customer[128], owner[128], title[128];
    int64_t expected_close, created, updated, stage_entered;
    uint32_t unsaved;
    size_t history;
    char stored_stage[64];
    uint64_t stored_version;
    int64_t stored_amount;
    char stored_title[128];
} snapshot;

void snapshot_take(sfsm_engine *e, const sfsm_opp *o, snapshot *s);
/* NULL if a and b are equal, else the name of the first field that differs. */
const char *snapshot_diff(const snapshot *a, const snapshot *b);
/* Takes a new snapshot and fails naming the first field that changed. */
void assert_unchanged(fixture *f, const sfsm_opp *o, const snapshot *before);

/* ---- history ---- */

/* Copy of the last history entry, and how many there are. */
typedef struct last_entry {
    size_t count;
    uint64_t version;
    int64_t at_ms;
    int kind;
    char event[64], from[64], to[64], actor[128], role[64], note[256], changes[1024];
    uint32_t fields;
} last_entry;

void read_last(fixture *f, const char *id, last_entry *l);

/* ---- hook calls ---- */

/* One hook call as a hook saw it. */
typedef struct call {
    char kind; /* 'b'efore, e'x'it, e'n'ter, 'a'fter */
    const char *tag;  /* set by the recorder that wants it */
    const void *ud;   /* set by the recorder that wants it */
    char opp_id[64], event[32], from[32], to[32], actor[64], role[32], note[128];
    int has_opp;
    char opp_stage[32];
    uint64_t opp_version;
    int64_t opp_amount;
    uint64_t version;
    int64_t at_ms;
} call;

/* Fills c (cleared first) from t. */
void call_fill(call *c, char kind, const sfsm_transition *t);

#endif
