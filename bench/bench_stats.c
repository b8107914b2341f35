/* Median, minimum and maximum of a benchmark's timed runs. */
#include "bench_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

bench_stat bench_summarize(const double *v, size_t count)
{
    double *s = malloc(count * sizeof *s);
    if (!s) {
        fputs("bench: out of memory\n", stderr);
        exit(EXIT_FAILURE);
    }
    memcpy(s, v, count * sizeof *s);
    qsort(s, count, sizeof *s, cmp_double);
    bench_stat st = { count % 2 ? s[count / 2] : (s[count / 2 - 1] + s[count / 2]) / 2, s[0], s[count - 1] };
    free(s);
    return st;
}
