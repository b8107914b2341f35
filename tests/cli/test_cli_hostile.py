#!/usr/bin/env python3
"""The command-line tool given hostile data: amounts without a currency,
control characters that would drive a terminal, and a store holding text
that is not UTF-8. Run like test_cli.py (SALESFSM_CLI names the binary)."""
import json
import os
import re
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli import CliTestCase, REP, MANAGER  # noqa: E402

# Bytes a terminal acts on: C0 controls but newline, DEL, and the C1 controls
# U+0080..U+009F as UTF-8 (0xC2 0x80..0x9F).
TERMINAL_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\x80-\x9f]")


class CurrencyKept(CliTestCase):
    """Defect 1: a new amount without --currency kept the amount but switched
    the currency to CNY."""

    def quoted(self, *create_args):
        opp = self.create("--customer", "ACME", "--owner", "li", *create_args)
        self.fire(opp, "qualify", *REP)
        self.fire(opp, "quote", *REP)
        self.fire(opp, "negotiate", *REP)
        return opp

    def shown(self, opp):
        return self.json_of("show", opp, "--db", "t.db", "--json")

    def test_requote_keeps_the_currency(self):
        opp = self.quoted("--amount", "57723.77", "--currency", "USD")
        self.fire(opp, "requote", *REP, "--amount", "9000")
        o = self.shown(opp)
        self.assertEqual((o["currency"], o["amount"]), ("USD", 900000))
        last = self.json_of("history", opp, "--db", "t.db", "--json")[-1]
        self.assertEqual(last["changes"], {"amount": 900000, "currency": "USD"})
        # The pipeline report has one currency group, not a CNY row beside USD.
        rows = self.json_of("report", "pipeline", "--db", "t.db", "--json")["rows"]
        self.assertEqual([(r[0], r[1], r[3]) for r in rows], [("quoted", "USD", 900000)])

    def test_an_explicit_currency_still_switches(self):
        opp = self.quoted("--amount", "100", "--currency", "USD")
        self.fire(opp, "requote", *REP, "--amount", "80", "--currency", "EUR")
        o = self.shown(opp)
        self.assertEqual((o["currency"], o["amount"]), ("EUR", 8000))

    def test_default_only_where_none_exists(self):
        opp = self.create("--customer", "ACME")
        self.assertIsNone(self.shown(opp)["currency"])
        self.fire(opp, "qualify", *REP, "--amount", "12.5")
        o = self.shown(opp)
        self.assertEqual((o["currency"], o["amount"]), ("CNY", 1250))
        opp2 = self.create("--amount", "3")
        self.assertEqual(self.shown(opp2)["currency"], "CNY")

    def test_refused_amount_changes_nothing(self):
        opp = self.quoted("--amount", "100", "--currency", "USD")
        before = self.shown(opp)
        p = self.fire(opp, "requote", *REP, "--amount", "80", "--currency", "usd", expect=1)
        self.assertIn("usd", p.stderr)
        self.assertEqual(self.shown(opp), before)


class TerminalEscapes(CliTestCase):
    """Defect 7: text with ESC, BEL and other controls was printed raw."""

    HOSTILE = "ACME\x1b[2J\x1b]0;owned\x07\x9b31m\x7f\ttab\nline\\end"

    def assert_clean(self, text, where):
        bad = TERMINAL_CONTROL.search(text)
        self.assertIsNone(bad, f"{where}: raw control {bad.group()!r} in {text!r}" if bad else "")

    def test_text_output_is_escaped(self):
        h = self.HOSTILE
        opp = self.create("--customer", h, "--owner", "rep\x1b[1m", "--title", h, "--amount", "10",
                          "--currency", "USD", "--id", "id\x1b[5m")
        self.assertEqual(opp, "id\\x1b[5m")   # even the id it prints back
        opp = "id\x1b[5m"
        for ev in ("qualify", "quote", "negotiate", "sign"):
            self.fire(opp, ev, "--actor", "li\x07", "--role", "manager", "--note", h)
        self.run_cli("pay", opp, "--amount", "1", "--note", h, "--db", "t.db")
        self.run_cli("team", "set", "rep\x1b[1m", "team\x1b[7m", "--db", "t.db")
        runs = [("show", opp), ("list",), ("history", opp), ("payments",), ("payments", opp),
                ("team", "list"), ("report", "pipeline"), ("report", "win-rate"), ("report", "receivables")]
        for args in runs:
            out = self.run_cli(*args, "--db", "t.db").stdout
            self.assert_clean(out, " ".join(args))
        shown = self.run_cli("show", opp, "--db", "t.db").stdout
        self.assertIn("ACME\\x1b[2J\\x1b]0;owned\\a\\xc2\\x9b31m\\x7f\\ttab\\nline\\\\end", shown)
        self.assertIn("rep\\x1b[1m", self.run_cli("list", "--db", "t.db").stdout)
        self.assertIn("team\\x1b[7m", self.run_cli("team", "list", "--db", "t.db").stdout)
        history = self.run_cli("history", opp, "--db", "t.db").stdout
        self.assertIn("by li\\a (manager)", history)
        self.assertIn("note: ACME\\x1b[2J", history)
        # JSON keeps the exact text (escaped the JSON way).
        self.assertEqual(self.json_of("show", opp, "--db", "t.db", "--json")["customer"], h)

    def test_error_messages_are_escaped(self):
        self.create("--amount", "1")
        p = self.run_cli("show", "no\x1b[2Jsuch", "--db", "t.db", expect=1)
        self.assert_clean(p.stderr, "stderr")
        self.assertIn("no\\x1b[2Jsuch", p.stderr)

    def test_invalid_utf8_in_text_output_is_escaped(self):
        # Only a damaged store holds such text; the library refuses to hand
        # it out (SFSM_ESTORAGE), and what the tool prints is clean either way.
        opp = self.create("--customer", "ACME", "--amount", "5")
        with sqlite3.connect(self.path("t.db")) as db:
            n = db.execute("UPDATE opp SET customer = CAST(X'41ff1b5b324a' AS TEXT) WHERE id = ?", (opp,)).rowcount
        self.assertEqual(n, 1)
        for args in (("show", opp), ("list",), ("show", opp, "--json"), ("list", "--json")):
            p = self.run_cli(*args, "--db", "t.db", expect=1)
            self.assert_clean(p.stdout + p.stderr, " ".join(args))
            self.assertIn("not valid UTF-8", p.stderr)
            self.assertIn(opp, p.stderr)
            if "--json" in args:
                self.assert_not_a_document(p.stdout, args)

    def assert_not_a_document(self, out, args):
        """A failed --json command prints nothing that parses as a whole answer."""
        try:
            json.loads(out)
        except ValueError:
            return
        self.fail(f"{args}: a whole JSON document despite the failure: {out!r}")


class JsonFromDamagedStores(CliTestCase):
    """Defect 4: --json copied stored `changes` raw when it merely looked
    like an object."""

    def test_changes_that_are_not_json(self):
        opp = self.create("--customer", "ACME", "--amount", "5")
        with sqlite3.connect(self.path("t.db")) as db:
            n = db.execute("UPDATE history SET changes = '{not json}' WHERE opp_id = ? AND version = 1",
                           (opp,)).rowcount
        self.assertEqual(n, 1)
        p = self.run_cli("history", opp, "--json", "--db", "t.db", expect=1)
        self.assertIn("changes", p.stderr)
        self.assertIn(opp, p.stderr)
        try:
            json.loads(p.stdout)
        except ValueError:
            pass   # cut short; the exit status says it failed
        else:
            self.assertNotIn("not json", p.stdout)


if __name__ == "__main__":
    unittest.main()
