/* The store handle: a backend's ops table plus the lock that lets engines in
 * several threads share it. A thread that opens a transaction holds the lock
 * until the outermost commit or rollback, so its calls in between pass
 * straight through while other threads wait. */
#ifndef SFSM_STORE_IMPL_H
#define SFSM_STORE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <salesfsm/store.h>
#include <salesfsm/sys/store.h>

struct sfsm_store {
    sfsm_store_ops ops;
    void *backend;
    pthread_mutex_t lock;
    atomic_uintptr_t owner;   /* token of the thread holding lock, 0 if none */
    unsigned hold;            /* nested holds by the owner */
    unsigned depth;           /* open transaction nesting */
    unsigned in_callback;     /* inside a scan/history callback of the backend */
    uint64_t checked;         /* fingerprint of the pipeline last checked against it */
};

/* Takes the store for a call (blocking while another thread holds it).
 * SFSM_EBUSY if this thread is inside one of the store's callbacks. */
int sfsm__store_enter(sfsm_store *s);
void sfsm__store_leave(sfsm_store *s);

/* Transactions; begin keeps the store held until the matching end. */
int sfsm__store_begin(sfsm_store *s);
int sfsm__store_commit(sfsm_store *s);
void sfsm__store_rollback(sfsm_store *s);
/* 1 if the calling thread holds an open transaction on s. */
int sfsm__store_in_txn(sfsm_store *s);
/* SFSM_EBUSY if the calling thread is inside one of s's scan or history
 * callbacks (the backend must not be re-entered mid-read). */
int sfsm__store_check_reentry(sfsm_store *s);

/* Reads, each taking the store for its duration. */
int sfsm__store_history(sfsm_store *s, const char *id, sfsm_history_cb cb, void *ud);
int sfsm__store_scan(sfsm_store *s, const sfsm_filter *f, sfsm_record_cb cb, void *ud);

/* The memory backend's ops and state constructor. */
int sfsm__memory_backend(void **out);
extern const sfsm_store_ops sfsm__memory_ops;

/* The SQLite backend's ops and state constructor (for conformance tests). */
const sfsm_store_ops *sfsm__sqlite_ops(void);
int sfsm__sqlite_backend(const char *path, const sfsm_sqlite_options *opts, void **out);

#endif
