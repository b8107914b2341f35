/* Median, minimum and maximum of a benchmark's timed runs. */
#ifndef SFSM_BENCH_STATS_H
#define SFSM_BENCH_STATS_H

#include <stddef.h>

typedef struct bench_stat {
    double median, min, max;
} bench_stat;

/* Of v[0..count) (count >= 1; v is not changed). The median of an even
 * count is the mean of the two middle values. Exits on out of memory. */
bench_stat bench_summarize(const double *v, size_t count);

#endif
