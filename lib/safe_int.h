/* The integer range the library accepts wherever a number may travel
 * through JSON: the export format, import, and what a store hands back. */
#ifndef SFSM_SAFE_INT_H
#define SFSM_SAFE_INT_H

#include <stdint.h>

/* Largest integer a JSON number read through a double holds exactly: above
 * it, 2^53 + 1 would silently become 2^53. */
#define SFSM_SAFE_INTEGER INT64_C(9007199254740991)

/* Highest version an opportunity (and a history entry) may have: one that
 * exports and imports again. */
#define SFSM_MAX_VERSION ((uint64_t)SFSM_SAFE_INTEGER)

#endif
