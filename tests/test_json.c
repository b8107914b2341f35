/* JSON export and import of opportunities with their history (export.h,
 * docs/json-format.md): round trips between stores, every validation fault
 * with its code and JSON path and nothing imported, filters, the write
 * callback, batches, a user backend with odd stored text, and allocation
 * failures. */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <salesfsm/sys/store.h>
#include <sqlite3.h>

#define SAFE_MAX INT64_C(9007199254740991) /* 2^53 - 1 */

/* ---- helpers ---- */

static char *export_doc(sfsm_engine *e, const sfsm_filter *f)
{
    char *doc = NULL;
    size_t len = 0;
    int rc = sfsm_export_json_string(e, f, &doc, &len);
    if (rc != SFSM_OK)
        fail_msg("sfsm_export_json_string: %d %s", rc, sfsm_errmsg());
    assert_non_null(doc);
    assert_int_equal(strlen(doc), len);
    return doc;
}

/* A second store and engine on the fixture's pipeline. */
typedef struct target {
    sfsm_store *s;
    sfsm_engine *e;
    char path[256];
} target;

static void target_attach(target *t, fixture *f)
{
    assert_int_equal(sfsm_engine_new(&t->e, f->pipeline, t->s), SFSM_OK);
}

/* The same kind of store as the suite runs on (memory, or SQLite). */
static void target_open(target *t, fixture *f)
{
    memset(t, 0, sizeof *t);
    test_store_open(&t->s, t->path);
    target_attach(t, f);
}

static void target_open_memory(target *t, fixture *f)
{
    memset(t, 0, sizeof *t);
    assert_int_equal(sfsm_store_open_memory(&t->s), SFSM_OK);
    target_attach(t, f);
}

static void target_open_sqlite(target *t, fixture *f)
{
    memset(t, 0, sizeof *t);
    const char *dir = getenv("TMPDIR");
    snprintf(t->path, sizeof t->path, "%s/sfsm-json-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(t->path);
    assert_true(fd >= 0);
    close(fd);
    sfsm_sqlite_options opts = SFSM_SQLITE_OPTIONS_INIT;
    opts.synchronous = SFSM_SQLITE_SYNC_OFF;
    int rc = sfsm_store_open_sqlite(&t->s, t->path, &opts);
    if (rc != SFSM_OK)
        fail_msg("sfsm_store_open_sqlite: %s", sfsm_errmsg());
    target_attach(t, f);
}

static void target_close(target *t)
{
    sfsm_engine_free(t->e);
    sfsm_store_close(t->s);
    test_store_remove(t->path);
    memset(t, 0, sizeof *t);
}

static int import_str(sfsm_engine *e, const char *doc, size_t *count)
{
    return sfsm_import_json(e, doc, strlen(doc), count);
}

/* doc with the nth (0-based) occurrence of `from` replaced by `to`. */
static char *replace_nth(const char *doc, const char *from, const char *to, int nth)
{
    const char *at = strstr(doc, from);
    for (int k = 0; at && k < nth; k++)
        at = strstr(at + 1, from);
    if (!at)
        fail_msg("replace_nth: \"%s\" (#%d) not in the document", from, nth);
    size_t head = (size_t)(at - doc), fl = strlen(from), tl = strlen(to), rest = strlen(at + fl);
    char *out = malloc(head + tl + rest + 1);
    assert_non_null(out);
    memcpy(out, doc, head);
    memcpy(out + head, to, tl);
    memcpy(out + head + tl, at + fl, rest + 1);
    return out;
}

static char *replace(const char *doc, const char *from, const char *to)
{
    return replace_nth(doc, from, to, 0);
}

/* Every opportunity of `a` is stored identically in `b`. */
static int describe_cb(const sfsm_opp *o, void *ud)
{
    sfsm_engine *other = ud;
    sfsm_opp *p = NULL;
    assert_int_equal(sfsm_opp_open(other, sfsm_opp_id(o), &p), SFSM_OK);
    char *x = opp_describe(o), *y = opp_describe(p);
    assert_string_equal(x, y);
    free(x);
    free(y);
    sfsm_opp_free(p);
    return 0;
}

static void assert_same_opps(sfsm_engine *a, sfsm_engine *b)
{
    assert_int_equal(count_opps(a, NULL), count_opps(b, NULL));
    assert_int_equal(sfsm_scan(a, NULL, describe_cb, b), SFSM_OK);
}

/* ---- the data ---- */

#define CUSTOMER_ZH "华东区 客户 🚀"
#define TITLE_ODD "Quote \"A\" for C:\\erp\\path\nsecond line\ttab \x01 ctl"
#define NOTE_ODD "price \"too\" high\\n (not a newline) \n real newline / slash"

/* Opportunities in every shape: all three entry kinds, attributes (more than
 * 16 on one), unicode, escapes, cleared fields, amounts near 2^53, lost and
 * reopened deals, and one with a generated id. Returns how many. */
static size_t build_rich(fixture *f)
{
    sfsm_opp *o = NULL;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "deal-华东-1";
    opts.customer = CUSTOMER_ZH;
    opts.owner = "ravi";
    opts.title = TITLE_ODD;
    opts.amount = SAFE_MAX;
    opts.currency = "CNY";
    opts.expected_close_ms = T0_MS + 30 * DAY_MS;
    opts.actor = &REP;
    assert_int_equal(sfsm_opp_create_ext(f->engine, &opts, &o), SFSM_OK);
    f->now += DAY_MS;
    assert_int_equal(sfsm_opp_set_attr(o, "region", "华东区"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "quote \"q\"", "he said \"ok\"\\n\n🚀"), SFSM_OK);
    assert_int_equal(sfsm_opp_set_attr(o, "empty", ""), SFSM_OK);
    assert_int_equal(sfsm_opp_save_as(f->engine, o, &ASSISTANT, "attrs: region and \"quote\"\n"), SFSM_OK);
    f->now += DAY_MS;
    assert_int_equal(sfsm_opp_set_amount(o, SAFE_MAX - 1, "USD"), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, o, "qualify", &REP, "C:\\deals\\华东 \"qualified\""), SFSM_OK);
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, o, "quote", &MANAGER, NULL), SFSM_OK);
    f->now += DAY_MS;
    assert_int_equal(sfsm_opp_set_customer(o, NULL), SFSM_OK);   /* cleared: null in changes */
    assert_int_equal(sfsm_opp_set_expected_close(o, 0), SFSM_OK);
    assert_int_equal(sfsm_opp_save_as(f->engine, o, NULL, ""), SFSM_OK);
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, o, "negotiate", &MANAGER, ""), SFSM_OK);
    assert_int_equal(sfsm_fire(f->engine, o, "sign", &MANAGER, "PO 4711"), SFSM_OK);
    sfsm_opp_free(o);

    f->now += DAY_MS;
    o = fixture_opp(f, "lost-then-reopened", "qualify", "lose", "reopen", NULL);
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, o, "lose", &REP, NOTE_ODD), SFSM_OK);
    sfsm_opp_free(o);

    f->now += DAY_MS;
    o = fixture_opp(f, "lost", "qualify", "quote", "negotiate", "lose", NULL);
    sfsm_opp_free(o);

    assert_int_equal(sfsm_opp_create(f->engine, "plain", &o), SFSM_OK);   /* no fields, no actor */
    sfsm_opp_free(o);

    f->now += DAY_MS;
    assert_int_equal(sfsm_opp_create(f->engine, NULL, &o), SFSM_OK);     /* generated id */
    for (int k = 0; k < 20; k++) {
        char key[32], value[64];
        snprintf(key, sizeof key, "k%02d", 19 - k);
        snprintf(value, sizeof value, "value %d \"%d\"", k, k);
        assert_int_equal(sfsm_opp_set_attr(o, key, value), SFSM_OK);
    }
    assert_int_equal(sfsm_opp_set_title(o, "twenty attributes"), SFSM_OK);
    assert_int_equal(sfsm_opp_save_as(f->engine, o, &SUPPORT, NULL), SFSM_OK);
    sfsm_opp_free(o);
    return 5;
}

/* A small document to break in the fault tests:
 *   a: lead → qualified → quoted (attribute region added with the quote)
 *   b: lead → qualified → lost */
static char *base_doc(fixture *f)
{
    sfsm_opp *a = fixture_opp(f, "a", "qualify", NULL);
    assert_int_equal(sfsm_opp_set_attr(a, "region", "east"), SFSM_OK);
    f->now += DAY_MS;
    assert_int_equal(sfsm_fire(f->engine, a, "quote", &MANAGER, NULL), SFSM_OK);
    sfsm_opp_free(a);
    f->now += DAY_MS;
    sfsm_opp_free(fixture_opp(f, "b", "qualify", "lose", NULL));
    return export_doc(f->engine, NULL);
}

/* ---- round trips ---- */

static void roundtrip_rich(void **state)
{
    fixture *f = *state;
    size_t n = build_rich(f);
    char *a = export_doc(f->engine, NULL);
    /* UTF-8 passes through unescaped; integers are exact */
    assert_non_null(strstr(a, "\"customer\":\"" CUSTOMER_ZH "\""));   /* in changes; cleared since */
    assert_non_null(strstr(a, "\"region\": \"华东区\""));
    assert_non_null(strstr(a, "\"id\": \"deal-华东-1\""));
    assert_non_null(strstr(a, "\"amount\": 9007199254740990,"));
    assert_non_null(strstr(a, "\"changes\": {\"amount\":9007199254740991,\"currency\":\"CNY\""));
    assert_non_null(strstr(a, "\"title\": \"Quote \\\"A\\\" for C:\\\\erp\\\\path\\nsecond line\\ttab \\u0001 ctl\""));
    assert_non_null(strstr(a, "\"kind\": \"update\""));
    assert_non_null(strstr(a, "\"kind\": \"transition\", \"event\": \"reopen\""));
    assert_non_null(strstr(a, "\"fields\": [\"amount\", \"customer\", \"owner\", \"title\", \"expected_close\"]"));
    assert_non_null(strstr(a, "\"changes\": {\"customer\":null,\"expected_close_ms\":0}"));
    assert_non_null(strstr(a, "\"note\": \"\""));

    target t;
    target_open(&t, f);
    size_t count = 99;
    int rc = import_str(t.e, a, &count);
    if (rc != SFSM_OK)
        fail_msg("import: %d %s", rc, sfsm_errmsg());
    assert_int_equal(count, n);
    char *b = export_doc(t.e, NULL);
    assert_string_equal(a, b);
    assert_same_opps(f->engine, t.e);

    /* imported opportunities go on where they were */
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_open(t.e, "lost-then-reopened", &o), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "lost");
    assert_int_equal(sfsm_opp_version(o), 5);
    assert_int_equal(sfsm_fire(t.e, o, "reopen", &MANAGER, NULL), SFSM_OK);
    assert_int_equal(sfsm_opp_version(o), 6);
    assert_int_equal(history_count(t.e, "lost-then-reopened"), 6);
    sfsm_opp_free(o);

    sfsm_free(a);
    sfsm_free(b);
    target_close(&t);
}

static void roundtrip_memory_sqlite_memory(void **state)
{
    fixture *f = *state;
    size_t n = build_rich(f);
    char *a = export_doc(f->engine, NULL);

    target sq;
    target_open_sqlite(&sq, f);
    size_t count = 0;
    int rc = import_str(sq.e, a, &count);
    if (rc != SFSM_OK)
        fail_msg("import into SQLite: %d %s", rc, sfsm_errmsg());
    assert_int_equal(count, n);
    char *b = export_doc(sq.e, NULL);
    assert_string_equal(a, b);
    assert_same_opps(f->engine, sq.e);

    target mem;
    target_open_memory(&mem, f);
    assert_int_equal(import_str(mem.e, b, &count), SFSM_OK);
    assert_int_equal(count, n);
    char *c = export_doc(mem.e, NULL);
    assert_string_equal(a, c);

    sfsm_free(a);
    sfsm_free(b);
    sfsm_free(c);
    target_close(&mem);
    target_close(&sq);
}

static void empty_store(void **state)
{
    fixture *f = *state;
    char *a = export_doc(f->engine, NULL);
    assert_string_equal(a, "{\n  \"format\": \"salesfsm-opportunities\",\n  \"version\": 1,\n  \"opportunities\": []\n}\n");
    target t;
    target_open(&t, f);
    size_t count = 99;
    assert_int_equal(import_str(t.e, a, &count), SFSM_OK);
    assert_int_equal(count, 0);
    assert_int_equal(count_opps(t.e, NULL), 0);
    sfsm_free(a);
    target_close(&t);
}

/* Numbers are numbers however they are spelt; changes are stored in one
 * canonical form, so the document comes back byte for byte. */
static void equivalent_spellings(void **state)
{
    fixture *f = *state;
    char *a = base_doc(f);
    char *x1 = replace(a, "\"amount\": 1200000,", "\"amount\": 1.2e6,");
    char *x2 = replace(x1, "\"changes\": {\"attrs\":{\"region\":\"east\"}}",
                       "\"changes\": { \"attrs\" : {\n \"region\" : \"\\u0065ast\" } }");
    char *x3 = replace(x2, "\"owner\": \"ravi\"", "\"owner\": \"r\\u0061vi\"");
    target t;
    target_open(&t, f);
    size_t count = 0;
    int rc = import_str(t.e, x3, &count);
    if (rc != SFSM_OK)
        fail_msg("import: %d %s", rc, sfsm_errmsg());
    assert_int_equal(count, 2);
    char *b = export_doc(t.e, NULL);
    assert_string_equal(a, b);
    free(x1);
    free(x2);
    free(x3);
    sfsm_free(a);
    sfsm_free(b);
    target_close(&t);
}

/* Amounts: 2^53-1 is the limit everywhere. create and set_amount refuse
 * more (the export could not be imported); the limit itself creates,
 * exports, imports and exports again identically. */
static void amount_beyond_2_53(void **state)
{
    fixture *f = *state;
    sfsm_opp *o = NULL;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "huge";
    opts.currency = "JPY";
    const int64_t too_big[] = { SAFE_MAX + 1, INT64_MAX };
    for (size_t k = 0; k < 2; k++) {
        char value[32];
        snprintf(value, sizeof value, "%lld", (long long)too_big[k]);
        opts.amount = too_big[k];
        assert_int_equal(sfsm_opp_create_ext(f->engine, &opts, &o), SFSM_EINVAL);
        assert_null(o);
        assert_msg_has(value);
        assert_msg_has("9007199254740991");
        assert_int_equal(count_opps(f->engine, NULL), 0);
    }
    opts.amount = SAFE_MAX;
    assert_int_equal(sfsm_opp_create_ext(f->engine, &opts, &o), SFSM_OK);
    char *before = opp_describe(o);
    assert_int_equal(sfsm_opp_set_amount(o, SAFE_MAX + 1, "USD"), SFSM_EINVAL);
    assert_msg_has("amount: 9007199254740992 is above the limit of 9007199254740991");
    assert_same_and_free(opp_describe(o), before);
    free(before);
    assert_int_equal(sfsm_opp_set_amount(o, SAFE_MAX, "USD"), SFSM_OK);
    assert_int_equal(sfsm_opp_save(f->engine, o), SFSM_OK);
    sfsm_opp_free(o);

    char *a = export_doc(f->engine, NULL);
    assert_non_null(strstr(a, "\"amount\": 9007199254740991,"));
    assert_non_null(strstr(a, "{\"amount\":9007199254740991,\"currency\":\"USD\"}"));
    target t;
    target_open(&t, f);
    size_t count = 0;
    assert_int_equal(import_str(t.e, a, &count), SFSM_OK);
    assert_int_equal(count, 1);
    char *b = export_doc(t.e, NULL);
    assert_string_equal(a, b);
    sfsm_free(a);
    sfsm_free(b);
    target_close(&t);
}

/* ---- faults ---- */

typedef struct fault {
    const char *from, *to;  /* replace the first `from` of the base document */
    int nth;                /* ... or its nth occurrence */
    int code;
    const char *path;       /* what sfsm_errmsg() must contain */
} fault;

static const fault faults[] = {
    /* the header */
    { "\"format\": \"salesfsm-opportunities\"", "\"format\": \"salesfsm-pipeline\"", 0, SFSM_EPARSE, "format: " },
    { "\"format\": \"salesfsm-opportunities\",", "", 0, SFSM_EPARSE, "document: missing member 'format'" },
    { "\"version\": 1,\n  \"opportunities\"", "\"version\": 2,\n  \"opportunities\"", 0, SFSM_EVERSION, "version: 2" },
    { "\"version\": 1,\n  \"opportunities\"", "\"version\": 0,\n  \"opportunities\"", 0, SFSM_EVERSION, "version: 0" },
    { "\"version\": 1,\n  \"opportunities\"", "\"version\": \"1\",\n  \"opportunities\"", 0, SFSM_EPARSE,
      "version: expected an integer" },
    { "\"version\": 1,\n", "\"version\": 1, \"extra\": true,\n", 0, SFSM_EPARSE, "document: unknown member 'extra'" },
    /* members and types */
    { "\"owner\": \"ravi\",\n      ", "", 0, SFSM_EPARSE, "opportunities[0]: missing member 'owner'" },
    { "\"title\": null,", "\"title\": null, \"costumer\": \"x\",", 0, SFSM_EPARSE,
      "opportunities[0]: unknown member 'costumer'" },
    { "\"title\": null,", "\"title\": null, \"title\": null,", 0, SFSM_EPARSE,
      "opportunities[0]: member 'title' appears twice" },
    { "\"amount\": 1200000,", "\"amount\": \"1200000\",", 0, SFSM_EPARSE, "opportunities[0].amount: expected an integer" },
    { "\"title\": null,", "\"title\": true,", 1, SFSM_EPARSE, "opportunities[1].title: expected a string or null" },
    { "\"attrs\": {", "\"attrs\": [{", 0, SFSM_EPARSE, "" },   /* not even JSON any more */
    { "\"region\": \"east\"", "\"region\": 5", 0, SFSM_EPARSE, "opportunities[0].attrs.region: expected a string" },
    { "\"history\": [", "\"history\": {}, \"x\": [", 1, SFSM_EPARSE, "opportunities[1]: unknown member 'x'" },
    /* numbers */
    { "\"amount\": 1200000,", "\"amount\": 1200000.5,", 0, SFSM_EINVAL, "opportunities[0].amount: 1200000.5 is not an integer" },
    { "\"amount\": 1200000,", "\"amount\": 9007199254740993,", 0, SFSM_EINVAL, "opportunities[0].amount: " },
    { "\"amount\": 1200000,", "\"amount\": -5,", 1, SFSM_EINVAL, "opportunities[1].amount: -5 is less than 0" },
    { "\"pipeline_version\": 1,", "\"pipeline_version\": 4294967296,", 0, SFSM_EINVAL, "opportunities[0].pipeline_version" },
    { "\"expected_close_ms\": 0,", "\"expected_close_ms\": -1,", 0, SFSM_EINVAL, "opportunities[0].expected_close_ms" },
    /* texts */
    { "\"currency\": \"CNY\"", "\"currency\": \"cny\"", 0, SFSM_EINVAL, "opportunities[0].currency: 'cny'" },
    { "\"currency\": \"CNY\"", "\"currency\": \"CNYX\"", 0, SFSM_EINVAL, "opportunities[0].currency" },
    { "\"currency\": \"CNY\"", "\"currency\": null", 1, SFSM_EINVAL, "opportunities[1].currency: null, but amount" },
    { "\"id\": \"a\"", "\"id\": \"\"", 0, SFSM_EINVAL, "opportunities[0].id: must not be empty" },
    { "\"id\": \"b\"", "\"id\": \"\xff\xfe\"", 0, SFSM_EINVAL, "opportunities[1].id: not valid UTF-8" },
    { "\"customer\": \"Acme Ltd\"", "\"customer\": \"\"", 0, SFSM_EINVAL, "opportunities[0].customer: must not be empty" },
    { "\"customer\": \"Acme Ltd\"", "\"customer\": \"Acme\\u0000Ltd\"", 1, SFSM_EINVAL, "opportunities[1].customer: \\u0000" },
    { "\"owner\": \"ravi\"", "\"owner\": \"r\\ud800avi\"", 0, SFSM_EPARSE, "byte " },
    { "\"owner\": \"ravi\"", "\"owner\": \"ra\nvi\"", 0, SFSM_EPARSE, "opportunities[0].owner: control character 0x0a" },
    { "{\"attrs\":{\"region\":\"east\"}}", "{\"attrs\":{\"region\":\"e\\u0000st\"}}", 0, SFSM_EINVAL,
      "opportunities[0].history[2].changes.attrs.region: \\u0000" },
    { "\"region\": \"east\"", "\"reg\\u0000ion\": \"east\"", 0, SFSM_EINVAL, "opportunities[0].attrs: \\u0000" },
    { "\"pipeline\": \"default\"", "\"pipeline\": \"\"", 0, SFSM_EINVAL, "opportunities[0].pipeline" },
    /* the pipeline: the engine's (or null), at its version or an earlier one */
    { "\"pipeline\": \"default\"", "\"pipeline\": \"other\"", 1, SFSM_EINVAL,
      "opportunities[1].pipeline: pipeline 'other', but this engine's pipeline is 'default'" },
    { "\"pipeline_version\": 1,", "\"pipeline_version\": 2,", 0, SFSM_EINVAL,
      "opportunities[0].pipeline_version: pipeline 'default' version 2, but this engine has 'default' version 1" },
    { "\"pipeline\": \"default\",\n      \"pipeline_version\": 1,", "\"pipeline\": null,\n      \"pipeline_version\": 7,", 1,
      SFSM_EINVAL, "opportunities[1].pipeline_version: pipeline null (this engine's) version 7, but this engine has 'default' version 1" },
    { "\"pipeline\": \"default\",\n      ", "", 0, SFSM_EPARSE, "opportunities[0]: missing member 'pipeline'" },
    /* names against the pipeline */
    { "\"stage\": \"quoted\"", "\"stage\": \"quoteed\"", 0, SFSM_EINVAL, "opportunities[0].stage: unknown stage 'quoteed'" },
    { "\"to\": \"quoted\"", "\"to\": \"quoteed\"", 0, SFSM_EINVAL, "opportunities[0].history[2].to: unknown stage 'quoteed'" },
    { "\"event\": \"lose\"", "\"event\": \"loose\"", 0, SFSM_EINVAL, "opportunities[1].history[2].event: unknown event 'loose'" },
    { "\"role\": \"manager\"", "\"role\": \"boss\"", 1, SFSM_EINVAL, "opportunities[0].history[2].role: unknown role 'boss'" },
    /* the history chain */
    { "{\"version\": 2, ", "{\"version\": 3, ", 0, SFSM_EINVAL, "opportunities[0].history[1].version" },
    { "\"stage\": \"quoted\",\n      \"version\": 3,", "\"stage\": \"quoted\",\n      \"version\": 4,", 0, SFSM_EINVAL,
      "opportunities[0].history: 3 entries, but version is 4" },
    { "\"history\": [", "\"history\": [ ], \"h\": [", 0, SFSM_EPARSE, "unknown member 'h'" },
    { "\"kind\": \"create\"", "\"kind\": \"update\"", 0, SFSM_EINVAL, "opportunities[0].history[0].kind" },
    { "\"kind\": \"transition\"", "\"kind\": \"create\"", 0, SFSM_EINVAL, "opportunities[0].history[1].kind" },
    { "\"kind\": \"transition\"", "\"kind\": \"merge\"", 3, SFSM_EINVAL, "opportunities[1].history[2].kind: unknown kind 'merge'" },
    { "\"kind\": \"create\", \"event\": null", "\"kind\": \"create\", \"event\": \"qualify\"", 1, SFSM_EINVAL,
      "opportunities[1].history[0].event: must be null" },
    { "\"kind\": \"create\", \"event\": null, \"from\": null", "\"kind\": \"create\", \"event\": null, \"from\": \"lead\"", 0,
      SFSM_EINVAL, "opportunities[0].history[0].from: must be null" },
    { "\"from\": \"qualified\"", "\"from\": \"lead\"", 0, SFSM_EINVAL,
      "opportunities[0].history[2].from: 'lead', but the previous entry ended at 'qualified'" },
    { "\"stage\": \"quoted\"", "\"stage\": \"qualified\"", 0, SFSM_EINVAL,
      "opportunities[0].stage: 'qualified', but the history ends at 'quoted'" },
    { "\"actor\": \"Mei (manager)\", \"role\": \"manager\"", "\"actor\": null, \"role\": null", 0, SFSM_EINVAL,
      "opportunities[0].history[1].actor: a transition entry needs its actor" },
    { "\"actor\": \"Mei (manager)\", \"role\": \"manager\"", "\"actor\": \"Mei (manager)\", \"role\": null", 0,
      SFSM_EINVAL, "opportunities[0].history[1].role: null, but actor is set" },
    /* fields and changes */
    { "\"fields\": [\"attrs\"]", "\"fields\": [\"atrs\"]", 0, SFSM_EINVAL, "opportunities[0].history[2].fields[0]: unknown field 'atrs'" },
    { "\"fields\": [\"attrs\"]", "\"fields\": [\"attrs\", \"attrs\"]", 0, SFSM_EINVAL,
      "opportunities[0].history[2].fields[1]: field 'attrs' named twice" },
    { "\"fields\": [\"attrs\"]", "\"fields\": [\"attrs\", \"title\"]", 0, SFSM_EINVAL,
      "opportunities[0].history[2].changes: missing 'title'" },
    { "\"fields\": [\"attrs\"]", "\"fields\": []", 0, SFSM_EINVAL, "opportunities[0].history[2].changes: must be null" },
    { "\"fields\": [\"attrs\"]", "\"fields\": \"attrs\"", 0, SFSM_EPARSE, "opportunities[0].history[2].fields: expected an array" },
    { "{\"attrs\":{\"region\":\"east\"}}", "{\"attrs\":{\"region\":\"east\"},\"title\":\"x\"}", 0, SFSM_EINVAL,
      "opportunities[0].history[2].changes: has 'title', but fields does not name 'title'" },
    { "{\"attrs\":{\"region\":\"east\"}}", "{\"attrs\":{\"region\":7}}", 0, SFSM_EPARSE,
      "opportunities[0].history[2].changes.attrs.region: expected a string" },
    { "{\"attrs\":{\"region\":\"east\"}}", "\"attrs\"", 0, SFSM_EPARSE, "opportunities[0].history[2].changes: expected an object" },
    { "{\"amount\":1200000,", "{\"amount\":-1,", 1, SFSM_EINVAL, "opportunities[1].history[0].changes.amount" },
    /* attributes */
    { "\"region\": \"east\"", "\"region\": \"east\", \"region\": \"west\"", 0, SFSM_EINVAL,
      "opportunities[0].attrs: key 'region' appears twice" },
    { "\"region\": \"east\"", "\"\": \"east\"", 0, SFSM_EINVAL, "opportunities[0].attrs: attribute keys must not be empty" },
    { "\"region\": \"east\"", "\"the region\": 1", 0, SFSM_EPARSE, "opportunities[0].attrs[\"the region\"]: expected a string" },
    { "\"region\": \"east\"", "\"the region\": \"e\\u0000st\"", 0, SFSM_EINVAL, "opportunities[0].attrs[\"the region\"]: \\u0000" },
    /* duplicate ids */
    { "\"id\": \"b\"", "\"id\": \"a\"", 0, SFSM_EINVAL, "opportunities[1].id: 'a' appears twice (also opportunities[0].id)" },
    /* JSON itself */
    { "\n}\n", "\n}\nx", 0, SFSM_EPARSE, "text after the JSON document" },
    { "\"opportunities\": [", "\"opportunities\": [,", 0, SFSM_EPARSE, "byte " },
};

static void each_fault_imports_nothing(void **state)
{
    fixture *f = *state;
    char *base = base_doc(f);
    target t;
    target_open(&t, f);
    size_t count;
    assert_int_equal(import_str(t.e, base, &count), SFSM_OK);   /* the base itself is fine */
    target_close(&t);
    target_open(&t, f);
    for (size_t k = 0; k < sizeof faults / sizeof faults[0]; k++) {
        const fault *x = &faults[k];
        char *doc = replace_nth(base, x->from, x->to, x->nth);
        count = 77;
        int rc = import_str(t.e, doc, &count);
        if (rc != x->code || !strstr(sfsm_errmsg(), x->path))
            fail_msg("fault %zu (%s -> %s): got %d \"%s\", expected %d naming \"%s\"", k, x->from, x->to, rc,
                     sfsm_errmsg(), x->code, x->path);
        if (getenv("SFSM_TEST_VERBOSE"))
            print_message("fault %zu: %s\n", k, sfsm_errmsg());
        assert_int_equal(count, 0);
        assert_int_equal(sfsm_errcode(), x->code);
        assert_int_equal(count_opps(t.e, NULL), 0);
        free(doc);
    }
    sfsm_free(base);
    target_close(&t);
}

/* Faults that a text replacement cannot make. */
static void more_faults(void **state)
{
    fixture *f = *state;
    char *base = base_doc(f);
    target t;
    target_open(&t, f);

    static const char *const docs[] = {
        "[]",
        "{\"format\":\"salesfsm-opportunities\",\"version\":1,\"opportunities\":{}}",
        "{\"format\":\"salesfsm-opportunities\",\"version\":1}",
        "{\"format\":\"salesfsm-opportunities\",\"version\":1.5,\"opportunities\":[]}",
        "{\"format\":\"salesfsm-opportunities\",\"version\":1,\"opportunities\":[1]}",
        "",
        "   ",
        "{\"format\":\"salesfsm-opportunities\",",
    };
    static const struct { int code; const char *path; } want[] = {
        { SFSM_EPARSE, "document: expected an object, got an array" },
        { SFSM_EPARSE, "opportunities: expected an array, got an object" },
        { SFSM_EPARSE, "document: missing member 'opportunities'" },
        { SFSM_EINVAL, "version: 1.5 is not an integer" },
        { SFSM_EPARSE, "opportunities[0]: expected an object, got a number" },
        { SFSM_EPARSE, "byte 0" },
        { SFSM_EPARSE, "byte " },
        { SFSM_EPARSE, "byte " },
    };
    for (size_t k = 0; k < sizeof docs / sizeof docs[0]; k++) {
        int rc = import_str(t.e, docs[k], NULL);
        if (rc != want[k].code || !strstr(sfsm_errmsg(), want[k].path))
            fail_msg("doc %zu: got %d \"%s\", expected %d naming \"%s\"", k, rc, sfsm_errmsg(), want[k].code,
                     want[k].path);
    }

    /* a fault in the last opportunity: the first is not written either */
    char longnote[SFSM_MAX_TEXT + 2];
    memset(longnote, 'n', sizeof longnote - 1);
    longnote[sizeof longnote - 1] = '\0';
    char *to = malloc(strlen(longnote) + 16);
    assert_non_null(to);
    sprintf(to, "\"note\": \"%s\"", longnote);
    char *doc = replace(base, "\"note\": \"price too high\"", to);
    assert_int_equal(import_str(t.e, doc, NULL), SFSM_EINVAL);
    assert_msg_has("opportunities[1].history[2].note: longer than 4096 bytes");
    free(doc);
    free(to);

    /* an id one byte too long */
    char longid[SFSM_MAX_ID + 2 + 8];
    memset(longid, 0, sizeof longid);
    strcpy(longid, "\"id\": \"");
    memset(longid + 7, 'i', SFSM_MAX_ID + 1);
    strcat(longid, "\"");
    doc = replace(base, "\"id\": \"a\"", longid);
    assert_int_equal(import_str(t.e, doc, NULL), SFSM_EINVAL);
    assert_msg_has("opportunities[0].id: longer than 128 bytes");
    free(doc);

    /* a truncated document */
    assert_int_equal(sfsm_import_json(t.e, base, strlen(base) / 2, NULL), SFSM_EPARSE);
    assert_msg_has("byte ");

    assert_int_equal(count_opps(t.e, NULL), 0);
    sfsm_free(base);
    target_close(&t);
}

static void existing_id_imports_nothing(void **state)
{
    fixture *f = *state;
    char *base = base_doc(f);
    target t;
    target_open(&t, f);
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(t.e, "b", &o), SFSM_OK);
    sfsm_opp_free(o);
    char *before = opp_stored(t.e, "b");
    size_t count = 5;
    assert_int_equal(import_str(t.e, base, &count), SFSM_EEXISTS);
    assert_int_equal(count, 0);
    assert_msg_has("opportunities[1].id: ");
    assert_msg_has("'b'");
    assert_int_equal(count_opps(t.e, NULL), 1);   /* "a", written before "b" failed, is gone */
    assert_int_equal(sfsm_opp_open(t.e, "a", &o), SFSM_ENOTFOUND);
    assert_same_and_free(opp_stored(t.e, "b"), before);
    free(before);

    /* importing a document twice: the second time changes nothing */
    target u;
    target_open(&u, f);
    assert_int_equal(import_str(u.e, base, NULL), SFSM_OK);
    char *once = export_doc(u.e, NULL);
    assert_int_equal(import_str(u.e, base, NULL), SFSM_EEXISTS);
    assert_msg_has("opportunities[0].id: ");
    char *twice = export_doc(u.e, NULL);
    assert_string_equal(once, twice);
    sfsm_free(once);
    sfsm_free(twice);
    target_close(&u);

    sfsm_free(base);
    target_close(&t);
}

/* ---- how import meets the engine ---- */

static void count_notify(const sfsm_transition *t, void *ud)
{
    (void)t;
    (*(int *)ud)++;
}

static void import_in_batch_no_hooks(void **state)
{
    fixture *f = *state;
    char *base = base_doc(f);
    target t;
    target_open(&t, f);
    int calls = 0;
    assert_int_equal(sfsm_engine_on_after(t.e, NULL, count_notify, &calls), SFSM_OK);
    assert_int_equal(sfsm_engine_on_enter(t.e, NULL, count_notify, &calls), SFSM_OK);

    /* inside a batch: rolled back with it */
    assert_int_equal(sfsm_engine_begin(t.e), SFSM_OK);
    assert_int_equal(import_str(t.e, base, NULL), SFSM_OK);
    assert_int_equal(sfsm_engine_rollback(t.e), SFSM_OK);
    assert_int_equal(count_opps(t.e, NULL), 0);

    /* a failed import inside a batch leaves the batch's own work alone */
    assert_int_equal(sfsm_engine_begin(t.e), SFSM_OK);
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(t.e, "mine", &o), SFSM_OK);
    sfsm_opp_free(o);
    char *bad = replace(base, "\"id\": \"b\"", "\"id\": \"mine\"");
    assert_int_equal(import_str(t.e, bad, NULL), SFSM_EEXISTS);
    assert_int_equal(import_str(t.e, base, NULL), SFSM_OK);
    assert_int_equal(sfsm_engine_commit(t.e), SFSM_OK);
    assert_int_equal(count_opps(t.e, NULL), 3);
    assert_int_equal(calls, 0);
    free(bad);

    /* json need not be NUL-terminated; a counted terminating NUL is fine */
    target u;
    target_open(&u, f);
    size_t len = strlen(base);
    char *buf = malloc(len + 8);
    assert_non_null(buf);
    memcpy(buf, base, len);
    memcpy(buf + len, "garbage!", 8);
    size_t count = 0;
    assert_int_equal(sfsm_import_json(u.e, buf, len, &count), SFSM_OK);
    assert_int_equal(count, 2);
    free(buf);
    target_close(&u);
    target_open(&u, f);
    assert_int_equal(sfsm_import_json(u.e, base, len + 1, &count), SFSM_OK);
    assert_int_equal(count, 2);
    target_close(&u);

    sfsm_free(base);
    target_close(&t);
}

static void arguments(void **state)
{
    fixture *f = *state;
    char *out = (char *)1;
    size_t len = 9;
    assert_int_equal(sfsm_export_json_string(NULL, NULL, &out, &len), SFSM_EINVAL);
    assert_null(out);
    assert_int_equal(len, 0);
    assert_int_equal(sfsm_export_json_string(f->engine, NULL, NULL, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_export_json(f->engine, NULL, NULL, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_import_json(NULL, "{}", 2, NULL), SFSM_EINVAL);
    assert_int_equal(sfsm_import_json(f->engine, NULL, 0, NULL), SFSM_EINVAL);
    sfsm_filter flt = SFSM_FILTER_INIT;
    flt.version = 99;
    assert_int_equal(sfsm_export_json_string(f->engine, &flt, &out, NULL), SFSM_EVERSION);
    assert_null(out);
    flt.version = SFSM_FILTER_VERSION;
    flt.stage = "quoteed";
    assert_int_equal(sfsm_export_json_string(f->engine, &flt, &out, NULL), SFSM_ENOTFOUND);
    assert_msg_has("quoteed");
}

/* ---- export ---- */

static int import_cb(const sfsm_opp *o, void *ud)
{
    (void)ud;
    assert_string_equal(sfsm_opp_stage(o), "lost");
    return 0;
}

static void export_filtered(void **state)
{
    fixture *f = *state;
    build_rich(f);
    sfsm_filter flt = SFSM_FILTER_INIT;
    flt.stage = "lost";
    char *a = export_doc(f->engine, &flt);
    target t;
    target_open(&t, f);
    size_t count = 0;
    assert_int_equal(import_str(t.e, a, &count), SFSM_OK);
    assert_int_equal(count, 2);
    assert_int_equal(count, count_opps(f->engine, &flt));
    assert_int_equal(sfsm_scan(t.e, NULL, import_cb, NULL), SFSM_OK);
    /* creation order: lost-then-reopened before lost */
    assert_true(strstr(a, "\"id\": \"lost-then-reopened\"") < strstr(a, "\"id\": \"lost\""));
    sfsm_free(a);

    sfsm_filter own = SFSM_FILTER_INIT;
    own.owner = "ravi";
    a = export_doc(f->engine, &own);
    assert_non_null(strstr(a, "\"id\": \"deal-华东-1\""));
    assert_null(strstr(a, "\"id\": \"plain\""));
    sfsm_free(a);

    /* inside a batch: the batch's own uncommitted work is exported too */
    assert_int_equal(sfsm_engine_begin(f->engine), SFSM_OK);
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(f->engine, "in-batch", &o), SFSM_OK);
    sfsm_opp_free(o);
    a = export_doc(f->engine, NULL);
    assert_non_null(strstr(a, "\"id\": \"in-batch\""));
    sfsm_free(a);
    assert_int_equal(sfsm_engine_rollback(f->engine), SFSM_OK);

    sfsm_filter none = SFSM_FILTER_INIT;
    none.customer = "nobody";
    a = export_doc(f->engine, &none);
    assert_non_null(strstr(a, "\"opportunities\": []"));
    sfsm_free(a);
    target_close(&t);
}

typedef struct writer {
    int calls;
    int stop_at;   /* 1-based call that returns stop_value */
    int stop_value;
    size_t bytes;
} writer;

static int write_cb(const char *buf, size_t n, void *ud)
{
    writer *w = ud;
    assert_non_null(buf);
    w->calls++;
    w->bytes += n;
    return w->calls == w->stop_at ? w->stop_value : 0;
}

static void export_write_callback(void **state)
{
    fixture *f = *state;
    size_t n = build_rich(f);
    char *doc = export_doc(f->engine, NULL);

    /* streamed: the header, one piece per opportunity, the footer */
    writer w = { 0, 0, 0, 0 };
    assert_int_equal(sfsm_export_json(f->engine, NULL, write_cb, &w), SFSM_OK);
    assert_int_equal(w.calls, (int)n + 2);
    assert_int_equal(w.bytes, strlen(doc));

    for (int stop = 1; stop <= (int)n + 2; stop++) {
        writer s = { 0, stop, 40 + stop, 0 };
        assert_int_equal(sfsm_export_json(f->engine, NULL, write_cb, &s), 40 + stop);
        assert_int_equal(s.calls, stop);
    }
    writer neg = { 0, 2, SFSM_ESTORAGE, 0 };
    assert_int_equal(sfsm_export_json(f->engine, NULL, write_cb, &neg), SFSM_ESTORAGE);
    sfsm_free(doc);
}

/* Export and import from inside a scan callback are refused rather than
 * re-entering the store. */
static int export_inside_scan_real(const sfsm_opp *o, void *ud)
{
    (void)o;
    void **args = ud;
    char *out = NULL;
    *(int *)args[1] = sfsm_export_json_string(args[0], NULL, &out, NULL);
    sfsm_free(out);
    *(int *)args[2] = import_str(args[0], "{\"format\":\"salesfsm-opportunities\",\"version\":1,\"opportunities\":[]}", NULL);
    return 1;
}

static void reentry_refused(void **state)
{
    fixture *f = *state;
    sfsm_free(base_doc(f));
    int rc_export = 0, rc_import = 0;
    void *args[3] = { f->engine, &rc_export, &rc_import };
    assert_int_equal(sfsm_scan(f->engine, NULL, export_inside_scan_real, args), 1);
    assert_int_equal(rc_export, SFSM_EBUSY);
    assert_int_equal(rc_import, SFSM_EBUSY);
}

/* ---- a user backend that hands back odd text ---- */

#define RAW_RECS 8
#define RAW_HIST 64

typedef struct raw_rec {
    char *id, *stage, *currency, *customer, *owner, *title, *pipeline;
    uint64_t version;
    int64_t amount, close, created, updated, entered;
    uint32_t pipeline_version;
    sfsm_attr attrs[SFSM_MAX_ATTRS + 1];
    size_t attr_count;
} raw_rec;

typedef struct raw_hist {
    char *id, *event, *from, *to, *actor, *role, *note, *changes;
    uint64_t version;
    int64_t at;
    int kind;
    uint32_t fields;
} raw_hist;

typedef struct rawstore {
    raw_rec rec[RAW_RECS];
    size_t nrec;
    raw_hist hist[RAW_HIST];
    size_t nhist;
    size_t marks[8][2];
    size_t depth;
} rawstore;

static char *dup0(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void rec_clear(raw_rec *r)
{
    free(r->id);
    free(r->stage);
    free(r->currency);
    free(r->customer);
    free(r->owner);
    free(r->title);
    free(r->pipeline);
    for (size_t k = 0; k < r->attr_count; k++) {
        free((char *)r->attrs[k].key);
        free((char *)r->attrs[k].value);
    }
    memset(r, 0, sizeof *r);
}

static void hist_clear(raw_hist *h)
{
    free(h->id);
    free(h->event);
    free(h->from);
    free(h->to);
    free(h->actor);
    free(h->role);
    free(h->note);
    free(h->changes);
    memset(h, 0, sizeof *h);
}

static int raw_begin(void *b)
{
    rawstore *s = b;
    assert_true(s->depth < 8);
    s->marks[s->depth][0] = s->nrec;
    s->marks[s->depth][1] = s->nhist;
    s->depth++;
    return SFSM_OK;
}

static int raw_commit(void *b)
{
    ((rawstore *)b)->depth--;
    return SFSM_OK;
}

/* Undoes inserts and appends (all that the import does). */
static int raw_rollback(void *b)
{
    rawstore *s = b;
    s->depth--;
    while (s->nrec > s->marks[s->depth][0])
        rec_clear(&s->rec[--s->nrec]);
    while (s->nhist > s->marks[s->depth][1])
        hist_clear(&s->hist[--s->nhist]);
    return SFSM_OK;
}

static void raw_fill(const raw_rec *r, sfsm_record *out)
{
    *out = (sfsm_record){ r->id, r->stage, r->version, r->amount, r->currency, r->customer, r->owner, r->title,
                          r->close, r->created, r->updated, r->entered, r->attrs, r->attr_count, r->pipeline,
                          r->pipeline_version };
}

static raw_rec *raw_find(rawstore *s, const char *id)
{
    for (size_t k = 0; k < s->nrec; k++)
        if (strcmp(s->rec[k].id, id) == 0)
            return &s->rec[k];
    return NULL;
}

static int raw_get(void *b, const char *id, sfsm_record *out)
{
    raw_rec *r = raw_find(b, id);
    if (!r)
        return sfsm_error_set(SFSM_ENOTFOUND, "raw: '%s' not found", id);
    raw_fill(r, out);
    return SFSM_OK;
}

static int raw_put(void *b, const sfsm_record *in, uint64_t expected, uint32_t changed)
{
    rawstore *s = b;
    (void)changed;
    raw_rec *r = raw_find(s, in->id);
    if (expected == 0) {
        if (r)
            return sfsm_error_set(SFSM_EEXISTS, "raw: '%s' exists", in->id);
        assert_true(s->nrec < RAW_RECS);
        r = &s->rec[s->nrec++];
    } else {
        if (!r)
            return sfsm_error_set(SFSM_ENOTFOUND, "raw: '%s' not found", in->id);
        if (r->version != expected)
            return sfsm_error_set(SFSM_ECONFLICT, "raw: version");
        rec_clear(r);
    }
    assert_true(in->attr_count <= SFSM_MAX_ATTRS + 1);
    r->id = dup0(in->id);
    r->stage = dup0(in->stage);
    r->currency = dup0(in->currency);
    r->customer = dup0(in->customer);
    r->owner = dup0(in->owner);
    r->title = dup0(in->title);
    r->pipeline = dup0(in->pipeline);
    r->version = in->version;
    r->amount = in->amount;
    r->close = in->expected_close_ms;
    r->created = in->created_ms;
    r->updated = in->updated_ms;
    r->entered = in->stage_entered_ms;
    r->pipeline_version = in->pipeline_version;
    /* reversed: the export must not depend on the backend's order */
    for (size_t k = 0; k < in->attr_count; k++) {
        r->attrs[in->attr_count - 1 - k].key = dup0(in->attrs[k].key);
        r->attrs[in->attr_count - 1 - k].value = dup0(in->attrs[k].value);
    }
    r->attr_count = in->attr_count;
    return SFSM_OK;
}

static int raw_append(void *b, const char *id, const sfsm_history_entry *e)
{
    rawstore *s = b;
    assert_true(s->nhist < RAW_HIST);
    raw_hist *h = &s->hist[s->nhist++];
    *h = (raw_hist){ dup0(id), dup0(e->event), dup0(e->from), dup0(e->to), dup0(e->actor), dup0(e->role),
                     dup0(e->note), dup0(e->changes), e->version, e->at_ms, e->kind, e->fields };
    return SFSM_OK;
}

static int raw_read_history(void *b, const char *id, sfsm_history_cb cb, void *ud)
{
    rawstore *s = b;
    if (!raw_find(s, id))
        return sfsm_error_set(SFSM_ENOTFOUND, "raw: '%s' not found", id);
    for (size_t k = 0; k < s->nhist; k++) {
        raw_hist *h = &s->hist[k];
        if (strcmp(h->id, id) != 0)
            continue;
        sfsm_history_entry e = { h->version, h->at, h->kind, h->event, h->from, h->to, h->actor, h->role,
                                 h->note, h->fields, h->changes };
        int rc = cb(&e, ud);
        if (rc)
            return rc;
    }
    return SFSM_OK;
}

static int raw_scan(void *b, const sfsm_filter *f, sfsm_record_cb cb, void *ud)
{
    rawstore *s = b;
    for (size_t k = 0; k < s->nrec; k++) {
        raw_rec *r = &s->rec[k];
        if (f->stage && strcmp(f->stage, r->stage) != 0)
            continue;
        sfsm_record out;
        raw_fill(r, &out);
        int rc = cb(&out, ud);
        if (rc)
            return rc;
    }
    return SFSM_OK;
}

static void raw_close(void *b)
{
    rawstore *s = b;
    for (size_t k = 0; k < s->nrec; k++)
        rec_clear(&s->rec[k]);
    for (size_t k = 0; k < s->nhist; k++)
        hist_clear(&s->hist[k]);
    free(s);
}

static const sfsm_store_ops raw_ops = {
    1, raw_close, raw_begin, raw_commit, raw_rollback, raw_get, raw_put, raw_append,
    raw_read_history, raw_scan, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
};

static rawstore *raw_open(fixture *f, target *t)
{
    memset(t, 0, sizeof *t);
    rawstore *s = calloc(1, sizeof *s);
    assert_non_null(s);
    assert_int_equal(sfsm_store_new(&t->s, &raw_ops, s), SFSM_OK);
    target_attach(t, f);
    return s;
}

static raw_hist *raw_entry(rawstore *s, const char *id, uint64_t version)
{
    for (size_t k = 0; k < s->nhist; k++)
        if (strcmp(s->hist[k].id, id) == 0 && s->hist[k].version == version)
            return &s->hist[k];
    fail_msg("no entry %s v%llu", id, (unsigned long long)version);
    return NULL;
}

static void set_text(char **field, const char *value)
{
    free(*field);
    *field = dup0(value);
}

static void user_backend(void **state)
{
    fixture *f = *state;
    char *base = base_doc(f);
    target t;
    rawstore *raw = raw_open(f, &t);
    assert_int_equal(import_str(t.e, base, NULL), SFSM_OK);
    char *a = export_doc(t.e, NULL);
    assert_string_equal(a, base);   /* attributes re-sorted */
    sfsm_free(a);

    /* stored changes with other spacing and escapes print canonically */
    raw_hist *h = raw_entry(raw, "a", 1);
    char *orig = strdup(h->changes);
    set_text(&h->changes, " {\r\n\t\"amount\" : 1.2E+6 ,\"currency\":\"\\u0043NY\",\"customer\":\"Acme\\u0020Ltd\\ud83d\\ude80\\/\","
                          "\"owner\":\"\\u0072avi\" }  ");
    a = export_doc(t.e, NULL);
    assert_non_null(strstr(a, "\"changes\": {\"amount\":1200000,\"currency\":\"CNY\",\"customer\":\"Acme Ltd🚀/\","
                              "\"owner\":\"ravi\"}"));
    sfsm_free(a);
    /* well-formed JSON the import refuses (a member no field has, a number no double holds) */
    static const char *const unimportable[] = {
        "{\"amount\":1200000,\"currency\":\"CNY\",\"customer\":\"Acme Ltd\",\"owner\":\"ravi\",\"x\":[true,-0]}",
        "{\"amount\":1e400,\"currency\":\"CNY\",\"customer\":\"Acme Ltd\",\"owner\":\"ravi\"}",
    };
    for (size_t k = 0; k < 2; k++) {
        set_text(&h->changes, unimportable[k]);
        assert_int_equal(sfsm_export_json_string(t.e, NULL, &a, NULL), SFSM_ESTORAGE);
        assert_msg_has("opportunity 'a'");
        assert_msg_has("opportunities[0].history[0].changes");
    }
    set_text(&h->changes, orig);
    free(orig);

    /* entries committed after the record was read are left out */
    raw_hist *last = raw_entry(raw, "a", 3);
    raw_append(raw, "a", &(sfsm_history_entry){ 4, last->at + 1, SFSM_HISTORY_UPDATE, NULL, "quoted", "quoted",
                                                NULL, NULL, "later", 0, NULL });
    a = export_doc(t.e, NULL);
    assert_string_equal(a, base);
    sfsm_free(a);
    hist_clear(&raw->hist[--raw->nhist]);

    /* what a document cannot carry fails the export, naming where */
    static const char *const bad_changes[] = { "not json", "[1]", "{\"a\":1", "{\"a\":\"\\u0000\"}", "{} x",
                                               "{\"a\":\"\\ud800\"}", "{\"a\":01}" };
    h = raw_entry(raw, "b", 2);
    for (size_t k = 0; k < sizeof bad_changes / sizeof bad_changes[0]; k++) {
        set_text(&h->changes, bad_changes[k]);
        char *out = (char *)1;
        assert_int_equal(sfsm_export_json_string(t.e, NULL, &out, NULL), SFSM_ESTORAGE);
        assert_null(out);
        assert_msg_has("opportunity 'b', history version 2: stored changes");
    }
    set_text(&h->changes, NULL);
    h->kind = 9;
    assert_int_equal(sfsm_export_json_string(t.e, NULL, &a, NULL), SFSM_ESTORAGE);
    assert_msg_has("unknown kind 9");
    h->kind = SFSM_HISTORY_TRANSITION;
    h->fields = 0x40;
    assert_int_equal(sfsm_export_json_string(t.e, NULL, &a, NULL), SFSM_ESTORAGE);
    assert_msg_has("unknown field bits 0x40");
    h->fields = 0;
    set_text(&h->note, "bad \xc3\x28 text");
    assert_int_equal(sfsm_export_json_string(t.e, NULL, &a, NULL), SFSM_ESTORAGE);
    assert_msg_has("opportunity 'b', history version 2: stored note is not valid UTF-8");
    set_text(&h->note, NULL);
    raw_rec *ra = raw_find(raw, "a");
    assert_int_equal(ra->attr_count, 1);
    char *value = (char *)ra->attrs[0].value;
    ra->attrs[0].value = NULL;
    assert_int_equal(sfsm_export_json_string(t.e, NULL, &a, NULL), SFSM_ESTORAGE);
    assert_msg_has("opportunity 'a': stored attribute 0 has no value");
    ra->attrs[0].value = value;
    set_text(&ra->customer, "\xff");
    assert_int_equal(sfsm_export_json_string(t.e, NULL, &a, NULL), SFSM_ESTORAGE);
    assert_msg_has("opportunity 'a': stored customer is not valid UTF-8");

    /* the import into a user backend rolls back there too */
    target u;
    rawstore *raw2 = raw_open(f, &u);
    char *bad = replace(base, "\"to\": \"lost\"", "\"to\": \"won\"");
    assert_int_equal(import_str(u.e, bad, NULL), SFSM_EINVAL);
    assert_int_equal(raw2->nrec, 0);
    free(bad);
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_create(u.e, "b", &o), SFSM_OK);
    sfsm_opp_free(o);
    assert_int_equal(import_str(u.e, base, NULL), SFSM_EEXISTS);
    assert_int_equal(raw2->nrec, 1);
    assert_int_equal(raw2->nhist, 1);
    target_close(&u);

    sfsm_free(base);
    target_close(&t);
}

/* ---- the document's pipeline (issue 10, defect 2) ---- */

/* doc with every `from` replaced by `to`. */
static char *replace_all(const char *doc, const char *from, const char *to)
{
    char *out = strdup(doc);
    assert_non_null(out);
    size_t fl = strlen(from), tl = strlen(to);
    for (char *at = strstr(out, from); at; at = strstr(out + (size_t)(at - out) + tl, from)) {
        size_t off = (size_t)(at - out);   /* searched on after the replacement: `to` may hold `from` */
        char *moved = malloc(strlen(out) - fl + tl + 1);
        assert_non_null(moved);
        memcpy(moved, out, off);
        memcpy(moved + off, to, tl);
        strcpy(moved + off + tl, out + off + fl);
        free(out);
        out = moved;
        at = out + off;
    }
    return out;
}

/* The default pipeline under another version (the stages stay). */
static sfsm_pipeline *default_at_version(unsigned version)
{
    sfsm_pipeline *p = NULL;
    char *json = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    assert_int_equal(sfsm_pipeline_to_json(p, &json, NULL), SFSM_OK);
    sfsm_pipeline_free(p);
    char to[32];
    snprintf(to, sizeof to, "\"version\": %u,", version);
    char *changed = replace(json, "\"version\": 1,", to);
    sfsm_free(json);
    p = NULL;
    if (sfsm_pipeline_from_json(&p, changed, strlen(changed)) != SFSM_OK)
        fail_msg("pipeline version %u: %s", version, sfsm_errmsg());
    free(changed);
    return p;
}

/* Another pipeline's document (or the engine's at a later version) is
 * refused naming the path and both names, and changes nothing; null, and
 * the engine's pipeline at its version or an earlier one, import. */
static void pipeline_of_the_document(void **state)
{
    fixture *f = *state;
    char *base = base_doc(f);
    target t;
    target_open(&t, f);
    sfsm_opp *z = NULL;
    assert_int_equal(sfsm_opp_create(t.e, "z", &z), SFSM_OK);
    sfsm_opp_free(z);
    char *stored = opp_stored(t.e, "z");

    /* another pipeline whose stages this engine does not have: the pipeline is named, not a stage */
    char *foreign = replace_all(base, "\"pipeline\": \"default\"", "\"pipeline\": \"renewals\"");
    char *foreign_stages = replace_all(foreign, "\"qualified\"", "\"vetted\"");
    const char *const refused[] = { foreign, foreign_stages };
    for (size_t k = 0; k < 2; k++) {
        size_t count = 9;
        assert_int_equal(import_str(t.e, refused[k], &count), SFSM_EINVAL);
        assert_msg_has("opportunities[0].pipeline: pipeline 'renewals', but this engine's pipeline is 'default'");
        assert_int_equal(count, 0);
        assert_int_equal(count_opps(t.e, NULL), 1);
        assert_same_and_free(opp_stored(t.e, "z"), stored);
    }
    free(foreign_stages);

    /* a later version of the engine's pipeline */
    char *later = replace_nth(base, "\"pipeline_version\": 1,", "\"pipeline_version\": 3,", 1);
    assert_int_equal(import_str(t.e, later, NULL), SFSM_EINVAL);
    assert_msg_has("opportunities[1].pipeline_version: pipeline 'default' version 3, but this engine has 'default' "
                   "version 1");
    assert_int_equal(count_opps(t.e, NULL), 1);
    assert_same_and_free(opp_stored(t.e, "z"), stored);

    /* null: every engine's; imported as today */
    char *null_name = replace_all(base, "\"pipeline\": \"default\"", "\"pipeline\": null");
    size_t count = 0;
    assert_int_equal(import_str(t.e, null_name, &count), SFSM_OK);
    assert_int_equal(count, 2);
    assert_int_equal(count_opps(t.e, NULL), 3);
    target_close(&t);

    /* an engine at version 3 takes versions 3, 1 and 0 (sfsm_engine_migrate moves them on), not 4 */
    sfsm_pipeline *p3 = default_at_version(3);
    static const char *const accepted[] = { "\"pipeline_version\": 3,", "\"pipeline_version\": 1,",
                                            "\"pipeline_version\": 0," };
    for (size_t k = 0; k < 4; k++) {
        memset(&t, 0, sizeof t);
        test_store_open(&t.s, t.path);
        assert_int_equal(sfsm_engine_new(&t.e, p3, t.s), SFSM_OK);
        char *doc = replace_all(base, "\"pipeline_version\": 1,", k < 3 ? accepted[k] : "\"pipeline_version\": 4,");
        int rc = import_str(t.e, doc, &count);
        if (k < 3) {
            if (rc != SFSM_OK)
                fail_msg("%s: %d %s", accepted[k], rc, sfsm_errmsg());
            assert_int_equal(count, 2);
        } else {
            assert_int_equal(rc, SFSM_EINVAL);
            assert_msg_has("opportunities[0].pipeline_version: pipeline 'default' version 4, but this engine has "
                           "'default' version 3");
            assert_int_equal(count_opps(t.e, NULL), 0);
        }
        free(doc);
        target_close(&t);
    }
    sfsm_pipeline_free(p3);

    /* that version 1 document, imported at version 3, exports from there */
    free(stored);
    free(later);
    free(null_name);
    free(foreign);
    sfsm_free(base);
}

/* ---- a store holding what the import refuses (issue 10, defect 5) ---- */

static void set_long(char **field, char c, size_t n)
{
    free(*field);
    *field = malloc(n + 1);
    assert_non_null(*field);
    memset(*field, c, n);
    (*field)[n] = '\0';
}

/* Each plants one fault into opportunity b of the base document (b: lead →
 * qualified → lost, version 3) and returns the id the export must name. */
typedef const char *(*plant_fn)(rawstore *s);

static const char *gap_in_versions(rawstore *s)
{
    raw_entry(s, "b", 3)->version = 4;
    raw_find(s, "b")->version = 4;
    return "b";
}
static const char *stage_not_last_to(rawstore *s)
{
    set_text(&raw_find(s, "b")->stage, "qualified");
    return "b";
}
static const char *version_max(rawstore *s)
{
    raw_find(s, "b")->version = UINT64_MAX;
    return "b";
}
static const char *version_2_53(rawstore *s)
{
    raw_find(s, "b")->version = (uint64_t)SAFE_MAX + 1;
    return "b";
}
static const char *negative_amount(rawstore *s)
{
    raw_find(s, "b")->amount = -5;
    return "b";
}
static const char *amount_2_53(rawstore *s)
{
    raw_find(s, "b")->amount = SAFE_MAX + 1;
    return "b";
}
static const char *bad_currency(rawstore *s)
{
    set_text(&raw_find(s, "b")->currency, "usd");
    return "b";
}
static const char *empty_customer(rawstore *s)
{
    set_text(&raw_find(s, "b")->customer, "");
    return "b";
}
static const char *oversize_id(rawstore *s)
{
    static char id[SFSM_MAX_ID + 2];
    memset(id, 'i', SFSM_MAX_ID + 1);
    id[SFSM_MAX_ID + 1] = '\0';
    set_text(&raw_find(s, "b")->id, id);
    for (size_t k = 0; k < s->nhist; k++)
        if (strcmp(s->hist[k].id, "b") == 0)
            set_text(&s->hist[k].id, id);
    return id;
}
static const char *oversize_title(rawstore *s)
{
    set_long(&raw_find(s, "b")->title, 't', SFSM_MAX_TEXT + 1);
    return "b";
}
static const char *oversize_note(rawstore *s)
{
    set_long(&raw_entry(s, "b", 3)->note, 'n', SFSM_MAX_TEXT + 1);
    return "b";
}
static const char *too_many_attrs(rawstore *s)
{
    raw_rec *r = raw_find(s, "b");
    for (size_t k = r->attr_count; k < SFSM_MAX_ATTRS + 1; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%03zu", k);
        r->attrs[k].key = dup0(key);
        r->attrs[k].value = dup0("v");
    }
    r->attr_count = SFSM_MAX_ATTRS + 1;
    return "b";
}
static const char *later_pipeline_version(rawstore *s)
{
    raw_find(s, "b")->pipeline_version = 2;
    return "b";
}
static const char *unknown_event(rawstore *s)
{
    set_text(&raw_entry(s, "b", 2)->event, "vet");
    return "b";
}
static const char *listed_twice(rawstore *s)
{
    raw_rec *b = raw_find(s, "b"), *c = &s->rec[s->nrec++];
    *c = *b;
    c->id = dup0(b->id);
    c->stage = dup0(b->stage);
    c->currency = dup0(b->currency);
    c->customer = dup0(b->customer);
    c->owner = dup0(b->owner);
    c->title = dup0(b->title);
    c->pipeline = dup0(b->pipeline);
    for (size_t k = 0; k < b->attr_count; k++) {
        c->attrs[k].key = dup0(b->attrs[k].key);
        c->attrs[k].value = dup0(b->attrs[k].value);
    }
    return "b";
}

/* What a write callback received. */
typedef struct captured {
    char *data;
    size_t len;
    int pieces;
} captured;

static int capture(const char *buf, size_t n, void *ud)
{
    captured *c = ud;
    char *more = realloc(c->data, c->len + n + 1);
    assert_non_null(more);
    memcpy(more + c->len, buf, n);
    c->len += n;
    more[c->len] = '\0';
    c->data = more;
    c->pieces++;
    return 0;
}

/* Whatever a store holds, the export never produces a document the import
 * refuses: it fails with SFSM_ESTORAGE naming the opportunity. The writer
 * has then seen the header and the opportunities before it, never the bad
 * one or the end of the document; the return code is what tells. */
static void export_refuses_what_import_refuses(void **state)
{
    fixture *f = *state;
    char *base = base_doc(f);
    static const struct {
        plant_fn plant;
        const char *why;   /* in the message */
    } cases[] = {
        { gap_in_versions, "version" },
        { stage_not_last_to, "stage" },
        { version_max, "version" },
        { version_2_53, "version" },
        { negative_amount, "amount" },
        { amount_2_53, "amount" },
        { bad_currency, "currency" },
        { empty_customer, "customer" },
        { oversize_id, "id" },
        { oversize_title, "title" },
        { oversize_note, "note" },
        { too_many_attrs, "attr" },
        { later_pipeline_version, "pipeline_version" },
        { unknown_event, "event" },
        { listed_twice, "appears twice" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        target t;
        rawstore *raw = raw_open(f, &t);
        assert_int_equal(import_str(t.e, base, NULL), SFSM_OK);
        const char *id = cases[k].plant(raw);
        char named[SFSM_MAX_ID + 32];
        snprintf(named, sizeof named, "opportunity '%.64s", id);

        char *out = (char *)1;
        int rc = sfsm_export_json_string(t.e, NULL, &out, NULL);
        if (rc != SFSM_ESTORAGE || !strstr(sfsm_errmsg(), named) || !strstr(sfsm_errmsg(), cases[k].why))
            fail_msg("case %zu: got %d \"%s\", expected SFSM_ESTORAGE naming \"%s\" and \"%s\"", k, rc,
                     sfsm_errmsg(), named, cases[k].why);
        if (getenv("SFSM_TEST_VERBOSE"))
            print_message("case %zu: %s\n", k, sfsm_errmsg());
        assert_null(out);

        /* through a writer: a's text and nothing after it */
        captured c = { NULL, 0, 0 };
        assert_int_equal(sfsm_export_json(t.e, NULL, capture, &c), SFSM_ESTORAGE);
        int twice = cases[k].plant == listed_twice;   /* the first b is fine */
        assert_int_equal(c.pieces, 2 + twice);          /* the header, then a */
        assert_non_null(strstr(c.data, "\"id\": \"a\""));
        if (!twice)
            assert_null(strstr(c.data, "\"id\": \"b\""));
        assert_null(strstr(c.data, "]\n}"));
        free(c.data);
        target_close(&t);
    }
    sfsm_free(base);
}

/* The same from a SQLite file altered behind the library's back. */
static void export_refuses_corrupt_sqlite(void **state)
{
    fixture *f = *state;
    char *base = base_doc(f);
    static const char *const alter[] = {
        "UPDATE opp SET amount = -5 WHERE id = 'b'",
        "UPDATE opp SET amount = 9007199254740992 WHERE id = 'b'",
        "UPDATE opp SET currency = 'usd' WHERE id = 'b'",
        "UPDATE opp SET customer = '' WHERE id = 'b'",
        "UPDATE opp SET stage = 'qualified' WHERE id = 'b'",
        "UPDATE opp SET version = 9007199254740992 WHERE id = 'b'",
        "UPDATE opp SET pipeline_version = 2 WHERE id = 'b'",
        "UPDATE history SET version = 4 WHERE opp_id = 'b' AND version = 3",
        "WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k < 256) "
        "INSERT INTO opp_attr SELECT 'b', printf('k%03d', k), 'v' FROM n",
    };
    for (size_t k = 0; k < sizeof alter / sizeof alter[0]; k++) {
        target t;
        target_open_sqlite(&t, f);
        assert_int_equal(import_str(t.e, base, NULL), SFSM_OK);
        sfsm_engine_free(t.e);
        sfsm_store_close(t.s);
        sqlite3 *db = NULL;
        char *err = NULL;
        assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
        if (sqlite3_exec(db, alter[k], NULL, NULL, &err) != SQLITE_OK)
            fail_msg("%s: %s", alter[k], err);
        sqlite3_close(db);
        sfsm_sqlite_options opts = SFSM_SQLITE_OPTIONS_INIT;
        assert_int_equal(sfsm_store_open_sqlite(&t.s, t.path, &opts), SFSM_OK);
        target_attach(&t, f);
        char *out = (char *)1;
        int rc = sfsm_export_json_string(t.e, NULL, &out, NULL);
        if (rc != SFSM_ESTORAGE || !strstr(sfsm_errmsg(), "opportunity 'b'"))
            fail_msg("%s: got %d \"%s\"", alter[k], rc, sfsm_errmsg());
        if (getenv("SFSM_TEST_VERBOSE"))
            print_message("%s: %s\n", alter[k], sfsm_errmsg());
        assert_null(out);
        target_close(&t);
    }
    sfsm_free(base);
}

/* Names the import looks up: those of the entries from the last migrate
 * entry on (its own `from` excepted); earlier entries were written under an
 * earlier pipeline and may carry names it no longer has. The export checks
 * the same ones, itself, since it no longer runs the import on its text. */
static void export_checks_names_since_migration(void **state)
{
    fixture *f = *state;
    char *base = base_doc(f);
    target t;
    rawstore *raw = raw_open(f, &t);
    assert_int_equal(import_str(t.e, base, NULL), SFSM_OK);
    /* b: lead -> qualified -> lost, then a migrate entry (version 4) */
    raw_hist *lost = raw_entry(raw, "b", 3);
    raw_append(raw, "b", &(sfsm_history_entry){ 4, lost->at + 1, SFSM_HISTORY_MIGRATE, NULL, "lost", "lost", NULL,
                                                NULL, NULL, 0, NULL });
    raw_find(raw, "b")->version = 4;
    char *a = export_doc(t.e, NULL);
    sfsm_free(a);

    /* before the migrate entry: names of an earlier pipeline export */
    set_text(&raw_entry(raw, "b", 2)->event, "vet");
    set_text(&raw_entry(raw, "b", 2)->role, "clerk");
    set_text(&raw_entry(raw, "b", 3)->from, "vetted");
    set_text(&raw_entry(raw, "b", 2)->to, "vetted");
    set_text(&raw_entry(raw, "b", 4)->from, "gone");   /* the migrate entry's own from: an old stage */
    set_text(&raw_entry(raw, "b", 3)->to, "gone");
    a = export_doc(t.e, NULL);
    assert_non_null(strstr(a, "\"event\": \"vet\""));
    target u;
    target_open_memory(&u, f);
    assert_int_equal(import_str(u.e, a, NULL), SFSM_OK);   /* and the import takes them */
    target_close(&u);
    sfsm_free(a);

    /* from the migrate entry on they must be the pipeline's: entry 5, an
     * update, follows it; each case plants one unknown name */
    raw_append(raw, "b", &(sfsm_history_entry){ 5, lost->at + 2, SFSM_HISTORY_UPDATE, NULL, "lost", "lost", "Mei",
                                                "manager", NULL, 0, NULL });
    raw_find(raw, "b")->version = 5;
    a = export_doc(t.e, NULL);
    sfsm_free(a);
    for (int k = 0; k < 4; k++) {
        raw_hist *m = raw_entry(raw, "b", 4), *h = raw_entry(raw, "b", 5);
        const char *path = NULL;
        switch (k) {
        case 0:   /* the migrate entry's to (the next entry starts there) */
            set_text(&m->to, "vet");
            set_text(&h->from, "vet");
            h->kind = SFSM_HISTORY_TRANSITION;
            set_text(&h->event, "qualify");
            path = "opportunities[1].history[3].to: unknown stage 'vet'";
            break;
        case 1:
            set_text(&m->actor, "Mei");
            set_text(&m->role, "vet");
            path = "opportunities[1].history[3].role: unknown role 'vet'";
            break;
        case 2:
            h->kind = SFSM_HISTORY_TRANSITION;
            set_text(&h->event, "vet");
            path = "opportunities[1].history[4].event: unknown event 'vet'";
            break;
        default:
            set_text(&h->role, "vet");
            path = "opportunities[1].history[4].role: unknown role 'vet'";
            break;
        }
        char *out = (char *)1;
        assert_int_equal(sfsm_export_json_string(t.e, NULL, &out, NULL), SFSM_ESTORAGE);
        assert_null(out);
        assert_msg_has("opportunity 'b'");
        assert_msg_has(path);
        /* back to the good entries */
        set_text(&m->to, "lost");
        set_text(&m->actor, NULL);
        set_text(&m->role, NULL);
        h->kind = SFSM_HISTORY_UPDATE;
        set_text(&h->from, "lost");
        set_text(&h->event, NULL);
        set_text(&h->role, "manager");
    }
    a = export_doc(t.e, NULL);
    sfsm_free(a);
    target_close(&t);
    sfsm_free(base);
}

/* ---- allocation failures ---- */

static void out_of_memory(void **state)
{
    (void)state;
    failalloc_install();
    fixture *f = fixture_new();
    build_rich(f);
    char *want = export_doc(f->engine, NULL);
    int ok = 0;
    for (long n = 1; n < 100000 && !ok; n++) {
        char *doc = (char *)1;
        failalloc_arm(n);
        int rc = sfsm_export_json_string(f->engine, NULL, &doc, NULL);
        failalloc_arm(0);
        if (rc == SFSM_OK) {
            assert_string_equal(doc, want);
            sfsm_free(doc);
            ok = 1;
            if (getenv("SFSM_TEST_VERBOSE"))
                print_message("export succeeded at allocation %ld\n", n);
        } else {
            assert_int_equal(rc, SFSM_ENOMEM);
            assert_null(doc);
        }
    }
    assert_true(ok);

    target t;
    target_open(&t, f);
    ok = 0;
    for (long n = 1; n < 100000 && !ok; n++) {
        size_t count = 7;
        failalloc_arm(n);
        int rc = import_str(t.e, want, &count);
        failalloc_arm(0);
        if (rc == SFSM_OK) {
            ok = 1;
            if (getenv("SFSM_TEST_VERBOSE"))
                print_message("import succeeded at allocation %ld\n", n);
            char *got = export_doc(t.e, NULL);
            assert_string_equal(got, want);
            sfsm_free(got);
        } else {
            if (rc != SFSM_ENOMEM && rc != SFSM_ESTORAGE)
                fail_msg("allocation %ld: %d %s", n, rc, sfsm_errmsg());
            assert_int_equal(count, 0);
            assert_int_equal(count_opps(t.e, NULL), 0);
        }
    }
    assert_true(ok);
    target_close(&t);
    sfsm_free(want);
    fixture_free(f);
    failalloc_uninstall();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(roundtrip_rich, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(roundtrip_memory_sqlite_memory, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(empty_store, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(equivalent_spellings, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(amount_beyond_2_53, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(each_fault_imports_nothing, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(more_faults, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(existing_id_imports_nothing, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(import_in_batch_no_hooks, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(arguments, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(export_filtered, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(export_write_callback, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(reentry_refused, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(user_backend, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(pipeline_of_the_document, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(export_refuses_what_import_refuses, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(export_refuses_corrupt_sqlite, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(export_checks_names_since_migration, fixture_setup, fixture_teardown),
        cmocka_unit_test(out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
