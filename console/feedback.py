"""People's verdicts on incidents (useful / false alarm / missed): the review's outcome signals.

When the review loop (``review/``) is installed and offers ``review.feedback.record``, the
verdict goes there; until then it is kept in ``var/incident-feedback.jsonl``, which the
review page reads and the review loop can import.
"""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path
from typing import Any

VERDICTS = {"useful": "useful", "false_alarm": "false alarm", "missed": "missed"}
FILE = "incident-feedback.jsonl"


def _review_feedback() -> Any | None:
    try:
        module = importlib.import_module("review.feedback")
    except ImportError:
        return None
    return module if hasattr(module, "record") else None


def record_feedback(var_dir: Path, incident_id: str, verdict: str, by: str, note: str) -> str:
    """Record a verdict; returns where it went (for the confirmation)."""
    review = _review_feedback()
    if review is not None:
        review.record(incident_id=incident_id, verdict=verdict, by=by, note=note)
        return "sent to the review loop"
    var_dir.mkdir(parents=True, exist_ok=True)
    entry = {"incident_id": incident_id, "verdict": verdict, "by": by, "note": note,
             "at": time.time()}  # fmt: skip
    with (var_dir / FILE).open("a") as f:
        f.write(json.dumps(entry) + "\n")
    return f"kept in {var_dir / FILE} for the review loop"


def all_feedback(var_dir: Path) -> list[dict[str, Any]]:
    path = var_dir / FILE
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def signals_for(var_dir: Path, incident_id: str) -> list[dict[str, Any]]:
    return [f for f in all_feedback(var_dir) if f.get("incident_id") == incident_id]
