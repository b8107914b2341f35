/* Where a fault in a JSON document's text is: a raw control character in a
 * string is SFSM_EPARSE naming the JSON path of the value that holds it
 * (lib/json_text.c). The paths of odd places: a key itself, keys that are
 * not identifiers or hold escapes, keys longer than the path shows, paths
 * too long for the message, and a path that cannot be built for want of
 * memory. Pure parsing: the same on both store runs. */
#include "testutil.h"

#include <stdio.h>

/* Loads doc, expects EPARSE for a control character at byte `at`, and the
 * message to start with path followed by ": ". */
static void expect_path(const char *doc, const char *path)
{
    sfsm_pipeline *p = (sfsm_pipeline *)1;
    assert_int_equal(sfsm_pipeline_from_json(&p, doc, strlen(doc)), SFSM_EPARSE);
    assert_null(p);
    size_t at = strcspn(doc, "\x01");
    char want[512];
    snprintf(want, sizeof want, "%s: control character 0x01 in a string at byte %zu (it must be escaped)", path, at);
    if (strcmp(sfsm_errmsg(), want) != 0)
        fail_msg("got \"%s\"\nwant \"%s\"", sfsm_errmsg(), want);
}

/* The character sits in a key: the path is the object holding that key. */
static void control_in_a_key(void **state)
{
    (void)state;
    expect_path("{\"a\x01\": 1}", "document");
    expect_path("{\"name\": {\"\x01\": 1}}", "name");
    expect_path("{\"name\": 1, \"b\x01\": 2}", "document");
}

/* Keys that are not identifiers appear as ["key"], escapes as written. */
static void odd_keys(void **state)
{
    (void)state;
    expect_path("{\"we\\\"ird\": [\"x\", \"\x01\"]}", "[\"we\\\"ird\"][1]");
    expect_path("{\"a-b\": {\"c\": [0, [1, \"\x01\"]]}}", "[\"a-b\"].c[1][1]");
    expect_path("{\"\\u00e9\": \"\x01\"}", "[\"\\u00e9\"]");
    expect_path("[{\"~\": 1, \"Z_9\": \"\x01\"}]", "[0].Z_9");
}

/* A key longer than 64 bytes shows its first 64. */
static void long_keys(void **state)
{
    (void)state;
    char key[71], doc[256], want[128];
    memset(key, 'k', 70);
    key[70] = '\0';
    snprintf(doc, sizeof doc, "{\"%s\": \"\x01\"}", key);
    expect_path(doc, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk");
    key[3] = '-';
    snprintf(doc, sizeof doc, "{\"%s\": \"\x01\"}", key);
    snprintf(want, sizeof want, "[\"%.64s\"]", key);
    expect_path(doc, want);
}

/* A path longer than the message holds is cut short, still terminated:
 * after whole steps ([0] steps that fill it exactly), or inside the step
 * that does not fit. */
static void paths_cut_short(void **state)
{
    (void)state;
    char key[65];
    memset(key, 'k', 64);
    key[64] = '\0';
    /* 64 + 85 * 3 = 319 bytes, the most a path has; 90 arrays deep */
    char doc[1024], want[400];
    int n = snprintf(doc, sizeof doc, "{\"%s\": ", key);
    for (int i = 0; i < 90; i++)
        doc[n++] = '[';
    n += snprintf(doc + n, sizeof doc - (size_t)n, "\"\x01\"");
    for (int i = 0; i < 90; i++)
        doc[n++] = ']';
    doc[n++] = '}';
    doc[n] = '\0';
    n = snprintf(want, sizeof want, "%s", key);
    for (int i = 0; i < 85; i++)
        n += snprintf(want + n, sizeof want - (size_t)n, "[0]");
    assert_int_equal(strlen(want), 319);
    expect_path(doc, want);

    /* five 64-byte keys deep: the fifth does not fit and is cut inside */
    n = 0;
    for (int i = 0; i < 5; i++)
        n += snprintf(doc + n, sizeof doc - (size_t)n, "{\"%s\": ", key);
    n += snprintf(doc + n, sizeof doc - (size_t)n, "\"\x01\"}}}}}");
    n = snprintf(want, sizeof want, "%s", key);
    for (int i = 1; i < 5; i++)
        n += snprintf(want + n, sizeof want - (size_t)n, ".%s", key);
    want[319] = '\0';
    expect_path(doc, want);
}

/* Escapes before the fault are stepped over; one in the last five bytes
 * (too short for \u0000) is not read past the end. */
static void escapes_near_the_end(void **state)
{
    (void)state;
    expect_path("{\"a\": \"\\\\\\\"\", \"b\": \"x\x01\"}", "b");
    sfsm_pipeline *p = (sfsm_pipeline *)1;
    const char *doc = "{\"name\": \"a\\n\"}";
    int rc = sfsm_pipeline_from_json(&p, doc, strlen(doc));
    assert_null(p);
    assert_int_not_equal(rc, SFSM_OK);
    assert_null(strstr(sfsm_errmsg(), "control character"));
    assert_null(strstr(sfsm_errmsg(), "\\u0000"));
    doc = "[\"\\u0000\"]";
    assert_int_equal(sfsm_pipeline_from_json(&p, doc, strlen(doc)), SFSM_EINVAL);
    assert_string_equal(sfsm_errmsg(), "[0]: \\u0000 in a string at byte 2 (texts cannot hold NUL)");
}

/* Out of memory while finding the path: the fault is still reported, at
 * "document"; or the load fails with ENOMEM. Nothing leaks either way. */
static void path_without_memory(void **state)
{
    (void)state;
    const char *doc = "{\"stages\": [{\"name\": \"x\x01\"}]}";
    failalloc_install();
    int fallback = 0, full = 0;
    long n;
    for (n = 1; n < 1000; n++) {
        failalloc_arm(n);
        sfsm_pipeline *p = (sfsm_pipeline *)1;
        int rc = sfsm_pipeline_from_json(&p, doc, strlen(doc));
        int failed = failalloc_failed();
        failalloc_arm(0);
        assert_null(p);
        assert_int_equal(failalloc_live(), 0);
        if (rc == SFSM_ENOMEM) {
            assert_true(failed);
            continue;
        }
        assert_int_equal(rc, SFSM_EPARSE);
        if (strncmp(sfsm_errmsg(), "document: control character 0x01", 32) == 0) {
            assert_true(failed);
            fallback++;
        } else {
            assert_string_equal(sfsm_errmsg(), "stages[0].name: control character 0x01 in a string at byte 23 (it must be escaped)");
            full++;
        }
        if (!failed)
            break;
    }
    failalloc_uninstall();
    assert_int_equal(fallback, 1);
    assert_int_equal(full, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(control_in_a_key),
        cmocka_unit_test(odd_keys),
        cmocka_unit_test(long_keys),
        cmocka_unit_test(paths_cut_short),
        cmocka_unit_test(escapes_near_the_end),
        cmocka_unit_test(path_without_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
