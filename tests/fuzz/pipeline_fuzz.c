/* libFuzzer target for the pipeline loader (tests/fuzz/run.sh builds and
 * runs it). Every input goes through sfsm_pipeline_from_json; an input it
 * accepts must print, load again and print to the same bytes, so the
 * writer and the loader can never disagree about a pipeline. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salesfsm/salesfsm.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, int rc)
{
    fprintf(stderr, "pipeline_fuzz: %s: %s (%s)\n", what, sfsm_strerror(rc), sfsm_errmsg());
    abort();
}

/* Every name of an accepted pipeline looks up to its own index. */
static void check_tables(const sfsm_pipeline *p)
{
    size_t n = sfsm_pipeline_stage_count(p), m = sfsm_pipeline_event_count(p), ix;
    if (n == 0 || m == 0 || sfsm_pipeline_role_count(p) == 0 || sfsm_pipeline_initial_stage(p) >= n)
        die("accepted pipeline with an empty table", SFSM_OK);
    for (size_t i = 0; i < n; i++)
        if (sfsm_pipeline_stage_index(p, sfsm_pipeline_stage_name(p, i), &ix) != SFSM_OK || ix != i)
            die("stage name does not look up to its index", SFSM_OK);
    for (size_t i = 0; i < m; i++)
        if (sfsm_pipeline_event_index(p, sfsm_pipeline_event_name(p, i), &ix) != SFSM_OK || ix != i ||
            sfsm_pipeline_event_target(p, i) >= n)
            die("event name does not look up to its index", SFSM_OK);
    for (size_t i = 0; i < sfsm_pipeline_role_count(p); i++)
        if (sfsm_pipeline_role_index(p, sfsm_pipeline_role_name(p, i), &ix) != SFSM_OK || ix != i)
            die("role name does not look up to its index", SFSM_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sfsm_pipeline *p = (sfsm_pipeline *)1;
    int rc = sfsm_pipeline_from_json(&p, (const char *)data, size);
    if (rc != SFSM_OK) {
        if (p != NULL)
            die("failed load left *out set", rc);
        if (rc != SFSM_EPARSE && rc != SFSM_EINVAL && rc != SFSM_EVERSION && rc != SFSM_ENOMEM)
            die("unexpected error code from the loader", rc);
        if (sfsm_errmsg()[0] == '\0')
            die("failure without a message", rc);
        return 0;
    }
    if (p == NULL)
        die("success without a pipeline", rc);
    check_tables(p);

    char *first = NULL, *second = NULL;
    size_t first_len = 0, second_len = 0;
    if ((rc = sfsm_pipeline_to_json(p, &first, &first_len)) != SFSM_OK)
        die("to_json of a loaded pipeline", rc);
    if (strlen(first) != first_len)
        die("to_json length does not match the string", SFSM_OK);

    sfsm_pipeline *q = NULL;
    if ((rc = sfsm_pipeline_from_json(&q, first, first_len)) != SFSM_OK) {
        fprintf(stderr, "pipeline_fuzz: the loader refuses what the writer printed:\n%s\n", first);
        die("from_json of to_json output", rc);
    }
    if ((rc = sfsm_pipeline_to_json(q, &second, &second_len)) != SFSM_OK)
        die("to_json of the reloaded pipeline", rc);
    if (first_len != second_len || memcmp(first, second, first_len) != 0) {
        fprintf(stderr, "pipeline_fuzz: round trip differs\n--- first\n%s\n--- second\n%s\n", first, second);
        abort();
    }

    sfsm_free(first);
    sfsm_free(second);
    sfsm_pipeline_free(q);
    sfsm_pipeline_free(p);
    return 0;
}
