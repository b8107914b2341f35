"""JSON: pipeline definitions, opportunity export/import, pictures."""
import io
import json
import os
import tempfile
import unittest

import salesfsm

from support import DAY, MANAGER, REP, SalesfsmTestCase


class PipelineJson(unittest.TestCase):
    def test_default_round_trip_is_identical(self):
        with salesfsm.Pipeline.default() as p:
            text = p.to_json()
            with salesfsm.Pipeline.from_json(text) as again:
                self.assertEqual(again.to_json(), text)
                self.assertEqual(again.stages, p.stages)
                self.assertEqual(again.events, p.events)
                self.assertEqual(again.roles, p.roles)
            doc = json.loads(text)
        self.assertEqual((doc["format"], doc["format_version"], doc["name"], doc["version"]),
                         ("salesfsm-pipeline", 1, "default", 1))
        self.assertEqual([s["name"] for s in doc["stages"]],
                         ["lead", "qualified", "quoted", "negotiating", "signed", "delivered",
                          "serviced", "lost"])

    def test_custom_round_trip_is_identical(self):
        with salesfsm.Pipeline.default() as p:
            doc = json.loads(p.to_json())
        doc["name"], doc["version"] = "acme", 2
        doc["stages"][2]["label"] = "报价 Quoted"
        doc["events"][4]["guards"].append("credit_check")
        doc["migrations"] = [{"from_version": 1, "from": "delivered", "to": "signed"}]
        with salesfsm.Pipeline.from_json(json.dumps(doc, ensure_ascii=False)) as p:
            text = p.to_json()
            self.assertEqual((p.name, p.version), ("acme", 2))
            self.assertEqual(p.stage("quoted").label, "报价 Quoted")
            with salesfsm.Pipeline.from_json(text) as again:
                self.assertEqual(again.to_json(), text)
        self.assertEqual(json.loads(text)["migrations"],
                         [{"from_version": 1, "from": "delivered", "to": "signed"}])

    def test_pictures_name_every_stage(self):
        with salesfsm.Pipeline.default() as p:
            dot, mermaid = p.to_dot(), p.to_mermaid()
            for stage in p.stages:
                # DOT names each node by the stage name; both show the label
                # (pipeline.h: "nodes showing label and win probability").
                self.assertIn(f'"{stage.name}" [label="{stage.label}', dot)
                self.assertIn(f'"{stage.label}<br/>{stage.probability} %"', mermaid)
            for event in p.events:
                self.assertIn(event.name, dot)
                self.assertIn(event.name, mermaid)
        self.assertRegex(dot, r"^\s*digraph")
        self.assertRegex(mermaid, r"^\s*(flowchart|graph|stateDiagram)")


class OpportunityJson(SalesfsmTestCase):
    def setUp(self):
        super().setUp()
        a = self.create("A", customer="ACME", owner="li", amount=12_000_000, currency="CNY",
                        title='quote "urgent"\nline two', expected_close=self.clock.now + 30 * DAY,
                        actor="Li Wei", role="rep")
        a.attrs.update({"region": "east", "z-key": "", "tier": "gold"})
        self.clock.advance(DAY)
        a.save(note="attrs from the CRM", **REP)
        self.fire_path(a, until="delivered")
        b = self.create("B", customer="Bolt")
        self.clock.advance(DAY)
        b.fire("lose", note="no budget", **REP)
        b.fire("reopen", **MANAGER)
        self.create("C")

    def sqlite_engine(self):
        tmp = tempfile.TemporaryDirectory(prefix="salesfsm-json-")
        self.addCleanup(tmp.cleanup)
        store = salesfsm.Store.sqlite(os.path.join(tmp.name, "copy.db"), synchronous="off")
        self.addCleanup(store.close)
        return self.new_engine(store)

    def test_export_memory_import_sqlite_export_again_is_identical(self):
        doc = self.engine.export_json()
        other = self.sqlite_engine()
        self.assertEqual(other.import_json(doc), 3)
        self.assertEqual(other.export_json(), doc)
        for opp_id in "ABC":
            with self.engine.open(opp_id) as mine, other.open(opp_id) as theirs:
                self.assertEqual(mine.info(), theirs.info())
            self.assertEqual(list(self.engine.history(opp_id)), list(other.history(opp_id)))

    def test_document_shape(self):
        doc = json.loads(self.engine.export_json())
        self.assertEqual((doc["format"], doc["version"]), ("salesfsm-opportunities", 1))
        self.assertEqual([o["id"] for o in doc["opportunities"]], ["A", "B", "C"])
        a = doc["opportunities"][0]
        self.assertEqual((a["stage"], a["version"], a["amount"], a["currency"]),
                         ("delivered", 7, 12_000_000, "CNY"))
        self.assertEqual(a["attrs"], {"region": "east", "tier": "gold", "z-key": ""})
        self.assertEqual([h["kind"] for h in a["history"]],
                         ["create", "update"] + ["transition"] * 5)
        self.assertEqual(a["history"][1]["note"], "attrs from the CRM")
        self.assertEqual(a["title"], 'quote "urgent"\nline two')

    def test_streaming_equals_the_string(self):
        whole = self.engine.export_json()
        buf = io.StringIO()
        self.assertIsNone(self.engine.export_json(file=buf))
        self.assertEqual(buf.getvalue(), whole)
        buf = io.StringIO()
        self.engine.export_json(file=buf, stage="lead")
        self.assertEqual(buf.getvalue(), self.engine.export_json(stage="lead"))
        self.assertEqual([o["id"] for o in json.loads(buf.getvalue())["opportunities"]],
                         ["B", "C"])

    def test_export_filters(self):
        def ids(**f):
            return [o["id"] for o in json.loads(self.engine.export_json(**f))["opportunities"]]
        self.assertEqual(ids(owner="li"), ["A"])
        self.assertEqual(ids(customer="Bolt"), ["B"])
        self.assertEqual(ids(stage="serviced"), [])
        self.assertEqual(ids(changed_since=self.clock.now), ["B", "C"])
        with self.assertRaises(salesfsm.NotFound):
            self.engine.export_json(stage="won")

    def test_a_failing_writer_stops_the_export(self):
        class Full(io.StringIO):
            def write(self, s):
                if self.tell() > 100:
                    raise OSError("disk full")
                return super().write(s)

        with self.assertRaises(OSError) as cm:
            self.engine.export_json(file=Full())
        self.assertEqual(str(cm.exception), "disk full")

    def test_malformed_import_is_a_parse_error_and_imports_nothing(self):
        other = self.sqlite_engine()
        doc = self.engine.export_json()
        for bad in (doc[:-20], doc.replace('"history"', '"histroy"', 1), "{", "[]"):
            with self.assertRaises(salesfsm.ParseError):
                other.import_json(bad)
            self.assertEqual(self.ids(other), [])

    def test_import_is_all_or_nothing(self):
        other = self.sqlite_engine()
        doc = json.loads(self.engine.export_json())
        doc["opportunities"][2]["history"][0]["role"] = "boss"  # the last one is bad
        exc = self.assertSalesfsmError(salesfsm.InvalidArgument,
                                       lambda: other.import_json(json.dumps(doc)),
                                       "opportunities[2]", "boss")
        self.assertIsNotNone(exc)
        self.assertEqual(self.ids(other), [])
        other.create("B")
        with self.assertRaises(salesfsm.AlreadyExists):
            other.import_json(self.engine.export_json())
        self.assertEqual(self.ids(other), ["B"])

    def test_bytes_and_empty_documents(self):
        other = self.sqlite_engine()
        empty = other.export_json()
        self.assertEqual(json.loads(empty)["opportunities"], [])
        self.assertEqual(other.import_json(empty), 0)
        self.assertEqual(other.import_json(self.engine.export_json().encode("utf-8")), 3)

    def test_amount_limit_is_2_53_minus_1_everywhere(self):
        limit = 2 ** 53 - 1
        for make in (lambda: self.create("BIG", amount=limit + 1, currency="USD"),
                     lambda: self.create("BIG2").set_amount(limit + 1, "USD")):
            self.assertSalesfsmError(salesfsm.InvalidArgument, make, str(limit + 1), str(limit))
        self.assertNotIn("BIG", self.ids())
        self.create("MAX", amount=limit, currency="USD")
        other = self.sqlite_engine()
        other.import_json(self.engine.export_json(stage="lead"))
        self.assertEqual(other.export_json(stage="lead"), self.engine.export_json(stage="lead"))

    def test_another_pipelines_document_is_refused(self):
        other = self.sqlite_engine()
        doc = json.loads(self.engine.export_json())
        doc["opportunities"][1]["pipeline"] = "renewals"
        self.assertSalesfsmError(salesfsm.InvalidArgument, lambda: other.import_json(json.dumps(doc)),
                                 "opportunities[1].pipeline", "'renewals'", "'default'")
        self.assertEqual(self.ids(other), [])


if __name__ == "__main__":
    unittest.main()
