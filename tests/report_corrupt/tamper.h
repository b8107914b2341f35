/* A store whose reads can be corrupted: the built-in memory or SQLite
 * backend (SFSM_TEST_STORE=sqlite) wrapped so that what it hands back
 * (records, history entries, payments) can be altered on the way, as a
 * corrupt file or a buggy custom backend would hand it back. Data is written
 * through the engine as usual; a plant then changes one field of one
 * record or entry whenever it is read. */
#ifndef SFSM_TAMPER_H
#define SFSM_TAMPER_H

#include <stdint.h>

#include <salesfsm/salesfsm.h>

enum tamper_field {
    T_NONE,
    /* a record */
    T_CREATED, T_ENTERED, T_AMOUNT, T_VERSION, T_STAGE, T_CURRENCY, T_OWNER, T_CUSTOMER, T_TITLE, T_ID,
    T_PIPELINE_VERSION,
    /* a history entry (T_H_DROP: it is not handed back) */
    T_H_AT, T_H_VERSION, T_H_KIND, T_H_TO, T_H_CHANGES, T_H_FIELDS, T_H_FROM, T_H_DROP,
    /* a payment */
    T_P_AMOUNT, T_P_CURRENCY, T_P_AT,
};

typedef struct tamper_plant {
    enum tamper_field field;
    const char *id;     /* the opportunity */
    uint64_t version;   /* history entries: which one; payments: which seq
                           (0: every one) */
    int64_t i;          /* the new value, integer fields */
    const char *s;      /* the new value, text fields */
} tamper_plant;

/* Up to 8 plants at once; tamper_clear removes them all. */
void tamper_add(const tamper_plant *p);
void tamper_clear(void);

/* 0: the wrapped store has no history_scan (reports then read scan +
 * read_history per opportunity). Read at tamper_open. */
extern int tamper_history_scan;

/* Opens the wrapped store (memory, or a fresh SQLite file when
 * SFSM_TEST_STORE=sqlite); tamper_close closes it and removes the file. */
sfsm_store *tamper_open(void);
void tamper_close(sfsm_store *s);

#endif
