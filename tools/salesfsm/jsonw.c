/* A small JSON writer: two-space indentation, commas kept track of, strings
 * escaped as RFC 8259 requires ('"', '\\' and control characters); UTF-8
 * text passes through unchanged, and text that is not UTF-8 stops the
 * writer (see cli.h). */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

void jw_init(jsonw *w, FILE *f)
{
    w->f = f;
    w->depth = 0;
    w->first = 1;
    w->after_key = 0;
    w->failed = 0;
    w->key_at = NULL;
    w->key[0] = '\0';
}

/* Stops the writer at text that is not UTF-8. The key is copied only now:
 * a failure is rare, a key is written for every member. */
static void fail(jsonw *w)
{
    w->failed = 1;
    if (w->key_at)
        snprintf(w->key, sizeof w->key, "%s", w->key_at);
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
    if (w->failed)
        return;
    before_value(w);
    fputc(c, w->f);
    w->depth++;
    w->first = 1;
}

static void end(jsonw *w, char c)
{
    if (w->failed)
        return;
    w->depth--;
    if (!w->first)
        indent(w);
    fputc(c, w->f);
    w->first = 0;
}

void jw_begin_object(jsonw *w) { begin(w, '{'); }
void jw_end_object(jsonw *w)
{
    w->key_at = NULL;   /* its keys may be gone once it ends */
    end(w, '}');
}
void jw_begin_array(jsonw *w) { begin(w, '['); }
void jw_end_array(jsonw *w) { end(w, ']'); }

/* s is UTF-8 (checked by the caller). */
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
    if (w->failed)
        return;
    w->key_at = key;
    if (!cli_utf8_valid(key, strlen(key))) {
        fail(w);
        return;
    }
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
    if (w->failed)
        return;
    if (!cli_utf8_valid(s, strlen(s))) {
        fail(w);
        return;
    }
    before_value(w);
    put_string(w->f, s);
}

void jw_int(jsonw *w, int64_t v)
{
    if (w->failed)
        return;
    before_value(w);
    fprintf(w->f, "%" PRId64, v);
}

void jw_uint(jsonw *w, uint64_t v)
{
    if (w->failed)
        return;
    before_value(w);
    fprintf(w->f, "%" PRIu64, v);
}

void jw_null(jsonw *w)
{
    if (w->failed)
        return;
    before_value(w);
    fputs("null", w->f);
}

void jw_raw(jsonw *w, const char *json)
{
    if (w->failed)
        return;
    if (!cli_utf8_valid(json, strlen(json))) {
        fail(w);
        return;
    }
    before_value(w);
    fputs(json, w->f);
}

int jw_finish(jsonw *w, int rc)
{
    if (!w->failed)
        fputc('\n', w->f);
    if (rc != SFSM_OK || !w->failed)
        return rc;
    fputc('\n', w->f);   /* end the cut-short line; the exit status tells it failed */
    return sfsm_error_set(SFSM_ESTORAGE, "stored text is not valid UTF-8%s%s%s, so it cannot be written as JSON",
                          w->key[0] ? " (member \"" : "", w->key, w->key[0] ? "\")" : "");
}
