/*
 * salesfsm/sys/store.h — writing a storage backend.
 *
 * For authors of backends (an ERP's own tables, another database); not
 * included by salesfsm.h. A backend is a table of functions plus a pointer
 * to its own state, handed to sfsm_store_new. Like SQLite's VFS, the table
 * starts with a version and only ever grows at the end: members of a newer
 * version are called only when the backend's version says they exist.
 *
 * Calling conventions, for every member:
 * - Return SFSM_OK or a negative SFSM_E* code; use sfsm_error_set() to say
 *   why (it returns the code). A failure must change nothing.
 * - The store serializes calls: a backend is never called from two threads
 *   at once, and never re-entered from its own callbacks. It may be called
 *   from different threads over time, so keep no thread-local state.
 * - Strings handed in are valid only for the call; copy what you keep.
 *   Strings handed back (in records and history entries) must stay valid
 *   until the backend's next call; the engine copies what it keeps.
 * - Absent (unset) strings are NULL, never "". They must come back NULL;
 *   an empty string (an attribute value may be one) comes back "".
 * - Versions stay at or below INT64_MAX, so a signed 64-bit column holds them.
 *   The engine itself writes none above 2^53 - 1.
 * - What a backend hands back is checked before a caller sees it: a record,
 *   history entry, payment, team membership or target that breaks a rule
 *   the library enforces on input (the JSON import's: lengths, UTF-8,
 *   ranges, a stage of the pipeline, history versions 1..n in order,
 *   changes a JSON object matching fields; docs/storage-backends.md 1.2)
 *   ends the call with SFSM_ESTORAGE naming the opportunity, the field and
 *   the fault. Hand back only what was stored, as it was stored.
 */
#ifndef SALESFSM_SYS_STORE_H
#define SALESFSM_SYS_STORE_H

#include "../common.h"
#include "../history.h"
#include "../opp.h"
#include "../targets.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sfsm_attr {
    const char *key;
    const char *value;
} sfsm_attr;

/* An opportunity as stored. */
typedef struct sfsm_record {
    const char *id;
    const char *stage;            /* stage name */
    uint64_t version;             /* 1 at creation, +1 per history entry; <= 2^53-1 */
    int64_t amount;               /* minor units, 0..2^53-1 */
    const char *currency;         /* ISO 4217 or NULL */
    const char *customer;         /* NULL: unset */
    const char *owner;            /* NULL: unset */
    const char *title;            /* NULL: unset */
    int64_t expected_close_ms;    /* 0: unset */
    int64_t created_ms;
    int64_t updated_ms;
    int64_t stage_entered_ms;
    const sfsm_attr *attrs;       /* sorted by key, unique keys */
    size_t attr_count;
    const char *pipeline;         /* name of the pipeline it lives under */
    uint32_t pipeline_version;
} sfsm_record;

/* Receives one record of a scan; return non-zero to stop the scan. */
typedef int (*sfsm_record_cb)(const sfsm_record *rec, void *ud);

/* Receives how many opportunities sit at `stage` under pipeline `pipeline`
 * (may be NULL) version `pipeline_version`; return non-zero to stop. */
typedef int (*sfsm_stage_count_cb)(const char *pipeline, uint32_t pipeline_version, const char *stage,
                                   uint64_t count, void *ud);

/* Receives one history entry of opportunity `id` in a whole-store history
 * scan; return non-zero to stop. */
typedef int (*sfsm_history_scan_cb)(const char *id, const sfsm_history_entry *entry, void *ud);

#define SFSM_STORE_OPS_VERSION 3

typedef struct sfsm_store_ops {
    unsigned int version;   /* SFSM_STORE_OPS_VERSION the backend was written for */

    /* ---- version 1 ---- */

    /* May provide: release the backend's state at sfsm_store_close. */
    void (*close)(void *backend);

    /*
     * Must provide: transactions. begin inside an open transaction starts a
     * nested one (a savepoint): its commit folds it into the outer one, its
     * rollback undoes only what was done since that begin. Only the outermost
     * commit makes changes durable. A failed commit leaves nothing changed:
     * the backend rolls that level back itself, and the level counts as
     * closed either way (no rollback call follows). rollback also always
     * closes its level; its error, if any, is only reported.
     */
    int (*begin)(void *backend);
    int (*commit)(void *backend);
    int (*rollback)(void *backend);

    /* Must provide: load opportunity `id` into *out; SFSM_ENOTFOUND if absent. */
    int (*get)(void *backend, const char *id, sfsm_record *out);

    /*
     * Must provide: conditional write. expected_version 0 inserts every field
     * (an existing id is SFSM_EEXISTS; `changed` is then SFSM_FIELD_ALL);
     * otherwise update only if the stored version equals expected_version
     * (SFSM_ECONFLICT if not, SFSM_ENOTFOUND if absent). Store rec->version
     * as given. `changed` holds the SFSM_FIELD_* bits of the fields that
     * differ from what is stored; the backend may skip writing the others.
     * stage, version, created/updated/stage-entered times and the pipeline
     * are always written. May be called outside a transaction: a put is
     * atomic by itself.
     */
    int (*put)(void *backend, const sfsm_record *rec, uint64_t expected_version, uint32_t changed);

    /*
     * Must provide: append one history entry of opportunity `id` (the engine
     * appends only for an existing id; a backend may check and return
     * SFSM_ENOTFOUND). entry->version is its sequence number, unique per
     * opportunity (a taken one is SFSM_EEXISTS); history is append-only and
     * read back in that order.
     */
    int (*append_history)(void *backend, const char *id, const sfsm_history_entry *entry);

    /* Must provide: call cb for each history entry of `id`, oldest first;
     * SFSM_ENOTFOUND if the opportunity does not exist; a non-zero cb return
     * stops the read and is returned. */
    int (*read_history)(void *backend, const char *id, sfsm_history_cb cb, void *ud);

    /* Must provide: call cb for each record matching f (never NULL; NULL
     * members match anything; changed_since_ms 0 matches any time), in
     * creation order; a non-zero cb return stops the scan and is returned.
     * f->version is always one this ops version knows: the engine hands
     * backends a filter of the version they were written for. */
    int (*scan)(void *backend, const sfsm_filter *f, sfsm_record_cb cb, void *ud);

    /* ---- version 2 ---- */

    /* May provide: call cb once per distinct (pipeline, pipeline_version,
     * stage) with the number of opportunities there, in any order. If NULL
     * (or the backend is of version 1) the engine counts through scan. */
    int (*stage_counts)(void *backend, sfsm_stage_count_cb cb, void *ud);

    /* ---- version 3: teams, targets, payments (targets.h) ----
     * A backend of version 3 must provide the six members below; with an
     * older backend the functions of targets.h fail with SFSM_EVERSION. */

    /* Put owner into team (replacing its team); team NULL removes the owner
     * (SFSM_ENOTFOUND if in no team). */
    int (*team_put)(void *backend, const char *owner, const char *team);
    /* Memberships of `team` (NULL: all), sorted by team, then owner. */
    int (*team_scan)(void *backend, const char *team, sfsm_team_cb cb, void *ud);
    /* Insert or replace the target with the same subject kind, subject,
     * period (year, kind, index) and currency. */
    int (*target_put)(void *backend, const sfsm_target *t);
    /* Targets of (kind, subject) (subject NULL: all) in `year` (0: all),
     * sorted by subject kind, subject, year, period kind, index, currency. */
    int (*target_scan)(void *backend, sfsm_subject_kind kind, const char *subject, int year, sfsm_target_cb cb,
                       void *ud);
    /* Append a payment; p->seq is given (1, 2, … per opportunity; a taken one
     * is SFSM_EEXISTS). */
    int (*payment_add)(void *backend, const sfsm_payment *p);
    /* Payments of opp_id (NULL: all), by opportunity creation order then seq. */
    int (*payment_scan)(void *backend, const char *opp_id, sfsm_payment_cb cb, void *ud);

    /* May provide: every history entry of the store in one pass, each
     * opportunity's entries together and in version order; the opportunities
     * in any order (creation order, or the storage's own: the SQLite store
     * walks its history table by key). If NULL, reports read scan +
     * read_history per opportunity. */
    int (*history_scan)(void *backend, sfsm_history_scan_cb cb, void *ud);
} sfsm_store_ops;

/*
 * Wraps a backend into a store. ops is copied (as much of it as its
 * version has); backend is owned by the store
 * from now on only in that ops->close (if set) is called with it at
 * sfsm_store_close. On failure *out is NULL and close is not called.
 * Errors: SFSM_EINVAL (NULL ops/out, a required member missing: the message
 * names it), SFSM_EVERSION (ops->version is 0 or newer than this library),
 * SFSM_ENOMEM.
 */
SFSM_API int sfsm_store_new(sfsm_store **out, const sfsm_store_ops *ops, void *backend);

#ifdef __cplusplus
}
#endif
#endif
