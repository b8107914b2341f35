/*
 * salesfsm/history.h — the audit trail of one opportunity, as read back.
 */
#ifndef SALESFSM_HISTORY_H
#define SALESFSM_HISTORY_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sfsm_history_kind {
    SFSM_HISTORY_CREATE     = 1, /* the opportunity was created */
    SFSM_HISTORY_TRANSITION = 2, /* an event moved it (with any field changes) */
    SFSM_HISTORY_UPDATE     = 3, /* sfsm_opp_save stored field changes */
    SFSM_HISTORY_MIGRATE    = 4  /* sfsm_engine_migrate moved it to a newer pipeline version */
} sfsm_history_kind;

/* Bits naming the fields that an entry changed (sfsm_history_entry.fields). */
#define SFSM_FIELD_AMOUNT         0x01u /* amount and currency */
#define SFSM_FIELD_CUSTOMER       0x02u
#define SFSM_FIELD_OWNER          0x04u
#define SFSM_FIELD_TITLE          0x08u
#define SFSM_FIELD_EXPECTED_CLOSE 0x10u
#define SFSM_FIELD_ATTRS          0x20u
#define SFSM_FIELD_ALL            0x3Fu

/*
 * One entry. Each entry makes the opportunity's version one higher, so
 * `version` is also the entry's sequence number: 1 for the create, then
 * 2, 3, … without gaps. Strings may be NULL where the comment says so.
 */
typedef struct sfsm_history_entry {
    uint64_t version;   /* the opportunity's version after this entry */
    int64_t at_ms;      /* engine clock, ms since the Unix epoch, UTC */
    int kind;           /* sfsm_history_kind */
    const char *event;  /* transition: the event; otherwise NULL */
    const char *from;   /* stage before; NULL for a create */
    const char *to;     /* stage after (equal to from for an update) */
    const char *actor;  /* who did it; NULL if the caller gave no actor */
    const char *role;   /* their role; NULL if no actor */
    const char *note;   /* free text (the lost reason for `lose`); may be NULL */
    uint32_t fields;    /* SFSM_FIELD_* bits of the fields this entry changed */
    const char *changes;/* the changed fields' new values as a JSON object,
                           e.g. {"amount":120000,"currency":"CNY"}; NULL if none */
} sfsm_history_entry;

/*
 * Receives history entries, oldest first. The entry and its strings are valid
 * only during the call. Return 0 to continue; any other value stops the read
 * and is returned by the function that called back.
 */
typedef int (*sfsm_history_cb)(const sfsm_history_entry *entry, void *ud);

#ifdef __cplusplus
}
#endif
#endif
