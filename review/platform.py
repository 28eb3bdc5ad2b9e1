"""What the review needs from the sidecar: skill sources, new versions, rollbacks, shadows.

The review writes only through the sidecar's API (validation, approval policy and the audit
log all apply to it), as author ``review``. A platform that can run shadows
(``ShadowPlatform``: the sidecar) runs each candidate live beside the active version; one
that cannot (the in-process test platform) leaves the review with the replay of recorded
features, and the review says so.
"""

from __future__ import annotations

import ast
import dataclasses
from typing import Any, Protocol, cast

import httpx

from loopwright.http_errors import error_message

from .errors import ReviewError, SidecarRefused


@dataclasses.dataclass(frozen=True)
class SkillSource:
    skill_id: str
    version: int
    source: str
    filename: str
    opted_out: bool


class SkillPlatform(Protocol):
    def active_source(self, skill_id: str) -> SkillSource: ...
    def submit(self, skill_id: str, source: str, reason: str) -> dict[str, Any]: ...
    def rollback(self, skill_id: str, version: int, reason: str) -> dict[str, Any]: ...


class ShadowPlatform(SkillPlatform, Protocol):
    def start_shadow(self, skill_id: str, proposal_id: str, source: str) -> dict[str, Any]: ...
    def stop_shadow(self, proposal_id: str, reason: str) -> dict[str, Any]: ...
    def running_shadows(self) -> list[str]: ...


def shadow_platform(platform: SkillPlatform | None) -> ShadowPlatform | None:
    """The platform when it can run shadows (the sidecar does; a test double may not)."""
    if platform is not None and callable(getattr(platform, "start_shadow", None)):
        return cast(ShadowPlatform, platform)
    return None


def runs_shadows(platform: SkillPlatform | None) -> bool:
    return shadow_platform(platform) is not None


def opted_out(source: str) -> bool:
    """The manifest says ``"review": "off"``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "MANIFEST" for t in node.targets
        ):
            try:
                manifest = ast.literal_eval(node.value)
            except ValueError:
                return False
            return isinstance(manifest, dict) and manifest.get("review") == "off"
    return False


class SidecarPlatform:
    """The sidecar's loopback HTTP API."""

    def __init__(self, base_url: str, *, timeout_s: float = 60.0) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=timeout_s)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as err:
            raise ReviewError(f"the sidecar at {self.base_url} did not answer: {err}") from err
        body = resp.json() if resp.content else {}
        if resp.status_code >= 400:
            message = (
                f"the sidecar refused {method} {path} ({resp.status_code}): {error_message(body)}"
            )
            if resp.status_code < 500:
                raise SidecarRefused(message, resp.status_code)
            raise ReviewError(message)
        return body

    def active_source(self, skill_id: str) -> SkillSource:
        skill = self._call("GET", f"/v1/skills/{skill_id}")
        number = skill.get("active_version")
        if number is None:
            raise ReviewError(f"skill {skill_id!r} has no active version")
        version = self._call("GET", f"/v1/skills/{skill_id}/versions/{number}")
        source = str(version["source"])
        return SkillSource(
            skill_id, int(number), source, str(version["filename"]), opted_out(source)
        )

    def submit(self, skill_id: str, source: str, reason: str) -> dict[str, Any]:
        body = {"source": source, "author": "review", "reason": reason}
        out: dict[str, Any] = self._call("POST", f"/v1/skills/{skill_id}/versions", json=body)
        return out

    def rollback(self, skill_id: str, version: int, reason: str) -> dict[str, Any]:
        out: dict[str, Any] = self._call(
            "POST", f"/v1/skills/{skill_id}/rollback", json={"version": version, "by": "review"}
        )
        return out

    def approve(self, skill_id: str, version: int, by: str) -> dict[str, Any]:
        out: dict[str, Any] = self._call(
            "POST", f"/v1/skills/{skill_id}/approve", json={"version": version, "by": by}
        )
        return out

    def validate(self, source: str, filename: str) -> dict[str, Any]:
        out: dict[str, Any] = self._call(
            "POST", "/v1/validate", json={"source": source, "filename": filename}
        )
        return out

    def start_shadow(self, skill_id: str, proposal_id: str, source: str) -> dict[str, Any]:
        """Run the candidate beside the active version (idempotent by proposal id)."""
        body = {"skill_id": skill_id, "proposal_id": proposal_id, "source": source, "by": "review"}
        out: dict[str, Any] = self._call("POST", "/v1/shadows", json=body)
        return out

    def stop_shadow(self, proposal_id: str, reason: str) -> dict[str, Any]:
        out: dict[str, Any] = self._call(
            "DELETE", f"/v1/shadows/{proposal_id}", params={"reason": reason[:500]}
        )
        return out

    def running_shadows(self) -> list[str]:
        """The proposal ids whose shadows run."""
        found = self._call("GET", "/v1/shadows").get("data") or []
        return [str(s["proposal_id"]) for s in found if s.get("state") == "running"]

    def close(self) -> None:
        self.http.close()
