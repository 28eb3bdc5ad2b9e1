"""OS-level isolation of the processes that run skill code (workers and validation dry runs).

``launcher.launcher(settings)`` gives the process-wide way to start them: forked from a
pre-imported zygote inside bubblewrap, each in its own user, PID, network, mount, IPC and
UTS namespaces, with a private size-capped ``/tmp`` and a seccomp filter (see ``zygote.py``),
or, where that cannot be set up, plainly, with a status that says so.
"""
