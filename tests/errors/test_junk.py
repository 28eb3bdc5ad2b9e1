"""Junk sent to every API gets a 4xx and that API's documented error body (docs/errors.md).

The engine, the sidecar and the agent run as real processes on free loopback ports. The
sidecar and the agent answer ``{"error": {"code", "message", "fix"?}}``; the engine keeps
Inngest's wire shape ``{"error": "<message>", "status": N}`` (the SDKs read it).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agent._processes import AgentApp, Engine, Proc

MB = 1024 * 1024


class SidecarProc(Proc):
    name = "sidecar"

    def __init__(self, workdir: Path, engine_url: str) -> None:
        super().__init__(workdir)
        self.engine_url = engine_url

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "sidecar", "--engine", self.engine_url,
            "--port", str(self.port), "--skills-dir", str(self.workdir / "skills"),
            "--db", str(self.workdir / "sidecar.db"), "--no-core", "--log-level", "warning",
        ]  # fmt: skip

    def env(self) -> dict[str, str]:
        return {**super().env(), "LOOPWRIGHT_CAPABILITIES_DB": str(self.workdir / "cap.db")}

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/v1/status", timeout=1.0).status_code == 200


@pytest.fixture(scope="module")
def urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    workdir = tmp_path_factory.mktemp("junk")
    engine = Engine(workdir)
    engine.start()
    sidecar = SidecarProc(workdir, engine.url)
    agent = AgentApp(workdir, {"LOOPWRIGHT_ENGINE_URL": engine.url})
    try:
        sidecar.start()
        agent.start()
        yield {"engine": engine.url, "sidecar": sidecar.url, "agent": agent.url}
    finally:
        agent.stop()
        sidecar.stop()
        engine.stop()


JSON = {"content-type": "application/json"}
BIG = b'{"text": "' + b"x" * (5 * MB) + b'"}'

# (service, method, path, raw body, expected status)
CASES: list[tuple[str, str, str, bytes | None, int]] = [
    ("sidecar", "GET", "/v1/skills/x/versions/99999999999999999999999", None, 400),
    ("sidecar", "GET", "/v1/skills/x/versions/abc", None, 400),
    ("sidecar", "GET", "/v1/skills/x/diff?from=-1", None, 400),
    ("sidecar", "GET", "/v1/skills/no-such-skill", None, 404),
    ("sidecar", "GET", "/v1/nowhere", None, 404),
    ("sidecar", "DELETE", "/v1/skills", None, 405),
    ("sidecar", "POST", "/v1/validate", b"junk", 400),
    ("sidecar", "POST", "/v1/validate", b"[1, 2]", 400),
    ("sidecar", "POST", "/v1/validate", b'{"source": 1}', 400),
    ("sidecar", "POST", "/v1/skills/x/rollback", b'{"version": 1e30}', 400),
    ("sidecar", "POST", "/v1/skills/x/rollback", b'{"version": 99999999999999999999}', 400),
    ("sidecar", "POST", "/v1/skills/Bad%20Id/versions", b'{"source": "x"}', 400),
    ("sidecar", "POST", "/v1/skills/x/versions", BIG, 413),
    ("sidecar", "POST", "/api/inngest?fnId=x&stepId=step", b"junk", 400),
    ("sidecar", "POST", "/api/inngest?fnId=x&stepId=step", b"{}", 400),
    ("sidecar", "POST", "/api/inngest", b'{"ctx": {}, "event": {}, "steps": {}}', 400),
    ("sidecar", "POST", "/v1/skills/x/test", b'{"fn_id": "f", "timeout": 1e9}', 400),
    ("sidecar", "POST", "/v1/skills/x/approve", b'"yes"', 400),
    ("sidecar", "POST", "/v1/skills/x/reject", b'{"reason": "' + b"r" * 5000 + b'"}', 400),
    ("agent", "POST", "/v1/conversations", b"junk", 400),
    ("agent", "POST", "/v1/conversations", b'{"id": "../../etc/passwd"}', 400),
    ("agent", "GET", "/v1/conversations/x/events?after=-1", None, 400),
    ("agent", "POST", "/v1/conversations", b'{"title": ' + b'"t' * 1000 + b'"}', 400),
    ("agent", "POST", "/v1/conversations/nope/messages", b'{"text": "hi"}', 404),
    ("agent", "POST", "/v1/conversations/nope/messages", b'{"text": ""}', 400),
    ("agent", "POST", "/v1/conversations/nope/messages", BIG, 413),
    ("agent", "GET", "/v1/conversations?limit=99999999999999999999", None, 400),
    ("agent", "GET", "/v1/turns/nope", None, 404),
    ("agent", "GET", "/v1/nowhere", None, 404),
    ("agent", "POST", "/api/inngest?fnId=x&stepId=step", b"junk", 400),
    ("engine", "POST", "/e/key", b"junk", 400),
    ("engine", "POST", "/e/key", b"[1]", 400),
    ("engine", "GET", "/v1/runs/not-a-run", None, 400),
    ("engine", "GET", "/v1/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV", None, 404),
    ("engine", "GET", "/v1/events/nope", None, 400),
    ("engine", "POST", "/e/key", b"x" * (4 * MB), 400),
    ("engine", "GET", "/v1/nowhere", None, 404),
    ("engine", "POST", "/fn/register", b"junk", 400),
    ("engine", "POST", "/fn/register", b"[1]", 400),
    ("engine", "PUT", "/fn/register", b"junk", 405),
    ("engine", "POST", "/v1/apps/sync", b"junk", 400),
    ("engine", "POST", "/v1/cancellations", b"junk", 400),
    ("engine", "GET", "/v1/runs?function=x&limit=999999999999999999999", None, 400),
    ("engine", "POST", "/invoke/nope", b"{}", 404),
]


def _id(case: tuple[str, str, str, bytes | None, int]) -> str:
    service, method, path, body, _ = case
    size = f" {len(body)}B" if body else ""
    return f"{service} {method} {path[:40]}{size}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_junk_gets_a_4xx_in_the_documented_shape(
    urls: dict[str, str], case: tuple[str, str, str, bytes | None, int]
) -> None:
    service, method, path, body, status = case
    resp = httpx.request(method, urls[service] + path, content=body, headers=JSON, timeout=30)
    assert resp.status_code == status, resp.text[:500]
    data: Any = resp.json()
    if service == "engine":
        assert isinstance(data["error"], str) and data["error"], data
        return
    error = data["error"]
    assert isinstance(error["code"], str) and error["code"], data
    assert isinstance(error["message"], str) and error["message"], data
    assert set(error) <= {"code", "message", "fix"}, data


def test_an_oversized_body_names_its_size_and_the_limit(urls: dict[str, str]) -> None:
    resp = httpx.post(f"{urls['agent']}/v1/conversations", content=BIG, headers=JSON)
    assert resp.status_code == 413
    assert resp.json()["error"]["message"] == ("the request body is 5.0 MB; the limit is 256 KB")


def test_a_validation_failure_names_the_field(urls: dict[str, str]) -> None:
    resp = httpx.post(f"{urls['sidecar']}/v1/skills/x/rollback", json={"version": -3})
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "invalid-request" and error["message"].startswith("version:")


def test_junk_at_the_sdk_path_leaves_the_sidecar_serving(urls: dict[str, str]) -> None:
    for _ in range(3):
        httpx.post(f"{urls['sidecar']}/api/inngest?fnId=x", content=b"\x00\xff" * 100)
    assert httpx.get(f"{urls['sidecar']}/api/inngest").status_code == 200
    assert httpx.get(f"{urls['sidecar']}/v1/skills").status_code == 200
