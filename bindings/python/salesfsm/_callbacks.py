"""Python callables behind the C callbacks: hooks, guards and the clock.

A C callback must never let a Python exception escape (ctypes would print it
and carry on as if nothing happened). So:
- a guard or before hook that raises refuses the transition, with the
  exception's text as the library's message and the exception chained as the
  cause of the GuardRefused / Vetoed the call raises;
- an exit, enter or after hook (or the clock) that raises cannot undo a
  commit; its exception is kept and raised as CallbackError once the call
  that ran the hook returns (or handed to the engine's on_callback_error).
"""

from __future__ import annotations

import ctypes
import time
from typing import Any, Callable, Optional

from ._lib import CHECK_FN, CLOCK_FN, NOTIFY_FN, decode, int64


class CallbackError(Exception):
    """A hook or the clock raised during a library call that succeeded.

    What the call stored stays stored (a fire is committed, and the handle
    shows the new state). ``errors`` holds every exception raised (the first
    is also the ``__cause__``); ``result`` is what the call made, if it
    returns something (an Opportunity, a Report, …), else None.
    """

    def __init__(self, errors: list[BaseException], result: Any = None):
        self.errors = errors
        self.result = result
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"a callback raised during a call that succeeded: "
                         f"{type(first).__name__}: {_safe_str(first)}{more}")


def _safe_str(value: Any) -> str:
    """str(value), or a plain description if its __str__ itself raises."""
    try:
        return str(value)
    except BaseException:  # noqa: BLE001 - a broken __str__ must not break the report
        return object.__repr__(value)


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except BaseException:  # noqa: BLE001
        return object.__repr__(value)


class Transition:
    """What a hook or guard sees. Valid only while the callback runs.

    Fields are read from the library when first asked for, so a hook that
    reads nothing costs nothing. ``opp`` is a snapshot of the opportunity
    (None for hooks run at the commit of a batch).
    """

    __slots__ = ("_p", "_live")

    def __init__(self, ptr):
        self._p = ptr
        self._live = True

    def _get(self):
        if not self._live:
            raise RuntimeError("salesfsm: a Transition is only valid during its callback")
        return self._p.contents

    @property
    def opp_id(self) -> str:
        return decode(self._get().opp_id)

    @property
    def event(self) -> str:
        return decode(self._get().event)

    @property
    def from_stage(self) -> str:
        return decode(self._get().from_)

    @property
    def to_stage(self) -> str:
        return decode(self._get().to)

    @property
    def actor(self) -> Optional[str]:
        a = self._get().actor
        return decode(a.contents.name) if a else None

    @property
    def role(self) -> Optional[str]:
        a = self._get().actor
        return decode(a.contents.role) if a else None

    @property
    def note(self) -> Optional[str]:
        return decode(self._get().note)

    @property
    def version(self) -> int:
        """The version the commit writes."""
        return self._get().version

    @property
    def at_ms(self) -> int:
        return self._get().at_ms

    @property
    def opp(self):
        """The opportunity as the callback sees it (an OpportunityInfo), or None."""
        from .opportunity import OpportunityInfo
        ptr = self._get().opp
        return OpportunityInfo.from_handle(ptr) if ptr else None

    def __repr__(self) -> str:
        if not self._live:
            return "<salesfsm.Transition (expired)>"
        return (f"<salesfsm.Transition {self.opp_id} {self.event}: "
                f"{self.from_stage} -> {self.to_stage}>")


def _write_why(why: int, size: int, text: str) -> None:
    """Writes text into the C buffer, NUL-terminated, cut at a UTF-8 boundary."""
    raw = text.encode("utf-8", "replace")[: max(size - 1, 0)]
    raw = raw.decode("utf-8", "ignore").encode("utf-8")  # no half character at the cut
    ctypes.memmove(why, raw + b"\0", len(raw) + 1)


class CallbackState:
    """Per-engine record of what callbacks raised, and the C callback objects.

    The C function objects are kept here for the engine's whole life: if they
    were collected while the library still held their addresses, the next
    call would jump into freed memory.
    """

    def __init__(self):
        self.keep: list[Any] = []
        self.refusal: Optional[BaseException] = None
        self.after_errors: list[BaseException] = []

    def check(self, fn: Callable[[Transition], Any], strict: bool, what: str):
        """A CHECK_FN around fn. strict (guards): only a true result passes;
        otherwise (before hooks) only False refuses."""

        def trampoline(tp, _ud, why, why_size):
            # Everything inside the try: an exception escaping into C would be
            # printed and ignored by ctypes, and the transition would go on.
            t = Transition(tp)
            try:
                result = fn(t)
                if bool(result) if strict else result is not False:
                    return 0
                c = tp.contents
                text = (f"{what} refused event '{decode(c.event)}' on opportunity "
                        f"'{decode(c.opp_id)}' (it returned {_safe_repr(result)})")
            except BaseException as exc:  # noqa: BLE001 - must not cross into C
                if self.refusal is None:
                    self.refusal = exc
                text = f"{what} raised {type(exc).__name__}: {_safe_str(exc)}"
            finally:
                t._live = False
            try:
                _write_why(why, why_size, text)
            except BaseException:  # noqa: BLE001 - the refusal stands without its text
                pass
            return 1

        cfn = CHECK_FN(trampoline)
        self.keep.append(cfn)
        return cfn

    def notify(self, fn: Callable[[Transition], Any]):
        def trampoline(tp, _ud):
            t = Transition(tp)
            try:
                fn(t)
            except BaseException as exc:  # noqa: BLE001 - must not cross into C
                self.after_errors.append(exc)
            finally:
                t._live = False

        cfn = NOTIFY_FN(trampoline)
        self.keep.append(cfn)
        return cfn

    def clock(self, fn: Callable[[], int]):
        def trampoline(_ud):
            try:
                value = fn()
                if isinstance(value, float):  # time.time() * 1000 and the like
                    value = int(value)
                return int64(value, "clock")
            except BaseException as exc:  # noqa: BLE001 - must not cross into C
                self.after_errors.append(exc)
                return time.time_ns() // 1_000_000

        return CLOCK_FN(trampoline)  # the engine keeps it while it is set
