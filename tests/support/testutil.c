#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const sfsm_actor MANAGER = { "Mei (manager)", "manager" };
const sfsm_actor REP = { "Ravi (rep)", "rep" };
const sfsm_actor ASSISTANT = { "Ana (assistant)", "assistant" };
const sfsm_actor SUPPORT = { "Sam (support)", "support" };

static int64_t fixture_clock(void *ud)
{
    return ((fixture *)ud)->now;
}

void test_store_open(sfsm_store **out, char path[256])
{
    const char *which = getenv("SFSM_TEST_STORE");
    path[0] = '\0';
    if (!which || strcmp(which, "sqlite") != 0) {
        assert_int_equal(sfsm_store_open_memory(out), SFSM_OK);
        return;
    }
    const char *dir = getenv("TMPDIR");
    snprintf(path, 256, "%s/sfsm-test-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);   /* an empty file is an empty SQLite database */
    sfsm_sqlite_options opts = SFSM_SQLITE_OPTIONS_INIT;
    opts.synchronous = SFSM_SQLITE_SYNC_OFF;   /* nothing here needs to survive a power cut */
    int rc = sfsm_store_open_sqlite(out, path, &opts);
    if (rc != SFSM_OK)
        fail_msg("sfsm_store_open_sqlite(%s): %s", path, sfsm_errmsg());
}

void test_store_remove(const char path[256])
{
    if (!path[0])
        return;
    static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < 4; i++) {
        char name[1024];   /* long paths too (test_sqlite_errors) */
        snprintf(name, sizeof name, "%s%s", path, suffix[i]);
        unlink(name);
    }
}

fixture *fixture_new(void)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->now = T0_MS;
    assert_int_equal(sfsm_pipeline_default(&f->pipeline), SFSM_OK);
    test_store_open(&f->store, f->path);
    assert_int_equal(sfsm_engine_new(&f->engine, f->pipeline, f->store), SFSM_OK);
    assert_int_equal(sfsm_engine_set_clock(f->engine, fixture_clock, f), SFSM_OK);
    return f;
}

void fixture_free(fixture *f)
{
    if (!f)
        return;
    sfsm_engine_free(f->engine);
    sfsm_store_close(f->store);
    test_store_remove(f->path);
    sfsm_pipeline_free(f->pipeline);
    free(f);
}

sfsm_opp *fixture_opp(fixture *f, const char *id, ...)
{
    sfsm_opp *o = NULL;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = id;
    opts.customer = "Acme Ltd";
    opts.owner = "ravi";
    opts.amount = 1200000;
    opts.currency = "CNY";
    assert_int_equal(sfsm_opp_create_ext(f->engine, &opts, &o), SFSM_OK);
    va_list ap;
    va_start(ap, id);
    const char *ev;
    while ((ev = va_arg(ap, const char *)) != NULL) {
        const char *note = strcmp(ev, "lose") == 0 ? "price too high" : NULL;
        int rc = sfsm_fire(f->engine, o, ev, &MANAGER, note);
        if (rc != SFSM_OK)
            fail_msg("fire %s: %s", ev, sfsm_errmsg());
    }
    va_end(ap);
    return o;
}

/* ---- failing allocator ---- */

static long fa_fail_at, fa_count, fa_live;
static int fa_failed;

static void *fa_malloc(size_t n)
{
    if (fa_fail_at > 0 && ++fa_count == fa_fail_at) {
        fa_failed = 1;
        return NULL;
    }
    if (fa_fail_at <= 0)
        fa_count++;
    void *p = malloc(n ? n : 1);
    if (p)
        fa_live++;
    return p;
}

static void *fa_realloc(void *p, size_t n)
{
    if (!p)
        return fa_malloc(n);
    if (fa_fail_at > 0 && ++fa_count == fa_fail_at) {
        fa_failed = 1;
        return NULL;
    }
    if (fa_fail_at <= 0)
        fa_count++;
    return realloc(p, n ? n : 1);
}

static void fa_free(void *p)
{
    if (p)
        fa_live--;
    free(p);
}

void failalloc_install(void)
{
    sfsm_allocator a = { fa_malloc, fa_realloc, fa_free };
    fa_live = 0;
    failalloc_arm(0);
    assert_int_equal(sfsm_set_allocator(&a), SFSM_OK);
}

void failalloc_uninstall(void)
{
    assert_int_equal(sfsm_set_allocator(NULL), SFSM_OK);
}

void failalloc_arm(long fail_at)
{
    fa_fail_at = fail_at;
    fa_count = 0;
    fa_failed = 0;
}

long failalloc_count(void) { return fa_count; }
long failalloc_live(void) { return fa_live; }
int failalloc_failed(void) { return fa_failed; }

static int count_cb(const sfsm_history_entry *h, void *ud)
{
    (void)h;
    (*(size_t *)ud)++;
    return 0;
}

size_t history_count(sfsm_engine *e, const char *id)
{
    size_t n = 0;
    assert_int_equal(sfsm_opp_history(e, id, count_cb, &n), SFSM_OK);
    return n;
}

int count_opps_cb(const sfsm_opp *o, void *ud)
{
    (void)o;
    (*(size_t *)ud)++;
    return 0;
}

size_t count_opps(sfsm_engine *e, const sfsm_filter *filter)
{
    size_t n = 0;
    assert_int_equal(sfsm_scan(e, filter, count_opps_cb, &n), SFSM_OK);
    return n;
}

int fixture_setup(void **state)
{
    *state = fixture_new();
    return 0;
}

int fixture_teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : NULL_MARK);
}

/* ---- state snapshots as strings ---- */

#define S(x) ((x) ? (x) : "(null)")

char *opp_describe(const sfsm_opp *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    fprintf(fp, "id=%s stage=%s idx=%zu v=%llu amount=%lld cur=%s cust=%s owner=%s title=%s "
                "close=%lld created=%lld updated=%lld entered=%lld prob=%d unsaved=%#x attrs[%zu]=",
            S(sfsm_opp_id(o)), S(sfsm_opp_stage(o)), sfsm_opp_stage_index(o),
            (unsigned long long)sfsm_opp_version(o), (long long)sfsm_opp_amount(o),
            S(sfsm_opp_currency(o)), S(sfsm_opp_customer(o)), S(sfsm_opp_owner(o)),
            S(sfsm_opp_title(o)), (long long)sfsm_opp_expected_close(o),
            (long long)sfsm_opp_created(o), (long long)sfsm_opp_updated(o),
            (long long)sfsm_opp_stage_entered(o), sfsm_opp_probability(o),
            (unsigned)sfsm_opp_unsaved(o), sfsm_opp_attr_count(o));
    for (size_t i = 0; i < sfsm_opp_attr_count(o); i++) {
        const char *k = NULL, *v = NULL;
        assert_int_equal(sfsm_opp_attr_at(o, i, &k, &v), SFSM_OK);
        fprintf(fp, "%s=%s;", S(k), S(v));
    }
    fclose(fp);
    return buf;
}

char *opp_state(sfsm_engine *e, const sfsm_opp *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    fprintf(fp, "opps=%zu", count_opps(e, NULL));
    if (o) {
        char *h = opp_describe(o);
        sfsm_opp *s = NULL;
        assert_int_equal(sfsm_opp_open(e, sfsm_opp_id(o), &s), SFSM_OK);
        char *st = opp_describe(s);
        sfsm_opp_free(s);
        fprintf(fp, " handle{%s} stored{%s} history=%zu", h, st, history_count(e, sfsm_opp_id(o)));
        free(h);
        free(st);
    }
    fclose(fp);
    return buf;
}

char *opp_stored(sfsm_engine *e, const char *id)
{
    sfsm_opp *s = NULL;
    assert_int_equal(sfsm_opp_open(e, id, &s), SFSM_OK);
    char *d = opp_describe(s);
    sfsm_opp_free(s);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    fprintf(fp, "%s history=%zu", d, history_count(e, id));
    fclose(fp);
    free(d);
    return buf;
}

/* ---- state snapshots as fields ---- */

void snapshot_take(sfsm_engine *e, const sfsm_opp *o, snapshot *s)
{
    memset(s, 0, sizeof *s);
    copy_str(s->stage, sizeof s->stage, sfsm_opp_stage(o));
    s->version = sfsm_opp_version(o);
    s->amount = sfsm_opp_amount(o);
    copy_str(s->currency, sizeof s->currency, sfsm_opp_currency(o));
    copy_str(s->customer, sizeof s->customer, sfsm_opp_customer(o));
    copy_str(s->owner, sizeof s->owner, sfsm_opp_owner(o));
    copy_str(s->title, sizeof s->title, sfsm_opp_title(o));
    s->expected_close = sfsm_opp_expected_close(o);
    s->created = sfsm_opp_created(o);
    s->updated = sfsm_opp_updated(o);
    s->stage_entered = sfsm_opp_stage_entered(o);
    s->unsaved = sfsm_opp_unsaved(o);
    s->history = history_count(e, sfsm_opp_id(o));
    sfsm_opp *r = NULL;
    assert_int_equal(sfsm_opp_open(e, sfsm_opp_id(o), &r), SFSM_OK);
    copy_str(s->stored_stage, sizeof s->stored_stage, sfsm_opp_stage(r));
    s->stored_version = sfsm_opp_version(r);
    s->stored_amount = sfsm_opp_amount(r);
    copy_str(s->stored_title, sizeof s->stored_title, sfsm_opp_title(r));
    sfsm_opp_free(r);
}

const char *snapshot_diff(const snapshot *a, const snapshot *b)
{
#define DIFF_STR(field)                                                        \
    if (strcmp(a->field, b->field) != 0)                                       \
        return #field;
#define DIFF_NUM(field)                                                        \
    if (a->field != b->field)                                                  \
        return #field;
    DIFF_STR(stage)
    DIFF_NUM(version)
    DIFF_NUM(amount)
    DIFF_STR(currency)
    DIFF_STR(customer)
    DIFF_STR(owner)
    DIFF_STR(title)
    DIFF_NUM(expected_close)
    DIFF_NUM(created)
    DIFF_NUM(updated)
    DIFF_NUM(stage_entered)
    DIFF_NUM(unsaved)
    DIFF_NUM(history)
    DIFF_STR(stored_stage)
    DIFF_NUM(stored_version)
    DIFF_NUM(stored_amount)
    DIFF_STR(stored_title)
#undef DIFF_STR
#undef DIFF_NUM
    return NULL;
}

void assert_unchanged(fixture *f, const sfsm_opp *o, const snapshot *before)
{
    snapshot now;
    snapshot_take(f->engine, o, &now);
    const char *d = snapshot_diff(before, &now);
    if (d)
        fail_msg("%s changed", d);
}

/* ---- history ---- */

static int last_entry_cb(const sfsm_history_entry *h, void *ud)
{
    last_entry *l = ud;
    l->count++;
    l->version = h->version;
    l->at_ms = h->at_ms;
    l->kind = h->kind;
    copy_str(l->event, sizeof l->event, h->event);
    copy_str(l->from, sizeof l->from, h->from);
    copy_str(l->to, sizeof l->to, h->to);
    copy_str(l->actor, sizeof l->actor, h->actor);
    copy_str(l->role, sizeof l->role, h->role);
    copy_str(l->note, sizeof l->note, h->note);
    copy_str(l->changes, sizeof l->changes, h->changes);
    l->fields = h->fields;
    return 0;
}

void read_last(fixture *f, const char *id, last_entry *l)
{
    memset(l, 0, sizeof *l);
    assert_int_equal(sfsm_opp_history(f->engine, id, last_entry_cb, l), SFSM_OK);
}

/* ---- hook calls ---- */

void call_fill(call *c, char kind, const sfsm_transition *t)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    copy_str(c->opp_id, sizeof c->opp_id, t->opp_id);
    copy_str(c->event, sizeof c->event, t->event);
    copy_str(c->from, sizeof c->from, t->from);
    copy_str(c->to, sizeof c->to, t->to);
    copy_str(c->actor, sizeof c->actor, t->actor ? t->actor->name : NULL);
    copy_str(c->role, sizeof c->role, t->actor ? t->actor->role : NULL);
    copy_str(c->note, sizeof c->note, t->note);
    c->has_opp = t->opp != NULL;
    if (t->opp) {
        copy_str(c->opp_stage, sizeof c->opp_stage, sfsm_opp_stage(t->opp));
        c->opp_version = sfsm_opp_version(t->opp);
        c->opp_amount = sfsm_opp_amount(t->opp);
    }
    c->version = t->version;
    c->at_ms = t->at_ms;
}
