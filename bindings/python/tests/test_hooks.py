"""Hooks and guards as Python callables: vetoes, order, Transition fields, errors, lifetime."""
import gc
import unittest

import salesfsm

from support import DAY, REP, T0, SalesfsmTestCase, SqliteStoreMixin


class BeforeHooks(SalesfsmTestCase):
    def setUp(self):
        super().setUp()
        self.opp = self.create("A", customer="ACME")

    def test_returning_false_vetoes(self):
        self.engine.on_before(lambda t: False, event="qualify")
        with self.assertRaises(salesfsm.Vetoed) as cm:
            self.opp.fire("qualify", **REP)
        self.assertIsNone(cm.exception.__cause__)
        self.assertEqual(self.state("A"), ("lead", 1, 1))
        self.opp.fire("lose", note="other events pass", **REP)  # filtered by event

    def test_other_results_let_it_go_on(self):
        for i, result in enumerate((None, True, 0, "", [])):
            engine = self.new_engine()
            engine.on_before(lambda t, r=result: r)
            opp = self.create(f"P{i}", engine=engine, customer="c")
            opp.fire("qualify", **REP)
            self.assertEqual(opp.stage, "qualified", repr(result))

    def test_raising_vetoes_with_the_text_and_the_cause(self):
        problem = PermissionError("the owner cannot qualify their own deal")

        def four_eyes(t):
            raise problem

        self.engine.on_before(four_eyes)
        with self.assertRaises(salesfsm.Vetoed) as cm:
            self.opp.fire("qualify", **REP)
        self.assertIs(cm.exception.__cause__, problem)
        self.assertIn("the owner cannot qualify their own deal", str(cm.exception))
        self.assertIn("PermissionError", str(cm.exception))
        self.assertEqual(cm.exception.code, -8)
        self.assertEqual((self.opp.stage, self.opp.version), ("lead", 1))
        self.assertEqual(self.state("A"), ("lead", 1, 1))

    def test_first_refusal_stops_the_rest(self):
        calls = []
        self.engine.on_before(lambda t: calls.append(1) or False)
        self.engine.on_before(lambda t: calls.append(2))
        with self.assertRaises(salesfsm.Vetoed):
            self.opp.fire("qualify", **REP)
        self.assertEqual(calls, [1])

    def test_keyboard_interrupt_is_not_dressed_up_as_a_veto(self):
        def stop(t):
            raise KeyboardInterrupt

        self.engine.on_before(stop)
        with self.assertRaises(KeyboardInterrupt):
            self.opp.fire("qualify", **REP)
        self.assertEqual(self.state("A"), ("lead", 1, 1))

    def test_decorator_form(self):
        @self.engine.on_before(event="qualify")
        def no(t):
            return False

        self.assertTrue(callable(no))
        with self.assertRaises(salesfsm.Vetoed):
            self.opp.fire("qualify", **REP)

    def test_not_callable(self):
        with self.assertRaises(salesfsm.InvalidArgument):
            self.engine.on_before(42)


class NotifyHooks(SalesfsmTestCase):
    def setUp(self):
        super().setUp()
        self.log = []
        self.opp = self.create("A", customer="ACME", owner="li")

    def record(self, name):
        def hook(t):
            o = t.opp
            self.log.append((name, t.opp_id, t.event, t.from_stage, t.to_stage, t.actor, t.role,
                             t.note, t.version, t.at_ms, o and (o.stage, o.version, o.title)))
        return hook

    def test_order_and_transition_fields(self):
        e = self.engine
        e.on_after(self.record("after-1"))
        e.on_enter(self.record("enter-qualified"), stage="qualified")
        e.on_enter(self.record("enter-quoted"), stage="quoted")  # not entered: not run
        e.on_exit(self.record("exit-lead"), stage="lead")
        e.on_before(self.record("before"))
        e.register_guard("has_customer", lambda t: self.record("guard")(t) or True)
        e.on_after(self.record("after-2"))
        e.on_after(self.record("after-sign"), event="sign")  # other event: not run
        self.opp.title = "new title"
        now = self.clock.advance(DAY)
        self.opp.fire("qualify", note="met the CTO", **REP)
        common = ("A", "qualify", "lead", "qualified", "Li Wei", "rep", "met the CTO", 2, now)
        # Guards and before hooks see the old stage with the unsaved change;
        # exit/enter/after hooks see the committed result.
        self.assertEqual(self.log, [
            ("guard",) + common + (("lead", 1, "new title"),),
            ("before",) + common + (("lead", 1, "new title"),),
            ("exit-lead",) + common + (("qualified", 2, "new title"),),
            ("enter-qualified",) + common + (("qualified", 2, "new title"),),
            ("after-1",) + common + (("qualified", 2, "new title"),),
            ("after-2",) + common + (("qualified", 2, "new title"),),
        ])

    def test_failed_fire_runs_no_notify_hook(self):
        self.engine.on_after(self.record("after"))
        self.engine.on_exit(self.record("exit"))
        with self.assertRaises(salesfsm.TransitionNotAllowed):
            self.opp.fire("sign", **REP)
        self.assertEqual(self.log, [])

    def test_after_hook_that_raises_gives_callback_error_after_the_commit(self):
        problem = ValueError("mailer is down")

        def mail(t):
            raise problem

        self.engine.on_after(mail, event="qualify")
        self.engine.on_after(self.record("after"))
        with self.assertRaises(salesfsm.CallbackError) as cm:
            self.opp.fire("qualify", **REP)
        self.assertIs(cm.exception.__cause__, problem)
        self.assertEqual(cm.exception.errors, [problem])
        self.assertIn("mailer is down", str(cm.exception))
        self.assertNotIsInstance(cm.exception, salesfsm.SalesfsmError)
        # The fire is committed: handle, store and another engine agree.
        self.assertEqual((self.opp.stage, self.opp.version), ("qualified", 2))
        self.assertEqual([x[0] for x in self.log], ["after"])  # later hooks still ran
        other = self.new_engine()
        with other.open("A") as fresh:
            self.assertEqual((fresh.stage, fresh.version), ("qualified", 2))
        self.opp.fire("lose", note="fine", **REP)  # the handle is current

    def test_every_error_is_kept(self):
        self.engine.on_exit(lambda t: 1 / 0)
        self.engine.on_after(lambda t: [][1])
        with self.assertRaises(salesfsm.CallbackError) as cm:
            self.opp.fire("qualify", **REP)
        self.assertEqual([type(x) for x in cm.exception.errors], [ZeroDivisionError, IndexError])
        self.assertIn("and 1 more", str(cm.exception))

    def test_on_callback_error_handler_gets_them_instead(self):
        got = []
        engine = self.new_engine(on_callback_error=got.append)
        problem = RuntimeError("audit sink full")

        def audit(t):
            raise problem

        engine.on_after(audit)
        with engine.open("A") as opp:
            opp.fire("qualify", **REP)  # no exception
            self.assertEqual(got, [problem])
            self.assertEqual(opp.stage, "qualified")
        self.assertEqual(self.state("A"), ("qualified", 2, 2))

    def test_transition_is_only_valid_during_its_callback(self):
        kept = []
        self.engine.on_after(kept.append)
        self.engine.on_before(kept.append)
        self.opp.fire("qualify", **REP)
        self.assertEqual(len(kept), 2)
        for t in kept:
            for name in ("opp_id", "event", "from_stage", "to_stage", "actor", "note",
                         "version", "at_ms", "opp"):
                with self.assertRaises(RuntimeError, msg=name):
                    getattr(t, name)
            self.assertIn("expired", repr(t))

    def test_callbacks_are_kept_alive_by_the_engine(self):
        counter = [0]

        def register():
            # Only the engine refers to these lambdas once this returns.
            self.engine.on_after(lambda t: counter.__setitem__(0, counter[0] + 1))
            self.engine.register_guard("has_customer", lambda t: t.opp.owner == "li")
            self.engine.on_before(lambda t: t.note != "veto")

        register()
        for _ in range(3):
            gc.collect()
        self.opp.fire("qualify", **REP)
        self.assertEqual(counter[0], 1)
        with self.assertRaises(salesfsm.Vetoed):
            self.opp.fire("lose", note="veto", **REP)
        other = self.create("B", customer="c", owner="wang")
        with self.assertRaises(salesfsm.GuardRefused):
            other.fire("qualify", **REP)
        self.assertEqual(counter[0], 1)

    def test_hooks_may_fire_other_opportunities(self):
        follow = self.create("B", customer="c")
        self.engine.on_after(lambda t: follow.fire("qualify", **REP), event="lose")
        self.opp.fire("lose", note="merged into B", **REP)
        self.assertEqual(self.state("B"), ("qualified", 2, 2))
        self.assertEqual(follow.stage, "qualified")

    def test_closing_a_handle_from_its_own_hook_is_refused(self):
        seen = []

        def close_it(t):
            try:
                self.opp.close()
            except salesfsm.Busy as exc:
                seen.append(exc)

        self.engine.on_after(close_it)
        self.opp.fire("qualify", **REP)
        self.assertEqual(len(seen), 1)
        self.assertFalse(self.opp.closed)
        self.assertEqual(self.opp.stage, "qualified")


class Guards(SalesfsmTestCase):
    def setUp(self):
        super().setUp()
        self.opp = self.create("A", customer="ACME", amount=100, currency="CNY")
        self.opp.fire("qualify", **REP)

    def test_only_a_true_result_passes(self):
        for i, (result, passes) in enumerate([(True, True), (1, True), ("yes", True),
                                              (False, False), (None, False), (0, False),
                                              ("", False)]):
            engine = self.new_engine()
            engine.register_guard("has_amount", lambda t, r=result: r)
            with engine.open("A") as opp:
                if passes:
                    opp.fire("quote", **REP)
                    self.assertEqual(opp.stage, "quoted", repr(result))
                    opp.fire("lose", note="reset", **REP)
                    opp.fire("reopen", actor="m", role="manager")
                    opp.fire("qualify", **REP)
                else:
                    with self.assertRaises(salesfsm.GuardRefused, msg=repr(result)) as cm:
                        opp.fire("quote", **REP)
                    self.assertIn("quote", str(cm.exception))
                    self.assertEqual(opp.stage, "qualified")
                    self.assertNotIn("quote", opp.available_events(**REP))

    def test_raising_refuses_with_the_text_and_the_cause(self):
        problem = ConnectionError("credit bureau unreachable")

        def credit(t):
            raise problem

        self.engine.register_guard("has_amount", credit)
        with self.assertRaises(salesfsm.GuardRefused) as cm:
            self.opp.fire("quote", **REP)
        self.assertIs(cm.exception.__cause__, problem)
        self.assertIn("credit bureau unreachable", str(cm.exception))
        self.assertIn("has_amount", str(cm.exception))
        self.assertEqual(self.state("A"), ("qualified", 2, 2))

    def test_guard_sees_the_transition(self):
        seen = []

        def look(t):
            seen.append((t.opp_id, t.event, t.from_stage, t.to_stage, t.actor, t.role,
                         t.opp.amount))
            return True

        self.engine.register_guard("has_amount", look)
        self.opp.set_amount(250, "CNY")
        self.opp.fire("quote", **REP)
        self.assertEqual(seen, [("A", "quote", "qualified", "quoted", "Li Wei", "rep", 250)])

    def test_replacing_a_builtin_guard(self):
        bare = self.create("B")
        self.engine.register_guard("has_customer", lambda t: True)
        bare.fire("qualify", **REP)  # no customer, but the replacement passes
        self.assertEqual(bare.stage, "qualified")


class Clocks(SalesfsmTestCase):
    def test_the_injected_clock_stamps_everything(self):
        self.assertEqual(self.engine.now(), T0)
        opp = self.create("A", customer="c")
        self.clock.advance(5 * DAY)
        opp.fire("qualify", **REP)
        self.assertEqual((opp.created, opp.updated, opp.stage_entered), (T0, T0 + 5 * DAY,
                                                                         T0 + 5 * DAY))
        self.assertEqual([h.at_ms for h in opp.history()], [T0, T0 + 5 * DAY])

    def test_a_clock_that_raises_is_reported_after_the_call(self):
        problem = OSError("NTP unreachable")

        def broken():
            raise problem

        self.engine.set_clock(broken)
        with self.assertRaises(salesfsm.CallbackError) as cm:
            self.engine.create("A")
        self.assertIs(cm.exception.__cause__, problem)
        self.assertEqual(self.ids(), ["A"])  # the create went through
        got = []
        engine = self.new_engine(on_callback_error=got.append)
        engine.set_clock(broken)
        engine.create("B")
        self.assertEqual(got, [problem])

    def test_a_clock_value_outside_int64_is_an_error_not_a_wrapped_time(self):
        # 2**64 + T0 does not fit the C int64_t: it must be reported (like a
        # clock that raises), never silently wrapped to T0 (or 2**70 to 0).
        for value in (2 ** 64 + T0, 2 ** 70, -(2 ** 63) - 1):
            with self.subTest(value):
                engine = self.new_engine()
                engine.set_clock(lambda v=value: v)
                with self.assertRaises(salesfsm.CallbackError):
                    engine.now()

    def test_restoring_the_system_clock(self):
        self.engine.set_clock(None)  # accepted (the wall clock's value is not asserted)
        self.clock.install(self.engine)
        self.assertEqual(self.engine.now(), T0)
        with self.assertRaises(salesfsm.InvalidArgument):
            self.engine.set_clock(12345)


class HooksOnSqlite(SqliteStoreMixin, SalesfsmTestCase):
    def test_callback_error_fire_is_stored_in_the_file(self):
        opp = self.create("A", customer="c")
        self.engine.on_after(lambda t: 1 / 0)
        with self.assertRaises(salesfsm.CallbackError):
            opp.fire("qualify", **REP)
        opp.close()
        self.engine.close()
        self.store = self.reopen_store(self.store)
        engine = self.new_engine()
        with engine.open("A") as again:
            self.assertEqual((again.stage, again.version, again.updated), ("qualified", 2, T0))


if __name__ == "__main__":
    unittest.main()
