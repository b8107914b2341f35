/* Option parsing for the subcommands: --long options (with the value as the
 * next argument or after '='), flags, positional arguments, --help, and
 * "--" to end the options. */
#include <stdarg.h>
#include <string.h>

#include "cli.h"

void cli_print_help(const cli_spec *spec, FILE *f)
{
    fprintf(f, "usage: salesfsm %s %s\n\n%s", spec->name, spec->synopsis, spec->help);
    fprintf(f, "  -h, --help            show this help\n");
}

int cli_usage_error(const cli_spec *spec, const char *fmt, ...)
{
    va_list ap;
    char msg[1024];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* The message may quote an argument: escaped like any text for people. */
    fprintf(stderr, "salesfsm %s: %s", spec->name, cli_tx_message(msg));
    fprintf(stderr, "\nusage: salesfsm %s %s\n(salesfsm %s --help for more)\n", spec->name, spec->synopsis,
            spec->name);
    return CLI_USAGE;
}

static const cli_opt *find_opt(const cli_opt *opts, const char *name, size_t len)
{
    for (; opts->name; opts++)
        if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
            return opts;
    return NULL;
}

/* Handles argv[*i], an option; advances *i past its value. */
static int take_option(const cli_spec *spec, const cli_opt *opts, int argc, char **argv, int *i)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const cli_opt *o = find_opt(opts, arg, len);
    if (!o)
        return cli_usage_error(spec, "unknown option '--%.*s'", (int)len, arg);
    if (o->flag) {
        if (eq)
            return cli_usage_error(spec, "option '--%s' takes no value", o->name);
        *o->flag = 1;
        return CLI_CONTINUE;
    }
    if (eq) {
        *o->value = eq + 1;
    } else {
        if (*i + 1 >= argc)
            return cli_usage_error(spec, "option '--%s' needs a value", o->name);
        *o->value = argv[++*i];
    }
    return CLI_CONTINUE;
}

/* The name of positional argument i as the synopsis writes it ("ID" in
 * "ID EVENT --actor NAME ..."): words that are not options, option values
 * or [optional]. Writes "argument" when the synopsis has none. */
static void arg_name(const cli_spec *spec, size_t i, char *buf, size_t size)
{
    const char *p = spec->synopsis;
    int after_option = 0;
    snprintf(buf, size, "argument");
    while (*p) {
        while (*p == ' ' || *p == '\n')
            p++;
        size_t n = strcspn(p, " \n");
        if (n == 0)
            break;
        int is_option = p[0] == '-';
        if (!is_option && p[0] != '[' && !after_option && i-- == 0) {
            snprintf(buf, size, "%.*s", (int)n, p);
            return;
        }
        after_option = is_option && p[1] == '-';
        p += n;
    }
}

int cli_parse(const cli_spec *spec, const cli_opt *opts, int argc, char **argv, const char **args,
              size_t *nargs)
{
    int options_done = 0;
    *nargs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options_done && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            cli_print_help(spec, stdout);
            return CLI_OK;
        }
        if (!options_done && strcmp(a, "--") == 0) {
            options_done = 1;
            continue;
        }
        if (!options_done && a[0] == '-' && a[1] == '-') {
            int rc = take_option(spec, opts, argc, argv, &i);
            if (rc != CLI_CONTINUE)
                return rc;
            continue;
        }
        if (!options_done && a[0] == '-' && a[1] != '\0')
            return cli_usage_error(spec, "unknown option '%s'", a);
        if (*nargs == spec->max_args)
            return cli_usage_error(spec, "unexpected argument '%s'", a);
        args[(*nargs)++] = a;
    }
    if (*nargs < spec->min_args) {
        char name[64];
        arg_name(spec, *nargs, name, sizeof name);
        return cli_usage_error(spec, "missing %s", name);
    }
    return CLI_CONTINUE;
}

int cli_parse_uint(const char *text, uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t v = 0;
    if (!*text)
        return -1;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}
