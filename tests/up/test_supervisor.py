"""The supervisor with small real child processes: restarts with backoff, process groups,
port conflicts named, a quiet console with full log files, leftovers of a killed `up`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from loopwright.pidfile import PidFile, UpState, record, stop_leftovers
from loopwright.supervisor import Component, StartFailed, Supervisor
from loopwright.up import platform_metrics_sources

WAIT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def until(probe: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def http_server(port: int) -> list[str]:
    """A tiny health-answering server that also prints a request log line and a plain one."""
    code = (
        "import http.server, sys\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(200); self.end_headers(); self.wfile.write(b'ok')\n"
        "    def log_message(self, *a):\n"
        "        print('127.0.0.1 - \"GET /health HTTP/1.1\" 200 -', flush=True)\n"
        f"server = http.server.HTTPServer(('127.0.0.1', {port}), H)\n"
        "print('serving', flush=True)\n"
        "server.serve_forever()\n"
    )
    return [sys.executable, "-c", code]


#: A process that starts a sleeping child and prints the child's pid.
PARENT_OF_A_SLEEPER = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
    "print(child.pid, flush=True); time.sleep(300)\n"
)


class Console:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def supervised(tmp_path: Path, console: Console) -> Iterator[tuple[Supervisor, int]]:
    port = free_port()
    comp = Component(
        "web", http_server(port), health_url=f"http://127.0.0.1:{port}/", ports=(port,)
    )
    supervisor = Supervisor(
        [comp], log_dir=tmp_path / "logs", pidfile=PidFile(tmp_path), echo=console
    )
    try:
        supervisor.start()
        yield supervisor, port
    finally:
        supervisor.stop()


def test_a_crashed_child_is_restarted_with_backoff_and_a_line(
    supervised: tuple[Supervisor, int], console: Console, tmp_path: Path
) -> None:
    supervisor, _ = supervised
    for restart, delay in ((1, 1), (2, 2)):
        pid = supervisor.children["web"].proc.pid
        os.kill(pid, signal.SIGKILL)

        def restarted(pid: int = pid) -> bool:
            supervisor.heal()
            return supervisor.children["web"].proc.pid != pid and console.has("healthy again")

        until(restarted, f"restart {restart}")
        assert console.has(
            f"[web] exited with code -9; restarting in {delay} s (restart {restart})"
        )
        assert console.has(f"[web] restarted (pid {supervisor.children['web'].proc.pid})")
        console.lines.clear()
    # The pid file follows the restarts, so a later `up` finds the live child.
    state = PidFile(tmp_path).read()
    assert state is not None and state.children["web"].pid == supervisor.children["web"].proc.pid


def test_request_logs_stay_off_the_console_but_reach_the_log_file(
    supervised: tuple[Supervisor, int], console: Console, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "web.log"
    until(lambda: log.exists() and '"GET /health HTTP/1.1" 200' in log.read_text(), "the log")
    assert console.has("[web] serving")
    assert not console.has("GET /health")


def test_stop_removes_the_pid_file_and_the_whole_process_group(tmp_path: Path) -> None:
    console = Console()
    supervisor = Supervisor(
        [Component("parent", [sys.executable, "-c", PARENT_OF_A_SLEEPER])],
        log_dir=tmp_path / "logs", pidfile=PidFile(tmp_path), echo=console,
    )  # fmt: skip
    supervisor.start()
    until(lambda: any(line.split()[-1].isdigit() for line in console.lines), "the grandchild")
    grandchild = int(console.lines[-1].split()[-1])
    assert (tmp_path / "up.json").exists()
    supervisor.stop()
    assert not (tmp_path / "up.json").exists()
    until(lambda: gone(grandchild), "the grandchild gone")


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_held_port_is_named_and_nothing_starts(tmp_path: Path, console: Console) -> None:
    port = free_port()
    squatter = subprocess.Popen(http_server(port), stdout=subprocess.PIPE)
    try:
        assert squatter.stdout is not None and squatter.stdout.readline().strip() == b"serving"
        other = free_port()
        supervisor = Supervisor(
            [
                Component("first", http_server(other), ports=(other,)),
                Component("web", http_server(port), ports=(port,)),
            ],
            echo=console,
        )
        with pytest.raises(StartFailed) as failed:
            supervisor.start()
        assert str(failed.value).startswith(
            f"cannot start web: port {port} is held by pid {squatter.pid} ({sys.executable} -c"
        )
        assert supervisor.children == {}  # checked before anything started
    finally:
        squatter.kill()
        squatter.wait()


def test_a_child_dying_while_starting_is_reported_with_its_last_lines(
    tmp_path: Path, console: Console
) -> None:
    code = "print('cannot open the database: disk full', flush=True); raise SystemExit(3)"
    supervisor = Supervisor(
        [Component("engine", [sys.executable, "-c", code], health_url="http://127.0.0.1:9/")],
        log_dir=tmp_path / "logs", echo=console,
    )  # fmt: skip
    with pytest.raises(StartFailed) as failed:
        supervisor.start()
    supervisor.stop()
    message = str(failed.value)
    assert message.startswith("engine exited with code 3 while starting; full log: ")
    assert "    cannot open the database: disk full" in message


def test_a_quiet_component_writes_only_its_log(tmp_path: Path, console: Console) -> None:
    code = "print('llama_model_loader: 272 tensors', flush=True)"
    supervisor = Supervisor(
        [Component("toy-llm", [sys.executable, "-c", code], console=False)],
        log_dir=tmp_path / "logs", echo=console,
    )  # fmt: skip
    supervisor.start()
    log = tmp_path / "logs" / "toy-llm.log"
    until(lambda: log.exists() and "272 tensors" in log.read_text(), "the log file")
    supervisor.stop()
    assert not console.has("tensors")


def test_leftovers_of_a_killed_up_are_stopped_with_their_children(tmp_path: Path) -> None:
    leftover = subprocess.Popen(
        [sys.executable, "-c", PARENT_OF_A_SLEEPER], stdout=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    until(lambda: len(psutil.Process(leftover.pid).children()) == 1, "the grandchild")
    grandchild = psutil.Process(leftover.pid).children()[0].pid
    dead_up = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_up.wait()
    state = UpState(supervisor=record(dead_up.pid), children={"engine": record(leftover.pid)})
    assert not state.supervisor.alive()
    stopped = stop_leftovers(state)
    assert stopped == [f"engine (pid {leftover.pid})"]
    leftover.wait(timeout=30)
    until(lambda: gone(grandchild), "the grandchild gone")


def test_a_recycled_pid_is_never_taken_for_ours(tmp_path: Path) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        recorded = record(stranger.pid)
        recorded.started -= 3600  # "our" process with this pid started an hour earlier
        state = UpState(supervisor=recorded, children={"engine": recorded})
        assert stop_leftovers(state, timeout_s=1) == []
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_the_platform_metrics_source_is_added_to_the_configured_ones() -> None:
    import json

    plain = json.loads(platform_metrics_sources(8290, {}))
    assert plain == {
        "platform": {"kind": "scrape", "targets": {"sidecar": "http://127.0.0.1:8290/metrics"}}
    }
    given = {"LOOPWRIGHT_METRICS_SOURCES": '{"fleet": {"kind": "host"}}'}
    assert set(json.loads(platform_metrics_sources(8290, given))) == {"platform", "fleet"}


def test_verbose_brings_the_request_logs_back(tmp_path: Path, console: Console) -> None:
    port = free_port()
    comp = Component("web", http_server(port), health_url=f"http://127.0.0.1:{port}/")
    supervisor = Supervisor([comp], verbose=True, echo=console)
    try:
        supervisor.start()
        until(lambda: console.has('[web] 127.0.0.1 - "GET /health HTTP/1.1" 200'), "a request log")
    finally:
        supervisor.stop()
