/* The engine's internal state: hooks and guards resolved to indexes, the
 * clock, the open batch and the transitions whose hooks are running. */
#ifndef SFSM_ENGINE_IMPL_H
#define SFSM_ENGINE_IMPL_H

#include <salesfsm/engine.h>
#include <salesfsm/sys/store.h>

#include "pipeline_impl.h"

#define SFSM_MAX_NESTING 16   /* fires from hooks from fires ... */

typedef struct hook {
    int32_t filter;              /* event or stage index; -1: all */
    sfsm_check_fn check;
    sfsm_notify_fn notify;
    void *ud;
} hook;

typedef struct hook_list {
    hook *v;
    size_t n, cap;
} hook_list;

typedef struct guard_slot {
    sfsm_check_fn fn;
    void *ud;
    int note_only;               /* checks only the note: skipped by available_events */
} guard_slot;

/* A committed transition of a batch, announced at commit. */
typedef struct pending {
    char *opp_id, *actor_name, *actor_role, *note;
    uint32_t event, from, to;
    uint64_t version;
    int64_t at_ms;
} pending;

struct sfsm_engine {
    const sfsm_pipeline *p;
    sfsm_store *s;
    int64_t (*clock)(void *ud);
    void *clock_ud;
    guard_slot *guards;          /* one per pipeline guard name */
    hook_list before, after, exit, enter;
    int in_batch;
    int batch_failed;            /* a write of the batch failed half-way */
    int announcing;              /* delivering a batch's notifications */
    pending *pend;
    size_t pend_count, pend_cap;
    const sfsm_opp *running[SFSM_MAX_NESTING];   /* transitions in their hooks */
    size_t running_count;
    struct {                     /* event name strings seen lately -> index */
        const char *ptr;
        long index;
    } event_cache[16];
    const char *role_ptr;        /* the last role string fired with ... */
    long role_index;             /* ... and its index (verified on use) */
};

int sfsm__engine_check_args(sfsm_engine *e, const sfsm_opp *o, const char *fn);
/* SFSM_EBUSY if o (or another handle on the same id) is mid-transition. */
int sfsm__engine_check_idle(sfsm_engine *e, const sfsm_opp *o, const char *fn);
int sfsm__check_actor(const sfsm_actor *a, int required);
/* An optional actor (NULL is fine) whose role must be one of p's. */
int sfsm__check_actor_role(const sfsm_pipeline *p, const sfsm_actor *a);
/* Index of the role in p; SFSM_EINVAL for a malformed name, SFSM_ENOTFOUND. */
int sfsm__resolve_role(const sfsm_pipeline *p, const char *role, long *index);

/* The engine clock's time, for a time that is stored: SFSM_EINVAL naming
 * the value when the clock reads outside -(2^53-1)..2^53-1 ms, the times
 * the record checks accept back (record_check.c). */
int sfsm__engine_now(sfsm_engine *e, int64_t *now);

/* Opens the storage transaction of one write operation (a savepoint inside
 * this engine's batch). SFSM_EBUSY when this thread holds a transaction on
 * the store that is not this engine's batch: the write would silently join
 * another engine's batch and vanish with its rollback. */
int sfsm__engine_begin_write(sfsm_engine *e);

/* Runs write() inside a storage transaction (the batch's, if one is open):
 * put the record and append the entry; on failure everything is undone. */
int sfsm__engine_write(sfsm_engine *e, const sfsm_record *rec, uint64_t expected, uint32_t changed,
                       const sfsm_history_entry *h);

/* Inside the open write transaction: may opportunity opp_id, which may
 * have payments, take this amount and currency? A deal with payments keeps
 * its currency and an amount at least what was collected: else its stored
 * payments would read as damage. SFSM_EINVAL naming what it has;
 * SFSM_ESTORAGE naming the opportunity when its stored payments are damage
 * (also: they add up beyond 64 bits), or what else reading them failed
 * with; never a scan callback's stop value. (targets.c) */
int sfsm__payments_allow_amount(sfsm_engine *e, const char *opp_id, int64_t amount, const char *currency);

/* Announces a committed transition: now, or at the batch's commit. */
int sfsm__engine_announce(sfsm_engine *e, const sfsm_transition *t, uint32_t ev, uint32_t from, uint32_t to);
void sfsm__engine_notify(sfsm_engine *e, const sfsm_transition *t, uint32_t ev, uint32_t from, uint32_t to);
void sfsm__engine_drop_pending(sfsm_engine *e);

/* Refuses a store holding opportunities of this pipeline in stages it does
 * not have and cannot migrate (SFSM_EVERSION); remembered per store. */
int sfsm__engine_check_store(sfsm_engine *e);

#endif
