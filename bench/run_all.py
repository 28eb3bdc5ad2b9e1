"""Run every benchmark (``--quick`` by default) and print one summary table.

    python bench/run_all.py [--full] [--json] [--no-pin] [--only NAME ...] [--write-readme]

``--write-readme`` replaces the generated results block of bench/README.md (between the
``results:begin`` / ``results:end`` markers) with this run's table, stamped with the commit the
figures were measured at, the date, the machine and the load other processes put on it, so the
published figures always describe the code they sit beside.

Each script runs in its own process with ``--json``; its full table is printed as it finishes
(on stderr, progress included), then a summary of every row with a target. Exit status: 0 when
every script ran (missed targets included), 1 when any could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
SCRIPTS = (
    "step_overhead",
    "event_latency",
    "throughput",
    "step_index",
    "sleeping_memory",
    "durability",
    "history",
    "sdk_request_cost",
)
README = BENCH_DIR / "README.md"
# Every script's last result (its own commit, date and load), so that a run of some scripts
# (--only) updates their rows and keeps the others', each row saying when it was measured.
RESULTS = BENCH_DIR / "results.json"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def fmt(value: float | None, unit: str | None) -> str:
    if value is None:
        return ""
    if unit in ("steps/s", "calls/s", "B"):
        return f"{value:,.0f} {unit}"
    if unit == "MiB":
        return f"{value:,.1f} MiB"
    return f"{value:.3f} {unit or ''}".strip()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="full runs instead of --quick")
    p.add_argument("--json", action="store_true", help="print all results as one JSON array")
    p.add_argument("--no-pin", action="store_true", help="passed to every script")
    p.add_argument("--only", nargs="*", choices=SCRIPTS, help="run only these scripts")
    p.add_argument("--quiet-wait", default=None, help="passed to every script")
    p.add_argument("--write-readme", action="store_true",
                   help="write this run's figures into bench/README.md (stamped)")  # fmt: skip
    args = p.parse_args()

    results, failed = [], []
    started = time.monotonic()
    for name in args.only or SCRIPTS:
        cmd = [sys.executable, str(BENCH_DIR / f"{name}.py"), "--json"]
        if not args.full:
            cmd.append("--quick")
        if args.no_pin:
            cmd.append("--no-pin")
        if args.quiet_wait is not None:
            cmd += ["--quiet-wait", str(args.quiet_wait)]
        print(f"\n### {name} ({'full' if args.full else 'quick'})", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
        try:
            result = json.loads(proc.stdout)
        except ValueError:
            result = {
                "bench": name,
                "ok": False,
                "error": f"no JSON output (exit {proc.returncode})",
            }
        result["wall_s"] = time.monotonic() - t0
        results.append(result)
        if proc.returncode != 0 or not result.get("ok"):
            failed.append(name)
            print(f"{name}: could not run: {result.get('error')}", file=sys.stderr)
            continue
        for row in result["rows"]:
            print(
                f"  {row['metric']}: {fmt(row['figure'], row['unit'])}"
                + (f" (target {row['target']}: {'PASS' if row['passed'] else 'MISS'})"
                   if row["passed"] is not None else ""),
                file=sys.stderr,
            )  # fmt: skip

    if args.write_readme:
        write_readme(results, args.full)
        print(f"wrote the results block of {README}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2))
        return 1 if failed else 0

    header = ["benchmark", "metric", "figure", "baseline", "ratio", "target", "result"]
    rows = []
    for r in results:
        if not r.get("ok"):
            rows.append([r["bench"], "could not run", "", "", "", "", "ERROR"])
            continue
        for row in r["rows"]:
            if row["passed"] is None:
                continue
            rows.append([
                r["bench"], row["metric"], fmt(row["figure"], row["unit"]),
                fmt(row["baseline"], row["baseline_unit"] or row["unit"]),
                "" if row["ratio"] is None else f"{row['ratio']:.2f}x",
                row["target"], "PASS" if row["passed"] else "MISS",
            ])  # fmt: skip
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=False)]
    print(
        f"\nsummary ({'full' if args.full else 'quick'} runs, {time.monotonic() - started:.0f} s)"
    )
    for cells in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    other = [f"{r['bench']}: {100 * r['other_cpu']:.0f}%" for r in results if r.get("ok")]
    print("CPU used by other processes during each run: " + ", ".join(other))
    return 1 if failed else 0


def write_readme(results: list[dict[str, Any]], full: bool) -> None:
    """Merge these results into results.json and regenerate README.md's results block."""
    stored: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for r in results:
        if r.get("ok"):
            stored[r["bench"]] = {**r, "mode": "full" if full else "quick",
                                  "measured_at": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"}  # fmt: skip
    RESULTS.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
    ordered = [stored[name] for name in SCRIPTS if name in stored]
    first = ordered[0] if ordered else {}
    lines = [
        BEGIN,
        "<!-- generated by `python bench/run_all.py --write-readme` from bench/results.json -->",
        "",
        f"Machine: {first.get('machine', platform.node())}; placement: "
        f"{first.get('placement', '?')}. Each row says the commit it was measured at, when, "
        "quick or full, and the load: the share of all CPU time that processes outside the "
        "benchmark took while the script ran, and the 1-min load average at its end. The "
        "machine is shared with other developers' work (2 cores), so absolute figures move "
        "with that load; the ratios are measured against a baseline taken in the same run.",
        "",
        "| benchmark | metric | figure | baseline | ratio | target | result | measured at |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in ordered:
        stamp = (f"{r.get('engine', '?')}, {r['measured_at']}, {r['mode']}, other load "
                 f"{100 * r.get('other_cpu', 0):.0f}%, loadavg {r.get('loadavg', '?')}")  # fmt: skip
        for row in r["rows"]:
            ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}x"
            result = {True: "pass", False: "**miss**", None: "info"}[row["passed"]]
            lines.append(
                f"| {r['bench']} | {row['metric'].strip()} | {fmt(row['figure'], row['unit'])} | "
                f"{fmt(row['baseline'], row['baseline_unit'] or row['unit'])} | {ratio} | "
                f"{row['target']} | {result} | {stamp} |"
            )
    lines += ["", "Notes from the scripts:", ""]
    for r in ordered:
        lines += [f"- **{r['bench']}**: " + n for n in r.get("notes", [])]
    lines.append(END)
    text = README.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    README.write_text(head + "\n".join(lines) + tail)


if __name__ == "__main__":
    sys.exit(main())
