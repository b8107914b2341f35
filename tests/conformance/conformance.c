/*
 * The storage conformance suite (see conformance.h). Every check opens a
 * fresh backend, drives its ops directly and asserts what
 * include/salesfsm/sys/store.h promises.
 *
 * Two things the contract leaves open are deliberately not tested:
 * - fields outside the `changed` mask of an update MAY be skipped, so no
 *   check relies on them being kept or being overwritten;
 * - commit/rollback without a transaction is not specified.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "conformance.h"

#define T0 INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */
#define DAY INT64_C(86400000)

/* ------------------------------------------------------------------ */
/* fixture                                                              */

typedef struct ctx {
    const sfsm_conformance_target *t;
    const sfsm_store_ops *ops;
    void *b;
} ctx;

static int setup(void **state)
{
    const sfsm_conformance_target *t = *state;
    ctx *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->t = t;
    if (t->open(&c->ops, &c->b, t->ud) != SFSM_OK || !c->ops) {
        free(c);
        return -1;
    }
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx *c = *state;
    if (c->t->close)
        c->t->close(c->ops, c->b, c->t->ud);
    else if (c->ops->close)
        c->ops->close(c->b);
    free(c);
    return 0;
}

static int put(ctx *c, const sfsm_record *r, uint64_t expected, uint32_t changed)
{
    return c->ops->put(c->b, r, expected, changed);
}

static int get(ctx *c, const char *id, sfsm_record *out)
{
    memset(out, 0, sizeof *out);
    return c->ops->get(c->b, id, out);
}

static int begin(ctx *c) { return c->ops->begin(c->b); }
static int commit(ctx *c) { return c->ops->commit(c->b); }
static int rollback(ctx *c) { return c->ops->rollback(c->b); }

static sfsm_record base_rec(const char *id)
{
    sfsm_record r;
    memset(&r, 0, sizeof r);
    r.id = id;
    r.stage = "lead";
    r.version = 1;
    r.created_ms = T0;
    r.updated_ms = T0;
    r.stage_entered_ms = T0;
    r.pipeline = "default";
    r.pipeline_version = 1;
    return r;
}

static const sfsm_attr FULL_ATTRS[] = {
    { "erp.id", "SO-4711" },
    { "region", "north" },
    { "source", "web form" },
};

static sfsm_record full_rec(const char *id)
{
    sfsm_record r = base_rec(id);
    r.stage = "qualified";
    r.amount = 1250000;
    r.currency = "EUR";
    r.customer = "Acme GmbH";
    r.owner = "alice";
    r.title = "Forklifts for the Hamburg depot";
    r.expected_close_ms = T0 + 30 * DAY;
    r.created_ms = T0 - 2 * DAY;
    r.updated_ms = T0 - DAY;
    r.stage_entered_ms = T0 - DAY + 5;
    r.attrs = FULL_ATTRS;
    r.attr_count = 3;
    r.pipeline = "b2b";
    r.pipeline_version = 3;
    return r;
}

static void insert_ok(ctx *c, const sfsm_record *r)
{
    int rc = put(c, r, 0, SFSM_FIELD_ALL);
    if (rc != SFSM_OK)
        fail_msg("insert of '%s' returned %d (%s), expected SFSM_OK", r->id, rc, sfsm_errmsg());
}

static void put_ok(ctx *c, const sfsm_record *r, uint64_t expected, uint32_t changed)
{
    int rc = put(c, r, expected, changed);
    if (rc != SFSM_OK)
        fail_msg("update of '%s' (expected %llu, changed 0x%x) returned %d (%s), expected SFSM_OK", r->id,
                 (unsigned long long)expected, (unsigned)changed, rc, sfsm_errmsg());
}

/* Asserts a return code, naming the call and the backend's message. */
#define EXPECT_RC(call, want)                                                                  \
    do {                                                                                       \
        int rc_ = (call);                                                                      \
        if (rc_ != (want))                                                                     \
            fail_msg("%s returned %d (%s), expected %s (%d)", #call, rc_, rc_ ? sfsm_errmsg() : "", \
                     #want, (int)(want));                                                      \
    } while (0)

/* ------------------------------------------------------------------ */
/* owned copies and comparison                                          */

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    assert_non_null(d);
    memcpy(d, s, n);
    return d;
}

/* A deep copy of a record: r points at owned memory. */
typedef struct orec {
    sfsm_record r;
    sfsm_attr *attrs;
} orec;

static void orec_copy(orec *o, const sfsm_record *r)
{
    o->r = *r;
    o->r.id = dup_or_null(r->id);
    o->r.stage = dup_or_null(r->stage);
    o->r.currency = dup_or_null(r->currency);
    o->r.customer = dup_or_null(r->customer);
    o->r.owner = dup_or_null(r->owner);
    o->r.title = dup_or_null(r->title);
    o->r.pipeline = dup_or_null(r->pipeline);
    o->attrs = r->attr_count ? calloc(r->attr_count, sizeof *o->attrs) : NULL;
    if (r->attr_count)
        assert_non_null(o->attrs);
    for (size_t k = 0; k < r->attr_count; k++) {
        o->attrs[k].key = dup_or_null(r->attrs[k].key);
        o->attrs[k].value = dup_or_null(r->attrs[k].value);
    }
    o->r.attrs = o->attrs;
}

static void orec_free(orec *o)
{
    free((char *)o->r.id);
    free((char *)o->r.stage);
    free((char *)o->r.currency);
    free((char *)o->r.customer);
    free((char *)o->r.owner);
    free((char *)o->r.title);
    free((char *)o->r.pipeline);
    for (size_t k = 0; k < o->r.attr_count; k++) {
        free((char *)o->attrs[k].key);
        free((char *)o->attrs[k].value);
    }
    free(o->attrs);
    memset(o, 0, sizeof *o);
}

/* Byte-exact string check; NULL expected means NULL (never ""). */
static void check_str(const char *what, const char *id, const char *exp, const char *act)
{
    if (!exp) {
        if (act)
            fail_msg("'%s': %s should be NULL (absent), got \"%.60s\"", id, what, act);
        return;
    }
    if (!act)
        fail_msg("'%s': %s should be \"%.60s\", got NULL", id, what, exp);
    size_t ne = strlen(exp), na = strlen(act);
    if (ne != na || memcmp(exp, act, ne) != 0)
        fail_msg("'%s': %s should be \"%.60s\" (%zu bytes), got \"%.60s\" (%zu bytes)", id, what, exp, ne, act, na);
}

static void check_i64(const char *what, const char *id, int64_t exp, int64_t act)
{
    if (exp != act)
        fail_msg("'%s': %s should be %lld, got %lld", id, what, (long long)exp, (long long)act);
}

static void check_attrs(const char *id, const sfsm_record *exp, const sfsm_record *act)
{
    if (exp->attr_count != act->attr_count)
        fail_msg("'%s': attr_count should be %zu, got %zu", id, exp->attr_count, act->attr_count);
    if (act->attr_count)
        assert_non_null(act->attrs);
    for (size_t k = 0; k < exp->attr_count; k++) {
        char what[64];
        snprintf(what, sizeof what, "attrs[%zu].key", k);
        check_str(what, id, exp->attrs[k].key, act->attrs[k].key);
        snprintf(what, sizeof what, "attrs[%zu].value", k);
        check_str(what, id, exp->attrs[k].value, act->attrs[k].value);
    }
}

/* Fields always written by put: stage, version, times, pipeline. */
static void check_core(const sfsm_record *exp, const sfsm_record *act)
{
    const char *id = exp->id;
    check_str("id", id, exp->id, act->id);
    check_str("stage", id, exp->stage, act->stage);
    if (exp->version != act->version)
        fail_msg("'%s': version should be %llu, got %llu", id, (unsigned long long)exp->version,
                 (unsigned long long)act->version);
    check_i64("created_ms", id, exp->created_ms, act->created_ms);
    check_i64("updated_ms", id, exp->updated_ms, act->updated_ms);
    check_i64("stage_entered_ms", id, exp->stage_entered_ms, act->stage_entered_ms);
    check_str("pipeline", id, exp->pipeline, act->pipeline);
    check_i64("pipeline_version", id, exp->pipeline_version, act->pipeline_version);
}

/* Only the fields named by `mask` plus the always-written ones. */
static void check_masked(const sfsm_record *exp, const sfsm_record *act, uint32_t mask)
{
    const char *id = exp->id;
    check_core(exp, act);
    if (mask & SFSM_FIELD_AMOUNT) {
        check_i64("amount", id, exp->amount, act->amount);
        check_str("currency", id, exp->currency, act->currency);
    }
    if (mask & SFSM_FIELD_CUSTOMER)
        check_str("customer", id, exp->customer, act->customer);
    if (mask & SFSM_FIELD_OWNER)
        check_str("owner", id, exp->owner, act->owner);
    if (mask & SFSM_FIELD_TITLE)
        check_str("title", id, exp->title, act->title);
    if (mask & SFSM_FIELD_EXPECTED_CLOSE)
        check_i64("expected_close_ms", id, exp->expected_close_ms, act->expected_close_ms);
    if (mask & SFSM_FIELD_ATTRS)
        check_attrs(id, exp, act);
}

static void check_rec(const sfsm_record *exp, const sfsm_record *act)
{
    check_masked(exp, act, SFSM_FIELD_ALL);
}

/* get(id) must succeed and equal exp in the fields of mask. */
static void expect_stored(ctx *c, const sfsm_record *exp, uint32_t mask)
{
    sfsm_record got;
    int rc = get(c, exp->id, &got);
    if (rc != SFSM_OK)
        fail_msg("get('%s') returned %d (%s), expected SFSM_OK", exp->id, rc, sfsm_errmsg());
    check_masked(exp, &got, mask);
}

static void expect_absent(ctx *c, const char *id)
{
    sfsm_record got;
    int rc = get(c, id, &got);
    if (rc != SFSM_ENOTFOUND)
        fail_msg("get('%s') returned %d, expected SFSM_ENOTFOUND (%d)", id, rc, SFSM_ENOTFOUND);
}

/* ------------------------------------------------------------------ */
/* history helpers                                                      */

typedef struct hcopy {
    uint64_t version;
    int64_t at_ms;
    int kind;
    char *event, *from, *to, *actor, *role, *note, *changes;
    uint32_t fields;
} hcopy;

typedef struct hlist {
    hcopy *e;
    size_t n, cap;
    size_t stop_at;   /* return stop_rc at the stop_at-th call (1-based); 0: never */
    int stop_rc;
    size_t calls;
} hlist;

static int hlist_cb(const sfsm_history_entry *h, void *ud)
{
    hlist *l = ud;
    l->calls++;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->e = realloc(l->e, l->cap * sizeof *l->e);
        if (!l->e)
            abort();
    }
    hcopy *d = &l->e[l->n++];
    d->version = h->version;
    d->at_ms = h->at_ms;
    d->kind = h->kind;
    d->event = dup_or_null(h->event);
    d->from = dup_or_null(h->from);
    d->to = dup_or_null(h->to);
    d->actor = dup_or_null(h->actor);
    d->role = dup_or_null(h->role);
    d->note = dup_or_null(h->note);
    d->changes = dup_or_null(h->changes);
    d->fields = h->fields;
    if (l->stop_at && l->calls == l->stop_at)
        return l->stop_rc;
    return 0;
}

static void hlist_free(hlist *l)
{
    for (size_t k = 0; k < l->n; k++) {
        hcopy *d = &l->e[k];
        free(d->event);
        free(d->from);
        free(d->to);
        free(d->actor);
        free(d->role);
        free(d->note);
        free(d->changes);
    }
    free(l->e);
    memset(l, 0, sizeof *l);
}

static int read_hist(ctx *c, const char *id, hlist *l)
{
    return c->ops->read_history(c->b, id, hlist_cb, l);
}

static sfsm_history_entry hentry(uint64_t version, int kind, const char *from, const char *to)
{
    sfsm_history_entry h;
    memset(&h, 0, sizeof h);
    h.version = version;
    h.at_ms = T0 + (int64_t)version * 1000;
    h.kind = kind;
    h.from = from;
    h.to = to;
    if (kind == SFSM_HISTORY_TRANSITION)
        h.event = "advance";
    return h;
}

static void append_ok(ctx *c, const char *id, const sfsm_history_entry *h)
{
    int rc = c->ops->append_history(c->b, id, h);
    if (rc != SFSM_OK)
        fail_msg("append_history('%s', v%llu) returned %d (%s), expected SFSM_OK", id,
                 (unsigned long long)h->version, rc, sfsm_errmsg());
}

static void check_hentry(const char *id, size_t i, const sfsm_history_entry *exp, const hcopy *act)
{
    char what[64];
    if (exp->version != act->version)
        fail_msg("'%s': history[%zu].version should be %llu, got %llu", id, i, (unsigned long long)exp->version,
                 (unsigned long long)act->version);
    snprintf(what, sizeof what, "history[%zu].at_ms", i);
    check_i64(what, id, exp->at_ms, act->at_ms);
    snprintf(what, sizeof what, "history[%zu].kind", i);
    check_i64(what, id, exp->kind, act->kind);
    snprintf(what, sizeof what, "history[%zu].fields", i);
    check_i64(what, id, exp->fields, act->fields);
#define HSTR(f)                                                  \
    snprintf(what, sizeof what, "history[%zu]." #f, i);          \
    check_str(what, id, exp->f, act->f)
    HSTR(event);
    HSTR(from);
    HSTR(to);
    HSTR(actor);
    HSTR(role);
    HSTR(note);
    HSTR(changes);
#undef HSTR
}

/* read_history(id) must give exactly exp[0..n). */
static void expect_history(ctx *c, const char *id, const sfsm_history_entry *exp, size_t n)
{
    hlist l;
    memset(&l, 0, sizeof l);
    int rc = read_hist(c, id, &l);
    if (rc != SFSM_OK)
        fail_msg("read_history('%s') returned %d (%s), expected SFSM_OK", id, rc, sfsm_errmsg());
    if (l.n != n)
        fail_msg("read_history('%s') gave %zu entries, expected %zu", id, l.n, n);
    for (size_t k = 0; k < n; k++)
        check_hentry(id, k, &exp[k], &l.e[k]);
    hlist_free(&l);
}

static size_t history_len(ctx *c, const char *id)
{
    hlist l;
    memset(&l, 0, sizeof l);
    int rc = read_hist(c, id, &l);
    if (rc != SFSM_OK)
        fail_msg("read_history('%s') returned %d (%s), expected SFSM_OK", id, rc, sfsm_errmsg());
    size_t n = l.n;
    hlist_free(&l);
    return n;
}

/* ------------------------------------------------------------------ */
/* scan helpers                                                         */

typedef struct slist {
    orec *r;
    size_t n, cap;
    size_t stop_at;
    int stop_rc;
    size_t calls;
} slist;

static int slist_cb(const sfsm_record *rec, void *ud)
{
    slist *l = ud;
    l->calls++;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->r = realloc(l->r, l->cap * sizeof *l->r);
        if (!l->r)
            abort();
    }
    orec_copy(&l->r[l->n++], rec);
    if (l->stop_at && l->calls == l->stop_at)
        return l->stop_rc;
    return 0;
}

static void slist_free(slist *l)
{
    for (size_t k = 0; k < l->n; k++)
        orec_free(&l->r[k]);
    free(l->r);
    memset(l, 0, sizeof *l);
}

static sfsm_filter filter(const char *stage, const char *owner, const char *customer, int64_t since)
{
    sfsm_filter f;
    memset(&f, 0, sizeof f);
    f.version = SFSM_FILTER_VERSION;
    f.stage = stage;
    f.owner = owner;
    f.customer = customer;
    f.changed_since_ms = since;
    return f;
}

static int scan(ctx *c, const sfsm_filter *f, slist *l)
{
    return c->ops->scan(c->b, f, slist_cb, l);
}

/* The ids a scan with f reports, joined with ',' (caller frees). */
static char *scan_ids(ctx *c, const sfsm_filter *f)
{
    slist l;
    memset(&l, 0, sizeof l);
    int rc = scan(c, f, &l);
    if (rc != SFSM_OK)
        fail_msg("scan returned %d (%s), expected SFSM_OK", rc, sfsm_errmsg());
    size_t len = 1;
    for (size_t k = 0; k < l.n; k++)
        len += strlen(l.r[k].r.id) + 1;
    char *s = calloc(1, len);
    assert_non_null(s);
    for (size_t k = 0; k < l.n; k++) {
        if (k)
            strcat(s, ",");
        strcat(s, l.r[k].r.id);
    }
    slist_free(&l);
    return s;
}

static void expect_scan(ctx *c, const sfsm_filter *f, const char *ids)
{
    char *got = scan_ids(c, f);
    if (strcmp(got, ids) != 0) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", got);
        free(got);
        fail_msg("scan (stage %s, owner %s, customer %s, since %lld) gave [%s], expected [%s]",
                 f->stage ? f->stage : "NULL", f->owner ? f->owner : "NULL", f->customer ? f->customer : "NULL",
                 (long long)f->changed_since_ms, buf, ids);
    }
    free(got);
}

static void expect_scan_all(ctx *c, const char *ids)
{
    sfsm_filter f = filter(NULL, NULL, NULL, 0);
    expect_scan(c, &f, ids);
}

/* ================================================================== */
/* checks: put / get                                                    */

static void get_absent_is_enotfound(void **state)
{
    ctx *c = *state;
    expect_absent(c, "nope");
    sfsm_record a = base_rec("a");
    insert_ok(c, &a);
    expect_absent(c, "nope");
    expect_absent(c, "A");    /* ids are case-sensitive */
    expect_absent(c, "a ");
    expect_absent(c, "");
}

static void insert_full_record_roundtrips(void **state)
{
    ctx *c = *state;
    sfsm_record r = full_rec("opp-1");
    insert_ok(c, &r);
    expect_stored(c, &r, SFSM_FIELD_ALL);
}

static void insert_minimal_record_null_strings(void **state)
{
    ctx *c = *state;
    sfsm_record r = base_rec("opp-min");
    insert_ok(c, &r);
    sfsm_record got;
    EXPECT_RC(get(c, "opp-min", &got), SFSM_OK);
    check_rec(&r, &got);
    /* explicitly: absent strings are NULL, never "" */
    assert_null(got.currency);
    assert_null(got.customer);
    assert_null(got.owner);
    assert_null(got.title);
    assert_int_equal(got.amount, 0);
    assert_int_equal(got.expected_close_ms, 0);
    assert_int_equal(got.attr_count, 0);
}

static void insert_extreme_numbers(void **state)
{
    ctx *c = *state;
    sfsm_record r = base_rec("big");
    r.version = UINT64_C(1) << 40;
    r.amount = INT64_MAX;
    r.currency = "JPY";
    r.expected_close_ms = INT64_C(253402300799999); /* 9999-12-31 */
    r.created_ms = -DAY;                            /* before the epoch */
    r.updated_ms = INT64_MAX;
    r.stage_entered_ms = 1;
    r.pipeline_version = UINT32_MAX;
    insert_ok(c, &r);
    expect_stored(c, &r, SFSM_FIELD_ALL);
}

static void insert_existing_is_eexists_and_changes_nothing(void **state)
{
    ctx *c = *state;
    sfsm_record r = full_rec("dup");
    insert_ok(c, &r);
    sfsm_record other = base_rec("dup");
    other.stage = "won";
    other.owner = "mallory";
    other.version = 9;
    EXPECT_RC(put(c, &other, 0, SFSM_FIELD_ALL), SFSM_EEXISTS);
    expect_stored(c, &r, SFSM_FIELD_ALL);
    expect_scan_all(c, "dup");
}

static void update_with_matching_version(void **state)
{
    ctx *c = *state;
    sfsm_record r = full_rec("u");
    insert_ok(c, &r);
    sfsm_record n = r;
    n.version = 2;
    n.stage = "proposal";
    n.updated_ms = r.updated_ms + 1000;
    n.stage_entered_ms = r.updated_ms + 1000;
    n.amount = 99;
    n.currency = "USD";
    n.customer = "Beta Inc";
    n.owner = "bob";
    n.title = "Smaller deal";
    n.expected_close_ms = T0 + 60 * DAY;
    static const sfsm_attr attrs[] = { { "region", "south" } };
    n.attrs = attrs;
    n.attr_count = 1;
    put_ok(c, &n, 1, SFSM_FIELD_ALL);
    expect_stored(c, &n, SFSM_FIELD_ALL);
    /* and once more from the new version */
    n.version = 3;
    n.stage = "won";
    put_ok(c, &n, 2, 0);
    expect_stored(c, &n, 0);
}

static void update_conflict_changes_nothing(void **state)
{
    ctx *c = *state;
    sfsm_record r = full_rec("cf");
    r.version = 3;
    insert_ok(c, &r);
    sfsm_record n = base_rec("cf");
    n.stage = "lost";
    n.owner = "eve";
    static const uint64_t wrong[] = { 1, 2, 4, 5, UINT64_C(1) << 40 };
    for (size_t k = 0; k < sizeof wrong / sizeof wrong[0]; k++) {
        n.version = wrong[k] + 1;
        int rc = put(c, &n, wrong[k], SFSM_FIELD_ALL);
        if (rc != SFSM_ECONFLICT)
            fail_msg("update of 'cf' (stored v3) with expected %llu returned %d, expected SFSM_ECONFLICT",
                     (unsigned long long)wrong[k], rc);
        expect_stored(c, &r, SFSM_FIELD_ALL);
    }
}

/* An expected version no record can have (beyond int64, where SQL
 * backends keep versions) is still just a conflict, not an error. */
static void update_conflict_beyond_int64(void **state)
{
    ctx *c = *state;
    sfsm_record r = base_rec("huge");
    r.version = 3;
    insert_ok(c, &r);
    sfsm_record n = base_rec("huge");
    n.version = 4;
    n.stage = "lost";
    static const uint64_t wrong[] = { (uint64_t)INT64_MAX + 1, UINT64_MAX };
    for (size_t k = 0; k < 2; k++) {
        int rc = put(c, &n, wrong[k], 0);
        if (rc != SFSM_ECONFLICT)
            fail_msg("update of 'huge' (stored v3) with expected %llu returned %d, expected SFSM_ECONFLICT",
                     (unsigned long long)wrong[k], rc);
        expect_stored(c, &r, SFSM_FIELD_ALL);
    }
}

static void update_absent_is_enotfound(void **state)
{
    ctx *c = *state;
    sfsm_record n = full_rec("ghost");
    n.version = 2;
    EXPECT_RC(put(c, &n, 1, SFSM_FIELD_ALL), SFSM_ENOTFOUND);
    expect_absent(c, "ghost");
    sfsm_record a = base_rec("a");
    insert_ok(c, &a);
    EXPECT_RC(put(c, &n, 1, SFSM_FIELD_ALL), SFSM_ENOTFOUND);
    expect_absent(c, "ghost");
    expect_scan_all(c, "a");
}

static void update_stores_version_as_given(void **state)
{
    ctx *c = *state;
    sfsm_record r = base_rec("v");
    insert_ok(c, &r);
    r.version = 7; /* the engine decides versions; no +1 assumed */
    put_ok(c, &r, 1, 0);
    expect_stored(c, &r, 0);
    r.version = 8;
    EXPECT_RC(put(c, &r, 1, 0), SFSM_ECONFLICT);
    put_ok(c, &r, 7, 0);
    expect_stored(c, &r, 0);
    /* the version given on insert is kept too */
    sfsm_record w = base_rec("w");
    w.version = 42;
    insert_ok(c, &w);
    expect_stored(c, &w, 0);
    EXPECT_RC(put(c, &w, 1, 0), SFSM_ECONFLICT);
    w.version = 43;
    put_ok(c, &w, 42, 0);
    expect_stored(c, &w, 0);
}

static void update_always_writes_core_fields(void **state)
{
    ctx *c = *state;
    sfsm_record r = full_rec("core");
    insert_ok(c, &r);
    sfsm_record n = r;
    n.stage = "negotiation";
    n.version = 2;
    n.created_ms = r.created_ms - 1;   /* the contract says all three are written */
    n.updated_ms = r.updated_ms + 77;
    n.stage_entered_ms = r.updated_ms + 78;
    n.pipeline = "b2b-v2";
    n.pipeline_version = 4;
    put_ok(c, &n, 1, 0);
    expect_stored(c, &n, 0);
}

/* Each mask bit alone: that field is written (set, changed and cleared). */
static void update_mask_fields_are_written(void **state)
{
    ctx *c = *state;
    static const sfsm_attr two[] = { { "a", "1" }, { "b", "2" } };
    static const uint32_t bits[] = {
        SFSM_FIELD_AMOUNT, SFSM_FIELD_CUSTOMER, SFSM_FIELD_OWNER,
        SFSM_FIELD_TITLE, SFSM_FIELD_EXPECTED_CLOSE, SFSM_FIELD_ATTRS,
    };
    for (size_t k = 0; k < sizeof bits / sizeof bits[0]; k++) {
        char id[32];
        snprintf(id, sizeof id, "mask-%zu", k);
        sfsm_record r = base_rec(id);
        insert_ok(c, &r);
        uint64_t v = 1;
        for (int step = 0; step < 3; step++) {
            sfsm_record n = r;
            n.version = v + 1;
            n.updated_ms = r.updated_ms + (int64_t)v;
            switch (bits[k]) {
            case SFSM_FIELD_AMOUNT:
                n.amount = step == 0 ? 500 : step == 1 ? 700 : 0;
                n.currency = step == 0 ? "EUR" : step == 1 ? "CNY" : NULL;
                break;
            case SFSM_FIELD_CUSTOMER:
                n.customer = step == 0 ? "Acme" : step == 1 ? "Globex" : NULL;
                break;
            case SFSM_FIELD_OWNER:
                n.owner = step == 0 ? "alice" : step == 1 ? "bob" : NULL;
                break;
            case SFSM_FIELD_TITLE:
                n.title = step == 0 ? "first" : step == 1 ? "second" : NULL;
                break;
            case SFSM_FIELD_EXPECTED_CLOSE:
                n.expected_close_ms = step == 0 ? T0 + DAY : step == 1 ? T0 + 2 * DAY : 0;
                break;
            case SFSM_FIELD_ATTRS:
                n.attrs = step == 2 ? NULL : two;
                n.attr_count = step == 0 ? 2 : step == 1 ? 1 : 0;
                if (step == 1)
                    n.attrs = two + 1;
                break;
            }
            put_ok(c, &n, v, bits[k]);
            expect_stored(c, &n, bits[k]);
            r = n;
            v++;
        }
    }
}

/* A failing put inside a transaction changes nothing, and the transaction
 * goes on working. */
static void failed_puts_inside_txn_change_nothing(void **state)
{
    ctx *c = *state;
    sfsm_record a = full_rec("a");
    insert_ok(c, &a);
    EXPECT_RC(begin(c), SFSM_OK);
    sfsm_record x = base_rec("a");
    x.stage = "won";
    x.version = 2;
    EXPECT_RC(put(c, &x, 0, SFSM_FIELD_ALL), SFSM_EEXISTS);
    EXPECT_RC(put(c, &x, 5, SFSM_FIELD_ALL), SFSM_ECONFLICT);
    sfsm_record g = base_rec("ghost");
    g.version = 2;
    EXPECT_RC(put(c, &g, 1, SFSM_FIELD_ALL), SFSM_ENOTFOUND);
    sfsm_record b = base_rec("b");
    insert_ok(c, &b);
    EXPECT_RC(commit(c), SFSM_OK);
    expect_stored(c, &a, SFSM_FIELD_ALL);
    expect_stored(c, &b, SFSM_FIELD_ALL);
    expect_absent(c, "ghost");
    expect_scan_all(c, "a,b");
}

/* ================================================================== */
/* checks: strings                                                      */

static void empty_strings_are_not_null(void **state)
{
    ctx *c = *state;
    static const sfsm_attr attrs[] = { { "blank", "" }, { "k", "v" } };
    sfsm_record r = base_rec("e");
    r.customer = "";
    r.owner = "";
    r.title = "";
    r.attrs = attrs;
    r.attr_count = 2;
    insert_ok(c, &r);
    expect_stored(c, &r, SFSM_FIELD_ALL);
    /* and NULL next to "" stays NULL */
    sfsm_record n = base_rec("n");
    n.title = "";
    insert_ok(c, &n);
    expect_stored(c, &n, SFSM_FIELD_ALL);
    sfsm_history_entry h = hentry(1, SFSM_HISTORY_CREATE, NULL, "lead");
    h.note = "";
    h.actor = "";
    append_ok(c, "e", &h);
    expect_history(c, "e", &h, 1);
    /* a filter "" matches "" and not NULL */
    sfsm_filter f = filter(NULL, "", NULL, 0);
    expect_scan(c, &f, "e");
}

/* Input buffers are reused between calls with different content: the
 * backend must have copied, not kept pointers (nor matched by address). */
static void input_strings_are_copied(void **state)
{
    ctx *c = *state;
    char id[32], stage[32], owner[32], customer[32], title[32], key[32], value[32], pipe[32];
    sfsm_attr attr = { key, value };
    static const char *const names[] = { "one", "two", "three" };
    for (int k = 0; k < 3; k++) {
        snprintf(id, sizeof id, "id-%s", names[k]);
        snprintf(stage, sizeof stage, "stage-%s", names[k]);
        snprintf(owner, sizeof owner, "owner-%s", names[k]);
        snprintf(customer, sizeof customer, "customer-%s", names[k]);
        snprintf(title, sizeof title, "title-%s", names[k]);
        snprintf(key, sizeof key, "key-%s", names[k]);
        snprintf(value, sizeof value, "value-%s", names[k]);
        snprintf(pipe, sizeof pipe, "pipe-%s", names[k]);
        sfsm_record r = base_rec(id);
        r.stage = stage;
        r.owner = owner;
        r.customer = customer;
        r.title = title;
        r.attrs = &attr;
        r.attr_count = 1;
        r.pipeline = pipe;
        insert_ok(c, &r);
        sfsm_history_entry h = hentry(1, SFSM_HISTORY_CREATE, NULL, stage);
        h.actor = owner;
        h.note = title;
        append_ok(c, id, &h);
    }
    memset(id, 'X', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    for (int k = 0; k < 3; k++) {
        char e[64];
        snprintf(id, sizeof id, "id-%s", names[k]);
        sfsm_record got;
        EXPECT_RC(get(c, id, &got), SFSM_OK);
        check_str("id", id, id, got.id);
        snprintf(e, sizeof e, "stage-%s", names[k]);
        check_str("stage", id, e, got.stage);
        snprintf(e, sizeof e, "owner-%s", names[k]);
        check_str("owner", id, e, got.owner);
        snprintf(e, sizeof e, "customer-%s", names[k]);
        check_str("customer", id, e, got.customer);
        snprintf(e, sizeof e, "title-%s", names[k]);
        check_str("title", id, e, got.title);
        snprintf(e, sizeof e, "pipe-%s", names[k]);
        check_str("pipeline", id, e, got.pipeline);
        assert_int_equal(got.attr_count, 1);
        snprintf(e, sizeof e, "key-%s", names[k]);
        check_str("attrs[0].key", id, e, got.attrs[0].key);
        snprintf(e, sizeof e, "value-%s", names[k]);
        check_str("attrs[0].value", id, e, got.attrs[0].value);
        hlist l;
        memset(&l, 0, sizeof l);
        EXPECT_RC(read_hist(c, id, &l), SFSM_OK);
        assert_int_equal(l.n, 1);
        snprintf(e, sizeof e, "owner-%s", names[k]);
        check_str("history[0].actor", id, e, l.e[0].actor);
        snprintf(e, sizeof e, "stage-%s", names[k]);
        check_str("history[0].to", id, e, l.e[0].to);
        hlist_free(&l);
        /* a filter string in a reused buffer */
        snprintf(owner, sizeof owner, "owner-%s", names[k]);
        sfsm_filter f = filter(NULL, owner, NULL, 0);
        expect_scan(c, &f, id);
    }
    /* ids handed in from heap memory that is freed right after */
    for (int k = 0; k < 50; k++) {
        char *hid = malloc(16);
        assert_non_null(hid);
        snprintf(hid, 16, "heap-%d", k);
        sfsm_record r = base_rec(hid);
        insert_ok(c, &r);
        memset(hid, 0, 16);
        free(hid);
    }
    for (int k = 0; k < 50; k++) {
        snprintf(id, sizeof id, "heap-%d", k);
        sfsm_record got;
        EXPECT_RC(get(c, id, &got), SFSM_OK);
        check_str("id", id, id, got.id);
    }
}

/* Strings handed back stay valid until the backend's next call: read them
 * after get returned, copy, make the next call, compare the copy. */
static void returned_strings_valid_until_next_call(void **state)
{
    ctx *c = *state;
    sfsm_record a = full_rec("a");
    sfsm_record b = base_rec("b");
    b.customer = "Other customer";
    b.title = "Other title";
    insert_ok(c, &a);
    insert_ok(c, &b);
    sfsm_record got;
    EXPECT_RC(get(c, "a", &got), SFSM_OK);
    /* read every returned string now, after the call returned */
    check_rec(&a, &got);
    orec copy;
    orec_copy(&copy, &got);
    EXPECT_RC(get(c, "b", &got), SFSM_OK);
    check_rec(&b, &got);
    check_rec(&a, &copy.r);
    orec_free(&copy);
    /* history strings: valid during the callback (copied by hlist_cb) */
    sfsm_history_entry h = hentry(1, SFSM_HISTORY_CREATE, NULL, "lead");
    h.actor = "alice";
    h.role = "manager";
    h.note = "created from the web form";
    h.changes = "{\"amount\":1250000,\"currency\":\"EUR\"}";
    append_ok(c, "a", &h);
    expect_history(c, "a", &h, 1);
    EXPECT_RC(get(c, "a", &got), SFSM_OK);
    check_rec(&a, &got);
}

/* ================================================================== */
/* checks: history                                                      */

static void history_roundtrip_in_order(void **state)
{
    ctx *c = *state;
    sfsm_record r = base_rec("h");
    insert_ok(c, &r);
    sfsm_history_entry e[5];
    e[0] = hentry(1, SFSM_HISTORY_CREATE, NULL, "lead");
    e[0].actor = "alice";
    e[0].role = "rep";
    e[0].fields = SFSM_FIELD_AMOUNT | SFSM_FIELD_CUSTOMER;
    e[0].changes = "{\"amount\":100,\"currency\":\"EUR\",\"customer\":\"Acme\"}";
    e[1] = hentry(2, SFSM_HISTORY_TRANSITION, "lead", "qualified");
    e[1].event = "qualify";
    e[1].actor = "bob";
    e[1].role = "manager";
    e[2] = hentry(3, SFSM_HISTORY_UPDATE, "qualified", "qualified");
    e[2].fields = SFSM_FIELD_ALL;
    e[2].changes = "{\"title\":\"x\"}";
    e[2].note = "fixed the title";
    e[3] = hentry(4, SFSM_HISTORY_TRANSITION, "qualified", "lost");
    e[3].event = "lose";
    e[3].note = "price";
    e[3].at_ms = e[2].at_ms; /* same millisecond: order is by sequence */
    e[4] = hentry(5, SFSM_HISTORY_TRANSITION, "lost", "lead");
    e[4].event = "reopen";
    e[4].at_ms = e[3].at_ms - 5000; /* clock went back: still sequence order */
    for (size_t k = 0; k < 5; k++)
        append_ok(c, "h", &e[k]);
    expect_history(c, "h", e, 5);
}

static void history_of_several_opps_interleaved(void **state)
{
    ctx *c = *state;
    static const char *const ids[] = { "x", "y", "z" };
    for (size_t k = 0; k < 3; k++) {
        sfsm_record r = base_rec(ids[k]);
        insert_ok(c, &r);
    }
    sfsm_history_entry e[3][6];
    for (uint64_t v = 1; v <= 6; v++)
        for (size_t k = 0; k < 3; k++) {
            if (k == 2 && v > 2)
                continue; /* z stops early */
            sfsm_history_entry h = hentry(v, v == 1 ? SFSM_HISTORY_CREATE : SFSM_HISTORY_UPDATE,
                                          v == 1 ? NULL : "lead", "lead");
            h.at_ms += (int64_t)k;
            h.actor = ids[k];
            e[k][v - 1] = h;
            append_ok(c, ids[k], &h);
        }
    expect_history(c, "x", e[0], 6);
    expect_history(c, "y", e[1], 6);
    expect_history(c, "z", e[2], 2);
}

static void history_empty_and_absent(void **state)
{
    ctx *c = *state;
    hlist l;
    memset(&l, 0, sizeof l);
    EXPECT_RC(read_hist(c, "nobody", &l), SFSM_ENOTFOUND);
    assert_int_equal(l.calls, 0);
    sfsm_record r = base_rec("quiet");
    insert_ok(c, &r);
    EXPECT_RC(read_hist(c, "quiet", &l), SFSM_OK);
    assert_int_equal(l.calls, 0);
    /* history of another opp does not make an absent one exist */
    sfsm_history_entry h = hentry(1, SFSM_HISTORY_CREATE, NULL, "lead");
    append_ok(c, "quiet", &h);
    EXPECT_RC(read_hist(c, "nobody", &l), SFSM_ENOTFOUND);
    assert_int_equal(l.calls, 0);
    EXPECT_RC(read_hist(c, "quiet2", &l), SFSM_ENOTFOUND);
    assert_int_equal(l.calls, 0);
    hlist_free(&l);
}

static void history_callback_stops_read(void **state)
{
    ctx *c = *state;
    sfsm_record r = base_rec("s");
    insert_ok(c, &r);
    for (uint64_t v = 1; v <= 5; v++) {
        sfsm_history_entry h = hentry(v, SFSM_HISTORY_UPDATE, "lead", "lead");
        append_ok(c, "s", &h);
    }
    static const int rcs[] = { 42, -77, 1, SFSM_ECONFLICT };
    static const size_t at[] = { 2, 1, 5, 3 };
    for (size_t k = 0; k < 4; k++) {
        hlist l;
        memset(&l, 0, sizeof l);
        l.stop_at = at[k];
        l.stop_rc = rcs[k];
        int rc = read_hist(c, "s", &l);
        if (rc != rcs[k] || l.calls != at[k])
            fail_msg("read_history stopped with %d after %zu calls; expected %d after %zu", rc, l.calls, rcs[k],
                     at[k]);
        assert_int_equal(l.e[at[k] - 1].version, at[k]);
        hlist_free(&l);
    }
    assert_int_equal(history_len(c, "s"), 5); /* a stopped read changes nothing */
}

/* ================================================================== */
/* checks: scan                                                         */

/* Fixture for the scan checks, inserted in a non-sorted id order. */
static void insert_scan_set(ctx *c)
{
    static const struct {
        const char *id, *stage, *owner, *customer;
        int64_t updated;
    } set[] = {
        { "m", "lead", "alice", "Acme", T0 + 10 },
        { "c", "qualified", "bob", "Acme", T0 + 20 },
        { "x", "lead", "bob", "Globex", T0 + 30 },
        { "a", "won", NULL, "Acme", T0 + 40 },
        { "q", "lead", "alice", NULL, T0 + 50 },
        { "b", "qualified", "alice", "Globex", T0 + 60 },
    };
    for (size_t k = 0; k < sizeof set / sizeof set[0]; k++) {
        sfsm_record r = base_rec(set[k].id);
        r.stage = set[k].stage;
        r.owner = set[k].owner;
        r.customer = set[k].customer;
        r.updated_ms = set[k].updated;
        insert_ok(c, &r);
    }
}

static void scan_empty_store(void **state)
{
    ctx *c = *state;
    slist l;
    memset(&l, 0, sizeof l);
    sfsm_filter f = filter(NULL, NULL, NULL, 0);
    EXPECT_RC(scan(c, &f, &l), SFSM_OK);
    assert_int_equal(l.calls, 0);
    f = filter("lead", "alice", "Acme", T0);
    EXPECT_RC(scan(c, &f, &l), SFSM_OK);
    assert_int_equal(l.calls, 0);
}

static void scan_all_in_creation_order(void **state)
{
    ctx *c = *state;
    insert_scan_set(c);
    expect_scan_all(c, "m,c,x,a,q,b");
    /* updates do not move records */
    sfsm_record r;
    EXPECT_RC(get(c, "m", &r), SFSM_OK);
    sfsm_record n = base_rec("m");
    n.version = 2;
    n.updated_ms = T0 + 1000;
    put_ok(c, &n, 1, SFSM_FIELD_ALL);
    expect_scan_all(c, "m,c,x,a,q,b");
    /* scanned records carry the full record */
    sfsm_record full = full_rec("full");
    insert_ok(c, &full);
    slist l;
    memset(&l, 0, sizeof l);
    sfsm_filter f = filter(NULL, NULL, "Acme GmbH", 0);
    EXPECT_RC(scan(c, &f, &l), SFSM_OK);
    assert_int_equal(l.n, 1);
    check_rec(&full, &l.r[0].r);
    slist_free(&l);
}

static void scan_filter_single_members(void **state)
{
    ctx *c = *state;
    insert_scan_set(c);
    sfsm_filter f;
    f = filter("lead", NULL, NULL, 0);        expect_scan(c, &f, "m,x,q");
    f = filter("qualified", NULL, NULL, 0);   expect_scan(c, &f, "c,b");
    f = filter("won", NULL, NULL, 0);         expect_scan(c, &f, "a");
    f = filter("lost", NULL, NULL, 0);        expect_scan(c, &f, "");
    f = filter("Lead", NULL, NULL, 0);        expect_scan(c, &f, "");  /* case-sensitive */
    f = filter(NULL, "alice", NULL, 0);       expect_scan(c, &f, "m,q,b");
    f = filter(NULL, "bob", NULL, 0);         expect_scan(c, &f, "c,x");
    f = filter(NULL, "carol", NULL, 0);       expect_scan(c, &f, "");
    f = filter(NULL, "Acme", NULL, 0);        expect_scan(c, &f, "");  /* a customer's name, not an owner's */
    f = filter(NULL, "alic", NULL, 0);        expect_scan(c, &f, "");  /* no prefix match */
    f = filter(NULL, NULL, "Acme", 0);        expect_scan(c, &f, "m,c,a");
    f = filter(NULL, NULL, "Globex", 0);      expect_scan(c, &f, "x,b");
    f = filter(NULL, NULL, "lead", 0);        expect_scan(c, &f, "");
    f = filter(NULL, NULL, "%", 0);           expect_scan(c, &f, "");  /* no LIKE patterns */
    f = filter(NULL, NULL, "Acm_", 0);        expect_scan(c, &f, "");
    f = filter(NULL, NULL, "*", 0);           expect_scan(c, &f, "");
}

static void scan_filter_changed_since(void **state)
{
    ctx *c = *state;
    insert_scan_set(c);
    sfsm_filter f;
    f = filter(NULL, NULL, NULL, T0 + 40);     expect_scan(c, &f, "a,q,b");  /* at or after */
    f = filter(NULL, NULL, NULL, T0 + 41);     expect_scan(c, &f, "q,b");
    f = filter(NULL, NULL, NULL, T0 + 10);     expect_scan(c, &f, "m,c,x,a,q,b");
    f = filter(NULL, NULL, NULL, T0 + 60);     expect_scan(c, &f, "b");
    f = filter(NULL, NULL, NULL, T0 + 61);     expect_scan(c, &f, "");
    f = filter(NULL, NULL, NULL, 1);           expect_scan(c, &f, "m,c,x,a,q,b");
    f = filter(NULL, NULL, NULL, INT64_MAX);   expect_scan(c, &f, "");
    /* an update that moves updated_ms brings an old record back */
    sfsm_record n = base_rec("m");
    n.version = 2;
    n.owner = "alice";
    n.customer = "Acme";
    n.updated_ms = T0 + 100;
    put_ok(c, &n, 1, 0);
    f = filter(NULL, NULL, NULL, T0 + 61);     expect_scan(c, &f, "m");
    /* changed_since looks at updated_ms, not the other times */
    sfsm_record o = base_rec("old");
    o.created_ms = T0 + 500;
    o.stage_entered_ms = T0 + 500;
    o.updated_ms = T0;
    insert_ok(c, &o);
    f = filter(NULL, NULL, NULL, T0 + 1);      expect_scan(c, &f, "m,c,x,a,q,b");
}

/* changed_since_ms 0 means "any": also records whose updated_ms is 0 or
 * before the epoch (imported data, a test clock). */
static void scan_changed_since_zero_matches_any(void **state)
{
    ctx *c = *state;
    sfsm_record r = base_rec("epoch");
    r.updated_ms = 0;
    insert_ok(c, &r);
    r = base_rec("before-epoch");
    r.created_ms = -DAY;
    r.stage_entered_ms = -DAY;
    r.updated_ms = -DAY;
    insert_ok(c, &r);
    r = base_rec("now");
    insert_ok(c, &r);
    sfsm_filter f;
    f = filter(NULL, NULL, NULL, 0);          expect_scan(c, &f, "epoch,before-epoch,now");
    f = filter("lead", NULL, NULL, 0);        expect_scan(c, &f, "epoch,before-epoch,now");
    f = filter(NULL, NULL, NULL, 1);          expect_scan(c, &f, "now");
}

static void scan_filter_combinations(void **state)
{
    ctx *c = *state;
    insert_scan_set(c);
    sfsm_filter f;
    f = filter("lead", "alice", NULL, 0);         expect_scan(c, &f, "m,q");
    f = filter("lead", NULL, "Acme", 0);          expect_scan(c, &f, "m");
    f = filter(NULL, "bob", "Acme", 0);           expect_scan(c, &f, "c");
    f = filter("lead", "bob", "Globex", 0);       expect_scan(c, &f, "x");
    f = filter("lead", "bob", "Acme", 0);         expect_scan(c, &f, "");
    f = filter("qualified", "alice", NULL, T0 + 60); expect_scan(c, &f, "b");
    f = filter("lead", NULL, NULL, T0 + 30);      expect_scan(c, &f, "x,q");
    f = filter(NULL, "alice", "Globex", T0 + 61); expect_scan(c, &f, "");
    f = filter(NULL, NULL, "Acme", T0 + 15);      expect_scan(c, &f, "c,a");
    f = filter("won", NULL, "Acme", T0 + 40);     expect_scan(c, &f, "a");
    f = filter("lead", "alice", "Acme", T0 + 10); expect_scan(c, &f, "m");
    f = filter("lead", "alice", "Acme", T0 + 11); expect_scan(c, &f, "");
}

static void scan_sees_updates(void **state)
{
    ctx *c = *state;
    insert_scan_set(c);
    sfsm_record n = base_rec("x");
    n.version = 2;
    n.stage = "won";
    n.owner = "carol";
    n.customer = "Initech";
    n.updated_ms = T0 + 30;
    put_ok(c, &n, 1, SFSM_FIELD_OWNER | SFSM_FIELD_CUSTOMER);
    sfsm_filter f;
    f = filter(NULL, "bob", NULL, 0);      expect_scan(c, &f, "c");
    f = filter(NULL, "carol", NULL, 0);    expect_scan(c, &f, "x");
    f = filter(NULL, NULL, "Globex", 0);   expect_scan(c, &f, "b");
    f = filter(NULL, NULL, "Initech", 0);  expect_scan(c, &f, "x");
    f = filter("won", NULL, NULL, 0);      expect_scan(c, &f, "x,a");
    f = filter("lead", NULL, NULL, 0);     expect_scan(c, &f, "m,q");
    /* clearing the owner: no longer matched by its old value */
    n.version = 3;
    n.owner = NULL;
    put_ok(c, &n, 2, SFSM_FIELD_OWNER);
    f = filter(NULL, "carol", NULL, 0);    expect_scan(c, &f, "");
}

static void scan_callback_stops(void **state)
{
    ctx *c = *state;
    insert_scan_set(c);
    static const int rcs[] = { 7, -1, 1, SFSM_EEXISTS };
    static const size_t at[] = { 3, 1, 6, 2 };
    for (size_t k = 0; k < 4; k++) {
        slist l;
        memset(&l, 0, sizeof l);
        l.stop_at = at[k];
        l.stop_rc = rcs[k];
        sfsm_filter f = filter(NULL, NULL, NULL, 0);
        int rc = scan(c, &f, &l);
        if (rc != rcs[k] || l.calls != at[k])
            fail_msg("scan stopped with %d after %zu calls; expected %d after %zu", rc, l.calls, rcs[k], at[k]);
        slist_free(&l);
    }
    /* with a filter: counts matching records only */
    slist l;
    memset(&l, 0, sizeof l);
    l.stop_at = 2;
    l.stop_rc = 99;
    sfsm_filter f = filter(NULL, "alice", NULL, 0);
    assert_int_equal(scan(c, &f, &l), 99);
    assert_int_equal(l.calls, 2);
    assert_string_equal(l.r[1].r.id, "q");
    slist_free(&l);
    expect_scan_all(c, "m,c,x,a,q,b"); /* a stopped scan changes nothing */
}

/* ================================================================== */
/* checks: transactions                                                 */

static void txn_commit_keeps(void **state)
{
    ctx *c = *state;
    sfsm_record a = base_rec("a");
    insert_ok(c, &a);
    sfsm_history_entry h1 = hentry(1, SFSM_HISTORY_CREATE, NULL, "lead");
    append_ok(c, "a", &h1);
    EXPECT_RC(begin(c), SFSM_OK);
    sfsm_record a2 = full_rec("a");
    a2.version = 2;
    put_ok(c, &a2, 1, SFSM_FIELD_ALL);
    sfsm_history_entry h2 = hentry(2, SFSM_HISTORY_TRANSITION, "lead", "qualified");
    append_ok(c, "a", &h2);
    sfsm_record b = full_rec("b");
    insert_ok(c, &b);
    sfsm_history_entry hb = hentry(1, SFSM_HISTORY_CREATE, NULL, "qualified");
    append_ok(c, "b", &hb);
    /* own writes are visible inside the transaction */
    expect_stored(c, &a2, SFSM_FIELD_ALL);
    expect_stored(c, &b, SFSM_FIELD_ALL);
    expect_scan_all(c, "a,b");
    EXPECT_RC(commit(c), SFSM_OK);
    expect_stored(c, &a2, SFSM_FIELD_ALL);
    expect_stored(c, &b, SFSM_FIELD_ALL);
    sfsm_history_entry ha[2] = { h1, h2 };
    expect_history(c, "a", ha, 2);
    expect_history(c, "b", &hb, 1);
    expect_scan_all(c, "a,b");
}

static void txn_rollback_undoes(void **state)
{
    ctx *c = *state;
    sfsm_record a = full_rec("a");
    insert_ok(c, &a);
    sfsm_history_entry h1 = hentry(1, SFSM_HISTORY_CREATE, NULL, "qualified");
    append_ok(c, "a", &h1);
    EXPECT_RC(begin(c), SFSM_OK);
    sfsm_record a2 = base_rec("a");
    a2.version = 2;
    a2.stage = "won";
    a2.updated_ms = T0 + 5;
    put_ok(c, &a2, 1, SFSM_FIELD_ALL);
    sfsm_history_entry h2 = hentry(2, SFSM_HISTORY_TRANSITION, "qualified", "won");
    append_ok(c, "a", &h2);
    sfsm_record b = base_rec("b");
    insert_ok(c, &b);
    append_ok(c, "b", &h1);
    EXPECT_RC(rollback(c), SFSM_OK);
    expect_stored(c, &a, SFSM_FIELD_ALL);
    expect_history(c, "a", &h1, 1);
    expect_absent(c, "b");
    hlist l;
    memset(&l, 0, sizeof l);
    EXPECT_RC(read_hist(c, "b", &l), SFSM_ENOTFOUND);
    hlist_free(&l);
    expect_scan_all(c, "a");
    sfsm_filter f = filter("won", NULL, NULL, 0);
    expect_scan(c, &f, "");
    /* the old version is current again: an update from 1 works, from 2 not */
    EXPECT_RC(put(c, &a2, 2, SFSM_FIELD_ALL), SFSM_ECONFLICT);
    put_ok(c, &a2, 1, SFSM_FIELD_ALL);
    /* a rolled-back id can be inserted again, with an empty history */
    insert_ok(c, &b);
    assert_int_equal(history_len(c, "b"), 0);
    sfsm_history_entry hb = hentry(1, SFSM_HISTORY_CREATE, NULL, "lead");
    hb.note = "second life";
    append_ok(c, "b", &hb);
    expect_history(c, "b", &hb, 1);
    expect_scan_all(c, "a,b");
}

static void txn_rollback_of_insert_then_update(void **state)
{
    ctx *c = *state;
    EXPECT_RC(begin(c), SFSM_OK);
    sfsm_record a = full_rec("a");
    insert_ok(c, &a);
    sfsm_record a2 = a;
    a2.version = 2;
    static const sfsm_attr one[] = { { "k", "v" } };
    a2.attrs = one;
    a2.attr_count = 1;
    put_ok(c, &a2, 1, SFSM_FIELD_ATTRS);
    a2.version = 3;
    a2.attr_count = 0;
    a2.attrs = NULL;
    put_ok(c, &a2, 2, SFSM_FIELD_ATTRS);
    EXPECT_RC(rollback(c), SFSM_OK);
    expect_absent(c, "a");
    expect_scan_all(c, "");
    insert_ok(c, &a);
    expect_stored(c, &a, SFSM_FIELD_ALL);
}

static void savepoint_rollback_undoes_inner_only(void **state)
{
    ctx *c = *state;
    EXPECT_RC(begin(c), SFSM_OK);
    sfsm_record a = full_rec("a");
    insert_ok(c, &a);
    sfsm_history_entry h1 = hentry(1, SFSM_HISTORY_CREATE, NULL, "qualified");
    append_ok(c, "a", &h1);

    EXPECT_RC(begin(c), SFSM_OK);
    sfsm_record b = base_rec("b");
    insert_ok(c, &b);
    append_ok(c, "b", &h1);
    sfsm_record a2 = base_rec("a");
    a2.version = 2;
    a2.stage = "lost";
    put_ok(c, &a2, 1, SFSM_FIELD_ALL);
    sfsm_history_entry h2 = hentry(2, SFSM_HISTORY_TRANSITION, "qualified", "lost");
    append_ok(c, "a", &h2);
    EXPECT_RC(rollback(c), SFSM_OK);

    /* inside the outer transaction: the outer part is still there */
    expect_stored(c, &a, SFSM_FIELD_ALL);
    expect_history(c, "a", &h1, 1);
    expect_absent(c, "b");
    /* and the outer transaction goes on */
    sfsm_record cc = base_rec("c");
    insert_ok(c, &cc);
    EXPECT_RC(commit(c), SFSM_OK);
    expect_stored(c, &a, SFSM_FIELD_ALL);
    expect_history(c, "a", &h1, 1);
    expect_absent(c, "b");
    expect_stored(c, &cc, SFSM_FIELD_ALL);
    expect_scan_all(c, "a,c");
}

static void savepoint_commit_folds_into_outer(void **state)
{
    ctx *c = *state;
    EXPECT_RC(begin(c), SFSM_OK);
    sfsm_record a = base_rec("a");
    insert_ok(c, &a);
    EXPECT_RC(begin(c), SFSM_OK);
    sfsm_record b = full_rec("b");
    insert_ok(c, &b);
    sfsm_history_entry hb = hentry(1, SFSM_HISTORY_CREATE, NULL, "qualified");
    append_ok(c, "b", &hb);
    sfsm_record a2 = a;
    a2.version = 2;
    a2.owner = "dave";
    put_ok(c, &a2, 1, SFSM_FIELD_OWNER);
    EXPECT_RC(commit(c), SFSM_OK);
    expect_stored(c, &a2, SFSM_FIELD_OWNER);
    expect_stored(c, &b, SFSM_FIELD_ALL);
    EXPECT_RC(commit(c), SFSM_OK);
    expect_stored(c, &a2, SFSM_FIELD_OWNER);
    expect_stored(c, &b, SFSM_FIELD_ALL);
    expect_history(c, "b", &hb, 1);
    expect_scan_all(c, "a,b");
}

static void outer_rollback_after_inner_commit_undoes_both(void **state)
{
    ctx *c = *state;
    sfsm_record z = base_rec("z");
    insert_ok(c, &z);
    EXPECT_RC(begin(c), SFSM_OK);
    sfsm_record a = base_rec("a");
    insert_ok(c, &a);
    EXPECT_RC(begin(c), SFSM_OK);
    sfsm_record b = base_rec("b");
    insert_ok(c, &b);
    sfsm_record z2 = z;
    z2.version = 2;
    z2.stage = "won";
    put_ok(c, &z2, 1, 0);
    sfsm_history_entry h = hentry(1, SFSM_HISTORY_CREATE, NULL, "lead");
    append_ok(c, "z", &h);
    EXPECT_RC(commit(c), SFSM_OK);
    EXPECT_RC(rollback(c), SFSM_OK);
    expect_absent(c, "a");
    expect_absent(c, "b");
    expect_stored(c, &z, SFSM_FIELD_ALL);
    assert_int_equal(history_len(c, "z"), 0);
    expect_scan_all(c, "z");
}

static void nested_three_levels(void **state)
{
    ctx *c = *state;
    sfsm_record r[4];
    static const char *const ids[] = { "l0", "l1", "l2", "l3" };
    for (int k = 0; k < 4; k++)
        r[k] = base_rec(ids[k]);
    insert_ok(c, &r[0]);
    EXPECT_RC(begin(c), SFSM_OK);           /* level 1 */
    insert_ok(c, &r[1]);
    EXPECT_RC(begin(c), SFSM_OK);           /* level 2 */
    insert_ok(c, &r[2]);
    EXPECT_RC(begin(c), SFSM_OK);           /* level 3 */
    insert_ok(c, &r[3]);
    EXPECT_RC(rollback(c), SFSM_OK);        /* drops l3 */
    expect_scan_all(c, "l0,l1,l2");
    EXPECT_RC(begin(c), SFSM_OK);           /* level 3 again */
    sfsm_record x = base_rec("l0");
    x.version = 2;
    x.stage = "won";
    put_ok(c, &x, 1, 0);
    EXPECT_RC(commit(c), SFSM_OK);          /* folds into level 2 */
    EXPECT_RC(rollback(c), SFSM_OK);        /* drops l2 and the update */
    expect_stored(c, &r[0], SFSM_FIELD_ALL);
    expect_scan_all(c, "l0,l1");
    EXPECT_RC(begin(c), SFSM_OK);           /* level 2 again */
    insert_ok(c, &r[3]);
    EXPECT_RC(commit(c), SFSM_OK);
    EXPECT_RC(commit(c), SFSM_OK);          /* outermost */
    expect_scan_all(c, "l0,l1,l3");
    /* a fresh transaction after that works as a top-level one */
    EXPECT_RC(begin(c), SFSM_OK);
    insert_ok(c, &r[2]);
    EXPECT_RC(rollback(c), SFSM_OK);
    expect_scan_all(c, "l0,l1,l3");
}

static void rollback_then_history_reappend(void **state)
{
    ctx *c = *state;
    sfsm_record a = base_rec("a");
    insert_ok(c, &a);
    sfsm_history_entry e[3];
    e[0] = hentry(1, SFSM_HISTORY_CREATE, NULL, "lead");
    append_ok(c, "a", &e[0]);
    EXPECT_RC(begin(c), SFSM_OK);
    sfsm_history_entry bad = hentry(2, SFSM_HISTORY_TRANSITION, "lead", "lost");
    bad.note = "rolled back";
    append_ok(c, "a", &bad);
    EXPECT_RC(rollback(c), SFSM_OK);
    e[1] = hentry(2, SFSM_HISTORY_TRANSITION, "lead", "qualified");
    e[1].note = "kept";
    append_ok(c, "a", &e[1]);
    e[2] = hentry(3, SFSM_HISTORY_UPDATE, "qualified", "qualified");
    EXPECT_RC(begin(c), SFSM_OK);
    append_ok(c, "a", &e[2]);
    EXPECT_RC(commit(c), SFSM_OK);
    expect_history(c, "a", e, 3);
}

/* ================================================================== */
/* checks: attributes                                                   */

static void attrs_sorted_replace_remove(void **state)
{
    ctx *c = *state;
    static const sfsm_attr a1[] = { { "alpha", "1" }, { "beta", "2" }, { "gamma", "3" } };
    static const sfsm_attr a2[] = { { "alpha", "1" }, { "beta", "two" }, { "delta", "4" }, { "gamma", "3" } };
    static const sfsm_attr a3[] = { { "A", "upper" }, { "a", "lower" }, { "a.b", "dot" }, { "ab", "x" } };
    sfsm_record r = base_rec("at");
    r.attrs = a1;
    r.attr_count = 3;
    insert_ok(c, &r);
    expect_stored(c, &r, SFSM_FIELD_ALL);
    r.version = 2;
    r.attrs = a2; /* replace one value, add a key in the middle */
    r.attr_count = 4;
    put_ok(c, &r, 1, SFSM_FIELD_ATTRS);
    expect_stored(c, &r, SFSM_FIELD_ATTRS);
    r.version = 3;
    r.attrs = a1 + 1; /* remove some */
    r.attr_count = 1;
    put_ok(c, &r, 2, SFSM_FIELD_ATTRS);
    expect_stored(c, &r, SFSM_FIELD_ATTRS);
    r.version = 4;
    r.attrs = NULL; /* remove all */
    r.attr_count = 0;
    put_ok(c, &r, 3, SFSM_FIELD_ATTRS);
    expect_stored(c, &r, SFSM_FIELD_ATTRS);
    r.version = 5;
    r.attrs = a3; /* byte order (strcmp) sorting, case-sensitive keys */
    r.attr_count = 4;
    put_ok(c, &r, 4, SFSM_FIELD_ATTRS);
    expect_stored(c, &r, SFSM_FIELD_ATTRS);
    /* another record's attributes are separate */
    sfsm_record o = base_rec("other");
    o.attrs = a2;
    o.attr_count = 4;
    insert_ok(c, &o);
    expect_stored(c, &r, SFSM_FIELD_ATTRS);
    expect_stored(c, &o, SFSM_FIELD_ALL);
}

static void attrs_rollback_restores(void **state)
{
    ctx *c = *state;
    static const sfsm_attr a1[] = { { "k1", "v1" }, { "k2", "v2" } };
    static const sfsm_attr a2[] = { { "k3", "v3" } };
    sfsm_record r = base_rec("ar");
    r.attrs = a1;
    r.attr_count = 2;
    insert_ok(c, &r);
    sfsm_record n = r;
    EXPECT_RC(begin(c), SFSM_OK);
    n.version = 2;
    n.attrs = a2;
    n.attr_count = 1;
    put_ok(c, &n, 1, SFSM_FIELD_ATTRS);
    EXPECT_RC(begin(c), SFSM_OK);
    n.version = 3;
    n.attrs = NULL;
    n.attr_count = 0;
    put_ok(c, &n, 2, SFSM_FIELD_ATTRS);
    EXPECT_RC(rollback(c), SFSM_OK);
    n.version = 2;
    n.attrs = a2;
    n.attr_count = 1;
    expect_stored(c, &n, SFSM_FIELD_ATTRS);
    EXPECT_RC(rollback(c), SFSM_OK);
    expect_stored(c, &r, SFSM_FIELD_ALL);
    /* and a committed replacement sticks */
    EXPECT_RC(begin(c), SFSM_OK);
    put_ok(c, &n, 1, SFSM_FIELD_ATTRS);
    EXPECT_RC(commit(c), SFSM_OK);
    expect_stored(c, &n, SFSM_FIELD_ATTRS);
}

/* ================================================================== */
/* checks: sizes and text                                               */

static char *filled(size_t n, char ch)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t k = 0; k < n; k++)
        s[k] = (char)(ch + (char)(k % 23));
    s[n] = '\0';
    return s;
}

static void large_values(void **state)
{
    ctx *c = *state;
    char *title = filled(SFSM_MAX_TEXT, 'a');
    char *customer = filled(SFSM_MAX_TEXT, 'A');
    char *owner = filled(SFSM_MAX_TEXT, 'b');
    char *id = filled(SFSM_MAX_ID, 'c');
    char *stage = filled(SFSM_MAX_NAME, 'd');
    char *note = filled(SFSM_MAX_TEXT, 'e');
    char *changes = filled(8 * SFSM_MAX_TEXT, 'f');
    sfsm_attr *attrs = calloc(SFSM_MAX_ATTRS, sizeof *attrs);
    assert_non_null(attrs);
    for (size_t k = 0; k < SFSM_MAX_ATTRS; k++) {
        char *key = malloc(SFSM_MAX_NAME + 1);
        assert_non_null(key);
        memset(key, 'k', SFSM_MAX_NAME);
        snprintf(key + SFSM_MAX_NAME - 4, 5, "%04zu", k); /* sorted, 128 bytes */
        attrs[k].key = key;
        attrs[k].value = filled(k == 0 ? SFSM_MAX_TEXT : 100 + k, (char)('!' + (char)(k % 60)));
    }
    sfsm_record r = base_rec(id);
    r.stage = stage;
    r.title = title;
    r.customer = customer;
    r.owner = owner;
    r.amount = 1;
    r.currency = "EUR";
    r.attrs = attrs;
    r.attr_count = SFSM_MAX_ATTRS;
    insert_ok(c, &r);
    expect_stored(c, &r, SFSM_FIELD_ALL);
    sfsm_history_entry h = hentry(1, SFSM_HISTORY_CREATE, NULL, stage);
    h.note = note;
    h.changes = changes;
    h.actor = stage;
    append_ok(c, id, &h);
    expect_history(c, id, &h, 1);
    sfsm_filter f = filter(stage, owner, customer, 0);
    slist l;
    memset(&l, 0, sizeof l);
    EXPECT_RC(scan(c, &f, &l), SFSM_OK);
    assert_int_equal(l.n, 1);
    check_rec(&r, &l.r[0].r);
    slist_free(&l);
    /* update all 256 values at once */
    for (size_t k = 0; k < SFSM_MAX_ATTRS; k++) {
        free((char *)attrs[k].value);
        attrs[k].value = filled(SFSM_MAX_TEXT - k, (char)('0' + (char)(k % 10)));
    }
    r.version = 2;
    put_ok(c, &r, 1, SFSM_FIELD_ATTRS);
    expect_stored(c, &r, SFSM_FIELD_ATTRS);
    for (size_t k = 0; k < SFSM_MAX_ATTRS; k++) {
        free((char *)attrs[k].key);
        free((char *)attrs[k].value);
    }
    free(attrs);
    free(title);
    free(customer);
    free(owner);
    free(id);
    free(stage);
    free(note);
    free(changes);
}

static void unicode_byte_exact(void **state)
{
    ctx *c = *state;
    static const char zh_id[] = "\xe5\x95\x86\xe6\x9c\xba-42";                          /* 商机-42 */
    static const char zh_cust[] = "\xe5\x8c\x97\xe4\xba\xac\xe7\xa7\x91\xe6\x8a\x80\xe6\x9c\x89\xe9\x99\x90"
                                  "\xe5\x85\xac\xe5\x8f\xb8";                            /* 北京科技有限公司 */
    static const char zh_owner[] = "\xe7\x8e\x8b\xe8\x8a\xb3";                          /* 王芳 */
    static const char emoji_title[] = "Deal \xf0\x9f\x9a\x80\xf0\x9f\x92\xb0 \xf0\x9f\x91\xa9\xe2\x80\x8d"
                                      "\xf0\x9f\x92\xbb done";                           /* 🚀💰 👩‍💻 */
    static const char nfc[] = "Caf\xc3\xa9";                                            /* Café, U+00E9 */
    static const char nfd[] = "Cafe\xcc\x81";                                           /* Cafe + U+0301 */
    static const char stage[] = "\xd0\xbb\xd0\xb8\xd0\xb4";                             /* лид */
    static const char mixed[] = "\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a \xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\x82"
                                "\xe0\xa4\xa6\xe0\xa5\x80 a\xcc\x8a\xcc\x81 \xef\xbb\xbf";
    sfsm_attr attrs[] = { { "emoji\xf0\x9f\x98\x80", emoji_title }, { "\xe9\x94\xae", nfd } }; /* sorted bytes */
    sfsm_record r = base_rec(zh_id);
    r.stage = stage;
    r.customer = zh_cust;
    r.owner = zh_owner;
    r.title = emoji_title;
    r.attrs = attrs;
    r.attr_count = 2;
    r.pipeline = mixed;
    insert_ok(c, &r);
    expect_stored(c, &r, SFSM_FIELD_ALL);
    /* NFC and NFD are different byte strings: two owners, two ids */
    sfsm_record a = base_rec(nfc);
    a.owner = nfc;
    a.customer = nfd;
    sfsm_record b = base_rec(nfd);
    b.owner = nfd;
    b.customer = nfc;
    insert_ok(c, &a);
    insert_ok(c, &b);
    expect_stored(c, &a, SFSM_FIELD_ALL);
    expect_stored(c, &b, SFSM_FIELD_ALL);
    sfsm_filter f;
    f = filter(NULL, nfc, NULL, 0);         expect_scan(c, &f, nfc);
    f = filter(NULL, nfd, NULL, 0);         expect_scan(c, &f, nfd);
    f = filter(NULL, NULL, nfc, 0);         expect_scan(c, &f, nfd);
    f = filter(NULL, "cafe\xcc\x81", NULL, 0); expect_scan(c, &f, "");  /* no case folding */
    f = filter(stage, zh_owner, zh_cust, 0); expect_scan(c, &f, zh_id);
    sfsm_history_entry h = hentry(1, SFSM_HISTORY_CREATE, NULL, stage);
    h.actor = zh_owner;
    h.role = "\xe7\xbb\x8f\xe7\x90\x86"; /* 经理 */
    h.note = mixed;
    h.changes = "{\"title\":\"Deal \xf0\x9f\x9a\x80\"}";
    append_ok(c, zh_id, &h);
    expect_history(c, zh_id, &h, 1);
    expect_absent(c, "\xe5\x95\x86\xe6\x9c\xba-4");
}

/* Many records: scans, filters and a rolled-back bulk insert. */
#define MANY 5000

static int count_cb(const sfsm_record *rec, void *ud)
{
    size_t *st = ud; /* st[0]: records seen, st[1]: out of creation order */
    /* records were created with descending numbers: MANY-1 first */
    unsigned long n = strtoul(rec->id + 4, NULL, 10);
    if (n != MANY - 1 - st[0])
        st[1]++;
    st[0]++;
    return 0;
}

static void many_records(void **state)
{
    ctx *c = *state;
    static const char *const owners[] = { "o0", "o1", "o2", "o3", "o4", "o5", "o6" };
    static const char *const stages[] = { "lead", "qualified", "won" };
    char id[32];
    /* inserted in descending id order, so creation order != id order */
    EXPECT_RC(begin(c), SFSM_OK);
    for (size_t k = 0; k < MANY; k++) {
        size_t n = MANY - 1 - k;
        snprintf(id, sizeof id, "opp-%05zu", n);
        sfsm_record r = base_rec(id);
        r.owner = owners[n % 7];
        r.stage = stages[n % 3];
        r.updated_ms = T0 + (int64_t)n;
        r.amount = (int64_t)n;
        r.currency = "EUR";
        insert_ok(c, &r);
        sfsm_history_entry h = hentry(1, SFSM_HISTORY_CREATE, NULL, r.stage);
        append_ok(c, id, &h);
    }
    EXPECT_RC(commit(c), SFSM_OK);
    size_t st[2] = { 0, 0 };
    sfsm_filter f = filter(NULL, NULL, NULL, 0);
    assert_int_equal(c->ops->scan(c->b, &f, count_cb, st), SFSM_OK);
    assert_int_equal(st[0], MANY);
    assert_int_equal(st[1], 0);
    /* owner filter: exactly the n with n % 7 == 3 */
    slist l;
    memset(&l, 0, sizeof l);
    f = filter(NULL, "o3", NULL, 0);
    EXPECT_RC(scan(c, &f, &l), SFSM_OK);
    size_t expect = 0;
    for (size_t n = 0; n < MANY; n++)
        expect += n % 7 == 3;
    assert_int_equal(l.n, expect);
    for (size_t k = 0; k < l.n; k++) {
        unsigned long n = strtoul(l.r[k].r.id + 4, NULL, 10);
        assert_int_equal(n % 7, 3);
        if (k)
            assert_true(n < strtoul(l.r[k - 1].r.id + 4, NULL, 10));
    }
    slist_free(&l);
    /* stage + changed_since */
    f = filter("won", NULL, NULL, T0 + 4000);
    EXPECT_RC(scan(c, &f, &l), SFSM_OK);
    expect = 0;
    for (size_t n = 4000; n < MANY; n++)
        expect += n % 3 == 2;
    assert_int_equal(l.n, expect);
    slist_free(&l);
    /* random gets */
    for (size_t n = 0; n < MANY; n += 37) {
        snprintf(id, sizeof id, "opp-%05zu", n);
        sfsm_record got;
        EXPECT_RC(get(c, id, &got), SFSM_OK);
        check_str("id", id, id, got.id);
        check_str("owner", id, owners[n % 7], got.owner);
        check_i64("amount", id, (int64_t)n, got.amount);
    }
    /* update every other record, then a bulk insert that is rolled back */
    for (size_t n = 0; n < MANY; n += 2) {
        snprintf(id, sizeof id, "opp-%05zu", n);
        sfsm_record r = base_rec(id);
        r.version = 2;
        r.stage = "lost";
        r.owner = "o9";
        r.updated_ms = T0 + 100000;
        put_ok(c, &r, 1, SFSM_FIELD_OWNER);
    }
    EXPECT_RC(begin(c), SFSM_OK);
    for (size_t n = MANY; n < 2 * MANY; n++) {
        snprintf(id, sizeof id, "opp-%05zu", n);
        sfsm_record r = base_rec(id);
        insert_ok(c, &r);
    }
    EXPECT_RC(rollback(c), SFSM_OK);
    f = filter("lost", "o9", NULL, T0 + 100000);
    EXPECT_RC(scan(c, &f, &l), SFSM_OK);
    assert_int_equal(l.n, MANY / 2);
    slist_free(&l);
    f = filter(NULL, NULL, NULL, 0);
    EXPECT_RC(scan(c, &f, &l), SFSM_OK);
    assert_int_equal(l.n, MANY);
    slist_free(&l);
    for (size_t n = 0; n < 2 * MANY; n += 41) {
        snprintf(id, sizeof id, "opp-%05zu", n);
        sfsm_record got;
        int rc = get(c, id, &got);
        if (n < MANY) {
            assert_int_equal(rc, SFSM_OK);
            check_str("id", id, id, got.id);
        } else {
            assert_int_equal(rc, SFSM_ENOTFOUND);
        }
    }
    assert_int_equal(history_len(c, "opp-00000"), 1);
    assert_int_equal(history_len(c, "opp-04999"), 1);
    /* the rolled-back ids are free again */
    snprintf(id, sizeof id, "opp-%05d", MANY + 7);
    sfsm_record r = base_rec(id);
    insert_ok(c, &r);
    expect_stored(c, &r, SFSM_FIELD_ALL);
}

/* ================================================================== */
/* version 3: teams, targets, payments, history_scan                    */

typedef struct sbuf {
    char s[8192];
    size_t n;
    int calls;
    int stop_at; /* return non-zero on this call (1-based); 0: never */
} sbuf;

static void sbuf_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->s + b->n, sizeof b->s - b->n, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= sizeof b->s - b->n)
        fail_msg("scan output too long");
    b->n += (size_t)w;
}

static int sbuf_next(sbuf *b)
{
    b->calls++;
    return b->stop_at && b->calls == b->stop_at ? 7 : 0;
}

static int team_line(const char *owner, const char *team, void *ud)
{
    sbuf *b = ud;
    sbuf_add(b, "%s:%s;", team ? team : "(null)", owner ? owner : "(null)");
    return sbuf_next(b);
}

static int target_line(const sfsm_target *t, void *ud)
{
    sbuf *b = ud;
    sbuf_add(b, "%d:%s:%d:%d:%d:%s:%lld;", (int)t->subject_kind, t->subject ? t->subject : "(null)",
             t->period.year, (int)t->period.kind, t->period.index, t->currency ? t->currency : "(null)",
             (long long)t->amount);
    return sbuf_next(b);
}

static int payment_line(const sfsm_payment *p, void *ud)
{
    sbuf *b = ud;
    sbuf_add(b, "%s#%llu:%lld:%s:%lld:%s;", p->opp_id ? p->opp_id : "(null)", (unsigned long long)p->seq,
             (long long)p->amount, p->currency ? p->currency : "(null)", (long long)p->at_ms,
             p->note ? p->note : "(null)");
    return sbuf_next(b);
}

static int history_line(const char *id, const sfsm_history_entry *h, void *ud)
{
    sbuf *b = ud;
    sbuf_add(b, "%s@%llu:%s;", id ? id : "(null)", (unsigned long long)h->version, h->to ? h->to : "(null)");
    return sbuf_next(b);
}

/* history_scan may deliver opportunities in any order, but each one's
 * entries together: checks that of the lines in s ("id@v:stage;" …) and
 * writes them to out with the opportunities' groups in id order. */
static void history_groups_by_id(const char *s, char *out, size_t cap)
{
    enum { MAX_GROUPS = 64 };
    struct { const char *at; size_t len, idlen; } g[MAX_GROUPS];
    size_t ng = 0;
    for (const char *p = s; *p;) {
        const char *end = strchr(p, ';');
        assert_non_null(end);
        size_t idlen = (size_t)(strchr(p, '@') - p);
        if (ng && g[ng - 1].idlen == idlen && memcmp(g[ng - 1].at, p, idlen) == 0) {
            g[ng - 1].len = (size_t)(end + 1 - g[ng - 1].at);
        } else {
            for (size_t k = 0; k < ng; k++)
                if (g[k].idlen == idlen && memcmp(g[k].at, p, idlen) == 0)
                    fail_msg("history_scan: the entries of '%.*s' are not together: %s", (int)idlen, p, s);
            assert_true(ng < MAX_GROUPS);
            g[ng].at = p;
            g[ng].len = (size_t)(end + 1 - p);
            g[ng].idlen = idlen;
            ng++;
        }
        p = end + 1;
    }
    for (size_t i = 1; i < ng; i++)   /* insertion sort by id: a handful of groups */
        for (size_t j = i; j > 0; j--) {
            size_t n = g[j].idlen < g[j - 1].idlen ? g[j].idlen : g[j - 1].idlen;
            int c = memcmp(g[j - 1].at, g[j].at, n);
            if (c < 0 || (c == 0 && g[j - 1].idlen <= g[j].idlen))
                break;
            __typeof__(g[0]) t = g[j];
            g[j] = g[j - 1];
            g[j - 1] = t;
        }
    size_t n = 0;
    for (size_t i = 0; i < ng; i++) {
        assert_true(n + g[i].len < cap);
        memcpy(out + n, g[i].at, g[i].len);
        n += g[i].len;
    }
    out[n] = '\0';
}

static const char *teams_of(ctx *c, const char *team)
{
    static sbuf b;
    memset(&b, 0, sizeof b);
    EXPECT_RC(c->ops->team_scan(c->b, team, team_line, &b), SFSM_OK);
    return b.s;
}

static const char *targets_of(ctx *c, sfsm_subject_kind kind, const char *subject, int year)
{
    static sbuf b;
    memset(&b, 0, sizeof b);
    EXPECT_RC(c->ops->target_scan(c->b, kind, subject, year, target_line, &b), SFSM_OK);
    return b.s;
}

static const char *payments_of(ctx *c, const char *opp_id)
{
    static sbuf b;
    memset(&b, 0, sizeof b);
    EXPECT_RC(c->ops->payment_scan(c->b, opp_id, payment_line, &b), SFSM_OK);
    return b.s;
}

static sfsm_target tgt(sfsm_subject_kind kind, const char *subject, int year, sfsm_period_kind pk, int index,
                       const char *currency, int64_t amount)
{
    sfsm_target t = { kind, subject, { year, pk, index }, amount, currency };
    return t;
}

static sfsm_payment pay(const char *opp_id, uint64_t seq, int64_t amount, const char *note)
{
    sfsm_payment p = { opp_id, seq, amount, "EUR", T0 + (int64_t)seq * DAY, note };
    return p;
}

/* A fresh copy of everything version 3 stores (caller frees). */
static char *v3_state(ctx *c)
{
    sbuf *b = calloc(1, sizeof *b);
    assert_non_null(b);
    sbuf_add(b, "T[%s]", teams_of(c, NULL));
    sbuf_add(b, "G[%s]", targets_of(c, SFSM_SUBJECT_OWNER, NULL, 0));
    sbuf_add(b, "P[%s]", payments_of(c, NULL));
    char *s = dup_or_null(b->s);
    free(b);
    return s;
}

static void v3_team_put_replace_remove(void **state)
{
    ctx *c = *state;
    assert_string_equal(teams_of(c, NULL), "");
    EXPECT_RC(c->ops->team_put(c->b, "carol", "south"), SFSM_OK);
    EXPECT_RC(c->ops->team_put(c->b, "bob", "north"), SFSM_OK);
    EXPECT_RC(c->ops->team_put(c->b, "dave", "east"), SFSM_OK);
    EXPECT_RC(c->ops->team_put(c->b, "alice", "north"), SFSM_OK);
    assert_string_equal(teams_of(c, NULL), "east:dave;north:alice;north:bob;south:carol;");
    assert_string_equal(teams_of(c, "north"), "north:alice;north:bob;");
    assert_string_equal(teams_of(c, "west"), "");
    /* an owner is in one team: put replaces */
    EXPECT_RC(c->ops->team_put(c->b, "alice", "south"), SFSM_OK);
    assert_string_equal(teams_of(c, NULL), "east:dave;north:bob;south:alice;south:carol;");
    EXPECT_RC(c->ops->team_put(c->b, "alice", "south"), SFSM_OK);
    assert_string_equal(teams_of(c, "south"), "south:alice;south:carol;");
    /* NULL removes; removing an owner in no team is SFSM_ENOTFOUND */
    EXPECT_RC(c->ops->team_put(c->b, "bob", NULL), SFSM_OK);
    assert_string_equal(teams_of(c, NULL), "east:dave;south:alice;south:carol;");
    EXPECT_RC(c->ops->team_put(c->b, "bob", NULL), SFSM_ENOTFOUND);
    EXPECT_RC(c->ops->team_put(c->b, "nobody", NULL), SFSM_ENOTFOUND);
    assert_string_equal(teams_of(c, NULL), "east:dave;south:alice;south:carol;");
    /* the strings handed in are copied */
    char owner[16] = "erin", team[16] = "west";
    EXPECT_RC(c->ops->team_put(c->b, owner, team), SFSM_OK);
    memset(owner, '#', 4);   /* overwrite what was handed in */
    memset(team, '#', 4);
    assert_string_equal(teams_of(c, "west"), "west:erin;");
    /* a callback's non-zero return stops the scan and comes back */
    sbuf b;
    memset(&b, 0, sizeof b);
    b.stop_at = 2;
    assert_int_equal(c->ops->team_scan(c->b, NULL, team_line, &b), 7);
    assert_int_equal(b.calls, 2);
}

static void v3_target_replace_by_key_sorted(void **state)
{
    ctx *c = *state;
    const sfsm_target in[] = {
        tgt(SFSM_SUBJECT_TEAM, "north", 2026, SFSM_PERIOD_YEAR, 1, "EUR", 9),
        tgt(SFSM_SUBJECT_OWNER, "bob", 2026, SFSM_PERIOD_MONTH, 12, "EUR", 8),
        tgt(SFSM_SUBJECT_OWNER, "bob", 2026, SFSM_PERIOD_MONTH, 2, "EUR", 7),
        tgt(SFSM_SUBJECT_OWNER, "bob", 2026, SFSM_PERIOD_QUARTER, 4, "EUR", 6),
        tgt(SFSM_SUBJECT_OWNER, "bob", 2025, SFSM_PERIOD_WEEK, 52, "EUR", 5),
        tgt(SFSM_SUBJECT_OWNER, "alice", 2027, SFSM_PERIOD_YEAR, 1, "EUR", 4),
        tgt(SFSM_SUBJECT_OWNER, "bob", 2026, SFSM_PERIOD_MONTH, 2, "CNY", 3),
        tgt(SFSM_SUBJECT_OWNER, "bob", 2026, SFSM_PERIOD_MONTH, 2, "USD", 0),
        tgt(SFSM_SUBJECT_TEAM, "bob", 2026, SFSM_PERIOD_YEAR, 1, "EUR", 2),
    };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        EXPECT_RC(c->ops->target_put(c->b, &in[i]), SFSM_OK);
    const char *all = "1:alice:2027:1:1:EUR:4;"
                      "1:bob:2025:4:52:EUR:5;"
                      "1:bob:2026:2:4:EUR:6;"
                      "1:bob:2026:3:2:CNY:3;"
                      "1:bob:2026:3:2:EUR:7;"
                      "1:bob:2026:3:2:USD:0;"
                      "1:bob:2026:3:12:EUR:8;"
                      "2:bob:2026:1:1:EUR:2;"
                      "2:north:2026:1:1:EUR:9;";
    assert_string_equal(targets_of(c, SFSM_SUBJECT_OWNER, NULL, 0), all);
    /* the same key replaces, whatever the amount */
    sfsm_target r = tgt(SFSM_SUBJECT_OWNER, "bob", 2026, SFSM_PERIOD_MONTH, 2, "EUR", INT64_MAX);
    EXPECT_RC(c->ops->target_put(c->b, &r), SFSM_OK);
    assert_string_equal(targets_of(c, SFSM_SUBJECT_OWNER, "bob", 2026),
                        "1:bob:2026:2:4:EUR:6;1:bob:2026:3:2:CNY:3;1:bob:2026:3:2:EUR:9223372036854775807;"
                        "1:bob:2026:3:2:USD:0;1:bob:2026:3:12:EUR:8;");
    assert_string_equal(targets_of(c, SFSM_SUBJECT_TEAM, "bob", 0), "2:bob:2026:1:1:EUR:2;");
    assert_string_equal(targets_of(c, SFSM_SUBJECT_OWNER, NULL, 2025), "1:bob:2025:4:52:EUR:5;");
    assert_string_equal(targets_of(c, SFSM_SUBJECT_TEAM, "alice", 0), "");
    assert_string_equal(targets_of(c, SFSM_SUBJECT_OWNER, "alice", 2026), "");
    /* the strings handed in are copied */
    char subject[16] = "zed", currency[4] = "JPY";
    sfsm_target z = tgt(SFSM_SUBJECT_OWNER, subject, 2030, SFSM_PERIOD_YEAR, 1, currency, 1);
    EXPECT_RC(c->ops->target_put(c->b, &z), SFSM_OK);
    memset(subject, '#', 3);   /* overwrite what was handed in */
    memset(currency, '#', 3);
    assert_string_equal(targets_of(c, SFSM_SUBJECT_OWNER, "zed", 0), "1:zed:2030:1:1:JPY:1;");
    sbuf b;
    memset(&b, 0, sizeof b);
    b.stop_at = 3;
    assert_int_equal(c->ops->target_scan(c->b, SFSM_SUBJECT_OWNER, NULL, 0, target_line, &b), 7);
    assert_int_equal(b.calls, 3);
}

static void v3_payment_seq_unique_and_order(void **state)
{
    ctx *c = *state;
    sfsm_record zz = base_rec("zz"), aa = base_rec("aa");
    insert_ok(c, &zz); /* created first: its payments come first */
    insert_ok(c, &aa);
    sfsm_payment p1 = pay("aa", 1, 100, "deposit"), p2 = pay("zz", 1, 200, NULL), p3 = pay("aa", 2, 300, "");
    EXPECT_RC(c->ops->payment_add(c->b, &p1), SFSM_OK);
    EXPECT_RC(c->ops->payment_add(c->b, &p2), SFSM_OK);
    EXPECT_RC(c->ops->payment_add(c->b, &p3), SFSM_OK);
    const char *all = "zz#1:200:EUR:1767312000000:(null);"
                      "aa#1:100:EUR:1767312000000:deposit;"
                      "aa#2:300:EUR:1767398400000:;";
    assert_string_equal(payments_of(c, NULL), all);
    assert_string_equal(payments_of(c, "aa"), "aa#1:100:EUR:1767312000000:deposit;aa#2:300:EUR:1767398400000:;");
    assert_string_equal(payments_of(c, "zz"), "zz#1:200:EUR:1767312000000:(null);");
    /* a taken seq is SFSM_EEXISTS and changes nothing */
    sfsm_payment dup = pay("aa", 2, 999, "again");
    EXPECT_RC(c->ops->payment_add(c->b, &dup), SFSM_EEXISTS);
    EXPECT_RC(begin(c), SFSM_OK);
    EXPECT_RC(c->ops->payment_add(c->b, &dup), SFSM_EEXISTS);
    EXPECT_RC(commit(c), SFSM_OK);
    assert_string_equal(payments_of(c, NULL), all);
    /* the same seq under another opportunity is fine */
    sfsm_payment z2 = pay("zz", 2, 1, NULL);
    EXPECT_RC(c->ops->payment_add(c->b, &z2), SFSM_OK);
    assert_string_equal(payments_of(c, "zz"), "zz#1:200:EUR:1767312000000:(null);zz#2:1:EUR:1767398400000:(null);");
    sbuf b;
    memset(&b, 0, sizeof b);
    b.stop_at = 1;
    assert_int_equal(c->ops->payment_scan(c->b, NULL, payment_line, &b), 7);
    assert_int_equal(b.calls, 1);
}

static void v3_rollback_undoes(void **state)
{
    ctx *c = *state;
    sfsm_record r = base_rec("opp-1");
    insert_ok(c, &r);
    sfsm_target t1 = tgt(SFSM_SUBJECT_OWNER, "alice", 2026, SFSM_PERIOD_YEAR, 1, "EUR", 100);
    sfsm_payment p1 = pay("opp-1", 1, 10, NULL);
    EXPECT_RC(c->ops->team_put(c->b, "alice", "north"), SFSM_OK);
    EXPECT_RC(c->ops->team_put(c->b, "bob", "north"), SFSM_OK);
    EXPECT_RC(c->ops->target_put(c->b, &t1), SFSM_OK);
    EXPECT_RC(c->ops->payment_add(c->b, &p1), SFSM_OK);
    char *before = v3_state(c);

    /* everything of a rolled-back transaction is undone */
    EXPECT_RC(begin(c), SFSM_OK);
    EXPECT_RC(c->ops->team_put(c->b, "alice", "south"), SFSM_OK);
    EXPECT_RC(c->ops->team_put(c->b, "bob", NULL), SFSM_OK);
    EXPECT_RC(c->ops->team_put(c->b, "carol", "east"), SFSM_OK);
    sfsm_target t2 = t1;
    t2.amount = 555;
    EXPECT_RC(c->ops->target_put(c->b, &t2), SFSM_OK);
    sfsm_target t3 = tgt(SFSM_SUBJECT_TEAM, "north", 2026, SFSM_PERIOD_QUARTER, 1, "EUR", 7);
    EXPECT_RC(c->ops->target_put(c->b, &t3), SFSM_OK);
    sfsm_payment p2 = pay("opp-1", 2, 20, "x");
    EXPECT_RC(c->ops->payment_add(c->b, &p2), SFSM_OK);
    sfsm_record r2 = base_rec("opp-2");
    insert_ok(c, &r2);
    sfsm_payment p3 = pay("opp-2", 1, 30, NULL);
    EXPECT_RC(c->ops->payment_add(c->b, &p3), SFSM_OK);
    EXPECT_RC(rollback(c), SFSM_OK);
    char *now = v3_state(c);
    assert_string_equal(now, before);
    free(now);

    /* a savepoint's rollback undoes only its own changes */
    EXPECT_RC(begin(c), SFSM_OK);
    EXPECT_RC(c->ops->team_put(c->b, "carol", "east"), SFSM_OK);
    EXPECT_RC(begin(c), SFSM_OK);
    EXPECT_RC(c->ops->team_put(c->b, "carol", "west"), SFSM_OK);
    EXPECT_RC(c->ops->target_put(c->b, &t2), SFSM_OK);
    EXPECT_RC(c->ops->payment_add(c->b, &p2), SFSM_OK);
    EXPECT_RC(rollback(c), SFSM_OK);
    EXPECT_RC(c->ops->payment_add(c->b, &p2), SFSM_OK); /* seq 2 is free again */
    EXPECT_RC(commit(c), SFSM_OK);
    assert_string_equal(teams_of(c, NULL), "east:carol;north:alice;north:bob;");
    assert_string_equal(targets_of(c, SFSM_SUBJECT_OWNER, NULL, 0), "1:alice:2026:1:1:EUR:100;");
    assert_string_equal(payments_of(c, "opp-1"),
                        "opp-1#1:10:EUR:1767312000000:(null);opp-1#2:20:EUR:1767398400000:x;");
    free(before);
}

static void v3_history_scan_order(void **state)
{
    ctx *c = *state;
    if (!c->ops->history_scan)
        skip(); /* optional: reports fall back to scan + read_history */
    sbuf b;
    memset(&b, 0, sizeof b);
    EXPECT_RC(c->ops->history_scan(c->b, history_line, &b), SFSM_OK);
    assert_string_equal(b.s, "");
    const char *ids[] = { "m-3", "m-1", "m-empty", "m-2" };
    for (size_t i = 0; i < 4; i++) {
        sfsm_record r = base_rec(ids[i]);
        insert_ok(c, &r);
    }
    /* appends interleaved across opportunities */
    const char *stages[] = { "lead", "qualified", "quoted" };
    for (uint64_t v = 1; v <= 3; v++)
        for (size_t i = 0; i < 4; i++) {
            if (i == 2 || (i == 3 && v == 3))
                continue;
            sfsm_history_entry h = hentry(v, v == 1 ? SFSM_HISTORY_CREATE : SFSM_HISTORY_TRANSITION,
                                          v == 1 ? NULL : stages[v - 2], stages[v - 1]);
            append_ok(c, ids[i], &h);
        }
    memset(&b, 0, sizeof b);
    EXPECT_RC(c->ops->history_scan(c->b, history_line, &b), SFSM_OK);
    /* any order of opportunities (creation order, the key's, …), each one's
     * entries together and by version */
    char grouped[sizeof b.s];
    history_groups_by_id(b.s, grouped, sizeof grouped);
    assert_string_equal(grouped, "m-1@1:lead;m-1@2:qualified;m-1@3:quoted;"
                                 "m-2@1:lead;m-2@2:qualified;"
                                 "m-3@1:lead;m-3@2:qualified;m-3@3:quoted;");
    /* rolled-back entries are not there */
    EXPECT_RC(begin(c), SFSM_OK);
    sfsm_history_entry h = hentry(3, SFSM_HISTORY_TRANSITION, "qualified", "quoted");
    append_ok(c, "m-2", &h);
    EXPECT_RC(rollback(c), SFSM_OK);
    memset(&b, 0, sizeof b);
    b.stop_at = 5;
    assert_int_equal(c->ops->history_scan(c->b, history_line, &b), 7);
    assert_int_equal(b.calls, 5);
    history_groups_by_id(b.s, grouped, sizeof grouped);   /* the first five, together */
    memset(&b, 0, sizeof b);
    EXPECT_RC(c->ops->history_scan(c->b, history_line, &b), SFSM_OK);
    assert_int_equal(b.calls, 8);
}

/* ================================================================== */

#define CHECKS(X)                                   \
    X(get_absent_is_enotfound)                      \
    X(insert_full_record_roundtrips)                \
    X(insert_minimal_record_null_strings)           \
    X(insert_extreme_numbers)                       \
    X(insert_existing_is_eexists_and_changes_nothing) \
    X(update_with_matching_version)                 \
    X(update_conflict_changes_nothing)              \
    X(update_conflict_beyond_int64)                 \
    X(update_absent_is_enotfound)                   \
    X(update_stores_version_as_given)               \
    X(update_always_writes_core_fields)             \
    X(update_mask_fields_are_written)               \
    X(failed_puts_inside_txn_change_nothing)        \
    X(empty_strings_are_not_null)                   \
    X(input_strings_are_copied)                     \
    X(returned_strings_valid_until_next_call)       \
    X(history_roundtrip_in_order)                   \
    X(history_of_several_opps_interleaved)          \
    X(history_empty_and_absent)                     \
    X(history_callback_stops_read)                  \
    X(scan_empty_store)                             \
    X(scan_all_in_creation_order)                   \
    X(scan_filter_single_members)                   \
    X(scan_filter_changed_since)                    \
    X(scan_changed_since_zero_matches_any)          \
    X(scan_filter_combinations)                     \
    X(scan_sees_updates)                            \
    X(scan_callback_stops)                          \
    X(txn_commit_keeps)                             \
    X(txn_rollback_undoes)                          \
    X(txn_rollback_of_insert_then_update)           \
    X(savepoint_rollback_undoes_inner_only)         \
    X(savepoint_commit_folds_into_outer)            \
    X(outer_rollback_after_inner_commit_undoes_both) \
    X(nested_three_levels)                          \
    X(rollback_then_history_reappend)               \
    X(attrs_sorted_replace_remove)                  \
    X(attrs_rollback_restores)                      \
    X(large_values)                                 \
    X(unicode_byte_exact)                           \
    X(many_records)

/* Checks of the version-3 members, run only on a backend of version >= 3. */
#define CHECKS_V3(X)                                \
    X(v3_team_put_replace_remove)                   \
    X(v3_target_replace_by_key_sorted)              \
    X(v3_payment_seq_unique_and_order)              \
    X(v3_rollback_undoes)                           \
    X(v3_history_scan_order)

#define COUNT_ONE(f) +1
size_t sfsm_conformance_count(void)
{
    return 0 CHECKS(COUNT_ONE);
}

size_t sfsm_conformance_count_v3(void)
{
    return 0 CHECKS_V3(COUNT_ONE);
}

/* The ops version of the target's backend (opened once to see), 0 if it
 * cannot be opened. */
static unsigned target_version(const sfsm_conformance_target *t)
{
    const sfsm_store_ops *ops = NULL;
    void *b = NULL;
    if (t->open(&ops, &b, t->ud) != SFSM_OK || !ops)
        return 0;
    unsigned v = ops->version;
    if (t->close)
        t->close(ops, b, t->ud);
    else if (ops->close)
        ops->close(b);
    return v;
}

int sfsm_conformance_run(const sfsm_conformance_target *target)
{
    void *t = (void *)(uintptr_t)target; /* cmocka's state is not const */
#define TEST_ONE(f) cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, t),
    const struct CMUnitTest tests[] = { CHECKS(TEST_ONE) CHECKS_V3(TEST_ONE) };
#undef TEST_ONE
    size_t n = sfsm_conformance_count();
    if (target_version(target) >= 3)
        n += sfsm_conformance_count_v3();
    char name[128];
    snprintf(name, sizeof name, "conformance:%s", target->name);
    return _cmocka_run_group_tests(name, tests, n, NULL, NULL);
}
