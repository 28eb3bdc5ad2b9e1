"""The demo fleet: SIMULATED services, a deploy log and injectable incidents.

Not real services: a simulator that makes ``loopwright up`` show detections and triage on a
fresh machine, and that the tests scrape with a real Prometheus. See README.md here.
"""

from .fleet import Fleet, UnknownService
from .incidents import Incident, IncidentKind
from .profiles import DEFAULT_PROFILES, ServiceProfile
from .prometheus import APT_COMMAND, PrometheusMissing, PrometheusServer, find_prometheus
from .schedule import ScheduledIncident, overnight_spike

__all__ = [
    "APT_COMMAND",
    "DEFAULT_PROFILES",
    "Fleet",
    "Incident",
    "IncidentKind",
    "PrometheusMissing",
    "PrometheusServer",
    "ScheduledIncident",
    "ServiceProfile",
    "UnknownService",
    "find_prometheus",
    "overnight_spike",
]
