/* A set of ids for the duplicate checks of import and export (id_set.h). */
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "id_set.h"
#include "text.h"

int sfsm__id_set_init(sfsm__id_set *t, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)   /* at most half full: short probes */
        cap *= 2;
    t->mask = cap - 1;
    t->slots = sfsm__calloc(cap, sizeof *t->slots);
    t->ids = sfsm__calloc(n ? n : 1, sizeof *t->ids);
    if (!t->slots || !t->ids) {
        sfsm__id_set_free(t);
        return -1;
    }
    return 0;
}

size_t sfsm__id_set_add(sfsm__id_set *t, const char *id, size_t i)
{
    size_t h = sfsm__hash(id, strlen(id)) & t->mask;
    for (;; h = (h + 1) & t->mask) {
        size_t slot = t->slots[h];
        if (!slot)
            break;
        if (strcmp(t->ids[slot - 1], id) == 0)
            return slot - 1;
    }
    t->slots[h] = i + 1;
    t->ids[i] = id;
    return SIZE_MAX;
}

void sfsm__id_set_free(sfsm__id_set *t)
{
    sfsm__free(t->slots);
    sfsm__free(t->ids);
    t->slots = NULL;
    t->ids = NULL;
}
