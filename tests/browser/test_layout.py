"""Every page fits the screen at a phone's width (390 px) and a laptop's (1280 px).

No element reaches past the right edge of the viewport unless it sits inside a frame of its own that
scrolls sideways (a wide table, a wide diagram) and that frame itself fits; the page never scrolls
sideways (`document.scrollWidth <= innerWidth`); no label of a diagram is cut off by the diagram's own
edge; and at 1280 px the tables of the lab pages fit whole, so no column a student needs is hidden.

The pages are looped over the registry (every block kind) and the network catalogue, and over the
states where the widest content appears: measured (answered in the browser, instantly) and, in the
explorer, with every lazily loaded view scrolled into view.
"""

import re

import pytest

from blockscope.config import use_settings
from blockscope.networks.catalogue import NETWORKS
from blockscope.registry import BLOCKS

from .conftest import fake_quality
from .pages import measure_guidelines

WIDTHS = [390, 1280]

# Every element's box against the viewport. A box past the right edge is allowed only inside an
# element that scrolls sideways and itself fits. Text of a diagram (an <svg> that is not Plotly's) must
# fit inside that diagram. Only the outermost offender of each subtree is named.
OVERFLOW = """() => {
  const vw = window.innerWidth;
  const right = (e) => e.getBoundingClientRect().right + window.scrollX;
  const scrollsSideways = (e) => ["auto", "scroll"].includes(getComputedStyle(e).overflowX);
  const frameOf = (e) => {
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      if (scrollsSideways(p)) return p;
    }
    return null;
  };
  const name = (e) => {
    let s = e.tagName.toLowerCase();
    if (e.id) s += `#${e.id}`;
    const cls = e.getAttribute("class");
    if (cls) s += `.${cls.trim().split(/\\s+/).join(".")}`;
    for (const a of ["data-role", "data-section", "data-kernel", "data-name"]) {
      if (e.getAttribute(a)) s += `[${a}=${e.getAttribute(a)}]`;
    }
    return s;
  };
  const path = (e) => {
    const parts = [];
    for (let p = e; p && p !== document.body && parts.length < 4; p = p.parentElement) parts.unshift(name(p));
    return parts.join(" > ");
  };
  const found = [];
  const add = (e, why) => {
    if (!found.some((f) => f.e.contains(e))) found.push({ e, why: `${path(e)}: ${why}` });
  };
  for (const e of document.body.querySelectorAll("*")) {
    const box = e.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    const svg = e.ownerSVGElement;
    if (svg) {
      // a diagram's label cut off by the diagram's own right edge (Plotly draws its own clipping)
      const edge = svg.getBoundingClientRect().right;
      if (e.tagName === "text" && !svg.closest(".js-plotly-plot") && box.right > edge + 1)
        add(e, `label "${e.textContent.slice(0, 30)}" ends at ${Math.round(box.right)}, past its diagram`);
      continue;
    }
    if (right(e) <= vw + 1) continue;
    const frame = frameOf(e);
    if (frame && right(frame) <= vw + 1) continue;
    add(e, `right edge ${Math.round(right(e))} px, viewport ${vw} px`);
  }
  const offenders = found.map((f) => f.why);
  return { scrollWidth: document.documentElement.scrollWidth, innerWidth: vw, offenders };
}"""

# Tables whose frame has to be scrolled to see every column (at a laptop's width, none should).
CUT_TABLES = """() => [...document.querySelectorAll("table")].flatMap((t) => {
  for (let p = t.parentElement; p && p !== document.body; p = p.parentElement) {
    if (["auto", "scroll"].includes(getComputedStyle(p).overflowX) && p.scrollWidth > p.clientWidth + 1) {
      const table = t.getAttribute("data-role") || t.className || "table";
      return [`${table}: ${p.clientWidth} of ${p.scrollWidth} px shown`];
    }
  }
  return [];
})"""

# Scroll to the bottom and back, a screen at a time: views that load when on screen start loading
# (the explorer's observers fire on any overlap; the wait for the network to settle follows).
SCROLL_THROUGH = """async () => {
  for (let y = 0; y < document.documentElement.scrollHeight; y += window.innerHeight) {
    window.scrollTo(0, y);
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 40)));
  }
  window.scrollTo(0, 0);
}"""


def _timing(median_us: float) -> dict:
    """One clean end-to-end timing as the measuring process reports it."""
    return {"device": "cpu", "device_label": "test CPU", "torch": "test", "threads": 2, "cores": [0, 1],
            "dtype": "float32", "warmup": 2, "repeats": 20, "samples": 20,
            "total": {"median_us": median_us, "p25_us": median_us * 0.95, "p75_us": median_us * 1.05},
            "quality": fake_quality(median_us), "cached": False, "load_average": 1.0,
            "measured_at": "2026-01-01T00:00:00Z", "duration_s": 2.0}


def _network_latency(route):
    """A network measured, instantly: row i's ops take (i + 1) x 100 µs (test_networks_page.py's fake)."""
    analysis = route.fetch(url=route.request.url.replace("measure=true", "measure=false")).json()
    rows = analysis["rows"]
    total = sum(100.0 * (i + 1) for i in range(len(rows)))
    for i, row in enumerate(rows):
        row["measured"] = {"measured_us": 100.0 * (i + 1), "share": 100.0 * (i + 1) / total}
    analysis["measured"] = {**_timing(total * 0.9), "sum_of_nodes_us": total}
    route.fulfill(json=analysis)


def _forms_latency(route):
    """Both forms of a network timed, instantly, with a clean difference."""
    report = route.fetch(url=route.request.url.replace("measure=true", "measure=false")).json()
    timed = {form: {**_timing(median), "nodes": None, "sum_of_nodes_us": None, "share_by_op": None}
             for form, median in (("before", 1500.0), ("after", 1000.0))}
    report["latency"] = {**timed, "comparison": {"of": ["before", "after"], "value": 1.5, "ci95": [1.4, 1.6],
                                                 "measurable": True}}
    route.fulfill(json=report)


def _measure_network(page):
    page.route(re.compile(r"/api/networks/[a-z0-9_]+\?.*measure=true"), _network_latency)
    page.route(re.compile(r"/api/networks/[a-z0-9_]+/reparam\?.*measure=true"), _forms_latency)
    page.wait_for_selector("body[data-ready]")
    page.click('[data-role="measure"]')
    page.wait_for_selector('[data-role="latency-total"]')
    if page.locator('[data-role="measure-forms"]').count():
        page.click('[data-role="measure-forms"]')
        page.wait_for_selector('[data-role="forms-speed"] [data-role="speedup"]')


def _measure_guidelines(page):
    measure_guidelines(page)
    for name in ("g1", "g2", "g3", "g4"):
        page.locator(f'#{name} [data-role="status-text"]').filter(has_text=re.compile("^Measured")).wait_for()


def _measure_quantization(page):
    page.locator("[data-role=block-verdict]").filter(has_text="int8").wait_for(timeout=25_000)


def _measure_reparam(page):
    page.locator("#view-reparam").scroll_into_view_if_needed()
    page.locator('#view-reparam [data-role="max-abs-diff"][data-value]').wait_for(timeout=30_000)
    page.click('[data-role="measure-reparam"]')
    page.locator('[data-role="speedup"]').wait_for()


# (path, what to do once it is loaded): every page, and the measured states that add wide columns.
PAGES = [
    ("/", None),
    ("/docs", None),
    ("/guidelines", None),
    ("/guidelines", _measure_guidelines),
    ("/quantization?size=4096&kind=squeeze_excitation&calibration=2", _measure_quantization),
    ("/networks", None),
    *[(f"/networks/{name}", None) for name in NETWORKS],
    ("/networks/repvgg_a0", _measure_network),
    ("/networks/shufflenet_v2_x1_0", _measure_network),
    *[(f"/blocks/{kind}", None) for kind in BLOCKS],
    ("/blocks/repvgg_block", _measure_reparam),
]
IDS = [f"{path.split('?')[0]}{'-measured' if then else ''}" for path, then in PAGES]

# Pages whose tables must fit whole at 1280 px: the lab pages, where the key columns are the last ones.
WHOLE_TABLES = ("/guidelines", "/quantization", "/networks/")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("path", "then"), PAGES, ids=IDS)
def test_no_element_is_wider_than_the_viewport(page, server_url, quick_measure, path, then, width):
    """`quick_measure` answers the guideline measurements at once."""
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(30_000)
    with use_settings(measure_target_s=0.02, measure_warmup_s=0.005):
        page.goto(f"{server_url}{path}")
        if then:  # a measurement starts from a loaded page; otherwise the scroll and wait below do
            page.wait_for_load_state("networkidle")
            then(page)
        page.evaluate(SCROLL_THROUGH)
        page.wait_for_load_state("networkidle")
        page.wait_for_function("() => !document.body.dataset.busy")
    found = page.evaluate(OVERFLOW)
    assert found["offenders"] == [], f"{path} at {width} px"
    assert found["scrollWidth"] <= found["innerWidth"], f"{path} scrolls sideways at {width} px"
    if width == 1280 and path.startswith(WHOLE_TABLES):
        assert page.evaluate(CUT_TABLES) == [], f"{path}: a table hides columns at {width} px"
