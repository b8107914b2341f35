/* Batches: one storage transaction around many writes; their announcements
 * wait for the commit so that no hook hears of a write that was undone. */
#include <string.h>

#include <salesfsm/engine.h>

#include "alloc.h"
#include "engine_impl.h"
#include "store_impl.h"

static void free_pending(pending *q)
{
    sfsm__free(q->opp_id);
    sfsm__free(q->actor_name);
    sfsm__free(q->actor_role);
    sfsm__free(q->note);
}

void sfsm__engine_drop_pending(sfsm_engine *e)
{
    for (size_t k = 0; k < e->pend_count; k++)
        free_pending(&e->pend[k]);
    e->pend_count = 0;
}

static int check_batch_call(sfsm_engine *e, const char *fn, int want_open)
{
    if (!e)
        return sfsm_error_set(SFSM_EINVAL, "%s: engine is NULL", fn);
    if (e->running_count || e->announcing)
        return sfsm_error_set(SFSM_EBUSY, "%s: not allowed from inside a hook", fn);
    if (want_open && !e->in_batch)
        return sfsm_error_set(SFSM_EINVAL, "%s: no batch is open on this engine", fn);
    if (want_open)
        return sfsm__store_check_reentry(e->s);
    if (!want_open && e->in_batch)
        return sfsm_error_set(SFSM_EBUSY, "%s: a batch is already open on this engine", fn);
    return SFSM_OK;
}

int sfsm_engine_begin(sfsm_engine *e)
{
    int rc = check_batch_call(e, "sfsm_engine_begin", 0);
    if (rc)
        return rc;
    if (sfsm__store_in_txn(e->s))
        return sfsm_error_set(SFSM_EBUSY, "sfsm_engine_begin: another engine of this thread has a transaction open on the store");
    if ((rc = sfsm__store_begin(e->s)))
        return rc;
    if (e->s->checked != e->p->fingerprint)
        e->s->checked = 0;   /* written under another pipeline: check again for the next engine */
    e->in_batch = 1;
    return SFSM_OK;
}

/* Delivers the queued announcements, each with its own strings. */
static void announce_pending(sfsm_engine *e)
{
    pending *q = e->pend;
    size_t n = e->pend_count;
    e->pend = NULL;
    e->pend_count = e->pend_cap = 0;
    e->announcing = 1;
    const sfsm_pipeline *p = e->p;
    for (size_t k = 0; k < n; k++) {
        sfsm_actor actor = { q[k].actor_name, q[k].actor_role };
        sfsm_transition t = { q[k].opp_id, NULL, p->events[q[k].event].name, p->stages[q[k].from].name,
                              p->stages[q[k].to].name, &actor, q[k].note, q[k].version, q[k].at_ms };
        sfsm__engine_notify(e, &t, q[k].event, q[k].from, q[k].to);
    }
    e->announcing = 0;
    for (size_t k = 0; k < n; k++)
        free_pending(&q[k]);
    sfsm__free(q);
}

int sfsm_engine_commit(sfsm_engine *e)
{
    int rc = check_batch_call(e, "sfsm_engine_commit", 1);
    if (rc)
        return rc;
    e->in_batch = 0;
    if (e->batch_failed) {
        e->batch_failed = 0;
        sfsm__store_rollback(e->s);
        sfsm__engine_drop_pending(e);
        return sfsm_error_set(SFSM_ESTORAGE, "sfsm_engine_commit: a write of this batch failed half-way; "
                                             "the batch was rolled back");
    }
    rc = sfsm__store_commit(e->s);
    if (rc) {
        sfsm__engine_drop_pending(e);
        return rc;
    }
    announce_pending(e);
    return SFSM_OK;
}

int sfsm_engine_rollback(sfsm_engine *e)
{
    int rc = check_batch_call(e, "sfsm_engine_rollback", 1);
    if (rc)
        return rc;
    e->in_batch = 0;
    e->batch_failed = 0;
    sfsm__store_rollback(e->s);
    sfsm__engine_drop_pending(e);
    return SFSM_OK;
}
