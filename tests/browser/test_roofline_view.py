"""The roofline view (issue #22): every op of a measured block placed on this server's roofs.

Measurements are answered in the browser with reports built from the pydantic models
(`roofline_report` below: figures derived from the real analysis and a made-up server, validated by
`LatencyReport`), so the tests are fast and their figures known; one test runs the real server path.
Screenshots at 1280 px and 390 px go to roofline-shots/ in the temporary folder (and test-artifacts/)."""

import os
import re
import tempfile
from pathlib import Path

import pytest

from blockscope.schemas import LatencyReport

from .conftest import _analysed_url, fake_latency_report
from .pages import settle

# where the screenshots go to be looked at (ROOFLINE_SHOTS overrides the temporary folder)
SHOTS = Path(os.environ.get("ROOFLINE_SHOTS") or Path(tempfile.gettempdir()) / "roofline-shots")
KIND = "shufflenet_v2_unit"  # convolutions, BatchNorm, ReLU, and a split, a concat and a shuffle

PEAK = 850.0
LEVELS = [
    ("L1", 32 * 2**10, 900.0),
    ("L2", 2**20, 420.0),
    ("L3", 16 * 2**20, 160.0),
    ("DRAM", 256 * 2**20, 18.0),
]
CALL_US = 2.5


def ceilings(disturbed: bool = False) -> dict:
    quality = {
        "disturbed": disturbed,
        "other_cpu_share": 0.3 if disturbed else 0.01,
        "spread": 0.04,
        "ci95_us": [1.0, 1.1],
        "attempts": 1,
    }
    return {
        "device": "cpu",
        "device_label": "test CPU",
        "threads": 2,
        "compute_gflops": {"value": PEAK, "ci95": [820.0, 870.0]},
        "family_gflops": {"conv2d": {"value": 610.0, "ci95": [590.0, 625.0]}},
        "bandwidth_gbs": [
            {"working_set_bytes": size, "gbs": gbs, "ci95": [gbs * 0.95, gbs * 1.04], "level": level}
            for level, size, gbs in LEVELS
        ],
        "call_overhead_us": {"value": CALL_US, "ci95": [2.3, 2.7]},
        "ridge_flop_per_byte": PEAK / LEVELS[-1][2],
        "theoretical": {
            "gflops": 2662.4,
            "cores": 16,
            "lanes": 16,
            "fma_units": 2,
            "ghz": 2.6,
            "assumed": ["fma_units"],
        },
        "measured_at": "2026-01-01T00:00:00Z",
        "torch": "test",
        "method": "Compute: a 2048x2048 matrix multiply, 30 samples. Bandwidth: a copy per working-set size.",
        "quality": quality,
        "age_s": 120.0,
        "stale": False,
    }


def _level(nbytes: int) -> tuple[str, float]:
    for level, size, gbs in LEVELS:
        if nbytes <= size:
            return level, gbs
    return LEVELS[-1][0], LEVELS[-1][2]


def place(
    flops: int,
    nbytes: int,
    median_us: float,
    p25_us: float,
    p75_us: float,
    kernel=None,
    level: str | None = None,
) -> dict:
    """A Roofline as the server computes it (docs/numbers.md, "Roofline")."""
    level, gbs = next((lv, g) for lv, _, g in LEVELS if lv == level) if level else _level(nbytes)
    intensity = flops / nbytes if nbytes else 0.0
    attainable = min(PEAK, intensity * gbs)
    roof_us = max(flops / PEAK, nbytes / gbs) / 1e3
    achieved = flops / (median_us * 1e3)
    bound = "overhead" if roof_us <= CALL_US else ("memory" if intensity < PEAK / gbs else "compute")
    return {
        "flops": flops,
        "bytes": nbytes,
        "intensity": intensity,
        "achieved_gflops": achieved,
        "achieved_gflops_ci": [flops / (p75_us * 1e3), flops / (p25_us * 1e3)],
        "achieved_gbs": nbytes / (median_us * 1e3),
        "roof_gbs": gbs,
        "level": level,
        "attainable_gflops": attainable,
        "fraction_of_roof": achieved / attainable if attainable else 0.0,
        "roof_time_us": roof_us,
        "bound": bound,
        "kernel": kernel,
    }


def kernel_of(node: dict) -> dict | None:
    if node["op"] != "conv2d":
        return {
            "aten": [f"aten::{node['op']}"],
            "impl": None,
            "layout": None,
            "reorders": [],
            "reorder_us": 0.0,
            "effective_channels": None,
            "effective_madds": None,
            "effective_bytes": None,
        }
    return {
        "aten": ["aten::conv2d", "aten::convolution", "aten::mkldnn_convolution"],
        "impl": "brg_conv_fwd:avx512_core",
        "layout": "aBcd16b",
        "reorders": [
            {
                "tensor": "input",
                "shape": "1x58x28x28",
                "src_layout": "abcd",
                "dst_layout": "aBcd16b",
                "time_us": 1.25,
            }
        ],
        "reorder_us": 1.25,
        "effective_channels": {"in": 64, "out": 64},
        "effective_madds": node["madds"] * 2,
        "effective_bytes": node["mac"] * 4 + 512,
    }


def sentences_for(report: dict, labels: dict) -> list[str]:
    top = max(report["nodes"], key=lambda n: n["share"])
    r = top["roofline"]
    return [
        f"{labels[top['id']]} takes {top['share']:.0%} of the ops' time and reaches "
        f"{r['fraction_of_roof']:.0%} of its {r['level']} roof: {r['bound']}-bound.",
        "Fixture sentence with <angle brackets> & an ampersand, shown verbatim.",
    ]


def roofline_report(analysis: dict, with_roofline: bool = True, disturbed: bool = False) -> dict:
    """A LatencyReport for `analysis` with every op on the roofline: op times from the roofs (a
    convolution at a third of its roof, the rest at half, each plus the call's fixed cost)."""
    report = fake_latency_report(analysis, disturbed=False)
    by_id = {n["id"]: n for n in analysis["nodes"]}
    times = {}
    for n in report["nodes"]:
        a = by_id[n["id"]]
        flops, nbytes = 2 * a["madds"] + a["elementwise"], 4 * a["mac"]
        roof = place(flops, nbytes, 1.0, 1.0, 1.0)["roof_time_us"]
        times[n["id"]] = roof / (0.33 if a["op"] == "conv2d" else 0.5) + CALL_US
    total = sum(times.values())
    for n in report["nodes"]:
        a, t = by_id[n["id"]], times[n["id"]]
        n.update(median_us=t, p25_us=t * 0.93, p75_us=t * 1.08, share=t / total)
        if with_roofline:
            n["kernel"] = kernel_of(a)
            n["roofline"] = place(
                2 * a["madds"] + a["elementwise"], 4 * a["mac"], t, t * 0.93, t * 1.08, n["kernel"]
            )
    median = total * 0.9  # the pass is quicker than its ops timed alone
    report["total"] = {"median_us": median, "p25_us": median * 0.95, "p75_us": median * 1.05}
    report["quality"]["ci95_us"] = [median * 0.97, median * 1.03]
    report["sum_of_nodes_us"] = total
    if with_roofline:
        t = analysis["totals"]
        # each op's tensors fit a cache that the whole pass's sum does not: placed under the fastest roof
        whole = place(
            2 * t["madds"] + t["elementwise"],
            t["mac_bytes"],
            median,
            median * 0.95,
            median * 1.05,
            level="L1",
        )
        by_bound = {}
        for n in report["nodes"]:
            by_bound[n["roofline"]["bound"]] = by_bound.get(n["roofline"]["bound"], 0) + n["share"]
        labels = {n["id"]: n["label"] for n in analysis["nodes"]}
        report["roofline"] = {
            "whole": whole,
            "ceilings": ceilings(disturbed),
            "by_bound": by_bound,
            "sentences": sentences_for(report, labels),
        }
    return LatencyReport.model_validate(report).model_dump(mode="json")  # exactly the server's shape


@pytest.fixture
def roofline_latency(page):
    """Block latency answered in the browser with a roofline; `.reports` keeps what was answered."""
    state = {"reports": [], "with_roofline": True, "disturbed": False}

    def answer(route):
        analysis = route.fetch(url=_analysed_url(route.request.url)).json()
        report = roofline_report(analysis, state["with_roofline"], state["disturbed"])
        state["reports"].append(report)
        route.fulfill(json=report)

    page.route(re.compile(r"/api/blocks/[a-z0-9_]+/latency\?"), answer)
    return state


def placeable(report: dict) -> list[dict]:
    return [
        n for n in report["nodes"] if n["roofline"]["intensity"] > 0 and n["roofline"]["achieved_gflops"] > 0
    ]


def traces(page) -> list[dict]:
    """The roofline chart's traces as Plotly holds them (names, points, marker, meta)."""
    return page.eval_on_selector(
        '[data-role="roofline-chart"]',
        """el => (el.data || []).map(t => ({name: t.name, x: t.x, y: t.y, meta: t.meta, mode: t.mode,
              line: t.line, hovertext: t.hovertext, opacity: t.marker && t.marker.opacity,
              hovertemplate: t.hovertemplate}))""",
    )


def measure(page):
    page.locator('#view-roofline [data-role="measure-roofline"]').click()
    page.locator('#view-roofline [data-role="roofline"][data-state="drawn"]').wait_for()
    page.wait_for_function(
        "() => (document.querySelector('[data-role=\"roofline-chart\"]').data || []).length > 0"
    )


def shoot(page, screenshot, name: str):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.locator("#view-roofline").screenshot(path=str(SHOTS / f"{name}-view.png"))
    page.locator('[data-role="roofline-chart"]').screenshot(path=str(SHOTS / f"{name}-chart.png"))
    page.locator('[data-role="roofline-details"]').screenshot(path=str(SHOTS / f"{name}-details.png"))
    screenshot(page, name)


def test_empty_state_then_every_node_on_the_roofs(
    page, console_errors, server_url, roofline_latency, screenshot
):
    response = page.goto(f"{server_url}/blocks/{KIND}")
    csp = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp
    settle(page)
    view = page.locator("#view-roofline")
    assert view.is_visible()
    assert view.locator('[data-role="roofline"]').inner_text().strip() == (
        "Measure to place every node on this server's roofline."
    )
    measure(page)
    report = roofline_latency["reports"][-1]
    drawn = traces(page)

    # one dot per node that has arithmetic, the whole pass as its own star
    dots = [t for t in drawn if (t["meta"] or {}).get("role") == "dots"]
    ids = sorted(i for t in dots for i in t["meta"]["ids"])
    assert ids == sorted(n["id"] for n in placeable(report))
    (whole,) = [t for t in drawn if (t["meta"] or {}).get("role") == "whole"]
    assert whole["x"] == [pytest.approx(report["roofline"]["whole"]["intensity"])]
    # the split, the concat and the shuffle move data but do no arithmetic: said under the chart
    off = [n["id"] for n in report["nodes"] if n not in placeable(report)]
    assert off and view.locator('[data-role="roofline-off-chart"]').is_visible()

    # the roofs: compute peak, the conv2d family's, the datasheet peak (dashed), one per memory level
    roofs = {t["meta"]["roof"]: t for t in drawn if (t["meta"] or {}).get("roof")}
    assert {"L1", "L2", "L3", "DRAM"} <= roofs.keys()
    peak = next(t for name, t in roofs.items() if name.startswith("compute peak"))
    assert set(peak["y"]) == {PEAK} and "95% interval 820–870" in peak["hovertemplate"]
    datasheet = next(t for name, t in roofs.items() if name.startswith("datasheet"))
    assert datasheet["line"]["dash"] == "dash" and "assumed: fma_units" in datasheet["hovertemplate"]
    dram = roofs["DRAM"]
    assert (
        max(dram["y"]) == PEAK
        and "18 GB/s" in dram["name"]
        and "95% interval 17.1–18.7" in dram["hovertemplate"]
    )
    labels = page.eval_on_selector(
        '[data-role="roofline-chart"]', "el => el.layout.annotations.map(a => a.text)"
    )
    assert {
        "L1 900 GB/s",
        "L2 420 GB/s",
        "L3 160 GB/s",
        "DRAM 18 GB/s",
        "peak 850 GFLOP/s",
        "conv2d 610",
        "datasheet 2,660",
    } <= set(labels)
    axes = page.eval_on_selector(
        '[data-role="roofline-chart"]',
        "el => [el.layout.xaxis.type, el.layout.xaxis.title.text, el.layout.yaxis.title.text]",
    )
    assert axes == ["log", "arithmetic intensity (FLOP per byte)", "GFLOP/s"]

    # the hover says every figure: flops, bytes, intensity, rate with interval, roof, bound, kernel
    conv = next(n for n in report["nodes"] if n["op"] == "conv2d")
    hover = next(
        h for t in dots for h, i in zip(t["hovertext"], t["meta"]["ids"], strict=True) if i == conv["id"]
    )
    r = conv["roofline"]
    for text in (
        f"{r['flops']:,} FLOP",
        f"{r['bytes']:,} bytes",
        "FLOP per byte",
        "GFLOP/s (p75–p25 times:",
        "GB/s",
        f"{r['level']} roof",
        "attainable",
        "of the roof",
        "brg_conv_fwd:avx512_core",
        "aten::conv2d → aten::convolution",
        "reorder input 1x58x28x28: abcd → aBcd16b, 1.3 µs",
        "effective multiply-adds at in 64, out 64 channels",
    ):
        assert text in hover, text
    # and Plotly shows it when the dot is hovered
    trace_index = next(
        i for i, t in enumerate(drawn) if (t["meta"] or {}).get("ids") and conv["id"] in t["meta"]["ids"]
    )
    point_index = drawn[trace_index]["meta"]["ids"].index(conv["id"])
    page.eval_on_selector(
        '[data-role="roofline-chart"]',
        f"el => Plotly.Fx.hover(el, [{{curveNumber: {trace_index}, pointNumber: {point_index}}}])",
    )
    assert (
        "brg_conv_fwd:avx512_core" in page.locator('[data-role="roofline-chart"] .hoverlayer').text_content()
    )

    # the server's sentences verbatim, then the table, then the ceilings with their method
    shown = view.locator('[data-role="roofline-sentence"]').all_inner_texts()
    assert shown == report["roofline"]["sentences"]
    rows = view.locator('[data-role="roofline-table"] tbody tr')
    assert rows.count() == len(report["nodes"])
    first = rows.first.inner_text()
    assert "%" in first
    assert (
        view.locator('[data-role="ceilings-method"]').inner_text() == report["roofline"]["ceilings"]["method"]
    )
    assert view.locator('[data-role="ceilings-disturbed"]').count() == 0
    assert (
        "850 GFLOP/s (95% interval 820–870)" in view.locator('[data-role="roofline-ceilings"]').inner_text()
    )
    assert "null" not in view.inner_text() and "undefined" not in view.inner_text()
    shoot(page, screenshot, "roofline-1280")
    assert console_errors == []


def test_the_configuration_before_stays_faded(page, console_errors, server_url, roofline_latency):
    page.goto(f"{server_url}/blocks/{KIND}")
    settle(page)
    measure(page)
    before = roofline_latency["reports"][-1]
    height = page.locator('[data-role="controls"] input[type=number][data-param="height"]')
    height.fill("28")
    height.press("Enter")
    page.wait_for_function("() => new URLSearchParams(location.search).get('height') === '28'")
    view = page.locator('#view-roofline [data-role="roofline"]')
    view.and_(page.locator('[data-state="empty"]')).wait_for()
    assert "Measure to place every node" in view.inner_text()
    assert "roofline" not in page.url.split("?", 1)[-1]  # the faded dots are page state, not a link
    measure(page)
    after = roofline_latency["reports"][-1]
    assert after["config"]["height"] == 28 and before["config"]["height"] != 28
    drawn = traces(page)
    (faded,) = [t for t in drawn if (t["meta"] or {}).get("role") == "previous"]
    assert len(faded["x"]) == len(placeable(before)) + 1  # its ops and its whole pass
    assert faded["opacity"] < 0.5 and "height=" in faded["name"]
    dots = [t for t in drawn if (t["meta"] or {}).get("role") == "dots"]
    assert all(t["opacity"] > 0.9 for t in dots)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator('[data-role="roofline-chart"]').screenshot(path=str(SHOTS / "roofline-faded-1280.png"))
    # measuring the same configuration again keeps the same faded one (not itself)
    with page.expect_response(re.compile(r"/latency\?")):
        page.locator('#view-roofline [data-role="measure-roofline"]').click()
    page.wait_for_function(
        "() => document.querySelector('[data-role=\"measure-roofline\"]').disabled === false"
    )
    (again,) = [t for t in traces(page) if (t["meta"] or {}).get("role") == "previous"]
    assert again["x"] == faded["x"] and again["name"] == faded["name"]
    assert console_errors == []


def test_no_roofline_says_why_plainly(page, console_errors, server_url, roofline_latency):
    roofline_latency["with_roofline"] = False
    page.goto(f"{server_url}/blocks/conv")
    settle(page)
    page.locator('#view-roofline [data-role="measure-roofline"]').click()
    box = page.locator('#view-roofline [data-role="roofline"][data-state="none"]')
    box.wait_for()
    assert "ceilings for test CPU" in box.inner_text() and "could not be had" in box.inner_text()
    assert not page.locator('[data-role="roofline-chart"]').is_visible()
    # the latency view shows the same measurement, measured from the roofline's button
    assert page.locator('#view-latency [data-role="latency-median"]').is_visible()
    assert console_errors == []


def test_disturbed_ceilings_carry_a_badge(page, console_errors, server_url, roofline_latency):
    roofline_latency["disturbed"] = True
    page.goto(f"{server_url}/blocks/conv_bn")
    settle(page)
    measure(page)
    assert page.locator('[data-role="ceilings-disturbed"]').inner_text() == "disturbed"
    assert page.locator('[data-role="ceilings-disturbed-note"]').is_visible()
    assert console_errors == []


def test_a_phone_reads_the_roofline(browser, server_url, screenshot):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    state = {"reports": []}

    def answer(route):
        analysis = route.fetch(url=_analysed_url(route.request.url)).json()
        state["reports"].append(roofline_report(analysis))
        route.fulfill(json=state["reports"][-1])

    page.route(re.compile(r"/api/blocks/[a-z0-9_]+/latency\?"), answer)
    try:
        page.goto(f"{server_url}/blocks/{KIND}")
        settle(page)
        page.locator("#view-roofline").scroll_into_view_if_needed()
        measure(page)
        page.wait_for_timeout(300)
        view = page.locator("#view-roofline")
        # nothing wider than the phone: no sideways scrolling to read a figure
        widths = view.evaluate("""v => [v.scrollWidth, v.clientWidth,
            v.querySelector('.roofline-table-wrap').scrollWidth,
            v.querySelector('.roofline-table-wrap').clientWidth]""")
        assert widths[0] <= widths[1] + 1 and widths[2] <= widths[3] + 1, widths
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # each op's card labels its figures
        card = view.locator('[data-role="roofline-table"] tbody tr').first
        assert card.locator('td[data-label="of roof"]').is_visible()
        shoot(page, screenshot, "roofline-390")
        box = view.locator('[data-role="roofline-details"]').bounding_box()
        page.screenshot(
            path=str(SHOTS / "roofline-390-details-top.png"),
            full_page=True,
            clip={"x": 0, "y": box["y"] + page.evaluate("scrollY"), "width": 390, "height": 760},
        )
        assert errors == []
    finally:
        context.close()


def test_an_embed_shows_the_roofline_alone(page, console_errors, server_url, roofline_latency):
    page.goto(f"{server_url}/embed/{KIND}?view=roofline")
    settle(page)
    sections = page.eval_on_selector_all(".views > section", "els => els.map(e => e.dataset.view)")
    assert sections == ["roofline"]
    measure(page)
    assert page.locator('[data-role="roofline-sentence"]').count() == 2
    assert "view=roofline" in page.url
    assert console_errors == []


def test_the_real_server_path(page, console_errors, server_url):
    """No route faked: the server measures a small block; its roofline (or its plain absence, when
    this server has no ceilings) is what the view shows."""
    page.goto(f"{server_url}/blocks/conv?in_channels=8&out_channels=8&height=8&width=8")
    settle(page)
    with page.expect_response(re.compile(r"/api/blocks/conv/latency\?"), timeout=120_000) as answer:
        page.locator('#view-roofline [data-role="measure-roofline"]').click()
    report = answer.value.json()
    box = page.locator('#view-roofline [data-role="roofline"]:not([data-state="empty"])')
    box.wait_for(timeout=60_000)
    page.wait_for_function(
        '() => !document.querySelector(\'[data-role="roofline"][data-state="drawn"]\')'
        " || (document.querySelector('[data-role=\"roofline-chart\"]').data || []).length"
    )
    if report.get("roofline"):
        assert box.get_attribute("data-state") == "drawn"
        assert (
            page.locator('[data-role="roofline-sentence"]').all_inner_texts()
            == report["roofline"]["sentences"]
        )
        placed = [n for n in report["nodes"] if (n["roofline"] or {}).get("intensity", 0) > 0]
        ids = page.eval_on_selector(
            '[data-role="roofline-chart"]',
            "el => el.data.filter(t => t.meta && t.meta.role === 'dots').flatMap(t => t.meta.ids)",
        )
        assert sorted(ids) == sorted(n["id"] for n in placed)
        assert "null" not in box.inner_text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#view-roofline").screenshot(path=str(SHOTS / "roofline-real-server-1280.png"))
    else:
        assert box.get_attribute("data-state") == "none"
        assert "could not be had" in box.inner_text()
    assert console_errors == []


# --- the guideline lab: each measured row's ops in one chart, and the server's explanation ----------


def guideline_with_roofline(report: dict) -> dict:
    """A measured guideline report (conftest's `_fake_measured`) with each row's ops on the roofline:
    a convolution, a BatchNorm and a ReLU per row, sized from the row's counts."""
    from blockscope.schemas import GuidelineReport

    for i, row in enumerate(report["rows"]):
        m = row["measured"]
        parts = [
            ("conv", "conv2d", 2 * row["madds"], row["mac"] * 2, 0.6),
            ("bn", "batch_norm", row["mac"] // 2, row["mac"] * 2, 0.2),
            ("relu", "relu", row["mac"] // 4, row["mac"] * 2, 0.2),
        ]
        m["nodes"] = []
        for name, op, flops, nbytes, share in parts:
            t = m["median_us"] * share
            m["nodes"].append(
                {
                    "id": f"{name}{i}",
                    "op": op,
                    "median_us": t,
                    "p25_us": t * 0.95,
                    "p75_us": t * 1.05,
                    "share": share,
                    "kernel": None,
                    "roofline": place(flops, nbytes, t, t * 0.95, t * 1.05),
                }
            )
        whole = place(
            2 * row["madds"] + row["elementwise"],
            4 * row["mac"],
            m["median_us"],
            m["p25_us"],
            m["p75_us"],
            level="L2",
        )
        m["roofline"] = {
            "whole": whole,
            "ceilings": ceilings(),
            "by_bound": {"memory": 0.4, "compute": 0.6},
            "sentences": [f"Row {row['label']}: its convolution takes 60% of the time."],
        }
    report["explanation"] = [
        "The rows with more MAC wait longer on memory: fixture sentence one.",
        "The 1x1 convolutions run the same kernel in every row: fixture sentence two.",
    ]
    return GuidelineReport.model_validate(report).model_dump(mode="json")


def test_the_guideline_lab_places_every_row(page, console_errors, server_url, screenshot):
    from .conftest import _fake_measured, _is_guideline_measurement

    answered = {}

    def answer(route):
        response = route.fetch(url=route.request.url.replace("measure=true", "measure=false"))
        report = guideline_with_roofline(_fake_measured(response.json()))
        answered[report["guideline"]] = report
        route.fulfill(response=response, json=report)

    page.route(_is_guideline_measurement, answer)
    page.goto(f"{server_url}/guidelines")
    page.locator("#g1 [data-role='measure']").click()
    box = page.locator("#g1 [data-role='roofline']")
    box.locator('[data-role="roofline-chart"] .main-svg').first.wait_for()
    report = answered["g1"]
    assert page.locator("#g1 [data-role='explanation-item']").all_inner_texts() == report["explanation"]
    drawn = page.eval_on_selector(
        "#g1 [data-role='roofline-chart']",
        "el => el.data.filter(t => t.meta && t.meta.role).map(t => "
        "({name: t.name, role: t.meta.role, n: t.x.length, color: t.marker.color[0],"
        " symbol: t.marker.symbol[0]}))",
    )
    rows = [t for t in drawn if t["role"] == "row"]
    assert [t["name"] for t in rows] == [r["label"] for r in report["rows"]]
    assert all(t["n"] == 3 for t in rows)
    assert len({t["color"] for t in rows}) == len(rows) and len({t["symbol"] for t in rows}) == len(rows)
    assert len([t for t in drawn if t["role"] == "row-whole"]) == len(rows)
    assert box.locator('[data-role="ceilings-method"]').inner_text() == ceilings()["method"]
    box.scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#g1").screenshot(path=str(SHOTS / "guideline-g1-1280.png"))
    # on a phone the section is drawn again at its width: nothing wider than the screen
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.locator("#g1 [data-role='measure']").click()
    box.locator('[data-role="roofline-chart"] .main-svg').first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box.screenshot(path=str(SHOTS / "guideline-g1-roofline-390.png"))
    assert console_errors == []


# --- a network's measured rows -----------------------------------------------------------------------


def network_with_roofline(analysis: dict) -> dict:
    from blockscope.schemas import NetworkAnalysis

    from .test_networks_page import fake_network_latency

    analysis = fake_network_latency(analysis, disturbed=False)
    for row in analysis["rows"]:
        t = row["measured"]["measured_us"]
        row["measured"]["roofline"] = place(
            2 * row["madds"] + row["elementwise"], 4 * row["mac"], t, t * 0.95, t * 1.05
        )
    m = analysis["measured"]
    m.setdefault("machine", "test server")
    t = analysis["totals"]
    m["roofline"] = {
        "whole": place(
            2 * t["madds"] + t["elementwise"],
            t["mac_bytes"],
            m["total"]["median_us"],
            m["total"]["p25_us"],
            m["total"]["p75_us"],
            level="L2",
        ),
        "ceilings": ceilings(),
        "by_bound": {"memory": 0.7, "compute": 0.3},
        "sentences": ["The network's stride-2 rows wait on memory: fixture sentence."],
    }
    return NetworkAnalysis.model_validate(analysis).model_dump(mode="json")


def test_a_networks_measured_rows_on_the_roofline(page, console_errors, server_url, screenshot):
    def answer(route):
        url = route.request.url
        analysis = route.fetch(url=url.replace("measure=true", "measure=false")).json()
        route.fulfill(json=network_with_roofline(analysis))

    page.route(re.compile(r"/api/networks/[a-z0-9_]+\?.*measure=true"), answer)
    page.goto(f"{server_url}/networks/shufflenet_v2_x0_5?height=64&width=64")
    settle(page)
    page.click('[data-role="measure"]')
    box = page.locator('[data-role="roofline"]')
    box.locator('[data-role="roofline-chart"] .main-svg').first.wait_for()
    picker = box.locator('select[data-role="roofline-row"]')
    slowest = picker.input_value()  # nothing asked: the row that took the most time
    assert "roofline_row" not in page.url
    options = picker.locator("option").evaluate_all("els => els.map(e => e.value)")
    assert slowest == options[-1]  # the fake's rows are slower down the table
    picker.select_option(options[1])
    page.wait_for_function(
        "v => new URLSearchParams(location.search).get('roofline_row') === v", arg=options[1]
    )
    assert box.locator('[data-role="roofline-chosen"]').inner_text().startswith(f"Row {options[1]}.")
    chosen = page.eval_on_selector(
        '[data-role="roofline-chart"]', "el => el.data.find(t => t.meta && t.meta.role === 'chosen').meta.ids"
    )
    assert chosen == [options[1]]
    assert box.locator('[data-role="roofline-sentence"]').all_inner_texts() == [
        "The network's stride-2 rows wait on memory: fixture sentence."
    ]
    SHOTS.mkdir(parents=True, exist_ok=True)
    box.screenshot(path=str(SHOTS / "network-roofline-1280.png"))
    # the choice is a link: the page opened with it measures and picks out that row
    page.goto(f"{server_url}/networks/shufflenet_v2_x0_5?height=64&width=64&roofline_row={options[2]}")
    settle(page)
    page.click('[data-role="measure"]')
    box.locator('[data-role="roofline-chart"] .main-svg').first.wait_for()
    assert box.locator('select[data-role="roofline-row"]').input_value() == options[2]
    assert console_errors == []
