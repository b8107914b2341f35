/* Every error of the SQLite store names the database file, once: a page
 * found malformed long after open, a refused write inside a transaction,
 * and the open path. Paths are untrusted text of any length: a long one is
 * cut to its last 64 bytes behind "...", control characters are escaped.
 * Planting damage in the file needs the SQLite run (SFSM_SQLITE_ONLY_TESTS). */
#define _POSIX_C_SOURCE 200809L   /* mkdtemp */
#include "testutil.h"
#include "sqlite_file.h"

#include <stdio.h>
#include <unistd.h>

/* Room for the long paths below. */
#define LONG_PATH 512

static size_t occurrences(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *at = strstr(hay, needle); at; at = strstr(at + 1, needle))
        n++;
    return n;
}

/* A closed store at path holding opportunity 'o-1'. */
static void make_store(const char *path)
{
    static const char *const ids[] = { "o-1" };
    store_file_with(path, ids, 1);
}

/* Makes the root page of table opp unreadable (a b-tree type byte SQLite
 * does not know); page 1, which open reads, stays intact. */
static void break_opp_table(const char *path)
{
    int64_t root = query_int(path, "SELECT rootpage FROM sqlite_schema WHERE name = 'opp'");
    int64_t page = query_int(path, "PRAGMA page_size");
    assert_true(root > 1);
    size_t n = 0;
    char *bytes = read_all(path, &n);
    size_t at = (size_t)((root - 1) * page);
    assert_true(at < n);
    bytes[at] = (char)0xFF;
    write_all(path, bytes, n);
    free(bytes);
}

/* Opening works (page 1 is fine); the engine's check of the store meets
 * the malformed page: ESTORAGE naming the file once, and SQLite's words. */
static void test_malformed_page_after_open_names_file(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    make_store(path);
    break_opp_table(path);
    file_engine fe;
    assert_int_equal(file_engine_open(&fe, path), SFSM_ESTORAGE);
    assert_null(fe.e);
    const char *msg = sfsm_errmsg();
    char want[300];
    snprintf(want, sizeof want, "sqlite store '%s': ", path);
    assert_ptr_equal(strstr(msg, want), msg);
    assert_int_equal(occurrences(msg, path), 1);
    assert_non_null(strstr(msg, "malformed"));
    file_engine_close(&fe, SFSM_ESTORAGE);
    test_store_remove(path);
}

/* A write SQLite refuses inside a transaction (a trigger): the message
 * names the file and keeps the trigger's words. */
static void test_refused_write_names_file(void **state)
{
    (void)state;
    char path[256];
    db_tmp_path(path);
    make_store(path);
    exec_on(path, "CREATE TRIGGER no_more BEFORE INSERT ON opp BEGIN SELECT RAISE(ABORT, 'closed for the year'); END;");
    file_engine fe;
    sfsm_opp *o = NULL;
    assert_int_equal(file_engine_open(&fe, path), SFSM_OK);
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = "o-2";
    assert_int_equal(sfsm_opp_create_ext(fe.e, &opts, &o), SFSM_ESTORAGE);
    assert_null(o);
    const char *msg = sfsm_errmsg();
    assert_int_equal(occurrences(msg, path), 1);
    assert_non_null(strstr(msg, "closed for the year"));
    file_engine_close(&fe, SFSM_ESTORAGE);
    test_store_remove(path);
}

/* A directory with a long name holding ESC: the message keeps the last 64
 * bytes of the path behind "...", escaped, and stays short. */
static void long_dir(char dir[LONG_PATH])
{
    const char *tmp = getenv("TMPDIR");
    char name[300];
    memset(name, 'd', 200);
    name[200] = '\0';
    snprintf(dir, LONG_PATH, "%s/sfsm-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    assert_non_null(mkdtemp(dir));
}

static void test_long_path_is_cut_and_escaped(void **state)
{
    (void)state;
    char dir[LONG_PATH], path[LONG_PATH + 32];
    long_dir(dir);
    snprintf(path, sizeof path, "%s/%s", dir, "store\x1b[31m-of-the-north.db");
    make_store(path);
    break_opp_table(path);
    file_engine fe;
    assert_int_equal(file_engine_open(&fe, path), SFSM_ESTORAGE);
    const char *msg = sfsm_errmsg();
    /* the last 64 bytes of the path, ESC written as \x1b */
    char want[300] = "sqlite store '...";
    size_t w = strlen(want);
    for (const char *c = path + strlen(path) - 64; *c; c++)
        w += (size_t)snprintf(want + w, sizeof want - w, *c == '\x1b' ? "\\x1b" : "%c", *c);
    snprintf(want + w, sizeof want - w, "': ");
    assert_ptr_equal(strstr(msg, want), msg);
    assert_null(strchr(msg, '\x1b'));
    assert_null(strstr(msg, dir));
    assert_true(strlen(msg) < 200);
    file_engine_close(&fe, SFSM_ESTORAGE);
    test_store_remove(path);
    assert_int_equal(rmdir(dir), 0);
}

/* The open path cuts it the same way: a long name that does not exist. */
static void test_open_messages_cut_the_path(void **state)
{
    (void)state;
    char dir[LONG_PATH], path[LONG_PATH + 32];
    long_dir(dir);
    snprintf(path, sizeof path, "%s/missing.db", dir);
    sfsm_sqlite_options o;
    assert_int_equal(sfsm_sqlite_options_init(&o, SFSM_SQLITE_OPTIONS_VERSION), SFSM_OK);
    o.create = 0;
    sfsm_store *s = (sfsm_store *)&o;
    assert_int_equal(sfsm_store_open_sqlite(&s, path, &o), SFSM_ENOTFOUND);
    assert_null(s);
    const char *msg = sfsm_errmsg();
    assert_non_null(strstr(msg, "sqlite store '..."));
    assert_non_null(strstr(msg, "/missing.db': does not exist"));
    assert_null(strstr(msg, dir));
    assert_true(strlen(msg) < 200);

    /* not a database: named once, with the reason */
    snprintf(path, sizeof path, "%s/text.db", dir);
    write_all(path, "hello, world, this is not SQLite at all, just some text....", 60);
    assert_int_equal(sfsm_store_open_sqlite(&s, path, NULL), SFSM_ESTORAGE);
    msg = sfsm_errmsg();
    assert_int_equal(occurrences(msg, "/text.db'"), 1);
    assert_non_null(strstr(msg, "not a SQLite database"));
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_page_after_open_names_file),
        cmocka_unit_test(test_refused_write_names_file),
        cmocka_unit_test(test_long_path_is_cut_and_escaped),
        cmocka_unit_test(test_open_messages_cut_the_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
