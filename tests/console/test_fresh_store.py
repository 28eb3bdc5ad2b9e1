"""A console on a platform store nothing else has touched yet (a fresh process, as at first
start) still shows every page: it creates the tables it reads, as the CLI does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from pathlib import Path
from console.ledger_runs import LedgerRuns
from console.testing import ConsoleServer, dead_url
from loopwright.store import open_store

work = Path(sys.argv[1])
runs = LedgerRuns(open_store(f"sqlite:///{work / 'platform.db'}"))
server = ConsoleServer(work / "var", runs=runs, engine_url=dead_url(), sidecar_url=dead_url(),
                       agent_url=dead_url()).start()
try:
    client = server.login()
    for path in ("/", "/incidents", "/review", "/runs", "/skills"):
        resp = client.get(path)
        print(path, resp.status_code)
        assert resp.status_code == 200, (path, resp.text[:300])
finally:
    server.stop()
"""


def test_every_page_answers_on_a_fresh_store(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=repo, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "/review 200" in done.stdout
