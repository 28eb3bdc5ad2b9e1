"""Budget ledger: prices, limits, reserve/settle, idempotency across retries, both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.llm import Usage
from agent.loop.budget import (
    Account,
    BudgetLimits,
    Ledger,
    LedgerStore,
    MemoryLedgerStore,
    Spend,
    decide,
)
from agent.loop.pricing import Price, PriceTable
from agent.store import AgentStore
from tests.store_dialects import DIALECTS, fresh_store_url

PRICES = PriceTable.from_dict(
    {
        "default": {"input": 10.0, "output": 30.0},
        "models": {"cheap": {"input": 1.0, "output": 2.0, "cached_input": 0.5}},
    }
)
ACCOUNT = Account("conv-1", "turn-1", "2025-01-01")


def test_price_cost_counts_cached_input_at_its_price() -> None:
    price = Price(input=1.0, output=2.0, cached_input=0.5)
    usage = Usage(input_tokens=1_000_000, output_tokens=500_000, cached_input_tokens=400_000)
    assert price.cost(usage) == pytest.approx(0.6 + 0.2 + 1.0)


def test_price_table_matches_exact_then_longest_prefix_then_default() -> None:
    table = PriceTable.from_dict(
        {
            "models": {
                "gpt-4o": {"input": 2.5, "output": 10},
                "gpt-4o-mini": {"input": 0.15, "output": 0.6},
            }
        }
    )
    assert table.price("gpt-4o-mini-2024-07-18").input == 0.15
    assert table.price("gpt-4o-2024-08-06").input == 2.5
    assert table.price("unknown") == table.default


def test_price_table_refuses_a_malformed_entry() -> None:
    with pytest.raises(ValueError, match="needs numbers 'input' and 'output'"):
        PriceTable.from_dict({"models": {"x": {"input": 1}}})


def test_default_price_table_loads() -> None:
    table = PriceTable.load()
    assert table.price("gpt-4o-mini").output > 0
    assert table.default.input > 0  # an unknown model is never free


def test_decide_names_the_first_limit_that_would_be_crossed() -> None:
    limits = BudgetLimits(per_turn_usd=1.0, per_conversation_usd=2.0, per_day_usd=3.0)
    assert decide(Spend(0.5, 0.5, 0.5), 0.4, limits).allowed
    refused = decide(Spend(0.5, 1.9, 0.5), 0.4, limits)
    assert not refused.allowed
    assert refused.scope == "conversation"
    assert "per-conversation budget is exhausted" in refused.message
    assert decide(Spend(0.9, 0.9, 2.9), 0.0, BudgetLimits(None, None, None)).allowed


@pytest.fixture(params=["memory", *DIALECTS])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerStore]:
    if request.param == "memory":
        yield MemoryLedgerStore()
        return
    with fresh_store_url(request.param, tmp_path, "agent.db") as url:
        stored = AgentStore(url)
        yield stored
        stored.close()


def test_reserve_then_settle_replaces_the_estimate(store: LedgerStore) -> None:
    ledger = Ledger(store, PRICES, BudgetLimits(per_turn_usd=1.0))
    decision = ledger.reserve("turn-1:llm-0", ACCOUNT, "cheap", 100_000, 100_000)
    assert decision.allowed and not decision.existing
    assert store.spend(ACCOUNT).turn == pytest.approx(0.1 + 0.2)
    cost = ledger.settle("turn-1:llm-0", "cheap", Usage(input_tokens=100_000, output_tokens=10_000))
    assert cost == pytest.approx(0.12)
    assert store.spend(ACCOUNT).turn == pytest.approx(0.12)


def test_a_retried_step_never_counts_twice(store: LedgerStore) -> None:
    ledger = Ledger(store, PRICES, BudgetLimits(per_turn_usd=1.0))
    ledger.reserve("k", ACCOUNT, "cheap", 100_000, 0)
    again = ledger.reserve("k", ACCOUNT, "cheap", 100_000, 0)  # the step runs again
    assert again.existing and again.result is None
    ledger.settle("k", "cheap", Usage(input_tokens=100_000), {"status": "ok"})
    ledger.settle("k", "cheap", Usage(input_tokens=900_000), {"status": "other"})  # replayed
    assert store.spend(ACCOUNT).turn == pytest.approx(0.1)
    replay = ledger.reserve("k", ACCOUNT, "cheap", 100_000, 0)
    assert replay.existing and replay.result == {"status": "ok"}


def test_a_failed_call_releases_its_reservation(store: LedgerStore) -> None:
    ledger = Ledger(store, PRICES, BudgetLimits(per_turn_usd=1.0))
    ledger.reserve("k", ACCOUNT, "cheap", 100_000, 0)
    ledger.release("k")
    assert store.spend(ACCOUNT).turn == 0
    assert not ledger.reserve("k", ACCOUNT, "cheap", 100_000, 0).existing  # the retry reserves


def test_exhausted_budget_refuses_and_records_nothing(store: LedgerStore) -> None:
    ledger = Ledger(store, PRICES, BudgetLimits(per_turn_usd=0.25))
    assert ledger.reserve("a", ACCOUNT, "cheap", 200_000, 0).allowed
    refused = ledger.reserve("b", ACCOUNT, "cheap", 100_000, 0)
    assert not refused.allowed and refused.scope == "turn"
    assert store.spend(ACCOUNT).turn == pytest.approx(0.2)


def test_limits_apply_per_scope(store: LedgerStore) -> None:
    ledger = Ledger(store, PRICES, BudgetLimits(per_turn_usd=1.0, per_day_usd=0.3))
    ledger.reserve("a", ACCOUNT, "cheap", 200_000, 0)
    other_conversation = Account("conv-2", "turn-9", ACCOUNT.day)
    refused = ledger.reserve("b", other_conversation, "cheap", 200_000, 0)
    assert refused.scope == "day"
    next_day = Account("conv-2", "turn-9", "2025-01-02")
    assert ledger.reserve("c", next_day, "cheap", 200_000, 0).allowed
