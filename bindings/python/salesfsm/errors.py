"""One exception class per library error code, under SalesfsmError.

Each carries the numeric ``code`` and the library's ``message`` (the detail
that names the offending input, from ``sfsm_errmsg``). Classes also derive
from the closest built-in exception where one fits, so ``except LookupError``
or ``except ValueError`` work as a Python programmer expects.
"""

from __future__ import annotations

from ._lib import decode, lib


class SalesfsmError(Exception):
    """A call into the library failed. ``code`` is the C error code (negative)."""

    code = 0
    name = "SFSM_UNKNOWN"

    def __init__(self, code: int, message: str):
        self.code = code
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return (type(self), (self.code, self.message))


class InvalidArgument(SalesfsmError, ValueError):
    """SFSM_EINVAL: an argument is missing, malformed or out of range."""
    code, name = -1, "SFSM_EINVAL"


class OutOfMemory(SalesfsmError, MemoryError):
    """SFSM_ENOMEM."""
    code, name = -2, "SFSM_ENOMEM"


class NotFound(SalesfsmError, LookupError):
    """SFSM_ENOTFOUND: no opportunity, stage, event, role or guard of that name."""
    code, name = -3, "SFSM_ENOTFOUND"


class AlreadyExists(SalesfsmError):
    """SFSM_EEXISTS: the id is taken."""
    code, name = -4, "SFSM_EEXISTS"


class TransitionNotAllowed(SalesfsmError):
    """SFSM_ETRANSITION: the event cannot be fired from the current stage."""
    code, name = -5, "SFSM_ETRANSITION"


class GuardRefused(SalesfsmError):
    """SFSM_EGUARD: a guard refused the transition."""
    code, name = -6, "SFSM_EGUARD"


class PermissionDenied(SalesfsmError):
    """SFSM_EPERM: the actor's role may not fire the event."""
    code, name = -7, "SFSM_EPERM"


class Vetoed(SalesfsmError):
    """SFSM_EVETO: a before hook vetoed the transition."""
    code, name = -8, "SFSM_EVETO"


class Conflict(SalesfsmError):
    """SFSM_ECONFLICT: someone else stored a newer version; reopen and retry."""
    code, name = -9, "SFSM_ECONFLICT"


class StorageError(SalesfsmError):
    """SFSM_ESTORAGE: the store failed (I/O, corrupt file, not a salesfsm database)."""
    code, name = -10, "SFSM_ESTORAGE"


class ParseError(SalesfsmError, ValueError):
    """SFSM_EPARSE: text that is not JSON, or not of the expected shape."""
    code, name = -11, "SFSM_EPARSE"


class VersionError(SalesfsmError):
    """SFSM_EVERSION: a format, schema or pipeline version this library cannot use."""
    code, name = -12, "SFSM_EVERSION"


class Busy(SalesfsmError):
    """SFSM_EBUSY: the object is in use by a running call (e.g. from inside a hook)."""
    code, name = -13, "SFSM_EBUSY"


ERROR_CLASSES: dict[int, type[SalesfsmError]] = {
    cls.code: cls for cls in (InvalidArgument, OutOfMemory, NotFound, AlreadyExists,
                              TransitionNotAllowed, GuardRefused, PermissionDenied, Vetoed,
                              Conflict, StorageError, ParseError, VersionError, Busy)
}


def error_for(code: int, message: str | None = None) -> SalesfsmError:
    """The exception for a return code; the message defaults to the thread's sfsm_errmsg()."""
    if message is None:
        message = decode(lib.sfsm_errmsg()) or ""
    if not message:
        message = decode(lib.sfsm_strerror(code)) or f"error {code}"
    cls = ERROR_CLASSES.get(code, SalesfsmError)
    return cls(code, message)


def check(rc: int) -> int:
    """Raises the matching exception for a negative return code; returns rc otherwise."""
    if rc < 0:
        raise error_for(rc)
    return rc
