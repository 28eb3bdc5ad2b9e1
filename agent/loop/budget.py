"""The budget ledger: reserve before each model call, settle after, refuse past a limit.

Limits are dollars per turn, per conversation and per (UTC) day. A call first *reserves* its
worst case (estimated prompt tokens, every output token used); the reservation counts against
every limit until it is *settled* with the real usage or *released* when the call failed.

Every entry has a key (the turn's id and the step's id), and both operations are idempotent
on it: a step retried after a crash, or replayed by the engine, finds its entry and never
counts twice. A settled entry also keeps the call's result, so a step that re-runs after its
call completed (the engine lost the answer) gets the result back instead of paying again.
The store is a seam: ``MemoryLedgerStore`` here, ``agent.store`` in SQLite.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, Literal, Protocol

from agent.llm.reply import Usage

from .pricing import PriceTable

Scope = Literal["turn", "conversation", "day"]


@dataclasses.dataclass(frozen=True)
class BudgetLimits:
    """Dollar limits; None means unlimited."""

    per_turn_usd: float | None = 0.5
    per_conversation_usd: float | None = 5.0
    per_day_usd: float | None = 20.0

    def items(self) -> list[tuple[Scope, float | None]]:
        return [
            ("turn", self.per_turn_usd),
            ("conversation", self.per_conversation_usd),
            ("day", self.per_day_usd),
        ]


@dataclasses.dataclass(frozen=True)
class Account:
    """Whose money an entry spends."""

    conversation_id: str
    turn_id: str
    day: str


@dataclasses.dataclass(frozen=True)
class Spend:
    """Settled cost plus outstanding reservations, per scope."""

    turn: float = 0.0
    conversation: float = 0.0
    day: float = 0.0

    def of(self, scope: Scope) -> float:
        value: float = getattr(self, scope)
        return value


@dataclasses.dataclass(frozen=True)
class Decision:
    allowed: bool
    scope: Scope | None = None
    limit: float | None = None
    spent: float = 0.0
    estimate: float = 0.0
    #: True when the key was already in the ledger (a retry or a replay).
    existing: bool = False
    #: The settled call's result, when the key was already settled with one.
    result: dict[str, Any] | None = None

    @property
    def message(self) -> str:
        if self.allowed:
            return "ok"
        return (
            f"the per-{self.scope} budget is exhausted: ${self.spent:.4f} spent or reserved, "
            f"the next call may cost up to ${self.estimate:.4f}, the limit is ${self.limit:.4f}"
        )


def decide(spend: Spend, estimate: float, limits: BudgetLimits) -> Decision:
    """Allow the call only if its worst case fits under every limit."""
    for scope, limit in limits.items():
        if limit is not None and spend.of(scope) + estimate > limit:
            return Decision(
                allowed=False, scope=scope, limit=limit, spent=spend.of(scope), estimate=estimate
            )
    return Decision(allowed=True, estimate=estimate)


@dataclasses.dataclass
class Entry:
    key: str
    account: Account
    model: str
    reserved_usd: float
    settled_usd: float | None = None
    usage: Usage = dataclasses.field(default_factory=Usage)
    result: dict[str, Any] | None = None

    @property
    def counted_usd(self) -> float:
        return self.reserved_usd if self.settled_usd is None else self.settled_usd


class LedgerStore(Protocol):
    def reserve(self, entry: Entry, limits: BudgetLimits) -> Decision:
        """Atomically: return ``existing`` if the key is known, else decide and insert."""
        ...

    def settle(
        self,
        key: str,
        cost_usd: float,
        usage: Usage,
        model: str,
        result: dict[str, Any] | None = None,
    ) -> None:
        """Replace the reservation by the real cost and keep the result (again: no change)."""
        ...

    def release(self, key: str) -> None:
        """Drop an unsettled reservation: the call failed, a retry reserves afresh."""
        ...

    def spend(self, account: Account) -> Spend: ...


class MemoryLedgerStore:
    """The in-process ledger double: same semantics as the SQLite store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: dict[str, Entry] = {}

    def reserve(self, entry: Entry, limits: BudgetLimits) -> Decision:
        with self._lock:
            if entry.key in self.entries:
                return Decision(allowed=True, existing=True, result=self.entries[entry.key].result)
            decision = decide(self._spend(entry.account), entry.reserved_usd, limits)
            if decision.allowed:
                self.entries[entry.key] = entry
            return decision

    def settle(
        self,
        key: str,
        cost_usd: float,
        usage: Usage,
        model: str,
        result: dict[str, Any] | None = None,
    ) -> None:
        with self._lock:
            entry = self.entries.get(key)
            if entry is not None and entry.settled_usd is None:
                entry.settled_usd, entry.usage, entry.model = cost_usd, usage, model
                entry.result = result

    def release(self, key: str) -> None:
        with self._lock:
            entry = self.entries.get(key)
            if entry is not None and entry.settled_usd is None:
                del self.entries[key]

    def spend(self, account: Account) -> Spend:
        with self._lock:
            return self._spend(account)

    def _spend(self, account: Account) -> Spend:
        entries = list(self.entries.values())
        return Spend(
            turn=sum(e.counted_usd for e in entries if e.account.turn_id == account.turn_id),
            conversation=sum(
                e.counted_usd
                for e in entries
                if e.account.conversation_id == account.conversation_id
            ),
            day=sum(e.counted_usd for e in entries if e.account.day == account.day),
        )


class Ledger:
    """Prices calls and keeps the store honest; one per process, shared by all turns."""

    def __init__(self, store: LedgerStore, prices: PriceTable, limits: BudgetLimits) -> None:
        self.store = store
        self.prices = prices
        self.limits = limits

    def reserve(
        self, key: str, account: Account, model: str, input_tokens: int, max_output_tokens: int
    ) -> Decision:
        estimate = self.prices.price(model).estimate(input_tokens, max_output_tokens)
        return self.store.reserve(Entry(key, account, model, estimate), self.limits)

    def settle(
        self, key: str, model: str, usage: Usage, result: dict[str, Any] | None = None
    ) -> float:
        cost = self.prices.price(model).cost(usage)
        self.store.settle(key, cost, usage, model, result)
        return cost

    def release(self, key: str) -> None:
        """The call failed: drop its reservation (a retry of the step reserves again)."""
        self.store.release(key)
