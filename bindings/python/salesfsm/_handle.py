"""Ownership of C handles: freed once, by close(), a with-block or garbage collection.

Handles depend on one another: an opportunity must be freed before its
pipeline, an engine before its store and pipeline. Python's collector
finalizes the objects of a garbage cycle in no particular order, so the
order is enforced here, not left to it:

- each Handle owns an _Owner that holds the raw pointer and counts the
  owners of the handles depending on it;
- an _Owner frees its C object only once it is released (close() or
  garbage) and no dependent's C object is left; freeing one releases its
  hold on its parents, which may then free theirs.

Whatever order the collector picks, the C objects go children first.
An explicit close() of a parent first closes every dependent still open
(known through weak references), so their handles refuse further use.
"""

from __future__ import annotations

import contextlib
import ctypes
import weakref
from typing import Callable, Optional


class _Owner:
    __slots__ = ("ptr", "free", "parents", "children", "released")

    def __init__(self, ptr: int, free: Callable[[int], None], parents: tuple["_Owner", ...]):
        self.ptr = ptr
        self.free = free
        self.parents = parents
        self.children = 0
        self.released = False
        for p in parents:
            p.children += 1

    def release(self) -> None:
        self.released = True
        self._free_if_unused()

    def _free_if_unused(self) -> None:
        if not self.released or self.children or not self.ptr:
            return
        ptr, self.ptr = self.ptr, 0
        self.free(ptr)
        for p in self.parents:
            p.children -= 1
            p._free_if_unused()

    __del__ = release


class Handle:
    """Owns one C pointer; subclasses give the C function that frees it."""

    __slots__ = ("_ptr", "_owner", "_dependents", "__weakref__")

    _kind = "handle"

    def __init__(self, ptr: ctypes.c_void_p, free: Callable[[int], None],
                 parents: tuple["Handle", ...] = ()):
        if not ptr.value:
            raise ValueError(f"salesfsm: NULL {self._kind}")
        for parent in parents:
            parent._p()  # refuses a closed parent
        self._owner = _Owner(ptr.value, free, tuple(p._owner for p in parents))
        self._ptr: Optional[ctypes.c_void_p] = ptr
        self._dependents: Optional[weakref.WeakSet] = None
        for parent in parents:
            if parent._dependents is None:
                parent._dependents = weakref.WeakSet()
            parent._dependents.add(self)

    @property
    def closed(self) -> bool:
        """True once close() ran (or a parent's close() closed this handle)."""
        return self._ptr is None

    def close(self) -> None:
        """Frees the C object, after closing whatever depends on it. Idempotent.

        Raises Busy, closing nothing, when called from inside a callback of a
        call still running on this handle or one that depends on it, or while
        another thread is inside such a call.
        """
        if self._ptr is None:
            return
        with self._holding():
            self._check_closable()
            if self._dependents:
                for dep in list(self._dependents):
                    dep.close()
            self._ptr = None  # checked by every call, so a closed handle never reaches C
            self._owner.release()

    @contextlib.contextmanager
    def _holding(self):
        """Holds the lock of the engine this handle belongs to, if any, or raises
        Busy if another thread is inside a call of that engine."""
        lock = self._close_lock()
        if lock is None:
            yield
            return
        if not lock.acquire(False):
            from .errors import Busy
            raise Busy(Busy.code, f"cannot close the {self._kind}: another thread is inside "
                                  "a call of its engine")
        try:
            yield
        finally:
            lock.release()

    def _close_lock(self):
        """The lock serializing calls that use this handle (engines have one)."""
        return None

    def _in_use(self) -> Optional[str]:
        """What stops closing this handle right now (None: nothing); see Engine."""
        return None

    def _check_closable(self) -> None:
        why = self._in_use()
        if why is None and self._dependents:
            for dep in list(self._dependents):
                dep._check_closable()
        if why is not None:
            from .errors import Busy
            raise Busy(Busy.code, f"cannot close the {self._kind}: {why}")

    def _replace(self, other: "Handle") -> None:
        """Takes over other's C object (same kind, same parents); ours is freed.
        other is left closed."""
        with self._holding():
            self._check_closable()
            old = self._owner
            self._owner, self._ptr = other._owner, other._ptr
            other._ptr = None
            old.release()

    def _p(self) -> ctypes.c_void_p:
        """The C pointer, or ValueError if the handle is closed. Every call
        into the library passes handles through this (or Engine._invoke)."""
        ptr = self._ptr
        if ptr is None:
            raise ValueError(f"salesfsm: the {self._kind} is closed")
        return ptr

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
