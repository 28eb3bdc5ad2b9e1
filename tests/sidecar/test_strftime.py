"""`date.strftime` works in skills although its C code imports `time` through the sandbox's
import hook; what that import hands out cannot read the clock."""

from __future__ import annotations

import time

import pytest

from sidecar.facade.errors import ModuleAttributeDenied
from sidecar.validation import validate_source
from sidecar.validation.imports import guarded_import

SKILL = """
MANIFEST = {
    "id": "stamp",
    "description": "Formats a date.",
    "author": "human",
    "triggers": [{"event": "demo/stamp", "example": {}}],
}

import datetime


@skill.function(fn_id="stamp", trigger=skill.event("demo/stamp"))
def stamp(ctx):
    day = datetime.date(2026, 11, 25)
    return {"day": day.strftime("%Y-%m-%d"), "long": day.strftime("%A %d %B")}
"""


def test_strftime_runs_in_a_skill() -> None:
    report = validate_source(SKILL, "stamp.py")
    assert report.ok, report.render()
    assert report.dry_runs[0].return_value == {"day": "2026-11-25", "long": "Wednesday 25 November"}


def test_the_time_module_handed_out_only_formats_a_given_time() -> None:
    module = guarded_import("time")
    assert module.strftime("%Y", time.gmtime(0)) == "1970"  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        module.strftime("%Y")  # type: ignore[attr-defined]  # the clock is not a default
    with pytest.raises(ModuleAttributeDenied):
        _ = module.time  # type: ignore[attr-defined]
    with pytest.raises(ModuleAttributeDenied):
        _ = module.sleep  # type: ignore[attr-defined]
