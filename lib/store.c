/* The store handle: validation of backends, locking and transaction nesting. */
#include <string.h>

#include <salesfsm/store.h>
#include <salesfsm/sys/store.h>

#include "alloc.h"
#include "text.h"
#include "store_impl.h"

/* Its address identifies the calling thread. */
static _Thread_local char t_token SFSM_TLS_FAST;

static uintptr_t me(void)
{
    return (uintptr_t)&t_token;
}

int sfsm_store_new(sfsm_store **out, const sfsm_store_ops *ops, void *backend)
{
    if (out)
        *out = NULL;
    if (!out || !ops)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_store_new: %s is NULL", out ? "ops" : "out");
    if (ops->version == 0 || ops->version > SFSM_STORE_OPS_VERSION)
        return sfsm_error_set(SFSM_EVERSION, "sfsm_store_new: ops version %u not supported (this library knows 1..%d)",
                              ops->version, SFSM_STORE_OPS_VERSION);
    static const struct { const char *name; size_t off; } required[] = {
        { "begin", offsetof(sfsm_store_ops, begin) },
        { "commit", offsetof(sfsm_store_ops, commit) },
        { "rollback", offsetof(sfsm_store_ops, rollback) },
        { "get", offsetof(sfsm_store_ops, get) },
        { "put", offsetof(sfsm_store_ops, put) },
        { "append_history", offsetof(sfsm_store_ops, append_history) },
        { "read_history", offsetof(sfsm_store_ops, read_history) },
        { "scan", offsetof(sfsm_store_ops, scan) },
    };
    static const struct { const char *name; size_t off; } required_v3[] = {
        { "team_put", offsetof(sfsm_store_ops, team_put) },
        { "team_scan", offsetof(sfsm_store_ops, team_scan) },
        { "target_put", offsetof(sfsm_store_ops, target_put) },
        { "target_scan", offsetof(sfsm_store_ops, target_scan) },
        { "payment_add", offsetof(sfsm_store_ops, payment_add) },
        { "payment_scan", offsetof(sfsm_store_ops, payment_scan) },
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        void *fn;
        memcpy(&fn, (const char *)ops + required[i].off, sizeof fn);
        if (!fn)
            return sfsm_error_set(SFSM_EINVAL, "sfsm_store_new: required member '%s' is NULL", required[i].name);
    }
    for (size_t i = 0; ops->version >= 3 && i < sizeof required_v3 / sizeof required_v3[0]; i++) {
        void *fn;
        memcpy(&fn, (const char *)ops + required_v3[i].off, sizeof fn);
        if (!fn)
            return sfsm_error_set(SFSM_EINVAL, "sfsm_store_new: member '%s', required by ops version 3, is NULL",
                                  required_v3[i].name);
    }
    sfsm_store *s = sfsm__calloc(1, sizeof *s);
    if (!s)
        return sfsm_error_set(SFSM_ENOMEM, "out of memory for a store");
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        sfsm__free(s);
        return sfsm_error_set(SFSM_ENOMEM, "sfsm_store_new: cannot create a mutex");
    }
    /* A backend of an older version has a shorter table: copy only that. */
    size_t size = ops->version == 1   ? offsetof(sfsm_store_ops, stage_counts)
                  : ops->version == 2 ? offsetof(sfsm_store_ops, team_put)
                                      : sizeof *ops;
    memset(&s->ops, 0, sizeof s->ops);
    memcpy(&s->ops, ops, size);
    s->backend = backend;
    atomic_init(&s->owner, 0);
    *out = s;
    return SFSM_OK;
}

int sfsm_store_open_memory(sfsm_store **out)
{
    if (out)
        *out = NULL;
    if (!out)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_store_open_memory: out is NULL");
    void *backend;
    int rc = sfsm__memory_backend(&backend);
    if (rc)
        return rc;
    rc = sfsm_store_new(out, &sfsm__memory_ops, backend);
    if (rc)
        sfsm__memory_ops.close(backend);
    return rc;
}

void sfsm_store_close(sfsm_store *s)
{
    if (!s)
        return;
    while (s->depth > 0) {
        s->ops.rollback(s->backend);
        s->depth--;
    }
    if (s->ops.close)
        s->ops.close(s->backend);
    pthread_mutex_destroy(&s->lock);
    sfsm__free(s);
}

int sfsm__store_enter(sfsm_store *s)
{
    if (atomic_load_explicit(&s->owner, memory_order_relaxed) == me()) {
        if (s->in_callback)
            return sfsm_error_set(SFSM_EBUSY, "the store is busy: called from inside one of its scan or history callbacks");
        s->hold++;
        return SFSM_OK;
    }
    pthread_mutex_lock(&s->lock);
    atomic_store_explicit(&s->owner, me(), memory_order_relaxed);
    s->hold = 1;
    return SFSM_OK;
}

void sfsm__store_leave(sfsm_store *s)
{
    if (--s->hold == 0) {
        atomic_store_explicit(&s->owner, 0, memory_order_relaxed);
        pthread_mutex_unlock(&s->lock);
    }
}

int sfsm__store_check_reentry(sfsm_store *s)
{
    if (atomic_load_explicit(&s->owner, memory_order_relaxed) == me() && s->in_callback)
        return sfsm_error_set(SFSM_EBUSY, "the store is busy: called from inside one of its scan or history callbacks");
    return SFSM_OK;
}

int sfsm__store_in_txn(sfsm_store *s)
{
    return atomic_load_explicit(&s->owner, memory_order_relaxed) == me() && s->depth > 0;
}

int sfsm__store_begin(sfsm_store *s)
{
    int rc = sfsm__store_enter(s);
    if (rc)
        return rc;
    rc = s->ops.begin(s->backend);
    if (rc) {
        sfsm__store_leave(s);
        return rc;
    }
    s->depth++;
    return SFSM_OK;   /* stays held until commit or rollback */
}

int sfsm__store_commit(sfsm_store *s)
{
    int rc = s->ops.commit(s->backend);
    s->depth--;
    sfsm__store_leave(s);
    return rc;
}

void sfsm__store_rollback(sfsm_store *s)
{
    s->ops.rollback(s->backend);
    s->depth--;
    sfsm__store_leave(s);
}

/* Callbacks run with the store held; calls back into it are refused rather
 * than re-entering the backend in the middle of its read. */
int sfsm__store_history(sfsm_store *s, const char *id, sfsm_history_cb cb, void *ud)
{
    int rc = sfsm__store_enter(s);
    if (rc)
        return rc;
    s->in_callback++;
    rc = s->ops.read_history(s->backend, id, cb, ud);
    s->in_callback--;
    sfsm__store_leave(s);
    return rc;
}

int sfsm__store_scan(sfsm_store *s, const sfsm_filter *f, sfsm_record_cb cb, void *ud)
{
    int rc = sfsm__store_enter(s);
    if (rc)
        return rc;
    s->in_callback++;
    rc = s->ops.scan(s->backend, f, cb, ud);
    s->in_callback--;
    sfsm__store_leave(s);
    return rc;
}
