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

/* How an open or closed stage counts in a forecast (DESIGN.md; issue 5). */
typedef enum sfsm_forecast {
    SFSM_FORECAST_PIPELINE  = 0,
    SFSM_FORECAST_BEST_CASE = 1,
    SFSM_FORECAST_COMMIT    = 2,
    SFSM_FORECAST_CLOSED    = 3,
    SFSM_FORECAST_OMITTED   = 4
} sfsm_forecast;

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
SFSM_API sfsm_forecast sfsm_pipeline_stage_forecast(const sfsm_pipeline *p, size_t i);
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

/*
 * Builds a pipeline from its JSON definition (docs/pipeline-format.md): name,
 * version, initial stage, stages, roles, events and optional stage
 * migrations from earlier versions. json need not be NUL-terminated; len
 * bytes are read. On success *out owns the new pipeline; on failure *out is
 * NULL and sfsm_errmsg() names the JSON path of the fault
 * ("events[3].to: unknown stage 'quoteed'").
 * Errors: SFSM_EINVAL (NULL argument; a definition that does not hold
 * together: duplicate or unknown names, probabilities outside 0..100,
 * unreachable stages, open stages with no way out, no way to a won stage,
 * oversize names or tables), SFSM_EPARSE (not JSON, or a member of the
 * wrong type or missing), SFSM_EVERSION (unknown format), SFSM_ENOMEM.
 * Guard names are not checked here: an engine binds them, and firing an
 * event whose guard nobody registered fails with SFSM_ENOTFOUND.
 */
SFSM_API int sfsm_pipeline_from_json(sfsm_pipeline **out, const char *json, size_t len);

/*
 * The pipeline's definition as JSON that sfsm_pipeline_from_json reads back
 * into an identical pipeline. On success *out is a NUL-terminated string to
 * free with sfsm_free, and *len (may be NULL) its length.
 * Errors: SFSM_EINVAL, SFSM_ENOMEM.
 */
SFSM_API int sfsm_pipeline_to_json(const sfsm_pipeline *p, char **out, size_t *len);

/*
 * Pictures of the pipeline: Graphviz DOT (render with `dot -Tsvg`) and a
 * Mermaid flowchart. Stages are nodes showing label and win probability, won
 * and lost outcomes styled apart; events are edges labelled with the event
 * name and the roles that may fire it. On success *out is a NUL-terminated
 * string to free with sfsm_free, *len (may be NULL) its length.
 * Errors: SFSM_EINVAL, SFSM_ENOMEM.
 */
SFSM_API int sfsm_pipeline_to_dot(const sfsm_pipeline *p, char **out, size_t *len);
SFSM_API int sfsm_pipeline_to_mermaid(const sfsm_pipeline *p, char **out, size_t *len);

/*
 * Stage migrations the pipeline declares for opportunities stored under an
 * earlier version of it: where an opportunity at stage `from` under version
 * `from_version` goes. Looks up one; *to is NULL when the pipeline declares
 * nothing for that stage (the stage then must exist as it is).
 * Errors: SFSM_EINVAL.
 */
SFSM_API int sfsm_pipeline_migration(const sfsm_pipeline *p, uint32_t from_version, const char *from,
                                     const char **to);

#ifdef __cplusplus
}
#endif
#endif
