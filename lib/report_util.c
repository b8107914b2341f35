/* Arithmetic, medians, grouping and sorting shared by the reports. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "record_check.h"
#include "report_impl.h"

int64_t sfsm__floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int64_t sfsm__bp(int64_t num, int64_t den)
{
    rd_i128 q = (rd_i128)num * 10000 / den;
    if ((rd_i128)num * 10000 % den != 0 && num < 0)
        q--;
    if (q > INT64_MAX)
        return INT64_MAX;
    if (q < INT64_MIN)
        return INT64_MIN;
    return (int64_t)q;
}

/* Quickselect (three-way partition) for the k-th smallest, 0-based. */
static void swap64(int64_t *a, int64_t *b)
{
    int64_t t = *a;
    *a = *b;
    *b = t;
}

int64_t sfsm__median(int64_t *v, size_t n)
{
    size_t k = (n - 1) / 2, lo = 0, hi = n;
    while (hi - lo > 1) {
        int64_t a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
        int64_t pivot = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (v[i] < pivot)
                swap64(&v[lt++], &v[i++]);
            else if (v[i] > pivot)
                swap64(&v[i], &v[--gt]);
            else
                i++;
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return pivot;
    }
    return v[k];
}

int sfsm__sum_opp(int64_t *acc, int64_t v, const char *report, const char *what, const char *currency,
                  const char *opp)
{
    if (!__builtin_add_overflow(*acc, v, acc))
        return SFSM_OK;
    char label[SFSM_LABEL_SIZE];
    return sfsm_error_set(SFSM_EINVAL, "report '%s': the sum of %s%s%s overflows int64%s%s%s", report, what,
                          currency ? " in " : "", currency ? currency : "", opp ? " (adding opportunity '" : "",
                          opp ? sfsm__label(label, opp) : "", opp ? "')" : "");
}

int sfsm__sum(int64_t *acc, int64_t v, const char *report, const char *what, const char *currency)
{
    return sfsm__sum_opp(acc, v, report, what, currency, NULL);
}

int sfsm__duration(int64_t end, int64_t start, int64_t *out, const char *report, const char *what, const char *opp)
{
    int64_t ms;
    if (end <= start) {
        *out = 0;   /* a clock behind the data: never a negative duration */
        return SFSM_OK;
    }
    if (__builtin_sub_overflow(end, start, &ms)) {
        char label[SFSM_LABEL_SIZE];
        return sfsm_error_set(SFSM_EINVAL, "report '%s': opportunity '%s': %s (%lld - %lld ms) overflows int64", report,
                              sfsm__label(label, opp), what, (long long)end, (long long)start);
    }
    *out = ms;
    return SFSM_OK;
}

int sfsm__weighted(rd_i128 w, int64_t *out, const char *report, const char *currency)
{
    rd_i128 q = w / 100;
    if (w < 0 && w % 100 != 0)
        q--;
    if (q > INT64_MAX || q < INT64_MIN)
        return sfsm_error_set(SFSM_EINVAL, "report '%s': the weighted sum%s%s overflows int64", report,
                              currency ? " in " : "", currency ? currency : "");
    *out = (int64_t)q;
    return SFSM_OK;
}

static size_t rg_hash(uint64_t k)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    return (size_t)k;
}

long sfsm__rg_find(const rg_map *m, uint32_t a, uint32_t b)
{
    uint64_t key = (uint64_t)a << 32 | b;
    if (!m->mask)
        return -1;
    for (size_t h = rg_hash(key) & m->mask;; h = (h + 1) & m->mask) {
        uint32_t s = m->slots[h];
        if (!s)
            return -1;
        if (m->keys[s - 1] == key)
            return (long)(s - 1);
    }
}

long sfsm__rg_get(rg_map *m, uint32_t a, uint32_t b, int *added)
{
    uint64_t key = (uint64_t)a << 32 | b;
    *added = 0;
    if (m->mask) {
        for (size_t h = rg_hash(key) & m->mask;; h = (h + 1) & m->mask) {
            uint32_t s = m->slots[h];
            if (!s)
                break;
            if (m->keys[s - 1] == key)
                return (long)(s - 1);
        }
    }
    if ((m->n + 1) * 2 > m->mask + 1 || !m->mask) {
        size_t size = m->mask ? (m->mask + 1) * 2 : 64;
        uint32_t *slots = sfsm__calloc(size, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < m->n; i++) {
            size_t h = rg_hash(m->keys[i]) & (size - 1);
            while (slots[h])
                h = (h + 1) & (size - 1);
            slots[h] = (uint32_t)(i + 1);
        }
        sfsm__free(m->slots);
        m->slots = slots;
        m->mask = size - 1;
    }
    if (sfsm__grow((void **)&m->keys, &m->cap, m->n + 1, sizeof *m->keys))
        return -1;
    m->keys[m->n] = key;
    size_t h = rg_hash(key) & m->mask;
    while (m->slots[h])
        h = (h + 1) & m->mask;
    m->slots[h] = (uint32_t)(m->n + 1);
    *added = 1;
    return (long)m->n++;
}

void sfsm__rg_free(rg_map *m)
{
    sfsm__free(m->keys);
    sfsm__free(m->slots);
    memset(m, 0, sizeof *m);
}

int sfsm__cmp_null_first(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

int sfsm__money_add(money_rows *m, const report_data *d, uint32_t key, uint32_t currency, int64_t amount,
                    int probability, const char *report, const char *opp)
{
    int added;
    long g = sfsm__rg_get(&m->map, key, currency, &added);
    if (g < 0)
        return sfsm_error_set(SFSM_ENOMEM, "out of memory computing report '%s'", report);
    if (added) {
        if (sfsm__grow((void **)&m->v, &m->cap, m->n + 1, sizeof *m->v))
            return sfsm_error_set(SFSM_ENOMEM, "out of memory computing report '%s'", report);
        memset(&m->v[m->n], 0, sizeof *m->v);
        m->v[m->n].key = key;
        m->v[m->n].currency = currency;
        m->n++;
    }
    money_row *r = &m->v[g];
    r->count++;
    int rc = sfsm__sum_opp(&r->amount, amount, report, "amounts", rd_s(d, currency), opp);
    if (rc)
        return rc;
    r->w += (rd_i128)amount * probability;
    return SFSM_OK;
}

/* qsort has no user data in C11: the data being sorted, per thread. */
static _Thread_local const report_data *g_sort_data;

static int cmp_money(const void *a, const void *b)
{
    const money_row *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return sfsm__cmp_null_first(rd_s(g_sort_data, x->currency), rd_s(g_sort_data, y->currency));
}

int sfsm__money_finish(money_rows *m, const report_data *d, const char *report)
{
    for (size_t i = 0; i < m->n; i++) {
        int rc = sfsm__weighted(m->v[i].w, &m->v[i].weighted, report, rd_s(d, m->v[i].currency));
        if (rc)
            return rc;
    }
    g_sort_data = d;
    if (m->n)
        qsort(m->v, m->n, sizeof *m->v, cmp_money);
    return SFSM_OK;
}

void sfsm__money_free(money_rows *m)
{
    sfsm__rg_free(&m->map);
    sfsm__free(m->v);
    memset(m, 0, sizeof *m);
}

/* ---- sorting rows in linear time ---- */

/* Least-significant-digit radix sort of v[0..n) by key, a byte per pass;
 * a byte that every key shares costs no pass. Stable. tmp: room for n;
 * the result is in v. */
static void radix_keys(rd_sort *v, rd_sort *tmp, size_t n)
{
    size_t count[8][256];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = v[i].key;
        for (int b = 0; b < 8; b++)
            count[b][(k >> (8 * b)) & 0xff]++;
    }
    rd_sort *src = v, *dst = tmp;
    for (int b = 0; b < 8; b++) {
        size_t *c = count[b];
        if (c[(v[0].key >> (8 * b)) & 0xff] == n)
            continue;   /* the same byte everywhere: already in order */
        for (size_t x = 0, at = 0; x < 256; x++) {
            size_t k = c[x];
            c[x] = at;
            at += k;
        }
        for (size_t i = 0; i < n; i++)
            dst[c[(src[i].key >> (8 * b)) & 0xff]++] = src[i];
        rd_sort *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
}

typedef struct sort_texts {
    const char *rows;   /* the rows' text pointers: at + ix * size */
    size_t size, at;
} sort_texts;

static const char *text_of(const sort_texts *t, size_t ix)
{
    const char *p;
    memcpy(&p, t->rows + ix * t->size + t->at, sizeof p);
    return p;
}

/* strcmp of the texts of a and b, equal before off. */
static int cmp_from(const sort_texts *t, const rd_sort *a, const rd_sort *b, size_t off)
{
    return strcmp(text_of(t, a->ix) + off, text_of(t, b->ix) + off);
}

static void sift_down(const sort_texts *t, rd_sort *v, size_t i, size_t n, size_t off)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && cmp_from(t, &v[c], &v[c + 1], off) < 0)
            c++;
        if (cmp_from(t, &v[i], &v[c], off) >= 0)
            return;
        rd_sort x = v[i];
        v[i] = v[c];
        v[c] = x;
        i = c;
    }
}

/* Orders v[0..n), whose texts are equal before byte off, by their texts:
 * 8 bytes at a time as radix keys, then the runs that still agree from the
 * next 8 bytes on. Small runs by insertion; very long common prefixes by
 * heapsort (no deeper recursion). */
static void sort_by_text(const sort_texts *t, rd_sort *v, rd_sort *tmp, size_t n, size_t off)
{
    if (n <= 16) {
        for (size_t i = 1; i < n; i++) {
            rd_sort x = v[i];
            size_t j = i;
            for (; j > 0 && cmp_from(t, &v[j - 1], &x, off) > 0; j--)
                v[j] = v[j - 1];
            v[j] = x;
        }
        return;
    }
    if (off >= 64) {
        for (size_t i = n / 2; i-- > 0;)
            sift_down(t, v, i, n, off);
        for (size_t end = n - 1; end > 0; end--) {
            rd_sort x = v[0];
            v[0] = v[end];
            v[end] = x;
            sift_down(t, v, 0, end, off);
        }
        return;
    }
    /* the next 8 bytes, big-endian, zero after the text's end: keys order
     * as strcmp does up to them */
    for (size_t i = 0; i < n; i++) {
        const unsigned char *s = (const unsigned char *)text_of(t, v[i].ix) + off;
        uint64_t k = 0;
        int b = 0;
        for (; b < 8 && s[b]; b++)
            k = k << 8 | s[b];
        v[i].key = b ? k << (8 * (8 - b)) : 0;
    }
    radix_keys(v, tmp, n);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && v[j].key == v[i].key; j++)
            ;
        /* equal keys whose last byte is not the end go on: texts that
         * ended within them are equal */
        if (j - i > 1 && (v[i].key & 0xff))
            sort_by_text(t, v + i, tmp + i, j - i, off + 8);
    }
}

int sfsm__sort_rows(rd_sort *v, size_t n, const void *rows, size_t size, size_t at)
{
    if (n < 2)
        return 0;
    rd_sort *tmp = NULL;
    size_t cap = 0;
    if (sfsm__grow((void **)&tmp, &cap, n, sizeof *tmp))
        return -1;
    radix_keys(v, tmp, n);
    sort_texts t = { rows, size, at };
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && v[j].key == v[i].key; j++)
            ;
        if (j - i > 1)
            sort_by_text(&t, v + i, tmp + i, j - i, 0);
    }
    sfsm__free(tmp);
    return 0;
}
