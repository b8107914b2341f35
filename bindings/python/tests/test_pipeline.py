"""Pipelines: the default table as the bindings present it, lookups, custom JSON."""
import json
import os
import tempfile
import unittest

import salesfsm
from salesfsm import ForecastCategory, Outcome

from support import DAY, SalesfsmTestCase

TINY = """{
  "name": "tiny", "version": 3, "initial": "open",
  "stages": [
    {"name": "open", "probability": 50, "outcome": "open", "stale_days": 7},
    {"name": "won", "label": "Won!", "probability": 100, "outcome": "won"},
    {"name": "gone", "probability": 0, "outcome": "lost"}
  ],
  "roles": ["rep", "boss"],
  "events": [
    {"name": "win", "from": ["open"], "to": "won", "roles": ["rep"], "guards": ["credit"]},
    {"name": "drop", "from": ["open"], "to": "gone", "roles": ["boss", "rep"]}
  ]
}"""


class DefaultPipeline(SalesfsmTestCase):
    def test_identity(self):
        p = self.pipeline
        self.assertEqual(p.name, "default")
        self.assertEqual(p.version, 1)
        self.assertEqual(p.initial_stage, "lead")
        self.assertEqual(p.roles, ("manager", "rep", "assistant", "support"))

    def test_stages(self):
        got = [(s.index, s.name, s.label, s.probability, s.stale_days, s.outcome, s.forecast,
                s.final) for s in self.pipeline.stages]
        self.assertEqual(got, [
            (0, "lead", "Lead", 10, 14, Outcome.OPEN, ForecastCategory.PIPELINE, False),
            (1, "qualified", "Qualified", 25, 14, Outcome.OPEN, ForecastCategory.PIPELINE, False),
            (2, "quoted", "Quoted", 50, 10, Outcome.OPEN, ForecastCategory.BEST_CASE, False),
            (3, "negotiating", "Negotiating", 75, 21, Outcome.OPEN, ForecastCategory.COMMIT, False),
            (4, "signed", "Signed", 100, 30, Outcome.WON, ForecastCategory.CLOSED, False),
            (5, "delivered", "Delivered", 100, 60, Outcome.WON, ForecastCategory.CLOSED, False),
            (6, "serviced", "Serviced", 100, 0, Outcome.WON, ForecastCategory.CLOSED, True),
            (7, "lost", "Lost", 0, 0, Outcome.LOST, ForecastCategory.OMITTED, False),
        ])

    def test_events(self):
        sellers = ("manager", "rep")
        got = {e.name: (e.sources, e.to, e.roles, e.guards) for e in self.pipeline.events}
        self.assertEqual(got, {
            "qualify": (("lead",), "qualified", sellers, ("has_customer",)),
            "quote": (("qualified",), "quoted", sellers, ("has_amount",)),
            "negotiate": (("quoted",), "negotiating", sellers, ()),
            "requote": (("negotiating",), "quoted", sellers, ("has_amount",)),
            "sign": (("negotiating",), "signed", sellers, ("has_amount",)),
            "deliver": (("signed",), "delivered", ("manager", "rep", "assistant"), ()),
            "service": (("delivered",), "serviced", ("manager", "assistant", "support"), ()),
            "lose": (("lead", "qualified", "quoted", "negotiating"), "lost", sellers,
                     ("has_reason",)),
            "reopen": (("lost",), "lead", ("manager",), ()),
        })
        self.assertEqual([e.index for e in self.pipeline.events], list(range(9)))

    def test_lookup_by_name(self):
        self.assertEqual(self.pipeline.stage("quoted").probability, 50)
        self.assertEqual(self.pipeline.event("reopen").to, "lead")
        self.assertSalesfsmError(salesfsm.NotFound, lambda: self.pipeline.stage("quoteed"),
                                 "quoteed")
        self.assertSalesfsmError(salesfsm.NotFound, lambda: self.pipeline.event("win"), "win")

    def test_repr(self):
        self.assertEqual(repr(self.pipeline), "<salesfsm.Pipeline 'default' v1>")


class CustomPipeline(unittest.TestCase):
    def test_from_json_fills_defaults(self):
        with salesfsm.Pipeline.from_json(TINY) as p:
            self.assertEqual((p.name, p.version, p.initial_stage), ("tiny", 3, "open"))
            self.assertEqual([(s.name, s.label, s.stale_days, s.forecast, s.final)
                              for s in p.stages],
                             [("open", "open", 7, ForecastCategory.PIPELINE, False),
                              ("won", "Won!", 0, ForecastCategory.CLOSED, True),
                              ("gone", "gone", 0, ForecastCategory.OMITTED, True)])
            self.assertEqual(p.event("drop").roles, ("rep", "boss"))  # table order
            self.assertEqual(p.event("win").guards, ("credit",))

    def test_from_bytes_and_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "tiny.json")
            with open(path, "w", encoding="utf-8") as f:
                f.write(TINY)
            with salesfsm.Pipeline.from_file(path) as a, \
                    salesfsm.Pipeline.from_json(TINY.encode()) as b:
                self.assertEqual(a.to_json(), b.to_json())

    def test_unregistered_guard_makes_only_its_event_unusable(self):
        with salesfsm.Pipeline.from_json(TINY) as p, salesfsm.Store.memory() as s, \
                salesfsm.Engine(p, s) as e:
            e.set_clock(lambda: 1)
            a = e.create("a")
            with self.assertRaises(salesfsm.NotFound) as cm:
                a.fire("win", actor="x", role="rep")
            self.assertIn("credit", str(cm.exception))
            self.assertEqual((a.stage, a.version), ("open", 1))
            self.assertEqual(a.available_events(actor="x", role="rep"), ["drop"])
            e.register_guard("credit", lambda t: True)
            a.fire("win", actor="x", role="rep")
            self.assertEqual(a.stage, "won")

    def test_invalid_definition_names_the_json_path(self):
        bad = TINY.replace('"to": "won"', '"to": "wonn"')
        with self.assertRaises(salesfsm.InvalidArgument) as cm:
            salesfsm.Pipeline.from_json(bad)
        self.assertIn("events[0].to", str(cm.exception))
        self.assertIn("wonn", str(cm.exception))


class Migrations(SalesfsmTestCase):
    """Version 2 of the default pipeline drops delivered and serviced."""

    def version_2(self, migrations):
        doc = json.loads(self.pipeline.to_json())
        doc["version"] = 2
        doc["stages"] = [s for s in doc["stages"] if s["name"] not in ("delivered", "serviced")]
        for stage in doc["stages"]:
            del stage["final"]  # signed becomes final: let the loader derive it
        doc["events"] = [e for e in doc["events"] if e["name"] not in ("deliver", "service")]
        if migrations is not None:
            doc["migrations"] = migrations
        p = salesfsm.Pipeline.from_json(json.dumps(doc))
        self.addCleanup(p.close)
        return p

    def setUp(self):
        super().setUp()
        for opp_id, until in (("L", "lead"), ("S", "signed"), ("D", "delivered"),
                              ("V", "serviced")):
            opp = self.create(opp_id, customer="c", amount=5, currency="CNY")
            if until != "lead":
                self.fire_path(opp, until=until)
        self.engine.close()

    def test_an_engine_refuses_a_store_it_cannot_read(self):
        p2 = self.version_2(None)
        with self.assertRaises(salesfsm.VersionError) as cm:
            salesfsm.Engine(p2, self.store)
        self.assertIn("'delivered' (1)", str(cm.exception))
        self.assertIn("'serviced' (1)", str(cm.exception))
        self.assertEqual(cm.exception.code, -12)

    def test_the_declared_migrations_can_be_looked_up(self):
        p2 = self.version_2([{"from_version": 1, "from": "delivered", "to": "signed"}])
        self.assertEqual(p2.migration(1, "delivered"), "signed")
        self.assertIsNone(p2.migration(1, "lead"))        # kept as it is
        self.assertIsNone(p2.migration(7, "delivered"))   # nothing declared for v7
        for bad in (-1, True, "1", 2**32):
            with self.assertRaises(salesfsm.InvalidArgument):
                p2.migration(bad, "delivered")

    def test_migrate_moves_every_opportunity(self):
        p2 = self.version_2([{"from_version": 1, "from": "delivered", "to": "signed"},
                             {"from_version": 1, "from": "serviced", "to": "signed"}])
        e2 = salesfsm.Engine(p2, self.store)
        self.addCleanup(e2.close)
        self.clock.install(e2)
        self.clock.advance(30 * DAY)
        moved = e2.migrate(actor="admin", role="manager")
        self.assertEqual([(m.id, m.from_version, m.from_stage, m.to_stage) for m in moved],
                         [("L", 1, "lead", "lead"), ("S", 1, "signed", "signed"),
                          ("D", 1, "delivered", "signed"), ("V", 1, "serviced", "signed")])
        self.assertEqual([(x.id, x.stage, x.version) for x in e2.scan()],
                         [("L", "lead", 2), ("S", "signed", 6), ("D", "signed", 7),
                          ("V", "signed", 8)])
        last = list(e2.history("V"))[-1]
        self.assertEqual((last.kind, last.from_stage, last.to_stage, last.actor, last.at_ms),
                         (salesfsm.HistoryKind.MIGRATE, "serviced", "signed", "admin",
                          self.clock.now))
        self.assertEqual(e2.migrate(), [])  # nothing left to move


if __name__ == "__main__":
    unittest.main()
