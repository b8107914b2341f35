#include "text.h"

#include <stdio.h>
#include <string.h>

#include <salesfsm/common.h>

#include "alloc.h"
#include "record_check.h"   /* sfsm__label */

int sfsm__utf8_valid(const char *str, size_t len)
{
    return sfsm__utf8_check(str, len) == len;
}

size_t sfsm__utf8_check(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        if (len - i >= 8) {   /* ASCII runs, eight bytes at a time */
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return i;
        }
        if (len - i <= n)
            return i;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += n + 1;
    }
    return len;
}

int sfsm__text_fault(const char *s, size_t max, int flags, size_t *at)
{
    if (!s)
        return flags & SFSM_TEXT_NULLABLE ? SFSM_TEXT_OK : SFSM_TEXT_NULL;
    size_t len = strnlen(s, max + 1);
    if (len == 0)
        return flags & SFSM_TEXT_EMPTY_OK ? SFSM_TEXT_OK : SFSM_TEXT_EMPTY;
    if (len > max)
        return SFSM_TEXT_LONG;
    size_t bad = sfsm__utf8_check(s, len);
    if (at)
        *at = bad;
    return bad == len ? SFSM_TEXT_OK : SFSM_TEXT_UTF8;
}

static int check(const char *what, const char *s, size_t max, int flags)
{
    switch (sfsm__text_fault(s, max, flags, NULL)) {
    case SFSM_TEXT_OK: return SFSM_OK;
    case SFSM_TEXT_NULL: return sfsm_error_set(SFSM_EINVAL, "%s: must not be NULL", what);
    case SFSM_TEXT_EMPTY: return sfsm_error_set(SFSM_EINVAL, "%s: must not be empty", what);
    case SFSM_TEXT_LONG: return sfsm_error_set(SFSM_EINVAL, "%s: longer than %zu bytes", what, max);
    default: return sfsm_error_set(SFSM_EINVAL, "%s: not valid UTF-8", what);
    }
}

int sfsm__check_name(const char *what, const char *s, size_t max)
{
    return check(what, s, max, 0);
}

int sfsm__check_text(const char *what, const char *s, size_t max)
{
    return check(what, s, max, SFSM_TEXT_NULLABLE | SFSM_TEXT_EMPTY_OK);
}

int sfsm__currency_ok(const char *c)
{
    if (!c)
        return 0;
    for (int i = 0; i < 3; i++)
        if (c[i] < 'A' || c[i] > 'Z')
            return 0;
    return c[3] == '\0';
}

int sfsm__check_currency(const char *c)
{
    if (!c)
        return sfsm_error_set(SFSM_EINVAL, "currency: must not be NULL");
    if (!sfsm__currency_ok(c))
    {
        char label[SFSM_LABEL_SIZE];
        return sfsm_error_set(SFSM_EINVAL, "currency: '%s' is not an ISO 4217 code (three letters A-Z)",
                              sfsm__label(label, c));
    }
    return SFSM_OK;
}

const char *const sfsm__field_names[SFSM__FIELD_COUNT] = { "amount", "customer", "owner",
                                                           "title",  "expected_close", "attrs" };

const char *sfsm__field_name(uint32_t bit)
{
    for (size_t k = 0; k < SFSM__FIELD_COUNT; k++)
        if (bit == 1u << k)
            return sfsm__field_names[k];
    return "?";
}

uint32_t sfsm__hash(const char *s, size_t len)
{
    /* Eight bytes at a time: names and ids are short, and this runs several
     * times per transition. */
    uint64_t h = 0x9E3779B97F4A7C15ull ^ len;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
        s += 8;
        len -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, len);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    return (uint32_t)h;
}

size_t sfsm__format_i64(char *out, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0)
        out[len++] = '-';
    while (n)
        out[len++] = tmp[--n];
    out[len] = '\0';
    return len;
}

void sfsm__buf_add(sfsm_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->cap == 0 && sfsm__grow((void **)&b->data, &b->cap, 128, 1) != 0) {
        b->failed = 1;
        return;
    }
    if (sfsm__grow((void **)&b->data, &b->cap, b->len + n + 1, 1) != 0) {
        b->failed = 1;
        return;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sfsm__buf_adds(sfsm_buf *b, const char *s)
{
    sfsm__buf_add(b, s, strlen(s));
}

void sfsm__buf_add_utf8(sfsm_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    sfsm__buf_add(b, u, n);
}

void sfsm__buf_add_json_string(sfsm_buf *b, const char *s)
{
    sfsm__buf_add(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        sfsm__buf_add(b, run, (size_t)(s - run));
        char esc[8];
        switch (c) {
        case '"': sfsm__buf_add(b, "\\\"", 2); break;
        case '\\': sfsm__buf_add(b, "\\\\", 2); break;
        case '\n': sfsm__buf_add(b, "\\n", 2); break;
        case '\r': sfsm__buf_add(b, "\\r", 2); break;
        case '\t': sfsm__buf_add(b, "\\t", 2); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sfsm__buf_add(b, esc, 6);
        }
        run = s + 1;
    }
    sfsm__buf_add(b, run, (size_t)(s - run));
    sfsm__buf_add(b, "\"", 1);
}

char *sfsm__buf_take(sfsm_buf *b)
{
    char *d = b->failed ? NULL : b->data;
    if (b->failed)
        sfsm__free(b->data);
    if (!b->failed && !d)
        d = sfsm__strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
    return d;
}

void sfsm__buf_free(sfsm_buf *b)
{
    sfsm__free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
