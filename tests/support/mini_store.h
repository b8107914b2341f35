/* A small in-memory custom backend (sys/store.h) whose stored rows a test
 * reaches directly: to plant damage under the library's feet on the memory
 * run, as the suites plant it in the file on SQLite. Fixed room; strings it
 * keeps (mini_keep) are freed when the store closes. Rollback undoes
 * nothing: no suite using it rolls back a write it made. */
#ifndef SFSM_MINI_STORE_H
#define SFSM_MINI_STORE_H

#include <stddef.h>

#include <salesfsm/sys/store.h>

#include "testutil.h"

#define MINI_RECS 8
#define MINI_ATTRS 300
#define MINI_HIST 32
#define MINI_ROWS 8

typedef struct mini_hist {
    const char *id;
    sfsm_history_entry h;
} mini_hist;

typedef struct mini_store {
    sfsm_record rec[MINI_RECS];
    sfsm_attr attrs[MINI_RECS][MINI_ATTRS];
    size_t nrec;
    mini_hist hist[MINI_HIST];
    size_t nhist;
    sfsm_payment pay[MINI_ROWS];
    size_t npay;
    const char *team_owner[MINI_ROWS], *team_name[MINI_ROWS];
    size_t nteam;
    sfsm_target tgt[MINI_ROWS];
    size_t ntgt;
    char **strs;   /* every string it holds, freed at close */
    size_t nstrs;
} mini_store;

/* Version 3, every member; a suite may copy it and replace members. */
extern const sfsm_store_ops mini_store_ops;

/* A copy of s the store owns (NULL stays NULL). */
const char *mini_keep(mini_store *m, const char *s);

/* The stored record of id, or NULL. */
sfsm_record *mini_find(mini_store *m, const char *id);

/* The suite's fixture: fixture_new() on the SQLite run (SFSM_TEST_STORE=
 * sqlite), *m NULL; else a new mini_store behind ops (NULL: mini_store_ops)
 * in *m, the clock at T0_MS. fixture_free closes either. */
fixture *mini_fixture_new(const sfsm_store_ops *ops, mini_store **m);

#endif
