/* The ids of a document (import) or an export, for duplicates: each id
 * must appear once. Open addressing sized once for n ids; the set keeps
 * pointers, so the ids must outlive it. */
#ifndef SFSM_ID_SET_H
#define SFSM_ID_SET_H

#include <stddef.h>

typedef struct sfsm__id_set {
    size_t *slots;       /* index + 1; 0 empty */
    size_t mask;
    const char **ids;    /* by index */
} sfsm__id_set;

/* Room for n ids. 0, or -1 out of memory (the set is then empty: free it). */
int sfsm__id_set_init(sfsm__id_set *t, size_t n);
/* Adds id as index i (< n, each i once). SIZE_MAX when added; when id is
 * there already, the index it has (nothing added). */
size_t sfsm__id_set_add(sfsm__id_set *t, const char *id, size_t i);
void sfsm__id_set_free(sfsm__id_set *t);

#endif
