/* Three versions of a small "deals" pipeline, for the migration suites:
 * version 1 has a review stage, version 2 maps it to qualified, version 3
 * drops it without saying where it went. */
#ifndef SFSM_DEALS_VERSIONS_H
#define SFSM_DEALS_VERSIONS_H

#include <salesfsm/salesfsm.h>

extern const char *const DEALS_V1, *const DEALS_V2, *const DEALS_V3;

/* The rep who works the deals (every event allows role "rep"). */
extern const sfsm_actor SELLER;

/* The pipeline a JSON document describes; fails the test if it does not load. */
sfsm_pipeline *deals_load(const char *json);

#endif
