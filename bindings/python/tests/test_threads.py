"""Threads: one engine per thread on one store; exact counts; conflicts only as Conflict."""
import collections
import os
import tempfile
import threading
import unittest

import salesfsm

from support import T0

THREADS = 4
PER_THREAD = 25
TIMEOUT = 60


class ThreadTests:
    """Subclasses say how each thread gets its store (store_for_thread)."""

    def setUp(self):
        self.pipeline = salesfsm.Pipeline.default()
        self.addCleanup(self.pipeline.close)
        tmp = tempfile.TemporaryDirectory(prefix="salesfsm-threads-")
        self.addCleanup(tmp.cleanup)
        self.path = os.path.join(tmp.name, "shared.db")
        self.main_store = salesfsm.Store.sqlite(self.path, synchronous="off")
        self.addCleanup(self.main_store.close)
        self.engine = salesfsm.Engine(self.pipeline, self.main_store)
        self.addCleanup(self.engine.close)
        self.engine.set_clock(lambda: T0)
        self.engine.create("HOT", customer="c").close()
        for i in range(PER_THREAD):
            self.engine.create(f"RACE-{i}", customer="c").close()

    def run_threads(self):
        barrier = threading.Barrier(THREADS, timeout=TIMEOUT)
        outcomes = [None] * THREADS

        def work(k):
            result = {"saved": [], "race_won": [], "errors": collections.Counter(),
                      "unexpected": [], "hooks": 0}
            outcomes[k] = result
            store = self.store_for_thread()
            t = [T0 + k]
            try:
                engine = salesfsm.Engine(self.pipeline, store)
                engine.set_clock(lambda: t[0])
                engine.on_after(lambda tr: result.__setitem__("hooks", result["hooks"] + 1))
                barrier.wait()
                for i in range(PER_THREAD):
                    t[0] += 1000
                    opp = engine.create(f"T{k}-{i}", customer="c", owner=f"rep{k}",
                                        amount=100 * (i + 1), currency="CNY")
                    opp.fire("qualify", actor=f"rep{k}", role="rep")
                    opp.fire("quote", actor=f"rep{k}", role="rep", note=f"{k}/{i}")
                    opp.close()
                    # Contended: every thread edits HOT; a stale save is a Conflict.
                    with engine.open("HOT") as hot:
                        hot.title = f"{k}-{i}"
                        try:
                            hot.save(actor=f"rep{k}", role="rep")
                            result["saved"].append(hot.title)
                        except salesfsm.Conflict:
                            result["errors"]["conflict"] += 1
                    # Raced: all threads hold RACE-i at version 1, then all fire.
                    race = engine.open(f"RACE-{i}")
                    barrier.wait()
                    try:
                        race.fire("qualify", actor=f"rep{k}", role="rep")
                        result["race_won"].append(i)
                    except salesfsm.Conflict:
                        result["errors"]["race conflict"] += 1
                    race.close()
                engine.close()
            except BaseException as exc:  # reported by the main thread
                result["unexpected"].append(exc)
                barrier.abort()
            finally:
                if store is not self.main_store:
                    store.close()

        threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(TIMEOUT)
            self.assertFalse(th.is_alive(), "a worker thread hung")
        return outcomes

    def test_concurrent_creates_fires_and_conflicts(self):
        outcomes = self.run_threads()
        for k, result in enumerate(outcomes):
            self.assertEqual(result["unexpected"], [], f"thread {k}")
            self.assertEqual(result["hooks"], 2 * PER_THREAD + len(result["race_won"]))
            self.assertEqual(set(result["errors"]) - {"conflict", "race conflict"}, set())

        e = self.engine
        infos = list(e.scan())
        self.assertEqual(len(infos), 1 + PER_THREAD + THREADS * PER_THREAD)
        for k in range(THREADS):
            mine = list(e.scan(owner=f"rep{k}"))
            self.assertEqual([x.id for x in mine], [f"T{k}-{i}" for i in range(PER_THREAD)])
            for i, info in enumerate(mine):
                self.assertEqual((info.stage, info.version, info.amount), ("quoted", 3, 100 * (i + 1)))
                history = list(e.history(info.id))
                self.assertEqual([(h.version, h.event, h.actor) for h in history],
                                 [(1, None, None), (2, "qualify", f"rep{k}"),
                                  (3, "quote", f"rep{k}")])
                self.assertEqual(history[2].note, f"{k}/{i}")

        # HOT: one version per successful save, and the stored titles are exactly those.
        saved = [title for r in outcomes for title in r["saved"]]
        conflicts = sum(r["errors"]["conflict"] for r in outcomes)
        self.assertEqual(len(saved) + conflicts, THREADS * PER_THREAD)
        self.assertGreater(len(saved), 0)
        hot_history = list(e.history("HOT"))
        with e.open("HOT") as hot:
            self.assertEqual(hot.version, 1 + len(saved))
        self.assertEqual(len(hot_history), 1 + len(saved))
        self.assertEqual(sorted(h.changes["title"] for h in hot_history[1:]), sorted(saved))
        self.assertTrue(all(h.kind == salesfsm.HistoryKind.UPDATE for h in hot_history[1:]))

        # RACE-i: exactly one winner each; every loser saw a Conflict.
        winners = collections.Counter(i for r in outcomes for i in r["race_won"])
        self.assertEqual(winners, collections.Counter(range(PER_THREAD)))
        self.assertEqual(sum(r["errors"]["race conflict"] for r in outcomes),
                         (THREADS - 1) * PER_THREAD)
        for i in range(PER_THREAD):
            with e.open(f"RACE-{i}") as race:
                self.assertEqual((race.stage, race.version), ("qualified", 2))
            self.assertEqual(len(list(e.history(f"RACE-{i}"))), 2)

        # Reports see every thread's data.
        [row] = [r for r in e.report("pipeline").records() if r["stage"] == "quoted"]
        self.assertEqual(row["count"], THREADS * PER_THREAD)
        self.assertEqual(row["amount"], THREADS * 100 * PER_THREAD * (PER_THREAD + 1) // 2)


class OneEnginePerThread(unittest.TestCase):
    def test_a_second_thread_gets_busy_while_the_first_is_inside_a_call(self):
        with salesfsm.Pipeline.default() as p, salesfsm.Store.memory() as s, \
                salesfsm.Engine(p, s) as engine:
            engine.set_clock(lambda: T0)
            inside, release = threading.Event(), threading.Event()

            def slow(t):
                inside.set()
                release.wait(TIMEOUT)

            engine.on_after(slow, event="qualify")
            opp = engine.create("A", customer="c")
            errors = []

            def first():
                try:
                    opp.fire("qualify", actor="li", role="rep")
                except BaseException as exc:
                    errors.append(exc)

            worker = threading.Thread(target=first)
            worker.start()
            try:
                self.assertTrue(inside.wait(TIMEOUT))
                for name, use in (("create", lambda: engine.create("B")),
                                  ("scan", lambda: list(engine.scan())),
                                  ("report", lambda: engine.report("pipeline")),
                                  ("close", engine.close)):
                    with self.subTest(name):
                        with self.assertRaises(salesfsm.Busy) as cm:
                            use()
                        self.assertEqual(cm.exception.code, -13)
            finally:
                release.set()
                worker.join(TIMEOUT)
            self.assertEqual(errors, [])
            self.assertFalse(engine.closed)
            # Once the first thread is out, this one may use the engine.
            self.assertEqual([x.id for x in engine.scan()], ["A"])
            self.assertEqual(engine.create("B").stage, "lead")


class SharedStoreThreads(ThreadTests, unittest.TestCase):
    """One Store object, shared by every thread's engine."""

    def store_for_thread(self):
        return self.main_store


class StorePerThread(ThreadTests, unittest.TestCase):
    """Each thread opens the SQLite file itself."""

    def store_for_thread(self):
        return salesfsm.Store.sqlite(self.path, synchronous="off")


if __name__ == "__main__":
    unittest.main()
