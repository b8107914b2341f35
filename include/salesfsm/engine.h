/*
 * salesfsm/engine.h — firing events: checks, hooks, guards, batches.
 *
 * An engine binds one pipeline to one store and is used by one thread at a
 * time (like an SQLite connection); many engines may share a store and a
 * pipeline. It borrows both: they must outlive it.
 *
 * sfsm_fire takes one path (DESIGN.md §4):
 *   1. the event must be allowed from the stage the handle shows (SFSM_ETRANSITION)
 *   2. the actor's role must be allowed to fire it                (SFSM_EPERM)
 *   3. the event's guards must pass                               (SFSM_EGUARD)
 *   4. before hooks may veto                                      (SFSM_EVETO)
 *   5. commit stage, version+1, times, unsaved fields and one history entry
 *      in one storage transaction, only if the stored version is still the
 *      handle's                                      (SFSM_ECONFLICT, SFSM_ESTORAGE)
 *   6. update the handle, then run exit(from), enter(to) and after hooks.
 * A failure at any step changes nothing and runs no exit/enter/after hook.
 */
#ifndef SALESFSM_ENGINE_H
#define SALESFSM_ENGINE_H

#include "common.h"
#include "opp.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * On success *out owns a new engine (free with sfsm_engine_free); on failure
 * *out is NULL. The store is checked first (once per store handle and
 * pipeline) for opportunities of this pipeline in a stage it does not have
 * and no migration maps:
 *   - a stage no version can have (NULL, empty, not a well-formed name) or
 *     one missing from the very version the opportunity is stored under is
 *     damage: SFSM_ESTORAGE, "stored opportunity 'ID': stage 'S' is not a
 *     stage of pipeline 'P' version N, ...";
 *   - a stage of an older version (which may well have had it) or of a
 *     newer one is a version problem: SFSM_EVERSION (declare a migration,
 *     or use the newer pipeline).
 * With both, damage is reported. The message names the first such
 * opportunity (creation order), how many there are, and each stage with
 * its count. Errors: SFSM_EINVAL, SFSM_ENOMEM, SFSM_EVERSION, SFSM_ESTORAGE.
 */
SFSM_API int sfsm_engine_new(sfsm_engine **out, const sfsm_pipeline *p, sfsm_store *s);

/* Frees the engine; an open batch is rolled back. Accepts NULL. Must not be
 * called from one of the engine's own hooks. */
SFSM_API void sfsm_engine_free(sfsm_engine *e);

SFSM_API const sfsm_pipeline *sfsm_engine_pipeline(const sfsm_engine *e);
SFSM_API sfsm_store *sfsm_engine_store(const sfsm_engine *e);

/*
 * Replaces the clock (default: the system's UTC time in ms). now_ms is called
 * on this engine's thread whenever a time is stamped; NULL restores the
 * default. ud is passed through and must live as long as the clock is set.
 * Errors: SFSM_EINVAL (e is NULL).
 */
SFSM_API int sfsm_engine_set_clock(sfsm_engine *e, int64_t (*now_ms)(void *ud), void *ud);
/* The engine clock's current time, as the clock reads it (0 for NULL e).
 * A time is stored only within -(2^53-1)..2^53-1 ms, the range a stored
 * record is read back with: while the clock reads outside it, every call
 * that stamps a time (sfsm_opp_create, sfsm_opp_save, sfsm_fire,
 * sfsm_payment_add, sfsm_engine_migrate) fails with SFSM_EINVAL naming the
 * value and stores nothing. */
SFSM_API int64_t sfsm_engine_now(sfsm_engine *e);

/*
 * What a hook or guard sees. Valid only during the callback.
 * `opp` is the handle being moved: in guards and before hooks it still shows
 * the old stage, with the unsaved field changes that will be committed; in
 * exit/enter/after hooks it shows the committed result. It is NULL when the
 * notification is delivered at the commit of a batch (the handle may be gone
 * by then); use opp_id instead.
 */
typedef struct sfsm_transition {
    const char *opp_id;
    const sfsm_opp *opp;
    const char *event;
    const char *from;
    const char *to;
    const sfsm_actor *actor;
    const char *note;      /* may be NULL */
    uint64_t version;      /* the version the commit writes */
    int64_t at_ms;         /* the commit's time stamp */
} sfsm_transition;

/*
 * A guard or before hook. Return 0 to let the transition go on; any other
 * value refuses it (guard: SFSM_EGUARD, before hook: SFSM_EVETO). To say why,
 * write a NUL-terminated message of at most why_size bytes into `why`; it
 * becomes sfsm_errmsg(). The callback may read, create and fire on other
 * opportunities; it must not free the engine or the handle.
 */
typedef int (*sfsm_check_fn)(const sfsm_transition *t, void *ud, char *why, size_t why_size);

/*
 * An exit, enter or after hook: runs after the commit and cannot undo it.
 * It may read, create and fire on other opportunities. Firing on the same
 * opportunity from inside its own transition's hooks is refused with
 * SFSM_EBUSY (queue it and fire after sfsm_fire returns).
 */
typedef void (*sfsm_notify_fn)(const sfsm_transition *t, void *ud);

/*
 * Registers hooks, run in registration order. Before and after hooks are
 * filtered by event name, exit hooks by the stage left, enter hooks by the
 * stage entered; a NULL filter matches all. ud is passed through and must
 * live as long as the engine. Errors: SFSM_EINVAL (NULL e or fn),
 * SFSM_ENOTFOUND (the filter names no event/stage of the pipeline),
 * SFSM_ENOMEM, SFSM_EBUSY (called from a hook while a transition runs).
 */
SFSM_API int sfsm_engine_on_before(sfsm_engine *e, const char *event, sfsm_check_fn fn, void *ud);
SFSM_API int sfsm_engine_on_after(sfsm_engine *e, const char *event, sfsm_notify_fn fn, void *ud);
SFSM_API int sfsm_engine_on_exit(sfsm_engine *e, const char *stage, sfsm_notify_fn fn, void *ud);
SFSM_API int sfsm_engine_on_enter(sfsm_engine *e, const char *stage, sfsm_notify_fn fn, void *ud);

/*
 * Binds an application guard to a guard name used by the pipeline's events
 * (replacing a built-in or earlier guard of that name). Built-in guards:
 * has_customer (customer set), has_amount (amount > 0 with a currency),
 * has_reason (a note with a non-blank character). A pipeline guard name with no function bound
 * makes sfsm_fire of that event fail with SFSM_ENOTFOUND naming the guard.
 * Errors: SFSM_EINVAL, SFSM_ENOTFOUND (no event of the pipeline uses the
 * name), SFSM_EBUSY.
 */
SFSM_API int sfsm_engine_register_guard(sfsm_engine *e, const char *name, sfsm_check_fn fn, void *ud);

/*
 * Fires `event` on the opportunity as `actor` (name and role required) with
 * an optional note, storing the handle's unsaved field changes in the same
 * commit. See the steps at the top of this file. Names are resolved first
 * (unknown event or role: SFSM_ENOTFOUND), then the steps run in order and
 * the first refusal is returned. Guards run in the event's order, then before
 * hooks in registration order; the first refusal stops the rest. A refusal's
 * `why` text, when the callback wrote one, is exactly sfsm_errmsg().
 * Errors: SFSM_EINVAL (NULL or invalid argument, handle of another
 * pipeline, or an opportunity at version 2^53-1: the highest there is, one
 * that JSON carries exactly; it takes no further change; or a new amount
 * that changes the currency of a deal with payments or is below what was
 * collected: targets.h; or the engine clock reads outside
 * -(2^53-1)..2^53-1 ms, see sfsm_engine_now),
 * SFSM_ENOTFOUND (unknown event, role or unbound guard),
 * SFSM_ETRANSITION, SFSM_EPERM, SFSM_EGUARD, SFSM_EVETO, SFSM_ECONFLICT,
 * SFSM_EBUSY (fired from a hook of the same opportunity's transition, from a
 * scan or history callback on the same store, or while another engine of
 * this thread has a batch open on the store),
 * SFSM_ENOMEM, SFSM_ESTORAGE. The message names the offending input.
 */
SFSM_API int sfsm_fire(sfsm_engine *e, sfsm_opp *o, const char *event, const sfsm_actor *actor, const char *note);

/* As sfsm_fire, with the event given by index (sfsm_pipeline_event_index). */
SFSM_API int sfsm_fire_index(sfsm_engine *e, sfsm_opp *o, size_t event, const sfsm_actor *actor, const char *note);

/*
 * Events the actor may fire on the opportunity now: allowed from its stage,
 * permitted to the actor's role, and passing their guards. Before hooks are
 * not consulted, nor are guards that only check the note (the built-in
 * has_reason), because the note comes with the fire itself: `lose` is
 * offered, and firing it without a reason is still refused. Writes up to `cap` event names (owned by the pipeline) to
 * names[] in table order and the total number to *count.
 * Errors: SFSM_EINVAL, SFSM_ENOTFOUND (unknown role).
 */
SFSM_API int sfsm_engine_available_events(sfsm_engine *e, const sfsm_opp *o, const sfsm_actor *actor,
                                          const char **names, size_t cap, size_t *count);

/*
 * Receives one opportunity moved by sfsm_engine_migrate (after the commit):
 * its id, the pipeline version it was stored under, and its stage before and
 * after. Strings are valid during the call. Return non-zero to stop the
 * reporting (the migration itself is already committed).
 */
typedef int (*sfsm_migrate_cb)(const char *id, uint32_t from_version, const char *from, const char *to, void *ud);

/*
 * Moves every opportunity stored under an earlier version of this engine's
 * pipeline (same name) to its version: a stage the pipeline still has stays,
 * a stage its migrations map moves, each with a history entry of kind
 * SFSM_HISTORY_MIGRATE (as `actor`, may be NULL), all in one transaction.
 * Nothing is announced to hooks. *moved (may be NULL) receives how many
 * moved; cb (may be NULL) hears of each after the commit.
 * Errors: SFSM_EINVAL (an opportunity sits in a stage that neither exists
 * nor is mapped, or is at version 2^53-1 and cannot take the migrate entry:
 * the message names it; or, with anything to move, the engine clock reads
 * outside -(2^53-1)..2^53-1 ms; nothing moved), SFSM_EBUSY (from a hook),
 * SFSM_ENOMEM, SFSM_ESTORAGE (also: a stored record to migrate breaks a
 * rule, as for sfsm_opp_open; nothing moved), SFSM_ECONFLICT (changed
 * meanwhile).
 */
SFSM_API int sfsm_engine_migrate(sfsm_engine *e, const sfsm_actor *actor, sfsm_migrate_cb cb, void *ud,
                                 size_t *moved);

/*
 * Batches: every fire, create and save between begin and commit goes into one
 * storage transaction. Exit/enter/after hooks of a batch run at commit, after
 * the data is stored (with sfsm_transition.opp NULL); rollback discards them.
 * After a rollback, handles changed in the batch are ahead of the store and
 * must be reopened (their next write gets SFSM_ECONFLICT). A refused fire
 * (stage, role, guard, veto, conflict) changes nothing and the batch goes on;
 * a storage failure that leaves a write half done (the record stored, its
 * history entry not) fails the whole batch: that fire and every later write
 * return SFSM_ESTORAGE, and commit rolls the batch back and returns
 * SFSM_ESTORAGE.
 * Errors: SFSM_EBUSY (begin while a batch is open, or while
 * another engine of this thread holds the store; commit/rollback from a hook),
 * SFSM_EINVAL (commit/rollback with no batch open), SFSM_ESTORAGE (the
 * commit failed: the batch was rolled back).
 */
SFSM_API int sfsm_engine_begin(sfsm_engine *e);
SFSM_API int sfsm_engine_commit(sfsm_engine *e);
SFSM_API int sfsm_engine_rollback(sfsm_engine *e);

#ifdef __cplusplus
}
#endif
#endif
