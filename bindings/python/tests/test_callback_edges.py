"""Callbacks that misbehave in unusual ways, closing from other threads, and
arguments that would be truncated on the way into C (found in review)."""

import threading
import unittest

from salesfsm import (Busy, CallbackError, Engine, GuardRefused, InvalidArgument, Opportunity,
                      Pipeline, Report, Store, Vetoed)

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


class Exploding:
    """An object whose every conversion raises."""

    def __bool__(self):
        raise RuntimeError("bool exploded")

    def __repr__(self):
        raise RuntimeError("repr exploded")

    def __str__(self):
        raise RuntimeError("str exploded")


class FalsyBadRepr:
    def __bool__(self):
        return False

    def __repr__(self):
        raise RuntimeError("repr exploded")


class BadStr(Exception):
    def __str__(self):
        raise RuntimeError("str exploded")


class Base(unittest.TestCase):
    def setUp(self):
        self.p, self.s = Pipeline.default(), Store.memory()
        self.e = Engine(self.p, self.s)
        self.e.set_clock(lambda: T0)
        self.addCleanup(self.p.close)
        self.addCleanup(self.s.close)


class ChecksThatBreakWhileRefusing(Base):
    def assert_refused(self, exc_type, opp):
        with self.assertRaises(exc_type):
            opp.fire("qualify", actor="li", role="rep")
        self.assertEqual((opp.stage, opp.version), ("lead", 1))
        self.assertEqual(len(list(opp.history())), 1)

    def test_guard_results_whose_conversions_raise_still_refuse(self):
        for result in (Exploding(), FalsyBadRepr()):
            with self.subTest(type(result).__name__):
                self.e.register_guard("has_customer", lambda t, r=result: r)
                self.assert_refused(GuardRefused, self.e.create(customer="ACME"))

    def test_before_hook_exception_whose_str_raises_still_vetoes(self):
        def hook(_t):
            raise BadStr()
        self.e.on_before(hook)
        opp = self.e.create(customer="ACME")
        with self.assertRaises(Vetoed) as cm:
            opp.fire("qualify", actor="li", role="rep")
        self.assertIsInstance(cm.exception.__cause__, BadStr)
        self.assertIn("BadStr", str(cm.exception))
        self.assertEqual(opp.stage, "lead")


class ClosingFromCallbacks(Base):
    def test_reload_of_the_running_opportunity_is_refused(self):
        opp = self.e.create(customer="ACME")
        self.e.on_after(lambda t: opp.reload())
        with self.assertRaises(CallbackError) as cm:
            opp.fire("qualify", actor="li", role="rep")
        self.assertIsInstance(cm.exception.errors[0], Busy)
        self.assertEqual((opp.stage, opp.version), ("qualified", 2))  # committed, handle intact

    def test_guard_closing_the_opportunity_during_available_events_is_refused(self):
        opp = self.e.create(customer="ACME")
        self.e.register_guard("has_customer", lambda t: opp.close())
        with self.assertRaises(CallbackError) as cm:
            self.e.available_events(opp, actor="li", role="rep")
        self.assertIsInstance(cm.exception.errors[0], Busy)
        self.assertFalse(opp.closed)
        self.assertEqual(opp.stage, "lead")


class GuardsRaisingWhileListingEvents(Base):
    def test_an_ordinary_exception_is_reported_not_hidden(self):
        opp = self.e.create(customer="ACME")

        def typo(t):
            return t.opp.cusomer  # AttributeError: a bug in the guard
        self.e.register_guard("has_customer", typo)
        with self.assertRaises(CallbackError) as cm:
            self.e.available_events(opp, actor="li", role="rep")
        self.assertIsInstance(cm.exception.errors[0], AttributeError)
        self.assertEqual(cm.exception.result, 0)

    def test_keyboard_interrupt_propagates(self):
        opp = self.e.create(customer="ACME")

        def interrupt(_t):
            raise KeyboardInterrupt
        self.e.register_guard("has_customer", interrupt)
        with self.assertRaises(KeyboardInterrupt):
            self.e.available_events(opp, actor="li", role="rep")

    def test_handler_gets_it_when_given(self):
        heard = []
        e = Engine(self.p, self.s, on_callback_error=heard.append)
        opp = e.create(customer="ACME")
        e.register_guard("has_customer", lambda t: 1 / 0)
        events = e.available_events(opp, actor="li", role="rep")
        self.assertNotIn("qualify", events)
        self.assertEqual([type(x) for x in heard], [ZeroDivisionError])


class ClockRaisingDuringCalls(Base):
    def test_what_the_call_made_is_kept_and_handed_over(self):
        calls = [0]

        def clock():
            calls[0] += 1
            raise RuntimeError("clock broke")
        self.e.set_clock(clock)
        with self.assertRaises(CallbackError) as cm:
            self.e.create("x1", customer="ACME")
        made = cm.exception.result
        self.assertIsInstance(made, Opportunity)
        self.assertEqual((made.id, made.stage), ("x1", "lead"))
        self.assertEqual([o.id for o in self.e.scan()], ["x1"])
        with self.assertRaises(CallbackError) as cm:
            self.e.report("stale")
        self.assertIsInstance(cm.exception.result, Report)
        self.assertGreater(calls[0], 0)
        made.close()


class CloseFromAnotherThread(Base):
    def test_store_close_while_another_thread_is_inside_a_call(self):
        inside, release = threading.Event(), threading.Event()
        self.e.on_after(lambda t: (inside.set(), release.wait(10)))
        opp = self.e.create(customer="ACME")
        worker = threading.Thread(target=opp.fire, args=("qualify",),
                                  kwargs={"actor": "li", "role": "rep"})
        worker.start()
        self.assertTrue(inside.wait(10))
        try:
            for handle in (self.s, self.p, self.e, opp):
                with self.assertRaises(Busy) as cm:
                    handle.close()
                self.assertIn("another thread", str(cm.exception))
        finally:
            release.set()
            worker.join(10)
        self.assertFalse(self.e.closed or opp.closed)
        self.assertEqual(opp.stage, "qualified")
        self.s.close()
        self.assertTrue(self.e.closed and opp.closed)


class NoSilentTruncation(Base):
    def test_weights_busy_timeout_and_year_are_checked_not_wrapped(self):
        for weights in ([2**32 + 1, 1, 1, 1], [True, False, False, False], [1.5, 1, 1, 1],
                        [-1, 1, 1, 1]):
            with self.subTest(weights=weights):
                with self.assertRaises(InvalidArgument) as cm:
                    self.e.split_target("li", 2026, 1000, "EUR", weights=weights)
                self.assertIn("weights[0]", str(cm.exception))
        self.assertEqual(self.e.targets(), [])
        for bad in (2**32 + 5, 2.9, True, -1):
            with self.subTest(busy_timeout_ms=bad):
                with self.assertRaises(InvalidArgument):
                    Store.sqlite("/nonexistent/never-created.db", busy_timeout_ms=bad)
        for year in ("2026", 2026.9, True):
            with self.subTest(year=year):
                with self.assertRaises(InvalidArgument):
                    self.e.targets(year=year)

    def test_available_events_needs_an_actor(self):
        opp = self.e.create(customer="ACME")
        with self.assertRaises(InvalidArgument):
            self.e.available_events(opp, actor=None, role=None)


if __name__ == "__main__":
    unittest.main()
