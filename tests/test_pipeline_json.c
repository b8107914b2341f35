/* Pipelines from and to JSON (pipeline.h, docs/pipeline-format.md): the
 * default pipeline round-trips and the loaded copy behaves identically
 * (accessors, and every (stage, event) pair fired on memory stores); a
 * custom pipeline with its own stages, roles, an application guard and
 * migrations loads and drives opportunities; an unregistered guard makes
 * its event fail with SFSM_ENOTFOUND; every validation fault is refused
 * with its exact code and a message naming the JSON path and the offending
 * name; limits are exact (the largest valid table loads, one more is
 * refused); NULL arguments; allocation failures.
 *
 * Documents in this file are written with single quotes and turned into
 * JSON by J() (' becomes "), so that they read like JSON. */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- text helpers ---- */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    assert_non_null(d);
    memcpy(d, s, n);
    return d;
}

/* A copy of s with every ' turned into ". */
static char *J(const char *s)
{
    char *d = xstrdup(s);
    for (char *c = d; *c; c++)
        if (*c == '\'')
            *c = '"';
    return d;
}

/* Replaces every occurrence of find (non-empty) in doc; frees doc. */
static char *replace_all(char *doc, const char *find, const char *repl)
{
    size_t fl = strlen(find), rl = strlen(repl), n = 0;
    for (const char *c = strstr(doc, find); c; c = strstr(c + fl, find))
        n++;
    if (n == 0)
        return doc;
    size_t len = strlen(doc) + n * rl - n * fl;
    char *out = malloc(len + 1), *w = out;
    assert_non_null(out);
    const char *r = doc;
    for (const char *c = strstr(r, find); c; c = strstr(r, find)) {
        memcpy(w, r, (size_t)(c - r));
        w += c - r;
        memcpy(w, repl, rl);
        w += rl;
        r = c + fl;
    }
    strcpy(w, r);
    free(doc);
    return out;
}

/* Replaces the one occurrence of find in doc (find and repl go through J);
 * fails the test if find does not occur exactly once. Frees doc. */
static char *edit_once(const char *what, char *doc, const char *find_q, const char *repl_q)
{
    char *find = J(find_q), *repl = J(repl_q);
    const char *at = strstr(doc, find);
    if (!at)
        fail_msg("%s: [%s] is not in the base document", what, find);
    if (strstr(at + 1, find))
        fail_msg("%s: [%s] occurs more than once in the base document", what, find);
    size_t a = (size_t)(at - doc), fl = strlen(find), rl = strlen(repl), dl = strlen(doc);
    char *out = malloc(dl - fl + rl + 1);
    assert_non_null(out);
    memcpy(out, doc, a);
    memcpy(out + a, repl, rl);
    memcpy(out + a + rl, at + fl, dl - a - fl + 1);
    free(find);
    free(repl);
    free(doc);
    return out;
}

/* "<129>" and "<4097>" in a document stand for names one byte longer than
 * SFSM_MAX_NAME and SFSM_MAX_TEXT; "<128>" for the longest valid name. */
static char *expand_long(char *doc)
{
    char n129[SFSM_MAX_NAME + 2], n128[SFSM_MAX_NAME + 1], t4097[SFSM_MAX_TEXT + 2];
    memset(n129, 'n', SFSM_MAX_NAME + 1);
    n129[SFSM_MAX_NAME + 1] = '\0';
    memset(n128, 'm', SFSM_MAX_NAME);
    n128[SFSM_MAX_NAME] = '\0';
    memset(t4097, 't', SFSM_MAX_TEXT + 1);
    t4097[SFSM_MAX_TEXT + 1] = '\0';
    doc = replace_all(doc, "<129>", n129);
    doc = replace_all(doc, "<128>", n128);
    return replace_all(doc, "<4097>", t4097);
}

/* Appends to a growing string. */
typedef struct sb {
    char *s;
    size_t len, cap;
} sb;

static void sb_add(sb *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        assert_non_null(b->s);
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

static void sb_addf(sb *b, const char *fmt, ...) SFSM_PRINTF(2, 3);
static void sb_addf(sb *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof tmp);
    sb_add(b, tmp);
}

/* ---- the documents ---- */

/* sfsm_pipeline_to_json of the built-in pipeline, as a malloc'd string. */
static char *default_json(void)
{
    sfsm_pipeline *p = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    char *s = NULL;
    size_t len = 0;
    assert_int_equal(sfsm_pipeline_to_json(p, &s, &len), SFSM_OK);
    assert_non_null(s);
    assert_int_equal(strlen(s), len);
    char *copy = xstrdup(s);
    sfsm_free(s);
    sfsm_pipeline_free(p);
    return copy;
}

/*
 * A custom pipeline, one top-level member per entry: a technical review
 * between qualification and quoting (its own role, engineer), a credit
 * check before signing (an application guard, next to the built-in
 * has_amount), a different lost path (disqualified straight from lead, a
 * final lost stage; lost deals reopen to qualified, not lead), defaults
 * left out (labels, stale days, forecasts, final flags), and migrations
 * for opportunities stored under version 1 (the default pipeline's
 * delivered and serviced stages).
 */
static const char *const CUSTOM[] = {
    "'format': 'salesfsm-pipeline'",
    "'format_version': 1",
    "'name': 'industrial'",
    "'version': 2",
    "'initial': 'lead'",
    "'stages': [\n"
    "    {'name': 'lead', 'label': 'Lead', 'probability': 5, 'stale_days': 30, 'outcome': 'open'},\n"
    "    {'name': 'qualified', 'probability': 20, 'stale_days': 14, 'outcome': 'open'},\n"
    "    {'name': 'tech_review', 'label': 'Technical review', 'probability': 35, 'stale_days': 21, 'outcome': 'open', 'forecast': 'pipeline'},\n"
    "    {'name': 'quoted', 'probability': 50, 'stale_days': 10, 'outcome': 'open', 'forecast': 'best_case'},\n"
    "    {'name': 'negotiating', 'probability': 80, 'stale_days': 21, 'outcome': 'open', 'forecast': 'commit'},\n"
    "    {'name': 'signed', 'probability': 100, 'outcome': 'won', 'final': true},\n"
    "    {'name': 'disqualified', 'probability': 0, 'outcome': 'lost', 'final': true},\n"
    "    {'name': 'lost', 'probability': 0, 'outcome': 'lost'}\n"
    "  ]",
    "'roles': ['manager', 'rep', 'engineer']",
    "'events': [\n"
    "    {'name': 'qualify', 'from': ['lead'], 'to': 'qualified', 'roles': ['rep', 'manager'], 'guards': ['has_customer']},\n"
    "    {'name': 'disqualify', 'from': ['lead'], 'to': 'disqualified', 'roles': ['rep', 'manager'], 'guards': ['has_reason']},\n"
    "    {'name': 'review', 'from': ['qualified'], 'to': 'tech_review', 'roles': ['rep', 'manager']},\n"
    "    {'name': 'approve', 'from': ['tech_review'], 'to': 'quoted', 'roles': ['engineer'], 'guards': ['has_amount']},\n"
    "    {'name': 'reject', 'from': ['tech_review'], 'to': 'qualified', 'roles': ['engineer']},\n"
    "    {'name': 'negotiate', 'from': ['quoted'], 'to': 'negotiating', 'roles': ['rep', 'manager']},\n"
    "    {'name': 'sign', 'from': ['negotiating'], 'to': 'signed', 'roles': ['manager'], 'guards': ['has_amount', 'credit_check']},\n"
    "    {'name': 'lose', 'from': ['qualified', 'tech_review', 'quoted', 'negotiating'], 'to': 'lost', 'roles': ['rep', 'manager'], 'guards': ['has_reason']},\n"
    "    {'name': 'reopen', 'from': ['lost'], 'to': 'qualified', 'roles': ['manager']}\n"
    "  ]",
    "'migrations': [\n"
    "    {'from_version': 1, 'from': 'delivered', 'to': 'signed'},\n"
    "    {'from_version': 1, 'from': 'serviced', 'to': 'signed'}\n"
    "  ]",
};
#define CUSTOM_COUNT (sizeof CUSTOM / sizeof CUSTOM[0])

/* The custom document with top-level member `key` replaced by `member`
 * (NULL: left out); key NULL: unchanged. */
static char *custom_json_with(const char *key, const char *member)
{
    sb b = { 0 };
    sb_add(&b, "{\n  ");
    int first = 1, found = key == NULL;
    for (size_t i = 0; i < CUSTOM_COUNT; i++) {
        const char *m = CUSTOM[i];
        if (key && m[0] == '\'' && strncmp(m + 1, key, strlen(key)) == 0 && m[1 + strlen(key)] == '\'') {
            found = 1;
            m = member;
        }
        if (!m)
            continue;
        if (!first)
            sb_add(&b, ",\n  ");
        sb_add(&b, m);
        first = 0;
    }
    sb_add(&b, "\n}\n");
    if (!found)
        fail_msg("the custom document has no member '%s'", key);
    char *doc = J(b.s);
    free(b.s);
    return doc;
}

static char *custom_json(void)
{
    return custom_json_with(NULL, NULL);
}

/* ---- loading ---- */

static sfsm_pipeline *load_ok_len(const char *what, const char *doc, size_t len)
{
    sfsm_pipeline *p = NULL;
    int rc = sfsm_pipeline_from_json(&p, doc, len);
    if (rc != SFSM_OK)
        fail_msg("%s: sfsm_pipeline_from_json: %s: %s", what, sfsm_strerror(rc), sfsm_errmsg());
    assert_non_null(p);
    return p;
}

static sfsm_pipeline *load_ok(const char *what, const char *doc)
{
    return load_ok_len(what, doc, strlen(doc));
}

static char *to_json(const sfsm_pipeline *p, size_t *len_out)
{
    char *s = NULL;
    size_t len = 0;
    int rc = sfsm_pipeline_to_json(p, &s, &len);
    if (rc != SFSM_OK)
        fail_msg("sfsm_pipeline_to_json: %s: %s", sfsm_strerror(rc), sfsm_errmsg());
    assert_non_null(s);
    assert_int_equal(strlen(s), len);
    if (len_out)
        *len_out = len;
    return s;
}

static int sentinel_pipeline;
#define SENTINEL ((sfsm_pipeline *)(void *)&sentinel_pipeline)

/* Loads doc[0..len), expects `code`, *out NULL and a message containing
 * every needle (NULL-terminated list). */
static void expect_fault_len(const char *what, const char *doc, size_t len, int code, const char *const *needles)
{
    sfsm_pipeline *p = SENTINEL;
    int rc = sfsm_pipeline_from_json(&p, doc, len);
    if (rc == SFSM_OK)
        sfsm_pipeline_free(p);
    if (rc != code)
        fail_msg("%s: expected %s, got %s (message: \"%s\")", what, sfsm_strerror(code), sfsm_strerror(rc),
                 rc ? sfsm_errmsg() : "");
    if (p != NULL)
        fail_msg("%s: *out is not NULL after a failure", what);
    assert_int_equal(sfsm_errcode(), code);
    const char *m = sfsm_errmsg();
    for (size_t i = 0; needles[i]; i++)
        if (!strstr(m, needles[i]))
            fail_msg("%s: sfsm_errmsg() \"%s\" does not name \"%s\"", what, m, needles[i]);
}

#define expect_fault(what, doc, len, code, ...) \
    expect_fault_len((what), (doc), (len), (code), (const char *const[]){ __VA_ARGS__, NULL })

/* ---- comparing two pipelines ---- */

static void assert_same_string(const char *what, size_t i, const char *a, const char *b)
{
    if (!a || !b) {
        if (a != b)
            fail_msg("%s[%zu]: %s vs %s", what, i, a ? a : "NULL", b ? b : "NULL");
        return;
    }
    if (strcmp(a, b) != 0)
        fail_msg("%s[%zu]: '%s' vs '%s'", what, i, a, b);
}

/* Every accessor of a and b gives the same answer. */
static void assert_same_pipeline(const sfsm_pipeline *a, const sfsm_pipeline *b)
{
    assert_string_equal(sfsm_pipeline_name(a), sfsm_pipeline_name(b));
    assert_int_equal(sfsm_pipeline_version(a), sfsm_pipeline_version(b));
    size_t ns = sfsm_pipeline_stage_count(a), ne = sfsm_pipeline_event_count(a), nr = sfsm_pipeline_role_count(a);
    assert_int_equal(ns, sfsm_pipeline_stage_count(b));
    assert_int_equal(ne, sfsm_pipeline_event_count(b));
    assert_int_equal(nr, sfsm_pipeline_role_count(b));
    assert_int_equal(sfsm_pipeline_initial_stage(a), sfsm_pipeline_initial_stage(b));
    for (size_t i = 0; i <= ns; i++) {   /* i == ns: out of range on both */
        assert_same_string("stage name", i, sfsm_pipeline_stage_name(a, i), sfsm_pipeline_stage_name(b, i));
        assert_same_string("stage label", i, sfsm_pipeline_stage_label(a, i), sfsm_pipeline_stage_label(b, i));
        assert_int_equal(sfsm_pipeline_stage_probability(a, i), sfsm_pipeline_stage_probability(b, i));
        assert_int_equal(sfsm_pipeline_stage_stale_days(a, i), sfsm_pipeline_stage_stale_days(b, i));
        assert_int_equal(sfsm_pipeline_stage_outcome(a, i), sfsm_pipeline_stage_outcome(b, i));
        assert_int_equal(sfsm_pipeline_stage_forecast(a, i), sfsm_pipeline_stage_forecast(b, i));
        assert_int_equal(sfsm_pipeline_stage_is_final(a, i), sfsm_pipeline_stage_is_final(b, i));
        if (i < ns) {
            size_t ia = 99, ib = 98;
            assert_int_equal(sfsm_pipeline_stage_index(a, sfsm_pipeline_stage_name(a, i), &ia), SFSM_OK);
            assert_int_equal(sfsm_pipeline_stage_index(b, sfsm_pipeline_stage_name(a, i), &ib), SFSM_OK);
            assert_int_equal(ia, i);
            assert_int_equal(ib, i);
        }
    }
    for (size_t ev = 0; ev <= ne; ev++) {
        assert_same_string("event name", ev, sfsm_pipeline_event_name(a, ev), sfsm_pipeline_event_name(b, ev));
        assert_int_equal(sfsm_pipeline_event_target(a, ev), sfsm_pipeline_event_target(b, ev));
        for (size_t s = 0; s <= ns; s++)
            assert_int_equal(sfsm_pipeline_event_allowed_from(a, ev, s), sfsm_pipeline_event_allowed_from(b, ev, s));
        for (size_t r = 0; r <= nr; r++)
            assert_int_equal(sfsm_pipeline_event_allows_role(a, ev, r), sfsm_pipeline_event_allows_role(b, ev, r));
        size_t ng = sfsm_pipeline_event_guard_count(a, ev);
        assert_int_equal(ng, sfsm_pipeline_event_guard_count(b, ev));
        for (size_t j = 0; j <= ng; j++)
            assert_same_string("event guard", ev * 100 + j, sfsm_pipeline_event_guard(a, ev, j),
                               sfsm_pipeline_event_guard(b, ev, j));
        if (ev < ne) {
            size_t ia = 99, ib = 98;
            assert_int_equal(sfsm_pipeline_event_index(a, sfsm_pipeline_event_name(a, ev), &ia), SFSM_OK);
            assert_int_equal(sfsm_pipeline_event_index(b, sfsm_pipeline_event_name(a, ev), &ib), SFSM_OK);
            assert_int_equal(ia, ev);
            assert_int_equal(ib, ev);
        }
    }
    for (size_t r = 0; r <= nr; r++) {
        assert_same_string("role name", r, sfsm_pipeline_role_name(a, r), sfsm_pipeline_role_name(b, r));
        if (r < nr) {
            size_t ia = 99, ib = 98;
            assert_int_equal(sfsm_pipeline_role_index(a, sfsm_pipeline_role_name(a, r), &ia), SFSM_OK);
            assert_int_equal(sfsm_pipeline_role_index(b, sfsm_pipeline_role_name(a, r), &ib), SFSM_OK);
            assert_int_equal(ia, r);
            assert_int_equal(ib, r);
        }
    }
    /* The pictures are drawn from the same tables. */
    char *da = NULL, *db = NULL;
    assert_int_equal(sfsm_pipeline_to_dot(a, &da, NULL), SFSM_OK);
    assert_int_equal(sfsm_pipeline_to_dot(b, &db, NULL), SFSM_OK);
    assert_string_equal(da, db);
    sfsm_free(da);
    sfsm_free(db);
    assert_int_equal(sfsm_pipeline_to_mermaid(a, &da, NULL), SFSM_OK);
    assert_int_equal(sfsm_pipeline_to_mermaid(b, &db, NULL), SFSM_OK);
    assert_string_equal(da, db);
    sfsm_free(da);
    sfsm_free(db);
}

/* ---- walking opportunities ---- */

static int64_t fixed_clock(void *ud)
{
    return *(const int64_t *)ud;
}

/* A guard an application registers: *(int *)ud says whether credit is OK. */
static int credit_check(const sfsm_transition *t, void *ud, char *why, size_t why_size)
{
    const int *ok = ud;
    if (*ok)
        return 0;
    snprintf(why, why_size, "credit check failed for customer '%s' of '%s'",
             t->opp && sfsm_opp_customer(t->opp) ? sfsm_opp_customer(t->opp) : "?", t->opp_id);
    return 1;
}

static int credit_ok = 1;

typedef struct walker {
    sfsm_store *store;
    sfsm_engine *engine;
    int64_t now;
} walker;

/* An engine on a fresh memory store, with credit_check bound when the
 * pipeline uses it. */
static void walker_open(walker *w, const sfsm_pipeline *p)
{
    memset(w, 0, sizeof *w);
    w->now = T0_MS;
    assert_int_equal(sfsm_store_open_memory(&w->store), SFSM_OK);
    assert_int_equal(sfsm_engine_new(&w->engine, p, w->store), SFSM_OK);
    assert_int_equal(sfsm_engine_set_clock(w->engine, fixed_clock, &w->now), SFSM_OK);
    int rc = sfsm_engine_register_guard(w->engine, "credit_check", credit_check, &credit_ok);
    assert_true(rc == SFSM_OK || rc == SFSM_ENOTFOUND);
}

static void walker_close(walker *w)
{
    sfsm_engine_free(w->engine);
    sfsm_store_close(w->store);
}

/* An actor whose role may fire ev. */
static sfsm_actor actor_for(const sfsm_pipeline *p, size_t ev)
{
    for (size_t r = 0; r < sfsm_pipeline_role_count(p); r++)
        if (sfsm_pipeline_event_allows_role(p, ev, r))
            return (sfsm_actor){ "walker", sfsm_pipeline_role_name(p, r) };
    fail_msg("event '%s' allows no role", sfsm_pipeline_event_name(p, ev));
    return (sfsm_actor){ NULL, NULL };
}

/* A new opportunity (customer, amount) fired along `path` (events by index)
 * and then `ev`; returns fire's code for ev and writes the stage reached. */
static int walk(walker *w, const sfsm_pipeline *p, const char *id, const size_t *path, size_t n, size_t ev,
                char stage[SFSM_MAX_NAME + 1])
{
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = id;
    opts.customer = "Acme Ltd";
    opts.amount = 1200000;
    opts.currency = "CNY";
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create_ext(w->engine, &opts, &o), SFSM_OK);
    for (size_t k = 0; k < n; k++) {
        sfsm_actor a = actor_for(p, path[k]);
        int rc = sfsm_fire_index(w->engine, o, path[k], &a, "walking");
        if (rc != SFSM_OK)
            fail_msg("%s: fire %s: %s", id, sfsm_pipeline_event_name(p, path[k]), sfsm_errmsg());
    }
    sfsm_actor a = actor_for(p, ev);
    int rc = sfsm_fire(w->engine, o, sfsm_pipeline_event_name(p, ev), &a, "walking");
    snprintf(stage, SFSM_MAX_NAME + 1, "%s", sfsm_opp_stage(o));
    sfsm_opp_free(o);
    return rc;
}

/*
 * Fires every event from every stage on both pipelines (each on its own
 * memory store), reaching the stage by the shortest path from the initial
 * stage; both must give the same code and stage, allowed pairs must reach
 * the event's target and the others must be refused with SFSM_ETRANSITION.
 * Returns the number of allowed pairs fired.
 */
static size_t walk_both(const sfsm_pipeline *a, const sfsm_pipeline *b)
{
    size_t ns = sfsm_pipeline_stage_count(a), ne = sfsm_pipeline_event_count(a);
    size_t *prev_stage = calloc(ns, sizeof *prev_stage), *prev_event = calloc(ns, sizeof *prev_event);
    size_t *queue = calloc(ns, sizeof *queue), *path = calloc(ns, sizeof *path);
    unsigned char *seen = calloc(ns, 1);
    assert_true(prev_stage && prev_event && queue && path && seen);
    size_t head = 0, tail = 0, init = sfsm_pipeline_initial_stage(a);
    seen[init] = 1;
    queue[tail++] = init;
    while (head < tail) {
        size_t s = queue[head++];
        for (size_t ev = 0; ev < ne; ev++) {
            size_t t = sfsm_pipeline_event_target(a, ev);
            if (sfsm_pipeline_event_allowed_from(a, ev, s) && !seen[t]) {
                seen[t] = 1;
                prev_stage[t] = s;
                prev_event[t] = ev;
                queue[tail++] = t;
            }
        }
    }
    assert_int_equal(tail, ns);   /* a valid pipeline reaches every stage */

    walker wa, wb;
    walker_open(&wa, a);
    walker_open(&wb, b);
    size_t allowed = 0;
    for (size_t s = 0; s < ns; s++) {
        size_t n = 0;
        for (size_t at = s; at != init; at = prev_stage[at])
            n++;
        size_t k = n;
        for (size_t at = s; at != init; at = prev_stage[at])
            path[--k] = prev_event[at];
        for (size_t ev = 0; ev < ne; ev++) {
            char id[64], sa[SFSM_MAX_NAME + 1], sb_[SFSM_MAX_NAME + 1];
            snprintf(id, sizeof id, "walk-%zu-%zu", s, ev);
            int ra = walk(&wa, a, id, path, n, ev, sa);
            int rb = walk(&wb, b, id, path, n, ev, sb_);
            if (ra != rb || strcmp(sa, sb_) != 0)
                fail_msg("%s from %s: %s/%s vs %s/%s", sfsm_pipeline_event_name(a, ev), sfsm_pipeline_stage_name(a, s),
                         sfsm_strerror(ra), sa, sfsm_strerror(rb), sb_);
            if (sfsm_pipeline_event_allowed_from(a, ev, s)) {
                if (ra != SFSM_OK)
                    fail_msg("%s from %s: %s", sfsm_pipeline_event_name(a, ev), sfsm_pipeline_stage_name(a, s),
                             sfsm_errmsg());
                assert_string_equal(sa, sfsm_pipeline_stage_name(a, sfsm_pipeline_event_target(a, ev)));
                allowed++;
            } else {
                assert_int_equal(ra, SFSM_ETRANSITION);
                assert_string_equal(sa, sfsm_pipeline_stage_name(a, s));
            }
        }
    }
    /* Same number of opportunities and history entries on both stores. */
    assert_int_equal(count_opps(wa.engine, NULL), ns * ne);
    assert_int_equal(count_opps(wb.engine, NULL), ns * ne);
    assert_int_equal(history_count(wa.engine, "walk-0-0"), history_count(wb.engine, "walk-0-0"));
    walker_close(&wa);
    walker_close(&wb);
    free(prev_stage);
    free(prev_event);
    free(queue);
    free(path);
    free(seen);
    return allowed;
}

/* ---- the default pipeline round-trips ---- */

static void default_round_trip(void **state)
{
    (void)state;
    sfsm_pipeline *builtin = NULL;
    assert_int_equal(sfsm_pipeline_default(&builtin), SFSM_OK);
    size_t len1 = 0, len2 = 0;
    char *first = to_json(builtin, &len1);
    assert_true(strncmp(first, "{\n  \"format\": \"salesfsm-pipeline\",\n  \"format_version\": 1,\n", 58) == 0);

    sfsm_pipeline *loaded = load_ok("default", first);
    char *second = to_json(loaded, &len2);
    assert_int_equal(len1, len2);
    assert_memory_equal(first, second, len1);   /* byte-identical */
    assert_same_pipeline(builtin, loaded);

    /* Spot checks against DESIGN.md §1, on the loaded copy. */
    size_t i;
    assert_int_equal(sfsm_pipeline_stage_index(loaded, "quoted", &i), SFSM_OK);
    assert_int_equal(sfsm_pipeline_stage_probability(loaded, i), 50);
    assert_int_equal(sfsm_pipeline_stage_stale_days(loaded, i), 10);
    assert_int_equal(sfsm_pipeline_stage_forecast(loaded, i), SFSM_FORECAST_BEST_CASE);
    assert_int_equal(sfsm_pipeline_stage_index(loaded, "serviced", &i), SFSM_OK);
    assert_true(sfsm_pipeline_stage_is_final(loaded, i));
    assert_int_equal(sfsm_pipeline_stage_outcome(loaded, i), SFSM_OUTCOME_WON);
    assert_int_equal(sfsm_pipeline_stage_index(loaded, "lost", &i), SFSM_OK);
    assert_false(sfsm_pipeline_stage_is_final(loaded, i));   /* reopen leads out */
    assert_int_equal(sfsm_pipeline_stage_forecast(loaded, i), SFSM_FORECAST_OMITTED);
    assert_int_equal(sfsm_pipeline_event_index(loaded, "lose", &i), SFSM_OK);
    assert_string_equal(sfsm_pipeline_event_guard(loaded, i, 0), "has_reason");
    const char *to = "x";
    assert_int_equal(sfsm_pipeline_migration(loaded, 1, "lead", &to), SFSM_OK);
    assert_null(to);   /* the default declares no migrations */

    /* Every allowed (stage, event) pair, fired on both: 12 pairs. */
    assert_int_equal(walk_both(builtin, loaded), 12);

    sfsm_free(first);
    sfsm_free(second);
    sfsm_pipeline_free(loaded);
    sfsm_pipeline_free(builtin);
}

/* json need not be NUL-terminated; only len bytes are read; layout and
 * member order do not matter. */
static void input_shapes(void **state)
{
    (void)state;
    char *doc = default_json();
    size_t len = strlen(doc);

    char *exact = malloc(len);   /* no terminating NUL: ASan sees any over-read */
    assert_non_null(exact);
    memcpy(exact, doc, len);
    sfsm_pipeline *p = load_ok_len("not NUL-terminated", exact, len);
    char *again = to_json(p, NULL);
    assert_string_equal(again, doc);
    sfsm_free(again);
    sfsm_pipeline_free(p);
    free(exact);

    /* A longer buffer: only len bytes count (what follows is not read). */
    char *longer = malloc(len + 16);
    assert_non_null(longer);
    memcpy(longer, doc, len);
    memcpy(longer + len, "garbage, ignored", 16);
    p = load_ok_len("prefix of a longer buffer", longer, len);
    sfsm_pipeline_free(p);
    free(longer);

    /* Whitespace around the object. */
    char *spaced = malloc(len + 16);
    assert_non_null(spaced);
    snprintf(spaced, len + 16, " \t\r\n%s \r\n\t ", doc);
    p = load_ok("whitespace around", spaced);
    again = to_json(p, NULL);
    assert_string_equal(again, doc);
    sfsm_free(again);
    sfsm_pipeline_free(p);
    free(spaced);

    /* Members in reverse order, on one line: the same pipeline, the same output. */
    char *cdoc = custom_json();
    sfsm_pipeline *c = load_ok("custom", cdoc);
    free(cdoc);
    sb b = { 0 };
    sb_add(&b, "{");
    for (size_t k = CUSTOM_COUNT; k-- > 0;) {
        sb_add(&b, CUSTOM[k]);
        sb_add(&b, k ? "," : "}");
    }
    char *rev = J(b.s);
    free(b.s);
    rev = replace_all(rev, "\n", "");
    p = load_ok("reversed members", rev);
    char *x = to_json(c, NULL), *y = to_json(p, NULL);
    assert_string_equal(x, y);
    sfsm_free(x);
    sfsm_free(y);
    sfsm_pipeline_free(p);
    sfsm_pipeline_free(c);
    free(rev);
    free(doc);
}

/* ---- a custom pipeline ---- */

static size_t stage_ix(const sfsm_pipeline *p, const char *name)
{
    size_t i = 999;
    if (sfsm_pipeline_stage_index(p, name, &i) != SFSM_OK)
        fail_msg("no stage '%s': %s", name, sfsm_errmsg());
    return i;
}

static size_t event_ix(const sfsm_pipeline *p, const char *name)
{
    size_t i = 999;
    if (sfsm_pipeline_event_index(p, name, &i) != SFSM_OK)
        fail_msg("no event '%s': %s", name, sfsm_errmsg());
    return i;
}

/* What the custom document says, defaults included, and its round trip. */
static void custom_loads(void **state)
{
    (void)state;
    char *doc = custom_json();
    sfsm_pipeline *p = load_ok("custom", doc);
    assert_string_equal(sfsm_pipeline_name(p), "industrial");
    assert_int_equal(sfsm_pipeline_version(p), 2);
    assert_int_equal(sfsm_pipeline_stage_count(p), 8);
    assert_int_equal(sfsm_pipeline_event_count(p), 9);
    assert_int_equal(sfsm_pipeline_role_count(p), 3);
    assert_int_equal(sfsm_pipeline_initial_stage(p), stage_ix(p, "lead"));

    size_t tr = stage_ix(p, "tech_review");
    assert_int_equal(tr, 2);   /* table order */
    assert_string_equal(sfsm_pipeline_stage_label(p, tr), "Technical review");
    assert_int_equal(sfsm_pipeline_stage_probability(p, tr), 35);
    assert_int_equal(sfsm_pipeline_stage_stale_days(p, tr), 21);
    assert_int_equal(sfsm_pipeline_stage_outcome(p, tr), SFSM_OUTCOME_OPEN);
    /* label defaults to the name, stale_days to 0 (never stale) */
    assert_string_equal(sfsm_pipeline_stage_label(p, stage_ix(p, "qualified")), "qualified");
    assert_int_equal(sfsm_pipeline_stage_stale_days(p, stage_ix(p, "signed")), 0);
    /* forecast: as declared, else from the outcome (open → pipeline, won →
     * closed, lost → omitted) */
    assert_int_equal(sfsm_pipeline_stage_forecast(p, stage_ix(p, "lead")), SFSM_FORECAST_PIPELINE);
    assert_int_equal(sfsm_pipeline_stage_forecast(p, stage_ix(p, "qualified")), SFSM_FORECAST_PIPELINE);
    assert_int_equal(sfsm_pipeline_stage_forecast(p, stage_ix(p, "quoted")), SFSM_FORECAST_BEST_CASE);
    assert_int_equal(sfsm_pipeline_stage_forecast(p, stage_ix(p, "negotiating")), SFSM_FORECAST_COMMIT);
    assert_int_equal(sfsm_pipeline_stage_forecast(p, stage_ix(p, "signed")), SFSM_FORECAST_CLOSED);
    assert_int_equal(sfsm_pipeline_stage_forecast(p, stage_ix(p, "disqualified")), SFSM_FORECAST_OMITTED);
    assert_int_equal(sfsm_pipeline_stage_forecast(p, stage_ix(p, "lost")), SFSM_FORECAST_OMITTED);
    /* final: derived (no event leads out) and, where declared, checked */
    assert_true(sfsm_pipeline_stage_is_final(p, stage_ix(p, "signed")));
    assert_true(sfsm_pipeline_stage_is_final(p, stage_ix(p, "disqualified")));
    assert_false(sfsm_pipeline_stage_is_final(p, stage_ix(p, "lost")));
    assert_false(sfsm_pipeline_stage_is_final(p, stage_ix(p, "lead")));

    size_t sign = event_ix(p, "sign"), eng = 99;
    assert_int_equal(sfsm_pipeline_event_target(p, sign), stage_ix(p, "signed"));
    assert_int_equal(sfsm_pipeline_event_guard_count(p, sign), 2);
    assert_string_equal(sfsm_pipeline_event_guard(p, sign, 0), "has_amount");
    assert_string_equal(sfsm_pipeline_event_guard(p, sign, 1), "credit_check");
    assert_null(sfsm_pipeline_event_guard(p, sign, 2));
    assert_int_equal(sfsm_pipeline_event_guard_count(p, event_ix(p, "review")), 0);   /* guards omitted */
    assert_int_equal(sfsm_pipeline_role_index(p, "engineer", &eng), SFSM_OK);
    size_t approve = event_ix(p, "approve");
    assert_true(sfsm_pipeline_event_allows_role(p, approve, eng));
    assert_false(sfsm_pipeline_event_allows_role(p, approve, 0));
    size_t lose = event_ix(p, "lose");
    assert_false(sfsm_pipeline_event_allowed_from(p, lose, stage_ix(p, "lead")));   /* lead is disqualified instead */
    assert_true(sfsm_pipeline_event_allowed_from(p, lose, tr));
    assert_int_equal(sfsm_pipeline_event_target(p, event_ix(p, "reopen")), stage_ix(p, "qualified"));

    /* Round trip: the writer spells the defaults out; reading that back
     * gives the same pipeline and the same text. */
    size_t l1, l2;
    char *first = to_json(p, &l1);
    assert_non_null(strstr(first, "{\"name\": \"qualified\", \"label\": \"qualified\", \"probability\": 20, \"stale_days\": 14, "
                                  "\"outcome\": \"open\", \"forecast\": \"pipeline\", \"final\": false}"));
    assert_non_null(strstr(first, "\"guards\": []"));
    assert_non_null(strstr(first, "\"migrations\": [\n    {\"from_version\": 1, \"from\": \"delivered\", \"to\": \"signed\"},\n"));
    sfsm_pipeline *q = load_ok("custom, written", first);
    char *second = to_json(q, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(first, second, l1);
    assert_same_pipeline(p, q);
    const char *to = NULL;
    assert_int_equal(sfsm_pipeline_migration(q, 1, "serviced", &to), SFSM_OK);
    assert_string_equal(to, "signed");

    /* Both behave alike on every (stage, event) pair: 12 allowed. */
    assert_int_equal(walk_both(p, q), 12);

    sfsm_free(first);
    sfsm_free(second);
    sfsm_pipeline_free(q);
    sfsm_pipeline_free(p);
    free(doc);
}

typedef struct custom_env {
    sfsm_pipeline *p;
    sfsm_store *store;
    sfsm_engine *engine;
    int64_t now;
    char path[256];
} custom_env;

/* The custom pipeline on the suite's store (memory, or SQLite). */
static void custom_env_open(custom_env *c)
{
    memset(c, 0, sizeof *c);
    char *doc = custom_json();
    c->p = load_ok("custom", doc);
    free(doc);
    c->now = T0_MS;
    test_store_open(&c->store, c->path);
    assert_int_equal(sfsm_engine_new(&c->engine, c->p, c->store), SFSM_OK);
    assert_int_equal(sfsm_engine_set_clock(c->engine, fixed_clock, &c->now), SFSM_OK);
}

static void custom_env_close(custom_env *c)
{
    sfsm_engine_free(c->engine);
    sfsm_store_close(c->store);
    test_store_remove(c->path);
    sfsm_pipeline_free(c->p);
}

static sfsm_opp *new_deal(custom_env *c, const char *id)
{
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = id;
    opts.customer = "Shanghai Pumps Co.";
    opts.owner = "li.wei";
    opts.amount = 4500000;
    opts.currency = "CNY";
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create_ext(c->engine, &opts, &o), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "lead");
    assert_int_equal(sfsm_opp_probability(o), 5);
    return o;
}

static const sfsm_actor ENGINEER = { "Eli (engineer)", "engineer" };

#define FIRE_OK(c, o, ev, actor, note)                                                          \
    do {                                                                                        \
        int rc_ = sfsm_fire((c)->engine, (o), (ev), (actor), (note));                           \
        if (rc_ != SFSM_OK)                                                                     \
            fail_msg("fire %s: %s: %s", (ev), sfsm_strerror(rc_), sfsm_errmsg());               \
    } while (0)

/* Opportunities move through the custom stages: technical review before
 * quoting, a credit check before signing, disqualification from lead. */
static void custom_drives(void **state)
{
    (void)state;
    custom_env c;
    custom_env_open(&c);
    int credit = 0;
    assert_int_equal(sfsm_engine_register_guard(c.engine, "credit_check", credit_check, &credit), SFSM_OK);

    sfsm_opp *o = new_deal(&c, "deal-1");
    FIRE_OK(&c, o, "qualify", &REP, NULL);
    assert_int_equal(sfsm_fire(c.engine, o, "quote", &REP, NULL), SFSM_ENOTFOUND);   /* no such event here */
    assert_msg_has("'quote'");
    FIRE_OK(&c, o, "review", &REP, "needs a pressure test");
    assert_string_equal(sfsm_opp_stage(o), "tech_review");
    assert_int_equal(sfsm_opp_probability(o), 35);
    assert_int_equal(sfsm_fire(c.engine, o, "approve", &REP, NULL), SFSM_EPERM);   /* engineers approve */
    assert_msg_has("'approve'");
    FIRE_OK(&c, o, "reject", &ENGINEER, "wrong flange size");
    assert_string_equal(sfsm_opp_stage(o), "qualified");
    FIRE_OK(&c, o, "review", &REP, NULL);
    FIRE_OK(&c, o, "approve", &ENGINEER, NULL);
    assert_string_equal(sfsm_opp_stage(o), "quoted");
    FIRE_OK(&c, o, "negotiate", &REP, NULL);
    assert_int_equal(sfsm_fire(c.engine, o, "sign", &REP, NULL), SFSM_EPERM);   /* managers sign */

    /* The credit check refuses: nothing changes, its reason is the message. */
    uint64_t version = sfsm_opp_version(o);
    size_t entries = history_count(c.engine, "deal-1");
    assert_int_equal(sfsm_fire(c.engine, o, "sign", &MANAGER, NULL), SFSM_EGUARD);
    assert_string_equal(sfsm_errmsg(), "credit check failed for customer 'Shanghai Pumps Co.' of 'deal-1'");
    assert_string_equal(sfsm_opp_stage(o), "negotiating");
    assert_int_equal(sfsm_opp_version(o), version);
    assert_int_equal(history_count(c.engine, "deal-1"), entries);
    /* The built-in guard before it still runs first. */
    assert_int_equal(sfsm_opp_set_amount(o, 0, "CNY"), SFSM_OK);
    assert_int_equal(sfsm_fire(c.engine, o, "sign", &MANAGER, NULL), SFSM_EGUARD);
    assert_msg_has("has_amount");
    assert_int_equal(sfsm_opp_set_amount(o, 4500000, "CNY"), SFSM_OK);
    credit = 1;
    FIRE_OK(&c, o, "sign", &MANAGER, "PO 4711");
    assert_string_equal(sfsm_opp_stage(o), "signed");
    assert_int_equal(sfsm_opp_probability(o), 100);
    assert_int_equal(sfsm_fire(c.engine, o, "lose", &MANAGER, "x"), SFSM_ETRANSITION);   /* final */
    sfsm_opp_free(o);

    /* Reopened from the store, it is where it was left. */
    assert_int_equal(sfsm_opp_open(c.engine, "deal-1", &o), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "signed");
    sfsm_opp_free(o);

    /* The other lost path: disqualified straight from lead, for good. */
    o = new_deal(&c, "deal-2");
    assert_int_equal(sfsm_fire(c.engine, o, "lose", &REP, "no budget"), SFSM_ETRANSITION);
    assert_int_equal(sfsm_fire(c.engine, o, "disqualify", &REP, NULL), SFSM_EGUARD);   /* has_reason */
    FIRE_OK(&c, o, "disqualify", &REP, "no budget this year");
    assert_string_equal(sfsm_opp_stage(o), "disqualified");
    assert_int_equal(sfsm_fire(c.engine, o, "reopen", &MANAGER, NULL), SFSM_ETRANSITION);
    sfsm_opp_free(o);

    /* Lost later on, and reopened to qualified rather than lead. */
    o = new_deal(&c, "deal-3");
    FIRE_OK(&c, o, "qualify", &REP, NULL);
    FIRE_OK(&c, o, "review", &REP, NULL);
    FIRE_OK(&c, o, "lose", &REP, "went with a competitor");
    assert_string_equal(sfsm_opp_stage(o), "lost");
    assert_int_equal(sfsm_fire(c.engine, o, "reopen", &REP, NULL), SFSM_EPERM);
    FIRE_OK(&c, o, "reopen", &MANAGER, NULL);
    assert_string_equal(sfsm_opp_stage(o), "qualified");
    sfsm_opp_free(o);

    /* An actor with a role of the default pipeline that this one lacks. */
    o = new_deal(&c, "deal-4");
    assert_int_equal(sfsm_fire(c.engine, o, "qualify", &ASSISTANT, NULL), SFSM_ENOTFOUND);
    assert_msg_has("'assistant'");
    sfsm_opp_free(o);

    sfsm_filter f = SFSM_FILTER_INIT;
    f.stage = "signed";
    assert_int_equal(count_opps(c.engine, &f), 1);
    f.stage = "disqualified";
    assert_int_equal(count_opps(c.engine, &f), 1);
    custom_env_close(&c);
}

/* Guards are bound by the engine, not the loader: an event whose guard no
 * one registered cannot be fired (SFSM_ENOTFOUND naming the guard), and
 * nothing else is affected. */
static void unregistered_guard(void **state)
{
    (void)state;
    custom_env c;
    custom_env_open(&c);   /* credit_check not registered */
    sfsm_opp *o = new_deal(&c, "deal-9");
    FIRE_OK(&c, o, "qualify", &REP, NULL);
    FIRE_OK(&c, o, "review", &REP, NULL);
    FIRE_OK(&c, o, "approve", &ENGINEER, NULL);
    FIRE_OK(&c, o, "negotiate", &REP, NULL);

    uint64_t version = sfsm_opp_version(o);
    size_t entries = history_count(c.engine, "deal-9");
    assert_int_equal(sfsm_fire(c.engine, o, "sign", &MANAGER, "PO 1"), SFSM_ENOTFOUND);
    assert_msg_has("'credit_check'");
    assert_msg_has("'sign'");
    assert_string_equal(sfsm_opp_stage(o), "negotiating");
    assert_int_equal(sfsm_opp_version(o), version);
    assert_int_equal(history_count(c.engine, "deal-9"), entries);
    /* It is not offered either; the events without it still are. */
    const char *names[8];
    size_t n = 0;
    assert_int_equal(sfsm_engine_available_events(c.engine, o, &MANAGER, names, 8, &n), SFSM_OK);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "lose");
    FIRE_OK(&c, o, "lose", &MANAGER, "credit never came through");
    sfsm_opp_free(o);

    /* Registering a name no event uses is refused, naming it. */
    int ok = 1;
    assert_int_equal(sfsm_engine_register_guard(c.engine, "credit_chek", credit_check, &ok), SFSM_ENOTFOUND);
    assert_msg_has("'credit_chek'");

    /* Once registered, the same event goes through. */
    assert_int_equal(sfsm_engine_register_guard(c.engine, "credit_check", credit_check, &ok), SFSM_OK);
    o = new_deal(&c, "deal-10");
    FIRE_OK(&c, o, "qualify", &REP, NULL);
    FIRE_OK(&c, o, "review", &REP, NULL);
    FIRE_OK(&c, o, "approve", &ENGINEER, NULL);
    FIRE_OK(&c, o, "negotiate", &REP, NULL);
    FIRE_OK(&c, o, "sign", &MANAGER, NULL);
    sfsm_opp_free(o);

    /* A registered guard replaces a built-in of the same name. */
    ok = 0;
    assert_int_equal(sfsm_engine_register_guard(c.engine, "has_customer", credit_check, &ok), SFSM_OK);
    o = new_deal(&c, "deal-11");
    assert_int_equal(sfsm_fire(c.engine, o, "qualify", &REP, NULL), SFSM_EGUARD);
    assert_msg_has("credit check failed");
    sfsm_opp_free(o);
    custom_env_close(&c);

    /* The loader does not check guard names: any name loads. */
    char *doc = custom_json();
    doc = edit_once("unknown guard", doc, "'guards': ['has_amount', 'credit_check']",
                    "'guards': ['has_amount', 'nobody_registers_this']");
    sfsm_pipeline *p = load_ok("unknown guard", doc);
    assert_string_equal(sfsm_pipeline_event_guard(p, event_ix(p, "sign"), 1), "nobody_registers_this");
    sfsm_pipeline_free(p);
    free(doc);
}

/* sfsm_pipeline_migration: what a pipeline declares for stages of earlier
 * versions. */
static void migrations(void **state)
{
    (void)state;
    char *doc = custom_json_with("migrations", "'migrations': [\n"
                                               "    {'from_version': 1, 'from': 'delivered', 'to': 'signed'},\n"
                                               "    {'from_version': 1, 'from': 'serviced', 'to': 'signed'},\n"
                                               "    {'from_version': 2, 'from': 'serviced', 'to': 'signed'},\n"
                                               "    {'from_version': 2, 'from': 'review', 'to': 'tech_review'},\n"
                                               "    {'from_version': 1, 'from': 'lead', 'to': 'qualified'}\n"
                                               "  ]");
    doc = edit_once("version 3", doc, "'version': 2", "'version': 3");
    sfsm_pipeline *p = load_ok("migrations", doc);
    const char *to = "x";
    assert_int_equal(sfsm_pipeline_migration(p, 1, "delivered", &to), SFSM_OK);
    assert_string_equal(to, "signed");
    assert_int_equal(sfsm_pipeline_migration(p, 2, "review", &to), SFSM_OK);
    assert_string_equal(to, "tech_review");
    /* A stage that still exists may be mapped too. */
    assert_int_equal(sfsm_pipeline_migration(p, 1, "lead", &to), SFSM_OK);
    assert_string_equal(to, "qualified");
    /* Nothing declared: NULL (the stage must exist as it is). */
    to = "x";
    assert_int_equal(sfsm_pipeline_migration(p, 2, "delivered", &to), SFSM_OK);
    assert_null(to);
    to = "x";
    assert_int_equal(sfsm_pipeline_migration(p, 2, "lead", &to), SFSM_OK);
    assert_null(to);
    to = "x";
    assert_int_equal(sfsm_pipeline_migration(p, 3, "serviced", &to), SFSM_OK);   /* its own version */
    assert_null(to);
    to = "x";
    assert_int_equal(sfsm_pipeline_migration(p, 1, "Delivered", &to), SFSM_OK);   /* case matters */
    assert_null(to);
    /* The returned name belongs to the pipeline: it is a stage name. */
    assert_int_equal(sfsm_pipeline_migration(p, 2, "serviced", &to), SFSM_OK);
    assert_ptr_equal(to, sfsm_pipeline_stage_name(p, stage_ix(p, "signed")));

    /* NULL arguments */
    assert_int_equal(sfsm_pipeline_migration(NULL, 1, "delivered", &to), SFSM_EINVAL);
    assert_msg_has("sfsm_pipeline_migration");
    assert_int_equal(sfsm_pipeline_migration(p, 1, NULL, &to), SFSM_EINVAL);
    assert_int_equal(sfsm_pipeline_migration(p, 1, "delivered", NULL), SFSM_EINVAL);

    /* Written in declaration order and read back the same. */
    char *first = to_json(p, NULL);
    assert_non_null(strstr(first, "{\"from_version\": 2, \"from\": \"review\", \"to\": \"tech_review\"},\n"
                                  "    {\"from_version\": 1, \"from\": \"lead\", \"to\": \"qualified\"}\n  ]\n}\n"));
    sfsm_pipeline *q = load_ok("migrations, written", first);
    assert_int_equal(sfsm_pipeline_migration(q, 2, "review", &to), SFSM_OK);
    assert_string_equal(to, "tech_review");
    char *second = to_json(q, NULL);
    assert_string_equal(first, second);
    sfsm_free(first);
    sfsm_free(second);
    sfsm_pipeline_free(q);
    sfsm_pipeline_free(p);
    free(doc);

    /* Without migrations nothing is written for them and every lookup is NULL. */
    doc = custom_json_with("migrations", NULL);
    p = load_ok("no migrations", doc);
    to = "x";
    assert_int_equal(sfsm_pipeline_migration(p, 1, "delivered", &to), SFSM_OK);
    assert_null(to);
    first = to_json(p, NULL);
    assert_null(strstr(first, "migrations"));
    sfsm_free(first);
    sfsm_pipeline_free(p);
    free(doc);
}

/* Version 2 of the default pipeline, loaded from JSON: delivery and service
 * are no longer tracked; its migrations send opportunities stored under
 * version 1 in those stages to signed. Without them, an engine refuses a
 * store that still has such opportunities. */
static char *default_v2_json(int with_migrations)
{
    char *doc = default_json();
    doc = edit_once("v2", doc, "'version': 1,\n", "'version': 2,\n");
    doc = edit_once("v2", doc, "'outcome': 'won', 'forecast': 'closed', 'final': false},\n    {'name': 'delivered'",
                    "'outcome': 'won', 'forecast': 'closed', 'final': true},\n    {'name': 'delivered'");
    doc = edit_once("v2", doc,
                    "    {'name': 'delivered', 'label': 'Delivered', 'probability': 100, 'stale_days': 60, 'outcome': 'won', 'forecast': 'closed', 'final': false},\n"
                    "    {'name': 'serviced', 'label': 'Serviced', 'probability': 100, 'stale_days': 0, 'outcome': 'won', 'forecast': 'closed', 'final': true},\n",
                    "");
    doc = edit_once("v2", doc,
                    "    {'name': 'deliver', 'from': ['signed'], 'to': 'delivered', 'roles': ['manager', 'rep', 'assistant'], 'guards': []},\n"
                    "    {'name': 'service', 'from': ['delivered'], 'to': 'serviced', 'roles': ['manager', 'assistant', 'support'], 'guards': []},\n",
                    "");
    if (with_migrations)
        doc = edit_once("v2", doc, "'guards': []}\n  ]\n}",
                        "'guards': []}\n  ],\n  'migrations': [\n"
                        "    {'from_version': 1, 'from': 'delivered', 'to': 'signed'},\n"
                        "    {'from_version': 1, 'from': 'serviced', 'to': 'signed'}\n  ]\n}");
    return doc;
}

static int count_moves(const char *id, uint32_t from_version, const char *from, const char *to, void *ud)
{
    (void)id;
    assert_int_equal(from_version, 1);
    if (strcmp(from, to) != 0)
        (*(int *)ud)++;
    return 0;
}

static void migrations_move_opportunities(void **state)
{
    (void)state;
    fixture *f = fixture_new();   /* default pipeline, version 1, on the suite's store */
    sfsm_opp *o = fixture_opp(f, "delivered-1", "qualify", "quote", "negotiate", "sign", "deliver", NULL);
    sfsm_opp_free(o);
    o = fixture_opp(f, "quoted-1", "qualify", "quote", NULL);
    sfsm_opp_free(o);
    sfsm_engine_free(f->engine);
    f->engine = NULL;

    /* Version 2 without migrations: the store has an opportunity in a stage
     * version 2 does not have. */
    char *doc = default_v2_json(0);
    sfsm_pipeline *v2 = load_ok("v2 without migrations", doc);
    free(doc);
    sfsm_engine *e = NULL;
    assert_int_equal(sfsm_engine_new(&e, v2, f->store), SFSM_EVERSION);
    assert_null(e);
    assert_msg_has("'delivered'");
    sfsm_pipeline_free(v2);

    /* With them, the engine opens and moves it to signed. */
    doc = default_v2_json(1);
    v2 = load_ok("v2", doc);
    free(doc);
    assert_int_equal(sfsm_pipeline_stage_count(v2), 6);
    const char *to = NULL;
    assert_int_equal(sfsm_pipeline_migration(v2, 1, "delivered", &to), SFSM_OK);
    assert_string_equal(to, "signed");
    assert_int_equal(sfsm_engine_new(&e, v2, f->store), SFSM_OK);
    int moved_stage = 0;
    size_t moved = 0;
    int rc = sfsm_engine_migrate(e, &MANAGER, count_moves, &moved_stage, &moved);
    if (rc != SFSM_OK)
        fail_msg("sfsm_engine_migrate: %s: %s", sfsm_strerror(rc), sfsm_errmsg());
    assert_int_equal(moved_stage, 1);
    assert_true(moved >= 1);
    assert_int_equal(sfsm_opp_open(e, "delivered-1", &o), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "signed");
    assert_true(sfsm_pipeline_stage_is_final(v2, sfsm_opp_stage_index(o)));
    sfsm_opp_free(o);
    assert_int_equal(sfsm_opp_open(e, "quoted-1", &o), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "quoted");   /* still a stage: stays */
    assert_int_equal(sfsm_fire(e, o, "negotiate", &REP, NULL), SFSM_OK);
    sfsm_opp_free(o);
    sfsm_engine_free(e);
    fixture_free(f);
    sfsm_pipeline_free(v2);
}

/* ---- what may be left out, and what may be in names ---- */

static void minimal_defaults(void **state)
{
    (void)state;
    /* No format, format_version, labels, stale days, forecasts, final
     * flags, guards or migrations. */
    char *doc = J("{'name': 'tiny', 'version': 1, 'initial': 'open', "
                  "'stages': [{'name': 'open', 'probability': 50, 'outcome': 'open'}, "
                  "{'name': 'won', 'probability': 100, 'outcome': 'won'}, "
                  "{'name': 'gone', 'probability': 0, 'outcome': 'lost'}], "
                  "'roles': ['rep'], "
                  "'events': [{'name': 'win', 'from': ['open'], 'to': 'won', 'roles': ['rep']}, "
                  "{'name': 'drop', 'from': ['open'], 'to': 'gone', 'roles': ['rep']}]}");
    sfsm_pipeline *p = load_ok("minimal", doc);
    assert_string_equal(sfsm_pipeline_stage_label(p, 0), "open");
    assert_int_equal(sfsm_pipeline_stage_stale_days(p, 0), 0);
    assert_int_equal(sfsm_pipeline_stage_forecast(p, 0), SFSM_FORECAST_PIPELINE);
    assert_int_equal(sfsm_pipeline_stage_forecast(p, 1), SFSM_FORECAST_CLOSED);
    assert_int_equal(sfsm_pipeline_stage_forecast(p, 2), SFSM_FORECAST_OMITTED);
    assert_false(sfsm_pipeline_stage_is_final(p, 0));
    assert_true(sfsm_pipeline_stage_is_final(p, 1));
    assert_true(sfsm_pipeline_stage_is_final(p, 2));
    assert_int_equal(sfsm_pipeline_event_guard_count(p, 0), 0);
    char *out = to_json(p, NULL);
    char *want = J("{\n  'format': 'salesfsm-pipeline',\n  'format_version': 1,\n  'name': 'tiny',\n  'version': 1,\n"
                   "  'initial': 'open',\n  'stages': [\n"
                   "    {'name': 'open', 'label': 'open', 'probability': 50, 'stale_days': 0, 'outcome': 'open', 'forecast': 'pipeline', 'final': false},\n"
                   "    {'name': 'won', 'label': 'won', 'probability': 100, 'stale_days': 0, 'outcome': 'won', 'forecast': 'closed', 'final': true},\n"
                   "    {'name': 'gone', 'label': 'gone', 'probability': 0, 'stale_days': 0, 'outcome': 'lost', 'forecast': 'omitted', 'final': true}\n"
                   "  ],\n  'roles': ['rep'],\n  'events': [\n"
                   "    {'name': 'win', 'from': ['open'], 'to': 'won', 'roles': ['rep'], 'guards': []},\n"
                   "    {'name': 'drop', 'from': ['open'], 'to': 'gone', 'roles': ['rep'], 'guards': []}\n"
                   "  ]\n}\n");
    assert_string_equal(out, want);
    sfsm_free(out);
    free(want);
    sfsm_pipeline_free(p);
    free(doc);

    /* null stands for a left-out optional string (label, format) and is an
     * explicit "missing" for a required one. */
    doc = J("{'format': null, 'name': 'tiny', 'version': 1, 'initial': 'open', "
            "'stages': [{'name': 'open', 'label': null, 'probability': 50, 'outcome': 'open'}, "
            "{'name': 'won', 'probability': 100, 'outcome': 'won'}], "
            "'roles': ['rep'], 'events': [{'name': 'win', 'from': ['open'], 'to': 'won', 'roles': ['rep']}]}");
    p = load_ok("nulls", doc);
    assert_string_equal(sfsm_pipeline_stage_label(p, 0), "open");
    sfsm_pipeline_free(p);
    free(doc);

    /* A stage may be the target of its own event; an event may be allowed
     * from several stages, a won stage may lead on. */
    doc = J("{'name': 'loops', 'version': 7, 'initial': 'a', "
            "'stages': [{'name': 'a', 'probability': 10, 'outcome': 'open'}, "
            "{'name': 'w', 'probability': 100, 'outcome': 'won', 'final': false}], "
            "'roles': ['r'], 'events': [{'name': 'touch', 'from': ['a', 'w'], 'to': 'a', 'roles': ['r']}, "
            "{'name': 'win', 'from': ['a'], 'to': 'w', 'roles': ['r']}]}");
    p = load_ok("loops", doc);
    assert_true(sfsm_pipeline_event_allowed_from(p, 0, 0));
    assert_true(sfsm_pipeline_event_allowed_from(p, 0, 1));
    assert_false(sfsm_pipeline_stage_is_final(p, 1));
    sfsm_pipeline_free(p);
    free(doc);
}

/* Names and labels are UTF-8 text: escapes are decoded, and the writer
 * escapes what JSON needs, so that any loaded text round-trips. */
static void unicode_and_escapes(void **state)
{
    (void)state;
    const char *doc =
        "{\"name\": \"\\u9500\\u552e\\u6d41\\u7a0b\", \"version\": 3, \"initial\": \"线索\",\n"
        " \"stages\": [\n"
        "  {\"name\": \"线索\", \"label\": \"客户开发 \\\"prospect\\\" \\\\ tab\\there\\r\\n\\u0001\\/\", \"probability\": 10, \"outcome\": \"open\"},\n"
        "  {\"name\": \"签约\", \"label\": \"合同签订 😀\", \"probability\": 100, \"outcome\": \"won\"},\n"
        "  {\"name\": \"丢单\", \"probability\": 0, \"outcome\": \"lost\"}],\n"
        " \"roles\": [\"销售经理\", \"销售代表\"],\n"
        " \"events\": [\n"
        "  {\"name\": \"签约\", \"from\": [\"线索\"], \"to\": \"签约\", \"roles\": [\"销售经理\"], \"guards\": [\"有金额\"]},\n"
        "  {\"name\": \"丢单\", \"from\": [\"线索\"], \"to\": \"丢单\", \"roles\": [\"销售代表\", \"销售经理\"]}],\n"
        " \"migrations\": [{\"from_version\": 1, \"from\": \"lead\", \"to\": \"\\u7ebf\\u7d22\"}]}";
    sfsm_pipeline *p = load_ok("unicode", doc);
    assert_string_equal(sfsm_pipeline_name(p), "销售流程");
    assert_string_equal(sfsm_pipeline_stage_label(p, 0), "客户开发 \"prospect\" \\ tab\there\r\n\x01/");
    assert_string_equal(sfsm_pipeline_stage_label(p, 1), "合同签订 😀");
    assert_string_equal(sfsm_pipeline_event_guard(p, 0, 0), "有金额");
    size_t i = 99;
    assert_int_equal(sfsm_pipeline_role_index(p, "销售代表", &i), SFSM_OK);
    assert_int_equal(i, 1);
    const char *to = NULL;
    assert_int_equal(sfsm_pipeline_migration(p, 1, "lead", &to), SFSM_OK);
    assert_string_equal(to, "线索");
    size_t l1, l2;
    char *first = to_json(p, &l1);
    assert_non_null(strstr(first, "\"label\": \"客户开发 \\\"prospect\\\" \\\\ tab\\there\\r\\n\\u0001/\""));
    sfsm_pipeline *q = load_ok("unicode, written", first);
    char *second = to_json(q, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(first, second, l1);
    assert_same_pipeline(p, q);
    sfsm_free(first);
    sfsm_free(second);
    sfsm_pipeline_free(q);
    sfsm_pipeline_free(p);
}

/* ---- limits: the largest valid definition loads, one more is refused ---- */

typedef struct gen {
    size_t stages;        /* s0..: the last one won, the others open */
    size_t events;        /* e0..: s_k -> s_k+1 for k < stages-1, then x_k: s0 -> s1 */
    size_t roles;         /* r0.. */
    size_t event_roles;   /* roles listed by e0 (r0.., wrapping); others list r0 */
    size_t guards;        /* guards of e0: g0.. */
    size_t from;          /* stages listed in e0's from (s0..); 0: just s0 */
    size_t migrations;    /* {from_version 1, from old_k, to s0}; version is 2 */
} gen;

static char *generate(const gen *g)
{
    sb b = { 0 };
    sb_addf(&b, "{\"name\": \"generated\", \"version\": 2, \"initial\": \"s0\", \"stages\": [");
    for (size_t i = 0; i < g->stages; i++)
        sb_addf(&b, "%s{\"name\": \"s%zu\", \"probability\": %d, \"outcome\": \"%s\"}", i ? ", " : "", i,
                i + 1 == g->stages ? 100 : 10, i + 1 == g->stages ? "won" : "open");
    sb_add(&b, "], \"roles\": [");
    for (size_t i = 0; i < g->roles; i++)
        sb_addf(&b, "%s\"r%zu\"", i ? ", " : "", i);
    sb_add(&b, "], \"events\": [");
    for (size_t i = 0; i < g->events; i++) {
        size_t chain = g->stages - 1;
        if (i < chain)
            sb_addf(&b, "%s{\"name\": \"e%zu\", \"from\": [", i ? ", " : "", i);
        else
            sb_addf(&b, "%s{\"name\": \"x%zu\", \"from\": [", i ? ", " : "", i);
        size_t nf = i == 0 && g->from ? g->from : 1;
        for (size_t k = 0; k < nf; k++)
            sb_addf(&b, "%s\"s%zu\"", k ? ", " : "", i < chain && nf == 1 ? i : k);
        sb_addf(&b, "], \"to\": \"s%zu\", \"roles\": [", i < chain ? i + 1 : (size_t)1);
        size_t nr = i == 0 ? g->event_roles : 1;
        for (size_t k = 0; k < nr; k++)
            sb_addf(&b, "%s\"r%zu\"", k ? ", " : "", k % g->roles);
        sb_add(&b, "], \"guards\": [");
        for (size_t k = 0; i == 0 && k < g->guards; k++)
            sb_addf(&b, "%s\"g%zu\"", k ? ", " : "", k);
        sb_add(&b, "]}");
    }
    sb_add(&b, "]");
    if (g->migrations) {
        sb_add(&b, ", \"migrations\": [");
        for (size_t i = 0; i < g->migrations; i++)
            sb_addf(&b, "%s{\"from_version\": 1, \"from\": \"old%zu\", \"to\": \"s0\"}", i ? ", " : "", i);
        sb_add(&b, "]");
    }
    sb_add(&b, "}");
    return b.s;
}

static const gen GEN_BASE = { 2, 1, 1, 1, 0, 0, 0 };

static void round_trips(const char *what, const char *doc, sfsm_pipeline **out)
{
    sfsm_pipeline *p = load_ok(what, doc);
    size_t l1, l2;
    char *first = to_json(p, &l1);
    sfsm_pipeline *q = load_ok(what, first);
    char *second = to_json(q, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(first, second, l1);
    sfsm_free(first);
    sfsm_free(second);
    sfsm_pipeline_free(q);
    *out = p;
}

static void limits_accepted(void **state)
{
    (void)state;
    sfsm_pipeline *p;
    gen g = GEN_BASE;

    g.stages = 256;   /* SFSM_MAX_STAGES, a chain of 255 events */
    g.events = 255;
    char *doc = generate(&g);
    round_trips("256 stages", doc, &p);
    assert_int_equal(sfsm_pipeline_stage_count(p), 256);
    assert_int_equal(sfsm_pipeline_event_target(p, 254), 255);
    sfsm_pipeline_free(p);
    free(doc);

    g = GEN_BASE;
    g.events = 256;   /* SFSM_MAX_EVENTS */
    doc = generate(&g);
    round_trips("256 events", doc, &p);
    assert_int_equal(sfsm_pipeline_event_count(p), 256);
    sfsm_pipeline_free(p);
    free(doc);

    g = GEN_BASE;
    g.roles = 32;   /* role sets are 32-bit masks */
    g.event_roles = 32;
    doc = generate(&g);
    round_trips("32 roles", doc, &p);
    assert_int_equal(sfsm_pipeline_role_count(p), 32);
    assert_true(sfsm_pipeline_event_allows_role(p, 0, 31));
    assert_true(sfsm_pipeline_event_allows_role(p, 0, 0));
    assert_false(sfsm_pipeline_event_allows_role(p, 0, 32));
    sfsm_pipeline_free(p);
    free(doc);

    g = GEN_BASE;
    g.guards = 16;   /* per event */
    doc = generate(&g);
    round_trips("16 guards", doc, &p);
    assert_int_equal(sfsm_pipeline_event_guard_count(p, 0), 16);
    assert_string_equal(sfsm_pipeline_event_guard(p, 0, 15), "g15");
    sfsm_pipeline_free(p);
    free(doc);

    g = GEN_BASE;
    g.stages = 256;
    g.events = 255;
    g.from = 256;   /* e0 allowed from every stage */
    doc = generate(&g);
    round_trips("from 256 stages", doc, &p);
    assert_true(sfsm_pipeline_event_allowed_from(p, 0, 255));
    sfsm_pipeline_free(p);
    free(doc);

    g = GEN_BASE;
    g.migrations = 4096;
    doc = generate(&g);
    round_trips("4096 migrations", doc, &p);
    const char *to = NULL;
    assert_int_equal(sfsm_pipeline_migration(p, 1, "old4095", &to), SFSM_OK);
    assert_string_equal(to, "s0");
    sfsm_pipeline_free(p);
    free(doc);

    /* Names of exactly SFSM_MAX_NAME bytes everywhere, a label of
     * SFSM_MAX_TEXT bytes, the extreme numbers. */
    char label[SFSM_MAX_TEXT + 3];   /* a JSON string: quotes included */
    memset(label, 'L', sizeof label);
    label[0] = label[SFSM_MAX_TEXT + 1] = '"';
    label[SFSM_MAX_TEXT + 2] = '\0';
    doc = default_json();
    doc = replace_all(doc, "\"qualified\"", "\"<128>\"");
    doc = replace_all(doc, "\"qualify\"", "\"<128>\"");   /* an event may share a stage's name */
    doc = replace_all(doc, "\"assistant\"", "\"<128>\"");
    doc = replace_all(doc, "\"has_amount\"", "\"<128>\"");
    doc = replace_all(doc, "\"default\"", "\"<128>\"");
    doc = replace_all(doc, "\"Quoted\"", label);
    doc = edit_once("extremes", doc, "'version': 1,\n", "'version': 4294967295,\n");
    doc = edit_once("extremes", doc, "'stale_days': 60", "'stale_days': 36500");
    doc = expand_long(doc);
    round_trips("longest names", doc, &p);
    assert_int_equal(strlen(sfsm_pipeline_stage_name(p, 1)), SFSM_MAX_NAME);
    assert_int_equal(strlen(sfsm_pipeline_stage_label(p, 2)), SFSM_MAX_TEXT);
    assert_int_equal(sfsm_pipeline_version(p), UINT32_MAX);
    assert_int_equal(sfsm_pipeline_stage_stale_days(p, 5), 36500);
    sfsm_pipeline_free(p);
    free(doc);

    /* A document of exactly 4 MiB (the default, padded with spaces). */
    size_t max = (size_t)4 << 20;
    char *base = default_json(), *big = malloc(max);
    assert_non_null(big);
    memset(big, ' ', max);
    memcpy(big, base, strlen(base));
    p = load_ok_len("4 MiB", big, max);
    sfsm_pipeline_free(p);
    free(big);
    free(base);
}

/* ---- every validation fault: code, JSON path, offending name ---- */

/*
 * One fault: a base document, one or two edits, the code and what the
 * message must contain. Modes:
 *   'D'  edit the default pipeline's JSON (sfsm_pipeline_to_json output)
 *   'C'  edit the custom document
 *   'M'  custom document with top-level member `find` replaced by `repl`
 *        (NULL: left out)
 *   'T'  `find` is the whole document
 * find/repl and documents go through J (' becomes "); needles do not.
 */
typedef struct fault {
    const char *what;
    char mode;
    const char *find, *repl, *find2, *repl2;
    int code;
    const char *needles[4];
} fault;

#define F(w, m, f, r, c, ...) { w, m, f, r, NULL, NULL, c, { __VA_ARGS__ } }
#define F2(w, m, f, r, f2, r2, c, ...) { w, m, f, r, f2, r2, c, { __VA_ARGS__ } }

#define EP SFSM_EPARSE
#define EI SFSM_EINVAL
#define EV SFSM_EVERSION

static const fault FAULTS[] = {
    /* wrong types */
    F("stages not an array", 'M', "stages", "'stages': {'name': 'lead'}", EP, "stages: must be an array"),
    F("stages a string", 'M', "stages", "'stages': 'lead'", EP, "stages: must be an array"),
    F("events not an array", 'M', "events", "'events': {}", EP, "events: must be an array"),
    F("roles not an array", 'M', "roles", "'roles': 'manager'", EP, "roles: must be an array of strings"),
    F("role not a string", 'C', "'roles': ['manager', 'rep', 'engineer']", "'roles': ['manager', 7, 'engineer']", EP,
      "roles[1]: must be a string"),
    F("migrations not an array", 'M', "migrations", "'migrations': {}", EP, "migrations: must be an array"),
    F("name not a string", 'M', "name", "'name': 42", EP, "name: must be a string"),
    F("version a string", 'M', "version", "'version': '2'", EP, "version: must be a whole number"),
    F("version not whole", 'M', "version", "'version': 2.5", EP, "version: must be a whole number"),
    F("initial not a string", 'M', "initial", "'initial': ['lead']", EP, "initial: must be a string"),
    F("format not a string", 'M', "format", "'format': 1", EP, "format: must be a string"),
    F("format_version a string", 'M', "format_version", "'format_version': '1'", EP,
      "format_version: must be a whole number"),
    F("stage not an object", 'D',
      "{'name': 'lead', 'label': 'Lead', 'probability': 10, 'stale_days': 14, 'outcome': 'open', 'forecast': 'pipeline', 'final': false}",
      "'lead'", EP, "stages[0]: must be an object"),
    F("probability a string", 'D', "'probability': 50", "'probability': '50'", EP,
      "stages[2].probability: must be a whole number"),
    F("probability a bool", 'D', "'probability': 50", "'probability': true", EP,
      "stages[2].probability: must be a whole number"),
    F("probability null", 'D', "'probability': 50", "'probability': null", EP,
      "stages[2].probability: must be a whole number"),
    F("probability not integral", 'D', "'probability': 50", "'probability': 50.5", EP,
      "stages[2].probability: must be a whole number"),
    F("stale_days a string", 'D', "'stale_days': 10", "'stale_days': '10'", EP,
      "stages[2].stale_days: must be a whole number"),
    F("stale_days not integral", 'D', "'stale_days': 10", "'stale_days': 1.5", EP,
      "stages[2].stale_days: must be a whole number"),
    F("final a string", 'D', "'final': true", "'final': 'yes'", EP, "stages[6].final: must be true or false"),
    F("final a number", 'D', "'final': true", "'final': 1", EP, "stages[6].final: must be true or false"),
    F("stage name a number", 'D', "'name': 'qualified', 'label'", "'name': 25, 'label'", EP,
      "stages[1].name: must be a string"),
    F("label a number", 'D', "'label': 'Quoted'", "'label': 3", EP, "stages[2].label: must be a string"),
    F("outcome a number", 'D', "'outcome': 'lost'", "'outcome': 2", EP, "stages[7].outcome: must be a string"),
    F("forecast a bool", 'D', "'forecast': 'commit'", "'forecast': false", EP, "stages[3].forecast: must be a string"),
    F("event not an object", 'D',
      "{'name': 'negotiate', 'from': ['quoted'], 'to': 'negotiating', 'roles': ['manager', 'rep'], 'guards': []}",
      "['negotiate']", EP, "events[2]: must be an object"),
    F("event from a string", 'D', "'from': ['lead'], 'to': 'qualified'", "'from': 'lead', 'to': 'qualified'", EP,
      "events[0].from: must be an array of strings"),
    F("event from entry a number", 'D', "'from': ['lead', 'qualified', 'quoted', 'negotiating']",
      "'from': ['lead', 'qualified', 3, 'negotiating']", EP, "events[7].from[2]: must be a string"),
    F("event to an array", 'D', "'to': 'qualified'", "'to': ['qualified']", EP, "events[0].to: must be a string"),
    F("event role null", 'D', "'roles': ['manager'], 'guards': []}", "'roles': [null], 'guards': []}", EP,
      "events[8].roles[0]: must be a string"),
    F("event roles an object", 'D', "'roles': ['manager'], 'guards': []}", "'roles': {}, 'guards': []}", EP,
      "events[8].roles: must be an array of strings"),
    F("guards a string", 'D', "'guards': ['has_customer']", "'guards': 'has_customer'", EP,
      "events[0].guards: must be an array of strings"),
    F("guard an object", 'D', "'guards': ['has_customer']", "'guards': [{'name': 'has_customer'}]", EP,
      "events[0].guards[0]: must be a string"),
    F("migration not an object", 'C', "{'from_version': 1, 'from': 'delivered', 'to': 'signed'}", "'delivered'", EP,
      "migrations[0]: must be an object"),
    F("migration from_version a string", 'C', "{'from_version': 1, 'from': 'serviced'",
      "{'from_version': '1', 'from': 'serviced'", EP, "migrations[1].from_version: must be a whole number"),
    F("migration from an array", 'C', "'from': 'delivered', ", "'from': ['delivered'], ", EP,
      "migrations[0].from: must be a string"),
    F("migration to a number", 'C', "'from': 'serviced', 'to': 'signed'", "'from': 'serviced', 'to': 5", EP,
      "migrations[1].to: must be a string"),

    /* missing members */
    F("name missing", 'M', "name", NULL, EP, "name: missing"),
    F("name null", 'M', "name", "'name': null", EP, "name: missing"),
    F("version missing", 'M', "version", NULL, EP, "version: missing"),
    F("initial missing", 'M', "initial", NULL, EP, "initial: missing"),
    F("stages missing", 'M', "stages", NULL, EP, "stages: missing"),
    F("roles missing", 'M', "roles", NULL, EP, "roles: missing"),
    F("events missing", 'M', "events", NULL, EP, "events: missing"),
    F("stage name missing", 'D', "{'name': 'quoted', 'label'", "{'label'", EP, "stages[2].name: missing"),
    F("stage probability missing", 'D', "'probability': 50, ", "", EP, "stages[2].probability: missing"),
    F("stage outcome missing", 'D', "'stale_days': 0, 'outcome': 'won', ", "'stale_days': 0, ", EP,
      "stages[6].outcome: missing"),
    F("event name missing", 'D', "{'name': 'quote', ", "{", EP, "events[1].name: missing"),
    F("event from missing", 'D', "'from': ['quoted'], ", "", EP, "events[2].from: missing"),
    F("event to missing", 'D', ", 'to': 'negotiating'", "", EP, "events[2].to: missing"),
    F("event roles missing", 'D', "'roles': ['manager'], 'guards': []}", "'guards': []}", EP,
      "events[8].roles: missing"),
    F("migration from_version missing", 'C', "{'from_version': 1, 'from': 'delivered', ", "{'from': 'delivered', ", EP,
      "migrations[0].from_version: missing"),
    F("migration from missing", 'C', "'from': 'delivered', ", "", EP, "migrations[0].from: missing"),
    F("migration to missing", 'C', "'from': 'serviced', 'to': 'signed'", "'from': 'serviced'", EP,
      "migrations[1].to: missing"),

    /* unknown members (typos are not ignored) */
    F("unknown top-level member", 'M', "initial", "'initial': 'lead', 'stage': []", EP, "stage: unknown member"),
    F("probabilty", 'D', "'probability': 50", "'probabilty': 50", EP, "stages[2].probabilty: unknown member"),
    F("stale_day", 'D', "'stale_days': 10", "'stale_day': 10", EP, "stages[2].stale_day: unknown member"),
    F("guard", 'D', "'guards': ['has_customer']", "'guard': ['has_customer']", EP, "events[0].guard: unknown member"),
    F("Name (case)", 'D', "{'name': 'quote', ", "{'Name': 'quote', ", EP, "events[1].Name: unknown member"),
    F("to_stage", 'C', "{'from_version': 1, 'from': 'delivered', 'to': 'signed'}",
      "{'from_version': 1, 'from': 'delivered', 'to_stage': 'signed'}", EP, "migrations[0].to_stage: unknown member"),

    /* a member given twice: the second value must not be silently dropped
     * (as docs/json-format.md does for opportunities) */
    F("repeated member", 'D', "'probability': 50", "'probability': 50, 'probability': 90", EP, "stages[2].probability"),
    F("repeated top-level member", 'M', "initial", "'initial': 'lead', 'initial': 'quoted'", EP, "initial"),

    /* duplicate names */
    F("duplicate stage", 'D', "{'name': 'delivered', 'label'", "{'name': 'signed', 'label'", EI,
      "stages[5].name: duplicate name 'signed'", "stages[4]"),
    F("duplicate event", 'D', "{'name': 'requote'", "{'name': 'quote'", EI, "events[3].name: duplicate name 'quote'",
      "events[1]"),
    /* roles are strings: the path of the second one is roles[3] */
    F("duplicate role", 'D', "'roles': ['manager', 'rep', 'assistant', 'support']",
      "'roles': ['manager', 'rep', 'assistant', 'rep']", EI, "roles[3]: duplicate name 'rep'", "roles[1]"),

    /* unknown references */
    F("unknown from stage", 'D', "'from': ['qualified']", "'from': ['qualifed']", EI,
      "events[1].from[0]: unknown stage 'qualifed'"),
    F("unknown from stage, 3rd", 'D', "'from': ['lead', 'qualified', 'quoted', 'negotiating']",
      "'from': ['lead', 'qualified', 'quote', 'negotiating']", EI, "events[7].from[2]: unknown stage 'quote'"),
    F("unknown to stage", 'D', "'to': 'negotiating'", "'to': 'negotiatng'", EI,
      "events[2].to: unknown stage 'negotiatng'"),
    F("unknown initial stage", 'M', "initial", "'initial': 'leed'", EI, "initial: unknown stage 'leed'"),
    F("unknown role", 'D', "'roles': ['manager', 'rep', 'assistant']", "'roles': ['manager', 'rep', 'clerk']", EI,
      "events[5].roles[2]: unknown role 'clerk'"),
    F("event twice from one stage", 'D', "'from': ['lead', 'qualified', 'quoted', 'negotiating']",
      "'from': ['lead', 'qualified', 'lead', 'negotiating']", EI, "events[7].from[2]:", "'lose'",
      "twice from stage 'lead'"),
    F("event from no stage", 'D', "'from': ['lead'], 'to': 'qualified'", "'from': [], 'to': 'qualified'", EI,
      "events[0].from:", "'qualify'"),
    F("event allows no role", 'D', "'roles': ['manager'], 'guards': []}", "'roles': [], 'guards': []}", EI,
      "events[8].roles:", "'reopen'"),

    /* values */
    F("probability over 100", 'D', "'probability': 50", "'probability': 101", EI,
      "stages[2].probability: 101 is outside 0..100"),
    F("probability negative", 'D', "'probability': 50", "'probability': -1", EI,
      "stages[2].probability: -1 is outside 0..100"),
    F("stale_days negative", 'D', "'stale_days': 10", "'stale_days': -3", EI, "stages[2].stale_days: -3 is outside"),
    F("stale_days over 100 years", 'D', "'stale_days': 10", "'stale_days': 36501", EI,
      "stages[2].stale_days: 36501 is outside 0..36500"),
    F("unknown outcome", 'D', "'outcome': 'lost'", "'outcome': 'dead'", EI, "stages[7].outcome: unknown value 'dead'"),
    F("outcome in capitals", 'D', "'outcome': 'lost'", "'outcome': 'Lost'", EI,
      "stages[7].outcome: unknown value 'Lost'"),
    F("unknown forecast", 'D', "'forecast': 'best_case'", "'forecast': 'upside'", EI,
      "stages[2].forecast: unknown value 'upside'"),
    F("version 0", 'M', "version", "'version': 0", EI, "version: 0 is outside 1..4294967295"),
    F("version negative", 'M', "version", "'version': -2", EI, "version: -2 is outside"),
    /* the message quotes the number as written, not rounded ("4.29497e+09") */
    F("version over 32 bits", 'M', "version", "'version': 4294967296", EI, "version: 4294967296 is outside 1..4294967295"),

    /* the graph */
    F("unreachable stage", 'D', "'omitted', 'final': false}",
      "'omitted', 'final': false},\n    {'name': 'limbo', 'probability': 100, 'outcome': 'won'}", EI,
      "stages[8]: stage 'limbo' is unreachable", "'lead'"),
    F2("unreachable stage with a way out", 'D', "'omitted', 'final': false}",
       "'omitted', 'final': false},\n    {'name': 'nurture', 'probability': 5, 'outcome': 'open'}",
       "'to': 'lead', 'roles': ['manager'], 'guards': []}",
       "'to': 'lead', 'roles': ['manager'], 'guards': []},\n    {'name': 'revive', 'from': ['nurture'], 'to': 'lead', 'roles': ['rep']}",
       EI, "stages[8]: stage 'nurture' is unreachable", "'lead'"),
    F("initial stage leaves others unreachable", 'M', "initial", "'initial': 'signed'", EI,
      "stages[0]: stage 'lead' is unreachable", "'signed'"),
    F2("open stage with no way out", 'D', "'omitted', 'final': false}",
       "'omitted', 'final': false},\n    {'name': 'on_hold', 'probability': 30, 'outcome': 'open'}",
       "'to': 'lead', 'roles': ['manager'], 'guards': []}",
       "'to': 'lead', 'roles': ['manager'], 'guards': []},\n    {'name': 'hold', 'from': ['quoted'], 'to': 'on_hold', 'roles': ['rep']}",
       EI, "stages[8]: open stage 'on_hold' has no event leading out"),
    F("no path to a won stage", 'T',
      "{'name': 'doomed', 'version': 1, 'initial': 'lead', 'stages': ["
      "{'name': 'lead', 'probability': 10, 'outcome': 'open'}, {'name': 'lost', 'probability': 0, 'outcome': 'lost'}], "
      "'roles': ['rep'], 'events': [{'name': 'lose', 'from': ['lead'], 'to': 'lost', 'roles': ['rep']}]}",
      NULL, EI, "stages: no stage with outcome won can be reached from 'lead'"),
    F("declared final with a way out", 'D', "'omitted', 'final': false}", "'omitted', 'final': true}", EI,
      "stages[7].final: stage 'lost' is declared final but events lead out of it"),
    F("declared not final without a way out", 'D', "'final': true", "'final': false", EI,
      "stages[6].final: stage 'serviced' is declared not final"),
    F("declared final, open, no way out", 'T',
      "{'name': 'stuck', 'version': 1, 'initial': 'a', 'stages': ["
      "{'name': 'a', 'probability': 10, 'outcome': 'open'}, {'name': 'b', 'probability': 10, 'outcome': 'open', 'final': true}, "
      "{'name': 'w', 'probability': 100, 'outcome': 'won'}], "
      "'roles': ['rep'], 'events': [{'name': 'e', 'from': ['a'], 'to': 'b', 'roles': ['rep']}, "
      "{'name': 'f', 'from': ['a'], 'to': 'w', 'roles': ['rep']}]}",
      NULL, EI, "stages[1]: open stage 'b' has no event leading out"),

    /* names: empty, oversize (> SFSM_MAX_NAME bytes), labels > SFSM_MAX_TEXT */
    F("stage name empty", 'D', "'name': 'qualified', 'label'", "'name': '', 'label'", EI,
      "stages[1].name: must not be empty"),
    F("stage name too long", 'D', "'name': 'qualified', 'label'", "'name': '<129>', 'label'", EI,
      "stages[1].name: longer than 128 bytes"),
    F("pipeline name empty", 'M', "name", "'name': ''", EI, "name: must not be empty"),
    F("pipeline name too long", 'M', "name", "'name': '<129>'", EI, "name: longer than 128 bytes"),
    F("role empty", 'D', "'roles': ['manager', 'rep', 'assistant', 'support']", "'roles': ['manager', 'rep', '', 'support']",
      EI, "roles[2]: must not be empty"),
    F("role too long", 'D', "'roles': ['manager', 'rep', 'assistant', 'support']",
      "'roles': ['manager', 'rep', '<129>', 'support']", EI, "roles[2]: longer than 128 bytes"),
    F("event name empty", 'D', "{'name': 'quote', ", "{'name': '', ", EI, "events[1].name: must not be empty"),
    F("event name too long", 'D', "{'name': 'quote', ", "{'name': '<129>', ", EI, "events[1].name: longer than 128 bytes"),
    F("guard empty", 'D', "'guards': ['has_customer']", "'guards': ['']", EI, "events[0].guards[0]: must not be empty"),
    F("guard too long", 'D', "'guards': ['has_customer']", "'guards': ['has_customer', '<129>']", EI,
      "events[0].guards[1]: longer than 128 bytes"),
    F("migration from empty", 'C', "'from': 'delivered', ", "'from': '', ", EI, "migrations[0].from: must not be empty"),
    F("migration from too long", 'C', "'from': 'delivered', ", "'from': '<129>', ", EI,
      "migrations[0].from: longer than 128 bytes"),
    F("label too long", 'D', "'label': 'Quoted'", "'label': '<4097>'", EI, "stages[2].label: longer than 4096 bytes"),
    F("unknown to stage, too long to repeat", 'D', "'to': 'negotiating'", "'to': '<129>'", EI, "events[2].to: unknown stage"),

    /* empty tables */
    F("no stages", 'M', "stages", "'stages': []", EI, "stages: need 1 to 256 stages, got 0"),
    F("no roles", 'M', "roles", "'roles': []", EI, "roles: need 1 to 32 roles, got 0"),
    F("no events", 'M', "events", "'events': []", EI, "events: need 1 to 256 events, got 0"),

    /* format and format_version */
    F("another format", 'M', "format", "'format': 'salesfsm-opportunities'", EV,
      "format: 'salesfsm-opportunities' is not a salesfsm pipeline"),
    F("empty format", 'M', "format", "'format': ''", EV, "format: '' is not"),
    F("format_version 2", 'M', "format_version", "'format_version': 2", EV, "format_version: 2 is not supported"),
    F("format_version 0", 'M', "format_version", "'format_version': 0", EV, "format_version: 0 is not supported"),
    F("format_version -1", 'M', "format_version", "'format_version': -1", EV, "format_version:", "-1"),
    F("format_version 2^32", 'M', "format_version", "'format_version': 4294967296", EV, "format_version:",
      "4294967296"),
    F("format_version not integral", 'M', "format_version", "'format_version': 1.5", EP,
      "format_version: must be a whole number"),

    /* migrations */
    F("migration from this version", 'C', "{'from_version': 1, 'from': 'delivered'", "{'from_version': 2, 'from': 'delivered'",
      EI, "migrations[0].from_version: 2 is not an earlier version than 2"),
    F("migration from a later version", 'C', "{'from_version': 1, 'from': 'delivered'",
      "{'from_version': 3, 'from': 'delivered'", EI, "migrations[0].from_version: 3 is not an earlier version than 2"),
    F("migration from version 0", 'C', "{'from_version': 1, 'from': 'delivered'", "{'from_version': 0, 'from': 'delivered'",
      EI, "migrations[0].from_version: 0 is outside 1..4294967295"),
    F("migration on version 1", 'D', "'guards': []}\n  ]\n}",
      "'guards': []}\n  ],\n  'migrations': [{'from_version': 1, 'from': 'old', 'to': 'lead'}]\n}", EI,
      "migrations[0].from_version: 1 is not an earlier version than 1"),
    F("migration to an unknown stage", 'C', "'from': 'serviced', 'to': 'signed'", "'from': 'serviced', 'to': 'sigend'", EI,
      "migrations[1].to: unknown stage 'sigend'"),
    F("migration mapped twice", 'C', "'from': 'serviced', 'to': 'signed'", "'from': 'delivered', 'to': 'lost'", EI,
      "migrations[1]: stage 'delivered' of version 1 is already mapped by migrations[0]"),

    /* not an object at the top */
    F("array document", 'T', "[]", NULL, EP, "document: must be a JSON object"),
    F("null document", 'T', "null", NULL, EP, "document: must be a JSON object"),
    F("string document", 'T', "'salesfsm-pipeline'", NULL, EP, "document: must be a JSON object"),
    F("number document", 'T', "42", NULL, EP, "document: must be a JSON object"),
};

#define FAULT_COUNT (sizeof FAULTS / sizeof FAULTS[0])

static char *fault_document(const fault *f)
{
    char *doc;
    switch (f->mode) {
    case 'D':
        doc = default_json();
        break;
    case 'C':
        doc = custom_json();
        break;
    case 'M': {
        char *member = f->repl ? J(f->repl) : NULL;
        /* custom_json_with runs J on the whole document: give it the
         * member with ' quotes (J is idempotent on ") */
        doc = custom_json_with(f->find, member);
        free(member);
        return expand_long(doc);
    }
    case 'T':
        return expand_long(J(f->find));
    default:
        fail_msg("bad mode %c", f->mode);
        return NULL;
    }
    doc = edit_once(f->what, doc, f->find, f->repl);
    if (f->find2)
        doc = edit_once(f->what, doc, f->find2, f->repl2);
    return expand_long(doc);
}

static void run_fault(void **state)
{
    const fault *f = *state;
    char *doc = fault_document(f);
    expect_fault_len(f->what, doc, strlen(doc), f->code, f->needles);
    free(doc);
}

/* ---- malformed documents ---- */

/* The line of byte `at` (1-based), as the loader reports it. */
static size_t line_of(const char *doc, size_t at)
{
    size_t line = 1;
    for (size_t i = 0; i < at; i++)
        line += doc[i] == '\n';
    return line;
}

static void expect_malformed_at_line(const char *what, const char *doc, size_t line)
{
    char needle[64];
    snprintf(needle, sizeof needle, "malformed JSON at line %zu,", line);
    expect_fault(what, doc, strlen(doc), SFSM_EPARSE, "pipeline definition: ", needle, "column", "(byte ");
}

static void malformed_json(void **state)
{
    (void)state;
    char *doc = default_json();
    size_t len = strlen(doc);

    /* Truncated anywhere before the closing brace: never accepted. */
    size_t close = (size_t)(strrchr(doc, '}') - doc);
    for (size_t n = 0; n <= close; n++) {
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu bytes", n);
        expect_fault(what, doc, n, SFSM_EPARSE, "pipeline definition: malformed JSON at line ");
    }
    /* ...and the position is where the text ends. */
    char *cut = malloc(301);
    assert_non_null(cut);
    memcpy(cut, doc, 300);
    cut[300] = '\0';
    expect_malformed_at_line("truncated to 300 bytes", cut, line_of(cut, 299));
    free(cut);

    /* Trailing commas, reported on their line. */
    char *d = edit_once("trailing comma", xstrdup(doc), "'rep', 'assistant', 'support']", "'rep', 'assistant', 'support',]");
    expect_malformed_at_line("trailing comma in an array", d, 17);
    free(d);
    d = edit_once("trailing comma", xstrdup(doc), "'forecast': 'commit', 'final': false}",
                  "'forecast': 'commit', 'final': false,}");
    expect_malformed_at_line("trailing comma in an object", d, 11);
    free(d);
    d = edit_once("trailing comma", xstrdup(doc), "'guards': []}\n  ]\n}", "'guards': []}\n  ],\n}");
    expect_malformed_at_line("trailing comma after the last member", d, 29);
    free(d);
    d = edit_once("trailing comma", xstrdup(doc), "'has_reason']}", "'has_reason']},,");
    expect_malformed_at_line("two commas", d, 26);
    free(d);

    /* Text after the object. */
    char *after = malloc(2 * len + 2);
    assert_non_null(after);
    char needle[64];
    snprintf(needle, sizeof needle, "(byte %zu)", len);
    snprintf(after, 2 * len + 2, "%sx", doc);
    expect_fault("text after", after, strlen(after), SFSM_EPARSE, "pipeline definition: text after the JSON object",
                 needle);
    snprintf(after, 2 * len + 2, "%s%s", doc, doc);
    expect_fault("two objects", after, strlen(after), SFSM_EPARSE, "text after the JSON object", needle);
    snprintf(after, 2 * len + 2, "%s\f", doc);
    expect_fault("form feed after", after, strlen(after), SFSM_EPARSE, "text after the JSON object", needle);
    free(after);

    /* Other syntax errors. */
    static const char *const bad[] = {
        "",
        " \n\t ",
        "{",
        "}",
        "{'name' 'x'}",
        "{name: 'x'}",
        "{\x27name\x27: 'x'",
        "{'name': 'x' // a comment\n}",
        "{'name': 'x' /* a comment */}",
        "{'version': NaN}",
        "{'version': Infinity}",
        "{'version': 0x10}",
        "{'version': +1}",
        "{'version': .5}",
        "{'version': -}",
        "{'name': 'unterminated}",
        "{'name': 'bad escape \\x41'}",
        "{'name': 'lone surrogate \\ud800'}",
        "{'name': 'bad surrogate pair \\ud800\\u0041'}",
        "{'name': 'short escape \\u12'}",
        "{'name': true false}",
        "{'stages': [1 2]}",
        "[[[[[[[[[[[[[[[[[[[[",
        "{'a': tru}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *t = J(bad[i]);
        expect_fault(bad[i], t, strlen(t), SFSM_EPARSE, "pipeline definition: malformed JSON at line ");
        free(t);
    }
    /* Nesting far beyond cJSON's limit is refused, not a stack overflow. */
    size_t deep = 100000;
    char *nest = malloc(deep * 2 + 64);
    assert_non_null(nest);
    strcpy(nest, "{\"name\": ");
    size_t at = strlen(nest);
    memset(nest + at, '[', deep);
    memset(nest + at + deep, ']', deep);
    strcpy(nest + at + 2 * deep, "}");
    expect_fault("deep nesting", nest, strlen(nest), SFSM_EPARSE, "pipeline definition: malformed JSON");
    free(nest);
    free(doc);
}

/* Bytes that are not UTF-8, and NUL bytes, anywhere in the document. */
static void bad_bytes(void **state)
{
    (void)state;
    char *doc = default_json();
    static const char *const seqs[] = {
        "\xe9",             /* Latin-1 é */
        "\xc0\xae",         /* overlong '.' */
        "\xe0\x80\xaf",     /* overlong '/' */
        "\xed\xa0\x80",     /* UTF-16 surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf8\x88\x80\x80\x80",
        "\x80",             /* lone continuation byte */
        "\xe6\x88",         /* truncated sequence */
        "\xff",
    };
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        char repl[32];
        snprintf(repl, sizeof repl, "'L%sad'", seqs[i]);
        char *d = edit_once("not UTF-8", xstrdup(doc), "'Lead'", repl);
        expect_fault("not UTF-8 in a label", d, strlen(d), SFSM_EPARSE, "pipeline definition: ", "UTF-8");
        free(d);
    }
    /* A truncated sequence at the very end of the input. */
    size_t len = strlen(doc);
    char *d = malloc(len + 2);
    assert_non_null(d);
    memcpy(d, doc, len);
    d[len] = '\xe6';
    expect_fault("not UTF-8 at the end", d, len + 1, SFSM_EPARSE, "UTF-8");
    free(d);

    /* NUL bytes: inside a string, between tokens, after the object. */
    size_t where[3] = { (size_t)(strstr(doc, "Lead") - doc) + 1, (size_t)(strstr(doc, "\"roles\"") - doc) - 1, len };
    for (size_t i = 0; i < 3; i++) {
        char *n = malloc(len + 1);
        assert_non_null(n);
        memcpy(n, doc, len);
        if (where[i] < len)
            n[where[i]] = '\0';
        else
            n[len] = '\0';
        expect_fault_len("embedded NUL", n, where[i] < len ? len : len + 1, SFSM_EPARSE,
                         (const char *const[]){ "pipeline definition", NULL });
        free(n);
    }
    free(doc);
}

/* The message of a byte-level fault says where the fault is, as the
 * malformed-JSON messages do ("(byte N)"), and does not call a NUL byte
 * invalid UTF-8 (it is valid UTF-8; it is just not allowed here). */
static void bad_bytes_are_located(void **state)
{
    (void)state;
    char *doc = default_json();
    size_t at = (size_t)(strstr(doc, "Lead") - doc) + 1, len = strlen(doc);
    char needle[32];
    snprintf(needle, sizeof needle, "byte %zu", at);

    char *d = xstrdup(doc);
    d[at] = '\xe9';
    expect_fault("not UTF-8, located", d, len, SFSM_EPARSE, "UTF-8", needle);
    d[at] = '\0';
    expect_fault("NUL, located", d, len, SFSM_EPARSE, needle);
    if (strstr(sfsm_errmsg(), "not valid UTF-8"))
        fail_msg("a NUL byte is valid UTF-8, but the message says \"%s\"", sfsm_errmsg());
    free(d);
    free(doc);
}

/* A raw control character inside a string is not JSON (it must be
 * escaped); the message names where it is. */
static void raw_control_characters(void **state)
{
    (void)state;
    char *doc = default_json();
    size_t at = (size_t)(strstr(doc, "Quoted") - doc) + 3;
    char needle[32];
    snprintf(needle, sizeof needle, "byte %zu", at);
    static const char ctl[] = { '\t', '\n', '\x01', '\x1f' };
    for (size_t i = 0; i < sizeof ctl; i++) {
        char *d = xstrdup(doc);
        d[at] = ctl[i];
        char what[64];
        snprintf(what, sizeof what, "raw control character 0x%02x in a label", (unsigned)ctl[i]);
        expect_fault(what, d, strlen(d), SFSM_EPARSE, needle);
        free(d);
    }
    free(doc);
}

/* A \u0000 escape decodes to a NUL that would silently cut the name short
 * (C strings): "open\u0000y" would then match stage "open". Names with
 * U+0000 must be refused, naming the member. */
static void nul_escapes_refused(void **state)
{
    (void)state;
    static const struct {
        const char *what, *doc, *path;
    } cases[] = {
        { "U+0000 in a from stage",
          "{'name': 'tiny', 'version': 1, 'initial': 'open', 'stages': [{'name': 'open', 'probability': 50, 'outcome': 'open'}, "
          "{'name': 'won', 'probability': 100, 'outcome': 'won'}], 'roles': ['rep'], "
          "'events': [{'name': 'win', 'from': ['open\\u0000y'], 'to': 'won', 'roles': ['rep']}]}",
          "events[0].from[0]" },
        { "U+0000 in a stage name",
          "{'name': 'tiny', 'version': 1, 'initial': 'open', 'stages': [{'name': 'open\\u0000x', 'probability': 50, 'outcome': 'open'}, "
          "{'name': 'won', 'probability': 100, 'outcome': 'won'}], 'roles': ['rep'], "
          "'events': [{'name': 'win', 'from': ['open'], 'to': 'won', 'roles': ['rep']}]}",
          "stages[0].name" },
        { "U+0000 in the pipeline name",
          "{'name': 'ti\\u0000ny', 'version': 1, 'initial': 'open', 'stages': [{'name': 'open', 'probability': 50, 'outcome': 'open'}, "
          "{'name': 'won', 'probability': 100, 'outcome': 'won'}], 'roles': ['rep'], "
          "'events': [{'name': 'win', 'from': ['open'], 'to': 'won', 'roles': ['rep']}]}",
          "name" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *doc = J(cases[i].doc);
        sfsm_pipeline *p = SENTINEL;
        int rc = sfsm_pipeline_from_json(&p, doc, strlen(doc));
        if (rc == SFSM_OK) {
            char *out = to_json(p, NULL);
            sfsm_pipeline_free(p);
            fail_msg("%s: accepted, and loaded as:\n%s", cases[i].what, out);
        }
        assert_null(p);
        if (rc != SFSM_EINVAL && rc != SFSM_EPARSE)
            fail_msg("%s: %s", cases[i].what, sfsm_strerror(rc));
        if (!strstr(sfsm_errmsg(), cases[i].path))
            fail_msg("%s: \"%s\" does not name %s", cases[i].what, sfsm_errmsg(), cases[i].path);
        free(doc);
    }
}

/* ---- oversize tables and documents ---- */

static void expect_generated_fault(const char *what, const gen *g, const char *needle)
{
    char *doc = generate(g);
    expect_fault(what, doc, strlen(doc), SFSM_EINVAL, needle);
    free(doc);
}

static void oversize(void **state)
{
    (void)state;
    gen g = GEN_BASE;
    g.stages = 257;
    g.events = 256;
    expect_generated_fault("257 stages", &g, "stages: 257 entries, at most 256 allowed");

    g = GEN_BASE;
    g.events = 257;
    expect_generated_fault("257 events", &g, "events: 257 entries, at most 256 allowed");

    g = GEN_BASE;
    g.roles = 33;
    expect_generated_fault("33 roles", &g, "roles: 33 entries, at most 32 allowed");

    g = GEN_BASE;
    g.roles = 32;
    g.event_roles = 33;
    expect_generated_fault("33 roles on an event", &g, "events[0].roles: 33 entries, at most 32 allowed");

    g = GEN_BASE;
    g.guards = 17;
    expect_generated_fault("17 guards", &g, "events[0].guards: 17 entries, at most 16 allowed");

    g = GEN_BASE;
    g.stages = 256;
    g.events = 255;
    g.from = 257;
    expect_generated_fault("from 257 stages", &g, "events[0].from: 257 entries, at most 256 allowed");

    g = GEN_BASE;
    g.migrations = 4097;
    expect_generated_fault("4097 migrations", &g, "migrations: 4097 entries, at most 4096 allowed");

    /* A document over 4 MiB, however valid, is not even parsed. */
    size_t max = (size_t)4 << 20;
    char *base = default_json(), *big = malloc(max + 1);
    assert_non_null(big);
    memset(big, ' ', max + 1);
    memcpy(big, base, strlen(base));
    expect_fault("4 MiB + 1", big, max + 1, SFSM_EINVAL, "pipeline definition of 4194305 bytes", "4194304");
    free(big);
    free(base);
}

/* ---- arguments ---- */

static void null_arguments(void **state)
{
    (void)state;
    char *doc = default_json();
    size_t len = strlen(doc);

    assert_int_equal(sfsm_pipeline_from_json(NULL, doc, len), SFSM_EINVAL);
    assert_msg_has("sfsm_pipeline_from_json: out is NULL");
    sfsm_pipeline *p = SENTINEL;
    assert_int_equal(sfsm_pipeline_from_json(&p, NULL, len), SFSM_EINVAL);
    assert_null(p);
    assert_msg_has("sfsm_pipeline_from_json: json is NULL");
    p = SENTINEL;
    assert_int_equal(sfsm_pipeline_from_json(&p, NULL, 0), SFSM_EINVAL);
    assert_null(p);
    p = SENTINEL;
    assert_int_equal(sfsm_pipeline_from_json(&p, doc, 0), SFSM_EPARSE);   /* empty */
    assert_null(p);

    p = load_ok("default", doc);
    char *s = (char *)doc;
    size_t n = 12345;
    assert_int_equal(sfsm_pipeline_to_json(NULL, &s, &n), SFSM_EINVAL);
    assert_null(s);
    assert_msg_has("sfsm_pipeline_to_json: pipeline is NULL");
    assert_int_equal(sfsm_pipeline_to_json(p, NULL, &n), SFSM_EINVAL);
    assert_msg_has("sfsm_pipeline_to_json: out is NULL");
    assert_int_equal(sfsm_pipeline_to_json(p, &s, NULL), SFSM_OK);   /* len may be NULL */
    assert_string_equal(s, doc);
    sfsm_free(s);

    /* Accessors on NULL or out of range: 0, NULL, the documented defaults. */
    assert_null(sfsm_pipeline_name(NULL));
    assert_int_equal(sfsm_pipeline_version(NULL), 0);
    assert_int_equal(sfsm_pipeline_stage_count(NULL), 0);
    assert_int_equal(sfsm_pipeline_event_count(NULL), 0);
    assert_int_equal(sfsm_pipeline_role_count(NULL), 0);
    assert_null(sfsm_pipeline_stage_name(NULL, 0));
    assert_null(sfsm_pipeline_stage_label(p, 8));
    assert_int_equal(sfsm_pipeline_stage_probability(p, 8), 0);
    assert_int_equal(sfsm_pipeline_stage_stale_days(p, 8), 0);
    assert_int_equal(sfsm_pipeline_stage_outcome(p, 8), SFSM_OUTCOME_OPEN);
    assert_int_equal(sfsm_pipeline_stage_forecast(p, 8), SFSM_FORECAST_PIPELINE);
    assert_int_equal(sfsm_pipeline_stage_forecast(NULL, 0), SFSM_FORECAST_PIPELINE);
    assert_int_equal(sfsm_pipeline_stage_is_final(p, 8), 0);
    assert_null(sfsm_pipeline_event_name(p, 9));
    assert_int_equal(sfsm_pipeline_event_target(p, 9), (size_t)-1);
    assert_int_equal(sfsm_pipeline_event_allowed_from(p, 0, 8), 0);
    assert_int_equal(sfsm_pipeline_event_allows_role(p, 0, 4), 0);
    assert_int_equal(sfsm_pipeline_event_guard_count(p, 9), 0);
    assert_null(sfsm_pipeline_event_guard(p, 0, 1));
    assert_null(sfsm_pipeline_role_name(p, 4));
    size_t i;
    assert_int_equal(sfsm_pipeline_stage_index(NULL, "lead", &i), SFSM_EINVAL);
    assert_int_equal(sfsm_pipeline_stage_index(p, NULL, &i), SFSM_EINVAL);
    assert_int_equal(sfsm_pipeline_stage_index(p, "lead", NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_pipeline_stage_index(p, "leed", &i), SFSM_ENOTFOUND);
    assert_msg_has("'leed'");
    assert_int_equal(sfsm_pipeline_event_index(p, "sing", &i), SFSM_ENOTFOUND);
    assert_msg_has("'sing'");
    assert_int_equal(sfsm_pipeline_role_index(p, "boss", &i), SFSM_ENOTFOUND);
    assert_msg_has("'boss'");
    sfsm_pipeline_free(p);
    sfsm_pipeline_free(NULL);
    free(doc);
}

/* Every allocation the loader and the writer make can fail: the call
 * returns SFSM_ENOMEM, *out is NULL and nothing leaks. */
static void out_of_memory(void **state)
{
    (void)state;
    char *doc = custom_json();
    size_t len = strlen(doc);
    failalloc_install();
    long live = failalloc_live(), n, failures = 0;
    int rc = SFSM_OK, leaked = 0, out_set = 0;
    sfsm_pipeline *p = NULL;
    for (n = 1; n < 100000; n++) {
        failalloc_arm(n);
        p = SENTINEL;
        rc = sfsm_pipeline_from_json(&p, doc, len);
        if (!failalloc_failed())
            break;
        failures++;
        if (rc != SFSM_ENOMEM || p != NULL || failalloc_live() != live) {
            leaked = failalloc_live() != live;
            out_set = p != NULL;
            break;
        }
    }
    failalloc_arm(0);
    if (!failalloc_failed() && rc == SFSM_OK) {
        /* the writer */
        for (long k = 1; k < 100000; k++) {
            char *s = (char *)doc;
            long before = failalloc_live();
            failalloc_arm(k);
            int wrc = sfsm_pipeline_to_json(p, &s, NULL);
            int failed = failalloc_failed();
            failalloc_arm(0);
            if (!failed) {
                assert_int_equal(wrc, SFSM_OK);
                sfsm_free(s);
                break;
            }
            assert_int_equal(wrc, SFSM_ENOMEM);
            assert_null(s);
            assert_int_equal(failalloc_live(), before);
        }
        sfsm_pipeline_free(p);
    }
    long after = failalloc_live();
    failalloc_uninstall();
    free(doc);
    if (rc != SFSM_OK)
        fail_msg("allocation %ld failing: %s (%s), *out %s, %s", n, sfsm_strerror(rc), sfsm_errmsg(),
                 out_set ? "set" : "NULL", leaked ? "leaked" : "no leak");
    assert_true(failures > 20);   /* the loop really went through the loader */
    assert_int_equal(after, live);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(default_round_trip),
        cmocka_unit_test(input_shapes),
        cmocka_unit_test(custom_loads),
        cmocka_unit_test(custom_drives),
        cmocka_unit_test(unregistered_guard),
        cmocka_unit_test(migrations),
        cmocka_unit_test(migrations_move_opportunities),
        cmocka_unit_test(minimal_defaults),
        cmocka_unit_test(unicode_and_escapes),
        cmocka_unit_test(limits_accepted),
        cmocka_unit_test(malformed_json),
        cmocka_unit_test(bad_bytes),
        cmocka_unit_test(bad_bytes_are_located),
        cmocka_unit_test(nul_escapes_refused),
        cmocka_unit_test(raw_control_characters),
        cmocka_unit_test(oversize),
        cmocka_unit_test(null_arguments),
        cmocka_unit_test(out_of_memory),
    };
    size_t nf = sizeof fixed / sizeof fixed[0], total = nf + FAULT_COUNT;
    struct CMUnitTest *all = calloc(total, sizeof *all);
    assert_non_null(all);
    memcpy(all, fixed, sizeof fixed);
    /* One test per validation fault, named after it. */
    for (size_t i = 0; i < FAULT_COUNT; i++) {
        all[nf + i].name = FAULTS[i].what;
        all[nf + i].test_func = run_fault;
        all[nf + i].initial_state = (void *)&FAULTS[i];
    }
    int failed = _cmocka_run_group_tests("pipeline_json", all, total, NULL, NULL);
    free(all);
    return failed;
}
