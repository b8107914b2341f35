"""Every error class: its code (from common.h), its message, and that a failure changes nothing."""
import json
import os
import pickle
import tempfile
import unittest

import salesfsm

from support import MANAGER, REP, SUPPORT, SalesfsmTestCase, c_error_codes

CLASSES = {
    "SFSM_EINVAL": salesfsm.InvalidArgument, "SFSM_ENOMEM": salesfsm.OutOfMemory,
    "SFSM_ENOTFOUND": salesfsm.NotFound, "SFSM_EEXISTS": salesfsm.AlreadyExists,
    "SFSM_ETRANSITION": salesfsm.TransitionNotAllowed, "SFSM_EGUARD": salesfsm.GuardRefused,
    "SFSM_EPERM": salesfsm.PermissionDenied, "SFSM_EVETO": salesfsm.Vetoed,
    "SFSM_ECONFLICT": salesfsm.Conflict, "SFSM_ESTORAGE": salesfsm.StorageError,
    "SFSM_EPARSE": salesfsm.ParseError, "SFSM_EVERSION": salesfsm.VersionError,
    "SFSM_EBUSY": salesfsm.Busy,
}


class ErrorTable(unittest.TestCase):
    def test_one_class_per_c_code(self):
        codes = c_error_codes()
        self.assertEqual(set(codes) - {"SFSM_OK"}, set(CLASSES))
        for name, cls in CLASSES.items():
            self.assertTrue(issubclass(cls, salesfsm.SalesfsmError), name)
            self.assertEqual((cls.code, cls.name), (codes[name], name))

    def test_out_of_memory_exists_with_code_minus_2(self):
        self.assertEqual(salesfsm.OutOfMemory.code, -2)
        self.assertTrue(issubclass(salesfsm.OutOfMemory, MemoryError))

    def test_builtin_bases(self):
        self.assertTrue(issubclass(salesfsm.InvalidArgument, ValueError))
        self.assertTrue(issubclass(salesfsm.NotFound, LookupError))

    def test_pickles(self):
        err = salesfsm.Conflict(-9, "opportunity 'A' is at version 2, not 1")
        again = pickle.loads(pickle.dumps(err))
        self.assertIs(type(again), salesfsm.Conflict)
        self.assertEqual((again.code, str(again)), (-9, "opportunity 'A' is at version 2, not 1"))


class Errors(SalesfsmTestCase):
    def setUp(self):
        super().setUp()
        self.opp = self.create("A", customer="ACME", owner="li")

    def assertUnchanged(self, stage="lead", version=1, opp=None):
        opp = opp or self.opp
        self.assertEqual((opp.stage, opp.version), (stage, version))
        self.assertEqual(self.state(opp.id), (stage, version, version))

    def test_invalid_argument(self):
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: self.engine.create("B", amount=500), "amount")
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: self.engine.create("B", amount=5, currency="cny"), "cny")
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: self.engine.create("B", amount=-1, currency="CNY"),
                                 "amount")
        self.assertSalesfsmError(salesfsm.InvalidArgument, lambda: self.engine.create(""), "id")
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: self.engine.create("B", amount="5", currency="CNY"),
                                 "amount")
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: self.engine.create("B", actor="x"), "actor", "role")
        self.assertEqual(self.ids(), ["A"])  # nothing stored
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: self.opp.set_amount(5, "euro"), "euro")
        self.assertSalesfsmError(salesfsm.InvalidArgument,
                                 lambda: setattr(self.opp, "expected_close", -1),
                                 "expected_close")
        self.assertEqual((self.opp.amount, self.opp.expected_close, self.opp.unsaved),
                         (0, 0, frozenset()))
        self.assertUnchanged()

    def test_not_found(self):
        self.assertSalesfsmError(salesfsm.NotFound, lambda: self.engine.open("NOPE"), "NOPE")
        self.assertSalesfsmError(salesfsm.NotFound, lambda: list(self.engine.history("NOPE")),
                                 "NOPE")
        self.assertSalesfsmError(salesfsm.NotFound,
                                 lambda: self.opp.fire("qualfy", **REP), "qualfy")
        self.assertSalesfsmError(salesfsm.NotFound,
                                 lambda: self.opp.fire("qualify", actor="x", role="boss"), "boss")
        self.assertSalesfsmError(salesfsm.NotFound,
                                 lambda: self.engine.create("B", actor="x", role="boss"), "boss")
        self.assertSalesfsmError(salesfsm.NotFound,
                                 lambda: self.engine.on_after(print, event="win"), "win")
        self.assertSalesfsmError(salesfsm.NotFound,
                                 lambda: self.engine.on_enter(print, stage="won"), "won")
        self.assertSalesfsmError(salesfsm.NotFound,
                                 lambda: self.engine.register_guard("credit", bool), "credit")
        self.assertEqual(self.ids(), ["A"])
        self.assertUnchanged()

    def test_already_exists(self):
        self.assertSalesfsmError(salesfsm.AlreadyExists,
                                 lambda: self.engine.create("A", customer="Other"), "'A'")
        self.assertUnchanged()
        with self.engine.open("A") as again:
            self.assertEqual(again.customer, "ACME")

    def test_transition_not_allowed(self):
        self.assertSalesfsmError(salesfsm.TransitionNotAllowed,
                                 lambda: self.opp.fire("sign", **MANAGER), "sign", "lead")
        self.assertUnchanged()

    def test_guard_refused(self):
        bare = self.create("B")
        self.assertSalesfsmError(salesfsm.GuardRefused,
                                 lambda: bare.fire("qualify", **REP), "has_customer", "'B'")
        self.assertUnchanged(opp=bare)
        self.opp.fire("qualify", **REP)
        self.assertSalesfsmError(salesfsm.GuardRefused,
                                 lambda: self.opp.fire("quote", **REP), "has_amount")
        self.assertUnchanged("qualified", 2)

    def test_guard_refusal_keeps_unsaved_changes_unsaved(self):
        self.opp.title = "pending"
        self.assertSalesfsmError(salesfsm.GuardRefused, lambda: self.opp.fire("lose", **REP),
                                 "has_reason")
        self.assertEqual((self.opp.title, self.opp.unsaved), ("pending", frozenset({"title"})))
        with self.engine.open("A") as stored:
            self.assertIsNone(stored.title)

    def test_permission_denied(self):
        self.assertSalesfsmError(salesfsm.PermissionDenied,
                                 lambda: self.opp.fire("qualify", **SUPPORT), "support", "qualify")
        self.assertUnchanged()

    def test_vetoed(self):
        self.engine.on_before(lambda t: False, event="qualify")
        self.assertSalesfsmError(salesfsm.Vetoed, lambda: self.opp.fire("qualify", **REP),
                                 "qualify", "'A'")
        self.assertUnchanged()

    def test_conflict_between_two_handles(self):
        other = self.engine.open("A")
        self.addCleanup(other.close)
        self.opp.fire("qualify", **REP)
        other.title = "stale"
        self.assertSalesfsmError(salesfsm.Conflict, lambda: other.fire("lose", note="x", **REP),
                                 "'A'")
        self.assertEqual((other.stage, other.version), ("lead", 1))
        self.assertSalesfsmError(salesfsm.Conflict, lambda: other.save(), "'A'")
        self.assertEqual(other.unsaved, frozenset({"title"}))
        self.assertEqual(self.state("A"), ("qualified", 2, 2))
        with self.engine.open("A") as stored:
            self.assertIsNone(stored.title)
        other.reload()
        other.fire("lose", note="x", **REP)  # after a reload it works
        self.assertEqual(self.state("A"), ("lost", 3, 3))

    def test_storage_error_for_a_file_that_is_not_sqlite(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "notes.db")
            content = b"this is a text file, not a database\n" * 100
            with open(path, "wb") as f:
                f.write(content)
            self.assertSalesfsmError(salesfsm.StorageError,
                                     lambda: salesfsm.Store.sqlite(path), "notes.db")
            with open(path, "rb") as f:
                self.assertEqual(f.read(), content)  # left as it was

    def test_not_found_for_a_missing_file_without_create(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "missing.db")
            self.assertSalesfsmError(salesfsm.NotFound,
                                     lambda: salesfsm.Store.sqlite(path, create=False),
                                     "missing.db")
            self.assertFalse(os.path.exists(path))

    def test_parse_error(self):
        exc = self.assertSalesfsmError(salesfsm.ParseError,
                                       lambda: salesfsm.Pipeline.from_json('{"name": "x",'),
                                       "malformed JSON")
        self.assertRegex(str(exc), r"byte \d+")
        doc = json.loads(self.pipeline.to_json())
        doc["stages"][0]["probabilty"] = 3
        self.assertSalesfsmError(salesfsm.ParseError,
                                 lambda: salesfsm.Pipeline.from_json(json.dumps(doc)),
                                 "stages[0].probabilty")

    def test_version_error(self):
        doc = json.loads(self.pipeline.to_json())
        doc["format_version"] = 2
        self.assertSalesfsmError(salesfsm.VersionError,
                                 lambda: salesfsm.Pipeline.from_json(json.dumps(doc)),
                                 "format_version", "2")
        doc["format_version"], doc["format"] = 1, "salesfsm-opportunities"
        self.assertSalesfsmError(salesfsm.VersionError,
                                 lambda: salesfsm.Pipeline.from_json(json.dumps(doc)),
                                 "salesfsm-opportunities")
        export = json.loads(self.engine.export_json())
        export["version"] = 2
        with salesfsm.Store.memory() as store:
            engine = self.new_engine(store)
            self.assertSalesfsmError(salesfsm.VersionError,
                                     lambda: engine.import_json(json.dumps(export)), "version")
            self.assertEqual(self.ids(engine), [])
            engine.close()

    def test_busy_begin_twice(self):
        self.engine.begin()
        self.assertSalesfsmError(salesfsm.Busy, self.engine.begin, "batch")
        self.assertTrue(self.engine.in_batch)
        self.opp.fire("qualify", **REP)  # the first batch goes on
        self.engine.commit()
        self.assertEqual(self.state("A"), ("qualified", 2, 2))

    def test_busy_firing_the_same_opportunity_from_its_after_hook(self):
        seen = []

        def again(t):
            try:
                self.opp.fire("lose", note="from a hook", **REP)
            except salesfsm.SalesfsmError as exc:
                seen.append(exc)

        self.engine.on_after(again, event="qualify")
        self.opp.fire("qualify", **REP)
        [exc] = seen
        self.assertIs(type(exc), salesfsm.Busy)
        self.assertEqual(exc.code, c_error_codes()["SFSM_EBUSY"])
        self.assertIn("'A'", str(exc))
        self.assertUnchanged("qualified", 2)  # the outer fire stored; the inner did nothing

    def test_busy_unhandled_in_a_hook_surfaces_as_callback_error(self):
        self.engine.on_after(lambda t: self.opp.fire("lose", note="x", **REP), event="qualify")
        with self.assertRaises(salesfsm.CallbackError) as cm:
            self.opp.fire("qualify", **REP)
        self.assertIsInstance(cm.exception.__cause__, salesfsm.Busy)
        self.assertUnchanged("qualified", 2)

    def test_busy_when_another_engine_of_this_thread_holds_the_store(self):
        other = self.new_engine()
        other.begin()
        self.assertSalesfsmError(salesfsm.Busy, lambda: self.engine.create("B"), "batch")
        other.rollback()
        self.assertEqual(self.ids(), ["A"])

    def test_error_after_failure_does_not_leak_a_stale_message(self):
        # A Python-side refusal never reports the library's previous message.
        self.assertSalesfsmError(salesfsm.NotFound, lambda: self.engine.open("GONE"), "GONE")
        exc = self.assertSalesfsmError(salesfsm.InvalidArgument,
                                       lambda: self.engine.create(42), "id")
        self.assertNotIn("GONE", str(exc))


if __name__ == "__main__":
    unittest.main()
