"""What Python sees of a damaged store and of a clock behind the data:
StorageError naming the opportunity, never a wrong value (issue 10)."""
import sqlite3
import unittest

import salesfsm
from support import ASSISTANT, DAY, MANAGER, SalesfsmTestCase, SqliteStoreMixin


class DamagedRows(SqliteStoreMixin, SalesfsmTestCase):
    def setUp(self):
        super().setUp()
        opp = self.create("A", customer="ACME", owner="li", amount=500_00, currency="USD")
        self.fire_path(opp, until="signed")
        self.create("B", customer="Beta", owner="li", amount=7_00, currency="USD")

    def damage(self, sql, *args):
        """Changes the file under the library's feet, as another program would."""
        with sqlite3.connect(self.db_path) as db:
            self.assertEqual(db.execute(sql, args).rowcount, 1)

    def assert_storage_error(self, call, *words):
        with self.assertRaises(salesfsm.StorageError) as caught:
            call()
        for word in words:
            self.assertIn(word, str(caught.exception))
        return caught.exception

    def test_version_out_of_range(self):
        self.damage("UPDATE opp SET version = 0 WHERE id = 'A'")
        self.assert_storage_error(lambda: self.engine.open("A"), "'A'", "version")
        self.assert_storage_error(lambda: list(self.engine.scan()), "'A'")
        self.assert_storage_error(lambda: self.engine.report("pipeline"), "'A'")
        with self.engine.open("B") as b:   # the healthy one still loads
            self.assertEqual(b.amount, 7_00)

    def test_negative_amount_is_not_summed(self):
        self.damage("UPDATE opp SET amount = -5 WHERE id = 'B'")
        self.assert_storage_error(lambda: self.engine.report("pipeline"), "'B'", "amount")

    def test_text_that_is_not_utf8(self):
        self.damage("UPDATE opp SET customer = CAST(X'41ff' AS TEXT) WHERE id = 'B'")
        self.assert_storage_error(lambda: self.engine.open("B"), "'B'", "customer")

    def test_changes_that_are_not_json(self):
        self.damage("UPDATE history SET changes = '{not json}' WHERE opp_id = 'A' AND version = 1")
        self.assert_storage_error(lambda: list(self.engine.history("A")), "'A'", "changes")
        self.assert_storage_error(lambda: self.engine.export_json(), "'A'")

    def test_payments_that_add_up_beyond_64_bits(self):
        # each at most 2^53-1: 1025 of them pass 2^63-1
        with sqlite3.connect(self.db_path) as db:
            db.executemany("INSERT INTO payment (opp_id, seq, amount, currency, at_ms) VALUES ('A', ?, ?, 'USD', 0)",
                           [(seq, 2 ** 53 - 1) for seq in range(1, 1101)])
        with self.engine.open("A") as a:
            a.amount = 600_00
            self.assert_storage_error(a.save, "'A'", "64 bits")
        self.assert_storage_error(lambda: self.engine.add_payment("A", 1, "USD"), "'A'", "64 bits")
        with self.engine.open("A") as a:
            self.assertEqual(a.amount, 500_00)

    def test_nothing_changes_after_a_refusal(self):
        self.damage("UPDATE opp SET version = 0 WHERE id = 'A'")
        with open(self.db_path, "rb") as f:
            before = f.read()
        self.assert_storage_error(lambda: self.engine.open("A"))
        with open(self.db_path, "rb") as f:
            self.assertEqual(f.read(), before)


class ClockBehindTheData(SalesfsmTestCase):
    def test_durations_are_never_negative(self):
        opp = self.create("W", customer="ACME", owner="li", amount=100_00, currency="CNY")
        self.fire_path(opp, until="signed")
        self.clock.t[0] -= 30 * DAY   # the clock now runs behind the won time
        rows = [r for r in self.engine.report("receivables").records() if r["id"] == "W"]
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["outstanding"], 100_00)
        self.assertEqual(rows[0]["outstanding_ms"], 0)


class AmountLimit(SalesfsmTestCase):
    def test_limit_is_the_export_formats(self):
        limit = 2 ** 53 - 1
        opp = self.create("L", amount=limit, currency="CNY")
        self.assertEqual(opp.amount, limit)
        with self.assertRaises(salesfsm.InvalidArgument) as caught:
            opp.amount = limit + 1
        self.assertIn(str(limit + 1), str(caught.exception))
        self.assertEqual(opp.amount, limit)


if __name__ == "__main__":
    unittest.main()


class WritesThatWouldReadAsDamage(SqliteStoreMixin, SalesfsmTestCase):
    """What the library would read back as damage is refused on the way in."""
    LIMIT = 2 ** 53 - 1

    def test_expected_close_above_the_limit(self):
        opp = self.create("E", customer="ACME")
        with self.assertRaises(salesfsm.InvalidArgument) as caught:
            opp.expected_close = self.LIMIT + 1
        self.assertIn(str(self.LIMIT + 1), str(caught.exception))
        self.assertIn(str(self.LIMIT), str(caught.exception))
        with self.assertRaises(salesfsm.InvalidArgument):
            self.create("F", expected_close=self.LIMIT + 1)
        opp.expected_close = self.LIMIT
        opp.save()
        with self.engine.open("E") as again:
            self.assertEqual(again.expected_close, self.LIMIT)

    def test_clock_outside_the_stored_range(self):
        opp = self.create("W", customer="ACME", owner="li", amount=100_00, currency="CNY")
        self.fire_path(opp, until="signed")
        with self.engine.open("W") as was:
            before = (was.version, self.engine.payments("W"))
        self.clock.t[0] = 2 ** 62
        for call in (lambda: self.create("N"),
                     lambda: opp.fire("deliver", **ASSISTANT),
                     lambda: self.engine.add_payment("W", 1, "CNY")):
            with self.assertRaises(salesfsm.InvalidArgument) as caught:
                call()
            self.assertIn(str(2 ** 62), str(caught.exception))
        self.assertEqual(len(list(self.engine.scan())), 1)
        with self.engine.open("W") as again:
            self.assertEqual((again.version, self.engine.payments("W")), before)
        self.clock.t[0] = -self.LIMIT   # the limit itself is stored and reads back
        opp.fire("deliver", **ASSISTANT)
        with self.engine.open("W") as again:
            self.assertEqual(again.stage_entered, -self.LIMIT)
