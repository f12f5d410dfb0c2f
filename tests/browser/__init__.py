"""Browser tests: real pages in Debian's Chromium, through Playwright."""

from __future__ import annotations

import time

from playwright.sync_api import Page


def wait_until(page: Page, expression: str, timeout: float = 10.0) -> None:
    """Wait until ``expression`` (JavaScript) is true in ``page``.

    Playwright's ``wait_for_function`` compiles the expression inside the page each time it
    polls, which the pages' Content Security Policy (no ``unsafe-eval``) refuses whenever
    the expression is not already true at the first look; ``evaluate`` is not refused.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        time.sleep(0.05)
