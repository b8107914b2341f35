/*
 * salesfsm.h — the umbrella header. Backend authors also include
 * <salesfsm/sys/store.h>, which this header deliberately leaves out.
 */
#ifndef SALESFSM_H
#define SALESFSM_H

#include "common.h"
#include "pipeline.h"
#include "history.h"
#include "opp.h"
#include "store.h"
#include "engine.h"
#include "export.h"
#include "targets.h"
#include "report.h"

#endif
