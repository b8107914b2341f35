/* sfsm_fire: resolve → check stage → role → guards → before hooks → commit
 * → update the handle → announce (DESIGN.md §4). Nothing is allocated on
 * this path unless the handle carries unsaved field changes or a batch is
 * open. */
#include <stdio.h>
#include <string.h>

#include <salesfsm/engine.h>

#include "alloc.h"
#include "engine_impl.h"
#include "opp_impl.h"
#include "store_impl.h"
#include "text.h"

#define WHY_SIZE 512

/*
 * Inside a batch there is no savepoint per write: on SQLite each one costs a
 * sub-journal that halves batched throughput. A put that fails changes
 * nothing by contract; only a history append failing after its put leaves a
 * half write, and then the whole batch is marked failed: it can only be
 * rolled back.
 */
/* A new amount on a stored deal must not turn its payments into damage
 * (only read when the amount changes: a fire without one costs nothing). */
static int check_amount(sfsm_engine *e, const sfsm_record *rec, uint64_t expected, uint32_t changed)
{
    if (expected == 0 || !(changed & SFSM_FIELD_AMOUNT))
        return SFSM_OK;
    return sfsm__payments_allow_amount(e, rec->id, rec->amount, rec->currency);
}

static int write_in_batch(sfsm_engine *e, const sfsm_record *rec, uint64_t expected, uint32_t changed,
                          const sfsm_history_entry *h)
{
    sfsm_store *s = e->s;
    if (e->batch_failed)
        return sfsm_error_set(SFSM_ESTORAGE, "an earlier write of this batch failed half-way; roll the batch back");
    int rc = sfsm__store_check_reentry(s);
    if (rc || (rc = check_amount(e, rec, expected, changed)))
        return rc;
    rc = s->ops.put(s->backend, rec, expected, changed);
    if (rc == SFSM_ESTORAGE || rc == SFSM_ENOMEM)
        e->batch_failed = 1;   /* a hard failure may have undone the batch's transaction */
    if (rc)
        return rc;
    rc = s->ops.append_history(s->backend, rec->id, h);
    if (rc) {
        e->batch_failed = 1;
        char why[512];
        snprintf(why, sizeof why, "%s", sfsm_errmsg());
        return sfsm_error_set(SFSM_ESTORAGE, "%s (history of '%s' not written: the batch can only be rolled back)",
                              why, rec->id);
    }
    return SFSM_OK;
}

int sfsm__engine_begin_write(sfsm_engine *e)
{
    if (e->in_batch) {
        if (e->batch_failed)
            return sfsm_error_set(SFSM_ESTORAGE, "an earlier write of this batch failed half-way; roll the batch back");
    } else if (sfsm__store_in_txn(e->s)) {
        return sfsm_error_set(SFSM_EBUSY, "another engine of this thread has a batch open on this store; "
                                          "write through that engine or after its commit");
    }
    int rc = sfsm__store_begin(e->s);
    if (rc == SFSM_OK && e->s->checked != e->p->fingerprint)
        e->s->checked = 0;   /* written under another pipeline: check the store again for the next engine */
    return rc;
}

int sfsm__engine_write(sfsm_engine *e, const sfsm_record *rec, uint64_t expected, uint32_t changed,
                       const sfsm_history_entry *h)
{
    if (e->in_batch)
        return write_in_batch(e, rec, expected, changed, h);
    sfsm_store *s = e->s;
    int rc = sfsm__engine_begin_write(e);
    if (rc)
        return rc;
    rc = check_amount(e, rec, expected, changed);
    if (rc == SFSM_OK)
        rc = s->ops.put(s->backend, rec, expected, changed);
    if (rc == SFSM_OK)
        rc = s->ops.append_history(s->backend, rec->id, h);
    if (rc != SFSM_OK) {
        sfsm__store_rollback(s);
        return rc;
    }
    return sfsm__store_commit(s);
}

static int refuse(int code, const char *why, const char *fallback_fmt, const char *event, const char *id)
{
    if (why[0])
        return sfsm_error_set(code, "%s", why);
    return sfsm_error_set(code, fallback_fmt, event, id);
}

static int run_guards(sfsm_engine *e, const event_def *d, const sfsm_transition *t)
{
    char why[WHY_SIZE];
    for (size_t k = 0; k < d->guard_count; k++) {
        const guard_slot *g = &e->guards[d->guards[k]];
        if (!g->fn)
            return sfsm_error_set(SFSM_ENOTFOUND, "event '%s' needs guard '%s', which is not registered on this engine",
                                  d->name, e->p->guards[d->guards[k]]);
        why[0] = '\0';
        if (g->fn(t, g->ud, why, sizeof why)) {
            why[sizeof why - 1] = '\0';
            return refuse(SFSM_EGUARD, why, "a guard refused event '%s' on opportunity '%s'", t->event, t->opp_id);
        }
    }
    return SFSM_OK;
}

static int run_before(sfsm_engine *e, uint32_t ev, const sfsm_transition *t)
{
    char why[WHY_SIZE];
    for (size_t k = 0; k < e->before.n; k++) {
        const hook *h = &e->before.v[k];
        if (h->filter >= 0 && (uint32_t)h->filter != ev)
            continue;
        why[0] = '\0';
        if (h->check(t, h->ud, why, sizeof why)) {
            why[sizeof why - 1] = '\0';
            return refuse(SFSM_EVETO, why, "a before hook vetoed event '%s' on opportunity '%s'", t->event, t->opp_id);
        }
    }
    return SFSM_OK;
}

void sfsm__engine_notify(sfsm_engine *e, const sfsm_transition *t, uint32_t ev, uint32_t from, uint32_t to)
{
    for (size_t k = 0; k < e->exit.n; k++)
        if (e->exit.v[k].filter < 0 || (uint32_t)e->exit.v[k].filter == from)
            e->exit.v[k].notify(t, e->exit.v[k].ud);
    for (size_t k = 0; k < e->enter.n; k++)
        if (e->enter.v[k].filter < 0 || (uint32_t)e->enter.v[k].filter == to)
            e->enter.v[k].notify(t, e->enter.v[k].ud);
    for (size_t k = 0; k < e->after.n; k++)
        if (e->after.v[k].filter < 0 || (uint32_t)e->after.v[k].filter == ev)
            e->after.v[k].notify(t, e->after.v[k].ud);
}

/* Copies what a batch needs to announce t at commit; reserved before the
 * write so that a failure to queue cannot follow a successful write. */
static int prepare_pending(sfsm_engine *e, const sfsm_transition *t, uint32_t ev, uint32_t from, uint32_t to)
{
    if (sfsm__grow((void **)&e->pend, &e->pend_cap, e->pend_count + 1, sizeof *e->pend))
        return sfsm_error_set(SFSM_ENOMEM, "out of memory queueing a batch notification");
    pending *q = &e->pend[e->pend_count];
    memset(q, 0, sizeof *q);
    q->opp_id = sfsm__strdup(t->opp_id);
    q->actor_name = sfsm__strdup(t->actor->name);
    q->actor_role = sfsm__strdup(t->actor->role);
    q->note = sfsm__strdup(t->note);
    if (!q->opp_id || !q->actor_name || !q->actor_role || (t->note && !q->note)) {
        sfsm__free(q->opp_id);
        sfsm__free(q->actor_name);
        sfsm__free(q->actor_role);
        sfsm__free(q->note);
        return sfsm_error_set(SFSM_ENOMEM, "out of memory queueing a batch notification");
    }
    q->event = ev;
    q->from = from;
    q->to = to;
    q->version = t->version;
    q->at_ms = t->at_ms;
    return SFSM_OK;
}

static int has_notify_hooks(const sfsm_engine *e)
{
    return e->exit.n || e->enter.n || e->after.n;
}

int sfsm_fire_index(sfsm_engine *e, sfsm_opp *o, size_t event, const sfsm_actor *actor, const char *note)
{
    int rc = sfsm__engine_check_args(e, o, "sfsm_fire");
    if (rc)
        return rc;
    const sfsm_pipeline *p = e->p;
    if (event >= p->event_count)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_fire: event index %zu out of range (pipeline '%s' has %zu events)",
                              event, p->name, p->event_count);
    const event_def *d = &p->events[event];
    if ((rc = sfsm__check_actor(actor, 1)) || (rc = sfsm__check_text("note", note, SFSM_MAX_TEXT)))
        return rc;
    if ((rc = sfsm__engine_check_idle(e, o, "sfsm_fire")) || (rc = sfsm__check_next_version(o, "sfsm_fire")))
        return rc;
    if (e->running_count == SFSM_MAX_NESTING)
        return sfsm_error_set(SFSM_EBUSY, "sfsm_fire: hooks nest fires more than %d deep", SFSM_MAX_NESTING);
    /* Callers fire as the same actor again and again: remember the last role. */
    long role = e->role_index;
    if (actor->role != e->role_ptr || strcmp(p->roles[role], actor->role) != 0) {
        if ((rc = sfsm__resolve_role(p, actor->role, &role)))
            return rc;
        e->role_ptr = actor->role;
        e->role_index = role;
    }

    /* 1. stage */
    uint32_t from = o->stage;
    int32_t to = p->next[from * p->event_count + event];
    if (to < 0)
        return sfsm_error_set(SFSM_ETRANSITION, "event '%s' not allowed from stage '%s' (opportunity '%s')", d->name,
                              p->stages[from].name, o->id);
    /* 2. role */
    if (!(d->roles >> role & 1u))
        return sfsm_error_set(SFSM_EPERM, "role '%s' may not fire event '%s' (actor '%s', opportunity '%s')",
                              actor->role, d->name, actor->name, o->id);

    int64_t now;
    if ((rc = sfsm__engine_now(e, &now)))
        return rc;
    sfsm_transition t = { o->id, o, d->name, p->stages[from].name, p->stages[to].name, actor, note,
                          o->version + 1, now };
    o->busy = 1;
    e->running[e->running_count++] = o;
    char *changes = NULL;
    int queued = 0;

    /* 3. guards, 4. before hooks */
    if ((rc = run_guards(e, d, &t)) || (rc = run_before(e, (uint32_t)event, &t)))
        goto out;

    /* 5. commit */
    int oom = 0;
    changes = sfsm__opp_changes_json(o, o->unsaved, &oom);
    if (oom) {
        rc = sfsm_error_set(SFSM_ENOMEM, "out of memory recording the changes of '%s'", o->id);
        goto out;
    }
    if (e->in_batch && has_notify_hooks(e)) {
        if ((rc = prepare_pending(e, &t, (uint32_t)event, from, (uint32_t)to)))
            goto out;
        queued = 1;
    }
    sfsm_attr attrs_stack[16];
    sfsm_attr *attrs = attrs_stack;
    if (o->attr_count > 16 && !(attrs = sfsm__calloc(o->attr_count, sizeof *attrs))) {
        rc = sfsm_error_set(SFSM_ENOMEM, "out of memory writing '%s'", o->id);
        goto out;
    }
    sfsm_record rec;
    sfsm__opp_to_record(o, &rec, attrs);
    rec.stage = t.to;
    rec.version = t.version;
    rec.updated_ms = rec.stage_entered_ms = t.at_ms;
    sfsm_history_entry h = { t.version, t.at_ms, SFSM_HISTORY_TRANSITION, d->name, t.from, t.to,
                             actor->name, actor->role, note, o->unsaved, changes };
    rc = sfsm__engine_write(e, &rec, o->version, o->unsaved, &h);
    if (attrs != attrs_stack)
        sfsm__free(attrs);
    if (rc)
        goto out;

    /* 6. the handle, then the announcement */
    o->stage = (uint32_t)to;
    o->version = t.version;
    o->updated = o->entered = t.at_ms;
    o->unsaved = 0;
    if (queued) {
        e->pend_count++;
        queued = 0;
    } else if (!e->in_batch) {
        sfsm__engine_notify(e, &t, (uint32_t)event, from, (uint32_t)to);
    }
out:
    if (queued) {   /* reserved but not used */
        pending *q = &e->pend[e->pend_count];
        sfsm__free(q->opp_id);
        sfsm__free(q->actor_name);
        sfsm__free(q->actor_role);
        sfsm__free(q->note);
    }
    sfsm__free(changes);
    e->running_count--;
    o->busy = 0;
    return rc;
}

int sfsm_fire(sfsm_engine *e, sfsm_opp *o, const char *event, const sfsm_actor *actor, const char *note)
{
    if (!e || !event)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_fire: %s is NULL", e ? "event" : "engine");
    /* Applications pass the same few literals: a pointer hit confirmed by one
     * comparison saves hashing the name. */
    uint64_t slot = ((uint64_t)(uintptr_t)event * 0x9E3779B97F4A7C15ull) >> 60;
    long ev = e->event_cache[slot].index;
    if (e->event_cache[slot].ptr == event && strcmp(e->p->events[ev].name, event) == 0)
        return sfsm_fire_index(e, o, (size_t)ev, actor, note);
    ev = sfsm__name_find(&e->p->event_ix, &e->p->events[0].name, sizeof(event_def), event);
    if (ev >= 0) {
        e->event_cache[slot].ptr = event;
        e->event_cache[slot].index = ev;
    }
    if (ev < 0) {
        if (sfsm__check_name("event", event, SFSM_MAX_NAME))
            return SFSM_EINVAL;
        return sfsm_error_set(SFSM_ENOTFOUND, "unknown event '%s' in pipeline '%s'", event, e->p->name);
    }
    return sfsm_fire_index(e, o, (size_t)ev, actor, note);
}
