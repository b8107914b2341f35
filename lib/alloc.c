#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <salesfsm/common.h>

static sfsm_allocator g_alloc = { malloc, realloc, free };

int sfsm_set_allocator(const sfsm_allocator *a)
{
    if (!a || (!a->malloc_fn && !a->realloc_fn && !a->free_fn)) {
        g_alloc.malloc_fn = malloc;
        g_alloc.realloc_fn = realloc;
        g_alloc.free_fn = free;
        return SFSM_OK;
    }
    if (!a->malloc_fn || !a->realloc_fn || !a->free_fn)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_set_allocator: malloc_fn, realloc_fn and free_fn must all be set or all be NULL");
    g_alloc = *a;
    return SFSM_OK;
}

void *sfsm__malloc(size_t n)
{
    return g_alloc.malloc_fn(n ? n : 1);
}

void *sfsm__calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = sfsm__malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *sfsm__realloc(void *p, size_t n)
{
    return g_alloc.realloc_fn(p, n ? n : 1);
}

void sfsm__free(void *p)
{
    if (p)
        g_alloc.free_fn(p);
}

void sfsm_free(void *p)
{
    sfsm__free(p);
}

char *sfsm__strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = sfsm__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int sfsm__grow_slow(void **buf, size_t *cap, size_t need, size_t size)
{
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / size)
            return -1;
        ncap *= 2;
    }
    void *p = sfsm__realloc(*buf, ncap * size);
    if (!p)
        return -1;
    *buf = p;
    *cap = ncap;
    return 0;
}
