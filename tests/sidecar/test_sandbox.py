"""The sandbox process: scrubbed environment, self-imposed limits, exit classification."""

from __future__ import annotations

import json
import signal
import sys

import pytest

from sidecar.validation.jobs import Message
from sidecar.validation.sandbox import PROJECT_ROOT, SandboxOutcome, start


def run_python(code: str) -> str:
    proc = start([sys.executable, "-I", "-c", code, PROJECT_ROOT])
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    return out.decode()


def test_sandbox_environment_holds_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "INNGEST_SIGNING_KEY",
        "INNGEST_EVENT_KEY",
        "OPENAI_API_KEY",
        "SLACK_BOT_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "LOOPWRIGHT_DB",
    ):
        monkeypatch.setenv(name, "secret-value")
    env = json.loads(run_python("import os, json; print(json.dumps(dict(os.environ)))"))
    assert set(env) <= {"PATH", "LANG", "LC_ALL", "LC_CTYPE"}
    assert "secret-value" not in json.dumps(env)


def test_sandbox_runs_isolated_in_root() -> None:
    out = run_python("import os, sys; print(os.getcwd(), sys.flags.isolated)")
    assert out.split() == ["/", "1"]


def test_child_caps_its_own_resources() -> None:
    code = (
        "import sys, resource; sys.path.insert(0, sys.argv[1])\n"
        "from sidecar.validation.sandbox_child import apply_limits\n"
        "from sidecar.validation.jobs import SandboxJob\n"
        "apply_limits(SandboxJob(mode='validate', source='', filename='x.py', manifest={},"
        " manifest_line=1, cpu_seconds=3, memory_bytes=300 * 2**20))\n"
        "print([resource.getrlimit(r) for r in (resource.RLIMIT_CPU, resource.RLIMIT_AS,"
        " resource.RLIMIT_FSIZE, resource.RLIMIT_CORE)])\n"
    )
    limits = json.loads(run_python(code).replace("(", "[").replace(")", "]"))
    assert limits == [[3, 4], [300 * 2**20, 300 * 2**20], [0, 0], [0, 0]]


def outcome(
    returncode: int, *, done: bool = False, timed_out: bool = False, stderr: str = ""
) -> SandboxOutcome:
    messages = [Message(kind="dry_run_started", fn_id="f", line=7)]
    if done:
        messages.append(Message(kind="done"))
    return SandboxOutcome(messages, returncode, timed_out, stderr)


@pytest.mark.parametrize(
    ("result", "rule"),
    [
        (outcome(0, done=True), None),
        (outcome(-9, timed_out=True), "sandbox-timeout"),
        (outcome(-signal.SIGXCPU), "sandbox-cpu-limit"),
        (outcome(-signal.SIGKILL), "sandbox-cpu-limit"),
        (outcome(-signal.SIGSEGV), "sandbox-crashed"),
        (outcome(1, stderr="Traceback...\nMemoryError"), "sandbox-memory-limit"),
        (outcome(1, stderr="Traceback...\nValueError: x"), "sandbox-crashed"),
    ],
)
def test_exit_classification(result: SandboxOutcome, rule: str | None) -> None:
    failure = result.failure()
    assert (failure[0] if failure else None) == rule
    assert result.running_function() is not None  # the dry run of "f" never reported
