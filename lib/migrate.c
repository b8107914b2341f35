/* Pipelines change over the years: checking a store against a pipeline
 * before an engine uses it, and moving opportunities stored under an earlier
 * version of the pipeline to the current one. */
#include <stdio.h>
#include <string.h>

#include <salesfsm/engine.h>

#include "alloc.h"
#include "engine_impl.h"
#include "record_check.h"
#include "store_impl.h"
#include "text.h"

/* ---- the check at sfsm_engine_new ---- */

/* How an opportunity's stage fits the engine's pipeline. A stage no version
 * can have (NULL, empty, not a name) or one missing from the very version
 * the opportunity was stored under is damage. A stage of another version
 * that no migration maps is a version problem: an older version may well
 * have had it (the pipeline does not list old versions' stages), and a
 * newer version's opportunities need a newer pipeline. */
enum fit { FITS, VERSION_GAP, DAMAGE };

static int name_ok(const char *s)
{
    return sfsm__text_fault(s, SFSM_MAX_NAME, 0, NULL) == SFSM_TEXT_OK;
}

static enum fit classify(const sfsm_pipeline *p, const char *pipeline, uint32_t version, const char *stage)
{
    if (pipeline && strcmp(pipeline, p->name) != 0)
        return FITS;   /* another pipeline's opportunities are not ours to judge */
    if (!name_ok(stage))
        return DAMAGE;
    if (sfsm__name_find(&p->stage_ix, &p->stages[0].name, sizeof(stage_def), stage) >= 0)
        return FITS;
    const char *to = NULL;
    if (version < p->version)
        sfsm_pipeline_migration(p, version, stage, &to);
    if (to)
        return FITS;
    return version == p->version ? DAMAGE : VERSION_GAP;
}

typedef struct misfit {
    char *stage;       /* NULL for a NULL stage */
    enum fit fit;
    uint64_t count;
} misfit;

typedef struct check_ctx {
    const sfsm_pipeline *p;
    misfit *v;
    size_t n, cap;
    uint64_t total[3];   /* opportunities per enum fit */
    int oom;
    enum fit want;       /* the kind find_first looks for */
    char first[SFSM_LABEL_SIZE], first_stage[SFSM_LABEL_SIZE + 2];   /* its id and quoted stage */
} check_ctx;

static int same_stage(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

/* Counts `count` opportunities at this stage that do not fit. */
static int check_one(const char *pipeline, uint32_t version, const char *stage, uint64_t count, void *ud)
{
    check_ctx *c = ud;
    enum fit fit = classify(c->p, pipeline, version, stage);
    if (fit == FITS)
        return 0;
    c->total[fit] += count;
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].fit == fit && same_stage(c->v[i].stage, stage)) {
            c->v[i].count += count;
            return 0;
        }
    char *copy = stage ? sfsm__strdup(stage) : NULL;
    if ((stage && !copy) || sfsm__grow((void **)&c->v, &c->cap, c->n + 1, sizeof *c->v)) {
        sfsm__free(copy);
        c->oom = 1;
        return 1;
    }
    c->v[c->n++] = (misfit){ copy, fit, count };
    return 0;
}

static int scan_one(const sfsm_record *r, void *ud)
{
    return check_one(r->pipeline, r->pipeline_version, r->stage, 1, ud);
}

/* Stops the scan at the first opportunity of the kind the message is about. */
static int find_first(const sfsm_record *r, void *ud)
{
    check_ctx *c = ud;
    if (classify(c->p, r->pipeline, r->pipeline_version, r->stage) != c->want)
        return 0;
    sfsm__label(c->first, r->id);
    char label[SFSM_LABEL_SIZE];
    snprintf(c->first_stage, sizeof c->first_stage, r->stage ? "'%s'" : "%s",
             r->stage ? sfsm__label(label, r->stage) : "NULL");
    return 1;
}

static int report_misfits(check_ctx *c, sfsm_store *s)
{
    c->want = c->total[DAMAGE] ? DAMAGE : VERSION_GAP;
    sfsm_filter all = SFSM_FILTER_INIT;
    int rc = s->ops.scan(s->backend, &all, find_first, c);
    if (rc != SFSM_OK && rc != 1)
        return rc;
    if (rc != 1) {   /* counted, then not found: a backend that does not agree with itself */
        memcpy(c->first, "(not found by a scan)", sizeof "(not found by a scan)");
        memcpy(c->first_stage, "?", 2);
    }
    char list[768] = "";
    size_t used = 0;
    for (size_t i = 0; i < c->n && used < sizeof list - 1; i++) {
        if (c->v[i].fit != c->want)
            continue;
        char label[SFSM_LABEL_SIZE];
        int w = snprintf(list + used, sizeof list - used, "%s%s%s%s (%llu)", used ? ", " : "",
                         c->v[i].stage ? "'" : "", c->v[i].stage ? sfsm__label(label, c->v[i].stage) : "NULL",
                         c->v[i].stage ? "'" : "", (unsigned long long)c->v[i].count);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    char name[SFSM_LABEL_SIZE];
    sfsm__label(name, c->p->name);
    unsigned long long n = (unsigned long long)c->total[c->want];
    if (c->want == DAMAGE)
        return sfsm_error_set(SFSM_ESTORAGE,
                              "stored opportunity '%s': stage %s is not a stage of pipeline '%s' version %u, the "
                              "version it is stored under (%llu opportunit%s at such stages: %s)",
                              c->first, c->first_stage, name, c->p->version, n, n == 1 ? "y" : "ies", list);
    return sfsm_error_set(SFSM_EVERSION,
                          "the store has %llu opportunit%s of pipeline '%s' (the first: '%s') in stages version %u "
                          "does not have and no migration maps: %s",
                          n, n == 1 ? "y" : "ies", name, c->first, c->p->version, list);
}

int sfsm__engine_check_store(sfsm_engine *e)
{
    sfsm_store *s = e->s;
    int rc = sfsm__store_enter(s);
    if (rc)
        return rc;
    if (s->checked == e->p->fingerprint) {
        sfsm__store_leave(s);
        return SFSM_OK;
    }
    check_ctx c;
    memset(&c, 0, sizeof c);
    c.p = e->p;
    if (s->ops.stage_counts) {
        rc = s->ops.stage_counts(s->backend, check_one, &c);
    } else {
        sfsm_filter all = SFSM_FILTER_INIT;
        rc = s->ops.scan(s->backend, &all, scan_one, &c);
    }
    if (c.oom)
        rc = sfsm_error_set(SFSM_ENOMEM, "out of memory checking the store against pipeline '%s'", e->p->name);
    else if (rc == SFSM_OK && c.n)
        rc = report_misfits(&c, s);
    if (rc == SFSM_OK)
        s->checked = e->p->fingerprint;
    sfsm__store_leave(s);
    for (size_t i = 0; i < c.n; i++)
        sfsm__free(c.v[i].stage);
    sfsm__free(c.v);
    return rc;
}

/* ---- sfsm_engine_migrate ---- */

typedef struct mover {
    char *id, *from;
    uint32_t from_version;
    uint32_t to;             /* stage index */
} mover;

typedef struct migrate_ctx {
    const sfsm_pipeline *p;
    mover *v;
    size_t n, cap;
    int rc;
} migrate_ctx;

static int collect(const sfsm_record *r, void *ud)
{
    migrate_ctx *c = ud;
    const sfsm_pipeline *p = c->p;
    if ((r->pipeline && strcmp(r->pipeline, p->name) != 0) || r->pipeline_version >= p->version)
        return 0;
    /* another version's stage: only well formed, the mapping is checked below */
    if ((c->rc = sfsm__record_check(NULL, r)))
        return 1;
    if (r->version >= SFSM_MAX_VERSION) {
        c->rc = sfsm_error_set(SFSM_EINVAL,
                               "opportunity '%s' is at version %llu, the highest there is: it cannot take the "
                               "migrate entry; nothing was migrated",
                               r->id, (unsigned long long)r->version);
        return 1;
    }
    const char *to = NULL;
    long stage = sfsm__name_find(&p->stage_ix, &p->stages[0].name, sizeof(stage_def), r->stage);
    sfsm_pipeline_migration(p, r->pipeline_version, r->stage, &to);
    if (to)
        stage = sfsm__name_find(&p->stage_ix, &p->stages[0].name, sizeof(stage_def), to);
    if (stage < 0) {
        c->rc = sfsm_error_set(SFSM_EINVAL,
                               "opportunity '%s' sits at stage '%s' of version %u, which version %u of pipeline '%s' "
                               "neither has nor maps; nothing was migrated",
                               r->id, r->stage, r->pipeline_version, p->version, p->name);
        return 1;
    }
    mover m = { sfsm__strdup(r->id), sfsm__strdup(r->stage), r->pipeline_version, (uint32_t)stage };
    if (!m.id || !m.from || sfsm__grow((void **)&c->v, &c->cap, c->n + 1, sizeof *c->v)) {
        sfsm__free(m.id);
        sfsm__free(m.from);
        c->rc = sfsm_error_set(SFSM_ENOMEM, "out of memory collecting opportunities to migrate");
        return 1;
    }
    c->v[c->n++] = m;
    return 0;
}

/* A deep copy of a record: what a backend hands back lasts only until its
 * next call, and the put below is that call. All strings live in one block. */
typedef struct record_copy {
    sfsm_record r;
    char *block;
    sfsm_attr *attrs;
} record_copy;

static const char *take(char **at, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(*at, s, n);
    *at += n;
    return *at - n;
}

static int copy_record(const sfsm_record *src, record_copy *c)
{
    size_t size = 1;
    const char *texts[] = { src->id, src->stage, src->currency, src->customer, src->owner, src->title, src->pipeline };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        size += texts[i] ? strlen(texts[i]) + 1 : 0;
    for (size_t k = 0; k < src->attr_count; k++)
        size += strlen(src->attrs[k].key) + strlen(src->attrs[k].value) + 2;
    c->block = sfsm__malloc(size);
    c->attrs = sfsm__calloc(src->attr_count ? src->attr_count : 1, sizeof *c->attrs);
    if (!c->block || !c->attrs) {
        sfsm__free(c->block);
        sfsm__free(c->attrs);
        return sfsm_error_set(SFSM_ENOMEM, "out of memory migrating '%s'", src->id);
    }
    char *at = c->block;
    c->r = *src;
    c->r.id = take(&at, src->id);
    c->r.stage = take(&at, src->stage);
    c->r.currency = take(&at, src->currency);
    c->r.customer = take(&at, src->customer);
    c->r.owner = take(&at, src->owner);
    c->r.title = take(&at, src->title);
    c->r.pipeline = take(&at, src->pipeline);
    for (size_t k = 0; k < src->attr_count; k++) {
        c->attrs[k].key = take(&at, src->attrs[k].key);
        c->attrs[k].value = take(&at, src->attrs[k].value);
    }
    c->r.attrs = c->attrs;
    return SFSM_OK;
}

/* Writes the moved record and its history entry. */
static int move_record(sfsm_store *s, const sfsm_pipeline *p, const mover *m, const sfsm_record *rp,
                       const sfsm_actor *actor, int64_t now)
{
    sfsm_record r = *rp;
    int rc;
    if (r.pipeline_version != m->from_version || strcmp(r.stage, m->from) != 0)
        return sfsm_error_set(SFSM_ECONFLICT, "opportunity '%s' changed while it was being migrated", m->id);
    uint64_t expected = r.version;
    const char *to = p->stages[m->to].name;
    int moved_stage = strcmp(to, m->from) != 0;
    char note[160];
    snprintf(note, sizeof note, "pipeline '%.64s' version %u -> %u", p->name, m->from_version, p->version);
    r.stage = to;
    r.version = expected + 1;
    r.updated_ms = now;
    if (moved_stage)
        r.stage_entered_ms = now;
    r.pipeline = p->name;
    r.pipeline_version = p->version;
    sfsm_history_entry h = { expected + 1, now, SFSM_HISTORY_MIGRATE, NULL, m->from, to,
                             actor ? actor->name : NULL, actor ? actor->role : NULL, note, 0, NULL };
    if ((rc = s->ops.put(s->backend, &r, expected, 0)))
        return rc;
    return s->ops.append_history(s->backend, m->id, &h);
}

/* Moves one opportunity inside the open transaction. */
static int move_one(sfsm_engine *e, const mover *m, const sfsm_actor *actor, int64_t now)
{
    sfsm_store *s = e->s;
    const sfsm_pipeline *p = e->p;
    sfsm_record got;
    memset(&got, 0, sizeof got);
    int rc = s->ops.get(s->backend, m->id, &got);
    record_copy c;
    if (rc || (rc = copy_record(&got, &c)))
        return rc;
    rc = move_record(s, p, m, &c.r, actor, now);
    sfsm__free(c.block);
    sfsm__free(c.attrs);
    return rc;
}

static void movers_free(migrate_ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        sfsm__free(c->v[i].id);
        sfsm__free(c->v[i].from);
    }
    sfsm__free(c->v);
}

int sfsm_engine_migrate(sfsm_engine *e, const sfsm_actor *actor, sfsm_migrate_cb cb, void *ud, size_t *moved)
{
    if (moved)
        *moved = 0;
    if (!e)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_engine_migrate: engine is NULL");
    if (e->running_count || e->announcing)
        return sfsm_error_set(SFSM_EBUSY, "sfsm_engine_migrate: not allowed from inside a hook");
    int rc = sfsm__check_actor_role(e->p, actor);
    if (rc)
        return rc;
    sfsm_store *s = e->s;
    if ((rc = sfsm__engine_begin_write(e)))
        return rc;
    migrate_ctx c = { e->p, NULL, 0, 0, SFSM_OK };
    sfsm_filter all = SFSM_FILTER_INIT;
    s->in_callback++;
    rc = s->ops.scan(s->backend, &all, collect, &c);
    s->in_callback--;
    if (c.rc)
        rc = c.rc;
    int64_t now = 0;
    if (rc == SFSM_OK && c.n)   /* only a move stores the time */
        rc = sfsm__engine_now(e, &now);
    for (size_t i = 0; rc == SFSM_OK && i < c.n; i++)
        rc = move_one(e, &c.v[i], actor, now);
    if (rc) {
        sfsm__store_rollback(s);
        movers_free(&c);
        return rc;
    }
    s->checked = 0;   /* the stages changed: check again next time (still under the lock) */
    if ((rc = sfsm__store_commit(s))) {
        movers_free(&c);
        return rc;
    }
    if (moved)
        *moved = c.n;
    for (size_t i = 0; cb && i < c.n; i++)
        if (cb(c.v[i].id, c.v[i].from_version, c.v[i].from, e->p->stages[c.v[i].to].name, ud))
            break;
    movers_free(&c);
    return SFSM_OK;
}
