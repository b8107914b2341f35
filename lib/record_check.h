/* Checks on what a store hands back. A backend is outside the library's
 * control (a corrupt file, another program writing the tables, a buggy
 * custom backend), so before a record, history entry, payment, team
 * membership or target reaches a caller it must pass the rules the library
 * enforces on input (the JSON import's, docs/json-format.md). A breach is
 * SFSM_ESTORAGE with a message naming the opportunity (printably), the field
 * and what is wrong:
 *   "stored opportunity 'o-17': version: 0 is outside 1..9007199254740991".
 * None of these allocate. */
#ifndef SFSM_RECORD_CHECK_H
#define SFSM_RECORD_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <salesfsm/pipeline.h>
#include <salesfsm/sys/store.h>

#include "safe_int.h"

/* Room for a label: 64 source bytes, each escaped as \xNN at worst, "...". */
#define SFSM_LABEL_SIZE 272

/* A printable form of untrusted text for messages: at most 64 bytes of s,
 * cut at a character boundary ("..." marks the cut), control characters and
 * bytes that are not UTF-8 written as \xNN; "(null)" for NULL. Returns out. */
const char *sfsm__label(char out[SFSM_LABEL_SIZE], const char *s);

/*
 * An opportunity record: id non-empty, <= SFSM_MAX_ID bytes, UTF-8; stage a
 * stage of p (with p NULL: a well-formed name); version 1..SFSM_MAX_VERSION;
 * amount 0..2^53-1; currency NULL or three letters A-Z, required when amount
 * is not 0; customer/owner/title NULL or non-empty, <= SFSM_MAX_TEXT, UTF-8;
 * expected_close 0..2^53-1; created/updated/stage_entered within
 * +-(2^53-1); pipeline NULL or a well-formed name; at most SFSM_MAX_ATTRS
 * attributes, keys well-formed names in strictly increasing order (so
 * unique), values UTF-8 <= SFSM_MAX_TEXT. SFSM_OK or SFSM_ESTORAGE.
 */
int sfsm__record_check(const sfsm_pipeline *p, const sfsm_record *r);
/* Only the amount and currency rules above: for a reader that uses no
 * other field of the record (sfsm_payment_list). */
int sfsm__record_check_amount(const sfsm_record *r);
/* As above, also giving the index of the stage in p (p must not be NULL). */
int sfsm__record_check_stage(const sfsm_pipeline *p, const sfsm_record *r, size_t *stage);

/*
 * The history of one opportunity, entry by entry, oldest first:
 *   sfsm__history_check c;
 *   sfsm__history_check_init(&c, id);
 *   for each entry: if ((rc = sfsm__history_check_entry(&c, h))) stop;
 * Rules (the import's): versions 1, 2, 3, ... without gaps; kind known,
 * 'create' first and only first; at_ms within +-(2^53-1); event set exactly
 * for a transition; from NULL exactly for the create and otherwise equal to
 * the previous entry's to; an update stays where it is; a transition has
 * an actor; actor and role both set or both NULL; names well formed, note
 * UTF-8 <= SFSM_MAX_TEXT; fields only SFSM_FIELD_ALL bits; changes NULL
 * exactly when fields is 0, else a JSON object of exactly the named fields'
 * new values, each within the limits of its field.
 *
 * Stage, event and role names need not be known to the engine's pipeline:
 * entries written before a migration carry an earlier version's names (the
 * import, too, only asks them to be well formed), and a streaming read
 * cannot know whether a migrate entry is still to come. Who maps a name to
 * the pipeline does that check itself.
 */
typedef struct sfsm__history_check {
    const char *id;
    uint64_t next;                       /* version the next entry must have */
    char prev_to[SFSM_MAX_NAME + 1];     /* where the previous entry ended */
} sfsm__history_check;

void sfsm__history_check_init(sfsm__history_check *c, const char *id);
int sfsm__history_check_entry(sfsm__history_check *c, const sfsm_history_entry *h);

/* Parts of the above for readers that keep the chain themselves (the report
 * loader compares interned stages instead of names): the entry's place in
 * the sequence (version `expect`, its time, a known kind, 'create' first and
 * only first), and an entry's changes text against its fields bits. */
int sfsm__history_check_order(const char *id, uint64_t expect, const sfsm_history_entry *h);
int sfsm__changes_check(const char *id, uint64_t version, uint32_t fields, const char *changes);

/* The members of a changes text, indexes into sfsm__changes.seen. */
enum { SFSM__CH_AMOUNT, SFSM__CH_CURRENCY, SFSM__CH_CUSTOMER, SFSM__CH_OWNER, SFSM__CH_TITLE, SFSM__CH_CLOSE,
       SFSM__CH_ATTRS };

/* A string member as it stands in the text: at its opening quote (NULL for
 * null), its decoded length in bytes, whether it has escapes (if not, the
 * len bytes after the quote are the text). */
typedef struct sfsm__changes_str {
    const char *at;
    size_t len;
    int escaped;
} sfsm__changes_str;

/* What a changes text holds, for readers that need the values (the report
 * loader): one pass checks and decodes. */
typedef struct sfsm__changes {
    unsigned seen;                       /* 1u << SFSM__CH_* of the members present */
    int64_t amount, expected_close;
    sfsm__changes_str currency, customer, owner, title;
} sfsm__changes;

/* sfsm__changes_check, also filling *out (when the text passes). */
int sfsm__changes_read(const char *id, uint64_t version, uint32_t fields, const char *changes, sfsm__changes *out);

/* The last fault the record and history checks above found on this thread,
 * as data, for callers that name it their own way (the export, as a JSON
 * path): set with each SFSM_ESTORAGE they return, read before the next
 * error replaces the message. */
enum {
    SFSM__FAULT_SAYS,       /* why: what is wrong ("'x', but ...") */
    SFSM__FAULT_IS,         /* why: a predicate of the member ("is not valid UTF-8 (byte 2)") */
    SFSM__FAULT_KIND,       /* value: a kind that is none */
    SFSM__FAULT_BITS,       /* value: fields bits, some of no field */
    SFSM__FAULT_NO_KEY,     /* value: index of an attribute without a key */
    SFSM__FAULT_NO_VALUE,   /* value: index of an attribute without a value */
};
typedef struct sfsm__fault {
    uint64_t version;       /* the history entry's, 0: the record's */
    char member[40];        /* as a document names it: "note", "changes.amount"; "": the entry */
    int code;               /* SFSM__FAULT_* */
    long long value;
    size_t why_at;          /* where in sfsm_errmsg() what is wrong starts (after "<member>: ") */
} sfsm__fault;

const sfsm__fault *sfsm__check_fault(void);

/* Rows of targets.h: payment (opp_id well formed, seq >= 1, amount
 * 1..2^53-1, currency three letters, at_ms within +-(2^53-1) like every
 * stored time, note UTF-8 <= SFSM_MAX_TEXT), team
 * membership (owner <= SFSM_MAX_TEXT, team <= SFSM_MAX_NAME, both
 * non-empty UTF-8), target (subject kind and name, period, amount >= 0
 * up to INT64_MAX as sfsm_target_set allows and targets.h documents,
 * currency). SFSM_OK or SFSM_ESTORAGE. */
int sfsm__payment_check(const sfsm_payment *p);
/* A payment (passed sfsm__payment_check) against its opportunity, whose
 * checked record has `currency`: the same currency, and all its payments
 * together (sum) no more than the record's amount, as sfsm_payment_add
 * allows. SFSM_OK or SFSM_ESTORAGE naming the opportunity (and the seq). */
int sfsm__payment_check_currency(const sfsm_payment *p, const char *currency);
int sfsm__payments_check_sum(const char *id, int64_t sum, int64_t amount, const char *currency);
int sfsm__team_check(const char *owner, const char *team);
int sfsm__target_check(const sfsm_target *t);   /* in targets.c: sfsm_target_set's own check */

#endif
