/* The built-in pipeline: DESIGN.md §1, as data. */
#include <salesfsm/pipeline.h>

#include "pipeline_impl.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const pdef_stage stages[] = {
    { "lead",        "Lead",        10, 14, SFSM_OUTCOME_OPEN, SFSM_FORECAST_PIPELINE,  0 },
    { "qualified",   "Qualified",   25, 14, SFSM_OUTCOME_OPEN, SFSM_FORECAST_PIPELINE,  0 },
    { "quoted",      "Quoted",      50, 10, SFSM_OUTCOME_OPEN, SFSM_FORECAST_BEST_CASE, 0 },
    { "negotiating", "Negotiating", 75, 21, SFSM_OUTCOME_OPEN, SFSM_FORECAST_COMMIT,    0 },
    { "signed",      "Signed",     100, 30, SFSM_OUTCOME_WON,  SFSM_FORECAST_CLOSED,    0 },
    { "delivered",   "Delivered",  100, 60, SFSM_OUTCOME_WON,  SFSM_FORECAST_CLOSED,    0 },
    { "serviced",    "Serviced",   100,  0, SFSM_OUTCOME_WON,  SFSM_FORECAST_CLOSED,    1 },
    { "lost",        "Lost",         0,  0, SFSM_OUTCOME_LOST, SFSM_FORECAST_OMITTED,   0 },
};

static const char *const roles[] = { "manager", "rep", "assistant", "support" };

static const char *const from_lead[] = { "lead" };
static const char *const from_qualified[] = { "qualified" };
static const char *const from_quoted[] = { "quoted" };
static const char *const from_negotiating[] = { "negotiating" };
static const char *const from_signed[] = { "signed" };
static const char *const from_delivered[] = { "delivered" };
static const char *const from_open[] = { "lead", "qualified", "quoted", "negotiating" };
static const char *const from_lost[] = { "lost" };

static const char *const sellers[] = { "rep", "manager" };
static const char *const deliverers[] = { "assistant", "rep", "manager" };
static const char *const servicers[] = { "support", "assistant", "manager" };
static const char *const managers[] = { "manager" };

static const char *const g_customer[] = { "has_customer" };
static const char *const g_amount[] = { "has_amount" };
static const char *const g_reason[] = { "has_reason" };

#define EV(name, from, to, roles, guards, nguards) \
    { name, from, COUNT(from), to, roles, COUNT(roles), guards, nguards }

static const pdef_event events[] = {
    EV("qualify",   from_lead,        "qualified",   sellers,     g_customer, 1),
    EV("quote",     from_qualified,   "quoted",      sellers,     g_amount,   1),
    EV("negotiate", from_quoted,      "negotiating", sellers,     NULL,       0),
    EV("requote",   from_negotiating, "quoted",      sellers,     g_amount,   1),
    EV("sign",      from_negotiating, "signed",      sellers,     g_amount,   1),
    EV("deliver",   from_signed,      "delivered",   deliverers,  NULL,       0),
    EV("service",   from_delivered,   "serviced",    servicers,   NULL,       0),
    EV("lose",      from_open,        "lost",        sellers,     g_reason,   1),
    EV("reopen",    from_lost,        "lead",        managers,    NULL,       0),
};

static const pdef default_pipeline = {
    "default", 1, "lead",
    stages, COUNT(stages),
    roles, COUNT(roles),
    events, COUNT(events),
    NULL, 0,
};

int sfsm_pipeline_default(sfsm_pipeline **out)
{
    if (!out)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_pipeline_default: out is NULL");
    return sfsm__pipeline_build(&default_pipeline, out);
}
