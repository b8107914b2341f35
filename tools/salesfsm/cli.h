/*
 * cli.h — what the subcommands of the salesfsm tool share: exit codes,
 * option parsing, opening pipeline/store/engine, error output, money and
 * time text, and a small JSON writer. Only the public API of the library
 * is used.
 */
#ifndef SALESFSM_CLI_H
#define SALESFSM_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <salesfsm/salesfsm.h>

/* Exit codes: success, a failure the library (or the system) reported, bad usage. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Returned by cli_parse when the command should go on. */
#define CLI_CONTINUE (-1)

#if defined(__GNUC__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* ---- options (cli_args.c) ---- */

/* What a command accepts; printed by --help and after a usage error. */
typedef struct cli_spec {
    const char *name;       /* "show" */
    const char *synopsis;   /* "ID [--json] [--db FILE] [--pipeline FILE.json]" */
    const char *help;       /* the rest of --help: what it does, each option */
    size_t min_args;        /* positional arguments */
    size_t max_args;
} cli_spec;

/* One --long option: either a value (`--db FILE`, `--db=FILE`) or a flag. */
typedef struct cli_opt {
    const char *name;       /* without the dashes */
    const char **value;     /* set for options that take a value, else NULL */
    int *flag;              /* set to 1 for flags, else NULL */
} cli_opt;

/* The options every store command takes. */
#define CLI_STORE_OPTS(db, pipeline) { "db", &(db), NULL }, { "pipeline", &(pipeline), NULL }

/* The help text of those options. */
#define CLI_STORE_HELP                                                                           \
    "  --db FILE             the SQLite store (default: salesfsm.db in the current directory)\n" \
    "  --pipeline FILE.json  the pipeline the store was written with (default: built-in)\n"

/*
 * Parses argv[1..argc) (argv[0] is the command name) against opts (ended by
 * an entry with a NULL name). Positional arguments go to args[0..*nargs),
 * which must have room for spec->max_args. Returns CLI_CONTINUE, CLI_OK after
 * printing --help, or CLI_USAGE after printing a usage error.
 */
int cli_parse(const cli_spec *spec, const cli_opt *opts, int argc, char **argv, const char **args,
              size_t *nargs);

/* Prints "salesfsm NAME: message" and the usage line to stderr; returns CLI_USAGE. */
int cli_usage_error(const cli_spec *spec, const char *fmt, ...) CLI_PRINTF(2, 3);

/* Prints the full --help text to f. */
void cli_print_help(const cli_spec *spec, FILE *f);

/* Parses a non-negative decimal integer within [lo, hi]; 0 on success, -1 if not. */
int cli_parse_uint(const char *text, uint64_t lo, uint64_t hi, uint64_t *out);

/* ---- failures and environment (cli_env.c) ---- */

/* Prints "salesfsm: <sfsm_strerror(rc)>: <sfsm_errmsg()>" to stderr; returns CLI_FAIL. */
int cli_fail(int rc);

/* Prints "salesfsm: <message>" (plus ": strerror(errno)" when errnum is non-zero); returns CLI_FAIL. */
int cli_fail_msg(int errnum, const char *fmt, ...) CLI_PRINTF(2, 3);

/*
 * Reads a whole file ("-": standard input) into a NUL-terminated buffer the
 * caller frees with free(). Returns CLI_OK or CLI_FAIL (already reported).
 */
int cli_read_file(const char *path, char **buf, size_t *len);

/* The pipeline in `path` (JSON), or the built-in one for NULL. Returns CLI_OK or CLI_FAIL. */
int cli_load_pipeline(const char *path, sfsm_pipeline **out);

/* A pipeline, a SQLite store and an engine binding them. */
typedef struct cli_env {
    sfsm_pipeline *pipeline;
    sfsm_store *store;
    sfsm_engine *engine;
} cli_env;

#define CLI_DEFAULT_DB "salesfsm.db"

/* The currency of an amount given without --currency where none exists yet. */
#define CLI_DEFAULT_CURRENCY "CNY"

/*
 * Opens env: the pipeline (NULL: built-in), the store at db (NULL: the
 * default file) and an engine. create 0 refuses a missing file instead of
 * making one (read-only commands). Returns CLI_OK or CLI_FAIL (reported);
 * on failure env holds nothing.
 */
int cli_env_open(cli_env *env, const char *db, const char *pipeline_path, int create);
void cli_env_close(cli_env *env);

/* ---- how commands begin (cli_cmd.c) ---- */

/* What a store command was given on its command line, and its open store. */
typedef struct cli_store_cmd {
    const char *arg;        /* the positional argument; NULL when none was given */
    const char *db;         /* --db; NULL: the default file */
    const char *pipeline;   /* --pipeline; NULL: the built-in pipeline */
    int json;               /* --json, where the command takes it */
    cli_env env;            /* opened by cli_store_cmd_open and cli_opp_cmd_open */
} cli_store_cmd;

/* Whether a store command takes --json besides the store options. */
enum { CLI_NO_JSON = 0, CLI_WITH_JSON = 1 };

/*
 * Parses argv as cli_parse does for a command that takes the store options
 * (and --json with CLI_WITH_JSON) and at most one positional argument
 * (spec->max_args <= 1). Returns as cli_parse; cmd->env is not opened.
 */
int cli_store_cmd_parse(const cli_spec *spec, int with_json, int argc, char **argv, cli_store_cmd *cmd);

/*
 * cli_store_cmd_parse, then opens cmd->env read-only (a missing store file
 * is refused). Returns CLI_CONTINUE with the env open (the caller closes it
 * with cli_env_close), else the exit code, already reported.
 */
int cli_store_cmd_open(const cli_spec *spec, int with_json, int argc, char **argv, cli_store_cmd *cmd);

/*
 * How a read-only command on one opportunity shows it, as JSON into w (which
 * cli_run_opp_cmd then finishes) or as text. cmd->arg is the id asked for.
 * Each returns SFSM_OK or a library error code.
 */
struct jsonw;   /* JSON output, below */

typedef struct cli_opp_view {
    int (*json)(const cli_store_cmd *cmd, const sfsm_opp *o, struct jsonw *w);
    int (*text)(const cli_store_cmd *cmd, const sfsm_opp *o);
} cli_opp_view;

/*
 * Runs a read-only command on one opportunity ("ID [--json]" and the store
 * options): parses argv, opens the store and the opportunity (so that a
 * missing one fails before any output) and shows it with view. Returns the
 * exit code; failures are reported.
 */
int cli_run_opp_cmd(const cli_spec *spec, int argc, char **argv, const cli_opp_view *view);

/*
 * For pipeline commands without options ("[PIPELINE.json]"): parses argv as
 * cli_parse does and loads the pipeline named (none: the built-in one).
 * Returns CLI_CONTINUE with *p loaded (the caller frees it), else the exit
 * code, already reported.
 */
int cli_pipeline_cmd_open(const cli_spec *spec, int argc, char **argv, sfsm_pipeline **p);

/* A command group ("team set", "team list"): the subcommands by name. */
typedef struct cli_group_cmd {
    const char *name;
    int (*run)(int argc, char **argv);   /* argv[0] is the subcommand's name */
} cli_group_cmd;

/*
 * Runs the subcommand named by argv[1] (cmds ends with a NULL name); --help
 * prints spec's help. A missing or unknown subcommand is a usage error.
 */
int cli_run_group(const cli_spec *spec, const cli_group_cmd *cmds, int argc, char **argv);

/* ---- money and time text (money.c) ---- */

/*
 * Decimal text with at most two fraction digits ("1234", "1234.5",
 * "1234.56") to minor units. Strict: no sign, exponent, spaces or
 * separators; at least one digit before an optional point and one to two
 * after it; at most CLI_AMOUNT_MAX minor units. Returns 0, or -1 with a
 * reason in why.
 */
/* The library's amount limit, 2^53-1 minor units: what the export format
 * carries exactly (sfsm_opp_set_amount refuses more). */
#define CLI_AMOUNT_MAX INT64_C(9007199254740991)
int cli_parse_amount(const char *text, int64_t *minor, char *why, size_t why_size);

/* Minor units as "1,234,567.89"; buf of at least 32 bytes. Returns buf. */
char *cli_format_amount(int64_t minor, char *buf, size_t size);

/* ms since the epoch as "2026-03-05 09:30 UTC"; buf of at least 32 bytes. Returns buf. */
char *cli_format_time(int64_t ms, char *buf, size_t size);

/* ---- dates and periods (cli_period.c) ---- */

/*
 * "YYYY-MM-DD" to ms since the epoch at UTC midnight of that day (1970 or
 * later, a real calendar day). Returns 0, or -1 with a reason in why.
 */
int cli_parse_date(const char *text, int64_t *ms, char *why, size_t why_size);

/*
 * A period shorthand: "2026" (year), "2026-Q3" (quarter), "2026-07" (month),
 * "2026-W27" (ISO week). Checked with sfsm_period_bounds. 0, or -1 with why.
 */
int cli_parse_period(const char *text, sfsm_period *p, char *why, size_t why_size);

/* cli_parse_period, then the period's bounds [*from, *to). */
int cli_parse_period_range(const char *text, int64_t *from, int64_t *to, char *why, size_t why_size);

/*
 * A date option: "YYYY-MM-DD" (UTC midnight) or a period shorthand, which
 * stands for its start (end_of 0) or its end (end_of 1, exclusive).
 */
int cli_parse_when(const char *text, int end_of, int64_t *ms, char *why, size_t why_size);

/* "2026", "2026-Q3", "2026-07", "2026-W27"; buf of at least 16 bytes. Returns buf. */
char *cli_format_period(const sfsm_period *p, char *buf, size_t size);

/* ms as "2026-07-01" (UTC); buf of at least 32 bytes. Returns buf. */
char *cli_format_date(int64_t ms, char *buf, size_t size);

/* ---- reports as text and JSON (report_out.c) ---- */

/*
 * A report as an aligned table: money with two decimals and thousands
 * separators, *_bp columns as percentages with one decimal, durations (*_ms)
 * as days with one decimal, instants as dates, null as "-" (in the first
 * column: "total", the summary rows). Returns SFSM_OK or SFSM_ENOMEM.
 */
int cli_report_print(const sfsm_report *r, FILE *f);

/* The report as sfsm_report_to_json writes it, ending with a newline. */
int cli_report_json(const sfsm_report *r, FILE *f);

/* ---- stored text on a terminal (textout.c) ---- */

/*
 * Text for people, safe to print: s itself when it holds no control
 * character, backslash or malformed UTF-8 (the usual case, no copy);
 * otherwise a copy with those written as \n, \t, \x1b, \\ ... . NULL gives
 * "-". A copy lives in one of 8 rotating buffers: valid until 8 more calls,
 * enough for one printf. Never NULL.
 */
const char *cli_tx(const char *s);

/*
 * cli_tx for a message: the library already writes untrusted text in its
 * messages as \xNN escapes, so backslashes are left as they are (escaping
 * them again would show "\\xff"); controls and malformed UTF-8 are still
 * escaped. NULL gives "".
 */
const char *cli_tx_message(const char *s);

/* 1 if s[0..len) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int cli_utf8_valid(const char *s, size_t len);

/* ---- JSON output (jsonw.c) ---- */

/*
 * Writes indented JSON to a FILE, keeping track of commas. A string that is
 * not well-formed UTF-8 cannot be written as JSON: the writer then stops
 * writing (the document is left unfinished) and jw_finish reports
 * SFSM_ESTORAGE, the rule export follows, since such text can only come
 * from a damaged store.
 */
typedef struct jsonw {
    FILE *f;
    int depth;
    int first;              /* nothing written yet in the current container */
    int after_key;          /* a key was written; its value comes next */
    int failed;             /* a string was not UTF-8; nothing more is written */
    const char *key_at;     /* the last key of the open object (it must live until the object ends) */
    char key[64];           /* key_at copied (cut short) when a string fails: named in the error */
} jsonw;

void jw_init(jsonw *w, FILE *f);
void jw_begin_object(jsonw *w);
void jw_end_object(jsonw *w);
void jw_begin_array(jsonw *w);
void jw_end_array(jsonw *w);
void jw_key(jsonw *w, const char *key);
/* NULL writes null. Text is escaped per RFC 8259; UTF-8 passes through. */
void jw_string(jsonw *w, const char *s);
void jw_int(jsonw *w, int64_t v);
void jw_uint(jsonw *w, uint64_t v);
void jw_null(jsonw *w);
/* A value that already is JSON text (written as is). */
void jw_raw(jsonw *w, const char *json);
/*
 * Ends the document with a newline. Commands leave their document open when
 * a read fails, so that what they printed never looks like a whole answer. Returns rc when it is an error (the
 * command's own failure comes first and keeps its message); otherwise
 * SFSM_OK, or SFSM_ESTORAGE (with sfsm_errmsg naming the member) if a string
 * was not UTF-8 and the document was cut short.
 */
int jw_finish(jsonw *w, int rc);

/* ---- opportunities as text and JSON (oppout.c) ---- */

/* One opportunity as a JSON object, attributes included. */
void cli_opp_json(jsonw *w, const sfsm_opp *o);

/* One history entry as a JSON object. */
void cli_history_json(jsonw *w, const sfsm_history_entry *h);

/* One history entry as a line of text. */
void cli_history_text(FILE *f, const sfsm_history_entry *h);

/* The event name of a transition entry, else the kind: "create", "update", "migrate". */
const char *cli_history_what(const sfsm_history_entry *h);

#endif
