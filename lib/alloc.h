/* Every allocation goes through here so that sfsm_set_allocator can replace
 * it and tests can make any allocation fail. */
#ifndef SFSM_ALLOC_H
#define SFSM_ALLOC_H

#include <stddef.h>

void *sfsm__malloc(size_t n);
void *sfsm__calloc(size_t count, size_t size);   /* overflow-checked, zeroed */
void *sfsm__realloc(void *p, size_t n);
void sfsm__free(void *p);
/* NULL in, NULL out (not a failure); otherwise NULL means out of memory. */
char *sfsm__strdup(const char *s);

/* Grows *buf (of *cap elements of `size`) to hold at least `need`.
 * Returns 0, or -1 on overflow/out of memory leaving *buf untouched. */
int sfsm__grow_slow(void **buf, size_t *cap, size_t need, size_t size);
static inline int sfsm__grow(void **buf, size_t *cap, size_t need, size_t size)
{
    return need <= *cap ? 0 : sfsm__grow_slow(buf, cap, need, size);
}

#endif
