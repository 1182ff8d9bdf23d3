"""The explorer's reparameterization view: a verdict on speed only from clean data, the merge line once,
and RepVGG's branches on their own colour scales beside the shared one.

`fake_latency` (conftest.py) answers the measurements in the browser: the train-time form is timed at
1.5 ms and the deploy form at 1.4 ms (a speedup of 1.07), the train-time timing flagged `disturbed` as
its `.settings` say, and the speedup's 95% interval 1.04-1.10 (clear of 1) when `measurable`, else
0.97-1.12.
"""

import pytest
from playwright.sync_api import expect

from .pages import reveal_reparam, settle

CONV_BN = "/blocks/conv_bn?in_channels=8&out_channels=8&height=8&width=8"
REPVGG = "/blocks/repvgg_block?in_channels=8&out_channels=8&height=14&width=14"
NOISY = "too noisy to judge here; measure again"


@pytest.mark.parametrize(("disturbed", "measurable", "judged"), [
    (True, False, False),   # flagged, and the interval contains 1
    (True, True, False),    # the interval is clear of 1, but a form was timed while the server was busy
    (False, False, False),  # clean, but the interval contains 1
    (False, True, True),    # clean and clear: the only case with a verdict
])
def test_faster_only_from_clean_separated_timings(page, console_errors, server_url, fake_latency,
                                                  disturbed, measurable, judged):
    fake_latency.settings.update(disturbed=disturbed, measurable=measurable, attempts=3 if disturbed else 1)
    page.goto(f"{server_url}{CONV_BN}")
    settle(page)
    reveal_reparam(page)
    page.click('[data-role="measure-reparam"]')
    speedup = page.locator('[data-role="speedup"]')
    expect(speedup).to_have_attribute("data-judged", str(judged).lower())
    text = speedup.inner_text()
    interval = "1.04–1.10×" if measurable else "0.97–1.12×"
    assert "speedup 1.07×" in text and interval in text  # the figures, verdict or not
    if judged:
        # worded by speedWords: 1.5 / 1.4 = 1.07, "7% faster", never "1.07× as fast"
        assert "the deploy form is 7% faster than the train-time form" in text
        assert NOISY not in text
    else:
        assert NOISY in text
        assert "faster" not in text and "slower" not in text
        assert ("busy" in text) == disturbed
    assert console_errors == []


def test_the_merge_line_is_printed_once(page, console_errors, server_url):
    page.goto(f"{server_url}{REPVGG}")
    settle(page)
    reveal_reparam(page)
    view = page.locator("#view-reparam")
    merge = view.locator("ul.fused li").first.inner_text()
    assert "-> rbr_reparam" in merge
    page.locator('[data-side="after"] .node.fused').first.hover()
    expect(view.locator('[data-role="fuse-note"]')).to_contain_text("7 boxes of the train-time form")
    assert view.inner_text().count(merge) == 1  # hovering names the boxes, it does not print it again
    assert console_errors == []


ZRANGES = """els => els.map(e => [e.dataset.kernel ?? e.dataset.kernelOwn, e.data[0].zmax,
    Math.max(...e.data[0].z.flat().filter((v) => v !== null).map(Math.abs))])"""


def test_each_branch_on_its_own_colour_scale_beside_the_shared_one(page, console_errors, server_url):
    page.goto(f"{server_url}{REPVGG}")
    settle(page)
    reveal_reparam(page)
    page.locator("[data-kernel-own=fused] .main-svg").first.wait_for()
    shared = page.locator("[data-kernel]").evaluate_all(ZRANGES)
    own = page.locator("[data-kernel-own]").evaluate_all(ZRANGES)
    assert [name for name, *_ in own] == ["rbr_dense", "rbr_1x1", "rbr_identity", "fused"]
    top = max(largest for _, _, largest in shared)
    assert {round(zmax, 6) for _, zmax, _ in shared} == {round(top, 6)}  # one scale for the sum
    for name, zmax, largest in own:  # each on its own: full colour at its own largest |w|
        assert zmax == pytest.approx(largest, rel=1e-9), name
    dense = {name: largest for name, _, largest in own}["rbr_dense"]
    assert dense < top / 5  # the faint branch this row exists for
    note = page.locator('[data-role="own-scale-note"]').inner_text()
    assert f"±{dense:.3f}" in note and f"{dense / top * 100:.1f}%" in note
    assert console_errors == []
