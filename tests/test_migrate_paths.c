/* sfsm_engine_migrate and the store check at sfsm_engine_new when memory
 * runs out at any allocation, and migrations whose writes the SQLite store
 * refuses: each fails with its own code, moves nothing and leaks nothing. */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"
#include "deals_versions.h"
#include "sqlite_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Two opportunities in version 1's review stage (one with attributes) and
 * a lead, written by a version-1 engine: all three move to version 2. */
static void fill_v1(sfsm_store *s)
{
    sfsm_pipeline *v1 = deals_load(DEALS_V1);
    sfsm_engine *e = NULL;
    assert_int_equal(sfsm_engine_new(&e, v1, s), SFSM_OK);
    static const char *const ids[] = { "r1", "r2", "l1" };
    for (int i = 0; i < 3; i++) {
        sfsm_create_options o = SFSM_CREATE_OPTIONS_INIT;
        o.id = ids[i];
        o.customer = "Acme";
        o.owner = "ravi";
        o.actor = &SELLER;
        sfsm_opp *x = NULL;
        assert_int_equal(sfsm_opp_create_ext(e, &o, &x), SFSM_OK);
        if (i == 0) {
            assert_int_equal(sfsm_opp_set_attr(x, "region", "north"), SFSM_OK);
            assert_int_equal(sfsm_opp_set_attr(x, "source", "fair"), SFSM_OK);
            assert_int_equal(sfsm_opp_save(e, x), SFSM_OK);
        }
        if (i < 2)
            assert_int_equal(sfsm_fire(e, x, "review", &SELLER, NULL), SFSM_OK);
        sfsm_opp_free(x);
    }
    sfsm_engine_free(e);
    sfsm_pipeline_free(v1);
}

/* The three stored opportunities and their histories, as one string, read
 * through an engine of version 1 (one of version 2 does not open what has
 * not been migrated yet). */
static char *stored(sfsm_store *s)
{
    sfsm_pipeline *v1 = deals_load(DEALS_V1);
    sfsm_engine *e = NULL;
    assert_int_equal(sfsm_engine_new(&e, v1, s), SFSM_OK);
    char *a = opp_stored(e, "r1"), *b = opp_stored(e, "r2"), *c = opp_stored(e, "l1");
    size_t n = strlen(a) + strlen(b) + strlen(c) + 4;
    char *all = malloc(n);
    assert_non_null(all);
    snprintf(all, n, "%s\n%s\n%s", a, b, c);
    sfsm_engine_free(e);
    sfsm_pipeline_free(v1);
    free(a);
    free(b);
    free(c);
    return all;
}

static int heard;

static int on_moved(const char *id, uint32_t from_version, const char *from, const char *to, void *ud)
{
    (void)id;
    (void)ud;
    assert_int_equal(from_version, 1);
    /* the review went to qualified; the lead stays a lead, at version 2 */
    assert_string_equal(to, strcmp(from, "review") == 0 ? "qualified" : "lead");
    heard++;
    return 0;
}

/* Every allocation of a migration fails in turn: ENOMEM, nothing moved,
 * nothing announced, nothing leaked; then it succeeds. */
static void test_migrate_out_of_memory(void **state)
{
    (void)state;
    sfsm_store *s = NULL;
    char path[256];
    test_store_open(&s, path);
    fill_v1(s);
    sfsm_pipeline *v2 = deals_load(DEALS_V2);
    sfsm_engine *e = NULL;
    assert_int_equal(sfsm_engine_new(&e, v2, s), SFSM_OK);
    char *before = stored(s);
    failalloc_install();
    int done = 0;
    for (long n = 1; n < 10000 && !done; n++) {
        heard = 0;
        size_t moved = 99;
        long live = failalloc_live();
        failalloc_arm(n);
        int rc = sfsm_engine_migrate(e, &SELLER, on_moved, NULL, &moved);
        int failed = failalloc_failed();
        failalloc_arm(0);
        if (!failed) {
            assert_int_equal(rc, SFSM_OK);
            assert_int_equal(moved, 3);
            assert_int_equal(heard, 3);
            done = 1;
            break;
        }
        if (rc != SFSM_ENOMEM)
            fail_msg("allocation #%ld failed, rc %d (%s)", n, rc, sfsm_errmsg());
        assert_int_equal(moved, 0);
        assert_int_equal(heard, 0);
        assert_int_equal(failalloc_live(), live);
        assert_same_and_free(stored(s), before);
    }
    assert_true(done);
    failalloc_uninstall();
    sfsm_opp *o = NULL;
    assert_int_equal(sfsm_opp_open(e, "r1", &o), SFSM_OK);
    assert_string_equal(sfsm_opp_stage(o), "qualified");
    assert_string_equal(sfsm_opp_attr(o, "source"), "fair");
    sfsm_opp_free(o);
    free(before);
    sfsm_engine_free(e);
    sfsm_pipeline_free(v2);
    sfsm_store_close(s);
    test_store_remove(path);
}

/* The check at sfsm_engine_new, out of memory while it lists the stages
 * version 3 neither has nor maps: ENOMEM and no engine; with memory, the
 * EVERSION that names them. */
static void test_check_out_of_memory(void **state)
{
    (void)state;
    sfsm_store *s = NULL;
    char path[256];
    test_store_open(&s, path);
    fill_v1(s);
    /* The check scans for the first opportunity to name; the SQLite backend
     * keeps its read buffers for the store's life. One scan sizes them, so
     * that whatever is left over below is a leak. */
    sfsm_pipeline *v1 = deals_load(DEALS_V1);
    sfsm_engine *e1 = NULL;
    assert_int_equal(sfsm_engine_new(&e1, v1, s), SFSM_OK);
    assert_int_equal(count_opps(e1, NULL), 3);
    sfsm_engine_free(e1);
    sfsm_pipeline_free(v1);
    sfsm_pipeline *v3 = deals_load(DEALS_V3);
    failalloc_install();
    int done = 0;
    for (long n = 1; n < 10000 && !done; n++) {
        sfsm_engine *e = (sfsm_engine *)&done;
        long live = failalloc_live();
        failalloc_arm(n);
        int rc = sfsm_engine_new(&e, v3, s);
        int failed = failalloc_failed();
        failalloc_arm(0);
        assert_null(e);
        if (!failed) {
            assert_int_equal(rc, SFSM_EVERSION);
            assert_msg_has("'review' (2)");
            done = 1;
            break;
        }
        if (rc != SFSM_ENOMEM)
            fail_msg("allocation #%ld failed, rc %d (%s)", n, rc, sfsm_errmsg());
        assert_int_equal(failalloc_live(), live);
    }
    assert_true(done);
    failalloc_uninstall();
    sfsm_pipeline_free(v3);
    sfsm_store_close(s);
    test_store_remove(path);
}

/* On SQLite, a trigger refuses the moved record or its migrate history
 * entry (the second opportunity's, so that the first one's move must be
 * undone): ESTORAGE with the trigger's words, nothing moved, and after the
 * trigger is gone the migration goes through. */
static void test_migrate_write_refused(void **state)
{
    (void)state;
    static const char *const triggers[] = {
        "CREATE TRIGGER refuse BEFORE UPDATE ON opp WHEN NEW.id = 'r2' AND NEW.pipeline_version = 2"
        " BEGIN SELECT RAISE(ABORT, 'refused by policy'); END;",
        "CREATE TRIGGER refuse BEFORE INSERT ON history WHEN NEW.opp_id = 'r2' AND NEW.kind = 4"
        " BEGIN SELECT RAISE(ABORT, 'refused by policy'); END;",
    };
    for (int i = 0; i < 2; i++) {
        char path[256];
        db_tmp_path(path);
        sfsm_store *s = NULL;
        assert_int_equal(sfsm_store_open_sqlite(&s, path, NULL), SFSM_OK);
        fill_v1(s);
        exec_on(path, triggers[i]);
        sfsm_pipeline *v2 = deals_load(DEALS_V2);
        sfsm_engine *e = NULL;
        assert_int_equal(sfsm_engine_new(&e, v2, s), SFSM_OK);
        char *before = stored(s);
        heard = 0;
        size_t moved = 99;
        assert_int_equal(sfsm_engine_migrate(e, &SELLER, on_moved, NULL, &moved), SFSM_ESTORAGE);
        assert_msg_has("refused by policy");
        assert_int_equal(moved, 0);
        assert_int_equal(heard, 0);
        assert_same_and_free(stored(s), before);
        free(before);
        exec_on(path, "DROP TRIGGER refuse");
        assert_int_equal(sfsm_engine_migrate(e, &SELLER, on_moved, NULL, &moved), SFSM_OK);
        assert_int_equal(moved, 3);
        sfsm_engine_free(e);
        sfsm_pipeline_free(v2);
        sfsm_store_close(s);
        test_store_remove(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_out_of_memory),
        cmocka_unit_test(test_check_out_of_memory),
        cmocka_unit_test(test_migrate_write_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
