#!/usr/bin/env python3
"""The salesfsm command-line tool, run as a user would run it.

Every test works in a fresh temporary directory and runs the binary named by
the environment variable SALESFSM_CLI (tests/cli.cmake sets it) with
subprocess. Exit codes: 0 success, 1 a failure the library reported, 2 bad
usage. Python 3 standard library only.
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import unittest

CLI = os.environ.get("SALESFSM_CLI")

REP = ["--actor", "Li Wei", "--role", "rep"]
MANAGER = ["--actor", "Zhang Min", "--role", "manager"]
ASSISTANT = ["--actor", "Zhao Li", "--role", "assistant"]
SUPPORT = ["--actor", "Sun Hao", "--role", "support"]

SUBCOMMANDS = ["demo", "validate", "graph", "pipeline", "create", "fire", "show", "history", "list",
               "import", "export", "report", "team", "target", "pay", "payments"]

REPORT_KINDS = ["pipeline", "forecast", "funnel", "win-rate", "velocity", "stale", "calibration", "attainment",
                "receivables"]


def money(minor):
    """Minor units as the CLI writes them: 1,234,567.89."""
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100:,}.{abs(minor) % 100:02d}"


def percent(bp):
    """Basis points as the CLI writes them: one decimal, rounded down."""
    return f"{bp // 100}.{bp // 10 % 10}"


def current_quarter():
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    return f"{now.year}-Q{(now.month - 1) // 3 + 1}"



class CliTestCase(unittest.TestCase):
    def setUp(self):
        if not CLI:
            self.skipTest("SALESFSM_CLI is not set")
        self._tmp = tempfile.TemporaryDirectory(prefix="salesfsm-cli-")
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def run_cli(self, *args, expect=0, stdin=None):
        """Runs the tool in the temp directory; checks the exit code."""
        p = subprocess.run([CLI, *args], cwd=self.dir, input=stdin, capture_output=True, text=True,
                           timeout=120)
        for name, text in (("stdout", p.stdout), ("stderr", p.stderr)):
            self.assertNotRegex(text, "Sanitizer", f"{args}: sanitizer report on {name}")
        self.assertEqual(p.returncode, expect,
                         f"salesfsm {' '.join(args)}: exit {p.returncode}, expected {expect}\n"
                         f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        return p

    def json_of(self, *args):
        return json.loads(self.run_cli(*args).stdout)

    def create(self, *args, db="t.db"):
        return self.run_cli("create", "--db", db, *args).stdout.strip()

    def fire(self, opp, event, *args, db="t.db", expect=0):
        return self.run_cli("fire", opp, event, "--db", db, *args, expect=expect)


class HelpAndUsage(CliTestCase):
    def test_help(self):
        p = self.run_cli("--help")
        for cmd in SUBCOMMANDS:
            self.assertIn(cmd, p.stdout)
        for cmd in SUBCOMMANDS:
            p = self.run_cli(cmd, "--help")
            self.assertIn(f"usage: salesfsm {cmd}", p.stdout)
            self.assertEqual(p.stderr, "")
        self.assertIn("usage: salesfsm show", self.run_cli("help", "show").stdout)
        self.assertRegex(self.run_cli("--version").stdout, r"^salesfsm \d+\.\d+\.\d+")

    def assert_usage_error(self, *args, says):
        p = self.run_cli(*args, expect=2)
        self.assertIn(says, p.stderr)
        self.assertIn("usage:", p.stderr)
        self.assertEqual(p.stdout, "")
        return p

    def test_usage_errors(self):
        self.assert_usage_error(says="usage: salesfsm COMMAND")
        self.assert_usage_error("frobnicate", says="unknown command 'frobnicate'")
        self.assert_usage_error("show", says="missing ID")
        self.assert_usage_error("history", says="missing ID")
        self.assert_usage_error("fire", "X", says="missing EVENT")
        self.assert_usage_error("validate", says="missing PIPELINE.json")
        self.assert_usage_error("import", says="missing FILE.json")
        self.assert_usage_error("show", "X", "--frob", says="unknown option '--frob'")
        self.assert_usage_error("list", "-x", says="unknown option '-x'")
        self.assert_usage_error("show", "X", "Y", says="unexpected argument 'Y'")
        self.assert_usage_error("show", "X", "--db", says="option '--db' needs a value")
        self.assert_usage_error("show", "X", "--json=yes", says="takes no value")
        self.assert_usage_error("fire", "X", "qualify", says="--actor and --role are required")
        self.assert_usage_error("create", "--actor", "Li Wei", says="--actor and --role go together")
        self.assert_usage_error("graph", "--format", "png", says="unknown format 'png'")
        self.assert_usage_error("demo", "--days", "0", says="--days")
        self.assert_usage_error("demo", "--seed", "-1", says="--seed")
        # Nothing was created by any of them.
        self.assertEqual(os.listdir(self.dir), [])

    def test_bad_amounts(self):
        for bad in ["12.345", "1e5", "-3", "+3", "", ".5", "5.", "1,000", "12.3.4", " 12", "0x10",
                    "90071992547409.92", "92233720368547758.07", "99999999999999999999"]:
            with self.subTest(amount=bad):
                p = self.assert_usage_error("create", "--amount", bad, says="is not an amount")
                self.assertIn(repr(bad) if bad else "''", p.stderr.replace('"', "'"))
        self.assertEqual(os.listdir(self.dir), [])

    def test_good_amounts(self):
        for text, minor in [("0", 0), ("7", 700), ("1234.5", 123450), ("1234.56", 123456), ("0.01", 1),
                            ("90071992547409.91", 9007199254740991)]:   # 2^53-1, the library's limit
            with self.subTest(amount=text):
                opp = self.create("--amount", text, "--currency", "USD")
                shown = self.json_of("show", opp, "--db", "t.db", "--json")
                self.assertEqual(shown["amount"], minor)
                self.assertEqual(shown["currency"], "USD")


class Opportunities(CliTestCase):
    CUSTOMER = 'Hangzhou "Lianhua" Trading\\Co. 华东 🚀\ttab\nline'

    def test_full_walk(self):
        opp = self.create("--id", "OPP-1", "--customer", self.CUSTOMER, "--owner", "Li Wei", "--title",
                          "ERP rollout, 40 seats", "--amount", "128000", "--currency", "CNY", *REP)
        self.assertEqual(opp, "OPP-1")
        steps = [("qualify", REP, "budget confirmed"), ("quote", REP, "quote Q-17 sent"),
                 ("negotiate", REP, None), ("requote", REP, "5 % off"), ("negotiate", REP, None),
                 ("sign", MANAGER, "contract HT-0042"), ("deliver", ASSISTANT, None),
                 ("service", SUPPORT, "handed over")]
        for event, actor, note in steps:
            args = [*actor] + (["--note", note] if note else [])
            if event == "requote":
                args += ["--amount", "121600.50"]
            p = self.fire(opp, event, *args)
            self.assertRegex(p.stdout, rf"^OPP-1: \w+ -> \w+ \({event}\), version \d+")

        text = self.run_cli("show", opp, "--db", "t.db").stdout
        self.assertRegex(text, r"stage:\s+serviced")
        self.assertIn("CNY 121,600.50", text)

        shown = self.json_of("show", opp, "--db", "t.db", "--json")
        self.assertEqual(shown["id"], "OPP-1")
        self.assertEqual(shown["stage"], "serviced")
        self.assertEqual(shown["version"], 9)
        self.assertEqual(shown["probability"], 100)
        self.assertEqual(shown["amount"], 12160050)
        self.assertEqual(shown["currency"], "CNY")
        self.assertEqual(shown["customer"], self.CUSTOMER)
        self.assertEqual(shown["owner"], "Li Wei")
        self.assertEqual(shown["title"], "ERP rollout, 40 seats")
        self.assertEqual(shown["attrs"], {})

        text = self.run_cli("history", opp, "--db", "t.db").stdout
        for event, _, _ in steps:
            self.assertIn(event, text)
        self.assertIn("note: contract HT-0042", text)

        hist = self.json_of("history", opp, "--db", "t.db", "--json")
        self.assertEqual([h["version"] for h in hist], list(range(1, 10)))
        self.assertEqual(hist[0]["kind"], "create")
        self.assertEqual(hist[0]["changes"]["customer"], self.CUSTOMER)
        self.assertEqual([h["event"] for h in hist[1:]], [s[0] for s in steps])
        self.assertEqual(hist[4]["fields"], ["amount"])
        self.assertEqual(hist[4]["changes"], {"amount": 12160050, "currency": "CNY"})
        self.assertEqual(hist[6]["actor"], "Zhang Min")
        self.assertEqual(hist[6]["role"], "manager")
        self.assertEqual(hist[-1]["to"], "serviced")

    def test_list(self):
        a = self.create("--id", "A", "--customer", "Acme", "--owner", "li", "--amount", "10")
        b = self.create("--id", "B", "--customer", "Beta", "--owner", "wang")
        self.fire(a, "qualify", *REP)
        generated = self.create("--customer", "Acme")
        self.assertRegex(generated, r"^[0-9a-f]{32}$")

        text = self.run_cli("list", "--db", "t.db").stdout
        for opp in (a, b, generated):
            self.assertIn(opp, text)
        self.assertIn("3 opportunities", text)
        self.assertIn("CNY 10.00", text)

        everything = self.json_of("list", "--db", "t.db", "--json")
        self.assertEqual([o["id"] for o in everything], [a, b, generated])
        self.assertEqual([o["stage"] for o in everything], ["qualified", "lead", "lead"])
        self.assertEqual([o["id"] for o in self.json_of("list", "--db", "t.db", "--json", "--stage", "lead")],
                         [b, generated])
        self.assertEqual([o["id"] for o in self.json_of("list", "--db", "t.db", "--json", "--owner", "wang")], [b])
        self.assertEqual([o["id"] for o in self.json_of("list", "--db", "t.db", "--json", "--customer", "Acme")],
                         [a, generated])
        self.assertEqual(self.json_of("list", "--db", "t.db", "--json", "--owner", "nobody"), [])
        self.assertIn("1 opportunity\n", self.run_cli("list", "--db", "t.db", "--stage", "qualified").stdout)

        p = self.run_cli("list", "--db", "t.db", "--stage", "quoteed", expect=1)
        self.assertIn("quoteed", p.stderr)
        self.assertEqual(p.stdout, "")

    def test_json_text_escaping(self):
        nasty = 'quote " backslash \\ newline \n cr \r tab \t bell \x07 esc \x1b del \x7f 中文'
        opp = self.create("--customer", nasty, "--title", "", "--owner", "o")
        shown = self.json_of("show", opp, "--db", "t.db", "--json")
        self.assertEqual(shown["customer"], nasty)
        self.assertIsNone(shown["title"])
        self.assertIsNone(shown["currency"])
        listed = self.json_of("list", "--db", "t.db", "--json")
        self.assertEqual(listed[0]["customer"], nasty)
        self.assertEqual(self.json_of("history", opp, "--db", "t.db", "--json")[0]["changes"]["customer"], nasty)

    def test_refused_transitions(self):
        opp = self.create("--id", "R", "--owner", "li")
        before = self.json_of("show", opp, "--db", "t.db", "--json")

        def refused(event, code, message, *args):
            p = self.fire(opp, event, *args, expect=1)
            self.assertEqual(p.stdout, "")
            self.assertRegex(p.stderr, rf"^salesfsm: {code}: .*{message}")
            self.assertEqual(self.json_of("show", opp, "--db", "t.db", "--json"), before)

        refused("sign", "SFSM_ETRANSITION", "event 'sign' not allowed from stage 'lead'", *REP)
        refused("qualify", "SFSM_EGUARD", "", *REP)                       # no customer
        refused("qualify", "SFSM_EPERM", "role 'support' may not fire event 'qualify'", *SUPPORT)
        refused("qualify", "SFSM_ENOTFOUND", "boss", "--actor", "X", "--role", "boss")
        refused("promote", "SFSM_ENOTFOUND", "promote", *REP)
        refused("lose", "SFSM_EGUARD", "", *REP)                          # no reason
        self.fire(opp, "lose", *REP, "--note", "no budget")
        p = self.fire(opp, "reopen", *REP, expect=1)
        self.assertIn("SFSM_EPERM", p.stderr)
        self.fire(opp, "reopen", *MANAGER)

        p = self.run_cli("show", "nope", "--db", "t.db", expect=1)
        self.assertRegex(p.stderr, r"^salesfsm: SFSM_ENOTFOUND: .*'nope'")
        p = self.run_cli("create", "--id", "R", "--db", "t.db", expect=1)
        self.assertIn("SFSM_EEXISTS", p.stderr)
        p = self.run_cli("create", "--actor", "X", "--role", "boss", "--db", "t.db", expect=1)
        self.assertIn("SFSM_ENOTFOUND", p.stderr)
        p = self.run_cli("create", "--amount", "5", "--currency", "yuan", "--db", "t.db", expect=1)
        self.assertIn("SFSM_EINVAL", p.stderr)


class Stores(CliTestCase):
    def test_missing_database_is_not_created(self):
        for args in (["show", "X"], ["history", "X"], ["list"], ["export"], ["fire", "X", "qualify", *REP],
                     ["list", "--json"], ["history", "X", "--json"]):
            with self.subTest(args=args):
                p = self.run_cli(*args, "--db", "missing.db", expect=1)
                self.assertIn("missing.db", p.stderr)
                self.assertRegex(p.stderr, r"^salesfsm: SFSM_ENOTFOUND: .*does not exist")
                self.assertEqual(p.stdout, "")
                self.assertEqual(os.listdir(self.dir), [])
        # The default file is salesfsm.db in the current directory.
        p = self.run_cli("list", expect=1)
        self.assertIn("salesfsm.db", p.stderr)
        self.assertEqual(os.listdir(self.dir), [])
        self.assertEqual(self.run_cli("create", "--id", "first").stdout, "first\n")
        self.assertIn("salesfsm.db", os.listdir(self.dir))
        self.assertIn("first", self.run_cli("list").stdout)

    def test_corrupt_database_is_left_alone(self):
        junk = random.Random(4711).randbytes(8192)
        with open(self.path("junk.db"), "wb") as f:
            f.write(junk)
        for args in (["show", "X"], ["list"], ["history", "X"], ["export"], ["create"],
                     ["import", "doc.json"], ["fire", "X", "qualify", *REP], ["demo", "--no-progress"]):
            with self.subTest(args=args):
                if args[0] == "import":
                    with open(self.path("doc.json"), "w") as f:
                        f.write('{"format": "salesfsm-opportunities", "version": 1, "opportunities": []}\n')
                p = self.run_cli(*args, "--db", "junk.db", expect=1)
                self.assertIn("junk.db", p.stderr)
                self.assertIn("SFSM_ESTORAGE", p.stderr)
                with open(self.path("junk.db"), "rb") as f:
                    self.assertEqual(f.read(), junk)
                self.assertEqual(sorted(os.listdir(self.dir)),
                                 ["doc.json", "junk.db"] if os.path.exists(self.path("doc.json")) else ["junk.db"])

    def test_export_import_round_trip(self):
        for i in range(3):
            self.create("--id", f"E{i}", "--customer", f"Customer {i} 客户", "--amount", f"{i}00.5{i}",
                        "--owner", "li", *REP)
        self.fire("E1", "qualify", *REP, "--note", 'said "yes"')
        self.fire("E2", "lose", *REP, "--note", "price")

        self.run_cli("export", "--db", "t.db", "one.json")
        with open(self.path("one.json"), "rb") as f:
            one = f.read()
        doc = json.loads(one)
        self.assertEqual(doc["format"], "salesfsm-opportunities")
        self.assertEqual([o["id"] for o in doc["opportunities"]], ["E0", "E1", "E2"])
        self.assertEqual(self.run_cli("export", "--db", "t.db").stdout.encode(), one)

        self.assertEqual(self.run_cli("import", "one.json", "--db", "fresh.db").stdout.strip(), "3")
        self.run_cli("export", "two.json", "--db", "fresh.db")
        with open(self.path("two.json"), "rb") as f:
            self.assertEqual(f.read(), one)
        self.assertEqual(self.run_cli("export", "--db", "fresh.db").stdout.encode(), one)
        self.assertEqual(self.json_of("show", "E1", "--db", "fresh.db", "--json")["stage"], "qualified")

        # Import from standard input; all or nothing when an id exists.
        self.assertEqual(self.run_cli("import", "-", "--db", "third.db", stdin=one.decode()).stdout, "3\n")
        p = self.run_cli("import", "one.json", "--db", "fresh.db", expect=1)
        self.assertRegex(p.stderr, r"SFSM_EEXISTS: .*opportunities\[0\]\.id")
        self.assertEqual(len(self.json_of("list", "--db", "fresh.db", "--json")), 3)

        # A malformed document names the JSON path; nothing is imported.
        doc["opportunities"][1]["history"][1]["to"] = "quoteed"
        with open(self.path("bad.json"), "w") as f:
            json.dump(doc, f)
        p = self.run_cli("import", "bad.json", "--db", "other.db", expect=1)
        self.assertIn("opportunities[1].history[1].to", p.stderr)
        self.assertEqual(self.json_of("list", "--db", "other.db", "--json"), [])
        p = self.run_cli("import", "nonexistent.json", "--db", "other.db", expect=1)
        self.assertIn("nonexistent.json", p.stderr)

    def test_failed_export_keeps_the_old_file(self):
        with open(self.path("keep.json"), "w") as f:
            f.write("old")
        self.run_cli("export", "keep.json", "--db", "missing.db", expect=1)
        with open(self.path("keep.json")) as f:
            self.assertEqual(f.read(), "old")


class Pipelines(CliTestCase):
    def default_pipeline(self):
        text = self.run_cli("pipeline").stdout
        with open(self.path("p.json"), "w") as f:
            f.write(text)
        return json.loads(text)

    def test_pipeline_and_validate(self):
        doc = self.default_pipeline()
        self.assertEqual(doc["name"], "default")
        self.assertIn("events", doc)
        self.assertEqual(self.run_cli("validate", "p.json").stdout, "ok: default v1, 8 stages, 9 events\n")
        self.assertEqual(self.run_cli("pipeline", "p.json").stdout, self.run_cli("pipeline").stdout)
        self.assertEqual(self.run_cli("validate", "-", stdin=json.dumps(doc)).stdout,
                         "ok: default v1, 8 stages, 9 events\n")

    def test_validate_refuses_bad_definitions(self):
        doc = self.default_pipeline()
        with open(self.path("bad.json"), "w") as f:
            f.write('{"name": "x", "stages": [')
        p = self.run_cli("validate", "bad.json", expect=1)
        self.assertRegex(p.stderr, r"^salesfsm: SFSM_EPARSE: ")
        self.assertEqual(p.stdout, "")

        doc["events"][0]["to"] = "quoteed"
        with open(self.path("unknown.json"), "w") as f:
            json.dump(doc, f)
        p = self.run_cli("validate", "unknown.json", expect=1)
        self.assertRegex(p.stderr, r"^salesfsm: SFSM_EINVAL: .*events\[0\]\.to: .*quoteed")

        p = self.run_cli("validate", "nonexistent.json", expect=1)
        self.assertIn("nonexistent.json", p.stderr)
        # A broken --pipeline stops a store command before it touches a store.
        p = self.run_cli("create", "--pipeline", "unknown.json", "--db", "t.db", expect=1)
        self.assertIn("events[0].to", p.stderr)
        self.assertFalse(os.path.exists(self.path("t.db")))

    def test_custom_pipeline_in_store_commands(self):
        doc = self.default_pipeline()
        doc["name"] = "short"
        doc["stages"] = [s for s in doc["stages"] if s["name"] in ("lead", "signed", "lost")]
        for s in doc["stages"]:
            if s["name"] == "signed":
                s["final"] = True
        doc["events"] = [
            {"name": "win", "from": ["lead"], "to": "signed", "roles": ["rep"]},
            {"name": "lose", "from": ["lead"], "to": "lost", "roles": ["rep"], "guards": ["has_reason"]},
            {"name": "reopen", "from": ["lost"], "to": "lead", "roles": ["manager"]},
        ]
        doc.pop("migrations", None)
        with open(self.path("short.json"), "w") as f:
            json.dump(doc, f)
        self.assertIn("ok: short v1, 3 stages, 3 events", self.run_cli("validate", "short.json").stdout)
        opp = self.create("--pipeline", "short.json", db="s.db")
        self.run_cli("fire", opp, "win", *REP, "--db", "s.db", "--pipeline", "short.json")
        shown = self.json_of("show", opp, "--db", "s.db", "--pipeline", "short.json", "--json")
        self.assertEqual(shown["stage"], "signed")
        self.assertIn("win", self.run_cli("graph", "short.json").stdout)

    def test_graph(self):
        dot = self.run_cli("graph").stdout
        self.assertTrue(dot.startswith("digraph"), dot[:40])
        self.assertIn("qualify", dot)
        self.assertEqual(self.run_cli("graph", "--format", "dot").stdout, dot)
        self.assertEqual(self.run_cli("graph", "--format=dot").stdout, dot)
        mermaid = self.run_cli("graph", "--format", "mermaid").stdout
        self.assertTrue(mermaid.startswith("flowchart"), mermaid[:40])
        self.assertIn("reopen", mermaid)
        self.default_pipeline()
        self.assertEqual(self.run_cli("graph", "p.json", "--format", "mermaid").stdout, mermaid)
        self.assertTrue(dot.endswith("\n") and mermaid.endswith("\n"))


class Demo(CliTestCase):
    def test_demo_is_deterministic(self):
        first = self.run_cli("demo", "--no-progress", "--seed", "7")
        self.assertEqual(first.stderr, "")
        second = self.run_cli("demo", "--no-progress", "--seed", "7")
        self.assertEqual(first.stdout, second.stdout)
        out = first.stdout
        for part in ("opportunities by stage", "serviced", "win rate", "reps by won amount", "top lost reasons",
                     "a won deal", "a lost deal", "salesfsm-demo.db"):
            self.assertIn(part, out)
        won, lost = map(int, re.search(r"closed: (\d+) won .*, (\d+) lost", out).groups())
        self.assertGreater(won, 10)
        self.assertGreater(lost, 10)

        # The file is a real store: the other commands read it, and it matches the summary.
        listed = self.json_of("list", "--db", "salesfsm-demo.db", "--json")
        total = int(re.search(r"^  total\s+(\d+)", out, re.M).group(1))
        self.assertEqual(len(listed), total)
        self.assertEqual(sum(o["stage"] in ("signed", "delivered", "serviced") for o in listed), won)
        hist = self.json_of("history", listed[0]["id"], "--db", "salesfsm-demo.db", "--json")
        self.assertEqual(hist[0]["kind"], "create")

        other = self.run_cli("demo", "--no-progress", "--seed", "8", "--days", "90", "--db", "other.db")
        self.assertNotEqual(other.stdout, out)
        self.assertIn("90 days", other.stdout)
        self.assertIn("forecast for 2026-Q2", other.stdout)
        self.assertIn("attainment against target, 2026-Q1", other.stdout)

    def test_demo_teams_targets_payments_and_reports(self):
        out = self.run_cli("demo", "--no-progress", "--seed", "7").stdout
        self.assertIn("teams: East (Li Wei, Wang Fang); South (Chen Jie, Liu Yang)", out)
        self.assertIn("forecast for 2027-Q1", out)
        self.assertIn("attainment against target, 2026-Q4", out)
        db = ["--db", "salesfsm-demo.db"]
        self.assertEqual(self.json_of("team", "list", "--json", *db),
                         [{"team": "East", "owner": "Li Wei"}, {"team": "East", "owner": "Wang Fang"},
                          {"team": "South", "owner": "Chen Jie"}, {"team": "South", "owner": "Liu Yang"}])
        targets = self.json_of("target", "list", "--json", "--owner", "Li Wei", *db)
        self.assertEqual([t["period"] for t in targets], ["2026", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"])
        self.assertEqual(sum(t["amount"] for t in targets[1:]), targets[0]["amount"])
        payments = self.json_of("payments", "--json", *db)
        self.assertGreater(len(payments), 10)
        self.assertTrue(all(p["currency"] == "CNY" and p["amount"] > 0 for p in payments))
        # The attainment the demo printed is the report's.
        att = self.json_of("report", "attainment", "--period", "2026-Q4", "--json", *db)
        self.assertEqual(att["report"], "attainment")
        rows = [dict(zip(att["columns"], r)) for r in att["rows"]]
        self.assertEqual([r["subject"] for r in rows if r["subject_kind"] == "team"], ["East", "South"])
        for r in rows:
            if r["subject_kind"] == "owner":
                self.assertIn(money(r["won"]), out)
                self.assertIn(money(r["target"]), out)

    def test_demo_replaces_only_its_own_store(self):
        with open(self.path("notes.db"), "w") as f:
            f.write("my precious notes\n")
        p = self.run_cli("demo", "--no-progress", "--days", "5", "--db", "notes.db", expect=1)
        self.assertIn("not replacing 'notes.db'", p.stderr)
        with open(self.path("notes.db")) as f:
            self.assertEqual(f.read(), "my precious notes\n")
        # A salesfsm store made by another command is replaced by a fresh demo.
        self.create("--id", "mine", db="store.db")
        p = self.run_cli("demo", "--days", "30", "--db", "store.db")
        self.assertEqual(p.stderr, "", "no progress bar when stderr is not a terminal")
        ids = [o["id"] for o in self.json_of("list", "--db", "store.db", "--json")]
        self.assertNotIn("mine", ids)


class Reports(CliTestCase):
    """report, team, target, pay and payments."""

    def assert_usage_error(self, *args, says):
        p = self.run_cli(*args, expect=2)
        self.assertIn(says, p.stderr)
        self.assertIn("usage:", p.stderr)
        self.assertEqual(p.stdout, "")

    def won_deal(self, opp, amount="1000", currency="CNY", owner="li", db="t.db"):
        self.create("--id", opp, "--customer", "Acme", "--owner", owner, "--amount", amount, "--currency", currency,
                    db=db)
        for event in ("qualify", "quote", "negotiate", "sign"):
            self.fire(opp, event, *REP, db=db)

    def table(self, text):
        """The rows of a text table, split on runs of two or more spaces."""
        return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()[1:] if line.strip()]

    def test_usage_errors(self):
        e = self.assert_usage_error
        e("report", says="missing KIND")
        e("report", "pipelin", says="unknown report kind 'pipelin'")
        e("report", "velocity", "--period", "2026-Q5", says="is not a period")
        e("report", "velocity", "--period", "2026-13", says="is not a period")
        e("report", "velocity", "--period", "2026-W54", says="is not a period")
        e("report", "velocity", "--period", "26-Q1", says="is not a period")
        e("report", "velocity", "--period", "1969", says="is not a period")
        e("report", "funnel", "--from", "2026-02-30", says="is not a date")
        e("report", "funnel", "--from", "2026-13-01", says="is not a date")
        e("report", "funnel", "--to", "2026/07/01", says="is not a date")
        e("report", "stale", "--as-of", "yesterday", says="is not a date")
        e("report", "funnel", "--from", "2026-07-01", "--to", "2026-07-01", says="is not before")
        e("report", "funnel", "--period", "2026", "--from", "2026-01-01", says="exclude each other")
        e("report", "forecast", says="needs a period")
        e("report", "attainment", says="needs a period")
        e("team", says="missing subcommand")
        e("team", "join", says="unknown subcommand 'join'")
        e("team", "set", "li", says="missing TEAM")
        e("target", "set", "--period", "2026", "--amount", "5", says="--owner O or --team T is required")
        e("target", "set", "--owner", "a", "--team", "b", "--period", "2026", "--amount", "5", says="exclude")
        e("target", "set", "--owner", "a", "--period", "2026-Q0", "--amount", "5", says="is not a period")
        e("target", "set", "--owner", "a", "--period", "2026", "--amount", "1.234", says="is not an amount")
        e("target", "set", "--owner", "a", "--period", "2026", "--amount", "-1", says="is not an amount")
        e("target", "split", "--owner", "a", "--year", "2026", "--amount", "5", "--into", "fortnights",
          says="--into")
        e("target", "split", "--owner", "a", "--year", "26x", "--amount", "5", "--into", "quarters", says="--year")
        e("target", "split", "--owner", "a", "--year", "2026", "--amount", "5", "--into", "quarters",
          "--weights", "1,2,3", says="--weights")
        e("target", "split", "--owner", "a", "--year", "2026", "--amount", "5", "--into", "months",
          "--weights", "1,,2", says="--weights")
        e("target", "list", "--year", "0", says="--year")
        e("pay", "X", says="--amount is required")
        e("pay", "X", "--amount", "0", says="more than 0")
        e("pay", "X", "--amount", "12.345", says="is not an amount")
        e("pay", "--amount", "5", says="missing ID")
        e("payments", "A", "B", says="unexpected argument 'B'")
        self.assertEqual(os.listdir(self.dir), [])
        # On a missing store the commands fail without creating it.
        for args in (["report", "pipeline"], ["team", "list"], ["target", "list"], ["payments"],
                     ["pay", "X", "--amount", "5"], ["team", "unset", "li"]):
            with self.subTest(args=args):
                p = self.run_cli(*args, "--db", "missing.db", expect=1)
                self.assertRegex(p.stderr, r"^salesfsm: SFSM_ENOTFOUND: .*missing\.db")
        self.assertEqual(os.listdir(self.dir), [])

    def test_teams(self):
        for owner, team in (("wang", "East"), ("li", "East"), ("chen", "South"), ("liu", "South")):
            self.assertEqual(self.run_cli("team", "set", owner, team, "--db", "t.db").stdout,
                             f"{owner} is in team {team}\n")
        self.run_cli("team", "set", "liu", "East", "--db", "t.db")   # moves
        self.assertEqual(self.json_of("team", "list", "--json", "--db", "t.db"),
                         [{"team": "East", "owner": "li"}, {"team": "East", "owner": "liu"},
                          {"team": "East", "owner": "wang"}, {"team": "South", "owner": "chen"}])
        text = self.run_cli("team", "list", "South", "--db", "t.db").stdout
        self.assertRegex(text, r"South\s+chen\n1 member\n$")
        self.assertEqual(self.run_cli("team", "unset", "chen", "--db", "t.db").stdout, "chen is in no team\n")
        p = self.run_cli("team", "unset", "chen", "--db", "t.db", expect=1)
        self.assertRegex(p.stderr, r"^salesfsm: SFSM_ENOTFOUND: ")
        self.assertEqual(self.json_of("team", "list", "South", "--json", "--db", "t.db"), [])

    def test_targets(self):
        p = self.run_cli("target", "set", "--owner", "li", "--period", "2026-Q3", "--amount", "1000000", "--db", "t.db")
        self.assertEqual(p.stdout, "target of owner li for 2026-Q3: CNY 1,000,000.00\n")
        self.run_cli("target", "set", "--owner", "li", "--period", "2026-w27", "--amount", "5", "--currency", "USD",
                     "--db", "t.db")
        self.run_cli("target", "set", "--team", "East", "--period", "2026-07", "--amount", "0", "--db", "t.db")
        # 100.00 split 1:1:1:0: floor parts, the remainder to the earliest.
        p = self.run_cli("target", "split", "--team", "East", "--year", "2026", "--amount", "100", "--into",
                         "quarters", "--weights", "1,1,1,0", "--db", "t.db")
        self.assertIn("2026-Q1", p.stdout)
        self.assertIn("33.34", p.stdout)
        east = self.json_of("target", "list", "--team", "East", "--json", "--db", "t.db")
        self.assertEqual([(t["period"], t["amount"]) for t in east],
                         [("2026", 10000), ("2026-Q1", 3334), ("2026-Q2", 3333), ("2026-Q3", 3333), ("2026-Q4", 0),
                          ("2026-07", 0)])
        self.assertTrue(all(t["subject_kind"] == "team" and t["currency"] == "CNY" for t in east))
        # Months and weeks: the parts add up to the year exactly.
        self.run_cli("target", "split", "--owner", "wang", "--year", "2027", "--amount", "1000000.01", "--into",
                     "months", "--db", "t.db")
        self.run_cli("target", "split", "--owner", "chen", "--year", "2026", "--amount", "999", "--into", "weeks",
                     "--db", "t.db")
        for owner, year, parts in (("wang", "2027", 12), ("chen", "2026", 53)):
            ts = self.json_of("target", "list", "--owner", owner, "--year", year, "--json", "--db", "t.db")
            self.assertEqual(len(ts), parts + 1)
            self.assertEqual(sum(t["amount"] for t in ts[1:]), ts[0]["amount"])
        # 2027 has 52 ISO weeks: 53 weights are refused by the library.
        p = self.run_cli("target", "split", "--owner", "x", "--year", "2027", "--amount", "5", "--into", "weeks",
                         "--weights", ",".join(["1"] * 53), "--db", "t.db", expect=1)
        self.assertRegex(p.stderr, r"^salesfsm: SFSM_EINVAL: .*weights")
        text = self.run_cli("target", "list", "--owner", "li", "--db", "t.db").stdout
        self.assertRegex(text, r"owner\s+li\s+2026-Q3\s+CNY\s+1,000,000.00")
        self.assertRegex(text, r"owner\s+li\s+2026-W27\s+USD\s+5.00")
        self.assertIn("2 targets", text)
        self.assertEqual(len(self.json_of("target", "list", "--year", "2027", "--json", "--db", "t.db")), 13)

    def test_pay_and_payments(self):
        self.won_deal("A", "1000")
        self.create("--id", "B", "--customer", "Beta", "--amount", "50", "--owner", "li")
        p = self.run_cli("pay", "A", "--amount", "300", "--note", "deposit", "--db", "t.db")
        self.assertEqual(p.stdout, "A: payment 1 of CNY 300.00 recorded; collected 300.00 of 1,000.00, "
                                   "outstanding 700.00\n")
        p = self.run_cli("pay", "A", "--amount", "200.50", "--currency", "CNY", "--db", "t.db")
        self.assertIn("payment 2 of CNY 200.50", p.stdout)
        self.assertIn("outstanding 499.50", p.stdout)

        # Refused by the library: exit 1 with its message, nothing recorded.
        p = self.run_cli("pay", "B", "--amount", "10", "--db", "t.db", expect=1)
        self.assertEqual(p.stdout, "")
        self.assertRegex(p.stderr, r"^salesfsm: SFSM_EINVAL: .*'B' is at stage 'lead', which is not won")
        p = self.run_cli("pay", "A", "--amount", "499.51", "--db", "t.db", expect=1)
        self.assertRegex(p.stderr, r"^salesfsm: SFSM_EINVAL: .*more than is outstanding")
        p = self.run_cli("pay", "A", "--amount", "1", "--currency", "USD", "--db", "t.db", expect=1)
        self.assertRegex(p.stderr, r"^salesfsm: SFSM_EINVAL: .*currency")
        p = self.run_cli("pay", "nope", "--amount", "1", "--db", "t.db", expect=1)
        self.assertRegex(p.stderr, r"^salesfsm: SFSM_ENOTFOUND: ")

        pays = self.json_of("payments", "A", "--json", "--db", "t.db")
        self.assertEqual([(x["opp_id"], x["seq"], x["amount"], x["currency"], x["note"]) for x in pays],
                         [("A", 1, 30000, "CNY", "deposit"), ("A", 2, 20050, "CNY", None)])
        self.assertEqual(self.json_of("payments", "--json", "--db", "t.db"), pays)
        self.assertEqual(self.json_of("payments", "B", "--json", "--db", "t.db"), [])
        text = self.run_cli("payments", "--db", "t.db").stdout
        self.assertRegex(text, r"A\s+1\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC\s+CNY\s+300.00\s+deposit")
        self.assertTrue(text.endswith("2 payments\n"))
        p = self.run_cli("payments", "nope", "--db", "t.db", expect=1)
        self.assertEqual(p.stdout, "")

        rec = self.json_of("report", "receivables", "--json", "--db", "t.db")
        self.assertEqual(rec["report"], "receivables")
        rows = [dict(zip(rec["columns"], r)) for r in rec["rows"]]
        a = next(r for r in rows if r["id"] == "A")
        self.assertEqual((a["won"], a["collected"], a["outstanding"]), (100000, 50050, 49950))
        text = self.run_cli("report", "receivables", "--db", "t.db").stdout
        self.assertRegex(text, r"(?m)^A\s+li\s+CNY\s+1,000.00\s+500.50\s+499.50\s+\d{4}-\d\d-\d\d\s+0.0")
        self.assertRegex(text, r"(?m)^total\s+li\s+CNY\s+1,000.00\s+500.50\s+499.50")

    def test_reports_on_cli_data(self):
        quarter = current_quarter()
        self.won_deal("A", "1000")
        self.won_deal("C", "250.50", currency="USD", owner="wang")
        self.create("--id", "B", "--customer", "Beta", "--amount", "50", "--owner", "li")
        self.create("--id", "D", "--customer", "Delta", "--owner", "wang")
        self.fire("D", "lose", *REP, "--note", "no budget")
        self.run_cli("team", "set", "li", "East", "--db", "t.db")
        self.run_cli("target", "set", "--owner", "li", "--period", quarter, "--amount", "4000", "--db", "t.db")

        pipe = self.json_of("report", "pipeline", "--json", "--db", "t.db")
        self.assertEqual(pipe["columns"], ["stage", "currency", "count", "amount", "weighted"])
        rows = {(r[0], r[1]): r[2:] for r in pipe["rows"]}
        self.assertEqual(rows[("signed", "CNY")], [1, 100000, 100000])
        self.assertEqual(rows[("signed", "USD")], [1, 25050, 25050])
        self.assertEqual(rows[("lead", "CNY")], [1, 5000, 500])
        text = self.run_cli("report", "pipeline", "--db", "t.db").stdout
        self.assertRegex(text.splitlines()[0], r"^stage\s+currency\s+count\s+amount\s+weighted$")
        self.assertIn(["signed", "CNY", "1", "1,000.00", "1,000.00"], self.table(text))
        self.assertIn(["lead", "CNY", "1", "50.00", "5.00"], self.table(text))
        self.assertEqual(len(self.table(text)), len(pipe["rows"]))
        # Filters: owner, team, customer.
        only = self.json_of("report", "pipeline", "--owner", "wang", "--json", "--db", "t.db")
        self.assertEqual(sorted((r[0], r[1] or "-", r[2]) for r in only["rows"]),
                         [("lost", "-", 1), ("signed", "USD", 1)])   # D has no amount: currency null
        team = self.json_of("report", "pipeline", "--team", "East", "--json", "--db", "t.db")
        self.assertEqual(sorted((r[0], r[2]) for r in team["rows"]), [("lead", 1), ("signed", 1)])
        cust = self.json_of("report", "pipeline", "--customer", "Beta", "--json", "--db", "t.db")
        self.assertEqual([(r[0], r[2]) for r in cust["rows"]], [("lead", 1)])

        win = self.json_of("report", "win-rate", "--period", quarter, "--json", "--db", "t.db")
        wrows = {r[0]: r[1:] for r in win["rows"]}
        self.assertEqual(wrows["li"], [1, 0, 10000])
        self.assertEqual(wrows["wang"], [1, 1, 5000])
        self.assertEqual(wrows[None], [2, 1, 6666])
        text = self.run_cli("report", "win-rate", "--period", quarter, "--db", "t.db").stdout
        self.assertIn(["wang", "1", "1", "50.0"], self.table(text))
        self.assertIn(["total", "2", "1", "66.6"], self.table(text))
        self.assertIn("rate %", text.splitlines()[0])

        att = self.json_of("report", "attainment", "--period", quarter, "--json", "--db", "t.db")
        self.assertEqual(att["rows"], [["owner", "li", "CNY", 400000, 100000, 2500]])
        text = self.run_cli("report", "attainment", "--period", quarter, "--db", "t.db").stdout
        self.assertEqual(self.table(text), [["owner", "li", "CNY", "4,000.00", "1,000.00", "25.0"]])

        fc = self.json_of("report", "forecast", "--period", quarter, "--json", "--db", "t.db")
        closed = {r[1]: r[2:] for r in fc["rows"] if r[0] == "closed"}
        self.assertEqual(closed["CNY"], [1, 100000, 100000])
        self.assertEqual(closed["USD"], [1, 25050, 25050])

        # Every kind runs, as text and as JSON, on this store; the JSON names it.
        for kind in REPORT_KINDS:
            with self.subTest(kind=kind):
                args = ["report", kind, "--db", "t.db", "--period", quarter]
                doc = self.json_of(*args, "--json")
                self.assertEqual(doc["report"], kind.replace("-", "_"))
                self.assertTrue(all(len(r) == len(doc["columns"]) for r in doc["rows"]))
                text = self.run_cli(*args).stdout
                self.assertEqual(len(self.table(text)), max(len(doc["rows"]), 1))

        p = self.run_cli("report", "attainment", "--from", "2026-01-01", "--to", "2026-01-15", "--db", "t.db",
                         expect=1)
        self.assertRegex(p.stderr, r"^salesfsm: SFSM_EINVAL: ")

    def test_reports_on_demo_data(self):
        self.run_cli("demo", "--no-progress", "--seed", "11")
        db = ["--db", "salesfsm-demo.db"]
        listed = self.json_of("list", "--json", *db)
        pipe = self.json_of("report", "pipeline", "--json", *db)
        for stage in ("lead", "negotiating", "serviced", "lost"):
            at = [o for o in listed if o["stage"] == stage and o["currency"] == "CNY"]
            row = next(r for r in pipe["rows"] if r[0] == stage and r[1] == "CNY")
            self.assertEqual(row[2:4], [len(at), sum(o["amount"] for o in at)])
        text = self.run_cli("report", "pipeline", *db).stdout
        for r in pipe["rows"]:
            self.assertIn([r[0], r[1] or "-", str(r[2]), money(r[3]), money(r[4])], self.table(text))

        # Periods: shorthands and dates agree.
        q = self.run_cli("report", "funnel", "--period", "2026-Q2", "--json", *db).stdout
        self.assertEqual(self.run_cli("report", "funnel", "--from", "2026-04-01", "--to", "2026-07-01", "--json",
                                      *db).stdout, q)
        self.assertEqual(self.run_cli("report", "funnel", "--from", "2026-Q2", "--to", "2026-Q2", "--json",
                                      *db).stdout, q)
        self.assertEqual(self.run_cli("report", "funnel", "--from", "2026-04", "--to", "2026-06", "--json",
                                      *db).stdout, q)

        vel = self.json_of("report", "velocity", "--period", "2026", "--json", *db)
        text = self.run_cli("report", "velocity", "--period", "2026", *db).stdout
        self.assertIn("avg days", text.splitlines()[0])
        first = dict(zip(vel["columns"], vel["rows"][0]))
        days = (first["avg_ms"] + 4320000) // 8640000
        self.assertIn(f"{days // 10}.{days % 10}", self.table(text)[0])

        stale = self.json_of("report", "stale", "--as-of", "2026-12-31", "--json", *db)
        self.assertEqual(stale["columns"][:2], ["id", "stage"])
        self.assertEqual(len(self.table(self.run_cli("report", "stale", "--as-of", "2026-12-31", *db).stdout)),
                         max(len(stale["rows"]), 1))
        cal = self.json_of("report", "calibration", "--json", *db)
        self.assertEqual([r[0] for r in cal["rows"]][:4], ["lead", "qualified", "quoted", "negotiating"])
        text = self.run_cli("report", "calibration", *db).stdout
        for r in cal["rows"]:
            row = dict(zip(cal["columns"], r))
            if row["observed_bp"] is not None:
                self.assertIn(percent(row["observed_bp"]), text)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + sys.argv[1:])
