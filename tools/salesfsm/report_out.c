/* A report (sfsm_report) as an aligned text table or as JSON. The table
 * turns the library's units into what a reader expects: money with two
 * decimals and thousands separators, basis points as percentages with one
 * decimal, durations in ms as days with one decimal, instants as dates.
 * The JSON is sfsm_report_to_json's, unchanged: minor units, bp and ms. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef enum cell_kind { K_PLAIN, K_MONEY, K_BP, K_DAYS, K_DATE } cell_kind;

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int is_one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/* How a column is shown; also its heading. */
static cell_kind column_kind(const sfsm_report *r, const char *name, char *head, size_t head_size)
{
    static const char *const money[] = { "amount", "weighted", "target", "won", "collected", "outstanding", NULL };
    static const char *const instants[] = { "entered_ms", "won_ms", NULL };
    size_t currency_col;
    int has_currency = sfsm_report_column(r, "currency", &currency_col) == SFSM_OK;
    size_t n = strlen(name);
    if (ends_with(name, "_bp")) {
        snprintf(head, head_size, "%.*s %%", (int)(n - 3), name);
        return K_BP;
    }
    if (ends_with(name, "_ms")) {
        /* instants show as dates; their headings must not clash with money
         * columns ("won" beside "won_ms" in receivables) */
        if (is_one_of(name, instants)) {
            snprintf(head, head_size, "%.*s on", (int)(n - 3), name);
            return K_DATE;
        }
        snprintf(head, head_size, "%.*s days", (int)(n - 3), name);
        return K_DAYS;
    }
    snprintf(head, head_size, "%s", name);
    return has_currency && is_one_of(name, money) ? K_MONEY : K_PLAIN;
}

/* One cell as text into buf; *numeric says whether it is right-aligned. */
static const char *cell_text(const sfsm_report *r, size_t row, size_t col, cell_kind kind, char *buf, size_t size,
                             int *numeric)
{
    *numeric = 0;
    if (sfsm_report_is_null(r, row, col))
        return col == 0 ? "total" : "-";
    const char *t = sfsm_report_text(r, row, col);
    if (t)
        return *t ? cli_tx(t) : "(none)";
    int64_t v = sfsm_report_int(r, row, col);
    *numeric = 1;
    switch (kind) {
    case K_MONEY:
        return cli_format_amount(v, buf, size);
    case K_BP: {
        /* bp are already rounded down; tenths of a percent, rounded down too. */
        int64_t tenths = v / 10;
        if (tenths < 0)
            snprintf(buf, size, "-%" PRId64 ".%" PRId64, -tenths / 10, -tenths % 10);
        else
            snprintf(buf, size, "%" PRId64 ".%" PRId64, tenths / 10, tenths % 10);
        return buf;
    }
    case K_DAYS: {
        /* tenths of a day, rounded half away from zero */
        uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        uint64_t tenths = (mag + 4320000) / 8640000;
        snprintf(buf, size, "%s%" PRIu64 ".%" PRIu64, v < 0 && tenths ? "-" : "", tenths / 10, tenths % 10);
        return buf;
    }
    case K_DATE:
        *numeric = 0;
        return cli_format_date(v, buf, size);
    default:
        snprintf(buf, size, "%" PRId64, v);
        return buf;
    }
}

#define CELL_MAX 64

int cli_report_print(const sfsm_report *r, FILE *f)
{
    size_t ncol = sfsm_report_column_count(r), nrow = sfsm_report_row_count(r);
    if (ncol == 0)
        return SFSM_OK;
    cell_kind *kind = calloc(ncol, sizeof *kind);
    size_t *width = calloc(ncol, sizeof *width);
    int *right = calloc(ncol, sizeof *right);
    char (*head)[CELL_MAX] = calloc(ncol, sizeof *head);
    if (!kind || !width || !right || !head) {
        free(kind);
        free(width);
        free(right);
        free(head);
        return sfsm_error_set(SFSM_ENOMEM, "out of memory for a report table");
    }
    char buf[CELL_MAX];
    for (size_t c = 0; c < ncol; c++) {
        kind[c] = column_kind(r, sfsm_report_column_name(r, c), head[c], sizeof head[c]);
        width[c] = strlen(head[c]);
        right[c] = sfsm_report_text(r, 0, c) == NULL && nrow > 0 && !sfsm_report_is_null(r, 0, c);
    }
    /* Widths over every cell; a column is numeric if any non-null cell is. */
    for (size_t row = 0; row < nrow; row++)
        for (size_t c = 0; c < ncol; c++) {
            int numeric;
            size_t w = strlen(cell_text(r, row, c, kind[c], buf, sizeof buf, &numeric));
            if (numeric)
                right[c] = 1;
            if (w > width[c])
                width[c] = w;
        }
    for (size_t c = 0; c < ncol; c++) {
        if (right[c])
            fprintf(f, "%s%*s", c ? "  " : "", (int)width[c], head[c]);
        else
            fprintf(f, "%s%-*s", c ? "  " : "", c + 1 < ncol ? (int)width[c] : 0, head[c]);
    }
    fputc('\n', f);
    for (size_t row = 0; row < nrow; row++) {
        for (size_t c = 0; c < ncol; c++) {
            int numeric;
            const char *t = cell_text(r, row, c, kind[c], buf, sizeof buf, &numeric);
            if (right[c])
                fprintf(f, "%s%*s", c ? "  " : "", (int)width[c], t);
            else
                fprintf(f, "%s%-*s", c ? "  " : "", c + 1 < ncol ? (int)width[c] : 0, t);
        }
        fputc('\n', f);
    }
    if (nrow == 0)
        fprintf(f, "(no rows)\n");
    free(kind);
    free(width);
    free(right);
    free(head);
    return SFSM_OK;
}

int cli_report_json(const sfsm_report *r, FILE *f)
{
    char *json = NULL;
    size_t len = 0;
    int rc = sfsm_report_to_json(r, &json, &len);
    if (rc)
        return rc;
    fwrite(json, 1, len, f);
    if (len == 0 || json[len - 1] != '\n')
        fputc('\n', f);
    sfsm_free(json);
    return SFSM_OK;
}
