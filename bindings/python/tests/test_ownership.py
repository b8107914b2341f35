"""Who frees what, and when: closing from callbacks, garbage cycles, threads."""

import gc
import threading
import unittest

from salesfsm import Busy, Engine, Pipeline, Store

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def new_engine():
    p, s = Pipeline.default(), Store.memory()
    e = Engine(p, s)
    e.set_clock(lambda: T0)
    return p, s, e


class CloseFromCallbacks(unittest.TestCase):
    def setUp(self):
        self.p, self.s, self.e = new_engine()
        self.addCleanup(self.p.close)
        self.addCleanup(self.s.close)

    def test_the_running_opportunity_its_engine_and_store_refuse(self):
        opp = self.e.create(customer="ACME")
        other = self.e.create(customer="Other")
        seen = {}

        def hook(_t):
            for name, handle in (("opp", opp), ("engine", self.e), ("store", self.s),
                                 ("pipeline", self.p)):
                with self.assertRaises(Busy) as cm:
                    handle.close()
                seen[name] = str(cm.exception)
            other.close()  # a handle not in use may go
            with self.e.open(opp.id) as again:  # and opening/closing others is fine
                seen["again"] = again.stage

        self.e.on_after(hook)
        opp.fire("qualify", actor="li", role="rep")
        self.assertIn("its transition is running", seen["opp"])
        self.assertIn("engine", seen["engine"])
        self.assertIn("engine", seen["store"])
        self.assertEqual(seen["again"], "qualified")
        self.assertTrue(other.closed)
        # Nothing was closed by the refused attempts.
        self.assertFalse(opp.closed or self.e.closed or self.s.closed or self.p.closed)
        self.assertEqual((opp.stage, opp.version), ("qualified", 2))

    def test_closing_a_store_closes_engines_and_opportunities_first(self):
        opp = self.e.create(customer="ACME")
        self.s.close()
        self.assertTrue(self.e.closed and opp.closed)
        with self.assertRaises(ValueError):
            opp.fire("qualify", actor="li", role="rep")
        with self.assertRaises(ValueError):
            _ = opp.stage
        with self.assertRaises(ValueError):
            self.e.create(customer="x")
        opp.close()  # idempotent
        self.s.close()


class GarbageCycles(unittest.TestCase):
    def test_cycles_through_hooks_are_freed_children_first(self):
        # engine -> hook -> closure -> opportunity -> engine (and the pipeline
        # and store inside the cycle too). Under the ASan build (ctest in
        # build-asan) a wrong freeing order is a use-after-free report.
        counts = []

        def make():
            p, s, e = new_engine()
            opp = e.create(customer="ACME")
            e.on_after(lambda t: counts.append((opp, p, s, e)))
            opp.fire("qualify", actor="li", role="rep")

        gc.collect()
        for _ in range(200):
            make()
        counts.clear()
        self.assertGreater(gc.collect(), 0)

    def test_callbacks_stay_alive_with_the_engine(self):
        p, s, e = new_engine()
        with p, s, e:
            heard = []
            e.on_after((lambda sink: lambda t: sink.append(t.event))(heard))
            e.register_guard("has_customer", lambda t: True)
            gc.collect()
            opp = e.create()  # no customer: only the Python guard lets it through
            opp.fire("qualify", actor="li", role="rep")
            self.assertEqual(heard, ["qualify"])


class OneThreadAtATime(unittest.TestCase):
    def test_a_second_thread_gets_busy_not_a_race(self):
        p, s, e = new_engine()
        self.addCleanup(p.close)
        self.addCleanup(s.close)
        inside, release = threading.Event(), threading.Event()
        e.on_after(lambda t: (inside.set(), release.wait(10)))
        opp = e.create(customer="ACME")
        worker = threading.Thread(target=opp.fire, args=("qualify",),
                                  kwargs={"actor": "li", "role": "rep"})
        worker.start()
        self.assertTrue(inside.wait(10))
        try:
            with self.assertRaises(Busy) as cm:
                e.create(customer="other thread")
            self.assertIn("another thread", str(cm.exception))
            with self.assertRaises(Busy):
                e.now()
        finally:
            release.set()
            worker.join(10)
        self.assertEqual(opp.stage, "qualified")
        self.assertEqual(len(list(e.scan())), 1)  # the refused create stored nothing


if __name__ == "__main__":
    unittest.main()
