/* The pipeline's internal layout, shared by the builder, the engine and the
 * accessors. Everything is indexed by small integers; names are looked up
 * once, through name_index, never on the transition path. */
#ifndef SFSM_PIPELINE_IMPL_H
#define SFSM_PIPELINE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <salesfsm/pipeline.h>

#define SFSM_MAX_ROLES 32    /* role sets are 32-bit masks */
#define SFSM_MAX_STAGES 256
#define SFSM_MAX_EVENTS 256
#define SFSM_MAX_GUARDS_PER_EVENT 16

/* Open-addressing map from name to index; slots hold index + 1 (0 = empty). */
typedef struct name_index {
    uint32_t *slots;
    uint32_t mask;
} name_index;

typedef struct stage_def {
    char *name;
    char *label;
    int probability;
    int stale_days;
    sfsm_outcome outcome;
    sfsm_forecast forecast;
    int final;
} stage_def;

typedef struct migration_def {
    uint32_t from_version;
    char *from;              /* stage name under that version */
    uint32_t to;             /* stage index in this pipeline */
} migration_def;

typedef struct event_def {
    char *name;
    uint32_t to;
    uint32_t roles;          /* bit r set: role r may fire it */
    uint32_t *guards;        /* indexes into the pipeline's guard names */
    size_t guard_count;
} event_def;

struct sfsm_pipeline {
    char *name;
    uint32_t version;
    uint64_t fingerprint;    /* of name, version, stages and migrations */
    uint32_t initial;
    stage_def *stages;
    size_t stage_count;
    event_def *events;
    size_t event_count;
    char **roles;
    size_t role_count;
    char **guards;           /* distinct guard names used by events */
    size_t guard_count;
    int32_t *next;           /* [stage * event_count + event]: target stage or -1 */
    migration_def *migrations;
    size_t migration_count;
    name_index stage_ix, event_ix, role_ix, guard_ix;
};

/* Index of `name` among names[0..n) through ix, or -1. */
long sfsm__name_find(const name_index *ix, char *const *names, size_t stride, const char *name);

/* A pipeline definition as plain data (what the default table and the JSON
 * loader produce); sfsm__pipeline_build validates and interns it. */
typedef struct pdef_stage {
    const char *name;
    const char *label;
    int probability;
    int stale_days;
    sfsm_outcome outcome;
    int forecast;            /* sfsm_forecast, or -1: derived from the outcome */
    int final;               /* 1/0 as declared, or -1: not declared */
} pdef_stage;

typedef struct pdef_migration {
    uint32_t from_version;
    const char *from;
    const char *to;
} pdef_migration;

typedef struct pdef_event {
    const char *name;
    const char *const *from;
    size_t from_count;
    const char *to;
    const char *const *roles;
    size_t role_count;
    const char *const *guards;
    size_t guard_count;
} pdef_event;

typedef struct pdef {
    const char *name;
    uint32_t version;
    const char *initial;
    const pdef_stage *stages;
    size_t stage_count;
    const char *const *roles;
    size_t role_count;
    const pdef_event *events;
    size_t event_count;
    const pdef_migration *migrations;
    size_t migration_count;
} pdef;

/* Validates def and builds a pipeline. Errors name the faulty member by
 * path ("events[3].to: unknown stage 'quoteed'"): SFSM_EINVAL, SFSM_ENOMEM. */
int sfsm__pipeline_build(const pdef *def, sfsm_pipeline **out);

#endif
