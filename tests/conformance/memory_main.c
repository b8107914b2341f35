/* The conformance suite against the built-in memory backend. Its ops are
 * internal (hidden symbols), so this links the static library. */
#include <salesfsm/sys/store.h>

#include "conformance.h"
#include "store_impl.h"

static int mem_open(const sfsm_store_ops **ops, void **backend, void *ud)
{
    (void)ud;
    *ops = &sfsm__memory_ops;
    return sfsm__memory_backend(backend);
}

static void mem_close(const sfsm_store_ops *ops, void *backend, void *ud)
{
    (void)ud;
    ops->close(backend);
}

int main(void)
{
    const sfsm_conformance_target t = { "memory", mem_open, mem_close, NULL };
    return sfsm_conformance_run(&t) ? 1 : 0;
}
