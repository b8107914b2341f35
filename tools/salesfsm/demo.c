/* demo: a simulated sales department working a year on a fresh SQLite file,
 * then a summary read back from it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "demo.h"

#define DEFAULT_DEMO_DB "salesfsm-demo.db"

/*
 * Starts from an empty file: removes the old demo database, but only a file
 * that opens as a salesfsm store (or none at all). Anything else is left
 * alone and refused.
 */
static int remove_old_demo(const char *path)
{
    sfsm_sqlite_options opts = SFSM_SQLITE_OPTIONS_INIT;
    sfsm_store *s = NULL;
    opts.create = 0;
    int rc = sfsm_store_open_sqlite(&s, path, &opts);
    if (rc == SFSM_ENOTFOUND)
        return CLI_OK;
    if (rc) {
        cli_fail(rc);
        return cli_fail_msg(0, "not replacing '%s': it does not open as a salesfsm store (choose another --db)",
                            path);
    }
    sfsm_store_close(s);
    static const char *const suffixes[] = { "-wal", "-shm", "-journal", "" };
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t n = strlen(path) + strlen(suffixes[i]) + 1;
        char *name = malloc(n);
        if (!name)
            return cli_fail_msg(ENOMEM, "removing '%s'", path);
        snprintf(name, n, "%s%s", path, suffixes[i]);
        int failed = unlink(name) != 0 && errno != ENOENT;
        int err = errno;
        free(name);
        if (failed)
            return cli_fail_msg(err, "cannot remove the old demo database '%s%s'", path, suffixes[i]);
    }
    return CLI_OK;
}

/* Simulates and summarizes on an open store; returns the exit code, a
 * failure reported before anything is freed (which would end sfsm_errmsg). */
static int run(sfsm_store *store, const demo_config *cfg)
{
    sfsm_pipeline *p = NULL;
    sfsm_engine *e = NULL;
    demo_stats stats;
    memset(&stats, 0, sizeof stats);
    int rc = sfsm_pipeline_default(&p);
    if (!rc)
        rc = sfsm_engine_new(&e, p, store);
    if (!rc)
        rc = demo_plan(e, cfg);
    if (!rc)
        rc = demo_simulate(e, cfg, &stats);
    if (cfg->progress)
        progress_finish(cfg->progress);
    if (!rc)
        rc = demo_summary(e, cfg, &stats, stdout);
    rc = rc ? cli_fail(rc) : CLI_OK;
    sfsm_engine_free(e);
    sfsm_pipeline_free(p);
    return rc;
}

int cmd_demo(int argc, char **argv)
{
    static const cli_spec spec = {
        "demo", "[--db FILE] [--seed N] [--days N] [--no-progress]",
        "Simulates a small sales department - a manager, four reps, an assistant\n"
        "and support - working through a year of opportunities with the default\n"
        "pipeline, on a fresh SQLite file, with a simulated clock, then prints a\n"
        "summary: amounts per stage, win rate, reps by won amount, lost reasons,\n"
        "example histories, a forecast for the next quarter and the attainment of\n"
        "the last one against the reps' and teams' targets (two teams; annual targets\n"
        "split into quarters; customers pay deposits and balances). The same seed gives the same run. Explore the file\n"
        "afterwards with list, show and history (--db FILE).\n\n"
        "  --db FILE             the database (default: " DEFAULT_DEMO_DB " in the current\n"
        "                        directory); an old demo database there is replaced,\n"
        "                        any other file is refused\n"
        "  --seed N              seed of the simulation (default: 2026)\n"
        "  --days N              days to simulate, 1..3650 (default: 365)\n"
        "  --no-progress         no progress bar on stderr (shown only on a terminal)\n",
        0, 0
    };
    const char *db = DEFAULT_DEMO_DB, *seed_text = NULL, *days_text = NULL;
    int no_progress = 0;
    const cli_opt opts[] = {
        { "db", &db, NULL },           { "seed", &seed_text, NULL },
        { "days", &days_text, NULL },  { "no-progress", NULL, &no_progress },
        { NULL, NULL, NULL },
    };
    size_t nargs;
    int rc = cli_parse(&spec, opts, argc, argv, NULL, &nargs);
    if (rc != CLI_CONTINUE)
        return rc;
    uint64_t seed = 2026, days = 365;
    if (seed_text && cli_parse_uint(seed_text, 0, UINT64_MAX, &seed) != 0)
        return cli_usage_error(&spec, "--seed: '%s' is not a number from 0 to %llu", seed_text,
                               (unsigned long long)UINT64_MAX);
    if (days_text && cli_parse_uint(days_text, 1, 3650, &days) != 0)
        return cli_usage_error(&spec, "--days: '%s' is not a number from 1 to 3650", days_text);
    if (!*db)
        return cli_usage_error(&spec, "--db: empty file name");

    if (remove_old_demo(db) != CLI_OK)
        return CLI_FAIL;
    progress bar;
    progress_init(&bar, !no_progress && isatty(STDERR_FILENO) ? stderr : NULL, (int)days);
    demo_config cfg = { db, seed, (int)days, &bar };

    /* Throw-away data: a crash may lose the last commits, which is fine here. */
    sfsm_sqlite_options so = SFSM_SQLITE_OPTIONS_INIT;
    so.synchronous = SFSM_SQLITE_SYNC_NORMAL;
    sfsm_store *store = NULL;
    if ((rc = sfsm_store_open_sqlite(&store, db, &so)) != SFSM_OK)
        return cli_fail(rc);
    rc = run(store, &cfg);
    sfsm_store_close(store);
    return rc;
}
