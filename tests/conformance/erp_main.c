/* The conformance suite against the example backend over an ERP's own
 * SQLite tables (examples/erp_store.c), one fresh file per check. */
#include <stdlib.h>
#include <string.h>

#include <salesfsm/sys/store.h>

#include "conformance.h"
#include "erp_store.h"
#include "tempdb.h"

typedef struct erp_state {
    char path[512];
} erp_state;

static int erp_open(const sfsm_store_ops **ops, void **backend, void *ud)
{
    erp_state *st = ud;
    if (tempdb_path(st->path, sizeof st->path))
        return SFSM_ESTORAGE;
    return erp_store_backend(st->path, ops, backend);
}

static void erp_close(const sfsm_store_ops *ops, void *backend, void *ud)
{
    erp_state *st = ud;
    (void)ops;
    erp_store_backend_close(backend);
    tempdb_remove(st->path);
}

int main(void)
{
    erp_state st;
    memset(&st, 0, sizeof st);
    const sfsm_conformance_target t = { "erp_example", erp_open, erp_close, &st };
    int failed = sfsm_conformance_run(&t);
    tempdb_cleanup();
    return failed ? 1 : 0;
}
