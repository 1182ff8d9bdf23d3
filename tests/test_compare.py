"""/api/compare: two sides, each exactly as its own route analyses it; every total's difference; the ops
paired; 422s that name the side and the parameter; the course's presets held to their claims; and both
sides timed by the measuring process in one job, in alternating rounds (read from its log)."""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx2 as httpx
import pytest

from blockscope.comparisons import BY_NAME, PRESETS, latency_sentence, measured_sentence
from blockscope.measuring.forms import BlockForm
from blockscope.measuring.jobs import Timing
from blockscope.registry import BLOCKS
from blockscope.schemas import Speedup
from blockscope.service import compare as service
from blockscope.service.blocks import resolve
from blockscope.wording import TOO_NOISY
from tests.configs import random_configs

ROOT = Path(__file__).resolve().parents[1]
COUNTS = ("params", "madds", "mac", "mac_bytes", "elementwise")


def prefixed(side: str, kind: str, values: dict) -> dict:
    given = {f"{side}.{k}": str(v).lower() if isinstance(v, bool) else v for k, v in values.items()}
    return {side: kind, **given}


def url(a: tuple[str, dict], b: tuple[str, dict], **extra) -> str:
    return "/api/compare?" + urlencode({**prefixed("a", *a), **prefixed("b", *b), **extra})


def own_totals(analysis: dict) -> dict:
    """A side's totals as its own analysis gives them, weights and activations summed from its nodes."""
    t = analysis["totals"]
    weights = sum(n["params"] for n in analysis["nodes"])
    return {**{k: t[k] for k in COUNTS}, "weights": weights, "activations": t["mac"] - weights}


def _random_pairs(count: int, per_kind: int, seed: int) -> list[tuple[tuple[str, dict], tuple[str, dict]]]:
    configs = [(kind, c) for kind, spec in BLOCKS.items() for c in random_configs(spec, per_kind, seed)]
    rng = random.Random(seed)
    return [tuple(rng.sample(configs, 2)) for _ in range(count)]


def _check_pair(client, a, b):
    r = client.get(url(a, b))
    assert r.status_code == 200, r.text
    data = r.json()
    for side, (kind, values) in (("a", a), ("b", b)):
        own = client.get(f"/api/blocks/{kind}?" + urlencode(
            {k: str(v).lower() if isinstance(v, bool) else v for k, v in values.items()})).json()
        assert data[side]["analysis"] == own  # both analyses in full, as their own route answers
        for key, value in own_totals(own).items():
            assert data["diff"][key][side] == value, (side, key)
    for key, d in data["diff"].items():
        assert d["delta"] == d["b"] - d["a"], key
        assert d["ratio"] == (d["a"] / d["b"] if d["b"] else None), key
    # every node of each side appears exactly once in the pairing (A's in A's order)
    for side in ("a", "b"):
        ids = [p[side] for p in data["pairs"] if p[side] is not None]
        own_ids = [n["id"] for n in data[side]["analysis"]["nodes"]]
        assert ids == own_ids if side == "a" else sorted(ids) == sorted(own_ids)


def test_totals_equal_each_sides_own_analysis_on_random_pairs(client):
    for a, b in _random_pairs(30, 2, seed=1):
        _check_pair(client, a, b)


@pytest.mark.slow
def test_totals_equal_each_sides_own_analysis_on_many_random_pairs(client):
    for a, b in _random_pairs(200, 6, seed=2):
        _check_pair(client, a, b)


def test_a_network_side_has_the_networks_own_totals(client):
    r = client.get("/api/compare?a=network:shufflenet_v2_x0_5&a.height=64&a.width=64&b=conv")
    assert r.status_code == 200, r.text
    data = r.json()
    own = client.get("/api/networks/shufflenet_v2_x0_5?height=64&width=64").json()
    assert data["a"]["network"] == own and data["a"]["analysis"] is None
    for key in COUNTS:
        assert data["diff"][key]["a"] == own["totals"][key], key
    assert data["a"]["input_shape"] == [1, 3, 64, 64] and not data["same_input"]


def test_a_deployed_side_is_the_reparameterization_routes_after_form(client):
    r = client.get("/api/compare?a=repvgg_block&a.in_channels=16&a.out_channels=16&b=repvgg_block"
                   "&b.in_channels=16&b.out_channels=16&b.form=deployed")
    assert r.status_code == 200, r.text
    data = r.json()
    after = client.get("/api/blocks/repvgg_block/reparam?in_channels=16&out_channels=16").json()["after"]
    assert data["b"]["analysis"] == after and data["b"]["form"] == "deployed"
    assert data["b"]["query"] == {"in_channels": 16, "out_channels": 16, "form": "deployed"}


def test_the_diffs_arithmetic():
    assert service.total_diff(10, 4).model_dump() == {"a": 10, "b": 4, "delta": -6, "ratio": 2.5}
    assert service.total_diff(3, 3).model_dump() == {"a": 3, "b": 3, "delta": 0, "ratio": 1.0}
    assert service.total_diff(5, 0).model_dump() == {"a": 5, "b": 0, "delta": -5, "ratio": None}


def test_pairing_by_name_then_by_kind_of_op(client):
    """Hand-checked: a standard convolution's conv-bn-relu pairs with the depthwise stage's, by kind of op
    in data-flow order; the pointwise stage is B's alone."""
    data = client.get("/api/compare?a=conv&b=depthwise_separable").json()
    got = [(p["a"], p["b"], p["match"]) for p in data["pairs"]]
    assert got == [("x", "x", "name"), ("conv", "depthwise_conv", "role"), ("bn", "depthwise_bn", "role"),
                   ("act", "depthwise_act", "role"), (None, "pointwise_conv", None),
                   (None, "pointwise_bn", None), (None, "pointwise_act", None)]
    conv = data["pairs"][1]["counts"]["madds"]
    assert conv["a"] == 3 * 3 * 64 * 64 * 56 * 56 and conv["b"] == 3 * 3 * 128 * 56 * 56 // 2  # dw over 64
    only_b = data["pairs"][4]["counts"]["madds"]
    assert only_b["a"] == 0 and only_b["b"] == 64 * 128 * 56 * 56


def test_pairing_keeps_a_changed_op_under_its_name(client):
    """ReLU against hard-swish: the same nodes, their ops differ; squeeze-and-excitation: B's alone."""
    data = client.get("/api/compare?a=mobilenet_v3_bneck&a.use_se=false&a.activation=relu"
                      "&b=mobilenet_v3_bneck&b.use_se=true&b.activation=hardswish").json()
    by_name = [p for p in data["pairs"] if p["match"] == "name"]
    assert {(p["op_a"], p["op_b"]) for p in by_name if p["op_a"] != p["op_b"]} == {("relu", "hardswish")}
    only_b = [p["b"] for p in data["pairs"] if p["a"] is None]
    assert only_b == ["se_avgpool", "se_fc1", "se_act", "se_fc2", "se_gate", "mul"]
    assert not [p for p in data["pairs"] if p["b"] is None]


@pytest.mark.parametrize(("query", "loc", "words"), [
    ("a=conv&a.groups=2&b=conv", "a.groups", "conv does not take groups"),
    ("a=conv&b=group_conv&b.groups=3", "b.groups", "must divide"),
    ("a=conv&b=conv&b.in_channels=abc", "b.in_channels", "digits"),
    ("a=conv&b=conv&b.in_channels=0", "b.in_channels", "greater than or equal"),
    ("a=conv&b=conv&b.in_channels=100000", "b.in_channels", "less than or equal"),
    ("a=nope&b=conv", "a", "unknown block kind 'nope'"),
    ("a=conv&b=network:nope", "b", "unknown network 'nope'"),
    ("a=activation&a.form=deployed&b=conv", "a.form", "no deploy-time form"),
    ("a=network:mobilenet_v2&a.groups=2&b=conv", "a.groups", "a network side takes only"),
    ("a=conv&b=conv&b.form=folded", "b.form", ""),
    ("a=&b=conv", "a", "name the a side"),
    ("a=conv&b=conv&c=1", "c", "does not take c"),
])
def test_bad_input_is_a_422_naming_the_side_and_the_parameter(client, query, loc, words):
    r = client.get(f"/api/compare?{query}")
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["loc"] == ["query", loc]
    assert words in detail["msg"]


def test_every_preset_holds_its_claim_on_the_counts(client):
    presets = client.get("/api/compare/presets").json()
    assert [p["name"] for p in presets] == [p.name for p in PRESETS]
    for p in presets:
        data = client.get("/api/compare?" + urlencode(p["query"])).json()
        assert data["preset"]["name"] == p["name"]  # the sides are recognised as the preset's
        checks = data["preset"]["checks"]
        assert checks and all(c["holds"] for c in checks), (p["name"], checks)
        for c in checks:
            assert c["ratio"] == data["diff"][c["metric"]]["ratio"]
        assert data["preset"]["measured"] is None  # nothing measured, nothing said about speed


def _madds(kind: str, **values) -> int:
    return service.analyse_side(service.Side("a", kind, config=resolve(kind, values))).graph.totals.madds


def test_the_equal_multiply_add_presets_really_are_equal():
    """ResNeXt 1x64d against 32x4d (Table 2) within 1%; ShuffleNet V1 g = 3 at 240 channels against the V2
    unit at 138 within 0.1% (both at 28 x 28)."""
    one = _madds("resnext_bottleneck", cardinality=1, bottleneck_width=64)
    many = _madds("resnext_bottleneck", cardinality=32, bottleneck_width=128)
    assert abs(one / many - 1) < 0.01
    v1 = _madds("shufflenet_v1_unit", in_channels=240, out_channels=240, groups=3, height=28, width=28)
    v2 = _madds("shufflenet_v2_unit", in_channels=138, out_channels=138, height=28, width=28)
    assert abs(v1 / v2 - 1) < 0.001
    # and the depthwise-separable preset's 1/N + 1/k^2 (MobileNet V1, Sec. 3.1) is 8 to 9 times
    conv = _madds("conv", in_channels=256, out_channels=256, height=28, width=28)
    ds = _madds("depthwise_separable", in_channels=256, out_channels=256, height=28, width=28)
    assert conv / ds == pytest.approx(1 / (1 / 256 + 1 / 9)) and 8 < conv / ds < 9


def test_a_swapped_pair_is_no_preset_and_says_a_and_b(client):
    q = dict(PRESETS[0].query)
    swapped = {{"a": "b", "b": "a"}[k[0]] + k[1:]: v for k, v in q.items()}
    data = client.get("/api/compare?" + urlencode(swapped)).json()
    assert data["preset"] is None
    assert data["sentences"][0].startswith("From A to B: parameters rose")


def test_the_latency_sentence_draws_no_verdict_from_noise():
    clean = Speedup(of=["a", "b"], value=3.0, ci95=[2.8, 3.2], measurable=True)
    assert latency_sentence(clean, False) == "B is 3.0× faster than A (time of A over B 3.00, 95% interval " \
                                            "2.80 to 3.20)."
    assert TOO_NOISY in latency_sentence(clean, True)
    held = Speedup(of=["a", "b"], value=1.02, ci95=[0.97, 1.08], measurable=False)
    assert latency_sentence(held, False).startswith("No measurable difference")
    slower = Speedup(of=["a", "b"], value=0.5, ci95=[0.45, 0.55], measurable=True)
    assert latency_sentence(slower, False, "the V1 unit", "the V2 unit").startswith(
        "The V2 unit is 2.0× slower than the V1 unit")


def test_a_presets_measured_sentence_holds_the_measurement_against_its_claim():
    resnext = BY_NAME["resnext_cardinality"]  # the claim: the 32 paths are slower (A faster)
    a_faster = Speedup(of=["a", "b"], value=0.90, ci95=[0.89, 0.93], measurable=True)
    assert measured_sentence(resnext, a_faster, False) == (
        "The claim: the 32 paths are slower at equal multiply-adds. This server agrees with the claim: the "
        "32x4d bottleneck is 11% slower than the 1x64d bottleneck (time of the 1x64d bottleneck over the "
        "32x4d bottleneck 0.90, 95% interval 0.89 to 0.93).")
    b_faster = Speedup(of=["a", "b"], value=1.2, ci95=[1.1, 1.3], measurable=True)
    assert "differs from the claim" in measured_sentence(resnext, b_faster, False)
    held = Speedup(of=["a", "b"], value=0.98, ci95=[0.9, 1.05], measurable=False)
    assert "does not show the difference the claim expects: no measurable difference" in \
        measured_sentence(resnext, held, False)
    assert "agrees" in measured_sentence(BY_NAME["v3_activation"], held, False)  # the claim: the same
    said = measured_sentence(resnext, a_faster, True)  # disturbed: the figures, no verdict
    assert TOO_NOISY in said and "agrees" not in said and "differs" not in said


def test_a_timing_of_several_forms_says_so_in_the_log():
    config = resolve("conv", {})
    one = Timing(forms=(("block", BlockForm(config)),), input_shape=(1, 64, 56, 56), seed=0, device="cpu",
                 threads=None, warmup=None, repeats=None, per_node=True, work=())
    two = Timing(forms=(("a", BlockForm(config)), ("b", BlockForm(config, deployed=True))),
                 input_shape=(1, 64, 56, 56), seed=0, device="cpu", threads=None, warmup=None, repeats=None,
                 per_node=True, work=())
    assert one.label == "Timing" and two.label == "Timing(a, b in rounds)"


def test_both_sides_measured_in_one_job_each_op_named_as_its_analysis(client):
    """Inputs of different shapes (ShuffleNet V1 against V2): B is timed on its own input, and every op of
    both sides is reported under its analysis's id."""
    a = ("shufflenet_v1_unit", {"in_channels": 24, "out_channels": 24, "groups": 3, "height": 8, "width": 8})
    b = ("shufflenet_v2_unit", {"in_channels": 16, "out_channels": 16, "height": 8, "width": 8})
    r = client.get(url(a, b, measure="true", warmup=1, repeats=5))
    assert r.status_code == 200, r.text
    data = r.json()
    lat = data["latency"]
    assert lat["comparison"]["of"] == ["a", "b"] and lat["ratio"] == lat["comparison"]["value"]
    assert lat["ratio"] == pytest.approx(lat["a"]["total"]["median_us"] / lat["b"]["total"]["median_us"])
    assert lat["ratio_ci95"] == lat["comparison"]["ci95"]
    assert lat["measurable"] == lat["comparison"]["measurable"]
    assert lat["disturbed"] == (lat["a"]["quality"]["disturbed"] or lat["b"]["quality"]["disturbed"])
    for side in ("a", "b"):
        ids = {n["id"] for n in data[side]["analysis"]["nodes"]}
        timed = {n["id"] for n in lat[side]["nodes"]}
        assert timed and timed <= ids
    timed_pairs = [p for p in data["pairs"] if p["a"] and p["latency_us"]["a"] is not None]
    assert timed_pairs
    assert r.headers["Cache-Control"] == "no-store" or "no-store" in r.headers["Cache-Control"]


# --- the real measuring process ---------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.process
@pytest.mark.timeout(240)
def test_one_job_times_both_sides_in_rounds_in_the_measuring_process(tmp_path):
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    runtime.chmod(0o700)  # the measuring process refuses a folder others can read
    port = _free_port()
    env = {**os.environ, "BLOCKSCOPE_MEASURER": "process", "BLOCKSCOPE_RUNTIME_DIR": str(runtime)}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "blockscope.main:app", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.2)
        r = httpx.get(base + url(("conv", {"height": 8, "width": 8}), ("depthwise_separable", {"height": 8,
                                                                                              "width": 8}),
                                 measure="true", warmup=1, repeats=5), timeout=180)
        assert r.status_code == 200, r.text
        assert r.json()["latency"]["comparison"]["of"] == ["a", "b"]
        pid = httpx.get(f"{base}/api/measuring", timeout=30).json()["pid"]
        log = [json.loads(line) for line in (runtime / "measurements.log").read_text().splitlines()]
        timed = [j for j in log if j["job"].startswith("Timing")]
        # one job, in the measuring process, that timed both sides in alternating rounds
        assert [j["job"] for j in timed] == ["Timing(a, b in rounds)"]
        assert timed[0]["pid"] == pid != proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
