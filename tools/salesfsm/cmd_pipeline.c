/* Pipeline commands: validate a JSON definition, draw a pipeline as DOT or
 * Mermaid, print one as JSON. None of them touches a store. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

int cmd_validate(int argc, char **argv)
{
    static const cli_spec spec = {
        "validate", "PIPELINE.json",
        "Checks a pipeline definition: JSON syntax, the format, and that the process\n"
        "holds together (known stages, reachable stages, a way to a won stage, ...).\n"
        "Prints \"ok: NAME vVERSION, N stages, M events\", or the error with the JSON\n"
        "path of the fault on stderr and exit status 1. PIPELINE.json may be '-' for\n"
        "standard input.\n\n",
        1, 1
    };
    sfsm_pipeline *p;
    int rc = cli_pipeline_cmd_open(&spec, argc, argv, &p);
    if (rc != CLI_CONTINUE)
        return rc;
    printf("ok: %s v%u, %zu stages, %zu events\n", sfsm_pipeline_name(p), (unsigned)sfsm_pipeline_version(p),
           sfsm_pipeline_stage_count(p), sfsm_pipeline_event_count(p));
    sfsm_pipeline_free(p);
    return CLI_OK;
}

/* sfsm_pipeline_to_dot, _to_mermaid or _to_json. */
typedef int (*pipeline_text_fn)(const sfsm_pipeline *p, char **text, size_t *len);

/* Prints the text that to_text makes of p, ending it with a newline. */
static int print_pipeline_text(const sfsm_pipeline *p, pipeline_text_fn to_text)
{
    char *text = NULL;
    size_t len = 0;
    int rc = to_text(p, &text, &len);
    if (rc)
        return cli_fail(rc);
    if (!text)
        return cli_fail_msg(0, "the library returned no text");
    fwrite(text, 1, len, stdout);
    if (len == 0 || text[len - 1] != '\n')
        putchar('\n');
    sfsm_free(text);
    return CLI_OK;
}

int cmd_graph(int argc, char **argv)
{
    static const cli_spec spec = {
        "graph", "[--format dot|mermaid] [PIPELINE.json]",
        "Draws a pipeline (default: the built-in one) with its stages, win\n"
        "probabilities, events and the roles that may fire them.\n\n"
        "  --format dot|mermaid  Graphviz DOT (default; render with 'dot -Tsvg')\n"
        "                        or a Mermaid flowchart\n",
        0, 1
    };
    const char *format = "dot";
    const cli_opt opts[] = { { "format", &format, NULL }, { NULL, NULL, NULL } };
    const char *args[1];
    size_t nargs;
    int rc = cli_parse(&spec, opts, argc, argv, args, &nargs);
    if (rc != CLI_CONTINUE)
        return rc;
    int dot = strcmp(format, "dot") == 0;
    if (!dot && strcmp(format, "mermaid") != 0)
        return cli_usage_error(&spec, "unknown format '%s' (dot or mermaid)", format);
    sfsm_pipeline *p;
    if (cli_load_pipeline(nargs ? args[0] : NULL, &p) != CLI_OK)
        return CLI_FAIL;
    rc = print_pipeline_text(p, dot ? sfsm_pipeline_to_dot : sfsm_pipeline_to_mermaid);
    sfsm_pipeline_free(p);
    return rc;
}

int cmd_pipeline(int argc, char **argv)
{
    static const cli_spec spec = {
        "pipeline", "[PIPELINE.json]",
        "Prints a pipeline (default: the built-in one) as JSON, in the form that\n"
        "'salesfsm validate' and --pipeline read: a starting point for your own.\n\n",
        0, 1
    };
    sfsm_pipeline *p;
    int rc = cli_pipeline_cmd_open(&spec, argc, argv, &p);
    if (rc != CLI_CONTINUE)
        return rc;
    rc = print_pipeline_text(p, sfsm_pipeline_to_json);
    sfsm_pipeline_free(p);
    return rc;
}
