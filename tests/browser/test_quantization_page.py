"""The /quantization page in Chromium: curves, verdicts, speed bars and the block, with no console errors."""

import re

import pytest

from blockscope.config import use_settings
from blockscope.wording import TOO_NOISY
from tests.test_verdicts import force_quantization


def test_quantization_page_measures_and_words_the_verdict(server_url, page, console_errors, screenshot):
    with use_settings(measure_target_s=0.02, measure_warmup_s=0.005):
        page.goto(f"{server_url}/quantization?size=4096&kind=squeeze_excitation&calibration=2")
        page.locator("[data-role=block-verdict]").filter(has_text="int8").wait_for(timeout=25_000)
    assert page.locator("[data-role=curves] .qz-curve").count() == 6
    verdicts = page.locator("[data-role=verdict]")
    assert verdicts.count() == 2
    text = verdicts.first.text_content()
    # a direction only from clean, separate timings; else "too noisy", on a busy machine as well
    assert re.search(r"than int8 swish|as fast as int8 swish|too noisy to judge here; measure again", text)
    assert "times as fast" not in text
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


# --- verdicts only from clean data (measurements forced through the service: tests/test_verdicts.py) ---

PAGE = "/quantization?size=4096&kind=squeeze_excitation&calibration=2"
INT8 = {"hardswish": 50.0, "swish": 100.0, "hardsigmoid": 50.0, "sigmoid": 100.0, "hard": 50.0,
        "smooth": 100.0}


def _measured(page, server_url):
    page.goto(server_url + PAGE)
    page.locator("[data-role=block-verdict]").filter(has_text="int8").wait_for(timeout=25_000)
    swish = page.locator("[data-role=verdict]").filter(has_text="hard-swish").text_content()
    return swish, page.locator("[data-role=block-verdict]").text_content()


def test_clean_separate_timings_give_a_verdict_in_words(server_url, page, console_errors, monkeypatch):
    force_quantization(monkeypatch)(INT8)
    swish, block = _measured(page, server_url)
    assert swish.startswith("Speed: agrees with the paper. Quantization error: ")
    assert "int8 hard-swish is 2.0× faster than int8 swish" in swish
    assert "times as fast" not in swish and "too noisy" not in swish
    # the error claim names both statistics, mean and maximum
    claim = page.locator("[data-role=verdict] strong").first.text_content()
    assert "mean" in claim and "maximum" in claim
    assert "the hard variant is 2.0× faster than the smooth one" in block
    assert "smooth / hard" not in block and "int8 against float32: 2.0× faster for hard" in block
    assert console_errors == []


@pytest.mark.parametrize("why", ["disturbed", "overlapping"])
def test_forced_noisy_timings_give_no_verdict_and_keep_the_figures(server_url, page, console_errors,
                                                                   monkeypatch, screenshot, why):
    force = force_quantization(monkeypatch)
    if why == "disturbed":  # far apart, but every int8 timing flagged
        force(INT8, disturbed=[f"{n}/int8" for n in INT8])
    else:  # clean, but 30% noise on a 1% difference: the ratio's interval holds 1
        force({name: 100.0 if "hard" in name else 101.0 for name in INT8}, noise=0.3)
    swish, block = _measured(page, server_url)
    assert swish.startswith("Speed: too noisy to judge here; measure again.")
    assert "faster" not in swish and "slower" not in swish
    assert "agrees with the paper. Quantization" not in swish
    assert re.search(r"took \d+\.\d µs and int8 swish \(SiLU\) \d+\.\d µs", swish)  # the figures stay
    assert ("busy" if why == "disturbed" else "holds 1") in swish
    assert "so which is faster is too noisy to judge here; measure again" in block
    assert "faster than the smooth one" not in block
    assert re.search(r"the hard variant took \d+\.\d µs and the smooth one \d+\.\d µs", block)
    if why == "disturbed":
        page.locator("[data-role=verdicts]").scroll_into_view_if_needed()
        screenshot(page, "quantization-disturbed-1280", full_page=False)
    assert console_errors == []


# --- node by node: ONNX Runtime's profile of both graphs -----------------------------------------------

def _clean_timings_over_real_profiles(monkeypatch):
    """Block measurements run for real, profiles and all, with their timings replaced by clean ones
    that follow each form's profile (medians 10% above its sum of node times, 1% noise): the sentence
    then has a direction, and the profile bears it out."""
    from blockscope import measuring
    from tests.test_verdicts import rounds, timing

    real = measuring.submit

    def submit(job, *, fresh=False, cancel=None):
        result = real(job, fresh=fresh, cancel=cancel)
        if not result.profiles:
            return result
        samples = {name: rounds(p.sum_us * 1.1, 0.01, seed=i)
                   for i, (name, p) in enumerate(result.profiles.items())}
        forms = {name: timing(s, False) for name, s in samples.items()}
        return result.model_copy(update={"forms": forms, "samples": samples})

    monkeypatch.setattr(measuring, "submit", submit)


@pytest.mark.timeout(240)
def test_the_node_profile_shows_both_graphs_with_their_classes(server_url, page, console_errors, monkeypatch,
                                                               screenshot):
    _clean_timings_over_real_profiles(monkeypatch)
    with use_settings(measure_target_s=0.02, measure_warmup_s=0.005):
        page.goto(server_url + PAGE)
        page.locator("[data-role=node-table]").first.wait_for(timeout=120_000)
    section = page.locator("[data-section=profile]")
    for variant in ("hard", "smooth"):
        profile = section.locator(f".qz-profile[data-variant={variant}]")
        tables = profile.locator("[data-role=node-table]")
        assert tables.count() == 2
        int8 = profile.locator("[data-role=node-table][data-form=int8]")
        f32 = profile.locator("[data-role=node-table][data-form=float32]")
        # the int8 graph: integer kernels and conversions, each node with its badge
        assert int8.locator(".qz-badge[data-class=integer]").count() > 0
        assert int8.locator(".qz-badge[data-class=convert]").count() > 0
        assert int8.locator("tbody tr").count() == int8.locator("tbody .qz-badge").count()
        assert f32.locator(".qz-badge[data-class=integer], .qz-badge[data-class=convert]").count() == 0
        assert f32.locator(".qz-badge[data-class=float]").first.text_content() == "float"
        assert profile.locator("[data-role=share-bars] .qz-share-row").count() == 2
        why = profile.locator("[data-role=int8-why]").text_content()
        assert re.match(r"int8 is .*(faster|slower) than float32 here", why), why
        assert "QuantizeLinear/DequantizeLinear take" in why and TOO_NOISY not in why
    fallback = section.locator("[data-variant=hard] [data-form=int8] .qz-badge[data-class=float]")
    assert fallback.count() > 0 and fallback.first.text_content() == "float fallback"  # its ReduceMean
    # the two graphs side by side on a laptop
    boxes = [t.bounding_box() for t in section.locator("[data-variant=hard] [data-role=node-table]").all()]
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2 and boxes[0]["x"] < boxes[1]["x"]
    section.scroll_into_view_if_needed()
    shot = screenshot(page, "quantization-profile-1280")
    section.screenshot(path=shot.with_name("quantization-profile-section-1280.png"))
    # stacked on a phone, nothing wider than the screen
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    boxes = [t.bounding_box() for t in section.locator("[data-variant=hard] [data-role=node-table]").all()]
    assert boxes[1]["y"] > boxes[0]["y"] + boxes[0]["height"] - 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # every column on screen: no node table scrolls sideways in its frame
    cut = page.evaluate("""[...document.querySelectorAll('[data-role=node-table]')]
        .filter((t) => t.scrollWidth > t.parentElement.clientWidth + 1).length""")
    assert cut == 0
    section.scroll_into_view_if_needed()
    shot = screenshot(page, "quantization-profile-390")
    section.screenshot(path=shot.with_name("quantization-profile-section-390.png"))
    assert console_errors == []
