/* Money and time as text. Amounts are int64 minor units (fen, cents) with
 * two decimals; no floating point anywhere. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static int refuse(char *why, size_t size, const char *text, const char *reason)
{
    snprintf(why, size, "'%s' is not an amount: %s", text, reason);
    return -1;
}

int cli_parse_amount(const char *text, int64_t *minor, char *why, size_t why_size)
{
    const char *p = text;
    int64_t units = 0;
    if (*p == '-')
        return refuse(why, why_size, text, "it must not be negative");
    if (*p < '0' || *p > '9')
        return refuse(why, why_size, text, "expected digits like 1234 or 1234.56");
    for (; *p >= '0' && *p <= '9'; p++) {
        int d = *p - '0';
        if (units > (CLI_AMOUNT_MAX / 100 - d) / 10)   /* cents are checked below */
            return refuse(why, why_size, text, "too large (at most 90071992547409.91)");
        units = units * 10 + d;
    }
    int64_t cents = 0;
    if (*p == '.') {
        const char *frac = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        size_t n = (size_t)(p - frac);
        if (n == 0 || n > 2)
            return refuse(why, why_size, text, "one or two digits must follow the decimal point");
        cents = (frac[0] - '0') * 10 + (n == 2 ? frac[1] - '0' : 0);
    }
    if (*p != '\0')
        return refuse(why, why_size, text, "expected digits like 1234 or 1234.56 (no sign, exponent or separators)");
    if (units * 100 > CLI_AMOUNT_MAX - cents)
        return refuse(why, why_size, text, "too large (at most 90071992547409.91)");
    *minor = units * 100 + cents;
    return 0;
}

char *cli_format_amount(int64_t minor, char *buf, size_t size)
{
    char digits[32];
    const char *sign = minor < 0 ? "-" : "";
    uint64_t m = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    int n = snprintf(digits, sizeof digits, "%" PRIu64, m / 100);
    char grouped[48];
    size_t g = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            grouped[g++] = ',';
        grouped[g++] = digits[i];
    }
    grouped[g] = '\0';
    snprintf(buf, size, "%s%s.%02u", sign, grouped, (unsigned)(m % 100));
    return buf;
}

char *cli_format_time(int64_t ms, char *buf, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms < 0 || !gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        snprintf(buf, size, "%" PRId64 " ms", ms);
    return buf;
}
