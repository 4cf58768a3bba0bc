"""axe-core accessibility checks for Playwright pages (the npm package pinned in
package-lock.json, installed by `make test` with `npm ci`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

AXE_JS = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"


def axe_source() -> str:
    """The axe-core script; skips (fails in CI) when `npm ci` has not installed it."""
    if not AXE_JS.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("axe-core is required in CI (make test runs npm ci)")
        pytest.skip("axe-core not installed (npm ci)")
    return AXE_JS.read_text()


def violations(page) -> list[str]:
    """Every axe violation of any impact on the page, as 'rule-id: target' lines.

    The script is evaluated through the DevTools protocol, which a Content-Security-Policy
    without inline scripts does not block (an injected <script> tag would be).
    """
    page.evaluate(axe_source())
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => v.id + ' [' + v.impact + ']: '"
        " + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    return result
