/* Validating and interning a pipeline definition. Every error names the
 * member at fault by its path in the definition. */
#include <stdio.h>
#include <string.h>

#include <salesfsm/pipeline.h>

#include "alloc.h"
#include "pipeline_impl.h"
#include "text.h"

static int index_build(name_index *ix, char *const *names, size_t stride, size_t n,
                       const char *what, long *dup_of)
{
    uint32_t size = 8;
    while (size < 2 * n)
        size <<= 1;
    ix->slots = sfsm__calloc(size, sizeof *ix->slots);
    if (!ix->slots)
        return sfsm_error_set(SFSM_ENOMEM, "out of memory indexing %s names", what);
    ix->mask = size - 1;
    for (size_t k = 0; k < n; k++) {
        const char *name = *(char *const *)((const char *)names + k * stride);
        long found = sfsm__name_find(ix, names, stride, name);
        if (found >= 0) {
            dup_of[0] = found;
            dup_of[1] = (long)k;
            return SFSM_EEXISTS;
        }
        uint32_t i = sfsm__hash(name, strlen(name)) & ix->mask;
        while (ix->slots[i])
            i = (i + 1) & ix->mask;
        ix->slots[i] = (uint32_t)k + 1;
    }
    return SFSM_OK;
}

/* `member` is ".name" for lists of objects, "" for lists of strings. */
static int index_or_dup(name_index *ix, char *const *names, size_t stride, size_t n, const char *list,
                        const char *member)
{
    long dup[2];
    int rc = index_build(ix, names, stride, n, list, dup);
    if (rc == SFSM_EEXISTS)
        return sfsm_error_set(SFSM_EINVAL, "%s[%ld]%s: duplicate name '%s' (also %s[%ld])", list, dup[1], member,
                              *(char *const *)((const char *)names + (size_t)dup[1] * stride), list, dup[0]);
    return rc;
}

static int check_name(const char *path, const char *name)
{
    int rc = sfsm__check_name(path, name, SFSM_MAX_NAME);
    return rc;
}

static int copy_name(char **dst, const char *src)
{
    *dst = sfsm__strdup(src);
    return *dst ? SFSM_OK : sfsm_error_set(SFSM_ENOMEM, "out of memory copying name '%s'", src);
}

static int build_stages(sfsm_pipeline *p, const pdef *d)
{
    char path[64];
    if (d->stage_count == 0 || d->stage_count > SFSM_MAX_STAGES)
        return sfsm_error_set(SFSM_EINVAL, "stages: need 1 to %d stages, got %zu", SFSM_MAX_STAGES, d->stage_count);
    p->stages = sfsm__calloc(d->stage_count, sizeof *p->stages);
    if (!p->stages)
        return sfsm_error_set(SFSM_ENOMEM, "out of memory for stages");
    p->stage_count = d->stage_count;
    for (size_t i = 0; i < d->stage_count; i++) {
        const pdef_stage *s = &d->stages[i];
        snprintf(path, sizeof path, "stages[%zu].name", i);
        int rc = check_name(path, s->name);
        if (rc)
            return rc;
        snprintf(path, sizeof path, "stages[%zu].label", i);
        if ((rc = sfsm__check_text(path, s->label, SFSM_MAX_TEXT)))
            return rc;
        if (s->probability < 0 || s->probability > 100)
            return sfsm_error_set(SFSM_EINVAL, "stages[%zu].probability: %d is outside 0..100", i, s->probability);
        if (s->stale_days < 0)
            return sfsm_error_set(SFSM_EINVAL, "stages[%zu].stale_days: %d is negative", i, s->stale_days);
        if (s->outcome != SFSM_OUTCOME_OPEN && s->outcome != SFSM_OUTCOME_WON && s->outcome != SFSM_OUTCOME_LOST)
            return sfsm_error_set(SFSM_EINVAL, "stages[%zu].outcome: unknown outcome %d", i, (int)s->outcome);
        stage_def *t = &p->stages[i];
        if ((rc = copy_name(&t->name, s->name)) || (rc = copy_name(&t->label, s->label ? s->label : s->name)))
            return rc;
        t->probability = s->probability;
        t->stale_days = s->stale_days;
        t->outcome = s->outcome;
        if (s->forecast < -1 || s->forecast > SFSM_FORECAST_OMITTED)
            return sfsm_error_set(SFSM_EINVAL, "stages[%zu].forecast: unknown category %d", i, s->forecast);
        t->forecast = s->forecast >= 0                        ? (sfsm_forecast)s->forecast
                      : s->outcome == SFSM_OUTCOME_WON        ? SFSM_FORECAST_CLOSED
                      : s->outcome == SFSM_OUTCOME_LOST       ? SFSM_FORECAST_OMITTED
                                                              : SFSM_FORECAST_PIPELINE;
    }
    return index_or_dup(&p->stage_ix, &p->stages[0].name, sizeof(stage_def), p->stage_count, "stages", ".name");
}

static int build_roles(sfsm_pipeline *p, const pdef *d)
{
    char path[64];
    if (d->role_count == 0 || d->role_count > SFSM_MAX_ROLES)
        return sfsm_error_set(SFSM_EINVAL, "roles: need 1 to %d roles, got %zu", SFSM_MAX_ROLES, d->role_count);
    p->roles = sfsm__calloc(d->role_count, sizeof *p->roles);
    if (!p->roles)
        return sfsm_error_set(SFSM_ENOMEM, "out of memory for roles");
    p->role_count = d->role_count;
    for (size_t i = 0; i < d->role_count; i++) {
        snprintf(path, sizeof path, "roles[%zu]", i);
        int rc = check_name(path, d->roles[i]);
        if (rc || (rc = copy_name(&p->roles[i], d->roles[i])))
            return rc;
    }
    return index_or_dup(&p->role_ix, p->roles, sizeof(char *), p->role_count, "roles", "");
}

/* Adds a guard name to the pipeline's distinct guard list; returns its index or -1. */
static long intern_guard(sfsm_pipeline *p, size_t *cap, const char *name)
{
    for (size_t i = 0; i < p->guard_count; i++)
        if (strcmp(p->guards[i], name) == 0)
            return (long)i;
    if (sfsm__grow((void **)&p->guards, cap, p->guard_count + 1, sizeof *p->guards))
        return -1;
    if (!(p->guards[p->guard_count] = sfsm__strdup(name)))
        return -1;
    return (long)p->guard_count++;
}

static int build_event(sfsm_pipeline *p, const pdef *d, size_t i, size_t *guard_cap)
{
    char path[80];
    const pdef_event *e = &d->events[i];
    event_def *t = &p->events[i];
    snprintf(path, sizeof path, "events[%zu].name", i);
    int rc = check_name(path, e->name);
    if (rc || (rc = copy_name(&t->name, e->name)))
        return rc;
    long to = e->to ? sfsm__name_find(&p->stage_ix, &p->stages[0].name, sizeof(stage_def), e->to) : -1;
    if (to < 0)
        return sfsm_error_set(SFSM_EINVAL, "events[%zu].to: unknown stage '%.*s'", i, SFSM_MAX_NAME, e->to ? e->to : "(null)");
    t->to = (uint32_t)to;
    if (e->from_count == 0)
        return sfsm_error_set(SFSM_EINVAL, "events[%zu].from: event '%s' has no from stage", i, e->name);
    for (size_t k = 0; k < e->from_count; k++) {
        long from = e->from[k] ? sfsm__name_find(&p->stage_ix, &p->stages[0].name, sizeof(stage_def), e->from[k]) : -1;
        if (from < 0)
            return sfsm_error_set(SFSM_EINVAL, "events[%zu].from[%zu]: unknown stage '%.*s'", i, k, SFSM_MAX_NAME,
                                  e->from[k] ? e->from[k] : "(null)");
        int32_t *cell = &p->next[(size_t)from * d->event_count + i];
        if (*cell >= 0)
            return sfsm_error_set(SFSM_EINVAL, "events[%zu].from[%zu]: event '%s' listed twice from stage '%s'", i, k,
                                  e->name, e->from[k]);
        *cell = (int32_t)to;
    }
    if (e->role_count == 0)
        return sfsm_error_set(SFSM_EINVAL, "events[%zu].roles: event '%s' allows no role", i, e->name);
    for (size_t k = 0; k < e->role_count; k++) {
        long r = e->roles[k] ? sfsm__name_find(&p->role_ix, p->roles, sizeof(char *), e->roles[k]) : -1;
        if (r < 0)
            return sfsm_error_set(SFSM_EINVAL, "events[%zu].roles[%zu]: unknown role '%.*s'", i, k, SFSM_MAX_NAME,
                                  e->roles[k] ? e->roles[k] : "(null)");
        t->roles |= 1u << r;
    }
    if (e->guard_count > SFSM_MAX_GUARDS_PER_EVENT)
        return sfsm_error_set(SFSM_EINVAL, "events[%zu].guards: more than %d guards", i, SFSM_MAX_GUARDS_PER_EVENT);
    if (e->guard_count) {
        t->guards = sfsm__calloc(e->guard_count, sizeof *t->guards);
        if (!t->guards)
            return sfsm_error_set(SFSM_ENOMEM, "out of memory for guards");
    }
    for (size_t k = 0; k < e->guard_count; k++) {
        snprintf(path, sizeof path, "events[%zu].guards[%zu]", i, k);
        if ((rc = check_name(path, e->guards[k])))
            return rc;
        long g = intern_guard(p, guard_cap, e->guards[k]);
        if (g < 0)
            return sfsm_error_set(SFSM_ENOMEM, "out of memory for guard names");
        t->guards[t->guard_count++] = (uint32_t)g;
    }
    return SFSM_OK;
}

static int build_events(sfsm_pipeline *p, const pdef *d)
{
    if (d->event_count == 0 || d->event_count > SFSM_MAX_EVENTS)
        return sfsm_error_set(SFSM_EINVAL, "events: need 1 to %d events, got %zu", SFSM_MAX_EVENTS, d->event_count);
    p->events = sfsm__calloc(d->event_count, sizeof *p->events);
    p->next = sfsm__calloc(d->stage_count * d->event_count, sizeof *p->next);
    if (!p->events || !p->next)
        return sfsm_error_set(SFSM_ENOMEM, "out of memory for events");
    p->event_count = d->event_count;
    for (size_t k = 0; k < d->stage_count * d->event_count; k++)
        p->next[k] = -1;
    size_t guard_cap = 0;
    for (size_t i = 0; i < d->event_count; i++) {
        int rc = build_event(p, d, i, &guard_cap);
        if (rc)
            return rc;
    }
    int rc = index_or_dup(&p->event_ix, &p->events[0].name, sizeof(event_def), p->event_count, "events", ".name");
    if (rc)
        return rc;
    long dup[2];
    rc = index_build(&p->guard_ix, p->guards, sizeof(char *), p->guard_count, "guard", dup);
    return rc;
}

static int build_migrations(sfsm_pipeline *p, const pdef *d)
{
    if (!d->migration_count)
        return SFSM_OK;
    if (d->migration_count > SFSM_MAX_STAGES * 16u)
        return sfsm_error_set(SFSM_EINVAL, "migrations: more than %d entries", SFSM_MAX_STAGES * 16);
    p->migrations = sfsm__calloc(d->migration_count, sizeof *p->migrations);
    if (!p->migrations)
        return sfsm_error_set(SFSM_ENOMEM, "out of memory for migrations");
    for (size_t i = 0; i < d->migration_count; i++) {
        const pdef_migration *m = &d->migrations[i];
        char path[64];
        snprintf(path, sizeof path, "migrations[%zu].from", i);
        int rc = check_name(path, m->from);
        if (rc)
            return rc;
        if (m->from_version == 0 || m->from_version >= p->version)
            return sfsm_error_set(SFSM_EINVAL, "migrations[%zu].from_version: %u is not an earlier version than %u", i,
                                  m->from_version, p->version);
        long to = m->to ? sfsm__name_find(&p->stage_ix, &p->stages[0].name, sizeof(stage_def), m->to) : -1;
        if (to < 0)
            return sfsm_error_set(SFSM_EINVAL, "migrations[%zu].to: unknown stage '%.*s'", i, SFSM_MAX_NAME,
                                  m->to ? m->to : "(null)");
        for (size_t k = 0; k < i; k++)
            if (p->migrations[k].from_version == m->from_version && strcmp(p->migrations[k].from, m->from) == 0)
                return sfsm_error_set(SFSM_EINVAL, "migrations[%zu]: stage '%s' of version %u is already mapped by migrations[%zu]",
                                      i, m->from, m->from_version, k);
        if (!(p->migrations[i].from = sfsm__strdup(m->from)))
            return sfsm_error_set(SFSM_ENOMEM, "out of memory for migrations");
        p->migrations[i].from_version = m->from_version;
        p->migrations[i].to = (uint32_t)to;
        p->migration_count = i + 1;
    }
    return SFSM_OK;
}

/* Reachability, ways out of open stages and a path to a won outcome. */
static int check_graph(sfsm_pipeline *p, const pdef *d)
{
    size_t n = p->stage_count, m = p->event_count;
    unsigned char *seen = sfsm__calloc(n, 1);
    uint32_t *queue = sfsm__calloc(n, sizeof *queue);
    int rc = SFSM_OK;
    if (!seen || !queue) {
        rc = sfsm_error_set(SFSM_ENOMEM, "out of memory checking the pipeline");
        goto done;
    }
    size_t head = 0, tail = 0;
    seen[p->initial] = 1;
    queue[tail++] = p->initial;
    int won_reachable = 0;
    while (head < tail) {
        uint32_t s = queue[head++];
        if (p->stages[s].outcome == SFSM_OUTCOME_WON)
            won_reachable = 1;
        for (size_t e = 0; e < m; e++) {
            int32_t t = p->next[s * m + e];
            if (t >= 0 && !seen[t]) {
                seen[t] = 1;
                queue[tail++] = (uint32_t)t;
            }
        }
    }
    for (size_t s = 0; s < n; s++) {
        int out = 0;
        for (size_t e = 0; e < m; e++)
            out |= p->next[s * m + e] >= 0;
        p->stages[s].final = !out;
        int declared = d->stages[s].final;
        if (declared == 1 && out) {
            rc = sfsm_error_set(SFSM_EINVAL, "stages[%zu].final: stage '%s' is declared final but events lead out of it",
                                s, p->stages[s].name);
            goto done;
        }
        if (declared == 0 && !out && p->stages[s].outcome != SFSM_OUTCOME_OPEN) {
            rc = sfsm_error_set(SFSM_EINVAL, "stages[%zu].final: stage '%s' is declared not final but no event leads out of it",
                                s, p->stages[s].name);
            goto done;
        }
        if (!seen[s]) {
            rc = sfsm_error_set(SFSM_EINVAL, "stages[%zu]: stage '%s' is unreachable from the initial stage '%s'", s,
                                p->stages[s].name, p->stages[p->initial].name);
            goto done;
        }
        if (!out && p->stages[s].outcome == SFSM_OUTCOME_OPEN) {
            rc = sfsm_error_set(SFSM_EINVAL, "stages[%zu]: open stage '%s' has no event leading out of it", s,
                                p->stages[s].name);
            goto done;
        }
    }
    if (!won_reachable)
        rc = sfsm_error_set(SFSM_EINVAL, "stages: no stage with outcome won can be reached from '%s'",
                            p->stages[p->initial].name);
done:
    sfsm__free(seen);
    sfsm__free(queue);
    return rc;
}

/* What a store check depends on, so a check can be remembered. */
static void fingerprint(sfsm_pipeline *p)
{
    uint64_t h = sfsm__hash(p->name, strlen(p->name)) ^ ((uint64_t)p->version << 32);
    for (size_t i = 0; i < p->stage_count; i++)
        h = (h ^ sfsm__hash(p->stages[i].name, strlen(p->stages[i].name))) * 0x100000001B3ull;
    for (size_t i = 0; i < p->migration_count; i++)
        h = (h ^ sfsm__hash(p->migrations[i].from, strlen(p->migrations[i].from)) ^ p->migrations[i].from_version ^
             ((uint64_t)p->migrations[i].to << 40)) * 0x100000001B3ull;
    p->fingerprint = h | 1;   /* never 0, which means "not checked" */
}

int sfsm__pipeline_build(const pdef *d, sfsm_pipeline **out)
{
    *out = NULL;
    sfsm_pipeline *p = sfsm__calloc(1, sizeof *p);
    if (!p)
        return sfsm_error_set(SFSM_ENOMEM, "out of memory for a pipeline");
    int rc = check_name("name", d->name);
    if (!rc && !(p->name = sfsm__strdup(d->name)))
        rc = sfsm_error_set(SFSM_ENOMEM, "out of memory for the pipeline name");
    p->version = d->version;
    if (!rc && d->version == 0)
        rc = sfsm_error_set(SFSM_EINVAL, "version: must be at least 1");
    if (!rc)
        rc = build_stages(p, d);
    if (!rc)
        rc = build_roles(p, d);
    if (!rc) {
        long init = d->initial ? sfsm__name_find(&p->stage_ix, &p->stages[0].name, sizeof(stage_def), d->initial) : -1;
        if (init < 0)
            rc = sfsm_error_set(SFSM_EINVAL, "initial: unknown stage '%.*s'", SFSM_MAX_NAME,
                                d->initial ? d->initial : "(null)");
        else
            p->initial = (uint32_t)init;
    }
    if (!rc)
        rc = build_events(p, d);
    if (!rc)
        rc = check_graph(p, d);
    if (!rc)
        rc = build_migrations(p, d);
    if (!rc)
        fingerprint(p);
    if (rc) {
        sfsm_pipeline_free(p);
        return rc;
    }
    *out = p;
    return SFSM_OK;
}
