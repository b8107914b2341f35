/* The conformance suite against the built-in SQLite backend, driven through
 * its internal constructor (lib/store_impl.h), one fresh file per check. */
#include <stdlib.h>
#include <string.h>

#include <salesfsm/store.h>
#include <salesfsm/sys/store.h>

#include "conformance.h"
#include "store_impl.h"
#include "tempdb.h"

typedef struct sq_state {
    char path[512];
} sq_state;

static int sq_open(const sfsm_store_ops **ops, void **backend, void *ud)
{
    sq_state *st = ud;
    if (tempdb_path(st->path, sizeof st->path))
        return SFSM_ESTORAGE;
    sfsm_sqlite_options o = SFSM_SQLITE_OPTIONS_INIT;
    o.synchronous = SFSM_SQLITE_SYNC_OFF; /* throw-away files */
    *ops = sfsm__sqlite_ops();
    return sfsm__sqlite_backend(st->path, &o, backend);
}

static void sq_close(const sfsm_store_ops *ops, void *backend, void *ud)
{
    sq_state *st = ud;
    ops->close(backend);
    tempdb_remove(st->path);
}

int main(void)
{
    sq_state st;
    memset(&st, 0, sizeof st);
    const sfsm_conformance_target t = { "sqlite", sq_open, sq_close, &st };
    int failed = sfsm_conformance_run(&t);
    tempdb_cleanup();
    return failed ? 1 : 0;
}
