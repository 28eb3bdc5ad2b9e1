"""`python -m sidecar`: run the sidecar (same options as `loopwright sidecar`)."""

from __future__ import annotations

import typer

from .cli import sidecar_command


def main() -> None:
    typer.run(sidecar_command)


if __name__ == "__main__":
    main()
