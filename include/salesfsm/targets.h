/*
 * salesfsm/targets.h — teams, sales targets and payments (销售目标分解,
 * 绩效考核, 销售回款): the data the reports measure opportunities against.
 * All of it is kept in the engine's store, through the storage interface.
 */
#ifndef SALESFSM_TARGETS_H
#define SALESFSM_TARGETS_H

#include "common.h"
#include "opp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- teams ---- */

/*
 * Puts owner (a name as stored in opportunities' owner field) into team;
 * team NULL takes the owner out of any team. An owner is in at most one team.
 * Errors: SFSM_EINVAL (bad names), SFSM_ENOTFOUND (removing an owner in no
 * team), SFSM_EBUSY, SFSM_ENOMEM, SFSM_ESTORAGE.
 */
SFSM_API int sfsm_team_set(sfsm_engine *e, const char *owner, const char *team);

/* Receives one (owner, team) membership; strings valid during the call.
 * Return non-zero to stop. */
typedef int (*sfsm_team_cb)(const char *owner, const char *team, void *ud);

/* Lists memberships, sorted by team then owner; team NULL: all teams.
 * SFSM_ESTORAGE also for a stored membership whose owner or team is empty,
 * too long or not UTF-8: the list stops before cb sees it. */
SFSM_API int sfsm_team_list(sfsm_engine *e, const char *team, sfsm_team_cb cb, void *ud);

/* ---- targets ---- */

typedef enum sfsm_period_kind {
    SFSM_PERIOD_YEAR    = 1,   /* index 1 */
    SFSM_PERIOD_QUARTER = 2,   /* index 1..4 */
    SFSM_PERIOD_MONTH   = 3,   /* index 1..12 */
    SFSM_PERIOD_WEEK    = 4    /* ISO 8601 week, index 1..52 or 53 */
} sfsm_period_kind;

/* A calendar period, in UTC. */
typedef struct sfsm_period {
    int year;                  /* 1970..9999 */
    sfsm_period_kind kind;
    int index;
} sfsm_period;

/* [*from_ms, *to_ms) of a period, UTC. SFSM_EINVAL for an invalid one. */
SFSM_API int sfsm_period_bounds(const sfsm_period *p, int64_t *from_ms, int64_t *to_ms);

/* Whom a target is for. */
typedef enum sfsm_subject_kind {
    SFSM_SUBJECT_OWNER = 1,
    SFSM_SUBJECT_TEAM  = 2
} sfsm_subject_kind;

typedef struct sfsm_target {
    sfsm_subject_kind subject_kind;
    const char *subject;       /* owner or team name */
    sfsm_period period;
    int64_t amount;            /* minor units, >= 0 (a target of zero is allowed) */
    const char *currency;      /* ISO 4217 */
} sfsm_target;

/*
 * Stores (or replaces) the target of a subject for a period and currency.
 * Errors: SFSM_EINVAL (the message names the field), SFSM_EBUSY,
 * SFSM_ENOMEM, SFSM_ESTORAGE.
 */
SFSM_API int sfsm_target_set(sfsm_engine *e, const sfsm_target *t);

/*
 * Splits an annual target into quarters, months or ISO weeks and stores the
 * annual target and every part, in one transaction. weights NULL splits
 * evenly; otherwise `count` weights (4, 12, or the year's number of ISO
 * weeks), none negative, not all zero. Parts are whole minor units and add
 * up exactly to the annual amount: each part is floor(amount * w / sum) and
 * the remainder goes, one unit each, to the earliest parts with a non-zero
 * weight (a part weighted 0 stays 0).
 * Errors: SFSM_EINVAL (wrong kind or weights), SFSM_EBUSY, SFSM_ENOMEM,
 * SFSM_ESTORAGE.
 */
SFSM_API int sfsm_target_split(sfsm_engine *e, const sfsm_target *annual, sfsm_period_kind into,
                               const uint32_t *weights, size_t count);

/* Receives one stored target; valid during the call. Non-zero stops. */
typedef int (*sfsm_target_cb)(const sfsm_target *t, void *ud);

/* Lists targets of a subject (NULL: all subjects; kind ignored then) in the
 * year (0: all years), sorted by subject, year, period kind and index.
 * SFSM_ESTORAGE also for a stored target that set would refuse (subject,
 * period, negative amount, currency): the list stops before cb sees it. */
SFSM_API int sfsm_target_list(sfsm_engine *e, sfsm_subject_kind kind, const char *subject, int year,
                              sfsm_target_cb cb, void *ud);

/* ---- payments ---- */

typedef struct sfsm_payment {
    const char *opp_id;
    uint64_t seq;              /* 1, 2, … per opportunity */
    int64_t amount;            /* minor units, > 0 */
    const char *currency;      /* the opportunity's currency */
    int64_t at_ms;
    const char *note;          /* may be NULL */
} sfsm_payment;

/*
 * Records a payment received against a won opportunity (one whose stage has
 * outcome won), stamped with the engine clock. The total collected may not
 * exceed the opportunity's amount.
 * Errors: SFSM_EINVAL (amount <= 0, currency not the opportunity's, more than
 * is outstanding, the opportunity not won, the engine clock outside
 * -(2^53-1)..2^53-1 ms as for sfsm_engine_now: the message says which),
 * SFSM_ENOTFOUND (no such opportunity), SFSM_EBUSY, SFSM_ENOMEM, SFSM_ESTORAGE
 * (also: the stored opportunity or one of its stored payments breaks a rule,
 * as for sfsm_opp_open and sfsm_payment_list, including a stored payment in
 * another currency or stored payments above the amount).
 * Once a deal has payments, sfsm_opp_save and sfsm_fire refuse to give it
 * another currency or an amount below what was collected (SFSM_EINVAL):
 * its payments would otherwise read as damage.
 */
SFSM_API int sfsm_payment_add(sfsm_engine *e, const char *opp_id, int64_t amount, const char *currency,
                              const char *note);

typedef int (*sfsm_payment_cb)(const sfsm_payment *p, void *ud);

/* Lists payments of one opportunity (NULL: all), by opportunity then seq.
 * SFSM_ESTORAGE also for a stored payment with an amount outside
 * 1..2^53-1, a currency that is not three letters A-Z, a time outside
 * +-(2^53-1), or text too long or not UTF-8: the list stops before cb sees
 * it, naming the opportunity and the payment's seq. Payments are read with
 * their opportunity's amount and currency (one get per opportunity listed):
 * each payment must be in that currency and the running sum no more than
 * the amount (else SFSM_ESTORAGE naming the opportunity; a payment of an
 * opportunity that does not exist too). An opportunity's payments are
 * read twice, checked all, then handed to cb checked again, so cb sees
 * none of a damaged opportunity's payments. It may have seen others when
 * the call fails: listing all (NULL), those of opportunities listed
 * before, and, if the store changes between the two reads, earlier
 * payments of the one that fails. What cb gathered from a failed call is
 * to be dropped; no number it summed from a successful one is wrong. */
SFSM_API int sfsm_payment_list(sfsm_engine *e, const char *opp_id, sfsm_payment_cb cb, void *ud);

#ifdef __cplusplus
}
#endif
#endif
