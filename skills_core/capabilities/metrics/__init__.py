"""The metrics capability: Prometheus HTTP API, ``/metrics`` scraping, local host resources."""

from .samples import HostResources, Sample, Series
from .service import MetricsService

__all__ = ["HostResources", "MetricsService", "Sample", "Series"]
