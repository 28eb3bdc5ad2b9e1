"""What the sandbox sees: the bubblewrap command line of the zygote.

A read-only view of ``/usr`` (the C library and the Python runtime's shared libraries), the
Python installation and virtualenv, and the ``sidecar`` package mounted alone at
``/opt/loopwright``; a fresh ``/dev`` and ``/proc`` (each worker hides the latter again) and a
small ``/tmp``. Nothing else exists: no ``/etc`` (so no ``/etc/shadow``, no resolver
configuration), no ``/home`` or ``/root`` contents, no repository, no ``var/`` with the
platform's SQLite files.

Run by root, bubblewrap sets the view up as root (so it can bind a Python under ``/root``)
with every capability dropped but CAP_SETUID/CAP_SETGID, which ``setpriv`` uses to become the
dedicated sandbox user before Python starts; nothing in the sandbox is root. Run by anyone
else, bubblewrap maps that user to the sandbox ids in a user namespace of its own.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .config import IsolationSettings

#: Where the sidecar package appears inside the sandbox.
CODE_ROOT = "/opt/loopwright"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); from sidecar.isolation.zygote import main; main()"
)
SANDBOX_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def runtime_paths() -> list[str]:
    """Directories the interpreter needs beyond /usr: its installation and the virtualenv."""
    paths = []
    for prefix in (sys.base_prefix, sys.prefix, str(Path(sys.executable).parent.parent)):
        real = os.path.realpath(prefix)
        for path in (prefix, real):
            if not path.startswith("/usr/") and path != "/usr" and path not in paths:
                paths.append(path)
    return paths


def under_tmp() -> list[str]:
    """The runtime paths a worker's private ``/tmp`` would hide: it binds them again on top."""
    return [path for path in runtime_paths() if path.startswith("/tmp/")]


class View:
    """The bwrap arguments, and the descriptors they refer to (closed by ``close``)."""

    def __init__(self, settings: IsolationSettings, seccomp_fd: int, *, as_root: bool) -> None:
        self.fds: list[int] = [seccomp_fd]
        self.settings = settings
        self.as_root = as_root
        ids = ["--uid", str(settings.uid), "--gid", str(settings.gid)]
        args = [
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--hostname", "loopwright-worker", "--new-session",
            "--clearenv",
        ]  # fmt: skip
        if as_root:
            args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            args += ["--unshare-user", *ids]
        for key, value in SANDBOX_ENV.items():
            args += ["--setenv", key, value]
        args += ["--ro-bind", "/usr", "/usr"]
        for top in ("bin", "lib", "lib64", "lib32", "sbin"):
            path = Path("/", top)
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        # The small /tmp first: a runtime under /tmp (a checkout there) is bound on top of it,
        # so the runtime shows and nothing else of the host's /tmp does.
        args += ["--size", "1048576", "--tmpfs", "/tmp"]
        made: set[str] = set()
        for runtime in runtime_paths():
            args += _parents(runtime, made) + self._bind(runtime, runtime)
        args += [
            "--perms",
            "0755",
            "--dir",
            CODE_ROOT,
            *self._bind(str(PROJECT_ROOT / "sidecar"), CODE_ROOT + "/sidecar"),
        ]
        args += ["--proc", "/proc", "--dev", "/dev"]
        args += ["--chdir", "/", "--seccomp", str(seccomp_fd)]
        self.args = args

    def command(self, control_fd: int, allow_raw: bool) -> list[str]:
        tail = [str(control_fd)] + (["--allow-raw"] if allow_raw else [])
        # bubblewrap always sets PWD; ``env -u`` drops it before Python starts, so the
        # environment every worker inherits (and shows in /proc) is the allowlist alone.
        python = ["/usr/bin/env", "-u", "PWD", sys.executable, "-I", "-c", BOOT, CODE_ROOT, *tail]
        if self.as_root:
            s = self.settings
            python = [
                "/usr/bin/setpriv", f"--reuid={s.uid}", f"--regid={s.gid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--", *python,
            ]  # fmt: skip
        return ["bwrap", *self.args, "--", *python]

    def _bind(self, source: str, target: str) -> list[str]:
        return ["--ro-bind", source, target]

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []


def _parents(path: str, made: set[str]) -> list[str]:
    """Traversable (0755) empty directories above a bind (bwrap would make them 0700)."""
    args: list[str] = []
    for parent in reversed(Path(path).parents[:-1]):
        if str(parent) not in made:
            made.add(str(parent))
            args += ["--perms", "0755", "--dir", str(parent)]
    return args
