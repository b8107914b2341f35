/* Engine lifetime, clock, hook and guard registration, introspection. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <salesfsm/engine.h>

#include "alloc.h"
#include "engine_impl.h"
#include "opp_impl.h"
#include "safe_int.h"
#include "store_impl.h"
#include "text.h"

/* ---- built-in guards ---- */

static int guard_has_customer(const sfsm_transition *t, void *ud, char *why, size_t n)
{
    (void)ud;
    if (sfsm_opp_customer(t->opp))
        return 0;
    snprintf(why, n, "guard 'has_customer' refused event '%s' on opportunity '%s': no customer is set", t->event,
             t->opp_id);
    return 1;
}

static int guard_has_amount(const sfsm_transition *t, void *ud, char *why, size_t n)
{
    (void)ud;
    if (sfsm_opp_amount(t->opp) > 0 && sfsm_opp_currency(t->opp))
        return 0;
    snprintf(why, n, "guard 'has_amount' refused event '%s' on opportunity '%s': no amount greater than zero is set",
             t->event, t->opp_id);
    return 1;
}

static int guard_has_reason(const sfsm_transition *t, void *ud, char *why, size_t n)
{
    (void)ud;
    for (const char *c = t->note; c && *c; c++)
        if (*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r')
            return 0;
    snprintf(why, n, "guard 'has_reason' refused event '%s' on opportunity '%s': a reason is required as the note",
             t->event, t->opp_id);
    return 1;
}

static const struct {
    const char *name;
    sfsm_check_fn fn;
    int note_only;
} builtin_guards[] = {
    { "has_customer", guard_has_customer, 0 },
    { "has_amount", guard_has_amount, 0 },
    { "has_reason", guard_has_reason, 1 },
};

/* ---- lifetime ---- */

static int64_t system_clock(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sfsm_engine_new(sfsm_engine **out, const sfsm_pipeline *p, sfsm_store *s)
{
    if (out)
        *out = NULL;
    if (!out || !p || !s)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_engine_new: %s is NULL", !out ? "out" : !p ? "pipeline" : "store");
    sfsm_engine *e = sfsm__calloc(1, sizeof *e);
    if (!e)
        return sfsm_error_set(SFSM_ENOMEM, "out of memory for an engine");
    e->p = p;
    e->s = s;
    e->clock = system_clock;
    e->guards = sfsm__calloc(p->guard_count ? p->guard_count : 1, sizeof *e->guards);
    if (!e->guards) {
        sfsm__free(e);
        return sfsm_error_set(SFSM_ENOMEM, "out of memory for an engine");
    }
    for (size_t g = 0; g < p->guard_count; g++)
        for (size_t b = 0; b < sizeof builtin_guards / sizeof builtin_guards[0]; b++)
            if (strcmp(p->guards[g], builtin_guards[b].name) == 0) {
                e->guards[g].fn = builtin_guards[b].fn;
                e->guards[g].note_only = builtin_guards[b].note_only;
            }
    int rc = sfsm__engine_check_store(e);
    if (rc) {
        sfsm__free(e->guards);
        sfsm__free(e);
        return rc;
    }
    *out = e;
    return SFSM_OK;
}

void sfsm_engine_free(sfsm_engine *e)
{
    if (!e)
        return;
    if (e->in_batch) {
        sfsm__store_rollback(e->s);
        sfsm__engine_drop_pending(e);
    }
    sfsm__free(e->pend);
    sfsm__free(e->guards);
    sfsm__free(e->before.v);
    sfsm__free(e->after.v);
    sfsm__free(e->exit.v);
    sfsm__free(e->enter.v);
    sfsm__free(e);
}

const sfsm_pipeline *sfsm_engine_pipeline(const sfsm_engine *e) { return e ? e->p : NULL; }
sfsm_store *sfsm_engine_store(const sfsm_engine *e) { return e ? e->s : NULL; }

int sfsm_engine_set_clock(sfsm_engine *e, int64_t (*now_ms)(void *ud), void *ud)
{
    if (!e)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_engine_set_clock: engine is NULL");
    e->clock = now_ms ? now_ms : system_clock;
    e->clock_ud = now_ms ? ud : NULL;
    return SFSM_OK;
}

int64_t sfsm_engine_now(sfsm_engine *e)
{
    return e ? e->clock(e->clock_ud) : 0;
}

int sfsm__engine_now(sfsm_engine *e, int64_t *now)
{
    int64_t t = e->clock(e->clock_ud);
    /* outside, the stored time would read back as damage (record_check.c) */
    if (t < -SFSM_SAFE_INTEGER || t > SFSM_SAFE_INTEGER)
        return sfsm_error_set(SFSM_EINVAL, "clock: %lld ms is outside the times a store keeps, -%lld..%lld (2^53-1)",
                              (long long)t, (long long)SFSM_SAFE_INTEGER, (long long)SFSM_SAFE_INTEGER);
    *now = t;
    return SFSM_OK;
}

/* ---- argument checks shared by the handle functions ---- */

int sfsm__engine_check_args(sfsm_engine *e, const sfsm_opp *o, const char *fn)
{
    if (!e || !o)
        return sfsm_error_set(SFSM_EINVAL, "%s: %s is NULL", fn, e ? "opportunity" : "engine");
    if (o->pipeline != e->p)
        return sfsm_error_set(SFSM_EINVAL, "%s: opportunity '%s' was loaded under another pipeline object than this engine's",
                              fn, o->id);
    return SFSM_OK;
}

int sfsm__engine_check_idle(sfsm_engine *e, const sfsm_opp *o, const char *fn)
{
    if (o->busy)
        return sfsm_error_set(SFSM_EBUSY, "%s: opportunity '%s' is in the middle of its own transition", fn, o->id);
    /* Only inside hooks: another handle on the same id would race the running commit. */
    for (size_t k = 0; k < e->running_count; k++)
        if (strcmp(e->running[k]->id, o->id) == 0)
            return sfsm_error_set(SFSM_EBUSY, "%s: opportunity '%s' is in the middle of its own transition", fn, o->id);
    return SFSM_OK;
}

int sfsm__check_actor(const sfsm_actor *a, int required)
{
    if (!a)
        return required ? sfsm_error_set(SFSM_EINVAL, "actor: must not be NULL") : SFSM_OK;
    int rc = sfsm__check_name("actor.name", a->name, SFSM_MAX_NAME);
    if (!rc && !a->role)
        rc = sfsm_error_set(SFSM_EINVAL, "actor.role: must not be NULL");
    return rc;   /* the role is checked when it is looked up in the pipeline */
}

int sfsm__check_actor_role(const sfsm_pipeline *p, const sfsm_actor *a)
{
    int rc = sfsm__check_actor(a, 0);
    long role;
    if (!rc && a)
        rc = sfsm__resolve_role(p, a->role, &role);
    return rc;
}

int sfsm__resolve_role(const sfsm_pipeline *p, const char *role, long *index)
{
    *index = sfsm__name_find(&p->role_ix, p->roles, sizeof(char *), role);
    if (*index >= 0)
        return SFSM_OK;
    int rc = sfsm__check_name("actor.role", role, SFSM_MAX_NAME);
    return rc ? rc : sfsm_error_set(SFSM_ENOTFOUND, "unknown role '%s' in pipeline '%s'", role, p->name);
}

/* ---- hooks and guards ---- */

static int add_hook(sfsm_engine *e, hook_list *l, const char *kind, const char *filter, int by_stage,
                    sfsm_check_fn check, sfsm_notify_fn notify, void *ud)
{
    if (!e || (!check && !notify))
        return sfsm_error_set(SFSM_EINVAL, "sfsm_engine_on_%s: %s is NULL", kind, e ? "fn" : "engine");
    if (e->running_count || e->announcing)
        return sfsm_error_set(SFSM_EBUSY, "sfsm_engine_on_%s: hooks cannot be registered from inside a hook", kind);
    int32_t f = -1;
    if (filter) {
        long i = by_stage ? sfsm__name_find(&e->p->stage_ix, &e->p->stages[0].name, sizeof(stage_def), filter)
                          : sfsm__name_find(&e->p->event_ix, &e->p->events[0].name, sizeof(event_def), filter);
        if (i < 0)
            return sfsm_error_set(SFSM_ENOTFOUND, "sfsm_engine_on_%s: unknown %s '%.*s'", kind, by_stage ? "stage" : "event",
                                  SFSM_MAX_NAME, filter);
        f = (int32_t)i;
    }
    if (sfsm__grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v))
        return sfsm_error_set(SFSM_ENOMEM, "out of memory registering a hook");
    l->v[l->n++] = (hook){ f, check, notify, ud };
    return SFSM_OK;
}

int sfsm_engine_on_before(sfsm_engine *e, const char *event, sfsm_check_fn fn, void *ud)
{
    return add_hook(e, e ? &e->before : NULL, "before", event, 0, fn, NULL, ud);
}

int sfsm_engine_on_after(sfsm_engine *e, const char *event, sfsm_notify_fn fn, void *ud)
{
    return add_hook(e, e ? &e->after : NULL, "after", event, 0, NULL, fn, ud);
}

int sfsm_engine_on_exit(sfsm_engine *e, const char *stage, sfsm_notify_fn fn, void *ud)
{
    return add_hook(e, e ? &e->exit : NULL, "exit", stage, 1, NULL, fn, ud);
}

int sfsm_engine_on_enter(sfsm_engine *e, const char *stage, sfsm_notify_fn fn, void *ud)
{
    return add_hook(e, e ? &e->enter : NULL, "enter", stage, 1, NULL, fn, ud);
}

int sfsm_engine_register_guard(sfsm_engine *e, const char *name, sfsm_check_fn fn, void *ud)
{
    if (!e || !name || !fn)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_engine_register_guard: %s is NULL", !e ? "engine" : !name ? "name" : "fn");
    if (e->running_count || e->announcing)
        return sfsm_error_set(SFSM_EBUSY, "sfsm_engine_register_guard: guards cannot be registered from inside a hook");
    long g = sfsm__name_find(&e->p->guard_ix, e->p->guards, sizeof(char *), name);
    if (g < 0)
        return sfsm_error_set(SFSM_ENOTFOUND, "sfsm_engine_register_guard: no event of pipeline '%s' uses guard '%.*s'",
                              e->p->name, SFSM_MAX_NAME, name);
    e->guards[g] = (guard_slot){ fn, ud, 0 };
    return SFSM_OK;
}

/* ---- introspection ---- */

int sfsm_engine_available_events(sfsm_engine *e, const sfsm_opp *o, const sfsm_actor *actor, const char **names,
                                 size_t cap, size_t *count)
{
    int rc = sfsm__engine_check_args(e, o, "sfsm_engine_available_events");
    if (rc)
        return rc;
    if (!count || (cap && !names))
        return sfsm_error_set(SFSM_EINVAL, "sfsm_engine_available_events: %s is NULL", count ? "names" : "count");
    if ((rc = sfsm__check_actor(actor, 1)))
        return rc;
    const sfsm_pipeline *p = e->p;
    long role;
    if ((rc = sfsm__resolve_role(p, actor->role, &role)))
        return rc;
    size_t n = 0;
    char why[16];
    for (size_t ev = 0; ev < p->event_count; ev++) {
        int32_t to = p->next[o->stage * p->event_count + ev];
        const event_def *d = &p->events[ev];
        if (to < 0 || !(d->roles >> role & 1u))
            continue;
        sfsm_transition t = { o->id, o, d->name, p->stages[o->stage].name, p->stages[to].name, actor, NULL,
                              o->version + 1, sfsm_engine_now(e) };
        int ok = 1;
        for (size_t k = 0; k < d->guard_count && ok; k++) {
            const guard_slot *g = &e->guards[d->guards[k]];
            if (!g->fn || (!g->note_only && g->fn(&t, g->ud, why, sizeof why)))
                ok = 0;
        }
        if (!ok)
            continue;
        if (n < cap)
            names[n] = d->name;
        n++;
    }
    *count = n;
    return SFSM_OK;
}
