/*
 * The in-memory backend. Built for the transition path: repeated names
 * (stages, events, actors, roles, currencies, customers, owners) are interned
 * once and referenced by 32-bit ids; free texts go to an append-only arena;
 * history lives in one array with a per-opportunity back link. Savepoints are
 * an undo log: each begin remembers its length, rollback replays it backwards.
 */
#include <string.h>

#include <salesfsm/sys/store.h>

#include "alloc.h"
#include "store_impl.h"
#include "text.h"

#define NONE 0u   /* id 0: no string */

typedef struct mattr {
    uint32_t key;     /* interned */
    uint32_t value;   /* text */
} mattr;

typedef struct mrec {
    uint32_t id;        /* text id of the opportunity id */
    uint32_t stage, currency, customer, owner, pipeline;  /* interned */
    uint32_t title;     /* text */
    uint32_t hist_last; /* index + 1 into the history array, 0: none */
    uint32_t pipeline_version;
    uint32_t attr_count;
    mattr *attrs;
    uint64_t version;
    int64_t amount, created, updated, entered, expected_close;
} mrec;

typedef struct mhist {
    int64_t at;
    uint32_t version;    /* mem_append refuses versions beyond 32 bits */
    uint32_t prev;       /* index + 1 of the previous entry of the same opp */
    uint32_t event, from, to, actor, role;   /* interned */
    uint32_t note, changes;                  /* text */
    uint8_t fields;      /* SFSM_FIELD_ALL fits in 8 bits */
    uint8_t kind;
} mhist;

/* Teams, targets and payments: small sorted arrays of fixed-size rows. */
typedef struct mteam {
    uint32_t owner, team;    /* interned; sorted by team name, then owner name */
} mteam;

typedef struct mtarget {
    uint32_t subject, currency;   /* interned */
    int32_t year, index;
    uint8_t subject_kind, period_kind;
    int64_t amount;
} mtarget;                   /* sorted by the key of sfsm_store_ops.target_scan */

typedef struct mpay {
    uint32_t rec;            /* record index: creation order */
    uint32_t currency;       /* interned */
    uint32_t note;           /* text */
    uint64_t seq;
    int64_t amount, at;
} mpay;                      /* sorted by rec, then seq */

typedef struct vec {
    char *data;
    size_t n, cap, elem;
} vec;

typedef union vrow {
    mteam team;
    mtarget target;
    mpay pay;
} vrow;

enum { UNDO_INSERT, UNDO_UPDATE, UNDO_HIST, UNDO_VEC_INSERT, UNDO_VEC_REMOVE, UNDO_VEC_SET };

typedef struct undo {
    int kind;
    uint32_t rec;
    mrec old;            /* UNDO_UPDATE: the record before */
    vec *v;              /* UNDO_VEC_*: the array, the row's position ... */
    size_t pos;
    vrow row;            /* ... and for REMOVE and SET the row before */
} undo;

/* Interned strings: an array of pointers into the arena plus a hash index. */
typedef struct strtab {
    const char **str;    /* str[0] is unused (NONE) */
    size_t count, cap;
    uint32_t *slots;     /* index + 0 (count starts at 1), 0: empty */
    uint32_t mask;
} strtab;

typedef struct arena_block {
    struct arena_block *next;
    size_t used, size;
    char data[];
} arena_block;

/* Records and history grow in fixed chunks: no copying and no doubling
 * slack, which would otherwise dominate the memory per opportunity. */
#define CHUNK_BITS 12
#define CHUNK_SIZE (1u << CHUNK_BITS)

typedef struct chunked {
    char **chunks;
    size_t nchunks, chunks_cap;
    size_t elem;
} chunked;

static void *ch_at(const chunked *c, size_t i)
{
    return c->chunks[i >> CHUNK_BITS] + (i & (CHUNK_SIZE - 1)) * c->elem;
}

/* Makes element index `i` addressable. */
static int ch_reserve(chunked *c, size_t i)
{
    size_t need = (i >> CHUNK_BITS) + 1;
    while (c->nchunks < need) {
        if (sfsm__grow((void **)&c->chunks, &c->chunks_cap, c->nchunks + 1, sizeof *c->chunks))
            return -1;
        char *chunk = sfsm__malloc(CHUNK_SIZE * c->elem);
        if (!chunk)
            return -1;
        c->chunks[c->nchunks++] = chunk;
    }
    return 0;
}

static void ch_free(chunked *c)
{
    for (size_t k = 0; k < c->nchunks; k++)
        sfsm__free(c->chunks[k]);
    sfsm__free(c->chunks);
}

/* Recently interned pointers: the engine passes the same pipeline names and
 * actor strings again and again, so most lookups end here. */
#define ICACHE_SIZE 256

typedef struct icache {
    const char *ptr;
    uint32_t id;
} icache;

typedef struct memstore {
    arena_block *arena;
    strtab names;        /* interned, deduplicated */
    const char **texts;  /* texts[0] unused; not deduplicated */
    size_t text_count, text_cap;
    chunked recs;        /* mrec */
    size_t rec_count;
    uint32_t *ix;        /* id index: rec index + 1, 0 empty */
    uint32_t ix_mask;
    chunked hist;        /* mhist */
    size_t hist_count;
    icache icache[ICACHE_SIZE];
    const char *last_id; /* the id of the last put, and its record */
    uint32_t last_rec;
    undo *log;
    size_t log_count, log_cap;
    size_t *marks;       /* undo log length at each open begin */
    size_t depth, marks_cap;
    mattr **garbage;     /* attr arrays replaced in the open transaction */
    size_t garbage_count, garbage_cap;
    vec teams, targets, pays;
    /* scratch for get/scan/history results */
    sfsm_attr *out_attrs;
    size_t out_attrs_cap;
} memstore;

#define REC(m, i) ((mrec *)ch_at(&(m)->recs, (i)))
#define HIST(m, i) ((mhist *)ch_at(&(m)->hist, (i)))

/* ---- arena and string tables ---- */

static const char *arena_copy(memstore *m, const char *s, size_t len)
{
    arena_block *b = m->arena;
    if (!b || b->size - b->used < len + 1) {
        size_t size = len + 1 > 60000 ? len + 1 : 60000;
        arena_block *nb = sfsm__malloc(sizeof *nb + size);
        if (!nb)
            return NULL;
        nb->next = b;
        nb->used = 0;
        nb->size = size;
        m->arena = b = nb;
    }
    char *d = b->data + b->used;
    memcpy(d, s, len);
    d[len] = '\0';
    b->used += len + 1;
    return d;
}

static int strtab_rehash(strtab *t, uint32_t size)
{
    uint32_t *slots = sfsm__calloc(size, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t k = 1; k < t->count; k++) {
        uint32_t i = sfsm__hash(t->str[k], strlen(t->str[k])) & (size - 1);
        while (slots[i])
            i = (i + 1) & (size - 1);
        slots[i] = (uint32_t)k;
    }
    sfsm__free(t->slots);
    t->slots = slots;
    t->mask = size - 1;
    return 0;
}

/* Interned id of s (NONE for NULL), adding it if new; -1 on out of memory. */
static long intern(memstore *m, const char *s)
{
    strtab *t = &m->names;
    if (!s)
        return NONE;
    /* all address bits count: two literals a few bytes apart must not share a slot */
    uint64_t a = (uint64_t)(uintptr_t)s * 0x9E3779B97F4A7C15ull;
    icache *c = &m->icache[a >> 56];
    if (c->ptr == s && strcmp(t->str[c->id], s) == 0)
        return c->id;
    size_t len = strlen(s);
    uint32_t h = sfsm__hash(s, len);
    if (t->slots) {
        for (uint32_t i = h & t->mask;; i = (i + 1) & t->mask) {
            uint32_t v = t->slots[i];
            if (!v)
                break;
            if (strcmp(t->str[v], s) == 0) {
                c->ptr = s;
                c->id = v;
                return v;
            }
        }
    }
    if ((t->count + 1) * 2 > (size_t)t->mask + 1 || !t->slots) {
        if (strtab_rehash(t, t->slots ? (t->mask + 1) * 2 : 64))
            return -1;
    }
    if (t->count == 0)
        t->count = 1;
    if (sfsm__grow((void **)&t->str, &t->cap, t->count + 1, sizeof *t->str))
        return -1;
    const char *copy = arena_copy(m, s, len);
    if (!copy)
        return -1;
    uint32_t i = h & t->mask;
    while (t->slots[i])
        i = (i + 1) & t->mask;
    t->str[t->count] = copy;
    t->slots[i] = (uint32_t)t->count;
    c->ptr = s;
    c->id = (uint32_t)t->count;
    return (long)t->count++;
}

/* Text id of a copy of s (NONE for NULL); -1 on out of memory. */
static long text_add(memstore *m, const char *s)
{
    if (!s)
        return NONE;
    if (m->text_count == 0)
        m->text_count = 1;
    if (sfsm__grow((void **)&m->texts, &m->text_cap, m->text_count + 1, sizeof *m->texts))
        return -1;
    const char *copy = arena_copy(m, s, strlen(s));
    if (!copy)
        return -1;
    m->texts[m->text_count] = copy;
    return (long)m->text_count++;
}

static const char *name_of(const memstore *m, uint32_t id)
{
    return id ? m->names.str[id] : NULL;
}

static const char *text_of(const memstore *m, uint32_t id)
{
    return id ? m->texts[id] : NULL;
}

/* ---- id index ---- */

static uint32_t ix_hash(const char *id)
{
    return sfsm__hash(id, strlen(id));
}

static long find_rec(const memstore *m, const char *id)
{
    if (!m->ix)
        return -1;
    if (id == m->last_id && m->last_rec < m->rec_count && strcmp(text_of(m, REC(m, m->last_rec)->id), id) == 0)
        return m->last_rec;
    for (uint32_t i = ix_hash(id) & m->ix_mask;; i = (i + 1) & m->ix_mask) {
        uint32_t v = m->ix[i];
        if (!v)
            return -1;
        if (strcmp(text_of(m, REC(m, v - 1)->id), id) == 0)
            return (long)(v - 1);
    }
}

static void ix_place(uint32_t *ix, uint32_t mask, uint32_t h, uint32_t v)
{
    uint32_t i = h & mask;
    while (ix[i])
        i = (i + 1) & mask;
    ix[i] = v;
}

static int ix_reserve(memstore *m, size_t count)
{
    if (m->ix && count * 2 <= (size_t)m->ix_mask + 1)
        return 0;
    uint32_t size = m->ix ? (m->ix_mask + 1) * 2 : 1024;
    uint32_t *ix = sfsm__calloc(size, sizeof *ix);
    if (!ix)
        return -1;
    for (size_t k = 0; k < m->rec_count; k++)
        ix_place(ix, size - 1, ix_hash(text_of(m, REC(m, k)->id)), (uint32_t)k + 1);
    sfsm__free(m->ix);
    m->ix = ix;
    m->ix_mask = size - 1;
    return 0;
}

/* Removes record index r from the id index (backward-shift deletion). */
static void ix_remove(memstore *m, uint32_t r)
{
    uint32_t mask = m->ix_mask, i = ix_hash(text_of(m, REC(m, r)->id)) & mask;
    while (m->ix[i] != r + 1)
        i = (i + 1) & mask;
    for (uint32_t j = (i + 1) & mask; m->ix[j]; j = (j + 1) & mask) {
        uint32_t home = ix_hash(text_of(m, REC(m, m->ix[j] - 1)->id)) & mask;
        /* move j into the hole at i if its home is not in (i, j] cyclically */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->ix[i] = m->ix[j];
            i = j;
        }
    }
    m->ix[i] = 0;
}

/* ---- sorted arrays ---- */

static void *vec_at(const vec *v, size_t i)
{
    return v->data + i * v->elem;
}

static int vec_reserve(vec *v, size_t n)
{
    return sfsm__grow((void **)&v->data, &v->cap, n, v->elem);
}

/* Needs room for one more (vec_reserve). */
static void vec_insert(vec *v, size_t pos, const void *row)
{
    memmove(v->data + (pos + 1) * v->elem, v->data + pos * v->elem, (v->n - pos) * v->elem);
    memcpy(v->data + pos * v->elem, row, v->elem);
    v->n++;
}

static void vec_remove(vec *v, size_t pos)
{
    memmove(v->data + pos * v->elem, v->data + (pos + 1) * v->elem, (v->n - pos - 1) * v->elem);
    v->n--;
}

/* ---- undo log ---- */

/* Room for `n` more undo entries, so that the pushes after a change cannot
 * fail. */
static int log_reserve(memstore *m, size_t n)
{
    return m->depth && sfsm__grow((void **)&m->log, &m->log_cap, m->log_count + n, sizeof *m->log) ? -1 : 0;
}

/* Records a change of a sorted array (room reserved with log_reserve). */
static void log_vec(memstore *m, int kind, vec *v, size_t pos, const void *old)
{
    if (m->depth == 0)
        return;
    undo *u = &m->log[m->log_count++];
    u->kind = kind;
    u->v = v;
    u->pos = pos;
    if (old)
        memcpy(&u->row, old, v->elem);
}

static int log_push(memstore *m, int kind, uint32_t rec)
{
    if (m->depth == 0)
        return 0;
    if (sfsm__grow((void **)&m->log, &m->log_cap, m->log_count + 1, sizeof *m->log))
        return -1;
    undo *u = &m->log[m->log_count++];
    u->kind = kind;
    u->rec = rec;
    if (kind == UNDO_UPDATE)
        u->old = *REC(m, rec);
    else if (kind == UNDO_HIST)
        u->old.hist_last = REC(m, rec)->hist_last;
    return 0;
}

static void undo_to(memstore *m, size_t mark)
{
    while (m->log_count > mark) {
        undo *u = &m->log[--m->log_count];
        mrec *r = u->kind <= UNDO_HIST ? REC(m, u->rec) : NULL;
        switch (u->kind) {
        case UNDO_INSERT:
            ix_remove(m, u->rec);
            sfsm__free(r->attrs);
            m->rec_count--;
            break;
        case UNDO_UPDATE:
            if (r->attrs != u->old.attrs) {
                sfsm__free(r->attrs);
                /* the old array is back in use: take it off the garbage list */
                for (size_t g = m->garbage_count; g-- > 0;)
                    if (m->garbage[g] == u->old.attrs) {
                        m->garbage[g] = m->garbage[--m->garbage_count];
                        break;
                    }
            }
            *r = u->old;
            break;
        case UNDO_HIST:
            m->hist_count--;
            r->hist_last = u->old.hist_last;
            break;
        case UNDO_VEC_INSERT:
            vec_remove(u->v, u->pos);
            break;
        case UNDO_VEC_REMOVE:
            vec_insert(u->v, u->pos, &u->row);   /* the room it had is still there */
            break;
        case UNDO_VEC_SET:
            memcpy(vec_at(u->v, u->pos), &u->row, u->v->elem);
            break;
        }
    }
}

/* ---- ops ---- */

static int mem_begin(void *b)
{
    memstore *m = b;
    if (sfsm__grow((void **)&m->marks, &m->marks_cap, m->depth + 1, sizeof *m->marks))
        return sfsm_error_set(SFSM_ENOMEM, "memory store: out of memory starting a transaction");
    m->marks[m->depth++] = m->log_count;
    return SFSM_OK;
}

static int mem_commit(void *b)
{
    memstore *m = b;
    if (m->depth == 0)
        return sfsm_error_set(SFSM_EINVAL, "memory store: commit without a transaction");
    if (--m->depth == 0) {
        m->log_count = 0;
        for (size_t g = 0; g < m->garbage_count; g++)
            sfsm__free(m->garbage[g]);
        m->garbage_count = 0;
    }
    return SFSM_OK;
}

static int mem_rollback(void *b)
{
    memstore *m = b;
    if (m->depth == 0)
        return sfsm_error_set(SFSM_EINVAL, "memory store: rollback without a transaction");
    undo_to(m, m->marks[--m->depth]);
    return SFSM_OK;
}

static void fill_record(memstore *m, const mrec *r, sfsm_record *out, const sfsm_attr *attrs)
{
    out->id = text_of(m, r->id);
    out->stage = name_of(m, r->stage);
    out->version = r->version;
    out->amount = r->amount;
    out->currency = name_of(m, r->currency);
    out->customer = name_of(m, r->customer);
    out->owner = name_of(m, r->owner);
    out->title = text_of(m, r->title);
    out->expected_close_ms = r->expected_close;
    out->created_ms = r->created;
    out->updated_ms = r->updated;
    out->stage_entered_ms = r->entered;
    out->attrs = attrs;
    out->attr_count = r->attr_count;
    out->pipeline = name_of(m, r->pipeline);
    out->pipeline_version = r->pipeline_version;
}

static int export_record(memstore *m, const mrec *r, sfsm_record *out)
{
    if (sfsm__grow((void **)&m->out_attrs, &m->out_attrs_cap, r->attr_count, sizeof *m->out_attrs))
        return sfsm_error_set(SFSM_ENOMEM, "memory store: out of memory reading attributes");
    for (uint32_t k = 0; k < r->attr_count; k++) {
        m->out_attrs[k].key = name_of(m, r->attrs[k].key);
        m->out_attrs[k].value = text_of(m, r->attrs[k].value);
    }
    fill_record(m, r, out, m->out_attrs);
    return SFSM_OK;
}

static int mem_get(void *b, const char *id, sfsm_record *out)
{
    memstore *m = b;
    long r = find_rec(m, id);
    if (r < 0)
        return sfsm_error_set(SFSM_ENOTFOUND, "opportunity '%.*s' not found", SFSM_MAX_ID, id);
    return export_record(m, REC(m, r), out);
}

#define INTERN_INTO(dst, s)            \
    do {                               \
        long v_ = intern(m, (s));      \
        if (v_ < 0)                    \
            goto oom;                  \
        (dst) = (uint32_t)v_;          \
    } while (0)

#define TEXT_INTO(dst, s)              \
    do {                               \
        long v_ = text_add(m, (s));    \
        if (v_ < 0)                    \
            goto oom;                  \
        (dst) = (uint32_t)v_;          \
    } while (0)

/* Builds the fields of `changed` from rec into *r (which holds the rest). */
static int convert(memstore *m, const sfsm_record *rec, uint32_t changed, mrec *r)
{
    mattr *attrs = NULL;
    INTERN_INTO(r->stage, rec->stage);
    INTERN_INTO(r->pipeline, rec->pipeline);
    r->version = rec->version;
    r->created = rec->created_ms;
    r->updated = rec->updated_ms;
    r->entered = rec->stage_entered_ms;
    r->pipeline_version = rec->pipeline_version;
    if (changed & SFSM_FIELD_AMOUNT) {
        r->amount = rec->amount;
        INTERN_INTO(r->currency, rec->currency);
    }
    if (changed & SFSM_FIELD_CUSTOMER)
        INTERN_INTO(r->customer, rec->customer);
    if (changed & SFSM_FIELD_OWNER)
        INTERN_INTO(r->owner, rec->owner);
    if (changed & SFSM_FIELD_TITLE)
        TEXT_INTO(r->title, rec->title);
    if (changed & SFSM_FIELD_EXPECTED_CLOSE)
        r->expected_close = rec->expected_close_ms;
    if (changed & SFSM_FIELD_ATTRS) {
        if (rec->attr_count) {
            attrs = sfsm__calloc(rec->attr_count, sizeof *attrs);
            if (!attrs)
                goto oom;
            for (size_t k = 0; k < rec->attr_count; k++) {
                INTERN_INTO(attrs[k].key, rec->attrs[k].key);
                TEXT_INTO(attrs[k].value, rec->attrs[k].value);
            }
        }
        r->attrs = attrs;
        r->attr_count = (uint32_t)rec->attr_count;
    }
    return SFSM_OK;
oom:
    sfsm__free(attrs);
    return sfsm_error_set(SFSM_ENOMEM, "memory store: out of memory storing '%.*s'", SFSM_MAX_ID, rec->id);
}

static int mem_insert(memstore *m, const sfsm_record *rec)
{
    if (find_rec(m, rec->id) >= 0)
        return sfsm_error_set(SFSM_EEXISTS, "opportunity '%.*s' already exists", SFSM_MAX_ID, rec->id);
    if (m->rec_count >= UINT32_MAX - 1)
        return sfsm_error_set(SFSM_ESTORAGE, "memory store: too many opportunities");
    mrec r;
    memset(&r, 0, sizeof r);
    long id = text_add(m, rec->id);
    if (id < 0 || ix_reserve(m, m->rec_count + 1) ||
        ch_reserve(&m->recs, m->rec_count) ||
        (m->depth && sfsm__grow((void **)&m->log, &m->log_cap, m->log_count + 1, sizeof *m->log)))
        return sfsm_error_set(SFSM_ENOMEM, "memory store: out of memory inserting '%.*s'", SFSM_MAX_ID, rec->id);
    r.id = (uint32_t)id;
    int rc = convert(m, rec, SFSM_FIELD_ALL, &r);
    if (rc)
        return rc;
    uint32_t k = (uint32_t)m->rec_count++;
    *REC(m, k) = r;
    m->last_id = rec->id;
    m->last_rec = k;
    ix_place(m->ix, m->ix_mask, ix_hash(rec->id), k + 1);
    log_push(m, UNDO_INSERT, k);   /* cannot fail: reserved above */
    return SFSM_OK;
}

static int mem_put(void *b, const sfsm_record *rec, uint64_t expected, uint32_t changed)
{
    memstore *m = b;
    if (expected == 0)
        return mem_insert(m, rec);
    long k = find_rec(m, rec->id);
    if (k < 0)
        return sfsm_error_set(SFSM_ENOTFOUND, "opportunity '%.*s' not found", SFSM_MAX_ID, rec->id);
    mrec *cur = REC(m, k);
    if (cur->version != expected)
        return sfsm_error_set(SFSM_ECONFLICT, "opportunity '%.*s' is at version %llu, not %llu", SFSM_MAX_ID,
                              rec->id, (unsigned long long)cur->version, (unsigned long long)expected);
    if (m->depth && sfsm__grow((void **)&m->log, &m->log_cap, m->log_count + 1, sizeof *m->log))
        return sfsm_error_set(SFSM_ENOMEM, "memory store: out of memory updating '%.*s'", SFSM_MAX_ID, rec->id);
    if ((changed & SFSM_FIELD_ATTRS) && cur->attrs && m->depth &&
        sfsm__grow((void **)&m->garbage, &m->garbage_cap, m->garbage_count + 1, sizeof *m->garbage))
        return sfsm_error_set(SFSM_ENOMEM, "memory store: out of memory updating '%.*s'", SFSM_MAX_ID, rec->id);
    mrec r = *cur;
    int rc = convert(m, rec, changed, &r);
    if (rc)
        return rc;
    log_push(m, UNDO_UPDATE, (uint32_t)k);
    m->last_id = rec->id;
    m->last_rec = (uint32_t)k;
    if (r.attrs != cur->attrs && cur->attrs) {
        if (m->depth)
            m->garbage[m->garbage_count++] = cur->attrs;
        else
            sfsm__free(cur->attrs);
    }
    *cur = r;
    return SFSM_OK;
}

static int mem_append(void *b, const char *id, const sfsm_history_entry *h)
{
    memstore *m = b;
    long k = find_rec(m, id);
    if (k < 0)
        return sfsm_error_set(SFSM_ENOTFOUND, "opportunity '%.*s' not found", SFSM_MAX_ID, id);
    if (m->hist_count >= UINT32_MAX - 1 || h->version > UINT32_MAX)
        return sfsm_error_set(SFSM_ESTORAGE, "memory store: history of '%.*s' is full", SFSM_MAX_ID, id);
    if (h->fields & ~SFSM_FIELD_ALL)
        return sfsm_error_set(SFSM_EINVAL, "memory store: unknown field bits 0x%x", (unsigned)h->fields);
    if (ch_reserve(&m->hist, m->hist_count) ||
        (m->depth && sfsm__grow((void **)&m->log, &m->log_cap, m->log_count + 1, sizeof *m->log)))
        goto oom;
    mhist e;
    e.at = h->at_ms;
    e.version = (uint32_t)h->version;
    e.kind = (uint8_t)h->kind;
    e.fields = (uint8_t)h->fields;
    e.prev = REC(m, k)->hist_last;
    INTERN_INTO(e.event, h->event);
    INTERN_INTO(e.from, h->from);
    INTERN_INTO(e.to, h->to);
    INTERN_INTO(e.actor, h->actor);
    INTERN_INTO(e.role, h->role);
    TEXT_INTO(e.note, h->note);
    TEXT_INTO(e.changes, h->changes);
    log_push(m, UNDO_HIST, (uint32_t)k);
    *HIST(m, m->hist_count++) = e;
    REC(m, k)->hist_last = (uint32_t)m->hist_count;
    return SFSM_OK;
oom:
    return sfsm_error_set(SFSM_ENOMEM, "memory store: out of memory appending history of '%.*s'", SFSM_MAX_ID, id);
}

/* Reports the history of record k, oldest first, to hcb (or, with the id,
 * to scb). */
static int emit_history(memstore *m, size_t k, sfsm_history_cb hcb, sfsm_history_scan_cb scb, void *ud)
{
    const mrec *r = REC(m, k);
    /* The links run newest to oldest; collect them to report oldest first. */
    size_t n = 0;
    for (uint32_t i = r->hist_last; i; i = HIST(m, i - 1)->prev)
        n++;
    if (n == 0)
        return SFSM_OK;
    uint32_t order_stack[64];
    uint32_t *order = n <= 64 ? order_stack : sfsm__calloc(n, sizeof *order);
    if (!order)
        return sfsm_error_set(SFSM_ENOMEM, "memory store: out of memory reading history of '%.*s'", SFSM_MAX_ID,
                              text_of(m, r->id));
    size_t j = n;
    for (uint32_t i = r->hist_last; i; i = HIST(m, i - 1)->prev)
        order[--j] = i - 1;
    const char *id = text_of(m, r->id);
    int rc = SFSM_OK;
    for (j = 0; j < n && rc == SFSM_OK; j++) {
        const mhist *e = HIST(m, order[j]);
        sfsm_history_entry out = {
            e->version, e->at, e->kind, name_of(m, e->event), name_of(m, e->from), name_of(m, e->to),
            name_of(m, e->actor), name_of(m, e->role), text_of(m, e->note), e->fields, text_of(m, e->changes),
        };
        rc = hcb ? hcb(&out, ud) : scb(id, &out, ud);
    }
    if (order != order_stack)
        sfsm__free(order);
    return rc;
}

static int mem_read_history(void *b, const char *id, sfsm_history_cb cb, void *ud)
{
    memstore *m = b;
    long k = find_rec(m, id);
    if (k < 0)
        return sfsm_error_set(SFSM_ENOTFOUND, "opportunity '%.*s' not found", SFSM_MAX_ID, id);
    return emit_history(m, (size_t)k, cb, NULL, ud);
}

static int mem_history_scan(void *b, sfsm_history_scan_cb cb, void *ud)
{
    memstore *m = b;
    int rc = SFSM_OK;
    for (size_t k = 0; k < m->rec_count && rc == SFSM_OK; k++)
        rc = emit_history(m, k, NULL, cb, ud);
    return rc;
}

/* Resolves a filter string to an interned id without adding it: 0 = no
 * filter, -1 = nothing can match. */
static long filter_id(memstore *m, const char *s)
{
    if (!s)
        return 0;
    const strtab *t = &m->names;
    if (!t->slots)
        return -1;
    for (uint32_t i = sfsm__hash(s, strlen(s)) & t->mask;; i = (i + 1) & t->mask) {
        uint32_t v = t->slots[i];
        if (!v)
            return -1;
        if (strcmp(t->str[v], s) == 0)
            return v;
    }
}

static int mem_scan(void *b, const sfsm_filter *f, sfsm_record_cb cb, void *ud)
{
    memstore *m = b;
    long stage = filter_id(m, f->stage), owner = filter_id(m, f->owner), customer = filter_id(m, f->customer);
    if (stage < 0 || owner < 0 || customer < 0)
        return SFSM_OK;
    for (size_t k = 0; k < m->rec_count; k++) {
        const mrec *r = REC(m, k);
        if ((stage && r->stage != (uint32_t)stage) || (owner && r->owner != (uint32_t)owner) ||
            (customer && r->customer != (uint32_t)customer) ||
            (f->changed_since_ms && r->updated < f->changed_since_ms))
            continue;
        sfsm_record out;
        int rc = export_record(m, r, &out);
        if (rc == SFSM_OK)
            rc = cb(&out, ud);
        if (rc)
            return rc;
    }
    return SFSM_OK;
}

/* Few distinct (pipeline, version, stage) triples exist: a linear list. */
typedef struct stage_count {
    uint32_t pipeline, version, stage;
    uint64_t count;
} stage_count;

static int mem_stage_counts(void *b, sfsm_stage_count_cb cb, void *ud)
{
    memstore *m = b;
    stage_count *v = NULL;
    size_t n = 0, cap = 0;
    for (size_t k = 0; k < m->rec_count; k++) {
        const mrec *r = REC(m, k);
        size_t i = 0;
        while (i < n && (v[i].stage != r->stage || v[i].pipeline != r->pipeline || v[i].version != r->pipeline_version))
            i++;
        if (i == n) {
            if (sfsm__grow((void **)&v, &cap, n + 1, sizeof *v)) {
                sfsm__free(v);
                return sfsm_error_set(SFSM_ENOMEM, "memory store: out of memory counting stages");
            }
            v[n++] = (stage_count){ r->pipeline, r->pipeline_version, r->stage, 0 };
        }
        v[i].count++;
    }
    int rc = SFSM_OK;
    for (size_t i = 0; i < n && rc == SFSM_OK; i++)
        rc = cb(name_of(m, v[i].pipeline), v[i].version, name_of(m, v[i].stage), v[i].count, ud);
    sfsm__free(v);
    return rc;
}

/* ---- teams ---- */

static int team_cmp(const memstore *m, const mteam *a, const mteam *b)
{
    int c = strcmp(name_of(m, a->team), name_of(m, b->team));
    return c ? c : strcmp(name_of(m, a->owner), name_of(m, b->owner));
}

static int mem_team_put(void *b, const char *owner, const char *team)
{
    memstore *m = b;
    vec *v = &m->teams;
    long owner_id = filter_id(m, owner);
    size_t at = v->n;
    for (size_t i = 0; owner_id > 0 && i < v->n; i++)
        if (((mteam *)vec_at(v, i))->owner == (uint32_t)owner_id) {
            at = i;
            break;
        }
    if (!team) {
        if (at == v->n)
            return sfsm_error_set(SFSM_ENOTFOUND, "owner '%.*s' is in no team", SFSM_MAX_NAME, owner);
        if (log_reserve(m, 1))
            goto oom;
        log_vec(m, UNDO_VEC_REMOVE, v, at, vec_at(v, at));
        vec_remove(v, at);
        return SFSM_OK;
    }
    mteam row;
    long o = intern(m, owner), t = intern(m, team);
    if (o < 0 || t < 0 || log_reserve(m, 2) || vec_reserve(v, v->n + 1))
        goto oom;
    row.owner = (uint32_t)o;
    row.team = (uint32_t)t;
    if (at < v->n) {
        if (((mteam *)vec_at(v, at))->team == row.team)
            return SFSM_OK;
        log_vec(m, UNDO_VEC_REMOVE, v, at, vec_at(v, at));
        vec_remove(v, at);
    }
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (team_cmp(m, vec_at(v, mid), &row) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    vec_insert(v, lo, &row);
    log_vec(m, UNDO_VEC_INSERT, v, lo, NULL);
    return SFSM_OK;
oom:
    return sfsm_error_set(SFSM_ENOMEM, "memory store: out of memory putting '%.*s' into a team", SFSM_MAX_NAME, owner);
}

static int mem_team_scan(void *b, const char *team, sfsm_team_cb cb, void *ud)
{
    memstore *m = b;
    long t = filter_id(m, team);
    if (t < 0)
        return SFSM_OK;
    for (size_t i = 0; i < m->teams.n; i++) {
        const mteam *r = vec_at(&m->teams, i);
        if (t && r->team != (uint32_t)t)
            continue;
        int rc = cb(name_of(m, r->owner), name_of(m, r->team), ud);
        if (rc)
            return rc;
    }
    return SFSM_OK;
}

/* ---- targets ---- */

static int cmp_int(long long a, long long b)
{
    return (a > b) - (a < b);
}

static int target_cmp(const memstore *m, const mtarget *a, const mtarget *b)
{
    int c = cmp_int(a->subject_kind, b->subject_kind);
    if (!c && a->subject != b->subject)
        c = strcmp(name_of(m, a->subject), name_of(m, b->subject));
    if (!c)
        c = cmp_int(a->year, b->year);
    if (!c)
        c = cmp_int(a->period_kind, b->period_kind);
    if (!c)
        c = cmp_int(a->index, b->index);
    if (!c && a->currency != b->currency)
        c = strcmp(name_of(m, a->currency), name_of(m, b->currency));
    return c;
}

static int mem_target_put(void *b, const sfsm_target *t)
{
    memstore *m = b;
    vec *v = &m->targets;
    mtarget row;
    memset(&row, 0, sizeof row);
    long subject = intern(m, t->subject), currency = intern(m, t->currency);
    if (subject < 0 || currency < 0 || log_reserve(m, 1) || vec_reserve(v, v->n + 1))
        return sfsm_error_set(SFSM_ENOMEM, "memory store: out of memory storing a target of '%.*s'", SFSM_MAX_NAME,
                              t->subject);
    row.subject = (uint32_t)subject;
    row.currency = (uint32_t)currency;
    row.subject_kind = (uint8_t)t->subject_kind;
    row.year = t->period.year;
    row.period_kind = (uint8_t)t->period.kind;
    row.index = t->period.index;
    row.amount = t->amount;
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (target_cmp(m, vec_at(v, mid), &row) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < v->n && target_cmp(m, vec_at(v, lo), &row) == 0) {
        log_vec(m, UNDO_VEC_SET, v, lo, vec_at(v, lo));
        memcpy(vec_at(v, lo), &row, sizeof row);
    } else {
        vec_insert(v, lo, &row);
        log_vec(m, UNDO_VEC_INSERT, v, lo, NULL);
    }
    return SFSM_OK;
}

static int mem_target_scan(void *b, sfsm_subject_kind kind, const char *subject, int year, sfsm_target_cb cb,
                           void *ud)
{
    memstore *m = b;
    long s = filter_id(m, subject);
    if (s < 0)
        return SFSM_OK;
    for (size_t i = 0; i < m->targets.n; i++) {
        const mtarget *r = vec_at(&m->targets, i);
        if ((s && (r->subject != (uint32_t)s || r->subject_kind != (uint8_t)kind)) || (year && r->year != year))
            continue;
        sfsm_target out = {
            (sfsm_subject_kind)r->subject_kind, name_of(m, r->subject),
            { r->year, (sfsm_period_kind)r->period_kind, r->index }, r->amount, name_of(m, r->currency),
        };
        int rc = cb(&out, ud);
        if (rc)
            return rc;
    }
    return SFSM_OK;
}

/* ---- payments ---- */

/* First position in the payments whose (rec, seq) is not below (rec, seq). */
static size_t pay_lower(const memstore *m, uint32_t rec, uint64_t seq)
{
    size_t lo = 0, hi = m->pays.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const mpay *p = vec_at(&m->pays, mid);
        if (p->rec < rec || (p->rec == rec && p->seq < seq))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int mem_payment_add(void *b, const sfsm_payment *p)
{
    memstore *m = b;
    long k = find_rec(m, p->opp_id);
    if (k < 0)
        return sfsm_error_set(SFSM_ENOTFOUND, "opportunity '%.*s' not found", SFSM_MAX_ID, p->opp_id);
    size_t at = pay_lower(m, (uint32_t)k, p->seq);
    if (at < m->pays.n) {
        const mpay *q = vec_at(&m->pays, at);
        if (q->rec == (uint32_t)k && q->seq == p->seq)
            return sfsm_error_set(SFSM_EEXISTS, "opportunity '%.*s' already has payment %llu", SFSM_MAX_ID,
                                  p->opp_id, (unsigned long long)p->seq);
    }
    mpay row;
    memset(&row, 0, sizeof row);
    long currency = intern(m, p->currency), note = text_add(m, p->note);
    if (currency < 0 || note < 0 || log_reserve(m, 1) || vec_reserve(&m->pays, m->pays.n + 1))
        return sfsm_error_set(SFSM_ENOMEM, "memory store: out of memory storing a payment of '%.*s'", SFSM_MAX_ID,
                              p->opp_id);
    row.rec = (uint32_t)k;
    row.currency = (uint32_t)currency;
    row.note = (uint32_t)note;
    row.seq = p->seq;
    row.amount = p->amount;
    row.at = p->at_ms;
    vec_insert(&m->pays, at, &row);
    log_vec(m, UNDO_VEC_INSERT, &m->pays, at, NULL);
    return SFSM_OK;
}

static int mem_payment_scan(void *b, const char *opp_id, sfsm_payment_cb cb, void *ud)
{
    memstore *m = b;
    size_t from = 0;
    long k = -1;
    if (opp_id) {
        if ((k = find_rec(m, opp_id)) < 0)
            return SFSM_OK;
        from = pay_lower(m, (uint32_t)k, 0);
    }
    for (size_t i = from; i < m->pays.n; i++) {
        const mpay *r = vec_at(&m->pays, i);
        if (k >= 0 && r->rec != (uint32_t)k)
            break;
        sfsm_payment out = { text_of(m, REC(m, r->rec)->id), r->seq, r->amount, name_of(m, r->currency), r->at,
                             text_of(m, r->note) };
        int rc = cb(&out, ud);
        if (rc)
            return rc;
    }
    return SFSM_OK;
}

static void mem_close(void *b)
{
    memstore *m = b;
    if (!m)
        return;
    for (size_t k = 0; k < m->rec_count; k++)
        sfsm__free(REC(m, k)->attrs);
    for (size_t g = 0; g < m->garbage_count; g++)
        sfsm__free(m->garbage[g]);
    while (m->arena) {
        arena_block *next = m->arena->next;
        sfsm__free(m->arena);
        m->arena = next;
    }
    sfsm__free(m->names.str);
    sfsm__free(m->names.slots);
    sfsm__free(m->texts);
    ch_free(&m->recs);
    sfsm__free(m->ix);
    ch_free(&m->hist);
    sfsm__free(m->log);
    sfsm__free(m->marks);
    sfsm__free(m->garbage);
    sfsm__free(m->out_attrs);
    sfsm__free(m->teams.data);
    sfsm__free(m->targets.data);
    sfsm__free(m->pays.data);
    sfsm__free(m);
}

const sfsm_store_ops sfsm__memory_ops = {
    SFSM_STORE_OPS_VERSION,
    mem_close,
    mem_begin,
    mem_commit,
    mem_rollback,
    mem_get,
    mem_put,
    mem_append,
    mem_read_history,
    mem_scan,
    mem_stage_counts,
    mem_team_put,
    mem_team_scan,
    mem_target_put,
    mem_target_scan,
    mem_payment_add,
    mem_payment_scan,
    mem_history_scan,
};

int sfsm__memory_backend(void **out)
{
    memstore *m = sfsm__calloc(1, sizeof(memstore));
    if (m) {
        m->recs.elem = sizeof(mrec);
        m->hist.elem = sizeof(mhist);
        m->teams.elem = sizeof(mteam);
        m->targets.elem = sizeof(mtarget);
        m->pays.elem = sizeof(mpay);
    }
    *out = m;
    return m ? SFSM_OK : sfsm_error_set(SFSM_ENOMEM, "out of memory for a memory store");
}
