"""The console's security: loopback by default, the login token's file, sessions and their
cookie, CSRF on every change (a refused change reaches no part), no open redirect, no secret
rendered, and text from skills or LLMs escaped."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from console.auth import load_or_create_token
from console.ledger_runs import LedgerRuns
from console.settings import ConsoleSettings, RemoteBindRefused
from console.testing import ConsoleServer, RecordingApi, dead_url
from loopwright.cli import app as cli_app
from loopwright.store import open_store

EVIL = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
SECRET = "signkey-test-5ec7e75ec7e7"


def sidecar_route(path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
    skill = {
        "id": "evil-skill", "state": "awaiting_approval", "active_version": None,
        "latest_version": 1, "awaiting_approval": [1], "function_ids": [EVIL], "paused": False,
        "removed": False, "latest_state": "awaiting_approval", "latest_note": EVIL,
    }  # fmt: skip
    version = {
        "number": 1, "state": "awaiting_approval", "author": "agent", "reason": EVIL,
        "note": EVIL, "created_at": 1.0, "approved_by": None, "approved_at": None,
        "function_ids": [EVIL], "filename": "evil_skill.py", "approval": {"reasons": [EVIL]},
        "source": f"DESCRIPTION = {EVIL!r}\n", "report": {"ok": True, "file": EVIL,
        "findings": [{"line": 1, "severity": "warning", "rule": EVIL, "message": EVIL}],
        "skill": {"manifest": {"description": EVIL}}},
    }  # fmt: skip
    if path == "/v1/skills":
        return 200, {"data": [skill]}
    if path == "/v1/skills/evil-skill":
        return 200, {**skill, "versions": [version], "audit": []}
    if path.startswith("/v1/skills/evil-skill/versions/1"):
        return 200, version
    if path.startswith("/v1/skills/evil-skill/"):
        return 200, {"skill_id": "evil-skill", "version": 1, "state": "active", "note": None}
    return 404, {"error": "not found"}


@pytest.fixture(scope="module")
def sidecar() -> Iterator[RecordingApi]:
    with RecordingApi(sidecar_route) as api:
        yield api


@pytest.fixture(scope="module")
def console(
    tmp_path_factory: pytest.TempPathFactory, sidecar: RecordingApi
) -> Iterator[ConsoleServer]:
    os.environ["INNGEST_SIGNING_KEY"] = SECRET
    var = tmp_path_factory.mktemp("console") / "var"
    try:
        server = ConsoleServer(
            var, sidecar_url=sidecar.url, engine_url=dead_url(), agent_url=dead_url(),
            runs=LedgerRuns(open_store(f"sqlite:///{var.parent / 'platform.db'}")),
        ).start()  # fmt: skip
    finally:
        del os.environ["INNGEST_SIGNING_KEY"]
    yield server
    server.stop()


def test_token_file_is_owner_only_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "var" / "console-token"
    token, created = load_or_create_token(path)
    assert created and len(token) >= 24
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_token(path) == (token, False)
    path.chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        load_or_create_token(path)


def test_binding_beyond_loopback_needs_the_flag(tmp_path: Path) -> None:
    with pytest.raises(RemoteBindRefused, match="--allow-remote"):
        ConsoleSettings(host="0.0.0.0")
    assert ConsoleSettings(host="0.0.0.0", allow_remote=True).host == "0.0.0.0"
    result = CliRunner().invoke(
        cli_app, ["console", "--host", "0.0.0.0", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "--allow-remote" in result.output
    assert not (tmp_path / "console-token").exists()  # refused before anything was made


def test_missing_login_goes_to_login_then_back(console: ConsoleServer) -> None:
    client = httpx.Client(base_url=console.url)
    resp = client.get("/skills/evil-skill?v=1")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/login?next=%2Fskills%2Fevil-skill%3Fv%3D1"
    wrong = client.post("/login", data={"token": "nope", "user": "x", "next": "/skills"})
    assert wrong.status_code == 401 and "not this console" in wrong.text
    assert "lw_session" not in wrong.headers.get("set-cookie", "")
    ok = client.post(
        "/login", data={"token": console.token, "user": "Ann", "next": "/skills/evil-skill?v=1"}
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/skills/evil-skill?v=1"
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert client.get("/skills/evil-skill?v=1").status_code == 200


def test_login_never_redirects_off_site(console: ConsoleServer) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        resp = httpx.post(
            f"{console.url}/login", data={"token": console.token, "user": "a", "next": target}
        )
        assert resp.headers["location"] == "/", target


def test_changes_without_the_csrf_token_reach_no_part(
    console: ConsoleServer, sidecar: RecordingApi
) -> None:
    client = console.login()
    before = len(sidecar.requests)
    for path in ("/skills/evil-skill/approve", "/skills/evil-skill/pause"):
        resp = client.post(path, data={"version": "1"})
        assert resp.status_code == 403 and "security token" in resp.text
        resp = client.post(path, data={"version": "1", "csrf": "forged"})
        assert resp.status_code == 403
    assert sidecar.requests[before:] == []  # nothing reached the sidecar
    page = client.get("/skills/evil-skill?v=1").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    resp = client.post("/skills/evil-skill/approve", data={"version": "1", "csrf": csrf[1]})
    assert resp.status_code == 303
    method, path, body = sidecar.requests[-1]
    assert (method, path) == ("POST", "/v1/skills/evil-skill/approve")
    assert body == {"version": 1, "by": "Ann (console)"}  # who approved is recorded


def test_a_session_csrf_token_does_not_work_for_another_session(
    console: ConsoleServer, sidecar: RecordingApi
) -> None:
    ann, bob = console.login("Ann"), console.login("Bob")
    token = re.search(r'name="csrf" value="([^"]+)"', ann.get("/skills/evil-skill").text)
    assert token
    before = len(sidecar.requests)
    assert bob.post("/skills/evil-skill/pause", data={"csrf": token[1]}).status_code == 403
    assert sidecar.requests[before:] == []


def test_text_from_skills_is_escaped_and_no_secret_is_rendered(console: ConsoleServer) -> None:
    client = console.login()
    pages = ["/", "/skills", "/skills/evil-skill?v=1", "/skills/evil-skill?v=1&from=1&to=1",
             "/runs", "/chat", "/events", "/incidents", "/review", "/inbox"]  # fmt: skip
    for path in pages:
        html = client.get(path).text
        assert "<script>window.__xss" not in html, path
        assert "<img src=x" not in html, path
        assert SECRET not in html, path
    skill_page = client.get("/skills/evil-skill?v=1").text
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in skill_page


def test_security_headers(console: ConsoleServer) -> None:
    resp = console.login().get("/skills")
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["x-content-type-options"] == "nosniff"


def test_a_review_decision_without_the_csrf_token_changes_no_proposal(
    console: ConsoleServer, sidecar: RecordingApi
) -> None:
    from review import proposals
    from review.proposals import Proposal

    store = console.app.state.console.store
    item = Proposal(
        id="p-csrf0", report_id="r", skill_id="evil-skill", base_version=1, path="tuning",
        state="awaiting-approval", candidate_version=2, reason=EVIL, evidence={}, changes={},
        backtest=None, shadow=None, watch=None, source=None, created_at=1.0, updated_at=1.0,
        promoted_at=None,
    )  # fmt: skip
    proposals.create(store, item)
    client = console.login()
    before = len(sidecar.requests)
    for action in ("accept", "reject"):
        for data in ({}, {"csrf": "forged"}):
            resp = client.post(f"/review/proposals/p-csrf0/{action}", data=data)
            assert resp.status_code == 403
    assert proposals.get(store, "p-csrf0").state == "awaiting-approval"
    assert sidecar.requests[before:] == []
    page = client.get("/review").text
    assert EVIL not in page  # the proposal's reason is shown escaped
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    resp = client.post("/review/proposals/p-csrf0/reject", data={"csrf": csrf[1]})
    assert resp.status_code == 303
    assert proposals.get(store, "p-csrf0").state == "declined"
    resp = client.post("/review/proposals/p-nope/reject", data={"csrf": csrf[1]})
    assert resp.status_code == 303
    assert "Not rejected" in client.get("/review").text  # names the unknown proposal


def test_junk_ids_are_not_found_never_a_500_nor_another_route(
    console: ConsoleServer, sidecar: RecordingApi
) -> None:
    client = console.login()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/skills/evil-skill").text)
    assert csrf
    before = len(sidecar.requests)
    # a control character made the HTTP client raise (a 500); a '?' reached another query
    for junk in ("%00", "a%01b", "evil-skill%3Fv%3D1", "evil-skill%23x"):
        assert client.get(f"/skills/{junk}").status_code == 404, junk
        assert client.get(f"/chat/{junk}").status_code in (404, 503), junk
        resp = client.post(f"/skills/{junk}/pause", data={"csrf": csrf[1]})
        assert resp.status_code < 500, junk
        for action in ("cancel", "rerun"):
            resp = client.post(f"/runs/{junk}/{action}", data={"csrf": csrf[1]})
            assert resp.status_code < 500, (junk, action)
    reached = [path for _, path, _ in sidecar.requests[before:]]
    assert "/v1/skills/evil-skill" not in reached and "/v1/skills/evil-skill/pause" not in reached


def test_an_oversized_body_is_refused_naming_the_limit(console: ConsoleServer) -> None:
    client = console.login()
    resp = client.post("/chat", data={"text": "x" * (5 * 1024 * 1024)})
    assert resp.status_code == 413
    assert resp.json()["error"]["message"] == "the request body is 5.0 MB; the limit is 1.0 MB"
