"""`python -m loopwright`: the `loopwright` command (how `up` starts its child processes)."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    main()
