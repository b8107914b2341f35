/* Opportunities: creation, fields, unsaved changes, save, attributes,
 * history read-back and scans (opp.h, history.h). */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) ((x) ? (x) : "(null)")

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

/* ---- history read-back ---- */

typedef struct hentry {
    uint64_t version;
    int64_t at;
    int kind;
    char *event, *from, *to, *actor, *role, *note, *changes;
    uint32_t fields;
} hentry;

typedef struct hlist {
    hentry e[64];
    size_t n;
    size_t stop_at;  /* 1-based entry at which to stop; 0: never */
    int stop_value;
} hlist;

static int collect_cb(const sfsm_history_entry *h, void *ud)
{
    hlist *l = ud;
    assert_non_null(h);
    assert_true(l->n < 64);
    hentry *x = &l->e[l->n++];
    x->version = h->version;
    x->at = h->at_ms;
    x->kind = h->kind;
    x->event = dup_or_null(h->event);
    x->from = dup_or_null(h->from);
    x->to = dup_or_null(h->to);
    x->actor = dup_or_null(h->actor);
    x->role = dup_or_null(h->role);
    x->note = dup_or_null(h->note);
    x->changes = dup_or_null(h->changes);
    x->fields = h->fields;
    if (l->stop_at && l->n == l->stop_at)
        return l->stop_value;
    return 0;
}

static void hlist_free(hlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        hentry *x = &l->e[i];
        free(x->event);
        free(x->from);
        free(x->to);
        free(x->actor);
        free(x->role);
        free(x->note);
        free(x->changes);
    }
    l->n = 0;
}

static void hlist_load(sfsm_engine *e, const char *id, hlist *l)
{
    memset(l, 0, sizeof *l);
    assert_int_equal(sfsm_opp_history(e, id, collect_cb, l), SFSM_OK);
}

#define assert_str_or_null(got, want)                                          \
    do {                                                                       \
        const char *g_ = (got), *w_ = (want);                                  \
        if (w_ == NULL)                                                        \
            assert_null(g_);                                                   \
        else {                                                                 \
            assert_non_null(g_);                                               \
            assert_string_equal(g_, w_);                                       \
        }                                                                      \
    } while (0)

#define assert_has(hay, needle)                                                \
    do {                                                                       \
        const char *h_ = (hay);                                                \
        assert_non_null(h_);                                                   \
        if (!strstr(h_, (needle)))                                             \
            fail_msg("\"%s\" does not contain \"%s\"", h_, (needle));          \
    } while (0)

#define assert_lacks(hay, needle)                                              \
    do {                                                                       \
        const char *h_ = (hay);                                                \
        if (h_ && strstr(h_, (needle)))                                        \
            fail_msg("\"%s\" contains \"%s\"", h_, (needle));                  \
    } while (0)

/* Versions 1, 2, 3, … without gaps. */
static void assert_versions_gap_free(const hlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        assert_int_equal(l->e[i].version, i + 1);
}

/* ---- create ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_create_generated_ids(void **state)
{
    fixture *f = *state;
    enum { N = 500 };
    char *ids[N];
    for (int i = 0; i < N; i++) {
        sfsm_opp *o = NULL;
        assert_int_equal(sfsm_opp_create(f->engine, NULL, &o), SFSM_OK);
        assert_non_null(o);
        const char *id = sfsm_opp_id(o);
        assert_non_null(id);
        assert_int_equal(strlen(id), 32);
        for (int k = 0; k < 32; k++)
            if (!isxdigit((unsigned char)id[k]))
                fail_msg("generated id \"%s\" is not 32 hex digits", id);
        assert_string_equal(sfsm_opp_stage(o), "lead");
        assert_int_equal(sfsm_opp_version(o), 1);
        ids[i] = strdup(id);
        sfsm_opp_free(o);
    }
    qsort(ids, N, sizeof ids[0], cmp_str);
    for (int i = 1; i < N; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            fail_msg("generated id %s twice", ids[i]);
    /* Each was stored under its id. */
    for (int i = 0; i < N; i += 50) {
        sfsm_opp *o = NULL;
        assert_int_equal(sfsm_opp_open(f->engine, ids[i], &o), SFSM_OK);
        assert_string_equal(sfsm_opp_id(o), ids[i]);
        sfsm_opp_free(o);
    }
    for (int i = 0; i < N; i++)
        free(ids[i]);
}

static void check_fresh(const fixture *f, const sfsm_opp *o, const char *id, int64_t at)
{
    assert_string_equal(sfsm_opp_id(o), id);
    assert_string_equal(sfsm_opp_stage(o), "lead");
    assert_int_equal(sfsm_opp_stage_index(o), sfsm_pipeline_initial_stage(f->pipeline));
    assert_int_equal(sfsm_opp_version(o), 1);
    assert_int_equal(sfsm_opp_amount(o), 0);
    assert_null(sfsm_opp_currency(o));
    assert_null(sfsm_opp_customer(o));
    assert_null(sfsm_opp_owner(o));
    assert_null(sfsm_opp_title(o));
    assert_int_equal(sfsm_opp_expected_close(o), 0);
    assert_int_equal(sfsm_opp_created(o), at);
    assert_int_equal(sfsm_opp_updated(o), at);
    assert_int_equal(sfsm_opp_stage_entered(o), at);
    assert_int_equal(sfsm_opp_probability(o), 10);
    assert_int_equal(sfsm_opp_unsaved(o), 0);
    assert_int_equal(sfsm_opp_attr_count(o), 0);
}

static void test_create_initial_state(void **state)
{
    fixture *f = *state;
    f->now = T0_MS + 5000;
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(f->engine, "opp-a", &o), SFSM_OK);
    check_fresh(f, o, "opp-a", T0_MS + 5000);

    hlist l;
    hlist_load(f->engine, "opp-a", &l);
    assert_int_equal(l.n, 1);
    hentry *h = &l.e[0];
    assert_int_equal(h->version, 1);
    assert_int_equal(h->at, T0_MS + 5000);
    assert_int_equal(h->kind, SFSM_HISTORY_CREATE);
    assert_null(h->event);
    assert_null(h->from);
    assert_str_or_null(h->to, "lead");
    assert_null(h->actor);
    assert_null(h->role);
    assert_null(h->note);
    assert_int_equal(h->fields, 0);
    assert_null(h->changes);
    hlist_free(&l);

    /* The stored copy reads the same, even after the clock moved on. */
    f->now += DAY_MS;
    sfsm_opp *r = NULL;
    assert_int_equal(sfsm_opp_open(f->engine, "opp-a", &r), SFSM_OK);
    check_fresh(f, r, "opp-a", T0_MS + 5000);
    sfsm_opp_free(r);
    sfsm_opp_free(o);
}

static void test_create_ext_fields(void **state)
{
    fixture *f = *state;
    f->now = T0_MS + 777;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "ext-a";
    opts.customer = "Acme Ltd";
    opts.owner = "ravi";
    opts.title = "ERP rollout";
    opts.amount = 1200000;
    opts.currency = "CNY";
    opts.expected_close_ms = T0_MS + 90 * DAY_MS;
    opts.actor = &REP;
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create_ext(f->engine, &opts, &o), SFSM_OK);

    for (int pass = 0; pass < 2; pass++) {
        assert_string_equal(sfsm_opp_id(o), "ext-a");
        assert_string_equal(sfsm_opp_stage(o), "lead");
        assert_int_equal(sfsm_opp_version(o), 1);
        assert_string_equal(sfsm_opp_customer(o), "Acme Ltd");
        assert_string_equal(sfsm_opp_owner(o), "ravi");
        assert_string_equal(sfsm_opp_title(o), "ERP rollout");
        assert_int_equal(sfsm_opp_amount(o), 1200000);
        assert_string_equal(sfsm_opp_currency(o), "CNY");
        assert_int_equal(sfsm_opp_expected_close(o), T0_MS + 90 * DAY_MS);
        assert_int_equal(sfsm_opp_created(o), T0_MS + 777);
        assert_int_equal(sfsm_opp_updated(o), T0_MS + 777);
        assert_int_equal(sfsm_opp_stage_entered(o), T0_MS + 777);
        assert_int_equal(sfsm_opp_unsaved(o), 0);
        if (pass == 0) {   /* then the same from the store */
            sfsm_opp_free(o);
            o = NULL;
            assert_int_equal(sfsm_opp_open(f->engine, "ext-a", &o), SFSM_OK);
        }
    }
    sfsm_opp_free(o);

    hlist l;
    hlist_load(f->engine, "ext-a", &l);
    assert_int_equal(l.n, 1);   /* one commit, one entry */
    hentry *h = &l.e[0];
    assert_int_equal(h->version, 1);
    assert_int_equal(h->kind, SFSM_HISTORY_CREATE);
    assert_int_equal(h->at, T0_MS + 777);
    assert_null(h->from);
    assert_str_or_null(h->to, "lead");
    assert_str_or_null(h->actor, REP.name);
    assert_str_or_null(h->role, REP.role);
    assert_int_equal(h->fields, SFSM_FIELD_AMOUNT | SFSM_FIELD_CUSTOMER | SFSM_FIELD_OWNER |
                                    SFSM_FIELD_TITLE | SFSM_FIELD_EXPECTED_CLOSE);
    assert_non_null(h->changes);
    assert_int_equal(h->changes[0], '{');
    assert_int_equal(h->changes[strlen(h->changes) - 1], '}');
    assert_has(h->changes, "\"amount\":1200000");
    assert_has(h->changes, "\"currency\":\"CNY\"");
    assert_has(h->changes, "\"customer\":\"Acme Ltd\"");
    assert_has(h->changes, "\"owner\":\"ravi\"");
    assert_has(h->changes, "\"title\":\"ERP rollout\"");
    char close_ms[32];
    snprintf(close_ms, sizeof close_ms, "%lld", (long long)(T0_MS + 90 * DAY_MS));
    assert_has(h->changes, close_ms);
    assert_lacks(h->changes, "attr");
    hlist_free(&l);
}

static void test_create_ext_some_fields(void **state)
{
    fixture *f = *state;
    sfsm_create_options opts;
    assert_int_equal(sfsm_create_options_init(&opts, SFSM_CREATE_OPTIONS_VERSION), SFSM_OK);
    opts.customer = "北京某某科技有限公司";
    opts.title = "Say \"hi\" \\ bye";
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create_ext(f->engine, &opts, &o), SFSM_OK);
    assert_int_equal(strlen(sfsm_opp_id(o)), 32);   /* generated */
    assert_string_equal(sfsm_opp_customer(o), "北京某某科技有限公司");
    assert_string_equal(sfsm_opp_title(o), "Say \"hi\" \\ bye");
    assert_null(sfsm_opp_owner(o));
    assert_null(sfsm_opp_currency(o));
    assert_int_equal(sfsm_opp_amount(o), 0);

    hlist l;
    hlist_load(f->engine, sfsm_opp_id(o), &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.e[0].kind, SFSM_HISTORY_CREATE);
    assert_int_equal(l.e[0].fields, SFSM_FIELD_CUSTOMER | SFSM_FIELD_TITLE);
    assert_null(l.e[0].actor);
    assert_null(l.e[0].role);
    assert_has(l.e[0].changes, "\"customer\"");
    assert_has(l.e[0].changes, "\"title\"");
    assert_has(l.e[0].changes, "Say \\\"hi\\\" \\\\ bye");   /* JSON-escaped */
    assert_lacks(l.e[0].changes, "amount");
    assert_lacks(l.e[0].changes, "owner");
    hlist_free(&l);
    sfsm_opp_free(o);
}

/* ---- setters, save ---- */

static void test_setters_mark_unsaved(void **state)
{
    fixture *f = *state;
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(f->engine, "set-a", &o), SFSM_OK);

    assert_int_equal(sfsm_opp_set_customer(o, "Acme"), SFSM_OK);
    assert_int_equal(sfsm_opp_unsaved(o), SFSM_FIELD_CUSTOMER);
    assert_string_equal(sfsm_opp_customer(o), "Acme");
    assert_int_equal(sfsm_opp_set_owner(o, "li"), SFSM_OK);
    assert_int_equal(sfsm_opp_unsaved(o), SFSM_FIELD_CUSTOMER | SFSM_FIELD_OWNER);
    assert_string_equal(sfsm_opp_owner(o), "li");
    assert_int_equal(sfsm_opp_set_title(o, "Pilot"), SFSM_OK);
    assert_int_equal(sfsm_opp_unsaved(o), SFSM_FIELD_CUSTOMER | SFSM_FIELD_OWNER | SFSM_FIELD_TITLE);
    assert_int_equal(sfsm_opp_set_amount(o, 99900, "USD"), SFSM_OK);
    assert_int_equal(sfsm_opp_amount(o), 99900);
    assert_string_equal(sfsm_opp_currency(o), "USD");
    assert_int_equal(sfsm_opp_set_expected_close(o, T0_MS + DAY_MS), SFSM_OK);
    assert_int_equal(sfsm_opp_expected_close(o), T0_MS + DAY_MS);
    assert_int_equal(sfsm_opp_set_attr(o, "source", "fair"), SFSM_OK);
    assert_int_equal(sfsm_opp_unsaved(o), SFSM_FIELD_ALL);

    /* Only the handle changed. */
    assert_int_equal(sfsm_opp_version(o), 1);
    sfsm_opp *s = NULL;
    assert_int_equal(sfsm_opp_open(f->engine, "set-a", &s), SFSM_OK);
    assert_null(sfsm_opp_customer(s));
    assert_null(sfsm_opp_owner(s));
    assert_null(sfsm_opp_title(s));
    assert_int_equal(sfsm_opp_amount(s), 0);
    assert_int_equal(sfsm_opp_expected_close(s), 0);
    assert_int_equal(sfsm_opp_attr_count(s), 0);
    assert_int_equal(sfsm_opp_unsaved(s), 0);
    assert_int_equal(sfsm_opp_version(s), 1);
    sfsm_opp_free(s);
    assert_int_equal(history_count(f->engine, "set-a"), 1);

    /* Each setter alone sets its own bit. */
    struct {
        uint32_t bit;
    } cases[] = { { SFSM_FIELD_AMOUNT }, { SFSM_FIELD_CUSTOMER }, { SFSM_FIELD_OWNER },
                  { SFSM_FIELD_TITLE }, { SFSM_FIELD_EXPECTED_CLOSE }, { SFSM_FIELD_ATTRS } };
    for (size_t k = 0; k < 6; k++) {
        sfsm_opp *h = NULL;
        assert_int_equal(sfsm_opp_open(f->engine, "set-a", &h), SFSM_OK);
        int rc = SFSM_EINVAL;
        switch (k) {
        case 0: rc = sfsm_opp_set_amount(h, 1, "EUR"); break;
        case 1: rc = sfsm_opp_set_customer(h, "c"); break;
        case 2: rc = sfsm_opp_set_owner(h, "o"); break;
        case 3: rc = sfsm_opp_set_title(h, "t"); break;
        case 4: rc = sfsm_opp_set_expected_close(h, 5); break;
        case 5: rc = sfsm_opp_set_attr(h, "k", "v"); break;
        }
        assert_int_equal(rc, SFSM_OK);
        assert_int_equal(sfsm_opp_unsaved(h), cases[k].bit);
        sfsm_opp_free(h);
    }
    sfsm_opp_free(o);
}

static void test_save_stores_fields(void **state)
{
    fixture *f = *state;
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(f->engine, "save-a", &o), SFSM_OK);
    assert_int_equal(sfsm_opp_set_customer(o, "Acme"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_owner(o, "li"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_title(o, "Pilot"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_amount(o, 250000, "CNY"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_expected_close(o, T0_MS + 30 * DAY_MS), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "source", "trade fair"), SFSM_OK);

    f->now = T0_MS + DAY_MS;
    assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);
    assert_int_equal(sfsm_opp_version(o), 2);
    assert_int_equal(sfsm_opp_unsaved(o), 0);
    assert_int_equal(sfsm_opp_updated(o), T0_MS + DAY_MS);
    assert_int_equal(sfsm_opp_stage_entered(o), T0_MS);
    assert_int_equal(sfsm_opp_created(o), T0_MS);
    assert_string_equal(sfsm_opp_stage(o), "lead");
    assert_string_equal(sfsm_opp_customer(o), "Acme");

    hlist l;
    hlist_load(f->engine, "save-a", &l);
    assert_int_equal(l.n, 2);
    assert_versions_gap_free(&l);
    hentry *h = &l.e[1];
    assert_int_equal(h->kind, SFSM_HISTORY_UPDATE);
    assert_int_equal(h->at, T0_MS + DAY_MS);
    assert_null(h->event);
    assert_str_or_null(h->from, "lead");
    assert_str_or_null(h->to, "lead");
    assert_null(h->actor);
    assert_null(h->role);
    assert_int_equal(h->fields, SFSM_FIELD_ALL);
    assert_has(h->changes, "\"customer\":\"Acme\"");
    assert_has(h->changes, "\"owner\":\"li\"");
    assert_has(h->changes, "\"title\":\"Pilot\"");
    assert_has(h->changes, "\"amount\":250000");
    assert_has(h->changes, "\"currency\":\"CNY\"");
    assert_has(h->changes, "trade fair");
    hlist_free(&l);

    f->now = T0_MS + 2 * DAY_MS;
    sfsm_opp *r = NULL;
    assert_int_equal(sfsm_opp_open(f->engine, "save-a", &r), SFSM_OK);
    assert_int_equal(sfsm_opp_version(r), 2);
    assert_string_equal(sfsm_opp_customer(r), "Acme");
    assert_string_equal(sfsm_opp_owner(r), "li");
    assert_string_equal(sfsm_opp_title(r), "Pilot");
    assert_int_equal(sfsm_opp_amount(r), 250000);
    assert_string_equal(sfsm_opp_currency(r), "CNY");
    assert_int_equal(sfsm_opp_expected_close(r), T0_MS + 30 * DAY_MS);
    assert_string_equal(sfsm_opp_attr(r, "source"), "trade fair");
    assert_int_equal(sfsm_opp_updated(r), T0_MS + DAY_MS);
    assert_int_equal(sfsm_opp_stage_entered(r), T0_MS);
    assert_int_equal(sfsm_opp_created(r), T0_MS);
    assert_int_equal(sfsm_opp_unsaved(r), 0);
    sfsm_opp_free(r);
    sfsm_opp_free(o);
}

static void test_save_only_changed_fields(void **state)
{
    fixture *f = *state;
    sfsm_opp *o = fixture_opp(f, "save-b", "qualify", NULL);   /* v2, qualified */
    assert_int_equal(sfsm_opp_set_title(o, "Phase 2"), SFSM_OK);
    f->now += 3 * DAY_MS;
    assert_int_equal(sfsm_opp_save_as(f->engine, o, &ASSISTANT, "typo fixed"), SFSM_OK);
    assert_int_equal(sfsm_opp_version(o), 3);
    assert_string_equal(sfsm_opp_stage(o), "qualified");
    assert_int_equal(sfsm_opp_stage_entered(o), T0_MS);   /* fired at T0 */
    assert_int_equal(sfsm_opp_updated(o), T0_MS + 3 * DAY_MS);

    hlist l;
    hlist_load(f->engine, "save-b", &l);
    assert_int_equal(l.n, 3);
    assert_versions_gap_free(&l);
    hentry *h = &l.e[2];
    assert_int_equal(h->kind, SFSM_HISTORY_UPDATE);
    assert_str_or_null(h->from, "qualified");
    assert_str_or_null(h->to, "qualified");
    assert_null(h->event);
    assert_str_or_null(h->actor, ASSISTANT.name);
    assert_str_or_null(h->role, ASSISTANT.role);
    assert_str_or_null(h->note, "typo fixed");
    assert_int_equal(h->fields, SFSM_FIELD_TITLE);
    assert_has(h->changes, "\"title\":\"Phase 2\"");
    assert_lacks(h->changes, "customer");
    assert_lacks(h->changes, "amount");
    hlist_free(&l);
    sfsm_opp_free(o);
}

static void test_save_nothing_writes_nothing(void **state)
{
    fixture *f = *state;
    sfsm_opp *o = fixture_opp(f, "save-c", NULL);
    f->now += DAY_MS;
    assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);
    assert_int_equal(sfsm_opp_save_as(f->engine, o, &MANAGER, "nothing to say"), SFSM_OK);
    assert_int_equal(sfsm_opp_version(o), 1);
    assert_int_equal(sfsm_opp_updated(o), T0_MS);
    assert_int_equal(history_count(f->engine, "save-c"), 1);
    sfsm_opp *r = NULL;
    assert_int_equal(sfsm_opp_open(f->engine, "save-c", &r), SFSM_OK);
    assert_int_equal(sfsm_opp_version(r), 1);
    assert_int_equal(sfsm_opp_updated(r), T0_MS);
    sfsm_opp_free(r);

    /* After a real save, a second one writes nothing again. */
    assert_int_equal(sfsm_opp_set_owner(o, "zhang"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);
    assert_int_equal(sfsm_opp_version(o), 2);
    f->now += DAY_MS;
    assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);
    assert_int_equal(sfsm_opp_version(o), 2);
    assert_int_equal(sfsm_opp_updated(o), T0_MS + DAY_MS);
    assert_int_equal(history_count(f->engine, "save-c"), 2);
    sfsm_opp_free(o);
}

static void test_clear_fields(void **state)
{
    fixture *f = *state;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "clear-a";
    opts.customer = "Acme";
    opts.owner = "li";
    opts.title = "Pilot";
    opts.expected_close_ms = T0_MS + DAY_MS;
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create_ext(f->engine, &opts, &o), SFSM_OK);

    assert_int_equal(sfsm_opp_set_customer(o, ""), SFSM_OK);
    assert_null(sfsm_opp_customer(o));
    assert_int_equal(sfsm_opp_set_owner(o, NULL), SFSM_OK);
    assert_null(sfsm_opp_owner(o));
    assert_int_equal(sfsm_opp_set_title(o, NULL), SFSM_OK);
    assert_null(sfsm_opp_title(o));
    assert_int_equal(sfsm_opp_set_expected_close(o, 0), SFSM_OK);
    assert_int_equal(sfsm_opp_expected_close(o), 0);
    assert_int_equal(sfsm_opp_unsaved(o), SFSM_FIELD_CUSTOMER | SFSM_FIELD_OWNER | SFSM_FIELD_TITLE |
                                              SFSM_FIELD_EXPECTED_CLOSE);
    assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);
    sfsm_opp_free(o);

    assert_int_equal(sfsm_opp_open(f->engine, "clear-a", &o), SFSM_OK);
    assert_null(sfsm_opp_customer(o));
    assert_null(sfsm_opp_owner(o));
    assert_null(sfsm_opp_title(o));
    assert_int_equal(sfsm_opp_expected_close(o), 0);
    assert_int_equal(sfsm_opp_version(o), 2);
    sfsm_opp_free(o);

    hlist l;
    hlist_load(f->engine, "clear-a", &l);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.e[1].fields, SFSM_FIELD_CUSTOMER | SFSM_FIELD_OWNER | SFSM_FIELD_TITLE |
                                        SFSM_FIELD_EXPECTED_CLOSE);
    assert_lacks(l.e[1].changes, "Acme");
    hlist_free(&l);
}

static void test_getter_strings_stay_valid(void **state)
{
    fixture *f = *state;
    sfsm_opp *o = fixture_opp(f, "life-a", NULL);
    assert_int_equal(sfsm_opp_set_title(o, "Keep me"), SFSM_OK);
    const char *title = sfsm_opp_title(o);
    const char *customer = sfsm_opp_customer(o);
    const char *id = sfsm_opp_id(o);
    const char *stage = sfsm_opp_stage(o);
    /* Other fields change, a save and a fire happen: these stay valid. */
    assert_int_equal(sfsm_opp_set_owner(o, "someone else"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "x", "y"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &REP, NULL), SFSM_OK);
    assert_string_equal(title, "Keep me");
    assert_string_equal(customer, "Acme Ltd");
    assert_string_equal(id, "life-a");
    assert_string_equal(stage, "lead");   /* stage names live with the pipeline */
    assert_string_equal(sfsm_opp_stage(o), "qualified");
    sfsm_opp_free(o);
}

static void test_probability_per_stage(void **state)
{
    fixture *f = *state;
    const char *events[] = { "qualify", "quote", "negotiate", "sign", "deliver", "service" };
    const int prob[] = { 25, 50, 75, 100, 100, 100 };
    sfsm_opp *o = fixture_opp(f, "prob-a", NULL);
    assert_int_equal(sfsm_opp_probability(o), 10);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(sfsm_fire(f->engine, o, events[i], &MANAGER, NULL), SFSM_OK);
        assert_int_equal(sfsm_opp_probability(o), prob[i]);
        size_t idx;
        assert_int_equal(sfsm_pipeline_stage_index(f->pipeline, sfsm_opp_stage(o), &idx), SFSM_OK);
        assert_int_equal(sfsm_opp_stage_index(o), idx);
    }
    sfsm_opp *l = fixture_opp(f, "prob-b", "lose", NULL);
    assert_int_equal(sfsm_opp_probability(l), 0);
    sfsm_opp_free(l);
    sfsm_opp_free(o);
}

/* ---- attributes ---- */

static void assert_attrs(const sfsm_opp *o, const char *want)
{
    char got[1024] = "";
    size_t n = sfsm_opp_attr_count(o);
    for (size_t i = 0; i < n; i++) {
        const char *k = NULL, *v = NULL;
        assert_int_equal(sfsm_opp_attr_at(o, i, &k, &v), SFSM_OK);
        assert_non_null(k);
        assert_non_null(v);
        assert_string_equal(sfsm_opp_attr(o, k), v);
        size_t len = strlen(got);
        snprintf(got + len, sizeof got - len, "%s%s=%s", i ? ";" : "", k, v);
    }
    assert_string_equal(got, want);
}

static void test_attributes(void **state)
{
    fixture *f = *state;
    sfsm_opp *o = fixture_opp(f, "attr-a", NULL);
    assert_int_equal(sfsm_opp_attr_count(o), 0);
    assert_null(sfsm_opp_attr(o, "zeta"));

    assert_int_equal(sfsm_opp_set_attr(o, "zeta", "26"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "alpha", "1"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "mid", "13"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "客户编号", "KH-0042"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "Beta", "上海"), SFSM_OK);
    assert_int_equal(sfsm_opp_unsaved(o), SFSM_FIELD_ATTRS);
    assert_int_equal(sfsm_opp_attr_count(o), 5);
    /* Sorted by key (byte order: upper case first, UTF-8 last). */
    assert_attrs(o, "Beta=上海;alpha=1;mid=13;zeta=26;客户编号=KH-0042");

    /* Replace: count unchanged, value new. */
    assert_int_equal(sfsm_opp_set_attr(o, "mid", "thirteen"), SFSM_OK);
    assert_int_equal(sfsm_opp_attr_count(o), 5);
    assert_string_equal(sfsm_opp_attr(o, "mid"), "thirteen");

    /* Remove; removing again is ENOTFOUND and changes nothing. */
    assert_int_equal(sfsm_opp_set_attr(o, "alpha", NULL), SFSM_OK);
    assert_null(sfsm_opp_attr(o, "alpha"));
    assert_int_equal(sfsm_opp_attr_count(o), 4);
    assert_int_equal(sfsm_opp_set_attr(o, "alpha", NULL), SFSM_ENOTFOUND);
    assert_int_equal(sfsm_opp_set_attr(o, "ALPHA", NULL), SFSM_ENOTFOUND);
    assert_attrs(o, "Beta=上海;mid=thirteen;zeta=26;客户编号=KH-0042");

    /* An empty value is a value, not a removal. */
    assert_int_equal(sfsm_opp_set_attr(o, "empty", ""), SFSM_OK);
    assert_non_null(sfsm_opp_attr(o, "empty"));
    assert_string_equal(sfsm_opp_attr(o, "empty"), "");

    const char *k = "x", *v = "x";
    assert_int_equal(sfsm_opp_attr_at(o, 5, &k, &v), SFSM_EINVAL);

    /* Survive save and reopen, still sorted. */
    assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);
    sfsm_opp_free(o);
    assert_int_equal(sfsm_opp_open(f->engine, "attr-a", &o), SFSM_OK);
    assert_attrs(o, "Beta=上海;empty=;mid=thirteen;zeta=26;客户编号=KH-0042");
    assert_int_equal(sfsm_opp_unsaved(o), 0);

    hlist l;
    hlist_load(f->engine, "attr-a", &l);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.e[1].fields, SFSM_FIELD_ATTRS);
    assert_has(l.e[1].changes, "客户编号");
    assert_has(l.e[1].changes, "KH-0042");
    hlist_free(&l);

    /* Removing everything stores an empty set. */
    assert_int_equal(sfsm_opp_set_attr(o, "Beta", NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "empty", NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "mid", NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "zeta", NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "客户编号", NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_attr_count(o), 0);
    assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);
    sfsm_opp_free(o);
    assert_int_equal(sfsm_opp_open(f->engine, "attr-a", &o), SFSM_OK);
    assert_int_equal(sfsm_opp_attr_count(o), 0);
    assert_int_equal(sfsm_opp_version(o), 3);
    sfsm_opp_free(o);
}

static void test_attributes_travel_with_fire(void **state)
{
    fixture *f = *state;
    sfsm_opp *o = fixture_opp(f, "attr-b", NULL);
    assert_int_equal(sfsm_opp_set_attr(o, "po", "4711"), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &REP, NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_unsaved(o), 0);
    sfsm_opp *r = NULL;
    assert_int_equal(sfsm_opp_open(f->engine, "attr-b", &r), SFSM_OK);
    assert_string_equal(sfsm_opp_attr(r, "po"), "4711");
    assert_string_equal(sfsm_opp_stage(r), "qualified");
    sfsm_opp_free(r);
    sfsm_opp_free(o);
}

/* ---- history ---- */

static void test_history_order(void **state)
{
    fixture *f = *state;
    sfsm_opp *o = fixture_opp(f, "hist-a", NULL);                       /* 1 create */
    f->now += DAY_MS;
    assert_int_equal(sfsm_opp_set_title(o, "t1"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);             /* 2 update */
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &REP, "met"), SFSM_OK); /* 3 */
    f->now += DAY_MS;
    assert_int_equal(sfsm_opp_set_owner(o, "wang"), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, o, "quote", &MANAGER, NULL), SFSM_OK); /* 4 */
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, o, "lose", &REP, "went with a competitor"), SFSM_OK); /* 5 */
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, o, "reopen", &MANAGER, NULL), SFSM_OK); /* 6 */
    assert_int_equal(sfsm_opp_version(o), 6);

    hlist l;
    hlist_load(f->engine, "hist-a", &l);
    assert_int_equal(l.n, 6);
    assert_versions_gap_free(&l);
    const int kinds[] = { SFSM_HISTORY_CREATE, SFSM_HISTORY_UPDATE, SFSM_HISTORY_TRANSITION,
                          SFSM_HISTORY_TRANSITION, SFSM_HISTORY_TRANSITION, SFSM_HISTORY_TRANSITION };
    const char *events[] = { NULL, NULL, "qualify", "quote", "lose", "reopen" };
    const char *from[] = { NULL, "lead", "lead", "qualified", "quoted", "lost" };
    const char *to[] = { "lead", "lead", "qualified", "quoted", "lost", "lead" };
    const char *notes[] = { NULL, NULL, "met", NULL, "went with a competitor", NULL };
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(l.e[i].kind, kinds[i]);
        assert_int_equal(l.e[i].at, T0_MS + (int64_t)i * DAY_MS);
        assert_str_or_null(l.e[i].event, events[i]);
        assert_str_or_null(l.e[i].from, from[i]);
        assert_str_or_null(l.e[i].to, to[i]);
        assert_str_or_null(l.e[i].note, notes[i]);
    }
    assert_str_or_null(l.e[2].actor, REP.name);
    assert_str_or_null(l.e[2].role, "rep");
    assert_str_or_null(l.e[3].actor, MANAGER.name);
    assert_int_equal(l.e[2].fields, 0);
    assert_null(l.e[2].changes);
    assert_int_equal(l.e[3].fields, SFSM_FIELD_OWNER);
    assert_has(l.e[3].changes, "\"owner\":\"wang\"");
    assert_int_equal(sfsm_opp_stage_entered(o), T0_MS + 5 * DAY_MS);
    hlist_free(&l);
    sfsm_opp_free(o);
}

static void test_history_callback_stops(void **state)
{
    fixture *f = *state;
    sfsm_opp *o = fixture_opp(f, "hist-b", "qualify", "quote", "negotiate", NULL);
    hlist l;
    memset(&l, 0, sizeof l);
    l.stop_at = 2;
    l.stop_value = 42;
    assert_int_equal(sfsm_opp_history(f->engine, "hist-b", collect_cb, &l), 42);
    assert_int_equal(l.n, 2);
    hlist_free(&l);

    memset(&l, 0, sizeof l);
    l.stop_at = 1;
    l.stop_value = -77;
    assert_int_equal(sfsm_opp_history(f->engine, "hist-b", collect_cb, &l), -77);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.e[0].version, 1);
    hlist_free(&l);

    memset(&l, 0, sizeof l);
    l.stop_at = 4;   /* the last entry: still returned */
    l.stop_value = 9;
    assert_int_equal(sfsm_opp_history(f->engine, "hist-b", collect_cb, &l), 9);
    assert_int_equal(l.n, 4);
    hlist_free(&l);
    sfsm_opp_free(o);
}

/* ---- scan ---- */

typedef struct scan_out {
    char ids[1024];
    int calls;
    int stop_after;
    int stop_value;
} scan_out;

static int scan_cb(const sfsm_opp *o, void *ud)
{
    scan_out *s = ud;
    assert_non_null(o);
    size_t len = strlen(s->ids);
    snprintf(s->ids + len, sizeof s->ids - len, "%s%s", len ? "," : "", sfsm_opp_id(o));
    s->calls++;
    if (s->stop_after && s->calls == s->stop_after)
        return s->stop_value;
    return 0;
}

static void scan_expect(fixture *f, const sfsm_filter *flt, const char *want)
{
    scan_out s;
    memset(&s, 0, sizeof s);
    int rc = sfsm_scan(f->engine, flt, scan_cb, &s);
    if (rc != SFSM_OK)
        fail_msg("sfsm_scan: %d %s", rc, sfsm_errmsg());
    if (strcmp(s.ids, want) != 0)
        fail_msg("scan stage=%s owner=%s customer=%s since=%lld: got \"%s\", want \"%s\"",
                 flt ? S(flt->stage) : "-", flt ? S(flt->owner) : "-",
                 flt ? S(flt->customer) : "-", flt ? (long long)flt->changed_since_ms : 0LL,
                 s.ids, want);
}

static void make(fixture *f, const char *id, const char *customer, const char *owner)
{
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = id;
    opts.customer = customer;
    opts.owner = owner;
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create_ext(f->engine, &opts, &o), SFSM_OK);
    sfsm_opp_free(o);
}

/* Created in the order s3, s1, s5, s2, s4 (not id order):
 *   s3  Beta  li    qualified  updated T0+2d
 *   s1  Acme  li    lead       updated T0
 *   s5  -     -     lead       updated T0
 *   s2  Acme  wang  qualified  updated T0+1d
 *   s4  Beta  wang  lead       updated T0+3d (save) */
static void scan_world(fixture *f)
{
    make(f, "s3", "Beta", "li");
    make(f, "s1", "Acme", "li");
    make(f, "s5", NULL, NULL);
    make(f, "s2", "Acme", "wang");
    make(f, "s4", "Beta", "wang");
    sfsm_opp *o = NULL;
    f->now = T0_MS + DAY_MS;
    assert_int_equal(sfsm_opp_open(f->engine, "s2", &o), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &REP, NULL), SFSM_OK);
    sfsm_opp_free(o);
    f->now = T0_MS + 2 * DAY_MS;
    assert_int_equal(sfsm_opp_open(f->engine, "s3", &o), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &REP, NULL), SFSM_OK);
    sfsm_opp_free(o);
    f->now = T0_MS + 3 * DAY_MS;
    assert_int_equal(sfsm_opp_open(f->engine, "s4", &o), SFSM_OK);
    assert_int_equal(sfsm_opp_set_title(o, "touched"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);
    sfsm_opp_free(o);
}

static void test_scan_filters(void **state)
{
    fixture *f = *state;
    scan_world(f);
    sfsm_filter flt = SFSM_FILTER_INIT;

    scan_expect(f, NULL, "s3,s1,s5,s2,s4");
    scan_expect(f, &flt, "s3,s1,s5,s2,s4");

    flt.stage = "lead";
    scan_expect(f, &flt, "s1,s5,s4");
    flt.stage = "qualified";
    scan_expect(f, &flt, "s3,s2");
    flt.stage = "lost";
    scan_expect(f, &flt, "");
    flt.stage = NULL;

    flt.owner = "li";
    scan_expect(f, &flt, "s3,s1");
    flt.owner = "LI";
    scan_expect(f, &flt, "");
    flt.owner = "l";
    scan_expect(f, &flt, "");
    flt.owner = NULL;

    flt.customer = "Beta";
    scan_expect(f, &flt, "s3,s4");
    flt.customer = "Acme";
    scan_expect(f, &flt, "s1,s2");
    flt.customer = NULL;

    flt.changed_since_ms = T0_MS + DAY_MS;
    scan_expect(f, &flt, "s3,s2,s4");
    flt.changed_since_ms = T0_MS + 2 * DAY_MS;
    scan_expect(f, &flt, "s3,s4");
    flt.changed_since_ms = T0_MS + 3 * DAY_MS;   /* at or after: inclusive */
    scan_expect(f, &flt, "s4");
    flt.changed_since_ms = T0_MS + 3 * DAY_MS + 1;
    scan_expect(f, &flt, "");
    flt.changed_since_ms = T0_MS;
    scan_expect(f, &flt, "s3,s1,s5,s2,s4");
    flt.changed_since_ms = 0;

    /* Combinations: all members must match. */
    flt.stage = "qualified";
    flt.owner = "li";
    scan_expect(f, &flt, "s3");
    flt.owner = NULL;
    flt.customer = "Acme";
    scan_expect(f, &flt, "s2");
    flt.changed_since_ms = T0_MS + 2 * DAY_MS;
    scan_expect(f, &flt, "");
    flt.stage = NULL;
    flt.customer = "Beta";
    scan_expect(f, &flt, "s3,s4");
    flt.stage = "lead";
    flt.owner = "wang";
    flt.changed_since_ms = T0_MS + 3 * DAY_MS;
    scan_expect(f, &flt, "s4");
    flt.owner = "li";
    scan_expect(f, &flt, "");

    flt = (sfsm_filter)SFSM_FILTER_INIT;
    flt.stage = "nowhere";
    scan_out s;
    memset(&s, 0, sizeof s);
    assert_int_equal(sfsm_scan(f->engine, &flt, scan_cb, &s), SFSM_ENOTFOUND);
    assert_non_null(strstr(sfsm_errmsg(), "nowhere"));
    assert_int_equal(s.calls, 0);
}

static void test_scan_stops(void **state)
{
    fixture *f = *state;
    scan_world(f);
    scan_out s;
    memset(&s, 0, sizeof s);
    s.stop_after = 2;
    s.stop_value = 5;
    assert_int_equal(sfsm_scan(f->engine, NULL, scan_cb, &s), 5);
    assert_int_equal(s.calls, 2);
    assert_string_equal(s.ids, "s3,s1");

    memset(&s, 0, sizeof s);
    s.stop_after = 1;
    s.stop_value = -1000;
    sfsm_filter flt = SFSM_FILTER_INIT;
    flt.owner = "wang";
    assert_int_equal(sfsm_scan(f->engine, &flt, scan_cb, &s), -1000);
    assert_string_equal(s.ids, "s2");
}

typedef struct scan_seen {
    int n;
    char stage[32];
    char customer[32];
    char attr[32];
    uint64_t version;
} scan_seen;

static int scan_read_cb(const sfsm_opp *o, void *ud)
{
    scan_seen *s = ud;
    s->n++;
    snprintf(s->stage, sizeof s->stage, "%s", S(sfsm_opp_stage(o)));
    snprintf(s->customer, sizeof s->customer, "%s", S(sfsm_opp_customer(o)));
    snprintf(s->attr, sizeof s->attr, "%s", S(sfsm_opp_attr(o, "tier")));
    s->version = sfsm_opp_version(o);
    return 0;
}

static void test_scan_handle_shows_stored_data(void **state)
{
    fixture *f = *state;
    sfsm_opp *o = fixture_opp(f, "scan-read", "qualify", NULL);
    assert_int_equal(sfsm_opp_set_attr(o, "tier", "gold"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);
    /* An unsaved change does not show in a scan. */
    assert_int_equal(sfsm_opp_set_customer(o, "Unsaved Inc"), SFSM_OK);
    scan_seen s;
    memset(&s, 0, sizeof s);
    assert_int_equal(sfsm_scan(f->engine, NULL, scan_read_cb, &s), SFSM_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.stage, "qualified");
    assert_string_equal(s.customer, "Acme Ltd");
    assert_string_equal(s.attr, "gold");
    assert_int_equal(s.version, 3);
    sfsm_opp_free(o);
}

static void test_scan_order_is_creation_order(void **state)
{
    fixture *f = *state;
    const char *ids[] = { "m", "z", "a", "k", "b" };
    for (int i = 0; i < 5; i++)
        make(f, ids[i], "Acme", "li");
    /* Later writes do not reorder. */
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_open(f->engine, "m", &o), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &REP, NULL), SFSM_OK);
    sfsm_opp_free(o);
    scan_expect(f, NULL, "m,z,a,k,b");
}

/* An actor recorded in the history must hold a role of the pipeline. */
static void test_actor_role_must_exist(void **state)
{
    fixture *f = *state;
    sfsm_actor ceo = { "Chen", "ceo" };
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "role-check";
    opts.actor = &ceo;
    sfsm_opp *o = (sfsm_opp *)&opts;   /* must be reset to NULL on failure */
    assert_int_equal(sfsm_opp_create_ext(f->engine, &opts, &o), SFSM_ENOTFOUND);
    assert_null(o);
    assert_non_null(strstr(sfsm_errmsg(), "ceo"));
    assert_int_equal(sfsm_opp_open(f->engine, "role-check", &o), SFSM_ENOTFOUND);

    opts.actor = &REP;
    assert_int_equal(sfsm_opp_create_ext(f->engine, &opts, &o), SFSM_OK);
    assert_int_equal(sfsm_opp_set_title(o, "Servers"), SFSM_OK);
    assert_int_equal(sfsm_opp_save_as(f->engine, o, &ceo, "typo"), SFSM_ENOTFOUND);
    assert_non_null(strstr(sfsm_errmsg(), "ceo"));
    assert_int_equal(sfsm_opp_version(o), 1);
    assert_int_equal(sfsm_opp_unsaved(o), SFSM_FIELD_TITLE);
    assert_int_equal(history_count(f->engine, "role-check"), 1);
    assert_int_equal(sfsm_opp_save_as(f->engine, o, &ASSISTANT, "title from the order"), SFSM_OK);
    assert_int_equal(sfsm_opp_version(o), 2);
    sfsm_opp_free(o);
}

/* A non-zero amount without a currency is refused, not dropped. */
static void test_create_amount_needs_currency(void **state)
{
    fixture *f = *state;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "no-currency";
    opts.amount = 500;
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create_ext(f->engine, &opts, &o), SFSM_EINVAL);
    assert_null(o);
    assert_non_null(strstr(sfsm_errmsg(), "currency"));
    assert_int_equal(sfsm_opp_open(f->engine, "no-currency", &o), SFSM_ENOTFOUND);
}

typedef struct attr_seen {
    char line[8][96];
    size_t n;
} attr_seen;

static int collect_attrs(const sfsm_opp *o, void *ud)
{
    attr_seen *a = ud;
    assert_true(a->n < 8);
    char *l = a->line[a->n++];
    int w = snprintf(l, 96, "%s:", sfsm_opp_id(o));
    for (size_t i = 0; i < sfsm_opp_attr_count(o); i++) {
        const char *k, *v;
        assert_int_equal(sfsm_opp_attr_at(o, i, &k, &v), SFSM_OK);
        w += snprintf(l + w, (size_t)(96 - w), " %s=%s", k, v);
    }
    return 0;
}

/* A whole-store scan hands every opportunity its own attributes, also when
 * only some have any (the SQLite store merges them from a second cursor). */
static void test_scan_attributes(void **state)
{
    fixture *f = *state;
    static const char *const ids[] = { "s1", "s2", "s3", "s4" };
    for (size_t i = 0; i < 4; i++) {
        sfsm_opp *o = NULL;
        assert_int_equal(sfsm_opp_create(f->engine, ids[i], &o), SFSM_OK);
        if (i == 0 || i == 2) {
            assert_int_equal(sfsm_opp_set_attr(o, "zone", i ? "south" : "east"), SFSM_OK);
            assert_int_equal(sfsm_opp_set_attr(o, "erp", i ? "E-3" : "E-1"), SFSM_OK);
        }
        if (i == 3)
            assert_int_equal(sfsm_opp_set_attr(o, "only", "x"), SFSM_OK);
        assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);
        sfsm_opp_free(o);
    }
    attr_seen a = { .n = 0 };
    assert_int_equal(sfsm_scan(f->engine, NULL, collect_attrs, &a), SFSM_OK);
    assert_int_equal(a.n, 4);
    assert_string_equal(a.line[0], "s1: erp=E-1 zone=east");
    assert_string_equal(a.line[1], "s2:");
    assert_string_equal(a.line[2], "s3: erp=E-3 zone=south");
    assert_string_equal(a.line[3], "s4: only=x");
    /* and through a filter */
    sfsm_filter flt = SFSM_FILTER_INIT;
    flt.stage = "lead";
    a.n = 0;
    assert_int_equal(sfsm_scan(f->engine, &flt, collect_attrs, &a), SFSM_OK);
    assert_int_equal(a.n, 4);
    assert_string_equal(a.line[2], "s3: erp=E-3 zone=south");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_create_generated_ids),
        T(test_create_initial_state),
        T(test_create_ext_fields),
        T(test_create_ext_some_fields),
        T(test_setters_mark_unsaved),
        T(test_save_stores_fields),
        T(test_save_only_changed_fields),
        T(test_save_nothing_writes_nothing),
        T(test_clear_fields),
        T(test_getter_strings_stay_valid),
        T(test_probability_per_stage),
        T(test_attributes),
        T(test_attributes_travel_with_fire),
        T(test_history_order),
        T(test_history_callback_stops),
        T(test_scan_filters),
        T(test_scan_stops),
        T(test_scan_handle_shows_stored_data),
        T(test_scan_order_is_creation_order),
        T(test_actor_role_must_exist),
        T(test_create_amount_needs_currency),
        T(test_scan_attributes),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
