/* A small JSON writer: two-space indentation, commas kept track of, strings
 * escaped as RFC 8259 requires ('"', '\\' and control characters); UTF-8
 * text passes through unchanged. */
#include <inttypes.h>

#include "cli.h"

void jw_init(jsonw *w, FILE *f)
{
    w->f = f;
    w->depth = 0;
    w->first = 1;
    w->after_key = 0;
}

static void indent(jsonw *w)
{
    fputc('\n', w->f);
    for (int i = 0; i < w->depth; i++)
        fputs("  ", w->f);
}

/* Separator before a value (or key) in the current container. */
static void before_value(jsonw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth > 0) {
        if (!w->first)
            fputc(',', w->f);
        indent(w);
    }
    w->first = 0;
}

static void begin(jsonw *w, char c)
{
    before_value(w);
    fputc(c, w->f);
    w->depth++;
    w->first = 1;
}

static void end(jsonw *w, char c)
{
    w->depth--;
    if (!w->first)
        indent(w);
    fputc(c, w->f);
    w->first = 0;
}

void jw_begin_object(jsonw *w) { begin(w, '{'); }
void jw_end_object(jsonw *w) { end(w, '}'); }
void jw_begin_array(jsonw *w) { begin(w, '['); }
void jw_end_array(jsonw *w) { end(w, ']'); }

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

void jw_key(jsonw *w, const char *key)
{
    before_value(w);
    put_string(w->f, key);
    fputs(": ", w->f);
    w->after_key = 1;
}

void jw_string(jsonw *w, const char *s)
{
    if (!s) {
        jw_null(w);
        return;
    }
    before_value(w);
    put_string(w->f, s);
}

void jw_int(jsonw *w, int64_t v)
{
    before_value(w);
    fprintf(w->f, "%" PRId64, v);
}

void jw_uint(jsonw *w, uint64_t v)
{
    before_value(w);
    fprintf(w->f, "%" PRIu64, v);
}

void jw_null(jsonw *w)
{
    before_value(w);
    fputs("null", w->f);
}

void jw_raw(jsonw *w, const char *json)
{
    before_value(w);
    fputs(json, w->f);
}

void jw_finish(jsonw *w)
{
    fputc('\n', w->f);
}
