"""Browser tests' helpers: Debian's Chromium under Playwright, axe-core checks, screenshots.

Playwright's own browser download cannot work here: the tests drive ``/usr/bin/chromium``
(Debian package ``chromium``, installed by ``.ci/run``). axe-core comes from the npm registry
(``tests/browser/package.json``, ``npm ci --prefix tests/browser``) and is injected into each page.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE = Path(__file__).resolve().parents[1] / "browser" / "node_modules" / "axe-core" / "axe.min.js"
#: axe impacts that fail a page.
BLOCKING = ("serious", "critical")


def chromium_launch_args() -> dict[str, Any]:
    """Launch options for Debian's Chromium; fails (never skips) when it or axe-core is missing."""
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (as .ci/run does)",
                    pytrace=False)
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed at {AXE}: npm ci --prefix tests/browser "
                    "(as .ci/run does)", pytrace=False)
    return {"executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_FLAGS}


class Screens:
    """Saves a screenshot of each screen under the test's output dir and checks it with axe."""

    def __init__(self, page: Any, output: str) -> None:
        self.page = page
        self.dir = Path(output)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def check(self, name: str) -> list[dict[str, Any]]:
        """Screenshot ``name`` and assert axe finds no serious or critical violation."""
        self.count += 1
        self.page.screenshot(path=str(self.dir / f"{self.count:02d}-{name}.png"), full_page=True)
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.add_script_tag(path=str(AXE))
        result = self.page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        blocking = [v for v in result["violations"] if v.get("impact") in BLOCKING]
        summary = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                    "nodes": [n["target"] for n in v["nodes"][:5]]} for v in blocking]
        assert not blocking, f"axe on {name} ({self.page.url}):\n{json.dumps(summary, indent=1)}"
        return result["violations"]
