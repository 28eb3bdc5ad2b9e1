"""Loop engineering, pure: budgets, loop detection, compaction, repair bound, critic gate.

Nothing here does I/O; the turn (``agent.turn``) feeds these pieces the memoized results of
its steps, so their state is rebuilt identically on every replay.
"""

from .budget import Account, BudgetLimits, Decision, Ledger, LedgerStore, MemoryLedgerStore
from .compaction import CompactionPolicy, Context, Summary, estimate_tokens, prompt_messages
from .critic import CriticGate, CriticVerdict, parse_verdict, rule_based_review
from .detector import LoopDetector, LoopVerdict
from .pricing import Price, PriceTable
from .repair import Check, RepairTracker
from .stop import Stop, StopReason

__all__ = [
    "Account",
    "BudgetLimits",
    "Check",
    "CompactionPolicy",
    "Context",
    "CriticGate",
    "CriticVerdict",
    "Decision",
    "Ledger",
    "LedgerStore",
    "LoopDetector",
    "LoopVerdict",
    "MemoryLedgerStore",
    "Price",
    "PriceTable",
    "RepairTracker",
    "Stop",
    "StopReason",
    "Summary",
    "estimate_tokens",
    "parse_verdict",
    "prompt_messages",
    "rule_based_review",
]
