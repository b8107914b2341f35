/* import and export: opportunities with their full history as one JSON
 * document (docs/json-format.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

int cmd_import(int argc, char **argv)
{
    static const cli_spec spec = {
        "import", "FILE.json [--db FILE] [--pipeline FILE.json]",
        "Imports the opportunities of an export document ('-': standard input) with\n"
        "their ids, versions, times and history, all or nothing, and prints how many.\n"
        "The store file is created if it does not exist yet. An error names the\n"
        "JSON path of the fault.\n\n" CLI_STORE_HELP,
        1, 1
    };
    cli_store_cmd cmd;
    int rc = cli_store_cmd_parse(&spec, CLI_NO_JSON, argc, argv, &cmd);
    if (rc != CLI_CONTINUE)
        return rc;
    /* The document is read before the store is opened (and maybe created),
     * so that an unreadable one leaves no new store file behind. */
    char *json;
    size_t len, count = 0;
    if (cli_read_file(cmd.arg, &json, &len) != CLI_OK)
        return CLI_FAIL;
    if (cli_env_open(&cmd.env, cmd.db, cmd.pipeline, 1) != CLI_OK) {
        free(json);
        return CLI_FAIL;
    }
    if ((rc = sfsm_import_json(cmd.env.engine, json, len, &count)) == SFSM_OK)
        printf("%zu\n", count);
    rc = rc == SFSM_OK ? CLI_OK : cli_fail(rc);
    cli_env_close(&cmd.env);
    free(json);
    return rc;
}

static int write_out(const char *buf, size_t n, void *ud)
{
    return fwrite(buf, 1, n, ud) == n ? 0 : 1;
}

/* Exports into a temporary file next to path, renamed over it on success,
 * so that a failed export never leaves half a document behind. */
static int export_to_file(sfsm_engine *e, const char *path)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + sizeof ".XXXXXX");
    if (!tmp)
        return cli_fail_msg(ENOMEM, "exporting to '%s'", path);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".XXXXXX", sizeof ".XXXXXX");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int err = errno;
        free(tmp);
        return cli_fail_msg(err, "cannot create a file next to '%s'", path);
    }
    mode_t mask = umask(0);   /* mkstemp makes 0600; give the usual 0666 & ~umask */
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int err = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return cli_fail_msg(err, "cannot write '%s'", path);
    }
    int rc = sfsm_export_json(e, NULL, write_out, f);
    int write_failed = rc > 0 || ferror(f);   /* rc > 0: write_out stopped it */
    int err = errno;
    if (fclose(f) != 0 && !write_failed) {
        write_failed = 1;
        err = errno;
    }
    if (rc < 0 || write_failed) {
        int status = rc < 0 ? cli_fail(rc) : cli_fail_msg(err, "cannot write '%s'", path);
        unlink(tmp);
        free(tmp);
        return status;
    }
    if (rename(tmp, path) != 0) {
        err = errno;
        unlink(tmp);
        free(tmp);
        return cli_fail_msg(err, "cannot replace '%s'", path);
    }
    free(tmp);
    return CLI_OK;
}

int cmd_export(int argc, char **argv)
{
    static const cli_spec spec = {
        "export", "[FILE.json] [--db FILE] [--pipeline FILE.json]",
        "Exports every opportunity with its attributes and full history as one JSON\n"
        "document, to FILE.json (replaced only once the export succeeded) or to\n"
        "standard output. 'salesfsm import' reads it back.\n\n" CLI_STORE_HELP,
        0, 1
    };
    cli_store_cmd cmd;
    int rc = cli_store_cmd_open(&spec, CLI_NO_JSON, argc, argv, &cmd);
    if (rc != CLI_CONTINUE)
        return rc;
    if (cmd.arg && strcmp(cmd.arg, "-") != 0) {
        rc = export_to_file(cmd.env.engine, cmd.arg);
    } else {
        rc = sfsm_export_json(cmd.env.engine, NULL, write_out, stdout);
        rc = rc == SFSM_OK ? CLI_OK : rc > 0 ? cli_fail_msg(errno, "cannot write standard output") : cli_fail(rc);
    }
    cli_env_close(&cmd.env);
    return rc;
}
