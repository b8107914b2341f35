#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */

#include "bench_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <salesfsm/salesfsm.h>

double bench_now_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        fprintf(stderr, "bench: clock_gettime: %s\n", strerror(errno));
        exit(1);
    }
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_die(const char *prog, const char *what, int rc)
{
    fprintf(stderr, "%s: %s: %s: %s\n", prog, what, sfsm_strerror(rc), sfsm_errmsg());
    exit(1);
}
