"""The sidecar's half of a capability call: check it against the registered grant, then serve it.

A worker asks for ``(capability, method, args)``; the gateway calls the facade gate built
from the version's *registered* manifest (sources, channels, hosts, the per-run LLM budget are
enforced here again, and the idempotency key is derived here from the run, step and call
count), and answers with the result or the error the skill should see. Only the documented
methods exist, with the documented keyword arguments; anything else is a violation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sidecar.facade.capabilities import Capabilities
from sidecar.facade.errors import CapabilityDenied, CapabilityError, SkillViolation, StepMisuse
from sidecar.facade.payload import JSON

from .protocol import Message

Call = Callable[[Any, dict[str, Any]], JSON]

#: (capability, method) → how to call the gate with the worker's arguments.
CALLS: dict[tuple[str, str], Call] = {
    ("metrics", "query"): lambda g, a: g.query(a["promql"], source=a.get("source")),
    ("metrics", "query_range"): lambda g, a: g.query_range(
        a["promql"], minutes=a["minutes"], step_seconds=a["step_seconds"], source=a.get("source")
    ),
    ("metrics", "host"): lambda g, a: g.host(),
    ("deploys", "recent"): lambda g, a: g.recent(
        service=a.get("service"), hours=a["hours"], source=a.get("source")
    ),
    ("notify", "post"): lambda g, a: g.post(
        a["channel"], a["text"], thread=a.get("thread"), hint=a.get("hint")
    ),
    ("llm", "classify"): lambda g, a: g.classify(
        a["text"], labels=a["labels"], instructions=a.get("instructions")
    ),
    ("llm", "complete"): lambda g, a: g.complete(
        a["prompt"], system=a.get("system"), max_tokens=a["max_tokens"]
    ),
    ("http", "get"): lambda g, a: g.get(
        a["url"], params=a.get("params"), timeout_seconds=a["timeout_seconds"]
    ),
    ("incidents", "observe"): lambda g, a: g.observe(
        a["service"],
        label=a["label"],
        signals=a.get("signals"),
        reason=a.get("reason", ""),
        onset=a.get("onset"),
        checked_at=a["checked_at"],
    ),
    ("ledger", "cron_skills"): lambda g, a: g.cron_skills(),
    ("ledger", "fires"): lambda g, a: g.fires(
        a["skill"], since=a["since"], until=a["until"], function=a.get("function")
    ),
    ("ledger", "runs"): lambda g, a: g.runs(
        a["skill"],
        since=a["since"],
        until=a["until"],
        function=a.get("function"),
        limit=a.get("limit", 500),
    ),
}
#: The keyword arguments each call may carry (the worker's remote backends send these).
ARGUMENTS: dict[tuple[str, str], frozenset[str]] = {
    ("metrics", "query"): frozenset({"promql", "source"}),
    ("metrics", "query_range"): frozenset({"promql", "source", "minutes", "step_seconds"}),
    ("metrics", "host"): frozenset(),
    ("deploys", "recent"): frozenset({"source", "service", "hours"}),
    ("notify", "post"): frozenset({"channel", "text", "thread", "hint"}),
    ("llm", "classify"): frozenset({"text", "labels", "instructions"}),
    ("llm", "complete"): frozenset({"prompt", "system", "max_tokens"}),
    ("http", "get"): frozenset({"url", "params", "timeout_seconds"}),
    ("incidents", "observe"): frozenset(
        {"service", "label", "signals", "reason", "onset", "checked_at"}
    ),
    ("ledger", "cron_skills"): frozenset(),
    ("ledger", "fires"): frozenset({"skill", "since", "until", "function"}),
    ("ledger", "runs"): frozenset({"skill", "since", "until", "function", "limit"}),
}


class CapabilityGateway:
    def __init__(self, capabilities: Capabilities) -> None:
        self._capabilities = capabilities

    def serve(self, request: Message) -> Message:
        """Answer one ``capability`` message; the caller must be inside the step's scope."""
        key = (str(request.get("capability")), str(request.get("method")))
        args = request.get("args")
        try:
            result = self._call(key, args)
        except SkillViolation as err:
            return _error({"kind": "violation", "code": err.code, "message": err.message})
        except CapabilityError as err:
            return _error({"kind": "capability", "name": type(err).__name__, "message": str(err)})
        return {"op": "capability_result", "ok": True, "result": result}

    def _call(self, key: tuple[str, str], args: object) -> JSON:
        call = CALLS.get(key)
        if call is None or not self._capabilities.exposes(key[0]):
            raise CapabilityDenied(f"capability {key[0]}.{key[1]} is not granted to this skill")
        if not isinstance(args, dict) or not set(args) <= ARGUMENTS[key]:
            raise StepMisuse(f"bad arguments for {key[0]}.{key[1]}")
        gate = getattr(self._capabilities, key[0])
        try:
            return call(gate, args)
        except (KeyError, TypeError) as err:
            raise StepMisuse(f"bad arguments for {key[0]}.{key[1]}: {err}") from None


def _error(error: dict[str, Any]) -> Message:
    return {"op": "capability_result", "ok": False, "error": error}
