"""Finding and loading the shared library, and declaring its functions.

Every C function the package calls is declared here once with its argument
and result types, so a wrong call fails in Python instead of corrupting the
stack. Nothing else in the package touches ``ctypes.CDLL``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_int, c_int64,
                    c_size_t, c_uint, c_uint32, c_uint64, c_void_p)

SONAME = "libsalesfsm.so.0"


class LibraryNotFoundError(OSError):
    """The shared library could not be loaded; ``tried`` lists each place and why."""

    def __init__(self, tried: list[tuple[str, str]]):
        self.tried = tried
        lines = "\n".join(f"  {where}: {why}" for where, why in tried)
        super().__init__(
            "salesfsm: cannot load the shared library libsalesfsm; tried:\n"
            f"{lines}\n"
            "Set SALESFSM_LIBRARY to the path of libsalesfsm.so.0, or install the library.")


def _candidates() -> list[tuple[str, str]]:
    """(description, path or name) in the order they are tried."""
    out = []
    env = os.environ.get("SALESFSM_LIBRARY")
    if env:
        out.append(("SALESFSM_LIBRARY", env))
    here = os.path.dirname(os.path.abspath(__file__))
    for name in (SONAME, "libsalesfsm.so", "libsalesfsm.dylib"):
        out.append(("next to the package", os.path.join(here, name)))
    out.append(("system library path", SONAME))
    found = ctypes.util.find_library("salesfsm")
    if found and found != SONAME:
        out.append(("system library path (find_library)", found))
    return out


def _load() -> ctypes.CDLL:
    tried = []
    env_set = bool(os.environ.get("SALESFSM_LIBRARY"))
    for where, path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append((path, "no such file"))
            if where == "SALESFSM_LIBRARY":
                break  # an explicit path that is wrong must not fall through silently
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as exc:
            tried.append((path, str(exc)))
            if where == "SALESFSM_LIBRARY":
                break
    if env_set:
        tried.append(("(search stopped)", "SALESFSM_LIBRARY is set but could not be loaded"))
    raise LibraryNotFoundError(tried)


lib = _load()

# ---- C structures (mirrors of include/salesfsm/*.h) ----


class Actor(Structure):
    _fields_ = [("name", c_char_p), ("role", c_char_p)]


class CreateOptions(Structure):
    _fields_ = [("version", c_uint), ("id", c_char_p), ("customer", c_char_p),
                ("owner", c_char_p), ("title", c_char_p), ("amount", c_int64),
                ("currency", c_char_p), ("expected_close_ms", c_int64),
                ("actor", POINTER(Actor))]


class Filter(Structure):
    _fields_ = [("version", c_uint), ("stage", c_char_p), ("owner", c_char_p),
                ("customer", c_char_p), ("changed_since_ms", c_int64)]


class ReportFilter(Structure):
    _fields_ = [("version", c_uint), ("owner", c_char_p), ("team", c_char_p),
                ("customer", c_char_p), ("from_ms", c_int64), ("to_ms", c_int64),
                ("as_of_ms", c_int64)]


class SqliteOptions(Structure):
    _fields_ = [("version", c_uint), ("synchronous", c_int),
                ("busy_timeout_ms", c_int), ("create", c_int)]


class Transition(Structure):
    _fields_ = [("opp_id", c_char_p), ("opp", c_void_p), ("event", c_char_p),
                ("from_", c_char_p), ("to", c_char_p), ("actor", POINTER(Actor)),
                ("note", c_char_p), ("version", c_uint64), ("at_ms", c_int64)]


class HistoryEntry(Structure):
    _fields_ = [("version", c_uint64), ("at_ms", c_int64), ("kind", c_int),
                ("event", c_char_p), ("from_", c_char_p), ("to", c_char_p),
                ("actor", c_char_p), ("role", c_char_p), ("note", c_char_p),
                ("fields", c_uint32), ("changes", c_char_p)]


class Period(Structure):
    _fields_ = [("year", c_int), ("kind", c_int), ("index", c_int)]


class Target(Structure):
    _fields_ = [("subject_kind", c_int), ("subject", c_char_p), ("period", Period),
                ("amount", c_int64), ("currency", c_char_p)]


class Payment(Structure):
    _fields_ = [("opp_id", c_char_p), ("seq", c_uint64), ("amount", c_int64),
                ("currency", c_char_p), ("at_ms", c_int64), ("note", c_char_p)]


# Versions of the option structures above (the headers' *_VERSION macros).
CREATE_OPTIONS_VERSION = 1
FILTER_VERSION = 1
REPORT_FILTER_VERSION = 1
SQLITE_OPTIONS_VERSION = 1

# ---- callback types ----

CLOCK_FN = CFUNCTYPE(c_int64, c_void_p)
CHECK_FN = CFUNCTYPE(c_int, POINTER(Transition), c_void_p, c_void_p, c_size_t)
NOTIFY_FN = CFUNCTYPE(None, POINTER(Transition), c_void_p)
SCAN_CB = CFUNCTYPE(c_int, c_void_p, c_void_p)
HISTORY_CB = CFUNCTYPE(c_int, POINTER(HistoryEntry), c_void_p)
MIGRATE_CB = CFUNCTYPE(c_int, c_char_p, c_uint32, c_char_p, c_char_p, c_void_p)
TEAM_CB = CFUNCTYPE(c_int, c_char_p, c_char_p, c_void_p)
TARGET_CB = CFUNCTYPE(c_int, POINTER(Target), c_void_p)
PAYMENT_CB = CFUNCTYPE(c_int, POINTER(Payment), c_void_p)
WRITE_FN = CFUNCTYPE(c_int, c_void_p, c_size_t, c_void_p)

P = POINTER
_vp = c_void_p
_out = P(c_void_p)

# name: (restype, argtypes)
_PROTOTYPES = {
    # common.h
    "sfsm_strerror": (c_char_p, [c_int]),
    "sfsm_errmsg": (c_char_p, []),
    "sfsm_errcode": (c_int, []),
    "sfsm_version": (c_char_p, []),
    "sfsm_free": (None, [_vp]),
    # pipeline.h
    "sfsm_pipeline_default": (c_int, [_out]),
    "sfsm_pipeline_free": (None, [_vp]),
    "sfsm_pipeline_name": (c_char_p, [_vp]),
    "sfsm_pipeline_version": (c_uint32, [_vp]),
    "sfsm_pipeline_stage_count": (c_size_t, [_vp]),
    "sfsm_pipeline_stage_name": (c_char_p, [_vp, c_size_t]),
    "sfsm_pipeline_stage_label": (c_char_p, [_vp, c_size_t]),
    "sfsm_pipeline_stage_probability": (c_int, [_vp, c_size_t]),
    "sfsm_pipeline_stage_stale_days": (c_int, [_vp, c_size_t]),
    "sfsm_pipeline_stage_outcome": (c_int, [_vp, c_size_t]),
    "sfsm_pipeline_stage_forecast": (c_int, [_vp, c_size_t]),
    "sfsm_pipeline_stage_is_final": (c_int, [_vp, c_size_t]),
    "sfsm_pipeline_initial_stage": (c_size_t, [_vp]),
    "sfsm_pipeline_stage_index": (c_int, [_vp, c_char_p, P(c_size_t)]),
    "sfsm_pipeline_event_index": (c_int, [_vp, c_char_p, P(c_size_t)]),
    "sfsm_pipeline_role_index": (c_int, [_vp, c_char_p, P(c_size_t)]),
    "sfsm_pipeline_event_count": (c_size_t, [_vp]),
    "sfsm_pipeline_event_name": (c_char_p, [_vp, c_size_t]),
    "sfsm_pipeline_event_target": (c_size_t, [_vp, c_size_t]),
    "sfsm_pipeline_event_allowed_from": (c_int, [_vp, c_size_t, c_size_t]),
    "sfsm_pipeline_event_allows_role": (c_int, [_vp, c_size_t, c_size_t]),
    "sfsm_pipeline_event_guard_count": (c_size_t, [_vp, c_size_t]),
    "sfsm_pipeline_event_guard": (c_char_p, [_vp, c_size_t, c_size_t]),
    "sfsm_pipeline_role_count": (c_size_t, [_vp]),
    "sfsm_pipeline_role_name": (c_char_p, [_vp, c_size_t]),
    "sfsm_pipeline_from_json": (c_int, [_out, c_char_p, c_size_t]),
    "sfsm_pipeline_to_json": (c_int, [_vp, _out, P(c_size_t)]),
    "sfsm_pipeline_to_dot": (c_int, [_vp, _out, P(c_size_t)]),
    "sfsm_pipeline_to_mermaid": (c_int, [_vp, _out, P(c_size_t)]),
    "sfsm_pipeline_migration": (c_int, [_vp, c_uint32, c_char_p, P(c_char_p)]),
    # store.h
    "sfsm_store_open_memory": (c_int, [_out]),
    "sfsm_store_open_sqlite": (c_int, [_out, c_char_p, P(SqliteOptions)]),
    "sfsm_store_close": (None, [_vp]),
    # engine.h
    "sfsm_engine_new": (c_int, [_out, _vp, _vp]),
    "sfsm_engine_free": (None, [_vp]),
    "sfsm_engine_set_clock": (c_int, [_vp, CLOCK_FN, _vp]),
    "sfsm_engine_now": (c_int64, [_vp]),
    "sfsm_engine_on_before": (c_int, [_vp, c_char_p, CHECK_FN, _vp]),
    "sfsm_engine_on_after": (c_int, [_vp, c_char_p, NOTIFY_FN, _vp]),
    "sfsm_engine_on_exit": (c_int, [_vp, c_char_p, NOTIFY_FN, _vp]),
    "sfsm_engine_on_enter": (c_int, [_vp, c_char_p, NOTIFY_FN, _vp]),
    "sfsm_engine_register_guard": (c_int, [_vp, c_char_p, CHECK_FN, _vp]),
    "sfsm_fire": (c_int, [_vp, _vp, c_char_p, P(Actor), c_char_p]),
    "sfsm_fire_index": (c_int, [_vp, _vp, c_size_t, P(Actor), c_char_p]),
    "sfsm_engine_available_events": (c_int, [_vp, _vp, P(Actor), P(c_char_p), c_size_t,
                                             P(c_size_t)]),
    "sfsm_engine_migrate": (c_int, [_vp, P(Actor), MIGRATE_CB, _vp, P(c_size_t)]),
    "sfsm_engine_begin": (c_int, [_vp]),
    "sfsm_engine_commit": (c_int, [_vp]),
    "sfsm_engine_rollback": (c_int, [_vp]),
    # opp.h
    "sfsm_opp_create_ext": (c_int, [_vp, P(CreateOptions), _out]),
    "sfsm_opp_open": (c_int, [_vp, c_char_p, _out]),
    "sfsm_opp_free": (None, [_vp]),
    "sfsm_opp_id": (c_char_p, [_vp]),
    "sfsm_opp_stage": (c_char_p, [_vp]),
    "sfsm_opp_stage_index": (c_size_t, [_vp]),
    "sfsm_opp_version": (c_uint64, [_vp]),
    "sfsm_opp_amount": (c_int64, [_vp]),
    "sfsm_opp_currency": (c_char_p, [_vp]),
    "sfsm_opp_customer": (c_char_p, [_vp]),
    "sfsm_opp_owner": (c_char_p, [_vp]),
    "sfsm_opp_title": (c_char_p, [_vp]),
    "sfsm_opp_expected_close": (c_int64, [_vp]),
    "sfsm_opp_created": (c_int64, [_vp]),
    "sfsm_opp_updated": (c_int64, [_vp]),
    "sfsm_opp_stage_entered": (c_int64, [_vp]),
    "sfsm_opp_probability": (c_int, [_vp]),
    "sfsm_opp_unsaved": (c_uint32, [_vp]),
    "sfsm_opp_set_amount": (c_int, [_vp, c_int64, c_char_p]),
    "sfsm_opp_set_customer": (c_int, [_vp, c_char_p]),
    "sfsm_opp_set_owner": (c_int, [_vp, c_char_p]),
    "sfsm_opp_set_title": (c_int, [_vp, c_char_p]),
    "sfsm_opp_set_expected_close": (c_int, [_vp, c_int64]),
    "sfsm_opp_set_attr": (c_int, [_vp, c_char_p, c_char_p]),
    "sfsm_opp_attr": (c_char_p, [_vp, c_char_p]),
    "sfsm_opp_attr_count": (c_size_t, [_vp]),
    "sfsm_opp_attr_at": (c_int, [_vp, c_size_t, P(c_char_p), P(c_char_p)]),
    "sfsm_opp_save_as": (c_int, [_vp, _vp, P(Actor), c_char_p]),
    "sfsm_opp_history": (c_int, [_vp, c_char_p, HISTORY_CB, _vp]),
    "sfsm_scan": (c_int, [_vp, P(Filter), SCAN_CB, _vp]),
    # export.h
    "sfsm_export_json_string": (c_int, [_vp, P(Filter), _out, P(c_size_t)]),
    "sfsm_export_json": (c_int, [_vp, P(Filter), WRITE_FN, _vp]),
    "sfsm_import_json": (c_int, [_vp, c_char_p, c_size_t, P(c_size_t)]),
    # targets.h
    "sfsm_team_set": (c_int, [_vp, c_char_p, c_char_p]),
    "sfsm_team_list": (c_int, [_vp, c_char_p, TEAM_CB, _vp]),
    "sfsm_period_bounds": (c_int, [P(Period), P(c_int64), P(c_int64)]),
    "sfsm_target_set": (c_int, [_vp, P(Target)]),
    "sfsm_target_split": (c_int, [_vp, P(Target), c_int, P(c_uint32), c_size_t]),
    "sfsm_target_list": (c_int, [_vp, c_int, c_char_p, c_int, TARGET_CB, _vp]),
    "sfsm_payment_add": (c_int, [_vp, c_char_p, c_int64, c_char_p, c_char_p]),
    "sfsm_payment_list": (c_int, [_vp, c_char_p, PAYMENT_CB, _vp]),
    # report.h
    "sfsm_report_free": (None, [_vp]),
    "sfsm_report_name": (c_char_p, [_vp]),
    "sfsm_report_row_count": (c_size_t, [_vp]),
    "sfsm_report_column_count": (c_size_t, [_vp]),
    "sfsm_report_column_name": (c_char_p, [_vp, c_size_t]),
    "sfsm_report_is_null": (c_int, [_vp, c_size_t, c_size_t]),
    "sfsm_report_text": (c_char_p, [_vp, c_size_t, c_size_t]),
    "sfsm_report_int": (c_int64, [_vp, c_size_t, c_size_t]),
    "sfsm_report_to_json": (c_int, [_vp, _out, P(c_size_t)]),
}

REPORT_KINDS = ("pipeline", "forecast", "funnel", "win_rate", "velocity", "stale",
                "calibration", "attainment", "receivables")
for _kind in REPORT_KINDS:
    _PROTOTYPES[f"sfsm_report_{_kind}"] = (c_int, [_vp, P(ReportFilter), _out])


def _declare() -> None:
    missing = []
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    if missing:
        raise ImportError(f"salesfsm: the loaded library ({lib._name}) lacks {', '.join(missing)};"
                          " it is older than these bindings")


_declare()


def encode(text: str | None, what: str) -> bytes | None:
    """UTF-8 bytes of a str argument (None stays None); a clear error otherwise.

    A NUL character is refused: C would read the string only up to it, and
    "A\\x00B" would silently become "A".
    """
    if text is None:
        return None
    from .errors import InvalidArgument
    if not isinstance(text, str):
        raise InvalidArgument(-1, f"{what}: expected str, got {type(text).__name__}")
    if "\x00" in text:
        raise InvalidArgument(-1, f"{what}: contains a NUL character at index {text.index(chr(0))}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgument(-1, f"{what}: not encodable as UTF-8 ({exc.reason} at index "
                                  f"{exc.start})") from None


def int64(value: int, what: str) -> int:
    """value if it is an int that fits in int64; InvalidArgument otherwise."""
    from .errors import InvalidArgument
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(-1, f"{what}: expected int, got {type(value).__name__}")
    if not -(1 << 63) <= value < (1 << 63):
        raise InvalidArgument(-1, f"{what}: {value} does not fit in 64 bits")
    return value


def decode(raw: bytes | None) -> str | None:
    """str of a UTF-8 string from the library (the library only stores valid UTF-8)."""
    if raw is None:
        return None
    return raw.decode("utf-8", "surrogateescape")


def take_string(ptr: c_void_p, size: c_size_t) -> str:
    """Copies a library-allocated string out as str and frees it with sfsm_free."""
    try:
        return ctypes.string_at(ptr.value, size.value).decode("utf-8", "surrogateescape")
    finally:
        lib.sfsm_free(ptr)

