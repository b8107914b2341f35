"""Shared helpers for the salesfsm binding tests (standard library only).

Every test module imports salesfsm the same way: the package from PYTHONPATH
(bindings/python) and the shared library from SALESFSM_LIBRARY, e.g.

    cd /work/main && SALESFSM_LIBRARY=$PWD/build/lib/libsalesfsm.so.0 \
        PYTHONPATH=bindings/python python3 -m unittest discover -s bindings/python/tests -v

Time is always injected (Clock below): no test reads the wall clock.
"""
import os
import re
import tempfile
import unittest

import salesfsm

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)                       # bindings/python
REPO_ROOT = os.path.dirname(os.path.dirname(PACKAGE_ROOT))  # the project
COMMON_H = os.path.join(REPO_ROOT, "include", "salesfsm", "common.h")

DAY = 86_400_000
HOUR = 3_600_000
T0 = 1_767_571_200_000  # 2026-01-05T00:00:00Z, a Monday in 2026-Q1

REP = {"actor": "Li Wei", "role": "rep"}
MANAGER = {"actor": "Zhang Min", "role": "manager"}
ASSISTANT = {"actor": "Zhao Li", "role": "assistant"}
SUPPORT = {"actor": "Sun Hao", "role": "support"}

# The default pipeline's way from lead to serviced, each event fired by a
# role the pipeline allows (pipeline.events: service is not a rep's event).
HAPPY_PATH = [("qualify", REP, "qualified"), ("quote", REP, "quoted"),
              ("negotiate", REP, "negotiating"), ("sign", MANAGER, "signed"),
              ("deliver", ASSISTANT, "delivered"), ("service", SUPPORT, "serviced")]


def c_error_codes():
    """{"SFSM_EINVAL": -1, ...} read from the C header, the source of truth."""
    with open(COMMON_H, encoding="utf-8") as f:
        text = f.read()
    return {name: int(value) for name, value in
            re.findall(r"X\((SFSM_[A-Z]+),\s*(-?\d+),", text)}


class Clock:
    """A settable clock; install() makes an engine read it (engine.set_clock)."""

    def __init__(self, start=T0):
        self.t = [start]

    @property
    def now(self):
        return self.t[0]

    def advance(self, ms):
        self.t[0] += ms
        return self.t[0]

    def install(self, engine):
        t = self.t
        engine.set_clock(lambda: t[0])
        return engine


class StoreFactory:
    """Makes stores of one kind; subclasses are mixed into test classes."""
    store_kind = None

    def make_store(self):
        raise NotImplementedError


class MemoryStoreMixin(StoreFactory):
    store_kind = "memory"

    def make_store(self):
        return salesfsm.Store.memory()

    def reopen_store(self, old):
        """Memory stores do not survive close(): hand back the same one."""
        return old


class SqliteStoreMixin(StoreFactory):
    store_kind = "sqlite"

    def make_store(self):
        if not hasattr(self, "_sqlite_dir"):
            self._sqlite_dir = tempfile.TemporaryDirectory(prefix="salesfsm-py-")
            self.addCleanup(self._sqlite_dir.cleanup)
            self.db_path = os.path.join(self._sqlite_dir.name, "sales.db")
        return salesfsm.Store.sqlite(self.db_path, synchronous="normal")

    def reopen_store(self, old):
        """Closes the store and opens the file again: only stored data survives."""
        old.close()
        return salesfsm.Store.sqlite(self.db_path, synchronous="normal", create=False)


class SalesfsmTestCase(unittest.TestCase):
    """Pipeline, store, clock and engine for each test, closed afterwards."""

    def setUp(self):
        self.clock = Clock()
        self.pipeline = salesfsm.Pipeline.default()
        self.addCleanup(self.pipeline.close)
        self.store = self.make_store() if isinstance(self, StoreFactory) else salesfsm.Store.memory()
        self.addCleanup(lambda: self.store.close())
        self.engine = self.new_engine()

    def new_engine(self, store=None, **kwargs):
        """A new engine on the test's pipeline and (by default) store, on the test clock."""
        engine = salesfsm.Engine(self.pipeline, store or self.store, **kwargs)
        self.addCleanup(engine.close)
        return self.clock.install(engine)

    def create(self, id=None, engine=None, **fields):
        opp = (engine or self.engine).create(id, **fields)
        self.addCleanup(opp.close)
        return opp

    def fire_path(self, opp, until="serviced", step_ms=DAY):
        """Fires the happy path from opp's stage until it reaches `until`."""
        names = [to for _, _, to in HAPPY_PATH]
        start = names.index(opp.stage) + 1 if opp.stage in names else 0
        for event, who, to in HAPPY_PATH[start:]:
            self.clock.advance(step_ms)
            opp.fire(event, **who)
            self.assertEqual(opp.stage, to)
            if to == until:
                break

    def state(self, opp_id, engine=None):
        """(stage, version, number of history entries) as stored."""
        engine = engine or self.engine
        with engine.open(opp_id) as fresh:
            return fresh.stage, fresh.version, len(list(engine.history(opp_id)))

    def ids(self, engine=None, **filters):
        return [info.id for info in (engine or self.engine).scan(**filters)]

    def assertSalesfsmError(self, cls, fn, *names):
        """fn() raises exactly cls, a SalesfsmError whose .code is the C code
        of that name and whose message names every string in names."""
        codes = c_error_codes()
        with self.assertRaises(cls) as cm:
            fn()
        exc = cm.exception
        self.assertIs(type(exc), cls, f"raised {type(exc).__name__}: {exc}")
        self.assertIsInstance(exc, salesfsm.SalesfsmError)
        self.assertEqual(exc.code, codes[cls.name], f"{cls.__name__}.code")
        self.assertEqual(exc.code, cls.code)
        for name in names:
            self.assertIn(name, str(exc))
        return exc
