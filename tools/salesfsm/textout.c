/* Stored text shown on a terminal. A customer name or a note is data from
 * whoever wrote the store: printed raw, an ESC or BEL in it could move the
 * cursor, rewrite earlier lines or retitle the terminal. So control
 * characters and bytes that are not UTF-8 are written as escapes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;   /* overlong */
        else if (c == 0xED)
            hi = 0x9F;   /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;   /* overlong */
        else if (c == 0xF4)
            hi = 0x8F;   /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if (s[k] < 0x80 || s[k] > 0xBF)
            return 0;
    return len;
}

int cli_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        if (len - i >= 8) {   /* ASCII runs, eight bytes at a time */
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (!(w & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        size_t k = utf8_seq(p + i, len - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

/* Whether the k-byte sequence at p is written as escapes: C0 controls, DEL,
 * the C1 controls U+0080..U+009F (some terminals act on them too), any byte
 * of a malformed sequence (k == 0), and backslash when `backslash` is set
 * (so that an escape in stored text is never ambiguous). */
static int needs_escape(const unsigned char *p, size_t k, int backslash)
{
    if (k == 0)
        return 1;
    if (k == 1)
        return p[0] < 0x20 || p[0] == 0x7F || (backslash && p[0] == '\\');
    return k == 2 && p[0] == 0xC2 && p[1] <= 0x9F;
}

static size_t escape_byte(unsigned char c, char *out)
{
    static const char hex[] = "0123456789abcdef";
    static const char named[] = "\a\b\t\n\v\f\r\\";
    static const char letter[] = "abtnvfr\\";
    const char *hit = c ? memchr(named, c, sizeof named - 1) : NULL;
    out[0] = '\\';
    if (hit) {
        out[1] = letter[hit - named];
        return 2;
    }
    out[1] = 'x';
    out[2] = hex[c >> 4];
    out[3] = hex[c & 15];
    return 4;
}

/* Rotating buffers, so that one printf may show several escaped texts. */
#define RING 8
static struct {
    char *data;
    size_t cap;
} ring[RING];
static unsigned ring_next;

static void free_ring(void)
{
    for (unsigned i = 0; i < RING; i++)
        free(ring[i].data);
}

static const char *escaped(const char *s, int backslash)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    while (i < n) {
        size_t k = utf8_seq(p + i, n - i);
        if (needs_escape(p + i, k, backslash))
            break;
        i += k;
    }
    if (i == n)
        return s;   /* the common case: nothing to escape, nothing copied */

    static int registered;
    if (!registered)
        registered = atexit(free_ring) == 0;
    unsigned slot = ring_next++ % RING;
    size_t need = n * 4 + 1;   /* every byte as \xHH at worst */
    if (ring[slot].cap < need) {
        char *b = realloc(ring[slot].data, need);
        if (!b)
            return "(text not shown: out of memory)";
        ring[slot].data = b;
        ring[slot].cap = need;
    }
    char *out = ring[slot].data;
    size_t o = 0;
    memcpy(out, s, i);
    o = i;
    while (i < n) {
        size_t k = utf8_seq(p + i, n - i);
        if (needs_escape(p + i, k, backslash)) {
            size_t bytes = k ? k : 1;
            for (size_t b = 0; b < bytes; b++)
                o += escape_byte(p[i + b], out + o);
            i += bytes;
        } else {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        }
    }
    out[o] = '\0';
    return out;
}

const char *cli_tx(const char *s)
{
    return s ? escaped(s, 1) : "-";
}

const char *cli_tx_message(const char *s)
{
    return escaped(s ? s : "", 0);
}
