/* Reports (report.h) checked against a brute force: every data set is built
 * through the public API with the fixture's clock, read back (sfsm_scan,
 * sfsm_opp_history, sfsm_team_list, sfsm_target_list, sfsm_payment_list),
 * and every figure of every report is recomputed here from the definitions
 * in report.h by a simple, independent pass over the history, then compared
 * cell by cell. A few figures of the hand-built data sets are also checked
 * against literal numbers worked out by hand, so that the brute force is
 * itself checked. */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define countof(a) (sizeof(a) / sizeof((a)[0]))
#define HOUR_MS INT64_C(3600000)
#define MIN_MS INT64_C(60000)

typedef __int128 i128;

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    assert_non_null(d);
    return d;
}

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    void *q = realloc(p, n * elem);
    assert_non_null(q);
    *cap = n;
    return q;
}

/* ------------------------------------------------------------------ */
/* calendar (own implementation, UTC)                                  */
/* ------------------------------------------------------------------ */

static int64_t days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int64_t ymd(int y, int m, int d)
{
    return days_from_civil(y, (unsigned)m, (unsigned)d) * DAY_MS;
}

static int64_t iso_week1_monday(int y)
{
    int64_t j4 = days_from_civil(y, 1, 4);
    int wd = (int)((j4 + 3) % 7); /* Monday 0 */
    return (j4 - wd) * DAY_MS;
}

static int iso_weeks(int y)
{
    return (int)((iso_week1_monday(y + 1) - iso_week1_monday(y)) / (7 * DAY_MS));
}

/* Own bounds of a calendar period; 0 for an invalid one. */
static int my_bounds(int year, int kind, int index, int64_t *from, int64_t *to)
{
    switch (kind) {
    case SFSM_PERIOD_YEAR:
        if (index != 1)
            return 0;
        *from = ymd(year, 1, 1);
        *to = ymd(year + 1, 1, 1);
        return 1;
    case SFSM_PERIOD_QUARTER:
        if (index < 1 || index > 4)
            return 0;
        *from = ymd(year, 3 * index - 2, 1);
        *to = index == 4 ? ymd(year + 1, 1, 1) : ymd(year, 3 * index + 1, 1);
        return 1;
    case SFSM_PERIOD_MONTH:
        if (index < 1 || index > 12)
            return 0;
        *from = ymd(year, index, 1);
        *to = index == 12 ? ymd(year + 1, 1, 1) : ymd(year, index + 1, 1);
        return 1;
    case SFSM_PERIOD_WEEK:
        if (index < 1 || index > iso_weeks(year))
            return 0;
        *from = iso_week1_monday(year) + (index - 1) * 7 * DAY_MS;
        *to = *from + 7 * DAY_MS;
        return 1;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------ */
/* a small JSON reader (validating) for history changes and to_json    */
/* ------------------------------------------------------------------ */

typedef struct jv {
    char type; /* 'o' object, 'a' array, 's' string, 'i' integer, 'd' other number, 't', 'f', 'z' null */
    char *s;
    int64_t i;
    size_t n, cap, kcap;
    char **keys;
    struct jv **items;
} jv;

typedef struct jp {
    const char *p, *end;
    int depth;
} jp;

typedef struct sbuf {
    char *s;
    size_t n, cap;
} sbuf;

static void sb_addc(sbuf *b, char c)
{
    b->s = grow(b->s, &b->cap, b->n + 2, 1);
    b->s[b->n++] = c;
    b->s[b->n] = '\0';
}

static void sb_utf8(sbuf *b, unsigned cp)
{
    if (cp < 0x80) {
        sb_addc(b, (char)cp);
    } else if (cp < 0x800) {
        sb_addc(b, (char)(0xC0 | (cp >> 6)));
        sb_addc(b, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        sb_addc(b, (char)(0xE0 | (cp >> 12)));
        sb_addc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        sb_addc(b, (char)(0x80 | (cp & 0x3F)));
    } else {
        sb_addc(b, (char)(0xF0 | (cp >> 18)));
        sb_addc(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
        sb_addc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        sb_addc(b, (char)(0x80 | (cp & 0x3F)));
    }
}

static void jv_free(jv *v)
{
    if (!v)
        return;
    for (size_t k = 0; k < v->n; k++) {
        jv_free(v->items[k]);
        if (v->keys)
            free(v->keys[k]);
    }
    free(v->items);
    free(v->keys);
    free(v->s);
    free(v);
}

static void jv_push(jv *v, char *key, jv *item)
{
    size_t cap = v->cap;
    v->items = grow(v->items, &cap, v->n + 1, sizeof *v->items);
    if (v->type == 'o') {
        v->keys = grow(v->keys, &v->kcap, v->n + 1, sizeof *v->keys);
        v->keys[v->n] = key;
    }
    v->cap = cap;
    v->items[v->n++] = item;
}

static const jv *jv_get(const jv *o, const char *key)
{
    if (!o || o->type != 'o')
        return NULL;
    for (size_t k = 0; k < o->n; k++)
        if (strcmp(o->keys[k], key) == 0)
            return o->items[k];
    return NULL;
}

static void jp_ws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int jp_hex4(jp *j, unsigned *out)
{
    if (j->end - j->p < 4)
        return -1;
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = *j->p++;
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static char *jp_string(jp *j)
{
    if (j->p >= j->end || *j->p != '"')
        return NULL;
    j->p++;
    sbuf b = { 0 };
    sb_addc(&b, 'x');
    b.n = 0;
    b.s[0] = '\0';
    for (;;) {
        if (j->p >= j->end)
            goto bad;
        unsigned char c = (unsigned char)*j->p++;
        if (c == '"')
            break;
        if (c < 0x20)
            goto bad;
        if (c != '\\') {
            sb_addc(&b, (char)c);
            continue;
        }
        if (j->p >= j->end)
            goto bad;
        char e = *j->p++;
        unsigned cp, lo;
        switch (e) {
        case '"': case '\\': case '/': sb_addc(&b, e); break;
        case 'b': sb_addc(&b, '\b'); break;
        case 'f': sb_addc(&b, '\f'); break;
        case 'n': sb_addc(&b, '\n'); break;
        case 'r': sb_addc(&b, '\r'); break;
        case 't': sb_addc(&b, '\t'); break;
        case 'u':
            if (jp_hex4(j, &cp))
                goto bad;
            if (cp >= 0xD800 && cp < 0xDC00) {
                if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u')
                    goto bad;
                j->p += 2;
                if (jp_hex4(j, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    goto bad;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                goto bad;
            }
            if (cp == 0)
                goto bad;
            sb_utf8(&b, cp);
            break;
        default:
            goto bad;
        }
    }
    return b.s;
bad:
    free(b.s);
    return NULL;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int jp_number(jp *j, jv *v)
{
    const char *s = j->p;
    int neg = 0, intonly = 1;
    if (j->p < j->end && *j->p == '-') {
        neg = 1;
        j->p++;
    }
    if (j->p >= j->end)
        return -1;
    if (*j->p == '0')
        j->p++;
    else if (*j->p >= '1' && *j->p <= '9')
        while (j->p < j->end && is_digit(*j->p))
            j->p++;
    else
        return -1;
    if (j->p < j->end && *j->p == '.') {
        intonly = 0;
        j->p++;
        if (j->p >= j->end || !is_digit(*j->p))
            return -1;
        while (j->p < j->end && is_digit(*j->p))
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        intonly = 0;
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (j->p >= j->end || !is_digit(*j->p))
            return -1;
        while (j->p < j->end && is_digit(*j->p))
            j->p++;
    }
    v->type = 'd';
    if (intonly) {
        uint64_t mag = 0;
        int ovf = 0;
        for (const char *q = s + neg; q < j->p; q++) {
            unsigned dg = (unsigned)(*q - '0');
            if (mag > (UINT64_MAX - dg) / 10)
                ovf = 1;
            else
                mag = mag * 10 + dg;
        }
        if (!ovf && (neg ? mag <= (uint64_t)INT64_MAX + 1 : mag <= (uint64_t)INT64_MAX)) {
            v->type = 'i';
            if (neg)
                v->i = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
            else
                v->i = (int64_t)mag;
        }
    }
    return 0;
}

static jv *jp_value(jp *j)
{
    jp_ws(j);
    if (j->p >= j->end || j->depth > 64)
        return NULL;
    j->depth++;
    jv *v = calloc(1, sizeof *v);
    assert_non_null(v);
    char c = *j->p;
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        v->type = c == '{' ? 'o' : 'a';
        j->p++;
        jp_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            goto ok;
        }
        for (;;) {
            char *k = NULL;
            jp_ws(j);
            if (v->type == 'o') {
                if (!(k = jp_string(j)))
                    goto bad;
                jp_ws(j);
                if (j->p >= j->end || *j->p != ':') {
                    free(k);
                    goto bad;
                }
                j->p++;
            }
            jv *m = jp_value(j);
            if (!m) {
                free(k);
                goto bad;
            }
            jv_push(v, k, m);
            jp_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == close) {
                j->p++;
                break;
            }
            goto bad;
        }
    } else if (c == '"') {
        v->type = 's';
        if (!(v->s = jp_string(j)))
            goto bad;
    } else if (c == 't' && j->end - j->p >= 4 && memcmp(j->p, "true", 4) == 0) {
        v->type = 't';
        j->p += 4;
    } else if (c == 'f' && j->end - j->p >= 5 && memcmp(j->p, "false", 5) == 0) {
        v->type = 'f';
        j->p += 5;
    } else if (c == 'n' && j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
        v->type = 'z';
        j->p += 4;
    } else if (c == '-' || is_digit(c)) {
        if (jp_number(j, v))
            goto bad;
    } else {
        goto bad;
    }
ok:
    j->depth--;
    return v;
bad:
    jv_free(v);
    return NULL;
}

/* The whole text must be one JSON value; NULL if it is not valid JSON. */
static jv *json_parse(const char *s, size_t len)
{
    jp j = { s, s + len, 0 };
    jv *v = jp_value(&j);
    if (!v)
        return NULL;
    jp_ws(&j);
    if (j.p != j.end) {
        jv_free(v);
        return NULL;
    }
    return v;
}

/* ------------------------------------------------------------------ */
/* the data read back from the store                                   */
/* ------------------------------------------------------------------ */

/* An optional short string (NULL when !set). */
typedef struct ostr {
    int set;
    char s[160];
} ostr;

static void ostr_put(ostr *o, const char *s)
{
    o->set = s != NULL;
    o->s[0] = '\0';
    if (s) {
        assert_true(strlen(s) < sizeof o->s);
        strcpy(o->s, s);
    }
}

static const char *ostr_get(const ostr *o) { return o->set ? o->s : NULL; }

typedef struct hrec {
    int64_t at;
    int kind;
    int from, to; /* stage indices; from is -1 for a create */
    uint32_t fields;
    int set_amount;
    int64_t amount;
    ostr currency;
    int set_customer, set_owner, set_close;
    ostr customer, owner;
    int64_t close;
} hrec;

typedef struct xopp {
    char id[SFSM_MAX_ID + 1];
    hrec *h;
    size_t nh, caph;
    /* as scanned now */
    int stage;
    int64_t amount, close, created, entered;
    ostr currency, owner, customer;
} xopp;

typedef struct xtarget {
    int subject_kind;
    char subject[64];
    int year, kind, index;
    int64_t amount;
    char currency[8];
} xtarget;

typedef struct xpayment {
    char opp[SFSM_MAX_ID + 1];
    uint64_t seq;
    int64_t amount, at;
    char currency[8];
} xpayment;

typedef struct world {
    const sfsm_pipeline *p;
    size_t nstages;
    int prob[32], stale[32];
    sfsm_outcome outcome[32];
    sfsm_forecast forecast[32];
    const char *stage_name[32];
    xopp *o;
    size_t n, cap;
    struct {
        char owner[64], team[64];
    } teams[64];
    size_t nteams;
    xtarget *targets;
    size_t ntargets, tcap;
    xpayment *pay;
    size_t npay, pcap;
    char cur[16][8];
    size_t ncur;
    int64_t now;
} world;

static int stage_idx(const world *w, const char *name)
{
    size_t i;
    assert_non_null(name);
    if (sfsm_pipeline_stage_index(w->p, name, &i) != SFSM_OK)
        fail_msg("unknown stage '%s'", name);
    return (int)i;
}

static int scan_cb(const sfsm_opp *o, void *ud)
{
    world *w = ud;
    w->o = grow(w->o, &w->cap, w->n + 1, sizeof *w->o);
    xopp *x = &w->o[w->n++];
    memset(x, 0, sizeof *x);
    assert_true(strlen(sfsm_opp_id(o)) <= SFSM_MAX_ID);
    strcpy(x->id, sfsm_opp_id(o));
    x->stage = (int)sfsm_opp_stage_index(o);
    x->amount = sfsm_opp_amount(o);
    x->close = sfsm_opp_expected_close(o);
    x->created = sfsm_opp_created(o);
    x->entered = sfsm_opp_stage_entered(o);
    ostr_put(&x->currency, sfsm_opp_currency(o));
    ostr_put(&x->owner, sfsm_opp_owner(o));
    ostr_put(&x->customer, sfsm_opp_customer(o));
    return 0;
}

/* Currency groups: "" stands for the null currency (an opportunity without
 * an amount), which sorts first. */
static void note_currency(world *w, const char *c)
{
    if (!c)
        c = "";
    for (size_t k = 0; k < w->ncur; k++)
        if (strcmp(w->cur[k], c) == 0)
            return;
    assert_true(w->ncur < countof(w->cur) && strlen(c) < 8);
    strcpy(w->cur[w->ncur++], c);
}

typedef struct hist_ctx {
    world *w;
    xopp *x;
} hist_ctx;

static int hist_cb(const sfsm_history_entry *e, void *ud)
{
    hist_ctx *c = ud;
    xopp *x = c->x;
    x->h = grow(x->h, &x->caph, x->nh + 1, sizeof *x->h);
    hrec *h = &x->h[x->nh++];
    memset(h, 0, sizeof *h);
    assert_int_equal(e->version, x->nh);
    h->at = e->at_ms;
    h->kind = e->kind;
    h->from = e->from ? stage_idx(c->w, e->from) : -1;
    h->to = stage_idx(c->w, e->to);
    h->fields = e->fields;
    if (e->changes) {
        jv *v = json_parse(e->changes, strlen(e->changes));
        if (!v || v->type != 'o')
            fail_msg("history changes of '%s' are not a JSON object: %s", x->id, e->changes);
        for (size_t k = 0; k < v->n; k++) {
            const char *key = v->keys[k];
            const jv *m = v->items[k];
            if (strcmp(key, "amount") == 0) {
                assert_int_equal(m->type, 'i');
                h->set_amount = 1;
                h->amount = m->i;
            } else if (strcmp(key, "currency") == 0) {
                ostr_put(&h->currency, m->type == 's' ? m->s : NULL);
                note_currency(c->w, m->type == 's' ? m->s : NULL);
            } else if (strcmp(key, "customer") == 0) {
                h->set_customer = 1;
                ostr_put(&h->customer, m->type == 's' ? m->s : NULL);
            } else if (strcmp(key, "owner") == 0) {
                h->set_owner = 1;
                ostr_put(&h->owner, m->type == 's' ? m->s : NULL);
            } else if (strcmp(key, "expected_close_ms") == 0) {
                assert_int_equal(m->type, 'i');
                h->set_close = 1;
                h->close = m->i;
            }
        }
        jv_free(v);
    }
    return 0;
}

static int team_cb(const char *owner, const char *team, void *ud)
{
    world *w = ud;
    assert_true(w->nteams < countof(w->teams));
    assert_true(strlen(owner) < 64 && strlen(team) < 64);
    strcpy(w->teams[w->nteams].owner, owner);
    strcpy(w->teams[w->nteams].team, team);
    w->nteams++;
    return 0;
}

static int target_cb(const sfsm_target *t, void *ud)
{
    world *w = ud;
    w->targets = grow(w->targets, &w->tcap, w->ntargets + 1, sizeof *w->targets);
    xtarget *x = &w->targets[w->ntargets++];
    memset(x, 0, sizeof *x);
    x->subject_kind = (int)t->subject_kind;
    assert_true(strlen(t->subject) < sizeof x->subject);
    strcpy(x->subject, t->subject);
    x->year = t->period.year;
    x->kind = (int)t->period.kind;
    x->index = t->period.index;
    x->amount = t->amount;
    assert_true(strlen(t->currency) < 8);
    strcpy(x->currency, t->currency);
    return 0;
}

static int payment_cb(const sfsm_payment *p, void *ud)
{
    world *w = ud;
    w->pay = grow(w->pay, &w->pcap, w->npay + 1, sizeof *w->pay);
    xpayment *x = &w->pay[w->npay++];
    memset(x, 0, sizeof *x);
    strcpy(x->opp, p->opp_id);
    x->seq = p->seq;
    x->amount = p->amount;
    x->at = p->at_ms;
    assert_true(strlen(p->currency) < 8);
    strcpy(x->currency, p->currency);
    return 0;
}

static int cmp_cur(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

typedef struct view view;
static void view_at(const world *w, const xopp *o, int64_t as_of, view *v);

/* Reads everything back; checks that the history replays to the stored
 * state, so the brute force starts from the same data the reports see. */
static void world_load(world *w, fixture *f)
{
    memset(w, 0, sizeof *w);
    w->p = f->pipeline;
    w->now = f->now;
    w->nstages = sfsm_pipeline_stage_count(w->p);
    assert_true(w->nstages <= 32);
    for (size_t s = 0; s < w->nstages; s++) {
        w->prob[s] = sfsm_pipeline_stage_probability(w->p, s);
        w->stale[s] = sfsm_pipeline_stage_stale_days(w->p, s);
        w->outcome[s] = sfsm_pipeline_stage_outcome(w->p, s);
        w->forecast[s] = sfsm_pipeline_stage_forecast(w->p, s);
        w->stage_name[s] = sfsm_pipeline_stage_name(w->p, s);
    }
    assert_int_equal(sfsm_scan(f->engine, NULL, scan_cb, w), SFSM_OK);
    for (size_t k = 0; k < w->n; k++) {
        hist_ctx c = { w, &w->o[k] };
        assert_int_equal(sfsm_opp_history(f->engine, w->o[k].id, hist_cb, &c), SFSM_OK);
        note_currency(w, ostr_get(&w->o[k].currency));
    }
    qsort(w->cur, w->ncur, sizeof w->cur[0], cmp_cur);
    assert_int_equal(sfsm_team_list(f->engine, NULL, team_cb, w), SFSM_OK);
    assert_int_equal(sfsm_target_list(f->engine, SFSM_SUBJECT_OWNER, NULL, 0, target_cb, w), SFSM_OK);
    assert_int_equal(sfsm_payment_list(f->engine, NULL, payment_cb, w), SFSM_OK);
    for (size_t k = 0; k < w->n; k++) {
        const xopp *x = &w->o[k];
        view_at(w, x, 0, NULL);
    }
}

static void world_free(world *w)
{
    for (size_t k = 0; k < w->n; k++)
        free(w->o[k].h);
    free(w->o);
    free(w->targets);
    free(w->pay);
    memset(w, 0, sizeof *w);
}

static const char *team_of(const world *w, const char *owner)
{
    if (!owner)
        return NULL;
    for (size_t k = 0; k < w->nteams; k++)
        if (strcmp(w->teams[k].owner, owner) == 0)
            return w->teams[k].team;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* an opportunity as the history stood at a moment                     */
/* ------------------------------------------------------------------ */

struct view {
    int exists;
    int stage;
    int64_t created, entered;
    int64_t amount;
    const char *currency, *owner, *customer;
    int64_t close;
    int64_t first_won;       /* 0: never won */
    int has_last_close;
    int64_t last_close;
    int last_close_won;
    uint32_t reached;        /* bit per stage ever in */
};

/* as_of 0: the whole history. v NULL: only check the replay against the
 * scanned state. */
static void view_at(const world *w, const xopp *o, int64_t as_of, view *out)
{
    view v;
    memset(&v, 0, sizeof v);
    ostr cur = { 0 }, own = { 0 }, cus = { 0 };
    for (size_t k = 0; k < o->nh; k++) {
        const hrec *h = &o->h[k];
        if (as_of && h->at > as_of)
            break;
        if (h->kind == SFSM_HISTORY_CREATE) {
            v.exists = 1;
            v.created = h->at;
            v.stage = h->to;
            v.entered = h->at;
        } else {
            assert_int_equal(h->from, v.stage);
            if (h->to != v.stage) {
                if (w->outcome[h->from] == SFSM_OUTCOME_OPEN && w->outcome[h->to] != SFSM_OUTCOME_OPEN) {
                    v.has_last_close = 1;
                    v.last_close = h->at;
                    v.last_close_won = w->outcome[h->to] == SFSM_OUTCOME_WON;
                }
                if (w->outcome[h->to] == SFSM_OUTCOME_WON && !v.first_won)
                    v.first_won = h->at;
                v.stage = h->to;
                v.entered = h->at;
            }
        }
        v.reached |= 1u << h->to;
        if (h->set_amount) {
            v.amount = h->amount;
            cur = h->currency;
        }
        if (h->set_owner)
            own = h->owner;
        if (h->set_customer)
            cus = h->customer;
        if (h->set_close)
            v.close = h->close;
    }
    if (!out) {
        /* replaying the whole history gives what the store holds */
        assert_true(v.exists);
        assert_int_equal(v.stage, o->stage);
        assert_int_equal(v.amount, o->amount);
        assert_int_equal(v.close, o->close);
        assert_int_equal(v.created, o->created);
        assert_int_equal(v.entered, o->entered);
        assert_int_equal(cur.set, o->currency.set);
        assert_string_equal(cur.s, o->currency.s);
        assert_int_equal(own.set, o->owner.set);
        assert_string_equal(own.s, o->owner.s);
        assert_int_equal(cus.set, o->customer.set);
        assert_string_equal(cus.s, o->customer.s);
        return;
    }
    /* the strings point into the history records, which outlive the view */
    v.currency = v.owner = v.customer = NULL;
    for (size_t k = 0; k < o->nh; k++) {
        const hrec *h = &o->h[k];
        if (as_of && h->at > as_of)
            break;
        if (h->set_amount)
            v.currency = ostr_get(&h->currency);
        if (h->set_owner)
            v.owner = ostr_get(&h->owner);
        if (h->set_customer)
            v.customer = ostr_get(&h->customer);
    }
    *out = v;
}

static view *views_at(const world *w, int64_t as_of)
{
    view *v = calloc(w->n ? w->n : 1, sizeof *v);
    assert_non_null(v);
    for (size_t k = 0; k < w->n; k++)
        view_at(w, &w->o[k], as_of, &v[k]);
    return v;
}

static int same_cur(const char *currency, const char *group)
{
    return strcmp(currency ? currency : "", group) == 0;
}

static int has_period(const sfsm_report_filter *flt) { return flt->from_ms != 0 || flt->to_ms != 0; }

static int in_period(const sfsm_report_filter *flt, int64_t t)
{
    return !has_period(flt) || (t >= flt->from_ms && t < flt->to_ms);
}

static int bad_filter(const sfsm_report_filter *flt)
{
    return flt->version != SFSM_REPORT_FILTER_VERSION || (has_period(flt) && flt->from_ms > flt->to_ms);
}

static int bad_filter_rc(const sfsm_report_filter *flt)
{
    return flt->version != SFSM_REPORT_FILTER_VERSION ? SFSM_EVERSION : SFSM_EINVAL;
}

static int matches(const world *w, const view *v, const sfsm_report_filter *flt)
{
    if (!v->exists)
        return 0;
    if (flt->owner && (!v->owner || strcmp(v->owner, flt->owner) != 0))
        return 0;
    if (flt->team) {
        const char *t = team_of(w, v->owner);
        if (!t || strcmp(t, flt->team) != 0)
            return 0;
    }
    if (flt->customer && (!v->customer || strcmp(v->customer, flt->customer) != 0))
        return 0;
    return 1;
}

/* ------------------------------------------------------------------ */
/* expected tables                                                     */
/* ------------------------------------------------------------------ */

typedef struct xcell {
    char kind; /* 'z' null, 't' text, 'i' integer */
    char *t;
    int64_t i;
} xcell;

typedef struct xtab {
    const char *name;
    const char *const *cols;
    const char *types;
    size_t ncol;
    xcell *cells;
    size_t nrow, cap, fill;
    int rc;
} xtab;

static void xt_init(xtab *x, const char *name, const char *const *cols, const char *types)
{
    memset(x, 0, sizeof *x);
    x->name = name;
    x->cols = cols;
    x->types = types;
    while (cols[x->ncol])
        x->ncol++;
    assert_int_equal(strlen(types), x->ncol);
}

static void xt_free(xtab *x)
{
    for (size_t k = 0; k < x->nrow * x->ncol; k++)
        free(x->cells[k].t);
    free(x->cells);
    x->cells = NULL;
    x->nrow = 0;
}

static xcell *xt_next(xtab *x)
{
    if (x->fill == 0) {
        x->cells = grow(x->cells, &x->cap, (x->nrow + 1) * x->ncol, sizeof *x->cells);
        x->nrow++;
    }
    xcell *c = &x->cells[(x->nrow - 1) * x->ncol + x->fill];
    memset(c, 0, sizeof *c);
    x->fill = (x->fill + 1) % x->ncol;
    return c;
}

static void xt_t(xtab *x, const char *s)
{
    xcell *c = xt_next(x);
    if (s) {
        c->kind = 't';
        c->t = xstrdup(s);
    } else {
        c->kind = 'z';
    }
}

static void xt_i(xtab *x, int64_t v)
{
    xcell *c = xt_next(x);
    c->kind = 'i';
    c->i = v;
}

static void xt_z(xtab *x) { xt_next(x)->kind = 'z'; }

/* basis points, rounded down; null when den is 0 */
static void xt_bp(xtab *x, int64_t num, int64_t den)
{
    if (den == 0)
        xt_z(x);
    else
        xt_i(x, (int64_t)((i128)num * 10000 / den));
}

static char *render_cell(char kind, const char *t, int64_t i)
{
    char buf[512];
    if (kind == 'z')
        snprintf(buf, sizeof buf, "null");
    else if (kind == 't')
        snprintf(buf, sizeof buf, "'%s'", t);
    else
        snprintf(buf, sizeof buf, "%" PRId64, i);
    return xstrdup(buf);
}

static char *render_xrow(const xtab *x, size_t row)
{
    sbuf b = { 0 };
    sb_addc(&b, '[');
    for (size_t c = 0; c < x->ncol; c++) {
        const xcell *cell = &x->cells[row * x->ncol + c];
        char *s = render_cell(cell->kind, cell->t, cell->i);
        if (c)
            sb_addc(&b, ' ');
        for (const char *q = x->cols[c]; *q; q++)
            sb_addc(&b, *q);
        sb_addc(&b, '=');
        for (const char *q = s; *q; q++)
            sb_addc(&b, *q);
        free(s);
    }
    sb_addc(&b, ']');
    return b.s;
}

/* A row of the report rendered like render_xrow, reading cells by column
 * name and checking their type against the column's. */
static char *render_row(const sfsm_report *r, const xtab *x, const size_t *colidx, size_t row, const char *what)
{
    sbuf b = { 0 };
    sb_addc(&b, '[');
    for (size_t c = 0; c < x->ncol; c++) {
        size_t ci = colidx[c];
        char *s;
        if (sfsm_report_is_null(r, row, ci)) {
            if (sfsm_report_text(r, row, ci) != NULL)
                fail_msg("%s: row %zu column %s: null cell with text", what, row, x->cols[c]);
            if (sfsm_report_int(r, row, ci) != 0)
                fail_msg("%s: row %zu column %s: null cell with a non-zero integer", what, row, x->cols[c]);
            s = render_cell('z', NULL, 0);
        } else if (x->types[c] == 't') {
            const char *t = sfsm_report_text(r, row, ci);
            if (!t)
                fail_msg("%s: row %zu column %s: not text", what, row, x->cols[c]);
            if (sfsm_report_int(r, row, ci) != 0)
                fail_msg("%s: row %zu column %s: text cell reads as a non-zero integer", what, row, x->cols[c]);
            s = render_cell('t', t, 0);
        } else {
            if (sfsm_report_text(r, row, ci) != NULL)
                fail_msg("%s: row %zu column %s: text in an integer column", what, row, x->cols[c]);
            s = render_cell('i', NULL, sfsm_report_int(r, row, ci));
        }
        if (c)
            sb_addc(&b, ' ');
        for (const char *q = x->cols[c]; *q; q++)
            sb_addc(&b, *q);
        sb_addc(&b, '=');
        for (const char *q = s; *q; q++)
            sb_addc(&b, *q);
        free(s);
    }
    sb_addc(&b, ']');
    return b.s;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Order key of a report row (see each report's "sorted by" words); keys of
 * consecutive rows must not decrease. Where report.h leaves an order open,
 * the key leaves it open too. */
typedef void (*rank_fn)(const sfsm_report *r, size_t row, char *buf, size_t cap);

static void dump(const char *title, char **rows, size_t n)
{
    fprintf(stderr, "  %s (%zu rows):\n", title, n);
    for (size_t k = 0; k < n; k++)
        fprintf(stderr, "    %s\n", rows[k]);
}

/* Checks the JSON text of a report: valid JSON of the documented shape with
 * exactly the cells of the table. */
static void check_json(const sfsm_report *r, const char *what)
{
    char *js = NULL;
    size_t len = 0;
    int rc = sfsm_report_to_json(r, &js, &len);
    if (rc != SFSM_OK)
        fail_msg("%s: sfsm_report_to_json: %s %s", what, sfsm_strerror(rc), sfsm_errmsg());
    assert_non_null(js);
    assert_int_equal(strlen(js), len);
    jv *root = json_parse(js, len);
    if (!root)
        fail_msg("%s: sfsm_report_to_json is not valid JSON: %.300s", what, js);
    assert_int_equal(root->type, 'o');
    const jv *name = jv_get(root, "report"), *cols = jv_get(root, "columns"), *rows = jv_get(root, "rows");
    assert_non_null(name);
    assert_non_null(cols);
    assert_non_null(rows);
    assert_int_equal(name->type, 's');
    assert_string_equal(name->s, sfsm_report_name(r));
    assert_int_equal(cols->type, 'a');
    assert_int_equal(cols->n, sfsm_report_column_count(r));
    for (size_t c = 0; c < cols->n; c++) {
        assert_int_equal(cols->items[c]->type, 's');
        assert_string_equal(cols->items[c]->s, sfsm_report_column_name(r, c));
    }
    assert_int_equal(rows->type, 'a');
    if (rows->n != sfsm_report_row_count(r))
        fail_msg("%s: JSON has %zu rows, the table %zu", what, rows->n, sfsm_report_row_count(r));
    for (size_t i = 0; i < rows->n; i++) {
        const jv *row = rows->items[i];
        assert_int_equal(row->type, 'a');
        assert_int_equal(row->n, cols->n);
        for (size_t c = 0; c < row->n; c++) {
            const jv *cell = row->items[c];
            if (sfsm_report_is_null(r, i, c)) {
                if (cell->type != 'z')
                    fail_msg("%s: JSON row %zu column %zu is not null", what, i, c);
            } else if (sfsm_report_text(r, i, c)) {
                if (cell->type != 's' || strcmp(cell->s, sfsm_report_text(r, i, c)) != 0)
                    fail_msg("%s: JSON row %zu column %zu is not the text \"%s\"", what, i, c,
                             sfsm_report_text(r, i, c));
            } else {
                if (cell->type != 'i' || cell->i != sfsm_report_int(r, i, c))
                    fail_msg("%s: JSON row %zu column %zu is not the integer %" PRId64, what, i, c,
                             sfsm_report_int(r, i, c));
            }
        }
    }
    jv_free(root);
    sfsm_free(js);
}

/* Compares report r with the expected table: name, columns in the order
 * report.h lists them, row count, the documented order, and every cell. */
static void compare_table(const sfsm_report *r, const xtab *x, rank_fn rank, const char *what)
{
    assert_non_null(sfsm_report_name(r));
    if (strcmp(sfsm_report_name(r), x->name) != 0)
        fail_msg("%s: report name '%s', expected '%s'", what, sfsm_report_name(r), x->name);
    if (sfsm_report_column_count(r) != x->ncol)
        fail_msg("%s: %zu columns, expected %zu", what, sfsm_report_column_count(r), x->ncol);
    size_t colidx[16];
    assert_true(x->ncol <= countof(colidx));
    for (size_t c = 0; c < x->ncol; c++) {
        const char *cn = sfsm_report_column_name(r, c);
        if (!cn || strcmp(cn, x->cols[c]) != 0)
            fail_msg("%s: column %zu is '%s', expected '%s'", what, c, cn ? cn : "(null)", x->cols[c]);
        if (sfsm_report_column(r, x->cols[c], &colidx[c]) != SFSM_OK)
            fail_msg("%s: no column '%s'", what, x->cols[c]);
        assert_int_equal(colidx[c], c);
    }
    size_t n = sfsm_report_row_count(r);
    char **got = calloc(n + 1, sizeof *got), **exp = calloc(x->nrow + 1, sizeof *exp);
    assert_non_null(got);
    assert_non_null(exp);
    for (size_t i = 0; i < n; i++)
        got[i] = render_row(r, x, colidx, i, what);
    for (size_t i = 0; i < x->nrow; i++)
        exp[i] = render_xrow(x, i);
    int bad = 0;
    char why[256] = "";
    if (n != x->nrow) {
        snprintf(why, sizeof why, "%zu rows, expected %zu", n, x->nrow);
        bad = 1;
    }
    if (!bad && rank) {
        char prev[512] = "", key[512];
        for (size_t i = 0; i < n && !bad; i++) {
            rank(r, i, key, sizeof key);
            if (i && strcmp(prev, key) > 0) {
                snprintf(why, sizeof why, "row %zu is out of the documented order", i);
                bad = 1;
            }
            memcpy(prev, key, sizeof prev);
        }
    }
    if (bad) {
        fprintf(stderr, "%s: %s\n", what, why);
        dump("report", got, n);
        dump("expected", exp, x->nrow);
    }
    qsort(got, n, sizeof *got, cmp_str);
    qsort(exp, x->nrow, sizeof *exp, cmp_str);
    for (size_t i = 0; i < n && !bad; i++)
        if (strcmp(got[i], exp[i]) != 0) {
            fprintf(stderr, "%s: cells differ\n", what);
            fprintf(stderr, "  first difference (sorted rows):\n    report:   %s\n    expected: %s\n", got[i], exp[i]);
            dump("report (sorted)", got, n);
            dump("expected (sorted)", exp, x->nrow);
            snprintf(why, sizeof why, "cells differ (see above)");
            bad = 1;
        }
    for (size_t i = 0; i < n; i++)
        free(got[i]);
    for (size_t i = 0; i < x->nrow; i++)
        free(exp[i]);
    free(got);
    free(exp);
    if (bad)
        fail_msg("%s: %s", what, why);
}

/* ------------------------------------------------------------------ */
/* the brute force, one function per report                            */
/* ------------------------------------------------------------------ */

static const char *const COLS_PIPELINE[] = { "stage", "currency", "count", "amount", "weighted", NULL };
static const char *const COLS_FORECAST[] = { "category", "currency", "count", "amount", "weighted", NULL };
static const char *const COLS_FUNNEL[] = { "stage", "reached", "next", "converted", "rate_bp", NULL };
static const char *const COLS_WIN_RATE[] = { "owner", "won", "lost", "rate_bp", NULL };
static const char *const COLS_VELOCITY[] = { "stage", "owner", "stays", "avg_ms", "median_ms", NULL };
static const char *const COLS_STALE[] = { "id", "stage", "owner", "customer", "entered_ms", "days_in_stage",
                                          "stale_days", NULL };
static const char *const COLS_CALIBRATION[] = { "stage", "probability", "closed", "won", "observed_bp", NULL };
static const char *const COLS_ATTAINMENT[] = { "subject_kind", "subject", "currency", "target", "won",
                                               "attainment_bp", NULL };
static const char *const COLS_RECEIVABLES[] = { "id", "owner", "currency", "won", "collected", "outstanding",
                                                "won_ms", "outstanding_ms", NULL };

static void bf_pipeline(const world *w, const sfsm_report_filter *flt, xtab *x)
{
    xt_init(x, "pipeline", COLS_PIPELINE, "ttiii");
    if (bad_filter(flt)) {
        x->rc = bad_filter_rc(flt);
        return;
    }
    view *v = views_at(w, flt->as_of_ms);
    for (size_t s = 0; s < w->nstages; s++)
        for (size_t c = 0; c < w->ncur; c++) {
            int64_t count = 0;
            i128 amount = 0, wsum = 0;
            for (size_t k = 0; k < w->n; k++) {
                if (!matches(w, &v[k], flt) || v[k].stage != (int)s || !same_cur(v[k].currency, w->cur[c]))
                    continue;
                if (has_period(flt) && !in_period(flt, v[k].close))
                    continue;
                count++;
                amount += v[k].amount;
                wsum += (i128)v[k].amount * w->prob[s];
            }
            if (!count)
                continue;
            if (amount > INT64_MAX) {
                x->rc = SFSM_EINVAL;
                goto out;
            }
            xt_t(x, w->stage_name[s]);
            xt_t(x, w->cur[c][0] ? w->cur[c] : NULL);
            xt_i(x, count);
            xt_i(x, (int64_t)amount);
            xt_i(x, (int64_t)(wsum / 100));
        }
out:
    free(v);
}

static const char *category_name(sfsm_forecast c)
{
    switch (c) {
    case SFSM_FORECAST_PIPELINE: return "pipeline";
    case SFSM_FORECAST_BEST_CASE: return "best_case";
    case SFSM_FORECAST_COMMIT: return "commit";
    case SFSM_FORECAST_CLOSED: return "closed";
    default: return NULL;
    }
}

static void bf_forecast(const world *w, const sfsm_report_filter *flt, xtab *x)
{
    xt_init(x, "forecast", COLS_FORECAST, "ttiii");
    if (bad_filter(flt) || !has_period(flt)) {
        x->rc = bad_filter(flt) ? bad_filter_rc(flt) : SFSM_EINVAL;
        return;
    }
    view *v = views_at(w, flt->as_of_ms);
    static const sfsm_forecast order[] = { SFSM_FORECAST_CLOSED, SFSM_FORECAST_PIPELINE, SFSM_FORECAST_BEST_CASE,
                                           SFSM_FORECAST_COMMIT };
    i128 tcount[16] = { 0 }, tamount[16] = { 0 }, tweighted[16] = { 0 };
    for (size_t q = 0; q < countof(order); q++)
        for (size_t c = 0; c < w->ncur; c++) {
            int64_t count = 0;
            i128 amount = 0, wsum = 0;
            for (size_t k = 0; k < w->n; k++) {
                const view *o = &v[k];
                if (!matches(w, o, flt) || !same_cur(o->currency, w->cur[c]))
                    continue;
                if (order[q] == SFSM_FORECAST_CLOSED) {
                    if (!o->first_won || !in_period(flt, o->first_won))
                        continue;
                    count++;
                    amount += o->amount;
                    wsum += (i128)o->amount * 100;
                } else {
                    if (w->outcome[o->stage] != SFSM_OUTCOME_OPEN || w->forecast[o->stage] != order[q])
                        continue;
                    if (!in_period(flt, o->close))
                        continue;
                    count++;
                    amount += o->amount;
                    wsum += (i128)o->amount * w->prob[o->stage];
                }
            }
            if (!count)
                continue;
            if (amount > INT64_MAX) {
                x->rc = SFSM_EINVAL;
                goto out;
            }
            xt_t(x, category_name(order[q]));
            xt_t(x, w->cur[c][0] ? w->cur[c] : NULL);
            xt_i(x, count);
            xt_i(x, (int64_t)amount);
            xt_i(x, (int64_t)(wsum / 100));
            tcount[c] += count;
            tamount[c] += amount;
            tweighted[c] += wsum / 100;
        }
    for (size_t c = 0; c < w->ncur; c++) {
        if (!tcount[c])
            continue;
        if (tamount[c] > INT64_MAX || tweighted[c] > INT64_MAX) {
            x->rc = SFSM_EINVAL;
            goto out;
        }
        xt_t(x, "total");
        xt_t(x, w->cur[c][0] ? w->cur[c] : NULL);
        xt_i(x, (int64_t)tcount[c]);
        xt_i(x, (int64_t)tamount[c]);
        xt_i(x, (int64_t)tweighted[c]);
    }
out:
    free(v);
}

static void bf_funnel(const world *w, const sfsm_report_filter *flt, xtab *x)
{
    xt_init(x, "funnel", COLS_FUNNEL, "titii");
    if (bad_filter(flt)) {
        x->rc = bad_filter_rc(flt);
        return;
    }
    view *v = views_at(w, flt->as_of_ms);
    int list[32];
    size_t nl = 0;
    for (size_t s = 0; s < w->nstages; s++)
        if (w->outcome[s] == SFSM_OUTCOME_OPEN || w->outcome[s] == SFSM_OUTCOME_WON)
            list[nl++] = (int)s;
    for (size_t i = 0; i < nl; i++) {
        int64_t reached = 0, converted = 0;
        for (size_t k = 0; k < w->n; k++) {
            if (!matches(w, &v[k], flt) || !in_period(flt, v[k].created))
                continue;
            if (!(v[k].reached & (1u << list[i])))
                continue;
            reached++;
            if (i + 1 < nl && (v[k].reached & (1u << list[i + 1])))
                converted++;
        }
        xt_t(x, w->stage_name[list[i]]);
        xt_i(x, reached);
        if (i + 1 < nl) {
            xt_t(x, w->stage_name[list[i + 1]]);
            xt_i(x, converted);
            xt_bp(x, converted, reached);
        } else {
            xt_z(x);
            xt_z(x);
            xt_z(x);
        }
    }
    free(v);
}

typedef struct owner_stat {
    char owner[160];
    int64_t a, b;
    int64_t *d; /* durations */
    size_t nd, capd;
} owner_stat;

static owner_stat *owner_slot(owner_stat *st, size_t *n, size_t cap, const char *owner)
{
    for (size_t k = 0; k < *n; k++)
        if (strcmp(st[k].owner, owner) == 0)
            return &st[k];
    assert_true(*n < cap);
    owner_stat *o = &st[(*n)++];
    memset(o, 0, sizeof *o);
    assert_true(strlen(owner) < sizeof o->owner);
    strcpy(o->owner, owner);
    return o;
}

static int cmp_owner(const void *a, const void *b)
{
    return strcmp(((const owner_stat *)a)->owner, ((const owner_stat *)b)->owner);
}

static void bf_win_rate(const world *w, const sfsm_report_filter *flt, xtab *x)
{
    xt_init(x, "win_rate", COLS_WIN_RATE, "tiii");
    if (bad_filter(flt)) {
        x->rc = bad_filter_rc(flt);
        return;
    }
    view *v = views_at(w, flt->as_of_ms);
    owner_stat st[64];
    size_t n = 0;
    int64_t won = 0, lost = 0;
    for (size_t k = 0; k < w->n; k++) {
        if (!matches(w, &v[k], flt) || !v[k].has_last_close || !in_period(flt, v[k].last_close))
            continue;
        owner_stat *o = owner_slot(st, &n, countof(st), v[k].owner ? v[k].owner : "");
        if (v[k].last_close_won) {
            o->a++;
            won++;
        } else {
            o->b++;
            lost++;
        }
    }
    qsort(st, n, sizeof *st, cmp_owner);
    for (size_t k = 0; k < n; k++) {
        xt_t(x, st[k].owner);
        xt_i(x, st[k].a);
        xt_i(x, st[k].b);
        xt_bp(x, st[k].a, st[k].a + st[k].b);
    }
    xt_z(x);
    xt_i(x, won);
    xt_i(x, lost);
    xt_bp(x, won, won + lost);
    free(v);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void push_dur(int64_t **d, size_t *n, size_t *cap, int64_t v)
{
    *d = grow(*d, cap, *n + 1, sizeof **d);
    (*d)[(*n)++] = v;
}

/* stays, avg (rounded down), median (lower middle) */
static void xt_durations(xtab *x, int64_t *d, size_t n)
{
    qsort(d, n, sizeof *d, cmp_i64);
    i128 sum = 0;
    for (size_t k = 0; k < n; k++)
        sum += d[k];
    xt_i(x, (int64_t)n);
    xt_i(x, (int64_t)(sum / (i128)n));
    xt_i(x, d[(n - 1) / 2]);
}

static void bf_velocity(const world *w, const sfsm_report_filter *flt, xtab *x)
{
    xt_init(x, "velocity", COLS_VELOCITY, "ttiii");
    if (bad_filter(flt)) {
        x->rc = bad_filter_rc(flt);
        return;
    }
    view *v = views_at(w, flt->as_of_ms);
    int64_t *d[32] = { 0 };
    size_t nd[32] = { 0 }, capd[32] = { 0 };
    for (size_t k = 0; k < w->n; k++) {
        if (!matches(w, &v[k], flt))
            continue;
        const xopp *o = &w->o[k];
        int stage = -1;
        int64_t entered = 0;
        for (size_t e = 0; e < o->nh; e++) {
            const hrec *h = &o->h[e];
            if (flt->as_of_ms && h->at > flt->as_of_ms)
                break;
            if (h->kind == SFSM_HISTORY_CREATE) {
                stage = h->to;
                entered = h->at;
            } else if (h->to != stage) {
                if (in_period(flt, h->at))
                    push_dur(&d[stage], &nd[stage], &capd[stage], h->at - entered);
                stage = h->to;
                entered = h->at;
            }
        }
    }
    for (size_t s = 0; s < w->nstages; s++) {
        if (!nd[s])
            continue;
        xt_t(x, w->stage_name[s]);
        xt_z(x);
        xt_durations(x, d[s], nd[s]);
        free(d[s]);
    }
    owner_stat st[64];
    size_t n = 0;
    for (size_t k = 0; k < w->n; k++) {
        if (!matches(w, &v[k], flt) || !v[k].first_won || !in_period(flt, v[k].first_won))
            continue;
        owner_stat *o = owner_slot(st, &n, countof(st), v[k].owner ? v[k].owner : "");
        push_dur(&o->d, &o->nd, &o->capd, v[k].first_won - v[k].created);
    }
    qsort(st, n, sizeof *st, cmp_owner);
    for (size_t k = 0; k < n; k++) {
        xt_t(x, "cycle");
        xt_t(x, st[k].owner);
        xt_durations(x, st[k].d, st[k].nd);
        free(st[k].d);
    }
    free(v);
}

static void bf_stale(const world *w, const sfsm_report_filter *flt, xtab *x)
{
    xt_init(x, "stale", COLS_STALE, "ttttiii");
    if (bad_filter(flt)) {
        x->rc = bad_filter_rc(flt);
        return;
    }
    int64_t at = flt->as_of_ms ? flt->as_of_ms : w->now;
    view *v = views_at(w, flt->as_of_ms);
    for (size_t k = 0; k < w->n; k++) {
        const view *o = &v[k];
        if (!matches(w, o, flt) || w->outcome[o->stage] != SFSM_OUTCOME_OPEN || w->stale[o->stage] <= 0)
            continue;
        if (at - o->entered <= w->stale[o->stage] * DAY_MS)
            continue;
        xt_t(x, w->o[k].id);
        xt_t(x, w->stage_name[o->stage]);
        xt_t(x, o->owner);
        xt_t(x, o->customer);
        xt_i(x, o->entered);
        xt_i(x, (at - o->entered) / DAY_MS);
        xt_i(x, w->stale[o->stage]);
    }
    free(v);
}

static void bf_calibration(const world *w, const sfsm_report_filter *flt, xtab *x)
{
    xt_init(x, "calibration", COLS_CALIBRATION, "tiiii");
    if (bad_filter(flt)) {
        x->rc = bad_filter_rc(flt);
        return;
    }
    view *v = views_at(w, flt->as_of_ms);
    for (size_t s = 0; s < w->nstages; s++) {
        if (w->outcome[s] != SFSM_OUTCOME_OPEN)
            continue;
        int64_t closed = 0, won = 0;
        for (size_t k = 0; k < w->n; k++) {
            if (!matches(w, &v[k], flt) || !(v[k].reached & (1u << s)))
                continue;
            if (w->outcome[v[k].stage] == SFSM_OUTCOME_OPEN)
                continue;
            closed++;
            won += w->outcome[v[k].stage] == SFSM_OUTCOME_WON;
        }
        xt_t(x, w->stage_name[s]);
        xt_i(x, w->prob[s]);
        xt_i(x, closed);
        xt_i(x, won);
        xt_bp(x, won, closed);
    }
    free(v);
}

static void bf_attainment(const world *w, const sfsm_report_filter *flt, xtab *x)
{
    xt_init(x, "attainment", COLS_ATTAINMENT, "tttiii");
    if (bad_filter(flt) || !has_period(flt)) {
        x->rc = bad_filter(flt) ? bad_filter_rc(flt) : SFSM_EINVAL;
        return;
    }
    /* which calendar period is [from, to)? */
    int py = 0, pk = 0, pi = 0;
    int64_t year_guess = 1970 + flt->from_ms / (DAY_MS * 365);
    for (int y = (int)year_guess - 2; y <= (int)year_guess + 2 && !pk; y++)
        for (int kind = SFSM_PERIOD_YEAR; kind <= SFSM_PERIOD_WEEK && !pk; kind++)
            for (int i = 1; i <= 53 && !pk; i++) {
                int64_t a, b;
                if (my_bounds(y, kind, i, &a, &b) && a == flt->from_ms && b == flt->to_ms) {
                    py = y;
                    pk = kind;
                    pi = i;
                }
            }
    if (!pk) {
        x->rc = SFSM_EINVAL;
        return;
    }
    view *v = views_at(w, flt->as_of_ms);
    for (int sk = SFSM_SUBJECT_OWNER; sk <= SFSM_SUBJECT_TEAM; sk++)
        for (size_t t = 0; t < w->ntargets; t++) {
            const xtarget *tg = &w->targets[t];
            if (tg->subject_kind != sk || tg->year != py || tg->kind != pk || tg->index != pi)
                continue;
            /* report.h says the filter selects opportunities; for the
             * subjects it is read as: an owner's row only for an owner the
             * owner/team filter allows, a team's row only for the filtered
             * team or the team of the filtered owner */
            if (sk == SFSM_SUBJECT_OWNER) {
                if (flt->owner && strcmp(tg->subject, flt->owner) != 0)
                    continue;
                if (flt->team && (!team_of(w, tg->subject) || strcmp(team_of(w, tg->subject), flt->team) != 0))
                    continue;
            } else {
                if (flt->team && strcmp(tg->subject, flt->team) != 0)
                    continue;
                if (flt->owner && (!team_of(w, flt->owner) || strcmp(team_of(w, flt->owner), tg->subject) != 0))
                    continue;
            }
            i128 won = 0;
            for (size_t k = 0; k < w->n; k++) {
                const view *o = &v[k];
                if (!matches(w, o, flt) || !o->first_won || !in_period(flt, o->first_won))
                    continue;
                if (!o->currency || strcmp(o->currency, tg->currency) != 0 || !o->owner)
                    continue;
                const char *who = sk == SFSM_SUBJECT_OWNER ? o->owner : team_of(w, o->owner);
                if (!who || strcmp(who, tg->subject) != 0)
                    continue;
                won += o->amount;
            }
            if (won > INT64_MAX) {
                x->rc = SFSM_EINVAL;
                goto out;
            }
            xt_t(x, sk == SFSM_SUBJECT_OWNER ? "owner" : "team");
            xt_t(x, tg->subject);
            xt_t(x, tg->currency);
            xt_i(x, tg->amount);
            xt_i(x, (int64_t)won);
            xt_bp(x, (int64_t)won, tg->amount);
        }
out:
    free(v);
}

static void bf_receivables(const world *w, const sfsm_report_filter *flt, xtab *x)
{
    xt_init(x, "receivables", COLS_RECEIVABLES, "tttiiiii");
    if (bad_filter(flt)) {
        x->rc = bad_filter_rc(flt);
        return;
    }
    int64_t at = flt->as_of_ms ? flt->as_of_ms : w->now;
    view *v = views_at(w, flt->as_of_ms);
    size_t *idx = calloc(w->n + 1, sizeof *idx), ni = 0;
    assert_non_null(idx);
    for (size_t k = 0; k < w->n; k++)
        if (matches(w, &v[k], flt) && w->outcome[v[k].stage] == SFSM_OUTCOME_WON)
            idx[ni++] = k;
    /* by id */
    for (size_t a = 1; a < ni; a++)
        for (size_t b = a; b > 0 && strcmp(w->o[idx[b - 1]].id, w->o[idx[b]].id) > 0; b--) {
            size_t t = idx[b];
            idx[b] = idx[b - 1];
            idx[b - 1] = t;
        }
    struct sum {
        int owner_null;
        char owner[160];
        char currency[8];
        i128 won, collected, outstanding;
    } sums[64];
    size_t ns = 0;
    for (size_t q = 0; q < ni; q++) {
        const view *o = &v[idx[q]];
        const char *id = w->o[idx[q]].id;
        int64_t collected = 0;
        for (size_t p = 0; p < w->npay; p++)
            if (strcmp(w->pay[p].opp, id) == 0 && w->pay[p].at <= at)
                collected += w->pay[p].amount;
        int64_t outstanding = o->amount - collected;
        xt_t(x, id);
        xt_t(x, o->owner);
        xt_t(x, o->currency);
        xt_i(x, o->amount);
        xt_i(x, collected);
        xt_i(x, outstanding);
        xt_i(x, o->first_won);
        if (outstanding > 0)
            xt_i(x, at - o->first_won);
        else
            xt_z(x);
        size_t s;
        for (s = 0; s < ns; s++)
            if (sums[s].owner_null == !o->owner && strcmp(sums[s].owner, o->owner ? o->owner : "") == 0 &&
                strcmp(sums[s].currency, o->currency ? o->currency : "") == 0)
                break;
        if (s == ns) {
            assert_true(ns < countof(sums));
            memset(&sums[ns], 0, sizeof sums[ns]);
            sums[ns].owner_null = !o->owner;
            strcpy(sums[ns].owner, o->owner ? o->owner : "");
            strcpy(sums[ns].currency, o->currency ? o->currency : "");
            ns++;
        }
        sums[s].won += o->amount;
        sums[s].collected += collected;
        sums[s].outstanding += outstanding;
    }
    for (size_t s = 0; s < ns; s++) {
        if (sums[s].won > INT64_MAX || sums[s].collected > INT64_MAX || sums[s].outstanding > INT64_MAX) {
            x->rc = SFSM_EINVAL;
            goto out;
        }
        xt_z(x);
        xt_t(x, sums[s].owner_null ? NULL : sums[s].owner);
        xt_t(x, sums[s].currency);
        xt_i(x, (int64_t)sums[s].won);
        xt_i(x, (int64_t)sums[s].collected);
        xt_i(x, (int64_t)sums[s].outstanding);
        xt_z(x);
        xt_z(x);
    }
out:
    free(idx);
    free(v);
}

/* ------------------------------------------------------------------ */
/* the reports and their documented orders                             */
/* ------------------------------------------------------------------ */

typedef int (*report_fn)(sfsm_engine *e, const sfsm_report_filter *f, sfsm_report **out);
typedef void (*bf_fn)(const world *w, const sfsm_report_filter *flt, xtab *x);

static const world *rank_world; /* for stage lookups in rank functions */

static int text_stage(const sfsm_report *r, size_t row, const char *col)
{
    size_t c;
    assert_int_equal(sfsm_report_column(r, col, &c), SFSM_OK);
    const char *t = sfsm_report_text(r, row, c);
    size_t i;
    if (!t || sfsm_pipeline_stage_index(rank_world->p, t, &i) != SFSM_OK)
        return 99;
    return (int)i;
}

static const char *cell_text(const sfsm_report *r, size_t row, const char *col)
{
    size_t c;
    assert_int_equal(sfsm_report_column(r, col, &c), SFSM_OK);
    return sfsm_report_text(r, row, c);
}

static void rank_stage(const sfsm_report *r, size_t row, char *buf, size_t cap)
{
    snprintf(buf, cap, "%03d", text_stage(r, row, "stage"));
}

/* categories in the order report.h names them: closed, pipeline,
 * best_case, commit, then the totals */
static void rank_forecast(const sfsm_report *r, size_t row, char *buf, size_t cap)
{
    static const char *const order[] = { "closed", "pipeline", "best_case", "commit", "total" };
    const char *t = cell_text(r, row, "category");
    size_t k = 0;
    while (k < countof(order) && (!t || strcmp(t, order[k]) != 0))
        k++;
    snprintf(buf, cap, "%zu", k);
}

static void rank_win_rate(const sfsm_report *r, size_t row, char *buf, size_t cap)
{
    const char *t = cell_text(r, row, "owner");
    snprintf(buf, cap, "%s%s", t ? "0" : "1", t ? t : "");
}

static void rank_velocity(const sfsm_report *r, size_t row, char *buf, size_t cap)
{
    const char *t = cell_text(r, row, "stage");
    if (t && strcmp(t, "cycle") == 0)
        snprintf(buf, cap, "1");
    else
        snprintf(buf, cap, "0%03d", text_stage(r, row, "stage"));
}

static void rank_stale(const sfsm_report *r, size_t row, char *buf, size_t cap)
{
    size_t c;
    assert_int_equal(sfsm_report_column(r, "entered_ms", &c), SFSM_OK);
    snprintf(buf, cap, "%020" PRId64, sfsm_report_int(r, row, c));
}

static void rank_attainment(const sfsm_report *r, size_t row, char *buf, size_t cap)
{
    const char *t = cell_text(r, row, "subject_kind");
    snprintf(buf, cap, "%d", t && strcmp(t, "team") == 0);
}

static void rank_receivables(const sfsm_report *r, size_t row, char *buf, size_t cap)
{
    const char *t = cell_text(r, row, "id");
    snprintf(buf, cap, "%s%s", t ? "0" : "1", t ? t : "");
}

enum { R_PIPELINE, R_FORECAST, R_FUNNEL, R_WIN_RATE, R_VELOCITY, R_STALE, R_CALIBRATION, R_ATTAINMENT,
       R_RECEIVABLES, R_COUNT };

static const struct rdesc {
    const char *name;
    report_fn fn;
    bf_fn bf;
    rank_fn rank;
} REPORTS[R_COUNT] = {
    { "pipeline", sfsm_report_pipeline, bf_pipeline, rank_stage },
    { "forecast", sfsm_report_forecast, bf_forecast, rank_forecast },
    { "funnel", sfsm_report_funnel, bf_funnel, rank_stage },
    { "win_rate", sfsm_report_win_rate, bf_win_rate, rank_win_rate },
    { "velocity", sfsm_report_velocity, bf_velocity, rank_velocity },
    { "stale", sfsm_report_stale, bf_stale, rank_stale },
    { "calibration", sfsm_report_calibration, bf_calibration, rank_stage },
    { "attainment", sfsm_report_attainment, bf_attainment, rank_attainment },
    { "receivables", sfsm_report_receivables, bf_receivables, rank_receivables },
};

static unsigned long n_compared, n_refused; /* reports compared with the brute force */

static const char *fdesc(const sfsm_report_filter *flt)
{
    static char buf[400];
    snprintf(buf, sizeof buf, "owner=%s team=%s customer=%s period=[%" PRId64 ",%" PRId64 ") as_of=%" PRId64,
             flt->owner ? flt->owner : "-", flt->team ? flt->team : "-", flt->customer ? flt->customer : "-",
             flt->from_ms, flt->to_ms, flt->as_of_ms);
    return buf;
}

/* Runs report `which` with flt and compares it with the brute force: the
 * same status (and *out NULL on a failure), or the same table and JSON. */
static void check(fixture *f, const world *w, int which, const sfsm_report_filter *flt)
{
    const struct rdesc *d = &REPORTS[which];
    char what[512];
    snprintf(what, sizeof what, "%s {%s}", d->name, fdesc(flt));
    xtab x;
    d->bf(w, flt, &x);
    rank_world = w;
    sfsm_report *r = (sfsm_report *)&x; /* must be overwritten */
    int rc = d->fn(f->engine, flt, &r);
    if (x.rc != SFSM_OK) {
        if (rc != x.rc)
            fail_msg("%s: returned %s, expected %s (%s)", what, sfsm_strerror(rc), sfsm_strerror(x.rc), sfsm_errmsg());
        if (r != NULL)
            fail_msg("%s: *out not NULL after a failure", what);
        xt_free(&x);
        n_refused++;
        return;
    }
    if (rc != SFSM_OK)
        fail_msg("%s: %s: %s", what, sfsm_strerror(rc), sfsm_errmsg());
    assert_non_null(r);
    compare_table(r, &x, d->rank, what);
    check_json(r, what);
    xt_free(&x);
    n_compared++;
    sfsm_report_free(r);
}

/* Every report with flt; reports whose period report.h does not define
 * (stale, calibration, receivables) get flt without a period. */
static void check_all(fixture *f, const world *w, const sfsm_report_filter *flt)
{
    for (int k = 0; k < R_COUNT; k++) {
        sfsm_report_filter g = *flt;
        if (k == R_STALE || k == R_CALIBRATION || k == R_RECEIVABLES)
            g.from_ms = g.to_ms = 0;
        check(f, w, k, &g);
    }
}

/* ---- literal checks on a report ---- */

static sfsm_report *run(fixture *f, int which, const sfsm_report_filter *flt)
{
    sfsm_report *r = NULL;
    int rc = REPORTS[which].fn(f->engine, flt, &r);
    if (rc != SFSM_OK)
        fail_msg("%s: %s: %s", REPORTS[which].name, sfsm_strerror(rc), sfsm_errmsg());
    return r;
}

static size_t col(const sfsm_report *r, const char *name)
{
    size_t c;
    if (sfsm_report_column(r, name, &c) != SFSM_OK)
        fail_msg("no column %s", name);
    return c;
}

/* The row where column c1 reads v1 and (c2 NULL or) column c2 reads v2; a
 * NULL value matches a null cell. Fails if there is no such row. */
static size_t row_of(const sfsm_report *r, const char *c1, const char *v1, const char *c2, const char *v2)
{
    for (size_t i = 0; i < sfsm_report_row_count(r); i++) {
        const char *a = sfsm_report_text(r, i, col(r, c1));
        if (v1 ? !a || strcmp(a, v1) != 0 : !sfsm_report_is_null(r, i, col(r, c1)))
            continue;
        if (c2) {
            const char *b = sfsm_report_text(r, i, col(r, c2));
            if (v2 ? !b || strcmp(b, v2) != 0 : !sfsm_report_is_null(r, i, col(r, c2)))
                continue;
        }
        return i;
    }
    fail_msg("%s: no row %s=%s %s=%s", sfsm_report_name(r), c1, v1 ? v1 : "null", c2 ? c2 : "",
             v2 ? v2 : "null");
    return 0;
}

static int64_t iv(const sfsm_report *r, size_t row, const char *c)
{
    assert_false(sfsm_report_is_null(r, row, col(r, c)));
    return sfsm_report_int(r, row, col(r, c));
}

static int isnull(const sfsm_report *r, size_t row, const char *c) { return sfsm_report_is_null(r, row, col(r, c)); }

/* ------------------------------------------------------------------ */
/* building data sets through the public API                           */
/* ------------------------------------------------------------------ */

static sfsm_opp *mk(fixture *f, int64_t at, const char *id, const char *owner, const char *customer, int64_t amount,
                    const char *currency, int64_t close)
{
    f->now = at;
    sfsm_create_options o = SFSM_CREATE_OPTIONS_INIT;
    o.id = id;
    o.owner = owner;
    o.customer = customer;
    o.amount = amount;
    o.currency = currency;
    o.expected_close_ms = close;
    o.actor = &REP;
    sfsm_opp *h = NULL;
    int rc = sfsm_opp_create_ext(f->engine, &o, &h);
    if (rc != SFSM_OK)
        fail_msg("create %s: %s", id ? id : "(generated)", sfsm_errmsg());
    return h;
}

static void ev(fixture *f, sfsm_opp *o, int64_t at, const char *event, const sfsm_actor *a, const char *note)
{
    f->now = at;
    int rc = sfsm_fire(f->engine, o, event, a, note);
    if (rc != SFSM_OK)
        fail_msg("fire %s on %s: %s", event, sfsm_opp_id(o), sfsm_errmsg());
}

static void pay(fixture *f, int64_t at, const char *id, int64_t amount, const char *currency)
{
    f->now = at;
    int rc = sfsm_payment_add(f->engine, id, amount, currency, "transfer");
    if (rc != SFSM_OK)
        fail_msg("payment %s: %s", id, sfsm_errmsg());
}

static void team(fixture *f, const char *owner, const char *t)
{
    int rc = sfsm_team_set(f->engine, owner, t);
    if (rc != SFSM_OK)
        fail_msg("team_set %s: %s", owner, sfsm_errmsg());
}

static void target(fixture *f, sfsm_subject_kind sk, const char *subject, int year, sfsm_period_kind kind, int index,
                   int64_t amount, const char *currency)
{
    sfsm_target t = {
        .subject_kind = sk,
        .subject = subject,
        .period = { .year = year, .kind = kind, .index = index },
        .amount = amount,
        .currency = currency,
    };
    int rc = sfsm_target_set(f->engine, &t);
    if (rc != SFSM_OK)
        fail_msg("target_set %s: %s", subject, sfsm_errmsg());
}

static sfsm_report_filter flt_new(void)
{
    sfsm_report_filter f = SFSM_REPORT_FILTER_INIT;
    return f;
}

static sfsm_report_filter flt_period(int64_t from, int64_t to)
{
    sfsm_report_filter f = SFSM_REPORT_FILTER_INIT;
    f.from_ms = from;
    f.to_ms = to;
    return f;
}

/* Day n of 2026 at 09:00 plus m minutes. */
static int64_t D(int n, int m) { return T0_MS + n * DAY_MS + 9 * HOUR_MS + m * MIN_MS; }

#define END_OF_JUNE (ymd(2026, 7, 1) - 1) /* 2026-06-30T23:59:59.999Z */
#define Q1_FROM ymd(2026, 1, 1)
#define Q1_TO ymd(2026, 4, 1)
#define Q2_FROM ymd(2026, 4, 1)
#define Q2_TO ymd(2026, 7, 1)

/*
 * The hand-built data set (all 2026; day n = Jan 1 + n days, events at
 * 09:00 plus a few minutes per opportunity):
 *   A li/Acme     100000 CNY close 15 Mar: lead d0, qualified d2, quoted d5,
 *                 negotiating d9, signed d20, delivered d25; paid 40000 d30
 *   B li/Beta      50000 USD close 10 Feb: lead d1, qualified d3, lost d4
 *   C wang/Acme   200000 CNY close 30 Jun: lead d3, qualified d6, quoted d10,
 *                 negotiating d12, requoted at 180000 d15, negotiating d17;
 *                 amount 150000 saved d190 (9 Jul)
 *   D zhao/Gamma   70000 USD close 1 Apr: lead d5, lost d8, reopened d40,
 *                 qualified d42, quoted d45, negotiating d50, signed d60
 *                 (2 Mar); paid 70000 d70
 *   E qian/Delta   30000 CNY close 5 May: lead d10
 *   F wang/Beta    90000 USD close 31 Mar: lead d11, qualified d12,
 *                 quoted d13, negotiating d185 (5 Jul)
 * Teams: li, wang north; zhao south; qian none. Now: d195 (15 Jul) 12:00.
 */
static void build_small(fixture *f)
{
    team(f, "li", "north");
    team(f, "wang", "north");
    team(f, "zhao", "south");
    sfsm_opp *A = mk(f, D(0, 0), "A", "li", "Acme", 100000, "CNY", ymd(2026, 3, 15));
    sfsm_opp *B = mk(f, D(1, 10), "B", "li", "Beta", 50000, "USD", ymd(2026, 2, 10));
    ev(f, A, D(2, 0), "qualify", &REP, NULL);
    ev(f, B, D(3, 10), "qualify", &REP, NULL);
    sfsm_opp *C = mk(f, D(3, 20), "C", "wang", "Acme", 200000, "CNY", ymd(2026, 6, 30) + 12 * HOUR_MS);
    ev(f, B, D(4, 10), "lose", &REP, "budget cut");
    ev(f, A, D(5, 0), "quote", &REP, NULL);
    sfsm_opp *Dd = mk(f, D(5, 30), "D", "zhao", "Gamma", 70000, "USD", ymd(2026, 4, 1));
    ev(f, C, D(6, 20), "qualify", &REP, NULL);
    ev(f, Dd, D(8, 30), "lose", &MANAGER, "went with a competitor");
    ev(f, A, D(9, 0), "negotiate", &REP, NULL);
    ev(f, C, D(10, 20), "quote", &REP, NULL);
    sfsm_opp *E = mk(f, D(10, 40), "E", "qian", "Delta", 30000, "CNY", ymd(2026, 5, 5));
    sfsm_opp *F = mk(f, D(11, 50), "F", "wang", "Beta", 90000, "USD", ymd(2026, 3, 31));
    ev(f, C, D(12, 20), "negotiate", &REP, NULL);
    ev(f, F, D(12, 50), "qualify", &REP, NULL);
    ev(f, F, D(13, 50), "quote", &REP, NULL);
    assert_int_equal(sfsm_opp_set_amount(C, 180000, "CNY"), SFSM_OK);
    ev(f, C, D(15, 20), "requote", &REP, "discount 10%");
    ev(f, C, D(17, 20), "negotiate", &REP, NULL);
    ev(f, A, D(20, 0), "sign", &REP, "PO 4711");
    ev(f, A, D(25, 0), "deliver", &ASSISTANT, NULL);
    pay(f, D(30, 5), "A", 40000, "CNY");
    ev(f, Dd, D(40, 30), "reopen", &MANAGER, "budget approved");
    ev(f, Dd, D(42, 30), "qualify", &REP, NULL);
    ev(f, Dd, D(45, 30), "quote", &REP, NULL);
    ev(f, Dd, D(50, 30), "negotiate", &REP, NULL);
    ev(f, Dd, D(60, 30), "sign", &REP, NULL);
    pay(f, D(70, 35), "D", 70000, "USD");
    ev(f, F, D(185, 50), "negotiate", &REP, NULL);
    f->now = D(190, 20);
    assert_int_equal(sfsm_opp_set_amount(C, 150000, "CNY"), SFSM_OK);
    assert_int_equal(sfsm_opp_save_as(f->engine, C, &MANAGER, "second discount"), SFSM_OK);
    f->now = T0_MS + 195 * DAY_MS + 12 * HOUR_MS;
    sfsm_opp_free(A);
    sfsm_opp_free(B);
    sfsm_opp_free(C);
    sfsm_opp_free(Dd);
    sfsm_opp_free(E);
    sfsm_opp_free(F);
}

/* The parts targets.h promises: floor(amount * w / sum), the remainder one
 * unit each to the earliest parts with a non-zero weight. */
static void expected_split(int64_t amount, const uint32_t *wts, size_t n, int64_t *out)
{
    i128 sum = 0, given = 0;
    for (size_t k = 0; k < n; k++)
        sum += wts ? wts[k] : 1;
    for (size_t k = 0; k < n; k++) {
        out[k] = (int64_t)((i128)amount * (wts ? wts[k] : 1) / sum);
        given += out[k];
    }
    for (size_t k = 0; k < n && given < amount; k++)
        if (!wts || wts[k]) {
            out[k]++;
            given++;
        }
    assert_true(given == amount);
}

/* The stored parts of a subject's split of 2026 against expected_split. */
static void check_split(const world *w, int subject_kind, const char *subject, sfsm_period_kind kind,
                        const uint32_t *wts, size_t n, int64_t annual, const char *currency)
{
    int64_t want[53], got[53];
    assert_true(n <= 53);
    expected_split(annual, wts, n, want);
    for (size_t k = 0; k < n; k++)
        got[k] = -1;
    int64_t year = -1;
    for (size_t t = 0; t < w->ntargets; t++) {
        const xtarget *x = &w->targets[t];
        if (x->subject_kind != subject_kind || strcmp(x->subject, subject) != 0 || x->year != 2026 ||
            strcmp(x->currency, currency) != 0)
            continue;
        if (x->kind == SFSM_PERIOD_YEAR)
            year = x->amount;
        else if (x->kind == (int)kind && x->index >= 1 && (size_t)x->index <= n)
            got[x->index - 1] = x->amount;
    }
    assert_int_equal(year, annual);
    for (size_t k = 0; k < n; k++)
        if (got[k] != want[k])
            fail_msg("split of %s %s: part %zu is %" PRId64 ", expected %" PRId64, subject, currency, k + 1,
                     got[k], want[k]);
}

/* Targets of the small data set. */
static void small_targets(fixture *f)
{
    target(f, SFSM_SUBJECT_OWNER, "li", 2026, SFSM_PERIOD_QUARTER, 1, 200000, "CNY");
    target(f, SFSM_SUBJECT_OWNER, "wang", 2026, SFSM_PERIOD_QUARTER, 1, 0, "CNY");
    target(f, SFSM_SUBJECT_TEAM, "north", 2026, SFSM_PERIOD_QUARTER, 1, 100000, "USD");
    sfsm_target annual = {
        .subject_kind = SFSM_SUBJECT_TEAM,
        .subject = "south",
        .period = { .year = 2026, .kind = SFSM_PERIOD_YEAR, .index = 1 },
        .amount = 100001,
        .currency = "USD",
    };
    static const uint32_t even[4] = { 1, 1, 1, 1 };
    int rc = sfsm_target_split(f->engine, &annual, SFSM_PERIOD_QUARTER, even, 4);
    if (rc != SFSM_OK)
        fail_msg("target_split: %s", sfsm_errmsg());
}

/* ------------------------------------------------------------------ */
/* tests: the filter and the table API                                  */
/* ------------------------------------------------------------------ */

static void test_filter_init(void **state)
{
    (void)state;
    sfsm_report_filter a = SFSM_REPORT_FILTER_INIT, b;
    memset(&b, 0xA5, sizeof b);
    assert_int_equal(sfsm_report_filter_init(&b, SFSM_REPORT_FILTER_VERSION), SFSM_OK);
    assert_int_equal(b.version, a.version);
    assert_int_equal(a.version, SFSM_REPORT_FILTER_VERSION);
    assert_null(b.owner);
    assert_null(b.team);
    assert_null(b.customer);
    assert_int_equal(b.from_ms, 0);
    assert_int_equal(b.to_ms, 0);
    assert_int_equal(b.as_of_ms, 0);
    assert_null(a.owner);
    assert_null(a.team);
    assert_null(a.customer);
    assert_int_equal(a.from_ms, 0);
    assert_int_equal(a.to_ms, 0);
    assert_int_equal(a.as_of_ms, 0);
    assert_int_equal(sfsm_report_filter_init(&b, SFSM_REPORT_FILTER_VERSION + 1), SFSM_EVERSION);
    assert_int_equal(sfsm_report_filter_init(NULL, SFSM_REPORT_FILTER_VERSION), SFSM_EINVAL);
}

static int busy_cb(const sfsm_opp *o, void *ud)
{
    (void)o;
    fixture *f = ud;
    sfsm_report *r = (sfsm_report *)f;
    int rc = sfsm_report_pipeline(f->engine, NULL, &r);
    assert_int_equal(rc, SFSM_EBUSY);
    assert_null(r);
    return 1;
}

static void test_table_api(void **state)
{
    fixture *f = *state;
    build_small(f);
    sfsm_report_filter flt = flt_new();
    sfsm_report *r = run(f, R_PIPELINE, &flt);
    assert_string_equal(sfsm_report_name(r), "pipeline");
    assert_int_equal(sfsm_report_column_count(r), 5);
    for (size_t c = 0; c < 5; c++)
        assert_string_equal(sfsm_report_column_name(r, c), COLS_PIPELINE[c]);
    size_t c = 99;
    assert_int_equal(sfsm_report_column(r, "weighted", &c), SFSM_OK);
    assert_int_equal(c, 4);
    assert_int_equal(sfsm_report_column(r, "Weighted", &c), SFSM_ENOTFOUND);
    assert_int_equal(sfsm_report_column(r, "probability", &c), SFSM_ENOTFOUND);
    size_t n = sfsm_report_row_count(r);
    assert_true(n > 0);
    /* out of range: null, no text, 0 */
    assert_true(sfsm_report_is_null(r, n, 0));
    assert_true(sfsm_report_is_null(r, 0, 5));
    assert_true(sfsm_report_is_null(r, SIZE_MAX, SIZE_MAX));
    assert_null(sfsm_report_text(r, n, 0));
    assert_null(sfsm_report_text(r, 0, 5));
    assert_int_equal(sfsm_report_int(r, n, 2), 0);
    assert_int_equal(sfsm_report_int(r, 0, 5), 0);
    /* cells of the wrong type */
    assert_false(sfsm_report_is_null(r, 0, 0));
    assert_non_null(sfsm_report_text(r, 0, 0));
    assert_int_equal(sfsm_report_int(r, 0, 0), 0);
    assert_false(sfsm_report_is_null(r, 0, 3));
    assert_null(sfsm_report_text(r, 0, 3));
    assert_true(sfsm_report_int(r, 0, 3) > 0);
    /* the JSON of a report, and its argument checks */
    char *js = (char *)f;
    assert_int_equal(sfsm_report_to_json(NULL, &js, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_report_to_json(r, NULL, NULL), SFSM_EINVAL);
    js = NULL;
    assert_int_equal(sfsm_report_to_json(r, &js, NULL), SFSM_OK); /* len may be NULL */
    assert_non_null(js);
    assert_non_null(strstr(js, "\"pipeline\""));
    assert_non_null(strstr(js, "\"weighted\""));
    sfsm_free(js);
    sfsm_report_free(r);
    sfsm_report_free(NULL);

    /* argument and filter errors: *out NULL after a failure */
    for (int k = 0; k < R_COUNT; k++) {
        sfsm_report_filter g = flt_period(Q1_FROM, Q1_TO);
        r = (sfsm_report *)f;
        assert_int_equal(REPORTS[k].fn(NULL, &g, &r), SFSM_EINVAL);
        assert_null(r);
        assert_int_equal(REPORTS[k].fn(f->engine, &g, NULL), SFSM_EINVAL);
        g.version = SFSM_REPORT_FILTER_VERSION + 1;
        r = (sfsm_report *)f;
        assert_int_equal(REPORTS[k].fn(f->engine, &g, &r), SFSM_EVERSION);
        assert_null(r);
        g = flt_period(Q1_TO, Q1_FROM); /* from > to */
        r = (sfsm_report *)f;
        if (REPORTS[k].fn(f->engine, &g, &r) != SFSM_EINVAL)
            fail_msg("%s: from > to not refused", REPORTS[k].name);
        assert_null(r);
    }
    /* the period a report requires */
    r = (sfsm_report *)f;
    assert_int_equal(sfsm_report_forecast(f->engine, NULL, &r), SFSM_EINVAL);
    assert_null(r);
    r = (sfsm_report *)f;
    assert_int_equal(sfsm_report_attainment(f->engine, NULL, &r), SFSM_EINVAL);
    assert_null(r);
    /* f NULL is SFSM_REPORT_FILTER_INIT */
    world w;
    world_load(&w, f);
    for (int k = 0; k < R_COUNT; k++) {
        if (k == R_FORECAST || k == R_ATTAINMENT)
            continue;
        r = NULL;
        assert_int_equal(REPORTS[k].fn(f->engine, NULL, &r), SFSM_OK);
        sfsm_report_filter g = flt_new();
        xtab x;
        REPORTS[k].bf(&w, &g, &x);
        rank_world = &w;
        compare_table(r, &x, REPORTS[k].rank, REPORTS[k].name);
        xt_free(&x);
        sfsm_report_free(r);
    }
    world_free(&w);
    /* from a callback on the same store: SFSM_EBUSY */
    assert_int_equal(sfsm_scan(f->engine, NULL, busy_cb, f), 1);
}

/* ------------------------------------------------------------------ */
/* tests: edge cases                                                   */
/* ------------------------------------------------------------------ */

static void test_empty_store(void **state)
{
    fixture *f = *state;
    world w;
    world_load(&w, f);
    sfsm_report_filter none = flt_new(), q1 = flt_period(Q1_FROM, Q1_TO);
    check_all(f, &w, &none);
    check_all(f, &w, &q1);
    /* literally: nothing in the money reports; funnel and calibration list
     * their stages; win rate has its row for everyone */
    sfsm_report *r = run(f, R_PIPELINE, &none);
    assert_int_equal(sfsm_report_row_count(r), 0);
    sfsm_report_free(r);
    r = run(f, R_FORECAST, &q1);
    assert_int_equal(sfsm_report_row_count(r), 0);
    sfsm_report_free(r);
    r = run(f, R_FUNNEL, &none);
    assert_int_equal(sfsm_report_row_count(r), 7);
    assert_int_equal(iv(r, 0, "reached"), 0);
    assert_true(isnull(r, 0, "rate_bp"));
    sfsm_report_free(r);
    r = run(f, R_WIN_RATE, &none);
    assert_int_equal(sfsm_report_row_count(r), 1);
    assert_true(isnull(r, 0, "owner"));
    assert_int_equal(iv(r, 0, "won"), 0);
    assert_true(isnull(r, 0, "rate_bp"));
    sfsm_report_free(r);
    r = run(f, R_CALIBRATION, &none);
    assert_int_equal(sfsm_report_row_count(r), 4);
    assert_true(isnull(r, 3, "observed_bp"));
    sfsm_report_free(r);
    r = run(f, R_ATTAINMENT, &q1);
    assert_int_equal(sfsm_report_row_count(r), 0);
    sfsm_report_free(r);
    world_free(&w);
}

static void test_one_opportunity(void **state)
{
    fixture *f = *state;
    sfsm_opp *o = mk(f, D(0, 0), "only", "solo", "Acme", 123457, "CNY", ymd(2026, 2, 1));
    world w;
    world_load(&w, f);
    sfsm_report_filter none = flt_new(), q1 = flt_period(Q1_FROM, Q1_TO);
    check_all(f, &w, &none);
    check_all(f, &w, &q1);
    world_free(&w);
    /* pipeline: 123457 × 10% = 12345.7 → 12345 */
    sfsm_report *r = run(f, R_PIPELINE, &none);
    assert_int_equal(sfsm_report_row_count(r), 1);
    assert_int_equal(iv(r, 0, "weighted"), 12345);
    sfsm_report_free(r);

    ev(f, o, D(3, 0), "qualify", &REP, NULL);
    ev(f, o, D(4, 0), "quote", &REP, NULL);
    ev(f, o, D(6, 0), "negotiate", &REP, NULL);
    ev(f, o, D(7, 0), "sign", &REP, NULL);
    target(f, SFSM_SUBJECT_OWNER, "solo", 2026, SFSM_PERIOD_MONTH, 1, 100000, "CNY");
    pay(f, D(9, 0), "only", 23457, "CNY");
    f->now = D(10, 0);
    world_load(&w, f);
    check_all(f, &w, &none);
    check_all(f, &w, &q1);
    sfsm_report_filter jan = flt_period(ymd(2026, 1, 1), ymd(2026, 2, 1));
    check_all(f, &w, &jan);
    world_free(&w);
    r = run(f, R_ATTAINMENT, &jan);
    assert_int_equal(sfsm_report_row_count(r), 1);
    assert_int_equal(iv(r, 0, "won"), 123457);
    assert_int_equal(iv(r, 0, "attainment_bp"), 12345); /* 123457 / 100000 = 123.457% */
    sfsm_report_free(r);
    r = run(f, R_RECEIVABLES, &none);
    assert_int_equal(sfsm_report_row_count(r), 2);
    assert_int_equal(iv(r, 0, "outstanding"), 100000);
    assert_int_equal(iv(r, 0, "outstanding_ms"), 3 * DAY_MS);
    sfsm_report_free(r);
    sfsm_opp_free(o);
}

/* ------------------------------------------------------------------ */
/* tests: each report on the hand-built data set                       */
/* ------------------------------------------------------------------ */

static const char *const SMALL_OWNERS[] = { "li", "wang", "zhao", "qian", "nobody" };

/* The report with the filters the small data set makes interesting. */
static void check_small_filters(fixture *f, const world *w, int which)
{
    sfsm_report_filter g = flt_new();
    check(f, w, which, &g);
    for (size_t k = 0; k < countof(SMALL_OWNERS); k++) {
        g = flt_new();
        g.owner = SMALL_OWNERS[k];
        check(f, w, which, &g);
    }
    static const char *const teams[] = { "north", "south", "east" };
    for (size_t k = 0; k < countof(teams); k++) {
        g = flt_new();
        g.team = teams[k];
        check(f, w, which, &g);
    }
    g = flt_new();
    g.team = "north";
    g.owner = "zhao"; /* not in north: nothing */
    check(f, w, which, &g);
    g = flt_new();
    g.customer = "Acme";
    check(f, w, which, &g);
    g = flt_new();
    g.customer = "Acme";
    g.owner = "wang";
    check(f, w, which, &g);
    /* as_of exactly at an entry's time sees that entry ("as the history
     * stood at that moment" includes what happened at it): A signed at
     * D(20, 0), B lost at D(4, 10), D reopened at D(40, 30), C saved at
     * D(190, 20); and 1 ms before each */
    const int64_t as_of[] = { D(4, 30),         D(12, 0),     END_OF_JUNE, D(186, 0),     D(190, 20) + 1,
                              D(20, 0),         D(20, 0) - 1, D(4, 10),    D(4, 10) - 1,  D(40, 30),
                              D(40, 30) - 1,    D(190, 20),   D(190, 20) - 1, D(3, 20),   D(3, 20) - 1,
                              ymd(2030, 1, 1) /* after everything */ };
    for (size_t k = 0; k < countof(as_of); k++) {
        g = flt_new();
        g.as_of_ms = as_of[k];
        check(f, w, which, &g);
        g.team = "north";
        check(f, w, which, &g);
    }
    if (which == R_STALE || which == R_CALIBRATION || which == R_RECEIVABLES)
        return;
    const int64_t periods[][2] = {
        { ymd(2026, 1, 1), ymd(2026, 4, 1) },  { ymd(2026, 4, 1), ymd(2026, 7, 1) },
        { ymd(2026, 1, 1), ymd(2027, 1, 1) },  { ymd(2026, 1, 1), ymd(2026, 2, 1) },
        { ymd(2026, 3, 1), ymd(2026, 4, 1) },  { ymd(2026, 1, 5), ymd(2026, 1, 12) },
        { ymd(2026, 2, 14), ymd(2026, 2, 20) }, { ymd(2030, 1, 1), ymd(2031, 1, 1) },
        { D(20, 0), D(20, 0) + 1 },            { ymd(2025, 12, 29), ymd(2026, 1, 5) },
        { D(19, 0), D(20, 0) },                { D(4, 10), D(8, 30) },
    };
    for (size_t k = 0; k < countof(periods); k++) {
        g = flt_period(periods[k][0], periods[k][1]);
        check(f, w, which, &g);
        g.owner = "li";
        check(f, w, which, &g);
        g.owner = NULL;
        g.team = "south";
        check(f, w, which, &g);
        g.team = NULL;
        g.as_of_ms = END_OF_JUNE;
        check(f, w, which, &g);
        g.as_of_ms = D(50, 0);
        check(f, w, which, &g);
    }
}

static void test_pipeline(void **state)
{
    fixture *f = *state;
    build_small(f);
    world w;
    world_load(&w, f);
    check_small_filters(f, &w, R_PIPELINE);
    world_free(&w);

    sfsm_report_filter g = flt_new();
    sfsm_report *r = run(f, R_PIPELINE, &g);
    /* two currencies in one stage: two rows, never added together */
    size_t cny = row_of(r, "stage", "negotiating", "currency", "CNY");
    size_t usd = row_of(r, "stage", "negotiating", "currency", "USD");
    assert_int_equal(iv(r, cny, "count"), 1);
    assert_int_equal(iv(r, cny, "amount"), 150000);
    assert_int_equal(iv(r, cny, "weighted"), 112500);
    assert_int_equal(iv(r, usd, "amount"), 90000);
    assert_int_equal(iv(r, usd, "weighted"), 67500);
    size_t lead = row_of(r, "stage", "lead", "currency", "CNY");
    assert_int_equal(iv(r, lead, "weighted"), 3000);
    assert_true(cny < usd || usd < cny);
    assert_true(lead < cny && lead < usd); /* table order */
    sfsm_report_free(r);

    /* as of 30 June: C negotiating at its requoted 180000, F still quoted */
    g.as_of_ms = END_OF_JUNE;
    r = run(f, R_PIPELINE, &g);
    cny = row_of(r, "stage", "negotiating", "currency", "CNY");
    assert_int_equal(iv(r, cny, "amount"), 180000);
    assert_int_equal(iv(r, cny, "weighted"), 135000);
    usd = row_of(r, "stage", "quoted", "currency", "USD");
    assert_int_equal(iv(r, usd, "amount"), 90000);
    assert_int_equal(iv(r, usd, "weighted"), 45000);
    sfsm_report_free(r);

    /* as of the very moment of C's requote: quoted at 180000 */
    g.as_of_ms = D(15, 20);
    r = run(f, R_PIPELINE, &g);
    cny = row_of(r, "stage", "quoted", "currency", "CNY");
    assert_int_equal(iv(r, cny, "amount"), 180000);
    sfsm_report_free(r);

    /* as of day 14 (before C's requote): A and C negotiating, C at 200000 */
    g.as_of_ms = D(14, 0);
    r = run(f, R_PIPELINE, &g);
    cny = row_of(r, "stage", "negotiating", "currency", "CNY");
    assert_int_equal(iv(r, cny, "count"), 2);
    assert_int_equal(iv(r, cny, "amount"), 300000);
    assert_int_equal(iv(r, cny, "weighted"), 225000);
    sfsm_report_free(r);
}

static void test_forecast(void **state)
{
    fixture *f = *state;
    build_small(f);
    world w;
    world_load(&w, f);
    check_small_filters(f, &w, R_FORECAST);
    world_free(&w);

    /* Q1: closed A (CNY) and D (USD, won after a loss); F (negotiating,
     * closes 31 Mar) in commit; B lost: omitted */
    sfsm_report_filter g = flt_period(Q1_FROM, Q1_TO);
    sfsm_report *r = run(f, R_FORECAST, &g);
    size_t i = row_of(r, "category", "closed", "currency", "CNY");
    assert_int_equal(iv(r, i, "amount"), 100000);
    assert_int_equal(iv(r, i, "weighted"), 100000);
    i = row_of(r, "category", "closed", "currency", "USD");
    assert_int_equal(iv(r, i, "amount"), 70000);
    i = row_of(r, "category", "commit", "currency", "USD");
    assert_int_equal(iv(r, i, "amount"), 90000);
    assert_int_equal(iv(r, i, "weighted"), 67500);
    i = row_of(r, "category", "total", "currency", "USD");
    assert_int_equal(iv(r, i, "count"), 2);
    assert_int_equal(iv(r, i, "amount"), 160000);
    assert_int_equal(iv(r, i, "weighted"), 137500);
    i = row_of(r, "category", "total", "currency", "CNY");
    assert_int_equal(iv(r, i, "count"), 1);
    assert_int_equal(sfsm_report_row_count(r), 5);
    sfsm_report_free(r);
    /* the same as of 30 June: F was quoted (best case) */
    g.as_of_ms = END_OF_JUNE;
    r = run(f, R_FORECAST, &g);
    i = row_of(r, "category", "best_case", "currency", "USD");
    assert_int_equal(iv(r, i, "weighted"), 45000);
    sfsm_report_free(r);
}

static void test_funnel(void **state)
{
    fixture *f = *state;
    build_small(f);
    world w;
    world_load(&w, f);
    check_small_filters(f, &w, R_FUNNEL);
    world_free(&w);

    sfsm_report_filter g = flt_period(ymd(2026, 1, 1), ymd(2026, 2, 1));
    sfsm_report *r = run(f, R_FUNNEL, &g);
    static const char *const stages[] = { "lead", "qualified", "quoted", "negotiating", "signed", "delivered",
                                          "serviced" };
    static const int64_t reached[] = { 6, 5, 4, 4, 2, 1, 0 };
    static const int64_t rate[] = { 8333, 8000, 10000, 5000, 5000, 0 };
    assert_int_equal(sfsm_report_row_count(r), 7);
    for (size_t k = 0; k < 7; k++) {
        assert_string_equal(sfsm_report_text(r, k, col(r, "stage")), stages[k]);
        assert_int_equal(iv(r, k, "reached"), reached[k]);
        if (k < 6) {
            assert_string_equal(sfsm_report_text(r, k, col(r, "next")), stages[k + 1]);
            assert_int_equal(iv(r, k, "converted"), reached[k + 1]);
            assert_int_equal(iv(r, k, "rate_bp"), rate[k]);
        } else {
            assert_true(isnull(r, k, "next"));
        }
    }
    sfsm_report_free(r);
}

static void test_win_rate(void **state)
{
    fixture *f = *state;
    build_small(f);
    world w;
    world_load(&w, f);
    check_small_filters(f, &w, R_WIN_RATE);
    world_free(&w);

    sfsm_report_filter g = flt_new();
    sfsm_report *r = run(f, R_WIN_RATE, &g);
    assert_int_equal(sfsm_report_row_count(r), 3);
    assert_string_equal(sfsm_report_text(r, 0, col(r, "owner")), "li");
    assert_int_equal(iv(r, 0, "won"), 1);
    assert_int_equal(iv(r, 0, "lost"), 1);
    assert_int_equal(iv(r, 0, "rate_bp"), 5000);
    assert_string_equal(sfsm_report_text(r, 1, col(r, "owner")), "zhao"); /* lost, reopened, won: won */
    assert_int_equal(iv(r, 1, "won"), 1);
    assert_int_equal(iv(r, 1, "lost"), 0);
    assert_true(isnull(r, 2, "owner"));
    assert_int_equal(iv(r, 2, "rate_bp"), 6666);
    sfsm_report_free(r);
    /* as of 1 Feb, D's last close was its loss */
    g.as_of_ms = ymd(2026, 2, 1);
    r = run(f, R_WIN_RATE, &g);
    size_t i = row_of(r, "owner", "zhao", NULL, NULL);
    assert_int_equal(iv(r, i, "won"), 0);
    assert_int_equal(iv(r, i, "lost"), 1);
    assert_int_equal(iv(r, i, "rate_bp"), 0);
    sfsm_report_free(r);
}

static void test_velocity(void **state)
{
    fixture *f = *state;
    build_small(f);
    world w;
    world_load(&w, f);
    check_small_filters(f, &w, R_VELOCITY);
    world_free(&w);

    sfsm_report_filter g = flt_new();
    sfsm_report *r = run(f, R_VELOCITY, &g);
    /* lead stays of 2,2,3,3,2,1 days (D's twice) */
    size_t i = row_of(r, "stage", "lead", NULL, NULL);
    assert_true(isnull(r, i, "owner"));
    assert_int_equal(iv(r, i, "stays"), 6);
    assert_int_equal(iv(r, i, "avg_ms"), 13 * DAY_MS / 6);
    assert_int_equal(iv(r, i, "median_ms"), 2 * DAY_MS);
    i = row_of(r, "stage", "quoted", NULL, NULL); /* 4, 2, 2, 5, 172 days */
    assert_int_equal(iv(r, i, "stays"), 5);
    assert_int_equal(iv(r, i, "avg_ms"), 37 * DAY_MS);
    assert_int_equal(iv(r, i, "median_ms"), 4 * DAY_MS);
    i = row_of(r, "stage", "lost", NULL, NULL);
    assert_int_equal(iv(r, i, "stays"), 1);
    assert_int_equal(iv(r, i, "median_ms"), 32 * DAY_MS);
    i = row_of(r, "stage", "cycle", "owner", "zhao");
    assert_int_equal(iv(r, i, "stays"), 1);
    assert_int_equal(iv(r, i, "median_ms"), 55 * DAY_MS);
    i = row_of(r, "stage", "cycle", "owner", "li");
    assert_int_equal(iv(r, i, "median_ms"), 20 * DAY_MS);
    sfsm_report_free(r);
}

/* A median of an even count is the lower middle. */
static void test_velocity_even_median(void **state)
{
    fixture *f = *state;
    static const int days[] = { 9, 1, 5, 2 };
    for (int k = 0; k < 4; k++) {
        char id[8];
        snprintf(id, sizeof id, "m%d", k);
        sfsm_opp *o = mk(f, D(0, 10 * k), id, "mo", "Acme", 1000, "CNY", ymd(2026, 3, 1));
        ev(f, o, D(days[k], 10 * k), "qualify", &REP, NULL);
        sfsm_opp_free(o);
    }
    f->now = D(20, 0);
    world w;
    world_load(&w, f);
    sfsm_report_filter g = flt_new();
    check(f, &w, R_VELOCITY, &g);
    world_free(&w);
    sfsm_report *r = run(f, R_VELOCITY, &g);
    assert_int_equal(sfsm_report_row_count(r), 1);
    assert_int_equal(iv(r, 0, "stays"), 4);
    assert_int_equal(iv(r, 0, "median_ms"), 2 * DAY_MS); /* 1, 2 | 5, 9 */
    assert_int_equal(iv(r, 0, "avg_ms"), 17 * DAY_MS / 4);
    sfsm_report_free(r);
}

static void test_stale(void **state)
{
    fixture *f = *state;
    build_small(f);
    world w;
    world_load(&w, f);
    check_small_filters(f, &w, R_STALE);
    world_free(&w);

    sfsm_report_filter g = flt_new();
    sfsm_report *r = run(f, R_STALE, &g);
    /* E in lead since d10 09:40, C negotiating since d17 09:20; F entered
     * negotiating 10 days ago (21 allowed); won and lost ones never stale */
    assert_int_equal(sfsm_report_row_count(r), 2);
    assert_string_equal(sfsm_report_text(r, 0, col(r, "id")), "E");
    assert_int_equal(iv(r, 0, "entered_ms"), D(10, 40));
    assert_int_equal(iv(r, 0, "days_in_stage"), 185);
    assert_int_equal(iv(r, 0, "stale_days"), 14);
    assert_string_equal(sfsm_report_text(r, 0, col(r, "customer")), "Delta");
    assert_string_equal(sfsm_report_text(r, 1, col(r, "id")), "C");
    assert_int_equal(iv(r, 1, "days_in_stage"), 178);
    assert_int_equal(iv(r, 1, "stale_days"), 21);
    sfsm_report_free(r);
}

/* Stale means more than the stage's days: exact boundaries, oldest first. */
static void test_stale_exact_days(void **state)
{
    fixture *f = *state;
    /* three in quoted (10 days), entered at different times */
    static const int entered_day[] = { 30, 5, 20 };
    const char *ids[] = { "s-late", "s-old", "s-mid" };
    for (int k = 0; k < 3; k++) {
        sfsm_opp *o = mk(f, D(entered_day[k] - 2, 0), ids[k], "st", "Acme", 5000, "USD", ymd(2026, 9, 1));
        ev(f, o, D(entered_day[k] - 1, 0), "qualify", &REP, NULL);
        ev(f, o, D(entered_day[k], 0), "quote", &REP, NULL);
        sfsm_opp_free(o);
    }
    f->now = D(60, 0);
    world w;
    world_load(&w, f);
    sfsm_report_filter g = flt_new();
    int64_t e_old = D(5, 0);
    /* exactly 10 days: not stale; 1 ms more: stale, 10 days */
    int64_t probes[] = { e_old + 10 * DAY_MS, e_old + 10 * DAY_MS + 1, e_old + 11 * DAY_MS - 1,
                         e_old + 11 * DAY_MS, D(31, 0), D(40, 0) + 1, D(60, 0) };
    for (size_t k = 0; k < countof(probes); k++) {
        g.as_of_ms = probes[k];
        check(f, &w, R_STALE, &g);
    }
    g.as_of_ms = 0;
    check(f, &w, R_STALE, &g);
    world_free(&w);

    g.as_of_ms = e_old + 10 * DAY_MS;
    sfsm_report *r = run(f, R_STALE, &g);
    assert_int_equal(sfsm_report_row_count(r), 0);
    sfsm_report_free(r);
    g.as_of_ms = e_old + 10 * DAY_MS + 1;
    r = run(f, R_STALE, &g);
    assert_int_equal(sfsm_report_row_count(r), 1);
    assert_string_equal(sfsm_report_text(r, 0, col(r, "id")), "s-old");
    assert_int_equal(iv(r, 0, "days_in_stage"), 10);
    assert_int_equal(iv(r, 0, "stale_days"), 10);
    sfsm_report_free(r);
    g.as_of_ms = 0; /* the engine clock: day 60 */
    r = run(f, R_STALE, &g);
    assert_int_equal(sfsm_report_row_count(r), 3);
    assert_string_equal(sfsm_report_text(r, 0, col(r, "id")), "s-old");
    assert_string_equal(sfsm_report_text(r, 1, col(r, "id")), "s-mid");
    assert_string_equal(sfsm_report_text(r, 2, col(r, "id")), "s-late");
    assert_int_equal(iv(r, 0, "days_in_stage"), 55);
    assert_int_equal(iv(r, 1, "days_in_stage"), 40);
    assert_int_equal(iv(r, 2, "days_in_stage"), 30);
    assert_string_equal(sfsm_report_text(r, 2, col(r, "stage")), "quoted");
    assert_int_equal(iv(r, 2, "entered_ms"), D(30, 0));
    sfsm_report_free(r);
}

static void test_calibration(void **state)
{
    fixture *f = *state;
    build_small(f);
    world w;
    world_load(&w, f);
    check_small_filters(f, &w, R_CALIBRATION);
    world_free(&w);

    sfsm_report_filter g = flt_new();
    sfsm_report *r = run(f, R_CALIBRATION, &g);
    assert_int_equal(sfsm_report_row_count(r), 4);
    static const char *const stages[] = { "lead", "qualified", "quoted", "negotiating" };
    static const int64_t prob[] = { 10, 25, 50, 75 }, closed[] = { 3, 3, 2, 2 }, won[] = { 2, 2, 2, 2 },
                         bp[] = { 6666, 6666, 10000, 10000 };
    for (size_t k = 0; k < 4; k++) {
        assert_string_equal(sfsm_report_text(r, k, col(r, "stage")), stages[k]);
        assert_int_equal(iv(r, k, "probability"), prob[k]);
        assert_int_equal(iv(r, k, "closed"), closed[k]);
        assert_int_equal(iv(r, k, "won"), won[k]);
        assert_int_equal(iv(r, k, "observed_bp"), bp[k]);
    }
    sfsm_report_free(r);
    /* as of 1 Feb: only B and D closed, both lost; D never quoted by then */
    g.as_of_ms = ymd(2026, 2, 1);
    r = run(f, R_CALIBRATION, &g);
    assert_int_equal(iv(r, 0, "closed"), 3); /* A was won on d20 */
    assert_int_equal(iv(r, 0, "won"), 1);
    assert_int_equal(iv(r, 0, "observed_bp"), 3333);
    assert_int_equal(iv(r, 2, "closed"), 1);
    assert_int_equal(iv(r, 2, "observed_bp"), 10000);
    sfsm_report_free(r);
    g.as_of_ms = D(4, 0);
    r = run(f, R_CALIBRATION, &g);
    assert_int_equal(iv(r, 0, "closed"), 0);
    assert_true(isnull(r, 0, "observed_bp"));
    sfsm_report_free(r);
}

static void test_attainment(void **state)
{
    fixture *f = *state;
    build_small(f);
    small_targets(f);
    world w;
    world_load(&w, f);
    /* the split stored the annual target and quarters that add up exactly,
     * the remainder going to the earliest */
    int64_t parts[5] = { 0 };
    for (size_t k = 0; k < w.ntargets; k++)
        if (strcmp(w.targets[k].subject, "south") == 0) {
            assert_int_equal(w.targets[k].subject_kind, SFSM_SUBJECT_TEAM);
            if (w.targets[k].kind == SFSM_PERIOD_YEAR)
                parts[0] = w.targets[k].amount;
            else
                parts[w.targets[k].index] = w.targets[k].amount;
        }
    assert_int_equal(parts[0], 100001);
    assert_int_equal(parts[1], 25001);
    assert_int_equal(parts[2], 25000);
    assert_int_equal(parts[4], 25000);
    sfsm_report_filter g;
    for (int q = 1; q <= 4; q++) {
        int64_t a, b;
        assert_true(my_bounds(2026, SFSM_PERIOD_QUARTER, q, &a, &b));
        g = flt_period(a, b);
        check(f, &w, R_ATTAINMENT, &g);
        g.as_of_ms = D(50, 0);
        check(f, &w, R_ATTAINMENT, &g);
        g.as_of_ms = 0;
        g.customer = "Acme";
        check(f, &w, R_ATTAINMENT, &g);
    }
    g = flt_period(ymd(2026, 1, 1), ymd(2027, 1, 1));
    check(f, &w, R_ATTAINMENT, &g);
    g = flt_period(ymd(2026, 1, 1), ymd(2026, 2, 1)); /* a month without targets */
    check(f, &w, R_ATTAINMENT, &g);
    g = flt_period(ymd(2026, 1, 1), ymd(2026, 1, 15)); /* not a calendar period */
    check(f, &w, R_ATTAINMENT, &g);
    g = flt_period(ymd(2026, 1, 1), ymd(2026, 7, 1)); /* half a year: not one either */
    check(f, &w, R_ATTAINMENT, &g);
    g = flt_period(ymd(2026, 1, 2), ymd(2026, 4, 2)); /* three months, not a quarter */
    check(f, &w, R_ATTAINMENT, &g);
    world_free(&w);

    g = flt_period(Q1_FROM, Q1_TO);
    sfsm_report *r = run(f, R_ATTAINMENT, &g);
    assert_int_equal(sfsm_report_row_count(r), 4);
    size_t i = row_of(r, "subject_kind", "owner", "subject", "li");
    assert_int_equal(iv(r, i, "target"), 200000);
    assert_int_equal(iv(r, i, "won"), 100000);
    assert_int_equal(iv(r, i, "attainment_bp"), 5000);
    i = row_of(r, "subject_kind", "owner", "subject", "wang");
    assert_int_equal(iv(r, i, "target"), 0);
    assert_true(isnull(r, i, "attainment_bp")); /* a target of zero */
    i = row_of(r, "subject_kind", "team", "subject", "north");
    assert_int_equal(iv(r, i, "won"), 0);
    assert_int_equal(iv(r, i, "attainment_bp"), 0);
    i = row_of(r, "subject_kind", "team", "subject", "south");
    assert_int_equal(iv(r, i, "target"), 25001);
    assert_int_equal(iv(r, i, "won"), 70000);
    assert_int_equal(iv(r, i, "attainment_bp"), 27998);
    sfsm_report_free(r);
    g = flt_period(ymd(2026, 1, 1), ymd(2027, 1, 1));
    r = run(f, R_ATTAINMENT, &g);
    assert_int_equal(sfsm_report_row_count(r), 1);
    assert_int_equal(iv(r, 0, "attainment_bp"), 6999);
    sfsm_report_free(r);

    /* ISO weeks: week 1 of 2026 starts Monday 29 Dec 2025; week 53 ends
     * Sunday 3 Jan 2027 */
    int64_t a, b;
    assert_int_equal(iso_weeks(2026), 53);
    assert_true(my_bounds(2026, SFSM_PERIOD_WEEK, 1, &a, &b));
    assert_int_equal(a, ymd(2025, 12, 29));
    sfsm_period p = { .year = 2026, .kind = SFSM_PERIOD_WEEK, .index = 1 };
    int64_t la, lb;
    assert_int_equal(sfsm_period_bounds(&p, &la, &lb), SFSM_OK);
    assert_int_equal(la, a);
    assert_int_equal(lb, b);
    p.index = 53;
    assert_int_equal(sfsm_period_bounds(&p, &la, &lb), SFSM_OK);
    assert_true(my_bounds(2026, SFSM_PERIOD_WEEK, 53, &a, &b));
    assert_int_equal(la, a);
    assert_int_equal(lb, ymd(2027, 1, 4));
    target(f, SFSM_SUBJECT_OWNER, "li", 2026, SFSM_PERIOD_WEEK, 3, 50000, "CNY");  /* 12–18 Jan: A signed 21 Jan */
    target(f, SFSM_SUBJECT_OWNER, "li", 2026, SFSM_PERIOD_WEEK, 4, 50000, "CNY");  /* 19–25 Jan */
    world_load(&w, f);
    for (int k = 1; k <= 5; k++) {
        assert_true(my_bounds(2026, SFSM_PERIOD_WEEK, k, &a, &b));
        g = flt_period(a, b);
        check(f, &w, R_ATTAINMENT, &g);
    }
    world_free(&w);
    assert_true(my_bounds(2026, SFSM_PERIOD_WEEK, 4, &a, &b));
    g = flt_period(a, b);
    r = run(f, R_ATTAINMENT, &g);
    assert_int_equal(sfsm_report_row_count(r), 1);
    assert_int_equal(iv(r, 0, "won"), 100000);
    assert_int_equal(iv(r, 0, "attainment_bp"), 20000);
    sfsm_report_free(r);
    /* a part weighted 0 stays 0, even when it comes first */
    static const uint32_t zero_first[4] = { 0, 1, 1, 1 };
    sfsm_target z = {
        .subject_kind = SFSM_SUBJECT_OWNER,
        .subject = "qian",
        .period = { .year = 2026, .kind = SFSM_PERIOD_YEAR, .index = 1 },
        .amount = 10000,
        .currency = "CNY",
    };
    assert_int_equal(sfsm_target_split(f->engine, &z, SFSM_PERIOD_QUARTER, zero_first, 4), SFSM_OK);
    world_load(&w, f);
    check_split(&w, SFSM_SUBJECT_OWNER, "qian", SFSM_PERIOD_QUARTER, zero_first, 4, 10000, "CNY");
    int64_t zparts[4];
    expected_split(10000, zero_first, 4, zparts);
    assert_int_equal(zparts[0], 0);
    assert_int_equal(zparts[1], 3334);
    g = flt_period(Q1_FROM, Q1_TO); /* qian's first quarter: a target of 0 */
    check(f, &w, R_ATTAINMENT, &g);
    world_free(&w);
}

static void test_receivables(void **state)
{
    fixture *f = *state;
    build_small(f);
    world w;
    world_load(&w, f);
    check_small_filters(f, &w, R_RECEIVABLES);
    sfsm_report_filter g = flt_new();
    g.as_of_ms = D(30, 0); /* before A's payment */
    check(f, &w, R_RECEIVABLES, &g);
    g.as_of_ms = D(30, 5); /* the moment of it */
    check(f, &w, R_RECEIVABLES, &g);
    world_free(&w);

    g = flt_new();
    sfsm_report *r = run(f, R_RECEIVABLES, &g);
    assert_int_equal(sfsm_report_row_count(r), 4);
    assert_string_equal(sfsm_report_text(r, 0, col(r, "id")), "A");
    assert_int_equal(iv(r, 0, "won"), 100000);
    assert_int_equal(iv(r, 0, "collected"), 40000);
    assert_int_equal(iv(r, 0, "outstanding"), 60000);
    assert_int_equal(iv(r, 0, "won_ms"), D(20, 0));
    assert_int_equal(iv(r, 0, "outstanding_ms"), f->now - D(20, 0));
    assert_string_equal(sfsm_report_text(r, 1, col(r, "id")), "D");
    assert_int_equal(iv(r, 1, "outstanding"), 0);
    assert_true(isnull(r, 1, "outstanding_ms"));
    assert_true(isnull(r, 2, "id"));
    assert_true(isnull(r, 3, "id"));
    sfsm_report_free(r);
    g.as_of_ms = D(65, 0); /* D won, not paid yet */
    r = run(f, R_RECEIVABLES, &g);
    size_t i = row_of(r, "id", "D", NULL, NULL);
    assert_int_equal(iv(r, i, "collected"), 0);
    assert_int_equal(iv(r, i, "outstanding_ms"), D(65, 0) - D(60, 30));
    sfsm_report_free(r);
}

/* Default pipeline: lead and qualified count as pipeline, quoted best
 * case, negotiating commit, won stages closed, lost omitted. */
static void test_forecast_categories(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *stage;
        sfsm_forecast cat;
    } cats[] = {
        { "lead", SFSM_FORECAST_PIPELINE }, { "qualified", SFSM_FORECAST_PIPELINE },
        { "quoted", SFSM_FORECAST_BEST_CASE }, { "negotiating", SFSM_FORECAST_COMMIT },
        { "signed", SFSM_FORECAST_CLOSED }, { "delivered", SFSM_FORECAST_CLOSED },
        { "serviced", SFSM_FORECAST_CLOSED }, { "lost", SFSM_FORECAST_OMITTED },
    };
    for (size_t k = 0; k < countof(cats); k++) {
        size_t i;
        assert_int_equal(sfsm_pipeline_stage_index(f->pipeline, cats[k].stage, &i), SFSM_OK);
        assert_int_equal(sfsm_pipeline_stage_forecast(f->pipeline, i), cats[k].cat);
    }
    /* one opportunity per stage, all closing in February, 1000 CNY each */
    static const char *const walk[][7] = {
        { NULL },
        { "qualify", NULL },
        { "qualify", "quote", NULL },
        { "qualify", "quote", "negotiate", NULL },
        { "qualify", "quote", "negotiate", "sign", NULL },
        { "qualify", "quote", "negotiate", "sign", "deliver", NULL },
        { "qualify", "quote", "negotiate", "sign", "deliver", "service", NULL },
        { "qualify", "lose", NULL },
    };
    for (size_t k = 0; k < countof(walk); k++) {
        char id[16];
        snprintf(id, sizeof id, "fc%zu", k);
        sfsm_opp *o = mk(f, D(31, (int)k), id, "fo", "Acme", 1000, "CNY", ymd(2026, 2, 20));
        for (int s = 0; walk[k][s]; s++)
            ev(f, o, D(32 + s, (int)k), walk[k][s], &MANAGER, "no budget");
        sfsm_opp_free(o);
    }
    f->now = D(50, 0);
    world w;
    world_load(&w, f);
    sfsm_report_filter g = flt_period(ymd(2026, 2, 1), ymd(2026, 3, 1));
    check(f, &w, R_FORECAST, &g);
    check(f, &w, R_PIPELINE, &g);
    world_free(&w);
    sfsm_report *r = run(f, R_FORECAST, &g);
    assert_int_equal(sfsm_report_row_count(r), 5); /* closed, pipeline, best_case, commit, total */
    size_t i = row_of(r, "category", "pipeline", NULL, NULL);
    assert_int_equal(iv(r, i, "count"), 2);
    assert_int_equal(iv(r, i, "amount"), 2000);
    assert_int_equal(iv(r, i, "weighted"), 350); /* 100 + 250 */
    i = row_of(r, "category", "best_case", NULL, NULL);
    assert_int_equal(iv(r, i, "count"), 1);
    assert_int_equal(iv(r, i, "weighted"), 500);
    i = row_of(r, "category", "commit", NULL, NULL);
    assert_int_equal(iv(r, i, "weighted"), 750);
    i = row_of(r, "category", "closed", NULL, NULL);
    assert_int_equal(iv(r, i, "count"), 3);
    assert_int_equal(iv(r, i, "amount"), 3000);
    assert_int_equal(iv(r, i, "weighted"), 3000);
    i = row_of(r, "category", "total", NULL, NULL);
    assert_int_equal(i, 4);
    assert_int_equal(iv(r, i, "count"), 7); /* lost omitted */
    assert_int_equal(iv(r, i, "amount"), 7000);
    assert_int_equal(iv(r, i, "weighted"), 4600);
    sfsm_report_free(r);
}

/* The largest amount there is (create, import and export share it). */
#define MAX_AMOUNT INT64_C(9007199254740991) /* 2^53 - 1 */

/* Sums that would overflow int64 fail with SFSM_EINVAL; amounts near the
 * limit that do not add up past it are reported exactly. 1024 deals at the
 * largest amount sum to 2^63 - 1024, the 1025th overflows. */
static void test_overflow(void **state)
{
    fixture *f = *state;
    char id[32];
    sfsm_opp *big[1025];
    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_OK);
    for (int i = 0; i < 1024; i++) {
        snprintf(id, sizeof id, "big-%04d", i);
        big[i] = mk(f, D(0, 0) + i, id, "ov", "Acme", MAX_AMOUNT, "CNY", ymd(2026, 2, 1));
    }
    assert_int_equal(sfsm_engine_commit(f->engine), SFSM_OK);
    sfsm_opp *u = mk(f, D(0, 5), "big-usd", "ov", "Acme", MAX_AMOUNT, "USD", ymd(2026, 2, 1));
    world w;
    world_load(&w, f);
    sfsm_report_filter none = flt_new(), q1 = flt_period(Q1_FROM, Q1_TO);
    check(f, &w, R_PIPELINE, &none);
    check(f, &w, R_FORECAST, &q1);
    world_free(&w);
    /* 1024 in one currency, one in the other: fine, and the weighted figure
     * exact (Σ amount × 10 does not fit in int64, the result does) */
    sfsm_report *r = run(f, R_PIPELINE, &none);
    assert_int_equal(sfsm_report_row_count(r), 2);
    assert_int_equal(iv(r, 0, "amount"), 1024 * MAX_AMOUNT);
    assert_int_equal(iv(r, 0, "weighted"), 1024 * MAX_AMOUNT / 10);
    check_json(r, "pipeline with 1024 x (2^53-1)");
    sfsm_report_free(r);

    big[1024] = mk(f, D(1, 0), "big-last", "ov", "Acme", MAX_AMOUNT, "CNY", ymd(2026, 2, 1));
    f->now = D(2, 0);
    world_load(&w, f);
    check(f, &w, R_PIPELINE, &none);
    check(f, &w, R_FORECAST, &q1);
    world_free(&w);
    r = (sfsm_report *)f;
    assert_int_equal(sfsm_report_pipeline(f->engine, &none, &r), SFSM_EINVAL);
    assert_null(r);
    assert_msg_has("CNY");
    assert_msg_has("big-");
    r = (sfsm_report *)f;
    assert_int_equal(sfsm_report_forecast(f->engine, &q1, &r), SFSM_EINVAL);
    assert_null(r);
    /* a filter that keeps only 1024 of them: fine again */
    sfsm_report_filter one = flt_new();
    one.as_of_ms = D(0, 30);
    r = run(f, R_PIPELINE, &one);
    sfsm_report_free(r);

    /* all won: the money of closed deals overflows too */
    const char *const walk[] = { "qualify", "quote", "negotiate", "sign" };
    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_OK);
    for (size_t k = 0; k < 4; k++)
        for (int i = 0; i < 1025; i++)
            ev(f, big[i], D(3 + (int)k, 0) + i, walk[k], &REP, NULL);
    assert_int_equal(sfsm_engine_commit(f->engine), SFSM_OK);
    target(f, SFSM_SUBJECT_OWNER, "ov", 2026, SFSM_PERIOD_QUARTER, 1, 1000, "CNY");
    f->now = D(10, 0);
    world_load(&w, f);
    check(f, &w, R_PIPELINE, &none);
    check(f, &w, R_FORECAST, &q1);
    check(f, &w, R_ATTAINMENT, &q1);
    check(f, &w, R_RECEIVABLES, &none);
    check(f, &w, R_FUNNEL, &none);   /* counts only: fine */
    check(f, &w, R_WIN_RATE, &none);
    world_free(&w);
    r = (sfsm_report *)f;
    assert_int_equal(sfsm_report_receivables(f->engine, &none, &r), SFSM_EINVAL);
    assert_null(r);
    r = (sfsm_report *)f;
    assert_int_equal(sfsm_report_attainment(f->engine, &q1, &r), SFSM_EINVAL);
    assert_null(r);
    for (int i = 0; i < 1025; i++)
        sfsm_opp_free(big[i]);
    sfsm_opp_free(u);
}

/* attainment takes exactly the calendar periods: every year, quarter, month
 * and ISO week of years at the edges and around now (bounds computed by the
 * test's own calendar), and nothing a day longer or shorter. */
static void test_attainment_periods(void **state)
{
    fixture *f = *state;
    static const int years[] = { 1970, 1971, 2015, 2020, 2026, 2027, 2032, 9998, 9999 };
    int accepted = 0;
    for (size_t yi = 0; yi < sizeof years / sizeof years[0]; yi++)
        for (int kind = SFSM_PERIOD_YEAR; kind <= SFSM_PERIOD_WEEK; kind++)
            for (int i = 1; i <= 53; i++) {
                int64_t a, b;
                if (!my_bounds(years[yi], kind, i, &a, &b))
                    continue;
                sfsm_report_filter flt = SFSM_REPORT_FILTER_INIT;
                flt.from_ms = a;
                flt.to_ms = b;
                sfsm_report *r = NULL;
                if (sfsm_report_attainment(f->engine, &flt, &r) != SFSM_OK)
                    fail_msg("%d kind %d index %d: refused: %s", years[yi], kind, i, sfsm_errmsg());
                sfsm_report_free(r);
                accepted++;
                const int64_t off[][2] = { { DAY_MS, 0 }, { 0, DAY_MS }, { -DAY_MS, 0 }, { 0, -DAY_MS }, { 1, 1 } };
                for (size_t k = 0; k < sizeof off / sizeof off[0]; k++) {
                    flt.from_ms = a + off[k][0];
                    flt.to_ms = b + off[k][1];
                    r = (sfsm_report *)f;
                    int rc = sfsm_report_attainment(f->engine, &flt, &r);
                    /* a week shifted by a day may not be another period; a year
                     * minus its first day is none either */
                    if (rc != SFSM_EINVAL)
                        fail_msg("%d kind %d index %d shifted by (%lld, %lld): rc %d", years[yi], kind, i,
                                 (long long)off[k][0], (long long)off[k][1], rc);
                    assert_null(r);
                }
            }
    /* 9 years: 1 + 4 + 12 + 52 or 53 ISO weeks each */
    assert_true(accepted >= 9 * (1 + 4 + 12 + 52));
}

/* sfsm_report_to_json: valid JSON with exactly the table's cells, text
 * escaped, integers exact. */
static void test_json(void **state)
{
    fixture *f = *state;
    const char *odd = "Acme \"Intl\" \\ 北京\tline\nnext \x01 end";
    sfsm_opp *o = mk(f, D(0, 0), "j\"1", "o\\wner", odd, MAX_AMOUNT, "CNY", ymd(2026, 2, 1));
    sfsm_opp_free(o);
    f->now = D(40, 0);
    world w;
    world_load(&w, f);
    sfsm_report_filter g = flt_new(), q1 = flt_period(Q1_FROM, Q1_TO);
    for (int k = 0; k < R_COUNT; k++)
        check(f, &w, k, (k == R_FORECAST || k == R_ATTAINMENT) ? &q1 : &g);
    world_free(&w);
    sfsm_report *r = run(f, R_STALE, &g);
    assert_int_equal(sfsm_report_row_count(r), 1);
    char *js = NULL;
    size_t len = 0;
    assert_int_equal(sfsm_report_to_json(r, &js, &len), SFSM_OK);
    jv *root = json_parse(js, len);
    assert_non_null(root);
    const jv *rows = jv_get(root, "rows");
    assert_non_null(rows);
    assert_int_equal(rows->n, 1);
    assert_string_equal(rows->items[0]->items[col(r, "customer")]->s, odd);
    assert_string_equal(rows->items[0]->items[col(r, "id")]->s, "j\"1");
    assert_string_equal(rows->items[0]->items[col(r, "owner")]->s, "o\\wner");
    assert_int_equal(rows->items[0]->items[col(r, "entered_ms")]->i, D(0, 0));
    assert_non_null(strstr(js, "\"report\""));
    assert_non_null(strstr(js, "\"stale\""));
    jv_free(root);
    sfsm_free(js);
    sfsm_report_free(r);
    /* the largest amount in one row: exact in the JSON */
    r = run(f, R_PIPELINE, &g);
    assert_int_equal(iv(r, 0, "amount"), MAX_AMOUNT);
    assert_int_equal(iv(r, 0, "weighted"), MAX_AMOUNT / 10);
    assert_int_equal(sfsm_report_to_json(r, &js, NULL), SFSM_OK);
    assert_non_null(strstr(js, "9007199254740991"));
    root = json_parse(js, strlen(js));
    assert_non_null(root);
    jv_free(root);
    sfsm_free(js);
    sfsm_report_free(r);
    /* an empty report: "rows": [] */
    g.owner = "nobody";
    r = run(f, R_PIPELINE, &g);
    assert_int_equal(sfsm_report_to_json(r, &js, &len), SFSM_OK);
    root = json_parse(js, len);
    assert_non_null(root);
    assert_int_equal(jv_get(root, "rows")->type, 'a');
    assert_int_equal(jv_get(root, "rows")->n, 0);
    assert_int_equal(jv_get(root, "columns")->n, 5);
    jv_free(root);
    sfsm_free(js);
    sfsm_report_free(r);
}

/* Opportunities without an amount (null currency: a group of its own,
 * never added to another), and weighted sums rounded down once per row,
 * not per opportunity. */
static void test_no_amount_and_rounding(void **state)
{
    fixture *f = *state;
    sfsm_opp *o = mk(f, D(0, 0), "n1", "na", "Acme", 0, NULL, ymd(2026, 2, 10));
    sfsm_opp_free(o);
    o = mk(f, D(0, 1), "n2", "na", "Acme", 0, NULL, ymd(2026, 2, 15));
    ev(f, o, D(1, 1), "qualify", &REP, NULL);
    sfsm_opp_free(o);
    o = mk(f, D(0, 2), "n3", "nb", "Beta", 0, NULL, ymd(2026, 2, 15));
    ev(f, o, D(1, 2), "lose", &REP, "no need");
    sfsm_opp_free(o);
    for (int k = 0; k < 3; k++) {
        char id[8];
        snprintf(id, sizeof id, "p%d", k);
        o = mk(f, D(2, k), id, "na", "Acme", 5, "CNY", ymd(2026, 2, 20)); /* 3 × 0.5 fen */
        sfsm_opp_free(o);
        snprintf(id, sizeof id, "q%d", k);
        o = mk(f, D(2, 10 + k), id, "nb", "Beta", 1, "USD", ymd(2026, 2, 20)); /* 3 × 0.5 cent */
        ev(f, o, D(3, 10 + k), "qualify", &REP, NULL);
        ev(f, o, D(4, 10 + k), "quote", &REP, NULL);
        sfsm_opp_free(o);
    }
    /* without an owner: won (partly paid), lost, and stale in lead */
    o = mk(f, D(8, 0), "x1", NULL, "Zeta", 100, "CNY", ymd(2026, 3, 10));
    ev(f, o, D(8, 5), "qualify", &REP, NULL);
    ev(f, o, D(8, 10), "quote", &REP, NULL);
    ev(f, o, D(8, 15), "negotiate", &REP, NULL);
    ev(f, o, D(8, 20), "sign", &REP, NULL);
    pay(f, D(8, 25), "x1", 40, "CNY");
    sfsm_opp_free(o);
    o = mk(f, D(8, 30), "x2", NULL, "Zeta", 100, "CNY", ymd(2026, 3, 10));
    ev(f, o, D(8, 40), "lose", &REP, "gone");
    sfsm_opp_free(o);
    o = mk(f, D(-20, 0), "x3", NULL, "Zeta", 10, "USD", ymd(2027, 3, 10));
    sfsm_opp_free(o);
    /* one that got its amount later */
    o = mk(f, D(5, 0), "n4", "nb", "Beta", 0, NULL, ymd(2026, 2, 25));
    ev(f, o, D(6, 0), "qualify", &REP, NULL);
    assert_int_equal(sfsm_opp_set_amount(o, 777, "USD"), SFSM_OK);
    ev(f, o, D(7, 0), "quote", &REP, NULL);
    sfsm_opp_free(o);
    f->now = D(10, 0);
    world w;
    world_load(&w, f);
    sfsm_report_filter none = flt_new(), feb = flt_period(ymd(2026, 2, 1), ymd(2026, 3, 1));
    check_all(f, &w, &none);
    check_all(f, &w, &feb);
    sfsm_report_filter g = flt_new();
    g.as_of_ms = D(6, 30); /* n4 had no amount yet */
    check_all(f, &w, &g);
    g = feb;
    g.as_of_ms = D(6, 30);
    check_all(f, &w, &g);
    g = flt_new();
    g.owner = "nb";
    check_all(f, &w, &g);
    world_free(&w);

    /* no owner: "" in win rate (report.h); in the cycle rows of velocity
     * read the same way; null in stale and receivables rows */
    sfsm_report *r = run(f, R_WIN_RATE, &none);
    size_t i = row_of(r, "owner", "", NULL, NULL);
    assert_int_equal(i, 0);
    assert_int_equal(iv(r, i, "won"), 1);
    assert_int_equal(iv(r, i, "lost"), 1);
    sfsm_report_free(r);
    r = run(f, R_VELOCITY, &none);
    i = row_of(r, "stage", "cycle", "owner", "");
    assert_int_equal(iv(r, i, "median_ms"), 20 * MIN_MS);
    sfsm_report_free(r);
    r = run(f, R_STALE, &none);
    i = row_of(r, "id", "x3", NULL, NULL);
    assert_true(isnull(r, i, "owner"));
    assert_int_equal(iv(r, i, "days_in_stage"), 30);
    sfsm_report_free(r);
    r = run(f, R_RECEIVABLES, &none);
    assert_int_equal(sfsm_report_row_count(r), 2);
    assert_true(isnull(r, 0, "owner"));
    assert_true(isnull(r, 1, "id"));
    assert_true(isnull(r, 1, "owner"));
    assert_int_equal(iv(r, 1, "outstanding"), 60);
    sfsm_report_free(r);

    r = run(f, R_PIPELINE, &none);
    i = row_of(r, "stage", "lead", "currency", NULL);
    assert_int_equal(iv(r, i, "count"), 1);
    assert_int_equal(iv(r, i, "amount"), 0);
    assert_int_equal(iv(r, i, "weighted"), 0);
    i = row_of(r, "stage", "lead", "currency", "CNY");
    assert_int_equal(iv(r, i, "count"), 3);
    assert_int_equal(iv(r, i, "amount"), 15);
    assert_int_equal(iv(r, i, "weighted"), 1); /* 1.5 → 1, not 3 × 0 */
    i = row_of(r, "stage", "quoted", "currency", "USD");
    assert_int_equal(iv(r, i, "count"), 4);
    assert_int_equal(iv(r, i, "amount"), 780);
    assert_int_equal(iv(r, i, "weighted"), 390);
    i = row_of(r, "stage", "lost", "currency", NULL);
    assert_int_equal(iv(r, i, "count"), 1);
    sfsm_report_free(r);
    g = flt_new();
    g.as_of_ms = D(6, 30);
    r = run(f, R_PIPELINE, &g);
    i = row_of(r, "stage", "quoted", "currency", "USD");
    assert_int_equal(iv(r, i, "count"), 3);
    assert_int_equal(iv(r, i, "amount"), 3);
    assert_int_equal(iv(r, i, "weighted"), 1); /* 1.5 → 1 */
    i = row_of(r, "stage", "qualified", "currency", NULL);
    assert_int_equal(iv(r, i, "count"), 2); /* n2 and n4 */
    sfsm_report_free(r);
    r = run(f, R_FORECAST, &feb);
    i = row_of(r, "category", "pipeline", "currency", NULL);
    assert_int_equal(iv(r, i, "count"), 2);
    assert_int_equal(iv(r, i, "amount"), 0);
    i = row_of(r, "category", "pipeline", "currency", "CNY");
    assert_int_equal(iv(r, i, "weighted"), 1);
    i = row_of(r, "category", "total", "currency", NULL);
    assert_int_equal(iv(r, i, "count"), 2);
    i = row_of(r, "category", "total", "currency", "USD");
    assert_int_equal(iv(r, i, "count"), 4);
    assert_int_equal(iv(r, i, "amount"), 780);
    assert_int_equal(iv(r, i, "weighted"), 390);
    sfsm_report_free(r);
}

/* Periods in which nothing happened. */
static void test_no_activity(void **state)
{
    fixture *f = *state;
    build_small(f);
    small_targets(f);
    target(f, SFSM_SUBJECT_OWNER, "li", 2026, SFSM_PERIOD_MONTH, 11, 5000, "CNY");
    world w;
    world_load(&w, f);
    sfsm_report_filter g = flt_period(ymd(2026, 11, 1), ymd(2026, 12, 1));
    check_all(f, &w, &g);
    g = flt_period(ymd(2030, 1, 1), ymd(2031, 1, 1));
    check_all(f, &w, &g);
    g = flt_period(ymd(2026, 11, 1), ymd(2026, 12, 1));
    g.as_of_ms = ymd(2025, 6, 1); /* before anything existed */
    check_all(f, &w, &g);
    world_free(&w);
    g = flt_period(ymd(2026, 11, 1), ymd(2026, 12, 1));
    sfsm_report *r = run(f, R_ATTAINMENT, &g);
    assert_int_equal(sfsm_report_row_count(r), 1);
    assert_int_equal(iv(r, 0, "won"), 0);
    assert_int_equal(iv(r, 0, "attainment_bp"), 0);
    sfsm_report_free(r);
    r = run(f, R_FORECAST, &g);
    assert_int_equal(sfsm_report_row_count(r), 0);
    sfsm_report_free(r);
    r = run(f, R_WIN_RATE, &g);
    assert_int_equal(sfsm_report_row_count(r), 1);
    assert_int_equal(iv(r, 0, "won") + iv(r, 0, "lost"), 0);
    sfsm_report_free(r);
}

/* ------------------------------------------------------------------ */
/* a simulated year, 300 opportunities, fixed seed                     */
/* ------------------------------------------------------------------ */

static uint64_t rng;

static uint64_t rnd(void)
{
    uint64_t x = rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng = x;
}

static int64_t rnd_below(int64_t n) { return (int64_t)(rnd() % (uint64_t)n); }

static const char *const R_OWNERS[] = { "ana", "bo", "chen", "dev", "eli", "fay" };
static const char *const R_CUSTOMERS[] = { "Acme", "Baidu Trading", "Chengdu Steel", "Delta",
                                           "Evergreen", "Fuxing", "Golden Bay", "Hua Parts" };
static const char *const R_REASONS[] = { "price too high", "lost to a competitor", "no budget", "project cancelled" };

#define R_OPPS 300

static int64_t r_amount(void) { return (1000 + rnd_below(1000000)) * 100; }

static void sim_year(fixture *f)
{
    rng = UINT64_C(0x9E3779B97F4A7C15);
    for (size_t k = 0; k < 3; k++)
        team(f, R_OWNERS[k], "east");
    team(f, R_OWNERS[3], "west");
    team(f, R_OWNERS[4], "west");
    /* targets: quarters split from annual targets with weights, months
     * evenly for the east team, ISO weeks for west, a few set directly, and
     * zero for fay's second quarter */
    for (size_t k = 0; k < 5; k++) {
        sfsm_target annual = {
            .subject_kind = SFSM_SUBJECT_OWNER,
            .subject = R_OWNERS[k],
            .period = { .year = 2026, .kind = SFSM_PERIOD_YEAR, .index = 1 },
            .amount = (int64_t)(20 + k) * 10000000 + 7,
            .currency = "CNY",
        };
        uint32_t wts[4] = { 1, 2, 3, (uint32_t)(k + 1) };
        assert_int_equal(sfsm_target_split(f->engine, &annual, SFSM_PERIOD_QUARTER, wts, 4), SFSM_OK);
        target(f, SFSM_SUBJECT_OWNER, R_OWNERS[k], 2026, SFSM_PERIOD_QUARTER, 2, 3000000 * (int64_t)(k + 1), "USD");
    }
    target(f, SFSM_SUBJECT_OWNER, "fay", 2026, SFSM_PERIOD_QUARTER, 2, 0, "CNY");
    sfsm_target east = {
        .subject_kind = SFSM_SUBJECT_TEAM,
        .subject = "east",
        .period = { .year = 2026, .kind = SFSM_PERIOD_YEAR, .index = 1 },
        .amount = 900000001,
        .currency = "CNY",
    };
    assert_int_equal(sfsm_target_split(f->engine, &east, SFSM_PERIOD_MONTH, NULL, 0), SFSM_OK);
    sfsm_target west = {
        .subject_kind = SFSM_SUBJECT_TEAM,
        .subject = "west",
        .period = { .year = 2026, .kind = SFSM_PERIOD_YEAR, .index = 1 },
        .amount = 530000053,
        .currency = "USD",
    };
    assert_int_equal(sfsm_target_split(f->engine, &west, SFSM_PERIOD_WEEK, NULL, 0), SFSM_OK);

    sfsm_opp *h[R_OPPS] = { 0 };
    int64_t collected[R_OPPS] = { 0 };
    size_t created = 0;
    for (int d = 0; d < 365; d++) {
        f->now = T0_MS + d * DAY_MS + 8 * HOUR_MS + rnd_below(HOUR_MS);
        while (created < R_OPPS && (int)(created * 365 / R_OPPS) == d) {
            char id[32];
            snprintf(id, sizeof id, "r%03zu-%04x", created, (unsigned)rnd_below(0x10000));
            const char *cur = rnd_below(10) < 7 ? "CNY" : "USD";
            int no_amount = rnd_below(20) == 0;
            h[created] = mk(f, f->now, id, R_OWNERS[rnd_below(6)], R_CUSTOMERS[rnd_below(8)],
                            no_amount ? 0 : r_amount(), no_amount ? NULL : cur,
                            f->now + (20 + rnd_below(100)) * DAY_MS + rnd_below(DAY_MS));
            created++;
            f->now += 1 + rnd_below(300000);
        }
        for (size_t i = 0; i < created; i++) {
            if (rnd_below(100) >= 12)
                continue;
            sfsm_opp *o = h[i];
            const char *st = sfsm_opp_stage(o);
            int r = (int)rnd_below(100);
            int64_t at = f->now;
            if (strcmp(st, "lead") == 0) {
                if (r < 55)
                    ev(f, o, at, "qualify", &REP, NULL);
                else if (r < 70)
                    ev(f, o, at, "lose", &REP, R_REASONS[rnd_below(4)]);
                else if (r < 80) {
                    assert_int_equal(sfsm_opp_set_owner(o, R_OWNERS[rnd_below(6)]), SFSM_OK);
                    assert_int_equal(sfsm_opp_save_as(f->engine, o, &MANAGER, "reassigned"), SFSM_OK);
                } else if (r < 90) {
                    assert_int_equal(sfsm_opp_set_expected_close(o, at + (10 + rnd_below(90)) * DAY_MS), SFSM_OK);
                    assert_int_equal(sfsm_opp_save_as(f->engine, o, &REP, NULL), SFSM_OK);
                } else {
                    const char *cc = sfsm_opp_currency(o) ? sfsm_opp_currency(o) : "CNY";
                    const char *cur = rnd_below(10) == 0 ? (strcmp(cc, "CNY") ? "CNY" : "USD") : cc;
                    assert_int_equal(sfsm_opp_set_amount(o, r_amount(), cur), SFSM_OK);
                    assert_int_equal(sfsm_opp_save_as(f->engine, o, &REP, NULL), SFSM_OK);
                }
            } else if (strcmp(st, "qualified") == 0) {
                if (r < 55) {
                    if (!sfsm_opp_currency(o) || rnd_below(10) < 3)
                        assert_int_equal(sfsm_opp_set_amount(o, r_amount(),
                                                             sfsm_opp_currency(o) ? sfsm_opp_currency(o) : "USD"),
                                         SFSM_OK);
                    ev(f, o, at, "quote", &REP, NULL);
                } else if (r < 75) {
                    ev(f, o, at, "lose", &REP, R_REASONS[rnd_below(4)]);
                } else if (r < 85) {
                    assert_int_equal(sfsm_opp_set_customer(o, R_CUSTOMERS[rnd_below(8)]), SFSM_OK);
                    assert_int_equal(sfsm_opp_save_as(f->engine, o, &ASSISTANT, NULL), SFSM_OK);
                }
            } else if (strcmp(st, "quoted") == 0) {
                if (r < 60)
                    ev(f, o, at, "negotiate", &REP, NULL);
                else if (r < 80)
                    ev(f, o, at, "lose", &MANAGER, R_REASONS[rnd_below(4)]);
                else {
                    assert_int_equal(sfsm_opp_set_amount(o, r_amount(), sfsm_opp_currency(o)), SFSM_OK);
                    assert_int_equal(sfsm_opp_save_as(f->engine, o, &REP, "revised quote"), SFSM_OK);
                }
            } else if (strcmp(st, "negotiating") == 0) {
                if (r < 40) {
                    ev(f, o, at, "sign", &REP, NULL);
                } else if (r < 65) {
                    assert_int_equal(sfsm_opp_set_amount(o, sfsm_opp_amount(o) * 9 / 10, sfsm_opp_currency(o)),
                                     SFSM_OK);
                    ev(f, o, at, "requote", &REP, "discount");
                } else if (r < 85) {
                    ev(f, o, at, "lose", &REP, R_REASONS[rnd_below(4)]);
                } else {
                    assert_int_equal(sfsm_opp_set_expected_close(o, at + (5 + rnd_below(40)) * DAY_MS), SFSM_OK);
                    assert_int_equal(sfsm_opp_save_as(f->engine, o, &REP, NULL), SFSM_OK);
                }
            } else if (strcmp(st, "lost") == 0) {
                if (r < 20)
                    ev(f, o, at, "reopen", &MANAGER, "back on the table");
            } else { /* won */
                int64_t out = sfsm_opp_amount(o) - collected[i];
                if (strcmp(st, "signed") == 0 && r < 50)
                    ev(f, o, at, "deliver", &ASSISTANT, NULL);
                else if (strcmp(st, "delivered") == 0 && r < 40)
                    ev(f, o, at, "service", &SUPPORT, NULL);
                else if (out > 0) {
                    int64_t amt = rnd_below(3) == 0 ? out : 1 + rnd_below(out);
                    pay(f, at, sfsm_opp_id(o), amt, sfsm_opp_currency(o));
                    collected[i] += amt;
                }
            }
            f->now += 1 + rnd_below(300000);
        }
    }
    for (size_t i = 0; i < created; i++)
        sfsm_opp_free(h[i]);
    f->now = ymd(2027, 1, 1) + 3 * HOUR_MS;
}

static size_t total_history(fixture *f, const world *w)
{
    size_t n = 0;
    for (size_t k = 0; k < w->n; k++)
        n += history_count(f->engine, w->o[k].id);
    return n;
}

static void test_random_year(void **state)
{
    fixture *f = *state;
    sim_year(f);
    world w;
    world_load(&w, f);
    assert_int_equal(w.n, R_OPPS);
    size_t hist_before = total_history(f, &w);
    /* the scenario has what the reports are about */
    size_t won = 0, lost = 0, reopened_won = 0;
    const uint32_t lost_bit = 1u << stage_idx(&w, "lost");
    for (size_t k = 0; k < w.n; k++) {
        view v;
        view_at(&w, &w.o[k], 0, &v);
        won += w.outcome[v.stage] == SFSM_OUTCOME_WON;
        lost += w.outcome[v.stage] == SFSM_OUTCOME_LOST;
        if (w.outcome[v.stage] == SFSM_OUTCOME_WON && (v.reached & lost_bit))
            reopened_won++;
    }
    fprintf(stderr, "random year: %zu opportunities, %zu won (%zu after a loss), %zu lost, %zu payments, "
            "%zu targets, %zu history entries\n", w.n, won, reopened_won, lost, w.npay, w.ntargets, hist_before);
    assert_true(won > 30 && lost > 30 && reopened_won > 0 && w.npay > 20);
    /* the targets the attainment rows use are the splits targets.h promises */
    for (size_t k = 0; k < 5; k++) {
        uint32_t wts[4] = { 1, 2, 3, (uint32_t)(k + 1) };
        check_split(&w, SFSM_SUBJECT_OWNER, R_OWNERS[k], SFSM_PERIOD_QUARTER, wts, 4, (int64_t)(20 + k) * 10000000 + 7,
                    "CNY");
    }
    check_split(&w, SFSM_SUBJECT_TEAM, "east", SFSM_PERIOD_MONTH, NULL, 12, 900000001, "CNY");
    check_split(&w, SFSM_SUBJECT_TEAM, "west", SFSM_PERIOD_WEEK, NULL, 53, 530000053, "USD");

    int64_t p[8][2];
    int np = 0;
    for (int q = 1; q <= 4; q++) {
        assert_true(my_bounds(2026, SFSM_PERIOD_QUARTER, q, &p[np][0], &p[np][1]));
        np++;
    }
    assert_true(my_bounds(2026, SFSM_PERIOD_YEAR, 1, &p[np][0], &p[np][1]));
    np++;
    assert_true(my_bounds(2026, SFSM_PERIOD_MONTH, 3, &p[np][0], &p[np][1]));
    np++;
    assert_true(my_bounds(2026, SFSM_PERIOD_WEEK, 23, &p[np][0], &p[np][1]));
    np++;
    p[np][0] = ymd(2026, 7, 1);  /* the second half: no calendar period */
    p[np][1] = ymd(2027, 1, 1);
    np++;
    sfsm_report_filter g = flt_new();
    check_all(f, &w, &g);
    for (int k = 0; k < np; k++) {
        g = flt_period(p[k][0], p[k][1]);
        check_all(f, &w, &g);
        g.team = "east";
        check_all(f, &w, &g);
        g.team = NULL;
        g.owner = "dev";
        check_all(f, &w, &g);
        g.owner = NULL;
        g.as_of_ms = END_OF_JUNE;
        check_all(f, &w, &g);
    }
    for (size_t k = 0; k < countof(R_OWNERS); k++) {
        g = flt_new();
        g.owner = R_OWNERS[k];
        check_all(f, &w, &g);
    }
    static const char *const teams[] = { "east", "west", "north" };
    for (size_t k = 0; k < countof(teams); k++) {
        g = flt_new();
        g.team = teams[k];
        check_all(f, &w, &g);
    }
    g = flt_new();
    g.customer = "Acme";
    check_all(f, &w, &g);
    g.customer = "Golden Bay";
    g.team = "west";
    check_all(f, &w, &g);
    const int64_t as_of[] = { ymd(2026, 3, 15) + 7, END_OF_JUNE, ymd(2026, 9, 30) + 12 * HOUR_MS + 1,
                              ymd(2030, 1, 1) };
    for (size_t k = 0; k < countof(as_of); k++) {
        g = flt_new();
        g.as_of_ms = as_of[k];
        check_all(f, &w, &g);
        g.owner = "bo";
        check_all(f, &w, &g);
        g.owner = NULL;
        g.team = "west";
        g.from_ms = ymd(2026, 1, 1);
        g.to_ms = ymd(2027, 1, 1);
        check_all(f, &w, &g);
    }
    g = flt_period(ymd(2030, 1, 1), ymd(2031, 1, 1));
    check_all(f, &w, &g);
    /* reports change nothing */
    assert_int_equal(total_history(f, &w), hist_before);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_init),
        cmocka_unit_test_setup_teardown(test_table_api, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_empty_store, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_one_opportunity, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_pipeline, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_forecast, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_funnel, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_win_rate, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_velocity, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_velocity_even_median, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_stale, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_stale_exact_days, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_calibration, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_attainment, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_receivables, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_forecast_categories, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_overflow, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_json, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_attainment_periods, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_no_amount_and_rounding, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_no_activity, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_random_year, fixture_setup, fixture_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    fprintf(stderr, "reports compared cell by cell with the brute force: %lu; refusals checked: %lu\n", n_compared,
            n_refused);
    return failed;
}
