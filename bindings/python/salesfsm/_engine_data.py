"""The engine's data beside opportunities: teams, targets, payments, reports,
JSON export and import. Mixed into Engine (engine.py)."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import IO, Optional, Union

from ._lib import (PAYMENT_CB, REPORT_FILTER_VERSION, REPORT_KINDS, TARGET_CB, TEAM_CB, WRITE_FN,
                   ReportFilter, Target, decode, encode, int64, lib, take_string)
from .errors import InvalidArgument
from .periods import Period, to_ms
from .reports import Report

_SUBJECTS = {"owner": 1, "team": 2}
_SUBJECT_NAMES = {v: k for k, v in _SUBJECTS.items()}
_SPLITS = {"quarter": 2, "month": 3, "week": 4}


@dataclass(frozen=True)
class Membership:
    owner: str
    team: str


@dataclass(frozen=True)
class TargetInfo:
    """A stored target: amount (minor units) for a subject and period."""
    kind: str           # "owner" or "team"
    subject: str
    period: Period
    amount: int
    currency: str


@dataclass(frozen=True)
class PaymentInfo:
    opp_id: str
    seq: int
    amount: int
    currency: str
    at_ms: int
    note: Optional[str]


def _collector(rows: list, failure: list, convert):
    """A C list callback appending convert(args) to rows, never letting an exception out."""
    def cb(*args):
        try:
            rows.append(convert(*args[:-1]))
            return 0
        except BaseException as exc:  # noqa: BLE001 - must not cross into C
            failure.append(exc)
            return 1
    return cb


def _subject(kind: str) -> int:
    try:
        return _SUBJECTS[kind]
    except KeyError:
        raise InvalidArgument(-1, f"kind {kind!r}: not 'owner' or 'team'") from None


class EngineData:
    """Teams, targets, payments, reports and JSON of an engine's store."""

    def _listing(self, fn, cbtype, convert, *args) -> list:
        rows: list = []
        failure: list = []
        self._call(fn, self, *args, cbtype(_collector(rows, failure, convert)), None)
        if failure:
            raise failure[0]
        return rows

    # ---- teams ----
    def set_team(self, owner: str, team: Optional[str]) -> None:
        """Puts owner into team (one team per owner); team None takes them out."""
        self._call(lib.sfsm_team_set, self, encode(owner, "owner"), encode(team, "team"))

    def teams(self, team: Optional[str] = None) -> list[Membership]:
        """Memberships sorted by team then owner (team None: all teams)."""
        return self._listing(lib.sfsm_team_list, TEAM_CB,
                             lambda o, t: Membership(decode(o), decode(t)), encode(team, "team"))

    # ---- targets ----
    def _target(self, subject: str, period: Period, amount: int, currency: str,
                kind: str) -> Target:
        if not isinstance(period, Period):
            raise InvalidArgument(-1, f"period: expected Period, got {type(period).__name__}")
        return Target(_subject(kind), encode(subject, "subject"), period.to_c(),
                      int64(amount, "amount"), encode(currency, "currency"))

    def set_target(self, subject: str, period: Period, amount: int, currency: str, *,
                   kind: str = "owner") -> None:
        """Stores (or replaces) the target of an owner or team for a period."""
        t = self._target(subject, period, amount, currency, kind)
        self._call(lib.sfsm_target_set, self, ctypes.byref(t))

    def split_target(self, subject: str, year: int, amount: int, currency: str, *,
                     into: str = "quarter", weights: Optional[list[int]] = None,
                     kind: str = "owner") -> list[TargetInfo]:
        """Stores an annual target and its parts (evenly, or by weights) in one
        transaction; the parts add up exactly. Returns the stored parts."""
        if into not in _SPLITS:
            raise InvalidArgument(-1, f"into {into!r}: not one of {', '.join(_SPLITS)}")
        t = self._target(subject, Period.of_year(year), amount, currency, kind)
        arr, n = None, 0
        if weights is not None:
            weights = list(weights)
            for i, w in enumerate(weights):
                if isinstance(w, bool) or not isinstance(w, int) or not 0 <= w < 2**32:
                    raise InvalidArgument(-1, f"weights[{i}]: {w!r} is not an int in "
                                              "0..4294967295")
            n = len(weights)
            arr = (ctypes.c_uint32 * max(n, 1))(*weights)
        self._call(lib.sfsm_target_split, self, ctypes.byref(t), _SPLITS[into], arr, n)
        return [x for x in self.targets(subject, kind=kind, year=year) if x.period.kind == into]

    def targets(self, subject: Optional[str] = None, *, kind: str = "owner",
                year: int = 0) -> list[TargetInfo]:
        """Stored targets (subject None: everyone's), sorted by subject, year, period."""
        def convert(tp):
            t = tp.contents
            return TargetInfo(_SUBJECT_NAMES.get(t.subject_kind, str(t.subject_kind)),
                              decode(t.subject), Period.from_c(t.period), t.amount,
                              decode(t.currency))
        if isinstance(year, bool) or not isinstance(year, int) or not 0 <= year < 2**31:
            raise InvalidArgument(-1, f"year: {year!r} is not an int (0: all years)")
        return self._listing(lib.sfsm_target_list, TARGET_CB, convert, _subject(kind),
                             encode(subject, "subject"), year)

    # ---- payments ----
    def add_payment(self, opp_id: str, amount: int, currency: str,
                    note: Optional[str] = None) -> None:
        """Records a payment against a won opportunity (never more than is outstanding)."""
        self._call(lib.sfsm_payment_add, self, encode(opp_id, "id"), int64(amount, "amount"),
                   encode(currency, "currency"), encode(note, "note"))

    def payments(self, opp_id: Optional[str] = None) -> list[PaymentInfo]:
        """Payments of one opportunity (None: all), by opportunity then sequence."""
        def convert(pp):
            p = pp.contents
            return PaymentInfo(decode(p.opp_id), p.seq, p.amount, decode(p.currency), p.at_ms,
                               decode(p.note))
        return self._listing(lib.sfsm_payment_list, PAYMENT_CB, convert, encode(opp_id, "id"))

    # ---- reports ----
    def report(self, kind: str, *, owner: Optional[str] = None, team: Optional[str] = None,
               customer: Optional[str] = None, period: Optional[Period] = None,
               start=None, end=None, as_of=None) -> Report:
        """Runs one report: pipeline, forecast, funnel, win_rate, velocity, stale,
        calibration, attainment or receivables (docs/reports.md).

        The period is a Period, or start/end times ([start, end)); as_of
        computes the report as the history stood at that moment.
        """
        if kind not in REPORT_KINDS:
            raise InvalidArgument(-1, f"report {kind!r}: not one of {', '.join(REPORT_KINDS)}")
        if period is not None and (start is not None or end is not None):
            raise InvalidArgument(-1, "give either period or start/end, not both")
        lo = hi = 0
        if period is not None:
            if not isinstance(period, Period):
                raise InvalidArgument(-1, f"period: expected Period, got {type(period).__name__}")
            lo, hi = period.bounds()
        elif start is not None or end is not None:
            if start is None or end is None:
                raise InvalidArgument(-1, "start and end go together")
            lo, hi = to_ms(start, "start"), to_ms(end, "end")
        f = ReportFilter(REPORT_FILTER_VERSION, encode(owner, "owner"), encode(team, "team"),
                         encode(customer, "customer"), lo, hi,
                         0 if as_of is None else to_ms(as_of, "as_of"))
        out = ctypes.c_void_p()
        run = getattr(lib, f"sfsm_report_{kind}")
        return self._settle(*self._invoke(run, (self, ctypes.byref(f), ctypes.byref(out))),
                            wrap=lambda: Report.take(out))

    # ---- JSON export and import ----
    def export_json(self, file: Optional[IO[str]] = None, *, stage: Optional[str] = None,
                    owner: Optional[str] = None, customer: Optional[str] = None,
                    changed_since=None) -> Optional[str]:
        """Opportunities with their full history as JSON (docs/json-format.md).

        Returns the document, or streams it into a text file object and returns None.
        """
        from .engine import _filter
        f = _filter(stage, owner, customer, changed_since)
        if file is None:
            out, size = ctypes.c_void_p(), ctypes.c_size_t()
            return self._settle(*self._invoke(lib.sfsm_export_json_string,
                                              (self, ctypes.byref(f), ctypes.byref(out),
                                               ctypes.byref(size))),
                                wrap=lambda: take_string(out, size))
        failure: list = []

        def write(buf, n, _ud):
            try:
                file.write(ctypes.string_at(buf, n).decode("utf-8", "surrogateescape"))
                return 0
            except BaseException as exc:  # noqa: BLE001 - must not cross into C
                failure.append(exc)
                return 1

        try:
            self._call(lib.sfsm_export_json, self, ctypes.byref(f), WRITE_FN(write), None)
        except Exception:
            if failure:
                raise failure[0] from None
            raise
        if failure:
            raise failure[0]
        return None

    def import_json(self, text: Union[str, bytes]) -> int:
        """Imports an exported document, all or nothing; returns how many were imported."""
        raw = text if isinstance(text, bytes) else encode(text, "JSON document")
        count = ctypes.c_size_t()
        self._call(lib.sfsm_import_json, self, raw, len(raw), ctypes.byref(count))
        return count.value
