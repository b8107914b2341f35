#include "testutil.h"

#include <stdlib.h>
#include <string.h>

const sfsm_actor MANAGER = { "Mei (manager)", "manager" };
const sfsm_actor REP = { "Ravi (rep)", "rep" };
const sfsm_actor ASSISTANT = { "Ana (assistant)", "assistant" };
const sfsm_actor SUPPORT = { "Sam (support)", "support" };

static int64_t fixture_clock(void *ud)
{
    return ((fixture *)ud)->now;
}

fixture *fixture_new(void)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->now = T0_MS;
    assert_int_equal(sfsm_pipeline_default(&f->pipeline), SFSM_OK);
    assert_int_equal(sfsm_store_open_memory(&f->store), SFSM_OK);
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
