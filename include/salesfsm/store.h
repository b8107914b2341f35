/*
 * salesfsm/store.h — opening and closing stores.
 *
 * A store keeps opportunities and their history. One store handle may be
 * shared by engines in several threads: it serializes calls internally, and a
 * transaction (one fire, or a batch) holds the store for its whole duration.
 * Backends for an application's own tables are written against
 * salesfsm/sys/store.h.
 */
#ifndef SALESFSM_STORE_H
#define SALESFSM_STORE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A new, empty in-memory store. Nothing survives sfsm_store_close.
 * On success *out owns the store; on failure *out is NULL.
 * Errors: SFSM_EINVAL (out is NULL), SFSM_ENOMEM.
 */
SFSM_API int sfsm_store_open_memory(sfsm_store **out);

/*
 * Closes the store and frees it. Accepts NULL. Every engine using the store
 * must be freed first; a transaction still open is rolled back.
 */
SFSM_API void sfsm_store_close(sfsm_store *s);

#ifdef __cplusplus
}
#endif
#endif
