/* The opportunity handle: its stored state plus unsaved field changes. */
#ifndef SFSM_OPP_IMPL_H
#define SFSM_OPP_IMPL_H

#include <stdint.h>

#include <salesfsm/opp.h>
#include <salesfsm/sys/store.h>

typedef struct opp_attr {
    char *key;
    char *value;
} opp_attr;

struct sfsm_opp {
    const sfsm_pipeline *pipeline;
    char *id;
    uint32_t stage;
    uint64_t version;
    int64_t amount;
    char currency[4];       /* "" when no amount is set */
    char *customer, *owner, *title;
    int64_t expected_close, created, updated, entered;
    opp_attr *attrs;        /* sorted by key */
    size_t attr_count, attr_cap;
    uint32_t unsaved;       /* SFSM_FIELD_* bits changed since load/commit */
    int busy;               /* its transition's guards and hooks are running */
};

/* A record view of the handle for a write; strings point into the handle.
 * `attrs` must have room for o->attr_count entries. */
void sfsm__opp_to_record(const sfsm_opp *o, sfsm_record *rec, sfsm_attr *attrs);

/* A new handle holding a copy of rec. SFSM_EINVAL if rec names another
 * pipeline; SFSM_ESTORAGE if rec breaks a rule of sfsm__record_check (its
 * stage not in p among them). */
int sfsm__opp_from_record(const sfsm_pipeline *p, const sfsm_record *rec, sfsm_opp **out);

/* SFSM_EINVAL if o is at SFSM_MAX_VERSION: another write would give it a
 * version that wraps in a signed column or does not survive export. */
int sfsm__check_next_version(const sfsm_opp *o, const char *fn);

/* The JSON object of the new values of the fields in `fields`; NULL if
 * fields is 0. *oom is set when allocation failed. */
char *sfsm__opp_changes_json(const sfsm_opp *o, uint32_t fields, int *oom);

#endif
