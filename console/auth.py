"""Who may use the console: one login token, sessions, and a CSRF token per session.

The token is made on first start and kept in ``var/console-token`` (mode 0600, owner only);
the CLI prints it once with the URL. Logging in with it opens a session: an opaque random id
in an HttpOnly, SameSite=Strict cookie, looked up server-side (no secret in the cookie).
Each session has its own CSRF token, required on every state-changing request, and the name
the person gave at login, recorded as the approver of what they approve.
"""

from __future__ import annotations

import dataclasses
import hmac
import os
import secrets
import time
from pathlib import Path

COOKIE = "lw_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


def load_or_create_token(path: Path) -> tuple[str, bool]:
    """(the token, whether it was just created). Refuses a token file others can read."""
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise PermissionError(
                f"{path} is readable by others (mode {mode:o}); run `chmod 600 {path}` "
                "or delete it to have a new token made"
            )
        token = path.read_text().strip()
        if token:
            return token, False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)
    return token, True


@dataclasses.dataclass
class Session:
    user: str
    csrf: str
    expires_at: float
    #: Messages for the next page (an action's outcome): (kind, text), kind "ok" | "error".
    flash: list[tuple[str, str]] = dataclasses.field(default_factory=list)


class Sessions:
    def __init__(self, token: str, ttl_s: float) -> None:
        self._token = token
        self._ttl = ttl_s
        self._sessions: dict[str, Session] = {}

    def token_ok(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.strip().encode(), self._token.encode())

    def open(self, user: str) -> str:
        sid = secrets.token_urlsafe(32)
        name = " ".join(user.split())[:64] or "console user"
        self._sessions[sid] = Session(name, secrets.token_urlsafe(24), time.time() + self._ttl)
        return sid

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        session = self._sessions.get(sid)
        if session is None:
            return None
        if session.expires_at < time.time():
            del self._sessions[sid]
            return None
        return session

    def close(self, sid: str | None) -> None:
        if sid:
            self._sessions.pop(sid, None)

    def expire_all(self) -> None:
        """Every session ends now (tests use it for 'the login expired')."""
        for session in self._sessions.values():
            session.expires_at = 0.0


def csrf_ok(session: Session, candidate: str | None) -> bool:
    return bool(candidate) and hmac.compare_digest(str(candidate).encode(), session.csrf.encode())
