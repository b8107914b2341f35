/* The check at sfsm_engine_new, on opportunities whose stage the engine's
 * pipeline does not have. The rule (engine.h): a stage missing from the
 * very version an opportunity is stored under is damage (SFSM_ESTORAGE);
 * one of another version that no migration maps is a version problem
 * (SFSM_EVERSION). Either way the message names the first such
 * opportunity, how many there are, and each stage with its count. */
#include "testutil.h"
#include "deals_versions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct world {
    sfsm_store *store;
    char path[256];
} world;

/* Creates opportunities under pipeline json; each walks the events given
 * ("" ends one opportunity's list, NULL ends all). */
static void fill(world *w, const char *json, const char *const *steps)
{
    sfsm_pipeline *p = deals_load(json);
    sfsm_engine *e = NULL;
    assert_int_equal(sfsm_engine_new(&e, p, w->store), SFSM_OK);
    while (*steps) {
        sfsm_opp *o = NULL;
        assert_int_equal(sfsm_opp_create(e, *steps++, &o), SFSM_OK);
        for (; **steps; steps++)
            assert_int_equal(sfsm_fire(e, o, *steps, &SELLER, NULL), SFSM_OK);
        steps++;
        sfsm_opp_free(o);
    }
    sfsm_engine_free(e);
    sfsm_pipeline_free(p);
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    test_store_open(&w->store, w->path);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    sfsm_store_close(w->store);
    test_store_remove(w->path);
    free(w);
    return 0;
}

/* Pipeline json with `from` replaced by `to` (once). */
static sfsm_pipeline *variant(const char *json, const char *from, const char *to)
{
    const char *at = strstr(json, from);
    assert_non_null(at);
    char buf[4096];
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - json), json, to, at + strlen(from));
    return deals_load(buf);
}

static void assert_refused(world *w, const sfsm_pipeline *p, int code)
{
    sfsm_engine *e = (sfsm_engine *)w;
    assert_int_equal(sfsm_engine_new(&e, p, w->store), code);
    assert_null(e);
}

static void assert_has(const char *needle)
{
    if (!strstr(sfsm_errmsg(), needle))
        fail_msg("message '%s' lacks '%s'", sfsm_errmsg(), needle);
}

static const char *const V1_OPPS[] = { "a", "", "b1", "review", "", "b2", "review", "", "c", "review", "quote", "", NULL };

/* Version 1 of the pipeline as another build has it, without 'review':
 * b1 and b2 sit at a stage their own version does not have. */
static void test_stage_missing_from_its_own_version_is_damage(void **state)
{
    world *w = *state;
    fill(w, DEALS_V1, V1_OPPS);
    sfsm_pipeline *v1 = variant(DEALS_V3, "\"version\": 3", "\"version\": 1");
    assert_refused(w, v1, SFSM_ESTORAGE);
    assert_has("stored opportunity 'b1': stage 'review' is not a stage of pipeline 'deals' version 1");
    assert_has("2 opportunities at such stages: 'review' (2)");
    sfsm_pipeline_free(v1);
}

/* Version 3 drops 'review' without a migration: the stage may be version
 * 1's (it is), so it is a version problem, and the message still says
 * which opportunity to look at. */
static void test_unmapped_stage_of_an_older_version(void **state)
{
    world *w = *state;
    fill(w, DEALS_V1, V1_OPPS);
    sfsm_pipeline *v3 = deals_load(DEALS_V3);
    assert_refused(w, v3, SFSM_EVERSION);
    assert_has("2 opportunities of pipeline 'deals' (the first: 'b1')");
    assert_has("'review' (2)");
    sfsm_pipeline_free(v3);
    /* the pipeline they were written under is fine */
    sfsm_pipeline *v1 = deals_load(DEALS_V1);
    sfsm_engine *e = NULL;
    assert_int_equal(sfsm_engine_new(&e, v1, w->store), SFSM_OK);
    sfsm_engine_free(e);
    sfsm_pipeline_free(v1);
}

/* Opportunities of version 2 at 'qualified' under an engine of version 1:
 * the store is newer than the pipeline, a version problem too. */
static void test_stage_of_a_newer_version(void **state)
{
    world *w = *state;
    static const char *const opps[] = { "n1", "", "n2", "qualify", "", NULL };
    fill(w, DEALS_V2, opps);
    sfsm_pipeline *v1 = deals_load(DEALS_V1);
    assert_refused(w, v1, SFSM_EVERSION);
    assert_has("1 opportunity of pipeline 'deals' (the first: 'n2')");
    assert_has("'qualified' (1)");
    sfsm_pipeline_free(v1);
}

/* Both kinds at once: damage wins, and only the damaged stages are listed. */
static void test_damage_before_version(void **state)
{
    world *w = *state;
    fill(w, DEALS_V1, V1_OPPS);
    static const char *const later[] = { "q1", "qualify", "", "q2", "qualify", "", "q3", "qualify", "", NULL };
    fill(w, DEALS_V2, later);
    /* version 2 without 'qualified' and without the migration of 'review' */
    sfsm_pipeline *p = variant(DEALS_V3, "\"version\": 3", "\"version\": 2");
    assert_refused(w, p, SFSM_ESTORAGE);
    assert_has("stored opportunity 'q1': stage 'qualified'");
    assert_has("(3 opportunities at such stages: 'qualified' (3))");
    assert_true(strstr(sfsm_errmsg(), "review") == NULL);
    sfsm_pipeline_free(p);
}

/* Another pipeline's opportunities are not judged. */
static void test_other_pipeline_ignored(void **state)
{
    world *w = *state;
    fill(w, DEALS_V1, V1_OPPS);
    sfsm_pipeline *other = variant(DEALS_V3, "\"deals\"", "\"other\"");
    sfsm_engine *e = NULL;
    assert_int_equal(sfsm_engine_new(&e, other, w->store), SFSM_OK);
    sfsm_engine_free(e);
    sfsm_pipeline_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stage_missing_from_its_own_version_is_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmapped_stage_of_an_older_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stage_of_a_newer_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_before_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_pipeline_ignored, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
