"""Where the console listens and where the parts it reads from live."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class RemoteBindRefused(ValueError):
    """Binding beyond loopback was asked for without the explicit flag."""


@dataclasses.dataclass(frozen=True)
class ConsoleSettings:
    host: str = "127.0.0.1"
    port: int = 8291
    engine_url: str = "http://127.0.0.1:8288"
    sidecar_url: str = "http://127.0.0.1:8290"
    agent_url: str = "http://127.0.0.1:8289"
    #: Where the login token lives (created on first start, mode 0600).
    var_dir: Path = Path("var")
    #: The inbox skills post to (what `loopwright inbox` reads).
    capabilities_db: Path = Path("var/capabilities.db")
    #: Sessions last this long; then the login page, and back to where the user was.
    session_ttl_s: float = 12 * 3600
    #: How often the live runs feed asks for new runs (seconds).
    live_poll_s: float = 0.25
    allow_remote: bool = False

    def __post_init__(self) -> None:
        if self.host not in LOOPBACK and not self.allow_remote:
            raise RemoteBindRefused(
                f"refusing to bind the console to {self.host}: it would be reachable from "
                "other machines. Pass --allow-remote to do it on purpose (and put TLS in front)."
            )

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def token_path(self) -> Path:
        return self.var_dir / "console-token"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> ConsoleSettings:
        e = os.environ if env is None else env
        values: dict[str, object] = {
            "engine_url": e.get("LOOPWRIGHT_ENGINE_URL", cls.engine_url),
            "sidecar_url": e.get("LOOPWRIGHT_SIDECAR_URL", cls.sidecar_url),
            "agent_url": e.get("LOOPWRIGHT_AGENT_URL", cls.agent_url),
            "capabilities_db": Path(e.get("LOOPWRIGHT_CAPABILITIES_DB", str(cls.capabilities_db))),
        }
        if "LOOPWRIGHT_CONSOLE_PORT" in e:
            values["port"] = int(e["LOOPWRIGHT_CONSOLE_PORT"])
        if "LOOPWRIGHT_CONSOLE_VAR" in e:
            values["var_dir"] = Path(e["LOOPWRIGHT_CONSOLE_VAR"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
