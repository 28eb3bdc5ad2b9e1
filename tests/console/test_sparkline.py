"""The server-drawn ICIR chart: one point per week, gaps break the line, text is escaped."""

from __future__ import annotations

from console.sparkline import Point, sparkline


def test_points_and_gaps() -> None:
    svg = sparkline([Point("w1", 0.5), Point("w2", None), Point("w3", 1.5), Point("w4", 1.0)], "x")
    assert svg.count("<circle") == 3
    assert svg.count("<polyline") == 2  # the gap at w2 splits the line
    assert 'aria-label="x: w1: 0.50; w2: -; w3: 1.50; w4: 1.00"' in svg


def test_no_values_still_says_so() -> None:
    assert "no values yet" in sparkline([], "ICIR")
    assert "<polyline" not in sparkline([Point("w1", None)], "ICIR")


def test_labels_are_escaped() -> None:
    svg = sparkline([Point("<b>", 1.0)], "<script>alert(1)</script>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
