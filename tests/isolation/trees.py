"""Test-only: copies of the runtime for tests that run the sidecar from somewhere else."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def link_tree(source: Path, target: Path) -> None:
    """Hard links when both sides share a disk (fast: a virtualenv is large), else a copy.

    Callers only add files to the copy: a hard-linked file written in place would change the
    original too.
    """
    done = subprocess.run(["cp", "-al", str(source), str(target)], capture_output=True)
    if done.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target, symlinks=True)
