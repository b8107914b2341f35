/*
 * salesfsm/opp.h — sales opportunities.
 *
 * An sfsm_opp is a handle on one opportunity as it was loaded (or last
 * committed) by an engine, plus any field changes not yet stored. Setters
 * change only the handle; sfsm_opp_save or the next sfsm_fire stores them.
 * Writes are optimistic: if someone else committed a newer version in the
 * meantime, the write fails with SFSM_ECONFLICT and the handle must be
 * reopened.
 *
 * A handle is used by one thread at a time, with engines that share its
 * pipeline, and must be freed before that pipeline. Strings returned by the
 * getters belong to the handle and stay valid until the handle is freed or
 * the same field is set again (stage names: as long as the pipeline lives).
 */
#ifndef SALESFSM_OPP_H
#define SALESFSM_OPP_H

#include "common.h"
#include "history.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Who does something: a name for the audit trail and a pipeline role. */
typedef struct sfsm_actor {
    const char *name;
    const char *role;
} sfsm_actor;

/*
 * Creates and stores an opportunity at the pipeline's initial stage, version
 * 1, with one history entry. `id` NULL generates a unique id (32 hex digits).
 * On success *out owns a new handle (free with sfsm_opp_free); on failure
 * *out is NULL and nothing is stored.
 * Errors: SFSM_EINVAL (NULL e/out, id empty, too long or not UTF-8; or the
 * engine clock reads outside -(2^53-1)..2^53-1 ms, see sfsm_engine_now),
 * SFSM_EEXISTS (id taken), SFSM_ENOMEM, SFSM_ESTORAGE.
 */
SFSM_API int sfsm_opp_create(sfsm_engine *e, const char *id, sfsm_opp **out);

/* Initial fields for sfsm_opp_create_ext. */
typedef struct sfsm_create_options {
    unsigned int version;        /* SFSM_CREATE_OPTIONS_VERSION */
    const char *id;              /* NULL: generated */
    const char *customer;        /* NULL: none */
    const char *owner;           /* NULL: none */
    const char *title;           /* NULL: none */
    int64_t amount;              /* minor units, 0..2^53-1; non-zero needs a currency */
    const char *currency;        /* ISO 4217, NULL: no amount */
    int64_t expected_close_ms;   /* 0: none */
    const sfsm_actor *actor;     /* recorded in the create entry; NULL: none */
} sfsm_create_options;

#define SFSM_CREATE_OPTIONS_VERSION 1
#define SFSM_CREATE_OPTIONS_INIT { SFSM_CREATE_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, NULL, 0, NULL }
/* Fills *opts like SFSM_CREATE_OPTIONS_INIT. SFSM_EVERSION for an unknown version. */
SFSM_API int sfsm_create_options_init(sfsm_create_options *opts, unsigned int version);

/*
 * Like sfsm_opp_create, with initial fields stored in the same commit and
 * recorded in the create entry. Errors as sfsm_opp_create plus SFSM_EVERSION
 * (opts->version unknown), SFSM_EINVAL for any invalid field (including an
 * amount without a currency; the message names the field) and
 * SFSM_ENOTFOUND (the actor's role is not a role of the pipeline).
 * opts is only read during the call.
 */
SFSM_API int sfsm_opp_create_ext(sfsm_engine *e, const sfsm_create_options *opts, sfsm_opp **out);

/*
 * Loads a stored opportunity. On success *out owns a new handle.
 * Errors: SFSM_EINVAL (also: the opportunity belongs to another pipeline
 * sharing the store), SFSM_ENOTFOUND (no such id), SFSM_ENOMEM,
 * SFSM_ESTORAGE (the store failed, or the stored record breaks a rule that
 * input must pass: a stage this pipeline does not know, a version outside
 * 1..2^53-1, a negative amount, a bad currency, text too long or not UTF-8,
 * ...; the message names the id, the field and the fault; see
 * docs/storage-backends.md 1.2), SFSM_EBUSY (called from a scan or history
 * callback on the same store).
 */
SFSM_API int sfsm_opp_open(sfsm_engine *e, const char *id, sfsm_opp **out);

/* Frees a handle and its unsaved changes. Accepts NULL. Must not be called
 * from a hook on the same handle's running transition. */
SFSM_API void sfsm_opp_free(sfsm_opp *o);

/* Getters. NULL handle: NULL / 0. Unset strings read as NULL. */
SFSM_API const char *sfsm_opp_id(const sfsm_opp *o);
SFSM_API const char *sfsm_opp_stage(const sfsm_opp *o);
SFSM_API size_t      sfsm_opp_stage_index(const sfsm_opp *o);
SFSM_API uint64_t    sfsm_opp_version(const sfsm_opp *o);
SFSM_API int64_t     sfsm_opp_amount(const sfsm_opp *o);      /* minor units; 0 if unset */
SFSM_API const char *sfsm_opp_currency(const sfsm_opp *o);
SFSM_API const char *sfsm_opp_customer(const sfsm_opp *o);
SFSM_API const char *sfsm_opp_owner(const sfsm_opp *o);
SFSM_API const char *sfsm_opp_title(const sfsm_opp *o);
SFSM_API int64_t     sfsm_opp_expected_close(const sfsm_opp *o); /* ms; 0 if unset */
SFSM_API int64_t     sfsm_opp_created(const sfsm_opp *o);        /* ms */
SFSM_API int64_t     sfsm_opp_updated(const sfsm_opp *o);        /* ms */
SFSM_API int64_t     sfsm_opp_stage_entered(const sfsm_opp *o);  /* ms */
/* Win probability (percent) of the current stage. */
SFSM_API int         sfsm_opp_probability(const sfsm_opp *o);
/* SFSM_FIELD_* bits of changes not yet stored; 0 if none. */
SFSM_API uint32_t    sfsm_opp_unsaved(const sfsm_opp *o);

/*
 * Setters change the handle only. On failure the handle is unchanged.
 * Errors: SFSM_EINVAL (NULL handle, text too long or not UTF-8, amount
 * negative or above 2^53-1 = 9007199254740991 minor units, currency not
 * three upper-case letters A-Z), SFSM_ENOMEM,
 * SFSM_EBUSY (the handle's own transition is running, i.e. called from its
 * hook or guard).
 * Text setters: NULL or "" clears the field.
 */
/* minor_units: 0..2^53-1, the range the export format carries exactly (a
 * JSON number read as a double), so every stored amount can be exported and
 * imported again; sfsm_opp_create_ext applies the same limit. */
SFSM_API int sfsm_opp_set_amount(sfsm_opp *o, int64_t minor_units, const char *currency);
SFSM_API int sfsm_opp_set_customer(sfsm_opp *o, const char *customer);
SFSM_API int sfsm_opp_set_owner(sfsm_opp *o, const char *owner);
SFSM_API int sfsm_opp_set_title(sfsm_opp *o, const char *title);
/* ms since the epoch, 0..2^53-1 (the limit of amounts, for the same
 * reason: a larger value would be stored and then read back as damage);
 * 0 clears. SFSM_EINVAL outside, naming the value and the limit. */
SFSM_API int sfsm_opp_set_expected_close(sfsm_opp *o, int64_t ms);

/*
 * Custom attributes: string key → string value, for an application's own
 * fields. value NULL removes the key (SFSM_ENOTFOUND if absent). Keys are
 * 1..SFSM_MAX_NAME bytes, at most SFSM_MAX_ATTRS per opportunity.
 */
SFSM_API int sfsm_opp_set_attr(sfsm_opp *o, const char *key, const char *value);
/* The value, or NULL if the key is absent. */
SFSM_API const char *sfsm_opp_attr(const sfsm_opp *o, const char *key);
SFSM_API size_t sfsm_opp_attr_count(const sfsm_opp *o);
/* The i-th attribute (sorted by key). SFSM_EINVAL out of range. */
SFSM_API int sfsm_opp_attr_at(const sfsm_opp *o, size_t i, const char **key, const char **value);

/*
 * Stores the handle's unsaved field changes with one history entry (kind
 * update), as `actor` (may be NULL; its role must be a role of the
 * pipeline) with an optional note. Nothing to store is a success that
 * writes nothing. Errors: SFSM_EINVAL (also: the opportunity is at version
 * 2^53-1, the highest there is, and takes no further change; or it has
 * payments (targets.h) and the new amount changes their currency or is
 * below what was collected; or the engine clock reads outside
 * -(2^53-1)..2^53-1 ms, see sfsm_engine_now),
 * SFSM_ENOTFOUND (unknown role), SFSM_ECONFLICT (the stored version is
 * not the handle's), SFSM_ENOTFOUND, SFSM_EBUSY, SFSM_ENOMEM, SFSM_ESTORAGE.
 * On failure the handle and the store are unchanged.
 */
SFSM_API int sfsm_opp_save(sfsm_engine *e, sfsm_opp *o);
SFSM_API int sfsm_opp_save_as(sfsm_engine *e, sfsm_opp *o, const sfsm_actor *actor, const char *note);

/*
 * Reads the history of opportunity `id`, oldest first, through cb, which
 * must not call back into the same store (SFSM_EBUSY).
 * Returns SFSM_OK, the non-zero value cb returned to stop, or an error:
 * SFSM_EINVAL, SFSM_ENOTFOUND, SFSM_ESTORAGE (the store failed, or a stored
 * entry breaks the rules of history: versions 1, 2, 3, ... without gaps,
 * the create first, each entry starting where the previous one ended,
 * changes a JSON object of the fields named, text within limits and UTF-8;
 * the read stops before cb sees that entry, and the message names the id,
 * the entry's version and the field). Stage, event and role names need not
 * be known to the engine's pipeline: entries before a migration carry an
 * earlier version's names.
 * The opportunity's record is read first (one get, under the same hold of
 * the store: history reads are not on a hot path), so the history is also
 * checked against it: SFSM_ESTORAGE for an entry above the record's
 * version (before cb sees it) and, known only at the end of the read
 * (cb has seen the entries), for fewer entries than the version, a last
 * entry not ending at the record's stage, or, with the record at the
 * engine's pipeline version, a `to` stage the pipeline does not know in an
 * entry since the last migrate entry (any entry, without one): that
 * version wrote those entries.
 */
SFSM_API int sfsm_opp_history(sfsm_engine *e, const char *id, sfsm_history_cb cb, void *ud);

/* What sfsm_scan matches; NULL members match anything. */
typedef struct sfsm_filter {
    unsigned int version;      /* SFSM_FILTER_VERSION */
    const char *stage;         /* stage name */
    const char *owner;
    const char *customer;
    int64_t changed_since_ms;  /* updated at or after this time; 0: any */
} sfsm_filter;

#define SFSM_FILTER_VERSION 1
#define SFSM_FILTER_INIT { SFSM_FILTER_VERSION, NULL, NULL, NULL, 0 }
SFSM_API int sfsm_filter_init(sfsm_filter *f, unsigned int version);

/*
 * Receives one opportunity of a scan. The handle is borrowed: valid only
 * during the call, read-only. Return 0 to go on, non-zero to stop.
 */
typedef int (*sfsm_scan_cb)(const sfsm_opp *o, void *ud);

/*
 * Calls cb for each stored opportunity of the engine's pipeline (by name:
 * other pipelines sharing the store are skipped) matching f (NULL: all), in
 * creation order. cb must not call back into the same store (SFSM_EBUSY):
 * collect ids and act after the scan. Returns SFSM_OK, cb's non-zero value,
 * or SFSM_EINVAL,
 * SFSM_ENOTFOUND (f->stage is not a stage of the pipeline), SFSM_EVERSION,
 * SFSM_ENOMEM, SFSM_ESTORAGE (also: a stored record of this pipeline breaks
 * a rule, as for sfsm_opp_open; the scan stops there, before cb sees it).
 */
SFSM_API int sfsm_scan(sfsm_engine *e, const sfsm_filter *f, sfsm_scan_cb cb, void *ud);

#ifdef __cplusplus
}
#endif
#endif
