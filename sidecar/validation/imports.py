"""The import allowlist and the vetted wrapper modules skill code gets instead of real modules.

Skill code never holds a real module: ``re.enum.sys``, ``json.codecs.builtins`` and
``datetime.sys`` are public paths from the standard library to the OS. ``import json`` gives a
``VettedModule`` that holds only chosen functions, classes and constants, allowed by *full
dotted name* (``import json.decoder`` or ``inngest._internal.env_lib`` is not ``json``). The
wrappers also carry the run-time half of two policy rules: random draws only inside step
callbacks, and regular expressions without nested quantifiers (catastrophic backtracking).
The AST policy reads ``EXPORTS`` and ``NONDETERMINISTIC`` to report the same mistakes statically.
"""

from __future__ import annotations

import bisect
import collections
import datetime
import functools
import importlib
import itertools
import json
import math
import random
import re
import statistics
import time
import zoneinfo
from collections.abc import Callable
from typing import Any

from sidecar.facade.errors import ImportDenied, ModuleAttributeDenied, RegexRejected
from sidecar.facade.exposure import Exposed
from sidecar.facade.limits import MAX_REGEX_LENGTH
from sidecar.facade.scope import require_step

#: The stdlib's regex parser: private since 3.11 (``sre_parse`` is deprecated); only read here.
sre_parse: Any = importlib.import_module("re._parser")


class VettedModule(Exposed):
    """What ``import <name>`` gives skill code: exactly the listed members, nothing else."""

    __slots__ = ("_members", "_name")

    def __init__(self, name: str, members: dict[str, object]) -> None:
        self._name = name
        self._members = members

    def exposes(self, name: str) -> bool:
        return name in self._members

    def denial(self, name: str) -> ModuleAttributeDenied:
        return ModuleAttributeDenied(
            f"module {self._name!r} has no {name!r} in skills; it offers {sorted(self._members)}"
        )

    def __getattr__(self, name: str) -> object:
        # Reached by `from json import codecs` (the import machinery's own getattr).
        if name.startswith("__") or name not in self._members:
            raise self.denial(name)
        return self._members[name]

    def __repr__(self) -> str:
        return f"<vetted module {self._name!r}>"


# --- regular expressions ------------------------------------------------------------------

_REPEATS = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT}


def regex_problem(pattern: object) -> str | None:
    """Why a pattern is refused (too long, invalid, nested quantifier), or None."""
    if isinstance(pattern, re.Pattern):
        return None  # compiled through the wrapper, so already checked
    if not isinstance(pattern, str):
        return "patterns must be str"
    if len(pattern) > MAX_REGEX_LENGTH:
        return f"pattern longer than {MAX_REGEX_LENGTH} characters"
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as err:
        return f"invalid pattern: {err}"
    if _has_nested_repeat(parsed):
        return f"nested quantifier in {pattern!r} (exponential backtracking)"
    return None


def _has_nested_repeat(seq: Any) -> bool:
    """A repeat whose body repeats something and needs nothing else: (a+)+, (a*b?)*, (x{2,})+.

    A heuristic (``(\\.\\d+)*`` stays allowed: the literal dot separates iterations). What it
    misses, like overlapping alternatives ``(a|aa)+``, the dry run's CPU limit stops.
    """
    for op, av in seq:
        if op in _REPEATS:
            _low, high, body = av
            if high > 1 and _ambiguous_body(body):
                return True
            if _has_nested_repeat(body):
                return True
        elif (
            (op is sre_parse.SUBPATTERN and _has_nested_repeat(av[-1]))
            or (op is sre_parse.BRANCH and any(_has_nested_repeat(b) for b in av[1]))
            or (op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT) and _has_nested_repeat(av[1]))
        ):
            return True
    return False


def _ambiguous_body(body: Any) -> bool:
    items = list(body)
    while len(items) == 1 and items[0][0] is sre_parse.SUBPATTERN:
        body = items[0][1][-1]  # unwrap a group around the whole body: (?:...) or (...)
        items = list(body)
    for i, item in enumerate(items):
        if _repeats(item):
            others = sre_parse.SubPattern(body.state, items[:i] + items[i + 1 :])
            if others.getwidth()[0] == 0:
                return True
    return False


def _repeats(item: tuple[Any, Any]) -> bool:
    op, av = item
    if op in _REPEATS:
        return bool(av[1] > 1)
    if op is sre_parse.SUBPATTERN:
        return any(_repeats(x) for x in av[-1])
    if op is sre_parse.BRANCH:
        return any(_repeats(x) for branch in av[1] for x in branch)
    return False


def _checked(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(pattern: object, *args: Any, **kwargs: Any) -> Any:
        problem = regex_problem(pattern)
        if problem:
            raise RegexRejected(f"re.{fn.__name__}: {problem}")
        return fn(pattern, *args, **kwargs)

    wrapper.__name__ = fn.__name__
    return wrapper


# --- wrappers with a narrower signature or a step-only rule -------------------------------


def _json_dumps(
    obj: object,
    *,
    indent: int | None = None,
    sort_keys: bool = False,
    separators: tuple[str, str] | None = None,
    ensure_ascii: bool = True,
) -> str:
    # No cls= / default=: a custom encoder would run arbitrary hooks inside json.
    return json.dumps(
        obj, indent=indent, sort_keys=sort_keys, separators=separators, ensure_ascii=ensure_ascii
    )


def _json_loads(s: str | bytes) -> Any:
    # No object_hook= / cls=: decoding yields plain data only.
    return json.loads(s)


def _step_only(module: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        require_step(f"{module}.{fn.__name__}")
        return fn(*args, **kwargs)

    wrapper.__name__ = fn.__name__
    return wrapper


def _seeded_random(seed: int | float | str) -> random.Random:
    """``random.Random(seed)``: deterministic anywhere, so the seed is required."""
    return random.Random(seed)


_ZONE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$")


def _zone(key: str) -> zoneinfo.ZoneInfo:
    if not isinstance(key, str) or not _ZONE_KEY.match(key):
        raise zoneinfo.ZoneInfoNotFoundError(f"not a time zone key: {key!r}")
    return zoneinfo.ZoneInfo(key)


_RANDOM_FUNCTIONS = (
    "random", "randint", "randrange", "choice", "choices", "sample", "shuffle", "uniform",
    "gauss", "normalvariate", "expovariate", "triangular", "betavariate", "getrandbits",
)  # fmt: skip


def _members() -> dict[str, dict[str, object]]:
    public_math = {n: getattr(math, n) for n in dir(math) if not n.startswith("_")}
    return {
        "datetime": {
            "date": datetime.date, "datetime": datetime.datetime, "time": datetime.time,
            "timedelta": datetime.timedelta, "timezone": datetime.timezone,
            "UTC": datetime.UTC, "MINYEAR": datetime.MINYEAR,
            "MAXYEAR": datetime.MAXYEAR,
        },
        "json": {"dumps": _json_dumps, "loads": _json_loads, "JSONDecodeError": json.JSONDecodeError},
        "math": public_math,
        "statistics": {
            name: getattr(statistics, name)
            for name in (
                "mean", "fmean", "geometric_mean", "harmonic_mean", "median", "median_low",
                "median_high", "median_grouped", "mode", "multimode", "quantiles", "pstdev",
                "pvariance", "stdev", "variance", "correlation", "covariance",
                "linear_regression", "StatisticsError",
            )
        },
        "re": {
            **{fn.__name__: _checked(fn) for fn in (
                re.compile, re.search, re.match, re.fullmatch, re.findall, re.finditer,
                re.sub, re.subn, re.split,
            )},
            "escape": re.escape, "error": re.error,
            "IGNORECASE": re.IGNORECASE, "I": re.I, "MULTILINE": re.MULTILINE, "M": re.M,
            "DOTALL": re.DOTALL, "S": re.S, "ASCII": re.ASCII, "A": re.A,
        },
        "random": {
            **{n: _step_only("random", getattr(random, n)) for n in _RANDOM_FUNCTIONS},
            "Random": _seeded_random,
        },
        "collections": {
            "Counter": collections.Counter, "defaultdict": collections.defaultdict,
            "OrderedDict": collections.OrderedDict, "deque": collections.deque,
        },
        "itertools": {
            name: getattr(itertools, name)
            for name in (  # no count / cycle / repeat: every iterator a skill builds is finite
                "accumulate", "chain", "combinations", "combinations_with_replacement",
                "compress", "dropwhile", "filterfalse", "groupby", "islice", "pairwise",
                "permutations", "product", "starmap", "takewhile", "zip_longest",
            )
        },
        "functools": {"reduce": functools.reduce, "partial": functools.partial,
                      "cmp_to_key": functools.cmp_to_key},
        "bisect": {name: getattr(bisect, name) for name in (
            "bisect", "bisect_left", "bisect_right", "insort", "insort_left", "insort_right")},
        "zoneinfo": {"ZoneInfo": _zone, "ZoneInfoNotFoundError": zoneinfo.ZoneInfoNotFoundError},
    }  # fmt: skip


VETTED: dict[str, VettedModule] = {name: VettedModule(name, m) for name, m in _members().items()}


def _strftime(fmt: str, timetuple: time.struct_time) -> str:
    """Formats the given time; never reads the clock (the tuple is required)."""
    return time.strftime(fmt, timetuple)


_STRFTIME_ONLY = VettedModule("time", {"strftime": _strftime})
#: Module name → exported names, for the static policy.
EXPORTS: dict[str, frozenset[str]] = {
    name: frozenset(module._members) for name, module in VETTED.items()
}
ALLOWED_MODULES = frozenset(VETTED)
#: Dotted paths that read a clock or draw randomness: only inside step callbacks.
NONDETERMINISTIC = frozenset(
    {"datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today",
     "datetime.date.today"}
    | {f"random.{n}" for n in _RANDOM_FUNCTIONS}
)  # fmt: skip
#: Attributes of ``datetime.date`` (and subclasses) that read the clock, checked at run time.
CLOCK_ATTRIBUTES = frozenset({"now", "utcnow", "today"})
#: Functions whose first argument is a regex pattern.
REGEX_FUNCTIONS = frozenset(
    f"re.{n}" for n in ("compile", "search", "match", "fullmatch", "findall", "finditer", "sub",
                        "subn", "split")
)  # fmt: skip


def guarded_import(
    name: str,
    globals: object = None,
    locals: object = None,
    fromlist: object = (),
    level: int = 0,
) -> VettedModule:
    """The ``__import__`` skill code gets: vetted wrappers by full dotted name, nothing else."""
    if name == "time" and level == 0:
        # `datetime.strftime` is C code that imports `time` through this very hook to call
        # `time.strftime(format, timetuple)`; it gets a module with only that pure function.
        return _STRFTIME_ONLY
    if level != 0 or name not in VETTED:
        raise ImportDenied(f"import of {name!r} is not allowed; allowed: {sorted(VETTED)}")
    return VETTED[name]
