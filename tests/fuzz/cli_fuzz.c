/* libFuzzer target for the command line's parsers of amounts, dates,
 * periods and counts (tools/salesfsm/money.c, cli_period.c, cli_args.c's
 * cli_parse_uint; tests/fuzz/run.sh links those files in directly). Every
 * input, cut at its first NUL as an argv string is, goes through each
 * parser. Invariants:
 *   - a refusal leaves a non-empty, NUL-terminated reason in why;
 *   - an amount that is accepted is >= 0 and formats (cli_format_amount)
 *     to text that, without its thousands separators, parses to the same
 *     value; any int64 formats without overflow;
 *   - a date that is accepted is a UTC midnight >= 1970 that formats
 *     (cli_format_date) back to the same text;
 *   - a period that is accepted formats (cli_format_period) back to the
 *     text (Q and W in either case) and has bounds 0 <= from < to; as a
 *     date option it stands for its start (end_of 0) or end (end_of 1);
 *   - a count (cli_parse_uint) that is accepted lies within its bounds and
 *     is the decimal value of the text. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *text)
{
    fprintf(stderr, "cli_fuzz: %s (input '%s')\n", what, text);
    abort();
}

/* why is filled with a marker first: a refusal must overwrite it with a
 * reason that ends within the buffer. */
#define WHY_SIZE 256
static void why_reset(char *why)
{
    memset(why, 'X', WHY_SIZE);
}

static void check_reason(const char *why, const char *text)
{
    if (memchr(why, '\0', WHY_SIZE) == NULL)
        fail("refusal left why unterminated", text);
    if (why[0] == '\0')
        fail("refusal with an empty reason", text);
}

/* The formatted amount, without its thousands separators, parses to v. */
static int parses_back(const char *formatted, int64_t v)
{
    char plain[64], why[WHY_SIZE];
    size_t n = 0;
    for (const char *p = formatted; *p && n < sizeof plain - 1; p++)
        if (*p != ',')
            plain[n++] = *p;
    plain[n] = '\0';
    int64_t again = -1;
    return cli_parse_amount(plain, &again, why, sizeof why) == 0 && again == v;
}

static void check_amount(const char *text)
{
    char why[WHY_SIZE];
    int64_t v = -1;
    why_reset(why);
    if (cli_parse_amount(text, &v, why, sizeof why) != 0) {
        check_reason(why, text);
        return;
    }
    if (v < 0)
        fail("negative amount accepted", text);
    char buf[64];
    cli_format_amount(v, buf, 32);   /* cli.h: at least 32 bytes */
    if (!parses_back(buf, v)) {
        fprintf(stderr, "cli_fuzz: %" PRId64 " formats as '%s'\n", v, buf);
        fail("formatted amount does not parse back to the same value", text);
    }
}

static void check_format_amount(const uint8_t *data, size_t size)
{
    if (size < 8)
        return;
    int64_t v;
    memcpy(&v, data, 8);
    char buf[40];
    memset(buf, 'X', sizeof buf);
    cli_format_amount(v, buf, 32);
    if (memchr(buf, '\0', 32) == NULL || buf[0] == '\0')
        fail("cli_format_amount overflowed its 32 bytes", "(binary)");
    /* above CLI_AMOUNT_MAX: "too large", as the library refuses it */
    if (v >= 0 && v <= CLI_AMOUNT_MAX && !parses_back(buf, v))
        fail("a formatted int64 does not parse back", buf);
    cli_format_date(v, buf, 32);
    cli_format_time(v, buf, 32);
    if (memchr(buf, '\0', 32) == NULL)
        fail("cli_format_time overflowed its 32 bytes", "(binary)");
}

static int check_date(const char *text, int64_t *out)
{
    char why[WHY_SIZE], back[40];
    int64_t ms = -1;
    why_reset(why);
    if (cli_parse_date(text, &ms, why, sizeof why) != 0) {
        check_reason(why, text);
        return -1;
    }
    if (ms < 0 || ms % 86400000 != 0)
        fail("accepted date is not a UTC midnight from 1970 on", text);
    cli_format_date(ms, back, sizeof back);
    if (strcmp(back, text) != 0)
        fail("accepted date does not format back to its text", text);
    *out = ms;
    return 0;
}

static int same_period_text(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (*a != *b && !((*a == 'q' && *b == 'Q') || (*a == 'w' && *b == 'W')))
            return 0;
    return *a == *b;
}

static int check_period(const char *text, int64_t *from, int64_t *to)
{
    char why[WHY_SIZE], back[32];
    sfsm_period p;
    why_reset(why);
    int rc = cli_parse_period(text, &p, why, sizeof why);
    int64_t f = -1, t = -1;
    char why2[WHY_SIZE];
    why_reset(why2);
    int rc2 = cli_parse_period_range(text, &f, &t, why2, sizeof why2);
    if ((rc == 0) != (rc2 == 0))
        fail("cli_parse_period and cli_parse_period_range disagree", text);
    if (rc != 0) {
        check_reason(why, text);
        check_reason(why2, text);
        return -1;
    }
    cli_format_period(&p, back, sizeof back);
    if (!same_period_text(text, back))
        fail("accepted period does not format back to its text", text);
    if (f < 0 || f >= t)
        fail("accepted period without 0 <= from < to", text);
    *from = f, *to = t;
    return 0;
}

static void check_when(const char *text, int date_rc, int64_t date_ms, int period_rc, int64_t from, int64_t to)
{
    for (int end_of = 0; end_of <= 1; end_of++) {
        char why[WHY_SIZE];
        int64_t ms = -1;
        why_reset(why);
        int rc = cli_parse_when(text, end_of, &ms, why, sizeof why);
        /* a 10-character text is read as a date only */
        int want = strlen(text) == 10 ? date_rc : period_rc;
        int64_t want_ms = strlen(text) == 10 ? date_ms : end_of ? to : from;
        if ((rc == 0) != (want == 0))
            fail("cli_parse_when disagrees with the date and period parsers", text);
        if (rc != 0)
            check_reason(why, text);
        else if (ms != want_ms)
            fail("cli_parse_when gives another instant than the date or period parser", text);
    }
}

static void check_uint(const char *text)
{
    static const uint64_t bounds[][2] = { { 0, UINT32_MAX }, { 1970, 9999 }, { 0, UINT64_MAX }, { 1, 3650 } };
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
        uint64_t v = 0;
        if (cli_parse_uint(text, bounds[i][0], bounds[i][1], &v) != 0)
            continue;
        if (v < bounds[i][0] || v > bounds[i][1])
            fail("cli_parse_uint accepted a value out of its bounds", text);
        const char *digits = text;
        while (digits[0] == '0' && digits[1] != '\0')
            digits++;
        char back[32];
        snprintf(back, sizeof back, "%" PRIu64, v);
        if (strcmp(back, digits) != 0)
            fail("cli_parse_uint's value is not the text's", text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    check_amount(text);
    check_format_amount(data, size);
    int64_t date_ms = -1, from = -1, to = -1;
    int date_rc = check_date(text, &date_ms);
    int period_rc = check_period(text, &from, &to);
    check_when(text, date_rc, date_ms, period_rc, from, to);
    check_uint(text);
    free(text);
    return 0;
}
