"""Stores: where opportunities, their history, teams, targets and payments live."""

from __future__ import annotations

import ctypes
import os

from ._handle import Handle
from ._lib import SQLITE_OPTIONS_VERSION, SqliteOptions, encode, lib
from .errors import InvalidArgument, check

_SYNC = {"full": 0, "normal": 1, "off": 2}


class Store(Handle):
    """A store handle, shareable by engines in several threads.

    Closing it (or leaving its ``with`` block) closes the engines using it first.
    """

    __slots__ = ("description",)
    _kind = "store"

    def __init__(self, ptr: ctypes.c_void_p, description: str):
        super().__init__(ptr, lib.sfsm_store_close)
        self.description = description

    @classmethod
    def memory(cls) -> "Store":
        """A new, empty in-memory store; nothing survives close()."""
        out = ctypes.c_void_p()
        check(lib.sfsm_store_open_memory(ctypes.byref(out)))
        return cls(out, "memory")

    @classmethod
    def sqlite(cls, path: str | os.PathLike, *, synchronous: str = "full",
               busy_timeout_ms: int = 5000, create: bool = True) -> "Store":
        """Opens (or, with create=True, creates) a SQLite store file.

        synchronous: "full" (survives power loss), "normal" (survives a crash
        of the process) or "off" (throw-away data). Raises NotFound (missing
        file with create=False), StorageError (not a salesfsm database,
        corrupt) or VersionError (written by a newer salesfsm).
        """
        if synchronous not in _SYNC:
            raise InvalidArgument(-1, f"synchronous: {synchronous!r} is not one of "
                                      f"{', '.join(_SYNC)}")
        if (isinstance(busy_timeout_ms, bool) or not isinstance(busy_timeout_ms, int)
                or not 0 <= busy_timeout_ms < 2**31):
            raise InvalidArgument(-1, f"busy_timeout_ms: {busy_timeout_ms!r} is not an int "
                                      "in 0..2147483647")
        opts = SqliteOptions(SQLITE_OPTIONS_VERSION, _SYNC[synchronous], busy_timeout_ms,
                             1 if create else 0)
        fspath = os.fspath(path)
        if isinstance(fspath, bytes):
            if b"\0" in fspath:
                raise InvalidArgument(-1, "path: contains a NUL byte")
            raw = fspath
        else:
            raw = encode(fspath, "path")
        out = ctypes.c_void_p()
        check(lib.sfsm_store_open_sqlite(ctypes.byref(out), raw, ctypes.byref(opts)))
        return cls(out, f"sqlite:{os.fsdecode(fspath)}")

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<salesfsm.Store {self.description}{state}>"
