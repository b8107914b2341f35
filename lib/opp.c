/* The opportunity handle: getters, setters and conversion to and from
 * stored records. Setters touch only the handle. */
#include <stdio.h>
#include <string.h>

#include <salesfsm/opp.h>

#include "alloc.h"
#include "opp_impl.h"
#include "pipeline_impl.h"
#include "record_check.h"
#include "safe_int.h"
#include "text.h"

void sfsm_opp_free(sfsm_opp *o)
{
    if (!o)
        return;
    for (size_t k = 0; k < o->attr_count; k++) {
        sfsm__free(o->attrs[k].key);
        sfsm__free(o->attrs[k].value);
    }
    sfsm__free(o->attrs);
    sfsm__free(o->id);
    sfsm__free(o->customer);
    sfsm__free(o->owner);
    sfsm__free(o->title);
    sfsm__free(o);
}

const char *sfsm_opp_id(const sfsm_opp *o) { return o ? o->id : NULL; }
const char *sfsm_opp_stage(const sfsm_opp *o) { return o ? o->pipeline->stages[o->stage].name : NULL; }
size_t sfsm_opp_stage_index(const sfsm_opp *o) { return o ? o->stage : 0; }
uint64_t sfsm_opp_version(const sfsm_opp *o) { return o ? o->version : 0; }
int64_t sfsm_opp_amount(const sfsm_opp *o) { return o ? o->amount : 0; }
const char *sfsm_opp_currency(const sfsm_opp *o) { return o && o->currency[0] ? o->currency : NULL; }
const char *sfsm_opp_customer(const sfsm_opp *o) { return o ? o->customer : NULL; }
const char *sfsm_opp_owner(const sfsm_opp *o) { return o ? o->owner : NULL; }
const char *sfsm_opp_title(const sfsm_opp *o) { return o ? o->title : NULL; }
int64_t sfsm_opp_expected_close(const sfsm_opp *o) { return o ? o->expected_close : 0; }
int64_t sfsm_opp_created(const sfsm_opp *o) { return o ? o->created : 0; }
int64_t sfsm_opp_updated(const sfsm_opp *o) { return o ? o->updated : 0; }
int64_t sfsm_opp_stage_entered(const sfsm_opp *o) { return o ? o->entered : 0; }
int sfsm_opp_probability(const sfsm_opp *o) { return o ? o->pipeline->stages[o->stage].probability : 0; }
uint32_t sfsm_opp_unsaved(const sfsm_opp *o) { return o ? o->unsaved : 0; }

/* `what` names the setter: "amount" for sfsm_opp_set_amount. */
static int check_settable(sfsm_opp *o, const char *what)
{
    if (!o)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_opp_set_%s: opportunity is NULL", what);
    if (o->busy)
        return sfsm_error_set(SFSM_EBUSY, "sfsm_opp_set_%s: opportunity '%s' is in the middle of its own transition",
                              what, o->id);
    return SFSM_OK;
}

int sfsm_opp_set_amount(sfsm_opp *o, int64_t minor_units, const char *currency)
{
    int rc = check_settable(o, "amount");
    if (rc)
        return rc;
    if (minor_units < 0)
        return sfsm_error_set(SFSM_EINVAL, "amount: %lld is negative (opportunity '%s')", (long long)minor_units, o->id);
    /* the limit of the export format, so that what is stored can be restored */
    if (minor_units > SFSM_SAFE_INTEGER)
        return sfsm_error_set(SFSM_EINVAL, "amount: %lld is above the limit of %lld (2^53-1) minor units "
                              "(opportunity '%s')", (long long)minor_units, (long long)SFSM_SAFE_INTEGER, o->id);
    if ((rc = sfsm__check_currency(currency)))
        return rc;
    o->amount = minor_units;
    memcpy(o->currency, currency, 4);
    o->unsaved |= SFSM_FIELD_AMOUNT;
    return SFSM_OK;
}

/* Replaces *field with a copy of value ("" and NULL clear it). */
static int set_text(sfsm_opp *o, char **field, const char *value, const char *what, uint32_t bit)
{
    int rc = check_settable(o, what);
    if (rc || (rc = sfsm__check_text(what, value, SFSM_MAX_TEXT)))
        return rc;
    char *copy = NULL;
    if (value && *value && !(copy = sfsm__strdup(value)))
        return sfsm_error_set(SFSM_ENOMEM, "out of memory setting the %s of '%s'", what, o->id);
    sfsm__free(*field);
    *field = copy;
    o->unsaved |= bit;
    return SFSM_OK;
}

int sfsm_opp_set_customer(sfsm_opp *o, const char *customer)
{
    return set_text(o, o ? &o->customer : NULL, customer, "customer", SFSM_FIELD_CUSTOMER);
}

int sfsm_opp_set_owner(sfsm_opp *o, const char *owner)
{
    return set_text(o, o ? &o->owner : NULL, owner, "owner", SFSM_FIELD_OWNER);
}

int sfsm_opp_set_title(sfsm_opp *o, const char *title)
{
    return set_text(o, o ? &o->title : NULL, title, "title", SFSM_FIELD_TITLE);
}

int sfsm_opp_set_expected_close(sfsm_opp *o, int64_t ms)
{
    int rc = check_settable(o, "expected_close");
    if (rc)
        return rc;
    if (ms < 0)
        return sfsm_error_set(SFSM_EINVAL, "expected_close: %lld is negative (opportunity '%s')", (long long)ms, o->id);
    /* as for amounts: what is stored must read back and export */
    if (ms > SFSM_SAFE_INTEGER)
        return sfsm_error_set(SFSM_EINVAL, "expected_close: %lld is above the limit of %lld (2^53-1) ms "
                              "(opportunity '%s')", (long long)ms, (long long)SFSM_SAFE_INTEGER, o->id);
    o->expected_close = ms;
    o->unsaved |= SFSM_FIELD_EXPECTED_CLOSE;
    return SFSM_OK;
}

/* Position of key in the sorted attrs, or where it would go (*found = 0). */
static size_t attr_find(const sfsm_opp *o, const char *key, int *found)
{
    size_t lo = 0, hi = o->attr_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(o->attrs[mid].key, key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

int sfsm_opp_set_attr(sfsm_opp *o, const char *key, const char *value)
{
    int rc = check_settable(o, "attr");
    if (rc || (rc = sfsm__check_name("attribute key", key, SFSM_MAX_NAME)))
        return rc;
    if (value && (rc = sfsm__check_text("attribute value", value, SFSM_MAX_TEXT)))
        return rc;
    int found;
    size_t i = attr_find(o, key, &found);
    if (!value) {
        if (!found)
            return sfsm_error_set(SFSM_ENOTFOUND, "opportunity '%s' has no attribute '%s'", o->id, key);
        sfsm__free(o->attrs[i].key);
        sfsm__free(o->attrs[i].value);
        memmove(&o->attrs[i], &o->attrs[i + 1], (o->attr_count - i - 1) * sizeof *o->attrs);
        o->attr_count--;
        o->unsaved |= SFSM_FIELD_ATTRS;
        return SFSM_OK;
    }
    if (!found && o->attr_count >= SFSM_MAX_ATTRS)
        return sfsm_error_set(SFSM_EINVAL, "opportunity '%s' already has %d attributes, the most allowed", o->id,
                              SFSM_MAX_ATTRS);
    char *v = sfsm__strdup(value);
    char *k = found ? NULL : sfsm__strdup(key);
    if (!v || (!found && (!k || sfsm__grow((void **)&o->attrs, &o->attr_cap, o->attr_count + 1, sizeof *o->attrs)))) {
        sfsm__free(v);
        sfsm__free(k);
        return sfsm_error_set(SFSM_ENOMEM, "out of memory setting attribute '%s' of '%s'", key, o->id);
    }
    if (found) {
        sfsm__free(o->attrs[i].value);
        o->attrs[i].value = v;
    } else {
        memmove(&o->attrs[i + 1], &o->attrs[i], (o->attr_count - i) * sizeof *o->attrs);
        o->attrs[i].key = k;
        o->attrs[i].value = v;
        o->attr_count++;
    }
    o->unsaved |= SFSM_FIELD_ATTRS;
    return SFSM_OK;
}

const char *sfsm_opp_attr(const sfsm_opp *o, const char *key)
{
    if (!o || !key)
        return NULL;
    int found;
    size_t i = attr_find(o, key, &found);
    return found ? o->attrs[i].value : NULL;
}

size_t sfsm_opp_attr_count(const sfsm_opp *o)
{
    return o ? o->attr_count : 0;
}

int sfsm_opp_attr_at(const sfsm_opp *o, size_t i, const char **key, const char **value)
{
    if (!o || !key || !value)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_opp_attr_at: NULL argument");
    if (i >= o->attr_count)
        return sfsm_error_set(SFSM_EINVAL, "sfsm_opp_attr_at: index %zu out of range (%zu attributes)", i, o->attr_count);
    *key = o->attrs[i].key;
    *value = o->attrs[i].value;
    return SFSM_OK;
}

void sfsm__opp_to_record(const sfsm_opp *o, sfsm_record *rec, sfsm_attr *attrs)
{
    for (size_t k = 0; k < o->attr_count; k++) {
        attrs[k].key = o->attrs[k].key;
        attrs[k].value = o->attrs[k].value;
    }
    *rec = (sfsm_record){
        .id = o->id,
        .stage = o->pipeline->stages[o->stage].name,
        .version = o->version,
        .amount = o->amount,
        .currency = o->currency[0] ? o->currency : NULL,
        .customer = o->customer,
        .owner = o->owner,
        .title = o->title,
        .expected_close_ms = o->expected_close,
        .created_ms = o->created,
        .updated_ms = o->updated,
        .stage_entered_ms = o->entered,
        .attrs = attrs,
        .attr_count = o->attr_count,
        .pipeline = o->pipeline->name,
        .pipeline_version = o->pipeline->version,
    };
}

static int dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    return src && !(*dst = sfsm__strdup(src)) ? -1 : 0;
}

int sfsm__opp_from_record(const sfsm_pipeline *p, const sfsm_record *rec, sfsm_opp **out)
{
    *out = NULL;
    char l1[SFSM_LABEL_SIZE], l2[SFSM_LABEL_SIZE];
    if (rec->pipeline && strcmp(rec->pipeline, p->name) != 0)
        return sfsm_error_set(SFSM_EINVAL, "opportunity '%s' belongs to pipeline '%s', not '%s'",
                              sfsm__label(l1, rec->id), sfsm__label(l2, rec->pipeline), p->name);
    size_t stage;
    int rc = sfsm__record_check_stage(p, rec, &stage);
    if (rc)
        return rc;
    sfsm_opp *o = sfsm__calloc(1, sizeof *o);
    if (!o)
        goto oom;
    o->pipeline = p;
    o->stage = (uint32_t)stage;
    o->version = rec->version;
    o->amount = rec->amount;
    if (rec->currency)
        memcpy(o->currency, rec->currency, 4);   /* checked: three letters */
    o->expected_close = rec->expected_close_ms;
    o->created = rec->created_ms;
    o->updated = rec->updated_ms;
    o->entered = rec->stage_entered_ms;
    if (dup_opt(&o->id, rec->id) || dup_opt(&o->customer, rec->customer) || dup_opt(&o->owner, rec->owner) ||
        dup_opt(&o->title, rec->title))
        goto oom;
    if (rec->attr_count) {
        if (!(o->attrs = sfsm__calloc(rec->attr_count, sizeof *o->attrs)))
            goto oom;
        o->attr_cap = rec->attr_count;
        for (size_t k = 0; k < rec->attr_count; k++, o->attr_count++)
            if (dup_opt(&o->attrs[k].key, rec->attrs[k].key) || dup_opt(&o->attrs[k].value, rec->attrs[k].value)) {
                sfsm__free(o->attrs[k].key);
                goto oom;
            }
    }
    *out = o;
    return SFSM_OK;
oom:
    sfsm_opp_free(o);
    return sfsm_error_set(SFSM_ENOMEM, "out of memory loading opportunity '%s'", rec->id);
}

int sfsm__check_next_version(const sfsm_opp *o, const char *fn)
{
    if (o->version < SFSM_MAX_VERSION)
        return SFSM_OK;
    char label[SFSM_LABEL_SIZE];
    return sfsm_error_set(SFSM_EINVAL, "%s: opportunity '%s' is at version %llu, the highest there is: it can take no "
                                       "further change",
                          fn, sfsm__label(label, o->id), (unsigned long long)o->version);
}

char *sfsm__opp_changes_json(const sfsm_opp *o, uint32_t fields, int *oom)
{
    *oom = 0;
    if (!fields)
        return NULL;
    sfsm_buf b = { 0 };
    const char *sep = "{";
#define KEY(k) (sfsm__buf_adds(&b, sep), sfsm__buf_adds(&b, "\"" k "\":"), sep = ",")
#define TEXT(s) ((s) ? sfsm__buf_add_json_string(&b, (s)) : sfsm__buf_adds(&b, "null"))
    if (fields & SFSM_FIELD_AMOUNT) {
        KEY("amount");
        char num[24];
        sfsm__buf_add(&b, num, sfsm__format_i64(num, o->amount));
        KEY("currency");
        TEXT(o->currency[0] ? o->currency : NULL);
    }
    if (fields & SFSM_FIELD_CUSTOMER) {
        KEY("customer");
        TEXT(o->customer);
    }
    if (fields & SFSM_FIELD_OWNER) {
        KEY("owner");
        TEXT(o->owner);
    }
    if (fields & SFSM_FIELD_TITLE) {
        KEY("title");
        TEXT(o->title);
    }
    if (fields & SFSM_FIELD_EXPECTED_CLOSE) {
        KEY("expected_close_ms");
        char num[24];
        sfsm__buf_add(&b, num, sfsm__format_i64(num, o->expected_close));
    }
    if (fields & SFSM_FIELD_ATTRS) {
        KEY("attrs");
        sfsm__buf_adds(&b, "{");
        for (size_t k = 0; k < o->attr_count; k++) {
            if (k)
                sfsm__buf_adds(&b, ",");
            sfsm__buf_add_json_string(&b, o->attrs[k].key);
            sfsm__buf_adds(&b, ":");
            sfsm__buf_add_json_string(&b, o->attrs[k].value);
        }
        sfsm__buf_adds(&b, "}");
    }
#undef KEY
#undef TEXT
    sfsm__buf_adds(&b, "}");
    char *s = sfsm__buf_take(&b);
    if (!s)
        *oom = 1;
    return s;
}
