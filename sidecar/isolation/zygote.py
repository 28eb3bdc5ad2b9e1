"""The zygote: a pre-imported Python inside bubblewrap that forks each worker into its own box.

Starting Python and importing the validator and the facade costs hundreds of milliseconds;
forking a process that has done it once costs a few. The sidecar starts one zygote under
``bwrap`` (its own user, PID, network, IPC and UTS namespaces, a read-only view of the Python
runtime and the ``sidecar`` package only, no ``/etc``, ``/home``, ``var/`` or repository, a
seccomp filter from ``seccomp.zygote_program``) and asks it, over a socket pair, for workers.

Each worker gets namespaces of its own on top of the zygote's (``_confine``):

1. the forked child (A) enters a new user namespace (uid/gid mapped 1:1 to the zygote's
   unprivileged ids), then new mount, PID, network, IPC and UTS namespaces, and forks B;
2. B is PID 1 of the new PID namespace: it mounts a private, size-capped tmpfs on ``/tmp``
   (binding back, read-only, any part of the runtime that lives under ``/tmp``), hides
   ``/proc`` (the zygote's) under an empty read-only tmpfs, caps the processes its user may
   have, and forks C; B then only waits for C and exits with C's status (128 + signal when C
   was killed), and when B exits the kernel kills everything left in the namespace;
3. C drops every capability, sets ``no_new_privs``, loads the worker seccomp filter
   (``seccomp.worker_program``: no sockets, no ptrace, no mounts, no namespaces, ...), closes
   every other descriptor and runs the entry (``sidecar.workers.child`` or
   ``sidecar.validation.sandbox_child``) on the pipes the sidecar passed.

Between requests the zygote keeps one worker *parked*: boxed through step 3 and blocked on a
socket, holding no skill code and no pipes yet (Android's zygote does the same with its
"unspecialized app processes"). A request hands it the pipes and the entry and returns at
once; the next one is parked after the answer. (``park`` false: each request boxes anew.)

The zygote is a subreaper: B is reparented to it when A exits, so it reports B's exit status.
It exits when the sidecar's end of the socket closes, and with it (PID 1 of bubblewrap's
namespace) every worker.

Protocol (JSON, one message per SOCK_SEQPACKET datagram): ``init`` {seccomp (base64),
tmp_bytes, max_processes, tmp_binds, park} → ``ready``; ``spawn`` {id, entry, argv} with three descriptors →
``spawned`` {id, pid} or ``spawn_failed`` {id, error}; ``kill`` {pid} (SIGTERM to B, which
SIGKILLs C and still reports how C ended); and unprompted
``exited`` {pid, returncode} (negative: killed by that signal, as ``subprocess`` reports it).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import gc
import importlib
import json
import os
import resource
import select
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

from . import linux

#: Production entries: module whose ``main()`` runs in the worker.
ENTRIES = {
    "worker": "sidecar.workers.child",
    "sandbox": "sidecar.validation.sandbox_child",
}
#: Only a zygote started with ``--allow-raw`` (tests/isolation does) knows this entry.
RAW_ENTRY = "raw"
MAX_MESSAGE = 1 << 20
#: Quiet time before parking the next worker, so the worker just handed over starts first.
PARK_AFTER_S = 0.05


@dataclasses.dataclass(frozen=True)
class Box:
    """What every worker of this zygote gets (from the ``init`` message)."""

    seccomp: bytes
    tmp_bytes: int
    max_processes: int
    #: Read-only runtime paths under ``/tmp`` (a checkout there): bound again on top of each
    #: worker's private ``/tmp``, which would otherwise hide them.
    tmp_binds: tuple[str, ...] = ()


@dataclasses.dataclass
class Parked:
    """A boxed worker (B's pid) waiting on ``handoff`` for its pipes and its entry."""

    pid: int
    handoff: socket.socket


class Zygote:
    def __init__(self, control: socket.socket, allow_raw: bool) -> None:
        self.control = control
        self.entries: dict[str, Callable[[], None]] = {
            name: importlib.import_module(module).main for name, module in ENTRIES.items()
        }
        if allow_raw:
            self.entries[RAW_ENTRY] = run_raw
        # Imported objects never die: keep the collector off them, so a forked worker does
        # not copy every page they live on the first time it collects.
        gc.freeze()
        self.box = Box(b"", 0, 0)
        self.workers: set[int] = set()
        self.park = False
        self.parked: Parked | None = None

    def serve(self) -> None:
        linux.prctl(linux.PR_SET_CHILD_SUBREAPER, 1)
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        control = self.control.fileno()
        while True:
            # Once quiet between requests: have the next worker boxed and waiting.
            readable, _, _ = select.select(
                [control, wake_r], [], [], PARK_AFTER_S if self._unparked() else None
            )
            if not readable:
                self._park()
                continue
            if wake_r in readable:
                os.read(wake_r, 4096)
                self._reap()
            if control in readable:
                data, fds, _flags, _addr = socket.recv_fds(self.control, MAX_MESSAGE, 3)
                if not data:
                    return  # the sidecar is gone: exiting takes every worker with us
                self._handle(json.loads(data), fds)

    def _send(self, message: dict[str, Any]) -> None:
        self.control.send(json.dumps(message).encode())

    def _handle(self, message: dict[str, Any], fds: list[int]) -> None:
        op = message.get("op")
        if op == "init":
            self.box = Box(
                base64.b64decode(message["seccomp"]),
                int(message["tmp_bytes"]),
                int(message["max_processes"]),
                tuple(str(path) for path in message.get("tmp_binds", ())),
            )
            self.park = bool(message.get("park"))
            self._send({"op": "ready", "entries": sorted(self.entries)})
        elif op == "spawn":
            try:
                pid = self._spawn(message, fds)
            except (OSError, ValueError, KeyError) as err:
                self._send({"op": "spawn_failed", "id": message.get("id"), "error": str(err)})
            else:
                self.workers.add(pid)
                self._send({"op": "spawned", "id": message["id"], "pid": pid})
            finally:
                for fd in fds:
                    os.close(fd)
        elif op == "kill" and message.get("pid") in self.workers:
            # B kills C and reports how C ended: if C already died of a limit, that is kept.
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(message["pid"]), signal.SIGTERM)

    def _spawn(self, message: dict[str, Any], fds: list[int]) -> int:
        job = {"entry": str(message["entry"]), "argv": [str(a) for a in message["argv"]]}
        if job["entry"] not in self.entries:
            raise ValueError(f"no entry {job['entry']!r} in this zygote")
        if len(fds) != 3:
            raise ValueError("a spawn needs stdin, stdout and stderr descriptors")
        parked, self.parked = self.parked, None
        if parked is not None:
            try:
                socket.send_fds(parked.handoff, [json.dumps(job).encode()], fds)
                return parked.pid
            except OSError:  # it died while parked: box a fresh one
                with contextlib.suppress(ProcessLookupError):
                    os.kill(parked.pid, signal.SIGKILL)
            finally:
                parked.handoff.close()
        return self._build(job, fds, None)

    def _unparked(self) -> bool:
        return self.park and self.parked is None

    def _park(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            pid = self._build(None, [], theirs)
        except OSError as err:
            ours.close()
            self.park = False  # do not retry forever; spawns box workers on demand
            sys.stderr.write(f"parking a worker failed, spawning on demand: {err}\n")
            return
        finally:
            theirs.close()
        self.parked = Parked(pid, ours)

    def _build(
        self, job: dict[str, Any] | None, fds: list[int], handoff: socket.socket | None
    ) -> int:
        """Fork A → B → C; C boxed and running ``job`` on ``fds``, or waiting on ``handoff``."""
        report_r, report_w = os.pipe()
        middle = os.fork()
        if middle == 0:  # A
            os.close(report_r)
            _run_child(report_w, Handoff(job, fds, handoff), self.entries, self.box, self.control)
        os.close(report_w)
        with os.fdopen(report_r, "rb") as report:
            lines = report.read().decode("utf-8", "replace").splitlines()
        os.waitpid(middle, 0)
        pid = next((int(line[4:]) for line in lines if line.startswith("pid ")), None)
        error = next((line[6:] for line in lines if line.startswith("error ")), None)
        if pid is not None and error is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if error is not None or pid is None or "ok" not in lines:
            raise OSError(error or "the worker did not finish its set-up")
        return pid

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.workers:
                self.workers.discard(pid)
                self._send({"op": "exited", "pid": pid, "returncode": _returncode(status)})
            elif self.parked is not None and pid == self.parked.pid:
                self.parked.handoff.close()
                self.parked = None


@dataclasses.dataclass
class Handoff:
    """How C gets its work: ``job`` on ``fds`` now, or both later through ``socket``."""

    job: dict[str, Any] | None
    fds: list[int]
    socket: socket.socket | None


def _returncode(status: int) -> int:
    """B's status → C's, as ``subprocess`` reports it (B exits with 128 + C's signal)."""
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    code = os.WEXITSTATUS(status)
    return -(code - 128) if 128 < code < 128 + signal.NSIG else code


def _run_child(
    report: int,
    handoff: Handoff,
    entries: dict[str, Callable[[], None]],
    box: Box,
    control: socket.socket,
) -> None:
    """A, then B and C: never returns."""
    code = 1
    try:
        control.close()
        _confine(report, handoff, entries, box)
        code = 0
    except BaseException as err:  # anything before the entry is a set-up failure
        _write(report, f"error {type(err).__name__}: {err}")
    finally:
        os._exit(code)


def _write(fd: int, line: str) -> None:
    with contextlib.suppress(OSError):
        os.write(fd, (line + "\n").encode())


def _confine(
    report: int, handoff: Handoff, entries: dict[str, Callable[[], None]], box: Box
) -> None:
    uid, gid = os.getuid(), os.getgid()
    linux.unshare(linux.CLONE_NEWUSER)
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1")
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1")
    linux.unshare(
        linux.CLONE_NEWNS | linux.CLONE_NEWPID | linux.CLONE_NEWNET
        | linux.CLONE_NEWIPC | linux.CLONE_NEWUTS
    )  # fmt: skip
    linux.mount("none", "/", "", linux.MS_REC | linux.MS_PRIVATE)
    # Installed before B exists, so a kill that arrives early is not lost (as PID 1, B only
    # receives the signals it handles).
    doom = _Doom()
    signal.signal(signal.SIGTERM, doom.handle)
    init = os.fork()
    if init != 0:
        _write(report, f"pid {init}")
        return  # A is done; B is reparented to the zygote
    # B: PID 1 of the worker's namespace.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    hidden = linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC
    _private_tmp(box, hidden)
    linux.mount("tmpfs", "/proc", "tmpfs", hidden | linux.MS_RDONLY, "size=4k,mode=555")
    resource.setrlimit(resource.RLIMIT_NPROC, (box.max_processes, box.max_processes))
    os.chdir("/")
    worker = os.fork()
    if worker == 0:
        _become_worker(report, handoff, entries, box.seccomp)
    doom.arm(worker)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    while True:
        pid, status = os.wait()
        if pid == worker:
            if os.WIFSIGNALED(status):
                os._exit(128 + os.WTERMSIG(status))
            os._exit(os.WEXITSTATUS(status))


def _private_tmp(box: Box, flags: int) -> None:
    """Mount the worker's own size-capped ``/tmp``, with the runtime paths under it shown again.

    The runtime is held open (``O_PATH``) before the tmpfs covers it, then bound back at the
    same path: the worker sees it, read-only as bubblewrap made it, and nothing else that was
    in ``/tmp``.
    """
    held = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in box.tmp_binds]
    linux.mount("tmpfs", "/tmp", "tmpfs", flags, f"size={box.tmp_bytes},mode=1777")
    for path, fd in held:
        os.makedirs(path, mode=0o755, exist_ok=True)
        linux.mount(f"/proc/self/fd/{fd}", path, "", linux.MS_BIND | linux.MS_REC)
        os.close(fd)


class _Doom:
    """B's SIGTERM handler: SIGKILL C, or do so as soon as C exists."""

    def __init__(self) -> None:
        self.worker = 0
        self.asked = False

    def handle(self, *_: object) -> None:
        self.asked = True
        self._fire()

    def arm(self, worker: int) -> None:
        self.worker = worker
        self._fire()

    def _fire(self) -> None:
        if self.asked and self.worker:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.worker, signal.SIGKILL)


def _become_worker(
    report: int, handoff: Handoff, entries: dict[str, Callable[[], None]], seccomp: bytes
) -> None:
    """C: drop everything, wait for the work if parked, then run the entry; never returns."""
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGTERM, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    linux.drop_capabilities()
    linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
    linux.load_seccomp(seccomp)
    _write(report, "ok")
    job, fds = handoff.job, handoff.fds
    if handoff.socket is not None:
        keep = handoff.socket.fileno()
        os.closerange(3, keep)
        os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))
        data, fds, _flags, _addr = socket.recv_fds(handoff.socket, MAX_MESSAGE, 3)
        if not data or len(fds) != 3:
            os._exit(0)  # the zygote is gone, or never sent work
        job = json.loads(data)
    assert job is not None
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    entry = entries[job["entry"]]
    # Fresh stdio objects on the new descriptors (the zygote's carry its own buffers).
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(  # noqa: SIM115
        2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1
    )
    sys.argv = ["-c", *job["argv"]]
    if "random" in sys.modules:  # forked workers must not share the zygote's sequence
        sys.modules["random"].seed()
    code = 0
    try:
        entry()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)


def run_raw() -> None:
    """Test-only: run *unrestricted* Python from stdin, as if RestrictedPython were bypassed.

    The worker's resource limits apply (as ``workers.child`` sets them) except the file-size
    one, so a test sees the tmpfs cap hold on its own. The source is the first line of stdin
    (a JSON string; the rest of stdin is the code's). Prints ``{"ok", "error", "result"}``.
    """
    config = json.loads(sys.argv[2])
    memory = int(config["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = int(config["lifetime_cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    source = json.loads(sys.stdin.readline())
    namespace: dict[str, Any] = {"__name__": "__raw__"}
    outcome: dict[str, Any] = {"ok": True, "error": None}
    try:
        exec(compile(source, "<raw>", "exec"), namespace)  # the point of the test
    except BaseException as err:
        outcome = {"ok": False, "error": f"{type(err).__name__}: {err}"}
    outcome["result"] = namespace.get("result")
    sys.stdout.write(json.dumps(outcome, default=repr) + "\n")


def main() -> None:
    """``python -I -c <boot> <code root> <control fd> [--allow-raw]``."""
    control = socket.socket(fileno=int(sys.argv[2]))
    Zygote(control, allow_raw="--allow-raw" in sys.argv[3:]).serve()
