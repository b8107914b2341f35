"""Handles and memory: close() semantics, closed handles, cascades, collection, RSS."""
import gc
import io
import os
import subprocess
import sys
import textwrap
import unittest

import salesfsm

from support import HAPPY_PATH, PACKAGE_ROOT, REP, T0, Clock, SalesfsmTestCase, SqliteStoreMixin

UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def closed_uses(pipeline, store, engine, opp):
    """Every kind of use of a closed handle, by name."""
    return {
        "opp.id": lambda: opp.id,
        "opp.stage": lambda: opp.stage,
        "opp.version": lambda: opp.version,
        "opp.info()": opp.info,
        "opp.title =": lambda: setattr(opp, "title", "x"),
        "opp.attrs[k]": lambda: opp.attrs["k"],
        "len(opp.attrs)": lambda: len(opp.attrs),
        "opp.fire()": lambda: opp.fire("qualify", **REP),
        "opp.save()": opp.save,
        "opp.reload()": opp.reload,
        "opp.history()": lambda: list(opp.history()),
        "opp.available_events()": lambda: opp.available_events(**REP),
        "engine.create()": lambda: engine.create("NEW"),
        "engine.open()": lambda: engine.open("A"),
        "engine.scan()": lambda: list(engine.scan()),
        "engine.history()": lambda: list(engine.history("A")),
        "engine.report()": lambda: engine.report("pipeline"),
        "engine.export_json()": engine.export_json,
        "engine.export_json(file)": lambda: engine.export_json(file=io.StringIO()),
        "engine.import_json()": lambda: engine.import_json('{"format": "x"}'),
        "engine.begin()": engine.begin,
        "engine.set_clock()": lambda: engine.set_clock(lambda: 1),
        "engine.now()": engine.now,
        "engine.on_after()": lambda: engine.on_after(print),
        "engine.set_team()": lambda: engine.set_team("li", "East"),
        "engine.teams()": engine.teams,
        "Engine(pipeline, store)": lambda: salesfsm.Engine(pipeline, store),
    }


class Closing(SalesfsmTestCase):
    def setUp(self):
        super().setUp()
        self.opp = self.create("A", customer="c")

    def test_close_is_idempotent(self):
        for handle in (self.opp, self.engine, self.store, self.pipeline):
            self.assertFalse(handle.closed)
            handle.close()
            handle.close()
            self.assertTrue(handle.closed)
            self.assertIn("closed", repr(handle))

    def test_closing_a_store_closes_its_engines_and_their_opportunities(self):
        second = self.new_engine()
        other = second.open("A")
        self.store.close()
        for handle in (self.engine, second, self.opp, other):
            self.assertTrue(handle.closed, repr(handle))
        self.assertFalse(self.pipeline.closed)
        for name, use in closed_uses(self.pipeline, self.store, self.engine, self.opp).items():
            with self.subTest(name):
                with self.assertRaises(ValueError) as cm:
                    use()
                self.assertIn("closed", str(cm.exception))
        # The pipeline lives on, with a new store.
        with salesfsm.Store.memory() as store, salesfsm.Engine(self.pipeline, store) as e:
            e.set_clock(lambda: T0)
            self.assertEqual(e.create("B").stage, "lead")

    def test_closing_a_pipeline_closes_engines_and_opportunities_not_the_store(self):
        self.pipeline.close()
        self.assertTrue(self.engine.closed)
        self.assertTrue(self.opp.closed)
        self.assertFalse(self.store.closed)
        with self.assertRaises(ValueError):
            self.opp.fire("qualify", **REP)
        with self.assertRaises(ValueError):
            self.pipeline.to_json()
        with salesfsm.Pipeline.default() as p, salesfsm.Engine(p, self.store) as e:
            self.assertEqual([x.id for x in e.scan()], ["A"])  # the data is still there

    def test_closing_an_engine_closes_its_opportunities_only(self):
        other_engine = self.new_engine()
        other_opp = other_engine.open("A")
        self.engine.close()
        self.assertTrue(self.opp.closed)
        self.assertFalse(other_opp.closed)
        other_opp.fire("qualify", **REP)
        self.assertEqual(other_opp.version, 2)

    def test_closed_opportunity_alone(self):
        self.opp.close()
        with self.assertRaises(ValueError):
            self.opp.fire("qualify", **REP)
        with self.assertRaises(ValueError):
            self.opp.stage
        self.assertEqual(self.state("A"), ("lead", 1, 1))  # the engine is fine

    def test_context_managers_close(self):
        with salesfsm.Pipeline.default() as p, salesfsm.Store.memory() as s, \
                salesfsm.Engine(p, s) as e, e.create("Z") as o:
            self.assertFalse(any(h.closed for h in (p, s, e, o)))
        self.assertTrue(all(h.closed for h in (p, s, e, o)))

    def test_context_manager_closes_on_an_exception(self):
        with self.assertRaises(ZeroDivisionError):
            with self.engine.open("A") as o:
                1 / 0
        self.assertTrue(o.closed)

    def test_closing_an_engine_rolls_its_batch_back(self):
        self.engine.begin()
        self.create("B")
        self.opp.fire("qualify", **REP)
        self.engine.close()
        self.assertFalse(self.engine.in_batch)
        fresh = self.new_engine()
        self.assertEqual([x.id for x in fresh.scan()], ["A"])
        self.assertEqual(self.state("A", fresh), ("lead", 1, 1))

    def test_closing_the_engine_from_its_own_hook_is_refused(self):
        seen = []

        def close_engine(t):
            try:
                self.engine.close()
            except salesfsm.Busy as exc:
                seen.append(exc)

        self.engine.on_after(close_engine)
        self.opp.fire("qualify", **REP)
        self.assertEqual(len(seen), 1)
        self.assertFalse(self.engine.closed)
        self.assertEqual(self.opp.version, 2)


class ClosingOnSqlite(SqliteStoreMixin, Closing):
    pass


class Collection(unittest.TestCase):
    def test_dropping_handles_in_a_cycle_frees_them_safely(self):
        """Handles dropped without close(), held in reference cycles through hooks,
        are freed by the collector in a safe order (a subprocess: a crash fails the test)."""
        script = textwrap.dedent("""
            import gc, salesfsm
            for round in range(50):
                p = salesfsm.Pipeline.default()
                s = salesfsm.Store.memory()
                e = salesfsm.Engine(p, s)
                e.set_clock(lambda: 1)
                holder = {"p": p, "s": s, "e": e}
                o = e.create("A", customer="c")
                holder["o"] = o
                e.on_after(lambda t: holder)       # engine -> hook -> holder -> engine
                e.on_before(lambda t: o.id != "")  # engine -> hook -> opp -> engine
                o.fire("qualify", actor="a", role="rep")
                e.begin()                          # an open batch, rolled back at free
                e.create("B")
                del p, s, e, o, holder
                gc.collect()
            print("ok")
        """)
        env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT)
        proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.strip(), "ok")
        self.assertNotIn("Exception ignored", proc.stderr)


@unittest.skipIf(UNDER_ASAN, "ASan's quarantine keeps freed memory resident")
@unittest.skipUnless(os.path.exists("/proc/self/statm"), "needs /proc/self/statm")
class ResidentMemory(unittest.TestCase):
    """RSS after a warm-up must stay flat. The bounds are far above allocator
    noise (measured: 0-300 KiB) and far below what a leak of a few dozen bytes
    per call would add up to over these counts."""

    OPPS_PER_STORE = 1_000
    STORES = 20                    # 20 000 creates and 120 000 fires
    BOUND = 4 * 1024 * 1024        # 120 000 fires x 100 bytes would be 11.4 MiB

    def run_stores(self, pipeline, clock, count):
        for _ in range(count):
            with salesfsm.Store.memory() as store, salesfsm.Engine(pipeline, store) as engine:
                clock.install(engine)
                engine.on_after(lambda t: t.event)
                engine.on_before(lambda t: t.opp.stage != "x")
                engine.register_guard("has_customer", lambda t: True)
                for i in range(self.OPPS_PER_STORE):
                    opp = engine.create(f"X{i}", customer="c", owner="o", title="t",
                                        amount=100, currency="CNY")
                    for event, who, _ in HAPPY_PATH:
                        opp.fire(event, note="n", **who)
                    opp.close()
                self.assertEqual(len(list(engine.scan(stage="serviced"))), self.OPPS_PER_STORE)

    def test_fires_do_not_leak(self):
        clock = Clock()
        with salesfsm.Pipeline.default() as pipeline:
            self.run_stores(pipeline, clock, 3)  # warm-up
            gc.collect()
            before = rss_bytes()
            self.run_stores(pipeline, clock, self.STORES)
            gc.collect()
            grown = rss_bytes() - before
        self.assertLess(grown, self.BOUND, f"RSS grew by {grown} bytes over "
                        f"{self.STORES * self.OPPS_PER_STORE * 6} fires")

    def test_reads_refusals_and_exports_do_not_leak(self):
        clock = Clock()
        with salesfsm.Pipeline.default() as p, salesfsm.Store.memory() as s, \
                salesfsm.Engine(p, s) as e:
            clock.install(e)
            e.on_before(lambda t: t.note != "veto")
            for i in range(10):
                o = e.create(f"X{i}", customer="c", amount=100, currency="CNY")
                o.attrs["k"] = "v" * 100
                for event, who, _ in HAPPY_PATH[:4]:
                    o.fire(event, **who)
            vetoed = e.create("V", customer="c")

            def round_trip():
                list(e.history("X3"))
                list(e.scan())
                e.export_json()
                e.export_json(file=io.StringIO())
                e.report("forecast", period=salesfsm.Period.quarter(2026, 1))
                e.report("receivables")
                with e.open("X1") as o:
                    o.info()
                    o.available_events(**REP)
                for fn in (lambda: e.open("NOPE"), lambda: vetoed.fire("qualify", note="veto", **REP),
                           lambda: vetoed.fire("sign", **REP)):
                    try:
                        fn()
                    except salesfsm.SalesfsmError:
                        pass

            for _ in range(300):
                round_trip()
            gc.collect()
            before = rss_bytes()
            for _ in range(3_000):
                round_trip()
            gc.collect()
            grown = rss_bytes() - before
        # 3 000 rounds x 12 calls: a leak of 100 bytes per call would be 3.4 MiB.
        self.assertLess(grown, 2 * 1024 * 1024, f"RSS grew by {grown} bytes")


if __name__ == "__main__":
    unittest.main()
