"""What every page shares: one colour per metric, one Plotly configuration, the guideline verdict's
wording, answers that arrive too late, no console errors at desktop and phone widths, and the source
rules of static/js (one DOM factory, one Plotly caller, no HTML parsed from strings)."""

import itertools
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .pages import measure_guidelines, reveal

JS = Path(__file__).resolve().parents[2] / "blockscope" / "static" / "js"
ALL_VIEWS = "diagram,totals,table,chart,sweep,latency,shuffle,reparam,activation"
METRIC_COLORS = "() => import('/static/js/colors.js').then((m) => m.METRIC_COLORS)"


def settle_explorer(page):
    page.wait_for_selector("body[data-ready]")
    page.wait_for_function("() => !document.body.dataset.busy", timeout=30_000)


def settle_guidelines(page):
    measure_guidelines(page)
    for name in ("g1", "g2", "g3", "g4"):
        expect(page.locator(f'#{name} [data-role="status-text"]')).to_have_text(re.compile("^Measured"))


PAGES = {
    "group_conv": ("/blocks/group_conv?compare=1", settle_explorer),
    "repvgg_block": ("/blocks/repvgg_block", settle_explorer),
    "activation": ("/blocks/activation", settle_explorer),
    "embed-group_conv": (f"/embed/group_conv?view={ALL_VIEWS}", settle_explorer),
    "guidelines": ("/guidelines", settle_guidelines),
    "gallery": ("/", lambda page: page.wait_for_selector(".mini-diagram svg")),
}


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_draws_without_console_errors(browser, server_url, quick_measure, screenshot, name, width):
    path, settle = PAGES[name]
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    quick_measure(page)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(server_url + path)
        settle(page)
        # nothing wider than the screen (tables and diagrams scroll in their own regions)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"page-{name}-{width}")
    finally:
        context.close()
    assert errors == []


def test_mac_has_one_colour_on_every_page(page, console_errors, server_url, quick_measure):
    page.goto(f"{server_url}/blocks/group_conv")
    settle_explorer(page)
    reveal(page, "sweep")
    page.locator('[data-role="sweep-channels"] .main-svg').first.wait_for()
    colors = page.evaluate(METRIC_COLORS)
    assert len(set(colors.values())) == len(colors) == 5  # params, madds, mac, elementwise, latency
    mac = colors["mac"]
    assert page.locator('[data-role="metric-chart"]').evaluate("el => el.data[0].marker.color") == mac
    sweep = page.locator('[data-role="sweep-channels"]').evaluate(
        "el => Object.fromEntries(el.data.map((t) => [t.name, t.line.color]))")
    assert sweep["MAC (memory access cost, elements)"] == mac
    assert sweep["multiply-adds"] == colors["madds"] and sweep["parameters"] == colors["params"]
    strokes = page.eval_on_selector_all('#view-diagram .node:not([data-op="input"]) rect:first-child',
                                        "els => els.map((e) => e.getAttribute('stroke'))")
    assert set(strokes) == {mac}

    page.goto(f"{server_url}/guidelines")
    settle_guidelines(page)
    assert page.evaluate(METRIC_COLORS) == colors
    for name in ("g1", "g2", "g3", "g4"):
        bars = page.locator(f'#{name} [data-role="mac-chart"]')
        assert bars.evaluate("el => el.data[0].marker.color") == mac
    g2 = page.locator('[data-role="sweep-chart"]').evaluate(
        "el => Object.fromEntries(el.data.map((t) => [t.name, t.line?.color]))")
    assert g2["MAC (memory access cost)"] == mac and g2["multiply-adds (right axis)"] == colors["madds"]
    assert console_errors == []


def test_scripts_draw_with_the_stylesheets_palette(page, console_errors, server_url):
    """colors.js hands the scripts the values palette.css defines, resolved, so that a downloaded SVG
    keeps its colours without the stylesheet."""
    page.goto(f"{server_url}/blocks/shufflenet_v1_unit")
    settle_explorer(page)
    css = "(name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim()"
    colors = page.evaluate(METRIC_COLORS)
    assert colors["mac"] == page.evaluate(css, "--metric-mac") == page.evaluate(css, "--accent")
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colors.values()), colors
    paint = "els => els.flatMap((e) => [e.getAttribute('fill'), e.getAttribute('stroke')])"
    painted = page.eval_on_selector_all("#view-diagram svg [fill], #view-diagram svg [stroke]", paint)
    assert painted and not [p for p in painted if p and "var(" in p]
    assert console_errors == []


def test_modebar_has_no_cloud_button(page, console_errors, server_url):
    page.goto(f"{server_url}/blocks/group_conv")
    settle_explorer(page)
    chart = page.locator('[data-role="metric-chart"]')
    chart.hover()
    titles = chart.evaluate("el => [...el.querySelectorAll('.modebar-btn')].map((b) => b.dataset.title)")
    assert "Download plot as a PNG" in titles
    assert not [t for t in titles if "Share" in t or "Chart Studio" in t or "lasso" in t.lower()], titles
    assert chart.locator(".modebar-btn--logo").count() == 0
    assert console_errors == []


def _report(paper, measured=None, reversed_=(), pairs=3, was_measured=True, label="test CPU", verdict=None,
            close=(), disturbed=()):
    """A guideline report as the server sends it, cut to what the verdict reads."""
    flips = [{"paper_faster": a, "measured_faster": b, "by": by, "within_noise": noise}
             for a, b, by, noise in reversed_]
    ordering = {"reference": "paper_gpu", "paper": paper, "measured": measured, "pairs": pairs,
                "agreeing_pairs": pairs - len(flips), "reversed": flips,
                "reproduces": {"reproduced": True, "not_reproduced": False}.get(verdict), "verdict": verdict,
                "close": [{"paper_faster": a, "paper_slower": b} for a, b in close],
                "disturbed": list(disturbed)}
    return {"measured": was_measured, "device_label": label, "ordering": ordering}


RANKS = "GPU figures rank a > b > c; on test CPU the measured medians rank"
VERDICTS = [
    (_report(None, was_measured=False), "The paper gives no GPU figures to compare with."),
    (_report(["1:1", "1:2", "1:6"], was_measured=False),
     "Not measured yet: the paper's GPU figures rank the rows 1:1 > 1:2 > 1:6."),
    (_report(["a", "b", "c"], ["a", "b", "c"], verdict="reproduced"),
     "Reproduced: on test CPU the rows rank a > b > c by measured speed, the same order as the paper's GPU "
     "figures, every pair with its 95% intervals apart."),
    (_report(["a", "b", "c"], ["a", "b", "c"], label="", verdict="reproduced"),
     "Reproduced: on this machine the rows rank a > b > c by measured speed, the same order as the paper's "
     "GPU figures, every pair with its 95% intervals apart."),
    # a reversal inside the intervals is no verdict, and no speed is claimed for it
    (_report(["a", "b", "c"], ["b", "a", "c"], [("a", "b", 0.1234, True)], verdict="too_noisy",
             close=[("a", "b")]),
     "Too noisy to judge here; measure again. One pair is too close to call here (their 95% intervals "
     f"overlap): a and b. The paper's {RANKS} b > a > c."),
    (_report(["a", "b", "c"], ["c", "b", "a"], [("a", "b", 0.05, True), ("a", "c", 0.5, False),
                                                ("b", "c", 0.25, False)], verdict="not_reproduced",
             close=[("a", "b")]),
     f"Not reproduced: the paper's {RANKS} c > b > a. Reversed here with 95% intervals apart: "
     "c is 1.5× faster than a; c is 25% faster than b. One pair is too close to call here (their 95% "
     "intervals overlap): a and b."),
    (_report(["a", "b", "c"], ["b", "a", "c"], [("a", "b", 0.2, False)], verdict="not_reproduced"),
     f"Not reproduced: the paper's {RANKS} b > a > c. Reversed here with 95% intervals apart: "
     "b is 20% faster than a."),
    # rows measured while the server was busy: no verdict, however far apart the figures
    (_report(["a", "b", "c"], ["c", "b", "a"], [("a", "b", 3.0, False)], verdict="too_noisy",
             disturbed=["a", "c"]),
     "Too noisy to judge here; measure again. Measured while the server was busy: a, c. "
     f"The paper's {RANKS} c > b > a."),
]


def test_the_guideline_verdict_is_worded_from_the_ordering_data(page, server_url):
    page.goto(f"{server_url}/")  # any page of the site can import the module
    texts = page.evaluate("""(reports) => import('/static/js/guidelines-verdict.js')
        .then((m) => reports.map((r) => m.verdictText(r)))""", [report for report, _ in VERDICTS])
    assert texts == [text for _, text in VERDICTS]


def test_a_late_sweep_answer_is_not_drawn_over_the_current_one(page, console_errors, server_url):
    """The sweep for g=2 answers after the slider has moved to g=8: the page keeps g=8's sweep."""
    page.add_init_script("""(() => {
        const fetch = window.fetch;
        window.fetch = (url, ...rest) => /\\/sweep\\?.*groups=2\\b/.test(String(url))
          ? new Promise((resolve) => setTimeout(resolve, 1500)).then(() => fetch(url, ...rest))
          : fetch(url, ...rest);
    })()""")
    page.goto(f"{server_url}/blocks/group_conv?groups=2")
    page.wait_for_selector("body[data-ready]")
    reveal(page, "sweep")
    expect(page.locator('[data-role="sweep-status"]')).to_have_text(re.compile("^Computing the sweep"))
    page.locator('.control[data-param="groups"] input[type=number]').evaluate(
        "el => { el.value = '8'; el.dispatchEvent(new Event('change', {bubbles: true})); }")
    settle_explorer(page)
    page.wait_for_timeout(2000)  # the late g=2 answer has arrived by now
    current = page.locator('[data-role="sweep-channels"]').evaluate("el => el.layout.shapes[0].x0")
    assert current == 8
    assert page.locator('[data-role="sweep-status"]').inner_text() == ""
    assert console_errors == []


# --- the source of static/js ------------------------------------------------------------------------

def _sources():
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(JS.glob("*.js"))}


def test_no_html_is_parsed_from_strings():
    sinks = re.compile(r"\.innerHTML\b|\.outerHTML\s*=|insertAdjacentHTML|document\.write|DOMParser")
    assert {name: sinks.findall(text) for name, text in _sources().items() if sinks.search(text)} == {}


def test_one_dom_factory_one_plotly_caller_one_colour_module():
    sources = _sources()
    assert [n for n, t in sources.items() if re.search(r"createElement(NS)?\(", t)] == ["dom.js"]
    assert [n for n, t in sources.items() if re.search(r"Plotly\.\w+\(", t)] == ["plot.js"]
    # the palette (css/palette.css) reaches the scripts through colors.js alone; tests/test_palette.py
    # keeps colour literals out of every other source
    assert [n for n, t in sources.items() if re.search(r"getPropertyValue\(", t)] == ["colors.js"]


def test_lines_fit_in_110_characters():
    long = [f"{name}:{i}" for name, text in _sources().items()
            for i, line in enumerate(text.splitlines(), 1) if len(line) > 110]
    assert long == []


def test_every_measure_button_measures(page, console_errors, server_url):
    """One measurement for real on this server, end to end through the page; the other measure buttons
    (the comparison's conv, both reparam forms, each activation) are answered by the browser's fake in
    test_lesson.py and below, since more real measurements would only time the machine again."""
    small = "in_channels=8&out_channels=8&height=8&width=8"
    page.goto(f"{server_url}/blocks/depthwise_separable?{small}")
    settle_explorer(page)
    page.click('[data-role="measure"]')
    status = page.locator('[data-role="latency-status"]')
    expect(status).to_have_text(re.compile("^Measured on"), timeout=60_000)
    assert page.locator("#view-table th", has_text="latency median").count() == 1
    assert "95% interval" in page.locator('[data-role="latency-median"]').inner_text()
    ops = page.request.get(f"{server_url}/api/blocks/depthwise_separable?{small}").json()["nodes"][1:]
    bars = page.locator('[data-role="latency-chart"] .bars .point')
    bars.first.wait_for()
    assert bars.count() == len(ops)  # every op timed on its own
    assert console_errors == []


def test_every_activation_is_measured(page, console_errors, server_url, fake_latency):
    page.goto(f"{server_url}/blocks/activation?in_channels=8&height=8&width=8")
    settle_explorer(page)
    page.click('[data-role="measure-activations"]')
    expect(page.locator('[data-role="activation-status"]')).to_have_text(re.compile("^Each function on"))
    names = page.locator('[data-role="activation-latency"]').evaluate("el => el.data[0].x")
    assert names == ["relu", "relu6", "sigmoid", "hardsigmoid", "silu", "hardswish"]
    assert len(fake_latency.requests) == 6
    assert console_errors == []


def test_sweep_axes_label_only_what_fits_and_say_why_a_series_is_missing(page, console_errors, server_url):
    """1680 channels have 16 group counts close together: every one gets a grid line and a label, a
    crowded label drops to a lower line (at most three) so that labels on one line do not run into
    each other, and the current g is on the first line. Its g = 1 block is over the memory limit, so
    the chart at fixed multiply-adds says so instead of drawing nothing."""
    page.goto(f"{server_url}/blocks/group_conv?in_channels=1680&out_channels=1680&kernel_size=7&height=56"
              "&width=56&batch=8&groups=2")
    settle_explorer(page)
    reveal(page, "sweep")
    chart = page.locator('[data-role="sweep-channels"]')
    chart.locator(".main-svg").first.wait_for()
    axis = chart.evaluate("el => el.layout.xaxis")
    assert axis["tickvals"] == [2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 15, 16, 20, 21, 24, 28]
    labels = [(t.count("<br>"), int(t.replace("<br>", ""))) for t in axis["ticktext"]]
    assert [g for _, g in labels] == axis["tickvals"]  # every point labelled, none as a value it is not
    assert labels[0] == (0, 2) and max(line for line, _ in labels) < 3
    for line in range(3):
        shown = [g for on, g in labels if on == line]
        assert all(b / a >= (28 / 2) ** (1 / 40) for a, b in itertools.pairwise(shown))
    expect(page.locator('[data-role="sweep-madds"]')).to_have_text(re.compile("over this server's memory"))
    # the dense comparison block and the reparameterization are refused (422) and say so in their views
    assert [e for e in console_errors if "status of 422" not in e] == []
