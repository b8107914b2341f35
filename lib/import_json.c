/* sfsm_import_json: the export format (docs/json-format.md) back into a
 * store, all or nothing.
 *
 * Two passes over the parsed document. The first checks everything (shape,
 * values, names against the engine's pipeline, the history chain, duplicate
 * ids) and writes nothing; the second runs the same checks again while it
 * writes each record and its history inside one storage transaction, so what
 * is written is exactly what was checked. Every message names the JSON path
 * of the fault: "opportunities[3].history[2].to: unknown stage 'quoteed'". */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <salesfsm/export.h>
#include <salesfsm/pipeline.h>
#include <salesfsm/sys/store.h>

#include "alloc.h"
#include "engine_impl.h"
#include "id_set.h"
#include "store_impl.h"
#include "json_text.h"
#include "safe_int.h"
#include "text.h"

#define FORMAT_NAME "salesfsm-opportunities"
#define FORMAT_VERSION 1
#define SAFE_INTEGER SFSM_SAFE_INTEGER
#define PATH_SIZE 320

typedef struct importer {
    const sfsm_pipeline *p;    /* the engine's: names, pipeline and version are checked against it */
    sfsm_store *s;             /* written to when `write` is set */
    int write;                 /* 0: check only; 1: check and write (inside the caller's transaction) */
    /* ids seen so far, for duplicates; slots NULL: not checked. The ids
     * must outlive the importer. */
    sfsm__id_set ids;
    /* scratch for one record */
    sfsm_attr *attrs;
    size_t attrs_cap;
    sfsm_attr *change_attrs;   /* scratch for the attrs of one changes object */
    size_t change_attrs_cap;
} importer;

static int fail(int code, const char *path, const char *fmt, ...) SFSM_PRINTF(3, 4);

static int fail(int code, const char *path, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sfsm_error_set(code, "%s: %s", path, msg);
}

/* Re-labels a failure reported by the store with the path it concerns. */
static int relabel(int code, const char *path)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", sfsm_errmsg());
    return sfsm_error_set(code, "%s: %s", path, msg);
}

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    return "an unknown value";
}

/* ---- members ---- */

/* Finds the members `names` of object `obj` (at `path`) into out[]: every
 * one is required, no other member may appear, none twice. */
static int bind(const cJSON *obj, const char *path, const char *const *names, size_t n, const cJSON **out)
{
    if (!cJSON_IsObject(obj))
        return fail(SFSM_EPARSE, path, "expected an object, got %s", type_name(obj));
    for (size_t k = 0; k < n; k++)
        out[k] = NULL;
    size_t next = 0;   /* members usually come in the export's order: try the next name first */
    for (const cJSON *m = obj->child; m; m = m->next) {
        size_t k = 0;
        if (next < n && strcmp(names[next], m->string) == 0)
            k = next;
        else
            while (k < n && strcmp(names[k], m->string) != 0)
                k++;
        if (k == n)
            return fail(SFSM_EPARSE, path, "unknown member '%.64s'", m->string);
        if (out[k])
            return fail(SFSM_EPARSE, path, "member '%s' appears twice", names[k]);
        out[k] = m;
        next = k + 1;
    }
    for (size_t k = 0; k < n; k++)
        if (!out[k])
            return fail(SFSM_EPARSE, path, "missing member '%s'", names[k]);
    return SFSM_OK;
}

/* out = path + "." + member, cut to PATH_SIZE - 1 bytes. */
static void join(char *out, const char *path, const char *member)
{
    size_t n = strnlen(path, PATH_SIZE - 1);
    memmove(out, path, n);
    if (n < PATH_SIZE - 1)
        out[n++] = '.';
    size_t m = strnlen(member, PATH_SIZE - 1 - n);
    memcpy(out + n, member, m);
    out[n + m] = '\0';
}

/* out = path + "[i]". */
static void join_index(char *out, const char *path, size_t i)
{
    char ix[32];
    ix[0] = '[';
    size_t k = 1 + sfsm__format_i64(ix + 1, (int64_t)i);   /* not snprintf: this runs for every entry */
    ix[k++] = ']';
    size_t n = strnlen(path, PATH_SIZE - 1);
    memmove(out, path, n);
    size_t m = (size_t)k < PATH_SIZE - 1 - n ? (size_t)k : PATH_SIZE - 1 - n;
    memcpy(out + n, ix, m);
    out[n + m] = '\0';
}

/* ---- values ---- */

static int get_int(const cJSON *v, const char *path, int64_t min, int64_t max, int64_t *out)
{
    if (!cJSON_IsNumber(v))
        return fail(SFSM_EPARSE, path, "expected an integer, got %s", type_name(v));
    double d = v->valuedouble;
    if (!(d >= -(double)SAFE_INTEGER && d <= (double)SAFE_INTEGER))
        return fail(SFSM_EINVAL, path,
                    "%.17g is outside -(2^53-1)..2^53-1: integers are limited to the range a JSON number read as a "
                    "double holds exactly",
                    d);
    int64_t i = (int64_t)d;
    if ((double)i != d)
        return fail(SFSM_EINVAL, path, "%.17g is not an integer", d);
    if (i < min)
        return fail(SFSM_EINVAL, path, "%lld is less than %lld", (long long)i, (long long)min);
    if (i > max)
        return fail(SFSM_EINVAL, path, "%lld is greater than %lld", (long long)i, (long long)max);
    *out = i;
    return SFSM_OK;
}

enum { REQUIRED = 0, NULLABLE = 1 };
enum { NONEMPTY = 0, EMPTY_OK = 1 };

/* A string member: valid UTF-8 of at most max bytes; null only if nullable;
 * "" only if empty_ok (absent values are null, never ""). */
static int get_text(const cJSON *v, const char *path, int nullable, int empty_ok, size_t max, const char **out)
{
    *out = NULL;
    if (cJSON_IsNull(v) && nullable)
        return SFSM_OK;
    if (!cJSON_IsString(v))
        return fail(SFSM_EPARSE, path, "expected a string%s, got %s", nullable ? " or null" : "", type_name(v));
    const char *s = v->valuestring;
    size_t len = strlen(s);
    if (len == 0 && !empty_ok)
        return fail(SFSM_EINVAL, path, "must not be empty%s", nullable ? " (null means none)" : "");
    if (len > max)
        return fail(SFSM_EINVAL, path, "longer than %zu bytes", max);
    if (!sfsm__utf8_valid(s, len))
        return fail(SFSM_EINVAL, path, "not valid UTF-8");
    *out = s;
    return SFSM_OK;
}

typedef int (*lookup_fn)(const sfsm_pipeline *p, const char *name, size_t *index);

/* A stage, event or role name of the engine's pipeline (or null); with no
 * lookup, any well-formed name. */
static int get_known(const importer *im, const cJSON *v, const char *path, int nullable, const char *what,
                     lookup_fn lookup, const char **out)
{
    int rc = get_text(v, path, nullable, NONEMPTY, SFSM_MAX_NAME, out);
    size_t ix;
    if (rc || !*out || !lookup)
        return rc;
    if (lookup(im->p, *out, &ix) != SFSM_OK)
        return fail(SFSM_EINVAL, path, "unknown %s '%s' (not in pipeline '%s')", what, *out, sfsm_pipeline_name(im->p));
    return SFSM_OK;
}

static int get_currency(const cJSON *v, const char *path, const char **out)
{
    int rc = get_text(v, path, NULLABLE, NONEMPTY, 3, out);
    if (rc == SFSM_EINVAL && cJSON_IsString(v))
        rc = fail(SFSM_EINVAL, path, "'%.16s' is not an ISO 4217 code (three letters A-Z)", v->valuestring);
    if (rc || !*out)
        return rc;
    if (sfsm__check_currency(*out))
        return fail(SFSM_EINVAL, path, "'%s' is not an ISO 4217 code (three letters A-Z)", *out);
    return SFSM_OK;
}

static int cmp_attr(const void *a, const void *b)
{
    return strcmp(((const sfsm_attr *)a)->key, ((const sfsm_attr *)b)->key);
}

/* Custom attributes: an object of string values, collected into *scratch
 * (of *cap entries) sorted by key, with the keys unique. */
static int get_attrs(const cJSON *v, const char *path, sfsm_attr **scratch, size_t *cap, size_t *count)
{
    if (!cJSON_IsObject(v))
        return fail(SFSM_EPARSE, path, "expected an object, got %s", type_name(v));
    size_t n = 0;
    for (const cJSON *m = v->child; m; m = m->next)
        n++;
    if (n > SFSM_MAX_ATTRS)
        return fail(SFSM_EINVAL, path, "%zu attributes, more than the %d allowed", n, SFSM_MAX_ATTRS);
    if (sfsm__grow((void **)scratch, cap, n ? n : 1, sizeof **scratch))
        return sfsm_error_set(SFSM_ENOMEM, "out of memory importing %s", path);
    sfsm_attr *attrs = *scratch;
    char mpath[PATH_SIZE];
    size_t k = 0;
    for (const cJSON *m = v->child; m; m = m->next, k++) {
        const char *key = m->string, *value;
        size_t klen = strlen(key);
        if (klen == 0)
            return fail(SFSM_EINVAL, path, "attribute keys must not be empty");
        if (klen > SFSM_MAX_NAME)
            return fail(SFSM_EINVAL, path, "attribute key '%.32s...' is longer than %d bytes", key, SFSM_MAX_NAME);
        if (!sfsm__utf8_valid(key, klen))
            return fail(SFSM_EINVAL, path, "attribute key is not valid UTF-8");
        if (sfsm__json_is_identifier(key, klen))
            join(mpath, path, key);
        else
            snprintf(mpath, sizeof mpath, "%s[\"%.64s\"]", path, key);
        int rc = get_text(m, mpath, REQUIRED, EMPTY_OK, SFSM_MAX_TEXT, &value);
        if (rc)
            return rc;
        attrs[k].key = key;
        attrs[k].value = value;
    }
    qsort(attrs, n, sizeof *attrs, cmp_attr);
    for (k = 1; k < n; k++)
        if (strcmp(attrs[k - 1].key, attrs[k].key) == 0)
            return fail(SFSM_EINVAL, path, "key '%s' appears twice", attrs[k].key);
    *count = n;
    return SFSM_OK;
}

/* ---- history ---- */

static const char *const kind_names[] = { "create", "transition", "update", "migrate" };   /* SFSM_HISTORY_* - 1 */

static int get_fields(const cJSON *v, const char *path, uint32_t *out)
{
    if (!cJSON_IsArray(v))
        return fail(SFSM_EPARSE, path, "expected an array, got %s", type_name(v));
    uint32_t bits = 0;
    size_t i = 0;
    char fp[PATH_SIZE];
    for (const cJSON *f = v->child; f; f = f->next, i++) {
        join_index(fp, path, i);
        if (!cJSON_IsString(f))
            return fail(SFSM_EPARSE, fp, "expected a string, got %s", type_name(f));
        size_t k = 0;
        while (k < SFSM__FIELD_COUNT && strcmp(sfsm__field_names[k], f->valuestring) != 0)
            k++;
        if (k == SFSM__FIELD_COUNT)
            return fail(SFSM_EINVAL, fp, "unknown field '%.64s' (amount, customer, owner, title, expected_close or attrs)",
                        f->valuestring);
        if (bits >> k & 1u)
            return fail(SFSM_EINVAL, fp, "field '%s' named twice", sfsm__field_names[k]);
        bits |= 1u << k;
    }
    *out = bits;
    return SFSM_OK;
}

/* The members of a changes object and the field bit each belongs to. */
static const struct {
    const char *name;
    uint32_t bit;
} change_members[] = {
    { "amount", SFSM_FIELD_AMOUNT },       { "currency", SFSM_FIELD_AMOUNT },
    { "customer", SFSM_FIELD_CUSTOMER },   { "owner", SFSM_FIELD_OWNER },
    { "title", SFSM_FIELD_TITLE },         { "expected_close_ms", SFSM_FIELD_EXPECTED_CLOSE },
    { "attrs", SFSM_FIELD_ATTRS },
};
#define CHANGE_MEMBERS (sizeof change_members / sizeof change_members[0])

/* changes: null exactly when fields is empty; otherwise an object with the
 * new values of exactly the fields named (amount comes with currency). */
static int check_changes(importer *im, const cJSON *v, const char *path, uint32_t fields)
{
    if (cJSON_IsNull(v)) {
        if (fields)
            return fail(SFSM_EINVAL, path, "null, but fields names '%s'", sfsm__field_name(fields & -fields));
        return SFSM_OK;
    }
    if (!cJSON_IsObject(v))
        return fail(SFSM_EPARSE, path, "expected an object or null, got %s", type_name(v));
    if (!fields)
        return fail(SFSM_EINVAL, path, "must be null when fields is empty");
    const cJSON *seen[CHANGE_MEMBERS] = { 0 };
    char mpath[PATH_SIZE];
    for (const cJSON *m = v->child; m; m = m->next) {
        size_t k = 0;
        while (k < CHANGE_MEMBERS && strcmp(change_members[k].name, m->string) != 0)
            k++;
        if (k == CHANGE_MEMBERS)
            return fail(SFSM_EINVAL, path, "unknown member '%.64s'", m->string);
        if (seen[k])
            return fail(SFSM_EINVAL, path, "member '%s' appears twice", m->string);
        if (!(fields & change_members[k].bit))
            return fail(SFSM_EINVAL, path, "has '%s', but fields does not name '%s'", m->string,
                        sfsm__field_name(change_members[k].bit));
        seen[k] = m;
        join(mpath, path, m->string);
        int64_t i;
        const char *s;
        size_t n;
        int rc;
        switch (k) {
        case 0: rc = get_int(m, mpath, 0, SAFE_INTEGER, &i); break;
        case 1: rc = get_currency(m, mpath, &s); break;
        case 2:
        case 3:
        case 4: rc = get_text(m, mpath, NULLABLE, NONEMPTY, SFSM_MAX_TEXT, &s); break;
        case 5: rc = get_int(m, mpath, 0, SAFE_INTEGER, &i); break;
        default: rc = get_attrs(m, mpath, &im->change_attrs, &im->change_attrs_cap, &n); break;
        }
        if (rc)
            return rc;
    }
    for (size_t k = 0; k < CHANGE_MEMBERS; k++)
        if ((fields & change_members[k].bit) && !seen[k])
            return fail(SFSM_EINVAL, path, "missing '%s', though fields names '%s'", change_members[k].name,
                        sfsm__field_name(change_members[k].bit));
    return SFSM_OK;
}

/* The canonical text of a checked changes object: compact, members in the
 * document's order, strings escaped as the engine escapes them. The export
 * prints stored changes in this same form. */
static void print_canon(sfsm_buf *b, const cJSON *v)
{
    if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        int obj = cJSON_IsObject(v);
        sfsm__buf_adds(b, obj ? "{" : "[");
        for (const cJSON *m = v->child; m; m = m->next) {
            if (m != v->child)
                sfsm__buf_adds(b, ",");
            if (obj) {
                sfsm__buf_add_json_string(b, m->string);
                sfsm__buf_adds(b, ":");
            }
            print_canon(b, m);
        }
        sfsm__buf_adds(b, obj ? "}" : "]");
    } else if (cJSON_IsString(v)) {
        sfsm__buf_add_json_string(b, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        char num[24];
        sfsm__buf_add(b, num, sfsm__format_i64(num, (int64_t)v->valuedouble));   /* checked: a safe integer */
    } else if (cJSON_IsBool(v)) {
        sfsm__buf_adds(b, cJSON_IsTrue(v) ? "true" : "false");
    } else {
        sfsm__buf_adds(b, "null");
    }
}

static const char *const entry_members[] = { "version", "at_ms", "kind", "event", "from", "to",
                                             "actor", "role", "note", "fields", "changes" };
enum { E_VERSION, E_AT, E_KIND, E_EVENT, E_FROM, E_TO, E_ACTOR, E_ROLE, E_NOTE, E_FIELDS, E_CHANGES, E_COUNT };

/* Entry j of the history of `id`; *prev_to is the stage the previous entry
 * ended at (NULL before the first) and becomes this entry's. An `old` entry
 * was written under an earlier version of the pipeline (a migrate entry
 * follows it), so its names need only be well formed. */
static int import_entry(importer *im, const cJSON *v, const char *path, size_t j, const char *id,
                        const char **prev_to, int old)
{
    const cJSON *m[E_COUNT];
    char mp[PATH_SIZE];
    int rc = bind(v, path, entry_members, E_COUNT, m);
    if (rc)
        return rc;
    sfsm_history_entry h;
    memset(&h, 0, sizeof h);
    int64_t i;
    join(mp, path, "version");
    if ((rc = get_int(m[E_VERSION], mp, 1, SAFE_INTEGER, &i)))
        return rc;
    if ((uint64_t)i != j + 1)
        return fail(SFSM_EINVAL, mp, "%lld, but entry %zu must have version %zu (versions run 1..n in order)",
                    (long long)i, j, j + 1);
    h.version = (uint64_t)i;
    join(mp, path, "at_ms");
    if ((rc = get_int(m[E_AT], mp, -SAFE_INTEGER, SAFE_INTEGER, &h.at_ms)))
        return rc;

    const char *kind;
    join(mp, path, "kind");
    if ((rc = get_text(m[E_KIND], mp, REQUIRED, NONEMPTY, SFSM_MAX_NAME, &kind)))
        return rc;
    h.kind = 0;
    for (int k = 0; k < 4; k++)
        if (strcmp(kind, kind_names[k]) == 0)
            h.kind = k + 1;
    if (!h.kind)
        return fail(SFSM_EINVAL, mp, "unknown kind '%s' (create, transition, update or migrate)", kind);
    if (j == 0 && h.kind != SFSM_HISTORY_CREATE)
        return fail(SFSM_EINVAL, mp, "'%s', but the first entry must be 'create'", kind);
    if (j > 0 && h.kind == SFSM_HISTORY_CREATE)
        return fail(SFSM_EINVAL, mp, "'create' is allowed only as the first entry");

    join(mp, path, "event");
    if ((rc = get_known(im, m[E_EVENT], mp, NULLABLE, "event", old ? NULL : sfsm_pipeline_event_index, &h.event)))
        return rc;
    if (h.kind == SFSM_HISTORY_TRANSITION && !h.event)
        return fail(SFSM_EINVAL, mp, "a transition entry needs its event");
    if (h.kind != SFSM_HISTORY_TRANSITION && h.event)
        return fail(SFSM_EINVAL, mp, "must be null for a '%s' entry", kind);

    join(mp, path, "from");
    int from_old = old || h.kind == SFSM_HISTORY_MIGRATE;
    if ((rc = get_known(im, m[E_FROM], mp, NULLABLE, "stage", from_old ? NULL : sfsm_pipeline_stage_index, &h.from)))
        return rc;
    if (h.kind == SFSM_HISTORY_CREATE && h.from)
        return fail(SFSM_EINVAL, mp, "must be null for the 'create' entry");
    if (h.kind != SFSM_HISTORY_CREATE && !h.from)
        return fail(SFSM_EINVAL, mp, "must name the stage before this '%s' entry", kind);
    if (h.from && strcmp(h.from, *prev_to) != 0)
        return fail(SFSM_EINVAL, mp, "'%s', but the previous entry ended at '%s'", h.from, *prev_to);

    join(mp, path, "to");
    if ((rc = get_known(im, m[E_TO], mp, REQUIRED, "stage", old ? NULL : sfsm_pipeline_stage_index, &h.to)))
        return rc;
    if (h.kind == SFSM_HISTORY_UPDATE && strcmp(h.to, h.from) != 0)
        return fail(SFSM_EINVAL, mp, "'%s', but an 'update' entry stays at '%s'", h.to, h.from);

    join(mp, path, "actor");
    if ((rc = get_text(m[E_ACTOR], mp, NULLABLE, NONEMPTY, SFSM_MAX_NAME, &h.actor)))
        return rc;
    if (h.kind == SFSM_HISTORY_TRANSITION && !h.actor)
        return fail(SFSM_EINVAL, mp, "a transition entry needs its actor");
    join(mp, path, "role");
    if ((rc = get_known(im, m[E_ROLE], mp, NULLABLE, "role", old ? NULL : sfsm_pipeline_role_index, &h.role)))
        return rc;
    if (!h.actor != !h.role)
        return fail(SFSM_EINVAL, mp, h.role ? "set, but actor is null" : "null, but actor is set");

    join(mp, path, "note");
    if ((rc = get_text(m[E_NOTE], mp, NULLABLE, EMPTY_OK, SFSM_MAX_TEXT, &h.note)))
        return rc;
    join(mp, path, "fields");
    if ((rc = get_fields(m[E_FIELDS], mp, &h.fields)))
        return rc;
    join(mp, path, "changes");
    if ((rc = check_changes(im, m[E_CHANGES], mp, h.fields)))
        return rc;
    *prev_to = h.to;

    if (!im->write)
        return SFSM_OK;
    char *changes = NULL;
    if (!cJSON_IsNull(m[E_CHANGES])) {
        sfsm_buf b = { 0 };
        print_canon(&b, m[E_CHANGES]);
        if (!(changes = sfsm__buf_take(&b)))
            return sfsm_error_set(SFSM_ENOMEM, "out of memory importing %s", path);
    }
    h.changes = changes;
    rc = im->s->ops.append_history(im->s->backend, id, &h);
    sfsm__free(changes);
    return rc ? relabel(rc, path) : SFSM_OK;
}

/* ---- opportunities ---- */

static const char *const opp_members[] = { "id", "stage", "version", "amount", "currency", "customer", "owner",
                                           "title", "expected_close_ms", "created_ms", "updated_ms",
                                           "stage_entered_ms", "pipeline", "pipeline_version", "attrs", "history" };
enum {
    O_ID, O_STAGE, O_VERSION, O_AMOUNT, O_CURRENCY, O_CUSTOMER, O_OWNER, O_TITLE, O_CLOSE, O_CREATED, O_UPDATED,
    O_ENTERED, O_PIPELINE, O_PIPELINE_VERSION, O_ATTRS, O_HISTORY, O_COUNT
};

/* The id must not have appeared earlier in the document. */
static int import_id_unique(importer *im, const char *id, size_t i)
{
    size_t also = sfsm__id_set_add(&im->ids, id, i);
    if (also == SIZE_MAX)
        return SFSM_OK;
    char path[PATH_SIZE];
    snprintf(path, sizeof path, "opportunities[%zu].id", i);
    return fail(SFSM_EINVAL, path, "'%s' appears twice (also opportunities[%zu].id)", id, also);
}

static void importer_free(importer *im)
{
    sfsm__id_set_free(&im->ids);
    sfsm__free(im->attrs);
    sfsm__free(im->change_attrs);
    im->attrs = im->change_attrs = NULL;
    im->attrs_cap = im->change_attrs_cap = 0;
}

/* pipeline and pipeline_version: an engine accepts its own pipeline (or
 * null, which every engine takes as its own) at its version or an earlier
 * one, which sfsm_engine_migrate moves on. A document of another pipeline
 * would import opportunities that engine never sees again (scans skip them,
 * open refuses them), and a later version's would be written back as this
 * engine's version on their next change. */
static int get_pipeline(const importer *im, const cJSON *name, const cJSON *version, const char *path, sfsm_record *r)
{
    char mp[PATH_SIZE];
    const char *own = sfsm_pipeline_name(im->p);
    uint32_t own_version = sfsm_pipeline_version(im->p);
    int64_t n;
    join(mp, path, "pipeline");
    int rc = get_text(name, mp, NULLABLE, NONEMPTY, SFSM_MAX_NAME, &r->pipeline);
    if (rc)
        return rc;
    if (r->pipeline && strcmp(r->pipeline, own) != 0)
        return fail(SFSM_EINVAL, mp, "pipeline '%s', but this engine's pipeline is '%s'", r->pipeline, own);
    join(mp, path, "pipeline_version");
    if ((rc = get_int(version, mp, 0, UINT32_MAX, &n)))
        return rc;
    if (n > own_version)
        return fail(SFSM_EINVAL, mp,
                    "pipeline %s%s%s version %lld, but this engine has '%s' version %u (a document may carry this "
                    "engine's version or an earlier one)",
                    r->pipeline ? "'" : "", r->pipeline ? r->pipeline : "null (this engine's)", r->pipeline ? "'" : "",
                    (long long)n, own, (unsigned)own_version);
    r->pipeline_version = (uint32_t)n;
    return SFSM_OK;
}

static int import_opp(importer *im, const cJSON *v, size_t i)
{
    char path[PATH_SIZE], mp[PATH_SIZE];
    join_index(path, "opportunities", i);
    const cJSON *m[O_COUNT];
    int rc = bind(v, path, opp_members, O_COUNT, m);
    if (rc)
        return rc;
    sfsm_record r;
    memset(&r, 0, sizeof r);
    int64_t n;

    join(mp, path, "id");
    if ((rc = get_text(m[O_ID], mp, REQUIRED, NONEMPTY, SFSM_MAX_ID, &r.id)))
        return rc;
    if (!im->write && im->ids.slots && (rc = import_id_unique(im, r.id, i)))
        return rc;
    /* before the names: another pipeline's document is unknown stages throughout */
    if ((rc = get_pipeline(im, m[O_PIPELINE], m[O_PIPELINE_VERSION], path, &r)))
        return rc;
    join(mp, path, "stage");
    if ((rc = get_known(im, m[O_STAGE], mp, REQUIRED, "stage", sfsm_pipeline_stage_index, &r.stage)))
        return rc;
    join(mp, path, "version");
    if ((rc = get_int(m[O_VERSION], mp, 1, SAFE_INTEGER, &n)))
        return rc;
    r.version = (uint64_t)n;
    join(mp, path, "amount");
    if ((rc = get_int(m[O_AMOUNT], mp, 0, SAFE_INTEGER, &r.amount)))
        return rc;
    join(mp, path, "currency");
    if ((rc = get_currency(m[O_CURRENCY], mp, &r.currency)))
        return rc;
    if (r.amount && !r.currency)
        return fail(SFSM_EINVAL, mp, "null, but amount %lld needs a currency", (long long)r.amount);
    join(mp, path, "customer");
    if ((rc = get_text(m[O_CUSTOMER], mp, NULLABLE, NONEMPTY, SFSM_MAX_TEXT, &r.customer)))
        return rc;
    join(mp, path, "owner");
    if ((rc = get_text(m[O_OWNER], mp, NULLABLE, NONEMPTY, SFSM_MAX_TEXT, &r.owner)))
        return rc;
    join(mp, path, "title");
    if ((rc = get_text(m[O_TITLE], mp, NULLABLE, NONEMPTY, SFSM_MAX_TEXT, &r.title)))
        return rc;
    join(mp, path, "expected_close_ms");
    if ((rc = get_int(m[O_CLOSE], mp, 0, SAFE_INTEGER, &r.expected_close_ms)))
        return rc;
    join(mp, path, "created_ms");
    if ((rc = get_int(m[O_CREATED], mp, -SAFE_INTEGER, SAFE_INTEGER, &r.created_ms)))
        return rc;
    join(mp, path, "updated_ms");
    if ((rc = get_int(m[O_UPDATED], mp, -SAFE_INTEGER, SAFE_INTEGER, &r.updated_ms)))
        return rc;
    join(mp, path, "stage_entered_ms");
    if ((rc = get_int(m[O_ENTERED], mp, -SAFE_INTEGER, SAFE_INTEGER, &r.stage_entered_ms)))
        return rc;
    join(mp, path, "attrs");
    if ((rc = get_attrs(m[O_ATTRS], mp, &im->attrs, &im->attrs_cap, &r.attr_count)))
        return rc;
    r.attrs = im->attrs;

    const cJSON *hist = m[O_HISTORY];
    join(mp, path, "history");
    if (!cJSON_IsArray(hist))
        return fail(SFSM_EPARSE, mp, "expected an array, got %s", type_name(hist));
    if (im->write) {
        rc = im->s->ops.put(im->s->backend, &r, 0, SFSM_FIELD_ALL);
        if (rc) {
            join(mp, path, "id");
            return relabel(rc, mp);
        }
    }
    /* entries before the last migration were written under an earlier pipeline */
    size_t last_migrate = 0, k = 0;
    for (const cJSON *h = hist->child; h; h = h->next, k++) {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(h, "kind");
        if (cJSON_IsString(kind) && strcmp(kind->valuestring, "migrate") == 0)
            last_migrate = k;
    }
    const char *to = NULL;
    size_t j = 0;
    char ep[PATH_SIZE];
    for (const cJSON *h = hist->child; h; h = h->next, j++) {
        join_index(ep, mp, j);
        if ((rc = import_entry(im, h, ep, j, r.id, &to, j < last_migrate)))
            return rc;
    }
    if (j != r.version)
        return fail(SFSM_EINVAL, mp, "%zu entries, but version is %llu (one entry per version, 1..n)", j,
                    (unsigned long long)r.version);
    if (strcmp(to, r.stage) != 0) {
        join(mp, path, "stage");
        return fail(SFSM_EINVAL, mp, "'%s', but the history ends at '%s'", r.stage, to);
    }
    return SFSM_OK;
}

/* ---- the document ---- */

static int parse_error(const char *json, size_t len, const char *at, const char *what)
{
    size_t off = at && at >= json && at <= json + len ? (size_t)(at - json) : 0;
    size_t line = 1, col = 1;
    for (size_t k = 0; k < off; k++) {
        if (json[k] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return sfsm_error_set(SFSM_EPARSE, "byte %zu (line %zu, column %zu): %s", off, line, col, what);
}

static cJSON *parse(const char *json, size_t len, int *rc)
{
    const char *end = json;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        *rc = parse_error(json, len, end, len ? "not valid JSON" : "empty document");
        return NULL;
    }
    size_t off = end >= json && end <= json + len ? (size_t)(end - json) : len;
    while (off < len && (json[off] == ' ' || json[off] == '\t' || json[off] == '\n' || json[off] == '\r'))
        off++;
    if (off == len - 1 && json[off] == '\0')
        off++;   /* a terminating NUL counted in len */
    if (off < len) {
        *rc = parse_error(json, len, json + off, "text after the JSON document");
        cJSON_Delete(root);
        return NULL;
    }
    if ((*rc = sfsm__json_check_strings(json, len))) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* The document's header; *opps is its array of opportunities. */
static int check_header(const cJSON *root, const cJSON **opps)
{
    if (!cJSON_IsObject(root))
        return fail(SFSM_EPARSE, "document", "expected an object, got %s", type_name(root));
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!format)
        return fail(SFSM_EPARSE, "document", "missing member 'format'");
    if (!cJSON_IsString(format) || strcmp(format->valuestring, FORMAT_NAME) != 0)
        return fail(SFSM_EPARSE, "format", "expected \"" FORMAT_NAME "\", got %s%.64s%s",
                    cJSON_IsString(format) ? "\"" : type_name(format), cJSON_IsString(format) ? format->valuestring : "",
                    cJSON_IsString(format) ? "\"" : "");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (!version)
        return fail(SFSM_EPARSE, "document", "missing member 'version'");
    int64_t v;
    int rc = get_int(version, "version", -SAFE_INTEGER, SAFE_INTEGER, &v);
    if (rc)
        return rc;
    if (v != FORMAT_VERSION)
        return fail(SFSM_EVERSION, "version", "%lld is not supported (this library reads version %d)", (long long)v,
                    FORMAT_VERSION);
    static const char *const names[] = { "format", "version", "opportunities" };
    const cJSON *m[3];
    if ((rc = bind(root, "document", names, 3, m)))
        return rc;
    if (!cJSON_IsArray(m[2]))
        return fail(SFSM_EPARSE, "opportunities", "expected an array, got %s", type_name(m[2]));
    *opps = m[2];
    return SFSM_OK;
}

int sfsm_import_json(sfsm_engine *e, const char *json, size_t len, size_t *count)
{
    if (count)
        *count = 0;
    if (!e || !json)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_import_json: %s is NULL", e ? "json" : "engine");
    int rc;
    cJSON *root = parse(json, len, &rc);
    if (!root)
        return rc;
    importer im;
    memset(&im, 0, sizeof im);
    im.p = e->p;
    im.s = e->s;
    const cJSON *opps = NULL;
    size_t n = 0;
    if ((rc = check_header(root, &opps)))
        goto out;
    for (const cJSON *o = opps->child; o; o = o->next)
        n++;

    /* 1. check everything */
    if (sfsm__id_set_init(&im.ids, n)) {
        rc = sfsm_error_set(SFSM_ENOMEM, "out of memory importing %zu opportunities", n);
        goto out;
    }
    size_t i = 0;
    for (const cJSON *o = opps->child; o; o = o->next, i++)
        if ((rc = import_opp(&im, o, i)))
            goto out;
    sfsm__id_set_free(&im.ids);

    /* 2. write it, all or nothing */
    if ((rc = sfsm__engine_begin_write(e)))
        goto out;
    im.write = 1;
    i = 0;
    for (const cJSON *o = opps->child; o; o = o->next, i++)
        if ((rc = import_opp(&im, o, i)))
            break;
    if (rc)
        sfsm__store_rollback(im.s);
    else if ((rc = sfsm__store_commit(im.s)))
        rc = relabel(rc, "sfsm_import_json: commit");
    if (!rc && count)
        *count = n;
out:
    importer_free(&im);
    cJSON_Delete(root);
    return rc;
}
