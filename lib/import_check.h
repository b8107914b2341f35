/* The JSON import's rules for one opportunity object (docs/json-format.md),
 * shared by the import, which checks and then writes, and the export, which
 * checks each opportunity it has formatted so that it never hands out a
 * document the import refuses. One rule set, so the two cannot drift. */
#ifndef SFSM_IMPORT_CHECK_H
#define SFSM_IMPORT_CHECK_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include <salesfsm/pipeline.h>
#include <salesfsm/sys/store.h>

typedef struct sfsm__importer {
    const sfsm_pipeline *p;    /* the engine's: names, pipeline and version are checked against it */
    sfsm_store *s;             /* written to when `write` is set */
    int write;                 /* 0: check only; 1: check and write (inside the caller's transaction) */
    /* ids seen so far, for duplicates (open addressing, slot = index + 1);
     * slots NULL: not checked. The ids must outlive the importer. */
    size_t *slots;
    size_t mask;
    const char **ids;
    /* scratch for one record */
    sfsm_attr *attrs;
    size_t attrs_cap;
    sfsm_attr *change_attrs;   /* scratch for the attrs of one changes object */
    size_t change_attrs_cap;
} sfsm__importer;

/* Readies the duplicate check for n opportunities. SFSM_ENOMEM or SFSM_OK. */
int sfsm__import_ids_init(sfsm__importer *im, size_t n);

/* Records id as opportunities[i].id; SFSM_EINVAL naming both paths if it
 * was seen before. id must stay valid while the importer lives. */
int sfsm__import_id_unique(sfsm__importer *im, const char *id, size_t i);

/* Checks the opportunity object v, opportunities[i] of a document, and
 * writes it when im->write. Failures are set with the JSON path of the
 * fault: SFSM_EPARSE (shape), SFSM_EINVAL (values, names, history),
 * SFSM_ENOMEM; when writing also what the store returns. With im->slots
 * set and not writing, its id is also checked for duplicates (and must then
 * outlive the importer). */
int sfsm__import_opp(sfsm__importer *im, const cJSON *v, size_t i);

/* Frees the importer's tables and scratch (not the importer). */
void sfsm__importer_free(sfsm__importer *im);

#endif
