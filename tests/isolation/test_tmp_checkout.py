"""A checkout under /tmp keeps its workers isolated, and the host's /tmp stays hidden.

Each worker mounts a private tmpfs on ``/tmp``; a runtime that lives under ``/tmp`` (the
virtualenv of a checkout there) is bound back on top of it, read-only, and nothing else of
the host's ``/tmp`` is. The test copies what the sidecar needs (``sidecar/`` and ``.venv``)
to a fresh directory under the host's ``/tmp``, starts the sidecar's launcher from there
with that copy's Python, and runs raw code in a real isolated worker.
"""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.isolation.launcher import unavailable_reason
from sidecar.isolation.view import PROJECT_ROOT

from .raw_worker import LIMITS, SETTINGS
from .trees import link_tree

#: Raw code for the worker: what it sees of /tmp and the runtime, and what it can change.
WORKER_CODE = """
import errno, importlib, os, sys
result = {"tmp": sorted(os.listdir("/tmp")), "top": sorted(os.listdir(TOP))}
result["marker_visible"] = os.path.exists(MARKER)
try:
    open(os.path.join(sys.prefix, "planted.pth"), "w").write("import os")
    result["runtime_write"] = "SUCCEEDED"
except OSError as err:
    result["runtime_write"] = err.errno
with open("/tmp/own-scratch", "w") as f:
    f.write("private")
result["scratch"] = open("/tmp/own-scratch").read()
# A module of the virtualenv that the zygote never imported: read now, from under /tmp.
fresh = next(name for name in ("certifi", "dateutil", "idna") if name not in sys.modules)
result["imported"] = importlib.import_module(fresh).__file__
"""

#: Run by the copy's Python, from the copy: the sidecar's launcher, then one raw worker.
PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from sidecar.isolation.config import IsolationSettings
from sidecar.isolation.launcher import IsolatedLauncher, launcher

settings = IsolationSettings(**json.loads(sys.argv[2]))
status = launcher(settings).status
boxed = IsolatedLauncher(settings, allow_raw=True)
try:
    proc = boxed.spawn("raw", [sys.argv[3]])
    proc.stdin.write((json.dumps(sys.argv[4]) + "\\n").encode())
    proc.stdin.flush()
    out, err = proc.communicate(timeout=120)
finally:
    boxed.close()
    launcher(settings).close()
lines = out.decode().strip().splitlines()
print(json.dumps({
    "status": status.to_json(),
    "report": json.loads(lines[-1]) if lines else None,
    "stderr": err.decode(errors="replace"),
}))
"""


@pytest.fixture(scope="module")
def tmp_checkout() -> Iterator[Path]:
    reason = unavailable_reason(SETTINGS)
    assert reason is None, f"isolation must work here (.ci/run installs it): {reason}"
    root = Path(f"/tmp/loopwright-checkout-{uuid.uuid4().hex[:12]}")
    root.mkdir()
    try:
        link_tree(Path(sys.prefix), root / ".venv")
        shutil.copytree(
            PROJECT_ROOT / "sidecar", root / "sidecar", ignore=shutil.ignore_patterns("__pycache__")
        )
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def host_marker() -> Iterator[Path]:
    marker = Path(f"/tmp/loopwright-host-marker-{uuid.uuid4().hex}")
    marker.write_text("host secret")
    try:
        yield marker
    finally:
        marker.unlink(missing_ok=True)


def test_a_checkout_under_tmp_runs_isolated_workers_that_see_only_its_runtime(
    tmp_checkout: Path, host_marker: Path
) -> None:
    python = tmp_checkout / ".venv" / "bin" / "python"
    code = WORKER_CODE.replace("TOP", repr(str(tmp_checkout))).replace(
        "MARKER", repr(str(host_marker))
    )
    settings = {"tmp_bytes": SETTINGS.tmp_bytes, "max_processes": SETTINGS.max_processes}
    probe = [str(tmp_checkout), json.dumps(settings), json.dumps(LIMITS), code]
    done = subprocess.run(
        [str(python), "-c", PROBE, *probe],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_checkout,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["status"]["isolated"] is True, outcome["status"]
    report = outcome["report"]
    assert report is not None and report["ok"], outcome
    result = report["result"]

    # The worker sees the runtime under /tmp, and of the host's /tmp nothing else.
    assert result["imported"].startswith(str(tmp_checkout / ".venv")), result
    assert result["tmp"] == [tmp_checkout.name], result
    assert result["top"] == [".venv"], result  # not the copy's sidecar/, not its files
    assert result["marker_visible"] is False
    # The runtime is read-only; the worker's scratch is its own and never reaches the host.
    assert result["runtime_write"] == errno.EROFS, result
    assert not list((tmp_checkout / ".venv").glob("planted.pth"))
    assert result["scratch"] == "private"
    assert not (Path("/tmp") / "own-scratch").exists()
    assert host_marker.read_text() == "host secret"
