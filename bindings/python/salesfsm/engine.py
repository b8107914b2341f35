"""Engines: one pipeline bound to one store; firing, hooks, guards, batches."""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ._callbacks import CallbackError, CallbackState, Transition
from ._engine_data import EngineData
from ._handle import Handle
from ._lib import (CLOCK_FN, CREATE_OPTIONS_VERSION, FILTER_VERSION, MIGRATE_CB, SCAN_CB,
                   CreateOptions, Filter, decode, encode, int64, lib)
from .errors import Busy, GuardRefused, InvalidArgument, Vetoed, error_for
from .opportunity import Opportunity, OpportunityInfo, _actor, read_history
from .periods import to_ms
from .pipeline import Pipeline
from .store import Store

_REFUSALS = (GuardRefused.code, Vetoed.code)
_fire = lib.sfsm_fire


@dataclass(frozen=True)
class Migration:
    """One opportunity moved by Engine.migrate()."""
    id: str
    from_version: int
    from_stage: str
    to_stage: str


class Engine(EngineData, Handle):
    """Binds a pipeline to a store; use it from one thread at a time.

    Many engines (one per thread) may share one store and one pipeline. The
    engine keeps both alive; close() (or the with-block, or garbage
    collection) frees it, after closing the opportunities opened through it.

    on_callback_error, if given, receives each exception an exit, enter or
    after hook (or the clock) raised; by default they are raised as one
    CallbackError when the call that ran the hooks returns.
    """

    _kind = "engine"

    def __init__(self, pipeline: Pipeline, store: Store, *,
                 on_callback_error: Optional[Callable[[BaseException], Any]] = None):
        if not isinstance(pipeline, Pipeline):
            raise InvalidArgument(-1, f"pipeline: expected Pipeline, got {type(pipeline).__name__}")
        if not isinstance(store, Store):
            raise InvalidArgument(-1, f"store: expected Store, got {type(store).__name__}")
        out = ctypes.c_void_p()
        self._cb = CallbackState()
        self._depth = 0  # library calls of this engine running (callbacks may nest them)
        # An engine is for one thread at a time; a second thread gets Busy
        # rather than racing the first inside the library. Re-entrant: hooks
        # call back into their own engine.
        self._lock = threading.RLock()
        self._firing: list[Opportunity] = []  # handles whose transition is running
        self._names: dict[str, bytes] = {}
        self._actors: dict[tuple, object] = {}
        self._batch_open = False
        self.on_callback_error = on_callback_error
        self._call(lib.sfsm_engine_new, ctypes.byref(out), pipeline, store)
        super().__init__(out, lib.sfsm_engine_free, (pipeline, store))
        self.pipeline = pipeline
        self.store = store

    def close(self) -> None:
        """Frees the engine (an open batch is rolled back) after its opportunities.
        Raises Busy, closing nothing, from inside one of the engine's own
        callbacks or while another thread is inside a call of this engine."""
        super().close()
        self._batch_open = False

    def _close_lock(self):
        return self._lock

    def _in_use(self) -> Optional[str]:
        if not self._depth:
            return None
        if self._lock.acquire(False):  # re-entrant: succeeds on the calling thread
            self._lock.release()
            return "a call of this engine is running (closed from one of its callbacks)"
        return "another thread is inside a call of its engine"

    # ---- calling the library ----
    def _invoke(self, fn, args, opp: Optional[Opportunity] = None):
        """Runs fn(*args) holding the engine: (rc, mark, refusal).

        Handles among args become pointers only once the engine is held, so
        another thread cannot free them in between. opp is the handle whose
        transition runs (guards may see it), which must not be closed meanwhile.
        """
        if not self._lock.acquire(False):
            raise _other_thread()
        state = self._cb
        saved, state.refusal = state.refusal, None
        mark = len(state.after_errors)
        self._depth += 1
        if opp is not None:
            self._firing.append(opp)
        try:
            rc = fn(*[a._p() if isinstance(a, Handle) else a for a in args])
            refusal = state.refusal
        finally:
            state.refusal = saved
            if opp is not None:
                self._firing.pop()
            self._depth -= 1
            self._lock.release()
        return rc, mark, refusal

    def _settle(self, rc: int, mark: int, refusal: Optional[BaseException], wrap=None):
        """After _invoke: raises the error of a failure (chained to the callback
        exception behind it); otherwise takes ownership of what the call made
        (wrap()) before reporting what callbacks raised, so nothing leaks."""
        if rc < 0:
            self._fail(rc, refusal, mark)
        result = wrap() if wrap is not None else rc
        if refusal is not None:  # a guard raised in a call that went on (available_events)
            if not isinstance(refusal, Exception):
                raise refusal
            self._cb.after_errors.append(refusal)
        if len(self._cb.after_errors) > mark:
            self._report_callback_errors(mark, result)
        return result

    def _call(self, fn, *args, opp: Optional[Opportunity] = None) -> int:
        """Calls fn; raises the error for a failure, chained to a callback's exception."""
        return self._settle(*self._invoke(fn, args, opp))

    def _fire(self, opp: Opportunity, event: str, actor: str, role: str,
              note: Optional[str]) -> None:
        # _invoke and _settle inlined, names and actors cached: the path W1 measures.
        ev = self._names.get(event)
        if ev is None:
            ev = self._remember(self._names, event, encode(event, "event"))
        act = self._actors.get((actor, role))
        if act is None:
            a = _actor(actor, role)
            act = self._remember(self._actors, (actor, role), ctypes.pointer(a) if a else None)
        note_b = None if note is None else encode(note, "note")
        if not self._lock.acquire(False):
            raise _other_thread()
        ptr = opp._ptr
        if ptr is None:
            self._lock.release()
            opp._p()  # raises: the handle is closed
        state = self._cb
        saved, state.refusal = state.refusal, None
        mark = len(state.after_errors)
        self._depth += 1
        self._firing.append(opp)
        try:
            rc = _fire(self._ptr, ptr, ev, act, note_b)
            refusal = state.refusal
        finally:
            state.refusal = saved
            self._depth -= 1
            self._firing.pop()
            self._lock.release()
        if rc < 0:
            self._fail(rc, refusal, mark)
        if len(state.after_errors) > mark:
            self._report_callback_errors(mark, None)

    @staticmethod
    def _remember(cache: dict, key, value):
        if len(cache) < 256:  # bounded: names come from a program, not from data
            cache[key] = value
        return value

    def _fail(self, rc: int, refusal: Optional[BaseException], mark: int):
        err = error_for(rc)
        pending = self._cb.after_errors[mark:]
        del self._cb.after_errors[mark:]
        if refusal is not None and rc in _REFUSALS:
            if not isinstance(refusal, Exception):
                raise refusal  # KeyboardInterrupt, SystemExit: not a refusal to dress up
            raise err from refusal
        if pending:
            raise err from pending[0]
        raise err

    def _report_callback_errors(self, mark: int, result) -> None:
        errors = self._cb.after_errors[mark:]
        del self._cb.after_errors[mark:]
        for exc in errors:
            if not isinstance(exc, Exception):
                raise exc
        if self.on_callback_error is not None:
            for exc in errors:
                self.on_callback_error(exc)
            return
        raise CallbackError(errors, result) from errors[0]

    # ---- clock ----
    def set_clock(self, now_ms: Optional[Callable[[], int]]) -> None:
        """Replaces the clock with a callable returning ms since the epoch (None: system)."""
        if now_ms is not None and not callable(now_ms):
            raise InvalidArgument(-1, f"clock: {now_ms!r} is not callable")
        cfn = CLOCK_FN() if now_ms is None else self._cb.clock(now_ms)
        self._call(lib.sfsm_engine_set_clock, self, cfn, None)
        self._clock = cfn  # the library holds its address until the next set_clock

    def now(self) -> int:
        """The engine clock's current time, ms."""
        value, mark, refusal = self._invoke(lib.sfsm_engine_now, (self,))
        return self._settle(0, mark, refusal, wrap=lambda: value)

    # ---- hooks and guards ----
    def _hook(self, register, filt_what: str, filt: Optional[str], fn, make):
        if fn is None:  # used as a decorator: @engine.on_after(event="sign")
            return lambda f: self._hook(register, filt_what, filt, f, make)
        if not callable(fn):
            raise InvalidArgument(-1, f"hook: {fn!r} is not callable")
        self._call(register, self, encode(filt, filt_what), make(fn), None)
        return fn

    def on_before(self, fn: Optional[Callable[[Transition], Any]] = None, *,
                  event: Optional[str] = None):
        """Runs fn(transition) before the commit. Returning False or raising vetoes
        (Vetoed, with the exception's text); anything else lets it go on."""
        return self._hook(lib.sfsm_engine_on_before, "event", event, fn,
                          lambda f: self._cb.check(f, False, "before hook"))

    def on_after(self, fn=None, *, event: Optional[str] = None):
        """Runs fn(transition) after the commit (in a batch: at commit)."""
        return self._hook(lib.sfsm_engine_on_after, "event", event, fn, self._cb.notify)

    def on_exit(self, fn=None, *, stage: Optional[str] = None):
        """Runs fn(transition) after the commit, for transitions leaving stage."""
        return self._hook(lib.sfsm_engine_on_exit, "stage", stage, fn, self._cb.notify)

    def on_enter(self, fn=None, *, stage: Optional[str] = None):
        """Runs fn(transition) after the commit, for transitions entering stage."""
        return self._hook(lib.sfsm_engine_on_enter, "stage", stage, fn, self._cb.notify)

    def register_guard(self, name: str, fn: Optional[Callable[[Transition], Any]] = None):
        """Binds fn(transition) to the guard name the pipeline's events use.
        Only a true result passes; a false one or an exception refuses (GuardRefused)."""
        if fn is None:
            return lambda f: self.register_guard(name, f)
        if not callable(fn):
            raise InvalidArgument(-1, f"guard '{name}': {fn!r} is not callable")
        self._call(lib.sfsm_engine_register_guard, self, encode(name, "guard"),
                   self._cb.check(fn, True, f"guard '{name}'"), None)
        return fn

    # ---- opportunities ----
    def create(self, id: Optional[str] = None, *, customer: Optional[str] = None,
               owner: Optional[str] = None, amount: Optional[int] = None,
               currency: Optional[str] = None, title: Optional[str] = None,
               expected_close=None, actor: Optional[str] = None,
               role: Optional[str] = None) -> Opportunity:
        """Creates and stores an opportunity at the initial stage (id None: generated).

        amount is in minor units and needs a currency. Raises AlreadyExists,
        InvalidArgument (naming the field), NotFound (unknown role), StorageError.
        """
        act = _actor(actor, role)
        opts = CreateOptions(
            CREATE_OPTIONS_VERSION, encode(id, "id"), encode(customer, "customer"),
            encode(owner, "owner"), encode(title, "title"),
            0 if amount is None else int64(amount, "amount"), encode(currency, "currency"),
            0 if expected_close is None else to_ms(expected_close, "expected_close"),
            ctypes.pointer(act) if act else None)
        out = ctypes.c_void_p()
        return self._settle(*self._invoke(lib.sfsm_opp_create_ext,
                                          (self, ctypes.byref(opts), ctypes.byref(out))),
                            wrap=lambda: Opportunity(out, self))

    def open(self, id: str) -> Opportunity:
        """Loads a stored opportunity. Raises NotFound if there is none with that id."""
        out = ctypes.c_void_p()
        return self._settle(*self._invoke(lib.sfsm_opp_open,
                                          (self, encode(id, "id"), ctypes.byref(out))),
                            wrap=lambda: Opportunity(out, self))

    def scan(self, stage: Optional[str] = None, owner: Optional[str] = None,
             customer: Optional[str] = None, changed_since=None) -> Iterator[OpportunityInfo]:
        """Snapshots of the stored opportunities matching every given filter, in
        creation order. Raises NotFound for an unknown stage."""
        f = _filter(stage, owner, customer, changed_since)
        rows: list[OpportunityInfo] = []
        failure: list[BaseException] = []

        def collect(ptr, _ud):
            try:
                rows.append(OpportunityInfo.from_handle(ptr))
                return 0
            except BaseException as exc:  # noqa: BLE001 - must not cross into C
                failure.append(exc)
                return 1

        self._call(lib.sfsm_scan, self, ctypes.byref(f), SCAN_CB(collect), None)
        if failure:
            raise failure[0]
        return iter(rows)

    def history(self, id: str):
        """The history of opportunity id, oldest first (an iterator of HistoryEntry)."""
        return iter(read_history(self, id))

    def available_events(self, opp: Opportunity, *, actor: str, role: str) -> list[str]:
        """Events actor may fire on opp now (stage, role and guards; not hooks)."""
        act = _actor(actor, role)
        if act is None:
            raise InvalidArgument(-1, "available_events: actor and role are required")
        cap = lib.sfsm_pipeline_event_count(self.pipeline._p())
        names = (ctypes.c_char_p * max(cap, 1))()
        count = ctypes.c_size_t()
        self._call(lib.sfsm_engine_available_events, self, opp, ctypes.byref(act),
                   names, cap, ctypes.byref(count), opp=opp)
        return [decode(names[i]) for i in range(min(count.value, cap))]

    def migrate(self, *, actor: Optional[str] = None,
                role: Optional[str] = None) -> list[Migration]:
        """Moves opportunities stored under an earlier version of this pipeline to
        this version, in one transaction; returns what moved."""
        act = _actor(actor, role)
        moved: list[Migration] = []

        failure: list[BaseException] = []

        def heard(id_, from_version, from_stage, to_stage, _ud):
            try:
                moved.append(Migration(decode(id_), from_version, decode(from_stage),
                                       decode(to_stage)))
                return 0
            except BaseException as exc:  # noqa: BLE001 - must not cross into C
                failure.append(exc)
                return 1

        self._call(lib.sfsm_engine_migrate, self, ctypes.byref(act) if act else None,
                   MIGRATE_CB(heard), None, None)
        if failure:
            raise failure[0]
        return moved

    # ---- batches ----
    @property
    def in_batch(self) -> bool:
        return self._batch_open

    def begin(self) -> None:
        """Opens a batch: every write until commit() is one storage transaction."""
        self._call(lib.sfsm_engine_begin, self)
        self._batch_open = True

    def commit(self) -> None:
        """Stores the batch, then runs its exit/enter/after hooks."""
        try:
            self._call(lib.sfsm_engine_commit, self)
        except Busy:
            raise  # called from a hook: the batch is still open
        except BaseException:
            # StorageError: the library rolled the batch back; CallbackError: it
            # committed and a hook raised. Either way no batch is open now.
            self._batch_open = False
            raise
        self._batch_open = False

    def rollback(self) -> None:
        """Discards the batch; handles changed in it must be reloaded."""
        self._call(lib.sfsm_engine_rollback, self)
        self._batch_open = False

    @contextlib.contextmanager
    def batch(self):
        """``with engine.batch():`` commits at the end, or rolls back on an exception."""
        self.begin()
        try:
            yield self
        except BaseException:
            if self._batch_open and not self.closed:
                self.rollback()
            raise
        self.commit()

    def __repr__(self) -> str:
        if self.closed:
            return "<salesfsm.Engine closed>"
        return f"<salesfsm.Engine {self.pipeline!r} on {self.store!r}>"


def _other_thread() -> Busy:
    return Busy(Busy.code,
                "the engine is in use by another thread; give each thread its own Engine")


def _filter(stage, owner, customer, changed_since) -> Filter:
    return Filter(FILTER_VERSION, encode(stage, "stage"), encode(owner, "owner"),
                  encode(customer, "customer"),
                  0 if changed_since is None else to_ms(changed_since, "changed_since"))

