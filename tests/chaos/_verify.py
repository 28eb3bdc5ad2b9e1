"""The checks, as pure functions over what the test collected. Each finding is a sentence in
`Report.violations`; the figures for the summary line go to `Report.figures`.

How a re-execution is told apart from a lost result (the core of the test):

- Every execution of a step's code is journaled with a fresh nonce, which is also the step's
  return value. The value the engine saved (`GET /v1/runs/{id}/steps`) therefore names the one
  execution it *kept*. For the flaky step, the last failing execution is kept as well (its retry
  was saved: after it the attempt moved on). Every other execution is *lost*: its result was
  never saved.
- An execution belongs to the engine life (process) that sent its call, named by the boot id
  the engine puts on every call (`x-loopwright-engine-boot`; each life's id is read from
  `GET /v1/stats`). Arrival times are not used for that: a call written by a life just before
  its kill can reach the app after the next life started (figure `late_by_arrival`).
- A lost execution is legal only if its life was then killed: the kill undid the call before
  its result was committed. Hence, for each step: (1) two executions of the same kind (success or
  failure) must belong to different lives, i.e. a kill lies between them; (2) the kept execution
  is the last one: nothing ran after the execution whose result was saved; (3) per kill, the
  lost executions of the killed life are at most the number of `call` items that were due and
  still in the queue at the kill (read from a copy of the database; `_kills.py`) and that the
  SDK had received from that life. That is the sound bound: each such call ran at most one step.
- An app kill (`_sdk_process.py`) cuts the calls that app process had open: their steps may have
  run, but no answer left, so the engine sends those calls again (in the same engine life). Such
  an execution (its call has no end in the call log, and its app life was killed) is lost
  legally; per app kill they are at most the calls it had open, each of which ran at most one
  step. It is not charged to the engine life.
- Independently of that bookkeeping, three observations catch a step that runs again after its
  result was saved: (a) the *order* of steps: a later step only runs once the earlier one's
  result is saved, so no execution of an earlier step may start after any execution of a later
  one (this covers every run and every step, with no sampling gap); (b) the *chain*: each step
  receives the values of the steps before it, and what it received must be what was finally
  saved (a saved value never changes); (c) the *sampler*: once `GET /v1/runs/{id}/steps` has
  shown a step as saved, no execution of that step may start later, and the value never changes.

All times come from one clock (`time.time()` in this process; the engine runs on the same host).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from ._app import ORDER, PAR_STEPS, SCENARIOS, SEQ_STEPS, SLEEP_S, STEPS, Call, Execution, slug
from ._engine import Life
from ._kills import Kill, next_minute, tick_id
from ._sdk_process import AppLife
from ._traffic import Seen, Sent

MAX_LISTED = 25  # violations listed per kind in the failure message


@dataclasses.dataclass
class Evidence:
    lives: list[Life]
    kills: list[Kill]
    events: list[Sent]
    releases: dict[str, Sent]  # waiter run id -> its release
    event_runs: dict[str, list[dict[str, Any]]]  # internal id -> runs (after the drain)
    event_found: dict[str, bool]  # GET /v1/events/{id} answered 200
    runs: dict[str, dict[str, Any]]  # every run of the app, by id
    steps: dict[str, list[dict[str, Any]]]  # run id -> its steps
    executions: list[Execution]
    calls: list[Call]
    app_lives: list[AppLife]
    seen: dict[tuple[str, str], Seen]
    changed: list[tuple[Seen, Any]]
    synced_at: float
    finished_at: float


@dataclasses.dataclass
class Report:
    violations: dict[str, list[str]] = dataclasses.field(default_factory=lambda: defaultdict(list))
    figures: dict[str, Any] = dataclasses.field(default_factory=dict)

    def fail(self, kind: str, message: str) -> None:
        self.violations[kind].append(message)

    def count(self, *kinds: str) -> int:
        return sum(len(self.violations.get(kind, [])) for kind in kinds)

    @property
    def ok(self) -> bool:
        return not any(self.violations.values())

    def describe(self) -> str:
        lines = []
        for kind, found in self.violations.items():
            if found:
                lines.append(f"{kind}: {len(found)}")
                lines += [f"  - {m}" for m in found[:MAX_LISTED]]
        return "\n".join(lines)


def verify(ev: Evidence) -> Report:
    rep = Report()
    fn_of = {run_id: run["function_slug"].removeprefix("chaos-") for run_id, run in ev.runs.items()}
    check_events(ev, rep)
    check_run_sets(ev, rep, fn_of)
    values = {run_id: saved_values(steps) for run_id, steps in ev.steps.items()}
    check_outputs(ev, rep, fn_of, values)
    check_executions(ev, rep, fn_of, values)
    check_cron(ev, rep)
    check_coverage(ev, rep)
    return rep


def saved_values(steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        s["name"]: s["output"] for s in steps if s["kind"] == "run" and s["status"] == "Completed"
    }


def expected_fns(sent: Sent) -> list[str]:
    return sorted(slug(fn) for fn in SCENARIOS[sent.name.removeprefix("chaos/")])


# -- events ------------------------------------------------------------------------------------


def check_events(ev: Evidence, rep: Report) -> None:
    for sent in ev.events:
        if sent.tries == 0:
            rep.fail("event never sent", sent.data["key"])
            continue
        runs = ev.event_runs.get(sent.internal_id, [])
        got = sorted(run["function_slug"] for run in runs)
        want = expected_fns(sent)
        if sent.acked:
            if sent.returned_id != sent.internal_id:
                rep.fail("seeded id not honoured",
                         f"{sent.data['key']}: engine said {sent.returned_id}, seed gives "
                         f"{sent.internal_id}")  # fmt: skip
            if not ev.event_found.get(sent.internal_id):
                rep.fail("acknowledged event lost", f"{sent.data['key']} ({sent.internal_id})")
            if got != want:
                kind = "run lost" if len(got) < len(want) else "run duplicated"
                rep.fail(kind, f"event {sent.data['key']} ({sent.internal_id}): runs {got}, "
                               f"expected {want}")  # fmt: skip
        elif not sent.abandoned:
            rep.fail("event never acknowledged", f"{sent.data['key']}: {sent.errors[-5:]}")
        elif got and got != want:
            rep.fail("run duplicated", f"abandoned event {sent.data['key']}: runs {got}")
    acked = [s for s in [*ev.events, *ev.releases.values()] if s.acked_at is not None]
    for kill in ev.kills:
        for sent in acked:
            assert sent.acked_at is not None
            if sent.acked_at < kill.at and sent.internal_id not in kill.stored_events:
                rep.fail("acknowledged event lost",
                         f"{sent.name} {sent.data['key']} acked at {sent.acked_at:.3f} is not in "
                         f"the database at kill {kill.index} ({kill.at:.3f})")  # fmt: skip
    lost_ids = {s.internal_id for s in acked if not ev.event_found.get(s.internal_id, True)}
    lost_ids |= {s.internal_id for s in acked for k in ev.kills
                 if s.acked_at is not None and s.acked_at < k.at
                 and s.internal_id not in k.stored_events}  # fmt: skip
    rep.figures["lost_events"] = len(lost_ids)
    rep.figures["resent_already_stored"] = sum(
        any(s.internal_id in k.stored_events and k.at < (s.acked_at or 0) for k in ev.kills)
        for s in ev.events
        if s.tries > 1 and s.acked
    )
    abandoned = [s for s in ev.events if s.abandoned]
    rep.figures.update(
        events=len(ev.events),
        acked=sum(s.acked for s in ev.events),
        resent=sum(s.acked and s.tries > 1 for s in ev.events),
        echoed=sum(s.echoed for s in ev.events),
        abandoned=len(abandoned),
        abandoned_stored=sum(bool(ev.event_runs.get(s.internal_id)) for s in abandoned),
        releases=len(ev.releases),
    )


def check_run_sets(ev: Evidence, rep: Report, fn_of: dict[str, str]) -> None:
    """One run per event per function; no run from nowhere; every run Completed."""
    from_events = {run["run_id"] for runs in ev.event_runs.values() for run in runs}
    parents = [r for r in ev.runs.values() if fn_of[r["run_id"]] == "parent"]
    children = [r for r in ev.runs.values() if fn_of[r["run_id"]] == "child"]
    call_hash = hashlib.sha1(b"call").hexdigest()
    by_correlation = Counter(c["correlation_id"] for c in children)
    for parent in parents:
        n = by_correlation.get(f"{parent['run_id']}.{call_hash}", 0)
        if n != 1:
            rep.fail("run lost" if n == 0 else "run duplicated",
                     f"parent {parent['run_id']} has {n} child runs")  # fmt: skip
    if len(children) != len(parents):
        rep.fail("run duplicated", f"{len(children)} child runs for {len(parents)} parents")
    for run_id, run in ev.runs.items():
        fn = fn_of[run_id]
        if fn not in ("child", "tick") and run_id not in from_events:
            rep.fail("run from nowhere", f"{fn} run {run_id} (event {run['event_id']})")
        if run["status"] != "Completed":
            kind = "run stuck" if run["status"] == "Running" else "run not completed"
            rep.fail(kind, f"{fn} run {run_id}: {run['status']} {str(run['output'])[:300]}")
    rep.figures["runs"] = len(ev.runs)
    rep.figures["runs_by_function"] = dict(sorted(Counter(fn_of.values()).items()))


# -- outputs -----------------------------------------------------------------------------------


def check_outputs(
    ev: Evidence, rep: Report, fn_of: dict[str, str], values: dict[str, dict[str, Any]]
) -> None:
    key_of = {s.internal_id: s.data["key"] for s in ev.events}
    call_hash = hashlib.sha1(b"call").hexdigest()
    child_of = {
        r["correlation_id"].split(".")[0]: r
        for r in ev.runs.values()
        if fn_of[r["run_id"]] == "child"
    }
    for run_id, run in ev.runs.items():
        fn, v, out = fn_of[run_id], values.get(run_id, {}), run["output"]
        if run["status"] != "Completed":
            continue
        missing = [s for s in STEPS[fn] if s not in v]
        if missing:
            rep.fail("step result missing", f"{fn} run {run_id}: no saved result for {missing}")
            continue
        key = key_of.get(run["event_id"])
        if fn == "child":
            parent = ev.runs.get((run.get("correlation_id") or ".").split(".")[0])
            key = key_of.get(parent["event_id"]) if parent else None
        want: Any
        if fn == "seq":
            want = {"key": key, "nonces": [v[f"s{i}"] for i in range(SEQ_STEPS)]}
        elif fn == "par":
            want = {"key": key, "par": [v[f"p{i}"] for i in range(PAR_STEPS)], "after": v["after"]}
        elif fn == "sleepy":
            want = {"key": key, "before": v["before"], "after": v["after"]}
        elif fn == "waiter":
            want = {"key": key, "pre": v["pre"], "released": key, "post": v["post"]}
        elif fn == "flaky":
            want = {"key": key, "prep": v["prep"], "once": v["once"]}
        elif fn == "parent":
            child = child_of.get(run_id)
            want = {"key": key, "a": v["a"], "child": child and child["output"], "b": v["b"]}
            if child is not None and child["correlation_id"] != f"{run_id}.{call_hash}":
                rep.fail("wrong output", f"child {child['run_id']} correlation")
        elif fn == "child":
            want = {"key": key, "nonces": [v["c0"], v["c1"]]}
        else:
            want = {"tick": out.get("tick") if isinstance(out, dict) else None, "t0": v["t0"]}
        if out != want:
            rep.fail("wrong output", f"{fn} run {run_id}: {out} != {want}")
        other = {"sleepy": ("nap", "sleep"), "waiter": ("gate", "wait_for_event"),
                 "parent": ("call", "invoke")}.get(fn)  # fmt: skip
        if other is not None:
            rows = [s for s in ev.steps.get(run_id, []) if s["name"] == other[0]]
            if len(rows) != 1 or rows[0]["kind"] != other[1] or rows[0]["status"] != "Completed":
                rep.fail("step not resumed", f"{fn} run {run_id}: {other[0]} is {rows}")


# -- executions --------------------------------------------------------------------------------


def check_executions(
    ev: Evidence, rep: Report, fn_of: dict[str, str], values: dict[str, dict[str, Any]]
) -> None:
    life_of = life_index(ev)
    killed = {life.index for life in ev.lives if life.killed is not None}
    cut = cut_by_app_kill(ev)
    by_step: dict[tuple[str, str], list[Execution]] = defaultdict(list)
    for ex in ev.executions:
        by_step[(ex.run_id, ex.step)].append(ex)
        if ex.call_arrived is None or life_of(ex) < 0:
            rep.fail("harness error",
                     f"execution of {ex.step} in run {ex.run_id} has no call from a known engine "
                     f"life (boot {ex.boot!r})")  # fmt: skip
    for group in by_step.values():
        group.sort(key=lambda e: e.started)
    for run_id in sorted({run_id for run_id, _ in by_step} - set(ev.runs)):
        rep.fail("run lost", f"steps executed for run {run_id}, which the engine does not know")

    lost_by_life: Counter[int] = Counter()
    lost_by_app: Counter[int] = Counter()
    for (run_id, step), group in by_step.items():
        fn = fn_of.get(run_id)
        if fn is None:
            continue
        where = f"{fn} run {run_id} step {step}"
        if step not in STEPS[fn]:
            rep.fail("unexpected step", where)
            continue
        saved = values.get(run_id, {}).get(step)
        for e in check_step(rep, where, group, saved, life_of, cut, flaky=step == "once"):
            if cut(e):
                lost_by_app[e.app_life] += 1
                continue
            lost_by_life[life_of(e)] += 1
            if life_of(e) not in killed:
                rep.fail("step re-run with no kill in between",
                         f"{where}: a lost execution at {e.started:.3f} in life "
                         f"{life_of(e)}, which was never killed")  # fmt: skip
        check_chain(rep, fn, step, group, values.get(run_id, {}), where)
        check_sampled(rep, ev.seen.get((run_id, step)), group, saved, where)
    for first, later in ev.changed:
        rep.fail(
            "saved value changed", f"{first.run_id} {first.step}: {first.output!r} -> {later!r}"
        )
    check_order(ev, rep, fn_of, by_step)
    check_bound(ev, rep, lost_by_life, life_of)
    check_app_bound(ev, rep, lost_by_app)
    arrival = life_by_arrival(ev)
    rep.figures.update(
        late_by_arrival=sum(arrival(e.call_arrived) != life_of(e) for e in ev.executions),
        step_executions=len(ev.executions),
        failed_executions=sum(e.nonce is None for e in ev.executions),
        duplicates=sum(lost_by_life.values()) + sum(lost_by_app.values()),
        sampled=len(ev.seen),
    )


def life_index(ev: Evidence) -> Callable[[Execution | Call], int]:
    """The engine life that sent a call (or the call an execution ran in); -1 if unknown."""
    by_boot = {life.boot: life.index for life in ev.lives}
    return lambda x: by_boot.get(x.boot, -1)


def life_by_arrival(ev: Evidence) -> Callable[[float | None], int]:
    """The last life spawned before `t`: how executions were attributed before boot ids. Only
    the figure `late_by_arrival` uses it, to count where the two disagree."""
    return lambda t: max((life.index for life in ev.lives if life.spawned <= (t or 0)), default=0)


def cut_by_app_kill(ev: Evidence) -> Callable[[Execution], bool]:
    """True for an execution whose call was still open when its app process was killed: its
    answer never left, so the engine sends the call again (a legal re-run, as after an engine
    kill)."""
    open_at_kill = {(c.app_life, c.seq) for c in ev.calls if c.ended is None}
    killed = {life.index for life in ev.app_lives if life.killed is not None}
    return lambda e: e.app_life in killed and (e.app_life, e.call_seq) in open_at_kill


def check_step(
    rep: Report, where: str, group: list[Execution], saved: Any, life_of: Any,
    cut: Callable[[Execution], bool], *, flaky: bool,
) -> list[Execution]:  # fmt: skip
    """The executions of one step (by start time) against its saved value; returns the lost ones."""
    successes = [e for e in group if e.nonce is not None]
    failures = [e for e in group if e.nonce is None]
    kept = [e for e in successes if e.nonce == saved]
    if len(kept) != 1:
        rep.fail("saved value from no execution",
                 f"{where}: saved {saved!r}, executions {[e.nonce for e in successes]}")  # fmt: skip
        return []
    if successes[-1] is not kept[0] or (failures and failures[-1].started > kept[0].started):
        rep.fail("step re-run after its result was saved",
                 f"{where}: executions at {_times(group)}, the saved one at "
                 f"{kept[0].started:.3f}")  # fmt: skip
    for same_kind in (successes, failures):
        for x, y in itertools.pairwise(same_kind):
            if life_of(x) >= life_of(y) and not cut(x):
                rep.fail("step re-run with no kill in between",
                         f"{where}: executions at {x.started:.3f} and {y.started:.3f}, in "
                         f"engine lives {life_of(x)} and {life_of(y)}")  # fmt: skip
    if flaky:
        if not failures or kept[0].attempt < 1 or any(f.attempt != 0 for f in failures):
            rep.fail("retry not honoured",
                     f"{where}: attempts {[(e.attempt, e.nonce) for e in group]}")  # fmt: skip
    elif failures:
        rep.fail("unexpected failure", where)
    return [e for e in successes if e is not kept[0]] + failures[:-1]


def check_sampled(
    rep: Report, seen: Seen | None, group: list[Execution], saved: Any, where: str
) -> None:
    """Once the API showed the step saved, it never runs again and its value never changes."""
    if seen is None:
        return
    late = [e for e in group if e.started > seen.at]
    if late:
        rep.fail("step re-run after its result was saved",
                 f"{where}: seen saved at {seen.at:.3f}, executed again at {_times(late)}")  # fmt: skip
    if seen.output != saved:
        rep.fail("saved value changed", f"{where}: seen {seen.output!r}, finally {saved!r}")


def check_chain(
    rep: Report, fn: str, step: str, group: list[Execution], v: dict[str, Any], where: str
) -> None:
    """Each execution got the values of the steps before it; they must be the saved ones."""
    names: list[str]
    if fn == "seq":
        names = [f"s{i}" for i in range(int(step[1:]))]
    elif fn == "par" and step == "after":
        names = [f"p{i}" for i in range(PAR_STEPS)]
    else:
        names = {("sleepy", "after"): ["before"], ("waiter", "post"): ["pre"],
                 ("flaky", "once"): ["prep"], ("parent", "b"): ["a"],
                 ("child", "c1"): ["c0"]}.get((fn, step), [])  # fmt: skip
    want = tuple(v.get(n) for n in names)
    for e in group:
        if e.seen != want:
            rep.fail("saved value changed",
                     f"{where}: an execution at {e.started:.3f} was given {e.seen}, but the "
                     f"saved values are {want}")  # fmt: skip


def check_order(
    ev: Evidence,
    rep: Report,
    fn_of: dict[str, str],
    by_step: dict[tuple[str, str], list[Execution]],
) -> None:
    """An earlier step never executes after a later one has (the later needs its saved result)."""
    pairs: list[tuple[tuple[str, str], tuple[str, str]]] = []
    for run_id, run in ev.runs.items():
        fn = fn_of[run_id]
        pairs += [((run_id, a), (run_id, b)) for a, b in ORDER[fn]]
        if fn == "child":
            parent = (run.get("correlation_id") or ".").split(".")[0]
            pairs += [((parent, "a"), (run_id, "c0")), ((run_id, "c1"), (parent, "b"))]
    for first, then in pairs:
        a, b = by_step.get(first, []), by_step.get(then, [])
        if a and b and max(e.started for e in a) >= min(e.started for e in b):
            rep.fail("step re-run after its result was saved",
                     f"run {first[0]}: {first[1]} executed at {_times(a)} but {then[1]} (run "
                     f"{then[0]}) already at {_times(b)}")  # fmt: skip
    sleep_checks(ev, rep, fn_of, by_step)


def sleep_checks(
    ev: Evidence,
    rep: Report,
    fn_of: dict[str, str],
    by_step: dict[tuple[str, str], list[Execution]],
) -> None:
    """`after` may run only once the sleep is over; `post` only once the release was sent."""
    for run_id in ev.runs:
        fn = fn_of[run_id]
        if fn == "sleepy":
            before, after = by_step.get((run_id, "before"), []), by_step.get((run_id, "after"), [])
            if (
                before
                and after
                and min(e.started for e in after)
                < (max(e.started for e in before) + SLEEP_S - 0.01)
            ):
                rep.fail("sleep cut short",
                         f"run {run_id}: before at {_times(before)}, after at {_times(after)}")  # fmt: skip
        elif fn == "waiter":
            release = ev.releases.get(run_id)
            post = by_step.get((run_id, "post"), [])
            if release is None or release.first_try is None:
                rep.fail("wait resolved without its event", f"run {run_id}: no release was sent")
            elif post and min(e.started for e in post) < release.first_try:
                rep.fail("wait resolved without its event",
                         f"run {run_id}: post ran at {_times(post)}, release sent at "
                         f"{release.first_try:.3f}")  # fmt: skip


def check_bound(ev: Evidence, rep: Report, lost_by_life: Counter[int], life_of: Any) -> None:
    """Lost executions of a killed life <= its due call items that the SDK had received."""
    received: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for call in ev.calls:
        received[life_of(call)].add((call.run_id, call.step_id))
    total_bound = 0
    open_at_kill = []
    for kill in ev.kills:
        bound = sum((run, step) in received[kill.life] for run, step in kill.due_calls)
        total_bound += bound
        open_at_kill.append(
            sum(c.arrived <= kill.at and (c.ended is None or c.ended > kill.at) for c in ev.calls)
        )
        if lost_by_life[kill.life] > bound:
            rep.fail("more re-runs than calls in flight",
                     f"kill {kill.index}: {lost_by_life[kill.life]} lost executions in life "
                     f"{kill.life}, but only {bound} calls were in flight")  # fmt: skip
    spawned = {life.index: life.spawned for life in ev.lives}
    gaps = [(k.at, spawned.get(k.life + 1, k.restarted)) for k in ev.kills]
    late = sum(any(dead < c.arrived < next_spawn for dead, next_spawn in gaps) for c in ev.calls)
    rep.figures.update(
        late_calls=late,
        dup_bound=total_bound,
        calls=len(ev.calls),
        max_open_calls_at_kill=max(open_at_kill, default=0),
        lost_by_kill=[lost_by_life[k.life] for k in ev.kills],
    )


def check_app_bound(ev: Evidence, rep: Report, lost_by_app: Counter[int]) -> None:
    """Executions lost to an app kill <= the calls that app process had open when it died (each
    call runs at most one step); an app life that was never killed loses none."""
    open_calls = Counter(c.app_life for c in ev.calls if c.ended is None)
    for life in ev.app_lives:
        if life.killed is None:
            open_calls[life.index] = 0  # still running at the end: every call of it ended
        if lost_by_app[life.index] > open_calls[life.index]:
            rep.fail("more re-runs than calls in flight",
                     f"app life {life.index}: {lost_by_app[life.index]} executions lost to its "
                     f"kill, but only {open_calls[life.index]} calls were open")  # fmt: skip
    rep.figures.update(
        app_kills=sum(life.killed is not None for life in ev.app_lives),
        lost_by_app_kill=[lost_by_app[life.index] for life in ev.app_lives if life.killed],
        app_dup_bound=sum(open_calls[life.index] for life in ev.app_lives if life.killed),
    )


# -- crons -------------------------------------------------------------------------------------


def check_cron(ev: Evidence, rep: Report) -> None:
    ticks = Counter(
        run["output"]["tick"]
        for run in ev.runs.values()
        if run["function_slug"] == slug("tick") and isinstance(run["output"], dict)
    )
    downtime = [t for kill in ev.kills for t in kill.tick_downtime]
    expected = list(downtime)
    boundary = next_minute(ev.synced_at)
    while boundary <= ev.finished_at - 3:
        expected.append(tick_id(boundary))
        boundary += 60
    expected = sorted(set(expected))
    for tick in expected:
        if ticks.get(tick, 0) != 1:
            rep.fail("cron tick lost" if not ticks.get(tick) else "cron tick duplicated",
                     f"tick {tick}: {ticks.get(tick, 0)} runs")  # fmt: skip
    for tick, n in ticks.items():
        if n > 1 and tick not in expected:
            rep.fail("cron tick duplicated", f"tick {tick}: {n} runs")
    if not expected:
        rep.fail("cron not exercised", "no minute boundary passed during the test")
    if not downtime:
        rep.fail("cron not exercised", "no cron tick fell due while the engine was dead")
    rep.figures.update(cron_ticks=len(expected), cron_ticks_while_dead=len(downtime))


def check_coverage(ev: Evidence, rep: Report) -> None:
    """Each kind of pending work must have been caught by at least one kill."""
    pending = {
        "sleeps": sum(k.sleeps for k in ev.kills),
        "waits": sum(k.waits for k in ev.kills),
        "invokes": sum(k.invokes for k in ev.kills),
        "retries": sum(k.retries for k in ev.kills),
        "calls": sum(len(k.due_calls) for k in ev.kills),
    }
    for kind, n in pending.items():
        if n == 0:
            rep.fail("chaos too gentle", f"no kill caught {kind} pending; raise CHAOS_KILLS")
    rep.figures.update(kills=len(ev.kills), pending_at_kills=pending)


def _times(group: list[Execution]) -> str:
    return "[" + ", ".join(f"{e.started:.3f}" for e in group) + "]"
