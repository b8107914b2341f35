/*
 * Checks the checks: runs the conformance suite against the memory backend
 * wrapped with one injected fault at a time (each a plausible backend bug)
 * and requires every fault to make more checks fail than the unwrapped
 * backend does. A suite that stays green on a broken backend fails here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salesfsm/sys/store.h>

#include "conformance.h"
#include "store_impl.h"

enum fault {
    F_NONE,
    F_GET_EMPTY_FOR_NULL,     /* get: NULL customer comes back "" */
    F_GET_DROP_LAST_ATTR,     /* get: last attribute missing */
    F_NO_VERSION_CHECK,       /* put: updates whatever the stored version */
    F_EEXISTS_IS_OK,          /* put: insert over an existing id says OK */
    F_ENOTFOUND_IS_OK,        /* put: update of an absent id says OK */
    F_MASK_DROPS_TITLE,       /* put: the title bit is ignored */
    F_STAGE_NOT_WRITTEN,      /* put: changed 0 keeps the stored stage */
    F_HISTORY_ABSENT_OK,      /* read_history: absent id is OK */
    F_HISTORY_IGNORES_STOP,   /* read_history: callback's stop ignored */
    F_HISTORY_DROPS_NOTE,     /* read_history: note always NULL */
    F_SCAN_IGNORES_STOP,      /* scan: callback's stop ignored */
    F_SCAN_IGNORES_SINCE,     /* scan: changed_since_ms ignored */
    F_SCAN_IGNORES_OWNER,     /* scan: owner ignored */
    F_FLAT_SAVEPOINTS,        /* nested begin/commit/rollback are no-ops */
    F_ROLLBACK_COMMITS,       /* outermost rollback commits */
    F_HISTSCAN_SPLITS_GROUPS, /* history_scan: each one's first entry comes last */
    F_COUNT
};

static const char *const fault_names[F_COUNT] = {
    "none", "get_empty_for_null", "get_drop_last_attr", "no_version_check", "eexists_is_ok",
    "enotfound_is_ok", "mask_drops_title", "stage_not_written", "history_absent_ok",
    "history_ignores_stop", "history_drops_note", "scan_ignores_stop", "scan_ignores_since",
    "scan_ignores_owner", "flat_savepoints", "rollback_commits", "histscan_splits_groups",
};

static enum fault fault;

typedef struct wrap {
    void *inner;
    unsigned depth;
} wrap;

#define IN (&sfsm__memory_ops)

static void w_close(void *b)
{
    wrap *w = b;
    IN->close(w->inner);
    free(w);
}

static int w_begin(void *b)
{
    wrap *w = b;
    if (fault == F_FLAT_SAVEPOINTS && w->depth > 0) {
        w->depth++;
        return SFSM_OK;
    }
    int rc = IN->begin(w->inner);
    if (rc == SFSM_OK)
        w->depth++;
    return rc;
}

static int w_commit(void *b)
{
    wrap *w = b;
    if (fault == F_FLAT_SAVEPOINTS && w->depth > 1) {
        w->depth--;
        return SFSM_OK;
    }
    int rc = IN->commit(w->inner);
    if (rc == SFSM_OK && w->depth)
        w->depth--;
    return rc;
}

static int w_rollback(void *b)
{
    wrap *w = b;
    if (fault == F_FLAT_SAVEPOINTS && w->depth > 1) {
        w->depth--;
        return SFSM_OK;
    }
    if (fault == F_ROLLBACK_COMMITS && w->depth == 1) {
        w->depth--;
        return IN->commit(w->inner);
    }
    int rc = IN->rollback(w->inner);
    if (rc == SFSM_OK && w->depth)
        w->depth--;
    return rc;
}

static int w_get(void *b, const char *id, sfsm_record *out)
{
    wrap *w = b;
    int rc = IN->get(w->inner, id, out);
    if (rc == SFSM_OK && fault == F_GET_EMPTY_FOR_NULL && !out->customer)
        out->customer = "";
    if (rc == SFSM_OK && fault == F_GET_DROP_LAST_ATTR && out->attr_count)
        out->attr_count--;
    return rc;
}

static int w_put(void *b, const sfsm_record *rec, uint64_t expected, uint32_t changed)
{
    wrap *w = b;
    sfsm_record cur;
    if (expected && fault == F_MASK_DROPS_TITLE)
        changed &= ~SFSM_FIELD_TITLE;
    if (expected && fault == F_STAGE_NOT_WRITTEN && changed == 0 && IN->get(w->inner, rec->id, &cur) == SFSM_OK) {
        sfsm_record r = *rec;
        r.stage = cur.stage; /* memory backend strings stay put */
        return IN->put(w->inner, &r, expected, changed);
    }
    int rc = IN->put(w->inner, rec, expected, changed);
    if (rc == SFSM_ECONFLICT && fault == F_NO_VERSION_CHECK && IN->get(w->inner, rec->id, &cur) == SFSM_OK)
        return IN->put(w->inner, rec, cur.version, changed);
    if (rc == SFSM_EEXISTS && fault == F_EEXISTS_IS_OK)
        return SFSM_OK;
    if (rc == SFSM_ENOTFOUND && fault == F_ENOTFOUND_IS_OK)
        return SFSM_OK;
    return rc;
}

static int w_append(void *b, const char *id, const sfsm_history_entry *h)
{
    wrap *w = b;
    return IN->append_history(w->inner, id, h);
}

typedef struct hwrap {
    sfsm_history_cb cb;
    sfsm_record_cb rcb;
    void *ud;
} hwrap;

static int h_cb(const sfsm_history_entry *e, void *ud)
{
    hwrap *h = ud;
    sfsm_history_entry x = *e;
    if (fault == F_HISTORY_DROPS_NOTE)
        x.note = NULL;
    int rc = h->cb(&x, h->ud);
    return fault == F_HISTORY_IGNORES_STOP ? 0 : rc;
}

static int w_read_history(void *b, const char *id, sfsm_history_cb cb, void *ud)
{
    wrap *w = b;
    hwrap h = { cb, NULL, ud };
    int rc = IN->read_history(w->inner, id, h_cb, &h);
    if (rc == SFSM_ENOTFOUND && fault == F_HISTORY_ABSENT_OK)
        return SFSM_OK;
    return rc;
}

static int r_cb(const sfsm_record *r, void *ud)
{
    hwrap *h = ud;
    int rc = h->rcb(r, h->ud);
    return fault == F_SCAN_IGNORES_STOP ? 0 : rc;
}

static int w_scan(void *b, const sfsm_filter *f, sfsm_record_cb cb, void *ud)
{
    wrap *w = b;
    sfsm_filter g = *f;
    if (fault == F_SCAN_IGNORES_SINCE)
        g.changed_since_ms = 0;
    if (fault == F_SCAN_IGNORES_OWNER)
        g.owner = NULL;
    hwrap h = { NULL, cb, ud };
    return IN->scan(w->inner, &g, r_cb, &h);
}

/* history_scan, with F_HISTSCAN_SPLITS_GROUPS holding back the first entry
 * of every opportunity until the end: entries of one opportunity no longer
 * come together, which the suite must notice. */
typedef struct held {
    char *id, *to;
    sfsm_history_entry e;
} held;

typedef struct swrap {
    sfsm_history_scan_cb cb;
    void *ud;
    held *v;
    size_t n, cap;
    int oom;
} swrap;

static char *dup_str(const char *t)
{
    size_t n = strlen(t) + 1;
    char *c = malloc(n);
    return c ? memcpy(c, t, n) : NULL;
}

static int s_cb(const char *id, const sfsm_history_entry *e, void *ud)
{
    swrap *s = ud;
    if (fault != F_HISTSCAN_SPLITS_GROUPS || e->version != 1)
        return s->cb(id, e, s->ud);
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        held *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return s->oom = 1;
        s->v = v;
        s->cap = cap;
    }
    held *h = &s->v[s->n++];
    h->e = *e;
    h->id = dup_str(id);
    h->to = e->to ? dup_str(e->to) : NULL;
    if (!h->id || (e->to && !h->to))
        s->oom = 1;
    h->e.to = h->to;
    h->e.from = h->e.event = h->e.actor = h->e.role = h->e.note = h->e.changes = NULL;
    return 0;
}

static int w_history_scan(void *b, sfsm_history_scan_cb cb, void *ud)
{
    wrap *w = b;
    swrap s = { cb, ud, NULL, 0, 0, 0 };
    int rc = IN->history_scan(w->inner, s_cb, &s);
    for (size_t i = 0; i < s.n; i++) {
        if (!rc && !s.oom && s.v[i].id)
            rc = cb(s.v[i].id, &s.v[i].e, ud);
        free(s.v[i].id);
        free(s.v[i].to);
    }
    free(s.v);
    return s.oom ? SFSM_ENOMEM : rc;
}

/* The version-3 members, passed through to the memory backend. */
static int w_team_put(void *b, const char *owner, const char *team)
{
    return IN->team_put(((wrap *)b)->inner, owner, team);
}
static int w_team_scan(void *b, const char *team, sfsm_team_cb cb, void *ud)
{
    return IN->team_scan(((wrap *)b)->inner, team, cb, ud);
}
static int w_target_put(void *b, const sfsm_target *t)
{
    return IN->target_put(((wrap *)b)->inner, t);
}
static int w_target_scan(void *b, sfsm_subject_kind kind, const char *subject, int year, sfsm_target_cb cb,
                         void *ud)
{
    return IN->target_scan(((wrap *)b)->inner, kind, subject, year, cb, ud);
}
static int w_payment_add(void *b, const sfsm_payment *p)
{
    return IN->payment_add(((wrap *)b)->inner, p);
}
static int w_payment_scan(void *b, const char *opp_id, sfsm_payment_cb cb, void *ud)
{
    return IN->payment_scan(((wrap *)b)->inner, opp_id, cb, ud);
}

/* Version 3, so that the version-3 checks (history_scan's among them) are
 * checked too; the optional version-2 member stays unset. */
static const sfsm_store_ops wrap_ops = {
    3,           w_close,       w_begin,      w_commit,      w_rollback,     w_get,
    w_put,       w_append,      w_read_history, w_scan,      NULL,           w_team_put,
    w_team_scan, w_target_put,  w_target_scan, w_payment_add, w_payment_scan, w_history_scan,
};

static int w_open(const sfsm_store_ops **ops, void **backend, void *ud)
{
    (void)ud;
    wrap *w = calloc(1, sizeof *w);
    if (!w)
        return SFSM_ENOMEM;
    int rc = sfsm__memory_backend(&w->inner);
    if (rc) {
        free(w);
        return rc;
    }
    *ops = &wrap_ops;
    *backend = w;
    return SFSM_OK;
}

int main(void)
{
    int failed[F_COUNT];
    int bad = 0;
    for (int k = 0; k < F_COUNT; k++) {
        fault = (enum fault)k;
        char name[64];
        snprintf(name, sizeof name, "memory+%s", fault_names[k]);
        const sfsm_conformance_target t = { name, w_open, NULL, NULL };
        failed[k] = sfsm_conformance_run(&t);
    }
    printf("\nconformance self-test (%zu checks):\n",
           sfsm_conformance_count() + sfsm_conformance_count_v3());
    for (int k = 0; k < F_COUNT; k++) {
        int caught = k == F_NONE || failed[k] > failed[F_NONE];
        printf("  %-22s %2d failed%s\n", fault_names[k], failed[k],
               k == F_NONE ? " (baseline)" : caught ? "" : "   <-- NOT CAUGHT");
        bad += !caught;
    }
    return bad ? 1 : 0;
}
