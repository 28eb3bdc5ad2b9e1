"""Test-only: run a command as the unprivileged user ``nobody``, run by root.

``python as_nobody.py [--no-userns] -- COMMAND...``. Plain: drop to uid/gid 65534 (no groups,
no capabilities: ``exec`` as a non-root user clears them) and exec. ``--no-userns``: first
enter a user namespace of its own whose ``user.max_user_namespaces`` is 0, so ``nobody``
cannot create one, as on a host with unprivileged user namespaces off. The limit is that
namespace's own: the host's setting, and every other process, are untouched.

Stand-alone (no imports from the project): it runs under the host's root interpreter.
"""

from __future__ import annotations

import ctypes
import os
import sys

NOBODY = 65534
CLONE_NEWUSER = 0x10000000


def become_nobody(command: list[str]) -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    os.execv(command[0], command)


def without_user_namespaces(command: list[str]) -> int:
    ready_r, ready_w = os.pipe()
    mapped_r, mapped_w = os.pipe()
    child = os.fork()
    if child == 0:
        if ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWUSER) != 0:
            os._exit(70)
        os.write(ready_w, b"1")
        os.read(mapped_r, 1)
        # Root of this namespace (ids mapped by the parent): cap it, then become nobody.
        with open("/proc/sys/user/max_user_namespaces", "w") as limit:
            limit.write("0")
        become_nobody(command)
    os.read(ready_r, 1)
    # Only a process of the parent namespace may map more than its own id (root and nobody).
    for kind in ("uid_map", "gid_map"):
        with open(f"/proc/{child}/{kind}", "w") as mapping:
            mapping.write(f"0 0 1\n{NOBODY} {NOBODY} 1\n")
    os.write(mapped_w, b"1")
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


def main() -> None:
    args = sys.argv[1:]
    split = args.index("--")
    options, command = args[:split], args[split + 1 :]
    if "--no-userns" in options:
        sys.exit(without_user_namespaces(command))
    become_nobody(command)


if __name__ == "__main__":
    main()
