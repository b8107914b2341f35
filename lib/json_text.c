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
