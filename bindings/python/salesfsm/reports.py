"""Reports as Python values: a name, column names and rows of cells."""

from __future__ import annotations

import ctypes
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional, Union

from ._lib import decode, lib, take_string
from .errors import check

Cell = Optional[Union[str, int]]


@dataclass(frozen=True)
class Report:
    """One report table (see docs/reports.md for each figure).

    ``rows`` are tuples in column order; iterating gives each row as a dict.
    Money is in minor units next to a currency column; rates in basis
    points; durations in ms; a null cell is None.
    """
    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    json_text: str

    @classmethod
    def take(cls, ptr: ctypes.c_void_p) -> "Report":
        """Copies a C report out, then frees it."""
        try:
            ncol = lib.sfsm_report_column_count(ptr)
            columns = tuple(decode(lib.sfsm_report_column_name(ptr, c)) for c in range(ncol))
            nrow = lib.sfsm_report_row_count(ptr)
            rows = []
            for r in range(nrow):
                row = []
                for c in range(ncol):
                    if lib.sfsm_report_is_null(ptr, r, c):
                        row.append(None)
                        continue
                    text = lib.sfsm_report_text(ptr, r, c)
                    row.append(decode(text) if text is not None else lib.sfsm_report_int(ptr, r, c))
                rows.append(tuple(row))
            out, size = ctypes.c_void_p(), ctypes.c_size_t()
            check(lib.sfsm_report_to_json(ptr, ctypes.byref(out), ctypes.byref(size)))
            return cls(decode(lib.sfsm_report_name(ptr)), columns, tuple(rows),
                       take_string(out, size))
        finally:
            lib.sfsm_report_free(ptr)

    def __iter__(self) -> Iterator[dict[str, Cell]]:
        for row in self.rows:
            yield dict(zip(self.columns, row))

    def __len__(self) -> int:
        return len(self.rows)

    def records(self) -> list[dict[str, Cell]]:
        """Every row as a dict keyed by column name."""
        return list(self)

    def column(self, name: str) -> list[Cell]:
        """The cells of one column; KeyError for an unknown column."""
        try:
            i = self.columns.index(name)
        except ValueError:
            raise KeyError(f"report '{self.name}' has no column '{name}'") from None
        return [row[i] for row in self.rows]

    def to_json(self) -> str:
        """The library's JSON form: {"report", "columns", "rows"}."""
        return self.json_text

    def as_dict(self) -> dict[str, Any]:
        return json.loads(self.json_text)
