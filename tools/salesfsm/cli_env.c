/* Reporting failures, reading files, and opening the pipeline, the SQLite
 * store and the engine that the store commands work on. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_fail(int rc)
{
    /* The message may quote stored text: escaped like any text for people. */
    fprintf(stderr, "salesfsm: %s: %s\n", sfsm_strerror(rc), cli_tx_message(sfsm_errmsg()));
    return CLI_FAIL;
}

int cli_fail_msg(int errnum, const char *fmt, ...)
{
    va_list ap;
    char msg[1024];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "salesfsm: %s", cli_tx_message(msg));   /* it may quote a file name */
    if (errnum)
        fprintf(stderr, ": %s", strerror(errnum));
    fputc('\n', stderr);
    return CLI_FAIL;
}

static int read_stream(FILE *f, const char *name, char **buf, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    if (!b)
        return cli_fail_msg(ENOMEM, "reading '%s'", name);
    for (;;) {
        if (cap - n < 2) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return cli_fail_msg(ENOMEM, "reading '%s'", name);
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int err = errno;
        free(b);
        return cli_fail_msg(err, "cannot read '%s'", name);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return CLI_OK;
}

int cli_read_file(const char *path, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    if (strcmp(path, "-") == 0)
        return read_stream(stdin, "standard input", buf, len);
    FILE *f = fopen(path, "rb");
    if (!f)
        return cli_fail_msg(errno, "cannot open '%s'", path);
    int rc = read_stream(f, path, buf, len);
    fclose(f);
    return rc;
}

int cli_load_pipeline(const char *path, sfsm_pipeline **out)
{
    *out = NULL;
    if (!path) {
        int rc = sfsm_pipeline_default(out);
        return rc ? cli_fail(rc) : CLI_OK;
    }
    char *json;
    size_t len;
    if (cli_read_file(path, &json, &len) != CLI_OK)
        return CLI_FAIL;
    int rc = sfsm_pipeline_from_json(out, json, len);
    free(json);
    return rc ? cli_fail(rc) : CLI_OK;
}

int cli_env_open(cli_env *env, const char *db, const char *pipeline_path, int create)
{
    sfsm_sqlite_options opts = SFSM_SQLITE_OPTIONS_INIT;
    int rc;
    env->pipeline = NULL;
    env->store = NULL;
    env->engine = NULL;
    if (cli_load_pipeline(pipeline_path, &env->pipeline) != CLI_OK)
        return CLI_FAIL;
    opts.create = create;
    if ((rc = sfsm_store_open_sqlite(&env->store, db ? db : CLI_DEFAULT_DB, &opts)) ||
        (rc = sfsm_engine_new(&env->engine, env->pipeline, env->store))) {
        cli_fail(rc);
        cli_env_close(env);
        return CLI_FAIL;
    }
    return CLI_OK;
}

void cli_env_close(cli_env *env)
{
    sfsm_engine_free(env->engine);
    sfsm_store_close(env->store);
    sfsm_pipeline_free(env->pipeline);
    env->engine = NULL;
    env->store = NULL;
    env->pipeline = NULL;
}
