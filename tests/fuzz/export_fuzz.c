/* libFuzzer target for the export's checks (tests/fuzz/run.sh builds and
 * runs it). The export no longer parses its own output: it checks the data
 * it reads with the load checks (lib/record_check.h) and a few rules of its
 * own, so that it never writes a document the import refuses. This target
 * tests that promise. Each input is read as a list of choices that build
 * records and histories in an in-memory backend of its own (choice 0, also
 * what an exhausted input gives, is always the well-formed one, so most
 * inputs are mostly valid and a few faults get through to the checks).
 * Invariants:
 *   - export fails: SFSM_ESTORAGE, with a message naming an opportunity;
 *   - export succeeds: the document imports into a fresh memory store
 *     (same pipeline) with one opportunity per exported one, and that store
 *     exports the same bytes.
 * Any input that breaks one is a rule of the import the export misses. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salesfsm/salesfsm.h>
#include <salesfsm/sys/store.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPPS 4
#define MAX_ENTRIES 8
#define MAX_ATTRS 4
#define MAX_STRS 512

/* ---- the input, as choices ---- */

typedef struct input {
    const uint8_t *p;
    size_t left;
} input;

static unsigned byte(input *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

/* 0..n-1; 0 when the input is used up. */
static unsigned pick(input *in, unsigned n)
{
    return byte(in) % n;
}

/* Mostly 0 (the good choice): a fault in one of eight. */
static unsigned rare(input *in, unsigned n)
{
    unsigned b = byte(in);
    return b < 224 ? 0 : 1 + (b - 224) % (n - 1);
}

/* ---- the backend's data ---- */

typedef struct hist {
    sfsm_history_entry e;
} hist;

typedef struct opp {
    sfsm_record r;
    sfsm_attr attrs[MAX_ATTRS];
    hist h[MAX_ENTRIES];
    size_t nh;
    int in_scan;   /* listed by scan (always) and found by get */
    int gettable;
} opp;

typedef struct world {
    opp o[MAX_OPPS + 1];
    size_t n;
    char *strs[MAX_STRS];
    size_t nstrs;
} world;

static void die(const char *what, int rc)
{
    fprintf(stderr, "export_fuzz: %s: %s (%s)\n", what, sfsm_strerror(rc), sfsm_errmsg());
    abort();
}

static const char *keep(world *w, const char *s, size_t n)
{
    if (w->nstrs == MAX_STRS)
        return "x";
    char *c = malloc(n + 1);
    if (!c)
        die("out of memory", SFSM_ENOMEM);
    memcpy(c, s, n);
    c[n] = '\0';
    w->strs[w->nstrs++] = c;
    return c;
}

/* Up to 40 raw bytes of the input, as text (NUL bytes end it). */
static const char *raw_text(world *w, input *in)
{
    size_t n = pick(in, 41);
    if (n > in->left)
        n = in->left;
    const char *s = keep(w, (const char *)in->p, n);
    in->p += n;
    in->left -= n;
    return s;
}

static const char *repeated(world *w, char c, size_t n)
{
    char buf[4200];
    memset(buf, c, n);
    return keep(w, buf, n);
}

/* ---- values ---- */

static const sfsm_pipeline *pl;

static const char *stage_name(input *in)
{
    return sfsm_pipeline_stage_name(pl, pick(in, (unsigned)sfsm_pipeline_stage_count(pl)));
}

/* A name: one of the pipeline's (table) mostly, or a fault. */
static const char *name(world *w, input *in, const char *good)
{
    switch (rare(in, 8)) {
    case 0: return good;
    case 1: return "vet";                  /* well formed, not the pipeline's */
    case 2: return NULL;
    case 3: return "";
    case 4: return repeated(w, 'n', 65);   /* longer than a name may be */
    case 5: return "\xc3\x28";
    case 6: return raw_text(w, in);
    default: return "stage\"\\\n";
    }
}

/* Free text: customer, owner, title, note, attribute values. */
static const char *text(world *w, input *in, int nullable)
{
    switch (pick(in, 12)) {
    case 0: return nullable ? NULL : "v";
    case 1: return "Acme Ltd";
    case 2: return "caf\xc3\xa9 \xf0\x9f\x9a\x80 \"q\" \\ /";
    case 3: return "tab\tnew\nline\x01\x1f\x7f";
    case 4: return "\xe2\x80\xa8";   /* U+2028 */
    case 5: return repeated(w, 't', 4096);
    case 6: return rare(in, 2) ? repeated(w, 't', 4097) : "x";
    case 7: return rare(in, 2) ? "" : "y";
    case 8: return rare(in, 2) ? "\xff" : "z";
    case 9: return rare(in, 2) ? "\xed\xa0\x80" : "w";   /* an encoded surrogate */
    default: return raw_text(w, in);
    }
}

static int64_t number(input *in, int64_t good)
{
    switch (rare(in, 7)) {
    case 0: return good;
    case 1: return -1;
    case 2: return INT64_C(9007199254740991);
    case 3: return INT64_C(9007199254740992);
    case 4: return INT64_MIN;
    case 5: return -INT64_C(9007199254740991);
    default: return INT64_MAX;
    }
}

/* A JSON string for s: escapes only what JSON requires (bytes that are not
 * UTF-8 go through raw), or \u escapes for ASCII letters when asked. */
static void json_string(char *out, size_t cap, size_t *len, const char *s, int escape_letters)
{
    size_t n = *len;
#define PUT(c)                \
    do {                      \
        if (n + 1 < cap)      \
            out[n++] = (c);   \
    } while (0)
    PUT('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || (escape_letters && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            for (int k = 0; esc[k]; k++)
                PUT(esc[k]);
        } else {
            if (*p == '"' || *p == '\\')
                PUT('\\');
            PUT((char)*p);
        }
    }
    PUT('"');
#undef PUT
    out[n] = '\0';
    *len = n;
}

static void append(char *out, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > cap)
        n = cap - *len - 1;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
}

/* A JSON number as text: integers mostly, also forms the import reads
 * through a double. */
static const char *json_number(input *in, char *buf, size_t cap)
{
    static const char *const odd[] = { "1.2E+6", "1e3", "100.0", "-0", "1.5", "1e400", "-1",
                                       "9007199254740991", "9007199254740992", "01", "1e-400", "-0.0",
                                       "0.0000000000000000000000000000000000000000000000000000000000001e61" };
    if (rare(in, 2))
        return odd[pick(in, sizeof odd / sizeof odd[0])];
    snprintf(buf, cap, "%u", pick(in, 256) * 1000u);
    return buf;
}

static const char *const member_names[] = { "amount", "currency", "customer", "owner",
                                            "title", "expected_close_ms", "attrs" };
static const unsigned member_bit[] = { SFSM_FIELD_AMOUNT, SFSM_FIELD_AMOUNT, SFSM_FIELD_CUSTOMER, SFSM_FIELD_OWNER,
                                       SFSM_FIELD_TITLE, SFSM_FIELD_EXPECTED_CLOSE, SFSM_FIELD_ATTRS };

/* The changes text for `fields`: the members of those fields in order,
 * with faults (a member missing, twice, unknown; other spacing, escapes). */
static const char *changes(world *w, input *in, unsigned fields)
{
    char out[9000];
    size_t len = 0;
    out[0] = '\0';
    switch (rare(in, 4)) {
    case 1: return raw_text(w, in);
    case 2: return fields ? NULL : "{}";
    case 3: append(out, sizeof out, &len, " \r\n\t"); break;
    default: break;
    }
    append(out, sizeof out, &len, "{");
    const char *sep = "";
    for (size_t k = 0; k < sizeof member_names / sizeof member_names[0]; k++) {
        unsigned fault = rare(in, 5);
        if (!(fields & member_bit[k]) && fault != 1)
            continue;   /* fault 1: a member fields does not name */
        if (fault == 2)
            continue;   /* missing */
        for (int twice = 0; twice <= (fault == 3); twice++) {
            append(out, sizeof out, &len, sep);
            sep = pick(in, 8) ? "," : " , ";
            json_string(out, sizeof out, &len, member_names[k], fault == 4);
            append(out, sizeof out, &len, ":");
            char num[32];
            switch (k) {
            case 0:
            case 5: append(out, sizeof out, &len, json_number(in, num, sizeof num)); break;
            case 1: {
                static const char *const cur[] = { "USD", "CNY", "usd", "US", "EURO", "" };
                if (rare(in, 3) == 1)
                    append(out, sizeof out, &len, "null");
                else
                    json_string(out, sizeof out, &len, cur[rare(in, 6)], pick(in, 4) == 0);
                break;
            }
            case 6: {
                append(out, sizeof out, &len, "{");
                unsigned n = pick(in, 3);
                for (unsigned a = 0; a < n; a++) {
                    if (a)
                        append(out, sizeof out, &len, ",");
                    static const char *const keys[] = { "k", "region", "k", "", "\xc3\xa9" };
                    json_string(out, sizeof out, &len, a == 0 ? "k" : keys[pick(in, 5)], 0);
                    append(out, sizeof out, &len, ":");
                    if (rare(in, 3) == 1)
                        append(out, sizeof out, &len, "null");
                    else
                        json_string(out, sizeof out, &len, text(w, in, 0), 0);
                }
                append(out, sizeof out, &len, "}");
                break;
            }
            default: {
                const char *t = text(w, in, 1);
                if (t)
                    json_string(out, sizeof out, &len, t, pick(in, 4) == 0);
                else
                    append(out, sizeof out, &len, "null");
            }
            }
        }
    }
    if (rare(in, 2))
        append(out, sizeof out, &len, ",\"x\":[true,-0]");
    append(out, sizeof out, &len, "}");
    return keep(w, out, len);
}

/* ---- building the store's contents ---- */

static void build_history(world *w, input *in, opp *o)
{
    o->nh = 1 + pick(in, MAX_ENTRIES);
    const char *at = stage_name(in);   /* where the previous entry ended */
    for (size_t k = 0; k < o->nh; k++) {
        sfsm_history_entry *e = &o->h[k].e;
        memset(e, 0, sizeof *e);
        e->version = (uint64_t)(k + 1);
        if (rare(in, 3))
            e->version = pick(in, 2) ? (uint64_t)k : UINT64_MAX;
        e->at_ms = number(in, 1000 * (int64_t)k);
        int kind = k == 0 ? SFSM_HISTORY_CREATE : 2 + (int)pick(in, 3);   /* transition, update, migrate */
        if (rare(in, 4))
            kind = (int)pick(in, 7) - 1;   /* -1..5: unknown kinds and misplaced creates */
        e->kind = kind;
        const char *to = kind == SFSM_HISTORY_UPDATE ? at : stage_name(in);
        e->event = kind == SFSM_HISTORY_TRANSITION
                       ? name(w, in, sfsm_pipeline_event_name(pl, pick(in, (unsigned)sfsm_pipeline_event_count(pl))))
                       : (rare(in, 2) ? "qualify" : NULL);
        e->from = k == 0 ? (rare(in, 2) ? at : NULL) : name(w, in, at);
        e->to = name(w, in, to);
        if (pick(in, 3)) {
            e->actor = rare(in, 3) == 1 ? repeated(w, 'a', 65) : "Mei";
            e->role = name(w, in, sfsm_pipeline_role_name(pl, pick(in, (unsigned)sfsm_pipeline_role_count(pl))));
        } else if (kind == SFSM_HISTORY_TRANSITION && !rare(in, 2)) {
            e->actor = "Mei";
            e->role = "rep";
        }
        e->note = pick(in, 4) ? NULL : text(w, in, 1);
        e->fields = k == 0 ? (pick(in, 2) ? SFSM_FIELD_AMOUNT | SFSM_FIELD_CUSTOMER : 0) : pick(in, 64);
        if (rare(in, 2))
            e->fields |= 0x40;
        e->changes = e->fields || rare(in, 2) ? changes(w, in, e->fields) : NULL;
        at = e->to && strlen(e->to) < 64 ? e->to : at;
    }
}

static void build_opp(world *w, input *in, opp *o, size_t i)
{
    static const char *const ids[] = { "a", "b", "opp-1", "caf\xc3\xa9", "a" };
    sfsm_record *r = &o->r;
    memset(o, 0, sizeof *o);
    char id[8];
    snprintf(id, sizeof id, "o%zu", i);
    r->id = keep(w, id, strlen(id));
    if (rare(in, 2))
        r->id = pick(in, 4) ? ids[pick(in, 5)] : name(w, in, "x");   /* clashes and faults */
    o->in_scan = 1;
    o->gettable = !rare(in, 2);
    build_history(w, in, o);
    r->stage = name(w, in, o->h[o->nh - 1].e.to ? o->h[o->nh - 1].e.to : "lead");
    r->version = o->nh;
    if (rare(in, 3))
        r->version = pick(in, 2) ? o->nh - 1 : o->nh + 1;   /* too few entries, or too many */
    r->amount = number(in, 5000);
    r->currency = r->amount && !rare(in, 2) ? "USD" : (pick(in, 2) ? NULL : (rare(in, 2) ? "usd" : "EUR"));
    r->customer = text(w, in, 1);
    r->owner = text(w, in, 1);
    r->title = text(w, in, 1);
    r->expected_close_ms = number(in, 0);
    r->created_ms = number(in, 0);
    r->updated_ms = number(in, 1000);
    r->stage_entered_ms = number(in, 1000);
    static const char *const pipelines[] = { NULL, "other", "", "\xff" };
    r->pipeline = pick(in, 2) ? sfsm_pipeline_name(pl) : pipelines[rare(in, 4)];
    r->pipeline_version = sfsm_pipeline_version(pl);
    if (rare(in, 3))
        r->pipeline_version = pick(in, 2) ? 0 : sfsm_pipeline_version(pl) + 1;
    r->attr_count = pick(in, MAX_ATTRS + 1);
    static const char *const keys[] = { "k", "region", "a", "k", "" };
    for (size_t k = 0; k < r->attr_count; k++) {
        o->attrs[k].key = pick(in, 2) ? keys[pick(in, 5)] : name(w, in, "z");
        o->attrs[k].value = text(w, in, 0);
    }
    r->attrs = r->attr_count ? o->attrs : NULL;
}

/* ---- the backend ---- */

static int b_txn(void *b)
{
    (void)b;
    return SFSM_OK;
}

static int b_refuse_put(void *b, const sfsm_record *r, uint64_t expected, uint32_t changed)
{
    (void)b, (void)r, (void)expected, (void)changed;
    return sfsm_error_set(SFSM_ESTORAGE, "export_fuzz: the backend is read-only");
}

static int b_refuse_append(void *b, const char *id, const sfsm_history_entry *e)
{
    (void)b, (void)id, (void)e;
    return sfsm_error_set(SFSM_ESTORAGE, "export_fuzz: the backend is read-only");
}

/* The first gettable opportunity of that id (ids may repeat). */
static opp *find(world *w, const char *id)
{
    for (size_t k = 0; k < w->n; k++)
        if (w->o[k].gettable && w->o[k].r.id && strcmp(w->o[k].r.id, id) == 0)
            return &w->o[k];
    return NULL;
}

static int b_get(void *b, const char *id, sfsm_record *out)
{
    opp *o = find(b, id);
    if (!o)
        return sfsm_error_set(SFSM_ENOTFOUND, "export_fuzz: no opportunity '%.64s'", id);
    *out = o->r;
    return SFSM_OK;
}

static int b_read_history(void *b, const char *id, sfsm_history_cb cb, void *ud)
{
    opp *o = find(b, id);
    if (!o)
        return sfsm_error_set(SFSM_ENOTFOUND, "export_fuzz: no opportunity '%.64s'", id);
    for (size_t k = 0; k < o->nh; k++) {
        int rc = cb(&o->h[k].e, ud);
        if (rc)
            return rc;
    }
    return SFSM_OK;
}

static int b_scan(void *b, const sfsm_filter *f, sfsm_record_cb cb, void *ud)
{
    (void)f;   /* the export asks for everything */
    world *w = b;
    for (size_t k = 0; k < w->n; k++) {
        int rc = cb(&w->o[k].r, ud);
        if (rc)
            return rc;
    }
    return SFSM_OK;
}

static void b_close(void *b)
{
    (void)b;   /* the world is the caller's */
}

static const sfsm_store_ops fuzz_ops = {
    .version = 1,
    .close = b_close,
    .begin = b_txn,
    .commit = b_txn,
    .rollback = b_txn,
    .get = b_get,
    .put = b_refuse_put,
    .append_history = b_refuse_append,
    .read_history = b_read_history,
    .scan = b_scan,
};

/* ---- the round trip ---- */

static int64_t fixed_clock(void *ud)
{
    (void)ud;
    return INT64_C(1800000000000);
}

static sfsm_engine *engine_on(sfsm_store *s)
{
    sfsm_engine *e = NULL;
    int rc = sfsm_engine_new(&e, pl, s);
    if (rc != SFSM_OK)
        die("new engine", rc);
    if ((rc = sfsm_engine_set_clock(e, fixed_clock, NULL)) != SFSM_OK)
        die("set the clock", rc);
    return e;
}

static size_t count_opps(const char *doc)
{
    size_t n = 0;
    for (const char *p = doc; (p = strstr(p, "\n    {\n      \"id\": ")); p++)
        n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sfsm_pipeline *owned;
    int rc;
    if (!owned) {
        if ((rc = sfsm_pipeline_default(&owned)) != SFSM_OK)
            die("the default pipeline", rc);   /* kept for the whole run */
        pl = owned;
    }
    static world w;   /* large: not on the stack */
    memset(&w, 0, sizeof w);
    input in = { data, size };
    size_t n_opps = 1 + pick(&in, MAX_OPPS);
    for (size_t i = 0; i < n_opps; i++)
        build_opp(&w, &in, &w.o[i], i);

    /* The engine is made on the empty store: a new engine refuses a store
     * holding stages its pipeline cannot map, and the export is to see them. */
    sfsm_store *s = NULL;
    if ((rc = sfsm_store_new(&s, &fuzz_ops, &w)) != SFSM_OK)
        die("sfsm_store_new", rc);
    sfsm_engine *e = engine_on(s);
    w.n = n_opps;
    char *doc = NULL;
    size_t len = 0;
    rc = sfsm_export_json_string(e, NULL, &doc, &len);
    sfsm_engine_free(e);
    sfsm_store_close(s);
    if (getenv("EXPORT_FUZZ_SAY")) {   /* for picking seeds: which inputs reach success, and with what */
        if (rc == SFSM_OK && strcmp(getenv("EXPORT_FUZZ_SAY"), "doc") == 0)
            fprintf(stderr, "%s", doc);
        else if (rc == SFSM_OK)
            fprintf(stderr, "export_fuzz: exported %zu opportunities, %zu bytes\n", count_opps(doc), len);
        else
            fprintf(stderr, "export_fuzz: %s\n", sfsm_errmsg());
    }
    if (rc != SFSM_OK) {
        if (rc != SFSM_ESTORAGE)
            die("export failed with a code other than SFSM_ESTORAGE", rc);
        if (!strstr(sfsm_errmsg(), "opportunit"))
            die("export failed without naming an opportunity", rc);
        if (doc)
            die("a failed export handed out a document", rc);
    } else {
        sfsm_store *t = NULL;
        if ((rc = sfsm_store_open_memory(&t)) != SFSM_OK)
            die("open a memory store", rc);
        sfsm_engine *f = engine_on(t);
        size_t n = 0;
        if ((rc = sfsm_import_json(f, doc, len, &n)) != SFSM_OK) {
            fprintf(stderr, "export_fuzz: the import refuses what the export wrote:\n%s\n", doc);
            die("import of the export", rc);
        }
        if (n != count_opps(doc))
            die("the import counted other opportunities than the export wrote", SFSM_OK);
        char *again = NULL;
        size_t again_len = 0;
        if ((rc = sfsm_export_json_string(f, NULL, &again, &again_len)) != SFSM_OK)
            die("export of the imported document", rc);
        if (again_len != len || memcmp(again, doc, len) != 0) {
            fprintf(stderr, "export_fuzz: export, import, export differ\n--- first\n%s\n--- second\n%s\n", doc,
                    again);
            abort();
        }
        sfsm_free(again);
        sfsm_engine_free(f);
        sfsm_store_close(t);
    }
    sfsm_free(doc);
    for (size_t k = 0; k < w.nstrs; k++)
        free(w.strs[k]);
    return 0;
}
