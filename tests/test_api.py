"""The HTTP contract for analyses (docs/api.md): listing, schema, shuffle, errors, caching."""

import gc
import random

import pytest
import torch
from fastapi.testclient import TestClient
from torch import nn

from blockscope.config import get_settings
from blockscope.main import app
from blockscope.registry import BLOCKS

settings = get_settings()


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_list_blocks_has_every_kind_with_a_full_schema(client):
    listed = client.get("/api/blocks").json()
    assert [b["kind"] for b in listed] == list(BLOCKS)
    for b in listed:
        assert b["title"] and b["paper"] and b["summary"].count(". ") >= 1
        names = [p["name"] for p in b["params"]]
        assert {"batch", "height", "width", "seed"} <= set(names)
        for p in b["params"]:
            assert set(p) == {"name", "type", "default", "min", "max", "choices", "help"}
            assert p["help"] and p["type"] in ("integer", "boolean", "string")
            if p["type"] == "integer":
                assert p["min"] <= p["default"] <= p["max"]
            if p["choices"]:
                assert p["default"] in p["choices"]


def test_openapi_describes_every_parameter(client):
    paths = client.get("/openapi.json").json()["paths"]
    for kind, spec in BLOCKS.items():
        params = {p["name"]: p for p in paths[f"/api/blocks/{kind}"]["get"]["parameters"]}
        for p in spec.all_params:
            schema = params[p.name]["schema"]
            assert params[p.name]["description"] == p.help
            assert schema["default"] == p.default
            if p.choices:
                assert sorted(schema.get("enum", [])) == sorted(p.choices)
            elif p.type == "integer":
                assert (schema["minimum"], schema["maximum"]) == (p.min, p.max)


@pytest.mark.parametrize("kind", list(BLOCKS))
def test_defaults_answer_with_api_fields(client, kind):
    r = client.get(f"/api/blocks/{kind}")
    assert r.status_code == 200
    a = r.json()
    assert set(a) >= {"kind", "config", "input_shape", "output_shape", "totals", "nodes", "edges",
                      "permutations"}
    assert a["config"] == BLOCKS[kind].defaults()
    for n in a["nodes"]:
        assert set(n) >= {"id", "op", "label", "module", "attrs", "inputs", "input_shapes",
                          "output_shape", "params", "madds", "mac", "elementwise"}


@pytest.mark.parametrize("seed", range(25))
def test_shuffle_permutation_equals_nn_channel_shuffle(client, seed):
    rng = random.Random(seed)
    groups = rng.randint(1, 12)
    channels = groups * rng.randint(1, 20)
    body = client.get(f"/api/shuffle?channels={channels}&groups={groups}").json()
    x = torch.arange(channels).view(1, channels, 1, 1)
    assert body["permutation"] == nn.ChannelShuffle(groups)(x).flatten().tolist()
    undone = [body["permutation"][body["inverse"][i]] for i in range(channels)]
    assert undone == list(range(channels))


@pytest.mark.parametrize("kind", ["channel_shuffle", "shufflenet_v1_unit", "shufflenet_v2_unit"])
def test_block_permutations_equal_nn_channel_shuffle(client, kind):
    a = client.get(f"/api/blocks/{kind}").json()
    shuffles = [n for n in a["nodes"] if n["op"] == "channel_shuffle"]
    assert len(a["permutations"]) == len(shuffles) == 1
    p = a["permutations"][0]
    x = torch.arange(p["channels"]).view(1, -1, 1, 1)
    assert p["permutation"] == nn.ChannelShuffle(p["groups"])(x).flatten().tolist()


def test_blocks_without_a_shuffle_list_none(client):
    assert client.get("/api/blocks/conv").json()["permutations"] == []


@pytest.mark.parametrize("url,param,words", [
    ("/api/blocks/group_conv?groups=5", "groups", "divide"),
    ("/api/blocks/group_conv?in_channels=64&out_channels=36&groups=8", "groups", "out_channels"),
    ("/api/blocks/shufflenet_v2_unit?in_channels=116&out_channels=232", "out_channels", "equal"),
    ("/api/blocks/shufflenet_v2_unit?in_channels=115&out_channels=115", "out_channels", "even"),
    ("/api/blocks/shufflenet_v1_unit?in_channels=240&out_channels=480", "out_channels", "equal"),
    ("/api/blocks/shufflenet_v1_unit?in_channels=240&out_channels=200&stride=2", "out_channels", "exceed"),
    ("/api/blocks/resnext_bottleneck?cardinality=7", "cardinality", "divide"),
    ("/api/blocks/repvgg_block?groups=3", "groups", "divide"),
    ("/api/blocks/conv?kernel_size=4", "kernel_size", "1, 3, 5, 7"),
    ("/api/blocks/conv?stride=3", "stride", "1, 2"),
    ("/api/blocks/conv?in_channels=0", "in_channels", "greater than or equal to 1"),
    ("/api/blocks/conv?in_channels=999999", "in_channels", str(settings.max_channels)),
    ("/api/blocks/conv?batch=100000", "batch", str(settings.max_batch)),
    ("/api/blocks/conv?height=-3", "height", "greater than or equal"),
    ("/api/blocks/conv?height=abc", "height", "integer"),
    ("/api/blocks/activation?function=tanh", "function", "hardswish"),
    ("/api/blocks/mobilenet_v3_bneck?use_se=maybe", "use_se", "boolean"),
    ("/api/blocks/squeeze_excitation?gate=relu", "gate", "sigmoid"),
    ("/api/shuffle?channels=10&groups=3", "groups", "divide"),
    ("/api/shuffle?channels=10", "groups", "required"),
])
def test_invalid_parameters_get_422_naming_the_parameter(client, url, param, words):
    r = client.get(url)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["query", param]
    assert words.lower() in detail[0]["msg"].lower()


def test_memory_budget_is_checked_before_allocating(client):
    r = client.get("/api/blocks/conv?in_channels=2048&out_channels=2048&height=512&width=512")
    assert r.status_code == 422
    msg = r.json()["detail"][0]["msg"]
    assert f"{settings.max_memory_mb} MiB" in msg and "smaller" in msg
    assert "BLOCKSCOPE" not in msg  # a student cannot act on an environment variable


def test_unknown_kind_is_404_listing_the_kinds(client):
    r = client.get("/api/blocks/resnet9000")
    assert r.status_code == 404
    assert all(kind in r.json()["detail"] for kind in BLOCKS)


def test_analyses_are_cacheable_with_an_etag(client):
    r = client.get("/api/blocks/shufflenet_v2_unit?stride=2&in_channels=24&out_channels=116")
    assert r.status_code == 200
    assert r.headers["cache-control"] == f"public, max-age={settings.cache_max_age}"
    etag = r.headers["etag"]
    again = client.get("/api/blocks/shufflenet_v2_unit?out_channels=116&in_channels=24&stride=2",
                       headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    other = client.get("/api/blocks/shufflenet_v2_unit?stride=2&in_channels=48&out_channels=116")
    assert other.headers["etag"] != etag


def test_routes_that_compute_run_in_the_threadpool():
    """CPU-heavy routes are plain `def`, so they never block the event loop."""
    import inspect

    from blockscope.main import app
    for route in app.routes:
        if getattr(route, "path", "").startswith("/api/"):
            assert not inspect.iscoroutinefunction(route.endpoint), route.path


def test_the_server_starts_and_serves_with_limits_below_the_defaults(configure):
    """Limits under a default (max_channels=128 < resnext's 256, max_spatial=32 < 56) lower the
    defaults; the start-up warm-up, the schema and every page still work."""
    with configure(max_channels=128, max_spatial=32) as c:  # entering runs the start-up warm-up
        for b in c.get("/api/blocks").json():
            for p in b["params"]:
                assert p["max"] is None or p["default"] <= p["max"], (b["kind"], p)
            # clamped defaults can clash (240 -> 128 channels in 3 groups): a 422, never a 500
            assert c.get("/api/blocks/" + b["kind"]).status_code in (200, 422), b["kind"]
        assert c.get("/api/blocks/resnext_bottleneck").json()["config"]["in_channels"] == 128
        for page in ("/", "/blocks/resnext_bottleneck", "/guidelines"):
            assert c.get(page).status_code == 200, page
        assert c.get("/api/blocks/conv", params={"in_channels": 129}).status_code == 422
        max_channels = c.get("/openapi.json").json()["paths"]["/api/blocks/conv"]["get"]["parameters"]
        assert {p["name"]: p["schema"].get("maximum") for p in max_channels}["in_channels"] == 128


def test_openapi_documents_a_response_schema_for_every_json_route(client):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            content = op["responses"]["200"].get("content", {})
            if "application/octet-stream" in content:  # a file (an ONNX model), no JSON to describe
                continue
            assert "application/json" in content, (method, path)
            schema = content["application/json"]["schema"]
            ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
            assert ref, (method, path, schema)  # a named model, not a bare object
            assert schemas[ref.rsplit("/", 1)[1]]["properties"], (method, path)
    for name in ("Analysis", "Node", "Edge", "Totals", "LatencyReport", "ReparamReport", "GuidelineReport"):
        assert name in schemas


def test_every_json_answer_matches_its_documented_model(client):
    from blockscope import schemas
    for url, model in [("/api/blocks/shufflenet_v1_unit", schemas.Analysis),
                       ("/api/blocks/repvgg_block/reparam?height=8&width=8", schemas.ReparamReport),
                       ("/api/blocks/group_conv/sweep", schemas.Sweep),
                       ("/api/guidelines/g3?measure=false", schemas.GuidelineReport),
                       ("/api/guidelines/g2/sweep", schemas.G2Sweep),
                       ("/api/shuffle?channels=12&groups=3", schemas.ShufflePermutation)]:
        body = client.get(url).json()
        assert model.model_validate(body).model_dump(mode="json") == body, url


def test_the_app_leaves_what_it_built_at_start_out_of_the_garbage_collectors_scans():
    """A full collection then scans only what came later (tens of milliseconds less each time)."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with TestClient(app) as started:
        assert started.get("/healthz").status_code == 200
        assert gc.get_freeze_count() > 100_000  # PyTorch and the app, warm cache included
