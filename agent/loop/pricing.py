"""Tokens to dollars: a configurable price table, per million tokens.

The default table (``prices.json`` beside this file) covers common hosted models; a model it
does not know costs ``default`` — deliberately not zero, so an unknown paid model cannot spend
without limit. Local servers are free: give them ``{"input": 0, "output": 0}`` in
``LOOPWRIGHT_PRICE_TABLE``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.llm.reply import Usage

DEFAULT_TABLE = Path(__file__).with_name("prices.json")


@dataclasses.dataclass(frozen=True)
class Price:
    """Dollars per million tokens; cached input defaults to the input price."""

    input: float
    output: float
    cached_input: float | None = None

    def cost(self, usage: Usage) -> float:
        cached = min(usage.cached_input_tokens, usage.input_tokens)
        cached_price = self.input if self.cached_input is None else self.cached_input
        fresh = usage.input_tokens - cached
        return (
            fresh * self.input + cached * cached_price + usage.output_tokens * self.output
        ) / 1e6

    def estimate(self, input_tokens: int, max_output_tokens: int) -> float:
        """The most a call can cost: every input token fresh, every output token used."""
        return (input_tokens * self.input + max_output_tokens * self.output) / 1e6


@dataclasses.dataclass(frozen=True)
class PriceTable:
    prices: Mapping[str, Price]
    default: Price

    def price(self, model: str) -> Price:
        """Exact name first, then the longest known prefix (dated model snapshots)."""
        if model in self.prices:
            return self.prices[model]
        matches = [name for name in self.prices if model.startswith(name)]
        return self.prices[max(matches, key=len)] if matches else self.default

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriceTable:
        models = {
            str(name): _price(name, spec) for name, spec in (data.get("models") or {}).items()
        }
        default = _price("default", data.get("default", {"input": 1.0, "output": 4.0}))
        return cls(prices=models, default=default)

    @classmethod
    def load(cls, path: Path = DEFAULT_TABLE) -> PriceTable:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def merged(self, other: Mapping[str, Any]) -> PriceTable:
        """This table with ``other``'s models (and default, if given) on top."""
        extra = PriceTable.from_dict({"models": other.get("models") or {}})
        default = _price("default", other["default"]) if "default" in other else self.default
        return PriceTable(prices={**self.prices, **extra.prices}, default=default)


def _price(name: str, spec: Any) -> Price:
    if not isinstance(spec, Mapping) or "input" not in spec or "output" not in spec:
        raise ValueError(f"price of {name!r} needs numbers 'input' and 'output' ($ per Mtok)")
    cached = spec.get("cached_input")
    price = Price(
        input=float(spec["input"]),
        output=float(spec["output"]),
        cached_input=None if cached is None else float(cached),
    )
    if min(price.input, price.output, price.cached_input or 0.0) < 0:
        raise ValueError(f"price of {name!r} is negative")
    return price
