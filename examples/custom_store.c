/*
 * custom_store.c — salesfsm over an ERP's own tables.
 *
 * The storage backend lives in erp_store.c: it keeps opportunities in the
 * ERP's SQLite tables crm_deal, crm_deal_attr and crm_deal_log. This
 * program uses it exactly as it would use a built-in store:
 *
 *   1. opens the ERP database given on the command line (default: a
 *      temporary file, deleted at the end),
 *   2. creates a few opportunities,
 *   3. walks one through the default pipeline, with a field change stored
 *      by the same commit as a transition,
 *   4. shows a version conflict between two handles on two connections
 *      (two ERP application servers, say) and how to recover from it,
 *   5. scans with a filter and prints the history read back through the
 *      engine.
 *
 * Every call is checked; any failure exits with status 1. Run it twice on
 * the same file and the second run finds the first run's deals.
 *
 *   cc custom_store.c erp_store.c $(pkg-config --cflags --libs salesfsm sqlite3)
 *   ./a.out erp.db && sqlite3 erp.db 'SELECT deal_no, phase, rev FROM crm_deal'
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <salesfsm/salesfsm.h>

#include "erp_store.h"

static int check(int rc, const char *what)
{
    if (rc != SFSM_OK)
        fprintf(stderr, "custom_store: %s failed: %s (%s)\n", what, sfsm_strerror(rc), sfsm_errmsg());
    return rc;
}

static int fail(const char *what)
{
    fprintf(stderr, "custom_store: %s\n", what);
    return -1;
}

static int count_one(const sfsm_opp *o, void *ud)
{
    (void)o;
    ++*(size_t *)ud;
    return 0;
}

static int print_deal(const sfsm_opp *o, void *ud)
{
    (void)ud;
    printf("  %-10s %-12s rev %-2" PRIu64 " %-34s %s\n", sfsm_opp_id(o), sfsm_opp_stage(o), sfsm_opp_version(o),
           sfsm_opp_customer(o) ? sfsm_opp_customer(o) : "(no customer)",
           sfsm_opp_owner(o) ? sfsm_opp_owner(o) : "(no owner)");
    return 0;
}

/* Prints each entry and checks that the sequence numbers run 1, 2, 3, ... */
static int print_entry(const sfsm_history_entry *h, void *ud)
{
    uint64_t *expect = ud;
    if (h->version != ++*expect) {
        fprintf(stderr, "custom_store: history entry %" PRIu64 " read back where %" PRIu64 " was expected\n",
                h->version, *expect);
        return 1;
    }
    const char *what = h->kind == SFSM_HISTORY_CREATE       ? "create"
                       : h->kind == SFSM_HISTORY_TRANSITION ? h->event
                                                            : "update";
    printf("  v%-2" PRIu64 " %-9s %-11s -> %-11s by %-9s %s%s\n", h->version, what, h->from ? h->from : "-", h->to,
           h->actor ? h->actor : "-", h->note ? "note: " : "", h->note ? h->note : "");
    if (h->changes)
        printf("      changes %s\n", h->changes);
    return 0;
}

/* A fresh temporary file for the default run. */
static int temp_path(char *buf, size_t size)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    if ((size_t)snprintf(buf, size, "%s/custom_store-XXXXXX", dir) >= size)
        return -1;
    int fd = mkstemp(buf);   /* an empty file is a valid, empty SQLite database */
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static void remove_db(const char *path)
{
    char aux[4096 + 8];   /* room for the suffix: paths here are < 4096 bytes */
    remove(path);
    if ((size_t)snprintf(aux, sizeof aux, "%s-wal", path) < sizeof aux)
        remove(aux);
    if ((size_t)snprintf(aux, sizeof aux, "%s-shm", path) < sizeof aux)
        remove(aux);
}

/* Creates one deal; *out owns the handle. */
static int create_deal(sfsm_engine *e, const char *id, const char *customer, const char *owner, const char *title,
                       int64_t amount, const sfsm_actor *actor, sfsm_opp **out)
{
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;
    opts.id = id;
    opts.customer = customer;
    opts.owner = owner;
    opts.title = title;
    opts.amount = amount;
    opts.currency = amount ? "CNY" : NULL;
    opts.actor = actor;
    if (check(sfsm_opp_create_ext(e, &opts, out), "sfsm_opp_create_ext"))
        return -1;
    printf("  created %s (%s) at stage %s, rev %" PRIu64 "\n", id, customer ? customer : "no customer yet",
           sfsm_opp_stage(*out), sfsm_opp_version(*out));
    return 0;
}

/* 3. Walk one opportunity from lead to serviced. */
static int walk(sfsm_engine *e, sfsm_opp *o)
{
    const sfsm_actor rep = { "Li Wei", "rep" };
    const sfsm_actor manager = { "Zhang Min", "manager" };
    const sfsm_actor assistant = { "Chen Jing", "assistant" };
    const sfsm_actor support = { "Wang Fang", "support" };
    const struct {
        const char *event;
        const sfsm_actor *actor;
        const char *note;
    } steps[] = {
        { "qualify", &rep, "budget confirmed" },
        { "quote", &rep, "quote Q-17 sent" },
        { "negotiate", &rep, NULL },
        { "sign", &manager, "contract HT-0042" },
        { "deliver", &assistant, "installed on site" },
        { "service", &support, "handed over to after-sales" },
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (i == 1) {
            /* Unsaved changes go into the same commit as the next transition:
             * one UPDATE of crm_deal (only the changed columns), the
             * attributes rewritten, one crm_deal_log row. */
            if (check(sfsm_opp_set_amount(o, INT64_C(11900000), "CNY"), "sfsm_opp_set_amount") ||
                check(sfsm_opp_set_attr(o, "erp.quote_no", "Q-17"), "sfsm_opp_set_attr") ||
                check(sfsm_opp_set_attr(o, "erp.region", "East"), "sfsm_opp_set_attr"))
                return -1;
        }
        if (check(sfsm_fire(e, o, steps[i].event, steps[i].actor, steps[i].note), steps[i].event))
            return -1;
        printf("  %-10s -> %-12s rev %" PRIu64 "\n", steps[i].event, sfsm_opp_stage(o), sfsm_opp_version(o));
    }
    return strcmp(sfsm_opp_stage(o), "serviced") == 0 ? 0 : fail("the walk did not end in 'serviced'");
}

/* 4. Two connections, two handles on one deal: the second write loses. */
static int conflict(const char *path, const sfsm_pipeline *p, sfsm_engine *e1, const char *id)
{
    const sfsm_actor rep = { "Li Wei", "rep" };
    const sfsm_actor rep2 = { "Zhao Lei", "rep" };
    sfsm_store *store2 = NULL;
    sfsm_engine *e2 = NULL;
    sfsm_opp *a = NULL, *b = NULL;
    int status = -1;

    if (check(erp_store_open(path, &store2), "erp_store_open (second connection)") ||
        check(sfsm_engine_new(&e2, p, store2), "sfsm_engine_new (second connection)") ||
        check(sfsm_opp_open(e1, id, &a), "sfsm_opp_open (server A)") ||
        check(sfsm_opp_open(e2, id, &b), "sfsm_opp_open (server B)"))
        goto out;
    printf("  server A and server B both loaded %s at rev %" PRIu64 "\n", id, sfsm_opp_version(a));

    if (check(sfsm_fire(e1, a, "qualify", &rep, "A was first"), "qualify on server A"))
        goto out;
    printf("  server A: qualify  -> %s, rev %" PRIu64 "\n", sfsm_opp_stage(a), sfsm_opp_version(a));

    if (check(sfsm_opp_set_title(b, "title typed on server B"), "sfsm_opp_set_title"))
        goto out;
    int rc = sfsm_opp_save_as(e2, b, &rep2, NULL);
    printf("  server B: save     -> %s\n                        %s\n", sfsm_strerror(rc), sfsm_errmsg());
    if (rc != SFSM_ECONFLICT) {
        fail("server B's stale save was not refused with SFSM_ECONFLICT");
        goto out;
    }

    /* Recover: reload, reapply the change, save again. */
    sfsm_opp_free(b);
    b = NULL;
    if (check(sfsm_opp_open(e2, id, &b), "sfsm_opp_open (server B, reload)") ||
        check(sfsm_opp_set_title(b, "title typed on server B"), "sfsm_opp_set_title") ||
        check(sfsm_opp_save_as(e2, b, &rep2, "retyped after a conflict"), "save on server B after reload"))
        goto out;
    printf("  server B: reload + save -> stage %s, rev %" PRIu64 ", title \"%s\"\n", sfsm_opp_stage(b),
           sfsm_opp_version(b), sfsm_opp_title(b));
    status = 0;
out:
    sfsm_opp_free(a);
    sfsm_opp_free(b);
    sfsm_engine_free(e2);
    sfsm_store_close(store2);
    return status;
}

int main(int argc, char **argv)
{
    char tmp[4096];
    const char *path;
    int own_file = 0;
    if (argc > 2) {
        fprintf(stderr, "usage: %s [erp.db]\n", argv[0]);
        return EXIT_FAILURE;
    }
    if (argc == 2) {
        path = argv[1];
    } else {
        if (temp_path(tmp, sizeof tmp)) {
            perror("custom_store: cannot create a temporary file");
            return EXIT_FAILURE;
        }
        path = tmp;
        own_file = 1;
    }

    sfsm_pipeline *pipeline = NULL;
    sfsm_store *store = NULL;
    sfsm_engine *engine = NULL;
    sfsm_opp *deals[3] = { NULL, NULL, NULL };
    sfsm_opp *check_null = NULL;
    int status = EXIT_FAILURE;
    const sfsm_actor rep = { "Li Wei", "rep" };

    printf("salesfsm %s over the ERP tables in %s\n", sfsm_version(), path);

    /* 1. The ERP's store, the process and the engine that binds them. */
    if (check(sfsm_pipeline_default(&pipeline), "sfsm_pipeline_default") ||
        check(erp_store_open(path, &store), "erp_store_open") ||
        check(sfsm_engine_new(&engine, pipeline, store), "sfsm_engine_new"))
        goto out;

    /* Deals from earlier runs on the same file stay; number the new ones after them. */
    size_t before = 0;
    if (check(sfsm_scan(engine, NULL, count_one, &before), "sfsm_scan"))
        goto out;
    printf("%zu deals on file before this run\n", before);

    /* 2. A few opportunities; the third has no customer yet (stored as NULL). */
    char ids[3][32];
    for (size_t i = 0; i < 3; i++)
        snprintf(ids[i], sizeof ids[i], "D-%05zu", before + i + 1);
    printf("creating:\n");
    if (create_deal(engine, ids[0], "Hangzhou Lianhua Trading Co.", rep.name, "ERP rollout, 40 seats",
                    INT64_C(12800000), &rep, &deals[0]) ||
        create_deal(engine, ids[1], "Suzhou Precision Parts Ltd.", rep.name, "MES interface", INT64_C(4500000), &rep,
                    &deals[1]) ||
        create_deal(engine, ids[2], NULL, NULL, "inbound web lead", 0, NULL, &deals[2]))
        goto out;

    /* An opportunity that exists already is refused by the backend's insert. */
    sfsm_opp *dup = NULL;
    int rc = sfsm_opp_create(engine, ids[0], &dup);
    printf("  creating %s again -> %s\n", ids[0], sfsm_strerror(rc));
    if (rc != SFSM_EEXISTS || dup) {
        sfsm_opp_free(dup);
        fail("a second create with the same id was not refused with SFSM_EEXISTS");
        goto out;
    }

    /* Unset strings come back NULL, not "". */
    if (check(sfsm_opp_open(engine, ids[2], &check_null), "sfsm_opp_open"))
        goto out;
    if (sfsm_opp_customer(check_null) || sfsm_opp_owner(check_null) || sfsm_opp_currency(check_null)) {
        fail("unset strings did not come back as NULL");
        goto out;
    }

    /* 3. The walk. */
    printf("walking %s through the default pipeline:\n", ids[0]);
    if (walk(engine, deals[0]))
        goto out;

    /* 4. The conflict. */
    printf("version conflict on %s:\n", ids[1]);
    if (conflict(path, pipeline, engine, ids[1]))
        goto out;

    /* 5. A scan with a filter (creation order), then the history. */
    sfsm_filter f = SFSM_FILTER_INIT;
    f.owner = rep.name;
    printf("deals owned by %s:\n", rep.name);
    if (check(sfsm_scan(engine, &f, print_deal, NULL), "sfsm_scan"))
        goto out;

    printf("history of %s, read back from crm_deal_log:\n", ids[0]);
    uint64_t seq = 0;
    if (check(sfsm_opp_history(engine, ids[0], print_entry, &seq), "sfsm_opp_history"))
        goto out;
    if (seq != sfsm_opp_version(deals[0])) {
        fail("the history does not end at the opportunity's version");
        goto out;
    }
    printf("final stage of %s: %s\n", ids[0], sfsm_opp_stage(deals[0]));
    status = EXIT_SUCCESS;

out:
    sfsm_opp_free(check_null);
    for (size_t i = 0; i < 3; i++)
        sfsm_opp_free(deals[i]);
    sfsm_engine_free(engine);
    sfsm_store_close(store);   /* closes the ERP database too */
    sfsm_pipeline_free(pipeline);
    if (own_file)
        remove_db(path);
    return status;
}
