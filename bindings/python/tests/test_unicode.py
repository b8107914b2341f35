"""Text: Chinese, emoji and combining marks round-trip; invalid and oversize text is refused."""
import json
import os
import tempfile
import unittest

import salesfsm
from salesfsm import Period

from support import (DAY, REP, MemoryStoreMixin, SalesfsmTestCase, SqliteStoreMixin)

CUSTOMER = "华东机械有限公司 🏭"
OWNER = "李伟 (Lǐ Wěi) 👩‍💼"
TITLE = "Café e\u0301 — ERP 升级 🚀 Z\u0301\u0327"     # precomposed and combining forms
NOTE = "原因：预算冻结 🚫\n第二行\t\"引号\""
ATTRS = {"区域": "华东 🌏", "emoji🔑": "ñ n\u0303", "plain": "x"}
ACTOR = "张敏 ✅"


class UnicodeTests:
    def make(self, opp_id="单-1"):
        opp = self.create(opp_id, customer=CUSTOMER, owner=OWNER, title=TITLE, amount=100,
                          currency="CNY", actor=ACTOR, role="rep")
        for k, v in ATTRS.items():
            opp.attrs[k] = v
        self.clock.advance(DAY)
        opp.fire("qualify", actor=ACTOR, role="rep", note=NOTE)
        return opp

    def check(self, engine, opp_id="单-1"):
        with engine.open(opp_id) as opp:
            self.assertEqual((opp.id, opp.customer, opp.owner, opp.title),
                             (opp_id, CUSTOMER, OWNER, TITLE))
            self.assertEqual(dict(opp.attrs), ATTRS)
        history = list(engine.history(opp_id))
        self.assertEqual((history[0].actor, history[0].changes["customer"],
                          history[0].changes["title"]), (ACTOR, CUSTOMER, TITLE))
        self.assertEqual((history[1].actor, history[1].note, history[1].changes["attrs"]),
                         (ACTOR, NOTE, ATTRS))

    def test_round_trip_through_the_store(self):
        self.make()
        self.check(self.engine)
        self.engine.close()
        self.store = self.reopen_store(self.store)
        self.check(self.new_engine())

    def test_filters_and_reports_match_exact_text(self):
        self.make()
        nfc = self.create("nfc", customer="é")
        nfd = self.create("nfd", customer="e\u0301")  # looks the same, other bytes
        self.assertEqual(self.ids(customer="é"), [nfc.id])
        self.assertEqual(self.ids(customer="e\u0301"), [nfd.id])
        self.assertEqual(self.ids(owner=OWNER), ["单-1"])
        rows = self.engine.report("pipeline", owner=OWNER).records()
        self.assertEqual(rows, [{"stage": "qualified", "currency": "CNY", "count": 1,
                                 "amount": 100, "weighted": 25}])
        self.engine.set_team(OWNER, "华东队")
        self.engine.set_target("华东队", Period.quarter(2026, 1), 100, "CNY", kind="team")
        self.assertEqual([(m.owner, m.team) for m in self.engine.teams()], [(OWNER, "华东队")])
        self.assertEqual(self.engine.targets("华东队", kind="team")[0].subject, "华东队")

    def test_round_trip_through_json(self):
        self.make()
        doc = self.engine.export_json()
        self.assertIn(CUSTOMER, doc)  # written as UTF-8, not \\u escapes
        self.assertIn("单-1", doc)
        self.assertEqual(json.loads(doc)["opportunities"][0]["attrs"], ATTRS)
        with tempfile.TemporaryDirectory() as d, \
                salesfsm.Store.sqlite(os.path.join(d, "u.db"), synchronous="off") as store:
            other = self.new_engine(store)
            self.assertEqual(other.import_json(doc), 1)
            self.check(other)
            self.assertEqual(other.export_json(), doc)
            # \\u escapes on input decode to the same text.
            escaped = json.dumps(json.loads(doc), ensure_ascii=True)
            with salesfsm.Store.memory() as third_store:
                third = self.new_engine(third_store)
                self.assertEqual(third.import_json(escaped), 1)
                self.assertEqual(third.export_json(), doc)

    def test_lone_surrogate_is_refused_naming_the_field(self):
        opp = self.make()
        bad = "ok\ud800"
        cases = {
            "id": lambda: self.engine.create(bad),
            "customer": lambda: self.engine.create("N", customer=bad),
            "title": lambda: setattr(opp, "title", bad),
            "owner": lambda: setattr(opp, "owner", bad),
            "attribute": lambda: opp.attrs.__setitem__("k", bad),
            "attribute key": lambda: opp.attrs.__setitem__(bad, "v"),
            "note": lambda: opp.fire("lose", note=bad, **REP),
            "actor": lambda: opp.fire("lose", actor=bad, role="rep", note="x"),
            "event": lambda: opp.fire(bad, **REP),
            "team": lambda: self.engine.set_team("li", bad),
            "subject": lambda: self.engine.set_target(bad, Period.of_year(2026), 1, "CNY"),
            "JSON document": lambda: self.engine.import_json('{"x": "' + bad + '"}'),
            "pipeline JSON": lambda: salesfsm.Pipeline.from_json('{"name": "' + bad + '"}'),
        }
        for field, fn in cases.items():
            with self.subTest(field):
                with self.assertRaises(salesfsm.InvalidArgument) as cm:
                    fn()
                self.assertIn(field, str(cm.exception))
                self.assertEqual(cm.exception.code, -1)
        self.assertEqual((opp.title, opp.owner, dict(opp.attrs), opp.unsaved),
                         (TITLE, OWNER, ATTRS, frozenset()))
        self.assertEqual(self.state("单-1"), ("qualified", 2, 2))
        self.assertEqual(self.ids(), ["单-1"])
        self.assertEqual(self.engine.teams(), [])

    def test_embedded_nul_is_refused_not_truncated(self):
        opp = self.make()
        cases = {
            "id": lambda: self.engine.create("N1\x00X"),
            "customer": lambda: self.engine.create("N2", customer="ACME\x00 Ltd"),
            "title": lambda: setattr(opp, "title", "t\x00u"),
            "attribute key": lambda: opp.attrs.__setitem__("k\x00", "v"),
            "note": lambda: opp.fire("lose", note="a\x00b", **REP),
        }
        for field, fn in cases.items():
            with self.subTest(field):
                with self.assertRaises(salesfsm.InvalidArgument) as cm:
                    fn()
                self.assertIn(field, str(cm.exception))
        with self.subTest("open"):
            # "单-1\0anything" must not open "单-1".
            with self.assertRaises((salesfsm.InvalidArgument, salesfsm.NotFound)):
                self.engine.open("单-1\x00anything").close()
        with self.subTest("sqlite path"), tempfile.TemporaryDirectory() as d:
            # Must not open (and create) ".../n.db" instead.
            with self.assertRaises(ValueError):
                salesfsm.Store.sqlite(os.path.join(d, "n.db\x00.bak")).close()
            self.assertEqual(os.listdir(d), [])
        self.assertEqual(self.ids(), ["单-1"])
        self.assertEqual((opp.title, dict(opp.attrs)), (TITLE, ATTRS))
        self.assertEqual(self.state("单-1"), ("qualified", 2, 2))

    def test_size_limits_count_utf8_bytes(self):
        opp = self.create("S")
        ok_text = {"4096 ascii": "a" * 4096, "1365 Chinese = 4095 bytes": "汉" * 1365,
                   "1024 emoji = 4096 bytes": "🚀" * 1024}
        too_long = {"4097 ascii": "a" * 4097, "1366 Chinese = 4098 bytes": "汉" * 1366,
                    "1025 emoji = 4100 bytes": "🚀" * 1025}
        for label, text in ok_text.items():
            with self.subTest(label):
                opp.customer = text
                opp.attrs["v"] = text
                opp.save()
                with self.engine.open("S") as again:
                    self.assertEqual((again.customer, again.attrs["v"]), (text, text))
        version = opp.version
        for label, text in too_long.items():
            for field, fn in (("customer", lambda: setattr(opp, "customer", text)),
                              ("title", lambda: self.engine.create("T", title=text)),
                              ("owner", lambda: setattr(opp, "owner", text)),
                              ("attribute", lambda: opp.attrs.__setitem__("v", text)),
                              ("note", lambda: opp.fire("lose", note=text, **REP))):
                with self.subTest(f"{field}: {label}"):
                    with self.assertRaises(salesfsm.InvalidArgument) as cm:
                        fn()
                    self.assertIn(field, str(cm.exception))
                    self.assertIn("4096", str(cm.exception))
        self.assertEqual((opp.version, opp.unsaved), (version, frozenset()))
        self.assertEqual(self.ids(), ["S"])

    def test_id_and_name_limits(self):
        self.assertEqual(self.create("i" * 128).id, "i" * 128)
        self.assertEqual(self.create("汉" * 42).id, "汉" * 42)  # 126 bytes
        opp = self.create("N", customer="c")
        for label, fn, field in (
                ("id 129 bytes", lambda: self.engine.create("i" * 129), "id"),
                ("id 43 Chinese = 129 bytes", lambda: self.engine.create("汉" * 43), "id"),
                ("attribute key 129 bytes", lambda: opp.attrs.__setitem__("k" * 129, "v"),
                 "attribute key"),
                ("actor 129 bytes", lambda: opp.fire("qualify", actor="a" * 129, role="rep"),
                 "actor"),
                ("team 129 bytes", lambda: self.engine.set_team("li", "t" * 129), "team")):
            with self.subTest(label):
                with self.assertRaises(salesfsm.InvalidArgument) as cm:
                    fn()
                self.assertIn(field, str(cm.exception))
                self.assertIn("128", str(cm.exception))
        self.assertEqual(self.state("N"), ("lead", 1, 1))
        self.assertEqual(len(self.ids()), 3)


class MemoryUnicode(MemoryStoreMixin, UnicodeTests, SalesfsmTestCase):
    pass


class SqliteUnicode(SqliteStoreMixin, UnicodeTests, SalesfsmTestCase):
    pass


if __name__ == "__main__":
    unittest.main()
