/*
 * salesfsm/pipeline.h — the sales process as an immutable transition table.
 *
 * A pipeline is validated when it is built and never changes afterwards, so
 * one pipeline may be shared by any number of engines and threads. Stage,
 * event and role names are interned to small integers when it is built.
 */
#ifndef SALESFSM_PIPELINE_H
#define SALESFSM_PIPELINE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a stage counts in reports. */
typedef enum sfsm_outcome {
    SFSM_OUTCOME_OPEN = 0,
    SFSM_OUTCOME_WON  = 1,
    SFSM_OUTCOME_LOST = 2
} sfsm_outcome;

/*
 * The built-in default pipeline (lead → qualified → quoted → negotiating →
 * signed → delivered → serviced, lost and reopen; DESIGN.md §1).
 * On success *out owns a new pipeline: free it with sfsm_pipeline_free after
 * every engine and opportunity handle that uses it is gone. On failure *out is
 * NULL. Errors: SFSM_EINVAL (out is NULL), SFSM_ENOMEM.
 */
SFSM_API int sfsm_pipeline_default(sfsm_pipeline **out);

/* Frees a pipeline. Accepts NULL. */
SFSM_API void sfsm_pipeline_free(sfsm_pipeline *p);

/* The pipeline's name and version ("default", 1). Valid while p lives. */
SFSM_API const char *sfsm_pipeline_name(const sfsm_pipeline *p);
SFSM_API uint32_t sfsm_pipeline_version(const sfsm_pipeline *p);

/*
 * Stages in table order. Functions taking an index return 0, NULL or
 * SFSM_OUTCOME_OPEN for a NULL pipeline or an index out of range. Returned
 * strings belong to the pipeline and live as long as it does.
 */
SFSM_API size_t sfsm_pipeline_stage_count(const sfsm_pipeline *p);
SFSM_API const char *sfsm_pipeline_stage_name(const sfsm_pipeline *p, size_t i);
SFSM_API const char *sfsm_pipeline_stage_label(const sfsm_pipeline *p, size_t i);
/* Win probability in percent, 0..100. */
SFSM_API int sfsm_pipeline_stage_probability(const sfsm_pipeline *p, size_t i);
/* Days in the stage after which an opportunity is stale; 0 = never stale. */
SFSM_API int sfsm_pipeline_stage_stale_days(const sfsm_pipeline *p, size_t i);
SFSM_API sfsm_outcome sfsm_pipeline_stage_outcome(const sfsm_pipeline *p, size_t i);
/* Non-zero if no event leads out of the stage. */
SFSM_API int sfsm_pipeline_stage_is_final(const sfsm_pipeline *p, size_t i);
/* Index of the stage where new opportunities start. */
SFSM_API size_t sfsm_pipeline_initial_stage(const sfsm_pipeline *p);

/*
 * Looks a stage, event or role up by name and writes its index to *index.
 * Errors: SFSM_EINVAL (NULL argument), SFSM_ENOTFOUND (no such name; the
 * message names it).
 */
SFSM_API int sfsm_pipeline_stage_index(const sfsm_pipeline *p, const char *name, size_t *index);
SFSM_API int sfsm_pipeline_event_index(const sfsm_pipeline *p, const char *name, size_t *index);
SFSM_API int sfsm_pipeline_role_index(const sfsm_pipeline *p, const char *name, size_t *index);

/* Events in table order; same conventions as the stage accessors. */
SFSM_API size_t sfsm_pipeline_event_count(const sfsm_pipeline *p);
SFSM_API const char *sfsm_pipeline_event_name(const sfsm_pipeline *p, size_t i);
/* Index of the stage the event leads to ((size_t)-1 if i is out of range). */
SFSM_API size_t sfsm_pipeline_event_target(const sfsm_pipeline *p, size_t i);
/* Non-zero if event `ev` may be fired from stage `stage`. */
SFSM_API int sfsm_pipeline_event_allowed_from(const sfsm_pipeline *p, size_t ev, size_t stage);
/* Non-zero if role `role` may fire event `ev`. */
SFSM_API int sfsm_pipeline_event_allows_role(const sfsm_pipeline *p, size_t ev, size_t role);
/* Guards of an event, in the order they run. */
SFSM_API size_t sfsm_pipeline_event_guard_count(const sfsm_pipeline *p, size_t ev);
SFSM_API const char *sfsm_pipeline_event_guard(const sfsm_pipeline *p, size_t ev, size_t j);

SFSM_API size_t sfsm_pipeline_role_count(const sfsm_pipeline *p);
SFSM_API const char *sfsm_pipeline_role_name(const sfsm_pipeline *p, size_t i);

#ifdef __cplusplus
}
#endif
#endif
