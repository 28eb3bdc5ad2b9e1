"""The weekly report as markdown: scores, what was proposed and why, what changed."""

from __future__ import annotations

import datetime
from typing import Any


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: float | None, fmt: str = ".2f") -> str:
    return "-" if value is None else format(value, fmt)


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def _day(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _trend(card: dict[str, Any]) -> str:
    delta = card.get("icir_trend")
    if delta is None:
        return ""
    return f" ({'+' if delta >= 0 else ''}{delta:.2f})"


def render(data: dict[str, Any]) -> str:
    window = data["window"]
    lines = [
        f"# Weekly review {data['id']}" + (" (dry run)" if data.get("dry_run") else ""),
        "",
        f"Window: {_day(window['since'])} → {_day(window['until'])} ({window['days']:g} days)",
        "",
        "## Skills",
        "",
        "| skill | v | runs | success | p50 | p95 | $/run | $/week | fallback | retry "
        "| false alarms | misses | quality | ICIR (trend) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in data["scorecards"]:
        icir = _num(c["icir"]) + _trend(c) if c["icir"] is not None else f"- ({c['icir_note']})"
        lines.append(
            f"| {c['skill_id']} | {c['version'] or '-'} | {c['runs']} | {_pct(c['success_rate'])} "
            f"| {_ms(c['p50_ms'])} | {_ms(c['p95_ms'])} | {_num(c['cost_per_run'], '.4f')} "
            f"| {_num(c['cost_per_week'], '.2f')} | {_pct(c['fallback_rate'])} "
            f"| {_pct(c['retry_rate'])} | {_pct(c['false_alarm_rate'])} "
            f"({c['labelled_alerts']} labelled) | {_pct(c['miss_rate'])} "
            f"| {_num(c['quality'])} | {icir} |"
        )
    if not data["scorecards"]:
        lines.append("| (no skill ran in the window) |||||||||||||")
    lines += ["", "## Picked for improvement", ""]
    for p in data["picks"]:
        lines.append(f"- **{p['skill_id']}** v{p['version']}: {'; '.join(p['rules'])}")
    if not data["picks"]:
        lines.append("- none: every skill is within the rules")
    lines += ["", "## Proposals", ""]
    for p in data["proposals"]:
        verdict = (p.get("backtest") or {}).get("verdict") or {}
        lines.append(
            f"- `{p['id']}` {p['skill_id']} ({p['path']}): **{p['state']}** — {p['reason']}"
        )
        bt = p.get("backtest") or {}
        if "current" in bt:
            cur, cand = bt["current"], bt["candidate"]
            lines.append(
                f"  - backtest: false alarms {cur['false_alarms']:g} → {cand['false_alarms']:g}, "
                f"precision {_num(cur['precision'])} → {_num(cand['precision'])}, "
                f"recall {_num(cur['recall'])} → {_num(cand['recall'])}, "
                f"new misses {bt['new_misses'] or 'none'}"
            )
        if verdict:
            lines.append(f"  - gate: {'pass' if verdict['ok'] else 'fail'} — {verdict['reason']}")
    if not data["proposals"]:
        lines.append("- none")
    lines += ["", "## Promoted, rolled back, dropped", ""]
    for a in data["actions"]:
        lines.append(f"- {a['skill_id']}: **{a['action']}** (`{a['proposal']}`) — {a['why']}")
    if not data["actions"]:
        lines.append("- nothing changed")
    if data["notes"]:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in data["notes"]]
    return "\n".join(lines) + "\n"
