"""Start the processes that run skill code: isolated through the zygote, or plainly.

``launcher(settings)`` returns the process-wide launcher for those settings (one zygote per
process, restarted if it dies): an ``IsolatedLauncher`` when bubblewrap, namespaces and
libseccomp work here, else a ``PlainLauncher`` whose ``status`` says why not. The reason is
logged as an error once, at start-up, and shown by ``loopwright skills list`` and
``/v1/status``; it is never silent.

Both start an *entry* (``worker``: ``sidecar.workers.child``; ``sandbox``: the validation
dry run) with arguments, on three pipes, in a scrubbed environment; both hand back an object
with ``Popen``'s surface.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import logging
import os
import platform
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any, Protocol

from .config import IsolationSettings
from .process import IsolatedProcess
from .view import CODE_ROOT, PROJECT_ROOT, SANDBOX_ENV, View, under_tmp

log = logging.getLogger("loopwright.sidecar.isolation")

_PLAIN_BOOT = {
    "worker": "from sidecar.workers.child import main",
    "sandbox": "from sidecar.validation.sandbox_child import main",
}


class IsolationError(RuntimeError):
    """The sandbox could not start a worker (the message says what failed)."""


@dataclasses.dataclass(frozen=True)
class IsolationStatus:
    isolated: bool
    #: One line: the layers in force, or why there are none.
    detail: str
    #: Workers run as a dedicated host user (False: as the platform's own user).
    dedicated_user: bool = False

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Process(Protocol):
    pid: int
    returncode: int | None
    stdin: IO[bytes] | None
    stdout: IO[bytes] | None
    stderr: IO[bytes] | None

    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def kill(self) -> None: ...
    def communicate(
        self, input: bytes | None = None, timeout: float | None = None
    ) -> tuple[bytes, bytes]: ...


class Launcher(Protocol):
    status: IsolationStatus

    def spawn(self, entry: str, args: list[str]) -> Process: ...
    def close(self) -> None: ...


class PlainLauncher:
    """Today's worker start: ``python -I``, scrubbed environment, ``/``, its own session."""

    def __init__(self, status: IsolationStatus) -> None:
        self.status = status

    def spawn(self, entry: str, args: list[str]) -> Process:
        boot = f"import sys; sys.path.insert(0, sys.argv[1]); {_PLAIN_BOOT[entry]}; main()"
        return start_plain([sys.executable, "-I", "-c", boot, str(PROJECT_ROOT), *args])

    def close(self) -> None:
        pass


def start_plain(command: list[str]) -> subprocess.Popen[bytes]:
    """Start a process scrubbed, detached, in ``/``: what every unisolated worker gets."""
    return subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(SANDBOX_ENV),
        cwd="/",
        close_fds=True,
        start_new_session=True,
    )


class IsolatedLauncher:
    """Forks workers from a zygote running under bubblewrap (see ``zygote.py``)."""

    def __init__(self, settings: IsolationSettings, *, allow_raw: bool = False) -> None:
        from . import seccomp  # libseccomp is loaded here, never in the sandbox

        self.settings = settings
        self.allow_raw = allow_raw
        self._zygote_filter = seccomp.zygote_program()
        self._worker_filter = seccomp.worker_program()
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._pending: dict[int, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._live: dict[int, IsolatedProcess] = {}
        self._next_id = 0
        self._generation = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._zygote_pid = 0
        self.dedicated_user = os.geteuid() == 0
        self._start()
        owner = f"host uid {settings.uid}" if self.dedicated_user else "the platform's host user"
        self.status = IsolationStatus(
            isolated=True,
            detail=(
                f"bubblewrap + namespaces (user, pid, net, mount, ipc, uts) + seccomp; "
                f"workers run as {owner}, read-only runtime, "
                f"{settings.tmp_bytes // 1024} KiB tmpfs, {settings.max_processes} processes"
            ),
            dedicated_user=self.dedicated_user,
        )

    # --- public -------------------------------------------------------------------------

    def spawn(self, entry: str, args: list[str]) -> IsolatedProcess:
        pipes = [os.pipe() for _ in range(3)]
        theirs = [pipes[0][0], pipes[1][1], pipes[2][1]]
        try:
            answer = self._request(
                {"op": "spawn", "entry": entry, "argv": [CODE_ROOT, *args]},
                theirs,
            )  # fmt: skip
        except BaseException:
            for r, w in pipes:
                os.close(r)
                os.close(w)
            raise
        for fd in theirs:
            os.close(fd)
        ns_pid = int(answer["pid"])
        process = IsolatedProcess(
            ns_pid,
            os.fdopen(pipes[0][1], "wb"),
            os.fdopen(pipes[1][0], "rb"),
            os.fdopen(pipes[2][0], "rb"),
            self._kill,
        )
        process.pid = self._host_pid(ns_pid)
        with self._lock:
            early = self._live.pop(-ns_pid, None)  # it may have died before we got here
            if early is not None and early.returncode is not None:
                process.exited(early.returncode)
            else:
                self._live[ns_pid] = process
        return process

    def _host_pid(self, ns_pid: int) -> int:
        """The worker's pid as the host sees it (``ps``, ``/proc``): B's child, C."""
        zygote = self._zygote_pid
        for init in _children(zygote) if zygote else []:
            nspid = _nspid(init)
            if len(nspid) > 1 and nspid[1] == ns_pid:
                workers = _children(init)
                return workers[0] if workers else init
        return -1

    def close(self) -> None:
        with self._lock:
            control, self._control = self._control, None
            proc, self._proc = self._proc, None
        if control is not None:
            with contextlib.suppress(OSError):
                control.shutdown(socket.SHUT_RDWR)
            control.close()
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    # --- zygote -------------------------------------------------------------------------

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        filter_r, filter_w = os.pipe()
        os.write(filter_w, self._zygote_filter)
        os.close(filter_w)
        view = View(self.settings, filter_r, as_root=self.dedicated_user)
        try:
            proc = subprocess.Popen(
                view.command(theirs.fileno(), self.allow_raw),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=(theirs.fileno(), *view.fds),
                env={"PATH": "/usr/bin:/bin"},
                start_new_session=True,
            )
        finally:
            view.close()
            theirs.close()
        ours.settimeout(self.settings.start_seconds)
        try:
            init = {
                "op": "init",
                "seccomp": base64.b64encode(self._worker_filter).decode(),
                "tmp_bytes": self.settings.tmp_bytes,
                "max_processes": self.settings.max_processes,
                "tmp_binds": under_tmp(),
                "park": self.settings.park,
            }
            ours.send(json.dumps(init).encode())
            data = ours.recv(1 << 20)
        except OSError as err:
            data = b""
            log.debug("zygote did not answer: %s", err)
        if not data or json.loads(data).get("op") != "ready":
            ours.close()
            proc.kill()
            _out, err_bytes = proc.communicate()
            tail = err_bytes.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise IsolationError("the sandbox did not start: " + (" | ".join(tail) or "no output"))
        ours.settimeout(None)
        # bwrap → its PID 1 → setpriv, now the zygote's Python.
        self._zygote_pid = next(iter(_children(*_children(proc.pid))), 0)
        assert proc.stderr is not None
        threading.Thread(target=_drain, args=(proc.stderr,), daemon=True).start()
        with self._lock:
            self._proc, self._control = proc, ours
            self._generation += 1
            generation = self._generation
        threading.Thread(
            target=self._listen, args=(ours, generation), name="isolation-zygote", daemon=True
        ).start()

    def _request(self, message: dict[str, Any], fds: list[int]) -> dict[str, Any]:
        for attempt in range(2):
            with self._lock:
                control = self._control
                self._next_id += 1
                request_id = self._next_id
                done = threading.Event()
                box: list[dict[str, Any]] = []
                self._pending[request_id] = (done, box)
            if control is None:
                self._restart(attempt)
                continue
            try:
                with self._send_lock:
                    socket.send_fds(
                        control, [json.dumps({**message, "id": request_id}).encode()], fds
                    )
            except OSError:
                self._restart(attempt)
                continue
            done.wait(self.settings.start_seconds)
            with self._lock:
                self._pending.pop(request_id, None)
            if not box:
                raise IsolationError("the sandbox did not answer a spawn request")
            if box[0]["op"] == "spawn_failed":
                raise IsolationError(f"the sandbox could not start a worker: {box[0]['error']}")
            if box[0]["op"] == "spawned":
                return box[0]
            self._restart(attempt)
        raise IsolationError("the sandbox's zygote keeps dying")

    def _restart(self, attempt: int) -> None:
        if attempt:
            raise IsolationError("the sandbox's zygote died and did not come back")
        log.error("the sandbox's zygote is gone; starting a new one")
        self.close()
        self._start()

    def _listen(self, control: socket.socket, generation: int) -> None:
        while True:
            try:
                data = control.recv(1 << 20)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            op = message.get("op")
            with self._lock:
                if op == "exited":
                    pid = int(message["pid"])
                    process = self._live.pop(pid, None)
                    if process is None:  # exited before ``spawn`` registered it
                        early = IsolatedProcess(pid, None, None, None, self._kill)
                        early.exited(int(message["returncode"]))
                        self._live[-pid] = early
                    else:
                        process.exited(int(message["returncode"]))
                elif message.get("id") in self._pending:
                    done, box = self._pending[message["id"]]
                    box.append(message)
                    done.set()
        # The zygote is gone and took its workers with it (PID 1 of their namespace).
        with self._lock:
            if generation != self._generation:
                return
            live, self._live = self._live, {}
            self._control = None
            for done, box in self._pending.values():
                box.append({"op": "zygote_gone"})
                done.set()
        for process in live.values():
            process.exited(-9)

    def _kill(self, pid: int) -> None:
        with self._lock:
            control = self._control
        if control is None:
            return
        with contextlib.suppress(OSError), self._send_lock:
            control.send(json.dumps({"op": "kill", "pid": pid}).encode())


def _children(*pids: int) -> list[int]:
    found = []
    for pid in pids:
        with contextlib.suppress(OSError):
            found += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return found


def _nspid(pid: int) -> list[int]:
    """The pid of ``pid`` in each PID namespace it is in, outermost first."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return [int(p) for p in line.split()[1:]]
    return []


def _drain(stream: IO[bytes]) -> None:
    for line in iter(stream.readline, b""):
        log.warning("sandbox: %s", line.decode("utf-8", "replace").rstrip())
    stream.close()


# --- the process-wide launcher ------------------------------------------------------------

_launchers: dict[IsolationSettings, Launcher] = {}
_launchers_lock = threading.Lock()


def launcher(settings: IsolationSettings | None = None) -> Launcher:
    """The launcher for ``settings`` (default settings when None), started on first use."""
    settings = settings or IsolationSettings()
    with _launchers_lock:
        found = _launchers.get(settings)
        if found is None:
            found = _launchers[settings] = _build(settings)
        return found


def _build(settings: IsolationSettings) -> Launcher:
    reason = unavailable_reason(settings)
    if reason is None:
        try:
            isolated = IsolatedLauncher(settings)
        except (IsolationError, OSError) as err:
            reason = str(err) + _namespace_hint(str(err))
        else:
            log.info("workers are isolated: %s", isolated.status.detail)
            return isolated
    status = IsolationStatus(isolated=False, detail=f"workers are NOT isolated: {reason}")
    log.error("%s", status.detail)
    return PlainLauncher(status)


def _namespace_hint(error: str) -> str:
    """What to do when bubblewrap, run by an ordinary user, may not create a user namespace."""
    if os.geteuid() == 0 or "namespace" not in error:
        return ""
    return (
        f"; the sidecar runs as uid {os.geteuid()}, not root, so the sandbox needs unprivileged"
        " user namespaces: set sysctl user.max_user_namespaces above 0 (and, where the kernel"
        " has them, kernel.unprivileged_userns_clone=1 or an AppArmor profile allowing bwrap),"
        " or run the sidecar as root"
    )


def unavailable_reason(settings: IsolationSettings) -> str | None:
    """Why isolation cannot even be tried here (None: try it)."""
    if not settings.enabled:
        return "isolation is disabled in the settings (isolation.enabled = false)"
    if platform.system() != "Linux":
        return f"worker isolation needs Linux namespaces; this is {platform.system()}"
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian: apt-get install bubblewrap)"
    try:
        import pyseccomp  # noqa: F401  (loads libseccomp)
    except (ImportError, OSError) as err:
        return f"libseccomp is not usable ({err}); Debian: apt-get install libseccomp2"
    return None
