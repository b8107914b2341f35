/* What a store hands back, checked against the rules input must pass
 * (record_check.h). Runs on every load: no allocation, and text is checked
 * with the UTF-8 validator's eight-bytes-at-a-time ASCII path. */
#include "record_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json_text.h"
#include "periods.h"
#include "pipeline_impl.h"
#include "text.h"

#define LABEL_BYTES 64

const char *sfsm__label(char out[SFSM_LABEL_SIZE], const char *s)
{
    if (!s) {
        memcpy(out, "(null)", 7);
        return out;
    }
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (u[i] && i < LABEL_BYTES) {
        size_t n = u[i] < 0x80 ? 1 : u[i] >= 0xC2 && u[i] <= 0xDF ? 2 : u[i] >= 0xE0 && u[i] <= 0xEF ? 3
                                 : u[i] >= 0xF0 && u[i] <= 0xF4 ? 4 : 0;
        int c1 = n == 2 && u[i] == 0xC2 && u[i + 1] <= 0x9F;   /* U+0080..U+009F: C1 controls */
        if (n > 1 && !c1 && strnlen(s + i, n) == n && sfsm__utf8_valid(s + i, n)) {
            if (i + n > LABEL_BYTES)
                break;
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        } else if (u[i] >= 0x20 && u[i] < 0x7F) {
            out[o++] = (char)u[i++];
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[u[i] >> 4];
            out[o++] = hex[u[i] & 15];
            i++;
        }
    }
    if (u[i]) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

/* SFSM_ESTORAGE: "stored opportunity '<id>': <what is wrong>". */
static int bad(const char *id, const char *fmt, ...) SFSM_PRINTF(2, 3);

static int bad(const char *id, const char *fmt, ...)
{
    char label[SFSM_LABEL_SIZE], msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sfsm_error_set(SFSM_ESTORAGE, "stored opportunity '%s': %s", sfsm__label(label, id), msg);
}

static _Thread_local sfsm__fault t_fault;

const sfsm__fault *sfsm__check_fault(void)
{
    return &t_fault;
}

/* The same for a fault of a record or history entry, also recorded as data
 * (sfsm__check_fault): "stored opportunity '<id>': [history version <v>: ]
 * [<member>: ]<why>". */
static int fbad(const char *id, uint64_t version, const char *member, int code, long long value, const char *fmt, ...)
    SFSM_PRINTF(6, 7);

static int fbad(const char *id, uint64_t version, const char *member, int code, long long value, const char *fmt, ...)
{
    char label[SFSM_LABEL_SIZE], msg[1024], at[48] = "";
    if (version)
        snprintf(at, sizeof at, "history version %llu: ", (unsigned long long)version);
    int n = snprintf(msg, sizeof msg, "stored opportunity '%s': %s%s%s", sfsm__label(label, id), at, member,
                     *member ? ": " : "");
    size_t why = n > 0 && (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + why, sizeof msg - why, fmt, ap);
    va_end(ap);
    sfsm__fault *f = &t_fault;
    f->version = version;
    snprintf(f->member, sizeof f->member, "%s", member);
    f->code = code;
    f->value = value;
    f->why_at = why;
    return sfsm_error_set(SFSM_ESTORAGE, "%s", msg);
}

enum { REQUIRED = 0, NULLABLE = SFSM_TEXT_NULLABLE, EMPTY_OK = SFSM_TEXT_EMPTY_OK };

/* 1 if s passes as text of at most max bytes; otherwise 0 and why says what
 * is wrong, worded for a stored text (sfsm__text_fault). */
static int text_ok(const char *s, size_t max, int flags, char why[64])
{
    size_t at = 0;
    switch (sfsm__text_fault(s, max, flags, &at)) {
    case SFSM_TEXT_OK: return 1;
    case SFSM_TEXT_NULL: snprintf(why, 64, "is missing (NULL)"); break;
    case SFSM_TEXT_EMPTY: snprintf(why, 64, "is empty%s", flags & NULLABLE ? " (NULL means none)" : ""); break;
    case SFSM_TEXT_LONG: snprintf(why, 64, "is longer than %zu bytes", max); break;
    default: snprintf(why, 64, "is not valid UTF-8 (byte %zu)", at); break;
    }
    return 0;
}

/* A version as the signed 64-bit column it came from would show it. */
static long long as_signed(uint64_t v)
{
    return v <= INT64_MAX ? (long long)v : (long long)(int64_t)(v - (uint64_t)INT64_MAX - 1) + INT64_MIN;
}

static int in_range(int64_t v, int64_t lo, int64_t hi)
{
    return v >= lo && v <= hi;
}

#define SAFE SFSM_SAFE_INTEGER

static int check_attrs(const sfsm_record *r)
{
    char why[64], label[SFSM_LABEL_SIZE];
    if (r->attr_count > SFSM_MAX_ATTRS)
        return fbad(r->id, 0, "attrs", SFSM__FAULT_SAYS, 0, "%zu attributes, more than the %d allowed", r->attr_count,
                    SFSM_MAX_ATTRS);
    if (r->attr_count && !r->attrs)
        return fbad(r->id, 0, "attrs", SFSM__FAULT_SAYS, 0, "%zu attributes, but none handed back", r->attr_count);
    for (size_t k = 0; k < r->attr_count; k++) {
        const sfsm_attr *a = &r->attrs[k];
        if (!text_ok(a->key, SFSM_MAX_NAME, REQUIRED, why))
            return fbad(r->id, 0, "attrs", a->key ? SFSM__FAULT_SAYS : SFSM__FAULT_NO_KEY, (long long)k, "key %zu %s",
                        k, why);
        if (!text_ok(a->value, SFSM_MAX_TEXT, EMPTY_OK, why))
            return fbad(r->id, 0, "attrs", a->value ? SFSM__FAULT_SAYS : SFSM__FAULT_NO_VALUE, (long long)k,
                        "the value of '%s' %s", sfsm__label(label, a->key), why);
        if (k > 0) {
            int c = strcmp(r->attrs[k - 1].key, a->key);
            if (c == 0)
                return fbad(r->id, 0, "attrs", SFSM__FAULT_SAYS, 0, "key '%s' appears twice",
                            sfsm__label(label, a->key));
            if (c > 0)
                return fbad(r->id, 0, "attrs", SFSM__FAULT_SAYS, 0, "key '%s' is out of order (keys come sorted)",
                            sfsm__label(label, a->key));
        }
    }
    return SFSM_OK;
}

int sfsm__record_check_amount(const sfsm_record *r)
{
    char label[SFSM_LABEL_SIZE];
    if (!in_range(r->amount, 0, SAFE))
        return fbad(r->id, 0, "amount", SFSM__FAULT_SAYS, 0, "%lld is outside 0..%lld", (long long)r->amount,
                    (long long)SAFE);
    if (r->currency && !sfsm__currency_ok(r->currency))
        return fbad(r->id, 0, "currency", SFSM__FAULT_SAYS, 0, "'%.16s' is not an ISO 4217 code (three letters A-Z)",
                   sfsm__label(label, r->currency));
    if (r->amount && !r->currency)
        return fbad(r->id, 0, "currency", SFSM__FAULT_SAYS, 0, "NULL, but amount %lld needs one", (long long)r->amount);
    return SFSM_OK;
}

static int record_check(const sfsm_pipeline *p, const sfsm_record *r, size_t *stage)
{
    char why[64], label[SFSM_LABEL_SIZE];
    if (!text_ok(r->id, SFSM_MAX_ID, REQUIRED, why))
        return fbad(r->id, 0, "id", SFSM__FAULT_IS, 0, "%s", why);
    if (!text_ok(r->stage, SFSM_MAX_NAME, REQUIRED, why))
        return fbad(r->id, 0, "stage", SFSM__FAULT_IS, 0, "%s", why);
    if (p) {
        long ix = sfsm__name_find(&p->stage_ix, &p->stages[0].name, sizeof(stage_def), r->stage);
        if (ix < 0)
            return fbad(r->id, 0, "stage", SFSM__FAULT_SAYS, 0, "'%s' is not a stage of pipeline '%s'",
                        sfsm__label(label, r->stage), p->name);
        if (stage)
            *stage = (size_t)ix;
    }
    if (r->version < 1 || r->version > SFSM_MAX_VERSION)
        return fbad(r->id, 0, "version", SFSM__FAULT_SAYS, 0, "%lld is outside 1..%lld", as_signed(r->version),
                    (long long)SAFE);
    int rc = sfsm__record_check_amount(r);
    if (rc)
        return rc;
    if (!text_ok(r->customer, SFSM_MAX_TEXT, NULLABLE, why))
        return fbad(r->id, 0, "customer", SFSM__FAULT_IS, 0, "%s", why);
    if (!text_ok(r->owner, SFSM_MAX_TEXT, NULLABLE, why))
        return fbad(r->id, 0, "owner", SFSM__FAULT_IS, 0, "%s", why);
    if (!text_ok(r->title, SFSM_MAX_TEXT, NULLABLE, why))
        return fbad(r->id, 0, "title", SFSM__FAULT_IS, 0, "%s", why);
    if (!in_range(r->expected_close_ms, 0, SAFE))
        return fbad(r->id, 0, "expected_close_ms", SFSM__FAULT_SAYS, 0, "%lld is outside 0..%lld",
                    (long long)r->expected_close_ms, (long long)SAFE);
    const struct {
        const char *name;
        int64_t v;
    } times[] = { { "created_ms", r->created_ms },
                  { "updated_ms", r->updated_ms },
                  { "stage_entered_ms", r->stage_entered_ms } };
    for (size_t k = 0; k < 3; k++)
        if (!in_range(times[k].v, -SAFE, SAFE))
            return fbad(r->id, 0, times[k].name, SFSM__FAULT_SAYS, 0, "%lld is outside -%lld..%lld",
                        (long long)times[k].v, (long long)SAFE, (long long)SAFE);
    if (!text_ok(r->pipeline, SFSM_MAX_NAME, NULLABLE, why))
        return fbad(r->id, 0, "pipeline", SFSM__FAULT_IS, 0, "%s", why);
    return check_attrs(r);
}

int sfsm__record_check(const sfsm_pipeline *p, const sfsm_record *r)
{
    return record_check(p, r, NULL);
}

int sfsm__record_check_stage(const sfsm_pipeline *p, const sfsm_record *r, size_t *stage)
{
    return record_check(p, r, stage);
}

/* ---- the changes object of a history entry ---- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Scans the JSON string whose opening quote is at p: escapes well formed
 * (no \u0000, surrogates paired), no raw control characters. *len gets its
 * decoded length in UTF-8 bytes, *escaped whether it has escapes. Returns
 * the position after the closing quote, or NULL. Raw bytes were checked as
 * UTF-8 over the whole text. */
static const char *scan_string(const char *p, size_t *len, int *escaped)
{
    size_t n = 0;
    *escaped = 0;
    for (p++;;) {
        const char *run = p;
        while ((unsigned char)*p >= 0x20 && *p != '"' && *p != '\\')
            p++;
        n += (size_t)(p - run);
        unsigned char ch = (unsigned char)*p;
        if (ch == '"') {
            *len = n;
            return p + 1;
        }
        if (ch < 0x20)
            return NULL;   /* a raw control character, or the end of the text */
        *escaped = 1;
        char esc = p[1];
        if (esc && strchr("\"\\/bfnrt", esc)) {
            p += 2;
            n++;
            continue;
        }
        uint32_t cp;
        int used = esc == 'u' ? sfsm__json_unicode(p + 2, &cp) : -1;
        if (used < 0 || cp == 0)
            return NULL;
        n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        p += 2 + used;
    }
}

/* The next code point of a string body that scan_string accepted, moving
 * *pp past it; -1 at the closing quote. */
static long next_cp(const char **pp)
{
    const unsigned char *p = (const unsigned char *)*pp;
    if (*p == '"')
        return -1;
    if (*p == '\\') {
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        if (p[1] != 'u') {
            *pp += 2;
            return to[strchr(from, p[1]) - from];
        }
        uint32_t cp;
        *pp += 2 + sfsm__json_unicode(*pp + 2, &cp);
        return (long)cp;
    }
    size_t n = *p < 0x80 ? 1 : *p < 0xE0 ? 2 : *p < 0xF0 ? 3 : 4;
    uint32_t cp = n == 1 ? *p : n == 2 ? *p & 0x1Fu : n == 3 ? *p & 0x0Fu : *p & 0x07u;
    for (size_t k = 1; k < n; k++)
        cp = cp << 6 | (p[k] & 0x3Fu);
    *pp += n;
    return (long)cp;
}

/* Do the string bodies a and b (after their quotes) decode to the same text? */
static int same_string(const char *a, const char *b)
{
    for (;;) {
        long x = next_cp(&a), y = next_cp(&b);
        if (x != y)
            return 0;
        if (x < 0)
            return 1;
    }
}

/* Does the string body a decode to the ASCII text lit? */
static int string_is(const char *a, const char *lit)
{
    for (;; lit++) {
        long x = next_cp(&a);
        if (x < 0)
            return *lit == '\0';
        if (x != (unsigned char)*lit)
            return 0;
    }
}

#define MEMBER(name, bit) { name, sizeof name - 1, bit }
static const struct {
    const char *name;
    size_t len;
    uint32_t bit;
} members[] = {
    MEMBER("amount", SFSM_FIELD_AMOUNT),     MEMBER("currency", SFSM_FIELD_AMOUNT),
    MEMBER("customer", SFSM_FIELD_CUSTOMER), MEMBER("owner", SFSM_FIELD_OWNER),
    MEMBER("title", SFSM_FIELD_TITLE),       MEMBER("expected_close_ms", SFSM_FIELD_EXPECTED_CLOSE),
    MEMBER("attrs", SFSM_FIELD_ATTRS),
};
#undef MEMBER
#define MEMBER_COUNT (sizeof members / sizeof members[0])
enum { M_AMOUNT = SFSM__CH_AMOUNT, M_CURRENCY = SFSM__CH_CURRENCY, M_CUSTOMER = SFSM__CH_CUSTOMER,
       M_OWNER = SFSM__CH_OWNER, M_TITLE = SFSM__CH_TITLE, M_CLOSE = SFSM__CH_CLOSE, M_ATTRS = SFSM__CH_ATTRS };

typedef struct cctx {
    const char *id;
    uint64_t version;
    const char *text;   /* the whole changes text, for byte offsets */
    sfsm__changes *out; /* the values, or NULL */
} cctx;

static int cbad(const cctx *c, const char *member, const char *fmt, ...) SFSM_PRINTF(3, 4);

static int cbad(const cctx *c, const char *member, const char *fmt, ...)
{
    char msg[600], name[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(name, sizeof name, "changes%s%s", member ? "." : "", member ? member : "");
    return fbad(c->id, c->version, name, SFSM__FAULT_SAYS, 0, "%s", msg);
}

static int not_json(const cctx *c, const char *at)
{
    return cbad(c, NULL, "not a valid JSON object (byte %zu)", (size_t)(at - c->text));
}

/* The value of attrs: an object of string values. */
static const char *scan_attrs(const cctx *c, const char *p, int *rc)
{
    const char *keys[SFSM_MAX_ATTRS];
    size_t klen[SFSM_MAX_ATTRS];   /* decoded lengths: keys of other lengths differ */
    size_t n = 0, len;
    if (*p != '{') {
        *rc = cbad(c, "attrs", "expected an object");
        return NULL;
    }
    p = skip_ws(p + 1);
    if (*p == '}')
        return p + 1;
    for (;;) {
        const char *key = p + 1, *q;
        int esc;
        if (*p != '"' || !(q = scan_string(p, &len, &esc))) {
            *rc = not_json(c, p);
            return NULL;
        }
        if (n == SFSM_MAX_ATTRS) {
            *rc = cbad(c, "attrs", "more than the %d attributes allowed", SFSM_MAX_ATTRS);
            return NULL;
        }
        if (len == 0 || len > SFSM_MAX_NAME) {
            *rc = len ? cbad(c, "attrs", "key %zu is longer than %d bytes", n, SFSM_MAX_NAME)
                       : cbad(c, "attrs", "key %zu is empty", n);
            return NULL;
        }
        for (size_t k = 0; k < n; k++)
            if (len == klen[k] && same_string(keys[k], key)) {
                *rc = cbad(c, "attrs", "key %zu repeats key %zu", n, k);
                return NULL;
            }
        keys[n] = key;
        klen[n] = len;
        n++;
        p = skip_ws(q);
        if (*p++ != ':') {
            *rc = not_json(c, p - 1);
            return NULL;
        }
        p = skip_ws(p);
        if (*p != '"') {
            *rc = cbad(c, "attrs", "the value of key %zu is not a string", n - 1);
            return NULL;
        }
        if (!(q = scan_string(p, &len, &esc))) {
            *rc = not_json(c, p);
            return NULL;
        }
        if (len > SFSM_MAX_TEXT) {
            *rc = cbad(c, "attrs", "the value of key %zu is longer than %d bytes", n - 1, SFSM_MAX_TEXT);
            return NULL;
        }
        p = skip_ws(q);
        if (*p == ',') {
            p = skip_ws(p + 1);
            continue;
        }
        if (*p == '}')
            return p + 1;
        *rc = not_json(c, p);
        return NULL;
    }
}

/* The value of member k at p; returns the position after it, or NULL with
 * *rc set. */
static const char *scan_member(const cctx *c, size_t k, const char *p, int *rc)
{
    const char *name = members[k].name, *q;
    int64_t v;
    size_t len;
    int esc;
    switch (k) {
    case M_AMOUNT:
    case M_CLOSE:
        if (!(q = sfsm__json_int(p, 0, SAFE, &v))) {
            *rc = cbad(c, name, "expected an integer in 0..%lld", (long long)SAFE);
            return NULL;
        }
        if (c->out)
            *(k == M_AMOUNT ? &c->out->amount : &c->out->expected_close) = v;
        return q;
    case M_ATTRS:
        return scan_attrs(c, p, rc);
    default:
        break;
    }
    sfsm__changes_str *str = !c->out ? NULL
                             : k == M_CURRENCY ? &c->out->currency
                             : k == M_CUSTOMER ? &c->out->customer
                             : k == M_OWNER    ? &c->out->owner
                                               : &c->out->title;
    if (strncmp(p, "null", 4) == 0) {
        if (str)
            *str = (sfsm__changes_str){ NULL, 0, 0 };
        return p + 4;
    }
    if (*p != '"' || !(q = scan_string(p, &len, &esc))) {
        *rc = *p == '"' ? not_json(c, p) : cbad(c, name, "expected a string or null");
        return NULL;
    }
    if (k == M_CURRENCY) {
        /* the text (escapes decoded: \u0043 is C) against the one rule; a
         * fourth character, one outside ASCII or \u0000 fails it. Without
         * escapes the bytes are taken as they are: they may not be UTF-8. */
        char code[5] = "";
        if (!esc) {
            memcpy(code, p + 1, len < 4 ? len : 4);
        } else {
            const char *s = p + 1;
            long cp;
            for (size_t i = 0; i < 4 && (cp = next_cp(&s)) >= 0; i++)
                code[i] = cp > 0 && cp < 0x80 ? (char)cp : '?';
        }
        if (!sfsm__currency_ok(code)) {
            *rc = cbad(c, name, "not an ISO 4217 code (three letters A-Z)");
            return NULL;
        }
    } else if (len == 0 || len > SFSM_MAX_TEXT) {
        *rc = cbad(c, name, len ? "longer than %d bytes" : "empty (null means none)", SFSM_MAX_TEXT);
        return NULL;
    }
    if (str)
        *str = (sfsm__changes_str){ p, len, esc };
    return q;
}

int sfsm__changes_check(const char *id, uint64_t version, uint32_t fields, const char *changes)
{
    return sfsm__changes_read(id, version, fields, changes, NULL);
}

int sfsm__changes_read(const char *id, uint64_t version, uint32_t fields, const char *changes, sfsm__changes *out)
{
    cctx c = { id, version, changes, out };
    if (!changes) {
        if (fields)
            return cbad(&c, NULL, "NULL, but fields names '%s'", sfsm__field_name(fields & -fields));
        return SFSM_OK;
    }
    if (!fields)
        return cbad(&c, NULL, "must be NULL when fields is 0");
    size_t len = strlen(changes), at = sfsm__utf8_check(changes, len);
    if (at != len)
        return cbad(&c, NULL, "not valid UTF-8 (byte %zu)", at);
    const char *p = skip_ws(changes);
    if (*p != '{')
        return not_json(&c, p);
    p = skip_ws(p + 1);
    unsigned seen = 0;
    int rc = SFSM_OK;
    if (*p == '}') {
        p++;
    } else {
        for (;;) {
            const char *q;
            size_t klen;
            int esc;
            if (*p != '"' || !(q = scan_string(p, &klen, &esc)))
                return not_json(&c, p);
            size_t k = 0;
            while (k < MEMBER_COUNT && (esc ? !string_is(p + 1, members[k].name)
                                            : klen != members[k].len || memcmp(p + 1, members[k].name, klen) != 0))
                k++;
            if (k == MEMBER_COUNT)
                return cbad(&c, NULL, "unknown member at byte %zu", (size_t)(p - changes));
            if (seen >> k & 1u)
                return cbad(&c, NULL, "member '%s' appears twice", members[k].name);
            if (!(fields & members[k].bit))
                return cbad(&c, NULL, "has '%s', but fields does not name '%s'", members[k].name,
                            sfsm__field_name(members[k].bit));
            seen |= 1u << k;
            p = skip_ws(q);
            if (*p++ != ':')
                return not_json(&c, p - 1);
            if (!(p = scan_member(&c, k, skip_ws(p), &rc)))
                return rc;
            p = skip_ws(p);
            if (*p == ',') {
                p = skip_ws(p + 1);
                continue;
            }
            if (*p++ != '}')
                return not_json(&c, p - 1);
            break;
        }
    }
    p = skip_ws(p);
    if (*p)
        return cbad(&c, NULL, "text after the object (byte %zu)", (size_t)(p - changes));
    for (size_t k = 0; k < MEMBER_COUNT; k++)
        if ((fields & members[k].bit) && !(seen >> k & 1u))
            return cbad(&c, NULL, "missing '%s', though fields names '%s'", members[k].name,
                        sfsm__field_name(members[k].bit));
    if (out)
        out->seen = seen;
    return SFSM_OK;
}

/* ---- history entries ---- */

static const char *const kind_names[] = { "create", "transition", "update", "migrate" };

void sfsm__history_check_init(sfsm__history_check *c, const char *id)
{
    c->id = id;
    c->next = 1;
    c->prev_to[0] = '\0';
}

int sfsm__history_check_order(const char *id, uint64_t expect, const sfsm_history_entry *h)
{
    unsigned long long v = (unsigned long long)expect;
    if (h->version != expect)
        return fbad(id, 0, "history", SFSM__FAULT_SAYS, 0,
                    "entry %llu has version %lld (versions run 1, 2, 3, ... without gaps)", v, as_signed(h->version));
    if (expect > SFSM_MAX_VERSION)
        return fbad(id, v, "", SFSM__FAULT_SAYS, 0, "above %lld", (long long)SAFE);
    if (!in_range(h->at_ms, -SAFE, SAFE))
        return fbad(id, v, "at_ms", SFSM__FAULT_SAYS, 0, "%lld is outside -%lld..%lld", (long long)h->at_ms,
                   (long long)SAFE, (long long)SAFE);
    if (h->kind < SFSM_HISTORY_CREATE || h->kind > SFSM_HISTORY_MIGRATE)
        return fbad(id, v, "kind", SFSM__FAULT_KIND, h->kind,
                    "%d is not a kind (create 1, transition 2, update 3, migrate 4)", h->kind);
    if ((v == 1) != (h->kind == SFSM_HISTORY_CREATE))
        return fbad(id, v, "kind", SFSM__FAULT_SAYS, 0, "'%s', but %s", kind_names[h->kind - 1],
                   v == 1 ? "the first entry must be 'create'" : "'create' is allowed only as the first entry");
    return SFSM_OK;
}

int sfsm__history_check_entry(sfsm__history_check *c, const sfsm_history_entry *h)
{
    char why[64], l1[SFSM_LABEL_SIZE], l2[SFSM_LABEL_SIZE];
    const char *id = c->id;
    unsigned long long v = (unsigned long long)c->next;
    int rc = sfsm__history_check_order(id, c->next, h);
    if (rc)
        return rc;

    if (!text_ok(h->event, SFSM_MAX_NAME, NULLABLE, why))
        return fbad(id, v, "event", SFSM__FAULT_IS, 0, "%s", why);
    if ((h->kind == SFSM_HISTORY_TRANSITION) != (h->event != NULL))
        return fbad(id, v, "event", SFSM__FAULT_SAYS, 0, "%s",
                   h->event ? "set, but only a transition has one" : "NULL, but a transition names its event");

    if (!text_ok(h->from, SFSM_MAX_NAME, NULLABLE, why))
        return fbad(id, v, "from", SFSM__FAULT_IS, 0, "%s", why);
    if ((h->kind == SFSM_HISTORY_CREATE) != (h->from == NULL))
        return fbad(id, v, "from", SFSM__FAULT_SAYS, 0, "%s",
                   h->from ? "set, but the create entry has none" : "NULL, but only the create entry has none");
    if (h->from && strcmp(h->from, c->prev_to) != 0)
        return fbad(id, v, "from", SFSM__FAULT_SAYS, 0, "'%s', but the previous entry ended at '%s'",
                   sfsm__label(l1, h->from), sfsm__label(l2, c->prev_to));

    if (!text_ok(h->to, SFSM_MAX_NAME, REQUIRED, why))
        return fbad(id, v, "to", SFSM__FAULT_IS, 0, "%s", why);
    if (h->kind == SFSM_HISTORY_UPDATE && strcmp(h->to, h->from) != 0)
        return fbad(id, v, "to", SFSM__FAULT_SAYS, 0, "'%s', but an update stays at '%s'", sfsm__label(l1, h->to),
                   sfsm__label(l2, h->from));

    if (!text_ok(h->actor, SFSM_MAX_NAME, NULLABLE, why))
        return fbad(id, v, "actor", SFSM__FAULT_IS, 0, "%s", why);
    if (h->kind == SFSM_HISTORY_TRANSITION && !h->actor)
        return fbad(id, v, "actor", SFSM__FAULT_SAYS, 0, "NULL, but a transition has one");
    if (!text_ok(h->role, SFSM_MAX_NAME, NULLABLE, why))
        return fbad(id, v, "role", SFSM__FAULT_IS, 0, "%s", why);
    if (!h->actor != !h->role)
        return fbad(id, v, "role", SFSM__FAULT_SAYS, 0, "%s",
                    h->role ? "set, but actor is NULL" : "NULL, but actor is set");
    if (!text_ok(h->note, SFSM_MAX_TEXT, NULLABLE | EMPTY_OK, why))
        return fbad(id, v, "note", SFSM__FAULT_IS, 0, "%s", why);
    if (h->fields & ~SFSM_FIELD_ALL)
        return fbad(id, v, "fields", SFSM__FAULT_BITS, (long long)h->fields, "0x%x has bits of no field",
                    (unsigned)h->fields);
    if ((rc = sfsm__changes_check(id, h->version, h->fields, h->changes)))
        return rc;
    memcpy(c->prev_to, h->to, strlen(h->to) + 1);   /* checked: at most SFSM_MAX_NAME bytes */
    c->next++;
    return SFSM_OK;
}

/* ---- payments, teams, targets ---- */

int sfsm__payment_check(const sfsm_payment *p)
{
    char why[64], label[SFSM_LABEL_SIZE];
    unsigned long long seq = (unsigned long long)p->seq;
    if (!text_ok(p->opp_id, SFSM_MAX_ID, REQUIRED, why))
        return bad(p->opp_id, "payment %llu: opp_id: %s", seq, why);
    if (p->seq < 1 || p->seq > SFSM_MAX_VERSION)
        return bad(p->opp_id, "payment: seq: %lld is outside 1..%lld", as_signed(p->seq), (long long)SAFE);
    if (!in_range(p->amount, 1, SAFE))
        return bad(p->opp_id, "payment %llu: amount: %lld is outside 1..%lld", seq, (long long)p->amount,
                   (long long)SAFE);
    if (!sfsm__currency_ok(p->currency))
        return bad(p->opp_id, "payment %llu: currency: '%s' is not an ISO 4217 code (three letters A-Z)", seq,
                   sfsm__label(label, p->currency));
    if (!in_range(p->at_ms, -SAFE, SAFE))
        return bad(p->opp_id, "payment %llu: at_ms: %lld is outside -%lld..%lld", seq, (long long)p->at_ms,
                   (long long)SAFE, (long long)SAFE);
    if (!text_ok(p->note, SFSM_MAX_TEXT, NULLABLE | EMPTY_OK, why))
        return bad(p->opp_id, "payment %llu: note: %s", seq, why);
    return SFSM_OK;
}

int sfsm__payment_check_currency(const sfsm_payment *p, const char *currency)
{
    if (currency && strcmp(p->currency, currency) == 0)
        return SFSM_OK;
    char label[SFSM_LABEL_SIZE];
    return bad(p->opp_id, "payment %llu: currency: '%s', but the opportunity's is %s%s%s",
               (unsigned long long)p->seq, p->currency, currency ? "'" : "", currency ? sfsm__label(label, currency) : "none",
               currency ? "'" : "");
}

int sfsm__payments_check_sum(const char *id, int64_t sum, int64_t amount, const char *currency)
{
    if (sum <= amount)
        return SFSM_OK;
    return bad(id, "payments: %lld collected, more than its amount %lld %s", (long long)sum, (long long)amount,
               currency ? currency : "");
}

int sfsm__team_check(const char *owner, const char *team)
{
    char why[64], label[SFSM_LABEL_SIZE];
    if (!text_ok(owner, SFSM_MAX_TEXT, REQUIRED, why))
        return sfsm_error_set(SFSM_ESTORAGE, "stored team membership: owner %s (team '%s')", why,
                              sfsm__label(label, team));
    if (!text_ok(team, SFSM_MAX_NAME, REQUIRED, why))
        return sfsm_error_set(SFSM_ESTORAGE, "stored team membership of owner '%s': team %s",
                              sfsm__label(label, owner), why);
    return SFSM_OK;
}
