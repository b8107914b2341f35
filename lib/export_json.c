/* sfsm_export_json: opportunities with their history as one JSON document
 * (docs/json-format.md), written piece by piece through a callback.
 *
 * The ids of the matching opportunities are collected first (a scan callback
 * may not call back into the store); then each opportunity is read together
 * with its history under one hold of the store, formatted, and handed to the
 * callback outside the hold. Only the ids and one opportunity's text are ever
 * in memory. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salesfsm/export.h>
#include <salesfsm/sys/store.h>

#include "alloc.h"
#include "engine_impl.h"
#include "id_set.h"
#include "store_impl.h"
#include "json_text.h"
#include "record_check.h"
#include "text.h"

static const char *kind_name(int kind)
{
    switch (kind) {
    case SFSM_HISTORY_CREATE: return "create";
    case SFSM_HISTORY_TRANSITION: return "transition";
    case SFSM_HISTORY_UPDATE: return "update";
    case SFSM_HISTORY_MIGRATE: return "migrate";
    default: return NULL;
    }
}

static void add_i64(sfsm_buf *b, int64_t v)
{
    char num[24];
    sfsm__buf_add(b, num, sfsm__format_i64(num, v));
}

static void add_u64(sfsm_buf *b, uint64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%llu", (unsigned long long)v);
    sfsm__buf_add(b, num, (size_t)n);
}

/* ---- the stored changes, in canonical form ----
 *
 * The changes text of a history entry is re-printed, not copied: compact,
 * members in their stored order, strings escaped exactly as the engine
 * escapes them, integers without exponent or fraction. The import stores
 * its changes in the same form, so export → import → export is identical
 * whatever spacing or escaping a backend handed back. Numbers are copied
 * digit for digit (never through a double), so they stay exact. */

#define CANON_MAX_DEPTH 64

typedef struct canon {
    const char *p;
    sfsm_buf *out;
    sfsm_buf tmp;    /* a decoded string */
    const char *why; /* the first fault */
} canon;

static void canon_ws(canon *c)
{
    while (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')
        c->p++;
}

static int canon_fail(canon *c, const char *why)
{
    if (!c->why)
        c->why = why;
    return -1;
}

/* c->p is at the opening quote. */
static int canon_string(canon *c)
{
    sfsm_buf *t = &c->tmp;
    t->len = 0;
    c->p++;
    for (;;) {
        unsigned char ch = (unsigned char)*c->p++;
        if (ch == '"')
            break;
        if (ch == '\0')
            return canon_fail(c, "unterminated string");
        if (ch < 0x20)
            return canon_fail(c, "control character in a string");
        if (ch != '\\') {
            char raw = (char)ch;
            sfsm__buf_add(t, &raw, 1);
            continue;
        }
        char esc = *c->p++;
        const char *simple = strchr("\"\\/bfnrt", esc);
        if (esc && simple) {
            static const char decoded[] = "\"\\/\b\f\n\r\t";
            sfsm__buf_add(t, &decoded[simple - "\"\\/bfnrt"], 1);
            continue;
        }
        uint32_t cp;
        int used = esc == 'u' ? sfsm__json_unicode(c->p, &cp) : -1;
        if (used == -1)
            return canon_fail(c, "invalid escape in a string");
        if (used == -2)
            return canon_fail(c, "unpaired surrogate in a string");
        if (cp == 0)
            return canon_fail(c, "\\u0000 in a string");
        c->p += used;
        sfsm__buf_add_utf8(t, cp);
    }
    if (t->failed)
        return canon_fail(c, "out of memory");
    sfsm__buf_add_json_string(c->out, t->len ? t->data : "");
    return 0;
}

static int canon_number(canon *c)
{
    const char *start = c->p, *p = c->p;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return canon_fail(c, "invalid number");
    if (*p == '.') {
        if (!(*++p >= '0' && *p <= '9'))
            return canon_fail(c, "invalid number");
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return canon_fail(c, "invalid number");
        while (*p >= '0' && *p <= '9')
            p++;
    }
    /* 1e3 or 1000.0: written as the integer it is (the rule of
     * sfsm__json_int, which the load checks and the import share) */
    int64_t v;
    c->p = p;
    if (sfsm__json_int(start, -SFSM_SAFE_INTEGER, SFSM_SAFE_INTEGER, &v) == p)
        add_i64(c->out, v);
    else
        sfsm__buf_add(c->out, start, (size_t)(p - start));
    return 0;
}

static int canon_value(canon *c, int depth);

/* Object members or array elements up to `close`. */
static int canon_items(canon *c, int depth, char close, int object)
{
    c->p++;
    sfsm__buf_add(c->out, object ? "{" : "[", 1);
    canon_ws(c);
    if (*c->p == close) {
        c->p++;
        sfsm__buf_add(c->out, &close, 1);
        return 0;
    }
    for (;;) {
        canon_ws(c);
        if (object) {
            if (*c->p != '"')
                return canon_fail(c, "expected a member name");
            if (canon_string(c))
                return -1;
            canon_ws(c);
            if (*c->p++ != ':')
                return canon_fail(c, "expected ':'");
            sfsm__buf_add(c->out, ":", 1);
        }
        if (canon_value(c, depth + 1))
            return -1;
        canon_ws(c);
        char ch = *c->p++;
        if (ch == close) {
            sfsm__buf_add(c->out, &close, 1);
            return 0;
        }
        if (ch != ',')
            return canon_fail(c, object ? "expected ',' or '}'" : "expected ',' or ']'");
        sfsm__buf_add(c->out, ",", 1);
    }
}

static int canon_value(canon *c, int depth)
{
    if (depth > CANON_MAX_DEPTH)
        return canon_fail(c, "nested too deeply");
    canon_ws(c);
    switch (*c->p) {
    case '{': return canon_items(c, depth, '}', 1);
    case '[': return canon_items(c, depth, ']', 0);
    case '"': return canon_string(c);
    case 't':
    case 'f':
    case 'n': {
        static const char *const lit[] = { "true", "false", "null" };
        for (int k = 0; k < 3; k++) {
            size_t n = strlen(lit[k]);
            if (strncmp(c->p, lit[k], n) == 0) {
                c->p += n;
                sfsm__buf_add(c->out, lit[k], n);
                return 0;
            }
        }
        return canon_fail(c, "unexpected character");
    }
    default:
        if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9'))
            return canon_number(c);
        return canon_fail(c, *c->p ? "unexpected character" : "unexpected end");
    }
}

/* Appends the canonical form of the JSON object `text` to out. Returns NULL,
 * or why text is not a JSON object (out is then partly written). Memory
 * failures set out->failed and return NULL. */
static const char *json_canon_object(const char *text, sfsm_buf *out)
{
    canon c = { text, out, { 0 }, NULL };
    canon_ws(&c);
    if (*c.p != '{')
        c.why = "not an object";
    else if (canon_value(&c, 0) == 0) {
        canon_ws(&c);
        if (*c.p)
            c.why = "text after the object";
    }
    int oom = c.tmp.failed;
    sfsm__buf_free(&c.tmp);
    if (c.why && strcmp(c.why, "out of memory") == 0) {
        out->failed = 1;
        return NULL;
    }
    if (oom)
        out->failed = 1;
    return c.why;
}

typedef struct exporter {
    sfsm_buf b;          /* the text of the opportunity being formatted */
    sfsm_buf changes;    /* one entry's changes (checked) in canonical form */
    const sfsm_pipeline *p;   /* the engine's: names, pipeline and version are checked against it */
    const char *id;      /* its id (for messages) */
    size_t index;        /* its place in the document (for the JSON paths in messages) */
    uint64_t version;    /* its record's version: later entries are not exported */
    size_t entries;      /* history entries written so far */
    int rc;              /* first failure while formatting */
    sfsm__history_check hist;          /* the history so far; hist.prev_to: where it ends */
    char stage[SFSM_MAX_NAME + 1];     /* the record's stage (its text is gone once the history is read) */
    /* The first name p does not know in the entries since the last migrate
     * entry (those before it were written under an earlier pipeline); only
     * known to be a fault once the history has been read to its end. */
    uint64_t unknown_at;               /* its entry's version, 0: none */
    const char *unknown_member, *unknown_what;
    char unknown[SFSM_MAX_NAME + 1];
    sfsm_attr *attrs;    /* the record's attributes, sorted */
    size_t attrs_cap;
} exporter;

/* SFSM_ESTORAGE: "opportunity '<id>': stored data the import would refuse:
 * opportunities[<i>].<path>: <why>", the path and reason the import gives
 * (path "" names the opportunity itself). */
static int refuse(exporter *x, const char *path, const char *fmt, ...) SFSM_PRINTF(3, 4);

static int refuse(exporter *x, const char *path, const char *fmt, ...)
{
    char label[SFSM_LABEL_SIZE], why[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return x->rc = sfsm_error_set(SFSM_ESTORAGE,
                                  "opportunity '%s': stored data the import would refuse: opportunities[%zu]%s%s: %s",
                                  sfsm__label(label, x->id), x->index, *path ? "." : "", path, why);
}

/* The same for a refusal of the load checks (record_check.h), from the
 * fault they record: "opportunity '<id>'[, history version <v>]: stored
 * <member> <what is wrong> (the import would refuse
 * opportunities[<i>][.history[<v - 1>]].<member>)". */
static int refuse_check(exporter *x)
{
    const sfsm__fault *f = sfsm__check_fault();
    char label[SFSM_LABEL_SIZE], at[48] = "", path[96] = "", what[1100];
    const char *msg = sfsm_errmsg();   /* read into `what` before the message is replaced */
    const char *why = f->why_at < strlen(msg) ? msg + f->why_at : "";
    if (f->version) {
        snprintf(at, sizeof at, ", history version %llu", (unsigned long long)f->version);
        snprintf(path, sizeof path, ".history[%llu]", (unsigned long long)f->version - 1);
    }
    if (*f->member) {
        size_t n = strlen(path);
        snprintf(path + n, sizeof path - n, ".%s", f->member);
    }
    switch (f->code) {
    case SFSM__FAULT_IS:
        snprintf(what, sizeof what, "%s %s", f->member, why);
        break;
    case SFSM__FAULT_KIND:
        snprintf(what, sizeof what, "kind: unknown kind %lld (create 1, transition 2, update 3, migrate 4)", f->value);
        break;
    case SFSM__FAULT_BITS:
        snprintf(what, sizeof what, "fields: unknown field bits 0x%llx", (unsigned long long)f->value & ~SFSM_FIELD_ALL);
        break;
    case SFSM__FAULT_NO_KEY:
    case SFSM__FAULT_NO_VALUE:
        snprintf(what, sizeof what, "attribute %lld has no %s", f->value, f->code == SFSM__FAULT_NO_KEY ? "key" : "value");
        break;
    default:
        snprintf(what, sizeof what, "%s%s%s", f->member, *f->member ? ": " : "", why);
        break;
    }
    return x->rc = sfsm_error_set(SFSM_ESTORAGE, "opportunity '%s'%s: stored %s (the import would refuse opportunities[%zu]%s)",
                                  sfsm__label(label, x->id), at, what, x->index, path);
}

/* Stops a history read once the entries up to the record's version are out. */
#define HISTORY_DONE 1

/* A stored string (checked: UTF-8) as a JSON string, or null. */
static void add_text(sfsm_buf *b, const char *s)
{
    if (s)
        sfsm__buf_add_json_string(b, s);
    else
        sfsm__buf_adds(b, "null");
}

/* The members of a record go one to a line after its "id"; those of a
 * history entry follow each other on the entry's line. */
#define RECORD_SEP ",\n      "
#define ENTRY_SEP ", "

/* sep, then "name": — the names are plain ASCII and need no escaping. */
static void add_key(sfsm_buf *b, const char *sep, const char *name)
{
    sfsm__buf_adds(b, sep);
    sfsm__buf_add(b, "\"", 1);
    sfsm__buf_adds(b, name);
    sfsm__buf_adds(b, "\": ");
}

static void add_text_member(sfsm_buf *b, const char *sep, const char *name, const char *value)
{
    add_key(b, sep, name);
    add_text(b, value);
}

static void add_i64_member(sfsm_buf *b, const char *sep, const char *name, int64_t v)
{
    add_key(b, sep, name);
    add_i64(b, v);
}

static void add_u64_member(sfsm_buf *b, const char *sep, const char *name, uint64_t v)
{
    add_key(b, sep, name);
    add_u64(b, v);
}

/* Keys in byte order; a missing key (a fault the check names) first. */
static int cmp_attr(const void *a, const void *b)
{
    const char *x = ((const sfsm_attr *)a)->key, *y = ((const sfsm_attr *)b)->key;
    return x && y ? strcmp(x, y) : (x != NULL) - (y != NULL);
}

/* r's attributes, sorted, into x->attrs: backends hand them back sorted;
 * sort anyway so that the document does not depend on the backend's
 * collation. The caller has seen to it that attr_count is within limits and
 * attrs is set. */
static int sort_attrs(exporter *x, const sfsm_record *r)
{
    if (!r->attr_count)
        return SFSM_OK;
    if (sfsm__grow((void **)&x->attrs, &x->attrs_cap, r->attr_count, sizeof *x->attrs))
        return sfsm_error_set(SFSM_ENOMEM, "out of memory exporting opportunity '%.*s'", SFSM_MAX_ID, x->id);
    memcpy(x->attrs, r->attrs, r->attr_count * sizeof *x->attrs);
    qsort(x->attrs, r->attr_count, sizeof *x->attrs, cmp_attr);
    return SFSM_OK;
}

/* Formats r (checked), its attributes from x->attrs. */
static void format_record(exporter *x, const sfsm_record *r)
{
    sfsm_buf *b = &x->b;
    sfsm__buf_adds(b, "{");
    add_text_member(b, "\n      ", "id", r->id);
    add_text_member(b, RECORD_SEP, "stage", r->stage);
    add_u64_member(b, RECORD_SEP, "version", r->version);
    add_i64_member(b, RECORD_SEP, "amount", r->amount);
    add_text_member(b, RECORD_SEP, "currency", r->currency);
    add_text_member(b, RECORD_SEP, "customer", r->customer);
    add_text_member(b, RECORD_SEP, "owner", r->owner);
    add_text_member(b, RECORD_SEP, "title", r->title);
    add_i64_member(b, RECORD_SEP, "expected_close_ms", r->expected_close_ms);
    add_i64_member(b, RECORD_SEP, "created_ms", r->created_ms);
    add_i64_member(b, RECORD_SEP, "updated_ms", r->updated_ms);
    add_i64_member(b, RECORD_SEP, "stage_entered_ms", r->stage_entered_ms);
    add_text_member(b, RECORD_SEP, "pipeline", r->pipeline);
    add_u64_member(b, RECORD_SEP, "pipeline_version", r->pipeline_version);
    add_key(b, RECORD_SEP, "attrs");
    sfsm__buf_adds(b, "{");
    if (r->attr_count) {
        for (size_t k = 0; k < r->attr_count; k++) {
            sfsm__buf_adds(b, k ? ",\n        " : "\n        ");
            add_text(b, x->attrs[k].key);
            sfsm__buf_adds(b, ": ");
            add_text(b, x->attrs[k].value);
        }
        sfsm__buf_adds(b, "\n      ");
    }
    sfsm__buf_adds(b, "},\n      \"history\": [");
}

/* Names the import looks up in the engine's pipeline: those of the entries
 * from the last migrate entry on (its own `from` excepted). The first one p
 * does not know is kept until the history ends. */
static void check_names(exporter *x, const sfsm_history_entry *h)
{
    if (h->kind == SFSM_HISTORY_MIGRATE)
        x->unknown_at = 0;   /* the entries before it were written under an earlier pipeline */
    if (x->unknown_at)
        return;
    size_t ix;
    const char *member = NULL, *what = NULL, *name = NULL;
    if (h->event && sfsm_pipeline_event_index(x->p, h->event, &ix) != SFSM_OK)
        member = "event", what = "event", name = h->event;
    else if (h->from && h->kind != SFSM_HISTORY_MIGRATE && sfsm_pipeline_stage_index(x->p, h->from, &ix) != SFSM_OK)
        member = "from", what = "stage", name = h->from;
    else if (sfsm_pipeline_stage_index(x->p, h->to, &ix) != SFSM_OK)
        member = "to", what = "stage", name = h->to;
    else if (h->role && sfsm_pipeline_role_index(x->p, h->role, &ix) != SFSM_OK)
        member = "role", what = "role", name = h->role;
    if (!member)
        return;
    x->unknown_at = h->version;
    x->unknown_member = member;
    x->unknown_what = what;
    snprintf(x->unknown, sizeof x->unknown, "%s", name);   /* checked: a name of at most SFSM_MAX_NAME bytes */
}

static int format_entry(const sfsm_history_entry *h, void *ud)
{
    exporter *x = ud;
    if (h->version > x->version)
        return HISTORY_DONE;   /* committed after the record was read */
    /* the import's rules for an entry (record_check.h) first, then its
     * names; what is written has passed them */
    if (sfsm__history_check_entry(&x->hist, h))
        return refuse_check(x);
    check_names(x, h);
    sfsm_buf *b = &x->b;
    sfsm__buf_adds(b, x->entries ? ",\n        {\"version\": " : "\n        {\"version\": ");
    x->entries++;
    add_u64(b, h->version);
    add_i64_member(b, ENTRY_SEP, "at_ms", h->at_ms);
    add_key(b, ENTRY_SEP, "kind");
    sfsm__buf_adds(b, "\"");
    sfsm__buf_adds(b, kind_name(h->kind));
    sfsm__buf_adds(b, "\"");
    add_text_member(b, ENTRY_SEP, "event", h->event);
    add_text_member(b, ENTRY_SEP, "from", h->from);
    add_text_member(b, ENTRY_SEP, "to", h->to);
    add_text_member(b, ENTRY_SEP, "actor", h->actor);
    add_text_member(b, ENTRY_SEP, "role", h->role);
    add_text_member(b, ENTRY_SEP, "note", h->note);
    add_key(b, ENTRY_SEP, "fields");
    sfsm__buf_adds(b, "[");
    const char *sep = "";
    for (unsigned bit = 0; bit < SFSM__FIELD_COUNT; bit++)
        if (h->fields >> bit & 1u) {
            sfsm__buf_adds(b, sep);
            sfsm__buf_adds(b, "\"");
            sfsm__buf_adds(b, sfsm__field_names[bit]);
            sfsm__buf_adds(b, "\"");
            sep = ", ";
        }
    sfsm__buf_adds(b, "], \"changes\": ");
    if (!h->changes) {
        sfsm__buf_adds(b, "null");
    } else {
        sfsm_buf *c = &x->changes;
        c->len = 0;
        const char *why = json_canon_object(h->changes, c);
        if (c->failed)
            return x->rc = sfsm_error_set(SFSM_ENOMEM, "out of memory exporting opportunity '%.*s'", SFSM_MAX_ID,
                                          x->id);
        if (why)   /* not after the check: a canonical form for all it accepts */
            return x->rc = sfsm_error_set(SFSM_ESTORAGE, "opportunity '%.*s', history version %llu: stored changes "
                                          "cannot be written (%s)", SFSM_MAX_ID, x->id,
                                          (unsigned long long)h->version, why);
        sfsm__buf_add(b, c->data, c->len);
    }
    sfsm__buf_adds(b, "}");
    return SFSM_OK;
}

/* ---- collecting ids ---- */

typedef struct id_list {
    sfsm_buf ids;   /* NUL-separated */
    size_t count;
    const char *pipeline;   /* only this pipeline's opportunities */
} id_list;

static int collect_id(const sfsm_record *rec, void *ud)
{
    id_list *l = ud;
    if (rec->pipeline && strcmp(rec->pipeline, l->pipeline) != 0)
        return 0;   /* another pipeline's opportunity sharing the store */
    if (!rec->id)
        return sfsm_error_set(SFSM_ESTORAGE, "sfsm_export_json: the store returned an opportunity without an id");
    sfsm__buf_add(&l->ids, rec->id, strlen(rec->id) + 1);
    if (l->ids.failed)
        return sfsm_error_set(SFSM_ENOMEM, "out of memory collecting opportunity ids to export");
    l->count++;
    return 0;
}

/* The record as the import would check it: the load checks with the
 * engine's pipeline (the stage must be one of its stages, whatever the
 * record's pipeline_version: the import looks it up there too), then what
 * they leave to the import: the pipeline is the engine's (or null) at its
 * version or an earlier one. r->attrs are the sorted ones. */
static int check_record(exporter *x, const sfsm_record *r)
{
    if (sfsm__record_check(x->p, r))
        return refuse_check(x);
    const char *own = sfsm_pipeline_name(x->p);
    uint32_t own_version = sfsm_pipeline_version(x->p);
    if (r->pipeline && strcmp(r->pipeline, own) != 0)
        return refuse(x, "pipeline", "pipeline '%s', but this engine's pipeline is '%s'", r->pipeline, own);
    if (r->pipeline_version > own_version)
        return refuse(x, "pipeline_version",
                      "%lu, but this engine has '%s' version %lu (a document may carry this engine's version or an "
                      "earlier one)",
                      (unsigned long)r->pipeline_version, own, (unsigned long)own_version);
    memcpy(x->stage, r->stage, strlen(r->stage) + 1);   /* checked: at most SFSM_MAX_NAME bytes */
    return SFSM_OK;
}

/* What the import checks across the history, once it has been read. */
static int check_history_end(exporter *x)
{
    if (x->unknown_at) {
        char path[64];
        snprintf(path, sizeof path, "history[%llu].%s", (unsigned long long)x->unknown_at - 1, x->unknown_member);
        return refuse(x, path, "unknown %s '%s' (not in pipeline '%s')", x->unknown_what, x->unknown,
                      sfsm_pipeline_name(x->p));
    }
    if (x->entries != x->version)
        return refuse(x, "history", "%zu entries, but version is %llu (one entry per version, 1..n)", x->entries,
                      (unsigned long long)x->version);
    if (strcmp(x->hist.prev_to, x->stage) != 0)
        return refuse(x, "stage", "'%s', but the history ends at '%s'", x->stage, x->hist.prev_to);
    return SFSM_OK;
}

/* Reads one opportunity and its history into x->b, checking each as the
 * import would check the text written. SFSM_ENOTFOUND if it is gone
 * (stores have no delete, but a backend might). */
static int format_opportunity(sfsm_store *s, const char *id, exporter *x)
{
    int rc = sfsm__store_enter(s);
    if (rc)
        return rc;
    sfsm_record rec;
    memset(&rec, 0, sizeof rec);
    rc = s->ops.get(s->backend, id, &rec);
    if (rc == SFSM_OK) {
        x->id = id;
        x->version = rec.version;
        x->entries = 0;
        x->unknown_at = 0;
        x->rc = SFSM_OK;
        sfsm__history_check_init(&x->hist, id);
        char label[SFSM_LABEL_SIZE], other[SFSM_LABEL_SIZE];
        if (rec.id && strcmp(rec.id, id) != 0)
            rc = sfsm_error_set(SFSM_ESTORAGE, "opportunity '%s': the store handed back opportunity '%s' for it",
                                sfsm__label(label, id), sfsm__label(other, rec.id));
        else if (rec.attr_count > SFSM_MAX_ATTRS || (rec.attr_count && !rec.attrs))
            rc = sfsm__record_check(x->p, &rec) ? refuse_check(x) : refuse(x, "attrs", "cannot be read");
        else if ((rc = sort_attrs(x, &rec)) == SFSM_OK) {
            sfsm_record sorted = rec;
            sorted.attrs = x->attrs;
            if ((rc = check_record(x, &sorted)) == SFSM_OK)
                format_record(x, &rec);   /* copies every string before the backend's next call */
        }
        if (rc == SFSM_OK && !x->b.failed) {
            rc = sfsm__store_history(s, id, format_entry, x);
            if (rc == HISTORY_DONE)
                rc = SFSM_OK;
        }
        if (rc == SFSM_OK && !x->b.failed)
            rc = check_history_end(x);
    }
    sfsm__store_leave(s);
    if (rc == SFSM_OK && x->b.failed)
        rc = sfsm_error_set(SFSM_ENOMEM, "out of memory exporting opportunity '%.*s'", SFSM_MAX_ID, id);
    if (rc == SFSM_OK)
        sfsm__buf_adds(&x->b, x->entries ? "\n      ]\n    }" : "]\n    }");
    if (rc == SFSM_OK && x->b.failed)
        rc = sfsm_error_set(SFSM_ENOMEM, "out of memory exporting opportunity '%.*s'", SFSM_MAX_ID, id);
    return rc;
}

/* Adds x->id as opportunities[x->index]; a backend that lists an id twice
 * would write a document the import refuses. */
static int id_unique(sfsm__id_set *t, exporter *x)
{
    size_t also = sfsm__id_set_add(t, x->id, x->index);
    if (also == SIZE_MAX)
        return SFSM_OK;
    return refuse(x, "id", "'%.*s' appears twice (also opportunities[%zu].id)", SFSM_MAX_ID, x->id, also);
}

#define HEADER "{\n  \"format\": \"salesfsm-opportunities\",\n  \"version\": 1,\n  \"opportunities\": ["

int sfsm_export_json(sfsm_engine *e, const sfsm_filter *f, sfsm_write_fn write, void *ud)
{
    if (!e || !write)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_export_json: %s is NULL", e ? "write" : "engine");
    sfsm_filter all = SFSM_FILTER_INIT;
    if (!f)
        f = &all;
    if (f->version != SFSM_FILTER_VERSION)
        return sfsm_error_set(SFSM_EVERSION, "sfsm_export_json: filter version %u unknown (expected %d)", f->version,
                              SFSM_FILTER_VERSION);
    if (f->stage && sfsm__name_find(&e->p->stage_ix, &e->p->stages[0].name, sizeof(stage_def), f->stage) < 0)
        return sfsm_error_set(SFSM_ENOTFOUND, "sfsm_export_json: unknown stage '%.*s' in pipeline '%s'",
                              SFSM_MAX_NAME, f->stage, e->p->name);
    /* Backends see the filter version of their ops version (as in sfsm_scan). */
    sfsm_filter v1 = { 1, f->stage, f->owner, f->customer, f->changed_since_ms };
    sfsm_store *s = e->s;
    id_list l = { { 0 }, 0, e->p->name };
    int rc = sfsm__store_scan(s, &v1, collect_id, &l);
    if (rc) {
        sfsm__buf_free(&l.ids);
        return rc;
    }
    if ((rc = write(HEADER, sizeof HEADER - 1, ud)) != 0) {
        sfsm__buf_free(&l.ids);
        return rc;
    }
    exporter x;
    memset(&x, 0, sizeof x);
    x.p = e->p;
    sfsm__id_set ids = { NULL, 0, NULL };
    size_t written = 0;
    const char *id = l.ids.data;   /* stable from here on: the duplicate check keeps pointers into it */
    if (sfsm__id_set_init(&ids, l.count)) {
        rc = sfsm_error_set(SFSM_ENOMEM, "out of memory exporting %zu opportunities", l.count);
        l.count = 0;
    }
    for (size_t i = 0; i < l.count; i++, id += strlen(id) + 1) {
        x.b.len = 0;
        x.b.failed = 0;
        x.index = written;
        sfsm__buf_adds(&x.b, written ? ",\n    " : "\n    ");
        rc = format_opportunity(s, id, &x);
        if (rc == SFSM_ENOTFOUND) {
            rc = SFSM_OK;
            continue;
        }
        if (rc || (rc = id_unique(&ids, &x)) || (rc = write(x.b.data, x.b.len, ud)) != 0)
            break;
        written++;
    }
    sfsm__id_set_free(&ids);
    sfsm__free(x.attrs);
    sfsm__buf_free(&x.changes);
    sfsm__buf_free(&x.b);
    sfsm__buf_free(&l.ids);
    if (rc)
        return rc;
    static const char footer_some[] = "\n  ]\n}\n", footer_none[] = "]\n}\n";
    return written ? write(footer_some, sizeof footer_some - 1, ud) : write(footer_none, sizeof footer_none - 1, ud);
}

/* ---- into one string ---- */

static int append_cb(const char *buf, size_t n, void *ud)
{
    sfsm_buf *b = ud;
    sfsm__buf_add(b, buf, n);
    return b->failed ? sfsm_error_set(SFSM_ENOMEM, "out of memory building the exported document") : 0;
}

int sfsm_export_json_string(sfsm_engine *e, const sfsm_filter *f, char **out, size_t *len)
{
    if (out)
        *out = NULL;
    if (len)
        *len = 0;
    if (!out)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_export_json_string: out is NULL");
    sfsm_buf b = { 0 };
    int rc = sfsm_export_json(e, f, append_cb, &b);
    if (rc) {
        sfsm__buf_free(&b);
        return rc;
    }
    size_t n = b.len;
    char *doc = sfsm__buf_take(&b);
    if (!doc)
        return sfsm_error_set(SFSM_ENOMEM, "out of memory building the exported document");
    *out = doc;
    if (len)
        *len = n;
    return SFSM_OK;
}
