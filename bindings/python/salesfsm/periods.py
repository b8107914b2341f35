"""Times and calendar periods.

The library counts time in ms since the Unix epoch, UTC. Where the bindings
take a time they accept that int, or a timezone-aware datetime, or a date
(its midnight, UTC). Naive datetimes are refused: their meaning depends on
the machine's zone, and a report must not.
"""

from __future__ import annotations

import ctypes
import datetime as _dt
from dataclasses import dataclass

from ._lib import Period as _CPeriod
from ._lib import int64, lib
from .errors import InvalidArgument, check

_KINDS = {"year": 1, "quarter": 2, "month": 3, "week": 4}
_KIND_NAMES = {v: k for k, v in _KINDS.items()}


def to_ms(value, what: str) -> int:
    """ms since the epoch of an int, an aware datetime or a date."""
    if isinstance(value, int) and not isinstance(value, bool):
        return int64(value, what)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidArgument(-1, f"{what}: naive datetime {value.isoformat()}; "
                                      "give it a timezone (e.g. datetime.timezone.utc)")
        delta = value - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        return delta // _dt.timedelta(milliseconds=1)
    if isinstance(value, _dt.date):
        return to_ms(_dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc),
                     what)
    raise InvalidArgument(-1, f"{what}: expected ms, a datetime or a date, got {type(value).__name__}")


def from_ms(ms: int) -> _dt.datetime:
    """The aware UTC datetime of a library time."""
    return _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(milliseconds=ms)


@dataclass(frozen=True)
class Period:
    """A calendar period in UTC: a year, a quarter (1-4), a month (1-12) or an
    ISO 8601 week (1-52/53)."""
    year: int
    kind: str = "year"
    index: int = 1

    @classmethod
    def of_year(cls, year: int) -> "Period":
        return cls(year, "year", 1)

    @classmethod
    def quarter(cls, year: int, q: int) -> "Period":
        return cls(year, "quarter", q)

    @classmethod
    def month(cls, year: int, m: int) -> "Period":
        return cls(year, "month", m)

    @classmethod
    def week(cls, year: int, w: int) -> "Period":
        return cls(year, "week", w)

    def to_c(self) -> _CPeriod:
        kind = _KINDS.get(self.kind)
        if kind is None:
            raise InvalidArgument(-1, f"period kind {self.kind!r}: not one of {', '.join(_KINDS)}")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (self.year, self.index)):
            raise InvalidArgument(-1, "period: year and index must be int")
        if not (-(1 << 31) <= self.year < (1 << 31) and -(1 << 31) <= self.index < (1 << 31)):
            raise InvalidArgument(-1, f"period: {self.year}/{self.index} out of range")
        return _CPeriod(self.year, kind, self.index)

    @classmethod
    def from_c(cls, p: _CPeriod) -> "Period":
        return cls(p.year, _KIND_NAMES.get(p.kind, str(p.kind)), p.index)

    def bounds(self) -> tuple[int, int]:
        """[from_ms, to_ms) of the period. InvalidArgument for an invalid one."""
        c = self.to_c()
        lo, hi = ctypes.c_int64(), ctypes.c_int64()
        check(lib.sfsm_period_bounds(ctypes.byref(c), ctypes.byref(lo), ctypes.byref(hi)))
        return lo.value, hi.value
