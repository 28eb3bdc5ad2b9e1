"""Second lines of defence, exercised directly: each would stop the attack on its own.

The AST policy stops most attacks first; these tests show the run-time layers behind it hold
by themselves (RestrictedPython's compiler, the guards, the vetted modules, the import hook,
the facade), so one missed case in the policy is not a breakout.
"""

from __future__ import annotations

import datetime
import json

import pytest

from sidecar.facade.capabilities import build_capabilities
from sidecar.facade.client import SkillClient
from sidecar.facade.errors import (
    CapabilityDenied,
    CapabilityOutsideStep,
    GuardedAccessError,
    GuardedWriteError,
    ImportDenied,
    LimitExceeded,
    ModuleAttributeDenied,
    NondeterministicCall,
    RegexRejected,
    SkillViolation,
    StepMisuse,
)
from sidecar.facade.fakes import FakeCapabilities
from sidecar.facade.grants import CapabilityGrants
from sidecar.facade.scope import inside_step
from sidecar.validation import guards
from sidecar.validation.compile import restricted_compile
from sidecar.validation.imports import VETTED, guarded_import


@pytest.mark.parametrize(
    "source",
    [
        "x = ().__class__.__bases__",
        "x = g.gi_frame",
        "x = tb.tb_frame.f_globals",
        "x = __import__('os')",
        "try:\n    pass\nexcept* ValueError:\n    pass",
        "def f():\n    nonlocal y",
    ],
)
def test_restricted_python_refuses_on_its_own(source: str) -> None:
    code, findings = restricted_compile(source, "probe.py")
    assert code is None
    assert {f.rule for f in findings} == {"restricted-compile"}


@pytest.mark.parametrize(
    ("obj", "name"),
    [
        ((), "__class__"),
        ("{0.__class__}", "format"),
        ("{x}", "format_map"),
        (int, "mro"),
        ((x for x in ()), "gi_frame"),
        (SkillClient(), "declarations"),
        (SkillClient(), "seal"),
    ],
)
def test_guarded_getattr_refuses(obj: object, name: str) -> None:
    with pytest.raises(GuardedAccessError):
        guards.guarded_getattr(obj, name)


def test_violations_cannot_be_caught_as_exceptions() -> None:
    assert not issubclass(SkillViolation, Exception)
    with pytest.raises(SkillViolation):
        try:
            guards.guarded_getattr((), "__class__")
        except Exception:  # what skill code can write: it does not catch the violation
            pytest.fail("a violation was caught by `except Exception`")


def test_guarded_write_and_item_access_protect_platform_objects() -> None:
    client = SkillClient()
    with pytest.raises(GuardedWriteError):
        guards.guarded_write(client)
    with pytest.raises(GuardedAccessError):
        guards.guarded_getitem(client, "function")
    with pytest.raises(GuardedAccessError):
        guards.guarded_iter(client)
    mine: dict[str, int] = {}
    assert guards.guarded_write(mine) is mine


@pytest.mark.parametrize(
    ("op", "args"),
    [
        (guards.guarded_mul, ("a", 10**10)),
        (guards.guarded_mul, ([0], 10**9)),
        (guards.guarded_pow, (2, 10**7)),
        (guards.guarded_lshift, (1, 10**7)),
        (guards.guarded_add, ("a" * 6_000_000, "b" * 6_000_000)),
        (guards.limited_range, (10**12,)),
    ],
)
def test_size_guards_refuse_before_allocating(op: object, args: tuple[object, ...]) -> None:
    with pytest.raises(LimitExceeded):
        op(*args)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("text", "call"), [("x", "ljust"), ("x", "zfill"), ("\t" * 1000, "expandtabs")]
)
def test_str_padding_is_bounded(text: str, call: str) -> None:
    with pytest.raises(LimitExceeded):
        guards.guarded_getattr(text, call)(10**7 + 1 if call != "expandtabs" else 10**5)
    assert guards.guarded_getattr("ab", "center")(6, "*") == "**ab**"


def test_inplace_operators_keep_list_semantics_and_limits() -> None:
    items = [1]
    assert guards.guarded_inplacevar("+=", items, [2]) is items
    assert items == [1, 2]
    with pytest.raises(LimitExceeded):
        guards.guarded_inplacevar("*=", ["x"], 10**9)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("re", "enum"),
        ("json", "codecs"),
        ("datetime", "sys"),
        ("itertools", "count"),
        ("collections", "namedtuple"),
        ("random", "seed"),
    ],
)
def test_vetted_modules_expose_only_their_members(module: str, name: str) -> None:
    with pytest.raises(ModuleAttributeDenied):
        guards.guarded_getattr(VETTED[module], name)
    with pytest.raises(ModuleAttributeDenied):  # the path `from re import enum` takes
        getattr(VETTED[module], name)


@pytest.mark.parametrize(
    "name",
    ["os", "inngest", "inngest._internal.env_lib", "json.decoder", "string", "sys", "builtins"],
)
def test_import_hook_refuses_everything_but_the_allowlist(name: str) -> None:
    with pytest.raises(ImportDenied):
        guarded_import(name)


def test_import_hook_refuses_relative_imports() -> None:
    with pytest.raises(ImportDenied):
        guarded_import("json", level=1)


def test_json_wrapper_has_no_hooks() -> None:
    dumps = VETTED["json"].dumps  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        dumps({}, cls=json.JSONEncoder)
    with pytest.raises(TypeError):
        VETTED["json"].loads("{}", object_hook=dict)  # type: ignore[attr-defined]


def test_regex_wrapper_refuses_nested_quantifiers_at_run_time() -> None:
    with pytest.raises(RegexRejected):
        VETTED["re"].match("(a+)+$", "aaaa")  # type: ignore[attr-defined]
    assert VETTED["re"].match(r"^\d+(\.\d+)*$", "1.2.3")  # type: ignore[attr-defined]


def test_clock_and_random_only_inside_steps() -> None:
    with pytest.raises(NondeterministicCall):
        guards.guarded_getattr(datetime.datetime, "now")
    with pytest.raises(NondeterministicCall):
        VETTED["random"].random()  # type: ignore[attr-defined]
    with inside_step("run", "step"):
        assert guards.guarded_getattr(datetime.datetime, "now")()
        assert 0 <= VETTED["random"].random() < 1  # type: ignore[attr-defined]


def test_capability_gates_enforce_grants_and_steps() -> None:
    grants = CapabilityGrants.model_validate(
        {"notify": {"channels": ["inbox"]}, "http": {"hosts": ["status.example.com"]}}
    )
    calls: list[object] = []
    caps = build_capabilities(grants, FakeCapabilities().backends(), calls.append)
    with pytest.raises(CapabilityOutsideStep):
        caps.notify.post("inbox", "x")  # type: ignore[attr-defined]
    with inside_step("run", "s"):
        with pytest.raises(CapabilityDenied):
            caps.notify.post("slack", "x")  # type: ignore[attr-defined]
        for url in [
            "http://127.0.0.1:8288/",
            "https://status.example.com:8443/",
            "file:///etc/passwd",
            "https://status.example.com.evil.io/",
        ]:
            with pytest.raises(CapabilityDenied):
                caps.http.get(url)  # type: ignore[attr-defined]
        assert caps.http.get("https://status.example.com/health")["status"] == 200  # type: ignore[attr-defined]
    with pytest.raises(CapabilityDenied):
        guards.guarded_getattr(caps, "llm")


def test_client_refuses_declarations_after_loading() -> None:
    client = SkillClient()
    client.seal()
    with pytest.raises(StepMisuse):
        client.function(fn_id="x", trigger={})
