"""Backtest speed: a week of a 5-minute classifier (~2,000 decisions) over 100 constant sets.

Target: <= 1 s for the whole search (issue 8). Baseline, measured in the same run: one replay
of the current constants over every decision (what a single candidate costs without the
search's shortcut). The search replays only decisions with a truth (people label alerts, not
every normal check), then the winner once over all of them.

    python bench/review_backtest.py [--decisions 2016] [--candidates 100] [--labelled 0.1] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from review.outcomes import Truth
from review.tuning import Classifier, search

SOURCE = (Path(__file__).resolve().parents[1] / "skills_core/skills/health_check.py").read_text()
TARGET_S = 1.0


def features(err: float, base: float) -> dict[str, dict[str, float | None]]:
    return {
        "rps": {"now": 50.0, "baseline": 50.0, "since": None},
        "error_rate": {"now": err, "baseline": base, "since": None},
        "p95": {"now": 0.21, "baseline": 0.2, "since": None},
        "p99": {"now": 0.41, "baseline": 0.4, "since": None},
        "cpu": {"now": 0.4, "baseline": 0.4, "since": None},
        "memory": {"now": 0.5, "baseline": 0.5, "since": None},
    }


def workload(n: int, labelled_share: float) -> tuple[list[SimpleNamespace], list[Truth | None]]:
    rng = random.Random(1)
    decisions, truths = [], []
    for i in range(n):
        roll = rng.random()
        if roll < 0.05:
            f, truth = features(rng.uniform(0.025, 0.035), 0.01), Truth(False, 1.0, f"fa{i}")
        elif roll < 0.06:
            f, truth = features(0.045, 0.008), Truth(True, 1.0, f"inc{i // 3}")
        else:
            f = features(rng.uniform(0.005, 0.015), 0.01)
            truth = Truth(False, 1.0, f"n{i}") if rng.random() < labelled_share else None
        decisions.append(SimpleNamespace(features=f, decided_by="rules", label="normal"))
        truths.append(truth)
    return decisions, truths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decisions", type=int, default=2016)
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument(
        "--labelled", type=float, default=0.1, help="share of normal checks labelled"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    classifier = Classifier(SOURCE, "health_check.py")
    decisions, truths = workload(args.decisions, args.labelled)
    for d, label in zip(decisions, classifier.labels(decisions), strict=True):
        d.label = label
    start = time.perf_counter()
    classifier.labels(decisions)
    baseline = time.perf_counter() - start
    start = time.perf_counter()
    result = search(classifier, decisions, truths, limit=args.candidates)
    elapsed = time.perf_counter() - start
    judged = sum(t is not None for t in truths)
    out = {
        "decisions": len(decisions),
        "with_truth": judged,
        "candidates": result.tried if result else args.candidates,
        "search_s": round(elapsed, 4),
        "one_full_replay_s": round(baseline, 4),
        "ratio_search_to_one_replay": round(elapsed / baseline, 2),
        "target_s": TARGET_S,
        "ratio_to_target": round(elapsed / TARGET_S, 3),
        "best": result.changes if result else None,
        "false_alarms": [
            result.comparison.current.false_alarms,
            result.comparison.candidate.false_alarms,
        ]
        if result
        else None,
    }
    if args.json:
        print(json.dumps(out))
        return
    print(
        f"backtest: {out['decisions']} decisions ({judged} with a truth) x {out['candidates']} constant sets"
    )
    print(
        f"  search            {elapsed * 1000:8.1f} ms   target {TARGET_S * 1000:.0f} ms   ratio {out['ratio_to_target']}"
    )
    print(
        f"  one full replay   {baseline * 1000:8.1f} ms   (baseline; search = {out['ratio_search_to_one_replay']}x it)"
    )
    print(f"  best: {out['best']}  false alarms {out['false_alarms']}")


if __name__ == "__main__":
    main()
