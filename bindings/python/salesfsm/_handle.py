"""Ownership of C handles: freed once, by close(), a with-block or the finalizer.

A handle may depend on others (an engine on its pipeline and store, an
opportunity on its engine). The dependent keeps its parents alive by a
strong reference, and the parents know their dependents only weakly, so the
garbage collector always frees a dependent before what it depends on. An
explicit close() of a parent first closes every dependent still open, so a
C object is never freed while another one still points into it.
"""

from __future__ import annotations

import ctypes
import weakref
from typing import Callable


class Handle:
    """Owns one C pointer; subclasses name the C function that frees it."""

    __slots__ = ("_ptr", "_finalizer", "_dependents", "__weakref__")

    _kind = "handle"

    def __init__(self, ptr: ctypes.c_void_p, free: Callable[[int], None],
                 parents: tuple["Handle", ...] = ()):
        if not ptr.value:
            raise ValueError(f"salesfsm: NULL {self._kind}")
        self._ptr = ptr
        self._dependents: weakref.WeakSet[Handle] = weakref.WeakSet()
        for parent in parents:
            parent._ensure_open()
            parent._dependents.add(self)
        # The finalizer must not refer to self, or self would never be collected.
        self._finalizer = weakref.finalize(self, free, ptr.value)

    @property
    def closed(self) -> bool:
        """True once the C object has been freed."""
        return not self._finalizer.alive

    def close(self) -> None:
        """Frees the C object (after closing whatever depends on it). Idempotent."""
        if not self._finalizer.alive:
            return
        for dep in list(self._dependents):
            dep.close()
        self._finalizer()

    def _replace(self, ptr: ctypes.c_void_p, free: Callable[[int], None]) -> None:
        """Frees the C object now and owns ptr instead (dependents are kept)."""
        self._ensure_open()
        self._finalizer()
        self._ptr = ptr
        self._finalizer = weakref.finalize(self, free, ptr.value)

    def _ensure_open(self) -> None:
        if not self._finalizer.alive:
            raise ValueError(f"salesfsm: the {self._kind} is closed")

    @property
    def _as_parameter_(self) -> ctypes.c_void_p:
        """Lets a Handle be passed straight to a C function, refusing closed ones."""
        self._ensure_open()
        return self._ptr

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
