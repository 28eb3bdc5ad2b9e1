"""Agent compaction benchmark: what compaction saves over a 50-step session, and what it keeps.

Runs the agent's real turn loop (prompts, tools, validator, compaction) twice on the same
scripted 50-step session — a requirement, reading the guide, writing and repairing a skill,
then many write/test rounds — with the in-process scripted model (no network, no cost):

* baseline: compaction off, the prompt grows with every step;
* measured: compaction on, with the configured thresholds (``LOOPWRIGHT_COMPACT_*``).

Figures (printed as ratios against the baseline measured in the same run):

* cumulative input tokens, with / without compaction (summaries included)   target <= 0.40
* peak prompt with compaction / the configured prompt budget                   target <= 1.00
* prefix stability between compactions: the share of each prompt that is the previous
  prompt unchanged (what a provider's prompt cache can reuse)                    target >= 0.90

Usage: ``python bench/agent_compaction.py [--steps 50] [--json]``; exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agent.config import AgentSettings  # noqa: E402
from agent.llm import ChatRequest, ModelReply, ModelRoles  # noqa: E402
from agent.llm.messages import canonical_json, to_wire  # noqa: E402
from agent.runtime import Runtime  # noqa: E402
from agent.testing.models import ScriptedModel  # noqa: E402
from agent.testing.script import (  # noqa: E402
    AGENT_MODEL,
    CLASSIFIER_MODEL,
    Call,
    Script,
    Step,
    call,
    say,
)
from agent.tools import ToolBox, ToolResult  # noqa: E402

SKILL = (REPO / "tests" / "sidecar" / "fixtures" / "latency_watch.py").read_text()
TOPICS = ["workflow", "example", "manifest", "capabilities", "steps", "determinism", "functions"]
SUMMARY = json.dumps(
    {
        "goal": "Flag p95 latency spikes overnight and post them to the inbox.",
        "constraints": ["inbox only", "every 30 minutes, Paris time", "LLM budget under $0.5/week"],
        "progress": ["latency-watch validated and dry-run passes", "tuning thresholds per round"],
        "decisions": ["rule-based fallback for skill.LLMError", "critical >= 1.0 s always"],
        "next_steps": ["keep tuning the degraded ratio", "test after each version"],
    }
)


def session(steps: int) -> list[Step]:
    """A requirement's worth of agent steps: look, read, write, repair, then tune and test."""
    plan: list[Step] = [call("list_capabilities"), call("list_skills")]
    plan += [call("skill_guide", topic=t) for t in TOPICS]
    broken = SKILL.replace("import statistics\n", "import statistics\nimport os\n")
    plan.append(Step(calls=(Call("write_skill", {"id": "latency-watch", "source": broken}),)))
    k = 0
    while len(plan) < steps - 1:
        k += 1
        source = SKILL.replace("DEGRADED_RATIO = 1.5", f"DEGRADED_RATIO = {1.5 + k / 100:.2f}")
        plan.append(Step(calls=(Call("write_skill", {"id": "latency-watch", "source": source}),)))
        if len(plan) < steps - 1:
            event = {"name": "inngest/scheduled.timer", "data": {"round": k}}
            plan.append(call("test_skill", id="latency-watch", event=event))
    plan.append(say("latency-watch is validated and tested; ready for review."))
    return plan[:steps]


class CachedToolBox(ToolBox):
    """The same tool answers for both sessions without validating every version twice."""

    cache: dict[tuple[str, str], ToolResult] = {}

    def dispatch(self, name: str, arguments: str) -> ToolResult:
        key = (name, arguments)
        if key not in self.cache:
            self.cache[key] = super().dispatch(name, arguments)
        return self.cache[key]


class LoggedModel(ScriptedModel):
    """Records (role, prompt tokens, serialized prompt) in one log shared by the roles."""

    def __init__(self, script: Script, model: str, role: str, log: list[Any]) -> None:
        super().__init__(script, model)
        self.role = role
        self.log = log

    def complete(self, request: ChatRequest) -> ModelReply:
        reply = super().complete(request)
        serial = [canonical_json(request.tools)] + [
            canonical_json(m) for m in to_wire(request.messages)
        ]
        self.log.append((self.role, reply.usage.input_tokens, "".join(serial)))
        return reply


def run_session(steps: int, compaction: bool, workdir: Path) -> dict[str, Any]:
    env = {
        "LOOPWRIGHT_AGENT_BASE_URL": "http://127.0.0.1:9/v1",
        "LOOPWRIGHT_AGENT_MODEL": AGENT_MODEL,
        "LOOPWRIGHT_CLASSIFIER_MODEL": CLASSIFIER_MODEL,
        "LOOPWRIGHT_AGENT_DB": str(workdir / f"agent-{compaction}.db"),
        "LOOPWRIGHT_SIDECAR_URL": "http://127.0.0.1:9",
        "LOOPWRIGHT_ENGINE_URL": "http://127.0.0.1:9",
        "LOOPWRIGHT_SKILLS_DIR": str(workdir / "skills"),
        "LOOPWRIGHT_CRITIC_ENABLED": "0",
        "LOOPWRIGHT_AGENT_MAX_ITERATIONS": str(steps + 5),
        "LOOPWRIGHT_LOOP_MAX_STALE": "1000",  # tuning rounds repeat results on purpose
        "LOOPWRIGHT_AGENT_MAX_REPAIRS": "5",
        "LOOPWRIGHT_BUDGET_TURN_USD": "off",
        "LOOPWRIGHT_BUDGET_CONVERSATION_USD": "off",
        "LOOPWRIGHT_BUDGET_DAY_USD": "off",
    }
    import os

    for name, value in os.environ.items():  # the configured thresholds, when measured
        if compaction and name.startswith(("LOOPWRIGHT_COMPACT_", "LOOPWRIGHT_PROMPT_BUDGET")):
            env[name] = value
    if not compaction:
        env |= {
            "LOOPWRIGHT_COMPACT_AFTER_STEPS": "100000",
            "LOOPWRIGHT_COMPACT_AT_TOKENS": "1000000000",
        }
    settings = AgentSettings.from_env(env)
    script = Script(agent=session(steps), summaries=[SUMMARY] * 50)
    log: list[Any] = []
    models = ModelRoles(
        agent=LoggedModel(script, AGENT_MODEL, "agent", log),
        critic=None,
        classifier=LoggedModel(script, CLASSIFIER_MODEL, "classifier", log),
        settings=dict(settings.roles),
    )
    runtime = Runtime.build(settings, models=models)
    runtime.effects.toolbox = CachedToolBox(list(runtime.toolbox.tools.values()))
    started = time.monotonic()
    outcome = runtime.run_inline("Our services have latency spikes overnight and nobody notices.")
    elapsed = time.monotonic() - started
    runtime.close()
    return {"outcome": outcome, "log": log, "settings": settings, "elapsed_s": elapsed}


def prefix_stability(log: list[tuple[str, int, str]]) -> tuple[float, float, float]:
    """Mean and min share of a prompt that is the previous prompt unchanged, between
    compactions; and the share of all agent input tokens that such a prefix covers."""
    ratios, shared_tokens, total_tokens = [], 0.0, 0
    previous: str | None = None
    for role, tokens, serial in log:
        if role != "agent":
            previous = None  # a summary was made: a compaction lies between these prompts
            continue
        total_tokens += tokens
        if previous is not None:
            common = _common_prefix(previous, serial)
            ratios.append(common / len(previous))
            shared_tokens += tokens * common / len(serial)
        previous = serial
    if not ratios:
        return float("nan"), float("nan"), 0.0
    return sum(ratios) / len(ratios), min(ratios), shared_tokens / max(total_tokens, 1)


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    lo, hi = 0, n
    while lo < hi:  # binary search on equal prefixes: fast for long prompts
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-agent-") as tmp:
        base = run_session(args.steps, False, Path(tmp))
        comp = run_session(args.steps, True, Path(tmp))
    budget = comp["settings"].loop.compaction.prompt_budget_tokens
    base_in = sum(t for _, t, _ in base["log"])
    comp_in = sum(t for _, t, _ in comp["log"])
    comp_peak = max(t for r, t, _ in comp["log"] if r == "agent")
    base_peak = max(t for r, t, _ in base["log"] if r == "agent")
    mean_stable, min_stable, cacheable = prefix_stability(comp["log"])
    agent_steps = sum(1 for r, _, _ in comp["log"] if r == "agent")
    rows = [
        (
            "cumulative input tokens",
            comp_in,
            base_in,
            comp_in / base_in,
            "<= 0.40",
            comp_in / base_in <= 0.40,
        ),
        (
            "peak prompt tokens / budget",
            comp_peak,
            budget,
            comp_peak / budget,
            "<= 1.00",
            comp_peak <= budget,
        ),
        (
            "prefix stability between compactions",
            mean_stable,
            1.0,
            mean_stable,
            ">= 0.90",
            mean_stable >= 0.9,
        ),
        ("  min over prompt pairs", min_stable, 1.0, min_stable, "", None),
        ("peak prompt without compaction", base_peak, budget, base_peak / budget, "", None),
        ("input covered by a stable prefix", cacheable, 1.0, cacheable, "", None),
        ("compactions", comp["outcome"]["compactions"], None, None, "", None),
        ("model steps", agent_steps, None, None, "", None),
    ]
    if args.json:
        print(
            json.dumps(
                [
                    dict(
                        zip(
                            ("metric", "figure", "baseline", "ratio", "target", "pass"),
                            r,
                            strict=True,
                        )
                    )
                    for r in rows
                ],
                indent=2,
            )
        )
    else:
        policy = comp["settings"].loop.compaction
        print(f"== agent_compaction: {args.steps}-step session, compaction on vs off")
        print(
            f"   thresholds: after {policy.after_steps} steps or {policy.at_tokens} tokens, "
            f"keep {policy.keep_recent} messages, budget {budget} tokens | "
            f"{base['elapsed_s'] + comp['elapsed_s']:.1f} s"
        )
        print()
        header = ("metric", "figure", "baseline", "ratio", "target", "result")
        cells = [header] + [
            (
                m,
                f"{f:,.3g}" if isinstance(f, float) else f"{f:,}",
                "" if b is None else f"{b:,}",
                "" if r is None else f"{r:.2f}",
                t,
                {True: "PASS", False: "MISS", None: "info"}[p],
            )
            for m, f, b, r, t, p in rows
        ]
        widths = [max(len(str(c[i])) for c in cells) for i in range(len(header))]
        for c in cells:
            print("  ".join(str(x).ljust(w) for x, w in zip(c, widths, strict=True)).rstrip())
    reasons = {base["outcome"]["reason"], comp["outcome"]["reason"]}
    if reasons != {"answered"}:
        print(f"session did not complete: {reasons}", file=sys.stderr)
        return 1
    return 0 if all(r[5] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
