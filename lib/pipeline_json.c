/* Pipelines as JSON: the loader turns a document into a pdef for the same
 * validating builder the built-in pipeline goes through, so both obey the
 * same rules; the writer prints what the loader reads. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <salesfsm/pipeline.h>

#include "alloc.h"
#include "json_text.h"
#include "pipeline_impl.h"
#include "text.h"

#define MAX_DOCUMENT (4u << 20)

static const char *const outcome_names[] = { "open", "won", "lost" };
static const char *const forecast_names[] = { "pipeline", "best_case", "commit", "closed", "omitted" };

/* ---- loading ---- */

typedef struct loader {
    pdef def;
    pdef_stage *stages;
    pdef_event *events;
    const char **roles;
    pdef_migration *migrations;
    const char ***lists;      /* string arrays allocated for events */
    size_t list_count, list_cap;
} loader;

static int type_error(const char *path, const char *want)
{
    return sfsm_error_set(SFSM_EPARSE, "%s: must be %s", *path ? path : "document", want);
}

/* "path.key", or "key" at the top level. */
#define SEP(path) (*(path) ? "." : "")

/* Refuses members the format does not have, so a typo is not ignored, and
 * members given twice (cJSON would silently take the first). */
static int only_members(const cJSON *obj, const char *path, const char *const *known, size_t n)
{
    for (const cJSON *m = obj->child; m; m = m->next) {
        size_t k = 0;
        while (k < n && strcmp(m->string, known[k]) != 0)
            k++;
        if (k == n)
        {
            if (sfsm__json_is_identifier(m->string, strlen(m->string)))
                return sfsm_error_set(SFSM_EPARSE, "%s%s%.64s: unknown member", path, SEP(path), m->string);
            return sfsm_error_set(SFSM_EPARSE, "%s[\"%.64s\"]: unknown member", *path ? path : "document", m->string);
        }
        for (const cJSON *o = obj->child; o != m; o = o->next)
            if (strcmp(o->string, m->string) == 0)
                return sfsm_error_set(SFSM_EPARSE, "%s%s%s: member given twice", path, SEP(path), m->string);
    }
    return SFSM_OK;
}

static int get_string(const cJSON *obj, const char *key, const char *path, int required, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return sfsm_error_set(SFSM_EPARSE, "%s%s%s: missing", path, SEP(path), key);
        return SFSM_OK;
    }
    if (!cJSON_IsString(v)) {
        char p[160];
        snprintf(p, sizeof p, "%s%s%s", path, SEP(path), key);
        return type_error(p, "a string");
    }
    *out = v->valuestring;
    return SFSM_OK;
}

static int get_int(const cJSON *obj, const char *key, const char *path, int required, long long lo, long long hi,
                   long long dflt, long long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = dflt;
    if (!v) {
        if (required)
            return sfsm_error_set(SFSM_EPARSE, "%s%s%s: missing", path, SEP(path), key);
        return SFSM_OK;
    }
    double d = v->valuedouble;
    if (!cJSON_IsNumber(v) || d != floor(d))
        return sfsm_error_set(SFSM_EPARSE, "%s%s%s: must be a whole number", path, SEP(path), key);
    if (d < (double)lo || d > (double)hi)
        return sfsm_error_set(SFSM_EINVAL, "%s%s%s: %.0f is outside %lld..%lld", path, SEP(path), key, d, lo, hi);
    *out = (long long)d;
    return SFSM_OK;
}

static int get_enum(const cJSON *obj, const char *key, const char *path, const char *const *names, size_t n,
                    int required, int *out)
{
    const char *s;
    int rc = get_string(obj, key, path, required, &s);
    if (rc || !s)
        return rc;
    for (size_t k = 0; k < n; k++)
        if (strcmp(s, names[k]) == 0) {
            *out = (int)k;
            return SFSM_OK;
        }
    return sfsm_error_set(SFSM_EINVAL, "%s%s%s: unknown value '%.*s'", path, SEP(path), key, SFSM_MAX_NAME, s);
}

/* An array of strings, copied into a new pointer array the loader owns. */
static int get_strings(loader *l, const cJSON *obj, const char *key, const char *path, int required, size_t max,
                       const char *const **out, size_t *count)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    *count = 0;
    char p[160];
    snprintf(p, sizeof p, "%s%s%s", path, SEP(path), key);
    if (!a) {
        if (required)
            return sfsm_error_set(SFSM_EPARSE, "%s: missing", p);
        return SFSM_OK;
    }
    if (!cJSON_IsArray(a))
        return type_error(p, "an array of strings");
    size_t n = (size_t)cJSON_GetArraySize(a);
    if (n > max)
        return sfsm_error_set(SFSM_EINVAL, "%s: %zu entries, at most %zu allowed", p, n, max);
    const char **v = sfsm__calloc(n ? n : 1, sizeof *v);
    if (!v || sfsm__grow((void **)&l->lists, &l->list_cap, l->list_count + 1, sizeof *l->lists)) {
        sfsm__free(v);
        return sfsm_error_set(SFSM_ENOMEM, "out of memory reading %s", p);
    }
    l->lists[l->list_count++] = v;
    size_t i = 0;
    for (const cJSON *e = a->child; e; e = e->next, i++) {
        if (!cJSON_IsString(e)) {
            snprintf(p, sizeof p, "%s%s%s[%zu]", path, SEP(path), key, i);
            return type_error(p, "a string");
        }
        v[i] = e->valuestring;
    }
    *out = v;
    *count = n;
    return SFSM_OK;
}

static int load_stage(const cJSON *s, size_t i, pdef_stage *st)
{
    static const char *const known[] = { "name", "label", "probability", "stale_days", "outcome", "final", "forecast" };
    char path[48];
    snprintf(path, sizeof path, "stages[%zu]", i);
    if (!cJSON_IsObject(s))
        return type_error(path, "an object");
    long long prob, stale;
    int outcome = 0, forecast = -1, rc;
    if ((rc = only_members(s, path, known, sizeof known / sizeof known[0])) ||
        (rc = get_string(s, "name", path, 1, &st->name)) || (rc = get_string(s, "label", path, 0, &st->label)) ||
        (rc = get_int(s, "probability", path, 1, 0, 100, 0, &prob)) ||
        (rc = get_int(s, "stale_days", path, 0, 0, 36500, 0, &stale)) ||
        (rc = get_enum(s, "outcome", path, outcome_names, 3, 1, &outcome)) ||
        (rc = get_enum(s, "forecast", path, forecast_names, 5, 0, &forecast)))
        return rc;
    st->probability = (int)prob;
    st->stale_days = (int)stale;
    st->outcome = (sfsm_outcome)outcome;
    st->forecast = forecast;
    st->final = -1;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(s, "final");
    if (f) {
        if (!cJSON_IsBool(f))
            return sfsm_error_set(SFSM_EPARSE, "%s.final: must be true or false", path);
        st->final = cJSON_IsTrue(f);
    }
    return SFSM_OK;
}

static int load_event(loader *l, const cJSON *e, size_t i, pdef_event *ev)
{
    static const char *const known[] = { "name", "from", "to", "roles", "guards" };
    char path[48];
    snprintf(path, sizeof path, "events[%zu]", i);
    if (!cJSON_IsObject(e))
        return type_error(path, "an object");
    int rc;
    if ((rc = only_members(e, path, known, sizeof known / sizeof known[0])) ||
        (rc = get_string(e, "name", path, 1, &ev->name)) || (rc = get_string(e, "to", path, 1, &ev->to)) ||
        (rc = get_strings(l, e, "from", path, 1, SFSM_MAX_STAGES, &ev->from, &ev->from_count)) ||
        (rc = get_strings(l, e, "roles", path, 1, SFSM_MAX_ROLES, &ev->roles, &ev->role_count)) ||
        (rc = get_strings(l, e, "guards", path, 0, SFSM_MAX_GUARDS_PER_EVENT, &ev->guards, &ev->guard_count)))
        return rc;
    return SFSM_OK;
}

static int load_migration(const cJSON *m, size_t i, pdef_migration *mg)
{
    static const char *const known[] = { "from_version", "from", "to" };
    char path[48];
    snprintf(path, sizeof path, "migrations[%zu]", i);
    if (!cJSON_IsObject(m))
        return type_error(path, "an object");
    long long v;
    int rc;
    if ((rc = only_members(m, path, known, sizeof known / sizeof known[0])) ||
        (rc = get_int(m, "from_version", path, 1, 1, UINT32_MAX, 0, &v)) ||
        (rc = get_string(m, "from", path, 1, &mg->from)) || (rc = get_string(m, "to", path, 1, &mg->to)))
        return rc;
    mg->from_version = (uint32_t)v;
    return SFSM_OK;
}

/* Fetches an array member with its size, refusing oversize tables early. */
static int get_array(const cJSON *doc, const char *key, int required, size_t max, const cJSON **out, size_t *n)
{
    *out = cJSON_GetObjectItemCaseSensitive(doc, key);
    *n = 0;
    if (!*out) {
        if (required)
            return sfsm_error_set(SFSM_EPARSE, "%s: missing", key);
        return SFSM_OK;
    }
    if (!cJSON_IsArray(*out))
        return type_error(key, "an array");
    *n = (size_t)cJSON_GetArraySize(*out);
    if (*n > max)
        return sfsm_error_set(SFSM_EINVAL, "%s: %zu entries, at most %zu allowed", key, *n, max);
    return SFSM_OK;
}

static int load(loader *l, const cJSON *doc)
{
    static const char *const known[] = { "format", "format_version", "name", "version", "initial", "stages",
                                          "roles", "events", "migrations" };
    if (!cJSON_IsObject(doc))
        return type_error("", "a JSON object");
    int rc = only_members(doc, "", known, sizeof known / sizeof known[0]);
    const char *format;
    long long fv, version;
    if (rc || (rc = get_string(doc, "format", "", 0, &format)))
        return rc;
    if (format && strcmp(format, "salesfsm-pipeline") != 0)
        return sfsm_error_set(SFSM_EVERSION, "format: '%.*s' is not a salesfsm pipeline", SFSM_MAX_NAME, format);
    /* any whole number is a version; only 1 is ours */
    if ((rc = get_int(doc, "format_version", "", 0, -(1LL << 53), 1LL << 53, 1, &fv)))
        return rc;
    if (fv != 1)
        return sfsm_error_set(SFSM_EVERSION, "format_version: %lld is not supported (this library reads 1)", fv);
    if ((rc = get_string(doc, "name", "", 1, &l->def.name)) ||
        (rc = get_int(doc, "version", "", 1, 1, UINT32_MAX, 1, &version)) ||
        (rc = get_string(doc, "initial", "", 1, &l->def.initial)))
        return rc;
    l->def.version = (uint32_t)version;

    const cJSON *stages, *events, *migrations;
    size_t ns, ne, nm, nr;
    if ((rc = get_array(doc, "stages", 1, SFSM_MAX_STAGES, &stages, &ns)) ||
        (rc = get_array(doc, "events", 1, SFSM_MAX_EVENTS, &events, &ne)) ||
        (rc = get_array(doc, "migrations", 0, SFSM_MAX_STAGES * 16u, &migrations, &nm)))
        return rc;
    const char *const *roles;
    if ((rc = get_strings(l, doc, "roles", "", 1, SFSM_MAX_ROLES, &roles, &nr)))
        return rc;
    l->def.roles = roles;
    l->def.role_count = nr;
    l->stages = sfsm__calloc(ns ? ns : 1, sizeof *l->stages);
    l->events = sfsm__calloc(ne ? ne : 1, sizeof *l->events);
    l->migrations = sfsm__calloc(nm ? nm : 1, sizeof *l->migrations);
    if (!l->stages || !l->events || !l->migrations)
        return sfsm_error_set(SFSM_ENOMEM, "out of memory reading a pipeline");
    size_t i = 0;
    for (const cJSON *s = stages->child; s; s = s->next, i++)
        if ((rc = load_stage(s, i, &l->stages[i])))
            return rc;
    i = 0;
    for (const cJSON *e = events->child; e; e = e->next, i++)
        if ((rc = load_event(l, e, i, &l->events[i])))
            return rc;
    i = 0;
    for (const cJSON *m = migrations ? migrations->child : NULL; m; m = m->next, i++)
        if ((rc = load_migration(m, i, &l->migrations[i])))
            return rc;
    l->def.stages = l->stages;
    l->def.stage_count = ns;
    l->def.events = l->events;
    l->def.event_count = ne;
    l->def.migrations = l->migrations;
    l->def.migration_count = nm;
    return SFSM_OK;
}

static void loader_free(loader *l)
{
    for (size_t i = 0; i < l->list_count; i++)
        sfsm__free(l->lists[i]);
    sfsm__free(l->lists);
    sfsm__free(l->stages);
    sfsm__free(l->events);
    sfsm__free(l->migrations);
}

/* Line and column of byte offset `at`, for parse errors. */
static void position(const char *json, size_t at, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < at; i++) {
        if (json[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

int sfsm_pipeline_from_json(sfsm_pipeline **out, const char *json, size_t len)
{
    if (out)
        *out = NULL;
    if (!out || !json)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_pipeline_from_json: %s is NULL", out ? "json" : "out");
    if (len > MAX_DOCUMENT)
        return sfsm_error_set(SFSM_EINVAL, "pipeline definition of %zu bytes is larger than the %u allowed", len,
                              MAX_DOCUMENT);
    const char *nul = memchr(json, '\0', len);
    if (nul)
        return sfsm_error_set(SFSM_EPARSE, "pipeline definition: a NUL byte at byte %zu", (size_t)(nul - json));
    size_t bad = sfsm__utf8_check(json, len);
    if (bad < len)
        return sfsm_error_set(SFSM_EPARSE, "pipeline definition: not valid UTF-8 at byte %zu", bad);
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!doc) {
        /* `end` is this call's own (cJSON_GetErrorPtr is shared by all threads) */
        const char *err = end;
        size_t at = err && err >= json && err <= json + len ? (size_t)(err - json) : len;
        size_t line, col;
        position(json, at, &line, &col);
        return sfsm_error_set(SFSM_EPARSE, "pipeline definition: malformed JSON at line %zu, column %zu (byte %zu)",
                              line, col, at);
    }
    for (const char *c = end; c && c < json + len; c++)
        if (*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r') {
            cJSON_Delete(doc);
            return sfsm_error_set(SFSM_EPARSE, "pipeline definition: text after the JSON object (byte %zu)",
                                  (size_t)(c - json));
        }
    int rc = sfsm__json_check_strings(json, len);
    if (rc) {
        cJSON_Delete(doc);
        return rc;
    }
    loader l;
    memset(&l, 0, sizeof l);
    rc = load(&l, doc);
    if (rc == SFSM_OK)
        rc = sfsm__pipeline_build(&l.def, out);
    loader_free(&l);
    cJSON_Delete(doc);
    return rc;
}

/* ---- writing ---- */

static void add_str(sfsm_buf *b, const char *s)
{
    sfsm__buf_add_json_string(b, s);
}

static void add_int(sfsm_buf *b, long long v)
{
    char num[24];
    sfsm__buf_add(b, num, sfsm__format_i64(num, v));
}

static void add_list(sfsm_buf *b, const char *const *items, size_t n)
{
    sfsm__buf_adds(b, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sfsm__buf_adds(b, ", ");
        add_str(b, items[i]);
    }
    sfsm__buf_adds(b, "]");
}

static void write_stages(sfsm_buf *b, const sfsm_pipeline *p)
{
    sfsm__buf_adds(b, "  \"stages\": [\n");
    for (size_t i = 0; i < p->stage_count; i++) {
        const stage_def *s = &p->stages[i];
        sfsm__buf_adds(b, "    {\"name\": ");
        add_str(b, s->name);
        sfsm__buf_adds(b, ", \"label\": ");
        add_str(b, s->label);
        sfsm__buf_adds(b, ", \"probability\": ");
        add_int(b, s->probability);
        sfsm__buf_adds(b, ", \"stale_days\": ");
        add_int(b, s->stale_days);
        sfsm__buf_adds(b, ", \"outcome\": ");
        add_str(b, outcome_names[s->outcome]);
        sfsm__buf_adds(b, ", \"forecast\": ");
        add_str(b, forecast_names[s->forecast]);
        sfsm__buf_adds(b, s->final ? ", \"final\": true}" : ", \"final\": false}");
        sfsm__buf_adds(b, i + 1 < p->stage_count ? ",\n" : "\n");
    }
    sfsm__buf_adds(b, "  ],\n");
}

static void write_events(sfsm_buf *b, const sfsm_pipeline *p, const char **scratch)
{
    sfsm__buf_adds(b, "  \"events\": [\n");
    for (size_t ev = 0; ev < p->event_count; ev++) {
        const event_def *e = &p->events[ev];
        sfsm__buf_adds(b, "    {\"name\": ");
        add_str(b, e->name);
        size_t n = 0;
        for (size_t s = 0; s < p->stage_count; s++)
            if (p->next[s * p->event_count + ev] >= 0)
                scratch[n++] = p->stages[s].name;
        sfsm__buf_adds(b, ", \"from\": ");
        add_list(b, scratch, n);
        sfsm__buf_adds(b, ", \"to\": ");
        add_str(b, p->stages[e->to].name);
        n = 0;
        for (size_t r = 0; r < p->role_count; r++)
            if (e->roles >> r & 1u)
                scratch[n++] = p->roles[r];
        sfsm__buf_adds(b, ", \"roles\": ");
        add_list(b, scratch, n);
        for (n = 0; n < e->guard_count; n++)
            scratch[n] = p->guards[e->guards[n]];
        sfsm__buf_adds(b, ", \"guards\": ");
        add_list(b, scratch, n);
        sfsm__buf_adds(b, ev + 1 < p->event_count ? "},\n" : "}\n");
    }
    sfsm__buf_adds(b, "  ]");
}

static void write_migrations(sfsm_buf *b, const sfsm_pipeline *p)
{
    if (!p->migration_count)
        return;
    sfsm__buf_adds(b, ",\n  \"migrations\": [\n");
    for (size_t i = 0; i < p->migration_count; i++) {
        const migration_def *m = &p->migrations[i];
        sfsm__buf_adds(b, "    {\"from_version\": ");
        add_int(b, m->from_version);
        sfsm__buf_adds(b, ", \"from\": ");
        add_str(b, m->from);
        sfsm__buf_adds(b, ", \"to\": ");
        add_str(b, p->stages[m->to].name);
        sfsm__buf_adds(b, i + 1 < p->migration_count ? "},\n" : "}\n");
    }
    sfsm__buf_adds(b, "  ]");
}

int sfsm_pipeline_to_json(const sfsm_pipeline *p, char **out, size_t *len)
{
    if (out)
        *out = NULL;
    if (!p || !out)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_pipeline_to_json: %s is NULL", p ? "out" : "pipeline");
    size_t most = p->stage_count > p->role_count ? p->stage_count : p->role_count;
    if (most < SFSM_MAX_GUARDS_PER_EVENT)
        most = SFSM_MAX_GUARDS_PER_EVENT;
    const char **scratch = sfsm__calloc(most, sizeof *scratch);
    if (!scratch)
        return sfsm_error_set(SFSM_ENOMEM, "out of memory printing pipeline '%s'", p->name);
    sfsm_buf b = { 0 };
    sfsm__buf_adds(&b, "{\n  \"format\": \"salesfsm-pipeline\",\n  \"format_version\": 1,\n  \"name\": ");
    add_str(&b, p->name);
    sfsm__buf_adds(&b, ",\n  \"version\": ");
    add_int(&b, p->version);
    sfsm__buf_adds(&b, ",\n  \"initial\": ");
    add_str(&b, p->stages[p->initial].name);
    sfsm__buf_adds(&b, ",\n");
    write_stages(&b, p);
    sfsm__buf_adds(&b, "  \"roles\": ");
    add_list(&b, (const char *const *)p->roles, p->role_count);
    sfsm__buf_adds(&b, ",\n");
    write_events(&b, p, scratch);
    write_migrations(&b, p);
    sfsm__buf_adds(&b, "\n}\n");
    sfsm__free(scratch);
    size_t n = b.len;
    char *s = sfsm__buf_take(&b);
    if (!s)
        return sfsm_error_set(SFSM_ENOMEM, "out of memory printing pipeline '%s'", p->name);
    *out = s;
    if (len)
        *len = n;
    return SFSM_OK;
}
