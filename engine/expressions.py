"""Inngest's CEL dialect: trigger filters, cancel/wait matches, flow-control keys, priorities.

Expressions are compiled once (cached by text) by the Rust `cel` package; Python `eval` is never
used. CEL has no side effects, so agent-written expressions are safe to run, given three caps that
the library does not enforce itself: a length cap, no comprehension inside another comprehension,
and a size cap on what `map()`/`filter()` walk (both take time quadratic in the list size there).

Inngest is lenient where strict CEL raises, and this module copies that:

- A missing field reads as `null`. The library raises KeyError instead, so the member chains of
  the expression (`event.data.a.b`, `async.data["k"]`) are found when it is compiled, and every
  evaluation sees a projection of its variables onto those chains in which missing chain ends
  are `null`.
  Chains that are the argument of `has()` are left alone, so `has()` still says false for them.
- `lowercase(s)` and `uppercase(s)` exist (a non-string gives `null`, as a missing field would).
- `1 == 1.0` is true; the library does this natively.

The helpers `eval_bool`, `eval_key` and `eval_int` never raise on evaluation: they map errors to
the value the engine should use (false, the `null` bucket, 0).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Any

import cel
import orjson

from .durations import format_duration

__all__ = [
    "MAX_EXPRESSION_LENGTH",
    "MAX_MAP_FILTER_INPUT",
    "Expression",
    "ExpressionError",
    "compile_expression",
    "eval_bool",
    "eval_int",
    "eval_key",
]

MAX_EXPRESSION_LENGTH = 4096
"""Characters; Inngest rejects longer expressions at sync."""
MAX_MAP_FILTER_INPUT = 2000
"""Elements that `map()`/`filter()` may walk in one evaluation (about 0.15 s at the cap)."""

_ROOTS = frozenset({"event", "async", "vars"})
_TYPE_NAMES = frozenset(
    {"bool", "int", "uint", "double", "string", "bytes", "list", "map", "null_type", "type"}
)
_MACROS = frozenset({"all", "exists", "exists_one", "existsOne", "map", "filter"})
_QUADRATIC_MACROS = frozenset({"map", "filter"})
_UNSUPPORTED = ("b64decode", "json_parse", "date", "now", "now_plus", "now_minus")
_CACHE_SIZE = 2048
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|//[^\n]*)
    | (?P<raw>(?:[rR][bB]?|[bB][rR])(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"[^"\n]*"|'[^'\n]*'))
    | (?P<str>[bB]?(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
    | (?P<num>0[xX][0-9a-fA-F]+[uU]?|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[uU]?)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>.)
    """,
    re.VERBOSE,
)
_PLAIN_KEY = re.compile(r"'[^'\\\n]*'|\"[^\"\\\n]*\"")  # a string index without escapes


class ExpressionError(ValueError):
    """An expression that cannot be compiled, or one evaluation of it that failed."""

    def __init__(self, expression: str, reason: str) -> None:
        shown = expression if len(expression) <= 200 else expression[:200] + "…"
        super().__init__(f"expression {shown!r}: {reason}")
        self.expression = expression


@dataclass
class _Node:
    """One step of the member chains read by an expression, e.g. `data` in `event.data.x`."""

    children: dict[str, _Node] = field(default_factory=dict)
    read: bool = False  # the chain ends here somewhere as a value
    probed: bool = False  # the chain ends here as the argument of has()


_SKIP: Any = object()  # "do not fill this key"


def _lowercase(value: object) -> str | None:
    return value.lower() if isinstance(value, str) else None


def _uppercase(value: object) -> str | None:
    return value.upper() if isinstance(value, str) else None


_FUNCTIONS = {"lowercase": _lowercase, "uppercase": _uppercase}


class Expression:
    """A compiled expression. Build it with `compile_expression`, which caches by text."""

    __slots__ = ("_chains", "_functions", "_program", "_quadratic", "_tree", "text")

    def __init__(self, text: str) -> None:
        if len(text) > MAX_EXPRESSION_LENGTH:
            raise ExpressionError(
                text, f"is {len(text)} characters long; the limit is {MAX_EXPRESSION_LENGTH}"
            )
        try:
            self._program = cel.compile(text)
        except Exception as exc:  # the library raises ValueError, but be safe at sync time
            detail = str(exc).removeprefix(f"Failed to parse expression '{text}': ")
            raise ExpressionError(text, f"does not parse: {detail}") from None
        self.text = text
        scan = _scan(text)
        self._tree = scan.tree
        self._chains = scan.value_chains
        self._quadratic = scan.quadratic
        used = set(self._program.functions())
        self._functions = {name: fn for name, fn in _FUNCTIONS.items() if name in used}
        _check_names(text, self._program, used, scan.bound)

    def eval(self, vars: dict[str, Any]) -> object:
        """Evaluate against `vars` (`event`, `async`, `vars`); raise ExpressionError on failure."""
        view = _project(_with_roots(vars), self._tree)
        if self._quadratic:
            self._check_size(view)
        try:
            return self._program.execute({**view, **self._functions})
        except Exception as exc:  # KeyError, TypeError, RuntimeError, IndexError, ...
            raise ExpressionError(self.text, f"failed: {type(exc).__name__}: {exc}") from None

    def _check_size(self, view: dict[str, Any]) -> None:
        found = (_lookup(view, chain) for chain in self._chains)
        total = sum(len(value) for value in found if isinstance(value, list | dict))
        if total > MAX_MAP_FILTER_INPUT:
            raise ExpressionError(
                self.text,
                f"map()/filter() would walk {total} elements; the limit is "
                f"{MAX_MAP_FILTER_INPUT} (exists() and all() have no such limit)",
            )

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


@functools.lru_cache(maxsize=_CACHE_SIZE)
def compile_expression(text: str) -> Expression:
    """Compile `text` once; raise ExpressionError if it is too long or invalid."""
    return Expression(text)


def eval_bool(text: str, vars: dict[str, Any]) -> bool:
    """True only if `text` evaluates to true; any error (a bad expression included) is false."""
    try:
        return compile_expression(text).eval(vars) is True
    except ExpressionError:
        return False


def eval_key(text: str, vars: dict[str, Any]) -> str | None:
    """A flow-control key: canonical JSON of the value, `None` for false ("not limited").

    An error counts as the value null, so every such event shares the "null" bucket, as a
    missing field does in Inngest.
    """
    try:
        value = compile_expression(text).eval(vars)
    except ExpressionError:
        return "null"
    if value is False:
        return None
    try:
        return orjson.dumps(
            _canonical(value), default=_json_default, option=orjson.OPT_SORT_KEYS
        ).decode()
    except TypeError:
        return "null"


def eval_int(text: str, vars: dict[str, Any]) -> int:
    """An integer result (a whole double counts, since JSON numbers are doubles in Go); else 0."""
    try:
        value = compile_expression(text).eval(vars)
    except ExpressionError:
        return 0
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return 0


# -- compile-time scan -----------------------------------------------------------------------


@dataclass
class _Scan:
    tree: _Node
    value_chains: list[tuple[str, ...]]
    bound: set[str]  # names bound by comprehension macros
    quadratic: bool


def _scan(text: str) -> _Scan:
    """Find member chains, has() arguments and macros in `text` (which already parsed)."""
    toks = [(m.lastgroup or "", m.group()) for m in _TOKEN.finditer(text) if m.lastgroup != "ws"]
    toks += [("end", "")] * 3  # lookahead never runs off the end
    scan = _Scan(_Node(), [], set(), False)
    parens: list[bool] = []  # one entry per open "(": does it open a macro call?
    for i, (kind, tok) in enumerate(toks):
        after_dot = i > 0 and toks[i - 1][1] == "."
        if tok == "(":
            macro = i > 1 and toks[i - 2][1] == "." and toks[i - 1][1] in _MACROS
            if macro and any(parens):
                raise ExpressionError(text, "a comprehension inside another one is not allowed")
            if macro:
                scan.quadratic |= toks[i - 1][1] in _QUADRATIC_MACROS
                if toks[i + 1][0] == "ident" and toks[i + 2][1] == ",":
                    scan.bound.add(toks[i + 1][1])
            parens.append(macro)
        elif tok == ")" and parens:
            parens.pop()
        elif kind == "ident" and tok in _ROOTS and not after_dot and toks[i + 1][1] != "(":
            _add_chain(scan, toks, i)
    return scan


def _add_chain(scan: _Scan, toks: list[tuple[str, str]], start: int) -> None:
    path, j = [toks[start][1]], start + 1
    while True:
        if toks[j][1] == "." and toks[j + 1][0] == "ident" and toks[j + 2][1] != "(":
            path.append(toks[j + 1][1])
            j += 2
        elif toks[j][1] == "[" and _PLAIN_KEY.fullmatch(toks[j + 1][1]) and toks[j + 2][1] == "]":
            path.append(toks[j + 1][1][1:-1])
            j += 3
        else:
            break
    probed = (
        start >= 2
        and toks[start - 1][1] == "("
        and toks[start - 2][1] == "has"
        and (start < 3 or toks[start - 3][1] != ".")
        and toks[j][1] == ")"
    )
    node = scan.tree
    for name in path:
        node = node.children.setdefault(name, _Node())
    if probed:
        node.probed = True
    else:
        node.read = True
        scan.value_chains.append(tuple(path))


def _check_names(text: str, program: cel.Program, functions: set[str], bound: set[str]) -> None:
    """Refuse what would fail on every evaluation: unknown variables, unsupported functions."""
    unknown = sorted(set(program.variables()) - _ROOTS - _TYPE_NAMES - bound)
    if unknown:
        raise ExpressionError(
            text, f"unknown variable {', '.join(unknown)}; use event, async or vars"
        )
    unsupported = [name for name in _UNSUPPORTED if name in functions]
    if unsupported:
        raise ExpressionError(
            text,
            f"{', '.join(unsupported)}() is an Inngest function this engine does not support; "
            "supported extras are lowercase() and uppercase()",
        )


# -- evaluation-time view --------------------------------------------------------------------

_EMPTY: dict[str, Any] = {}


def _with_roots(vars: dict[str, Any]) -> dict[str, Any]:
    """Declare `event`, `async` and `vars` like Go does, as empty maps when absent."""
    if _ROOTS.issubset(vars):
        return vars
    return {**dict.fromkeys(_ROOTS, _EMPTY), **vars}


def _project(value: dict[str, Any], node: _Node) -> dict[str, Any]:
    """The keys of `value` that chains under `node` read, with missing ones filled.

    Nothing else is passed on: the library converts every value it is given into CEL on each
    call, so projecting keeps evaluation cheap for large events. Every use of a variable is one
    of the chains, so the projection holds all that the expression can see.
    """
    out: dict[str, Any] = {}
    for key, child in node.children.items():
        if key in value:
            current = value[key]
            whole = child.read or child.probed or not isinstance(current, dict)
            out[key] = current if whole else _project(current, child)
        else:
            placeholder = _placeholder(child)
            if placeholder is not _SKIP:
                out[key] = placeholder
    return out


def _placeholder(node: _Node) -> Any:
    """What a missing key reads as: null, or a map when only deeper fields are read from it."""
    if node.probed:
        return _SKIP  # has() must keep seeing it as absent
    if node.read or not node.children:
        return None
    filled = {key: _placeholder(child) for key, child in node.children.items()}
    return {key: value for key, value in filled.items() if value is not _SKIP}


def _lookup(value: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


# -- keys ------------------------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    """Whole doubles become ints, so 1 and 1.0 share a key (both are float64 in Go)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.timedelta):
        return format_duration(value.total_seconds())
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot encode {type(value).__name__}")
