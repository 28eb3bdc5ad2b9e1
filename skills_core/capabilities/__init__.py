"""Platform-side capabilities: the only way any skill reaches the world.

Each capability is a service built from ``CapabilitySettings`` whose methods take the calling
skill's ``Grant`` and refuse anything outside it. They are transport-agnostic: the loopback
API exposes them to sandboxed skill workers, tests call them directly. See README.md here.
"""

from .deploys import Deploy, DeployEvent, DeploysService
from .errors import (
    CapabilityDenied,
    CapabilityError,
    CapabilityNotConfigured,
    DeploysUnavailable,
    HttpFailed,
    HttpTooLarge,
    LLMBudgetExceeded,
    LLMError,
    LLMTimeout,
    LLMUnavailable,
    MetricsError,
    MetricsQueryInvalid,
    MetricsUnavailable,
    NotifyDeliveryUnknown,
    NotifyFailed,
)
from .fetch import FetchService, HttpResponse
from .grant import Grant, LLMBudget
from .llm import Classification, ClassifyRequest, CompleteRequest, Completion, LLMService, Usage
from .metrics import HostResources, MetricsService, Sample, Series
from .notify import InboxMessage, NotifyService, PostRequest, PostResult, read_inbox
from .services import CapabilityServices
from .settings import CapabilitySettings, SettingsError
from .store import CapabilityStore

__all__ = [
    "CapabilityDenied",
    "CapabilityError",
    "CapabilityNotConfigured",
    "CapabilityServices",
    "CapabilitySettings",
    "CapabilityStore",
    "Classification",
    "ClassifyRequest",
    "CompleteRequest",
    "Completion",
    "Deploy",
    "DeployEvent",
    "DeploysService",
    "DeploysUnavailable",
    "FetchService",
    "Grant",
    "HostResources",
    "HttpFailed",
    "HttpResponse",
    "HttpTooLarge",
    "InboxMessage",
    "LLMBudget",
    "LLMBudgetExceeded",
    "LLMError",
    "LLMService",
    "LLMTimeout",
    "LLMUnavailable",
    "MetricsError",
    "MetricsQueryInvalid",
    "MetricsService",
    "MetricsUnavailable",
    "NotifyDeliveryUnknown",
    "NotifyFailed",
    "NotifyService",
    "PostRequest",
    "PostResult",
    "Sample",
    "Series",
    "SettingsError",
    "Usage",
    "read_inbox",
]
