/* Pictures of a pipeline (pipeline.h: sfsm_pipeline_to_dot,
 * sfsm_pipeline_to_mermaid): the default pipeline's stages, edges, roles,
 * guards and styles; names with quotes, backslashes, markup, entities,
 * control characters and non-ASCII text escaped for each language; the DOT
 * rendered by Graphviz (`dot -Tsvg`, which must be installed: tools/run.sh
 * installs it) with every label in the picture; arguments and allocation
 * failures. */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers ---- */

static char *to_dot(const sfsm_pipeline *p)
{
    char *s = NULL;
    size_t len = 0;
    int rc = sfsm_pipeline_to_dot(p, &s, &len);
    if (rc != SFSM_OK)
        fail_msg("sfsm_pipeline_to_dot: %d %s", rc, sfsm_errmsg());
    assert_non_null(s);
    assert_int_equal(strlen(s), len);
    return s;
}

static char *to_mermaid(const sfsm_pipeline *p)
{
    char *s = NULL;
    size_t len = 0;
    int rc = sfsm_pipeline_to_mermaid(p, &s, &len);
    if (rc != SFSM_OK)
        fail_msg("sfsm_pipeline_to_mermaid: %d %s", rc, sfsm_errmsg());
    assert_non_null(s);
    assert_int_equal(strlen(s), len);
    return s;
}

static sfsm_pipeline *default_pipeline(void)
{
    sfsm_pipeline *p = NULL;
    assert_int_equal(sfsm_pipeline_default(&p), SFSM_OK);
    return p;
}

/* Expected text is written with ` for " and ~ for \ so that DOT's own
 * escapes stay readable; neither character occurs in the test's names. */
static char *unmask(const char *pattern)
{
    char *s = strdup(pattern);
    assert_non_null(s);
    for (char *c = s; *c; c++)
        *c = *c == '`' ? '"' : *c == '~' ? '\\' : *c;
    return s;
}

static void expect_has(const char *doc, const char *pattern)
{
    char *want = unmask(pattern);
    if (!strstr(doc, want))
        fail_msg("expected\n  %s\nin\n%s", want, doc);
    free(want);
}

static void expect_lacks(const char *doc, const char *pattern)
{
    char *bad = unmask(pattern);
    if (strstr(doc, bad))
        fail_msg("did not expect\n  %s\nin\n%s", bad, doc);
    free(bad);
}

static size_t count_of(const char *doc, const char *needle)
{
    size_t n = 0;
    for (const char *at = strstr(doc, needle); at; at = strstr(at + 1, needle))
        n++;
    return n;
}

/* Every double-quoted DOT string closes (only \" and \\ escape inside) and
 * holds no raw control character; outside strings there is only printable
 * ASCII, so every name was quoted. */
static void check_dot_quoting(const char *doc)
{
    size_t strings = 0;
    for (const char *c = doc; *c; c++) {
        if (*c == '"') {
            strings++;
            for (c++; *c != '"'; c++) {
                if (!*c)
                    fail_msg("unterminated DOT string (string #%zu)", strings);
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                    fail_msg("raw control character 0x%02x in DOT string #%zu", (unsigned char)*c, strings);
                if (*c == '\\') {
                    c++;
                    if (*c != '\\' && *c != '"' && *c != 'n' && *c != 'x')
                        fail_msg("unexpected escape \\%c in DOT string #%zu", *c, strings);
                }
            }
        } else if (*c != '\n' && ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)) {
            fail_msg("byte 0x%02x outside a quoted DOT string at offset %zu", (unsigned char)*c,
                     (size_t)(c - doc));
        }
    }
    assert_true(strings > 0);
}

/* The text of a quoted Mermaid label holds nothing that Mermaid reads as
 * syntax: no quote, pipe, markup (<br/> aside), %% (a directive or
 * comment), backtick or control character, and every '#' starts an
 * entity. */
static void check_mermaid_text(const char *s, size_t n, const char *line)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || strchr("\"|`>", c))
            fail_msg("character 0x%02x in a Mermaid label: %s", c, line);
        if (c == '%' && i + 1 < n && s[i + 1] == '%')
            fail_msg("%%%% in a Mermaid label: %s", line);
        if (c == '<' && (n - i < 5 || memcmp(s + i, "<br/>", 5) != 0))
            fail_msg("markup in a Mermaid label: %s", line);
        if (c == '<')
            i += 4;
        if (c == '#') {
            size_t k = i + 1;
            while (k < n && (s[k] == '_' || (s[k] >= 'a' && s[k] <= 'z') || (s[k] >= '0' && s[k] <= '9')))
                k++;
            if (k == i + 1 || k >= n || s[k] != ';')
                fail_msg("'#' that starts no entity in a Mermaid label: %s", line);
        }
    }
}

/* s<N> at *p; advances past it. */
static int take_node_id(const char **p)
{
    if (**p != 's' || (*p)[1] < '0' || (*p)[1] > '9')
        return 0;
    for (*p += 1; **p >= '0' && **p <= '9'; (*p)++)
        ;
    return 1;
}

/* Takes "..." at *p (checking its text) followed by `close`. */
static int take_quoted(const char **p, const char *close, const char *line)
{
    if (**p != '"')
        return 0;
    const char *end = strchr(*p + 1, '"');
    if (!end)
        return 0;
    check_mermaid_text(*p + 1, (size_t)(end - *p - 1), line);
    *p = end + 1;
    size_t n = strlen(close);
    if (strncmp(*p, close, n) != 0)
        return 0;
    *p += n;
    return 1;
}

/* Each line is one of the forms the writer produces, and user text appears
 * only inside quotes (or in the %% comment, where it cannot open a
 * directive). */
static void check_mermaid_lines(const char *doc)
{
    assert_true(strncmp(doc, "flowchart LR\n", 13) == 0);
    char *copy = strdup(doc + 13);
    assert_non_null(copy);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *p = line;
        int ok = 0;
        if (strncmp(p, "    %% ", 7) == 0) {
            ok = !strchr(p + 6, '%');
        } else if (strncmp(p, "    classDef ", 13) == 0 || strncmp(p, "    class ", 10) == 0) {
            ok = !strchr(p, '"');
        } else if (strncmp(p, "    start(( )) --> ", 19) == 0) {
            p += 19;
            ok = take_node_id(&p) && !*p;
        } else if (strncmp(p, "    ", 4) == 0) {
            p += 4;
            if (take_node_id(&p)) {
                if (strncmp(p, "[", 1) == 0) {
                    p += 1;
                    ok = take_quoted(&p, "]", line) && !*p;
                } else if (strncmp(p, "(((", 3) == 0) {
                    p += 3;
                    ok = take_quoted(&p, ")))", line) && !*p;
                } else if (strncmp(p, " -->|", 5) == 0) {
                    p += 5;
                    ok = take_quoted(&p, "| ", line) && take_node_id(&p) && !*p;
                }
            }
        }
        if (!ok)
            fail_msg("unexpected Mermaid line: %s", line);
    }
    free(copy);
}

/* ---- arguments ---- */

static void test_args(void **state)
{
    (void)state;
    sfsm_pipeline *p = default_pipeline();
    static char sentinel;
    char *out = &sentinel;
    assert_int_equal(sfsm_pipeline_to_dot(NULL, &out, NULL), SFSM_EINVAL);
    assert_null(out);
    assert_msg_has("pipeline");
    assert_int_equal(sfsm_pipeline_to_dot(p, NULL, NULL), SFSM_EINVAL);
    assert_msg_has("out");
    out = &sentinel;
    assert_int_equal(sfsm_pipeline_to_mermaid(NULL, &out, NULL), SFSM_EINVAL);
    assert_null(out);
    assert_int_equal(sfsm_pipeline_to_mermaid(p, NULL, NULL), SFSM_EINVAL);

    /* len may be NULL */
    assert_int_equal(sfsm_pipeline_to_dot(p, &out, NULL), SFSM_OK);
    assert_non_null(out);
    sfsm_free(out);
    assert_int_equal(sfsm_pipeline_to_mermaid(p, &out, NULL), SFSM_OK);
    assert_non_null(out);
    sfsm_free(out);
    sfsm_pipeline_free(p);
}

/* ---- the default pipeline ---- */

/* DESIGN.md §1: every (from stage, event) pair, with the roles in the
 * pipeline's role order (manager, rep, assistant, support) and the guards. */
static const struct {
    const char *from, *to, *dot_label, *mermaid_label;
    int from_ix, to_ix;
} default_edges[] = {
    { "lead", "qualified", "qualify~n(manager, rep)~n[has_customer]", "qualify (manager, rep) [has_customer]", 0, 1 },
    { "qualified", "quoted", "quote~n(manager, rep)~n[has_amount]", "quote (manager, rep) [has_amount]", 1, 2 },
    { "quoted", "negotiating", "negotiate~n(manager, rep)", "negotiate (manager, rep)", 2, 3 },
    { "negotiating", "quoted", "requote~n(manager, rep)~n[has_amount]", "requote (manager, rep) [has_amount]", 3, 2 },
    { "negotiating", "signed", "sign~n(manager, rep)~n[has_amount]", "sign (manager, rep) [has_amount]", 3, 4 },
    { "signed", "delivered", "deliver~n(manager, rep, assistant)", "deliver (manager, rep, assistant)", 4, 5 },
    { "delivered", "serviced", "service~n(manager, assistant, support)", "service (manager, assistant, support)", 5, 6 },
    { "lead", "lost", "lose~n(manager, rep)~n[has_reason]", "lose (manager, rep) [has_reason]", 0, 7 },
    { "qualified", "lost", "lose~n(manager, rep)~n[has_reason]", "lose (manager, rep) [has_reason]", 1, 7 },
    { "quoted", "lost", "lose~n(manager, rep)~n[has_reason]", "lose (manager, rep) [has_reason]", 2, 7 },
    { "negotiating", "lost", "lose~n(manager, rep)~n[has_reason]", "lose (manager, rep) [has_reason]", 3, 7 },
    { "lost", "lead", "reopen~n(manager)", "reopen (manager)", 7, 0 },
};
#define DEFAULT_EDGES (sizeof default_edges / sizeof default_edges[0])

static const struct {
    const char *name, *label, *probability, *style;
} default_stages[] = {
    { "lead", "Lead", "10 %", "" },
    { "qualified", "Qualified", "25 %", "" },
    { "quoted", "Quoted", "50 %", "" },
    { "negotiating", "Negotiating", "75 %", "" },
    { "signed", "Signed", "100 %", ", fillcolor=`#c8e6c9`, color=`#2e7d32`" },
    { "delivered", "Delivered", "100 %", ", fillcolor=`#c8e6c9`, color=`#2e7d32`" },
    { "serviced", "Serviced", "100 %", ", fillcolor=`#c8e6c9`, color=`#2e7d32`" },
    { "lost", "Lost", "0 %", ", fillcolor=`#ffcdd2`, color=`#c62828`" },
};
#define DEFAULT_STAGES (sizeof default_stages / sizeof default_stages[0])

static void test_dot_default(void **state)
{
    (void)state;
    sfsm_pipeline *p = default_pipeline();
    char *dot = to_dot(p);
    char want[512];

    assert_true(strncmp(dot, "digraph \"default\" {\n", 20) == 0);
    expect_has(dot, "rankdir=LR");
    expect_has(dot, "label=`default (version 1)`");
    /* open stages take the node defaults: blue, rounded, filled */
    expect_has(dot, "node [shape=box, style=`rounded,filled`");
    expect_has(dot, "fillcolor=`#e3f2fd`, color=`#1565c0`]");
    check_dot_quoting(dot);

    for (size_t i = 0; i < DEFAULT_STAGES; i++) {
        snprintf(want, sizeof want, "`%s` [label=`%s~n%s`", default_stages[i].name, default_stages[i].label,
                 default_stages[i].probability);
        expect_has(dot, want);
        /* the outcome's colours right after the label */
        snprintf(want, sizeof want, "`%s` [label=`%s~n%s`%s%s", default_stages[i].name, default_stages[i].label,
                 default_stages[i].probability, default_stages[i].style,
                 i == 0 ? ", penwidth=2.5" : i == 6 ? ", peripheries=2" : i == 7 ? "];" : ",");
        expect_has(dot, want);
    }
    /* initial: entry arrow from a point and a bold border; final: a double
     * border on serviced only (lost can be reopened) */
    expect_has(dot, "    `` [shape=point");
    expect_has(dot, "    `` -> `lead` [");
    assert_int_equal(count_of(dot, "penwidth=2.5"), 1);
    assert_int_equal(count_of(dot, "peripheries=2"), 1);
    expect_has(dot, "`serviced` [label=`Serviced~n100 %`, fillcolor=`#c8e6c9`, color=`#2e7d32`, peripheries=2");
    /* won and lost styled apart */
    assert_int_equal(count_of(dot, "fillcolor=\"#c8e6c9\""), 3);
    assert_int_equal(count_of(dot, "fillcolor=\"#ffcdd2\""), 1);

    for (size_t i = 0; i < DEFAULT_EDGES; i++) {
        snprintf(want, sizeof want, "    `%s` -> `%s` [label=`%s`", default_edges[i].from, default_edges[i].to,
                 default_edges[i].dot_label);
        expect_has(dot, want);
    }
    /* one edge per (from stage, event), plus the entry arrow */
    assert_int_equal(count_of(dot, " -> "), DEFAULT_EDGES + 1);
    /* edges into lost are red */
    assert_int_equal(count_of(dot, "-> \"lost\" [label=\"lose\\n(manager, rep)\\n[has_reason]\", color=\"#c62828\""), 4);
    /* requote does not pull negotiating out of line */
    expect_has(dot, "`negotiating` -> `quoted` [label=`requote~n(manager, rep)~n[has_amount]`, constraint=false]");
    assert_int_equal(count_of(dot, "constraint=false"), 1);
    assert_true(dot[strlen(dot) - 2] == '}' && dot[strlen(dot) - 1] == '\n');
    sfsm_free(dot);
    sfsm_pipeline_free(p);
}

static void test_mermaid_default(void **state)
{
    (void)state;
    sfsm_pipeline *p = default_pipeline();
    char *mmd = to_mermaid(p);
    char want[512];

    check_mermaid_lines(mmd);
    expect_has(mmd, "    %% pipeline default, version 1\n");
    for (size_t i = 0; i < DEFAULT_STAGES; i++) {
        if (i == 6)
            snprintf(want, sizeof want, "    s%zu(((`%s<br/>%s`)))\n", i, default_stages[i].label,
                     default_stages[i].probability);
        else
            snprintf(want, sizeof want, "    s%zu[`%s<br/>%s`]\n", i, default_stages[i].label,
                     default_stages[i].probability);
        expect_has(mmd, want);
    }
    expect_has(mmd, "    start(( )) --> s0\n");
    for (size_t i = 0; i < DEFAULT_EDGES; i++) {
        snprintf(want, sizeof want, "    s%d -->|`%s`| s%d\n", default_edges[i].from_ix,
                 default_edges[i].mermaid_label, default_edges[i].to_ix);
        expect_has(mmd, want);
    }
    assert_int_equal(count_of(mmd, " -->|"), DEFAULT_EDGES);
    expect_has(mmd, "    classDef won fill:#c8e6c9,stroke:#2e7d32");
    expect_has(mmd, "    classDef lost fill:#ffcdd2,stroke:#c62828");
    expect_has(mmd, "    class s0,s1,s2,s3 open\n");
    expect_has(mmd, "    class s4,s5,s6 won\n");
    expect_has(mmd, "    class s7 lost\n");
    expect_has(mmd, "    class s0 initial\n");
    sfsm_free(mmd);
    sfsm_pipeline_free(p);
}

static void test_deterministic(void **state)
{
    (void)state;
    sfsm_pipeline *a = default_pipeline(), *b = default_pipeline();
    char *d1 = to_dot(a), *d2 = to_dot(a), *d3 = to_dot(b);
    char *m1 = to_mermaid(a), *m2 = to_mermaid(b);
    assert_string_equal(d1, d2);
    assert_string_equal(d1, d3);
    assert_string_equal(m1, m2);
    sfsm_free(d1);
    sfsm_free(d2);
    sfsm_free(d3);
    sfsm_free(m1);
    sfsm_free(m2);
    sfsm_pipeline_free(a);
    sfsm_pipeline_free(b);
}

/* ---- awkward names ---- */

#define P_NAME "Vertrieb \"EMEA\" \\ 销售"
#define R_REP "sales \"rep\""
#define R_BACK "back\\slash"
#define R_BOSS "经理"
#define R_RD "R&D <lead>"
#define S_LEAD "new \"lead\""
#define S_PATH "C:\\path\\"
#define S_QUOTE "报价 🤝"
#define S_SPACE "with space"
#define S_WON "won|deal"
#define S_END "end"
#define S_LOST "lost\ttab"

static const struct {
    const char *name, *label, *outcome;
    int probability;
} odd_stages[] = {
    { S_LEAD, "New \"lead\" \\N", "open", 10 },                    /* \N: DOT's "node name" escape */
    { S_PATH, "C:\\path\\", "open", 30 },                           /* ends in a backslash */
    { S_QUOTE, "报价 🤝 Angebot", "open", 60 },
    { S_SPACE, "R&D <b>x</b> &lt; #quot; 100%", "open", 80 },        /* markup and entities */
    { S_WON, "Won | deal", "won", 100 },
    { S_END, "%%{init: {'theme':'dark'}}%%", "won", 100 },           /* a Mermaid directive */
    { S_LOST, "Lost\nfor good", "lost", 0 },                         /* two lines */
};
#define ODD_STAGES (sizeof odd_stages / sizeof odd_stages[0])

static const char *const odd_roles[] = { R_REP, R_BACK, R_BOSS, R_RD };

static const struct {
    const char *name, *from[4], *to, *roles[4], *guards[2];
} odd_events[] = {
    { "go \"on\"", { S_LEAD }, S_PATH, { R_REP, R_BOSS }, { "has\\guard", "\"quoted\"" } },
    { "step\\", { S_PATH }, S_QUOTE, { R_BACK }, { NULL } },
    { "报价", { S_QUOTE }, S_SPACE, { R_RD }, { NULL } },
    { "close|win", { S_SPACE }, S_WON, { R_RD, R_BOSS, R_BACK, R_REP }, { "g&<>" } },
    { "finish", { S_WON }, S_END, { R_BOSS }, { NULL } },
    { "lose", { S_LEAD, S_PATH, S_QUOTE, S_SPACE }, S_LOST, { R_REP }, { NULL } },
    { "back", { S_SPACE }, S_QUOTE, { R_BOSS }, { NULL } },
    { "revive", { S_LOST }, S_LEAD, { R_BOSS }, { NULL } },
};
#define ODD_EVENTS (sizeof odd_events / sizeof odd_events[0])

typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void text_add(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void text_adds(text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

static void json_string(text *t, const char *s)
{
    text_adds(t, "\"");
    for (; *s; s++) {
        char esc[8];
        if (*s == '"' || *s == '\\') {
            esc[0] = '\\';
            esc[1] = *s;
            text_add(t, esc, 2);
        } else if ((unsigned char)*s < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned char)*s);
            text_adds(t, esc);
        } else {
            text_add(t, s, 1);
        }
    }
    text_adds(t, "\"");
}

static void json_strings(text *t, const char *const *list, size_t max)
{
    text_adds(t, "[");
    for (size_t i = 0; i < max && list[i]; i++) {
        if (i)
            text_adds(t, ",");
        json_string(t, list[i]);
    }
    text_adds(t, "]");
}

static sfsm_pipeline *odd_pipeline(void)
{
    text t = { 0 };
    char num[32];
    text_adds(&t, "{\"format\":\"salesfsm-pipeline\",\"name\":");
    json_string(&t, P_NAME);
    text_adds(&t, ",\"version\":3,\"initial\":");
    json_string(&t, S_LEAD);
    text_adds(&t, ",\"stages\":[");
    for (size_t i = 0; i < ODD_STAGES; i++) {
        text_adds(&t, i ? ",{\"name\":" : "{\"name\":");
        json_string(&t, odd_stages[i].name);
        text_adds(&t, ",\"label\":");
        json_string(&t, odd_stages[i].label);
        snprintf(num, sizeof num, ",\"probability\":%d", odd_stages[i].probability);
        text_adds(&t, num);
        text_adds(&t, ",\"stale_days\":7,\"outcome\":");
        json_string(&t, odd_stages[i].outcome);
        text_adds(&t, "}");
    }
    text_adds(&t, "],\"roles\":");
    json_strings(&t, odd_roles, 4);
    text_adds(&t, ",\"events\":[");
    for (size_t i = 0; i < ODD_EVENTS; i++) {
        text_adds(&t, i ? ",{\"name\":" : "{\"name\":");
        json_string(&t, odd_events[i].name);
        text_adds(&t, ",\"from\":");
        json_strings(&t, odd_events[i].from, 4);
        text_adds(&t, ",\"to\":");
        json_string(&t, odd_events[i].to);
        text_adds(&t, ",\"roles\":");
        json_strings(&t, odd_events[i].roles, 4);
        text_adds(&t, ",\"guards\":");
        json_strings(&t, odd_events[i].guards, 2);
        text_adds(&t, "}");
    }
    text_adds(&t, "]}");
    sfsm_pipeline *p = NULL;
    int rc = sfsm_pipeline_from_json(&p, t.s, t.len);
    if (rc != SFSM_OK)
        fail_msg("sfsm_pipeline_from_json: %d %s\n%s", rc, sfsm_errmsg(), t.s);
    free(t.s);
    assert_int_equal(sfsm_pipeline_stage_count(p), ODD_STAGES);
    assert_string_equal(sfsm_pipeline_stage_name(p, 0), S_LEAD);
    assert_string_equal(sfsm_pipeline_stage_label(p, 6), "Lost\nfor good");
    return p;
}

static void test_dot_awkward_names(void **state)
{
    (void)state;
    sfsm_pipeline *p = odd_pipeline();
    char *dot = to_dot(p);
    check_dot_quoting(dot);

    /* names are quoted identifiers: \" and \\ inside, a control character as
     * \xHH; labels also turn & into &amp; (Graphviz decodes entities) and a
     * line break into \n */
    expect_has(dot, "digraph `Vertrieb ~`EMEA~` ~~ 销售` {\n");
    expect_has(dot, "label=`Vertrieb ~`EMEA~` ~~ 销售 (version 3)`");
    expect_has(dot, "    `new ~`lead~`` [label=`New ~`lead~` ~~N~n10 %`, penwidth=2.5, group=spine];\n");
    expect_has(dot, "    `C:~~path~~` [label=`C:~~path~~~n30 %`, group=spine];\n");
    expect_has(dot, "    `报价 🤝` [label=`报价 🤝 Angebot~n60 %`, group=spine];\n");
    expect_has(dot, "    `with space` [label=`R&amp;D <b>x</b> &amp;lt; #quot; 100%~n80 %`, group=spine];\n");
    expect_has(dot, "    `won|deal` [label=`Won | deal~n100 %`, fillcolor=`#c8e6c9`, color=`#2e7d32`, group=spine];\n");
    expect_has(dot, "    `end` [label=`%%{init: {'theme':'dark'}}%%~n100 %`, fillcolor=`#c8e6c9`, "
                    "color=`#2e7d32`, peripheries=2, group=spine];\n");
    expect_has(dot, "    `lost~x09tab` [label=`Lost~nfor good~n0 %`, fillcolor=`#ffcdd2`, color=`#c62828`];\n");

    expect_has(dot, "    `` -> `new ~`lead~`` [");
    expect_has(dot, "    `new ~`lead~`` -> `C:~~path~~` [label=`go ~`on~`~n(sales ~`rep~`, 经理)"
                    "~n[has~~guard, ~`quoted~`]`];\n");
    expect_has(dot, "    `C:~~path~~` -> `报价 🤝` [label=`step~~~n(back~~slash)`];\n");
    expect_has(dot, "    `报价 🤝` -> `with space` [label=`报价~n(R&amp;D <lead>)`];\n");
    /* roles in the pipeline's role order, whatever order the event lists */
    expect_has(dot, "    `with space` -> `won|deal` [label=`close|win~n(sales ~`rep~`, back~~slash, 经理, "
                    "R&amp;D <lead>)~n[g&amp;<>]`];\n");
    expect_has(dot, "    `won|deal` -> `end` [label=`finish~n(经理)`];\n");
    expect_has(dot, "    `C:~~path~~` -> `lost~x09tab` [label=`lose~n(sales ~`rep~`)`, color=`#c62828`, "
                    "fontcolor=`#c62828`, tailport=s];\n");
    expect_has(dot, "    `with space` -> `报价 🤝` [label=`back~n(经理)`, constraint=false];\n");
    expect_has(dot, "    `lost~x09tab` -> `new ~`lead~`` [label=`revive~n(经理)`];\n");
    assert_int_equal(count_of(dot, " -> "), 12);
    expect_lacks(dot, "\t");
    sfsm_free(dot);
    sfsm_pipeline_free(p);
}

static void test_mermaid_awkward_names(void **state)
{
    (void)state;
    sfsm_pipeline *p = odd_pipeline();
    char *mmd = to_mermaid(p);
    check_mermaid_lines(mmd);

    /* ids are s<index>; text is in quotes with Mermaid's #entities; */
    expect_has(mmd, "    %% pipeline Vertrieb `EMEA` ~ 销售, version 3\n");
    expect_has(mmd, "    s0[`New #quot;lead#quot; ~N<br/>10 %`]\n");
    expect_has(mmd, "    s1[`C:~path~<br/>30 %`]\n");
    expect_has(mmd, "    s2[`报价 🤝 Angebot<br/>60 %`]\n");
    expect_has(mmd, "    s3[`R#amp;D #lt;b#gt;x#lt;/b#gt; #amp;lt; #35;quot; 100#37;<br/>80 %`]\n");
    expect_has(mmd, "    s4[`Won #124; deal<br/>100 %`]\n");
    expect_has(mmd, "    s5(((`#37;#37;{init: {'theme':'dark'}}#37;#37;<br/>100 %`)))\n");
    expect_has(mmd, "    s6[`Lost<br/>for good<br/>0 %`]\n");
    expect_lacks(mmd, "%%{");

    expect_has(mmd, "    start(( )) --> s0\n");
    expect_has(mmd, "    s0 -->|`go #quot;on#quot; (sales #quot;rep#quot;, 经理) [has~guard, #quot;quoted#quot;]`| s1\n");
    expect_has(mmd, "    s1 -->|`step~ (back~slash)`| s2\n");
    expect_has(mmd, "    s2 -->|`报价 (R#amp;D #lt;lead#gt;)`| s3\n");
    expect_has(mmd, "    s3 -->|`close#124;win (sales #quot;rep#quot;, back~slash, 经理, R#amp;D #lt;lead#gt;) "
                    "[g#amp;#lt;#gt;]`| s4\n");
    expect_has(mmd, "    s4 -->|`finish (经理)`| s5\n");
    for (int from = 0; from < 4; from++) {
        char want[64];
        snprintf(want, sizeof want, "    s%d -->|`lose (sales #quot;rep#quot;)`| s6\n", from);
        expect_has(mmd, want);
    }
    expect_has(mmd, "    s3 -->|`back (经理)`| s2\n");
    expect_has(mmd, "    s6 -->|`revive (经理)`| s0\n");
    assert_int_equal(count_of(mmd, " -->|"), 11);
    expect_has(mmd, "    class s0,s1,s2,s3 open\n");
    expect_has(mmd, "    class s4,s5 won\n");
    expect_has(mmd, "    class s6 lost\n");
    sfsm_free(mmd);
    sfsm_pipeline_free(p);
}

/* ---- rendering with Graphviz ---- */

/* Full path of `dot` on $PATH, or fails the test saying how to get it. */
static void find_dot(char *path, size_t size)
{
    const char *env = getenv("PATH");
    char *dirs = strdup(env && *env ? env : "/usr/local/bin:/usr/bin:/bin");
    assert_non_null(dirs);
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(path, size, "%s/dot", *d ? d : ".");
        if (access(path, X_OK) == 0) {
            free(dirs);
            return;
        }
    }
    free(dirs);
    fail_msg("Graphviz is not installed: no executable `dot` on PATH (%s). The graph test renders the DOT "
             "output with `dot -Tsvg`; install Graphviz (Debian: apt-get install graphviz; tools/run.sh "
             "installs it).",
             env ? env : "unset");
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    text t = { 0 };
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        text_add(&t, chunk, n);
    fclose(f);
    if (!t.s)
        text_add(&t, "", 0);
    *len = t.len;
    return t.s;
}

/* Runs `dot -Tsvg` on the DOT text and returns the SVG (free()). */
static char *render_svg(const char *dot_text)
{
    char dot_path[4096];
    find_dot(dot_path, sizeof dot_path);

    const char *tmp = getenv("TMPDIR");
    char in[512], out[520];
    snprintf(in, sizeof in, "%s/sfsm-graph-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(in);
    if (fd < 0)
        fail_msg("mkstemp %s: %s", in, strerror(errno));
    size_t len = strlen(dot_text);
    assert_int_equal(write(fd, dot_text, len), (ssize_t)len);
    close(fd);
    snprintf(out, sizeof out, "%s.svg", in);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(dot_path, "dot", "-Tsvg", "-o", out, in, (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", dot_path, strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "---- DOT given to %s ----\n%s\n", dot_path, dot_text);
        unlink(out);
        unlink(in);
        fail_msg("`dot -Tsvg` failed (%s %d)", WIFEXITED(status) ? "exit" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    char *svg = read_all(out, &len);
    unlink(out);
    unlink(in);
    assert_true(len > 0);
    assert_non_null(strstr(svg, "<svg"));
    return svg;
}

static void put_utf8(text *t, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    text_add(t, u, n);
}

/* The contents of every <text> element, XML-unescaped, each followed by a
 * NUL, the list ending in an empty string ("a\0b\0\0"). */
static char *svg_texts(const char *svg)
{
    text t = { 0 };
    for (const char *at = strstr(svg, "<text"); at; at = strstr(at, "<text")) {
        const char *start = strchr(at, '>');
        assert_non_null(start);
        start++;
        const char *end = strstr(start, "</text>");
        assert_non_null(end);
        for (const char *c = start; c < end;) {
            if (*c != '&') {
                text_add(&t, c++, 1);
                continue;
            }
            const char *semi = memchr(c, ';', (size_t)(end - c));
            assert_non_null(semi);
            static const struct { const char *name; char ch; } named[] = {
                { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' },
            };
            size_t n = (size_t)(semi + 1 - c);
            int done = 0;
            for (size_t k = 0; k < sizeof named / sizeof named[0] && !done; k++)
                if (strlen(named[k].name) == n && memcmp(c, named[k].name, n) == 0) {
                    text_add(&t, &named[k].ch, 1);
                    done = 1;
                }
            if (!done) {
                assert_true(c[1] == '#');
                unsigned long cp = c[2] == 'x' ? strtoul(c + 3, NULL, 16) : strtoul(c + 2, NULL, 10);
                put_utf8(&t, cp == 160 ? ' ' : cp); /* runs of spaces come out as &#160; */
            }
            c = semi + 1;
        }
        text_add(&t, "", 1);
        at = end;
    }
    text_add(&t, "", 1);
    return t.s;
}

/* Every line of `label` is the text of some <text> element. */
static void expect_svg_label(const char *texts, const char *label, const char *svg)
{
    char *copy = strdup(label);
    assert_non_null(copy);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int found = 0;
        for (const char *s = texts; *s && !found; s += strlen(s) + 1)
            found = strcmp(s, line) == 0;
        if (!found)
            fail_msg("the SVG shows no text \"%s\" (from label \"%s\"):\n%s", line, label, svg);
    }
    free(copy);
}

/* SVG is XML: no control characters but tab, CR and LF. */
static void expect_xml_chars(const char *svg)
{
    for (const char *c = svg; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u < 0x20 && u != '\t' && u != '\n' && u != '\r')
            fail_msg("control character 0x%02x in the SVG at offset %zu", u, (size_t)(c - svg));
    }
}

static void render_and_check(const sfsm_pipeline *p)
{
    char *dot = to_dot(p);
    char *svg = render_svg(dot);
    char *texts = svg_texts(svg);
    expect_xml_chars(svg);
    for (size_t i = 0; i < sfsm_pipeline_stage_count(p); i++) {
        char prob[16];
        expect_svg_label(texts, sfsm_pipeline_stage_label(p, i), svg);
        snprintf(prob, sizeof prob, "%d %%", sfsm_pipeline_stage_probability(p, i));
        expect_svg_label(texts, prob, svg);
    }
    for (size_t ev = 0; ev < sfsm_pipeline_event_count(p); ev++)
        expect_svg_label(texts, sfsm_pipeline_event_name(p, ev), svg);
    /* one <g class="node"> per stage plus the entry point, one edge each */
    assert_int_equal(count_of(svg, "class=\"node\""), sfsm_pipeline_stage_count(p) + 1);
    free(texts);
    free(svg);
    sfsm_free(dot);
}

static void test_render_default(void **state)
{
    (void)state;
    sfsm_pipeline *p = default_pipeline();
    render_and_check(p);

    char *svg = NULL;
    {
        char *dot = to_dot(p);
        svg = render_svg(dot);
        sfsm_free(dot);
    }
    char *texts = svg_texts(svg);
    expect_svg_label(texts, "(manager, rep)\n[has_customer]", svg);
    expect_svg_label(texts, "(manager, assistant, support)", svg);
    expect_svg_label(texts, "default (version 1)", svg);
    assert_int_equal(count_of(svg, "class=\"edge\""), DEFAULT_EDGES + 1);
    /* won and lost colours reach the picture */
    assert_true(count_of(svg, "fill=\"#c8e6c9\"") >= 3);
    assert_true(count_of(svg, "fill=\"#ffcdd2\"") >= 1);
    free(texts);
    free(svg);
    sfsm_pipeline_free(p);
}

static void test_render_awkward_names(void **state)
{
    (void)state;
    sfsm_pipeline *p = odd_pipeline();
    render_and_check(p);

    char *dot = to_dot(p);
    char *svg = render_svg(dot);
    char *texts = svg_texts(svg);
    /* literally, not as DOT or HTML escapes */
    expect_svg_label(texts, "New \"lead\" \\N", svg);
    expect_svg_label(texts, "R&D <b>x</b> &lt; #quot; 100%", svg);
    expect_svg_label(texts, "(sales \"rep\", back\\slash, 经理, R&D <lead>)\n[g&<>]", svg);
    expect_svg_label(texts, "[has\\guard, \"quoted\"]", svg);
    expect_svg_label(texts, P_NAME " (version 3)", svg);
    assert_int_equal(count_of(svg, "class=\"edge\""), 12);
    free(texts);
    free(svg);
    sfsm_free(dot);
    sfsm_pipeline_free(p);
}

/* ---- allocation failures ---- */

static void alloc_failures(int (*fn)(const sfsm_pipeline *, char **, size_t *), const sfsm_pipeline *p,
                           const char *expected)
{
    failalloc_install();
    int done = 0;
    for (long n = 1; n < 10000 && !done; n++) {
        static char sentinel;
        char *out = &sentinel;
        size_t len = 12345;
        failalloc_arm(n);
        int rc = fn(p, &out, &len);
        int failed = failalloc_failed();
        failalloc_arm(0);
        if (failed) {
            if (rc != SFSM_ENOMEM)
                fail_msg("allocation #%ld failed, rc = %d", n, rc);
            assert_null(out);
        } else {
            assert_int_equal(rc, SFSM_OK);
            assert_string_equal(out, expected);
            assert_int_equal(len, strlen(expected));
            sfsm_free(out);
            done = 1;
        }
        if (failalloc_live() != 0)
            fail_msg("allocation #%ld: %ld blocks leaked", n, failalloc_live());
    }
    assert_true(done);
    failalloc_uninstall();
}

static void test_alloc_failures(void **state)
{
    (void)state;
    sfsm_pipeline *p = odd_pipeline();
    char *dot = to_dot(p), *mmd = to_mermaid(p);
    alloc_failures(sfsm_pipeline_to_dot, p, dot);
    alloc_failures(sfsm_pipeline_to_mermaid, p, mmd);
    sfsm_free(dot);
    sfsm_free(mmd);
    sfsm_pipeline_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_dot_default),
        cmocka_unit_test(test_mermaid_default),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_dot_awkward_names),
        cmocka_unit_test(test_mermaid_awkward_names),
        cmocka_unit_test(test_render_default),
        cmocka_unit_test(test_render_awkward_names),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
