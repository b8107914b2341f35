/* What every benchmark needs around its timed calls: a monotonic clock and
 * a way out when a library call fails. */
#ifndef SFSM_BENCH_UTIL_H
#define SFSM_BENCH_UTIL_H

#include <salesfsm/common.h>

/* Seconds on the monotonic clock; exits if there is none. */
double bench_now_s(void);

/* Prints "prog: what: <error>: <sfsm_errmsg()>" and exits with status 1. */
void bench_die(const char *prog, const char *what, int rc);

/* Runs a salesfsm call and dies naming what it was doing if it fails. */
#define BENCH_CHECK(prog, what, call)          \
    do {                                       \
        int rc_ = (call);                      \
        if (rc_ != SFSM_OK)                    \
            bench_die((prog), (what), rc_);    \
    } while (0)

#endif
