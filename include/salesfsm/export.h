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
 * with its attributes and full history, as one JSON document through write:
 * the header, then one piece per opportunity, then the closing brackets.
 * The matching ids are collected first; then each opportunity is read with
 * its history and written before the next is read, so only the ids and one
 * opportunity are ever in memory. write runs outside the store's lock (unless
 * a batch of this thread holds it) and may call the library. Each
 * opportunity is consistent with its history; for one snapshot of the whole
 * store while other engines write, export inside a batch.
 * Integers are written exactly; text is UTF-8, passed through unescaped.
 * Errors: SFSM_EINVAL, SFSM_ENOTFOUND (f->stage unknown), SFSM_EVERSION
 * (f->version unknown), SFSM_ENOMEM, SFSM_ESTORAGE (also: the store handed
 * back text a JSON document cannot carry, e.g. not UTF-8, or data that
 * sfsm_import_json would refuse, checked by the import's own rules; the
 * message names the opportunity and the import's reason), SFSM_EBUSY
 * (called from a scan or history callback), or write's non-zero value,
 * returned as is. On failure write has received part of the document at
 * most (never the faulty opportunity nor the end): only the return code
 * says whether the document is complete.
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
 * nothing: the whole document is checked before anything is written, then it
 * is written in one storage transaction (inside the engine's batch if one is
 * open). Opportunities keep their ids, versions, times and history; nothing
 * is announced to hooks. Stage, event and role names must be those of the
 * engine's pipeline; each opportunity's pipeline must be the engine's (or
 * null) at the engine's version or an earlier one. json need not be NUL-terminated; only len bytes are
 * read. Integers must lie within ±(2^53-1) (numbers are read as doubles,
 * which are exact only up to there). On success *count (may be NULL) is the
 * number imported; on failure it is 0.
 * Errors, each naming the JSON path of the fault in sfsm_errmsg()
 * ("opportunities[3].history[2].to: ..."), or the byte offset for text that
 * is not JSON:
 * SFSM_EPARSE (not JSON, or not the format: wrong type, missing, unknown or
 * repeated member), SFSM_EVERSION (format version unknown), SFSM_EINVAL
 * (inconsistent: unknown stage, event or role, history that does not lead to
 * the stored stage, versions that are not 1..n, changes that do not match
 * fields, duplicate ids in the document, invalid field values, numbers that
 * are not integers within ±(2^53-1)), SFSM_EEXISTS (an id is already in the
 * store), SFSM_EBUSY (called from a scan or history callback), SFSM_ENOMEM,
 * SFSM_ESTORAGE. On failure nothing was imported.
 * The parsed document is held by cJSON, which allocates through its own
 * hooks (cJSON_InitHooks), not through sfsm_set_allocator.
 */
SFSM_API int sfsm_import_json(sfsm_engine *e, const char *json, size_t len, size_t *count);

#ifdef __cplusplus
}
#endif
#endif
