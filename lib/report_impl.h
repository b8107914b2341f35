/* Reports: the table they produce (report_table.c), the data they read
 * (report_data.c, loaded in one pass under the store lock) and the small
 * arithmetic, grouping and sorting helpers the nine reports share
 * (report_util.c). */
#ifndef SFSM_REPORT_IMPL_H
#define SFSM_REPORT_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <salesfsm/engine.h>
#include <salesfsm/history.h>
#include <salesfsm/report.h>
#include <salesfsm/targets.h>

#include "pipeline_impl.h"

__extension__ typedef __int128 rd_i128;

/* ---- sorting rows ---- */

/* A row to sort: its key and its index. */
typedef struct rd_sort {
    uint64_t key;
    size_t ix;
} rd_sort;

/* Sorts v[0..n) by key, then rows of equal keys by their texts in strcmp
 * order (row ix's text is the const char * at byte `at` of
 * rows + ix * size; NUL-terminated). In linear time: radix sorts by bytes,
 * of the keys, then of the texts 8 bytes at a time. The keys are
 * overwritten. -1: out of memory (v unchanged). */
int sfsm__sort_rows(rd_sort *v, size_t n, const void *rows, size_t size, size_t at);

/* ---- the table ---- */

enum { RT_NULL = 0, RT_TEXT = 1, RT_INT = 2 };

struct sfsm_report {
    char *name;
    char **cols;
    size_t ncols;
    /* the cells, nrows * ncols, row by row: apart, 9 bytes a cell (a large
     * report is millions of cells) */
    int64_t *vals;    /* the integer, or the text's offset in the table's text */
    uint8_t *types;   /* RT_* */
    size_t types_cap;
    char *text;       /* every text cell, NUL-terminated, back to back */
    size_t tlen, tcap;
    size_t nrows, cap;    /* cap: of vals, in cells */
    int failed;       /* an allocation failed while building */
};

/* New empty table with the given columns (copied). NULL: out of memory. */
sfsm_report *sfsm__rt_new(const char *name, const char *const *cols, size_t ncols);
/* Reserves room for rows more rows and text_bytes more bytes of text (a
 * hint: sets failed on OOM). */
void sfsm__rt_reserve(sfsm_report *r, size_t rows, size_t text_bytes);
/* Appends a row of null cells; returns its index (sets failed on OOM). */
size_t sfsm__rt_row(sfsm_report *r);
void sfsm__rt_text(sfsm_report *r, size_t row, size_t col, const char *s);   /* NULL: null cell */
/* As sfsm__rt_text with the length known (n bytes, without the NUL). */
void sfsm__rt_text_n(sfsm_report *r, size_t row, size_t col, const char *s, size_t n);
/* Report-data string i as a text cell (its length is known: no strlen). */
#define sfsm__rt_rd_text(r, row, col, d, i) \
    sfsm__rt_text_n((r), (row), (col), rd_s((d), (i)), (i) ? rd_size((d), (i)) - 1 : 0)
void sfsm__rt_int(sfsm_report *r, size_t row, size_t col, int64_t v);
/* Reorders rows first .. first + n - 1: row first + i becomes the row that
 * was first + order[i].ix (a permutation). -1 if the table failed or on out
 * of memory (failed set). */
int sfsm__rt_order(sfsm_report *r, size_t first, const rd_sort *order, size_t n);
/* Turns a finished table into the report's result: SFSM_OK and *out = r, or
 * SFSM_ENOMEM (r freed, *out NULL) if any step failed. */
int sfsm__rt_finish(sfsm_report *r, sfsm_report **out);

/* ---- the loaded data ---- */

/* One opportunity as the report sees it (at as_of when one is given).
 * Strings are indexes into the data's string table, 0 meaning NULL; its id
 * is one into the table of ids (rd_id). */
typedef struct rd_opp {
    int64_t amount, expected_close, created, entered;
    uint32_t id, owner, customer, currency;
    uint64_t hist;      /* first entry in rd.ent */
    uint32_t nhist;
    int32_t stage;      /* stage index, -1: not a stage of the pipeline */
    uint8_t replay;     /* as_of: its history goes past as_of, so its state
                           then is rebuilt from the history: 1 its stage
                           only, 2 its fields too (changed after as_of) */
    uint8_t hist_read;  /* its history was read (nhist may be 0 all the
                           same: RD_NO_HISTORY, RD_WON_ONLY) */
    uint32_t paid;      /* RD_PAYMENTS: index + 1 into rd.paid, 0: no payment */
} rd_opp;

/* One history entry (16 bytes: millions are loaded). */
typedef struct rd_entry {
    int64_t at;
    int16_t from, to;   /* stage indexes, -1: none or unknown */
    uint8_t kind;       /* sfsm_history_kind */
} rd_entry;

#define RD_CH_AMOUNT 0x01u   /* amount and currency */
#define RD_CH_CUSTOMER 0x02u
#define RD_CH_OWNER 0x04u
#define RD_CH_CLOSE 0x08u

typedef struct rd_change {
    int64_t amount, expected_close;
    uint32_t currency, owner, customer;
    uint32_t mask;      /* RD_CH_* */
} rd_change;

typedef struct rd_strings {
    char *pool;
    size_t len, cap;
    size_t *off;        /* off[i]: start of string i in pool (i >= 1) */
    size_t n, ncap;
    uint32_t *slots;    /* open addressing of interned strings: index, 0 empty */
    size_t mask, used;
} rd_strings;

typedef struct rd_target {
    int kind;           /* sfsm_subject_kind */
    uint32_t subject, currency;
    sfsm_period period;
    int64_t amount;
} rd_target;

typedef struct rd_member {
    uint32_t owner, team;
} rd_member;

/* What else to read in the same pass (sfsm__rd_load's `extra`). */
#define RD_PAYMENTS 0x1u   /* payments (at or before as_of), summed per opportunity */
#define RD_TARGETS 0x2u    /* targets of d->target_year */
#define RD_TEAMS 0x4u      /* every team membership */
/* Of the history, only what the report reads (an opportunity rebuilt at
 * as_of keeps all of its own): spares millions of entries. */
#define RD_NO_HISTORY 0x8u /* none */
#define RD_WON_ONLY 0x10u  /* the entry sfsm__rd_first_won finds, if any */

typedef struct report_data {
    const sfsm_pipeline *p;
    rd_opp *opps;
    size_t n, cap;
    size_t n_outcome[3];   /* of opps, how many at a stage of each outcome
                              (SFSM_OUTCOME_*): what a report reserves */
    rd_entry *ent;
    size_t nent, ent_cap;
    rd_change *chg;
    size_t nchg, chg_cap;
    uint32_t *ent_chg;  /* as_of: per entry, index + 1 into chg, 0: none;
                           entries from nent_chg on have none (it is only
                           grown for an entry with a change) */
    size_t nent_chg, ent_chg_cap;
    rd_strings str;     /* names: owners, customers, currencies, teams, … */
    rd_strings ids;     /* opportunity ids, in load order: apart from the
                           names, which stay compact (and cached) then */
    int64_t as_of;      /* filter's as_of_ms (0: none) */
    int64_t now;        /* as_of, or the engine clock's time when it is 0 */
    int64_t from, to;   /* the period */
    int has_period;
    int target_year;    /* in: the year RD_TARGETS reads */
    int64_t *paid;      /* Σ payments of an opportunity (rd_opp.paid) */
    size_t npaid, paid_cap;
    rd_target *tgt;
    size_t ntgt, tgt_cap;
    rd_member *mem;
    size_t nmem, mem_cap;
} report_data;

/* Checks the report's out (SFSM_EINVAL if NULL, else set to NULL) and
 * validates f (NULL: no filter) for report `name`; SFSM_EINVAL when
 * need_period and none is given. Loads the engine pipeline's opportunities
 * with their history, at as_of, with the filter's owner, team and customer
 * applied. The period is not applied (each report uses it its own way). */
int sfsm__rd_load(sfsm_engine *e, const sfsm_report_filter *f, const char *name, int need_period, unsigned extra,
                  report_data *d, sfsm_report **out);
/* Checks out, validates and copies the filter's period into d without loading. */
int sfsm__rd_check(sfsm_engine *e, const sfsm_report_filter *f, const char *name, int need_period, report_data *d,
                   sfsm_report **out);
void sfsm__rd_free(report_data *d);

static inline const char *rd_s(const report_data *d, uint32_t i)
{
    return i ? d->str.pool + d->str.off[i] : NULL;
}
/* Bytes of string i of t with its NUL (0 for NULL). */
static inline size_t rd_strings_size(const rd_strings *t, uint32_t i)
{
    return i ? (i + 1 < t->n ? t->off[i + 1] : t->len) - t->off[i] : 0;
}
static inline size_t rd_size(const report_data *d, uint32_t i)
{
    return rd_strings_size(&d->str, i);
}
/* An opportunity's id (o->id is an index into d->ids) and its bytes with
 * its NUL. */
static inline const char *rd_id(const report_data *d, uint32_t id)
{
    return d->ids.pool + d->ids.off[id];
}
static inline size_t rd_id_size(const report_data *d, uint32_t id)
{
    return rd_strings_size(&d->ids, id);
}
/* Interns s (NULL → 0); returns 0 with *ok = 0 on out of memory. */
uint32_t sfsm__rd_intern(rd_strings *t, const char *s, size_t len, int *ok);
/* Index of s if interned, else UINT32_MAX. */
uint32_t sfsm__rd_lookup(const rd_strings *t, const char *s);

static inline const rd_entry *rd_hist(const report_data *d, const rd_opp *o)
{
    return d->ent + o->hist;
}
/* 1 if the entry counts at the data's as_of. */
static inline int rd_visible(const report_data *d, const rd_entry *h)
{
    return d->as_of == 0 || h->at <= d->as_of;
}
static inline int rd_in_period(const report_data *d, int64_t t)
{
    return !d->has_period || (t >= d->from && t < d->to);
}
static inline int rd_outcome(const report_data *d, int stage)
{
    return stage < 0 ? -1 : (int)d->p->stages[stage].outcome;
}
/* Time of the first visible entry into a stage of outcome won; 0 with
 * *found 0 if none. */
int64_t sfsm__rd_first_won(const report_data *d, const rd_opp *o, int *found);

/* ---- arithmetic and grouping ---- */

/* floor(num * 10000 / den) for den > 0, as basis points. */
int64_t sfsm__bp(int64_t num, int64_t den);
/* floor(a / b) for b > 0. */
int64_t sfsm__floor_div(int64_t a, int64_t b);
/* The lower-middle value of v[0..n) (n > 0); reorders v. */
int64_t sfsm__median(int64_t *v, size_t n);
/* Adds v to *acc; SFSM_EINVAL naming the report and what on overflow. */
int sfsm__sum(int64_t *acc, int64_t v, const char *report, const char *what, const char *currency);
/* As sfsm__sum, the message also naming opportunity opp (NULL: none), the
 * one whose value made the sum overflow. */
int sfsm__sum_opp(int64_t *acc, int64_t v, const char *report, const char *what, const char *currency,
                  const char *opp);
/* The duration from start to end into *out: 0 when end is not after start
 * (a clock behind the data, servers with skewed clocks: a duration is never
 * negative); SFSM_EINVAL naming the report, opportunity opp and what when
 * end - start does not fit in int64. */
int sfsm__duration(int64_t end, int64_t start, int64_t *out, const char *report, const char *what, const char *opp);
/* A weighted total (Σ amount × probability) to its rounded-down /100 value. */
int sfsm__weighted(rd_i128 w, int64_t *out, const char *report, const char *currency);

/* Map from a pair of 32-bit keys to a dense group index. */
typedef struct rg_map {
    uint64_t *keys;
    uint32_t *slots;    /* index + 1, 0 empty */
    size_t n, cap, mask;
} rg_map;
/* Index of (a, b), adding it when new (*added set); -1 on out of memory. */
long sfsm__rg_get(rg_map *m, uint32_t a, uint32_t b, int *added);
/* Index of (a, b), or -1. */
long sfsm__rg_find(const rg_map *m, uint32_t a, uint32_t b);
void sfsm__rg_free(rg_map *m);

/* Money grouped by (key, currency): count, amount, Σ amount × probability. */
typedef struct money_row {
    uint32_t key, currency;
    int64_t count, amount, weighted;
    rd_i128 w;
} money_row;

typedef struct money_rows {
    rg_map map;
    money_row *v;
    size_t n, cap;
} money_rows;

/* Adds one opportunity (id opp, named if its amount overflows the sum);
 * SFSM_EINVAL on overflow, SFSM_ENOMEM. */
int sfsm__money_add(money_rows *m, const report_data *d, uint32_t key, uint32_t currency, int64_t amount,
                    int probability, const char *report, const char *opp);
/* Rounds the weighted sums and sorts by key, then currency (NULL first). */
int sfsm__money_finish(money_rows *m, const report_data *d, const char *report);
void sfsm__money_free(money_rows *m);


/* strcmp with NULL sorting first. */
int sfsm__cmp_null_first(const char *a, const char *b);

#endif
