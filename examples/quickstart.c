/*
 * quickstart.c — the smallest complete salesfsm program.
 *
 * Builds the default pipeline, opens an in-memory store, binds both to an
 * engine, creates one opportunity and walks it from lead to serviced with
 * the roles the default pipeline allows. On the way it shows one refused
 * move (and that a refused move changes nothing), then prints the audit
 * history. Every call is checked; any failure exits with status 1.
 *
 *   cc quickstart.c $(pkg-config --cflags --libs salesfsm) -o quickstart
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <salesfsm/salesfsm.h>

/* Prints what failed and why: the code's name plus the thread's detail. */
static int check(int rc, const char *what)
{
    if (rc != SFSM_OK)
        fprintf(stderr, "quickstart: %s failed: %s (%s)\n", what, sfsm_strerror(rc), sfsm_errmsg());
    return rc;
}

static void print_state(const char *step, const sfsm_opp *o)
{
    printf("  %-10s -> stage %-12s version %" PRIu64 "  win probability %3d%%\n", step,
           sfsm_opp_stage(o), sfsm_opp_version(o), sfsm_opp_probability(o));
}

/* An enter hook: runs after the move into "signed" has been stored. */
static void on_signed(const sfsm_transition *t, void *ud)
{
    int *signed_count = ud;
    ++*signed_count;
    printf("  [hook] %s signed by %s (%s), version %" PRIu64 "\n", t->opp_id, t->actor->name,
           t->actor->role, t->version);
}

static int print_entry(const sfsm_history_entry *h, void *ud)
{
    (void)ud;
    const char *what = h->kind == SFSM_HISTORY_CREATE       ? "create"
                       : h->kind == SFSM_HISTORY_TRANSITION ? h->event
                                                            : "update";
    printf("  v%-2" PRIu64 " %-9s %-11s -> %-11s by %s (%s)%s%s\n", h->version, what,
           h->from ? h->from : "-", h->to, h->actor ? h->actor : "-", h->role ? h->role : "-",
           h->note ? "  note: " : "", h->note ? h->note : "");
    return 0;
}

/* Usage: quickstart [FILE.db] — with a file, the opportunities are kept in
 * that SQLite database (the embedded default) and each run adds one more. */
int main(int argc, char **argv)
{
    const char *db_path = argc > 1 ? argv[1] : NULL;
    sfsm_pipeline *pipeline = NULL;
    sfsm_store *store = NULL;
    sfsm_engine *engine = NULL;
    sfsm_opp *opp = NULL;
    int status = EXIT_FAILURE;
    int signed_count = 0;
    sfsm_create_options opts = SFSM_CREATE_OPTIONS_INIT;

    const sfsm_actor rep = { "Li Wei", "rep" };
    const sfsm_actor manager = { "Zhang Min", "manager" };
    const sfsm_actor assistant = { "Chen Jing", "assistant" };
    const sfsm_actor support = { "Wang Fang", "support" };

    printf("salesfsm %s quickstart\n", sfsm_version());

    /* 1. The process, the storage and the engine that binds them. */
    if (check(sfsm_pipeline_default(&pipeline), "sfsm_pipeline_default") ||
        (db_path ? check(sfsm_store_open_sqlite(&store, db_path, NULL), "sfsm_store_open_sqlite")
                 : check(sfsm_store_open_memory(&store), "sfsm_store_open_memory")) ||
        check(sfsm_engine_new(&engine, pipeline, store), "sfsm_engine_new") ||
        check(sfsm_engine_on_enter(engine, "signed", on_signed, &signed_count), "sfsm_engine_on_enter"))
        goto out;

    /* 2. A new opportunity: CNY 128,000.00, in fen (minor units). */
    opts.id = db_path ? NULL : "OPP-2026-0001";   /* a file keeps earlier runs: generate an id */
    opts.customer = "Hangzhou Lianhua Trading Co.";
    opts.owner = rep.name;
    opts.title = "ERP rollout, 40 seats";
    opts.amount = INT64_C(12800000);
    opts.currency = "CNY";
    opts.actor = &rep;
    if (check(sfsm_opp_create_ext(engine, &opts, &opp), "sfsm_opp_create_ext"))
        goto out;
    printf("created %s for %s: %s %" PRId64 ".%02" PRId64 "\n", sfsm_opp_id(opp), sfsm_opp_customer(opp),
           sfsm_opp_currency(opp), sfsm_opp_amount(opp) / 100, sfsm_opp_amount(opp) % 100);
    print_state("create", opp);

    /*
     * 3. Walk it through the pipeline, each event fired by a role that the
     *    default pipeline allows. One move is refused on purpose: signing
     *    needs stage "negotiating", and a refused move changes nothing.
     */
    const struct {
        const char *event;
        const sfsm_actor *actor;
        const char *note;
        int expect;
    } steps[] = {
        { "qualify", &rep, "budget confirmed", SFSM_OK },
        { "quote", &rep, "quote Q-17 sent", SFSM_OK },
        { "sign", &rep, "customer says yes", SFSM_ETRANSITION },
        { "negotiate", &rep, NULL, SFSM_OK },
        { "sign", &manager, "contract HT-0042, deposit received", SFSM_OK },
        { "deliver", &assistant, "installed on site", SFSM_OK },
        { "service", &support, "handed over to after-sales", SFSM_OK },
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        uint64_t before = sfsm_opp_version(opp);
        int rc = sfsm_fire(engine, opp, steps[i].event, steps[i].actor, steps[i].note);
        if (steps[i].expect == SFSM_OK) {
            if (check(rc, steps[i].event))
                goto out;
            print_state(steps[i].event, opp);
            continue;
        }
        printf("  %-10s -> refused in stage %s: %s\n                %s\n", steps[i].event,
               sfsm_opp_stage(opp), sfsm_strerror(rc), sfsm_errmsg());
        if (rc != steps[i].expect || sfsm_opp_version(opp) != before) {
            fprintf(stderr, "quickstart: %s: expected %s and no change, got %s\n", steps[i].event,
                    sfsm_strerror(steps[i].expect), sfsm_strerror(rc));
            goto out;
        }
    }
    if (signed_count != 1) {
        fprintf(stderr, "quickstart: the enter(signed) hook ran %d times, expected 1\n", signed_count);
        goto out;
    }

    /* 5. The audit trail, oldest first. */
    printf("history of %s:\n", sfsm_opp_id(opp));
    if (check(sfsm_opp_history(engine, sfsm_opp_id(opp), print_entry, NULL), "sfsm_opp_history"))
        goto out;

    printf("final stage: %s\n", sfsm_opp_stage(opp));
    status = EXIT_SUCCESS;

out:
    /* Handles first, then the engine, then what it borrowed. All accept NULL. */
    sfsm_opp_free(opp);
    sfsm_engine_free(engine);
    sfsm_store_close(store);
    sfsm_pipeline_free(pipeline);
    return status;
}
