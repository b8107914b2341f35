#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <salesfsm/common.h>

#include "alloc.h"
#include "json_text.h"

/* Keys made of [A-Za-z0-9_] appear in paths as .key, others as ["key"]. */
int sfsm__json_is_identifier(const char *key, size_t len)
{
    for (size_t k = 0; k < len; k++) {
        char c = key[k];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return len > 0;
}

/* The path of the value at byte `target` of a document cJSON accepted, for
 * faults found in its text rather than in the tree. */
void sfsm__json_path_at(const char *json, size_t target, char *out)
{
    typedef struct frame {
        int object, want_key;
        size_t index;
        const char *key;
        size_t key_len;
    } frame;
    snprintf(out, SFSM_JSON_PATH_SIZE, "document");
    frame *st = sfsm__calloc(CJSON_NESTING_LIMIT + 2, sizeof *st);
    if (!st)
        return;
    size_t depth = 0;
    for (size_t i = 0; i < target; i++) {
        char c = json[i];
        frame *top = depth ? &st[depth - 1] : NULL;
        if ((c == '{' || c == '[') && depth <= CJSON_NESTING_LIMIT) {
            st[depth++] = (frame){ c == '{', c == '{', 0, NULL, 0 };
        } else if ((c == '}' || c == ']') && depth) {
            depth--;
        } else if (c == ',' && top) {
            top->index++;
            top->want_key = top->object;
        } else if (c == ':' && top) {
            top->want_key = 0;
        } else if (c == '"') {
            size_t start = i + 1;
            for (i++; i < target && json[i] != '"'; i++)
                if (json[i] == '\\')
                    i++;
            if (i >= target)
                break;   /* the target is inside this string */
            if (top && top->want_key) {
                top->key = json + start;
                top->key_len = i - start;
            }
        }
    }
    size_t n = 0;
    for (size_t k = 0; k < depth && n < SFSM_JSON_PATH_SIZE - 1; k++) {
        const frame *f = &st[k];
        int w;
        if (!f->object)
            w = snprintf(out + n, SFSM_JSON_PATH_SIZE - n, "[%zu]", f->index);
        else if (f->key && !f->want_key && sfsm__json_is_identifier(f->key, f->key_len))
            w = snprintf(out + n, SFSM_JSON_PATH_SIZE - n, "%s%.*s", n ? "." : "", (int)(f->key_len < 64 ? f->key_len : 64),
                         f->key);
        else if (f->key && !f->want_key)
            w = snprintf(out + n, SFSM_JSON_PATH_SIZE - n, "[\"%.*s\"]", (int)(f->key_len < 64 ? f->key_len : 64), f->key);
        else
            break;
        if (w < 0 || (size_t)w >= SFSM_JSON_PATH_SIZE - n)
            break;   /* cut short, still terminated */
        n += (size_t)w;
    }
    if (n == 0)
        snprintf(out, SFSM_JSON_PATH_SIZE, "document");
    sfsm__free(st);
}

/* Strings of a document cJSON accepted: raw control characters are not
 * JSON, and \u0000 cannot live in a C string (cJSON would cut it off). */
int sfsm__json_check_strings(const char *json, size_t len)
{
    int in = 0;
    char path[SFSM_JSON_PATH_SIZE];
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)json[i];
        if (!in) {
            in = c == '"';
            continue;
        }
        if (c == '"') {
            in = 0;
        } else if (c == '\\') {
            if (i + 5 < len && json[i + 1] == 'u' && memcmp(json + i + 2, "0000", 4) == 0) {
                sfsm__json_path_at(json, i, path);
                return sfsm_error_set(SFSM_EINVAL, "%s: \\u0000 in a string at byte %zu (texts cannot hold NUL)", path, i);
            }
            i++;
        } else if (c < 0x20) {
            sfsm__json_path_at(json, i, path);
            return sfsm_error_set(SFSM_EPARSE, "%s: control character 0x%02x in a string at byte %zu (it must be escaped)",
                                  path, c, i);
        }
    }
    return SFSM_OK;
}


static int hex4(const char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char h = p[i];
        v <<= 4;
        if (h >= '0' && h <= '9')
            v |= (uint32_t)(h - '0');
        else if (h >= 'a' && h <= 'f')
            v |= (uint32_t)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F')
            v |= (uint32_t)(h - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

int sfsm__json_unicode(const char *p, uint32_t *cp)
{
    uint32_t lo;
    if (hex4(p, cp))
        return -1;
    if (*cp >= 0xDC00 && *cp <= 0xDFFF)
        return -2;
    if (*cp < 0xD800 || *cp > 0xDBFF)
        return 4;
    if (p[4] != '\\' || p[5] != 'u' || hex4(p + 6, &lo) || lo < 0xDC00 || lo > 0xDFFF)
        return -2;
    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
    return 10;
}

/* Digits d[0..n) (no leading zeros) times 10^exp, exactly: an integer only
 * if every digit after the point is 0. */
const char *sfsm__json_int(const char *p, int64_t lo, int64_t hi, int64_t *out)
{
    enum { MAX_DIGITS = 19 };   /* more significant digits than any int64 */
    int neg = *p == '-';
    p += neg;
    if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
        return NULL;
    char d[MAX_DIGITS];
    size_t n = 0, dropped = 0;   /* dropped: non-zero digits beyond MAX_DIGITS */
    long long point = 0;         /* digits before the point, counted from the first kept */
    int started = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        started |= *p != '0';
        if (!started)
            continue;
        if (n < MAX_DIGITS)
            d[n++] = *p;
        else
            dropped |= *p != '0';
        if (point < INT32_MAX)
            point++;
    }
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return NULL;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (!started && *p == '0') {
                if (point > -INT32_MAX)
                    point--;   /* 0.001: the first significant digit sits lower */
                continue;
            }
            started = 1;
            if (n < MAX_DIGITS)
                d[n++] = *p;
            else
                dropped |= *p != '0';
        }
    }
    long long exp = 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        int eneg = *p == '-';
        p += *p == '+' || *p == '-';
        if (*p < '0' || *p > '9')
            return NULL;
        for (; *p >= '0' && *p <= '9'; p++)
            if (exp < INT32_MAX)
                exp = exp * 10 + (*p - '0');
        exp = eneg ? -exp : exp;
    }
    while (n && d[n - 1] == '0')
        n--;
    if (!started || (n == 0 && !dropped)) {
        if (lo > 0 || hi < 0)
            return NULL;
        *out = 0;   /* 0, -0, 0.0e99999 */
        return p;
    }
    /* value = 0.d[0]d[1]... x 10^(point + exp): an integer when the
     * significant digits all fall before the point */
    long long places = point + exp;
    if (dropped || places < (long long)n || places > MAX_DIGITS)
        return NULL;
    uint64_t v = 0;
    for (long long k = 0; k < places; k++)
        v = v * 10 + (uint64_t)(k < (long long)n ? d[k] - '0' : 0);
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return NULL;
    int64_t x = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    if (x < lo || x > hi)
        return NULL;
    *out = x;
    return p;
}
