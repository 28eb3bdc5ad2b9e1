"""The LLM capability: classify / complete over an OpenAI-compatible endpoint, within budgets."""

from .budget import BudgetLedger, Spend
from .messages import Classification, ClassifyRequest, CompleteRequest, Completion, Usage
from .service import LLMService

__all__ = [
    "BudgetLedger",
    "Classification",
    "ClassifyRequest",
    "CompleteRequest",
    "Completion",
    "LLMService",
    "Spend",
    "Usage",
]
