/* What the reports read, loaded in one pass under the store lock: every
 * opportunity of the engine's pipeline with its history, in compact arrays
 * (interned strings, stage indexes), then reconstructed at as_of and
 * filtered by owner, team and customer. Backend callbacks only copy and
 * check (what a store hands back must pass the import's rules: a corrupt
 * store gives SFSM_ESTORAGE, never a wrong number); they never call back
 * into the store. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <salesfsm/sys/store.h>

#include "alloc.h"
#include "engine_impl.h"
#include "json_text.h"
#include "record_check.h"
#include "report_impl.h"
#include "store_impl.h"
#include "text.h"

/* ---- interned strings ---- */

/* Bytes of string ix of t, without its NUL (known from the offsets). */
static size_t str_len(const rd_strings *t, uint32_t ix)
{
    return (ix + 1 < t->n ? t->off[ix + 1] : t->len) - t->off[ix] - 1;
}

/* 1 if the NUL-terminated s is the n bytes at t, which hold no NUL (every
 * t here had its length taken by strlen). Compared byte by byte, so that s
 * needs no strlen and is read no further than its end (where its NUL
 * differs from t's byte): what makes a cache check cheaper than a look-up. */
static inline int same_text(const char *s, const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != t[i])
            return 0;
    return s[n] == '\0';
}

static int str_add(rd_strings *t, const char *s, size_t len, uint32_t *out)
{
    if (t->n == 0)
        t->n = 1;   /* index 0 is NULL */
    if (t->n >= UINT32_MAX - 1 || sfsm__grow((void **)&t->off, &t->ncap, t->n + 1, sizeof *t->off) ||
        sfsm__grow((void **)&t->pool, &t->cap, t->len + len + 1, 1))
        return -1;
    t->off[t->n] = t->len;
    memcpy(t->pool + t->len, s, len);
    t->pool[t->len + len] = '\0';
    t->len += len + 1;
    *out = (uint32_t)t->n++;
    return 0;
}

static int str_rehash(rd_strings *t)
{
    size_t size = t->mask ? (t->mask + 1) * 2 : 1024;
    uint32_t *slots = sfsm__calloc(size, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; t->mask && i <= t->mask; i++) {
        uint32_t ix = t->slots[i];
        if (!ix)
            continue;
        size_t h = sfsm__hash(t->pool + t->off[ix], str_len(t, ix)) & (size - 1);
        while (slots[h])
            h = (h + 1) & (size - 1);
        slots[h] = ix;
    }
    sfsm__free(t->slots);
    t->slots = slots;
    t->mask = size - 1;
    return 0;
}

uint32_t sfsm__rd_intern(rd_strings *t, const char *s, size_t len, int *ok)
{
    if (!s)
        return 0;
    if ((t->used + 1) * 2 > t->mask + 1 && str_rehash(t)) {
        *ok = 0;
        return 0;
    }
    size_t h = sfsm__hash(s, len) & t->mask;
    for (;; h = (h + 1) & t->mask) {
        uint32_t ix = t->slots[h];
        if (!ix)
            break;
        /* lengths first: the text is read only when it can match */
        if (str_len(t, ix) == len && memcmp(t->pool + t->off[ix], s, len) == 0)
            return ix;
    }
    uint32_t ix;
    if (str_add(t, s, len, &ix)) {
        *ok = 0;
        return 0;
    }
    t->slots[h] = ix;
    t->used++;
    return ix;
}

static void str_free(rd_strings *t)
{
    sfsm__free(t->pool);
    sfsm__free(t->off);
    sfsm__free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ---- the cache of name pointers ---- */

/* A backend with interned strings (the memory store) hands back the same
 * pointer for the same name: a cache from pointers to interned indexes
 * spares hashing the text. Sets of two slots, each set one cache line; room
 * for every owner and customer of a large store (a pointer that lost its
 * slot costs a hash look-up of its text). */
#define PCACHE_SET_BITS 15
#define PCACHE_TEXT 16

typedef struct pcache_slot {
    const char *ptr;
    uint32_t ix, len;
    char text[PCACHE_TEXT];   /* its first bytes: a short name is checked
                                 without reading the pool */
} pcache_slot;

typedef struct pcache {
    void *mem;                /* as allocated */
    pcache_slot *slots;       /* 2 per set, aligned to a cache line */
} pcache;

static int pcache_init(pcache *c)
{
    size_t n = (size_t)2 << PCACHE_SET_BITS;
    if (!(c->mem = sfsm__calloc(n + 2, sizeof *c->slots)))   /* + 64 bytes to align */
        return -1;
    c->slots = (pcache_slot *)(((uintptr_t)c->mem + 63) & ~(uintptr_t)63);
    return 0;
}

static pcache_slot *pcache_set(const pcache *c, const char *s)
{
    return &c->slots[(((uint64_t)(uintptr_t)s * 0x9E3779B97F4A7C15ull) >> (64 - PCACHE_SET_BITS)) * 2];
}

/* ---- the loader ---- */

/* The record's pipeline version is the engine's: its entries since its last
 * migrate entry (all of them, without one) were written under this version
 * of the pipeline, so their stages must be the pipeline's. */
#define WANT_CURRENT (UINT64_C(1) << 63)

typedef struct loader {
    report_data *d;
    const char *pipeline;
    const char *report;
    int want_changes;       /* as_of: keep the changes of opportunities whose
                               history goes past as_of (only they are replayed) */
    int rc;
    /* the current opportunity's raw changes, parsed only if it needs replay */
    sfsm_buf pend;
    struct pending_change {
        uint64_t ent, version;
        size_t off;
        uint32_t fields;
    } *pv;
    size_t pn, pcap;
    int pend_needed;        /* 1: an entry after as_of; 2: one changing fields */
    long pend_opp;
    size_t pipeline_len;
    struct {
        const char *ptr;
        int32_t ix;
        uint32_t len;       /* of the stage's name */
    } cache[8];             /* stage name pointers seen lately */
    unsigned cache_next;
    long cur;               /* opportunity receiving entries; -1: skipped */
    size_t cursor;          /* next opportunity expected from history_scan */
    sfsm_buf last;          /* id of the last history_scan entry */
    int have_last;
    uint64_t last_version;  /* of the last history_scan entry */
    sfsm_buf tmp;
    unsigned extra;
    uint32_t *team;         /* owners of the filter's team */
    size_t team_n, team_cap;
    /* payments (RD_PAYMENTS) */
    size_t pay_next;        /* the opportunity after the last one paid */
    uint32_t *id_ix;        /* hash index of the opportunities' ids (index + 1),
                               built only when a cursor (history_scan's or
                               pay_next) does not lead to one */
    size_t id_mask;
    rd_strings stray;       /* ids of payments of opportunities not loaded */
    int64_t *stray_sum;     /* their sums, by index in stray */
    size_t stray_n, stray_cap;
    int pay_overflow;       /* a sum of payments overflowed: of this one */
    char pay_overflow_id[SFSM_LABEL_SIZE];
    struct pay_pending {
        int64_t amount;
        size_t off;         /* of its id in pay_ids */
        uint64_t seq;
        char currency[4];
    } pay_q[32];            /* payments copied, not yet matched */
    size_t pay_qn;
    sfsm_buf pay_ids;       /* their ids, NUL-terminated */
    uint64_t ent_hint;      /* Σ versions of the loaded records: how many
                               history entries they have */
    uint64_t *want;         /* per opportunity: its record's version (the
                               number of its entries), | WANT_CURRENT */
    size_t want_cap;
    uint32_t stage_len[SFSM_MAX_STAGES];   /* of the pipeline's stage names */
    /* the opportunity receiving entries: the first entry since its last
     * migrate entry (or ever, without one) ending at a stage the pipeline
     * does not know (0: none), and the name; the last entry's unknown `to` */
    uint64_t unknown_at;
    char unknown_label[SFSM_LABEL_SIZE];
    sfsm_buf unknown_to;
    pcache names;           /* name pointers seen lately */
} loader;

static int oom(loader *l)
{
    return l->rc = sfsm_error_set(SFSM_ENOMEM, "out of memory loading the data of report '%s'", l->report);
}

/* SFSM_ESTORAGE: the check's message (naming the opportunity and the
 * field), prefixed with the report's name. */
static int loader_bad(loader *l)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", sfsm_errmsg());
    return l->rc = sfsm_error_set(SFSM_ESTORAGE, "report '%s': %s", l->report, msg);
}

static int32_t stage_of(loader *l, const char *name)
{
    if (!name)
        return -1;
    const sfsm_pipeline *p = l->d->p;
    /* the pointer is checked first; its text too, since a backend may reuse
     * its buffers */
    for (unsigned i = 0; i < 8; i++)
        if (l->cache[i].ptr == name && same_text(name, p->stages[l->cache[i].ix].name, l->cache[i].len))
            return l->cache[i].ix;
    long ix = sfsm__name_find(&p->stage_ix, &p->stages[0].name, sizeof(stage_def), name);
    if (ix < 0)
        return -1;
    l->cache[l->cache_next].ptr = name;
    l->cache[l->cache_next].ix = (int32_t)ix;
    l->cache[l->cache_next].len = (uint32_t)strlen(p->stages[ix].name);
    l->cache_next = (l->cache_next + 1) & 7;
    return (int32_t)ix;
}

/* The interned index of s if its pointer is in the cache with the same
 * text, else 0. A pointer seen before usually holds the same text, whose
 * length is known; checked, since a backend may reuse its buffers. */
static uint32_t cached(loader *l, const char *s)
{
    pcache_slot *set = pcache_set(&l->names, s);
    for (int w = 0; w < 2; w++)
        if (set[w].ptr == s &&
            same_text(s, set[w].len <= PCACHE_TEXT ? set[w].text : l->d->str.pool + l->d->str.off[set[w].ix],
                      set[w].len))
            return set[w].ix;
    return 0;
}

static uint32_t intern(loader *l, const char *s, int *ok)
{
    if (!s)
        return 0;
    uint32_t hit = cached(l, s);
    if (hit)
        return hit;
    pcache_slot *set = pcache_set(&l->names, s);
    size_t len = strlen(s);
    uint32_t ix = sfsm__rd_intern(&l->d->str, s, len, ok);
    if (ix && len <= UINT32_MAX) {
        set[1] = set[0];   /* the older one leaves */
        set[0] = (pcache_slot){ s, ix, (uint32_t)len, { 0 } };
        memcpy(set[0].text, s, len < PCACHE_TEXT ? len : PCACHE_TEXT);
    }
    return ix;
}

static int on_record(const sfsm_record *rec, void *ud)
{
    loader *l = ud;
    report_data *d = l->d;
    /* The names' texts and their cache sets are independent misses on a
     * large store: asked for all at once rather than one after another. */
    if (rec->customer) {
        __builtin_prefetch(rec->customer);
        __builtin_prefetch(pcache_set(&l->names, rec->customer));
    }
    if (rec->owner) {
        __builtin_prefetch(rec->owner);
        __builtin_prefetch(pcache_set(&l->names, rec->owner));
    }
    if (rec->id)
        __builtin_prefetch(rec->id);
    if (rec->pipeline && !same_text(rec->pipeline, l->pipeline, l->pipeline_len))
        return 0;
    /* The record passes the rules import enforces, or the report fails: a
     * name in the cache is text checked already (every string interned
     * through it was), so only a new one is checked again. */
    uint32_t owner = rec->owner ? cached(l, rec->owner) : 0, customer = rec->customer ? cached(l, rec->customer) : 0;
    sfsm_record r = *rec;
    r.pipeline = NULL;   /* the engine's (compared above) */
    if (owner)
        r.owner = NULL;
    if (customer)
        r.customer = NULL;
    int32_t stage = stage_of(l, rec->stage);
    if (sfsm__record_check(NULL, &r))
        return loader_bad(l);
    if (stage < 0) {
        char l1[SFSM_LABEL_SIZE], l2[SFSM_LABEL_SIZE];
        return l->rc = sfsm_error_set(SFSM_ESTORAGE,
                                      "report '%s': stored opportunity '%s': stage: '%s' is not a stage of pipeline '%s'",
                                      l->report, sfsm__label(l1, rec->id), sfsm__label(l2, rec->stage), d->p->name);
    }
    if (sfsm__grow((void **)&d->opps, &d->cap, d->n + 1, sizeof *d->opps) ||
        sfsm__grow((void **)&l->want, &l->want_cap, d->n + 1, sizeof *l->want))
        return oom(l);
    /* checked: <= 2^53-1; a record without a pipeline is the engine's */
    l->want[d->n] = rec->version | (rec->pipeline_version == d->p->version ? WANT_CURRENT : 0);
    rd_opp *o = &d->opps[d->n];
    int ok = 1;
    memset(o, 0, sizeof *o);
    if (str_add(&d->ids, rec->id, strlen(rec->id), &o->id))
        ok = 0;
    o->owner = owner ? owner : intern(l, rec->owner, &ok);
    o->customer = customer ? customer : intern(l, rec->customer, &ok);
    o->currency = intern(l, rec->currency, &ok);
    if (!ok)
        return oom(l);
    o->amount = rec->amount;
    o->expected_close = rec->expected_close_ms;
    o->created = rec->created_ms;
    o->entered = rec->stage_entered_ms;
    o->stage = stage;
    /* a record's version counts its history entries */
    l->ent_hint = rec->version < UINT64_MAX - l->ent_hint ? l->ent_hint + rec->version : UINT64_MAX;
    d->n++;
    return 0;
}

/* ---- the changes of an entry (only read for as_of) ---- */

/* Decodes the string at p (at its quote; checked by sfsm__changes_read)
 * into b. */
static void json_str(const char *p, sfsm_buf *b)
{
    b->len = 0;
    for (p++;;) {
        /* a run of plain characters at once */
        const char *run = p;
        while (*p != '"' && *p != '\\')
            p++;
        if (p > run)
            sfsm__buf_add(b, run, (size_t)(p - run));
        if (*p++ == '"')
            return;
        char esc = *p++;
        const char *simple = strchr("\"\\/bfnrt", esc);
        if (esc != 'u') {
            static const char decoded[] = "\"\\/\b\f\n\r\t";
            sfsm__buf_add(b, &decoded[simple - "\"\\/bfnrt"], 1);
            continue;
        }
        uint32_t cp;
        p += sfsm__json_unicode(p, &cp);
        sfsm__buf_add_utf8(b, cp);
    }
}

/* A checked string member (or null) into an interned index. */
static uint32_t text_value(loader *l, const sfsm__changes_str *s, int *ok)
{
    if (!s->at)
        return 0;
    if (!s->escaped)
        return sfsm__rd_intern(&l->d->str, s->at + 1, s->len, ok);
    json_str(s->at, &l->tmp);
    if (l->tmp.failed) {
        *ok = 0;
        return 0;
    }
    return sfsm__rd_intern(&l->d->str, l->tmp.data, l->tmp.len, ok);
}

/* Checks entry `version`'s changes text against its fields bits (the load
 * checks' rule, record_check.h) and decodes it into c, in one pass.
 * SFSM_OK, SFSM_ESTORAGE (the check's message set) or SFSM_ENOMEM (not
 * set). */
static int parse_changes(loader *l, const char *id, uint64_t version, uint32_t fields, const char *json, rd_change *c)
{
    sfsm__changes v;
    memset(&v, 0, sizeof v);
    if (sfsm__changes_read(id, version, fields, json, &v))
        return SFSM_ESTORAGE;
    int ok = 1;
    if (v.seen & (1u << SFSM__CH_AMOUNT | 1u << SFSM__CH_CURRENCY)) {
        c->amount = v.amount;
        c->currency = text_value(l, &v.currency, &ok);
        c->mask |= RD_CH_AMOUNT;
    }
    if (v.seen & 1u << SFSM__CH_CLOSE) {
        c->expected_close = v.expected_close;
        c->mask |= RD_CH_CLOSE;
    }
    if (v.seen & 1u << SFSM__CH_OWNER) {
        c->owner = text_value(l, &v.owner, &ok);
        c->mask |= RD_CH_OWNER;
    }
    if (v.seen & 1u << SFSM__CH_CUSTOMER) {
        c->customer = text_value(l, &v.customer, &ok);
        c->mask |= RD_CH_CUSTOMER;
    }
    return ok ? SFSM_OK : SFSM_ENOMEM;
}

/* Records that entry e has change chg (index + 1 into d->chg). */
static int set_ent_chg(report_data *d, size_t e, uint32_t chg)
{
    if (e >= d->nent_chg) {
        if (sfsm__grow((void **)&d->ent_chg, &d->ent_chg_cap, d->nent, sizeof *d->ent_chg))
            return -1;
        memset(d->ent_chg + d->nent_chg, 0, (d->nent - d->nent_chg) * sizeof *d->ent_chg);
        d->nent_chg = d->nent;
    }
    d->ent_chg[e] = chg;
    return 0;
}

/* Ends the current opportunity: its buffered changes are parsed if its
 * history goes past as_of, otherwise dropped (its stored state is its state
 * at as_of). */
static int flush_pending(loader *l)
{
    report_data *d = l->d;
    int rc = 0;
    if (l->pend_opp >= 0 && l->pend_needed)
        d->opps[l->pend_opp].replay = (uint8_t)l->pend_needed;
    if (l->pend_opp >= 0 && l->pend_needed == 2) {
        for (size_t i = 0; i < l->pn && !rc; i++) {
            if (d->nchg >= UINT32_MAX - 1 || sfsm__grow((void **)&d->chg, &d->chg_cap, d->nchg + 1, sizeof *d->chg))
                return oom(l);
            rd_change *c = &d->chg[d->nchg];
            memset(c, 0, sizeof *c);
            const char *text = l->pend.data + l->pv[i].off;
            /* only the entries an as_of report replays: the only changes it reads */
            int prc = parse_changes(l, rd_id(d, d->opps[l->pend_opp].id), l->pv[i].version, l->pv[i].fields, text, c);
            if (prc == SFSM_ENOMEM)
                return oom(l);
            if (prc)
                return loader_bad(l);
            if (set_ent_chg(d, l->pv[i].ent, (uint32_t)++d->nchg))
                return oom(l);
        }
    }
    l->pn = 0;
    l->pend.len = 0;
    l->pend_needed = 0;
    l->pend_opp = -1;
    return rc;
}

/* SFSM_ESTORAGE naming the current opportunity, then what is wrong. */
static int entry_bad(loader *l, const char *fmt, ...) SFSM_PRINTF(2, 3);

static int entry_bad(loader *l, const char *fmt, ...)
{
    char label[SFSM_LABEL_SIZE], msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return l->rc = sfsm_error_set(SFSM_ESTORAGE, "report '%s': stored opportunity '%s': %s", l->report,
                                  sfsm__label(label, rd_id(l->d, l->d->opps[l->cur].id)), msg);
}

/* Entry h ends at a stage the pipeline does not know: noted (refused at the
 * end of the history if the entries since the last migration must be the
 * pipeline's), and its name kept for the next entry's `from`. */
static int unknown_stage(loader *l, const sfsm_history_entry *h)
{
    if (!l->unknown_at) {
        l->unknown_at = h->version;
        sfsm__label(l->unknown_label, h->to);
    }
    l->unknown_to.len = 0;
    sfsm__buf_add(&l->unknown_to, h->to, strlen(h->to) + 1);
    return l->unknown_to.failed ? oom(l) : 0;
}

static int add_entry(loader *l, const char *id, const sfsm_history_entry *h)
{
    report_data *d = l->d;
    int rc;
    /* What a report computes with must be sound (the rules of import,
     * record_check.h; the texts are checked where a report reads them):
     * versions 1, 2, 3, … in order, times within +-(2^53-1), a known kind. */
    uint64_t expect = (uint64_t)d->opps[l->cur].nhist + 1;
    if (sfsm__history_check_order(rd_id(d, d->opps[l->cur].id), expect, h))
        return loader_bad(l);
    /* Histories are chains, each entry starting where the previous ended
     * (record_check.h): compared with the previous entry's stage, whose
     * name and length are known, so no look-up. */
    int16_t from = -1;
    if (expect > 1) {
        from = d->ent[d->nent - 1].to;
        if (!h->from || !(from >= 0 ? same_text(h->from, d->p->stages[from].name, l->stage_len[from])
                                    : strcmp(h->from, l->unknown_to.data) == 0)) {
            char l1[SFSM_LABEL_SIZE], l2[SFSM_LABEL_SIZE];
            return entry_bad(l, "history version %llu: from: '%s', but the previous entry ended at '%s'",
                             (unsigned long long)expect, sfsm__label(l1, h->from),
                             sfsm__label(l2, from >= 0 ? d->p->stages[from].name : l->unknown_to.data));
        }
    } else if (h->from) {
        return entry_bad(l, "history version 1: from: set, but the create entry has none");
    }
    if (l->want_changes) {
        if (l->pend_opp != l->cur) {
            rc = flush_pending(l);
            if (rc)
                return rc;
            l->pend_opp = l->cur;
        }
    }
    int field_change = h->changes && (h->fields & (SFSM_FIELD_AMOUNT | SFSM_FIELD_CUSTOMER | SFSM_FIELD_OWNER |
                                                   SFSM_FIELD_EXPECTED_CLOSE));
    if (l->want_changes && h->at_ms > d->as_of) {
        /* fields changed after as_of must be replayed; otherwise the stored
         * fields are those of as_of and only the stage is rebuilt */
        int need = field_change || h->kind == SFSM_HISTORY_CREATE ? 2 : 1;
        if (need > l->pend_needed)
            l->pend_needed = need;
    }
    if (sfsm__grow((void **)&d->ent, &d->ent_cap, d->nent + 1, sizeof *d->ent))
        return oom(l);
    rd_entry *x = &d->ent[d->nent];
    x->at = h->at_ms;
    x->kind = (uint8_t)h->kind;
    x->from = from;
    x->to = (int16_t)stage_of(l, h->to);
    (void)id;
    if (h->kind == SFSM_HISTORY_MIGRATE)
        l->unknown_at = 0;   /* what came before was an earlier version's */
    if (x->to < 0 && (rc = unknown_stage(l, h)))
        return rc;
    if (l->want_changes && field_change) {
        if (sfsm__grow((void **)&l->pv, &l->pcap, l->pn + 1, sizeof *l->pv))
            return oom(l);
        l->pv[l->pn].ent = d->nent;
        l->pv[l->pn].version = h->version;
        l->pv[l->pn].off = l->pend.len;
        l->pv[l->pn].fields = h->fields;
        sfsm__buf_add(&l->pend, h->changes, strlen(h->changes) + 1);
        if (l->pend.failed)
            return oom(l);
        l->pn++;
    }
    d->nent++;
    d->opps[l->cur].nhist++;
    return 0;
}

/* Opportunity i, whose entries are the last ones read, is complete (its
 * replay known): drops those of its entries the report does not read. */
static void trim_history(loader *l, size_t i)
{
    report_data *d = l->d;
    rd_opp *o = &d->opps[i];
    if (!(l->extra & (RD_NO_HISTORY | RD_WON_ONLY)) || o->replay)
        return;
    if (l->extra & RD_WON_ONLY) {
        const rd_entry *h = rd_hist(d, o);
        for (uint32_t k = 0; k < o->nhist; k++)
            if (rd_visible(d, &h[k]) && rd_outcome(d, h[k].to) == SFSM_OUTCOME_WON) {
                d->ent[o->hist] = h[k];
                o->nhist = 1;
                d->nent = o->hist + 1;
                return;
            }
    }
    d->nent = o->hist;
    o->nhist = 0;
}

/* Opportunity i, whose entries are the last ones read, is complete: its
 * history must end where the record stands (else the reports that read the
 * history and those that read the record would disagree), then what the
 * report does not read is dropped. */
static int finish_history(loader *l, size_t i)
{
    report_data *d = l->d;
    rd_opp *o = &d->opps[i];
    l->cur = (long)i;
    if (!o->nhist)
        return entry_bad(l, "history: none (a stored opportunity has at least its create entry)");
    uint64_t want = l->want[i] & ~WANT_CURRENT;
    if (o->nhist != want)
        return entry_bad(l, "history: %lu entries, but the record is at version %llu (one entry per version)",
                         (unsigned long)o->nhist, (unsigned long long)want);
    if (l->unknown_at && (l->want[i] & WANT_CURRENT))
        return entry_bad(l,
                         "history version %llu: to: '%s' is not a stage of pipeline '%s' version %u (the "
                         "version of the entries since the last migration)",
                         (unsigned long long)l->unknown_at, l->unknown_label, d->p->name, d->p->version);
    const rd_entry *last = &d->ent[o->hist + o->nhist - 1];
    if (last->to != o->stage) {
        char label[SFSM_LABEL_SIZE];
        return entry_bad(l, "stage: '%s', but its last history entry (version %u) ends at %s%s%s", d->p->stages[o->stage].name,
                         o->nhist, last->to >= 0 ? "'" : "a stage pipeline '",
                         last->to >= 0 ? d->p->stages[last->to].name : sfsm__label(label, d->p->name),
                         last->to >= 0 ? "'" : "' does not have");
    }
    trim_history(l, i);
    return 0;
}

/* 1 if opportunity i's id is id (its length is known: no strlen). */
static int opp_id_is(const report_data *d, size_t i, const char *id)
{
    uint32_t ix = d->opps[i].id;
    return same_text(id, rd_id(d, ix), str_len(&d->ids, ix));
}

static int id_index_build(loader *l);
static long id_index_find(const loader *l, const char *id);

static int on_scan_entry(const char *id, const sfsm_history_entry *h, void *ud)
{
    loader *l = ud;
    report_data *d = l->d;
    if (!id)
        return l->rc = sfsm_error_set(SFSM_ESTORAGE, "report '%s': a history entry without an opportunity id",
                                      l->report);
    /* Same opportunity as the last entry? (its id is in the pool, or, for
     * one that is skipped, in `last`) */
    /* Versions run 1, 2, 3, … per opportunity without gaps: the next version
     * of the last entry is the same opportunity without comparing ids. */
    uint64_t prev = l->last_version;
    l->last_version = h->version;
    if (l->have_last && ((h->version == prev + 1 && h->version != 1) ||
                         (l->cur >= 0 ? opp_id_is(d, (size_t)l->cur, id) : strcmp(id, l->last.data) == 0)))
        return l->cur < 0 ? 0 : add_entry(l, id, h);
    l->have_last = 1;
    if (l->cur >= 0) {   /* the last opportunity is complete */
        int rc = l->want_changes ? flush_pending(l) : 0;
        if (rc || (rc = finish_history(l, (size_t)l->cur)))
            return rc;
    }
    l->cur = -1;
    /* A store delivering in scan order meets the cursor; one delivering in
     * its own order (SQLite: the history table's key) is matched through
     * the index of the ids, built once. */
    long k = -1;
    if (l->cursor < d->n && opp_id_is(d, l->cursor, id))
        k = (long)l->cursor++;
    else {
        if (!l->id_ix && id_index_build(l))
            return oom(l);
        k = id_index_find(l, id);
        if (k >= 0 && d->opps[k].hist_read)
            k = -1;   /* its entries came already: not grouped, ignore */
        if (k >= 0)
            l->cursor = (size_t)k + 1;   /* back in step after a gap */
    }
    if (k >= 0) {
        l->cur = k;
        d->opps[l->cur].hist = d->nent;
        d->opps[l->cur].nhist = 0;
        d->opps[l->cur].hist_read = 1;
        l->unknown_at = 0;
        return add_entry(l, id, h);
    }
    l->last.len = 0;
    sfsm__buf_add(&l->last, id, strlen(id) + 1);
    return l->last.failed ? oom(l) : 0;
}

static int on_entry(const sfsm_history_entry *h, void *ud)
{
    loader *l = ud;
    return add_entry(l, l->last.data, h);
}

static int on_team(const char *owner, const char *team, void *ud)
{
    loader *l = ud;
    int ok = 1;
    if (sfsm__team_check(owner, team))
        return loader_bad(l);
    uint32_t ix = intern(l, owner, &ok);
    if (!ok || sfsm__grow((void **)&l->team, &l->team_cap, l->team_n + 1, sizeof *l->team))
        return oom(l);
    l->team[l->team_n++] = ix;
    return 0;
}

static int on_member(const char *owner, const char *team, void *ud)
{
    loader *l = ud;
    report_data *d = l->d;
    int ok = 1;
    if (sfsm__team_check(owner, team))
        return loader_bad(l);
    if (sfsm__grow((void **)&d->mem, &d->mem_cap, d->nmem + 1, sizeof *d->mem))
        return oom(l);
    rd_member *m = &d->mem[d->nmem];
    m->owner = intern(l, owner, &ok);
    m->team = intern(l, team, &ok);
    if (!ok)
        return oom(l);
    d->nmem++;
    return 0;
}

static int on_target(const sfsm_target *t, void *ud)
{
    loader *l = ud;
    report_data *d = l->d;
    int ok = 1;
    if (sfsm__target_check(t))
        return loader_bad(l);
    if (sfsm__grow((void **)&d->tgt, &d->tgt_cap, d->ntgt + 1, sizeof *d->tgt))
        return oom(l);
    rd_target *x = &d->tgt[d->ntgt];
    x->kind = (int)t->subject_kind;
    x->subject = intern(l, t->subject, &ok);
    x->currency = intern(l, t->currency, &ok);
    x->period = t->period;
    x->amount = t->amount;
    if (!ok)
        return oom(l);
    d->ntgt++;
    return 0;
}

/* ---- payments, summed per opportunity ---- */

/* Payments come in opportunity creation order (sfsm_store_ops.payment_scan),
 * the order the scan delivered the opportunities in. So a payment is for the
 * opportunity of the one before it or for one a little further on (those in
 * between have none): comparing ids at a cursor finds it, without hashing,
 * and the report needs no look-up per opportunity later. Only when that
 * fails (an opportunity not loaded, a long run without payments, a backend
 * out of order) is an index of the ids built, once. */
#define PAY_AHEAD 64

static int id_index_build(loader *l)
{
    const report_data *d = l->d;
    size_t size = 16;
    while (size < d->n * 2)
        size *= 2;
    uint32_t *slots = sfsm__calloc(size, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < d->n; i++) {
        uint32_t ix = d->opps[i].id;
        size_t h = sfsm__hash(rd_id(d, ix), str_len(&d->ids, ix)) & (size - 1);
        while (slots[h])
            h = (h + 1) & (size - 1);
        slots[h] = (uint32_t)i + 1;
    }
    l->id_ix = slots;
    l->id_mask = size - 1;
    return 0;
}

static long id_index_find(const loader *l, const char *id)
{
    const report_data *d = l->d;
    size_t len = strlen(id);
    for (size_t h = sfsm__hash(id, len) & l->id_mask;; h = (h + 1) & l->id_mask) {
        uint32_t v = l->id_ix[h];
        if (!v)
            return -1;
        uint32_t ix = d->opps[v - 1].id;
        if (str_len(&d->ids, ix) == len && memcmp(rd_id(d, ix), id, len) == 0)
            return (long)v - 1;
    }
}

/* The loaded opportunity with id `id`, or -1 (none; *ok 0 on out of memory). */
static long paid_opp(loader *l, const char *id, int *ok)
{
    const report_data *d = l->d;
    size_t next = l->pay_next;
    if (next > 0 && opp_id_is(d, next - 1, id))
        return (long)next - 1;   /* another payment of the same one */
    /* once the index exists, a miss at the cursor goes straight to it */
    size_t ahead = l->id_ix ? 1 : PAY_AHEAD;
    for (size_t k = next; k < d->n && k - next < ahead; k++)
        if (opp_id_is(d, k, id)) {
            l->pay_next = k + 1;
            return (long)k;
        }
    if (!l->id_ix && id_index_build(l)) {
        *ok = 0;
        return -1;
    }
    long k = id_index_find(l, id);
    if (k >= 0)
        l->pay_next = (size_t)k + 1;
    return k;
}

/* The sum a payment of opportunity `id` adds to; NULL on out of memory.
 * *k: the loaded opportunity, or -1. */
static int64_t *pay_sum(loader *l, const char *id, long *k)
{
    report_data *d = l->d;
    int ok = 1;
    *k = paid_opp(l, id, &ok);
    if (*k >= 0) {
        rd_opp *o = &d->opps[*k];
        if (!o->paid) {
            if (sfsm__grow((void **)&d->paid, &d->paid_cap, d->npaid + 1, sizeof *d->paid))
                return NULL;
            d->paid[d->npaid] = 0;
            o->paid = (uint32_t)++d->npaid;
        }
        return &d->paid[o->paid - 1];
    }
    /* Not loaded: summed all the same, so that an overflow fails the report
     * whichever opportunities it shows. */
    uint32_t ix = ok ? sfsm__rd_intern(&l->stray, id, strlen(id), &ok) : 0;
    if (!ok || sfsm__grow((void **)&l->stray_sum, &l->stray_cap, l->stray.n, sizeof *l->stray_sum))
        return NULL;
    while (l->stray_n < l->stray.n)
        l->stray_sum[l->stray_n++] = 0;
    return &l->stray_sum[ix];
}

/* Matches the payments copied so far, in their order. A payment of a
 * loaded opportunity is checked against its record (as it is stored, also
 * with as_of): its currency, and the payments so far no more than its
 * amount, the rules of sfsm_payment_add (record_check.h). Those of
 * opportunities not loaded are only summed. */
static int pay_flush(loader *l)
{
    const report_data *d = l->d;
    for (size_t i = 0; i < l->pay_qn; i++) {
        const struct pay_pending *q = &l->pay_q[i];
        const char *id = l->pay_ids.data + q->off;
        long k;
        int64_t *sum = pay_sum(l, id, &k);
        if (!sum)
            return oom(l);
        if (k >= 0) {
            const rd_opp *o = &d->opps[k];
            const char *cur = o->currency ? rd_s(d, o->currency) : NULL;
            sfsm_payment p = { id, q->seq, q->amount, q->currency, 0, NULL };
            /* both checked: <= 2^53-1, so the sum cannot overflow first */
            if (sfsm__payment_check_currency(&p, cur) ||
                sfsm__payments_check_sum(id, *sum + q->amount, o->amount, cur))
                return loader_bad(l);
        }
        /* reported once everything is read, as when the report summed them */
        if (__builtin_add_overflow(*sum, q->amount, sum) && !l->pay_overflow) {
            l->pay_overflow = 1;
            sfsm__label(l->pay_overflow_id, id);
        }
    }
    l->pay_qn = 0;
    l->pay_ids.len = 0;
    return 0;
}

/* A payment's id is only copied here and matched by the batch: its text is
 * most likely a cache miss on a large store, and a copy, whose branches do
 * not depend on the text, lets the next payments' misses overlap it rather
 * than wait for the comparisons that decide between opportunities. */
static int on_payment(const sfsm_payment *p, void *ud)
{
    loader *l = ud;
    report_data *d = l->d;
    if (sfsm__payment_check(p))
        return loader_bad(l);
    if (d->as_of && p->at_ms > d->as_of)
        return 0;
    l->pay_q[l->pay_qn].amount = p->amount;
    l->pay_q[l->pay_qn].seq = p->seq;
    memcpy(l->pay_q[l->pay_qn].currency, p->currency, 4);   /* checked: three letters */
    l->pay_q[l->pay_qn].off = l->pay_ids.len;
    sfsm__buf_add(&l->pay_ids, p->opp_id, strlen(p->opp_id) + 1);
    if (l->pay_ids.failed)
        return oom(l);
    if (++l->pay_qn == sizeof l->pay_q / sizeof l->pay_q[0])
        return pay_flush(l);
    return 0;
}

/* Makes room for n elements at once, sparing the copies of growing one at a
 * time. Only a hint (n comes from the backend's data): if it cannot be had,
 * the array grows as before. */
static void reserve(void **buf, size_t *cap, uint64_t n, size_t size)
{
    if (n <= *cap || n > SIZE_MAX / size)
        return;
    void *p = sfsm__realloc(*buf, (size_t)n * size);
    if (p) {
        *buf = p;
        *cap = (size_t)n;
    }
}

/* Everything read from the backend, under one hold of the store. */
static int read_store(sfsm_store *s, loader *l, const sfsm_report_filter *f)
{
    report_data *d = l->d;
    int rc = SFSM_OK;
    if ((l->extra & (RD_PAYMENTS | RD_TARGETS | RD_TEAMS)) &&
        (s->ops.version < 3 || !s->ops.team_scan || !s->ops.target_scan || !s->ops.payment_scan))
        return sfsm_error_set(SFSM_EVERSION, "report '%s' needs a store with teams, targets and payments (ops version 3)",
                              l->report);
    if (f->team) {
        if (s->ops.version < 3 || !s->ops.team_scan)
            return sfsm_error_set(SFSM_EVERSION, "report '%s': a team filter needs a store with teams (ops version 3)",
                                  l->report);
        rc = s->ops.team_scan(s->backend, f->team, on_team, l);
        if (rc)
            return l->rc ? l->rc : rc;
    }
    /* Owner and customer now are owner and customer then only without as_of. */
    sfsm_filter v1 = { 1, NULL, d->as_of ? NULL : f->owner, d->as_of ? NULL : f->customer, 0 };
    rc = s->ops.scan(s->backend, &v1, on_record, l);
    if (rc)
        return l->rc ? l->rc : rc;
    /* Without as_of nothing is rebuilt, so a report that keeps no history
     * need not read any. */
    int no_history = (l->extra & RD_NO_HISTORY) && !d->as_of;
    if (!(l->extra & (RD_NO_HISTORY | RD_WON_ONLY)))
        reserve((void **)&d->ent, &d->ent_cap, l->ent_hint, sizeof *d->ent);
    if (s->ops.version >= 3 && s->ops.history_scan && d->n && !no_history) {
        l->cur = -1;
        rc = s->ops.history_scan(s->backend, on_scan_entry, l);
        if (!rc)
            rc = flush_pending(l);
        if (rc)
            return l->rc ? l->rc : rc;
        if (l->cur >= 0 && (rc = finish_history(l, (size_t)l->cur)))
            return rc;
    }
    /* Opportunities history_scan did not deliver (or all, without it). */
    for (size_t i = 0; i < d->n && !no_history; i++) {
        rd_opp *o = &d->opps[i];
        if (o->hist_read)
            continue;
        o->hist_read = 1;
        const char *id = rd_id(d, o->id);
        l->last.len = 0;   /* a copy: interning changes may move the pool */
        sfsm__buf_add(&l->last, id, strlen(id) + 1);
        if (l->last.failed)
            return oom(l);
        o->hist = d->nent;
        l->cur = (long)i;
        l->unknown_at = 0;
        rc = s->ops.read_history(s->backend, l->last.data, on_entry, l);
        int gone = rc == SFSM_ENOTFOUND && !l->rc;
        if (gone)
            rc = SFSM_OK;   /* gone since the scan (a backend with deletes) */
        if (!rc)
            rc = flush_pending(l);
        if (!rc && !gone)
            rc = finish_history(l, i);
        if (rc)
            return l->rc ? l->rc : rc;
    }
    l->have_last = 0;
    if ((l->extra & RD_TEAMS) && (rc = s->ops.team_scan(s->backend, NULL, on_member, l)))
        return l->rc ? l->rc : rc;
    if ((l->extra & RD_TARGETS) &&
        (rc = s->ops.target_scan(s->backend, SFSM_SUBJECT_OWNER, NULL, d->target_year, on_target, l)))
        return l->rc ? l->rc : rc;
    if ((l->extra & RD_PAYMENTS) &&
        ((rc = s->ops.payment_scan(s->backend, NULL, on_payment, l)) || (rc = pay_flush(l))))
        return l->rc ? l->rc : rc;
    return SFSM_OK;
}

/* The opportunity as its history stood at d->as_of; 0 if it did not exist. */
static int reconstruct(report_data *d, rd_opp *o)
{
    if (o->created > d->as_of)
        return 0;
    const rd_entry *h = rd_hist(d, o);
    if (o->replay == 1) {   /* only the stage moved after as_of */
        for (uint32_t k = 0; k < o->nhist; k++) {
            if (h[k].at > d->as_of)
                continue;
            o->stage = h[k].to;
            if (h[k].kind != SFSM_HISTORY_UPDATE)
                o->entered = h[k].at;
        }
        return 1;
    }
    int32_t stage = -1;
    int64_t entered = o->created, amount = 0, close = 0;
    uint32_t currency = 0, owner = 0, customer = 0;
    for (uint32_t k = 0; k < o->nhist; k++) {
        if (h[k].at > d->as_of)
            continue;
        stage = h[k].to;
        if (h[k].kind != SFSM_HISTORY_UPDATE)
            entered = h[k].at;
        size_t e = o->hist + k;
        uint32_t chg = e < d->nent_chg ? d->ent_chg[e] : 0;
        if (chg) {
            const rd_change *c = &d->chg[chg - 1];
            if (c->mask & RD_CH_AMOUNT) {
                amount = c->amount;
                currency = c->currency;
            }
            if (c->mask & RD_CH_OWNER)
                owner = c->owner;
            if (c->mask & RD_CH_CUSTOMER)
                customer = c->customer;
            if (c->mask & RD_CH_CLOSE)
                close = c->expected_close;
        }
    }
    o->stage = stage;
    o->entered = entered;
    o->amount = amount;
    o->currency = currency;
    o->owner = owner;
    o->customer = customer;
    o->expected_close = close;
    return 1;
}

int64_t sfsm__rd_first_won(const report_data *d, const rd_opp *o, int *found)
{
    const rd_entry *h = rd_hist(d, o);
    for (uint32_t k = 0; k < o->nhist; k++)
        if (rd_visible(d, &h[k]) && rd_outcome(d, h[k].to) == SFSM_OUTCOME_WON) {
            *found = 1;
            return h[k].at;
        }
    *found = 0;
    return 0;
}

uint32_t sfsm__rd_lookup(const rd_strings *t, const char *s)
{
    if (!t->mask)
        return UINT32_MAX;
    size_t len = strlen(s);
    for (size_t h = sfsm__hash(s, len) & t->mask;; h = (h + 1) & t->mask) {
        uint32_t ix = t->slots[h];
        if (!ix)
            return UINT32_MAX;
        if (strcmp(t->pool + t->off[ix], s) == 0)
            return ix;
    }
}

int sfsm__rd_check(sfsm_engine *e, const sfsm_report_filter *f, const char *name, int need_period, report_data *d,
                   sfsm_report **out)
{
    if (!out)
        return sfsm_error_set(SFSM_EINVAL, "report '%s': out is NULL", name);
    *out = NULL;
    int year = d->target_year;
    memset(d, 0, sizeof *d);
    d->target_year = year;
    sfsm_report_filter none = SFSM_REPORT_FILTER_INIT;
    if (!f)
        f = &none;
    if (!e)
        return sfsm_error_set(SFSM_EINVAL, "report '%s': engine is NULL", name);
    if (f->version != SFSM_REPORT_FILTER_VERSION)
        return sfsm_error_set(SFSM_EVERSION, "report '%s': filter version %u unknown (expected %d)", name, f->version,
                              SFSM_REPORT_FILTER_VERSION);
    if (f->from_ms > f->to_ms)
        return sfsm_error_set(SFSM_EINVAL, "report '%s': the period starts (%lld) after it ends (%lld)", name,
                              (long long)f->from_ms, (long long)f->to_ms);
    d->has_period = f->from_ms != 0 || f->to_ms != 0;
    if (need_period && !d->has_period)
        return sfsm_error_set(SFSM_EINVAL, "report '%s': a period (from_ms, to_ms) is required", name);
    d->p = e->p;
    d->from = f->from_ms;
    d->to = f->to_ms;
    d->as_of = f->as_of_ms;
    return SFSM_OK;
}

int sfsm__rd_load(sfsm_engine *e, const sfsm_report_filter *f, const char *name, int need_period, unsigned extra,
                  report_data *d, sfsm_report **out)
{
    int rc = sfsm__rd_check(e, f, name, need_period, d, out);
    if (rc)
        return rc;
    sfsm_report_filter none = SFSM_REPORT_FILTER_INIT;
    if (!f)
        f = &none;
    if ((rc = sfsm__store_check_reentry(e->s)))
        return rc;
    d->now = f->as_of_ms ? f->as_of_ms : e->clock(e->clock_ud);

    loader l;
    memset(&l, 0, sizeof l);
    l.d = d;
    l.pipeline = e->p->name;
    l.pipeline_len = strlen(l.pipeline);
    l.report = name;
    l.want_changes = d->as_of != 0;
    l.pend_opp = -1;
    l.extra = extra;
    l.cur = -1;
    for (size_t k = 0; k < e->p->stage_count; k++)
        l.stage_len[k] = (uint32_t)strlen(e->p->stages[k].name);
    if (pcache_init(&l.names))
        return sfsm_error_set(SFSM_ENOMEM, "out of memory loading the data of report '%s'", name);
    sfsm_store *s = e->s;
    if ((rc = sfsm__store_enter(s))) {
        sfsm__free(l.names.mem);
        return rc;
    }
    s->in_callback++;
    rc = read_store(s, &l, f);
    s->in_callback--;
    sfsm__store_leave(s);
    sfsm__buf_free(&l.tmp);
    sfsm__buf_free(&l.last);
    sfsm__buf_free(&l.pend);
    sfsm__buf_free(&l.pay_ids);
    sfsm__buf_free(&l.unknown_to);
    sfsm__free(l.want);
    sfsm__free(l.pv);
    sfsm__free(l.names.mem);
    sfsm__free(l.id_ix);
    sfsm__free(l.stray_sum);
    str_free(&l.stray);
    if (!rc && l.pay_overflow)   /* the message of sfsm__sum */
        rc = sfsm_error_set(SFSM_EINVAL, "report '%s': the sum of payments overflows int64 (opportunity '%s')", name,
                            l.pay_overflow_id);
    if (rc) {
        sfsm__free(l.team);
        sfsm__rd_free(d);
        return rc;
    }

    /* as_of, then the filter, compacting in place. */
    uint32_t owner = f->owner ? sfsm__rd_lookup(&d->str, f->owner) : 0;
    uint32_t customer = f->customer ? sfsm__rd_lookup(&d->str, f->customer) : 0;
    size_t kept = 0;
    for (size_t i = 0; i < d->n; i++) {
        rd_opp *o = &d->opps[i];
        if (o->replay && !reconstruct(d, o))
            continue;
        if (f->owner && o->owner != owner)
            continue;
        if (f->customer && o->customer != customer)
            continue;
        if (f->team) {
            size_t k = 0;
            while (k < l.team_n && l.team[k] != o->owner)
                k++;
            if (k == l.team_n || !o->owner)
                continue;
        }
        int outcome = rd_outcome(d, o->stage);
        if (outcome >= 0 && outcome < 3)
            d->n_outcome[outcome]++;
        if (kept != i)
            d->opps[kept] = *o;
        kept++;
    }
    d->n = kept;
    sfsm__free(l.team);
    return SFSM_OK;
}

void sfsm__rd_free(report_data *d)
{
    sfsm__free(d->opps);
    sfsm__free(d->ent);
    sfsm__free(d->chg);
    sfsm__free(d->ent_chg);
    sfsm__free(d->paid);
    sfsm__free(d->tgt);
    sfsm__free(d->mem);
    str_free(&d->str);
    str_free(&d->ids);
    memset(d, 0, sizeof *d);
}
