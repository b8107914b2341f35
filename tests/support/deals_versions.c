#include "deals_versions.h"

#include "testutil.h"

/* Version 1 has a technical review between lead and quoted. */
const char *const DEALS_V1 =
    "{\"name\": \"deals\", \"version\": 1, \"initial\": \"lead\","
    " \"stages\": ["
    "  {\"name\": \"lead\", \"probability\": 10, \"outcome\": \"open\"},"
    "  {\"name\": \"review\", \"probability\": 30, \"outcome\": \"open\"},"
    "  {\"name\": \"quoted\", \"probability\": 50, \"outcome\": \"open\"},"
    "  {\"name\": \"won\", \"probability\": 100, \"outcome\": \"won\"},"
    "  {\"name\": \"lost\", \"probability\": 0, \"outcome\": \"lost\"}],"
    " \"roles\": [\"rep\"],"
    " \"events\": ["
    "  {\"name\": \"review\", \"from\": [\"lead\"], \"to\": \"review\", \"roles\": [\"rep\"]},"
    "  {\"name\": \"quote\", \"from\": [\"review\"], \"to\": \"quoted\", \"roles\": [\"rep\"]},"
    "  {\"name\": \"win\", \"from\": [\"quoted\"], \"to\": \"won\", \"roles\": [\"rep\"]},"
    "  {\"name\": \"lose\", \"from\": [\"lead\", \"review\", \"quoted\"], \"to\": \"lost\", \"roles\": [\"rep\"]}]}";

/* Version 2 drops the review: reviewed deals become qualified. */
const char *const DEALS_V2 =
    "{\"name\": \"deals\", \"version\": 2, \"initial\": \"lead\","
    " \"stages\": ["
    "  {\"name\": \"lead\", \"probability\": 10, \"outcome\": \"open\"},"
    "  {\"name\": \"qualified\", \"probability\": 30, \"outcome\": \"open\"},"
    "  {\"name\": \"quoted\", \"probability\": 50, \"outcome\": \"open\"},"
    "  {\"name\": \"won\", \"probability\": 100, \"outcome\": \"won\"},"
    "  {\"name\": \"lost\", \"probability\": 0, \"outcome\": \"lost\"}],"
    " \"roles\": [\"rep\"],"
    " \"events\": ["
    "  {\"name\": \"qualify\", \"from\": [\"lead\"], \"to\": \"qualified\", \"roles\": [\"rep\"]},"
    "  {\"name\": \"quote\", \"from\": [\"qualified\"], \"to\": \"quoted\", \"roles\": [\"rep\"]},"
    "  {\"name\": \"win\", \"from\": [\"quoted\"], \"to\": \"won\", \"roles\": [\"rep\"]},"
    "  {\"name\": \"lose\", \"from\": [\"lead\", \"qualified\", \"quoted\"], \"to\": \"lost\", \"roles\": [\"rep\"]}],"
    " \"migrations\": [{\"from_version\": 1, \"from\": \"review\", \"to\": \"qualified\"}]}";

/* Version 3 drops the review too, but says nothing about where it went. */
const char *const DEALS_V3 =
    "{\"name\": \"deals\", \"version\": 3, \"initial\": \"lead\","
    " \"stages\": ["
    "  {\"name\": \"lead\", \"probability\": 10, \"outcome\": \"open\"},"
    "  {\"name\": \"quoted\", \"probability\": 50, \"outcome\": \"open\"},"
    "  {\"name\": \"won\", \"probability\": 100, \"outcome\": \"won\"},"
    "  {\"name\": \"lost\", \"probability\": 0, \"outcome\": \"lost\"}],"
    " \"roles\": [\"rep\"],"
    " \"events\": ["
    "  {\"name\": \"quote\", \"from\": [\"lead\"], \"to\": \"quoted\", \"roles\": [\"rep\"]},"
    "  {\"name\": \"win\", \"from\": [\"quoted\"], \"to\": \"won\", \"roles\": [\"rep\"]},"
    "  {\"name\": \"lose\", \"from\": [\"lead\", \"quoted\"], \"to\": \"lost\", \"roles\": [\"rep\"]}]}";

const sfsm_actor SELLER = { "Ravi", "rep" };

sfsm_pipeline *deals_load(const char *json)
{
    sfsm_pipeline *p = NULL;
    if (sfsm_pipeline_from_json(&p, json, strlen(json)) != SFSM_OK)
        fail_msg("pipeline: %s", sfsm_errmsg());
    return p;
}
