/* Transitions of the default pipeline, checked against the table in
 * DESIGN.md §1 (written out below, not read from the library): every
 * (stage, event) pair, every (role, event) pair, the built-in guards,
 * application guards, name resolution, available events, the reopen path and
 * the pipeline accessors. */
#include "testutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* ---- the specification, from DESIGN.md §1 ---- */

enum { R_MANAGER = 1, R_REP = 2, R_ASSISTANT = 4, R_SUPPORT = 8 };

typedef struct stage_spec {
    const char *name;
    int probability;
    int stale_days;
    sfsm_outcome outcome;
    int final;
    const char *path[8]; /* events from the initial stage, NULL-terminated */
} stage_spec;

static const stage_spec STAGES[] = {
    { "lead", 10, 14, SFSM_OUTCOME_OPEN, 0, { NULL } },
    { "qualified", 25, 14, SFSM_OUTCOME_OPEN, 0, { "qualify", NULL } },
    { "quoted", 50, 10, SFSM_OUTCOME_OPEN, 0, { "qualify", "quote", NULL } },
    { "negotiating", 75, 21, SFSM_OUTCOME_OPEN, 0, { "qualify", "quote", "negotiate", NULL } },
    { "signed", 100, 30, SFSM_OUTCOME_WON, 0, { "qualify", "quote", "negotiate", "sign", NULL } },
    { "delivered", 100, 60, SFSM_OUTCOME_WON, 0,
      { "qualify", "quote", "negotiate", "sign", "deliver", NULL } },
    { "serviced", 100, 0, SFSM_OUTCOME_WON, 1,
      { "qualify", "quote", "negotiate", "sign", "deliver", "service", NULL } },
    { "lost", 0, 0, SFSM_OUTCOME_LOST, 0, { "lose", NULL } },
};
#define NSTAGES (sizeof STAGES / sizeof STAGES[0])

typedef struct event_spec {
    const char *name;
    const char *from[5]; /* NULL-terminated */
    const char *to;
    unsigned roles;
    const char *guard; /* NULL: none */
} event_spec;

static const event_spec EVENTS[] = {
    { "qualify", { "lead", NULL }, "qualified", R_REP | R_MANAGER, "has_customer" },
    { "quote", { "qualified", NULL }, "quoted", R_REP | R_MANAGER, "has_amount" },
    { "negotiate", { "quoted", NULL }, "negotiating", R_REP | R_MANAGER, NULL },
    { "requote", { "negotiating", NULL }, "quoted", R_REP | R_MANAGER, "has_amount" },
    { "sign", { "negotiating", NULL }, "signed", R_REP | R_MANAGER, "has_amount" },
    { "deliver", { "signed", NULL }, "delivered", R_ASSISTANT | R_REP | R_MANAGER, NULL },
    { "service", { "delivered", NULL }, "serviced", R_SUPPORT | R_ASSISTANT | R_MANAGER, NULL },
    { "lose", { "lead", "qualified", "quoted", "negotiating", NULL }, "lost", R_REP | R_MANAGER,
      "has_reason" },
    { "reopen", { "lost", NULL }, "lead", R_MANAGER, NULL },
};
#define NEVENTS (sizeof EVENTS / sizeof EVENTS[0])

/* Actors whose names do not contain their role, so that a message naming
 * the role cannot pass by naming the actor. */
static const sfsm_actor ZHANG = { "Zhang Wei", "manager" };
static const sfsm_actor LI = { "Li Na", "rep" };
static const sfsm_actor WANG = { "Wang Fang", "assistant" };
static const sfsm_actor CHEN = { "Chen Jie", "support" };

static const struct {
    const sfsm_actor *actor;
    unsigned bit;
} ROLES[] = {
    { &ZHANG, R_MANAGER },
    { &LI, R_REP },
    { &WANG, R_ASSISTANT },
    { &CHEN, R_SUPPORT },
};
#define NROLES (sizeof ROLES / sizeof ROLES[0])

static int event_allowed_from(const event_spec *ev, const char *stage)
{
    for (size_t i = 0; ev->from[i]; i++)
        if (strcmp(ev->from[i], stage) == 0)
            return 1;
    return 0;
}

/* ---- checking helpers ---- */

static char ctx[256]; /* what the current loop iteration is checking */
#define CTX(...) snprintf(ctx, sizeof ctx, __VA_ARGS__)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail_msg("%s:%d: CHECK(%s) failed [%s]", __FILE__, __LINE__, #cond, ctx);              \
    } while (0)

#define CHECK_RC(call, want)                                                                       \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        int want_ = (want);                                                                        \
        if (rc_ != want_)                                                                          \
            fail_msg("%s:%d: %s returned %d (%s), want %d (%s) [%s] errmsg: %s", __FILE__,        \
                     __LINE__, #call, rc_, sfsm_strerror(rc_), want_, sfsm_strerror(want_), ctx,  \
                     sfsm_errmsg());                                                               \
    } while (0)

#define CHECK_STR(got, want)                                                                       \
    do {                                                                                           \
        const char *g_ = (got);                                                                    \
        const char *w_ = (want);                                                                   \
        if (!(g_ == NULL ? w_ == NULL : (w_ != NULL && strcmp(g_, w_) == 0)))                      \
            fail_msg("%s:%d: %s is \"%s\", want \"%s\" [%s]", __FILE__, __LINE__, #got,            \
                     g_ ? g_ : "(NULL)", w_ ? w_ : "(NULL)", ctx);                                 \
    } while (0)

static int is_word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Non-zero if `word` occurs in msg as a whole word (not inside "quoted"
 * when looking for "quote"). */
static int names(const char *msg, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = msg; (p = strstr(p, word)) != NULL; p++) {
        if ((p == msg || !is_word_char(p[-1])) && !is_word_char(p[n]))
            return 1;
    }
    return 0;
}

#define CHECK_NAMES(msg, word)                                                                     \
    do {                                                                                           \
        if (!names((msg), (word)))                                                                 \
            fail_msg("%s:%d: message \"%s\" does not name '%s' [%s]", __FILE__, __LINE__, (msg),   \
                     (word), ctx);                                                                 \
    } while (0)

static const char *or_mark(const char *s)
{
    return s ? s : NULL_MARK;
}

/* Compares a copied string with an expected one (NULL: absent). */
#define CHECK_COPY(buf, want) CHECK_STR((buf), or_mark(want))

static void check_unchanged(fixture *f, const sfsm_opp *o, const snapshot *before)
{
    snapshot now;
    snapshot_take(f->engine, o, &now);
    const char *d = snapshot_diff(before, &now);
    if (d)
        fail_msg("%s:%d: %s changed [%s]", __FILE__, __LINE__, d, ctx);
}

/* Creates opportunity `id` with customer, owner and amount and walks it to
 * STAGES[stage] as a manager, one clock day per step. */
static sfsm_opp *opp_at(fixture *f, const char *id, size_t stage)
{
    sfsm_opp *o = NULL;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = id;
    opts.customer = "Acme Ltd";
    opts.owner = "ravi";
    opts.title = "200 pumps";
    opts.amount = 1200000;
    opts.currency = "CNY";
    CHECK_RC(sfsm_opp_create_ext(f->engine, &opts, &o), SFSM_OK);
    for (size_t i = 0; STAGES[stage].path[i]; i++) {
        const char *ev = STAGES[stage].path[i];
        f->now += DAY_MS;
        CHECK_RC(sfsm_fire(f->engine, o, ev, &MANAGER,
                           strcmp(ev, "lose") == 0 ? "price too high" : NULL),
                 SFSM_OK);
    }
    CHECK_STR(sfsm_opp_stage(o), STAGES[stage].name);
    return o;
}

static size_t stage_by_name(const char *name)
{
    for (size_t i = 0; i < NSTAGES; i++)
        if (strcmp(STAGES[i].name, name) == 0)
            return i;
    fail_msg("no stage %s in the test table", name);
    return 0;
}

/* Fires and keeps a copy of sfsm_errmsg() taken right after the call. */
static int fire_msg(fixture *f, sfsm_opp *o, const char *ev, const sfsm_actor *a, const char *note,
                    char *msg, size_t size)
{
    int rc = sfsm_fire(f->engine, o, ev, a, note);
    snprintf(msg, size, "%s", sfsm_errmsg());
    return rc;
}

/* ---- every (stage, event) pair ---- */

static void test_allowed_pairs(void **state)
{
    fixture *f = *state;
    int n = 0;
    for (size_t s = 0; s < NSTAGES; s++) {
        for (size_t e = 0; e < NEVENTS; e++) {
            const event_spec *ev = &EVENTS[e];
            if (!event_allowed_from(ev, STAGES[s].name))
                continue;
            char id[64], note[64];
            snprintf(id, sizeof id, "ok-%s-%s", STAGES[s].name, ev->name);
            snprintf(note, sizeof note, "note for %s from %s", ev->name, STAGES[s].name);
            CTX("fire %s from %s", ev->name, STAGES[s].name);
            sfsm_opp *o = opp_at(f, id, s);
            uint64_t v = sfsm_opp_version(o);
            int64_t created = sfsm_opp_created(o);
            size_t hist = history_count(f->engine, id);
            f->now += 3 * DAY_MS + 17;
            CHECK_RC(sfsm_fire(f->engine, o, ev->name, &MANAGER, note), SFSM_OK);
            CHECK_STR(sfsm_opp_stage(o), ev->to);
            CHECK(sfsm_opp_stage_index(o) == stage_by_name(ev->to));
            CHECK(sfsm_opp_version(o) == v + 1);
            CHECK(sfsm_opp_stage_entered(o) == f->now);
            CHECK(sfsm_opp_updated(o) == f->now);
            CHECK(sfsm_opp_created(o) == created);
            CHECK(sfsm_opp_unsaved(o) == 0);
            CHECK(sfsm_opp_amount(o) == 1200000);
            CHECK_STR(sfsm_opp_customer(o), "Acme Ltd");

            last_entry l;
            read_last(f, id, &l);
            CHECK(l.count == hist + 1);
            CHECK(l.kind == SFSM_HISTORY_TRANSITION);
            CHECK(l.version == v + 1);
            CHECK(l.at_ms == f->now);
            CHECK_COPY(l.event, ev->name);
            CHECK_COPY(l.from, STAGES[s].name);
            CHECK_COPY(l.to, ev->to);
            CHECK_COPY(l.actor, MANAGER.name);
            CHECK_COPY(l.role, "manager");
            CHECK_COPY(l.note, note);
            CHECK(l.fields == 0);

            /* The store has it too. */
            sfsm_opp *r = NULL;
            CHECK_RC(sfsm_opp_open(f->engine, id, &r), SFSM_OK);
            CHECK_STR(sfsm_opp_stage(r), ev->to);
            CHECK(sfsm_opp_version(r) == v + 1);
            CHECK(sfsm_opp_stage_entered(r) == f->now);
            CHECK(sfsm_opp_updated(r) == f->now);
            sfsm_opp_free(r);
            sfsm_opp_free(o);
            n++;
        }
    }
    assert_int_equal(n, 12); /* 8 single-source events + lose from 4 stages */
}

static void test_disallowed_pairs(void **state)
{
    fixture *f = *state;
    int n = 0;
    for (size_t s = 0; s < NSTAGES; s++) {
        char id[64];
        snprintf(id, sizeof id, "no-%s", STAGES[s].name);
        CTX("walk to %s", STAGES[s].name);
        sfsm_opp *o = opp_at(f, id, s);
        /* An unsaved change must survive each refusal too. */
        CHECK_RC(sfsm_opp_set_title(o, "unsaved title"), SFSM_OK);
        for (size_t e = 0; e < NEVENTS; e++) {
            const event_spec *ev = &EVENTS[e];
            if (event_allowed_from(ev, STAGES[s].name))
                continue;
            CTX("fire %s from %s", ev->name, STAGES[s].name);
            snapshot before;
            snapshot_take(f->engine, o, &before);
            f->now += DAY_MS;
            char msg[1024];
            CHECK_RC(fire_msg(f, o, ev->name, &MANAGER, "some reason", msg, sizeof msg),
                     SFSM_ETRANSITION);
            CHECK(sfsm_errcode() == SFSM_ETRANSITION);
            CHECK_NAMES(msg, ev->name);
            CHECK_NAMES(msg, STAGES[s].name);
            check_unchanged(f, o, &before);
            CHECK_STR(sfsm_opp_title(o), "unsaved title");
            CHECK(sfsm_opp_unsaved(o) == SFSM_FIELD_TITLE);
            n++;
        }
        sfsm_opp_free(o);
    }
    assert_int_equal(n, 8 * 9 - 12);
}

/* The first refusal in the order of engine.h wins. */
static void test_check_order(void **state)
{
    fixture *f = *state;
    char msg[1024];
    sfsm_opp *o = NULL;
    CTX("check order");
    assert_int_equal(sfsm_opp_create(f->engine, "bare", &o), SFSM_OK); /* no customer */
    snapshot before;
    snapshot_take(f->engine, o, &before);

    /* Names first: unknown role beats a disallowed event. */
    const sfsm_actor ceo = { "Boss", "ceo" };
    CHECK_RC(fire_msg(f, o, "sign", &ceo, NULL, msg, sizeof msg), SFSM_ENOTFOUND);
    CHECK_NAMES(msg, "ceo");
    /* Stage before role: support may not sign, but sign from lead is the
     * first refusal. */
    CHECK_RC(fire_msg(f, o, "sign", &SUPPORT, NULL, msg, sizeof msg), SFSM_ETRANSITION);
    /* Role before guard: qualify without customer by an assistant. */
    CHECK_RC(fire_msg(f, o, "qualify", &ASSISTANT, NULL, msg, sizeof msg), SFSM_EPERM);
    CHECK_NAMES(msg, "assistant");
    /* Guard when the role is fine. */
    CHECK_RC(fire_msg(f, o, "qualify", &REP, NULL, msg, sizeof msg), SFSM_EGUARD);
    check_unchanged(f, o, &before);
    sfsm_opp_free(o);
}

/* ---- every (role, event) pair ---- */

static void test_roles(void **state)
{
    fixture *f = *state;
    int n_ok = 0, n_perm = 0;
    for (size_t e = 0; e < NEVENTS; e++) {
        const event_spec *ev = &EVENTS[e];
        for (size_t fi = 0; ev->from[fi]; fi++) {
            size_t s = stage_by_name(ev->from[fi]);
            for (size_t r = 0; r < NROLES; r++) {
                const sfsm_actor *a = ROLES[r].actor;
                char id[96], msg[1024];
                snprintf(id, sizeof id, "role-%s-%s-%s", ev->name, ev->from[fi], a->role);
                CTX("%s fires %s from %s", a->role, ev->name, ev->from[fi]);
                sfsm_opp *o = opp_at(f, id, s);
                f->now += DAY_MS;
                if (ROLES[r].bit & ev->roles) {
                    uint64_t v = sfsm_opp_version(o);
                    CHECK_RC(fire_msg(f, o, ev->name, a, "lost to a competitor", msg, sizeof msg),
                             SFSM_OK);
                    CHECK_STR(sfsm_opp_stage(o), ev->to);
                    CHECK(sfsm_opp_version(o) == v + 1);
                    last_entry l;
                    read_last(f, id, &l);
                    CHECK_COPY(l.actor, a->name);
                    CHECK_COPY(l.role, a->role);
                    n_ok++;
                } else {
                    CHECK_RC(sfsm_opp_set_owner(o, "unsaved owner"), SFSM_OK);
                    snapshot before;
                    snapshot_take(f->engine, o, &before);
                    CHECK_RC(fire_msg(f, o, ev->name, a, "lost to a competitor", msg, sizeof msg),
                             SFSM_EPERM);
                    CHECK(sfsm_errcode() == SFSM_EPERM);
                    CHECK_NAMES(msg, a->role);
                    CHECK_NAMES(msg, ev->name);
                    check_unchanged(f, o, &before);
                    CHECK(sfsm_opp_unsaved(o) == SFSM_FIELD_OWNER);
                    n_perm++;
                }
                sfsm_opp_free(o);
            }
        }
    }
    /* 12 (event, from) pairs x 4 roles; allowed: qualify..sign 2 each (5
     * events), deliver 3, service 3, lose 2 x 4 stages, reopen 1. */
    assert_int_equal(n_ok, 10 + 3 + 3 + 8 + 1);
    assert_int_equal(n_ok + n_perm, 48);
}

/* ---- built-in guards ---- */

static void test_guard_has_customer(void **state)
{
    fixture *f = *state;
    char msg[1024];
    sfsm_opp *o = NULL;
    CTX("has_customer");
    assert_int_equal(sfsm_opp_create(f->engine, "nocust", &o), SFSM_OK);
    assert_null(sfsm_opp_customer(o));
    snapshot before;
    snapshot_take(f->engine, o, &before);
    f->now += DAY_MS;
    CHECK_RC(fire_msg(f, o, "qualify", &MANAGER, NULL, msg, sizeof msg), SFSM_EGUARD);
    assert_int_equal(sfsm_errcode(), SFSM_EGUARD);
    assert_true(msg[0] != '\0');
    check_unchanged(f, o, &before);

    /* A customer set on the handle is seen by the guard and committed. */
    assert_int_equal(sfsm_opp_set_customer(o, "Globex"), SFSM_OK);
    CHECK_RC(sfsm_fire(f->engine, o, "qualify", &MANAGER, NULL), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "qualified");
    assert_int_equal(sfsm_opp_version(o), before.version + 1);
    assert_int_equal(sfsm_opp_unsaved(o), 0);
    last_entry l;
    read_last(f, "nocust", &l);
    assert_int_equal(l.count, before.history + 1);
    assert_true(l.fields & SFSM_FIELD_CUSTOMER);
    sfsm_opp_free(o);

    /* A customer cleared on the handle (unsaved) fails the guard. */
    o = opp_at(f, "clearcust", 0);
    assert_int_equal(sfsm_opp_set_customer(o, NULL), SFSM_OK);
    assert_null(sfsm_opp_customer(o));
    snapshot_take(f->engine, o, &before);
    CHECK_RC(sfsm_fire(f->engine, o, "qualify", &REP, NULL), SFSM_EGUARD);
    check_unchanged(f, o, &before);
    assert_int_equal(sfsm_opp_unsaved(o), SFSM_FIELD_CUSTOMER);
    sfsm_opp_free(o);
}

static void test_guard_has_amount_quote(void **state)
{
    fixture *f = *state;
    char msg[1024];
    sfsm_opp *o = NULL;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "noamount";
    opts.customer = "Acme Ltd";
    CTX("has_amount quote");
    assert_int_equal(sfsm_opp_create_ext(f->engine, &opts, &o), SFSM_OK);
    CHECK_RC(sfsm_fire(f->engine, o, "qualify", &MANAGER, NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_amount(o), 0);
    assert_null(sfsm_opp_currency(o));

    /* No amount at all. */
    snapshot before;
    snapshot_take(f->engine, o, &before);
    f->now += DAY_MS;
    CHECK_RC(fire_msg(f, o, "quote", &MANAGER, NULL, msg, sizeof msg), SFSM_EGUARD);
    assert_true(msg[0] != '\0');
    check_unchanged(f, o, &before);

    /* Amount 0 with a currency, unsaved. */
    assert_int_equal(sfsm_opp_set_amount(o, 0, "CNY"), SFSM_OK);
    snapshot_take(f->engine, o, &before);
    CHECK_RC(sfsm_fire(f->engine, o, "quote", &REP, NULL), SFSM_EGUARD);
    check_unchanged(f, o, &before);

    /* Amount 0 with a currency, stored. */
    assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);
    assert_int_equal(sfsm_opp_unsaved(o), 0);
    snapshot_take(f->engine, o, &before);
    CHECK_RC(sfsm_fire(f->engine, o, "quote", &MANAGER, NULL), SFSM_EGUARD);
    check_unchanged(f, o, &before);

    /* A positive amount passes. */
    assert_int_equal(sfsm_opp_set_amount(o, 1, "CNY"), SFSM_OK);
    CHECK_RC(sfsm_fire(f->engine, o, "quote", &MANAGER, NULL), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "quoted");
    sfsm_opp_free(o);
}

static int64_t fixture_clock2(void *ud)
{
    return ((fixture *)ud)->now;
}

static int pass_guard(const sfsm_transition *t, void *ud, char *why, size_t why_size)
{
    (void)t;
    (void)why;
    (void)why_size;
    if (ud)
        (*(int *)ud)++;
    return 0;
}

static void test_guard_has_amount_requote_sign(void **state)
{
    fixture *f = *state;
    char msg[1024];
    CTX("has_amount requote/sign");

    /* A second engine on the same store whose has_amount lets everything
     * through gets an opportunity without any amount to negotiating. */
    sfsm_engine *e2 = NULL;
    assert_int_equal(sfsm_engine_new(&e2, f->pipeline, f->store), SFSM_OK);
    assert_int_equal(sfsm_engine_set_clock(e2, fixture_clock2, f), SFSM_OK);
    assert_int_equal(sfsm_engine_register_guard(e2, "has_amount", pass_guard, NULL), SFSM_OK);
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "neg-noamount";
    opts.customer = "Acme Ltd";
    sfsm_opp *o2 = NULL;
    assert_int_equal(sfsm_opp_create_ext(e2, &opts, &o2), SFSM_OK);
    assert_int_equal(sfsm_fire(e2, o2, "qualify", &MANAGER, NULL), SFSM_OK);
    assert_int_equal(sfsm_fire(e2, o2, "quote", &MANAGER, NULL), SFSM_OK);
    assert_int_equal(sfsm_fire(e2, o2, "negotiate", &MANAGER, NULL), SFSM_OK);
    sfsm_opp_free(o2);
    sfsm_engine_free(e2);

    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_open(f->engine, "neg-noamount", &o), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "negotiating");
    assert_int_equal(sfsm_opp_amount(o), 0);
    snapshot before;
    snapshot_take(f->engine, o, &before);
    CHECK_RC(fire_msg(f, o, "requote", &MANAGER, NULL, msg, sizeof msg), SFSM_EGUARD);
    check_unchanged(f, o, &before);
    CHECK_RC(fire_msg(f, o, "sign", &REP, NULL, msg, sizeof msg), SFSM_EGUARD);
    check_unchanged(f, o, &before);
    sfsm_opp_free(o);

    /* Amount 0 (unsaved, then stored) on a deal that had an amount. */
    o = opp_at(f, "neg-zero", stage_by_name("negotiating"));
    assert_int_equal(sfsm_opp_set_amount(o, 0, "CNY"), SFSM_OK);
    snapshot_take(f->engine, o, &before);
    CHECK_RC(sfsm_fire(f->engine, o, "requote", &MANAGER, NULL), SFSM_EGUARD);
    check_unchanged(f, o, &before);
    CHECK_RC(sfsm_fire(f->engine, o, "sign", &MANAGER, NULL), SFSM_EGUARD);
    check_unchanged(f, o, &before);
    assert_int_equal(sfsm_opp_unsaved(o), SFSM_FIELD_AMOUNT);
    assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);
    snapshot_take(f->engine, o, &before);
    CHECK_RC(sfsm_fire(f->engine, o, "requote", &REP, NULL), SFSM_EGUARD);
    CHECK_RC(sfsm_fire(f->engine, o, "sign", &REP, NULL), SFSM_EGUARD);
    check_unchanged(f, o, &before);

    /* With an amount both pass. */
    assert_int_equal(sfsm_opp_set_amount(o, 990000, "CNY"), SFSM_OK);
    CHECK_RC(sfsm_fire(f->engine, o, "requote", &REP, NULL), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "quoted");
    CHECK_RC(sfsm_fire(f->engine, o, "negotiate", &REP, NULL), SFSM_OK);
    CHECK_RC(sfsm_fire(f->engine, o, "sign", &REP, NULL), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "signed");
    assert_int_equal(sfsm_opp_amount(o), 990000);
    sfsm_opp_free(o);
}

static void test_guard_has_reason(void **state)
{
    fixture *f = *state;
    CTX("has_reason");
    sfsm_opp *o = opp_at(f, "lose-me", stage_by_name("quoted"));
    snapshot before;
    snapshot_take(f->engine, o, &before);
    const char *bad[] = { NULL, "", "   ", " \t\n " };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CTX("has_reason with note %zu", i);
        f->now += DAY_MS;
        CHECK_RC(sfsm_fire(f->engine, o, "lose", &MANAGER, bad[i]), SFSM_EGUARD);
        CHECK_RC(sfsm_fire(f->engine, o, "lose", &REP, bad[i]), SFSM_EGUARD);
        check_unchanged(f, o, &before);
    }
    CTX("has_reason ok");
    CHECK_RC(sfsm_fire(f->engine, o, "lose", &REP, "budget cut"), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "lost");
    last_entry l;
    read_last(f, "lose-me", &l);
    assert_string_equal(l.note, "budget cut");
    assert_string_equal(l.event, "lose");
    assert_int_equal(l.count, before.history + 1);
    sfsm_opp_free(o);
}

/* ---- field changes committed with the fire ---- */

typedef struct seen {
    int calls;
    int64_t amount;
    char currency[16];
    char stage[64];
    uint64_t opp_version;
    uint64_t version;
    char event[64], from[64], to[64], actor[128], role[64], note[128], opp_id[64];
} seen;

static int recording_guard(const sfsm_transition *t, void *ud, char *why, size_t why_size)
{
    seen *s = ud;
    (void)why;
    (void)why_size;
    s->calls++;
    s->amount = sfsm_opp_amount(t->opp);
    copy_str(s->currency, sizeof s->currency, sfsm_opp_currency(t->opp));
    copy_str(s->stage, sizeof s->stage, sfsm_opp_stage(t->opp));
    s->opp_version = sfsm_opp_version(t->opp);
    s->version = t->version;
    copy_str(s->event, sizeof s->event, t->event);
    copy_str(s->from, sizeof s->from, t->from);
    copy_str(s->to, sizeof s->to, t->to);
    copy_str(s->actor, sizeof s->actor, t->actor ? t->actor->name : NULL);
    copy_str(s->role, sizeof s->role, t->actor ? t->actor->role : NULL);
    copy_str(s->note, sizeof s->note, t->note);
    copy_str(s->opp_id, sizeof s->opp_id, t->opp_id);
    return 0;
}

static sfsm_opp *qualified_without_amount(fixture *f, const char *id)
{
    sfsm_opp *o = NULL;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = id;
    opts.customer = "Acme Ltd";
    assert_int_equal(sfsm_opp_create_ext(f->engine, &opts, &o), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &MANAGER, NULL), SFSM_OK);
    return o;
}

static void test_amount_and_quote_one_step(void **state)
{
    fixture *f = *state;
    CTX("amount + quote");
    sfsm_opp *o = qualified_without_amount(f, "q1");
    uint64_t v = sfsm_opp_version(o);
    size_t hist = history_count(f->engine, "q1");
    assert_int_equal(sfsm_opp_set_amount(o, 250000, "CNY"), SFSM_OK);
    assert_true(sfsm_opp_unsaved(o) & SFSM_FIELD_AMOUNT);
    f->now += 5 * DAY_MS;
    /* Built-in has_amount passes only if it sees the unsaved amount. */
    CHECK_RC(sfsm_fire(f->engine, o, "quote", &REP, "first quote"), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "quoted");
    assert_int_equal(sfsm_opp_version(o), v + 1);
    assert_int_equal(sfsm_opp_amount(o), 250000);
    assert_string_equal(sfsm_opp_currency(o), "CNY");
    assert_int_equal(sfsm_opp_unsaved(o), 0);

    last_entry l;
    read_last(f, "q1", &l);
    assert_int_equal(l.count, hist + 1); /* one entry, not an update + a transition */
    assert_int_equal(l.kind, SFSM_HISTORY_TRANSITION);
    assert_int_equal(l.version, v + 1);
    assert_true(l.fields & SFSM_FIELD_AMOUNT);
    assert_false(l.fields & SFSM_FIELD_CUSTOMER);
    assert_non_null(strstr(l.changes, "amount"));
    assert_non_null(strstr(l.changes, "250000"));
    assert_non_null(strstr(l.changes, "CNY"));
    assert_string_equal(l.note, "first quote");

    sfsm_opp *r = NULL;
    assert_int_equal(sfsm_opp_open(f->engine, "q1", &r), SFSM_OK);
    assert_int_equal(sfsm_opp_version(r), v + 1);
    assert_int_equal(sfsm_opp_amount(r), 250000);
    assert_string_equal(sfsm_opp_currency(r), "CNY");
    assert_string_equal(sfsm_opp_stage(r), "quoted");
    sfsm_opp_free(r);
    sfsm_opp_free(o);
}

static void test_app_guard_sees_handle(void **state)
{
    fixture *f = *state;
    seen s;
    memset(&s, 0, sizeof s);
    assert_int_equal(sfsm_engine_register_guard(f->engine, "has_amount", recording_guard, &s),
                     SFSM_OK);
    sfsm_opp *o = qualified_without_amount(f, "q2");
    uint64_t v = sfsm_opp_version(o);
    assert_int_equal(sfsm_opp_set_amount(o, 777700, "USD"), SFSM_OK);
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, o, "quote", &REP, "quote v1"), SFSM_OK);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.amount, 777700);
    assert_string_equal(s.currency, "USD");
    assert_string_equal(s.stage, "qualified"); /* guards see the old stage */
    assert_int_equal(s.opp_version, v);
    assert_int_equal(s.version, v + 1);
    assert_string_equal(s.opp_id, "q2");
    assert_string_equal(s.event, "quote");
    assert_string_equal(s.from, "qualified");
    assert_string_equal(s.to, "quoted");
    assert_string_equal(s.actor, REP.name);
    assert_string_equal(s.role, "rep");
    assert_string_equal(s.note, "quote v1");
    /* Guards of other events are not called. */
    assert_int_equal(sfsm_fire(f->engine, o, "negotiate", &REP, NULL), SFSM_OK);
    assert_int_equal(s.calls, 1);
    assert_int_equal(sfsm_fire(f->engine, o, "sign", &REP, NULL), SFSM_OK);
    assert_int_equal(s.calls, 2);
    assert_string_equal(s.event, "sign");
    sfsm_opp_free(o);
}

/* Refuses without a note; records what it saw. */
static int note_guard(const sfsm_transition *t, void *ud, char *why, size_t why_size)
{
    recording_guard(t, ud, why, why_size);
    return t->note == NULL;
}

static const char FINANCE_WHY[] = "amount needs finance approval (limit 100000.00 CNY)";

static int finance_guard(const sfsm_transition *t, void *ud, char *why, size_t why_size)
{
    int *calls = ud;
    (*calls)++;
    if (sfsm_opp_amount(t->opp) > 10000000) {
        snprintf(why, why_size, "%s", FINANCE_WHY);
        return 1;
    }
    return 0;
}

static void test_app_guard_replaces_builtin(void **state)
{
    fixture *f = *state;
    int calls = 0;
    assert_int_equal(sfsm_engine_register_guard(f->engine, "has_amount", finance_guard, &calls),
                     SFSM_OK);

    /* The built-in is gone: no amount is fine now. */
    sfsm_opp *o = qualified_without_amount(f, "q3");
    assert_int_equal(sfsm_fire(f->engine, o, "quote", &MANAGER, NULL), SFSM_OK);
    assert_int_equal(calls, 1);
    assert_string_equal(sfsm_opp_stage(o), "quoted");
    sfsm_opp_free(o);

    /* The application's refusal, with its text as the message. */
    o = qualified_without_amount(f, "q4");
    assert_int_equal(sfsm_opp_set_amount(o, 20000000, "CNY"), SFSM_OK);
    snapshot before;
    CTX("finance guard");
    snapshot_take(f->engine, o, &before);
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, o, "quote", &MANAGER, NULL), SFSM_EGUARD);
    assert_string_equal(sfsm_errmsg(), FINANCE_WHY);
    assert_int_equal(sfsm_errcode(), SFSM_EGUARD);
    assert_int_equal(calls, 2);
    check_unchanged(f, o, &before);
    assert_int_equal(sfsm_opp_unsaved(o), SFSM_FIELD_AMOUNT);

    /* Registering again replaces the earlier application guard. */
    int calls2 = 0;
    assert_int_equal(sfsm_engine_register_guard(f->engine, "has_amount", pass_guard, &calls2),
                     SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, o, "quote", &MANAGER, NULL), SFSM_OK);
    assert_int_equal(calls, 2);
    assert_int_equal(calls2, 1);
    sfsm_opp_free(o);

    /* Other built-ins are untouched. */
    o = NULL;
    assert_int_equal(sfsm_opp_create(f->engine, "q5", &o), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &MANAGER, NULL), SFSM_EGUARD);
    sfsm_opp_free(o);
}

static void test_register_guard_errors(void **state)
{
    fixture *f = *state;
    int calls = 0;
    assert_int_equal(sfsm_engine_register_guard(f->engine, "has_budget", pass_guard, &calls),
                     SFSM_ENOTFOUND);
    assert_true(names(sfsm_errmsg(), "has_budget"));
    /* An event or stage name is not a guard name. */
    assert_int_equal(sfsm_engine_register_guard(f->engine, "qualify", pass_guard, &calls),
                     SFSM_ENOTFOUND);
    assert_int_equal(sfsm_engine_register_guard(f->engine, "has_customer", NULL, NULL),
                     SFSM_EINVAL);
    assert_int_equal(sfsm_engine_register_guard(f->engine, NULL, pass_guard, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_engine_register_guard(NULL, "has_customer", pass_guard, NULL),
                     SFSM_EINVAL);
    /* The failed registrations changed nothing: has_customer still refuses. */
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(f->engine, "g1", &o), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &MANAGER, NULL), SFSM_EGUARD);
    assert_int_equal(calls, 0);
    sfsm_opp_free(o);
}

/* ---- name resolution and arguments ---- */

static void test_unknown_names(void **state)
{
    fixture *f = *state;
    CTX("unknown names");
    sfsm_opp *o = opp_at(f, "names", 0);
    snapshot before;
    snapshot_take(f->engine, o, &before);
    char msg[1024];

    CHECK_RC(fire_msg(f, o, "teleport", &MANAGER, NULL, msg, sizeof msg), SFSM_ENOTFOUND);
    CHECK_NAMES(msg, "teleport");
    CHECK_RC(fire_msg(f, o, "Qualify", &MANAGER, NULL, msg, sizeof msg), SFSM_ENOTFOUND);
    CHECK_NAMES(msg, "Qualify");

    const sfsm_actor ceo = { "Boss", "ceo" };
    CHECK_RC(fire_msg(f, o, "qualify", &ceo, NULL, msg, sizeof msg), SFSM_ENOTFOUND);
    CHECK_NAMES(msg, "ceo");
    CHECK(sfsm_errcode() == SFSM_ENOTFOUND);
    check_unchanged(f, o, &before);

    /* Bad arguments. */
    const sfsm_actor noname = { NULL, "manager" };
    const sfsm_actor norole = { "Mei", NULL };
    CHECK_RC(sfsm_fire(f->engine, o, "qualify", NULL, NULL), SFSM_EINVAL);
    CHECK_RC(sfsm_fire(f->engine, o, "qualify", &noname, NULL), SFSM_EINVAL);
    CHECK_RC(sfsm_fire(f->engine, o, "qualify", &norole, NULL), SFSM_EINVAL);
    CHECK_RC(sfsm_fire(f->engine, o, NULL, &MANAGER, NULL), SFSM_EINVAL);
    CHECK_RC(sfsm_fire(f->engine, NULL, "qualify", &MANAGER, NULL), SFSM_EINVAL);
    CHECK_RC(sfsm_fire(NULL, o, "qualify", &MANAGER, NULL), SFSM_EINVAL);
    check_unchanged(f, o, &before);
    sfsm_opp_free(o);
}

static void test_fire_index(void **state)
{
    fixture *f = *state;
    CTX("fire_index");
    sfsm_opp *o = opp_at(f, "idx", 0);
    snapshot before;
    snapshot_take(f->engine, o, &before);
    size_t n = sfsm_pipeline_event_count(f->pipeline);
    assert_int_equal(n, NEVENTS);
    CHECK_RC(sfsm_fire_index(f->engine, o, n, &MANAGER, NULL), SFSM_EINVAL);
    CHECK_RC(sfsm_fire_index(f->engine, o, n + 1, &MANAGER, NULL), SFSM_EINVAL);
    CHECK_RC(sfsm_fire_index(f->engine, o, (size_t)-1, &MANAGER, NULL), SFSM_EINVAL);
    check_unchanged(f, o, &before);

    size_t qi = 0, si = 0;
    assert_int_equal(sfsm_pipeline_event_index(f->pipeline, "qualify", &qi), SFSM_OK);
    assert_int_equal(sfsm_pipeline_event_index(f->pipeline, "sign", &si), SFSM_OK);
    /* Same checks as by name. */
    CHECK_RC(sfsm_fire_index(f->engine, o, si, &MANAGER, NULL), SFSM_ETRANSITION);
    CHECK_RC(sfsm_fire_index(f->engine, o, qi, &SUPPORT, NULL), SFSM_EPERM);
    check_unchanged(f, o, &before);
    f->now += DAY_MS;
    CHECK_RC(sfsm_fire_index(f->engine, o, qi, &REP, "by index"), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "qualified");
    assert_int_equal(sfsm_opp_version(o), before.version + 1);
    last_entry l;
    read_last(f, "idx", &l);
    assert_string_equal(l.event, "qualify");
    assert_string_equal(l.note, "by index");
    sfsm_opp_free(o);
}

/* ---- available events ---- */

static void check_available(fixture *f, const sfsm_opp *o, const sfsm_actor *a,
                            const char *const *want)
{
    const char *got[16];
    size_t count = 999, nwant = 0;
    while (want[nwant])
        nwant++;
    for (size_t i = 0; i < 16; i++)
        got[i] = "sentinel";
    CHECK_RC(sfsm_engine_available_events(f->engine, o, a, got, 16, &count), SFSM_OK);
    if (count != nwant)
        fail_msg("[%s] %zu events available, want %zu (first: %s)", ctx, count, nwant,
                 count ? got[0] : "-");
    for (size_t i = 0; i < nwant; i++)
        CHECK_STR(got[i], want[i]);
    CHECK_STR(got[nwant], "sentinel");
}

static void test_available_events(void **state)
{
    fixture *f = *state;
    /* lose is offered: has_reason is not consulted (engine.h). */
    static const struct {
        const char *stage;
        const sfsm_actor *actor;
        const char *want[4];
    } cases[] = {
        { "lead", &MANAGER, { "qualify", "lose", NULL } },
        { "lead", &REP, { "qualify", "lose", NULL } },
        { "lead", &ASSISTANT, { NULL } },
        { "qualified", &REP, { "quote", "lose", NULL } },
        { "quoted", &MANAGER, { "negotiate", "lose", NULL } },
        { "negotiating", &REP, { "requote", "sign", "lose", NULL } },
        { "negotiating", &SUPPORT, { NULL } },
        { "signed", &MANAGER, { "deliver", NULL } },
        { "signed", &ASSISTANT, { "deliver", NULL } },
        { "signed", &SUPPORT, { NULL } },
        { "delivered", &SUPPORT, { "service", NULL } },
        { "delivered", &ASSISTANT, { "service", NULL } },
        { "delivered", &REP, { NULL } },
        { "serviced", &MANAGER, { NULL } },
        { "lost", &MANAGER, { "reopen", NULL } },
        { "lost", &REP, { NULL } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char id[64];
        snprintf(id, sizeof id, "avail-%zu", i);
        CTX("available at %s for %s", cases[i].stage, cases[i].actor->role);
        sfsm_opp *o = opp_at(f, id, stage_by_name(cases[i].stage));
        check_available(f, o, cases[i].actor, cases[i].want);
        sfsm_opp_free(o);
    }
}

static void test_available_events_cap(void **state)
{
    fixture *f = *state;
    sfsm_opp *o = opp_at(f, "cap", stage_by_name("negotiating"));
    const char *got[4] = { "s0", "s1", "s2", "s3" };
    size_t count = 0;
    assert_int_equal(sfsm_engine_available_events(f->engine, o, &MANAGER, got, 2, &count),
                     SFSM_OK);
    assert_int_equal(count, 3);
    assert_string_equal(got[0], "requote");
    assert_string_equal(got[1], "sign");
    assert_string_equal(got[2], "s2");

    got[0] = "s0";
    got[1] = "s1";
    count = 0;
    assert_int_equal(sfsm_engine_available_events(f->engine, o, &MANAGER, got, 1, &count),
                     SFSM_OK);
    assert_int_equal(count, 3);
    assert_string_equal(got[0], "requote");
    assert_string_equal(got[1], "s1");

    got[0] = "s0";
    count = 0;
    assert_int_equal(sfsm_engine_available_events(f->engine, o, &MANAGER, got, 0, &count),
                     SFSM_OK);
    assert_int_equal(count, 3);
    assert_string_equal(got[0], "s0");
    sfsm_opp_free(o);
}

static int has_name(const char **names_, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names_[i], want) == 0)
            return 1;
    return 0;
}

static void test_available_events_guards(void **state)
{
    fixture *f = *state;
    const char *got[16];
    size_t count = 0;

    /* qualify is not offered without a customer... */
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(f->engine, "avail-nocust", &o), SFSM_OK);
    assert_int_equal(sfsm_engine_available_events(f->engine, o, &MANAGER, got, 16, &count),
                     SFSM_OK);
    assert_false(has_name(got, count, "qualify"));
    /* ...and is once the handle has one (unsaved). */
    assert_int_equal(sfsm_opp_set_customer(o, "Initech"), SFSM_OK);
    assert_int_equal(sfsm_engine_available_events(f->engine, o, &MANAGER, got, 16, &count),
                     SFSM_OK);
    assert_true(count >= 1);
    assert_string_equal(got[0], "qualify");
    sfsm_opp_free(o);

    /* requote and sign are not offered with amount 0. */
    o = opp_at(f, "avail-zero", stage_by_name("negotiating"));
    assert_int_equal(sfsm_engine_available_events(f->engine, o, &REP, got, 16, &count), SFSM_OK);
    assert_true(has_name(got, count, "requote"));
    assert_true(has_name(got, count, "sign"));
    assert_int_equal(sfsm_opp_set_amount(o, 0, "CNY"), SFSM_OK);
    assert_int_equal(sfsm_engine_available_events(f->engine, o, &REP, got, 16, &count), SFSM_OK);
    assert_false(has_name(got, count, "requote"));
    assert_false(has_name(got, count, "sign"));

    /* An application guard counts as well. */
    assert_int_equal(sfsm_engine_register_guard(f->engine, "has_amount", pass_guard, NULL),
                     SFSM_OK);
    assert_int_equal(sfsm_engine_available_events(f->engine, o, &REP, got, 16, &count), SFSM_OK);
    assert_true(has_name(got, count, "requote"));
    assert_true(has_name(got, count, "sign"));
    sfsm_opp_free(o);

    /* An application guard bound to has_reason is a guard like any other:
     * consulted, with no note. */
    seen s;
    memset(&s, 0, sizeof s);
    assert_int_equal(sfsm_engine_register_guard(f->engine, "has_reason", note_guard, &s), SFSM_OK);
    o = opp_at(f, "avail-appreason", stage_by_name("quoted"));
    assert_int_equal(sfsm_engine_available_events(f->engine, o, &REP, got, 16, &count), SFSM_OK);
    assert_int_equal(s.calls, 1);
    assert_string_equal(s.note, NULL_MARK);
    assert_string_equal(s.event, "lose");
    assert_int_equal(count, 1);
    assert_string_equal(got[0], "negotiate");
    sfsm_opp_free(o);
}

/* has_reason checks only the note, which comes with the fire: lose is
 * offered, and firing it without a reason is still refused. */
static void test_available_events_lose_offered(void **state)
{
    fixture *f = *state;
    const char *got[16];
    size_t count = 0;
    sfsm_opp *o = opp_at(f, "avail-lose", stage_by_name("quoted"));
    assert_int_equal(sfsm_engine_available_events(f->engine, o, &REP, got, 16, &count), SFSM_OK);
    assert_int_equal(count, 2);
    assert_string_equal(got[0], "negotiate");
    assert_string_equal(got[1], "lose");
    assert_int_equal(sfsm_fire(f->engine, o, "lose", &REP, NULL), SFSM_EGUARD);
    assert_int_equal(sfsm_fire(f->engine, o, "lose", &REP, " "), SFSM_EGUARD);
    assert_string_equal(sfsm_opp_stage(o), "quoted");
    /* Not offered to a role that may not fire it. */
    assert_int_equal(sfsm_engine_available_events(f->engine, o, &ASSISTANT, got, 16, &count),
                     SFSM_OK);
    assert_int_equal(count, 0);
    sfsm_opp_free(o);
}

static void test_available_events_errors(void **state)
{
    fixture *f = *state;
    const char *got[16];
    size_t count = 0;
    sfsm_opp *o = opp_at(f, "avail-err", 0);
    const sfsm_actor ceo = { "Boss", "ceo" };
    assert_int_equal(sfsm_engine_available_events(f->engine, o, &ceo, got, 16, &count),
                     SFSM_ENOTFOUND);
    assert_true(names(sfsm_errmsg(), "ceo"));
    assert_int_equal(sfsm_engine_available_events(f->engine, o, NULL, got, 16, &count),
                     SFSM_EINVAL);
    assert_int_equal(sfsm_engine_available_events(f->engine, NULL, &MANAGER, got, 16, &count),
                     SFSM_EINVAL);
    assert_int_equal(sfsm_engine_available_events(NULL, o, &MANAGER, got, 16, &count),
                     SFSM_EINVAL);
    assert_int_equal(sfsm_engine_available_events(f->engine, o, &MANAGER, got, 16, NULL),
                     SFSM_EINVAL);
    sfsm_opp_free(o);
}

/* ---- reopen ---- */

static void test_reopen_path(void **state)
{
    fixture *f = *state;
    char msg[1024];
    CTX("reopen path");
    sfsm_opp *o = opp_at(f, "phoenix", stage_by_name("negotiating"));
    f->now += DAY_MS;
    CHECK_RC(sfsm_fire(f->engine, o, "lose", &REP, "went with a competitor"), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "lost");
    assert_int_equal(sfsm_opp_probability(o), 0);

    snapshot before;
    snapshot_take(f->engine, o, &before);
    CHECK_RC(fire_msg(f, o, "reopen", &REP, NULL, msg, sizeof msg), SFSM_EPERM);
    CHECK_NAMES(msg, "rep");
    CHECK_NAMES(msg, "reopen");
    CHECK_RC(sfsm_fire(f->engine, o, "reopen", &ASSISTANT, NULL), SFSM_EPERM);
    CHECK_RC(sfsm_fire(f->engine, o, "reopen", &SUPPORT, NULL), SFSM_EPERM);
    check_unchanged(f, o, &before);

    f->now += DAY_MS;
    CHECK_RC(sfsm_fire(f->engine, o, "reopen", &MANAGER, NULL), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "lead");
    assert_int_equal(sfsm_opp_stage_entered(o), f->now);
    last_entry l;
    read_last(f, "phoenix", &l);
    assert_string_equal(l.event, "reopen");
    assert_string_equal(l.from, "lost");
    assert_string_equal(l.to, "lead");
    assert_string_equal(l.note, NULL_MARK); /* no note given */

    static const char *const walk[] = { "qualify", "quote", "negotiate", "sign", "deliver",
                                        "service" };
    for (size_t i = 0; i < 6; i++) {
        /* service is not a rep's event; the rest are. */
        const sfsm_actor *a = strcmp(walk[i], "service") == 0 ? &SUPPORT : &REP;
        CTX("walk %s", walk[i]);
        f->now += DAY_MS;
        CHECK_RC(sfsm_fire(f->engine, o, walk[i], a, NULL), SFSM_OK);
    }
    assert_string_equal(sfsm_opp_stage(o), "serviced");
    /* create, qualify, quote, negotiate, lose, reopen + 6 */
    assert_int_equal(sfsm_opp_version(o), 12);
    assert_int_equal(history_count(f->engine, "phoenix"), 12);
    /* serviced is final: nothing leads out, not even for a manager. */
    for (size_t e = 0; e < NEVENTS; e++)
        CHECK_RC(sfsm_fire(f->engine, o, EVENTS[e].name, &MANAGER, "x"), SFSM_ETRANSITION);
    sfsm_opp_free(o);
}

/* ---- pipeline accessors ---- */

static void test_pipeline_accessors(void **state)
{
    fixture *f = *state;
    const sfsm_pipeline *p = f->pipeline;
    assert_ptr_equal(sfsm_engine_pipeline(f->engine), p);
    assert_string_equal(sfsm_pipeline_name(p), "default");
    assert_int_equal(sfsm_pipeline_version(p), 1);
    assert_int_equal(sfsm_pipeline_stage_count(p), NSTAGES);
    for (size_t i = 0; i < NSTAGES; i++) {
        CTX("stage %zu %s", i, STAGES[i].name);
        CHECK_STR(sfsm_pipeline_stage_name(p, i), STAGES[i].name);
        CHECK(sfsm_pipeline_stage_probability(p, i) == STAGES[i].probability);
        CHECK(sfsm_pipeline_stage_stale_days(p, i) == STAGES[i].stale_days);
        CHECK(sfsm_pipeline_stage_outcome(p, i) == STAGES[i].outcome);
        CHECK((sfsm_pipeline_stage_is_final(p, i) != 0) == STAGES[i].final);
        size_t idx = 99;
        CHECK_RC(sfsm_pipeline_stage_index(p, STAGES[i].name, &idx), SFSM_OK);
        CHECK(idx == i);
    }
    assert_int_equal(sfsm_pipeline_initial_stage(p), 0);
    assert_string_equal(sfsm_pipeline_stage_name(p, sfsm_pipeline_initial_stage(p)), "lead");
    /* Out of range. */
    assert_null(sfsm_pipeline_stage_name(p, NSTAGES));
    assert_int_equal(sfsm_pipeline_stage_probability(p, NSTAGES), 0);
    assert_int_equal(sfsm_pipeline_stage_outcome(p, NSTAGES), SFSM_OUTCOME_OPEN);
    size_t idx = 0;
    assert_int_equal(sfsm_pipeline_stage_index(p, "won", &idx), SFSM_ENOTFOUND);
    assert_true(names(sfsm_errmsg(), "won"));

    assert_int_equal(sfsm_pipeline_event_count(p), NEVENTS);
    static const char *const ROLE_NAMES[] = { "manager", "rep", "assistant", "support" };
    assert_int_equal(sfsm_pipeline_role_count(p), 4);
    for (size_t e = 0; e < NEVENTS; e++) {
        const event_spec *ev = &EVENTS[e];
        CTX("event %s", ev->name);
        CHECK_STR(sfsm_pipeline_event_name(p, e), ev->name);
        size_t ei = 99;
        CHECK_RC(sfsm_pipeline_event_index(p, ev->name, &ei), SFSM_OK);
        CHECK(ei == e);
        CHECK(sfsm_pipeline_event_target(p, e) == stage_by_name(ev->to));
        for (size_t s = 0; s < NSTAGES; s++)
            CHECK((sfsm_pipeline_event_allowed_from(p, e, s) != 0) ==
                  event_allowed_from(ev, STAGES[s].name));
        for (size_t r = 0; r < 4; r++) {
            size_t ri = 99;
            CHECK_RC(sfsm_pipeline_role_index(p, ROLE_NAMES[r], &ri), SFSM_OK);
            CHECK((sfsm_pipeline_event_allows_role(p, e, ri) != 0) ==
                  ((ev->roles & (1u << r)) != 0));
        }
        if (ev->guard) {
            CHECK(sfsm_pipeline_event_guard_count(p, e) == 1);
            CHECK_STR(sfsm_pipeline_event_guard(p, e, 0), ev->guard);
        } else {
            CHECK(sfsm_pipeline_event_guard_count(p, e) == 0);
        }
    }
    assert_int_equal(sfsm_pipeline_event_target(p, NEVENTS), (size_t)-1);
    assert_int_equal(sfsm_pipeline_event_index(p, "teleport", &idx), SFSM_ENOTFOUND);
    assert_int_equal(sfsm_pipeline_role_index(p, "ceo", &idx), SFSM_ENOTFOUND);
}

static void test_probability_follows_stage(void **state)
{
    fixture *f = *state;
    CTX("probability");
    sfsm_opp *o = opp_at(f, "prob", 0);
    assert_int_equal(sfsm_opp_probability(o), 10);
    static const struct {
        const char *ev;
        const char *note;
        int prob;
    } walk[] = {
        { "qualify", NULL, 25 },  { "quote", NULL, 50 },   { "negotiate", NULL, 75 },
        { "requote", NULL, 50 },  { "negotiate", NULL, 75 }, { "sign", NULL, 100 },
        { "deliver", NULL, 100 }, { "service", NULL, 100 },
    };
    for (size_t i = 0; i < sizeof walk / sizeof walk[0]; i++) {
        CTX("probability after %s", walk[i].ev);
        CHECK_RC(sfsm_fire(f->engine, o, walk[i].ev, &MANAGER, walk[i].note), SFSM_OK);
        CHECK(sfsm_opp_probability(o) == walk[i].prob);
    }
    sfsm_opp_free(o);

    o = opp_at(f, "prob-lost", stage_by_name("lost"));
    assert_int_equal(sfsm_opp_probability(o), 0);
    assert_int_equal(sfsm_fire(f->engine, o, "reopen", &MANAGER, NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_probability(o), 10);
    sfsm_opp_free(o);
    /* A reloaded handle agrees. */
    assert_int_equal(sfsm_opp_open(f->engine, "prob", &o), SFSM_OK);
    assert_int_equal(sfsm_opp_probability(o), 100);
    sfsm_opp_free(o);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_allowed_pairs),
        T(test_disallowed_pairs),
        T(test_check_order),
        T(test_roles),
        T(test_guard_has_customer),
        T(test_guard_has_amount_quote),
        T(test_guard_has_amount_requote_sign),
        T(test_guard_has_reason),
        T(test_amount_and_quote_one_step),
        T(test_app_guard_sees_handle),
        T(test_app_guard_replaces_builtin),
        T(test_register_guard_errors),
        T(test_unknown_names),
        T(test_fire_index),
        T(test_available_events),
        T(test_available_events_cap),
        T(test_available_events_guards),
        T(test_available_events_lose_offered),
        T(test_available_events_errors),
        T(test_reopen_path),
        T(test_pipeline_accessors),
        T(test_probability_follows_stage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
