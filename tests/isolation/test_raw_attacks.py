"""Attacks by raw Python inside a real isolated worker: each fails, and has no effect.

The code runs as if RestrictedPython and the AST policy had been bypassed: plain ``open``,
``socket``, ``os.fork``, ``ctypes``. What stops it is the OS layer alone (namespaces, the
read-only view, the tmpfs cap, RLIMIT_NPROC, seccomp). Every test checks the *effect* on the
host — a witness listener saw no connection, a marker file kept its hash, a victim process is
alive and untraced, a secret did not come back — not only that an error was raised.
"""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from sidecar.isolation.verdicts import death_of
from sidecar.isolation.view import PROJECT_ROOT, runtime_paths, under_tmp

from .conftest import VICTIM_SECRET, DatagramSink, Listener, host_addresses, wait_for
from .raw_worker import SETTINGS, RawLauncher

#: What a worker's private /tmp holds from the start: the top of a runtime that lives under
#: /tmp (a checkout there), nothing otherwise.
RUNTIME_IN_TMP = sorted({Path(path).parts[2] for path in under_tmp()})

PRELUDE = """
result = {}
def attempt(name, fn):
    try:
        result[name] = "SUCCEEDED: " + repr(fn())[:300]
    except BaseException as err:
        result[name] = "failed: " + type(err).__name__ + ": " + str(err)[:200]
"""


def attack(raw: RawLauncher, body: str) -> dict[str, str]:
    outcome = raw.run(PRELUDE + body)
    assert outcome.returncode == 0, outcome.stderr
    assert isinstance(outcome.result, dict), outcome
    return outcome.result


def all_failed(result: dict[str, str]) -> bool:
    return all(v.startswith("failed") for v in result.values())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def platform_db() -> Iterator[Path]:
    """A real SQLite file where the platform keeps its own (``var/``), with a secret row."""
    var = PROJECT_ROOT / "var"
    var.mkdir(exist_ok=True)
    path = var / f"isolation-probe-{uuid.uuid4().hex}.db"
    with sqlite3.connect(path) as db:
        db.execute("create table secrets (value text)")
        db.execute("insert into secrets values ('db-secret-5e1d')")
    try:
        yield path
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def test_the_worker_is_a_distinct_unprivileged_user_with_nothing_around_it(
    raw: RawLauncher,
) -> None:
    result = attack(
        raw,
        """
import os, socket
result["ids"] = [os.getuid(), os.geteuid(), os.getgid(), os.getgroups()]
result["pid"] = os.getpid()
result["root"] = sorted(os.listdir("/"))
result["proc"] = os.listdir("/proc")
result["tmp"] = os.listdir("/tmp")
result["hostname"] = socket.gethostname()
try:
    result["repo"] = os.listdir(REPO)
except OSError:
    result["repo"] = []
result["var"] = os.listdir("/var") if os.path.isdir("/var") else []
""".replace("REPO", repr(str(PROJECT_ROOT))),
    )
    uid, euid, gid, groups = result["ids"]
    assert uid == euid == SETTINGS.uid and gid == SETTINGS.gid
    assert uid not in (0, os.getuid())  # neither root nor the platform's user
    assert groups in ([], [SETTINGS.gid])
    assert result["pid"] == 2  # its own PID namespace: only its init and itself
    assert result["proc"] == [] and result["tmp"] == RUNTIME_IN_TMP
    # A runtime under /var (a checkout in /var/tmp) brings /var back, holding only that path.
    runtime_tops = {Path(path).parts[1] for path in runtime_paths()}
    assert ({"etc", "home", "var", "srv", "mnt"} - runtime_tops).isdisjoint(result["root"])
    assert set(result["var"]) <= {
        Path(p).parts[2] for p in runtime_paths() if p.startswith("/var/")
    }
    # The repository is not there: only the virtualenv under it, when it lives there.
    assert set(result["repo"]) <= {".venv"}


def test_the_host_sees_a_confined_process() -> None:
    """From the host: another user, no capabilities, seccomp on, other namespaces."""
    from sidecar.isolation.launcher import launcher

    spawner = launcher(SETTINGS)
    assert spawner.status.isolated, spawner.status.detail
    proc = spawner.spawn("sandbox", [])  # a dry-run sandbox, as validation starts it
    try:
        status = Path(f"/proc/{proc.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines())
        assert fields["Uid"].split()[0] == str(SETTINGS.uid)
        assert fields["CapEff"].strip() == "0000000000000000"
        assert fields["NoNewPrivs"].strip() == "1"
        assert fields["Seccomp"].strip() == "2"
        for ns in ("net", "pid", "mnt", "user", "ipc", "uts"):
            assert os.readlink(f"/proc/{proc.pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}")
    finally:
        proc.kill()
        proc.wait(30)


def test_reading_shadow_and_the_platform_database_returns_nothing(
    raw: RawLauncher, platform_db: Path
) -> None:
    paths = [str(platform_db), f"/proc/1/root{platform_db}", f"/proc/self/root{platform_db}"]
    result = attack(
        raw,
        f"""
import sqlite3
attempt("shadow", lambda: open("/etc/shadow").read())
attempt("passwd", lambda: open("/etc/passwd").read())
for i, path in enumerate({paths!r}):
    attempt(f"db-file-{{i}}", lambda: open(path, "rb").read())
    attempt(f"db-sql-{{i}}", lambda: sqlite3.connect(f"file:{{path}}?mode=ro", uri=True)
            .execute("select value from secrets").fetchall())
attempt("repo", lambda: open({str(PROJECT_ROOT / "pyproject.toml")!r}).read())
attempt("var", lambda: __import__("os").listdir({str(PROJECT_ROOT / "var")!r}))
""",
    )
    assert all_failed(result), result
    flat = repr(result)
    assert "db-secret-5e1d" not in flat and "root:" not in flat
    with sqlite3.connect(platform_db) as db:  # the file is there and holds the row
        assert db.execute("select value from secrets").fetchall() == [("db-secret-5e1d",)]


def test_another_process_environment_stays_unread(raw: RawLauncher, victim: psutil.Process) -> None:
    assert VICTIM_SECRET in Path(f"/proc/{victim.pid}/environ").read_text()  # the witness
    result = attack(
        raw,
        f"""
import os
attempt("victim", lambda: open("/proc/{victim.pid}/environ").read())
attempt("init", lambda: open("/proc/1/environ").read())
attempt("scan", lambda: [open(f"/proc/{{p}}/environ").read() for p in os.listdir("/proc")])
""",
    )
    assert result["victim"].startswith("failed") and result["init"].startswith("failed")
    assert VICTIM_SECRET not in repr(result)


def test_no_connection_reaches_the_engine_port_or_outside(
    raw: RawLauncher, listener: Listener
) -> None:
    targets = ["127.0.0.1", "localhost", *host_addresses(), "1.1.1.1", "10.255.255.1"]
    result = attack(
        raw,
        f"""
import socket
for host in {targets!r}:
    attempt(f"tcp-{{host}}", lambda: socket.create_connection((host, {listener.port}), timeout=3))
attempt("raw-socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, 1))
attempt("unix", lambda: socket.socket(socket.AF_UNIX).connect("/run/postgresql/.s.PGSQL.5432"))
attempt("socketpair", lambda: socket.socketpair())
""",
    )
    assert all_failed(result), result
    time.sleep(0.5)  # a connection that got through would be in the accept queue by now
    assert listener.connections == []  # nothing got through, by any address


def test_resolving_a_name_fails_and_sends_nothing(raw: RawLauncher, sink: DatagramSink) -> None:
    query = bytes.fromhex("abcd01000001000000000000076578616d706c6503636f6d0000010001")
    result = attack(
        raw,
        f"""
import socket
attempt("getaddrinfo", lambda: socket.getaddrinfo("example.com", 80))
attempt("localhost", lambda: socket.gethostbyname("localhost"))
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto({query!r}, ("127.0.0.1", {sink.port}))
attempt("udp-dns", udp)
""",
    )
    assert all_failed(result), result
    assert sink.datagrams == []


def test_writes_outside_its_tmp_change_nothing_on_the_host(raw: RawLauncher) -> None:
    var = PROJECT_ROOT / "var"
    var.mkdir(exist_ok=True)
    tag = uuid.uuid4().hex
    markers = [var / f"isolation-marker-{tag}", Path(f"/tmp/isolation-marker-{tag}")]
    for marker in markers:
        marker.write_text("original")
    before = {m: sha256(m) for m in markers}
    site = next(Path(p) for p in __import__("sys").path if p.endswith("site-packages"))
    planted = [
        PROJECT_ROOT / f"evil-{tag}.py",
        PROJECT_ROOT / "sidecar" / f"evil_{tag}.py",
        site / f"evil-{tag}.pth",
        Path(f"/usr/lib/evil-{tag}"),
        Path(f"/evil-{tag}"),
    ]
    try:
        result = attack(
            raw,
            f"""
import os
for path in {[str(m) for m in markers]!r}:
    attempt("overwrite " + path, lambda: open(path, "w").write("owned"))
for path in {[str(p) for p in planted]!r} + ["/opt/loopwright/sidecar/evil.py", "/dev/evil"]:
    attempt("create " + path, lambda: open(path, "w").write("import os"))
attempt("chmod", lambda: os.chmod("/usr/bin/env", 0o777))
""",
        )
        # Writing "/tmp/..." lands in the worker's private tmpfs, not in the host's /tmp (a
        # checkout under /tmp included); only its read-only runtime there must refuse writes.
        assert all_failed({k: v for k, v in result.items() if not _private_tmp(k)}), result
        assert {m: sha256(m) for m in markers} == before
        assert not any(p.exists() for p in planted)
    finally:
        for marker in markers:
            marker.unlink(missing_ok=True)


def _private_tmp(attempt_name: str) -> bool:
    """Whether an attempt ("create /tmp/x") wrote into the worker's own writable /tmp."""
    path = attempt_name.partition(" ")[2]
    runtime = any(path.startswith(f"{root}/") for root in runtime_paths())
    return path.startswith("/tmp/") and not runtime


def test_filling_the_disk_stops_at_the_tmp_cap(raw: RawLauncher) -> None:
    result = attack(
        raw,
        """
written = 0
try:
    with open("/tmp/fill", "wb") as f:
        while written < 1 << 30:
            f.write(b"x" * 65536)
            f.flush()
            written += 65536
except OSError as err:
    result["errno"] = err.errno
result["written"] = written
""",
    )
    assert result["errno"] == errno.ENOSPC
    assert result["written"] <= SETTINGS.tmp_bytes
    assert not Path("/tmp/fill").exists()
    # The next worker's /tmp is its own, empty one.
    assert attack(raw, "import os\nresult['tmp'] = os.listdir('/tmp')")["tmp"] == RUNTIME_IN_TMP


def _in_namespace(namespace: str) -> list[int]:
    """Host pids of the processes in the PID namespace ``namespace`` (``pid:[inode]``)."""
    found = []
    for pid in psutil.pids():
        try:
            if os.readlink(f"/proc/{pid}/ns/pid") == namespace:
                found.append(pid)
        except OSError:
            continue
    return found


def test_a_fork_bomb_is_capped_and_cleaned_up(raw: RawLauncher) -> None:
    proc = raw.start(
        PRELUDE
        + """
import os, sys, time
children = 0
try:
    while children < 10000:
        if os.fork() == 0:
            time.sleep(120)
            os._exit(0)
        children += 1
except OSError as err:
    result["error"] = type(err).__name__
result["children"] = children
sys.stdin.readline()  # hold on until the test has looked
"""
    )
    namespace = os.readlink(f"/proc/{proc.pid}/ns/pid")
    assert namespace != os.readlink("/proc/self/ns/pid")
    wait_for(lambda: len(_in_namespace(namespace)) >= 3)  # init, worker, children
    assert len(_in_namespace(namespace)) <= SETTINGS.max_processes
    outcome = raw.finish(proc)
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.result["error"] == "BlockingIOError"  # EAGAIN from RLIMIT_NPROC
    assert outcome.result["children"] < SETTINGS.max_processes
    # When the worker ends, its PID namespace ends, and every child with it.
    wait_for(lambda: _in_namespace(namespace) == [])


def test_signalling_another_process_has_no_effect(raw: RawLauncher, victim: psutil.Process) -> None:
    result = attack(
        raw,
        f"""
import os, signal
attempt("kill victim", lambda: os.kill({victim.pid}, signal.SIGKILL))
attempt("kill all", lambda: os.kill(-1, signal.SIGKILL))
attempt("kill group", lambda: os.killpg({os.getpgid(victim.pid)}, signal.SIGKILL))
attempt("kill init", lambda: os.kill(1, signal.SIGKILL))
""",
    )
    assert result["kill victim"].startswith("failed") and result["kill group"].startswith("failed")
    assert victim.is_running() and victim.status() != psutil.STATUS_ZOMBIE


def test_tracing_another_process_kills_the_worker_not_the_victim(
    raw: RawLauncher, victim: psutil.Process
) -> None:
    outcome = raw.run(
        f"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH = 16
result = libc.ptrace(PTRACE_ATTACH, {victim.pid}, 0, 0)
"""
    )
    assert outcome.report is None  # it never got to report
    assert outcome.returncode == -signal.SIGSYS
    rule, message = death_of(outcome.returncode, outcome.stderr)
    assert rule == "sandbox-seccomp" and "seccomp" in message
    assert victim.is_running()
    tracer = next(
        line.split()[1]
        for line in Path(f"/proc/{victim.pid}/status").read_text().splitlines()
        if line.startswith("TracerPid:")
    )
    assert tracer == "0"


@pytest.mark.parametrize(
    "call",
    [
        "libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)",
        "libc.unshare(0x10000000)",
        "libc.syscall(175, None, 0, None)",  # init_module (x86_64)
    ],
)
def test_mounts_namespaces_and_modules_kill_the_worker(raw: RawLauncher, call: str) -> None:
    if os.uname().machine != "x86_64" and "175" in call:
        pytest.skip("syscall number is x86_64's")
    outcome = raw.run(f"import ctypes\nlibc = ctypes.CDLL(None)\nresult = {call}")
    assert outcome.returncode == -signal.SIGSYS, outcome
