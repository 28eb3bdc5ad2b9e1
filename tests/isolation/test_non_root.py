"""A sidecar that does not run as root: isolated through user namespaces, or plainly not.

The sidecar runs for real as ``nobody`` (uid 65534) on a real engine, from a virtualenv that
user may read. With unprivileged user namespaces, its workers are boxed (mapped from
``nobody``, not a dedicated user, and the status says so) and agent-written skills run even
under ``refuse``. Without them (``nobody`` confined to a user namespace whose own limit is 0),
the sidecar says why at start-up, in ``/v1/status`` and in ``skills list``, and
``isolation.unisolated`` decides: ``refuse`` refuses the skill, ``allow`` runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sidecar.isolation.view import PROJECT_ROOT
from tests.sidecar_runtime._engine import running_engine

from . import as_nobody
from .trees import link_tree

NOBODY = as_nobody.NOBODY
PROJECT = Path(__file__).resolve().parents[2]
VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); del sys.argv[1];"
    " from tests.isolation.nonroot_sidecar import main; main()"
)


def nobody_command(command: list[str], *, userns: bool) -> list[str]:
    options = [] if userns else ["--no-userns"]
    return [sys.executable, as_nobody.__file__, *options, "--", *command]


def _interpreter_for_nobody() -> str | None:
    """A Python of this version that ``nobody`` may run (ours may sit under a private /root)."""
    candidates = [os.path.realpath(sys._base_executable), f"/usr/bin/python{VERSION}"]
    candidates.append(f"/usr/local/bin/python{VERSION}")
    for candidate in candidates:
        probe = [candidate, "-c", f"import sys; assert sys.version.startswith('{VERSION}.')"]
        done = subprocess.run(nobody_command(probe, userns=True), capture_output=True)
        if done.returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="module")
def nobody_root() -> Iterator[Path]:
    """A directory ``nobody`` may enter: a virtualenv (this one's packages) and work dirs."""
    if os.geteuid() != 0:
        pytest.skip("switching to nobody needs root (CI and the dev sandbox run as root)")
    # The helper scripts and `tests` run from the checkout: nobody must be able to reach it
    # (a clone in `mktemp -d`, mode 0700, cannot be; .ci/run opens its own path).
    closed = [p for p in (PROJECT, *PROJECT.parents) if not os.stat(p).st_mode & 0o001]
    if closed:
        pytest.skip(f"the user nobody cannot enter {closed[0]} (chmod o+x it to run these)")
    interpreter = _interpreter_for_nobody()
    if interpreter is None:
        pytest.skip(f"no Python {VERSION} that the user nobody may run on this host")
    root = Path(f"/tmp/loopwright-nonroot-{uuid.uuid4().hex[:12]}")
    root.mkdir(mode=0o755)
    try:
        venv = root / ".venv"
        lib = venv / "lib" / f"python{VERSION}"
        lib.mkdir(parents=True)
        (venv / "bin").mkdir()
        (venv / "bin" / "python").symlink_to(interpreter)
        (venv / "pyvenv.cfg").write_text(
            f"home = {os.path.dirname(interpreter)}\ninclude-system-site-packages = false\n"
        )
        site = next(Path(p) for p in sys.path if p.endswith("site-packages"))
        link_tree(site, lib / "site-packages")
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def engine_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_engine(tmp_path_factory.mktemp("engine")) as url:
        yield url


def run_sidecar_as_nobody(
    root: Path, engine_url: str, policy: str, *, userns: bool
) -> dict[str, Any]:
    work = root / f"work-{policy}-{uuid.uuid4().hex[:6]}"
    work.mkdir()
    os.chown(work, NOBODY, NOBODY)
    python = str(root / ".venv" / "bin" / "python")
    command = [python, "-c", BOOT, str(PROJECT_ROOT), str(work), engine_url, policy]
    done = subprocess.run(
        nobody_command(command, userns=userns),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=work,
        env={"PATH": "/usr/bin:/bin", "HOME": str(work), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    reports = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert done.returncode == 0 and reports, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(reports[-1].removeprefix("REPORT "))
    assert report["uid"] == NOBODY and report["gid"] == NOBODY  # it really was not root
    return report


def test_with_user_namespaces_workers_are_boxed_and_the_status_says_as_whom(
    nobody_root: Path, engine_url: str
) -> None:
    report = run_sidecar_as_nobody(nobody_root, engine_url, "refuse", userns=True)
    status = report["status"]
    assert status["isolated"] is True and status["dedicated_user"] is False, status
    assert "workers run as the platform's host user" in status["detail"]
    assert status["agent_skills"] == "run isolated"
    assert report["startup_errors"] == []
    # Isolated, so "refuse" has nothing to refuse: the skill goes live and its run completes.
    assert "sandbox-isolation-unavailable" not in json.dumps(report["submitted"])
    assert report["active_version"] == 1 and report["run"] == "Completed", report


def test_without_user_namespaces_refuse_says_why_and_refuses(
    nobody_root: Path, engine_url: str
) -> None:
    report = run_sidecar_as_nobody(nobody_root, engine_url, "refuse", userns=False)
    status = report["status"]
    assert status["isolated"] is False and status["agent_skills"] == "refused", status
    detail = status["detail"]
    assert "NOT isolated" in detail and f"uid {NOBODY}, not root" in detail
    assert "user namespaces" in detail and "run the sidecar as root" in detail
    assert any("NOT isolated" in line and "REFUSED" in line for line in report["startup_errors"])
    assert "workers are NOT isolated" in report["skills_list"]
    assert "refused" in report["skills_list"]
    assert "sandbox-isolation-unavailable" in json.dumps(report["submitted"])
    assert report["active_version"] is None and report["run"] is None


def test_without_user_namespaces_allow_runs_agent_skills_unisolated_and_says_so(
    nobody_root: Path, engine_url: str
) -> None:
    report = run_sidecar_as_nobody(nobody_root, engine_url, "allow", userns=False)
    status = report["status"]
    assert status["isolated"] is False and "UNISOLATED" in status["agent_skills"], status
    assert f"uid {NOBODY}, not root" in status["detail"]
    assert any("NOT isolated" in line and "still run" in line for line in report["startup_errors"])
    assert "workers are NOT isolated" in report["skills_list"]
    assert report["active_version"] == 1 and report["run"] == "Completed", report
