"""All capabilities of one platform process, built from one settings object.

The loopback API (a later piece) holds one ``CapabilityServices`` and, per request, the
``Grant`` of the calling skill's registered manifest; it never trusts the worker for either.
"""

from __future__ import annotations

import dataclasses
from types import TracebackType
from typing import Self

from .deploys import DeploysService
from .fetch import FetchService
from .llm import LLMService
from .metrics import MetricsService
from .notify import NotifyService
from .settings import CapabilitySettings, capabilities_store_location
from .store import CapabilityStore


@dataclasses.dataclass(frozen=True)
class CapabilityServices:
    settings: CapabilitySettings
    store: CapabilityStore
    metrics: MetricsService
    deploys: DeploysService
    notify: NotifyService
    llm: LLMService
    http: FetchService

    @classmethod
    def build(cls, settings: CapabilitySettings) -> Self:
        store = CapabilityStore(capabilities_store_location(settings))
        return cls(
            settings=settings,
            store=store,
            metrics=MetricsService(settings),
            deploys=DeploysService(settings, store),
            notify=NotifyService(settings, store),
            llm=LLMService(settings, store),
            http=FetchService(settings),
        )

    def close(self) -> None:
        for service in (self.metrics, self.notify, self.llm, self.http):
            service.close()
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
