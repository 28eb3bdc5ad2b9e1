"""Every rule the validator can report: stable id, the layer that enforces it, and a fix hint.

Rule ids are stable codes (they are counted in run history and taught to the agent); each id
belongs to exactly one layer, in pipeline order:

    filename → unicode-scan → parse → ast-policy → restricted-compile → contract
    → load → guarded-access / import-wrapper / facade (run-time guards) → dry-run
    → dry-run-sandbox (process limits)

Violation codes raised at run time (``sidecar/facade/errors.py``) are rules too, so a dry run
that trips a guard reports it with the same id a worker would log.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Rule:
    id: str
    layer: str
    fix: str


LAYERS = (
    "filename",
    "unicode-scan",
    "parse",
    "ast-policy",
    "restricted-compile",
    "contract",
    "load",
    "guarded-access",
    "import-wrapper",
    "facade",
    "dry-run",
    "dry-run-sandbox",
    "activation",
    "run-budget",
)

_RULES = [
    # filename
    Rule(
        "filename-invalid",
        "filename",
        "Name the file like the skill id with '_' for '-': 'latency_watch.py' for 'latency-watch'.",
    ),
    # unicode-scan
    Rule(
        "unicode-bidi",
        "unicode-scan",
        "Delete the bidirectional control character; write the text in plain order.",
    ),
    Rule(
        "unicode-invisible",
        "unicode-scan",
        "Delete the invisible character (zero-width space/joiner, BOM, other format character).",
    ),
    Rule(
        "unicode-control", "unicode-scan", "Delete the control character; use \\t or \\n escapes."
    ),
    Rule(
        "identifier-non-ascii",
        "unicode-scan",
        "Use ASCII letters, digits and '_' for names; non-ASCII text belongs in strings.",
    ),
    # parse
    Rule("syntax-error", "parse", "Fix the syntax error; the parser stops at the first one."),
    Rule("source-too-large", "parse", "Keep a skill under the size limit; split it into skills."),
    Rule("source-too-complex", "parse", "Flatten deeply nested expressions into named steps."),
    # ast-policy
    Rule(
        "import-not-allowed",
        "ast-policy",
        "Import only allowlisted modules (datetime, json, math, statistics, re, random, "
        "collections, itertools, functools, bisect, zoneinfo) by full name; reach the world "
        "through ctx.capabilities.",
    ),
    Rule("import-not-top-level", "ast-policy", "Put imports at the top of the file."),
    Rule(
        "module-attribute-unknown",
        "ast-policy",
        "Use only the names the vetted module exports (see docs/SKILLS.md, Imports).",
    ),
    Rule(
        "module-as-value",
        "ast-policy",
        "Use a module only as `module.name`; do not assign or pass the module itself.",
    ),
    Rule(
        "attribute-private",
        "ast-policy",
        "Do not read or write attributes starting with '_' (dunders included).",
    ),
    Rule(
        "attribute-forbidden",
        "ast-policy",
        "Do not use introspection attributes or str.format/format_map; use f-strings.",
    ),
    Rule("name-private", "ast-policy", "Rename: names starting with '_' are reserved."),
    Rule(
        "name-forbidden",
        "ast-policy",
        "Do not use this builtin: eval/exec/compile/open/getattr/type/vars/dir/globals/"
        "locals/hash/print/... are unavailable; use ctx.log instead of print.",
    ),
    Rule(
        "module-side-effect",
        "ast-policy",
        "At module level keep only MANIFEST, imports, constant assignments and function "
        "definitions; do work inside handlers.",
    ),
    Rule(
        "loop-while",
        "ast-policy",
        "Replace `while` with `for i in range(N)` (N at most 100000) and `break`, or with "
        "ctx.step.sleep between runs.",
    ),
    Rule("recursion", "ast-policy", "Rewrite the recursion as a bounded `for` loop."),
    Rule("async-forbidden", "ast-policy", "Write handlers with `def`; skills are synchronous."),
    Rule("yield-forbidden", "ast-policy", "Return a list instead of yielding."),
    Rule("global-forbidden", "ast-policy", "Pass values as arguments and return results."),
    Rule("class-forbidden", "ast-policy", "Use functions and dicts instead of classes."),
    Rule(
        "bare-except",
        "ast-policy",
        "Catch specific errors (`except skill.LLMError:` or `except Exception:`); bare except "
        "and BaseException would swallow the engine's step interrupts.",
    ),
    Rule(
        "decorator-invalid",
        "ast-policy",
        "Decorate handlers only with @skill.function(...), at module level, once.",
    ),
    Rule(
        "decorator-arg",
        "ast-policy",
        "Write @skill.function arguments as literals, module constants or skill.* helpers "
        'with literal arguments (e.g. trigger=skill.cron("*/30 * * * *")).',
    ),
    Rule("handler-signature", "ast-policy", "Define the handler as `def name(ctx):`."),
    Rule(
        "step-id-literal",
        "ast-policy",
        'Give the step id as a string literal first argument: ctx.step.run("fetch", fn).',
    ),
    Rule(
        "step-id-duplicate",
        "ast-policy",
        "Give each step call site its own id within the function.",
    ),
    Rule(
        "step-unknown-method",
        "ast-policy",
        "Use run, sleep, sleep_until, wait_for_event, send_event or invoke.",
    ),
    Rule(
        "step-indirect",
        "ast-policy",
        "Call ctx.step.<method>(...) directly; do not store or pass ctx.step.",
    ),
    Rule(
        "step-nested",
        "ast-policy",
        "Do not call ctx.step.* inside a step callback; make it a separate step.",
    ),
    Rule(
        "capability-indirect",
        "ast-policy",
        "Call ctx.capabilities.<name>.<method>(...) directly inside a step callback.",
    ),
    Rule(
        "capability-outside-step",
        "ast-policy",
        "Move the capability call into the function passed to ctx.step.run.",
    ),
    Rule(
        "nondeterministic-call",
        "ast-policy",
        "Move clock and random calls into the function passed to ctx.step.run; replays "
        "re-run everything outside steps.",
    ),
    Rule(
        "step-limit",
        "ast-policy",
        "Keep a run under 999 steps: a step inside `for … in range(N)` runs N times; do the "
        "loop inside one step, or batch it into fewer steps.",
    ),
    Rule("regex-invalid", "ast-policy", "Fix the regular expression."),
    Rule(
        "regex-nested-quantifier",
        "ast-policy",
        "Remove the nested quantifier (like (a+)+ or (a*)*): it backtracks exponentially.",
    ),
    # restricted-compile
    Rule(
        "restricted-compile",
        "restricted-compile",
        "Remove the construct RestrictedPython refuses (see the message).",
    ),
    # contract
    Rule(
        "manifest-missing",
        "contract",
        "Add a module-level MANIFEST = {...} literal (see docs/SKILLS.md, Manifest).",
    ),
    Rule(
        "manifest-not-literal",
        "contract",
        "Write MANIFEST as a plain literal: dicts, lists, strings and numbers only.",
    ),
    Rule("manifest-invalid", "contract", "Fix the MANIFEST field as the message says."),
    Rule(
        "manifest-id-mismatch",
        "contract",
        "Make MANIFEST['id'] equal the file name stem with '-' for '_'.",
    ),
    Rule(
        "capability-undeclared",
        "contract",
        "Declare the capability in MANIFEST['capabilities'] or stop using it.",
    ),
    Rule(
        "capability-unused",
        "contract",
        "Remove the unused capability from MANIFEST['capabilities'] (least privilege).",
    ),
    Rule("emit-undeclared", "contract", "Add the event name to MANIFEST['emits']."),
    Rule(
        "emit-self-trigger",
        "contract",
        "Do not send an event the skill itself triggers on: name the outgoing event differently "
        "(e.g. '<skill-id>/done'), or do the follow-up work in a step of the same run.",
    ),
    Rule(
        "emit-namespace",
        "contract",
        "Send events named '<skill-id>/<name>'; to send another app's event, list it in both "
        "MANIFEST['emits'] and MANIFEST['emit_grants'] (a person approves it).",
    ),
    Rule(
        "text-unsafe",
        "contract",
        "Write names, descriptions and owners as one line of printable text: no newlines, tabs, "
        "ANSI escapes, other control or bidirectional characters.",
    ),
    Rule("invoke-undeclared", "contract", "Add the function id to MANIFEST['invokes']."),
    Rule("function-none", "contract", "Declare at least one @skill.function handler."),
    Rule("function-invalid", "contract", "Fix the @skill.function argument as the message says."),
    Rule(
        "function-id-prefix",
        "contract",
        "Use the skill id as fn_id, or the skill id followed by '-' and a suffix.",
    ),
    Rule("function-id-duplicate", "contract", "Give every function in the file its own fn_id."),
    Rule(
        "function-id-taken",
        "contract",
        "Pick another skill id: this function id belongs to another skill or a core skill.",
    ),
    Rule(
        "trigger-cron-invalid",
        "contract",
        "Write a 5-field cron, optionally prefixed with TZ=Area/City, e.g. "
        "'TZ=Europe/Paris */30 * * * *'.",
    ),
    Rule(
        "trigger-event-invalid",
        "contract",
        "Use an event name like 'prefix/name', not under 'inngest/'.",
    ),
    Rule(
        "trigger-undeclared",
        "contract",
        "List every decorator trigger in MANIFEST['triggers'], exactly as written.",
    ),
    Rule(
        "trigger-unused",
        "contract",
        "Remove the MANIFEST trigger no function uses, or add the function.",
    ),
    # load
    Rule("load-error", "load", "Module-level code failed while loading; see the message."),
    # guarded-access (run time)
    Rule(
        "guarded-access",
        "guarded-access",
        "Read only documented attributes of platform objects; do not index or iterate them.",
    ),
    Rule(
        "guarded-write",
        "guarded-access",
        "Assign only into your own dicts and lists; platform objects are read-only.",
    ),
    Rule(
        "limit-exceeded",
        "guarded-access",
        "Keep ranges under 100000 items and built sequences/integers under the size caps.",
    ),
    # import-wrapper (run time)
    Rule("import-denied", "import-wrapper", "Import only allowlisted modules."),
    Rule(
        "module-attribute-denied", "import-wrapper", "Use only the names the vetted module exports."
    ),
    Rule(
        "runtime-nondeterministic-call",
        "import-wrapper",
        "Call clocks and random only inside ctx.step.run callbacks.",
    ),
    Rule(
        "runtime-regex-rejected",
        "import-wrapper",
        "Build regexes without nested quantifiers and under 1000 characters.",
    ),
    # facade (run time)
    Rule(
        "capability-denied",
        "facade",
        "Use only the capabilities, sources, channels and hosts the manifest grants.",
    ),
    Rule(
        "runtime-capability-outside-step",
        "facade",
        "Call capabilities only inside ctx.step.run callbacks.",
    ),
    Rule(
        "runtime-emit-undeclared",
        "facade",
        "Send and invoke only what MANIFEST['emits'] / ['invokes'] declare.",
    ),
    Rule("step-misuse", "facade", "Use ctx.step as documented (see the message)."),
    Rule(
        "step-output-invalid",
        "facade",
        "Return only JSON from steps and handlers: dict (str keys), list, str, int, float, "
        "bool, None.",
    ),
    Rule(
        "step-output-too-large",
        "facade",
        "Return at most 4 MiB of JSON per step; summarize instead of returning raw data.",
    ),
    # dry-run
    Rule(
        "dry-run-error",
        "dry-run",
        "The function raised during the dry run; handle the case shown (missing data, "
        "capability errors via skill.LLMError / skill.StepError, ...).",
    ),
    Rule(
        "dry-run-nondeterministic",
        "dry-run",
        "Make code outside steps take the same path on every replay; move clocks, random "
        "and I/O into steps.",
    ),
    # activation (the sidecar, when a version is about to go live)
    Rule(
        "trigger-cycle",
        "activation",
        "Break the loop: skills that start each other through events or invokes (the message "
        "names the cycle) would run forever; send a different event, or merge the steps.",
    ),
    # run-budget (the sidecar, across the calls of a run)
    Rule(
        "runtime-step-limit",
        "run-budget",
        "Take fewer steps per run (at most 999): batch work into fewer, larger steps, or split "
        "it over several runs.",
    ),
    Rule(
        "run-budget-cpu",
        "run-budget",
        "Do less work per run; the CPU of all the run's calls added up passed its budget.",
    ),
    Rule(
        "run-budget-wall",
        "run-budget",
        "Do less work per run; the wall-clock time of all the run's calls added up passed its "
        "budget (sleeps and waits do not count).",
    ),
    Rule(
        "runtime-event-cap",
        "run-budget",
        "Send fewer events: a run and a skill per minute may send only so many (settings "
        "run_limits.max_events_per_run / max_events_per_minute).",
    ),
    # dry-run-sandbox (process limits)
    Rule("sandbox-cpu-limit", "dry-run-sandbox", "Do less work per run; the CPU limit was hit."),
    Rule(
        "sandbox-memory-limit",
        "dry-run-sandbox",
        "Use less memory; the sandbox's address-space limit was hit.",
    ),
    Rule("sandbox-recursion-limit", "dry-run-sandbox", "Remove the unbounded recursion."),
    Rule("sandbox-timeout", "dry-run-sandbox", "The dry run exceeded its wall-clock limit."),
    Rule(
        "sandbox-crashed",
        "dry-run-sandbox",
        "The sandbox process died (e.g. a C-level stack overflow from a deeply nested value).",
    ),
    Rule(
        "sandbox-seccomp",
        "dry-run-sandbox",
        "Use only the skill API: the process made a system call skills may never make.",
    ),
    Rule(
        "sandbox-isolation-unavailable",
        "dry-run-sandbox",
        "Run the sidecar where worker isolation works (Linux, bubblewrap, user namespaces), "
        "or set isolation.unisolated = 'allow' for development.",
    ),
    Rule(
        "sandbox-file-limit",
        "dry-run-sandbox",
        "Do not write files; keep data in step outputs.",
    ),
]

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]
