"""The lesson lands: MAC moves (or visibly does not) with g, G2 at fixed multiply-adds, controls that offer
only valid values, before/after at one scale, live embeds that size themselves, a table whose MAC is in
view, views only where they apply, and honest measured figures (interval, busy server, measure again).

Measurements are answered in the browser (`fake_latency`, `busy_measure` in conftest.py): these tests
check what the page makes of the server's words, instantly and deterministically.
"""

import itertools
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from .pages import api, measure_guidelines, reveal_reparam, settle


def total(page, key: str) -> int:
    return int(page.get_attribute(f'#view-totals [data-total="{key}"]', "data-value"))


def step_groups(page, key: str):
    """Press `key` on the group slider and wait until the totals show the new block."""
    before = page.get_attribute('#view-totals [data-total="mac"]', "data-value")
    page.locator('input[type=range][name="groups"]').press(key)
    page.wait_for_function(
        "(v) => document.querySelector('#view-totals [data-total=\"mac\"]').dataset.value !== v", arg=before)


def slider_values(page) -> list[int]:
    """Every value the group slider offers, from its left end to its right end, by keyboard."""
    slider = page.locator('input[type=range][name="groups"]')
    slider.press("Home")
    values = [int(slider.get_attribute("aria-valuetext"))]
    while True:
        slider.press("ArrowRight")
        value = int(slider.get_attribute("aria-valuetext"))
        if value == values[-1]:
            return values
        values.append(value)


def conv_fill(page) -> str:
    return page.get_attribute('#view-diagram [data-node-id="conv"] rect', "fill")


# --- 1. MAC moves with g, visibly and with its change against g=1 ------------------------------------

def test_mac_text_and_fill_move_with_g_and_say_why(page, console_errors, server_url, screenshot):
    page.goto(f"{server_url}/blocks/group_conv?groups=1")
    settle(page)
    g1 = api(page, f"{server_url}/api/blocks/group_conv?groups=1")["totals"]
    mac = page.locator('#view-totals [data-total="mac"]')
    assert mac.inner_text() == f"{g1['mac']:,}" == "1,241,216"
    assert "groups=1 block itself" in page.locator('[data-delta="mac"]').inner_text()
    fill_g1 = conv_fill(page)
    for _ in range(3):  # 1 -> 2 -> 4 -> 8: the slider's next values
        step_groups(page, "ArrowRight")
    g8 = api(page, f"{server_url}/api/blocks/group_conv?groups=8")["totals"]
    assert mac.inner_text() == f"{g8['mac']:,}" != f"{g1['mac']:,}"
    change = (g8["mac"] / g1["mac"] - 1) * 100
    assert page.locator('[data-delta="mac"]').inner_text().startswith(f"−{abs(change):.1f}% vs groups=1")
    why = page.locator('[data-role="why"]').inner_text()
    assert "From groups = 1 to groups = 8" in why and "activations" in why and "%" in why
    # the diagram's colour scale holds while g moves: the conv's fill changes from g=1 to g=64
    step_groups(page, "End")
    assert conv_fill(page) != fill_g1
    held = page.get_attribute("#view-diagram svg", "data-scale-max")
    page.select_option('select[name="scale"]', "each")  # each diagram its own scale: the conv looks the same
    assert "scale=each" in page.url
    assert conv_fill(page) == fill_g1 and page.get_attribute("#view-diagram svg", "data-scale-max") != held
    settle(page)
    screenshot(page, "lesson-group-conv-g64")
    assert console_errors == []


# --- 2. G2 in the explorer: multiply-adds held, MAC rising -----------------------------------------------

def test_keep_multiply_adds_fixed_raises_mac_at_equal_multiply_adds(page, console_errors, server_url,
                                                                   screenshot):
    page.goto(f"{server_url}/blocks/group_conv")
    settle(page)
    before = total(page, "madds")
    page.check('input[name="fixed_madds"]')
    readout = page.locator('[data-role="fixed-readout"]')
    expect(readout).to_contain_text("multiply-adds")
    assert "fixed_madds=1" in page.url
    settle(page)
    assert abs(total(page, "madds") / before - 1) <= 0.02  # switching on keeps the block on screen
    slider = page.locator('input[type=range][name="groups"]')
    slider.press("Home")
    expect(page.locator('[data-delta="mac"]')).to_contain_text("itself")
    points = [(int(slider.get_attribute("aria-valuetext")), total(page, "madds"), total(page, "mac"))]
    while True:
        value = slider.get_attribute("aria-valuetext")
        slider.press("ArrowRight")
        if slider.get_attribute("aria-valuetext") == value:
            break
        page.wait_for_function(
            "(v) => document.querySelector('#view-totals [data-total=\"mac\"]').dataset.value !== v",
            arg=str(points[-1][2]))
        points.append((int(slider.get_attribute("aria-valuetext")), total(page, "madds"), total(page, "mac")))
        assert str(points[-1][0]) in readout.inner_text()
    gs = [p[0] for p in points]
    assert gs[0] == 1 and len(gs) >= 6 and gs == sorted(gs)
    g1_madds = points[0][1]
    assert all(abs(m / g1_madds - 1) <= 0.02 for _, m, _ in points)
    macs = [p[2] for p in points]
    assert all(a < b for a, b in itertools.pairwise(macs)), points
    # the channel controls hold the g=1 widths; the block on screen is widened
    assert page.locator('.control[data-param="in_channels"]').get_attribute("class").count("reference-width")
    why = page.locator('[data-role="why"]').inner_text()
    assert "so MAC rose" in why and "as ShuffleNet V2's G2 says" in why  # the word from the numbers
    settle(page)
    screenshot(page, "lesson-fixed-madds")
    assert console_errors == []


# --- 3. controls that only offer valid values; paper settings one click away --------------------------

def test_group_slider_reaches_only_divisors_and_presets_are_one_click(page, console_errors, server_url):
    page.goto(f"{server_url}/blocks/group_conv")
    settle(page)
    assert slider_values(page) == [1, 2, 4, 8, 16, 32, 64]
    assert "1, 2, 4, 8, 16, 32, 64" in page.locator('[data-role="groups-choices"]').inner_text()
    # channel sliders move in multiples of g
    expect(page.locator('input[type=range][name="in_channels"]')).to_have_attribute("step", "64")
    page.goto(f"{server_url}/blocks/shufflenet_v1_unit")
    settle(page)
    values = slider_values(page)
    assert values == [d for d in range(1, 61) if 60 % d == 0]  # g divides 240 and the bottleneck 60
    assert 8 not in values
    # ShuffleNet V1's Table 1: 384 channels for g=8, one click
    page.click('[data-preset]:has-text("g=8, 384 channels")')
    settle(page)
    query = parse_qs(urlparse(page.url).query)
    assert query["groups"] == ["8"] and query["in_channels"] == ["384"] and query["out_channels"] == ["384"]
    assert page.locator('[data-preset]:has-text("g=8, 384 channels")').get_attribute("aria-pressed") == "true"
    assert page.locator(".control-error:visible").count() == 0
    assert 8 in slider_values(page)
    assert console_errors == []


# --- 4. before/after at one scale, fused boxes linked, kernels as a sum ---------------------------------

ZOOM = """() => [...document.querySelectorAll('#view-reparam .reparam-side svg')]
    .map((s) => s.getBoundingClientRect().width / s.viewBox.baseVal.width)"""


@pytest.mark.parametrize("width", [1280, 390])
def test_before_and_after_share_scale_colours_and_marks(browser, server_url, screenshot, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{server_url}/blocks/repvgg_block?in_channels=8&out_channels=8&height=14&width=14")
        settle(page)
        reveal_reparam(page)
        page.locator('[data-side="after"] .node.fused').wait_for()
        zooms = page.evaluate(ZOOM)
        assert len(zooms) == 2 and abs(zooms[0] - zooms[1]) < 0.01, zooms
        assert zooms[0] >= 0.79  # legible: the diagrams scroll rather than shrink further
        scales = page.eval_on_selector_all("#view-reparam .reparam-side svg",
                                           "els => els.map(e => e.dataset.scaleMax)")
        assert scales[0] == scales[1]
        stacked = page.locator(".reparam-pair").get_attribute("class")
        assert ("stacked" in stacked) == (width == 390)
        # the fused box names its sources; hovering it lights them up on the train-time side
        sources = page.locator('[data-side="before"] .node.fused-source')
        assert sources.count() == 7  # 3x3 conv + BN, 1x1 conv + BN, identity BN, the two branch sums
        page.locator('[data-side="after"] .node.fused').first.hover()
        expect(page.locator('[data-side="before"] .node.linked')).to_have_count(7)
        assert "rbr_reparam" in page.locator('[data-role="fuse-note"]').inner_text()
        # kernels: the branches and their sum on one colour scale, with channel axes
        page.locator('[data-kernel="fused"] .main-svg').first.wait_for()
        ranges = page.eval_on_selector_all(
            "[data-kernel] .js-plotly-plot, [data-kernel].js-plotly-plot",
            "els => els.map(e => [e.data[0].zmin, e.data[0].zmax, e.layout.yaxis.title.text])")
        assert len(ranges) == 4 and len({(lo, hi) for lo, hi, _ in ranges}) == 1
        assert {t for _, _, t in ranges} == {"output channel o"}
        assert page.locator(".kernels").first.locator(".kernel-op").all_inner_texts() == ["+", "+", "="]
        screenshot(page, f"lesson-repvgg-reparam-{width}")
    finally:
        context.close()
    assert errors == []


# --- 5. live embeds that size themselves ---------------------------------------------------------------

class _Host(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_embeds_resize_to_their_content_at_760_and_390_px(page, console_errors, server_url, screenshot):
    page.goto(f"{server_url}/blocks/group_conv?groups=8")
    settle(page)
    page.click('[data-role="embed-button"]')
    page.locator('[data-role="embed-views"] input[value="sweep"]').check()
    snippet = page.input_value('[data-role="embed-snippet"]')
    assert "controls=1" in snippet and "embed-host.js" in snippet
    fallback = int(re.search(r'height="(\d+)"', snippet).group(1))
    assert fallback >= 1200  # controls, diagram, totals and the sweep without a script to resize them
    for width in (760, 390):
        body = (f"<!doctype html><title>course</title><h1>Course notes</h1>"
                f'<div style="width:{width}px">{snippet}</div><p id="after">after the embed</p>').encode()
        host = ThreadingHTTPServer(("localhost", 0), type("Host", (_Host,), {"body": body}))
        threading.Thread(target=host.serve_forever, daemon=True).start()
        try:
            page.set_viewport_size({"width": max(width + 40, 420), "height": 900})
            page.goto(f"http://localhost:{host.server_address[1]}/")
            frame = page.frame_locator("iframe[data-blockscope]")
            frame.locator("body[data-ready]").wait_for()
            frame.locator("body:not([data-busy])").wait_for(timeout=30_000)
            inner = next(f for f in page.frames if "/embed/" in f.url)
            assert inner.locator('input[type=range][name="groups"]').count() == 1  # students can move g
            # the host page's script has set the iframe to the embed's height: no inner scrollbar
            page.wait_for_function("""() => {
                const f = document.querySelector('iframe[data-blockscope]');
                const d = f.contentDocument;  // cross-origin: null, so measure from outside
                return f.style.height !== '' && f.getBoundingClientRect().height > 300;
            }""")
            page.wait_for_timeout(300)  # a last resize after the charts' final layout
            sizes = inner.evaluate("""() => ({sh: document.documentElement.scrollHeight, ih: innerHeight,
                sw: document.documentElement.scrollWidth, iw: innerWidth})""")
            assert sizes["sh"] <= sizes["ih"] + 1 and sizes["sw"] <= sizes["iw"], (width, sizes)
            screenshot(page, f"lesson-embed-{width}")
        finally:
            host.shutdown()
    assert console_errors == []


def test_an_embed_without_controls_says_what_is_wrong_in_place(page, server_url):
    page.goto(f"{server_url}/embed/group_conv?groups=5&view=diagram,totals")
    banner = page.locator('[data-role="errors"]')
    banner.wait_for(state="visible")
    text = banner.inner_text()
    assert "beside the control" not in text and "groups" in text and "4 or 8" in text
    assert "beside the control" not in page.locator('[data-role="diagram"]').inner_text()


# --- 6. the table, and views only where they apply -------------------------------------------------------

def test_table_keeps_mac_in_view_with_totals_and_shares(page, console_errors, server_url):
    page.goto(f"{server_url}/blocks/resnext_bottleneck")
    settle(page)
    wrap = page.locator('[data-role="table"]').bounding_box()
    for key in ("madds", "mac"):
        box = page.locator(f'#view-table thead button[data-sort="{key}"]').bounding_box()
        assert box["x"] + box["width"] <= min(1280, wrap["x"] + wrap["width"]), key
    analysis = api(page, f"{server_url}/api/blocks/resnext_bottleneck")
    foot = page.locator("#view-table tfoot td.num")
    values = foot.evaluate_all("els => els.map(e => e.dataset.value)")
    assert str(analysis["totals"]["mac"]) in values and str(analysis["totals"]["madds"]) in values
    shares = page.locator('#view-table tbody td.num:nth-child(5)').evaluate_all(
        "els => els.map(e => Number(e.dataset.value))")
    assert abs(sum(shares) - 1) < 1e-9  # "% of MAC" adds up
    assert console_errors == []


def test_views_that_do_not_apply_are_not_shown(page, console_errors, server_url):
    page.goto(f"{server_url}/blocks/activation")
    settle(page)
    assert page.locator("#view-reparam").count() == 0 and page.locator('input[name="compare"]').count() == 0
    order = page.eval_on_selector_all("section.view", "els => els.map(e => e.dataset.view)")
    assert order.index("activation") < order.index("diagram")  # the curves first, not at the bottom
    traces = page.locator('[data-role="activation-chart"]').evaluate("el => el.data.map(t => t.name)")
    assert len(traces) == 6
    page.goto(f"{server_url}/blocks/channel_shuffle")
    settle(page)
    assert page.locator("#view-reparam").count() == 0 and page.locator("#view-shuffle").count() == 1
    assert console_errors == []


# --- 7. teaching visuals: connectivity, split-transform-merge, the formula with numbers ------------------

def test_teaching_visuals_follow_the_block(page, console_errors, server_url):
    page.goto(f"{server_url}/blocks/group_conv?kernel_size=1")
    settle(page)
    groups = page.locator('#view-groups svg.groups-diagram')
    assert groups.get_attribute("data-groups") == "4"
    formula = page.locator('[data-role="formula"]')
    assert "Eq. 2" in formula.inner_text()  # a 1x1 convolution: ShuffleNet V2's own formula
    conv = next(n for n in api(page, f"{server_url}/api/blocks/group_conv?kernel_size=1")["nodes"]
                if n["id"] == "conv")
    assert formula.locator(f'strong[data-value="{conv["madds"]}"]').count() == 1
    step_groups(page, "ArrowRight")
    assert groups.get_attribute("data-groups") == "8"
    page.goto(f"{server_url}/blocks/shufflenet_v1_unit")
    settle(page)
    lines = page.locator("#view-groups .shuffle-lines path").count()
    assert lines == 60  # one per bottleneck channel: the shuffle's re-wiring
    page.goto(f"{server_url}/blocks/resnext_bottleneck")
    settle(page)
    assert page.locator("#view-groups .stm svg").count() == 2  # split-transform-merge = one group conv
    assert "32 × 4 = 128" in page.locator("#view-groups .stm figcaption").inner_text()
    assert console_errors == []


# --- Part A: measured figures are honest ----------------------------------------------------------------

def test_a_busy_measurement_is_flagged_and_measure_again_is_fresh(page, console_errors, server_url,
                                                                  fake_latency, screenshot):
    page.goto(f"{server_url}/blocks/depthwise_separable?in_channels=8&out_channels=8&height=8&width=8&compare=1")
    settle(page)
    page.click('[data-role="measure"]')
    # the comparison's standard convolution is timed alike
    page.locator('[data-role="compare"] tr[data-compare="latency"]').wait_for()
    assert any("/api/blocks/conv/latency" in url for url in fake_latency.requests)
    warning = page.locator('#view-latency [data-role="disturbed"]')
    warning.wait_for()
    busy = "The server was busy while measuring; this figure may be too high."
    assert warning.inner_text().startswith(busy)
    assert "40%" in warning.inner_text()  # the other programs' share of the measuring cores
    assert "measured again 2 times" in page.locator('#view-latency [data-role="attempts"]').inner_text()
    median = page.locator('[data-role="latency-median"]').inner_text()
    assert "1.50 ms (95% interval 1.46 ms–1.54 ms)" in median
    assert "fresh" not in fake_latency.requests[-1]
    button = page.locator('#view-latency [data-role="measure"]')
    assert button.inner_text() == "Measure again"
    fake_latency.settings.update(disturbed=False, attempts=1)
    button.click()
    warning.wait_for(state="detached")
    assert parse_qs(urlparse(fake_latency.requests[-1]).query)["fresh"] == ["true"]
    screenshot(page, "lesson-latency-measured")
    assert console_errors == []


def test_reparam_speedup_with_its_interval(page, console_errors, server_url, fake_latency):
    page.goto(f"{server_url}/blocks/conv_bn?in_channels=8&out_channels=8&height=8&width=8")
    settle(page)
    reveal_reparam(page)
    page.click('[data-role="measure-reparam"]')
    speedup = page.locator('[data-role="speedup"]')
    speedup.wait_for()
    assert speedup.get_attribute("data-measurable") == "false"
    assert "too noisy to judge here" in speedup.inner_text() and "0.97–1.12×" in speedup.inner_text()
    assert page.locator('[data-role="reparam-quality"] [data-role="disturbed"]').count() == 1
    fake_latency.settings.update(measurable=True, disturbed=False, attempts=1)
    page.click('[data-role="measure-reparam"]')  # now "Measure again"
    expect(page.locator('[data-role="speedup"]')).to_have_attribute("data-measurable", "true")
    assert "is 7% faster than the train-time form (speedup 1.07×, 95% interval 1.04–1.10×)" \
        in speedup.inner_text()
    assert parse_qs(urlparse(fake_latency.requests[-1]).query)["fresh"] == ["true"]
    assert console_errors == []


def test_guideline_tables_mark_rows_measured_while_busy(page, console_errors, server_url, busy_measure):
    page.goto(f"{server_url}/guidelines")
    measure_guidelines(page)
    for name in ("g1", "g2", "g3", "g4"):
        expect(page.locator(f'#{name} [data-role="status-text"]')).to_have_text(re.compile("^Measured"))
        table = page.locator(f"#{name} table.gl-table")
        assert table.locator("tbody tr.disturbed").count() == 1
        assert table.locator("tbody tr").nth(1).locator('[data-role="disturbed"]').count() == 1
        assert "busy" in table.locator('[data-role="disturbed-note"]').inner_text()
    assert console_errors == []


# --- 9. every kind states its own lesson, in the order that lesson needs --------------------------------

@pytest.mark.parametrize("kind", ["channel_shuffle", "shufflenet_v1_unit", "squeeze_excitation",
                                  "repvgg_block", "conv_bn", "depthwise_separable"])
def test_each_kind_states_its_own_lesson(page, console_errors, server_url, kind):
    page.goto(f"{server_url}/blocks/{kind}")
    page.wait_for_selector("body[data-ready]")
    lesson = api(page, f"{server_url}/api/blocks/{kind}")["lesson"]
    why = page.locator('[data-role="why"]')
    assert lesson["claim"] in why.locator(".lesson-claim").inner_text()
    shown = why.locator('[data-role="lesson-sentence"]').all_inner_texts()
    assert shown == lesson["sentences"] and shown
    assert lesson["source"] in why.inner_text()
    # no group-convolution wording where the group count is not the lesson
    assert "watch MAC" not in why.inner_text()
    sections = page.eval_on_selector_all(".views > section", "els => els.map(e => e.dataset.view)")
    if kind in ("repvgg_block", "conv_bn"):
        assert sections[sections.index("totals") + 1] == "reparam"
        assert "groups" not in sections and "sweep" not in sections
        assert page.locator('input[name="fixed_madds"]').count() == 0  # G2's switch is not this lesson
    if kind == "channel_shuffle":
        assert "sweep" not in sections and sections[sections.index("totals") + 1] == "shuffle"
    # each total's change is given against the lesson's reference (the deployed form, g = 1, a conv)
    reference = lesson["reference"]
    if reference and not reference["same"]:
        assert f"vs {reference['label']}" in page.locator('[data-delta="mac"]').inner_text()
    settle(page)
    assert console_errors == []


def test_the_formula_says_which_form_its_multiply_adds_count(page, server_url):
    page.goto(f"{server_url}/blocks/repvgg_block")
    page.wait_for_selector("body[data-ready]")
    formula = page.locator('[data-role="formula"]').inner_text()
    assert "deployed 3×3 multiply-adds" in formula and "the Totals count the training form" in formula
    # the help text says one thing: the slider's values that work, not also the number box's range
    page.goto(f"{server_url}/blocks/group_conv")
    page.wait_for_selector("body[data-ready]")
    control = page.locator('.control[data-param="groups"]')
    assert "Values that work here: 1, 2, 4, 8, 16, 32, 64" in control.inner_text()
    assert "(1–" not in control.inner_text()
    assert "(1–" in page.locator('.control[data-param="in_channels"]').inner_text()


@pytest.mark.parametrize("disturbed", [True, False])
def test_the_comparison_with_a_standard_conv_draws_no_verdict_from_noise(page, console_errors, server_url,
                                                                         fake_latency, disturbed):
    """Forced: both timed while the server was busy, or clean with the same median (their intervals
    overlap): the compare view says it cannot judge, with no direction word, and keeps the figures."""
    fake_latency.settings.update(disturbed=disturbed, attempts=3 if disturbed else 1)
    page.goto(f"{server_url}/blocks/depthwise_separable?in_channels=8&out_channels=8&height=8&width=8&compare=1")
    settle(page)
    page.click('[data-role="measure"]')
    verdict = page.locator('[data-role="compare-verdict"]')
    verdict.wait_for()
    text = verdict.inner_text()
    assert verdict.get_attribute("data-judged") == "false"
    assert "too noisy to judge here; measure again" in text
    assert ("busy" in text) == disturbed and ("overlap" in text) == (not disturbed)
    assert "faster than" not in text and "slower than" not in text
    assert text.count("1.50 ms") == 2  # both figures stay
    assert console_errors == []
