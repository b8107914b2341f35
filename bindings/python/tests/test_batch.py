"""Batches: one storage transaction; hooks at commit; rollback on an exception."""
import unittest

import salesfsm

from support import REP, MemoryStoreMixin, SalesfsmTestCase, SqliteStoreMixin


class BatchTests:
    def setUp(self):
        super().setUp()
        self.log = []
        self.engine.on_after(lambda t: self.log.append((t.opp_id, t.event, t.opp)))
        self.engine.on_enter(lambda t: self.log.append((t.opp_id, "enter " + t.to_stage, t.opp)))

    def test_with_block_commits(self):
        with self.engine.batch() as engine:
            self.assertIs(engine, self.engine)
            self.assertTrue(self.engine.in_batch)
            a = self.create("A", customer="c")
            a.fire("qualify", **REP)
            b = self.create("B", customer="c")
            self.assertEqual(self.log, [])  # hooks wait for the commit
        self.assertFalse(self.engine.in_batch)
        # At commit, in order, with no handle (it may be gone by then).
        self.assertEqual(self.log, [("A", "enter qualified", None), ("A", "qualify", None)])
        self.assertEqual(self.ids(), ["A", "B"])
        self.assertEqual(self.state("A"), ("qualified", 2, 2))
        self.assertEqual(b.version, 1)
        other = self.new_engine()
        self.assertEqual(self.ids(other), ["A", "B"])

    def test_exception_rolls_back_and_propagates(self):
        self.create("KEEP", customer="c")
        problem = KeyError("boom")
        with self.assertRaises(KeyError) as cm:
            with self.engine.batch():
                a = self.create("A", customer="c")
                a.fire("qualify", **REP)
                keep = self.engine.open("KEEP")
                self.addCleanup(keep.close)
                keep.fire("qualify", **REP)
                raise problem
        self.assertIs(cm.exception, problem)
        self.assertFalse(self.engine.in_batch)
        self.assertEqual(self.log, [])  # no hook ran
        self.assertEqual(self.ids(), ["KEEP"])  # nothing of the batch stored
        self.assertEqual(self.state("KEEP"), ("lead", 1, 1))
        with self.assertRaises(salesfsm.NotFound):
            self.engine.open("A")
        # The handle changed in the rolled-back batch is ahead of the store.
        with self.assertRaises(salesfsm.Conflict):
            keep.fire("lose", note="x", **REP)
        self.assertEqual(self.state("KEEP"), ("lead", 1, 1))

    def test_explicit_begin_commit(self):
        self.engine.begin()
        self.assertTrue(self.engine.in_batch)
        a = self.create("A", customer="c")
        a.fire("qualify", **REP)
        self.assertEqual(self.log, [])
        self.engine.commit()
        self.assertFalse(self.engine.in_batch)
        self.assertEqual([x[1] for x in self.log], ["enter qualified", "qualify"])
        self.assertEqual(self.state("A"), ("qualified", 2, 2))

    def test_explicit_begin_rollback(self):
        self.engine.begin()
        self.create("A", customer="c").fire("qualify", **REP)
        self.engine.rollback()
        self.assertFalse(self.engine.in_batch)
        self.assertEqual(self.ids(), [])
        self.assertEqual(self.log, [])
        self.engine.begin()  # a new batch can start
        self.create("B")
        self.engine.commit()
        self.assertEqual(self.ids(), ["B"])

    def test_commit_or_rollback_without_begin(self):
        for fn in (self.engine.commit, self.engine.rollback):
            self.assertSalesfsmError(salesfsm.InvalidArgument, fn, "no batch")
            self.assertFalse(self.engine.in_batch)

    def test_refused_fire_inside_a_batch_does_not_end_it(self):
        with self.engine.batch():
            a = self.create("A")
            with self.assertRaises(salesfsm.GuardRefused):
                a.fire("qualify", **REP)  # no customer
            a.customer = "c"
            a.fire("qualify", **REP)
        self.assertEqual(self.state("A"), ("qualified", 2, 2))

    def test_after_hook_raising_at_commit(self):
        self.engine.on_after(lambda t: 1 / 0)
        self.engine.begin()
        self.create("A", customer="c").fire("qualify", **REP)
        with self.assertRaises(salesfsm.CallbackError):
            self.engine.commit()
        self.assertFalse(self.engine.in_batch)
        self.assertEqual(self.state("A"), ("qualified", 2, 2))  # committed all the same

    def test_import_inside_a_rolled_back_batch_is_removed(self):
        self.create("X", customer="c")
        doc = self.engine.export_json()
        store = salesfsm.Store.memory()
        self.addCleanup(store.close)
        other = self.new_engine(store)
        with self.assertRaises(RuntimeError):
            with other.batch():
                self.assertEqual(other.import_json(doc), 1)
                raise RuntimeError("changed my mind")
        self.assertEqual(self.ids(other), [])


class MemoryBatch(MemoryStoreMixin, BatchTests, SalesfsmTestCase):
    pass


class SqliteBatch(SqliteStoreMixin, BatchTests, SalesfsmTestCase):
    pass


if __name__ == "__main__":
    unittest.main()
