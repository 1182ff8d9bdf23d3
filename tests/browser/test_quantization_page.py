"""The /quantization page in Chromium: curves, verdicts, speed bars and the block, with no console errors."""

from blockscope.config import use_settings


def test_quantization_page_measures_and_words_the_verdict(server_url, page, console_errors, screenshot):
    with use_settings(measure_target_s=0.02, measure_warmup_s=0.005):
        page.goto(f"{server_url}/quantization?size=4096&kind=squeeze_excitation&calibration=2")
        page.locator("[data-role=block-verdict]").filter(has_text="int8").wait_for(timeout=25_000)
    assert page.locator("[data-role=curves] .qz-curve").count() == 6
    verdicts = page.locator("[data-role=verdict]")
    assert verdicts.count() == 2
    assert "times as fast as int8 swish" in verdicts.first.text_content()
    assert page.locator("[data-role=activation-table] tbody tr").count() == 6
    assert page.locator("[data-role=block-table] tbody tr").count() == 2
    assert page.locator("[data-role=speed-chart] .plot-container").count() == 1
    assert "kind=squeeze_excitation" in page.url  # the state stays in the URL
    screenshot(page, "quantization")
    assert console_errors == []


def test_quantization_controls_refuse_bad_values_beside_them(server_url, page, console_errors):
    page.goto(f"{server_url}/quantization?scale=-1&size=4096")
    error = page.locator("[data-role=param-error]")
    error.filter(has_text="scale").wait_for()
    assert "above 0" in error.text_content()
    assert [e for e in console_errors if "422" not in e] == []


def test_quantization_embed_shows_only_the_views_asked_for(server_url, page, console_errors):
    page.goto(f"{server_url}/embed/quantization?view=curves")
    page.locator("[data-role=curves] .qz-curve").nth(5).wait_for()
    assert page.locator("[data-section=block]").is_hidden()
    assert page.locator("[data-section=controls]").is_hidden()
    assert page.locator(".site-header").count() == 0
    assert console_errors == []
