"""salesfsm — the sales process as a table-driven state machine, from Python.

A ctypes binding of the C library libsalesfsm (standard library only)::

    import salesfsm
    with salesfsm.Pipeline.default() as p, salesfsm.Store.sqlite("sales.db") as s, \\
            salesfsm.Engine(p, s) as engine:
        opp = engine.create(customer="ACME", owner="li", amount=120000, currency="CNY")
        opp.fire("qualify", actor="li", role="rep")

The shared library is looked for in SALESFSM_LIBRARY, next to this package,
then on the system's library path.
"""

from ._callbacks import CallbackError, Transition
from ._engine_data import Membership, PaymentInfo, TargetInfo
from ._lib import LibraryNotFoundError, decode, lib
from .engine import Engine, Migration
from .errors import (AlreadyExists, Busy, Conflict, GuardRefused, InvalidArgument, NotFound,
                     OutOfMemory, ParseError, PermissionDenied, SalesfsmError, StorageError,
                     TransitionNotAllowed, VersionError, Vetoed)
from .opportunity import HistoryEntry, HistoryKind, Opportunity, OpportunityInfo
from .periods import Period, from_ms, to_ms
from .pipeline import Event, ForecastCategory, Outcome, Pipeline, Stage
from .reports import Report
from .store import Store

__version__ = "0.1.0"


def library_version() -> str:
    """The loaded C library's version ("MAJOR.MINOR.PATCH")."""
    return decode(lib.sfsm_version())


def library_path() -> str:
    """Where the loaded C library was found."""
    return lib._name


__all__ = [
    "AlreadyExists", "Busy", "CallbackError", "Conflict", "Engine", "Event", "ForecastCategory",
    "GuardRefused", "HistoryEntry", "HistoryKind", "InvalidArgument", "LibraryNotFoundError",
    "Membership", "Migration", "NotFound", "Opportunity", "OpportunityInfo", "Outcome",
    "OutOfMemory", "ParseError", "PaymentInfo", "Period", "PermissionDenied", "Pipeline",
    "Report", "SalesfsmError", "Stage", "StorageError", "Store", "TargetInfo", "Transition",
    "TransitionNotAllowed", "VersionError", "Vetoed", "from_ms", "library_path",
    "library_version", "to_ms",
]
