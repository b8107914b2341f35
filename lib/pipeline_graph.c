/* Pictures of a pipeline: Graphviz DOT and a Mermaid flowchart.
 *
 * Both are built from the public accessors in table order, so the output is
 * a pure function of the pipeline. Names may hold any UTF-8 (quotes,
 * backslashes, control characters, markup); every identifier and label is
 * escaped for the language it lands in. All special characters are ASCII, so
 * multi-byte UTF-8 sequences pass through untouched. */
#include <stdint.h>
#include <string.h>

#include <salesfsm/pipeline.h>

#include "pipeline_impl.h"
#include "text.h"

/* Colours shared by both pictures: open stages blue, won green, lost red. */
#define OPEN_FILL "#e3f2fd"
#define OPEN_LINE "#1565c0"
#define WON_FILL "#c8e6c9"
#define WON_LINE "#2e7d32"
#define LOST_FILL "#ffcdd2"
#define LOST_LINE "#c62828"
#define FONT "Helvetica,Arial,sans-serif"

static int is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* The label a stage shows: its label, or its name when the label is empty. */
static const char *stage_text(const sfsm_pipeline *p, size_t i)
{
    const char *label = sfsm_pipeline_stage_label(p, i);
    return label && *label ? label : sfsm_pipeline_stage_name(p, i);
}

static void add_int(sfsm_buf *b, int64_t v)
{
    char num[24];
    sfsm__buf_add(b, num, sfsm__format_i64(num, v));
}

/* ---- escaping ---- */

/* What one character becomes in some kind of text: NULL to keep it as it
 * is, else its replacement ("" drops it). s points at the character (never
 * the terminating NUL); s[1] may be looked at, for "\r\n". A replacement
 * made up on the spot is written into buf (ESCAPE_BUF bytes). */
#define ESCAPE_BUF 8
typedef const char *(*escape_fn)(const char *s, char *buf);

/* Appends s with each character escaped by escape. The languages differ
 * only in which characters they replace and with what; the copying of the
 * runs in between is the same for all of them. */
static void add_escaped(sfsm_buf *b, const char *s, escape_fn escape)
{
    char buf[ESCAPE_BUF];
    const char *run = s;
    for (; *s; s++) {
        const char *replacement = escape(s, buf);
        if (!replacement)
            continue;
        sfsm__buf_add(b, run, (size_t)(s - run));
        sfsm__buf_adds(b, replacement);
        run = s + 1;
    }
    sfsm__buf_add(b, run, (size_t)(s - run));
}

/* In a DOT identifier (a quoted string) DOT only knows \" and \\; a control
 * character is written as the four characters \xHH so that the file stays
 * printable and the SVG (whose <title>s carry node names) stays well-formed
 * XML. The mapping is one to one: in the quoted text a backslash is always
 * followed by '\\', '"' or 'x'. */
static const char *dot_id_escape(const char *s, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = (unsigned char)*s;
    if (c == '"')
        return "\\\"";
    if (c == '\\')
        return "\\\\";
    if (!is_control(c))
        return NULL;
    buf[0] = '\\';
    buf[1] = 'x';
    buf[2] = hex[c >> 4];
    buf[3] = hex[c & 15];
    buf[4] = '\0';
    return buf;
}

/* A DOT identifier as a quoted string. */
static void dot_id(sfsm_buf *b, const char *s)
{
    sfsm__buf_add(b, "\"", 1);
    add_escaped(b, s, dot_id_escape);
    sfsm__buf_add(b, "\"", 1);
}

/* Text inside a quoted DOT label (the quotes are the caller's). Labels are
 * escape strings: a backslash is doubled so that \N, \G, \l and friends in a
 * name stay literal; '&' becomes &amp; because Graphviz decodes HTML
 * entities in labels ("&lt;" would otherwise show as "<"). A line break
 * becomes \n (centred), other control characters a space. */
static const char *dot_text_escape(const char *s, char *buf)
{
    (void)buf;
    switch (*s) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '&': return "&amp;";
    case '\n': return "\\n";
    case '\r': return s[1] == '\n' ? "" : "\\n";
    default: return is_control((unsigned char)*s) ? " " : NULL;
    }
}

static void dot_text(sfsm_buf *b, const char *s)
{
    add_escaped(b, s, dot_text_escape);
}

/* Text inside a quoted Mermaid label. Mermaid has no backslash escapes; it
 * decodes "#name;" and "#code;" entities, so the characters that would end
 * the string or the edge text ('"', '|'), start an entity ('#', '&'), be
 * read as HTML ('<', '>'), open a markdown string ('`') or a directive
 * ('%') are written as entities. A line break becomes <br/>, other control
 * characters a space. */
static const char *mermaid_text_escape(const char *s, char *buf)
{
    (void)buf;
    switch (*s) {
    case '"': return "#quot;";
    case '#': return "#35;";
    case '&': return "#amp;";
    case '<': return "#lt;";
    case '>': return "#gt;";
    case '|': return "#124;";
    case '`': return "#96;";
    case '%': return "#37;";
    case '\n': return "<br/>";
    case '\r': return s[1] == '\n' ? "" : "<br/>";
    default: return is_control((unsigned char)*s) ? " " : NULL;
    }
}

static void mermaid_text(sfsm_buf *b, const char *s)
{
    add_escaped(b, s, mermaid_text_escape);
}

/* A Mermaid %% comment runs to the end of the line: control characters
 * become spaces. Mermaid reads %%{...}%% directives even inside comments,
 * so '%' is written as #37; (comments are not decoded; it stays visible). */
static const char *mermaid_comment_escape(const char *s, char *buf)
{
    (void)buf;
    if (*s == '%')
        return "#37;";
    return is_control((unsigned char)*s) ? " " : NULL;
}

static void mermaid_comment(sfsm_buf *b, const char *s)
{
    add_escaped(b, s, mermaid_comment_escape);
}

typedef void (*text_fn)(sfsm_buf *b, const char *s);

/* "(manager, rep)" and, when the event has guards, sep + "[g1, g2]". */
static void add_roles_guards(sfsm_buf *b, const sfsm_pipeline *p, size_t ev, const char *sep, text_fn text)
{
    sfsm__buf_add(b, "(", 1);
    int first = 1;
    for (size_t r = 0; r < sfsm_pipeline_role_count(p); r++) {
        if (!sfsm_pipeline_event_allows_role(p, ev, r))
            continue;
        if (!first)
            sfsm__buf_add(b, ", ", 2);
        text(b, sfsm_pipeline_role_name(p, r));
        first = 0;
    }
    sfsm__buf_add(b, ")", 1);
    size_t guards = sfsm_pipeline_event_guard_count(p, ev);
    if (guards == 0)
        return;
    sfsm__buf_adds(b, sep);
    sfsm__buf_add(b, "[", 1);
    for (size_t j = 0; j < guards; j++) {
        if (j)
            sfsm__buf_add(b, ", ", 2);
        text(b, sfsm_pipeline_event_guard(p, ev, j));
    }
    sfsm__buf_add(b, "]", 1);
}

static int finish(sfsm_buf *b, char **out, size_t *len, const char *fn)
{
    size_t n = b->len;
    char *s = sfsm__buf_take(b);
    if (!s)
        return sfsm_error_set(SFSM_ENOMEM, "%s: out of memory", fn);
    *out = s;
    if (len)
        *len = n;
    return SFSM_OK;
}

static int check_args(const sfsm_pipeline *p, char **out, const char *fn)
{
    if (out)
        *out = NULL;
    if (!p || !out)
        return sfsm_error_set(SFSM_EINVAL, "%s: %s is NULL", fn, p ? "out" : "pipeline");
    return SFSM_OK;
}

/* ---- DOT ---- */

/* Layout hints. Stages that are not lost form the spine of the picture: they
 * share a group, so dot keeps the edges between them straight, and an edge
 * from a spine stage back to one no further from the initial stage
 * (requote) does not constrain the ranks, so the spine stays one line. Edges
 * into lost stages leave their stage at the bottom, below the spine.
 * depth[] is the breadth-first distance from the initial stage (every stage
 * is reachable; the builder checks). The edges of a breadth-first tree go
 * one rank further, so each stage keeps a ranking path from the start. */
static void stage_depths(const sfsm_pipeline *p, uint32_t *depth)
{
    uint32_t queue[SFSM_MAX_STAGES];
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < p->stage_count; i++)
        depth[i] = UINT32_MAX;
    depth[p->initial] = 0;
    queue[tail++] = p->initial;
    while (head < tail) {
        uint32_t s = queue[head++];
        for (size_t ev = 0; ev < p->event_count; ev++) {
            int32_t to = p->next[s * p->event_count + ev];
            if (to >= 0 && depth[to] == UINT32_MAX) {
                depth[to] = depth[s] + 1;
                queue[tail++] = (uint32_t)to;
            }
        }
    }
}

int sfsm_pipeline_to_dot(const sfsm_pipeline *p, char **out, size_t *len)
{
    int rc = check_args(p, out, "sfsm_pipeline_to_dot");
    if (rc)
        return rc;
    sfsm_buf b = { 0 };
    const char *name = sfsm_pipeline_name(p);
    uint32_t depth[SFSM_MAX_STAGES];
    stage_depths(p, depth);

    sfsm__buf_adds(&b, "digraph ");
    dot_id(&b, name);
    sfsm__buf_adds(&b, " {\n    graph [rankdir=LR, fontname=\"" FONT "\", fontsize=16, labelloc=t, label=\"");
    dot_text(&b, name);
    sfsm__buf_adds(&b, " (version ");
    add_int(&b, sfsm_pipeline_version(p));
    sfsm__buf_adds(&b, ")\", nodesep=0.5, ranksep=0.7, pad=0.3];\n"
                       "    node [shape=box, style=\"rounded,filled\", fontname=\"" FONT "\", fontsize=12, "
                       "margin=\"0.2,0.1\", penwidth=1.2, fillcolor=\"" OPEN_FILL "\", color=\"" OPEN_LINE "\"];\n"
                       "    edge [fontname=\"" FONT "\", fontsize=10, color=\"#546e7a\", fontcolor=\"#37474f\"];\n\n");

    /* The entry point: no stage can be named "" (names are non-empty), so
     * the empty identifier never clashes with one. */
    sfsm__buf_adds(&b, "    \"\" [shape=point, width=0.15, color=\"#37474f\", fillcolor=\"#37474f\"];\n");

    size_t stages = sfsm_pipeline_stage_count(p), initial = sfsm_pipeline_initial_stage(p);
    for (size_t i = 0; i < stages; i++) {
        sfsm__buf_adds(&b, "    ");
        dot_id(&b, sfsm_pipeline_stage_name(p, i));
        sfsm__buf_adds(&b, " [label=\"");
        dot_text(&b, stage_text(p, i));
        sfsm__buf_adds(&b, "\\n");
        add_int(&b, sfsm_pipeline_stage_probability(p, i));
        sfsm__buf_adds(&b, " %\"");
        switch (sfsm_pipeline_stage_outcome(p, i)) {
        case SFSM_OUTCOME_WON:
            sfsm__buf_adds(&b, ", fillcolor=\"" WON_FILL "\", color=\"" WON_LINE "\"");
            break;
        case SFSM_OUTCOME_LOST:
            sfsm__buf_adds(&b, ", fillcolor=\"" LOST_FILL "\", color=\"" LOST_LINE "\"");
            break;
        default:
            break;
        }
        if (i == initial)
            sfsm__buf_adds(&b, ", penwidth=2.5");
        if (sfsm_pipeline_stage_is_final(p, i))
            sfsm__buf_adds(&b, ", peripheries=2");
        if (sfsm_pipeline_stage_outcome(p, i) != SFSM_OUTCOME_LOST)
            sfsm__buf_adds(&b, ", group=spine");
        sfsm__buf_adds(&b, "];\n");
    }

    sfsm__buf_adds(&b, "\n    \"\" -> ");
    dot_id(&b, sfsm_pipeline_stage_name(p, initial));
    sfsm__buf_adds(&b, " [color=\"#37474f\"];\n");
    size_t events = sfsm_pipeline_event_count(p);
    for (size_t ev = 0; ev < events; ev++) {
        size_t to = sfsm_pipeline_event_target(p, ev);
        for (size_t from = 0; from < stages; from++) {
            if (!sfsm_pipeline_event_allowed_from(p, ev, from))
                continue;
            sfsm__buf_adds(&b, "    ");
            dot_id(&b, sfsm_pipeline_stage_name(p, from));
            sfsm__buf_adds(&b, " -> ");
            dot_id(&b, sfsm_pipeline_stage_name(p, to));
            sfsm__buf_adds(&b, " [label=\"");
            dot_text(&b, sfsm_pipeline_event_name(p, ev));
            sfsm__buf_adds(&b, "\\n");
            add_roles_guards(&b, p, ev, "\\n", dot_text);
            sfsm__buf_adds(&b, "\"");
            int from_lost = sfsm_pipeline_stage_outcome(p, from) == SFSM_OUTCOME_LOST;
            int to_lost = sfsm_pipeline_stage_outcome(p, to) == SFSM_OUTCOME_LOST;
            if (to_lost)
                sfsm__buf_adds(&b, ", color=\"" LOST_LINE "\", fontcolor=\"" LOST_LINE "\"");
            if (to_lost && !from_lost)
                sfsm__buf_adds(&b, ", tailport=s");
            if (!to_lost && !from_lost && depth[to] <= depth[from])
                sfsm__buf_adds(&b, ", constraint=false");
            sfsm__buf_adds(&b, "];\n");
        }
    }
    sfsm__buf_adds(&b, "}\n");
    return finish(&b, out, len, "sfsm_pipeline_to_dot");
}

/* ---- Mermaid ---- */

/* "class s0,s1,s2 name" for the stages with that outcome, if any. */
static void mermaid_class(sfsm_buf *b, const sfsm_pipeline *p, sfsm_outcome outcome, const char *name)
{
    int first = 1;
    for (size_t i = 0; i < sfsm_pipeline_stage_count(p); i++) {
        if (sfsm_pipeline_stage_outcome(p, i) != outcome)
            continue;
        sfsm__buf_adds(b, first ? "    class s" : ",s");
        add_int(b, (int64_t)i);
        first = 0;
    }
    if (!first) {
        sfsm__buf_add(b, " ", 1);
        sfsm__buf_adds(b, name);
        sfsm__buf_add(b, "\n", 1);
    }
}

int sfsm_pipeline_to_mermaid(const sfsm_pipeline *p, char **out, size_t *len)
{
    int rc = check_args(p, out, "sfsm_pipeline_to_mermaid");
    if (rc)
        return rc;
    sfsm_buf b = { 0 };

    sfsm__buf_adds(&b, "flowchart LR\n    %% pipeline ");
    mermaid_comment(&b, sfsm_pipeline_name(p));
    sfsm__buf_adds(&b, ", version ");
    add_int(&b, sfsm_pipeline_version(p));
    sfsm__buf_add(&b, "\n", 1);

    /* Node ids are s<index>: safe whatever the stage is called (a stage
     * named "end" would otherwise end the chart). Final stages are double
     * circles; the initial stage has an entry arrow from a small circle. */
    size_t stages = sfsm_pipeline_stage_count(p), initial = sfsm_pipeline_initial_stage(p);
    for (size_t i = 0; i < stages; i++) {
        int final = sfsm_pipeline_stage_is_final(p, i);
        sfsm__buf_adds(&b, "    s");
        add_int(&b, (int64_t)i);
        sfsm__buf_adds(&b, final ? "(((\"" : "[\"");
        mermaid_text(&b, stage_text(p, i));
        sfsm__buf_adds(&b, "<br/>");
        add_int(&b, sfsm_pipeline_stage_probability(p, i));
        sfsm__buf_adds(&b, " %");
        sfsm__buf_adds(&b, final ? "\")))\n" : "\"]\n");
    }

    sfsm__buf_adds(&b, "    start(( )) --> s");
    add_int(&b, (int64_t)initial);
    sfsm__buf_add(&b, "\n", 1);
    size_t events = sfsm_pipeline_event_count(p);
    for (size_t ev = 0; ev < events; ev++) {
        size_t to = sfsm_pipeline_event_target(p, ev);
        for (size_t from = 0; from < stages; from++) {
            if (!sfsm_pipeline_event_allowed_from(p, ev, from))
                continue;
            sfsm__buf_adds(&b, "    s");
            add_int(&b, (int64_t)from);
            sfsm__buf_adds(&b, " -->|\"");
            mermaid_text(&b, sfsm_pipeline_event_name(p, ev));
            sfsm__buf_add(&b, " ", 1);
            add_roles_guards(&b, p, ev, " ", mermaid_text);
            sfsm__buf_adds(&b, "\"| s");
            add_int(&b, (int64_t)to);
            sfsm__buf_add(&b, "\n", 1);
        }
    }

    sfsm__buf_adds(&b, "    classDef open fill:" OPEN_FILL ",stroke:" OPEN_LINE ",color:#0d2a4a\n"
                       "    classDef won fill:" WON_FILL ",stroke:" WON_LINE ",color:#1b3d1f\n"
                       "    classDef lost fill:" LOST_FILL ",stroke:" LOST_LINE ",color:#4a1010\n"
                       "    classDef initial stroke-width:3px\n"
                       "    classDef entry fill:#37474f,stroke:#37474f\n");
    mermaid_class(&b, p, SFSM_OUTCOME_OPEN, "open");
    mermaid_class(&b, p, SFSM_OUTCOME_WON, "won");
    mermaid_class(&b, p, SFSM_OUTCOME_LOST, "lost");
    sfsm__buf_adds(&b, "    class s");
    add_int(&b, (int64_t)initial);
    sfsm__buf_adds(&b, " initial\n    class start entry\n");
    return finish(&b, out, len, "sfsm_pipeline_to_mermaid");
}
