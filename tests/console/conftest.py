"""Browser fixtures: Debian's Chromium driven by Playwright (no browser download), headless;
a failing browser test leaves a screenshot in tests/console/.screenshots/ (gitignored)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("LOOPWRIGHT_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]  # fmt: skip
SHOTS = Path(__file__).parent / ".screenshots"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"


# Session scope: one browser for every console test. Playwright's sync API keeps an event loop
# running in the main thread while it is open, so tests/conftest.py runs the console tests last
# (a later test calling asyncio.run() would fail; reopening Playwright per module hangs).
@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's package (`apt-get install chromium`, "
            "as .ci/run does) or set LOOPWRIGHT_CHROMIUM"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when != "call" or not report.failed:
        return
    for name in ("page", "runs_tab"):
        page = getattr(item, "funcargs", {}).get(name)
        if page is None:
            continue
        SHOTS.mkdir(exist_ok=True)
        path = SHOTS / f"{item.name}-{name}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
            report.sections.append(("screenshot", str(path)))
        except Exception as err:  # the page may be gone with the failure
            report.sections.append(("screenshot", f"could not save: {err}"))
