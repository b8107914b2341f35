/* Stages no pipeline version can have, planted in the SQLite file behind
 * the store's back (NULL, empty, not UTF-8, too long, control characters,
 * unknown): sfsm_engine_new refuses with SFSM_ESTORAGE naming the first
 * such opportunity, its stage (printably) and how many there are, and opens
 * again once the row is repaired. Needs the SQLite run
 * (SFSM_SQLITE_ONLY_TESTS). */
#include "testutil.h"
#include "sqlite_file.h"

#include <stdio.h>

/* A closed store file with o-1 .. o-3 at the default pipeline's first stage. */
static void make_store(char path[256])
{
    static const char *const ids[] = { "o-1", "o-2", "o-3" };
    db_tmp_path(path);
    store_file_with(path, ids, 3);
}

/* Drops NOT NULL from opp.stage in the stored schema text. */
static void allow_null_stage(const char *path)
{
    schema_text_replace(path, "name = 'opp'", "stage TEXT NOT NULL", "stage TEXT");
}

/* sfsm_engine_new on the file: the code, and the message. */
static int engine_on(const char *path)
{
    file_engine fe;
    int rc = file_engine_open(&fe, path);
    return file_engine_close(&fe, rc);
}

static void assert_has(const char *needle)
{
    if (!strstr(sfsm_errmsg(), needle))
        fail_msg("message '%s' lacks '%s'", sfsm_errmsg(), needle);
}

static const struct {
    const char *set;    /* SQL value for o-2's stage */
    const char *says;   /* in the message */
} cases[] = {
    { "NULL", "stored opportunity 'o-2': stage NULL is not a stage of pipeline 'default' version 1" },
    { "''", "stored opportunity 'o-2': stage '' is not a stage" },
    { "'nowhere'", "stored opportunity 'o-2': stage 'nowhere' is not a stage" },
    { "'lea' || char(27) || '[2J'", "stage 'lea\\x1b[2J' is not a stage" },
    { "CAST(X'6C65FF' AS TEXT)", "stage 'le\\xff' is not a stage" },
    { "printf('%.300c', 'x')", "stage 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is not" },
};

static void test_planted_stage_is_damage_named(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256], sql[256];
        make_store(path);
        allow_null_stage(path);
        snprintf(sql, sizeof sql, "UPDATE opp SET stage = %s WHERE id = 'o-2';", cases[i].set);
        exec_on(path, sql);
        assert_int_equal(engine_on(path), SFSM_ESTORAGE);
        assert_has(cases[i].says);
        assert_has("(1 opportunity at such stages: ");
        assert_true(strchr(sfsm_errmsg(), '\x1b') == NULL);
        /* repaired, it opens */
        exec_on(path, "UPDATE opp SET stage = 'lead' WHERE id = 'o-2';");
        assert_int_equal(engine_on(path), SFSM_OK);
        test_store_remove(path);
    }
}

/* Several: the first in creation order is named, every stage counted. */
static void test_several_counted(void **state)
{
    (void)state;
    char path[256];
    make_store(path);
    allow_null_stage(path);
    exec_on(path, "UPDATE opp SET stage = NULL WHERE id = 'o-3';"
                  "UPDATE opp SET stage = 'gone' WHERE id IN ('o-1', 'o-2');");
    assert_int_equal(engine_on(path), SFSM_ESTORAGE);
    assert_has("stored opportunity 'o-1': stage 'gone'");
    assert_has("(3 opportunities at such stages: ");
    assert_has("'gone' (2)");
    assert_has("NULL (1)");
    test_store_remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planted_stage_is_damage_named),
        cmocka_unit_test(test_several_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
