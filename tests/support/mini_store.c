/* The backend of mini_store.h. */
#define _POSIX_C_SOURCE 200809L   /* strdup */
#include "mini_store.h"

#include <stdlib.h>
#include <string.h>

const char *mini_keep(mini_store *m, const char *s)
{
    if (!s)
        return NULL;
    m->strs = realloc(m->strs, (m->nstrs + 1) * sizeof *m->strs);
    assert_non_null(m->strs);
    m->strs[m->nstrs] = strdup(s);
    assert_non_null(m->strs[m->nstrs]);
    return m->strs[m->nstrs++];
}

/* Rollback undoes nothing (mini_store.h). */
static int m_txn(void *b)
{
    (void)b;
    return SFSM_OK;
}

sfsm_record *mini_find(mini_store *m, const char *id)
{
    for (size_t k = 0; k < m->nrec; k++)
        if (m->rec[k].id && strcmp(m->rec[k].id, id) == 0)
            return &m->rec[k];
    return NULL;
}

static int m_get(void *b, const char *id, sfsm_record *out)
{
    sfsm_record *r = mini_find(b, id);
    if (!r)
        return sfsm_error_set(SFSM_ENOTFOUND, "no opportunity '%s'", id);
    *out = *r;
    return SFSM_OK;
}

static int m_put(void *b, const sfsm_record *in, uint64_t expected, uint32_t changed)
{
    (void)changed;
    mini_store *m = b;
    sfsm_record *r = mini_find(m, in->id);
    if (expected == 0) {
        if (r)
            return sfsm_error_set(SFSM_EEXISTS, "'%s' exists", in->id);
        assert_true(m->nrec < MINI_RECS);
        r = &m->rec[m->nrec++];
    } else if (!r) {
        return sfsm_error_set(SFSM_ENOTFOUND, "no opportunity '%s'", in->id);
    } else if (r->version != expected) {
        return sfsm_error_set(SFSM_ECONFLICT, "'%s' changed", in->id);
    }
    sfsm_attr *attrs = m->attrs[r - m->rec];
    assert_true(in->attr_count <= MINI_ATTRS);
    for (size_t k = 0; k < in->attr_count; k++) {
        attrs[k].key = mini_keep(m, in->attrs[k].key);
        attrs[k].value = mini_keep(m, in->attrs[k].value);
    }
    *r = *in;
    r->id = mini_keep(m, in->id);
    r->stage = mini_keep(m, in->stage);
    r->currency = mini_keep(m, in->currency);
    r->customer = mini_keep(m, in->customer);
    r->owner = mini_keep(m, in->owner);
    r->title = mini_keep(m, in->title);
    r->pipeline = mini_keep(m, in->pipeline);
    r->attrs = attrs;
    return SFSM_OK;
}

static int m_append(void *b, const char *id, const sfsm_history_entry *e)
{
    mini_store *m = b;
    assert_true(m->nhist < MINI_HIST);
    mini_hist *h = &m->hist[m->nhist++];
    h->id = mini_keep(m, id);
    h->h = *e;
    h->h.event = mini_keep(m, e->event);
    h->h.from = mini_keep(m, e->from);
    h->h.to = mini_keep(m, e->to);
    h->h.actor = mini_keep(m, e->actor);
    h->h.role = mini_keep(m, e->role);
    h->h.note = mini_keep(m, e->note);
    h->h.changes = mini_keep(m, e->changes);
    return SFSM_OK;
}

/* By version as a signed column sorts it, as the SQLite store reads. */
static int m_read_history(void *b, const char *id, sfsm_history_cb cb, void *ud)
{
    mini_store *m = b;
    if (!mini_find(m, id))
        return sfsm_error_set(SFSM_ENOTFOUND, "no opportunity '%s'", id);
    const mini_hist *v[MINI_HIST];
    size_t n = 0;
    for (size_t k = 0; k < m->nhist; k++) {
        if (strcmp(m->hist[k].id, id) != 0)
            continue;
        size_t at = n++;
        for (; at > 0 && (int64_t)v[at - 1]->h.version > (int64_t)m->hist[k].h.version; at--)
            v[at] = v[at - 1];
        v[at] = &m->hist[k];
    }
    for (size_t k = 0; k < n; k++) {
        int rc = cb(&v[k]->h, ud);
        if (rc)
            return rc;
    }
    return SFSM_OK;
}

static int m_scan(void *b, const sfsm_filter *f, sfsm_record_cb cb, void *ud)
{
    mini_store *m = b;
    for (size_t k = 0; k < m->nrec; k++) {
        const sfsm_record *r = &m->rec[k];
        if ((f->stage && (!r->stage || strcmp(f->stage, r->stage) != 0)) ||
            (f->owner && (!r->owner || strcmp(f->owner, r->owner) != 0)) ||
            (f->customer && (!r->customer || strcmp(f->customer, r->customer) != 0)))
            continue;
        int rc = cb(r, ud);
        if (rc)
            return rc;
    }
    return SFSM_OK;
}

static int m_team_put(void *b, const char *owner, const char *team)
{
    mini_store *m = b;
    assert_non_null(team);
    assert_true(m->nteam < MINI_ROWS);
    m->team_owner[m->nteam] = mini_keep(m, owner);
    m->team_name[m->nteam++] = mini_keep(m, team);
    return SFSM_OK;
}

static int m_team_scan(void *b, const char *team, sfsm_team_cb cb, void *ud)
{
    mini_store *m = b;
    for (size_t k = 0; k < m->nteam; k++) {
        if (team && strcmp(team, m->team_name[k]) != 0)
            continue;
        int rc = cb(m->team_owner[k], m->team_name[k], ud);
        if (rc)
            return rc;
    }
    return SFSM_OK;
}

static int m_target_put(void *b, const sfsm_target *t)
{
    mini_store *m = b;
    assert_true(m->ntgt < MINI_ROWS);
    m->tgt[m->ntgt] = *t;
    m->tgt[m->ntgt].subject = mini_keep(m, t->subject);
    m->tgt[m->ntgt++].currency = mini_keep(m, t->currency);
    return SFSM_OK;
}

static int m_target_scan(void *b, sfsm_subject_kind kind, const char *subject, int year, sfsm_target_cb cb, void *ud)
{
    (void)kind;
    (void)subject;
    (void)year;
    mini_store *m = b;
    for (size_t k = 0; k < m->ntgt; k++) {
        int rc = cb(&m->tgt[k], ud);
        if (rc)
            return rc;
    }
    return SFSM_OK;
}

static int m_payment_add(void *b, const sfsm_payment *p)
{
    mini_store *m = b;
    assert_true(m->npay < MINI_ROWS);
    m->pay[m->npay] = *p;
    m->pay[m->npay].opp_id = mini_keep(m, p->opp_id);
    m->pay[m->npay].currency = mini_keep(m, p->currency);
    m->pay[m->npay++].note = mini_keep(m, p->note);
    return SFSM_OK;
}

static int m_payment_scan(void *b, const char *opp_id, sfsm_payment_cb cb, void *ud)
{
    mini_store *m = b;
    for (size_t k = 0; k < m->npay; k++) {
        if (opp_id && strcmp(opp_id, m->pay[k].opp_id) != 0)
            continue;
        int rc = cb(&m->pay[k], ud);
        if (rc)
            return rc;
    }
    return SFSM_OK;
}

static void m_close(void *b)
{
    mini_store *m = b;
    for (size_t k = 0; k < m->nstrs; k++)
        free(m->strs[k]);
    free(m->strs);
    free(m);
}

const sfsm_store_ops mini_store_ops = {
    .version = 3,
    .close = m_close,
    .begin = m_txn,
    .commit = m_txn,
    .rollback = m_txn,
    .get = m_get,
    .put = m_put,
    .append_history = m_append,
    .read_history = m_read_history,
    .scan = m_scan,
    .team_put = m_team_put,
    .team_scan = m_team_scan,
    .target_put = m_target_put,
    .target_scan = m_target_scan,
    .payment_add = m_payment_add,
    .payment_scan = m_payment_scan,
};

static int64_t mini_clock(void *ud)
{
    return ((fixture *)ud)->now;
}

fixture *mini_fixture_new(const sfsm_store_ops *ops, mini_store **m)
{
    const char *which = getenv("SFSM_TEST_STORE");
    if (which && strcmp(which, "sqlite") == 0) {
        *m = NULL;
        return fixture_new();
    }
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->now = T0_MS;
    *m = calloc(1, sizeof **m);
    assert_non_null(*m);
    assert_int_equal(sfsm_pipeline_default(&f->pipeline), SFSM_OK);
    assert_int_equal(sfsm_store_new(&f->store, ops ? ops : &mini_store_ops, *m), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&f->engine, f->pipeline, f->store), SFSM_OK);
    assert_int_equal(sfsm_engine_set_clock(f->engine, mini_clock, f), SFSM_OK);
    return f;
}
