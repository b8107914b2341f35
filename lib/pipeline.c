/* Pipeline accessors and name lookup. */
#include <string.h>

#include <salesfsm/pipeline.h>

#include "alloc.h"
#include "pipeline_impl.h"
#include "text.h"

long sfsm__name_find(const name_index *ix, char *const *names, size_t stride, const char *name)
{
    if (!ix->slots || !name)
        return -1;
    size_t len = strlen(name);
    uint32_t i = sfsm__hash(name, len) & ix->mask;
    for (;; i = (i + 1) & ix->mask) {
        uint32_t v = ix->slots[i];
        if (v == 0)
            return -1;
        const char *cand = *(char *const *)((const char *)names + (v - 1) * stride);
        if (strcmp(cand, name) == 0)
            return (long)(v - 1);
    }
}

void sfsm_pipeline_free(sfsm_pipeline *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->stage_count; i++) {
        sfsm__free(p->stages[i].name);
        sfsm__free(p->stages[i].label);
    }
    for (size_t i = 0; i < p->event_count; i++) {
        sfsm__free(p->events[i].name);
        sfsm__free(p->events[i].guards);
    }
    for (size_t i = 0; i < p->role_count; i++)
        sfsm__free(p->roles[i]);
    for (size_t i = 0; i < p->guard_count; i++)
        sfsm__free(p->guards[i]);
    sfsm__free(p->stages);
    sfsm__free(p->events);
    sfsm__free(p->roles);
    sfsm__free(p->guards);
    sfsm__free(p->next);
    for (size_t i = 0; i < p->migration_count; i++)
        sfsm__free(p->migrations[i].from);
    sfsm__free(p->migrations);
    sfsm__free(p->stage_ix.slots);
    sfsm__free(p->event_ix.slots);
    sfsm__free(p->role_ix.slots);
    sfsm__free(p->guard_ix.slots);
    sfsm__free(p->name);
    sfsm__free(p);
}

const char *sfsm_pipeline_name(const sfsm_pipeline *p) { return p ? p->name : NULL; }
uint32_t sfsm_pipeline_version(const sfsm_pipeline *p) { return p ? p->version : 0; }
size_t sfsm_pipeline_stage_count(const sfsm_pipeline *p) { return p ? p->stage_count : 0; }
size_t sfsm_pipeline_event_count(const sfsm_pipeline *p) { return p ? p->event_count : 0; }
size_t sfsm_pipeline_role_count(const sfsm_pipeline *p) { return p ? p->role_count : 0; }
size_t sfsm_pipeline_initial_stage(const sfsm_pipeline *p) { return p ? p->initial : 0; }

static const stage_def *stage_at(const sfsm_pipeline *p, size_t i)
{
    return p && i < p->stage_count ? &p->stages[i] : NULL;
}

static const event_def *event_at(const sfsm_pipeline *p, size_t i)
{
    return p && i < p->event_count ? &p->events[i] : NULL;
}

const char *sfsm_pipeline_stage_name(const sfsm_pipeline *p, size_t i)
{
    const stage_def *s = stage_at(p, i);
    return s ? s->name : NULL;
}

const char *sfsm_pipeline_stage_label(const sfsm_pipeline *p, size_t i)
{
    const stage_def *s = stage_at(p, i);
    return s ? s->label : NULL;
}

int sfsm_pipeline_stage_probability(const sfsm_pipeline *p, size_t i)
{
    const stage_def *s = stage_at(p, i);
    return s ? s->probability : 0;
}

int sfsm_pipeline_stage_stale_days(const sfsm_pipeline *p, size_t i)
{
    const stage_def *s = stage_at(p, i);
    return s ? s->stale_days : 0;
}

sfsm_outcome sfsm_pipeline_stage_outcome(const sfsm_pipeline *p, size_t i)
{
    const stage_def *s = stage_at(p, i);
    return s ? s->outcome : SFSM_OUTCOME_OPEN;
}

sfsm_forecast sfsm_pipeline_stage_forecast(const sfsm_pipeline *p, size_t i)
{
    const stage_def *s = stage_at(p, i);
    return s ? s->forecast : SFSM_FORECAST_PIPELINE;
}

int sfsm_pipeline_migration(const sfsm_pipeline *p, uint32_t from_version, const char *from, const char **to)
{
    if (!p || !from || !to)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_pipeline_migration: NULL argument");
    *to = NULL;
    for (size_t i = 0; i < p->migration_count; i++)
        if (p->migrations[i].from_version == from_version && strcmp(p->migrations[i].from, from) == 0) {
            *to = p->stages[p->migrations[i].to].name;
            break;
        }
    return SFSM_OK;
}

int sfsm_pipeline_stage_is_final(const sfsm_pipeline *p, size_t i)
{
    const stage_def *s = stage_at(p, i);
    return s ? s->final : 0;
}

const char *sfsm_pipeline_event_name(const sfsm_pipeline *p, size_t i)
{
    const event_def *e = event_at(p, i);
    return e ? e->name : NULL;
}

size_t sfsm_pipeline_event_target(const sfsm_pipeline *p, size_t i)
{
    const event_def *e = event_at(p, i);
    return e ? e->to : (size_t)-1;
}

int sfsm_pipeline_event_allowed_from(const sfsm_pipeline *p, size_t ev, size_t stage)
{
    if (!event_at(p, ev) || !stage_at(p, stage))
        return 0;
    return p->next[stage * p->event_count + ev] >= 0;
}

int sfsm_pipeline_event_allows_role(const sfsm_pipeline *p, size_t ev, size_t role)
{
    const event_def *e = event_at(p, ev);
    return e && role < p->role_count && (e->roles >> role & 1u);
}

size_t sfsm_pipeline_event_guard_count(const sfsm_pipeline *p, size_t ev)
{
    const event_def *e = event_at(p, ev);
    return e ? e->guard_count : 0;
}

const char *sfsm_pipeline_event_guard(const sfsm_pipeline *p, size_t ev, size_t j)
{
    const event_def *e = event_at(p, ev);
    return e && j < e->guard_count ? p->guards[e->guards[j]] : NULL;
}

const char *sfsm_pipeline_role_name(const sfsm_pipeline *p, size_t i)
{
    return p && i < p->role_count ? p->roles[i] : NULL;
}

static int lookup(const sfsm_pipeline *p, const char *what, const char *name, size_t *index,
                  const name_index *ix, char *const *names, size_t stride)
{
    if (!p || !name || !index)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_pipeline_%s_index: NULL argument", what);
    long i = sfsm__name_find(ix, names, stride, name);
    if (i < 0)
        return sfsm_error_set(SFSM_ENOTFOUND, "unknown %s '%.*s' in pipeline '%s'", what,
                              SFSM_MAX_NAME, name, p->name);
    *index = (size_t)i;
    return SFSM_OK;
}

int sfsm_pipeline_stage_index(const sfsm_pipeline *p, const char *name, size_t *index)
{
    return lookup(p, "stage", name, index, p ? &p->stage_ix : NULL,
                  p ? &p->stages[0].name : NULL, sizeof(stage_def));
}

int sfsm_pipeline_event_index(const sfsm_pipeline *p, const char *name, size_t *index)
{
    return lookup(p, "event", name, index, p ? &p->event_ix : NULL,
                  p ? &p->events[0].name : NULL, sizeof(event_def));
}

int sfsm_pipeline_role_index(const sfsm_pipeline *p, const char *name, size_t *index)
{
    return lookup(p, "role", name, index, p ? &p->role_ix : NULL, p ? p->roles : NULL, sizeof(char *));
}
