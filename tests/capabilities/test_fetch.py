"""The http capability: granted hosts only, public addresses only, capped in size and time."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from skills_core.capabilities import (
    CapabilityDenied,
    FetchService,
    HttpFailed,
    HttpTooLarge,
)
from skills_core.capabilities.settings import HttpSettings

from .factories import Closing, grant, make_settings
from .scripted_http import Canned, ScriptedHttp

LOCAL = grant(http={"hosts": ["127.0.0.1"]})


def local_fetch(
    closing: Closing, tmp_path: Path, server: ScriptedHttp, **http: object
) -> FetchService:
    """Loopback test servers are private addresses on odd ports: allow exactly that."""
    port = urlsplit(server.url).port
    fields: dict[str, object] = {"allow_private_addresses": True, "allowed_ports": (port,), **http}
    return closing(FetchService(make_settings(tmp_path, http=HttpSettings(**fields))))


def test_get_returns_status_headers_text_and_json(
    closing: Closing, tmp_path: Path, http_server: ScriptedHttp
) -> None:
    payload = {"status": {"indicator": "minor"}}
    http_server.script(
        "/api/v2/status.json", Canned(body=json.dumps(payload), content_type="application/json")
    )
    fetch = local_fetch(closing, tmp_path, http_server)
    answer = fetch.get(LOCAL, f"{http_server.url}/api/v2/status.json", params={"a": "1"})
    assert answer.status == 200 and answer.body_json == payload
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.model_dump(by_alias=True)["json"] == payload


def test_error_statuses_are_results(
    closing: Closing, tmp_path: Path, http_server: ScriptedHttp
) -> None:
    http_server.script("/x", Canned(status=500, body="oops"))
    answer = local_fetch(closing, tmp_path, http_server).get(LOCAL, f"{http_server.url}/x")
    assert (answer.status, answer.text, answer.body_json) == (500, "oops", None)


def test_redirects_are_not_followed(
    closing: Closing, tmp_path: Path, http_server: ScriptedHttp
) -> None:
    http_server.script(
        "/moved", Canned(status=302, headers={"Location": "http://169.254.169.254/"})
    )
    answer = local_fetch(closing, tmp_path, http_server).get(LOCAL, f"{http_server.url}/moved")
    assert answer.status == 302 and answer.headers["location"] == "http://169.254.169.254/"
    assert http_server.paths == ["/moved"]


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://example.org/", "not granted"),
        ("ftp://127.0.0.1/", "only absolute http"),
        ("http://user:pw@127.0.0.1/", "credentials"),
        ("http://127.0.0.1:1/", "port 1 is not allowed"),
    ],
)
def test_urls_outside_the_grant_are_denied(
    closing: Closing, tmp_path: Path, http_server: ScriptedHttp, url: str, match: str
) -> None:
    with pytest.raises(CapabilityDenied, match=match):
        local_fetch(closing, tmp_path, http_server).get(LOCAL, url)
    assert http_server.paths == []


def test_private_addresses_are_refused_by_default(
    closing: Closing, tmp_path: Path, http_server: ScriptedHttp
) -> None:
    port = urlsplit(http_server.url).port
    fetch = closing(FetchService(make_settings(tmp_path, http=HttpSettings(allowed_ports=(port,)))))
    with pytest.raises(CapabilityDenied, match="not a public address"):
        fetch.get(LOCAL, f"{http_server.url}/")
    assert http_server.paths == []


def test_body_over_the_cap(closing: Closing, tmp_path: Path, http_server: ScriptedHttp) -> None:
    http_server.script("/big", Canned(body="x" * 4096))
    fetch = local_fetch(closing, tmp_path, http_server, max_bytes=1024)
    with pytest.raises(HttpTooLarge) as caught:
        fetch.get(LOCAL, f"{http_server.url}/big")
    assert caught.value.to_wire()["code"] == "http-too-large"


def test_timeout_is_retriable(closing: Closing, tmp_path: Path, http_server: ScriptedHttp) -> None:
    http_server.script("/slow", Canned(delay_s=1.0))
    with pytest.raises(HttpFailed, match=r"no answer within 0\.2s") as caught:
        local_fetch(closing, tmp_path, http_server).get(
            LOCAL, f"{http_server.url}/slow", timeout_s=0.2
        )
    assert caught.value.retriable and caught.value.retry_after == 10.0
