"""The AST policy: precise rules for what is refused, and no false alarms on ordinary code."""

from __future__ import annotations

import pytest
from skillsrc import skill_source

from sidecar.validation import validate_source

ORDINARY = '''
"""An ordinary skill: every construct here must pass."""

MANIFEST = {
    "id": "ordinary",
    "description": "Résumé quotidien — 日本語 text is fine in strings.",
    "author": "human",
    "triggers": [{"cron": "*/15 * * * *"}],
    "capabilities": {"metrics": {"sources": ["prometheus", "host"]}},
}

import math
import re
import statistics as st
from collections import Counter
from datetime import datetime as dt, timedelta, timezone

LIMITS = {"p95": 0.5, "errors": -1.0}
NAMES = ("api", "web")
VERSION_RE = r"^\\d+(\\.\\d+)*$"


def percentile(values, q):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


@skill.function(fn_id="ordinary", trigger=skill.cron("*/15 * * * *"), retries=0)
def ordinary(ctx):
    # Commentaire en français : accepté.
    def sample():
        now = dt.now(timezone.utc)
        rows = ctx.capabilities.metrics.query("up", source="prometheus")
        return {"at": now.isoformat(), "values": [r["value"] for r in rows]}

    snapshot = ctx.step.run("sample", sample)
    host = ctx.step.run("host", lambda: ctx.capabilities.metrics.host())
    values = snapshot["values"] or [0.0]
    counts = Counter(round(v, 1) for v in values)
    worst = max(values, key=lambda v: abs(v))
    summary = {
        "mean": st.mean(values),
        "p95": percentile(values, 0.95),
        "worst": worst,
        "modes": sorted(counts),
        "cpu": host.get("cpu_percent", 0.0),
        "ok": all(v < LIMITS["p95"] for v in values),
        "version_ok": bool(re.match(VERSION_RE, "1.2.3")),
        "window": str(timedelta(minutes=15)),
    }
    for i in range(len(NAMES)):
        if NAMES[i] == "web":
            break
    try:
        ratio = summary["mean"] / summary["worst"]
    except ZeroDivisionError:
        ratio = 0.0
    label = "high" if ratio > 0.9 else "low"
    return {**summary, "ratio": ratio, "label": f"{label}:{len(values)}"}
'''


def test_ordinary_code_passes_every_layer() -> None:
    report = validate_source(ORDINARY, "ordinary.py")
    assert report.ok, report.render()
    assert report.findings == []
    assert report.dry_runs[0].return_value["label"].startswith("high")


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        (
            skill_source().replace("def handler(ctx):", "def handler(ctx, extra):"),
            "handler-signature",
        ),
        (skill_source().replace("@skill.function", "@other\n@skill.function"), "decorator-invalid"),
        (
            skill_source(
                '@skill.function(fn_id="x", trigger=skill.cron("0 * * * *"))\n'
                "def inner(c):\n    return 1\nreturn 1"
            ),
            "decorator-invalid",
        ),
        (
            skill_source(decorator='fn_id=make_id(), trigger=skill.cron("0 * * * *")'),
            "decorator-arg",
        ),
        (skill_source("import math\nreturn math.pi"), "import-not-top-level"),
        (skill_source('return ctx.step.parallel(("a", lambda: 1),)'), "step-unknown-method"),
        (
            skill_source('ctx.step.run("same", lambda: 1)\nreturn ctx.step.run("same", lambda: 2)'),
            "step-id-duplicate",
        ),
        (skill_source('return ctx.step.run("has space", lambda: 1)'), "step-id-literal"),
        (
            skill_source(
                "return dt.now().isoformat()", imports="from datetime import datetime as dt"
            ),
            "nondeterministic-call",
        ),
        (skill_source("return random.random()", imports="import random"), "nondeterministic-call"),
        (skill_source('return re.compile("(unclosed")', imports="import re"), "regex-invalid"),
        (skill_source("return 1", imports="from . import sibling"), "import-not-allowed"),
        (skill_source("return 1", imports="from json import *"), "import-not-allowed"),
    ],
)
def test_specific_rules(source: str, rule: str) -> None:
    report = validate_source(source, "sample.py")
    assert rule in report.rules(), report.render()


def test_print_is_refused_with_a_pointer_to_ctx_log() -> None:
    report = validate_source(skill_source('print("hi")\nreturn 1'), "sample.py")
    [problem] = report.errors
    assert problem.rule == "name-forbidden"
    assert "ctx.log" in problem.fix


def test_seeded_random_is_deterministic_and_allowed_anywhere() -> None:
    source = skill_source(
        "rng = random.Random(42)\nreturn rng.randint(1, 6)", imports="import random"
    )
    report = validate_source(source, "sample.py")
    assert report.ok, report.render()


def test_clock_inside_a_step_callback_passed_by_name_is_allowed() -> None:
    body = (
        "def stamp():\n    return datetime.datetime.now(datetime.timezone.utc).isoformat()\n\n"
        'return ctx.step.run("stamp", stamp)'
    )
    assert validate_source(skill_source(body, imports="import datetime"), "sample.py").ok


@pytest.mark.parametrize(
    ("loops", "refused"),
    [
        ("for i in range(20):\n    for j in range(100):\n", True),  # 2000 steps
        ("for i in range(0, 2000, 2):\n", True),  # 1000 steps
        ("for i in range(999):\n", False),
        ("for i in range(len(ctx.event.data)):\n", False),  # not evident: the runtime caps it
    ],
)
def test_a_literal_loop_of_too_many_steps_is_refused(loops: str, refused: bool) -> None:
    depth = loops.count("\n")
    body = loops + "    " * depth + 'ctx.step.run("s", lambda: 1)\nreturn {}'
    report = validate_source(skill_source(body), "sample.py")
    found = [f for f in report.findings if f.rule == "step-limit"]
    assert bool(found) is refused, report.render()
    if refused:
        assert found[0].line == 7 + depth and "999" in found[0].message and found[0].fix
