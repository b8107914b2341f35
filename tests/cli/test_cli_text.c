/* The command-line tool's text and JSON writers on their own: stored text
 * escaped for a terminal (cli_tx) and JSON that is never written from text
 * that is not UTF-8 (jsonw). Through the tool itself the library already
 * refuses such text, so these writers are checked here directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

static void tx_escapes_what_a_terminal_acts_on(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "plain ASCII", "plain ASCII" },
        { "UTF-8: 销售 Ünïcödé €", "UTF-8: 销售 Ünïcödé €" },
        { "\x1b[2J", "\\x1b[2J" },
        { "bell\a tab\t nl\n cr\r vt\v ff\f bs\b", "bell\\a tab\\t nl\\n cr\\r vt\\v ff\\f bs\\b" },
        { "del\x7f", "del\\x7f" },
        { "csi\xc2\x9b" "31m", "csi\\xc2\\x9b31m" },   /* C1 control U+009B */
        { "nbsp\xc2\xa0", "nbsp\xc2\xa0" },          /* U+00A0 is text */
        { "back\\slash", "back\\\\slash" },
        { "bad\xff", "bad\\xff" },
        { "overlong\xc0\xaf", "overlong\\xc0\\xaf" },
        { "surrogate\xed\xa0\x80", "surrogate\\xed\\xa0\\x80" },
        { "cut\xe4\xb8", "cut\\xe4\\xb8" },
        { "\x01", "\\x01" },
        { "", "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(cli_tx(cases[i].in), cases[i].out);
    assert_string_equal(cli_tx(NULL), "-");
    const char *clean = "no copy needed";
    assert_ptr_equal(cli_tx(clean), clean);
}

static void messages_keep_the_library_escapes(void **state)
{
    (void)state;
    /* The library writes "\xff" for a byte it quotes; shown once, not as "\\xff". */
    assert_string_equal(cli_tx_message("stored opportunity 'OPP\\xff': bad"), "stored opportunity 'OPP\\xff': bad");
    assert_string_equal(cli_tx_message("raw \x1b[2J and \xff"), "raw \\x1b[2J and \\xff");
    assert_string_equal(cli_tx_message(NULL), "");
}

static void tx_copies_survive_one_printf(void **state)
{
    (void)state;
    const char *a[8];
    char in[8][8];
    for (int i = 0; i < 8; i++) {
        snprintf(in[i], sizeof in[i], "%d\x1b", i);
        a[i] = cli_tx(in[i]);
    }
    for (int i = 0; i < 8; i++) {
        char want[16];
        snprintf(want, sizeof want, "%d\\x1b", i);
        assert_string_equal(a[i], want);
    }
    /* A long text: every byte escaped at worst. */
    size_t n = 5000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 0x1b, n);
    big[n] = '\0';
    const char *t = cli_tx(big);
    assert_int_equal(strlen(t), 4 * n);
    assert_memory_equal(t, "\\x1b\\x1b", 8);
    free(big);
}

static void utf8_validity(void **state)
{
    (void)state;
    assert_true(cli_utf8_valid("", 0));
    assert_true(cli_utf8_valid("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10));
    assert_false(cli_utf8_valid("\x80", 1));
    assert_false(cli_utf8_valid("\xc3", 1));
    assert_false(cli_utf8_valid("\xe0\x80\x80", 3));       /* overlong */
    assert_false(cli_utf8_valid("\xf4\x90\x80\x80", 4));   /* above U+10FFFF */
    assert_false(cli_utf8_valid("\xf5\x80\x80\x80", 4));
    assert_true(cli_utf8_valid("\xf4\x8f\xbf\xbf", 4));    /* U+10FFFF */
}

/* Runs write() into a memory file; returns what it wrote (caller frees). */
static char *written(int (*write)(jsonw *w), int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    jsonw w;
    jw_init(&w, f);
    *rc = write(&w);
    fclose(f);
    return buf;
}

static int good_doc(jsonw *w)
{
    jw_begin_object(w);
    jw_key(w, "name");
    jw_string(w, "销售 \"quoted\" \x1b\n");
    jw_key(w, "n");
    jw_int(w, -5);
    jw_key(w, "raw");
    jw_raw(w, "{\"a\":1}");
    jw_key(w, "none");
    jw_string(w, NULL);
    jw_end_object(w);
    return jw_finish(w, SFSM_OK);
}

static int bad_value_doc(jsonw *w)
{
    jw_begin_array(w);
    jw_begin_object(w);
    jw_key(w, "customer");
    jw_string(w, "ACME\xff");
    jw_key(w, "after");
    jw_int(w, 1);
    jw_end_object(w);
    jw_end_array(w);
    return jw_finish(w, SFSM_OK);
}

static int bad_key_doc(jsonw *w)
{
    jw_begin_object(w);
    jw_key(w, "k\xc0\xaf");
    jw_string(w, "v");
    jw_end_object(w);
    return jw_finish(w, SFSM_OK);
}

static int bad_raw_doc(jsonw *w)
{
    jw_begin_object(w);
    jw_key(w, "changes");
    jw_raw(w, "{\"a\":\"\xfe\"}");
    jw_end_object(w);
    return jw_finish(w, SFSM_OK);
}

static int failed_call_doc(jsonw *w)
{
    sfsm_error_set(SFSM_ENOTFOUND, "the call's own failure");
    jw_begin_array(w);
    jw_string(w, "bad\xff");
    jw_end_array(w);
    return jw_finish(w, SFSM_ENOTFOUND);
}

static void json_writer_escapes(void **state)
{
    (void)state;
    int rc;
    char *out = written(good_doc, &rc);
    assert_int_equal(rc, SFSM_OK);
    assert_string_equal(out, "{\n  \"name\": \"销售 \\\"quoted\\\" \\u001b\\n\",\n  \"n\": -5,\n"
                             "  \"raw\": {\"a\":1},\n  \"none\": null\n}\n");
    free(out);
}

static void json_writer_refuses_text_that_is_not_utf8(void **state)
{
    (void)state;
    int rc;
    char *out = written(bad_value_doc, &rc);
    assert_int_equal(rc, SFSM_ESTORAGE);
    assert_non_null(strstr(sfsm_errmsg(), "not valid UTF-8"));
    assert_non_null(strstr(sfsm_errmsg(), "\"customer\""));
    /* Cut short before the bad text: nothing of it, nothing after it. */
    assert_null(strstr(out, "ACME"));
    assert_null(strstr(out, "after"));
    free(out);

    out = written(bad_key_doc, &rc);
    assert_int_equal(rc, SFSM_ESTORAGE);
    assert_null(strchr(out, 'v'));
    free(out);

    out = written(bad_raw_doc, &rc);
    assert_int_equal(rc, SFSM_ESTORAGE);
    assert_non_null(strstr(sfsm_errmsg(), "\"changes\""));
    free(out);
}

static void json_writer_keeps_the_first_failure(void **state)
{
    (void)state;
    int rc;
    char *out = written(failed_call_doc, &rc);
    assert_int_equal(rc, SFSM_ENOTFOUND);
    assert_string_equal(sfsm_errmsg(), "the call's own failure");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tx_escapes_what_a_terminal_acts_on),
        cmocka_unit_test(messages_keep_the_library_escapes),
        cmocka_unit_test(tx_copies_survive_one_printf),
        cmocka_unit_test(utf8_validity),
        cmocka_unit_test(json_writer_escapes),
        cmocka_unit_test(json_writer_refuses_text_that_is_not_utf8),
        cmocka_unit_test(json_writer_keeps_the_first_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
