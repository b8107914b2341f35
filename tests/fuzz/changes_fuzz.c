/* libFuzzer target for the reader of a history entry's `changes` text that
 * as-of reports replay (parse_changes in lib/report_data.c; tests/fuzz/run.sh
 * builds and runs it). parse_changes is static and takes the loader, so this
 * file includes report_data.c itself (the runner leaves that file out of
 * the library sources it links): no entry point added to the library.
 *
 * The input is the stored text (cut at its first NUL, as a store hands it
 * back). Invariants:
 *   1. it returns 0 (accepted) or -1 (not an object it can read); -2 is
 *      out of memory, which cannot happen here;
 *   2. accepted text starts, after white space, with '{';
 *   3. what it decoded, written back as canonical JSON, reads back the same
 *      (its decoding is stable);
 *   4. a valid JSON object (as cJSON reads it and writes it back) whose
 *      amount / expected_close_ms are null or integers and whose currency /
 *      owner / customer are null or strings is accepted with those values
 *      (the last of repeated members wins).
 * With CHANGES_FUZZ_STRICT=1 in the environment it also demands that
 * accepted text is a JSON object as cJSON reads it and that decoded texts
 * hold no NUL and are UTF-8, as the import demands of the changes it stores:
 * not promised today (the reader is lenient; tests/fuzz/regressions/changes/
 * strict_* are the cases found), so CI leaves it off. */
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

static int read_changes(reader *r, const char *text, rd_change *c)
{
    memset(c, 0, sizeof *c);
    int rc = parse_changes(&r->l, text, c);
    if (rc != 0 && rc != -1)
        fail("parse_changes returned neither 0 nor -1", text);
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

/* The decoded change as JSON (members only for what the mask says). */
static void write_change(sfsm_buf *b, const reader *r, const rd_change *c)
{
    b->len = 0;
    sfsm__buf_add(b, "{\"_\":0", 6);   /* a leading member: every other one starts with ',' */
    if (c->mask & RD_CH_AMOUNT) {
        put_int(b, "amount", c->amount);
        put_text(b, "currency", r, c->currency);
    }
    if (c->mask & RD_CH_CLOSE)
        put_int(b, "expected_close_ms", c->expected_close);
    if (c->mask & RD_CH_OWNER)
        put_text(b, "owner", r, c->owner);
    if (c->mask & RD_CH_CUSTOMER)
        put_text(b, "customer", r, c->customer);
    sfsm__buf_add(b, "}", 2);
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

static int ref_int(const cJSON *v, int64_t *out)
{
    if (cJSON_IsNull(v)) {
        *out = 0;
        return 1;
    }
    /* cJSON writes integral doubles below 1e15 as plain digits; the rule
     * (sfsm__json_int) takes 0..2^53-1 */
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble >= 1e15)
        return 0;
    *out = (int64_t)v->valuedouble;
    return 1;
}

static int ref_text(const cJSON *v, const char **out)
{
    if (cJSON_IsNull(v)) {
        *out = NULL;
        return 1;
    }
    if (!cJSON_IsString(v))
        return 0;
    *out = v->valuestring;
    return 1;
}

static int text_is(const reader *r, uint32_t ix, const char *want)
{
    if (!want || !ix)
        return !want && !ix;
    return rd_size(&r->d, ix) == strlen(want) + 1 && memcmp(rd_s(&r->d, ix), want, strlen(want)) == 0;
}

/* Levels of arrays and objects under v (the reader skips at most 64). */
static int depth(const cJSON *v)
{
    int most = 0;
    for (const cJSON *m = v->child; m; m = m->next) {
        int k = depth(m);
        most = k > most ? k : most;
    }
    return (cJSON_IsArray(v) || cJSON_IsObject(v)) + most;
}

static void check_reference(const char *text)
{
    cJSON *doc = cJSON_ParseWithOpts(text, NULL, 1);
    if (!doc)
        return;
    if (!cJSON_IsObject(doc) || depth(doc) > 60) {
        cJSON_Delete(doc);
        return;
    }
    int64_t amount = 0, close = 0;
    const char *currency = NULL, *owner = NULL, *customer = NULL;
    uint32_t mask = 0;
    int usable = 1;
    for (const cJSON *m = doc->child; m && usable; m = m->next) {
        if (strcmp(m->string, "amount") == 0)
            usable = ref_int(m, &amount), mask |= RD_CH_AMOUNT;
        else if (strcmp(m->string, "expected_close_ms") == 0)
            usable = ref_int(m, &close), mask |= RD_CH_CLOSE;
        else if (strcmp(m->string, "currency") == 0)
            usable = ref_text(m, &currency), mask |= RD_CH_AMOUNT;
        else if (strcmp(m->string, "owner") == 0)
            usable = ref_text(m, &owner), mask |= RD_CH_OWNER;
        else if (strcmp(m->string, "customer") == 0)
            usable = ref_text(m, &customer), mask |= RD_CH_CUSTOMER;
    }
    char *printed = usable ? cJSON_PrintUnformatted(doc) : NULL;
    if (!printed) {
        cJSON_Delete(doc);   /* the expected texts point into it */
        return;
    }
    reader r;
    rd_change c;
    reader_init(&r);
    if (read_changes(&r, printed, &c) != 0)
        fail("a JSON object cJSON wrote is refused", printed);
    if (c.mask != mask || ((mask & RD_CH_AMOUNT) && (c.amount != amount || !text_is(&r, c.currency, currency))) ||
        ((mask & RD_CH_CLOSE) && c.expected_close != close) || ((mask & RD_CH_OWNER) && !text_is(&r, c.owner, owner)) ||
        ((mask & RD_CH_CUSTOMER) && !text_is(&r, c.customer, customer)))
        fail("the reader's values differ from cJSON's", printed);
    reader_free(&r);
    cJSON_free(printed);
    cJSON_Delete(doc);
}

/* ---- the strict checks (CHANGES_FUZZ_STRICT=1) ---- */

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

static void check_strict(const reader *r, const rd_change *c, const char *text)
{
    cJSON *doc = cJSON_ParseWithOpts(text, NULL, 1);
    int object = doc && cJSON_IsObject(doc);
    cJSON_Delete(doc);
    if (!object)
        fail("strict: accepted text is not a JSON object", text);
    /* what cJSON lets through: raw control characters in strings, \u0000 */
    if (sfsm__json_check_strings(text, strlen(text)) != SFSM_OK)
        fail("strict: accepted text has a raw control character or \\u0000 in a string", text);
    uint32_t texts[3] = { c->currency, c->owner, c->customer };
    for (size_t i = 0; i < 3; i++)
        if (texts[i] && !utf8_ok((const unsigned char *)rd_s(&r->d, texts[i]), rd_size(&r->d, texts[i]) - 1))
            fail("strict: a decoded text holds a NUL or is not UTF-8", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int strict = -1;
    if (strict < 0) {
        const char *e = getenv("CHANGES_FUZZ_STRICT");
        strict = e && strcmp(e, "1") == 0;
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    reader r;
    rd_change c;
    reader_init(&r);
    if (read_changes(&r, text, &c) == 0) {
        const char *p = text;
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (*p != '{')
            fail("accepted text that does not start with '{'", text);
        if (strict)
            check_strict(&r, &c, text);

        sfsm_buf out = { 0 };
        write_change(&out, &r, &c);
        if (out.failed)
            fail("out of memory writing the change back", text);
        reader again;
        rd_change e;
        reader_init(&again);
        if (read_changes(&again, out.data, &e) != 0)
            fail("the change written back is refused", out.data);
        if (!same_change(&r, &c, &again, &e))
            fail("the change written back reads differently", out.data);
        reader_free(&again);
        sfsm__buf_free(&out);
    }
    reader_free(&r);
    check_reference(text);
    free(text);
    return 0;
}
