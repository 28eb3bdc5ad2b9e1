"""What a restarted demo fleet takes back: its injected incidents and its deployed versions.

Injected incidents are written to ``incidents.json`` next to the deploy log on every inject
and clear; a fleet starting on the same log plays the ones not yet over (they keep their
original start, so an incident ends when it would have ended anyway). Each service's version
is the last one the deploy log records for it, so after an ``error-burst-after-deploy`` the
fleet still runs the bad release the log blames, with or without the burst.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from skills_core.capabilities.deploys import Deploy

from .incidents import Incident, IncidentKind

FILENAME = "incidents.json"


def state_path(deploy_log: Path) -> Path:
    return deploy_log.parent / FILENAME


def save_incidents(path: Path, incidents: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(incidents, indent=2))
    os.replace(tmp, path)


def load_incidents(path: Path, now: float) -> list[Incident]:
    """The recorded incidents still running at ``now`` (an unreadable file: none)."""
    try:
        records = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    incidents = []
    for record in records if isinstance(records, list) else []:
        try:
            incident = Incident(
                kind=IncidentKind(record["kind"]),
                service=str(record["service"]),
                started_at=float(record["started_at"]),
                duration_s=float(record["duration_s"]),
                ramp_s=float(record["ramp_s"]),
                onset_s=float(record["onset_s"]),
            )
        except (KeyError, TypeError, ValueError):
            continue
        if incident.active(now):
            incidents.append(incident)
    return incidents


def deployed_versions(deploy_log: Path) -> dict[str, str]:
    """Service → the version of its latest deploy in the log."""
    latest: dict[str, Deploy] = {}
    try:
        lines = deploy_log.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    for line in lines:
        try:
            deploy = Deploy.model_validate_json(line)
        except ValueError:
            continue
        if deploy.service not in latest or deploy.at >= latest[deploy.service].at:
            latest[deploy.service] = deploy
    return {service: d.version for service, d in latest.items()}
