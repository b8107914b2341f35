"""Reports on a small data set with exact, hand-computed values (docs/reports.md).

The data, all created at T0 = 2026-01-05 and expected to close on T0+60d (2026-Q1):

  id  owner  amount      path (day of each event after T0)
  A   li     1000.00 CNY qualify 1, quote 3, negotiate 6, sign 10, deliver 15; paid 400.00 on 15
  B   li      500.00 CNY qualify 1, quote 3                      (open, quoted since day 3)
  C   wang    300.00 USD qualify 1, quote 3, negotiate 6, sign 10
  D   wang    200.00 CNY qualify 1, lose 10
  E   wang    700.00 USD qualify 1, quote 3, negotiate 6        (open, negotiating since day 6)

li and wang are in team East. The reports run at T0+45d.
"""
import datetime
import json
import unittest

import salesfsm
from salesfsm import Period

from support import ASSISTANT, DAY, MANAGER, REP, T0, SalesfsmTestCase, SqliteStoreMixin

Q1 = Period.quarter(2026, 1)


class ReportData:
    def setUp(self):
        super().setUp()
        close = T0 + 60 * DAY
        e = self.engine
        specs = [("A", "li", "Acme", 100_000, "CNY"), ("B", "li", "Bolt", 50_000, "CNY"),
                 ("C", "wang", "Corp", 30_000, "USD"), ("D", "wang", "Dyn", 20_000, "CNY"),
                 ("E", "wang", "Eco", 70_000, "USD")]
        o = {i: self.create(i, owner=w, customer=c, amount=a, currency=cur, expected_close=close)
             for i, w, c, a, cur in specs}

        def at(day, opp, event, who=REP, note=None):
            self.clock.t[0] = T0 + day * DAY
            o[opp].fire(event, note=note, **who)

        for x in "ABCDE":
            at(1, x, "qualify")
        for x in "ABCE":
            at(3, x, "quote")
        for x in "ACE":
            at(6, x, "negotiate")
        at(10, "A", "sign", MANAGER)
        at(10, "C", "sign", MANAGER)
        at(10, "D", "lose", note="budget")
        at(15, "A", "deliver", ASSISTANT)
        o["A"].add_payment(40_000, note="deposit")
        e.set_team("li", "East")
        e.set_team("wang", "East")
        e.set_target("li", Q1, 200_000, "CNY")
        e.set_target("East", Q1, 300_000, "CNY", kind="team")
        e.set_target("wang", Q1, 0, "USD")
        self.clock.t[0] = T0 + 45 * DAY

    def rows(self, kind, **kw):
        report = self.engine.report(kind, **kw)
        self.assertEqual(report.name, kind)
        self.assertAgrees(report)
        return [tuple(r) for r in report.rows]

    def assertAgrees(self, report):
        """rows, records(), column(), to_json() and as_dict() say the same."""
        as_dict = report.as_dict()
        self.assertEqual(json.loads(report.to_json()), as_dict)
        self.assertEqual(as_dict["report"], report.name)
        self.assertEqual(as_dict["columns"], list(report.columns))
        self.assertEqual(as_dict["rows"], [list(r) for r in report.rows])
        self.assertEqual(report.records(), [dict(zip(report.columns, r)) for r in report.rows])
        self.assertEqual(len(report), len(report.rows))
        for i, name in enumerate(report.columns):
            self.assertEqual(report.column(name), [r[i] for r in report.rows])

    def test_pipeline(self):
        expected = [("quoted", "CNY", 1, 50_000, 25_000),
                    ("negotiating", "USD", 1, 70_000, 52_500),
                    ("signed", "USD", 1, 30_000, 30_000),
                    ("delivered", "CNY", 1, 100_000, 100_000),
                    ("lost", "CNY", 1, 20_000, 0)]
        report = self.engine.report("pipeline", period=Q1)
        self.assertEqual(report.columns, ("stage", "currency", "count", "amount", "weighted"))
        self.assertEqual(self.rows("pipeline", period=Q1), expected)
        self.assertEqual(self.rows("pipeline"), expected)
        self.assertEqual(self.rows("pipeline", period=Period.quarter(2026, 2)), [])
        self.assertEqual(self.rows("pipeline", owner="li"),
                         [("quoted", "CNY", 1, 50_000, 25_000),
                          ("delivered", "CNY", 1, 100_000, 100_000)])
        self.assertEqual(self.rows("pipeline", customer="Dyn"), [("lost", "CNY", 1, 20_000, 0)])
        self.assertEqual(self.rows("pipeline", team="East"), expected)
        # As the data stood on day 2: all five qualified.
        self.assertEqual(self.rows("pipeline", as_of=T0 + 2 * DAY),
                         [("qualified", "CNY", 3, 170_000, 42_500),
                          ("qualified", "USD", 2, 100_000, 25_000)])

    def test_forecast(self):
        report = self.engine.report("forecast", period=Q1)
        self.assertEqual(report.columns, ("category", "currency", "count", "amount", "weighted"))
        self.assertEqual(self.rows("forecast", period=Q1), [
            ("closed", "CNY", 1, 100_000, 100_000),
            ("closed", "USD", 1, 30_000, 30_000),
            ("best_case", "CNY", 1, 50_000, 25_000),
            ("commit", "USD", 1, 70_000, 52_500),
            ("total", "CNY", 2, 150_000, 125_000),
            ("total", "USD", 2, 100_000, 82_500),
        ])
        # The same period as datetimes: [start, end).
        self.assertEqual(
            self.rows("forecast", start=datetime.date(2026, 1, 1),
                      end=datetime.datetime(2026, 4, 1, tzinfo=datetime.timezone.utc)),
            self.rows("forecast", period=Q1))
        self.assertEqual(self.rows("forecast", period=Period.quarter(2026, 2)), [])
        self.assertEqual(self.rows("forecast", period=Q1, owner="li"), [
            ("closed", "CNY", 1, 100_000, 100_000),
            ("best_case", "CNY", 1, 50_000, 25_000),
            ("total", "CNY", 2, 150_000, 125_000),
        ])

    def test_win_rate(self):
        self.assertEqual(self.engine.report("win_rate").columns,
                         ("owner", "won", "lost", "rate_bp"))
        self.assertEqual(self.rows("win_rate", period=Q1),
                         [("li", 1, 0, 10_000), ("wang", 1, 1, 5_000), (None, 2, 1, 6_666)])
        self.assertEqual(self.rows("win_rate", period=Period.quarter(2026, 2)),
                         [(None, 0, 0, None)])

    def test_funnel(self):
        self.assertEqual(self.rows("funnel", period=Q1), [
            ("lead", 5, "qualified", 5, 10_000),
            ("qualified", 5, "quoted", 4, 8_000),
            ("quoted", 4, "negotiating", 3, 7_500),
            ("negotiating", 3, "signed", 2, 6_666),
            ("signed", 2, "delivered", 1, 5_000),
            ("delivered", 1, "serviced", 0, 0),
            ("serviced", 0, None, None, None),
        ])

    def test_velocity(self):
        self.assertEqual(self.rows("velocity", period=Q1), [
            ("lead", None, 5, DAY, DAY),
            ("qualified", None, 5, (4 * 2 + 9) * DAY // 5, 2 * DAY),
            ("quoted", None, 3, 3 * DAY, 3 * DAY),
            ("negotiating", None, 2, 4 * DAY, 4 * DAY),
            ("signed", None, 1, 5 * DAY, 5 * DAY),
            ("cycle", "li", 1, 10 * DAY, 10 * DAY),
            ("cycle", "wang", 1, 10 * DAY, 10 * DAY),
        ])

    def test_stale(self):
        self.assertEqual(self.engine.report("stale").columns,
                         ("id", "stage", "owner", "customer", "entered_ms", "days_in_stage",
                          "stale_days"))
        # At the engine clock's now (day 45).
        self.assertEqual(self.rows("stale"), [
            ("B", "quoted", "li", "Bolt", T0 + 3 * DAY, 42, 10),
            ("E", "negotiating", "wang", "Eco", T0 + 6 * DAY, 39, 21),
        ])
        self.assertEqual(self.rows("stale", as_of=T0 + 20 * DAY),
                         [("B", "quoted", "li", "Bolt", T0 + 3 * DAY, 17, 10)])
        self.assertEqual(self.rows("stale", owner="wang"),
                         [("E", "negotiating", "wang", "Eco", T0 + 6 * DAY, 39, 21)])

    def test_calibration(self):
        self.assertEqual(self.rows("calibration"), [
            ("lead", 10, 3, 2, 6_666),
            ("qualified", 25, 3, 2, 6_666),
            ("quoted", 50, 2, 2, 10_000),
            ("negotiating", 75, 2, 2, 10_000),
        ])

    def test_attainment(self):
        self.assertEqual(self.engine.report("attainment", period=Q1).columns,
                         ("subject_kind", "subject", "currency", "target", "won", "attainment_bp"))
        self.assertEqual(self.rows("attainment", period=Q1), [
            ("owner", "li", "CNY", 200_000, 100_000, 5_000),
            ("owner", "wang", "USD", 0, 30_000, None),
            ("team", "East", "CNY", 300_000, 100_000, 3_333),
        ])
        self.assertEqual(self.rows("attainment", period=Q1, owner="li"), [
            ("owner", "li", "CNY", 200_000, 100_000, 5_000),
            ("team", "East", "CNY", 300_000, 100_000, 3_333),
        ])
        # Only targets of that very period count: none for January.
        self.assertEqual(self.rows("attainment", period=Period.month(2026, 1)), [])

    def test_receivables(self):
        self.assertEqual(self.rows("receivables"), [
            ("A", "li", "CNY", 100_000, 40_000, 60_000, T0 + 10 * DAY, 35 * DAY),
            ("C", "wang", "USD", 30_000, 0, 30_000, T0 + 10 * DAY, 35 * DAY),
            (None, "li", "CNY", 100_000, 40_000, 60_000, None, None),
            (None, "wang", "USD", 30_000, 0, 30_000, None, None),
        ])
        # Before the deposit (paid on day 15).
        self.assertEqual(self.rows("receivables", as_of=T0 + 12 * DAY, owner="li"), [
            ("A", "li", "CNY", 100_000, 0, 100_000, T0 + 10 * DAY, 2 * DAY),
            (None, "li", "CNY", 100_000, 0, 100_000, None, None),
        ])
        self.engine.add_payment("A", 60_000, "CNY", note="balance")
        [a, total] = [r for r in self.rows("receivables") if r[1] == "li"]
        self.assertEqual(a, ("A", "li", "CNY", 100_000, 100_000, 0, T0 + 10 * DAY, None))
        self.assertEqual(total, (None, "li", "CNY", 100_000, 100_000, 0, None, None))

    def test_reports_change_nothing(self):
        before = self.engine.export_json()
        for kind in ("pipeline", "forecast", "funnel", "win_rate", "velocity", "stale",
                     "calibration", "attainment", "receivables"):
            self.engine.report(kind, period=Q1)
        self.assertEqual(self.engine.export_json(), before)

    def test_refusals(self):
        for kind in ("forecast", "attainment"):
            self.assertSalesfsmError(salesfsm.InvalidArgument,
                                     lambda: self.engine.report(kind), kind, "period")
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: self.engine.report("win-rate"), "win-rate")
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: self.engine.report("attainment", start=T0,
                                                            end=T0 + 40 * DAY), "attainment")
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: self.engine.report("pipeline", start=T0 + DAY, end=T0),
                                 "pipeline")
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: self.engine.report("pipeline", period=Q1, start=T0,
                                                            end=T0 + DAY), "period")
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: self.engine.report("pipeline", start=T0), "end")
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: self.engine.report(
                                     "pipeline", as_of=datetime.datetime(2026, 1, 1)), "naive")
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: self.engine.report("pipeline", period=(2026, 1)),
                                 "period")


class MemoryReports(ReportData, SalesfsmTestCase):
    pass


class SqliteReports(SqliteStoreMixin, ReportData, SalesfsmTestCase):
    pass


if __name__ == "__main__":
    unittest.main()
