"""`loopwright up` as a user runs it, in a real process: it heals a crashed engine, reports
skills going live or quarantined, exposes the platform metrics the heartbeat reads, and after
a ``kill -9`` of `up` itself the next `up` stops the leftovers and starts cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.sidecar_runtime._harness import poll, skill_source
from tests.up.test_supervisor import free_port

START_S = 240.0


class Up:
    def __init__(self, tmp: Path, ports: dict[str, int], name: str) -> None:
        self.console = tmp / f"{name}.log"
        self.ports = ports
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOPWRIGHT_", "INNGEST_"))}
        env["LOOPWRIGHT_ALLOW_MODEL_REQUESTS"] = "0"
        argv = [
            sys.executable, "-m", "loopwright", "up",
            "--port", str(ports["engine"]), "--sidecar-port", str(ports["sidecar"]),
            "--agent-port", str(ports["agent"]),
            "--data-dir", str(tmp / "var"), "--skills-dir", str(tmp / "skills"),
        ]  # fmt: skip
        with self.console.open("wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)

    def text(self) -> str:
        return self.console.read_text(errors="replace")

    def wait_for(self, needle: str, timeout: float = START_S) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if self.proc.poll() is not None:
                raise AssertionError(f"`up` exited ({self.proc.returncode}):\n{self.text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {needle!r} after {timeout}s:\n{self.text()[-3000:]}")
            time.sleep(0.2)


def recorded(tmp: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp / "var" / "up.json").read_text())
    return data


def heartbeat(engine: str) -> dict[str, Any]:
    with httpx.Client(base_url=engine, timeout=30) as http:
        sent = http.post("/invoke/loopwright-skills-heartbeat", json={"data": {}})
        assert sent.status_code == 200, sent.text
        event_id = sent.json()["id"]

        def finished() -> dict[str, Any] | None:
            runs = http.get(f"/v1/events/{event_id}/runs").json().get("data") or []
            if not runs:
                return None
            run: dict[str, Any] = http.get(f"/v1/runs/{runs[0]['run_id']}").json()["data"]
            return run if run["status"] in ("Completed", "Failed", "Cancelled") else None

        run: dict[str, Any] = poll(finished, timeout=120, what="the heartbeat run")
    return run


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_up_heals_reports_and_recovers_from_its_own_kill_9(tmp_path: Path) -> None:
    ports = {"engine": free_port(), "sidecar": free_port(), "agent": free_port()}
    engine = f"http://127.0.0.1:{ports['engine']}"
    first = Up(tmp_path, ports, "first")
    try:
        first.wait_for("Loopwright is up.")
        # The platform metrics source: the heartbeat's skills_active is a number.
        metrics = httpx.get(f"http://127.0.0.1:{ports['sidecar']}/metrics").text
        assert "loopwright_skills_active 4.0" in metrics  # the four core skills
        run = heartbeat(engine)
        assert run["status"] == "Completed" and run["output"]["skills_active"] == 4, run

        # A generated skill goes live; a broken one is quarantined: one line each.
        (tmp_path / "skills" / "up_hello.py").write_text(skill_source("up-hello"))
        first.wait_for("up-hello v1 is live", timeout=120)
        broken = skill_source("up-broken", "import os\nreturn os.getcwd()")
        (tmp_path / "skills" / "up_broken.py").write_text(broken)
        first.wait_for("up-broken v1 quarantined", timeout=120)
        assert "HTTP/1.1" not in first.text()  # request logs are off by default

        # A crashed engine comes back.
        os.kill(recorded(tmp_path)["children"]["engine"]["pid"], signal.SIGKILL)
        first.wait_for("[engine] exited with code -9; restarting in 1 s (restart 1)", 60)
        first.wait_for("[engine] healthy again", 120)
        assert heartbeat(engine)["status"] == "Completed"

        # `up` itself killed: its children stay behind...
        children = recorded(tmp_path)["children"]
        first.proc.kill()
        first.proc.wait()
        assert all(psutil.pid_exists(c["pid"]) for c in children.values())
    finally:
        if first.proc.poll() is None:
            first.proc.kill()
    # ...and the next `up` stops them, then starts cleanly.
    second = Up(tmp_path, ports, "second")
    try:
        second.wait_for("Loopwright is up.")
        stopped = ", ".join(f"{name} (pid {c['pid']})" for name, c in children.items())
        assert f"stopped what it left running: {stopped}" in second.text()
        assert "Traceback" not in second.text()
        running = [c["pid"] for c in recorded(tmp_path)["children"].values()]
    finally:
        second.proc.send_signal(signal.SIGTERM)
        assert second.proc.wait(timeout=60) == 0
    assert not (tmp_path / "var" / "up.json").exists()
    assert not any(psutil.pid_exists(pid) for pid in running)  # Ctrl-C/SIGTERM stops them all
    assert "Traceback" not in second.text()
