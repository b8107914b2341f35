"""Opportunities: owned handles, read-only snapshots and history entries."""

from __future__ import annotations

import ctypes
import enum
import json
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from ._handle import Handle
from ._lib import HISTORY_CB, Actor, decode, encode, int64, lib
from .errors import InvalidArgument, check

if TYPE_CHECKING:
    from .engine import Engine

FIELD_BITS = {"amount": 0x01, "customer": 0x02, "owner": 0x04, "title": 0x08,
              "expected_close": 0x10, "attrs": 0x20}


def field_names(bits: int) -> frozenset[str]:
    """The names of the SFSM_FIELD_* bits set in bits."""
    return frozenset(name for name, bit in FIELD_BITS.items() if bits & bit)


def _attrs_of(ptr) -> dict[str, str]:
    key, value = ctypes.c_char_p(), ctypes.c_char_p()
    out = {}
    for i in range(lib.sfsm_opp_attr_count(ptr)):
        check(lib.sfsm_opp_attr_at(ptr, i, ctypes.byref(key), ctypes.byref(value)))
        out[decode(key.value)] = decode(value.value)
    return out


@dataclass(frozen=True)
class OpportunityInfo:
    """A copy of an opportunity's fields, as a scan or a hook saw them."""
    id: str
    stage: str
    version: int
    amount: int                  # minor units; 0 if unset
    currency: Optional[str]
    customer: Optional[str]
    owner: Optional[str]
    title: Optional[str]
    expected_close: int          # ms since the epoch; 0 if unset
    created: int
    updated: int
    stage_entered: int
    probability: int
    attrs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_handle(cls, ptr) -> "OpportunityInfo":
        return cls(decode(lib.sfsm_opp_id(ptr)), decode(lib.sfsm_opp_stage(ptr)),
                   lib.sfsm_opp_version(ptr), lib.sfsm_opp_amount(ptr),
                   decode(lib.sfsm_opp_currency(ptr)), decode(lib.sfsm_opp_customer(ptr)),
                   decode(lib.sfsm_opp_owner(ptr)), decode(lib.sfsm_opp_title(ptr)),
                   lib.sfsm_opp_expected_close(ptr), lib.sfsm_opp_created(ptr),
                   lib.sfsm_opp_updated(ptr), lib.sfsm_opp_stage_entered(ptr),
                   lib.sfsm_opp_probability(ptr), _attrs_of(ptr))


class HistoryKind(enum.IntEnum):
    CREATE = 1
    TRANSITION = 2
    UPDATE = 3
    MIGRATE = 4


@dataclass(frozen=True)
class HistoryEntry:
    """One audit entry. ``version`` is its sequence number (1 = the create)."""
    version: int
    at_ms: int
    kind: HistoryKind
    event: Optional[str]
    from_stage: Optional[str]
    to_stage: str
    actor: Optional[str]
    role: Optional[str]
    note: Optional[str]
    fields: frozenset[str]           # names of the fields this entry changed
    changes: Optional[dict[str, Any]]  # their new values


def read_history(engine: "Engine", opp_id: str) -> list[HistoryEntry]:
    """Every history entry of an opportunity, oldest first."""
    entries: list[HistoryEntry] = []
    failure: list[BaseException] = []

    def collect(ep, _ud):
        try:
            e = ep.contents
            changes = json.loads(decode(e.changes)) if e.changes else None
            entries.append(HistoryEntry(e.version, e.at_ms, HistoryKind(e.kind), decode(e.event),
                                        decode(e.from_), decode(e.to), decode(e.actor),
                                        decode(e.role), decode(e.note), field_names(e.fields),
                                        changes))
            return 0
        except BaseException as exc:  # noqa: BLE001 - must not cross into C
            failure.append(exc)
            return 1

    engine._call(lib.sfsm_opp_history, engine, encode(opp_id, "id"), HISTORY_CB(collect), None)
    if failure:
        raise failure[0]
    return entries


class Attributes(MutableMapping):
    """The opportunity's custom attributes (str → str), sorted by key.

    Changes go to the handle; save() or the next fire() stores them.
    """

    __slots__ = ("_opp",)

    def __init__(self, opp: "Opportunity"):
        self._opp = opp

    def __getitem__(self, key: str) -> str:
        raw = lib.sfsm_opp_attr(self._opp._p(), encode(key, "attribute key"))
        if raw is None:
            raise KeyError(key)
        return decode(raw)

    def __setitem__(self, key: str, value: str) -> None:
        if value is None:
            raise InvalidArgument(-1, f"attribute '{key}': value is None (use del to remove)")
        check(lib.sfsm_opp_set_attr(self._opp._p(), encode(key, "attribute key"),
                                    encode(value, f"attribute '{key}'")))

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        check(lib.sfsm_opp_set_attr(self._opp._p(), encode(key, "attribute key"), None))

    def __contains__(self, key: object) -> bool:
        try:
            raw_key = encode(key, "attribute key")
        except InvalidArgument:
            return False  # not a str, or not storable: never a key
        return lib.sfsm_opp_attr(self._opp._p(), raw_key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(list(_attrs_of(self._opp._p())))

    def __len__(self) -> int:
        return lib.sfsm_opp_attr_count(self._opp._p())

    def __repr__(self) -> str:
        return f"Attributes({_attrs_of(self._opp._p())!r})"


def _actor(name: Optional[str], role: Optional[str]) -> Optional[Actor]:
    if name is None and role is None:
        return None
    if name is None or role is None:
        raise InvalidArgument(-1, "actor and role go together: give both or neither")
    return Actor(encode(name, "actor"), encode(role, "role"))


class Opportunity(Handle):
    """A handle on one stored opportunity plus its unsaved field changes.

    Setting a field changes only the handle; save() or the next fire()
    stores it. Use one handle from one thread at a time. close() (or the
    with-block, or garbage collection) frees it.
    """

    __slots__ = ("engine",)
    _kind = "opportunity"

    def __init__(self, ptr: ctypes.c_void_p, engine: "Engine"):
        super().__init__(ptr, lib.sfsm_opp_free, (engine,))
        self.engine = engine

    def _close_lock(self):
        return self.engine._lock

    def _in_use(self) -> Optional[str]:
        if any(o is self for o in self.engine._firing):
            return "its transition is running (closed from one of its own callbacks)"
        return None

    # ---- reading ----
    @property
    def id(self) -> str:
        return decode(lib.sfsm_opp_id(self._p()))

    @property
    def stage(self) -> str:
        return decode(lib.sfsm_opp_stage(self._p()))

    @property
    def version(self) -> int:
        return lib.sfsm_opp_version(self._p())

    @property
    def currency(self) -> Optional[str]:
        return decode(lib.sfsm_opp_currency(self._p()))

    @property
    def amount(self) -> int:
        """Minor units (cents, fen); 0 if unset. Setting keeps the currency."""
        return lib.sfsm_opp_amount(self._p())

    @amount.setter
    def amount(self, minor_units: int) -> None:
        currency = self.currency
        if currency is None and minor_units != 0:
            raise InvalidArgument(-1, "amount: no currency set; use set_amount(amount, currency)")
        self.set_amount(minor_units, currency)

    def set_amount(self, minor_units: int, currency: Optional[str]) -> None:
        """Sets amount (minor units, >= 0) and its ISO 4217 currency together."""
        check(lib.sfsm_opp_set_amount(self._p(), int64(minor_units, "amount"),
                                      encode(currency, "currency")))

    def _set_text(self, fn, value: Optional[str], what: str) -> None:
        check(fn(self._p(), encode(value, what)))

    customer = property(lambda self: decode(lib.sfsm_opp_customer(self._p())),
                        lambda self, v: self._set_text(lib.sfsm_opp_set_customer, v, "customer"),
                        doc="The customer; None or '' clears it.")
    owner = property(lambda self: decode(lib.sfsm_opp_owner(self._p())),
                     lambda self, v: self._set_text(lib.sfsm_opp_set_owner, v, "owner"),
                     doc="The owning sales rep; None or '' clears it.")
    title = property(lambda self: decode(lib.sfsm_opp_title(self._p())),
                     lambda self, v: self._set_text(lib.sfsm_opp_set_title, v, "title"),
                     doc="A free-text title; None or '' clears it.")

    @property
    def expected_close(self) -> int:
        """Expected close, ms since the epoch; 0 if unset. Set ms, an aware
        datetime or a date; 0 clears."""
        return lib.sfsm_opp_expected_close(self._p())

    @expected_close.setter
    def expected_close(self, when) -> None:
        from .periods import to_ms
        check(lib.sfsm_opp_set_expected_close(self._p(), to_ms(when, "expected_close")))

    created = property(lambda self: lib.sfsm_opp_created(self._p()), doc="ms since the epoch")
    updated = property(lambda self: lib.sfsm_opp_updated(self._p()), doc="ms since the epoch")
    stage_entered = property(lambda self: lib.sfsm_opp_stage_entered(self._p()),
                             doc="when the current stage was entered, ms since the epoch")
    probability = property(lambda self: lib.sfsm_opp_probability(self._p()),
                           doc="win probability of the current stage, percent")

    @property
    def unsaved(self) -> frozenset[str]:
        """Names of the fields changed on the handle and not yet stored."""
        return field_names(lib.sfsm_opp_unsaved(self._p()))

    @property
    def attrs(self) -> Attributes:
        """Custom attributes as a mutable mapping."""
        return Attributes(self)

    def info(self) -> OpportunityInfo:
        """A snapshot copy of every field."""
        return OpportunityInfo.from_handle(self._p())

    # ---- writing ----
    def fire(self, event: str, *, actor: str, role: str, note: Optional[str] = None) -> None:
        """Fires event as actor (with that pipeline role), storing unsaved changes too.

        Raises NotFound (unknown event or role), TransitionNotAllowed,
        PermissionDenied, GuardRefused, Vetoed, Conflict, Busy, StorageError;
        on any of them nothing changed.
        """
        self.engine._fire(self, event, actor, role, note)

    def save(self, *, actor: Optional[str] = None, role: Optional[str] = None,
             note: Optional[str] = None) -> None:
        """Stores the unsaved field changes with one history entry (nothing to store: no-op)."""
        act = _actor(actor, role)
        self.engine._call(lib.sfsm_opp_save_as, self.engine, self,
                          ctypes.byref(act) if act else None, encode(note, "note"))

    def reload(self) -> None:
        """Reads the opportunity again from the store, dropping unsaved changes."""
        engine = self.engine
        fresh = engine.open(self.id)
        # Take over fresh's C handle; ours is freed (refused, like close(), while
        # this handle's transition runs or another thread uses the engine).
        try:
            self._replace(fresh)
        except BaseException:
            fresh.close()
            raise

    def history(self) -> Iterator[HistoryEntry]:
        """The stored history, oldest first."""
        return iter(read_history(self.engine, self.id))

    def available_events(self, *, actor: str, role: str) -> list[str]:
        """Events this actor may fire now (stage, role and guards checked, hooks not)."""
        return self.engine.available_events(self, actor=actor, role=role)

    def add_payment(self, amount: int, currency: Optional[str] = None,
                    note: Optional[str] = None) -> None:
        """Records a payment against this (won) opportunity; currency defaults to its own."""
        self.engine.add_payment(self.id, amount, currency or self.currency, note)

    def payments(self):
        return self.engine.payments(self.id)

    def __repr__(self) -> str:
        if self.closed:
            return "<salesfsm.Opportunity closed>"
        return f"<salesfsm.Opportunity {self.id!r} {self.stage} v{self.version}>"

