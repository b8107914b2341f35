/* User storage backends (sys/store.h): validation in sfsm_store_new, the
 * calls the engine makes, and failures injected into a fake backend. */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"
#include <salesfsm/sys/store.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the fake backend: records and history in arrays, strings copied ---- */

typedef struct fhist {
    uint64_t version;
    int64_t at_ms;
    int kind;
    char *event, *from, *to, *actor, *role, *note, *changes;
    uint32_t fields;
} fhist;

typedef struct frec {
    char *id, *stage, *currency, *customer, *owner, *title, *pipeline;
    uint64_t version;
    int64_t amount, expected_close_ms, created_ms, updated_ms, stage_entered_ms;
    uint32_t pipeline_version;
    sfsm_attr *attrs;   /* key/value strings owned */
    size_t attr_count;
    fhist *hist;
    size_t hist_count;
} frec;

typedef struct fstate {
    frec *recs;
    size_t n;
} fstate;

typedef struct fake {
    fstate cur;
    fstate snaps[16];
    int depth;
    /* switches */
    int fail_put, fail_append, fail_commit, fail_get;
    /* call counters */
    int n_close, n_begin, n_commit, n_rollback, n_get, n_put, n_append, n_read, n_scan;
    int stray_rollbacks;          /* rollback with no transaction open */
    int calls_outside_txn;        /* put/append outside begin..commit */
    void *close_arg;
    uint64_t last_expected;
    uint32_t last_changed;
    int scan_got_null_filter;
} fake;

static char *xdup(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static void hist_free(fhist *h)
{
    free(h->event);
    free(h->from);
    free(h->to);
    free(h->actor);
    free(h->role);
    free(h->note);
    free(h->changes);
}

static void hist_copy(fhist *d, const sfsm_history_entry *s)
{
    d->version = s->version;
    d->at_ms = s->at_ms;
    d->kind = s->kind;
    d->event = xdup(s->event);
    d->from = xdup(s->from);
    d->to = xdup(s->to);
    d->actor = xdup(s->actor);
    d->role = xdup(s->role);
    d->note = xdup(s->note);
    d->changes = xdup(s->changes);
    d->fields = s->fields;
}

static void rec_free_fields(frec *r)
{
    free(r->stage);
    free(r->currency);
    free(r->customer);
    free(r->owner);
    free(r->title);
    free(r->pipeline);
    for (size_t i = 0; i < r->attr_count; i++) {
        free((char *)r->attrs[i].key);
        free((char *)r->attrs[i].value);
    }
    free(r->attrs);
    r->attrs = NULL;
    r->attr_count = 0;
}

static void rec_set_fields(frec *r, const sfsm_record *s)
{
    r->stage = xdup(s->stage);
    r->currency = xdup(s->currency);
    r->customer = xdup(s->customer);
    r->owner = xdup(s->owner);
    r->title = xdup(s->title);
    r->pipeline = xdup(s->pipeline);
    r->version = s->version;
    r->amount = s->amount;
    r->expected_close_ms = s->expected_close_ms;
    r->created_ms = s->created_ms;
    r->updated_ms = s->updated_ms;
    r->stage_entered_ms = s->stage_entered_ms;
    r->pipeline_version = s->pipeline_version;
    r->attr_count = s->attr_count;
    r->attrs = s->attr_count ? calloc(s->attr_count, sizeof *r->attrs) : NULL;
    for (size_t i = 0; i < s->attr_count; i++) {
        r->attrs[i].key = xdup(s->attrs[i].key);
        r->attrs[i].value = xdup(s->attrs[i].value);
    }
}

static void rec_to_record(const frec *r, sfsm_record *out)
{
    memset(out, 0, sizeof *out);
    out->id = r->id;
    out->stage = r->stage;
    out->version = r->version;
    out->amount = r->amount;
    out->currency = r->currency;
    out->customer = r->customer;
    out->owner = r->owner;
    out->title = r->title;
    out->expected_close_ms = r->expected_close_ms;
    out->created_ms = r->created_ms;
    out->updated_ms = r->updated_ms;
    out->stage_entered_ms = r->stage_entered_ms;
    out->attrs = r->attrs;
    out->attr_count = r->attr_count;
    out->pipeline = r->pipeline;
    out->pipeline_version = r->pipeline_version;
}

static void state_free(fstate *s)
{
    for (size_t i = 0; i < s->n; i++) {
        frec *r = &s->recs[i];
        free(r->id);
        rec_free_fields(r);
        for (size_t j = 0; j < r->hist_count; j++)
            hist_free(&r->hist[j]);
        free(r->hist);
    }
    free(s->recs);
    s->recs = NULL;
    s->n = 0;
}

static void state_copy(fstate *d, const fstate *s)
{
    d->n = s->n;
    d->recs = s->n ? calloc(s->n, sizeof *d->recs) : NULL;
    for (size_t i = 0; i < s->n; i++) {
        const frec *r = &s->recs[i];
        frec *c = &d->recs[i];
        sfsm_record tmp;
        rec_to_record(r, &tmp);
        c->id = xdup(r->id);
        rec_set_fields(c, &tmp);
        c->hist_count = r->hist_count;
        c->hist = r->hist_count ? calloc(r->hist_count, sizeof *c->hist) : NULL;
        for (size_t j = 0; j < r->hist_count; j++) {
            const fhist *h = &r->hist[j];
            sfsm_history_entry e = { h->version, h->at_ms, h->kind, h->event, h->from, h->to,
                                     h->actor, h->role, h->note, h->fields, h->changes };
            hist_copy(&c->hist[j], &e);
        }
    }
}

static frec *find(fake *fk, const char *id)
{
    for (size_t i = 0; i < fk->cur.n; i++)
        if (strcmp(fk->cur.recs[i].id, id) == 0)
            return &fk->cur.recs[i];
    return NULL;
}

static void fk_close(void *b)
{
    fake *fk = b;
    fk->n_close++;
    fk->close_arg = b;
}

static int fk_begin(void *b)
{
    fake *fk = b;
    fk->n_begin++;
    if (fk->depth == 16)
        return sfsm_error_set(SFSM_ESTORAGE, "fake backend: too deep");
    state_copy(&fk->snaps[fk->depth++], &fk->cur);
    return SFSM_OK;
}

static int fk_commit(void *b)
{
    fake *fk = b;
    fk->n_commit++;
    if (fk->depth == 0)
        return sfsm_error_set(SFSM_ESTORAGE, "fake backend: commit without begin");
    if (fk->fail_commit) {
        /* A failed commit leaves nothing changed. */
        state_free(&fk->cur);
        fk->cur = fk->snaps[--fk->depth];
        return sfsm_error_set(SFSM_ESTORAGE, "fake backend: commit failed (fsync error)");
    }
    state_free(&fk->snaps[--fk->depth]);
    return SFSM_OK;
}

static int fk_rollback(void *b)
{
    fake *fk = b;
    fk->n_rollback++;
    if (fk->depth == 0) {
        fk->stray_rollbacks++;
        return SFSM_OK;
    }
    state_free(&fk->cur);
    fk->cur = fk->snaps[--fk->depth];
    return SFSM_OK;
}

static int fk_get(void *b, const char *id, sfsm_record *out)
{
    fake *fk = b;
    fk->n_get++;
    if (fk->fail_get)
        return sfsm_error_set(SFSM_ESTORAGE, "fake backend: cannot read '%s'", id);
    frec *r = find(fk, id);
    if (!r)
        return sfsm_error_set(SFSM_ENOTFOUND, "fake backend: no opportunity '%s'", id);
    rec_to_record(r, out);
    return SFSM_OK;
}

static int fk_put(void *b, const sfsm_record *rec, uint64_t expected, uint32_t changed)
{
    fake *fk = b;
    fk->n_put++;
    if (fk->depth == 0)
        fk->calls_outside_txn++;
    fk->last_expected = expected;
    fk->last_changed = changed;
    if (fk->fail_put)
        return sfsm_error_set(SFSM_ESTORAGE, "fake backend: put of '%s' failed (disk full)", rec->id);
    frec *r = find(fk, rec->id);
    if (expected == 0) {
        if (r)
            return sfsm_error_set(SFSM_EEXISTS, "fake backend: '%s' exists", rec->id);
        frec *grown = realloc(fk->cur.recs, (fk->cur.n + 1) * sizeof *grown);
        if (!grown)
            abort();
        fk->cur.recs = grown;
        r = &fk->cur.recs[fk->cur.n++];
        memset(r, 0, sizeof *r);
        r->id = xdup(rec->id);
        rec_set_fields(r, rec);
        return SFSM_OK;
    }
    if (!r)
        return sfsm_error_set(SFSM_ENOTFOUND, "fake backend: no opportunity '%s'", rec->id);
    if (r->version != expected)
        return sfsm_error_set(SFSM_ECONFLICT, "fake backend: '%s' is at version %llu, not %llu",
                              rec->id, (unsigned long long)r->version, (unsigned long long)expected);
    rec_free_fields(r);
    rec_set_fields(r, rec);
    return SFSM_OK;
}

static int fk_append(void *b, const char *id, const sfsm_history_entry *e)
{
    fake *fk = b;
    fk->n_append++;
    if (fk->depth == 0)
        fk->calls_outside_txn++;
    if (fk->fail_append)
        return sfsm_error_set(SFSM_ESTORAGE, "fake backend: history of '%s' not writable", id);
    frec *r = find(fk, id);
    if (!r)
        return sfsm_error_set(SFSM_ENOTFOUND, "fake backend: no opportunity '%s'", id);
    fhist *grown = realloc(r->hist, (r->hist_count + 1) * sizeof *grown);
    if (!grown)
        abort();
    r->hist = grown;
    hist_copy(&r->hist[r->hist_count++], e);
    return SFSM_OK;
}

static int fk_read(void *b, const char *id, sfsm_history_cb cb, void *ud)
{
    fake *fk = b;
    fk->n_read++;
    frec *r = find(fk, id);
    if (!r)
        return sfsm_error_set(SFSM_ENOTFOUND, "fake backend: no opportunity '%s'", id);
    for (size_t i = 0; i < r->hist_count; i++) {
        const fhist *h = &r->hist[i];
        sfsm_history_entry e = { h->version, h->at_ms, h->kind, h->event, h->from, h->to,
                                 h->actor, h->role, h->note, h->fields, h->changes };
        int rc = cb(&e, ud);
        if (rc)
            return rc;
    }
    return SFSM_OK;
}

static int str_match(const char *want, const char *have)
{
    return !want || (have && strcmp(want, have) == 0);
}

static int fk_scan(void *b, const sfsm_filter *f, sfsm_record_cb cb, void *ud)
{
    fake *fk = b;
    fk->n_scan++;
    if (!f) {
        fk->scan_got_null_filter = 1;
        return sfsm_error_set(SFSM_EINVAL, "fake backend: NULL filter");
    }
    for (size_t i = 0; i < fk->cur.n; i++) {
        const frec *r = &fk->cur.recs[i];
        if (!str_match(f->stage, r->stage) || !str_match(f->owner, r->owner) ||
            !str_match(f->customer, r->customer) || r->updated_ms < f->changed_since_ms)
            continue;
        sfsm_record rec;
        rec_to_record(r, &rec);
        int rc = cb(&rec, ud);
        if (rc)
            return rc;
    }
    return SFSM_OK;
}

static const sfsm_store_ops FAKE_OPS = {
    2, fk_close, fk_begin, fk_commit, fk_rollback,
    fk_get, fk_put, fk_append, fk_read, fk_scan, NULL, /* no stage_counts: the engine scans */
    NULL, NULL, NULL, NULL, NULL, NULL, NULL,         /* version 3 members: not a version-3 backend */
};

static void fake_free(fake *fk)
{
    state_free(&fk->cur);
    while (fk->depth > 0)
        state_free(&fk->snaps[--fk->depth]);
    free(fk);
}

/* A readable summary of the fake's data for one id. */
static char *fake_dump(fake *fk, const char *id)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    const frec *r = find(fk, id);
    if (!r) {
        fprintf(fp, "(absent)");
    } else {
        fprintf(fp, "stage=%s v=%llu amount=%lld cur=%s cust=%s owner=%s title=%s updated=%lld "
                    "entered=%lld attrs=%zu history=%zu",
                r->stage, (unsigned long long)r->version, (long long)r->amount,
                r->currency ? r->currency : "-", r->customer ? r->customer : "-",
                r->owner ? r->owner : "-", r->title ? r->title : "-", (long long)r->updated_ms,
                (long long)r->stage_entered_ms, r->attr_count, r->hist_count);
        for (size_t j = 0; j < r->hist_count; j++)
            fprintf(fp, " [%llu %d %s]", (unsigned long long)r->hist[j].version, r->hist[j].kind,
                    r->hist[j].to ? r->hist[j].to : "-");
    }
    fprintf(fp, " recs=%zu", fk->cur.n);
    fclose(fp);
    return buf;
}

/* ---- a world over the fake ---- */

typedef struct world {
    fake *fk;
    sfsm_pipeline *p;
    sfsm_store *s;
    sfsm_engine *e;
    int64_t now;
    int exits, enters, afters;
} world;

static int64_t world_clock(void *ud)
{
    return ((world *)ud)->now;
}

static void w_exit(const sfsm_transition *t, void *ud) { (void)t; ((world *)ud)->exits++; }
static void w_enter(const sfsm_transition *t, void *ud) { (void)t; ((world *)ud)->enters++; }
static void w_after(const sfsm_transition *t, void *ud) { (void)t; ((world *)ud)->afters++; }

static world *world_new(void)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->fk = calloc(1, sizeof *w->fk);
    assert_non_null(w->fk);
    w->now = T0_MS;
    assert_int_equal(sfsm_pipeline_default(&w->p), SFSM_OK);
    assert_int_equal(sfsm_store_new(&w->s, &FAKE_OPS, w->fk), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&w->e, w->p, w->s), SFSM_OK);
    assert_int_equal(sfsm_engine_set_clock(w->e, world_clock, w), SFSM_OK);
    assert_int_equal(sfsm_engine_on_exit(w->e, NULL, w_exit, w), SFSM_OK);
    assert_int_equal(sfsm_engine_on_enter(w->e, NULL, w_enter, w), SFSM_OK);
    assert_int_equal(sfsm_engine_on_after(w->e, NULL, w_after, w), SFSM_OK);
    return w;
}

static void world_free(world *w)
{
    sfsm_engine_free(w->e);
    sfsm_store_close(w->s);
    assert_int_equal(w->fk->n_close, 1);
    sfsm_pipeline_free(w->p);
    fake_free(w->fk);
    free(w);
}

typedef struct calls {
    int begin, commit, rollback, put, append;
} calls;

static calls snap_calls(const fake *fk)
{
    calls c = { fk->n_begin, fk->n_commit, fk->n_rollback, fk->n_put, fk->n_append };
    return c;
}

#define assert_calls_delta(fk, before, b, c, r, p, a)                          \
    do {                                                                       \
        calls now_ = snap_calls(fk);                                           \
        assert_int_equal(now_.begin - (before).begin, (b));                    \
        assert_int_equal(now_.commit - (before).commit, (c));                  \
        assert_int_equal(now_.rollback - (before).rollback, (r));              \
        assert_int_equal(now_.put - (before).put, (p));                        \
        assert_int_equal(now_.append - (before).append, (a));                  \
    } while (0)

/* ---- validation ---- */

static void test_store_new_validation(void **state)
{
    (void)state;
    fake *fk = calloc(1, sizeof *fk);
    assert_non_null(fk);
    static int sentinel;
    sfsm_store *s = (sfsm_store *)(void *)&sentinel;

    assert_int_equal(sfsm_store_new(&s, NULL, fk), SFSM_EINVAL);
    assert_null(s);
    assert_int_equal(sfsm_store_new(NULL, &FAKE_OPS, fk), SFSM_EINVAL);

    sfsm_store_ops ops = FAKE_OPS;
    ops.version = 0;
    s = (sfsm_store *)(void *)&sentinel;
    assert_int_equal(sfsm_store_new(&s, &ops, fk), SFSM_EVERSION);
    assert_null(s);
    ops.version = SFSM_STORE_OPS_VERSION + 1;
    s = (sfsm_store *)(void *)&sentinel;
    assert_int_equal(sfsm_store_new(&s, &ops, fk), SFSM_EVERSION);
    assert_null(s);

    static const char *const names[] = { "begin", "commit", "rollback", "get", "put",
                                         "append_history", "read_history", "scan" };
    for (int i = 0; i < 8; i++) {
        ops = FAKE_OPS;
        switch (i) {
        case 0: ops.begin = NULL; break;
        case 1: ops.commit = NULL; break;
        case 2: ops.rollback = NULL; break;
        case 3: ops.get = NULL; break;
        case 4: ops.put = NULL; break;
        case 5: ops.append_history = NULL; break;
        case 6: ops.read_history = NULL; break;
        case 7: ops.scan = NULL; break;
        }
        s = (sfsm_store *)(void *)&sentinel;
        assert_int_equal(sfsm_store_new(&s, &ops, fk), SFSM_EINVAL);
        assert_null(s);
        assert_msg_has(names[i]);
    }
    /* "get" must not be satisfied by the message for "begin": check that the
     * messages differ between members. */
    ops = FAKE_OPS;
    ops.put = NULL;
    assert_int_equal(sfsm_store_new(&s, &ops, fk), SFSM_EINVAL);
    char put_msg[256];
    snprintf(put_msg, sizeof put_msg, "%s", sfsm_errmsg());
    ops = FAKE_OPS;
    ops.scan = NULL;
    assert_int_equal(sfsm_store_new(&s, &ops, fk), SFSM_EINVAL);
    assert_string_not_equal(sfsm_errmsg(), put_msg);

    /* No failed sfsm_store_new called close, and none touched the backend. */
    assert_int_equal(fk->n_close, 0);
    assert_int_equal(fk->n_begin + fk->n_get + fk->n_put + fk->n_scan, 0);
    fake_free(fk);
}

static void test_store_new_without_close(void **state)
{
    (void)state;
    fake *fk = calloc(1, sizeof *fk);
    assert_non_null(fk);
    sfsm_store_ops ops = FAKE_OPS;
    ops.close = NULL;
    sfsm_store *s = NULL;
    assert_int_equal(sfsm_store_new(&s, &ops, fk), SFSM_OK);
    assert_non_null(s);
    sfsm_pipeline *p = NULL;
    sfsm_engine *e = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(e, "no-close", &o), SFSM_OK);
    sfsm_opp_free(o);
    sfsm_engine_free(e);
    sfsm_store_close(s);
    assert_int_equal(fk->n_close, 0);
    assert_int_equal(fk->cur.n, 1);   /* the backend's data is the application's */
    sfsm_pipeline_free(p);
    fake_free(fk);
}

static void test_close_called_once(void **state)
{
    (void)state;
    fake *fk = calloc(1, sizeof *fk);
    assert_non_null(fk);
    sfsm_store *s = NULL;
    assert_int_equal(sfsm_store_new(&s, &FAKE_OPS, fk), SFSM_OK);
    sfsm_pipeline *p = NULL;
    sfsm_engine *e = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(e, "c", &o), SFSM_OK);
    sfsm_opp_free(o);
    sfsm_engine_free(e);
    assert_int_equal(fk->n_close, 0);
    sfsm_store_close(s);
    assert_int_equal(fk->n_close, 1);
    assert_ptr_equal(fk->close_arg, fk);
    sfsm_pipeline_free(p);
    fake_free(fk);
}

static void test_ops_table_is_copied(void **state)
{
    (void)state;
    fake *fk = calloc(1, sizeof *fk);
    assert_non_null(fk);
    sfsm_store_ops *ops = malloc(sizeof *ops);
    assert_non_null(ops);
    *ops = FAKE_OPS;
    sfsm_store *s = NULL;
    assert_int_equal(sfsm_store_new(&s, ops, fk), SFSM_OK);
    memset(ops, 0, sizeof *ops);
    free(ops);
    sfsm_pipeline *p = NULL;
    sfsm_engine *e = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&e, p, s), SFSM_OK);
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(e, "copied", &o), SFSM_OK);
    assert_int_equal(fk->n_put, 1);
    sfsm_opp_free(o);
    sfsm_engine_free(e);
    sfsm_store_close(s);
    assert_int_equal(fk->n_close, 1);
    sfsm_pipeline_free(p);
    fake_free(fk);
}

/* ---- a full lifecycle through the fake ---- */

static int stop_at_third(const sfsm_history_entry *h, void *ud)
{
    int *n = ud;
    if ((uint64_t)++*n != h->version)
        return -1000;
    return *n == 3 ? 33 : 0;
}

static void test_lifecycle(void **state)
{
    (void)state;
    world *w = world_new();
    fake *fk = w->fk;

    calls c0 = snap_calls(fk);
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "life";
    opts.customer = "Acme Ltd";
    opts.amount = 990000;
    opts.currency = "CNY";
    opts.actor = &REP;
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create_ext(w->e, &opts, &o), SFSM_OK);
    assert_calls_delta(fk, c0, 1, 1, 0, 1, 1);
    assert_int_equal(fk->last_expected, 0);
    assert_int_equal(fk->depth, 0);
    frec *r = find(fk, "life");
    assert_non_null(r);
    assert_string_equal(r->stage, "lead");
    assert_int_equal(r->version, 1);
    assert_string_equal(r->customer, "Acme Ltd");
    assert_null(r->owner);      /* absent strings are NULL, never "" */
    assert_null(r->title);
    assert_int_equal(r->amount, 990000);
    assert_string_equal(r->currency, "CNY");
    assert_int_equal(r->created_ms, T0_MS);
    assert_string_equal(r->pipeline, "default");
    assert_int_equal(r->pipeline_version, sfsm_pipeline_version(w->p));
    assert_int_equal(r->hist_count, 1);
    assert_int_equal(r->hist[0].version, 1);
    assert_int_equal(r->hist[0].kind, SFSM_HISTORY_CREATE);
    assert_string_equal(r->hist[0].actor, REP.name);

    const char *events[] = { "qualify", "quote", "negotiate", "sign", "deliver", "service" };
    const char *stages[] = { "qualified", "quoted", "negotiating", "signed", "delivered", "serviced" };
    for (int i = 0; i < 6; i++) {
        w->now += DAY_MS;
        if (i == 2)
            assert_int_equal(sfsm_opp_set_title(o, "negotiation round"), SFSM_OK);
        calls c = snap_calls(fk);
        assert_int_equal(sfsm_fire(w->e, o, events[i], &MANAGER, NULL), SFSM_OK);
        assert_calls_delta(fk, c, 1, 1, 0, 1, 1);
        assert_int_equal(fk->last_expected, (uint64_t)i + 1);
        assert_int_equal(fk->depth, 0);
        r = find(fk, "life");
        assert_string_equal(r->stage, stages[i]);
        assert_int_equal(r->version, (uint64_t)i + 2);
        assert_int_equal(r->stage_entered_ms, w->now);
        assert_int_equal(r->updated_ms, w->now);
        assert_int_equal(r->created_ms, T0_MS);
        assert_int_equal(r->hist_count, (size_t)i + 2);
        fhist *h = &r->hist[i + 1];
        assert_int_equal(h->version, (uint64_t)i + 2);
        assert_int_equal(h->kind, SFSM_HISTORY_TRANSITION);
        assert_string_equal(h->event, events[i]);
        assert_string_equal(h->to, stages[i]);
        assert_int_equal(h->at_ms, w->now);
        if (i == 2) {
            assert_true(fk->last_changed & SFSM_FIELD_TITLE);
            assert_string_equal(r->title, "negotiation round");
            assert_int_equal(h->fields, SFSM_FIELD_TITLE);
        }
    }
    assert_int_equal(w->afters, 6);
    assert_int_equal(w->exits, 6);
    assert_int_equal(w->enters, 6);

    /* A save: one put (with the changed bits) and one entry. */
    assert_int_equal(sfsm_opp_set_owner(o, "li"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "po", "4711"), SFSM_OK);
    calls c = snap_calls(fk);
    assert_int_equal(sfsm_opp_save(w->e, o), SFSM_OK);
    assert_calls_delta(fk, c, 1, 1, 0, 1, 1);
    assert_int_equal(fk->last_changed, SFSM_FIELD_OWNER | SFSM_FIELD_ATTRS);
    assert_int_equal(fk->last_expected, 7);
    r = find(fk, "life");
    assert_int_equal(r->version, 8);
    assert_int_equal(r->attr_count, 1);
    assert_string_equal(r->attrs[0].key, "po");
    assert_int_equal(r->hist[7].kind, SFSM_HISTORY_UPDATE);
    /* A cleared field reaches the backend as NULL, never "". */
    assert_int_equal(sfsm_opp_set_title(o, ""), SFSM_OK);
    assert_int_equal(sfsm_opp_save(w->e, o), SFSM_OK);
    assert_int_equal(fk->last_changed, SFSM_FIELD_TITLE);
    r = find(fk, "life");
    assert_null(r->title);
    assert_int_equal(r->version, 9);
    /* Nothing to save: no backend write at all. */
    c = snap_calls(fk);
    assert_int_equal(sfsm_opp_save(w->e, o), SFSM_OK);
    assert_int_equal(fk->n_put, c.put);
    assert_int_equal(fk->n_append, c.append);
    assert_int_equal(fk->calls_outside_txn, 0);
    sfsm_opp_free(o);

    /* Reading goes through get, read_history and scan. */
    int gets = fk->n_get;
    assert_int_equal(sfsm_opp_open(w->e, "life", &o), SFSM_OK);
    assert_true(fk->n_get > gets);
    assert_string_equal(sfsm_opp_stage(o), "serviced");
    assert_string_equal(sfsm_opp_owner(o), "li");
    assert_string_equal(sfsm_opp_attr(o, "po"), "4711");
    assert_int_equal(sfsm_opp_version(o), 9);
    assert_null(sfsm_opp_title(o));
    sfsm_opp_free(o);
    assert_int_equal(sfsm_opp_open(w->e, "missing", &o), SFSM_ENOTFOUND);
    assert_null(o);

    int reads = fk->n_read;
    assert_int_equal(history_count(w->e, "life"), 9);
    assert_true(fk->n_read > reads);
    assert_int_equal(sfsm_opp_history(w->e, "missing", stop_at_third, &reads), SFSM_ENOTFOUND);
    reads = 0;
    assert_int_equal(sfsm_opp_history(w->e, "life", stop_at_third, &reads), 33);
    assert_int_equal(reads, 3);

    world_free(w);
}

static void test_scan_through_backend(void **state)
{
    (void)state;
    world *w = world_new();
    fake *fk = w->fk;
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        sfsm_opp *o = NULL;
        assert_int_equal(sfsm_opp_create(w->e, id, &o), SFSM_OK);
        assert_int_equal(sfsm_opp_set_customer(o, "Acme"), SFSM_OK);
        if (i == 1)
            assert_int_equal(sfsm_fire(w->e, o, "qualify", &REP, NULL), SFSM_OK);
        sfsm_opp_free(o);
    }
    int scans = fk->n_scan;
    size_t n = 0;
    assert_int_equal(sfsm_scan(w->e, NULL, count_opps_cb, &n), SFSM_OK);
    assert_int_equal(n, 3);
    assert_int_equal(fk->scan_got_null_filter, 0);
    sfsm_filter f = SFSM_FILTER_INIT;
    f.stage = "qualified";
    n = 0;
    assert_int_equal(sfsm_scan(w->e, &f, count_opps_cb, &n), SFSM_OK);
    assert_int_equal(n, 1);
    assert_true(fk->n_scan >= scans + 2);
    world_free(w);
}

/* ---- injected failures ---- */

enum { FAIL_PUT, FAIL_APPEND, FAIL_COMMIT };

static void set_fail(fake *fk, int which, int on)
{
    fk->fail_put = which == FAIL_PUT && on;
    fk->fail_append = which == FAIL_APPEND && on;
    fk->fail_commit = which == FAIL_COMMIT && on;
}

static const char *const FAIL_TEXT[] = { "put of 'f' failed", "history of 'f' not writable",
                                         "commit failed" };

static void run_fire_failure(int which)
{
    world *w = world_new();
    fake *fk = w->fk;
    sfsm_opp *o = NULL;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "f";
    opts.customer = "Acme Ltd";
    assert_int_equal(sfsm_opp_create_ext(w->e, &opts, &o), SFSM_OK);
    assert_int_equal(sfsm_opp_set_title(o, "pending title"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "k", "v"), SFSM_OK);
    w->now += DAY_MS;

    char *data_before = fake_dump(fk, "f");
    calls c = snap_calls(fk);
    w->exits = w->enters = w->afters = 0;

    set_fail(fk, which, 1);
    assert_int_equal(sfsm_fire(w->e, o, "qualify", &REP, NULL), SFSM_ESTORAGE);
    assert_int_equal(sfsm_errcode(), SFSM_ESTORAGE);
    assert_msg_has("fake backend");
    assert_msg_has(FAIL_TEXT[which]);
    set_fail(fk, which, 0);

    /* The handle is unchanged. */
    assert_string_equal(sfsm_opp_stage(o), "lead");
    assert_int_equal(sfsm_opp_version(o), 1);
    assert_int_equal(sfsm_opp_unsaved(o), SFSM_FIELD_TITLE | SFSM_FIELD_ATTRS);
    assert_string_equal(sfsm_opp_title(o), "pending title");
    assert_int_equal(sfsm_opp_stage_entered(o), T0_MS);
    assert_int_equal(sfsm_opp_updated(o), T0_MS);
    /* The backend's data and history are unchanged; no transaction open. */
    char *data_after = fake_dump(fk, "f");
    assert_string_equal(data_after, data_before);
    free(data_after);
    assert_int_equal(fk->depth, 0);
    assert_int_equal(fk->n_begin - c.begin, 1);
    if (which != FAIL_COMMIT) {
        assert_int_equal(fk->n_rollback - c.rollback, 1);
        assert_int_equal(fk->n_commit - c.commit, 0);
    } else {
        assert_int_equal(fk->n_commit - c.commit, 1);
    }
    assert_int_equal(fk->stray_rollbacks == 0 || which == FAIL_COMMIT, 1);
    /* No announcing hook ran. */
    assert_int_equal(w->exits, 0);
    assert_int_equal(w->enters, 0);
    assert_int_equal(w->afters, 0);
    assert_int_equal(history_count(w->e, "f"), 1);

    /* Nothing happened, so the same fire now succeeds. */
    assert_int_equal(sfsm_fire(w->e, o, "qualify", &REP, NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_version(o), 2);
    assert_int_equal(w->afters, 1);
    frec *r = find(fk, "f");
    assert_string_equal(r->stage, "qualified");
    assert_string_equal(r->title, "pending title");
    assert_int_equal(r->hist_count, 2);
    free(data_before);
    sfsm_opp_free(o);
    world_free(w);
}

static void test_fire_fails_at_put(void **state) { (void)state; run_fire_failure(FAIL_PUT); }
static void test_fire_fails_at_append(void **state) { (void)state; run_fire_failure(FAIL_APPEND); }
static void test_fire_fails_at_commit(void **state) { (void)state; run_fire_failure(FAIL_COMMIT); }

static void run_save_failure(int which)
{
    world *w = world_new();
    fake *fk = w->fk;
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(w->e, "f", &o), SFSM_OK);
    assert_int_equal(sfsm_opp_set_owner(o, "li"), SFSM_OK);
    char *before = fake_dump(fk, "f");
    calls c = snap_calls(fk);
    set_fail(fk, which, 1);
    assert_int_equal(sfsm_opp_save(w->e, o), SFSM_ESTORAGE);
    assert_msg_has(FAIL_TEXT[which]);
    set_fail(fk, which, 0);
    assert_int_equal(sfsm_opp_version(o), 1);
    assert_int_equal(sfsm_opp_unsaved(o), SFSM_FIELD_OWNER);
    char *after = fake_dump(fk, "f");
    assert_string_equal(after, before);
    assert_int_equal(fk->depth, 0);
    if (which != FAIL_COMMIT)
        assert_int_equal(fk->n_rollback - c.rollback, 1);
    assert_int_equal(sfsm_opp_save(w->e, o), SFSM_OK);
    assert_int_equal(sfsm_opp_version(o), 2);
    assert_string_equal(find(fk, "f")->owner, "li");
    free(before);
    free(after);
    sfsm_opp_free(o);
    world_free(w);
}

static void test_save_fails_at_put(void **state) { (void)state; run_save_failure(FAIL_PUT); }
static void test_save_fails_at_append(void **state) { (void)state; run_save_failure(FAIL_APPEND); }
static void test_save_fails_at_commit(void **state) { (void)state; run_save_failure(FAIL_COMMIT); }

static void run_create_failure(int which)
{
    world *w = world_new();
    fake *fk = w->fk;
    static int sentinel;
    sfsm_opp *o = (sfsm_opp *)(void *)&sentinel;
    calls c = snap_calls(fk);
    set_fail(fk, which, 1);
    assert_int_equal(sfsm_opp_create(w->e, "f", &o), SFSM_ESTORAGE);
    assert_msg_has(FAIL_TEXT[which]);
    set_fail(fk, which, 0);
    assert_null(o);
    assert_int_equal(fk->cur.n, 0);
    assert_int_equal(fk->depth, 0);
    if (which != FAIL_COMMIT)
        assert_int_equal(fk->n_rollback - c.rollback, 1);
    assert_int_equal(sfsm_opp_open(w->e, "f", &o), SFSM_ENOTFOUND);
    assert_int_equal(sfsm_opp_create(w->e, "f", &o), SFSM_OK);
    assert_int_equal(find(fk, "f")->hist_count, 1);
    sfsm_opp_free(o);
    world_free(w);
}

static void test_create_fails_at_put(void **state) { (void)state; run_create_failure(FAIL_PUT); }
static void test_create_fails_at_append(void **state) { (void)state; run_create_failure(FAIL_APPEND); }
static void test_create_fails_at_commit(void **state) { (void)state; run_create_failure(FAIL_COMMIT); }

static void test_backend_message_on_read(void **state)
{
    (void)state;
    world *w = world_new();
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(w->e, "readme", &o), SFSM_OK);
    sfsm_opp_free(o);
    w->fk->fail_get = 1;
    static int sentinel;
    o = (sfsm_opp *)(void *)&sentinel;
    assert_int_equal(sfsm_opp_open(w->e, "readme", &o), SFSM_ESTORAGE);
    assert_null(o);
    assert_msg_has("fake backend: cannot read 'readme'");
    w->fk->fail_get = 0;
    /* The backend's own ENOTFOUND passes through as ENOTFOUND. */
    assert_int_equal(sfsm_opp_open(w->e, "absent", &o), SFSM_ENOTFOUND);
    assert_int_equal(sfsm_opp_open(w->e, "readme", &o), SFSM_OK);
    sfsm_opp_free(o);
    world_free(w);
}

/* A stored stage the pipeline does not know is a storage error. */
static void test_open_unknown_stored_stage(void **state)
{
    (void)state;
    world *w = world_new();
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(w->e, "odd", &o), SFSM_OK);
    sfsm_opp_free(o);
    frec *r = find(w->fk, "odd");
    free(r->stage);
    r->stage = xdup("limbo");
    static int sentinel;
    o = (sfsm_opp *)(void *)&sentinel;
    assert_int_equal(sfsm_opp_open(w->e, "odd", &o), SFSM_ESTORAGE);
    assert_null(o);
    assert_msg_has("limbo");
    world_free(w);
}

/* A conflict reported by the backend (someone wrote behind the engine's
 * back) is SFSM_ECONFLICT and changes nothing. */
static void test_backend_conflict(void **state)
{
    (void)state;
    world *w = world_new();
    fake *fk = w->fk;
    sfsm_opp *o = NULL;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "cf";
    opts.customer = "Acme";
    assert_int_equal(sfsm_opp_create_ext(w->e, &opts, &o), SFSM_OK);
    /* Another writer bumps the version directly in the backend. */
    frec *r = find(fk, "cf");
    r->version = 2;
    char *before = fake_dump(fk, "cf");
    assert_int_equal(sfsm_fire(w->e, o, "qualify", &REP, NULL), SFSM_ECONFLICT);
    char *after = fake_dump(fk, "cf");
    assert_string_equal(after, before);
    assert_int_equal(fk->depth, 0);
    assert_string_equal(sfsm_opp_stage(o), "lead");
    assert_int_equal(sfsm_opp_version(o), 1);
    assert_int_equal(w->afters, 0);
    free(before);
    free(after);
    sfsm_opp_free(o);
    world_free(w);
}

/* Inside a batch, a history append failing after its put leaves a half
 * write: that fire fails, every later write of the batch (fire, create,
 * import, migrate) fails too, and the commit rolls it all back. */
static void test_batch_fails_after_half_write(void **state)
{
    (void)state;
    world *w = world_new();
    sfsm_opp *a = NULL, *b = NULL;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "a";
    opts.customer = "Acme";
    assert_int_equal(sfsm_opp_create_ext(w->e, &opts, &a), SFSM_OK);
    opts.id = "b";
    assert_int_equal(sfsm_opp_create_ext(w->e, &opts, &b), SFSM_OK);
    char *before_a = fake_dump(w->fk, "a");
    char *before_b = fake_dump(w->fk, "b");

    assert_int_equal(sfsm_engine_begin(w->e), SFSM_OK);
    set_fail(w->fk, FAIL_APPEND, 1);
    assert_int_equal(sfsm_fire(w->e, a, "qualify", &REP, NULL), SFSM_ESTORAGE);
    assert_non_null(strstr(sfsm_errmsg(), "rolled back"));
    set_fail(w->fk, FAIL_APPEND, 0);
    assert_int_equal(sfsm_opp_version(a), 1);
    assert_int_equal(sfsm_fire(w->e, b, "qualify", &REP, NULL), SFSM_ESTORAGE);
    sfsm_opp *c = NULL;
    assert_int_equal(sfsm_opp_create(w->e, "c", &c), SFSM_ESTORAGE);
    assert_null(c);
    static const char doc[] = "{\"format\": \"salesfsm-opportunities\", \"version\": 1, \"opportunities\": []}";
    assert_int_equal(sfsm_import_json(w->e, doc, sizeof doc - 1, NULL), SFSM_ESTORAGE);
    assert_int_equal(sfsm_engine_migrate(w->e, NULL, NULL, NULL, NULL), SFSM_ESTORAGE);
    assert_int_equal(sfsm_engine_commit(w->e), SFSM_ESTORAGE);
    assert_int_equal(w->afters, 0);

    char *after_a = fake_dump(w->fk, "a");
    char *after_b = fake_dump(w->fk, "b");
    assert_string_equal(before_a, after_a);
    assert_string_equal(before_b, after_b);
    free(before_a);
    free(before_b);
    free(after_a);
    free(after_b);
    /* a new batch starts clean */
    assert_int_equal(sfsm_engine_begin(w->e), SFSM_OK);
    assert_int_equal(sfsm_fire(w->e, b, "qualify", &REP, NULL), SFSM_OK);
    assert_int_equal(sfsm_engine_commit(w->e), SFSM_OK);
    assert_int_equal(w->afters, 1);
    sfsm_opp_free(a);
    sfsm_opp_free(b);
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_new_validation),
        cmocka_unit_test(test_store_new_without_close),
        cmocka_unit_test(test_close_called_once),
        cmocka_unit_test(test_ops_table_is_copied),
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_scan_through_backend),
        cmocka_unit_test(test_fire_fails_at_put),
        cmocka_unit_test(test_fire_fails_at_append),
        cmocka_unit_test(test_fire_fails_at_commit),
        cmocka_unit_test(test_save_fails_at_put),
        cmocka_unit_test(test_save_fails_at_append),
        cmocka_unit_test(test_save_fails_at_commit),
        cmocka_unit_test(test_create_fails_at_put),
        cmocka_unit_test(test_create_fails_at_append),
        cmocka_unit_test(test_create_fails_at_commit),
        cmocka_unit_test(test_backend_message_on_read),
        cmocka_unit_test(test_backend_conflict),
        cmocka_unit_test(test_open_unknown_stored_stage),
        cmocka_unit_test(test_batch_fails_after_half_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
