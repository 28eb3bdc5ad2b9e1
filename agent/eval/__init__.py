"""The agent's eval: requirement scenarios run N times; success, accuracy, cost, ICIR."""

from .metrics import RunResult, icir, summarize
from .runner import run_eval
from .scenarios import Scenario, load

__all__ = ["RunResult", "Scenario", "icir", "load", "run_eval", "summarize"]
