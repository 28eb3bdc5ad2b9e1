"""Attacks refused at validation, before any skill code runs (no sandbox process needed).

Each case names the first layer that stops it and the exact rule id; the test checks that the
report's first error comes from that layer and that the rule is reported.
"""

from __future__ import annotations

import pytest
from probes import Attack, probe

from sidecar.validation import RULES, validate_source

STATIC_ATTACKS = [
    # --- dunder walks and introspection ---------------------------------------------------
    Attack("dunder-walk-to-subclasses",
           probe("return ().__class__.__bases__[0].__subclasses__()"),
           stopped_by="ast-policy", rule="attribute-private"),
    Attack("dunder-import-builtin", probe('return __import__("os").environ'),
           stopped_by="ast-policy", rule="name-private"),
    Attack("type-of-object", probe("return type(ctx)"),
           stopped_by="ast-policy", rule="name-forbidden"),
    Attack("vars-dir-globals-locals", probe("return [vars(), dir(), globals(), locals()]"),
           stopped_by="ast-policy", rule="name-forbidden"),
    Attack("getattr-with-computed-name", probe('return getattr(ctx, "__" + "class__")'),
           stopped_by="ast-policy", rule="name-forbidden"),
    Attack("eval-exec-compile",
           probe('eval("1")\nexec("x = 1")\nreturn compile("1", "f", "eval")'),
           stopped_by="ast-policy", rule="name-forbidden"),
    Attack("open-a-file", probe('return open("/etc/passwd").read()'),
           stopped_by="ast-policy", rule="name-forbidden"),
    # --- format-string attribute traversal --------------------------------------------------
    Attack("str-format-traversal", probe('return "{0.__class__}".format(ctx)'),
           stopped_by="ast-policy", rule="attribute-forbidden"),
    Attack("str-format-map-traversal", probe('return "{c.step}".format_map({"c": ctx})'),
           stopped_by="ast-policy", rule="attribute-forbidden"),
    Attack("string-formatter", probe('return string.Formatter().vformat("{0.x}", [ctx], {})',
                                     imports="import string"),
           stopped_by="ast-policy", rule="import-not-allowed"),
    # --- frames: generators, coroutines, tracebacks ----------------------------------------
    Attack("generator-frame-globals",
           probe("g = (x for x in [1])\nreturn g.gi_frame.f_back.f_globals"),
           stopped_by="ast-policy", rule="attribute-forbidden"),
    Attack("coroutine-frame", probe("return 1", top="async def grab():\n    return 1\n"),
           stopped_by="ast-policy", rule="async-forbidden"),
    Attack("generator-function", probe("return 1", top="def gen():\n    yield 1\n"),
           stopped_by="ast-policy", rule="yield-forbidden"),
    Attack("traceback-frame",
           probe("try:\n    1 / 0\nexcept ZeroDivisionError as err:\n"
                 "    return err.__traceback__.tb_frame.f_globals"),
           stopped_by="ast-policy", rule="attribute-private"),
    Attack("match-class-pattern-bypasses-getattr",
           probe("try:\n    1 / 0\nexcept ZeroDivisionError as err:\n    match err:\n"
                 "        case ZeroDivisionError(__traceback__=tb):\n            return tb"),
           stopped_by="ast-policy", rule="attribute-private"),
    # --- imports ---------------------------------------------------------------------------
    Attack("import-os-for-secrets",
           probe('return os.environ.get("INNGEST_SIGNING_KEY")', imports="import os"),
           stopped_by="ast-policy", rule="import-not-allowed"),
    Attack("import-sdk-internals-by-dotted-name",
           probe("return e.os.environ", imports="import inngest._internal.env_lib as e"),
           stopped_by="ast-policy", rule="import-not-allowed"),
    Attack("sdk-client-signing-key",
           probe('return Inngest(app_id="x").signing_key', imports="from inngest import Inngest"),
           stopped_by="ast-policy", rule="import-not-allowed"),
    Attack("json-codecs-builtins", probe("return codecs.builtins", imports="from json import codecs"),
           stopped_by="ast-policy", rule="import-not-allowed"),
    Attack("submodule-of-allowed-module", probe("return 1", imports="import json.decoder"),
           stopped_by="ast-policy", rule="import-not-allowed"),
    Attack("re-enum-sys", probe("return re.enum.sys.modules", imports="import re"),
           stopped_by="ast-policy", rule="module-attribute-unknown"),
    Attack("datetime-sys", probe("return datetime.sys.modules", imports="import datetime"),
           stopped_by="ast-policy", rule="module-attribute-unknown"),
    Attack("module-passed-as-value", probe("mod = re\nreturn mod", imports="import re"),
           stopped_by="ast-policy", rule="module-as-value"),
    # --- process exits and crashes ---------------------------------------------------------
    Attack("raise-system-exit", probe("raise SystemExit(1)"),
           stopped_by="ast-policy", rule="name-forbidden"),
    Attack("raise-keyboard-interrupt", probe("raise KeyboardInterrupt"),
           stopped_by="ast-policy", rule="name-forbidden"),
    Attack("hash-deep-tuple", probe("return hash(((),))"),
           stopped_by="ast-policy", rule="name-forbidden"),
    Attack("bare-except-swallows-interrupts",
           probe('try:\n    ctx.step.sleep("nap", 1000)\nexcept:\n    pass\nreturn 1'),
           stopped_by="ast-policy", rule="bare-except"),
    # --- resource exhaustion, statically visible --------------------------------------------
    Attack("while-true", probe("while True:\n    pass"),
           stopped_by="ast-policy", rule="loop-while"),
    Attack("direct-recursion", probe("return spin(0)", top="def spin(n):\n    return spin(n + 1)\n"),
           stopped_by="ast-policy", rule="recursion"),
    Attack("regex-literal-backtracking",
           probe('return bool(re.match("(a+)+$", "a" * 30 + "!"))', imports="import re"),
           stopped_by="ast-policy", rule="regex-nested-quantifier"),
    Attack("source-too-large", probe("return 1") + "#" * (300 * 1024),
           stopped_by="parse", rule="source-too-large"),
    Attack("deeply-nested-expression", probe("return 1", top="X = 1" + " + 1" * 3_000),
           stopped_by="parse", rule="source-too-complex"),
    # --- module level, classes, globals -----------------------------------------------------
    Attack("module-level-side-effect",
           probe("return 1", imports="import json", top="CONFIG = json.loads('{}')"),
           stopped_by="ast-policy", rule="module-side-effect"),
    Attack("class-with-dunder-methods",
           probe("return 1", top="class Evil:\n    def __init__(self):\n        pass\n"),
           stopped_by="ast-policy", rule="class-forbidden"),
    Attack("global-state", probe("global COUNTER\nreturn 1", top="COUNTER = 0"),
           stopped_by="ast-policy", rule="global-forbidden"),
    Attack("except-star-exception-group",
           probe("try:\n    pass\nexcept* ValueError:\n    pass\nreturn 1"),
           stopped_by="restricted-compile", rule="restricted-compile"),
    # --- replay determinism and step/capability misuse -----------------------------------------
    Attack("clock-outside-step",
           probe('return {"t": datetime.datetime.now().isoformat()}', imports="import datetime"),
           stopped_by="ast-policy", rule="nondeterministic-call"),
    Attack("capability-outside-step", probe('return ctx.capabilities.notify.post("inbox", "x")',
                                            capabilities={"notify": {"channels": ["inbox"]}}),
           stopped_by="ast-policy", rule="capability-outside-step"),
    Attack("capability-object-escapes", probe("caps = ctx.capabilities\nreturn 1",
                                              capabilities={"notify": {"channels": ["inbox"]}}),
           stopped_by="ast-policy", rule="capability-indirect"),
    Attack("step-api-escapes", probe('run = ctx.step.run\nreturn run("x", lambda: 1)'),
           stopped_by="ast-policy", rule="step-indirect"),
    Attack("computed-step-id", probe('name = "a" + "b"\nreturn ctx.step.run(name, lambda: 1)'),
           stopped_by="ast-policy", rule="step-id-literal"),
    Attack("nested-steps",
           probe('return ctx.step.run("outer", lambda: ctx.step.run("inner", lambda: 1))'),
           stopped_by="ast-policy", rule="step-nested"),
    # --- hidden unicode (Trojan Source) -------------------------------------------------------
    Attack("trojan-source-bidi",
           probe('role = "user\u202e \u2066# admin\u2069 \u2066"\nreturn role'),
           stopped_by="unicode-scan", rule="unicode-bidi"),
    Attack("zero-width-in-identifier", probe("ad\u200bmin = 1\nreturn 1"),
           stopped_by="unicode-scan", rule="unicode-invisible"),
    Attack("homoglyph-identifier", probe("ct\u0445 = ctx\nreturn 1"),
           stopped_by="unicode-scan", rule="identifier-non-ascii"),
    Attack("nfkc-fullwidth-eval", probe('return \uff45\uff56\uff41\uff4c("1")'),
           stopped_by="unicode-scan", rule="identifier-non-ascii"),
    # --- names, manifests, reaching the engine ------------------------------------------------
    Attack("path-traversal-in-file-name", probe("return 1"),
           filename="../../sidecar/validation/policy.py",
           stopped_by="filename", rule="filename-invalid"),
    Attack("path-traversal-in-skill-id", probe("return 1", skill_id="probe").replace(
        "'id': 'probe'", "'id': '../core'"), stopped_by="contract", rule="manifest-invalid"),
    Attack("http-grant-to-engine-api",
           probe('return 1', capabilities={"http": {"hosts": ["127.0.0.1"]}}),
           stopped_by="contract", rule="manifest-invalid"),
    Attack("http-grant-to-cloud-metadata",
           probe('return 1', capabilities={"http": {"hosts": ["169.254.169.254"]}}),
           stopped_by="contract", rule="manifest-invalid"),
    Attack("send-engine-events-as-another-app",
           probe('return 1', emits=["inngest/function.failed"]),
           stopped_by="contract", rule="manifest-invalid"),
    Attack("send-undeclared-event",
           probe('return ctx.step.send_event("forge", {"name": "billing/invoice.paid", "data": {}})'),
           stopped_by="contract", rule="emit-undeclared"),
    Attack("use-undeclared-capability",
           probe('return ctx.step.run("get", lambda: ctx.capabilities.http.get("https://x.io"))'),
           stopped_by="contract", rule="capability-undeclared"),
]  # fmt: skip


@pytest.mark.parametrize("attack", STATIC_ATTACKS, ids=repr)
def test_static_attack_is_refused_at_validation(attack: Attack) -> None:
    report = validate_source(attack.source, attack.filename, existing_function_ids=attack.existing)
    assert not report.ok, report.render()
    assert RULES[attack.rule].layer == attack.stopped_by
    assert report.errors[0].layer == attack.stopped_by, report.render()
    assert attack.rule in report.rules(), report.render()
    # Refused statically: the sandbox never ran, so no attack code executed.
    assert "load" not in report.layers_run
    assert report.dry_runs == []


def test_every_forbidden_introspection_builtin_is_reported() -> None:
    report = validate_source(probe("return [vars(), dir(), globals(), locals()]"), "probe.py")
    flagged = {f.message.split("'")[1] for f in report.findings if f.rule == "name-forbidden"}
    assert flagged == {"vars", "dir", "globals", "locals"}


def test_static_corpus_is_large_enough() -> None:
    assert len(STATIC_ATTACKS) >= 30
