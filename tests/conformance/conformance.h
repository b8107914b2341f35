/*
 * Storage conformance suite: checks any backend (an sfsm_store_ops table plus
 * its state, i.e. what sfsm_store_new receives) against the ops contract of
 * include/salesfsm/sys/store.h by calling the ops directly, not through the
 * engine.
 *
 * A target describes how to make a backend. open must hand back a FRESH,
 * empty backend every time (each check gets its own); close releases it
 * (NULL close: ops->close(backend) is called if the ops have one).
 */
#ifndef SFSM_CONFORMANCE_H
#define SFSM_CONFORMANCE_H

#include <salesfsm/sys/store.h>

typedef struct sfsm_conformance_target {
    const char *name;
    int (*open)(const sfsm_store_ops **ops, void **backend, void *ud);
    void (*close)(const sfsm_store_ops *ops, void *backend, void *ud);
    void *ud;
} sfsm_conformance_target;

/* Runs every check as a cmocka test of a group named after the target.
 * Returns the number of failed checks (0: conforming). */
int sfsm_conformance_run(const sfsm_conformance_target *target);

/* Number of checks sfsm_conformance_run runs on every backend. */
size_t sfsm_conformance_count(void);

/* Number of further checks of the version-3 members (teams, targets,
 * payments, history_scan), run only when the backend's ops version is >= 3. */
size_t sfsm_conformance_count_v3(void);

#endif
