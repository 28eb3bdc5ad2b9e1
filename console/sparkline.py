"""A small line chart drawn on the server as SVG: no script, so it renders with the page and
under the console's strict Content-Security-Policy. Gaps (None) break the line."""

from __future__ import annotations

import dataclasses

from markupsafe import Markup, escape


@dataclasses.dataclass(frozen=True)
class Point:
    label: str  # the x value as people read it (a week)
    value: float | None


def sparkline(points: list[Point], title: str, width: int = 220, height: int = 48) -> Markup:
    """An accessible inline SVG: its title names the values, so a screen reader reads them."""
    known = [p.value for p in points if p.value is not None]
    spoken = "; ".join(f"{p.label}: {'-' if p.value is None else f'{p.value:.2f}'}" for p in points)
    label = escape(f"{title}: {spoken}" if points else f"{title}: no values yet")
    if not known:
        return Markup(
            f'<svg class="spark" role="img" width="{width}" height="{height}" aria-label="{label}">'
            f"<title>{label}</title></svg>"
        )
    low, high = min([*known, 0.0]), max([*known, 0.0])
    span = (high - low) or 1.0
    pad = 4
    step = (width - 2 * pad) / max(1, len(points) - 1)

    def y(v: float) -> float:
        return pad + (high - v) / span * (height - 2 * pad)

    runs: list[list[str]] = [[]]
    dots = []
    for i, p in enumerate(points):
        if p.value is None:
            runs.append([])
            continue
        x = pad + i * step
        runs[-1].append(f"{x:.1f},{y(p.value):.1f}")
        dots.append(f'<circle cx="{x:.1f}" cy="{y(p.value):.1f}" r="2.5"/>')
    lines = "".join(f'<polyline points="{" ".join(r)}"/>' for r in runs if r)
    zero = f'<line class="zero" x1="0" x2="{width}" y1="{y(0.0):.1f}" y2="{y(0.0):.1f}"/>'
    return Markup(
        f'<svg class="spark" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{label}"><title>{label}</title>'
        f"{zero}{lines}{''.join(dots)}</svg>"
    )
