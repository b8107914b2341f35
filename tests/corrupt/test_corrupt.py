#!/usr/bin/env python3
"""The corrupt-store suite: every CLI command and report on a demo store
damaged row by row or byte by byte. Never a crash, invalid JSON or a
silently wrong number; a clear error or a correct answer.

How it works. One seeded demo store is made per run (salesfsm demo, 60
simulated days, ~100 KiB). Every case copies it, damages the copy
(mutations.py) and runs the command matrix below on it, each command on its
own copy of the damaged file. Python 3 standard library only; the binary is
SALESFSM_CLI.

The oracle, for every run:
  - no signal, no sanitizer report, exit 0 or 1 (2, usage, cannot happen);
  - output is UTF-8 without raw control characters (defect 7); a failure is
    one line "salesfsm: ..." naming the opportunity (or payment, team,
    target) that is damaged, or the file; --json output with exit 0 parses;
  - a read leaves the file byte for byte as it was, and so does a refused
    write; a write that says it succeeded changed the file;
  - the answer:
      healthy store, VALID row mutations: every command succeeds. Outputs that
        are projections of rows (show/list/payments/team --json, export) and
        the pipeline, win-rate, velocity and receivables reports equal what
        recompute.py computes from the damaged rows as sqlite3 reads them;
        the rest equal the healthy store's output, except the few the
        mutation names as moved (checked for form only);
      INVALID row mutations (the rows break the library's input rules): no
        answer is right but a refusal, so a command either fails or prints
        exactly what it printed on the healthy store (the damage did not
        enter it). A write aimed at the damaged record must be refused,
        unless the damage is not on its path (history, teams, targets);
      flipped or truncated files: a command fails, or answers as on the
        healthy store when sqlite3 reads every row unchanged (the flip hit
        free space), or as recompute.py says from the rows sqlite3 reads;
        where neither applies the run is counted as unjudged.
  Non-vacuous: the healthy store's runs must all succeed and match the
  recomputation; every mutation must change a row and every flip a byte.

Times that depend on the wall clock (receivables' outstanding time and
stale's days in stage without --as-of) are compared within the interval the
command ran in, or masked in text.

SALESFSM_CORRUPT_MATRIX=FILE writes one JSON line per (case, command) with
the verdict, for reports. SALESFSM_CORRUPT_SAMPLE=N runs one command in N
per case (a different one per case; the write on the target always): the
sanitizer build's setting, where each process costs ~0.1 s.
"""
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import mutations as mu  # noqa: E402
import recompute  # noqa: E402

DEMO_DAYS, DEMO_SEED = "60", "2026"
# Under a sanitizer a process costs ~0.1 s whatever it does: corrupt.cmake
# then asks for one command in SAMPLE per case (all cases).
SAMPLE = max(1, int(os.environ.get("SALESFSM_CORRUPT_SAMPLE", "1")))
KINDS = ["pipeline", "forecast", "funnel", "win-rate", "velocity", "stale", "calibration", "attainment",
         "receivables"]
WRITES = ("write T", "write H", "write W2", "create")
MODELED = {"show T --json", "show H --json", "list --json", "list --stage --json", "payments --json",
           "payments T --json", "team list --json", "report pipeline --json", "report win-rate --json",
           "report velocity --json", "report receivables --json", "export"}
ACTOR = ["--actor", "Corrupt Suite", "--role", "manager"]


def commands(ctx, t):
    """The matrix: (key, args) with the target opportunity t. Keys name the
    command independently of the ids."""
    stage = ctx.stage_of(t)
    c = [("show T", ["show", t]), ("show T --json", ["show", t, "--json"]),
         ("show H --json", ["show", ctx.healthy, "--json"]),
         ("list", ["list"]), ("list --json", ["list", "--json"]),
         ("list --stage --json", ["list", "--stage", stage, "--json"]),
         ("history T", ["history", t]), ("history T --json", ["history", t, "--json"]),
         ("export", ["export"]),
         ("payments", ["payments"]), ("payments --json", ["payments", "--json"]),
         ("payments T --json", ["payments", t, "--json"]),
         ("team list", ["team", "list"]), ("team list --json", ["team", "list", "--json"]),
         ("target list --json", ["target", "list", "--json"])]
    for kind in KINDS:
        period = ["--period", "2026-Q1"] if kind in ("forecast", "attainment") else []
        c += [(f"report {kind}", ["report", kind, *period]), (f"report {kind} --json", ["report", kind, *period, "--json"])]
    c += [("report pipeline --as-of --json", ["report", "pipeline", "--as-of", "2026-02-15", "--json"]),
          ("report funnel --as-of --json", ["report", "funnel", "--as-of", "2026-02-15", "--json"]),
          ("report stale --as-of --json", ["report", "stale", "--as-of", "2026-03-01", "--json"]),
          ("report receivables --as-of --json", ["report", "receivables", "--as-of", "2026-02-25", "--json"]),
          ("report win-rate --team --json", ["report", "win-rate", "--team", ctx.won_team, "--json"])]
    if stage == "quoted":
        c.append(("write T", ["fire", t, "negotiate", *ACTOR, "--note", "suite"]))
    else:
        c.append(("write T", ["pay", t, "--amount", "1.00", "--note", "suite"]))
    c += [("write H", ["fire", ctx.healthy, "qualify", *ACTOR]),
          ("write W2", ["pay", ctx.won2, "--amount", "1.00"]),
          ("create", ["create", "--id", "SUITE-NEW", "--customer", "Suite", "--amount", "5.00", "--currency", "CNY"])]
    return c


def normalized(key, run):
    """The run's answer for comparison; the wall-clock columns masked."""
    text = run.out.decode("utf-8", "replace")
    if "--json" in run.args or key == "export":
        try:
            v = json.loads(text)
        except ValueError:
            return ("not JSON", text)
        if key == "report receivables --json":
            for r in v.get("rows", []):
                r[7] = r[7] is not None
        if key == "report stale --json":
            for r in v.get("rows", []):
                r[5] = "#"
        return v
    if key == "report receivables":
        text = re.sub(r"\d+\.\d$", "#", text, flags=re.M)
    if key == "report stale":
        text = re.sub(r"\d+(\s+\d+)$", r"#\1", text, flags=re.M)
    return text


def diff(a, b, limit=12):
    fa = json.dumps(a, indent=1, ensure_ascii=False) if not isinstance(a, str) else a
    fb = json.dumps(b, indent=1, ensure_ascii=False) if not isinstance(b, str) else b
    lines = list(difflib.unified_diff(fa.splitlines(), fb.splitlines(), "expected", "got", n=0, lineterm=""))[2:]
    more = f" (+{len(lines) - limit} more lines)" if len(lines) > limit else ""
    return "\n      ".join(s[:200] for s in lines[:limit]) + more


class World:
    """What every case shares: the demo store, its targets, the pipeline, the
    healthy answers (per target) and the healthy rows."""

    def __init__(self):
        if not harness.CLI:
            raise unittest.SkipTest("SALESFSM_CLI is not set")
        self.tmp = tempfile.TemporaryDirectory(prefix="salesfsm-corrupt-")
        self.dir = self.tmp.name
        self.store = os.path.join(self.dir, "demo.db")
        t = time.monotonic()
        subprocess.run([harness.CLI, "demo", "--db", self.store, "--days", DEMO_DAYS, "--seed", DEMO_SEED,
                        "--no-progress"], check=True, capture_output=True, timeout=120)
        self.demo_seconds = time.monotonic() - t
        for side in ("-wal", "-shm", "-journal"):
            assert not os.path.exists(self.store + side), f"the demo left {side} behind"
        self.size = os.path.getsize(self.store)
        self.ctx = mu.Ctx(self.store)
        p = subprocess.run([harness.CLI, "pipeline"], check=True, capture_output=True, timeout=60)
        self.pipeline = json.loads(p.stdout)
        self.rows = recompute.Rows(self.store)
        self.model = recompute.Model(self.rows, self.pipeline)
        self.baseline = {}
        for target in (self.ctx.won, self.ctx.open):
            runs = harness.run_all(self.store, os.path.join(self.dir, f"healthy-{target}"),
                                   commands(self.ctx, target))
            self.baseline[target] = runs
        self.matrix = []

    def close(self):
        out = os.environ.get("SALESFSM_CORRUPT_MATRIX")
        if out:
            with open(out, "w") as f:
                for line in self.matrix:
                    f.write(json.dumps(line, ensure_ascii=False) + "\n")
        self.tmp.cleanup()


WORLD = None


def setUpModule():
    global WORLD
    WORLD = World()


def tearDownModule():
    if WORLD:
        WORLD.close()


class Judge:
    """Judges the runs of one case; collects problems and the matrix."""

    def __init__(self, case, mode, target, names, mutation=None, rows=None):
        self.case, self.mode, self.target, self.names = case, mode, target, names
        self.mutation, self.rows = mutation, rows
        self.base = WORLD.baseline[target]
        self.problems = []
        self.model = None
        self.model_error = None
        if rows is not None:
            try:
                self.model = recompute.Model(rows, WORLD.pipeline)
            except (UnicodeDecodeError, KeyError, StopIteration, TypeError) as e:
                self.model_error = f"{type(e).__name__}: {e}"

    def fail(self, run, why):
        self.problems.append((run.key, run.cmdline(), why, run.excerpt()))
        return "FAIL"

    def expected(self, key, run):
        """The recomputed answer of a modeled command, or None."""
        m, t = self.model, self.target
        if m is None:
            return None
        try:
            return {"show T --json": lambda: m.show(t), "show H --json": lambda: m.show(WORLD.ctx.healthy),
                    "list --json": m.list, "list --stage --json": lambda: m.list(WORLD.ctx.stage_of(t)),
                    "payments --json": m.payments, "payments T --json": lambda: m.payments(t),
                    "team list --json": m.teams, "report pipeline --json": m.report_pipeline,
                    "report win-rate --json": m.report_win_rate, "report velocity --json": m.report_velocity,
                    "report receivables --json": lambda: m.report_receivables(run.t0, run.t1),
                    "export": m.list}[key]()
        except (KeyError, StopIteration, TypeError, ZeroDivisionError) as e:
            self.model_error = f"{type(e).__name__}: {e}"
            return None

    def compare_model(self, key, run, want):
        got = harness.json_out(run)
        if key == "report receivables --json":
            ok = recompute.receivables_match(got, want)
        elif key == "export":
            ok = self.export_matches(got, want) and self.round_trip(run)
        else:
            ok = got == want
        if ok:
            return "answered, recomputed"
        return self.fail(run, "answer differs from the recomputation from the rows:\n      " + diff(want, got))

    @staticmethod
    def export_matches(doc, opps):
        got = doc.get("opportunities", [])
        if len(got) != len(opps):
            return False
        for g, w in zip(got, opps):
            if any(g.get(k) != v for k, v in w.items() if k in g):
                return False
        return True

    def round_trip(self, run):
        """An export that succeeded imports into a fresh store and exports again
        byte for byte (defect 5)."""
        d = tempfile.mkdtemp(dir=WORLD.dir)
        doc, fresh = os.path.join(d, "backup.json"), os.path.join(d, "fresh.db")
        with open(doc, "wb") as f:
            f.write(run.out)
        imp = subprocess.run([harness.CLI, "import", doc, "--db", fresh], capture_output=True, timeout=60)
        if imp.returncode != 0:
            self.fail(run, f"export succeeded, but import refuses it: {imp.stderr.decode(errors='replace').strip()}")
            return False
        again = subprocess.run([harness.CLI, "export", "--db", fresh], capture_output=True, timeout=60)
        shutil.rmtree(d, ignore_errors=True)
        if again.stdout != run.out:
            self.fail(run, "export -> import -> export is not byte-identical")
            return False
        return True

    def judge(self, key, run):
        write = key in WRITES
        probs = harness.basic_problems(run, self.names)
        if probs:
            return self.fail(run, "; ".join(probs))
        if not write and run.changed:
            return self.fail(run, "a read changed the store file")
        if write and run.rc == 1 and run.changed:
            return self.fail(run, "a refused write changed the store file")
        if write and run.rc == 0 and not run.changed:
            return self.fail(run, "the write said it succeeded but the file is unchanged")
        if self.mode == "valid":
            return self.judge_valid(key, run, write)
        if self.mode == "invalid":
            return self.judge_invalid(key, run, write)
        return self.judge_damaged(key, run, write)

    def equal_to_healthy(self, key, run, why):
        want, got = normalized(key, self.base[key]), normalized(key, run)
        if want == got:
            return "answered as healthy"
        return self.fail(run, why + ":\n      " + diff(want, got))

    def judge_valid(self, key, run, write):
        if run.rc != 0:
            return self.fail(run, "refused legal data")
        if write:
            return "written"
        if key in MODELED:
            want = self.expected(key, run)
            if want is None:
                return self.fail(run, f"no recomputation ({self.model_error})")
            return self.compare_model(key, run, want)
        if self.mutation and any(key.startswith(c) for c in self.mutation.changes):
            return "answered (moved; form checked)"
        twin = key + " --json"
        if twin in self.base and twin not in self.runs:
            return "answered (form checked; its --json twin not sampled)"
        if twin in self.runs and normalized(twin, self.runs[twin]) != normalized(twin, self.base[twin]):
            return "answered (moved with its --json twin, judged there)"
        return self.equal_to_healthy(key, run, "differs from the healthy store though the change does not enter it")

    def judge_invalid(self, key, run, write):
        if run.rc == 1:
            return "refused"
        if key in self.mutation.record_ok:
            return self.judge_valid(key, run, write)
        if write:
            if key == "write T" and not self.mutation.write_ok:
                return self.fail(run, "a write on the damaged record succeeded")
            return "written"
        return self.equal_to_healthy(key, run, "answered from invalid rows (silently wrong)")

    def judge_damaged(self, key, run, write):
        if run.rc == 1:
            return "refused"
        if write:
            return "written"
        if self.rows is None:
            return self.equal_to_healthy(key, run, "answered from a file sqlite3 cannot read, not as healthy")
        if self.rows.key() == WORLD.rows.key():
            return self.equal_to_healthy(key, run, "every row is intact, yet the answer differs from healthy")
        if key in MODELED:
            want = self.expected(key, run)
            if want is not None:
                return self.compare_model(key, run, want)
        return "answered (unjudged: damaged rows)"

    def judge_all(self, runs):
        """Yields (key, run, verdict); JSON first, text may defer to its twin."""
        self.runs = runs
        for key in sorted(runs, key=lambda k: "--json" not in k):
            yield key, runs[key], self.judge(key, runs[key])

    def run_case(self, test, store):
        cmds = commands(WORLD.ctx, self.target)
        if SAMPLE > 1:
            # Every case runs the write on its target and one other command
            # in SAMPLE, a different one per case (by the case's name), so
            # each command still meets many kinds of damage.
            start = zlib.crc32(self.case.encode())
            cmds = [c for j, c in enumerate(cmds) if (start + j) % SAMPLE == 0 or c[0] == "write T"]
        runs = harness.run_all(store, os.path.join(WORLD.dir, self.case), cmds)
        for key, run, verdict in self.judge_all(runs):
            line = {"case": self.case, "mode": self.mode, "command": key, "exit": run.rc, "verdict": verdict}
            if verdict == "FAIL":
                line.update(why=self.problems[-1][2], cmdline=run.cmdline(), output=run.excerpt())
            WORLD.matrix.append(line)
        if self.problems:
            lines = [f"{len(self.problems)} problem(s) in case {self.case} ({self.mode}):"]
            for key, cmd, why, ex in self.problems:
                lines.append(f"  [{key}] {cmd}\n      {why}\n      {ex}")
            test.fail("\n".join(lines))


def _copy(name):
    path = os.path.join(WORLD.dir, name + ".db")
    shutil.copyfile(WORLD.store, path)
    return path


class Healthy(unittest.TestCase):
    """The oracle is not vacuous: on the healthy store every command
    succeeds, every modeled answer equals the recomputation, and the demo has
    what the mutations aim at."""

    def test_healthy_store(self):
        c = WORLD.ctx
        self.assertLess(WORLD.demo_seconds, 20)
        self.assertGreater(len(WORLD.model.opps), 20)
        self.assertGreater(len(WORLD.rows.payments), 1)
        self.assertEqual(WORLD.rows.integrity, [(b"ok",)])
        for target in (c.won, c.open):
            j = Judge(f"healthy-{target}", "valid", target, [target], rows=WORLD.rows)
            for key, run, verdict in j.judge_all(WORLD.baseline[target]):
                self.assertEqual(run.rc, 0, f"{run.cmdline()}: {run.excerpt()}")
            self.assertEqual(j.problems, [])
            # The recomputed reports are not empty.
            for kind in ("pipeline", "win-rate", "velocity", "receivables"):
                self.assertGreater(len(harness.json_out(WORLD.baseline[target][f"report {kind} --json"])["rows"]), 2)


def _row_test(m):
    def test(self):
        c = WORLD.ctx
        target = c.won if m.target == mu.W else c.open
        path = _copy("row-" + m.name)
        db = mu.sqlite3.connect(path)
        m.apply(db, c, target)
        db.commit()
        db.close()
        rows = recompute.Rows(path)
        self.assertNotEqual(rows.key(), WORLD.rows.key(), "the mutation changed nothing")
        Judge("row-" + m.name, m.kind, target, m.names or [target], mutation=m, rows=rows).run_case(self, path)
    test.__doc__ = f"{m.kind} row mutation {m.name} on the {m.target} opportunity"
    return test


def _file_test(name, damage):
    def test(self):
        path = _copy(name)
        with open(path, "rb") as f:
            before = f.read()
        damage(path)
        with open(path, "rb") as f:
            self.assertNotEqual(f.read(), before, "the damage changed nothing")
        try:
            rows = recompute.Rows(path)
        except mu.sqlite3.DatabaseError:
            rows = None
        names = [".db", "OPP-", "stored "]
        Judge(name, "damaged", WORLD.ctx.won, names, rows=rows).run_case(self, path)
    return test


class RowMutations(unittest.TestCase):
    pass


class FileDamage(unittest.TestCase):
    pass


for _m in mu.ROW_MUTATIONS:
    setattr(RowMutations, f"test_{_m.name}", _row_test(_m))


def _add_file_tests():
    # The sizes and offsets are those of the demo store, known only once it
    # exists; the demo is deterministic, so its size is fixed per version:
    # the positions are computed from the actual size at run time.
    size_hint = 25 * mu.PAGE
    for name, off in mu.flip_positions(size_hint):
        setattr(FileDamage, f"test_flip_{name}",
                _file_test(f"flip-{name}", lambda p, off=off, name=name: mu.flip(p, _at(off, name), 1)))
    for name, size in mu.truncation_sizes(size_hint):
        setattr(FileDamage, f"test_truncate_{name}",
                _file_test(f"truncate-{name}", lambda p, name=name: mu.truncate(p, _size(name))))


def _at(off_hint, name):
    return dict(mu.flip_positions(WORLD.size))[name]


def _size(name):
    return dict(mu.truncation_sizes(WORLD.size))[name]


_add_file_tests()

if __name__ == "__main__":
    unittest.main()
