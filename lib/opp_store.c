/* Opportunity handles meet the store: create, open, save, history, scan. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <salesfsm/engine.h>
#include <salesfsm/opp.h>

#include "alloc.h"
#include "engine_impl.h"
#include "opp_impl.h"
#include "record_check.h"
#include "store_impl.h"
#include "text.h"

int sfsm_create_options_init(sfsm_create_options *opts, unsigned int version)
{
    if (!opts)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_create_options_init: opts is NULL");
    if (version != SFSM_CREATE_OPTIONS_VERSION)
        return sfsm_error_set(SFSM_EVERSION, "sfsm_create_options_init: version %u unknown (expected %d)", version,
                              SFSM_CREATE_OPTIONS_VERSION);
    *opts = (sfsm_create_options)SFSM_CREATE_OPTIONS_INIT;
    return SFSM_OK;
}

int sfsm_filter_init(sfsm_filter *f, unsigned int version)
{
    if (!f)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_filter_init: filter is NULL");
    if (version != SFSM_FILTER_VERSION)
        return sfsm_error_set(SFSM_EVERSION, "sfsm_filter_init: version %u unknown (expected %d)", version,
                              SFSM_FILTER_VERSION);
    *f = (sfsm_filter)SFSM_FILTER_INIT;
    return SFSM_OK;
}

/* Random bytes are fetched 512 at a time: one system call per 32 ids. */
static _Thread_local unsigned char t_pool[512] SFSM_TLS_FAST;
static _Thread_local size_t t_pool_left SFSM_TLS_FAST;

static int generate_id(char out[33])
{
    if (t_pool_left < 16) {
        if (getrandom(t_pool, sizeof t_pool, 0) != (ssize_t)sizeof t_pool)
            return sfsm_error_set(SFSM_ESTORAGE, "cannot read random bytes to generate an opportunity id");
        t_pool_left = sizeof t_pool;
    }
    const unsigned char *raw = t_pool + sizeof t_pool - t_pool_left;
    t_pool_left -= 16;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < 16; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[32] = '\0';
    return SFSM_OK;
}

static int apply_options(sfsm_opp *o, const sfsm_create_options *opts)
{
    int rc = SFSM_OK;
    if (opts->customer && *opts->customer)
        rc = sfsm_opp_set_customer(o, opts->customer);
    if (!rc && opts->owner && *opts->owner)
        rc = sfsm_opp_set_owner(o, opts->owner);
    if (!rc && opts->title && *opts->title)
        rc = sfsm_opp_set_title(o, opts->title);
    if (!rc && opts->currency)
        rc = sfsm_opp_set_amount(o, opts->amount, opts->currency);
    if (!rc && opts->amount != 0 && !opts->currency)
        rc = sfsm_error_set(SFSM_EINVAL, "amount %lld given without a currency", (long long)opts->amount);
    if (!rc && opts->expected_close_ms)
        rc = sfsm_opp_set_expected_close(o, opts->expected_close_ms);
    return rc;
}

int sfsm_opp_create_ext(sfsm_engine *e, const sfsm_create_options *opts, sfsm_opp **out)
{
    if (out)
        *out = NULL;
    if (!e || !opts || !out)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_opp_create: %s is NULL", !e ? "engine" : !opts ? "opts" : "out");
    if (opts->version != SFSM_CREATE_OPTIONS_VERSION)
        return sfsm_error_set(SFSM_EVERSION, "sfsm_opp_create_ext: options version %u unknown (expected %d)",
                              opts->version, SFSM_CREATE_OPTIONS_VERSION);
    char generated[33];
    const char *id = opts->id;
    int rc;
    if (id) {
        if ((rc = sfsm__check_name("id", id, SFSM_MAX_ID)))
            return rc;
    } else {
        if ((rc = generate_id(generated)))
            return rc;
        id = generated;
    }
    if ((rc = sfsm__check_actor_role(e->p, opts->actor)))
        return rc;
    sfsm_opp *o = sfsm__calloc(1, sizeof *o);
    if (!o || !(o->id = sfsm__strdup(id))) {
        sfsm__free(o);
        return sfsm_error_set(SFSM_ENOMEM, "out of memory creating opportunity '%s'", id);
    }
    o->pipeline = e->p;
    o->stage = e->p->initial;
    o->version = 1;
    if ((rc = apply_options(o, opts))) {
        sfsm_opp_free(o);
        return rc;
    }
    if ((rc = sfsm__engine_now(e, &o->created))) {
        sfsm_opp_free(o);
        return rc;
    }
    o->updated = o->entered = o->created;
    int oom;
    char *changes = sfsm__opp_changes_json(o, o->unsaved, &oom);
    if (oom) {
        sfsm_opp_free(o);
        return sfsm_error_set(SFSM_ENOMEM, "out of memory creating opportunity '%s'", id);
    }
    sfsm_record rec;
    sfsm__opp_to_record(o, &rec, NULL);   /* a new opportunity has no attributes */
    const sfsm_actor *a = opts->actor;
    sfsm_history_entry h = { 1, o->created, SFSM_HISTORY_CREATE, NULL, NULL, rec.stage, a ? a->name : NULL,
                             a ? a->role : NULL, NULL, o->unsaved, changes };
    rc = sfsm__engine_write(e, &rec, 0, SFSM_FIELD_ALL, &h);
    sfsm__free(changes);
    if (rc) {
        sfsm_opp_free(o);
        return rc;
    }
    o->unsaved = 0;
    *out = o;
    return SFSM_OK;
}

int sfsm_opp_create(sfsm_engine *e, const char *id, sfsm_opp **out)
{
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = id;
    if (id && !*id) {
        if (out)
            *out = NULL;
        return sfsm_error_set(SFSM_EINVAL, "id: must not be empty");
    }
    return sfsm_opp_create_ext(e, &opts, out);
}

int sfsm_opp_open(sfsm_engine *e, const char *id, sfsm_opp **out)
{
    if (out)
        *out = NULL;
    if (!e || !id || !out)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_opp_open: %s is NULL", !e ? "engine" : !id ? "id" : "out");
    int rc = sfsm__check_name("id", id, SFSM_MAX_ID);
    if (rc)
        return rc;
    sfsm_store *s = e->s;
    if ((rc = sfsm__store_enter(s)))
        return rc;
    sfsm_record rec;
    memset(&rec, 0, sizeof rec);
    rc = s->ops.get(s->backend, id, &rec);
    if (rc == SFSM_OK)
        rc = sfsm__opp_from_record(e->p, &rec, out);   /* copies before the backend's next call */
    sfsm__store_leave(s);
    return rc;
}

int sfsm_opp_save_as(sfsm_engine *e, sfsm_opp *o, const sfsm_actor *actor, const char *note)
{
    int rc = sfsm__engine_check_args(e, o, "sfsm_opp_save");
    if (rc || (rc = sfsm__check_actor_role(e->p, actor)) || (rc = sfsm__check_text("note", note, SFSM_MAX_TEXT)) ||
        (rc = sfsm__engine_check_idle(e, o, "sfsm_opp_save")))
        return rc;
    if (!o->unsaved)
        return SFSM_OK;
    int64_t now;
    if ((rc = sfsm__check_next_version(o, "sfsm_opp_save")) || (rc = sfsm__engine_now(e, &now)))
        return rc;
    int oom;
    char *changes = sfsm__opp_changes_json(o, o->unsaved, &oom);
    sfsm_attr attrs_stack[16];
    sfsm_attr *attrs = attrs_stack;
    if (oom || (o->attr_count > 16 && !(attrs = sfsm__calloc(o->attr_count, sizeof *attrs)))) {
        sfsm__free(changes);
        return sfsm_error_set(SFSM_ENOMEM, "out of memory saving opportunity '%s'", o->id);
    }
    sfsm_record rec;
    sfsm__opp_to_record(o, &rec, attrs);
    rec.version = o->version + 1;
    rec.updated_ms = now;
    sfsm_history_entry h = { rec.version, now, SFSM_HISTORY_UPDATE, NULL, rec.stage, rec.stage,
                             actor ? actor->name : NULL, actor ? actor->role : NULL, note, o->unsaved, changes };
    rc = sfsm__engine_write(e, &rec, o->version, o->unsaved, &h);
    sfsm__free(changes);
    if (attrs != attrs_stack)
        sfsm__free(attrs);
    if (rc)
        return rc;
    o->version = rec.version;
    o->updated = now;
    o->unsaved = 0;
    return SFSM_OK;
}

int sfsm_opp_save(sfsm_engine *e, sfsm_opp *o)
{
    return sfsm_opp_save_as(e, o, NULL, NULL);
}

typedef struct checked_history {
    sfsm__history_check check;
    const sfsm_pipeline *p;   /* NULL: the entries' stages are not checked */
    uint64_t version;         /* the record's: its number of entries */
    uint64_t unknown_at;      /* see read_checked */
    char unknown[SFSM_LABEL_SIZE];
    sfsm_history_cb cb;
    void *ud;
    int bad;   /* the check stopped the read: its code, not the caller's */
} checked_history;

static int check_entry(const sfsm_history_entry *h, void *ud)
{
    checked_history *c = ud;
    if ((c->bad = sfsm__history_check_entry(&c->check, h)))
        return c->bad;
    if (h->version > c->version) {
        char label[SFSM_LABEL_SIZE];
        return c->bad = sfsm_error_set(SFSM_ESTORAGE,
                                       "stored opportunity '%s': history version %llu: above the record's version %llu",
                                       sfsm__label(label, c->check.id), (unsigned long long)h->version,
                                       (unsigned long long)c->version);
    }
    if (c->p) {
        if (h->kind == SFSM_HISTORY_MIGRATE)
            c->unknown_at = 0;   /* what came before was an earlier version's */
        if (!c->unknown_at && sfsm__name_find(&c->p->stage_ix, &c->p->stages[0].name, sizeof(stage_def), h->to) < 0) {
            c->unknown_at = h->version;
            sfsm__label(c->unknown, h->to);
        }
    }
    return c->cb(h, c->ud);
}

/* The record, then its history, under one hold of the store: the history
 * must be as long as the record's version and end at its stage. If the
 * record is under the engine's pipeline at its version, every entry since
 * the last migrate entry (every entry, without one) was written under that
 * version: its stages must be the pipeline's (docs/reports.md). These are
 * known only at the end: cb has seen the entries by then. */
static int read_checked(sfsm_engine *e, const char *id, checked_history *c)
{
    sfsm_store *s = e->s;
    sfsm_record rec;
    memset(&rec, 0, sizeof rec);
    char label[SFSM_LABEL_SIZE], stage[SFSM_MAX_NAME + 1];
    int rc = s->ops.get(s->backend, id, &rec);
    if (rc || (rc = sfsm__record_check(NULL, &rec)))
        return rc;
    /* what get handed back lasts until the next call */
    memcpy(stage, rec.stage, strlen(rec.stage) + 1);   /* checked: at most SFSM_MAX_NAME bytes */
    c->version = rec.version;
    int current = (!rec.pipeline || strcmp(rec.pipeline, e->p->name) == 0) && rec.pipeline_version == e->p->version;
    c->p = current ? e->p : NULL;
    s->in_callback++;
    rc = s->ops.read_history(s->backend, id, check_entry, c);
    s->in_callback--;
    if (c->bad || rc)
        return c->bad ? c->bad : rc;
    uint64_t n = c->check.next - 1;
    if (n != c->version)
        return sfsm_error_set(SFSM_ESTORAGE,
                              "stored opportunity '%s': history: %llu entries, but the record is at version %llu "
                              "(one entry per version)",
                              sfsm__label(label, id), (unsigned long long)n, (unsigned long long)c->version);
    if (strcmp(c->check.prev_to, stage) != 0) {
        char l2[SFSM_LABEL_SIZE], l3[SFSM_LABEL_SIZE];
        return sfsm_error_set(SFSM_ESTORAGE, "stored opportunity '%s': stage: '%s', but its last history entry "
                                             "(version %llu) ends at '%s'",
                              sfsm__label(label, id), sfsm__label(l2, stage), (unsigned long long)n,
                              sfsm__label(l3, c->check.prev_to));
    }
    if (c->unknown_at)
        return sfsm_error_set(SFSM_ESTORAGE,
                              "stored opportunity '%s': history version %llu: to: '%s' is not a stage of pipeline "
                              "'%s' version %u (the version of the entries since the last migration)",
                              sfsm__label(label, id), (unsigned long long)c->unknown_at, c->unknown, e->p->name,
                              e->p->version);
    return SFSM_OK;
}

int sfsm_opp_history(sfsm_engine *e, const char *id, sfsm_history_cb cb, void *ud)
{
    if (!e || !id || !cb)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_opp_history: %s is NULL", !e ? "engine" : !id ? "id" : "cb");
    int rc = sfsm__check_name("id", id, SFSM_MAX_ID);
    if (rc)
        return rc;
    checked_history c;
    memset(&c, 0, sizeof c);
    c.cb = cb;
    c.ud = ud;
    sfsm__history_check_init(&c.check, id);
    if ((rc = sfsm__store_enter(e->s)))
        return rc;
    rc = read_checked(e, id, &c);
    sfsm__store_leave(e->s);
    return rc;
}

typedef struct scan_ctx {
    sfsm_engine *e;
    sfsm_scan_cb cb;
    void *ud;
    int err;
} scan_ctx;

static int scan_one(const sfsm_record *rec, void *ud)
{
    scan_ctx *c = ud;
    if (rec->pipeline && strcmp(rec->pipeline, c->e->p->name) != 0)
        return 0;   /* another pipeline's opportunity sharing the store */
    sfsm_opp *o;
    int rc = sfsm__opp_from_record(c->e->p, rec, &o);
    if (rc) {
        c->err = 1;
        return rc;
    }
    rc = c->cb(o, c->ud);
    sfsm_opp_free(o);
    return rc;
}

int sfsm_scan(sfsm_engine *e, const sfsm_filter *f, sfsm_scan_cb cb, void *ud)
{
    if (!e || !cb)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_scan: %s is NULL", e ? "cb" : "engine");
    sfsm_filter all = SFSM_FILTER_INIT;
    if (!f)
        f = &all;
    if (f->version != SFSM_FILTER_VERSION)
        return sfsm_error_set(SFSM_EVERSION, "sfsm_scan: filter version %u unknown (expected %d)", f->version,
                              SFSM_FILTER_VERSION);
    if (f->stage && sfsm__name_find(&e->p->stage_ix, &e->p->stages[0].name, sizeof(stage_def), f->stage) < 0)
        return sfsm_error_set(SFSM_ENOTFOUND, "sfsm_scan: unknown stage '%.*s' in pipeline '%s'", SFSM_MAX_NAME, f->stage,
                              e->p->name);
    /* Backends see the filter version of their ops version, whatever the
     * application was compiled with. */
    sfsm_filter v1 = { 1, f->stage, f->owner, f->customer, f->changed_since_ms };
    scan_ctx c = { e, cb, ud, 0 };
    return sfsm__store_scan(e->s, &v1, scan_one, &c);
}
