/* The report table: named columns, rows of null / text / integer cells,
 * its accessors and its JSON form. */
#include <stdint.h>
#include <string.h>

#include <salesfsm/report.h>

#include "alloc.h"
#include "report_impl.h"
#include "text.h"

int sfsm_report_filter_init(sfsm_report_filter *f, unsigned int version)
{
    if (!f)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_report_filter_init: filter is NULL");
    if (version != SFSM_REPORT_FILTER_VERSION)
        return sfsm_error_set(SFSM_EVERSION, "sfsm_report_filter_init: version %u unknown (expected %d)", version,
                              SFSM_REPORT_FILTER_VERSION);
    *f = (sfsm_report_filter)SFSM_REPORT_FILTER_INIT;
    return SFSM_OK;
}

sfsm_report *sfsm__rt_new(const char *name, const char *const *cols, size_t ncols)
{
    sfsm_report *r = sfsm__calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->name = sfsm__strdup(name);
    r->cols = sfsm__calloc(ncols ? ncols : 1, sizeof *r->cols);
    if (!r->name || !r->cols) {
        sfsm_report_free(r);
        return NULL;
    }
    r->ncols = ncols;
    for (size_t c = 0; c < ncols; c++)
        if (!(r->cols[c] = sfsm__strdup(cols[c]))) {
            sfsm_report_free(r);
            return NULL;
        }
    return r;
}

/* Room for `cells` cells in all. */
static int grow_cells(sfsm_report *r, size_t cells)
{
    if (sfsm__grow((void **)&r->vals, &r->cap, cells, sizeof *r->vals) ||
        sfsm__grow((void **)&r->types, &r->types_cap, cells, sizeof *r->types)) {
        r->failed = 1;
        return -1;
    }
    return 0;
}

void sfsm__rt_reserve(sfsm_report *r, size_t rows, size_t text_bytes)
{
    if (!r || r->failed)
        return;
    if ((rows && grow_cells(r, (r->nrows + rows) * r->ncols)) ||
        (text_bytes && sfsm__grow((void **)&r->text, &r->tcap, r->tlen + text_bytes, 1)))
        r->failed = 1;
}

size_t sfsm__rt_row(sfsm_report *r)
{
    if (r->failed || grow_cells(r, (r->nrows + 1) * r->ncols))
        return 0;
    memset(r->vals + r->nrows * r->ncols, 0, r->ncols * sizeof *r->vals);
    memset(r->types + r->nrows * r->ncols, RT_NULL, r->ncols * sizeof *r->types);
    return r->nrows++;
}

/* Index of a cell; SIZE_MAX if out of range or the table failed. */
static size_t cell(const sfsm_report *r, size_t row, size_t col)
{
    if (!r || r->failed || row >= r->nrows || col >= r->ncols)
        return SIZE_MAX;
    return row * r->ncols + col;
}

void sfsm__rt_text(sfsm_report *r, size_t row, size_t col, const char *s)
{
    sfsm__rt_text_n(r, row, col, s, s ? strlen(s) : 0);
}

void sfsm__rt_text_n(sfsm_report *r, size_t row, size_t col, const char *s, size_t len)
{
    size_t c = cell(r, row, col);
    if (c == SIZE_MAX || !s)
        return;
    size_t n = len + 1;
    if (sfsm__grow((void **)&r->text, &r->tcap, r->tlen + n, 1)) {
        r->failed = 1;
        return;
    }
    memcpy(r->text + r->tlen, s, n);
    r->types[c] = RT_TEXT;
    r->vals[c] = (int64_t)r->tlen;
    r->tlen += n;
}

void sfsm__rt_int(sfsm_report *r, size_t row, size_t col, int64_t v)
{
    size_t c = cell(r, row, col);
    if (c == SIZE_MAX)
        return;
    r->types[c] = RT_INT;
    r->vals[c] = v;
}

int sfsm__rt_order(sfsm_report *r, size_t first, const rd_sort *order, size_t n)
{
    if (!r || r->failed)
        return -1;
    if (n < 2)
        return 0;
    int64_t *vals = NULL;
    uint8_t *types = NULL;
    size_t cap = 0, types_cap = 0;
    if (sfsm__grow((void **)&vals, &cap, r->cap, sizeof *vals) ||
        sfsm__grow((void **)&types, &types_cap, r->types_cap, sizeof *types)) {
        sfsm__free(vals);
        r->failed = 1;
        return -1;
    }
    size_t w = r->ncols, from = first * w, to = (first + n) * w, end = r->nrows * w;
    memcpy(vals, r->vals, from * sizeof *vals);
    memcpy(types, r->types, from * sizeof *types);
    for (size_t i = 0; i < n; i++) {
        size_t src = (first + order[i].ix) * w, dst = (first + i) * w;
        memcpy(vals + dst, r->vals + src, w * sizeof *vals);
        memcpy(types + dst, r->types + src, w * sizeof *types);
    }
    memcpy(vals + to, r->vals + to, (end - to) * sizeof *vals);
    memcpy(types + to, r->types + to, (end - to) * sizeof *types);
    sfsm__free(r->vals);
    sfsm__free(r->types);
    r->vals = vals;
    r->types = types;
    r->cap = cap;
    r->types_cap = types_cap;
    return 0;
}

int sfsm__rt_finish(sfsm_report *r, sfsm_report **out)
{
    if (!r || r->failed) {
        sfsm_report_free(r);
        return sfsm_error_set(SFSM_ENOMEM, "out of memory building a report");
    }
    *out = r;
    return SFSM_OK;
}

void sfsm_report_free(sfsm_report *r)
{
    if (!r)
        return;
    sfsm__free(r->text);
    sfsm__free(r->vals);
    sfsm__free(r->types);
    if (r->cols)
        for (size_t c = 0; c < r->ncols; c++)
            sfsm__free(r->cols[c]);
    sfsm__free(r->cols);
    sfsm__free(r->name);
    sfsm__free(r);
}

const char *sfsm_report_name(const sfsm_report *r)
{
    return r ? r->name : NULL;
}

size_t sfsm_report_row_count(const sfsm_report *r)
{
    return r ? r->nrows : 0;
}

size_t sfsm_report_column_count(const sfsm_report *r)
{
    return r ? r->ncols : 0;
}

const char *sfsm_report_column_name(const sfsm_report *r, size_t col)
{
    return r && col < r->ncols ? r->cols[col] : NULL;
}

int sfsm_report_column(const sfsm_report *r, const char *name, size_t *col)
{
    if (!r || !name || !col)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_report_column: %s is NULL", !r ? "report" : !name ? "name" : "col");
    for (size_t c = 0; c < r->ncols; c++)
        if (strcmp(r->cols[c], name) == 0) {
            *col = c;
            return SFSM_OK;
        }
    return sfsm_error_set(SFSM_ENOTFOUND, "report '%s' has no column '%.*s'", r->name, SFSM_MAX_NAME, name);
}

int sfsm_report_is_null(const sfsm_report *r, size_t row, size_t col)
{
    size_t c = cell(r, row, col);
    return c == SIZE_MAX || r->types[c] == RT_NULL;
}

const char *sfsm_report_text(const sfsm_report *r, size_t row, size_t col)
{
    size_t c = cell(r, row, col);
    return c != SIZE_MAX && r->types[c] == RT_TEXT ? r->text + r->vals[c] : NULL;
}

int64_t sfsm_report_int(const sfsm_report *r, size_t row, size_t col)
{
    size_t c = cell(r, row, col);
    return c != SIZE_MAX && r->types[c] == RT_INT ? r->vals[c] : 0;
}

int sfsm_report_to_json(const sfsm_report *r, char **out, size_t *len)
{
    if (out)
        *out = NULL;
    if (len)
        *len = 0;
    if (!r || !out)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_report_to_json: %s is NULL", r ? "out" : "report");
    sfsm_buf b = { 0 };
    sfsm__buf_adds(&b, "{\"report\":");
    sfsm__buf_add_json_string(&b, r->name);
    sfsm__buf_adds(&b, ",\"columns\":[");
    for (size_t c = 0; c < r->ncols; c++) {
        if (c)
            sfsm__buf_adds(&b, ",");
        sfsm__buf_add_json_string(&b, r->cols[c]);
    }
    sfsm__buf_adds(&b, "],\"rows\":[");
    for (size_t i = 0; i < r->nrows; i++) {
        sfsm__buf_adds(&b, i ? ",[" : "[");
        for (size_t c = 0; c < r->ncols; c++) {
            size_t x = i * r->ncols + c;
            if (c)
                sfsm__buf_adds(&b, ",");
            if (r->types[x] == RT_TEXT) {
                /* control characters are escaped; bytes that are not UTF-8
                 * (from a corrupt store) cannot be: refused, as export does */
                const char *s = r->text + r->vals[x];
                if (!sfsm__utf8_valid(s, strlen(s))) {
                    sfsm__buf_free(&b);
                    return sfsm_error_set(SFSM_ESTORAGE,
                                          "sfsm_report_to_json: report '%s', row %zu, column '%s': the text is not "
                                          "valid UTF-8 (stored data is corrupt)",
                                          r->name, i, r->cols[c]);
                }
                sfsm__buf_add_json_string(&b, s);
            } else if (r->types[x] == RT_INT) {
                char num[24];
                sfsm__buf_add(&b, num, sfsm__format_i64(num, r->vals[x]));
            } else {
                sfsm__buf_adds(&b, "null");
            }
        }
        sfsm__buf_adds(&b, "]");
    }
    sfsm__buf_adds(&b, "]}");
    size_t n = b.len;
    char *s = sfsm__buf_take(&b);
    if (!s)
        return sfsm_error_set(SFSM_ENOMEM, "out of memory writing report '%s' as JSON", r->name);
    *out = s;
    if (len)
        *len = n;
    return SFSM_OK;
}
