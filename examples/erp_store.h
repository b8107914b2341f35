/*
 * erp_store.h — a salesfsm storage backend over an ERP's own SQLite tables.
 *
 * The tables (crm_deal, crm_deal_attr, crm_deal_log) belong to the ERP and
 * are named the way the ERP names things; erp_store.c maps them onto the
 * ops table of <salesfsm/sys/store.h>. It is the worked example of
 * docs/storage-backends.md and a backend the conformance suite can run.
 *
 * Like any backend, the store it makes is used through salesfsm's public
 * API only; the ERP keeps reading and reporting on its tables with SQL.
 */
#ifndef ERP_STORE_H
#define ERP_STORE_H

#include <salesfsm/salesfsm.h>
#include <salesfsm/sys/store.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Opens (or creates) the ERP database at `path` — creating the three tables
 * if they are missing — and wraps it into a store. On success *out owns the
 * store (close with sfsm_store_close, which closes the database); on failure
 * *out is NULL and nothing is left open.
 * Errors: SFSM_EINVAL (NULL path/out), SFSM_ENOMEM, SFSM_ESTORAGE (SQLite
 * could not open or set up the file; the message carries SQLite's words).
 */
int erp_store_open(const char *path, sfsm_store **out);

/*
 * The same backend without the store around it, for tests that drive the
 * ops table directly (the conformance suite). On success *ops points at a
 * static table and *backend owns an open database: hand it to
 * sfsm_store_new (which then closes it through ops->close) or release it
 * with erp_store_backend_close. On failure both are NULL.
 * Errors as erp_store_open.
 */
int erp_store_backend(const char *path, const sfsm_store_ops **ops, void **backend);

/* Closes a backend from erp_store_backend: rolls back an open transaction,
 * finalizes every statement, closes the database. Accepts NULL. */
void erp_store_backend_close(void *backend);

#ifdef __cplusplus
}
#endif
#endif
