"""Which engine the platform talks to is decided by configuration alone."""

from __future__ import annotations

import hashlib

import pytest

from loopwright.engine_client import EngineTarget, TargetError

KEY = "signkey-prod-" + "ab" * 32


def test_nothing_set_means_the_embedded_engine_on_its_default_port() -> None:
    target = EngineTarget.from_env({})
    assert (target.kind, target.api_url, target.signed) == (
        "embedded", "http://127.0.0.1:8288", False
    )  # fmt: skip


def test_loopwright_engine_url_means_embedded_even_with_keys() -> None:
    env = {"LOOPWRIGHT_ENGINE_URL": "http://127.0.0.1:9999/", "INNGEST_SIGNING_KEY": KEY}
    target = EngineTarget.from_env(env)
    assert (target.kind, target.api_url, target.signed) == (
        "embedded", "http://127.0.0.1:9999", True
    )  # fmt: skip


def test_inngest_base_url_means_self_hosted_inngest() -> None:
    env = {"INNGEST_BASE_URL": "http://inngest.internal:8288", "INNGEST_EVENT_KEY": "ek"}
    target = EngineTarget.from_env(env)
    assert target.kind == "inngest"
    assert target.api_url == target.event_api_url == "http://inngest.internal:8288"
    # The agent passes INNGEST_BASE_URL back in as its URL: still Inngest.
    assert EngineTarget.from_env(env, url="http://inngest.internal:8288").kind == "inngest"


def test_a_signing_key_and_no_url_means_inngest_cloud() -> None:
    target = EngineTarget.from_env({"INNGEST_SIGNING_KEY": KEY})
    assert (target.kind, target.api_url, target.event_api_url) == (
        "inngest", "https://api.inngest.com", "https://inn.gs"
    )  # fmt: skip


def test_an_explicit_kind_wins_and_a_bad_one_is_named() -> None:
    env = {"LOOPWRIGHT_ENGINE_KIND": "inngest", "LOOPWRIGHT_ENGINE_URL": "http://h:1"}
    assert EngineTarget.from_env(env).kind == "inngest"
    with pytest.raises(TargetError, match="LOOPWRIGHT_ENGINE_KIND"):
        EngineTarget.from_env({"LOOPWRIGHT_ENGINE_KIND": "dev-server"})


def test_the_bearer_is_the_hashed_key_as_the_sdk_sends_it() -> None:
    header = EngineTarget(signing_key=KEY).authorization()
    assert header == {
        "Authorization": f"Bearer {hashlib.sha256(bytes.fromhex('ab' * 32)).hexdigest()}"
    }
    assert EngineTarget().authorization() == {}
    with pytest.raises(TargetError, match="INNGEST_SIGNING_KEY"):
        EngineTarget(signing_key="not-hex").authorization()
