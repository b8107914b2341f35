/* libFuzzer target for the reader of a history entry's `changes` text that
 * as-of reports replay (parse_changes in lib/report_data.c, which checks the
 * text by the load checks' rule and decodes it in one pass through
 * sfsm__changes_read; tests/fuzz/run.sh builds and runs it). parse_changes
 * is static and takes the loader, so this file includes report_data.c
 * itself (the runner leaves that file out of the library sources it
 * links): no entry point added to the library.
 *
 * The input's first byte gives the entry's fields bits (its low six bits),
 * the rest is the stored text (cut at its first NUL, as a store hands it
 * back). Invariants:
 *   1. it returns SFSM_OK or SFSM_ESTORAGE with a message naming the
 *      opportunity and the history version; SFSM_ENOMEM cannot happen here;
 *   2. accepted text is a JSON object as cJSON reads it, with no raw
 *      control character or \u0000 in a string, and its decoded texts are
 *      UTF-8 without NUL (the import's demands on the changes it stores);
 *   3. what it decoded, written back as canonical JSON, reads back the same
 *      (its decoding is stable);
 *   4. a valid JSON object (as cJSON reads it and writes it back) holding
 *      exactly the members the fields name, each within its field's limits
 *      (numbers integers in 0..2^53-1, texts non-empty UTF-8 of at most
 *      4096 bytes, currency three letters A-Z, attrs an object of at most
 *      256 distinct non-empty keys of at most 128 bytes with string values),
 *      is accepted with those values. */
#include "../../lib/report_data.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *text)
{
    fprintf(stderr, "changes_fuzz: %s\n--- text\n%s\n", what, text);
    abort();
}

typedef struct reader {
    report_data d;
    loader l;
} reader;

static void reader_init(reader *r)
{
    memset(r, 0, sizeof *r);
    r->l.d = &r->d;
}

static void reader_free(reader *r)
{
    sfsm__buf_free(&r->l.tmp);
    str_free(&r->d.str);
}

static int read_changes(reader *r, uint32_t fields, const char *text, rd_change *c)
{
    memset(c, 0, sizeof *c);
    int rc = parse_changes(&r->l, "o1", 7, fields, text, c);
    if (rc != SFSM_OK && rc != SFSM_ESTORAGE)
        fail("parse_changes returned neither SFSM_OK nor SFSM_ESTORAGE", text);
    if (rc && (!strstr(sfsm_errmsg(), "stored opportunity 'o1': history version 7: changes") ||
               sfsm_errcode() != SFSM_ESTORAGE))
        fail("a refusal without its message", text);
    return rc;
}

/* ---- writing a change back ---- */

static void put_text(sfsm_buf *b, const char *key, const reader *r, uint32_t ix)
{
    sfsm__buf_add(b, ",\"", 2);
    sfsm__buf_add(b, key, strlen(key));
    sfsm__buf_add(b, "\":", 2);
    if (!ix) {
        sfsm__buf_add(b, "null", 4);
        return;
    }
    const char *s = rd_s(&r->d, ix);
    size_t n = rd_size(&r->d, ix) - 1;
    sfsm__buf_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\', esc[1] = (char)ch;
            sfsm__buf_add(b, esc, 2);
        } else if (ch < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            sfsm__buf_add(b, esc, 6);
        } else {
            sfsm__buf_add(b, (const char *)&s[i], 1);
        }
    }
    sfsm__buf_add(b, "\"", 1);
}

static void put_int(sfsm_buf *b, const char *key, int64_t v)
{
    char t[64];
    int n = snprintf(t, sizeof t, ",\"%s\":%lld", key, (long long)v);
    sfsm__buf_add(b, t, (size_t)n);
}

/* The decoded change as JSON (members only for what the mask says, owner
 * null if it has none: an object needs a member), and the fields bits it
 * needs. */
static uint32_t write_change(sfsm_buf *b, const reader *r, const rd_change *c)
{
    uint32_t fields = SFSM_FIELD_OWNER;
    b->len = 0;
    sfsm__buf_add(b, "{", 1);
    put_text(b, "owner", r, c->mask & RD_CH_OWNER ? c->owner : 0);
    if (c->mask & RD_CH_AMOUNT) {
        put_int(b, "amount", c->amount);
        put_text(b, "currency", r, c->currency);
        fields |= SFSM_FIELD_AMOUNT;
    }
    if (c->mask & RD_CH_CLOSE) {
        put_int(b, "expected_close_ms", c->expected_close);
        fields |= SFSM_FIELD_EXPECTED_CLOSE;
    }
    if (c->mask & RD_CH_CUSTOMER) {
        put_text(b, "customer", r, c->customer);
        fields |= SFSM_FIELD_CUSTOMER;
    }
    sfsm__buf_add(b, "}", 2);
    if (!b->failed)
        memmove(b->data + 1, b->data + 2, b->len - 2);   /* the first member's ',' */
    b->len--;
    return fields;
}

/* Same decoded values (texts by content: the two readers intern apart). */
static int same_value(const reader *a, uint32_t x, const reader *b, uint32_t y)
{
    if (!x || !y)
        return x == y;
    size_t n = rd_size(&a->d, x);
    return n == rd_size(&b->d, y) && memcmp(rd_s(&a->d, x), rd_s(&b->d, y), n) == 0;
}

static int same_change(const reader *a, const rd_change *c, const reader *b, const rd_change *e)
{
    if (c->mask != e->mask)
        return 0;
    if ((c->mask & RD_CH_AMOUNT) &&
        (c->amount != e->amount || !same_value(a, c->currency, b, e->currency)))
        return 0;
    if ((c->mask & RD_CH_CLOSE) && c->expected_close != e->expected_close)
        return 0;
    if ((c->mask & RD_CH_OWNER) && !same_value(a, c->owner, b, e->owner))
        return 0;
    return !(c->mask & RD_CH_CUSTOMER) || same_value(a, c->customer, b, e->customer);
}

/* ---- invariant 4: cJSON as the reference ---- */

static int utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (!len || i + len > n || c == 0)
            return 0;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
        if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] > 0x9F) || (c == 0xF0 && s[i + 1] < 0x90) ||
            (c == 0xF4 && s[i + 1] > 0x8F))
            return 0;
        i += len;
    }
    return 1;
}

static int ref_int(const cJSON *v, int64_t *out)
{
    /* cJSON writes integral doubles below 1e15 as plain digits */
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble >= 1e15)
        return 0;
    *out = (int64_t)v->valuedouble;
    return 1;
}

static int ref_string(const cJSON *v, size_t max)
{
    if (!cJSON_IsString(v))
        return 0;
    size_t n = strlen(v->valuestring);
    return n <= max && utf8_ok((const unsigned char *)v->valuestring, n);
}

static int ref_text(const cJSON *v, const char **out)
{
    if (cJSON_IsNull(v)) {
        *out = NULL;
        return 1;
    }
    if (!ref_string(v, SFSM_MAX_TEXT) || !v->valuestring[0])
        return 0;
    *out = v->valuestring;
    return 1;
}

static int ref_currency(const cJSON *v, const char **out)
{
    if (!ref_text(v, out))
        return 0;
    const char *c = *out;
    return !c || (strlen(c) == 3 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' && c[2] >= 'A' &&
                  c[2] <= 'Z');
}

static int ref_attrs(const cJSON *v)
{
    if (!cJSON_IsObject(v))
        return 0;
    int n = 0;
    for (const cJSON *m = v->child; m; m = m->next, n++) {
        size_t len = strlen(m->string);
        if (n >= SFSM_MAX_ATTRS || !len || len > SFSM_MAX_NAME || !utf8_ok((const unsigned char *)m->string, len) ||
            !ref_string(m, SFSM_MAX_TEXT))
            return 0;
        for (const cJSON *o = v->child; o != m; o = o->next)
            if (strcmp(o->string, m->string) == 0)
                return 0;
    }
    return 1;
}

static int text_is(const reader *r, uint32_t ix, const char *want)
{
    if (!want || !ix)
        return !want && !ix;
    return rd_size(&r->d, ix) == strlen(want) + 1 && memcmp(rd_s(&r->d, ix), want, strlen(want)) == 0;
}

static void check_reference(uint32_t fields, const char *text)
{
    cJSON *doc = cJSON_ParseWithOpts(text, NULL, 1);
    if (!doc)
        return;
    if (!cJSON_IsObject(doc) || !fields) {
        cJSON_Delete(doc);
        return;
    }
    static const struct {
        const char *name;
        uint32_t bit;
    } names[] = { { "amount", SFSM_FIELD_AMOUNT }, { "currency", SFSM_FIELD_AMOUNT },
                  { "customer", SFSM_FIELD_CUSTOMER }, { "owner", SFSM_FIELD_OWNER },
                  { "title", SFSM_FIELD_TITLE }, { "expected_close_ms", SFSM_FIELD_EXPECTED_CLOSE },
                  { "attrs", SFSM_FIELD_ATTRS } };
    int64_t amount = 0, close = 0;
    const char *currency = NULL, *owner = NULL, *customer = NULL, *title = NULL;
    unsigned seen = 0;
    int usable = 1;
    for (const cJSON *m = doc->child; m && usable; m = m->next) {
        size_t k = 0;
        while (k < 7 && strcmp(m->string, names[k].name) != 0)
            k++;
        if (k == 7 || (seen >> k & 1u) || !(fields & names[k].bit)) {
            usable = 0;
            break;
        }
        seen |= 1u << k;
        switch (k) {
        case 0: usable = ref_int(m, &amount); break;
        case 1: usable = ref_currency(m, &currency); break;
        case 2: usable = ref_text(m, &customer); break;
        case 3: usable = ref_text(m, &owner); break;
        case 4: usable = ref_text(m, &title); break;
        case 5: usable = ref_int(m, &close); break;
        default: usable = ref_attrs(m); break;
        }
    }
    for (size_t k = 0; k < 7; k++)
        if ((fields & names[k].bit) && !(seen >> k & 1u))
            usable = 0;
    char *printed = usable ? cJSON_PrintUnformatted(doc) : NULL;
    if (!printed) {
        cJSON_Delete(doc);   /* the expected texts point into it */
        return;
    }
    reader r;
    rd_change c;
    reader_init(&r);
    if (read_changes(&r, fields, printed, &c) != 0)
        fail("a JSON object cJSON wrote, within the limits, is refused", printed);
    if (((fields & SFSM_FIELD_AMOUNT) && (c.amount != amount || !text_is(&r, c.currency, currency))) ||
        ((fields & SFSM_FIELD_EXPECTED_CLOSE) && c.expected_close != close) ||
        ((fields & SFSM_FIELD_OWNER) && !text_is(&r, c.owner, owner)) ||
        ((fields & SFSM_FIELD_CUSTOMER) && !text_is(&r, c.customer, customer)))
        fail("the reader's values differ from cJSON's", printed);
    reader_free(&r);
    cJSON_free(printed);
    cJSON_Delete(doc);
}

/* ---- invariant 2 ---- */

static void check_accepted(const reader *r, const rd_change *c, const char *text)
{
    cJSON *doc = cJSON_ParseWithOpts(text, NULL, 1);
    int object = doc && cJSON_IsObject(doc);
    cJSON_Delete(doc);
    if (!object)
        fail("accepted text is not a JSON object", text);
    /* what cJSON lets through: raw control characters in strings, \u0000 */
    if (sfsm__json_check_strings(text, strlen(text)) != SFSM_OK)
        fail("accepted text has a raw control character or \\u0000 in a string", text);
    uint32_t texts[3] = { c->currency, c->owner, c->customer };
    for (size_t i = 0; i < 3; i++)
        if (texts[i] && !utf8_ok((const unsigned char *)rd_s(&r->d, texts[i]), rd_size(&r->d, texts[i]) - 1))
            fail("a decoded text holds a NUL or is not UTF-8", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t fields = data[0] & SFSM_FIELD_ALL;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';

    reader r;
    rd_change c;
    reader_init(&r);
    if (read_changes(&r, fields, text, &c) == 0) {
        check_accepted(&r, &c, text);
        sfsm_buf out = { 0 };
        uint32_t back = write_change(&out, &r, &c);
        if (out.failed)
            fail("out of memory writing the change back", text);
        reader again;
        rd_change e;
        reader_init(&again);
        if (read_changes(&again, back, out.data, &e) != 0)
            fail("the change written back is refused", out.data);
        if (!(c.mask & RD_CH_OWNER)) {
            if (e.owner)
                fail("the null owner written back reads as a text", out.data);
            e.mask &= ~(uint32_t)RD_CH_OWNER;
        }
        if (!same_change(&r, &c, &again, &e))
            fail("the change written back reads differently", out.data);
        reader_free(&again);
        sfsm__buf_free(&out);
    }
    reader_free(&r);
    check_reference(fields, text);
    free(text);
    return 0;
}
