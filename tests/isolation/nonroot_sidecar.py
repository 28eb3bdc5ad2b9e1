"""Test-only: run a real sidecar (as ``nobody``, see ``test_non_root.py``) and report what it says.

``main(work, engine_url, policy)``: starts the sidecar with ``isolation.unisolated = policy``
on the given engine, submits one agent-written skill and, if it goes live, triggers it. Prints
one JSON object: who it ran as, the ERROR lines logged at start-up, ``/v1/status``'s
isolation, ``skills list``'s output, the submission's answer and the run's status.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from sidecar.cli import skills_app
from sidecar.isolation.config import IsolationSettings
from tests.sidecar_runtime._harness import skill_source
from tests.sidecar_runtime.conftest import running_harness, settings_for

SKILL = "nonroot-probe"


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def main() -> None:
    work, engine_url, policy = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    errors = Errors()
    logging.getLogger("loopwright").addHandler(errors)
    isolation = IsolationSettings(unisolated=policy)  # type: ignore[arg-type]
    settings = settings_for(work, engine_url, f"lw-nonroot-{policy}", isolation=isolation)
    report: dict[str, Any] = {"uid": os.geteuid(), "gid": os.getegid()}
    with running_harness(settings, engine_url) as harness:
        report["startup_errors"] = list(errors.lines)
        report["status"] = harness.api.get("/v1/status").json()["isolation"]
        shown = CliRunner().invoke(skills_app, ["list", "--url", settings.origin])
        report["skills_list"] = shown.output
        report["submitted"] = harness.submit(SKILL, skill_source(SKILL))
        report["run"] = None
        if "sandbox-isolation-unavailable" not in str(report["submitted"]):
            harness.wait_active(SKILL, 1)
            report["run"] = harness.trigger(f"test/{SKILL}")["status"]
        skill = harness.skill(SKILL)
        report["active_version"] = skill["active_version"] if skill else None
    print("REPORT " + json.dumps(report, default=str))


if __name__ == "__main__":
    main()
