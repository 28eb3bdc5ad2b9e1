"""The seccomp filters: system calls a worker never needs, compiled to BPF by libseccomp.

Two programs, built in the sidecar with libseccomp (through ``pyseccomp``) and loaded in
the sandbox:

* ``zygote_program`` — handed to bubblewrap (``--seccomp FD``), so it binds the zygote and,
  through inheritance, every worker: no new sockets (but AF_UNIX pairs), no ptrace, no kernel modules, no kexec,
  no BPF, no perf, no keyrings, no clock or host name changes. The zygote still needs
  ``unshare`` and ``mount`` to box each worker, so those are left to the second program.
* ``worker_program`` — loaded by each worker after its namespaces are set up
  (``zygote._become_worker``): everything above plus socket pairs, mounts, namespaces (``unshare``,
  ``setns``, ``clone`` with a CLONE_NEW* flag), ``chroot``/``pivot_root``.

Socket creation fails with EPERM (libraries may probe for a socket and cope); the others
kill the process (SIGSYS), which the sidecar reports as the ``sandbox-seccomp`` limit: no
monitoring skill has a reason to trace, mount or load a module.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from socket import AF_UNIX

import pyseccomp as seccomp

from .linux import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
)

#: Refused with EPERM (the zygote may still make AF_UNIX pairs to hand work to a parked worker).
REFUSED = ("socket",)
#: Kill the process: tracing, kernel, BPF, keyrings, raw I/O, clocks, host identity.
FATAL = (
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "keyctl", "add_key", "request_key", "reboot", "swapon", "swapoff",
    "acct", "quotactl", "syslog", "lookup_dcookie", "open_by_handle_at", "name_to_handle_at",
    "iopl", "ioperm", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "sethostname", "setdomainname", "vhangup", "fanotify_init", "personality",
)  # fmt: skip
#: Also fatal once a worker is boxed (the zygote needs them to box it).
FATAL_IN_WORKER = (
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "fsopen", "fsmount",
    "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr",
)  # fmt: skip
NAMESPACE_FLAGS = (
    CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET
)  # fmt: skip


def zygote_program() -> bytes:
    rules = _base()
    _add(rules, seccomp.ERRNO(errno.EPERM), "socketpair", seccomp.Arg(0, seccomp.NE, AF_UNIX))
    return _export(rules)


def worker_program() -> bytes:
    rules = _base()
    _add(rules, seccomp.ERRNO(errno.EPERM), "socketpair")
    for name in FATAL_IN_WORKER:
        _add(rules, seccomp.KILL_PROCESS, name)
    for flag in NAMESPACE_FLAGS:
        _add(rules, seccomp.KILL_PROCESS, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory a filter cannot read: make libc fall back to clone.
    _add(rules, seccomp.ERRNO(errno.ENOSYS), "clone3")
    return _export(rules)


def _base() -> seccomp.SyscallFilter:
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in REFUSED:
        _add(rules, seccomp.ERRNO(errno.EPERM), name)
    for name in FATAL:
        _add(rules, seccomp.KILL_PROCESS, name)
    return rules


def _add(rules: seccomp.SyscallFilter, action: int, name: str, *args: object) -> None:
    # Not a system call on this architecture (e.g. iopl on arm64): nothing to deny.
    with contextlib.suppress(ValueError, RuntimeError, OSError):
        rules.add_rule(action, name, *args)


def _export(rules: seccomp.SyscallFilter) -> bytes:
    with tempfile.TemporaryFile() as out:
        rules.export_bpf(out)
        out.flush()
        os.lseek(out.fileno(), 0, os.SEEK_SET)
        return out.read()
