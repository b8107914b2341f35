/*
 * salesfsm/export.h — opportunities with their full history as JSON.
 *
 * The document (format "salesfsm-opportunities", version 1) is described in
 * docs/json-format.md. Export then import into an empty store then export
 * again gives an identical document, whatever the stores.
 */
#ifndef SALESFSM_EXPORT_H
#define SALESFSM_EXPORT_H

#include "common.h"
#include "opp.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Receives the document piece by piece: n bytes at buf (not NUL-terminated,
 * valid only during the call). Return 0 to go on; a non-zero value stops the
 * export, which then returns it.
 */
typedef int (*sfsm_write_fn)(const char *buf, size_t n, void *ud);

/*
 * Writes the opportunities matching f (NULL: all), in creation order, each
 * with its attributes and full history, as one JSON document through write.
 * The store is read in one pass; large stores never sit in memory whole.
 * Errors: SFSM_EINVAL, SFSM_ENOTFOUND (f->stage unknown), SFSM_EVERSION,
 * SFSM_ENOMEM, SFSM_ESTORAGE, or write's non-zero value.
 */
SFSM_API int sfsm_export_json(sfsm_engine *e, const sfsm_filter *f, sfsm_write_fn write, void *ud);

/*
 * As sfsm_export_json, into one string: on success *out is the
 * NUL-terminated document (free it with sfsm_free) and *len its length
 * (len may be NULL). On failure *out is NULL.
 */
SFSM_API int sfsm_export_json_string(sfsm_engine *e, const sfsm_filter *f, char **out, size_t *len);

/*
 * Imports a document in the export format into the engine's store, all or
 * nothing, in one storage transaction (inside the engine's batch if one is
 * open). Opportunities keep their ids, versions, times and history; nothing
 * is announced to hooks. json need not be NUL-terminated; only len bytes are
 * read. On success *count (may be NULL) is the number imported.
 * Errors, each naming the JSON path of the fault in sfsm_errmsg()
 * ("opportunities[3].history[2].to: ..."):
 * SFSM_EPARSE (not JSON, or not the format: wrong type, missing member),
 * SFSM_EVERSION (format version unknown), SFSM_EINVAL (inconsistent: unknown
 * stage or role, history that does not lead to the stored stage, versions
 * that are not 1..n, duplicate ids in the document, invalid field values),
 * SFSM_EEXISTS (an id is already in the store), SFSM_ENOMEM, SFSM_ESTORAGE.
 * On failure nothing was imported.
 */
SFSM_API int sfsm_import_json(sfsm_engine *e, const char *json, size_t len, size_t *count);

#ifdef __cplusplus
}
#endif
#endif
