"""Ledger overhead: steps/s of the same function with the run-ledger middleware on vs off.

Method
- One engine, one SDK app process serving the same 20-step sync function twice: through a
  client with the ledger middleware (writing a real SQLite platform store) and through one
  without. Trivial step bodies make this the strictest case: a skill's real steps (a
  sandboxed worker, capabilities) cost far more, so the ledger's share there is smaller.
- Phases alternate on/off/on/off...; each phase keeps ``--runs`` runs in flight (a closed loop:
  a run that finishes is replaced at once), waits out a warm-up, counts step bodies over a
  steady window, then stops topping up and drains. (It used to queue one backlog and count a
  window while it drained: the shape of a burst, not a steady state.)
- Figure: median steps/s on ÷ median steps/s off (target ≥ 0.95).
- Second figure, steadier on a loaded shared machine: the app process's CPU time per step
  (from /proc, over the same windows), off ÷ on — the share of the app's CPU the ledger leaves
  to the steps. The engine's work is the same on both sides.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def phase(
    http: httpx.Client, app: str, pid: int, side: str, runs: int, warm: float, window: float
) -> tuple[float, float]:
    """(steps/s, app CPU ms per step) over the phase's steady window: ``runs`` runs kept in
    flight (a finished run is replaced at once), counted after ``warm`` seconds."""
    sent = 0

    def top_up() -> dict[str, int]:
        nonlocal sent
        count = httpx.get(f"{app}/count", timeout=30).json()
        missing = runs - (sent - count[f"{side}_finished"])
        for start in range(0, missing, 100):
            batch = [
                {"name": f"bench/{side}", "data": {}} for _ in range(min(100, missing - start))
            ]
            http.post("/e/bench", json=batch).raise_for_status()
        sent += max(0, missing)
        return count

    def keep_going(seconds: float) -> dict[str, int]:
        end = time.monotonic() + seconds
        count = top_up()
        while time.monotonic() < end:
            time.sleep(0.05)
            count = top_up()
        return count

    keep_going(warm)
    c0, t0, cpu0 = top_up()[side], time.monotonic(), cpu_seconds(pid)
    keep_going(window)
    c1, t1, cpu1 = (
        httpx.get(f"{app}/count", timeout=30).json()[side],
        time.monotonic(),
        cpu_seconds(pid),
    )
    drain(app, side)
    return (c1 - c0) / (t1 - t0), (cpu1 - cpu0) * 1000 / max(1, c1 - c0)


def drain(app: str, side: str) -> None:
    last = -1
    while True:
        now = httpx.get(f"{app}/count", timeout=30).json()[side]
        if now == last:
            return
        last = now
        time.sleep(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="on/off phase pairs")
    parser.add_argument("--runs", type=int, default=400, help="runs kept in flight per phase")
    parser.add_argument("--warm", type=float, default=3.0, help="seconds before counting")
    parser.add_argument("--window", type=float, default=10.0, help="seconds counted")
    parser.add_argument("--quick", action="store_true", help="1 round, short phases")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.runs, args.warm, args.window = 1, 150, 2.0, 4.0
    work = Path(tempfile.mkdtemp(prefix="lw-bench-ledger-"))
    engine_port, app_port = free_port(), free_port()
    engine_url, app_url = f"http://127.0.0.1:{engine_port}", f"http://127.0.0.1:{app_port}"
    env = {**os.environ, "BENCH_ENGINE_URL": engine_url, "BENCH_STORE": str(work / "platform.db"),
           "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}"}  # fmt: skip
    procs = [
        subprocess.Popen([sys.executable, "-m", "engine", "--port", str(engine_port), "--db",
                          str(work / "engine.db")], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-m", "uvicorn", "_ledger_app:app", "--port",
                          str(app_port), "--log-level", "warning"], cwd=ROOT / "bench", env=env),
    ]  # fmt: skip
    try:
        wait_http(f"{engine_url}/health")
        wait_http(f"{app_url}/count")
        http = httpx.Client(base_url=engine_url, timeout=30)
        for side in ("on", "off"):
            resp = http.post("/v1/apps/sync", json={"url": f"{app_url}/api/{side}"})
            resp.raise_for_status()
        rates: dict[str, list[float]] = {"on": [], "off": []}
        cpu: dict[str, list[float]] = {"on": [], "off": []}
        pid = procs[1].pid
        for r in range(args.rounds):
            for side in ("on", "off") if r % 2 == 0 else ("off", "on"):
                rate, ms = phase(http, app_url, pid, side, args.runs, args.warm, args.window)
                rates[side].append(rate)
                cpu[side].append(ms)
                print(f"round {r + 1} ledger {side:>3}: {rate:8.1f} steps/s, "
                      f"app CPU {ms:.3f} ms/step", flush=True)  # fmt: skip
        stats = httpx.get(f"{app_url}/count", timeout=30).json()
        print(f"ledger writes {stats['ledger_writes']} in {stats['ledger_batches']} transactions "
              f"(group commit: {stats['ledger_writes'] / max(1, stats['ledger_batches']):.1f} "
              "per transaction)")  # fmt: skip
        on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
        cpu_on, cpu_off = statistics.median(cpu["on"]), statistics.median(cpu["off"])
        print(f"ledger on {on:.1f} steps/s, off {off:.1f} steps/s: ratio {on / off:.3f} "
              f"(target >= 0.95); app CPU per step on {cpu_on:.3f} ms, off {cpu_off:.3f} ms: "
              f"ratio off/on {cpu_off / cpu_on:.3f}; load {os.getloadavg()[0]:.2f} on "
              f"{os.cpu_count()} cores")  # fmt: skip
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
