/* The tampering wrapper of tamper.h: every member passes through to the
 * built-in backend; the reads apply the plants to a copy of what comes back. */
#define _POSIX_C_SOURCE 200809L /* mkstemp */
#include "tamper.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <salesfsm/sys/store.h>

#include "store_impl.h"

typedef struct wrap {
    const sfsm_store_ops *in;
    void *inner;
    char path[256];
} wrap;

int tamper_history_scan = 1;

static tamper_plant plants[8];
static size_t nplants;

void tamper_add(const tamper_plant *p)
{
    assert_true(nplants < 8);
    plants[nplants++] = *p;
}

void tamper_clear(void)
{
    nplants = 0;
}

static int same_id(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static void alter_record(sfsm_record *r)
{
    const char *id = r->id;
    for (size_t k = 0; k < nplants; k++) {
        const tamper_plant *p = &plants[k];
        if (!same_id(p->id, id))
            continue;
        switch (p->field) {
        case T_CREATED: r->created_ms = p->i; break;
        case T_ENTERED: r->stage_entered_ms = p->i; break;
        case T_AMOUNT: r->amount = p->i; break;
        case T_VERSION: r->version = (uint64_t)p->i; break;
        case T_STAGE: r->stage = p->s; break;
        case T_CURRENCY: r->currency = p->s; break;
        case T_OWNER: r->owner = p->s; break;
        case T_CUSTOMER: r->customer = p->s; break;
        case T_TITLE: r->title = p->s; break;
        case T_ID: r->id = p->s; break;
        case T_PIPELINE_VERSION: r->pipeline_version = (uint32_t)p->i; break;
        default: break;
        }
    }
}

/* 1 if entry `version` of id is planted as dropped. */
static int dropped(const char *id, uint64_t version)
{
    for (size_t k = 0; k < nplants; k++)
        if (plants[k].field == T_H_DROP && same_id(plants[k].id, id) && plants[k].version == version)
            return 1;
    return 0;
}

static void alter_entry(const char *id, sfsm_history_entry *h)
{
    uint64_t version = h->version;
    for (size_t k = 0; k < nplants; k++) {
        const tamper_plant *p = &plants[k];
        if (!same_id(p->id, id) || p->version != version)
            continue;
        switch (p->field) {
        case T_H_AT: h->at_ms = p->i; break;
        case T_H_VERSION: h->version = (uint64_t)p->i; break;
        case T_H_KIND: h->kind = (int)p->i; break;
        case T_H_TO: h->to = p->s; break;
        case T_H_CHANGES: h->changes = p->s; break;
        case T_H_FIELDS: h->fields = (uint32_t)p->i; break;
        case T_H_FROM: h->from = p->s; break;
        default: break;
        }
    }
}

static void alter_payment(sfsm_payment *x)
{
    for (size_t k = 0; k < nplants; k++) {
        const tamper_plant *p = &plants[k];
        if (!same_id(p->id, x->opp_id) || (p->version != x->seq && p->version != 0))
            continue;
        if (p->field == T_P_AMOUNT)
            x->amount = p->i;
        else if (p->field == T_P_CURRENCY)
            x->currency = p->s;
        else if (p->field == T_P_AT)
            x->at_ms = p->i;
    }
}

/* ---- reads ---- */

typedef struct rctx {
    sfsm_record_cb cb;
    void *ud;
} rctx;

static int on_rec(const sfsm_record *r, void *ud)
{
    rctx *c = ud;
    sfsm_record x = *r;
    alter_record(&x);
    return c->cb(&x, c->ud);
}

static int w_scan(void *b, const sfsm_filter *f, sfsm_record_cb cb, void *ud)
{
    wrap *w = b;
    rctx c = { cb, ud };
    return w->in->scan(w->inner, f, on_rec, &c);
}

static int w_get(void *b, const char *id, sfsm_record *out)
{
    wrap *w = b;
    return w->in->get(w->inner, id, out);
}

typedef struct hctx {
    sfsm_history_cb cb;
    sfsm_history_scan_cb scb;
    const char *id;
    void *ud;
} hctx;

static int on_hist(const sfsm_history_entry *h, void *ud)
{
    hctx *c = ud;
    if (dropped(c->id, h->version))
        return 0;
    sfsm_history_entry x = *h;
    alter_entry(c->id, &x);
    return c->cb(&x, c->ud);
}

static int w_read_history(void *b, const char *id, sfsm_history_cb cb, void *ud)
{
    wrap *w = b;
    hctx c = { cb, NULL, id, ud };
    return w->in->read_history(w->inner, id, on_hist, &c);
}

static int on_scan_hist(const char *id, const sfsm_history_entry *h, void *ud)
{
    hctx *c = ud;
    if (dropped(id, h->version))
        return 0;
    sfsm_history_entry x = *h;
    alter_entry(id, &x);
    return c->scb(id, &x, c->ud);
}

static int w_history_scan(void *b, sfsm_history_scan_cb cb, void *ud)
{
    wrap *w = b;
    hctx c = { NULL, cb, NULL, ud };
    return w->in->history_scan(w->inner, on_scan_hist, &c);
}

typedef struct pctx {
    sfsm_payment_cb cb;
    void *ud;
} pctx;

static int on_pay(const sfsm_payment *p, void *ud)
{
    pctx *c = ud;
    sfsm_payment x = *p;
    alter_payment(&x);
    return c->cb(&x, c->ud);
}

static int w_payment_scan(void *b, const char *opp_id, sfsm_payment_cb cb, void *ud)
{
    wrap *w = b;
    pctx c = { cb, ud };
    return w->in->payment_scan(w->inner, opp_id, on_pay, &c);
}

/* ---- everything else passes through ---- */

static void w_close(void *b)
{
    wrap *w = b;
    w->in->close(w->inner);
    if (w->path[0]) {
        static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
        for (size_t i = 0; i < 4; i++) {
            char name[300];
            snprintf(name, sizeof name, "%s%s", w->path, suffix[i]);
            unlink(name);
        }
    }
    free(w);
}

#define PASS0(name) \
    static int w_##name(void *b) { wrap *w = b; return w->in->name(w->inner); }
PASS0(begin)
PASS0(commit)
PASS0(rollback)

static int w_put(void *b, const sfsm_record *rec, uint64_t expected, uint32_t changed)
{
    wrap *w = b;
    return w->in->put(w->inner, rec, expected, changed);
}

static int w_append_history(void *b, const char *id, const sfsm_history_entry *h)
{
    wrap *w = b;
    return w->in->append_history(w->inner, id, h);
}

static int w_stage_counts(void *b, sfsm_stage_count_cb cb, void *ud)
{
    wrap *w = b;
    return w->in->stage_counts(w->inner, cb, ud);
}

static int w_team_put(void *b, const char *owner, const char *team)
{
    wrap *w = b;
    return w->in->team_put(w->inner, owner, team);
}

static int w_team_scan(void *b, const char *team, sfsm_team_cb cb, void *ud)
{
    wrap *w = b;
    return w->in->team_scan(w->inner, team, cb, ud);
}

static int w_target_put(void *b, const sfsm_target *t)
{
    wrap *w = b;
    return w->in->target_put(w->inner, t);
}

static int w_target_scan(void *b, sfsm_subject_kind kind, const char *subject, int year, sfsm_target_cb cb, void *ud)
{
    wrap *w = b;
    return w->in->target_scan(w->inner, kind, subject, year, cb, ud);
}

static int w_payment_add(void *b, const sfsm_payment *p)
{
    wrap *w = b;
    return w->in->payment_add(w->inner, p);
}

sfsm_store *tamper_open(void)
{
    wrap *w = calloc(1, sizeof *w);
    assert_non_null(w);
    const char *which = getenv("SFSM_TEST_STORE");
    if (which && strcmp(which, "sqlite") == 0) {
        const char *dir = getenv("TMPDIR");
        snprintf(w->path, sizeof w->path, "%s/sfsm-tamper-XXXXXX", dir && *dir ? dir : "/tmp");
        int fd = mkstemp(w->path);
        assert_true(fd >= 0);
        close(fd);
        sfsm_sqlite_options o = SFSM_SQLITE_OPTIONS_INIT;
        o.synchronous = SFSM_SQLITE_SYNC_OFF;
        w->in = sfsm__sqlite_ops();
        assert_int_equal(sfsm__sqlite_backend(w->path, &o, &w->inner), SFSM_OK);
    } else {
        w->in = &sfsm__memory_ops;
        assert_int_equal(sfsm__memory_backend(&w->inner), SFSM_OK);
    }
    assert_non_null(w->in->history_scan);
    static sfsm_store_ops ops;
    ops = (sfsm_store_ops){ .version = SFSM_STORE_OPS_VERSION,
                            .close = w_close,
                            .begin = w_begin,
                            .commit = w_commit,
                            .rollback = w_rollback,
                            .get = w_get,
                            .put = w_put,
                            .append_history = w_append_history,
                            .read_history = w_read_history,
                            .scan = w_scan,
                            .stage_counts = w->in->stage_counts ? w_stage_counts : NULL,
                            .team_put = w_team_put,
                            .team_scan = w_team_scan,
                            .target_put = w_target_put,
                            .target_scan = w_target_scan,
                            .payment_add = w_payment_add,
                            .payment_scan = w_payment_scan,
                            .history_scan = tamper_history_scan ? w_history_scan : NULL };
    sfsm_store *s = NULL;
    assert_int_equal(sfsm_store_new(&s, &ops, w), SFSM_OK);
    return s;
}

void tamper_close(sfsm_store *s)
{
    tamper_clear();
    sfsm_store_close(s);
}
