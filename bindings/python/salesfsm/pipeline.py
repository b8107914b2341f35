"""Pipelines: the sales process as an immutable transition table."""

from __future__ import annotations

import ctypes
import enum
from dataclasses import dataclass
from typing import Optional

from ._handle import Handle
from ._lib import decode, encode, lib, take_string
from .errors import InvalidArgument, check


class Outcome(enum.IntEnum):
    """How a stage counts in reports."""
    OPEN = 0
    WON = 1
    LOST = 2


class ForecastCategory(enum.IntEnum):
    """The forecast category a stage counts in."""
    PIPELINE = 0
    BEST_CASE = 1
    COMMIT = 2
    CLOSED = 3
    OMITTED = 4


@dataclass(frozen=True)
class Stage:
    """One stage of a pipeline, as the definition gives it."""
    index: int
    name: str
    label: str
    probability: int        # win probability, percent
    stale_days: int         # 0: never stale
    outcome: Outcome
    forecast: ForecastCategory
    final: bool             # no event leads out of it


@dataclass(frozen=True)
class Event:
    """One event: where it may be fired from, where it leads, who may fire it."""
    index: int
    name: str
    to: str
    sources: tuple[str, ...]
    roles: tuple[str, ...]
    guards: tuple[str, ...]


class Pipeline(Handle):
    """A validated, immutable pipeline, shareable by engines and threads.

    Build one with :meth:`default` or :meth:`from_json`. Closing it (or
    leaving its ``with`` block) closes the engines and opportunities built on
    it first.
    """

    __slots__ = ("_stages", "_events", "_roles")
    _kind = "pipeline"

    def __init__(self, ptr: ctypes.c_void_p):
        super().__init__(ptr, lib.sfsm_pipeline_free)
        self._stages: Optional[tuple[Stage, ...]] = None
        self._events: Optional[tuple[Event, ...]] = None
        self._roles: Optional[tuple[str, ...]] = None

    @classmethod
    def default(cls) -> "Pipeline":
        """The built-in pipeline: lead → qualified → quoted → negotiating → signed →
        delivered → serviced, with lost and reopen."""
        out = ctypes.c_void_p()
        check(lib.sfsm_pipeline_default(ctypes.byref(out)))
        return cls(out)

    @classmethod
    def from_json(cls, text: str | bytes) -> "Pipeline":
        """Builds a pipeline from its JSON definition (docs/pipeline-format.md).

        Raises ParseError (not JSON, or wrong shape), InvalidArgument (a
        definition that does not hold together) or VersionError; the message
        names the JSON path of the fault.
        """
        raw = text if isinstance(text, bytes) else encode(text, "pipeline JSON")
        out = ctypes.c_void_p()
        check(lib.sfsm_pipeline_from_json(ctypes.byref(out), raw, len(raw)))
        return cls(out)

    @classmethod
    def from_file(cls, path) -> "Pipeline":
        """Builds a pipeline from a JSON definition file."""
        with open(path, "rb") as f:
            return cls.from_json(f.read())

    def _text(self, fn) -> str:
        out, size = ctypes.c_void_p(), ctypes.c_size_t()
        check(fn(self._p(), ctypes.byref(out), ctypes.byref(size)))
        return take_string(out, size)

    def to_json(self) -> str:
        """The definition as JSON that :meth:`from_json` reads back identically."""
        return self._text(lib.sfsm_pipeline_to_json)

    def to_dot(self) -> str:
        """A Graphviz DOT picture (render with ``dot -Tsvg``)."""
        return self._text(lib.sfsm_pipeline_to_dot)

    def to_mermaid(self) -> str:
        """A Mermaid flowchart."""
        return self._text(lib.sfsm_pipeline_to_mermaid)

    @property
    def name(self) -> str:
        return decode(lib.sfsm_pipeline_name(self._p()))

    @property
    def version(self) -> int:
        return lib.sfsm_pipeline_version(self._p())

    @property
    def stages(self) -> tuple[Stage, ...]:
        """Stages in table order."""
        if self._stages is None:
            n = lib.sfsm_pipeline_stage_count(self._p())
            self._stages = tuple(
                Stage(i, decode(lib.sfsm_pipeline_stage_name(self._p(), i)),
                      decode(lib.sfsm_pipeline_stage_label(self._p(), i)),
                      lib.sfsm_pipeline_stage_probability(self._p(), i),
                      lib.sfsm_pipeline_stage_stale_days(self._p(), i),
                      Outcome(lib.sfsm_pipeline_stage_outcome(self._p(), i)),
                      ForecastCategory(lib.sfsm_pipeline_stage_forecast(self._p(), i)),
                      bool(lib.sfsm_pipeline_stage_is_final(self._p(), i)))
                for i in range(n))
        return self._stages

    @property
    def roles(self) -> tuple[str, ...]:
        if self._roles is None:
            n = lib.sfsm_pipeline_role_count(self._p())
            self._roles = tuple(decode(lib.sfsm_pipeline_role_name(self._p(), i)) for i in range(n))
        return self._roles

    @property
    def events(self) -> tuple[Event, ...]:
        """Events in table order."""
        if self._events is None:
            stages, roles = self.stages, self.roles
            events = []
            for i in range(lib.sfsm_pipeline_event_count(self._p())):
                events.append(Event(
                    i, decode(lib.sfsm_pipeline_event_name(self._p(), i)),
                    stages[lib.sfsm_pipeline_event_target(self._p(), i)].name,
                    tuple(s.name for s in stages
                          if lib.sfsm_pipeline_event_allowed_from(self._p(), i, s.index)),
                    tuple(r for j, r in enumerate(roles)
                          if lib.sfsm_pipeline_event_allows_role(self._p(), i, j)),
                    tuple(decode(lib.sfsm_pipeline_event_guard(self._p(), i, j))
                          for j in range(lib.sfsm_pipeline_event_guard_count(self._p(), i)))))
            self._events = tuple(events)
        return self._events

    @property
    def initial_stage(self) -> str:
        return self.stages[lib.sfsm_pipeline_initial_stage(self._p())].name

    def stage(self, name: str) -> Stage:
        """The stage of that name; NotFound otherwise."""
        return self.stages[self._index(lib.sfsm_pipeline_stage_index, name, "stage")]

    def event(self, name: str) -> Event:
        """The event of that name; NotFound otherwise."""
        return self.events[self._index(lib.sfsm_pipeline_event_index, name, "event")]

    def migration(self, from_version: int, stage: str) -> Optional[str]:
        """Where this pipeline's migrations move an opportunity stored at stage
        under version from_version; None if it declares nothing for it."""
        if isinstance(from_version, bool) or not isinstance(from_version, int) \
                or not 0 <= from_version < 2**32:
            raise InvalidArgument(-1, f"from_version: {from_version!r} is not a version number")
        to = ctypes.c_char_p()
        check(lib.sfsm_pipeline_migration(self._p(), from_version, encode(stage, "stage"),
                                          ctypes.byref(to)))
        return decode(to.value)

    def _index(self, fn, name: str, what: str) -> int:
        idx = ctypes.c_size_t()
        check(fn(self._p(), encode(name, what), ctypes.byref(idx)))
        return idx.value

    def __repr__(self) -> str:
        if self.closed:
            return "<salesfsm.Pipeline closed>"
        return f"<salesfsm.Pipeline {self.name!r} v{self.version}>"
