"""Capabilities at run time: the inbox, the provider seam, and the sidecar-side gateway that
re-checks every call a (possibly compromised) worker sends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sidecar.capabilities import FakeCapabilityProvider, Inbox, LocalCapabilityProvider
from sidecar.facade import scope
from sidecar.facade.capabilities import build_capabilities
from sidecar.facade.errors import MetricsUnavailable, NotifyFailed
from sidecar.facade.grants import CapabilityGrants
from sidecar.workers.gateway import CapabilityGateway

INBOX_ONLY = CapabilityGrants.model_validate({"notify": {"channels": ["inbox"]}})


def test_the_inbox_posts_once_per_dedupe_key(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.jsonl")
    first = inbox.post("s", "hello", thread=None, dedupe_key="run:step:notify.post:0")
    again = inbox.post("s", "hello", thread=None, dedupe_key="run:step:notify.post:0")
    other = inbox.post("s", "second", thread="t-1", dedupe_key="run:step:notify.post:1")
    assert first == again and first["channel"] == "inbox"
    assert other["thread"] == "t-1"
    reopened = Inbox(tmp_path / "inbox.jsonl")  # keys survive a restart
    assert reopened.post("s", "x", thread=None, dedupe_key="run:step:notify.post:0") == first
    assert [m["text"] for m in reopened.messages()] == ["hello", "second"]


def test_the_local_provider_serves_the_inbox_and_nothing_else(tmp_path: Path) -> None:
    backends = LocalCapabilityProvider(Inbox(tmp_path / "i.jsonl")).backends("s", INBOX_ONLY)
    assert backends.notify is not None and backends.metrics is not None
    assert backends.notify.post("inbox", "hi", thread=None, dedupe_key="k")["channel"] == "inbox"
    with pytest.raises(NotifyFailed):
        backends.notify.post("slack", "hi", thread=None, dedupe_key="k2")
    with pytest.raises(MetricsUnavailable):
        backends.metrics.query("up", source="prometheus")


def gateway(grants: CapabilityGrants, tmp_path: Path) -> CapabilityGateway:
    provider = FakeCapabilityProvider(inbox=Inbox(tmp_path / "inbox.jsonl"))
    return CapabilityGateway(
        build_capabilities(grants, provider.backends("s", grants), lambda call: None)
    )


def ask(gw: CapabilityGateway, capability: str, method: str, **args: object) -> dict[str, Any]:
    with scope.inside_step("run-1", "step-1"):
        return gw.serve(
            {"op": "capability", "capability": capability, "method": method, "args": args}
        )


def test_the_gateway_serves_granted_calls_with_its_own_idempotency_key(tmp_path: Path) -> None:
    gw = gateway(INBOX_ONLY, tmp_path)
    answer = ask(gw, "notify", "post", channel="inbox", text="hi", thread=None)
    assert answer["ok"] is True
    messages = Inbox(tmp_path / "inbox.jsonl").messages()
    assert [m["dedupe_key"] for m in messages] == ["run-1:step-1:notify.post:0"]


@pytest.mark.parametrize(
    ("capability", "method", "args", "code"),
    [
        ("http", "get", {"url": "https://example.com", "params": {}, "timeout_seconds": 1},
         "capability-denied"),
        ("notify", "post", {"channel": "slack", "text": "x", "thread": None}, "capability-denied"),
        ("notify", "delete", {}, "capability-denied"),
        ("notify", "post", {"channel": "inbox", "text": "x", "dedupe_key": "forged"},
         "step-misuse"),
        ("notify", "post", {"text": "x"}, "step-misuse"),
    ],
)  # fmt: skip
def test_the_gateway_refuses_what_the_grant_does_not_allow(
    tmp_path: Path, capability: str, method: str, args: dict[str, object], code: str
) -> None:
    answer = ask(gateway(INBOX_ONLY, tmp_path), capability, method, **args)
    assert answer["ok"] is False
    error = answer["error"]
    assert isinstance(error, dict) and (error["kind"], error["code"]) == ("violation", code)
    assert Inbox(tmp_path / "inbox.jsonl").messages() == []


def test_capability_errors_reach_the_skill_by_name(tmp_path: Path) -> None:
    grants = CapabilityGrants.model_validate({"metrics": {"sources": ["prometheus"]}})
    provider = FakeCapabilityProvider(faults={"metrics": "MetricsUnavailable"})
    gw = CapabilityGateway(
        build_capabilities(grants, provider.backends("s", grants), lambda call: None)
    )
    answer = ask(gw, "metrics", "query", promql="up", source=None)
    assert answer["ok"] is False
    assert answer["error"]["name"] == "MetricsUnavailable"


def test_the_gateway_refuses_calls_outside_a_step(tmp_path: Path) -> None:
    gw = gateway(INBOX_ONLY, tmp_path)
    request = {"op": "capability", "capability": "notify", "method": "post",
               "args": {"channel": "inbox", "text": "x", "thread": None}}  # fmt: skip
    answer = gw.serve(request)
    assert answer["error"]["code"] == "runtime-capability-outside-step"
