"""/openapi.json documents every query parameter of every route, and a route refuses one it does not take.

What a route accepts is read from FastAPI's own view of the route (its dependencies and query models
flattened), not from the schema, so a parameter left out of the schema is caught."""

from typing import Annotated

import annotated_types
import pytest
from fastapi import Query
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from blockscope.main import app, create_app
from blockscope.service import networks

FILLED = {"{name}": {"/api/networks": networks.NAMES[0], "/api/guidelines": "g1"}}


def _accepted(route: APIRoute) -> dict:
    """name -> FieldInfo of every query parameter `route` takes."""
    path_params = set(route.param_convertors)
    return {f.alias: f.field_info for f in get_flat_params(route.dependant) if f.alias not in path_params}


def _get_routes(application) -> list[APIRoute]:
    def walk(routes):
        for route in routes:
            included = getattr(route, "original_router", None)  # an included router, kept whole
            yield from walk(included.routes) if included is not None else (route,)
    return [r for r in walk(application.routes) if isinstance(r, APIRoute) and "GET" in r.methods]


def _bounds(info) -> dict:
    out = {}
    for m in info.metadata:
        if isinstance(m, annotated_types.Ge):
            out["minimum"] = m.ge
        if isinstance(m, annotated_types.Le):
            out["maximum"] = m.le
    return out


def _documented_bounds(schema: dict) -> dict:
    # an optional integer is documented as anyOf [integer with its bounds, null]
    for option in [schema, *schema.get("anyOf", [])]:
        found = {k: option[k] for k in ("minimum", "maximum") if k in option}
        if found:
            return found
    return {}


def undocumented(application) -> list[tuple[str, str, str]]:
    """(path, parameter, what is missing) for every query parameter a GET route takes that
    /openapi.json does not document with its description and bounds."""
    paths = TestClient(application).get("/openapi.json").json()["paths"]
    problems = []
    for route in _get_routes(application):
        accepted = _accepted(route)
        if not route.include_in_schema:
            # pages read their query in the browser; an /api/ route outside the schema is only the
            # answer naming the kinds for a kind that has no route of its own
            if route.path.startswith("/api/"):
                assert "{kind}" in route.path and not accepted, route.path
            continue
        documented = {p["name"]: p for p in paths[route.path]["get"].get("parameters", [])
                      if p["in"] == "query"}
        for name, info in accepted.items():
            if name not in documented:
                problems.append((route.path, name, "not in the schema"))
            elif not documented[name].get("description"):
                problems.append((route.path, name, "no description"))
            elif _documented_bounds(documented[name]["schema"]) != _bounds(info):
                problems.append((route.path, name, "bounds"))
    return problems


def test_every_query_parameter_of_every_route_is_documented():
    assert len(_get_routes(app)) > 80  # every kind's routes, walked
    assert undocumented(app) == []


def test_bounds_are_those_of_the_settings_in_force(configure):
    application = configure(max_channels=128, max_spatial=64).app
    assert undocumented(application) == []
    paths = TestClient(application).get("/openapi.json").json()["paths"]
    conv = {p["name"]: p for p in paths["/api/blocks/conv"]["get"]["parameters"]}
    assert conv["in_channels"]["schema"]["maximum"] == 128 and conv["height"]["schema"]["maximum"] == 64


def test_the_walk_catches_an_undocumented_parameter():
    probe = create_app()

    @probe.get("/api/probe")
    def with_a_bare_parameter(undescribed: int = 0, bounded: Annotated[int, Query(ge=1)] = 1) -> dict:
        return {}

    # the second lacks a description before its bounds are compared
    assert undocumented(probe) == [("/api/probe", "undescribed", "no description"),
                                   ("/api/probe", "bounded", "no description")]


def test_quantized_blocks_document_every_kinds_parameters(client):
    params = {p["name"]: p for p in client.get("/openapi.json").json()["paths"]["/api/quantization/block"]
              ["get"]["parameters"]}
    assert {"kind", "calibration", "in_channels", "expanded_channels", "use_se", "reduction", "gate",
            "height", "device", "threads", "fresh", "measure"} <= set(params)
    assert "squeeze_excitation only" in params["reduction"]["description"]
    assert params["gate"]["schema"]["enum"] == ["sigmoid", "hardsigmoid"]


def test_a_parameter_of_another_kind_is_refused_by_name(client):
    r = client.get("/api/quantization/block?kind=squeeze_excitation&expanded_channels=64")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "expanded_channels"]


def _api_paths(client) -> list[str]:
    out = []
    for path in client.get("/openapi.json").json()["paths"]:
        for prefix, value in FILLED["{name}"].items():
            if path.startswith(prefix + "/{name}"):
                path = path.replace("{name}", value)
        assert "{" not in path, path
        if path.startswith("/api/"):
            out.append(path)
    return out


def test_every_api_route_refuses_an_unknown_parameter_naming_it(client):
    paths = _api_paths(client)
    assert len(paths) > 80
    for path in paths:
        # checked before anything runs: no measurement starts for a refused URL
        r = client.get(path, params={"junk": "1"})
        assert r.status_code == 422, path
        (problem,) = r.json()["detail"]
        assert problem["loc"] == ["query", "junk"] and problem["type"] == "extra_forbidden", path
        assert "junk" in problem["msg"]


def test_every_unknown_parameter_is_named(client):
    r = client.get("/api/blocks/conv?in_channels=8&junk=1&in_channel=3")
    assert r.status_code == 422
    assert [p["loc"] for p in r.json()["detail"]] == [["query", "junk"], ["query", "in_channel"]]
    assert "in_channels" in r.json()["detail"][1]["msg"]  # what the route does take


@pytest.mark.parametrize("url", ["/blocks/conv?metric=madds&scale=each&compare=1&fixed_madds=1"
                                 "&device=cpu&in_channels=16",
                                 "/embed/conv?view=diagram,table&controls=on&in_channels=8",
                                 f"/networks/{networks.NAMES[0]}?height=160",
                                 "/quantization?view=curves&controls=1",
                                 "/guidelines?device=cpu"])
def test_pages_keep_every_query_their_controls_write(client, url):
    # the browser checks the values against the API; a page only hands them over
    assert client.get(url).status_code == 200, url


def test_every_answer_says_how_long_it_may_be_kept(client):
    """One cache rule for every route (api/caching.py): no JSON answer leaves it to a proxy's default.
    Routes that measure or build files at their defaults are left out here (test_http_contract.py
    and test_onnx.py check theirs)."""
    costly = ("/latency", "/onnx", "/equivalence", "/api/machine")
    paths = [p for p in _api_paths(client)
             if not p.endswith(costly) and not p.startswith("/api/quantization")]
    assert len(paths) > 20
    needs = {"/api/shuffle": {"channels": 8, "groups": 2}}  # no defaults
    for path in [*paths, "/healthz"]:
        r = client.get(path, params=needs.get(path))
        assert r.status_code == 200, path
        assert r.headers.get("cache-control"), path
    assert client.get("/healthz").headers["cache-control"] == "no-store"
    assert client.get("/api/blocks").headers["cache-control"].startswith("public, max-age=")
