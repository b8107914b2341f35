"""An opportunity's whole life, run once on a memory store and once on SQLite."""
import datetime
import unittest

import salesfsm
from salesfsm import HistoryKind

from support import (ASSISTANT, DAY, HAPPY_PATH, MANAGER, REP, SUPPORT, T0, MemoryStoreMixin,
                     SalesfsmTestCase, SqliteStoreMixin)

CREATE_FIELDS = dict(customer="ACME", owner="li", amount=12_000_000, currency="CNY",
                     title="ERP rollout", expected_close=T0 + 60 * DAY)


class LifecycleTests:
    """Mixed with a store mixin and SalesfsmTestCase below."""

    def test_create_sets_every_property(self):
        opp = self.create("OPP-1", actor="Li Wei", role="rep", **CREATE_FIELDS)
        self.assertEqual(opp.id, "OPP-1")
        self.assertEqual(opp.stage, "lead")
        self.assertEqual(opp.version, 1)
        self.assertEqual((opp.amount, opp.currency), (12_000_000, "CNY"))
        self.assertEqual((opp.customer, opp.owner, opp.title), ("ACME", "li", "ERP rollout"))
        self.assertEqual(opp.expected_close, T0 + 60 * DAY)
        self.assertEqual((opp.created, opp.updated, opp.stage_entered), (T0, T0, T0))
        self.assertEqual(opp.probability, 10)
        self.assertEqual(dict(opp.attrs), {})
        self.assertEqual(opp.unsaved, frozenset())
        [entry] = list(opp.history())
        self.assertEqual(entry, salesfsm.HistoryEntry(
            version=1, at_ms=T0, kind=HistoryKind.CREATE, event=None, from_stage=None,
            to_stage="lead", actor="Li Wei", role="rep", note=None,
            fields=frozenset({"amount", "customer", "owner", "title", "expected_close"}),
            changes={"amount": 12_000_000, "currency": "CNY", "customer": "ACME", "owner": "li",
                     "title": "ERP rollout", "expected_close_ms": T0 + 60 * DAY}))

    def test_create_without_fields_or_id(self):
        opp = self.create()
        self.assertRegex(opp.id, r"^[0-9a-f]{32}$")
        self.assertEqual((opp.customer, opp.owner, opp.title, opp.currency), (None,) * 4)
        self.assertEqual((opp.amount, opp.expected_close), (0, 0))
        [entry] = list(opp.history())
        self.assertEqual((entry.actor, entry.role, entry.fields, entry.changes),
                         (None, None, frozenset(), None))
        self.assertNotEqual(self.create().id, opp.id)

    def test_full_lifecycle_to_serviced(self):
        opp = self.create("OPP-1", **CREATE_FIELDS)
        opp.attrs["region"] = "east"
        self.assertEqual(opp.unsaved, frozenset({"attrs"}))
        probability = {s.name: s.probability for s in self.pipeline.stages}
        version = 1
        for i, (event, who, to) in enumerate(HAPPY_PATH):
            now = self.clock.advance(DAY)
            opp.fire(event, note=f"step {i}", **who)
            version += 1
            self.assertEqual((opp.stage, opp.version), (to, version))
            self.assertEqual((opp.updated, opp.stage_entered, opp.created), (now, now, T0))
            self.assertEqual(opp.probability, probability[to])
            self.assertEqual(opp.unsaved, frozenset())
            self.assertEqual(self.state("OPP-1"), (to, version, version))
        self.assertEqual(opp.attrs["region"], "east")
        history = list(opp.history())
        self.assertEqual([h.version for h in history], list(range(1, 8)))
        self.assertEqual([h.kind for h in history],
                         [HistoryKind.CREATE] + [HistoryKind.TRANSITION] * 6)
        self.assertEqual([(h.event, h.from_stage, h.to_stage) for h in history[1:]],
                         [("qualify", "lead", "qualified"), ("quote", "qualified", "quoted"),
                          ("negotiate", "quoted", "negotiating"), ("sign", "negotiating", "signed"),
                          ("deliver", "signed", "delivered"), ("service", "delivered", "serviced")])
        self.assertEqual([(h.actor, h.role) for h in history[1:]],
                         [(REP["actor"], "rep")] * 3 + [(MANAGER["actor"], "manager"),
                                                        (ASSISTANT["actor"], "assistant"),
                                                        (SUPPORT["actor"], "support")])
        self.assertEqual([h.note for h in history[1:]], [f"step {i}" for i in range(6)])
        self.assertEqual([h.at_ms for h in history], [T0 + i * DAY for i in range(7)])
        # The attribute set before the first fire was stored with it.
        self.assertEqual((history[1].fields, history[1].changes),
                         (frozenset({"attrs"}), {"attrs": {"region": "east"}}))
        self.assertTrue(all(h.fields == frozenset() and h.changes is None for h in history[2:]))
        self.assertEqual(opp.available_events(**MANAGER), [])
        self.assertEqual(list(self.engine.history("OPP-1")), history)

    def test_requote_goes_back_to_quoted(self):
        opp = self.create("R", **CREATE_FIELDS)
        self.fire_path(opp, until="negotiating")
        opp.set_amount(11_000_000, "CNY")
        opp.fire("requote", **REP)
        self.assertEqual((opp.stage, opp.amount, opp.version), ("quoted", 11_000_000, 5))
        last = list(opp.history())[-1]
        self.assertEqual((last.event, last.from_stage, last.to_stage),
                         ("requote", "negotiating", "quoted"))
        self.assertEqual(last.changes, {"amount": 11_000_000, "currency": "CNY"})

    def test_save_stores_unsaved_fields_with_one_update_entry(self):
        opp = self.create("S", **CREATE_FIELDS)
        self.clock.advance(DAY)
        opp.set_amount(15_000_000, "USD")
        opp.title = "ERP v2"
        opp.owner = None
        opp.expected_close = T0 + 90 * DAY
        opp.attrs["tier"] = "gold"
        self.assertEqual(opp.unsaved,
                         frozenset({"amount", "title", "owner", "expected_close", "attrs"}))
        self.assertEqual(self.state("S"), ("lead", 1, 1))  # only the handle changed
        opp.save(note="re-scoped", **MANAGER)
        self.assertEqual((opp.version, opp.stage, opp.unsaved), (2, "lead", frozenset()))
        self.assertEqual((opp.updated, opp.stage_entered), (T0 + DAY, T0))
        entry = list(opp.history())[-1]
        self.assertEqual((entry.kind, entry.event, entry.from_stage, entry.to_stage),
                         (HistoryKind.UPDATE, None, "lead", "lead"))
        self.assertEqual((entry.actor, entry.role, entry.note),
                         (MANAGER["actor"], "manager", "re-scoped"))
        self.assertEqual(entry.fields,
                         frozenset({"amount", "title", "owner", "expected_close", "attrs"}))
        self.assertEqual(entry.changes, {"amount": 15_000_000, "currency": "USD", "owner": None,
                                         "title": "ERP v2", "expected_close_ms": T0 + 90 * DAY,
                                         "attrs": {"tier": "gold"}})
        with self.engine.open("S") as other:
            self.assertEqual(other.info(), opp.info())
        opp.save()  # nothing to store: no entry, no new version
        self.assertEqual(self.state("S"), ("lead", 2, 2))

    def test_reload_drops_unsaved_changes_and_sees_others(self):
        opp = self.create("L", **CREATE_FIELDS)
        other = self.engine.open("L")
        self.addCleanup(other.close)
        other.fire("qualify", **REP)
        opp.title = "scratch"
        opp.reload()
        self.assertEqual((opp.stage, opp.version, opp.title, opp.unsaved),
                         ("qualified", 2, "ERP rollout", frozenset()))
        opp.fire("quote", **REP)  # the reloaded handle is current: no conflict
        self.assertEqual(self.state("L"), ("quoted", 3, 3))

    def test_amount_setter_keeps_the_currency(self):
        opp = self.create("AM")
        with self.assertRaises(salesfsm.InvalidArgument):
            opp.amount = 500  # no currency to keep
        self.assertEqual((opp.amount, opp.unsaved), (0, frozenset()))
        opp.set_amount(500, "EUR")
        opp.amount = 700
        self.assertEqual((opp.amount, opp.currency), (700, "EUR"))
        opp.save()
        with self.engine.open("AM") as again:
            self.assertEqual((again.amount, again.currency), (700, "EUR"))

    def test_times_accept_ms_aware_datetimes_and_dates(self):
        # periods.py: "Where the bindings take a time they accept that int, or a
        # timezone-aware datetime, or a date (its midnight, UTC)."
        when = datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc)
        ms = salesfsm.to_ms(when, "when")
        opp = self.create("TM", expected_close=when)
        self.assertEqual(opp.expected_close, ms)
        for value in (ms, when, when.date()):
            with self.subTest(type(value).__name__):
                opp.expected_close = 0
                opp.expected_close = value
                self.assertEqual(opp.expected_close, ms)
        with self.assertRaises(salesfsm.InvalidArgument):
            opp.expected_close = datetime.datetime(2026, 3, 1)  # naive: refused
        self.assertEqual(self.ids(changed_since=datetime.date(2026, 1, 5)), ["TM"])
        self.assertEqual(self.ids(changed_since=datetime.date(2026, 1, 6)), [])

    def test_attributes_mapping(self):
        opp = self.create("M")
        opp.attrs.update({"b": "2", "a": "1"})
        self.assertEqual(list(opp.attrs), ["a", "b"])  # sorted by key
        self.assertEqual(len(opp.attrs), 2)
        self.assertIn("a", opp.attrs)
        del opp.attrs["a"]
        with self.assertRaises(KeyError):
            opp.attrs["a"]
        with self.assertRaises(KeyError):
            del opp.attrs["a"]
        opp.save()
        with self.engine.open("M") as again:
            self.assertEqual(dict(again.attrs), {"b": "2"})

    def test_scan_with_each_filter(self):
        # Ids in reverse alphabetical order: a scan lists in creation order.
        z = self.create("z", owner="li", customer="ACME")
        self.clock.advance(DAY)
        y = self.create("y", owner="li", customer="Bolt")
        y.fire("qualify", **REP)
        self.clock.advance(DAY)
        x = self.create("x", owner="wang", customer="ACME")
        x.fire("qualify", **REP)
        self.clock.advance(DAY)
        w = self.create("w", owner="wang", customer="Dyn")
        self.clock.advance(DAY)
        z.title = "touched"
        z.save()  # z changed last
        self.assertEqual(self.ids(), ["z", "y", "x", "w"])
        self.assertEqual(self.ids(stage="qualified"), ["y", "x"])
        self.assertEqual(self.ids(stage="lead"), ["z", "w"])
        self.assertEqual(self.ids(owner="li"), ["z", "y"])
        self.assertEqual(self.ids(customer="ACME"), ["z", "x"])
        self.assertEqual(self.ids(changed_since=T0 + 2 * DAY), ["z", "x", "w"])
        self.assertEqual(self.ids(changed_since=T0 + 4 * DAY), ["z"])
        self.assertEqual(self.ids(stage="qualified", owner="wang"), ["x"])
        self.assertEqual(self.ids(stage="lead", owner="li", customer="ACME"), ["z"])
        self.assertEqual(self.ids(stage="serviced"), [])
        self.assertEqual(self.ids(owner="nobody"), [])
        [info] = self.engine.scan(customer="Dyn")
        self.assertEqual(info, w.info())
        self.assertEqual(info.stage, "lead")
        self.assertSalesfsmError(salesfsm.NotFound, lambda: list(self.engine.scan(stage="won")),
                                 "won")

    def test_available_events_follow_stage_role_and_guards(self):
        opp = self.create("E")
        self.assertEqual(opp.available_events(**REP), ["lose"])  # no customer yet
        opp.customer = "ACME"
        self.assertEqual(opp.available_events(**REP), ["qualify", "lose"])
        self.assertEqual(opp.available_events(**MANAGER), ["qualify", "lose"])
        self.assertEqual(opp.available_events(**ASSISTANT), [])
        self.assertEqual(opp.available_events(**SUPPORT), [])
        opp.fire("qualify", **REP)
        self.assertEqual(opp.available_events(**REP), ["lose"])  # quote needs an amount
        opp.set_amount(100, "EUR")
        self.assertEqual(opp.available_events(**REP), ["quote", "lose"])
        opp.fire("quote", **REP)
        opp.fire("negotiate", **REP)
        self.assertEqual(opp.available_events(**REP), ["requote", "sign", "lose"])
        opp.fire("sign", **REP)
        self.assertEqual(opp.available_events(**ASSISTANT), ["deliver"])
        self.assertEqual(opp.available_events(**SUPPORT), [])
        opp.fire("deliver", **ASSISTANT)
        self.assertEqual(opp.available_events(**SUPPORT), ["service"])
        self.assertEqual(opp.available_events(**REP), [])
        self.assertEqual(self.engine.available_events(opp, **ASSISTANT), ["service"])
        self.assertSalesfsmError(salesfsm.NotFound,
                                 lambda: opp.available_events(actor="x", role="boss"), "boss")

    def test_lose_with_a_reason_then_reopen(self):
        opp = self.create("LOST", **CREATE_FIELDS)
        self.fire_path(opp, until="quoted")
        for note in (None, "", "   "):
            self.assertSalesfsmError(salesfsm.GuardRefused,
                                     lambda: opp.fire("lose", note=note, **REP), "has_reason")
            self.assertEqual((opp.stage, opp.version), ("quoted", 3))
        self.assertIn("lose", opp.available_events(**REP))  # has_reason is not consulted
        now = self.clock.advance(DAY)
        opp.fire("lose", note="budget cut", **REP)
        self.assertEqual((opp.stage, opp.version, opp.probability, opp.stage_entered),
                         ("lost", 4, 0, now))
        self.assertEqual(opp.available_events(**REP), [])
        self.assertEqual(opp.available_events(**MANAGER), ["reopen"])
        self.assertSalesfsmError(salesfsm.PermissionDenied,
                                 lambda: opp.fire("reopen", **REP), "rep", "reopen")
        opp.fire("reopen", note="budget is back", **MANAGER)
        self.assertEqual((opp.stage, opp.version), ("lead", 5))
        tail = list(opp.history())[-2:]
        self.assertEqual([(h.event, h.from_stage, h.to_stage, h.note, h.role) for h in tail],
                         [("lose", "quoted", "lost", "budget cut", "rep"),
                          ("reopen", "lost", "lead", "budget is back", "manager")])
        self.fire_path(opp)  # and it can still be won
        self.assertEqual((opp.stage, opp.version), ("serviced", 11))

    def test_data_survives_reopening_the_store(self):
        opp = self.create("P", **CREATE_FIELDS)
        opp.attrs["region"] = "east"
        self.fire_path(opp, until="signed")
        info, history = opp.info(), list(opp.history())
        opp.close()
        self.engine.close()
        self.store = self.reopen_store(self.store)
        engine = self.new_engine()
        with engine.open("P") as again:
            self.assertEqual(again.info(), info)
            self.assertEqual(list(again.history()), history)
            again.fire("deliver", **ASSISTANT)
            self.assertEqual(again.version, info.version + 1)


class MemoryLifecycle(MemoryStoreMixin, LifecycleTests, SalesfsmTestCase):
    pass


class SqliteLifecycle(SqliteStoreMixin, LifecycleTests, SalesfsmTestCase):
    pass


if __name__ == "__main__":
    unittest.main()
