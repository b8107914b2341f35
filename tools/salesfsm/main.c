/*
 * salesfsm — the command-line tool on the salesfsm library: a simulated
 * sales department (demo), pipelines (validate, graph, pipeline) and the
 * opportunities in a SQLite store (create, fire, show, history, list,
 * import, export), reports over them (report) and the data the reports
 * measure against (team, target, pay, payments). main only dispatches;
 * each subcommand (or command group) is its own file.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    { "demo", cmd_demo, "simulate a sales department working a year, then summarize it" },
    { "validate", cmd_validate, "check a pipeline definition (JSON)" },
    { "graph", cmd_graph, "draw a pipeline as Graphviz DOT or Mermaid" },
    { "pipeline", cmd_pipeline, "print a pipeline (default: the built-in one) as JSON" },
    { "create", cmd_create, "create an opportunity; prints its id" },
    { "fire", cmd_fire, "fire an event on an opportunity" },
    { "show", cmd_show, "show one opportunity" },
    { "history", cmd_history, "show the audit history of an opportunity" },
    { "list", cmd_list, "list opportunities, by stage, owner or customer" },
    { "import", cmd_import, "import opportunities with their history from JSON" },
    { "export", cmd_export, "export opportunities with their history as JSON" },
    { "report", cmd_report, "pipeline, forecast, funnel, win-rate, velocity, stale, calibration,\n"
                            "            attainment or receivables, as a table or JSON" },
    { "team", cmd_team, "put owners into teams, list teams" },
    { "target", cmd_target, "set, split (year into quarters, months, weeks) and list targets" },
    { "pay", cmd_pay, "record a payment received against a won opportunity" },
    { "payments", cmd_payments, "list the payments of one opportunity or of all" },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: salesfsm COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'salesfsm COMMAND --help' describes a command; 'salesfsm --version' prints the version.\n"
               "Exit status: 0 success, 1 failure (the library's error on stderr), 2 usage error.\n");
}

static const command *find(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("salesfsm %s\n", sfsm_version());
        return CLI_OK;
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return CLI_OK;
        }
        const command *c = find(argv[2]);
        if (!c) {
            fprintf(stderr, "salesfsm: unknown command '%s'\n", argv[2]);
            usage(stderr);
            return CLI_USAGE;
        }
        char help_opt[] = "--help";
        char *help_argv[] = { argv[2], help_opt, NULL };
        return c->run(2, help_argv);
    }
    const command *c = find(name);
    if (!c) {
        fprintf(stderr, "salesfsm: unknown command '%s'\n", name);
        usage(stderr);
        return CLI_USAGE;
    }
    int rc = c->run(argc - 1, argv + 1);
    /* Output that could not be written (a full disk, a closed pipe) is a failure too. */
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == CLI_OK) {
        fprintf(stderr, "salesfsm: error writing standard output\n");
        return CLI_FAIL;
    }
    return rc;
}
