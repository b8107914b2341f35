/* libFuzzer target for the JSON import (tests/fuzz/run.sh builds and runs
 * it). Every input is imported into a memory store that already holds one
 * opportunity (BASE-1, so that "the store is unchanged" means something and
 * an id clash is reachable; the store is kept while imports are refused).
 * Invariants, as export.h promises:
 *   - refused: the error is one export.h documents for sfsm_import_json
 *     (SFSM_EBUSY cannot happen here, so it counts as a failure), with a
 *     message, *count 0, and the store exports the same bytes as when it
 *     was set up (after any number of refused imports);
 *   - accepted: the store exports, that export imports into a fresh store
 *     with the same count and exports again to the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salesfsm/salesfsm.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char base_doc[] =
    "{\"format\":\"salesfsm-opportunities\",\"version\":1,\"opportunities\":[{"
    "\"id\":\"BASE-1\",\"stage\":\"qualified\",\"version\":2,\"amount\":500,\"currency\":\"USD\","
    "\"customer\":\"Base Co\",\"owner\":\"li.wei\",\"title\":null,\"expected_close_ms\":0,"
    "\"created_ms\":1000,\"updated_ms\":2000,\"stage_entered_ms\":2000,\"pipeline\":\"default\","
    "\"pipeline_version\":1,\"attrs\":{\"k\":\"v\"},\"history\":["
    "{\"version\":1,\"at_ms\":1000,\"kind\":\"create\",\"event\":null,\"from\":null,\"to\":\"lead\","
    "\"actor\":\"Li Wei\",\"role\":\"rep\",\"note\":null,\"fields\":[\"amount\",\"customer\",\"owner\",\"attrs\"],"
    "\"changes\":{\"amount\":500,\"currency\":\"USD\",\"customer\":\"Base Co\",\"owner\":\"li.wei\","
    "\"attrs\":{\"k\":\"v\"}}},"
    "{\"version\":2,\"at_ms\":2000,\"kind\":\"transition\",\"event\":\"qualify\",\"from\":\"lead\","
    "\"to\":\"qualified\",\"actor\":\"Li Wei\",\"role\":\"rep\",\"note\":null,\"fields\":[],\"changes\":null}"
    "]}]}";

static sfsm_pipeline *pipeline;

static void die(const char *what, int rc)
{
    fprintf(stderr, "import_fuzz: %s: %s (%s)\n", what, sfsm_strerror(rc), sfsm_errmsg());
    abort();
}

static int64_t fixed_clock(void *ud)
{
    (void)ud;
    return INT64_C(1800000000000);
}

typedef struct world {
    sfsm_store *s;
    sfsm_engine *e;
} world;

static void world_open(world *w)
{
    int rc;
    if ((rc = sfsm_store_open_memory(&w->s)) != SFSM_OK)
        die("open a memory store", rc);
    if ((rc = sfsm_engine_new(&w->e, pipeline, w->s)) != SFSM_OK)
        die("new engine", rc);
    if ((rc = sfsm_engine_set_clock(w->e, fixed_clock, NULL)) != SFSM_OK)
        die("set the clock", rc);
}

static void world_close(world *w)
{
    sfsm_engine_free(w->e);
    sfsm_store_close(w->s);
}

static char *export_all(world *w, size_t *len, const char *what)
{
    char *out = NULL;
    int rc = sfsm_export_json_string(w->e, NULL, &out, len);
    if (rc != SFSM_OK)
        die(what, rc);
    if (strlen(out) != *len)
        die("export length does not match the string", SFSM_OK);
    return out;
}

static int documented(int rc)
{
    return rc == SFSM_EPARSE || rc == SFSM_EVERSION || rc == SFSM_EINVAL || rc == SFSM_EEXISTS ||
           rc == SFSM_ENOMEM || rc == SFSM_ESTORAGE;
}

/* The store inputs are imported into, with its export, kept from one input
 * to the next while imports are refused (a memory store costs more to set
 * up than most imports take, and every refusal is then checked against the
 * same bytes); rebuilt after an accepted import. */
static world base;
static char *base_export;
static size_t base_len;

static void base_open(void)
{
    int rc;
    size_t n = 0;
    world_open(&base);
    if ((rc = sfsm_import_json(base.e, base_doc, sizeof base_doc - 1, &n)) != SFSM_OK || n != 1)
        die("import of the base document", rc);
    base_export = export_all(&base, &base_len, "export of the base store");
}

static void base_close(void)
{
    sfsm_free(base_export);
    base_export = NULL;
    world_close(&base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc;
    if (!pipeline && (rc = sfsm_pipeline_default(&pipeline)) != SFSM_OK)
        die("the default pipeline", rc);   /* kept for the whole run */
    if (!base_export)
        base_open();

    size_t count = 12345, after_len;
    rc = sfsm_import_json(base.e, (const char *)data, size, &count);
    if (rc != SFSM_OK) {
        if (!documented(rc))
            die("error code not documented for sfsm_import_json", rc);
        if (sfsm_errmsg()[0] == '\0')
            die("refusal without a message", rc);
        if (count != 0)
            die("refusal with *count not 0", rc);
        char *after = export_all(&base, &after_len, "export after a refused import");
        if (after_len != base_len || memcmp(base_export, after, base_len) != 0) {
            fprintf(stderr, "import_fuzz: a refused import changed the store\n--- before\n%s\n--- after\n%s\n",
                    base_export, after);
            abort();
        }
        sfsm_free(after);
        return 0;
    }

    size_t first_len, second_len;
    char *first = export_all(&base, &first_len, "export of an accepted import");
    base_close();

    world v;
    world_open(&v);
    size_t again = 0;
    if ((rc = sfsm_import_json(v.e, first, first_len, &again)) != SFSM_OK) {
        fprintf(stderr, "import_fuzz: the import refuses what the export wrote:\n%s\n", first);
        die("re-import of the export", rc);
    }
    if (again != count + 1)
        die("re-import count differs from the first import's (+ the base opportunity)", SFSM_OK);
    char *second = export_all(&v, &second_len, "export of the re-import");
    if (first_len != second_len || memcmp(first, second, first_len) != 0) {
        fprintf(stderr, "import_fuzz: export, import, export differs\n--- first\n%s\n--- second\n%s\n", first,
                second);
        abort();
    }
    sfsm_free(first);
    sfsm_free(second);
    world_close(&v);
    return 0;
}
