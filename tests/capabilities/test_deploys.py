"""Deploy history from a JSONL log, a git repository, and deploy/created events."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import time
from pathlib import Path

import pydantic
import pytest

from skills_core.capabilities import (
    CapabilityDenied,
    CapabilityNotConfigured,
    CapabilityStore,
    DeploysService,
    DeploysUnavailable,
)
from skills_core.capabilities.settings import EventDeploySource, GitDeploySource, JsonlDeploySource

from .factories import grant, make_settings

NOW = time.time()


def iso(seconds_ago: float) -> str:
    return datetime.datetime.fromtimestamp(NOW - seconds_ago, datetime.UTC).isoformat()


def service_with(tmp_path: Path, store: CapabilityStore, **sources: object) -> DeploysService:
    return DeploysService(make_settings(tmp_path, deploys=sources), store)


def test_jsonl_log_window_filter_and_order(tmp_path: Path, store: CapabilityStore) -> None:
    log = tmp_path / "deploys.jsonl"
    rows = [
        {"service": "checkout", "version": "v1", "at": iso(10 * 3600), "author": "a"},
        {"service": "checkout", "version": "v2", "at": iso(2 * 3600), "author": "b"},
        {"service": "search", "version": "s9", "at": iso(3600)},
        {"service": "checkout", "version": "v3", "at": iso(600), "description": "hotfix"},
    ]
    lines = [json.dumps(r) for r in rows] + ["not json", '{"service": "x"}', ""]
    log.write_text("\n".join(lines))
    deploys = service_with(tmp_path, store, log=JsonlDeploySource(path=log))
    found = deploys.recent(grant(deploys={"sources": ["log"]}), service="checkout", hours=6)
    assert [d.version for d in found] == ["v3", "v2"]
    assert found[0].description == "hotfix"
    everything = deploys.recent(grant(deploys={"sources": ["log"]}), hours=24)
    assert [d.service for d in everything] == ["checkout", "search", "checkout", "checkout"]


def test_missing_log_is_an_empty_history(tmp_path: Path, store: CapabilityStore) -> None:
    deploys = service_with(tmp_path, store, log=JsonlDeploySource(path=tmp_path / "none.jsonl"))
    assert deploys.recent(grant(deploys={"sources": ["log"]})) == []


def git(repo: Path, *args: str, when: float | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Dana", "GIT_AUTHOR_EMAIL": "d@example.com"}
    env |= {"GIT_COMMITTER_NAME": "Dana", "GIT_COMMITTER_EMAIL": "d@example.com"}
    if when is not None:
        stamp = f"@{int(when)} +0000"
        env |= {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)


def test_git_first_parent_history(tmp_path: Path, store: CapabilityStore) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for subject, hours_ago in (("old release", 30), ("add retries", 5), ("bump pool", 1)):
        git(repo, "commit", "-q", "--allow-empty", "-m", subject, when=NOW - hours_ago * 3600)
    source = GitDeploySource(repo=repo, service="checkout")
    deploys = service_with(tmp_path, store, git=source)
    found = deploys.recent(grant(deploys={"sources": ["git"]}), service="checkout", hours=6)
    assert [d.description for d in found] == ["bump pool", "add retries"]
    assert found[0].author == "Dana" and len(found[0].version) == 12
    other = deploys.recent(grant(deploys={"sources": ["git"]}), service="search", hours=6)
    assert other == []


def test_git_not_a_repository_is_unavailable(tmp_path: Path, store: CapabilityStore) -> None:
    deploys = service_with(tmp_path, store, git=GitDeploySource(repo=tmp_path, service="x"))
    with pytest.raises(DeploysUnavailable, match="git log") as caught:
        deploys.recent(grant(deploys={"sources": ["git"]}))
    assert not caught.value.retriable


def test_events_are_stored_once_per_event_id(tmp_path: Path, store: CapabilityStore) -> None:
    deploys = service_with(tmp_path, store, events=EventDeploySource())
    event = {"id": "evt-1", "service": "payments", "version": "v7", "at": iso(60)}
    deploys.record(event)
    deploys.record(event)  # a replayed ingest
    deploys.record({"service": "payments", "version": "v6", "at": iso(8 * 3600)})
    found = deploys.recent(grant(deploys={"sources": ["events"]}), service="payments", hours=2)
    assert [(d.version, d.service) for d in found] == [("v7", "payments")]
    with pytest.raises(pydantic.ValidationError):
        deploys.record({"version": "v8", "at": iso(0)})


def test_naive_times_are_utc(tmp_path: Path, store: CapabilityStore) -> None:
    deploys = service_with(tmp_path, store, events=EventDeploySource())
    naive = datetime.datetime.now(datetime.UTC).replace(tzinfo=None).isoformat()
    recorded = deploys.record({"service": "s", "version": "1", "at": naive})
    assert recorded.at.tzinfo is datetime.UTC


def test_grant_and_configuration_are_enforced(tmp_path: Path, store: CapabilityStore) -> None:
    deploys = service_with(tmp_path, store, events=EventDeploySource())
    with pytest.raises(CapabilityDenied):
        deploys.recent(grant(deploys={"sources": ["events"]}), source="log")
    with pytest.raises(CapabilityNotConfigured, match="LOOPWRIGHT_DEPLOY_LOG"):
        deploys.recent(grant(deploys={"sources": ["log"]}))
    with pytest.raises(DeploysUnavailable, match="hours"):
        deploys.recent(grant(deploys={"sources": ["events"]}), hours=0)
