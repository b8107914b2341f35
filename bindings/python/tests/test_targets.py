"""Teams, targets and their splits, payments, calendar periods."""
import datetime
import unittest

import salesfsm
from salesfsm import Membership, PaymentInfo, Period, TargetInfo

from support import DAY, MANAGER, T0, MemoryStoreMixin, SalesfsmTestCase, SqliteStoreMixin

UTC = datetime.timezone.utc


def ms(*args):
    return salesfsm.to_ms(datetime.datetime(*args, tzinfo=UTC), "test")


class Periods(unittest.TestCase):
    def test_bounds(self):
        self.assertEqual(Period.of_year(2026).bounds(), (ms(2026, 1, 1), ms(2027, 1, 1)))
        self.assertEqual(Period.quarter(2026, 1).bounds(), (ms(2026, 1, 1), ms(2026, 4, 1)))
        self.assertEqual(Period.quarter(2026, 4).bounds(), (ms(2026, 10, 1), ms(2027, 1, 1)))
        self.assertEqual(Period.month(2028, 2).bounds(), (ms(2028, 2, 1), ms(2028, 3, 1)))
        # ISO weeks belong to the year of their Thursday: 2026-W01 starts 2025-12-29.
        self.assertEqual(Period.week(2026, 1).bounds(), (ms(2025, 12, 29), ms(2026, 1, 5)))
        self.assertEqual(Period.week(2026, 53).bounds(), (ms(2026, 12, 28), ms(2027, 1, 4)))

    def test_invalid_periods(self):
        for p in (Period.quarter(2026, 5), Period.month(2026, 0), Period.week(2025, 53),
                  Period(2026, "day", 1)):
            with self.assertRaises(salesfsm.InvalidArgument, msg=repr(p)):
                p.bounds()

    def test_time_conversions(self):
        self.assertEqual(salesfsm.to_ms(datetime.date(2026, 1, 5), "x"), T0)
        self.assertEqual(salesfsm.from_ms(T0), datetime.datetime(2026, 1, 5, tzinfo=UTC))
        east8 = datetime.timezone(datetime.timedelta(hours=8))
        self.assertEqual(salesfsm.to_ms(datetime.datetime(2026, 1, 5, 8, tzinfo=east8), "x"), T0)
        with self.assertRaises(salesfsm.InvalidArgument):
            salesfsm.to_ms(datetime.datetime(2026, 1, 5), "x")  # naive


class TargetTests:
    def test_teams(self):
        e = self.engine
        e.set_team("li", "East")
        e.set_team("wang", "East")
        e.set_team("chen", "South")
        self.assertEqual(e.teams(), [Membership("li", "East"), Membership("wang", "East"),
                                     Membership("chen", "South")])
        e.set_team("wang", "South")  # one team per owner: moves
        self.assertEqual(e.teams("South"), [Membership("chen", "South"),
                                            Membership("wang", "South")])
        e.set_team("li", None)
        self.assertEqual(e.teams("East"), [])
        self.assertSalesfsmError(salesfsm.NotFound, lambda: e.set_team("li", None), "li")

    def test_set_and_replace_targets(self):
        e = self.engine
        e.set_target("li", Period.quarter(2026, 1), 1_000, "CNY")
        e.set_target("li", Period.quarter(2026, 1), 2_000, "CNY")  # replaces
        e.set_target("li", Period.quarter(2026, 1), 500, "USD")  # another currency
        e.set_target("East", Period.of_year(2026), 0, "CNY", kind="team")
        # Sorted by subject, year and period; the currency order is not specified.
        self.assertEqual(sorted(e.targets("li"), key=lambda t: t.currency), [
            TargetInfo("owner", "li", Period.quarter(2026, 1), 2_000, "CNY"),
            TargetInfo("owner", "li", Period.quarter(2026, 1), 500, "USD"),
        ])
        self.assertEqual(e.targets("East", kind="team"),
                         [TargetInfo("team", "East", Period.of_year(2026), 0, "CNY")])
        self.assertEqual(e.targets("li", year=2027), [])
        for bad, name in ((lambda: e.set_target("li", Period.quarter(2026, 1), -1, "CNY"),
                           "amount"),
                          (lambda: e.set_target("li", Period.quarter(2026, 1), 1, "cny"), "cny"),
                          (lambda: e.set_target("li", Period.quarter(2026, 9), 1, "CNY"), "9"),
                          (lambda: e.set_target("li", "2026-Q1", 1, "CNY"), "period"),
                          (lambda: e.set_target("li", Period.quarter(2026, 1), 1, "CNY",
                                                kind="rep"), "rep")):
            self.assertSalesfsmError(salesfsm.InvalidArgument, bad, name)
        self.assertEqual(len(e.targets()), 3)  # nothing more was stored

    def test_split_even_into_quarters(self):
        parts = self.engine.split_target("li", 2026, 1_000_001, "CNY")
        self.assertEqual([(p.period, p.amount) for p in parts],
                         [(Period.quarter(2026, 1), 250_001), (Period.quarter(2026, 2), 250_000),
                          (Period.quarter(2026, 3), 250_000), (Period.quarter(2026, 4), 250_000)])
        self.assertEqual(sum(p.amount for p in parts), 1_000_001)
        annual = [t for t in self.engine.targets("li") if t.period.kind == "year"]
        self.assertEqual(annual, [TargetInfo("owner", "li", Period.of_year(2026), 1_000_001, "CNY")])

    def test_split_by_weights_as_documented(self):
        # docs/reports.md: 100.00 split 1:1:1:0 -> 33.34, 33.33, 33.33, 0.00
        parts = self.engine.split_target("li", 2026, 10_000, "CNY", weights=[1, 1, 1, 0])
        self.assertEqual([p.amount for p in parts], [3_334, 3_333, 3_333, 0])
        parts = self.engine.split_target("East", 2026, 100_000_000, "CNY", weights=[2, 3, 3, 4],
                                         kind="team")
        self.assertEqual([p.amount for p in parts], [16_666_667, 25_000_000, 25_000_000, 33_333_333])
        self.assertEqual(sum(p.amount for p in parts), 100_000_000)
        self.assertTrue(all(p.kind == "team" for p in parts))

    def test_split_into_months_and_weeks_adds_up(self):
        months = self.engine.split_target("li", 2027, 99_999, "EUR", into="month")
        self.assertEqual([p.period for p in months], [Period.month(2027, m) for m in range(1, 13)])
        self.assertEqual([p.amount for p in months], [8_334] * 3 + [8_333] * 9)
        self.assertEqual(sum(p.amount for p in months), 99_999)
        weeks = self.engine.split_target("li", 2026, 1_000_000, "CNY", into="week")
        self.assertEqual(len(weeks), 53)  # 2026 has 53 ISO weeks
        self.assertEqual(sum(p.amount for p in weeks), 1_000_000)
        self.assertEqual(max(p.amount for p in weeks) - min(p.amount for p in weeks), 1)

    def test_split_refusals_store_nothing(self):
        e = self.engine
        for weights, says in (([1, 2, 3], "weights"), ([0, 0, 0, 0], "zero"),
                              ([-1, 1, 1, 1], "weights"), ([1.5, 1, 1, 1], "weights")):
            self.assertSalesfsmError(salesfsm.InvalidArgument,
                                     lambda: e.split_target("li", 2026, 100, "CNY",
                                                            weights=weights), says)
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: e.split_target("li", 2026, 100, "CNY", into="day"), "day")
        self.assertEqual(e.targets(), [])

    def test_payments(self):
        e = self.engine
        opp = self.create("A", customer="c", amount=100_000, currency="CNY")
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: opp.add_payment(1), "'A'", "won")  # not won yet
        self.fire_path(opp, until="signed")
        self.clock.advance(DAY)
        opp.add_payment(30_000, note="deposit 30 %")
        self.clock.advance(DAY)
        e.add_payment("A", 50_000, "CNY")
        self.assertEqual(opp.payments(), [
            PaymentInfo("A", 1, 30_000, "CNY", T0 + 5 * DAY, "deposit 30 %"),
            PaymentInfo("A", 2, 50_000, "CNY", T0 + 6 * DAY, None),
        ])
        # Over the amount: 20 000 are outstanding.
        exc = self.assertSalesfsmError(salesfsm.InvalidArgument,
                                       lambda: opp.add_payment(20_001), "20001", "outstanding")
        self.assertIn("'A'", str(exc))
        self.assertSalesfsmError(salesfsm.InvalidArgument, lambda: opp.add_payment(0), "amount")
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: opp.add_payment(-5), "amount")
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: opp.add_payment(10, "USD"), "USD")
        self.assertSalesfsmError(salesfsm.NotFound,
                                 lambda: e.add_payment("NOPE", 10, "CNY"), "NOPE")
        self.assertEqual(len(e.payments()), 2)  # none of the refusals stored anything
        opp.add_payment(20_000)  # exactly the rest
        self.assertEqual(sum(p.amount for p in e.payments("A")), 100_000)
        self.assertSalesfsmError(salesfsm.InvalidArgument, lambda: opp.add_payment(1),
                                 "outstanding")
        # Payments stay valid after the deal moves on.
        opp.fire("deliver", **MANAGER)
        self.assertEqual(len(opp.payments()), 3)


class MemoryTargets(MemoryStoreMixin, TargetTests, SalesfsmTestCase):
    pass


class SqliteTargets(SqliteStoreMixin, TargetTests, SalesfsmTestCase):
    pass


if __name__ == "__main__":
    unittest.main()
