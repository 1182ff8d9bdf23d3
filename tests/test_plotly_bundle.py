"""The Plotly the pages load: npm's cartesian bundle where it is installed (a third of the full one),
else the full bundle from the Python package; either way it holds every trace type the pages draw."""

import json
import os
import re
from pathlib import Path

import plotly
import pytest

from blockscope.api.web import PLOTLY, PLOTLY_FULL_JS, PLOTLY_PARTIAL, STATIC, plotly_bundle

ROOT = Path(__file__).resolve().parents[1]
INSTALLED = ROOT / "node_modules" / PLOTLY_PARTIAL / "plotly-cartesian.min.js"
TRACE = re.compile(r'moduleType:"trace",name:"(\w+)"')  # how a bundle registers a trace module


def trace_types(bundle: Path) -> set[str]:
    return set(TRACE.findall(bundle.read_text()))


def traces_the_pages_draw() -> set[str]:
    """Every `type: "..."` in static/js that names a Plotly trace type, and scatter (a trace's default)."""
    every = trace_types(PLOTLY_FULL_JS)
    named = set()
    for path in (STATIC / "js").glob("*.js"):
        named |= {t for t in re.findall(r'\btype:\s*"(\w+)"', path.read_text()) if t in every}
    return named | {"scatter"}


def test_the_pages_draw_bars_lines_and_heatmaps():
    # the explorer, /guidelines and /quantization; the network pages draw no chart
    assert traces_the_pages_draw() == {"bar", "scatter", "heatmap"}


def test_the_served_bundle_holds_every_trace_type_the_pages_draw(client):
    served = client.get(PLOTLY.url)
    assert served.status_code == 200 and "immutable" in served.headers["cache-control"]
    assert served.content == PLOTLY.path.read_bytes()
    assert traces_the_pages_draw() <= trace_types(PLOTLY.path)


def test_the_partial_bundle_is_served_when_npm_installed_it(client):
    if not INSTALLED.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{PLOTLY_PARTIAL} is not installed: scripts/setup.sh runs npm ci")
        pytest.skip(f"{PLOTLY_PARTIAL} is not installed (npm ci)")
    assert PLOTLY.partial and PLOTLY.path == INSTALLED.resolve()
    assert PLOTLY.url.startswith("/vendor/plotly-cartesian-")
    assert client.get(PLOTLY.url).content == INSTALLED.read_bytes()
    assert len(trace_types(INSTALLED)) < len(trace_types(PLOTLY_FULL_JS)) / 2
    assert INSTALLED.stat().st_size < PLOTLY_FULL_JS.stat().st_size / 2
    # the unversioned URL stays the full bundle, for pages outside BlockScope that need any trace
    assert client.get("/vendor/plotly.min.js").content == PLOTLY_FULL_JS.read_bytes()


def test_npm_pins_the_plotly_js_the_python_package_ships():
    """The two bundles are one plotly.js release, so a chart draws the same whichever is served."""
    lock = json.loads((ROOT / "package-lock.json").read_text())
    pinned = lock["packages"][f"node_modules/{PLOTLY_PARTIAL}"]["version"]
    shipped = re.search(r"plotly\.js v(\S+)", PLOTLY_FULL_JS.read_text()[:200]).group(1)
    assert pinned == shipped, (f"package.json pins {PLOTLY_PARTIAL} {pinned}; "
                               f"plotly {plotly.__version__} ships plotly.js {shipped}")
    assert json.loads((ROOT / "package.json").read_text())["dependencies"][PLOTLY_PARTIAL] == pinned


def test_without_npm_the_full_bundle_from_the_python_package(tmp_path):
    assert plotly_bundle(places=()) == plotly_bundle(places=(tmp_path,))
    full = plotly_bundle(places=(tmp_path,))
    assert not full.partial and full.path == PLOTLY_FULL_JS
    assert full.url == f"/vendor/plotly-{plotly.__version__}.min.js"
    # an installed package: its version names the URL (a new version, a new URL for the caches)
    package = tmp_path / PLOTLY_PARTIAL
    package.mkdir()
    (package / "package.json").write_text('{"version": "9.9.9"}')
    assert not plotly_bundle(places=(tmp_path,)).partial  # no bundle file: still the full one
    (package / "plotly-cartesian.min.js").write_text("/* plotly.js */")
    partial = plotly_bundle(places=(ROOT / "nowhere", tmp_path))
    assert partial.partial and partial.url == "/vendor/plotly-cartesian-9.9.9.min.js"
